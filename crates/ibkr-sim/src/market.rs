//! The glue between the instrument universe, the price engine and the endpoints of
//! [`contracts`](crate::contracts) and [`market_data`](crate::market_data): the
//! market's clock and the helpers both areas share.

use std::str::FromStr;
use std::time::Duration;

use axum::extract::Query;
use chrono::{DateTime, Utc};
use ibkr_model::contracts::SecType as WireSecType;
use rust_decimal::Decimal;

use crate::gateway::Shared;
use crate::http::ApiError;
use crate::instruments::{Instrument, Right, SecType};
use crate::session::BrokerageState;

/// A query string, refused with IBKR's JSON 400 (not axum's text) when malformed.
pub(crate) struct Q<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Q<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| bad(format!("Bad Request: {}", e.body_text())))
    }
}

/// IBKR's primary-exchange name without NASDAQ's market tier.
pub(crate) fn primary(i: &Instrument) -> String {
    i.listing_exchange
        .split('.')
        .next()
        .unwrap_or(&i.listing_exchange)
        .to_string()
}

/// IBKR's trading class: `NMS` for NASDAQ stocks, the symbol otherwise.
pub(crate) fn trading_class(i: &Instrument) -> String {
    if i.sec_type == SecType::Stock && i.listing_exchange.starts_with("NASDAQ") {
        "NMS".into()
    } else {
        i.symbol.clone()
    }
}

/// IBKR's description of an option, e.g. `JAN 05 '24 195 Put`.
pub(crate) fn option_text(o: &crate::instruments::OptionTerms) -> String {
    format!(
        "{} '{} {} {}",
        o.expiry.format("%b %d").to_string().to_ascii_uppercase(),
        o.expiry.format("%y"),
        o.strike.normalize(),
        match o.right {
            Right::Call => "Call",
            Right::Put => "Put",
        }
    )
}

pub(crate) fn wire_sec_type(t: SecType) -> WireSecType {
    WireSecType::from_str(t.code()).unwrap_or(WireSecType::Stk)
}

pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// Everything but `/iserver/*` needs only the SSO session.
pub(crate) fn need_sso(gw: &Shared) -> Result<(), ApiError> {
    gw.session()
        .sso()
        .map(|_| ())
        .map_err(|_| ApiError::NotLoggedIn)
}

/// `/iserver/*` market calls need the brokerage session.
pub(crate) fn need_brokerage(gw: &Shared) -> Result<(), ApiError> {
    let m = gw.session();
    let sso = m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    if sso.brokerage != BrokerageState::Authenticated {
        return Err(ApiError::NoBrokerage);
    }
    Ok(())
}

pub(crate) fn instrument(gw: &Shared, conid: i64) -> Result<&Instrument, ApiError> {
    u32::try_from(conid)
        .ok()
        .and_then(|c| gw.market.universe.get(c))
        .ok_or_else(|| bad(format!("Bad Request: conid is not valid: {conid}")))
}

pub(crate) fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The universe and the prices behind these endpoints.
pub(crate) struct Market {
    pub universe: crate::instruments::Universe,
    pub engine: crate::prices::PriceEngine,
    /// The market's time at `started`.
    origin: DateTime<Utc>,
    started: std::time::Instant,
}

impl Market {
    pub fn new(seed: u64, start: Option<DateTime<Utc>>) -> Market {
        let origin = start.unwrap_or_else(Utc::now);
        let universe = crate::instruments::Universe::standard(origin.date_naive());
        let engine = crate::prices::PriceEngine::new(seed, &universe);
        Market {
            universe,
            engine,
            origin,
            started: std::time::Instant::now(),
        }
    }

    /// The market's time now.
    pub fn now(&self) -> DateTime<Utc> {
        let run: Duration = self.started.elapsed();
        self.origin + chrono::Duration::from_std(run).unwrap_or_default()
    }
}

/// Builds a wire value from IBKR-shaped JSON (for types without a constructor).
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::Internal(format!("simulator bug: {e}")))
}
