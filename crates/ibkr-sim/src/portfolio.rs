//! Portfolio endpoints, served from the paper broker valued at the price engine's
//! prices: accounts and sub-accounts (`/portfolio/accounts`, `/portfolio/subaccounts`,
//! `/portfolio/subaccounts2`, `/portfolio/{acct}/meta`), figures
//! (`/portfolio/{acct}/summary`, `/ledger`, `/allocation`, `POST /portfolio/allocation`)
//! and positions (`/portfolio/{acct}/positions/{page}`, `/portfolio2/{acct}/positions`,
//! `/portfolio/{acct}/position/{conid}`, `/portfolio/positions/{conid}`,
//! `POST /portfolio/{acct}/positions/invalidate`, `/portfolio/{acct}/combo/positions`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use ibkr_model::portfolio::{
    AccountsRequest, Allocation, ComboPosition, InvalidateResponse, Ledger, PortfolioAccount,
    PortfolioSummary, Position, Position2, PositionsByAccount, SubAccounts2,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::broker::{AccountType, PositionValue, Valuation};
use crate::gateway::Shared;
use crate::http::ApiError;
use crate::instruments::{Kind, Right, SecType, Universe};
use crate::market::{Q, from_json, need_sso};

/// An exchange rate as IBKR writes it: `1` for the base currency, else a number.
fn rate_json(d: Decimal) -> serde_json::Value {
    if d.fract().is_zero() {
        serde_json::json!(d.to_i64().unwrap_or(1))
    } else {
        num(d)
    }
}

fn num(d: Decimal) -> serde_json::Value {
    serde_json::json!(d.to_f64().unwrap_or(0.0))
}

/// `GET /portfolio/accounts`: the broker's accounts, shaped as recorded.
pub(crate) async fn accounts(
    State(gw): State<Shared>,
) -> Result<Json<Vec<PortfolioAccount>>, ApiError> {
    need_sso(&gw)?;
    let broker = gw.broker();
    let mut out = Vec::new();
    for a in broker.accounts() {
        out.push(from_json(account_json(a))?);
    }
    Ok(Json(out))
}

/// An account as `/portfolio/accounts` and `/portfolio/{acct}/meta` describe it.
fn account_json(a: &crate::broker::Account) -> serde_json::Value {
    let is_master = a.account_type == AccountType::Advisor;
    {
        serde_json::json!({
            "id": a.id,
            "PrepaidCrypto-Z": false,
            "PrepaidCrypto-P": false,
            "brokerageAccess": true,
            "accountId": a.id,
            "accountVan": a.id,
            "accountTitle": a.alias,
            "displayName": a.alias,
            "accountAlias": null,
            "accountStatus": 1_769_922_000_000_i64,
            "currency": a.base_currency,
            "type": "DEMO",
            "tradingType": "STKNOPT",
            "businessType": "INDEPENDENT",
            "category": "",
            "ibEntity": "IBLLC-US",
            "faclient": a.parent.is_some(),
            "clearingStatus": "O",
            "covestor": false,
            "noClientTrading": false,
            "trackVirtualFXPortfolio": false,
            "acctCustType": if is_master { "ADVISOR" } else { "INDIVIDUAL" },
            "parent": {
                "mmc": [],
                "accountId": a.parent.clone().unwrap_or_default(),
                "isMParent": is_master,
                "isMChild": a.parent.is_some(),
                "isMultiplex": false,
            },
            "desc": a.id,
        })
    }
}

