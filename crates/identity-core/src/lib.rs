#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod assertion;
pub mod authority;
pub mod cache;
pub mod challenge;
pub mod clock;
pub mod entra;
pub mod env;
pub mod error;
pub mod file;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod json;
pub mod platform;
#[cfg(feature = "process")]
pub mod process;
pub mod request;
pub mod scopes;
pub mod text;
#[cfg(feature = "rustls_ring")]
mod tls;

pub use assertion::ClientAssertion;
pub use azure_core::credentials::{
    AccessToken, Secret, SecretBytes, TokenCredential, TokenRequestOptions,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use env::Env;
pub use error::{CredentialError, FailureKind, is_unavailable};
pub use platform::Platform;
pub use request::{AllowedTenants, TokenRequestExtras};
