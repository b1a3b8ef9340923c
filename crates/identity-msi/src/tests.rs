//! Every source end to end against the emulator over loopback HTTP (and TLS
//! for Service Fabric).

use super::*;
use identity_core::{Env, error::anchors};
use identity_emulator::{Emulator, Fault, FaultTarget};
use std::{path::Path, time::Duration};

const SCOPE: &str = "https://vault.azure.net/.default";

fn fast_retries() -> ImdsRetryOptions {
    ImdsRetryOptions {
        max_retries: 5,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(2),
        gone_retry_duration: Duration::ZERO,
    }
}

fn options(
    vars: Vec<(&'static str, String)>,
    user_assigned_id: Option<UserAssignedId>,
) -> ManagedIdentityCredentialOptions {
    ManagedIdentityCredentialOptions {
        user_assigned_id,
        imds_retry: fast_retries(),
        platform: Platform::with_env(Env::from_vars(vars)),
        ..Default::default()
    }
}

fn imds(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_host())]
}

fn app_service(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("IDENTITY_ENDPOINT", emulator.app_service_endpoint()),
        ("IDENTITY_HEADER", emulator.managed_identity_secret().into()),
    ]
}

fn arc(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("IDENTITY_ENDPOINT", emulator.arc_endpoint()),
        ("IMDS_ENDPOINT", "http://127.0.0.1:1".into()),
    ]
}

fn azure_ml(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("MSI_ENDPOINT", emulator.azure_ml_endpoint()),
        ("MSI_SECRET", emulator.managed_identity_secret().into()),
    ]
}

fn cloud_shell(emulator: &Emulator) -> Vec<(&'static str, String)> {
    vec![("MSI_ENDPOINT", emulator.cloud_shell_endpoint())]
}

#[cfg(feature = "reqwest_rustls")]
fn service_fabric(emulator: &Emulator, thumbprint: String) -> Vec<(&'static str, String)> {
    vec![
        ("IDENTITY_ENDPOINT", emulator.service_fabric_endpoint()),
        ("IDENTITY_HEADER", emulator.managed_identity_secret().into()),
        ("IDENTITY_SERVER_THUMBPRINT", thumbprint),
    ]
}

fn credential(
    emulator: &Emulator,
    mut options: ManagedIdentityCredentialOptions,
) -> Arc<ManagedIdentityCredential> {
    options.arc_token_directory = Some(emulator.arc_token_directory().to_path_buf());
    ManagedIdentityCredential::new(Some(options)).unwrap()
}

/// Gets a token and checks the emulator issued it to `client_id`.
async fn token_for(credential: &ManagedIdentityCredential, emulator: &Emulator, client_id: &str) {
    let token = credential.get_token(&[SCOPE], None).await.unwrap();
    let claims = emulator.verify_access_token(token.token.secret()).unwrap();
    assert_eq!(claims.aud, "https://vault.azure.net");
    assert_eq!(claims.appid, client_id, "{}", credential.source());
}

#[tokio::test]
async fn every_source_gets_the_system_assigned_identity() {
    let emulator = Emulator::start().await.unwrap();
    let system = emulator.system_assigned_identity().unwrap();
    #[allow(unused_mut)]
    let mut sources = vec![
        ("IMDS", imds(&emulator)),
        ("App Service", app_service(&emulator)),
        ("Azure Arc", arc(&emulator)),
        ("Azure ML", azure_ml(&emulator)),
        ("Cloud Shell", cloud_shell(&emulator)),
    ];
    #[cfg(feature = "reqwest_rustls")]
    sources.push((
        "Service Fabric",
        service_fabric(&emulator, emulator.service_fabric_thumbprint()),
    ));
    for (name, vars) in sources {
        let credential = credential(&emulator, options(vars, None));
        assert_eq!(credential.source(), name);
        token_for(&credential, &emulator, &system.client_id).await;
    }
    let log = emulator.requests();
    let imds = log
        .iter()
        .find(|r| r.path == "/metadata/identity/oauth2/token")
        .unwrap();
    assert_eq!(imds.query_value("api-version"), Some("2018-02-01"));
    assert_eq!(
        imds.query_value("resource"),
        Some("https://vault.azure.net")
    );
    assert_eq!(imds.header("metadata"), Some("true"));
    let shell = log.iter().find(|r| r.path == "/cloudshell/token").unwrap();
    assert_eq!(
        (shell.method.as_str(), shell.form_value("resource")),
        ("POST", Some("https://vault.azure.net"))
    );
    #[cfg(feature = "reqwest_rustls")]
    {
        let fabric = log.iter().find(|r| r.path == "/sf/token").unwrap();
        assert_eq!(
            fabric.query_value("api-version"),
            Some("2019-07-01-preview")
        );
    }
}

