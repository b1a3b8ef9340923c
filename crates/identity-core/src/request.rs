//! What a caller can ask of one `get_token` beyond scopes: another tenant, a
//! claims challenge, continuous access evaluation (CAE).
//!
//! azure_core's `TokenRequestOptions` carries only a `Context`, so these travel
//! in it as one typed value:
//!
//! ```
//! use identity_core::TokenRequestExtras;
//!
//! let options = TokenRequestExtras::new()
//!     .tenant_id("contoso.onmicrosoft.com")
//!     .enable_cae()
//!     .into_options();
//! // credential.get_token(&["https://graph.microsoft.com/.default"], Some(options)).await?;
//! # let _ = options;
//! ```

use crate::{CredentialError, Env, error::anchors};
use azure_core::{
    credentials::TokenRequestOptions,
    http::{ClientMethodOptions, Context},
};
use serde_json::{Map, Value, json};

/// Per-request token options for our credentials. See the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequestExtras {
    /// Request the token from this tenant instead of the credential's own.
    pub tenant_id: Option<String>,
    /// A claims challenge (the decoded JSON from a `WWW-Authenticate` header):
    /// the cached token is not used, and Entra ID receives these claims.
    pub claims: Option<String>,
    /// Ask for a CAE-capable token (`xms_cc: ["cp1"]`); such tokens are cached
    /// apart from the others.
    pub enable_cae: bool,
}

impl TokenRequestExtras {
    /// Nothing extra.
    pub fn new() -> Self {
        Self::default()
    }

