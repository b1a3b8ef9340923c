//! Dependency order: a crate comes after every crate it needs to build, so
//! each one can be published once its dependencies are on the registry.

use std::collections::{BTreeMap, BTreeSet};

/// Orders `crates` (name, names of its dependencies) so that dependencies
/// come first; among crates ready at the same time, by name, so the order is
/// stable. Dependencies outside `crates` are ignored. Fails on a cycle,
/// naming it: crates.io cannot take one.
pub(crate) fn dependency_order(crates: &[(String, Vec<String>)]) -> Result<Vec<String>, String> {
    let known: BTreeSet<&str> = crates.iter().map(|(name, _)| name.as_str()).collect();
    // name -> its dependencies still unplaced; name -> who depends on it.
    let mut waiting_on: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, dependencies) in crates {
        let inside: BTreeSet<&str> = dependencies
            .iter()
            .map(String::as_str)
            .filter(|d| known.contains(d) && *d != name.as_str())
            .collect();
        for dependency in &inside {
            dependents.entry(dependency).or_default().push(name);
        }
        waiting_on.entry(name).or_default().extend(inside);
    }
    let mut ready: BTreeSet<&str> = waiting_on
        .iter()
        .filter(|(_, deps)| deps.is_empty())
        .map(|(name, _)| *name)
        .collect();
    let mut order = Vec::with_capacity(crates.len());
    while let Some(name) = ready.pop_first() {
        waiting_on.remove(name);
        order.push(name.to_owned());
        for dependent in dependents.get(name).into_iter().flatten() {
            if let Some(deps) = waiting_on.get_mut(dependent) {
                deps.remove(name);
                if deps.is_empty() {
                    ready.insert(dependent);
                }
            }
        }
    }
    if waiting_on.is_empty() {
        Ok(order)
    } else {
        Err(format!(
            "dependency cycle among publishable crates: {} (normal and build dependencies; \
             crates.io needs each crate's dependencies published first, so break the cycle \
             or make one edge a dev-dependency)",
            find_cycle(&waiting_on).join(" -> ")
        ))
    }
}

/// Walks from any crate left over, always to a dependency that is also left
/// over (each has one, or it would have been placed), until a crate repeats.
fn find_cycle(left: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<String> {
    let mut path: Vec<&str> = Vec::new();
    let mut current = left.keys().next().copied();
    while let Some(name) = current {
        if let Some(start) = path.iter().position(|seen| *seen == name) {
            let mut cycle: Vec<String> = path
                .get(start..)
                .unwrap_or_default()
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            cycle.push(name.to_owned());
            return cycle;
        }
        path.push(name);
        current = left
            .get(name)
            .and_then(|deps| deps.iter().find(|d| left.contains_key(*d)).copied());
    }
    path.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        edges
            .iter()
            .map(|(name, deps)| {
                (
                    (*name).to_owned(),
                    deps.iter().map(|d| (*d).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn dependencies_come_first_and_ties_go_by_name() {
        let order = dependency_order(&graph(&[
            ("umbrella", &["msi", "core", "default"]),
            ("default", &["msi", "chain"]),
            ("msi", &["core"]),
            ("chain", &["core"]),
            ("emulator", &[]),
            ("core", &["serde"]),
        ]))
        .unwrap();
        assert_eq!(
            order,
            ["core", "chain", "emulator", "msi", "default", "umbrella"]
        );
    }

    #[test]
    fn a_cycle_is_an_error_that_names_it() {
        let error = dependency_order(&graph(&[
            ("a", &[]),
            ("b", &["a", "d"]),
            ("c", &["b"]),
            ("d", &["c"]),
        ]))
        .unwrap_err();
        assert!(error.contains("b -> d -> c -> b"), "{error}");
        assert!(error.contains("dev-dependency"), "{error}");
    }

    #[test]
    fn a_self_reference_is_not_a_cycle() {
        assert_eq!(dependency_order(&graph(&[("a", &["a"])])).unwrap(), ["a"]);
    }
}
