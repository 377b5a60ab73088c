//! Market data: `/iserver/marketdata/snapshot`, `/iserver/marketdata/history`,
//! `/iserver/marketdata/unsubscribe` and `/iserver/marketdata/unsubscribeall`.
//!
//! A snapshot row is an object whose keys are field ids (`"31"` last price, `"84"` bid,
//! ... see [`MarketDataField`]) with values as IBKR formats them for display:
//! `"C150.25"` (no trade today: the prior close), `"H150.25"` (halted), `"1.2K"`,
//! `"-0.53%"`, `"1,234"`. [`SnapshotRow`] keeps the row as sent; [`Quote`] is its typed
//! view, built by [`SnapshotRow::quote`].
//!
//! ```
//! use ibkr_model::market_data::{MarketDataField, SnapshotRow};
//! use rust_decimal::Decimal;
//!
//! let body = r#"[{"conidEx":"265598","conid":265598,"_updated":1702334859712,
//!   "server_id":"q1","6119":"q1","31":"C193.18","84":"193.06","86":"193.14","87":"1.2M",
//!   "83":"-0.53%","6509":"RpB"}]"#;
//! let rows: Vec<SnapshotRow> = serde_json::from_str(body).unwrap();
//! assert_eq!(rows[0].get_str(MarketDataField::Bid), Some("193.06"));
//! let q = rows[0].quote().unwrap();
//! assert_eq!(q.last, Some(Decimal::new(19318, 2)));
//! assert!(q.last_is_prior_close);
//! assert_eq!(q.volume, Some(Decimal::from(1_200_000)));
//! assert_eq!(q.change_pct, Some(Decimal::new(-53, 2)));
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

use crate::Extra;
use crate::contracts::{Conid, SecType, code_enum, comma_list};
use crate::num::parse_decimal;
use crate::time::EpochMillis;

macro_rules! market_data_fields {
    ( $( $variant:ident = $id:literal, $label:literal, $desc:literal; )* ) => {
        /// A market-data field id, as used in `fields=` of the snapshot request, as keys
        /// of snapshot rows, and in WebSocket `smd` subscriptions.
        ///
        /// The table is IBKR's (the OpenAPI spec's `mdFields` and the classic gateway
        /// spec's snapshot schema). Ids not in it decode to `Unknown`.
        ///
        /// ```
        /// use ibkr_model::market_data::MarketDataField;
        /// assert_eq!(MarketDataField::Last.id(), 31);
        /// assert_eq!(MarketDataField::from_id(7308), MarketDataField::Delta);
        /// assert_eq!(MarketDataField::from_id(99999), MarketDataField::Unknown(99999));
        /// assert_eq!(MarketDataField::Bid.label(), Some("Bid Price"));
        /// assert_eq!(MarketDataField::Ask.to_string(), "86");
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum MarketDataField {
            $(
                #[doc = concat!("`", stringify!($id), "`: ", $label, ". ", $desc)]
                $variant,
            )*
            /// An id not in IBKR's table.
            Unknown(u32),
        }

        impl MarketDataField {
            /// Every field of IBKR's table, in table order.
            pub const ALL: &'static [MarketDataField] = &[ $( MarketDataField::$variant, )* ];

            /// The field's numeric id.
            pub fn id(self) -> u32 {
                match self {
                    $( MarketDataField::$variant => $id, )*
                    MarketDataField::Unknown(id) => id,
                }
            }

            /// The field of an id.
            pub fn from_id(id: u32) -> Self {
                match id {
                    $( $id => MarketDataField::$variant, )*
                    other => MarketDataField::Unknown(other),
                }
            }

            /// IBKR's name for the field, e.g. `Last Price`.
            pub fn label(self) -> Option<&'static str> {
                match self {
                    $( MarketDataField::$variant => Some($label), )*
                    MarketDataField::Unknown(_) => None,
                }
            }
        }
    };
}

