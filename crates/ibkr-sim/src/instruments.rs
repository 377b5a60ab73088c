//! The simulator's instrument universe: stocks, ETFs, indices, an ES futures chain,
//! option chains and FX pairs, with their trading hours.
//!
//! Pure data and look-ups, no I/O. Well-known names carry IBKR's real contract ids
//! (conids), taken from recorded gateway responses: AAPL is 265598, SPY 756733,
//! EUR.USD 12087792, and so on. Contracts whose real conid we do not know get stable
//! made-up ones in ranges of their own, so that they never clash with real ones:
//!
//! - ES futures without a recorded conid: `900_000_000 + YYYYMM` of the contract
//!   month (ESH7, March 2027, is 900_202_703);
//! - options: `1_000_000_000 + 100_000_000 × slot(underlying) + 2 × (20_000 ×
//!   month_index + 2 × strike) + right`, see [`Universe::option_conid`].
//!
//! Option months and futures depend on the day the universe is built for:
//!
//! ```
//! use chrono::NaiveDate;
//! use ibkr_sim::instruments::{Right, Universe};
//!
//! let universe = Universe::standard(NaiveDate::from_ymd_opt(2025, 1, 6).unwrap());
//! let aapl = &universe.by_symbol("AAPL", &Default::default())[0];
//! assert_eq!(aapl.conid, 265598);
//! let months = universe.option_months(aapl.conid);
//! assert_eq!(months[0].code, "JAN25");
//! let strikes = universe.strikes(aapl.conid, "JAN25");
//! let call = universe
//!     .option(aapl.conid, "JAN25", strikes[0], Right::Call)
//!     .unwrap();
//! assert_eq!(call.underlying_conid(), Some(265598));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The interest rate the simulator prices options and futures with.
pub(crate) const RATE: f64 = 0.04;
/// Carry of the S&P 500 futures over the index: the rate less the dividend yield.
pub(crate) const ES_CARRY: f64 = 0.027;

/// IBKR's security type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SecType {
    /// `STK`: a stock or an ETF.
    Stock,
    /// `IND`: an index.
    Index,
    /// `FUT`: a futures contract.
    Future,
    /// `OPT`: an option.
    Option,
    /// `CASH`: a currency pair.
    Forex,
}

impl SecType {
    /// IBKR's code: `STK`, `IND`, `FUT`, `OPT` or `CASH`.
    pub fn code(self) -> &'static str {
        match self {
            SecType::Stock => "STK",
            SecType::Index => "IND",
            SecType::Future => "FUT",
            SecType::Option => "OPT",
            SecType::Forex => "CASH",
        }
    }
}

impl fmt::Display for SecType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A security type or option right that the simulator does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of {expected})")]
pub struct ParseError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl FromStr for SecType {
    type Err = ParseError;

    /// Parses IBKR's code, case-insensitively (`FX` is taken for `CASH`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "STK" => SecType::Stock,
            "IND" => SecType::Index,
            "FUT" => SecType::Future,
            "OPT" => SecType::Option,
            "CASH" | "FX" => SecType::Forex,
            _ => {
                return Err(ParseError {
                    what: "security type",
                    value: s.to_string(),
                    expected: "STK, IND, FUT, OPT, CASH",
                });
            }
        })
    }
}

/// An option's right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Right {
    /// The right to buy.
    Call,
    /// The right to sell.
    Put,
}

impl Right {
    /// IBKR's code: `C` or `P`.
    pub fn code(self) -> &'static str {
        match self {
            Right::Call => "C",
            Right::Put => "P",
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Right {
    type Err = ParseError;

    /// `C`, `CALL`, `P` or `PUT`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "C" | "CALL" => Ok(Right::Call),
            "P" | "PUT" => Ok(Right::Put),
            _ => Err(ParseError {
                what: "option right",
                value: s.to_string(),
                expected: "C, P, CALL, PUT",
            }),
        }
    }
}

/// Where a moment falls in an instrument's trading day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarketState {
    /// Regular (liquid) trading hours.
    Regular,
    /// Outside regular hours but inside the extended session (pre- or post-market,
    /// the overnight Globex session).
    Extended,
    /// No trading: prices stay at the last session's close.
    Closed,
}

/// The daily hours of one session, in the exchange's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionHours {
    /// The session opens on the calendar day before the trading day it belongs to
    /// (CME's Globex session and FX open the evening before).
    pub opens_previous_day: bool,
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time (on the trading day itself).
    pub close: NaiveTime,
}

impl SessionHours {
    /// A session opening and closing on the trading day.
    pub fn same_day(open: NaiveTime, close: NaiveTime) -> Self {
        SessionHours {
            opens_previous_day: false,
            open,
            close,
        }
    }

    /// A session opening the evening before the trading day.
    pub fn from_previous_day(open: NaiveTime, close: NaiveTime) -> Self {
        SessionHours {
            opens_previous_day: true,
            open,
            close,
        }
    }
}

/// One session of one trading day, as instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// The trading day the session belongs to.
    pub trading_day: NaiveDate,
    /// When it opens.
    pub open: DateTime<Utc>,
    /// When it closes (exclusive).
    pub close: DateTime<Utc>,
}

impl Session {
    /// Whether `at` is inside the session (`open <= at < close`).
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.open <= at && at < self.close
    }
}

/// When an instrument trades: regular and extended hours in the exchange's time zone,
/// Monday to Friday (exchange holidays are not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TradingSchedule {
    /// The exchange's time zone.
    pub time_zone: Tz,
    /// Regular (liquid) hours.
    pub regular: SessionHours,
    /// Extended hours: they contain the regular hours (equal to them where there are
    /// no extended hours).
    pub extended: SessionHours,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

/// The instant of a local date and time in `tz` (times in a DST gap move an hour on).
fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

impl TradingSchedule {
    /// US stocks and ETFs: 09:30-16:00 New York, extended 04:00-20:00.
    pub fn us_equities() -> Self {
        TradingSchedule {
            time_zone: chrono_tz::America::New_York,
            regular: SessionHours::same_day(hm(9, 30), hm(16, 0)),
            extended: SessionHours::same_day(hm(4, 0), hm(20, 0)),
        }
    }

    /// US equity options and the CBOE's indices: 09:30-16:00 New York, no extended hours.
    pub fn us_options() -> Self {
        let rth = SessionHours::same_day(hm(9, 30), hm(16, 0));
        TradingSchedule {
            time_zone: chrono_tz::America::New_York,
            regular: rth,
            extended: rth,
        }
    }

    /// CME equity-index futures: Globex from 17:00 Chicago the evening before to 16:00
    /// (Sunday evening to Friday afternoon, with a daily halt 16:00-17:00); regular
    /// hours 08:30-15:00 Chicago.
    pub fn cme_equity_futures() -> Self {
        TradingSchedule {
            time_zone: chrono_tz::America::Chicago,
            regular: SessionHours::same_day(hm(8, 30), hm(15, 0)),
            extended: SessionHours::from_previous_day(hm(17, 0), hm(16, 0)),
        }
    }

    /// FX on IDEALPRO: around the clock from Sunday 17:00 to Friday 17:00 New York;
    /// each trading day runs from 17:00 the evening before.
    pub fn fx() -> Self {
        let day = SessionHours::from_previous_day(hm(17, 0), hm(17, 0));
        TradingSchedule {
            time_zone: chrono_tz::America::New_York,
            regular: day,
            extended: day,
        }
    }

    /// The Mexican stock exchange (MEXI): 08:30-15:00 Mexico City.
    pub fn mexico() -> Self {
        let rth = SessionHours::same_day(hm(8, 30), hm(15, 0));
        TradingSchedule {
            time_zone: chrono_tz::America::Mexico_City,
            regular: rth,
            extended: rth,
        }
    }

    /// Xetra (IBIS): 09:00-17:30 Frankfurt, extended 08:00-22:00 (as at IBKR).
    pub fn xetra() -> Self {
        TradingSchedule {
            time_zone: chrono_tz::Europe::Berlin,
            regular: SessionHours::same_day(hm(9, 0), hm(17, 30)),
            extended: SessionHours::same_day(hm(8, 0), hm(22, 0)),
        }
    }

