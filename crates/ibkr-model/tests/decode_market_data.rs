//! Decodes every recorded and spec-example answer of the contract and market-data
//! endpoints (copies in `tests/fixtures/`, provenance in `tests/fixtures/SOURCES.md`) into
//! the typed responses, checks that nothing landed in an `extra` map, that re-encoding
//! gives back the same JSON, and a few typed values per sample.

mod common;
use common::{assert_no_extra, d, round_trip};

use std::collections::BTreeSet;

use ibkr_model::contracts::{
    Algos, BondFilters, Conid, ContractInfo, ContractInfoAndRules, ContractRules, CurrencyPairs,
    ExchangeConid, ExchangeRate, ExchangeSchedule, Futures, Right, ScheduleDay, SecDefInfoResponse,
    SecDefSearchResult, SecType, Stocks, Strikes, TradingSchedule, TrsrvSecDefResponse,
};
use ibkr_model::market_data::{
    DataTimeline, HistoryResponse, MarketDataField, MarketDataSnapshot, UnsubscribeAllResponse,
    UnsubscribeResponse,
};
use ibkr_model::time::EpochMillis;
use rust_decimal::Decimal;
use serde_json::Value;

/// A fixture's name and text, embedded at compile time.
macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/", $name)))
    };
}

// --- contracts ----------------------------------------------------------------------------

fn check_search(sample: (&str, &str)) -> Vec<SecDefSearchResult> {
    let name = sample.0;
    let results: Vec<SecDefSearchResult> = round_trip(sample);
    for r in &results {
        assert_no_extra(name, "search result", &r.extra);
        for s in r.sections.iter().flatten() {
            assert_no_extra(name, "section", &s.extra);
        }
        for i in r.issuers.iter().flatten() {
            assert_no_extra(name, "issuer", &i.extra);
        }
    }
    results
}

#[test]
fn secdef_search_get() {
    let r = check_search(fixture!("GET_iserver_secdef_search.json"));
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].conid, Conid(756733));
    assert_eq!(r[0].symbol.as_deref(), Some("SPY"));
    assert_eq!(r[0].restricted, None);
    let opt = r[0].section(&SecType::Opt).unwrap();
    assert_eq!(
        opt.month_list().collect::<Vec<_>>(),
        ["APR26", "MAY26", "JUN26"]
    );
    assert_eq!(
        r[0].section(&SecType::Cfd).unwrap().conid,
        Some(Conid(134770228))
    );
    assert!(r[0].section(&SecType::Bag).is_some());
    let mexi = &r[1].sections.as_ref().unwrap()[0];
    assert_eq!(mexi.exchange_list().collect::<Vec<_>>(), ["MEXI"]);
}

#[test]
fn secdef_search_post() {
    let r = check_search(fixture!("POST_iserver_secdef_search.json"));
    assert_eq!(r[0].conid, Conid(265598));
    assert_eq!(r[0].company_header, "APPLE INC - NASDAQ");
    assert_eq!(r[1].description.as_deref(), Some("MEXI"));
}

#[test]
fn secdef_search_spec_with_bonds() {
    let r = check_search(fixture!(
        "spec_examples/GET_iserver_secdef_search__200_found.json"
    ));
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].conid, Conid(8314));
    assert!(r[0].opt.clone().flatten().unwrap().starts_with("20240315;"));
    assert_eq!(r[0].fop, Some(None));
    assert_eq!(r[1].opt, Some(None));
    let bond = &r[2];
    assert_eq!(bond.bondid, Some(5));
    assert_eq!(bond.company_name, None);
    assert_eq!(bond.issuers.as_ref().unwrap()[2].id, "e1400789");
    assert_eq!(
        bond.section(&SecType::Bond).map(|s| s.sec_type.clone()),
        Some(SecType::Bond)
    );
    assert_eq!(
        r[0].section(&SecType::Iopt).map(|s| s.sec_type.clone()),
        Some(SecType::Iopt)
    );
}

fn check_strikes(sample: (&str, &str)) -> Strikes {
    let name = sample.0;
    let s: Strikes = round_trip(sample);
    assert_no_extra(name, "strikes", &s.extra);
    s
}

#[test]
fn secdef_strikes() {
    let s = check_strikes(fixture!("GET_iserver_secdef_strikes.json"));
    assert_eq!(s.call.len(), 12);
    assert_eq!(s.call[7], d("650"));
    assert_eq!(s.put.last(), Some(&d("1000")));
    let s = check_strikes(fixture!(
        "spec_examples/GET_iserver_secdef_strikes__200_strikes.json"
    ));
    assert_eq!(s.put[0], d("70.0"));
}

