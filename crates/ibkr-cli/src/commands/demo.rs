//! `ibkr demo`: the authentication tutorial, run against an embedded simulator.

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Days, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use ibkr_api::contracts::ContractFilter;
use ibkr_api::model::market_data::{HistoryRequest, MarketDataField};
use ibkr_api::model::orders::OrderStatus;
use ibkr_api::session::{KeeperConfig, SessionState};
use ibkr_api::streaming::{Event, OrderSubscription};
use ibkr_api::{Client, Decimal, Placement, ReauthOutcome};
use ibkr_sim::{Gateway, GatewayConfig};

use crate::commands::auth::{outcome_words, sso_rows, status_rows, tickle_rows};
use crate::commands::stream;
use crate::output::{key_values, opt};

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

/// The simulated market's clock for the demo: 11:00 New York on the latest weekday
/// at or before `now`, so that US stocks trade and the demo's order fills whatever the
/// time of day.
fn demo_market_time(now: DateTime<Utc>) -> DateTime<Utc> {
    let eleven = NaiveTime::from_hms_opt(11, 0, 0).unwrap_or(NaiveTime::MIN);
    let mut day = now.with_timezone(&New_York).date_naive();
    for _ in 0..8 {
        let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if let Some(t) = New_York
            .from_local_datetime(&day.and_time(eleven))
            .earliest()
        {
            let t = t.with_timezone(&Utc);
            if weekday && t <= now {
                return t;
            }
        }
        day -= Days::days(1);
    }
    now
}

pub async fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    println!("ibkr demo: the Client Portal Web API session, against a simulated gateway");
    println!("=========================================================================");
    let market_time = demo_market_time(Utc::now());
    let gw = Gateway::start(GatewayConfig::for_tests().market_time(market_time)).await?;
    println!(
        "A simulated Client Portal Gateway is serving {} (HTTPS, self-signed certificate),",
        gw.url()
    );
    println!("logged in as user `demo`, as if you had logged in through its web page.");
    println!(
        "Its market clock starts at {} New York (regular hours), so that orders fill.",
        market_time
            .with_timezone(&New_York)
            .format("%a %Y-%m-%d %H:%M")
    );
    let client = Client::builder().gateway(gw.url().as_str()).build()?;
    let mut steps = Steps { n: 0, total: 18 };

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
    let aapl_last = q
        .quotes
        .iter()
        .find(|x| x.conid == aapl)
        .and_then(|x| x.last)
        .ok_or("no last price for AAPL")?;
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
        "A few seconds of live quotes",
        "client.stream()  ->  wss://.../v1/api/ws; streamer.quotes(&[aapl, spy], &fields)  ->  smd+{conid}+{fields}",
    );
    let streamer = client.stream().await?;
    let mut live = streamer.quotes(
        &[aapl, spy],
        &[
            MarketDataField::Symbol,
            MarketDataField::Last,
            MarketDataField::Bid,
            MarketDataField::Ask,
        ],
    );
    let mut updates = 0;
    let two_seconds = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(two_seconds);
    loop {
        tokio::select! {
            _ = &mut two_seconds => break,
            e = live.recv() => match e {
                Some(Event::Update(q)) => {
                    updates += 1;
                    if updates <= 6 {
                        say(&format!(
                            "{:<5} last {}  bid {}  ask {}",
                            q.symbol.clone().unwrap_or_else(|| q.conid.to_string()),
                            opt(&q.last),
                            opt(&q.bid),
                            opt(&q.ask)
                        ));
                    }
                }
                Some(Event::Gap(g)) => say(&format!("gap since {}: {}", g.since, g.reason)),
                Some(_) => {}
                None => break,
            },
        }
    }
    drop(live);
    say(&format!(
        "{updates} updates in 2 s, each the contract's whole quote merged from frames that carry only the changes"
    ));
    say("(dropping the subscription unsubscribed: umd+{conid}+{}; try `ibkr stream quotes AAPL`)");
    // Order updates, subscribed before the order is placed so that none is missed.
    let mut order_updates = streamer.orders();

    steps.next(
        "The paper account",
        "client.portfolio_accounts(), portfolio_summary(&acct), all_positions(&acct)  ->  /portfolio/...",
    );
    let accounts = client.portfolio_accounts().await?;
    let acct = accounts
        .first()
        .map(|a| a.id.clone())
        .ok_or("the paper broker lists no account")?;
    let mut aapl_before = Decimal::ZERO;
    let s = client.portfolio_summary(&acct).await?;
    let money = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or("-".into());
    say(&format!(
        "{acct}: net liquidation {}, cash {}, buying power {}",
        money(s.net_liquidation()),
        money(s.total_cash_value()),
        money(s.buying_power())
    ));
    for p in client.all_positions(&acct).await? {
        if p.conid == aapl {
            aapl_before = p.position;
        }
        say(&format!(
            "{:<5} {:>6} @ {:<10} value {:<10} unrealized P&L {}",
            p.contract_desc,
            p.position,
            p.mkt_price.round_dp(2),
            p.mkt_value,
            p.unrealized_pnl
        ));
    }

    trade(
        &client,
        &mut steps,
        &mut order_updates,
        &acct,
        (aapl, aapl_last, aapl_before),
    )
    .await?;
    // The socket closes before the session ends.
    drop(order_updates);
    drop(streamer);

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

