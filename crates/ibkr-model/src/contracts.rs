//! Contracts: finding instruments and their details.
//!
//! Endpoints: `/iserver/secdef/search` (GET and POST), `/iserver/secdef/strikes`,
//! `/iserver/secdef/info`, `/iserver/secdef/bond-filters`, `/iserver/contract/{conid}/info`,
//! `/iserver/contract/{conid}/info-and-rules`, `/iserver/contract/{conid}/algos`,
//! `POST /iserver/contract/rules`, `/trsrv/stocks`, `/trsrv/futures`, `/trsrv/secdef`,
//! `/trsrv/secdef/schedule`, `/trsrv/all-conids`, `/contract/trading-schedule`,
//! `/iserver/currency/pairs` and `/iserver/exchangerate`.
//!
//! Nullable fields: where IBKR sends a field as `null` in some answers and leaves it out
//! in others, the field is an `Option<Option<T>>` (`None`: absent, `Some(None)`: `null`)
//! so that re-encoding gives back the same JSON; where it always sends the field,
//! sometimes as `null`, it is an `Option<T>` that is always written.
//!
//! ```
//! use ibkr_model::contracts::{Conid, SecDefSearchResult, SecType};
//!
//! let body = r#"[{"conid":"265598","companyHeader":"APPLE INC - NASDAQ","companyName":"APPLE INC",
//!   "symbol":"AAPL","description":"NASDAQ","restricted":null,
//!   "sections":[{"secType":"STK"},{"secType":"OPT","months":"APR26;MAY26","exchange":"SMART;AMEX"}]}]"#;
//! let found: Vec<SecDefSearchResult> = serde_json::from_str(body).unwrap();
//! assert_eq!(found[0].conid, Conid(265598));
//! let opt = found[0].section(&SecType::Opt).unwrap();
//! assert_eq!(opt.month_list().collect::<Vec<_>>(), ["APR26", "MAY26"]);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Extra;

/// An IBKR contract identifier. IBKR sends it as a JSON number in most answers and as a
/// string in some (`/iserver/secdef/search`); this type reads both and writes a number;
/// fields sent as strings are written back as strings by their own serde helper.
///
/// `Conid(0)` is what IBKR sends for "none" (e.g. `underlying_con_id` of a stock).
///
/// ```
/// use ibkr_model::contracts::Conid;
/// let a: Conid = serde_json::from_str("265598").unwrap();
/// let b: Conid = serde_json::from_str(r#""265598""#).unwrap();
/// assert_eq!(a, b);
/// assert_eq!(serde_json::to_string(&a).unwrap(), "265598");
/// assert_eq!("265598".parse::<Conid>().unwrap().to_string(), "265598");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Conid(pub i64);

impl Conid {
    /// Whether this is IBKR's "no contract" value, 0.
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// Implements, for a newtype over `i64` that IBKR sends as a JSON number or as a numeric
/// string: `Display`, `FromStr`, `From<i64>`, serialisation as a number and
/// deserialisation from either form. `$what` names the id in error messages, `$a_what`
/// with its article.
macro_rules! numeric_id {
    ($name:ident, $what:literal, $a_what:literal) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }

        impl From<i64> for $name {
            fn from(n: i64) -> Self {
                $name(n)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!($a_what, ", as a number or a numeric string"))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        Ok($name(v))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        i64::try_from(v)
                            .map($name)
                            .map_err(|_| E::custom(format!(concat!($what, " {} out of range"), v)))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse()
                            .map_err(|_| E::custom(format!(concat!("{:?} is not ", $a_what), v)))
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}
pub(crate) use numeric_id;

numeric_id!(Conid, "contract id", "a contract id");

/// Defines an enum of IBKR codes, sent as JSON strings, with an `Unknown(String)` variant.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A code this library does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The code as IBKR writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $code, )*
                    $name::Unknown(s) => s,
                }
            }

            /// The value of a code; codes this library does not know give `Unknown`.
            pub fn from_code(code: &str) -> Self {
                match code {
                    $( $code => $name::$variant, )*
                    other => $name::Unknown(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from_code(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from_code(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from_code(&s))
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// A security type (`secType`, `assetClass`, `instrument_type`), e.g. `STK`.
    ///
    /// ```
    /// use ibkr_model::contracts::SecType;
    /// assert_eq!(SecType::from_code("OPT"), SecType::Opt);
    /// assert_eq!(SecType::from_code("XYZ"), SecType::Unknown("XYZ".into()));
    /// assert_eq!(serde_json::to_string(&SecType::Fut).unwrap(), r#""FUT""#);
    /// ```
    SecType {
        /// `STK`: stock or ETF.
        Stk = "STK",
        /// `OPT`: option.
        Opt = "OPT",
        /// `FUT`: future.
        Fut = "FUT",
        /// `CASH`: forex pair.
        Cash = "CASH",
        /// `IND`: index.
        Ind = "IND",
        /// `BOND`: bond.
        Bond = "BOND",
        /// `FOP`: option on a future.
        Fop = "FOP",
        /// `WAR`: warrant.
        War = "WAR",
        /// `IOPT`: structured product (Dutch warrant etc.).
        Iopt = "IOPT",
        /// `CFD`: contract for difference.
        Cfd = "CFD",
        /// `FUND`: mutual fund.
        Fund = "FUND",
        /// `CRYPTO`: crypto currency.
        Crypto = "CRYPTO",
        /// `BAG`: combination (spread) of several contracts.
        Bag = "BAG",
        /// `CMDTY`: commodity.
        Cmdty = "CMDTY",
        /// `PHYSS`: physical metal.
        Physs = "PHYSS",
    }
}

/// An option's right. IBKR writes it `C`/`P` in most places (the default form here) and
/// `CALL`/`PUT` in `/iserver/contract/{conid}/info` (see [`right_long`]); both forms are
/// read everywhere. Other values (e.g. `?` for a stock in `/iserver/secdef/info`) are
/// kept in `Unknown`.
///
/// ```
/// use ibkr_model::contracts::Right;
/// assert_eq!(Right::from_code("C"), Right::Call);
/// assert_eq!(Right::from_code("PUT"), Right::Put);
/// assert_eq!(Right::from_code("?"), Right::Unknown("?".into()));
/// assert_eq!(Right::Call.to_string(), "C");
/// assert_eq!(Right::Put.long_code(), "PUT");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Right {
    /// A call (`C` or `CALL`).
    Call,
    /// A put (`P` or `PUT`).
    Put,
    /// Any other value, kept as sent.
    Unknown(String),
}

impl Right {
    /// The value of a code, in either form.
    pub fn from_code(code: &str) -> Self {
        match code {
            "C" | "CALL" | "Call" | "call" | "c" => Right::Call,
            "P" | "PUT" | "Put" | "put" | "p" => Right::Put,
            other => Right::Unknown(other.to_string()),
        }
    }

    /// The short code: `C`, `P`, or the unknown value.
    pub fn as_str(&self) -> &str {
        match self {
            Right::Call => "C",
            Right::Put => "P",
            Right::Unknown(s) => s,
        }
    }

    /// The long code: `CALL`, `PUT`, or the unknown value.
    pub fn long_code(&self) -> &str {
        match self {
            Right::Call => "CALL",
            Right::Put => "PUT",
            Right::Unknown(s) => s,
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Right {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Right::from_code(s))
    }
}

impl Serialize for Right {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Right {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Right::from_code(&s))
    }
}

/// Serde helper for an `Option<Right>` written in the long form (`CALL`/`PUT`), as in
/// `/iserver/contract/{conid}/info`. Use with
/// `#[serde(default, skip_serializing_if = "Option::is_none", with = "right_long")]`.
pub mod right_long {
    use super::Right;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `CALL`, `PUT`, the unknown value, or `null`.
    pub fn serialize<S: Serializer>(r: &Option<Right>, s: S) -> Result<S::Ok, S::Error> {
        match r {
            Some(r) => s.serialize_str(r.long_code()),
            None => s.serialize_none(),
        }
    }

    /// Reads either form; `null` gives `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Right>, D::Error> {
        Option::<Right>::deserialize(d)
    }
}

/// Serde helper for a list sent as one comma-separated query value, e.g.
/// `conids=265598,8314` or `symbols=ES,MES`.
pub mod comma_list {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Writes the items joined by commas.
    pub fn serialize<T: Display, S: Serializer>(items: &[T], s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        s.serialize_str(&text.join(","))
    }

    /// Reads comma-separated items, ignoring blanks around them.
    pub fn deserialize<'de, T, D>(d: D) -> Result<Vec<T>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let s = String::deserialize(d)?;
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().map_err(de::Error::custom))
            .collect()
    }
}

