//! Portfolio calls against the simulator's paper broker.

use std::time::Duration;

use ibkr_api::model::accounts::AccountId;
use ibkr_api::{Client, Decimal, Error, PacingTable};
use ibkr_sim::broker::BrokerConfig;
use ibkr_sim::{Gateway, GatewayConfig};

async fn setup(broker: BrokerConfig) -> (Gateway, Client) {
    let gw = Gateway::start(GatewayConfig::for_tests().broker(broker))
        .await
        .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (gw, client)
}

#[tokio::test]
async fn accounts_summary_and_ledger_agree() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let accounts = client.portfolio_accounts().await.unwrap();
    assert_eq!(accounts.len(), 1);
    let id: AccountId = accounts[0].id.clone();
    assert_eq!(id.as_str(), "DU1234567");

    let summary = client.portfolio_summary(&id).await.unwrap();
    let net = summary.net_liquidation().expect("netliquidation");
    let cash = summary.total_cash_value().expect("totalcashvalue");
    assert!(
        net > cash,
        "the seeded positions are worth something: {net} vs {cash}"
    );

    let ledger = client.portfolio_ledger(&id).await.unwrap();
    let base = ledger.base().expect("BASE");
    assert_eq!(base.cashbalance, Some(cash));
    assert_eq!(base.netliquidationvalue, Some(net));
    assert!(ledger.currency("USD").is_some());
    let (n, c, s): (Decimal, Decimal, Decimal) = (
        base.netliquidationvalue.unwrap(),
        base.cashbalance.unwrap(),
        base.stockmarketvalue.unwrap(),
    );
    // net liquidation = cash + stock market value (stocks only in this preset), to
    // the cent (the figures travel as JSON numbers).
    assert!((n - c - s).abs() < Decimal::new(1, 2), "{n} {c} {s}");
}

#[tokio::test]
async fn an_advisor_sees_its_master_and_sub_accounts_and_every_ledger_currency() {
    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    let accounts = client.portfolio_accounts().await.unwrap();
    let ids: Vec<&str> = accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["DF1234567", "DU1234568", "DU1234569"]);
    let mut currencies = std::collections::BTreeSet::new();
    for a in &accounts {
        let l = client.portfolio_ledger(&a.id).await.unwrap();
        currencies.extend(l.currencies.keys().cloned());
    }
    assert!(currencies.contains("EUR"), "{currencies:?}");
    assert!(currencies.contains("BASE"));
}

#[tokio::test]
async fn an_unknown_account_is_a_clear_error() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let before = client.pacing_metrics();
    match client
        .portfolio_summary(&AccountId::from("DU0000000"))
        .await
    {
        // IBKR answers 500 "accountId is not valid" for an account it does not know:
        // a typed error, not retried.
        Err(e @ Error::UnknownAccount { .. }) => {
            let text = e.to_string();
            assert!(text.contains("accountId is not valid"), "{text}");
            assert!(text.contains("ibkr accounts"), "{text}");
        }
        other => panic!("expected UnknownAccount, got {other:?}"),
    }
    let after = client.pacing_metrics();
    assert_eq!(
        after.total().retries,
        before.total().retries,
        "an unknown account is not retried"
    );
}

#[tokio::test]
async fn positions_page_and_value_consistently() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let id = AccountId::from("DU1234567");
    let meta = client.portfolio_meta(&id).await.unwrap();
    assert_eq!(meta.id.as_str(), "DU1234567");
    let all = client.all_positions(&id).await.unwrap();
    assert!(!all.is_empty());
    let first = client.positions(&id, 0).await.unwrap();
    assert_eq!(first, all, "one page holds them all");
    assert!(client.positions(&id, 1).await.unwrap().is_empty());
    let summary = client.portfolio_summary(&id).await.unwrap();
    let ledger = client.portfolio_ledger(&id).await.unwrap();
    let stock: Decimal = all.iter().map(|p| p.mkt_value).sum();
    let base = ledger.base().unwrap();
    assert!((stock - base.stockmarketvalue.unwrap()).abs() < Decimal::new(1, 2));
    assert!(summary.net_liquidation().is_some());
    for p in &all {
        assert!(
            p.position > Decimal::ZERO && p.avg_cost > Decimal::ZERO,
            "{p:?}"
        );
    }
}

