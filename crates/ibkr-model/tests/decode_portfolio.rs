//! Decodes every recorded and spec-example answer of the account and portfolio endpoints
//! (copies in `tests/fixtures/portfolio/`, provenance in `tests/fixtures/portfolio/SOURCES.md`)
//! into the typed responses, checks that nothing landed in an `extra` map, that re-encoding
//! gives back the same JSON, and a few typed values per sample.

mod common;
use common::{assert_no_extra, d, round_trip};

use std::collections::BTreeSet;

use ibkr_model::accounts::{
    AccountId, AccountSearch, AccountSummary, AvailableFundsBySegment, BalancesBySegment,
    MarginsBySegment, MarketValueByCurrency, PnlPartitioned, SetAccountRequest, SetAccountResponse,
    SignaturesAndOwners,
};
use ibkr_model::contracts::{Conid, Right, SecType};
use ibkr_model::portfolio::{
    AccountsRequest, AllPeriods, Allocation, ClearingStatus, ComboPosition, InvalidateResponse,
    Ledger, MixedDecimal, PaPeriod, Performance, PerformanceRequest, PortfolioAccount,
    PortfolioSummary, Position, Position2, PositionsByAccount, SubAccounts2, TransactionType,
    Transactions, TransactionsRequest, UnixTime,
};
use ibkr_model::time::EpochMillis;

/// A fixture's name and text, embedded at compile time.
macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/portfolio/", $name)))
    };
}

fn acct(s: &str) -> AccountId {
    AccountId::from(s)
}

// --- accounts -----------------------------------------------------------------------------

#[test]
fn account_id_is_masked_in_debug() {
    let a = acct("DU5822420");
    assert_eq!(format!("{a:?}"), "AccountId(****420)");
    assert_eq!(a.to_string(), "DU5822420");
    assert_eq!(a.as_str(), "DU5822420");
    assert_eq!(format!("{:?}", acct("U1")), "AccountId(****U1)");
    let p = Position::new("U1234567", Conid(1), "X", SecType::Stk, "USD");
    assert!(!format!("{p:?}").contains("U1234567"));
}

#[test]
fn set_account() {
    let req = SetAccountRequest::new("U1234567");
    assert_eq!(
        serde_json::to_string(&req).unwrap(),
        r#"{"acctId":"U1234567"}"#
    );
    for sample in [
        fixture!("spec_examples/POST_iserver_account__200_successfully-set-account.json"),
        fixture!("POST_iserver_dynaccount.json"),
        fixture!("spec_examples/POST_iserver_dynaccount__200_successfully-set-account.json"),
    ] {
        let name = sample.0;
        let r: SetAccountResponse = round_trip(sample);
        assert_no_extra(name, "set account", &r.extra);
        assert_eq!(r.set, Some(true));
        assert!(r.is_set());
        assert!(r.acct_id.is_some());
    }
    let (name, text) = fixture!("POST_iserver_account.json");
    let r: SetAccountResponse = round_trip((name, text));
    assert_no_extra(name, "switch account", &r.extra);
    assert_eq!(r, SetAccountResponse::already_set());
    assert!(r.is_set() && r.set.is_none());
    let r: SetAccountResponse = round_trip(fixture!("POST_iserver_dynaccount.json"));
    assert_eq!(r.acct_id, Some(acct("U1234567")));
}

#[test]
fn account_search() {
    let s: AccountSearch = round_trip(fixture!("GET_iserver_account_search_searchPattern.json"));
    assert_no_extra("search", "search", &s.extra);
    assert_eq!(s.pattern, "U123");
    assert_eq!(s.matched_accounts[0].account_id, acct("U1234567"));
    assert_eq!(
        s.matched_accounts[0].allocation_id.as_deref(),
        Some("U1234567")
    );
    for m in &s.matched_accounts {
        assert_no_extra("search", "match", &m.extra);
    }
    let s: AccountSearch = round_trip(fixture!(
        "spec_examples/GET_iserver_account_search_searchPattern__200_successfully-found.json"
    ));
    assert_eq!(s.pattern, "U1");
    assert_eq!(s.matched_accounts.len(), 1);
    let s: AccountSearch = round_trip(fixture!(
        "spec_examples/GET_iserver_account_search_searchPattern__200_not-found.json"
    ));
    assert!(s.matched_accounts.is_empty());
    assert_no_extra("search", "not found", &s.extra);
}

fn check_summary(sample: (&str, &str)) -> AccountSummary {
    let name = sample.0;
    let s: AccountSummary = round_trip(sample);
    assert_no_extra(name, "summary", &s.extra);
    for c in s.cash_balances.iter().flatten() {
        assert_no_extra(name, "cash balance", &c.extra);
    }
    s
}