#[test]
fn secdef_info_spec() {
    let name = "spec_examples/GET_iserver_secdef_info__200_infoBy-symbol-exchange-conid.json";
    let r: SecDefInfoResponse = round_trip(fixture!(
        "spec_examples/GET_iserver_secdef_info__200_infoBy-symbol-exchange-conid.json"
    ));
    assert!(matches!(r, SecDefInfoResponse::One(_)));
    let info = &r.as_slice()[0];
    assert_no_extra(name, "secdef info", &info.extra);
    assert_eq!(info.conid, Conid(8314));
    assert_eq!(info.sec_type, Some(SecType::Stk));
    assert_eq!(info.right, Some(Right::Unknown("?".into())));
    assert_eq!(info.strike, Some(Decimal::ZERO));
    assert_eq!(info.maturity_date, Some(None));
    assert_eq!(info.price_rendering, Some(None));
}

#[test]
fn secdef_info_list_form() {
    // The shape of IBKR's prose docs for the same endpoint: a list, with other fields.
    let body = r#"[{"conid":667629330,"symbol":"AAPL","secType":"OPT","exchange":"SMART",
        "listingExchange":null,"right":"P","strike":195.0,"currency":"USD","cusip":null,
        "coupon":"No Coupon","desc1":"AAPL","desc2":"JAN 05 '24 195 Put","maturityDate":"20240105",
        "multiplier":"100","tradingClass":"AAPL","validExchanges":"SMART,AMEX,CBOE"}]"#;
    let r: SecDefInfoResponse = round_trip(("docs list form", body));
    let info = &r.as_slice()[0];
    assert_no_extra("docs list form", "secdef info", &info.extra);
    assert_eq!(info.right, Some(Right::Put));
    assert_eq!(info.strike, Some(d("195.0")));
    assert_eq!(info.multiplier, Some(d("100")));
    assert_eq!(info.listing_exchange, Some(None));
}

fn check_bond_filters(sample: (&str, &str)) -> BondFilters {
    let name = sample.0;
    let b: BondFilters = round_trip(sample);
    assert_no_extra(name, "bond filters", &b.extra);
    for f in &b.bond_filters {
        assert_no_extra(name, "bond filter", &f.extra);
        for o in &f.options {
            assert_no_extra(name, "bond filter option", &o.extra);
        }
    }
    b
}

#[test]
fn secdef_bond_filters() {
    let b = check_bond_filters(fixture!("GET_iserver_secdef_bond_filters.json"));
    assert_eq!(b.bond_filters[0].display_text, "Maturity Date");
    assert_eq!(b.bond_filters[0].column_id, 27);
    assert_eq!(
        b.bond_filters[0].options[0].text.as_deref(),
        Some("Dec 2028")
    );
    assert_eq!(b.bond_filters[1].options[2].value, "USD");
    let b = check_bond_filters(fixture!(
        "spec_examples/GET_iserver_secdef_bond_filters__200_bond-filter.json"
    ));
    assert_eq!(b.bond_filters.len(), 4);
    assert_eq!(b.bond_filters[2].options[0].value, "1.301");
}

fn check_info(name: &str, info: &ContractInfo) {
    assert_no_extra(name, "contract info", &info.extra);
}

fn check_rules(name: &str, rules: &ContractRules) {
    assert_no_extra(name, "rules", &rules.extra);
    for r in rules.increment_rules.iter().flatten() {
        assert_no_extra(name, "increment rule", &r.extra);
    }
    if let Some(t) = &rules.tif_defaults {
        assert_no_extra(name, "tif defaults", &t.extra);
    }
}

#[test]
fn contract_info() {
    let name = "GET_iserver_contract_conid_info.json";
    let i: ContractInfo = round_trip(fixture!("GET_iserver_contract_conid_info.json"));
    check_info(name, &i);
    assert_eq!(i.con_id, Conid(756733));
    assert_eq!(i.instrument_type, SecType::Stk);
    assert_eq!(i.cusip, None);
    assert_eq!(i.multiplier, Some(None));
    assert_eq!(i.has_related_contracts, Some(true));
    assert!(i.underlying_con_id.is_none());
    assert_eq!(i.exchange_list().count(), 6);
    assert!(i.r_t_h);
}

