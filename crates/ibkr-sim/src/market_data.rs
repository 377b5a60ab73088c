//! Market data, served from the price engine: snapshots (with IBKR's pre-flight: the
//! first request for a contract in a session only opens its stream), history,
//! unsubscribe.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use ibkr_model::contracts::Conid;
use ibkr_model::market_data::{
    Bar, HistoryResponse, MarketDataField, SnapshotRow, UnsubscribeAllResponse, UnsubscribeRequest,
    UnsubscribeResponse,
};
use ibkr_model::time::EpochMillis;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use crate::gateway::Shared;
use crate::http::ApiError;
use crate::instruments::{Instrument, MarketState, SecType};
use crate::session::BrokerageState;

use crate::market::{Q, bad, dec, instrument, need_brokerage};

#[derive(Deserialize)]
pub(crate) struct SnapshotQuery {
    conids: String,
    #[serde(default)]
    fields: Option<String>,
}

/// IBKR's display form of a size or volume: `1.2K`, `3.4M`.
fn size_text(d: Decimal) -> String {
    let v = d.to_f64().unwrap_or(0.0);
    if v >= 1_000_000.0 {
        format!("{:.2}M", v / 1_000_000.0)
    } else if v >= 10_000.0 {
        format!("{:.1}K", v / 1_000.0)
    } else {
        dec(d.round())
    }
}

/// `GET /iserver/marketdata/snapshot`.
pub(crate) async fn snapshot(
    State(gw): State<Shared>,
    Q(q): Q<SnapshotQuery>,
) -> Result<Json<Vec<SnapshotRow>>, ApiError> {
    let conids: Vec<i64> = q
        .conids
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<i64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("Bad Request: conids must be comma-separated numbers"))?;
    if conids.is_empty() {
        return Err(bad("Bad Request: conids required"));
    }
    let fields: Vec<MarketDataField> = q
        .fields
        .as_deref()
        .unwrap_or("31")
        .split(',')
        .filter_map(|f| f.trim().parse::<u32>().ok())
        .map(MarketDataField::from_id)
        .collect();
    // The pre-flight rules of the session.
    let first_time: Vec<bool> = {
        let mut m = gw.session();
        let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
        if sso.brokerage != BrokerageState::Authenticated {
            return Err(ApiError::NoBrokerage);
        }
        if !sso.accounts_queried {
            return Err(bad("Bad Request: Please query /accounts first"));
        }
        conids.iter().map(|c| sso.md_streams.insert(*c)).collect()
    };
    let now = gw.market.now();
    let updated = EpochMillis(now.timestamp_millis());
    let mut rows = Vec::new();
    for (n, (conid, first)) in conids.iter().zip(first_time).enumerate() {
        let mut row = SnapshotRow::new(Conid(*conid));
        row.updated = Some(updated);
        row.server_id = Some(format!("q{n}"));
        if !first && let Ok(i) = instrument(&gw, *conid) {
            fill(&gw, i, now, &fields, &mut row);
        }
        rows.push(row);
    }
    Ok(Json(rows))
}

