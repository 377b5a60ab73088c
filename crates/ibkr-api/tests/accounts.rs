//! The `/iserver/account` family against the simulator's paper broker: switching the
//! selected account, dynamic-account search, the account summary and its parts, the
//! partitioned P&L, and signatures.

use std::time::Duration;

use ibkr_api::model::accounts::{AccountId, DisplayAmount};
use ibkr_api::model::portfolio::PortfolioSummary;
use ibkr_api::{Client, Decimal, Error, Method, PacingTable, RetryPolicy};
use ibkr_sim::broker::{ADVISOR_ACCOUNT, ADVISOR_SUB_ACCOUNTS, BrokerConfig, INDIVIDUAL_ACCOUNT};
use ibkr_sim::{Gateway, GatewayConfig};

/// A Saturday: every market is closed, so prices (and every figure) hold still
/// between the calls a test compares.
const CLOSED_MARKET: &str = "2025-07-12T15:00:00Z";

async fn setup(broker: BrokerConfig) -> (Gateway, Client) {
    let config = GatewayConfig::for_tests()
        .broker(broker)
        .market_time(CLOSED_MARKET.parse().unwrap());
    let gw = Gateway::start(config).await.unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    (gw, client)
}

fn id(s: &str) -> AccountId {
    AccountId::from(s)
}

/// IBKR's whole units: rounded half away from zero.
fn whole(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

fn amount(a: &Option<DisplayAmount>) -> Decimal {
    a.as_ref()
        .and_then(DisplayAmount::amount)
        .unwrap_or_else(|| panic!("no amount in {a:?}"))
}

#[tokio::test]
async fn switching_selects_the_account_and_accounts_report_it() {
    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    let before = client.brokerage_accounts().await.unwrap();
    assert_eq!(before.selected_account.as_deref(), Some(ADVISOR_ACCOUNT));
    let sub = ADVISOR_SUB_ACCOUNTS[1];

    let answer = client.switch_account(&id(sub)).await.unwrap();
    assert_eq!(answer.set, Some(true));
    assert_eq!(answer.acct_id, Some(id(sub)));
    assert!(answer.is_set());

    let after = client.brokerage_accounts().await.unwrap();
    assert_eq!(after.selected_account.as_deref(), Some(sub));
    assert_eq!(after.accounts, before.accounts, "the list does not change");

    // And back to the master.
    client.switch_account(&id(ADVISOR_ACCOUNT)).await.unwrap();
    let back = client.brokerage_accounts().await.unwrap();
    assert_eq!(back.selected_account.as_deref(), Some(ADVISOR_ACCOUNT));
}

#[tokio::test]
async fn switching_to_the_selected_account_says_it_is_already_set() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let answer = client
        .switch_account(&id(INDIVIDUAL_ACCOUNT))
        .await
        .unwrap();
    // As recorded: {"success": "Account already set"}, no `set`.
    assert_eq!(answer.success.as_deref(), Some("Account already set"));
    assert_eq!(answer.set, None);
    assert!(answer.is_set());

    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    let sub = ADVISOR_SUB_ACCOUNTS[0];
    assert_eq!(
        client.switch_account(&id(sub)).await.unwrap().set,
        Some(true)
    );
    let again = client.switch_account(&id(sub)).await.unwrap();
    assert_eq!(again.success.as_deref(), Some("Account already set"));
}

