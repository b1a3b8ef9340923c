//! The Entra ID token endpoint: the client-credentials request every
//! Entra-based credential sends, and strict parsing of what comes back.

mod confidential;
mod hints;
pub(crate) mod response;

pub use confidential::{ConfidentialClient, Proof};
pub use response::{EntraErrorBody, MAX_TOKEN_LIFETIME, parse_seconds};

use crate::{
    Clock, CredentialError, Platform, Secret,
    authority::Authority,
    cache::FetchedToken,
    http::{self, Limits},
};
use azure_core::http::{ClientOptions, Context, Method, Pipeline, Request, headers::HeaderName};
use std::{fmt, sync::Arc};

/// The `client_assertion_type` for JWT assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the application proves its identity.
#[derive(Clone, Copy)]
pub enum ClientAuth<'a> {
    /// A client secret.
    Secret(&'a Secret),
    /// A signed JWT (certificate, federated token, ...).
    Assertion(&'a str),
}

// Never print the secret or the assertion.
impl fmt::Debug for ClientAuth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Secret(_) => "ClientAuth::Secret",
            Self::Assertion(_) => "ClientAuth::Assertion",
        })
    }
}

/// One client-credentials token request.
#[derive(Clone, Copy, Debug)]
pub struct TokenRequest<'a> {
    /// The tenant to request the token from (validated by the caller).
    pub tenant: &'a str,
    /// The application (client) id.
    pub client_id: &'a str,
    /// The scopes, sent space-separated (validated by the caller).
    pub scopes: &'a [&'a str],
    /// A claims challenge to pass on, if any.
    pub claims: Option<&'a str>,
    /// The client's proof of identity.
    pub auth: ClientAuth<'a>,
}

/// A client for one authority's token endpoint, on behalf of one credential.
pub struct EntraClient {
    credential: &'static str,
    anchor: &'static str,
    authority: Authority,
    pipeline: Pipeline,
    clock: Arc<dyn Clock>,
    limits: Limits,
}

impl EntraClient {
    /// Resolves the authority (from `options.cloud`, `AZURE_AUTHORITY_HOST`, or the
    /// public cloud) and builds the HTTP pipeline from `options`.
    ///
    /// `credential` names the credential in errors; `anchor` is its section in
    /// `docs/TROUBLESHOOTING.md`.
    pub fn new(
        credential: &'static str,
        anchor: &'static str,
        options: ClientOptions,
        platform: &Platform,
    ) -> Result<Self, CredentialError> {
        let authority = Authority::resolve(credential, options.cloud.as_deref(), &platform.env)?;
        let limits = Limits::default();
        let pipeline = http::new_pipeline(credential, options, limits)?;
        Ok(Self {
            credential,
            anchor,
            authority,
            pipeline,
            clock: Arc::clone(&platform.clock),
            limits,
        })
    }

    /// The authority this client talks to.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Requests a token. Errors name the credential, the endpoint, the HTTP
    /// status and Entra's AADSTS code and text, with a fix when one is known.
    pub async fn request_token(
        &self,
        ctx: &Context<'_>,
        request: TokenRequest<'_>,
    ) -> Result<FetchedToken, CredentialError> {
        let url = self.authority.token_endpoint(request.tenant);
        let endpoint = http::endpoint_for_display(&url);
        let mut http_request = Request::new(url, Method::Post);
        http_request.insert_header(
            HeaderName::from_static("content-type"),
            "application/x-www-form-urlencoded",
        );
        http_request.insert_header(HeaderName::from_static("accept"), "application/json");
        http_request.set_body(form_body(&request));

        tracing::debug!(
            credential = self.credential,
            endpoint = %endpoint,
            scopes = ?request.scopes,
            "requesting a token"
        );
        let result = match http::exchange(&self.pipeline, ctx, &mut http_request, self.limits).await
        {
            Err(e) => Err(e.into_credential_error(self.credential, &endpoint)),
            Ok(exchange) if exchange.status.is_success() => {
                crate::http::check_json_content_type(&exchange.headers)
                    .and_then(|()| response::parse_token(&exchange.body, self.clock.now()))
                    .map_err(|why| {
                        response::bad_token_response(self.credential, &endpoint, &exchange, &why)
                    })
            }
            Ok(exchange) => Err(response::error_response(
                self.credential,
                &endpoint,
                &exchange,
            )),
        };
        // A service or proxy may echo the request in its error body.
        let proof = match request.auth {
            ClientAuth::Secret(secret) => secret.secret(),
            ClientAuth::Assertion(assertion) => assertion,
        };
        let result = result.map_err(|e| e.redacting(proof));
        match &result {
            Ok(_) => tracing::debug!(credential = self.credential, "token received"),
            Err(e) => {
                tracing::debug!(credential = self.credential, error = %e, "token request failed");
            }
        }
        result.map_err(|e| {
            if e.anchor().is_empty() {
                e.with_anchor(self.anchor)
            } else {
                e
            }
        })
    }
}

fn form_body(request: &TokenRequest<'_>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::with_capacity(256));
    form.append_pair("client_id", request.client_id);
    form.append_pair("grant_type", "client_credentials");
    form.append_pair("scope", &request.scopes.join(" "));
    match request.auth {
        ClientAuth::Secret(secret) => {
            form.append_pair("client_secret", secret.secret());
        }
        ClientAuth::Assertion(assertion) => {
            form.append_pair("client_assertion_type", JWT_BEARER);
            form.append_pair("client_assertion", assertion);
        }
    }
    if let Some(claims) = request.claims {
        form.append_pair("claims", claims);
    }
    form.finish()
}

impl fmt::Debug for EntraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraClient")
            .field("credential", &self.credential)
            .field("authority", &self.authority.host().as_str())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_body_encodes_like_the_peers() {
        let secret = Secret::new("s3cr:t +/=&");
        let body = form_body(&TokenRequest {
            tenant: "t",
            client_id: "00000000-0000-0000-0000-000000000001",
            scopes: &["https://vault.azure.net/.default", "offline_access"],
            claims: None,
            auth: ClientAuth::Secret(&secret),
        });
        assert_eq!(
            body,
            "client_id=00000000-0000-0000-0000-000000000001&grant_type=client_credentials\
             &scope=https%3A%2F%2Fvault.azure.net%2F.default+offline_access\
             &client_secret=s3cr%3At+%2B%2F%3D%26"
        );
    }

    #[test]
    fn assertion_form_and_claims() {
        let body = form_body(&TokenRequest {
            tenant: "t",
            client_id: "c",
            scopes: &["s/.default"],
            claims: Some(r#"{"access_token":{}}"#),
            auth: ClientAuth::Assertion("a.b.c"),
        });
        assert!(body.contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c"
        ));
        assert!(body.ends_with("&claims=%7B%22access_token%22%3A%7B%7D%7D"));
    }

    #[test]
    fn debug_hides_the_proof() {
        let secret = Secret::new("hunter2");
        let shown = format!("{:?}", ClientAuth::Secret(&secret));
        assert!(!shown.contains("hunter2"));
        let shown = format!("{:?}", ClientAuth::Assertion("eyJsecret"));
        assert!(!shown.contains("eyJ"));
    }
}
