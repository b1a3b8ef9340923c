//! `AzureCliCredential`, `AzureDeveloperCliCredential` and
//! `DeveloperToolsCredential` with real child processes: the stand-ins in
//! `tests/standins` (az 2.91.0's output and error text) first on `PATH`.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use identity::{
    AzureCliCredential, AzureCliCredentialOptions, AzureDeveloperCliCredential,
    AzureDeveloperCliCredentialOptions, CredentialError, DeveloperToolsCredential,
    DeveloperToolsCredentialOptions, Env, Platform, TokenCredential,
};
use identity_tests::standin_env;
use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

const SCOPE: &str = "https://management.azure.com/.default";

/// A scratch directory for a test's log and pid files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("identity-devtools-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn az(env: Env) -> Arc<AzureCliCredential> {
    AzureCliCredential::new(Some(AzureCliCredentialOptions {
        platform: Platform::with_env(env),
        ..Default::default()
    }))
    .unwrap()
}

fn azd(env: Env) -> Arc<AzureDeveloperCliCredential> {
    AzureDeveloperCliCredential::new(Some(AzureDeveloperCliCredentialOptions {
        platform: Platform::with_env(env),
        ..Default::default()
    }))
    .unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn both_tools_give_tokens_and_are_cached() {
    let dir = scratch("ok");
    let log = dir.join("args.log");
    let log_path = log.display().to_string();
    let env = standin_env(&[
        ("IDENTITY_STANDIN_LOG", &log_path),
        ("IDENTITY_STANDIN_MODE", "warning"),
    ]);
    let az = az(env.clone());
    let token = az.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(token.token.secret(), "standin-az-token");
    assert!((token.expires_on.unix_timestamp() - (now() + 3600)).abs() < 60);
    az.get_token(&[SCOPE], None).await.unwrap();

    let azd = azd(env);
    let token = azd
        .get_token(&[SCOPE, "offline_access"], None)
        .await
        .unwrap();
    assert_eq!(token.token.secret(), "standin-azd-token");

    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        runs.lines().collect::<Vec<_>>(),
        [
            format!("az account get-access-token --output json --scope {SCOPE}"),
            format!(
                "azd auth token --output json --no-prompt --scope {SCOPE} --scope offline_access"
            ),
        ],
        "az ran once (the second call was cached); every argument is its own"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn tenant_and_subscription_are_passed_as_arguments() {
    let dir = scratch("args");
    let log = dir.join("args.log");
    let log_path = log.display().to_string();
    let env = standin_env(&[("IDENTITY_STANDIN_LOG", &log_path)]);
    for (tenant, subscription) in [
        (Some("contoso.onmicrosoft.com"), None),
        (None, Some("My Subscription")),
    ] {
        let credential = AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: tenant.map(str::to_owned),
            subscription: subscription.map(str::to_owned),
            platform: Platform::with_env(env.clone()),
            ..Default::default()
        }))
        .unwrap();
        credential.get_token(&[SCOPE], None).await.unwrap();
    }
    let runs = std::fs::read_to_string(&log).unwrap();
    assert!(runs.contains("--tenant contoso.onmicrosoft.com"), "{runs}");
    assert!(runs.contains("--subscription My Subscription"), "{runs}");
    let both = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        tenant_id: Some("t".into()),
        subscription: Some("s".into()),
        ..Default::default()
    }));
    assert!(both.is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn not_installed_and_not_logged_in_are_unavailable() {
    let nowhere = Env::from_vars([("PATH", "/nonexistent")]);
    for credential in [
        az(nowhere.clone()) as Arc<dyn TokenCredential>,
        azd(nowhere),
    ] {
        let error = credential.get_token(&[SCOPE], None).await.unwrap_err();
        assert!(identity::is_unavailable(&error), "{error}");
        assert!(
            error.to_string().contains("not installed or not on PATH"),
            "{error}"
        );
    }
    let logged_out = standin_env(&[("IDENTITY_STANDIN_MODE", "not-logged-in")]);
    let error = az(logged_out.clone())
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err();
    assert!(identity::is_unavailable(&error), "{error}");
    assert!(
        error
            .to_string()
            .contains("Please run 'az login' to setup account."),
        "{error}"
    );
    assert!(
        error.to_string().contains("To fix: run `az login`"),
        "{error}"
    );
    let error = azd(logged_out).get_token(&[SCOPE], None).await.unwrap_err();
    assert!(identity::is_unavailable(&error), "{error}");
    assert!(error.to_string().contains("azd auth login"), "{error}");

    // An AADSTS error mentions `az login` too, but it is a failure.
    let error = az(standin_env(&[("IDENTITY_STANDIN_MODE", "aadsts")]))
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err();
    assert!(!identity::is_unavailable(&error), "{error}");
    assert!(error.to_string().contains("AADSTS7000215"), "{error}");
}

#[tokio::test]
async fn bad_scopes_are_refused_before_anything_runs() {
    let dir = scratch("scopes");
    let log = dir.join("args.log");
    let log_path = log.display().to_string();
    let env = standin_env(&[("IDENTITY_STANDIN_LOG", &log_path)]);
    let az = az(env.clone());
    let two = az
        .get_token(&[SCOPE, "https://vault.azure.net/.default"], None)
        .await
        .unwrap_err();
    assert!(two.to_string().contains("exactly one scope"), "{two}");
    for hostile in [
        "https://x/.default;rm -rf /",
        "$(touch /tmp/pwned)",
        "--debug",
        "https://x/.default&calc",
        "a`b`",
    ] {
        assert!(az.get_token(&[hostile], None).await.is_err(), "{hostile}");
        assert!(
            azd(env.clone()).get_token(&[hostile], None).await.is_err(),
            "{hostile}"
        );
    }
    assert!(!log.exists(), "neither tool ran");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_hung_tool_is_killed_at_the_timeout() {
    let dir = scratch("hang");
    let pid_file = dir.join("pid");
    let pid_path = pid_file.display().to_string();
    let credential = AzureCliCredential::new(Some(AzureCliCredentialOptions {
        process_timeout: Some(Duration::from_millis(500)),
        platform: Platform::with_env(standin_env(&[
            ("IDENTITY_STANDIN_MODE", "hang"),
            ("IDENTITY_STANDIN_PID", &pid_path),
        ])),
        ..Default::default()
    }))
    .unwrap();
    let error = credential.get_token(&[SCOPE], None).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("did not finish within 500 ms and was stopped"),
        "{error}"
    );
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    // Reaped and gone: no `az` left behind.
    assert!(
        !PathBuf::from(format!("/proc/{pid}")).exists(),
        "process {pid} is still running"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn garbage_and_oversized_output_are_clear_failures() {
    for (mode, expected) in [
        ("garbage", "something other than a JSON object"),
        ("big", "more than 1048576 bytes"),
    ] {
        for credential in [
            az(standin_env(&[("IDENTITY_STANDIN_MODE", mode)])) as Arc<dyn TokenCredential>,
            azd(standin_env(&[("IDENTITY_STANDIN_MODE", mode)])),
        ] {
            let error = credential.get_token(&[SCOPE], None).await.unwrap_err();
            assert!(error.to_string().contains(expected), "{mode}: {error}");
            assert!(!identity::is_unavailable(&error));
        }
    }
}

#[tokio::test]
async fn local_time_expiry_is_right_in_any_time_zone() {
    for zone in ["America/Los_Angeles", "Asia/Kolkata"] {
        let env = standin_env(&[("IDENTITY_STANDIN_MODE", "local-time-only"), ("TZ", zone)]);
        let token = az(env).get_token(&[SCOPE], None).await.unwrap();
        let off_by = token.expires_on.unix_timestamp() - (now() + 3600);
        assert!(off_by.abs() < 60, "{zone}: off by {off_by} s");
    }
}

#[tokio::test]
async fn developer_tools_sticks_with_what_worked_and_explains_what_did_not() {
    // az is not logged in, azd is: azd is chosen, and kept.
    let dir = scratch("sticky");
    let log = dir.join("args.log");
    let log_path = log.display().to_string();
    let both = |mode: &str| {
        let env = standin_env(&[
            ("IDENTITY_STANDIN_MODE", mode),
            ("IDENTITY_STANDIN_LOG", &log_path),
        ]);
        DeveloperToolsCredential::new(Some(DeveloperToolsCredentialOptions {
            platform: Platform::with_env(env),
            ..Default::default()
        }))
        .unwrap()
    };
    let az_only_logged_out = {
        // A PATH whose az is logged out but whose azd works: two stand-in dirs.
        let logged_out_az = dir.join("bin");
        std::fs::create_dir_all(&logged_out_az).unwrap();
        std::fs::write(logged_out_az.join("az"), "#!/bin/sh\necho \"az $*\" >> \"$IDENTITY_STANDIN_LOG\"\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            logged_out_az.join("az"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let path = format!(
            "{}:{}:/usr/bin:/bin",
            logged_out_az.display(),
            identity_tests::standins_dir().display()
        );
        DeveloperToolsCredential::new(Some(DeveloperToolsCredentialOptions {
            platform: Platform::with_env(Env::from_vars([
                ("PATH", path),
                ("IDENTITY_STANDIN_LOG", log_path.clone()),
            ])),
            ..Default::default()
        }))
        .unwrap()
    };
    let token = az_only_logged_out.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(token.token.secret(), "standin-azd-token");
    az_only_logged_out
        .get_token(&["https://vault.azure.net/.default"], None)
        .await
        .unwrap();
    let runs: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        runs.iter().filter(|r| r.starts_with("az ")).count(),
        1,
        "az is not tried again once azd worked: {runs:?}"
    );
    assert!(format!("{az_only_logged_out:?}").contains("AzureDeveloperCliCredential"));

    // Neither: one error, each tool once, with its own reason.
    let error = both("not-logged-in")
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err();
    assert!(identity::is_unavailable(&error), "{error}");
    let text = error.to_string();
    assert_eq!(text.matches("AzureCliCredential: ").count(), 1, "{text}");
    assert_eq!(
        text.matches("AzureDeveloperCliCredential: ").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("Please run 'az login'") && text.contains("azd auth login"),
        "{text}"
    );
    assert_eq!(text.matches("Troubleshooting:").count(), 1, "{text}");
    let details = CredentialError::find(&error).unwrap();
    assert_eq!(details.credential(), "DeveloperToolsCredential");
    std::fs::remove_dir_all(dir).unwrap();
}