#[tokio::test]
async fn user_assigned_identities_by_every_id_kind_the_source_allows() {
    let emulator = Emulator::start().await.unwrap();
    let identity = emulator.add_user_assigned_identity("app-identity");
    let kinds = |only_client: bool| {
        let mut ids = vec![UserAssignedId::ClientId(identity.client_id.to_uppercase())];
        if !only_client {
            ids.push(UserAssignedId::ObjectId(identity.object_id.clone()));
            ids.push(UserAssignedId::ResourceId(identity.resource_id.clone()));
        }
        ids
    };
    for (vars, only_client) in [
        (imds(&emulator), false),
        (app_service(&emulator), false),
        (arc(&emulator), false),
        (azure_ml(&emulator), true),
    ] {
        for id in kinds(only_client) {
            let credential = credential(&emulator, options(vars.clone(), Some(id.clone())));
            token_for(&credential, &emulator, &identity.client_id).await;
        }
    }
    let names: Vec<String> = emulator
        .requests()
        .iter()
        .filter(|r| r.query_value("resource").is_some())
        .flat_map(|r| r.query.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
        .collect();
    for name in [
        "client_id",
        "object_id",
        "msi_res_id",
        "mi_res_id",
        "clientid",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} was never sent");
    }
    // The `client_id` shorthand the seed documents use.
    let shorthand = ManagedIdentityCredentialOptions {
        client_id: Some(identity.client_id.clone()),
        ..options(imds(&emulator), None)
    };
    token_for(
        &credential(&emulator, shorthand),
        &emulator,
        &identity.client_id,
    )
    .await;
}

#[test]
fn user_assigned_ids_a_source_cannot_honour_are_refused_at_construction() {
    let vars = |pairs: Vec<(&'static str, &str)>| {
        pairs
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect::<Vec<_>>()
    };
    let fabric = vars(vec![
        ("IDENTITY_ENDPOINT", "https://127.0.0.1:1/sf"),
        ("IDENTITY_HEADER", "h"),
        (
            "IDENTITY_SERVER_THUMBPRINT",
            "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
        ),
    ]);
    let shell = vars(vec![("MSI_ENDPOINT", "http://127.0.0.1:1/cs")]);
    let ml = vars(vec![
        ("MSI_ENDPOINT", "http://127.0.0.1:1/ml"),
        ("MSI_SECRET", "s"),
    ]);
    for (vars, id) in [
        (fabric, UserAssignedId::ClientId("c".into())),
        (shell, UserAssignedId::ClientId("c".into())),
        (ml, UserAssignedId::ObjectId("o".into())),
    ] {
        let error = ManagedIdentityCredential::new(Some(options(vars, Some(id)))).unwrap_err();
        let details = CredentialError::find(&error).unwrap();
        assert_eq!(details.anchor(), anchors::MANAGED_IDENTITY, "{error}");
    }
    let contradicting = ManagedIdentityCredentialOptions {
        client_id: Some("a".into()),
        ..options(vec![], Some(UserAssignedId::ClientId("b".into())))
    };
    let error = ManagedIdentityCredential::new(Some(contradicting)).unwrap_err();
    assert!(
        error.to_string().contains("different identities"),
        "{error}"
    );
}