/// A date written `YYYYMMDD` (e.g. `maturity_date`, `expiry_full`), or `None` if the
/// text is not such a date.
///
/// ```
/// use ibkr_model::contracts::parse_yyyymmdd;
/// assert_eq!(parse_yyyymmdd("20240315").unwrap().to_string(), "2024-03-15");
/// assert!(parse_yyyymmdd("202403").is_none());
/// ```
pub fn parse_yyyymmdd(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(t, "%Y%m%d").ok()
}

fn date_from_int(n: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt((n / 10000) as i32, n / 100 % 100, n % 100)
}

fn split_list(s: &str, sep: char) -> impl Iterator<Item = &str> {
    s.split(sep).map(str::trim).filter(|p| !p.is_empty())
}

// ---------------------------------------------------------------------------------------
// /iserver/secdef/search

/// Query of `GET /iserver/secdef/search`, or body of `POST /iserver/secdef/search`.
///
/// ```
/// use ibkr_model::contracts::{SecDefSearchRequest, SecType};
/// let mut req = SecDefSearchRequest::new("AAPL");
/// req.sec_type = Some(SecType::Stk);
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"symbol":"AAPL","secType":"STK"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecDefSearchRequest {
    /// Ticker symbol, company name (with `name`), or bond issuer type.
    pub symbol: String,
    /// Underlying type: `STK` (default), `IND` or `BOND`.
    #[serde(rename = "secType", default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Whether `symbol` is (part of) a company name. Answers are then shorter, and
    /// `/iserver/secdef/strikes` will not answer for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<bool>,
    /// Ask for more results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more: Option<bool>,
    /// Search funds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fund: Option<bool>,
    /// Fund family, for fund searches.
    #[serde(
        rename = "fundFamilyConidEx",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fund_family_conid_ex: Option<String>,
    /// Pattern search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<bool>,
    /// Internal referrer tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

impl SecDefSearchRequest {
    /// A search for a symbol, other parameters unset.
    pub fn new(symbol: impl Into<String>) -> Self {
        SecDefSearchRequest {
            symbol: symbol.into(),
            sec_type: None,
            name: None,
            more: None,
            fund: None,
            fund_family_conid_ex: None,
            pattern: None,
            referrer: None,
        }
    }
}

/// One result of `/iserver/secdef/search` (the answer is a list of them): an
/// underlying, the derivative types it has, and for bond searches the issuers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecDefSearchResult {
    /// The underlying's contract id (sent as a string). For bond issuer results IBKR
    /// sends a placeholder (`2147483647`).
    #[serde(with = "crate::num::display")]
    pub conid: Conid,
    /// Company name and primary exchange, e.g. `APPLE INC - NASDAQ`.
    #[serde(rename = "companyHeader")]
    pub company_header: String,
    /// Company name; `null` for bond issuer results.
    #[serde(rename = "companyName", default)]
    pub company_name: Option<String>,
    /// Ticker symbol; `null` for bond issuer results.
    #[serde(default)]
    pub symbol: Option<String>,
    /// Primary exchange; `null` for bond issuer results.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether trading is restricted; usually `null`.
    #[serde(default)]
    pub restricted: Option<bool>,
    /// Futures-option expiries, `;`-separated (`null` when none); not always sent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub fop: Option<Option<String>>,
    /// Option expiries `YYYYMMDD`, `;`-separated (`null` when none); not always sent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub opt: Option<Option<String>>,
    /// Warrant expiries, `;`-separated (`null` when none); not always sent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub war: Option<Option<String>>,
    /// The security types available for this underlying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<SearchSection>>,
    /// Bond issuers (bond searches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuers: Option<Vec<BondIssuer>>,
    /// Bond type identifier (bond searches only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bondid: Option<i64>,
    /// Security type, sent at the top level by some gateways.
    #[serde(rename = "secType", default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SecDefSearchResult {
    /// A result for a contract, with a header and the given sections.
    pub fn new(
        conid: Conid,
        company_header: impl Into<String>,
        sections: Vec<SearchSection>,
    ) -> Self {
        SecDefSearchResult {
            conid,
            company_header: company_header.into(),
            company_name: None,
            symbol: None,
            description: None,
            restricted: None,
            fop: None,
            opt: None,
            war: None,
            sections: Some(sections),
            issuers: None,
            bondid: None,
            sec_type: None,
            extra: Extra::new(),
        }
    }

    /// The section of a security type, if listed.
    pub fn section(&self, sec_type: &SecType) -> Option<&SearchSection> {
        self.sections
            .as_deref()?
            .iter()
            .find(|s| &s.sec_type == sec_type)
    }
}

/// A security type listed for a search result, with its expiry months and exchanges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchSection {
    /// The security type.
    #[serde(rename = "secType")]
    pub sec_type: SecType,
    /// Expiry months, `;`-separated, e.g. `APR26;MAY26;JUN26` (derivatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<String>,
    /// Exchanges, `;`-separated, sometimes with a trailing `;` (e.g. `MEXI;`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// The contract id of this type when it is a single contract (e.g. the CFD), sent
    /// as a string.
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

impl SearchSection {
    /// A section for a security type, other fields unset.
    pub fn new(sec_type: SecType) -> Self {
        SearchSection {
            sec_type,
            months: None,
            exchange: None,
            conid: None,
            extra: Extra::new(),
        }
    }

    /// The expiry months, e.g. `APR26`, in order.
    pub fn month_list(&self) -> impl Iterator<Item = &str> {
        split_list(self.months.as_deref().unwrap_or(""), ';')
    }

    /// The exchanges, in order, without empty entries.
    pub fn exchange_list(&self) -> impl Iterator<Item = &str> {
        split_list(self.exchange.as_deref().unwrap_or(""), ';')
    }

    /// The expiry months as typed values (entries that do not parse are skipped).
    pub fn months(&self) -> Vec<ContractMonth> {
        self.month_list().filter_map(|m| m.parse().ok()).collect()
    }
}

/// An expiry month in IBKR's `MMMYY` form, e.g. `JAN25`.
///
/// ```
/// use ibkr_model::contracts::ContractMonth;
/// let m: ContractMonth = "jan25".parse().unwrap();
/// assert_eq!((m.year, m.month), (2025, 1));
/// assert_eq!(m.to_string(), "JAN25");
/// assert!("JAN2025".parse::<ContractMonth>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct ContractMonth {
    /// The year, e.g. 2025.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u32,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl ContractMonth {
    /// A month of a year.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        (1..=12)
            .contains(&month)
            .then_some(ContractMonth { year, month })
    }
}

