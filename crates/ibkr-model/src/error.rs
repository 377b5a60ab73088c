//! Error bodies the API sends.

use serde::{Deserialize, Serialize};

use crate::Extra;

/// An RFC 7807 problem body (`application/problem+json`), which IBKR sends with 401
/// and some 400 answers, e.g. `{"type":"/simple","title":"Unauthorized","status":401,
/// "detail":"Access token expired"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ProblemDetail {
    /// Problem type, `/simple` in every IBKR example.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Short title, e.g. `Unauthorized`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The HTTP status repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProblemDetail {
    /// A `/simple` problem with a title, status and detail.
    pub fn simple(title: &str, status: u16, detail: &str) -> Self {
        ProblemDetail {
            kind: Some("/simple".into()),
            title: Some(title.into()),
            status: Some(status),
            detail: Some(detail.into()),
            extra: Extra::new(),
        }
    }
}

/// The `{"error": "...", "statusCode": N}` body of many IBKR failures; also sent with
/// HTTP 200 for some rejections (order rejections, `/tickle` failures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// The message.
    pub error: String,
    /// The HTTP status repeated, when IBKR includes it.
    #[serde(
        rename = "statusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<u16>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ErrorResponse {
    /// An error body with a message and status.
    pub fn new(error: impl Into<String>, status_code: Option<u16>) -> Self {
        ErrorResponse {
            error: error.into(),
            status_code,
            extra: Extra::new(),
        }
    }
}
