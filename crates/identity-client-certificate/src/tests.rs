//! Certificates generated here, at test time; tokens from the emulator, which
//! checks signatures, thumbprints and `x5c` the way Entra does.

use super::*;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use identity_core::Env;
use identity_emulator::{AssertionTrust, DEFAULT_TENANT, Emulator};
use openssl::{
    asn1::Asn1Time,
    ec::{EcGroup, EcKey},
    hash::MessageDigest,
    nid::Nid,
    pkcs12::Pkcs12,
    pkey::{PKey, Private},
    rsa::Rsa,
    symm::Cipher,
    x509::{X509, X509NameBuilder},
};

const SCOPE: &str = "https://vault.azure.net/.default";

/// A self-signed certificate for `key`.
fn certificate_for(key: &PKey<Private>) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "identity test app")
        .unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    builder.sign(key, MessageDigest::sha256()).unwrap();
    builder.build()
}

struct TestCertificate {
    key: PKey<Private>,
    cert: X509,
}

impl TestCertificate {
    fn rsa() -> Self {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let cert = certificate_for(&key);
        Self { key, cert }
    }

    fn pkcs12(&self, password: &str) -> Vec<u8> {
        Pkcs12::builder()
            .name("app")
            .pkey(&self.key)
            .cert(&self.cert)
            .build2(password)
            .unwrap()
            .to_der()
            .unwrap()
    }

    fn pem(&self, password: Option<&str>) -> Vec<u8> {
        let mut pem = self.cert.to_pem().unwrap();
        pem.extend(match password {
            Some(p) => self
                .key
                .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), p.as_bytes())
                .unwrap(),
            None => self.key.private_key_to_pem_pkcs8().unwrap(),
        });
        pem
    }

    fn register(&self, emulator: &Emulator, client_id: &str) {
        emulator.add_assertion_app(
            DEFAULT_TENANT,
            client_id,
            AssertionTrust::PublicKeyPem(self.cert.to_pem().unwrap()),
        );
    }
}

fn options(emulator: &Emulator, password: Option<&str>) -> ClientCertificateCredentialOptions {
    ClientCertificateCredentialOptions {
        password: password.map(|p| Secret::new(p.to_owned())),
        platform: Platform::with_env(Env::from_vars([(
            "AZURE_AUTHORITY_HOST",
            emulator.authority_host(),
        )])),
        ..Default::default()
    }
}

