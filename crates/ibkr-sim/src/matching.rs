//! The simulator's order matching engine: a pure state machine over the paper
//! [`Broker`] and the [`PriceEngine`], with no HTTP, no clock and no randomness of its
//! own.
//!
//! The HTTP layer drives it: [`Engine::submit`], [`Engine::modify`] and
//! [`Engine::cancel`] record requests, and [`Engine::advance`] moves the engine's time
//! forward to a given instant, working every order against the price engine's quotes
//! on the way and booking every fill through [`Broker::apply_fill`]. It returns the
//! [`Event`]s that happened (status changes and fills), for the streaming endpoints.
//! The engine's types are its own; the HTTP layer converts them to and from IBKR's
//! JSON.
//!
//! ```
//! use chrono::{DateTime, Duration, NaiveDate, Utc};
//! use ibkr_sim::broker::{Broker, BrokerConfig, INDIVIDUAL_ACCOUNT, Side};
//! use ibkr_sim::instruments::Universe;
//! use ibkr_sim::matching::{Engine, EngineConfig, NewOrder, OrderKind, OrderStatus};
//! use ibkr_sim::prices::PriceEngine;
//! use rust_decimal::Decimal;
//!
//! let universe = Universe::standard(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
//! let prices = PriceEngine::new(42, &universe);
//! let mut broker = Broker::new(BrokerConfig::individual(), &universe).unwrap();
//! let mut engine = Engine::new(EngineConfig::default());
//! let at: DateTime<Utc> = "2025-07-16T15:00:00Z".parse().unwrap(); // 11:00 New York
//! let order = NewOrder::new(INDIVIDUAL_ACCOUNT, 265598, Side::Buy, Decimal::from(10), OrderKind::Market)
//!     .coid("my-first-order");
//! let id = engine.submit(order, at, &prices, &broker).unwrap();
//! assert_eq!(engine.order(id).unwrap().status, OrderStatus::PendingSubmit);
//! let events = engine.advance(at + Duration::seconds(5), &prices, &mut broker);
//! assert!(!events.is_empty());
//! let o = engine.order(id).unwrap();
//! assert_eq!(o.status, OrderStatus::Filled);
//! assert_eq!(o.filled, Decimal::from(10));
//! assert_eq!(broker.account(INDIVIDUAL_ACCOUNT).unwrap().position(265598).unwrap().quantity, Decimal::from(110));
//! ```
//!
//! # Time
//!
//! The engine keeps the instant it has been advanced to. Requests carry their own
//! instant (clamped to the engine's, time never runs backwards) and take effect at
//! the first evaluation at or after it:
//!
//! - a submitted order is [`PendingSubmit`](OrderStatus::PendingSubmit) until then,
//!   then [`Submitted`](OrderStatus::Submitted) when it can work, or
//!   [`PreSubmitted`](OrderStatus::PreSubmitted) while it waits (a stop not yet
//!   elected, outside regular hours without `outside_rth`, a bracket child whose
//!   parent has not filled);
//! - a cancelled order is [`PendingCancel`](OrderStatus::PendingCancel) until then,
//!   and may still fill at instants before the cancel's (as at IBKR), then
//!   [`Cancelled`](OrderStatus::Cancelled);
//! - a modification applies at once to the order's terms.
//!
//! The HTTP layer should therefore advance the engine to `now` before each request
//! and again after it, so that answers show the acknowledged state.
//!
//! [`Engine::advance`] evaluates the orders at the engine's instant, then every
//! [`EngineConfig::step`] (1 s) while some order can act, and at every session
//! boundary (open and close of the regular and extended sessions) and order time
//! (submission, cancel, expiry, auction) in between. While no order can act (markets
//! closed, or only regular-hours orders outside regular hours, or only auction orders)
//! it jumps straight to the next such instant, so a weekend costs a handful of
//! evaluations. One call evaluates at most about [`EngineConfig::max_steps`] steps:
//! over longer spans the step grows (and should session boundaries alone exceed
//! twice that, the call stops early, [`Engine::now`] tells where, and the next call
//! carries on).
//!
//! # Matching
//!
//! At each evaluation, for each working order in order-id order:
//!
//! - **Market** (`MKT`): fills at the touch (the ask for a buy, the bid for a sell),
//!   at most the displayed size (ask or bid size) per step, shared by every order on
//!   that side of that instrument; a large order fills partially over several steps.
//! - **Limit** (`LMT`): rests until the touch reaches the limit (ask ≤ limit for a
//!   buy, bid ≥ limit for a sell), then fills at the touch (the limit or better), up
//!   to the displayed size.
//! - **Stop** (`STP`) and **stop limit** (`STP LMT`): elected when the last price
//!   reaches the stop (last ≥ stop for a buy, last ≤ stop for a sell), then work as a
//!   market or limit order.
//! - **Trailing stop** (`TRAIL`) and **trailing stop limit** (`TRAILLMT`): the stop
//!   follows the best last price since activation (the highest for a sell, the lowest
//!   for a buy) at `amount` price units or `amount` percent, rounded to the tick, and
//!   is elected on the retrace. A trailing stop limit then works as a limit at the stop
//!   price minus (sell) or plus (buy) `limit_offset`.
//! - **Midprice** (`MIDPRICE`): fills at the midpoint of bid and ask, only when the
//!   midpoint is no worse than the cap (if any), up to the displayed size.
//! - **Market on close** (`MOC`) and **limit on close** (`LOC`): fill in full in the
//!   closing auction of the regular session, at the closing price (the price at the
//!   close); a LOC only if the close satisfies its limit, else it is cancelled (a GTC
//!   LOC waits for the next close).
//!
//! Time in force:
//!
//! - `DAY` orders are cancelled at the close of the regular session (of the extended
//!   session when `outside_rth`) of the day they are activated in; orders activated
//!   after it are good for the next session.
//! - `GTC` orders work until filled or cancelled (options and futures are cancelled
//!   when their contract expires).
//! - `IOC` orders are evaluated once, at their first evaluation, and whatever has not
//!   filled then is cancelled (IOC market-on-close and limit-on-close orders behave
//!   as `DAY`, the closing auction being their only chance). Only market, limit,
//!   midprice, MOC and LOC orders may be IOC.
//! - `OPG` orders (market or limit only) go to the opening auction of the next
//!   regular session and fill in full at the opening price (a limit only if the
//!   opening price satisfies it), or are cancelled.
//!
//! Continuous orders work in regular hours only, unless `outside_rth`: then also in
//! the extended session. While they cannot work they wait as `PreSubmitted`.
//!
//! Bracket children (orders with a `parent`) wait as `PreSubmitted` until their parent
//! has filled completely, then activate (their `DAY` is the day of activation); when
//! the parent ends without filling completely they are cancelled. Children of one parent are
//! one-cancels-all with reduction, as IBKR's brackets: a fill of one reduces the
//! quantity of its siblings by the quantity filled, cancelling them when nothing is
//! left. Orders of an explicit OCA group (`oca_group`, per account) are
//! one-cancels-all: the first fill of one cancels all the others.
//!
//! # Commissions
//!
//! Every fill is booked with a commission on IBKR's fixed schedule (charged in the
//! instrument's currency, as the broker books it), computed for the order as a whole
//! so that the minimum applies once per order: each fill is charged the order's
//! commission after it less the commission before it, both rounded to cents.
//!
//! | instrument   | commission per order                                                        |
//! |--------------|-----------------------------------------------------------------------------|
//! | US stock     | USD 0.005 per share, at least USD 1.00, at most 1 % of the trade value      |
//! | other stock  | 0.05 % of the trade value, at least the equivalent of USD 1.00               |
//! | option       | USD 0.65 per contract, at least USD 1.00                                    |
//! | future       | USD 0.85 per contract                                                       |
//! | FX           | 0.2 basis points (0.002 %) of the trade value, at least the equivalent of USD 2.00 |
//!
//! Amounts in USD are converted to the instrument's currency at the last price of the
//! universe's FX pairs. The schedule leaves out exchange, regulatory and clearing fees
//! (IBKR adds the SEC and FINRA fees to sales, which is why a recorded sale of 9 shares
//! shows a commission of 1.02).
//!
//! # Validation
//!
//! [`Engine::submit`] refuses, with a typed [`Reject`]: unknown accounts and
//! contracts, indices, quantities that are zero, negative, too large or fractional
//! where not allowed (whole units for options, futures and non-US stocks; up to four
//! decimals for US stocks in market, limit, stop and trailing orders when
//! [`EngineConfig::fractional_shares`]; two decimals for FX), prices that are not
//! positive or not a multiple of the instrument's tick, time-in-force values an order
//! type does not support, a client order id (`coid`) already used by the account, a
//! parent the engine does not know (or that was cancelled), and orders the account
//! cannot afford.
//!
//! Affordability uses the broker's margin model: the order is filled, on a copy of the
//! broker, in full at its reference price (its limit or stop price, else the touch)
//! with its commission, and refused when that would leave the account's available
//! funds (net liquidation − initial margin) below zero while raising its initial
//! margin. With the model's 50 % initial margin on stock, an account can so buy
//! stock for about twice its available funds; orders that reduce risk always pass.
//! Working orders are not counted, and bracket children that close their parent's
//! position are not checked.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::broker::{Broker, BrokerError, Side, engine_marks, money};
use crate::instruments::{Instrument, Kind, MarketState, SecType, TradingSchedule};
use crate::prices::{PriceEngine, SimQuote};