#[tokio::test]
async fn advisor_subaccounts_and_allocation_add_up() {
    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    let subs = client.portfolio_subaccounts().await.unwrap();
    let ids: Vec<&str> = subs.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["DF1234567", "DU1234568", "DU1234569"]);
    for a in &subs {
        let alloc = client.allocation(&a.id).await.unwrap();
        let summary = client.portfolio_summary(&a.id).await.unwrap();
        let long: Decimal = alloc.asset_class.long.values().copied().sum();
        let short: Decimal = alloc.asset_class.short.values().copied().sum();
        let net = summary.net_liquidation().unwrap();
        // Cash plus positions (futures add their P&L, not their notional) make the net
        // liquidation; the split sums to it within rounding when no futures are held.
        let has_futures = alloc.asset_class.long.contains_key("FUT")
            || alloc.asset_class.short.contains_key("FUT");
        if !has_futures {
            assert!(
                (long + short - net).abs() < Decimal::new(5, 2),
                "{}: {long} + {short} vs {net}",
                a.id
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Positions: paging, sorting, by contract; combined allocation; sub-accounts pages.

use chrono::{DateTime, TimeZone, Utc};
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::portfolio::{Allocation, AllocationSplit, PositionsQuery, SubAccounts2};
use ibkr_sim::broker::{AccountConfig, AccountType};
use ibkr_sim::instruments::{SecType, Universe};

const AAPL: Conid = Conid(265598);

/// A Saturday: every market of the universe is closed, so prices hold still between
/// calls and figures of separate calls can be compared exactly.
fn weekend() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap()
}

async fn setup_at(broker: BrokerConfig, at: DateTime<Utc>) -> (Gateway, Client) {
    let gw = Gateway::start(GatewayConfig::for_tests().broker(broker).market_time(at))
        .await
        .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (gw, client)
}

/// One USD account holding `n` positions: stocks (a few short), futures and long
/// options of the universe the gateway builds for `at`, each in a different size.
fn many_positions(n: usize, at: DateTime<Utc>) -> (BrokerConfig, Vec<Conid>) {
    let u = Universe::standard(at.date_naive());
    let picks: Vec<_> = u
        .iter()
        .filter(|i| {
            i.currency == "USD"
                && matches!(
                    i.sec_type,
                    SecType::Stock | SecType::Future | SecType::Option
                )
        })
        .take(n)
        .collect();
    assert_eq!(picks.len(), n, "the universe has {n} USD contracts to hold");
    let mut account = AccountConfig::new("DU1234567", AccountType::Individual, "USD")
        .cash("USD", Decimal::from(5_000_000));
    for (k, i) in picks.iter().enumerate() {
        let mut qty = Decimal::from(k as i64 % 9 + 1);
        if i.sec_type == SecType::Stock && k % 4 == 3 {
            qty = -qty;
        }
        let price = if i.reference_price > Decimal::ZERO {
            i.reference_price
        } else {
            Decimal::ONE
        };
        account = account.position(i.conid, qty, price);
    }
    let conids = picks.iter().map(|i| Conid(i64::from(i.conid))).collect();
    (BrokerConfig::new().account(account), conids)
}

fn query(sort: &str, direction: &str) -> PositionsQuery {
    let mut q = PositionsQuery::new();
    q.sort = Some(sort.to_string());
    q.direction = Some(direction.to_string());
    q
}

#[tokio::test]
async fn more_than_a_page_of_positions_comes_back_whole_once_each() {
    let (broker, seeded) = many_positions(130, weekend());
    let (_gw, client) = setup_at(broker, weekend()).await;
    let id = AccountId::from("DU1234567");

    let page0 = client.positions(&id, 0).await.unwrap();
    let page1 = client.positions(&id, 1).await.unwrap();
    assert_eq!(page0.len(), ibkr_api::portfolio::POSITIONS_PER_PAGE);
    assert_eq!(page1.len(), 30, "the last page is short");
    assert!(client.positions(&id, 2).await.unwrap().is_empty());

    let all = client.all_positions(&id).await.unwrap();
    assert_eq!(all.len(), 130);
    assert_eq!(all[..100], page0[..]);
    assert_eq!(all[100..], page1[..]);
    let got: std::collections::BTreeSet<Conid> = all.iter().map(|p| p.conid).collect();
    assert_eq!(got.len(), 130, "no position twice");
    let want: std::collections::BTreeSet<Conid> = seeded.into_iter().collect();
    assert_eq!(got, want, "every seeded position, and only those");

    // IBKR's default order: by name (the contract description), ties by conid.
    for w in all.windows(2) {
        let (a, b) = (
            w[0].contract_desc.to_ascii_lowercase(),
            w[1].contract_desc.to_ascii_lowercase(),
        );
        assert!(
            a < b || (a == b && w[0].conid < w[1].conid),
            "{a} before {b}"
        );
    }
    // `model` is accepted (the paper broker has no model portfolios).
    let mut q = PositionsQuery::new();
    q.model = Some("MyModel".into());
    assert_eq!(client.all_positions_with(&id, &q).await.unwrap(), all);
}

#[tokio::test]
async fn positions_sort_by_market_value_descending_across_pages() {
    let (broker, _) = many_positions(130, weekend());
    let (_gw, client) = setup_at(broker, weekend()).await;
    let id = AccountId::from("DU1234567");

    let down = client
        .all_positions_with(&id, &query("mktValue", "d"))
        .await
        .unwrap();
    assert_eq!(down.len(), 130);
    assert!(
        down.windows(2).all(|w| w[0].mkt_value >= w[1].mkt_value),
        "not descending: {:?}",
        down.iter().map(|p| p.mkt_value).collect::<Vec<_>>()
    );
    assert!(
        down.first().unwrap().mkt_value > down.last().unwrap().mkt_value,
        "the sizes differ, so the values do"
    );
    // Descending is ascending reversed, page boundaries included.
    let mut up = client
        .all_positions_with(&id, &query("mktValue", "a"))
        .await
        .unwrap();
    up.reverse();
    assert_eq!(up, down);

    let by_upnl = client
        .positions_with(&id, 0, &query("unrealizedPnl", "a"))
        .await
        .unwrap();
    assert!(
        by_upnl
            .windows(2)
            .all(|w| w[0].unrealized_pnl <= w[1].unrealized_pnl)
    );
    let by_conid = client
        .all_positions_with(&id, &query("conid", "a"))
        .await
        .unwrap();
    assert!(by_conid.windows(2).all(|w| w[0].conid < w[1].conid));

    // The unpaged list sorts the same way.
    let two = client
        .positions2(&id, &query("marketValue", "d"))
        .await
        .unwrap();
    assert_eq!(
        two.iter().map(|p| p.conid).collect::<Vec<_>>(),
        down.iter().map(|p| p.conid).collect::<Vec<_>>()
    );
    for (a, b) in two.iter().zip(&down) {
        assert_eq!(a.market_value, b.mkt_value, "{}", b.contract_desc);
        assert_eq!(a.position, b.position);
        assert_eq!(a.unrealized_pnl, b.unrealized_pnl);
    }

    // A direction other than a or d is refused.
    match client
        .positions_with(&id, 0, &query("mktValue", "up"))
        .await
    {
        Err(Error::Http { status: 400, .. }) => {}
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn positions2_lists_every_position_without_paging() {
    let (_gw, client) = setup_at(BrokerConfig::individual(), weekend()).await;
    let id = AccountId::from("DU1234567");
    let paged = client.all_positions(&id).await.unwrap();
    let two = client
        .positions2(&id, &PositionsQuery::new())
        .await
        .unwrap();
    assert_eq!(two.len(), paged.len());
    for (a, b) in two.iter().zip(&paged) {
        assert_eq!(a.conid, b.conid, "same default order");
        assert_eq!(a.description, b.contract_desc);
        assert_eq!(a.market_price, b.mkt_price);
        assert_eq!(a.avg_cost, b.avg_cost);
        assert_eq!(a.sec_type, b.asset_class);
        assert!(
            a.timestamp
                .is_some_and(|t| t.to_datetime() == Some(weekend()))
        );
    }
}

/// The advisor preset, with AAPL held by all three accounts (short in one).
fn advisor_all_in_aapl() -> BrokerConfig {
    let mut b = BrokerConfig::advisor();
    let aapl = u32::try_from(AAPL.0).unwrap();
    b.accounts[0] = b.accounts[0]
        .clone()
        .position(aapl, Decimal::from(15), Decimal::from(200));
    b.accounts[1] = b.accounts[1]
        .clone()
        .position(aapl, Decimal::from(-5), Decimal::from(240));
    b
}

#[tokio::test]
async fn a_contract_s_positions_across_the_advisor_s_accounts() {
    let (_gw, client) = setup_at(advisor_all_in_aapl(), weekend()).await;
    let by_account = client.positions_by_conid(AAPL).await.unwrap();
    let ids: Vec<&str> = by_account.keys().map(|a| a.as_str()).collect();
    assert_eq!(ids, ["DF1234567", "DU1234568", "DU1234569"]);
    let universe = Universe::standard(weekend().date_naive());
    let aapl = universe.get(265598).unwrap();
    for (acct, list) in &by_account {
        assert_eq!(list.len(), 1, "{acct}");
        let p = &list[0];
        assert_eq!(&p.acct_id, acct);
        assert_eq!(p.conid, AAPL);
        // The account's own view of the position: the same figures, with details.
        let own = client.position(acct, AAPL).await.unwrap();
        assert_eq!(own.len(), 1);
        let o = &own[0];
        assert_eq!(
            (o.position, o.mkt_value, o.avg_cost, o.unrealized_pnl),
            (p.position, p.mkt_value, p.avg_cost, p.unrealized_pnl)
        );
        assert_eq!(o.name.as_deref(), Some(aapl.name.as_str()));
        assert_eq!(o.ticker.as_deref(), Some(aapl.symbol.as_str()));
        // And the one in its position list.
        let listed = client.all_positions(acct).await.unwrap();
        let l = listed.iter().find(|x| x.conid == AAPL).unwrap();
        assert_eq!(l.mkt_value, p.mkt_value);
    }
    let sizes: Vec<Decimal> = by_account.values().map(|l| l[0].position).collect();
    assert_eq!(
        sizes,
        [Decimal::from(15), Decimal::from(-5), Decimal::from(20)]
    );
    assert!(by_account[&AccountId::from("DU1234568")][0].mkt_value < Decimal::ZERO);

    // A contract nobody holds: an empty map, and an empty list per account.
    let spy = Conid(756733);
    assert!(client.positions_by_conid(spy).await.unwrap().is_empty());
    assert!(
        client
            .position(&AccountId::from("DU1234568"), spy)
            .await
            .unwrap()
            .is_empty()
    );
    // A conid that is no number is refused.
    match client
        .raw(ibkr_api::Method::GET, "/portfolio/positions/abc", None)
        .await
    {
        Err(Error::Http { status: 400, .. }) => {}
        other => panic!("expected 400, got {other:?}"),
    }
}

fn sum_into(total: &mut AllocationSplit, part: &AllocationSplit) {
    for (k, v) in &part.long {
        *total.long.entry(k.clone()).or_default() += *v;
    }
    for (k, v) in &part.short {
        *total.short.entry(k.clone()).or_default() += *v;
    }
}

fn sum(parts: &[&Allocation]) -> Allocation {
    let mut t = Allocation::new();
    for p in parts {
        sum_into(&mut t.asset_class, &p.asset_class);
        sum_into(&mut t.sector, &p.sector);
        sum_into(&mut t.group, &p.group);
    }
    t
}

#[tokio::test]
async fn the_combined_allocation_is_the_sum_of_the_accounts() {
    let (_gw, client) = setup_at(advisor_all_in_aapl(), weekend()).await;
    let (master, usd, eur) = (
        AccountId::from("DF1234567"),
        AccountId::from("DU1234568"),
        AccountId::from("DU1234569"),
    );
    let a_master = client.allocation(&master).await.unwrap();
    let a_usd = client.allocation(&usd).await.unwrap();
    let a_eur = client.allocation(&eur).await.unwrap();

    // Same base currency: the exact sum, split by split, long and short apart.
    let both = client
        .allocation_for_accounts(&[master.clone(), usd.clone()])
        .await
        .unwrap();
    let want = sum(&[&a_master, &a_usd]);
    assert_eq!(both.asset_class.long, want.asset_class.long);
    assert_eq!(both.asset_class.short, want.asset_class.short);
    assert_eq!(both.sector.long, want.sector.long);
    assert_eq!(both.sector.short, want.sector.short);
    assert_eq!(both.group.long, want.group.long);
    assert_eq!(both.group.short, want.group.short);
    assert!(both.asset_class.short.contains_key("STK"), "the short AAPL");

    // One account alone is its own allocation; listing it twice counts it once.
    let alone = client
        .allocation_for_accounts(&[eur.clone(), eur.clone()])
        .await
        .unwrap();
    assert_eq!(alone.asset_class.long, a_eur.asset_class.long);
    assert_eq!(alone.sector.long, a_eur.sector.long);

    // Mixed currencies: in the first account's base currency (USD), the EUR account
    // converted at the gateway's EUR→USD rate, to the cent per entry.
    let mixed = client
        .allocation_for_accounts(&[usd.clone(), eur.clone()])
        .await
        .unwrap();
    let rate = client.exchange_rate("EUR", "USD").await.unwrap().rate;
    assert!(rate > Decimal::ZERO);
    let cent = Decimal::new(1, 2);
    for (k, v) in &a_eur.asset_class.long {
        let base = a_usd.asset_class.long.get(k).copied().unwrap_or_default();
        let got = mixed.asset_class.long[k];
        assert!(
            (got - base - *v * rate).abs() <= cent,
            "{k}: {got} vs {base} + {v} × {rate}"
        );
    }
    let keys = |s: &AllocationSplit| {
        s.long
            .keys()
            .chain(s.short.keys())
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    let mut all_keys = keys(&a_usd.asset_class);
    all_keys.extend(keys(&a_eur.asset_class));
    assert_eq!(keys(&mixed.asset_class), all_keys);

    // No accounts, or an unknown one among them: refused.
    match client.allocation_for_accounts(&[]).await {
        Err(Error::Http { status: 400, .. }) => {}
        other => panic!("expected 400, got {other:?}"),
    }
    match client
        .allocation_for_accounts(&[usd, AccountId::from("DU0000000")])
        .await
    {
        Err(Error::UnknownAccount { .. }) => {}
        other => panic!("expected UnknownAccount, got {other:?}"),
    }
}

#[tokio::test]
async fn subaccounts2_pages_an_advisor_s_accounts_by_20() {
    let mut b = BrokerConfig::new().account(
        AccountConfig::new("DF1234567", AccountType::Advisor, "USD")
            .cash("USD", Decimal::from(10_000)),
    );
    for n in 0..44 {
        b = b.account(
            AccountConfig::new(format!("DU20000{n:02}"), AccountType::SubAccount, "USD")
                .parent("DF1234567")
                .cash("USD", Decimal::from(1_000 + n)),
        );
    }
    let (_gw, client) = setup(b).await;
    let listed = client.portfolio_subaccounts().await.unwrap();
    assert_eq!(listed.len(), 45);

    let mut paged = Vec::new();
    for page in 0..4u32 {
        let answer = client.portfolio_subaccounts2(page).await.unwrap();
        let SubAccounts2::Page(p) = &answer else {
            panic!("an advisor gets the documented page form: {answer:?}");
        };
        let m = p.metadata.as_ref().expect("metadata");
        assert_eq!(
            (m.total, m.page_size, m.page_num),
            (Some(45), Some(20), Some(u64::from(page)))
        );
        let want = [20, 20, 5, 0][page as usize];
        assert_eq!(answer.accounts().len(), want, "page {page}");
        paged.extend(answer.accounts().iter().cloned());
    }
    assert_eq!(
        paged, listed,
        "the pages hold /portfolio/subaccounts, in order"
    );
}

#[tokio::test]
async fn subaccounts2_of_an_individual_login_is_the_recorded_list() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let answer = client.portfolio_subaccounts2(0).await.unwrap();
    assert!(matches!(answer, SubAccounts2::List(_)), "{answer:?}");
    let ids: Vec<&str> = answer.accounts().iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["DU1234567"]);
    assert_eq!(
        answer.accounts(),
        client.portfolio_subaccounts().await.unwrap()
    );
    assert!(
        client
            .portfolio_subaccounts2(1)
            .await
            .unwrap()
            .accounts()
            .is_empty()
    );
    // `page` is required, as documented.
    match client
        .raw(ibkr_api::Method::GET, "/portfolio/subaccounts2", None)
        .await
    {
        Err(Error::Http { status: 400, .. }) => {}
        other => panic!("expected 400, got {other:?}"),
    }
}

#[tokio::test]
async fn invalidating_positions_succeeds_and_combos_are_empty() {
    let (_gw, client) = setup_at(BrokerConfig::individual(), weekend()).await;
    let id = AccountId::from("DU1234567");
    let before = client.all_positions(&id).await.unwrap();
    let r = client.invalidate_positions(&id).await.unwrap();
    assert!(r.is_success(), "{r:?}");
    assert_eq!(client.all_positions(&id).await.unwrap(), before);
    // The paper broker fills single contracts: no combination positions.
    assert!(client.combo_positions(&id, true).await.unwrap().is_empty());
    assert!(client.combo_positions(&id, false).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_position_call_refuses_an_unknown_account() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let bad = AccountId::from("DU0000000");
    let q = PositionsQuery::new();
    let results: Vec<(&str, Result<(), Error>)> = vec![
        (
            "positions",
            client.positions_with(&bad, 0, &q).await.map(drop),
        ),
        ("positions2", client.positions2(&bad, &q).await.map(drop)),
        ("position", client.position(&bad, AAPL).await.map(drop)),
        (
            "invalidate",
            client.invalidate_positions(&bad).await.map(drop),
        ),
        ("combo", client.combo_positions(&bad, false).await.map(drop)),
        (
            "allocation",
            client
                .allocation_for_accounts(std::slice::from_ref(&bad))
                .await
                .map(drop),
        ),
    ];
    for (call, r) in results {
        match r {
            Err(Error::UnknownAccount { message, .. }) => {
                assert!(
                    message.contains("accountId is not valid"),
                    "{call}: {message}"
                )
            }
            other => panic!("{call}: expected UnknownAccount, got {other:?}"),
        }
    }
}
