//! Scope checks shared by every credential.

use crate::{CredentialError, error::anchors};

/// Checks the scopes of a token request: at least one; each non-empty, at most
/// 1024 characters, with no whitespace or control characters (scopes are joined
/// with spaces on the wire, so a space inside one would smuggle in another).
pub fn validate_scopes(credential: &'static str, scopes: &[&str]) -> Result<(), CredentialError> {
    if scopes.is_empty() {
        return Err(
            CredentialError::failed(credential, "no scopes were requested")
                .with_fix("pass at least one scope, such as https://management.azure.com/.default")
                .with_anchor(anchors::INVALID_INPUT),
        );
    }
    for scope in scopes {
        let why = if scope.is_empty() {
            Some("a requested scope is empty".to_owned())
        } else if scope.len() > 1024 {
            Some("a requested scope is longer than 1024 characters".to_owned())
        } else if has_space_or_control(scope) {
            Some(format!(
                "the scope {scope:?} contains whitespace or control characters"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(CredentialError::failed(credential, why)
                .with_fix(
                    "pass each scope as its own element, such as https://vault.azure.net/.default",
                )
                .with_anchor(anchors::INVALID_INPUT));
        }
    }
    Ok(())
}

/// Whitespace or control characters anywhere; bytes first, as scopes are
/// almost always ASCII and this runs on every `get_token`.
fn has_space_or_control(scope: &str) -> bool {
    if scope.is_ascii() {
        scope
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    } else {
        scope.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// The resource a v1-style endpoint (managed identity, `az --resource`) wants
/// for a scope: the scope without a trailing `/.default`.
pub fn scope_to_resource(scope: &str) -> &str {
    scope.strip_suffix("/.default").unwrap_or(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_scopes() {
        validate_scopes("C", &["https://vault.azure.net/.default", "offline_access"]).unwrap();
    }

    #[test]
    fn rejects_empty_and_smuggled_scopes() {
        assert!(validate_scopes("C", &[]).is_err());
        assert!(validate_scopes("C", &[""]).is_err());
        assert!(validate_scopes("C", &["a b"]).is_err());
        assert!(validate_scopes("C", &["a\nb"]).is_err());
        assert!(validate_scopes("C", &["a\u{0}"]).is_err());
        let long = "x".repeat(2000);
        assert!(validate_scopes("C", &[long.as_str()]).is_err());
    }

    #[test]
    fn resource_from_scope() {
        assert_eq!(
            scope_to_resource("https://management.azure.com/.default"),
            "https://management.azure.com"
        );
        assert_eq!(scope_to_resource("https://x/y"), "https://x/y");
    }
}