#[test]
fn contract_info_spec() {
    let name = "spec_examples/GET_iserver_contract_conid_info__200_opt-contract-info.json";
    let i: ContractInfo = round_trip(fixture!(
        "spec_examples/GET_iserver_contract_conid_info__200_opt-contract-info.json"
    ));
    check_info(name, &i);
    assert_eq!(i.instrument_type, SecType::Opt);
    assert_eq!(i.right, Some(Right::Call));
    assert_eq!(i.strike, Some(d("187.5")));
    assert_eq!(i.multiplier(), Some(d("100")));
    assert_eq!(i.expiry().unwrap().to_string(), "2024-03-15");
    assert_eq!(i.underlying_con_id, Conid(8314));
    assert_eq!(i.contract_month, Some(Some("202403".into())));

    let name = "spec_examples/GET_iserver_contract_conid_info__200_stk-contract-info.json";
    let i: ContractInfo = round_trip(fixture!(
        "spec_examples/GET_iserver_contract_conid_info__200_stk-contract-info.json"
    ));
    check_info(name, &i);
    assert_eq!(i.category.as_deref(), Some("Computer Services"));
    assert_eq!(i.right, None);
}

#[test]
fn contract_info_and_rules() {
    let name = "GET_iserver_contract_conid_info_and_rules.json";
    let r: ContractInfoAndRules =
        round_trip(fixture!("GET_iserver_contract_conid_info_and_rules.json"));
    check_info(name, &r.info);
    check_rules(name, &r.rules);
    assert_eq!(r.info.con_id, Conid(265598));
    // This recording leaves out the nullable fields the others send as null.
    assert_eq!(r.info.contract_clarification_type, None);
    assert_eq!(r.rules.limit_price(), Some(d("255.63")));
    assert_eq!(r.rules.stop_price, Some(Some(d("255.63"))));
    assert_eq!(r.rules.size_increment, d("100"));
    assert_eq!(r.rules.cash_size.to_string(), "0.0");
    assert_eq!(r.rules.increment, d("0.01"));
    assert_eq!(r.rules.increment_digits, 2);
    assert_eq!(r.rules.error, None);

    for sample in [
        fixture!("spec_examples/GET_iserver_contract_conid_info_and_rules__200_stk.json"),
        fixture!("spec_examples/GET_iserver_contract_conid_info_and_rules__200_option.json"),
    ] {
        let name = sample.0;
        let r: ContractInfoAndRules = round_trip(sample);
        check_info(name, &r.info);
        check_rules(name, &r.rules);
        assert!(!r.info.con_id.is_none());
        assert_eq!(r.rules.error, Some(None));
        assert_eq!(
            r.rules.can_trade_acct_ids.as_deref(),
            Some(&["DUC10000".to_string()][..])
        );
        let tif = r.rules.tif_defaults.as_ref().unwrap();
        assert_eq!(tif.tif.as_deref(), Some("DAY"));
        if r.info.instrument_type == SecType::Opt {
            assert_eq!(r.rules.limit_price, Some(None));
            assert_eq!(tif.size, Some(d("1.00")));
            assert_eq!(
                r.rules.order_defaults.as_ref().unwrap()["LMT"]["LP"],
                "empty"
            );
            assert_eq!(r.rules.cash_qty_incr, Some(None));
        } else {
            assert_eq!(r.rules.limit_price(), Some(d("196.88")));
            assert_eq!(r.rules.cash_qty_incr, Some(Some(d("500"))));
            assert_eq!(r.rules.fraq_int, Some(4));
        }
    }
}

#[test]
fn contract_rules() {
    let name = "POST_iserver_contract_rules.json";
    let r: ContractRules = round_trip(fixture!("POST_iserver_contract_rules.json"));
    check_rules(name, &r);
    assert_eq!(r.size_increment, d("40"));
    assert_eq!(r.limit_price(), Some(d("655.94")));
    assert_eq!(r.negative_capable, Some(false));
    assert_eq!(r.preview, None);
    assert_eq!(r.can_trade_acct_ids.as_ref().unwrap()[0], "U1234567");

    let name = "spec_examples/POST_iserver_contract_rules__200_success.json";
    let r: ContractRules = round_trip(fixture!(
        "spec_examples/POST_iserver_contract_rules__200_success.json"
    ));
    check_rules(name, &r);
    let tif = r.tif_defaults.as_ref().unwrap();
    assert_eq!(tif.default_acct.as_deref(), Some("U1234567"));
    assert_eq!(tif.pmalgo, Some(true));
    assert_eq!(tif.size.unwrap().to_string(), "100.00");
    assert_eq!(r.increment_rules.as_ref().unwrap()[0].increment, d("0.01"));
    assert_eq!(r.order_types.len(), 12);
}