#[test]
fn iserver_account_summary() {
    let s = check_summary(fixture!("GET_iserver_account_accountId_summary.json"));
    assert_eq!(s.net_liquidation_value, Some(d("1005254")));
    assert_eq!(s.sma, Some(d("989946")));
    assert_eq!(s.buying_power, Some(d("3979324")));
    assert_eq!(s.account_type.as_deref(), Some(""));
    let cash = &s.cash_balances.as_ref().unwrap()[0];
    assert_eq!(cash.currency, "USD");
    assert_eq!(cash.settled_cash, Some(d("971870")));

    let s = check_summary(fixture!(
        "spec_examples/GET_iserver_account_accountId_summary__200_success.json"
    ));
    assert_eq!(s.total_cash_value, Some(d("-401846")));
    let cash = s.cash_balances.unwrap();
    assert_eq!(cash.len(), 5);
    assert_eq!(cash[4].currency, "Total (in USD)");
    assert_eq!(cash[3].balance, d("-402158"));
}

#[test]
fn iserver_account_summary_available_funds() {
    for sample in [
        fixture!("GET_iserver_account_accountId_summary_available_funds.json"),
        fixture!(
            "spec_examples/GET_iserver_account_accountId_summary_available_funds__200_success.json"
        ),
    ] {
        let name = sample.0;
        let f: AvailableFundsBySegment = round_trip(sample);
        for (seg, v) in &f {
            assert_no_extra(name, seg, &v.extra);
        }
        assert!(f.contains_key("Crypto at Paxos"));
    }
    let f: AvailableFundsBySegment = round_trip(fixture!(
        "GET_iserver_account_accountId_summary_available_funds.json"
    ));
    let total = &f["total"];
    let bp = total.buying_power.as_ref().unwrap();
    assert_eq!(bp.amount(), Some(d("3979324")));
    assert_eq!(bp.currency(), Some("USD"));
    assert_eq!(total.leverage.as_ref().unwrap().amount(), Some(d("1.01")));

    let f: AvailableFundsBySegment = round_trip(fixture!(
        "spec_examples/GET_iserver_account_accountId_summary_available_funds__200_success.json"
    ));
    let total = &f["total"];
    assert_eq!(total.leverage.as_ref().unwrap().as_str(), "n/a");
    assert_eq!(total.leverage.as_ref().unwrap().amount(), None);
    assert_eq!(
        total.day_trades_left.as_ref().unwrap().as_str(),
        "Unlimited"
    );
    assert_eq!(
        total.look_ahead_available_funds.as_ref().unwrap().amount(),
        Some(d("821067"))
    );
}

#[test]
fn iserver_account_summary_balances() {
    for sample in [
        fixture!("GET_iserver_account_accountId_summary_balances.json"),
        fixture!("spec_examples/GET_iserver_account_accountId_summary_balances__200_success.json"),
    ] {
        let name = sample.0;
        let b: BalancesBySegment = round_trip(sample);
        for (seg, v) in &b {
            assert_no_extra(name, seg, &v.extra);
        }
    }
    let b: BalancesBySegment = round_trip(fixture!(
        "GET_iserver_account_accountId_summary_balances.json"
    ));
    assert_eq!(
        b["total"].net_liquidation.as_ref().unwrap().amount(),
        Some(d("1005254"))
    );
    assert_eq!(
        b["securities"]
            .previous_day_equity_with_loan
            .as_ref()
            .unwrap()
            .amount(),
        Some(d("1000000"))
    );
    let b: BalancesBySegment = round_trip(fixture!(
        "spec_examples/GET_iserver_account_accountId_summary_balances__200_success.json"
    ));
    assert_eq!(
        b["total"].cash.as_ref().unwrap().amount(),
        Some(d("-401693"))
    );
}

#[test]
fn iserver_account_summary_margins() {
    for sample in [
        fixture!("GET_iserver_account_accountId_summary_margins.json"),
        fixture!("spec_examples/GET_iserver_account_accountId_summary_margins__200_success.json"),
    ] {
        let name = sample.0;
        let m: MarginsBySegment = round_trip(sample);
        for (seg, v) in &m {
            assert_no_extra(name, seg, &v.extra);
        }
    }
    let m: MarginsBySegment = round_trip(fixture!(
        "GET_iserver_account_accountId_summary_margins.json"
    ));
    assert_eq!(
        m["total"].current_initial.as_ref().unwrap().amount(),
        Some(d("7654"))
    );
    let m: MarginsBySegment = round_trip(fixture!(
        "spec_examples/GET_iserver_account_accountId_summary_margins__200_success.json"
    ));
    assert_eq!(
        m["total"].reg_t_margin.as_ref().unwrap().amount(),
        Some(d("896255"))
    );
    assert_eq!(
        m["commodities"]
            .projected_liquidity_initial_margin
            .as_ref()
            .unwrap()
            .amount(),
        Some(d("13794"))
    );
}

