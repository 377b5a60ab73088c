//! Streaming over the simulator's WebSocket: quotes merged from change-only frames,
//! unsubscription on drop, reconnection after a dropped or silent socket, recovery from
//! a lost brokerage session, order updates complete across drops, and bounded buffers
//! for a slow consumer. The simulator's heartbeat and the client's silence bound are
//! shortened so that every test takes seconds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures_util::StreamExt;
use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::market_data::{MarketDataField, Quote};
use ibkr_api::model::orders::{OrderId, OrderStatus};
use ibkr_api::streaming::{
    Event, GapReason, Notice, OrderUpdate, StreamConfig, Streamer, Subscription,
};
use ibkr_api::{Client, Decimal, PacingTable, Placement};
use ibkr_sim::{BrokerageState, Gateway, GatewayConfig, WsSettings};

const AAPL: Conid = Conid(265598);
const MSFT: Conid = Conid(272093);
const ACCOUNT: &str = "DU1234567";

/// The client's silence bound in these tests (the simulator's heartbeat is 150 ms).
const SILENCE: Duration = Duration::from_millis(600);

const FIELDS: [MarketDataField; 5] = [
    MarketDataField::Last,
    MarketDataField::Bid,
    MarketDataField::Ask,
    MarketDataField::BidSize,
    MarketDataField::AskSize,
];

/// A Wednesday, 15:00 UTC: US markets open.
fn open_market() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap()
}

async fn setup() -> (Gateway, Client, Streamer) {
    let gw = Gateway::start(GatewayConfig::for_tests().market_time(open_market()))
        .await
        .unwrap();
    gw.ws_configure(
        WsSettings::default()
            .heartbeat(Duration::from_millis(150))
            .market_data_every(Duration::from_millis(100))
            .pnl_every(Duration::from_millis(200))
            .ledger_every(Duration::from_millis(300))
            .status_every(Duration::from_millis(50)),
    );
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let config = StreamConfig::default()
        .heartbeat(Duration::from_millis(150))
        .silence_timeout(SILENCE)
        .tic_every(Duration::from_millis(500))
        .backoff(Duration::from_millis(50), Duration::from_millis(400));
    let streamer = client.stream_with(config).await.unwrap();
    (gw, client, streamer)
}

/// Fails instead of hanging.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("did not finish in time")
}

async fn next_quote(sub: &mut Subscription<Quote>) -> Quote {
    match within(10, sub.next()).await.expect("the stream ended") {
        Event::Update(q) => q,
        other => panic!("unexpected event {other:?}"),
    }
}

/// Reads until a gap comes, then returns it with the first quote after it.
async fn gap_then_quote(sub: &mut Subscription<Quote>) -> (ibkr_api::streaming::Gap, Quote) {
    let gap = loop {
        match within(15, sub.next()).await.expect("the stream ended") {
            Event::Gap(g) => break g,
            Event::Update(_) => continue,
            other => panic!("unexpected event {other:?}"),
        }
    };
    (gap, next_quote(sub).await)
}

fn has_all_fields(q: &Quote) -> bool {
    q.last.is_some()
        && q.bid.is_some()
        && q.ask.is_some()
        && q.bid_size.is_some()
        && q.ask_size.is_some()
}

fn smd_topics(gw: &Gateway) -> Vec<String> {
    gw.ws_subscriptions()
        .into_iter()
        .flatten()
        .filter(|t| t.starts_with("smd+"))
        .collect()
}

