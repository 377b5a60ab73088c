//! The order endpoints: the HTTP layer over the [matching engine](crate::matching).
//!
//! - `POST /iserver/account/{acct}/orders`: places one order, a bracket (children name
//!   the parent's `cOID` in `parentId`) or a one-cancels-all group (`isSingleGroup`);
//! - `POST /iserver/account/orders/{faGroup}`: an advisor's order, allocated across the
//!   master account's sub-accounts;
//! - `POST /iserver/reply/{replyId}`: confirms (or declines) a prompt;
//! - `POST /iserver/account/{acct}/orders/whatif`: previews cost, commission and margin;
//! - `POST` and `DELETE /iserver/account/{acct}/order/{orderId}`: modifies, cancels;
//! - `GET /iserver/account/orders`, `GET /iserver/account/order/status/{orderId}`,
//!   `GET /iserver/account/trades`: live orders, one order in detail, executions;
//! - `POST /iserver/questions/suppress`, `/suppress/reset`, `POST /iserver/notification`.
//!
//! Every order call needs the brokerage session and, as at IBKR, `/iserver/accounts`
//! called first in the session (else 400 "Please query /accounts first").
//!
//! # The engine's clock
//!
//! Requests take effect at the engine's next evaluation, so every handler advances
//! the engine to the market's time before acting and again after, and answers the
//! acknowledged state (a market order in regular hours answers `Filled`, a resting
//! limit `Submitted`, an order outside its hours `PreSubmitted`). Working orders are
//! also matched by a background task (every [`GatewayConfig::order_tick`], 250 ms),
//! and the portfolio, account and performance endpoints advance the engine before
//! they value an account, so positions and cash always show the fills.
//!
//! # Prompts
//!
//! Before an order goes out, the gateway may ask questions, one at a time: each answer
//! to `/iserver/reply/{id}` with `{"confirmed": true}` brings the next question, and
//! the last one places the orders. The questions, in this order, each with IBKR's
//! message id:
//!
//! | id | when |
//! |---|---|
//! | `p6` | an advisor's group order (allocated over several accounts) |
//! | `o354` | the session has no market-data stream open for the contract (no snapshot asked for it) |
//! | `o163` | the limit price (or midprice cap) is further from the last price than the price percentage constraint (3 %) |
//! | `o383` | the size is above the size limit (500 units; not for currency pairs) |
//! | `o451` | the value estimate is above the total value limit (100,000 USD) |
//! | `o403` | a stop order whose stop price the last price has already reached |
//! | `o10331` | a stop, stop-limit or trailing order |
//! | `o10151` | a market order allowed to work outside regular trading hours |
//! | `o10164` | an order sized by a cash amount |
//!
//! The limits are the [`Precautions`](crate::Precautions) of the configuration. The
//! wording is IBKR's where its documentation gives it (`p6`, `o354`, `o163`, `o383`,
//! `o451`, `o403`, `o10331`, `o10164`); IBKR describes `o10151` only as "warns about
//! risks with market orders", and the simulator's wording says so. A modification
//! gets the `o163`, `o383`, `o451` and `o403` questions about its new terms.
//! Ids suppressed with `/iserver/questions/suppress` (for the rest of the brokerage
//! session) are skipped; `{"confirmed": false}` discards the orders.
//!
//! A reply id is valid for [`GatewayConfig::reply_timeout`] (60 s), in the session
//! that received it, and only until the session places or modifies another order (as
//! IBKR documents: "submitting other orders ... will cancel the order"); after that,
//! and for ids never given, the answer is IBKR's `{"error": "reply id not found: '…'"}`.
//!
//! # Rejections
//!
//! A refused order is HTTP 200 `{"error": message}`, as IBKR answers: the engine's
//! reasons (unknown contract, bad quantity or price, insufficient funds, a client
//! order id the account already used, ...), and IBKR's recorded texts where known:
//! `OrderID {id} doesn't exist` for an unknown order, `Order not confirmed ` for a
//! declined prompt. The orders of one request are placed all or none.
//!
//! [`GatewayConfig::order_tick`]: crate::GatewayConfig::order_tick
//! [`GatewayConfig::reply_timeout`]: crate::GatewayConfig::reply_timeout

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use ibkr_model::accounts::DisplayAmount;
use ibkr_model::contracts::Conid;
use ibkr_model::orders::{
    CancelAck, CancelOrderResponse, ExecSide, LiveOrder, LiveOrders, LooseDecimal,
    NotificationRequest, NotificationResponse, OrderFilter, OrderPreview, OrderPrompt,
    OrderRequest, OrderResponse, OrderStatusDetail, OrderSubmitted, OrderType, OrdersRequest,
    PreviewAmount, PreviewChange, PromptId, ReplyRequest, SuppressRequest, SuppressResponse, Trade,
    TrailingType,
};
use ibkr_model::portfolio::MixedDecimal;
use ibkr_model::time::EpochMillis;
use rust_decimal::{Decimal, RoundingStrategy};
use tokio::sync::{broadcast, watch};

use crate::broker::{AccountType, Broker, Side, engine_marks, money};
use crate::gateway::Shared;
use crate::http::{ApiError, error_body};
use crate::instruments::{Instrument, SecType};
use crate::market::{Q, bad, wire_sec_type};
use crate::matching::{
    Engine, EngineConfig, Event, NewOrder, Order, OrderChanges, OrderError, OrderId, OrderKind,
    OrderStatus, Reject, Tif, order_commission,
};
use crate::prices::PriceEngine;
use crate::session::BrokerageState;

/// Events kept for [`Desk::recent_events`].
const RECENT_EVENTS: usize = 4096;
/// Events a lagging subscriber may fall behind before it loses the oldest.
const EVENT_CHANNEL: usize = 1024;
/// The most orders `/iserver/account/orders` lists, as at IBKR.
const MAX_LIVE_ORDERS: usize = 1000;
/// The most message ids one suppression request may carry, as at IBKR.
const MAX_SUPPRESSED: usize = 51;
/// Finished orders stay in `/iserver/account/orders` this long after their last change.
const LIVE_ORDERS_WINDOW_HOURS: i64 = 24;

/// IBKR's answer to a declined prompt (as in its spec's examples, trailing space
/// included).
const NOT_CONFIRMED: &str = "Order not confirmed ";
const ARE_YOU_SURE: &str = "Are you sure you want to submit this order?";

// ---------------------------------------------------------------------------------------
// The desk: engine, replies, events

/// What the simulator knows of an order besides the engine's view.
#[derive(Debug, Clone)]
struct Meta {
    /// The user who placed it (`submitter` of trades).
    submitter: String,
    /// The advisor's allocation group it was placed through.
    allocation: Option<String>,
}

/// The order side of the gateway: the matching engine, the prompts waiting for a
/// reply, and the recent events.
pub(crate) struct Desk {
    engine: Engine,
    replies: HashMap<String, Pending>,
    meta: HashMap<OrderId, Meta>,
    recent: VecDeque<Event>,
    events: broadcast::Sender<Event>,
    oca_groups: u64,
    status_requests: u64,
}

impl Desk {
    pub fn new() -> Desk {
        let (events, _) = broadcast::channel(EVENT_CHANNEL);
        Desk {
            engine: Engine::new(EngineConfig::default()),
            replies: HashMap::new(),
            meta: HashMap::new(),
            recent: VecDeque::new(),
            events,
            oca_groups: 0,
            status_requests: 0,
        }
    }

    /// The matching engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A receiver of the events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The most recent events, oldest first.
    pub fn recent_events(&self) -> Vec<Event> {
        self.recent.iter().cloned().collect()
    }

    /// Moves the engine to `now`, recording its events.
    pub fn advance(&mut self, now: DateTime<Utc>, prices: &PriceEngine, broker: &mut Broker) {
        for e in self.engine.advance(now, prices, broker) {
            if self.recent.len() >= RECENT_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back(e.clone());
            // No receiver is not an error: nobody listens yet.
            let _ = self.events.send(e);
        }
    }

    /// Whether some order is still working (so the background task has work).
    fn has_working(&self) -> bool {
        self.meta
            .keys()
            .any(|id| self.engine.order(*id).is_some_and(Order::is_working))
    }

    /// Forgets the replies that expired, and those of `session` when it places or
    /// modifies another order.
    fn purge_replies(&mut self, session: Option<&str>) {
        let now = Instant::now();
        self.replies
            .retain(|_, p| p.expires > now && session.is_none_or(|s| p.session != s));
    }
}

/// Matches working orders every `every` until the gateway stops.
pub(crate) async fn run_ticker(
    gw: Shared,
    mut stop: watch::Receiver<bool>,
    every: std::time::Duration,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                let working = gw.desk().has_working();
                if working {
                    gw.advance_orders();
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The caller

/// What a handler needs to know of the session.
struct Caller {
    session: String,
    user: String,
    md_streams: HashSet<i64>,
    suppressed: BTreeSet<String>,
    selected: Option<String>,
}

/// The brokerage session, and (`accounts_first`) `/iserver/accounts` called in it.
fn caller(gw: &Shared, accounts_first: bool) -> Result<Caller, ApiError> {
    let m = gw.session();
    let sso = m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    if sso.brokerage != BrokerageState::Authenticated {
        return Err(ApiError::NoBrokerage);
    }
    if accounts_first && !sso.accounts_queried {
        return Err(bad("Bad Request: Please query /accounts first"));
    }
    Ok(Caller {
        session: sso.id.clone(),
        user: sso.user.clone(),
        md_streams: sso.md_streams.clone(),
        suppressed: sso.suppressed.clone(),
        selected: sso.selected_account.clone(),
    })
}

/// The account `/iserver/accounts` reports as selected.
fn selected_account(caller: &Caller, broker: &Broker) -> Option<String> {
    caller
        .selected
        .clone()
        .or_else(|| broker.accounts().first().map(|a| a.id.clone()))
}

/// An account and, for an advisor's master account, its sub-accounts.
fn with_sub_accounts(broker: &Broker, account: &str) -> Vec<String> {
    let mut out = vec![account.to_string()];
    if let Ok(subs) = broker.sub_accounts(account) {
        out.extend(subs.iter().map(|a| a.id.clone()));
    }
    out
}

fn known_account(broker: &Broker, account: &str) -> Result<(), ApiError> {
    broker
        .account(account)
        .map(|_| ())
        .map_err(|_| bad(format!("Bad Request: accountId is not valid: {account}")))
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("Bad Request: body must be {shape}: {e}")))
}

