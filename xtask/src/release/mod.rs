//! `cargo xtask release`: independent releases of the workspace's crates.
//!
//! - `plan`: every publishable crate in dependency order, whether it changed
//!   since its last release tag, and the version it would get.
//! - `prepare`: bumps versions and requirements, writes the changelogs from
//!   `.changelog/` fragments, for review and commit.
//! - `publish`: uploads what is not on crates.io yet, in order, and tags it.
//!
//! The rules are in docs/RELEASING.md.

mod changelog;
mod fragments;
mod git;
mod live;
mod manifest;
mod order;
mod plan;
mod prepare;
mod publish;
mod unpacked;
mod version;
mod workspace;

#[cfg(test)]
mod tests;

use plan::{Scope, Survey};
use publish::{Action, Wait};
use std::collections::BTreeSet;
use version::Level;

const USAGE: &str = "usage:
  cargo xtask release plan    [--bump patch|minor|major] [crate...]
  cargo xtask release prepare [--bump patch|minor|major] [crate...]
  cargo xtask release publish [--dry-run]
(see docs/RELEASING.md)";

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("plan") => show_plan(&parse_scope(rest)?),
        Some("prepare") => run_prepare(&parse_scope(rest)?),
        Some("publish") => match rest {
            [] => run_publish(false),
            [flag] if flag == "--dry-run" => run_publish(true),
            _ => Err(format!("`release publish` takes only --dry-run\n{USAGE}")),
        },
        _ => Err(USAGE.to_owned()),
    }
}

/// `[--bump LEVEL] [crate...]`: no crates means every crate with something
/// to release; `--bump` only applies to crates it names.
fn parse_scope(args: &[String]) -> Result<Scope, String> {
    let mut bump: Option<Level> = None;
    let mut crates = BTreeSet::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if let Some(level) = arg.strip_prefix("--bump=") {
            bump = Some(level.parse()?);
        } else if arg == "--bump" {
            let level = args
                .next()
                .ok_or("`--bump` needs a level: patch, minor or major")?;
            bump = Some(level.parse()?);
        } else if arg.starts_with('-') {
            return Err(format!("unknown option `{arg}`\n{USAGE}"));
        } else {
            crates.insert(arg.clone());
        }
    }
    match (crates.is_empty(), bump) {
        (true, Some(level)) => Err(format!(
            "`--bump {level}` applies to the crates it names; add them, as in \
             `cargo xtask release prepare --bump {level} identity-core`"
        )),
        (true, None) => Ok(Scope::Pending),
        (false, bump) => Ok(Scope::Named { crates, bump }),
    }
}

fn show_plan(scope: &Scope) -> Result<(), String> {
    let root = crate::run::root();
    let survey = Survey::take(&root, scope)?;
    println!("Release plan, in dependency order (publish goes top to bottom):\n");
    print!("{}", survey.plan.render());
    let pending = survey.fragments.len();
    println!("\n{pending} changelog fragment(s) pending in .changelog/.");
    let tags = survey.plan.tags();
    if tags.is_empty() {
        println!("Nothing to release.");
    } else {
        println!("Tags a release would make: {}", tags.join(", "));
        println!(
            "Next: `cargo xtask release prepare` with the same arguments, on a clean tree; \
             review, commit, then publish."
        );
    }
    Ok(())
}