impl std::str::FromStr for ContractMonth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        let bad = || format!("`{s}` is not a month in IBKR's MMMYY form, e.g. JAN25");
        if up.len() != 5 || !up.is_ascii() {
            return Err(bad());
        }
        let month = MONTHS.iter().position(|m| *m == &up[..3]).ok_or_else(bad)? as u32 + 1;
        let yy: i32 = up[3..].parse().map_err(|_| bad())?;
        Ok(ContractMonth {
            year: 2000 + yy,
            month,
        })
    }
}

impl std::fmt::Display for ContractMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{:02}",
            MONTHS[(self.month.clamp(1, 12) - 1) as usize],
            self.year.rem_euclid(100)
        )
    }
}

/// A bond issuer in a bond search result; its `id` is the `issuerId` of
/// `/iserver/secdef/bond-filters` and `/iserver/secdef/info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BondIssuer {
    /// Issuer id, e.g. `e1400789`.
    pub id: String,
    /// Issuer name.
    pub name: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BondIssuer {
    /// An issuer.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        BondIssuer {
            id: id.into(),
            name: name.into(),
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// /iserver/secdef/strikes, /iserver/secdef/info, /iserver/secdef/bond-filters

/// Query of `GET /iserver/secdef/strikes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StrikesRequest {
    /// The underlying (or the derivative itself).
    pub conid: Conid,
    /// `OPT`, `FOP` or `WAR` (the parameter is spelled `sectype`).
    pub sectype: SecType,
    /// Expiry month as listed by the search, e.g. `JAN24`.
    pub month: String,
    /// Exchange; `SMART` by default, required for futures options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
}

impl StrikesRequest {
    /// Strikes of a derivative type for an underlying and month.
    pub fn new(conid: Conid, sectype: SecType, month: impl Into<String>) -> Self {
        StrikesRequest {
            conid,
            sectype,
            month: month.into(),
            exchange: None,
        }
    }
}

/// Answer of `/iserver/secdef/strikes`: the strikes of calls and puts (JSON numbers).
/// Empty unless `/iserver/secdef/search` was called for the underlying first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Strikes {
    /// Call strikes.
    #[serde(with = "crate::num::number::vec")]
    pub call: Vec<Decimal>,
    /// Put strikes.
    #[serde(with = "crate::num::number::vec")]
    pub put: Vec<Decimal>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Strikes {
    /// Strikes from the call and put lists.
    pub fn new(call: Vec<Decimal>, put: Vec<Decimal>) -> Self {
        Strikes {
            call,
            put,
            extra: Extra::new(),
        }
    }
}

/// Query of `GET /iserver/secdef/info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SecDefInfoRequest {
    /// The underlying (or the derivative itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conid: Option<Conid>,
    /// Security type of the contract wanted (the parameter is spelled `sectype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sectype: Option<SecType>,
    /// Expiry month, e.g. `JAN24` (derivatives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// Exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Strike (options, futures options).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::string::opt"
    )]
    pub strike: Option<Decimal>,
    /// Right (options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<Right>,
    /// Bond issuer id, e.g. `e1234567` (bonds).
    #[serde(rename = "issuerId", default, skip_serializing_if = "Option::is_none")]
    pub issuer_id: Option<String>,
    /// Comma-separated bond filters (bonds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<String>,
}

/// One contract in the answer of `/iserver/secdef/info`.
///
/// The spec shows a stock with `ticker`, `companyName`, `priceRendering`; IBKR's prose
/// docs show an option with `symbol`, `cusip`, `coupon`, `desc1`, `desc2`,
/// `multiplier`, `tradingClass`. All are modelled and optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecDefInfo {
    /// The contract id.
    pub conid: Conid,
    /// Symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Ticker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticker: Option<String>,
    /// Security type.
    #[serde(rename = "secType", default, skip_serializing_if = "Option::is_none")]
    pub sec_type: Option<SecType>,
    /// Primary listing exchange (may be `null`).
    #[serde(
        rename = "listingExchange",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub listing_exchange: Option<Option<String>>,
    /// Exchange asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Company name.
    #[serde(
        rename = "companyName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub company_name: Option<String>,
    /// Trading currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Comma-separated exchanges the contract trades on.
    #[serde(
        rename = "validExchanges",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_exchanges: Option<String>,
    /// Internal rendering hint, usually `null`.
    #[serde(
        rename = "priceRendering",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub price_rendering: Option<Option<serde_json::Value>>,
    /// Expiry `YYYYMMDD` (may be `null`).
    #[serde(
        rename = "maturityDate",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub maturity_date: Option<Option<String>>,
    /// Right; `?` (kept as `Unknown`) for non-options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<Right>,
    /// Strike (a JSON number; `0.0` for non-options).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub strike: Option<Decimal>,
    /// CUSIP (bonds; may be `null`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub cusip: Option<Option<String>>,
    /// Coupon (bonds), e.g. `No Coupon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
    /// First description line, e.g. `AAPL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc1: Option<String>,
    /// Second description line, e.g. `JAN 05 '24 195 Put`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desc2: Option<String>,
    /// Multiplier (a string, e.g. `"100"`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::string::opt"
    )]
    pub multiplier: Option<Decimal>,
    /// Trading class.
    #[serde(
        rename = "tradingClass",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trading_class: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SecDefInfo {
    /// A description of a contract, other fields unset.
    pub fn new(conid: Conid) -> Self {
        SecDefInfo {
            conid,
            symbol: None,
            ticker: None,
            sec_type: None,
            listing_exchange: None,
            exchange: None,
            company_name: None,
            currency: None,
            valid_exchanges: None,
            price_rendering: None,
            maturity_date: None,
            right: None,
            strike: None,
            cusip: None,
            coupon: None,
            desc1: None,
            desc2: None,
            multiplier: None,
            trading_class: None,
            extra: Extra::new(),
        }
    }
}

/// Answer of `/iserver/secdef/info`: IBKR's docs show a list, its spec a single object;
/// both are read and written back as they came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum SecDefInfoResponse {
    /// A list of contracts (what the gateway sends).
    Many(Vec<SecDefInfo>),
    /// A single contract (the spec's example).
    One(Box<SecDefInfo>),
}

impl SecDefInfoResponse {
    /// The contracts, whichever form was sent.
    pub fn as_slice(&self) -> &[SecDefInfo] {
        match self {
            SecDefInfoResponse::Many(v) => v,
            SecDefInfoResponse::One(c) => std::slice::from_ref(&**c),
        }
    }
}

/// Query of `GET /iserver/secdef/bond-filters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BondFiltersRequest {
    /// Always `BOND`.
    pub symbol: String,
    /// The issuer, from a bond search's `issuers`.
    #[serde(rename = "issuerId")]
    pub issuer_id: String,
}

impl BondFiltersRequest {
    /// The filters of an issuer (`symbol` is `BOND`).
    pub fn new(issuer_id: impl Into<String>) -> Self {
        BondFiltersRequest {
            symbol: "BOND".into(),
            issuer_id: issuer_id.into(),
        }
    }
}

