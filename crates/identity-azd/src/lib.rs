#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    time::OffsetDateTime,
};
use identity_core::{
    CredentialError, Platform,
    authority::validate_tenant_id,
    cache::{FetchedToken, RefreshRule, TokenCache},
    error::anchors,
    process::{
        DEFAULT_PROCESS_TIMEOUT, ProcessOutput, TokioExecutor, Tool, check_argument,
        exit_description, quote,
    },
    scopes::validate_scopes,
};
use serde_json::Value;
use std::{ffi::OsString, fmt, sync::Arc, time::Duration};

pub use identity_core::process::Executor;

const NAME: &str = "AzureDeveloperCliCredential";

const TOOL: Tool = Tool {
    credential: NAME,
    program: "azd",
    install_hint: "install the Azure Developer CLI (https://aka.ms/azd) and run `azd auth login`",
    output_hint: "run `azd auth token --output json` in a terminal; update azd if its output looks different",
    anchor: anchors::AZD,
};

/// Options for [`AzureDeveloperCliCredential`].
#[derive(Clone, Debug, Default)]
pub struct AzureDeveloperCliCredentialOptions {
    /// Ask `azd` for a token in this tenant (`--tenant-id`).
    pub tenant_id: Option<String>,
    /// Runs `azd` (default: a tokio child process).
    pub executor: Option<Arc<dyn Executor>>,
    /// How long `azd` may run before it is killed (default 10 s).
    pub process_timeout: Option<Duration>,
    /// Where environment variables and the time are read from.
    pub platform: Platform,
}

/// Tokens from the Azure Developer CLI: whoever is logged in with `azd auth login`.
pub struct AzureDeveloperCliCredential {
    inner: Arc<Inner>,
}

struct Inner {
    tenant_id: Option<String>,
    executor: Arc<dyn Executor>,
    timeout: Duration,
    platform: Platform,
    cache: TokenCache,
}

fn scope_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')
}

impl AzureDeveloperCliCredential {
    /// A credential that runs `azd auth token`.
    ///
    /// # Errors
    /// An invalid tenant id.
    pub fn new(
        options: Option<AzureDeveloperCliCredentialOptions>,
    ) -> azure_core::Result<Arc<Self>> {
        let options = options.unwrap_or_default();
        if let Some(tenant) = &options.tenant_id {
            validate_tenant_id(NAME, tenant).map_err(CredentialError::into_azure_error)?;
        }
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                cache: TokenCache::new(Arc::clone(&options.platform.clock), RefreshRule::Standard),
                tenant_id: options.tenant_id,
                executor: options.executor.unwrap_or_else(|| Arc::new(TokioExecutor)),
                timeout: options.process_timeout.unwrap_or(DEFAULT_PROCESS_TIMEOUT),
                platform: options.platform,
            }),
        }))
    }
}

impl Inner {
    async fn fetch(
        &self,
        scopes: Vec<String>,
        tenant: Option<String>,
        claims: Option<String>,
    ) -> Result<FetchedToken, CredentialError> {
        let mut args: Vec<OsString> = ["auth", "token", "--output", "json", "--no-prompt"]
            .iter()
            .map(OsString::from)
            .collect();
        for scope in &scopes {
            args.extend(["--scope".into(), scope.into()]);
        }
        if let Some(tenant) = &tenant {
            args.extend(["--tenant-id".into(), tenant.into()]);
        }
        if let Some(claims) = &claims {
            use base64::Engine as _;
            // Base64 has no character a command line could misread.
            let encoded = base64::engine::general_purpose::STANDARD.encode(claims);
            args.extend(["--claims".into(), encoded.into()]);
        }
        let output = TOOL
            .run(
                self.executor.as_ref(),
                &self.platform.env,
                args,
                Vec::new(),
                self.timeout,
            )
            .await?;
        parse(&output, self.platform.clock.now())
    }
}

/// `{"token": "...", "expiresOn": "<RFC 3339>"}`, or why not. Never quotes stdout.
fn parse(output: &ProcessOutput, now: OffsetDateTime) -> Result<FetchedToken, CredentialError> {
    if output.status != Some(0) {
        return Err(failure(output));
    }
    let fields = TOOL.json_fields(output)?;
    let token = TOOL.token_field(&fields, "token")?;
    let expires_on = fields
        .get("expiresOn")
        .and_then(Value::as_str)
        .and_then(|text| {
            OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()
        })
        .ok_or_else(|| TOOL.bad_output("JSON without an RFC 3339 expiresOn"))?;
    TOOL.fetched(token, expires_on, now)
}