/// Waits (polling) until `f` holds.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn quotes_arrive_merged_from_frames_that_carry_only_changes() {
    let (gw, client, streamer) = setup().await;
    let mut raw = streamer.raw("smd+265598");
    let mut quotes = streamer.quotes(&[AAPL], &FIELDS);

    let first = next_quote(&mut quotes).await;
    assert_eq!(first.conid, AAPL);
    assert!(has_all_fields(&first), "{first:?}");
    let (bid, ask, last) = (first.bid.unwrap(), first.ask.unwrap(), first.last.unwrap());
    assert!(bid <= ask && bid > Decimal::ZERO, "{first:?}");
    assert!(!first.last_is_prior_close, "the market is open");
    // The figures are the price engine's: the REST snapshot agrees to within a move.
    let rest = client
        .quotes(&[AAPL], &[MarketDataField::Last], Duration::from_secs(5))
        .await
        .unwrap();
    let rest_last = rest.quotes[0].last.unwrap();
    assert!(
        (rest_last - last).abs() / last < Decimal::new(1, 2),
        "{rest_last} vs {last}"
    );

    // On the wire: the first frame has every field, later ones only what changed.
    let frame = within(10, raw.next()).await.unwrap();
    for f in ["31", "84", "86", "85", "88"] {
        assert!(frame.get(f).is_some(), "first frame lacks {f}: {frame}");
    }
    let mut partial = None;
    for _ in 0..100 {
        let f = within(10, raw.next()).await.unwrap();
        let n = ["31", "84", "86", "85", "88"]
            .iter()
            .filter(|k| f.get(**k).is_some())
            .count();
        if n < 5 {
            partial = Some(f);
            break;
        }
    }
    let partial = partial.expect("a frame with only some fields");
    assert_eq!(partial["topic"], "smd+265598");
    // ... and the quotes stay whole.
    for _ in 0..5 {
        let q = next_quote(&mut quotes).await;
        assert!(has_all_fields(&q), "{q:?}");
    }
    assert_eq!(smd_topics(&gw), ["smd+265598"]);
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes() {
    let (gw, _client, streamer) = setup().await;
    let mut both = streamer.quotes(&[AAPL, MSFT], &FIELDS);
    let keep = streamer.quotes(&[MSFT], &[MarketDataField::Last]);
    next_quote(&mut both).await;
    eventually("both contracts streamed", || {
        smd_topics(&gw) == ["smd+265598", "smd+272093"]
    })
    .await;

    drop(both);
    // AAPL had no other subscriber: `umd` went out; MSFT is still wanted.
    eventually("AAPL unsubscribed", || smd_topics(&gw) == ["smd+272093"]).await;
    let (mut feed, handle) = keep.split();
    let q = match within(10, feed.next()).await.unwrap() {
        Event::Update(q) => q,
        other => panic!("{other:?}"),
    };
    assert_eq!(q.conid, MSFT);
    drop(handle);
    eventually("MSFT unsubscribed", || smd_topics(&gw).is_empty()).await;
    // Its stream ends once the handle is gone.
    within(5, async { while feed.next().await.is_some() {} }).await;
}

#[tokio::test]
async fn a_dropped_socket_is_reopened_and_subscriptions_renewed() {
    let (gw, _client, streamer) = setup().await;
    let mut notices = streamer.notices();
    let mut quotes = streamer.quotes(&[AAPL], &FIELDS);
    let _orders = streamer.orders();
    next_quote(&mut quotes).await;
    assert_eq!(streamer.state().connections, 1);

    gw.ws_drop_all();
    let (gap, q) = gap_then_quote(&mut quotes).await;
    assert!(matches!(gap.reason, GapReason::Dropped(_)), "{gap:?}");
    assert!(gap.since <= Utc::now());
    assert!(has_all_fields(&q), "whole again after the gap: {q:?}");
    assert_eq!(streamer.state().connections, 2);
    eventually("subscriptions renewed on the new socket", || {
        gw.ws_subscriptions() == [vec!["smd+265598".to_string(), "sor".to_string()]]
    })
    .await;
    let saw_disconnect = within(5, async {
        loop {
            if let Ok(Notice::Disconnected(_)) = notices.recv().await {
                return true;
            }
        }
    })
    .await;
    assert!(saw_disconnect);
}

