#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    http::ClientOptions,
};
use identity_client_secret::{ClientSecretCredential, ClientSecretCredentialOptions};
use identity_core::{CredentialError, Platform, error::anchors};
use std::{fmt, sync::Arc};

const NAME: &str = "EnvironmentCredential";

/// Options for [`EnvironmentCredential`].
#[derive(Clone, Debug, Default)]
pub struct EnvironmentCredentialOptions {
    /// HTTP pipeline options for the credential it builds.
    pub client_options: ClientOptions,
    /// Tenants the credential may request tokens from besides its own (see
    /// `ClientSecretCredentialOptions::additionally_allowed_tenants`).
    pub additionally_allowed_tenants: Vec<String>,
    /// Where the variables (and the time) are read from.
    pub platform: Platform,
}

/// A service principal configured by environment variables:
/// `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`, with `AZURE_CLIENT_SECRET`, or with
/// `AZURE_CLIENT_CERTIFICATE_PATH` (and `AZURE_CLIENT_CERTIFICATE_PASSWORD`,
/// `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`; feature `client-certificate`).
pub struct EnvironmentCredential {
    state: State,
}

enum State {
    Ready {
        kind: &'static str,
        credential: Arc<dyn TokenCredential>,
    },
    /// Not configured here: every call says which variables are missing.
    Unavailable(CredentialError),
}

impl EnvironmentCredential {
    /// Reads the variables once.
    ///
    /// # Errors
    /// When the variables are all there but wrong (an invalid tenant id, an
    /// unreadable certificate). Missing variables are not an error here: the
    /// credential then reports *unavailable* on use, naming them.
    pub fn new(options: Option<EnvironmentCredentialOptions>) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        let env = &options.platform.env;
        let tenant = env.var("AZURE_TENANT_ID");
        let client = env.var("AZURE_CLIENT_ID");
        // A secret wins over a certificate path, as in the other Azure SDKs.
        let proof = match (
            env.var("AZURE_CLIENT_SECRET"),
            env.var("AZURE_CLIENT_CERTIFICATE_PATH"),
        ) {
            (Some(secret), _) => Some(Ok(secret)),
            (None, Some(path)) => Some(Err(path)),
            (None, None) => None,
        };
        let missing: Vec<&str> = [
            (tenant.is_none(), "AZURE_TENANT_ID"),
            (client.is_none(), "AZURE_CLIENT_ID"),
            (
                proof.is_none(),
                "AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)",
            ),
        ]
        .into_iter()
        .filter_map(|(absent, name)| absent.then_some(name))
        .collect();
        let (Some(tenant), Some(client), Some(proof)) = (tenant, client, proof) else {
            return Ok(Arc::new(Self {
                state: State::Unavailable(
                    CredentialError::unavailable(NAME, format!("the environment does not configure a service principal: missing {}", missing.join(", ")))
                        .with_fix("set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)")
                        .with_anchor(anchors::ENVIRONMENT),
                ),
            }));
        };
        let state = match proof {
            Ok(secret) => State::Ready {
                kind: "client secret",
                credential: ClientSecretCredential::new(
                    &tenant,
                    client,
                    secret.into(),
                    Some(ClientSecretCredentialOptions {
                        client_options: options.client_options,
                        additionally_allowed_tenants: options.additionally_allowed_tenants.clone(),
                        platform: options.platform.clone(),
                    }),
                )?,
            },
            Err(path) => certificate_credential(tenant, client, &path, &options)?,
        };
        Ok(Arc::new(Self { state }))
    }

    /// What the environment configures: "client secret", "client certificate",
    /// or `None` when it is incomplete.
    pub fn configured(&self) -> Option<&'static str> {
        match &self.state {
            State::Ready { kind, .. } => Some(kind),
            State::Unavailable(_) => None,
        }
    }
}

