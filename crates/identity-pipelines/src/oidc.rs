//! The pipeline's OIDC endpoint: trades `System.AccessToken` for an OIDC token
//! naming the service connection, which is then the client assertion.

use crate::NAME;
use azure_core::{
    credentials::Secret,
    http::{ClientMethodOptions, Context, Method, Pipeline, Request, Url, headers::HeaderName},
};
use identity_client_assertion::ClientAssertion;
use identity_core::{
    CredentialError,
    error::anchors,
    http::{Limits, describe_status, endpoint_for_display, excerpt, exchange},
};
use serde_json::Value;

pub(crate) struct OidcToken {
    url: Url,
    access_token: Secret,
    pipeline: Pipeline,
}

// The access token is never printed.
impl std::fmt::Debug for OidcToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcToken")
            .field("endpoint", &endpoint_for_display(&self.url))
            .finish_non_exhaustive()
    }
}

fn failed(message: String) -> CredentialError {
    CredentialError::failed(NAME, message).with_anchor(anchors::AZURE_PIPELINES)
}

impl OidcToken {
    pub(crate) fn new(
        endpoint: &str,
        service_connection_id: &str,
        access_token: Secret,
        pipeline: Pipeline,
    ) -> Result<Self, CredentialError> {
        let mut url = Url::parse(endpoint.trim())
            .map_err(|_| failed(format!("SYSTEM_OIDCREQUESTURI is not a URL: {endpoint:?}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", "7.1")
            .append_pair("serviceConnectionId", service_connection_id);
        Ok(Self {
            url,
            access_token,
            pipeline,
        })
    }

    async fn fetch(&self, ctx: &Context<'_>) -> Result<String, CredentialError> {
        let mut request = Request::new(self.url.clone(), Method::Post);
        let mut header = |name: &'static str, value: String| {
            request.insert_header(HeaderName::from_static(name), value);
        };
        header(
            "authorization",
            format!("Bearer {}", self.access_token.secret()),
        );
        // Suppress: a 401 instead of a redirect to a sign-in page.
        header("x-tfs-fedauthredirect", "Suppress".into());
        header("content-type", "application/json".into());
        header("content-length", "0".into());
        let endpoint = endpoint_for_display(&self.url);
        let answer = exchange(&self.pipeline, ctx, &mut request, Limits::default())
            .await
            .map_err(|e| e.into_credential_error(NAME, &endpoint))?;
        if !answer.status.is_success() {
            let ids: Vec<String> = ["x-vss-e2eid", "x-msedge-ref"]
                .iter()
                .filter_map(|name| {
                    answer
                        .headers
                        .get_optional_str(&HeaderName::from_static(name))
                        .map(|v| format!("{name}: {v}"))
                })
                .collect();
            let ids = if ids.is_empty() {
                "no request ids".to_owned()
            } else {
                ids.join(", ")
            };
            let fix = if u16::from(answer.status) == 401 || u16::from(answer.status) == 403 {
                "map $(System.AccessToken) into the step's environment and check that the pipeline may use the service connection"
            } else {
                "check the service connection id; if it persists, report it to Azure DevOps with the request ids above"
            };
            return Err(failed(format!(
                "the pipeline's OIDC endpoint {endpoint} answered {} ({ids}): {}",
                describe_status(answer.status),
                excerpt(&answer.body, 200)
            ))
            .with_status(answer.status, None)
            .with_fix(fix));
        }
        // A sign-in page from a proxy is not the pipeline's answer.
        if let Err(why) = identity_core::http::check_json_content_type(&answer.headers) {
            return Err(failed(format!(
                "the pipeline's OIDC endpoint {endpoint} answered without an oidcToken: {why}"
            )));
        }
        match serde_json::from_slice::<Value>(&answer.body) {
            Ok(Value::Object(fields)) => match fields.get("oidcToken").and_then(Value::as_str) {
                Some(token) if !token.trim().is_empty() => Ok(token.trim().to_owned()),
                _ => Err(failed(format!(
                    "the pipeline's OIDC endpoint {endpoint} answered without an oidcToken"
                ))),
            },
            _ if answer.body.iter().all(u8::is_ascii_whitespace) => Err(failed(format!(
                "the pipeline's OIDC endpoint {endpoint} answered {} with an empty body",
                describe_status(answer.status)
            ))),
            _ => Err(failed(format!(
                "the pipeline's OIDC endpoint {endpoint} answered {} with a body that is not a JSON object ({} bytes)",
                describe_status(answer.status),
                answer.body.len()
            ))),
        }
    }
}

#[async_trait::async_trait]
impl ClientAssertion for OidcToken {
    async fn secret(&self, options: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let ctx = options.map(|o| o.context).unwrap_or_default();
        self.fetch(&ctx)
            .await
            .map_err(|e| e.redacting(self.access_token.secret()).into_azure_error())
    }
}
