//! The typed bridge to the UI, generated from Rust: every command's name,
//! argument keys and types and answer (from `#[bridge::command]` and the
//! `commands!` list in main.rs), every event's name and payload (from
//! `events.rs`), rendered with the ts-rs names of the types into
//! `ui/src/bindings/bridge.ts`. `ui/src/api.ts` calls only what that file
//! exports, so no command or event name is written by hand in TypeScript.
//!
//! `cargo xtask bindings` writes the file (the ignored test
//! `write_typescript_bridge`); `typescript_bridge_is_current` fails when a
//! command or event changed and the file was not regenerated, and the UI's
//! `tsc --noEmit` fails when api.ts no longer matches it.
//!
//! One source of truth without a second derive on every type: see
//! `warmlead_app_macros` for why this is not tauri-specta.

pub use warmlead_app_macros::{command, commands};

#[cfg(test)]
pub use render::{ArgSig, CommandSig, EventSig};

#[cfg(test)]
mod render {
    use std::collections::BTreeSet;
    use std::fmt::Write;

    use ts_rs::{Config, Dependency, TypeVisitor, TS};
    use warmlead_core::error::ApiError;

    /// The ts-rs settings of warmlead-core's bindings: i64 crosses as a JSON
    /// number (every id and millisecond time fits in 2^53).
    pub fn config() -> Config {
        Config::new().with_large_int("number")
    }

    /// A type as TypeScript names it, with the generated files it needs.
    pub struct TsType {
        pub ts: String,
        /// (TypeScript name, file relative to the bindings directory).
        imports: Vec<(String, String)>,
    }