fn check_algos(sample: (&str, &str)) -> Algos {
    let name = sample.0;
    let a: Algos = round_trip(sample);
    assert_no_extra(name, "algos", &a.extra);
    for algo in &a.algos {
        assert_no_extra(name, "algo", &algo.extra);
        for p in algo.parameters.iter().flatten() {
            assert_no_extra(name, "algo parameter", &p.extra);
        }
    }
    a
}

#[test]
fn contract_algos() {
    let a = check_algos(fixture!("GET_iserver_contract_conid_algos.json"));
    assert_eq!(a.algos[1].id, "Vwap");
    let p = &a.algos[1].parameters.as_ref().unwrap()[0];
    assert_eq!((p.min_value, p.max_value), (Some(d("0.01")), Some(d("50"))));
    let adaptive = &a.algos[0].parameters.as_ref().unwrap()[0];
    assert!(adaptive.is_required());
    assert_eq!(adaptive.default_value, Some(Value::from("Normal")));
    assert_eq!(a.algos[2].parameters.as_deref(), Some(&[][..]));

    let a = check_algos(fixture!(
        "spec_examples/GET_iserver_contract_conid_algos__200_success.json"
    ));
    assert_eq!(a.algos.len(), 10);
    assert!(a.algos[0].parameters.is_none());
    let a = check_algos(fixture!(
        "spec_examples/GET_iserver_contract_conid_algos__200_success-with-additional-data.json"
    ));
    let arrival = &a.algos[1].parameters.as_ref().unwrap();
    assert_eq!(arrival[1].default_value, Some(Value::Bool(false)));
    assert!(!arrival[1].is_required());
}

#[test]
fn currency_pairs() {
    for sample in [
        fixture!("GET_iserver_currency_pairs.json"),
        fixture!("spec_examples/GET_iserver_currency_pairs__200_USD.json"),
    ] {
        let name = sample.0;
        let pairs: CurrencyPairs = round_trip(sample);
        for p in &pairs["USD"] {
            assert_no_extra(name, "pair", &p.extra);
        }
        assert!(pairs["USD"].len() >= 3, "{name}");
    }
    let pairs: CurrencyPairs = round_trip(fixture!("GET_iserver_currency_pairs.json"));
    assert_eq!(pairs["USD"][1].symbol, "EUR.USD");
    assert_eq!(pairs["USD"][1].conid, Conid(12087792));
    assert_eq!(pairs["USD"][1].ccy_pair, "EUR");
}

#[test]
fn exchange_rate() {
    let r: ExchangeRate = round_trip(fixture!("GET_iserver_exchangerate.json"));
    assert_no_extra("GET_iserver_exchangerate.json", "rate", &r.extra);
    assert_eq!(r.rate, d("0.86656614"));
    let r: ExchangeRate = round_trip(fixture!(
        "spec_examples/GET_iserver_exchangerate__200_rate.json"
    ));
    assert_eq!(r.rate, d("0.91324199"));
}

#[test]
fn trsrv_stocks() {
    for sample in [
        fixture!("GET_trsrv_stocks.json"),
        fixture!("spec_examples/GET_trsrv_stocks__200_ibm.json"),
    ] {
        let name = sample.0;
        let stocks: Stocks = round_trip(sample);
        for entry in stocks.values().flatten() {
            assert_no_extra(name, "stock", &entry.extra);
            assert_eq!(entry.asset_class, SecType::Stk);
            for c in &entry.contracts {
                assert_no_extra(name, "stock contract", &c.extra);
            }
        }
    }
    let stocks: Stocks = round_trip(fixture!("GET_trsrv_stocks.json"));
    let aapl = &stocks["AAPL"][0];
    assert_eq!(aapl.name, "APPLE INC");
    assert_eq!(aapl.contracts[0].conid, Conid(265598));
    assert!(aapl.contracts[0].is_us);
    assert_eq!(stocks["AAPL"][1].contracts[0].exchange, "TSE");
}