#[test]
fn iserver_account_summary_market_value() {
    for sample in [
        fixture!("GET_iserver_account_accountId_summary_market_value.json"),
        fixture!(
            "spec_examples/GET_iserver_account_accountId_summary_market_value__200_success.json"
        ),
    ] {
        let name = sample.0;
        let m: MarketValueByCurrency = round_trip(sample);
        for (cur, v) in &m {
            assert_no_extra(name, cur, &v.extra);
        }
    }
    let m: MarketValueByCurrency = round_trip(fixture!(
        "GET_iserver_account_accountId_summary_market_value.json"
    ));
    let usd = &m["USD"];
    assert_eq!(usd.stock.as_ref().unwrap().amount(), Some(d("30615")));
    assert_eq!(usd.stock.as_ref().unwrap().currency(), None);
    assert_eq!(
        usd.unrealized_pnl.as_ref().unwrap().amount(),
        Some(d("2769"))
    );
    let m: MarketValueByCurrency = round_trip(fixture!(
        "spec_examples/GET_iserver_account_accountId_summary_market_value__200_success.json"
    ));
    assert_eq!(
        m["HKD"].exchange_rate.as_ref().unwrap().amount(),
        Some(d("0.1278515"))
    );
    assert_eq!(
        m["Total (in USD)"].total_cash.as_ref().unwrap().amount(),
        Some(d("-401646"))
    );
}

#[test]
fn pnl_partitioned() {
    for sample in [
        fixture!("GET_iserver_account_pnl_partitioned.json"),
        fixture!(
            "spec_examples/GET_iserver_account_pnl_partitioned__200_can-be-empty-for-initial-request.json"
        ),
    ] {
        let name = sample.0;
        let p: PnlPartitioned = round_trip(sample);
        assert_no_extra(name, "pnl", &p.extra);
        assert!(p.upnl.is_empty());
    }
    let (name, text) =
        fixture!("spec_examples/GET_iserver_account_pnl_partitioned__200_success.json");
    let p: PnlPartitioned = round_trip((name, text));
    assert_no_extra(name, "pnl", &p.extra);
    let e = &p.upnl["U1234567.Core"];
    assert_no_extra(name, "pnl entry", &e.extra);
    assert_eq!(e.row_type, Some(1));
    assert_eq!(e.dpl, Some(d("-12510")));
    assert_eq!(e.nl, Some(d("1290000")));
    assert_eq!(e.mv, Some(d("1700000")));
}

#[test]
fn signatures_and_owners() {
    for sample in [
        fixture!("GET_acesws_accountId_signatures_and_owners.json"),
        fixture!("spec_examples/GET_acesws_accountId_signatures_and_owners__200_success.json"),
    ] {
        let name = sample.0;
        let s: SignaturesAndOwners = round_trip(sample);
        assert_no_extra(name, "signatures", &s.extra);
        assert_eq!(s.account_id, acct("U1234567"));
        let user = &s.users[0];
        assert_no_extra(name, "user", &user.extra);
        assert_eq!(user.role_id.as_deref(), Some("OWNER"));
        assert_eq!(user.has_right_code_ind, Some(true));
        let entity = user.entity.as_ref().unwrap();
        assert_no_extra(name, "entity", &entity.extra);
        assert_eq!(entity.entity_type.as_deref(), Some("INDIVIDUAL"));
        let applicant = s.applicant.as_ref().unwrap();
        assert_no_extra(name, "applicant", &applicant.extra);
        assert_eq!(applicant.signatures.len(), 1);
    }
    let s: SignaturesAndOwners =
        round_trip(fixture!("GET_acesws_accountId_signatures_and_owners.json"));
    let entity = s.users[0].entity.as_ref().unwrap();
    assert_eq!(entity.date_of_birth.as_deref(), Some("1990-01-15"));
}

// --- portfolio accounts -------------------------------------------------------------------

fn check_account(name: &str, a: &PortfolioAccount) {
    assert_no_extra(name, "account", &a.extra);
    assert_no_extra(name, "parent", &a.parent.as_ref().unwrap().extra);
    assert_eq!(a.id, a.account_id);
    assert_eq!(a.clearing_status, Some(ClearingStatus::Open));
    assert_eq!(a.account_type.as_deref(), Some("DEMO"));
    assert_eq!(a.trading_type.as_deref(), Some("STKNOPT"));
}

