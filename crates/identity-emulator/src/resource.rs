//! The protected resource: answers only a valid bearer token for its audience.

use crate::{jwt::UnverifiedJwt, log::LoggedRequest, reply::Reply, state::Shared};
use serde_json::json;

/// Where the resource lives.
pub(crate) const PATH: &str = "/resource";

/// The `aud` the resource requires; request tokens for `{AUDIENCE}/.default`.
pub(crate) const AUDIENCE: &str = "https://resource.emulator.identity.test";

/// `GET /resource`.
pub(crate) fn serve(shared: &Shared, request: &LoggedRequest) -> Reply {
    let challenge = |error: &str, description: &str| {
        let header = format!(
            "Bearer authorization_uri=\"{}/common/oauth2/authorize\", resource_id=\"{AUDIENCE}\", error=\"{error}\", error_description=\"{description}\"",
            shared.base_url
        );
        Reply::json(
            401,
            &json!({ "error": error, "error_description": description }),
        )
        .with_header("www-authenticate", header)
    };
    let Some(authorization) = request.header("authorization") else {
        return challenge("invalid_request", "no bearer token was presented");
    };
    let Some(token) = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
    else {
        return challenge(
            "invalid_request",
            "the Authorization header is not a bearer token",
        );
    };
    let challenging = shared.lock().resource_challenges;
    match verify(shared, token.trim()) {
        Ok(claims) if claims.aud == AUDIENCE && challenging && claims.xms_cc.is_none() => {
            use base64::Engine as _;
            let wanted = json!({ "access_token": { "nbf": { "essential": true, "value": crate::entra::now_secs().to_string() } } });
            let encoded = base64::engine::general_purpose::STANDARD.encode(wanted.to_string());
            let header = format!(
                "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"{encoded}\"",
                shared.base_url
            );
            Reply::json(401, &json!({ "error": "insufficient_claims", "error_description": "the token must be renewed with the claims in the challenge" }))
                .with_header("www-authenticate", header)
        }
        Ok(claims) if claims.aud == AUDIENCE => Reply::json(
            200,
            &json!({ "message": "token accepted", "appid": claims.appid, "tid": claims.tid, "oid": claims.oid }),
        ),
        Ok(claims) => challenge(
            "invalid_token",
            &format!("the token's audience '{}' is not '{AUDIENCE}'", claims.aud),
        ),
        Err(e) => challenge("invalid_token", &e),
    }
}

/// Verifies an access token the emulator issued: signature, `nbf`, `exp`.
pub(crate) fn verify(shared: &Shared, token: &str) -> Result<crate::AccessTokenClaims, String> {
    let jwt = UnverifiedJwt::parse(token)?;
    if jwt.algorithm() != "RS256" {
        return Err("the token is not RS256".into());
    }
    jwt.verify_signature(shared.token_key.public_key())?;
    let claims: crate::AccessTokenClaims =
        serde_json::from_value(serde_json::Value::Object(jwt.claims))
            .map_err(|e| format!("the token's claims are incomplete: {e}"))?;
    let now = crate::entra::now_secs();
    if claims.exp <= now {
        return Err(format!("the token expired at {} (now {now})", claims.exp));
    }
    if claims.nbf > now.saturating_add(60) {
        return Err(format!("the token is not valid before {}", claims.nbf));
    }
    Ok(claims)
}
