//! The desktop app's command bridge to the UI, one source of truth in Rust.
//!
//! `#[command]` on a function makes it a Tauri command (it adds
//! `#[tauri::command]`, with Tauri's defaults) and, in test builds, a hidden
//! `__bridge_command_<name>` function that describes it from the very same
//! signature: the command's name, each argument's key as Tauri reads it
//! (camelCase, heck's conversion, like Tauri's own macro) with its type, and
//! what it answers. `commands![path::to::cmd, ...]` is the app's one list of
//! commands: it expands to `invoke_handler()` (Tauri's `generate_handler!`
//! over that list) and, in test builds, `command_signatures()`. The app's
//! `bridge` module renders those into `ui/src/bindings/bridge.ts` with the
//! ts-rs names of the types.
//!
//! Why not tauri-specta: it describes types with specta's `Type`, so every
//! type the UI sees (they derive ts-rs's `TS` in warmlead-core) would need a
//! second derive, or the whole ts-rs export would have to move to specta.
//! This stays on ts-rs and needs no change to any type.

use heck::ToLowerCamelCase;
use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, Attribute, FnArg, ItemFn, Pat, Path, ReturnType, Token, Type};

/// Arguments Tauri fills in itself (never sent by the UI), by the last
/// segment of their type's path.
const INJECTED: &[&str] = &[
    "State",
    "AppHandle",
    "Window",
    "WebviewWindow",
    "Webview",
    "Request",
];

/// The prefix of the hidden function describing a command.
const SIGNATURE_PREFIX: &str = "__bridge_command_";

/// A Tauri command whose signature also reaches the generated TypeScript.
#[proc_macro_attribute]
pub fn command(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let msg = "#[bridge::command] takes no arguments: the TypeScript is generated \
                   for Tauri's defaults (camelCase argument keys, the function's name)";
        return syn::Error::new(proc_macro2::Span::call_site(), msg)
            .to_compile_error()
            .into();
    }
    let function = parse_macro_input!(item as ItemFn);
    match signature(&function) {
        Ok(sig) => quote! {
            #[::tauri::command]
            #function
            #sig
        }
        .into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The app's list of commands: Tauri's handler and their signatures.
#[proc_macro]
pub fn commands(input: TokenStream) -> TokenStream {
    let paths = parse_macro_input!(input with Punctuated::<Path, Token![,]>::parse_terminated);
    let signatures = paths.iter().map(|path| {
        let mut path = path.clone();
        if let Some(last) = path.segments.last_mut() {
            last.ident = format_ident!("{SIGNATURE_PREFIX}{}", last.ident);
        }
        quote!(#path(cfg))
    });
    let paths = paths.iter();
    quote! {
        /// Registers every command with Tauri.
        fn invoke_handler() -> impl Fn(::tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            ::tauri::generate_handler![#(#paths),*]
        }

        /// Every command's signature, in registration order, for the
        /// generated TypeScript.
        #[cfg(test)]
        pub fn command_signatures(cfg: &::ts_rs::Config) -> Vec<crate::bridge::CommandSig> {
            vec![#(#signatures),*]
        }
    }
    .into()
}

/// The hidden function describing `function` (test builds only: the
/// TypeScript is rendered and checked by tests).
fn signature(function: &ItemFn) -> syn::Result<TokenStream2> {
    let name = &function.sig.ident;
    let wire = name.unraw().to_string();
    let describe = format_ident!("{SIGNATURE_PREFIX}{}", name.unraw());
    let vis = &function.vis;
    let docs = doc_lines(&function.attrs);
    let mut args = Vec::new();
    for input in &function.sig.inputs {
        let FnArg::Typed(arg) = input else {
            return Err(syn::Error::new_spanned(input, "a command takes no self"));
        };
        if is_injected(&arg.ty) {
            continue;
        }
        let Pat::Ident(pat) = arg.pat.as_ref() else {
            return Err(syn::Error::new_spanned(
                &arg.pat,
                "name this argument: its name is the key the UI sends",
            ));
        };
        let key = pat.ident.unraw().to_string().to_lower_camel_case();
        let ty = &arg.ty;
        args.push(quote!(crate::bridge::ArgSig::new::<#ty>(cfg, #key)));
    }
    let answer = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    Ok(quote! {
        #[cfg(test)]
        #[doc(hidden)]
        #vis fn #describe(cfg: &::ts_rs::Config) -> crate::bridge::CommandSig {
            crate::bridge::CommandSig::new::<#answer>(cfg, #wire, &[#(#docs),*], vec![#(#args),*])
        }
    })
}

fn is_injected(ty: &Type) -> bool {
    let ty = match ty {
        Type::Reference(r) => r.elem.as_ref(),
        other => other,
    };
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| INJECTED.iter().any(|i| s.ident == i)),
        _ => false,
    }
}

/// The `///` lines of a function, for its TypeScript doc comment.
fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
