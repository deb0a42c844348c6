//! What the app-release aggregate (table `app_releases`: what `release add`
//! published and the update endpoint offers) can store and query. Kept per
//! server, not per company: every company on a server runs the same
//! program, and the operator ships it. Which release an app gets is decided
//! in `warmlead_core::release` and the releases service (`crate::releases`);
//! this only stores and reads. One implementation for both databases
//! (`releases.rs`): nothing here differs between them.

use crate::error::ServerError;

/// One published package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    /// `linux-x86_64`.
    pub target: String,
    /// The name it is published under (the operator's file's name).
    pub file: String,
    /// Its name in the media folder.
    pub stored_as: String,
    pub size: i64,
    /// The `.sig` file's text.
    pub signature: String,
    pub notes: String,
    pub published_at_ms: i64,
}

/// The app-release aggregate's storage (see the module comment).
pub(crate) trait ReleaseStore {
    /// Records a release; `false` when that version was already published
    /// for that target (published releases are never changed: apps may
    /// have installed them). One statement: two operators publishing at
    /// once store one.
    fn insert(&self, r: &Release) -> Result<bool, ServerError>;

    /// The versions published for `target`, in no order (versions are
    /// compared by semver, which SQL does not know).
    fn versions(&self, target: &str) -> Result<Vec<String>, ServerError>;

    fn get(&self, version: &str, target: &str) -> Result<Option<Release>, ServerError>;

    /// Every published package, oldest first.
    fn all(&self) -> Result<Vec<Release>, ServerError>;
}
