//! Orders and trades: placing, confirming, previewing, modifying and cancelling orders,
//! and monitoring live orders, order status and executions.
//!
//! Endpoints: `POST /iserver/account/{accountId}/orders` and
//! `POST /iserver/account/orders/{faGroup}` ([`OrdersRequest`] → [`OrderResponse`]),
//! `POST /iserver/reply/{replyId}` ([`ReplyRequest`] → [`OrderResponse`]),
//! `POST /iserver/account/{accountId}/orders/whatif` ([`OrdersRequest`] → [`OrderPreview`]),
//! `POST /iserver/account/{accountId}/order/{orderId}` ([`OrderRequest`] → [`OrderResponse`]),
//! `DELETE /iserver/account/{accountId}/order/{orderId}` ([`CancelOrderQuery`] →
//! [`CancelOrderResponse`]), `GET /iserver/account/orders` ([`LiveOrdersQuery`] →
//! [`LiveOrders`]), `GET /iserver/account/order/status/{orderId}` ([`OrderStatusDetail`]),
//! `GET /iserver/account/trades` ([`TradesQuery`] → a list of [`Trade`]s),
//! `POST /iserver/questions/suppress` ([`SuppressRequest`] → [`SuppressResponse`]),
//! `POST /iserver/questions/suppress/reset` ([`SuppressResponse`]) and
//! `POST /iserver/notification` ([`NotificationRequest`] → [`NotificationResponse`]).
//!
//! Placing an order is a dialogue: the answer is a list whose items are either a
//! submitted order, or a *prompt* (a question, identified by [`PromptId`]s, that must be
//! confirmed through `/iserver/reply/{id}` before the order goes out), or an error. IBKR
//! also answers a bare object (not a list) for errors and for the "advanced order
//! reject" prompt; [`OrderResponse`] reads every form.
//!
//! An order type is spelled differently depending on where it is read: requests say
//! `"orderType": "LMT"`, live orders `"orderType": "Limit"` and `"origOrderType": "LIMIT"`,
//! the order-status answer `"order_type": "Market"` or `"MARKET"`. Answers keep the text
//! as sent; [`OrderType::from_any`] reads every spelling.
//!
//! ```
//! use ibkr_model::contracts::Conid;
//! use ibkr_model::orders::{OrderRequest, OrderResponse, OrdersRequest, PromptId, Side};
//! use rust_decimal::Decimal;
//!
//! let order = OrderRequest::limit(Conid(265598), Side::Buy, Decimal::from(10), Decimal::new(16550, 2))
//!     .with_coid("my-order-1");
//! let body = serde_json::to_string(&OrdersRequest::single(order)).unwrap();
//! assert_eq!(body, r#"{"orders":[{"conid":265598,"cOID":"my-order-1","orderType":"LMT","price":165.5,"side":"BUY","tif":"DAY","quantity":10}]}"#);
//!
//! let answer: OrderResponse = serde_json::from_str(r#"[{"id":"07a13a5a","message":["No market data.\nAre you sure?"],
//!     "isSuppressed":false,"messageIds":["o354"]}]"#).unwrap();
//! let prompt = answer.prompt().unwrap();
//! assert_eq!(prompt.id, "07a13a5a");
//! assert_eq!(prompt.message_ids, [PromptId::NoMarketData]);
//! ```

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::Extra;
use crate::accounts::{AccountId, DisplayAmount};
use crate::contracts::{Conid, SecType, code_enum, numeric_id};
use crate::error::ErrorResponse;
use crate::portfolio::MixedDecimal;
use crate::time::EpochMillis;

// ---------------------------------------------------------------------------------------
// Identifiers and codes

/// An order id assigned by IBKR. It is sent as a JSON number in most answers
/// (`"orderId": 473740665`) and as a string in the placement answers
/// (`"order_id": "123456789"`); this type reads both and writes a number, and the fields
/// sent as strings write it back as a string through their own serde helper.
///
/// ```
/// use ibkr_model::orders::OrderId;
/// let a: OrderId = serde_json::from_str("1370093239").unwrap();
/// let b: OrderId = serde_json::from_str(r#""1370093239""#).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.to_string(), "1370093239");
/// assert_eq!("42".parse::<OrderId>().unwrap(), OrderId(42));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OrderId(pub i64);

numeric_id!(OrderId, "order id", "an order id");

code_enum! {
    /// The side of an order (`side`). Requests use `BUY` and `SELL`; live orders also
    /// report option exercises and assignments. The order-status answer has been seen
    /// with the short forms `B` and `S` (kept in `Unknown`; see [`Side::direction`]).
    ///
    /// ```
    /// use ibkr_model::orders::Side;
    /// assert_eq!(Side::from_code("BUY"), Side::Buy);
    /// assert_eq!(Side::from_code("S").direction(), Some(Side::Sell));
    /// assert_eq!(serde_json::to_string(&Side::Sell).unwrap(), r#""SELL""#);
    /// ```
    Side {
        /// `BUY`.
        Buy = "BUY",
        /// `SELL`.
        Sell = "SELL",
        /// `EXER`: an option exercise (live orders only).
        Exercise = "EXER",
        /// `ASSN`: an option assignment (live orders only).
        Assignment = "ASSN",
    }
}

impl Side {
    /// Buy or sell, whatever the spelling (`BUY`, `Buy`, `B`, `BOT`, `SELL`, `S`, `SLD`, ...);
    /// `None` for exercises, assignments and unknown codes.
    pub fn direction(&self) -> Option<Side> {
        match self {
            Side::Buy => Some(Side::Buy),
            Side::Sell => Some(Side::Sell),
            Side::Unknown(code) => match code.to_ascii_uppercase().as_str() {
                "B" | "BOT" | "BUY" | "BOUGHT" => Some(Side::Buy),
                "S" | "SLD" | "SELL" | "SOLD" => Some(Side::Sell),
                _ => None,
            },
            _ => None,
        }
    }

    /// The other side: `BUY` for `SELL` and the reverse; `None` for other codes.
    pub fn opposite(&self) -> Option<Side> {
        match self.direction()? {
            Side::Buy => Some(Side::Sell),
            _ => Some(Side::Buy),
        }
    }
}

code_enum! {
    /// The side of an execution in `/iserver/account/trades` (`side`).
    ///
    /// ```
    /// use ibkr_model::orders::{ExecSide, Side};
    /// assert_eq!(ExecSide::from_code("B").side(), Some(Side::Buy));
    /// assert_eq!(ExecSide::from_code("X").side(), None);
    /// ```
    ExecSide {
        /// `B`: bought.
        Buy = "B",
        /// `S`: sold.
        Sell = "S",
        /// `X`: an option expired.
        Expired = "X",
        /// `BOT`: bought (seen in one sanitised recording).
        Bot = "BOT",
        /// `SLD`: sold (the counterpart of `BOT`).
        Sld = "SLD",
    }
}

impl ExecSide {
    /// Buy or sell; `None` for expiries and unknown codes.
    pub fn side(&self) -> Option<Side> {
        match self {
            ExecSide::Buy | ExecSide::Bot => Some(Side::Buy),
            ExecSide::Sell | ExecSide::Sld => Some(Side::Sell),
            ExecSide::Expired => None,
            ExecSide::Unknown(code) => Side::Unknown(code.clone()).direction(),
        }
    }
}

code_enum! {
    /// An order type as a request names it (`orderType`). IBKR's reference lists `LMT`,
    /// `MKT`, `STP`, `STOP_LIMIT`, `MIDPRICE`, `TRAIL` and `TRAILLMT`; its order-types
    /// page also submits `MIT`, `LIT`, `REL`, `MOC` and `LOC`. A stop-limit order is
    /// `STOP_LIMIT` in the Web API: `STP LMT` is the TWS API spelling, which no Web API
    /// source uses; it reads as `Unknown` here, and [`OrderType::from_any`] understands it.
    /// Answers name types differently (see the [module docs](crate::orders)).
    ///
    /// ```
    /// use ibkr_model::orders::OrderType;
    /// assert_eq!(OrderType::from_code("STOP_LIMIT"), OrderType::StopLimit);
    /// assert_eq!(OrderType::StopLimit.to_string(), "STOP_LIMIT");
    /// assert_eq!(OrderType::from_any("Stop Limit"), Some(OrderType::StopLimit));
    /// assert_eq!(OrderType::from_any("MARKET"), Some(OrderType::Market));
    /// ```
    OrderType {
        /// `MKT`: market.
        Market = "MKT",
        /// `LMT`: limit (`price` is the limit price).
        Limit = "LMT",
        /// `STP`: stop (`price` is the stop price).
        Stop = "STP",
        /// `STOP_LIMIT`: stop limit (`price` the limit price, `auxPrice` the stop price).
        StopLimit = "STOP_LIMIT",
        /// `MIDPRICE`: fills at the midpoint or better (`price` is an optional cap).
        MidPrice = "MIDPRICE",
        /// `TRAIL`: trailing stop (`trailingAmt` and `trailingType` required).
        Trail = "TRAIL",
        /// `TRAILLMT`: trailing stop limit (`price`, `auxPrice`, `trailingAmt` and
        /// `trailingType` required).
        TrailLimit = "TRAILLMT",
        /// `MIT`: market if touched.
        MarketIfTouched = "MIT",
        /// `LIT`: limit if touched.
        LimitIfTouched = "LIT",
        /// `REL`: relative (pegged to the primary quote).
        Relative = "REL",
        /// `MOC`: market on close.
        MarketOnClose = "MOC",
        /// `LOC`: limit on close.
        LimitOnClose = "LOC",
    }
}