/// Sets the `fields` of a contract's row from the price engine at `now`, as the
/// snapshot (and the `smd` websocket topic) shows them.
pub(crate) fn fill(
    gw: &Shared,
    i: &Instrument,
    now: DateTime<Utc>,
    fields: &[MarketDataField],
    row: &mut SnapshotRow,
) {
    let Some(q) = gw.market.engine.quote(i.conid, now) else {
        return;
    };
    let lots = if i.is_us() && i.sec_type == SecType::Stock {
        Decimal::from(100)
    } else {
        Decimal::ONE
    };
    let closed = q.state == MarketState::Closed;
    // Closed, IBKR shows the last regular session's closing price, prefixed `C`.
    let last = if closed {
        last_regular_close(gw, i, now).unwrap_or(q.last)
    } else {
        q.last
    };
    row.set(
        MarketDataField::from_id(6509),
        if closed { "DPB" } else { "RpB" },
    );
    row.set(
        MarketDataField::from_id(6119),
        row.server_id.clone().unwrap_or_default(),
    );
    for f in fields {
        let v: Option<String> = match f.id() {
            31 => Some(if closed {
                format!("C{}", dec(last))
            } else {
                dec(last)
            }),
            55 => Some(i.symbol.clone()),
            7051 => Some(i.name.clone()),
            6070 => Some(i.sec_type.code().to_string()),
            84 => Some(dec(q.bid)),
            86 => Some(dec(q.ask)),
            85 => Some(dec((Decimal::from(q.ask_size) / lots).round())),
            88 => Some(dec((Decimal::from(q.bid_size) / lots).round())),
            7059 => Some(dec(Decimal::from(q.last_size))),
            87 => Some(size_text(Decimal::from(q.volume))),
            7762 => Some(dec(Decimal::from(q.volume))),
            70 => Some(dec(q.high)),
            71 => Some(dec(q.low)),
            7295 => Some(dec(q.open)),
            7741 => Some(dec(q.prior_close)),
            82 => Some(if q.change.is_sign_negative() {
                dec(q.change)
            } else {
                format!("+{}", dec(q.change))
            }),
            83 => Some(format!("{}%", dec(q.change_pct))),
            7633 => q
                .option
                .as_ref()
                .map(|o| format!("{:.1}%", o.implied_vol * 100.0)),
            7308 => q.option.as_ref().map(|o| format!("{:.3}", o.delta)),
            7309 => q.option.as_ref().map(|o| format!("{:.4}", o.gamma)),
            7310 => q.option.as_ref().map(|o| format!("{:.3}", o.theta)),
            7311 => q.option.as_ref().map(|o| format!("{:.3}", o.vega)),
            _ => None,
        };
        if let Some(v) = v {
            row.set(*f, v);
        }
    }
}

/// The price at the close of the latest regular session that has ended by `now`.
fn last_regular_close(gw: &Shared, i: &Instrument, now: DateTime<Utc>) -> Option<Decimal> {
    let sched = &i.schedule;
    let mut day = sched.trading_day_at(now);
    for _ in 0..10 {
        if let Some(s) = sched.regular_session(day)
            && s.close <= now
        {
            return gw.market.engine.price(i.conid, s.close);
        }
        day = sched.previous_trading_day(day);
    }
    None
}

/// `POST /iserver/marketdata/unsubscribe`.
pub(crate) async fn unsubscribe(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<UnsubscribeResponse>, ApiError> {
    need_brokerage(&gw)?;
    let req: UnsubscribeRequest = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("Bad Request: body must be {{\"conid\": N}}: {e}")))?;
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    // IBKR answers 500 {"error":"unknown"} for a contract without an open stream.
    if !sso.md_streams.remove(&req.conid.0) {
        return Err(ApiError::InternalOnly("unknown".into()));
    }
    Ok(Json(UnsubscribeResponse::new(true)))
}

/// `GET /iserver/marketdata/unsubscribeall`.
pub(crate) async fn unsubscribe_all(
    State(gw): State<Shared>,
) -> Result<Json<UnsubscribeAllResponse>, ApiError> {
    need_brokerage(&gw)?;
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    sso.md_streams.clear();
    Ok(Json(UnsubscribeAllResponse::new(true)))
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    conid: i64,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    bar: Option<String>,
    #[serde(default, rename = "outsideRth")]
    outside_rth: Option<bool>,
}

/// `n` and unit of `5min`, `1d`...
fn split_unit(s: &str) -> Option<(u32, String)> {
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit: String = s[digits.len()..].to_string();
    Some((digits.parse().ok()?, unit))
}

/// A bar spec in seconds (`S`, `min`, `h`, `d`, `w`, `m`), as IBKR lists them.
fn bar_seconds(bar: &str) -> Option<u64> {
    let (n, unit) = split_unit(bar)?;
    let allowed: &[u32] = match unit.as_str() {
        "S" | "s" | "secs" => &[1, 5, 10, 15, 30],
        "min" | "mins" => &[1, 2, 3, 5, 10, 15, 30],
        "h" | "hrs" => &[1, 2, 3, 4, 8],
        "d" => &[1],
        "w" => &[1],
        "m" => &[1],
        _ => return None,
    };
    if !allowed.contains(&n) {
        return None;
    }
    let unit_s: u64 = match unit.as_str() {
        "S" | "s" | "secs" => 1,
        "min" | "mins" => 60,
        "h" | "hrs" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => 30 * 86_400,
    };
    Some(u64::from(n) * unit_s)
}