#[tokio::test]
async fn an_unknown_account_is_a_typed_error_on_switch_summary_and_signatures() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let nobody = id("DU0000000");
    let before = client.pacing_metrics().total().retries;

    match client.switch_account(&nobody).await {
        Err(Error::UnknownAccount { message, .. }) => {
            assert!(message.contains("Invalid account ID"), "{message}")
        }
        other => panic!("expected UnknownAccount, got {other:?}"),
    }
    // The selection did not move.
    let a = client.brokerage_accounts().await.unwrap();
    assert_eq!(a.selected_account.as_deref(), Some(INDIVIDUAL_ACCOUNT));

    match client.account_summary(&nobody).await {
        Err(e @ Error::UnknownAccount { .. }) => {
            let text = e.to_string();
            assert!(text.contains("accountId is not valid: DU0000000"), "{text}");
        }
        other => panic!("expected UnknownAccount, got {other:?}"),
    }
    assert!(matches!(
        client.available_funds(&nobody).await,
        Err(Error::UnknownAccount { .. })
    ));
    assert!(matches!(
        client.balances(&nobody).await,
        Err(Error::UnknownAccount { .. })
    ));
    assert!(matches!(
        client.margins(&nobody).await,
        Err(Error::UnknownAccount { .. })
    ));
    assert!(matches!(
        client.market_value(&nobody).await,
        Err(Error::UnknownAccount { .. })
    ));
    assert!(matches!(
        client.signatures_and_owners(&nobody).await,
        Err(Error::UnknownAccount { .. })
    ));
    assert_eq!(
        client.pacing_metrics().total().retries,
        before,
        "an unknown account is not retried"
    );
}