/// The largest quantity (units, shares, contracts) or price an order may carry.
const MAX_VALUE: i64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------
// Order terms

/// An order's id: increasing from [`EngineConfig::first_order_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(pub u64);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What kind of order, with its prices (in the instrument's price units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderKind {
    /// `MKT`: at the touch.
    Market,
    /// `LMT`: at the limit price or better.
    Limit(Decimal),
    /// `STP`: a market order once the last price reaches the stop price.
    Stop(Decimal),
    /// `STP LMT`: a limit order once the last price reaches the stop price.
    StopLimit {
        /// The stop (trigger) price.
        stop: Decimal,
        /// The limit price once elected.
        limit: Decimal,
    },
    /// `TRAIL`: a stop that follows the market at a distance.
    Trail {
        /// The distance: price units, or percent when `percent`.
        amount: Decimal,
        /// `amount` is a percentage of the best price.
        percent: bool,
    },
    /// `TRAILLMT`: a trailing stop that becomes a limit order.
    TrailLimit {
        /// The distance: price units, or percent when `percent`.
        amount: Decimal,
        /// `amount` is a percentage of the best price.
        percent: bool,
        /// The limit is the stop price minus (sell) or plus (buy) this offset.
        limit_offset: Decimal,
    },
    /// `MIDPRICE`: at the midpoint of bid and ask, no worse than the cap.
    MidPrice {
        /// The worst price accepted (highest for a buy, lowest for a sell).
        cap: Option<Decimal>,
    },
    /// `MOC`: market on close.
    Moc,
    /// `LOC`: limit on close.
    Loc(Decimal),
}

impl OrderKind {
    /// IBKR's order type code: `MKT`, `LMT`, `STP`, `STP LMT`, `TRAIL`, `TRAILLMT`,
    /// `MIDPRICE`, `MOC` or `LOC`.
    pub fn code(&self) -> &'static str {
        match self {
            OrderKind::Market => "MKT",
            OrderKind::Limit(_) => "LMT",
            OrderKind::Stop(_) => "STP",
            OrderKind::StopLimit { .. } => "STP LMT",
            OrderKind::Trail { .. } => "TRAIL",
            OrderKind::TrailLimit { .. } => "TRAILLMT",
            OrderKind::MidPrice { .. } => "MIDPRICE",
            OrderKind::Moc => "MOC",
            OrderKind::Loc(_) => "LOC",
        }
    }

    /// The order's `price` in IBKR's order ticket: the limit price, a midprice
    /// order's cap, or a trailing stop limit's limit offset.
    pub fn price(&self) -> Option<Decimal> {
        match *self {
            OrderKind::Limit(p) | OrderKind::Loc(p) => Some(p),
            OrderKind::StopLimit { limit, .. } => Some(limit),
            OrderKind::MidPrice { cap } => cap,
            OrderKind::TrailLimit { limit_offset, .. } => Some(limit_offset),
            _ => None,
        }
    }

    /// The auxiliary price: the stop price, or the trailing amount (`auxPrice`).
    pub fn aux_price(&self) -> Option<Decimal> {
        match *self {
            OrderKind::Stop(s) | OrderKind::StopLimit { stop: s, .. } => Some(s),
            OrderKind::Trail { amount, .. } | OrderKind::TrailLimit { amount, .. } => Some(amount),
            _ => None,
        }
    }

    /// Stops and trailing stops: they must be elected before they work.
    fn needs_trigger(&self) -> bool {
        matches!(
            self,
            OrderKind::Stop(_)
                | OrderKind::StopLimit { .. }
                | OrderKind::Trail { .. }
                | OrderKind::TrailLimit { .. }
        )
    }

    fn is_close_auction(&self) -> bool {
        matches!(self, OrderKind::Moc | OrderKind::Loc(_))
    }

    fn allows_fractions(&self) -> bool {
        matches!(
            self,
            OrderKind::Market
                | OrderKind::Limit(_)
                | OrderKind::Stop(_)
                | OrderKind::StopLimit { .. }
                | OrderKind::Trail { .. }
                | OrderKind::TrailLimit { .. }
        )
    }
}

impl fmt::Display for OrderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tif {
    /// Until the session's close.
    Day,
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// At the opening auction.
    Opg,
}

impl Tif {
    /// IBKR's code: `DAY`, `GTC`, `IOC` or `OPG`.
    pub fn code(self) -> &'static str {
        match self {
            Tif::Day => "DAY",
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
            Tif::Opg => "OPG",
        }
    }
}

impl fmt::Display for Tif {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An order's status, as IBKR names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Received, not yet acknowledged (until the engine's next evaluation).
    PendingSubmit,
    /// Accepted and waiting: a stop not yet elected, outside its trading hours, or a
    /// bracket child whose parent has not filled.
    PreSubmitted,
    /// Working.
    Submitted,
    /// Completely filled.
    Filled,
    /// Cancel requested, not yet confirmed.
    PendingCancel,
    /// Cancelled: by request, expired, or one-cancels-all.
    Cancelled,
    /// Stopped by the broker (a fill it refused); see [`Order::reason`].
    Inactive,
}

impl OrderStatus {
    /// IBKR's name: `PendingSubmit`, `PreSubmitted`, `Submitted`, `Filled`,
    /// `PendingCancel`, `Cancelled` or `Inactive`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingSubmit => "PendingSubmit",
            OrderStatus::PreSubmitted => "PreSubmitted",
            OrderStatus::Submitted => "Submitted",
            OrderStatus::Filled => "Filled",
            OrderStatus::PendingCancel => "PendingCancel",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Inactive => "Inactive",
        }
    }

    /// Filled, cancelled or inactive: nothing more will happen to the order.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Inactive
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as submitted to [`Engine::submit`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewOrder {
    /// The account.
    pub account: String,
    /// The instrument.
    pub conid: u32,
    /// Buy or sell.
    pub side: Side,
    /// Quantity in units (shares, contracts, base currency); zero with `cash_qty`.
    pub quantity: Decimal,
    /// A cash amount (in the instrument's currency) instead of a quantity: the
    /// quantity is this divided by the order's reference price, rounded down to the
    /// units the instrument allows.
    pub cash_qty: Option<Decimal>,
    /// Order type and prices.
    pub kind: OrderKind,
    /// Time in force.
    pub tif: Tif,
    /// May work outside regular hours (in the extended session).
    pub outside_rth: bool,
    /// The client's order id (IBKR's `cOID`), unique per account; empty for none.
    pub coid: String,
    /// The parent of a bracket child.
    pub parent: Option<OrderId>,
    /// A one-cancels-all group, per account.
    pub oca_group: Option<String>,
}

impl NewOrder {
    /// A `DAY` order for regular hours, without client id, parent or OCA group.
    pub fn new(
        account: impl Into<String>,
        conid: u32,
        side: Side,
        quantity: Decimal,
        kind: OrderKind,
    ) -> Self {
        NewOrder {
            account: account.into(),
            conid,
            side,
            quantity,
            cash_qty: None,
            kind,
            tif: Tif::Day,
            outside_rth: false,
            coid: String::new(),
            parent: None,
            oca_group: None,
        }
    }

    /// Sets the time in force.
    pub fn tif(mut self, tif: Tif) -> Self {
        self.tif = tif;
        self
    }

    /// Lets the order work outside regular hours.
    pub fn outside_rth(mut self, yes: bool) -> Self {
        self.outside_rth = yes;
        self
    }

    /// Sets the client order id.
    pub fn coid(mut self, coid: impl Into<String>) -> Self {
        self.coid = coid.into();
        self
    }

    /// Makes the order a bracket child of `parent`.
    pub fn parent(mut self, parent: OrderId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Puts the order in a one-cancels-all group.
    pub fn oca_group(mut self, group: impl Into<String>) -> Self {
        self.oca_group = Some(group.into());
        self
    }

    /// Gives a cash amount instead of a quantity (the quantity becomes zero).
    pub fn cash_qty(mut self, amount: Decimal) -> Self {
        self.quantity = Decimal::ZERO;
        self.cash_qty = Some(amount);
        self
    }
}

/// Changes to a working order, for [`Engine::modify`]; `None` keeps a term.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderChanges {
    /// New total quantity (more than what has filled).
    pub quantity: Option<Decimal>,
    /// New limit price (limit, stop limit, LOC), cap (midprice) or limit offset
    /// (trailing stop limit).
    pub price: Option<Decimal>,
    /// New stop price (stop, stop limit) or trailing amount.
    pub aux_price: Option<Decimal>,
    /// New time in force.
    pub tif: Option<Tif>,
    /// Whether it may work outside regular hours.
    pub outside_rth: Option<bool>,
}

impl OrderChanges {
    /// No changes.
    pub fn new() -> Self {
        OrderChanges::default()
    }

    /// Changes the quantity.
    pub fn quantity(mut self, q: Decimal) -> Self {
        self.quantity = Some(q);
        self
    }

    /// Changes the price.
    pub fn price(mut self, p: Decimal) -> Self {
        self.price = Some(p);
        self
    }

    /// Changes the auxiliary price.
    pub fn aux_price(mut self, p: Decimal) -> Self {
        self.aux_price = Some(p);
        self
    }

    /// Changes the time in force.
    pub fn tif(mut self, tif: Tif) -> Self {
        self.tif = Some(tif);
        self
    }

    /// Changes whether it may work outside regular hours.
    pub fn outside_rth(mut self, yes: bool) -> Self {
        self.outside_rth = Some(yes);
        self
    }
}

// ---------------------------------------------------------------------------------------
// Orders, fills, events

/// One execution of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fill {
    /// Execution id in IBKR's style, e.g. `00000001.6877bf10.01.01`.
    pub id: String,
    /// The order.
    pub order: OrderId,
    /// The account.
    pub account: String,
    /// The instrument.
    pub conid: u32,
    /// Buy or sell.
    pub side: Side,
    /// When it filled.
    pub at: DateTime<Utc>,
    /// Quantity (positive).
    pub quantity: Decimal,
    /// Price per unit.
    pub price: Decimal,
    /// Commission, in `currency`.
    pub commission: Decimal,
    /// The instrument's currency.
    pub currency: String,
}