/// The trading steps: a limit order that IBKR questions, the confirmation, the fill,
/// the new position and the execution.
async fn trade(
    client: &Client,
    steps: &mut Steps,
    order_updates: &mut OrderSubscription,
    acct: &ibkr_api::model::accounts::AccountId,
    (aapl, last, before): (ibkr_api::model::contracts::Conid, Decimal, Decimal),
) -> Result<(), Box<dyn std::error::Error>> {
    // 5 % above the last price: a marketable buy limit (it fills at the ask), but
    // beyond the 3 % price constraint of the login's precautionary settings.
    let limit = (last * Decimal::new(105, 2)).round_dp(2);
    steps.next(
        "Place a limit order: IBKR asks a question first",
        "client.order(&acct).buy(aapl, 10).limit(p).place()  ->  POST /iserver/account/{acct}/orders",
    );
    say(&format!(
        "buy 10 AAPL, limit {limit}: 5% above the last price {last}, so it fills at once"
    ));
    let placement = client
        .order(acct)
        .buy(aapl, 10)
        .limit(limit)
        .place()
        .await?;
    let Placement::NeedsConfirmation {
        reply_id,
        prompts,
        messages,
        coid,
        ..
    } = placement
    else {
        return Err(format!("expected a prompt, got {placement:?}").into());
    };
    say(&format!(
        "cOID {coid} (the key that finds the order whatever happens)"
    ));
    for (id, m) in prompts.iter().zip(&messages) {
        say(&format!("IBKR asks ({id}):"));
        for line in m.lines() {
            say(&format!("  | {line}"));
        }
    }
    say("(`ibkr order buy` asks y/N at a terminal; --yes or --accept o163 confirm it)");

    steps.next(
        "Confirm it, and wait for the fill",
        "client.confirm(&reply_id)  ->  POST /iserver/reply/{id}; client.order_status(id)",
    );
    let placed = match client.confirm(&reply_id).await? {
        Placement::Placed(p) => p,
        other => return Err(format!("expected the order placed, got {other:?}").into()),
    };
    let order = placed.first().ok_or("no order in the answer")?;
    say(&format!(
        "order {} accepted: {}",
        order.order_id,
        order
            .status
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    ));
    let filled = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let s = client.order_status(order.order_id).await?;
            if s.order_status == OrderStatus::Filled {
                return Ok::<_, ibkr_api::Error>(s);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await
    .map_err(|_| "the order did not fill within 10 s")??;
    say(&format!(
        "{}: {} at an average {}",
        filled.order_status,
        filled
            .order_description_with_contract
            .clone()
            .unwrap_or_default(),
        filled
            .avg_price()
            .map(|p| p.to_string())
            .unwrap_or_default()
    ));
    let live = client
        .live_orders(&ibkr_api::model::orders::LiveOrdersQuery::new())
        .await?;
    if let Some(o) = live.get(order.order_id) {
        say(&format!(
            "live orders: {} {}  cOID {}",
            o.order_id,
            o.status
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            o.order_ref.as_deref().unwrap_or("-")
        ));
    }

    steps.next(
        "The same order on the stream",
        "streamer.orders() (subscribed before placing)  ->  sor+{}",
    );
    let order_id = order.order_id;
    let streamed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = order_updates.recv().await {
            match event {
                Event::Update(u) if u.order.order_id == order_id => {
                    say(&format!("sor: {}", stream::order_line(&u)));
                    if u.order.status == Some(OrderStatus::Filled) {
                        return true;
                    }
                }
                Event::Gap(g) => say(&format!("gap since {}: {}", g.since, g.reason)),
                _ => {}
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    if !streamed {
        say("(no Filled update within 5 s)");
    }

    steps.next(
        "The new position",
        "client.all_positions(&acct)  ->  GET /portfolio/{acct}/positions/{page}",
    );
    let after = client
        .all_positions(acct)
        .await?
        .into_iter()
        .find(|p| p.conid == aapl)
        .ok_or("no AAPL position after the fill")?;
    say(&format!(
        "AAPL {} (was {before}), average cost {}, value {}",
        after.position,
        after.avg_cost.round_dp(2),
        after.mkt_value
    ));

    steps.next(
        "The trade",
        "client.trades(None)  ->  GET /iserver/account/trades",
    );
    for t in client
        .trades(None)
        .await?
        .iter()
        .filter(|t| t.order_ref.as_deref() == Some(coid.as_str()))
    {
        say(&format!(
            "{}  {}  commission {}  net {}  cOID {}",
            t.trade_time.as_deref().unwrap_or("-"),
            t.order_description.as_deref().unwrap_or("-"),
            t.commission.map(|c| c.to_string()).unwrap_or_default(),
            t.net_amount.map(|n| n.to_string()).unwrap_or_default(),
            coid
        ));
    }
    Ok(())
}