#[tokio::test]
async fn imds_retries_410_then_succeeds_and_honours_retry_after() {
    let emulator = Emulator::start().await.unwrap();
    let gone = || Fault::Status {
        status: 410,
        body: "IMDS is restarting".into(),
        headers: vec![],
    };
    emulator.push_faults(FaultTarget::ManagedIdentity, [gone(), gone(), gone()]);
    let credential = credential(&emulator, options(imds(&emulator), None));
    credential.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(emulator.request_count("/metadata/identity"), 4);

    emulator.clear_requests();
    emulator.push_faults(
        FaultTarget::ManagedIdentity,
        [Fault::Status {
            status: 429,
            body: String::new(),
            headers: vec![("Retry-After".into(), "1".into())],
        }],
    );
    credential
        .get_token(&["https://storage.azure.com/.default"], None)
        .await
        .unwrap();
    let log = emulator.requests();
    assert_eq!(log.len(), 2);
    let waited = log[1]
        .received_at
        .duration_since(log[0].received_at)
        .unwrap();
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 was honoured ({waited:?})"
    );
}

#[tokio::test]
async fn imds_410_keeps_retrying_for_the_gone_duration() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_default_fault(
        FaultTarget::ManagedIdentity,
        Some(Fault::Status {
            status: 410,
            body: String::new(),
            headers: vec![],
        }),
    );
    let mut options = options(imds(&emulator), None);
    options.imds_retry = ImdsRetryOptions {
        max_retries: 1,
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(20),
        gone_retry_duration: Duration::from_millis(300),
    };
    let error = credential(&emulator, options)
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("410"), "{error}");
    // 300 ms of 20 ms delays: well past the single ordinary retry.
    assert!(
        emulator.request_count("/metadata/identity") >= 5,
        "{}",
        emulator.request_count("/metadata/identity")
    );
}

#[tokio::test]
async fn no_identity_is_unavailable_and_says_what_to_do() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_system_assigned_identity(false);
    let error = credential(&emulator, options(imds(&emulator), None))
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err();
    let details = CredentialError::find(&error).unwrap();
    assert!(details.is_unavailable());
    let text = error.to_string();
    assert!(
        text.contains("IMDS")
            && text.contains("not assigned")
            && text.contains("#managed-identity"),
        "{text}"
    );
}

#[tokio::test]
async fn arc_key_files_are_read_only_from_the_token_directory() {
    let emulator = Emulator::start().await.unwrap();
    let outside = std::env::temp_dir().join(format!("identity-msi-test-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let inside = emulator.arc_token_directory().to_path_buf();
    std::fs::create_dir_all(&inside).unwrap();
    let write = |dir: &Path, name: &str, len: usize| {
        let path = dir.join(name);
        std::fs::write(&path, "k".repeat(len)).unwrap();
        path
    };
    let cases = [
        (write(&outside, "stolen.key", 32), "outside"),
        (write(&inside, "secret.txt", 32), "not a .key file"),
        (write(&inside, "big.key", 4097), "over 4096 bytes"),
        (
            {
                let path = inside.join("binary.key");
                std::fs::write(&path, [0xff, 0xfe, b'k']).unwrap();
                path
            },
            "is not text",
        ),
        (
            inside
                .join("..")
                .join(outside.file_name().unwrap())
                .join("stolen.key"),
            "outside",
        ),
    ];
    let credential = credential(&emulator, options(arc(&emulator), None));
    for (path, why) in cases {
        emulator.clear_requests();
        emulator.set_arc_challenge_path(Some(path.clone()));
        let text = credential
            .get_token(&[SCOPE], None)
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains(why), "{}: {text}", path.display());
        assert!(!text.contains("kkkk"), "the key is never shown");
        let sent = emulator.requests();
        assert_eq!(sent.len(), 1, "only the challenge request was sent");
        assert!(sent[0].header("authorization").is_none());
    }
    std::fs::remove_dir_all(&outside).unwrap();
}

#[tokio::test]
async fn arc_refuses_an_answer_that_does_not_echo_the_user_assigned_id() {
    let emulator = Emulator::start().await.unwrap();
    let identity = emulator.add_user_assigned_identity("arc-identity");
    let credential = credential(
        &emulator,
        options(
            arc(&emulator),
            Some(UserAssignedId::ClientId(identity.client_id.clone())),
        ),
    );
    // The challenge, then the token answer without the echo.
    emulator.push_faults(
        FaultTarget::ManagedIdentity,
        [
            Fault::Latency(Duration::ZERO),
            Fault::OmitField("client_id".into()),
        ],
    );
    let error = credential.get_token(&[SCOPE], None).await.unwrap_err();
    assert!(error.to_string().contains("cannot be trusted"), "{error}");
}

#[cfg(feature = "reqwest_rustls")]
#[tokio::test]
async fn service_fabric_refuses_a_certificate_with_another_thumbprint() {
    let emulator = Emulator::start().await.unwrap();
    let wrong = "00112233445566778899AABBCCDDEEFF00112233".to_owned();
    let pinned_wrong = credential(&emulator, options(service_fabric(&emulator, wrong), None));
    let error = pinned_wrong.get_token(&[SCOPE], None).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("Service Fabric"), "{text}");
    assert!(
        text.contains("does not match IDENTITY_SERVER_THUMBPRINT"),
        "{text}"
    );
    assert_eq!(
        emulator.request_count("/sf/token"),
        0,
        "nothing was sent over the untrusted connection"
    );
    // The right thumbprint, with colons and lower case, works.
    let pretty: String = emulator
        .service_fabric_thumbprint()
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":");
    let pinned_right = credential(&emulator, options(service_fabric(&emulator, pretty), None));
    pinned_right.get_token(&[SCOPE], None).await.unwrap();
}