#[test]
fn portfolio_accounts() {
    for sample in [
        fixture!("GET_portfolio_accounts.json"),
        fixture!("GET_portfolio_subaccounts.json"),
        fixture!("spec_examples/GET_portfolio_accounts__200_accounts.json"),
        fixture!("spec_examples/GET_portfolio_subaccounts__200_subAccounts.json"),
    ] {
        let name = sample.0;
        let accounts: Vec<PortfolioAccount> = round_trip(sample);
        assert_eq!(accounts.len(), 1);
        check_account(name, &accounts[0]);
    }
    let a: Vec<PortfolioAccount> = round_trip(fixture!("GET_portfolio_accounts.json"));
    assert_eq!(a[0].account_id, acct("U1234567"));
    assert_eq!(a[0].brokerage_access, Some(true));
    assert_eq!(a[0].account_alias, Some(None));
    assert_eq!(a[0].account_status, Some(EpochMillis(1769922000000)));
    assert_eq!(a[0].prepaid_crypto_z, Some(false));
    assert_eq!(a[0].category.as_deref(), Some(""));
    let a: Vec<PortfolioAccount> = round_trip(fixture!(
        "spec_examples/GET_portfolio_accounts__200_accounts.json"
    ));
    assert_eq!(a[0].acct_cust_type.as_deref(), Some("LLC"));
    assert_eq!(a[0].track_virtual_fx_portfolio, Some(true));
}

#[test]
fn portfolio_subaccounts2() {
    let (name, text) = fixture!("GET_portfolio_subaccounts2.json");
    let s: SubAccounts2 = round_trip((name, text));
    assert!(matches!(s, SubAccounts2::List(_)));
    check_account(name, &s.accounts()[0]);
    // The documented page form (no sample): read and written back the same.
    let page = serde_json::json!({
        "metadata": {"total": 1, "pageSize": 20, "pageNum": 0},
        "subaccounts": [{"id": "U1", "accountId": "U1"}]
    });
    let s: SubAccounts2 = serde_json::from_value(page.clone()).unwrap();
    let SubAccounts2::Page(p) = &s else {
        panic!("not a page: {s:?}")
    };
    assert_eq!(p.metadata.as_ref().unwrap().page_size, Some(20));
    assert_eq!(s.accounts()[0].account_id, acct("U1"));
    assert_eq!(serde_json::to_value(&s).unwrap(), page);
}

#[test]
fn portfolio_meta() {
    for sample in [
        fixture!("GET_portfolio_accountId_meta.json"),
        fixture!("spec_examples/GET_portfolio_accountId_meta__200_accountMetaInformation.json"),
    ] {
        let name = sample.0;
        let a: PortfolioAccount = round_trip(sample);
        check_account(name, &a);
    }
    let a: PortfolioAccount = round_trip(fixture!(
        "spec_examples/GET_portfolio_accountId_meta__200_accountMetaInformation.json"
    ));
    assert_eq!(a.account_alias, Some(Some("Retirement".to_string())));
    assert_eq!(a.category, None);
    assert_eq!(a.business_type.as_deref(), Some("IB_SALES"));
}

// --- summary, ledger, allocation ------------------------------------------------------------

fn check_portfolio_summary(sample: (&str, &str)) -> PortfolioSummary {
    let name = sample.0;
    let s: PortfolioSummary = round_trip(sample);
    for (k, v) in &s.values {
        assert_no_extra(name, k, &v.extra);
    }
    s
}

#[test]
fn portfolio_summary() {
    let s = check_portfolio_summary(fixture!("GET_portfolio_accountId_summary.json"));
    assert_eq!(s.net_liquidation(), Some(d("1005165.5")));
    assert_eq!(s.total_cash_value(), Some(d("971869.6")));
    assert_eq!(s.buying_power(), Some(d("3984328.97")));
    assert_eq!(s.init_margin_req(), Some(d("15276.38")));
    assert_eq!(s.account_code(), Some("U1234567"));
    let nl = s.get("netliquidation").unwrap();
    assert_eq!(nl.currency.as_deref(), Some("USD"));
    assert_eq!(nl.value.as_deref(), Some("1005165.5"));
    // Seconds in the recording.
    assert_eq!(nl.timestamp, UnixTime(1775169606));
    assert_eq!(
        nl.timestamp.to_datetime().unwrap().to_rfc3339(),
        "2026-04-02T22:40:06+00:00"
    );

    let s = check_portfolio_summary(fixture!(
        "spec_examples/GET_portfolio_accountId_summary__200_success.json"
    ));
    assert_eq!(s.values.len(), 114);
    assert_eq!(s.net_liquidation(), Some(d("206415536")));
    assert_eq!(s.amount("netliquidation-c"), Some(d("501733.09375")));
    assert_eq!(s.get("accruedcash").unwrap().value, None);
    assert_eq!(
        s.get("accountready").unwrap().value.as_deref(),
        Some("true")
    );
    // Milliseconds in IBKR's example.
    let ts = s.get("accountcode").unwrap().timestamp;
    assert_eq!(ts, UnixTime(1712156105000));
    assert_eq!(
        ts.to_datetime().unwrap().to_rfc3339(),
        "2024-04-03T14:55:05+00:00"
    );
}