/// `GET /portfolio/{acct}/meta`: one account's description.
pub(crate) async fn meta(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<PortfolioAccount>, ApiError> {
    need_sso(&gw)?;
    let broker = gw.broker();
    let a = broker
        .account(&acct)
        .map_err(|_| ApiError::InternalOnly(format!("accountId is not valid: {acct}")))?;
    from_json(account_json(a)).map(Json)
}

/// Positions per page of `/portfolio/{acct}/positions/{page}`, as IBKR pages them.
pub(crate) const POSITIONS_PAGE: usize = 100;

/// The query of the position lists (`/portfolio/{acct}/positions/{page}`,
/// `/portfolio2/{acct}/positions`). `model`, `waitForSecDef` and `period` are accepted
/// and have no effect: the paper broker has no model portfolios, its contracts are
/// always loaded, and the lists carry no period P&L column.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct PositionsParams {
    #[allow(dead_code)]
    model: Option<String>,
    sort: Option<String>,
    direction: Option<String>,
    #[allow(dead_code)]
    #[serde(rename = "waitForSecDef")]
    wait_for_sec_def: Option<String>,
    #[allow(dead_code)]
    period: Option<String>,
}

/// A column the position lists can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    /// The contract description (IBKR's default, `name`).
    Name,
    Conid,
    Position,
    MktPrice,
    MktValue,
    AvgCost,
    AvgPrice,
    RealizedPnl,
    UnrealizedPnl,
    DailyPnl,
    Currency,
    AssetClass,
}

impl SortKey {
    /// The column a `sort` value names, case-insensitively, in either list's field
    /// names (`mktValue` and `marketValue` alike). `None` for a field these lists
    /// cannot be sorted by.
    fn parse(field: &str) -> Option<SortKey> {
        Some(match field.to_ascii_lowercase().as_str() {
            "name" | "contractdesc" | "description" | "ticker" | "symbol" | "fullname" => {
                SortKey::Name
            }
            "conid" => SortKey::Conid,
            "position" | "pos" | "quantity" => SortKey::Position,
            "mktprice" | "marketprice" => SortKey::MktPrice,
            "mktvalue" | "marketvalue" => SortKey::MktValue,
            "avgcost" => SortKey::AvgCost,
            "avgprice" => SortKey::AvgPrice,
            "realizedpnl" => SortKey::RealizedPnl,
            "unrealizedpnl" => SortKey::UnrealizedPnl,
            "dailypnl" | "pnl" => SortKey::DailyPnl,
            "currency" => SortKey::Currency,
            "assetclass" | "sectype" => SortKey::AssetClass,
            _ => return None,
        })
    }

    fn cmp(self, a: &PositionValue, b: &PositionValue) -> Ordering {
        match self {
            SortKey::Name => a
                .description
                .to_ascii_lowercase()
                .cmp(&b.description.to_ascii_lowercase()),
            SortKey::Conid => a.conid.cmp(&b.conid),
            SortKey::Position => a.quantity.cmp(&b.quantity),
            SortKey::MktPrice => a.mkt_price.cmp(&b.mkt_price),
            SortKey::MktValue => a.mkt_value.cmp(&b.mkt_value),
            SortKey::AvgCost => a.avg_cost.cmp(&b.avg_cost),
            SortKey::AvgPrice => a.avg_price.cmp(&b.avg_price),
            SortKey::RealizedPnl => a.realized_pnl.cmp(&b.realized_pnl),
            SortKey::UnrealizedPnl => a.unrealized_pnl.cmp(&b.unrealized_pnl),
            SortKey::DailyPnl => a.daily_pnl.cmp(&b.daily_pnl),
            SortKey::Currency => a.currency.cmp(&b.currency),
            SortKey::AssetClass => a.sec_type.code().cmp(b.sec_type.code()),
        }
    }
}

