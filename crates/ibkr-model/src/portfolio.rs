//! Portfolio: accounts, summary, ledger, allocation, positions, and Portfolio Analyst.
//!
//! Endpoints: `/portfolio/accounts`, `/portfolio/subaccounts`, `/portfolio/subaccounts2`,
//! `/portfolio/{accountId}/meta`, `/portfolio/{accountId}/summary`,
//! `/portfolio/{accountId}/ledger`, `/portfolio/{accountId}/allocation`,
//! `POST /portfolio/allocation`, `/portfolio/{accountId}/positions/{page}`,
//! `/portfolio2/{accountId}/positions`, `/portfolio/{accountId}/position/{conid}`,
//! `/portfolio/positions/{conid}`, `POST /portfolio/{accountId}/positions/invalidate`,
//! `/portfolio/{accountId}/combo/positions`, and `POST /pa/performance`,
//! `POST /pa/transactions`, `POST /pa/allperiods`.
//!
//! Nullable fields follow [`crate::contracts`]: a field IBKR always sends, sometimes as
//! `null`, is an `Option<T>` that is always written; a field it sometimes omits and
//! sometimes sends as `null` is an `Option<Option<T>>`.
//!
//! ```
//! use ibkr_model::portfolio::Position;
//! use ibkr_model::contracts::Conid;
//! use rust_decimal::Decimal;
//!
//! let body = r#"[{"acctId":"U1234567","conid":756733,"contractDesc":"SPY","position":44.0,
//!   "mktPrice":655.8945923,"mktValue":28859.36,"currency":"USD","avgCost":652.47477275,
//!   "avgPrice":652.47477275,"realizedPnl":0.0,"unrealizedPnl":150.47,"exchs":null,
//!   "expiry":null,"putOrCall":null,"multiplier":null,"strike":0.0,"exerciseStyle":null,
//!   "conExchMap":[],"assetClass":"STK","undConid":0,"model":""}]"#;
//! let positions: Vec<Position> = serde_json::from_str(body).unwrap();
//! assert_eq!(positions[0].conid, Conid(756733));
//! assert_eq!(positions[0].mkt_value, "28859.36".parse::<Decimal>().unwrap());
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::Extra;
use crate::accounts::AccountId;
use crate::contracts::{Conid, DisplayRule, IncrementRule, Right, SecType, code_enum};
use crate::time::EpochMillis;

// ---------------------------------------------------------------------------------------
// Shared value types

/// A time sent as a Unix timestamp whose unit varies: the recorded gateway answers of
/// `/portfolio/{accountId}/summary`, `/ledger` and `/portfolio2/.../positions` use
/// **seconds** (e.g. `1775169606`), IBKR's spec examples of the summary use milliseconds
/// (`1712156105000`). The number is kept as sent; [`UnixTime::to_datetime`] tells the
/// units apart by size.
///
/// ```
/// use ibkr_model::portfolio::UnixTime;
/// let s = UnixTime(1775169606).to_datetime().unwrap();
/// let ms = UnixTime(1775169606000).to_datetime().unwrap();
/// assert_eq!(s, ms);
/// assert_eq!(s.to_rfc3339(), "2026-04-02T22:40:06+00:00");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// Values below this are seconds (it is the year 5138 in seconds, 1973 in ms).
    const MILLIS_THRESHOLD: i64 = 100_000_000_000;

    /// The instant, reading the number as seconds or milliseconds by its size.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        if self.0.abs() < Self::MILLIS_THRESHOLD {
            Utc.timestamp_opt(self.0, 0).single()
        } else {
            Utc.timestamp_millis_opt(self.0).single()
        }
    }

    /// Seconds since the epoch, as the gateway sends them.
    pub fn from_datetime_secs(t: DateTime<Utc>) -> Self {
        UnixTime(t.timestamp())
    }
}

/// A decimal IBKR sends as a number in some answers and as a string in others, for the
/// same field (e.g. a position's `strike`: `0.0` or `"0"`); the form is kept so that
/// re-encoding gives back what was received.
///
/// ```
/// use ibkr_model::portfolio::MixedDecimal;
/// use rust_decimal::Decimal;
/// let a: MixedDecimal = serde_json::from_str(r#""440""#).unwrap();
/// let b: MixedDecimal = serde_json::from_str("440.0").unwrap();
/// assert_eq!(a.value(), b.value());
/// assert_eq!(serde_json::to_string(&a).unwrap(), r#""440""#);
/// assert_eq!(serde_json::to_string(&b).unwrap(), "440.0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MixedDecimal {
    /// Sent as a JSON number.
    Number(Decimal),
    /// Sent as a JSON string.
    Text(Decimal),
}

impl MixedDecimal {
    /// The value, whatever its form.
    pub fn value(self) -> Decimal {
        match self {
            MixedDecimal::Number(d) | MixedDecimal::Text(d) => d,
        }
    }
}

impl Default for MixedDecimal {
    fn default() -> Self {
        MixedDecimal::Number(Decimal::ZERO)
    }
}

impl From<Decimal> for MixedDecimal {
    fn from(d: Decimal) -> Self {
        MixedDecimal::Number(d)
    }
}

impl fmt::Display for MixedDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value().fmt(f)
    }
}

impl Serialize for MixedDecimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MixedDecimal::Number(d) => crate::num::number::serialize(d, s),
            MixedDecimal::Text(d) => crate::num::string::serialize(d, s),
        }
    }
}

impl<'de> Deserialize<'de> for MixedDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => crate::num::parse_decimal(&s)
                .map(MixedDecimal::Text)
                .map_err(|e| de::Error::custom(format!("{s:?} is not a decimal number: {e}"))),
            serde_json::Value::Number(n) => crate::num::decimal_from_number(&n)
                .map(MixedDecimal::Number)
                .map_err(|e| de::Error::custom(format!("{n}: {e}"))),
            other => Err(de::Error::custom(format!(
                "expected a decimal number or numeric string, got {other}"
            ))),
        }
    }
}

/// Serde helper for a map of names to decimals sent as JSON numbers.
mod decimal_map {
    use std::collections::BTreeMap;

    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer, de, ser};

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Decimal>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = BTreeMap::new();
        for (k, d) in m {
            let n = crate::num::decimal_to_number(*d)
                .ok_or_else(|| ser::Error::custom(format!("{d} is not a JSON number")))?;
            out.insert(k, n);
        }
        s.collect_map(out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Decimal>, D::Error> {
        BTreeMap::<String, serde_json::Number>::deserialize(d)?
            .into_iter()
            .map(|(k, n)| {
                crate::num::decimal_from_number(&n)
                    .map(|d| (k, d))
                    .map_err(|e| de::Error::custom(format!("{n}: {e}")))
            })
            .collect()
    }
}