/// Answer of `/iserver/secdef/bond-filters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct BondFilters {
    /// One filter per attribute (maturity date, issue date, coupon, currency, exchange).
    #[serde(rename = "bondFilters")]
    pub bond_filters: Vec<BondFilter>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One bond filter and its possible values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BondFilter {
    /// The attribute, e.g. `Maturity Date`, `Issue Date`, `Coupon`, `Currency`.
    #[serde(rename = "displayText")]
    pub display_text: String,
    /// Column id (internal use).
    #[serde(rename = "columnId")]
    pub column_id: i64,
    /// The values.
    pub options: Vec<BondFilterOption>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BondFilter {
    /// A filter with its values.
    pub fn new(
        display_text: impl Into<String>,
        column_id: i64,
        options: Vec<BondFilterOption>,
    ) -> Self {
        BondFilter {
            display_text: display_text.into(),
            column_id,
            options,
            extra: Extra::new(),
        }
    }
}

/// A value of a bond filter, e.g. `{"text":"Dec 2028","value":"202812"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BondFilterOption {
    /// Readable form, when different from `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The value to filter on.
    pub value: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BondFilterOption {
    /// A value without text.
    pub fn new(value: impl Into<String>) -> Self {
        BondFilterOption {
            text: None,
            value: value.into(),
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// /iserver/contract/{conid}/info, info-and-rules, rules, algos

/// Answer of `/iserver/contract/{conid}/info` (snake_case, unlike most of the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractInfo {
    /// CFI code (ISO 10962), empty for stocks.
    pub cfi_code: String,
    /// Underlying symbol.
    pub symbol: String,
    /// CUSIP (bonds); `null` otherwise.
    #[serde(default)]
    pub cusip: Option<String>,
    /// Expiry `YYYYMMDD`; `null` for non-expiring contracts.
    #[serde(default)]
    pub expiry_full: Option<String>,
    /// The contract id.
    pub con_id: Conid,
    /// Maturity `YYYYMMDD`; `null` for non-expiring contracts.
    #[serde(default)]
    pub maturity_date: Option<String>,
    /// Industry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Security type.
    pub instrument_type: SecType,
    /// Whether related contracts (derivatives) exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_related_contracts: Option<bool>,
    /// Trading class.
    pub trading_class: String,
    /// Comma-separated exchanges.
    pub valid_exchanges: String,
    /// Whether selling long shares is allowed.
    pub allow_sell_long: bool,
    /// Whether the contract trades commission-free.
    pub is_zero_commission_security: bool,
    /// Local symbol (the OCC symbol for options).
    pub local_symbol: String,
    /// Internal; `null` or absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub contract_clarification_type: Option<Option<String>>,
    /// Internal; `null` or absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub classifier: Option<Option<String>>,
    /// Trading currency.
    pub currency: String,
    /// Display name, e.g. `MAR 15 '24 187.5 Call`; `null` or absent for stocks.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub text: Option<Option<String>>,
    /// The underlying's contract id; `Conid(0)` for none.
    pub underlying_con_id: Conid,
    /// Whether trading is limited to regular hours (the field is named `r_t_h`).
    pub r_t_h: bool,
    /// Multiplier, a string (`"100"`); `null` or absent for stocks.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::string::nullable"
    )]
    pub multiplier: Option<Option<Decimal>>,
    /// Strike, a string (`"187.5"`), for options.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::string::opt"
    )]
    pub strike: Option<Decimal>,
    /// Right, written `CALL`/`PUT` here, for options.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "right_long")]
    pub right: Option<Right>,
    /// Issuer of the underlying; `null` or absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub underlying_issuer: Option<Option<String>>,
    /// Contract month `YYYYMM`; `null` or absent for non-expiring contracts.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub contract_month: Option<Option<String>>,
    /// Company name.
    pub company_name: String,
    /// Whether SMART routing is available.
    pub smart_available: bool,
    /// Exchange (usually `SMART`).
    pub exchange: String,
    /// Industry category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContractInfo {
    /// Details of a contract, with empty strings and `false` for the fields not given.
    pub fn new(con_id: Conid, symbol: impl Into<String>, instrument_type: SecType) -> Self {
        let symbol = symbol.into();
        ContractInfo {
            cfi_code: String::new(),
            symbol: symbol.clone(),
            cusip: None,
            expiry_full: None,
            con_id,
            maturity_date: None,
            industry: None,
            instrument_type,
            has_related_contracts: None,
            trading_class: symbol.clone(),
            valid_exchanges: String::new(),
            allow_sell_long: false,
            is_zero_commission_security: false,
            local_symbol: symbol,
            contract_clarification_type: None,
            classifier: None,
            currency: String::new(),
            text: None,
            underlying_con_id: Conid(0),
            r_t_h: true,
            multiplier: None,
            strike: None,
            right: None,
            underlying_issuer: None,
            contract_month: None,
            company_name: String::new(),
            smart_available: false,
            exchange: String::new(),
            category: None,
            extra: Extra::new(),
        }
    }

    /// The exchanges of `valid_exchanges`, in order.
    pub fn exchange_list(&self) -> impl Iterator<Item = &str> {
        split_list(&self.valid_exchanges, ',')
    }

    /// The expiry date, if any.
    pub fn expiry(&self) -> Option<NaiveDate> {
        self.expiry_full.as_deref().and_then(parse_yyyymmdd)
    }

    /// The multiplier, if sent and not `null`.
    pub fn multiplier(&self) -> Option<Decimal> {
        self.multiplier.flatten()
    }
}