    impl TsType {
        pub fn of<T: TS + 'static + ?Sized>(cfg: &Config) -> TsType {
            struct Visit<'a>(&'a Config, Vec<(String, String)>);
            impl TypeVisitor for Visit<'_> {
                fn visit<U: TS + 'static + ?Sized>(&mut self) {
                    if let Some(dep) = Dependency::from_ty::<U>(self.0) {
                        let file = dep.output_path.to_string_lossy().replace('\\', "/");
                        self.1.push((dep.ts_name, file));
                    }
                }
            }
            let mut visit = Visit(cfg, Vec::new());
            // The type itself when it has a file, and the type arguments of
            // the wrappers around it (`Array<X>`, `X | null`).
            visit.visit::<T>();
            T::visit_generics(&mut visit);
            TsType {
                ts: T::name(cfg),
                imports: visit.1,
            }
        }
    }

    /// What the UI gets back from a command: the `Ok` side of a `Result`
    /// (the error is always an `ApiError`), else the value itself.
    pub trait Answer {
        type Ok: TS + 'static;
    }
    impl<T: TS + 'static> Answer for Result<T, ApiError> {
        type Ok = T;
    }
    impl<T: TS + 'static> Answer for Option<T> {
        type Ok = Option<T>;
    }
    impl Answer for () {
        type Ok = ();
    }
    impl Answer for String {
        type Ok = String;
    }

    pub struct ArgSig {
        /// The key Tauri reads the argument from (camelCase).
        key: &'static str,
        ty: TsType,
    }

    impl ArgSig {
        pub fn new<T: TS + 'static>(cfg: &Config, key: &'static str) -> ArgSig {
            ArgSig {
                key,
                ty: TsType::of::<T>(cfg),
            }
        }
    }

    pub struct CommandSig {
        /// The name Tauri registers (the Rust function's name).
        pub name: &'static str,
        docs: Vec<String>,
        args: Vec<ArgSig>,
        answer: TsType,
    }

    impl CommandSig {
        pub fn new<A: Answer>(
            cfg: &Config,
            name: &'static str,
            docs: &[&str],
            args: Vec<ArgSig>,
        ) -> CommandSig {
            CommandSig {
                name,
                docs: docs.iter().map(|d| d.to_string()).collect(),
                args,
                answer: TsType::of::<A::Ok>(cfg),
            }
        }

        /// The argument keys, in order.
        pub fn keys(&self) -> Vec<&'static str> {
            self.args.iter().map(|a| a.key).collect()
        }
    }

    pub struct EventSig {
        /// The constant's name in `events.rs` (`SYNC_STATUS`).
        constant: &'static str,
        /// The name the event is emitted under (`sync-status`).
        pub name: &'static str,
        docs: Vec<String>,
        payload: TsType,
    }

    impl EventSig {
        pub fn new<P: TS + 'static>(
            cfg: &Config,
            constant: &'static str,
            name: &'static str,
            docs: &[&str],
        ) -> EventSig {
            EventSig {
                constant,
                name,
                docs: docs.iter().map(|d| d.trim().to_string()).collect(),
                payload: TsType::of::<P>(cfg),
            }
        }
    }

    /// `sync_status` or `SYNC_STATUS` -> `syncStatus`.
    fn camel(name: &str) -> String {
        let mut out = String::new();
        for (i, word) in name.split('_').filter(|w| !w.is_empty()).enumerate() {
            let word = word.to_lowercase();
            let mut chars = word.chars();
            match (i, chars.next()) {
                (0, Some(c)) => out.push(c),
                (_, Some(c)) => out.extend(c.to_uppercase()),
                (_, None) => {}
            }
            out.extend(chars);
        }
        out
    }

    /// A key that is a reserved word cannot be a parameter's name.
    fn param(key: &str) -> String {
        const RESERVED: &[&str] = &[
            "break",
            "case",
            "catch",
            "class",
            "const",
            "continue",
            "debugger",
            "default",
            "delete",
            "do",
            "else",
            "enum",
            "export",
            "extends",
            "false",
            "finally",
            "for",
            "function",
            "if",
            "import",
            "in",
            "instanceof",
            "new",
            "null",
            "return",
            "super",
            "switch",
            "this",
            "throw",
            "true",
            "try",
            "typeof",
            "var",
            "void",
            "while",
            "with",
            "yield",
            "let",
            "static",
            "implements",
            "interface",
            "package",
            "private",
            "protected",
            "public",
            "await",
        ];
        if RESERVED.contains(&key) {
            format!("{key}Value")
        } else {
            key.to_string()
        }
    }

    /// A JSDoc comment indented by `indent`, or nothing without docs.
    fn jsdoc(docs: &[String], indent: &str) -> String {
        let docs: Vec<&str> = docs.iter().map(|d| d.trim()).collect();
        let text = docs.join("\n").trim().replace("*/", "*\\/");
        if text.is_empty() {
            return String::new();
        }
        if !text.contains('\n') {
            return format!("{indent}/** {text} */\n");
        }
        let mut out = format!("{indent}/**\n");
        for line in text.lines() {
            let _ = writeln!(
                out,
                "{indent} *{}{line}",
                if line.is_empty() { "" } else { " " }
            );
        }
        let _ = writeln!(out, "{indent} */");
        out
    }

    fn render_command(out: &mut String, c: &CommandSig) {
        out.push_str(&jsdoc(&c.docs, "    "));
        let params: Vec<String> = c
            .args
            .iter()
            .map(|a| format!("{}: {}", param(a.key), a.ty.ts))
            .collect();
        let fields: Vec<String> = c
            .args
            .iter()
            .map(|a| match param(a.key) {
                p if p == a.key => p,
                p => format!("{}: {p}", a.key),
            })
            .collect();
        let args = if fields.is_empty() {
            String::new()
        } else {
            format!(", {{ {} }}", fields.join(", "))
        };
        let _ = writeln!(
            out,
            "    {}: ({}): Promise<{}> =>\n      invoke<{}>(\"{}\"{args}),",
            camel(c.name),
            params.join(", "),
            c.answer.ts,
            c.answer.ts,
            c.name,
        );
    }

    fn render_event(out: &mut String, e: &EventSig) {
        out.push_str(&jsdoc(&e.docs, "  "));
        let ty = &e.payload.ts;
        let _ = writeln!(
            out,
            "  {}: (cb: (payload: {ty}) => void): Promise<UnlistenFn> =>\n    listen<{ty}>(EVENTS.{}, (e) => cb(e.payload)),",
            camel(e.constant),
            camel(e.constant),
        );
    }

    fn imports(commands: &[CommandSig], events: &[EventSig]) -> String {
        let types = commands
            .iter()
            .flat_map(|c| c.args.iter().map(|a| &a.ty).chain([&c.answer]))
            .chain(events.iter().map(|e| &e.payload));
        let mut all = BTreeSet::new();
        for ty in types {
            all.extend(ty.imports.iter().cloned());
        }
        all.iter()
            .map(|(name, file)| {
                let module = file.trim_end_matches(".ts");
                format!("import type {{ {name} }} from \"./{module}\";\n")
            })
            .collect()
    }

    /// The whole `bridge.ts`.
    pub fn typescript(commands: &[CommandSig], events: &[EventSig]) -> String {
        let mut out = String::from(
            "// Generated from src-tauri by `cargo xtask bindings` (src-tauri/src/bridge.rs):\n\
             // every command's name, argument keys and types and answer, every event's name\n\
             // and payload. Do not edit: change the Rust side and regenerate.\n\
             import { listen, type UnlistenFn } from \"@tauri-apps/api/event\";\n\n",
        );
        out.push_str(&imports(commands, events));
        out.push_str(
            "\n/** The name of every command the app registers. */\nexport type CommandName =\n",
        );
        let names: Vec<String> = commands
            .iter()
            .map(|c| format!("  | \"{}\"", c.name))
            .collect();
        out.push_str(&names.join("\n"));
        out.push_str(
            ";\n\n/** Sends one command: Tauri's `invoke`, or a wrapper of it. */\n\
             export type Invoke = <T>(command: CommandName, args?: Record<string, unknown>) => Promise<T>;\n\n\
             /** Every command, typed from its Rust signature, sent through `invoke`. */\n\
             export function commands(invoke: Invoke) {\n  return {\n",
        );
        for c in commands {
            render_command(&mut out, c);
        }
        out.push_str(
            "  };\n}\n\n/** The name of every event the app emits. */\nexport const EVENTS = {\n",
        );
        for e in events {
            let _ = writeln!(out, "  {}: \"{}\",", camel(e.constant), e.name);
        }
        out.push_str(
            "} as const;\n\n/** Listens to one event, its payload typed from Rust; resolves to the function that stops. */\n\
             export const events = {\n",
        );
        for e in events {
            render_event(&mut out, e);
        }
        out.push_str("};\n");
        out
    }

    #[cfg(test)]
    mod tests {
        use super::camel;

        #[test]
        fn names_become_camel_case() {
            for (name, ts) in [
                ("sync_status", "syncStatus"),
                ("SYNC_STATUS", "syncStatus"),
                ("session", "session"),
                ("DEEP_LINK_REFUSED", "deepLinkRefused"),
                ("qr_png", "qrPng"),
            ] {
                assert_eq!(camel(name), ts, "{name}");
            }
        }
    }
}