// ---------------------------------------------------------------------------------------
// Tickets: order requests made engine orders

/// The parent of a bracket child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParentRef {
    /// An earlier ticket of the same request (its index).
    InRequest(usize),
    /// An order already placed.
    Existing(OrderId),
}

/// One order of a request, ready for the engine.
#[derive(Debug, Clone)]
struct Ticket {
    order: NewOrder,
    parent: Option<ParentRef>,
    allocation: Option<String>,
}

fn engine_side(side: &ibkr_model::orders::Side) -> Result<Side, String> {
    match side.direction() {
        Some(ibkr_model::orders::Side::Buy) => Ok(Side::Buy),
        Some(ibkr_model::orders::Side::Sell) => Ok(Side::Sell),
        _ => Err(format!("invalid side {side}: use BUY or SELL")),
    }
}

fn engine_tif(tif: &ibkr_model::orders::Tif) -> Result<Tif, String> {
    use ibkr_model::orders::Tif as W;
    match tif {
        W::Day => Ok(Tif::Day),
        W::Gtc => Ok(Tif::Gtc),
        W::Ioc => Ok(Tif::Ioc),
        W::Opg => Ok(Tif::Opg),
        other => Err(format!(
            "time in force {other} is not supported by the simulator: use DAY, GTC, IOC or OPG"
        )),
    }
}

/// `outsideRTH`, also read under the `outsideRth` spelling of IBKR's examples.
fn outside_rth(req: &OrderRequest) -> Option<bool> {
    req.outside_rth.or_else(|| {
        req.extra
            .get("outsideRth")
            .and_then(serde_json::Value::as_bool)
    })
}

/// The contract of a ticket: `conid`, else the conid of `conidex` (`265598@SMART`).
fn ticket_conid(req: &OrderRequest) -> Result<u32, String> {
    let raw = match (&req.conid, &req.conidex) {
        (Some(c), _) => c.0,
        (None, Some(x)) => {
            if x.contains(';') {
                return Err(format!(
                    "combination orders ({x}) are not supported by the simulator"
                ));
            }
            let head = x.split('@').next().unwrap_or_default().trim();
            head.parse::<i64>()
                .map_err(|_| format!("conidex {x:?} names no contract"))?
        }
        (None, None) => return Err("the order names no contract: give its conid".into()),
    };
    u32::try_from(raw).map_err(|_| format!("contract {raw} is not valid"))
}

/// The engine's order type and prices for a ticket.
fn kind_of(req: &OrderRequest, side: Side) -> Result<OrderKind, String> {
    let t = OrderType::from_any(req.order_type.as_str()).ok_or_else(|| {
        format!(
            "unknown order type {}: use MKT, LMT, STP, STOP_LIMIT, TRAIL, TRAILLMT, MIDPRICE, MOC or LOC",
            req.order_type
        )
    })?;
    let need = |v: Option<Decimal>, what: &str| {
        v.ok_or_else(|| format!("a {} order needs {what}", req.order_type))
    };
    let percent = || match &req.trailing_type {
        Some(TrailingType::Percent) => Ok(true),
        Some(TrailingType::Amount) => Ok(false),
        Some(other) => Err(format!("trailingType {other} is not valid: use amt or %")),
        None => Err(format!("a {} order needs trailingType", req.order_type)),
    };
    Ok(match t {
        OrderType::Market => OrderKind::Market,
        OrderType::Limit => OrderKind::Limit(need(req.price, "a price")?),
        OrderType::Stop => OrderKind::Stop(need(req.price, "a price (the stop price)")?),
        OrderType::StopLimit => OrderKind::StopLimit {
            stop: need(req.aux_price, "an auxPrice (the stop price)")?,
            limit: need(req.price, "a price (the limit price)")?,
        },
        OrderType::Trail => OrderKind::Trail {
            amount: need(req.trailing_amt, "trailingAmt")?,
            percent: percent()?,
        },
        OrderType::TrailLimit => {
            let limit = need(req.price, "a price (the limit price)")?;
            let stop = need(req.aux_price, "an auxPrice (the stop price)")?;
            let limit_offset = match side {
                Side::Sell => stop.checked_sub(limit),
                Side::Buy => limit.checked_sub(stop),
            }
            .ok_or_else(|| format!("the prices {limit} and {stop} are out of range"))?;
            if limit_offset < Decimal::ZERO {
                return Err(format!(
                    "the limit price {limit} of a {} trailing stop limit must be on the far side of its stop price {stop}",
                    if side == Side::Buy { "buy" } else { "sell" }
                ));
            }
            OrderKind::TrailLimit {
                amount: need(req.trailing_amt, "trailingAmt")?,
                percent: percent()?,
                limit_offset,
            }
        }
        OrderType::MidPrice => OrderKind::MidPrice { cap: req.price },
        OrderType::MarketOnClose => OrderKind::Moc,
        OrderType::LimitOnClose => OrderKind::Loc(need(req.price, "a price")?),
        other => {
            return Err(format!(
                "order type {other} is not supported by the simulator: use MKT, LMT, STP, STOP_LIMIT, TRAIL, TRAILLMT, MIDPRICE, MOC or LOC"
            ));
        }
    })
}

/// The engine order of a ticket, in `account` (unless the ticket names its own), with
/// its parent looked up among the request's earlier tickets (by `cOID`) and the
/// account's orders (by `cOID`, then by order id).
fn ticket(
    req: &OrderRequest,
    account: &str,
    index: usize,
    all: &[OrderRequest],
    engine: &Engine,
) -> Result<Ticket, String> {
    let account = req
        .acct_id
        .as_ref()
        .map_or(account, |a| a.as_str())
        .to_string();
    let conid = ticket_conid(req)?;
    let side = engine_side(&req.side)?;
    let kind = kind_of(req, side)?;
    let tif = engine_tif(&req.tif)?;
    let sizes: Vec<Decimal> = [req.quantity, req.cash_qty, req.fx_qty]
        .into_iter()
        .flatten()
        .collect();
    if sizes.len() > 1 {
        return Err("give one of quantity, cashQty and fxQty".into());
    }
    let mut order = match (req.quantity, req.cash_qty, req.fx_qty) {
        (Some(q), _, _) | (_, _, Some(q)) => NewOrder::new(account.as_str(), conid, side, q, kind),
        (_, Some(cash), _) => {
            NewOrder::new(account.as_str(), conid, side, Decimal::ZERO, kind).cash_qty(cash)
        }
        _ => return Err("the order has no quantity: give quantity or cashQty".into()),
    };
    order = order
        .tif(tif)
        .outside_rth(outside_rth(req).unwrap_or(false));
    if let Some(c) = req.c_oid.as_deref().filter(|c| !c.is_empty()) {
        order = order.coid(c);
    }
    let parent = match req.parent_id.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(pid) => {
            if let Some(j) = all[..index]
                .iter()
                .position(|o| o.c_oid.as_deref() == Some(pid))
            {
                Some(ParentRef::InRequest(j))
            } else if let Some(o) = engine.find_by_coid(&account, pid) {
                Some(ParentRef::Existing(o.id))
            } else if let Some(o) = pid
                .parse::<u64>()
                .ok()
                .and_then(|n| engine.order(OrderId(n)))
                .filter(|o| o.account == account)
            {
                Some(ParentRef::Existing(o.id))
            } else {
                return Err(format!(
                    "parent order {pid:?} not found: place the parent first (or in the same request, before its children) and name it by its cOID"
                ));
            }
        }
    };
    Ok(Ticket {
        order,
        parent,
        allocation: None,
    })
}

/// The tickets of a request in `account`; orders flagged `isSingleGroup` (other than
/// the parents of brackets in the request) form one one-cancels-all group.
fn tickets(desk: &mut Desk, orders: &[OrderRequest], account: &str) -> Result<Vec<Ticket>, String> {
    if orders.is_empty() {
        return Err("the request has no orders".into());
    }
    let mut out = Vec::with_capacity(orders.len());
    for (i, req) in orders.iter().enumerate() {
        out.push(ticket(req, account, i, orders, &desk.engine)?);
    }
    let parents: BTreeSet<usize> = out
        .iter()
        .filter_map(|t| match t.parent {
            Some(ParentRef::InRequest(j)) => Some(j),
            _ => None,
        })
        .collect();
    let grouped: Vec<usize> = orders
        .iter()
        .enumerate()
        .filter(|(i, o)| o.is_single_group == Some(true) && !parents.contains(i))
        .map(|(i, _)| i)
        .collect();
    if grouped.len() > 1 {
        desk.oca_groups += 1;
        let name = format!("OCA_{}", desk.oca_groups);
        for i in grouped {
            let t = &mut out[i];
            t.order = t.order.clone().oca_group(name.clone());
        }
    }
    Ok(out)
}

/// Places the tickets on a copy of the engine, all or none: the copy and the new
/// order ids, or the first rejection.
fn trial(
    engine: &Engine,
    tickets: &[Ticket],
    now: DateTime<Utc>,
    prices: &PriceEngine,
    broker: &Broker,
) -> Result<(Engine, Vec<OrderId>), Reject> {
    let mut trial = engine.clone();
    let mut ids: Vec<OrderId> = Vec::with_capacity(tickets.len());
    for t in tickets {
        let mut new = t.order.clone();
        match t.parent {
            Some(ParentRef::InRequest(j)) => {
                if let Some(p) = ids.get(j) {
                    new = new.parent(*p);
                }
            }
            Some(ParentRef::Existing(p)) => new = new.parent(p),
            None => {}
        }
        ids.push(trial.submit(new, now, prices, broker)?);
    }
    Ok((trial, ids))
}