#[tokio::test]
async fn an_advisor_searches_its_accounts_and_switches_to_a_sub_account() {
    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    let accounts = client.brokerage_accounts().await.unwrap();
    let features = accounts.allow_features.unwrap();
    assert_eq!(features.get("allowDynAccount"), Some(&true.into()));

    let found = client.search_accounts("DU").await.unwrap();
    assert_eq!(found.pattern, "DU");
    let ids: Vec<&str> = found
        .matched_accounts
        .iter()
        .map(|m| m.account_id.as_str())
        .collect();
    assert_eq!(
        ids, ADVISOR_SUB_ACCOUNTS,
        "paper sub-accounts, not the master"
    );
    for m in &found.matched_accounts {
        assert_eq!(m.allocation_id.as_deref(), Some(m.account_id.as_str()));
    }

    // By alias, case-insensitively, with a space in the pattern.
    let by_alias = client.search_accounts("client EURO").await.unwrap();
    assert_eq!(by_alias.matched_accounts.len(), 1);
    let euro = &by_alias.matched_accounts[0];
    assert_eq!(euro.account_id.as_str(), ADVISOR_SUB_ACCOUNTS[1]);
    assert_eq!(euro.alias.as_deref(), Some("Client euro"));

    let none = client.search_accounts("ZZZ").await.unwrap();
    assert!(none.matched_accounts.is_empty());
    assert_eq!(none.pattern, "ZZZ");

    let set = client.set_dynamic_account(&euro.account_id).await.unwrap();
    assert_eq!(set.set, Some(true));
    assert_eq!(set.acct_id.as_ref(), Some(&euro.account_id));
    let after = client.brokerage_accounts().await.unwrap();
    assert_eq!(
        after.selected_account.as_deref(),
        Some(ADVISOR_SUB_ACCOUNTS[1])
    );

    assert!(matches!(
        client.set_dynamic_account(&id("DU0000000")).await,
        Err(Error::UnknownAccount { .. })
    ));
    assert!(matches!(
        client.search_accounts("  ").await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn an_individual_login_has_no_dynamic_accounts() {
    let (gw, _) = setup(BrokerConfig::individual()).await;
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let accounts = client.brokerage_accounts().await.unwrap();
    assert_eq!(
        accounts.allow_features.unwrap().get("allowDynAccount"),
        Some(&false.into())
    );
    for result in [
        client.search_accounts("DU").await.map(|_| ()),
        client
            .set_dynamic_account(&id(INDIVIDUAL_ACCOUNT))
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(Error::Http {
                status: 503, body, ..
            }) => {
                assert!(body.contains("Details currently unavailable"), "{body}")
            }
            other => panic!("expected IBKR's 503, got {other:?}"),
        }
    }
}

/// The `/iserver/account/{acct}/summary` figures and its parts agree with
/// `/portfolio/{acct}/summary`, in whole units.
async fn assert_summary_agrees(client: &Client, acct: &AccountId, p: &PortfolioSummary) {
    let net = p.net_liquidation().unwrap();
    let avail = p.available_funds().unwrap();
    let excess = p.excess_liquidity().unwrap();
    let init = p.init_margin_req().unwrap();
    let maint = p.maint_margin_req().unwrap();
    let cash = p.total_cash_value().unwrap();
    let bp = p.buying_power().unwrap();

    let s = client.account_summary(acct).await.unwrap();
    assert_eq!(s.net_liquidation_value, Some(whole(net)), "{acct}");
    assert_eq!(s.available_funds, Some(whole(avail)));
    assert_eq!(s.balance, Some(whole(avail)));
    assert_eq!(s.excess_liquidity, Some(whole(excess)));
    assert_eq!(s.initial_margin, Some(whole(init)));
    assert_eq!(s.maintenance_margin, Some(whole(maint)));
    assert_eq!(s.total_cash_value, Some(whole(cash)));
    assert_eq!(s.buying_power, Some(whole(bp)));
    let balances = s.cash_balances.clone().unwrap();
    assert!(!balances.is_empty());
    for c in &balances {
        assert_eq!(c.settled_cash, Some(c.balance), "settled in full");
    }
    if balances.len() > 1 {
        let total = balances.last().unwrap();
        assert!(total.currency.starts_with("Total (in "), "{total:?}");
        assert_eq!(total.balance, whole(cash));
    }

    let funds = client.available_funds(acct).await.unwrap();
    let keys: Vec<&str> = funds.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["Crypto at Paxos", "commodities", "securities", "total"]
    );
    let t = &funds["total"];
    assert_eq!(amount(&t.current_available), whole(avail));
    assert_eq!(amount(&t.current_excess), whole(excess));
    assert_eq!(amount(&t.buying_power), whole(bp));
    assert_eq!(amount(&t.look_ahead_available), whole(avail));
    let base = t.current_available.as_ref().unwrap().currency().unwrap();
    assert_eq!(base.len(), 3, "{base}");
    // Stocks only in the presets: everything is in the securities segment.
    assert_eq!(funds["securities"].current_available, t.current_available);
    assert_eq!(
        amount(&funds["commodities"].current_available),
        Decimal::ZERO
    );
    let leverage: Decimal = t.leverage.as_ref().unwrap().as_str().parse().unwrap();
    assert!(leverage >= Decimal::ZERO);

    let balances = client.balances(acct).await.unwrap();
    let t = &balances["total"];
    assert_eq!(amount(&t.net_liquidation), whole(net));
    assert_eq!(amount(&t.cash), whole(cash));
    assert_eq!(
        amount(&t.equity_with_loan),
        whole(net),
        "no options: all of it has loan value"
    );
    assert_eq!(
        t.net_liquidation.as_ref().unwrap().currency(),
        Some(base),
        "in the base currency"
    );

    let margins = client.margins(acct).await.unwrap();
    let t = &margins["total"];
    assert_eq!(amount(&t.current_initial), whole(init));
    assert_eq!(amount(&t.current_maint), whole(maint));
    assert_eq!(amount(&t.look_ahead_initial), whole(init));
    assert_eq!(
        amount(&t.reg_t_margin),
        whole(init),
        "stocks: Reg T initial"
    );

    let mv = client.market_value(acct).await.unwrap();
    let total = if mv.len() == 1 {
        mv.get(base).expect("the base currency")
    } else {
        let total = mv
            .get(&format!("Total (in {base})"))
            .expect("a total for several currencies");
        for (ccy, m) in &mv {
            assert!(m.exchange_rate.is_some(), "{ccy}");
        }
        total
    };
    assert_eq!(amount(&total.net_liquidation), whole(net));
    assert_eq!(amount(&total.total_cash), whole(cash));
    let stock = amount(&total.stock);
    assert!(
        (amount(&total.total_cash) + stock - whole(net)).abs() <= Decimal::ONE,
        "cash + stock = net liquidation, within rounding"
    );
}

#[tokio::test]
async fn summary_parts_agree_with_the_portfolio_summary() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let acct = id(INDIVIDUAL_ACCOUNT);
    let p = client.portfolio_summary(&acct).await.unwrap();
    assert_summary_agrees(&client, &acct, &p).await;
    let mv = client.market_value(&acct).await.unwrap();
    let keys: Vec<&str> = mv.keys().map(String::as_str).collect();
    assert_eq!(keys, ["USD"], "one currency, no total (as recorded)");
    assert!(mv["USD"].exchange_rate.is_none());
}