market_data_fields! {
    Last = 31, "Last Price", "The last traded price. Prefixed `C` when it is the previous day's close (no trade yet), `H` when trading is halted.";
    Symbol = 55, "Symbol", "";
    Text = 58, "Text", "";
    High = 70, "High", "Current day high price.";
    Low = 71, "Low", "Current day low price.";
    MarketValue = 73, "Market Value", "Market value of your position.";
    AvgPrice = 74, "Avg Price", "Average price of your position.";
    UnrealizedPnl = 75, "Unrealized PnL", "Unrealized profit or loss of your position.";
    FormattedPosition = 76, "Formatted position", "";
    FormattedUnrealizedPnl = 77, "Formatted Unrealized PnL", "";
    DailyPnl = 78, "Daily PnL", "Profit or loss of the day since the prior close.";
    RealizedPnl = 79, "Realized PnL", "Realized profit or loss.";
    UnrealizedPnlPct = 80, "Unrealized PnL %", "Unrealized profit or loss in percent.";
    Change = 82, "Change", "Last price minus the previous close.";
    ChangePct = 83, "Change %", "Change from the previous close, in percent.";
    Bid = 84, "Bid Price", "Highest bid.";
    AskSize = 85, "Ask Size", "Size offered at the ask; for US stocks in lots of 100.";
    Ask = 86, "Ask Price", "Lowest offer.";
    Volume = 87, "Volume", "Volume of the day, formatted with `K`/`M` suffixes; see `VolumeLong`.";
    BidSize = 88, "Bid Size", "Size bid at the bid; for US stocks in lots of 100.";
    Exchange = 6004, "Exchange", "";
    Conid = 6008, "Conid", "Contract identifier.";
    SecType = 6070, "SecType", "Asset class of the instrument.";
    Months = 6072, "Months", "";
    RegularExpiry = 6073, "Regular Expiry", "";
    ServerId = 6119, "Marker for market data delivery method", "Similar to a request id.";
    UnderlyingConid = 6457, "Underlying Conid", "";
    ServiceParams = 6508, "Service Params", "";
    Availability = 6509, "Market Data Availability", "Up to three characters, e.g. `RpB`; see `MarketDataAvailability`.";
    CompanyName = 7051, "Company name", "";
    AskExch = 7057, "Ask Exch", "Exchanges at the SMART ask.";
    LastExch = 7058, "Last Exch", "Exchanges of the SMART last price.";
    LastSize = 7059, "Last Size", "Units traded at the last price.";
    BidExch = 7068, "Bid Exch", "Exchanges at the SMART bid.";
    ImpliedVolHistVolRatio = 7084, "Implied Vol./Hist. Vol %", "Implied over historical volatility, in percent.";
    PutCallInterest = 7085, "Put/Call Interest", "Put over call open interest for the day.";
    PutCallVolume = 7086, "Put/Call Volume", "Put over call volume for the day.";
    HistoricalVolatility = 7087, "Hist. Vol. %", "30-day real-time historical volatility.";
    HistoricalVolatilityClose = 7088, "Hist. Vol. Close %", "Historical volatility based on the previous close.";
    OptionVolume = 7089, "Opt. Volume", "Option volume.";
    ConidExchange = 7094, "Conid + Exchange", "";
    CanBeTraded = 7184, "canBeTraded", "`1` if the contract is tradable, `0` if not.";
    ContractDescription1 = 7219, "Contract Description", "";
    ContractDescription2 = 7220, "Contract Description", "";
    ListingExchange = 7221, "Listing Exchange", "";
    Industry = 7280, "Industry", "";
    Category = 7281, "Category", "";
    AverageVolume = 7282, "Average Volume", "Average daily volume over 90 days.";
    OptionImpliedVol = 7283, "Option Implied Vol. %", "30-day at-the-money implied volatility of the underlying.";
    HistoricalVolatilityDeprecated = 7284, "Historical volatility %", "Deprecated.";
    PutCallRatio = 7285, "Put/Call Ratio", "";
    DividendAmount = 7286, "Dividend Amount", "Amount of the next dividend.";
    DividendYield = 7287, "Dividend Yield %", "Expected dividends of the next 12 months over the price.";
    ExDividendDate = 7288, "Ex-date of the dividend", "";
    MarketCap = 7289, "Market Cap", "";
    PeRatio = 7290, "P/E", "";
    Eps = 7291, "EPS", "";
    CostBasis = 7292, "Cost Basis", "Position times average price and multiplier.";
    High52Week = 7293, "52 Week High", "";
    Low52Week = 7294, "52 Week Low", "";
    Open = 7295, "Open", "Today's opening price.";
    Close = 7296, "Close", "Today's closing price.";
    Delta = 7308, "Delta", "Option price change per unit change of the underlying.";
    Gamma = 7309, "Gamma", "Delta change per unit change of the underlying.";
    Theta = 7310, "Theta", "Option value decline per day.";
    Vega = 7311, "Vega", "Option price change per 1% change in volatility.";
    OptionVolumeChangePct = 7607, "Opt. Volume Change %", "Today's option volume over the average, in percent.";
    ImpliedVol = 7633, "Implied Vol. %", "Implied volatility of this option, in percent.";
    Mark = 7635, "Mark", "Ask if below last, bid if above last, else last.";
    ShortableShares = 7636, "Shortable Shares", "Shares available to short.";
    FeeRate = 7637, "Fee Rate", "Interest rate charged on borrowed shares.";
    OptionOpenInterest = 7638, "Option Open Interest", "";
    PctOfMarkValue = 7639, "% of Mark Value", "Position value as a percentage of the account's.";
    Shortable = 7644, "Shortable", "How hard the security is to short.";
    MorningstarRating = 7655, "Morningstar Rating", "";
    Dividends = 7671, "Dividends", "Expected dividends per share over the next 12 months.";
    DividendsTtm = 7672, "Dividends TTM", "Dividends per share over the last 12 months.";
    Ema200 = 7674, "EMA(200)", "";
    Ema100 = 7675, "EMA(100)", "";
    Ema50 = 7676, "EMA(50)", "";
    Ema20 = 7677, "EMA(20)", "";
    PriceToEma200 = 7678, "Price/EMA(200)", "Price over EMA(200) minus 1, in percent.";
    PriceToEma100 = 7679, "Price/EMA(100)", "Price over EMA(100) minus 1, in percent.";
    PriceToEma50Legacy = 7680, "Price/EMA(50)", "Id of the classic gateway spec; the current spec lists 7724.";
    PriceToEma20 = 7681, "Price/EMA(20)", "Price over EMA(20) minus 1, in percent.";
    ChangeSinceOpen = 7682, "Change Since Open", "Last price minus the open.";
    UpcomingEvent = 7683, "Upcoming Event", "";
    UpcomingEventDate = 7684, "Upcoming Event Date", "";
    UpcomingAnalystMeeting = 7685, "Upcoming Analyst Meeting", "";
    UpcomingEarnings = 7686, "Upcoming Earnings", "";
    UpcomingMiscEvent = 7687, "Upcoming Misc Event", "";
    RecentAnalystMeeting = 7688, "Recent Analyst Meeting", "";
    RecentEarnings = 7689, "Recent Earnings", "";
    RecentMiscEvent = 7690, "Recent Misc Event", "";
    ProbabilityOfMaxReturn = 7694, "Probability of Max Return", "Customer-implied probability of the maximum gain.";
    BreakEven = 7695, "Break Even", "";
    SpxDelta = 7696, "SPX Delta", "Beta-weighted delta.";
    FuturesOpenInterest = 7697, "Futures Open Interest", "";
    LastYield = 7698, "Last Yield", "Bond yield at the last price.";
    BidYield = 7699, "Bid Yield", "Bond yield at the bid.";
    ProbabilityOfMaxReturn2 = 7700, "Probability of Max Return", "IBKR lists this name twice (7694 and 7700).";
    ProbabilityOfMaxLoss = 7702, "Probability of Max Loss", "";
    ProfitProbability = 7703, "Profit Probability", "";
    OrganizationType = 7704, "Organization Type", "";
    DebtClass = 7705, "Debt Class", "";
    Ratings = 7706, "Ratings", "";
    BondStateCode = 7707, "Bond State Code", "";
    BondType = 7708, "Bond Type", "";
    LastTradingDate = 7714, "Last Trading Date", "";
    IssueDate = 7715, "Issue Date", "";
    Beta = 7718, "Beta", "Beta against the standard index.";
    AskYield = 7720, "Ask Yield", "Bond yield at the ask.";
    PriceToEma50 = 7724, "Price/EMA(50)", "Price over EMA(50) minus 1, in percent.";
    PriorClose = 7741, "Prior Close", "Yesterday's closing price.";
    VolumeLong = 7762, "Volume Long", "Volume of the day, unformatted.";
    HasTradingPermissions = 7768, "hasTradingPermissions", "`1` if you may trade the contract, `0` if not.";
    DailyPnlRaw = 7920, "Daily PnL Raw", "";
    CostBasisRaw = 7921, "Cost Basis Raw", "";
    RebateRate = 7943, "Rebate Rate", "Benchmark rate minus the fee rate on borrowed shares.";
}

impl fmt::Display for MarketDataField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id())
    }
}

impl FromStr for MarketDataField {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(MarketDataField::from_id)
    }
}