/// An order and where it stands.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// The account.
    pub account: String,
    /// The instrument.
    pub conid: u32,
    /// Buy or sell.
    pub side: Side,
    /// Total quantity.
    pub quantity: Decimal,
    /// The cash amount the quantity was derived from, if given so.
    pub cash_qty: Option<Decimal>,
    /// Order type and prices.
    pub kind: OrderKind,
    /// Time in force.
    pub tif: Tif,
    /// May work outside regular hours.
    pub outside_rth: bool,
    /// The client's order id (empty for none).
    pub coid: String,
    /// The parent of a bracket child.
    pub parent: Option<OrderId>,
    /// Its one-cancels-all group.
    pub oca_group: Option<String>,
    /// Status.
    pub status: OrderStatus,
    /// Quantity filled so far.
    pub filled: Decimal,
    /// Average fill price (8 decimals), `None` before the first fill.
    pub avg_price: Option<Decimal>,
    /// Commissions charged so far.
    pub commission: Decimal,
    /// Its fills, oldest first.
    pub executions: Vec<Fill>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// Its last change (status, fill or modification).
    pub updated_at: DateTime<Utc>,
    /// For stops: whether it has been elected.
    pub triggered: bool,
    /// The stop price in force (a trailing stop's current stop).
    pub stop_price: Option<Decimal>,
    /// When it will expire (end of its day, contract expiry), once active.
    pub expires_at: Option<DateTime<Utc>>,
    /// Why it was cancelled or made inactive.
    pub reason: Option<String>,
    /// Acknowledged (past its submission instant).
    acked: bool,
    activated: bool,
    cancel_at: Option<DateTime<Utc>>,
    auction_at: Option<DateTime<Utc>>,
    trail_best: Option<Decimal>,
    ioc_done: bool,
    /// Σ quantity × price × multiplier of the fills.
    gross_value: Decimal,
    /// Σ quantity × price of the fills.
    traded: Decimal,
    terms: Terms,
}

/// What an order needs to know of its instrument.
#[derive(Debug, Clone, PartialEq)]
struct Terms {
    tick: Decimal,
    schedule: TradingSchedule,
    /// When the contract stops trading for good.
    end: Option<DateTime<Utc>>,
    sec_type: SecType,
    us: bool,
}

impl Terms {
    fn of(inst: &Instrument) -> Terms {
        Terms {
            tick: inst.tick,
            schedule: inst.schedule,
            end: contract_end(inst),
            sec_type: inst.sec_type,
            us: inst.is_us(),
        }
    }

    /// Decimals a quantity may have.
    fn decimals(&self, kind: &OrderKind, fractional: bool) -> u32 {
        match self.sec_type {
            SecType::Stock if fractional && self.us && kind.allows_fractions() => 4,
            SecType::Forex => 2,
            _ => 0,
        }
    }
}

impl Order {
    /// Quantity left to fill (zero once cancelled or filled).
    pub fn remaining(&self) -> Decimal {
        if self.status.is_final() {
            Decimal::ZERO
        } else {
            (self.quantity - self.filled).max(Decimal::ZERO)
        }
    }

    /// Not filled, cancelled or inactive.
    pub fn is_working(&self) -> bool {
        !self.status.is_final()
    }

    /// The price of its last fill.
    pub fn last_fill_price(&self) -> Option<Decimal> {
        self.executions.last().map(|f| f.price)
    }

    /// A bracket child waiting for its parent to fill.
    pub fn is_waiting_for_parent(&self) -> bool {
        self.parent.is_some() && !self.activated && !self.status.is_final()
    }

    /// The limit price in force: the limit of a limit order, or of a trailing stop
    /// limit once elected.
    pub fn limit_price(&self) -> Option<Decimal> {
        match self.kind {
            OrderKind::Limit(l) | OrderKind::Loc(l) | OrderKind::StopLimit { limit: l, .. } => {
                Some(l)
            }
            OrderKind::TrailLimit { limit_offset, .. } => {
                self.stop_price.map(|s| s + self.side.sign() * limit_offset)
            }
            _ => None,
        }
    }

    fn auction(&self) -> bool {
        self.kind.is_close_auction() || self.tif == Tif::Opg
    }
}

/// What happened to orders during [`Engine::advance`] (and the requests before it).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// An order changed status.
    StatusChanged {
        /// The order.
        order: OrderId,
        /// Its account.
        account: String,
        /// The previous status (`None` for a new order).
        from: Option<OrderStatus>,
        /// The new status.
        to: OrderStatus,
        /// When.
        at: DateTime<Utc>,
    },
    /// An order (partly) filled.
    Fill(Fill),
}

// ---------------------------------------------------------------------------------------
// Errors

/// Why [`Engine::submit`] refused an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reject {
    /// The broker has no such account.
    #[error("unknown account {account:?}: use one of the broker's accounts")]
    UnknownAccount {
        /// The account asked for.
        account: String,
    },
    /// The universe has no such contract.
    #[error(
        "unknown contract {conid}: use a conid of the simulator's universe (search it with /iserver/secdef/search)"
    )]
    UnknownContract {
        /// The conid asked for.
        conid: u32,
    },
    /// Indices cannot be traded.
    #[error("contract {conid} ({sec_type}) is not tradable: trade a future or an option on it")]
    NotTradable {
        /// The conid.
        conid: u32,
        /// Its security type.
        sec_type: SecType,
    },
    /// A quantity (or cash quantity) that is not allowed.
    #[error("invalid quantity {quantity}: {reason}")]
    BadQuantity {
        /// The quantity given.
        quantity: Decimal,
        /// What is wrong with it.
        reason: String,
    },
    /// A price that is zero, negative or too large.
    #[error("invalid {what} {price}: {reason}")]
    BadPrice {
        /// Which price (`limit price`, `stop price`, ...).
        what: &'static str,
        /// The price given.
        price: Decimal,
        /// What is wrong with it.
        reason: String,
    },
    /// A price that is not a multiple of the instrument's tick.
    #[error("the {what} {price} is not a multiple of the minimum tick {tick}")]
    OffTick {
        /// Which price.
        what: &'static str,
        /// The price given.
        price: Decimal,
        /// The instrument's tick.
        tick: Decimal,
    },
    /// A time in force the order type does not support.
    #[error("time in force {tif} is not supported for {kind} orders: {hint}")]
    UnsupportedTif {
        /// The time in force.
        tif: Tif,
        /// The order type code.
        kind: &'static str,
        /// What is supported.
        hint: &'static str,
    },
    /// The account already has an order with this client order id.
    #[error(
        "duplicate client order id {coid:?} for account {account}: give each order its own cOID"
    )]
    DuplicateCoid {
        /// The account.
        account: String,
        /// The client order id.
        coid: String,
    },
    /// The parent order is not known to the engine (or belongs to another account).
    #[error("unknown parent order {parent}: submit the parent first, from the same account")]
    UnknownParent {
        /// The parent id given.
        parent: OrderId,
    },
    /// The parent order has been cancelled or made inactive.
    #[error(
        "parent order {parent} is {status}: a child can only be attached to a working or filled order"
    )]
    ParentNotWorking {
        /// The parent id.
        parent: OrderId,
        /// Its status.
        status: OrderStatus,
    },
    /// The account cannot afford the order.
    #[error(
        "insufficient funds in {account}: the order needs {required} {currency} of initial margin and commission, {available} {currency} available"
    )]
    InsufficientFunds {
        /// The account.
        account: String,
        /// Initial margin the order adds, plus its commission.
        required: Decimal,
        /// Available funds (net liquidation − initial margin) before the order.
        available: Decimal,
        /// The account's base currency.
        currency: String,
    },
    /// The price engine has no quote for the instrument.
    #[error("no price for contract {conid}")]
    NoPrice {
        /// The conid.
        conid: u32,
    },
    /// The broker could not value the account (e.g. no FX rate for its currencies).
    #[error("cannot check the account's funds: {0}")]
    Valuation(BrokerError),
}

