//! Per-request tenants, claims challenges (CAE) and sovereign clouds, end to
//! end against the emulator.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use azure_core::{
    cloud::CloudConfiguration,
    http::{AsyncRawResponse, ClientOptions, HttpClient, Request, Transport, new_http_client},
};
use identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    Platform, TokenCredential, TokenRequestExtras,
};
use identity_emulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT, Emulator};
use identity_tests::{
    call_protected_resource_with_challenges, client_options, resource_scope, standin_env,
};
use std::sync::{Arc, Mutex};

const OTHER_TENANT: &str = "c0ffee00-0000-4000-8000-000000000b0b";
const TOKEN_PATH: &str = "/oauth2/v2.0/token";

fn credential(emulator: &Emulator, allowed: &[&str]) -> Arc<ClientSecretCredential> {
    ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        Some(ClientSecretCredentialOptions {
            client_options: client_options(emulator),
            additionally_allowed_tenants: allowed.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }),
    )
    .unwrap()
}

async fn tid(
    emulator: &Emulator,
    credential: &dyn TokenCredential,
    extras: TokenRequestExtras,
) -> String {
    let token = credential
        .get_token(
            &["https://vault.azure.net/.default"],
            Some(extras.into_options()),
        )
        .await
        .unwrap();
    emulator
        .verify_access_token(token.token.secret())
        .unwrap()
        .tid
}

#[tokio::test]
async fn one_credential_two_tenants_each_cached_apart() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_secret_app(OTHER_TENANT, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET);
    let credential = credential(&emulator, &[OTHER_TENANT]);
    for _ in 0..2 {
        assert_eq!(
            tid(&emulator, credential.as_ref(), TokenRequestExtras::new()).await,
            DEFAULT_TENANT
        );
        assert_eq!(
            tid(
                &emulator,
                credential.as_ref(),
                TokenRequestExtras::new().tenant_id(OTHER_TENANT)
            )
            .await,
            OTHER_TENANT
        );
    }
    assert_eq!(
        emulator.request_count(TOKEN_PATH),
        2,
        "one request per tenant, then the cache"
    );
    assert_eq!(emulator.request_count(OTHER_TENANT), 1);

    // `*` allows any tenant.
    let any = self::credential(&emulator, &["*"]);
    assert_eq!(
        tid(
            &emulator,
            any.as_ref(),
            TokenRequestExtras::new().tenant_id(OTHER_TENANT)
        )
        .await,
        OTHER_TENANT
    );
}

#[tokio::test]
async fn a_tenant_not_allowed_is_refused_before_anything_is_sent() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, &[]);
    let error = credential
        .get_token(
            &["https://vault.azure.net/.default"],
            Some(
                TokenRequestExtras::new()
                    .tenant_id(OTHER_TENANT)
                    .into_options(),
            ),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(OTHER_TENANT) && error.contains("additionally_allowed_tenants"),
        "{error}"
    );
    assert_eq!(emulator.request_count(TOKEN_PATH), 0);
}

#[tokio::test]
async fn a_claims_challenge_is_answered_and_the_request_retried() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, &[]);
    // A token without claims is in the cache.
    credential
        .get_token(&[&resource_scope(&emulator)], None)
        .await
        .unwrap();
    emulator.set_resource_claims_challenge(true);
    let status = call_protected_resource_with_challenges(
        &emulator,
        Arc::clone(&credential) as Arc<dyn TokenCredential>,
    )
    .await
    .unwrap();
    assert!(status.is_success(), "{status:?}");
    let log = emulator.requests();
    let token_requests: Vec<_> = log
        .iter()
        .filter(|r| r.path.ends_with(TOKEN_PATH))
        .collect();
    assert_eq!(
        token_requests.len(),
        2,
        "the cached token was bypassed once"
    );
    let claims = token_requests[1].form_value("claims").unwrap();
    assert!(
        claims.contains("\"nbf\"") && claims.contains("cp1"),
        "challenge claims and CAE sent: {claims}"
    );
    let resource_calls = log.iter().filter(|r| r.path == "/resource").count();
    assert_eq!(resource_calls, 2, "refused once, then accepted");
}