#[tokio::test]
async fn every_advisor_account_has_a_summary_that_agrees() {
    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    for acct in [
        ADVISOR_ACCOUNT,
        ADVISOR_SUB_ACCOUNTS[0],
        ADVISOR_SUB_ACCOUNTS[1],
    ] {
        let acct = id(acct);
        let p = client.portfolio_summary(&acct).await.unwrap();
        assert_summary_agrees(&client, &acct, &p).await;
    }
    // The EUR sub-account holds EUR and USD: a ledger each and a total, in EUR.
    let euro = id(ADVISOR_SUB_ACCOUNTS[1]);
    let s = client.account_summary(&euro).await.unwrap();
    let currencies: Vec<String> = s
        .cash_balances
        .unwrap()
        .into_iter()
        .map(|c| c.currency)
        .collect();
    assert_eq!(currencies, ["EUR", "USD", "Total (in EUR)"]);
    let mv = client.market_value(&euro).await.unwrap();
    assert_eq!(mv["EUR"].exchange_rate.as_ref().unwrap().as_str(), "1.00");
    let usd_rate: Decimal = mv["USD"]
        .exchange_rate
        .as_ref()
        .unwrap()
        .as_str()
        .parse()
        .unwrap();
    assert!(usd_rate > Decimal::ZERO && usd_rate != Decimal::ONE);
    // USD cash converted at that rate makes the EUR total, within rounding.
    let eur_cash = amount(&mv["EUR"].total_cash);
    let usd_cash = amount(&mv["USD"].total_cash);
    let total_cash = amount(&mv["Total (in EUR)"].total_cash);
    assert!(
        (eur_cash + usd_cash * usd_rate - total_cash).abs() <= Decimal::ONE,
        "{eur_cash} + {usd_cash} × {usd_rate} vs {total_cash}"
    );
}

#[tokio::test]
async fn the_summary_calls_make_the_accounts_call_first() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let acct = id(INDIVIDUAL_ACCOUNT);
    // Without /iserver/accounts the gateway refuses, as IBKR does...
    match client
        .raw(Method::GET, "/iserver/account/DU1234567/summary", None)
        .await
    {
        Err(Error::Http {
            status: 400, body, ..
        }) => {
            assert!(body.contains("Please query /accounts first"), "{body}")
        }
        other => panic!("expected 400, got {other:?}"),
    }
    // ...and the typed call makes it first.
    let s = client.account_summary(&acct).await.unwrap();
    assert!(s.net_liquidation_value.unwrap() > Decimal::ZERO);
}