/// Why [`Engine::modify`] or [`Engine::cancel`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    /// No order has this id.
    #[error("unknown order {id}: list the account's orders to find its id")]
    UnknownOrder {
        /// The id given.
        id: OrderId,
    },
    /// The order has already filled.
    #[error("order {id} already filled: it can no longer be modified or cancelled")]
    AlreadyFilled {
        /// The order.
        id: OrderId,
    },
    /// The order has already been cancelled (or a cancel is pending).
    #[error("order {id} already cancelled")]
    AlreadyCancelled {
        /// The order.
        id: OrderId,
    },
    /// The order is inactive.
    #[error("order {id} is {status}: it can no longer be modified")]
    NotWorking {
        /// The order.
        id: OrderId,
        /// Its status.
        status: OrderStatus,
    },
    /// A change the order's type does not have (e.g. a price for a market order),
    /// or a quantity not above what has filled.
    #[error("cannot change order {id}: {reason}")]
    BadChange {
        /// The order.
        id: OrderId,
        /// What is wrong.
        reason: String,
    },
    /// A new value that would be refused for a new order.
    #[error("{0}")]
    Invalid(Reject),
}

// ---------------------------------------------------------------------------------------
// Commissions

/// The commission of a whole order of `quantity` units worth `value` (quantity ×
/// price × multiplier, in the instrument's currency), on IBKR's fixed schedule (see
/// the module's table); `usd_rate` is the price of one USD in the instrument's
/// currency. Not rounded.
pub fn order_commission(
    inst: &Instrument,
    quantity: Decimal,
    value: Decimal,
    usd_rate: Decimal,
) -> Decimal {
    let quantity = quantity.abs();
    let value = value.abs();
    if quantity.is_zero() {
        return Decimal::ZERO;
    }
    match inst.sec_type {
        SecType::Stock if inst.is_us() => {
            let per_share = (Decimal::new(5, 3) * quantity).max(Decimal::ONE);
            per_share.min(value * Decimal::new(1, 2))
        }
        SecType::Stock => (value * Decimal::new(5, 4)).max(usd_rate),
        SecType::Option => (Decimal::new(65, 2) * quantity).max(Decimal::ONE) * usd_rate,
        SecType::Future => Decimal::new(85, 2) * quantity * usd_rate,
        SecType::Forex => (value * Decimal::new(2, 5)).max(Decimal::TWO * usd_rate),
        _ => Decimal::ZERO,
    }
}

// ---------------------------------------------------------------------------------------
// The engine

/// How the engine runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The first order id (IBKR's look like `1234567890`).
    pub first_order_id: u64,
    /// Time between evaluations while orders can act. Default 1 s.
    pub step: Duration,
    /// At most about this many steps per [`Engine::advance`]: over longer spans the
    /// step grows. Default 200,000 (more than two days of regular hours).
    pub max_steps: u32,
    /// Allow fractional quantities (four decimals) for US stocks. Default true.
    pub fractional_shares: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            first_order_id: 1_234_567_890,
            step: Duration::seconds(1),
            max_steps: 200_000,
            fractional_shares: true,
        }
    }
}

impl EngineConfig {
    /// Sets the first order id.
    pub fn first_order_id(mut self, id: u64) -> Self {
        self.first_order_id = id;
        self
    }

    /// Sets the step.
    pub fn step(mut self, step: Duration) -> Self {
        self.step = step;
        self
    }

    /// Sets the most steps per advance.
    pub fn max_steps(mut self, n: u32) -> Self {
        self.max_steps = n;
        self
    }

    /// Allows or forbids fractional shares.
    pub fn fractional_shares(mut self, yes: bool) -> Self {
        self.fractional_shares = yes;
        self
    }
}

/// A market state known to hold over `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StateSpan {
    state: MarketState,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// The matching engine; see the module documentation.
#[derive(Debug, Clone)]
pub struct Engine {
    config: EngineConfig,
    next_id: u64,
    orders: BTreeMap<OrderId, Order>,
    /// The orders not yet filled, cancelled or inactive.
    live: BTreeSet<OrderId>,
    clock: Option<DateTime<Utc>>,
    events: Vec<Event>,
    fills: u64,
    states: HashMap<u32, StateSpan>,
    /// Displayed size already taken at `consumed_at`, per instrument and side.
    consumed: HashMap<(u32, Side), Decimal>,
    consumed_at: Option<DateTime<Utc>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(EngineConfig::default())
    }
}

fn eligible(state: MarketState, outside_rth: bool) -> bool {
    state == MarketState::Regular || (state == MarketState::Extended && outside_rth)
}

fn round_to(x: Decimal, tick: Decimal) -> Decimal {
    if tick <= Decimal::ZERO {
        return x;
    }
    (x / tick).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero) * tick
}

fn on_tick(x: Decimal, tick: Decimal) -> bool {
    tick <= Decimal::ZERO || (x / tick).fract().is_zero()
}

/// The first session boundary (open or close, regular or extended) after `t`.
fn next_boundary(s: &TradingSchedule, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut day = s.trading_day_at(t);
    let mut best: Option<DateTime<Utc>> = None;
    for _ in 0..3 {
        for session in [s.extended_session(day), s.regular_session(day)]
            .into_iter()
            .flatten()
        {
            for b in [session.open, session.close] {
                if b > t && best.is_none_or(|x| b < x) {
                    best = Some(b);
                }
            }
        }
        day = s.next_trading_day(day);
    }
    best
}

/// The first regular open (`open`) or close of a session after `t`; with `extended`,
/// of the extended session.
fn next_session_edge(
    s: &TradingSchedule,
    t: DateTime<Utc>,
    open: bool,
    extended: bool,
) -> Option<DateTime<Utc>> {
    let mut day = s.trading_day_at(t);
    for _ in 0..10 {
        let session = if extended {
            s.extended_session(day)
        } else {
            s.regular_session(day)
        };
        if let Some(session) = session {
            let edge = if open { session.open } else { session.close };
            if edge > t {
                return Some(edge);
            }
        }
        day = s.next_trading_day(day);
    }
    None
}

/// When a contract stops trading for good: an option at the regular close of its
/// expiry, a future at the extended close of its last trading day.
fn contract_end(inst: &Instrument) -> Option<DateTime<Utc>> {
    match &inst.kind {
        Kind::Option(o) => inst.schedule.regular_session(o.expiry).map(|s| s.close),
        Kind::Future(f) => inst
            .schedule
            .extended_session(f.last_trading_day)
            .map(|s| s.close),
        _ => None,
    }
}

fn check_price(what: &'static str, p: Decimal, tick: Decimal) -> Result<(), Reject> {
    if p <= Decimal::ZERO {
        return Err(Reject::BadPrice {
            what,
            price: p,
            reason: "must be positive".into(),
        });
    }
    if p > Decimal::from(MAX_VALUE) {
        return Err(Reject::BadPrice {
            what,
            price: p,
            reason: format!("must be at most {MAX_VALUE}"),
        });
    }
    if !on_tick(p, tick) {
        return Err(Reject::OffTick {
            what,
            price: p,
            tick,
        });
    }
    Ok(())
}

fn check_trail(amount: Decimal, percent: bool, tick: Decimal) -> Result<(), Reject> {
    if percent {
        if amount <= Decimal::ZERO || amount >= Decimal::ONE_HUNDRED {
            return Err(Reject::BadPrice {
                what: "trailing percentage",
                price: amount,
                reason: "must be above 0 and below 100".into(),
            });
        }
        Ok(())
    } else {
        check_price("trailing amount", amount, tick)
    }
}