/// The header of the last assertion the emulator received.
fn last_assertion_header(emulator: &Emulator) -> serde_json::Value {
    let requests = emulator.requests();
    let assertion = requests
        .iter()
        .rev()
        .find_map(|r| r.form_value("client_assertion"))
        .unwrap();
    let header = assertion.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn pkcs12_and_pem_with_and_without_passwords_get_tokens() {
    let emulator = Emulator::start().await.unwrap();
    let cert = TestCertificate::rsa();
    cert.register(&emulator, "cert-app");
    let inputs: [(&str, Vec<u8>, Option<&str>); 4] = [
        (
            "pkcs12 with password",
            cert.pkcs12("p@ss w0rd"),
            Some("p@ss w0rd"),
        ),
        ("pkcs12 without password", cert.pkcs12(""), None),
        ("pem, plain key", cert.pem(None), None),
        (
            "pem, encrypted key",
            cert.pem(Some("pem-pass")),
            Some("pem-pass"),
        ),
    ];
    for (what, bytes, password) in inputs {
        let credential = ClientCertificateCredential::new(
            DEFAULT_TENANT.into(),
            "cert-app".into(),
            SecretBytes::new(bytes),
            Some(options(&emulator, password)),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let token = credential
            .get_token(&[SCOPE], None)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let claims = emulator.verify_access_token(token.token.secret()).unwrap();
        assert_eq!(
            (claims.appid.as_str(), claims.appidacr.as_str()),
            ("cert-app", "2"),
            "{what}"
        );
    }
    let header = last_assertion_header(&emulator);
    assert_eq!(header["alg"], "PS256");
    let sha256 =
        openssl::hash::hash(MessageDigest::sha256(), &cert.cert.to_der().unwrap()).unwrap();
    assert_eq!(header["x5t#S256"], URL_SAFE_NO_PAD.encode(sha256));
    assert!(header.get("x5c").is_none(), "no chain unless asked");
}

#[tokio::test]
async fn rs256_and_the_certificate_chain_are_options() {
    let emulator = Emulator::start().await.unwrap();
    let cert = TestCertificate::rsa();
    cert.register(&emulator, "cert-app");
    let mut rs256 = options(&emulator, None);
    rs256.assertion_algorithm = AssertionAlgorithm::Rs256;
    let credential = ClientCertificateCredential::new(
        DEFAULT_TENANT.into(),
        "cert-app".into(),
        SecretBytes::new(cert.pem(None)),
        Some(rs256),
    )
    .unwrap();
    credential.get_token(&[SCOPE], None).await.unwrap();
    let header = last_assertion_header(&emulator);
    assert_eq!(header["alg"], "RS256");
    let sha1 = openssl::hash::hash(MessageDigest::sha1(), &cert.cert.to_der().unwrap()).unwrap();
    assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1));

    // The chain, by option and by AZURE_CLIENT_SEND_CERTIFICATE_CHAIN.
    for by_env in [false, true] {
        let mut with_chain = options(&emulator, None);
        if by_env {
            with_chain.platform = Platform::with_env(Env::from_vars([
                ("AZURE_AUTHORITY_HOST", emulator.authority_host()),
                ("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "True".into()),
            ]));
        } else {
            with_chain.send_certificate_chain = true;
        }
        let credential = ClientCertificateCredential::new(
            DEFAULT_TENANT.into(),
            "cert-app".into(),
            SecretBytes::new(cert.pem(None)),
            Some(with_chain),
        )
        .unwrap();
        credential.get_token(&[SCOPE], None).await.unwrap();
        let header = last_assertion_header(&emulator);
        assert_eq!(
            header["x5c"][0],
            STANDARD.encode(cert.cert.to_der().unwrap()),
            "by env: {by_env}"
        );
    }
}

#[tokio::test]
async fn an_assertion_is_reused_until_it_nears_expiry() {
    let emulator = Emulator::start().await.unwrap();
    let cert = TestCertificate::rsa();
    cert.register(&emulator, "cert-app");
    let credential = ClientCertificateCredential::new(
        DEFAULT_TENANT.into(),
        "cert-app".into(),
        SecretBytes::new(cert.pem(None)),
        Some(options(&emulator, None)),
    )
    .unwrap();
    credential.get_token(&[SCOPE], None).await.unwrap();
    credential
        .get_token(&["https://storage.azure.com/.default"], None)
        .await
        .unwrap();
    let assertions: Vec<String> = emulator
        .requests()
        .iter()
        .filter_map(|r| r.form_value("client_assertion").map(str::to_owned))
        .collect();
    assert_eq!(assertions.len(), 2);
    assert_eq!(assertions[0], assertions[1], "signed once, reused");
}

#[test]
fn unreadable_certificates_are_explained() {
    let cert = TestCertificate::rsa();
    let ec_key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let ec = TestCertificate {
        cert: certificate_for(&ec_key),
        key: ec_key,
    };
    let cases: [(Vec<u8>, Option<&str>, &str); 6] = [
        (
            cert.pkcs12("right"),
            Some("wrong"),
            "could not be opened with the given password",
        ),
        (cert.pkcs12("right"), None, "without a password"),
        (cert.pem(Some("right")), None, "encrypted and no password"),
        (
            cert.pem(Some("right")),
            Some("wrong"),
            "could not be decrypted",
        ),
        (ec.pem(None), None, "only RSA keys are supported"),
        (b"garbage".to_vec(), None, "neither PEM nor PKCS#12"),
    ];
    for (bytes, password, expected) in cases {
        let options = ClientCertificateCredentialOptions {
            password: password.map(|p| Secret::new(p.to_owned())),
            ..Default::default()
        };
        let error = ClientCertificateCredential::new(
            "tenant".into(),
            "app".into(),
            SecretBytes::new(bytes),
            Some(options),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains(expected), "{expected}: {text}");
        assert!(
            text.contains("ClientCertificateCredential") && text.contains("#client-certificate"),
            "{text}"
        );
        assert!(
            !text.contains("right") && !text.contains("wrong"),
            "passwords are never shown: {text}"
        );
    }
    let missing = ClientCertificateCredential::from_file(
        "tenant".into(),
        "app".into(),
        "/nonexistent/app.pem",
        None,
    )
    .unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/app.pem"),
        "{missing}"
    );
}

#[test]
fn debug_shows_the_thumbprint_not_the_key() {
    let cert = TestCertificate::rsa();
    let credential = ClientCertificateCredential::new(
        "tenant".into(),
        "app".into(),
        SecretBytes::new(cert.pem(None)),
        None,
    )
    .unwrap();
    let shown = format!("{credential:?}");
    assert!(shown.contains("ClientCertificateCredential"), "{shown}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
}