#[tokio::test]
async fn pnl_partitioned_has_a_row_per_account_of_the_selection() {
    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    client.brokerage_accounts().await.unwrap();
    // The first request of a session only subscribes, as IBKR documents.
    let first = client
        .raw(Method::GET, "/iserver/account/pnl/partitioned", None)
        .await
        .unwrap();
    assert_eq!(first, serde_json::json!({ "upnl": {} }));

    let pnl = client.pnl_partitioned().await.unwrap();
    let keys: Vec<&str> = pnl.upnl.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["DF1234567.Core", "DU1234568.Core", "DU1234569.Core"],
        "the master brings its sub-accounts"
    );
    for (n, acct) in [
        ADVISOR_ACCOUNT,
        ADVISOR_SUB_ACCOUNTS[0],
        ADVISOR_SUB_ACCOUNTS[1],
    ]
    .into_iter()
    .enumerate()
    {
        let row = &pnl.upnl[&format!("{acct}.Core")];
        let p = client.portfolio_summary(&id(acct)).await.unwrap();
        assert_eq!(row.row_type, Some(n as i64 + 1));
        assert_eq!(row.nl, p.net_liquidation(), "{acct}");
        assert_eq!(row.el, p.excess_liquidity(), "{acct}");
        assert_eq!(row.uel, row.el);
        assert_eq!(row.upl, p.amount("unrealizedpnl"), "{acct}");
        // nl = cash + market value of the positions.
        assert_eq!(
            Some(p.total_cash_value().unwrap() + row.mv.unwrap()),
            row.nl,
            "{acct}"
        );
        assert!(row.dpl.is_some());
    }

    // A sub-account selected: its row only.
    client
        .switch_account(&id(ADVISOR_SUB_ACCOUNTS[0]))
        .await
        .unwrap();
    let pnl = client.pnl_partitioned().await.unwrap();
    let keys: Vec<&str> = pnl.upnl.keys().map(String::as_str).collect();
    assert_eq!(keys, ["DU1234568.Core"]);
    assert_eq!(pnl.upnl["DU1234568.Core"].row_type, Some(1));
}

#[tokio::test]
async fn pnl_partitioned_of_an_individual_account_waits_out_the_empty_first_answer() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let pnl = client.pnl_partitioned().await.unwrap();
    assert_eq!(pnl.upnl.len(), 1);
    let row = &pnl.upnl["DU1234567.Core"];
    let p = client
        .portfolio_summary(&id(INDIVIDUAL_ACCOUNT))
        .await
        .unwrap();
    assert_eq!(row.row_type, Some(1));
    assert_eq!(row.nl, p.net_liquidation());
}

#[tokio::test]
async fn signatures_name_a_plausible_owner() {
    let (_gw, client) = setup(BrokerConfig::individual()).await;
    let s = client
        .signatures_and_owners(&id(INDIVIDUAL_ACCOUNT))
        .await
        .unwrap();
    assert_eq!(s.account_id.as_str(), INDIVIDUAL_ACCOUNT);
    assert_eq!(s.users.len(), 1);
    let owner = &s.users[0];
    assert_eq!(owner.role_id.as_deref(), Some("OWNER"));
    assert_eq!(owner.user_name.as_deref(), Some("demo"), "the login's user");
    let entity = owner.entity.as_ref().unwrap();
    assert_eq!(entity.entity_type.as_deref(), Some("INDIVIDUAL"));
    let name = entity.entity_name.clone().unwrap();
    assert_eq!(
        format!(
            "{} {}",
            entity.first_name.as_deref().unwrap(),
            entity.last_name.as_deref().unwrap()
        ),
        name
    );
    assert_eq!(s.applicant.unwrap().signatures, [name]);

    let (_gw, client) = setup(BrokerConfig::advisor()).await;
    let master = client
        .signatures_and_owners(&id(ADVISOR_ACCOUNT))
        .await
        .unwrap();
    let entity = master.users[0].entity.as_ref().unwrap();
    assert_eq!(entity.entity_type.as_deref(), Some("ORG"));
    assert_eq!(entity.entity_name.as_deref(), Some("Advisor master"));
    let sub = client
        .signatures_and_owners(&id(ADVISOR_SUB_ACCOUNTS[0]))
        .await
        .unwrap();
    let owner = &sub.users[0];
    let entity = owner.entity.as_ref().unwrap();
    assert_eq!(entity.entity_name.as_deref(), Some("Client growth"));
    assert_ne!(
        owner.user_name.as_deref(),
        Some("demo"),
        "the client's own user"
    );
    assert_eq!(sub.applicant.unwrap().signatures, ["Client growth"]);
}