#[cfg(feature = "client-certificate")]
fn certificate_credential(
    tenant: String,
    client: String,
    path: &str,
    options: &EnvironmentCredentialOptions,
) -> azure_core::Result<State> {
    use identity_client_certificate::{
        ClientCertificateCredential, ClientCertificateCredentialOptions,
    };
    let env = &options.platform.env;
    let credential = ClientCertificateCredential::from_file(
        tenant,
        client,
        path,
        Some(ClientCertificateCredentialOptions {
            client_options: options.client_options.clone(),
            password: env.var("AZURE_CLIENT_CERTIFICATE_PASSWORD").map(Into::into),
            additionally_allowed_tenants: options.additionally_allowed_tenants.clone(),
            platform: options.platform.clone(),
            ..Default::default()
        }),
    )?;
    Ok(State::Ready {
        kind: "client certificate",
        credential,
    })
}

#[cfg(not(feature = "client-certificate"))]
fn certificate_credential(
    _: String,
    _: String,
    _: &str,
    _: &EnvironmentCredentialOptions,
) -> azure_core::Result<State> {
    Ok(State::Unavailable(
        CredentialError::unavailable(
            NAME,
            "AZURE_CLIENT_CERTIFICATE_PATH is set, but this build has no certificate support",
        )
        .with_fix("enable the `client-certificate` feature (of identity-environment or identity), or use AZURE_CLIENT_SECRET")
        .with_anchor(anchors::ENVIRONMENT),
    ))
}

#[async_trait::async_trait]
impl TokenCredential for EnvironmentCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        match &self.state {
            State::Ready { credential, .. } => credential.get_token(scopes, options).await,
            State::Unavailable(error) => Err(error.clone().into_azure_error()),
        }
    }
}

impl fmt::Debug for EnvironmentCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Ready { kind, credential } => f
                .debug_struct(NAME)
                .field("configured", kind)
                .field("credential", credential)
                .finish(),
            State::Unavailable(_) => f
                .debug_struct(NAME)
                .field("configured", &None::<&str>)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity_core::Env;
    use identity_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator};

    fn with(vars: Vec<(&'static str, String)>) -> azure_core::Result<Arc<EnvironmentCredential>> {
        EnvironmentCredential::new(Some(EnvironmentCredentialOptions {
            platform: Platform::with_env(Env::from_vars(vars)),
            ..Default::default()
        }))
    }

    #[tokio::test]
    async fn a_secret_in_the_environment_gets_a_token() {
        let emulator = Emulator::start().await.unwrap();
        let credential = with(vec![
            ("AZURE_TENANT_ID", DEFAULT_TENANT.into()),
            ("AZURE_CLIENT_ID", DEFAULT_CLIENT_ID.into()),
            ("AZURE_CLIENT_SECRET", DEFAULT_CLIENT_SECRET.into()),
            ("AZURE_AUTHORITY_HOST", emulator.authority_host()),
        ])
        .unwrap();
        assert_eq!(credential.configured(), Some("client secret"));
        let token = credential
            .get_token(&["https://vault.azure.net/.default"], None)
            .await
            .unwrap();
        assert!(emulator.verify_access_token(token.token.secret()).is_ok());
        assert!(!format!("{credential:?}").contains(DEFAULT_CLIENT_SECRET));
    }

    #[tokio::test]
    async fn incomplete_configuration_is_unavailable_naming_what_is_missing() {
        let credential = with(vec![("AZURE_CLIENT_ID", "c".into())]).unwrap();
        assert_eq!(credential.configured(), None);
        let error = credential
            .get_token(&["s/.default"], None)
            .await
            .unwrap_err();
        assert!(identity_core::is_unavailable(&error));
        let text = error.to_string();
        assert!(
            text.contains(
                "missing AZURE_TENANT_ID, AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)"
            ),
            "{text}"
        );
        assert!(
            with(vec![
                ("AZURE_TENANT_ID", "bad tenant!".into()),
                ("AZURE_CLIENT_ID", "c".into()),
                ("AZURE_CLIENT_SECRET", "s".into())
            ])
            .is_err()
        );
    }
}
