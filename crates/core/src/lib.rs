//! Warmlead's shared core: the names of the domain, the rules that need no IO,
//! and the wire types that client and server both compile against so the sync
//! protocol cannot drift.

pub mod activation;
pub mod api;
pub mod app;
pub mod article;
pub mod bindings;
pub mod botfilter;
pub mod company;
pub mod csv_import;
pub mod domain;
pub mod error;
pub mod invite;
pub mod lead;
pub mod limits;
pub mod phone;
pub mod release;
pub mod scoring;
pub mod signin;
pub mod sync;
pub mod team;
pub mod time;
pub mod token;
pub mod tracking;
pub mod visibility;

pub use error::{CoreError, ErrorCode};
