//! Writes the TypeScript bindings: the types generated from `warmlead-core`,
//! then the app's command and event bridge (`bridge.ts`), which only the
//! app's own test build can describe (its commands live in a binary crate).

use std::path::Path;

use crate::proc;

use warmlead_core::bindings::{render_all, BINDINGS_DIR};

pub fn write(root: &Path) -> Result<(), String> {
    let dir = root.join(BINDINGS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let files = render_all();
    for (file, source) in &files {
        std::fs::write(dir.join(file), source).map_err(|e| format!("write {file}: {e}"))?;
    }
    let mut index: Vec<String> = files
        .iter()
        .map(|(f, _)| {
            let name = f.trim_end_matches(".ts");
            format!("export type {{ {name} }} from \"./{name}\";\n")
        })
        .collect();
    index.sort();
    std::fs::write(dir.join("index.ts"), index.concat())
        .map_err(|e| format!("write index: {e}"))?;
    println!("wrote {} bindings to {}", files.len(), dir.display());
    write_bridge(root)
}

/// Runs the app's ignored test that renders `bridge.ts` from the
/// `#[bridge::command]`s and `events.rs` (src-tauri/src/bridge.rs); its
/// twin test fails when the committed file is stale.
fn write_bridge(root: &Path) -> Result<(), String> {
    proc::run(
        root,
        "cargo",
        &[
            "test",
            "-p",
            "warmlead-app",
            "--bin",
            "warmlead-app",
            "--",
            "--ignored",
            "--exact",
            "bridge::tests::write_typescript_bridge",
            "--nocapture",
        ],
    )
}
