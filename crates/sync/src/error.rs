//! The sync engine's one error type.

use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;
use warmlead_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (refused, timed out, DNS...). Retried.
    #[error("the server cannot be reached: {0}")]
    Offline(String),
    /// The server refused a push because a seq is missing before it (409).
    #[error("the server refused the push as a sequence gap: {}", .0.message)]
    Gap(ApiError),
    /// Any other `{code, message}` the server answered with.
    #[error("the server answered {}: {}", .0.code.http_status(), .0.message)]
    Api(ApiError),
    #[error("this device is not signed in")]
    NotActivated,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server answered something that is not our protocol.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    #[error("the sync task stopped: {0}")]
    Task(String),
}

impl SyncError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SyncError::Offline(_) => ErrorCode::Offline,
            SyncError::Gap(_) => ErrorCode::Conflict,
            SyncError::Api(e) => e.code,
            SyncError::NotActivated => ErrorCode::NotActivated,
            SyncError::Store(e) => e.code(),
            SyncError::Protocol(_) | SyncError::Task(_) => ErrorCode::Internal,
        }
    }

    /// Whether trying again later may succeed (drives the backoff).
    pub fn is_temporary(&self) -> bool {
        match self {
            // A broken answer is as likely a proxy hiccup as a bug: keep trying.
            SyncError::Protocol(_) => true,
            // A busy local database is temporary; corrupt data is not.
            SyncError::Store(StoreError::Db(_)) => true,
            other => other.code().is_temporary(),
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Api(api) | SyncError::Gap(api) => api,
            other => ApiError::new(other.code(), other.to_string()),
        }
    }
}
