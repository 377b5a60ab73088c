//! The WebSocket API (`wss://<gateway>/v1/api/ws`): the frames the gateway sends and
//! the messages a client sends.
//!
//! # Server frames
//!
//! Every frame is a JSON object. Most carry a `topic`, whose first letters say what the
//! frame is: `smd+265598` market data of a contract, `sor` order updates, `system`
//! connection messages and heartbeats, ... [`ServerFrame::decode`] reads any frame into
//! its typed form by its topic, and keeps a frame it does not know as
//! [`ServerFrame::Unknown`]. A few frames have no topic: an error
//! (`{"error":"Topic unknown ...","code":1}`), the legacy handshake's
//! `{"message":"waiting for session"}`, and the confirmation of an unsubscription
//! (`{"result":"unsubscribed from summary"}`).
//!
//! Market data (`smd`) carries only the fields that changed since the previous frame of
//! the same contract, keyed by field id, as IBKR formats them for display (`"C150.25"`,
//! `"1.2M"`): merge them, and read the merged row with [`MarketDataUpdate::quote`] or
//! [`Quote::from_row`](crate::market_data::Quote::from_row). Order updates (`sor`) are
//! partial [`LiveOrder`]s: `acct` and `orderId` are always there, the rest only when it
//! changed.
//!
//! ```
//! use ibkr_model::streaming::ServerFrame;
//! use ibkr_model::market_data::MarketDataField;
//!
//! let frame = ServerFrame::decode(r#"{"31":"382.89","83":0.04,"6119":"q6","server_id":"q6",
//!     "conid":265598,"_updated":1593524408296,"topic":"smd+265598"}"#).unwrap();
//! let ServerFrame::MarketData(md) = frame else { panic!() };
//! assert_eq!(md.target(), "265598");
//! assert_eq!(md.get_str(MarketDataField::Last), Some("382.89"));
//! let q = md.quote().unwrap();
//! assert_eq!(q.last, Some("382.89".parse().unwrap()));
//! assert_eq!(q.change_pct, Some("0.04".parse().unwrap()));
//! ```
//!
//! # Client messages
//!
//! A client sends text: `TOPIC+TARGET+{JSON}` to subscribe (`smd+265598+{"fields":["31"]}`),
//! the same with `u` to unsubscribe (`umd+265598+{}`), `tic` to keep the session alive.
//! [`ClientMessage`] builds each of them, and parses them back (for the simulator).
//!
//! ```
//! use ibkr_model::contracts::Conid;
//! use ibkr_model::market_data::MarketDataField;
//! use ibkr_model::streaming::ClientMessage;
//!
//! let m = ClientMessage::market_data(Conid(265598), [MarketDataField::Last, MarketDataField::Bid]);
//! assert_eq!(m.to_string(), r#"smd+265598+{"fields":["31","84"]}"#);
//! assert_eq!(ClientMessage::parse(&m.to_string()), m);
//! assert_eq!(ClientMessage::Tic.to_string(), "tic");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::de::{self, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::Extra;
use crate::accounts::{AccountId, BrokerageAccounts, PnlEntry};
use crate::contracts::Conid;
use crate::market_data::{HistoryResponse, MarketDataField, Quote, SnapshotRow, ValueError};
use crate::orders::{LiveOrder, Trade};
use crate::time::EpochMillis;

// ---------------------------------------------------------------------------------------
// Market data

/// A market-data frame (`smd+<conid>`): the fields of one contract that changed, keyed by
/// field id, with the contract and the time of the update.
///
/// A frame may carry no field at all (only `_updated` and `topic`: the contract is still
/// streamed but nothing changed), and a combo's frame names its legs in the topic
/// (`smd+28812380;;;646629987/-1,...`) without `conid`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MarketDataUpdate {
    /// `smd+` and the contract as subscribed (`265598`, `265598@ISLAND`, a combo).
    pub topic: String,
    /// The contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conid: Option<Conid>,
    /// The contract as asked for (`conid` or `conid@exchange`).
    #[serde(rename = "conidEx", default, skip_serializing_if = "Option::is_none")]
    pub conid_ex: Option<String>,
    /// When the values were taken.
    #[serde(rename = "_updated", default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<EpochMillis>,
    /// Internal request id (also field `6119`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// The values that changed, keyed by field id (`"31"`, `"84"`, ...) as sent, plus any
    /// other key (e.g. `"87_raw"`, the unformatted companion of a field).
    #[serde(flatten)]
    pub fields: Extra,
}

impl MarketDataUpdate {
    /// An update of a contract without values (for building frames).
    pub fn new(conid: Conid) -> Self {
        MarketDataUpdate {
            topic: format!("smd+{conid}"),
            conid: Some(conid),
            conid_ex: Some(conid.to_string()),
            updated: None,
            server_id: None,
            fields: Extra::new(),
        }
    }

    /// The topic's target: the contract as subscribed (`265598`, `265598@ISLAND`).
    pub fn target(&self) -> &str {
        self.topic.split_once('+').map_or("", |(_, t)| t)
    }

    /// The contract: `conid`, else the target's leading number.
    pub fn contract(&self) -> Option<Conid> {
        self.conid.or_else(|| {
            let digits: String = self
                .target()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<i64>().ok().map(Conid)
        })
    }

