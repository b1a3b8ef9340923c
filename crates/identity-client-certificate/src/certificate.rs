//! Reading a certificate and its RSA private key from PKCS#12 or PEM.

use crate::NAME;
use identity_core::{CredentialError, error::anchors};
use openssl::{
    hash::MessageDigest,
    pkcs12::Pkcs12,
    pkey::{Id, PKey, Private},
    x509::X509,
};

/// The signing key and the certificates to name and (optionally) send.
pub(crate) struct Certificate {
    pub(crate) key: PKey<Private>,
    /// DER of the leaf, then the rest of the chain.
    pub(crate) chain_der: Vec<Vec<u8>>,
    pub(crate) sha1: Vec<u8>,
    pub(crate) sha256: Vec<u8>,
}

fn invalid(message: impl Into<String>) -> CredentialError {
    CredentialError::failed(NAME, message).with_anchor(anchors::CLIENT_CERTIFICATE)
}

impl Certificate {
    /// Parses PEM (certificate(s) and key in one file, the key optionally
    /// encrypted) or PKCS#12 (DER), with `password` when given.
    pub(crate) fn parse(bytes: &[u8], password: Option<&str>) -> Result<Self, CredentialError> {
        let text_start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0);
        let (key, leaf, rest) = if bytes
            .get(text_start..)
            .is_some_and(|b| b.starts_with(b"-----BEGIN"))
        {
            Self::from_pem(bytes, password)?
        } else {
            Self::from_pkcs12(bytes, password)?
        };
        if key.id() != Id::RSA {
            return Err(invalid(format!(
                "the certificate's private key is {}; only RSA keys are supported",
                key_kind(key.id())
            ))
            .with_fix("use an RSA certificate (Entra ID app certificates are RSA)"));
        }
        let leaf_der = leaf
            .to_der()
            .map_err(|e| invalid(format!("the certificate cannot be encoded: {e}")))?;
        let digest = |md| openssl::hash::hash(md, &leaf_der).map(|d| d.to_vec());
        let sha1 = digest(MessageDigest::sha1()).map_err(|e| invalid(e.to_string()))?;
        let sha256 = digest(MessageDigest::sha256()).map_err(|e| invalid(e.to_string()))?;
        let mut chain_der = vec![leaf_der];
        for cert in rest {
            chain_der.push(
                cert.to_der()
                    .map_err(|e| invalid(format!("a chain certificate cannot be encoded: {e}")))?,
            );
        }
        Ok(Self {
            key,
            chain_der,
            sha1,
            sha256,
        })
    }

    fn from_pem(
        bytes: &[u8],
        password: Option<&str>,
    ) -> Result<(PKey<Private>, X509, Vec<X509>), CredentialError> {
        let certificates = X509::stack_from_pem(bytes).unwrap_or_default();
        if certificates.is_empty() {
            return Err(invalid("the PEM holds no CERTIFICATE block").with_fix(
                "put the certificate and its private key in one PEM file (both blocks)",
            ));
        }
        let encrypted = String::from_utf8_lossy(bytes).contains("ENCRYPTED");
        let key = match password {
            Some(password) => PKey::private_key_from_pem_passphrase(bytes, password.as_bytes()),
            // Never let openssl prompt on a terminal for a missing password.
            None => PKey::private_key_from_pem_callback(bytes, |_| Ok(0)),
        }
        .map_err(|_| match (encrypted, password.is_some()) {
            (true, false) => invalid(
                "the PEM's private key is encrypted and no password was given",
            )
            .with_fix("pass the key's password in ClientCertificateCredentialOptions.password"),
            (true, true) => {
                invalid("the PEM's private key could not be decrypted with the given password")
                    .with_fix("check the password")
            }
            _ => invalid("the PEM holds no readable PRIVATE KEY block")
                .with_fix("put the certificate and its private key in one PEM file (both blocks)"),
        })?;
        // The leaf is the certificate for this key; the others are its chain.
        let mut leaf = None;
        let mut rest = Vec::new();
        for cert in certificates {
            let matches = cert.public_key().is_ok_and(|public| public.public_eq(&key));
            if matches && leaf.is_none() {
                leaf = Some(cert);
            } else {
                rest.push(cert);
            }
        }
        let leaf =
            leaf.ok_or_else(|| invalid("no certificate in the PEM matches its private key"))?;
        Ok((key, leaf, rest))
    }

    fn from_pkcs12(
        bytes: &[u8],
        password: Option<&str>,
    ) -> Result<(PKey<Private>, X509, Vec<X509>), CredentialError> {
        let archive = Pkcs12::from_der(bytes).map_err(|_| {
            invalid("the certificate is neither PEM nor PKCS#12 (.pfx/.p12)")
                .with_fix("pass the bytes of a .pem file (certificate and key) or a .pfx/.p12 file")
        })?;
        let parsed = archive.parse2(password.unwrap_or("")).map_err(|_| {
            invalid(if password.is_some() {
                "the PKCS#12 could not be opened with the given password"
            } else {
                "the PKCS#12 could not be opened without a password"
            })
            .with_fix("check ClientCertificateCredentialOptions.password")
        })?;
        let key = parsed
            .pkey
            .ok_or_else(|| invalid("the PKCS#12 holds no private key"))?;
        let leaf = parsed
            .cert
            .ok_or_else(|| invalid("the PKCS#12 holds no certificate"))?;
        let rest = parsed
            .ca
            .map(|stack| stack.into_iter().collect())
            .unwrap_or_default();
        Ok((key, leaf, rest))
    }
}

fn key_kind(id: Id) -> &'static str {
    match id {
        Id::EC => "an EC key",
        Id::ED25519 | Id::ED448 => "an EdDSA key",
        Id::DSA => "a DSA key",
        _ => "not an RSA key",
    }
}