code_enum! {
    /// An account's clearing status (`clearingStatus`).
    ClearingStatus {
        /// `O`: open.
        Open = "O",
        /// `P`: pending.
        Pending = "P",
        /// `N`: pending (not yet approved).
        PendingNew = "N",
        /// `A`: abandoned.
        Abandoned = "A",
        /// `R`: rejected.
        Rejected = "R",
        /// `C`: closed.
        Closed = "C",
    }
}

// ---------------------------------------------------------------------------------------
// /portfolio/accounts, /portfolio/subaccounts, /portfolio/subaccounts2, /portfolio/{acct}/meta

/// An account as `/portfolio/accounts`, `/portfolio/subaccounts` and
/// `/portfolio/subaccounts2` list it (answers are lists of these), and the answer of
/// `/portfolio/{accountId}/meta`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PortfolioAccount {
    /// The account id (same as `accountId`).
    pub id: AccountId,
    /// Whether Zero Hash crypto is prepaid.
    #[serde(
        rename = "PrepaidCrypto-Z",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prepaid_crypto_z: Option<bool>,
    /// Whether Paxos crypto is prepaid.
    #[serde(
        rename = "PrepaidCrypto-P",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub prepaid_crypto_p: Option<bool>,
    /// Whether the account can be traded through the brokerage session.
    #[serde(
        rename = "brokerageAccess",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub brokerage_access: Option<bool>,
    /// The account id.
    #[serde(rename = "accountId")]
    pub account_id: AccountId,
    /// The account's VAN (usually its id).
    #[serde(
        rename = "accountVan",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_van: Option<String>,
    /// Title (holder's name).
    #[serde(
        rename = "accountTitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_title: Option<String>,
    /// Display name.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// User-set alias; `null` when none.
    #[serde(
        rename = "accountAlias",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub account_alias: Option<Option<String>>,
    /// When the account was opened.
    #[serde(
        rename = "accountStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_status: Option<EpochMillis>,
    /// Base currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Account type, e.g. `DEMO`, `INDIVIDUAL`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// Trading permissions, e.g. `STKNOPT`.
    #[serde(
        rename = "tradingType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trading_type: Option<String>,
    /// Business type, e.g. `INDEPENDENT`, `IB_SALES`.
    #[serde(
        rename = "businessType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub business_type: Option<String>,
    /// Category; often empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The IBKR entity holding the account, e.g. `IBLLC-US`.
    #[serde(rename = "ibEntity", default, skip_serializing_if = "Option::is_none")]
    pub ib_entity: Option<String>,
    /// Whether it is an advisor's client account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faclient: Option<bool>,
    /// Clearing status, `O` when open.
    #[serde(
        rename = "clearingStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub clearing_status: Option<ClearingStatus>,
    /// Whether it is a Covestor account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covestor: Option<bool>,
    /// Whether the client may not trade.
    #[serde(
        rename = "noClientTrading",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub no_client_trading: Option<bool>,
    /// Whether virtual FX positions are tracked.
    #[serde(
        rename = "trackVirtualFXPortfolio",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub track_virtual_fx_portfolio: Option<bool>,
    /// Customer type, e.g. `INDIVIDUAL`, `LLC`.
    #[serde(
        rename = "acctCustType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub acct_cust_type: Option<String>,
    /// Multiplex / money-manager parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<AccountParent>,
    /// Description (the account id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PortfolioAccount {
    /// An account with its id set in `id`, `accountId`, `accountVan` and `desc`, other
    /// fields unset.
    pub fn new(account_id: impl Into<AccountId>) -> Self {
        let account_id = account_id.into();
        PortfolioAccount {
            id: account_id.clone(),
            account_van: Some(account_id.0.clone()),
            desc: Some(account_id.0.clone()),
            account_id,
            ..Default::default()
        }
    }
}

/// The `parent` of a [`PortfolioAccount`] (multiplex / money-manager structures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AccountParent {
    /// Money-manager client accounts.
    #[serde(default)]
    pub mmc: Vec<String>,
    /// The parent account; empty when none.
    #[serde(rename = "accountId", default)]
    pub account_id: String,
    /// Whether this is a multiplex parent.
    #[serde(rename = "isMParent", default, skip_serializing_if = "Option::is_none")]
    pub is_m_parent: Option<bool>,
    /// Whether this is a multiplex child.
    #[serde(rename = "isMChild", default, skip_serializing_if = "Option::is_none")]
    pub is_m_child: Option<bool>,
    /// Whether this is a multiplex account.
    #[serde(
        rename = "isMultiplex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_multiplex: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AccountParent {
    /// No parent: empty id, every flag `false`.
    pub fn new() -> Self {
        AccountParent {
            is_m_parent: Some(false),
            is_m_child: Some(false),
            is_multiplex: Some(false),
            ..Default::default()
        }
    }
}

/// Answer of `GET /portfolio/subaccounts2?page=N`. The recorded gateway answers a plain
/// list (like `/portfolio/subaccounts`); IBKR's docs describe a page object. Both are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum SubAccounts2 {
    /// A plain list, as recorded.
    List(Vec<PortfolioAccount>),
    /// A page with metadata, as documented.
    Page(SubAccountsPage),
}

impl SubAccounts2 {
    /// The accounts, whatever the form.
    pub fn accounts(&self) -> &[PortfolioAccount] {
        match self {
            SubAccounts2::List(l) => l,
            SubAccounts2::Page(p) => &p.subaccounts,
        }
    }
}

impl Default for SubAccounts2 {
    fn default() -> Self {
        SubAccounts2::List(Vec::new())
    }
}

/// The documented page form of `/portfolio/subaccounts2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SubAccountsPage {
    /// Page information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<SubAccountsMetadata>,
    /// The accounts of this page (up to 20).
    pub subaccounts: Vec<PortfolioAccount>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SubAccountsPage {
    /// A page of accounts, without metadata.
    pub fn new(subaccounts: Vec<PortfolioAccount>) -> Self {
        SubAccountsPage {
            subaccounts,
            ..Default::default()
        }
    }
}

