//! Contracts, served from the instrument universe: search, strikes, option
//! definitions, contract details and rules, algos, currency pairs, exchange rates,
//! `/trsrv/*` definitions and schedules, bond filters.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, State};
use chrono::Datelike;
use ibkr_model::contracts::{
    Conid, ContractInfo, CurrencyPair, CurrencyPairs, ExchangeRate, SearchSection, SecDefInfo,
    SecDefInfoResponse, SecDefSearchRequest, SecDefSearchResult, SecType as WireSecType, Stocks,
    Strikes,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use crate::gateway::Shared;
use crate::http::ApiError;
use crate::instruments::{Instrument, Kind, Right, SecType};

use crate::market::{
    Q, bad, dec, from_json, instrument, need_brokerage, need_sso, option_text, primary,
    trading_class, wire_sec_type,
};

fn search_result(gw: &Shared, i: &Instrument) -> SecDefSearchResult {
    let mut own = SearchSection::new(wire_sec_type(i.sec_type));
    if !i.is_us() {
        // As IBKR lists a foreign listing: its exchange, `;`-terminated.
        own.exchange = Some(format!("{};", primary(i)));
    }
    let mut sections = vec![own];
    let months = gw.market.universe.option_months(i.conid);
    if !months.is_empty() {
        let mut s = SearchSection::new(WireSecType::Opt);
        s.months = Some(
            months
                .iter()
                .map(|m| m.code.clone())
                .collect::<Vec<_>>()
                .join(";"),
        );
        s.exchange = Some("SMART;AMEX;BOX;CBOE;ISE;PHLX".into());
        sections.push(s);
    }
    // IBKR names the primary exchange without NASDAQ's market tier (`NASDAQ`, not
    // `NASDAQ.NMS`).
    let primary = primary(i);
    let mut r = SecDefSearchResult::new(
        Conid(i64::from(i.conid)),
        format!("{} - {primary}", i.name),
        sections,
    );
    r.company_name = Some(i.name.clone());
    r.symbol = Some(i.symbol.clone());
    r.description = Some(primary);
    r.restricted = None;
    r
}

fn search(gw: &Shared, req: &SecDefSearchRequest) -> Result<Vec<SecDefSearchResult>, ApiError> {
    need_brokerage(gw)?;
    let q = req.symbol.trim();
    if q.is_empty() {
        return Err(bad("Bad Request: symbol required"));
    }
    let u = &gw.market.universe;
    // A numeric query is a conid (used to list an underlying's derivatives).
    let found: Vec<&Instrument> = match q.parse::<u32>() {
        Ok(c) => u.get(c).into_iter().collect(),
        Err(_) => u.search(q),
    };
    let by_name = req.name == Some(true);
    Ok(found
        .into_iter()
        .filter(|i| !matches!(i.kind, Kind::Option(_) | Kind::Future(_)))
        .filter(|i| {
            by_name
                || q.parse::<u32>().is_ok()
                || i.symbol
                    .to_ascii_uppercase()
                    .starts_with(&q.to_ascii_uppercase())
        })
        .filter(|i| match &req.sec_type {
            Some(WireSecType::Ind) => i.sec_type == SecType::Index,
            _ => true,
        })
        .map(|i| search_result(gw, i))
        .collect())
}

/// `GET /iserver/secdef/search`.
pub(crate) async fn search_get(
    State(gw): State<Shared>,
    Q(req): Q<SecDefSearchRequest>,
) -> Result<Json<Vec<SecDefSearchResult>>, ApiError> {
    search(&gw, &req).map(Json)
}

/// `POST /iserver/secdef/search`.
pub(crate) async fn search_post(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<Vec<SecDefSearchResult>>, ApiError> {
    let req: SecDefSearchRequest = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "Bad Request: body must be {{\"symbol\": ...}}: {e}"
        ))
    })?;
    search(&gw, &req).map(Json)
}

