//! RSA signing keys and compact JWTs (RS256 and PS256), built on openssl.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use openssl::{
    hash::MessageDigest,
    pkey::{PKey, Private, Public},
    rsa::{Padding, Rsa},
    sign::{RsaPssSaltlen, Signer, Verifier},
    x509::X509,
};
use serde_json::{Map, Value, json};
use std::sync::{Arc, OnceLock};

/// An RSA key pair that signs tokens, published in a JWKS under `kid`.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    private: PKey<Private>,
    public: PKey<Public>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The token key and the federation key.
pub(crate) type KeyPair = (Arc<SigningKey>, Arc<SigningKey>);

/// The two keys every emulator uses: one for the access tokens it issues, one
/// for its built-in federation issuer (the stand-in for a Kubernetes or GitHub
/// OIDC issuer). RSA generation is slow, so a process makes them once.
pub(crate) fn process_keys() -> Result<KeyPair, String> {
    static KEYS: OnceLock<Result<KeyPair, String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        Ok((
            Arc::new(SigningKey::generate("emulator-token-key")?),
            Arc::new(SigningKey::generate("emulator-federation-key")?),
        ))
    })
    .clone()
}

impl SigningKey {
    fn generate(kid: &str) -> Result<Self, String> {
        let rsa = Rsa::generate(2048).map_err(|e| format!("cannot generate an RSA key: {e}"))?;
        let private = PKey::from_rsa(rsa).map_err(|e| e.to_string())?;
        let der = private.public_key_to_der().map_err(|e| e.to_string())?;
        let public = PKey::public_key_from_der(&der).map_err(|e| e.to_string())?;
        Ok(Self {
            kid: kid.to_owned(),
            private,
            public,
        })
    }

    /// Signs `claims` as an RS256 JWT.
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, String> {
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": self.kid });
        let signing_input = format!("{}.{}", encode_part(&header), encode_part(claims));
        let mut signer =
            Signer::new(MessageDigest::sha256(), &self.private).map_err(|e| e.to_string())?;
        signer
            .update(signing_input.as_bytes())
            .map_err(|e| e.to_string())?;
        let signature = signer.sign_to_vec().map_err(|e| e.to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The public half as a JWK.
    pub(crate) fn jwk(&self) -> Value {
        let (n, e) = match self.public.rsa() {
            Ok(rsa) => (
                URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
                URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
            ),
            Err(_) => (String::new(), String::new()),
        };
        json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": n, "e": e })
    }

    pub(crate) fn public_key(&self) -> &PKey<Public> {
        &self.public
    }
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A JWT split into its parts, signature not yet checked.
#[derive(Debug)]
pub(crate) struct UnverifiedJwt {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl UnverifiedJwt {
    pub(crate) fn parse(token: &str) -> Result<Self, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWT (three dot-separated parts)".into());
        };
        let decode_object = |part: &str, what: &str| -> Result<Map<String, Value>, String> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| format!("the {what} is not base64url"))?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(format!("the {what} is not a JSON object")),
            }
        };
        Ok(Self {
            header: decode_object(header, "header")?,
            claims: decode_object(claims, "payload")?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD
                .decode(signature)
                .map_err(|_| "the signature is not base64url".to_owned())?,
        })
    }

    pub(crate) fn algorithm(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub(crate) fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// Checks the signature with `key`; RS256 and PS256 are accepted.
    pub(crate) fn verify_signature(&self, key: &PKey<Public>) -> Result<(), String> {
        let pss = match self.algorithm() {
            "RS256" => false,
            "PS256" => true,
            other => {
                return Err(format!(
                    "algorithm '{other}' is not accepted (RS256 or PS256)"
                ));
            }
        };
        let check = || -> Result<bool, openssl::error::ErrorStack> {
            let mut verifier = Verifier::new(MessageDigest::sha256(), key)?;
            if pss {
                verifier.set_rsa_padding(Padding::PKCS1_PSS)?;
                verifier.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
            }
            verifier.update(self.signing_input.as_bytes())?;
            verifier.verify(&self.signature)
        };
        match check() {
            Ok(true) => Ok(()),
            _ => Err("the signature does not verify".into()),
        }
    }
}

/// A certificate's DER and its SHA-1 and SHA-256 digests.
pub(crate) struct Thumbprints {
    pub(crate) der: Vec<u8>,
    pub(crate) sha1: Vec<u8>,
    pub(crate) sha256: Vec<u8>,
}

/// The thumbprints of `pem` when it is a certificate (not a bare key).
pub(crate) fn certificate_thumbprints(pem: &[u8]) -> Option<Thumbprints> {
    let der = X509::from_pem(pem).ok()?.to_der().ok()?;
    let sha1 = openssl::hash::hash(MessageDigest::sha1(), &der)
        .ok()?
        .to_vec();
    let sha256 = openssl::hash::hash(MessageDigest::sha256(), &der)
        .ok()?
        .to_vec();
    Some(Thumbprints { der, sha1, sha256 })
}

/// Reads a public key from PEM: a certificate, a SubjectPublicKeyInfo or a PKCS#1 RSA key.
pub(crate) fn public_key_from_pem(pem: &[u8]) -> Result<PKey<Public>, String> {
    if let Ok(cert) = X509::from_pem(pem) {
        return cert.public_key().map_err(|e| e.to_string());
    }
    if let Ok(key) = PKey::public_key_from_pem(pem) {
        return Ok(key);
    }
    if let Ok(rsa) = Rsa::public_key_from_pem_pkcs1(pem) {
        return PKey::from_rsa(rsa).map_err(|e| e.to_string());
    }
    Err("not a PEM certificate or public key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let (key, other) = process_keys().unwrap();
        let token = key.sign(&json!({ "aud": "x", "exp": 1 })).unwrap();
        let parsed = UnverifiedJwt::parse(&token).unwrap();
        assert_eq!(parsed.claim_str("aud"), Some("x"));
        parsed.verify_signature(key.public_key()).unwrap();
        assert!(parsed.verify_signature(other.public_key()).is_err());

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"aud":"y","exp":1}"#);
        parts[1] = &forged;
        let tampered = UnverifiedJwt::parse(&parts.join(".")).unwrap();
        assert!(tampered.verify_signature(key.public_key()).is_err());
    }

    #[test]
    fn malformed_tokens_are_rejected_without_panicking() {
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            "e30.e30.!!",
            "W10.e30.AA",
        ] {
            assert!(UnverifiedJwt::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_keys_load_from_pem() {
        let (key, _) = process_keys().unwrap();
        let pem = key.public_key().public_key_to_pem().unwrap();
        assert!(
            public_key_from_pem(&pem)
                .unwrap()
                .public_eq(key.public_key())
        );
        assert!(public_key_from_pem(b"nonsense").is_err());
    }
}
