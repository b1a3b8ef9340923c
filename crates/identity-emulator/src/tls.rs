//! The Service Fabric endpoint's TLS: a self-signed certificate made at start,
//! which clients must pin by its SHA-1 thumbprint, as Service Fabric's are.

use openssl::{
    asn1::Asn1Time,
    bn::{BigNum, MsbOption},
    ec::{EcGroup, EcKey},
    hash::MessageDigest,
    nid::Nid,
    pkey::PKey,
    x509::{X509, X509NameBuilder, extension::SubjectAlternativeName},
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// A TLS acceptor for a fresh self-signed certificate, and that certificate's
/// SHA-1 thumbprint (upper-case hex, as `IDENTITY_SERVER_THUMBPRINT` carries it).
pub(crate) struct SelfSigned {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) thumbprint: String,
    /// The certificate, PEM: what a client given it as its only root trusts.
    pub(crate) pem: Vec<u8>,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

pub(crate) fn self_signed() -> Result<SelfSigned, String> {
    let (cert_der, key_der) =
        certificate().map_err(|e| format!("cannot make the Service Fabric certificate: {e}"))?;
    let pem = X509::from_der(&cert_der)
        .and_then(|c| c.to_pem())
        .map_err(|e| e.to_string())?;
    let thumbprint = openssl::hash::hash(MessageDigest::sha1(), &cert_der)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )
        .map_err(|e| e.to_string())?;
    Ok(SelfSigned {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        thumbprint,
        pem,
    })
}

/// A P-256 key and a one-day certificate for `localhost`/127.0.0.1, as DER.
fn certificate() -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, "identity-emulator service fabric")?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(1)?);
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .dns(crate::TLS_SERVER_NAME)
        .ip("127.0.0.1")
        .build(&builder.x509v3_context(None, None))?;
    builder.append_extension(san)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok((builder.build().to_der()?, key.private_key_to_pkcs8()?))
}

/// A self-signed RSA certificate and its key, both PEM, for an app that
/// authenticates with a certificate.
pub(crate) fn rsa_app_certificate(
    common_name: &str,
) -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    let name = name.build();
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(30)?);
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok((builder.build().to_pem()?, key.private_key_to_pem_pkcs8()?))
}
