//! Claims challenges (CAE): a resource answers 401 with
//! `WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64>"`;
//! the client must get a new token carrying those claims and retry once.
//!
//! azure_core 1.x's `BearerTokenAuthorizationPolicy` supports this through its
//! `OnChallenge` callback: give it [`ClaimsChallenge`] and the policy retries
//! the request with a token our credentials fetch fresh (bypassing their
//! cache) with the claims.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn example(credential: Arc<dyn azure_core::credentials::TokenCredential>) {
//! use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
//! use identity_core::challenge::ClaimsChallenge;
//!
//! let scopes = ["https://vault.azure.net/.default"];
//! let policy = BearerTokenAuthorizationPolicy::new(credential, scopes)
//!     .with_on_challenge(Arc::new(ClaimsChallenge::new(scopes)));
//! # let _ = policy;
//! # }
//! ```

use crate::TokenRequestExtras;
use azure_core::{
    credentials::TokenRequestOptions,
    error::{Error, ErrorKind},
    http::{
        ClientMethodOptions, Context, Request,
        headers::{HeaderName, Headers},
        policies::auth::{Authorizer, OnChallenge},
    },
};
use base64::Engine as _;

/// Answers a claims challenge with a fresh token carrying the claims.
#[derive(Clone, Debug)]
pub struct ClaimsChallenge {
    scopes: Vec<String>,
    enable_cae: bool,
}

impl ClaimsChallenge {
    /// For requests authorized with `scopes`.
    pub fn new<S: AsRef<str>>(scopes: impl IntoIterator<Item = S>) -> Self {
        Self {
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            enable_cae: true,
        }
    }

    /// Whether the new token is requested CAE-capable (`xms_cc: ["cp1"]`; on by default).
    #[must_use]
    pub fn enable_cae(mut self, enable: bool) -> Self {
        self.enable_cae = enable;
        self
    }
}

/// The decoded `claims` of a `Bearer` challenge, if it has one.
pub fn challenge_claims(www_authenticate: &str) -> Option<String> {
    let start = www_authenticate.find("claims=")? + "claims=".len();
    let rest = www_authenticate.get(start..)?.trim_start();
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .or_else(|_| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value.trim_end_matches('='))
        })
        .ok()?;
    String::from_utf8(decoded)
        .ok()
        .filter(|c| !c.trim().is_empty())
}

// The trait's own signature elides `Context`'s lifetime.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl OnChallenge for ClaimsChallenge {
    async fn on_challenge(
        &self,
        context: &Context,
        request: &mut Request,
        authorizer: &dyn Authorizer,
        headers: &Headers,
    ) -> azure_core::Result<()> {
        let header = headers
            .get_optional_str(&HeaderName::from_static("www-authenticate"))
            .unwrap_or_default();
        let Some(claims) = challenge_claims(header) else {
            return Err(Error::with_message(
                ErrorKind::Credential,
                "the resource answered 401 without a claims challenge; the token was refused",
            ));
        };
        let mut extras = TokenRequestExtras::new().claims(claims);
        extras.enable_cae = self.enable_cae;
        let options = TokenRequestOptions {
            method_options: ClientMethodOptions {
                context: extras.add_to(context.clone()),
            },
        };
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        authorizer.authorize(request, &scopes, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_challenges() {
        let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1726077595"}}}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(claims);
        let header = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{encoded}""#
        );
        assert_eq!(challenge_claims(&header).as_deref(), Some(claims));
        assert_eq!(challenge_claims(r#"Bearer error="invalid_token""#), None);
        assert_eq!(challenge_claims(r#"Bearer claims="!!!""#), None);
    }
}
