//! The services: between HTTP (and the CLI, the demo seed, the SMS runner)
//! and storage. Every permission check, validation, token check and piece
//! of orchestration across aggregates lives here, calling the rules in
//! `warmlead-core`; storage is reached only through `storage::Stores`, one
//! trait per aggregate (docs/storage.md). Nothing here knows of HTTP.

pub(crate) mod accounts;
pub(crate) mod content;
pub(crate) mod invitations;
pub(crate) mod leads;
pub(crate) mod media;
pub(crate) mod pull;
pub(crate) mod push;
pub mod releases;
pub(crate) mod shares;
pub(crate) mod sms;