/// Sorts positions as `sort` and `direction` ask: by name (the contract description)
/// ascending unless told otherwise, as IBKR documents; the recorded two-position page
/// (`AAPL`, `ABBV`) is in description order, not company-name order (`ABBVIE INC`
/// would come first). Ties go by conid, so that the order is total and pages never
/// overlap. A `sort` naming no column of these lists keeps the default order; a
/// `direction` other than `a` or `d` is refused.
fn sort_positions(list: &mut [PositionValue], q: &PositionsParams) -> Result<(), ApiError> {
    let descending = match q.direction.as_deref().map(str::to_ascii_lowercase) {
        None => false,
        Some(d) if d.is_empty() || d == "a" || d == "asc" => false,
        Some(d) if d == "d" || d == "desc" => true,
        Some(d) => {
            return Err(crate::market::bad(format!(
                "Bad Request: direction must be a (ascending) or d (descending), not {d}"
            )));
        }
    };
    let key = match q.sort.as_deref().filter(|s| !s.is_empty()) {
        None => SortKey::Name,
        Some(s) => SortKey::parse(s).unwrap_or_else(|| {
            tracing::debug!(sort = s, "unknown sort field: default order");
            SortKey::Name
        }),
    };
    list.sort_by(|a, b| {
        let o = key.cmp(a, b).then(a.conid.cmp(&b.conid));
        if descending { o.reverse() } else { o }
    });
    Ok(())
}

/// A position as `/portfolio/{acct}/positions/{page}` sends it: the short form, before
/// IBKR has loaded the contract's details.
fn position_json(acct: &str, p: &PositionValue, u: &Universe) -> serde_json::Value {
    let (expiry, put_or_call, strike, und) = match u.get(p.conid).map(|i| &i.kind) {
        Some(Kind::Option(o)) => (
            serde_json::json!(o.expiry.format("%Y%m%d").to_string()),
            serde_json::json!(match o.right {
                Right::Call => "C",
                Right::Put => "P",
            }),
            num(o.strike),
            o.underlying_conid,
        ),
        _ => (
            serde_json::Value::Null,
            serde_json::Value::Null,
            serde_json::json!(0.0),
            0,
        ),
    };
    serde_json::json!({
        "acctId": acct,
        "conid": p.conid,
        "contractDesc": p.description,
        "position": num(p.quantity),
        "mktPrice": num(p.mkt_price),
        "mktValue": num(p.mkt_value),
        "currency": p.currency,
        "avgCost": num(p.avg_cost),
        "avgPrice": num(p.avg_price),
        "realizedPnl": num(p.realized_pnl),
        "unrealizedPnl": num(p.unrealized_pnl),
        "exchs": null,
        "expiry": expiry,
        "putOrCall": put_or_call,
        "multiplier": if p.multiplier == Decimal::ONE { serde_json::Value::Null } else { num(p.multiplier) },
        "strike": strike,
        "exerciseStyle": null,
        "conExchMap": [],
        "assetClass": p.sec_type.code(),
        "undConid": und,
        "model": "",
    })
}

/// A position with its contract's details, as `/portfolio/{acct}/position/{conid}`
/// sends it once IBKR has loaded the contract (as recorded: the strike as text, the
/// multiplier `0.0` for stocks, then ticker, name, listing and kind).
fn loaded_position_json(acct: &str, p: &PositionValue, u: &Universe) -> serde_json::Value {
    let mut v = position_json(acct, p, u);
    let Some(i) = u.get(p.conid) else {
        return v;
    };
    let strike = match &i.kind {
        Kind::Option(o) => crate::market::dec(o.strike),
        _ => "0".to_string(),
    };
    let multiplier = match i.kind {
        Kind::Option(_) | Kind::Future(_) => num(i.multiplier),
        _ => serde_json::json!(0.0),
    };
    if let Some(m) = v.as_object_mut() {
        m.insert("strike".into(), strike.into());
        m.insert("multiplier".into(), multiplier);
        for (k, x) in [
            ("ticker", serde_json::json!(i.symbol)),
            ("name", serde_json::json!(i.name)),
            ("isUS", serde_json::json!(i.is_us())),
            ("isEventContract", serde_json::json!(false)),
            ("fullName", serde_json::json!(i.local_symbol)),
            (
                "listingExchange",
                serde_json::json!(crate::market::primary(i)),
            ),
            ("countryCode", serde_json::json!(i.country)),
            (
                "type",
                serde_json::json!(if i.is_etf() {
                    "ETF"
                } else if i.sec_type == crate::instruments::SecType::Stock {
                    "COMMON"
                } else {
                    ""
                }),
            ),
            (
                "hasOptions",
                serde_json::json!(!u.option_months(i.conid).is_empty()),
            ),
            ("pageSize", serde_json::json!(POSITIONS_PAGE)),
        ] {
            m.insert(k.into(), x);
        }
    }
    v
}

