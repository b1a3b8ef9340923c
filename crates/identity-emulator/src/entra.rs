//! The Entra ID token endpoint: client credentials with a secret or an assertion.

use crate::{
    jwt::{UnverifiedJwt, public_key_from_pem},
    log::LoggedRequest,
    reply::Reply,
    state::{App, AssertionTrust, EXCHANGE_AUDIENCE, Shared},
};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Entra's tolerance for clock skew on assertions.
const SKEW_SECS: i64 = 300;

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .try_into()
        .unwrap_or(i64::MAX)
}

/// An Entra-shaped error: `error`, an `AADSTS` description with trace and
/// correlation ids and a timestamp, `error_codes`.
pub(crate) fn entra_error(
    status: u16,
    error: &str,
    code: u32,
    message: &str,
    request: &LoggedRequest,
) -> Reply {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = request
        .header("client-request-id")
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let timestamp = timestamp();
    let description = format!(
        "AADSTS{code}: {message} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
    );
    Reply::json(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    now.format(&format).unwrap_or_default()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) fn token(shared: &Shared, tenant: &str, request: &LoggedRequest) -> Reply {
    match issue(shared, tenant, request) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn issue(shared: &Shared, tenant: &str, request: &LoggedRequest) -> Result<Reply, Reply> {
    let fail =
        |status, error, code, message: &str| entra_error(status, error, code, message, request);
    if request.method != "POST" {
        return Err(fail(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        ));
    }
    let content_type = request.header("content-type").unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(fail(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ));
    }
    let field = |name: &str| request.form_value(name).filter(|v| !v.is_empty());
    let required = |name: &str| {
        field(name).ok_or_else(|| {
            fail(
                400,
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{name}'."),
            )
        })
    };

    let grant_type = required("grant_type")?;
    if grant_type != "client_credentials" {
        return Err(fail(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = required("client_id")?;
    let audience = audience_for(required("scope")?)
        .map_err(|(code, message)| fail(400, "invalid_scope", code, &message))?;

    let state = shared.lock();
    if !state.tenants.contains_key(&tenant.to_ascii_lowercase()) {
        return Err(fail(
            400,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    let Some(app) = state.app(tenant, client_id) else {
        return Err(fail(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ));
    };

    let method = match (field("client_secret"), field("client_assertion")) {
        (Some(_), Some(_)) => {
            return Err(fail(
                400,
                "invalid_request",
                7000217,
                "Send either 'client_secret' or 'client_assertion', not both.",
            ));
        }
        (None, None) => {
            return Err(fail(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
        (Some(secret), None) => {
            if !app.secrets.iter().any(|s| s == secret) {
                return Err(fail(
                    401,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
            "1"
        }
        (None, Some(assertion)) => {
            if field("client_assertion_type") != Some(JWT_BEARER) {
                return Err(fail(
                    400,
                    "invalid_request",
                    90014,
                    "The required field 'client_assertion_type' is missing from the credential or is not jwt-bearer.",
                ));
            }
            let endpoint = format!("{}/{tenant}/oauth2/v2.0/token", shared.base_url);
            check_assertion(shared, app, client_id, assertion, &endpoint).map_err(
                |(status, code, message)| fail(status, "invalid_client", code, &message),
            )?;
            "2"
        }
    };

    let lifetime = state.lifetime;
    let principal_id = app.principal_id.clone();
    drop(state);

    let now = now_secs();
    let expires_in = i64::try_from(lifetime.expires_in.as_secs()).unwrap_or(i64::MAX / 2);
    let issuer = Shared::token_issuer(tenant);
    let claims = json!({
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(expires_in),
        "aio": uuid::Uuid::new_v4().simple().to_string(),
        "appid": client_id,
        "appidacr": method,
        "idp": issuer,
        "idtyp": "app",
        "oid": principal_id,
        "sub": principal_id,
        "tid": tenant,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
        "xms_cc": field("claims").map(|_| vec!["cp1"]),
    });
    let access_token = shared
        .token_key
        .sign(&claims)
        .map_err(|e| Reply::text(500, format!("emulator signing failed: {e}")))?;
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
    });
    if let (Some(refresh_in), Value::Object(map)) = (lifetime.refresh_in, &mut body) {
        map.insert("refresh_in".into(), refresh_in.as_secs().into());
    }
    Ok(Reply::json(200, &body).with_header("cache-control", "no-store, no-cache"))
}

/// The audience for a client-credentials `scope`: exactly one `{resource}/.default`.
fn audience_for(scope: &str) -> Result<String, (u32, String)> {
    let resources: Vec<&str> = scope
        .split_ascii_whitespace()
        .filter(|s| !matches!(*s, "openid" | "profile" | "offline_access"))
        .collect();
    match resources.as_slice() {
        [single] => match single.strip_suffix("/.default") {
            Some(resource) if !resource.is_empty() => Ok(resource.to_owned()),
            _ => Err((
                1002012,
                format!(
                    "The provided value for scope {single} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            )),
        },
        [] => Err((
            900144,
            "The request body must contain the following parameter: 'scope'.".into(),
        )),
        _ => Err((
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        )),
    }
}

/// The header's `x5t#S256` (SHA-256) or `x5t` (SHA-1) must name the registered
/// certificate; base64url, or standard base64 as some clients send it. An
/// `x5c`, when present, must start with that certificate (standard base64 DER).
fn check_thumbprint(
    jwt: &UnverifiedJwt,
    thumbprints: &crate::jwt::Thumbprints,
) -> Result<(), (u16, u32, String)> {
    use base64::{
        Engine,
        engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    };
    let decode = |value: &str| {
        URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(value))
            .ok()
    };
    let header = |name: &str| jwt.header.get(name).and_then(serde_json::Value::as_str);
    let named = match (header("x5t#S256"), header("x5t")) {
        (Some(sha256), _) => decode(sha256).is_some_and(|d| d == thumbprints.sha256),
        (None, Some(sha1)) => decode(sha1).is_some_and(|d| d == thumbprints.sha1),
        (None, None) => {
            return Err((401, 700027, "Client assertion contains an invalid signature: the header names no certificate (x5t#S256 or x5t).".into()));
        }
    };
    if !named {
        return Err((401, 700027, "Client assertion contains an invalid signature. [Reason - The key was not found.] The header's thumbprint does not match a registered certificate.".into()));
    }
    if let Some(chain) = jwt.header.get("x5c") {
        let leaf = chain
            .as_array()
            .and_then(|c| c.first())
            .and_then(serde_json::Value::as_str)
            .and_then(|c| STANDARD.decode(c).ok());
        if leaf.as_deref() != Some(thumbprints.der.as_slice()) {
            return Err((400, 50012, "The x5c header's first certificate is not the registered certificate (it must be standard base64 of the DER leaf certificate).".into()));
        }
    }
    Ok(())
}

/// Checks a client assertion against the app's registered trusts.
fn check_assertion(
    shared: &Shared,
    app: &App,
    client_id: &str,
    assertion: &str,
    endpoint: &str,
) -> Result<(), (u16, u32, String)> {
    let jwt = UnverifiedJwt::parse(assertion).map_err(|e| {
        (
            400,
            50027,
            format!("JWT token is invalid or malformed: {e}."),
        )
    })?;
    let now = now_secs();
    let Some(exp) = jwt.claim_i64("exp") else {
        return Err((
            400,
            50027,
            "JWT token is invalid or malformed: the assertion has no 'exp' claim.".into(),
        ));
    };
    let nbf = jwt.claim_i64("nbf").unwrap_or(i64::MIN);
    if exp.saturating_add(SKEW_SECS) <= now || nbf.saturating_sub(SKEW_SECS) > now {
        return Err((
            400,
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, expiry time of assertion {exp}."
            ),
        ));
    }
    let issuer = jwt.claim_str("iss").unwrap_or_default();
    let audiences: Vec<&str> = match jwt.claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let subject = jwt.claim_str("sub").unwrap_or_default();

    if issuer == shared.federation_issuer() {
        jwt.verify_signature(shared.federation_key.public_key())
            .map_err(|e| {
                (
                    401,
                    700027,
                    format!("Client assertion failed signature validation: {e}."),
                )
            })?;
        let federated: Vec<Option<&str>> = app
            .trusts
            .iter()
            .filter_map(|t| match t {
                AssertionTrust::FederationIssuer => Some(None),
                AssertionTrust::FederatedSubject(s) => Some(Some(s.as_str())),
                AssertionTrust::PublicKeyPem(_) => None,
            })
            .collect();
        if federated.is_empty() {
            return Err((
                400,
                700211,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{issuer}'."
                ),
            ));
        }
        if !audiences.contains(&EXCHANGE_AUDIENCE) {
            return Err((
                400,
                700212,
                format!(
                    "No matching federated identity record found for presented assertion audience '{}'.",
                    audiences.join(" ")
                ),
            ));
        }
        if !federated
            .iter()
            .any(|want| want.is_none_or(|s| s == subject))
        {
            return Err((
                400,
                700213,
                format!(
                    "No matching federated identity record found for presented assertion subject '{subject}'."
                ),
            ));
        }
        return Ok(());
    }

    let keys: Vec<&[u8]> = app
        .trusts
        .iter()
        .filter_map(|t| match t {
            AssertionTrust::PublicKeyPem(pem) => Some(pem.as_slice()),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return Err((
            401,
            700027,
            format!(
                "Client assertion failed signature validation: no certificate is registered for app '{client_id}', and issuer '{issuer}' is not a federated issuer it trusts."
            ),
        ));
    }
    let Some(verifying) = keys
        .iter()
        .find(|pem| public_key_from_pem(pem).is_ok_and(|key| jwt.verify_signature(&key).is_ok()))
    else {
        return Err((
            401,
            700027,
            "Client assertion failed signature validation: no registered certificate's key verifies it.".into(),
        ));
    };
    // A certificate credential names its certificate, as Entra requires.
    if let Some(thumbprints) = crate::jwt::certificate_thumbprints(verifying) {
        check_thumbprint(&jwt, &thumbprints)?;
    }
    if !issuer.eq_ignore_ascii_case(client_id) || !subject.eq_ignore_ascii_case(client_id) {
        return Err((
            400,
            50012,
            format!(
                "Client assertion issuer '{issuer}' and subject '{subject}' must both be the client id '{client_id}'."
            ),
        ));
    }
    let endpoint_v1 = endpoint.replace("/oauth2/v2.0/token", "/oauth2/token");
    if !audiences
        .iter()
        .any(|a| a.eq_ignore_ascii_case(endpoint) || a.eq_ignore_ascii_case(&endpoint_v1))
    {
        return Err((
            400,
            50012,
            format!(
                "Client assertion audience claim does not match the token endpoint '{endpoint}'."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_come_from_one_default_scope() {
        assert_eq!(
            audience_for("https://vault.azure.net/.default").unwrap(),
            "https://vault.azure.net"
        );
        assert_eq!(
            audience_for("api://app/.default offline_access").unwrap(),
            "api://app"
        );
        assert_eq!(
            audience_for("https://graph.microsoft.com/User.Read")
                .unwrap_err()
                .0,
            1002012
        );
        assert_eq!(audience_for("a/.default b/.default").unwrap_err().0, 70011);
        assert_eq!(audience_for("/.default").unwrap_err().0, 1002012);
        assert_eq!(audience_for(" ").unwrap_err().0, 900144);
    }
}