impl Serialize for MarketDataField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MarketDataField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = MarketDataField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a market-data field id")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MarketDataField, E> {
                u32::try_from(v)
                    .map(MarketDataField::from_id)
                    .map_err(|_| E::custom(format!("field id {v} out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MarketDataField, E> {
                u32::try_from(v)
                    .map(MarketDataField::from_id)
                    .map_err(|_| E::custom(format!("field id {v} out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MarketDataField, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("{v:?} is not a field id")))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// Snapshot

/// Query of `GET /iserver/marketdata/snapshot`: up to 100 contracts and 50 fields, sent
/// comma-separated.
///
/// ```
/// use ibkr_model::contracts::Conid;
/// use ibkr_model::market_data::{MarketDataField, SnapshotRequest};
/// let req = SnapshotRequest::new([Conid(265598), Conid(8314)], [MarketDataField::Last, MarketDataField::Bid]);
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"conids":"265598,8314","fields":"31,84"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotRequest {
    /// The contracts.
    #[serde(with = "comma_list")]
    pub conids: Vec<Conid>,
    /// The fields wanted.
    #[serde(with = "comma_list")]
    pub fields: Vec<MarketDataField>,
}

impl SnapshotRequest {
    /// Some fields of some contracts.
    pub fn new(
        conids: impl IntoIterator<Item = Conid>,
        fields: impl IntoIterator<Item = MarketDataField>,
    ) -> Self {
        SnapshotRequest {
            conids: conids.into_iter().collect(),
            fields: fields.into_iter().collect(),
        }
    }
}

/// Answer of `/iserver/marketdata/snapshot`: one row per contract.
pub type MarketDataSnapshot = Vec<SnapshotRow>;

/// One row of a snapshot, as sent: a few named keys, and the field values keyed by field
/// id in [`fields`](Self::fields). The first request for a contract often returns only
/// the named keys; values arrive on later requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotRow {
    /// The contract.
    pub conid: Conid,
    /// The contract as asked for (`conid` or `conid@exchange`).
    #[serde(rename = "conidEx", default, skip_serializing_if = "Option::is_none")]
    pub conid_ex: Option<String>,
    /// When the row was last updated.
    #[serde(rename = "_updated", default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<EpochMillis>,
    /// Internal request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// Every other key: field values keyed by id (`"31"`, `"6509"`, ...), as sent, plus
    /// any other key IBKR adds.
    #[serde(flatten)]
    pub fields: Extra,
}

impl SnapshotRow {
    /// A row for a contract without values.
    pub fn new(conid: Conid) -> Self {
        SnapshotRow {
            conid,
            conid_ex: Some(conid.to_string()),
            updated: None,
            server_id: None,
            fields: Extra::new(),
        }
    }

    /// The raw value of a field, if present.
    pub fn get(&self, field: MarketDataField) -> Option<&Value> {
        self.fields.get(&field.id().to_string())
    }

    /// The value of a field if it is a string.
    pub fn get_str(&self, field: MarketDataField) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    /// Sets a field's value (as IBKR would format it, e.g. `"C150.25"`).
    pub fn set(&mut self, field: MarketDataField, value: impl Into<Value>) -> &mut Self {
        self.fields.insert(field.id().to_string(), value.into());
        self
    }

    /// The field values present, with their fields (keys that are not ids are skipped).
    pub fn values(&self) -> impl Iterator<Item = (MarketDataField, &Value)> {
        self.fields
            .iter()
            .filter_map(|(k, v)| Some((k.parse::<MarketDataField>().ok()?, v)))
    }

    /// The typed view of the row. Fails on the first value that is not in its field's
    /// expected form, naming the field.
    pub fn quote(&self) -> Result<Quote, ValueError> {
        Quote::from_row(self)
    }
}

/// The market-data availability code (`6509`, `mdAvailability`), e.g. `RpB`: first a
/// timeline letter, then flags (`P` snapshot, `p` consolidated, `B` top of book, ...).
///
/// ```
/// use ibkr_model::market_data::{DataTimeline, MarketDataAvailability};
/// let a = MarketDataAvailability::from("RpB");
/// assert_eq!(a.timeline(), Some(DataTimeline::RealTime));
/// assert!(a.is_consolidated() && a.has_book() && !a.is_snapshot());
/// assert_eq!(MarketDataAvailability::from("DPB").timeline(), Some(DataTimeline::Delayed));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MarketDataAvailability(pub String);

/// How current market data is (first letter of [`MarketDataAvailability`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DataTimeline {
    /// `R`: real time (needs a subscription).
    RealTime,
    /// `D`: delayed 15-20 minutes.
    Delayed,
    /// `Z`: frozen at the last close, in real time.
    Frozen,
    /// `Y`: frozen at the last close, delayed.
    FrozenDelayed,
    /// `N`: not subscribed.
    NotSubscribed,
    /// `O`: the yearly market-data API acknowledgement is not done.
    AcknowledgementMissing,
    /// Another letter.
    Other(char),
}

impl MarketDataAvailability {
    /// The timeline letter, if any.
    pub fn timeline(&self) -> Option<DataTimeline> {
        Some(match self.0.chars().next()? {
            'R' => DataTimeline::RealTime,
            'D' => DataTimeline::Delayed,
            'Z' => DataTimeline::Frozen,
            'Y' => DataTimeline::FrozenDelayed,
            'N' => DataTimeline::NotSubscribed,
            'O' => DataTimeline::AcknowledgementMissing,
            c => DataTimeline::Other(c),
        })
    }

    fn has_flag(&self, flag: char) -> bool {
        self.0.chars().skip(1).any(|c| c == flag)
    }

    /// Whether snapshot data is available (`P`).
    pub fn is_snapshot(&self) -> bool {
        self.has_flag('P')
    }

    /// Whether the data is consolidated across venues (`p`).
    pub fn is_consolidated(&self) -> bool {
        self.has_flag('p')
    }

    /// Whether top-of-book data is available (`B`).
    pub fn has_book(&self) -> bool {
        self.has_flag('B')
    }
}

impl From<&str> for MarketDataAvailability {
    fn from(s: &str) -> Self {
        MarketDataAvailability(s.to_string())
    }
}

impl fmt::Display for MarketDataAvailability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------------------
// Value forms

/// The form a snapshot value was expected in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValueForm {
    /// A price, maybe prefixed `C` (prior close) or `H` (halted): [`parse_price`].
    Price,
    /// A quantity, maybe with a `K`/`M`/`B`/`T` suffix: [`parse_size`].
    Size,
    /// A percentage, e.g. `-0.53%`: [`parse_percent`].
    Percent,
    /// A plain number: [`parse_number`].
    Number,
    /// `1` or `0`: [`parse_flag`].
    Flag,
    /// A contract id.
    Conid,
}

impl fmt::Display for ValueForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueForm::Price => "a price",
            ValueForm::Size => "a size",
            ValueForm::Percent => "a percentage",
            ValueForm::Number => "a number",
            ValueForm::Flag => "a 1/0 flag",
            ValueForm::Conid => "a contract id",
        })
    }
}