#[derive(Deserialize)]
pub(crate) struct StrikesQuery {
    conid: i64,
    sectype: String,
    month: String,
}

/// `GET /iserver/secdef/strikes`.
pub(crate) async fn strikes(
    State(gw): State<Shared>,
    Q(q): Q<StrikesQuery>,
) -> Result<Json<Strikes>, ApiError> {
    need_brokerage(&gw)?;
    let i = instrument(&gw, q.conid)?;
    if !q.sectype.eq_ignore_ascii_case("OPT") {
        return Err(bad(format!(
            "Bad Request: no {} strikes for {}",
            q.sectype, i.symbol
        )));
    }
    let month = q.month.to_ascii_uppercase();
    let s = gw.market.universe.strikes(i.conid, &month);
    if s.is_empty() {
        return Err(bad(format!(
            "Bad Request: no options on {} expiring in {month}",
            i.symbol
        )));
    }
    Ok(Json(Strikes::new(s.clone(), s)))
}

#[derive(Deserialize)]
pub(crate) struct InfoQuery {
    conid: i64,
    #[serde(default)]
    sectype: Option<String>,
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    strike: Option<String>,
    #[serde(default)]
    right: Option<String>,
}

/// `GET /iserver/secdef/info`.
pub(crate) async fn secdef_info(
    State(gw): State<Shared>,
    Q(q): Q<InfoQuery>,
) -> Result<Json<SecDefInfoResponse>, ApiError> {
    need_brokerage(&gw)?;
    let und = instrument(&gw, q.conid)?;
    let u = &gw.market.universe;
    let is_opt = q
        .sectype
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("OPT"));
    let found: Vec<&Instrument> = if is_opt {
        let month = q
            .month
            .as_deref()
            .ok_or_else(|| bad("Bad Request: month required for options"))?
            .to_ascii_uppercase();
        let strike = q
            .strike
            .as_deref()
            .map(Decimal::from_str)
            .transpose()
            .map_err(|_| bad("Bad Request: strike is not a number"))?;
        let right = q
            .right
            .as_deref()
            .map(|r| match r.to_ascii_uppercase().as_str() {
                "C" | "CALL" => Ok(Right::Call),
                "P" | "PUT" => Ok(Right::Put),
                _ => Err(bad("Bad Request: right must be C or P")),
            })
            .transpose()?;
        u.option_contracts(und.conid, &month, strike, right)
    } else {
        vec![und]
    };
    if found.is_empty() {
        return Err(bad("Bad Request: no contracts match"));
    }
    Ok(Json(SecDefInfoResponse::Many(
        found
            .into_iter()
            .map(|i| secdef(&gw, i))
            .collect::<Result<_, _>>()?,
    )))
}

fn secdef(gw: &Shared, i: &Instrument) -> Result<SecDefInfo, ApiError> {
    let company = i
        .underlying_conid()
        .and_then(|u| gw.market.universe.get(u))
        .map(|u| u.name.clone())
        .unwrap_or_else(|| i.name.clone());
    let mut v = serde_json::json!({
        "conid": i.conid,
        "symbol": i.symbol,
        "companyName": company,
        "secType": i.sec_type.code(),
        "exchange": "SMART",
        "listingExchange": null,
        "currency": i.currency,
        "cusip": null,
        "coupon": "No Coupon",
        "desc1": i.symbol,
        "desc2": i.description(),
        "validExchanges": i.valid_exchanges.join(","),
    });
    if let Kind::Option(o) = &i.kind {
        v["right"] = match o.right {
            Right::Call => "C",
            Right::Put => "P",
        }
        .into();
        v["strike"] = serde_json::json!(o.strike.to_f64().unwrap_or(0.0));
        v["desc2"] = option_text(o).into();
        v["maturityDate"] = o.expiry.format("%Y%m%d").to_string().into();
        v["multiplier"] = dec(i.multiplier).into();
        v["tradingClass"] = i.symbol.clone().into();
    }
    from_json(v)
}

