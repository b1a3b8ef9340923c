//! The AKS identity-binding token proxy: token requests go to
//! `AZURE_KUBERNETES_TOKEN_PROXY` instead of the authority, over TLS trusted
//! through `AZURE_KUBERNETES_CA_FILE` or `_CA_DATA`, optionally presenting
//! `AZURE_KUBERNETES_SNI_NAME` as the server name. Opt-in (`enable_proxy`).

use crate::NAME;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, Url, headers::HeaderName};
use identity_core::{CredentialError, Env, error::anchors};
use std::{
    net::{SocketAddr, ToSocketAddrs},
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

const PROXY: &str = "AZURE_KUBERNETES_TOKEN_PROXY";
const SNI: &str = "AZURE_KUBERNETES_SNI_NAME";
const CA_FILE: &str = "AZURE_KUBERNETES_CA_FILE";
const CA_DATA: &str = "AZURE_KUBERNETES_CA_DATA";

fn invalid(message: String) -> CredentialError {
    CredentialError::failed(NAME, message)
        .with_fix("check the AZURE_KUBERNETES_* variables the identity binding sets")
        .with_anchor(anchors::WORKLOAD_IDENTITY)
}

#[derive(Clone, Debug)]
enum Trust {
    System,
    Data(Vec<u8>),
    /// Re-read on every request: the cluster rotates it.
    File(PathBuf),
}

/// Sends every request to the proxy, the original path and query appended.
#[derive(Debug)]
pub(crate) struct TokenProxy {
    proxy: Url,
    sni: Option<(String, Vec<SocketAddr>)>,
    trust: Trust,
    /// The CA bytes the current client trusts, and the client.
    client: Mutex<(Vec<u8>, reqwest::Client)>,
}

impl TokenProxy {
    /// The proxy the environment describes, or `None` when no proxy is set.
    pub(crate) fn from_env(env: &Env) -> Result<Option<Arc<Self>>, CredentialError> {
        let sni = env.var(SNI);
        let ca_file = env.var(CA_FILE);
        let ca_data = env.var(CA_DATA);
        let Some(raw) = env.var(PROXY) else {
            if let Some(name) = [(SNI, &sni), (CA_FILE, &ca_file), (CA_DATA, &ca_data)]
                .iter()
                .find_map(|(n, v)| v.as_ref().map(|_| *n))
            {
                return Err(invalid(format!("{name} is set but {PROXY} is not")));
            }
            return Ok(None);
        };
        let proxy =
            Url::parse(&raw).map_err(|_| invalid(format!("{PROXY} is not a URL: {raw:?}")))?;
        if proxy.scheme() != "https" || proxy.host().is_none() {
            return Err(invalid(format!(
                "{PROXY} must be an https URL with a host: {raw:?}"
            )));
        }
        if !proxy.username().is_empty()
            || proxy.password().is_some()
            || proxy.query().is_some()
            || proxy.fragment().is_some()
        {
            return Err(invalid(format!(
                "{PROXY} must not carry credentials, a query or a fragment"
            )));
        }
        let trust = match (ca_file, ca_data) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!("set {CA_FILE} or {CA_DATA}, not both")));
            }
            (Some(file), None) => Trust::File(PathBuf::from(file)),
            (None, Some(data)) => Trust::Data(data.into_bytes()),
            (None, None) => Trust::System,
        };
        let sni = match sni {
            None => None,
            Some(name) => {
                let port = proxy.port_or_known_default().unwrap_or(443);
                let host = proxy
                    .host_str()
                    .unwrap_or_default()
                    .trim_matches(['[', ']'])
                    .to_owned();
                // Once, at construction: the proxy's address for the SNI name.
                let addresses: Vec<SocketAddr> = (host.as_str(), port)
                    .to_socket_addrs()
                    .map_err(|e| invalid(format!("cannot resolve the token proxy {host}: {e}")))?
                    .collect();
                Some((name, addresses))
            }
        };
        let ca = match &trust {
            Trust::System => Vec::new(),
            Trust::Data(data) => data.clone(),
            Trust::File(path) => std::fs::read(path)
                .map_err(|e| invalid(format!("cannot read {CA_FILE} {}: {e}", path.display())))?,
        };
        let client = build(&ca, &trust, sni.as_ref())?;
        Ok(Some(Arc::new(Self {
            proxy,
            sni,
            trust,
            client: Mutex::new((ca, client)),
        })))
    }

    /// The client for this request: rebuilt when the CA file changed (an
    /// empty or unreadable file keeps the last good one).
    fn client(&self) -> Result<reqwest::Client, CredentialError> {
        let mut current = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Trust::File(path) = &self.trust
            && let Ok(ca) = std::fs::read(path)
            && !ca.is_empty()
            && ca != current.0
        {
            let client = build(&ca, &self.trust, self.sni.as_ref())?;
            *current = (ca, client);
        }
        Ok(current.1.clone())
    }

    /// `proxy` + `/` + the request's path and query; with SNI, the host is
    /// the SNI name (resolved to the proxy's address).
    fn rewrite(&self, url: &Url) -> Result<Url, CredentialError> {
        let base = self.proxy.path().trim_end_matches('/');
        let mut target = self.proxy.clone();
        target.set_path(&format!("{base}/{}", url.path().trim_start_matches('/')));
        target.set_query(url.query());
        if let Some((name, _)) = &self.sni {
            target
                .set_host(Some(name))
                .map_err(|_| invalid(format!("{SNI} is not a host name: {name:?}")))?;
        }
        Ok(target)
    }
}