// ---------------------------------------------------------------------------------------
// Prompts

/// A question about an order.
#[derive(Debug, Clone, PartialEq)]
struct Prompt {
    id: PromptId,
    text: String,
}

/// What a request does once its questions are answered.
#[derive(Debug, Clone)]
enum Action {
    Place(Vec<Ticket>),
    Modify { id: OrderId, changes: OrderChanges },
}

/// Questions waiting for `/iserver/reply/{id}`.
#[derive(Debug)]
struct Pending {
    session: String,
    user: String,
    expires: Instant,
    /// The questions after the one shown.
    next: VecDeque<Prompt>,
    action: Action,
}

/// A fresh reply id, shaped as IBKR's (a UUID).
fn reply_id() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Quantities as IBKR writes them in order texts: `650`, `0.5`.
fn qty_text(q: Decimal) -> String {
    q.normalize().to_string()
}

/// A number as Java prints a double: `150.0`, `647.09`.
fn java(d: Decimal) -> String {
    float(d).to_string()
}

/// The decimal with at least one fractional digit, so that it is written `1.0`.
fn float(d: Decimal) -> Decimal {
    let mut x = d.normalize();
    if x.scale() == 0 {
        x.rescale(1);
    }
    x
}

/// A price with the instrument's decimals (at least two): `150.00`, `0.90000`.
fn price_text(p: Decimal, tick: Decimal) -> String {
    let dp = tick.normalize().scale().max(2);
    let mut x = p.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    x.rescale(dp);
    x.to_string()
}

/// Thousands separators and `dp` decimals: `124,995.00`, `-1,005`.
fn grouped(d: Decimal, dp: u32) -> String {
    let mut x = d
        .abs()
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    x.rescale(dp);
    let text = x.to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    let negative = d.is_sign_negative() && !x.is_zero();
    if negative { format!("-{out}") } else { out }
}

/// An amount as the preview shows it: whole units without decimals (`1`), else two
/// (`1,977.60`).
fn amount_text(d: Decimal) -> String {
    let cents = money(d);
    if cents.fract().is_zero() {
        grouped(cents, 0)
    } else {
        grouped(cents, 2)
    }
}

/// Whole units, as the preview reports margins and equity.
fn whole(d: Decimal) -> Decimal {
    let r = d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() { Decimal::ZERO } else { r }
}

fn side_code(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

/// The price an order is expected to trade at: its limit, its stop, a midprice cap,
/// else the touch (as the engine's funds check).
fn reference_price(kind: &OrderKind, side: Side, bid: Decimal, ask: Decimal) -> Decimal {
    match *kind {
        OrderKind::Limit(p) | OrderKind::Loc(p) | OrderKind::StopLimit { limit: p, .. } => p,
        OrderKind::Stop(s) => s,
        OrderKind::MidPrice { cap: Some(c) } => c,
        _ => match side {
            Side::Buy => ask,
            Side::Sell => bid,
        },
    }
}

/// The units a cash amount buys at `unit` (price × multiplier), rounded down to the
/// units the instrument allows.
fn cash_units(cash: Decimal, unit: Decimal, inst: &Instrument, kind: &OrderKind) -> Decimal {
    if unit <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let fractional = matches!(
        kind,
        OrderKind::Market
            | OrderKind::Limit(_)
            | OrderKind::Stop(_)
            | OrderKind::StopLimit { .. }
            | OrderKind::Trail { .. }
            | OrderKind::TrailLimit { .. }
    );
    let dp = match inst.sec_type {
        SecType::Stock if inst.is_us() && fractional => 4,
        SecType::Forex => 2,
        _ => 0,
    };
    (cash / unit).round_dp_with_strategy(dp, RoundingStrategy::ToZero)
}

/// The price a request shows for an order (`@ 150.0` in prompts): its limit, else its
/// stop.
fn shown_price(kind: &OrderKind) -> Option<Decimal> {
    match *kind {
        OrderKind::Limit(p) | OrderKind::Loc(p) | OrderKind::StopLimit { limit: p, .. } => Some(p),
        OrderKind::Stop(s) => Some(s),
        OrderKind::MidPrice { cap } => cap,
        _ => None,
    }
}

/// The wording of the `o10151` question (IBKR documents only its purpose).
const MARKET_OUTSIDE_RTH: &str = "You are submitting a market order that may execute outside regular trading hours, when liquidity can be low and prices can move sharply. Market orders carry the risk of executing at prices far from the last quote.";

/// The questions a set of orders raises, in the documented order, without those the
/// session suppressed. `modify`: only the questions about an order's terms.
#[allow(clippy::too_many_arguments)]
fn prompts(
    tickets: &[Ticket],
    caller: &Caller,
    broker: &Broker,
    prices: &PriceEngine,
    precautions: &crate::config::Precautions,
    now: DateTime<Utc>,
    allocated: bool,
    modify: bool,
) -> Vec<Prompt> {
    let mut out: Vec<Prompt> = Vec::new();
    let mut push = |id: PromptId, text: String| {
        if caller.suppressed.contains(id.as_str()) {
            return;
        }
        let p = Prompt { id, text };
        if !out.contains(&p) {
            out.push(p);
        }
    };
    if allocated && !modify {
        push(
            PromptId::MultipleAccounts,
            format!(
                "This order will be distributed over multiple accounts. We strongly suggest you familiarize yourself with our allocation facilities before submitting orders.\n{ARE_YOU_SURE}"
            ),
        );
    }
    let marks = engine_marks(prices, now);
    for t in tickets {
        let o = &t.order;
        let Some(inst) = broker.universe().get(o.conid) else {
            continue;
        };
        let Some(q) = prices.quote(o.conid, now) else {
            continue;
        };
        let reference = reference_price(&o.kind, o.side, q.bid, q.ask);
        let quantity = match o.cash_qty {
            Some(cash) => cash_units(cash, reference * inst.multiplier, inst, &o.kind),
            None => o.quantity,
        };
        let head = format!(
            "{} {} {} {}",
            side_code(o.side),
            qty_text(quantity),
            inst.symbol,
            inst.listing_exchange
        );
        if !modify && !caller.md_streams.contains(&i64::from(o.conid)) {
            push(
                PromptId::NoMarketData,
                format!(
                    "You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\n{ARE_YOU_SURE}"
                ),
            );
        }
        let limit = match o.kind {
            OrderKind::Limit(p) | OrderKind::Loc(p) | OrderKind::StopLimit { limit: p, .. } => {
                Some(p)
            }
            OrderKind::MidPrice { cap } => cap,
            _ => None,
        };
        if let Some(p) = limit
            && q.last > Decimal::ZERO
            && ((p - q.last).abs() / q.last * Decimal::ONE_HUNDRED) > precautions.price_percentage
        {
            push(
                PromptId::PricePercentageLimit,
                format!(
                    "The following order \"{head} @ {}\" price exceeds \nthe Percentage constraint of {}%.\n{ARE_YOU_SURE}",
                    java(p),
                    precautions.price_percentage.normalize()
                ),
            );
        }
        if inst.sec_type != SecType::Forex && quantity > precautions.size_limit {
            push(
                PromptId::SizeLimit,
                format!(
                    "The following order \"{head}\" size exceeds the Size Limit of {}.\n{ARE_YOU_SURE}",
                    qty_text(precautions.size_limit)
                ),
            );
        }
        let value = quantity * reference * inst.multiplier;
        let usd = broker
            .fx_rate(&inst.currency, "USD", &marks)
            .unwrap_or(Decimal::ONE);
        if value * usd > precautions.total_value_limit {
            push(
                PromptId::TotalValueLimit,
                format!(
                    "The following order \"{head}\" value estimate of {} USD exceeds \nthe Total Value Limit of {} USD.\n{ARE_YOU_SURE}",
                    grouped(value * usd, 2),
                    grouped(precautions.total_value_limit, 0)
                ),
            );
        }
        let stop = match o.kind {
            OrderKind::Stop(s) | OrderKind::StopLimit { stop: s, .. } => Some(s),
            _ => None,
        };
        if let Some(s) = stop {
            let elected = match o.side {
                Side::Buy => q.last >= s,
                Side::Sell => q.last <= s,
            };
            if elected {
                push(
                    PromptId::TriggerAndFill,
                    format!(
                        "This order will most likely trigger and fill immediately.\n{ARE_YOU_SURE}"
                    ),
                );
            }
        }
        if modify {
            continue;
        }
        if matches!(
            o.kind,
            OrderKind::Stop(_)
                | OrderKind::StopLimit { .. }
                | OrderKind::Trail { .. }
                | OrderKind::TrailLimit { .. }
        ) {
            push(
                PromptId::StopOrderTypes,
                format!(
                    "You are about to submit a stop order. Please be aware of the various stop order types available and the risks associated with each one.\n{ARE_YOU_SURE}"
                ),
            );
        }
        if o.kind == OrderKind::Market && o.outside_rth {
            push(
                PromptId::MarketOrderRisks,
                format!("{MARKET_OUTSIDE_RTH}\n{ARE_YOU_SURE}"),
            );
        }
        if o.cash_qty.is_some() {
            push(
                PromptId::CashQuantity,
                "Traders are responsible for understanding cash quantity details, which are provided on a best efforts basis only.".into(),
            );
        }
    }
    out
}

fn wire_prompt(id: String, p: &Prompt) -> OrderPrompt {
    let mut w = OrderPrompt::new(id, p.text.clone(), p.id.clone());
    w.message_options = Some(vec!["Yes".into(), "No".into()]);
    w
}

// ---------------------------------------------------------------------------------------
// Acting on a request

fn wire_id(id: OrderId) -> ibkr_model::orders::OrderId {
    ibkr_model::orders::OrderId(i64::try_from(id.0).unwrap_or(i64::MAX))
}

fn wire_status(s: OrderStatus) -> ibkr_model::orders::OrderStatus {
    ibkr_model::orders::OrderStatus::from_code(s.as_str())
}

/// The text of a rejection.
fn reject_text(r: &Reject) -> String {
    r.to_string()
}

/// The text of a refused modification or cancellation; IBKR's recorded text for an
/// unknown order.
fn order_error_text(e: &OrderError) -> String {
    match e {
        OrderError::UnknownOrder { id } => unknown_order(*id),
        other => other.to_string(),
    }
}

fn unknown_order(id: impl std::fmt::Display) -> String {
    format!("OrderID {id} doesn't exist")
}

/// What the handlers hand to the desk.
struct Context<'a> {
    now: DateTime<Utc>,
    prices: &'a PriceEngine,
    reply_timeout: std::time::Duration,
}