impl OrderType {
    /// The order type named by any of IBKR's spellings: the request codes (`STOP_LIMIT`),
    /// the words of live orders and order status (`Stop Limit`, `MARKET`), the names of
    /// the contract rules (`stop_limit`, `trailing_stop`, `marketonclose`) and the TWS
    /// codes (`STP LMT`). `None` when the text names no type known here.
    pub fn from_any(text: &str) -> Option<OrderType> {
        let key: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "mkt" | "market" => OrderType::Market,
            "lmt" | "limit" => OrderType::Limit,
            "stp" | "stop" => OrderType::Stop,
            "stoplimit" | "stplmt" | "stplimit" => OrderType::StopLimit,
            "midprice" | "mid" => OrderType::MidPrice,
            "trail" | "trailingstop" | "trailstop" => OrderType::Trail,
            "traillmt" | "traillimit" | "trailingstoplimit" | "trailstoplimit" => {
                OrderType::TrailLimit
            }
            "mit" | "marketiftouched" => OrderType::MarketIfTouched,
            "lit" | "limitiftouched" => OrderType::LimitIfTouched,
            "rel" | "relative" => OrderType::Relative,
            "moc" | "marketonclose" => OrderType::MarketOnClose,
            "loc" | "limitonclose" => OrderType::LimitOnClose,
            _ => return None,
        })
    }

    /// Whether the type needs a limit `price`.
    pub fn needs_price(&self) -> bool {
        matches!(
            self,
            OrderType::Limit
                | OrderType::Stop
                | OrderType::StopLimit
                | OrderType::TrailLimit
                | OrderType::LimitIfTouched
                | OrderType::LimitOnClose
        )
    }

    /// Whether the type needs a stop price in `auxPrice`.
    pub fn needs_aux_price(&self) -> bool {
        matches!(self, OrderType::StopLimit | OrderType::TrailLimit)
    }

    /// Whether the type needs `trailingAmt` and `trailingType`.
    pub fn is_trailing(&self) -> bool {
        matches!(self, OrderType::Trail | OrderType::TrailLimit)
    }
}

code_enum! {
    /// Time in force (`tif`, `timeInForce`).
    ///
    /// ```
    /// use ibkr_model::orders::Tif;
    /// assert_eq!(Tif::from_code("GTC"), Tif::Gtc);
    /// assert_eq!(Tif::Day.to_string(), "DAY");
    /// ```
    Tif {
        /// `DAY`: cancelled at the end of the day's regular session if not filled.
        Day = "DAY",
        /// `GTC`: good till cancelled.
        Gtc = "GTC",
        /// `IOC`: immediate or cancel; what is not filled at once is cancelled.
        Ioc = "IOC",
        /// `OPG`: at the opening (market-on-open, limit-on-open).
        Opg = "OPG",
        /// `GTD`: good till a date (listed in the contract rules' `tifTypes`).
        Gtd = "GTD",
        /// `PAX`: listed by IBKR's reference (crypto orders at Paxos).
        Pax = "PAX",
        /// `OVT`: the overnight session only.
        Overnight = "OVT",
        /// `OND`: overnight plus the next day.
        OvernightDay = "OND",
        /// `CLOSE`: sent back in `timeInForce` of finished live orders (recorded for a
        /// filled day order).
        Close = "CLOSE",
    }
}

code_enum! {
    /// How the trailing amount of a trailing order is expressed (`trailingType`).
    TrailingType {
        /// `amt`: an amount in the price's currency.
        Amount = "amt",
        /// `%`: a percentage.
        Percent = "%",
    }
}

code_enum! {
    /// The status of an order (`order_status`, `status`).
    ///
    /// ```
    /// use ibkr_model::orders::OrderStatus;
    /// let s = OrderStatus::from_code("PreSubmitted");
    /// assert!(s.is_working());
    /// assert!(OrderStatus::Filled.is_final());
    /// assert_eq!(s.filter().unwrap().to_string(), "pre_submitted");
    /// ```
    OrderStatus {
        /// `Inactive`: not working (rejected, invalid, or not yet transmitted).
        Inactive = "Inactive",
        /// `PendingSubmit`: transmitted, not yet accepted by the destination.
        PendingSubmit = "PendingSubmit",
        /// `PreSubmitted`: accepted by IBKR, held until its trigger condition is met.
        PreSubmitted = "PreSubmitted",
        /// `Submitted`: accepted and working at the destination.
        Submitted = "Submitted",
        /// `Filled`: completely filled.
        Filled = "Filled",
        /// `PendingCancel`: cancellation requested, not yet confirmed; fills may still come.
        PendingCancel = "PendingCancel",
        /// `PreCancelled`: cancellation accepted by the system but not yet recognised.
        PreCancelled = "PreCancelled",
        /// `Cancelled`: the rest of the order is cancelled (also when rejected).
        Cancelled = "Cancelled",
        /// `WarnState`: the order carries a warning (e.g. basket orders).
        WarnState = "WarnState",
        /// `ApiPending`: created through an API, not yet transmitted.
        ApiPending = "ApiPending",
        /// `ApiCancelled`: cancelled before it was transmitted.
        ApiCancelled = "ApiCancelled",
    }
}

impl OrderStatus {
    /// Whether the order may still trade (pending, pre-submitted, submitted or being
    /// cancelled).
    pub fn is_working(&self) -> bool {
        matches!(
            self,
            OrderStatus::PendingSubmit
                | OrderStatus::PreSubmitted
                | OrderStatus::Submitted
                | OrderStatus::PendingCancel
                | OrderStatus::PreCancelled
                | OrderStatus::ApiPending
        )
    }

    /// Whether the order is over: filled, cancelled or inactive.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Cancelled
                | OrderStatus::ApiCancelled
                | OrderStatus::Inactive
        )
    }

    /// The `filters` value of `/iserver/account/orders` selecting this status.
    pub fn filter(&self) -> Option<OrderFilter> {
        Some(match self {
            OrderStatus::Inactive => OrderFilter::Inactive,
            OrderStatus::PendingSubmit => OrderFilter::PendingSubmit,
            OrderStatus::PreSubmitted => OrderFilter::PreSubmitted,
            OrderStatus::Submitted => OrderFilter::Submitted,
            OrderStatus::Filled => OrderFilter::Filled,
            OrderStatus::PendingCancel => OrderFilter::PendingCancel,
            OrderStatus::PreCancelled => OrderFilter::PreCancelled,
            OrderStatus::Cancelled => OrderFilter::Cancelled,
            OrderStatus::WarnState => OrderFilter::WarnState,
            _ => return None,
        })
    }
}

code_enum! {
    /// A value of the `filters` parameter of `GET /iserver/account/orders`.
    OrderFilter {
        /// `inactive`.
        Inactive = "inactive",
        /// `pending_submit`.
        PendingSubmit = "pending_submit",
        /// `pre_submitted`.
        PreSubmitted = "pre_submitted",
        /// `submitted`.
        Submitted = "submitted",
        /// `filled`.
        Filled = "filled",
        /// `pending_cancel`.
        PendingCancel = "pending_cancel",
        /// `pre_cancelled`.
        PreCancelled = "pre_cancelled",
        /// `cancelled`.
        Cancelled = "cancelled",
        /// `warn_state`.
        WarnState = "warn_state",
        /// `sort_by_time`: not a status; sorts the answer by time.
        SortByTime = "sort_by_time",
    }
}

impl OrderFilter {
    /// The status this filter selects; `None` for `sort_by_time`.
    pub fn status(&self) -> Option<OrderStatus> {
        Some(match self {
            OrderFilter::Inactive => OrderStatus::Inactive,
            OrderFilter::PendingSubmit => OrderStatus::PendingSubmit,
            OrderFilter::PreSubmitted => OrderStatus::PreSubmitted,
            OrderFilter::Submitted => OrderStatus::Submitted,
            OrderFilter::Filled => OrderStatus::Filled,
            OrderFilter::PendingCancel => OrderStatus::PendingCancel,
            OrderFilter::PreCancelled => OrderStatus::PreCancelled,
            OrderFilter::Cancelled => OrderStatus::Cancelled,
            OrderFilter::WarnState => OrderStatus::WarnState,
            _ => return None,
        })
    }
}

code_enum! {
    /// The id of an order-reply prompt (`messageIds` of a prompt, `messageId` of an
    /// advanced reject), which `/iserver/questions/suppress` takes to auto-confirm such
    /// prompts for the rest of the brokerage session. The table is IBKR's list of
    /// suppressible ids.
    ///
    /// ```
    /// use ibkr_model::orders::PromptId;
    /// assert_eq!(PromptId::from_code("o354"), PromptId::NoMarketData);
    /// assert_eq!(PromptId::PriceManagementAlgo.as_str(), "p12");
    /// assert_eq!(PromptId::from_code("o999"), PromptId::Unknown("o999".into()));
    /// ```
    PromptId {
        /// `o163`: the order's price exceeds the price percentage limit (a precautionary
        /// setting: "price exceeds the Percentage constraint of 3%").
        PricePercentageLimit = "o163",
        /// `o354`: the order is submitted without market data for the instrument.
        NoMarketData = "o354",
        /// `o382`: a value of the order exceeds the tick size limit.
        TickSizeLimit = "o382",
        /// `o383`: the order's size exceeds the Size Limit (a precautionary setting).
        SizeLimit = "o383",
        /// `o403`: the order will most likely trigger and fill immediately.
        TriggerAndFill = "o403",
        /// `o451`: the order's value estimate exceeds the Total Value Limit (a
        /// precautionary setting).
        TotalValueLimit = "o451",
        /// `o2136`: mixed allocation order warning.
        MixedAllocation = "o2136",
        /// `o2137`: cross side order warning (an order on the other side is working).
        CrossSide = "o2137",
        /// `o2165`: the instrument cannot be traded in fractions outside regular
        /// trading hours.
        FractionsOutsideRth = "o2165",
        /// `o10082`: called bond warning.
        CalledBond = "o10082",
        /// `o10138`: a size modification exceeds the size modification limit.
        SizeModificationLimit = "o10138",
        /// `o10151`: warns about the risks of market orders.
        MarketOrderRisks = "o10151",
        /// `o10152`: warns about the risks of stop orders once they become active.
        StopOrderRisks = "o10152",
        /// `o10153`: confirm the mandatory cap price IBKR may set on the order, which
        /// can keep an otherwise marketable order from trading.
        MandatoryCapPrice = "o10153",
        /// `o10164`: cash quantity details are provided on a best-efforts basis only.
        CashQuantity = "o10164",
        /// `o10223`: cash quantity order confirmation: such orders are simulated and not
        /// guaranteed.
        CashQuantityOrder = "o10223",
        /// `o10288`: warns about the risks of market orders for crypto currencies.
        CryptoMarketOrderRisks = "o10288",
        /// `o10331`: a stop order is being submitted; be aware of the stop order types
        /// and their risks.
        StopOrderTypes = "o10331",
        /// `o10332`: OSL Digital Securities crypto order warning.
        OslCryptoOrder = "o10332",
        /// `o10333`: option exercise at the money warning.
        ExerciseAtTheMoney = "o10333",
        /// `o10334`: the order will go to the current omnibus account instead of the
        /// selected global account.
        OmnibusAccount = "o10334",
        /// `o10335`: serves IBKR's internal Rapid Entry window.
        RapidEntry = "o10335",
        /// `o10336`: the security has limited liquidity; closing a position may be hard.
        LimitedLiquidity = "o10336",
        /// `p6`: the order will be distributed over several accounts (allocation).
        MultipleAccounts = "p6",
        /// `p12`: the limit price may be too far from the reference price and the order
        /// rejected; use the Price Management Algo? (also sent as an advanced reject).
        PriceManagementAlgo = "p12",
    }
}

