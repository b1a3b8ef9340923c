//! Parsing the token endpoint's answers: strict on success, readable on failure.

use super::hints;
use crate::{
    AccessToken, CredentialError,
    cache::FetchedToken,
    error::anchors,
    http::{Exchange, describe_status, excerpt},
    json::Loose,
};
use azure_core::{
    http::{StatusCode, headers::HeaderName},
    time::{Duration, OffsetDateTime},
};
use serde::Deserialize;
use serde_json::Value;

/// The longest token lifetime accepted; anything longer is a broken response.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::days(30);

/// Reads a number of seconds given as a JSON number or a string of digits.
pub fn parse_seconds(value: &Value) -> Option<i64> {
    let loose = match value {
        Value::Number(n) => n
            .as_i64()
            .map(Loose::Integer)
            .or_else(|| n.as_f64().map(Loose::Number))?,
        Value::String(s) => Loose::Text(s.as_str().into()),
        _ => return None,
    };
    loose.seconds()
}

/// Parses a successful token response. The error text never quotes the body,
/// which may hold a token.
pub(crate) fn parse_token(body: &[u8], issued: OffsetDateTime) -> Result<FetchedToken, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the body is empty".into());
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| format!("the body is not JSON ({} bytes)", body.len()))?;
    let Value::Object(fields) = json else {
        return Err("the body is JSON but not an object".into());
    };
    let token = match fields.get("access_token") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
        Some(Value::String(_)) => return Err("access_token is empty".into()),
        Some(_) => return Err("access_token is not a string".into()),
        None => return Err("it has no access_token".into()),
    };
    let expires_in = match fields.get("expires_in") {
        None => return Err("it has no expires_in".into()),
        Some(v) => parse_seconds(v).ok_or("expires_in is not a whole number of seconds")?,
    };
    if expires_in <= 0 {
        return Err(format!(
            "expires_in is {expires_in}; a token must live a positive number of seconds"
        ));
    }
    let lifetime = Duration::seconds(expires_in);
    if lifetime > MAX_TOKEN_LIFETIME {
        return Err(format!(
            "expires_in is {expires_in} s, more than the {} days accepted",
            MAX_TOKEN_LIFETIME.whole_days()
        ));
    }
    let refresh_on = fields
        .get("refresh_in")
        .and_then(parse_seconds)
        .filter(|s| *s > 0 && *s < expires_in)
        .map(|s| issued + Duration::seconds(s));
    Ok(FetchedToken {
        token: AccessToken::new(token, issued + lifetime),
        refresh_on,
    })
}

/// The error for a 2xx answer that is not a usable token.
pub(super) fn bad_token_response(
    credential: &'static str,
    endpoint: &str,
    exchange: &Exchange,
    why: &str,
) -> CredentialError {
    let content_type = exchange
        .headers
        .get_optional_str(&HeaderName::from_static("content-type"))
        .unwrap_or("none");
    CredentialError::failed(
        credential,
        format!(
            "{endpoint} answered {} (content-type {content_type}) but not with a usable token: {why}",
            describe_status(exchange.status)
        ),
    )
    .with_fix("check that the authority host points at Microsoft Entra ID (or a faithful emulator), not a proxy or captive portal")
    .with_status(exchange.status, None)
    .with_anchor(anchors::BAD_RESPONSE)
}

/// Entra's error body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EntraErrorBody {
    /// OAuth error, e.g. `invalid_client`.
    pub error: Option<String>,
    /// `AADSTS...: text`, followed by trace lines.
    pub error_description: Option<String>,
    /// AADSTS numbers.
    pub error_codes: Vec<i64>,
    /// Entra's trace id.
    pub trace_id: Option<String>,
    /// The correlation id (the client's request id when it sent one).
    pub correlation_id: Option<String>,
}

impl EntraErrorBody {
    /// The description's first line (trace lines dropped), at most 600 characters.
    pub fn summary(&self) -> Option<String> {
        let description = self.error_description.as_deref()?;
        let first = description
            .split(['\r', '\n'])
            .map(str::trim)
            .find(|line| !line.is_empty())?;
        Some(excerpt(first.as_bytes(), 600))
    }
}

