//! The closed set of error codes the UI and API clients can act on, and the
//! `{code, message}` shape every error takes at a boundary (HTTP or Tauri).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What went wrong, as a code a program can branch on. Messages are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The input is malformed or breaks a rule; the message says which.
    InvalidInput,
    /// No or unknown credentials: sign in again.
    Unauthorized,
    /// Signed in, but this role or company may not do this.
    Forbidden,
    NotFound,
    /// Conflicts with the current state (e.g. a sync sequence gap).
    Conflict,
    PayloadTooLarge,
    RateLimited,
    /// The server could not be reached; the change is kept and retried.
    Offline,
    /// Not signed in on this device yet.
    NotActivated,
    Internal,
}

impl ErrorCode {
    /// HTTP status used by the server for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput => 400,
            ErrorCode::Unauthorized | ErrorCode::NotActivated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Offline => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            ErrorCode::Offline | ErrorCode::RateLimited | ErrorCode::Internal
        )
    }
}

/// An error as it crosses a boundary: `{ "code": "...", "message": "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Errors of the pure rules in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("not a phone number: {0}")]
    InvalidPhone(String),
    #[error("malformed share token")]
    MalformedToken,
    #[error("share token signature does not match")]
    ForgedToken,
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::ForgedToken | CoreError::MalformedToken => ErrorCode::NotFound,
            _ => ErrorCode::InvalidInput,
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}
