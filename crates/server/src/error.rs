//! The server's one error type. Every variant maps to a `warmlead_core::ErrorCode`
//! so it leaves the process as `{code, message}` with the matching status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use warmlead_core::error::ApiError;
use warmlead_core::{CoreError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unauthorized(String),
    /// The company switched this account or device off.
    #[error("{0}")]
    AccountDisabled(String),
    /// This device was revoked (the account may go on elsewhere).
    #[error("{0}")]
    DeviceRevoked(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Temporarily overloaded (e.g. the tracking queue is full).
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    RateLimited(String),
    /// An upload that sent nothing for too long: 408, and worth a retry.
    #[error("{0}")]
    Stalled(String),
    /// Refused for a known time (a paused activation): 429 with `Retry-After`.
    #[error("{message}")]
    TryLater {
        message: String,
        retry_after_secs: u64,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A storage query on either backend.
    #[error("{0}")]
    Database(#[from] crate::storage::sql::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("image: {0}")]
    Image(#[from] image::ImageError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    /// The PostgreSQL side (for now only `migrate`, the copy from SQLite).
    #[error("{0}")]
    Postgres(#[from] warmlead_server_postgres::Error),
}

impl ServerError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServerError::InvalidInput(_) => ErrorCode::InvalidInput,
            ServerError::Unauthorized(_) => ErrorCode::Unauthorized,
            ServerError::AccountDisabled(_) => ErrorCode::AccountDisabled,
            ServerError::DeviceRevoked(_) => ErrorCode::DeviceRevoked,
            ServerError::Forbidden(_) => ErrorCode::Forbidden,
            ServerError::NotFound(_) => ErrorCode::NotFound,
            ServerError::Conflict(_) => ErrorCode::Conflict,
            ServerError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            ServerError::Busy(_) | ServerError::Stalled(_) => ErrorCode::Offline,
            ServerError::RateLimited(_) | ServerError::TryLater { .. } => ErrorCode::RateLimited,
            // A deadlock, a lost connection, a full pool: retrying may pass.
            ServerError::Database(crate::storage::sql::Error::Transient(_)) => ErrorCode::Offline,
            ServerError::Config(_)
            | ServerError::Sqlite(_)
            | ServerError::Database(_)
            | ServerError::Io(_)
            | ServerError::Image(_)
            | ServerError::Json(_)
            | ServerError::Join(_)
            | ServerError::Postgres(_) => ErrorCode::Internal,
        }
    }

    /// Whether this error is the caller's fault (and so, inside a pushed
    /// mutation, a permanent rejection rather than a reason to abort).
    pub fn is_client_error(&self) -> bool {
        self.code() != ErrorCode::Internal
    }

    /// The `{code, message}` a client sees. Internal details stay in the log.
    pub fn to_api(&self) -> ApiError {
        match self.code() {
            ErrorCode::Internal => ApiError::new(ErrorCode::Internal, "internal server error"),
            // The database's own words stay in the log.
            ErrorCode::Offline if matches!(self, ServerError::Database(_)) => {
                ApiError::new(ErrorCode::Offline, "the database is busy; retry shortly")
            }
            code => ApiError::new(code, self.to_string()),
        }
    }
}

impl From<CoreError> for ServerError {
    fn from(e: CoreError) -> Self {
        match e.code() {
            ErrorCode::NotFound => ServerError::NotFound(e.to_string()),
            _ => ServerError::InvalidInput(e.to_string()),
        }
    }
}

/// Renders an `ApiError` with the status its code calls for.
pub fn api_error_response(err: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(err)).into_response()
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        match self.code() {
            ErrorCode::Internal => tracing::error!(error = %self, "request failed"),
            ErrorCode::Offline => {
                tracing::warn!(error = %self, "request failed; may pass on a retry")
            }
            _ => {}
        }
        let mut res = api_error_response(&self.to_api());
        if let ServerError::Stalled(_) = self {
            *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
        }
        if let ServerError::TryLater {
            retry_after_secs, ..
        } = self
        {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql;

    /// A transient database failure is a 503 the client retries, without
    /// the database's words; a bug is a 500.
    #[test]
    fn database_failures_map_to_retry_or_internal() {
        let busy = ServerError::Database(sql::Error::Transient("deadlock detected".into()));
        assert_eq!(busy.code(), ErrorCode::Offline);
        assert_eq!(busy.to_api().message, "the database is busy; retry shortly");
        let bug = ServerError::Database(sql::Error::Other("syntax".into()));
        assert_eq!(bug.code(), ErrorCode::Internal);
        assert_eq!(bug.to_api().message, "internal server error");
    }
}