fn build(
    ca: &[u8],
    trust: &Trust,
    sni: Option<&(String, Vec<SocketAddr>)>,
) -> Result<reqwest::Client, CredentialError> {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10));
    if !matches!(trust, Trust::System) {
        let roots = reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|e| invalid(format!("the token proxy's CA is not PEM: {e}")))?;
        if roots.is_empty() {
            return Err(invalid("the token proxy's CA holds no certificate".into()));
        }
        builder = builder.tls_certs_only(roots);
    }
    if let Some((name, addresses)) = sni {
        builder = builder.resolve_to_addrs(name, addresses);
    }
    builder
        .build()
        .map_err(|e| invalid(format!("cannot build the token proxy client: {e}")))
}

#[async_trait::async_trait]
impl HttpClient for TokenProxy {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut proxied = request.clone();
        *proxied.url_mut() = self
            .rewrite(request.url())
            .map_err(CredentialError::into_azure_error)?;
        if self.sni.is_some() {
            // The proxy still gets its own address as the Host.
            let authority = match self.proxy.port() {
                Some(port) => format!("{}:{port}", self.proxy.host_str().unwrap_or_default()),
                None => self.proxy.host_str().unwrap_or_default().to_owned(),
            };
            proxied.insert_header(HeaderName::from_static("host"), authority);
        }
        let client = self.client().map_err(CredentialError::into_azure_error)?;
        client
            .execute_request(&proxied)
            .await
            .map_err(identity_core::http::final_if_untrusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(vars: &[(&str, &str)]) -> Result<Option<Arc<TokenProxy>>, CredentialError> {
        TokenProxy::from_env(&Env::from_vars(vars.iter().copied()))
    }

    #[test]
    fn settings_are_validated() {
        assert!(proxy(&[]).unwrap().is_none());
        for (vars, why) in [
            (vec![(SNI, "x")], "AZURE_KUBERNETES_SNI_NAME is set but"),
            (vec![(PROXY, "http://127.0.0.1:1")], "https"),
            (vec![(PROXY, "https://u:p@127.0.0.1:1")], "credentials"),
            (vec![(PROXY, "https://127.0.0.1:1/?q=1")], "query"),
            (
                vec![
                    (PROXY, "https://127.0.0.1:1"),
                    (CA_FILE, "/a"),
                    (CA_DATA, "b"),
                ],
                "not both",
            ),
            (
                vec![(PROXY, "https://127.0.0.1:1"), (CA_DATA, "not pem")],
                "holds no certificate",
            ),
        ] {
            let error = proxy(&vars)
                .err()
                .unwrap_or_else(|| panic!("{vars:?} accepted"));
            assert!(
                error.message().contains(why),
                "{vars:?}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn urls_are_rewritten_onto_the_proxy() {
        let proxy = proxy(&[(PROXY, "https://127.0.0.1:8443/base/")])
            .unwrap()
            .unwrap();
        let url = Url::parse("https://login.example.com/a%20b/oauth2/v2.0/token?q=1").unwrap();
        assert_eq!(
            proxy.rewrite(&url).unwrap().as_str(),
            "https://127.0.0.1:8443/base/a%20b/oauth2/v2.0/token?q=1"
        );
        let sni = TokenProxy::from_env(&Env::from_vars([
            (PROXY, "https://127.0.0.1:8443"),
            (SNI, "cluster.example.com"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            sni.rewrite(&url).unwrap().as_str(),
            "https://cluster.example.com:8443/a%20b/oauth2/v2.0/token?q=1"
        );
    }
}
