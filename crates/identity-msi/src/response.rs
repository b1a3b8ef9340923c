//! Reading managed identity answers: tolerant of each host's spelling, strict
//! about what matters, readable when it fails.

use crate::{NAME, source::Source};
use azure_core::{
    http::StatusCode,
    time::{Duration, OffsetDateTime},
};
use identity_core::{
    AccessToken, CredentialError,
    cache::FetchedToken,
    entra::MAX_TOKEN_LIFETIME,
    error::anchors,
    http::{Exchange, describe_status, excerpt},
    json::{Loose, LooseObject},
};

/// A user-assigned id the answer must echo (Azure Arc): field and value.
pub(crate) type Echo<'a> = Option<(&'static str, &'a str)>;

/// Parses a successful answer. Never quotes the body, which holds a token.
pub(crate) fn parse_token(
    body: &[u8],
    now: OffsetDateTime,
    echo: Echo<'_>,
) -> Result<FetchedToken, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("the body is empty".into());
    }
    let fields = LooseObject::parse(body)
        .ok_or_else(|| format!("the body is not a JSON object ({} bytes)", body.len()))?;
    let token = match fields.get("access_token") {
        Some(Loose::Text(t)) if !t.trim().is_empty() => t.clone().into_owned(),
        Some(_) => return Err("access_token is empty or not a string".into()),
        None => return Err("it has no access_token".into()),
    };
    let expires_on = expiry(&fields, now)?;
    if expires_on <= now {
        return Err(format!(
            "the token expired already (expires_on {})",
            expires_on.unix_timestamp()
        ));
    }
    if expires_on - now > MAX_TOKEN_LIFETIME {
        return Err("the token claims to live more than 30 days".into());
    }
    if let Some((field, wanted)) = echo {
        match fields.str(field) {
            Some(echoed) if echoed.eq_ignore_ascii_case(wanted) => {}
            Some(_) => {
                return Err(format!(
                    "it was issued for a different identity ({field} does not match the one requested)"
                ));
            }
            None => {
                return Err(format!(
                    "it does not say which identity it was issued for (no {field}), so it cannot be trusted to be the one requested"
                ));
            }
        }
    }
    let refresh_on = fields
        .get("refresh_in")
        .and_then(Loose::seconds)
        .filter(|s| *s > 0)
        // Any number can arrive here: out of range or past expiry means no hint.
        .and_then(|s| now.checked_add(Duration::seconds(s)))
        .filter(|refresh_on| *refresh_on < expires_on);
    Ok(FetchedToken {
        token: AccessToken::new(token, expires_on),
        refresh_on,
    })
}

/// `expires_on` (epoch seconds, number or string), else `expires_in`.
fn expiry(fields: &LooseObject<'_>, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    if let Some(value) = fields.get("expires_on") {
        let seconds = value
            .seconds()
            .ok_or("expires_on is not a number of seconds since 1970")?;
        return OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|_| "expires_on is out of range".to_owned());
    }
    match fields.get("expires_in") {
        Some(value) => {
            let seconds = value
                .seconds()
                .ok_or("expires_in is not a whole number of seconds")?;
            if seconds <= 0 {
                return Err(format!(
                    "expires_in is {seconds}; a token must live a positive number of seconds"
                ));
            }
            now.checked_add(Duration::seconds(seconds))
                .ok_or_else(|| format!("expires_in is {seconds} s, out of range"))
        }
        None => Err("it has neither expires_on nor expires_in".into()),
    }
}

/// An answer that is not a token: what it means for this source, and what to do.
pub(crate) fn error_for(source: &Source, exchange: &Exchange) -> CredentialError {
    let endpoint = source.endpoint();
    let host = source.name();
    let status = exchange.status;
    let detail = service_message(&exchange.body);
    let shown = |what: &str| {
        let attempts = if exchange.attempts > 1 {
            format!(" after {} attempts", exchange.attempts)
        } else {
            String::new()
        };
        let mut text = format!(
            "the {host} managed identity endpoint {endpoint} answered {}{attempts}: {what}",
            describe_status(status)
        );
        if let Some(detail) = &detail {
            text.push_str(&format!(" ({detail})"));
        }
        text
    };
    let error = match u16::from(status) {
        400 => CredentialError::unavailable(NAME, shown("the requested identity is not assigned to this resource"))
            .with_fix("assign a managed identity to this resource, or name the user-assigned identity to use (client id, object id or resource id)"),
        401 | 403 if unreachable_network(&exchange.body) => CredentialError::unavailable(NAME, shown("the endpoint cannot be reached from here"))
            .with_fix("run on an Azure host with a managed identity; this looks like a container without IMDS access"),
        401 | 403 => CredentialError::failed(NAME, shown("access was refused"))
            .with_fix("check the IDENTITY_HEADER/MSI_SECRET the host provides; restart the app if the host rotated it"),
        502 | 504 => CredentialError::failed(NAME, shown("a gateway failed in front of the identity endpoint"))
            .with_fix("retry later; if it persists, the host's identity service is unhealthy"),
        _ => CredentialError::failed(NAME, shown("no token")),
    };
    error
        .with_status(status, None)
        .with_anchor(anchors::MANAGED_IDENTITY)
}

