//! Orders: placing them without ever placing one twice, answering IBKR's prompts,
//! previewing, modifying, cancelling, and watching live orders and executions.
//!
//! ```no_run
//! use ibkr_api::{Client, Placement, PromptPolicy};
//! use ibkr_api::model::accounts::AccountId;
//! use ibkr_api::model::contracts::Conid;
//! use ibkr_api::model::orders::{PromptId, Tif};
//! use ibkr_api::Decimal;
//!
//! # async fn run(client: &Client) -> ibkr_api::Result<()> {
//! let acct = AccountId::from("DU1234567");
//! // Buy 10 AAPL at 165.50 or better, good till cancelled, also outside regular hours.
//! let placement = client
//!     .order(&acct)
//!     .buy(Conid(265598), 10)
//!     .limit(Decimal::new(16550, 2))
//!     .tif(Tif::Gtc)
//!     .outside_rth(true)
//!     .prompts(PromptPolicy::accept([PromptId::NoMarketData]))
//!     .place()
//!     .await?;
//! match placement {
//!     Placement::Placed(orders) => println!("order ids: {:?}", orders.iter().map(|o| o.order_id).collect::<Vec<_>>()),
//!     Placement::NeedsConfirmation { reply_id, messages, .. } => {
//!         println!("IBKR asks: {messages:?}");
//!         // Answer at once: IBKR drops the order if anything else is sent first.
//!         let _ = client.confirm(&reply_id).await?;
//!     }
//!     other => println!("{other:?}"),
//! }
//!
//! // A bracket: entry, take-profit and stop-loss in one request.
//! let bracket = client
//!     .bracket(&acct)
//!     .buy(Conid(265598), 10)
//!     .limit(Decimal::from(165))
//!     .take_profit(Decimal::from(180))
//!     .stop_loss(Decimal::from(155))
//!     .place()
//!     .await?;
//! # let _ = bracket;
//! # Ok(()) }
//! ```
//!
//! # Never a duplicate order
//!
//! An order request is not safe to repeat: if the first one went through, the second
//! is a second order, with real money. A request whose answer is lost (the connection
//! broke, the answer timed out, the gateway answered 5xx or something that does not
//! decode) may or may not have reached IBKR's order system. This module therefore
//! follows these rules:
//!
//! 1. **Every order carries a unique customer order id** (`cOID`): the caller's, or
//!    one made by [`new_coid`] (a prefix, the time in milliseconds, a per-process
//!    sequence number and 40 random bits). IBKR echoes it as `order_ref` in
//!    `/iserver/account/orders` and `/iserver/account/trades`, which makes a placed
//!    order findable whatever happened to the answer. IBKR requires cOIDs to be unique,
//!    which is also what makes the look-up sound: reusing one could make the look-up
//!    find the older order.
//! 2. **Order-changing requests are never resent** (`Client::call` never retries them;
//!    see [`crate::retry`]), not even after a transport error.
//! 3. **A failure is classified** ([`classify_failure`]): an IBKR rejection (HTTP 200
//!    `{"error": ...}`) is [`Error::OrderRejected`]; a failure that happened before
//!    IBKR could act is certain and becomes [`Error::OrderNotPlaced`]: the connection
//!    was refused or the TLS handshake failed (nothing was sent), the pacer would not
//!    send it, the `/iserver/accounts` call made first failed, or the gateway refused
//!    the request with a 4xx status other than 408 (429 penalty box, 401 no session,
//!    403 address not allowed, 400 bad request...). Everything else is **uncertain**: a
//!    transport error once connected (the request may have gone out whole), a timeout,
//!    HTTP 5xx or 408, an answer that does not decode or names nothing.
//! 4. **An uncertain outcome is looked up, not retried**: the library reads
//!    `/iserver/account/orders` and `/iserver/account/trades` a few times
//!    ([`LookupPolicy`], bounded in attempts; live orders are limited to one request
//!    per 5 s, and the pacer waits its turn) and matches `order_ref` against the cOIDs
//!    of the request ([`match_lookup`]). Found: the caller gets
//!    [`Placement::Placed`] (with [`PlacedOrder::recovered`] set). Not found: the
//!    caller gets [`Error::OrderOutcomeUnknown`]: an order missing from the list may
//!    still arrive, so its absence is never taken as proof that it was not placed.
//!    The live-orders call is unfiltered: IBKR documents that a filtered call stops
//!    the `sor` websocket stream until a later `force=true` call, and `force=true`
//!    itself answers an empty list (it only clears IBKR's cache), so neither is used.
//!    Reads answered from this client's cache ([`Client::with_cached_reads`]) are not
//!    used either: they could predate the order.
//!
//! The same rules apply to the answers of the confirmation loop
//! (`POST /iserver/reply/{id}`). When an earlier answer of the same placement already
//! accepted some of its orders (a bracket's parent, say), even a certain failure of a
//! later step is looked up, so that the caller gets the whole picture.
//!
//! Modifications and cancellations are never resent either; their failures are
//! returned as they are (a repeated modification or cancellation cannot create an
//! order, and [`Client::order_status`] tells where the order stands).
//!
//! # Prompts
//!
//! IBKR may answer a placement with a question (a prompt, with [`PromptId`]s such as
//! `o163` "the price exceeds the percentage constraint") to confirm through
//! `/iserver/reply/{id}` before the order goes out; the confirmation may bring another
//! one. A [`PromptPolicy`] chosen by the caller decides: [`PromptPolicy::Refuse`] (the
//! default) hands every prompt back as [`Placement::NeedsConfirmation`];
//! [`PromptPolicy::Accept`] confirms the prompts whose ids are all in its set and hands
//! back the others. The loop follows chained prompts for at most
//! [`MAX_REPLY_ROUNDS`] rounds ([`Error::TooManyPrompts`] beyond). IBKR discards a
//! prompted order as soon as any other request comes in, so a prompt handed back must
//! be answered at once ([`Client::confirm`] or [`Client::decline`]); a reply id IBKR no
//! longer knows is [`Error::ReplyExpired`].
//!
//! # Low-level calls
//!
//! One request each, answers as IBKR sends them: [`Client::place_orders`],
//! [`Client::place_group_orders`], [`Client::reply`], [`Client::what_if`],
//! [`Client::modify_order`], [`Client::cancel_order`], [`Client::live_orders`],
//! [`Client::order_status`], [`Client::trades`], [`Client::suppress_questions`],
//! [`Client::reset_suppressed_questions`] and [`Client::answer_notification`]. IBKR's
//! HTTP 200 `{"error": ...}` answers to the order-changing ones are
//! [`Error::OrderRejected`].

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ibkr_model::accounts::AccountId;
use ibkr_model::contracts::Conid;
use ibkr_model::orders::{
    AdvancedReject, CancelOrderResponse, LiveOrders, LiveOrdersQuery, NotificationRequest,
    NotificationResponse, OrderId, OrderPreview, OrderPrompt, OrderRequest, OrderResponse,
    OrderStatus, OrderStatusDetail, OrderSubmitted, OrderType, OrdersRequest, PromptId,
    ReplyRequest, Side, SuppressRequest, SuppressResponse, Tif, Trade, TradesQuery, TrailingType,
};
use reqwest::Method;
use rust_decimal::Decimal;

use crate::client::{Client, segment, with_query};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// Most confirmation rounds the reply loop makes for one placement before giving up
/// with [`Error::TooManyPrompts`].
pub const MAX_REPLY_ROUNDS: u32 = 8;

/// Longest customer order id (`cOID`) this library sends. IBKR's documents state no
/// limit; the longest seen accepted in recorded answers is 36 characters (a UUID,
/// echoed as `local_order_id` and `order_ref`). A longer one is refused here rather
/// than risk a rejection, or a silent truncation that would defeat the look-up by
/// cOID.
pub const MAX_COID_LEN: usize = 36;

/// The prefix of the customer order ids made by [`new_coid`].
pub const COID_PREFIX: &str = "rs";

// ---------------------------------------------------------------------------------------
// Customer order ids

static COID_SEQ: AtomicU64 = AtomicU64::new(0);