impl PromptId {
    /// Every prompt id IBKR documents as suppressible.
    pub const KNOWN: [PromptId; 25] = [
        PromptId::PricePercentageLimit,
        PromptId::NoMarketData,
        PromptId::TickSizeLimit,
        PromptId::SizeLimit,
        PromptId::TriggerAndFill,
        PromptId::TotalValueLimit,
        PromptId::MixedAllocation,
        PromptId::CrossSide,
        PromptId::FractionsOutsideRth,
        PromptId::CalledBond,
        PromptId::SizeModificationLimit,
        PromptId::MarketOrderRisks,
        PromptId::StopOrderRisks,
        PromptId::MandatoryCapPrice,
        PromptId::CashQuantity,
        PromptId::CashQuantityOrder,
        PromptId::CryptoMarketOrderRisks,
        PromptId::StopOrderTypes,
        PromptId::OslCryptoOrder,
        PromptId::ExerciseAtTheMoney,
        PromptId::OmnibusAccount,
        PromptId::RapidEntry,
        PromptId::LimitedLiquidity,
        PromptId::MultipleAccounts,
        PromptId::PriceManagementAlgo,
    ];
}

/// A decimal IBKR sends as a string that may be empty (`"price": ""` for a market
/// order in `/iserver/account/orders`), or as a number (the same field in the `sor`
/// websocket topic). The form is kept, so that re-encoding gives back what was received.
///
/// ```
/// use ibkr_model::orders::LooseDecimal;
/// use rust_decimal::Decimal;
/// let a: LooseDecimal = serde_json::from_str(r#""0.90000""#).unwrap();
/// let b: LooseDecimal = serde_json::from_str("372").unwrap();
/// let c: LooseDecimal = serde_json::from_str(r#""""#).unwrap();
/// assert_eq!(a.value(), Some(Decimal::new(9, 1)));
/// assert_eq!(b.value(), Some(Decimal::from(372)));
/// assert_eq!(c.value(), None);
/// assert_eq!(serde_json::to_string(&a).unwrap(), r#""0.90000""#);
/// assert_eq!(serde_json::to_string(&c).unwrap(), r#""""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LooseDecimal {
    /// Sent as a JSON number.
    Number(Decimal),
    /// Sent as a JSON string holding a number.
    Text(Decimal),
    /// Sent as an empty (or blank) string: no value.
    #[default]
    Empty,
}

impl LooseDecimal {
    /// The value, whatever its form; `None` when empty.
    pub fn value(self) -> Option<Decimal> {
        match self {
            LooseDecimal::Number(d) | LooseDecimal::Text(d) => Some(d),
            LooseDecimal::Empty => None,
        }
    }

    /// A value written as a string, as the REST answers do.
    pub fn text(d: Decimal) -> Self {
        LooseDecimal::Text(d)
    }
}

impl From<Option<Decimal>> for LooseDecimal {
    fn from(d: Option<Decimal>) -> Self {
        d.map_or(LooseDecimal::Empty, LooseDecimal::Text)
    }
}

impl Serialize for LooseDecimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LooseDecimal::Number(d) => crate::num::number::serialize(d, s),
            LooseDecimal::Text(d) => crate::num::string::serialize(d, s),
            LooseDecimal::Empty => s.serialize_str(""),
        }
    }
}

impl<'de> Deserialize<'de> for LooseDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if s.trim().is_empty() => Ok(LooseDecimal::Empty),
            serde_json::Value::String(s) => crate::num::parse_decimal(&s)
                .map(LooseDecimal::Text)
                .map_err(|e| de::Error::custom(format!("{s:?} is not a decimal number: {e}"))),
            serde_json::Value::Number(n) => crate::num::decimal_from_number(&n)
                .map(LooseDecimal::Number)
                .map_err(|e| de::Error::custom(format!("{n}: {e}"))),
            other => Err(de::Error::custom(format!(
                "expected a decimal number or a (possibly empty) numeric string, got {other}"
            ))),
        }
    }
}

/// Serde helper for an optional list of [`OrderFilter`]s sent as one comma-separated
/// query value (`filters=filled,cancelled`).
mod filter_list {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::OrderFilter;