impl Desk {
    /// Asks the first question, or acts at once when there is none.
    fn start(
        &mut self,
        action: Action,
        prompts: Vec<Prompt>,
        caller: &Caller,
        cx: &Context<'_>,
        broker: &mut Broker,
    ) -> OrderResponse {
        let mut queue: VecDeque<Prompt> = prompts.into();
        match queue.pop_front() {
            None => self.act(&action, &caller.user, cx, broker),
            Some(first) => {
                let id = reply_id();
                self.replies.insert(
                    id.clone(),
                    Pending {
                        session: caller.session.clone(),
                        user: caller.user.clone(),
                        expires: Instant::now() + cx.reply_timeout,
                        next: queue,
                        action,
                    },
                );
                OrderResponse::with_prompt(wire_prompt(id, &first))
            }
        }
    }

    /// Answers a reply id: the next question, the orders placed, or IBKR's not-found.
    fn answer(
        &mut self,
        reply: &str,
        confirmed: bool,
        caller: &Caller,
        cx: &Context<'_>,
        broker: &mut Broker,
    ) -> OrderResponse {
        self.purge_replies(None);
        let not_found = || OrderResponse::rejection(format!("reply id not found: '{reply}'"));
        let Some(mut pending) = self.replies.remove(reply) else {
            return not_found();
        };
        if pending.session != caller.session {
            return not_found();
        }
        if !confirmed {
            return OrderResponse::rejection(NOT_CONFIRMED);
        }
        match pending.next.pop_front() {
            None => self.act(&pending.action, &pending.user, cx, broker),
            Some(next) => {
                let id = reply_id();
                pending.expires = Instant::now() + cx.reply_timeout;
                self.replies.insert(id.clone(), pending);
                OrderResponse::with_prompt(wire_prompt(id, &next))
            }
        }
    }

    /// Places or modifies, and answers the acknowledged state.
    fn act(
        &mut self,
        action: &Action,
        user: &str,
        cx: &Context<'_>,
        broker: &mut Broker,
    ) -> OrderResponse {
        self.advance(cx.now, cx.prices, broker);
        let ids = match action {
            Action::Place(tickets) => match trial(&self.engine, tickets, cx.now, cx.prices, broker)
            {
                Err(r) => return OrderResponse::rejection(reject_text(&r)),
                Ok((engine, ids)) => {
                    self.engine = engine;
                    for (t, id) in tickets.iter().zip(&ids) {
                        self.meta.insert(
                            *id,
                            Meta {
                                submitter: user.to_string(),
                                allocation: t.allocation.clone(),
                            },
                        );
                    }
                    ids
                }
            },
            Action::Modify { id, changes } => {
                if let Err(e) = self.engine.modify(*id, changes.clone(), cx.now) {
                    return OrderResponse::rejection(order_error_text(&e));
                }
                vec![*id]
            }
        };
        self.advance(cx.now, cx.prices, broker);
        OrderResponse::submitted_orders(
            ids.iter()
                .filter_map(|id| self.engine.order(*id))
                .map(|o| {
                    let mut s = OrderSubmitted::new(wire_id(o.id), wire_status(o.status));
                    if !o.coid.is_empty() {
                        s.local_order_id = Some(o.coid.clone());
                    }
                    s
                })
                .collect(),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Handlers: placing, replying, modifying, cancelling

/// Everything a placing handler needs, locked in order (desk, then broker).
fn place_tickets(
    gw: &Shared,
    caller: &Caller,
    make: impl FnOnce(&mut Desk, &Broker) -> Result<(Vec<Ticket>, bool), String>,
) -> OrderResponse {
    let now = gw.market.now();
    let mut desk = gw.desk();
    let mut broker = gw.broker();
    desk.advance(now, &gw.market.engine, &mut broker);
    // A new order invalidates the questions still open in this session.
    desk.purge_replies(Some(&caller.session));
    let (tickets, allocated) = match make(&mut desk, &broker) {
        Ok(x) => x,
        Err(message) => return OrderResponse::rejection(message),
    };
    // Refuse what the engine would refuse (a duplicate cOID above all) before asking.
    if let Err(r) = trial(&desk.engine, &tickets, now, &gw.market.engine, &broker) {
        return OrderResponse::rejection(reject_text(&r));
    }
    let questions = prompts(
        &tickets,
        caller,
        &broker,
        &gw.market.engine,
        &gw.config.precautions,
        now,
        allocated,
        false,
    );
    let cx = Context {
        now,
        prices: &gw.market.engine,
        reply_timeout: gw.config.reply_timeout,
    };
    desk.start(Action::Place(tickets), questions, caller, &cx, &mut broker)
}

/// `POST /iserver/account/{acct}/orders` with `{"orders": [...]}`.
pub(crate) async fn place(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<OrderResponse>, ApiError> {
    let caller = caller(&gw, true)?;
    known_account(&gw.broker(), &acct)?;
    let req: OrdersRequest = parse_body(&body, "{\"orders\": [...]}")?;
    Ok(Json(place_tickets(&gw, &caller, |desk, _| {
        Ok((tickets(desk, &req.orders, &acct)?, false))
    })))
}

/// How an advisor's group order is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allocation {
    EqualQuantity,
    NetLiquidity,
    AvailableEquity,
}

impl Allocation {
    fn parse(method: Option<&str>) -> Result<Allocation, String> {
        let key: String = method
            .unwrap_or("EqualQuantity")
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .flat_map(|c| c.to_lowercase())
            .collect();
        match key.as_str() {
            "equalquantity" | "equal" => Ok(Allocation::EqualQuantity),
            "netliquidity" | "netliq" => Ok(Allocation::NetLiquidity),
            "availableequity" | "availablefunds" => Ok(Allocation::AvailableEquity),
            _ => Err(format!(
                "allocation method {} is not supported by the simulator: use EqualQuantity, NetLiquidity or AvailableEquity",
                method.unwrap_or_default()
            )),
        }
    }
}

/// Splits `total` by `weights` in steps of `10^-dp`, the largest remainders first.
fn split(total: Decimal, weights: &[Decimal], dp: u32) -> Vec<Decimal> {
    let sum: Decimal = weights.iter().sum();
    if weights.is_empty() || sum <= Decimal::ZERO {
        return vec![Decimal::ZERO; weights.len()];
    }
    let unit = Decimal::new(1, dp);
    let exact: Vec<Decimal> = weights.iter().map(|w| total * *w / sum).collect();
    let mut parts: Vec<Decimal> = exact
        .iter()
        .map(|x| x.round_dp_with_strategy(dp, RoundingStrategy::ToZero))
        .collect();
    let mut left = total - parts.iter().sum::<Decimal>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] - parts[*b])
            .cmp(&(exact[*a] - parts[*a]))
            .then(a.cmp(b))
    });
    for i in order.iter().cycle().take(weights.len() * 4) {
        if left < unit {
            break;
        }
        parts[*i] += unit;
        left -= unit;
    }
    parts
}

/// `POST /iserver/account/orders/{faGroup}`: an advisor's order, allocated across the
/// sub-accounts of the master account. The simulator defines no groups of its own:
/// every group name stands for all the sub-accounts, split by the tickets'
/// `allocationMethod` (`EqualQuantity`, the default; `NetLiquidity`;
/// `AvailableEquity`), each sub-account's share placed as its own order (whole units,
/// the largest remainders first; cash quantities to the cent).
pub(crate) async fn place_group(
    State(gw): State<Shared>,
    Path(group): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<OrderResponse>, ApiError> {
    let caller = caller(&gw, true)?;
    let req: OrdersRequest = parse_body(&body, "{\"orders\": [...]}")?;
    let now = gw.market.now();
    Ok(Json(place_tickets(&gw, &caller, |desk, broker| {
        let master = broker
            .accounts()
            .iter()
            .find(|a| a.account_type == AccountType::Advisor)
            .map(|a| a.id.clone())
            .ok_or_else(|| {
                format!(
                    "allocation group {group:?} not found: the login has no advisor account to allocate from"
                )
            })?;
        let subs: Vec<String> = broker
            .sub_accounts(&master)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|a| a.id.clone())
            .collect();
        if subs.is_empty() {
            return Err(format!("allocation group {group:?} has no accounts"));
        }
        let method = Allocation::parse(
            req.orders
                .first()
                .and_then(|o| o.allocation_method.as_deref()),
        )?;
        let marks = engine_marks(&gw.market.engine, now);
        let mut weights = Vec::with_capacity(subs.len());
        for id in &subs {
            let w = match method {
                Allocation::EqualQuantity => Decimal::ONE,
                Allocation::NetLiquidity | Allocation::AvailableEquity => {
                    let v = broker
                        .valuation_at(id, &gw.market.engine, now)
                        .map_err(|e| e.to_string())?;
                    let rate = broker
                        .fx_rate(&v.summary.base_currency, "USD", &marks)
                        .map_err(|e| e.to_string())?;
                    let figure = if method == Allocation::NetLiquidity {
                        v.summary.net_liquidation
                    } else {
                        v.summary.available_funds
                    };
                    (figure * rate).max(Decimal::ZERO)
                }
            };
            weights.push(w);
        }
        // The tickets of each sub-account, in blocks, parents re-indexed per block.
        let base = tickets(desk, &req.orders, &master)?;
        let n = base.len();
        let mut shares: Vec<Vec<Decimal>> = Vec::with_capacity(n);
        let most = Decimal::from(1_000_000_000);
        for t in &base {
            let size = t.order.cash_qty.unwrap_or(t.order.quantity);
            if size <= Decimal::ZERO || size > most {
                return Err(format!(
                    "invalid quantity {size}: must be positive and at most {most}"
                ));
            }
            let inst = broker.universe().get(t.order.conid);
            let (total, dp) = match t.order.cash_qty {
                Some(c) => (c, 2),
                None => (
                    t.order.quantity,
                    match inst.map(|i| i.sec_type) {
                        Some(SecType::Forex) => 2,
                        _ => 0,
                    },
                ),
            };
            shares.push(split(total, &weights, dp));
        }
        let mut out = Vec::with_capacity(n * subs.len());
        for (k, account) in subs.iter().enumerate() {
            if shares.iter().all(|s| s[k].is_zero()) {
                continue;
            }
            if shares.iter().any(|s| s[k].is_zero()) {
                return Err(format!(
                    "the order is too small to allocate to every account of group {group:?}"
                ));
            }
            let first = out.len();
            for (i, t) in base.iter().enumerate() {
                let mut order = t.order.clone();
                order.account = account.clone();
                match order.cash_qty {
                    Some(_) => order.cash_qty = Some(shares[i][k]),
                    None => order.quantity = shares[i][k],
                }
                let parent = match t.parent {
                    Some(ParentRef::InRequest(j)) => Some(ParentRef::InRequest(first + j)),
                    other => other,
                };
                out.push(Ticket {
                    order,
                    parent,
                    allocation: Some(group.clone()),
                });
            }
        }
        if out.is_empty() {
            return Err(format!(
                "the order is too small to allocate over group {group:?}"
            ));
        }
        Ok((out, true))
    })))
}

