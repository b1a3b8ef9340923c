//! The emulator over real loopback HTTP, as any client sees it.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::http::{Method, Request, Url, headers::HeaderName, new_http_client};
use identity_emulator::{
    AssertionTrust, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator, Fault,
    FaultTarget,
};
use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

/// Tenant, form, expected status, expected AADSTS code.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, u64);

struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The first `error_codes` entry of an Entra error.
    fn code(&self) -> u64 {
        self.json()["error_codes"][0]
            .as_u64()
            .unwrap_or_else(|| panic!("no error code: {}", self.body))
    }
}

async fn send(
    method: Method,
    url: &str,
    headers: &[(&'static str, &str)],
    body: Option<String>,
) -> azure_core::Result<Answer> {
    let mut request = Request::new(Url::parse(url).unwrap(), method);
    for (name, value) in headers {
        request.insert_header(*name, value.to_string());
    }
    if let Some(body) = body {
        request.set_body(body.into_bytes());
    }
    let response = new_http_client(None).execute_request(&request).await?;
    let status = u16::from(response.status());
    let www_authenticate = response
        .headers()
        .get_optional_string(&HeaderName::from("www-authenticate"));
    let body = response.into_body().collect_string().await?;
    Ok(Answer {
        status,
        www_authenticate,
        body,
    })
}

async fn token_request(emulator: &Emulator, tenant: &str, form: &[(&str, &str)]) -> Answer {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    send(
        Method::Post,
        &emulator.token_endpoint(tenant),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("client-request-id", "test-correlation"),
        ],
        Some(body),
    )
    .await
    .unwrap()
}

fn secret_form<'a>(client_id: &'a str, secret: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", scope),
    ]
}

fn assertion_form<'a>(client_id: &'a str, assertion: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
        ("scope", "https://vault.azure.net/.default"),
    ]
}

#[tokio::test]
async fn issues_signed_tokens_with_realistic_claims() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_token_lifetime(Duration::from_secs(7200), Some(Duration::from_secs(3600)));
    let answer = token_request(
        &emulator,
        DEFAULT_TENANT,
        &secret_form(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            "https://vault.azure.net/.default",
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["refresh_in"], 3600);

    let claims = emulator
        .verify_access_token(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.aud, "https://vault.azure.net");
    assert_eq!(
        claims.iss,
        format!("https://sts.windows.net/{DEFAULT_TENANT}/")
    );
    assert_eq!(claims.tid, DEFAULT_TENANT);
    assert_eq!(claims.appid, DEFAULT_CLIENT_ID);
    assert_eq!(claims.appidacr, "1");
    assert_eq!(claims.exp - claims.iat, 7200);
    assert!(!claims.oid.is_empty());
    assert!(emulator.verify_access_token("not.a.token").is_err());
}

#[tokio::test]
async fn rejections_are_entra_shaped() {
    let emulator = Emulator::start().await.unwrap();
    let scope = "https://vault.azure.net/.default";
    let cases: Vec<Case<'_>> = vec![
        (
            "no-such-tenant",
            secret_form(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, scope),
            400,
            90002,
        ),
        (
            DEFAULT_TENANT,
            secret_form("no-such-app", DEFAULT_CLIENT_SECRET, scope),
            400,
            700016,
        ),
        (
            DEFAULT_TENANT,
            secret_form(DEFAULT_CLIENT_ID, "wrong", scope),
            401,
            7000215,
        ),
        (
            DEFAULT_TENANT,
            secret_form(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                "https://graph.microsoft.com/User.Read",
            ),
            400,
            1002012,
        ),
        (
            DEFAULT_TENANT,
            secret_form(
                DEFAULT_CLIENT_ID,
                DEFAULT_CLIENT_SECRET,
                "https://a/.default https://b/.default",
            ),
            400,
            70011,
        ),
        (
            DEFAULT_TENANT,
            vec![
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
                ("scope", scope),
            ],
            400,
            900144,
        ),
        (
            DEFAULT_TENANT,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("scope", scope),
            ],
            401,
            7000218,
        ),
    ];
    for (tenant, form, status, code) in cases {
        let answer = token_request(&emulator, tenant, &form).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{}",
            answer.body
        );
        let body = answer.json();
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!("AADSTS{code}: ")),
            "{description}"
        );
        assert!(
            description.contains("Correlation ID: test-correlation"),
            "{description}"
        );
        assert_eq!(body["correlation_id"], "test-correlation");
        assert!(body["trace_id"].as_str().is_some_and(|t| !t.is_empty()));
    }
}

