//! The brokerage accounts of the login and the `/iserver/account` family:
//!
//! - `GET /iserver/accounts`: the accounts and the selected one;
//! - `POST /iserver/account`: switches the session's selected account;
//! - `GET /iserver/account/search/{pattern}` and `POST /iserver/dynaccount`: the
//!   dynamic-account calls, which answer only logins allowed to use them (here: a
//!   broker with an advisor account; others get IBKR's 503);
//! - `GET /iserver/account/{acct}/summary` and its parts `available_funds`,
//!   `balances`, `margins` and `market_value`;
//! - `GET /iserver/account/pnl/partitioned`;
//! - `GET /acesws/{acct}/signatures-and-owners`.
//!
//! Every figure comes from the paper broker's valuation at the price engine's prices,
//! the valuation `/portfolio/{acct}/summary` serves, reported as IBKR reports these
//! endpoints: whole units of the base currency, the summary parts as formatted text
//! (`"1,005,254 USD"`).
//!
//! As at IBKR, a session must call `/iserver/accounts` before market-data snapshots,
//! the account summary and the P&L (else 400 "Please query /accounts first"); the
//! gateway remembers that it did.
//!
//! # Segments
//!
//! The summary parts split the account into IBKR's segments: `securities` holds the
//! cash (every ledger converted) and the stocks and options, `commodities` the
//! futures (their unrealized P&L, and their margin), `Crypto at Paxos` nothing;
//! `total` is their sum, so its figures are the broker's account figures. Buying
//! power is an account-wide figure, reported under `securities` and `total`. The
//! equity with loan value leaves out options (they have no loan value); the Reg T
//! margin is the securities' initial margin (the broker's margin model is Reg T's).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ibkr_model::accounts::{
    AccountProperties, AccountSearch, AccountSummary, AccountUser, Applicant, AvailableFunds,
    AvailableFundsBySegment, Balances, BalancesBySegment, BrokerageAccounts, DisplayAmount,
    Margins, MarginsBySegment, MarketValue, MarketValueByCurrency, MatchedAccount, PnlPartitioned,
    SetAccountRequest, SetAccountResponse, SignaturesAndOwners, UserEntity,
};
use ibkr_model::auth::ServerInfo;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::auth::{SERVER_NAME, SERVER_VERSION};
use crate::broker::{AccountType, Broker, Valuation};
use crate::gateway::Shared;
use crate::http::{ApiError, error_body};
use crate::instruments::SecType;
use crate::market::{bad, from_json, need_sso};
use crate::session::BrokerageState;

/// What IBKR answers a login without the dynamic-account (DYNACCT) permission.
const NO_DYNAMIC_ACCOUNTS: &str = "Details currently unavailable. Please try again later and contact client services if the issue persists.";

pub(crate) async fn accounts(
    State(gw): State<Shared>,
) -> Result<Json<BrokerageAccounts>, ApiError> {
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    if sso.brokerage != BrokerageState::Authenticated {
        return Err(ApiError::NoBrokerage);
    }
    sso.accounts_queried = true;
    let session = sso.id.clone();
    let selected = sso.selected_account.clone();
    drop(m);
    // The broker's accounts: for an advisor the master first, then its sub-accounts.
    let (ids, props, aliases, dynamic) = {
        let broker = gw.broker();
        let mut ids = Vec::new();
        let mut props = BTreeMap::new();
        let mut aliases = BTreeMap::new();
        for acct in broker.accounts() {
            let mut p = AccountProperties::default();
            p.has_child_accounts = Some(acct.account_type == AccountType::Advisor);
            p.supports_cash_qty = Some(true);
            p.supports_fractions = Some(true);
            for flag in [
                "liteUnderPro",
                "noFXConv",
                "isProp",
                "allowCustomerTime",
                "autoFx",
            ] {
                p.extra.insert(flag.into(), false.into());
            }
            ids.push(acct.id.clone());
            props.insert(acct.id.clone(), p);
            aliases.insert(acct.id.clone(), acct.alias.clone());
        }
        (ids, props, aliases, dynamic_accounts(&broker))
    };
    let mut a = BrokerageAccounts::new(ids);
    if selected.is_some() {
        a.selected_account = selected;
    }
    a.acct_props = Some(props);
    a.aliases = Some(aliases);
    a.allow_features = Some(allow_features(dynamic));
    a.chart_periods = Some(
        ["STK", "CFD", "OPT", "FUT", "CASH", "IND", "BOND", "FUND"]
            .into_iter()
            .map(|t| (t.to_string(), vec!["*".to_string()]))
            .collect(),
    );
    a.groups = Some(Vec::new());
    a.profiles = Some(Vec::new());
    a.server_info = Some(ServerInfo::new(SERVER_NAME, SERVER_VERSION));
    a.session_id = Some(session.into());
    a.is_ft = Some(false);
    a.is_paper = Some(true);
    Ok(Json(a))
}