/// Trading rules of a contract: answer of `POST /iserver/contract/rules` and the `rules`
/// part of `/iserver/contract/{conid}/info-and-rules`.
///
/// Note the spelling `stopprice` (the spec says `stopPrice`; gateways send `stopprice`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractRules {
    /// Whether IB algos may be used.
    #[serde(rename = "algoEligible")]
    pub algo_eligible: bool,
    /// Whether the contract trades in the overnight session.
    #[serde(
        rename = "overnightEligible",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub overnight_eligible: Option<bool>,
    /// Whether all-or-none orders are allowed.
    #[serde(
        rename = "allOrNoneEligible",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub all_or_none_eligible: Option<bool>,
    /// Whether a cost report was requested (Client Portal only).
    #[serde(
        rename = "costReport",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cost_report: Option<bool>,
    /// Accounts allowed to trade the contract.
    #[serde(
        rename = "canTradeAcctIds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub can_trade_acct_ids: Option<Vec<String>>,
    /// Why rules could not be read; `null` when they could.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub error: Option<Option<String>>,
    /// Order types allowed, e.g. `limit`, `market`, `stop_limit`.
    #[serde(rename = "orderTypes")]
    pub order_types: Vec<String>,
    /// Order types usable with IB algos.
    #[serde(
        rename = "ibAlgoTypes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ib_algo_types: Option<Vec<String>>,
    /// Order types usable for fractional quantities.
    #[serde(rename = "fraqTypes", default, skip_serializing_if = "Option::is_none")]
    pub fraq_types: Option<Vec<String>>,
    /// Whether a preview is forced before submission.
    #[serde(
        rename = "forceOrderPreview",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub force_order_preview: Option<bool>,
    /// Order types usable with a cash quantity.
    #[serde(rename = "cqtTypes", default, skip_serializing_if = "Option::is_none")]
    pub cqt_types: Option<Vec<String>>,
    /// Defaults per order type, e.g. `{"LMT":{"LP":"198.22"}}`.
    #[serde(
        rename = "orderDefaults",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub order_defaults: Option<BTreeMap<String, Extra>>,
    /// Order types allowed outside regular hours.
    #[serde(
        rename = "orderTypesOutside",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub order_types_outside: Option<Vec<String>>,
    /// Default order quantity.
    #[serde(rename = "defaultSize", with = "crate::num::number")]
    pub default_size: Decimal,
    /// Default cash quantity.
    #[serde(rename = "cashSize", with = "crate::num::number")]
    pub cash_size: Decimal,
    /// Quantity step.
    #[serde(rename = "sizeIncrement", with = "crate::num::number")]
    pub size_increment: Decimal,
    /// Time-in-force values with the order types they allow, e.g. `GTC/o,a`.
    #[serde(rename = "tifTypes", default, skip_serializing_if = "Option::is_none")]
    pub tif_types: Option<Vec<String>>,
    /// Default time in force and size.
    #[serde(
        rename = "tifDefaults",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tif_defaults: Option<TifDefaults>,
    /// Default limit price; `null` without market data.
    #[serde(
        rename = "limitPrice",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::nullable"
    )]
    pub limit_price: Option<Option<Decimal>>,
    /// Default stop price; `null` without market data.
    #[serde(
        rename = "stopprice",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::nullable"
    )]
    pub stop_price: Option<Option<Decimal>>,
    /// Order origin designation (US options); usually `null`.
    #[serde(
        rename = "orderOrigination",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub order_origination: Option<Option<String>>,
    /// Whether a preview is required (Client Portal only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    /// Display size rule; usually `null`.
    #[serde(
        rename = "displaySize",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::nullable"
    )]
    pub display_size: Option<Option<Decimal>>,
    /// Decimal places allowed for fractional quantities.
    #[serde(rename = "fraqInt", default, skip_serializing_if = "Option::is_none")]
    pub fraq_int: Option<i64>,
    /// Currency of cash quantities.
    #[serde(rename = "cashCcy", default, skip_serializing_if = "Option::is_none")]
    pub cash_ccy: Option<String>,
    /// Cash quantity step; `null` when cash quantities are not supported.
    #[serde(
        rename = "cashQtyIncr",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::nullable"
    )]
    pub cash_qty_incr: Option<Option<Decimal>>,
    /// Price magnifier; usually `null`.
    #[serde(
        rename = "priceMagnifier",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::num::nullable::deserialize"
    )]
    pub price_magnifier: Option<Option<i64>>,
    /// Whether prices can be negative.
    #[serde(
        rename = "negativeCapable",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub negative_capable: Option<bool>,
    /// Kind of price increment rule.
    #[serde(
        rename = "incrementType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub increment_type: Option<i64>,
    /// Price increments by price level.
    #[serde(
        rename = "incrementRules",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub increment_rules: Option<Vec<IncrementRule>>,
    /// Internal.
    #[serde(
        rename = "hasSecondary",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_secondary: Option<bool>,
    /// Order types a modification may change to.
    #[serde(rename = "modTypes", default, skip_serializing_if = "Option::is_none")]
    pub mod_types: Option<Vec<String>>,
    /// Minimum price increment.
    #[serde(with = "crate::num::number")]
    pub increment: Decimal,
    /// Decimal places of prices.
    #[serde(rename = "incrementDigits")]
    pub increment_digits: u32,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContractRules {
    /// Rules with the given order types and steps, other fields unset.
    pub fn new(
        order_types: Vec<String>,
        default_size: Decimal,
        size_increment: Decimal,
        increment: Decimal,
    ) -> Self {
        ContractRules {
            algo_eligible: false,
            overnight_eligible: None,
            all_or_none_eligible: None,
            cost_report: None,
            can_trade_acct_ids: None,
            error: None,
            order_types,
            ib_algo_types: None,
            fraq_types: None,
            force_order_preview: None,
            cqt_types: None,
            order_defaults: None,
            order_types_outside: None,
            default_size,
            cash_size: Decimal::ZERO,
            size_increment,
            tif_types: None,
            tif_defaults: None,
            limit_price: None,
            stop_price: None,
            order_origination: None,
            preview: None,
            display_size: None,
            fraq_int: None,
            cash_ccy: None,
            cash_qty_incr: None,
            price_magnifier: None,
            negative_capable: None,
            increment_type: None,
            increment_rules: None,
            has_secondary: None,
            mod_types: None,
            increment,
            increment_digits: increment.scale(),
            extra: Extra::new(),
        }
    }

    /// The default limit price, if sent and not `null`.
    pub fn limit_price(&self) -> Option<Decimal> {
        self.limit_price.flatten()
    }
}

/// Default time in force and size (`tifDefaults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct TifDefaults {
    /// Default time in force, e.g. `DAY`.
    #[serde(rename = "TIF", default, skip_serializing_if = "Option::is_none")]
    pub tif: Option<String>,
    /// Default size, a string, e.g. `"100.00"`.
    #[serde(
        rename = "SIZE",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::string::opt"
    )]
    pub size: Option<Decimal>,
    /// Default account (multi-account users).
    #[serde(
        rename = "DEFAULT_ACCT",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_acct: Option<String>,
    /// Internal.
    #[serde(rename = "PMALGO", default, skip_serializing_if = "Option::is_none")]
    pub pmalgo: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A price increment from a price level up (`incrementRules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IncrementRule {
    /// The price from which `increment` applies.
    #[serde(rename = "lowerEdge", with = "crate::num::number")]
    pub lower_edge: Decimal,
    /// The price step.
    #[serde(with = "crate::num::number")]
    pub increment: Decimal,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IncrementRule {
    /// A step from a price level.
    pub fn new(lower_edge: Decimal, increment: Decimal) -> Self {
        IncrementRule {
            lower_edge,
            increment,
            extra: Extra::new(),
        }
    }
}

/// Answer of `/iserver/contract/{conid}/info-and-rules`: the contract's details with its
/// rules in `rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractInfoAndRules {
    /// The details (same fields as `/iserver/contract/{conid}/info`).
    #[serde(flatten)]
    pub info: ContractInfo,
    /// The trading rules.
    pub rules: ContractRules,
}

impl ContractInfoAndRules {
    /// Details and rules together.
    pub fn new(info: ContractInfo, rules: ContractRules) -> Self {
        ContractInfoAndRules { info, rules }
    }
}

/// Body of `POST /iserver/contract/rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractRulesRequest {
    /// The contract.
    pub conid: Conid,
    /// Exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Buy-side rules (`true`, the default) or sell-side.
    #[serde(rename = "isBuy", default, skip_serializing_if = "Option::is_none")]
    pub is_buy: Option<bool>,
    /// Rules for modifying the order `order_id`.
    #[serde(
        rename = "modifyOrder",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub modify_order: Option<bool>,
    /// The order to modify, with `modify_order`.
    #[serde(rename = "orderId", default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<i64>,
}

impl ContractRulesRequest {
    /// Rules of a contract for one side.
    pub fn new(conid: Conid, is_buy: bool) -> Self {
        ContractRulesRequest {
            conid,
            exchange: None,
            is_buy: Some(is_buy),
            modify_order: None,
            order_id: None,
        }
    }
}

/// Query of `GET /iserver/contract/{conid}/algos`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AlgosRequest {
    /// Algo ids to keep, `;`-separated (case-sensitive, at most 8), e.g. `Adaptive;Vwap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algos: Option<String>,
    /// Add descriptions: `1` yes, `0` no.
    #[serde(
        rename = "addDescription",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub add_description: Option<u8>,
    /// Add parameters: `1` yes, `0` no.
    #[serde(rename = "addParams", default, skip_serializing_if = "Option::is_none")]
    pub add_params: Option<u8>,
}

/// Answer of `/iserver/contract/{conid}/algos`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Algos {
    /// The algos available for the contract.
    pub algos: Vec<Algo>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An IB algo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Algo {
    /// Name, e.g. `VWAP`.
    pub name: String,
    /// Id used in orders, e.g. `Vwap`.
    pub id: String,
    /// Description (with `addDescription=1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Parameters (with `addParams=1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<AlgoParameter>>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Algo {
    /// An algo without description or parameters.
    pub fn new(name: impl Into<String>, id: impl Into<String>) -> Self {
        Algo {
            name: name.into(),
            id: id.into(),
            description: None,
            parameters: None,
            extra: Extra::new(),
        }
    }
}

