//! A local stand-in for the Interactive Brokers Client Portal Gateway.
//!
//! `ibkr-sim` serves the gateway's paths under `/v1/api` with IBKR's JSON, the
//! gateway's session rules (browser login, the read-only SSO session and the
//! brokerage session, idle timeout, re-authentication, logout, competing
//! sessions, allowed client addresses) and its self-signed HTTPS certificate.
//! Use it to develop and test programs without an IBKR account:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ibkr_sim::{Gateway, GatewayConfig};
//!
//! let gateway = Gateway::start(GatewayConfig::for_tests()).await?;
//! println!("gateway at {}", gateway.url());      // https://127.0.0.1:PORT
//! gateway.drop_brokerage_session();                // as if the brokerage session timed out
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Besides the API, the simulator serves the login page at `/` (as the real
//! gateway does) and a control API under `/sim/` for tests: see [`control`].
#![warn(missing_docs)]

mod accounts;
mod auth;
pub mod broker;
mod config;
mod contracts;
pub mod control;
mod faults;
mod gateway;
mod http;
pub mod instruments;
mod login;
mod market;
mod market_data;
pub mod matching;
pub mod oauth;
pub mod oauth_http;
mod orders;
mod pa;
mod pacing;
mod portfolio;
pub mod prices;
mod server;
pub mod session;
mod tls;
mod ws;

pub use config::{AllowList, GatewayConfig, Precautions};
pub use faults::{Fault, FaultKind, RandomFaults};
pub use gateway::{Gateway, StartError};
pub use ibkr_model::pacing::{Limit, PacingClass, PacingTable};
pub use oauth_http::OAuthSettings;
pub use session::{BrokerageState, SessionSnapshot};
pub use ws::{SentFrame, WsSettings};
