//! The flow every Entra-based credential shares: check the request, answer from
//! the cache, or ask the token endpoint with the credential's proof of identity.

use super::{ClientAuth, EntraClient, TokenRequest};
use crate::{
    AllowedTenants, CredentialError, Platform, Secret, TokenRequestExtras, TokenRequestOptions,
    authority::{validate_not_empty, validate_tenant_id},
    cache::{FetchedToken, Lookup, RefreshRule, TokenCache},
    scopes::validate_scopes,
};
use azure_core::http::{ClientOptions, Context};
use std::{fmt, future::Future, sync::Arc};

/// What a confidential client presents to Entra ID, owned so a request can
/// outlive the caller that started it.
pub enum Proof {
    /// A client secret.
    Secret(Secret),
    /// A signed JWT.
    Assertion(String),
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Secret(_) => "Proof::Secret",
            Self::Assertion(_) => "Proof::Assertion",
        })
    }
}

/// An application registered in Entra ID, with its token endpoint client and cache.
pub struct ConfidentialClient {
    credential: &'static str,
    tenant_id: String,
    client_id: String,
    entra: EntraClient,
    allowed_tenants: AllowedTenants,
    cache: TokenCache,
}

impl ConfidentialClient {
    /// Validates the ids and builds the endpoint client.
    pub fn new(
        credential: &'static str,
        anchor: &'static str,
        tenant_id: String,
        client_id: String,
        client_options: ClientOptions,
        additionally_allowed_tenants: &[String],
        platform: &Platform,
    ) -> Result<Self, CredentialError> {
        validate_tenant_id(credential, &tenant_id)?;
        validate_not_empty(credential, "the client id", &client_id)?;
        let entra = EntraClient::new(credential, anchor, client_options, platform)?;
        Ok(Self {
            credential,
            tenant_id,
            client_id,
            entra,
            allowed_tenants: AllowedTenants::new(additionally_allowed_tenants, &platform.env),
            cache: TokenCache::new(Arc::clone(&platform.clock), RefreshRule::Standard),
        })
    }

    /// The credential's name.
    pub fn credential(&self) -> &'static str {
        self.credential
    }

    /// The tenant tokens are requested from.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The endpoint client.
    pub fn entra(&self) -> &EntraClient {
        &self.entra
    }

    /// Returns a cached token, or obtains a proof and requests one.
    ///
    /// `make_proof` is called only when a request is sent (a cached read costs
    /// nothing for it); the proof it returns runs with the caller's context.
    ///
    /// A cached read happens synchronously, here; the returned future is ready
    /// at once, or waits for the shared request.
    pub fn get_token<M, P, Fut>(
        self: &Arc<Self>,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
        make_proof: M,
    ) -> Lookup
    where
        M: FnOnce() -> P,
        P: FnOnce(Context<'static>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Proof, CredentialError>> + Send,
    {
        let extras = TokenRequestExtras::from_options(options.as_ref());
        let tenant = match self.allowed_tenants.resolve(
            self.credential,
            &self.tenant_id,
            extras.tenant_id.as_deref(),
        ) {
            Ok(tenant) => tenant,
            Err(error) => return Lookup::failed(error),
        };
        // The credential's own tenant is the default key; others are keyed
        // apart. Borrowed, not copied: this runs on every cached read.
        let tenant_key = (tenant != self.tenant_id).then_some(tenant);
        let claims_key = extras.cache_key();
        let fetch = || {
            // Checked when a request would be sent: a cached key passed already.
            let invalid = validate_scopes(self.credential, scopes).err();
            let this = Arc::clone(self);
            let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
            let ctx = options
                .map(|o| o.method_options.context.into_owned())
                .unwrap_or_default();
            let proof = make_proof();
            let claims = extras.claims_parameter();
            let tenant = tenant.to_owned();
            async move {
                match invalid {
                    Some(error) => Err(error),
                    None => this.fetch(scopes, &tenant, claims, ctx, proof).await,
                }
            }
        };
        if extras.claims.is_some() {
            // A claims challenge: the cached token is what was refused.
            self.cache.fetch_now(scopes, tenant_key, claims_key, fetch)
        } else {
            self.cache
                .get_or_fetch(scopes, tenant_key, claims_key, fetch)
        }
    }

    async fn fetch<P, Fut>(
        &self,
        scopes: Vec<String>,
        tenant: &str,
        claims: Option<String>,
        ctx: Context<'static>,
        proof: P,
    ) -> Result<FetchedToken, CredentialError>
    where
        P: FnOnce(Context<'static>) -> Fut,
        Fut: Future<Output = Result<Proof, CredentialError>>,
    {
        let proof = proof(ctx.clone()).await?;
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let auth = match &proof {
            Proof::Secret(secret) => ClientAuth::Secret(secret),
            Proof::Assertion(assertion) => ClientAuth::Assertion(assertion),
        };
        let request = TokenRequest {
            tenant,
            client_id: &self.client_id,
            scopes: &scopes,
            claims: claims.as_deref(),
            auth,
        };
        self.entra.request_token(&ctx, request).await
    }
}

impl fmt::Debug for ConfidentialClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(self.credential)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("authority", &self.entra.authority().host().as_str())
            .finish_non_exhaustive()
    }
}
