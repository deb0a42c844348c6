//! No demo wording in product text (issue 19): the demo company is a
//! renovation firm, and its name and trade words belong in its seed
//! (`crates/server/src/demo`) and in tests, never in what every company's
//! people read: the UI's strings and screens, the public pages' templates,
//! and the messages of the Rust code outside tests.

use std::path::{Path, PathBuf};

/// The demo company's name, and its trade's words in 中文 and English.
fn demo_words() -> Vec<String> {
    let mut words = vec![
        warmlead_server::demo::DEMO_COMPANY.to_string(),
        "暖居".into(),
        "装修".into(),
        "翻新".into(),
        "家装".into(),
        "设计师".into(),
        "资料夹".into(),
        "renovat".into(),
        "designer".into(),
    ];
    words.sort();
    words
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// Files under `dir` (recursively) whose names end with one of `exts`.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "node_modules" | "bindings" | "demo" | "dist") {
                    stack.push(path);
                }
            } else if exts.iter().any(|e| name.ends_with(e)) {
                out.push(path);
            }
        }
    }
    out
}

/// A file's product text: test files are left out, and a Rust file's text
/// stops at its first `#[cfg(test)]`.
fn product_text(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy();
    if name.contains(".test.") || name == "tests.rs" || name.ends_with("_tests.rs") {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    Some(match text.find("#[cfg(test)]") {
        Some(i) if name.ends_with(".rs") => text[..i].to_string(),
        _ => text,
    })
}

/// Each `path:line: word` of product text that holds a demo word.
fn offenders(paths: &[PathBuf], words: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for path in paths {
        let Some(text) = product_text(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            for w in words.iter().filter(|w| lower.contains(&w.to_lowercase())) {
                found.push(format!("{}:{}: {w}", path.display(), n + 1));
            }
        }
    }
    found
}

#[test]
fn product_text_holds_none_of_the_demo_companys_words() {
    let root = root();
    let mut paths = files(&root.join("ui/src"), &[".ts", ".tsx"]);
    paths.extend(files(
        &root.join("crates/server/templates"),
        &[".html", ".js", ".css"],
    ));
    paths.extend(files(&root.join("src-tauri/src"), &[".rs"]));
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            paths.extend(files(&src, &[".rs"]));
        }
    }
    // The scan must see the files it guards (a moved folder fails here).
    assert!(paths.iter().any(|p| p.ends_with("ui/src/i18n/zh-CN.ts")));
    assert!(paths
        .iter()
        .any(|p| p.ends_with("crates/server/templates/share.html")));
    let found = offenders(&paths, &demo_words());
    assert!(
        found.is_empty(),
        "demo wording in product text:\n{}",
        found.join("\n")
    );
}

/// The scan finds a demo word where product text has one, and skips tests.
#[test]
fn the_scan_finds_a_demo_word_and_skips_tests() {
    let dir = tempfile::tempdir().unwrap();
    let strings = dir.path().join("zh-CN.ts");
    std::fs::write(
        &strings,
        "export const t = {\n  subtitle: \"邀请老客户和设计师\",\n};\n",
    )
    .unwrap();
    let rust = dir.path().join("lib.rs");
    std::fs::write(
        &rust,
        "fn a() {}\n#[cfg(test)]\nmod tests { const C: &str = \"暖居装修\"; }\n",
    )
    .unwrap();
    let test = dir.path().join("x.test.ts");
    std::fs::write(&test, "const c = \"Renovation\";\n").unwrap();
    let found = offenders(&[strings.clone(), rust, test], &demo_words());
    assert_eq!(found, vec![format!("{}:2: 设计师", strings.display())]);
}