#[tokio::test]
async fn a_burst_of_callers_sends_one_request_and_scopes_are_checked() {
    let emulator = Emulator::start().await.unwrap();
    emulator.set_latency(FaultTarget::ManagedIdentity, Duration::from_millis(50));
    let credential = credential(&emulator, options(imds(&emulator), None));
    let calls = (0..200).map(|_| credential.get_token(&[SCOPE], None));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(emulator.request_count("/metadata/identity"), 1);
    for scopes in [
        &[][..],
        &[SCOPE, "https://storage.azure.com/.default"][..],
        &["a b"][..],
    ] {
        assert!(
            credential.get_token(scopes, None).await.is_err(),
            "{scopes:?}"
        );
    }
    assert_eq!(emulator.request_count("/metadata/identity"), 1);
}

#[tokio::test]
async fn the_probe_is_quick_and_says_unavailable() {
    // A closed port: refused at once.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let refused = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        imds_host: Some(format!("http://127.0.0.1:{closed}")),
        ..options(vec![], None)
    }))
    .unwrap();
    let error = refused.probe().await.unwrap_err();
    assert!(identity_core::is_unavailable(&error), "{error}");

    // A port that accepts and never answers: unavailable after the probe timeout.
    let emulator = Emulator::start().await.unwrap();
    emulator.set_default_fault(FaultTarget::ManagedIdentity, Some(Fault::Hang));
    let hung = credential(
        &emulator,
        ManagedIdentityCredentialOptions {
            probe_first: true,
            ..options(imds(&emulator), None)
        },
    );
    let error = hung.get_token(&[SCOPE], None).await.unwrap_err();
    assert!(identity_core::is_unavailable(&error), "{error}");
    assert!(
        error.to_string().contains("no answer within 1 s"),
        "{error}"
    );

    // Any answer means IMDS is there; the probe carries no Metadata header.
    emulator.clear_faults();
    emulator.clear_requests();
    hung.probe().await.unwrap();
    assert!(emulator.requests()[0].header("metadata").is_none());
    hung.get_token(&[SCOPE], None).await.unwrap();
}

#[tokio::test]
async fn secrets_stay_out_of_debug_and_errors() {
    let emulator = Emulator::start().await.unwrap();
    let credential = credential(&emulator, options(app_service(&emulator), None));
    assert!(!format!("{credential:?}").contains(emulator.managed_identity_secret()));
    emulator.set_default_fault(
        FaultTarget::ManagedIdentity,
        Some(Fault::Status {
            status: 500,
            body: format!("echo {}", emulator.managed_identity_secret()),
            headers: vec![],
        }),
    );
    let mut opts = options(app_service(&emulator), None);
    opts.client_options.retry = RetryOptions::none();
    let error = credential_with(&emulator, opts)
        .get_token(&[SCOPE], None)
        .await
        .unwrap_err();
    assert!(
        !error
            .to_string()
            .contains(emulator.managed_identity_secret()),
        "{error}"
    );
}

fn credential_with(
    emulator: &Emulator,
    options: ManagedIdentityCredentialOptions,
) -> Arc<ManagedIdentityCredential> {
    credential(emulator, options)
}