/// The feature flags of a paper login, as a recorded paper account shows them;
/// `allowDynAccount` says whether the dynamic-account calls work.
fn allow_features(dynamic: bool) -> ibkr_model::Extra {
    let json = serde_json::json!({
        "showGFIS": true, "showEUCostReport": false, "allowEventContract": true,
        "allowFXConv": true, "allowFinancialLens": false, "allowMTA": true,
        "allowTypeAhead": true, "allowEventTrading": true, "snapshotRefreshTimeout": 30,
        "liteUser": false, "showWebNews": true, "research": true, "debugPnl": true,
        "showTaxOpt": true, "showImpactDashboard": true, "allowDynAccount": dynamic,
        "allowCrypto": true, "allowFA": false, "allowLiteUnderPro": false,
        "allowedAssetTypes": "STK,CFD,OPT,FOP,WAR,FUT,BAG,PDC,CASH,IND,BOND,BILL,FUND,SLB,News,CMDTY,IOPT,ICU,ICS,PHYSS,CRYPTO",
        "restrictTradeSubscription": false, "showUkUserLabels": false, "sideBySide": true
    });
    match json {
        serde_json::Value::Object(m) => m,
        _ => ibkr_model::Extra::new(),
    }
}

/// Whether the login may use the dynamic-account calls: the simulator grants them to
/// a broker with an advisor account (IBKR grants them to brokers with the DYNACCT
/// property).
fn dynamic_accounts(broker: &Broker) -> bool {
    broker
        .accounts()
        .iter()
        .any(|a| a.account_type == AccountType::Advisor)
}

/// The checks of an `/iserver/account...` call: the brokerage session, and, where
/// IBKR requires it, `/iserver/accounts` called first in this session.
fn iserver_session(gw: &Shared, accounts_first: bool) -> Result<(), ApiError> {
    let m = gw.session();
    let sso = m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    if sso.brokerage != BrokerageState::Authenticated {
        return Err(ApiError::NoBrokerage);
    }
    if accounts_first && !sso.accounts_queried {
        return Err(bad("Bad Request: Please query /accounts first"));
    }
    Ok(())
}

/// The account `/iserver/accounts` reports as selected: the one switched to, else the
/// login's first.
fn selected(gw: &Shared) -> Result<Option<String>, ApiError> {
    let chosen = gw
        .session()
        .sso()
        .map_err(|_| ApiError::NotLoggedIn)?
        .selected_account
        .clone();
    Ok(chosen.or_else(|| gw.broker().accounts().first().map(|a| a.id.clone())))
}

fn set_account_request(body: &[u8]) -> Result<SetAccountRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "Bad Request: body must be {{\"acctId\": ...}}: {e}"
        ))
    })
}