/// A position as `/portfolio2/{acct}/positions` sends it (as recorded: the conid as
/// text, `marketPrice`/`marketValue`, a timestamp in seconds; no sectors in the
/// universe, so `null`).
fn position2_json(p: &PositionValue, ts: i64) -> serde_json::Value {
    serde_json::json!({
        "position": num(p.quantity),
        "conid": p.conid.to_string(),
        "avgCost": num(p.avg_cost),
        "avgPrice": num(p.avg_price),
        "currency": p.currency,
        "description": p.description,
        "isLastToLoq": false,
        "marketPrice": num(p.mkt_price),
        "marketValue": num(p.mkt_value),
        "realizedPnl": num(p.realized_pnl),
        "secType": p.sec_type.code(),
        "timestamp": ts,
        "unrealizedPnl": num(p.unrealized_pnl),
        "assetClass": p.sec_type.code(),
        "sector": null,
        "group": null,
        "model": "",
    })
}

/// `GET /portfolio/{acct}/positions/{page}`: positions valued now, 100 a page, sorted
/// as the query asks (by name unless told otherwise); an empty list past the last
/// page.
pub(crate) async fn positions(
    State(gw): State<Shared>,
    Path((acct, page)): Path<(String, String)>,
    Q(q): Q<PositionsParams>,
) -> Result<Json<Vec<Position>>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let page: usize = page
        .parse()
        .map_err(|_| crate::market::bad(format!("Bad Request: page is not a number: {page}")))?;
    let broker = gw.broker();
    let mut list = valued(&gw, &broker, &acct, gw.market.now())?.positions;
    sort_positions(&mut list, &q)?;
    let u = broker.universe();
    list.iter()
        .skip(page.saturating_mul(POSITIONS_PAGE))
        .take(POSITIONS_PAGE)
        .map(|p| from_json(position_json(&acct, p, u)))
        .collect::<Result<_, _>>()
        .map(Json)
}

/// `GET /portfolio2/{acct}/positions`: every position valued now, no paging, sorted
/// as the query asks (by name unless told otherwise).
pub(crate) async fn positions2(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
    Q(q): Q<PositionsParams>,
) -> Result<Json<Vec<Position2>>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let now = gw.market.now();
    let broker = gw.broker();
    let mut list = valued(&gw, &broker, &acct, now)?.positions;
    sort_positions(&mut list, &q)?;
    list.iter()
        .map(|p| from_json(position2_json(p, now.timestamp())))
        .collect::<Result<_, _>>()
        .map(Json)
}

/// A conid in a path: a number, else IBKR's 400.
fn conid_param(conid: &str) -> Result<u32, ApiError> {
    conid
        .trim()
        .parse()
        .map_err(|_| crate::market::bad(format!("Bad Request: conid is not valid: {conid}")))
}

/// `GET /portfolio/{acct}/position/{conid}`: a list holding the account's position in
/// that contract, with the contract's details; empty when the account holds none.
pub(crate) async fn position(
    State(gw): State<Shared>,
    Path((acct, conid)): Path<(String, String)>,
) -> Result<Json<Vec<Position>>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let conid = conid_param(&conid)?;
    let broker = gw.broker();
    let v = valued(&gw, &broker, &acct, gw.market.now())?;
    v.positions
        .iter()
        .filter(|p| p.conid == conid)
        .map(|p| from_json(loaded_position_json(&acct, p, broker.universe())))
        .collect::<Result<_, _>>()
        .map(Json)
}