    pub fn serialize<S: Serializer>(v: &[OrderFilter], s: S) -> Result<S::Ok, S::Error> {
        crate::contracts::comma_list::serialize(v, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OrderFilter>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(OrderFilter::from_code)
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Order tickets: POST /iserver/account/{acct}/orders, .../orders/whatif, .../order/{id}

/// One order ticket: an item of [`OrdersRequest`] (placing and previewing orders), and
/// the whole body of `POST /iserver/account/{accountId}/order/{orderId}` (modifying an
/// order, which must repeat every field of the original ticket).
///
/// Only the fields set are sent (no `null`s). Build it with a constructor
/// ([`OrderRequest::market`], [`OrderRequest::limit`], ...) and the `with_*` methods or
/// field updates; [`OrderRequest::validate`] checks the combinations IBKR documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderRequest {
    /// The account to trade in; the selected account when omitted.
    #[serde(rename = "acctId", default, skip_serializing_if = "Option::is_none")]
    pub acct_id: Option<AccountId>,
    /// The contract; using it routes the order SMART even if `conidex` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conid: Option<Conid>,
    /// Contract and routing, `265598@ISLAND`, or a combo
    /// `{spread_conid};;;{leg_conid}/{ratio},...`; replaces `conid` for directed orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conidex: Option<String>,
    /// Contract and type as `conid:type`, e.g. `265598:STK`.
    #[serde(rename = "secType", default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<String>,
    /// Customer order id, unique over 24 hours; echoed as `order_ref` of trades and
    /// `local_order_id` of the placement answer. Not set on bracket children.
    #[serde(rename = "cOID", default, skip_serializing_if = "Option::is_none")]
    pub c_oid: Option<String>,
    /// On the children of a bracket: the `cOID` of the parent order.
    #[serde(rename = "parentId", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The order type.
    #[serde(rename = "orderType")]
    pub order_type: OrderType,
    /// Listing exchange (`SMART` by default).
    #[serde(
        rename = "listingExchange",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub listing_exchange: Option<String>,
    /// Whether all orders of the request form one OCA group.
    #[serde(
        rename = "isSingleGroup",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_single_group: Option<bool>,
    /// Whether the order may execute outside regular trading hours.
    #[serde(
        rename = "outsideRTH",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub outside_rth: Option<bool>,
    /// Whether the order must fill entirely or not at all.
    #[serde(rename = "allOrNone", default, skip_serializing_if = "Option::is_none")]
    pub all_or_none: Option<bool>,
    /// Limit price (`LMT`, `STOP_LIMIT`, `TRAILLMT`, `LOC`, `LIT`), stop price (`STP`),
    /// or price cap (`MIDPRICE`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub price: Option<Decimal>,
    /// Stop price of `STOP_LIMIT` and `TRAILLMT` orders.
    #[serde(
        rename = "auxPrice",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub aux_price: Option<Decimal>,
    /// Buy or sell.
    pub side: Side,
    /// The contract's symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticker: Option<String>,
    /// Time in force.
    pub tif: Tif,
    /// Trailing amount of `TRAIL` and `TRAILLMT` orders (an amount or a percentage, per
    /// `trailingType`).
    #[serde(
        rename = "trailingAmt",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub trailing_amt: Option<Decimal>,
    /// How `trailingAmt` is expressed.
    #[serde(
        rename = "trailingType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trailing_type: Option<TrailingType>,
    /// Internal tag of the order-entry screen, e.g. `QuickTrade`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Size in units of the instrument (fractional for fractional orders); omitted when
    /// `cashQty` or `fxQty` gives the size.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub quantity: Option<Decimal>,
    /// Size as an amount of money (stocks, forex, crypto), instead of `quantity`.
    #[serde(
        rename = "cashQty",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub cash_qty: Option<Decimal>,
    /// Amount of a currency conversion (`isCcyConv`), instead of `quantity`.
    #[serde(
        rename = "fxQty",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub fx_qty: Option<Decimal>,
    /// Whether to use the Price Management Algo.
    #[serde(
        rename = "useAdaptive",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_adaptive: Option<bool>,
    /// Whether a forex order is a currency conversion (no virtual forex position).
    #[serde(rename = "isCcyConv", default, skip_serializing_if = "Option::is_none")]
    pub is_ccy_conv: Option<bool>,
    /// Advisors: allocation method of a group order, e.g. `NetLiquidity`,
    /// `AvailableEquity`, `EqualQuantity`, `PctChange`.
    #[serde(
        rename = "allocationMethod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allocation_method: Option<String>,
    /// An IB Algo, e.g. `Vwap` (see `/iserver/contract/{conid}/algos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The algo's parameters (strings or booleans, per algo).
    #[serde(
        rename = "strategyParameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub strategy_parameters: Option<Extra>,
    /// Whether the order was entered by a person (`true`) or a program (`false`);
    /// required for US futures and futures options (CME Rule 536-B).
    #[serde(
        rename = "manualIndicator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub manual_indicator: Option<bool>,
    /// Who operates the submitting program; required with `manualIndicator`.
    #[serde(
        rename = "extOperator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ext_operator: Option<String>,
    /// Tax lots chosen by the Tax Optimizer.
    #[serde(
        rename = "taxOptimizerId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_optimizer_id: Option<String>,
    /// Modifications only: `true` pauses a working order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated: Option<bool>,
    /// Advisors: how the order is allocated among sub-accounts.
    #[serde(
        rename = "jsonPayload",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub json_payload: Option<OrderJsonPayload>,
    /// Fields not modelled above, sent as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderRequest {
    /// An order with its required fields: contract, side, size, type and time in force.
    pub fn new(
        conid: Conid,
        side: Side,
        quantity: Decimal,
        order_type: OrderType,
        tif: Tif,
    ) -> Self {
        OrderRequest {
            acct_id: None,
            conid: Some(conid),
            conidex: None,
            sec_type: None,
            c_oid: None,
            parent_id: None,
            order_type,
            listing_exchange: None,
            is_single_group: None,
            outside_rth: None,
            all_or_none: None,
            price: None,
            aux_price: None,
            side,
            ticker: None,
            tif,
            trailing_amt: None,
            trailing_type: None,
            referrer: None,
            quantity: Some(quantity),
            cash_qty: None,
            fx_qty: None,
            use_adaptive: None,
            is_ccy_conv: None,
            allocation_method: None,
            strategy: None,
            strategy_parameters: None,
            manual_indicator: None,
            ext_operator: None,
            tax_optimizer_id: None,
            deactivated: None,
            json_payload: None,
            extra: Extra::new(),
        }
    }

    /// A market day order.
    pub fn market(conid: Conid, side: Side, quantity: Decimal) -> Self {
        Self::new(conid, side, quantity, OrderType::Market, Tif::Day)
    }

    /// A limit day order.
    pub fn limit(conid: Conid, side: Side, quantity: Decimal, price: Decimal) -> Self {
        let mut o = Self::new(conid, side, quantity, OrderType::Limit, Tif::Day);
        o.price = Some(price);
        o
    }

    /// A stop day order (`price` is the stop price).
    pub fn stop(conid: Conid, side: Side, quantity: Decimal, stop_price: Decimal) -> Self {
        let mut o = Self::new(conid, side, quantity, OrderType::Stop, Tif::Day);
        o.price = Some(stop_price);
        o
    }

    /// A stop-limit day order (`price` the limit, `auxPrice` the stop).
    pub fn stop_limit(
        conid: Conid,
        side: Side,
        quantity: Decimal,
        limit_price: Decimal,
        stop_price: Decimal,
    ) -> Self {
        let mut o = Self::new(conid, side, quantity, OrderType::StopLimit, Tif::Day);
        o.price = Some(limit_price);
        o.aux_price = Some(stop_price);
        o
    }

    /// A trailing-stop day order.
    pub fn trailing_stop(
        conid: Conid,
        side: Side,
        quantity: Decimal,
        trailing_amt: Decimal,
        trailing_type: TrailingType,
    ) -> Self {
        let mut o = Self::new(conid, side, quantity, OrderType::Trail, Tif::Day);
        o.trailing_amt = Some(trailing_amt);
        o.trailing_type = Some(trailing_type);
        o
    }

    /// A trailing-stop-limit day order (`price` the limit, `auxPrice` the stop).
    pub fn trailing_stop_limit(
        conid: Conid,
        side: Side,
        quantity: Decimal,
        limit_price: Decimal,
        stop_price: Decimal,
        trailing_amt: Decimal,
        trailing_type: TrailingType,
    ) -> Self {
        let mut o = Self::new(conid, side, quantity, OrderType::TrailLimit, Tif::Day);
        o.price = Some(limit_price);
        o.aux_price = Some(stop_price);
        o.trailing_amt = Some(trailing_amt);
        o.trailing_type = Some(trailing_type);
        o
    }

    /// An order sized by an amount of money (`cashQty`) instead of a quantity.
    pub fn cash(
        conid: Conid,
        side: Side,
        cash_qty: Decimal,
        order_type: OrderType,
        tif: Tif,
    ) -> Self {
        let mut o = Self::new(conid, side, Decimal::ZERO, order_type, tif);
        o.quantity = None;
        o.cash_qty = Some(cash_qty);
        o
    }

    /// The same order in another account (`acctId`).
    pub fn with_account(mut self, acct_id: impl Into<AccountId>) -> Self {
        self.acct_id = Some(acct_id.into());
        self
    }

    /// The same order with a customer order id (`cOID`).
    pub fn with_coid(mut self, c_oid: impl Into<String>) -> Self {
        self.c_oid = Some(c_oid.into());
        self
    }

    /// The same order as a bracket child of the order whose `cOID` is given.
    pub fn with_parent(mut self, parent_c_oid: impl Into<String>) -> Self {
        self.parent_id = Some(parent_c_oid.into());
        self
    }

    /// The same order with another time in force.
    pub fn with_tif(mut self, tif: Tif) -> Self {
        self.tif = tif;
        self
    }

    /// The same order, allowed (or not) to execute outside regular trading hours.
    pub fn with_outside_rth(mut self, outside_rth: bool) -> Self {
        self.outside_rth = Some(outside_rth);
        self
    }

    /// The same order with the CME Rule 536-B fields (`manualIndicator`, `extOperator`).
    pub fn with_manual_indicator(mut self, manual: bool, ext_operator: impl Into<String>) -> Self {
        self.manual_indicator = Some(manual);
        self.ext_operator = Some(ext_operator.into());
        self
    }

    /// Checks the field combinations IBKR documents: a contract (`conid` or `conidex`),
    /// exactly one positive size (`quantity`, `cashQty` or `fxQty`), a `price` for the
    /// types that need one, an `auxPrice` for `STOP_LIMIT` and `TRAILLMT`, and both
    /// trailing fields for `TRAIL` and `TRAILLMT`.
    ///
    /// ```
    /// use ibkr_model::contracts::Conid;
    /// use ibkr_model::orders::{OrderRequest, OrderRequestError, OrderType, Side, Tif};
    /// use rust_decimal::Decimal;
    /// let mut o = OrderRequest::new(Conid(1), Side::Buy, Decimal::ONE, OrderType::Limit, Tif::Day);
    /// assert_eq!(o.validate(), Err(OrderRequestError::MissingPrice(OrderType::Limit)));
    /// o.price = Some(Decimal::TEN);
    /// assert_eq!(o.validate(), Ok(()));
    /// ```
    pub fn validate(&self) -> Result<(), OrderRequestError> {
        if self.conid.is_none() && self.conidex.as_deref().is_none_or(str::is_empty) {
            return Err(OrderRequestError::MissingContract);
        }
        let sizes: Vec<Decimal> = [self.quantity, self.cash_qty, self.fx_qty]
            .into_iter()
            .flatten()
            .collect();
        match sizes.as_slice() {
            [] => return Err(OrderRequestError::MissingQuantity),
            [size] if *size <= Decimal::ZERO => {
                return Err(OrderRequestError::NonPositiveQuantity(*size));
            }
            [_] => {}
            _ => return Err(OrderRequestError::ConflictingQuantities),
        }
        if self.order_type.needs_price() && self.price.is_none() {
            return Err(OrderRequestError::MissingPrice(self.order_type.clone()));
        }
        if self.order_type.needs_aux_price() && self.aux_price.is_none() {
            return Err(OrderRequestError::MissingAuxPrice(self.order_type.clone()));
        }
        if self.order_type.is_trailing()
            && (self.trailing_amt.is_none() || self.trailing_type.is_none())
        {
            return Err(OrderRequestError::MissingTrailing(self.order_type.clone()));
        }
        Ok(())
    }
}

/// What [`OrderRequest::validate`] found wrong with an order ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderRequestError {
    /// Neither `conid` nor `conidex` is set.
    MissingContract,
    /// None of `quantity`, `cashQty`, `fxQty` is set.
    MissingQuantity,
    /// More than one of `quantity`, `cashQty`, `fxQty` is set.
    ConflictingQuantities,
    /// The size is zero or negative (the side gives the direction).
    NonPositiveQuantity(Decimal),
    /// The order type needs a `price`.
    MissingPrice(OrderType),
    /// The order type needs an `auxPrice` (stop price).
    MissingAuxPrice(OrderType),
    /// The order type needs `trailingAmt` and `trailingType`.
    MissingTrailing(OrderType),
}

impl fmt::Display for OrderRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderRequestError::MissingContract => f.write_str("the order names no contract"),
            OrderRequestError::MissingQuantity => {
                f.write_str("the order has no quantity, cashQty or fxQty")
            }
            OrderRequestError::ConflictingQuantities => {
                f.write_str("the order sets more than one of quantity, cashQty and fxQty")
            }
            OrderRequestError::NonPositiveQuantity(q) => {
                write!(f, "the order size {q} is not positive")
            }
            OrderRequestError::MissingPrice(t) => write!(f, "a {t} order needs a price"),
            OrderRequestError::MissingAuxPrice(t) => {
                write!(f, "a {t} order needs an auxPrice (stop price)")
            }
            OrderRequestError::MissingTrailing(t) => {
                write!(f, "a {t} order needs trailingAmt and trailingType")
            }
        }
    }
}

impl std::error::Error for OrderRequestError {}

/// The `jsonPayload` of an [`OrderRequest`]: advisors' allocation instructions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct OrderJsonPayload {
    /// How the order is allocated among sub-accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_profile: Option<AllocationProfile>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderJsonPayload {
    /// A payload with an allocation profile.
    pub fn new(allocation_profile: AllocationProfile) -> Self {
        OrderJsonPayload {
            allocation_profile: Some(allocation_profile),
            extra: Extra::new(),
        }
    }
}

