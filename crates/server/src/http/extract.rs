//! Extractors whose rejections are `{code, message}` JSON, and the layer that
//! turns any other error response under /api into the same shape.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::de::DeserializeOwned;
use warmlead_core::api::MAX_JSON_BYTES;
use warmlead_core::error::ApiError;
use warmlead_core::ErrorCode;

use super::AppState;
use crate::error::{api_error_response, ServerError};
use crate::storage::Caller;

/// `Json<T>` whose rejections say what is wrong, as JSON.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(&rej)),
        }
    }
}

fn json_rejection(rej: &JsonRejection) -> ServerError {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ServerError::PayloadTooLarge(format!(
            "request body is larger than the limit of {MAX_JSON_BYTES} bytes"
        ))
    } else {
        ServerError::InvalidInput(rej.body_text())
    }
}

pub(crate) fn bytes_rejection(rej: &BytesRejection, limit: usize) -> ServerError {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ServerError::PayloadTooLarge(format!("request body is larger than {limit} bytes"))
    } else {
        ServerError::InvalidInput(rej.body_text())
    }
}

/// `Query<T>` with JSON rejections.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|rej: QueryRejection| ServerError::InvalidInput(rej.body_text()))
    }
}

/// The device behind `Authorization: Bearer <token>`.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ServerError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        crate::services::accounts::authenticate(&state.db, token.to_string()).await
    }
}

/// The device token of `Authorization: Bearer <token>`.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, ServerError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ServerError::Unauthorized("missing Authorization: Bearer <device token>".into())
        })?;
    header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or_else(|| {
            ServerError::Unauthorized(
                "the Authorization header must be `Bearer <device token>`".into(),
            )
        })
}

/// Any error response that is not JSON yet (axum's 405, a panic's 500, ...)
/// becomes `{code, message}` with the same status. HTML pages stay pages:
/// the public forms under /t answer a browser without script with one.
pub(crate) async fn jsonify_errors(res: Response) -> Response {
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let keep =
        content_type.starts_with("application/json") || content_type.starts_with("text/html");
    if !(status.is_client_error() || status.is_server_error()) || keep {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = api_error_response(&ApiError::new(code_for(status), message));
    *out.status_mut() = status;
    out
}

fn code_for(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        429 => ErrorCode::RateLimited,
        400..=499 => ErrorCode::InvalidInput,
        _ => ErrorCode::Internal,
    }
}
