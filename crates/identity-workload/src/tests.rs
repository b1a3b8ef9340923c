//! The token file, read for real from a temporary directory; tokens from the
//! emulator, which checks the federated assertion like Entra does.

use super::*;
use azure_core::time::Duration as TimeDuration;
use identity_core::{Env, ManualClock, Platform};
use identity_emulator::{AssertionTrust, DEFAULT_TENANT, Emulator};
use std::{path::Path, sync::Arc, time::Duration};

const SUBJECT: &str = "system:serviceaccount:apps:web";
const EXCHANGE: &str = "api://AzureADTokenExchange";

struct Setup {
    emulator: Emulator,
    dir: PathBuf,
    clock: Arc<ManualClock>,
}

impl Setup {
    async fn new(name: &str) -> Self {
        let emulator = Emulator::start().await.unwrap();
        emulator.add_assertion_app(
            DEFAULT_TENANT,
            "workload-app",
            AssertionTrust::FederatedSubject(SUBJECT.into()),
        );
        let dir =
            std::env::temp_dir().join(format!("identity-workload-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let clock = Arc::new(ManualClock::new(azure_core::time::OffsetDateTime::now_utc()));
        Self {
            emulator,
            dir,
            clock,
        }
    }

    fn token_path(&self) -> PathBuf {
        self.dir.join("azure-identity-token")
    }

    fn write_token(&self, contents: &str) {
        std::fs::write(self.token_path(), contents).unwrap();
    }

    fn fresh_token(&self) -> String {
        self.emulator
            .federated_token(SUBJECT, EXCHANGE, Duration::from_secs(3600))
    }

    /// A credential configured the way AKS does it: by environment variables.
    fn credential(&self) -> Arc<WorkloadIdentityCredential> {
        let env = Env::from_vars([
            ("AZURE_TENANT_ID", DEFAULT_TENANT.to_owned()),
            ("AZURE_CLIENT_ID", "workload-app".to_owned()),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                self.token_path().display().to_string(),
            ),
            ("AZURE_AUTHORITY_HOST", self.emulator.authority_host()),
        ]);
        let platform = Platform {
            env,
            clock: Arc::clone(&self.clock) as Arc<dyn identity_core::Clock>,
        };
        WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                platform,
                ..Default::default()
            },
            ..Default::default()
        }))
        .unwrap()
    }

    fn sent_assertions(&self) -> Vec<String> {
        self.emulator
            .requests()
            .iter()
            .filter_map(|r| r.form_value("client_assertion").map(str::to_owned))
            .collect()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn the_token_file_is_trimmed_and_re_read_after_rotation() {
    let setup = Setup::new("rotate").await;
    let first = setup.fresh_token();
    setup.write_token(&format!("{first}\n"));
    let credential = setup.credential();
    credential
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap();

    // The cluster rotates the file; within five minutes the read is reused.
    let second = setup.fresh_token();
    setup.write_token(&second);
    credential
        .get_token(&["https://b/.default"], None)
        .await
        .unwrap();
    // After the re-read period, the new contents are used.
    setup.clock.advance(TimeDuration::minutes(6));
    credential
        .get_token(&["https://c/.default"], None)
        .await
        .unwrap();

    assert_eq!(
        setup.sent_assertions(),
        vec![first.clone(), first, second],
        "trailing newline trimmed; rotation picked up"
    );
}

#[tokio::test]
async fn an_expired_assertion_makes_the_file_be_read_again_at_once() {
    let setup = Setup::new("expired").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = setup
        .emulator
        .federated_token_with_claims(&serde_json::json!({
            "iss": setup.emulator.federation_issuer(), "sub": SUBJECT, "aud": EXCHANGE,
            "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600,
        }));
    setup.write_token(&stale);
    let credential = setup.credential();
    let fresh = setup.fresh_token();
    // The first read happens now and gets the stale token; rotate before the request fails.
    let _ = credential.get_token(&["https://warm/.default"], None).await;
    setup.write_token(&fresh);
    credential
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap();
    let sent = setup.sent_assertions();
    assert_eq!(sent.last(), Some(&fresh), "re-read after AADSTS700024");
}

#[tokio::test]
async fn missing_empty_and_oversized_files_name_the_path() {
    let setup = Setup::new("missing").await;
    let credential = setup.credential();
    let text = credential
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(&setup.token_path().display().to_string()) && text.contains("cannot be read"),
        "{text}"
    );
    setup.write_token(" \n");
    let text = credential
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("is empty") && text.contains("#workload-identity"),
        "{text}"
    );
    // A file larger than any service account token is refused unread.
    setup.write_token(&"k".repeat(64 * 1024 + 1));
    let text = credential
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("is over 65536 bytes"), "{text}");
    assert!(
        !text.contains("kkkk"),
        "the file's contents are never shown"
    );
    assert_eq!(
        setup.emulator.request_count("/oauth2/v2.0/token"),
        0,
        "nothing was sent"
    );
}