/// The details of an instrument as `/iserver/contract/{conid}/info` sends them.
fn info_json(i: &Instrument) -> serde_json::Value {
    let is_stock = i.sec_type == SecType::Stock;
    let mut v = serde_json::json!({
        "cfi_code": "",
        "symbol": i.symbol,
        "cusip": null,
        "expiry_full": null,
        "con_id": i.conid,
        "maturity_date": null,
        "instrument_type": i.sec_type.code(),
        "has_related_contracts": is_stock || i.sec_type == SecType::Index,
        "trading_class": trading_class(i),
        "valid_exchanges": i.valid_exchanges.join(","),
        "allow_sell_long": false,
        "is_zero_commission_security": false,
        "local_symbol": i.local_symbol,
        "contract_clarification_type": null,
        "classifier": null,
        "currency": i.currency,
        "text": null,
        "underlying_con_id": i.underlying_conid().unwrap_or(0),
        "r_t_h": true,
        "multiplier": null,
        "underlying_issuer": null,
        "contract_month": null,
        "company_name": i.name,
        "smart_available": i.valid_exchanges.iter().any(|e| e == "SMART"),
        "exchange": if i.valid_exchanges.iter().any(|e| e == "SMART") { "SMART".to_string() } else { i.exchange.clone() },
    });
    match &i.kind {
        Kind::Option(o) => {
            v["expiry_full"] = o.expiry.format("%Y%m%d").to_string().into();
            v["maturity_date"] = o.expiry.format("%Y%m%d").to_string().into();
            v["text"] = option_text(o).into();
            v["contract_month"] = o.expiry.format("%Y%m").to_string().into();
            v["multiplier"] = dec(i.multiplier).into();
            v["strike"] = serde_json::json!(o.strike.to_f64().unwrap_or(0.0));
            v["right"] = match o.right {
                Right::Call => "C",
                Right::Put => "P",
            }
            .into();
        }
        Kind::Future(f) => {
            v["expiry_full"] = f.expiry.format("%Y%m%d").to_string().into();
            v["maturity_date"] = f.expiry.format("%Y%m%d").to_string().into();
            v["contract_month"] = f.expiry.format("%Y%m").to_string().into();
            v["multiplier"] = dec(i.multiplier).into();
        }
        _ => {}
    }
    v
}

/// `GET /iserver/contract/{conid}/info`.
pub(crate) async fn contract_info(
    State(gw): State<Shared>,
    Path(conid): Path<String>,
) -> Result<Json<ContractInfo>, ApiError> {
    need_brokerage(&gw)?;
    let n: i64 = conid
        .parse()
        .map_err(|_| bad(format!("Bad Request: conid is not valid: {conid}")))?;
    let i = instrument(&gw, n)?;
    from_json(info_json(i)).map(Json)
}

#[derive(Deserialize)]
pub(crate) struct CurrencyQuery {
    currency: String,
}

/// `GET /iserver/currency/pairs`.
pub(crate) async fn currency_pairs(
    State(gw): State<Shared>,
    Q(q): Q<CurrencyQuery>,
) -> Result<Json<CurrencyPairs>, ApiError> {
    need_brokerage(&gw)?;
    let ccy = q.currency.to_ascii_uppercase();
    let pairs: Vec<CurrencyPair> = gw
        .market
        .universe
        .fx_pairs(&ccy)
        .into_iter()
        .filter_map(|i| {
            let Kind::Forex { base, quote } = &i.kind else {
                return None;
            };
            // As IBKR: the pair's local symbol, and the currency on the other side.
            let other = if *base == ccy { quote } else { base };
            Some(CurrencyPair::new(
                i.local_symbol.clone(),
                Conid(i64::from(i.conid)),
                other.clone(),
            ))
        })
        .collect();
    Ok(Json(BTreeMap::from([(ccy, pairs)])))
}