/// The `metadata` of a [`SubAccountsPage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SubAccountsMetadata {
    /// Number of sub-accounts in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Accounts per page.
    #[serde(rename = "pageSize", default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
    /// This page's number.
    #[serde(rename = "pageNum", default, skip_serializing_if = "Option::is_none")]
    pub page_num: Option<u64>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SubAccountsMetadata {
    /// Metadata with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

// ---------------------------------------------------------------------------------------
// /portfolio/{acct}/summary

/// Answer of `GET /portfolio/{accountId}/summary`: values by key (`netliquidation`,
/// `totalcashvalue`, `buyingpower`, ...; `-c` and `-s` suffixes for the commodities and
/// securities segments).
///
/// ```
/// use ibkr_model::portfolio::PortfolioSummary;
/// let s: PortfolioSummary = serde_json::from_str(r#"{"netliquidation":{"amount":1005165.5,
///   "currency":"USD","isNull":false,"timestamp":1775169606,"value":"1005165.5","severity":0}}"#).unwrap();
/// assert_eq!(s.net_liquidation().unwrap().to_string(), "1005165.5");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
#[non_exhaustive]
pub struct PortfolioSummary {
    /// Values by key.
    pub values: BTreeMap<String, SummaryValue>,
}

impl PortfolioSummary {
    /// A summary of these values.
    pub fn new(values: BTreeMap<String, SummaryValue>) -> Self {
        PortfolioSummary { values }
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&SummaryValue> {
        self.values.get(key)
    }

    /// The amount of a key, unless IBKR marks it null.
    pub fn amount(&self, key: &str) -> Option<Decimal> {
        self.get(key).filter(|v| !v.is_null).map(|v| v.amount)
    }

    /// `netliquidation`: net liquidation value.
    pub fn net_liquidation(&self) -> Option<Decimal> {
        self.amount("netliquidation")
    }

    /// `totalcashvalue`: total cash.
    pub fn total_cash_value(&self) -> Option<Decimal> {
        self.amount("totalcashvalue")
    }

    /// `buyingpower`: buying power.
    pub fn buying_power(&self) -> Option<Decimal> {
        self.amount("buyingpower")
    }

    /// `availablefunds`: available funds.
    pub fn available_funds(&self) -> Option<Decimal> {
        self.amount("availablefunds")
    }

    /// `excessliquidity`: excess liquidity.
    pub fn excess_liquidity(&self) -> Option<Decimal> {
        self.amount("excessliquidity")
    }

    /// `initmarginreq`: initial margin requirement.
    pub fn init_margin_req(&self) -> Option<Decimal> {
        self.amount("initmarginreq")
    }

    /// `maintmarginreq`: maintenance margin requirement.
    pub fn maint_margin_req(&self) -> Option<Decimal> {
        self.amount("maintmarginreq")
    }

    /// `accountcode`: the account id, from the text value.
    pub fn account_code(&self) -> Option<&str> {
        self.get("accountcode")?.value.as_deref()
    }
}

/// One value of [`PortfolioSummary`]: an amount (with currency) or a text value
/// (`accountcode`, `accounttype`, ...; its `amount` is then 0 and `currency` null).
/// The recorded gateway sends `value` as the amount's text as well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SummaryValue {
    /// The amount.
    #[serde(with = "crate::num::number")]
    pub amount: Decimal,
    /// Currency of the amount; `null` for text values.
    #[serde(default)]
    pub currency: Option<String>,
    /// Whether the value is missing.
    #[serde(rename = "isNull", default)]
    pub is_null: bool,
    /// When the value was computed (seconds in recordings, ms in IBKR's examples).
    pub timestamp: UnixTime,
    /// Text value; `null` in IBKR's examples for amounts, the amount's text in recordings.
    #[serde(default)]
    pub value: Option<String>,
    /// Severity, 0 normally.
    #[serde(default)]
    pub severity: i64,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SummaryValue {
    /// An amount in a currency, with its text in `value` as the gateway sends it.
    pub fn amount(amount: Decimal, currency: impl Into<String>, timestamp: UnixTime) -> Self {
        SummaryValue {
            amount,
            currency: Some(currency.into()),
            timestamp,
            value: Some(amount.to_string()),
            ..Default::default()
        }
    }

    /// A text value (e.g. `accountcode`).
    pub fn text(value: impl Into<String>, timestamp: UnixTime) -> Self {
        SummaryValue {
            timestamp,
            value: Some(value.into()),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// /portfolio/{acct}/ledger

/// Answer of `GET /portfolio/{accountId}/ledger`: an entry per currency held, and `BASE`
/// for the total in the base currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
#[non_exhaustive]
pub struct Ledger {
    /// Entries by currency code, and `BASE`.
    pub currencies: BTreeMap<String, LedgerEntry>,
}

impl Ledger {
    /// A ledger of these entries.
    pub fn new(currencies: BTreeMap<String, LedgerEntry>) -> Self {
        Ledger { currencies }
    }

    /// The entry in the base currency (`BASE`).
    pub fn base(&self) -> Option<&LedgerEntry> {
        self.currencies.get("BASE")
    }

    /// The entry of a currency, e.g. `USD`.
    pub fn currency(&self, code: &str) -> Option<&LedgerEntry> {
        self.currencies.get(code)
    }
}

macro_rules! ledger_amounts {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident ),* $(,)?
        }
        other { $($rest:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::num::number::opt")]
                pub $field: Option<Decimal>,
            )*
            $($rest)*
        }
    };
}

ledger_amounts! {
    /// Balances in one currency of [`Ledger`]. IBKR names the fields in lower case without
    /// separators; the field names here are the same.
    pub struct LedgerEntry {
        /// Commodity market value.
        commoditymarketvalue,
        /// Futures market value.
        futuremarketvalue,
        /// Settled cash.
        settledcash,
        /// Exchange rate to the base currency.
        exchangerate,
        /// Cash balance.
        cashbalance,
        /// Corporate bonds market value.
        corporatebondsmarketvalue,
        /// Warrants market value.
        warrantsmarketvalue,
        /// Net liquidation value.
        netliquidationvalue,
        /// Accrued interest.
        interest,
        /// Unrealised profit and loss.
        unrealizedpnl,
        /// Stock market value.
        stockmarketvalue,
        /// Money funds.
        moneyfunds,
        /// Realised profit and loss.
        realizedpnl,
        /// Funds.
        funds,
        /// Issuer options market value.
        issueroptionsmarketvalue,
        /// Stock options market value.
        stockoptionmarketvalue,
        /// Futures-only profit and loss.
        futuresonlypnl,
        /// Treasury bonds market value.
        tbondsmarketvalue,
        /// Futures options market value.
        futureoptionmarketvalue,
        /// Cash balance in the FX segment.
        cashbalancefxsegment,
        /// Treasury bills market value.
        tbillsmarketvalue,
        /// Dividends receivable.
        dividends,
        /// Crypto currency value.
        cryptocurrencyvalue,
    }
    other {
        /// Currency code, or `BASE`.
        pub currency: String,
        /// The account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub acctcode: Option<AccountId>,
        /// Internal key, `LedgerList`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub key: Option<String>,
        /// Secondary key: the currency again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub secondkey: Option<String>,
        /// Internal session id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub sessionid: Option<i64>,
        /// Severity, 0 normally.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub severity: Option<i64>,
        /// When the entry was computed (seconds in every sample).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timestamp: Option<UnixTime>,
        /// Internal end-of-bundle marker, 1 on some entries.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub endofbundle: Option<i64>,
        /// Fields not modelled above.
        #[serde(flatten)]
        pub extra: Extra,
    }
}

impl LedgerEntry {
    /// An entry for a currency with a cash balance (settled), other fields unset.
    pub fn new(currency: impl Into<String>, cashbalance: Decimal) -> Self {
        let currency = currency.into();
        LedgerEntry {
            secondkey: Some(currency.clone()),
            currency,
            cashbalance: Some(cashbalance),
            settledcash: Some(cashbalance),
            key: Some("LedgerList".to_string()),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// /portfolio/{acct}/allocation, POST /portfolio/allocation

/// Answer of `GET /portfolio/{accountId}/allocation` and `POST /portfolio/allocation`:
/// market value split by asset class, sector and industry group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Allocation {
    /// By asset class (`STK`, `OPT`, `CASH`, ...).
    #[serde(rename = "assetClass", default)]
    pub asset_class: AllocationSplit,
    /// By sector (`Technology`, `Others`, ...).
    #[serde(default)]
    pub sector: AllocationSplit,
    /// By industry group (`Computers`, `Others`, ...).
    #[serde(default)]
    pub group: AllocationSplit,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Allocation {
    /// An empty allocation.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Long and short market value by name, in [`Allocation`]; short values are negative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AllocationSplit {
    /// Long market value by name.
    #[serde(default, with = "decimal_map")]
    pub long: BTreeMap<String, Decimal>,
    /// Short market value by name (negative).
    #[serde(default, with = "decimal_map")]
    pub short: BTreeMap<String, Decimal>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AllocationSplit {
    /// An empty split.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Body of `POST /portfolio/allocation`, `POST /pa/allperiods`: `{"acctIds": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountsRequest {
    /// The accounts.
    #[serde(rename = "acctIds")]
    pub acct_ids: Vec<AccountId>,
}

impl AccountsRequest {
    /// A request for these accounts.
    pub fn new(acct_ids: Vec<AccountId>) -> Self {
        AccountsRequest { acct_ids }
    }
}

// ---------------------------------------------------------------------------------------
// Positions

/// Query of `GET /portfolio/{accountId}/positions/{pageId}` and
/// `GET /portfolio2/{accountId}/positions` (all optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PositionsQuery {
    /// Model portfolio to compare against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Field to sort by (default `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// `a` ascending (default) or `d` descending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// Wait for the contract details of every position (`/portfolio` only).
    #[serde(
        rename = "waitForSecDef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_for_sec_def: Option<bool>,
}

impl PositionsQuery {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A position, as `/portfolio/{accountId}/positions/{pageId}`,
/// `/portfolio/{accountId}/position/{conid}`, `/portfolio/positions/{conid}` and
/// `/portfolio/{accountId}/combo/positions` send it (answers are lists of these).
///
/// The core fields are always sent. The contract details from `incrementRules` on are
/// sent only once IBKR has loaded the contract's definition (compare the two accounts of
/// `/portfolio/positions/{conid}`). The deprecated fields `exchs`, `expiry`, `putOrCall`,
/// `multiplier`, `exerciseStyle` are always sent, usually `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Position {
    /// The account holding the position.
    #[serde(rename = "acctId")]
    pub acct_id: AccountId,
    /// The contract.
    pub conid: Conid,
    /// Contract description, e.g. `SPY` or `SPY    JAN2025 440 C [SPY   250117C00440000 100]`.
    #[serde(rename = "contractDesc")]
    pub contract_desc: String,
    /// Size; negative when short, fractional for fractional shares and crypto.
    #[serde(with = "crate::num::number")]
    pub position: Decimal,
    /// Market price.
    #[serde(rename = "mktPrice", with = "crate::num::number")]
    pub mkt_price: Decimal,
    /// Market value.
    #[serde(rename = "mktValue", with = "crate::num::number")]
    pub mkt_value: Decimal,
    /// Currency of the contract.
    pub currency: String,
    /// Average cost per unit, times the multiplier.
    #[serde(rename = "avgCost", with = "crate::num::number")]
    pub avg_cost: Decimal,
    /// Average price per unit.
    #[serde(rename = "avgPrice", with = "crate::num::number")]
    pub avg_price: Decimal,
    /// Realised profit and loss.
    #[serde(rename = "realizedPnl", with = "crate::num::number")]
    pub realized_pnl: Decimal,
    /// Unrealised profit and loss.
    #[serde(rename = "unrealizedPnl", with = "crate::num::number")]
    pub unrealized_pnl: Decimal,
    /// Deprecated, `null`.
    #[serde(default)]
    pub exchs: Option<String>,
    /// Expiry `YYYYMMDD` for derivatives once the contract is loaded; otherwise `null`.
    #[serde(default)]
    pub expiry: Option<String>,
    /// Right of an option once the contract is loaded; otherwise `null`.
    #[serde(rename = "putOrCall", default)]
    pub put_or_call: Option<Right>,
    /// Multiplier: `null`, `0.0` for stocks, `100.0` for equity options.
    #[serde(default, with = "crate::num::number::opt")]
    pub multiplier: Option<Decimal>,
    /// Strike: `0.0` (number) before the contract is loaded, a string (`"440"`, `"0"`) after.
    #[serde(default)]
    pub strike: MixedDecimal,
    /// Deprecated, `null`.
    #[serde(rename = "exerciseStyle", default)]
    pub exercise_style: Option<String>,
    /// Deprecated, empty.
    #[serde(
        rename = "conExchMap",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub con_exch_map: Option<Vec<serde_json::Value>>,
    /// Security type.
    #[serde(rename = "assetClass")]
    pub asset_class: SecType,
    /// Underlying contract; 0 when none or not yet loaded.
    #[serde(rename = "undConid", default, skip_serializing_if = "Option::is_none")]
    pub und_conid: Option<Conid>,
    /// Model portfolio; empty when none (not sent by 2022 gateways).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Price increments (from here on: contract details, sent once loaded).
    #[serde(
        rename = "incrementRules",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub increment_rules: Option<Vec<IncrementRule>>,
    /// Price display rule.
    #[serde(
        rename = "displayRule",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_rule: Option<DisplayRule>,
    /// Whether the contract trades in another currency than the account's.
    #[serde(
        rename = "crossCurrency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cross_currency: Option<bool>,
    /// Internal timing counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// Chinese name, as HTML character references.
    #[serde(
        rename = "chineseName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub chinese_name: Option<String>,
    /// Exchanges, comma-separated.
    #[serde(
        rename = "allExchanges",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub all_exchanges: Option<String>,
    /// Listing exchange.
    #[serde(
        rename = "listingExchange",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub listing_exchange: Option<String>,
    /// Country code, e.g. `US`.
    #[serde(
        rename = "countryCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub country_code: Option<String>,
    /// Company or instrument name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Last trading day `YYYYMMDD` of a derivative; `null` for others.
    #[serde(
        rename = "lastTradingDay",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub last_trading_day: Option<Option<String>>,
    /// Industry group; `null` when unknown.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub group: Option<Option<String>>,
    /// Sector; `null` when unknown.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub sector: Option<Option<String>>,
    /// Sector group; `null` when unknown.
    #[serde(
        rename = "sectorGroup",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub sector_group: Option<Option<String>>,
    /// Ticker symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticker: Option<String>,
    /// Stock type, e.g. `COMMON`, `ETF`; empty for others.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub stock_type: Option<String>,
    /// Underlying company name (derivatives).
    #[serde(rename = "undComp", default, skip_serializing_if = "Option::is_none")]
    pub und_comp: Option<String>,
    /// Underlying symbol (derivatives).
    #[serde(rename = "undSym", default, skip_serializing_if = "Option::is_none")]
    pub und_sym: Option<String>,
    /// Whether options are listed on it.
    #[serde(
        rename = "hasOptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_options: Option<bool>,
    /// Full name, e.g. `SPY Jan17'25 440 Call`.
    #[serde(rename = "fullName", default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Whether it is a US contract.
    #[serde(rename = "isUS", default, skip_serializing_if = "Option::is_none")]
    pub is_us: Option<bool>,
    /// Whether it is an event contract.
    #[serde(
        rename = "isEventContract",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_event_contract: Option<bool>,
    /// Positions per page (100).
    #[serde(rename = "pageSize", default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Position {
    /// A position in the short form (before contract details are loaded): the deprecated
    /// fields `null`, `strike` 0.0, `conExchMap` empty, `undConid` 0, `model` empty.
    pub fn new(
        acct_id: impl Into<AccountId>,
        conid: Conid,
        contract_desc: impl Into<String>,
        asset_class: SecType,
        currency: impl Into<String>,
    ) -> Self {
        Position {
            acct_id: acct_id.into(),
            conid,
            contract_desc: contract_desc.into(),
            position: Decimal::ZERO,
            mkt_price: Decimal::ZERO,
            mkt_value: Decimal::ZERO,
            currency: currency.into(),
            avg_cost: Decimal::ZERO,
            avg_price: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            unrealized_pnl: Decimal::ZERO,
            exchs: None,
            expiry: None,
            put_or_call: None,
            multiplier: None,
            strike: MixedDecimal::Number(Decimal::ZERO),
            exercise_style: None,
            con_exch_map: Some(Vec::new()),
            asset_class,
            und_conid: Some(Conid(0)),
            model: Some(String::new()),
            increment_rules: None,
            display_rule: None,
            cross_currency: None,
            time: None,
            chinese_name: None,
            all_exchanges: None,
            listing_exchange: None,
            country_code: None,
            name: None,
            last_trading_day: None,
            group: None,
            sector: None,
            sector_group: None,
            ticker: None,
            stock_type: None,
            und_comp: None,
            und_sym: None,
            has_options: None,
            full_name: None,
            is_us: None,
            is_event_contract: None,
            page_size: None,
            extra: Extra::new(),
        }
    }
}

/// Answer of `GET /portfolio/positions/{conid}`: the positions in one contract, by
/// account.
pub type PositionsByAccount = BTreeMap<AccountId, Vec<Position>>;

/// A position as `GET /portfolio2/{accountId}/positions` sends it (the answer is a list):
/// near-real-time, with different names than [`Position`] and the conid as a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Position2 {
    /// Size; negative when short.
    #[serde(with = "crate::num::number")]
    pub position: Decimal,
    /// The contract (sent as a string).
    #[serde(with = "crate::num::display")]
    pub conid: Conid,
    /// Average cost per unit, times the multiplier.
    #[serde(rename = "avgCost", with = "crate::num::number")]
    pub avg_cost: Decimal,
    /// Average price per unit.
    #[serde(rename = "avgPrice", with = "crate::num::number")]
    pub avg_price: Decimal,
    /// Currency of the contract.
    pub currency: String,
    /// Description, e.g. `SPY`.
    pub description: String,
    /// Internal flag.
    #[serde(
        rename = "isLastToLoq",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_last_to_loq: Option<bool>,
    /// Market price.
    #[serde(rename = "marketPrice", with = "crate::num::number")]
    pub market_price: Decimal,
    /// Market value.
    #[serde(rename = "marketValue", with = "crate::num::number")]
    pub market_value: Decimal,
    /// Realised profit and loss.
    #[serde(rename = "realizedPnl", with = "crate::num::number")]
    pub realized_pnl: Decimal,
    /// Security type.
    #[serde(rename = "secType")]
    pub sec_type: SecType,
    /// When the values were computed (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<UnixTime>,
    /// Unrealised profit and loss.
    #[serde(rename = "unrealizedPnl", with = "crate::num::number")]
    pub unrealized_pnl: Decimal,
    /// Asset class.
    #[serde(
        rename = "assetClass",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub asset_class: Option<SecType>,
    /// Sector; `null` when unknown.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub sector: Option<Option<String>>,
    /// Industry group; `null` when unknown.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub group: Option<Option<String>>,
    /// Model portfolio; empty when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Position2 {
    /// A position of a contract, with amounts zero and other fields unset.
    pub fn new(
        conid: Conid,
        description: impl Into<String>,
        sec_type: SecType,
        currency: impl Into<String>,
    ) -> Self {
        Position2 {
            position: Decimal::ZERO,
            conid,
            avg_cost: Decimal::ZERO,
            avg_price: Decimal::ZERO,
            currency: currency.into(),
            description: description.into(),
            is_last_to_loq: None,
            market_price: Decimal::ZERO,
            market_value: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            asset_class: Some(sec_type.clone()),
            sec_type,
            timestamp: None,
            unrealized_pnl: Decimal::ZERO,
            sector: None,
            group: None,
            model: None,
            extra: Extra::new(),
        }
    }
}

/// One combination of `GET /portfolio/{accountId}/combo/positions` (the answer is a list,
/// often empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ComboPosition {
    /// Internal name, e.g. `CP.CP66a00d50`.
    pub name: String,
    /// Ratios and legs, e.g. `1*708474422-1*710225103`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The legs.
    #[serde(default)]
    pub legs: Vec<ComboLeg>,
    /// The position of each leg.
    #[serde(default)]
    pub positions: Vec<Position>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ComboPosition {
    /// A combination with these legs and no positions.
    pub fn new(name: impl Into<String>, legs: Vec<ComboLeg>) -> Self {
        ComboPosition {
            name: name.into(),
            legs,
            ..Default::default()
        }
    }
}

/// A leg of a [`ComboPosition`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ComboLeg {
    /// The leg's contract (sent as a string).
    #[serde(with = "crate::num::display")]
    pub conid: Conid,
    /// Ratio; negative for a sold leg.
    pub ratio: i64,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ComboLeg {
    /// A leg.
    pub fn new(conid: Conid, ratio: i64) -> Self {
        ComboLeg {
            conid,
            ratio,
            extra: Extra::new(),
        }
    }
}

/// Answer of `POST /portfolio/{accountId}/positions/invalidate`: `{"message": "success"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct InvalidateResponse {
    /// `success`.
    pub message: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InvalidateResponse {
    /// The success answer.
    pub fn success() -> Self {
        InvalidateResponse {
            message: "success".to_string(),
            extra: Extra::new(),
        }
    }

    /// Whether the cache was invalidated.
    pub fn is_success(&self) -> bool {
        self.message == "success"
    }
}

// ---------------------------------------------------------------------------------------
// Portfolio Analyst: /pa/performance, /pa/allperiods, /pa/transactions

code_enum! {
    /// A Portfolio Analyst period (`period` of `/pa/performance`, keys of `/pa/allperiods`).
    PaPeriod {
        /// `1D`: the last day.
        OneDay = "1D",
        /// `7D`: the last 7 days.
        SevenDays = "7D",
        /// `MTD`: month to date.
        MonthToDate = "MTD",
        /// `1M`: one month.
        OneMonth = "1M",
        /// `3M`: three months.
        ThreeMonths = "3M",
        /// `6M`: six months.
        SixMonths = "6M",
        /// `12M`: twelve months.
        TwelveMonths = "12M",
        /// `1Y`: one year.
        OneYear = "1Y",
        /// `YTD`: year to date.
        YearToDate = "YTD",
    }
}

/// Body of `POST /pa/performance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PerformanceRequest {
    /// The accounts; several give a consolidated answer.
    #[serde(rename = "acctIds")]
    pub acct_ids: Vec<AccountId>,
    /// The period (IBKR's default `12M`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PaPeriod>,
}

impl PerformanceRequest {
    /// Performance of accounts over a period.
    pub fn new(acct_ids: Vec<AccountId>, period: PaPeriod) -> Self {
        PerformanceRequest {
            acct_ids,
            period: Some(period),
        }
    }
}

/// Body of `POST /pa/transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TransactionsRequest {
    /// The accounts.
    #[serde(rename = "acctIds")]
    pub acct_ids: Vec<AccountId>,
    /// The contract (IBKR accepts one at a time).
    pub conids: Vec<Conid>,
    /// Currency of the amounts (default `USD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Days of history (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

impl TransactionsRequest {
    /// Transactions of accounts in one contract, with IBKR's defaults.
    pub fn new(acct_ids: Vec<AccountId>, conid: Conid) -> Self {
        TransactionsRequest {
            acct_ids,
            conids: vec![conid],
            currency: None,
            days: None,
        }
    }
}

/// Body of `POST /pa/allperiods`.
pub type AllPeriodsRequest = AccountsRequest;

/// Answer of `POST /pa/performance`: cumulative returns (`cps`), returns per period
/// (`tpps`) and net asset values (`nav`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Performance {
    /// `base` when amounts are in the base currency.
    #[serde(
        rename = "currencyType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub currency_type: Option<String>,
    /// Internal return code (0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rc: Option<i64>,
    /// Number of days covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nd: Option<i64>,
    /// Request name, `getPerformanceData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The accounts included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included: Option<Vec<AccountId>>,
    /// Performance measure, `TWR` (time-weighted return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm: Option<String>,
    /// Cumulative returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cps: Option<PerformanceSeries>,
    /// Returns per period (monthly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpps: Option<PerformanceSeries>,
    /// Net asset values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nav: Option<PerformanceSeries>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Performance {
    /// An answer with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A series of [`Performance`]: dates and, per account, the values on those dates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PerformanceSeries {
    /// Frequency: `D` daily, `M` monthly, `Q` quarterly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq: Option<String>,
    /// Dates, `YYYYMMDD` (or `YYYYMM` for monthly).
    #[serde(default)]
    pub dates: Vec<String>,
    /// Values per account.
    #[serde(default)]
    pub data: Vec<PerformanceData>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PerformanceSeries {
    /// An empty series.
    pub fn new() -> Self {
        Self::default()
    }
}

/// One account's values in a [`PerformanceSeries`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PerformanceData {
    /// The account (or consolidation) id.
    pub id: String,
    /// What `id` is, `acctid`.
    #[serde(rename = "idType", default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
    /// First date, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Last date, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Returns as fractions (0.0639 = 6.39 %), in `cps` and `tpps`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_decimal_vec"
    )]
    pub returns: Option<Vec<Decimal>>,
    /// Net asset values, in `nav`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_decimal_vec"
    )]
    pub navs: Option<Vec<Decimal>>,
    /// Net asset value before the first date, in `nav`.
    #[serde(rename = "startNAV", default, skip_serializing_if = "Option::is_none")]
    pub start_nav: Option<StartNav>,
    /// Base currency.
    #[serde(
        rename = "baseCurrency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub base_currency: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PerformanceData {
    /// Values of an account, other fields unset.
    pub fn new(id: impl Into<String>) -> Self {
        PerformanceData {
            id: id.into(),
            id_type: Some("acctid".to_string()),
            ..Default::default()
        }
    }
}