/// The `allocation_profile` of an [`OrderJsonPayload`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AllocationProfile {
    /// `SHARE` (amounts are quantities) or `CASH` (amounts are money).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alloc_type: Option<String>,
    /// The accounts and their amounts (IBKR does not document the items' fields).
    #[serde(default)]
    pub allocations: Vec<Extra>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AllocationProfile {
    /// A profile of a type (`SHARE` or `CASH`) and its allocations.
    pub fn new(alloc_type: impl Into<String>, allocations: Vec<Extra>) -> Self {
        AllocationProfile {
            alloc_type: Some(alloc_type.into()),
            allocations,
            extra: Extra::new(),
        }
    }
}

/// Body of `POST /iserver/account/{accountId}/orders`,
/// `POST /iserver/account/orders/{faGroup}` and `.../orders/whatif`: `{"orders": [...]}`.
/// Several tickets only for a bracket (children name the parent's `cOID` in
/// `parentId`) or an OCA group (`isSingleGroup`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrdersRequest {
    /// The order tickets.
    pub orders: Vec<OrderRequest>,
}

impl OrdersRequest {
    /// A request for these tickets.
    pub fn new(orders: Vec<OrderRequest>) -> Self {
        OrdersRequest { orders }
    }

    /// A request for one ticket.
    pub fn single(order: OrderRequest) -> Self {
        OrdersRequest {
            orders: vec![order],
        }
    }

    /// Checks every ticket ([`OrderRequest::validate`]), giving the index of the first bad one.
    pub fn validate(&self) -> Result<(), (usize, OrderRequestError)> {
        for (i, o) in self.orders.iter().enumerate() {
            o.validate().map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Placement answers: POST .../orders, POST /iserver/reply/{id}, POST .../order/{id}

/// Answer of placing (`POST /iserver/account/{accountId}/orders`), confirming
/// (`POST /iserver/reply/{replyId}`) and modifying
/// (`POST /iserver/account/{accountId}/order/{orderId}`) orders.
///
/// Usually a list with an item per ticket ([`OrderReply`]); IBKR sends a bare object for
/// rejections (`{"error": ...}`) and for the advanced-reject prompt. Both forms are read
/// and written back as received.
///
/// ```
/// use ibkr_model::orders::{OrderId, OrderResponse, OrderStatus};
/// let a: OrderResponse = serde_json::from_str(
///     r#"[{"order_id":"1370093239","order_status":"PreSubmitted","encrypt_message":"1"}]"#).unwrap();
/// assert_eq!(a.order_ids(), [OrderId(1370093239)]);
/// assert_eq!(a.submitted().next().unwrap().order_status, OrderStatus::PreSubmitted);
/// let e: OrderResponse = serde_json::from_str(r#"{"error":"Order not confirmed "}"#).unwrap();
/// assert_eq!(e.error(), Some("Order not confirmed "));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum OrderResponse {
    /// The usual list form.
    Replies(Vec<OrderReply>),
    /// A bare object: an error or an advanced reject.
    Single(OrderReply),
}

impl OrderResponse {
    /// A list answer of submitted orders.
    pub fn submitted_orders(orders: Vec<OrderSubmitted>) -> Self {
        OrderResponse::Replies(orders.into_iter().map(OrderReply::Submitted).collect())
    }

    /// A list answer with one prompt.
    pub fn with_prompt(prompt: OrderPrompt) -> Self {
        OrderResponse::Replies(vec![OrderReply::Prompt(prompt)])
    }

    /// A bare rejection `{"error": message}`.
    pub fn rejection(message: impl Into<String>) -> Self {
        OrderResponse::Single(OrderReply::Error(ErrorResponse::new(message, None)))
    }

    /// The items, whatever the form.
    pub fn replies(&self) -> &[OrderReply] {
        match self {
            OrderResponse::Replies(r) => r,
            OrderResponse::Single(r) => std::slice::from_ref(r),
        }
    }

    /// The items, whatever the form.
    pub fn into_replies(self) -> Vec<OrderReply> {
        match self {
            OrderResponse::Replies(r) => r,
            OrderResponse::Single(r) => vec![r],
        }
    }

    /// The first prompt to confirm through `/iserver/reply/{id}`, if any.
    pub fn prompt(&self) -> Option<&OrderPrompt> {
        self.replies().iter().find_map(OrderReply::as_prompt)
    }

    /// The advanced reject, if any (answered through `/iserver/notification`).
    pub fn reject(&self) -> Option<&AdvancedReject> {
        self.replies().iter().find_map(OrderReply::as_reject)
    }

    /// The submitted orders.
    pub fn submitted(&self) -> impl Iterator<Item = &OrderSubmitted> {
        self.replies().iter().filter_map(OrderReply::as_submitted)
    }

    /// The ids of the submitted orders.
    pub fn order_ids(&self) -> Vec<OrderId> {
        self.submitted().map(|s| s.order_id).collect()
    }

    /// The first error message, if any.
    pub fn error(&self) -> Option<&str> {
        self.replies().iter().find_map(OrderReply::error_message)
    }

    /// Whether the answer asks a question (a prompt or an advanced reject) before the
    /// order can go out.
    pub fn needs_reply(&self) -> bool {
        self.replies()
            .iter()
            .any(|r| matches!(r, OrderReply::Prompt(_) | OrderReply::Reject(_)))
    }
}

/// One item of an [`OrderResponse`]. Told apart by their fields: a submission has
/// `order_id` and `order_status`, a prompt `id` and `message`, an advanced reject
/// `orderId` and `text`, an error `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum OrderReply {
    /// The order was accepted.
    Submitted(OrderSubmitted),
    /// A question to confirm through `POST /iserver/reply/{id}`.
    Prompt(OrderPrompt),
    /// An advanced reject: a choice to answer through `POST /iserver/notification`.
    Reject(AdvancedReject),
    /// A rejection.
    Error(ErrorResponse),
}

impl OrderReply {
    /// The submission, if it is one.
    pub fn as_submitted(&self) -> Option<&OrderSubmitted> {
        match self {
            OrderReply::Submitted(s) => Some(s),
            _ => None,
        }
    }

    /// The prompt, if it is one.
    pub fn as_prompt(&self) -> Option<&OrderPrompt> {
        match self {
            OrderReply::Prompt(p) => Some(p),
            _ => None,
        }
    }

    /// The advanced reject, if it is one.
    pub fn as_reject(&self) -> Option<&AdvancedReject> {
        match self {
            OrderReply::Reject(r) => Some(r),
            _ => None,
        }
    }

    /// The error, if it is one.
    pub fn as_error(&self) -> Option<&ErrorResponse> {
        match self {
            OrderReply::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The error message, if it is an error.
    pub fn error_message(&self) -> Option<&str> {
        self.as_error().map(|e| e.error.as_str())
    }

    /// The order id of a submission or an advanced reject.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            OrderReply::Submitted(s) => Some(s.order_id),
            OrderReply::Reject(r) => Some(r.order_id),
            _ => None,
        }
    }
}

/// An accepted order in an [`OrderResponse`]: `{"order_id": "...", "order_status": ...,
/// "encrypt_message": "1"}`. Also an item of the list form of [`CancelOrderResponse`],
/// with a `msg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderSubmitted {
    /// The order id (sent as a string).
    #[serde(with = "crate::num::display")]
    pub order_id: OrderId,
    /// The customer order id (`cOID`) echoed (2022 gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_order_id: Option<String>,
    /// The order's status, usually `PreSubmitted` or `Submitted` (or `Filled` at once).
    pub order_status: OrderStatus,
    /// Internal, `"1"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_message: Option<String>,
    /// `Request was submitted` (cancellation answers in IBKR's examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderSubmitted {
    /// An accepted order, with `encrypt_message` `"1"` as IBKR sends it.
    pub fn new(order_id: OrderId, order_status: OrderStatus) -> Self {
        OrderSubmitted {
            order_id,
            local_order_id: None,
            order_status,
            encrypt_message: Some("1".to_string()),
            msg: None,
            extra: Extra::new(),
        }
    }
}

/// A question about an order, in an [`OrderResponse`]. Confirm it with
/// `POST /iserver/reply/{id}` and [`ReplyRequest::confirm`] right away: any other request
/// first invalidates it. Its `messageIds` can be suppressed beforehand with
/// `/iserver/questions/suppress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderPrompt {
    /// The reply id (a UUID) to confirm.
    pub id: String,
    /// The questions, as text.
    pub message: Vec<String>,
    /// Always `false`.
    #[serde(
        rename = "isSuppressed",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_suppressed: Option<bool>,
    /// The ids of the questions, in the order of `message`.
    #[serde(rename = "messageIds", default)]
    pub message_ids: Vec<PromptId>,
    /// The possible answers, e.g. `["Yes", "No"]` (recent gateways).
    #[serde(
        rename = "messageOptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub message_options: Option<Vec<String>>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderPrompt {
    /// A prompt with one question.
    pub fn new(id: impl Into<String>, message: impl Into<String>, message_id: PromptId) -> Self {
        OrderPrompt {
            id: id.into(),
            message: vec![message.into()],
            is_suppressed: Some(false),
            message_ids: vec![message_id],
            message_options: None,
            extra: Extra::new(),
        }
    }
}

/// An "advanced order reject", in an [`OrderResponse`]: the order was rejected, with a
/// choice (`options`) that may let it through; answer with [`NotificationRequest::answer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AdvancedReject {
    /// The rejected order.
    #[serde(rename = "orderId")]
    pub order_id: OrderId,
    /// IBKR's id of the message, to send back.
    #[serde(rename = "reqId", default)]
    pub req_id: String,
    /// Whether the prompt can be dismissed (an empty list in IBKR's examples).
    #[serde(default)]
    pub dismissable: Vec<serde_json::Value>,
    /// The message.
    pub text: String,
    /// The possible answers, e.g. `["Use on this order", "Always use", "Do not use"]`.
    #[serde(default)]
    pub options: Vec<String>,
    /// Message type, e.g. `M`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The prompt's id, e.g. `p12`.
    #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<PromptId>,
    /// Whether it is a question to answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AdvancedReject {
    /// A reject of an order with a message and choices.
    pub fn new(
        order_id: OrderId,
        req_id: impl Into<String>,
        text: impl Into<String>,
        options: Vec<String>,
    ) -> Self {
        AdvancedReject {
            order_id,
            req_id: req_id.into(),
            dismissable: Vec::new(),
            text: text.into(),
            options,
            kind: None,
            message_id: None,
            prompt: Some(true),
            extra: Extra::new(),
        }
    }
}

