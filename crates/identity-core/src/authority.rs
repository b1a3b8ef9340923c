//! Which Entra ID authority a credential talks to, and the tenant ids it accepts.

use crate::{CredentialError, Env, error::anchors};
use azure_core::{cloud::CloudConfiguration, http::Url};
use std::net::IpAddr;

/// The environment variable that overrides the authority host.
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

/// The public cloud's authority host.
pub const PUBLIC_CLOUD: &str = "https://login.microsoftonline.com";
/// Azure US Government's authority host.
pub const US_GOVERNMENT: &str = "https://login.microsoftonline.us";
/// Azure operated by 21Vianet (China)'s authority host.
pub const CHINA: &str = "https://login.chinacloudapi.cn";

/// An Entra ID authority host, checked and normalised (a path such as an ADFS
/// `/adfs` prefix is kept; it always ends in `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    host: Url,
}

impl Authority {
    /// Resolves the authority: `cloud` when given, else `AZURE_AUTHORITY_HOST`,
    /// else the public cloud. Requires https, except for loopback hosts (a local
    /// emulator over plain http).
    pub fn resolve(
        credential: &'static str,
        cloud: Option<&CloudConfiguration>,
        env: &Env,
    ) -> Result<Self, CredentialError> {
        let (raw, origin) = match cloud {
            Some(CloudConfiguration::AzurePublic) => {
                (PUBLIC_CLOUD.to_owned(), "ClientOptions.cloud")
            }
            Some(CloudConfiguration::AzureGovernment) => {
                (US_GOVERNMENT.to_owned(), "ClientOptions.cloud")
            }
            Some(CloudConfiguration::AzureChina) => (CHINA.to_owned(), "ClientOptions.cloud"),
            Some(CloudConfiguration::Custom(custom)) => (
                custom.authority_host.clone(),
                "ClientOptions.cloud (custom authority_host)",
            ),
            Some(_) => {
                return Err(CredentialError::failed(
                    credential,
                    "ClientOptions.cloud names a cloud this version does not know",
                )
                .with_fix("use CloudConfiguration::Custom with the cloud's authority_host")
                .with_anchor(anchors::AUTHORITY));
            }
            None => match env.var(AZURE_AUTHORITY_HOST) {
                Some(host) => (host, AZURE_AUTHORITY_HOST),
                None => (PUBLIC_CLOUD.to_owned(), "the default"),
            },
        };
        Self::parse(&raw).map_err(|why| {
            CredentialError::failed(
                credential,
                format!("the authority host {raw:?} from {origin} is not usable: {why}"),
            )
            .with_fix(
                "set an https URL such as https://login.microsoftonline.com \
                 (plain http is accepted only for loopback hosts)",
            )
            .with_anchor(anchors::AUTHORITY)
        })
    }