#[tokio::test]
async fn federated_assertions_are_checked_like_entra_does() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "any-subject",
        AssertionTrust::FederationIssuer,
    );
    emulator.add_assertion_app(
        DEFAULT_TENANT,
        "one-subject",
        AssertionTrust::FederatedSubject("system:serviceaccount:ns:app".into()),
    );
    let exchange = "api://AzureADTokenExchange";
    let good = emulator.federated_token(
        "system:serviceaccount:ns:app",
        exchange,
        Duration::from_secs(600),
    );

    for client in ["any-subject", "one-subject"] {
        let answer = token_request(&emulator, DEFAULT_TENANT, &assertion_form(client, &good)).await;
        assert_eq!(answer.status, 200, "{client}: {}", answer.body);
        let claims = emulator
            .verify_access_token(answer.json()["access_token"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            (claims.appid.as_str(), claims.appidacr.as_str()),
            (client, "2")
        );
    }

    let wrong_subject = emulator.federated_token(
        "system:serviceaccount:ns:other",
        exchange,
        Duration::from_secs(600),
    );
    let wrong_audience = emulator.federated_token(
        "system:serviceaccount:ns:app",
        "api://elsewhere",
        Duration::from_secs(600),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |iat: u64, exp: u64| serde_json::json!({ "iss": emulator.federation_issuer(), "sub": "system:serviceaccount:ns:app", "aud": exchange, "iat": iat, "nbf": iat, "exp": exp });
    // Entra allows five minutes of clock skew either way.
    let expired = emulator.federated_token_with_claims(&claims(now - 3600, now - 600));
    let just_expired = emulator.federated_token_with_claims(&claims(now - 3600, now - 60));
    let not_yet = emulator.federated_token_with_claims(&claims(now + 600, now + 1200));
    let no_exp = emulator.federated_token_with_claims(
        &serde_json::json!({ "iss": emulator.federation_issuer(), "sub": "s", "aud": exchange }),
    );
    let mut tampered: Vec<char> = good.chars().collect();
    let last = tampered.len() - 5;
    tampered[last] = if tampered[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();

    let cases = [
        ("one-subject", wrong_subject.as_str(), 700213),
        ("one-subject", wrong_audience.as_str(), 700212),
        (DEFAULT_CLIENT_ID, good.as_str(), 700211),
        ("one-subject", tampered.as_str(), 700027),
        ("one-subject", "garbage", 50027),
        ("one-subject", expired.as_str(), 700024),
        ("one-subject", not_yet.as_str(), 700024),
        ("any-subject", no_exp.as_str(), 50027),
    ];
    for (client, assertion, code) in cases {
        let answer = token_request(
            &emulator,
            DEFAULT_TENANT,
            &assertion_form(client, assertion),
        )
        .await;
        assert_eq!(answer.code(), code, "{client}: {}", answer.body);
    }
    let answer = token_request(
        &emulator,
        DEFAULT_TENANT,
        &assertion_form("one-subject", &just_expired),
    )
    .await;
    assert_eq!(answer.status, 200, "within the skew: {}", answer.body);
}

#[tokio::test]
async fn discovery_documents_and_keys_describe_the_tokens() {
    let emulator = Emulator::start().await.unwrap();
    let base = emulator.url();
    let config = send(
        Method::Get,
        &format!("{base}/{DEFAULT_TENANT}/v2.0/.well-known/openid-configuration"),
        &[],
        None,
    )
    .await
    .unwrap()
    .json();
    assert_eq!(
        config["token_endpoint"],
        emulator.token_endpoint(DEFAULT_TENANT)
    );
    let keys = send(Method::Get, config["jwks_uri"].as_str().unwrap(), &[], None)
        .await
        .unwrap()
        .json();
    let kid = keys["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(keys["keys"][0]["kty"], "RSA");

    let answer = token_request(
        &emulator,
        DEFAULT_TENANT,
        &secret_form(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "api://x/.default"),
    )
    .await;
    let token = answer.json()["access_token"].as_str().unwrap().to_owned();
    let header = token.split('.').next().unwrap();
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], kid.as_str());
    assert_eq!(header["alg"], "RS256");

    let issuer = emulator.federation_issuer();
    let federation = send(
        Method::Get,
        &format!("{issuer}/.well-known/openid-configuration"),
        &[],
        None,
    )
    .await
    .unwrap()
    .json();
    assert_eq!(federation["issuer"], issuer.as_str());
    let federation_keys = send(
        Method::Get,
        federation["jwks_uri"].as_str().unwrap(),
        &[],
        None,
    )
    .await
    .unwrap()
    .json();
    assert_ne!(federation_keys["keys"][0]["kid"], kid.as_str());
}

#[tokio::test]
async fn the_protected_resource_wants_a_valid_token_for_its_audience() {
    let emulator = Emulator::start().await.unwrap();
    let token_for = |scope: String| {
        let emulator = emulator.clone();
        async move {
            let answer = token_request(
                &emulator,
                DEFAULT_TENANT,
                &secret_form(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, &scope),
            )
            .await;
            answer.json()["access_token"].as_str().unwrap().to_owned()
        }
    };
    let right = token_for(format!("{}/.default", emulator.resource_audience())).await;
    let wrong = token_for("https://vault.azure.net/.default".into()).await;
    let url = emulator.resource_url();

    let ok = send(
        Method::Get,
        &url,
        &[("authorization", &format!("Bearer {right}"))],
        None,
    )
    .await
    .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["appid"], DEFAULT_CLIENT_ID);

    for (header, expect) in [
        (None, "no bearer token"),
        (Some(format!("Bearer {wrong}")), "audience"),
        (Some(format!("Bearer {right}x")), "signature"),
        (Some("Basic dXNlcjpwYXNz".to_owned()), "not a bearer token"),
    ] {
        let headers: Vec<(&'static str, &str)> = header
            .as_deref()
            .map(|h| vec![("authorization", h)])
            .unwrap_or_default();
        let refused = send(Method::Get, &url, &headers, None).await.unwrap();
        assert_eq!(refused.status, 401, "{expect}");
        assert!(
            refused
                .www_authenticate
                .as_deref()
                .is_some_and(|h| h.starts_with("Bearer ")),
            "{expect}"
        );
        assert!(refused.body.contains(expect), "{expect}: {}", refused.body);
    }
}

#[tokio::test]
async fn faults_follow_the_plan_and_the_log_sees_everything() {
    let emulator = Emulator::start().await.unwrap();
    let form = secret_form(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, "api://x/.default");
    emulator.push_faults(
        FaultTarget::Token,
        [
            Fault::Status {
                status: 503,
                body: "busy".into(),
                headers: vec![("Retry-After".into(), "2".into())],
            },
            Fault::Oversized(3 * 1024 * 1024),
        ],
    );
    let busy = token_request(&emulator, DEFAULT_TENANT, &form).await;
    assert_eq!((busy.status, busy.body.as_str()), (503, "busy"));
    let big = token_request(&emulator, DEFAULT_TENANT, &form).await;
    assert_eq!(big.body.len(), 3 * 1024 * 1024);
    assert_eq!(
        token_request(&emulator, DEFAULT_TENANT, &form).await.status,
        200
    );

    emulator.push_faults(FaultTarget::Token, [Fault::DropConnection]);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let dropped = send(
        Method::Post,
        &emulator.token_endpoint(DEFAULT_TENANT),
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body),
    )
    .await;
    assert!(dropped.is_err());

    emulator.push_faults(
        FaultTarget::Resource,
        [Fault::Status {
            status: 418,
            body: String::new(),
            headers: vec![],
        }],
    );
    assert_eq!(
        send(Method::Get, &emulator.resource_url(), &[], None)
            .await
            .unwrap()
            .status,
        418
    );

    let log = emulator.requests();
    assert_eq!(emulator.request_count("/oauth2/v2.0/token"), 4);
    let first = &log[0];
    assert_eq!(first.method, "POST");
    assert_eq!(
        first.form_value("client_secret"),
        Some(DEFAULT_CLIENT_SECRET)
    );
    assert_eq!(first.header("Client-Request-Id"), Some("test-correlation"));
    assert!(
        !format!("{log:?}").contains(DEFAULT_CLIENT_SECRET),
        "Debug redacts secrets"
    );
    emulator.clear_requests();
    assert!(emulator.requests().is_empty());
}

