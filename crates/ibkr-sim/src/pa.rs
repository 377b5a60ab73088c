//! Portfolio Analyst: `POST /pa/performance`, `POST /pa/allperiods` and
//! `POST /pa/transactions`, computed from the paper broker and the price engine.
//!
//! # Figures
//!
//! - Days are weekdays, as in IBKR's answers (which list exchange holidays too). The
//!   last day is today in New York, or the last weekday before it at a weekend.
//! - A day's net asset value (NAV) is the account's net liquidation value at the end
//!   of that day in New York (every US session, extended hours included, is over by
//!   then), at the price engine's prices then. The last day's NAV is the value *now*,
//!   so it is the net liquidation of `/portfolio/{acct}/summary`.
//! - Holdings: the paper broker has no history before the simulator started, so until
//!   then an account holds what it started with. Fills since are honoured: a past
//!   day's holdings are today's with the later fills undone.
//! - `cps` (cumulative return) on each day is `NAV / startNAV - 1`, `tpps` (return per
//!   calendar month) is the month's last NAV over the NAV before the month, minus 1;
//!   both to 8 decimals. The paper broker has no deposits or withdrawals, so these
//!   NAV ratios are the time-weighted returns (`pm: "TWR"`); `cps` is the compounding
//!   of `tpps`.
//! - Several accounts passed to `/pa/performance` are consolidated: one series whose
//!   NAV is the sum of the accounts' NAVs in the first account's base currency (at the
//!   day's exchange rates), with `id` and `idType` `consolidated` (IBKR's naming of a
//!   consolidation is not recorded). `/pa/allperiods` answers each account on its own,
//!   in its base currency.
//!
//! # Periods
//!
//! Counted back from the last day `end`, as in IBKR's examples: `1D` is `end` alone,
//! `7D` the 7 calendar days ending at `end`, `MTD` and `YTD` start on the 1st of the
//! month and of January, `1M`, `3M`, `6M`, `12M` and `1Y` start that many months
//! before `end` (the same day of the month). `startNAV` is the NAV of the weekday before
//! the first day.
//!
//! # Transactions
//!
//! The fills of the accounts in the one contract asked for, since midnight (UTC, as
//! recorded) `days` ago: prices and amounts in the contract's currency with `fxRate`
//! to the currency asked for; `rpnl` sums the realized P&L of the fills per day,
//! account and side (`L` closing a long position, `S` covering a short one).
//!
//! Errors: a missing or invalid field is IBKR's 400 problem
//! (`"type": "/invalid-argument"`); an unknown account is a 500 "accountId is not
//! valid", as on the portfolio endpoints.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{
    DateTime, Datelike, Days, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use ibkr_model::accounts::AccountId;
use ibkr_model::contracts::Conid;
use ibkr_model::portfolio::{
    AccountPeriods, AccountsRequest, AllPeriods, PaPeriod, Performance, PerformanceData,
    PerformanceRequest, PerformanceSeries, PeriodPerformance, RealizedPnl, RealizedPnlEntry,
    StartNav, Transaction, TransactionType, Transactions, TransactionsRequest,
};
use ibkr_model::time::EpochMillis;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::broker::{Broker, BrokerError, Execution, Mark, Side, money};
use crate::gateway::Shared;
use crate::http::ApiError;
use crate::instruments::SecType;
use crate::market::need_sso;
use crate::prices::PriceEngine;

/// The time zone of Portfolio Analyst's days.
const NY: Tz = chrono_tz::America::New_York;

/// The periods of `/pa/allperiods`, in IBKR's order.
const ALL_PERIODS: [PaPeriod; 6] = [
    PaPeriod::OneDay,
    PaPeriod::SevenDays,
    PaPeriod::MonthToDate,
    PaPeriod::OneMonth,
    PaPeriod::YearToDate,
    PaPeriod::OneYear,
];

/// Days of `/pa/transactions` when the request names none.
const DEFAULT_DAYS: u32 = 90;

/// Decimals of returns, as recorded (`0.00013107`).
const RETURN_DP: u32 = 8;

// ---------------------------------------------------------------------------------------
// Errors

/// Why a Portfolio Analyst request was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An answer shared with the other endpoints (401, unknown account, bugs).
    Api(ApiError),
    /// IBKR's 400 problem for a missing or invalid field.
    Invalid {
        /// The field, e.g. `acctIds`.
        field: String,
        /// What is wrong with it.
        description: String,
    },
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