#[derive(Deserialize)]
pub(crate) struct RateQuery {
    source: String,
    target: String,
}

/// `GET /iserver/exchangerate`.
pub(crate) async fn exchange_rate(
    State(gw): State<Shared>,
    Q(q): Q<RateQuery>,
) -> Result<Json<ExchangeRate>, ApiError> {
    need_brokerage(&gw)?;
    let (s, t) = (q.source.to_ascii_uppercase(), q.target.to_ascii_uppercase());
    if s == t {
        return Ok(Json(ExchangeRate::new(Decimal::ONE)));
    }
    let now = gw.market.now();
    let u = &gw.market.universe;
    for i in u.fx_pairs(&s) {
        if let Kind::Forex { base, quote } = &i.kind {
            let Some(p) = gw.market.engine.price(i.conid, now) else {
                continue;
            };
            if *base == s && *quote == t {
                return Ok(Json(ExchangeRate::new(p)));
            }
            if *base == t && *quote == s && !p.is_zero() {
                return Ok(Json(ExchangeRate::new((Decimal::ONE / p).round_dp(8))));
            }
        }
    }
    Err(bad(format!("Bad Request: no rate from {s} to {t}")))
}

#[derive(Deserialize)]
pub(crate) struct SymbolsQuery {
    symbols: String,
}

/// `GET /trsrv/stocks`.
pub(crate) async fn trsrv_stocks(
    State(gw): State<Shared>,
    Q(q): Q<SymbolsQuery>,
) -> Result<Json<Stocks>, ApiError> {
    need_sso(&gw)?;
    let mut out = serde_json::Map::new();
    for sym in q
        .symbols
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let mut by_name: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for i in gw.market.universe.by_symbol(
            sym,
            &crate::instruments::SymbolFilter::any().sec_type(SecType::Stock),
        ) {
            by_name
                .entry(i.name.clone())
                .or_default()
                .push(serde_json::json!({
                    "conid": i.conid, "exchange": primary(i), "isUS": i.is_us()
                }));
        }
        let entries: Vec<serde_json::Value> = by_name
            .into_iter()
            .map(|(name, contracts)| {
                serde_json::json!({
                    "name": name,
                    "chineseName": name,
                    "assetClass": "STK",
                    "contracts": contracts,
                })
            })
            .collect();
        out.insert(sym.to_ascii_uppercase(), entries.into());
    }
    from_json(out.into()).map(Json)
}

#[derive(Deserialize)]
pub(crate) struct ScheduleQuery {
    conid: i64,
    #[serde(default)]
    exchange: Option<String>,
}

/// `GET /contract/trading-schedule`: the trading days around today, epoch seconds.
pub(crate) async fn trading_schedule(
    State(gw): State<Shared>,
    Q(q): Q<ScheduleQuery>,
) -> Result<Json<ibkr_model::contracts::TradingSchedule>, ApiError> {
    need_sso(&gw)?;
    let i = instrument(&gw, q.conid)?;
    // Every exchange of a market follows the same hours here (ISLAND, NASDAQ, SMART...).
    let _ = &q.exchange;
    let sched = &i.schedule;
    // IBKR names zones the old way.
    let tz = match sched.time_zone.name() {
        "America/New_York" => "US/Eastern",
        "America/Chicago" => "US/Central",
        other => other,
    };
    let mut out = ibkr_model::contracts::TradingSchedule::new(tz);
    let today = sched.trading_day_at(gw.market.now());
    let mut days = vec![today];
    let (mut back, mut fwd) = (today, today);
    for _ in 0..3 {
        back = sched.previous_trading_day(back);
        days.push(back);
    }
    for _ in 0..2 {
        fwd = sched.next_trading_day(fwd);
        days.push(fwd);
    }
    days.sort();
    for day in days {
        let mut d = ibkr_model::contracts::TradingDay::default();
        if let Some(s) = sched.regular_session(day) {
            d.liquid_hours = Some(vec![ibkr_model::contracts::TradingHours::new(
                s.open.timestamp(),
                s.close.timestamp(),
            )]);
        }
        if let Some(s) = sched.extended_session(day) {
            let mut h =
                ibkr_model::contracts::TradingHours::new(s.open.timestamp(), s.close.timestamp());
            h.cancel_daily_orders = Some(true);
            d.extended_hours = Some(vec![h]);
        }
        out.schedules.insert(day.format("%Y%m%d").to_string(), d);
    }
    Ok(Json(out))
}