/// `GET /portfolio/positions/{conid}`: the position of every account of the login in
/// that contract, by account; accounts that hold none are left out.
pub(crate) async fn positions_by_conid(
    State(gw): State<Shared>,
    Path(conid): Path<String>,
) -> Result<Json<PositionsByAccount>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let conid = conid_param(&conid)?;
    let now = gw.market.now();
    let broker = gw.broker();
    let mut out = serde_json::Map::new();
    for a in broker.accounts() {
        if a.position(conid).is_none() {
            continue;
        }
        let v = valued(&gw, &broker, &a.id, now)?;
        let list: Vec<serde_json::Value> = v
            .positions
            .iter()
            .filter(|p| p.conid == conid)
            .map(|p| position_json(&a.id, p, broker.universe()))
            .collect();
        out.insert(a.id.clone(), list.into());
    }
    from_json(serde_json::Value::Object(out)).map(Json)
}

/// `POST /portfolio/{acct}/positions/invalidate`: IBKR drops its cached positions of
/// the account. The simulator values positions afresh on every call, so there is
/// nothing to drop: it checks the account and answers as recorded,
/// `{"message":"success"}` (IBKR's prose docs describe a list of positions; the
/// recordings win).
pub(crate) async fn invalidate_positions(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<InvalidateResponse>, ApiError> {
    need_sso(&gw)?;
    known_account(&gw.broker(), &acct)?;
    Ok(Json(InvalidateResponse::success()))
}

/// The query of `/portfolio/{acct}/combo/positions`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ComboParams {
    #[allow(dead_code)]
    nocache: Option<bool>,
}

/// `GET /portfolio/{acct}/combo/positions`: positions acquired as combinations. The
/// paper broker fills single contracts only, so an account never holds a combination
/// and the answer is the empty list (as recorded for an account without combos).
pub(crate) async fn combo_positions(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
    Q(_q): Q<ComboParams>,
) -> Result<Json<Vec<ComboPosition>>, ApiError> {
    need_sso(&gw)?;
    known_account(&gw.broker(), &acct)?;
    Ok(Json(Vec::new()))
}

/// As IBKR documents for /portfolio: a wrong account id is found late, and answered
/// 500 with the reason.
fn known_account<'b>(
    broker: &'b crate::broker::Broker,
    acct: &str,
) -> Result<&'b crate::broker::Account, ApiError> {
    broker
        .account(acct)
        .map_err(|_| ApiError::InternalOnly(format!("accountId is not valid: {acct}")))
}