fn invalid(field: &str, description: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field: field.to_string(),
        description: description.into(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Api(e) => e.into_response(),
            Refusal::Invalid { field, description } => {
                let body = serde_json::json!({
                    "type": "/invalid-argument",
                    "title": "Bad Request",
                    "status": 400,
                    "detail": "Input validation failed",
                    "invalidArguments": [{ "field": field, "description": description }],
                });
                let mut r = (StatusCode::BAD_REQUEST, Json(body)).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                );
                r
            }
        }
    }
}

/// Reads a request body; a missing field is named as IBKR names it.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => invalid(field, "Missing required parameter"),
            None => invalid("body", format!("Invalid request body: {text}")),
        }
    })
}

fn internal(e: BrokerError) -> Refusal {
    Refusal::Api(ApiError::Internal(e.to_string()))
}

/// The requested accounts, each known to the broker, without repeats.
fn known_accounts(broker: &Broker, ids: &[AccountId]) -> Result<Vec<String>, Refusal> {
    if ids.is_empty() {
        return Err(invalid("acctIds", "At least one account id is required"));
    }
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        broker.account(id.as_str()).map_err(|_| {
            Refusal::Api(ApiError::InternalOnly(format!(
                "accountId is not valid: {id}"
            )))
        })?;
        if !out.iter().any(|o| o == id.as_str()) {
            out.push(id.as_str().to_string());
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Days and periods

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

fn is_weekday(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The last weekday on or before `d`.
fn weekday_on_or_before(d: NaiveDate) -> NaiveDate {
    let mut x = d;
    for _ in 0..7 {
        if is_weekday(x) {
            return x;
        }
        match x.pred_opt() {
            Some(p) => x = p,
            None => break,
        }
    }
    x
}

/// The last weekday strictly before `d`.
fn weekday_before(d: NaiveDate) -> NaiveDate {
    d.pred_opt().map_or(d, weekday_on_or_before)
}

/// The last day of Portfolio Analyst's figures at `now`: today in New York, or the
/// last weekday before it.
fn last_day(now: DateTime<Utc>) -> NaiveDate {
    weekday_on_or_before(now.with_timezone(&NY).date_naive())
}

/// The end of a day in New York.
fn day_end(d: NaiveDate) -> DateTime<Utc> {
    let next = d.succ_opt().unwrap_or(d).and_time(NaiveTime::MIN);
    let midnight = NY
        .from_local_datetime(&next)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&next));
    midnight - Duration::seconds(1)
}

/// The first calendar day of `period` ending at `end`; `None` for a period the
/// simulator does not know.
fn first_day(period: &PaPeriod, end: NaiveDate) -> Option<NaiveDate> {
    let months = |n: u32| end.checked_sub_months(Months::new(n));
    match period {
        PaPeriod::OneDay => Some(end),
        PaPeriod::SevenDays => end.checked_sub_days(Days::new(6)),
        PaPeriod::MonthToDate => end.with_day(1),
        PaPeriod::OneMonth => months(1),
        PaPeriod::ThreeMonths => months(3),
        PaPeriod::SixMonths => months(6),
        PaPeriod::TwelveMonths | PaPeriod::OneYear => months(12),
        PaPeriod::YearToDate => NaiveDate::from_ymd_opt(end.year(), 1, 1),
        _ => None,
    }
}

/// The days of a period: the weekday whose NAV is the start, and the period's weekdays.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    start_nav: NaiveDate,
    first: NaiveDate,
    dates: Vec<NaiveDate>,
}

impl Window {
    fn of(period: &PaPeriod, end: NaiveDate) -> Option<Window> {
        let first = first_day(period, end)?;
        let dates: Vec<NaiveDate> = first
            .iter_days()
            .take_while(|d| *d <= end)
            .filter(|d| is_weekday(*d))
            .collect();
        Some(Window {
            start_nav: weekday_before(first),
            first,
            dates,
        })
    }

    /// `startNAV`'s day, then the period's days.
    fn all_days(&self) -> Vec<NaiveDate> {
        std::iter::once(self.start_nav)
            .chain(self.dates.iter().copied())
            .collect()
    }

    /// Calendar days from the first to `end`, both counted (IBKR's `nd`).
    fn calendar_days(&self, end: NaiveDate) -> i64 {
        (end - self.first).num_days() + 1
    }
}

// ---------------------------------------------------------------------------------------
// Net asset values

