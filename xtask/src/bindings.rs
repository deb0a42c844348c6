//! Writes the TypeScript bindings generated from `warmlead-core`.

use std::path::Path;

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
    Ok(())
}