/// A new customer order id: [`COID_PREFIX`], the time in milliseconds (base 36), a
/// per-process sequence number (base 36) and 40 random bits (hex), e.g.
/// `rs-mdg1k2x4-1-9f3a0c21be`. Unique (two calls of one process never collide, and
/// processes would have to agree on the millisecond and on 40 random bits), at most 32
/// characters, within [`MAX_COID_LEN`].
///
/// ```
/// let a = ibkr_api::orders::new_coid();
/// let b = ibkr_api::orders::new_coid();
/// assert_ne!(a, b);
/// assert!(a.starts_with("rs-") && a.len() <= ibkr_api::orders::MAX_COID_LEN);
/// ```
pub fn new_coid() -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let seq = COID_SEQ.fetch_add(1, Ordering::Relaxed);
    let random: u64 = rand::random::<u64>() & 0xff_ffff_ffff;
    format!(
        "{COID_PREFIX}-{}-{}-{random:010x}",
        base36(millis),
        base36(seq)
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Checks a customer order id: 1 to [`MAX_COID_LEN`] printable ASCII characters, no
/// spaces.
///
/// ```
/// use ibkr_api::orders::check_coid;
/// assert!(check_coid("AAPL-BUY-100").is_ok());
/// assert!(check_coid("").is_err());
/// assert!(check_coid("has space").is_err());
/// assert!(check_coid(&"x".repeat(37)).is_err());
/// ```
pub fn check_coid(coid: &str) -> Result<()> {
    if coid.is_empty() {
        return Err(Error::InvalidOrder("the cOID is empty".into()));
    }
    if coid.len() > MAX_COID_LEN {
        return Err(Error::InvalidOrder(format!(
            "the cOID {coid:?} has {} characters, more than the {MAX_COID_LEN} allowed",
            coid.len()
        )));
    }
    if !coid.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::InvalidOrder(format!(
            "the cOID {coid:?} must be printable ASCII without spaces"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Results

/// An order IBKR accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlacedOrder {
    /// IBKR's order id: for [`Client::order_status`], [`Client::modify_order`],
    /// [`Client::cancel_order`].
    pub order_id: OrderId,
    /// Its status when last seen; `None` when it was found only among the executions.
    pub status: Option<OrderStatus>,
    /// Its customer order id, when known (always for orders placed one at a time).
    pub coid: Option<String>,
    /// Whether the answer was lost and the order found by looking its cOID up.
    pub recovered: bool,
}

impl PlacedOrder {
    /// An accepted order.
    pub fn new(order_id: OrderId, status: Option<OrderStatus>, coid: Option<String>) -> Self {
        PlacedOrder {
            order_id,
            status,
            coid,
            recovered: false,
        }
    }
}

/// The outcome of a placement (or of a confirmation).
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an order may need confirmation: check the placement"]
#[non_exhaustive]
pub enum Placement {
    /// IBKR accepted the orders: one item per order.
    Placed(Vec<PlacedOrder>),
    /// IBKR asks a question the [`PromptPolicy`] does not accept. Answer it **at once**
    /// with [`Client::confirm`] (sends the order, then carries on with the same policy)
    /// or [`Client::decline`]: IBKR drops the order as soon as another request comes in.
    NeedsConfirmation {
        /// What to pass to [`Client::confirm`] or [`Client::decline`].
        reply_id: ReplyId,
        /// The ids of the questions (e.g. `o163`).
        prompts: Vec<PromptId>,
        /// The questions, as IBKR words them.
        messages: Vec<String>,
        /// The customer order id of the order (the first, for several).
        coid: String,
        /// Orders of the same request IBKR accepted already.
        placed: Vec<PlacedOrder>,
    },
    /// An "advanced reject": IBKR rejected the order but offers choices that may let it
    /// through; answer one with [`Client::answer_notification`] and
    /// [`NotificationRequest::answer`].
    Rejected {
        /// The reject, with its options.
        reject: AdvancedReject,
        /// The customer order id of the order (the first, for several).
        coid: String,
    },
}

impl Placement {
    /// The accepted orders, if placed.
    pub fn placed(&self) -> Option<&[PlacedOrder]> {
        match self {
            Placement::Placed(p) => Some(p),
            _ => None,
        }
    }

    /// The order ids of the accepted orders (none unless placed).
    pub fn order_ids(&self) -> Vec<OrderId> {
        self.placed()
            .map(|p| p.iter().map(|o| o.order_id).collect())
            .unwrap_or_default()
    }
}

/// A prompt waiting for an answer, from [`Placement::NeedsConfirmation`]: IBKR's reply
/// id, with what the library needs to carry on (the account, the cOIDs to look up if
/// the answer is lost, the policy for further prompts).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyId {
    id: String,
    pending: Pending,
    round: u32,
}

impl ReplyId {
    /// IBKR's reply id (a UUID), for [`Client::reply`].
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The customer order ids of the order(s) waiting.
    pub fn coids(&self) -> &[String] {
        &self.pending.coids
    }
}

impl fmt::Display for ReplyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// What a placement carries through the confirmation loop.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    account: AccountId,
    coids: Vec<String>,
    policy: PromptPolicy,
    lookup: LookupPolicy,
    placed: Vec<PlacedOrder>,
}

impl Pending {
    fn first_coid(&self) -> String {
        self.coids.first().cloned().unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------
// Prompt policy

/// How order prompts are answered.
///
/// ```
/// use ibkr_api::PromptPolicy;
/// use ibkr_api::model::orders::PromptId;
/// let p = PromptPolicy::accept([PromptId::NoMarketData, PromptId::PricePercentageLimit]);
/// assert!(p.accepts(&PromptId::NoMarketData));
/// assert!(!p.accepts(&PromptId::SizeLimit));
/// assert!(!PromptPolicy::default().accepts(&PromptId::NoMarketData));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PromptPolicy {
    /// Confirm nothing: every prompt comes back as [`Placement::NeedsConfirmation`].
    #[default]
    Refuse,
    /// Confirm the prompts whose ids are all in this set; others come back as
    /// [`Placement::NeedsConfirmation`].
    Accept(HashSet<PromptId>),
}

impl PromptPolicy {
    /// Confirm the prompts with these ids, and only those.
    pub fn accept(ids: impl IntoIterator<Item = PromptId>) -> Self {
        PromptPolicy::Accept(ids.into_iter().collect())
    }

    /// Whether prompts with this id are confirmed.
    pub fn accepts(&self, id: &PromptId) -> bool {
        match self {
            PromptPolicy::Refuse => false,
            PromptPolicy::Accept(set) => set.contains(id),
        }
    }
}

/// What to do with a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptDecision {
    /// Confirm it through `/iserver/reply/{id}`.
    Confirm,
    /// Hand it to the caller.
    AskCaller,
}

/// The decision for a prompt: confirm only when the policy accepts every one of its
/// ids (a prompt without ids is always handed to the caller).
pub fn decide_prompt(policy: &PromptPolicy, prompt: &OrderPrompt) -> PromptDecision {
    if !prompt.message_ids.is_empty() && prompt.message_ids.iter().all(|id| policy.accepts(id)) {
        PromptDecision::Confirm
    } else {
        PromptDecision::AskCaller
    }
}

// ---------------------------------------------------------------------------------------
// Interpreting answers

/// What to do after an answer of a placement or confirmation ([`next_step`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// Every order of the answer is accepted.
    Done(Vec<OrderSubmitted>),
    /// Confirm this reply id; the orders listed were accepted already.
    Confirm {
        /// The reply id.
        reply_id: String,
        /// Orders the answer accepted beside the prompt.
        submitted: Vec<OrderSubmitted>,
    },
    /// Hand this prompt to the caller.
    AskCaller {
        /// The prompt.
        prompt: OrderPrompt,
        /// Orders the answer accepted beside the prompt.
        submitted: Vec<OrderSubmitted>,
    },
    /// The policy would confirm, but the rounds are used up.
    TooManyPrompts,
    /// IBKR rejected (an order of) the request.
    Rejected {
        /// IBKR's message.
        message: String,
        /// Orders the answer accepted beside the rejection.
        submitted: Vec<OrderSubmitted>,
    },
    /// An advanced reject, to hand to the caller.
    AdvancedReject(AdvancedReject),
    /// The answer says nothing usable (e.g. an empty list): the outcome is uncertain.
    Unclear,
}

