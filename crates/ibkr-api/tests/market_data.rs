//! Contracts and market data, client against the simulator: resolution (ambiguous,
//! unknown), the snapshot pre-flight and re-poll, each string form of a price, history,
//! bulk history, option chains, currencies.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use ibkr_api::contracts::ContractFilter;
use ibkr_api::model::contracts::{Conid, SecDefSearchRequest};
use ibkr_api::model::market_data::{HistoryRequest, MarketDataField as F};
use ibkr_api::{Client, Error, Method, PacingTable};
use ibkr_sim::{Gateway, GatewayConfig};

const AAPL: Conid = Conid(265598);
const SPY: Conid = Conid(756733);

/// A Wednesday, 15:00 UTC: US markets open.
fn open_market() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap()
}

/// A Saturday: every market closed.
fn closed_market() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap()
}

async fn setup(at: chrono::DateTime<Utc>) -> (Gateway, Client) {
    let gw = Gateway::start(GatewayConfig::for_tests().market_time(at))
        .await
        .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .build()
        .unwrap();
    (gw, client)
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("did not finish in time")
}

#[tokio::test]
async fn symbols_resolve_and_ambiguity_is_a_typed_error() {
    let (_gw, client) = setup(open_market()).await;
    assert_eq!(
        client
            .resolve_symbol("AAPL", &ContractFilter::default())
            .await
            .unwrap(),
        AAPL
    );
    assert_eq!(
        client
            .resolve_symbol("AAPL", &ContractFilter::default().exchange("MEXI"))
            .await
            .unwrap(),
        Conid(38708077)
    );
    assert_eq!(
        client
            .resolve_symbol("AAPL", &ContractFilter::default().exchange("NASDAQ.NMS"))
            .await
            .unwrap(),
        AAPL,
        "NASDAQ and NASDAQ.NMS are the same primary exchange"
    );
    // A single match is still checked against the currency asked for.
    assert!(matches!(
        client
            .resolve_symbol("MSFT", &ContractFilter::default().currency("EUR"))
            .await,
        Err(Error::NotFound { .. })
    ));
    match client
        .resolve_symbol("AAPL", &ContractFilter::default().strict())
        .await
    {
        Err(e @ Error::Ambiguous { .. }) => {
            let m = e.to_string();
            assert!(m.contains("265598") && m.contains("38708077"), "{m}");
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    match client
        .resolve_symbol("NOSUCH", &ContractFilter::default())
        .await
    {
        Err(e @ Error::NotFound { .. }) => assert!(e.to_string().contains("ibkr search")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let results = client
        .search_contracts(&SecDefSearchRequest::new("AD"))
        .await
        .unwrap();
    assert!(results.len() >= 2, "a prefix matches several: {results:?}");
    let post = client
        .search_contracts_post(&SecDefSearchRequest::new("SPY"))
        .await
        .unwrap();
    assert_eq!(post[0].conid, SPY);
}

#[tokio::test]
async fn contract_info_and_unknown_conids() {
    let (_gw, client) = setup(open_market()).await;
    let i = client.contract_info(AAPL).await.unwrap();
    assert_eq!((i.symbol.as_str(), i.currency.as_str()), ("AAPL", "USD"));
    match client.contract_info(Conid(1)).await {
        Err(Error::Http {
            status: 400, body, ..
        }) => {
            assert!(body.contains("conid is not valid"), "{body}")
        }
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn quotes_handle_the_preflight_and_report_nothing_missing() {
    let (_gw, client) = setup(open_market()).await;
    let fields = [
        F::Last,
        F::Bid,
        F::Ask,
        F::BidSize,
        F::AskSize,
        F::Volume,
        F::ChangePct,
    ];
    let q = within(client.quotes(&[AAPL, SPY], &fields, Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(q.missing.is_empty(), "{:?}", q.missing);
    for quote in &q.quotes {
        let (bid, last, ask) = (quote.bid.unwrap(), quote.last.unwrap(), quote.ask.unwrap());
        assert!(bid <= ask && bid > rust_decimal::Decimal::ZERO, "{quote:?}");
        assert!(!quote.last_is_prior_close, "open market: {quote:?}");
        assert!(last > rust_decimal::Decimal::ZERO);
        assert!(
            quote.volume.unwrap() > rust_decimal::Decimal::ZERO,
            "{quote:?}"
        );
        assert!(quote.change_pct.is_some());
    }
    // The first request only opened the streams; the accounts call came first.
    let m = client.pacing_metrics();
    assert!(m.classes["snapshot"].sent >= 2, "{m}");
}

#[tokio::test]
async fn a_closed_market_sends_the_prior_close_with_its_c_prefix() {
    let (_gw, client) = setup(closed_market()).await;
    let q = within(client.quotes(&[AAPL], &[F::Last, F::Bid], Duration::from_secs(20)))
        .await
        .unwrap();
    let raw = q.rows[0].get_str(F::Last).unwrap();
    assert!(raw.starts_with('C'), "{raw}");
    assert!(q.quotes[0].last_is_prior_close);
    assert_eq!(
        q.quotes[0].last.unwrap().to_string(),
        raw.trim_start_matches('C')
    );
}

#[tokio::test]
async fn fields_that_never_come_are_reported() {
    let (_gw, client) = setup(open_market()).await;
    // Implied volatility is not sent for a stock.
    let q = within(client.quotes(
        &[AAPL],
        &[F::Last, F::from_id(7633)],
        Duration::from_millis(800),
    ))
    .await
    .unwrap();
    assert_eq!(
        q.missing.get(&AAPL).map(Vec::as_slice),
        Some(&[F::from_id(7633)][..])
    );
    assert!(q.quotes[0].last.is_some());
}

#[tokio::test]
async fn a_new_session_gets_its_accounts_call_again() {
    let (gw, client) = setup(open_market()).await;
    within(client.quotes(&[AAPL], &[F::Last], Duration::from_secs(20)))
        .await
        .unwrap();
    // A restart makes a new session that has not called /iserver/accounts.
    gw.restart();
    let q = within(client.quotes(&[AAPL], &[F::Last], Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(q.missing.is_empty());
    // Raw, without the pre-flight, the gateway refuses as IBKR does.
    gw.restart();
    match client
        .raw(
            Method::GET,
            "/iserver/marketdata/snapshot?conids=265598&fields=31",
            None,
        )
        .await
    {
        Err(Error::Http {
            status: 400, body, ..
        }) => assert!(body.contains("/accounts first")),
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn unsubscribing_closes_the_stream() {
    let (_gw, client) = setup(open_market()).await;
    within(client.quotes(&[AAPL], &[F::Last], Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(client.unsubscribe(AAPL).await.unwrap().success);
    // No stream open any more: IBKR answers 500 {"error":"unknown"}.
    match client.unsubscribe(AAPL).await {
        Err(Error::Http {
            status: 500, body, ..
        }) => assert!(body.contains("unknown"), "{body}"),
        other => panic!("expected 500, got {other:?}"),
    }
    let first = client
        .snapshot(&ibkr_api::model::market_data::SnapshotRequest::new(
            [AAPL],
            [F::Last],
        ))
        .await
        .unwrap();
    assert!(
        first[0].get(F::Last).is_none(),
        "the stream was reopened: {first:?}"
    );
    assert!(client.unsubscribe_all().await.unwrap().unsubscribed);
}

#[tokio::test]
async fn history_bars_end_at_the_current_price() {
    let (_gw, client) = setup(closed_market()).await;
    let h = client
        .history(&HistoryRequest::new(AAPL, "1m", "1d"))
        .await
        .unwrap();
    assert!(h.data.len() >= 15, "{} bars", h.data.len());
    for b in &h.data {
        assert!(b.low <= b.open && b.open <= b.high && b.low <= b.close && b.close <= b.high);
        assert!(b.time.to_datetime().is_some());
    }
    let q = within(client.quotes(&[AAPL], &[F::Last], Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(h.data.last().unwrap().close, q.quotes[0].last.unwrap());
    match client
        .history(&HistoryRequest::new(AAPL, "1d", "7min"))
        .await
    {
        Err(Error::Http {
            status: 400, body, ..
        }) => assert!(body.contains("invalid bar")),
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn bulk_history_reports_progress_and_keeps_order() {
    let (_gw, client) = setup(open_market()).await;
    let conids = [AAPL, SPY, Conid(8314), Conid(1), Conid(272093)];
    let reqs = conids
        .iter()
        .map(|c| HistoryRequest::new(*c, "1w", "1h"))
        .collect();
    let mut seen = Vec::new();
    let items = within(client.bulk_history(reqs, |done, total| seen.push((done, total)))).await;
    assert_eq!(seen.last(), Some(&(5, 5)));
    assert_eq!(items.len(), 5);
    for (item, c) in items.iter().zip(conids) {
        assert_eq!(item.request.conid, c);
        if c == Conid(1) {
            assert!(matches!(item.result, Err(Error::Http { status: 400, .. })));
        } else {
            assert!(!item.result.as_ref().unwrap().data.is_empty());
        }
    }
}

#[tokio::test]
async fn option_chains_are_fetched_concurrently() {
    let (_gw, client) = setup(open_market()).await;
    let chain = within(client.option_chain(AAPL, Some(2), None, Some(3)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chain.strikes.len(), 2);
    // Without a centre every strike of the 2 months comes back, calls and puts.
    let per_month: usize = chain
        .strikes
        .iter()
        .map(|(_, s)| s)
        .map(|s| s.call.len() + s.put.len())
        .sum();
    assert_eq!(chain.contracts.len(), per_month);
    let near = within(client.option_chain(
        AAPL,
        Some(1),
        Some(rust_decimal::Decimal::from(230)),
        Some(4),
    ))
    .await
    .unwrap();
    assert_eq!(near.contracts.len(), 8, "4 strikes × call and put");
}

#[tokio::test]
async fn currencies_and_rates() {
    let (_gw, client) = setup(open_market()).await;
    let r = client.exchange_rate("EUR", "USD").await.unwrap();
    let inv = client.exchange_rate("USD", "EUR").await.unwrap();
    let product = r.rate * inv.rate;
    assert!((product - rust_decimal::Decimal::ONE).abs() < rust_decimal::Decimal::new(1, 4));
    let pairs = client.currency_pairs("USD").await.unwrap();
    assert!(pairs["USD"].iter().any(|p| p.conid == Conid(12087792)));
    assert!(matches!(
        client.exchange_rate("EUR", "XXX").await,
        Err(Error::Http { status: 400, .. })
    ));
}

#[tokio::test]
async fn definitions_rules_schedules_and_futures() {
    use ibkr_api::model::contracts::{
        ContractRulesRequest, SymbolsRequest, TradingScheduleRequest, TrsrvSecDefRequest,
    };
    let (_gw, client) = setup(open_market()).await;

    let stocks = client
        .trsrv_stocks(&SymbolsRequest::new(["AAPL", "IBM"]))
        .await
        .unwrap();
    assert!(stocks["AAPL"][0].contracts.iter().any(|c| c.conid == AAPL));
    assert!(stocks.contains_key("IBM"));

    let futures = client
        .trsrv_futures(&SymbolsRequest::new(["ES"]))
        .await
        .unwrap();
    let es = &futures["ES"];
    assert!(es.len() >= 3, "{es:?}");
    let expiries: Vec<_> = es.iter().map(|f| f.expiration().unwrap()).collect();
    assert!(
        expiries.windows(2).all(|w| w[0] < w[1]),
        "sorted: {expiries:?}"
    );
    assert!(expiries[0] >= open_market().date_naive());

    let defs = client
        .trsrv_secdef(&TrsrvSecDefRequest::new([AAPL, SPY]))
        .await
        .unwrap();
    assert_eq!(defs.secdef.len(), 2);

    let ir = client.contract_info_and_rules(AAPL).await.unwrap();
    assert_eq!(ir.info.con_id, AAPL);
    assert!(ir.rules.order_types.iter().any(|t| t == "limit"));
    let rules = client
        .contract_rules(&ContractRulesRequest::new(AAPL, true))
        .await
        .unwrap();
    assert_eq!(rules.increment.to_string(), "0.01");

    let sched = client
        .trading_schedule(&TradingScheduleRequest::new(AAPL))
        .await
        .unwrap();
    assert_eq!(
        sched.exchange_time_zone, "US/Eastern",
        "IBKR names zones the old way"
    );
    let days: Vec<_> = sched.days().collect();
    assert_eq!(days.len(), 6, "{days:?}");
    let (_, wed) = days
        .iter()
        .find(|(d, _)| *d == open_market().date_naive())
        .expect("today is listed");
    let liquid = &wed.liquid_hours.as_ref().unwrap()[0];
    // 09:30-16:00 New York is 14:30-21:00 UTC in November.
    assert_eq!(
        liquid.opening_time().unwrap().format("%H:%M").to_string(),
        "14:30"
    );
    assert_eq!(liquid.closing - liquid.opening, 6 * 3600 + 1800);
}

#[tokio::test]
async fn algos_and_exchange_listings() {
    use ibkr_api::model::contracts::{AlgosRequest, AllConidsRequest};
    let (_gw, client) = setup(open_market()).await;
    let a = client
        .contract_algos(AAPL, &AlgosRequest::default())
        .await
        .unwrap();
    assert!(a.algos.iter().any(|x| x.id == "Adaptive"), "{a:?}");
    let all = client
        .all_conids(&AllConidsRequest::new("NASDAQ"))
        .await
        .unwrap();
    assert!(all.iter().any(|c| c.conid == AAPL), "{all:?}");
    assert!(matches!(
        client.all_conids(&AllConidsRequest::new("NOWHERE")).await,
        Err(Error::Http { status: 400, .. })
    ));
}

#[tokio::test]
async fn exchange_schedules_and_bond_filters() {
    use ibkr_api::model::contracts::{BondFiltersRequest, SecDefScheduleRequest};
    let (_gw, client) = setup(open_market()).await;
    let s = client
        .trsrv_secdef_schedule(&SecDefScheduleRequest::new("STK", "AAPL"))
        .await
        .unwrap();
    let nasdaq = s
        .iter()
        .find(|e| e.exchange.as_deref() == Some("NASDAQ"))
        .expect("AAPL's NASDAQ listing");
    let monday = nasdaq
        .schedules
        .iter()
        .find(|d| d.trading_schedule_date == "20000103")
        .unwrap();
    assert_eq!(monday.trading_times[0].opening_time, "0930");
    assert_eq!(monday.trading_times[0].closing_time, "1600");
    let f = client
        .bond_filters(&BondFiltersRequest::new("e1234567"))
        .await
        .unwrap();
    assert!(
        f.bond_filters
            .iter()
            .any(|x| x.display_text == "Maturity Date")
    );
    assert!(matches!(
        client.bond_filters(&BondFiltersRequest::new("nope")).await,
        Err(Error::Http { status: 400, .. })
    ));
}

#[tokio::test]
async fn long_lists_of_contracts_are_split_into_requests_ibkr_accepts() {
    let (_gw, client) = setup(open_market()).await;
    // 120 option contracts of AAPL: more than IBKR's 100 per request.
    let chain = within(client.option_chain(AAPL, Some(3), None, None))
        .await
        .unwrap();
    let conids: Vec<Conid> = chain.contracts.iter().map(|c| c.conid).take(120).collect();
    assert_eq!(conids.len(), 120);
    let q = within(client.quotes(&conids, &[F::Last, F::Bid], Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(q.quotes.len(), 120);
    assert!(
        q.missing.is_empty(),
        "{:?}",
        q.missing.keys().take(3).collect::<Vec<_>>()
    );
    // Two requests per round (100 + 20), and at least two rounds (the first only
    // opens the streams).
    assert!(client.pacing_metrics().classes["snapshot"].sent >= 4);
}
