//! An HTTP client for pointing https-only code at the emulator.
//!
//! azure_core's bearer-token policy (and the official `azure_identity`)
//! refuse plain-http URLs, while the emulator speaks plain http.
//! [`LoopbackHttpsClient`] lets such code use `https://127.0.0.1:{port}` URLs:
//! it sends them as http, and it refuses any host that is not loopback, so a
//! test using it can never reach the network.

use azure_core::{
    error::{Error, ErrorKind},
    http::{AsyncRawResponse, HttpClient, Request, Url, new_http_client},
};
use std::{net::IpAddr, sync::Arc};

/// An azure_core [`HttpClient`] that sends `https://` loopback URLs as
/// `http://` and refuses every non-loopback host.
#[derive(Clone, Debug)]
pub struct LoopbackHttpsClient {
    inner: Arc<dyn HttpClient>,
}

impl LoopbackHttpsClient {
    /// Wraps azure_core's default HTTP client.
    pub fn new() -> Self {
        Self::wrapping(new_http_client(None))
    }

    /// Wraps `inner`.
    pub fn wrapping(inner: Arc<dyn HttpClient>) -> Self {
        Self { inner }
    }
}

impl Default for LoopbackHttpsClient {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `url` points at this machine: 127.0.0.0/8, `::1` or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[async_trait::async_trait]
impl HttpClient for LoopbackHttpsClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        if !is_loopback(request.url()) {
            return Err(Error::with_message(
                ErrorKind::Io,
                format!(
                    "LoopbackHttpsClient only talks to loopback hosts, not {}",
                    request.url().host_str().unwrap_or("(no host)")
                ),
            ));
        }
        if request.url().scheme() != "https" {
            return self.inner.execute_request(request).await;
        }
        let mut plain = request.clone();
        plain.url_mut().set_scheme("http").map_err(|()| {
            Error::with_message(
                ErrorKind::DataConversion,
                "cannot rewrite the URL scheme to http",
            )
        })?;
        self.inner.execute_request(&plain).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::http::Method;

    #[test]
    fn recognises_loopback_hosts() {
        for url in [
            "https://127.0.0.1:1/",
            "http://127.9.9.9/",
            "https://[::1]:8/",
            "https://LOCALHOST/x",
        ] {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in [
            "https://login.microsoftonline.com/",
            "http://10.0.0.1/",
            "https://169.254.169.254/",
        ] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[tokio::test]
    async fn refuses_remote_hosts_without_sending() {
        let client = LoopbackHttpsClient::new();
        let request = Request::new(
            Url::parse("https://login.microsoftonline.com/x").unwrap(),
            Method::Get,
        );
        let error = client.execute_request(&request).await.unwrap_err();
        assert!(
            error.to_string().contains("only talks to loopback"),
            "{error}"
        );
    }
}