/// `POST /iserver/reply/{replyId}` with `{"confirmed": true|false}`.
pub(crate) async fn reply(
    State(gw): State<Shared>,
    Path(reply): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<OrderResponse>, ApiError> {
    let caller = caller(&gw, true)?;
    let req: ReplyRequest = parse_body(&body, "{\"confirmed\": true}")?;
    let now = gw.market.now();
    let cx = Context {
        now,
        prices: &gw.market.engine,
        reply_timeout: gw.config.reply_timeout,
    };
    let mut desk = gw.desk();
    let mut broker = gw.broker();
    Ok(Json(desk.answer(
        &reply,
        req.confirmed,
        &caller,
        &cx,
        &mut broker,
    )))
}

/// An order id in a path.
fn order_id_param(id: &str) -> Option<OrderId> {
    id.trim().parse::<u64>().ok().map(OrderId)
}

/// The changes a modification ticket makes to an order (it repeats every term; the
/// contract, side and order type cannot change).
fn changes_for(o: &Order, req: &OrderRequest) -> Result<(OrderChanges, OrderKind), String> {
    if let Ok(conid) = ticket_conid(req)
        && conid != o.conid
    {
        return Err(format!(
            "the contract of order {} cannot be changed: cancel it and place a new order",
            o.id
        ));
    }
    let side = engine_side(&req.side)?;
    if side != o.side {
        return Err(format!(
            "the side of order {} cannot be changed: cancel it and place a new order",
            o.id
        ));
    }
    let kind = kind_of(req, side)?;
    if kind.code() != o.kind.code() {
        return Err(format!(
            "the type of order {} cannot be changed from {} to {}: cancel it and place a new order",
            o.id,
            o.kind.code(),
            kind.code()
        ));
    }
    let mut ch = OrderChanges::new();
    if let Some(q) = req.quantity.or(req.fx_qty)
        && q != o.quantity
    {
        ch = ch.quantity(q);
    }
    match (o.kind, kind) {
        (OrderKind::Limit(a), OrderKind::Limit(b)) | (OrderKind::Loc(a), OrderKind::Loc(b))
            if a != b =>
        {
            ch = ch.price(b);
        }
        (OrderKind::Stop(a), OrderKind::Stop(b)) if a != b => ch = ch.aux_price(b),
        (
            OrderKind::StopLimit {
                stop: s0,
                limit: l0,
            },
            OrderKind::StopLimit {
                stop: s1,
                limit: l1,
            },
        ) => {
            if s0 != s1 {
                ch = ch.aux_price(s1);
            }
            if l0 != l1 {
                ch = ch.price(l1);
            }
        }
        (
            OrderKind::Trail {
                amount: a0,
                percent: p0,
            },
            OrderKind::Trail {
                amount: a1,
                percent: p1,
            },
        ) => {
            if p0 != p1 {
                return Err("the trailingType of an order cannot be changed".into());
            }
            if a0 != a1 {
                ch = ch.aux_price(a1);
            }
        }
        (
            OrderKind::TrailLimit {
                amount: a0,
                percent: p0,
                limit_offset: f0,
            },
            OrderKind::TrailLimit {
                amount: a1,
                percent: p1,
                limit_offset: f1,
            },
        ) => {
            if p0 != p1 {
                return Err("the trailingType of an order cannot be changed".into());
            }
            if a0 != a1 {
                ch = ch.aux_price(a1);
            }
            if f0 != f1 {
                ch = ch.price(f1);
            }
        }
        (OrderKind::MidPrice { cap: c0 }, OrderKind::MidPrice { cap: Some(c1) })
            if c0 != Some(c1) =>
        {
            ch = ch.price(c1);
        }
        _ => {}
    }
    let tif = engine_tif(&req.tif)?;
    if tif != o.tif {
        ch = ch.tif(tif);
    }
    if let Some(x) = outside_rth(req)
        && x != o.outside_rth
    {
        ch = ch.outside_rth(x);
    }
    Ok((ch, kind))
}

/// `POST /iserver/account/{acct}/order/{orderId}`: the order's ticket with the new
/// values (a single object). Answers as a placement: the order and its status, a
/// question, or `{"error": ...}`.
pub(crate) async fn modify(
    State(gw): State<Shared>,
    Path((acct, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<OrderResponse>, ApiError> {
    let caller = caller(&gw, true)?;
    let req: OrderRequest = parse_body(&body, "one order ticket (an object, not a list)")?;
    let now = gw.market.now();
    let prices = &gw.market.engine;
    let mut desk = gw.desk();
    let mut broker = gw.broker();
    desk.advance(now, prices, &mut broker);
    desk.purge_replies(Some(&caller.session));
    let Some(order) = order_id_param(&id)
        .and_then(|i| desk.engine.order(i))
        .filter(|o| o.account == acct)
        .cloned()
    else {
        return Ok(Json(OrderResponse::rejection(unknown_order(id.trim()))));
    };
    let (changes, kind) = match changes_for(&order, &req) {
        Ok(x) => x,
        Err(m) => return Ok(Json(OrderResponse::rejection(m))),
    };
    // Refuse at once what the engine would refuse.
    if let Err(e) = desk.engine.clone().modify(order.id, changes.clone(), now) {
        return Ok(Json(OrderResponse::rejection(order_error_text(&e))));
    }
    let mut terms = NewOrder::new(
        order.account.as_str(),
        order.conid,
        order.side,
        changes.quantity.unwrap_or(order.quantity),
        kind,
    )
    .outside_rth(changes.outside_rth.unwrap_or(order.outside_rth));
    terms = terms.tif(changes.tif.unwrap_or(order.tif));
    let questions = prompts(
        &[Ticket {
            order: terms,
            parent: None,
            allocation: None,
        }],
        &caller,
        &broker,
        prices,
        &gw.config.precautions,
        now,
        false,
        true,
    );
    let cx = Context {
        now,
        prices,
        reply_timeout: gw.config.reply_timeout,
    };
    Ok(Json(desk.start(
        Action::Modify {
            id: order.id,
            changes,
        },
        questions,
        &caller,
        &cx,
        &mut broker,
    )))
}

/// `DELETE /iserver/account/{acct}/order/{orderId}`: IBKR's acknowledgement (`conid`
/// `-1` and `account` `null` when the order was cancelled at once, as here unless a
/// cancel cannot take effect yet), or `{"error": ...}`.
pub(crate) async fn cancel(
    State(gw): State<Shared>,
    Path((acct, id)): Path<(String, String)>,
) -> Result<Json<CancelOrderResponse>, ApiError> {
    caller(&gw, true)?;
    let now = gw.market.now();
    let prices = &gw.market.engine;
    let mut desk = gw.desk();
    let mut broker = gw.broker();
    desk.advance(now, prices, &mut broker);
    let Some(order_id) =
        order_id_param(&id).filter(|i| desk.engine.order(*i).is_some_and(|o| o.account == acct))
    else {
        return Ok(Json(CancelOrderResponse::rejection(unknown_order(
            id.trim(),
        ))));
    };
    if let Err(e) = desk.engine.cancel(order_id, now) {
        return Ok(Json(CancelOrderResponse::rejection(order_error_text(&e))));
    }
    desk.advance(now, prices, &mut broker);
    let ack = match desk.engine.order(order_id) {
        Some(o) if o.status == OrderStatus::Cancelled => {
            CancelAck::new(wire_id(order_id), Conid(-1), None)
        }
        Some(o) => CancelAck::new(
            wire_id(order_id),
            Conid(i64::from(o.conid)),
            Some(o.account.as_str().into()),
        ),
        None => {
            return Ok(Json(CancelOrderResponse::rejection(unknown_order(
                order_id,
            ))));
        }
    };
    Ok(Json(CancelOrderResponse::accepted(ack)))
}

// ---------------------------------------------------------------------------------------
// Preview

/// The `warn` of a preview: the first question the orders would raise, as the preview
/// words it.
fn preview_warning(questions: &[Prompt], tickets: &[Ticket], broker: &Broker) -> Option<String> {
    let first = questions.first()?;
    if first.id == PromptId::NoMarketData {
        return Some("21/You are trying to submit an order without having market data for this instrument. \nIB strongly recommends against this kind of blind trading which may result in \nerroneous or unexpected trades.".into());
    }
    if first.id == PromptId::PricePercentageLimit
        && let Some(t) = tickets.first()
        && let Some(inst) = broker.universe().get(t.order.conid)
        && let Some(p) = shown_price(&t.order.kind)
    {
        let text = first.text.split('\n').nth(1).unwrap_or_default();
        return Some(format!(
            "The following order \"{} {} {} {} {}\" price exceeds \n{text}",
            side_code(t.order.side),
            qty_text(t.order.quantity),
            inst.symbol,
            t.order.kind.code(),
            price_text(p, inst.tick)
        ));
    }
    Some(
        first
            .text
            .trim_end_matches(ARE_YOU_SURE)
            .trim_end()
            .to_string(),
    )
}

/// A preview of the tickets in `account`: they are filled in full at their
/// reference price on a copy of the broker, with the engine's commissions.
fn preview(
    tickets: &[Ticket],
    account: &str,
    broker: &Broker,
    prices: &PriceEngine,
    now: DateTime<Utc>,
) -> Result<OrderPreview, String> {
    let before = broker
        .valuation_at(account, prices, now)
        .map_err(|e| e.to_string())?;
    let marks = engine_marks(prices, now);
    let mut shadow = broker.clone();
    let mut value = Decimal::ZERO;
    let mut commission = Decimal::ZERO;
    let mut shown: Option<(&Instrument, Decimal, Side)> = None;
    for t in tickets {
        let o = &t.order;
        // Bracket children that close their parent's position change nothing.
        let closing = match t.parent {
            Some(ParentRef::InRequest(j)) => tickets.get(j).is_some_and(|p| p.order.side != o.side),
            _ => false,
        };
        if closing {
            continue;
        }
        let inst = broker
            .universe()
            .get(o.conid)
            .ok_or_else(|| format!("unknown contract {}", o.conid))?;
        let q = prices
            .quote(o.conid, now)
            .ok_or_else(|| format!("no price for contract {}", o.conid))?;
        let price = reference_price(&o.kind, o.side, q.bid, q.ask);
        let quantity = match o.cash_qty {
            Some(cash) => cash_units(cash, price * inst.multiplier, inst, &o.kind),
            None => o.quantity,
        };
        let usd = broker
            .fx_rate("USD", &inst.currency, &marks)
            .unwrap_or(Decimal::ONE);
        let c = money(order_commission(
            inst,
            quantity,
            quantity * price * inst.multiplier,
            usd,
        ));
        shadow
            .apply_fill(&o.account, o.conid, o.side, quantity, price, c, now)
            .map_err(|e| e.to_string())?;
        value += quantity * price * inst.multiplier;
        commission += c;
        if shown.is_none() {
            shown = Some((inst, quantity, o.side));
        }
    }
    let after = shadow
        .valuation_at(account, prices, now)
        .map_err(|e| e.to_string())?;
    let (b, a) = (&before.summary, &after.summary);
    let change = |x: Decimal, y: Decimal| {
        let (x, y) = (whole(x), whole(y));
        PreviewChange::new(grouped(x, 0), grouped(y - x, 0), grouped(y, 0))
    };
    let mut p = OrderPreview::new();
    if let Some((inst, quantity, side)) = shown {
        let units = match inst.sec_type {
            SecType::Stock => "Shares",
            SecType::Forex => "Units",
            _ => "Contracts",
        };
        let ccy = &inst.currency;
        p.amount = Some(PreviewAmount::new(
            DisplayAmount(format!(
                "{} {ccy} ({} {units})",
                amount_text(value),
                qty_text(quantity)
            )),
            DisplayAmount(format!("{} {ccy}", amount_text(commission))),
            DisplayAmount(format!("{} {ccy}", amount_text(value + commission))),
        ));
        let held = |br: &Broker| {
            br.account(account)
                .ok()
                .and_then(|acc| acc.position(inst.conid))
                .map_or(Decimal::ZERO, |p| p.quantity)
        };
        let (was, will) = (held(broker), held(&shadow));
        let moved = if inst.sec_type == SecType::Forex {
            quantity * side.sign()
        } else {
            will - was
        };
        p.position = Some(PreviewChange::new(
            qty_text(was),
            qty_text(moved),
            qty_text(was + moved),
        ));
    }
    p.equity = Some(change(b.net_liquidation, a.net_liquidation));
    p.initial = Some(change(b.init_margin, a.init_margin));
    p.maintenance = Some(change(b.maint_margin, a.maint_margin));
    Ok(p)
}

/// `POST /iserver/account/{acct}/orders/whatif`: what the orders would cost (at their
/// reference price: limit, stop, else the touch), their commission (the engine's
/// schedule), and the change of equity (net liquidation), initial and maintenance
/// margin (the broker's model, on a copy) and position; `warn` carries the first
/// question placing them would raise, `error` why they would be refused. Nothing is
/// placed.
pub(crate) async fn whatif(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<OrderPreview>, ApiError> {
    let caller = caller(&gw, true)?;
    known_account(&gw.broker(), &acct)?;
    let req: OrdersRequest = parse_body(&body, "{\"orders\": [...]}")?;
    let now = gw.market.now();
    let prices = &gw.market.engine;
    let mut desk = gw.desk();
    let mut broker = gw.broker();
    desk.advance(now, prices, &mut broker);
    let refused = |m: String| {
        let mut p = OrderPreview::new();
        p.error = Some(m);
        Json(p)
    };
    let tickets = match tickets(&mut desk, &req.orders, &acct) {
        Ok(t) => t,
        Err(m) => return Ok(refused(m)),
    };
    let questions = prompts(
        &tickets,
        &caller,
        &broker,
        prices,
        &gw.config.precautions,
        now,
        false,
        false,
    );
    // The engine's checks first: what it refuses is not previewed, except an order
    // the account cannot afford, whose cost and margin the preview shows.
    let refusal = match trial(&desk.engine, &tickets, now, prices, &broker) {
        Ok(_) => None,
        Err(r @ Reject::InsufficientFunds { .. }) => Some(reject_text(&r)),
        Err(r) => return Ok(refused(reject_text(&r))),
    };
    let account = tickets
        .first()
        .map_or(acct.clone(), |t| t.order.account.clone());
    let mut p = match preview(&tickets, &account, &broker, prices, now) {
        Ok(p) => p,
        Err(m) => return Ok(refused(m)),
    };
    p.warn = preview_warning(&questions, &tickets, &broker);
    p.error = refusal;
    Ok(Json(p))
}

// ---------------------------------------------------------------------------------------
// Monitoring: live orders, status, trades

fn type_word(k: &OrderKind) -> &'static str {
    match k {
        OrderKind::Market => "Market",
        OrderKind::Limit(_) => "Limit",
        OrderKind::Stop(_) => "Stop",
        OrderKind::StopLimit { .. } => "Stop Limit",
        OrderKind::Trail { .. } => "Trail",
        OrderKind::TrailLimit { .. } => "Trail Limit",
        OrderKind::MidPrice { .. } => "Midprice",
        OrderKind::Moc => "Market On Close",
        OrderKind::Loc(_) => "Limit On Close",
    }
}

fn tif_word(t: Tif) -> &'static str {
    match t {
        Tif::Day => "Day",
        Tif::Gtc => "GTC",
        Tif::Ioc => "IOC",
        Tif::Opg => "OPG",
    }
}

/// IBKR's internal status (`order_ccp_status`).
fn ccp_status(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::PendingSubmit => "Pending Submit",
        OrderStatus::PreSubmitted => "PreSubmitted",
        OrderStatus::Submitted => "Submitted",
        OrderStatus::Filled => "Filled",
        OrderStatus::PendingCancel => "Pending Cancel",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Inactive => "Inactive",
    }
}

/// `Bought 1 SPY Market, Day`, `Buy 10 Limit 150.00, GTC` (with or without the
/// symbol).
fn describe(o: &Order, inst: Option<&Instrument>, symbol: bool) -> String {
    let done = o.status == OrderStatus::Filled;
    let verb = match (o.side, done) {
        (Side::Buy, true) => "Bought",
        (Side::Sell, true) => "Sold",
        (Side::Buy, false) => "Buy",
        (Side::Sell, false) => "Sell",
    };
    let tick = inst.map_or(Decimal::new(1, 2), |i| i.tick);
    let mut s = format!("{verb} {}", qty_text(o.quantity));
    if symbol && let Some(i) = inst {
        s.push(' ');
        s.push_str(&i.symbol);
    }
    s.push(' ');
    s.push_str(type_word(&o.kind));
    if let Some(p) = shown_price(&o.kind) {
        s.push(' ');
        s.push_str(&price_text(p, tick));
    }
    s.push_str(", ");
    s.push_str(tif_word(o.tif));
    s
}

fn size_and_fills(o: &Order) -> String {
    if o.filled == o.quantity {
        qty_text(o.quantity)
    } else {
        format!("{}/{}", qty_text(o.filled), qty_text(o.quantity))
    }
}

fn compact_time(t: DateTime<Utc>) -> String {
    t.format("%y%m%d%H%M%S").to_string()
}

fn wire_side(s: Side) -> ibkr_model::orders::Side {
    match s {
        Side::Buy => ibkr_model::orders::Side::Buy,
        Side::Sell => ibkr_model::orders::Side::Sell,
    }
}

/// An order as `/iserver/account/orders` lists it (and the `sor` websocket topic
/// streams it).
pub(crate) fn live_order(o: &Order, inst: Option<&Instrument>) -> LiveOrder {
    let mut l = LiveOrder::new(o.account.as_str(), wire_id(o.id));
    l.conidex = Some(o.conid.to_string());
    l.conid = Some(Conid(i64::from(o.conid)));
    l.account = Some(o.account.as_str().into());
    l.size_and_fills = Some(size_and_fills(o));
    l.order_desc = Some(describe(o, inst, false));
    if let Some(i) = inst {
        l.cash_ccy = Some(i.currency.clone());
        l.description1 = Some(i.local_symbol.clone());
        l.ticker = Some(i.symbol.clone());
        l.sec_type = Some(wire_sec_type(i.sec_type));
        l.listing_exchange = Some(i.listing_exchange.clone());
        l.company_name = Some(i.name.clone());
        l.supports_tax_opt = Some(
            if i.sec_type == SecType::Stock {
                "1"
            } else {
                "0"
            }
            .into(),
        );
    }
    l.remaining_quantity = Some(float(o.remaining()));
    l.filled_quantity = Some(float(o.filled));
    l.total_size = Some(float(o.quantity));
    l.total_cash_size = o.cash_qty.map(float);
    l.status = Some(wire_status(o.status));
    l.order_ccp_status = Some(ccp_status(o.status).into());
    l.avg_price = o.avg_price.map(LooseDecimal::Text);
    l.orig_order_type = Some(type_word(&o.kind).to_uppercase());
    l.last_execution_time = Some(compact_time(o.updated_at));
    l.order_type = Some(type_word(&o.kind).into());
    l.bg_color = Some("#FFFFFF".into());
    l.fg_color = Some("#000000".into());
    l.is_event_trading = Some("0".into());
    if !o.coid.is_empty() {
        l.order_ref = Some(o.coid.clone());
    }
    let tick = inst.map_or(Decimal::new(1, 2), |i| i.tick);
    l.price = Some(match shown_price(&o.kind) {
        Some(p) => LooseDecimal::Text(price_text(p, tick).parse().unwrap_or(p)),
        None => LooseDecimal::Empty,
    });
    l.time_in_force = Some(if o.status.is_final() {
        ibkr_model::orders::Tif::Close
    } else {
        ibkr_model::orders::Tif::from_code(o.tif.code())
    });
    // Whole seconds, as IBKR's (`1775086847000`).
    l.last_execution_time_r = Some(EpochMillis(o.updated_at.timestamp() * 1000));
    l.side = Some(wire_side(o.side));
    l.parent_id = o.parent.map(wire_id);
    l
}

/// The query of `/iserver/account/orders`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LiveOrdersParams {
    filters: Option<String>,
    force: Option<String>,
    #[serde(rename = "accountId")]
    account_id: Option<String>,
}

/// `GET /iserver/account/orders`: the orders of the selected account (with its
/// sub-accounts for an advisor's master; `accountId` picks another), working ones and
/// those that finished in the last 24 hours, at most 1000. `filters` keeps the
/// statuses listed (`filled,cancelled`); `sort_by_time` puts working orders first,
/// then the others, each newest first (else the list is in order-id order).
/// `force=true` clears IBKR's cache: that answer is empty (`snapshot` false), as IBKR
/// documents, and the next one is fresh.
pub(crate) async fn live_orders(
    State(gw): State<Shared>,
    Q(q): Q<LiveOrdersParams>,
) -> Result<Json<LiveOrders>, ApiError> {
    let caller = caller(&gw, true)?;
    gw.advance_orders();
    let force = match q.force.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(bad(format!(
                "Bad Request: force must be true or false, not {other}"
            )));
        }
    };
    if force {
        return Ok(Json(LiveOrders::new(Vec::new(), false)));
    }
    let broker = gw.broker();
    let account = match q
        .account_id
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        Some(a) => {
            known_account(&broker, a)?;
            a.to_string()
        }
        None => selected_account(&caller, &broker).unwrap_or_default(),
    };
    let scope = with_sub_accounts(&broker, &account);
    drop(broker);
    let filters: Vec<OrderFilter> = q
        .filters
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(OrderFilter::from_code)
        .collect();
    let sort_by_time = filters.contains(&OrderFilter::SortByTime);
    let wanted: Vec<ibkr_model::orders::OrderStatus> =
        filters.iter().filter_map(OrderFilter::status).collect();
    let now = gw.market.now();
    let desk = gw.desk();
    let mut list: Vec<&Order> = scope
        .iter()
        .flat_map(|a| desk.engine.orders(a))
        .filter(|o| {
            o.is_working() || now - o.updated_at <= Duration::hours(LIVE_ORDERS_WINDOW_HOURS)
        })
        .filter(|o| wanted.is_empty() || wanted.contains(&wire_status(o.status)))
        .collect();
    if sort_by_time {
        list.sort_by(|a, b| {
            b.is_working()
                .cmp(&a.is_working())
                .then(b.updated_at.cmp(&a.updated_at))
                .then(b.id.cmp(&a.id))
        });
    } else {
        list.sort_by_key(|o| o.id);
    }
    let orders = list
        .into_iter()
        .take(MAX_LIVE_ORDERS)
        .map(|o| live_order(o, gw.market.universe.get(o.conid)))
        .collect();
    Ok(Json(LiveOrders::new(orders, true)))
}