/// The account valued at the price engine's prices at `now`.
fn valued(
    gw: &Shared,
    broker: &crate::broker::Broker,
    acct: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Valuation, ApiError> {
    known_account(broker, acct)?;
    broker
        .valuation_at(acct, &gw.market.engine, now)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `GET /portfolio/{acct}/summary`: IBKR's key → value-object map.
pub(crate) async fn summary(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<PortfolioSummary>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let v = valued(&gw, &gw.broker(), &acct, gw.market.now())?;
    let s = &v.summary;
    let ts = gw.market.now().timestamp();
    // As recorded: the amount as a number, and again as text in `value`.
    let amount = |d: Decimal| {
        serde_json::json!({
            "amount": num(d), "currency": s.base_currency, "isNull": false,
            "timestamp": ts, "value": d.normalize().to_string(), "severity": 0,
        })
    };
    let mut m = serde_json::Map::new();
    m.insert(
        "accountcode".into(),
        serde_json::json!({
            "amount": 0.0, "currency": null, "isNull": false,
            "timestamp": ts, "value": acct, "severity": 0,
        }),
    );
    for (key, d) in [
        ("netliquidation", s.net_liquidation),
        ("buyingpower", s.buying_power),
        ("totalcashvalue", s.total_cash),
        ("initmarginreq", s.init_margin),
        ("maintmarginreq", s.maint_margin),
        ("availablefunds", s.available_funds),
        ("excessliquidity", s.excess_liquidity),
        ("grosspositionvalue", s.gross_position_value),
        ("unrealizedpnl", s.unrealized_pnl),
        ("realizedpnl", s.realized_pnl),
    ] {
        m.insert(key.into(), amount(d));
    }
    from_json(serde_json::Value::Object(m)).map(Json)
}

/// `GET /portfolio/{acct}/ledger`: a ledger per currency, and `BASE` (all currencies
/// converted to the base currency).
pub(crate) async fn ledger(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<Ledger>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let v = valued(&gw, &gw.broker(), &acct, gw.market.now())?;
    let ts = gw.market.now().timestamp();
    let entry =
        |ccy: &str, cash: Decimal, rate: Decimal, stock: Decimal, net: Decimal, upnl: Decimal| {
            serde_json::json!({
                "commoditymarketvalue": 0.0, "futuremarketvalue": 0.0,
                "settledcash": num(cash), "exchangerate": rate_json(rate), "sessionid": 1,
                "cashbalance": num(cash), "corporatebondsmarketvalue": 0.0,
                "warrantsmarketvalue": 0.0, "netliquidationvalue": num(net), "interest": 0.0,
                "unrealizedpnl": num(upnl), "stockmarketvalue": num(stock), "moneyfunds": 0.0,
                "currency": ccy, "realizedpnl": 0.0, "funds": 0.0, "acctcode": acct,
                "issueroptionsmarketvalue": 0.0, "key": "LedgerList", "timestamp": ts,
                "severity": 0, "stockoptionmarketvalue": 0.0, "futuresonlypnl": 0.0,
                "tbondsmarketvalue": 0.0, "futureoptionmarketvalue": 0.0,
                "cashbalancefxsegment": 0.0, "secondkey": ccy, "tbillsmarketvalue": 0.0,
                "endofbundle": 1, "dividends": 0.0, "cryptocurrencyvalue": 0.0,
            })
        };
    // One row per currency the account holds cash or positions in. Each row is that
    // currency's cash and positions, in that currency, valued as the BASE row values
    // them: stocks and options at market value, futures at their unrealized P&L (what
    // they add to net liquidation). Converted at their rates, the rows add up to BASE.
    let mut rows: BTreeMap<String, LedgerRow> = BTreeMap::new();
    for c in &v.cash {
        let r = rows.entry(c.currency.clone()).or_default();
        r.cash += c.balance;
        r.rate = c.fx_rate;
    }
    for p in &v.positions {
        let r = rows.entry(p.currency.clone()).or_default();
        r.rate = p.fx_rate;
        r.upnl += p.unrealized_pnl;
        match p.sec_type {
            SecType::Future => r.futures += p.unrealized_pnl,
            SecType::Option => r.options += p.mkt_value,
            _ => r.stock += p.mkt_value,
        }
    }
    let mut m = serde_json::Map::new();
    for (ccy, r) in &rows {
        let mut e = entry(
            ccy,
            r.cash,
            r.rate,
            r.stock,
            r.cash + r.stock + r.options + r.futures,
            r.upnl,
        );
        e["stockoptionmarketvalue"] = num(r.options);
        e["futuremarketvalue"] = num(r.futures);
        m.insert(ccy.clone(), e);
    }
    let s = &v.summary;
    let mut base = entry(
        "BASE",
        s.total_cash,
        Decimal::ONE,
        s.stock_market_value,
        s.net_liquidation,
        s.unrealized_pnl,
    );
    base["stockoptionmarketvalue"] = num(s.option_market_value);
    base["futuremarketvalue"] = num(s.future_market_value);
    m.insert("BASE".into(), base);
    from_json(serde_json::Value::Object(m)).map(Json)
}

/// One currency's figures in `/portfolio/{acct}/ledger`, in that currency.
#[derive(Debug, Default)]
struct LedgerRow {
    cash: Decimal,
    rate: Decimal,
    stock: Decimal,
    options: Decimal,
    futures: Decimal,
    upnl: Decimal,
}

/// `GET /portfolio/subaccounts`: the accounts of an advisor login (the master and its
/// sub-accounts); for a single account, that account (as the recording shows).
pub(crate) async fn subaccounts(
    State(gw): State<Shared>,
) -> Result<Json<Vec<PortfolioAccount>>, ApiError> {
    need_sso(&gw)?;
    let broker = gw.broker();
    let mut out = Vec::new();
    for a in broker.accounts() {
        out.push(from_json(subaccount_json(a))?);
    }
    Ok(Json(out))
}

/// An account as `/portfolio/subaccounts` and `/portfolio/subaccounts2` list it.
fn subaccount_json(a: &crate::broker::Account) -> serde_json::Value {
    let mut v = account_json(a);
    // As recorded: the portfolio view of sub-accounts has no brokerage access.
    v["brokerageAccess"] = false.into();
    v
}

/// Market value by name, long and short apart (short values negative), as the splits
/// of IBKR's allocation answers.
#[derive(Debug, Default)]
struct Split {
    long: BTreeMap<String, Decimal>,
    short: BTreeMap<String, Decimal>,
}

impl Split {
    /// Adds `value` under `key`, on the side its sign says; zero adds nothing.
    fn add(&mut self, key: &str, value: Decimal) {
        if value.is_zero() {
            return;
        }
        let side = if value.is_sign_positive() {
            &mut self.long
        } else {
            &mut self.short
        };
        *side.entry(key.to_string()).or_default() += value;
    }

    /// Adds every value of `other`, converted at `rate` (to the cent).
    fn add_all(&mut self, other: &Split, rate: Decimal) {
        for (k, v) in other.long.iter().chain(&other.short) {
            self.add(k, crate::broker::money(*v * rate));
        }
    }

    fn json(&self) -> serde_json::Value {
        let m = |x: &BTreeMap<String, Decimal>| {
            x.iter()
                .map(|(k, v)| (k.clone(), num(*v)))
                .collect::<serde_json::Map<_, _>>()
        };
        serde_json::json!({ "long": m(&self.long), "short": m(&self.short) })
    }
}

/// An allocation as IBKR sends it: by asset class (cash included), sector and group.
#[derive(Debug, Default)]
struct WireAllocation {
    asset_class: Split,
    sector: Split,
    group: Split,
}

impl WireAllocation {
    /// One account's allocation, in its base currency. The universe has no sectors
    /// nor industry groups: positions go under `Others`, as IBKR files unclassified
    /// holdings (as recorded: positions only, cash is in neither).
    fn of(v: &Valuation) -> WireAllocation {
        let a = v.allocation();
        let mut w = WireAllocation::default();
        for (k, x) in a.asset_class.long.iter().chain(&a.asset_class.short) {
            w.asset_class.add(k, *x);
            if k != "CASH" {
                w.sector.add("Others", *x);
                w.group.add("Others", *x);
            }
        }
        w
    }

    /// Adds another allocation, converted at `rate`.
    fn add_all(&mut self, other: &WireAllocation, rate: Decimal) {
        self.asset_class.add_all(&other.asset_class, rate);
        self.sector.add_all(&other.sector, rate);
        self.group.add_all(&other.group, rate);
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "assetClass": self.asset_class.json(),
            "sector": self.sector.json(),
            "group": self.group.json(),
        })
    }
}