/// The step after `answer`, when `rounds` confirmations have been made already and at
/// most `max_rounds` are allowed. Pure.
pub fn next_step(
    answer: &OrderResponse,
    policy: &PromptPolicy,
    rounds: u32,
    max_rounds: u32,
) -> Step {
    let submitted: Vec<OrderSubmitted> = answer.submitted().cloned().collect();
    if let Some(message) = answer.error() {
        return Step::Rejected {
            message: message.to_string(),
            submitted,
        };
    }
    if let Some(reject) = answer.reject() {
        return Step::AdvancedReject(reject.clone());
    }
    if let Some(prompt) = answer.prompt() {
        return match decide_prompt(policy, prompt) {
            PromptDecision::Confirm if rounds >= max_rounds => Step::TooManyPrompts,
            PromptDecision::Confirm => Step::Confirm {
                reply_id: prompt.id.clone(),
                submitted,
            },
            PromptDecision::AskCaller => Step::AskCaller {
                prompt: prompt.clone(),
                submitted,
            },
        };
    }
    if submitted.is_empty() {
        Step::Unclear
    } else {
        Step::Done(submitted)
    }
}

/// How sure it is that a failed order request did not place anything.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Certainty {
    /// IBKR answered with a rejection: nothing placed.
    Rejected(String),
    /// IBKR no longer knows the reply id: nothing placed.
    ReplyExpired(String),
    /// The request failed before IBKR could act on it: nothing placed.
    NotPlaced,
    /// The request may have been acted on: the outcome must be looked up.
    Uncertain,
}

/// Classifies the failure of an order-changing request (see the
/// [module docs](self)). `reply` says whether the request was a confirmation
/// (`/iserver/reply/{id}`), whose "not found" answers mean an expired reply id.
pub fn classify_failure(error: &Error, reply: bool) -> Certainty {
    match error {
        Error::Gateway { message, .. } | Error::OrderRejected { message, .. }
            if reply && is_expired_reply(message) =>
        {
            Certainty::ReplyExpired(message.clone())
        }
        Error::Gateway { message, .. } | Error::OrderRejected { message, .. } => {
            Certainty::Rejected(message.clone())
        }
        // The connection was never made: nothing was sent.
        Error::Transport { source, .. } if source.is_connect() => Certainty::NotPlaced,
        Error::Transport { .. } => Certainty::Uncertain,
        // Refused in the TLS handshake, before the request.
        Error::Certificate { .. } => Certainty::NotPlaced,
        // Refused by the rate limiter, the session, the allow list or the account check
        // before the order system saw the request; or never sent at all.
        Error::WouldWait { .. }
        | Error::RateLimited { .. }
        | Error::NotAuthenticated { .. }
        | Error::NoBrokerageSession { .. }
        | Error::Forbidden { .. }
        | Error::UnknownAccount { .. }
        | Error::Config(_)
        | Error::InvalidOrder(_) => Certainty::NotPlaced,
        Error::Http { status, body, .. } => match *status {
            400..=499 if reply && is_expired_reply(body) => Certainty::ReplyExpired(body.clone()),
            408 => Certainty::Uncertain,
            400..=499 => Certainty::NotPlaced,
            _ => Certainty::Uncertain,
        },
        Error::Timeout { .. } | Error::Decode { .. } => Certainty::Uncertain,
        _ => Certainty::Uncertain,
    }
}

/// Whether a gateway message says that a reply id is unknown.
fn is_expired_reply(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "not found",
        "expired",
        "does not exist",
        "doesn't exist",
        "no longer valid",
        "invalid reply",
    ]
    .iter()
    .any(|k| m.contains(k))
}

/// What a look-up by cOID found ([`match_lookup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lookup {
    /// The orders found, in the order of the cOIDs asked for.
    pub found: Vec<PlacedOrder>,
    /// The cOIDs not found.
    pub missing: Vec<String>,
    /// cOIDs found only among executions that carry no order id.
    pub executed_without_id: Vec<String>,
}

impl Lookup {
    /// Whether every cOID was found.
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Finds the orders of `coids` in live orders (by `order_ref`), else among executions
/// (by `order_ref`, when they carry an order id). Pure.
pub fn match_lookup(coids: &[String], live: &LiveOrders, trades: &[Trade]) -> Lookup {
    let mut out = Lookup {
        found: Vec::new(),
        missing: Vec::new(),
        executed_without_id: Vec::new(),
    };
    for coid in coids {
        let in_live = live
            .orders
            .iter()
            .find(|o| o.order_ref.as_deref() == Some(coid.as_str()));
        if let Some(o) = in_live {
            out.found.push(PlacedOrder {
                order_id: o.order_id,
                status: o.status.clone(),
                coid: Some(coid.clone()),
                recovered: true,
            });
            continue;
        }
        let executions: Vec<&Trade> = trades
            .iter()
            .filter(|t| t.order_ref.as_deref() == Some(coid.as_str()))
            .collect();
        match executions.iter().find_map(|t| t.order_id) {
            Some(order_id) => out.found.push(PlacedOrder {
                order_id,
                status: None,
                coid: Some(coid.clone()),
                recovered: true,
            }),
            None => {
                if !executions.is_empty() {
                    out.executed_without_id.push(coid.clone());
                }
                out.missing.push(coid.clone());
            }
        }
    }
    out
}

/// How long an uncertain outcome is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupPolicy {
    /// Look-ups of live orders (and trades) before giving up. Default 3.
    pub attempts: u32,
    /// Pause between look-ups, on top of the wait for the rate limit (live orders
    /// and trades: one request per 5 s each). Default 1 s.
    pub pause: Duration,
}

impl Default for LookupPolicy {
    fn default() -> Self {
        LookupPolicy {
            attempts: 3,
            pause: Duration::from_secs(1),
        }
    }
}

impl LookupPolicy {
    /// A policy with these numbers (at least one attempt is made).
    pub fn new(attempts: u32, pause: Duration) -> Self {
        LookupPolicy {
            attempts: attempts.max(1),
            pause,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Order tickets

/// A trailing amount: in price units or in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trail {
    /// An amount in the price's currency (`trailingType` `amt`).
    Amount(Decimal),
    /// A percentage (`trailingType` `%`).
    Percent(Decimal),
}

impl Trail {
    fn parts(self) -> (Decimal, TrailingType) {
        match self {
            Trail::Amount(a) => (a, TrailingType::Amount),
            Trail::Percent(p) => (p, TrailingType::Percent),
        }
    }
}

/// The order type and its prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Market,
    Limit(Decimal),
    Stop(Decimal),
    StopLimit {
        stop: Decimal,
        limit: Decimal,
    },
    Trailing(Trail),
    TrailingLimit {
        stop: Decimal,
        limit: Decimal,
        trail: Trail,
    },
    MidPrice(Option<Decimal>),
    MarketOnClose,
    LimitOnClose(Decimal),
}

impl Kind {
    fn order_type(self) -> OrderType {
        match self {
            Kind::Market => OrderType::Market,
            Kind::Limit(_) => OrderType::Limit,
            Kind::Stop(_) => OrderType::Stop,
            Kind::StopLimit { .. } => OrderType::StopLimit,
            Kind::Trailing(_) => OrderType::Trail,
            Kind::TrailingLimit { .. } => OrderType::TrailLimit,
            Kind::MidPrice(_) => OrderType::MidPrice,
            Kind::MarketOnClose => OrderType::MarketOnClose,
            Kind::LimitOnClose(_) => OrderType::LimitOnClose,
        }
    }

    /// The prices to check for positivity, with their names.
    fn prices(self) -> Vec<(&'static str, Decimal)> {
        match self {
            Kind::Market | Kind::MarketOnClose | Kind::MidPrice(None) => vec![],
            Kind::Limit(p) | Kind::LimitOnClose(p) => vec![("limit price", p)],
            Kind::Stop(p) => vec![("stop price", p)],
            Kind::MidPrice(Some(p)) => vec![("price cap", p)],
            Kind::StopLimit { stop, limit } => vec![("stop price", stop), ("limit price", limit)],
            Kind::Trailing(t) => vec![("trailing amount", t.parts().0)],
            Kind::TrailingLimit { stop, limit, trail } => vec![
                ("stop price", stop),
                ("limit price", limit),
                ("trailing amount", trail.parts().0),
            ],
        }
    }