fn check_ledger(sample: (&str, &str)) -> Ledger {
    let name = sample.0;
    let l: Ledger = round_trip(sample);
    for (k, v) in &l.currencies {
        assert_no_extra(name, k, &v.extra);
        assert_eq!(&v.currency, k);
        assert_eq!(v.secondkey.as_deref(), Some(k.as_str()));
    }
    l
}

#[test]
fn portfolio_ledger() {
    let l = check_ledger(fixture!("GET_portfolio_accountId_ledger.json"));
    let usd = l.currency("USD").unwrap();
    assert_eq!(usd.cashbalance, Some(d("971869.6")));
    assert_eq!(usd.netliquidationvalue, Some(d("1005165.5")));
    assert_eq!(usd.interest, Some(d("2682.45")));
    assert_eq!(usd.acctcode, Some(acct("U1234567")));
    assert_eq!(usd.timestamp, Some(UnixTime(1775169606)));
    assert_eq!(l.base().unwrap().exchangerate, Some(d("1")));

    let l = check_ledger(fixture!(
        "spec_examples/GET_portfolio_accountId_ledger__200_success.json"
    ));
    let aud = l.currency("AUD").unwrap();
    assert_eq!(aud.exchangerate, Some(d("0.650378")));
    assert_eq!(aud.cashbalance, Some(d("223911.11")));
    assert_eq!(aud.endofbundle, None);
    assert_eq!(l.currency("USD").unwrap().endofbundle, Some(1));
    assert_eq!(l.base().unwrap().stockmarketvalue, Some(d("1202347.1")));
}

fn check_allocation(sample: (&str, &str)) -> Allocation {
    let name = sample.0;
    let a: Allocation = round_trip(sample);
    assert_no_extra(name, "allocation", &a.extra);
    for s in [&a.asset_class, &a.sector, &a.group] {
        assert_no_extra(name, "split", &s.extra);
    }
    a
}

#[test]
fn portfolio_allocation() {
    for sample in [
        fixture!("GET_portfolio_accountId_allocation.json"),
        fixture!("POST_portfolio_allocation.json"),
    ] {
        let a = check_allocation(sample);
        assert_eq!(a.asset_class.long["STK"], d("30613.4"));
        assert_eq!(a.asset_class.long["CASH"], d("971869.6"));
        assert!(a.asset_class.short.is_empty());
        assert_eq!(a.sector.long["Others"], d("30613.4"));
    }
    let a = check_allocation(fixture!(
        "spec_examples/GET_portfolio_accountId_allocation__200_success.json"
    ));
    // 17 significant digits, read exactly (the workspace enables serde_json's
    // `float_roundtrip`; its default fast parser would land one ulp off here).
    assert_eq!(a.asset_class.long["STK"], d("1564447.6240790943"));
    assert_eq!(a.asset_class.short["CASH"], d("-508096.16629793524"));
    assert_eq!(a.group.short["Insurance"], d("-4682.111099481583"));

    let req = AccountsRequest::new(vec![acct("U1234567"), acct("U4567890")]);
    assert_eq!(
        serde_json::to_string(&req).unwrap(),
        r#"{"acctIds":["U1234567","U4567890"]}"#
    );
}

// --- positions ------------------------------------------------------------------------------

fn check_positions(sample: (&str, &str)) -> Vec<Position> {
    let name = sample.0;
    let p: Vec<Position> = round_trip(sample);
    for pos in &p {
        assert_no_extra(name, "position", &pos.extra);
        for r in pos.increment_rules.iter().flatten() {
            assert_no_extra(name, "increment rule", &r.extra);
        }
        if let Some(rule) = &pos.display_rule {
            assert_no_extra(name, "display rule", &rule.extra);
        }
    }
    p
}