    /// Parses and checks an authority host URL.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut host = Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
        if host.host_str().is_none_or(str::is_empty) {
            return Err("it has no host".into());
        }
        match host.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err("it uses http; Entra ID requires https".into()),
            other => return Err(format!("unsupported scheme {other:?}")),
        }
        if !host.username().is_empty() || host.password().is_some() {
            return Err("it contains credentials".into());
        }
        if host.query().is_some() || host.fragment().is_some() {
            return Err("it has a query or fragment".into());
        }
        if !host.path().ends_with('/') {
            let path = format!("{}/", host.path());
            host.set_path(&path);
        }
        Ok(Self { host })
    }

    /// The authority host URL (ends in `/`).
    pub fn host(&self) -> &Url {
        &self.host
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`; ADFS (`tenant` = `adfs`) uses
    /// `{authority}/adfs/oauth2/token`. `tenant` must have passed [`validate_tenant_id`].
    pub fn token_endpoint(&self, tenant: &str) -> Url {
        let mut url = self.host.clone();
        let base = self.host.path().trim_end_matches('/');
        let path = if tenant.eq_ignore_ascii_case("adfs") {
            if base.ends_with("/adfs") {
                format!("{base}/oauth2/token")
            } else {
                format!("{base}/adfs/oauth2/token")
            }
        } else {
            format!("{base}/{tenant}/oauth2/v2.0/token")
        };
        url.set_path(&path);
        url
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Checks a tenant id: non-empty, at most 256 characters of ASCII letters,
/// digits, `-` and `.` (GUIDs, `contoso.onmicrosoft.com`, `organizations`, `adfs`).
pub fn validate_tenant_id(credential: &'static str, tenant: &str) -> Result<(), CredentialError> {
    let why = if tenant.is_empty() {
        Some("the tenant id is empty".to_owned())
    } else if tenant.len() > 256 {
        Some("the tenant id is longer than 256 characters".to_owned())
    } else {
        tenant
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
            .map(|c| format!("the tenant id {tenant:?} contains {c:?}"))
    };
    match why {
        None => Ok(()),
        Some(why) => Err(CredentialError::failed(credential, why)
            .with_fix(
                "use the directory (tenant) id GUID or a verified domain such as contoso.onmicrosoft.com; \
                 only letters, digits, '-' and '.' are allowed",
            )
            .with_anchor(anchors::INVALID_INPUT)),
    }
}

/// Checks a value that must not be empty (client id, secret, ...). `what` names it.
pub fn validate_not_empty(
    credential: &'static str,
    what: &str,
    value: &str,
) -> Result<(), CredentialError> {
    if value.trim().is_empty() {
        Err(
            CredentialError::failed(credential, format!("{what} is empty"))
                .with_fix(format!("pass a non-empty {what}"))
                .with_anchor(anchors::INVALID_INPUT),
        )
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::cloud::CustomConfiguration;

    const NAME: &str = "TestCredential";

    #[test]
    fn default_is_public_cloud() {
        let a =
            Authority::resolve(NAME, None, &Env::from_vars::<[(&str, &str); 0], _, _>([])).unwrap();
        assert_eq!(
            a.token_endpoint("t1").as_str(),
            "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
        );
    }

    #[test]
    fn cloud_wins_over_environment() {
        let env = Env::from_vars([(AZURE_AUTHORITY_HOST, "https://login.example.test")]);
        let a = Authority::resolve(NAME, Some(&CloudConfiguration::AzureChina), &env).unwrap();
        assert_eq!(a.host().as_str(), "https://login.chinacloudapi.cn/");
        let a = Authority::resolve(NAME, None, &env).unwrap();
        assert_eq!(a.host().as_str(), "https://login.example.test/");
        let a = Authority::resolve(NAME, Some(&CloudConfiguration::AzureGovernment), &env).unwrap();
        assert_eq!(a.host().as_str(), "https://login.microsoftonline.us/");
        let mut custom = CustomConfiguration::default();
        custom.authority_host = "https://login.mycloud.local".into();
        let a = Authority::resolve(NAME, Some(&custom.into()), &env).unwrap();
        assert_eq!(a.host().as_str(), "https://login.mycloud.local/");
    }

    #[test]
    fn http_only_for_loopback() {
        assert!(Authority::parse("http://127.0.0.1:8080").is_ok());
        assert!(Authority::parse("http://127.9.9.9").is_ok());
        assert!(Authority::parse("http://localhost:1").is_ok());
        assert!(Authority::parse("http://[::1]:1").is_ok());
        let err = Authority::parse("http://login.microsoftonline.com").unwrap_err();
        assert!(err.contains("https"), "{err}");
        assert!(Authority::parse("ftp://x").is_err());
        assert!(Authority::parse("not a url").is_err());
        assert!(Authority::parse("https://user:pw@host").is_err());
    }

    #[test]
    fn error_names_origin_and_fix() {
        let env = Env::from_vars([(AZURE_AUTHORITY_HOST, "http://login.example.test")]);
        let err = Authority::resolve(NAME, None, &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("AZURE_AUTHORITY_HOST"), "{err}");
        assert!(err.contains("#authority-host"), "{err}");
    }

    #[test]
    fn authority_paths_are_kept() {
        let a = Authority::parse("https://adfs.contoso.com/adfs").unwrap();
        assert_eq!(
            a.token_endpoint("adfs").as_str(),
            "https://adfs.contoso.com/adfs/oauth2/token"
        );
        let a = Authority::parse("https://host/prefix/").unwrap();
        assert_eq!(
            a.token_endpoint("t").as_str(),
            "https://host/prefix/t/oauth2/v2.0/token"
        );
    }

    #[test]
    fn tenant_ids() {
        for ok in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "contoso.onmicrosoft.com",
            "organizations",
        ] {
            validate_tenant_id(NAME, ok).unwrap();
        }
        for bad in [
            "",
            "a/b",
            "a b",
            "../x",
            "t?x=1",
            "ten%41nt",
            &"a".repeat(300),
        ] {
            let e = validate_tenant_id(NAME, bad).unwrap_err();
            assert_eq!(e.anchor(), anchors::INVALID_INPUT);
        }
    }
}