    /// `price`, `auxPrice` and the trailing fields on a ticket.
    fn apply(self, r: &mut OrderRequest) {
        match self {
            Kind::Market | Kind::MarketOnClose | Kind::MidPrice(None) => {}
            Kind::Limit(p) | Kind::Stop(p) | Kind::LimitOnClose(p) | Kind::MidPrice(Some(p)) => {
                r.price = Some(p)
            }
            Kind::StopLimit { stop, limit } => {
                r.price = Some(limit);
                r.aux_price = Some(stop);
            }
            Kind::Trailing(t) => {
                let (amt, ty) = t.parts();
                r.trailing_amt = Some(amt);
                r.trailing_type = Some(ty);
            }
            Kind::TrailingLimit { stop, limit, trail } => {
                let (amt, ty) = trail.parts();
                r.price = Some(limit);
                r.aux_price = Some(stop);
                r.trailing_amt = Some(amt);
                r.trailing_type = Some(ty);
            }
        }
    }
}

/// The size of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    Units(Decimal),
    Cash(Decimal),
}

/// One order, without the client: side, contract, size, type, time in force, cOID.
/// Used on its own for [OCA groups](Client::oca), and inside [`OrderBuilder`].
///
/// ```
/// use ibkr_api::orders::OrderTicket;
/// use ibkr_api::model::accounts::AccountId;
/// use ibkr_api::model::contracts::Conid;
/// use ibkr_api::model::orders::Tif;
/// use ibkr_api::Decimal;
///
/// let t = OrderTicket::buy(Conid(265598), 10).limit(Decimal::new(16550, 2)).tif(Tif::Gtc).coid("t-1");
/// let r = t.to_request(&AccountId::from("DU1234567")).unwrap();
/// assert_eq!(
///     serde_json::to_value(&r).unwrap(),
///     serde_json::json!({"acctId": "DU1234567", "conid": 265598, "cOID": "t-1", "orderType": "LMT",
///         "price": 165.5, "side": "BUY", "tif": "GTC", "quantity": 10})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTicket {
    conid: Conid,
    side: Side,
    size: Size,
    kind: Kind,
    tif: Tif,
    outside_rth: Option<bool>,
    coid: String,
}

impl OrderTicket {
    fn new(conid: Conid, side: Side, size: Size) -> Self {
        OrderTicket {
            conid,
            side,
            size,
            kind: Kind::Market,
            tif: Tif::Day,
            outside_rth: None,
            coid: new_coid(),
        }
    }

    /// Buy `quantity` units (shares, contracts...): a market day order until told
    /// otherwise, with a new cOID.
    pub fn buy(conid: Conid, quantity: impl Into<Decimal>) -> Self {
        Self::new(conid, Side::Buy, Size::Units(quantity.into()))
    }

    /// Sell `quantity` units.
    pub fn sell(conid: Conid, quantity: impl Into<Decimal>) -> Self {
        Self::new(conid, Side::Sell, Size::Units(quantity.into()))
    }

    /// Buy for an amount of money (`cashQty`; stocks, forex and crypto; IBKR rounds
    /// stock orders down to whole shares).
    pub fn buy_cash(conid: Conid, amount: impl Into<Decimal>) -> Self {
        Self::new(conid, Side::Buy, Size::Cash(amount.into()))
    }

    /// Sell for an amount of money (`cashQty`).
    pub fn sell_cash(conid: Conid, amount: impl Into<Decimal>) -> Self {
        Self::new(conid, Side::Sell, Size::Cash(amount.into()))
    }

    /// A market order (`MKT`; the default).
    pub fn market(mut self) -> Self {
        self.kind = Kind::Market;
        self
    }

    /// A limit order (`LMT`) at `price` or better.
    pub fn limit(mut self, price: Decimal) -> Self {
        self.kind = Kind::Limit(price);
        self
    }

    /// A stop order (`STP`): a market order once the price reaches `stop`.
    pub fn stop(mut self, stop: Decimal) -> Self {
        self.kind = Kind::Stop(stop);
        self
    }

    /// A stop-limit order (`STOP_LIMIT`): a limit order at `limit` once the price
    /// reaches `stop` (`auxPrice` is the stop, `price` the limit).
    pub fn stop_limit(mut self, stop: Decimal, limit: Decimal) -> Self {
        self.kind = Kind::StopLimit { stop, limit };
        self
    }

    /// A trailing stop (`TRAIL`): the stop follows the price at a distance.
    pub fn trailing(mut self, trail: Trail) -> Self {
        self.kind = Kind::Trailing(trail);
        self
    }

    /// A trailing stop limit (`TRAILLMT`): `auxPrice` the initial stop, `price` the
    /// limit, and the trailing distance.
    pub fn trailing_limit(mut self, stop: Decimal, limit: Decimal, trail: Trail) -> Self {
        self.kind = Kind::TrailingLimit { stop, limit, trail };
        self
    }

    /// A midprice order (`MIDPRICE`), optionally capped at `cap`.
    pub fn midprice(mut self, cap: Option<Decimal>) -> Self {
        self.kind = Kind::MidPrice(cap);
        self
    }

    /// A market-on-close order (`MOC`).
    pub fn moc(mut self) -> Self {
        self.kind = Kind::MarketOnClose;
        self
    }

    /// A limit-on-close order (`LOC`) at `price`.
    pub fn loc(mut self, price: Decimal) -> Self {
        self.kind = Kind::LimitOnClose(price);
        self
    }

    /// Time in force: `Day` (default), `Gtc`, `Ioc`, `Opg`...
    pub fn tif(mut self, tif: Tif) -> Self {
        self.tif = tif;
        self
    }

    /// Whether the order may execute outside regular trading hours (`outsideRTH`).
    pub fn outside_rth(mut self, yes: bool) -> Self {
        self.outside_rth = Some(yes);
        self
    }

    /// The customer order id, instead of a new one (see [`check_coid`]; it must be
    /// unique over IBKR's 24 hours).
    pub fn coid(mut self, coid: impl Into<String>) -> Self {
        self.coid = coid.into();
        self
    }

    /// The customer order id the order will carry.
    pub fn coid_str(&self) -> &str {
        &self.coid
    }

    /// The side.
    pub fn side(&self) -> &Side {
        &self.side
    }

    /// Checks the ticket: a positive size and positive prices, a cash size only with
    /// order types IBKR allows it for (market and limit), a valid cOID, and the field
    /// combinations of [`OrderRequest::validate`].
    pub fn check(&self) -> Result<()> {
        check_coid(&self.coid)?;
        let (what, size) = match self.size {
            Size::Units(q) => ("quantity", q),
            Size::Cash(c) => ("cash amount", c),
        };
        if size <= Decimal::ZERO {
            return Err(Error::InvalidOrder(format!(
                "the {what} {size} is not positive (the side gives the direction)"
            )));
        }
        for (name, p) in self.kind.prices() {
            if p <= Decimal::ZERO {
                return Err(Error::InvalidOrder(format!(
                    "the {name} {p} is not positive"
                )));
            }
        }
        if matches!(self.size, Size::Cash(_)) && !matches!(self.kind, Kind::Market | Kind::Limit(_))
        {
            return Err(Error::InvalidOrder(format!(
                "a cash-quantity order must be a market or limit order, not {}",
                self.kind.order_type()
            )));
        }
        Ok(())
    }

    /// The ticket IBKR receives, for account `account` (`acctId`, as IBKR's examples
    /// send it). Fails on a ticket [`check`](Self::check) refuses.
    pub fn to_request(&self, account: &AccountId) -> Result<OrderRequest> {
        self.check()?;
        let mut r = match self.size {
            Size::Units(q) => OrderRequest::new(
                self.conid,
                self.side.clone(),
                q,
                self.kind.order_type(),
                self.tif.clone(),
            ),
            Size::Cash(c) => OrderRequest::cash(
                self.conid,
                self.side.clone(),
                c,
                self.kind.order_type(),
                self.tif.clone(),
            ),
        };
        self.kind.apply(&mut r);
        r.acct_id = Some(account.clone());
        r.c_oid = Some(self.coid.clone());
        r.outside_rth = self.outside_rth;
        r.validate()
            .map_err(|e| Error::InvalidOrder(e.to_string()))?;
        Ok(r)
    }
}