#[test]
fn positions_page() {
    let p = check_positions(fixture!("GET_portfolio_accountId_positions_pageId.json"));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].conid, Conid(320227571));
    assert_eq!(p[0].acct_id, acct("U1234567"));
    assert_eq!(p[0].mkt_value, d("1754.04"));
    assert_eq!(p[0].position, d("3"));
    assert_eq!(p[0].avg_cost, d("584.31333335"));
    assert_eq!(p[0].asset_class, SecType::Stk);
    assert_eq!(p[0].strike, MixedDecimal::Number(d("0.0")));
    assert_eq!(p[0].multiplier, None);
    assert_eq!(p[0].und_conid, Some(Conid(0)));

    assert!(
        check_positions(fixture!(
            "GET_portfolio_accountId_positions_pageId__GET-portfolio-positions-empty.json"
        ))
        .is_empty()
    );

    let p = check_positions(fixture!(
        "GET_portfolio_accountId_positions_pageId__tsbernar2022.json"
    ));
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].conid, Conid(265598));
    assert_eq!(p[0].position, d("19.1"));
    assert_eq!(p[0].realized_pnl, d("-271.36"));
    assert_eq!(p[1].position, d("0.2"));
    assert_eq!(p[1].mkt_value, d("27.3"));
    assert_eq!(p[0].model, None);

    let p = check_positions(fixture!(
        "spec_examples/GET_portfolio_accountId_positions_pageId__200_positions.json"
    ));
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].asset_class, SecType::Crypto);
    assert_eq!(p[0].position, d("0.00365831"));
    let opt = &p[1];
    assert_eq!(opt.conid, Conid(584891614));
    assert_eq!(opt.put_or_call, Some(Right::Call));
    assert_eq!(opt.strike, MixedDecimal::Text(d("440")));
    assert_eq!(opt.strike.value(), d("440"));
    assert_eq!(opt.multiplier, Some(d("100.0")));
    assert_eq!(opt.expiry.as_deref(), Some("20250117"));
    assert_eq!(opt.und_conid, Some(Conid(756733)));
    assert_eq!(opt.last_trading_day, Some(Some("20250117".to_string())));
    assert_eq!(opt.cross_currency, Some(false));
    let ibm = &p[2];
    assert_eq!(ibm.sector, Some(Some("Technology".to_string())));
    assert_eq!(ibm.last_trading_day, Some(None));
    assert_eq!(ibm.stock_type.as_deref(), Some("COMMON"));
    assert_eq!(
        ibm.increment_rules.as_ref().unwrap()[0].increment,
        d("0.01")
    );
}

#[test]
fn position_by_conid() {
    let p = check_positions(fixture!("GET_portfolio_accountId_position_conid.json"));
    assert_eq!(p[0].conid, Conid(756733));
    assert_eq!(p[0].mkt_value, d("28859.36"));
    assert_eq!(p[0].unrealized_pnl, d("150.47"));
    assert_eq!(p[0].strike, MixedDecimal::Text(d("0")));
    assert_eq!(p[0].stock_type.as_deref(), Some("ETF"));
    assert_eq!(p[0].page_size, Some(100));

    let p = check_positions(fixture!(
        "spec_examples/GET_portfolio_accountid_position_conid__200_individualPositionOpt.json"
    ));
    assert_eq!(p[0].position, d("-1"));
    assert_eq!(p[0].put_or_call, Some(Right::Put));
    assert_eq!(p[0].und_conid, Some(Conid(107113386)));
    let p = check_positions(fixture!(
        "spec_examples/GET_portfolio_accountid_position_conid__200_individualPositionStk.json"
    ));
    assert_eq!(p[0].conid, Conid(8314));
    assert_eq!(p[0].mkt_value, d("261468.5"));
    let p = check_positions(fixture!(
        "spec_examples/GET_portfolio_accountid_position_conid__200_individualPositionWithNoSecDef.json"
    ));
    assert_eq!(p[0].asset_class, SecType::Opt);
    assert_eq!(p[0].put_or_call, None);
    assert_eq!(p[0].ticker, None);
}

fn check_by_account(sample: (&str, &str)) -> PositionsByAccount {
    let name = sample.0;
    let m: PositionsByAccount = round_trip(sample);
    for (a, ps) in &m {
        for p in ps {
            assert_no_extra(name, "position", &p.extra);
            assert_eq!(&p.acct_id, a);
        }
    }
    m
}

#[test]
fn positions_by_conid() {
    let m = check_by_account(fixture!("GET_portfolio_positions_conid.json"));
    assert_eq!(m.len(), 2);
    let c = &m[&acct("U1234567C")][0];
    assert_eq!(c.conid, Conid(756733));
    assert_eq!(c.strike, MixedDecimal::Number(d("0.0")));
    assert_eq!(m[&acct("U1234567")][0].strike, MixedDecimal::Text(d("0")));

    let m = check_by_account(fixture!(
        "spec_examples/GET_portfolio_positions_conid__200_withPartialSecDefForSomeAccount.json"
    ));
    assert_eq!(m[&acct("DU123456")][0].mkt_value, d("235465.11"));
    assert_eq!(m[&acct("DU123457")][0].ticker, None);
    let m = check_by_account(fixture!(
        "spec_examples/GET_portfolio_positions_conid__200_withSecDefForAllAccounts.json"
    ));
    assert!(m.values().all(|ps| ps[0].ticker.is_some()));
}