    /// Whether `day` is a trading day (Monday to Friday).
    pub fn is_trading_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The trading day before `day`.
    pub fn previous_trading_day(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day.pred_opt().expect("date in range");
        while !self.is_trading_day(d) {
            d = d.pred_opt().expect("date in range");
        }
        d
    }

    /// The trading day after `day`.
    pub fn next_trading_day(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day.succ_opt().expect("date in range");
        while !self.is_trading_day(d) {
            d = d.succ_opt().expect("date in range");
        }
        d
    }

    fn session(&self, hours: SessionHours, day: NaiveDate) -> Option<Session> {
        if !self.is_trading_day(day) {
            return None;
        }
        let open_day = if hours.opens_previous_day {
            day.pred_opt()?
        } else {
            day
        };
        Some(Session {
            trading_day: day,
            open: local_instant(self.time_zone, open_day, hours.open),
            close: local_instant(self.time_zone, day, hours.close),
        })
    }

    /// The regular session of `day` (`None` on weekends).
    pub fn regular_session(&self, day: NaiveDate) -> Option<Session> {
        self.session(self.regular, day)
    }

    /// The extended session of `day` (`None` on weekends).
    pub fn extended_session(&self, day: NaiveDate) -> Option<Session> {
        self.session(self.extended, day)
    }

    /// The trading day `at` belongs to: the latest one whose extended session has
    /// opened by `at` (while the market is closed, the day that closed last).
    pub fn trading_day_at(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = at.with_timezone(&self.time_zone).date_naive();
        let mut d = local.succ_opt().expect("date in range");
        for _ in 0..10 {
            if let Some(s) = self.extended_session(d)
                && s.open <= at
            {
                return d;
            }
            d = d.pred_opt().expect("date in range");
        }
        self.previous_trading_day(local)
    }

    /// Whether the market is in regular hours, extended hours or closed at `at`.
    pub fn state_at(&self, at: DateTime<Utc>) -> MarketState {
        let day = self.trading_day_at(at);
        match (self.regular_session(day), self.extended_session(day)) {
            (Some(r), _) if r.contains(at) => MarketState::Regular,
            (_, Some(e)) if e.contains(at) => MarketState::Extended,
            _ => MarketState::Closed,
        }
    }
}

/// The terms of a futures contract.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FutureTerms {
    /// IBKR's underlying conid (the ES index on CME for the ES futures).
    pub underlying_conid: u32,
    /// Contract month, `YYYYMM`.
    pub contract_month: String,
    /// Expiration date (IBKR's `expirationDate`).
    pub expiry: NaiveDate,
    /// Last trading day (IBKR's `ltd`).
    pub last_trading_day: NaiveDate,
}

/// The terms of an option.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptionTerms {
    /// The underlying's conid.
    pub underlying_conid: u32,
    /// Expiry date (the last trading day).
    pub expiry: NaiveDate,
    /// IBKR's month code, e.g. `JAN25`.
    pub month: String,
    /// Strike price.
    pub strike: Decimal,
    /// Call or put.
    pub right: Right,
}

/// What kind of instrument it is, with the terms of derivatives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A stock or an ETF.
    Stock {
        /// An exchange-traded fund.
        etf: bool,
    },
    /// An index.
    Index,
    /// A futures contract.
    Future(FutureTerms),
    /// An option.
    Option(OptionTerms),
    /// A currency pair.
    Forex {
        /// The base currency (`EUR` in EUR.USD).
        base: String,
        /// The quote currency (`USD` in EUR.USD), the instrument's currency.
        quote: String,
    },
}

/// One tradable (or quotable) instrument.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Instrument {
    /// IBKR's contract id.
    pub conid: u32,
    /// The symbol: `AAPL`; the underlying's symbol for options and futures; the base
    /// currency for FX (`EUR`), as IBKR has it.
    pub symbol: String,
    /// The local symbol: `AAPL`, `ESM6`, `AAPL  250117C00230000`, `EUR.USD`.
    pub local_symbol: String,
    /// The company or instrument name, e.g. `APPLE INC`.
    pub name: String,
    /// Security type.
    pub sec_type: SecType,
    /// The primary exchange (`NASDAQ`, `NYSE`, `ARCA`, `CBOE`, `CME`, `IDEALPRO`;
    /// `SMART` for options).
    pub exchange: String,
    /// The listing exchange as IBKR shows it in trades and scanner results, e.g.
    /// `NASDAQ.NMS`, `NYSE`, `ARCA`, `FXCONV`.
    pub listing_exchange: String,
    /// Exchanges the instrument can be routed to.
    pub valid_exchanges: Vec<String>,
    /// Trading currency.
    pub currency: String,
    /// ISO country code of the listing, e.g. `US`.
    pub country: String,
    /// Minimum price increment.
    pub tick: Decimal,
    /// Contract multiplier (1 for stocks and FX, 100 for options, 50 for ES).
    pub multiplier: Decimal,
    /// Where the simulated price starts from and hovers around; for options and
    /// futures, their value on the universe's day at the underlying's reference.
    pub reference_price: Decimal,
    /// Annualised volatility: of the simulated price path, or for options the
    /// implied volatility.
    pub volatility: f64,
    /// Trading hours.
    pub schedule: TradingSchedule,
    /// The instrument whose simulated path drives this one's price: the underlying
    /// of an option, the S&P 500 index for ES; `None` for one with a path of its own.
    pub tracks: Option<u32>,
    /// Kind and terms.
    pub kind: Kind,
}

impl Instrument {
    /// An ETF.
    pub fn is_etf(&self) -> bool {
        matches!(self.kind, Kind::Stock { etf: true })
    }

    /// Listed in the US.
    pub fn is_us(&self) -> bool {
        self.country == "US"
    }

    /// The underlying's conid, for options and futures.
    pub fn underlying_conid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Future(f) => Some(f.underlying_conid),
            Kind::Option(o) => Some(o.underlying_conid),
            _ => None,
        }
    }

    /// The expiry of options and futures.
    pub fn expiry(&self) -> Option<NaiveDate> {
        match &self.kind {
            Kind::Future(f) => Some(f.expiry),
            Kind::Option(o) => Some(o.expiry),
            _ => None,
        }
    }

    /// The terms of an option.
    pub fn option_terms(&self) -> Option<&OptionTerms> {
        match &self.kind {
            Kind::Option(o) => Some(o),
            _ => None,
        }
    }

    /// The terms of a futures contract.
    pub fn future_terms(&self) -> Option<&FutureTerms> {
        match &self.kind {
            Kind::Future(f) => Some(f),
            _ => None,
        }
    }

    /// A one-line description in IBKR's style: `AAPL`, `ES JUN26`,
    /// `AAPL JAN25 230 C`, `EUR.USD`.
    pub fn description(&self) -> String {
        match &self.kind {
            Kind::Option(o) => format!(
                "{} {} {} {}",
                self.symbol,
                o.month,
                o.strike.normalize(),
                o.right
            ),
            Kind::Future(f) => format!("{} {}", self.symbol, month_code(f.expiry)),
            _ => self.local_symbol.clone(),
        }
    }
}

/// One option expiry month of an underlying.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OptionMonth {
    /// IBKR's code, e.g. `JAN25`.
    pub code: String,
    /// The monthly expiry (third Friday, the Thursday before when it is a holiday).
    pub expiry: NaiveDate,
}

/// Filters for [`Universe::by_symbol`]; the default matches everything but options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SymbolFilter {
    /// Only this security type (with [`SecType::Option`], the option contracts).
    pub sec_type: Option<SecType>,
    /// Only instruments listed on, or routable to, this exchange (case-insensitive).
    pub exchange: Option<String>,
    /// Only instruments trading in this currency (case-insensitive).
    pub currency: Option<String>,
}

impl SymbolFilter {
    /// Matches every instrument but options.
    pub fn any() -> Self {
        SymbolFilter::default()
    }