/// Body of `POST /iserver/reply/{replyId}`: `{"confirmed": true}` sends the order,
/// `false` discards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplyRequest {
    /// Whether the question is answered yes.
    pub confirmed: bool,
}

impl ReplyRequest {
    /// An answer.
    pub fn new(confirmed: bool) -> Self {
        ReplyRequest { confirmed }
    }

    /// `{"confirmed": true}`.
    pub fn confirm() -> Self {
        ReplyRequest { confirmed: true }
    }

    /// `{"confirmed": false}`.
    pub fn decline() -> Self {
        ReplyRequest { confirmed: false }
    }
}

// ---------------------------------------------------------------------------------------
// POST /iserver/account/{acct}/orders/whatif

/// Answer of `POST /iserver/account/{accountId}/orders/whatif`: what the order would
/// cost and change, as formatted amounts (`"1,006,413"`, `"1 USD (1 Shares)"`).
///
/// ```
/// use ibkr_model::orders::OrderPreview;
/// use rust_decimal::Decimal;
/// let p: OrderPreview = serde_json::from_str(r#"{"amount":{"amount":"1 USD (1 Shares)",
///   "commission":"0.01 USD","total":"1.01 USD"},"warn":null,"error":null}"#).unwrap();
/// let amount = p.amount.unwrap();
/// assert_eq!(amount.commission.unwrap().amount(), Some(Decimal::new(1, 2)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct OrderPreview {
    /// Cost, commission and total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<PreviewAmount>,
    /// Change of the account's equity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity: Option<PreviewChange>,
    /// Change of the initial margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<PreviewChange>,
    /// Change of the maintenance margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<PreviewChange>,
    /// Change of the position (IBKR's examples; not in the recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<PreviewChange>,
    /// A warning, or `null`.
    #[serde(default)]
    pub warn: Option<String>,
    /// An error, or `null`.
    #[serde(default)]
    pub error: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderPreview {
    /// A preview with every part unset (`warn` and `error` `null`).
    pub fn new() -> Self {
        Self::default()
    }
}

/// The `amount` part of an [`OrderPreview`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PreviewAmount {
    /// Cost at the reference price, e.g. `1,977.60 USD (10 Shares)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<DisplayAmount>,
    /// Commission and fees, e.g. `1 USD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<DisplayAmount>,
    /// Cost plus commission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<DisplayAmount>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PreviewAmount {
    /// The three amounts.
    pub fn new(
        amount: impl Into<DisplayAmount>,
        commission: impl Into<DisplayAmount>,
        total: impl Into<DisplayAmount>,
    ) -> Self {
        PreviewAmount {
            amount: Some(amount.into()),
            commission: Some(commission.into()),
            total: Some(total.into()),
            extra: Extra::new(),
        }
    }
}

/// A before/change/after part of an [`OrderPreview`] (`equity`, `initial`,
/// `maintenance`, `position`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PreviewChange {
    /// Current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<DisplayAmount>,
    /// Change the order would make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<DisplayAmount>,
    /// Value after the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<DisplayAmount>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PreviewChange {
    /// The three values.
    pub fn new(
        current: impl Into<DisplayAmount>,
        change: impl Into<DisplayAmount>,
        after: impl Into<DisplayAmount>,
    ) -> Self {
        PreviewChange {
            current: Some(current.into()),
            change: Some(change.into()),
            after: Some(after.into()),
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// DELETE /iserver/account/{acct}/order/{orderId}

/// Query of `DELETE /iserver/account/{accountId}/order/{orderId}` (all optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct CancelOrderQuery {
    /// Who operates the submitting program (CME Rule 536-B).
    #[serde(
        rename = "extOperator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ext_operator: Option<String>,
    /// Whether the cancellation was made by a person (required for US futures).
    #[serde(
        rename = "manualIndicator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub manual_indicator: Option<bool>,
    /// Time of a manual cancellation.
    #[serde(
        rename = "manualCancelTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub manual_cancel_time: Option<i64>,
}

impl CancelOrderQuery {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Answer of `DELETE /iserver/account/{accountId}/order/{orderId}`. The recording and
/// IBKR's prose docs give an object ([`CancelAck`]); IBKR's spec example gives a list
/// like the placement answer; a rejection is `{"error": ...}`.
///
/// ```
/// use ibkr_model::orders::{CancelOrderResponse, OrderId};
/// let a: CancelOrderResponse = serde_json::from_str(
///     r#"{"msg":"Request was submitted","order_id":602801486,"conid":-1,"account":null}"#).unwrap();
/// assert!(a.is_accepted());
/// assert_eq!(a.order_id(), Some(OrderId(602801486)));
/// let e: CancelOrderResponse = serde_json::from_str(r#"{"error":"OrderID 1 doesn't exist"}"#).unwrap();
/// assert_eq!(e.error(), Some("OrderID 1 doesn't exist"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum CancelOrderResponse {
    /// The list form of IBKR's spec example.
    Replies(Vec<OrderReply>),
    /// The acknowledgement object.
    Accepted(CancelAck),
    /// A rejection.
    Error(ErrorResponse),
}

impl CancelOrderResponse {
    /// The acknowledgement IBKR sends: `msg` `Request was submitted`.
    pub fn accepted(ack: CancelAck) -> Self {
        CancelOrderResponse::Accepted(ack)
    }

    /// A rejection `{"error": message}`.
    pub fn rejection(message: impl Into<String>) -> Self {
        CancelOrderResponse::Error(ErrorResponse::new(message, None))
    }

    /// Whether the cancellation request was accepted (not that the order is cancelled).
    pub fn is_accepted(&self) -> bool {
        match self {
            CancelOrderResponse::Accepted(_) => true,
            CancelOrderResponse::Replies(r) => {
                !r.is_empty() && r.iter().all(|r| r.as_submitted().is_some())
            }
            CancelOrderResponse::Error(_) => false,
        }
    }

    /// The order the request was about.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            CancelOrderResponse::Accepted(a) => Some(a.order_id),
            CancelOrderResponse::Replies(r) => r.iter().find_map(OrderReply::order_id),
            CancelOrderResponse::Error(_) => None,
        }
    }

    /// The error message, if rejected.
    pub fn error(&self) -> Option<&str> {
        match self {
            CancelOrderResponse::Error(e) => Some(&e.error),
            CancelOrderResponse::Replies(r) => r.iter().find_map(OrderReply::error_message),
            CancelOrderResponse::Accepted(_) => None,
        }
    }
}