/// A parameter of an IB algo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AlgoParameter {
    /// Id used in orders, e.g. `maxPctVol`.
    pub id: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value type: `String`, `Double`, `Boolean`, `Time`, ...
    #[serde(
        rename = "valueClassName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub value_class_name: Option<String>,
    /// Position in Client Portal's form.
    #[serde(rename = "guiRank", default, skip_serializing_if = "Option::is_none")]
    pub gui_rank: Option<i64>,
    /// Default value, of the parameter's type (string, boolean or number).
    #[serde(
        rename = "defaultValue",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_value: Option<serde_json::Value>,
    /// Allowed values.
    #[serde(
        rename = "legalStrings",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub legal_strings: Option<Vec<String>>,
    /// Whether required: IBKR sends the string `"true"`; see [`is_required`](Self::is_required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<String>,
    /// Minimum value.
    #[serde(
        rename = "minValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub min_value: Option<Decimal>,
    /// Maximum value.
    #[serde(
        rename = "maxValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub max_value: Option<Decimal>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Conditions under which the parameter applies, e.g. `MKT:speedUp:=:no`.
    #[serde(
        rename = "enabledConditions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled_conditions: Option<Vec<String>>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AlgoParameter {
    /// A parameter with an id, other fields unset.
    pub fn new(id: impl Into<String>) -> Self {
        AlgoParameter {
            id: id.into(),
            name: None,
            value_class_name: None,
            gui_rank: None,
            default_value: None,
            legal_strings: None,
            required: None,
            min_value: None,
            max_value: None,
            description: None,
            enabled_conditions: None,
            extra: Extra::new(),
        }
    }

    /// Whether the parameter is required (`required` is `"true"`).
    pub fn is_required(&self) -> bool {
        self.required
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("true"))
    }
}

// ---------------------------------------------------------------------------------------
// /iserver/currency/pairs, /iserver/exchangerate

/// Answer of `/iserver/currency/pairs?currency=USD`: the asked currency → its pairs.
pub type CurrencyPairs = BTreeMap<String, Vec<CurrencyPair>>;

/// A forex pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CurrencyPair {
    /// Pair symbol, e.g. `EUR.USD`.
    pub symbol: String,
    /// The pair's contract id.
    pub conid: Conid,
    /// The other currency, e.g. `EUR`.
    #[serde(rename = "ccyPair")]
    pub ccy_pair: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CurrencyPair {
    /// A pair.
    pub fn new(symbol: impl Into<String>, conid: Conid, ccy_pair: impl Into<String>) -> Self {
        CurrencyPair {
            symbol: symbol.into(),
            conid,
            ccy_pair: ccy_pair.into(),
            extra: Extra::new(),
        }
    }
}

/// Answer of `/iserver/exchangerate?source=..&target=..`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExchangeRate {
    /// Units of `target` per unit of `source`.
    #[serde(with = "crate::num::number")]
    pub rate: Decimal,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ExchangeRate {
    /// A rate.
    pub fn new(rate: Decimal) -> Self {
        ExchangeRate {
            rate,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// /trsrv/*

/// Query of `/trsrv/stocks` and `/trsrv/futures`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SymbolsRequest {
    /// Symbols, sent comma-separated.
    #[serde(with = "comma_list")]
    pub symbols: Vec<String>,
    /// Exchange (futures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
}

impl SymbolsRequest {
    /// A request for some symbols.
    pub fn new<S: Into<String>>(symbols: impl IntoIterator<Item = S>) -> Self {
        SymbolsRequest {
            symbols: symbols.into_iter().map(Into::into).collect(),
            exchange: None,
        }
    }
}

/// Answer of `/trsrv/stocks`: each symbol → the companies with that symbol.
pub type Stocks = BTreeMap<String, Vec<StockEntry>>;

/// A company found by `/trsrv/stocks`, with its listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StockEntry {
    /// Company name.
    pub name: String,
    /// Chinese name (HTML character references in some answers).
    #[serde(
        rename = "chineseName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub chinese_name: Option<String>,
    /// Security type (`STK`).
    #[serde(rename = "assetClass")]
    pub asset_class: SecType,
    /// Listings.
    pub contracts: Vec<StockContract>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StockEntry {
    /// A company with its listings.
    pub fn new(name: impl Into<String>, contracts: Vec<StockContract>) -> Self {
        StockEntry {
            name: name.into(),
            chinese_name: None,
            asset_class: SecType::Stk,
            contracts,
            extra: Extra::new(),
        }
    }
}

/// A listing of a stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StockContract {
    /// The contract id.
    pub conid: Conid,
    /// Exchange.
    pub exchange: String,
    /// Whether it is a US listing.
    #[serde(rename = "isUS")]
    pub is_us: bool,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StockContract {
    /// A listing.
    pub fn new(conid: Conid, exchange: impl Into<String>, is_us: bool) -> Self {
        StockContract {
            conid,
            exchange: exchange.into(),
            is_us,
            extra: Extra::new(),
        }
    }
}

/// Answer of `/trsrv/futures`: each symbol → its unexpired futures.
pub type Futures = BTreeMap<String, Vec<FutureContract>>;

/// A future from `/trsrv/futures`. Dates are integers `YYYYMMDD`; methods give them as
/// dates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FutureContract {
    /// Symbol.
    pub symbol: String,
    /// The future's contract id.
    pub conid: Conid,
    /// The underlying (index) contract id.
    #[serde(rename = "underlyingConid")]
    pub underlying_conid: Conid,
    /// Expiry, `YYYYMMDD`.
    #[serde(rename = "expirationDate")]
    pub expiration_date: u32,
    /// Last trading day, `YYYYMMDD`.
    pub ltd: u32,
    /// Last day to roll short positions, `YYYYMMDD`.
    #[serde(rename = "shortFuturesCutOff")]
    pub short_futures_cut_off: u32,
    /// Last day to roll long positions, `YYYYMMDD`.
    #[serde(rename = "longFuturesCutOff")]
    pub long_futures_cut_off: u32,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl FutureContract {
    /// A future expiring on a date, with the last trading day and cut-offs on that date.
    pub fn new(
        symbol: impl Into<String>,
        conid: Conid,
        underlying_conid: Conid,
        expiration_date: u32,
    ) -> Self {
        FutureContract {
            symbol: symbol.into(),
            conid,
            underlying_conid,
            expiration_date,
            ltd: expiration_date,
            short_futures_cut_off: expiration_date,
            long_futures_cut_off: expiration_date,
            extra: Extra::new(),
        }
    }

    /// The expiry as a date.
    pub fn expiration(&self) -> Option<NaiveDate> {
        date_from_int(self.expiration_date)
    }

    /// The last trading day as a date.
    pub fn last_trading_day(&self) -> Option<NaiveDate> {
        date_from_int(self.ltd)
    }
}

/// Query of `/trsrv/secdef`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrsrvSecDefRequest {
    /// Contract ids, sent comma-separated.
    #[serde(with = "comma_list")]
    pub conids: Vec<Conid>,
}

impl TrsrvSecDefRequest {
    /// Definitions of some contracts.
    pub fn new(conids: impl IntoIterator<Item = Conid>) -> Self {
        TrsrvSecDefRequest {
            conids: conids.into_iter().collect(),
        }
    }
}

/// Answer of `/trsrv/secdef`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct TrsrvSecDefResponse {
    /// One definition per contract asked for.
    pub secdef: Vec<TrsrvSecDef>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A security definition from `/trsrv/secdef`.
///
/// Note the forms: `strike` is a string (`"0"`), `multiplier` a number (`0.0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrsrvSecDef {
    /// The contract id.
    pub conid: Conid,
    /// Trading currency.
    pub currency: String,
    /// Company name.
    pub name: String,
    /// Security type.
    #[serde(rename = "assetClass")]
    pub asset_class: SecType,
    /// Expiry; `null` for non-expiring contracts.
    #[serde(default)]
    pub expiry: Option<String>,
    /// Last trading day; `null` for non-expiring contracts.
    #[serde(rename = "lastTradingDay", default)]
    pub last_trading_day: Option<String>,
    /// Industry group; may be `null`.
    #[serde(default)]
    pub group: Option<String>,
    /// Right of an option; `null` otherwise.
    #[serde(rename = "putOrCall", default)]
    pub put_or_call: Option<Right>,
    /// Sector; may be `null`.
    #[serde(default)]
    pub sector: Option<String>,
    /// Sector group; may be `null`.
    #[serde(rename = "sectorGroup", default)]
    pub sector_group: Option<String>,
    /// Strike (a string; `"0"` for non-options).
    #[serde(with = "crate::num::string")]
    pub strike: Decimal,
    /// Ticker.
    pub ticker: String,
    /// The underlying's contract id; `Conid(0)` for none.
    #[serde(rename = "undConid")]
    pub und_conid: Conid,
    /// Multiplier (a number; `0.0` for stocks).
    #[serde(with = "crate::num::number")]
    pub multiplier: Decimal,
    /// Kind of security, e.g. `COMMON`, `ETF` (the field is named `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether options exist.
    #[serde(rename = "hasOptions")]
    pub has_options: bool,
    /// Full symbol.
    #[serde(rename = "fullName")]
    pub full_name: String,
    /// Whether it is a US contract.
    #[serde(rename = "isUS")]
    pub is_us: bool,
    /// Whether it is an event contract.
    #[serde(
        rename = "isEventContract",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_event_contract: Option<bool>,
    /// Primary listing exchange.
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
    /// Milliseconds taken to build the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// Chinese name (HTML character references in some answers).
    #[serde(
        rename = "chineseName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub chinese_name: Option<String>,
    /// Comma-separated exchanges.
    #[serde(
        rename = "allExchanges",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub all_exchanges: Option<String>,
    /// Price increments; see `/iserver/contract/rules` for reliable ones.
    #[serde(
        rename = "incrementRules",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub increment_rules: Option<Vec<IncrementRule>>,
    /// Display rule for prices.
    #[serde(
        rename = "displayRule",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_rule: Option<DisplayRule>,
    /// Page size of the answer.
    #[serde(rename = "pageSize", default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i64>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TrsrvSecDef {
    /// A definition of a stock-like contract, other fields empty.
    pub fn new(conid: Conid, ticker: impl Into<String>, asset_class: SecType) -> Self {
        let ticker = ticker.into();
        TrsrvSecDef {
            conid,
            currency: String::new(),
            name: String::new(),
            asset_class,
            expiry: None,
            last_trading_day: None,
            group: None,
            put_or_call: None,
            sector: None,
            sector_group: None,
            strike: Decimal::ZERO,
            ticker: ticker.clone(),
            und_conid: Conid(0),
            multiplier: Decimal::new(0, 1),
            kind: String::new(),
            has_options: false,
            full_name: ticker,
            is_us: false,
            is_event_contract: None,
            listing_exchange: None,
            country_code: None,
            time: None,
            chinese_name: None,
            all_exchanges: None,
            increment_rules: None,
            display_rule: None,
            page_size: None,
            extra: Extra::new(),
        }
    }
}

