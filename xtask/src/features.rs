//! The tests must reuse the demo's build: every unit cargo compiles for the
//! demo (a crate with its features, profile and dependencies) must be one the
//! tests' build compiles too, or the tests compile a second copy of it and of
//! everything above it (Tauri, rusqlite, rustls). Dev-dependencies turn on
//! features the demo does not ask for; crates/workspace-hack asks for them.
//! `cargo xtask test` checks the two unit graphs before it builds.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;

use serde_json::Value;

use crate::{build, proc};

/// Fails naming the first crates of the demo's build the tests would
/// compile again, with their features in each build.
pub fn check_shared(root: &Path) -> Result<(), String> {
    let demo = unit_graph(root, &build::demo_packages_args())?;
    let tests = unit_graph(root, &["--workspace", "--all-targets"])?;
    let differ = differences(&demo, &tests);
    if differ.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the tests' build would compile these crates of the demo's build again; ask for the \
         tests' features in crates/workspace-hack/Cargo.toml (or align the profiles in Cargo.toml):\n  {}",
        differ.join("\n  ")
    ))
}

/// `cargo build --unit-graph` (what cargo would compile, nothing compiled).
/// The flag is unstable: RUSTC_BOOTSTRAP lets the stable cargo print it; it
/// touches only this query, never a build.
fn unit_graph(root: &Path, packages: &[&str]) -> Result<Value, String> {
    let mut args = vec!["build", "--unit-graph", "-Z", "unstable-options"];
    args.extend(packages);
    args.extend(["--features", build::FEATURES]);
    let mut env = build::cargo_env(root)?;
    env.push(("RUSTC_BOOTSTRAP", "1".into()));
    let out = proc::output_env(root, "cargo", &args, &env)?;
    serde_json::from_str(&out).map_err(|e| format!("cargo --unit-graph: {e}"))
}

/// A unit's identity: what it is and, recursively, what it is built from
/// (as cargo's own metadata hash is).
fn identities(graph: &Value) -> Vec<u64> {
    let units = graph["units"].as_array().cloned().unwrap_or_default();
    let mut ids: Vec<Option<u64>> = vec![None; units.len()];
    fn id(i: usize, units: &[Value], ids: &mut Vec<Option<u64>>) -> u64 {
        if let Some(h) = ids[i] {
            return h;
        }
        let u = &units[i];
        let mut deps: Vec<u64> = u["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["index"].as_u64())
            .map(|d| id(d as usize, units, ids))
            .collect();
        deps.sort_unstable();
        let mut h = DefaultHasher::new();
        for field in [
            "pkg_id", "target", "mode", "platform", "features", "profile",
        ] {
            u[field].to_string().hash(&mut h);
        }
        deps.hash(&mut h);
        let h = h.finish();
        ids[i] = Some(h);
        h
    }
    (0..units.len()).map(|i| id(i, &units, &mut ids)).collect()
}

/// The units of `demo` missing from `tests` whose dependencies are all in
/// `tests`: where a difference starts (everything above it follows).
fn differences(demo: &Value, tests: &Value) -> Vec<String> {
    let (demo_ids, tests_ids) = (identities(demo), identities(tests));
    let in_tests: HashSet<u64> = tests_ids.iter().copied().collect();
    let units = demo["units"].as_array().cloned().unwrap_or_default();
    let tests_features = features_by_package(tests);
    let mut out = Vec::new();
    for (i, u) in units.iter().enumerate() {
        if in_tests.contains(&demo_ids[i]) {
            continue;
        }
        let deps_shared = u["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["index"].as_u64())
            .all(|d| in_tests.contains(&demo_ids[d as usize]));
        if deps_shared {
            let pkg = u["pkg_id"].as_str().unwrap_or_default();
            let others = tests_features
                .get(pkg)
                .map(|f| f.join(" "))
                .unwrap_or_default();
            out.push(format!(
                "{} ({}): demo {}, tests {others}",
                short(pkg),
                u["mode"].as_str().unwrap_or_default(),
                u["features"]
            ));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn features_by_package(graph: &Value) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for u in graph["units"].as_array().into_iter().flatten() {
        let pkg = u["pkg_id"].as_str().unwrap_or_default().to_string();
        let f = u["features"].to_string();
        let seen = out.entry(pkg).or_default();
        if !seen.contains(&f) {
            seen.push(f);
        }
    }
    out
}

/// "registry+https://...#hashbrown@0.15.5" -> "hashbrown@0.15.5".
fn short(pkg_id: &str) -> &str {
    pkg_id.rsplit('#').next().unwrap_or(pkg_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unit(pkg: &str, features: &[&str], deps: &[u64]) -> Value {
        json!({
            "pkg_id": format!("registry+https://x#{pkg}"),
            "target": {"name": pkg}, "mode": "build", "platform": null,
            "features": features, "profile": {"name": "dev"},
            "dependencies": deps.iter().map(|i| json!({"index": i})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn the_first_differing_crate_is_named_not_those_above_it() {
        let demo = json!({"units": [
            unit("hashbrown@0.15.5", &["default-hasher"], &[]),
            unit("hashlink@0.10.0", &[], &[0]),
            unit("rusqlite@0.37.0", &["bundled"], &[1]),
            unit("log@0.4.35", &["std"], &[]),
        ]});
        let tests = json!({"units": [
            unit("hashbrown@0.15.5", &["default", "default-hasher"], &[]),
            unit("hashlink@0.10.0", &[], &[0]),
            unit("rusqlite@0.37.0", &["bundled"], &[1]),
            unit("log@0.4.35", &["std"], &[]),
            unit("criterion@0.5.1", &[], &[]),
        ]});
        assert_eq!(
            differences(&demo, &tests),
            [
                r#"hashbrown@0.15.5 (build): demo ["default-hasher"], tests ["default","default-hasher"]"#
            ]
        );
        assert!(differences(&demo, &demo).is_empty());
    }

    /// The real workspace: the tests' build contains the demo's.
    #[test]
    fn the_workspace_builds_once_for_demo_and_tests() {
        check_shared(&crate::root()).unwrap();
    }
}