#[test]
fn portfolio2_positions() {
    let (name, text) = fixture!("GET_portfolio2_accountId_positions.json");
    let p: Vec<Position2> = round_trip((name, text));
    for pos in &p {
        assert_no_extra(name, "position", &pos.extra);
    }
    assert_eq!(p[0].conid, Conid(320227571));
    assert_eq!(p[1].conid, Conid(756733));
    assert_eq!(p[1].position, d("44"));
    assert_eq!(p[1].market_value, d("28859.362060546875"));
    assert_eq!(p[1].unrealized_pnl, d("150.47206054687558"));
    assert_eq!(p[1].sec_type, SecType::Stk);
    assert_eq!(p[1].sector, Some(None));
    assert_eq!(p[1].timestamp, Some(UnixTime(1775169611)));
    assert_eq!(p[1].is_last_to_loq, Some(false));
}

#[test]
fn combo_positions() {
    let (name, text) = fixture!("GET_portfolio_accountId_combo_positions.json");
    let c: Vec<ComboPosition> = round_trip((name, text));
    assert!(c.is_empty());
    // The example of IBKR's docs (no recording with combos).
    let doc = r#"[{"name":"CP.CP66a00d50","description":"1*708474422-1*710225103",
      "legs":[{"conid":"708474422","ratio":1},{"conid":"710225103","ratio":-1}],
      "positions":[{"acctId":"U1234567","conid":708474422,"contractDesc":"SPX AUG2024 5555 P [SPX 240816P05555000 100]",
      "position":1.0,"mktPrice":59.6571617,"mktValue":5965.72,"currency":"USD","avgCost":6011.70935,
      "avgPrice":60.1170935,"realizedPnl":0.0,"unrealizedPnl":-45.99,"exchs":null,"expiry":null,
      "putOrCall":null,"multiplier":null,"strike":0.0,"exerciseStyle":null,"conExchMap":[],
      "assetClass":"OPT","undConid":0}]}]"#;
    let c: Vec<ComboPosition> = round_trip(("combo doc example", doc));
    assert_no_extra("combo", "combo", &c[0].extra);
    assert_eq!(c[0].legs[1].conid, Conid(710225103));
    assert_eq!(c[0].legs[1].ratio, -1);
    assert_eq!(c[0].positions[0].avg_price, d("60.1170935"));
}

#[test]
fn positions_invalidate() {
    for sample in [
        fixture!("POST_portfolio_accountId_positions_invalidate.json"),
        fixture!("POST_portfolio_accountId_positions_invalidate__tsbernar2022.json"),
        fixture!("spec_examples/POST_portfolio_accountId_positions_invalidate__200_success.json"),
    ] {
        let name = sample.0;
        let r: InvalidateResponse = round_trip(sample);
        assert_no_extra(name, "invalidate", &r.extra);
        assert!(r.is_success());
        assert_eq!(r, InvalidateResponse::success());
    }
}

// --- Portfolio Analyst ----------------------------------------------------------------------

fn check_performance(sample: (&str, &str)) -> Performance {
    let name = sample.0;
    let p: Performance = round_trip(sample);
    assert_no_extra(name, "performance", &p.extra);
    for s in [&p.cps, &p.tpps, &p.nav].into_iter().flatten() {
        assert_no_extra(name, "series", &s.extra);
        for data in &s.data {
            assert_no_extra(name, "data", &data.extra);
            if let Some(n) = &data.start_nav {
                assert_no_extra(name, "startNAV", &n.extra);
            }
        }
    }
    p
}

#[test]
fn pa_performance() {
    let p = check_performance(fixture!("POST_pa_performance.json"));
    assert_eq!(p.nd, Some(32));
    assert_eq!(p.pm.as_deref(), Some("TWR"));
    let nav = p.nav.as_ref().unwrap();
    assert_eq!(nav.dates.len(), 3);
    let data = &nav.data[0];
    assert_eq!(data.navs.as_ref().unwrap()[0], d("1002417.8"));
    assert_eq!(data.start_nav.as_ref().unwrap().val, d("1002158.75"));
    let cps = p.cps.as_ref().unwrap();
    assert_eq!(cps.data[0].returns.as_ref().unwrap()[2], d("0.00043082"));
    assert_eq!(p.tpps.as_ref().unwrap().freq.as_deref(), Some("M"));

    let p = check_performance(fixture!(
        "spec_examples/POST_pa_performance__200_success.json"
    ));
    assert_eq!(p.rc, Some(0));
    assert_eq!(
        p.cps.as_ref().unwrap().data[0].returns.as_ref().unwrap()[0],
        d("0")
    );
    assert_eq!(p.included, Some(vec![acct("U1234567")]));

    let req = PerformanceRequest::new(vec![acct("U1234567")], PaPeriod::OneDay);
    assert_eq!(
        serde_json::to_string(&req).unwrap(),
        r#"{"acctIds":["U1234567"],"period":"1D"}"#
    );
}

