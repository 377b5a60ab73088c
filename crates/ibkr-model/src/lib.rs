//! Wire types of the Interactive Brokers Client Portal Web API.
//!
//! This crate has no I/O. It holds the request and response types of the API,
//! named and shaped exactly as IBKR sends them (including quirks such as the
//! `collission` field of `/tickle`), so that both the client (`ibkr-api`) and
//! the gateway simulator (`ibkr-sim`) speak the same JSON.
//!
//! Conventions:
//! - fields IBKR may omit are `Option`; fields we have never seen it omit are not;
//! - every response object keeps the fields it does not know in an `extra` map,
//!   so nothing IBKR sends is lost, and re-serialising a response gives back
//!   the same keys;
//! - public structs are `#[non_exhaustive]`: build them with their constructors
//!   or `Default` and field updates.
//!
//! ```
//! use ibkr_model::auth::AuthStatus;
//!
//! let body = r#"{"authenticated":false,"competing":false,"connected":false,"MAC":"98:B2:C3:45:DE:F6"}"#;
//! let status: AuthStatus = serde_json::from_str(body).unwrap();
//! assert!(!status.authenticated);
//! assert_eq!(status.mac.as_deref(), Some("98:B2:C3:45:DE:F6"));
//! ```
#![warn(missing_docs)]

pub mod accounts;
pub mod auth;
pub mod contracts;
pub mod error;
pub mod market_data;
pub mod num;
pub mod orders;
pub mod pacing;
pub mod portfolio;
pub mod streaming;
pub mod time;

/// A JSON object holding the fields a type does not model, kept so that nothing is lost.
pub type Extra = serde_json::Map<String, serde_json::Value>;
