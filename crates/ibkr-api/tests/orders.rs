//! The order flow against the simulator: prompts refused then confirmed, accepted by
//! policy, chained; brackets and OCA groups; modify and cancel; IBKR's rejections; and
//! uncertain outcomes (answers lost to injected faults) resolved by looking the order
//! up by its cOID, with exactly one order in the simulator's book.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::market_data::MarketDataField;
use ibkr_api::model::orders::{LiveOrdersQuery, OrderStatus, PromptId, Tif};
use ibkr_api::orders::{LookupPolicy, OrderTicket};
use ibkr_api::{Client, Decimal, Error, PacingTable, Placement, PromptPolicy};
use ibkr_sim::{Fault, FaultKind, Gateway, GatewayConfig};

const AAPL: Conid = Conid(265598);
const MSFT: Conid = Conid(272093);
const ACCOUNT: &str = "DU1234567";
const PLACE_PATH: &str = "/iserver/account/DU1234567/orders";

/// A Wednesday, 15:00 UTC: US markets open.
fn open_market() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap()
}

async fn setup() -> (Gateway, Client) {
    let gw = Gateway::start(GatewayConfig::for_tests().market_time(open_market()))
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

fn acct() -> AccountId {
    AccountId::from(ACCOUNT)
}

/// Fails instead of hanging.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(90), f)
        .await
        .expect("did not finish in time")
}

/// The last price, from a snapshot (which also opens the contract's market-data
/// stream, so that no "without market data" prompt comes).
async fn last_price(client: &Client, conid: Conid) -> Decimal {
    let q = client
        .quotes(&[conid], &[MarketDataField::Last], Duration::from_secs(5))
        .await
        .unwrap();
    q.quotes[0].last.expect("a last price")
}

/// A price `pct` percent away from `p`, on the cent.
fn away(p: Decimal, pct: i64) -> Decimal {
    (p * (Decimal::ONE_HUNDRED + Decimal::from(pct)) / Decimal::ONE_HUNDRED).round_dp(2)
}

/// The simulator's orders with this cOID.
fn book(gw: &Gateway, coid: &str) -> Vec<ibkr_sim::matching::Order> {
    gw.orders().into_iter().filter(|o| o.coid == coid).collect()
}

