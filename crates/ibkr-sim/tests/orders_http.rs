//! The order endpoints over HTTP: placing (with its questions and replies), previewing,
//! modifying, cancelling, monitoring, brackets, advisor allocations, and the faults
//! that fail an answer after the gateway acted.
//!
//! Each test starts the simulated gateway in process (plain HTTP on loopback) with the
//! market's clock pinned to a Wednesday in regular hours (or just before the open), and
//! talks to it with a raw HTTP client, as a program would. Figures are checked against
//! what the gateway itself reports elsewhere (the portfolio, the trades), never against
//! constants.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ibkr_model::orders::{
    CancelOrderResponse, LiveOrders, OrderPreview, OrderResponse, OrderStatusDetail, PromptId,
    Trade,
};
use ibkr_sim::broker::{ADVISOR_SUB_ACCOUNTS, BrokerConfig, INDIVIDUAL_ACCOUNT};
use ibkr_sim::matching::{Event, OrderStatus};
use ibkr_sim::{Fault, FaultKind, Gateway, GatewayConfig, RandomFaults};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const AAPL: u32 = 265598;
const ACCT: &str = INDIVIDUAL_ACCOUNT;
/// IBKR's text of the `o354` question, as recorded.
const NO_MARKET_DATA: &str = "You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\nAre you sure you want to submit this order?";

/// Wednesday 16 July 2025, 11:00 in New York: regular hours.
fn open() -> DateTime<Utc> {
    "2025-07-16T15:00:00Z".parse().expect("an instant")
}

fn config() -> GatewayConfig {
    GatewayConfig::for_tests().tls(false).market_time(open())
}

fn http_client(timeout: Option<Duration>) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("ibkr-sim-orders-test/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build().expect("HTTP client")
}

fn d(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not a decimal: {e}"))
}

/// A JSON number or numeric string as a decimal.
fn num(v: &Value) -> Decimal {
    match v {
        Value::Number(n) => d(&n.to_string()),
        Value::String(s) => d(s),
        other => panic!("not a number: {other}"),
    }
}

struct Sim {
    gw: Gateway,
    http: reqwest::Client,
}

impl Sim {
    async fn start(config: GatewayConfig) -> Sim {
        let gw = Gateway::start(config).await.expect("gateway starts");
        Sim {
            gw,
            http: http_client(None),
        }
    }

    /// Started, with `/iserver/accounts` called (IBKR's pre-flight for order calls).
    async fn ready(config: GatewayConfig) -> Sim {
        let sim = Sim::start(config).await;
        sim.ok(sim.get("/iserver/accounts").await);
        sim
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gw.api_url())
    }

    async fn answer(resp: reqwest::Response, what: &str) -> (u16, Value) {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.expect("a body");
        let v = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{what}: {status}: {e}: {}", String::from_utf8_lossy(&body))
        });
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Self::answer(resp, path).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Self::answer(resp, path).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .delete(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
        Self::answer(resp, path).await
    }

    fn ok(&self, (status, v): (u16, Value)) -> Value {
        assert_eq!(status, 200, "{v}");
        v
    }

    async fn place(&self, orders: Value) -> Value {
        self.ok(self
            .post(
                &format!("/iserver/account/{ACCT}/orders"),
                json!({ "orders": orders }),
            )
            .await)
    }

    /// Confirms every question of an answer in turn: the final answer and the message
    /// ids asked, in order.
    async fn confirm_all(&self, mut answer: Value) -> (Value, Vec<String>) {
        let mut asked = Vec::new();
        for _ in 0..20 {
            let Some(id) = prompt_id(&answer) else {
                return (answer, asked);
            };
            asked.extend(
                answer[0]["messageIds"]
                    .as_array()
                    .expect("messageIds")
                    .iter()
                    .map(|m| m.as_str().expect("an id").to_string()),
            );
            answer = self.ok(self
                .post(&format!("/iserver/reply/{id}"), json!({"confirmed": true}))
                .await);
        }
        panic!("too many questions: {answer}");
    }

    async fn suppress(&self, ids: &[&str]) {
        let v = self.ok(self
            .post("/iserver/questions/suppress", json!({ "messageIds": ids }))
            .await);
        assert_eq!(v, json!({"status": "submitted"}));
    }

    /// The last price of a contract the account holds, from its positions.
    async fn last_price(&self, acct: &str, conid: u32) -> Decimal {
        let v = self.ok(self.get(&format!("/portfolio/{acct}/positions/0")).await);
        let p = v
            .as_array()
            .expect("a list")
            .iter()
            .find(|p| p["conid"] == json!(conid))
            .unwrap_or_else(|| panic!("no position in {conid}: {v}"));
        num(&p["mktPrice"])
    }

    async fn position(&self, acct: &str, conid: u32) -> Decimal {
        let v = self.ok(self.get(&format!("/portfolio/{acct}/positions/0")).await);
        v.as_array()
            .expect("a list")
            .iter()
            .find(|p| p["conid"] == json!(conid))
            .map_or(Decimal::ZERO, |p| num(&p["position"]))
    }

    async fn cash(&self, acct: &str) -> Decimal {
        let v = self.ok(self.get(&format!("/portfolio/{acct}/ledger")).await);
        num(&v["BASE"]["cashbalance"])
    }

    async fn status(&self, id: &str) -> OrderStatusDetail {
        let v = self.ok(self
            .get(&format!("/iserver/account/order/status/{id}"))
            .await);
        serde_json::from_value(v).expect("an order status")
    }
}

