//! The request log tests assert on.

use std::time::SystemTime;

/// Form fields and headers whose values `Debug` hides.
const SENSITIVE: [&str; 5] = [
    "client_secret",
    "client_assertion",
    "authorization",
    "secret",
    "x-identity-header",
];

/// One request the emulator received, in arrival order.
#[derive(Clone)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// Form fields, decoded, when the body was `application/x-www-form-urlencoded`.
    pub form: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// When the request arrived (its head and body read).
    pub received_at: SystemTime,
}

impl LoggedRequest {
    /// The first value of a form field.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        first(&self.form, name)
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        first(&self.query, name)
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Shows names and harmless values; secrets, assertions and credentials in
/// headers are redacted, and the raw body is only measured.
impl std::fmt::Debug for LoggedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |pairs: &[(String, String)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| {
                    let hidden = SENSITIVE.iter().any(|s| n.eq_ignore_ascii_case(s));
                    (
                        n.clone(),
                        if hidden {
                            "<redacted>".to_owned()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect()
        };
        f.debug_struct("LoggedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &redact(&self.headers))
            .field("form", &redact(&self.form))
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credentials() {
        let request = LoggedRequest {
            method: "POST".into(),
            path: "/t/oauth2/v2.0/token".into(),
            query: vec![],
            headers: vec![("authorization".into(), "Bearer TOPSECRET-1".into())],
            form: vec![
                ("client_secret".into(), "TOPSECRET-2".into()),
                ("client_id".into(), "app".into()),
            ],
            body: b"client_secret=TOPSECRET-2".to_vec(),
            received_at: SystemTime::now(),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(shown.contains("app"));
        assert_eq!(request.form_value("client_secret"), Some("TOPSECRET-2"));
        assert_eq!(request.header("Authorization"), Some("Bearer TOPSECRET-1"));
    }
}