/// A market-data value not in its expected form.
///
/// ```
/// use ibkr_model::market_data::{MarketDataField, SnapshotRow};
/// use ibkr_model::contracts::Conid;
/// let mut row = SnapshotRow::new(Conid(1));
/// row.set(MarketDataField::Bid, "n/a?");
/// let err = row.quote().unwrap_err();
/// assert_eq!(err.field, Some(MarketDataField::Bid));
/// assert_eq!(err.to_string(), r#"market-data field 84 (Bid Price): "n/a?" is not a price"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValueError {
    /// The field, when known.
    pub field: Option<MarketDataField>,
    /// The value as sent.
    pub value: String,
    /// The form expected.
    pub form: ValueForm,
}

impl ValueError {
    fn new(value: &str, form: ValueForm) -> Self {
        ValueError {
            field: None,
            value: value.to_string(),
            form,
        }
    }

    fn in_field(mut self, field: MarketDataField) -> Self {
        self.field = Some(field);
        self
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = self.field {
            write!(f, "market-data field {}", field.id())?;
            if let Some(label) = field.label() {
                write!(f, " ({label})")?;
            }
            f.write_str(": ")?;
        }
        write!(f, "{:?} is not {}", self.value, self.form)
    }
}

impl std::error::Error for ValueError {}

/// A price read from a snapshot value, with what its prefix said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PriceValue {
    /// The price.
    pub value: Decimal,
    /// `C` prefix: no trade yet today, this is the previous close.
    pub prior_close: bool,
    /// `H` prefix: trading is halted.
    pub halted: bool,
}

/// The text with thousands separators removed, or `None` if blank.
fn clean(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Some(t.replace(',', ""))
}

/// Reads a price: `"150.25"`, `"C150.25"` (prior close), `"H150.25"` (halted),
/// `"1,234.50"`; blank gives `None`.
///
/// ```
/// use ibkr_model::market_data::parse_price;
/// use rust_decimal::Decimal;
/// let p = parse_price("C150.25").unwrap().unwrap();
/// assert_eq!(p.value, Decimal::new(15025, 2));
/// assert!(p.prior_close && !p.halted);
/// assert!(parse_price("H150.25").unwrap().unwrap().halted);
/// assert_eq!(parse_price("").unwrap(), None);
/// ```
pub fn parse_price(text: &str) -> Result<Option<PriceValue>, ValueError> {
    let Some(t) = clean(text) else {
        return Ok(None);
    };
    let (prior_close, halted, digits) = match t.as_bytes()[0] {
        b'C' => (true, false, &t[1..]),
        b'H' => (false, true, &t[1..]),
        _ => (false, false, &t[..]),
    };
    let value = parse_decimal(digits).map_err(|_| ValueError::new(text, ValueForm::Price))?;
    Ok(Some(PriceValue {
        value,
        prior_close,
        halted,
    }))
}

/// Reads a quantity: `"100"`, `"1,234"`, `"1.2K"`, `"3.4M"`, `"1.5B"`, `"2.1T"` (also
/// signed, for formatted P&L); blank gives `None`.
///
/// ```
/// use ibkr_model::market_data::parse_size;
/// use rust_decimal::Decimal;
/// assert_eq!(parse_size("1.2K").unwrap(), Some(Decimal::from(1200)));
/// assert_eq!(parse_size("3.4M").unwrap(), Some(Decimal::from(3_400_000)));
/// assert_eq!(parse_size("1,234").unwrap(), Some(Decimal::from(1234)));
/// ```
pub fn parse_size(text: &str) -> Result<Option<Decimal>, ValueError> {
    let Some(t) = clean(text) else {
        return Ok(None);
    };
    let err = || ValueError::new(text, ValueForm::Size);
    let (digits, factor) = match t.as_bytes()[t.len() - 1] {
        b'K' | b'k' => (&t[..t.len() - 1], 1_000u64),
        b'M' | b'm' => (&t[..t.len() - 1], 1_000_000),
        b'B' | b'b' => (&t[..t.len() - 1], 1_000_000_000),
        b'T' | b't' => (&t[..t.len() - 1], 1_000_000_000_000),
        _ => (&t[..], 1),
    };
    let n = parse_decimal(digits).map_err(|_| err())?;
    let n = n.checked_mul(Decimal::from(factor)).ok_or_else(err)?;
    Ok(Some(if factor == 1 { n } else { n.normalize() }))
}

/// Reads a percentage in percent points: `"-0.53%"` is `-0.53`; the `%` may be missing;
/// blank gives `None`.
///
/// ```
/// use ibkr_model::market_data::parse_percent;
/// use rust_decimal::Decimal;
/// assert_eq!(parse_percent("-0.53%").unwrap(), Some(Decimal::new(-53, 2)));
/// assert_eq!(parse_percent("25.3").unwrap(), Some(Decimal::new(253, 1)));
/// ```
pub fn parse_percent(text: &str) -> Result<Option<Decimal>, ValueError> {
    let Some(t) = clean(text) else {
        return Ok(None);
    };
    let digits = t.strip_suffix('%').unwrap_or(&t);
    parse_decimal(digits)
        .map(Some)
        .map_err(|_| ValueError::new(text, ValueForm::Percent))
}

/// Reads a plain number: `"0.532"`, `"-1.25"`, `"+3.50"`, `"1,234.5"`; blank gives `None`.
///
/// ```
/// use ibkr_model::market_data::parse_number;
/// use rust_decimal::Decimal;
/// assert_eq!(parse_number("+3.50").unwrap(), Some(Decimal::new(350, 2)));
/// assert!(parse_number("1.2K").is_err());
/// ```
pub fn parse_number(text: &str) -> Result<Option<Decimal>, ValueError> {
    let Some(t) = clean(text) else {
        return Ok(None);
    };
    parse_decimal(&t)
        .map(Some)
        .map_err(|_| ValueError::new(text, ValueForm::Number))
}

