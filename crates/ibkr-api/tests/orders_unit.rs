//! The pure parts of the order flow: the tickets the builders produce, bracket and
//! OCA structure, customer order ids, prompt decisions, the reading of answers, the
//! classification of failures and the look-up by cOID. No HTTP, except one test that
//! connects to a closed loopback port.

use std::collections::HashSet;
use std::time::Duration;

use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::orders::{
    LiveOrders, OrderId, OrderPrompt, OrderResponse, OrderStatus, PromptId, Side, Tif, Trade,
};
use ibkr_api::orders::{
    COID_PREFIX, Certainty, LookupPolicy, MAX_COID_LEN, OrderTicket, PromptDecision, Step, Trail,
    check_bracket_prices, check_coid, classify_failure, decide_prompt, match_lookup, new_coid,
    next_step,
};
use ibkr_api::{Client, Decimal, Error, PacingTable, PromptPolicy, RetryPolicy};
use serde_json::{Value, json};

const AAPL: Conid = Conid(265598);

fn client() -> Client {
    // Never contacted: the builders only need a client to hang on to.
    Client::new("https://127.0.0.1:9").unwrap()
}

fn acct() -> AccountId {
    AccountId::from("DU1234567")
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The single ticket a builder would send, as JSON.
fn ticket_json(b: ibkr_api::orders::OrderBuilder<'_>) -> Value {
    let body = serde_json::to_value(b.request().unwrap()).unwrap();
    let orders = body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{body}");
    orders[0].clone()
}

// ---------------------------------------------------------------------------------------
// Tickets

#[test]
fn a_limit_order_is_the_documented_ticket() {
    let c = client();
    let b = c
        .order(&acct())
        .buy(AAPL, 100)
        .limit(Decimal::from(165))
        .coid("AAPL-BUY-100");
    assert_eq!(
        serde_json::to_value(b.request().unwrap()).unwrap(),
        json!({"orders": [{
            "acctId": "DU1234567", "conid": 265598, "cOID": "AAPL-BUY-100",
            "orderType": "LMT", "price": 165, "side": "BUY", "tif": "DAY", "quantity": 100
        }]})
    );
}

#[test]
fn every_order_type_has_its_documented_fields() {
    let c = client();
    let base = || c.order(&acct()).coid("x1");
    let cases: Vec<(ibkr_api::orders::OrderBuilder<'_>, Value)> = vec![
        (
            base().sell(AAPL, 5).market(),
            json!({"orderType": "MKT", "side": "SELL", "quantity": 5}),
        ),
        (
            base().buy(AAPL, 5).stop(d("190.25")),
            json!({"orderType": "STP", "side": "BUY", "quantity": 5, "price": 190.25}),
        ),
        (
            base().sell(AAPL, 5).stop_limit(d("180"), d("179.5")),
            json!({"orderType": "STOP_LIMIT", "side": "SELL", "quantity": 5, "price": 179.5, "auxPrice": 180}),
        ),
        (
            base().sell(AAPL, 5).trailing(Trail::Amount(d("1.5"))),
            json!({"orderType": "TRAIL", "side": "SELL", "quantity": 5, "trailingAmt": 1.5, "trailingType": "amt"}),
        ),
        (
            base().sell(AAPL, 5).trailing(Trail::Percent(d("2"))),
            json!({"orderType": "TRAIL", "side": "SELL", "quantity": 5, "trailingAmt": 2, "trailingType": "%"}),
        ),
        (
            base()
                .buy(AAPL, 100)
                .trailing_limit(d("183"), d("185.5"), Trail::Amount(d("1"))),
            json!({"orderType": "TRAILLMT", "side": "BUY", "quantity": 100, "price": 185.5,
                   "auxPrice": 183, "trailingAmt": 1, "trailingType": "amt"}),
        ),
        (
            base().buy(AAPL, 5).midprice(None),
            json!({"orderType": "MIDPRICE", "side": "BUY", "quantity": 5}),
        ),
        (
            base().buy(AAPL, 5).midprice(Some(d("200"))),
            json!({"orderType": "MIDPRICE", "side": "BUY", "quantity": 5, "price": 200}),
        ),
        (
            base().buy(AAPL, 5).moc(),
            json!({"orderType": "MOC", "side": "BUY", "quantity": 5}),
        ),
        (
            base().sell(AAPL, 5).loc(d("201.1")),
            json!({"orderType": "LOC", "side": "SELL", "quantity": 5, "price": 201.1}),
        ),
        (
            base().buy_cash(AAPL, 2500).limit(d("199")),
            json!({"orderType": "LMT", "side": "BUY", "cashQty": 2500, "price": 199}),
        ),
        (
            base().sell_cash(AAPL, d("1000.50")),
            json!({"orderType": "MKT", "side": "SELL", "cashQty": 1000.5}),
        ),
    ];
    for (builder, fields) in cases {
        let mut want = json!({"acctId": "DU1234567", "conid": 265598, "cOID": "x1", "tif": "DAY"});
        want.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        assert_eq!(ticket_json(builder), want);
    }
}

#[test]
fn time_in_force_and_outside_rth_are_sent_as_given() {
    let c = client();
    for (tif, code) in [
        (Tif::Day, "DAY"),
        (Tif::Gtc, "GTC"),
        (Tif::Ioc, "IOC"),
        (Tif::Opg, "OPG"),
    ] {
        let t = ticket_json(
            c.order(&acct())
                .buy(AAPL, 1)
                .limit(d("150"))
                .tif(tif)
                .outside_rth(true),
        );
        assert_eq!(t["tif"], code);
        assert_eq!(t["outsideRTH"], true);
    }
    // Not set: not sent.
    let t = ticket_json(c.order(&acct()).buy(AAPL, 1));
    assert!(t.get("outsideRTH").is_none(), "{t}");
    // Settings given before the side are kept.
    let t = ticket_json(
        c.order(&acct())
            .limit(d("150"))
            .tif(Tif::Gtc)
            .buy(AAPL, 3)
            .coid("early"),
    );
    assert_eq!(t["orderType"], "LMT");
    assert_eq!(t["tif"], "GTC");
    assert_eq!(t["quantity"], 3);
}

#[test]
fn a_builder_keeps_one_generated_coid() {
    let c = client();
    let b = c.order(&acct()).buy(AAPL, 1).limit(d("10"));
    let first = ticket_json(b.clone());
    let again = ticket_json(b);
    let coid = first["cOID"].as_str().unwrap();
    assert!(coid.starts_with(COID_PREFIX), "{coid}");
    assert_eq!(
        again["cOID"], coid,
        "request() must not make a new cOID each time"
    );
    let other = ticket_json(c.order(&acct()).buy(AAPL, 1).limit(d("10")));
    assert_ne!(other["cOID"], coid);
}

#[test]
fn bad_tickets_are_refused_before_anything_is_sent() {
    let c = client();
    let invalid = |r: ibkr_api::Result<_>| matches!(r, Err(Error::InvalidOrder(_)));
    assert!(invalid(c.order(&acct()).limit(d("1")).request()), "no side");
    assert!(invalid(c.order(&acct()).buy(AAPL, 0).request()), "zero");
    assert!(
        invalid(c.order(&acct()).sell(AAPL, -3).request()),
        "negative"
    );
    assert!(invalid(
        c.order(&acct()).buy(AAPL, 1).limit(d("-1")).request()
    ));
    assert!(invalid(
        c.order(&acct())
            .buy(AAPL, 1)
            .stop_limit(d("10"), d("0"))
            .request()
    ));
    assert!(invalid(
        c.order(&acct())
            .buy(AAPL, 1)
            .trailing(Trail::Percent(d("0")))
            .request()
    ));
    assert!(invalid(
        c.order(&acct()).buy_cash(AAPL, 100).stop(d("5")).request()
    ));
    assert!(invalid(
        c.order(&acct()).buy(AAPL, 1).coid("two words").request()
    ));
    assert!(invalid(
        c.order(&acct())
            .buy(AAPL, 1)
            .coid("x".repeat(MAX_COID_LEN + 1))
            .request()
    ));
    let e = c.order(&acct()).buy(AAPL, 0).request().unwrap_err();
    assert!(e.to_string().contains("nothing was sent"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Brackets and OCA groups

#[test]
fn a_bracket_is_a_parent_and_two_opposite_children_in_one_request() {
    let c = client();
    let body = c
        .bracket(&acct())
        .buy(AAPL, 50)
        .limit(d("160"))
        .take_profit(d("170"))
        .stop_loss(d("157.30"))
        .tif(Tif::Gtc)
        .coid("Parent")
        .request()
        .unwrap();
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"orders": [
            {"acctId": "DU1234567", "conid": 265598, "cOID": "Parent", "orderType": "LMT",
             "price": 160, "side": "BUY", "tif": "GTC", "quantity": 50},
            {"acctId": "DU1234567", "conid": 265598, "cOID": "Parent-tp", "parentId": "Parent",
             "orderType": "LMT", "price": 170, "side": "SELL", "tif": "GTC", "quantity": 50},
            {"acctId": "DU1234567", "conid": 265598, "cOID": "Parent-sl", "parentId": "Parent",
             "orderType": "STP", "price": 157.3, "side": "SELL", "tif": "GTC", "quantity": 50}
        ]})
    );
    // No OCA flag: bracket children are one-cancels-all by IBKR's bracket rules.
    assert!(body.orders.iter().all(|o| o.is_single_group.is_none()));
}

#[test]
fn a_sell_bracket_mirrors_the_prices_and_children_are_optional() {
    let c = client();
    let body = c
        .bracket(&acct())
        .sell(AAPL, 10)
        .market()
        .stop_loss(d("210"))
        .outside_rth(true)
        .request()
        .unwrap();
    assert_eq!(body.orders.len(), 2);
    let (parent, sl) = (&body.orders[0], &body.orders[1]);
    assert_eq!(parent.side, Side::Sell);
    assert_eq!(sl.side, Side::Buy);
    assert_eq!(sl.parent_id, parent.c_oid);
    assert_eq!(
        sl.c_oid,
        Some(format!("{}-sl", parent.c_oid.as_ref().unwrap()))
    );
    assert_eq!(sl.outside_rth, Some(true));
    assert!(sl.c_oid.as_ref().unwrap().len() <= MAX_COID_LEN);
    body.validate().unwrap();
}

#[test]
fn brackets_with_prices_on_the_wrong_side_are_refused() {
    let c = client();
    let bad = |b: ibkr_api::orders::BracketBuilder<'_>| {
        matches!(b.request(), Err(Error::InvalidOrder(_)))
    };
    // Buy: stop-loss < entry < take-profit.
    assert!(bad(c
        .bracket(&acct())
        .buy(AAPL, 1)
        .limit(d("100"))
        .take_profit(d("99"))));
    assert!(bad(c
        .bracket(&acct())
        .buy(AAPL, 1)
        .limit(d("100"))
        .stop_loss(d("101"))));
    // Sell: the reverse.
    assert!(bad(c
        .bracket(&acct())
        .sell(AAPL, 1)
        .limit(d("100"))
        .take_profit(d("101"))));
    // Market entry: still stop-loss below take-profit for a buy.
    assert!(bad(c
        .bracket(&acct())
        .buy(AAPL, 1)
        .take_profit(d("90"))
        .stop_loss(d("95"))));
    // No child, or a cash size.
    assert!(bad(c.bracket(&acct()).buy(AAPL, 1).limit(d("100"))));
    assert!(
        check_bracket_prices(&Side::Buy, Some(d("100")), Some(d("110")), Some(d("90"))).is_ok()
    );
    assert!(
        check_bracket_prices(&Side::Sell, Some(d("100")), Some(d("90")), Some(d("110"))).is_ok()
    );
    assert!(check_bracket_prices(&Side::Buy, None, Some(d("110")), Some(d("-1"))).is_err());
    // A parent cOID leaving no room for the children's suffix.
    assert!(bad(c
        .bracket(&acct())
        .buy(AAPL, 1)
        .limit(d("100"))
        .take_profit(d("110"))
        .coid("p".repeat(MAX_COID_LEN))));
}

