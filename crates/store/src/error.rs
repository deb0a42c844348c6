//! The store's one error type.

use warmlead_core::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot create {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("this device is not signed in")]
    NotActivated,
    #[error(
        "this device's token could not be read from where it is kept (the log says why); \
         unlock or start the system keychain and restart the app, or sign out and in again"
    )]
    TokenUnavailable,
    #[error("cannot keep the device token: {0}")]
    Vault(#[from] warmlead_secrets::VaultError),
    #[error(
        "{0} changes have not reached the server yet; sync first, or sign out anyway and lose them"
    )]
    PendingChanges(i64),
    #[error("content item {0} is not in the local cache")]
    ItemNotFound(i64),
    #[error("lead {0} is not in the local cache")]
    LeadNotFound(i64),
    #[error("partner {0} is not in the local cache")]
    PartnerNotFound(i64),
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the local database holds unreadable data: {0}")]
    Corrupt(String),
    #[error("the local database has schema {found}, newer than this app knows ({known}); update the app")]
    TooNew { found: i64, known: i64 },
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotActivated => ErrorCode::NotActivated,
            StoreError::TokenUnavailable | StoreError::Vault(_) => ErrorCode::Internal,
            StoreError::PendingChanges(_) => ErrorCode::Conflict,
            StoreError::ItemNotFound(_)
            | StoreError::LeadNotFound(_)
            | StoreError::PartnerNotFound(_) => ErrorCode::NotFound,
            StoreError::Invalid { .. } => ErrorCode::InvalidInput,
            StoreError::Db(_)
            | StoreError::Io { .. }
            | StoreError::Corrupt(_)
            | StoreError::TooNew { .. } => ErrorCode::Internal,
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<StoreError> for warmlead_core::error::ApiError {
    fn from(e: StoreError) -> Self {
        warmlead_core::error::ApiError::new(e.code(), e.to_string())
    }
}
