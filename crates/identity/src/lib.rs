#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Claims challenges (CAE) with azure_core's bearer-token policy.
pub mod challenge {
    pub use identity_core::challenge::{ClaimsChallenge, challenge_claims};
}

pub use identity_core::{
    AccessToken, ClientAssertion, Clock, CredentialError, Env, FailureKind, ManualClock, Platform,
    Secret, SecretBytes, SystemClock, TokenCredential, TokenRequestExtras, TokenRequestOptions,
    is_unavailable,
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

#[cfg(feature = "azure-cli")]
pub use identity_azure_cli::{AzureCliCredential, AzureCliCredentialOptions};

#[cfg(feature = "azd")]
pub use identity_azd::{AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions};

#[cfg(feature = "developer-tools")]
pub use identity_developer_tools::{DeveloperToolsCredential, DeveloperToolsCredentialOptions};

/// Running developer tools: the [`Executor`] trait to
/// substitute, and the default one.
#[cfg(any(feature = "azure-cli", feature = "azd"))]
pub mod process {
    pub use identity_core::process::{
        Executor, ProcessError, ProcessOutput, ProcessRequest, TokioExecutor, find_program,
        new_executor,
    };
}

/// Where the official crate puts them: `azure_identity::{Executor, new_executor}`.
#[cfg(any(feature = "azure-cli", feature = "azd"))]
pub use identity_core::process::{Executor, new_executor};

#[cfg(feature = "chain")]
pub use identity_chain::{ChainedTokenCredential, ChainedTokenCredentialOptions, LinkOutcome};

#[cfg(feature = "environment")]
pub use identity_environment::{EnvironmentCredential, EnvironmentCredentialOptions};

#[cfg(feature = "default-credential")]
pub use identity_default::{
    AZURE_TOKEN_CREDENTIALS, DefaultAzureCredential, DefaultAzureCredentialOptions,
};