/// The reply id of an answer that asks a question.
fn prompt_id(answer: &Value) -> Option<String> {
    let first = answer.as_array()?.first()?;
    first.get("message")?;
    first.get("id")?.as_str().map(str::to_string)
}

/// The order ids and statuses of an answer listing submitted orders.
fn submitted(answer: &Value) -> Vec<(String, String)> {
    let r: OrderResponse = serde_json::from_value(answer.clone()).expect("an order response");
    assert!(r.error().is_none() && !r.needs_reply(), "{answer}");
    let list = answer.as_array().expect("a list");
    list.iter()
        .map(|o| {
            (
                o["order_id"]
                    .as_str()
                    .expect("order_id as a string")
                    .to_string(),
                o["order_status"]
                    .as_str()
                    .expect("order_status")
                    .to_string(),
            )
        })
        .collect()
}

fn error_of(answer: &Value) -> String {
    answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
        .to_string()
}

/// A price on a two-decimal tick, `pct` percent of `p`.
fn at_pct(p: Decimal, pct: i64) -> Decimal {
    (p * Decimal::from(pct) / Decimal::ONE_HUNDRED).round_dp(2)
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn place_prompt_reply_fill_moves_position_and_cash() {
    let sim = Sim::ready(config()).await;
    let cash_before = sim.cash(ACCT).await;
    let held_before = sim.position(ACCT, AAPL).await;

    let answer = sim
        .place(
            json!([{"conid": AAPL, "cOID": "first-buy", "orderType": "MKT",
                        "side": "BUY", "tif": "DAY", "quantity": 10}]),
        )
        .await;
    // No snapshot of AAPL in this session: IBKR's no-market-data question, as recorded.
    let r: OrderResponse = serde_json::from_value(answer.clone()).expect("an order response");
    let prompt = r.prompt().expect("a question");
    assert_eq!(prompt.message_ids, [PromptId::NoMarketData]);
    assert_eq!(prompt.message, [NO_MARKET_DATA]);
    assert_eq!(prompt.is_suppressed, Some(false));
    assert!(
        sim.gw.orders().is_empty(),
        "nothing placed before the reply"
    );

    let reply = prompt.id.clone();
    let placed = sim.ok(sim
        .post(
            &format!("/iserver/reply/{reply}"),
            json!({"confirmed": true}),
        )
        .await);
    let ids = submitted(&placed);
    assert_eq!(ids.len(), 1);
    let (id, status) = &ids[0];
    assert_eq!(
        status, "Filled",
        "a market order in regular hours fills at once"
    );
    assert_eq!(placed[0]["local_order_id"], "first-buy");
    assert_eq!(placed[0]["encrypt_message"], "1");

    // The fill, as the trades report it, is what moved cash and position.
    let trades: Vec<Trade> =
        serde_json::from_value(sim.ok(sim.get("/iserver/account/trades").await)).expect("trades");
    assert_eq!(trades.len(), 1);
    let t = &trades[0];
    assert_eq!(
        t.order_id.map(|o| o.to_string()).as_deref(),
        Some(id.as_str())
    );
    let price = t.price.value();
    let commission = t.commission.expect("a commission").value();
    assert_eq!(t.size, Decimal::from(10));
    assert!(commission > Decimal::ZERO);

    assert_eq!(
        sim.position(ACCT, AAPL).await,
        held_before + Decimal::from(10)
    );
    assert_eq!(
        sim.cash(ACCT).await,
        cash_before - Decimal::from(10) * price - commission
    );

    let book = sim.gw.orders();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].id.to_string(), *id);
    assert_eq!(book[0].status, OrderStatus::Filled);
    assert_eq!(book[0].coid, "first-buy");
    // The reply id was used up.
    let again = sim.ok(sim
        .post(
            &format!("/iserver/reply/{reply}"),
            json!({"confirmed": true}),
        )
        .await);
    assert_eq!(
        again,
        json!({"error": format!("reply id not found: '{reply}'")})
    );
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn several_questions_are_chained_one_reply_after_another() {
    let sim = Sim::ready(config()).await;
    let last = sim.last_price(ACCT, AAPL).await;
    let limit = at_pct(last, 110);
    let answer = sim
        .place(
            json!([{"conid": AAPL, "cOID": "big-one", "orderType": "LMT", "price": limit,
                        "side": "BUY", "tif": "DAY", "quantity": 600}]),
        )
        .await;
    let first = prompt_id(&answer).expect("a question");
    let text = answer[0]["message"][0].as_str().expect("a message");
    assert_eq!(text, NO_MARKET_DATA);

    // Walk the chain by hand to see each question and its own reply id.
    let mut seen = vec![first.clone()];
    let mut messages = Vec::new();
    let mut ids = Vec::new();
    let mut current = answer;
    while let Some(reply) = prompt_id(&current) {
        ids.push(
            current[0]["messageIds"][0]
                .as_str()
                .expect("an id")
                .to_string(),
        );
        messages.push(current[0]["message"][0].as_str().expect("text").to_string());
        current = sim.ok(sim
            .post(
                &format!("/iserver/reply/{reply}"),
                json!({"confirmed": true}),
            )
            .await);
        if let Some(next) = prompt_id(&current) {
            assert!(!seen.contains(&next), "each question has its own reply id");
            seen.push(next);
        }
    }
    assert_eq!(ids, ["o354", "o163", "o383", "o451"]);
    assert!(
        messages[1].starts_with(&format!(
            "The following order \"BUY 600 AAPL NASDAQ.NMS @ {}",
            limit.normalize()
        )),
        "{}",
        messages[1]
    );
    assert!(messages[1].contains("price exceeds \nthe Percentage constraint of 3%.\nAre you sure you want to submit this order?"));
    assert!(messages[2].contains("size exceeds the Size Limit of 500."));
    assert!(messages[3].contains("exceeds \nthe Total Value Limit of 100,000 USD."));
    let placed = submitted(&current);
    assert_eq!(placed.len(), 1);
    // Marketable: it fills at once, up to the size displayed at the touch.
    assert!(
        ["Filled", "Submitted"].contains(&placed[0].1.as_str()),
        "{current}"
    );
    assert!(sim.gw.orders()[0].filled > Decimal::ZERO);
    assert_eq!(sim.gw.orders().len(), 1);
    // An earlier reply id of the chain is spent.
    let stale = sim.ok(sim
        .post(
            &format!("/iserver/reply/{first}"),
            json!({"confirmed": true}),
        )
        .await);
    assert!(error_of(&stale).starts_with("reply id not found"));
    assert_eq!(sim.gw.orders().len(), 1);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn a_declined_question_places_nothing() {
    let sim = Sim::ready(config()).await;
    let answer = sim
        .place(
            json!([{"conid": AAPL, "orderType": "MKT", "side": "SELL", "tif": "DAY",
                        "quantity": 1}]),
        )
        .await;
    let id = prompt_id(&answer).expect("a question");
    let v = sim.ok(sim
        .post(&format!("/iserver/reply/{id}"), json!({"confirmed": false}))
        .await);
    assert_eq!(v, json!({"error": "Order not confirmed "}));
    assert!(sim.gw.orders().is_empty());
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn reply_ids_expire_and_a_new_order_invalidates_open_ones() {
    let sim = Sim::ready(config().reply_timeout(Duration::from_secs(1))).await;
    let order = json!([{"conid": AAPL, "orderType": "MKT", "side": "BUY", "tif": "DAY",
                        "quantity": 1}]);
    let id = prompt_id(&sim.place(order.clone()).await).expect("a question");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let v = sim.ok(sim
        .post(&format!("/iserver/reply/{id}"), json!({"confirmed": true}))
        .await);
    assert_eq!(v, json!({"error": format!("reply id not found: '{id}'")}));
    assert!(
        sim.gw.orders().is_empty(),
        "an expired question places nothing"
    );

    let v = sim.ok(sim
        .post("/iserver/reply/no-such-id", json!({"confirmed": true}))
        .await);
    assert_eq!(v, json!({"error": "reply id not found: 'no-such-id'"}));

    // Placing another order drops the question still open (IBKR: answer at once).
    let a = prompt_id(&sim.place(order.clone()).await).expect("a question");
    let b = prompt_id(&sim.place(order).await).expect("a question");
    let v = sim.ok(sim
        .post(&format!("/iserver/reply/{a}"), json!({"confirmed": true}))
        .await);
    assert!(error_of(&v).starts_with("reply id not found"));
    let v = sim.ok(sim
        .post(&format!("/iserver/reply/{b}"), json!({"confirmed": true}))
        .await);
    assert_eq!(submitted(&v).len(), 1);
    assert_eq!(sim.gw.orders().len(), 1);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn suppressed_questions_are_skipped_until_reset_and_a_snapshot_answers_o354() {
    let sim = Sim::ready(config()).await;
    let order = |coid: &str| {
        json!([{"conid": AAPL, "cOID": coid, "orderType": "MKT", "side": "BUY",
                "tif": "DAY", "quantity": 1}])
    };
    sim.suppress(&["o354"]).await;
    let v = sim.place(order("s-1")).await;
    assert_eq!(
        submitted(&v).len(),
        1,
        "no question once o354 is suppressed"
    );

    let v = sim.ok(sim
        .post("/iserver/questions/suppress/reset", json!({}))
        .await);
    assert_eq!(v, json!({"status": "submitted"}));
    let v = sim.place(order("s-2")).await;
    assert_eq!(
        v[0]["messageIds"],
        json!(["o354"]),
        "asked again after the reset"
    );

    // With the market-data stream of the contract open, there is nothing to ask.
    sim.ok(sim
        .get(&format!(
            "/iserver/marketdata/snapshot?conids={AAPL}&fields=31"
        ))
        .await);
    let v = sim.place(order("s-3")).await;
    assert_eq!(submitted(&v).len(), 1, "{v}");
    let coids: Vec<String> = sim.gw.orders().into_iter().map(|o| o.coid).collect();
    assert_eq!(coids, ["s-1", "s-3"]);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn whatif_previews_cost_commission_and_margin_and_places_nothing() {
    let sim = Sim::ready(config()).await;
    let last = sim.last_price(ACCT, AAPL).await;
    let summary = sim.ok(sim.get(&format!("/portfolio/{ACCT}/summary")).await);
    let net = num(&summary["netliquidation"]["amount"]);
    let init = num(&summary["initmarginreq"]["amount"]);
    let limit = last.round_dp(2);
    let v = sim.ok(sim
        .post(
            &format!("/iserver/account/{ACCT}/orders/whatif"),
            json!({"orders": [{"conid": AAPL, "orderType": "LMT", "price": limit,
                                "side": "BUY", "tif": "DAY", "quantity": 10}]}),
        )
        .await);
    let p: OrderPreview = serde_json::from_value(v.clone()).expect("a preview");
    let amount = p.amount.expect("amount");
    let cost = Decimal::from(10) * limit;
    assert_eq!(
        amount.amount.expect("amount").as_str(),
        format!("{} USD (10 Shares)", group(cost))
    );
    // The engine's schedule: USD 0.005 a share, at least USD 1.00.
    assert_eq!(amount.commission.expect("commission").as_str(), "1 USD");
    assert_eq!(
        amount.total.expect("total").amount(),
        Some(cost + Decimal::ONE)
    );
    let equity = p.equity.expect("equity");
    let current = equity.current.expect("current").amount().expect("a number");
    // The same figure as the portfolio's, a moment later (prices move).
    assert!(
        (current - net).abs() <= Decimal::ONE_HUNDRED,
        "{current} vs {net}"
    );
    let change = equity.change.expect("change").amount().expect("a number");
    assert_eq!(
        equity.after.expect("after").amount(),
        Some(current + change)
    );
    // The commission, and the drift of the price since it was read: a few dollars.
    assert!(change.abs() < Decimal::from(20), "equity change {change}");
    let initial = p.initial.expect("initial");
    let was = initial
        .current
        .expect("current")
        .amount()
        .expect("a number");
    assert!((was - init).abs() <= Decimal::from(50), "{was} vs {init}");
    let margin = initial.change.expect("change").amount().expect("a number");
    // 50 % of the value bought (Reg T), within the price's drift.
    assert!(
        (margin - cost / Decimal::TWO).abs() < Decimal::from(10),
        "margin change {margin} for {cost}"
    );
    let pos = p.position.expect("position");
    assert_eq!(pos.current.expect("c").as_str(), "100");
    assert_eq!(pos.change.expect("c").as_str(), "10");
    assert_eq!(pos.after.expect("c").as_str(), "110");
    assert!(
        p.warn
            .as_deref()
            .expect("a warning")
            .starts_with("21/You are trying to submit an order without having market data"),
        "{v}"
    );
    assert_eq!(v["error"], Value::Null);

    // Too big for the account: the preview says why it would be refused.
    let v = sim.ok(sim
        .post(
            &format!("/iserver/account/{ACCT}/orders/whatif"),
            json!({"orders": [{"conid": AAPL, "orderType": "MKT", "side": "BUY",
                                "tif": "DAY", "quantity": 100000}]}),
        )
        .await);
    assert!(
        v["error"]
            .as_str()
            .expect("an error")
            .contains("insufficient funds"),
        "{v}"
    );
    assert!(sim.gw.orders().is_empty(), "a preview places nothing");
    sim.gw.shutdown().await;
}

/// `1,977.60`: thousands separators, two decimals unless whole.
fn group(d: Decimal) -> String {
    let text = if d.fract().is_zero() {
        format!("{:.0}", d)
    } else {
        format!("{:.2}", d)
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[tokio::test]
async fn modify_changes_the_price_and_size_of_a_working_order() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354", "o163"]).await;
    let last = sim.last_price(ACCT, AAPL).await;
    let low = at_pct(last, 50);
    let v = sim
        .place(
            json!([{"conid": AAPL, "cOID": "rest", "orderType": "LMT", "price": low,
                        "side": "BUY", "tif": "GTC", "quantity": 5}]),
        )
        .await;
    let (id, status) = submitted(&v).remove(0);
    assert_eq!(status, "Submitted", "a limit far below the market rests");

    let lower = at_pct(last, 55);
    let ticket = |price: Decimal, qty: i64| {
        json!({"conid": AAPL, "cOID": "rest", "orderType": "LMT", "price": price,
               "side": "BUY", "tif": "GTC", "quantity": qty})
    };
    let v = sim.ok(sim
        .post(
            &format!("/iserver/account/{ACCT}/order/{id}"),
            ticket(lower, 5),
        )
        .await);
    assert_eq!(submitted(&v), [(id.clone(), "Submitted".to_string())]);
    let s = sim.status(&id).await;
    assert_eq!(s.limit_price.and_then(|p| p.value()), Some(lower));
    assert_eq!(s.order_status.as_str(), "Submitted");

    let v = sim.ok(sim
        .post(
            &format!("/iserver/account/{ACCT}/order/{id}"),
            ticket(lower, 7),
        )
        .await);
    assert_eq!(submitted(&v).len(), 1);
    let live: LiveOrders =
        serde_json::from_value(sim.ok(sim.get("/iserver/account/orders").await)).expect("orders");
    let o = live
        .orders
        .iter()
        .find(|o| o.order_id.to_string() == id)
        .expect("the order");
    assert_eq!(o.total_size, Some(Decimal::from(7)));
    assert_eq!(o.price_value(), Some(lower));

    // The side and the type cannot change.
    let mut sell = ticket(lower, 7);
    sell["side"] = json!("SELL");
    let v = sim.ok(sim
        .post(&format!("/iserver/account/{ACCT}/order/{id}"), sell)
        .await);
    assert!(error_of(&v).contains("side"), "{v}");
    let book = sim.gw.orders();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].quantity, Decimal::from(7));
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn cancel_and_the_refusals_of_finished_orders() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354", "o163"]).await;
    let last = sim.last_price(ACCT, AAPL).await;
    let low = at_pct(last, 50);
    let resting = json!({"conid": AAPL, "cOID": "c-rest", "orderType": "LMT", "price": low,
                         "side": "BUY", "tif": "DAY", "quantity": 2});
    let (id, _) = submitted(&sim.place(json!([resting.clone()])).await).remove(0);

    let v = sim.ok(sim
        .delete(&format!("/iserver/account/{ACCT}/order/{id}"))
        .await);
    let ack: CancelOrderResponse = serde_json::from_value(v.clone()).expect("a cancel answer");
    assert!(ack.is_accepted(), "{v}");
    assert_eq!(v["msg"], "Request was submitted");
    assert_eq!(v["order_id"].to_string(), id, "order_id is a number");
    assert_eq!(v["conid"], -1, "cancelled at once, as recorded");
    assert_eq!(v["account"], Value::Null);
    assert_eq!(sim.status(&id).await.order_status.as_str(), "Cancelled");

    // Cancelling or modifying it again is refused.
    let v = sim.ok(sim
        .delete(&format!("/iserver/account/{ACCT}/order/{id}"))
        .await);
    assert!(error_of(&v).contains("cancelled"), "{v}");
    let v = sim.ok(sim
        .post(&format!("/iserver/account/{ACCT}/order/{id}"), resting)
        .await);
    assert!(error_of(&v).contains("cancelled"), "{v}");

    // A filled order cannot be cancelled.
    let v = sim
        .place(
            json!([{"conid": AAPL, "cOID": "c-fill", "orderType": "MKT", "side": "BUY",
                        "tif": "DAY", "quantity": 1}]),
        )
        .await;
    let (filled, status) = submitted(&v).remove(0);
    assert_eq!(status, "Filled");
    let v = sim.ok(sim
        .delete(&format!("/iserver/account/{ACCT}/order/{filled}"))
        .await);
    assert!(error_of(&v).contains("filled"), "{v}");
    let c: CancelOrderResponse = serde_json::from_value(v).expect("a cancel answer");
    assert!(!c.is_accepted());

    // Unknown orders, as IBKR words it.
    let v = sim.ok(sim
        .delete(&format!("/iserver/account/{ACCT}/order/42"))
        .await);
    assert_eq!(v, json!({"error": "OrderID 42 doesn't exist"}));
    let v = sim.ok(sim
        .post(
            &format!("/iserver/account/{ACCT}/order/42"),
            json!({"conid": AAPL, "orderType": "MKT", "side": "BUY", "tif": "DAY", "quantity": 1}),
        )
        .await);
    assert_eq!(v, json!({"error": "OrderID 42 doesn't exist"}));
    let statuses: Vec<OrderStatus> = sim.gw.orders().iter().map(|o| o.status).collect();
    assert_eq!(statuses, [OrderStatus::Cancelled, OrderStatus::Filled]);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_client_order_id_is_refused() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354"]).await;
    let order = json!([{"conid": AAPL, "cOID": "once-only", "orderType": "MKT", "side": "BUY",
                        "tif": "DAY", "quantity": 1}]);
    assert_eq!(submitted(&sim.place(order.clone()).await).len(), 1);
    let v = sim.place(order).await;
    let e = error_of(&v);
    assert!(
        e.contains("duplicate client order id") && e.contains("once-only"),
        "{e}"
    );
    assert_eq!(sim.gw.orders().len(), 1, "the resend placed nothing");
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn live_orders_status_and_trades_show_the_order_with_its_client_order_id() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354"]).await;
    let v = sim
        .place(
            json!([{"conid": AAPL, "cOID": "watch-me", "orderType": "MKT", "side": "BUY",
                        "tif": "DAY", "quantity": 3}]),
        )
        .await;
    let (id, _) = submitted(&v).remove(0);

    let raw = sim.ok(sim.get("/iserver/account/orders").await);
    let live: LiveOrders = serde_json::from_value(raw.clone()).expect("live orders");
    assert!(live.snapshot);
    let o = live
        .orders
        .iter()
        .find(|o| o.order_id.to_string() == id)
        .expect("listed");
    assert_eq!(o.order_ref.as_deref(), Some("watch-me"));
    assert_eq!(o.status.as_ref().map(|s| s.as_str()), Some("Filled"));
    assert_eq!(o.filled_quantity, Some(Decimal::from(3)));
    assert_eq!(o.remaining_quantity, Some(Decimal::ZERO));
    assert_eq!(o.acct.as_str(), ACCT);
    assert_eq!(o.ticker.as_deref(), Some("AAPL"));
    assert_eq!(o.order_desc.as_deref(), Some("Bought 3 Market, Day"));
    assert_eq!(raw["orders"][0]["timeInForce"], "CLOSE");
    assert_eq!(raw["orders"][0]["price"], "", "a market order has no price");
    assert_eq!(raw["orders"][0]["filledQuantity"].to_string(), "3.0");

    let only = |f: &str| format!("/iserver/account/orders?filters={f}");
    let v = sim.ok(sim.get(&only("filled")).await);
    assert_eq!(v["orders"].as_array().map(Vec::len), Some(1));
    let v = sim.ok(sim.get(&only("submitted,pre_submitted")).await);
    assert_eq!(v["orders"], json!([]));
    let v = sim.ok(sim.get("/iserver/account/orders?force=true").await);
    assert_eq!(v, json!({"orders": [], "snapshot": false}));

    let s = sim.status(&id).await;
    assert_eq!(s.order_status.as_str(), "Filled");
    assert_eq!(s.filled(), Some(Decimal::from(3)));
    assert_eq!(s.account.as_ref().map(|a| a.as_str()), Some(ACCT));
    assert_eq!(s.order_desc.as_deref(), Some("Bought 3 AAPL Market, Day"));
    assert_eq!(s.size_and_fills.as_deref(), Some("3/3"));

    let raw = sim.ok(sim.get("/iserver/account/trades?days=1").await);
    let trades: Vec<Trade> = serde_json::from_value(raw.clone()).expect("trades");
    assert_eq!(trades.len(), 1);
    let t = &trades[0];
    assert_eq!(t.order_ref.as_deref(), Some("watch-me"));
    assert_eq!(t.order_id.map(|i| i.to_string()), Some(id.clone()));
    assert_eq!(t.size, Decimal::from(3));
    assert_eq!(t.side.side(), Some(ibkr_model::orders::Side::Buy));
    assert_eq!(
        s.avg_price(),
        Some(t.price.value()),
        "one fill: its price is the average"
    );
    assert_eq!(
        t.net_amount,
        Some((Decimal::from(3) * t.price.value()).round_dp(2))
    );
    assert!(raw[0]["price"].is_string() && raw[0]["size"].is_number());
    assert_eq!(raw[0]["account_allocation_name"], ACCT);

    // An unknown order: IBKR's 503.
    let (status, _) = sim.get("/iserver/account/order/status/77").await;
    assert_eq!(status, 503);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn bracket_children_wait_for_the_parent_and_activate_when_it_fills() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354", "o163", "o10331", "o403"]).await;
    let last = sim.last_price(ACCT, AAPL).await;
    let v = sim
        .place(json!([
            {"conid": AAPL, "cOID": "br-parent", "orderType": "LMT", "price": at_pct(last, 90),
             "side": "BUY", "tif": "GTC", "quantity": 10},
            {"conid": AAPL, "parentId": "br-parent", "orderType": "LMT",
             "price": at_pct(last, 120), "side": "SELL", "tif": "GTC", "quantity": 10},
            {"conid": AAPL, "parentId": "br-parent", "orderType": "STP",
             "price": at_pct(last, 80), "side": "SELL", "tif": "GTC", "quantity": 10}
        ]))
        .await;
    let placed = submitted(&v);
    let statuses: Vec<&str> = placed.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses, ["Submitted", "PreSubmitted", "PreSubmitted"]);
    let (parent, profit, stop) = (&placed[0].0, &placed[1].0, &placed[2].0);
    let live: LiveOrders =
        serde_json::from_value(sim.ok(sim.get("/iserver/account/orders").await)).expect("orders");
    let child = live
        .orders
        .iter()
        .find(|o| o.order_id.to_string() == *profit)
        .expect("child");
    assert_eq!(
        child.parent_id.map(|p| p.to_string()).as_deref(),
        Some(parent.as_str())
    );

    // The parent made marketable fills; the children go to work.
    let v = sim.ok(sim
        .post(
            &format!("/iserver/account/{ACCT}/order/{parent}"),
            json!({"conid": AAPL, "cOID": "br-parent", "orderType": "LMT",
                   "price": at_pct(last, 102), "side": "BUY", "tif": "GTC", "quantity": 10}),
        )
        .await);
    assert_eq!(submitted(&v)[0].1, "Filled");
    assert_eq!(sim.status(profit).await.order_status.as_str(), "Submitted");
    // The stop loss is active but not elected: it waits as IBKR shows stops.
    assert_eq!(sim.status(stop).await.order_status.as_str(), "PreSubmitted");
    let book = sim.gw.orders();
    assert_eq!(book.len(), 3);
    assert!(book[1..].iter().all(|c| c.parent == Some(book[0].id)));
    assert!(book[1..].iter().all(|c| !c.is_waiting_for_parent()));
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn single_group_orders_cancel_each_other() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354", "o163"]).await;
    let last = sim.last_price(ACCT, AAPL).await;
    let v = sim
        .place(json!([
            {"conid": AAPL, "cOID": "oca-low", "orderType": "LMT", "price": at_pct(last, 60),
             "side": "BUY", "tif": "DAY", "quantity": 4, "isSingleGroup": true},
            {"conid": AAPL, "cOID": "oca-high", "orderType": "LMT", "price": at_pct(last, 105),
             "side": "BUY", "tif": "DAY", "quantity": 4, "isSingleGroup": true}
        ]))
        .await;
    let placed = submitted(&v);
    assert_eq!(placed[1].1, "Filled");
    assert_eq!(
        placed[0].1, "Cancelled",
        "the fill of one cancels the other"
    );
    let s = sim.status(&placed[0].0).await;
    assert!(s.oca_group_id.is_some());
    assert_eq!(s.oca_group_id, sim.status(&placed[1].0).await.oca_group_id);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn an_advisor_group_order_is_allocated_across_the_sub_accounts() {
    let sim = Sim::ready(config().broker(BrokerConfig::advisor())).await;
    let [usd, eur] = ADVISOR_SUB_ACCOUNTS;
    let before = (sim.position(usd, AAPL).await, sim.position(eur, AAPL).await);
    let (status, answer) = sim
        .post(
            "/iserver/account/orders/Growth",
            json!({"orders": [{"conid": AAPL, "cOID": "alloc-1", "orderType": "MKT",
                               "side": "BUY", "tif": "DAY", "quantity": 11,
                               "allocationMethod": "EqualQuantity"}]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (last, asked) = sim.confirm_all(answer).await;
    assert_eq!(asked, ["p6", "o354"]);
    let placed = submitted(&last);
    assert_eq!(placed.len(), 2, "one order per sub-account");
    let book = sim.gw.orders();
    let split: Vec<(String, Decimal, OrderStatus)> = book
        .iter()
        .map(|o| (o.account.clone(), o.quantity, o.status))
        .collect();
    assert_eq!(
        split,
        [
            (usd.to_string(), Decimal::from(6), OrderStatus::Filled),
            (eur.to_string(), Decimal::from(5), OrderStatus::Filled)
        ]
    );
    assert!(book.iter().all(|o| o.coid == "alloc-1"));
    assert_eq!(sim.position(usd, AAPL).await, before.0 + Decimal::from(6));
    assert_eq!(sim.position(eur, AAPL).await, before.1 + Decimal::from(5));
    // The master account (selected) sees its sub-accounts' executions.
    let trades: Vec<Trade> =
        serde_json::from_value(sim.ok(sim.get("/iserver/account/trades").await)).expect("trades");
    assert_eq!(trades.len(), 2);
    assert!(
        trades
            .iter()
            .all(|t| t.account_allocation_name.as_deref() == Some("Growth"))
    );
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn a_503_after_processing_leaves_the_order_placed_exactly_once() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354"]).await;
    let path = format!("/iserver/account/{ACCT}/orders");
    sim.gw.inject_fault(Fault::on(
        path.clone(),
        FaultKind::StatusAfterProcessing { status: 503 },
    ));
    let order = json!({"orders": [{"conid": AAPL, "cOID": "chaos-1", "orderType": "MKT",
                                   "side": "BUY", "tif": "DAY", "quantity": 2}]});
    let (status, _) = sim.post(&path, order.clone()).await;
    assert_eq!(status, 503);
    let book = sim.gw.orders();
    assert_eq!(
        book.len(),
        1,
        "the order went in although the answer was lost"
    );
    assert_eq!(book[0].coid, "chaos-1");
    // The client resends with the same cOID: refused, still one order.
    let v = sim.ok(sim.post(&path, order).await);
    assert!(error_of(&v).contains("duplicate"), "{v}");
    assert_eq!(sim.gw.orders().len(), 1);

    // The same on a reply: the confirmation is processed, its answer lost.
    sim.ok(sim
        .post("/iserver/questions/suppress/reset", json!({}))
        .await);
    let answer = sim
        .place(
            json!([{"conid": AAPL, "cOID": "chaos-2", "orderType": "MKT", "side": "BUY",
                        "tif": "DAY", "quantity": 2}]),
        )
        .await;
    let reply = prompt_id(&answer).expect("a question");
    sim.gw.inject_fault(Fault::on(
        "/iserver/reply/",
        FaultKind::StatusAfterProcessing { status: 503 },
    ));
    let (status, _) = sim
        .post(
            &format!("/iserver/reply/{reply}"),
            json!({"confirmed": true}),
        )
        .await;
    assert_eq!(status, 503);
    let coids: Vec<String> = sim.gw.orders().into_iter().map(|o| o.coid).collect();
    assert_eq!(coids, ["chaos-1", "chaos-2"]);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn a_slow_answer_after_processing_times_the_client_out_but_the_order_stands() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354"]).await;
    let path = format!("/iserver/account/{ACCT}/orders");
    sim.gw.inject_fault(Fault::on(
        path.clone(),
        FaultKind::SlowAfterProcessing { ms: 2_000 },
    ));
    let impatient = http_client(Some(Duration::from_millis(400)));
    let order = json!({"orders": [{"conid": AAPL, "cOID": "slow-1", "orderType": "MKT",
                                   "side": "BUY", "tif": "DAY", "quantity": 2}]});
    let err = impatient
        .post(sim.url(&path))
        .json(&order)
        .send()
        .await
        .expect_err("the client gives up");
    assert!(err.is_timeout(), "{err}");
    let book = sim.gw.orders();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].coid, "slow-1");
    assert_eq!(book[0].status, OrderStatus::Filled);
    let v = sim.ok(sim.post(&path, order).await);
    assert!(error_of(&v).contains("duplicate"), "{v}");
    assert_eq!(sim.gw.orders().len(), 1);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn random_faults_can_be_restricted_to_the_order_paths() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354"]).await;
    let faults: RandomFaults = "after:503=100%,path=/iserver/account/*/orders"
        .parse()
        .expect("a fault spec");
    sim.gw.set_random_faults(Some(faults), 7);
    // Other paths are spared...
    for path in ["/iserver/accounts", "/iserver/account/orders"] {
        let (status, v) = sim.get(path).await;
        assert_eq!(status, 200, "{path}: {v}");
    }
    let (status, _) = sim.get(&format!("/portfolio/{ACCT}/summary")).await;
    assert_eq!(status, 200);
    // ...the placements are hit, after being processed.
    for n in 0..3 {
        let (status, _) = sim
            .post(
                &format!("/iserver/account/{ACCT}/orders"),
                json!({"orders": [{"conid": AAPL, "cOID": format!("rnd-{n}"),
                                   "orderType": "MKT", "side": "BUY", "tif": "DAY",
                                   "quantity": 1}]}),
            )
            .await;
        assert_eq!(status, 503);
    }
    assert_eq!(sim.gw.orders().len(), 3);
    sim.gw.clear_faults();

    // The control API takes the same spec.
    let resp = sim
        .http
        .post(format!("{}sim/faults/random", sim.gw.url()))
        .json(&json!({"spec": "after:503=100%,path=/iserver/reply/*", "seed": 3}))
        .send()
        .await
        .expect("control API");
    assert_eq!(resp.status().as_u16(), 200);
    let (status, _) = sim
        .post("/iserver/reply/whatever", json!({"confirmed": true}))
        .await;
    assert_eq!(status, 503);
    let (status, _) = sim.get("/iserver/accounts").await;
    assert_eq!(status, 200);
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn working_orders_fill_in_the_background_without_polling() {
    // 09:29:56 in New York: the pre-market; a regular-hours order waits for the open.
    let before_open: DateTime<Utc> = "2025-07-16T13:29:56Z".parse().expect("an instant");
    let sim = Sim::ready(
        GatewayConfig::for_tests()
            .tls(false)
            .market_time(before_open),
    )
    .await;
    sim.suppress(&["o354"]).await;
    let mut events = sim.gw.order_events();
    let v = sim
        .place(
            json!([{"conid": AAPL, "cOID": "at-open", "orderType": "MKT", "side": "BUY",
                        "tif": "DAY", "quantity": 1}]),
        )
        .await;
    assert_eq!(submitted(&v)[0].1, "PreSubmitted");
    // No request from here on: only the background task can fill it.
    let mut filled = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if sim.gw.orders()[0].status == OrderStatus::Filled {
            filled = true;
            break;
        }
    }
    assert!(filled, "{:?}", sim.gw.orders());
    let mut fills = 0;
    while let Ok(e) = events.try_recv() {
        if let Event::Fill(f) = e {
            assert_eq!(f.account, ACCT);
            fills += 1;
        }
    }
    assert_eq!(fills, 1);
    assert!(!sim.gw.recent_order_events().is_empty());
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn the_control_api_lists_every_order() {
    let sim = Sim::ready(config()).await;
    sim.suppress(&["o354"]).await;
    sim.place(
        json!([{"conid": AAPL, "cOID": "ctl-1", "orderType": "MKT", "side": "SELL",
                      "tif": "DAY", "quantity": 1}]),
    )
    .await;
    let resp = sim
        .http
        .get(format!("{}sim/orders", sim.gw.url()))
        .send()
        .await
        .expect("control API");
    let v: Value = resp.json().await.expect("JSON");
    let list = v.as_array().expect("a list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["coid"], "ctl-1");
    assert_eq!(list[0]["account"], ACCT);
    assert_eq!(list[0]["side"], "SELL");
    assert_eq!(list[0]["status"], "Filled");
    sim.gw.shutdown().await;
}

#[tokio::test]
async fn order_calls_need_the_accounts_preflight_and_valid_input() {
    let sim = Sim::start(config()).await;
    let order = json!({"orders": [{"conid": AAPL, "orderType": "MKT", "side": "BUY",
                                   "tif": "DAY", "quantity": 1}]});
    let (status, v) = sim
        .post(&format!("/iserver/account/{ACCT}/orders"), order.clone())
        .await;
    assert_eq!(status, 400);
    assert!(error_of(&v).contains("Please query /accounts first"));
    sim.ok(sim.get("/iserver/accounts").await);
    sim.suppress(&["o354"]).await;
    // Refusals are 200 with an error, as IBKR answers them.
    for (ticket, says) in [
        (
            json!({"conid": AAPL, "orderType": "MKT", "side": "BUY", "tif": "DAY", "quantity": 0}),
            "invalid quantity 0",
        ),
        (
            json!({"conid": 999_999_999u32, "orderType": "MKT", "side": "BUY", "tif": "DAY",
                   "quantity": 1}),
            "unknown contract 999999999",
        ),
        (
            json!({"conid": AAPL, "orderType": "LMT", "side": "BUY", "tif": "DAY", "quantity": 1}),
            "needs a price",
        ),
        (
            json!({"conid": AAPL, "orderType": "MOC", "side": "BUY", "tif": "DAY",
                   "quantity": 1.5}),
            "whole units",
        ),
        (
            json!({"conidex": "28812380;;;265598/1,272093/-1", "orderType": "MKT",
                   "side": "BUY", "tif": "DAY", "quantity": 1}),
            "combination orders",
        ),
        (
            json!({"conid": AAPL, "orderType": "MKT", "side": "BUY", "tif": "GTD", "quantity": 1}),
            "time in force gtd",
        ),
    ] {
        let v = sim.place(json!([ticket])).await;
        let e = error_of(&v);
        assert!(e.to_lowercase().contains(says), "{says}: {e}");
    }
    let (status, _) = sim
        .post(
            &format!("/iserver/account/{ACCT}/orders"),
            json!({"orders": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = sim.post("/iserver/account/U0000000/orders", order).await;
    assert_eq!(status, 400);
    assert!(sim.gw.orders().is_empty());
    let v = sim.ok(sim
        .post(
            "/iserver/notification",
            json!({"orderId": 1, "reqId": "12345", "text": "Yes"}),
        )
        .await);
    assert_eq!(v, json!("Request was submitted"));
    sim.gw.shutdown().await;
}
