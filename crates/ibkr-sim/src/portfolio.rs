//! Portfolio endpoints, served from the paper broker valued at the price engine's
//! prices: `/portfolio/accounts`, `/portfolio/{acct}/summary`, `/portfolio/{acct}/ledger`.

use axum::Json;
use axum::extract::{Path, State};
use ibkr_model::portfolio::{Ledger, PortfolioAccount, PortfolioSummary, Position};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::broker::{AccountType, Valuation};
use crate::gateway::Shared;
use crate::http::ApiError;
use crate::market::{from_json, need_sso};

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

/// `GET /portfolio/{acct}/positions/{page}`: positions valued now, 100 a page, in
/// conid order; an empty list past the last page.
pub(crate) async fn positions(
    State(gw): State<Shared>,
    Path((acct, page)): Path<(String, String)>,
) -> Result<Json<Vec<Position>>, ApiError> {
    need_sso(&gw)?;
    let page: usize = page
        .parse()
        .map_err(|_| crate::market::bad(format!("Bad Request: page is not a number: {page}")))?;
    let v = valued(&gw, &acct)?;
    let mut list = v.positions.clone();
    list.sort_by_key(|p| p.conid);
    let broker = gw.broker();
    let u = broker.universe();
    let mut out = Vec::new();
    for p in list.iter().skip(page * POSITIONS_PAGE).take(POSITIONS_PAGE) {
        let inst = u.get(p.conid);
        let (expiry, put_or_call, strike, und) = match inst.map(|i| &i.kind) {
            Some(crate::instruments::Kind::Option(o)) => (
                serde_json::json!(o.expiry.format("%Y%m%d").to_string()),
                serde_json::json!(match o.right {
                    crate::instruments::Right::Call => "C",
                    crate::instruments::Right::Put => "P",
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
        out.push(from_json(serde_json::json!({
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
        }))?);
    }
    Ok(Json(out))
}

fn valued(gw: &Shared, acct: &str) -> Result<Valuation, ApiError> {
    let broker = gw.broker();
    // As IBKR documents for /portfolio: a wrong account id is found late, and answered
    // 500 with the reason.
    broker
        .account(acct)
        .map_err(|_| ApiError::InternalOnly(format!("accountId is not valid: {acct}")))?;
    broker
        .valuation_at(acct, &gw.market.engine, gw.market.now())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// `GET /portfolio/{acct}/summary`: IBKR's key → value-object map.
pub(crate) async fn summary(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<PortfolioSummary>, ApiError> {
    need_sso(&gw)?;
    let v = valued(&gw, &acct)?;
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
    let v = valued(&gw, &acct)?;
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
    let mut m = serde_json::Map::new();
    for c in &v.cash {
        let stock: Decimal = v
            .positions
            .iter()
            .filter(|p| p.currency == c.currency)
            .map(|p| p.mkt_value)
            .sum();
        let upnl: Decimal = v
            .positions
            .iter()
            .filter(|p| p.currency == c.currency)
            .map(|p| p.unrealized_pnl)
            .sum();
        m.insert(
            c.currency.clone(),
            entry(
                &c.currency,
                c.balance,
                c.fx_rate,
                stock,
                c.balance + stock,
                upnl,
            ),
        );
    }
    let s = &v.summary;
    m.insert(
        "BASE".into(),
        entry(
            "BASE",
            s.total_cash,
            Decimal::ONE,
            s.stock_market_value,
            s.net_liquidation,
            s.unrealized_pnl,
        ),
    );
    from_json(serde_json::Value::Object(m)).map(Json)
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
        let mut v = account_json(a);
        // As recorded: the portfolio view of sub-accounts has no brokerage access.
        v["brokerageAccess"] = false.into();
        out.push(from_json(v)?);
    }
    Ok(Json(out))
}

/// `GET /portfolio/{acct}/allocation`: positions (and cash) by asset class, sector and
/// group, in the base currency. The universe has no sectors: `Others`, as IBKR sends
/// for unclassified holdings.
pub(crate) async fn allocation(
    State(gw): State<Shared>,
    Path(acct): Path<String>,
) -> Result<Json<ibkr_model::portfolio::Allocation>, ApiError> {
    need_sso(&gw)?;
    let v = valued(&gw, &acct)?;
    let a = v.allocation();
    let split = |long: &std::collections::BTreeMap<String, Decimal>,
                 short: &std::collections::BTreeMap<String, Decimal>| {
        let m = |x: &std::collections::BTreeMap<String, Decimal>| {
            x.iter()
                .map(|(k, v)| (k.clone(), num(*v)))
                .collect::<serde_json::Map<_, _>>()
        };
        serde_json::json!({ "long": m(long), "short": m(short) })
    };
    let mut others_long = std::collections::BTreeMap::new();
    let mut others_short = std::collections::BTreeMap::new();
    let positions_long: Decimal = a
        .asset_class
        .long
        .iter()
        .filter(|(k, _)| k.as_str() != "CASH")
        .map(|(_, v)| *v)
        .sum();
    let positions_short: Decimal = a.asset_class.short.values().copied().sum();
    if !positions_long.is_zero() {
        others_long.insert("Others".to_string(), positions_long);
    }
    if !positions_short.is_zero() {
        others_short.insert("Others".to_string(), positions_short);
    }
    from_json(serde_json::json!({
        "assetClass": split(&a.asset_class.long, &a.asset_class.short),
        "sector": split(&others_long, &others_short),
        "group": split(&others_long, &others_short),
    }))
    .map(Json)
}
