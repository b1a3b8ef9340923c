#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod assertion;
mod certificate;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

use assertion::CertificateAssertion;
use azure_core::{
    credentials::{AccessToken, Secret, SecretBytes, TokenCredential, TokenRequestOptions},
    http::ClientOptions,
};
use certificate::Certificate;
use identity_client_assertion::{ClientAssertionCredential, ClientAssertionCredentialOptions};
use identity_core::{
    CredentialError, Platform,
    authority::{Authority, validate_not_empty, validate_tenant_id},
    error::anchors,
};
use std::{fmt, path::Path, sync::Arc};

const NAME: &str = "ClientCertificateCredential";

/// How the client assertion is signed and which thumbprint names the certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionAlgorithm {
    /// RSASSA-PSS with SHA-256, certificate named by `x5t#S256` (SHA-256):
    /// what Microsoft Entra ID recommends.
    #[default]
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, certificate named by `x5t` (SHA-1):
    /// for ADFS and other authorities that do not accept PS256.
    Rs256,
}

/// Options for [`ClientCertificateCredential`].
#[derive(Clone, Debug, Default)]
pub struct ClientCertificateCredentialOptions {
    /// HTTP pipeline options; `cloud` chooses the authority.
    pub client_options: ClientOptions,
    /// The password of the PKCS#12 file or of the PEM's encrypted key.
    pub password: Option<Secret>,
    /// Send the certificate chain (`x5c`) with each assertion, for subject
    /// name/issuer authentication. Also on when `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`
    /// is `1` or `true`.
    pub send_certificate_chain: bool,
    /// How assertions are signed (PS256 by default).
    pub assertion_algorithm: AssertionAlgorithm,
    /// Tenants this credential may request tokens from besides its own, per
    /// request (`TokenRequestExtras::tenant_id`); `"*"` allows any. Also read
    /// from `AZURE_ADDITIONALLY_ALLOWED_TENANTS` (`;`-separated).
    pub additionally_allowed_tenants: Vec<String>,
    /// Where environment variables and the time are read from.
    pub platform: Platform,
}

/// Authenticates a service principal with a certificate: PKCS#12 (`.pfx`,
/// `.p12`, with or without password) or PEM (certificate and RSA key in one
/// file, the key optionally encrypted).
pub struct ClientCertificateCredential {
    inner: Arc<ClientAssertionCredential<CertificateAssertion>>,
}

impl ClientCertificateCredential {
    /// A credential for `client_id` in `tenant_id` with `certificate`, the
    /// bytes of a PKCS#12 or PEM file.
    ///
    /// # Errors
    /// An invalid tenant or client id, a certificate that cannot be read (wrong
    /// password, no key, no matching certificate), or a key that is not RSA.
    // The official crate's signature: the certificate is taken by value.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(
        tenant_id: String,
        client_id: String,
        certificate: SecretBytes,
        options: Option<ClientCertificateCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        Self::build(
            tenant_id,
            client_id,
            certificate.bytes(),
            options.unwrap_or_default(),
        )
        .map_err(CredentialError::into_azure_error)
    }

    /// As [`ClientCertificateCredential::new`], reading the certificate from `path`.
    ///
    /// # Errors
    /// As `new`, and when the file cannot be read (the message names it).
    pub fn from_file(
        tenant_id: String,
        client_id: String,
        path: impl AsRef<Path>,
        options: Option<ClientCertificateCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            CredentialError::failed(
                NAME,
                format!("cannot read the certificate file {}: {e}", path.display()),
            )
            .with_fix("check the path and that this process may read it")
            .with_anchor(anchors::CLIENT_CERTIFICATE)
            .into_azure_error()
        })?;
        Self::new(tenant_id, client_id, SecretBytes::new(bytes), options)
    }

    fn build(
        tenant_id: String,
        client_id: String,
        bytes: &[u8],
        options: ClientCertificateCredentialOptions,
    ) -> Result<Arc<Self>, CredentialError> {
        validate_tenant_id(NAME, &tenant_id)?;
        validate_not_empty(NAME, "the client id", &client_id)?;
        let certificate = Certificate::parse(bytes, options.password.as_ref().map(Secret::secret))?;
        let authority = Authority::resolve(
            NAME,
            options.client_options.cloud.as_deref(),
            &options.platform.env,
        )?;
        let send_chain = options.send_certificate_chain
            || options
                .platform
                .env
                .var("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
                .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        let assertion = CertificateAssertion::new(
            certificate,
            client_id.clone(),
            authority.token_endpoint(&tenant_id).to_string(),
            // ADFS accepts only RS256 with a SHA-1 thumbprint.
            if tenant_id.eq_ignore_ascii_case("adfs") {
                AssertionAlgorithm::Rs256
            } else {
                options.assertion_algorithm
            },
            send_chain,
            Arc::clone(&options.platform.clock),
        );
        let inner = ClientAssertionCredential::for_credential(
            NAME,
            anchors::CLIENT_CERTIFICATE,
            tenant_id,
            client_id,
            assertion,
            Some(ClientAssertionCredentialOptions {
                client_options: options.client_options,
                additionally_allowed_tenants: options.additionally_allowed_tenants,
                platform: options.platform,
            }),
        )
        .map_err(|e| {
            CredentialError::find(&e)
                .cloned()
                .unwrap_or_else(|| CredentialError::failed(NAME, e.to_string()))
        })?;
        Ok(Arc::new(Self { inner }))
    }
}

#[async_trait::async_trait]
impl TokenCredential for ClientCertificateCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.inner.get_token(scopes, options).await
    }
}

// The key and password are never printed; the thumbprint is.
impl fmt::Debug for ClientCertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

#[cfg(test)]
mod tests;
