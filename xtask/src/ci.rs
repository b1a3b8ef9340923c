//! `cargo xtask ci`: exactly what `.ci/run` checks.

use crate::run::{cargo, cargo_output, cargo_with_env, has_cargo_tool};

/// Crates whose default build must not compile OpenSSL: an app using only
/// these pays for no certificate support.
const NO_OPENSSL: &[&str] = &[
    "identity-core",
    "identity-client-secret",
    "identity-client-assertion",
    "identity-msi",
    "identity-workload",
    "identity-pipelines",
    "identity-azure-cli",
    "identity-azd",
    "identity-developer-tools",
    "identity-chain",
    "identity-environment",
    "identity-default",
];

/// Crates whose default build must compile no TLS stack and no crypto library
/// at all: every endpoint they talk to by default is plain http on the machine.
const NO_TLS: &[&str] = &["identity-msi"];

/// TLS stacks and crypto libraries.
const TLS_OR_CRYPTO: &[&str] = &[
    "rustls",
    "aws-lc-sys",
    "aws-lc-rs",
    "ring",
    "openssl",
    "openssl-sys",
    "native-tls",
];

/// Packages that build or link the OpenSSL C library.
const LINKS_OPENSSL: &[&str] = &["openssl", "openssl-sys", "openssl-src", "native-tls"];

/// Single features of the umbrella crate, each of which must build alone.
const UMBRELLA_FEATURES: &[&str] = &[
    "client-secret",
    "client-assertion",
    "client-certificate",
    "workload-identity",
    "azure-pipelines",
    "managed-identity",
    "azure-cli",
    "azd",
    "developer-tools",
    "chain",
    "environment",
    "default-credential",
];

pub(crate) fn run() -> Result<(), String> {
    let none: &[String] = &[];
    cargo(&["fmt", "--all", "--", "--check"], none)?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        none,
    )?;
    for feature in UMBRELLA_FEATURES {
        let features = format!("{feature},reqwest");
        cargo(
            &[
                "clippy",
                "--package",
                "identity",
                "--no-default-features",
                "--features",
                &features,
                "--",
                "-D",
                "warnings",
            ],
            none,
        )?;
    }
    check_no_openssl()?;
    cargo(&["test", "--workspace", "--all-features"], none)?;
    cargo_with_env(
        &["doc", "--workspace", "--no-deps", "--all-features"],
        none,
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // --- Release readiness (docs/RELEASING.md) ---------------------------
    // Every publishable crate packages, and builds from its package alone
    // (`cargo publish --workspace --dry-run`): a missing file, a path
    // dependency without a version or missing metadata fails here, not on
    // release day. Uploads nothing.
    crate::release::verify_packages()?;
    if has_cargo_tool("deny") {
        cargo(
            &[
                "deny",
                "--all-features",
                "check",
                "bans",
                "licenses",
                "sources",
            ],
            none,
        )?;
    } else if std::env::var_os("CI").is_some() {
        return Err("cargo-deny is not installed; .ci/run installs it".into());
    } else {
        eprintln!(
            "note: cargo-deny is not installed, skipping `cargo deny check` (cargo install --locked cargo-deny)"
        );
    }
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

fn check_no_openssl() -> Result<(), String> {
    // `openssl-probe` is not OpenSSL: a pure-Rust crate that rustls's
    // platform verifier uses to find the system's CA certificates.
    for package in NO_OPENSSL {
        forbid_in_tree(package, LINKS_OPENSSL, "in its normal dependencies")?;
    }
    eprintln!("no openssl in: {}", NO_OPENSSL.join(", "));
    for package in NO_TLS {
        forbid_in_tree(
            package,
            TLS_OR_CRYPTO,
            "with default features (it needs no TLS by default)",
        )?;
    }
    eprintln!("no TLS stack or crypto library in: {}", NO_TLS.join(", "));
    // The lean TLS choice compiles ring, not aws-lc (and never openssl).
    forbid_in_tree_with(
        "identity-client-secret",
        &["--no-default-features", "--features", "rustls_ring,tokio"],
        &[
            "aws-lc-sys",
            "aws-lc-rs",
            "openssl",
            "openssl-sys",
            "native-tls",
        ],
        "with `rustls_ring` (it should use ring, not aws-lc)",
    )?;
    eprintln!("identity-client-secret with rustls_ring: ring only, no aws-lc");
    Ok(())
}

/// Fails when `package`'s default normal dependency tree holds any of `forbidden`.
fn forbid_in_tree(package: &str, forbidden: &[&str], context: &str) -> Result<(), String> {
    forbid_in_tree_with(package, &[], forbidden, context)
}

/// As [`forbid_in_tree`], with extra `cargo tree` arguments (features).
fn forbid_in_tree_with(
    package: &str,
    extra: &[&str],
    forbidden: &[&str],
    context: &str,
) -> Result<(), String> {
    let mut args = vec![
        "tree",
        "--package",
        package,
        "--edges",
        "normal",
        "--prefix",
        "none",
    ];
    args.extend_from_slice(extra);
    let tree = cargo_output(&args)?;
    let offenders = offenders(&tree, forbidden);
    if offenders.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{package} pulls in {} {context}",
            offenders.join(", ")
        ))
    }
}

/// The lines of a `cargo tree --prefix none` listing that name a forbidden package.
fn offenders<'a>(tree: &'a str, forbidden: &[&str]) -> Vec<&'a str> {
    tree.lines()
        .filter(|line| forbidden.contains(&line.split_whitespace().next().unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_packages_are_found_by_name_not_by_prefix() {
        let tree = "identity-msi v0.1.0 (/w/crates/identity-msi)\nopenssl-probe v0.2.1\nrustls v0.23.46\nring v0.17.14\n";
        assert_eq!(
            offenders(tree, LINKS_OPENSSL),
            Vec::<&str>::new(),
            "openssl-probe is not openssl"
        );
        assert_eq!(
            offenders(tree, TLS_OR_CRYPTO),
            vec!["rustls v0.23.46", "ring v0.17.14"]
        );
    }

    #[test]
    fn every_umbrella_feature_checked_alone_exists() {
        let manifest =
            std::fs::read_to_string(crate::run::root().join("crates/identity/Cargo.toml"))
                .unwrap_or_default();
        for feature in UMBRELLA_FEATURES {
            assert!(
                manifest.contains(&format!("\n{feature} = [")),
                "the umbrella has no feature `{feature}`"
            );
        }
    }
}