/// The service's own words, from `error_description`/`message` or a body excerpt.
fn service_message(body: &[u8]) -> Option<String> {
    if let Some(fields) = LooseObject::parse(body)
        && let Some(text) = ["error_description", "message", "error"]
            .iter()
            .find_map(|name| fields.str(name))
    {
        return Some(text.to_owned());
    }
    let text = excerpt(body, 200);
    (!text.is_empty()).then_some(text)
}

/// Docker Desktop answers IMDS requests with 403 "...unreachable network".
pub(crate) fn unreachable_network(body: &[u8]) -> bool {
    identity_core::text::contains_ignore_ascii_case(body, b"unreachable")
}

/// Whether a status is worth another IMDS attempt.
pub(crate) fn retryable(status: StatusCode) -> bool {
    matches!(u16::from(status), 404 | 410 | 429 | 500..=599)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[test]
    fn each_hosts_spelling_of_expiry_is_read() {
        for body in [
            r#"{"access_token":"t","expires_on":"1800003600"}"#,
            r#"{"access_token":"t","expires_on":1800003600}"#,
            r#"{"access_token":"t","expires_in":"3600"}"#,
            r#"{"access_token":"t","expires_in":3600,"expires_on":1800003600}"#,
        ] {
            let fetched = parse_token(body.as_bytes(), now(), None).unwrap();
            assert_eq!(
                fetched.token.expires_on.unix_timestamp(),
                1_800_003_600,
                "{body}"
            );
        }
        let hinted = parse_token(
            br#"{"access_token":"t","expires_in":7200,"refresh_in":600}"#,
            now(),
            None,
        )
        .unwrap();
        assert_eq!(hinted.refresh_on, Some(now() + Duration::seconds(600)));
    }

    #[test]
    fn broken_answers_are_explained_without_quoting_the_token() {
        for (body, why) in [
            ("", "empty"),
            ("<html>", "not a JSON object"),
            (r#"{"expires_in":1}"#, "no access_token"),
            (r#"{"access_token":"SECRET"}"#, "neither"),
            (
                r#"{"access_token":"SECRET","expires_on":"soon"}"#,
                "seconds since 1970",
            ),
            (
                r#"{"access_token":"SECRET","expires_on":1}"#,
                "expired already",
            ),
            (r#"{"access_token":"SECRET","expires_in":-3}"#, "positive"),
            (
                r#"{"access_token":"SECRET","expires_in":99999999}"#,
                "30 days",
            ),
            // Found by `cargo fuzz` (msi_response): this used to overflow and panic.
            (
                r#"{"access_token":"SECRET","expires_in":"861111111399"}"#,
                "out of range",
            ),
            (
                r#"{"access_token":"SECRET","expires_in":9223372036854775807}"#,
                "out of range",
            ),
        ] {
            let error = parse_token(body.as_bytes(), now(), None).unwrap_err();
            assert!(error.contains(why), "{body}: {error}");
            assert!(!error.contains("SECRET"), "{error}");
        }
    }

    #[test]
    fn refresh_hints_out_of_range_or_past_expiry_are_ignored() {
        for refresh_in in ["9223372036854775807", "7200", "-5"] {
            let body =
                format!(r#"{{"access_token":"t","expires_in":3600,"refresh_in":{refresh_in}}}"#);
            let token = parse_token(body.as_bytes(), now(), None).unwrap();
            assert_eq!(token.refresh_on, None, "refresh_in {refresh_in}");
        }
    }

    #[test]
    fn an_arc_answer_must_echo_the_requested_identity() {
        let body = br#"{"access_token":"t","expires_in":3600,"client_id":"ABC"}"#;
        assert!(parse_token(body, now(), Some(("client_id", "abc"))).is_ok());
        assert!(
            parse_token(body, now(), Some(("client_id", "other")))
                .unwrap_err()
                .contains("different identity")
        );
        assert!(
            parse_token(body, now(), Some(("object_id", "abc")))
                .unwrap_err()
                .contains("no object_id")
        );
    }
}