/// `GET /trsrv/futures`: non-expired futures by symbol.
pub(crate) async fn trsrv_futures(
    State(gw): State<Shared>,
    Q(q): Q<SymbolsQuery>,
) -> Result<Json<ibkr_model::contracts::Futures>, ApiError> {
    need_sso(&gw)?;
    let today = gw.market.now().date_naive();
    let mut out = ibkr_model::contracts::Futures::new();
    for sym in q
        .symbols
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let list = gw
            .market
            .universe
            .futures(&sym.to_ascii_uppercase())
            .into_iter()
            .filter_map(|i| {
                let Kind::Future(f) = &i.kind else {
                    return None;
                };
                if f.expiry < today {
                    return None;
                }
                let ymd = |d: chrono::NaiveDate| {
                    d.format("%Y%m%d").to_string().parse::<u32>().unwrap_or(0)
                };
                let mut c = ibkr_model::contracts::FutureContract::new(
                    i.symbol.clone(),
                    Conid(i64::from(i.conid)),
                    Conid(i64::from(f.underlying_conid)),
                    ymd(f.expiry),
                );
                c.ltd = ymd(f.last_trading_day);
                c.short_futures_cut_off = c.ltd;
                c.long_futures_cut_off = c.ltd;
                Some(c)
            })
            .collect();
        out.insert(sym.to_ascii_uppercase(), list);
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub(crate) struct ConidsQuery {
    conids: String,
}

/// `GET /trsrv/secdef`: security definitions of contracts.
pub(crate) async fn trsrv_secdef(
    State(gw): State<Shared>,
    Q(q): Q<ConidsQuery>,
) -> Result<Json<ibkr_model::contracts::TrsrvSecDefResponse>, ApiError> {
    need_sso(&gw)?;
    let mut list = Vec::new();
    for c in q.conids.split(',').filter(|s| !s.trim().is_empty()) {
        let n: i64 = c
            .trim()
            .parse()
            .map_err(|_| bad(format!("Bad Request: conid is not valid: {c}")))?;
        let i = instrument(&gw, n)?;
        let has_options = !gw.market.universe.option_months(i.conid).is_empty();
        let (expiry, strike, put_or_call) = match &i.kind {
            Kind::Option(o) => (
                serde_json::json!(o.expiry.format("%Y%m%d").to_string()),
                dec(o.strike),
                serde_json::json!(match o.right {
                    Right::Call => "C",
                    Right::Put => "P",
                }),
            ),
            Kind::Future(f) => (
                serde_json::json!(f.expiry.format("%Y%m%d").to_string()),
                "0".to_string(),
                serde_json::Value::Null,
            ),
            _ => (
                serde_json::Value::Null,
                "0".to_string(),
                serde_json::Value::Null,
            ),
        };
        list.push(serde_json::json!({
            "conid": i.conid,
            "currency": i.currency,
            "name": i.name,
            "assetClass": i.sec_type.code(),
            "expiry": expiry,
            "lastTradingDay": null,
            "group": null,
            "putOrCall": put_or_call,
            "sector": null,
            "sectorGroup": null,
            "strike": strike,
            "ticker": i.symbol,
            "undConid": i.underlying_conid().unwrap_or(0),
            "multiplier": if matches!(i.kind, Kind::Option(_) | Kind::Future(_)) { i.multiplier.to_f64().unwrap_or(0.0) } else { 0.0 },
            "type": if i.is_etf() { "ETF" } else if i.sec_type == SecType::Stock { "COMMON" } else { "" },
            "hasOptions": has_options,
            "fullName": i.local_symbol,
            "isUS": i.is_us(),
            "isEventContract": false,
            "listingExchange": primary(i),
            "countryCode": i.country,
        }));
    }
    from_json(serde_json::json!({ "secdef": list })).map(Json)
}

/// Order rules of an instrument, as IBKR sends them, with the price defaults taken
/// from the market now.
fn rules_json(gw: &Shared, i: &Instrument) -> serde_json::Value {
    let price = gw
        .market
        .engine
        .price(i.conid, gw.market.now())
        .and_then(|p| p.to_f64())
        .unwrap_or(0.0);
    let (default_size, size_increment) = match i.sec_type {
        SecType::Forex => (25_000, 1),
        SecType::Stock => (100, 100),
        _ => (1, 1),
    };
    serde_json::json!({
        "algoEligible": i.sec_type == SecType::Stock,
        "allOrNoneEligible": i.sec_type == SecType::Stock,
        "orderTypes": ["limit", "midprice", "market", "stop", "stop_limit"],
        "tifTypes": ["DAY/o,a", "GTC/o,a"],
        "defaultSize": default_size,
        "cashSize": 0.0,
        "sizeIncrement": size_increment,
        "limitPrice": price,
        "stopprice": price,
        "preview": true,
        "cashCcy": i.currency,
        "increment": i.tick.to_f64().unwrap_or(0.01),
        "incrementDigits": i.tick.scale(),
    })
}

/// `GET /iserver/contract/{conid}/info-and-rules`.
pub(crate) async fn info_and_rules(
    State(gw): State<Shared>,
    Path(conid): Path<String>,
) -> Result<Json<ibkr_model::contracts::ContractInfoAndRules>, ApiError> {
    need_brokerage(&gw)?;
    let n: i64 = conid
        .parse()
        .map_err(|_| bad(format!("Bad Request: conid is not valid: {conid}")))?;
    let i = instrument(&gw, n)?;
    let mut v = info_json(i);
    // As in the recording: no null-valued keys here, plus industry and category.
    if let Some(m) = v.as_object_mut() {
        m.retain(|_, x| !x.is_null());
        if i.sec_type == SecType::Stock {
            m.insert("industry".into(), "Computers".into());
            m.insert("category".into(), "Computers".into());
        }
        m.insert("rules".into(), rules_json(&gw, i));
    }
    from_json(v).map(Json)
}

/// `POST /iserver/contract/rules`.
pub(crate) async fn contract_rules(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<ibkr_model::contracts::ContractRules>, ApiError> {
    need_brokerage(&gw)?;
    let req: ibkr_model::contracts::ContractRulesRequest =
        serde_json::from_slice(&body).map_err(|e| {
            bad(format!(
                "Bad Request: body must be {{\"conid\": N, \"isBuy\": bool}}: {e}"
            ))
        })?;
    let i = instrument(&gw, req.conid.0)?;
    let mut v = rules_json(&gw, i);
    if let Some(m) = v.as_object_mut() {
        m.remove("tifTypes");
        m.remove("preview");
        m.insert("costReport".into(), false.into());
        m.insert(
            "canTradeAcctIds".into(),
            serde_json::json!(
                gw.broker()
                    .accounts()
                    .iter()
                    .map(|a| a.id.clone())
                    .collect::<Vec<_>>()
            ),
        );
        m.insert("error".into(), serde_json::Value::Null);
        m.insert("negativeCapable".into(), false.into());
        m.insert("hasSecondary".into(), false.into());
    }
    from_json(v).map(Json)
}

/// `GET /iserver/contract/{conid}/algos`: IB algos for stocks.
#[derive(Deserialize, Default)]
pub(crate) struct AlgosQuery {
    #[serde(default, rename = "addDescription")]
    add_description: Option<String>,
    #[serde(default, rename = "addParams")]
    add_params: Option<String>,
}

pub(crate) async fn algos(
    State(gw): State<Shared>,
    Path(conid): Path<String>,
    Q(q): Q<AlgosQuery>,
) -> Result<Json<ibkr_model::contracts::Algos>, ApiError> {
    need_brokerage(&gw)?;
    let n: i64 = conid
        .parse()
        .map_err(|_| bad(format!("Bad Request: conid is not valid: {conid}")))?;
    let i = instrument(&gw, n)?;
    let params = q.add_params.as_deref() == Some("1");
    let descr = q.add_description.as_deref() == Some("1");
    let mut list = if i.sec_type == SecType::Stock {
        serde_json::json!([
            {"name": "Adaptive", "id": "Adaptive", "parameters": [{"guiRank": 1, "defaultValue": "Normal",
              "name": "Adaptive order priority/urgency", "id": "adaptivePriority",
              "legalStrings": ["Urgent", "Normal", "Patient"], "required": "true", "valueClassName": "String"}]},
            {"name": "VWAP", "id": "Vwap", "parameters": [{"guiRank": 1, "minValue": 0.01, "maxValue": 50,
              "name": "Max Percentage", "description": "From 0.01 to 50.0", "id": "maxPctVol",
              "valueClassName": "Double"}]},
            {"name": "TWAP", "id": "Twap", "parameters": []}
        ])
    } else {
        serde_json::json!([])
    };
    if let Some(items) = list.as_array_mut() {
        for a in items {
            if let Some(m) = a.as_object_mut() {
                if !params {
                    m.remove("parameters");
                } else if !descr {
                    for p in m
                        .get_mut("parameters")
                        .and_then(|p| p.as_array_mut())
                        .into_iter()
                        .flatten()
                    {
                        if let Some(pm) = p.as_object_mut() {
                            pm.remove("description");
                        }
                    }
                }
            }
        }
    }
    from_json(serde_json::json!({ "algos": list })).map(Json)
}

#[derive(Deserialize)]
pub(crate) struct AllConidsQuery {
    exchange: String,
}

/// `GET /trsrv/all-conids`: the stocks listed on an exchange.
pub(crate) async fn all_conids(
    State(gw): State<Shared>,
    Q(q): Q<AllConidsQuery>,
) -> Result<Json<Vec<ibkr_model::contracts::ExchangeConid>>, ApiError> {
    need_sso(&gw)?;
    let ex = q.exchange.to_ascii_uppercase();
    // IBKR answers with its own code of the market (NASDAQ's is NMS).
    let code = if ex == "NASDAQ" {
        "NMS".to_string()
    } else {
        ex.clone()
    };
    let list: Vec<_> = gw
        .market
        .universe
        .iter()
        .filter(|i| i.sec_type == SecType::Stock)
        .filter(|i| {
            i.listing_exchange.to_ascii_uppercase().starts_with(&ex)
                || i.valid_exchanges
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&ex))
        })
        .map(|i| {
            ibkr_model::contracts::ExchangeConid::new(
                i.symbol.clone(),
                Conid(i64::from(i.conid)),
                code.clone(),
            )
        })
        .collect();
    if list.is_empty() {
        return Err(bad(format!("Bad Request: no contracts listed on {ex}")));
    }
    Ok(Json(list))
}