/// Undoes a fill on `b`: the opposite fill at the same price without commission, so
/// that the position's quantity comes back exactly. For stocks, options and FX the cash
/// is then set back as it was. A future reopened that way has another average price,
/// which its realized P&L in cash makes up for: a fill without commission leaves the
/// net liquidation value at its price unchanged, so giving back the commission the
/// fill cost restores the value at any price.
fn rewind(b: &mut Broker, e: &Execution) -> Result<(), BrokerError> {
    let future = b
        .universe()
        .get(e.conid)
        .is_some_and(|i| i.sec_type == SecType::Future);
    let before = b.cash(&e.account, &e.currency)?;
    let opposite = match e.side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    };
    b.apply_fill(
        &e.account,
        e.conid,
        opposite,
        e.quantity,
        e.price,
        Decimal::ZERO,
        e.at,
    )?;
    if future {
        b.deposit(&e.account, &e.currency, e.commission)?;
    } else {
        let after = b.cash(&e.account, &e.currency)?;
        b.deposit(&e.account, &e.currency, before - e.cash_change - after)?;
    }
    Ok(())
}

/// The NAV of `accounts` together, in `currency`, on each of `days` (ascending): at
/// each day's end in New York, the last day at `now`. Each account's net liquidation
/// is converted at that instant's rate and rounded to cents before they are added.
fn navs(
    broker: &Broker,
    engine: &PriceEngine,
    accounts: &[String],
    currency: &str,
    days: &[NaiveDate],
    now: DateTime<Utc>,
) -> Result<Vec<Decimal>, BrokerError> {
    let mut pending: Vec<&Execution> = Vec::new();
    for a in accounts {
        pending.extend(broker.account(a)?.executions());
    }
    pending.sort_by_key(|e| e.at);
    let mut state: Cow<'_, Broker> = Cow::Borrowed(broker);
    let mut out = vec![Decimal::ZERO; days.len()];
    for (i, day) in days.iter().enumerate().rev() {
        let live = i + 1 == days.len();
        let at = if live { now } else { day_end(*day).min(now) };
        while let Some(e) = pending.last().copied().filter(|e| e.at > at) {
            rewind(state.to_mut(), e)?;
            pending.pop();
        }
        // The live day is valued as `/portfolio/{acct}/summary` values it.
        let marks = |conid: u32| {
            if live {
                engine
                    .quote(conid, at)
                    .map(|q| Mark::new(q.last, q.prior_close))
            } else {
                engine.price(conid, at).map(Mark::flat)
            }
        };
        let mut total = Decimal::ZERO;
        for a in accounts {
            let v = state.valuation(a, marks)?;
            let rate = state.fx_rate(&v.summary.base_currency, currency, &marks)?;
            total += money(v.summary.net_liquidation * rate);
        }
        out[i] = total;
    }
    Ok(out)
}

/// `value / base - 1` to 8 decimals (0 when `base` is 0).
fn ratio_return(value: Decimal, base: Decimal) -> Decimal {
    value
        .checked_div(base)
        .map(|r| {
            (r - Decimal::ONE)
                .round_dp_with_strategy(RETURN_DP, RoundingStrategy::MidpointNearestEven)
        })
        .unwrap_or(Decimal::ZERO)
}

/// Cumulative returns of each NAV over `start`.
fn cumulative(start: Decimal, navs: &[Decimal]) -> Vec<Decimal> {
    navs.iter().map(|n| ratio_return(*n, start)).collect()
}

/// Returns per calendar month (`YYYYMM`, return): each month's last NAV over the NAV
/// before the month.
fn monthly(start: Decimal, dates: &[NaiveDate], navs: &[Decimal]) -> Vec<(String, Decimal)> {
    let mut out = Vec::new();
    let mut base = start;
    let mut i = 0;
    while i < dates.len() {
        let month = (dates[i].year(), dates[i].month());
        let mut j = i;
        while j + 1 < dates.len() && (dates[j + 1].year(), dates[j + 1].month()) == month {
            j += 1;
        }
        out.push((
            format!("{:04}{:02}", month.0, month.1),
            ratio_return(navs[j], base),
        ));
        base = navs[j];
        i = j + 1;
    }
    out
}

// ---------------------------------------------------------------------------------------
// /pa/performance