fn check_all_periods(sample: (&str, &str)) -> AllPeriods {
    let name = sample.0;
    let a: AllPeriods = round_trip(sample);
    assert_no_extra(name, "all periods", &a.extra);
    for acct in a.accounts.values() {
        assert_no_extra(name, "account periods", &acct.extra);
        assert_eq!(acct.by_period.len(), acct.periods.len());
        for p in acct.by_period.values() {
            assert_no_extra(name, "period", &p.extra);
            assert_eq!(p.dates.len(), p.nav.len());
            assert_eq!(p.dates.len(), p.cps.len());
        }
    }
    a
}

#[test]
fn pa_all_periods() {
    let a = check_all_periods(fixture!("POST_pa_allperiods.json"));
    assert_eq!(a.nd, Some(60));
    assert_eq!(a.view, Some(vec![acct("U1234567")]));
    let u = &a.accounts[&acct("U1234567")];
    assert_eq!(u.base_currency.as_deref(), Some("USD"));
    assert_eq!(u.periods, [PaPeriod::OneDay, PaPeriod::SevenDays]);
    assert_eq!(
        u.last_successful_update.as_deref(),
        Some("2026-04-02 22:40:19")
    );
    let day = u.period(&PaPeriod::OneDay).unwrap();
    assert_eq!(day.nav[0], d("1005168.74035"));
    assert_eq!(day.start_nav.as_ref().unwrap().val, d("1005037.01"));
    let week = u.period(&PaPeriod::SevenDays).unwrap();
    assert_eq!(week.cps[0], d("0.00008616"));

    let a = check_all_periods(fixture!(
        "spec_examples/POST_pa_allperiods__200_allperiods.json"
    ));
    let u = &a.accounts[&acct("DU123456")];
    assert_eq!(u.periods.len(), 6);
    assert_eq!(u.period(&PaPeriod::OneYear).unwrap().dates.len(), 263);
    assert_eq!(
        u.period(&PaPeriod::MonthToDate)
            .unwrap()
            .start_nav
            .as_ref()
            .unwrap()
            .val,
        d("1491508.085")
    );
    assert_eq!(
        serde_json::to_string(&AccountsRequest::new(vec![acct("U1")])).unwrap(),
        r#"{"acctIds":["U1"]}"#
    );
}

fn check_transactions(sample: (&str, &str)) -> Transactions {
    let name = sample.0;
    let t: Transactions = round_trip(sample);
    assert_no_extra(name, "transactions", &t.extra);
    let rpnl = t.rpnl.as_ref().unwrap();
    assert_no_extra(name, "rpnl", &rpnl.extra);
    for e in &rpnl.data {
        assert_no_extra(name, "rpnl entry", &e.extra);
    }
    for tr in &t.transactions {
        assert_no_extra(name, "transaction", &tr.extra);
    }
    t
}

#[test]
fn pa_transactions() {
    let t = check_transactions(fixture!("POST_pa_transactions.json"));
    assert_eq!(t.from, Some(EpochMillis(1772496000000)));
    assert_eq!(t.rpnl.as_ref().unwrap().amt, d("0.0"));
    assert_eq!(t.transactions.len(), 2);
    let tr = &t.transactions[1];
    assert_eq!(tr.conid, Conid(756733));
    assert_eq!(tr.kind, TransactionType::Buy);
    assert_eq!(tr.qty, d("18"));
    assert_eq!(tr.pr, d("654.975"));
    assert_eq!(tr.amt, d("-11789.55"));
    assert_eq!(tr.raw_date.as_deref(), Some("20260401"));
    assert_eq!(tr.acctid, acct("U1234567"));

    let t = check_transactions(fixture!(
        "spec_examples/POST_pa_transactions__200_success.json"
    ));
    assert_eq!(t.includes_real_time, Some(true));
    let e = &t.rpnl.as_ref().unwrap().data[0];
    assert_eq!(e.amt, d("12.2516"));
    assert_eq!(e.conid, Some(Conid(265598)));
    let tr = &t.transactions[0];
    assert_eq!(tr.kind, TransactionType::Sell);
    assert_eq!(tr.qty, d("-5"));
    assert_eq!(tr.raw_date, None);

    let req = TransactionsRequest::new(vec![acct("U1234567")], Conid(265598));
    assert_eq!(
        serde_json::to_string(&req).unwrap(),
        r#"{"acctIds":["U1234567"],"conids":[265598]}"#
    );
}

/// Every fixture in `tests/fixtures/portfolio/` is decoded by a test above.
#[test]
fn every_fixture_is_tested() {
    let tested: BTreeSet<&str> = include_str!("decode_portfolio.rs")
        .split("fixture!(")
        .skip(1)
        .filter_map(|s| s.trim_start().strip_prefix('"')?.split('"').next())
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/portfolio");
    let mut missing = Vec::new();
    let mut count = 0;
    for sub in ["", "spec_examples/"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            if file.ends_with(".json") {
                count += 1;
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
    assert_eq!(count, 58);
}
