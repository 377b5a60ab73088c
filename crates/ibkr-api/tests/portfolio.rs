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
    match client
        .portfolio_summary(&AccountId::from("DU0000000"))
        .await
    {
        // IBKR documents 500 for an account id found wrong while handling the request.
        Err(Error::Http {
            status: 500, body, ..
        }) => {
            assert!(body.contains("accountId is not valid"), "{body}")
        }
        other => panic!("expected 500, got {other:?}"),
    }
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
