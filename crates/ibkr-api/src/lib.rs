//! A typed client for the Interactive Brokers **Client Portal Web API**.
//!
//! The API is served by the Client Portal Gateway (`https://localhost:5000/v1/api`
//! once you have logged in through the browser). This crate covers it with typed
//! calls, exact wire types (from [`ibkr_model`]), errors that say what to do next,
//! and a [session keeper](session) that keeps the session alive.
//!
//! ```no_run
//! use std::time::Duration;
//! use ibkr_api::{Client, ReauthOutcome};
//!
//! # async fn run() -> ibkr_api::Result<()> {
//! let client = Client::builder().gateway("https://localhost:5000").build()?;
//!
//! // Is the brokerage session up? If not, bring it back.
//! match client.handle_reauthentication().await? {
//!     ReauthOutcome::AlreadyAuthenticated | ReauthOutcome::Reauthenticated => {}
//!     ReauthOutcome::Failed { reason } => eprintln!("{reason}"),
//!     _ => {}
//! }
//! let tickle = client.ping_server().await?;
//! println!("session {:?} authenticated: {}", tickle.session, tickle.is_authenticated());
//!
//! // Keep it alive while the program runs; dropped, it stops.
//! let _keeper = client.keep_alive(Duration::from_secs(60));
//! # Ok(()) }
//! ```
//!
//! Certificates are verified, except that a self-signed certificate is accepted from
//! a gateway on a loopback address (as the stock gateway ships one) or when its
//! fingerprint is pinned: see [`ClientBuilder::pin_certificate_sha256`].
//!
//! Every request waits its turn under IBKR's rate limits ([`pacing`]), and failed
//! reads are retried by a pure, tested policy ([`retry`]); order-changing requests
//! never are.
#![warn(missing_docs)]

mod accounts;
mod auth;
mod client;
pub mod contracts;
mod endpoint;
mod error;
pub mod market_data;
pub mod oauth;
pub mod orders;
pub mod pa;
pub mod pacing;
pub mod portfolio;
pub mod retry;
pub mod session;
pub mod streaming;
mod tls;

pub use auth::{AuthOutcome, ReauthOutcome};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_PATH, DEFAULT_GATEWAY};
pub use endpoint::Endpoint;
pub use error::{Error, Result};
pub use ibkr_model as model;
pub use orders::{OrderTicket, PlacedOrder, Placement, PromptPolicy, ReplyId};
pub use pacing::{PacingClass, PacingMetrics, PacingTable};
pub use reqwest::Method;
pub use retry::RetryPolicy;
pub use rust_decimal::Decimal;
pub use session::{KeeperConfig, SessionKeeper, SessionState};

// The guides' code blocks are compiled (and, where they need no gateway, run) as
// doctests, so the documentation cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/tutorials/authentication.md")]
mod tutorial_authentication {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/test-with-the-simulator.md")]
mod howto_test_with_the_simulator {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/rate-limits-and-retries.md")]
mod howto_rate_limits_and_retries {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/market-data.md")]
mod howto_market_data {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/account-management.md")]
mod howto_account_management {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/trading.md")]
mod howto_trading {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/oauth.md")]
mod howto_oauth {}

#[cfg(doctest)]
#[doc = include_str!("../../../docs/how-to/streaming.md")]
mod howto_streaming {}