/// Reads a `1`/`0` flag (also `true`/`false`); blank gives `None`.
///
/// ```
/// use ibkr_model::market_data::parse_flag;
/// assert_eq!(parse_flag("1").unwrap(), Some(true));
/// assert_eq!(parse_flag("0").unwrap(), Some(false));
/// ```
pub fn parse_flag(text: &str) -> Result<Option<bool>, ValueError> {
    match text.trim() {
        "" => Ok(None),
        "1" | "true" | "True" | "TRUE" => Ok(Some(true)),
        "0" | "false" | "False" | "FALSE" => Ok(Some(false)),
        _ => Err(ValueError::new(text, ValueForm::Flag)),
    }
}

// ---------------------------------------------------------------------------------------
// Quote

/// The typed view of a [`SnapshotRow`]: the common fields, read from IBKR's display
/// strings. Fields not asked for, not yet delivered, or sent blank are `None`; the raw
/// row has everything else.
///
/// Sizes (`bid_size`, `ask_size`) are as IBKR sends them: for US stocks in lots of 100.
/// Percentages are in percent points (`-0.53` for `-0.53%`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Quote {
    /// The contract.
    pub conid: Conid,
    /// The contract as asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conid_ex: Option<String>,
    /// When the row was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<EpochMillis>,
    /// Market-data availability (`6509`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<MarketDataAvailability>,
    /// Symbol (`55`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Company name (`7051`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Security type (`6070`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Listing exchange (`7221`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing_exchange: Option<String>,
    /// The underlying's contract id (`6457`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlying_conid: Option<Conid>,
    /// Last price (`31`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Decimal>,
    /// Whether `last` is the previous close rather than a trade today (`C` prefix).
    #[serde(default)]
    pub last_is_prior_close: bool,
    /// Whether trading is halted (`H` prefix on a price).
    #[serde(default)]
    pub halted: bool,
    /// Bid (`84`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid: Option<Decimal>,
    /// Ask (`86`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<Decimal>,
    /// Bid size (`88`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid_size: Option<Decimal>,
    /// Ask size (`85`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_size: Option<Decimal>,
    /// Last size (`7059`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_size: Option<Decimal>,
    /// Volume of the day (`87`, from its `K`/`M` display form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Decimal>,
    /// Volume of the day, full precision (`7762`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_long: Option<Decimal>,
    /// Average daily volume over 90 days (`7282`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_volume: Option<Decimal>,
    /// Open (`7295`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<Decimal>,
    /// High of the day (`70`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Decimal>,
    /// Low of the day (`71`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<Decimal>,
    /// Close (`7296`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<Decimal>,
    /// Previous day's close (`7741`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_close: Option<Decimal>,
    /// Mark price (`7635`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<Decimal>,
    /// Change from the previous close (`82`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Decimal>,
    /// Change from the previous close in percent (`83`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_pct: Option<Decimal>,
    /// Change since the open (`7682`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_since_open: Option<Decimal>,
    /// 52-week high (`7293`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_52_week: Option<Decimal>,
    /// 52-week low (`7294`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_52_week: Option<Decimal>,
    /// Implied volatility of this option, percent (`7633`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied_vol: Option<Decimal>,
    /// 30-day implied volatility of the underlying, percent (`7283`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_implied_vol: Option<Decimal>,
    /// 30-day historical volatility, percent (`7087`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub historical_vol: Option<Decimal>,
    /// Implied over historical volatility, percent (`7084`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv_hv_ratio: Option<Decimal>,
    /// Put/call ratio (`7285`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_call_ratio: Option<Decimal>,
    /// Delta (`7308`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Decimal>,
    /// Gamma (`7309`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<Decimal>,
    /// Theta (`7310`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<Decimal>,
    /// Vega (`7311`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vega: Option<Decimal>,
    /// Option volume (`7089`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_volume: Option<Decimal>,
    /// Option open interest (`7638`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_open_interest: Option<Decimal>,
    /// Futures open interest (`7697`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub futures_open_interest: Option<Decimal>,
    /// Market value of your position (`73`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_value: Option<Decimal>,
    /// Average price of your position (`74`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_price: Option<Decimal>,
    /// Unrealized P&L of your position (`75`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrealized_pnl: Option<Decimal>,
    /// Unrealized P&L in percent (`80`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrealized_pnl_pct: Option<Decimal>,
    /// Daily P&L of your position (`78`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_pnl: Option<Decimal>,
    /// Realized P&L of your position (`79`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realized_pnl: Option<Decimal>,
    /// Cost basis of your position (`7292`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_basis: Option<Decimal>,
    /// Market capitalisation (`7289`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_cap: Option<Decimal>,
    /// Price/earnings (`7290`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pe_ratio: Option<Decimal>,
    /// Earnings per share (`7291`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<Decimal>,
    /// Dividend yield, percent (`7287`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dividend_yield: Option<Decimal>,
    /// Beta (`7718`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<Decimal>,
    /// Shares available to short (`7636`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortable_shares: Option<Decimal>,
    /// Borrow fee rate, percent (`7637`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_rate: Option<Decimal>,
    /// Whether the contract is tradable (`7184`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_be_traded: Option<bool>,
    /// Whether you may trade the contract (`7768`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_trading_permissions: Option<bool>,
}

/// The text of a snapshot value (strings as they are, numbers through their text).
fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