/// A net asset value on a date (`startNAV`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct StartNav {
    /// Date, `YYYYMMDD`.
    pub date: String,
    /// Net asset value.
    #[serde(with = "crate::num::number")]
    pub val: Decimal,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StartNav {
    /// A value on a date.
    pub fn new(date: impl Into<String>, val: Decimal) -> Self {
        StartNav {
            date: date.into(),
            val,
            extra: Extra::new(),
        }
    }
}

/// Serde helper for `Option<Vec<Decimal>>` of JSON numbers.
mod opt_decimal_vec {
    use rust_decimal::Decimal;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<Decimal>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => crate::num::number::vec::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Decimal>>, D::Error> {
        crate::num::number::vec::deserialize(d).map(Some)
    }
}

/// Answer of `POST /pa/allperiods`: performance over every period, per account.
///
/// IBKR puts each account's object at the top level, under the account id, next to the
/// fixed fields; [`AllPeriods::accounts`] holds every object-valued top-level entry
/// (an object that does not read as [`AccountPeriods`] stays in `extra`, as do unknown
/// non-object fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "AllPeriodsWire", into = "AllPeriodsWire")]
#[non_exhaustive]
pub struct AllPeriods {
    /// `base` when amounts are in the base currency.
    pub currency_type: Option<String>,
    /// Internal return code (0).
    pub rc: Option<i64>,
    /// Number of days covered.
    pub nd: Option<i64>,
    /// Request name, `getPerformanceAllPeriods`.
    pub id: Option<String>,
    /// Performance measure, `TWR`.
    pub pm: Option<String>,
    /// The accounts shown.
    pub view: Option<Vec<AccountId>>,
    /// The accounts included.
    pub included: Option<Vec<AccountId>>,
    /// Performance by account id.
    pub accounts: BTreeMap<AccountId, AccountPeriods>,
    /// Fields not modelled above.
    pub extra: Extra,
}