    /// Another tenant (it must be allowed by the credential's options).
    #[must_use]
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }

    /// A claims challenge, as JSON.
    #[must_use]
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Ask for a CAE-capable token.
    #[must_use]
    pub fn enable_cae(mut self) -> Self {
        self.enable_cae = true;
        self
    }

    /// As `TokenRequestOptions` for `get_token`.
    pub fn into_options(self) -> TokenRequestOptions<'static> {
        TokenRequestOptions {
            method_options: ClientMethodOptions {
                context: Context::new().with_value(self),
            },
        }
    }

    /// Adds these extras to an existing context.
    pub fn add_to(self, context: Context<'_>) -> Context<'_> {
        context.with_value(self)
    }

    /// The extras in `options`, if a caller put some there.
    pub fn from_options(options: Option<&TokenRequestOptions<'_>>) -> Self {
        options
            .and_then(|o| o.method_options.context.value::<Self>())
            .cloned()
            .unwrap_or_default()
    }

    /// The `claims` parameter to send: the challenge's claims, with
    /// `xms_cc: ["cp1"]` merged in when CAE is on.
    pub fn claims_parameter(&self) -> Option<String> {
        if !self.enable_cae {
            return self.claims.clone();
        }
        let mut root = self
            .claims
            .as_deref()
            .and_then(|c| serde_json::from_str::<Value>(c).ok())
            .and_then(|v| match v {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .unwrap_or_default();
        let access_token = root
            .entry("access_token")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(access_token) = access_token {
            access_token.insert("xms_cc".into(), json!({ "values": ["cp1"] }));
        }
        Some(Value::Object(root).to_string())
    }

    /// The cache's claims key: CAE tokens are kept apart from the others.
    pub fn cache_key(&self) -> Option<&'static str> {
        self.enable_cae.then_some("cae")
    }
}

/// Tenants a credential may switch to per request: its options' list plus
/// `AZURE_ADDITIONALLY_ALLOWED_TENANTS` (`;`-separated); `*` allows any.
#[derive(Clone, Debug, Default)]
pub struct AllowedTenants {
    tenants: Vec<String>,
}

impl AllowedTenants {
    /// From the options and the environment.
    pub fn new(from_options: &[String], env: &Env) -> Self {
        let mut tenants: Vec<String> = from_options.iter().map(|t| t.trim().to_owned()).collect();
        if let Some(list) = env.var("AZURE_ADDITIONALLY_ALLOWED_TENANTS") {
            tenants.extend(list.split(';').map(|t| t.trim().to_owned()));
        }
        tenants.retain(|t| !t.is_empty());
        Self { tenants }
    }

    /// The tenant to use for a request: `requested` when it is `own`, allowed,
    /// or any is allowed; otherwise an error naming the option to set. ADFS
    /// (`own == "adfs"`) never switches.
    pub fn resolve<'a>(
        &self,
        credential: &'static str,
        own: &'a str,
        requested: Option<&'a str>,
    ) -> Result<&'a str, CredentialError> {
        let Some(requested) = requested.filter(|r| !r.is_empty()) else {
            return Ok(own);
        };
        if requested.eq_ignore_ascii_case(own) {
            return Ok(own);
        }
        if own.eq_ignore_ascii_case("adfs") {
            return Err(CredentialError::failed(
                credential,
                format!("ADFS does not support tokens for other tenants (requested {requested})"),
            )
            .with_anchor(anchors::INVALID_INPUT));
        }
        crate::authority::validate_tenant_id(credential, requested)?;
        if self
            .tenants
            .iter()
            .any(|t| t == "*" || t.eq_ignore_ascii_case(requested))
        {
            return Ok(requested);
        }
        Err(CredentialError::failed(
            credential,
            format!("a token for tenant {requested} was requested, but the credential's tenant is {own} and {requested} is not allowed"),
        )
        .with_fix(format!(
            "add {requested} (or \"*\" for any) to additionally_allowed_tenants in the options, or to AZURE_ADDITIONALLY_ALLOWED_TENANTS"
        ))
        .with_anchor(anchors::INVALID_INPUT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_travel_in_the_options_context() {
        let options = TokenRequestExtras::new()
            .tenant_id("t2")
            .claims("{}")
            .into_options();
        let extras = TokenRequestExtras::from_options(Some(&options));
        assert_eq!(extras.tenant_id.as_deref(), Some("t2"));
        assert_eq!(
            TokenRequestExtras::from_options(None),
            TokenRequestExtras::default()
        );
    }

    #[test]
    fn cae_merges_into_the_challenge() {
        let plain = TokenRequestExtras::new()
            .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#);
        assert_eq!(
            plain.claims_parameter().as_deref(),
            Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#)
        );
        let merged: Value =
            serde_json::from_str(&plain.enable_cae().claims_parameter().unwrap()).unwrap();
        assert_eq!(merged["access_token"]["xms_cc"]["values"][0], "cp1");
        assert_eq!(merged["access_token"]["nbf"]["value"], "1");
        assert_eq!(
            TokenRequestExtras::new().enable_cae().cache_key(),
            Some("cae")
        );
        assert_eq!(TokenRequestExtras::new().cache_key(), None);
    }

    #[test]
    fn tenants_switch_only_when_allowed() {
        let none = AllowedTenants::new(&[], &Env::from_vars(Vec::<(String, String)>::new()));
        assert_eq!(none.resolve("C", "home", None).unwrap(), "home");
        assert_eq!(none.resolve("C", "home", Some("HOME")).unwrap(), "home");
        let refused = none.resolve("C", "home", Some("other")).unwrap_err();
        assert!(
            refused
                .fix()
                .unwrap_or_default()
                .contains("additionally_allowed_tenants")
        );
        let listed = AllowedTenants::new(
            &["other".into()],
            &Env::from_vars(Vec::<(String, String)>::new()),
        );
        assert_eq!(listed.resolve("C", "home", Some("other")).unwrap(), "other");
        let env = AllowedTenants::new(
            &[],
            &Env::from_vars([("AZURE_ADDITIONALLY_ALLOWED_TENANTS", "a;*")]),
        );
        assert_eq!(
            env.resolve("C", "home", Some("anything")).unwrap(),
            "anything"
        );
        assert!(env.resolve("C", "adfs", Some("anything")).is_err());
        assert!(env.resolve("C", "home", Some("bad tenant!")).is_err());
    }
}