// ---------------------------------------------------------------------------------------
// Builders

/// Builds and places one order: [`Client::order`].
#[derive(Debug, Clone)]
#[must_use = "an order builder does nothing until placed"]
pub struct OrderBuilder<'c> {
    client: &'c Client,
    account: AccountId,
    /// The order so far; its contract, side and size count once `has_leg`.
    ticket: OrderTicket,
    has_leg: bool,
    policy: PromptPolicy,
    lookup: LookupPolicy,
}

macro_rules! ticket_setters {
    ($($(#[$m:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            $(#[$m])*
            pub fn $name(mut self, $($arg: $ty),*) -> Self {
                self.ticket = self.ticket.$name($($arg),*);
                self
            }
        )*
    };
}

impl<'c> OrderBuilder<'c> {
    /// Buy `quantity` units of `conid` (a market day order until told otherwise).
    pub fn buy(self, conid: Conid, quantity: impl Into<Decimal>) -> Self {
        self.leg(conid, Side::Buy, Size::Units(quantity.into()))
    }

    /// Sell `quantity` units of `conid`.
    pub fn sell(self, conid: Conid, quantity: impl Into<Decimal>) -> Self {
        self.leg(conid, Side::Sell, Size::Units(quantity.into()))
    }

    /// Buy `conid` for an amount of money (`cashQty`).
    pub fn buy_cash(self, conid: Conid, amount: impl Into<Decimal>) -> Self {
        self.leg(conid, Side::Buy, Size::Cash(amount.into()))
    }

    /// Sell `conid` for an amount of money (`cashQty`).
    pub fn sell_cash(self, conid: Conid, amount: impl Into<Decimal>) -> Self {
        self.leg(conid, Side::Sell, Size::Cash(amount.into()))
    }

    ticket_setters! {
        /// A market order (the default).
        market();
        /// A limit order at `price` or better.
        limit(price: Decimal);
        /// A stop order, triggered at `stop`.
        stop(stop: Decimal);
        /// A stop-limit order: a limit at `limit` once the price reaches `stop`.
        stop_limit(stop: Decimal, limit: Decimal);
        /// A trailing stop.
        trailing(trail: Trail);
        /// A trailing stop limit.
        trailing_limit(stop: Decimal, limit: Decimal, trail: Trail);
        /// A midprice order, optionally capped.
        midprice(cap: Option<Decimal>);
        /// A market-on-close order.
        moc();
        /// A limit-on-close order.
        loc(price: Decimal);
        /// Time in force (`Day` by default).
        tif(tif: Tif);
        /// Whether the order may execute outside regular trading hours.
        outside_rth(yes: bool);
    }

    /// The customer order id, instead of the new one made with the builder
    /// ([`check_coid`]).
    pub fn coid(mut self, coid: impl Into<String>) -> Self {
        self.ticket = self.ticket.coid(coid);
        self
    }

    fn leg(mut self, conid: Conid, side: Side, size: Size) -> Self {
        self.ticket.conid = conid;
        self.ticket.side = side;
        self.ticket.size = size;
        self.has_leg = true;
        self
    }

    /// How prompts are answered ([`PromptPolicy::Refuse`] by default).
    pub fn prompts(mut self, policy: PromptPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long an uncertain outcome is looked up ([`LookupPolicy::default`]).
    pub fn lookup(mut self, lookup: LookupPolicy) -> Self {
        self.lookup = lookup;
        self
    }

    /// The ticket as it stands, with its cOID.
    pub fn ticket(&self) -> Result<OrderTicket> {
        if !self.has_leg {
            return Err(Error::InvalidOrder(
                "no side: call buy, sell, buy_cash or sell_cash".into(),
            ));
        }
        Ok(self.ticket.clone())
    }

    /// The request body that [`place`](Self::place) sends, without sending it.
    pub fn request(&self) -> Result<OrdersRequest> {
        Ok(OrdersRequest::single(
            self.ticket()?.to_request(&self.account)?,
        ))
    }

    /// Places the order: one request, prompts answered by the policy, an uncertain
    /// outcome looked up by cOID (see the [module docs](self)).
    pub async fn place(self) -> Result<Placement> {
        let body = self.request()?;
        self.client
            .submit(&self.account, body, self.policy, self.lookup)
            .await
    }

    /// Previews the order (`/orders/whatif`): cost, commission, margin; nothing is
    /// placed. IBKR wants a market-data snapshot of the contract first.
    pub async fn what_if(self) -> Result<OrderPreview> {
        let ticket = self.ticket()?.to_request(&self.account)?;
        self.client.what_if(&self.account, &ticket).await
    }
}

/// Builds and places a bracket: an entry order with a take-profit and/or a stop-loss
/// attached, in one request ([`Client::bracket`]).
///
/// The children carry `parentId` equal to the parent's cOID and the opposite side, as
/// IBKR documents; they wait until the parent fills, and are one-cancels-all by IBKR's
/// bracket rules (a fill of one reduces or cancels the other; cancelling the parent
/// cancels them), so no `isSingleGroup` is sent. Each child has a cOID of its own
/// (the parent's with `-tp` or `-sl`), as in IBKR's bracket lesson, so that every leg
/// can be looked up.
#[derive(Debug, Clone)]
#[must_use = "a bracket builder does nothing until placed"]
pub struct BracketBuilder<'c> {
    inner: OrderBuilder<'c>,
    take_profit: Option<Decimal>,
    stop_loss: Option<Decimal>,
}

impl<'c> BracketBuilder<'c> {
    /// Buy `quantity` of `conid` (a market entry until told otherwise).
    pub fn buy(mut self, conid: Conid, quantity: impl Into<Decimal>) -> Self {
        self.inner = self.inner.buy(conid, quantity);
        self
    }

    /// Sell `quantity` of `conid`.
    pub fn sell(mut self, conid: Conid, quantity: impl Into<Decimal>) -> Self {
        self.inner = self.inner.sell(conid, quantity);
        self
    }

    /// A market entry (the default).
    pub fn market(mut self) -> Self {
        self.inner = self.inner.market();
        self
    }

    /// A limit entry at `price`.
    pub fn limit(mut self, price: Decimal) -> Self {
        self.inner = self.inner.limit(price);
        self
    }

    /// A stop entry at `stop`.
    pub fn stop(mut self, stop: Decimal) -> Self {
        self.inner = self.inner.stop(stop);
        self
    }

    /// A stop-limit entry.
    pub fn stop_limit(mut self, stop: Decimal, limit: Decimal) -> Self {
        self.inner = self.inner.stop_limit(stop, limit);
        self
    }

    /// The take-profit: a limit order on the other side at `price`.
    pub fn take_profit(mut self, price: Decimal) -> Self {
        self.take_profit = Some(price);
        self
    }

    /// The stop-loss: a stop order on the other side at `price`.
    pub fn stop_loss(mut self, price: Decimal) -> Self {
        self.stop_loss = Some(price);
        self
    }

    /// Time in force of all three orders (`Day` by default).
    pub fn tif(mut self, tif: Tif) -> Self {
        self.inner = self.inner.tif(tif);
        self
    }

    /// Whether all three orders may execute outside regular trading hours.
    pub fn outside_rth(mut self, yes: bool) -> Self {
        self.inner = self.inner.outside_rth(yes);
        self
    }

    /// The parent's customer order id (the children get it with `-tp` and `-sl`).
    pub fn coid(mut self, coid: impl Into<String>) -> Self {
        self.inner = self.inner.coid(coid);
        self
    }

    /// How prompts are answered.
    pub fn prompts(mut self, policy: PromptPolicy) -> Self {
        self.inner = self.inner.prompts(policy);
        self
    }

    /// How long an uncertain outcome is looked up.
    pub fn lookup(mut self, lookup: LookupPolicy) -> Self {
        self.inner = self.inner.lookup(lookup);
        self
    }

    /// The request body: parent first, then the take-profit, then the stop-loss.
    /// Refuses a bracket without a child, with a cash size, or whose prices are on the
    /// wrong side (for a buy: stop-loss < entry < take-profit).
    pub fn request(&self) -> Result<OrdersRequest> {
        let parent = self.inner.ticket()?;
        if matches!(parent.size, Size::Cash(_)) {
            return Err(Error::InvalidOrder(
                "a bracket needs a quantity, not a cash amount".into(),
            ));
        }
        if self.take_profit.is_none() && self.stop_loss.is_none() {
            return Err(Error::InvalidOrder(
                "a bracket needs a take-profit, a stop-loss, or both".into(),
            ));
        }
        check_bracket_prices(
            &parent.side,
            entry_price(parent.kind),
            self.take_profit,
            self.stop_loss,
        )?;
        let exit = parent
            .side
            .opposite()
            .ok_or_else(|| Error::InvalidOrder("a bracket entry must buy or sell".into()))?;
        let Size::Units(quantity) = parent.size else {
            return Err(Error::InvalidOrder("a bracket needs a quantity".into()));
        };
        let account = &self.inner.account;
        let mut orders = vec![parent.to_request(account)?];
        let child = |suffix: &str, kind: Kind| -> Result<OrderRequest> {
            let mut t = OrderTicket::new(parent.conid, exit.clone(), Size::Units(quantity))
                .tif(parent.tif.clone())
                .coid(format!("{}-{suffix}", parent.coid));
            t.kind = kind;
            t.outside_rth = parent.outside_rth;
            Ok(t.to_request(account)?.with_parent(parent.coid.clone()))
        };
        if let Some(p) = self.take_profit {
            orders.push(child("tp", Kind::Limit(p))?);
        }
        if let Some(p) = self.stop_loss {
            orders.push(child("sl", Kind::Stop(p))?);
        }
        Ok(OrdersRequest::new(orders))
    }

    /// Places the bracket (see [`OrderBuilder::place`]).
    pub async fn place(self) -> Result<Placement> {
        let body = self.request()?;
        let inner = self.inner;
        inner
            .client
            .submit(&inner.account, body, inner.policy, inner.lookup)
            .await
    }

    /// Previews the bracket (`/orders/whatif`, which takes brackets too).
    pub async fn what_if(self) -> Result<OrderPreview> {
        let body = self.request()?;
        self.inner
            .client
            .what_if_request(&self.inner.account, &body)
            .await
    }
}

fn entry_price(kind: Kind) -> Option<Decimal> {
    match kind {
        Kind::Limit(p) | Kind::Stop(p) | Kind::LimitOnClose(p) => Some(p),
        Kind::StopLimit { limit, .. } => Some(limit),
        _ => None,
    }
}

/// Checks that the exits of a bracket are on the right side: for a buy, stop-loss <
/// entry < take-profit (the reverse for a sell); without an entry price, stop-loss <
/// take-profit (reversed for a sell). Prices must be positive. Pure.
pub fn check_bracket_prices(
    side: &Side,
    entry: Option<Decimal>,
    take_profit: Option<Decimal>,
    stop_loss: Option<Decimal>,
) -> Result<()> {
    for (name, p) in [("take-profit", take_profit), ("stop-loss", stop_loss)] {
        if let Some(p) = p
            && p <= Decimal::ZERO
        {
            return Err(Error::InvalidOrder(format!(
                "the {name} {p} is not positive"
            )));
        }
    }
    let buy = match side.direction() {
        Some(Side::Buy) => true,
        Some(_) => false,
        None => {
            return Err(Error::InvalidOrder(
                "a bracket entry must buy or sell".into(),
            ));
        }
    };
    // `below` must be under `above` for a buy, over it for a sell.
    let ordered = |below: Decimal, above: Decimal| if buy { below < above } else { below > above };
    let word = if buy { "below" } else { "above" };
    if let (Some(e), Some(tp)) = (entry, take_profit)
        && !ordered(e, tp)
    {
        return Err(Error::InvalidOrder(format!(
            "the entry {e} must be {word} the take-profit {tp}"
        )));
    }
    if let (Some(e), Some(sl)) = (entry, stop_loss)
        && !ordered(sl, e)
    {
        return Err(Error::InvalidOrder(format!(
            "the stop-loss {sl} must be {word} the entry {e}"
        )));
    }
    if let (Some(tp), Some(sl)) = (take_profit, stop_loss)
        && !ordered(sl, tp)
    {
        return Err(Error::InvalidOrder(format!(
            "the stop-loss {sl} must be {word} the take-profit {tp}"
        )));
    }
    Ok(())
}

/// Builds and places a one-cancels-all group: several orders in one request, each with
/// `isSingleGroup: true` as IBKR documents, so that a fill of one cancels the others
/// ([`Client::oca`]).
#[derive(Debug, Clone)]
#[must_use = "an OCA builder does nothing until placed"]
pub struct OcaBuilder<'c> {
    client: &'c Client,
    account: AccountId,
    tickets: Vec<OrderTicket>,
    policy: PromptPolicy,
    lookup: LookupPolicy,
}