/// The answer for an order the session cannot see (IBKR documents a 503).
fn status_unavailable(id: &str) -> Response {
    error_body(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!(
            "Service Unavailable: order {id} is not an order of the selected account in this session (switch accounts with /iserver/account first)"
        ),
    )
}

/// `GET /iserver/account/order/status/{orderId}`: one order in detail. As IBKR
/// documents, an order of another account than the selected one (or its
/// sub-accounts) answers 503, as does an order the gateway does not know.
pub(crate) async fn status(
    State(gw): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = caller(&gw, true)?;
    gw.advance_orders();
    let scope = {
        let broker = gw.broker();
        let selected = selected_account(&caller, &broker).unwrap_or_default();
        with_sub_accounts(&broker, &selected)
    };
    let mut desk = gw.desk();
    let Some(o) = order_id_param(&id)
        .and_then(|i| desk.engine.order(i))
        .filter(|o| scope.contains(&o.account))
        .cloned()
    else {
        return Ok(status_unavailable(id.trim()));
    };
    desk.status_requests += 1;
    let request_id = desk.status_requests;
    let has_children = desk
        .engine
        .orders(&o.account)
        .iter()
        .any(|c| c.parent == Some(o.id));
    drop(desk);
    let inst = gw.market.universe.get(o.conid);
    let tick = inst.map_or(Decimal::new(1, 2), |i| i.tick);
    let text = |d: Decimal| Some(LooseDecimal::Text(float(d)));
    let mut s = OrderStatusDetail::new(wire_id(o.id), wire_status(o.status));
    s.request_id = Some(request_id.to_string());
    s.conidex = Some(o.conid.to_string());
    s.conid = Some(Conid(i64::from(o.conid)));
    s.side = Some(wire_side(o.side));
    if let Some(i) = inst {
        s.symbol = Some(i.symbol.clone());
        s.contract_description_1 = Some(i.local_symbol.clone());
        s.listing_exchange = Some(i.listing_exchange.clone());
        s.company_name = Some(i.name.clone());
        s.currency = Some(i.currency.clone());
        s.sec_type = Some(wire_sec_type(i.sec_type));
    }
    s.is_event_trading = Some("0".into());
    s.order_desc = Some(describe(&o, inst, true));
    s.order_type = Some(type_word(&o.kind).into());
    s.size = text(o.quantity);
    s.total_size = text(o.quantity);
    s.total_cash_size = text(o.cash_qty.unwrap_or_default());
    s.filled_quantity = text(o.filled);
    s.remaining_quantity = text(o.remaining());
    if let Some(last) = o.last_fill_price() {
        s.fill_price = text(last);
        s.last_fill_price = text(last);
    }
    if let Some(avg) = o.avg_price {
        s.avg_fill_price = text(avg);
    }
    s.price = text(shown_price(&o.kind).unwrap_or_default());
    if let Some(l) = o.limit_price() {
        s.limit_price = Some(LooseDecimal::Text(price_text(l, tick).parse().unwrap_or(l)));
    }
    if let Some(st) = o.stop_price {
        s.stop_price = Some(LooseDecimal::Text(
            price_text(st, tick).parse().unwrap_or(st),
        ));
    }
    s.account = Some(o.account.as_str().into());
    s.tif = Some(ibkr_model::orders::Tif::from_code(o.tif.code()));
    s.bg_color = Some("#FFFFFF".into());
    s.fg_color = Some("#000000".into());
    s.order_not_editable = Some(o.status.is_final());
    s.editable_fields = Some(String::new());
    s.cannot_cancel_order = Some(o.status.is_final());
    s.outside_rth = Some(o.outside_rth);
    s.all_or_none = Some(false);
    s.deactivate_order = Some(false);
    s.use_price_mgmt_algo = Some(false);
    s.order_description = Some(describe(&o, inst, false));
    s.order_description_with_contract = Some(describe(&o, inst, true));
    s.clearing_id = Some("IB".into());
    s.clearing_name = Some("IB".into());
    s.alert_active = Some(0);
    s.child_order_type = Some(if has_children { "A" } else { "0" }.into());
    s.order_clearing_account = Some(o.account.as_str().into());
    s.size_and_fills = Some(format!("{}/{}", qty_text(o.filled), qty_text(o.quantity)));
    s.exit_strategy_display_price = text(o.avg_price.unwrap_or_default());
    s.exit_strategy_chart_description = Some(String::new());
    s.exit_strategy_tool_availability = Some("0".into());
    s.allowed_duplicate_opposite = Some(true);
    s.order_time = Some(compact_time(o.submitted_at));
    s.oca_group_id = o.oca_group.clone();
    s.extra
        .insert("order_ccp_status".into(), ccp_status(o.status).into());
    Ok(Json(s).into_response())
}