#[tokio::test]
async fn shutdown_ends_hung_requests() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_default_fault(FaultTarget::Any, Some(Fault::Hang));
    let url = emulator.resource_url();
    let hung = tokio::spawn(async move { send(Method::Get, &url, &[], None).await });
    while emulator.request_count("/resource") == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let port = emulator.port();
    emulator.shutdown().await;
    let outcome = tokio::time::timeout(Duration::from_secs(10), hung)
        .await
        .expect("the hung request ends")
        .unwrap();
    assert!(outcome.is_err(), "the connection was closed, not answered");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens any more"
    );
}

#[test]
fn the_binary_prints_the_settings_to_use() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_identity-emulator"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let mut settings = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("Press Ctrl+C") {
            break;
        }
        settings.push(line);
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        first.starts_with("Entra ID emulator listening on http://127.0.0.1:"),
        "{first}"
    );
    let text = settings.join("\n");
    for expected in [
        "AZURE_AUTHORITY_HOST=http://127.0.0.1:",
        &format!("AZURE_TENANT_ID={DEFAULT_TENANT}"),
        "Token endpoint:",
        "Protected resource:",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }

    let bad = Command::new(env!("CARGO_BIN_EXE_identity-emulator"))
        .arg("--port")
        .arg("nope")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'nope' is not a port number"));
}
