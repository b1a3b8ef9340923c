//! Which links the chain holds: the options' exclusions and
//! `AZURE_TOKEN_CREDENTIALS` (`dev`, `prod`, or one credential's name).

use crate::{DefaultAzureCredentialOptions, NAME};
use identity_core::{CredentialError, error::anchors};

/// The variable that narrows the chain.
pub const AZURE_TOKEN_CREDENTIALS: &str = "AZURE_TOKEN_CREDENTIALS";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    Environment,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
    AzureDeveloperCli,
}

const ORDER: [Link; 5] = [
    Link::Environment,
    Link::WorkloadIdentity,
    Link::ManagedIdentity,
    Link::AzureCli,
    Link::AzureDeveloperCli,
];

impl Link {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Environment => "EnvironmentCredential",
            Self::WorkloadIdentity => "WorkloadIdentityCredential",
            Self::ManagedIdentity => "ManagedIdentityCredential",
            Self::AzureCli => "AzureCliCredential",
            Self::AzureDeveloperCli => "AzureDeveloperCliCredential",
        }
    }

    fn production(self) -> bool {
        matches!(
            self,
            Self::Environment | Self::WorkloadIdentity | Self::ManagedIdentity
        )
    }
}

#[derive(Clone, Debug)]
enum Narrowed {
    All,
    Dev,
    Prod,
    One(Link),
}

/// The chain's links, and why the others are not in it.
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    narrowed: Narrowed,
    raw: Option<String>,
    included: Vec<Link>,
    left_out: Vec<(Link, &'static str)>,
}

impl Selection {
    pub(crate) fn decide(options: &DefaultAzureCredentialOptions) -> Result<Self, CredentialError> {
        let raw = options.platform.env.var(AZURE_TOKEN_CREDENTIALS);
        let narrowed = match raw.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
            None if options.require_azure_token_credentials => {
                return Err(CredentialError::failed(
                    NAME,
                    format!("{AZURE_TOKEN_CREDENTIALS} is required here and not set"),
                )
                .with_fix(format!(
                    "set {AZURE_TOKEN_CREDENTIALS} to {}",
                    valid_values()
                ))
                .with_anchor(anchors::DEFAULT));
            }
            None => Narrowed::All,
            Some(value) if value == "dev" => Narrowed::Dev,
            Some(value) if value == "prod" => Narrowed::Prod,
            Some(value) => match ORDER
                .iter()
                .find(|link| link.name().eq_ignore_ascii_case(&value))
            {
                Some(link) => Narrowed::One(*link),
                None => {
                    return Err(CredentialError::failed(
                        NAME,
                        format!(
                            "{AZURE_TOKEN_CREDENTIALS}={:?} is not a valid value",
                            raw.as_deref().unwrap_or_default()
                        ),
                    )
                    .with_fix(format!("use one of: {}", valid_values()))
                    .with_anchor(anchors::DEFAULT));
                }
            },
        };
        let mut included = Vec::new();
        let mut left_out = Vec::new();
        for link in ORDER {
            let excluded = match link {
                Link::Environment => options.exclude_environment_credential,
                Link::WorkloadIdentity => options.exclude_workload_identity_credential,
                Link::ManagedIdentity => options.exclude_managed_identity_credential,
                Link::AzureCli => options.exclude_azure_cli_credential,
                Link::AzureDeveloperCli => options.exclude_azure_developer_cli_credential,
            };
            let by_variable = match narrowed {
                Narrowed::All => None,
                Narrowed::Dev if link.production() => Some("AZURE_TOKEN_CREDENTIALS=dev"),
                Narrowed::Prod if !link.production() => Some("AZURE_TOKEN_CREDENTIALS=prod"),
                Narrowed::One(one) if one != link => {
                    Some("AZURE_TOKEN_CREDENTIALS names another credential")
                }
                _ => None,
            };
            // The options' exclusions win over the variable.
            match (excluded, by_variable) {
                (true, _) => left_out.push((link, "excluded by the options")),
                (false, Some(why)) => left_out.push((link, why)),
                (false, None) => included.push(link),
            }
        }
        if included.is_empty() {
            return Err(
                CredentialError::failed(NAME, "every credential is excluded")
                    .with_fix(format!(
                        "check the exclude_* options against {AZURE_TOKEN_CREDENTIALS}"
                    ))
                    .with_anchor(anchors::DEFAULT),
            );
        }
        Ok(Self {
            narrowed,
            raw,
            included,
            left_out,
        })
    }

    pub(crate) fn included(&self) -> Vec<Link> {
        self.included.clone()
    }

    pub(crate) fn left_out(&self) -> &[(Link, &'static str)] {
        &self.left_out
    }

    /// Whether the variable named exactly this link.
    pub(crate) fn named(&self, link: Link) -> bool {
        matches!(self.narrowed, Narrowed::One(one) if one == link)
    }

    pub(crate) fn describe(&self) -> String {
        match &self.raw {
            None => format!("{AZURE_TOKEN_CREDENTIALS} not set"),
            Some(raw) => format!("{AZURE_TOKEN_CREDENTIALS}={raw}"),
        }
    }
}

fn valid_values() -> String {
    let mut values = vec!["dev", "prod"];
    values.extend(ORDER.iter().map(|l| l.name()));
    values.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use identity_core::{Env, Platform};

    fn decide(
        value: Option<&str>,
        options: DefaultAzureCredentialOptions,
    ) -> Result<Vec<&'static str>, String> {
        let vars: Vec<(&str, &str)> = value
            .map(|v| vec![(AZURE_TOKEN_CREDENTIALS, v)])
            .unwrap_or_default();
        let options = DefaultAzureCredentialOptions {
            platform: Platform::with_env(Env::from_vars(vars)),
            ..options
        };
        Selection::decide(&options)
            .map(|s| s.included().iter().map(|l| l.name()).collect())
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn the_variable_narrows_the_chain() {
        assert_eq!(decide(None, Default::default()).unwrap().len(), 5);
        assert_eq!(
            decide(Some("dev"), Default::default()).unwrap(),
            ["AzureCliCredential", "AzureDeveloperCliCredential"]
        );
        assert_eq!(
            decide(Some(" PROD "), Default::default()).unwrap(),
            [
                "EnvironmentCredential",
                "WorkloadIdentityCredential",
                "ManagedIdentityCredential"
            ]
        );
        assert_eq!(
            decide(Some("managedidentitycredential"), Default::default()).unwrap(),
            ["ManagedIdentityCredential"]
        );
        let invalid = decide(Some("laptop"), Default::default()).unwrap_err();
        assert!(
            invalid.contains("\"laptop\" is not a valid value"),
            "{invalid}"
        );
        let required = decide(
            None,
            DefaultAzureCredentialOptions {
                require_azure_token_credentials: true,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(required.contains("required"), "{required}");
    }

    #[test]
    fn exclusions_win_over_the_variable() {
        let options = DefaultAzureCredentialOptions {
            exclude_azure_cli_credential: true,
            ..Default::default()
        };
        assert_eq!(
            decide(Some("dev"), options).unwrap(),
            ["AzureDeveloperCliCredential"]
        );
        let none = DefaultAzureCredentialOptions {
            exclude_azure_cli_credential: true,
            exclude_azure_developer_cli_credential: true,
            ..Default::default()
        };
        assert!(
            decide(Some("dev"), none)
                .unwrap_err()
                .contains("every credential is excluded")
        );
    }
}
