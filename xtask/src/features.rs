//! The demo's build and the tests' build must resolve every dependency with
//! the same features, or the tests compile a second copy of each crate whose
//! features differ and of everything above it (see crates/workspace-hack).
//! `cargo tree` tells both resolutions in about a second, so `cargo xtask
//! test` checks them before it builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::{build, proc};

/// Fails naming each crate the two builds resolve differently.
pub fn check_shared(root: &Path) -> Result<(), String> {
    let demo = resolve(root, &build::demo_packages_args())?;
    let tests = resolve(root, &["--workspace"])?;
    let differ = differences(&demo, &tests);
    if differ.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the tests' build would compile these crates again with other features than the demo's; \
         ask for the tests' features in crates/workspace-hack/Cargo.toml:\n  {}",
        differ.join("\n  ")
    ))
}

/// Package ("name vX.Y.Z") to its resolved feature sets, for one build: a
/// crate can be built twice, for the target and as a build dependency.
type Resolved = BTreeMap<String, BTreeSet<String>>;

fn resolve(root: &Path, packages: &[&str]) -> Result<Resolved, String> {
    let mut args = vec!["tree", "--prefix", "none", "-f", "{p} [{f}]"];
    args.extend(packages);
    args.extend(["--features", build::FEATURES]);
    if packages.contains(&"-p") {
        // What the demo compiles: no dev-dependencies.
        args.extend(["-e", "normal,build"]);
    }
    Ok(parse(&proc::output(root, "cargo", &args)?))
}

fn parse(tree: &str) -> Resolved {
    let mut out = Resolved::new();
    for line in tree.lines() {
        let line = line.trim_end().trim_end_matches(" (*)");
        let Some((package, features)) = line.rsplit_once(" [") else {
            continue;
        };
        // A path dependency reads "name vX (/path)": the name and version are enough.
        let package = package.split(" (").next().unwrap_or(package);
        out.entry(package.to_string())
            .or_default()
            .insert(features.trim_end_matches(']').to_string());
    }
    out
}

/// Crates in both builds whose features differ, as "name vX: demo [..] tests [..]".
fn differences(demo: &Resolved, tests: &Resolved) -> Vec<String> {
    let show = |sets: &BTreeSet<String>| {
        sets.iter()
            .map(|f| format!("[{f}]"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    demo.iter()
        .filter_map(|(package, features)| {
            let other = tests.get(package)?;
            (other != features)
                .then(|| format!("{package}: demo {}, tests {}", show(features), show(other)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_resolved_alike_pass_and_others_are_named() {
        let demo = parse(
            "hashbrown v0.15.5 [default-hasher]\nwarmlead-server v0.1.0 (/w/crates/server) [testing]\nurl v2.5.8 [std] (*)\nlog v0.4 [std]\nlog v0.4 []\n",
        );
        let tests = parse(
            "hashbrown v0.15.5 [default,default-hasher]\nwarmlead-server v0.1.0 (/w/crates/server) [testing]\nurl v2.5.8 [std]\ncriterion v0.5.1 []\nlog v0.4 []\nlog v0.4 [std]\n",
        );
        assert!(demo["warmlead-server v0.1.0"].contains("testing"));
        assert_eq!(
            demo["log v0.4"].len(),
            2,
            "host and build-dependency copies"
        );
        assert_eq!(
            differences(&demo, &tests),
            ["hashbrown v0.15.5: demo [default-hasher], tests [default,default-hasher]"]
        );
        assert!(differences(&tests, &tests).is_empty());
    }

    /// The real workspace: the demo's and the tests' builds resolve alike.
    #[test]
    fn the_workspace_builds_once_for_demo_and_tests() {
        check_shared(&crate::root()).unwrap();
    }
}