    /// Only this security type.
    pub fn sec_type(mut self, sec_type: SecType) -> Self {
        self.sec_type = Some(sec_type);
        self
    }

    /// Only this exchange.
    pub fn exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = Some(exchange.into());
        self
    }

    /// Only this currency.
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }

    /// Whether `i` passes the filter.
    pub fn matches(&self, i: &Instrument) -> bool {
        let sec_ok = match self.sec_type {
            Some(t) => i.sec_type == t,
            None => i.sec_type != SecType::Option,
        };
        let exchange_ok = self.exchange.as_deref().is_none_or(|e| {
            i.exchange.eq_ignore_ascii_case(e)
                || i.listing_exchange.eq_ignore_ascii_case(e)
                || i.listing_exchange
                    .split('.')
                    .next()
                    .is_some_and(|l| l.eq_ignore_ascii_case(e))
                || i.valid_exchanges.iter().any(|v| v.eq_ignore_ascii_case(e))
        });
        let currency_ok = self
            .currency
            .as_deref()
            .is_none_or(|c| i.currency.eq_ignore_ascii_case(c));
        sec_ok && exchange_ok && currency_ok
    }
}

/// IBKR's month code of a date: `JAN25`.
pub fn month_code(date: NaiveDate) -> String {
    date.format("%b%y").to_string().to_ascii_uppercase()
}

fn easter(year: i32) -> NaiveDate {
    // The anonymous Gregorian algorithm.
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a date")
}

/// A US market holiday that can fall on a third Friday: Good Friday or Juneteenth
/// (as observed).
fn friday_holiday(date: NaiveDate) -> bool {
    let good_friday = easter(date.year()) - Duration::days(2);
    let juneteenth = date.year() >= 2022 && date.month() == 6 && {
        let j = NaiveDate::from_ymd_opt(date.year(), 6, 19).expect("valid date");
        let observed = match j.weekday() {
            Weekday::Sat => j - Duration::days(1),
            Weekday::Sun => j + Duration::days(1),
            _ => j,
        };
        observed == date
    };
    date == good_friday || juneteenth
}

fn third_friday(year: i32, month: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
    let to_friday = (7 + 4 - first.weekday().num_days_from_monday()) % 7;
    first + Duration::days(i64::from(to_friday) + 14)
}

/// The standard monthly expiry of `year`/`month`: the third Friday, or the Thursday
/// before it when that Friday is a market holiday (Good Friday, Juneteenth).
pub fn monthly_expiry(year: i32, month: u32) -> NaiveDate {
    let f = third_friday(year, month);
    if friday_holiday(f) {
        f - Duration::days(1)
    } else {
        f
    }
}

fn add_months(year: i32, month: u32, n: u32) -> (i32, u32) {
    let idx = year * 12 + month as i32 - 1 + n as i32;
    (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1)
}

fn years_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds().max(0) as f64 / (365.25 * 86_400.0)
}

/// Rounds `x` to a multiple of `tick`, at least one tick.
pub(crate) fn round_to_tick(x: f64, tick: Decimal) -> Decimal {
    let t = tick.to_f64().unwrap_or(0.01);
    let n = ((x / t).round() as i64).max(1);
    Decimal::from(n) * tick
}

struct StockSpec {
    conid: u32,
    symbol: &'static str,
    name: &'static str,
    exchange: &'static str,
    listing: &'static str,
    currency: &'static str,
    country: &'static str,
    price: i64,
    vol: f64,
    etf: bool,
}

const fn us(
    conid: u32,
    symbol: &'static str,
    name: &'static str,
    exchange: &'static str,
    price: i64,
    vol: f64,
) -> StockSpec {
    let listing = match exchange.as_bytes() {
        b"NASDAQ" => "NASDAQ.NMS",
        _ => exchange,
    };
    StockSpec {
        conid,
        symbol,
        name,
        exchange,
        listing,
        currency: "USD",
        country: "US",
        price,
        vol,
        etf: false,
    }
}

const fn etf(spec: StockSpec) -> StockSpec {
    StockSpec { etf: true, ..spec }
}

const fn abroad(
    spec: StockSpec,
    conid: u32,
    exchange: &'static str,
    currency: &'static str,
    country: &'static str,
    price: i64,
) -> StockSpec {
    StockSpec {
        conid,
        exchange,
        listing: exchange,
        currency,
        country,
        price,
        ..spec
    }
}

// Real conids and where they come from: the recorded samples of the shared IBKR
// reference (`ibkr-reference/samples/`: real gateway responses, or with "spec" an
// example from IBKR's OpenAPI spec):
// AAPL 265598 and AAPL MEXI 38708077 (GET_trsrv_stocks), SPY 756733 and SPY MEXI
// 38709152 (GET_iserver_secdef_search), IBM 8314 (spec GET_trsrv_stocks__200_ibm, with
// IBIS 1411277 and MEXI 38709473), QQQ 320227571 (GET_portfolio2_accountId_positions),
// INTU 270662 and MRK 70101545 (GET_iserver_account_trades__tsbernar2022), ABBV
// 118089500 (GET_portfolio_accountId_positions_pageId__tsbernar2022), ADI 4157, AEP
// 4211, HON 4350, AMD 4391, ADP 4661 (GET_trsrv_all_conids), BMO 5094 (spec
// GET_trsrv_all_conids), TSLA 76792991 (spec POST_iserver_scanner_run), SPX 416904
// (ws/messages/smd_416904_captured), ES 11004968 and ES futures 515416632, 649180678
// (GET_trsrv_futures), 495512557, 495512563 (spec GET_trsrv_futures), EUR.USD
// 12087792, GBP.USD 12087797, USD.CHF 12087820, USD.JPY 15016059, USD.CAD 15016062
// (GET_iserver_currency_pairs), USD.SGD 37928772 (spec GET_iserver_currency_pairs),
// AUD.CAD 15016138 (spec GET_iserver_account_orders). MSFT 272093 is IBKR's well-known
// conid for Microsoft on NASDAQ. Reference prices are round, plausible levels, not
// quotes.
const AAPL: StockSpec = us(265598, "AAPL", "APPLE INC", "NASDAQ", 230, 0.28);
const MSFT: StockSpec = us(272093, "MSFT", "MICROSOFT CORP", "NASDAQ", 420, 0.25);
const IBM: StockSpec = us(
    8314,
    "IBM",
    "INTL BUSINESS MACHINES CORP",
    "NYSE",
    250,
    0.24,
);
const SPY: StockSpec = etf(us(
    756733,
    "SPY",
    "SPDR S&P 500 ETF TRUST",
    "ARCA",
    650,
    0.16,
));
const QQQ: StockSpec = etf(us(
    320227571,
    "QQQ",
    "INVESCO QQQ TRUST SERIES 1",
    "NASDAQ",
    585,
    0.20,
));

const STOCKS: &[StockSpec] = &[
    AAPL,
    MSFT,
    IBM,
    us(76792991, "TSLA", "TESLA INC", "NASDAQ", 250, 0.55),
    us(270662, "INTU", "INTUIT INC", "NASDAQ", 650, 0.30),
    us(70101545, "MRK", "MERCK & CO INC", "NYSE", 85, 0.22),
    us(118089500, "ABBV", "ABBVIE INC", "NYSE", 190, 0.24),
    us(4391, "AMD", "ADVANCED MICRO DEVICES", "NASDAQ", 160, 0.50),
    us(4157, "ADI", "ANALOG DEVICES INC", "NASDAQ", 230, 0.30),
    us(
        4661,
        "ADP",
        "AUTOMATIC DATA PROCESSING",
        "NASDAQ",
        300,
        0.20,
    ),
    us(4211, "AEP", "AMERICAN ELECTRIC POWER", "NASDAQ", 105, 0.18),
    us(
        4350,
        "HON",
        "HONEYWELL INTERNATIONAL INC",
        "NASDAQ",
        210,
        0.22,
    ),
    us(5094, "BMO", "BANK OF MONTREAL", "NYSE", 100, 0.22),
    SPY,
    QQQ,
    abroad(AAPL, 38708077, "MEXI", "MXN", "MX", 4255),
    abroad(SPY, 38709152, "MEXI", "MXN", "MX", 12025),
    abroad(IBM, 1411277, "IBIS", "EUR", "DE", 230),
    abroad(IBM, 38709473, "MEXI", "MXN", "MX", 4625),
];