/// A period in seconds (`min`, `h`, `d`, `w`, `m`, `y`).
fn period_seconds(period: &str) -> Option<u64> {
    let (n, unit) = split_unit(period)?;
    let (max, unit_s): (u32, u64) = match unit.as_str() {
        "min" => (30, 60),
        "h" => (8, 3600),
        "d" => (1000, 86_400),
        "w" => (792, 7 * 86_400),
        "m" => (182, 30 * 86_400),
        "y" => (15, 365 * 86_400),
        _ => return None,
    };
    if n == 0 || n > max {
        return None;
    }
    Some(u64::from(n) * unit_s)
}

/// `GET /iserver/marketdata/history`.
pub(crate) async fn history(
    State(gw): State<Shared>,
    Q(q): Q<HistoryQuery>,
) -> Result<Json<HistoryResponse>, ApiError> {
    need_brokerage(&gw)?;
    let i = instrument(&gw, q.conid)?;
    let period = q.period.unwrap_or_else(|| "1w".into());
    let bar = q.bar.unwrap_or_else(|| "1d".into());
    let p = period_seconds(&period)
        .ok_or_else(|| bad(format!("Bad Request: invalid period: {period}")))?;
    let b = bar_seconds(&bar).ok_or_else(|| bad(format!("Bad Request: invalid bar: {bar}")))?;
    if b > p {
        return Err(bad(format!(
            "Bad Request: bar {bar} is longer than the period {period}"
        )));
    }
    let outside_rth = q.outside_rth.unwrap_or(false);
    // Bars of the trading time in the period: weekdays only, and the hours of one
    // trading day (regular hours for stocks unless outside_rth).
    let trading_days = |secs: u64| (secs / 86_400 * 5 / 7).max(1);
    let day_secs: u64 = match (i.sec_type, outside_rth) {
        (SecType::Stock | SecType::Option, false) => 6 * 3600 + 1800,
        (SecType::Stock | SecType::Option, true) => 16 * 3600,
        (SecType::Future, _) => 23 * 3600,
        _ => 24 * 3600,
    };
    let count = if b >= 7 * 86_400 {
        (p / b).max(1)
    } else if b >= 86_400 {
        trading_days(p)
    } else if p >= 86_400 {
        trading_days(p) * day_secs / b
    } else {
        p / b
    }
    .clamp(1, 5000) as usize;
    let now = gw.market.now();
    let bars = gw.market.engine.bars(
        i.conid,
        now,
        chrono::Duration::seconds(b as i64),
        count,
        outside_rth,
    );
    let data: Vec<Bar> = bars
        .iter()
        .map(|x| {
            Bar::new(
                EpochMillis(x.time.timestamp_millis()),
                x.open,
                x.high,
                x.low,
                x.close,
                Decimal::from(x.volume),
            )
        })
        .collect();
    let mut h = HistoryResponse::new(i.symbol.clone(), period, b as i64, data);
    h.server_id = "20477".into();
    h.text = i.name.clone();
    h.outside_rth = outside_rth;
    if let Some(first) = bars.first() {
        h.start_time = first.time.format("%Y%m%d-%H:%M:%S").to_string();
    }
    let hi = bars.iter().max_by_key(|x| x.high);
    let lo = bars.iter().min_by_key(|x| x.low);
    let point = |price: Decimal, vol: Decimal, t: DateTime<Utc>| {
        let start = bars.first().map(|f| f.time).unwrap_or(t);
        format!(
            "{}/{}/{}",
            (price * Decimal::from(100)).round(),
            vol.round(),
            (t - start).num_minutes()
        )
    };
    if let (Some(hi), Some(lo)) = (hi, lo) {
        h.high = point(hi.high, Decimal::from(hi.volume), hi.time);
        h.low = point(lo.low, Decimal::from(lo.volume), lo.time);
    }
    h.mkt_data_delay = Some(0);
    h.trading_day_duration = Some((day_secs / 60) as i64);
    h.volume_factor = Some(1);
    h.price_display_rule = Some(1);
    h.price_display_value = Some(i.tick.scale().to_string());
    h.negative_capable = Some(false);
    h.message_version = Some(2);
    h.points = Some(h.data.len() as i64 - 1);
    h.travel_time = Some(12);
    h.direction = Some(-1);
    Ok(Json(h))
}