/// The error for a non-2xx answer.
pub(crate) fn error_response(
    credential: &'static str,
    endpoint: &str,
    exchange: &Exchange,
) -> CredentialError {
    let status = exchange.status;
    let parsed = serde_json::from_slice::<EntraErrorBody>(&exchange.body)
        .ok()
        .filter(|b| b.error.is_some() || b.error_description.is_some());
    let attempts = if exchange.attempts > 1 {
        format!(" after {} attempts", exchange.attempts)
    } else {
        String::new()
    };
    let Some(body) = parsed else {
        let shown = if exchange.body.is_empty() {
            "no body".to_owned()
        } else {
            format!("body: {}", excerpt(&exchange.body, 200))
        };
        let fix = if status.is_server_error() || status == StatusCode::TooManyRequests {
            "the service is failing or throttling; try again later, and check the service's health"
        } else {
            "check the authority host and tenant; this answer did not come in Entra ID's error format"
        };
        return CredentialError::failed(
            credential,
            format!(
                "{endpoint} answered {}{attempts} ({shown})",
                describe_status(status)
            ),
        )
        .with_fix(fix)
        .with_status(status, None);
    };
    let codes = body
        .error_codes
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut message = format!(
        "{endpoint} answered {}{attempts}: ",
        describe_status(status)
    );
    message.push_str(
        &body
            .summary()
            .unwrap_or_else(|| body.error.clone().unwrap_or_default()),
    );
    let mut ids = Vec::new();
    if let Some(error) = &body.error {
        ids.push(format!("error {error}"));
    }
    if let Some(trace) = &body.trace_id {
        ids.push(format!("trace id {trace}"));
    }
    if let Some(correlation) = &body.correlation_id {
        ids.push(format!("correlation id {correlation}"));
    }
    if !ids.is_empty() {
        message.push_str(&format!(" ({})", ids.join(", ")));
    }
    let mut error = CredentialError::failed(credential, message)
        .with_status(status, (!codes.is_empty()).then_some(codes));
    if let Some(fix) = body.error_codes.iter().find_map(|c| hints::fix_for(*c)) {
        error = error.with_fix(fix);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::{Bytes, http::headers::Headers};

    fn issued() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()
    }

    #[test]
    fn accepts_numbers_and_strings() {
        let t = parse_token(
            br#"{"access_token":"tok","expires_in":"3599","refresh_in":1800}"#,
            issued(),
        )
        .unwrap();
        assert_eq!(t.token.token.secret(), "tok");
        assert_eq!(t.token.expires_on, issued() + Duration::seconds(3599));
        assert_eq!(t.refresh_on, Some(issued() + Duration::seconds(1800)));
        let t = parse_token(
            br#"{"token_type":"Bearer","access_token":"x","expires_in":60.0}"#,
            issued(),
        )
        .unwrap();
        assert_eq!(t.token.expires_on, issued() + Duration::seconds(60));
        assert_eq!(t.refresh_on, None);
    }

    #[test]
    fn rejects_what_is_not_a_token_without_quoting_it() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"  \n", "empty"),
            (b"<html>sorry</html>", "not JSON"),
            (&[0xff, 0xfe, 0x00], "not JSON"),
            (b"[1,2]", "not an object"),
            (br#"{"expires_in":3600}"#, "no access_token"),
            (br#"{"access_token":"","expires_in":3600}"#, "empty"),
            (br#"{"access_token":5,"expires_in":3600}"#, "not a string"),
            (br#"{"access_token":"SECRETTOKEN"}"#, "no expires_in"),
            (
                br#"{"access_token":"SECRETTOKEN","expires_in":-5}"#,
                "positive",
            ),
            (
                br#"{"access_token":"SECRETTOKEN","expires_in":0}"#,
                "positive",
            ),
            (
                br#"{"access_token":"SECRETTOKEN","expires_in":"abc"}"#,
                "whole number",
            ),
            (
                br#"{"access_token":"SECRETTOKEN","expires_in":1e12}"#,
                "days accepted",
            ),
            (
                br#"{"access_token":"SECRETTOKEN","expires_in":{}}"#,
                "whole number",
            ),
        ];
        for (body, expected) in cases {
            let why = parse_token(body, issued()).unwrap_err();
            assert!(
                why.contains(expected),
                "{why:?} should mention {expected:?}"
            );
            assert!(!why.contains("SECRETTOKEN"));
        }
    }

    fn exchange(status: u16, body: &str) -> Exchange {
        Exchange {
            status: StatusCode::from(status),
            headers: Headers::new(),
            body: Bytes::from(body.to_owned()),
            attempts: 1,
        }
    }

    #[test]
    fn entra_errors_keep_status_code_and_text() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: abc\r\nCorrelation ID: def\r\nTimestamp: now","error_codes":[7000215],"trace_id":"abc","correlation_id":"def"}"#;
        let e = error_response(
            "ClientSecretCredential",
            "https://x/t/oauth2/v2.0/token",
            &exchange(401, body),
        );
        let text = e.to_string();
        assert!(text.starts_with("ClientSecretCredential authentication failed: https://x/t/oauth2/v2.0/token answered HTTP 401 Unauthorized: AADSTS7000215: Invalid client secret provided. (error invalid_client, trace id abc, correlation id def)"), "{text}");
        assert!(text.contains("To fix:"), "{text}");
        assert!(!text.contains("Timestamp"));
        assert_eq!(e.status(), Some(StatusCode::Unauthorized));
        assert_eq!(e.error_code(), Some("7000215"));
        let multi = r#"{"error":"x","error_codes":[123,456]}"#;
        assert_eq!(
            error_response("C", "e", &exchange(400, multi)).error_code(),
            Some("123,456")
        );
    }

    #[test]
    fn non_json_errors_keep_status_and_a_bounded_excerpt() {
        let html = format!("<html>{}</html>", "x".repeat(5000));
        let e = error_response("C", "https://x/token", &exchange(502, &html));
        let text = e.to_string();
        assert!(text.contains("HTTP 502 Bad Gateway"), "{text}");
        assert!(text.len() < 700, "{}", text.len());
        assert_eq!(e.status(), Some(StatusCode::BadGateway));
        let e = error_response("C", "https://x/token", &exchange(500, ""));
        assert!(e.to_string().contains("no body"));
    }
}