#[test]
fn trsrv_futures() {
    for sample in [
        fixture!("GET_trsrv_futures.json"),
        fixture!("spec_examples/GET_trsrv_futures__200_futures.json"),
    ] {
        let name = sample.0;
        let futures: Futures = round_trip(sample);
        for f in futures.values().flatten() {
            assert_no_extra(name, "future", &f.extra);
            assert!(f.expiration().is_some() && f.last_trading_day().is_some());
        }
    }
    let futures: Futures = round_trip(fixture!("GET_trsrv_futures.json"));
    let es = &futures["ES"][0];
    assert_eq!(es.conid, Conid(515416632));
    assert_eq!(es.underlying_conid, Conid(11004968));
    assert_eq!(es.expiration().unwrap().to_string(), "2026-12-18");
    assert_eq!(es.last_trading_day().unwrap().to_string(), "2026-12-17");
}

#[test]
fn trsrv_secdef() {
    let name = "GET_trsrv_secdef.json";
    let r: TrsrvSecDefResponse = round_trip(fixture!("GET_trsrv_secdef.json"));
    assert_no_extra(name, "secdef response", &r.extra);
    let s = &r.secdef[0];
    assert_no_extra(name, "secdef", &s.extra);
    assert_eq!(s.conid, Conid(756733));
    assert_eq!(s.kind, "ETF");
    assert_eq!(s.strike, Decimal::ZERO);
    assert_eq!(s.multiplier.to_string(), "0.0");
    assert_eq!(s.put_or_call, None);
    assert_eq!(s.listing_exchange.as_deref(), Some("ARCA"));

    let name = "spec_examples/GET_trsrv_secdef__200_response.json";
    let r: TrsrvSecDefResponse = round_trip(fixture!(
        "spec_examples/GET_trsrv_secdef__200_response.json"
    ));
    let s = &r.secdef[0];
    assert_no_extra(name, "secdef", &s.extra);
    assert_eq!(s.sector.as_deref(), Some("Technology"));
    assert_eq!(s.time, Some(770));
    let rule = s.display_rule.as_ref().unwrap();
    assert_no_extra(name, "display rule", &rule.extra);
    assert_eq!(rule.display_rule_step[0].decimal_digits, 2);
    assert_no_extra(name, "display rule step", &rule.display_rule_step[0].extra);
    assert_eq!(
        s.increment_rules.as_ref().unwrap()[0]
            .lower_edge
            .to_string(),
        "0.0"
    );
}

fn check_schedule(sample: (&str, &str)) -> Vec<ExchangeSchedule> {
    let name = sample.0;
    let s: Vec<ExchangeSchedule> = round_trip(sample);
    for e in &s {
        assert_no_extra(name, "exchange schedule", &e.extra);
        for day in &e.schedules {
            assert_no_extra(name, "schedule date", &day.extra);
            assert!(day.day().is_some(), "{name}: {}", day.trading_schedule_date);
            for t in day.trading_times.iter().chain(&day.sessions) {
                assert_no_extra(name, "session", &t.extra);
            }
        }
    }
    s
}

#[test]
fn trsrv_secdef_schedule() {
    let s = check_schedule(fixture!("GET_trsrv_secdef_schedule__tsbernar2022.json"));
    let monday = &s[0].schedules[2];
    assert_eq!(
        monday.day(),
        Some(ScheduleDay::Weekday(chrono::Weekday::Mon))
    );
    assert_eq!(monday.trading_times[0].opening_time, "0930");
    assert_eq!(monday.trading_times[0].prop.as_deref(), Some("LIQUID"));
    assert!(matches!(
        s[0].schedules[7].day(),
        Some(ScheduleDay::Date(_))
    ));

    let s = check_schedule(fixture!(
        "spec_examples/GET_trsrv_secdef_schedule__200_ibm-nyse.json"
    ));
    assert_eq!(s[0].timezone.as_deref(), Some("America/New_York"));
    assert_eq!(s[0].exchange.as_deref(), Some("NYSE"));
}

#[test]
fn trsrv_all_conids() {
    for sample in [
        fixture!("GET_trsrv_all_conids.json"),
        fixture!("spec_examples/GET_trsrv_all_conids__200_response.json"),
    ] {
        let name = sample.0;
        let all: Vec<ExchangeConid> = round_trip(sample);
        for c in &all {
            assert_no_extra(name, "conid", &c.extra);
        }
    }
    let all: Vec<ExchangeConid> = round_trip(fixture!("GET_trsrv_all_conids.json"));
    assert_eq!(all[3].ticker, "AMD");
    assert_eq!(all[3].conid, Conid(4391));
}