    /// The raw value of a field, if it came in this frame.
    pub fn get(&self, field: MarketDataField) -> Option<&Value> {
        self.fields.get(&field.id().to_string())
    }

    /// The value of a field if it came as a string.
    pub fn get_str(&self, field: MarketDataField) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    /// Sets a field's value (as IBKR would format it).
    pub fn set(&mut self, field: MarketDataField, value: impl Into<Value>) -> &mut Self {
        self.fields.insert(field.id().to_string(), value.into());
        self
    }

    /// The field values in this frame, with their fields (keys that are not field ids,
    /// such as `87_raw`, are skipped).
    pub fn values(&self) -> impl Iterator<Item = (MarketDataField, &Value)> {
        self.fields
            .iter()
            .filter_map(|(k, v)| Some((k.parse::<MarketDataField>().ok()?, v)))
    }

    /// This frame as a snapshot row (the same keys), to merge into a contract's row.
    pub fn to_row(&self) -> SnapshotRow {
        let mut row = SnapshotRow::new(self.contract().unwrap_or(Conid(0)));
        row.conid_ex = self.conid_ex.clone();
        row.updated = self.updated;
        row.server_id = self.server_id.clone();
        row.fields = self.fields.clone();
        row
    }

    /// Merges this frame into a contract's row: its values replace the row's, the
    /// others stay (IBKR sends only what changed).
    pub fn merge_into(&self, row: &mut SnapshotRow) {
        if let Some(c) = self.contract() {
            row.conid = c;
        }
        if self.conid_ex.is_some() {
            row.conid_ex = self.conid_ex.clone();
        }
        if self.updated.is_some() {
            row.updated = self.updated;
        }
        if self.server_id.is_some() {
            row.server_id = self.server_id.clone();
        }
        for (k, v) in &self.fields {
            row.fields.insert(k.clone(), v.clone());
        }
    }

    /// The typed view of the values in this frame alone (fields not in the frame are
    /// `None`); merge frames first for the whole quote.
    pub fn quote(&self) -> Result<Quote, ValueError> {
        Quote::from_row(&self.to_row())
    }
}

/// A historical-data frame (`smh+<conid>`): the answer to an `smh` subscription, the
/// same object as `/iserver/marketdata/history` answers, with the topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryUpdate {
    /// `smh+` and the contract.
    pub topic: String,
    /// The bars and chart metadata; `server_id` cancels the subscription (`umh+<id>`).
    #[serde(flatten)]
    pub history: HistoryResponse,
}