impl AllPeriods {
    /// An answer with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The JSON form of [`AllPeriods`].
#[derive(Serialize, Deserialize)]
struct AllPeriodsWire {
    #[serde(
        rename = "currencyType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    currency_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rc: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nd: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    view: Option<Vec<AccountId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    included: Option<Vec<AccountId>>,
    #[serde(flatten)]
    rest: Extra,
}

/// Splits the object-valued entries of `rest` that read as `T` from the others.
fn split_typed<T: serde::de::DeserializeOwned>(rest: Extra) -> (Vec<(String, T)>, Extra) {
    let mut typed = Vec::new();
    let mut extra = Extra::new();
    for (k, v) in rest {
        let parsed = if v.is_object() {
            serde_json::from_value::<T>(v.clone()).ok()
        } else {
            None
        };
        match parsed {
            Some(t) => typed.push((k, t)),
            None => {
                extra.insert(k, v);
            }
        }
    }
    (typed, extra)
}

fn merge_typed<T: Serialize>(
    extra: Extra,
    typed: impl IntoIterator<Item = (String, T)>,
) -> Result<Extra, serde_json::Error> {
    let mut rest = extra;
    for (k, t) in typed {
        rest.insert(k, serde_json::to_value(t)?);
    }
    Ok(rest)
}

impl From<AllPeriodsWire> for AllPeriods {
    fn from(w: AllPeriodsWire) -> Self {
        let (accounts, extra) = split_typed::<AccountPeriods>(w.rest);
        AllPeriods {
            currency_type: w.currency_type,
            rc: w.rc,
            nd: w.nd,
            id: w.id,
            pm: w.pm,
            view: w.view,
            included: w.included,
            accounts: accounts
                .into_iter()
                .map(|(k, v)| (AccountId(k), v))
                .collect(),
            extra,
        }
    }
}

impl From<AllPeriods> for AllPeriodsWire {
    fn from(a: AllPeriods) -> Self {
        let rest = merge_typed(a.extra, a.accounts.into_iter().map(|(k, v)| (k.0, v)))
            .expect("account periods serialise to JSON");
        AllPeriodsWire {
            currency_type: a.currency_type,
            rc: a.rc,
            nd: a.nd,
            id: a.id,
            pm: a.pm,
            view: a.view,
            included: a.included,
            rest,
        }
    }
}

/// One account's part of [`AllPeriods`]: its period list, and each period's values in
/// [`AccountPeriods::by_period`] (sent as top-level keys `1D`, `7D`, `MTD`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "AccountPeriodsWire", into = "AccountPeriodsWire")]
#[non_exhaustive]
pub struct AccountPeriods {
    /// Base currency.
    pub base_currency: Option<String>,
    /// First date covered, `YYYYMMDD`.
    pub start: Option<String>,
    /// Last date covered, `YYYYMMDD`.
    pub end: Option<String>,
    /// The periods present, e.g. `["1D", "7D", "MTD", "1M", "YTD", "1Y"]`.
    pub periods: Vec<PaPeriod>,
    /// When the data was last updated, e.g. `2026-04-02 22:40:19`.
    pub last_successful_update: Option<String>,
    /// Values by period.
    pub by_period: BTreeMap<PaPeriod, PeriodPerformance>,
    /// Fields not modelled above.
    pub extra: Extra,
}

impl AccountPeriods {
    /// An account part with every field unset.
    pub fn new() -> Self {
        Self::default()
    }