/// `GET /portfolio/{acct}/allocation`: positions (and cash) by asset class, sector and
/// group, in the base currency.
pub(crate) async fn allocation(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<Allocation>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let v = valued(&gw, &gw.broker(), &acct, gw.market.now())?;
    from_json(WireAllocation::of(&v).json()).map(Json)
}

/// `POST /portfolio/allocation` body `{"acctIds": [...]}`: the consolidated
/// allocation of those accounts, shaped as `/portfolio/{acct}/allocation`: per split
/// and name, the sum of the accounts' allocations (long with long, short with short).
/// Accounts are valued at one instant, and each account's figures are converted from
/// its base currency into that of the first account listed, at the price engine's
/// rates, to the cent. An account listed twice counts once; an unknown account is
/// refused as on every /portfolio call.
pub(crate) async fn allocation_for_accounts(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<Allocation>, ApiError> {
    need_sso(&gw)?;
    gw.advance_orders();
    let req: AccountsRequest = serde_json::from_slice(&body).map_err(|e| {
        crate::market::bad(format!(
            "Bad Request: body must be {{\"acctIds\": [\"...\"]}}: {e}"
        ))
    })?;
    let mut ids: Vec<&str> = Vec::new();
    for id in &req.acct_ids {
        if !ids.contains(&id.as_str()) {
            ids.push(id.as_str());
        }
    }
    let Some(first) = ids.first() else {
        return Err(crate::market::bad("Bad Request: acctIds is empty"));
    };
    let now = gw.market.now();
    let broker = gw.broker();
    let target = known_account(&broker, first)?.base_currency.clone();
    let marks = crate::broker::engine_marks(&gw.market.engine, now);
    let mut total = WireAllocation::default();
    for id in &ids {
        let v = valued(&gw, &broker, id, now)?;
        let rate = broker
            .fx_rate(&v.summary.base_currency, &target, &marks)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        total.add_all(&WireAllocation::of(&v), rate);
    }
    from_json(total.json()).map(Json)
}

/// Accounts per page of `/portfolio/subaccounts2`, as IBKR documents.
pub(crate) const SUBACCOUNTS_PAGE: usize = 20;

/// The query of `/portfolio/subaccounts2`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct SubAccountsParams {
    page: Option<String>,
}