/// How prices are displayed (`displayRule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct DisplayRule {
    /// Magnification.
    pub magnification: i64,
    /// Steps by price level.
    #[serde(rename = "displayRuleStep")]
    pub display_rule_step: Vec<DisplayRuleStep>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A display step from a price level up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DisplayRuleStep {
    /// Decimal places shown.
    #[serde(rename = "decimalDigits")]
    pub decimal_digits: u32,
    /// The price from which the step applies.
    #[serde(rename = "lowerEdge", with = "crate::num::number")]
    pub lower_edge: Decimal,
    /// Integer digits shown.
    #[serde(rename = "wholeDigits")]
    pub whole_digits: u32,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DisplayRuleStep {
    /// A step.
    pub fn new(decimal_digits: u32, lower_edge: Decimal, whole_digits: u32) -> Self {
        DisplayRuleStep {
            decimal_digits,
            lower_edge,
            whole_digits,
            extra: Extra::new(),
        }
    }
}

/// Query of `/trsrv/all-conids`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AllConidsRequest {
    /// Exchange, e.g. `AMEX`.
    pub exchange: String,
    /// Security type (`STK`, the default, is the only one documented).
    #[serde(
        rename = "assetClass",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub asset_class: Option<SecType>,
}

impl AllConidsRequest {
    /// All stocks of an exchange.
    pub fn new(exchange: impl Into<String>) -> Self {
        AllConidsRequest {
            exchange: exchange.into(),
            asset_class: None,
        }
    }
}

/// An item of `/trsrv/all-conids` (the answer is a list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExchangeConid {
    /// Ticker.
    pub ticker: String,
    /// The contract id.
    pub conid: Conid,
    /// Exchange.
    pub exchange: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ExchangeConid {
    /// An item.
    pub fn new(ticker: impl Into<String>, conid: Conid, exchange: impl Into<String>) -> Self {
        ExchangeConid {
            ticker: ticker.into(),
            conid,
            exchange: exchange.into(),
            extra: Extra::new(),
        }
    }
}

/// Query of `/trsrv/secdef/schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecDefScheduleRequest {
    /// Asset class in this endpoint's own codes: `STK`, `OPT`, `FUT`, `CFD`, `WAR`,
    /// `SWP` (forex), `FND` (funds), `BND` (bonds), `ICS` (inter-commodity spreads).
    #[serde(rename = "assetClass")]
    pub asset_class: String,
    /// Symbol.
    pub symbol: String,
    /// Primary exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Exchanges to report, comma-separated.
    #[serde(
        rename = "exchangeFilter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exchange_filter: Option<String>,
}

impl SecDefScheduleRequest {
    /// The schedule of a symbol.
    pub fn new(asset_class: impl Into<String>, symbol: impl Into<String>) -> Self {
        SecDefScheduleRequest {
            asset_class: asset_class.into(),
            symbol: symbol.into(),
            exchange: None,
            exchange_filter: None,
        }
    }
}