#[test]
fn contract_trading_schedule() {
    for sample in [
        fixture!("GET_contract_trading_schedule.json"),
        fixture!("spec_examples/GET_contract_trading_schedule__200_success.json"),
    ] {
        let name = sample.0;
        let s: TradingSchedule = round_trip(sample);
        assert_no_extra(name, "schedule", &s.extra);
        for (_, day) in s.days() {
            assert_no_extra(name, "day", &day.extra);
            for h in day.liquid_hours.iter().chain(&day.extended_hours).flatten() {
                assert_no_extra(name, "hours", &h.extra);
                assert!(h.opening < h.closing);
            }
        }
    }
    let s: TradingSchedule = round_trip(fixture!("GET_contract_trading_schedule.json"));
    assert_eq!(s.exchange_time_zone, "US/Eastern");
    let (date, day) = s.days().next().unwrap();
    assert_eq!(date.to_string(), "2026-04-02");
    let liquid = &day.liquid_hours.as_ref().unwrap()[0];
    assert_eq!(
        liquid.opening_time().unwrap().to_rfc3339(),
        "2026-04-02T13:30:00+00:00"
    );
    assert_eq!(
        day.extended_hours.as_ref().unwrap()[0].cancel_daily_orders,
        Some(true)
    );

    let s: TradingSchedule = round_trip(fixture!(
        "spec_examples/GET_contract_trading_schedule__200_success.json"
    ));
    let last = s.days().last().unwrap().1;
    assert!(last.liquid_hours.is_none());
}

// --- market data --------------------------------------------------------------------------

#[test]
fn snapshot() {
    let rows: MarketDataSnapshot = round_trip(fixture!("GET_iserver_marketdata_snapshot.json"));
    let row = &rows[0];
    assert_eq!(row.conid, Conid(756733));
    assert_eq!(row.conid_ex.as_deref(), Some("756733"));
    assert_eq!(row.updated, Some(EpochMillis(1775169600000)));
    assert_eq!(row.get_str(MarketDataField::Last), Some("655.89"));
    // Every other key is a field id of IBKR's table.
    for (field, _) in row.values() {
        assert!(field.label().is_some(), "{field:?}");
    }
    assert_eq!(row.values().count(), row.fields.len());

    let q = row.quote().unwrap();
    assert_eq!(q.last, Some(d("655.89")));
    assert!(!q.last_is_prior_close && !q.halted);
    assert_eq!(q.bid, Some(d("655.88")));
    assert_eq!(q.ask.unwrap().to_string(), "655.90");
    assert_eq!(q.ask_size, Some(d("100")));
    assert_eq!(q.bid_size, Some(d("200")));
    assert_eq!(q.volume, Some(d("50000000")));
    assert_eq!((q.high, q.low), (Some(d("658.20")), Some(d("645.11"))));
    assert_eq!(q.change, Some(d("3.50")));
    assert_eq!(q.change_pct, Some(d("0.54")));
    assert_eq!(q.mid(), Some(d("655.89")));
    // The history recording of the same account says "S" too.
    assert_eq!(q.availability.unwrap().0, "S");
}

#[test]
fn snapshot_2022() {
    let rows: MarketDataSnapshot = round_trip(fixture!(
        "GET_iserver_marketdata_snapshot__tsbernar2022.json"
    ));
    assert_eq!(rows.len(), 4);
    let quotes: Vec<_> = rows.iter().map(|r| r.quote().unwrap()).collect();
    assert_eq!(quotes[3].conid, Conid(265598));
    assert_eq!(quotes[3].last, Some(d("156.08")));
    assert_eq!(quotes[3].mark, Some(d("155.97")));
    assert_eq!(quotes[1].conid_ex.as_deref(), Some("139673266"));
    let avail = quotes[0].availability.as_ref().unwrap();
    assert_eq!(avail.timeline(), Some(DataTimeline::RealTime));
    assert!(avail.has_book());
    assert_eq!(rows[0].get_str(MarketDataField::ServerId), Some("q0"));
    assert_eq!(rows[0].server_id.as_deref(), Some("q0"));
}