impl HistoryUpdate {
    /// The answer for a contract as subscribed (`265598`).
    pub fn new(target: &str, history: HistoryResponse) -> Self {
        HistoryUpdate {
            topic: format!("smh+{target}"),
            history,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Orders, trades

/// Order updates (`sor`): whole orders on subscription, then only what changed of an
/// order (`acct` and `orderId` always, the rest when it changed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderUpdates {
    /// `sor`.
    pub topic: String,
    /// The orders, or the changes of orders, in the order they happened.
    pub args: Vec<LiveOrder>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OrderUpdates {
    /// A frame of these updates.
    pub fn new(args: Vec<LiveOrder>) -> Self {
        OrderUpdates {
            topic: "sor".into(),
            args,
            extra: Extra::new(),
        }
    }
}

/// An execution as the `str` topic streams it: a [`Trade`], whose `conid` comes as a
/// string there (`"conid": "265598"`); the form it came in is kept, so re-encoding
/// gives back what was received.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamedTrade {
    /// The execution.
    pub trade: Trade,
    /// Whether `conid` is written as a string (as the topic sends it).
    pub conid_as_text: bool,
}

impl StreamedTrade {
    /// An execution as the topic writes it (`conid` as a string).
    pub fn new(trade: Trade) -> Self {
        StreamedTrade {
            trade,
            conid_as_text: true,
        }
    }
}

impl Serialize for StreamedTrade {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(&self.trade).map_err(serde::ser::Error::custom)?;
        if self.conid_as_text
            && let Some(c) = v.get_mut("conid")
            && let Some(n) = c.as_i64()
        {
            *c = Value::String(n.to_string());
        }
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StreamedTrade {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let conid_as_text = v.get("conid").is_some_and(Value::is_string);
        let trade = Trade::deserialize(v).map_err(D::Error::custom)?;
        Ok(StreamedTrade {
            trade,
            conid_as_text,
        })
    }
}

/// Executions (`str`): the trades of the last days on subscription (unless
/// `realtimeUpdatesOnly`), then each new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TradeUpdates {
    /// `str`.
    pub topic: String,
    /// The executions.
    pub args: Vec<StreamedTrade>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TradeUpdates {
    /// A frame of these executions.
    pub fn new(args: Vec<StreamedTrade>) -> Self {
        TradeUpdates {
            topic: "str".into(),
            args,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Account topics

/// Profit and loss (`spl`): entries keyed `{accountId}.Core`, as
/// `/iserver/account/pnl/partitioned` has them (`dpl` daily, `upl` unrealized, `nl` net
/// liquidation, `uel` excess liquidity, `mv` market value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PnlUpdate {
    /// `spl`.
    pub topic: String,
    /// Entries by `{accountId}.Core`.
    pub args: BTreeMap<String, PnlEntry>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PnlUpdate {
    /// A frame of these entries.
    pub fn new(args: BTreeMap<String, PnlEntry>) -> Self {
        PnlUpdate {
            topic: "spl".into(),
            args,
            extra: Extra::new(),
        }
    }
}

/// One value of the account summary (`ssd`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SummaryItem {
    /// The name of the value, e.g. `netliquidation`.
    pub key: String,
    /// When the value was taken (seconds since the epoch in IBKR's examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// A value that is not money (dates, titles, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// A money value, in `currency`.
    #[serde(
        rename = "monetaryValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub monetary_value: Option<Decimal>,
    /// The currency of `monetaryValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<i64>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SummaryItem {
    /// A money value.
    pub fn money(key: impl Into<String>, amount: Decimal, currency: impl Into<String>) -> Self {
        SummaryItem {
            key: key.into(),
            timestamp: None,
            value: None,
            monetary_value: Some(amount),
            currency: Some(currency.into()),
            severity: Some(0),
            extra: Extra::new(),
        }
    }
}

/// Account summary values (`ssd+<accountId>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountSummaryUpdate {
    /// `ssd+` and the account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// The values.
    pub result: Vec<SummaryItem>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AccountSummaryUpdate {
    /// A frame of an account's values.
    pub fn new(account: &str, result: Vec<SummaryItem>) -> Self {
        AccountSummaryUpdate {
            topic: format!("ssd+{account}"),
            result,
            extra: Extra::new(),
        }
    }
}

/// One currency of the account ledger (`sld`): `key` `LedgerListUSD`, `LedgerListBASE`
/// (the base currency); without change since the previous frame, only `key` and
/// `timestamp` are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LedgerItem {
    /// `LedgerList` and the currency code, or `LedgerListBASE`.
    pub key: String,
    /// When the values were taken (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The account.
    #[serde(rename = "acctCode", default, skip_serializing_if = "Option::is_none")]
    pub acct_code: Option<String>,
    /// The currency code (`BASE` for the base currency).
    #[serde(rename = "secondKey", default, skip_serializing_if = "Option::is_none")]
    pub second_key: Option<String>,
    /// Cash balance.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub cashbalance: Option<Decimal>,
    /// Settled cash.
    #[serde(
        rename = "settledCash",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub settled_cash: Option<Decimal>,
    /// Exchange rate to the base currency.
    #[serde(
        rename = "exchangeRate",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub exchange_rate: Option<Decimal>,
    /// Market value of stocks.
    #[serde(
        rename = "stockMarketValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub stock_market_value: Option<Decimal>,
    /// Market value of options.
    #[serde(
        rename = "optionMarketValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub option_market_value: Option<Decimal>,
    /// Net liquidation value.
    #[serde(
        rename = "netLiquidationValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub net_liquidation_value: Option<Decimal>,
    /// Unrealized profit and loss.
    #[serde(
        rename = "unrealizedPnl",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub unrealized_pnl: Option<Decimal>,
    /// Realized profit and loss.
    #[serde(
        rename = "realizedPnl",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub realized_pnl: Option<Decimal>,
    /// Internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<i64>,
    /// The other values (`dividends`, `interest`, `funds`, `marketValue`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl LedgerItem {
    /// An entry with only its key and time (no change).
    pub fn new(key: impl Into<String>, timestamp: i64) -> Self {
        LedgerItem {
            key: key.into(),
            timestamp: Some(timestamp),
            acct_code: None,
            second_key: None,
            cashbalance: None,
            settled_cash: None,
            exchange_rate: None,
            stock_market_value: None,
            option_market_value: None,
            net_liquidation_value: None,
            unrealized_pnl: None,
            realized_pnl: None,
            severity: None,
            extra: Extra::new(),
        }
    }

    /// The currency: the key without `LedgerList` (`USD`, `BASE`).
    pub fn currency(&self) -> &str {
        self.key.strip_prefix("LedgerList").unwrap_or(&self.key)
    }

    /// Whether the entry carries values (else nothing changed in the interval).
    pub fn has_values(&self) -> bool {
        self.acct_code.is_some()
            || self.cashbalance.is_some()
            || self.net_liquidation_value.is_some()
            || self.exchange_rate.is_some()
            || !self.extra.is_empty()
    }
}

/// Account ledger (`sld+<accountId>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LedgerUpdate {
    /// `sld+` and the account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// One entry per currency.
    pub result: Vec<LedgerItem>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LedgerUpdate {
    /// A frame of an account's ledger entries.
    pub fn new(account: &str, result: Vec<LedgerItem>) -> Self {
        LedgerUpdate {
            topic: format!("sld+{account}"),
            result,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Unsolicited

/// A `system` frame: `{"success": "<user>"}` once connected (newer gateways add `isFT`,
/// `isPaper`), then `{"hb": <epoch ms>}` about every 10 seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemMessage {
    /// `system`.
    pub topic: String,
    /// The user the socket belongs to (the connection's first frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<String>,
    /// A heartbeat: the server's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hb: Option<EpochMillis>,
    /// Whether the login is a free trial.
    #[serde(rename = "isFT", default, skip_serializing_if = "Option::is_none")]
    pub is_ft: Option<bool>,
    /// Whether the login is a paper-trading one.
    #[serde(rename = "isPaper", default, skip_serializing_if = "Option::is_none")]
    pub is_paper: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SystemMessage {
    /// The connection's first frame.
    pub fn success(user: impl Into<String>) -> Self {
        SystemMessage {
            topic: "system".into(),
            success: Some(user.into()),
            hb: None,
            is_ft: None,
            is_paper: None,
            extra: Extra::new(),
        }
    }

    /// A heartbeat.
    pub fn heartbeat(at: EpochMillis) -> Self {
        SystemMessage {
            topic: "system".into(),
            success: None,
            hb: Some(at),
            is_ft: None,
            is_paper: None,
            extra: Extra::new(),
        }
    }

    /// Whether this is a heartbeat.
    pub fn is_heartbeat(&self) -> bool {
        self.hb.is_some()
    }
}

/// The brokerage session's state (`sts`), on connection and when it changes; older
/// gateways send one field at a time (`{"authenticated": true}`, `{"competing": false}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SessionStatus {
    /// Whether the brokerage session is authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated: Option<bool>,
    /// Whether another session of the user competes for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competing: Option<bool>,
    /// Whether the gateway is connected to IBKR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Whether the brokerage session is established.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<bool>,
    /// A message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why authentication failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Fields not modelled above (newer gateways add `serverName`, `username`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A `sts` frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusUpdate {
    /// `sts`.
    pub topic: String,
    /// The state.
    pub args: SessionStatus,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StatusUpdate {
    /// A frame of this state.
    pub fn new(args: SessionStatus) -> Self {
        StatusUpdate {
            topic: "sts".into(),
            args,
            extra: Extra::new(),
        }
    }
}

/// The accounts of the login (`act`), as `/iserver/accounts` lists them: sent on
/// connection and when they change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountsUpdate {
    /// `act`.
    pub topic: String,
    /// The accounts and their properties.
    pub args: BrokerageAccounts,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AccountsUpdate {
    /// A frame of these accounts.
    pub fn new(args: BrokerageAccounts) -> Self {
        AccountsUpdate {
            topic: "act".into(),
            args,
            extra: Extra::new(),
        }
    }
}

/// The body of a notification (`ntf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct NotificationArgs {
    /// Its id, e.g. `INDICATIVE_DATA_SUGGESTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The title, e.g. `Warning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where to read more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Fields not modelled above (order prompts carry their order id and options).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A notification about trading activity (`ntf`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationUpdate {
    /// `ntf`.
    pub topic: String,
    /// The notification.
    pub args: NotificationArgs,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of a bulletin (`blt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct BulletinArgs {
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An urgent message about exchanges or systems (`blt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BulletinUpdate {
    /// `blt`.
    pub topic: String,
    /// The bulletin.
    pub args: BulletinArgs,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer to `tic`: the session is alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TicReply {
    /// `tic`.
    pub topic: String,
    /// Whether the session lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alive: Option<bool>,
    /// The session id (the one `/tickle` reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the session was last used.
    #[serde(
        rename = "lastAccessed",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_accessed: Option<EpochMillis>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TicReply {
    /// The answer for a live session.
    pub fn alive(session: impl Into<String>, last_accessed: EpochMillis) -> Self {
        TicReply {
            topic: "tic".into(),
            alive: Some(true),
            id: Some(session.into()),
            last_accessed: Some(last_accessed),
            extra: Extra::new(),
        }
    }
}

/// An error frame, e.g. `{"error":"Topic unknown ...","code":1}` for a message the
/// gateway does not understand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorFrame {
    /// The message.
    pub error: String,
    /// A code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The topic, when the frame has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ErrorFrame {
    /// The gateway's answer to a message it does not know.
    pub fn unknown_topic(what: &str) -> Self {
        ErrorFrame {
            error: format!("Topic unknown {what}"),
            code: Some(1),
            topic: None,
            extra: Extra::new(),
        }
    }
}

/// A frame with a message and no topic: `{"message":"waiting for session"}` when the
/// socket was opened without the session cookie (answer with
/// [`ClientMessage::Session`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerMessage {
    /// The message.
    pub message: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ServerMessage {
    /// The legacy handshake's request for the session id.
    pub const WAITING_FOR_SESSION: &'static str = "waiting for session";

    /// A message frame.
    pub fn new(message: impl Into<String>) -> Self {
        ServerMessage {
            message: message.into(),
            extra: Extra::new(),
        }
    }

    /// Whether the gateway waits for the session id.
    pub fn is_waiting_for_session(&self) -> bool {
        self.message == Self::WAITING_FOR_SESSION
    }
}

/// The confirmation of an unsubscription, e.g. `{"result":"unsubscribed from summary"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Unsubscribed {
    /// The text.
    pub result: String,
    /// The topic, when the frame has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Unsubscribed {
    /// A confirmation, e.g. `unsubscribed from summary`.
    pub fn new(result: impl Into<String>, topic: Option<String>) -> Self {
        Unsubscribed {
            result: result.into(),
            topic,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Any frame

/// Any frame the gateway sends, by its topic.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerFrame {
    /// `smd+<conid>`: market data that changed.
    MarketData(MarketDataUpdate),
    /// `smh+<conid>`: historical bars.
    History(HistoryUpdate),
    /// `sor`: order updates.
    Orders(OrderUpdates),
    /// `str`: executions.
    Trades(TradeUpdates),
    /// `spl`: profit and loss.
    Pnl(PnlUpdate),
    /// `ssd+<acct>`: account summary.
    AccountSummary(AccountSummaryUpdate),
    /// `sld+<acct>`: account ledger.
    Ledger(LedgerUpdate),
    /// `system`: connected, heartbeats.
    System(SystemMessage),
    /// `sts`: the brokerage session's state.
    Status(StatusUpdate),
    /// `act`: the login's accounts.
    Accounts(AccountsUpdate),
    /// `ntf`: a notification.
    Notification(NotificationUpdate),
    /// `blt`: a bulletin.
    Bulletin(BulletinUpdate),
    /// `tic`: the session is alive.
    Tic(TicReply),
    /// An error, e.g. an unknown topic.
    Error(ErrorFrame),
    /// A message without topic, e.g. `waiting for session`.
    Message(ServerMessage),
    /// An unsubscription confirmed.
    Unsubscribed(Unsubscribed),
    /// Anything else, as sent.
    Unknown(Value),
}

/// A frame that could not be read: not JSON, or a known topic whose body does not have
/// its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameError {
    /// The frame's topic, when it could be read.
    pub topic: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.topic {
            Some(t) => write!(f, "websocket frame of topic {t:?}: {}", self.message),
            None => write!(f, "websocket frame: {}", self.message),
        }
    }
}

impl std::error::Error for FrameError {}

/// Just the topic (and the keys that tell topic-less frames apart).
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    topic: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    error: Option<de::IgnoredAny>,
    #[serde(default)]
    message: Option<de::IgnoredAny>,
    #[serde(default)]
    result: Option<Value>,
}

/// The kind of a topic: its letters before the first `+`.
fn kind_of(topic: &str) -> &str {
    topic.split('+').next().unwrap_or(topic)
}

impl ServerFrame {
    /// Reads a frame (the text of a WebSocket message).
    pub fn decode(text: &str) -> Result<ServerFrame, FrameError> {
        let peek: Peek<'_> = serde_json::from_str(text).map_err(|e| FrameError {
            topic: None,
            message: e.to_string(),
        })?;
        let topic = peek.topic.as_deref().map(str::to_string);
        let typed = |r: Result<ServerFrame, serde_json::Error>| {
            r.map_err(|e| FrameError {
                topic: topic.clone(),
                message: e.to_string(),
            })
        };
        fn de<T: serde::de::DeserializeOwned>(
            text: &str,
            wrap: fn(T) -> ServerFrame,
        ) -> Result<ServerFrame, serde_json::Error> {
            serde_json::from_str(text).map(wrap)
        }
        match topic.as_deref().map(kind_of) {
            Some("smd") => typed(de(text, ServerFrame::MarketData)),
            Some("smh") => typed(de(text, ServerFrame::History)),
            Some("sor") => typed(de(text, ServerFrame::Orders)),
            Some("str") => typed(de(text, ServerFrame::Trades)),
            Some("spl") => typed(de(text, ServerFrame::Pnl)),
            Some("ssd") if peek.result.as_ref().is_some_and(Value::is_array) => {
                typed(de(text, ServerFrame::AccountSummary))
            }
            Some("sld") if peek.result.as_ref().is_some_and(Value::is_array) => {
                typed(de(text, ServerFrame::Ledger))
            }
            Some("system") => typed(de(text, ServerFrame::System)),
            Some("sts") => typed(de(text, ServerFrame::Status)),
            Some("act") => typed(de(text, ServerFrame::Accounts)),
            Some("ntf") => typed(de(text, ServerFrame::Notification)),
            Some("blt") => typed(de(text, ServerFrame::Bulletin)),
            Some("tic") => typed(de(text, ServerFrame::Tic)),
            _ if peek.error.is_some() => typed(de(text, ServerFrame::Error)),
            _ if peek.result.as_ref().is_some_and(Value::is_string) => {
                typed(de(text, ServerFrame::Unsubscribed))
            }
            None if peek.message.is_some() => typed(de(text, ServerFrame::Message)),
            _ => typed(de(text, ServerFrame::Unknown)),
        }
    }

    /// The frame's topic, when it has one.
    pub fn topic(&self) -> Option<&str> {
        match self {
            ServerFrame::MarketData(f) => Some(&f.topic),
            ServerFrame::History(f) => Some(&f.topic),
            ServerFrame::Orders(f) => Some(&f.topic),
            ServerFrame::Trades(f) => Some(&f.topic),
            ServerFrame::Pnl(f) => Some(&f.topic),
            ServerFrame::AccountSummary(f) => Some(&f.topic),
            ServerFrame::Ledger(f) => Some(&f.topic),
            ServerFrame::System(f) => Some(&f.topic),
            ServerFrame::Status(f) => Some(&f.topic),
            ServerFrame::Accounts(f) => Some(&f.topic),
            ServerFrame::Notification(f) => Some(&f.topic),
            ServerFrame::Bulletin(f) => Some(&f.topic),
            ServerFrame::Tic(f) => Some(&f.topic),
            ServerFrame::Error(f) => f.topic.as_deref(),
            ServerFrame::Message(_) => None,
            ServerFrame::Unsubscribed(f) => f.topic.as_deref(),
            ServerFrame::Unknown(v) => v.get("topic").and_then(Value::as_str),
        }
    }

    /// The frame as JSON, as it would be sent.
    pub fn to_value(&self) -> Value {
        let v = match self {
            ServerFrame::MarketData(f) => serde_json::to_value(f),
            ServerFrame::History(f) => serde_json::to_value(f),
            ServerFrame::Orders(f) => serde_json::to_value(f),
            ServerFrame::Trades(f) => serde_json::to_value(f),
            ServerFrame::Pnl(f) => serde_json::to_value(f),
            ServerFrame::AccountSummary(f) => serde_json::to_value(f),
            ServerFrame::Ledger(f) => serde_json::to_value(f),
            ServerFrame::System(f) => serde_json::to_value(f),
            ServerFrame::Status(f) => serde_json::to_value(f),
            ServerFrame::Accounts(f) => serde_json::to_value(f),
            ServerFrame::Notification(f) => serde_json::to_value(f),
            ServerFrame::Bulletin(f) => serde_json::to_value(f),
            ServerFrame::Tic(f) => serde_json::to_value(f),
            ServerFrame::Error(f) => serde_json::to_value(f),
            ServerFrame::Message(f) => serde_json::to_value(f),
            ServerFrame::Unsubscribed(f) => serde_json::to_value(f),
            ServerFrame::Unknown(v) => Ok(v.clone()),
        };
        v.unwrap_or(Value::Null)
    }
}

impl Serialize for ServerFrame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ServerFrame::MarketData(f) => f.serialize(s),
            ServerFrame::History(f) => f.serialize(s),
            ServerFrame::Orders(f) => f.serialize(s),
            ServerFrame::Trades(f) => f.serialize(s),
            ServerFrame::Pnl(f) => f.serialize(s),
            ServerFrame::AccountSummary(f) => f.serialize(s),
            ServerFrame::Ledger(f) => f.serialize(s),
            ServerFrame::System(f) => f.serialize(s),
            ServerFrame::Status(f) => f.serialize(s),
            ServerFrame::Accounts(f) => f.serialize(s),
            ServerFrame::Notification(f) => f.serialize(s),
            ServerFrame::Bulletin(f) => f.serialize(s),
            ServerFrame::Tic(f) => f.serialize(s),
            ServerFrame::Error(f) => f.serialize(s),
            ServerFrame::Message(f) => f.serialize(s),
            ServerFrame::Unsubscribed(f) => f.serialize(s),
            ServerFrame::Unknown(v) => v.serialize(s),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Client messages

/// Arguments of a market-data subscription: the field ids, as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct MarketDataArgs {
    /// The fields wanted (`["31","84"]`).
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Arguments of `str` (executions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct TradesArgs {
    /// Only new executions, not those of the last days.
    #[serde(
        rename = "realtimeUpdatesOnly",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub realtime_updates_only: Option<bool>,
    /// Days of executions to send first (1 = today, at most 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

/// Arguments of `ssd` (account summary) and `sld` (ledger): which keys and fields;
/// none means all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AccountArgs {
    /// Keys, e.g. `LedgerListBASE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Fields, e.g. `cashBalance`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Arguments of `smh` (historical bars).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct HistoryArgs {
    /// Exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Period, e.g. `2h`, `1d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Bar size, e.g. `5min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar: Option<String>,
    /// Whether to include data outside regular hours.
    #[serde(
        rename = "outsideRth",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub outside_rth: Option<bool>,
    /// `trades`, `midpoint`, `bid_ask`, `bid`, `ask`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Values wanted, e.g. `%o/%c/%h/%l/%v`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// A message a client sends on the socket. [`Display`](fmt::Display) gives its text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientMessage {
    /// `smd+<conid>+{"fields":[...]}`: stream a contract's market data (again to add
    /// fields). The target is a conid, or `conid@EXCHANGE`.
    SubscribeMarketData {
        /// The contract (and exchange).
        target: String,
        /// The arguments.
        args: MarketDataArgs,
    },
    /// `umd+<conid>+{}`.
    UnsubscribeMarketData {
        /// The contract as subscribed.
        target: String,
    },
    /// `smh+<conid>+{...}`: historical bars, answered once.
    SubscribeHistory {
        /// The contract.
        target: String,
        /// The arguments.
        args: HistoryArgs,
    },
    /// `umh+<serverId>`.
    UnsubscribeHistory {
        /// The server id of the `smh` answer.
        server_id: String,
    },
    /// `sor+{}`: order updates.
    SubscribeOrders,
    /// `uor+{}`.
    UnsubscribeOrders,
    /// `str+{...}`: executions.
    SubscribeTrades(TradesArgs),
    /// `utr+{}`.
    UnsubscribeTrades,
    /// `spl+{}`: profit and loss.
    SubscribePnl,
    /// `upl+{}`.
    UnsubscribePnl,
    /// `ssd+<acct>+{...}`: account summary.
    SubscribeAccountSummary {
        /// The account.
        account: AccountId,
        /// Keys and fields.
        args: AccountArgs,
    },
    /// `usd+<acct>+{}`.
    UnsubscribeAccountSummary {
        /// The account.
        account: AccountId,
    },
    /// `sld+<acct>+{...}`: account ledger.
    SubscribeLedger {
        /// The account.
        account: AccountId,
        /// Keys and fields.
        args: AccountArgs,
    },
    /// `uld+<acct>+{}`.
    UnsubscribeLedger {
        /// The account.
        account: AccountId,
    },
    /// `tic`: keeps the session alive (send about once a minute).
    Tic,
    /// `ech+hb`: the older heartbeat.
    Echo,
    /// `{"session":"<id>"}`: the legacy handshake, the session id from `/tickle`.
    Session(String),
    /// Anything else, as text.
    Other(String),
}

impl ClientMessage {
    /// `smd+<conid>+{"fields":[...]}`.
    pub fn market_data(
        conid: Conid,
        fields: impl IntoIterator<Item = MarketDataField>,
    ) -> ClientMessage {
        ClientMessage::SubscribeMarketData {
            target: conid.to_string(),
            args: MarketDataArgs {
                fields: fields.into_iter().map(|f| f.id().to_string()).collect(),
            },
        }
    }

    /// `umd+<conid>+{}`.
    pub fn unsubscribe_market_data(conid: Conid) -> ClientMessage {
        ClientMessage::UnsubscribeMarketData {
            target: conid.to_string(),
        }
    }

    /// `ssd+<acct>+{}`: every summary value.
    pub fn account_summary(account: &AccountId) -> ClientMessage {
        ClientMessage::SubscribeAccountSummary {
            account: account.clone(),
            args: AccountArgs::default(),
        }
    }

    /// `sld+<acct>+{}`: every currency and field of the ledger.
    pub fn ledger(account: &AccountId) -> ClientMessage {
        ClientMessage::SubscribeLedger {
            account: account.clone(),
            args: AccountArgs::default(),
        }
    }

    /// `str+{}`, or `str+{"realtimeUpdatesOnly":true}`.
    pub fn trades(realtime_only: bool) -> ClientMessage {
        ClientMessage::SubscribeTrades(TradesArgs {
            realtime_updates_only: realtime_only.then_some(true),
            days: None,
        })
    }

    /// The topic the answers to this subscription carry (`smd+265598`, `sor`, ...), or
    /// `None` for messages that are not subscriptions.
    pub fn topic(&self) -> Option<String> {
        Some(match self {
            ClientMessage::SubscribeMarketData { target, .. } => format!("smd+{target}"),
            ClientMessage::SubscribeHistory { target, .. } => format!("smh+{target}"),
            ClientMessage::SubscribeOrders => "sor".into(),
            ClientMessage::SubscribeTrades(_) => "str".into(),
            ClientMessage::SubscribePnl => "spl".into(),
            ClientMessage::SubscribeAccountSummary { account, .. } => format!("ssd+{account}"),
            ClientMessage::SubscribeLedger { account, .. } => format!("sld+{account}"),
            _ => return None,
        })
    }

    /// Reads a message as sent by a client. Text that is not a known message is
    /// [`ClientMessage::Other`]; a known topic with arguments that do not parse is too.
    pub fn parse(text: &str) -> ClientMessage {
        let t = text.trim();
        let other = || ClientMessage::Other(text.to_string());
        if t == "tic" {
            return ClientMessage::Tic;
        }
        if t == "ech+hb" {
            return ClientMessage::Echo;
        }
        if t.starts_with('{') {
            #[derive(Deserialize)]
            struct Session {
                session: String,
            }
            return serde_json::from_str::<Session>(t)
                .map(|s| ClientMessage::Session(s.session))
                .unwrap_or_else(|_| other());
        }
        // TOPIC[+TARGET][+{JSON}]
        let (head, json) = match t.find("+{").or_else(|| t.find('{')) {
            Some(i) => {
                let j = if t[i..].starts_with('+') { i + 1 } else { i };
                (&t[..i], Some(&t[j..]))
            }
            None => (t, None),
        };
        let (topic, target) = match head.split_once('+') {
            Some((a, b)) => (a, Some(b)),
            None => (head, None),
        };
        let target_str = target.map(str::to_string);
        let args_or_default = |json: Option<&str>| -> Option<Value> {
            match json {
                None => Some(Value::Object(Default::default())),
                Some(j) => serde_json::from_str(j).ok(),
            }
        };
        fn args<T: serde::de::DeserializeOwned + Default>(v: Option<Value>) -> Option<T> {
            match v {
                Some(Value::Object(m)) if m.is_empty() => Some(T::default()),
                Some(v) => serde_json::from_value(v).ok(),
                None => None,
            }
        }
        let Some(value) = args_or_default(json) else {
            return other();
        };
        match (topic, target_str) {
            ("smd", Some(target)) if !target.is_empty() => match args(Some(value)) {
                Some(args) => ClientMessage::SubscribeMarketData { target, args },
                None => other(),
            },
            ("umd", Some(target)) if !target.is_empty() => {
                ClientMessage::UnsubscribeMarketData { target }
            }
            ("smh", Some(target)) if !target.is_empty() => match args(Some(value)) {
                Some(args) => ClientMessage::SubscribeHistory { target, args },
                None => other(),
            },
            ("umh", Some(server_id)) if !server_id.is_empty() => {
                ClientMessage::UnsubscribeHistory { server_id }
            }
            ("sor", None) => ClientMessage::SubscribeOrders,
            ("uor", None) => ClientMessage::UnsubscribeOrders,
            ("str", None) => match args(Some(value)) {
                Some(a) => ClientMessage::SubscribeTrades(a),
                None => other(),
            },
            ("utr", None) => ClientMessage::UnsubscribeTrades,
            ("spl", None) => ClientMessage::SubscribePnl,
            ("upl", None) => ClientMessage::UnsubscribePnl,
            ("ssd", Some(a)) if !a.is_empty() => match args(Some(value)) {
                Some(args) => ClientMessage::SubscribeAccountSummary {
                    account: AccountId::from(a.as_str()),
                    args,
                },
                None => other(),
            },
            ("usd", Some(a)) if !a.is_empty() => ClientMessage::UnsubscribeAccountSummary {
                account: AccountId::from(a.as_str()),
            },
            ("sld", Some(a)) if !a.is_empty() => match args(Some(value)) {
                Some(args) => ClientMessage::SubscribeLedger {
                    account: AccountId::from(a.as_str()),
                    args,
                },
                None => other(),
            },
            ("uld", Some(a)) if !a.is_empty() => ClientMessage::UnsubscribeLedger {
                account: AccountId::from(a.as_str()),
            },
            _ => other(),
        }
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

impl fmt::Display for ClientMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientMessage::SubscribeMarketData { target, args } => {
                write!(f, "smd+{target}+{}", json(args))
            }
            ClientMessage::UnsubscribeMarketData { target } => write!(f, "umd+{target}+{{}}"),
            ClientMessage::SubscribeHistory { target, args } => {
                write!(f, "smh+{target}+{}", json(args))
            }
            ClientMessage::UnsubscribeHistory { server_id } => write!(f, "umh+{server_id}"),
            ClientMessage::SubscribeOrders => f.write_str("sor+{}"),
            ClientMessage::UnsubscribeOrders => f.write_str("uor+{}"),
            ClientMessage::SubscribeTrades(args) => write!(f, "str+{}", json(args)),
            ClientMessage::UnsubscribeTrades => f.write_str("utr+{}"),
            ClientMessage::SubscribePnl => f.write_str("spl+{}"),
            ClientMessage::UnsubscribePnl => f.write_str("upl+{}"),
            ClientMessage::SubscribeAccountSummary { account, args } => {
                write!(f, "ssd+{account}+{}", json(args))
            }
            ClientMessage::UnsubscribeAccountSummary { account } => {
                write!(f, "usd+{account}+{{}}")
            }
            ClientMessage::SubscribeLedger { account, args } => {
                write!(f, "sld+{account}+{}", json(args))
            }
            ClientMessage::UnsubscribeLedger { account } => write!(f, "uld+{account}+{{}}"),
            ClientMessage::Tic => f.write_str("tic"),
            ClientMessage::Echo => f.write_str("ech+hb"),
            ClientMessage::Session(s) => {
                write!(f, "{}", json(&serde_json::json!({ "session": s })))
            }
            ClientMessage::Other(t) => f.write_str(t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_round_trip_through_their_text() {
        let acct = AccountId::from("DU1234567");
        let all = [
            ClientMessage::market_data(Conid(8314), [MarketDataField::Last]),
            ClientMessage::unsubscribe_market_data(Conid(8314)),
            ClientMessage::SubscribeHistory {
                target: "265598".into(),
                args: HistoryArgs {
                    period: Some("2h".into()),
                    bar: Some("5min".into()),
                    ..Default::default()
                },
            },
            ClientMessage::UnsubscribeHistory {
                server_id: "341115".into(),
            },
            ClientMessage::SubscribeOrders,
            ClientMessage::UnsubscribeOrders,
            ClientMessage::trades(true),
            ClientMessage::trades(false),
            ClientMessage::UnsubscribeTrades,
            ClientMessage::SubscribePnl,
            ClientMessage::UnsubscribePnl,
            ClientMessage::account_summary(&acct),
            ClientMessage::UnsubscribeAccountSummary {
                account: acct.clone(),
            },
            ClientMessage::ledger(&acct),
            ClientMessage::UnsubscribeLedger {
                account: acct.clone(),
            },
            ClientMessage::Tic,
            ClientMessage::Echo,
            ClientMessage::Session("abc".into()),
        ];
        for m in all {
            assert_eq!(ClientMessage::parse(&m.to_string()), m, "{m}");
        }
        assert_eq!(
            ClientMessage::parse("xyz+{}"),
            ClientMessage::Other("xyz+{}".into())
        );
        assert_eq!(
            ClientMessage::parse("smd+1+{not json"),
            ClientMessage::Other("smd+1+{not json".into())
        );
        assert_eq!(ClientMessage::parse("spl{}"), ClientMessage::SubscribePnl);
        assert_eq!(
            ClientMessage::parse(r#"sld+DU1+{"keys":["LedgerListBASE"]}"#),
            ClientMessage::SubscribeLedger {
                account: AccountId::from("DU1"),
                args: AccountArgs {
                    keys: vec!["LedgerListBASE".into()],
                    fields: vec![]
                }
            }
        );
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        assert!(ServerFrame::decode("not json").is_err());
        let e = ServerFrame::decode(r#"{"topic":"sor","args":{"x":1}}"#).unwrap_err();
        assert_eq!(e.topic.as_deref(), Some("sor"));
        assert!(matches!(
            ServerFrame::decode(r#"{"topic":"zzz","a":1}"#),
            Ok(ServerFrame::Unknown(_))
        ));
        assert!(matches!(
            ServerFrame::decode("[1,2]"),
            Err(FrameError { topic: None, .. })
        ));
    }
}