impl Quote {
    /// Reads the typed view of a snapshot row (see [`SnapshotRow::quote`]).
    pub fn from_row(row: &SnapshotRow) -> Result<Quote, ValueError> {
        use MarketDataField as F;

        let text = |f: F| row.get(f).and_then(value_text);
        let with = |f: F, parse: fn(&str) -> Result<Option<Decimal>, ValueError>| {
            text(f)
                .map(|t| parse(&t).map_err(|e| e.in_field(f)))
                .transpose()
                .map(Option::flatten)
        };
        let size = |f| with(f, parse_size);
        let pct = |f| with(f, parse_percent);
        let num = |f| with(f, parse_number);
        let flag = |f: F| {
            text(f)
                .map(|t| parse_flag(&t).map_err(|e| e.in_field(f)))
                .transpose()
                .map(Option::flatten)
        };
        let string = |f: F| text(f).filter(|t| !t.is_empty());

        let mut halted = false;
        let mut price = |f: F| -> Result<(Option<Decimal>, bool), ValueError> {
            match text(f) {
                None => Ok((None, false)),
                Some(t) => match parse_price(&t).map_err(|e| e.in_field(f))? {
                    None => Ok((None, false)),
                    Some(p) => {
                        halted |= p.halted;
                        Ok((Some(p.value), p.prior_close))
                    }
                },
            }
        };

        let (last, last_is_prior_close) = price(F::Last)?;
        let bid = price(F::Bid)?.0;
        let ask = price(F::Ask)?.0;
        let open = price(F::Open)?.0;
        let high = price(F::High)?.0;
        let low = price(F::Low)?.0;
        let close = price(F::Close)?.0;
        let prior_close = price(F::PriorClose)?.0;
        let mark = price(F::Mark)?.0;
        let high_52_week = price(F::High52Week)?.0;
        let low_52_week = price(F::Low52Week)?.0;
        let avg_price = price(F::AvgPrice)?.0;

        let underlying_conid =
            match string(F::UnderlyingConid) {
                None => None,
                Some(t) => Some(t.parse::<Conid>().map_err(|_| {
                    ValueError::new(&t, ValueForm::Conid).in_field(F::UnderlyingConid)
                })?),
            };

        Ok(Quote {
            conid: row.conid,
            conid_ex: row.conid_ex.clone(),
            updated: row.updated,
            availability: string(F::Availability).map(MarketDataAvailability),
            symbol: string(F::Symbol),
            company_name: string(F::CompanyName),
            sec_type: string(F::SecType).map(|s| SecType::from_code(&s)),
            listing_exchange: string(F::ListingExchange),
            underlying_conid,
            last,
            last_is_prior_close,
            halted,
            bid,
            ask,
            bid_size: size(F::BidSize)?,
            ask_size: size(F::AskSize)?,
            last_size: size(F::LastSize)?,
            volume: size(F::Volume)?,
            volume_long: size(F::VolumeLong)?,
            average_volume: size(F::AverageVolume)?,
            open,
            high,
            low,
            close,
            prior_close,
            mark,
            change: num(F::Change)?,
            change_pct: pct(F::ChangePct)?,
            change_since_open: num(F::ChangeSinceOpen)?,
            high_52_week,
            low_52_week,
            implied_vol: pct(F::ImpliedVol)?,
            option_implied_vol: pct(F::OptionImpliedVol)?,
            historical_vol: pct(F::HistoricalVolatility)?,
            iv_hv_ratio: pct(F::ImpliedVolHistVolRatio)?,
            put_call_ratio: num(F::PutCallRatio)?,
            delta: num(F::Delta)?,
            gamma: num(F::Gamma)?,
            theta: num(F::Theta)?,
            vega: num(F::Vega)?,
            option_volume: size(F::OptionVolume)?,
            option_open_interest: size(F::OptionOpenInterest)?,
            futures_open_interest: size(F::FuturesOpenInterest)?,
            market_value: size(F::MarketValue)?,
            avg_price,
            unrealized_pnl: size(F::UnrealizedPnl)?,
            unrealized_pnl_pct: pct(F::UnrealizedPnlPct)?,
            daily_pnl: size(F::DailyPnl)?,
            realized_pnl: size(F::RealizedPnl)?,
            cost_basis: size(F::CostBasis)?,
            market_cap: size(F::MarketCap)?,
            pe_ratio: num(F::PeRatio)?,
            eps: num(F::Eps)?,
            dividend_yield: pct(F::DividendYield)?,
            beta: num(F::Beta)?,
            shortable_shares: size(F::ShortableShares)?,
            fee_rate: pct(F::FeeRate)?,
            can_be_traded: flag(F::CanBeTraded)?,
            has_trading_permissions: flag(F::HasTradingPermissions)?,
        })
    }

    /// The midpoint of bid and ask, when both are known.
    pub fn mid(&self) -> Option<Decimal> {
        Some((self.bid? + self.ask?) / Decimal::TWO)
    }
}

impl TryFrom<&SnapshotRow> for Quote {
    type Error = ValueError;

    fn try_from(row: &SnapshotRow) -> Result<Self, Self::Error> {
        Quote::from_row(row)
    }
}

// ---------------------------------------------------------------------------------------
// History

code_enum! {
    /// What the bars of `/iserver/marketdata/history` are made of (`source`).
    BarSource {
        /// `Last`: trades (the default).
        Last = "Last",
        /// `Midpoint`: bid/ask midpoint.
        Midpoint = "Midpoint",
        /// `Bid_Ask`: time-averaged bid (open) and ask (close), lowest bid, highest ask.
        BidAsk = "Bid_Ask",
    }
}

/// Query of `GET /iserver/marketdata/history`.
///
/// `period` is `{n}{unit}` with units `min`, `h`, `d`, `w`, `m`, `y` (e.g. `1d`, `6m`);
/// `bar` is `{n}{unit}` with units `S`, `min`, `h`, `d`, `w`, `m` (e.g. `5min`, `1h`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryRequest {
    /// The contract.
    pub conid: Conid,
    /// How far the data goes, e.g. `1d`.
    pub period: String,
    /// Bar width, e.g. `1min`.
    pub bar: String,
    /// Exchange (or `SMART`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Include data outside regular trading hours.
    #[serde(
        rename = "outsideRth",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub outside_rth: Option<bool>,
    /// Reference time, UTC `YYYYMMDD-hh:mm:ss`; now by default.
    #[serde(rename = "startTime", default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// `-1` (default): data ends at `startTime`; `1`: data starts there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<i32>,
    /// What the bars are made of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<BarSource>,
}

impl HistoryRequest {
    /// Bars of a contract over a period.
    pub fn new(conid: Conid, period: impl Into<String>, bar: impl Into<String>) -> Self {
        HistoryRequest {
            conid,
            period: period.into(),
            bar: bar.into(),
            exchange: None,
            outside_rth: None,
            start_time: None,
            direction: None,
            source: None,
        }
    }
}