/// azd reports errors as JSON lines on stderr (`{"data":{"message":...}}`);
/// their messages, else the raw text. "azd auth login" means *unavailable*.
fn failure(output: &ProcessOutput) -> CredentialError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let messages: Vec<String> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter_map(|json| {
            json.pointer("/data/message")
                .and_then(Value::as_str)
                .map(|m| m.trim().to_owned())
        })
        .filter(|m| !m.is_empty())
        .collect();
    let joined = messages.join(" ");
    let said = quote(if messages.is_empty() {
        &stderr
    } else {
        &joined
    });
    if said.contains("azd auth login") || said.contains("not logged in") {
        return CredentialError::unavailable(
            NAME,
            format!("the Azure Developer CLI is not logged in: {said}"),
        )
        .with_fix("run `azd auth login`")
        .with_anchor(anchors::AZD);
    }
    let exit = exit_description(output);
    CredentialError::failed(NAME, format!("azd {exit}: {said}"))
        .with_fix(
            "run `azd auth token --output json --scope <scope>` in a terminal to see the details",
        )
        .with_anchor(anchors::AZD)
}

#[async_trait::async_trait]
impl TokenCredential for AzureDeveloperCliCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let extras = identity_core::TokenRequestExtras::from_options(options.as_ref());
        // The options' tenant was checked in `new`; a per-request one is checked here.
        if let Some(requested) = &extras.tenant_id {
            validate_tenant_id(NAME, requested).map_err(CredentialError::into_azure_error)?;
        }
        let tenant = extras
            .tenant_id
            .as_deref()
            .or(self.inner.tenant_id.as_deref());
        let fetch = || {
            let checked = validate_scopes(NAME, scopes).and_then(|()| {
                scopes
                    .iter()
                    .try_for_each(|scope| check_argument(NAME, "the scope", scope, scope_char))?;
                Ok(scopes.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            });
            let inner = Arc::clone(&self.inner);
            let (tenant, claims) = (tenant.map(str::to_owned), extras.claims.clone());
            async move { inner.fetch(checked?, tenant, claims).await }
        };
        let cache = &self.inner.cache;
        if extras.claims.is_some() {
            cache.fetch_now(scopes, tenant, None, fetch).await
        } else {
            cache.get_or_fetch(scopes, tenant, None, fetch).await
        }
    }
}

impl fmt::Debug for AzureDeveloperCliCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(NAME)
            .field("tenant_id", &self.inner.tenant_id)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: i32, stdout: &str, stderr: &str) -> ProcessOutput {
        ProcessOutput {
            status: Some(status),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn reads_rfc3339_with_any_offset() {
        let now = OffsetDateTime::from_unix_timestamp(1_795_350_000).unwrap();
        for body in [
            r#"{"token":"t","expiresOn":"2026-11-22T14:06:05Z"}"#,
            r#"{"token":"t","expiresOn":"2026-11-22T15:06:05+01:00"}"#,
        ] {
            assert_eq!(
                parse(&run(0, body, ""), now)
                    .unwrap()
                    .token
                    .expires_on
                    .unix_timestamp(),
                1_795_356_365,
                "{body}"
            );
        }
        assert!(
            parse(&run(0, r#"{"token":"SECRET","expiresOn":"soon"}"#, ""), now)
                .unwrap_err()
                .message()
                .contains("RFC 3339")
        );
    }

    #[test]
    fn json_errors_are_shown_readably() {
        let stderr = r#"{"type":"consoleMessage","timestamp":"2026-11-22T14:06:05Z","data":{"message":"\nERROR: fetching token: AADSTS70043: The refresh token has expired\n"}}"#;
        let error = failure(&run(1, "", stderr));
        assert_eq!(
            error.message(),
            "azd exited with 1: ERROR: fetching token: AADSTS70043: The refresh token has expired"
        );
        let logged_out = failure(&run(
            1,
            "",
            r#"{"type":"consoleMessage","data":{"message":"ERROR: not logged in, run `azd auth login` to login"}}"#,
        ));
        assert!(logged_out.is_unavailable(), "{}", logged_out.message());
        assert!(
            failure(&run(1, "", "plain text failure"))
                .message()
                .ends_with("plain text failure")
        );
    }
}