/// The acknowledgement of a cancellation request, in [`CancelOrderResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelAck {
    /// `Request was submitted`.
    pub msg: String,
    /// The order.
    pub order_id: OrderId,
    /// The order's contract; `-1` when the order was cancelled at once.
    pub conid: Conid,
    /// The order's account; `null` when the order was cancelled at once.
    #[serde(default)]
    pub account: Option<AccountId>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CancelAck {
    /// An acknowledgement for an order, with IBKR's message.
    pub fn new(order_id: OrderId, conid: Conid, account: Option<AccountId>) -> Self {
        CancelAck {
            msg: "Request was submitted".to_string(),
            order_id,
            conid,
            account,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// GET /iserver/account/orders

/// Query of `GET /iserver/account/orders` (all optional).
///
/// ```
/// use ibkr_model::orders::{LiveOrdersQuery, OrderFilter};
/// let mut q = LiveOrdersQuery::new();
/// q.filters = vec![OrderFilter::Filled, OrderFilter::Cancelled];
/// q.force = Some(true);
/// assert_eq!(
///     serde_json::to_value(&q).unwrap(),
///     serde_json::json!({"filters": "filled,cancelled", "force": true})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct LiveOrdersQuery {
    /// Only orders of these statuses (sent comma-separated); `sort_by_time` sorts.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "filter_list")]
    pub filters: Vec<OrderFilter>,
    /// Clear IBKR's cache of orders; that answer is empty, the next one fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// The account whose orders to list.
    #[serde(rename = "accountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
}

impl LiveOrdersQuery {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Answer of `GET /iserver/account/orders`: the orders of the brokerage session
/// (working, filled and cancelled ones; at most 1000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct LiveOrders {
    /// The orders.
    #[serde(default)]
    pub orders: Vec<LiveOrder>,
    /// Whether the answer is a full snapshot.
    #[serde(default)]
    pub snapshot: bool,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LiveOrders {
    /// An answer listing these orders.
    pub fn new(orders: Vec<LiveOrder>, snapshot: bool) -> Self {
        LiveOrders {
            orders,
            snapshot,
            extra: Extra::new(),
        }
    }

    /// The order with an id.
    pub fn get(&self, order_id: OrderId) -> Option<&LiveOrder> {
        self.orders.iter().find(|o| o.order_id == order_id)
    }
}

/// An order of [`LiveOrders`]. The same object is streamed, as partial updates, on the
/// `sor` websocket topic: only `acct` and `orderId` are always present there, so every
/// other field is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LiveOrder {
    /// The account.
    pub acct: AccountId,
    /// Routing destination, e.g. `IDEALPRO` (directed orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Contract and routing, e.g. `756733` or `15016138@IDEALPRO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conidex: Option<String>,
    /// The contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conid: Option<Conid>,
    /// The account (again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// The order id.
    #[serde(rename = "orderId")]
    pub order_id: OrderId,
    /// Currency of the order's cash size.
    #[serde(rename = "cashCcy", default, skip_serializing_if = "Option::is_none")]
    pub cash_ccy: Option<String>,
    /// Size and fills as text, e.g. `1`, `0/1`, `2.4K CAD`.
    #[serde(
        rename = "sizeAndFills",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub size_and_fills: Option<String>,
    /// Description, e.g. `Bought 1 SPY Market, Day`.
    #[serde(rename = "orderDesc", default, skip_serializing_if = "Option::is_none")]
    pub order_desc: Option<String>,
    /// Contract description, e.g. `SPY` or `AUD.CAD`.
    #[serde(
        rename = "description1",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description1: Option<String>,
    /// Derivatives: expiry, strike, right and exchange, e.g. `JUN 28 '24 192.5 Call`.
    #[serde(
        rename = "description2",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description2: Option<String>,
    /// Symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticker: Option<String>,
    /// Security type.
    #[serde(rename = "secType", default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Listing exchange.
    #[serde(
        rename = "listingExchange",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub listing_exchange: Option<String>,
    /// Size left to fill.
    #[serde(
        rename = "remainingQuantity",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub remaining_quantity: Option<Decimal>,
    /// Size filled.
    #[serde(
        rename = "filledQuantity",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub filled_quantity: Option<Decimal>,
    /// Total size.
    #[serde(
        rename = "totalSize",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub total_size: Option<Decimal>,
    /// Total size of a cash-quantity order, in `cashCcy`.
    #[serde(
        rename = "totalCashSize",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub total_cash_size: Option<Decimal>,
    /// Company or instrument name.
    #[serde(
        rename = "companyName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub company_name: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// IBKR's internal status, e.g. `Filled`, `Pending Submit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ccp_status: Option<String>,
    /// Why the system cancelled or rejected the order (cancelled orders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_cancellation_by_system_reason: Option<String>,
    /// Average fill price (a string).
    #[serde(rename = "avgPrice", default, skip_serializing_if = "Option::is_none")]
    pub avg_price: Option<LooseDecimal>,
    /// The order type as first placed, e.g. `MARKET`, `LIMIT` (see [`OrderType::from_any`]).
    #[serde(
        rename = "origOrderType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub orig_order_type: Option<String>,
    /// Whether the Tax Optimizer supports the order, `0` or `1`.
    #[serde(
        rename = "supportsTaxOpt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub supports_tax_opt: Option<String>,
    /// Time of the last execution or change, UTC `YYMMDDhhmmss`.
    #[serde(
        rename = "lastExecutionTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_execution_time: Option<String>,
    /// The order type now, e.g. `Market`, `Limit` (see [`OrderType::from_any`]).
    #[serde(rename = "orderType", default, skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    /// Internal UI background colour.
    #[serde(rename = "bgColor", default, skip_serializing_if = "Option::is_none")]
    pub bg_color: Option<String>,
    /// Internal UI foreground colour.
    #[serde(rename = "fgColor", default, skip_serializing_if = "Option::is_none")]
    pub fg_color: Option<String>,
    /// Whether it is an event-trading order, `0` or `1`.
    #[serde(
        rename = "isEventTrading",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_event_trading: Option<String>,
    /// The customer order id (`cOID`) given when placing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// Limit or stop price; an empty string when none (a number on the websocket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<LooseDecimal>,
    /// Time in force; `CLOSE` once the order is over.
    #[serde(
        rename = "timeInForce",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub time_in_force: Option<Tif>,
    /// Time of the last execution or change.
    #[serde(
        rename = "lastExecutionTime_r",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_execution_time_r: Option<EpochMillis>,
    /// Side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// Tax lots chosen by the Tax Optimizer.
    #[serde(
        rename = "taxOptimizerId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_optimizer_id: Option<String>,
    /// Bracket children: the parent order.
    #[serde(rename = "parentId", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<OrderId>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LiveOrder {
    /// An order with only its account and id set.
    pub fn new(acct: impl Into<AccountId>, order_id: OrderId) -> Self {
        LiveOrder {
            acct: acct.into(),
            exchange: None,
            conidex: None,
            conid: None,
            account: None,
            order_id,
            cash_ccy: None,
            size_and_fills: None,
            order_desc: None,
            description1: None,
            description2: None,
            ticker: None,
            sec_type: None,
            listing_exchange: None,
            remaining_quantity: None,
            filled_quantity: None,
            total_size: None,
            total_cash_size: None,
            company_name: None,
            status: None,
            order_ccp_status: None,
            order_cancellation_by_system_reason: None,
            avg_price: None,
            orig_order_type: None,
            supports_tax_opt: None,
            last_execution_time: None,
            order_type: None,
            bg_color: None,
            fg_color: None,
            is_event_trading: None,
            order_ref: None,
            price: None,
            time_in_force: None,
            last_execution_time_r: None,
            side: None,
            tax_optimizer_id: None,
            parent_id: None,
            extra: Extra::new(),
        }
    }

    /// The order type, from `orderType` or else `origOrderType`, whatever the spelling.
    pub fn order_type_kind(&self) -> Option<OrderType> {
        [&self.order_type, &self.orig_order_type]
            .into_iter()
            .flatten()
            .find_map(|t| OrderType::from_any(t))
    }

    /// The limit or stop price, if any.
    pub fn price_value(&self) -> Option<Decimal> {
        self.price.and_then(LooseDecimal::value)
    }

    /// The average fill price, if any.
    pub fn avg_price_value(&self) -> Option<Decimal> {
        self.avg_price.and_then(LooseDecimal::value)
    }
}

// ---------------------------------------------------------------------------------------
// GET /iserver/account/order/status/{orderId}

/// Answer of `GET /iserver/account/order/status/{orderId}`: one order in detail.
/// Quantities and prices are strings (e.g. `"1.0"`, `"647.09"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderStatusDetail {
    /// Internal, `null`.
    #[serde(default)]
    pub sub_type: Option<String>,
    /// Internal id of the status request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Ties rejected and resubmitted orders together after server prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// The order id.
    pub order_id: OrderId,
    /// Contract and routing, e.g. `265598`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conidex: Option<String>,
    /// The contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conid: Option<Conid>,
    /// Symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Side: `BUY`/`SELL`, or `B`/`S` (see [`Side::direction`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// Contract description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_description_1: Option<String>,
    /// Listing exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_exchange: Option<String>,
    /// Internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_acct: Option<String>,
    /// Company or instrument name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Whether it is an event-trading order, `0` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_event_trading: Option<String>,
    /// Short description, e.g. `Bought 1 SPY Market, Day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_desc: Option<String>,
    /// Size left to fill (IBKR's docs); `0.0` once the order is over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<LooseDecimal>,
    /// Total size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<LooseDecimal>,
    /// Total size of a cash-quantity order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cash_size: Option<LooseDecimal>,
    /// Price of the last fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_price: Option<LooseDecimal>,
    /// Size filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filled_quantity: Option<LooseDecimal>,
    /// Size left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_quantity: Option<LooseDecimal>,
    /// Average fill price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_fill_price: Option<LooseDecimal>,
    /// Price of the last fill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fill_price: Option<LooseDecimal>,
    /// Cumulative size filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cum_fill: Option<LooseDecimal>,
    /// Average fill price (IBKR's examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_price: Option<LooseDecimal>,
    /// Price; `0.0` for market orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<LooseDecimal>,
    /// Limit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<LooseDecimal>,
    /// Stop price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_price: Option<LooseDecimal>,
    /// Currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// Order type as a word, e.g. `Market`, `MARKET`, `LIMIT` (see [`OrderType::from_any`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    /// Status.
    pub order_status: OrderStatus,
    /// IBKR's internal status, e.g. `Filled` or a code such as `2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ccp_status: Option<String>,
    /// Status for display, e.g. `Order Filled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_status_description: Option<String>,
    /// Time in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tif: Option<Tif>,
    /// Internal UI background colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bg_color: Option<String>,
    /// Internal UI foreground colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fg_color: Option<String>,
    /// Whether the order can no longer be modified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_not_editable: Option<bool>,
    /// Which fields may be modified (internal encoding; empty when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editable_fields: Option<String>,
    /// Whether the order can no longer be cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cannot_cancel_order: Option<bool>,
    /// Whether the order may execute outside regular trading hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_rth: Option<bool>,
    /// Whether the order must fill entirely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_or_none: Option<bool>,
    /// Whether the order is deactivated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivate_order: Option<bool>,
    /// Whether the Price Management Algo is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_price_mgmt_algo: Option<bool>,
    /// Security type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Internal: chart periods available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_chart_periods: Option<String>,
    /// Description, e.g. `Sold 5 Market, Day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_description: Option<String>,
    /// Description with the contract, e.g. `Sold 5 AAPL Market, Day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_description_with_contract: Option<String>,
    /// Clearing firm id, `IB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_id: Option<String>,
    /// Clearing firm name, `IB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_name: Option<String>,
    /// Whether an alert is active on the order, 0 or 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_active: Option<i64>,
    /// Hedge child type: `0` none, `A` attached, `B` beta hedge (other codes seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_order_type: Option<String>,
    /// The clearing account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_clearing_account: Option<AccountId>,
    /// Size and fills as text, e.g. `1/1`, `0/9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_and_fills: Option<String>,
    /// Internal: price shown by the exit-strategy tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_strategy_display_price: Option<LooseDecimal>,
    /// Internal: description shown by the exit-strategy tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_strategy_chart_description: Option<String>,
    /// Internal: whether the exit-strategy tool is available, `0` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_strategy_tool_availability: Option<String>,
    /// Whether an identical order on the other side may be placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_duplicate_opposite: Option<bool>,
    /// When the order was placed, UTC `YYMMDDhhmmss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_time: Option<String>,
    /// OCA orders: the group's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oca_group_id: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderStatusDetail {
    /// A status with only the order id and status set (`sub_type` `null`).
    pub fn new(order_id: OrderId, order_status: OrderStatus) -> Self {
        OrderStatusDetail {
            sub_type: None,
            request_id: None,
            server_id: None,
            order_id,
            conidex: None,
            conid: None,
            symbol: None,
            side: None,
            contract_description_1: None,
            listing_exchange: None,
            option_acct: None,
            company_name: None,
            is_event_trading: None,
            order_desc: None,
            size: None,
            total_size: None,
            total_cash_size: None,
            fill_price: None,
            filled_quantity: None,
            remaining_quantity: None,
            avg_fill_price: None,
            last_fill_price: None,
            cum_fill: None,
            average_price: None,
            price: None,
            limit_price: None,
            stop_price: None,
            currency: None,
            account: None,
            order_type: None,
            order_status,
            order_ccp_status: None,
            order_status_description: None,
            tif: None,
            bg_color: None,
            fg_color: None,
            order_not_editable: None,
            editable_fields: None,
            cannot_cancel_order: None,
            outside_rth: None,
            all_or_none: None,
            deactivate_order: None,
            use_price_mgmt_algo: None,
            sec_type: None,
            available_chart_periods: None,
            order_description: None,
            order_description_with_contract: None,
            clearing_id: None,
            clearing_name: None,
            alert_active: None,
            child_order_type: None,
            order_clearing_account: None,
            size_and_fills: None,
            exit_strategy_display_price: None,
            exit_strategy_chart_description: None,
            exit_strategy_tool_availability: None,
            allowed_duplicate_opposite: None,
            order_time: None,
            oca_group_id: None,
            extra: Extra::new(),
        }
    }

    /// The order type, whatever the spelling of `order_type`.
    pub fn order_type_kind(&self) -> Option<OrderType> {
        self.order_type.as_deref().and_then(OrderType::from_any)
    }

    /// The average fill price, from `avg_fill_price` or `average_price`.
    pub fn avg_price(&self) -> Option<Decimal> {
        [self.avg_fill_price, self.average_price]
            .into_iter()
            .flatten()
            .find_map(LooseDecimal::value)
    }

    /// The size filled, from `filled_quantity` or `cum_fill`.
    pub fn filled(&self) -> Option<Decimal> {
        [self.filled_quantity, self.cum_fill]
            .into_iter()
            .flatten()
            .find_map(LooseDecimal::value)
    }
}

// ---------------------------------------------------------------------------------------
// GET /iserver/account/trades

/// Query of `GET /iserver/account/trades`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct TradesQuery {
    /// Days back to include, up to 7; only today's executions when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

impl TradesQuery {
    /// Today's executions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Executions of the last `days` days (IBKR allows up to 7).
    pub fn days(days: u32) -> Self {
        TradesQuery { days: Some(days) }
    }
}

/// An execution, as `GET /iserver/account/trades` lists it (the answer is a list) and
/// the `str` websocket topic streams it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Trade {
    /// Execution id, e.g. `0000e0d5.6576fd38.01.01`.
    pub execution_id: String,
    /// Symbol.
    pub symbol: String,
    /// Whether the Tax Optimizer supports the order, `0` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_tax_opt: Option<String>,
    /// Side.
    pub side: ExecSide,
    /// Description, e.g. `Bot 0.5 @ 420.08 on IBKR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_description: Option<String>,
    /// Time of the execution, UTC `YYYYMMDD-hh:mm:ss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_time: Option<String>,
    /// Time of the execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_time_r: Option<EpochMillis>,
    /// Size, in units of the instrument.
    #[serde(with = "crate::num::number")]
    pub size: Decimal,
    /// Price: a string in most answers, a number in some recordings.
    pub price: MixedDecimal,
    /// The customer order id (`cOID`) of the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// The user who placed the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitter: Option<String>,
    /// Execution venue, e.g. `ISLAND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Commission (a string in recordings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<MixedDecimal>,
    /// Net amount: size times price times multiplier.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub net_amount: Option<Decimal>,
    /// The account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// The account (again).
    #[serde(
        rename = "accountCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_code: Option<AccountId>,
    /// The account or allocation group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_allocation_name: Option<String>,
    /// Company or instrument name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Contract description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_description_1: Option<String>,
    /// Derivatives: second description line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_description_2: Option<String>,
    /// Security type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Listing exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_exchange: Option<String>,
    /// The contract.
    pub conid: Conid,
    /// Contract and routing (REST spelling).
    #[serde(rename = "conidEx", default, skip_serializing_if = "Option::is_none")]
    pub conid_ex: Option<String>,
    /// Contract and routing (websocket spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conidex: Option<String>,
    /// Directed exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directed_exchange: Option<String>,
    /// Clearing firm id, `IB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_id: Option<String>,
    /// Clearing firm name, `IB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_name: Option<String>,
    /// Whether IBKR liquidated the position, `0` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquidation_trade: Option<String>,
    /// Whether it is an event-trading execution, `0` or `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_event_trading: Option<String>,
    /// The order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Trade {
    /// An execution, other fields unset; the price is written as a string.
    pub fn new(
        execution_id: impl Into<String>,
        conid: Conid,
        symbol: impl Into<String>,
        side: ExecSide,
        size: Decimal,
        price: Decimal,
    ) -> Self {
        Trade {
            execution_id: execution_id.into(),
            symbol: symbol.into(),
            supports_tax_opt: None,
            side,
            order_description: None,
            trade_time: None,
            trade_time_r: None,
            size,
            price: MixedDecimal::Text(price),
            order_ref: None,
            submitter: None,
            exchange: None,
            commission: None,
            net_amount: None,
            account: None,
            account_code: None,
            account_allocation_name: None,
            company_name: None,
            contract_description_1: None,
            contract_description_2: None,
            sec_type: None,
            listing_exchange: None,
            conid,
            conid_ex: None,
            conidex: None,
            directed_exchange: None,
            clearing_id: None,
            clearing_name: None,
            liquidation_trade: None,
            is_event_trading: None,
            order_id: None,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// POST /iserver/questions/suppress, /suppress/reset, POST /iserver/notification

/// Body of `POST /iserver/questions/suppress`: the prompts to confirm automatically for
/// the rest of the brokerage session (up to 51; each request replaces the previous list).
///
/// ```
/// use ibkr_model::orders::{PromptId, SuppressRequest};
/// let r = SuppressRequest::new(vec![PromptId::NoMarketData, PromptId::PricePercentageLimit]);
/// assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"messageIds":["o354","o163"]}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SuppressRequest {
    /// The prompt ids.
    #[serde(rename = "messageIds")]
    pub message_ids: Vec<PromptId>,
}

impl SuppressRequest {
    /// A request suppressing these prompts.
    pub fn new(message_ids: Vec<PromptId>) -> Self {
        SuppressRequest { message_ids }
    }
}

/// Answer of `POST /iserver/questions/suppress` and `POST /iserver/questions/suppress/reset`:
/// `{"status": "submitted"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SuppressResponse {
    /// `submitted`.
    pub status: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SuppressResponse {
    /// The answer IBKR sends: `{"status": "submitted"}`.
    pub fn submitted() -> Self {
        SuppressResponse {
            status: "submitted".to_string(),
            extra: Extra::new(),
        }
    }

    /// Whether the status is `submitted` (in any case).
    pub fn is_submitted(&self) -> bool {
        self.status.eq_ignore_ascii_case("submitted")
    }
}

/// Body of `POST /iserver/notification`: the answer to a server prompt (an
/// [`AdvancedReject`], or an `ntf` websocket message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationRequest {
    /// The order the prompt is about.
    #[serde(rename = "orderId")]
    pub order_id: OrderId,
    /// The prompt's request id.
    #[serde(rename = "reqId")]
    pub req_id: String,
    /// The chosen answer: one of the prompt's `options`.
    pub text: String,
}

impl NotificationRequest {
    /// An answer to a prompt.
    pub fn new(order_id: OrderId, req_id: impl Into<String>, text: impl Into<String>) -> Self {
        NotificationRequest {
            order_id,
            req_id: req_id.into(),
            text: text.into(),
        }
    }

    /// The answer `option` to an advanced reject; `None` if it is not one of its options.
    pub fn answer(reject: &AdvancedReject, option: &str) -> Option<Self> {
        reject
            .options
            .iter()
            .any(|o| o == option)
            .then(|| Self::new(reject.order_id, reject.req_id.clone(), option))
    }
}

/// Answer of `POST /iserver/notification`: a JSON string, `"Request was submitted"` in
/// the recording (`Success` in IBKR's docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct NotificationResponse(pub String);

impl NotificationResponse {
    /// The answer the recorded gateway sends.
    pub fn submitted() -> Self {
        NotificationResponse("Request was submitted".to_string())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reply_variants_are_told_apart() {
        let r: OrderResponse = serde_json::from_value(json!([
            {"order_id": "1", "order_status": "Submitted", "encrypt_message": "1"},
            {"id": "x", "message": ["?"], "isSuppressed": false, "messageIds": ["o163"]},
            {"error": "no"}
        ]))
        .unwrap();
        let items = r.replies();
        assert!(items[0].as_submitted().is_some());
        assert!(items[1].as_prompt().is_some());
        assert_eq!(items[2].error_message(), Some("no"));
        assert!(r.needs_reply());
        assert_eq!(r.order_ids(), [OrderId(1)]);
        let r: OrderResponse =
            serde_json::from_value(json!({"orderId": 5, "reqId": "9", "text": "t"})).unwrap();
        assert_eq!(r.reject().unwrap().order_id, OrderId(5));
        assert!(serde_json::from_value::<OrderResponse>(json!({"foo": 1})).is_err());
        assert!(serde_json::from_value::<OrderResponse>(json!("x")).is_err());
    }

    #[test]
    fn loose_decimal_rejects_garbage() {
        assert!(serde_json::from_str::<LooseDecimal>(r#""abc""#).is_err());
        assert!(serde_json::from_str::<LooseDecimal>("true").is_err());
        assert_eq!(
            serde_json::from_str::<LooseDecimal>(r#"" ""#).unwrap(),
            LooseDecimal::Empty
        );
    }

    #[test]
    fn order_ids_reject_garbage() {
        assert!(serde_json::from_str::<OrderId>(r#""12a""#).is_err());
        assert!(serde_json::from_str::<OrderId>("1.5").is_err());
        assert!(serde_json::from_str::<OrderId>("18446744073709551615").is_err());
    }

    #[test]
    fn filters_round_trip_through_a_query_string() {
        let q: LiveOrdersQuery =
            serde_json::from_value(json!({"filters": "filled, cancelled,,sort_by_time"})).unwrap();
        assert_eq!(
            q.filters,
            [
                OrderFilter::Filled,
                OrderFilter::Cancelled,
                OrderFilter::SortByTime
            ]
        );
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({"filters": "filled,cancelled,sort_by_time"})
        );
    }
}