/// Underlyings with option chains: (conid, slot in the option conid range, strike
/// step, strikes each side of the reference, at-the-money implied volatility).
const OPTION_CHAINS: &[(u32, u32, i64, i64, f64)] = &[
    (265598, 0, 5, 10, 0.27),
    (756733, 1, 5, 20, 0.20),
    (272093, 2, 5, 12, 0.25),
    (320227571, 3, 5, 16, 0.22),
];

/// How many monthly option expiries each chain lists.
const OPTION_MONTHS: u32 = 6;
/// How many quarterly ES futures are listed.
const FUTURES_LISTED: usize = 5;

const SPX_CONID: u32 = 416904;
const ES_INDEX_CONID: u32 = 11004968;

/// ES futures whose real conids were recorded: (contract month YYYYMM, conid).
const ES_RECORDED: &[(u32, u32)] = &[
    (202412, 495512557),
    (202512, 495512563),
    (202606, 649180678),
    (202612, 515416632),
];

/// FX pairs: (conid, base, quote, base currency name, reference in 1/100_000, tick
/// in 1/100_000, annual volatility).
const FX: &[(u32, &str, &str, &str, i64, i64, f64)] = &[
    (
        12087792,
        "EUR",
        "USD",
        "European Monetary Union Euro",
        110_000,
        5,
        0.07,
    ),
    (12087797, "GBP", "USD", "British pound", 130_000, 5, 0.08),
    (15016059, "USD", "JPY", "US dollar", 15_000_000, 500, 0.10),
    (12087820, "USD", "CHF", "US dollar", 88_000, 5, 0.07),
    (15016062, "USD", "CAD", "US dollar", 137_000, 5, 0.06),
    (15016138, "AUD", "CAD", "Australian dollar", 90_000, 5, 0.08),
    (37928772, "USD", "SGD", "US dollar", 134_000, 5, 0.05),
];

/// Every instrument the simulator knows, with look-ups.
#[derive(Debug, Clone)]
pub struct Universe {
    today: NaiveDate,
    instruments: Vec<Instrument>,
    by_conid: HashMap<u32, usize>,
    months: HashMap<u32, Vec<OptionMonth>>,
    /// Option contracts per (underlying, expiry), sorted by strike, call before put.
    chains: HashMap<(u32, NaiveDate), Vec<usize>>,
}

impl Universe {
    /// The standard universe as of `today`: US stocks and ETFs, a few foreign
    /// listings, the S&P 500 index, the ES futures chain (the next five quarterly
    /// contracts), option chains on AAPL, SPY, MSFT and QQQ (the next six monthly
    /// expiries) and FX pairs.
    pub fn standard(today: NaiveDate) -> Universe {
        let mut list = Vec::new();
        let us_routes = ["SMART", "AMEX", "NYSE", "CBOE", "ARCA", "NASDAQ"];
        for s in STOCKS {
            let (schedule, routes): (_, Vec<String>) = match s.exchange {
                "MEXI" => (TradingSchedule::mexico(), vec!["MEXI".into()]),
                "IBIS" => (
                    TradingSchedule::xetra(),
                    vec!["SMART".into(), "IBIS".into()],
                ),
                _ => (
                    TradingSchedule::us_equities(),
                    us_routes.iter().map(|e| e.to_string()).collect(),
                ),
            };
            list.push(Instrument {
                conid: s.conid,
                symbol: s.symbol.into(),
                local_symbol: s.symbol.into(),
                name: s.name.into(),
                sec_type: SecType::Stock,
                exchange: s.exchange.into(),
                listing_exchange: s.listing.into(),
                valid_exchanges: routes,
                currency: s.currency.into(),
                country: s.country.into(),
                tick: Decimal::new(1, 2),
                multiplier: Decimal::ONE,
                reference_price: Decimal::new(s.price * 100, 2),
                volatility: s.vol,
                schedule,
                tracks: None,
                kind: Kind::Stock { etf: s.etf },
            });
        }

        let spx_ref = Decimal::new(650_000, 2);
        let index =
            |conid, symbol: &str, name: &str, exchange: &str, schedule, tracks| Instrument {
                conid,
                symbol: symbol.into(),
                local_symbol: symbol.into(),
                name: name.into(),
                sec_type: SecType::Index,
                exchange: String::from(exchange),
                listing_exchange: String::from(exchange),
                valid_exchanges: vec![String::from(exchange)],
                currency: "USD".into(),
                country: "US".into(),
                tick: Decimal::new(1, 2),
                multiplier: Decimal::ONE,
                reference_price: spx_ref,
                volatility: 0.16,
                schedule,
                tracks,
                kind: Kind::Index,
            };
        list.push(index(
            SPX_CONID,
            "SPX",
            "S&P 500 Stock Index",
            "CBOE",
            TradingSchedule::us_options(),
            None,
        ));
        list.push(index(
            ES_INDEX_CONID,
            "ES",
            "E-mini S&P 500",
            "CME",
            TradingSchedule::cme_equity_futures(),
            Some(SPX_CONID),
        ));

        list.extend(es_futures(today, spx_ref));

        for &(conid, base, quote, name, reference, tick, vol) in FX {
            let tick = Decimal::new(tick, 5).normalize();
            list.push(Instrument {
                conid,
                symbol: base.into(),
                local_symbol: format!("{base}.{quote}"),
                name: name.into(),
                sec_type: SecType::Forex,
                exchange: "IDEALPRO".into(),
                listing_exchange: "FXCONV".into(),
                valid_exchanges: vec!["IDEALPRO".into()],
                currency: quote.into(),
                country: String::new(),
                tick,
                multiplier: Decimal::ONE,
                reference_price: round_to_tick(
                    Decimal::new(reference, 5).to_f64().unwrap_or(1.0),
                    tick,
                ),
                volatility: vol,
                schedule: TradingSchedule::fx(),
                tracks: None,
                kind: Kind::Forex {
                    base: base.into(),
                    quote: quote.into(),
                },
            });
        }

        let mut months = HashMap::new();
        for &(und, _, step, each_side, atm_vol) in OPTION_CHAINS {
            let underlying = list
                .iter()
                .find(|i| i.conid == und)
                .expect("chain underlying listed")
                .clone();
            let chain_months = option_months_from(today);
            for m in &chain_months {
                list.extend(option_chain(
                    &underlying,
                    today,
                    m,
                    step,
                    each_side,
                    atm_vol,
                ));
            }
            months.insert(und, chain_months);
        }

        let by_conid: HashMap<u32, usize> =
            list.iter().enumerate().map(|(i, x)| (x.conid, i)).collect();
        debug_assert_eq!(by_conid.len(), list.len(), "conids are unique");
        let mut chains: HashMap<(u32, NaiveDate), Vec<usize>> = HashMap::new();
        for (i, x) in list.iter().enumerate() {
            if let Kind::Option(o) = &x.kind {
                chains
                    .entry((o.underlying_conid, o.expiry))
                    .or_default()
                    .push(i);
            }
        }
        for v in chains.values_mut() {
            v.sort_by(|&a, &b| {
                let (a, b) = (
                    list[a].option_terms().expect("option"),
                    list[b].option_terms().expect("option"),
                );
                (a.strike, a.right).cmp(&(b.strike, b.right))
            });
        }
        Universe {
            today,
            instruments: list,
            by_conid,
            months,
            chains,
        }
    }

    /// The day the universe was built for.
    pub fn today(&self) -> NaiveDate {
        self.today
    }