    /// The values of a period, if sent.
    pub fn period(&self, period: &PaPeriod) -> Option<&PeriodPerformance> {
        self.by_period.get(period)
    }
}

impl PartialOrd for PaPeriod {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PaPeriod {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

#[derive(Serialize, Deserialize)]
struct AccountPeriodsWire {
    #[serde(
        rename = "baseCurrency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    base_currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<String>,
    #[serde(default)]
    periods: Vec<PaPeriod>,
    #[serde(
        rename = "lastSuccessfulUpdate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    last_successful_update: Option<String>,
    #[serde(flatten)]
    rest: Extra,
}

impl From<AccountPeriodsWire> for AccountPeriods {
    fn from(w: AccountPeriodsWire) -> Self {
        let (by_period, extra) = split_typed::<PeriodPerformance>(w.rest);
        AccountPeriods {
            base_currency: w.base_currency,
            start: w.start,
            end: w.end,
            periods: w.periods,
            last_successful_update: w.last_successful_update,
            by_period: by_period
                .into_iter()
                .map(|(k, v)| (PaPeriod::from_code(&k), v))
                .collect(),
            extra,
        }
    }
}

impl From<AccountPeriods> for AccountPeriodsWire {
    fn from(a: AccountPeriods) -> Self {
        let rest = merge_typed(
            a.extra,
            a.by_period
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v)),
        )
        .expect("period values serialise to JSON");
        AccountPeriodsWire {
            base_currency: a.base_currency,
            start: a.start,
            end: a.end,
            periods: a.periods,
            last_successful_update: a.last_successful_update,
            rest,
        }
    }
}

/// One period of [`AccountPeriods`]: daily net asset values and cumulative returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PeriodPerformance {
    /// Frequency, `D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq: Option<String>,
    /// Net asset value before the first date.
    #[serde(rename = "startNAV", default, skip_serializing_if = "Option::is_none")]
    pub start_nav: Option<StartNav>,
    /// Dates, `YYYYMMDD`.
    pub dates: Vec<String>,
    /// Net asset value on each date.
    #[serde(with = "crate::num::number::vec")]
    pub nav: Vec<Decimal>,
    /// Cumulative return on each date, as a fraction.
    #[serde(with = "crate::num::number::vec")]
    pub cps: Vec<Decimal>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PeriodPerformance {
    /// An empty period.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Answer of `POST /pa/transactions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Transactions {
    /// Internal return code (0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rc: Option<i64>,
    /// Number of days covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nd: Option<i64>,
    /// Realised profit and loss of the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpnl: Option<RealizedPnl>,
    /// Currency of the amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Start of the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<EpochMillis>,
    /// End of the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<EpochMillis>,
    /// Request name, `getTransactions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether today's executions are included.
    #[serde(
        rename = "includesRealTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub includes_real_time: Option<bool>,
    /// The transactions, oldest first.
    #[serde(default)]
    pub transactions: Vec<Transaction>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Transactions {
    /// An answer with no transactions.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The realised profit and loss of [`Transactions`]: total and per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct RealizedPnl {
    /// Per-day entries.
    #[serde(default)]
    pub data: Vec<RealizedPnlEntry>,
    /// Total (sent as a string, e.g. `"12.2516"`).
    #[serde(with = "crate::num::string")]
    pub amt: Decimal,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RealizedPnl {
    /// No realised profit or loss (`{"data": [], "amt": "0.0"}`).
    pub fn new() -> Self {
        RealizedPnl {
            amt: Decimal::new(0, 1),
            ..Default::default()
        }
    }
}

/// A day's realised profit and loss, in [`RealizedPnl`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RealizedPnlEntry {
    /// Date, `YYYYMMDD`.
    pub date: String,
    /// Currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cur: Option<String>,
    /// Exchange rate to `currency`.
    #[serde(
        rename = "fxRate",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub fx_rate: Option<Decimal>,
    /// Side: `L` long, `S` short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// The account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acctid: Option<AccountId>,
    /// Amount (sent as a string).
    #[serde(with = "crate::num::string")]
    pub amt: Decimal,
    /// The contract (sent as a string).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::display::opt"
    )]
    pub conid: Option<Conid>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RealizedPnlEntry {
    /// An amount on a date.
    pub fn new(date: impl Into<String>, amt: Decimal) -> Self {
        RealizedPnlEntry {
            date: date.into(),
            cur: None,
            fx_rate: None,
            side: None,
            acctid: None,
            amt,
            conid: None,
            extra: Extra::new(),
        }
    }
}

code_enum! {
    /// The kind of a [`Transaction`] (`type`).
    TransactionType {
        /// `Buy`.
        Buy = "Buy",
        /// `Sell`.
        Sell = "Sell",
    }
}

/// One transaction of [`Transactions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transaction {
    /// Currency.
    pub cur: String,
    /// Date as Java prints it, e.g. `Tue Mar 31 00:00:00 EDT 2026`.
    pub date: String,
    /// Date, `YYYYMMDD` (recent gateways).
    #[serde(rename = "rawDate", default, skip_serializing_if = "Option::is_none")]
    pub raw_date: Option<String>,
    /// Exchange rate to the answer's currency.
    #[serde(
        rename = "fxRate",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub fx_rate: Option<Decimal>,
    /// Price.
    #[serde(with = "crate::num::number")]
    pub pr: Decimal,
    /// Quantity; negative for a sale.
    #[serde(with = "crate::num::number")]
    pub qty: Decimal,
    /// The account.
    pub acctid: AccountId,
    /// Amount; negative for a purchase.
    #[serde(with = "crate::num::number")]
    pub amt: Decimal,
    /// The contract.
    pub conid: Conid,
    /// Kind, e.g. `Buy`.
    #[serde(rename = "type")]
    pub kind: TransactionType,
    /// Description, e.g. `Apple Inc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Transaction {
    /// A transaction, other fields unset.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        acctid: impl Into<AccountId>,
        conid: Conid,
        kind: TransactionType,
        date: impl Into<String>,
        cur: impl Into<String>,
        qty: Decimal,
        pr: Decimal,
        amt: Decimal,
    ) -> Self {
        Transaction {
            cur: cur.into(),
            date: date.into(),
            raw_date: None,
            fx_rate: None,
            pr,
            qty,
            acctid: acctid.into(),
            amt,
            conid,
            kind,
            desc: None,
            extra: Extra::new(),
        }
    }
}