impl<'c> OcaBuilder<'c> {
    /// Adds an order to the group.
    pub fn order(mut self, ticket: OrderTicket) -> Self {
        self.tickets.push(ticket);
        self
    }

    /// How prompts are answered.
    pub fn prompts(mut self, policy: PromptPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long an uncertain outcome is looked up.
    pub fn lookup(mut self, lookup: LookupPolicy) -> Self {
        self.lookup = lookup;
        self
    }

    /// The request body. Refuses fewer than two orders, and repeated cOIDs.
    pub fn request(&self) -> Result<OrdersRequest> {
        if self.tickets.len() < 2 {
            return Err(Error::InvalidOrder(
                "an OCA group needs at least two orders".into(),
            ));
        }
        let mut seen = HashSet::new();
        let mut orders = Vec::with_capacity(self.tickets.len());
        for t in &self.tickets {
            if !seen.insert(t.coid.as_str()) {
                return Err(Error::InvalidOrder(format!(
                    "the cOID {:?} is used twice in the group",
                    t.coid
                )));
            }
            let mut r = t.to_request(&self.account)?;
            r.is_single_group = Some(true);
            orders.push(r);
        }
        Ok(OrdersRequest::new(orders))
    }

    /// Places the group (see [`OrderBuilder::place`]).
    pub async fn place(self) -> Result<Placement> {
        let body = self.request()?;
        self.client
            .submit(&self.account, body, self.policy, self.lookup)
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Calls

/// IBKR's 200 `{"error": ...}` answer to an order request, as [`Error::OrderRejected`].
fn rejected(e: Error, coid: Option<&str>) -> Error {
    match e {
        Error::Gateway { endpoint, message } => Error::OrderRejected {
            endpoint,
            message,
            coid: coid.map(str::to_string),
            placed: Vec::new(),
        },
        other => other,
    }
}

impl Client {
    /// Starts an order in `account`: `client.order(&acct).buy(conid, 10).limit(p).place()`.
    /// The order gets a new cOID ([`new_coid`]) unless [`OrderBuilder::coid`] sets one.
    pub fn order(&self, account: &AccountId) -> OrderBuilder<'_> {
        OrderBuilder {
            client: self,
            account: account.clone(),
            ticket: OrderTicket::new(Conid(0), Side::Buy, Size::Units(Decimal::ZERO)),
            has_leg: false,
            policy: PromptPolicy::default(),
            lookup: LookupPolicy::default(),
        }
    }

    /// Starts a bracket in `account`:
    /// `client.bracket(&acct).buy(conid, 10).limit(entry).take_profit(p).stop_loss(q).place()`.
    pub fn bracket(&self, account: &AccountId) -> BracketBuilder<'_> {
        BracketBuilder {
            inner: self.order(account),
            take_profit: None,
            stop_loss: None,
        }
    }

    /// Starts a one-cancels-all group in `account`:
    /// `client.oca(&acct).order(OrderTicket::buy(a, 1).limit(p)).order(...).place()`.
    pub fn oca(&self, account: &AccountId) -> OcaBuilder<'_> {
        OcaBuilder {
            client: self,
            account: account.clone(),
            tickets: Vec::new(),
            policy: PromptPolicy::default(),
            lookup: LookupPolicy::default(),
        }
    }