/// The query of `/iserver/account/trades`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct TradesParams {
    days: Option<String>,
}

/// Midnight in New York of the market's day `days` days before `now`'s.
fn day_start(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let day = now.with_timezone(&New_York).date_naive() - Duration::days(i64::from(days));
    New_York
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map_or(now - Duration::days(i64::from(days) + 1), |t| {
            t.with_timezone(&Utc)
        })
}

/// `GET /iserver/account/trades?days=N`: the executions of the selected account (and
/// its sub-accounts for an advisor's master) since midnight (New York) of the market's
/// day, or of `N` days before (at most 7), newest first.
pub(crate) async fn trades(
    State(gw): State<Shared>,
    Q(q): Q<TradesParams>,
) -> Result<Json<Vec<Trade>>, ApiError> {
    let caller = caller(&gw, true)?;
    gw.advance_orders();
    let days = match q.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => 0,
        Some(d) => d
            .parse::<u32>()
            .map_err(|_| {
                bad(format!(
                    "Bad Request: days must be a number of days, not {d}"
                ))
            })?
            .min(7),
    };
    let scope = {
        let broker = gw.broker();
        let selected = selected_account(&caller, &broker).unwrap_or_default();
        with_sub_accounts(&broker, &selected)
    };
    let since = day_start(gw.market.now(), days);
    let desk = gw.desk();
    let mut out: Vec<(DateTime<Utc>, String, Trade)> = Vec::new();
    for account in &scope {
        for f in desk.engine.executions(account, since) {
            if let Some(t) = wire_trade(&desk, &gw, f) {
                out.push((f.at, f.id.clone(), t));
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    Ok(Json(out.into_iter().map(|(_, _, t)| t).collect()))
}

/// An execution as `/iserver/account/trades` lists it (and the `str` websocket topic
/// streams it); `None` for a fill of an order the engine no longer knows.
pub(crate) fn wire_trade(desk: &Desk, gw: &Shared, f: &crate::matching::Fill) -> Option<Trade> {
    let o = desk.engine.order(f.order)?;
    let inst = gw.market.universe.get(f.conid);
    let meta = desk.meta.get(&f.order);
    let symbol = inst.map_or_else(|| f.conid.to_string(), |i| i.symbol.clone());
    let side = match f.side {
        Side::Buy => ExecSide::Buy,
        Side::Sell => ExecSide::Sell,
    };
    let mut t = Trade::new(
        f.id.clone(),
        Conid(i64::from(f.conid)),
        symbol.clone(),
        side,
        float(f.quantity),
        f.price,
    );
    let exchange = inst.map_or_else(|| "SMART".to_string(), |i| i.exchange.clone());
    t.supports_tax_opt = Some(
        if inst.is_some_and(|i| i.sec_type == SecType::Stock) {
            "1"
        } else {
            "0"
        }
        .into(),
    );
    t.order_description = Some(format!(
        "{} {} @ {} on {exchange}",
        if f.side == Side::Buy { "Bot" } else { "Sold" },
        qty_text(f.quantity),
        f.price.normalize()
    ));
    t.trade_time = Some(f.at.format("%Y%m%d-%H:%M:%S").to_string());
    t.trade_time_r = Some(EpochMillis(f.at.timestamp() * 1000));
    t.price = MixedDecimal::Text(f.price.normalize());
    if !o.coid.is_empty() {
        t.order_ref = Some(o.coid.clone());
    }
    t.submitter = meta.map(|m| m.submitter.clone());
    t.exchange = Some(exchange.clone());
    t.commission = Some(MixedDecimal::Text(float(f.commission)));
    let multiplier = inst.map_or(Decimal::ONE, |i| i.multiplier);
    t.net_amount = Some(float(money(f.quantity * f.price * multiplier)));
    t.account = Some(f.account.as_str().into());
    t.account_code = Some(f.account.as_str().into());
    t.account_allocation_name = Some(
        meta.and_then(|m| m.allocation.clone())
            .unwrap_or_else(|| f.account.clone()),
    );
    if let Some(i) = inst {
        t.company_name = Some(i.name.clone());
        t.contract_description_1 = Some(i.local_symbol.clone());
        t.sec_type = Some(wire_sec_type(i.sec_type));
        t.listing_exchange = Some(i.listing_exchange.clone());
    }
    t.conid_ex = Some(f.conid.to_string());
    t.directed_exchange = Some(exchange);
    t.clearing_id = Some("IB".into());
    t.clearing_name = Some("IB".into());
    t.liquidation_trade = Some("0".into());
    t.is_event_trading = Some("0".into());
    t.order_id = Some(wire_id(f.order));
    Some(t)
}

// ---------------------------------------------------------------------------------------
// Suppression, notifications

/// `POST /iserver/questions/suppress` with `{"messageIds": [...]}`: those questions
/// are confirmed automatically for the rest of the brokerage session (each request
/// replaces the previous list, as IBKR documents; more than 51 ids is a system error).
pub(crate) async fn suppress(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<SuppressResponse>, ApiError> {
    caller(&gw, false)?;
    let req: SuppressRequest = parse_body(&body, "{\"messageIds\": [\"o163\", ...]}")?;
    if req.message_ids.len() > MAX_SUPPRESSED {
        return Err(ApiError::Internal(format!(
            "system error: at most {MAX_SUPPRESSED} message ids can be suppressed in one request, not {}",
            req.message_ids.len()
        )));
    }
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    sso.suppressed = req
        .message_ids
        .iter()
        .map(|id| id.as_str().to_string())
        .collect();
    Ok(Json(SuppressResponse::submitted()))
}

/// `POST /iserver/questions/suppress/reset`: every question is asked again.
pub(crate) async fn suppress_reset(
    State(gw): State<Shared>,
) -> Result<Json<SuppressResponse>, ApiError> {
    caller(&gw, false)?;
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    sso.suppressed.clear();
    Ok(Json(SuppressResponse::submitted()))
}

/// `POST /iserver/notification` with `{"orderId", "reqId", "text"}`: the answer to a
/// server prompt. The simulator sends no server prompts, so there is nothing to act
/// on: a well-formed answer gets the recorded `"Request was submitted"`.
pub(crate) async fn notification(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<NotificationResponse>, ApiError> {
    caller(&gw, false)?;
    let _req: NotificationRequest = parse_body(
        &body,
        "{\"orderId\": 123, \"reqId\": \"...\", \"text\": \"...\"}",
    )?;
    Ok(Json(NotificationResponse::submitted()))
}

// ---------------------------------------------------------------------------------------
// Control API

/// Every order of every account, for `GET /sim/orders`.
pub(crate) fn control_view(gw: &Shared) -> serde_json::Value {
    let accounts: Vec<String> = gw
        .broker()
        .accounts()
        .iter()
        .map(|a| a.id.clone())
        .collect();
    let desk = gw.desk();
    let mut orders: Vec<&Order> = accounts
        .iter()
        .flat_map(|a| desk.engine.orders(a))
        .collect();
    orders.sort_by_key(|o| o.id);
    let by_id: BTreeMap<u64, serde_json::Value> = orders
        .iter()
        .map(|o| {
            (
                o.id.0,
                serde_json::json!({
                    "id": o.id.0,
                    "account": o.account,
                    "conid": o.conid,
                    "side": side_code(o.side),
                    "type": o.kind.code(),
                    "price": o.kind.price().map(|p| p.normalize().to_string()),
                    "aux_price": o.kind.aux_price().map(|p| p.normalize().to_string()),
                    "tif": o.tif.code(),
                    "outside_rth": o.outside_rth,
                    "quantity": o.quantity.normalize().to_string(),
                    "filled": o.filled.normalize().to_string(),
                    "avg_price": o.avg_price.map(|p| p.normalize().to_string()),
                    "commission": o.commission.normalize().to_string(),
                    "status": o.status.as_str(),
                    "coid": o.coid,
                    "parent": o.parent.map(|p| p.0),
                    "oca_group": o.oca_group,
                    "allocation": desk.meta.get(&o.id).and_then(|m| m.allocation.clone()),
                    "submitted_at": o.submitted_at.to_rfc3339(),
                    "updated_at": o.updated_at.to_rfc3339(),
                    "reason": o.reason,
                }),
            )
        })
        .collect();
    serde_json::Value::Array(by_id.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_ibkr_writes_them() {
        assert_eq!(java(Decimal::new(150, 0)), "150.0");
        assert_eq!(java(Decimal::new(64709, 2)), "647.09");
        assert_eq!(java(Decimal::new(10200, 4)), "1.02");
        assert_eq!(grouped(Decimal::new(12499500, 2), 2), "124,995.00");
        assert_eq!(grouped(Decimal::from(-1_005_254), 0), "-1,005,254");
        assert_eq!(grouped(Decimal::from(100), 0), "100");
        assert_eq!(grouped(Decimal::new(-4, 1), 0), "0");
        assert_eq!(amount_text(Decimal::ONE), "1");
        assert_eq!(amount_text(Decimal::new(197760, 2)), "1,977.60");
        assert_eq!(
            price_text(Decimal::new(9, 1), Decimal::new(5, 5)),
            "0.90000"
        );
        assert_eq!(price_text(Decimal::from(150), Decimal::new(1, 2)), "150.00");
    }

    #[test]
    fn splits_keep_the_total() {
        let w = [Decimal::ONE, Decimal::ONE, Decimal::ONE];
        let parts = split(Decimal::from(10), &w, 0);
        assert_eq!(parts.iter().sum::<Decimal>(), Decimal::from(10));
        assert_eq!(
            parts,
            [Decimal::from(4), Decimal::from(3), Decimal::from(3)]
        );
        let parts = split(Decimal::from(7), &[Decimal::from(3), Decimal::ONE], 0);
        assert_eq!(parts, [Decimal::from(5), Decimal::from(2)]);
        assert_eq!(split(Decimal::ONE, &[], 0), Vec::<Decimal>::new());
        let cash = split(Decimal::new(10001, 2), &[Decimal::ONE, Decimal::ONE], 2);
        assert_eq!(cash.iter().sum::<Decimal>(), Decimal::new(10001, 2));
    }

    #[test]
    fn reply_ids_look_like_uuids() {
        let id = reply_id();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_ne!(reply_id(), id);
    }

    #[test]
    fn allocation_methods_parse_loosely() {
        assert_eq!(Allocation::parse(None), Ok(Allocation::EqualQuantity));
        assert_eq!(
            Allocation::parse(Some("NetLiquidity")),
            Ok(Allocation::NetLiquidity)
        );
        assert_eq!(
            Allocation::parse(Some("available_equity")),
            Ok(Allocation::AvailableEquity)
        );
        assert!(Allocation::parse(Some("PctChange")).is_err());
    }
}
