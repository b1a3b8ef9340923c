#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod discovery;
mod emulator;
mod entra;
mod faults;
mod jwt;
mod log;
pub mod loopback;
mod msi;
mod pipelines;
mod reply;
mod resource;
mod server;
mod state;
mod tls;

pub use emulator::{Emulator, EmulatorConfig};
pub use faults::{Fault, FaultTarget};
pub use log::LoggedRequest;
pub use msi::{MANAGED_IDENTITY_SECRET, ManagedIdentity};
pub use pipelines::{PIPELINES_ACCESS_TOKEN, pipelines_subject};
pub use state::AssertionTrust;

/// A host name the emulator's https listener has a certificate for, to test
/// clients that connect to 127.0.0.1 but verify another name (SNI).
pub const TLS_SERVER_NAME: &str = "identity-proxy.emulator.test";

/// The tenant every emulator starts with.
pub const DEFAULT_TENANT: &str = "5e3b8f0a-7c11-4d2e-9a6b-0e1f2d3c4b5a";
/// The app registered in [`DEFAULT_TENANT`] at start.
pub const DEFAULT_CLIENT_ID: &str = "0d1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6";
/// The client secret of [`DEFAULT_CLIENT_ID`]. Not a secret: a fixed test value.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret~not-a-real-credential";

/// The claims of an access token the emulator issued.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// Audience: the resource from the requested `{resource}/.default` scope.
    pub aud: String,
    /// Issuer: `https://sts.windows.net/{tenant}/`.
    pub iss: String,
    /// Tenant id.
    pub tid: String,
    /// Object id of the app's service principal.
    pub oid: String,
    /// Subject (the service principal for app tokens).
    pub sub: String,
    /// The client id the token was issued to.
    pub appid: String,
    /// How the app authenticated: `1` secret, `2` assertion or certificate.
    pub appidacr: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Not before, seconds since the Unix epoch.
    pub nbf: i64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Token format version.
    pub ver: String,
    /// Client capabilities, set when the request carried `claims` (CAE).
    #[serde(default)]
    pub xms_cc: Option<Vec<String>>,
}