    /// `POST /iserver/account/{accountId}/orders`: one request, the answer as sent
    /// (submitted orders, prompts). Low level: prompts are not answered and an
    /// uncertain outcome is not looked up (use [`Client::order`] for that). Never
    /// retried. IBKR's 200 `{"error": ...}` is [`Error::OrderRejected`].
    pub async fn place_orders(
        &self,
        account: &AccountId,
        orders: &OrdersRequest,
    ) -> Result<OrderResponse> {
        let path = format!("/iserver/account/{}/orders", segment(account.as_str()));
        self.call_after_accounts(Endpoint::PlaceOrders, Method::POST, &path, Some(orders))
            .await
            .map_err(|e| rejected(e, first_coid(orders)))
    }

    /// `POST /iserver/account/orders/{faGroup}`: an advisor's order for an allocation
    /// group, as [`Client::place_orders`] (low level, never retried).
    pub async fn place_group_orders(
        &self,
        fa_group: &str,
        orders: &OrdersRequest,
    ) -> Result<OrderResponse> {
        let path = format!("/iserver/account/orders/{}", segment(fa_group));
        self.call_after_accounts(
            Endpoint::PlaceGroupOrders,
            Method::POST,
            &path,
            Some(orders),
        )
        .await
        .map_err(|e| rejected(e, first_coid(orders)))
    }

    /// `POST /iserver/reply/{replyId}`: answers a prompt (`confirmed` true sends the
    /// order, false discards it); the answer as sent. Low level: see
    /// [`Client::confirm`]. Never retried.
    pub async fn reply(&self, reply_id: &str, confirmed: bool) -> Result<OrderResponse> {
        let path = format!("/iserver/reply/{}", segment(reply_id));
        self.call(
            Endpoint::ReplyToPrompt,
            Method::POST,
            &path,
            Some(&ReplyRequest::new(confirmed)),
        )
        .await
        .map_err(|e| rejected(e, None))
    }

    /// Confirms a prompt handed back as [`Placement::NeedsConfirmation`], then carries
    /// on as the placement would have: further prompts by the same policy, an uncertain
    /// outcome looked up by cOID. A reply id IBKR no longer knows is
    /// [`Error::ReplyExpired`].
    pub async fn confirm(&self, reply_id: &ReplyId) -> Result<Placement> {
        let answer = self.reply(&reply_id.id, true).await;
        self.follow(
            reply_id.pending.clone(),
            answer,
            reply_id.round + 1,
            Some(reply_id.id.clone()),
        )
        .await
    }

