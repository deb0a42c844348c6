//! The one error type of this crate.

use warmlead_core::ErrorCode;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SmsError {
    /// Our input is wrong (bad number, empty text, bad config value).
    #[error("invalid SMS request: {0}")]
    InvalidInput(String),
    /// The provider refused our credentials or signature: a configuration problem.
    #[error("{provider} refused the credentials: {code}: {message}")]
    Unauthorized {
        provider: &'static str,
        code: String,
        message: String,
    },
    /// The provider throttled us (its own per-number or account limits).
    #[error("{provider} rate limit: {code}: {message}")]
    RateLimited {
        provider: &'static str,
        code: String,
        message: String,
    },
    /// The provider refused this message for another reason (template, signature name, number).
    #[error("{provider} rejected the message: {code}: {message}")]
    Rejected {
        provider: &'static str,
        code: String,
        message: String,
    },
    /// The provider could not be reached; retrying later may work.
    #[error("{provider} unreachable: {detail}")]
    Unreachable {
        provider: &'static str,
        detail: String,
    },
    /// The provider answered something we cannot read.
    #[error("{provider} answered unexpectedly (HTTP {status}): {body}")]
    BadResponse {
        provider: &'static str,
        status: u16,
        body: String,
    },
    /// Writing the console outbox failed.
    #[error("outbox: {0}")]
    Outbox(String),
}

impl SmsError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SmsError::InvalidInput(_) | SmsError::Rejected { .. } => ErrorCode::InvalidInput,
            // Our server's credentials are wrong: not the caller's fault, so not 401 for them.
            SmsError::Unauthorized { .. } | SmsError::BadResponse { .. } | SmsError::Outbox(_) => {
                ErrorCode::Internal
            }
            SmsError::RateLimited { .. } => ErrorCode::RateLimited,
            SmsError::Unreachable { .. } => ErrorCode::Offline,
        }
    }
}
