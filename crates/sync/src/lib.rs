//! The desktop's sync engine: pushes the outbox in seq order, pulls the
//! server's changes page by page, and keeps doing so in the background with
//! backoff when the server cannot be reached. See DESIGN.md, "Sync".

mod client;
mod engine;
mod error;
mod live;
mod once;
mod upload;

pub use client::{activate, Client};
pub use engine::{backoff_delay, SyncEngine, SyncHandle, MAX_BACKOFF};
pub use error::SyncError;
pub use once::{sync_once, sync_once_with, SyncOptions, SyncReport};
pub use upload::media_type_of;