#[tokio::test]
async fn cae_tokens_are_cached_apart() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, &[]);
    for _ in 0..2 {
        tid(
            &emulator,
            credential.as_ref(),
            TokenRequestExtras::new().enable_cae(),
        )
        .await;
        tid(&emulator, credential.as_ref(), TokenRequestExtras::new()).await;
    }
    let log = emulator.requests();
    let sent: Vec<Option<&str>> = log
        .iter()
        .filter(|r| r.path.ends_with(TOKEN_PATH))
        .map(|r| r.form_value("claims"))
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].is_some_and(|c| c.contains("cp1")), "{sent:?}");
    assert_eq!(sent[1], None);
}

/// Sends the US Government authority's requests to the emulator, recording
/// which host each was meant for; refuses anything else.
#[derive(Debug)]
struct Sovereign {
    emulator: String,
    hosts: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl HttpClient for Sovereign {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let host = request.url().host_str().unwrap_or_default().to_owned();
        self.hosts.lock().unwrap().push(host.clone());
        assert_eq!(
            host, "login.microsoftonline.us",
            "only the government authority is used"
        );
        let mut local = request.clone();
        let target = azure_core::http::Url::parse(&self.emulator).unwrap();
        let url = local.url_mut();
        url.set_scheme("http").unwrap();
        url.set_host(target.host_str()).unwrap();
        url.set_port(target.port()).unwrap();
        new_http_client(None).execute_request(&local).await
    }
}

#[tokio::test]
async fn a_government_cloud_authority_is_used() {
    let emulator = Emulator::start().await.unwrap();
    let transport = Arc::new(Sovereign {
        emulator: emulator.url(),
        hosts: Mutex::new(Vec::new()),
    });
    let credential = ClientSecretCredential::new(
        DEFAULT_TENANT,
        DEFAULT_CLIENT_ID.into(),
        DEFAULT_CLIENT_SECRET.into(),
        Some(ClientSecretCredentialOptions {
            client_options: ClientOptions {
                cloud: Some(Arc::new(CloudConfiguration::AzureGovernment)),
                transport: Some(Transport::new(Arc::clone(&transport) as Arc<dyn HttpClient>)),
                ..Default::default()
            },
            ..Default::default()
        }),
    )
    .unwrap();
    credential
        .get_token(&["https://vault.usgovcloudapi.net/.default"], None)
        .await
        .unwrap();
    assert_eq!(
        *transport.hosts.lock().unwrap(),
        ["login.microsoftonline.us"]
    );
    assert_eq!(
        emulator.request_count(&format!("/{DEFAULT_TENANT}{TOKEN_PATH}")),
        1
    );
}

#[tokio::test]
async fn the_cli_credentials_pass_tenants_and_claims() {
    let dir = std::env::temp_dir().join(format!("identity-tenants-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("args.log");
    let log_path = log.display().to_string();
    let env = standin_env(&[("IDENTITY_STANDIN_LOG", &log_path)]);
    let az = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        platform: Platform::with_env(env.clone()),
        ..Default::default()
    }))
    .unwrap();
    let azd = AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
        platform: Platform::with_env(env),
        ..Default::default()
    }))
    .unwrap();
    let scope = ["https://vault.azure.net/.default"];
    az.get_token(
        &scope,
        Some(
            TokenRequestExtras::new()
                .tenant_id(OTHER_TENANT)
                .into_options(),
        ),
    )
    .await
    .unwrap();
    azd.get_token(
        &scope,
        Some(
            TokenRequestExtras::new()
                .tenant_id(OTHER_TENANT)
                .claims("{\"a\":1}")
                .into_options(),
        ),
    )
    .await
    .unwrap();
    let runs = std::fs::read_to_string(&log).unwrap();
    assert!(runs.contains(&format!("--tenant {OTHER_TENANT}")), "{runs}");
    assert!(
        runs.contains(&format!("--tenant-id {OTHER_TENANT} --claims eyJhIjoxfQ==")),
        "{runs}"
    );

    let error = az
        .get_token(
            &scope,
            Some(TokenRequestExtras::new().claims("{\"a\":1}").into_options()),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("run: az login --claims-challenge eyJhIjoxfQ=="),
        "{error}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