fn run_prepare(scope: &Scope) -> Result<(), String> {
    let root = crate::run::root();
    let done = prepare::prepare(&root, scope, &changelog::today())?;
    let prepared: Vec<&plan::Step> = done
        .plan
        .steps
        .iter()
        .filter(|s| done.written.contains(&s.name))
        .collect();
    if prepared.is_empty() {
        println!("Nothing to prepare: no new fragments or changes since the last tags.");
        return Ok(());
    }
    println!("Prepared:");
    for step in &prepared {
        let next = step.next.map(|v| v.to_string()).unwrap_or_default();
        let change = if step.bumps() {
            format!("{} -> {next}", step.current)
        } else {
            format!("{next} (version unchanged)")
        };
        println!("  {:28} {change}", step.name);
    }
    let names: Vec<String> = prepared
        .iter()
        .filter_map(|s| s.next.map(|v| format!("{} {v}", s.name)))
        .collect();
    // A subject line that stays readable when many crates go out at once.
    let subject = if names.len() <= 3 {
        format!("Release {}", names.join(", "))
    } else {
        format!(
            "Release {} crates (versions in their CHANGELOG.md)",
            names.len()
        )
    };
    println!(
        "\nVersions, requirements, CHANGELOG.md files and Cargo.lock are updated and the used \
         fragments removed. Review with `git diff`, then commit:\n  git commit -am \"{subject}\"\n\
         and run `cargo xtask release publish --dry-run`, then `cargo xtask release publish`."
    );
    Ok(())
}

fn run_publish(dry_run: bool) -> Result<(), String> {
    let root = crate::run::root();
    if !dry_run {
        git::Git::new(&root).require_clean("cargo xtask release publish")?;
    }
    let survey = Survey::take(&root, &Scope::Pending)?;
    let order: Vec<(String, version::Version)> = survey
        .workspace
        .crates
        .iter()
        .map(|c| (c.name.clone(), c.version))
        .collect();
    let registry = live::CratesIoIndex;
    let mut world = live::Live::new(&root);
    let dirs: Vec<(String, std::path::PathBuf)> = survey
        .workspace
        .crates
        .iter()
        .map(|c| (c.name.clone(), c.dir.join("CHANGELOG.md")))
        .collect();
    let changelog = |name: &str| {
        let (_, path) = dirs.iter().find(|(n, _)| n == name)?;
        std::fs::read_to_string(path).ok()
    };
    let actions = publish::preflight(&order, &survey.fragments, &changelog, &registry, &world)?;
    for action in &actions {
        match action {
            Action::Publish { name, version } => println!("  publish {name} {version}"),
            Action::Skip {
                name,
                version,
                tagged: true,
            } => {
                println!("  skip    {name} {version} (on crates.io and tagged)");
            }
            Action::Skip {
                name,
                version,
                tagged: false,
            } => {
                println!("  skip    {name} {version} (on crates.io; tag it on HEAD)");
            }
        }
    }
    if dry_run {
        // Packages every crate and builds each from its package, with the
        // others' packages standing in for the registry; uploads nothing.
        forget_stale_packages(&survey.workspace)?;
        return crate::run::cargo(&["publish", "--workspace", "--dry-run"], &[]);
    }
    let tags = publish::publish(&actions, &registry, &mut world, Wait::DEFAULT)?;
    if tags.is_empty() {
        println!("Nothing to publish: every version is on crates.io and tagged.");
    } else {
        println!(
            "Published and tagged. Push the tags:\n  git push origin {}",
            tags.join(" ")
        );
    }
    Ok(())
}

/// For `cargo xtask ci`: every publishable crate packages, and builds from
/// its package alone, as crates.io will see it. Uploads nothing; a dirty tree
/// is allowed, since this checks the packages and not the commit.
pub(crate) fn verify_packages() -> Result<(), String> {
    forget_stale_packages(&workspace::Workspace::load(&crate::run::root())?)?;
    crate::run::cargo(
        &["publish", "--workspace", "--dry-run", "--allow-dirty"],
        &[],
    )
}

/// Before a workspace dry run: removes cargo's unpacked copies of our
/// packages left by an earlier run, which cargo would build instead of
/// today's (see `unpacked`).
fn forget_stale_packages(workspace: &workspace::Workspace) -> Result<(), String> {
    let Some(home) = unpacked::cargo_home() else {
        return Ok(());
    };
    let packages: Vec<(String, String)> = workspace
        .crates
        .iter()
        .map(|c| (c.name.clone(), c.version.to_string()))
        .collect();
    for stale in unpacked::forget_unpacked(&home, &packages)? {
        eprintln!("removed a stale unpacked package: {}", stale.display());
    }
    Ok(())
}
