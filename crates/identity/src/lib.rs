#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use identity_core::{
    AccessToken, ClientAssertion, Clock, CredentialError, Env, FailureKind, ManualClock, Platform,
    Secret, SecretBytes, SystemClock, TokenCredential, TokenRequestOptions, is_unavailable,
};

/// Errors: [`CredentialError`], troubleshooting anchors, helpers.
pub mod error {
    pub use identity_core::error::*;
}

#[cfg(feature = "client-secret")]
pub use identity_client_secret::{ClientSecretCredential, ClientSecretCredentialOptions};

#[cfg(feature = "client-assertion")]
pub use identity_client_assertion::{ClientAssertionCredential, ClientAssertionCredentialOptions};

#[cfg(feature = "managed-identity")]
pub use identity_msi::{
    ImdsRetryOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};

#[cfg(feature = "client-certificate")]
pub use identity_client_certificate::{
    AssertionAlgorithm, ClientCertificateCredential, ClientCertificateCredentialOptions,
};

#[cfg(feature = "workload-identity")]
pub use identity_workload::{WorkloadIdentityCredential, WorkloadIdentityCredentialOptions};

#[cfg(feature = "azure-pipelines")]
pub use identity_pipelines::{AzurePipelinesCredential, AzurePipelinesCredentialOptions};