/// Answer of `/iserver/marketdata/history`: bars plus chart metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryResponse {
    /// Internal request id.
    #[serde(rename = "serverId")]
    pub server_id: String,
    /// Symbol.
    pub symbol: String,
    /// Company name or description.
    pub text: String,
    /// Scale of the prices in `high`/`low` (internal, for charts).
    #[serde(rename = "priceFactor")]
    pub price_factor: i64,
    /// Start of the data, UTC `YYYYMMDD-hh:mm:ss`; see [`start`](Self::start).
    #[serde(rename = "startTime")]
    pub start_time: String,
    /// `price*priceFactor/volume/minutesFromStart` of the highest price; see
    /// [`high_point`](Self::high_point).
    pub high: String,
    /// The same for the lowest price; see [`low_point`](Self::low_point).
    pub low: String,
    /// The period asked for, e.g. `1d`.
    #[serde(rename = "timePeriod")]
    pub time_period: String,
    /// Bar width in seconds.
    #[serde(rename = "barLength")]
    pub bar_length: i64,
    /// Market-data availability, e.g. `S`.
    #[serde(rename = "mdAvailability")]
    pub md_availability: MarketDataAvailability,
    /// Milliseconds taken to serve the request.
    #[serde(
        rename = "mktDataDelay",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mkt_data_delay: Option<i64>,
    /// Whether data outside regular hours is included.
    #[serde(rename = "outsideRth")]
    pub outside_rth: bool,
    /// Length of the trading day (in minutes in recordings; the spec says seconds).
    #[serde(
        rename = "tradingDayDuration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trading_day_duration: Option<i64>,
    /// Volume scale (internal, for charts).
    #[serde(
        rename = "volumeFactor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub volume_factor: Option<i64>,
    /// Internal display rule.
    #[serde(
        rename = "priceDisplayRule",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub price_display_rule: Option<i64>,
    /// Internal display rule.
    #[serde(
        rename = "priceDisplayValue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub price_display_value: Option<String>,
    /// Internal, for charts.
    #[serde(
        rename = "chartPanStartTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub chart_pan_start_time: Option<String>,
    /// Direction of the period from `startTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<i64>,
    /// Whether prices can be negative.
    #[serde(
        rename = "negativeCapable",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub negative_capable: Option<bool>,
    /// Internal schema version.
    #[serde(
        rename = "messageVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub message_version: Option<i64>,
    /// The bars, oldest first.
    pub data: Vec<Bar>,
    /// Number of points (internal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
    /// Internal time in flight.
    #[serde(
        rename = "travelTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub travel_time: Option<i64>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The high or low point of a chart, from [`HistoryResponse::high_point`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChartPoint {
    /// The price (unscaled).
    pub price: Decimal,
    /// The volume figure as sent.
    pub volume: Decimal,
    /// Minutes from the start of the chart.
    pub minutes: i64,
}

impl HistoryResponse {
    /// An answer with bars, metadata set to plain defaults (`priceFactor` 100,
    /// `mdAvailability` `S`).
    pub fn new(
        symbol: impl Into<String>,
        time_period: impl Into<String>,
        bar_length: i64,
        data: Vec<Bar>,
    ) -> Self {
        HistoryResponse {
            server_id: String::new(),
            symbol: symbol.into(),
            text: String::new(),
            price_factor: 100,
            start_time: String::new(),
            high: String::new(),
            low: String::new(),
            time_period: time_period.into(),
            bar_length,
            md_availability: MarketDataAvailability::from("S"),
            mkt_data_delay: None,
            outside_rth: false,
            trading_day_duration: None,
            volume_factor: None,
            price_display_rule: None,
            price_display_value: None,
            chart_pan_start_time: None,
            direction: None,
            negative_capable: None,
            message_version: None,
            data,
            points: None,
            travel_time: None,
            extra: Extra::new(),
        }
    }

    /// `startTime` as a UTC date-time (naive, as sent).
    pub fn start(&self) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(&self.start_time, "%Y%m%d-%H:%M:%S").ok()
    }

    fn point(&self, text: &str) -> Option<ChartPoint> {
        let mut parts = text.split('/');
        let price = parse_decimal(parts.next()?).ok()?;
        let volume = parse_decimal(parts.next()?).ok()?;
        let minutes = parts.next()?.trim().parse().ok()?;
        let factor = if self.price_factor > 0 {
            Decimal::from(self.price_factor)
        } else {
            Decimal::ONE
        };
        Some(ChartPoint {
            price: price / factor,
            volume,
            minutes,
        })
    }

    /// The highest price of the data, from `high`.
    pub fn high_point(&self) -> Option<ChartPoint> {
        self.point(&self.high)
    }

    /// The lowest price of the data, from `low`.
    pub fn low_point(&self) -> Option<ChartPoint> {
        self.point(&self.low)
    }
}