/// Checks an order's prices and its time in force against its type.
fn check_terms(kind: &OrderKind, tif: Tif, tick: Decimal) -> Result<(), Reject> {
    match *kind {
        OrderKind::Market | OrderKind::Moc => {}
        OrderKind::Limit(p) => check_price("limit price", p, tick)?,
        OrderKind::Loc(p) => check_price("limit price", p, tick)?,
        OrderKind::Stop(s) => check_price("stop price", s, tick)?,
        OrderKind::StopLimit { stop, limit } => {
            check_price("stop price", stop, tick)?;
            check_price("limit price", limit, tick)?;
        }
        OrderKind::Trail { amount, percent } => check_trail(amount, percent, tick)?,
        OrderKind::TrailLimit {
            amount,
            percent,
            limit_offset,
        } => {
            check_trail(amount, percent, tick)?;
            if limit_offset < Decimal::ZERO || !on_tick(limit_offset, tick) {
                return Err(Reject::BadPrice {
                    what: "limit offset",
                    price: limit_offset,
                    reason: format!("must be zero or more, a multiple of the tick {tick}"),
                });
            }
        }
        OrderKind::MidPrice { cap } => {
            if let Some(c) = cap {
                check_price("price cap", c, tick)?;
            }
        }
    }
    let unsupported = |hint| {
        Err(Reject::UnsupportedTif {
            tif,
            kind: kind.code(),
            hint,
        })
    };
    match tif {
        Tif::Day | Tif::Gtc => Ok(()),
        Tif::Ioc => match kind {
            OrderKind::Market
            | OrderKind::Limit(_)
            | OrderKind::MidPrice { .. }
            | OrderKind::Moc
            | OrderKind::Loc(_) => Ok(()),
            _ => unsupported("IOC is for market, limit, midprice, MOC and LOC orders"),
        },
        Tif::Opg => match kind {
            OrderKind::Market | OrderKind::Limit(_) => Ok(()),
            _ => unsupported("OPG is for market and limit orders"),
        },
    }
}

fn check_quantity(
    q: Decimal,
    terms: &Terms,
    kind: &OrderKind,
    fractional: bool,
) -> Result<(), Reject> {
    let bad = |reason: String| {
        Err(Reject::BadQuantity {
            quantity: q,
            reason,
        })
    };
    if q <= Decimal::ZERO {
        return bad("must be positive: give the direction as the side".into());
    }
    if q > Decimal::from(MAX_VALUE) {
        return bad(format!("must be at most {MAX_VALUE}"));
    }
    let decimals = terms.decimals(kind, fractional);
    if q.normalize().scale() > decimals {
        return bad(if decimals == 0 {
            format!("{} {} orders take whole units", terms.sec_type, kind.code())
        } else {
            format!("at most {decimals} decimals")
        });
    }
    Ok(())
}