#[tokio::test]
async fn a_silent_socket_is_detected_within_the_bound_and_healed() {
    let (gw, _client, streamer) = setup().await;
    let mut notices = streamer.notices();
    let mut quotes = streamer.quotes(&[AAPL], &FIELDS);
    next_quote(&mut quotes).await;

    gw.ws_silence(true);
    let silenced = tokio::time::Instant::now();
    let reason = within(10, async {
        loop {
            if let Ok(Notice::Disconnected(r)) = notices.recv().await {
                return r;
            }
        }
    })
    .await;
    let detected = silenced.elapsed();
    assert_eq!(reason, GapReason::Silent(SILENCE));
    // Detected once the bound passed (not before), and not long after.
    assert!(
        detected >= SILENCE - Duration::from_millis(150),
        "{detected:?}"
    );
    assert!(detected < SILENCE * 5, "{detected:?}");
    gw.ws_silence(false);

    let (gap, q) = gap_then_quote(&mut quotes).await;
    assert_eq!(gap.reason, GapReason::Silent(SILENCE));
    assert!(has_all_fields(&q));
    assert!(streamer.state().connections >= 2);
    assert_eq!(gw.ws_connections(), 1, "the silent socket was let go");
}

#[tokio::test]
async fn a_lost_brokerage_session_is_reauthenticated_and_feeds_resume() {
    let (gw, _client, streamer) = setup().await;
    let mut notices = streamer.notices();
    let mut quotes = streamer.quotes(&[AAPL], &FIELDS);
    let first = next_quote(&mut quotes).await;

    assert!(gw.drop_brokerage_session());
    let mut saw = Vec::new();
    within(15, async {
        loop {
            match notices.recv().await {
                Ok(Notice::Status(s)) if s.authenticated == Some(false) => saw.push("sts"),
                Ok(Notice::AuthenticationLost) => saw.push("lost"),
                Ok(Notice::Reauthenticated) => {
                    saw.push("back");
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(saw, ["sts", "lost", "back"]);
    assert_eq!(gw.state().brokerage, Some(BrokerageState::Authenticated));

    let (gap, q) = gap_then_quote(&mut quotes).await;
    assert_eq!(gap.reason, GapReason::AuthenticationLost);
    assert!(has_all_fields(&q));
    assert!(q.updated >= first.updated);
    assert!(!streamer.state().paused);
    assert_eq!(
        streamer.state().connections,
        1,
        "the same socket throughout"
    );
}

/// The latest status seen per order, from a stream of order updates.
fn record(seen: &mut BTreeMap<OrderId, OrderStatus>, u: &OrderUpdate) {
    if let Some(s) = &u.order.status {
        seen.insert(u.order.order_id, s.clone());
    }
}

#[tokio::test]
async fn no_order_update_is_lost_across_dropped_sockets() {
    let (gw, client, streamer) = setup().await;
    let acct = AccountId::from(ACCOUNT);
    let mut orders = streamer.orders();
    // A snapshot opens the contract's market data (no "without market data" prompt).
    let last = client
        .quotes(&[AAPL], &[MarketDataField::Last], Duration::from_secs(5))
        .await
        .unwrap()
        .quotes[0]
        .last
        .unwrap();
    let below = (last * Decimal::new(99, 2)).round_dp(2);

    let mut seen: BTreeMap<OrderId, OrderStatus> = BTreeMap::new();
    let mut placed_ids = Vec::new();
    let mut gaps = 0;
    for round in 0..4 {
        let limit = client
            .order(&acct)
            .buy(AAPL, 1)
            .limit(below)
            .place()
            .await
            .unwrap();
        let market = client
            .order(&acct)
            .buy(AAPL, 1)
            .market()
            .place()
            .await
            .unwrap();
        for p in [limit, market] {
            match p {
                Placement::Placed(v) => placed_ids.extend(v.iter().map(|o| o.order_id)),
                other => panic!("not placed: {other:?}"),
            }
        }
        // Drop the socket while updates are in flight.
        gw.ws_drop_all();
        if round % 2 == 1 {
            // Cancel a resting order while the socket is down.
            let resting = placed_ids[placed_ids.len() - 2];
            client.cancel_order(&acct, resting).await.unwrap();
        }
        // Read what is there, without waiting for it all.
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(30), orders.next()).await
        {
            match ev {
                Event::Update(u) => record(&mut seen, &u),
                Event::Gap(_) => gaps += 1,
                _ => {}
            }
        }
    }

    // Every order of the book ends with the status the simulator holds.
    let book = || -> BTreeMap<OrderId, OrderStatus> {
        gw.orders()
            .into_iter()
            .map(|o| {
                (
                    OrderId(o.id.0 as i64),
                    OrderStatus::from_code(&format!("{:?}", o.status)),
                )
            })
            .collect()
    };
    within(30, async {
        loop {
            if seen == book()
                && gw
                    .orders()
                    .iter()
                    .all(|o| !format!("{:?}", o.status).starts_with("Pending"))
            {
                return;
            }
            match tokio::time::timeout(Duration::from_millis(500), orders.next()).await {
                Ok(Some(Event::Update(u))) => record(&mut seen, &u),
                Ok(Some(Event::Gap(_))) => gaps += 1,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the order stream ended"),
                Err(_) => {}
            }
        }
    })
    .await;
    assert_eq!(seen.len(), 8);
    for id in &placed_ids {
        assert!(seen.contains_key(id), "order {id} never seen");
    }
    assert!(seen.values().any(|s| *s == OrderStatus::Filled), "{seen:?}");
    assert!(
        seen.values().any(|s| *s == OrderStatus::Cancelled),
        "{seen:?}"
    );
    // The subscriber was told each time the socket went (dropped sockets reopened).
    assert!(gaps >= 1, "{gaps}");
    assert!(streamer.state().connections >= 2);
}

#[tokio::test]
async fn a_slow_consumer_gets_the_newest_quote_and_the_buffer_stays_bounded() {
    let (_gw, _client, streamer) = setup().await;
    // A fast consumer of the raw frames: the newest `_updated` of AAPL it has seen.
    let newest = Arc::new(AtomicI64::new(0));
    let mut raw = streamer.raw("smd+265598");
    let n = newest.clone();
    tokio::spawn(async move {
        while let Some(f) = raw.next().await {
            if let Some(u) = f.get("_updated").and_then(|v| v.as_i64()) {
                n.fetch_max(u, Ordering::SeqCst);
            }
        }
    });

    let conids = [AAPL, MSFT, Conid(756733)];
    let mut slow = streamer.quotes(&conids, &FIELDS);
    // Ticks every 100 ms: about 15 per contract while nobody reads.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        slow.pending() <= conids.len(),
        "at most one quote per contract waits: {}",
        slow.pending()
    );
    let seen_newest = newest.load(Ordering::SeqCst);
    let mut got = BTreeMap::new();
    while slow.pending() > 0 {
        let q = next_quote(&mut slow).await;
        got.insert(q.conid, q);
    }
    let aapl = &got[&AAPL];
    // The newest value, not the first of a backlog (one tick of slack for the frame
    // being merged while we looked).
    let updated = aapl.updated.unwrap().0;
    assert!(
        updated >= seen_newest - 100,
        "{updated} vs newest {seen_newest}"
    );
    assert!(has_all_fields(aapl));
}

#[tokio::test]
async fn account_feeds_and_executions_stream_from_the_broker() {
    let (_gw, client, streamer) = setup().await;
    let acct = AccountId::from(ACCOUNT);
    let mut pnl = streamer.pnl();
    let mut summary = streamer.account_summary(&acct);
    let mut ledger = streamer.ledger(&acct);
    let mut trades = streamer.trades();

    let p = match within(10, pnl.next()).await.unwrap() {
        Event::Update(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(p.key, "DU1234567.Core");
    assert_eq!(p.account(), ACCOUNT);
    let nl = p.entry.nl.expect("net liquidation");
    // The broker's valuation: the portfolio summary agrees to within a price move.
    let rest = client.portfolio_summary(&acct).await.unwrap();
    let rest_nl = rest.net_liquidation().unwrap();
    assert!(
        (rest_nl - nl).abs() / nl < Decimal::new(1, 2),
        "{rest_nl} vs {nl}"
    );

    let mut keys = std::collections::BTreeSet::new();
    while keys.len() < 3 {
        if let Event::Update(i) = within(10, summary.next()).await.unwrap() {
            assert_eq!(i.currency.as_deref(), Some("USD"));
            keys.insert(i.key.clone());
            if i.key == "netliquidation" {
                let v = i.monetary_value.unwrap();
                assert!((v - nl).abs() / nl < Decimal::new(1, 2), "{v} vs {nl}");
            }
        }
    }
    let base = loop {
        if let Event::Update(l) = within(10, ledger.next()).await.unwrap()
            && l.currency() == "BASE"
        {
            break l;
        }
    };
    assert!(base.cashbalance.is_some() && base.net_liquidation_value.is_some());

    // A market order: its execution streams once, with the order's cOID.
    client
        .quotes(&[AAPL], &[MarketDataField::Last], Duration::from_secs(5))
        .await
        .unwrap();
    let placed = client
        .order(&acct)
        .buy(AAPL, 2)
        .market()
        .coid("ws-exec-1")
        .place()
        .await
        .unwrap();
    assert!(matches!(placed, Placement::Placed(_)), "{placed:?}");
    let t = loop {
        if let Event::Update(t) = within(10, trades.next()).await.unwrap() {
            break t;
        }
    };
    assert_eq!(t.conid, AAPL);
    assert_eq!(t.size, Decimal::from(2));
    assert_eq!(t.order_ref.as_deref(), Some("ws-exec-1"));
    let rest_trades = client.trades(None).await.unwrap();
    assert!(
        rest_trades.iter().any(|r| r.execution_id == t.execution_id),
        "the same execution as /iserver/account/trades"
    );
}

/// The simulator's side of the protocol, spoken by hand over plain `ws://`.
mod wire {
    use super::*;
    use futures_util::SinkExt;
    use serde_json::Value;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

    async fn plain_gateway() -> Gateway {
        let mut config = GatewayConfig::for_tests().market_time(open_market());
        config.tls = false;
        let gw = Gateway::start(config).await.unwrap();
        gw.ws_configure(
            WsSettings::default()
                .heartbeat(Duration::from_millis(200))
                .market_data_every(Duration::from_millis(100)),
        );
        gw
    }

    async fn open(gw: &Gateway, cookie: Option<&str>) -> Result<Ws, u16> {
        let url = format!("ws://{}/v1/api/ws", gw.local_addr());
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("user-agent", "ibkr-test".parse().unwrap());
        if let Some(c) = cookie {
            req.headers_mut()
                .insert("cookie", format!("api={c}").parse().unwrap());
        }
        let tcp = tokio::net::TcpStream::connect(gw.local_addr())
            .await
            .unwrap();
        match tokio_tungstenite::client_async(req, tcp).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("{e}"),
        }
    }

    async fn next_json(ws: &mut Ws) -> Value {
        loop {
            match within(10, ws.next()).await.unwrap().unwrap() {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                _ => continue,
            }
        }
    }

    /// The next frame of a topic (others skipped).
    async fn next_of(ws: &mut Ws, topic: &str) -> Value {
        loop {
            let v = next_json(ws).await;
            if v.get("topic").and_then(Value::as_str) == Some(topic) {
                return v;
            }
        }
    }

    async fn send(ws: &mut Ws, text: &str) {
        ws.send(Message::text(text.to_string())).await.unwrap();
    }

    async fn session_id(gw: &Gateway) -> String {
        let client = Client::builder()
            .gateway(gw.url().as_str())
            .pacing(PacingTable::unlimited())
            .build()
            .unwrap();
        client
            .ping_server()
            .await
            .unwrap()
            .session
            .expose()
            .to_string()
    }

    #[tokio::test]
    async fn the_session_is_required_and_checked() {
        let gw = plain_gateway().await;
        assert_eq!(open(&gw, Some("not-the-session")).await.err(), Some(401));
        gw.expire_session();
        assert_eq!(open(&gw, None).await.err(), Some(401));
    }

    #[tokio::test]
    async fn the_legacy_handshake_then_ibkrs_greeting() {
        let gw = plain_gateway().await;
        let session = session_id(&gw).await;
        let mut ws = open(&gw, None).await.unwrap();
        assert_eq!(
            next_json(&mut ws).await,
            serde_json::json!({"message": "waiting for session"})
        );
        send(&mut ws, &format!(r#"{{"session":"{session}"}}"#)).await;
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["topic"], "system");
        assert_eq!(hello["success"], "demo");
        assert_eq!(hello["isPaper"], true);
        let act = next_json(&mut ws).await;
        assert_eq!(act["topic"], "act");
        assert_eq!(act["args"]["accounts"], serde_json::json!([ACCOUNT]));
        let sts = next_json(&mut ws).await;
        assert_eq!(sts["topic"], "sts");
        assert_eq!(sts["args"]["authenticated"], true);
        let hb = next_of(&mut ws, "system").await;
        assert!(hb["hb"].as_i64().unwrap() > 0);
    }

    #[tokio::test]
    async fn tic_unknown_topics_and_subscriptions_answer_as_ibkr() {
        let gw = plain_gateway().await;
        let session = session_id(&gw).await;
        let mut ws = open(&gw, Some(&session)).await.unwrap();
        assert_eq!(next_json(&mut ws).await["success"], "demo");

        send(&mut ws, "tic").await;
        let tic = next_of(&mut ws, "tic").await;
        assert_eq!(tic["alive"], true);
        assert_eq!(tic["id"], session.as_str());

        send(&mut ws, "xyz+{}").await;
        let err = loop {
            let v = next_json(&mut ws).await;
            if v.get("error").is_some() {
                break v;
            }
        };
        assert!(err["error"].as_str().unwrap().starts_with("Topic unknown"));
        assert_eq!(err["code"], 1);

        send(&mut ws, r#"smd+265598+{"fields":["31","84","86"]}"#).await;
        let md = next_of(&mut ws, "smd+265598").await;
        assert_eq!(md["conid"], 265598);
        for f in ["31", "84", "86", "6509", "6119"] {
            assert!(md.get(f).is_some(), "{f} in {md}");
        }
        assert_eq!(gw.ws_subscriptions(), [vec!["smd+265598".to_string()]]);
        send(&mut ws, "umd+265598+{}").await;
        eventually("umd", || gw.ws_subscriptions() == [Vec::<String>::new()]).await;

        send(&mut ws, "sor+{}").await;
        let sor = next_of(&mut ws, "sor").await;
        assert_eq!(sor["args"], serde_json::json!([]));
        send(&mut ws, "str+{}").await;
        assert_eq!(next_of(&mut ws, "str").await["args"], serde_json::json!([]));

        send(&mut ws, "spl+{}").await;
        let spl = next_of(&mut ws, "spl").await;
        assert!(spl["args"]["DU1234567.Core"]["nl"].as_f64().unwrap() > 0.0);

        send(&mut ws, &format!("ssd+{ACCOUNT}+{{}}")).await;
        let ssd = next_of(&mut ws, &format!("ssd+{ACCOUNT}")).await;
        assert!(
            ssd["result"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["key"] == "netliquidation")
        );
        send(&mut ws, &format!("usd+{ACCOUNT}+{{}}")).await;
        let done = loop {
            let v = next_json(&mut ws).await;
            if v.get("result").is_some_and(Value::is_string) {
                break v;
            }
        };
        assert_eq!(done["result"], "unsubscribed from summary");

        send(
            &mut ws,
            &format!("sld+{ACCOUNT}+{{\"keys\":[\"LedgerListBASE\"]}}"),
        )
        .await;
        let sld = next_of(&mut ws, &format!("sld+{ACCOUNT}")).await;
        let rows = sld["result"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["key"], "LedgerListBASE");

        send(&mut ws, r#"smh+265598+{"period":"1d","bar":"1h"}"#).await;
        let smh = next_of(&mut ws, "smh+265598").await;
        assert!(!smh["data"].as_array().unwrap().is_empty());
        assert!(smh["serverId"].is_string());

        // The legacy handshake on a socket opened with the cookie: the recorded error.
        send(&mut ws, &format!(r#"{{"session":"{session}"}}"#)).await;
        let err = loop {
            let v = next_json(&mut ws).await;
            if v.get("error").is_some() {
                break v;
            }
        };
        assert!(err["error"].as_str().unwrap().starts_with("Topic unknown"));
    }
}