/// `POST /iserver/account`: selects another account for this session; the selected
/// one answers `{"success": "Account already set"}` (as recorded), an unknown one 500
/// `{"error": "Invalid account ID"}` (as IBKR documents).
pub(crate) async fn switch(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<SetAccountResponse>, ApiError> {
    iserver_session(&gw, false)?;
    let id = set_account_request(&body)?.acct_id.0;
    if gw.broker().account(&id).is_err() {
        return Err(ApiError::InternalOnly("Invalid account ID".into()));
    }
    if selected(&gw)?.as_deref() == Some(id.as_str()) {
        return Ok(Json(SetAccountResponse::already_set()));
    }
    select(&gw, &id)?;
    Ok(Json(SetAccountResponse::new(id)))
}

fn select(gw: &Shared, id: &str) -> Result<(), ApiError> {
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    sso.selected_account = Some(id.to_string());
    Ok(())
}

/// IBKR's 503 for a login without dynamic accounts.
fn no_dynamic_accounts() -> Response {
    error_body(StatusCode::SERVICE_UNAVAILABLE, NO_DYNAMIC_ACCOUNTS)
}

/// `GET /iserver/account/search/{pattern}`: the login's accounts whose id or alias
/// contains the pattern (case-insensitive); 503 for a login without dynamic accounts.
pub(crate) async fn search(
    State(gw): State<Shared>,
    Path(pattern): Path<String>,
) -> Result<Json<AccountSearch>, Response> {
    iserver_session(&gw, false).map_err(IntoResponse::into_response)?;
    let broker = gw.broker();
    if !dynamic_accounts(&broker) {
        return Err(no_dynamic_accounts());
    }
    let needle = pattern.to_lowercase();
    let matched = broker
        .accounts()
        .iter()
        .filter(|a| {
            a.id.to_lowercase().contains(&needle) || a.alias.to_lowercase().contains(&needle)
        })
        .map(|a| {
            let mut m = MatchedAccount::new(a.id.as_str());
            m.alias = Some(a.alias.clone());
            m
        })
        .collect();
    Ok(Json(AccountSearch::new(pattern, matched)))
}

/// `POST /iserver/dynaccount`: selects an account found by the search (`{"set": true,
/// "acctId": ...}`, as recorded); 503 for a login without dynamic accounts, 500
/// `{"error": "Invalid account ID"}` for an unknown account.
pub(crate) async fn dynaccount(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<SetAccountResponse>, Response> {
    iserver_session(&gw, false).map_err(IntoResponse::into_response)?;
    let id = set_account_request(&body)
        .map_err(IntoResponse::into_response)?
        .acct_id
        .0;
    {
        let broker = gw.broker();
        if !dynamic_accounts(&broker) {
            return Err(no_dynamic_accounts());
        }
        if broker.account(&id).is_err() {
            return Err(ApiError::InternalOnly("Invalid account ID".into()).into_response());
        }
    }
    select(&gw, &id).map_err(IntoResponse::into_response)?;
    Ok(Json(SetAccountResponse::new(id)))
}

// ---------------------------------------------------------------------------------------
// Figures

/// An account valued now; an unknown account is IBKR's 400 "accountId is not valid".
fn valued(gw: &Shared, acct: &str) -> Result<(Valuation, BTreeMap<String, Decimal>), ApiError> {
    gw.advance_orders();
    let broker = gw.broker();
    let realized = broker
        .account(acct)
        .map_err(|_| bad(format!("Bad Request: accountId is not valid: {acct}")))?
        .realized_pnl()
        .clone();
    let v = broker
        .valuation_at(acct, &gw.market.engine, gw.market.now())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((v, realized))
}

/// One segment of an account, in the base currency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Segment {
    net_liquidation: Decimal,
    equity_with_loan: Decimal,
    previous_day_equity_with_loan: Decimal,
    cash: Decimal,
    gross_position_value: Decimal,
    init_margin: Decimal,
    maint_margin: Decimal,
    reg_t_margin: Decimal,
    buying_power: Decimal,
}

impl Segment {
    fn available_funds(&self) -> Decimal {
        self.net_liquidation - self.init_margin
    }

    fn excess_liquidity(&self) -> Decimal {
        self.net_liquidation - self.maint_margin
    }

    /// Gross position value over net liquidation, two decimals (`0.00` for an empty
    /// segment, `n/a` when the net liquidation is negative).
    fn leverage(&self) -> String {
        if self.net_liquidation.is_sign_negative() && !self.net_liquidation.is_zero() {
            return "n/a".into();
        }
        if self.net_liquidation.is_zero() {
            return "0.00".into();
        }
        let l = (self.gross_position_value / self.net_liquidation)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        format!("{l:.2}")
    }

    fn plus(self, o: Segment) -> Segment {
        Segment {
            net_liquidation: self.net_liquidation + o.net_liquidation,
            equity_with_loan: self.equity_with_loan + o.equity_with_loan,
            previous_day_equity_with_loan: self.previous_day_equity_with_loan
                + o.previous_day_equity_with_loan,
            cash: self.cash + o.cash,
            gross_position_value: self.gross_position_value + o.gross_position_value,
            init_margin: self.init_margin + o.init_margin,
            maint_margin: self.maint_margin + o.maint_margin,
            reg_t_margin: self.reg_t_margin + o.reg_t_margin,
            buying_power: self.buying_power + o.buying_power,
        }
    }
}

/// IBKR's segments of an account, in the order of the recordings' keys.
struct Segments {
    total: Segment,
    crypto: Segment,
    commodities: Segment,
    securities: Segment,
}

impl Segments {
    fn of(v: &Valuation) -> Segments {
        let s = &v.summary;
        let mut securities = Segment {
            net_liquidation: s.total_cash,
            equity_with_loan: s.total_cash,
            previous_day_equity_with_loan: s.total_cash,
            cash: s.total_cash,
            buying_power: s.buying_power,
            ..Segment::default()
        };
        let mut commodities = Segment::default();
        for p in &v.positions {
            let future = p.sec_type == SecType::Future;
            let seg = if future {
                &mut commodities
            } else {
                &mut securities
            };
            seg.net_liquidation += p.liquidation_value_base;
            seg.init_margin += p.init_margin;
            seg.maint_margin += p.maint_margin;
            if p.sec_type != SecType::Option {
                seg.equity_with_loan += p.liquidation_value_base;
                seg.previous_day_equity_with_loan += p.liquidation_value_base - p.daily_pnl_base;
            }
            if !future {
                seg.gross_position_value += p.mkt_value_base.abs();
                seg.reg_t_margin += p.init_margin;
            }
        }
        Segments {
            total: securities.plus(commodities),
            crypto: Segment::default(),
            commodities,
            securities,
        }
    }

    /// `(name, segment)` as IBKR keys them.
    fn named(&self) -> [(&'static str, &Segment); 4] {
        [
            ("total", &self.total),
            ("Crypto at Paxos", &self.crypto),
            ("commodities", &self.commodities),
            ("securities", &self.securities),
        ]
    }
}

/// Rounded to whole units, as these endpoints report money (`-0` is `0`).
fn whole(d: Decimal) -> Decimal {
    let r = d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() { Decimal::ZERO } else { r }
}

/// Whole units with thousands separators: `1,005,254`, `-401,958`.
fn grouped(d: Decimal) -> String {
    let w = whole(d);
    let digits = w.abs().trunc().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if w.is_sign_negative() {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount with its currency: `"1,005,254 USD"`.
fn with_ccy(d: Decimal, ccy: &str) -> Option<DisplayAmount> {
    Some(DisplayAmount(format!("{} {ccy}", grouped(d))))
}

/// An amount without currency: `"1,005,254"`.
fn plain(d: Decimal) -> Option<DisplayAmount> {
    Some(DisplayAmount(grouped(d)))
}

/// A whole amount as a JSON number, as `/summary` writes it (`994831.0`).
fn whole_json(d: Decimal) -> serde_json::Value {
    serde_json::json!(whole(d).to_f64().unwrap_or(0.0))
}

/// A JSON number to the cent.
fn num(d: Decimal) -> serde_json::Value {
    serde_json::json!(d.to_f64().unwrap_or(0.0))
}

/// `GET /iserver/account/{acct}/summary`: the account's main figures, whole units.
pub(crate) async fn summary(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<AccountSummary>, ApiError> {
    iserver_session(&gw, true)?;
    let (v, _) = valued(&gw, &acct)?;
    let seg = Segments::of(&v);
    let t = &seg.total;
    let s = &v.summary;
    let mut cash: Vec<serde_json::Value> = v
        .cash
        .iter()
        .map(|c| {
            serde_json::json!({
                "currency": c.currency, "balance": whole_json(c.balance),
                "settledCash": whole_json(c.balance),
            })
        })
        .collect();
    // As IBKR's multi-currency example: a total after the ledgers.
    if v.cash.len() > 1 {
        cash.push(serde_json::json!({
            "currency": format!("Total (in {})", s.base_currency),
            "balance": whole_json(s.total_cash), "settledCash": whole_json(s.total_cash),
        }));
    }
    from_json(serde_json::json!({
        "accountType": "",
        "status": "",
        "balance": whole_json(t.available_funds()),
        "SMA": whole_json(t.equity_with_loan - t.reg_t_margin),
        "buyingPower": whole_json(t.buying_power),
        "availableFunds": whole_json(t.available_funds()),
        "excessLiquidity": whole_json(t.excess_liquidity()),
        "netLiquidationValue": whole_json(t.net_liquidation),
        "equityWithLoanValue": whole_json(t.equity_with_loan),
        "regTLoan": whole_json((-s.total_cash).max(Decimal::ZERO)),
        "securitiesGVP": whole_json(t.gross_position_value),
        "totalCashValue": whole_json(t.cash),
        "accruedInterest": 0.0,
        "regTMargin": whole_json(t.reg_t_margin),
        "initialMargin": whole_json(t.init_margin),
        "maintenanceMargin": whole_json(t.maint_margin),
        "cashBalances": cash,
    }))
    .map(Json)
}

/// `GET /iserver/account/{acct}/summary/available_funds`, by segment.
pub(crate) async fn available_funds(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<AvailableFundsBySegment>, ApiError> {
    iserver_session(&gw, true)?;
    let (v, _) = valued(&gw, &acct)?;
    let ccy = v.summary.base_currency.as_str();
    let mut out = AvailableFundsBySegment::new();
    for (name, s) in Segments::of(&v).named() {
        let mut f = AvailableFunds::new();
        f.current_available = with_ccy(s.available_funds(), ccy);
        f.current_excess = with_ccy(s.excess_liquidity(), ccy);
        f.buying_power = with_ccy(s.buying_power, ccy);
        f.leverage = Some(DisplayAmount(s.leverage()));
        // No look-ahead changes in the paper broker: the same as now.
        f.look_ahead_available = with_ccy(s.available_funds(), ccy);
        f.look_ahead_excess = with_ccy(s.excess_liquidity(), ccy);
        out.insert(name.to_string(), f);
    }
    Ok(Json(out))
}

/// `GET /iserver/account/{acct}/summary/balances`, by segment.
pub(crate) async fn balances(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<BalancesBySegment>, ApiError> {
    iserver_session(&gw, true)?;
    let (v, _) = valued(&gw, &acct)?;
    let ccy = v.summary.base_currency.as_str();
    let mut out = BalancesBySegment::new();
    for (name, s) in Segments::of(&v).named() {
        let mut b = Balances::new();
        b.net_liquidation = with_ccy(s.net_liquidation, ccy);
        b.equity_with_loan = with_ccy(s.equity_with_loan, ccy);
        b.cash = with_ccy(s.cash, ccy);
        // The paper broker pays no interest.
        b.mtd_interest = with_ccy(Decimal::ZERO, ccy);
        b.previous_day_equity_with_loan = with_ccy(s.previous_day_equity_with_loan, ccy);
        out.insert(name.to_string(), b);
    }
    Ok(Json(out))
}

/// `GET /iserver/account/{acct}/summary/margins`, by segment.
pub(crate) async fn margins(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<MarginsBySegment>, ApiError> {
    iserver_session(&gw, true)?;
    let (v, _) = valued(&gw, &acct)?;
    let ccy = v.summary.base_currency.as_str();
    let mut out = MarginsBySegment::new();
    for (name, s) in Segments::of(&v).named() {
        let mut m = Margins::new();
        m.current_initial = with_ccy(s.init_margin, ccy);
        m.current_maint = with_ccy(s.maint_margin, ccy);
        m.look_ahead_initial = with_ccy(s.init_margin, ccy);
        m.look_ahead_maint = with_ccy(s.maint_margin, ccy);
        m.reg_t_margin = with_ccy(s.reg_t_margin, ccy);
        out.insert(name.to_string(), m);
    }
    Ok(Json(out))
}

/// `GET /iserver/account/{acct}/summary/market_value`: per currency (the base
/// currency always), in that currency; with several currencies each carries its
/// `Exchange Rate` to the base currency and a `Total (in BASE)` follows, as in IBKR's
/// multi-currency example.
pub(crate) async fn market_value(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<MarketValueByCurrency>, ApiError> {
    iserver_session(&gw, true)?;
    let (v, realized) = valued(&gw, &acct)?;
    let s = &v.summary;
    let mut currencies: BTreeSet<&str> = BTreeSet::new();
    currencies.insert(&s.base_currency);
    currencies.extend(v.cash.iter().map(|c| c.currency.as_str()));
    currencies.extend(v.positions.iter().map(|p| p.currency.as_str()));
    let several = currencies.len() > 1;
    let mut out = MarketValueByCurrency::new();
    for ccy in &currencies {
        let ledger = v.cash.iter().find(|c| c.currency == *ccy);
        let held: Vec<_> = v.positions.iter().filter(|p| p.currency == *ccy).collect();
        let of = |t: SecType| -> Decimal {
            held.iter()
                .filter(|p| p.sec_type == t)
                .map(|p| {
                    if t == SecType::Future {
                        p.unrealized_pnl
                    } else {
                        p.mkt_value
                    }
                })
                .sum()
        };
        let cash = ledger.map(|c| c.balance).unwrap_or_default();
        let (stock, options, futures) =
            (of(SecType::Stock), of(SecType::Option), of(SecType::Future));
        let rate = ledger
            .map(|c| c.fx_rate)
            .or_else(|| held.first().map(|p| p.fx_rate))
            .unwrap_or(Decimal::ONE);
        let upnl: Decimal = held.iter().map(|p| p.unrealized_pnl).sum();
        let mut m = MarketValue::new();
        m.total_cash = plain(cash);
        m.stock = plain(stock);
        m.options = plain(options);
        m.futures = plain(futures);
        m.net_liquidation = plain(cash + stock + options + futures);
        m.unrealized_pnl = plain(upnl);
        m.realized_pnl = plain(realized.get(*ccy).copied().unwrap_or_default());
        if several {
            m.exchange_rate = Some(DisplayAmount(exchange_rate(rate)));
        }
        out.insert(ccy.to_string(), m);
    }
    if several {
        let mut m = MarketValue::new();
        m.total_cash = plain(s.total_cash);
        m.stock = plain(s.stock_market_value);
        m.options = plain(s.option_market_value);
        m.futures = plain(s.future_market_value);
        m.net_liquidation = plain(s.net_liquidation);
        m.unrealized_pnl = plain(s.unrealized_pnl);
        m.realized_pnl = plain(s.realized_pnl);
        m.exchange_rate = Some(DisplayAmount(exchange_rate(Decimal::ONE)));
        out.insert(format!("Total (in {})", s.base_currency), m);
    }
    Ok(Json(out))
}

/// A rate as IBKR's example writes it: `1.00` for the base currency, else up to 7
/// decimals (`1.092525`).
fn exchange_rate(rate: Decimal) -> String {
    if rate == Decimal::ONE {
        "1.00".into()
    } else {
        rate.round_dp_with_strategy(7, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
            .to_string()
    }
}

/// `GET /iserver/account/pnl/partitioned`: P&L of the selected account, keyed
/// `{acct}.Core`; an advisor's master account brings its sub-accounts (`rowType`
/// counts the rows from 1). The first request of a session only subscribes and
/// answers `{"upnl": {}}`, as IBKR documents.
///
/// `dpl`: P&L since the prior close; `nl`: net liquidation; `upl`: unrealized P&L;
/// `el` and `uel`: excess liquidity (`uel` is IBKR's unrounded form: both are to
/// the cent here); `mv`: market value of the positions (their share of the net
/// liquidation, so `nl` = cash + `mv`).
pub(crate) async fn pnl_partitioned(
    State(gw): State<Shared>,
) -> Result<Json<PnlPartitioned>, ApiError> {
    iserver_session(&gw, true)?;
    let first = {
        let mut m = gw.session();
        let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
        !std::mem::replace(&mut sso.pnl_subscribed, true)
    };
    if first {
        return Ok(Json(PnlPartitioned::new()));
    }
    let Some(selected) = selected(&gw)? else {
        return Ok(Json(PnlPartitioned::new()));
    };
    gw.advance_orders();
    let broker = gw.broker();
    let acct = broker
        .account(&selected)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut ids = vec![acct.id.clone()];
    if acct.account_type == AccountType::Advisor {
        let subs = broker
            .sub_accounts(&acct.id)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        ids.extend(subs.into_iter().map(|a| a.id.clone()));
    }
    let now = gw.market.now();
    let mut upnl = serde_json::Map::new();
    for (n, id) in ids.iter().enumerate() {
        let v = broker
            .valuation_at(id, &gw.market.engine, now)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let s = &v.summary;
        upnl.insert(
            format!("{id}.Core"),
            serde_json::json!({
                "rowType": n + 1,
                "dpl": num(s.daily_pnl),
                "nl": num(s.net_liquidation),
                "upl": num(s.unrealized_pnl),
                "el": num(s.excess_liquidity),
                "mv": num(s.position_value),
                "uel": num(s.excess_liquidity),
            }),
        );
    }
    from_json(serde_json::json!({ "upnl": upnl })).map(Json)
}

// ---------------------------------------------------------------------------------------
// Signatures and owners

/// `GET /acesws/{acct}/signatures-and-owners`: the account's owner, made up from the
/// account's configuration: an advisor's master account is an organisation named by
/// its alias, a sub-account a client named by its alias, an individual account the
/// logged-in user; a person has a date of birth, as recorded ([`OWNER_BIRTH_DATE`]).
/// An unknown account is IBKR's documented 400 (`errorResponse`: this operation
/// documents no 500).
pub(crate) async fn signatures_and_owners(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<SignaturesAndOwners>, ApiError> {
    need_sso(&gw)?;
    let login = gw
        .session()
        .sso()
        .map_err(|_| ApiError::NotLoggedIn)?
        .user
        .clone();
    let broker = gw.broker();
    let a = broker
        .account(&acct)
        .map_err(|_| bad(format!("Bad Request: accountId is not valid: {acct}")))?;
    let named = a.alias != a.id;
    let mut entity = UserEntity::new();
    let (user_name, signature) = match a.account_type {
        AccountType::Advisor => {
            let name = if named {
                a.alias.clone()
            } else {
                format!("{} Advisors", capitalized(&login))
            };
            entity.entity_type = Some("ORG".into());
            entity.entity_name = Some(name.clone());
            (login, name)
        }
        AccountType::SubAccount | AccountType::Individual => {
            let sub = a.account_type == AccountType::SubAccount;
            let name = if named {
                a.alias.clone()
            } else if sub {
                format!("Client {}", a.id)
            } else {
                format!("{} Trader", capitalized(&login))
            };
            let (first, last) = match name.split_once(' ') {
                Some((f, l)) => (f.to_string(), l.to_string()),
                None => (name.clone(), String::new()),
            };
            entity.first_name = Some(first);
            entity.last_name = Some(last);
            entity.entity_type = Some("INDIVIDUAL".into());
            entity.entity_name = Some(name.clone());
            entity.date_of_birth = Some(OWNER_BIRTH_DATE.into());
            let user = if sub {
                client_user(&name, &a.id)
            } else {
                login
            };
            (user, name)
        }
    };
    let mut owner = AccountUser::new();
    owner.role_id = Some("OWNER".into());
    owner.has_right_code_ind = Some(true);
    owner.user_name = Some(user_name);
    owner.entity = Some(entity);
    let mut out = SignaturesAndOwners::new(a.id.as_str());
    out.users = vec![owner];
    out.applicant = Some(Applicant::new(vec![signature]));
    Ok(Json(out))
}

/// The date of birth (`YYYY-MM-DD`) of every person owning an account: made up, as
/// the names are. IBKR's recording of an individual's owner has one.
const OWNER_BIRTH_DATE: &str = "1980-01-01";

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Paper".into(),
    }
}

/// A client's login name: the first letters of its name and the account's last
/// digits, e.g. `clien568`.
fn client_user(name: &str, id: &str) -> String {
    let letters: String = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(5)
        .collect::<String>()
        .to_ascii_lowercase();
    let n = id.chars().count();
    let tail: String = id.chars().skip(n.saturating_sub(3)).collect();
    format!("{letters}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{Broker, BrokerConfig, Mark};
    use crate::instruments::Universe;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_are_whole_units_with_separators() {
        assert_eq!(grouped(d("1005254.49")), "1,005,254");
        assert_eq!(grouped(d("1005254.5")), "1,005,255");
        assert_eq!(grouped(d("-401958.2")), "-401,958");
        assert_eq!(grouped(d("999")), "999");
        assert_eq!(grouped(d("1000")), "1,000");
        assert_eq!(grouped(d("-0.4")), "0");
        assert_eq!(grouped(Decimal::ZERO), "0");
        assert_eq!(
            with_ccy(d("994831"), "USD").unwrap().as_str(),
            "994,831 USD"
        );
        assert_eq!(exchange_rate(Decimal::ONE), "1.00");
        assert_eq!(exchange_rate(d("1.09252549")), "1.0925255");
    }

    #[test]
    fn segments_add_up_to_the_account() {
        let at = chrono::NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
        let universe = Universe::standard(at);
        let broker = Broker::new(BrokerConfig::advisor(), &universe).unwrap();
        let marks = |conid: u32| {
            universe.get(conid).map(|i| {
                let p = i.reference_price;
                Mark::new(p, p - Decimal::ONE)
            })
        };
        for a in broker.accounts() {
            let v = broker.valuation(&a.id, marks).unwrap();
            let seg = Segments::of(&v);
            let s = &v.summary;
            assert_eq!(seg.total.net_liquidation, s.net_liquidation);
            assert_eq!(seg.total.available_funds(), s.available_funds);
            assert_eq!(seg.total.excess_liquidity(), s.excess_liquidity);
            assert_eq!(seg.total.init_margin, s.init_margin);
            assert_eq!(seg.total.cash, s.total_cash);
            assert_eq!(seg.total.gross_position_value, s.gross_position_value);
            assert_eq!(seg.crypto, Segment::default());
            // Stocks only: the equity with loan value is the net liquidation, and the
            // prior close was one unit lower for each share held.
            assert_eq!(seg.total.equity_with_loan, s.net_liquidation);
            assert_eq!(
                seg.total.previous_day_equity_with_loan,
                s.net_liquidation - s.daily_pnl
            );
        }
    }

    #[test]
    fn leverage_is_gross_position_value_over_net_liquidation() {
        let mut s = Segment::default();
        assert_eq!(s.leverage(), "0.00");
        s.net_liquidation = d("1000");
        s.gross_position_value = d("1430");
        assert_eq!(s.leverage(), "1.43");
        s.gross_position_value = Decimal::ZERO;
        assert_eq!(s.leverage(), "0.00");
        s.net_liquidation = d("-5");
        assert_eq!(s.leverage(), "n/a");
    }

    #[test]
    fn client_users_look_like_login_names() {
        assert_eq!(client_user("Client growth", "DU1234568"), "clien568");
        assert_eq!(capitalized("demo"), "Demo");
    }
}