    /// Every instrument: underlyings first, then futures, FX and options.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.iter()
    }

    /// How many instruments there are.
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    /// The instrument with this conid.
    pub fn get(&self, conid: u32) -> Option<&Instrument> {
        self.by_conid.get(&conid).map(|&i| &self.instruments[i])
    }

    /// The trading hours of the instrument with this conid.
    pub fn schedule(&self, conid: u32) -> Option<&TradingSchedule> {
        self.get(conid).map(|i| &i.schedule)
    }

    /// Instruments whose symbol or local symbol is `symbol` (case-insensitive), that
    /// pass `filter`, US listings first. Option contracts only with
    /// `sec_type: Some(SecType::Option)`.
    pub fn by_symbol(&self, symbol: &str, filter: &SymbolFilter) -> Vec<&Instrument> {
        self.instruments
            .iter()
            .filter(|i| {
                (i.symbol.eq_ignore_ascii_case(symbol)
                    || i.local_symbol.eq_ignore_ascii_case(symbol))
                    && filter.matches(i)
            })
            .collect()
    }

    /// Search as IBKR's contract search does: underlyings (stocks, ETFs, indices, FX
    /// pairs, not individual futures or options) whose symbol starts with `query` or
    /// whose name contains it, case-insensitively. Exact symbols come first, then
    /// symbol prefixes, then name matches.
    pub fn search(&self, query: &str) -> Vec<&Instrument> {
        let q = query.trim().to_ascii_uppercase();
        if q.is_empty() {
            return Vec::new();
        }
        let mut hits: Vec<(u8, usize)> = self
            .instruments
            .iter()
            .enumerate()
            .filter(|(_, i)| !matches!(i.sec_type, SecType::Option | SecType::Future))
            .filter_map(|(n, i)| {
                let sym = i.symbol.to_ascii_uppercase();
                let local = i.local_symbol.to_ascii_uppercase();
                let rank = if sym == q || local == q {
                    0
                } else if sym.starts_with(&q) || local.starts_with(&q) {
                    1
                } else if i.name.to_ascii_uppercase().contains(&q) {
                    2
                } else {
                    return None;
                };
                Some((rank, n))
            })
            .collect();
        hits.sort();
        hits.into_iter()
            .map(|(_, n)| &self.instruments[n])
            .collect()
    }

    /// The option expiry months of an underlying, ascending (empty without options).
    pub fn option_months(&self, underlying: u32) -> &[OptionMonth] {
        self.months
            .get(&underlying)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn month(&self, underlying: u32, month: &str) -> Option<&OptionMonth> {
        self.option_months(underlying)
            .iter()
            .find(|m| m.code.eq_ignore_ascii_case(month))
    }

    /// The strikes listed for an underlying's month (`JAN25`), ascending; the same
    /// for calls and puts.
    pub fn strikes(&self, underlying: u32, month: &str) -> Vec<Decimal> {
        let mut strikes: Vec<Decimal> = self
            .option_contracts(underlying, month, None, Some(Right::Call))
            .into_iter()
            .filter_map(|i| i.option_terms().map(|o| o.strike))
            .collect();
        strikes.dedup();
        strikes
    }

    /// Option contracts of an underlying's month, optionally of one strike and/or
    /// right, by strike then call before put.
    pub fn option_contracts(
        &self,
        underlying: u32,
        month: &str,
        strike: Option<Decimal>,
        right: Option<Right>,
    ) -> Vec<&Instrument> {
        let Some(m) = self.month(underlying, month) else {
            return Vec::new();
        };
        self.chains
            .get(&(underlying, m.expiry))
            .into_iter()
            .flatten()
            .map(|&i| &self.instruments[i])
            .filter(|i| {
                let o = i.option_terms().expect("chains hold options");
                strike.is_none_or(|s| o.strike == s) && right.is_none_or(|r| o.right == r)
            })
            .collect()
    }

    /// The option of an underlying's month with this strike and right.
    pub fn option(
        &self,
        underlying: u32,
        month: &str,
        strike: Decimal,
        right: Right,
    ) -> Option<&Instrument> {
        self.option_contracts(underlying, month, Some(strike), Some(right))
            .into_iter()
            .next()
    }

    /// Futures on `symbol` (e.g. `ES`) not expired as of the universe's day, by expiry.
    pub fn futures(&self, symbol: &str) -> Vec<&Instrument> {
        let mut v = self.by_symbol(symbol, &SymbolFilter::any().sec_type(SecType::Future));
        v.sort_by_key(|i| i.expiry());
        v
    }

    /// FX pairs with `currency` on either side (case-insensitive).
    pub fn fx_pairs(&self, currency: &str) -> Vec<&Instrument> {
        self.instruments
            .iter()
            .filter(|i| match &i.kind {
                Kind::Forex { base, quote } => {
                    base.eq_ignore_ascii_case(currency) || quote.eq_ignore_ascii_case(currency)
                }
                _ => false,
            })
            .collect()
    }

    /// The simulator's conid of an option: a pure function of (underlying, expiry
    /// month, strike, right), the same whatever day the universe is built for.
    /// `None` for an underlying without option chains, a strike that is not a
    /// multiple of 0.5 or not below 10 000, or a year outside 2000-2099.
    pub fn option_conid(
        underlying: u32,
        expiry: NaiveDate,
        strike: Decimal,
        right: Right,
    ) -> Option<u32> {
        let slot = OPTION_CHAINS
            .iter()
            .find(|c| c.0 == underlying)
            .map(|c| c.1)?;
        let halves = strike * Decimal::TWO;
        if !halves.fract().is_zero() || halves.is_sign_negative() {
            return None;
        }
        let halves = halves.to_u32().filter(|&h| h < 20_000)?;
        let year = u32::try_from(expiry.year() - 2000)
            .ok()
            .filter(|&y| y < 100)?;
        let month_index = year * 12 + expiry.month0();
        let right_bit = u32::from(right == Right::Put);
        Some(1_000_000_000 + slot * 100_000_000 + (month_index * 20_000 + halves) * 2 + right_bit)
    }
}

fn es_futures(today: NaiveDate, spx_ref: Decimal) -> Vec<Instrument> {
    let tick = Decimal::new(25, 2);
    let schedule = TradingSchedule::cme_equity_futures();
    let (mut year, mut month) = (today.year(), today.month());
    let mut out = Vec::new();
    while out.len() < FUTURES_LISTED {
        if month % 3 == 0 {
            let expiry = monthly_expiry(year, month);
            let ltd = expiry.min(third_friday(year, month) - Duration::days(1));
            if ltd >= today {
                let yyyymm = year as u32 * 100 + month;
                let conid = ES_RECORDED
                    .iter()
                    .find(|r| r.0 == yyyymm)
                    .map(|r| r.1)
                    .unwrap_or(900_000_000 + yyyymm);
                const CODES: [char; 4] = ['H', 'M', 'U', 'Z'];
                let code = CODES[(month / 3 - 1) as usize];
                let years = years_between(
                    local_instant(schedule.time_zone, today, hm(15, 0)),
                    local_instant(schedule.time_zone, ltd, hm(15, 0)),
                );
                let fair = spx_ref.to_f64().unwrap_or(0.0) * (ES_CARRY * years).exp();
                out.push(Instrument {
                    conid,
                    symbol: "ES".into(),
                    local_symbol: format!("ES{code}{}", year % 10),
                    name: "E-mini S&P 500".into(),
                    sec_type: SecType::Future,
                    exchange: "CME".into(),
                    listing_exchange: "CME".into(),
                    valid_exchanges: vec!["CME".into()],
                    currency: "USD".into(),
                    country: "US".into(),
                    tick,
                    multiplier: Decimal::from(50),
                    reference_price: round_to_tick(fair, tick),
                    volatility: 0.16,
                    schedule,
                    tracks: Some(SPX_CONID),
                    kind: Kind::Future(FutureTerms {
                        underlying_conid: ES_INDEX_CONID,
                        contract_month: yyyymm.to_string(),
                        expiry,
                        last_trading_day: ltd,
                    }),
                });
            }
        }
        (year, month) = add_months(year, month, 1);
    }
    out
}

