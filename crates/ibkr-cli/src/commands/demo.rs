//! `ibkr demo`: the authentication tutorial, run against an embedded simulator.

use std::process::ExitCode;
use std::time::Duration;

use ibkr_api::contracts::ContractFilter;
use ibkr_api::model::market_data::{HistoryRequest, MarketDataField};
use ibkr_api::session::{KeeperConfig, SessionState};
use ibkr_api::{Client, ReauthOutcome};
use ibkr_sim::{Gateway, GatewayConfig};

use crate::commands::auth::{outcome_words, sso_rows, status_rows, tickle_rows};
use crate::output::key_values;

struct Steps {
    n: usize,
    total: usize,
}

impl Steps {
    fn next(&mut self, title: &str, call: &str) {
        self.n += 1;
        println!();
        println!("[{}/{}] {title}", self.n, self.total);
        if !call.is_empty() {
            println!("      {call}");
        }
    }
}

fn show(rows: Vec<(&'static str, String)>) {
    for line in key_values(&rows).lines() {
        println!("      {line}");
    }
}

fn say(text: &str) {
    println!("      {text}");
}

pub async fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    println!("ibkr demo: the Client Portal Web API session, against a simulated gateway");
    println!("=========================================================================");
    let gw = Gateway::start(GatewayConfig::for_tests()).await?;
    println!(
        "A simulated Client Portal Gateway is serving {} (HTTPS, self-signed certificate),",
        gw.url()
    );
    println!("logged in as user `demo`, as if you had logged in through its web page.");
    let client = Client::builder().gateway(gw.url().as_str()).build()?;
    let mut steps = Steps { n: 0, total: 12 };

    steps.next(
        "Check the authentication status",
        "client.check_auth_status()  ->  POST /iserver/auth/status",
    );
    let s = client.check_auth_status().await?;
    show(status_rows(&s));

    steps.next(
        "Ping the server to keep the session open",
        "client.ping_server()  ->  POST /tickle",
    );
    let t = client.ping_server().await?;
    show(tickle_rows(&t));

    steps.next(
        "Validate the SSO session",
        "client.validate_sso()  ->  GET /sso/validate",
    );
    let v = client.validate_sso().await?;
    show(sso_rows(&v));

    steps.next(
        "Keep the session alive with the session keeper",
        "client.keep_alive_with(KeeperConfig::every(250 ms))  (60 s in production)",
    );
    let keeper = client.keep_alive_with(KeeperConfig::every(Duration::from_millis(250)));
    let state = keeper.wait_for(|s| *s != SessionState::Starting).await;
    say(&format!("keeper: {state}"));
    say("the gateway loses the brokerage session (as in IBKR's nightly reset)...");
    gw.drop_brokerage_session();
    let mut rx = keeper.subscribe();
    let recovered = tokio::time::timeout(Duration::from_secs(10), async {
        // The keeper notices at its next tickle and re-initialises the session.
        while rx.changed().await.is_ok() {
            let s = rx.borrow().clone();
            say(&format!("keeper: {s}"));
            if s.is_authenticated() {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    if !recovered {
        let s = client.check_auth_status().await?;
        say(&format!(
            "keeper: {} (restored before the next change was seen)",
            if s.authenticated {
                "authenticated"
            } else {
                "not authenticated"
            }
        ));
    }
    drop(keeper);
    say("keeper stopped (its handle was dropped)");

    steps.next(
        "The brokerage session expires",
        "(simulator control API: drop the brokerage session)",
    );
    gw.drop_brokerage_session();
    let s = client.check_auth_status().await?;
    show(status_rows(&s));
    match client
        .raw(ibkr_api::Method::GET, "/iserver/accounts", None)
        .await
    {
        Err(e) => say(&format!("a brokerage call now fails: {e}")),
        Ok(_) => say("a brokerage call unexpectedly worked"),
    }

    steps.next(
        "Re-authenticate: status -> reauthenticate -> validate SSO",
        "client.handle_reauthentication()",
    );
    let outcome = client.handle_reauthentication().await?;
    let (word, reason) = outcome_words(&outcome);
    say(&format!(
        "outcome: {word}{}",
        reason.map(|r| format!(" ({r})")).unwrap_or_default()
    ));
    let s = client.check_auth_status().await?;
    show(status_rows(&s));
    if !matches!(outcome, ReauthOutcome::Reauthenticated) {
        return Err("the re-authentication flow did not restore the session".into());
    }

    steps.next(
        "Make sure the session is usable before trading",
        "client.ensure_authenticated()",
    );
    let o = client.ensure_authenticated().await?;
    say(match o {
        ibkr_api::AuthOutcome::AlreadyAuthenticated => "authenticated: nothing to do",
        ibkr_api::AuthOutcome::Reauthenticated => "re-authenticated",
        _ => "authenticated",
    });

    steps.next(
        "Find a contract",
        "client.resolve_symbol(\"AAPL\", &ContractFilter::default())  ->  GET /iserver/secdef/search",
    );
    let aapl = client
        .resolve_symbol("AAPL", &ContractFilter::default())
        .await?;
    let spy = client
        .resolve_symbol("SPY", &ContractFilter::default())
        .await?;
    let info = client.contract_info(aapl).await?;
    say(&format!(
        "AAPL is conid {aapl} ({}, {} {}); SPY is conid {spy}",
        info.company_name, info.exchange, info.currency
    ));

    steps.next(
        "Quote it",
        "client.quotes(&[aapl, spy], &fields, 10 s)  ->  GET /iserver/accounts, then /iserver/marketdata/snapshot until the fields arrive",
    );
    let fields = [
        MarketDataField::Symbol,
        MarketDataField::Last,
        MarketDataField::Bid,
        MarketDataField::Ask,
        MarketDataField::Volume,
        MarketDataField::ChangePct,
    ];
    let q = client
        .quotes(&[aapl, spy], &fields, Duration::from_secs(10))
        .await?;
    for quote in &q.quotes {
        let price =
            |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or("-".into());
        say(&format!(
            "{:<5} last {}{}  bid {}  ask {}  volume {}  change {}%",
            quote
                .symbol
                .clone()
                .unwrap_or_else(|| quote.conid.to_string()),
            price(quote.last),
            if quote.last_is_prior_close {
                " (prior close)"
            } else {
                ""
            },
            price(quote.bid),
            price(quote.ask),
            price(quote.volume),
            price(quote.change_pct),
        ));
    }
    say(&format!(
        "(snapshot requests: {}; the first only opened the streams)",
        client
            .pacing_metrics()
            .classes
            .get("snapshot")
            .map(|m| m.sent)
            .unwrap_or(0)
    ));

    steps.next(
        "Its history",
        "client.history(&HistoryRequest::new(aapl, \"1w\", \"1d\"))  ->  GET /iserver/marketdata/history",
    );
    let h = client
        .history(&HistoryRequest::new(aapl, "1w", "1d"))
        .await?;
    for b in &h.data {
        say(&format!(
            "{}  open {}  high {}  low {}  close {}",
            b.time
                .to_datetime()
                .map(|t| t.format("%a %Y-%m-%d").to_string())
                .unwrap_or_default(),
            b.open,
            b.high,
            b.low,
            b.close
        ));
    }

    steps.next(
        "The paper account",
        "client.portfolio_accounts(), portfolio_summary(&acct), all_positions(&acct)  ->  /portfolio/...",
    );
    let accounts = client.portfolio_accounts().await?;
    if let Some(acct) = accounts.first().map(|a| a.id.clone()) {
        let s = client.portfolio_summary(&acct).await?;
        let money =
            |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or("-".into());
        say(&format!(
            "{acct}: net liquidation {}, cash {}, buying power {}",
            money(s.net_liquidation()),
            money(s.total_cash_value()),
            money(s.buying_power())
        ));
        for p in client.all_positions(&acct).await? {
            say(&format!(
                "{:<5} {:>6} @ {:<10} value {:<10} unrealized P&L {}",
                p.contract_desc,
                p.position,
                p.mkt_price.round_dp(2),
                p.mkt_value,
                p.unrealized_pnl
            ));
        }
    }

    steps.next("End the session", "client.end_session()  ->  POST /logout");
    let r = client.end_session().await?;
    say(&format!("logged out: {}", r.status));
    let s = client.check_auth_status().await?;
    show(status_rows(&s));
    match client.ping_server().await {
        Err(e) => say(&format!("a tickle now fails: {e}")),
        Ok(_) => say("a tickle unexpectedly worked"),
    }

    gw.shutdown().await;
    println!();
    println!("Done. Against a real gateway: start it, log in at https://localhost:5000, then");
    println!("`ibkr auth status`. Run `ibkr --help` for every command.");
    Ok(ExitCode::SUCCESS)
}