impl Engine {
    /// An engine with no orders, not yet advanced.
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            next_id: config.first_order_id,
            config,
            orders: BTreeMap::new(),
            live: BTreeSet::new(),
            clock: None,
            events: Vec::new(),
            fills: 0,
            states: HashMap::new(),
            consumed: HashMap::new(),
            consumed_at: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The instant the engine has been advanced to (`None` before the first
    /// [`advance`](Self::advance)).
    pub fn now(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    /// The order with this id.
    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(&id)
    }

    /// An account's orders, oldest first.
    pub fn orders(&self, account: &str) -> Vec<&Order> {
        self.orders
            .values()
            .filter(|o| o.account == account)
            .collect()
    }

    /// The account's order with this client order id.
    pub fn find_by_coid(&self, account: &str, coid: &str) -> Option<&Order> {
        if coid.is_empty() {
            return None;
        }
        self.orders
            .values()
            .find(|o| o.account == account && o.coid == coid)
    }

    /// The account's fills at or after `since`, oldest first.
    pub fn executions(&self, account: &str, since: DateTime<Utc>) -> Vec<&Fill> {
        let mut out: Vec<&Fill> = self
            .orders
            .values()
            .filter(|o| o.account == account)
            .flat_map(|o| o.executions.iter())
            .filter(|f| f.at >= since)
            .collect();
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// The orders not yet filled, cancelled or inactive, by id.
    fn live_orders(&self) -> impl Iterator<Item = &Order> {
        self.live.iter().filter_map(|id| self.orders.get(id))
    }

    /// The instant a request made at `now` takes effect: never before the engine's.
    fn effective(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.clock.map_or(now, |c| now.max(c))
    }

    /// Accepts an order (status [`PendingSubmit`](OrderStatus::PendingSubmit) until
    /// the next evaluation), or refuses it; see the module's validation rules.
    pub fn submit(
        &mut self,
        new: NewOrder,
        now: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &Broker,
    ) -> Result<OrderId, Reject> {
        let at = self.effective(now);
        broker
            .account(&new.account)
            .map_err(|_| Reject::UnknownAccount {
                account: new.account.clone(),
            })?;
        let inst = broker
            .universe()
            .get(new.conid)
            .ok_or(Reject::UnknownContract { conid: new.conid })?;
        if inst.sec_type == SecType::Index {
            return Err(Reject::NotTradable {
                conid: new.conid,
                sec_type: inst.sec_type,
            });
        }
        let quote = prices
            .quote(new.conid, at)
            .ok_or(Reject::NoPrice { conid: new.conid })?;
        let terms = Terms::of(inst);
        check_terms(&new.kind, new.tif, inst.tick)?;
        let reference = reference_price(&new.kind, new.side, &quote);
        let quantity = match new.cash_qty {
            Some(cash) => {
                if !new.quantity.is_zero() {
                    return Err(Reject::BadQuantity {
                        quantity: new.quantity,
                        reason: "give a quantity or a cash quantity, not both".into(),
                    });
                }
                if cash <= Decimal::ZERO || cash > Decimal::from(MAX_VALUE) {
                    return Err(Reject::BadQuantity {
                        quantity: cash,
                        reason: format!("a cash quantity must be above 0 and at most {MAX_VALUE}"),
                    });
                }
                let unit = reference * inst.multiplier;
                if unit <= Decimal::ZERO {
                    return Err(Reject::NoPrice { conid: new.conid });
                }
                let decimals = terms.decimals(&new.kind, self.config.fractional_shares);
                let q = (cash / unit).round_dp_with_strategy(decimals, RoundingStrategy::ToZero);
                if q <= Decimal::ZERO {
                    return Err(Reject::BadQuantity {
                        quantity: cash,
                        reason: format!("the cash quantity buys less than one unit at {reference}"),
                    });
                }
                q
            }
            None => new.quantity,
        };
        check_quantity(quantity, &terms, &new.kind, self.config.fractional_shares)?;
        if !new.coid.is_empty() && self.find_by_coid(&new.account, &new.coid).is_some() {
            return Err(Reject::DuplicateCoid {
                account: new.account.clone(),
                coid: new.coid.clone(),
            });
        }
        let mut closes_parent = false;
        if let Some(pid) = new.parent {
            let parent = self
                .orders
                .get(&pid)
                .filter(|p| p.account == new.account)
                .ok_or(Reject::UnknownParent { parent: pid })?;
            if matches!(
                parent.status,
                OrderStatus::Cancelled | OrderStatus::Inactive | OrderStatus::PendingCancel
            ) {
                return Err(Reject::ParentNotWorking {
                    parent: pid,
                    status: parent.status,
                });
            }
            closes_parent = parent.side != new.side;
        }
        if !closes_parent {
            self.check_funds(&new, inst, quantity, reference, at, prices, broker)?;
        }

        let id = OrderId(self.next_id);
        self.next_id += 1;
        let order = Order {
            id,
            account: new.account,
            conid: new.conid,
            side: new.side,
            quantity,
            cash_qty: new.cash_qty,
            kind: new.kind,
            tif: new.tif,
            outside_rth: new.outside_rth,
            coid: new.coid,
            parent: new.parent,
            oca_group: new.oca_group,
            status: OrderStatus::PendingSubmit,
            filled: Decimal::ZERO,
            avg_price: None,
            commission: Decimal::ZERO,
            executions: Vec::new(),
            submitted_at: at,
            updated_at: at,
            triggered: false,
            stop_price: match new.kind {
                OrderKind::Stop(s) | OrderKind::StopLimit { stop: s, .. } => Some(s),
                _ => None,
            },
            expires_at: None,
            reason: None,
            acked: false,
            activated: false,
            cancel_at: None,
            auction_at: None,
            trail_best: None,
            ioc_done: false,
            gross_value: Decimal::ZERO,
            traded: Decimal::ZERO,
            terms,
        };
        self.events.push(Event::StatusChanged {
            order: id,
            account: order.account.clone(),
            from: None,
            to: OrderStatus::PendingSubmit,
            at,
        });
        self.orders.insert(id, order);
        self.live.insert(id);
        Ok(id)
    }

    /// Refuses an order that would leave the account's available funds below zero
    /// while raising its initial margin.
    #[allow(clippy::too_many_arguments)]
    fn check_funds(
        &self,
        new: &NewOrder,
        inst: &Instrument,
        quantity: Decimal,
        price: Decimal,
        at: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &Broker,
    ) -> Result<(), Reject> {
        let before = broker
            .valuation_at(&new.account, prices, at)
            .map_err(Reject::Valuation)?;
        let usd_rate = usd_rate(broker, prices, &inst.currency, at);
        let commission = money(order_commission(
            inst,
            quantity,
            quantity * price * inst.multiplier,
            usd_rate,
        ));
        let mut shadow = broker.clone();
        shadow
            .apply_fill(
                &new.account,
                new.conid,
                new.side,
                quantity,
                price,
                commission,
                at,
            )
            .map_err(Reject::Valuation)?;
        let after = shadow
            .valuation_at(&new.account, prices, at)
            .map_err(Reject::Valuation)?;
        let (b, a) = (&before.summary, &after.summary);
        if a.available_funds < Decimal::ZERO && a.init_margin > b.init_margin {
            let required = a.init_margin - b.init_margin + (b.net_liquidation - a.net_liquidation);
            return Err(Reject::InsufficientFunds {
                account: new.account.clone(),
                required: money(required),
                available: b.available_funds,
                currency: b.base_currency.clone(),
            });
        }
        Ok(())
    }

    fn lookup(&self, id: OrderId) -> Result<&Order, OrderError> {
        self.orders.get(&id).ok_or(OrderError::UnknownOrder { id })
    }

    /// Refuses a request on an order that is no longer working.
    fn check_working(&self, id: OrderId) -> Result<&Order, OrderError> {
        let o = self.lookup(id)?;
        match o.status {
            OrderStatus::Filled => Err(OrderError::AlreadyFilled { id }),
            OrderStatus::Cancelled | OrderStatus::PendingCancel => {
                Err(OrderError::AlreadyCancelled { id })
            }
            OrderStatus::Inactive => Err(OrderError::NotWorking {
                id,
                status: o.status,
            }),
            _ => Ok(o),
        }
    }

    /// Changes a working order's quantity, prices, time in force or hours, at once.
    /// Errors: unknown order, already filled, already cancelled (or cancel pending),
    /// inactive, a change the order type does not have, or an invalid new value.
    pub fn modify(
        &mut self,
        id: OrderId,
        changes: OrderChanges,
        now: DateTime<Utc>,
    ) -> Result<(), OrderError> {
        let at = self.effective(now);
        let o = self.check_working(id)?;
        let bad = |reason: String| Err(OrderError::BadChange { id, reason });
        let mut kind = o.kind;
        if let Some(p) = changes.price {
            kind = match kind {
                OrderKind::Limit(_) => OrderKind::Limit(p),
                OrderKind::Loc(_) => OrderKind::Loc(p),
                OrderKind::StopLimit { stop, .. } => OrderKind::StopLimit { stop, limit: p },
                OrderKind::MidPrice { .. } => OrderKind::MidPrice { cap: Some(p) },
                OrderKind::TrailLimit {
                    amount, percent, ..
                } => OrderKind::TrailLimit {
                    amount,
                    percent,
                    limit_offset: p,
                },
                k => return bad(format!("{} orders have no price", k.code())),
            };
        }
        if let Some(p) = changes.aux_price {
            kind = match kind {
                OrderKind::Stop(_) => OrderKind::Stop(p),
                OrderKind::StopLimit { limit, .. } => OrderKind::StopLimit { stop: p, limit },
                OrderKind::Trail { percent, .. } => OrderKind::Trail { amount: p, percent },
                OrderKind::TrailLimit {
                    percent,
                    limit_offset,
                    ..
                } => OrderKind::TrailLimit {
                    amount: p,
                    percent,
                    limit_offset,
                },
                k => {
                    return bad(format!(
                        "{} orders have no stop price or trailing amount",
                        k.code()
                    ));
                }
            };
        }
        let tif = changes.tif.unwrap_or(o.tif);
        check_terms(&kind, tif, o.terms.tick).map_err(OrderError::Invalid)?;
        let quantity = changes.quantity.unwrap_or(o.quantity);
        check_quantity(quantity, &o.terms, &kind, self.config.fractional_shares)
            .map_err(OrderError::Invalid)?;
        if quantity <= o.filled {
            return bad(format!(
                "the new quantity {quantity} must be above the {} already filled (cancel the order instead)",
                o.filled
            ));
        }
        let retime = o.activated
            && (tif != o.tif || changes.outside_rth.is_some_and(|x| x != o.outside_rth));
        let o = self
            .orders
            .get_mut(&id)
            .ok_or(OrderError::UnknownOrder { id })?;
        o.kind = kind;
        o.tif = tif;
        o.quantity = quantity;
        if let Some(x) = changes.outside_rth {
            o.outside_rth = x;
        }
        o.updated_at = at;
        match kind {
            OrderKind::Stop(s) | OrderKind::StopLimit { stop: s, .. } => o.stop_price = Some(s),
            OrderKind::Trail { amount, percent }
            | OrderKind::TrailLimit {
                amount, percent, ..
            } if !o.triggered => {
                if let Some(best) = o.trail_best {
                    o.stop_price = Some(trail_stop(o.side, best, amount, percent, o.terms.tick));
                }
            }
            _ => {}
        }
        if retime {
            self.schedule_times(id, at, None);
        }
        Ok(())
    }

    /// Requests the cancellation of a working order: it becomes
    /// [`PendingCancel`](OrderStatus::PendingCancel) and is cancelled at the first
    /// evaluation at or after `now`. Errors: unknown order, already filled, already
    /// cancelled (or cancel pending), inactive.
    pub fn cancel(&mut self, id: OrderId, now: DateTime<Utc>) -> Result<(), OrderError> {
        let at = self.effective(now);
        self.check_working(id)?;
        self.request_cancel(id, at);
        Ok(())
    }

    fn request_cancel(&mut self, id: OrderId, at: DateTime<Utc>) {
        if let Some(o) = self.orders.get_mut(&id) {
            let from = o.status;
            o.cancel_at = Some(at);
            o.status = OrderStatus::PendingCancel;
            o.updated_at = at;
            self.events.push(Event::StatusChanged {
                order: id,
                account: o.account.clone(),
                from: Some(from),
                to: OrderStatus::PendingCancel,
                at,
            });
        }
    }

    /// Requests the cancellation of every working order of an account, at the
    /// engine's instant; returns their ids.
    pub fn cancel_all(&mut self, account: &str) -> Vec<OrderId> {
        let ids: Vec<OrderId> = self
            .orders
            .values()
            .filter(|o| {
                o.account == account
                    && !o.status.is_final()
                    && o.status != OrderStatus::PendingCancel
            })
            .map(|o| o.id)
            .collect();
        let at = self
            .clock
            .or_else(|| self.orders.values().map(|o| o.submitted_at).max());
        if let Some(at) = at {
            for &id in &ids {
                self.request_cancel(id, at);
            }
        }
        ids
    }

    /// Moves the engine to `now`, working every order against the price engine at
    /// each step and booking fills with the broker; returns the events since the last
    /// call (those of requests included), oldest first.
    pub fn advance(
        &mut self,
        now: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &mut Broker,
    ) -> Vec<Event> {
        let mut events = std::mem::take(&mut self.events);
        let start = match self.clock {
            Some(c) => c,
            None => match self.orders.values().map(|o| o.submitted_at).min() {
                Some(s) => s.min(now),
                None => {
                    self.clock = Some(now);
                    return events;
                }
            },
        };
        let end = now.max(start);
        let span = end - start;
        let budget = i32::try_from(self.config.max_steps.max(1)).unwrap_or(i32::MAX);
        let step = self
            .config
            .step
            .max(span / budget)
            .max(Duration::milliseconds(1));
        let mut t = start;
        // Session boundaries add a few evaluations per day and instrument; past the
        // guard the call stops early and the next one carries on from there.
        let mut guard = u64::from(self.config.max_steps) * 2 + 10_000;
        loop {
            self.evaluate(t, prices, broker, &mut events);
            guard = guard.saturating_sub(1);
            if t >= end || guard == 0 {
                break;
            }
            t = self.next_instant(t, end, step, prices, broker);
        }
        self.clock = Some(t);
        events
    }

    /// The market state of `conid` at `t`, cached until the next session boundary.
    fn state(
        &mut self,
        conid: u32,
        t: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &Broker,
    ) -> (MarketState, DateTime<Utc>) {
        if let Some(s) = self.states.get(&conid)
            && s.from <= t
            && t < s.until
        {
            return (s.state, s.until);
        }
        let state = prices.market_state(conid, t).unwrap_or(MarketState::Closed);
        let until = broker
            .universe()
            .schedule(conid)
            .and_then(|s| next_boundary(s, t))
            .unwrap_or(t + Duration::days(7));
        self.states.insert(
            conid,
            StateSpan {
                state,
                from: t,
                until,
            },
        );
        (state, until)
    }

    /// The next instant to evaluate after `t`: the next step while an order can act,
    /// else the next session boundary or order time; at most `end`.
    fn next_instant(
        &mut self,
        t: DateTime<Utc>,
        end: DateTime<Utc>,
        step: Duration,
        prices: &PriceEngine,
        broker: &Broker,
    ) -> DateTime<Utc> {
        let mut next = end;
        let live: Vec<OrderId> = self.live.iter().copied().collect();
        for id in live {
            let Some(conid) = self.orders.get(&id).map(|o| o.conid) else {
                continue;
            };
            let (state, until) = self.state(conid, t, prices, broker);
            next = next.min(until);
            let Some(o) = self.orders.get(&id) else {
                continue;
            };
            for x in [
                (!o.acked).then_some(o.submitted_at),
                o.cancel_at,
                o.expires_at,
                o.auction_at,
            ]
            .into_iter()
            .flatten()
            {
                if x > t {
                    next = next.min(x);
                }
            }
            let continuous = o.activated && !o.auction() && eligible(state, o.outside_rth);
            if continuous {
                next = next.min(t + step);
            }
        }
        next
    }

    fn set_status(
        &mut self,
        id: OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        events: &mut Vec<Event>,
    ) {
        if let Some(o) = self.orders.get_mut(&id)
            && o.status != to
        {
            let from = o.status;
            o.status = to;
            o.updated_at = at;
            if to.is_final() {
                self.live.remove(&id);
            }
            events.push(Event::StatusChanged {
                order: id,
                account: o.account.clone(),
                from: Some(from),
                to,
                at,
            });
        }
    }

    /// Ends an order without filling it (cancelled or inactive), with its waiting
    /// bracket children.
    fn finish(
        &mut self,
        id: OrderId,
        to: OrderStatus,
        at: DateTime<Utc>,
        reason: String,
        events: &mut Vec<Event>,
    ) {
        let mut work = vec![(id, to, reason)];
        while let Some((id, to, reason)) = work.pop() {
            match self.orders.get_mut(&id) {
                Some(o) if !o.status.is_final() => {
                    o.reason = Some(reason);
                    o.cancel_at = None;
                }
                _ => continue,
            }
            self.set_status(id, to, at, events);
            for c in self.live_orders() {
                if c.parent == Some(id) && c.is_waiting_for_parent() {
                    work.push((
                        c.id,
                        OrderStatus::Cancelled,
                        format!("parent order {id} ended without filling"),
                    ));
                }
            }
        }
    }

    /// Sets an order's expiry and auction instant from `at`, and starts a trailing
    /// stop from `last`.
    fn schedule_times(&mut self, id: OrderId, at: DateTime<Utc>, last: Option<Decimal>) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        let s = &o.terms.schedule;
        let auction_at = if o.tif == Tif::Opg {
            next_session_edge(s, at, true, false)
        } else if o.kind.is_close_auction() {
            next_session_edge(s, at, false, false)
        } else {
            None
        };
        let day_end = match (o.tif, o.auction()) {
            (Tif::Gtc, _) => None,
            (_, true) => auction_at,
            _ => next_session_edge(s, at, false, o.outside_rth),
        };
        o.auction_at = auction_at;
        o.expires_at = match (day_end, o.terms.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let OrderKind::Trail { amount, percent }
        | OrderKind::TrailLimit {
            amount, percent, ..
        } = o.kind
            && let Some(last) = last
            && !o.triggered
            && o.trail_best.is_none()
        {
            o.trail_best = Some(last);
            o.stop_price = Some(trail_stop(o.side, last, amount, percent, o.terms.tick));
        }
    }

    /// Starts an order's working life at `at` (its status follows at the evaluation).
    fn activate(&mut self, id: OrderId, at: DateTime<Utc>, prices: &PriceEngine) {
        let Some(o) = self.orders.get_mut(&id) else {
            return;
        };
        o.activated = true;
        let last = prices.price(o.conid, at);
        self.schedule_times(id, at, last);
    }

    /// One evaluation at instant `t`.
    fn evaluate(
        &mut self,
        t: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &mut Broker,
        events: &mut Vec<Event>,
    ) {
        if self.consumed_at != Some(t) {
            self.consumed.clear();
            self.consumed_at = Some(t);
        }
        let ids: Vec<OrderId> = self.live.iter().copied().collect();
        // Cancels due.
        for &id in &ids {
            let due = self
                .orders
                .get(&id)
                .is_some_and(|o| !o.status.is_final() && o.cancel_at.is_some_and(|c| c <= t));
            if due {
                self.finish(
                    id,
                    OrderStatus::Cancelled,
                    t,
                    "cancelled by request".into(),
                    events,
                );
            }
        }
        // Acknowledgements: bracket children wait for their parent's fill.
        for &id in &ids {
            let Some(o) = self.orders.get(&id) else {
                continue;
            };
            if o.acked || o.status.is_final() || o.submitted_at > t {
                continue;
            }
            let parent_filled = o.parent.is_none_or(|p| {
                self.orders
                    .get(&p)
                    .is_some_and(|p| p.status == OrderStatus::Filled)
            });
            if let Some(o) = self.orders.get_mut(&id) {
                o.acked = true;
            }
            if parent_filled {
                self.activate(id, t, prices);
            } else {
                self.show(id, OrderStatus::PreSubmitted, t, events);
            }
        }
        // Auctions, expiries and continuous matching, in order-id order.
        for &id in &ids {
            let Some(o) = self.orders.get(&id) else {
                continue;
            };
            if o.status.is_final() || !o.activated {
                continue;
            }
            let (conid, auction_at, expires_at, auction) =
                (o.conid, o.auction_at, o.expires_at, o.auction());
            if let Some(a) = auction_at
                && a <= t
            {
                self.run_auction(id, a, prices, broker, events);
                continue;
            }
            if let Some(e) = expires_at
                && e <= t
            {
                self.finish(id, OrderStatus::Cancelled, e, "expired".into(), events);
                continue;
            }
            if auction {
                self.show(id, OrderStatus::Submitted, t, events);
                continue;
            }
            let (state, _) = self.state(conid, t, prices, broker);
            let can = self
                .orders
                .get(&id)
                .is_some_and(|o| eligible(state, o.outside_rth));
            if can {
                self.work(id, t, prices, broker, events);
            }
            let Some(o) = self.orders.get(&id) else {
                continue;
            };
            if o.status.is_final() {
                continue;
            }
            let ready = can && (!o.kind.needs_trigger() || o.triggered);
            let ioc = o.tif == Tif::Ioc && !o.ioc_done;
            let to = if ready {
                OrderStatus::Submitted
            } else {
                OrderStatus::PreSubmitted
            };
            self.show(id, to, t, events);
            if ioc {
                if let Some(o) = self.orders.get_mut(&id) {
                    o.ioc_done = true;
                }
                let reason = if can {
                    "immediate or cancel: not filled at once"
                } else {
                    "immediate or cancel: the market is not trading the order now"
                };
                self.finish(id, OrderStatus::Cancelled, t, reason.into(), events);
            }
        }
    }

    /// Shows a working order as submitted or waiting, unless a cancel is pending.
    fn show(&mut self, id: OrderId, to: OrderStatus, t: DateTime<Utc>, events: &mut Vec<Event>) {
        if self
            .orders
            .get(&id)
            .is_some_and(|o| o.status != OrderStatus::PendingCancel && !o.status.is_final())
        {
            self.set_status(id, to, t, events);
        }
    }

    /// Works a continuous order at `t` (its market is trading it).
    fn work(
        &mut self,
        id: OrderId,
        t: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &mut Broker,
        events: &mut Vec<Event>,
    ) {
        let Some(o) = self.orders.get(&id) else {
            return;
        };
        let (conid, side, kind) = (o.conid, o.side, o.kind);
        let tick = broker
            .universe()
            .get(conid)
            .map_or(Decimal::ZERO, |i| i.tick);
        // Election of stops, on the last price.
        if kind.needs_trigger() && !o.triggered {
            let Some(last) = prices.price(conid, t) else {
                return;
            };
            let buy = side == Side::Buy;
            let stop = match kind {
                OrderKind::Trail { amount, percent }
                | OrderKind::TrailLimit {
                    amount, percent, ..
                } => {
                    let best = match o.trail_best {
                        Some(b) if buy => b.min(last),
                        Some(b) => b.max(last),
                        None => last,
                    };
                    let stop = trail_stop(side, best, amount, percent, tick);
                    if let Some(o) = self.orders.get_mut(&id) {
                        o.trail_best = Some(best);
                        o.stop_price = Some(stop);
                    }
                    stop
                }
                OrderKind::Stop(s) | OrderKind::StopLimit { stop: s, .. } => s,
                _ => return,
            };
            let elected = if buy { last >= stop } else { last <= stop };
            if !elected {
                return;
            }
            if let Some(o) = self.orders.get_mut(&id) {
                o.triggered = true;
                o.updated_at = t;
            }
            self.show(id, OrderStatus::Submitted, t, events);
        }
        let Some(o) = self.orders.get(&id) else {
            return;
        };
        let remaining = o.quantity - o.filled;
        if remaining <= Decimal::ZERO {
            return;
        }
        let limit = match kind {
            OrderKind::Market | OrderKind::Stop(_) | OrderKind::Trail { .. } => None,
            OrderKind::MidPrice { .. } => None,
            _ => o.limit_price(),
        };
        // A buy cannot fill above the last price's side of the book: skip the quote
        // when the last price alone rules a limit out (ask >= last >= bid).
        if let Some(l) = limit {
            let Some(last) = prices.price(conid, t) else {
                return;
            };
            let out = match side {
                Side::Buy => last > l,
                Side::Sell => last < l,
            };
            if out {
                return;
            }
        }
        let Some(q) = prices.quote(conid, t) else {
            return;
        };
        let (touch, size) = match side {
            Side::Buy => (q.ask, q.ask_size),
            Side::Sell => (q.bid, q.bid_size),
        };
        let price = match kind {
            OrderKind::MidPrice { cap } => {
                let mid = (q.bid + q.ask) / Decimal::TWO;
                let ok = cap.is_none_or(|c| match side {
                    Side::Buy => mid <= c,
                    Side::Sell => mid >= c,
                });
                if !ok {
                    return;
                }
                mid
            }
            _ => {
                if let Some(l) = limit {
                    let ok = match side {
                        Side::Buy => touch <= l,
                        Side::Sell => touch >= l,
                    };
                    if !ok {
                        return;
                    }
                }
                touch
            }
        };
        if price <= Decimal::ZERO {
            return;
        }
        let taken = self
            .consumed
            .get(&(conid, side))
            .copied()
            .unwrap_or_default();
        let available = Decimal::from(size) - taken;
        let qty = remaining.min(available);
        if qty <= Decimal::ZERO {
            return;
        }
        if self.fill(id, qty, price, t, prices, broker, events) {
            *self.consumed.entry((conid, side)).or_default() += qty;
        }
    }

    /// Runs the opening or closing auction of an order, at `at`.
    fn run_auction(
        &mut self,
        id: OrderId,
        at: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &mut Broker,
        events: &mut Vec<Event>,
    ) {
        let Some(o) = self.orders.get(&id) else {
            return;
        };
        let (conid, side, kind, tif) = (o.conid, o.side, o.kind, o.tif);
        let remaining = o.quantity - o.filled;
        let open = tif == Tif::Opg;
        // The market must be trading at the auction: at the open, or just before the
        // close (an expired contract has no auction).
        let probe = if open { at } else { at - Duration::seconds(1) };
        let trading = prices.market_state(conid, probe) == Some(MarketState::Regular);
        let what = if open { "opening" } else { "closing" };
        if !trading {
            self.finish(
                id,
                OrderStatus::Cancelled,
                at,
                format!("no {what} auction: the contract is not trading"),
                events,
            );
            return;
        }
        let Some(price) = prices.price(conid, at) else {
            return;
        };
        let limit = match kind {
            OrderKind::Limit(l) | OrderKind::Loc(l) => Some(l),
            _ => None,
        };
        let ok = limit.is_none_or(|l| match side {
            Side::Buy => price <= l,
            Side::Sell => price >= l,
        });
        if ok && remaining > Decimal::ZERO && price > Decimal::ZERO {
            self.fill(id, remaining, price, at, prices, broker, events);
        }
        let Some(o) = self.orders.get(&id) else {
            return;
        };
        if o.status.is_final() {
            return;
        }
        if matches!(kind, OrderKind::Loc(_)) && tif == Tif::Gtc {
            let next = broker
                .universe()
                .schedule(conid)
                .and_then(|s| next_session_edge(s, at, false, false));
            if let Some(o) = self.orders.get_mut(&id) {
                o.auction_at = next;
            }
            return;
        }
        self.finish(
            id,
            OrderStatus::Cancelled,
            at,
            format!("the {what} price {price} did not satisfy the limit"),
            events,
        );
    }

    /// Books a fill of `qty` at `price`; false when the broker refused it (the order
    /// is then inactive).
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        id: OrderId,
        qty: Decimal,
        price: Decimal,
        at: DateTime<Utc>,
        prices: &PriceEngine,
        broker: &mut Broker,
        events: &mut Vec<Event>,
    ) -> bool {
        let Some(o) = self.orders.get(&id) else {
            return false;
        };
        let Some(inst) = broker.universe().get(o.conid) else {
            return false;
        };
        let usd = usd_rate(broker, prices, &inst.currency, at);
        let value = price * qty * inst.multiplier;
        let before = money(order_commission(inst, o.filled, o.gross_value, usd));
        let after = money(order_commission(
            inst,
            o.filled + qty,
            o.gross_value + value,
            usd,
        ));
        let commission = (after - before).max(Decimal::ZERO);
        let currency = inst.currency.clone();
        let first = matches!(
            o.status,
            OrderStatus::PendingSubmit | OrderStatus::PreSubmitted
        );
        let (account, conid, side) = (o.account.clone(), o.conid, o.side);
        if let Err(e) = broker.apply_fill(&account, conid, side, qty, price, commission, at) {
            self.finish(
                id,
                OrderStatus::Inactive,
                at,
                format!("the broker refused the fill: {e}"),
                events,
            );
            return false;
        }
        if first {
            self.set_status(id, OrderStatus::Submitted, at, events);
        }
        self.fills += 1;
        let fill = Fill {
            id: format!("{:08x}.{:08x}.01.01", self.fills, at.timestamp()),
            order: id,
            account,
            conid,
            side,
            at,
            quantity: qty,
            price,
            commission,
            currency,
        };
        let Some(o) = self.orders.get_mut(&id) else {
            return false;
        };
        let filled = o.filled + qty;
        o.traded += price * qty;
        let avg = o.traded / filled;
        o.avg_price = Some(
            avg.round_dp_with_strategy(8, RoundingStrategy::MidpointAwayFromZero)
                .normalize(),
        );
        o.filled = filled;
        o.gross_value += value;
        o.commission += commission;
        o.updated_at = at;
        o.executions.push(fill.clone());
        let done = o.filled >= o.quantity;
        let (parent, group, account) = (o.parent, o.oca_group.clone(), o.account.clone());
        events.push(Event::Fill(fill));
        if done {
            if let Some(o) = self.orders.get_mut(&id) {
                o.cancel_at = None;
            }
            self.set_status(id, OrderStatus::Filled, at, events);
            let children: Vec<OrderId> = self
                .live_orders()
                .filter(|c| c.parent == Some(id) && c.is_waiting_for_parent())
                .map(|c| c.id)
                .collect();
            for c in children {
                if self.orders.get(&c).is_some_and(|c| c.acked) {
                    self.activate(c, at, prices);
                }
            }
        }
        // One-cancels-all: an explicit group cancels its other orders.
        if let Some(g) = group {
            let others: Vec<OrderId> = self
                .live_orders()
                .filter(|x| {
                    x.id != id
                        && x.account == account
                        && x.oca_group.as_deref() == Some(g.as_str())
                        && !x.status.is_final()
                })
                .map(|x| x.id)
                .collect();
            for x in others {
                self.finish(
                    x,
                    OrderStatus::Cancelled,
                    at,
                    format!("one-cancels-all group {g:?}: order {id} filled"),
                    events,
                );
            }
        } else if let Some(p) = parent {
            // Bracket siblings: reduced by the fill, cancelled when nothing is left.
            let siblings: Vec<OrderId> = self
                .live_orders()
                .filter(|x| x.id != id && x.parent == Some(p) && !x.status.is_final())
                .map(|x| x.id)
                .collect();
            for x in siblings {
                let Some(s) = self.orders.get_mut(&x) else {
                    continue;
                };
                s.quantity = (s.quantity - qty).max(s.filled);
                s.updated_at = at;
                if s.quantity <= s.filled {
                    let to = if s.filled > Decimal::ZERO {
                        OrderStatus::Filled
                    } else {
                        OrderStatus::Cancelled
                    };
                    if to == OrderStatus::Filled {
                        self.set_status(x, to, at, events);
                    } else {
                        self.finish(x, to, at, format!("bracket sibling {id} filled"), events);
                    }
                }
            }
        }
        true
    }
}

/// The price of one USD in `currency` at `at` (1 when unknown).
fn usd_rate(broker: &Broker, prices: &PriceEngine, currency: &str, at: DateTime<Utc>) -> Decimal {
    broker
        .fx_rate("USD", currency, &engine_marks(prices, at))
        .unwrap_or(Decimal::ONE)
}

/// The price an order is expected to fill at, for funds and cash quantities.
fn reference_price(kind: &OrderKind, side: Side, q: &SimQuote) -> Decimal {
    let touch = match side {
        Side::Buy => q.ask,
        Side::Sell => q.bid,
    };
    match *kind {
        OrderKind::Limit(p) | OrderKind::Loc(p) | OrderKind::StopLimit { limit: p, .. } => p,
        OrderKind::Stop(s) => s,
        OrderKind::MidPrice { cap: Some(c) } => c,
        _ => touch,
    }
}

/// A trailing stop `amount` (or `amount` percent) away from `best`, on the tick.
fn trail_stop(side: Side, best: Decimal, amount: Decimal, percent: bool, tick: Decimal) -> Decimal {
    let distance = if percent {
        best * amount / Decimal::ONE_HUNDRED
    } else {
        amount
    };
    let stop = match side {
        Side::Sell => best - distance,
        Side::Buy => best + distance,
    };
    round_to(stop, tick).max(Decimal::ZERO)
}