/// `GET /portfolio/subaccounts2?page=N`: the accounts of `/portfolio/subaccounts`,
/// 20 a page from page 0.
///
/// Which form: IBKR documents this endpoint for tiered structures (advisors) and
/// describes a page object `{metadata: {total, pageSize, pageNum}, subaccounts}`; the
/// one recording, from an individual (non-tiered) login, is a plain list, the same as
/// `/portfolio/subaccounts`. The recording says what a non-tiered login gets and
/// nothing about advisors, so the simulator serves both as far as each is known: an
/// advisor login gets the documented page, any other login the recorded list (its
/// page 0; later pages are empty). `page` is required, as documented.
pub(crate) async fn subaccounts2(
    State(gw): State<Shared>,
    Q(q): Q<SubAccountsParams>,
) -> Result<Json<SubAccounts2>, ApiError> {
    need_sso(&gw)?;
    let page = q
        .page
        .ok_or_else(|| crate::market::bad("Bad Request: page is required"))?;
    let page: usize = page
        .trim()
        .parse()
        .map_err(|_| crate::market::bad(format!("Bad Request: page is not a number: {page}")))?;
    let broker = gw.broker();
    let accounts = broker.accounts();
    let list = |skip: usize, take: usize| -> Vec<serde_json::Value> {
        accounts
            .iter()
            .skip(skip)
            .take(take)
            .map(subaccount_json)
            .collect()
    };
    let advisor = accounts
        .iter()
        .any(|a| a.account_type == AccountType::Advisor);
    let v = if advisor {
        serde_json::json!({
            "metadata": {
                "total": accounts.len(),
                "pageSize": SUBACCOUNTS_PAGE,
                "pageNum": page,
            },
            "subaccounts": list(page.saturating_mul(SUBACCOUNTS_PAGE), SUBACCOUNTS_PAGE),
        })
    } else if page == 0 {
        list(0, accounts.len()).into()
    } else {
        serde_json::json!([])
    };
    from_json(v).map(Json)
}