/// `POST /pa/performance`: NAV, cumulative and monthly returns over a period.
pub(crate) async fn performance(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<Performance>, Refusal> {
    need_sso(&gw)?;
    gw.advance_orders();
    let req: PerformanceRequest = parse(&body)?;
    let broker = gw.broker();
    let ids = known_accounts(&broker, &req.acct_ids)?;
    let period = req.period.unwrap_or(PaPeriod::TwelveMonths);
    performance_of(&broker, &gw.market.engine, &ids, &period, gw.market.now()).map(Json)
}

/// The answer of `/pa/performance` for known accounts.
fn performance_of(
    broker: &Broker,
    engine: &PriceEngine,
    ids: &[String],
    period: &PaPeriod,
    now: DateTime<Utc>,
) -> Result<Performance, Refusal> {
    let end = last_day(now);
    let w = Window::of(period, end).ok_or_else(|| {
        invalid(
            "period",
            format!("Unknown period {period}: use 1D, 7D, MTD, 1M, 3M, 6M, 12M, 1Y or YTD"),
        )
    })?;
    let first_account = ids
        .first()
        .ok_or_else(|| invalid("acctIds", "At least one account id is required"))?;
    let currency = broker
        .account(first_account)
        .map_err(internal)?
        .base_currency
        .clone();
    let values = navs(broker, engine, ids, &currency, &w.all_days(), now).map_err(internal)?;
    let (start_val, day_navs) = values
        .split_first()
        .ok_or_else(|| Refusal::Api(ApiError::Internal("no NAV computed".into())))?;

    let (id, id_type) = if ids.len() == 1 {
        (ids[0].clone(), "acctid")
    } else {
        ("consolidated".to_string(), "consolidated")
    };
    let entry = || {
        let mut d = PerformanceData::new(id.clone());
        d.id_type = Some(id_type.to_string());
        d.start = Some(ymd(w.dates.first().copied().unwrap_or(w.first)));
        d.end = Some(ymd(end));
        d.base_currency = Some(currency.clone());
        d
    };
    let dates: Vec<String> = w.dates.iter().map(|d| ymd(*d)).collect();

    let mut cps = PerformanceSeries::new();
    cps.freq = Some("D".into());
    cps.dates = dates.clone();
    let mut c = entry();
    c.returns = Some(cumulative(*start_val, day_navs));
    cps.data.push(c);

    let months = monthly(*start_val, &w.dates, day_navs);
    let mut tpps = PerformanceSeries::new();
    tpps.freq = Some("M".into());
    tpps.dates = months.iter().map(|(m, _)| m.clone()).collect();
    let mut t = entry();
    t.returns = Some(months.iter().map(|(_, r)| *r).collect());
    tpps.data.push(t);

    let mut nav = PerformanceSeries::new();
    nav.freq = Some("D".into());
    nav.dates = dates;
    let mut n = entry();
    n.start_nav = Some(StartNav::new(ymd(w.start_nav), *start_val));
    n.navs = Some(day_navs.to_vec());
    nav.data.push(n);

    let mut p = Performance::new();
    p.currency_type = Some("base".into());
    p.pm = Some("TWR".into());
    p.nd = Some(w.calendar_days(end));
    p.id = Some("getPerformanceData".into());
    p.included = Some(ids.iter().map(|i| AccountId::new(i.clone())).collect());
    p.cps = Some(cps);
    p.tpps = Some(tpps);
    p.nav = Some(nav);
    Ok(p)
}

// ---------------------------------------------------------------------------------------
// /pa/allperiods

/// `POST /pa/allperiods`: every period of each account.
pub(crate) async fn all_periods(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<AllPeriods>, Refusal> {
    need_sso(&gw)?;
    gw.advance_orders();
    let req: AccountsRequest = parse(&body)?;
    let broker = gw.broker();
    let ids = known_accounts(&broker, &req.acct_ids)?;
    all_periods_of(&broker, &gw.market.engine, &ids, gw.market.now()).map(Json)
}

/// The answer of `/pa/allperiods` for known accounts.
fn all_periods_of(
    broker: &Broker,
    engine: &PriceEngine,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<AllPeriods, Refusal> {
    let end = last_day(now);
    let bug = |what: &str| Refusal::Api(ApiError::Internal(format!("simulator bug: {what}")));
    // The year covers every other period: its NAVs serve them all.
    let year = Window::of(&PaPeriod::OneYear, end).ok_or_else(|| bug("no 1Y window"))?;
    let year_days = year.all_days();
    let updated = now
        .with_timezone(&NY)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut out = AllPeriods::new();
    out.currency_type = Some("base".into());
    out.pm = Some("TWR".into());
    out.nd = Some(year.calendar_days(end));
    out.id = Some("getPerformanceAllPeriods".into());
    let listed: Vec<AccountId> = ids.iter().map(|i| AccountId::new(i.clone())).collect();
    out.view = Some(listed.clone());
    out.included = Some(listed);
    for id in ids {
        let base = broker.account(id).map_err(internal)?.base_currency.clone();
        let values = navs(
            broker,
            engine,
            std::slice::from_ref(id),
            &base,
            &year_days,
            now,
        )
        .map_err(internal)?;
        let by_day: BTreeMap<NaiveDate, Decimal> = year_days
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect();
        let mut acct = AccountPeriods::new();
        acct.base_currency = Some(base);
        acct.start = Some(ymd(year.first));
        acct.end = Some(ymd(end));
        acct.last_successful_update = Some(updated.clone());
        for period in ALL_PERIODS {
            let w = Window::of(&period, end).ok_or_else(|| bug("no window"))?;
            let start = *by_day.get(&w.start_nav).ok_or_else(|| bug("start NAV"))?;
            let day_navs = w
                .dates
                .iter()
                .map(|d| by_day.get(d).copied().ok_or_else(|| bug("day NAV")))
                .collect::<Result<Vec<_>, _>>()?;
            let mut p = PeriodPerformance::new();
            p.freq = Some("D".into());
            p.start_nav = Some(StartNav::new(ymd(w.start_nav), start));
            p.dates = w.dates.iter().map(|d| ymd(*d)).collect();
            p.cps = cumulative(start, &day_navs);
            p.nav = day_navs;
            acct.periods.push(period.clone());
            acct.by_period.insert(period, p);
        }
        out.accounts.insert(AccountId::new(id.clone()), acct);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// /pa/transactions

/// `POST /pa/transactions`: the accounts' fills in one contract, and their realized
/// P&L.
pub(crate) async fn transactions(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<Transactions>, Refusal> {
    need_sso(&gw)?;
    gw.advance_orders();
    let req: TransactionsRequest = parse(&body)?;
    let broker = gw.broker();
    let ids = known_accounts(&broker, &req.acct_ids)?;
    transactions_of(&broker, &gw.market.engine, &ids, &req, gw.market.now()).map(Json)
}

/// The answer of `/pa/transactions` for known accounts.
fn transactions_of(
    broker: &Broker,
    engine: &PriceEngine,
    ids: &[String],
    req: &TransactionsRequest,
    now: DateTime<Utc>,
) -> Result<Transactions, Refusal> {
    let conid = match req.conids.as_slice() {
        [c] => *c,
        [] => return Err(invalid("conids", "Missing required parameter")),
        _ => {
            return Err(invalid(
                "conids",
                "Only one contract id is supported at a time",
            ));
        }
    };
    let inst = u32::try_from(conid.0)
        .ok()
        .and_then(|c| broker.universe().get(c))
        .ok_or_else(|| invalid("conids", format!("Unknown contract id {}", conid.0)))?;
    let currency = req.currency.clone().unwrap_or_else(|| "USD".to_string());
    let now_marks = crate::broker::engine_marks(engine, now);
    broker
        .fx_rate(&inst.currency, &currency, &now_marks)
        .map_err(|e| invalid("currency", format!("Cannot convert into {currency}: {e}")))?;
    let days = req.days.unwrap_or(DEFAULT_DAYS);
    let to = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let from = to - Duration::days(i64::from(days));

    let rate_at = |at: DateTime<Utc>| -> Result<Decimal, Refusal> {
        if inst.currency == currency {
            return Ok(Decimal::new(10, 1));
        }
        let marks = crate::broker::engine_marks(engine, at);
        broker
            .fx_rate(&inst.currency, &currency, &marks)
            .map(|r| r.round_dp(8).normalize())
            .map_err(internal)
    };

    let mut fills: Vec<&Execution> = Vec::new();
    for id in ids {
        fills.extend(
            broker
                .account(id)
                .map_err(internal)?
                .executions()
                .iter()
                .filter(|e| e.conid == inst.conid && e.at >= from),
        );
    }
    fills.sort_by_key(|e| e.at);

    let mut list = Vec::new();
    // (day, account, side) → (currency amount, rate)
    let mut realized: Vec<((String, String, &'static str), Decimal, Decimal)> = Vec::new();
    for e in &fills {
        let day = e.at.with_timezone(&NY).date_naive();
        let fx = rate_at(e.at)?;
        let qty = e.side.sign() * e.quantity;
        let amt = money(-qty * e.price * inst.multiplier);
        let kind = match e.side {
            Side::Buy => TransactionType::Buy,
            Side::Sell => TransactionType::Sell,
        };
        let mut t = Transaction::new(
            AccountId::new(e.account.clone()),
            Conid(i64::from(inst.conid)),
            kind,
            java_date(day),
            e.currency.clone(),
            qty,
            e.price,
            amt,
        );
        t.raw_date = Some(ymd(day));
        t.fx_rate = Some(fx);
        t.desc = Some(inst.name.clone());
        list.push(t);
        if !e.realized_pnl.is_zero() {
            // Realized P&L comes from closing a position: a sale closes a long one.
            let side = match e.side {
                Side::Sell => "L",
                Side::Buy => "S",
            };
            let key = (ymd(day), e.account.clone(), side);
            match realized.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, sum, _)) => *sum += e.realized_pnl,
                None => realized.push((key, e.realized_pnl, fx)),
            }
        }
    }

    let mut rpnl = RealizedPnl::new();
    let mut total = Decimal::ZERO;
    for ((day, account, side), sum, fx) in realized {
        let amt = money(sum);
        total += money(amt * fx);
        let mut entry = RealizedPnlEntry::new(day, with_cents(amt));
        entry.cur = Some(inst.currency.clone());
        entry.fx_rate = Some(fx);
        entry.side = Some(side.to_string());
        entry.acctid = Some(AccountId::new(account));
        entry.conid = Some(Conid(i64::from(inst.conid)));
        rpnl.data.push(entry);
    }
    if !rpnl.data.is_empty() {
        rpnl.amt = with_cents(total);
    }

    let mut out = Transactions::new();
    out.nd = Some(i64::from(days) + 1);
    out.rpnl = Some(rpnl);
    out.currency = Some(currency);
    out.from = Some(EpochMillis::from_datetime(from));
    out.to = Some(EpochMillis::from_datetime(to));
    out.id = Some("getTransactions".into());
    out.transactions = list;
    Ok(out)
}

/// A day as IBKR's Java service prints it: `Tue Mar 31 00:00:00 EDT 2026`.
fn java_date(day: NaiveDate) -> String {
    match NY
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
    {
        Some(t) => t.format("%a %b %d %H:%M:%S %Z %Y").to_string(),
        None => day.format("%a %b %d 00:00:00 %Y").to_string(),
    }
}

/// An amount with two decimals (`12.30`, not `12.3`).
fn with_cents(d: Decimal) -> Decimal {
    let mut d = money(d);
    d.rescale(2);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{AccountConfig, AccountType, BrokerConfig};
    use crate::instruments::Universe;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y%m%d").unwrap()
    }

    fn window(p: PaPeriod, end: &str) -> (String, String, usize) {
        let w = Window::of(&p, date(end)).unwrap();
        (
            ymd(w.start_nav),
            ymd(*w.dates.first().unwrap()),
            w.dates.len(),
        )
    }

    #[test]
    fn periods_match_ibkrs_examples() {
        // The spec's /pa/allperiods example ends on Friday 2024-04-26.
        let end = "20240426";
        assert_eq!(
            window(PaPeriod::OneDay, end),
            ("20240425".into(), "20240426".into(), 1)
        );
        assert_eq!(
            window(PaPeriod::SevenDays, end),
            ("20240419".into(), "20240422".into(), 5)
        );
        assert_eq!(
            window(PaPeriod::MonthToDate, end),
            ("20240329".into(), "20240401".into(), 20)
        );
        assert_eq!(
            window(PaPeriod::OneMonth, end),
            ("20240325".into(), "20240326".into(), 24)
        );
        assert_eq!(
            window(PaPeriod::YearToDate, end),
            ("20231229".into(), "20240101".into(), 85)
        );
        let (s, f, n) = window(PaPeriod::OneYear, end);
        assert_eq!((s.as_str(), f.as_str()), ("20230425", "20230426"));
        assert_eq!(n, 263);
        // The documentation's example ends on Tuesday 2025-06-03.
        let end = "20250603";
        assert_eq!(window(PaPeriod::SevenDays, end).0, "20250527");
        assert_eq!(window(PaPeriod::SevenDays, end).1, "20250528");
        assert_eq!(window(PaPeriod::OneMonth, end).0, "20250502");
        assert_eq!(window(PaPeriod::OneMonth, end).1, "20250505");
        assert_eq!(window(PaPeriod::OneYear, end).0, "20240531");
        assert_eq!(window(PaPeriod::MonthToDate, end).0, "20250530");
        assert!(Window::of(&PaPeriod::from_code("2W"), date(end)).is_none());
    }

    #[test]
    fn the_last_day_is_a_weekday_in_new_york() {
        // Saturday 2026-03-14 16:00 UTC → Friday the 13th.
        let sat: DateTime<Utc> = "2026-03-14T16:00:00Z".parse().unwrap();
        assert_eq!(ymd(last_day(sat)), "20260313");
        // Wednesday 01:30 UTC is still Tuesday evening in New York.
        let t: DateTime<Utc> = "2026-03-11T01:30:00Z".parse().unwrap();
        assert_eq!(ymd(last_day(t)), "20260310");
        assert_eq!(java_date(date("20260331")), "Tue Mar 31 00:00:00 EDT 2026");
        assert_eq!(java_date(date("20231211")), "Mon Dec 11 00:00:00 EST 2023");
    }

    #[test]
    fn monthly_returns_compound_to_the_cumulative_one() {
        let d = |s| date(s);
        let dates = [d("20260227"), d("20260302"), d("20260331"), d("20260401")];
        let navs: Vec<Decimal> = ["101", "99.5", "104", "103.2"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let start = Decimal::from(100);
        let m = monthly(start, &dates, &navs);
        let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["202602", "202603", "202604"]);
        let compounded = m
            .iter()
            .fold(Decimal::ONE, |acc, (_, r)| acc * (Decimal::ONE + r))
            - Decimal::ONE;
        let last = *cumulative(start, &navs).last().unwrap();
        assert!(
            (compounded - last).abs() < Decimal::new(1, 7),
            "{compounded} {last}"
        );
    }

    const AAPL: u32 = 265598;
    const EURUSD: u32 = 12087792;

    fn setup() -> (Universe, PriceEngine, DateTime<Utc>) {
        let now: DateTime<Utc> = "2026-03-11T01:30:00Z".parse().unwrap();
        let universe = Universe::standard(now.date_naive());
        let engine = PriceEngine::new(7, &universe);
        (universe, engine, now)
    }

    fn broker(universe: &Universe) -> Broker {
        let cfg = BrokerConfig::new().account(
            AccountConfig::new("U1", AccountType::Individual, "USD")
                .cash("USD", Decimal::from(100_000))
                .position(AAPL, Decimal::from(10), Decimal::from(200)),
        );
        Broker::new(cfg, universe).unwrap()
    }

    #[test]
    fn past_days_undo_later_fills_and_the_last_day_is_the_value_now() {
        let (universe, engine, now) = setup();
        let before = broker(&universe);
        let mut after = before.clone();
        let future = universe
            .iter()
            .find(|i| i.sec_type == SecType::Future)
            .map(|i| i.conid)
            .unwrap();
        // Fills on Friday 2026-03-06 and Monday 2026-03-09, New York afternoon.
        let fri: DateTime<Utc> = "2026-03-06T18:00:00Z".parse().unwrap();
        let mon: DateTime<Utc> = "2026-03-09T17:00:00Z".parse().unwrap();
        let p = |c: u32, at| engine.price(c, at).unwrap();
        let one = Decimal::ONE;
        after
            .apply_fill(
                "U1",
                AAPL,
                Side::Buy,
                Decimal::from(5),
                p(AAPL, fri),
                one,
                fri,
            )
            .unwrap();
        after
            .apply_fill("U1", future, Side::Buy, one, p(future, fri), one, fri)
            .unwrap();
        after
            .apply_fill(
                "U1",
                EURUSD,
                Side::Buy,
                Decimal::from(20_000),
                p(EURUSD, fri),
                one,
                fri,
            )
            .unwrap();
        after
            .apply_fill(
                "U1",
                AAPL,
                Side::Sell,
                Decimal::from(12),
                p(AAPL, mon),
                one,
                mon,
            )
            .unwrap();
        after
            .apply_fill("U1", future, Side::Sell, one, p(future, mon), one, mon)
            .unwrap();
        let ids = ["U1".to_string()];
        let days: Vec<NaiveDate> = ["20260304", "20260305", "20260306", "20260309", "20260310"]
            .iter()
            .map(|s| date(s))
            .collect();
        let with_fills = navs(&after, &engine, &ids, "USD", &days, now).unwrap();
        let without = navs(&before, &engine, &ids, "USD", &days, now).unwrap();
        let cent = Decimal::new(1, 2);
        // Before the first fill, the account is as it started.
        for i in 0..2 {
            assert!(
                (with_fills[i] - without[i]).abs() <= cent,
                "{i}: {with_fills:?} {without:?}"
            );
        }
        // On the days of the fills, the holdings after them.
        assert_ne!(with_fills[2], without[2]);
        // The last day is the value now.
        let live = after.valuation_at("U1", &engine, now).unwrap();
        assert_eq!(with_fills[4], live.summary.net_liquidation);
        // And a day between is the value of the state then: undo Monday's fills only.
        let mut friday_state = before.clone();
        for e in &after.account("U1").unwrap().executions()[..3] {
            friday_state
                .apply_fill(
                    "U1",
                    e.conid,
                    e.side,
                    e.quantity,
                    e.price,
                    e.commission,
                    e.at,
                )
                .unwrap();
        }
        let friday = navs(
            &friday_state,
            &engine,
            &ids,
            "USD",
            &days[..3],
            day_end(days[2]),
        )
        .unwrap();
        assert!(
            (friday[2] - with_fills[2]).abs() <= cent,
            "{friday:?} {with_fills:?}"
        );
    }

    #[test]
    fn transactions_list_fills_with_signs_and_realized_pnl() {
        let (universe, engine, now) = setup();
        let mut b = broker(&universe);
        let fri: DateTime<Utc> = "2026-03-06T18:00:00Z".parse().unwrap();
        b.apply_fill(
            "U1",
            AAPL,
            Side::Buy,
            Decimal::from(4),
            Decimal::from(210),
            Decimal::ONE,
            fri,
        )
        .unwrap();
        b.apply_fill(
            "U1",
            AAPL,
            Side::Sell,
            Decimal::from(6),
            Decimal::from(220),
            Decimal::ONE,
            fri,
        )
        .unwrap();
        let ids = ["U1".to_string()];
        let mut req = TransactionsRequest::new(vec![AccountId::from("U1")], Conid(i64::from(AAPL)));
        req.days = Some(30);
        let t = transactions_of(&b, &engine, &ids, &req, now).unwrap();
        assert_eq!(t.nd, Some(31));
        assert_eq!(t.transactions.len(), 2);
        let buy = &t.transactions[0];
        assert_eq!(buy.kind, TransactionType::Buy);
        assert_eq!(buy.qty, Decimal::from(4));
        assert_eq!(buy.amt, Decimal::from(-840));
        assert_eq!(buy.raw_date.as_deref(), Some("20260306"));
        assert_eq!(buy.date, "Fri Mar 06 00:00:00 EST 2026");
        let sell = &t.transactions[1];
        assert_eq!(sell.qty, Decimal::from(-6));
        assert_eq!(sell.amt, Decimal::from(1320));
        let rpnl = t.rpnl.unwrap();
        assert_eq!(rpnl.data.len(), 1);
        let e = &rpnl.data[0];
        assert_eq!(e.side.as_deref(), Some("L"));
        let realized = b.account("U1").unwrap().executions()[1].realized_pnl;
        assert_eq!(e.amt, with_cents(realized));
        assert_eq!(rpnl.amt, e.amt);
        // The keys of IBKR's recorded transaction and documented realized P&L entry.
        let keys = |v: serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(serde_json::to_value(buy).unwrap()),
            [
                "acctid", "amt", "conid", "cur", "date", "desc", "fxRate", "pr", "qty", "rawDate",
                "type"
            ]
        );
        assert_eq!(
            keys(serde_json::to_value(e).unwrap()),
            ["acctid", "amt", "conid", "cur", "date", "fxRate", "side"]
        );
        // Older than `days`: left out.
        req.days = Some(0);
        let none = transactions_of(&b, &engine, &ids, &req, now).unwrap();
        assert!(none.transactions.is_empty());
        assert_eq!(none.rpnl.unwrap().amt.to_string(), "0.0");
        // Two contracts at once are refused.
        req.conids.push(Conid(756733));
        assert!(matches!(
            transactions_of(&b, &engine, &ids, &req, now),
            Err(Refusal::Invalid { .. })
        ));
    }
}