/// An item of `/trsrv/secdef/schedule` (the answer is a list, one per exchange).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExchangeSchedule {
    /// Exchange parameter id, e.g. `p101781`.
    pub id: String,
    /// Trade venue id, e.g. `v13038`.
    #[serde(rename = "tradeVenueId")]
    pub trade_venue_id: String,
    /// Exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Exchange name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Time zone of the times, e.g. `America/New_York`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// One entry per weekday or special date.
    pub schedules: Vec<ScheduleDate>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Trading times of a weekday or date in `/trsrv/secdef/schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScheduleDate {
    /// End of the clearing cycle, `HHMM`.
    #[serde(rename = "clearingCycleEndTime")]
    pub clearing_cycle_end_time: String,
    /// `YYYYMMDD`: `20000101`..`20000107` stand for any Saturday..Friday; other dates
    /// for themselves. See [`day`](Self::day).
    #[serde(rename = "tradingScheduleDate")]
    pub trading_schedule_date: String,
    /// Liquid sessions when they differ from the trading times.
    #[serde(default)]
    pub sessions: Vec<ScheduleSession>,
    /// Trading times (the key is spelled `tradingtimes`).
    #[serde(rename = "tradingtimes", default)]
    pub trading_times: Vec<ScheduleSession>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a [`ScheduleDate`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ScheduleDay {
    /// Every such weekday.
    Weekday(Weekday),
    /// That date only (e.g. a holiday).
    Date(NaiveDate),
}

impl ScheduleDate {
    /// The weekday or date this entry applies to, or `None` if the date is unreadable.
    pub fn day(&self) -> Option<ScheduleDay> {
        let d = parse_yyyymmdd(&self.trading_schedule_date)?;
        if d >= NaiveDate::from_ymd_opt(2000, 1, 1)? && d <= NaiveDate::from_ymd_opt(2000, 1, 7)? {
            // 2000-01-01 was a Saturday, so the dates of that week name their weekdays.
            Some(ScheduleDay::Weekday(chrono::Datelike::weekday(&d)))
        } else {
            Some(ScheduleDay::Date(d))
        }
    }
}

/// Opening and closing times, `HHMM` in the exchange's time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScheduleSession {
    /// Opening time, `HHMM`.
    #[serde(rename = "openingTime")]
    pub opening_time: String,
    /// Closing time, `HHMM`.
    #[serde(rename = "closingTime")]
    pub closing_time: String,
    /// `LIQUID` when these are regular hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prop: Option<String>,
    /// `Y` when day orders are cancelled at the close.
    #[serde(
        rename = "cancelDayOrders",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cancel_day_orders: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ScheduleSession {
    /// A session between two `HHMM` times.
    pub fn new(opening_time: impl Into<String>, closing_time: impl Into<String>) -> Self {
        ScheduleSession {
            opening_time: opening_time.into(),
            closing_time: closing_time.into(),
            prop: None,
            cancel_day_orders: None,
            extra: Extra::new(),
        }
    }
}

/// Query of `/contract/trading-schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TradingScheduleRequest {
    /// The contract.
    pub conid: Conid,
    /// Exchange; the primary exchange by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
}

impl TradingScheduleRequest {
    /// The schedule of a contract on its primary exchange.
    pub fn new(conid: Conid) -> Self {
        TradingScheduleRequest {
            conid,
            exchange: None,
        }
    }
}

/// Answer of `/contract/trading-schedule`: trading hours of the days around today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TradingSchedule {
    /// The exchange's time zone, e.g. `US/Eastern`.
    pub exchange_time_zone: String,
    /// Days keyed `YYYYMMDD` (holidays are left out).
    pub schedules: BTreeMap<String, TradingDay>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TradingSchedule {
    /// A schedule without days.
    pub fn new(exchange_time_zone: impl Into<String>) -> Self {
        TradingSchedule {
            exchange_time_zone: exchange_time_zone.into(),
            schedules: BTreeMap::new(),
            extra: Extra::new(),
        }
    }

    /// The days with their dates, in date order (keys that are not dates are skipped).
    pub fn days(&self) -> impl Iterator<Item = (NaiveDate, &TradingDay)> {
        self.schedules
            .iter()
            .filter_map(|(k, v)| Some((parse_yyyymmdd(k)?, v)))
    }
}

/// Trading hours of one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct TradingDay {
    /// Regular hours (absent on days with extended hours only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liquid_hours: Option<Vec<TradingHours>>,
    /// All trading hours, extended sessions included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_hours: Option<Vec<TradingHours>>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A trading session, its bounds in seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TradingHours {
    /// Opening, in seconds since the epoch.
    pub opening: i64,
    /// Closing, in seconds since the epoch.
    pub closing: i64,
    /// Whether day orders are cancelled at the close (extended hours only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_daily_orders: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TradingHours {
    /// A session between two instants (seconds since the epoch).
    pub fn new(opening: i64, closing: i64) -> Self {
        TradingHours {
            opening,
            closing,
            cancel_daily_orders: None,
            extra: Extra::new(),
        }
    }

    /// The opening as a UTC date-time.
    pub fn opening_time(&self) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(self.opening, 0).single()
    }

    /// The closing as a UTC date-time.
    pub fn closing_time(&self) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(self.closing, 0).single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_ids_name_themselves_in_errors() {
        let e = serde_json::from_value::<Conid>(json!("AAPL")).unwrap_err();
        assert!(
            e.to_string().contains(r#""AAPL" is not a contract id"#),
            "{e}"
        );
        let e = serde_json::from_value::<Conid>(json!(u64::MAX)).unwrap_err();
        assert!(
            e.to_string()
                .contains("contract id 18446744073709551615 out of range"),
            "{e}"
        );
        let e = serde_json::from_value::<crate::orders::OrderId>(json!("x")).unwrap_err();
        assert!(e.to_string().contains(r#""x" is not an order id"#), "{e}");
        let e = serde_json::from_value::<crate::orders::OrderId>(json!(true)).unwrap_err();
        assert!(
            e.to_string()
                .contains("an order id, as a number or a numeric string"),
            "{e}"
        );
    }

    #[test]
    fn conid_reads_numbers_and_strings() {
        assert_eq!(
            serde_json::from_value::<Conid>(json!(8314)).unwrap(),
            Conid(8314)
        );
        assert_eq!(
            serde_json::from_value::<Conid>(json!("8314")).unwrap(),
            Conid(8314)
        );
        assert!(serde_json::from_value::<Conid>(json!("AAPL")).is_err());
        assert!(serde_json::from_value::<Conid>(json!(1.5)).is_err());
    }

    #[test]
    fn string_form_conids_stay_strings() {
        let v = json!({"secType": "CFD", "exchange": "SMART", "conid": "134770228"});
        let s: SearchSection = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(s.conid, Some(Conid(134770228)));
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
    }

    #[test]
    fn rights_in_both_forms() {
        #[derive(Serialize, Deserialize)]
        struct Long {
            #[serde(default, skip_serializing_if = "Option::is_none", with = "right_long")]
            right: Option<Right>,
        }
        let l: Long = serde_json::from_str(r#"{"right":"CALL"}"#).unwrap();
        assert_eq!(l.right, Some(Right::Call));
        assert_eq!(serde_json::to_string(&l).unwrap(), r#"{"right":"CALL"}"#);
        assert_eq!(serde_json::to_string(&Right::Put).unwrap(), r#""P""#);
    }

    #[test]
    fn sec_types_keep_unknown_codes() {
        let t: SecType = serde_json::from_str(r#""NEWTYPE""#).unwrap();
        assert_eq!(t, SecType::Unknown("NEWTYPE".into()));
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""NEWTYPE""#);
        assert_eq!("BAG".parse::<SecType>().unwrap(), SecType::Bag);
    }

    #[test]
    fn comma_lists() {
        let r = TrsrvSecDefRequest::new([Conid(265598), Conid(8314)]);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"conids": "265598,8314"})
        );
        let back: TrsrvSecDefRequest =
            serde_json::from_value(json!({"conids": "265598, 8314,"})).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn schedule_weekdays() {
        let mut d: ScheduleDate = serde_json::from_value(json!({
            "clearingCycleEndTime": "2000", "tradingScheduleDate": "20000103",
            "sessions": [], "tradingtimes": [{"openingTime": "0930", "closingTime": "1600"}]
        }))
        .unwrap();
        assert_eq!(d.day(), Some(ScheduleDay::Weekday(Weekday::Mon)));
        d.trading_schedule_date = "20220905".into();
        assert_eq!(
            d.day(),
            Some(ScheduleDay::Date(
                NaiveDate::from_ymd_opt(2022, 9, 5).unwrap()
            ))
        );
    }

    #[test]
    fn future_dates() {
        let f = FutureContract::new("ES", Conid(1), Conid(2), 20261218);
        assert_eq!(f.expiration(), NaiveDate::from_ymd_opt(2026, 12, 18));
    }
}