fn option_months_from(today: NaiveDate) -> Vec<OptionMonth> {
    let mut out = Vec::new();
    let (mut year, mut month) = (today.year(), today.month());
    while out.len() < OPTION_MONTHS as usize {
        let expiry = monthly_expiry(year, month);
        if expiry >= today {
            out.push(OptionMonth {
                code: month_code(expiry),
                expiry,
            });
        }
        (year, month) = add_months(year, month, 1);
    }
    out
}

/// The implied volatility of a strike: the at-the-money level with a put skew and a
/// smile, kept within 20%..35% (wider only if the at-the-money level is).
fn smile(atm: f64, moneyness: f64) -> f64 {
    (atm - 0.3 * moneyness + 0.5 * moneyness * moneyness).clamp(atm.min(0.20), atm.max(0.35))
}

fn option_chain(
    und: &Instrument,
    today: NaiveDate,
    month: &OptionMonth,
    step: i64,
    each_side: i64,
    atm_vol: f64,
) -> Vec<Instrument> {
    let schedule = TradingSchedule::us_options();
    let reference = und.reference_price.to_f64().unwrap_or(0.0);
    let center = (reference / step as f64).round() as i64 * step;
    let years = years_between(
        local_instant(schedule.time_zone, today, hm(16, 0)),
        local_instant(schedule.time_zone, month.expiry, hm(16, 0)),
    );
    let tick = Decimal::new(1, 2);
    let mut out = Vec::new();
    for k in -each_side..=each_side {
        let strike_units = center + k * step;
        if strike_units <= 0 {
            continue;
        }
        let strike = Decimal::from(strike_units);
        for right in [Right::Call, Right::Put] {
            let conid = Universe::option_conid(und.conid, month.expiry, strike, right)
                .expect("listed chains have conids");
            let iv = smile(atm_vol, (strike_units as f64 / reference).ln());
            let value = crate::prices::black_scholes(
                right,
                reference,
                strike_units as f64,
                years,
                RATE,
                iv,
            )
            .price;
            out.push(Instrument {
                conid,
                symbol: und.symbol.clone(),
                local_symbol: format!(
                    "{:<6}{}{}{:08}",
                    und.symbol,
                    month.expiry.format("%y%m%d"),
                    right.code(),
                    strike_units * 1000
                ),
                name: und.name.clone(),
                sec_type: SecType::Option,
                exchange: "SMART".into(),
                listing_exchange: "CBOE".into(),
                valid_exchanges: ["SMART", "AMEX", "CBOE", "ISE", "PHLX"]
                    .iter()
                    .map(|e| e.to_string())
                    .collect(),
                currency: "USD".into(),
                country: "US".into(),
                tick,
                multiplier: Decimal::from(100),
                reference_price: round_to_tick(value, tick),
                volatility: iv,
                schedule,
                tracks: Some(und.conid),
                kind: Kind::Option(OptionTerms {
                    underlying_conid: und.conid,
                    expiry: month.expiry,
                    month: month.code.clone(),
                    strike,
                    right,
                }),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn universe() -> Universe {
        Universe::standard(d(2026, 1, 15))
    }

    #[test]
    fn real_conids_resolve_with_their_details() {
        let u = universe();
        let aapl = u.get(265598).unwrap();
        assert_eq!(aapl.symbol, "AAPL");
        assert_eq!(aapl.name, "APPLE INC");
        assert_eq!(aapl.exchange, "NASDAQ");
        assert_eq!(aapl.listing_exchange, "NASDAQ.NMS");
        assert_eq!(aapl.currency, "USD");
        assert_eq!(aapl.sec_type, SecType::Stock);
        assert!(!aapl.is_etf() && aapl.is_us());
        assert_eq!(aapl.tick, Decimal::new(1, 2));
        assert!(aapl.reference_price > Decimal::ZERO);

        let ibm = u.get(8314).unwrap();
        assert_eq!(
            (ibm.symbol.as_str(), ibm.exchange.as_str()),
            ("IBM", "NYSE")
        );
        let spy = u.get(756733).unwrap();
        assert!(spy.is_etf());
        assert_eq!(spy.listing_exchange, "ARCA");
        assert!(u.get(320227571).unwrap().is_etf());
        assert_eq!(u.get(272093).unwrap().symbol, "MSFT");

        let spx = u.get(416904).unwrap();
        assert_eq!((spx.sec_type, spx.symbol.as_str()), (SecType::Index, "SPX"));

        let eur = u.get(12087792).unwrap();
        assert_eq!(eur.sec_type, SecType::Forex);
        assert_eq!(
            (eur.symbol.as_str(), eur.local_symbol.as_str()),
            ("EUR", "EUR.USD")
        );
        assert_eq!(eur.currency, "USD");
        assert_eq!(eur.exchange, "IDEALPRO");
        assert_eq!(eur.tick, Decimal::new(5, 5));
        assert_eq!(u.get(15016059).unwrap().local_symbol, "USD.JPY");

        assert!(u.get(1).is_none());
    }

    #[test]
    fn conids_are_unique_and_made_up_ones_stay_in_their_ranges() {
        for today in [d(2024, 11, 1), d(2026, 1, 15), d(2027, 6, 30)] {
            let u = Universe::standard(today);
            let mut seen = std::collections::HashSet::new();
            for i in u.iter() {
                assert!(seen.insert(i.conid), "duplicate conid {}", i.conid);
                assert!(i.conid < i32::MAX as u32, "conids fit IBKR's int");
                match i.sec_type {
                    SecType::Option => assert!(i.conid >= 1_000_000_000),
                    _ => assert!(i.conid < 1_000_000_000),
                }
            }
            assert_eq!(u.len(), seen.len());
        }
    }

    #[test]
    fn symbol_lookup_filters_by_type_exchange_and_currency() {
        let u = universe();
        let ibm = u.by_symbol("ibm", &SymbolFilter::any());
        let conids: Vec<u32> = ibm.iter().map(|i| i.conid).collect();
        assert_eq!(conids, [8314, 1411277, 38709473], "US listing first");

        let eur = u.by_symbol("IBM", &SymbolFilter::any().currency("eur"));
        assert_eq!(eur.len(), 1);
        assert_eq!((eur[0].conid, eur[0].exchange.as_str()), (1411277, "IBIS"));

        let nyse = u.by_symbol("IBM", &SymbolFilter::any().exchange("NYSE"));
        assert_eq!(nyse.len(), 1);
        assert_eq!(nyse[0].conid, 8314);
        // SMART routing reaches the US listing (and Xetra's), not Mexico's.
        let smart = u.by_symbol("IBM", &SymbolFilter::any().exchange("SMART"));
        assert_eq!(
            smart.iter().map(|i| i.conid).collect::<Vec<_>>(),
            [8314, 1411277]
        );
        // NASDAQ.NMS listings match "NASDAQ".
        let nasdaq = u.by_symbol(
            "AAPL",
            &SymbolFilter::any().exchange("NASDAQ").currency("USD"),
        );
        assert_eq!(nasdaq.len(), 1);

        let es = u.by_symbol("ES", &SymbolFilter::any());
        assert!(es.iter().any(|i| i.sec_type == SecType::Index));
        assert!(es.iter().any(|i| i.sec_type == SecType::Future));
        let fut = u.by_symbol("ES", &SymbolFilter::any().sec_type(SecType::Future));
        assert!(fut.len() >= 4 && fut.iter().all(|i| i.sec_type == SecType::Future));

        assert_eq!(
            u.by_symbol("EUR.USD", &SymbolFilter::any())[0].conid,
            12087792
        );
        assert!(
            u.by_symbol("AAPL", &SymbolFilter::any())
                .iter()
                .all(|i| i.sec_type != SecType::Option),
            "options only when asked"
        );
        let opts = u.by_symbol("AAPL", &SymbolFilter::any().sec_type(SecType::Option));
        assert!(opts.len() > 100);
        assert!(u.by_symbol("NOPE", &SymbolFilter::any()).is_empty());
    }

    #[test]
    fn search_matches_symbol_prefixes_and_names_case_insensitively() {
        let u = universe();
        let aapl = u.search("aapl");
        assert_eq!(aapl[0].conid, 265598);
        assert_eq!(aapl.len(), 2, "NASDAQ and MEXI listings");

        let ad = u.search("AD");
        let symbols: Vec<&str> = ad.iter().map(|i| i.symbol.as_str()).collect();
        assert!(symbols.len() >= 3, "{symbols:?}");
        assert_eq!(&symbols[..2], ["ADI", "ADP"], "symbol prefixes first");
        assert!(symbols.contains(&"AMD"), "ADVANCED MICRO DEVICES by name");

        let apple = u.search("Apple");
        assert_eq!(apple[0].conid, 265598);
        let machines = u.search("business mach");
        assert!(machines.iter().all(|i| i.symbol == "IBM") && machines.len() == 3);
        let sp = u.search("s&p 500");
        assert!(sp.iter().any(|i| i.conid == 416904));
        assert!(sp.iter().any(|i| i.conid == 756733));

        let es = u.search("ES");
        assert_eq!(
            es[0].conid, 11004968,
            "the ES underlying, not each contract"
        );
        assert!(es.iter().all(|i| i.sec_type != SecType::Future));
        assert!(u.search("EUR.").iter().any(|i| i.conid == 12087792));
        assert!(u.search("  ").is_empty());
        assert!(u.search("zzzz").is_empty());
        assert!(u.search("A").iter().all(|i| i.sec_type != SecType::Option));
    }

    #[test]
    fn option_months_are_ascending_monthly_expiries_from_today() {
        let u = Universe::standard(d(2025, 1, 6));
        let months = u.option_months(265598);
        let codes: Vec<&str> = months.iter().map(|m| m.code.as_str()).collect();
        assert_eq!(
            codes,
            ["JAN25", "FEB25", "MAR25", "APR25", "MAY25", "JUN25"]
        );
        assert_eq!(months[0].expiry, d(2025, 1, 17));
        assert_eq!(months[3].expiry, d(2025, 4, 17), "Good Friday moves it");
        assert!(months.windows(2).all(|w| w[0].expiry < w[1].expiry));
        for m in months {
            assert_eq!(month_code(m.expiry), m.code);
            assert!(matches!(m.expiry.weekday(), Weekday::Fri | Weekday::Thu));
        }
        // After January's expiry, January is gone.
        let later = Universe::standard(d(2025, 1, 18));
        assert_eq!(later.option_months(756733)[0].code, "FEB25");
        assert!(u.option_months(8314).is_empty(), "no chain on IBM");
    }

    #[test]
    fn monthly_expiries_skip_holidays() {
        assert_eq!(monthly_expiry(2025, 1), d(2025, 1, 17));
        assert_eq!(monthly_expiry(2025, 4), d(2025, 4, 17)); // Good Friday 18th
        assert_eq!(monthly_expiry(2026, 6), d(2026, 6, 18)); // Juneteenth 19th
        assert_eq!(monthly_expiry(2027, 6), d(2027, 6, 17)); // observed on the 18th
        assert_eq!(monthly_expiry(2026, 3), d(2026, 3, 20));
        assert_eq!(easter(2024), d(2024, 3, 31));
        assert_eq!(month_code(d(2026, 12, 18)), "DEC26");
    }

    #[test]
    fn strikes_are_sorted_regular_and_paired_calls_and_puts() {
        let u = universe();
        for und in [265598, 756733, 272093, 320227571] {
            let reference = u.get(und).unwrap().reference_price;
            for m in u.option_months(und) {
                let strikes = u.strikes(und, &m.code);
                assert!(strikes.len() >= 21);
                assert!(strikes.windows(2).all(|w| w[1] - w[0] == Decimal::from(5)));
                assert!(strikes[0] < reference && reference < *strikes.last().unwrap());
                let all = u.option_contracts(und, &m.code.to_lowercase(), None, None);
                assert_eq!(all.len(), strikes.len() * 2);
                for pair in all.chunks(2) {
                    let (c, p) = (
                        pair[0].option_terms().unwrap(),
                        pair[1].option_terms().unwrap(),
                    );
                    assert_eq!((c.right, p.right), (Right::Call, Right::Put));
                    assert_eq!(c.strike, p.strike);
                    assert_eq!(c.expiry, m.expiry);
                    assert_eq!(pair[0].underlying_conid(), Some(und));
                    assert_eq!(pair[0].tracks, Some(und));
                    assert!((0.20..=0.35).contains(&pair[0].volatility));
                }
            }
        }
        assert!(u.strikes(265598, "JAN99").is_empty());
        assert!(u.strikes(8314, "FEB26").is_empty());
    }

    #[test]
    fn option_lookup_and_conids_are_deterministic() {
        let u = Universe::standard(d(2025, 1, 6));
        let strike = Decimal::from(230);
        let call = u.option(265598, "JAN25", strike, Right::Call).unwrap();
        let put = u.option(265598, "JAN25", strike, Right::Put).unwrap();
        assert_ne!(call.conid, put.conid);
        assert_eq!(call.local_symbol, "AAPL  250117C00230000");
        assert_eq!(call.description(), "AAPL JAN25 230 C");
        assert_eq!(call.multiplier, Decimal::from(100));
        assert_eq!(
            Universe::option_conid(265598, d(2025, 1, 17), strike, Right::Call),
            Some(call.conid)
        );
        assert_eq!(u.get(call.conid).unwrap(), call);
        // The same contract has the same conid in a universe built on another day.
        let other = Universe::standard(d(2024, 12, 20));
        assert_eq!(
            other
                .option(265598, "JAN25", strike, Right::Call)
                .unwrap()
                .conid,
            call.conid
        );
        assert!(
            u.option(265598, "JAN25", Decimal::new(2301, 1), Right::Call)
                .is_none()
        );
        assert_eq!(
            u.option_contracts(265598, "JAN25", Some(strike), None)
                .len(),
            2
        );
        assert_eq!(
            Universe::option_conid(8314, d(2025, 1, 17), strike, Right::Call),
            None
        );
        assert_eq!(
            Universe::option_conid(265598, d(2025, 1, 17), Decimal::new(2301, 1), Right::Call),
            None
        );
        // Option reference prices fall with the strike for calls and rise for puts.
        let calls = u.option_contracts(265598, "MAR25", None, Some(Right::Call));
        assert!(
            calls
                .windows(2)
                .all(|w| w[0].reference_price >= w[1].reference_price)
        );
        let puts = u.option_contracts(265598, "MAR25", None, Some(Right::Put));
        assert!(
            puts.windows(2)
                .all(|w| w[0].reference_price <= w[1].reference_price)
        );
    }

    #[test]
    fn es_futures_use_recorded_conids_and_quarterly_expiries() {
        let u = universe();
        let es = u.futures("es");
        assert_eq!(es.len(), 5);
        let months: Vec<&str> = es
            .iter()
            .map(|i| i.future_terms().unwrap().contract_month.as_str())
            .collect();
        assert_eq!(months, ["202603", "202606", "202609", "202612", "202703"]);
        let conids: Vec<u32> = es.iter().map(|i| i.conid).collect();
        assert_eq!(
            conids,
            [900_202_603, 649180678, 900_202_609, 515416632, 900_202_703]
        );
        let jun = es[1].future_terms().unwrap();
        assert_eq!(
            (jun.expiry, jun.last_trading_day),
            (d(2026, 6, 18), d(2026, 6, 18))
        );
        let dec = es[3].future_terms().unwrap();
        assert_eq!(
            (dec.expiry, dec.last_trading_day),
            (d(2026, 12, 18), d(2026, 12, 17))
        );
        assert_eq!(jun.underlying_conid, 11004968);
        assert_eq!(es[1].local_symbol, "ESM6");
        assert_eq!(es[1].description(), "ES JUN26");
        assert_eq!(es[0].tick, Decimal::new(25, 2));
        assert_eq!(es[0].multiplier, Decimal::from(50));
        assert!(
            es.windows(2)
                .all(|w| w[0].reference_price < w[1].reference_price),
            "carry"
        );
        assert!(
            es.iter()
                .all(|i| (i.reference_price / i.tick).fract().is_zero())
        );

        let old = Universe::standard(d(2024, 11, 1));
        let dec24 = old.futures("ES")[0];
        assert_eq!(dec24.conid, 495512557);
        assert_eq!(dec24.future_terms().unwrap().expiry, d(2024, 12, 20));
        assert!(u.futures("NQ").is_empty());
    }

    #[test]
    fn fx_pairs_by_currency() {
        let u = universe();
        let usd: Vec<&str> = u
            .fx_pairs("usd")
            .iter()
            .map(|i| i.local_symbol.as_str())
            .collect();
        for pair in ["EUR.USD", "GBP.USD", "USD.JPY", "USD.CHF", "USD.CAD"] {
            assert!(usd.contains(&pair), "{pair} in {usd:?}");
        }
        assert!(!usd.contains(&"AUD.CAD"));
        let cad: Vec<&str> = u
            .fx_pairs("CAD")
            .iter()
            .map(|i| i.local_symbol.as_str())
            .collect();
        assert_eq!(cad, ["USD.CAD", "AUD.CAD"]);
        assert!(u.fx_pairs("XYZ").is_empty());
        let jpy = u.get(15016059).unwrap();
        assert_eq!(jpy.tick, Decimal::new(5, 3));
    }

    #[test]
    fn us_equity_hours_follow_new_york_time_through_dst() {
        let s = TradingSchedule::us_equities();
        // Summer (EDT, UTC-4).
        let r = s.regular_session(d(2025, 7, 15)).unwrap();
        assert_eq!(r.open, utc("2025-07-15T13:30:00Z"));
        assert_eq!(r.close, utc("2025-07-15T20:00:00Z"));
        let e = s.extended_session(d(2025, 7, 15)).unwrap();
        assert_eq!(e.open, utc("2025-07-15T08:00:00Z"));
        assert_eq!(e.close, utc("2025-07-16T00:00:00Z"));
        // Winter (EST, UTC-5).
        let r = s.regular_session(d(2025, 1, 15)).unwrap();
        assert_eq!(r.open, utc("2025-01-15T14:30:00Z"));
        assert!(s.regular_session(d(2025, 1, 18)).is_none(), "Saturday");

        assert_eq!(
            s.state_at(utc("2025-07-15T13:29:59Z")),
            MarketState::Extended
        );
        assert_eq!(
            s.state_at(utc("2025-07-15T13:30:00Z")),
            MarketState::Regular
        );
        assert_eq!(
            s.state_at(utc("2025-07-15T20:00:00Z")),
            MarketState::Extended
        );
        assert_eq!(s.state_at(utc("2025-07-16T00:30:00Z")), MarketState::Closed);
        assert_eq!(s.state_at(utc("2025-07-19T15:00:00Z")), MarketState::Closed);
        // While closed, the trading day is the one that closed last.
        assert_eq!(
            s.trading_day_at(utc("2025-07-16T05:00:00Z")),
            d(2025, 7, 15)
        );
        assert_eq!(
            s.trading_day_at(utc("2025-07-19T15:00:00Z")),
            d(2025, 7, 18)
        );
        assert_eq!(
            s.trading_day_at(utc("2025-07-21T08:00:00Z")),
            d(2025, 7, 21)
        );
        assert_eq!(s.previous_trading_day(d(2025, 7, 21)), d(2025, 7, 18));
        assert_eq!(s.next_trading_day(d(2025, 7, 18)), d(2025, 7, 21));
    }

    #[test]
    fn cme_futures_trade_sunday_evening_to_friday_with_a_daily_halt() {
        let s = TradingSchedule::cme_equity_futures();
        // Monday's session opens Sunday 17:00 Chicago (CDT, UTC-5).
        let e = s.extended_session(d(2025, 7, 14)).unwrap();
        assert_eq!(e.open, utc("2025-07-13T22:00:00Z"));
        assert_eq!(e.close, utc("2025-07-14T21:00:00Z"));
        assert_eq!(s.state_at(utc("2025-07-13T21:59:00Z")), MarketState::Closed);
        assert_eq!(
            s.state_at(utc("2025-07-13T22:00:00Z")),
            MarketState::Extended
        );
        assert_eq!(
            s.trading_day_at(utc("2025-07-13T23:00:00Z")),
            d(2025, 7, 14)
        );
        assert_eq!(
            s.state_at(utc("2025-07-14T14:00:00Z")),
            MarketState::Regular
        );
        // Daily halt 16:00-17:00 Chicago.
        assert_eq!(s.state_at(utc("2025-07-14T21:30:00Z")), MarketState::Closed);
        assert_eq!(
            s.state_at(utc("2025-07-14T22:00:00Z")),
            MarketState::Extended
        );
        // Friday 16:00 to Sunday 17:00: closed.
        assert_eq!(s.state_at(utc("2025-07-18T21:00:00Z")), MarketState::Closed);
        assert_eq!(s.state_at(utc("2025-07-19T12:00:00Z")), MarketState::Closed);
        assert_eq!(
            s.trading_day_at(utc("2025-07-19T12:00:00Z")),
            d(2025, 7, 18)
        );
    }

    #[test]
    fn fx_trades_around_the_clock_from_sunday_to_friday_17_00_new_york() {
        let s = TradingSchedule::fx();
        // Winter: 17:00 New York is 22:00 UTC.
        assert_eq!(s.state_at(utc("2025-01-12T21:59:00Z")), MarketState::Closed);
        assert_eq!(
            s.state_at(utc("2025-01-12T22:00:00Z")),
            MarketState::Regular
        );
        assert_eq!(
            s.trading_day_at(utc("2025-01-12T22:00:00Z")),
            d(2025, 1, 13)
        );
        assert_eq!(
            s.state_at(utc("2025-01-15T03:00:00Z")),
            MarketState::Regular
        );
        // At 17:00 one day rolls into the next without a gap.
        assert_eq!(
            s.trading_day_at(utc("2025-01-14T22:00:00Z")),
            d(2025, 1, 15)
        );
        assert_eq!(
            s.state_at(utc("2025-01-14T22:00:00Z")),
            MarketState::Regular
        );
        assert_eq!(
            s.state_at(utc("2025-01-17T21:59:59Z")),
            MarketState::Regular
        );
        assert_eq!(s.state_at(utc("2025-01-17T22:00:00Z")), MarketState::Closed);
    }

    #[test]
    fn every_instrument_has_a_schedule_in_its_exchanges_zone() {
        let u = universe();
        assert_eq!(
            u.schedule(265598).unwrap().time_zone,
            chrono_tz::America::New_York
        );
        assert_eq!(
            u.schedule(649180678).unwrap().time_zone,
            chrono_tz::America::Chicago
        );
        assert_eq!(
            u.schedule(38708077).unwrap().time_zone,
            chrono_tz::America::Mexico_City
        );
        assert_eq!(
            u.schedule(1411277).unwrap().time_zone,
            chrono_tz::Europe::Berlin
        );
        let x = u
            .schedule(1411277)
            .unwrap()
            .regular_session(d(2025, 7, 15))
            .unwrap();
        assert_eq!(x.open, utc("2025-07-15T07:00:00Z"));
        assert!(u.schedule(42).is_none());
    }

    #[test]
    fn sec_types_and_rights_parse_and_print_ibkr_codes() {
        for t in [
            SecType::Stock,
            SecType::Index,
            SecType::Future,
            SecType::Option,
            SecType::Forex,
        ] {
            assert_eq!(t.code().parse::<SecType>().unwrap(), t);
            assert_eq!(t.to_string(), t.code());
        }
        assert_eq!("stk".parse::<SecType>().unwrap(), SecType::Stock);
        assert!(
            "BOND"
                .parse::<SecType>()
                .unwrap_err()
                .to_string()
                .contains("BOND")
        );
        assert_eq!("put".parse::<Right>().unwrap(), Right::Put);
        assert_eq!("C".parse::<Right>().unwrap(), Right::Call);
        assert!("X".parse::<Right>().is_err());
    }
}