fn placed(p: Placement) -> Vec<ibkr_api::PlacedOrder> {
    match p {
        Placement::Placed(v) => v,
        other => panic!("expected Placed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_prompt_refused_by_default_comes_back_and_confirming_places_the_order() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        let limit = away(last, -5);
        let first = client
            .order(&acct())
            .buy(AAPL, 10)
            .limit(limit)
            .tif(Tif::Gtc)
            .place()
            .await
            .unwrap();
        let Placement::NeedsConfirmation {
            reply_id,
            prompts,
            messages,
            coid,
            placed: accepted,
        } = first
        else {
            panic!("expected a prompt, got {first:?}");
        };
        // 5 % below the last price: beyond the 3 % price constraint.
        assert_eq!(prompts, [PromptId::PricePercentageLimit]);
        assert!(
            messages[0].contains("Percentage constraint"),
            "{messages:?}"
        );
        assert!(accepted.is_empty());
        assert_eq!(reply_id.coids(), std::slice::from_ref(&coid));
        assert!(
            book(&gw, &coid).is_empty(),
            "nothing placed before the answer"
        );

        let done = placed(client.confirm(&reply_id).await.unwrap());
        assert_eq!(done.len(), 1);
        let order = &done[0];
        assert_eq!(order.coid.as_deref(), Some(coid.as_str()));
        assert!(!order.recovered);
        // A buy limit below the market rests.
        assert_eq!(order.status, Some(OrderStatus::Submitted));
        let in_book = book(&gw, &coid);
        assert_eq!(in_book.len(), 1);
        assert_eq!(in_book[0].id.0 as i64, order.order_id.0);
        assert_eq!(in_book[0].quantity, Decimal::from(10));

        // The typed reads agree.
        let status = client.order_status(order.order_id).await.unwrap();
        assert_eq!(status.order_status, OrderStatus::Submitted);
        let live = client.live_orders(&LiveOrdersQuery::new()).await.unwrap();
        let l = live.get(order.order_id).expect("in live orders");
        assert_eq!(l.order_ref.as_deref(), Some(coid.as_str()));
        assert_eq!(l.price_value(), Some(limit));
        // The reply id is spent: answering again is a typed error.
        match client.confirm(&reply_id).await {
            Err(Error::ReplyExpired { reply_id: id, .. }) => assert_eq!(id, reply_id.as_str()),
            other => panic!("expected ReplyExpired, got {other:?}"),
        }
        assert_eq!(book(&gw, &coid).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_accept_policy_confirms_its_prompts_and_hands_back_the_others() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        // Accepted: placed in one call.
        let done = placed(
            client
                .order(&acct())
                .buy(AAPL, 5)
                .limit(away(last, -10))
                .prompts(PromptPolicy::accept([PromptId::PricePercentageLimit]))
                .place()
                .await
                .unwrap(),
        );
        assert_eq!(done.len(), 1);
        let coid = done[0].coid.clone().unwrap();
        assert_eq!(book(&gw, &coid).len(), 1);

        // A question outside the set (the size limit, 500 shares) comes back; declining
        // it places nothing.
        let p = client
            .order(&acct())
            .buy(AAPL, 600)
            .limit(away(last, -10))
            .prompts(PromptPolicy::accept([PromptId::PricePercentageLimit]))
            .place()
            .await
            .unwrap();
        let Placement::NeedsConfirmation {
            reply_id,
            prompts,
            coid,
            ..
        } = p
        else {
            panic!("expected a prompt, got {p:?}");
        };
        assert_eq!(prompts, [PromptId::SizeLimit]);
        client.decline(&reply_id).await.unwrap();
        assert!(book(&gw, &coid).is_empty());
        // A declined reply id is gone.
        assert!(matches!(
            client.confirm(&reply_id).await,
            Err(Error::ReplyExpired { .. })
        ));
        assert!(book(&gw, &coid).is_empty());
    })
    .await;
}

#[tokio::test]
async fn chained_prompts_are_followed_one_after_the_other() {
    let (gw, client) = setup().await;
    within(async {
        // No snapshot was asked (no market data), the limit is far from the market, and
        // it is a stop order: three questions, one at a time.
        let chain = [
            PromptId::NoMarketData,
            PromptId::PricePercentageLimit,
            PromptId::StopOrderTypes,
        ];
        let mut step = client
            .order(&acct())
            .sell(AAPL, 3)
            .stop_limit(Decimal::ONE, Decimal::ONE)
            .place()
            .await
            .unwrap();
        let mut seen = Vec::new();
        let coid = loop {
            match step {
                Placement::NeedsConfirmation {
                    reply_id, prompts, ..
                } => {
                    seen.extend(prompts);
                    step = client.confirm(&reply_id).await.unwrap();
                }
                Placement::Placed(orders) => break orders[0].coid.clone().unwrap(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(seen, chain);
        assert_eq!(book(&gw, &coid).len(), 1);

        // The same three accepted by policy: the loop answers them all in one call.
        let done = placed(
            client
                .order(&acct())
                .sell(AAPL, 2)
                .stop_limit(Decimal::ONE, Decimal::ONE)
                .prompts(PromptPolicy::accept(chain.clone()))
                .place()
                .await
                .unwrap(),
        );
        let coid = done[0].coid.clone().unwrap();
        let in_book = book(&gw, &coid);
        assert_eq!(in_book.len(), 1);
        assert_eq!(in_book[0].quantity, Decimal::from(2));
    })
    .await;
}

/// A resting buy limit far below the market, placed with its prompts accepted.
async fn resting_order(client: &Client, quantity: i64) -> ibkr_api::PlacedOrder {
    placed(
        client
            .order(&acct())
            .buy(AAPL, quantity)
            .limit(Decimal::ONE)
            .tif(Tif::Gtc)
            .prompts(PromptPolicy::accept([
                PromptId::NoMarketData,
                PromptId::PricePercentageLimit,
            ]))
            .place()
            .await
            .unwrap(),
    )
    .remove(0)
}

#[tokio::test]
async fn a_working_order_is_modified_then_cancelled_and_then_refuses_both() {
    let (gw, client) = setup().await;
    within(async {
        let order = resting_order(&client, 4).await;
        let coid = order.coid.clone().unwrap();

        // A modification repeats the ticket with the new terms.
        let ticket = OrderTicket::buy(AAPL, 4)
            .limit(Decimal::new(150, 2))
            .tif(Tif::Gtc)
            .coid(coid.clone())
            .to_request(&acct())
            .unwrap();
        let mut answer = client
            .modify_order(&acct(), order.order_id, &ticket)
            .await
            .unwrap();
        // The new price is still far from the market: confirm IBKR's question.
        let mut rounds = 0;
        while let Some(p) = answer.prompt().cloned() {
            assert_eq!(p.message_ids, [PromptId::PricePercentageLimit]);
            answer = client.reply(&p.id, true).await.unwrap();
            rounds += 1;
            assert!(rounds < 4);
        }
        assert_eq!(answer.order_ids(), [order.order_id]);
        let in_book = book(&gw, &coid);
        assert_eq!(in_book.len(), 1, "modified in place, not a new order");
        assert!(
            matches!(in_book[0].kind, ibkr_sim::matching::OrderKind::Limit(p) if p == Decimal::new(150, 2)),
            "{:?}",
            in_book[0].kind
        );

        // Cancel.
        let ack = client.cancel_order(&acct(), order.order_id).await.unwrap();
        assert!(ack.is_accepted());
        assert_eq!(ack.order_id(), Some(order.order_id));
        let status = client.order_status(order.order_id).await.unwrap();
        assert_eq!(status.order_status, OrderStatus::Cancelled);

        // Cancelled: a second cancel and a modification are IBKR's rejections.
        match client.cancel_order(&acct(), order.order_id).await {
            Err(Error::OrderRejected { message, .. }) => {
                assert!(message.to_lowercase().contains("cancelled"), "{message}")
            }
            other => panic!("expected OrderRejected, got {other:?}"),
        }
        match client.modify_order(&acct(), order.order_id, &ticket).await {
            Err(Error::OrderRejected { message, .. }) => {
                assert!(message.to_lowercase().contains("cancelled"), "{message}")
            }
            other => panic!("expected OrderRejected, got {other:?}"),
        }
        // An order that does not exist: IBKR's recorded text.
        match client
            .cancel_order(&acct(), ibkr_api::model::orders::OrderId(1))
            .await
        {
            Err(Error::OrderRejected { message, .. }) => {
                assert_eq!(message, "OrderID 1 doesn't exist")
            }
            other => panic!("expected OrderRejected, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn cancelling_a_filled_order_is_a_rejection_and_its_execution_carries_the_coid() {
    let (gw, client) = setup().await;
    within(async {
        let _ = last_price(&client, AAPL).await;
        let done = placed(client.order(&acct()).buy(AAPL, 2).place().await.unwrap());
        let order = &done[0];
        let coid = order.coid.clone().unwrap();
        // A market order in regular hours fills at once.
        assert_eq!(order.status, Some(OrderStatus::Filled));
        let in_book = book(&gw, &coid);
        assert_eq!(in_book.len(), 1);
        assert_eq!(in_book[0].filled, Decimal::from(2));

        match client.cancel_order(&acct(), order.order_id).await {
            Err(Error::OrderRejected { message, coid, .. }) => {
                assert!(message.contains("filled"), "{message}");
                assert_eq!(coid, None);
            }
            other => panic!("expected OrderRejected, got {other:?}"),
        }
        let trades = client.trades(None).await.unwrap();
        let mine: Vec<_> = trades
            .iter()
            .filter(|t| t.order_ref.as_deref() == Some(coid.as_str()))
            .collect();
        assert!(!mine.is_empty(), "{trades:?}");
        let size: Decimal = mine.iter().map(|t| t.size).sum();
        assert_eq!(size, Decimal::from(2));
        assert_eq!(mine[0].order_id, Some(order.order_id));
    })
    .await;
}

#[tokio::test]
async fn an_order_the_account_cannot_afford_is_rejected_with_ibkrs_message() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        // 1,000,000 USD of cash: 50,000 shares are far beyond the buying power.
        let r = client
            .order(&acct())
            .buy(AAPL, 50_000)
            .limit(last)
            .coid("too-big-1")
            .prompts(PromptPolicy::accept(PromptId::KNOWN))
            .place()
            .await;
        match r {
            Err(Error::OrderRejected {
                message,
                coid,
                placed,
                ..
            }) => {
                assert!(message.contains("insufficient funds"), "{message}");
                assert_eq!(coid.as_deref(), Some("too-big-1"));
                assert!(placed.is_empty());
            }
            other => panic!("expected OrderRejected, got {other:?}"),
        }
        assert!(book(&gw, "too-big-1").is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_bracket_and_an_oca_group_are_placed_in_one_request() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        let entry = away(last, -10);
        let done = placed(
            client
                .bracket(&acct())
                .buy(AAPL, 10)
                .limit(entry)
                .take_profit(away(last, 10))
                .stop_loss(away(last, -20))
                .tif(Tif::Gtc)
                .prompts(PromptPolicy::accept([
                    PromptId::PricePercentageLimit,
                    PromptId::StopOrderTypes,
                ]))
                .place()
                .await
                .unwrap(),
        );
        assert_eq!(done.len(), 3);
        let parent_coid = done[0].coid.clone().unwrap();
        let parent = &book(&gw, &parent_coid)[0];
        let tp = &book(&gw, &format!("{parent_coid}-tp"))[0];
        let sl = &book(&gw, &format!("{parent_coid}-sl"))[0];
        assert_eq!(tp.parent, Some(parent.id));
        assert_eq!(sl.parent, Some(parent.id));
        assert_eq!(tp.side, ibkr_sim::broker::Side::Sell);
        assert_eq!(sl.side, ibkr_sim::broker::Side::Sell);
        // The children wait for the parent.
        assert_eq!(
            done.iter().map(|o| o.status.clone()).collect::<Vec<_>>(),
            [
                Some(OrderStatus::Submitted),
                Some(OrderStatus::PreSubmitted),
                Some(OrderStatus::PreSubmitted)
            ]
        );
        assert_eq!(gw.orders().len(), 3);

        // Two alternatives, one-cancels-all.
        let done = placed(
            client
                .oca(&acct())
                .order(OrderTicket::buy(AAPL, 1).limit(away(last, -10)))
                .order(OrderTicket::buy(MSFT, 1).limit(Decimal::ONE))
                .prompts(PromptPolicy::accept([
                    PromptId::PricePercentageLimit,
                    PromptId::NoMarketData,
                ]))
                .place()
                .await
                .unwrap(),
        );
        assert_eq!(done.len(), 2);
        let groups: Vec<_> = done
            .iter()
            .map(|o| book(&gw, o.coid.as_ref().unwrap())[0].oca_group.clone())
            .collect();
        assert!(groups[0].is_some());
        assert_eq!(groups[0], groups[1]);
        assert_eq!(gw.orders().len(), 5);
    })
    .await;
}

#[tokio::test]
async fn a_preview_places_nothing() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        let preview = client
            .order(&acct())
            .buy(AAPL, 10)
            .limit(last)
            .what_if()
            .await
            .unwrap();
        let amount = preview.amount.expect("amount");
        assert!(amount.commission.is_some());
        assert!(preview.error.is_none());
        assert!(gw.orders().is_empty());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Uncertain outcomes

/// A client with a short pause between look-ups.
fn quick(lookup: u32) -> LookupPolicy {
    LookupPolicy::new(lookup, Duration::from_millis(200))
}

#[tokio::test]
async fn an_answer_lost_after_the_order_was_placed_is_resolved_by_coid_with_one_order() {
    for kind in [
        FaultKind::Drop,
        FaultKind::TruncatedJson,
        FaultKind::MalformedJson,
    ] {
        let (gw, client) = setup().await;
        within(async {
            let last = last_price(&client, AAPL).await;
            // The gateway places the order, then the answer is broken on the way back.
            gw.inject_fault(Fault::on(PLACE_PATH, kind.clone()));
            let done = placed(
                client
                    .order(&acct())
                    .buy(AAPL, 7)
                    .limit(away(last, -1))
                    .lookup(quick(3))
                    .place()
                    .await
                    .unwrap_or_else(|e| panic!("{kind:?}: {e}")),
            );
            assert_eq!(done.len(), 1, "{kind:?}");
            let order = &done[0];
            assert!(order.recovered, "{kind:?}");
            let coid = order.coid.clone().unwrap();
            let in_book = book(&gw, &coid);
            assert_eq!(in_book.len(), 1, "{kind:?}: exactly one order");
            assert_eq!(in_book[0].id.0 as i64, order.order_id.0);
            assert_eq!(gw.orders().len(), 1, "{kind:?}: never resent");
        })
        .await;
    }
}

#[tokio::test]
async fn a_lost_answer_to_a_confirmation_is_resolved_by_coid_too() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        let p = client
            .order(&acct())
            .buy(AAPL, 3)
            .limit(away(last, -5))
            .lookup(quick(3))
            .place()
            .await
            .unwrap();
        let Placement::NeedsConfirmation { reply_id, coid, .. } = p else {
            panic!("expected a prompt, got {p:?}");
        };
        gw.inject_fault(Fault::on("/iserver/reply", FaultKind::Drop));
        let done = placed(client.confirm(&reply_id).await.unwrap());
        assert_eq!(done.len(), 1);
        assert!(done[0].recovered);
        assert_eq!(done[0].coid.as_deref(), Some(coid.as_str()));
        assert_eq!(book(&gw, &coid).len(), 1);
        assert_eq!(gw.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_5xx_before_the_order_system_is_an_unknown_outcome_not_a_resend() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        // The gateway answers 503 without placing anything: the client cannot know
        // that, looks the order up, does not find it, and says so.
        gw.inject_fault(Fault::on(PLACE_PATH, FaultKind::Status { status: 503 }));
        let r = client
            .order(&acct())
            .buy(AAPL, 7)
            .limit(away(last, -1))
            .coid("lost-503")
            .lookup(quick(2))
            .place()
            .await;
        match r {
            Err(Error::OrderOutcomeUnknown { coid, cause, found }) => {
                assert_eq!(coid, "lost-503");
                assert!(cause.contains("503"), "{cause}");
                assert!(found.is_empty());
            }
            other => panic!("expected OrderOutcomeUnknown, got {other:?}"),
        }
        assert!(gw.orders().is_empty(), "the library never resent the order");

        // A 429 is certain: the gateway refused before anything was processed.
        gw.inject_fault(Fault::on(PLACE_PATH, FaultKind::Status { status: 429 }));
        let r = client
            .order(&acct())
            .buy(AAPL, 7)
            .limit(away(last, -1))
            .coid("refused-429")
            .place()
            .await;
        match r {
            Err(Error::OrderNotPlaced { coid, source }) => {
                assert_eq!(coid, "refused-429");
                assert!(matches!(*source, Error::RateLimited { .. }), "{source:?}");
            }
            other => panic!("expected OrderNotPlaced, got {other:?}"),
        }
        assert!(gw.orders().is_empty());
        // Placing it again is then safe, and places exactly one.
        let done = placed(
            client
                .order(&acct())
                .buy(AAPL, 7)
                .limit(away(last, -1))
                .coid("refused-429")
                .place()
                .await
                .unwrap(),
        );
        assert!(!done[0].recovered);
        assert_eq!(book(&gw, "refused-429").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_broken_bracket_answer_recovers_every_leg() {
    let (gw, client) = setup().await;
    within(async {
        let last = last_price(&client, AAPL).await;
        // No question may come (the fault is on the placement's answer): the stop
        // order's warning is suppressed for the session.
        assert!(
            client
                .suppress_questions(&[PromptId::StopOrderTypes])
                .await
                .unwrap()
                .is_submitted()
        );
        gw.inject_fault(Fault::on(PLACE_PATH, FaultKind::TruncatedJson));
        let done = placed(
            client
                .bracket(&acct())
                .buy(AAPL, 10)
                .limit(away(last, -1))
                .take_profit(away(last, 2))
                .stop_loss(away(last, -2))
                .lookup(quick(3))
                .place()
                .await
                .unwrap(),
        );
        assert_eq!(done.len(), 3);
        assert!(done.iter().all(|o| o.recovered));
        assert_eq!(gw.orders().len(), 3);
        let mut ids: Vec<i64> = done.iter().map(|o| o.order_id.0).collect();
        ids.sort();
        let mut book_ids: Vec<i64> = gw.orders().iter().map(|o| o.id.0 as i64).collect();
        book_ids.sort();
        assert_eq!(ids, book_ids);
    })
    .await;
}