#[test]
fn missing_configuration_is_unavailable() {
    for (vars, missing) in [
        (vec![], "AZURE_TENANT_ID"),
        (vec![("AZURE_TENANT_ID", "t")], "AZURE_CLIENT_ID"),
        (
            vec![("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")],
            "AZURE_FEDERATED_TOKEN_FILE",
        ),
    ] {
        let options = WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                platform: Platform::with_env(Env::from_vars(vars)),
                ..Default::default()
            },
            ..Default::default()
        };
        let error = WorkloadIdentityCredential::new(Some(options)).unwrap_err();
        assert!(identity_core::is_unavailable(&error), "{error}");
        assert!(error.to_string().contains(missing), "{error}");
    }
    // Options win over the environment and need no file yet.
    let options = WorkloadIdentityCredentialOptions {
        tenant_id: Some("t".into()),
        client_id: Some("c".into()),
        token_file_path: Some(Path::new("/not/yet/there").to_path_buf()),
        ..Default::default()
    };
    assert!(WorkloadIdentityCredential::new(Some(options)).is_ok());
}

#[tokio::test]
async fn the_aks_token_proxy_is_used_when_enabled() {
    let setup = Setup::new("proxy").await;
    setup.write_token(&setup.fresh_token());
    let ca = String::from_utf8(setup.emulator.tls_certificate_pem()).unwrap();
    let with_proxy = |extra: Vec<(&'static str, String)>| {
        let mut vars = vec![
            ("AZURE_TENANT_ID", DEFAULT_TENANT.to_owned()),
            ("AZURE_CLIENT_ID", "workload-app".to_owned()),
            (
                "AZURE_FEDERATED_TOKEN_FILE",
                setup.token_path().display().to_string(),
            ),
            // The authority the proxy stands in for: never contacted.
            (
                "AZURE_AUTHORITY_HOST",
                "https://login.microsoftonline.com".to_owned(),
            ),
            ("AZURE_KUBERNETES_TOKEN_PROXY", setup.emulator.https_url()),
        ];
        vars.extend(extra);
        WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                platform: Platform::with_env(Env::from_vars(vars)),
                ..Default::default()
            },
            enable_proxy: true,
            ..Default::default()
        }))
        .unwrap()
    };
    // Trusted through CA data, presenting the certificate's other name by SNI.
    let credential = with_proxy(vec![
        ("AZURE_KUBERNETES_CA_DATA", ca.clone()),
        (
            "AZURE_KUBERNETES_SNI_NAME",
            identity_emulator::TLS_SERVER_NAME.to_owned(),
        ),
    ]);
    let token = credential
        .get_token(&["https://a/.default"], None)
        .await
        .unwrap();
    assert!(
        setup
            .emulator
            .verify_access_token(token.token.secret())
            .is_ok()
    );
    // Trusted through a CA file.
    let ca_file = setup.dir.join("ca.crt");
    std::fs::write(&ca_file, &ca).unwrap();
    let credential = with_proxy(vec![(
        "AZURE_KUBERNETES_CA_FILE",
        ca_file.display().to_string(),
    )]);
    credential
        .get_token(&["https://b/.default"], None)
        .await
        .unwrap();
    assert_eq!(setup.emulator.request_count("/oauth2/v2.0/token"), 2);

    // Without the proxy's CA, the system roots do not trust it: refused.
    let untrusted = with_proxy(vec![]);
    let error = untrusted
        .get_token(&["https://c/.default"], None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not trusted"), "{error}");
    assert_eq!(
        setup.emulator.request_count("/oauth2/v2.0/token"),
        2,
        "nothing reached the proxy's token endpoint"
    );
}
