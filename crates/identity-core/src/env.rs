//! The environment variables a credential reads, behind a value that tests replace.
//!
//! No credential calls `std::env` directly: each reads through an [`Env`], which
//! is the process environment by default and a fixed map in tests (or in apps
//! that configure credentials from somewhere other than the process environment).

use std::{collections::HashMap, fmt, sync::Arc};

/// A source of environment variables.
///
/// `Env::default()` reads the process environment. [`Env::from_vars`] builds one
/// from fixed pairs. Values that are empty or only whitespace read as unset, as
/// the other Azure SDKs treat them.
#[derive(Clone, Default)]
pub struct Env {
    fixed: Option<Arc<HashMap<String, String>>>,
}

impl Env {
    /// The process environment.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A fixed set of variables; the process environment is not consulted.
    pub fn from_vars<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            fixed: Some(Arc::new(map)),
        }
    }

    /// The value of `name`, trimmed; `None` when unset, empty or not UTF-8.
    pub fn var(&self, name: &str) -> Option<String> {
        let raw = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }?;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            None
        } else if trimmed.len() == raw.len() {
            Some(raw)
        } else {
            Some(trimmed.to_owned())
        }
    }

    /// The fixed variables, for a child process's environment; `None` when
    /// this is the process environment (the child inherits it).
    pub fn fixed_vars(&self) -> Option<Vec<(String, String)>> {
        self.fixed
            .as_ref()
            .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Whether `name` is set to a non-empty value.
    pub fn is_set(&self, name: &str) -> bool {
        self.var(name).is_some()
    }
}

// Values may be secrets (AZURE_CLIENT_SECRET), so Debug names the source only.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fixed {
            None => f.write_str("Env(process)"),
            Some(map) => write!(f, "Env({} fixed variables)", map.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_values_are_trimmed_and_empty_is_unset() {
        let env = Env::from_vars([("A", " x \n"), ("B", "  "), ("C", "y")]);
        assert_eq!(env.var("A").as_deref(), Some("x"));
        assert_eq!(env.var("B"), None);
        assert_eq!(env.var("C").as_deref(), Some("y"));
        assert_eq!(env.var("D"), None);
        assert!(env.is_set("C"));
        assert!(!env.is_set("B"));
    }

    #[test]
    fn debug_never_shows_values() {
        let env = Env::from_vars([("AZURE_CLIENT_SECRET", "hunter2")]);
        let shown = format!("{env:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "Env(1 fixed variables)");
    }
}