#[test]
fn an_oca_group_marks_every_order_and_keeps_their_own_coids() {
    let c = client();
    let msft = Conid(272093);
    let body = c
        .oca(&acct())
        .order(OrderTicket::buy(AAPL, 10).limit(d("150")).coid("oca-a"))
        .order(OrderTicket::buy(msft, 5).limit(d("400")).coid("oca-b"))
        .request()
        .unwrap();
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(
        v,
        json!({"orders": [
            {"acctId": "DU1234567", "conid": 265598, "cOID": "oca-a", "orderType": "LMT",
             "isSingleGroup": true, "price": 150, "side": "BUY", "tif": "DAY", "quantity": 10},
            {"acctId": "DU1234567", "conid": 272093, "cOID": "oca-b", "orderType": "LMT",
             "isSingleGroup": true, "price": 400, "side": "BUY", "tif": "DAY", "quantity": 5}
        ]})
    );
    assert!(matches!(
        c.oca(&acct()).order(OrderTicket::buy(AAPL, 1)).request(),
        Err(Error::InvalidOrder(_))
    ));
    assert!(matches!(
        c.oca(&acct())
            .order(OrderTicket::buy(AAPL, 1).coid("same"))
            .order(OrderTicket::sell(AAPL, 1).coid("same"))
            .request(),
        Err(Error::InvalidOrder(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Customer order ids

#[test]
fn generated_coids_are_unique_short_and_valid() {
    let mut seen = HashSet::new();
    for _ in 0..50_000 {
        let c = new_coid();
        assert!(c.len() <= 32 && c.len() <= MAX_COID_LEN, "{c}");
        assert!(c.starts_with(&format!("{COID_PREFIX}-")), "{c}");
        check_coid(&c).unwrap();
        assert!(seen.insert(c), "duplicate cOID");
    }
    // From several threads at once.
    let handles: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| (0..5_000).map(|_| new_coid()).collect::<Vec<_>>()))
        .collect();
    for h in handles {
        for c in h.join().unwrap() {
            assert!(seen.insert(c), "duplicate cOID across threads");
        }
    }
}

#[test]
fn coids_are_checked() {
    assert!(check_coid("AAPL_BRACKET-0716").is_ok());
    // The longest accepted in the recordings: a UUID.
    assert!(check_coid("f5d5b15a-fdf1-4059-b7ed-3a72b973694d").is_ok());
    assert!(check_coid("").is_err());
    assert!(check_coid("tab\there").is_err());
    assert!(check_coid("é").is_err());
    assert!(check_coid(&"a".repeat(MAX_COID_LEN + 1)).is_err());
}

// ---------------------------------------------------------------------------------------
// Prompts and answers

fn prompt(ids: &[&str]) -> OrderPrompt {
    serde_json::from_value(json!({
        "id": "07a13a5a-4a48-44a5-bb25-5ab37b79186c",
        "message": ids.iter().map(|i| format!("question {i}")).collect::<Vec<_>>(),
        "isSuppressed": false,
        "messageIds": ids,
    }))
    .unwrap()
}

#[test]
fn the_prompt_policy_confirms_only_what_it_names() {
    let refuse = PromptPolicy::Refuse;
    let accept = PromptPolicy::accept([PromptId::NoMarketData, PromptId::PricePercentageLimit]);
    assert_eq!(
        decide_prompt(&refuse, &prompt(&["o354"])),
        PromptDecision::AskCaller
    );
    assert_eq!(
        decide_prompt(&accept, &prompt(&["o354"])),
        PromptDecision::Confirm
    );
    assert_eq!(
        decide_prompt(&accept, &prompt(&["o354", "o163"])),
        PromptDecision::Confirm
    );
    // One question outside the set: the caller decides.
    assert_eq!(
        decide_prompt(&accept, &prompt(&["o354", "o383"])),
        PromptDecision::AskCaller
    );
    // Unknown ids only when named; a prompt without ids always goes to the caller.
    assert_eq!(
        decide_prompt(&accept, &prompt(&["o99999"])),
        PromptDecision::AskCaller
    );
    let odd = PromptPolicy::accept([PromptId::from_code("o99999")]);
    assert_eq!(
        decide_prompt(&odd, &prompt(&["o99999"])),
        PromptDecision::Confirm
    );
    assert_eq!(
        decide_prompt(&accept, &prompt(&[])),
        PromptDecision::AskCaller
    );
    assert_eq!(PromptPolicy::default(), PromptPolicy::Refuse);
}

fn answer(v: Value) -> OrderResponse {
    serde_json::from_value(v).unwrap()
}

#[test]
fn answers_are_read_into_steps() {
    let accept = PromptPolicy::accept([PromptId::NoMarketData]);
    // The recorded prompt (o354, without market data).
    let prompted = answer(json!([{
        "id": "dd0227af-2de0-46fe-947d-1fd83f314e20",
        "message": ["You are submitting an order without market data. We strongly recommend against this as it may result in erroneous and unexpected trades.\nAre you sure you want to submit this order?"],
        "isSuppressed": false, "messageIds": ["o354"]
    }]));
    match next_step(&prompted, &accept, 0, 8) {
        Step::Confirm {
            reply_id,
            submitted,
        } => {
            assert_eq!(reply_id, "dd0227af-2de0-46fe-947d-1fd83f314e20");
            assert!(submitted.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next_step(&prompted, &PromptPolicy::Refuse, 0, 8),
        Step::AskCaller { .. }
    ));
    // The loop is bounded.
    assert_eq!(next_step(&prompted, &accept, 8, 8), Step::TooManyPrompts);
    assert!(matches!(
        next_step(&prompted, &accept, 7, 8),
        Step::Confirm { .. }
    ));

    // The recorded submission (2022 gateway, with local_order_id).
    let done = answer(
        json!([{"order_id": "1483841810", "local_order_id": "f5d5b15a-fdf1-4059-b7ed-3a72b973694d",
        "order_status": "Filled", "encrypt_message": "1"}]),
    );
    match next_step(&done, &PromptPolicy::Refuse, 0, 8) {
        Step::Done(s) => {
            assert_eq!(s.len(), 1);
            assert_eq!(s[0].order_id, OrderId(1483841810));
            assert_eq!(s[0].order_status, OrderStatus::Filled);
        }
        other => panic!("{other:?}"),
    }

    // Rejections, with and without orders accepted beside them.
    let rejected =
        answer(json!({"error": "We cannot accept an order at the limit price you selected."}));
    assert!(matches!(
        next_step(&rejected, &accept, 0, 8),
        Step::Rejected { ref submitted, .. } if submitted.is_empty()
    ));
    let partial = answer(json!([
        {"order_id": "1", "order_status": "PreSubmitted", "encrypt_message": "1"},
        {"error": "child refused"}
    ]));
    match next_step(&partial, &accept, 0, 8) {
        Step::Rejected { message, submitted } => {
            assert_eq!(message, "child refused");
            assert_eq!(submitted.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    // A parent accepted and a child's prompt: the prompt is followed, the parent kept.
    let mixed = answer(json!([
        {"order_id": "1", "order_status": "PreSubmitted", "encrypt_message": "1"},
        {"id": "r2", "message": ["?"], "isSuppressed": false, "messageIds": ["o354"]}
    ]));
    assert!(matches!(
        next_step(&mixed, &accept, 0, 8),
        Step::Confirm { ref submitted, .. } if submitted.len() == 1
    ));
    // An advanced reject goes to the caller; an empty answer is unclear.
    let reject = answer(
        json!({"orderId": 5, "reqId": "9", "dismissable": [], "text": "Use the algo?",
        "options": ["Use on this order", "Do not use"], "type": "M", "messageId": "p12", "prompt": true}),
    );
    assert!(matches!(
        next_step(&reject, &accept, 0, 8),
        Step::AdvancedReject(_)
    ));
    assert_eq!(next_step(&answer(json!([])), &accept, 0, 8), Step::Unclear);
}

// ---------------------------------------------------------------------------------------
// Failures

fn gateway(message: &str) -> Error {
    Error::Gateway {
        endpoint: "POST /iserver/account/DU1234567/orders".into(),
        message: message.into(),
    }
}

fn http(status: u16, body: &str) -> Error {
    Error::Http {
        endpoint: "POST /iserver/account/DU1234567/orders".into(),
        status,
        body: body.into(),
    }
}

#[test]
fn failures_are_certain_only_when_nothing_could_have_been_placed() {
    use Certainty::*;
    assert_eq!(
        classify_failure(&gateway("insufficient funds"), false),
        Rejected("insufficient funds".into())
    );
    for s in [500, 502, 503, 504, 408] {
        assert_eq!(classify_failure(&http(s, "x"), false), Uncertain, "{s}");
    }
    for s in [400, 401, 403, 404, 411, 429] {
        assert_eq!(classify_failure(&http(s, "x"), false), NotPlaced, "{s}");
    }
    let timeout = Error::Timeout {
        endpoint: "POST /x".into(),
        after: Duration::from_secs(1),
    };
    assert_eq!(classify_failure(&timeout, false), Uncertain);
    let decode = Error::Decode {
        endpoint: "POST /x".into(),
        message: "EOF".into(),
        snippet: "[{\"order_id".into(),
    };
    assert_eq!(classify_failure(&decode, false), Uncertain);
    let limited = Error::RateLimited {
        endpoint: "POST /x".into(),
        retry_after: None,
    };
    assert_eq!(classify_failure(&limited, false), NotPlaced);
    let waited = Error::WouldWait {
        endpoint: "POST /x".into(),
        class: "global".into(),
        wait: Duration::from_secs(1),
        max_wait: Duration::ZERO,
    };
    assert_eq!(classify_failure(&waited, false), NotPlaced);
    let session = Error::NoBrokerageSession {
        endpoint: "POST /x".into(),
        message: "no bridge".into(),
    };
    assert_eq!(classify_failure(&session, false), NotPlaced);
    // A reply id IBKR no longer knows.
    assert!(matches!(
        classify_failure(&gateway("Reply id abc not found"), true),
        ReplyExpired(_)
    ));
    assert!(matches!(
        classify_failure(&http(404, "reply not found"), true),
        ReplyExpired(_)
    ));
    // The same words on a placement are a rejection, not an expiry.
    assert!(matches!(
        classify_failure(&gateway("contract not found"), false),
        Rejected(_)
    ));
    // IBKR answers 503 to a stale reply, but 503 is also a glitch: looked up.
    assert_eq!(classify_failure(&http(503, "x"), true), Uncertain);
}

#[tokio::test]
async fn a_refused_connection_is_certainly_not_placed() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .gateway(format!("https://127.0.0.1:{port}"))
        .pacing(PacingTable::unlimited())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let e = client.check_auth_status().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert_eq!(classify_failure(&e, false), Certainty::NotPlaced);
    // The whole flow says so, with the cOID, and without a look-up.
    match client
        .order(&acct())
        .buy(AAPL, 1)
        .limit(d("100"))
        .coid("refused-1")
        .lookup(LookupPolicy::new(1, Duration::ZERO))
        .place()
        .await
    {
        Err(Error::OrderNotPlaced { coid, source }) => {
            assert_eq!(coid, "refused-1");
            assert!(matches!(*source, Error::Transport { .. }), "{source:?}");
        }
        other => panic!("expected OrderNotPlaced, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Look-up by cOID

fn live(orders: Value) -> LiveOrders {
    serde_json::from_value(json!({"orders": orders, "snapshot": true})).unwrap()
}

fn trades(v: Value) -> Vec<Trade> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn orders_are_found_by_their_coid_in_live_orders_then_in_trades() {
    let coids = vec!["a-1".to_string(), "a-2".to_string(), "a-3".to_string()];
    let l = live(json!([
        {"acct": "DU1234567", "orderId": 11, "order_ref": "a-1", "status": "Submitted"},
        {"acct": "DU1234567", "orderId": 99, "order_ref": "other", "status": "Filled"},
        {"acct": "DU1234567", "orderId": 98, "status": "Filled"}
    ]));
    let t = trades(json!([
        {"execution_id": "0000e0d5.6576fd38.01.01", "symbol": "AAPL", "side": "B", "size": 1,
         "price": "190.1", "order_ref": "a-2", "conid": 265598, "order_id": 12},
        {"execution_id": "0000e0d5.6576fd39.01.01", "symbol": "AAPL", "side": "B", "size": 1,
         "price": "190.1", "order_ref": "a-3", "conid": 265598}
    ]));
    let found = match_lookup(&coids, &l, &t);
    assert!(!found.complete());
    assert_eq!(found.missing, ["a-3"]);
    assert_eq!(found.executed_without_id, ["a-3"]);
    assert_eq!(found.found.len(), 2);
    assert_eq!(found.found[0].order_id, OrderId(11));
    assert_eq!(found.found[0].status, Some(OrderStatus::Submitted));
    assert_eq!(found.found[0].coid.as_deref(), Some("a-1"));
    assert!(found.found[0].recovered);
    assert_eq!(found.found[1].order_id, OrderId(12));
    assert_eq!(found.found[1].status, None);

    let none = match_lookup(&coids[..1], &live(json!([])), &[]);
    assert_eq!(none.missing, ["a-1"]);
    assert!(none.found.is_empty());
    let all = match_lookup(&coids[..1], &l, &[]);
    assert!(all.complete());
}
