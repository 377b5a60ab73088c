//! Error answers in IBKR's shapes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ibkr_model::error::{ErrorResponse, ProblemDetail};

/// An error answer of the gateway.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// No SSO session: 401 with IBKR's problem body.
    NotLoggedIn,
    /// SSO session but no brokerage session, on `/iserver/*`.
    NoBrokerage,
    /// 400 with a message.
    BadRequest(String),
    /// 500 with a message.
    Internal(String),
    /// 500 with only `{"error": message}` (IBKR's errorOnlyResponse).
    InternalOnly(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotLoggedIn => {
                let mut r = (
                    StatusCode::UNAUTHORIZED,
                    Json(ProblemDetail::simple(
                        "Unauthorized",
                        401,
                        "Access token expired",
                    )),
                )
                    .into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                );
                r
            }
            ApiError::NoBrokerage => error_body(StatusCode::UNAUTHORIZED, "not authenticated"),
            ApiError::BadRequest(m) => error_body(StatusCode::BAD_REQUEST, &m),
            ApiError::Internal(m) => error_body(StatusCode::INTERNAL_SERVER_ERROR, &m),
            ApiError::InternalOnly(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(ErrorResponse::new(m, None)),
            )
                .into_response(),
        }
    }
}

/// `{"error": ..., "statusCode": ...}` with that status.
pub(crate) fn error_body(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorResponse::new(message, Some(status.as_u16()))),
    )
        .into_response()
}