fn check_history(sample: (&str, &str)) -> HistoryResponse {
    let name = sample.0;
    let h: HistoryResponse = round_trip(sample);
    assert_no_extra(name, "history", &h.extra);
    for b in &h.data {
        assert_no_extra(name, "bar", &b.extra);
        assert!(b.low <= b.open && b.open <= b.high, "{name}: {b:?}");
        assert!(b.low <= b.close && b.close <= b.high, "{name}: {b:?}");
    }
    let hi = h.high_point().unwrap();
    let lo = h.low_point().unwrap();
    assert!(lo.price <= hi.price, "{name}");
    assert!(h.start().is_some(), "{name}");
    h
}

#[test]
fn history() {
    let h = check_history(fixture!("GET_iserver_marketdata_history.json"));
    assert_eq!(h.symbol, "SPY");
    assert_eq!(h.bar_length, 60);
    assert_eq!(h.data.len(), 3);
    let first = &h.data[0];
    assert_eq!(first.open, d("646.42"));
    assert_eq!(first.close, d("646.86"));
    assert_eq!(first.volume, d("17219.125"));
    assert_eq!(first.time, EpochMillis(1775136600000));
    assert_eq!(
        first.time.to_datetime().unwrap().to_rfc3339(),
        "2026-04-02T13:30:00+00:00"
    );
    assert_eq!(h.high_point().unwrap().price, d("658.20"));
    assert_eq!(h.low_point().unwrap().minutes, 10);
    assert_eq!(h.trading_day_duration, Some(390));

    for sample in [
        fixture!(
            "spec_examples/GET_iserver_marketdata_history__200_iserverHistoryBidAskSuccessExample.json"
        ),
        fixture!(
            "spec_examples/GET_iserver_marketdata_history__200_iserverHistoryLastSuccessExample.json"
        ),
        fixture!(
            "spec_examples/GET_iserver_marketdata_history__200_iserverHistoryMidpointSuccessExample.json"
        ),
    ] {
        let h = check_history(sample);
        assert_eq!(h.symbol, "AAPL");
        assert_eq!(h.data.len(), 4);
        assert_eq!(h.direction, Some(-1));
        assert_eq!(h.data[0].time, EpochMillis(1747229400000));
    }
    let h = check_history(fixture!(
        "spec_examples/GET_iserver_marketdata_history__200_iserverHistoryLastSuccessExample.json"
    ));
    assert_eq!(h.data[0].open, d("212.43"));
    assert_eq!(h.data[0].volume, d("266616.18"));
}

#[test]
fn unsubscribe() {
    for sample in [
        fixture!("POST_iserver_marketdata_unsubscribe.json"),
        fixture!(
            "spec_examples/POST_iserver_marketdata_unsubscribe__200_marketdataUnsubscribeSuccessExample.json"
        ),
    ] {
        let name = sample.0;
        let r: UnsubscribeResponse = round_trip(sample);
        assert_no_extra(name, "unsubscribe", &r.extra);
        assert!(r.success);
    }
    for sample in [
        fixture!("GET_iserver_marketdata_unsubscribeall.json"),
        fixture!(
            "spec_examples/GET_iserver_marketdata_unsubscribeall__200_marketdataUnsubscribeAllSuccessExample.json"
        ),
    ] {
        let name = sample.0;
        let r: UnsubscribeAllResponse = round_trip(sample);
        assert_no_extra(name, "unsubscribe all", &r.extra);
        assert!(r.unsubscribed);
    }
}

/// Every fixture of these endpoints in `tests/fixtures/` is decoded by a test above.
#[test]
fn every_fixture_is_tested() {
    let tested: BTreeSet<&str> = include_str!("decode_market_data.rs")
        .split("fixture!(")
        .skip(1)
        .filter_map(|s| s.trim_start().strip_prefix('"')?.split('"').next())
        .collect();
    let prefixes = [
        "GET_iserver_secdef",
        "POST_iserver_secdef",
        "GET_iserver_contract",
        "POST_iserver_contract",
        "GET_trsrv_",
        "GET_contract_trading_schedule",
        "GET_iserver_currency",
        "GET_iserver_exchangerate",
        "GET_iserver_marketdata",
        "POST_iserver_marketdata",
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut missing = Vec::new();
    for sub in ["", "spec_examples/"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            if file.ends_with(".json") && prefixes.iter().any(|p| file.starts_with(p)) {
                let name = format!("{sub}{file}");
                if !tested.contains(name.as_str()) {
                    missing.push(name);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fixtures not decoded by any test: {missing:?}"
    );
    assert!(tested.len() >= 45, "{}", tested.len());
}