    /// Declines a prompt: IBKR discards the order. IBKR's "Order not confirmed" answer
    /// is the expected one and is not an error.
    pub async fn decline(&self, reply_id: &ReplyId) -> Result<()> {
        match self.reply(&reply_id.id, false).await {
            Ok(_) => Ok(()),
            Err(Error::OrderRejected { message, .. })
                if message.to_ascii_lowercase().contains("not confirmed") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /iserver/account/{accountId}/orders/whatif`: what the order would cost
    /// and change; nothing is placed. A preview IBKR refuses is
    /// [`Error::OrderRejected`].
    pub async fn what_if(&self, account: &AccountId, order: &OrderRequest) -> Result<OrderPreview> {
        self.what_if_request(account, &OrdersRequest::single(order.clone()))
            .await
    }

    async fn what_if_request(
        &self,
        account: &AccountId,
        orders: &OrdersRequest,
    ) -> Result<OrderPreview> {
        let path = format!(
            "/iserver/account/{}/orders/whatif",
            segment(account.as_str())
        );
        self.call_after_accounts(Endpoint::WhatIf, Method::POST, &path, Some(orders))
            .await
            .map_err(|e| rejected(e, first_coid(orders)))
    }

    /// `POST /iserver/account/{accountId}/order/{orderId}`: modifies a working order.
    /// The ticket must repeat every field of the original (IBKR replaces the order's
    /// terms with it). The answer may hold prompts, to answer with [`Client::reply`].
    /// Never retried; IBKR's refusal (e.g. the order was cancelled or filled) is
    /// [`Error::OrderRejected`].
    pub async fn modify_order(
        &self,
        account: &AccountId,
        order_id: OrderId,
        order: &OrderRequest,
    ) -> Result<OrderResponse> {
        let path = format!(
            "/iserver/account/{}/order/{order_id}",
            segment(account.as_str())
        );
        self.call_after_accounts(Endpoint::ModifyOrder, Method::POST, &path, Some(order))
            .await
            .map_err(|e| rejected(e, order.c_oid.as_deref()))
    }

    /// `DELETE /iserver/account/{accountId}/order/{orderId}`: asks to cancel an order
    /// (accepted is not cancelled: watch its status). Never retried; IBKR's refusal
    /// (e.g. the order has filled) is [`Error::OrderRejected`].
    pub async fn cancel_order(
        &self,
        account: &AccountId,
        order_id: OrderId,
    ) -> Result<CancelOrderResponse> {
        let path = format!(
            "/iserver/account/{}/order/{order_id}",
            segment(account.as_str())
        );
        let answer: CancelOrderResponse = self
            .call_after_accounts::<(), _>(Endpoint::CancelOrder, Method::DELETE, &path, None)
            .await
            .map_err(|e| rejected(e, None))?;
        match answer.error() {
            Some(message) => Err(Error::OrderRejected {
                endpoint: format!("DELETE {path}"),
                message: message.to_string(),
                coid: None,
                placed: Vec::new(),
            }),
            None => Ok(answer),
        }
    }

    /// `GET /iserver/account/orders`: the orders of the brokerage session (working,
    /// filled, cancelled). IBKR allows one call per 5 s (the pacer waits). Filtering
    /// by status stops the `sor` websocket stream until a call with `force=true`
    /// (which itself answers an empty list), as IBKR documents.
    pub async fn live_orders(&self, query: &LiveOrdersQuery) -> Result<LiveOrders> {
        let path = with_query("/iserver/account/orders", query)?;
        self.call_after_accounts::<(), _>(Endpoint::LiveOrders, Method::GET, &path, None)
            .await
    }

    /// `GET /iserver/account/order/status/{orderId}`: one order in detail.
    pub async fn order_status(&self, order_id: OrderId) -> Result<OrderStatusDetail> {
        let path = format!("/iserver/account/order/status/{order_id}");
        self.call_after_accounts::<(), _>(Endpoint::OrderStatus, Method::GET, &path, None)
            .await
    }

    /// `GET /iserver/account/trades`: executions of today, or of the last `days` days
    /// (IBKR allows up to 7). One call per 5 s (the pacer waits).
    pub async fn trades(&self, days: Option<u32>) -> Result<Vec<Trade>> {
        let query = match days {
            Some(d) => TradesQuery::days(d),
            None => TradesQuery::new(),
        };
        let path = with_query("/iserver/account/trades", &query)?;
        self.call_after_accounts::<(), _>(Endpoint::Trades, Method::GET, &path, None)
            .await
    }

    /// `POST /iserver/questions/suppress`: confirms these prompts automatically for the
    /// rest of the brokerage session (each call replaces the previous list). Prefer a
    /// [`PromptPolicy`], which answers per order.
    pub async fn suppress_questions(&self, ids: &[PromptId]) -> Result<SuppressResponse> {
        self.call(
            Endpoint::SuppressQuestions,
            Method::POST,
            "/iserver/questions/suppress",
            Some(&SuppressRequest::new(ids.to_vec())),
        )
        .await
    }

    /// `POST /iserver/questions/suppress/reset`: prompts are asked again.
    pub async fn reset_suppressed_questions(&self) -> Result<SuppressResponse> {
        self.call::<(), _>(
            Endpoint::ResetSuppressedQuestions,
            Method::POST,
            "/iserver/questions/suppress/reset",
            None,
        )
        .await
    }

    /// `POST /iserver/notification`: answers a server prompt (an advanced reject, see
    /// [`Placement::Rejected`], or an `ntf` websocket message). Never retried.
    pub async fn answer_notification(
        &self,
        answer: &NotificationRequest,
    ) -> Result<NotificationResponse> {
        self.call(
            Endpoint::AnswerNotification,
            Method::POST,
            "/iserver/notification",
            Some(answer),
        )
        .await
        .map_err(|e| rejected(e, None))
    }

    // -- the flow -----------------------------------------------------------------------

    /// Places a request and follows it to an outcome.
    async fn submit(
        &self,
        account: &AccountId,
        body: OrdersRequest,
        policy: PromptPolicy,
        lookup: LookupPolicy,
    ) -> Result<Placement> {
        let coids: Vec<String> = body.orders.iter().filter_map(|o| o.c_oid.clone()).collect();
        if coids.is_empty() || coids.len() != body.orders.len() {
            return Err(Error::InvalidOrder("every order needs a cOID".into()));
        }
        // IBKR wants /iserver/accounts first; a failure there sends no order.
        if let Err(e) = self.prime_accounts().await {
            return Err(Error::OrderNotPlaced {
                coid: coids[0].clone(),
                source: Box::new(e),
            });
        }
        let pending = Pending {
            account: account.clone(),
            coids,
            policy,
            lookup,
            placed: Vec::new(),
        };
        let answer = self.place_orders(account, &body).await;
        self.follow(pending, answer, 0, None).await
    }

    /// Follows an answer (of a placement, or of the confirmation of reply id `reply`)
    /// through prompts to an outcome.
    async fn follow(
        &self,
        mut pending: Pending,
        mut answer: Result<OrderResponse>,
        mut rounds: u32,
        mut reply: Option<String>,
    ) -> Result<Placement> {
        loop {
            let response = match answer {
                Ok(r) => r,
                Err(e) => return self.settle(pending, e, reply.as_deref()).await,
            };
            match next_step(&response, &pending.policy, rounds, MAX_REPLY_ROUNDS) {
                Step::Done(submitted) => {
                    let new = placed_orders(&submitted, &pending);
                    pending.placed.extend(new);
                    return Ok(Placement::Placed(pending.placed));
                }
                Step::Confirm {
                    reply_id,
                    submitted,
                } => {
                    let new = placed_orders(&submitted, &pending);
                    pending.placed.extend(new);
                    tracing::info!(coid = %pending.first_coid(), round = rounds + 1, "confirming an order prompt");
                    answer = self.reply(&reply_id, true).await;
                    rounds += 1;
                    reply = Some(reply_id);
                }
                Step::AskCaller { prompt, submitted } => {
                    let new = placed_orders(&submitted, &pending);
                    pending.placed.extend(new);
                    let coid = pending.first_coid();
                    let placed = pending.placed.clone();
                    return Ok(Placement::NeedsConfirmation {
                        prompts: prompt.message_ids.clone(),
                        messages: prompt.message.clone(),
                        coid,
                        placed,
                        reply_id: ReplyId {
                            id: prompt.id,
                            pending,
                            round: rounds,
                        },
                    });
                }
                Step::TooManyPrompts => {
                    return Err(Error::TooManyPrompts {
                        coid: pending.first_coid(),
                        rounds,
                    });
                }
                Step::Rejected { message, submitted } => {
                    let new = placed_orders(&submitted, &pending);
                    pending.placed.extend(new);
                    return Err(Error::OrderRejected {
                        endpoint: match &reply {
                            Some(id) => format!("POST /iserver/reply/{id}"),
                            None => Endpoint::PlaceOrders.name().to_string(),
                        },
                        message,
                        coid: Some(pending.first_coid()),
                        placed: pending.placed,
                    });
                }
                Step::AdvancedReject(reject) => {
                    return Ok(Placement::Rejected {
                        reject,
                        coid: pending.first_coid(),
                    });
                }
                Step::Unclear => {
                    let e = Error::Decode {
                        endpoint: Endpoint::PlaceOrders.name().to_string(),
                        message: "the answer names no order, prompt or error".into(),
                        snippet: serde_json::to_string(&response).unwrap_or_default(),
                    };
                    return self.settle(pending, e, reply.as_deref()).await;
                }
            }
        }
    }

    /// The outcome after a failed request (a placement, or the confirmation of reply
    /// id `reply`): a typed error when it is certain, else a look-up by cOID.
    async fn settle(
        &self,
        pending: Pending,
        error: Error,
        reply: Option<&str>,
    ) -> Result<Placement> {
        let coid = pending.first_coid();
        match classify_failure(&error, reply.is_some()) {
            Certainty::Rejected(message) => Err(match error {
                Error::OrderRejected { endpoint, .. } | Error::Gateway { endpoint, .. } => {
                    Error::OrderRejected {
                        endpoint,
                        message,
                        coid: Some(coid),
                        placed: pending.placed,
                    }
                }
                other => other,
            }),
            Certainty::ReplyExpired(message) => {
                let reply_id = reply.unwrap_or_default().to_string();
                Err(Error::ReplyExpired {
                    endpoint: format!("POST /iserver/reply/{reply_id}"),
                    reply_id,
                    message,
                })
            }
            // Nothing of this request was placed; but if an earlier answer of the same
            // placement accepted orders, the whole picture is looked up.
            Certainty::NotPlaced if pending.placed.is_empty() => Err(Error::OrderNotPlaced {
                coid,
                source: Box::new(error),
            }),
            Certainty::NotPlaced | Certainty::Uncertain => {
                tracing::warn!(coid = %coid, "outcome of an order request unknown ({error}); looking it up by cOID");
                self.look_up(pending, error.to_string()).await
            }
        }
    }

    /// Looks the cOIDs of `pending` up in live orders and trades, within its policy.
    async fn look_up(&self, pending: Pending, cause: String) -> Result<Placement> {
        // Never a cached read: it could predate the order.
        let fresh = self.with_cached_reads(false);
        let mut last = Lookup {
            found: Vec::new(),
            missing: pending.coids.clone(),
            executed_without_id: Vec::new(),
        };
        let mut problems: Vec<String> = Vec::new();
        for attempt in 0..pending.lookup.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(pending.lookup.pause).await;
            }
            let live = match fresh.live_orders(&LiveOrdersQuery::new()).await {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!("live orders: {e}"));
                    LiveOrders::default()
                }
            };
            let mut found = match_lookup(&pending.coids, &live, &[]);
            if !found.complete() {
                match fresh.trades(None).await {
                    Ok(trades) => found = match_lookup(&pending.coids, &live, &trades),
                    Err(e) => problems.push(format!("trades: {e}")),
                }
            }
            if found.complete() {
                tracing::info!(coid = %pending.first_coid(), "order found by its cOID after an uncertain outcome");
                let mut placed = pending.placed;
                for o in found.found {
                    if !placed.iter().any(|p| p.order_id == o.order_id) {
                        placed.push(o);
                    }
                }
                return Ok(Placement::Placed(placed));
            }
            last = found;
        }
        let mut detail = format!(
            "{cause}; not found by cOID after {} look-up(s): {}",
            pending.lookup.attempts.max(1),
            last.missing.join(", ")
        );
        if !last.executed_without_id.is_empty() {
            detail.push_str(&format!(
                "; executions without an order id were seen for {}",
                last.executed_without_id.join(", ")
            ));
        }
        if let Some(p) = problems.last() {
            detail.push_str(&format!("; last look-up error: {p}"));
        }
        let mut found = pending.placed;
        found.extend(last.found);
        Err(Error::OrderOutcomeUnknown {
            coid: pending.coids.first().cloned().unwrap_or_default(),
            cause: detail,
            found,
        })
    }
}

fn first_coid(orders: &OrdersRequest) -> Option<&str> {
    orders.orders.first().and_then(|o| o.c_oid.as_deref())
}

/// The accepted orders of an answer, with their cOIDs: IBKR's `local_order_id` when it
/// echoes it, else the request's cOID when the request has one order (or as many
/// orders as the answer, in order).
fn placed_orders(submitted: &[OrderSubmitted], pending: &Pending) -> Vec<PlacedOrder> {
    let positional = submitted.len() == pending.coids.len();
    submitted
        .iter()
        .enumerate()
        .map(|(i, s)| PlacedOrder {
            order_id: s.order_id,
            status: Some(s.order_status.clone()),
            coid: s
                .local_order_id
                .clone()
                .or_else(|| positional.then(|| pending.coids[i].clone())),
            recovered: false,
        })
        .collect()
}