/// The generated files: `bridge.ts` and the payload types declared in this
/// crate, relative to the bindings directory.
#[cfg(test)]
pub fn render_all() -> Vec<(String, String)> {
    let cfg = render::config();
    let commands = crate::command_signatures(&cfg);
    let events = crate::events::signatures(&cfg);
    let mut files = crate::events::local_types(&cfg);
    files.push((
        "bridge.ts".to_string(),
        render::typescript(&commands, &events),
    ));
    files
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::render_all;

    fn bindings_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(warmlead_core::bindings::BINDINGS_DIR)
    }

    /// Fails when a command or event changed and `cargo xtask bindings` was
    /// not run: the UI would call names or keys Rust no longer has.
    #[test]
    fn typescript_bridge_is_current() {
        let dir = bindings_dir();
        let stale: Vec<String> = render_all()
            .into_iter()
            .filter(|(file, source)| {
                std::fs::read_to_string(dir.join(file)).ok().as_ref() != Some(source)
            })
            .map(|(file, _)| file)
            .collect();
        assert!(
            stale.is_empty(),
            "stale TypeScript bridge {stale:?}: run `cargo xtask bindings` and commit"
        );
    }

    /// Writes the files; run by `cargo xtask bindings`, never by `cargo test`.
    #[test]
    #[ignore = "writes ui/src/bindings: run through `cargo xtask bindings`"]
    fn write_typescript_bridge() {
        let dir = bindings_dir();
        for (file, source) in render_all() {
            std::fs::write(dir.join(&file), source).unwrap();
            println!("wrote {}", dir.join(&file).display());
        }
    }

    /// The keys are Tauri's (camelCase of the Rust names), Tauri's own
    /// arguments (state, app handle) are left out, and every registered
    /// command is described.
    #[test]
    fn signatures_carry_tauris_keys() {
        let cfg = super::render::config();
        let commands = crate::command_signatures(&cfg);
        let keys = |name: &str| {
            commands
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.keys())
                .unwrap_or_else(|| panic!("{name} is not described"))
        };
        assert_eq!(keys("activate"), ["serverUrl", "code"]);
        assert_eq!(keys("upload_media"), ["uploadId", "path"]);
        assert_eq!(keys("add_team_member"), ["new"]);
        assert_eq!(keys("share_poster"), ["itemId", "token"]);
        assert_eq!(keys("session"), Vec::<&str>::new());
        assert_eq!(keys("sms_activation_code"), ["userId", "activationCode"]);
        let bridge = super::render::typescript(&commands, &[]);
        assert!(bridge.contains("addTeamMember: (newValue: NewTeamMember): Promise<IssuedCode> =>\n      invoke<IssuedCode>(\"add_team_member\", { new: newValue }),"), "{bridge}");
        assert!(bridge.contains("import type { Session } from \"./Session\";"));
    }

    /// Event names are unique (two events under one name would reach the
    /// same listeners with different payloads).
    #[test]
    fn event_names_are_unique() {
        let events = crate::events::signatures(&super::render::config());
        let mut names: Vec<&str> = events.iter().map(|e| e.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "{names:?}");
    }
}