#[derive(Deserialize)]
pub(crate) struct SecDefScheduleQuery {
    #[serde(rename = "assetClass")]
    asset_class: String,
    symbol: String,
    #[serde(default)]
    exchange: Option<String>,
}

/// `GET /trsrv/secdef/schedule`: the weekly template (dates in 2000, as IBKR sends
/// it) of each exchange the symbol trades on, times in the exchange's zone.
pub(crate) async fn secdef_schedule(
    State(gw): State<Shared>,
    Q(q): Q<SecDefScheduleQuery>,
) -> Result<Json<Vec<ibkr_model::contracts::ExchangeSchedule>>, ApiError> {
    need_sso(&gw)?;
    let sec: SecType = q
        .asset_class
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| bad(format!("Bad Request: unknown assetClass {}", q.asset_class)))?;
    let found = gw.market.universe.by_symbol(
        &q.symbol,
        &crate::instruments::SymbolFilter::any().sec_type(sec),
    );
    let mut out = Vec::new();
    for i in found.into_iter().filter(|i| {
        q.exchange
            .as_deref()
            .is_none_or(|e| primary(i).eq_ignore_ascii_case(e))
    }) {
        let sched = &i.schedule;
        // The first week of 2000 (Saturday 1st to Friday 7th), as the recording has it.
        let mut days = Vec::new();
        for d in 1..=7 {
            let day = chrono::NaiveDate::from_ymd_opt(2000, 1, d).unwrap_or_default();
            let times = match sched
                .regular_session(day)
                .filter(|_| sched.is_trading_day(day))
            {
                Some(s) => serde_json::json!([{
                    "openingTime": s.open.with_timezone(&sched.time_zone).format("%H%M").to_string(),
                    "closingTime": s.close.with_timezone(&sched.time_zone).format("%H%M").to_string(),
                    "prop": "LIQUID",
                    "cancelDayOrders": "Y",
                }]),
                None => serde_json::json!([{
                    "openingTime": "0000", "closingTime": "0000", "cancelDayOrders": "N",
                }]),
            };
            days.push(serde_json::json!({
                "clearingCycleEndTime": if sched.is_trading_day(day) { "2000" } else { "0000" },
                "tradingScheduleDate": day.format("%Y%m%d").to_string(),
                "sessions": [],
                "tradingtimes": times,
            }));
        }
        out.push(from_json(serde_json::json!({
            "id": format!("p{}", i.conid),
            "tradeVenueId": format!("v{}", primary(i).len() * 1000 + 200),
            "exchange": primary(i),
            "description": i.name,
            "timezone": sched.time_zone.name(),
            "schedules": days,
        }))?);
    }
    if out.is_empty() {
        return Err(bad(format!(
            "Bad Request: no {} {} in the simulated universe",
            q.asset_class, q.symbol
        )));
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
pub(crate) struct BondFiltersQuery {
    #[serde(rename = "issuerId")]
    issuer_id: String,
}

/// `GET /iserver/secdef/bond-filters`. The simulated universe has no bonds: any issuer
/// id of IBKR's form (`e` and digits) gets the filters of a generic issuer (maturities
/// over the next ten years, the usual currencies); other ids are refused.
pub(crate) async fn bond_filters(
    State(gw): State<Shared>,
    Q(q): Q<BondFiltersQuery>,
) -> Result<Json<ibkr_model::contracts::BondFilters>, ApiError> {
    need_brokerage(&gw)?;
    let id = q.issuer_id.trim();
    if !(id.starts_with('e') && id.len() > 1 && id[1..].chars().all(|c| c.is_ascii_digit())) {
        return Err(bad(format!("Bad Request: issuerId is not valid: {id}")));
    }
    let today = gw.market.now().date_naive();
    let maturities: Vec<serde_json::Value> = (1..=10)
        .map(|y| {
            let d = chrono::NaiveDate::from_ymd_opt(today.year() + y, 12, 1).unwrap_or(today);
            serde_json::json!({ "text": d.format("%b %Y").to_string(), "value": d.format("%Y%m").to_string() })
        })
        .collect();
    from_json(serde_json::json!({
        "bondFilters": [
            { "displayText": "Maturity Date", "columnId": 27, "options": maturities },
            { "displayText": "Currency", "columnId": 5, "options": [
                { "value": "CHF" }, { "value": "EUR" }, { "value": "USD" } ] },
        ]
    }))
    .map(Json)
}
