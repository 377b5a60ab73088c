//! Portfolio Analyst calls (`/pa/performance`, `/pa/allperiods`, `/pa/transactions`)
//! against the simulator's paper broker and price engine.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::portfolio::{PaPeriod, PerformanceData, TransactionsRequest};
use ibkr_api::{Client, Decimal, Error, PacingTable};
use ibkr_sim::broker::{ADVISOR_ACCOUNT, ADVISOR_SUB_ACCOUNTS, BrokerConfig, INDIVIDUAL_ACCOUNT};
use ibkr_sim::{Gateway, GatewayConfig};

/// Tuesday 2026-03-10, 21:30 in New York: the US sessions (extended hours included)
/// are over, so the stocks' prices hold still while a test runs.
const TUESDAY_EVENING: &str = "2026-03-11T01:30:00Z";
/// Saturday 2026-03-14: every market is closed, FX included.
const SATURDAY: &str = "2026-03-14T16:00:00Z";

const AAPL: i64 = 265598;

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

async fn setup_with(config: GatewayConfig, table: PacingTable) -> (Gateway, Client) {
    let gw = Gateway::start(config).await.unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(table)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    (gw, client)
}

/// A gateway without rate-limit enforcement and a client without pacing.
async fn setup(broker: BrokerConfig, market_time: &str) -> (Gateway, Client) {
    setup_with(
        GatewayConfig::for_tests()
            .broker(broker)
            .market_time(at(market_time)),
        PacingTable::unlimited(),
    )
    .await
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y%m%d").unwrap()
}

