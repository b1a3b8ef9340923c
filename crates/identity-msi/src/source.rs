//! Which managed identity source this machine has, decided once from the
//! environment, in the order the other Azure SDKs use.

use crate::{NAME, UserAssignedId};
use identity_core::{CredentialError, Env, error::anchors};
use std::path::PathBuf;
use url::Url;

/// The IMDS address when nothing overrides it.
pub(crate) const IMDS_DEFAULT_HOST: &str = "http://169.254.169.254";
/// The Arc agent's local endpoint when only the agent's presence tells us.
const ARC_AGENT_ENDPOINT: &str = "http://127.0.0.1:40342/metadata/identity/oauth2/token";

/// A managed identity source with what it needs to send a request.
#[derive(Clone)]
pub(crate) enum Source {
    ServiceFabric {
        endpoint: Url,
        secret: String,
        thumbprint: [u8; 20],
    },
    AppService {
        endpoint: Url,
        secret: String,
    },
    Arc {
        endpoint: Url,
        token_directory: PathBuf,
    },
    AzureMl {
        endpoint: Url,
        secret: String,
    },
    CloudShell {
        endpoint: Url,
    },
    Imds {
        host: Url,
    },
}

// The secrets (identity header, MSI secret) are never printed.
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.name(), self.endpoint())
    }
}

impl Source {
    /// The source's name, for messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::ServiceFabric { .. } => "Service Fabric",
            Self::AppService { .. } => "App Service",
            Self::Arc { .. } => "Azure Arc",
            Self::AzureMl { .. } => "Azure ML",
            Self::CloudShell { .. } => "Cloud Shell",
            Self::Imds { .. } => "IMDS",
        }
    }

    /// The token endpoint.
    pub(crate) fn endpoint(&self) -> Url {
        match self {
            Self::ServiceFabric { endpoint, .. }
            | Self::AppService { endpoint, .. }
            | Self::Arc { endpoint, .. }
            | Self::AzureMl { endpoint, .. }
            | Self::CloudShell { endpoint } => endpoint.clone(),
            Self::Imds { host } => {
                let mut url = host.clone();
                url.set_path("/metadata/identity/oauth2/token");
                url
            }
        }
    }

    /// A secret the source sends, to keep out of errors.
    pub(crate) fn secret(&self) -> Option<&str> {
        match self {
            Self::ServiceFabric { secret, .. }
            | Self::AppService { secret, .. }
            | Self::AzureMl { secret, .. } => Some(secret),
            _ => None,
        }
    }

    /// Detects the source. `imds_host` is the option, which wins over
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    pub(crate) fn detect(
        env: &Env,
        imds_host: Option<&str>,
        arc_token_directory: Option<&PathBuf>,
    ) -> Result<Self, CredentialError> {
        let identity_endpoint = env.var("IDENTITY_ENDPOINT");
        let identity_header = env.var("IDENTITY_HEADER");
        let msi_endpoint = env.var("MSI_ENDPOINT");
        let arc_directory = || {
            arc_token_directory
                .cloned()
                .unwrap_or_else(|| default_arc_directory(env))
        };
        if let Some(endpoint) = &identity_endpoint {
            if let Some(secret) = &identity_header {
                if let Some(thumbprint) = env.var("IDENTITY_SERVER_THUMBPRINT") {
                    let endpoint = parse_endpoint("IDENTITY_ENDPOINT", endpoint)?;
                    if endpoint.scheme() != "https" {
                        return Err(invalid(
                            "IDENTITY_ENDPOINT must be an https URL for Service Fabric",
                        ));
                    }
                    return Ok(Self::ServiceFabric {
                        endpoint,
                        secret: secret.clone(),
                        thumbprint: parse_thumbprint(&thumbprint)?,
                    });
                }
                return Ok(Self::AppService {
                    endpoint: parse_endpoint("IDENTITY_ENDPOINT", endpoint)?,
                    secret: secret.clone(),
                });
            }
            if env.is_set("IMDS_ENDPOINT") {
                return Ok(Self::Arc {
                    endpoint: parse_endpoint("IDENTITY_ENDPOINT", endpoint)?,
                    token_directory: arc_directory(),
                });
            }
        }
        if let Some(endpoint) = &msi_endpoint {
            let endpoint = parse_endpoint("MSI_ENDPOINT", endpoint)?;
            return Ok(match env.var("MSI_SECRET") {
                Some(secret) => Self::AzureMl { endpoint, secret },
                None => Self::CloudShell { endpoint },
            });
        }
        if arc_agent_installed(env) {
            return Ok(Self::Arc {
                endpoint: parse_endpoint("the Arc agent endpoint", ARC_AGENT_ENDPOINT)?,
                token_directory: arc_directory(),
            });
        }
        let host = imds_host
            .map(str::to_owned)
            .or_else(|| env.var("AZURE_POD_IDENTITY_AUTHORITY_HOST"))
            .unwrap_or_else(|| IMDS_DEFAULT_HOST.to_owned());
        Ok(Self::Imds {
            host: parse_endpoint("the IMDS host", &host)?,
        })
    }

    /// Refuses a user-assigned id the source cannot honour, at construction,
    /// so the wrong identity is never used silently.
    pub(crate) fn check_user_assigned(
        &self,
        id: Option<&UserAssignedId>,
    ) -> Result<(), CredentialError> {
        let Some(id) = id else { return Ok(()) };
        let refuse = |why: &str| {
            Err(CredentialError::failed(NAME, format!("{} managed identity {why}", self.name()))
                .with_fix("remove user_assigned_id/client_id, or run where the identity can be selected")
                .with_anchor(anchors::MANAGED_IDENTITY))
        };
        match (self, id) {
            (Self::ServiceFabric { .. }, _) => refuse(
                "cannot select a user-assigned identity at runtime: it is configured on the cluster",
            ),
            (Self::CloudShell { .. }, _) => {
                refuse("supports only the signed-in user's identity, not a user-assigned one")
            }
            (Self::AzureMl { .. }, UserAssignedId::ObjectId(_) | UserAssignedId::ResourceId(_)) => {
                refuse("selects a user-assigned identity by client id only")
            }
            _ => Ok(()),
        }
    }
}

