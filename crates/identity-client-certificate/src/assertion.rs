//! The client assertion: a JWT signed with the certificate's key, naming the
//! certificate by thumbprint, reused while it has more than a minute left.

use crate::{AssertionAlgorithm, NAME, certificate::Certificate};
use azure_core::http::ClientMethodOptions;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use identity_client_assertion::ClientAssertion;
use identity_core::{Clock, CredentialError, error::anchors};
use openssl::{
    hash::MessageDigest,
    rsa::Padding,
    sign::{RsaPssSaltlen, Signer},
};
use serde::Serialize;
use std::sync::{Arc, Mutex, PoisonError};

/// How long an assertion is valid.
const LIFETIME_SECS: i64 = 600;
/// An assertion is signed anew when it has less than this left.
const REUSE_MARGIN_SECS: i64 = 60;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    x5t_s256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5t: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5c: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// Signs assertions for one app and audience.
pub(crate) struct CertificateAssertion {
    pub(crate) certificate: Certificate,
    pub(crate) client_id: String,
    /// The token endpoint.
    pub(crate) audience: String,
    pub(crate) algorithm: AssertionAlgorithm,
    pub(crate) send_chain: bool,
    pub(crate) clock: Arc<dyn Clock>,
    /// The last assertion and its expiry (Unix seconds).
    reusable: Mutex<Option<(String, i64)>>,
}

// The key and the assertions are never printed.
impl std::fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field(
                "thumbprint_sha256",
                &URL_SAFE_NO_PAD.encode(&self.certificate.sha256),
            )
            .field("algorithm", &self.algorithm)
            .field("send_chain", &self.send_chain)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    pub(crate) fn new(
        certificate: Certificate,
        client_id: String,
        audience: String,
        algorithm: AssertionAlgorithm,
        send_chain: bool,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            certificate,
            client_id,
            audience,
            algorithm,
            send_chain,
            clock,
            reusable: Mutex::new(None),
        }
    }

    /// A signed assertion valid from `now` for ten minutes.
    pub(crate) fn sign(&self, now: i64) -> Result<String, String> {
        let (alg, x5t_s256, x5t) = match self.algorithm {
            AssertionAlgorithm::Ps256 => (
                "PS256",
                Some(URL_SAFE_NO_PAD.encode(&self.certificate.sha256)),
                None,
            ),
            AssertionAlgorithm::Rs256 => (
                "RS256",
                None,
                Some(URL_SAFE_NO_PAD.encode(&self.certificate.sha1)),
            ),
        };
        let x5c = self.send_chain.then(|| {
            self.certificate
                .chain_der
                .iter()
                .map(|der| STANDARD.encode(der))
                .collect()
        });
        let header = Header {
            alg,
            typ: "JWT",
            x5t_s256,
            x5t,
            x5c,
        };
        let claims = Claims {
            aud: &self.audience,
            iss: &self.client_id,
            sub: &self.client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + LIFETIME_SECS,
        };
        let input = format!("{}.{}", encode(&header)?, encode(&claims)?);
        let signature = self
            .signature(input.as_bytes())
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    fn signature(&self, input: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut signer = Signer::new(MessageDigest::sha256(), &self.certificate.key)?;
        if self.algorithm == AssertionAlgorithm::Ps256 {
            signer.set_rsa_padding(Padding::PKCS1_PSS)?;
            signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
        }
        signer.update(input)?;
        signer.sign_to_vec()
    }
}

/// One JWT part: JSON by serde, then base64url.
fn encode(value: &impl Serialize) -> Result<String, String> {
    serde_json::to_vec(value)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .map_err(|e| e.to_string())
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let now = self.clock.now().unix_timestamp();
        let mut reusable = self.reusable.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((assertion, expires)) = reusable.as_ref()
            && *expires - now > REUSE_MARGIN_SECS
        {
            return Ok(assertion.clone());
        }
        let assertion = self.sign(now).map_err(|why| {
            CredentialError::failed(NAME, format!("could not sign the client assertion: {why}"))
                .with_anchor(anchors::CLIENT_CERTIFICATE)
                .into_azure_error()
        })?;
        *reusable = Some((assertion.clone(), now + LIFETIME_SECS));
        Ok(assertion)
    }
}