fn is_weekday(s: &str) -> bool {
    !matches!(date(s).weekday(), Weekday::Sat | Weekday::Sun)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// `value / base - 1`, unrounded.
fn ret(value: Decimal, base: Decimal) -> Decimal {
    value / base - Decimal::ONE
}

/// Returns travel to 8 decimals.
fn assert_close(a: Decimal, b: Decimal, tolerance: &str, what: &str) {
    assert!((a - b).abs() <= d(tolerance), "{what}: {a} vs {b}");
}

fn one(series: &Option<ibkr_api::model::portfolio::PerformanceSeries>) -> &PerformanceData {
    let s = series.as_ref().expect("series");
    assert_eq!(s.data.len(), 1, "one series: {s:?}");
    &s.data[0]
}

#[tokio::test]
async fn performance_is_consistent_and_ends_at_the_net_liquidation_value() {
    let (_gw, client) = setup(BrokerConfig::individual(), TUESDAY_EVENING).await;
    let id = AccountId::from(INDIVIDUAL_ACCOUNT);
    let perf = client
        .performance(std::slice::from_ref(&id), PaPeriod::OneMonth)
        .await
        .unwrap();
    assert_eq!(perf.id.as_deref(), Some("getPerformanceData"));
    assert_eq!(perf.pm.as_deref(), Some("TWR"));
    assert_eq!(perf.currency_type.as_deref(), Some("base"));
    assert_eq!(perf.included.as_deref(), Some(std::slice::from_ref(&id)));
    // One month back from Tuesday 2026-03-10: 2026-02-10 to 2026-03-10, both counted.
    assert_eq!(perf.nd, Some(29));

    let cps = perf.cps.as_ref().unwrap();
    let nav = perf.nav.as_ref().unwrap();
    let tpps = perf.tpps.as_ref().unwrap();
    assert_eq!(cps.freq.as_deref(), Some("D"));
    assert_eq!(nav.freq.as_deref(), Some("D"));
    assert_eq!(tpps.freq.as_deref(), Some("M"));
    assert_eq!(cps.dates, nav.dates);
    assert_eq!(cps.dates.first().map(String::as_str), Some("20260210"));
    assert_eq!(cps.dates.last().map(String::as_str), Some("20260310"));
    assert_eq!(
        cps.dates.len(),
        21,
        "the weekdays of the month: {:?}",
        cps.dates
    );
    assert!(cps.dates.iter().all(|s| is_weekday(s)));
    assert!(cps.dates.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(tpps.dates, ["202602", "202603"]);

    let c = one(&perf.cps);
    let n = one(&perf.nav);
    let t = one(&perf.tpps);
    for e in [c, n, t] {
        assert_eq!(e.id, INDIVIDUAL_ACCOUNT);
        assert_eq!(e.id_type.as_deref(), Some("acctid"));
        assert_eq!(e.start.as_deref(), Some("20260210"));
        assert_eq!(e.end.as_deref(), Some("20260310"));
        assert_eq!(e.base_currency.as_deref(), Some("USD"));
    }
    let start = n.start_nav.as_ref().unwrap();
    assert_eq!(start.date, "20260209", "the weekday before the period");
    let navs = n.navs.as_ref().unwrap();
    let returns = c.returns.as_ref().unwrap();
    assert_eq!(navs.len(), cps.dates.len());
    assert_eq!(returns.len(), cps.dates.len());

    // The last NAV is the account's value now.
    let summary = client.portfolio_summary(&id).await.unwrap();
    let net = summary.net_liquidation().unwrap();
    assert_close(
        *navs.last().unwrap(),
        net,
        "0.01",
        "last NAV vs net liquidation",
    );

    // The figures come from the price engine: the NAV moves from day to day.
    assert!(
        navs.windows(2).any(|w| w[0] != w[1]),
        "a month of prices moves the NAV: {navs:?}"
    );
    // Cumulative returns are NAV over start NAV.
    for (i, (v, r)) in navs.iter().zip(returns).enumerate() {
        assert_close(*r, ret(*v, start.val), "0.00000001", &format!("cps[{i}]"));
    }
    // Monthly returns: each month's last NAV over the NAV before the month...
    let feb_end = cps
        .dates
        .iter()
        .rposition(|s| s.starts_with("202602"))
        .unwrap();
    let tr = t.returns.as_ref().unwrap();
    assert_close(
        tr[0],
        ret(navs[feb_end], start.val),
        "0.00000001",
        "February",
    );
    assert_close(
        tr[1],
        ret(*navs.last().unwrap(), navs[feb_end]),
        "0.00000001",
        "March",
    );
    // ...and they compound to the cumulative return of the period.
    let compounded = tr
        .iter()
        .fold(Decimal::ONE, |acc, r| acc * (Decimal::ONE + r))
        - Decimal::ONE;
    assert_close(
        compounded,
        *returns.last().unwrap(),
        "0.0000001",
        "compounded tpps vs cps",
    );
}

#[tokio::test]
async fn all_periods_give_every_period_daily_and_agree_with_each_other() {
    let (_gw, client) = setup(BrokerConfig::individual(), TUESDAY_EVENING).await;
    let id = AccountId::from(INDIVIDUAL_ACCOUNT);
    let all = client.all_periods(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(all.id.as_deref(), Some("getPerformanceAllPeriods"));
    assert_eq!(all.view.as_deref(), Some(std::slice::from_ref(&id)));
    assert_eq!(all.included.as_deref(), Some(std::slice::from_ref(&id)));
    // 2025-03-10 to 2026-03-10, both counted.
    assert_eq!(all.nd, Some(366));
    let acct = all.accounts.get(&id).expect("the account's object");
    assert_eq!(acct.base_currency.as_deref(), Some("USD"));
    assert_eq!(acct.start.as_deref(), Some("20250310"));
    assert_eq!(acct.end.as_deref(), Some("20260310"));
    assert!(acct.last_successful_update.is_some());
    let codes: Vec<&str> = acct.periods.iter().map(|p| p.as_str()).collect();
    assert_eq!(codes, ["1D", "7D", "MTD", "1M", "YTD", "1Y"]);

    // A year is daily: one point per weekday, about 262 (IBKR's frequency for 1Y is
    // `D`, and its examples list every weekday, exchange holidays included).
    let year = acct.period(&PaPeriod::OneYear).unwrap();
    assert_eq!(year.freq.as_deref(), Some("D"));
    assert!(
        (255..=263).contains(&year.dates.len()),
        "{} points",
        year.dates.len()
    );
    assert_eq!(year.dates.len(), 262);
    assert!(year.dates.iter().all(|s| is_weekday(s)));
    assert_eq!(year.start_nav.as_ref().unwrap().date, "20250307");

    let day = acct.period(&PaPeriod::OneDay).unwrap();
    assert_eq!(day.dates, ["20260310"]);
    assert_eq!(day.start_nav.as_ref().unwrap().date, "20260309");
    let week = acct.period(&PaPeriod::SevenDays).unwrap();
    assert_eq!(week.dates.first().map(String::as_str), Some("20260304"));
    let mtd = acct.period(&PaPeriod::MonthToDate).unwrap();
    assert_eq!(mtd.start_nav.as_ref().unwrap().date, "20260227");
    let ytd = acct.period(&PaPeriod::YearToDate).unwrap();
    assert_eq!(ytd.dates.first().map(String::as_str), Some("20260101"));
    assert_eq!(ytd.start_nav.as_ref().unwrap().date, "20251231");

    // Every period ends at the value now; a day has one NAV whatever the period; cps
    // is NAV over the period's start NAV.
    let summary = client.portfolio_summary(&id).await.unwrap();
    let net = summary.net_liquidation().unwrap();
    let by_day: std::collections::BTreeMap<&String, &Decimal> =
        year.dates.iter().zip(&year.nav).collect();
    for (period, p) in &acct.by_period {
        assert_eq!(p.dates.len(), p.nav.len(), "{period}");
        assert_eq!(p.dates.len(), p.cps.len(), "{period}");
        assert_close(
            *p.nav.last().unwrap(),
            net,
            "0.01",
            &format!("{period} end"),
        );
        let start = p.start_nav.as_ref().unwrap();
        for ((s, v), r) in p.dates.iter().zip(&p.nav).zip(&p.cps) {
            assert_eq!(by_day.get(s).copied(), Some(v), "{period} {s}");
            assert_close(
                *r,
                ret(*v, start.val),
                "0.00000001",
                &format!("{period} {s}"),
            );
        }
    }
    // Yesterday's NAV is the 1D start.
    assert_eq!(
        by_day.get(&"20260309".to_string()).copied(),
        Some(&day.start_nav.as_ref().unwrap().val)
    );

    // /pa/performance over a year gives the same NAVs.
    let perf = client
        .performance(std::slice::from_ref(&id), PaPeriod::OneYear)
        .await
        .unwrap();
    let n = one(&perf.nav);
    assert_eq!(perf.nav.as_ref().unwrap().dates, year.dates);
    assert_eq!(n.navs.as_ref().unwrap(), &year.nav);
    assert_eq!(n.start_nav, year.start_nav);
    assert_eq!(one(&perf.cps).returns.as_ref().unwrap(), &year.cps);
    assert_eq!(
        perf.tpps.as_ref().unwrap().dates.len(),
        13,
        "Mar 2025 to Mar 2026"
    );
}

#[tokio::test]
async fn several_accounts_are_consolidated_in_the_first_ones_currency() {
    let (_gw, client) = setup(BrokerConfig::advisor(), SATURDAY).await;
    let master = AccountId::from(ADVISOR_ACCOUNT);
    let [usd, eur] = ADVISOR_SUB_ACCOUNTS.map(AccountId::from);
    let ids = [master.clone(), usd.clone(), eur.clone()];
    let perf = client.performance(&ids, PaPeriod::SevenDays).await.unwrap();
    assert_eq!(perf.included.as_deref(), Some(&ids[..]));
    let n = one(&perf.nav);
    assert_eq!(n.id, "consolidated");
    assert_eq!(n.id_type.as_deref(), Some("consolidated"));
    assert_eq!(n.base_currency.as_deref(), Some("USD"));
    // The week to Friday 2026-03-13 (the last weekday before Saturday).
    let dates = &perf.nav.as_ref().unwrap().dates;
    assert_eq!(
        dates,
        &["20260309", "20260310", "20260311", "20260312", "20260313"]
    );
    let navs = n.navs.as_ref().unwrap();
    let start = n.start_nav.as_ref().unwrap();
    assert_eq!(start.date, "20260306");

    // The consolidated value now: the USD accounts' values plus the EUR account's
    // converted to USD (the ledger's rate converts USD into the EUR base).
    let net = |s: ibkr_api::model::portfolio::PortfolioSummary| s.net_liquidation().unwrap();
    let master_net = net(client.portfolio_summary(&master).await.unwrap());
    let usd_net = net(client.portfolio_summary(&usd).await.unwrap());
    let eur_net = net(client.portfolio_summary(&eur).await.unwrap());
    let ledger = client.portfolio_ledger(&eur).await.unwrap();
    let usd_in_eur = ledger.currency("USD").and_then(|l| l.exchangerate).unwrap();
    let expected = master_net + usd_net + eur_net / usd_in_eur;
    assert_close(*navs.last().unwrap(), expected, "0.02", "consolidated NAV");
    for (v, r) in navs.iter().zip(one(&perf.cps).returns.as_ref().unwrap()) {
        assert_close(*r, ret(*v, start.val), "0.00000001", "consolidated cps");
    }

    // /pa/allperiods answers each account, in its own base currency.
    let all = client.all_periods(&ids).await.unwrap();
    assert_eq!(all.accounts.len(), 3);
    let eur_periods = all.accounts.get(&eur).unwrap();
    assert_eq!(eur_periods.base_currency.as_deref(), Some("EUR"));
    let eur_day = eur_periods.period(&PaPeriod::OneDay).unwrap();
    assert_close(*eur_day.nav.last().unwrap(), eur_net, "0.01", "EUR account");
    let master_day = all.accounts[&master].period(&PaPeriod::OneDay).unwrap();
    assert_close(
        *master_day.nav.last().unwrap(),
        master_net,
        "0.01",
        "master",
    );
}

#[tokio::test]
async fn transactions_without_fills_are_empty_lists() {
    let (_gw, client) = setup(BrokerConfig::individual(), TUESDAY_EVENING).await;
    let id = AccountId::from(INDIVIDUAL_ACCOUNT);
    let req = TransactionsRequest::new(vec![id], Conid(AAPL));
    let t = client.transactions(&req).await.unwrap();
    assert_eq!(t.id.as_deref(), Some("getTransactions"));
    assert_eq!(t.currency.as_deref(), Some("USD"));
    assert!(t.transactions.is_empty());
    let rpnl = t.rpnl.unwrap();
    assert!(rpnl.data.is_empty());
    assert_eq!(rpnl.amt, Decimal::ZERO);
    // IBKR's default: 90 days, to today's midnight; `nd` counts both ends.
    assert_eq!(t.nd, Some(91));
    let (from, to) = (t.from.unwrap(), t.to.unwrap());
    assert_eq!(to.0 - from.0, 90 * 86_400_000);
    assert_eq!(
        to.to_datetime().unwrap(),
        at("2026-03-11T00:00:00Z"),
        "midnight (UTC) of the market's day"
    );

    let mut short =
        TransactionsRequest::new(vec![AccountId::from(INDIVIDUAL_ACCOUNT)], Conid(AAPL));
    short.days = Some(3);
    short.currency = Some("EUR".into());
    let t = client.transactions(&short).await.unwrap();
    assert_eq!(t.nd, Some(4));
    assert_eq!(t.currency.as_deref(), Some("EUR"));
}

#[tokio::test]
async fn an_unknown_account_is_a_typed_error() {
    let (_gw, client) = setup(BrokerConfig::individual(), TUESDAY_EVENING).await;
    let nobody = AccountId::from("DU0000000");
    let both = [AccountId::from(INDIVIDUAL_ACCOUNT), nobody.clone()];
    let results = [
        client.performance(&both, PaPeriod::OneDay).await.err(),
        client
            .all_periods(std::slice::from_ref(&nobody))
            .await
            .err(),
        client
            .transactions(&TransactionsRequest::new(vec![nobody.clone()], Conid(AAPL)))
            .await
            .err(),
    ];
    for r in results {
        match r {
            Some(e @ Error::UnknownAccount { .. }) => {
                let text = e.to_string();
                assert!(text.contains("accountId is not valid"), "{text}");
                assert!(text.contains("DU0000000"), "{text}");
            }
            other => panic!("expected UnknownAccount, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn invalid_arguments_are_refused() {
    let (_gw, client) = setup(BrokerConfig::individual(), TUESDAY_EVENING).await;
    let id = AccountId::from(INDIVIDUAL_ACCOUNT);
    let before = client.pacing_metrics().total().sent;
    // Refused before sending: no 15-minute turn spent.
    assert!(matches!(
        client.performance(&[], PaPeriod::OneDay).await,
        Err(Error::Config(_))
    ));
    assert!(matches!(
        client.all_periods(&[]).await,
        Err(Error::Config(_))
    ));
    let mut two = TransactionsRequest::new(vec![id.clone()], Conid(AAPL));
    two.conids.push(Conid(756733));
    assert!(matches!(
        client.transactions(&two).await,
        Err(Error::Config(_))
    ));
    assert_eq!(client.pacing_metrics().total().sent, before);

    // What only the gateway can tell: IBKR's 400 "invalid argument" problem.
    match client
        .performance(std::slice::from_ref(&id), PaPeriod::from_code("2W"))
        .await
    {
        Err(Error::Http {
            status: 400, body, ..
        }) => {
            assert!(
                body.contains("invalidArguments") && body.contains("period"),
                "{body}"
            );
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    let unknown = TransactionsRequest::new(vec![id.clone()], Conid(1));
    match client.transactions(&unknown).await {
        Err(Error::Http {
            status: 400, body, ..
        }) => assert!(body.contains("conids"), "{body}"),
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    let body = serde_json::json!({ "period": "1M" });
    match client
        .raw(ibkr_api::Method::POST, "/pa/performance", Some(&body))
        .await
    {
        Err(Error::Http {
            status: 400, body, ..
        }) => {
            assert!(
                body.contains("acctIds") && body.contains("Missing required parameter"),
                "{body}"
            );
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }
}

#[tokio::test]
async fn the_client_keeps_one_call_per_15_minutes() {
    // IBKR's own table on the client: a second /pa call would wait 15 minutes.
    let (_gw, client) = setup_with(
        GatewayConfig::for_tests()
            .broker(BrokerConfig::individual())
            .market_time(at(TUESDAY_EVENING)),
        PacingTable::gateway(),
    )
    .await;
    let id = AccountId::from(INDIVIDUAL_ACCOUNT);
    let client = client.with_max_wait(Some(Duration::from_millis(100)));
    client
        .performance(std::slice::from_ref(&id), PaPeriod::OneDay)
        .await
        .unwrap();
    match client.all_periods(std::slice::from_ref(&id)).await {
        Err(Error::WouldWait { class, wait, .. }) => {
            assert_eq!(class, "portfolio_analyst");
            assert!(wait > Duration::from_secs(14 * 60), "{wait:?}");
        }
        other => panic!("expected WouldWait, got {other:?}"),
    }
    // Cached reads do not apply to these POSTs: still a wait.
    let cached = client.with_cached_reads(true);
    assert!(matches!(
        cached
            .performance(std::slice::from_ref(&id), PaPeriod::OneDay)
            .await,
        Err(Error::WouldWait { .. })
    ));
}

#[tokio::test]
async fn the_gateway_refuses_a_second_call_within_15_minutes() {
    // The simulator enforcing IBKR's table, a client that does not pace: 429.
    let (_gw, client) = setup_with(
        GatewayConfig::for_tests()
            .broker(BrokerConfig::individual())
            .market_time(at(TUESDAY_EVENING))
            .pacing(Some(PacingTable::gateway()))
            .penalty(Duration::from_secs(1)),
        PacingTable::unlimited(),
    )
    .await;
    let id = AccountId::from(INDIVIDUAL_ACCOUNT);
    client
        .performance(std::slice::from_ref(&id), PaPeriod::OneDay)
        .await
        .unwrap();
    let second = client
        .transactions(&TransactionsRequest::new(vec![id], Conid(AAPL)))
        .await;
    assert!(
        matches!(second, Err(Error::RateLimited { .. })),
        "expected 429, got {second:?}"
    );
}

/// Every key path of a JSON value: `a.b`, `a.list[]`, `a.list[].c`; account ids and
/// period codes as object keys are written `{key}`.
fn shape(v: &serde_json::Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let generic = k.starts_with('U') || k.starts_with("DU") || k.starts_with("DF");
                let period = PaPeriod::from_code(k) != PaPeriod::Unknown(k.clone());
                let k = if generic || period {
                    "{key}"
                } else {
                    k.as_str()
                };
                let p = if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{path}.{k}")
                };
                out.insert(p.clone());
                shape(x, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            let p = format!("{path}[]");
            for x in items {
                shape(x, &p, out);
            }
        }
        _ => {}
    }
}

fn shape_of(v: &serde_json::Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    shape(v, "", &mut out);
    out
}

macro_rules! recorded {
    ($name:literal) => {
        serde_json::from_str::<serde_json::Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ibkr-model/tests/fixtures/portfolio/",
            $name
        )))
        .unwrap()
    };
}

#[tokio::test]
async fn answers_have_the_recorded_shapes() {
    let (_gw, client) = setup(BrokerConfig::individual(), TUESDAY_EVENING).await;
    let post = |path: &'static str, body: serde_json::Value| {
        let client = client.clone();
        async move {
            client
                .raw(ibkr_api::Method::POST, path, Some(&body))
                .await
                .unwrap()
        }
    };
    let acct = serde_json::json!([INDIVIDUAL_ACCOUNT]);
    let perf = post(
        "/pa/performance",
        serde_json::json!({ "acctIds": acct, "period": "1M" }),
    )
    .await;
    assert_eq!(
        shape_of(&perf),
        shape_of(&recorded!("POST_pa_performance.json"))
    );
    let all = post("/pa/allperiods", serde_json::json!({ "acctIds": acct })).await;
    assert_eq!(
        shape_of(&all),
        shape_of(&recorded!("POST_pa_allperiods.json"))
    );
    // Without fills the lists are empty: the rest of the shape is the recording's.
    let t = post(
        "/pa/transactions",
        serde_json::json!({ "acctIds": acct, "conids": [AAPL], "currency": "USD", "days": 30 }),
    )
    .await;
    let recorded: std::collections::BTreeSet<String> =
        shape_of(&recorded!("POST_pa_transactions.json"))
            .into_iter()
            .filter(|p| !p.starts_with("transactions[]"))
            .collect();
    assert_eq!(shape_of(&t), recorded);
    assert_eq!(t["rpnl"]["amt"], "0.0", "as recorded");
    assert_eq!(t["transactions"], serde_json::json!([]));
    // Dates as IBKR writes them.
    let dates = perf["cps"]["dates"].as_array().unwrap();
    assert!(
        dates
            .iter()
            .all(|d| d.as_str().is_some_and(|s| s.len() == 8))
    );
    let months = perf["tpps"]["dates"].as_array().unwrap();
    assert!(
        months
            .iter()
            .all(|d| d.as_str().is_some_and(|s| s.len() == 6))
    );
}