fn invalid(message: impl Into<String>) -> CredentialError {
    CredentialError::failed(NAME, message).with_anchor(anchors::MANAGED_IDENTITY)
}

fn parse_endpoint(name: &str, value: &str) -> Result<Url, CredentialError> {
    match Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(invalid(format!("{name} is not an http(s) URL: {value:?}"))
            .with_fix("check the managed identity environment variables this host sets")),
    }
}

/// `IDENTITY_SERVER_THUMBPRINT`: 40 hex digits, spaces and colons allowed.
fn parse_thumbprint(raw: &str) -> Result<[u8; 20], CredentialError> {
    let hex: Vec<u8> = raw.bytes().filter(|b| !matches!(b, b' ' | b':')).collect();
    let bad =
        || invalid("IDENTITY_SERVER_THUMBPRINT is not a SHA-1 thumbprint (40 hexadecimal digits)");
    if hex.len() != 40 {
        return Err(bad());
    }
    let mut out = [0u8; 20];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(text, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Where the Arc agent writes challenge key files.
fn default_arc_directory(env: &Env) -> PathBuf {
    if cfg!(windows) {
        let data = env
            .var("PROGRAMDATA")
            .unwrap_or_else(|| r"C:\ProgramData".into());
        PathBuf::from(data)
            .join("AzureConnectedMachineAgent")
            .join("Tokens")
    } else {
        PathBuf::from("/var/opt/azcmagent/tokens")
    }
}

/// Whether the Arc agent (`himds`) is installed on this machine.
fn arc_agent_installed(env: &Env) -> bool {
    let path = if cfg!(windows) {
        let files = env
            .var("ProgramFiles")
            .unwrap_or_else(|| r"C:\Program Files".into());
        PathBuf::from(files)
            .join("AzureConnectedMachineAgent")
            .join("himds.exe")
    } else {
        PathBuf::from("/opt/azcmagent/bin/himds")
    };
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(vars: &[(&str, &str)]) -> Result<Source, CredentialError> {
        Source::detect(&Env::from_vars(vars.iter().copied()), None, None)
    }

    #[test]
    fn sources_are_chosen_in_the_peers_order() {
        let sf = [
            (
                "IDENTITY_ENDPOINT",
                "https://127.0.0.1:2377/metadata/identity/oauth2/token",
            ),
            ("IDENTITY_HEADER", "h"),
            (
                "IDENTITY_SERVER_THUMBPRINT",
                "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01",
            ),
        ];
        assert_eq!(detect(&sf).unwrap().name(), "Service Fabric");
        assert_eq!(detect(&sf[..2]).unwrap().name(), "App Service");
        let arc = [
            (
                "IDENTITY_ENDPOINT",
                "http://localhost:40342/metadata/identity/oauth2/token",
            ),
            ("IMDS_ENDPOINT", "x"),
        ];
        assert_eq!(detect(&arc).unwrap().name(), "Azure Arc");
        let ml = [
            ("MSI_ENDPOINT", "http://127.0.0.1:1/msi"),
            ("MSI_SECRET", "s"),
        ];
        assert_eq!(detect(&ml).unwrap().name(), "Azure ML");
        assert_eq!(detect(&ml[..1]).unwrap().name(), "Cloud Shell");
        let imds = detect(&[("IDENTITY_ENDPOINT", "http://lonely")]).unwrap();
        assert_eq!(imds.name(), "IMDS");
        assert_eq!(
            imds.endpoint().as_str(),
            "http://169.254.169.254/metadata/identity/oauth2/token"
        );
        let pod =
            detect(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:8080")]).unwrap();
        assert_eq!(
            pod.endpoint().as_str(),
            "http://127.0.0.1:8080/metadata/identity/oauth2/token"
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_variable_named() {
        let mut sf = vec![
            ("IDENTITY_ENDPOINT", "https://127.0.0.1:2377/x"),
            ("IDENTITY_HEADER", "h"),
            ("IDENTITY_SERVER_THUMBPRINT", "not-hex"),
        ];
        assert!(
            detect(&sf)
                .unwrap_err()
                .message()
                .contains("IDENTITY_SERVER_THUMBPRINT")
        );
        sf[0].1 = "http://127.0.0.1:2377/x";
        sf[2].1 = "ABCDEF0123456789ABCDEF0123456789ABCDEF01";
        assert!(detect(&sf).unwrap_err().message().contains("https"));
        assert!(
            detect(&[("MSI_ENDPOINT", "not a url")])
                .unwrap_err()
                .message()
                .contains("MSI_ENDPOINT")
        );
    }

    #[test]
    fn debug_hides_the_identity_header() {
        let source = detect(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
            ("IDENTITY_HEADER", "TOPSECRET"),
        ])
        .unwrap();
        let shown = format!("{source:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(shown.contains("App Service"), "{shown}");
    }
}