/// An OHLC bar (`o`, `h`, `l`, `c`, `v`, `t`), numbers as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bar {
    /// Open.
    #[serde(rename = "o", with = "crate::num::number")]
    pub open: Decimal,
    /// High.
    #[serde(rename = "h", with = "crate::num::number")]
    pub high: Decimal,
    /// Low.
    #[serde(rename = "l", with = "crate::num::number")]
    pub low: Decimal,
    /// Close.
    #[serde(rename = "c", with = "crate::num::number")]
    pub close: Decimal,
    /// Volume (in the units IBKR reports, often hundreds of shares for US stocks; `0`
    /// for bid/ask and midpoint bars).
    #[serde(rename = "v", with = "crate::num::number")]
    pub volume: Decimal,
    /// Start of the bar.
    #[serde(rename = "t")]
    pub time: EpochMillis,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Bar {
    /// A bar.
    pub fn new(
        time: EpochMillis,
        open: Decimal,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        volume: Decimal,
    ) -> Self {
        Bar {
            open,
            high,
            low,
            close,
            volume,
            time,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Unsubscribe

/// Body of `POST /iserver/marketdata/unsubscribe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsubscribeRequest {
    /// The contract whose data stream to close.
    pub conid: Conid,
}

impl UnsubscribeRequest {
    /// Close the stream of a contract.
    pub fn new(conid: Conid) -> Self {
        UnsubscribeRequest { conid }
    }
}

/// Answer of `POST /iserver/marketdata/unsubscribe`: `{"success":true}`. (For a contract
/// without a stream IBKR answers 500 `{"error":"unknown"}`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsubscribeResponse {
    /// `true` when the stream was closed.
    pub success: bool,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl UnsubscribeResponse {
    /// An answer.
    pub fn new(success: bool) -> Self {
        UnsubscribeResponse {
            success,
            extra: Extra::new(),
        }
    }
}

/// Answer of `GET /iserver/marketdata/unsubscribeall`: `{"unsubscribed":true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsubscribeAllResponse {
    /// `true` when all streams were closed.
    pub unsubscribed: bool,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl UnsubscribeAllResponse {
    /// An answer.
    pub fn new(unsubscribed: bool) -> Self {
        UnsubscribeAllResponse {
            unsubscribed,
            extra: Extra::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn plain_prices() {
        let p = parse_price("655.89").unwrap().unwrap();
        assert_eq!(p.value, d("655.89"));
        assert!(!p.prior_close && !p.halted);
        assert_eq!(
            parse_price("655.90").unwrap().unwrap().value.to_string(),
            "655.90"
        );
        assert_eq!(parse_price("-1.5").unwrap().unwrap().value, d("-1.5"));
    }

    #[test]
    fn closing_price_prefix() {
        let p = parse_price("C150.25").unwrap().unwrap();
        assert_eq!(p.value, d("150.25"));
        assert!(p.prior_close);
        assert!(!p.halted);
    }

    #[test]
    fn halted_prefix() {
        let p = parse_price("H150.25").unwrap().unwrap();
        assert_eq!(p.value, d("150.25"));
        assert!(p.halted);
        assert!(!p.prior_close);
    }

    #[test]
    fn size_suffixes() {
        assert_eq!(parse_size("1.2K").unwrap(), Some(d("1200")));
        assert_eq!(parse_size("3.4M").unwrap(), Some(d("3400000")));
        assert_eq!(parse_size("1.5B").unwrap(), Some(d("1500000000")));
        assert_eq!(parse_size("2T").unwrap(), Some(d("2000000000000")));
        assert_eq!(parse_size("100").unwrap(), Some(d("100")));
        assert_eq!(parse_size("-2.5K").unwrap(), Some(d("-2500")));
        assert_eq!(parse_size("1.2K").unwrap().unwrap().to_string(), "1200");
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("-0.53%").unwrap(), Some(d("-0.53")));
        assert_eq!(parse_percent("0.54%").unwrap(), Some(d("0.54")));
        assert_eq!(parse_percent("+1.25%").unwrap(), Some(d("1.25")));
        assert_eq!(parse_percent("12.5").unwrap(), Some(d("12.5")));
        assert!(parse_percent("%").is_err());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(parse_size("1,234").unwrap(), Some(d("1234")));
        assert_eq!(
            parse_price("1,234.50").unwrap().unwrap().value,
            d("1234.50")
        );
        assert_eq!(
            parse_price("C1,234.50").unwrap().unwrap().value,
            d("1234.50")
        );
        assert_eq!(parse_number("-12,345.6").unwrap(), Some(d("-12345.6")));
        assert_eq!(parse_percent("1,234.5%").unwrap(), Some(d("1234.5")));
    }

    #[test]
    fn empty_strings_are_none() {
        assert_eq!(parse_price("").unwrap(), None);
        assert_eq!(parse_size("  ").unwrap(), None);
        assert_eq!(parse_percent("").unwrap(), None);
        assert_eq!(parse_number("").unwrap(), None);
        assert_eq!(parse_flag("").unwrap(), None);
    }

    #[test]
    fn unknown_strings_are_errors() {
        let e = parse_price("N/A").unwrap_err();
        assert_eq!(
            (e.value.as_str(), e.form, e.field),
            ("N/A", ValueForm::Price, None)
        );
        assert_eq!(parse_size("1.2X").unwrap_err().form, ValueForm::Size);
        assert_eq!(parse_size("K").unwrap_err().form, ValueForm::Size);
        assert_eq!(parse_percent("abc%").unwrap_err().form, ValueForm::Percent);
        assert_eq!(parse_number("1.2K").unwrap_err().form, ValueForm::Number);
        assert_eq!(parse_flag("2").unwrap_err().form, ValueForm::Flag);
        assert!(parse_price("C").is_err());
    }

    #[test]
    fn quote_errors_name_the_field() {
        let mut row = SnapshotRow::new(Conid(265598));
        row.set(MarketDataField::ChangePct, "lots");
        let e = row.quote().unwrap_err();
        assert_eq!(e.field, Some(MarketDataField::ChangePct));
        assert_eq!(e.form, ValueForm::Percent);
        assert!(e.to_string().contains("83 (Change %)"), "{e}");
    }

    #[test]
    fn quote_from_a_full_row() {
        let row: SnapshotRow = serde_json::from_value(json!({
            "conid": 8314, "conidEx": "8314", "_updated": 1702334859712u64, "server_id": "q0",
            "31": "H187.50", "84": "187.45", "86": "187.55", "88": "3", "85": "1.2K",
            "87": "3.4M", "7762": "3400123", "7059": "100", "70": "190.00", "71": "185.10",
            "7295": "188.00", "7296": "", "7741": "186.20", "82": "+1.30", "83": "0.70%",
            "7633": "25.3%", "7308": "0.532", "7309": "0.04", "7310": "-0.12", "7311": "0.18",
            "6509": "DPB", "55": "IBM", "7051": "INTL BUSINESS MACHINES", "6070": "STK",
            "6457": "0", "7184": "1", "73": "1,234.56", "7635": 187.5
        }))
        .unwrap();
        let q = row.quote().unwrap();
        assert_eq!(q.conid, Conid(8314));
        assert_eq!(q.updated, Some(EpochMillis(1702334859712)));
        assert_eq!(q.last, Some(d("187.50")));
        assert!(q.halted && !q.last_is_prior_close);
        assert_eq!(q.bid_size, Some(d("3")));
        assert_eq!(q.ask_size, Some(d("1200")));
        assert_eq!(q.volume, Some(d("3400000")));
        assert_eq!(q.volume_long, Some(d("3400123")));
        assert_eq!(q.close, None);
        assert_eq!(q.change, Some(d("1.30")));
        assert_eq!(q.change_pct, Some(d("0.70")));
        assert_eq!(q.implied_vol, Some(d("25.3")));
        assert_eq!((q.delta, q.theta), (Some(d("0.532")), Some(d("-0.12"))));
        assert_eq!(
            q.availability.as_ref().unwrap().timeline(),
            Some(DataTimeline::Delayed)
        );
        assert_eq!(q.sec_type, Some(SecType::Stk));
        assert_eq!(q.underlying_conid, Some(Conid(0)));
        assert_eq!(q.can_be_traded, Some(true));
        assert_eq!(q.market_value, Some(d("1234.56")));
        assert_eq!(q.mark, Some(d("187.5")));
        assert_eq!(q.mid(), Some(d("187.50")));
    }

    #[test]
    fn field_table() {
        let mut ids: Vec<u32> = MarketDataField::ALL.iter().map(|f| f.id()).collect();
        for f in MarketDataField::ALL {
            assert_eq!(MarketDataField::from_id(f.id()), *f);
            assert!(f.label().is_some());
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate ids");
        assert_eq!(
            serde_json::from_value::<MarketDataField>(json!("7762")).unwrap(),
            MarketDataField::VolumeLong
        );
        assert_eq!(
            serde_json::to_value(MarketDataField::Unknown(1)).unwrap(),
            json!("1")
        );
    }

    #[test]
    fn history_points() {
        let mut h = HistoryResponse::new("SPY", "1d", 60, vec![]);
        h.high = "65820/26572.9/67".into();
        h.start_time = "20260402-13:30:00".into();
        let p = h.high_point().unwrap();
        assert_eq!(p.price, d("658.20"));
        assert_eq!(p.minutes, 67);
        assert_eq!(h.start().unwrap().to_string(), "2026-04-02 13:30:00");
        assert!(h.low_point().is_none());
    }
}
