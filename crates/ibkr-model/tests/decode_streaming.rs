//! Decodes every recorded WebSocket frame (copies in `tests/fixtures/ws/`, provenance in
//! `tests/fixtures/ws/SOURCES.md`) into its typed form through [`ServerFrame::decode`],
//! checks that nothing landed in an `extra` map where the type models the frame, that
//! re-encoding gives back the same JSON, and a few typed values per frame; and checks the
//! text of the client messages against IBKR's documented examples.

mod common;
use common::{assert_no_extra, d, round_trip};

use ibkr_model::accounts::AccountId;
use ibkr_model::contracts::Conid;
use ibkr_model::market_data::{DataTimeline, MarketDataField};
use ibkr_model::orders::{ExecSide, LooseDecimal, OrderId, OrderStatus, Side};
use ibkr_model::streaming::{
    AccountArgs, ClientMessage, HistoryArgs, LedgerUpdate, MarketDataUpdate, ServerFrame,
    TradesArgs,
};
use ibkr_model::time::EpochMillis;
use serde_json::Value;

/// A fixture's name and text, embedded at compile time.
macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/ws/", $name)))
    };
}

/// Every fixture of the directory (the list is checked against the directory below).
const ALL: &[(&str, &str)] = &[
    fixture!("blt.json"),
    fixture!("error_topic_unknown.json"),
    fixture!("ntf.json"),
    fixture!("smd_265598.json"),
    fixture!("smd_265598_captured_2021.json"),
    fixture!("smd_416904_captured.json"),
    fixture!("smd_8314.json"),
    fixture!("smd_combo_heartbeat_captured.json"),
    fixture!("smh_response.json"),
    fixture!("sor_initial.json"),
    fixture!("sor_partial_fills.json"),
    fixture!("sor_status_changes.json"),
    fixture!("spl.json"),
    fixture!("str_trades.json"),
    fixture!("sts_authenticated.json"),
    fixture!("sts_competing.json"),
    fixture!("sts_full.json"),
    fixture!("system_hb.json"),
    fixture!("system_success.json"),
    fixture!("system_success_with_flags.json"),
    fixture!("ws_session_waiting.json"),
];

/// Decodes a frame through `ServerFrame::decode` and checks that re-encoding the typed
/// frame gives back the same JSON.
fn frame((name, text): (&str, &str)) -> ServerFrame {
    let original: Value = serde_json::from_str(text).unwrap();
    let f = ServerFrame::decode(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        !matches!(f, ServerFrame::Unknown(_)),
        "{name}: not recognised: {f:?}"
    );
    assert_eq!(f.to_value(), original, "{name}: re-encoding differs");
    let text_again = serde_json::to_string(&f).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text_again).unwrap(),
        original,
        "{name}: re-encoded text differs"
    );
    f
}

#[test]
fn every_fixture_is_listed_and_decodes_losslessly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ws");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
    assert_eq!(on_disk, listed);
    for sample in ALL {
        frame(*sample);
    }
}

// --- market data ---------------------------------------------------------------------------

#[test]
fn market_data_frames() {
    let ServerFrame::MarketData(md) = frame(fixture!("smd_8314.json")) else {
        panic!()
    };
    let md: MarketDataUpdate = round_trip(("smd_8314.json", &serde_json::to_string(&md).unwrap()));
    assert_eq!(md.topic, "smd+8314");
    assert_eq!(md.target(), "8314");
    assert_eq!(md.conid, Some(Conid(8314)));
    assert_eq!(md.conid_ex.as_deref(), Some("8314"));
    assert_eq!(md.server_id.as_deref(), Some("q2"));
    assert_eq!(md.updated, Some(EpochMillis(1712596911593)));
    let q = md.quote().unwrap();
    assert_eq!(q.last, Some(d("189.60")));
    assert_eq!(q.bid, Some(d("189.56")));
    assert_eq!(q.ask, Some(d("189.61")));
    assert_eq!(q.ask_size, Some(d("500")));
    assert_eq!(q.bid_size, Some(d("200")));
    assert_eq!(q.last_size, Some(d("100")));
    assert_eq!(
        q.availability.as_ref().and_then(|a| a.timeline()),
        Some(DataTimeline::RealTime)
    );
    // Every value is a field id the table knows.
    let fields: Vec<MarketDataField> = md.values().map(|(f, _)| f).collect();
    assert!(
        fields
            .iter()
            .all(|f| !matches!(f, MarketDataField::Unknown(_))),
        "{fields:?}"
    );

    // A number where the docs show one (83, % change), and the server id twice.
    let ServerFrame::MarketData(md) = frame(fixture!("smd_265598.json")) else {
        panic!()
    };
    assert_eq!(md.get(MarketDataField::ChangePct), Some(&Value::from(0.04)));
    assert_eq!(md.quote().unwrap().change_pct, Some(d("0.04")));
    assert_eq!(md.get_str(MarketDataField::from_id(6119)), Some("q6"));

    // A captured frame: a `K`/`M` size with its unformatted companion `87_raw`.
    let ServerFrame::MarketData(md) = frame(fixture!("smd_265598_captured_2021.json")) else {
        panic!()
    };
    assert_eq!(md.quote().unwrap().volume, Some(d("12200000")));
    assert_eq!(md.fields.get("87_raw"), Some(&Value::from(12200000.0)));

    let ServerFrame::MarketData(md) = frame(fixture!("smd_416904_captured.json")) else {
        panic!()
    };
    assert_eq!(md.contract(), Some(Conid(416904)));
    assert_eq!(
        md.quote().unwrap().availability.unwrap().timeline(),
        Some(DataTimeline::Frozen)
    );

    // A combo's frame without any change: no conid, the legs in the topic.
    let ServerFrame::MarketData(md) = frame(fixture!("smd_combo_heartbeat_captured.json")) else {
        panic!()
    };
    assert_eq!(md.conid, None);
    assert_eq!(md.contract(), Some(Conid(28812380)));
    assert_eq!(md.values().count(), 0);
    assert_eq!(md.updated, Some(EpochMillis(1693723590349)));
}

#[test]
fn frames_merge_into_a_contract_row() {
    let ServerFrame::MarketData(first) = frame(fixture!("smd_8314.json")) else {
        panic!()
    };
    let mut row = first.to_row();
    let next = ServerFrame::decode(
        r#"{"31":"189.65","_updated":1712596912093,"conid":8314,"topic":"smd+8314"}"#,
    )
    .unwrap();
    let ServerFrame::MarketData(next) = next else {
        panic!()
    };
    next.merge_into(&mut row);
    let q = row.quote().unwrap();
    assert_eq!(q.last, Some(d("189.65")), "the new value");
    assert_eq!(q.bid, Some(d("189.56")), "the value not sent again stays");
    assert_eq!(q.updated, Some(EpochMillis(1712596912093)));
}

#[test]
fn history_frame() {
    let ServerFrame::History(h) = frame(fixture!("smh_response.json")) else {
        panic!()
    };
    assert_eq!(h.topic, "smh+265598");
    assert_eq!(h.history.server_id, "341115");
    assert_eq!(h.history.symbol, "AAPL");
    assert_eq!(h.history.bar_length, 300);
    assert_eq!(h.history.points, Some(23));
    assert!(h.history.data.is_empty());
    assert_no_extra("smh_response.json", "history", &h.history.extra);
}

// --- orders, trades --------------------------------------------------------------------------

#[test]
fn order_frames() {
    let ServerFrame::Orders(o) = frame(fixture!("sor_initial.json")) else {
        panic!()
    };
    assert_eq!(o.args.len(), 1);
    let a = &o.args[0];
    assert_no_extra("sor_initial.json", "order", &a.extra);
    assert_eq!(a.acct, AccountId::from("DU1234"));
    assert_eq!(a.order_id, OrderId(922048212));
    assert_eq!(a.conid, Some(Conid(265598)));
    assert_eq!(a.status, Some(OrderStatus::Submitted));
    assert_eq!(a.side, Some(Side::Buy));
    assert_eq!(a.remaining_quantity, Some(d("100")));
    assert_eq!(a.price, Some(LooseDecimal::Number(d("372"))));
    assert_eq!(a.last_execution_time_r, Some(EpochMillis(1594229751000)));

    // Deltas: only acct, orderId and what changed.
    let ServerFrame::Orders(o) = frame(fixture!("sor_status_changes.json")) else {
        panic!()
    };
    let statuses: Vec<_> = o.args.iter().map(|a| a.status.clone().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::PendingSubmit,
            OrderStatus::PreSubmitted,
            OrderStatus::Submitted
        ]
    );
    for a in &o.args {
        assert_no_extra("sor_status_changes.json", "order", &a.extra);
        assert_eq!(a.order_id, OrderId(352055828));
        assert!(a.conid.is_none() && a.side.is_none());
    }

    let ServerFrame::Orders(o) = frame(fixture!("sor_partial_fills.json")) else {
        panic!()
    };
    let filled: Vec<_> = o.args.iter().map(|a| a.filled_quantity.unwrap()).collect();
    assert_eq!(filled, [d("100"), d("700"), d("722")]);
    assert_eq!(
        o.args[0].avg_price.and_then(LooseDecimal::value),
        Some(d("382.45"))
    );
    assert_eq!(o.args[2].status, Some(OrderStatus::Filled));
    assert_eq!(o.args[2].price, Some(LooseDecimal::Number(d("382.4"))));
    for a in &o.args {
        assert_no_extra("sor_partial_fills.json", "order", &a.extra);
    }
}

#[test]
fn trade_frames_keep_the_conid_as_a_string() {
    let ServerFrame::Trades(t) = frame(fixture!("str_trades.json")) else {
        panic!()
    };
    assert_eq!(t.args.len(), 1);
    let s = &t.args[0];
    assert!(s.conid_as_text);
    let x = &s.trade;
    assert_no_extra("str_trades.json", "trade", &x.extra);
    assert_eq!(x.conid, Conid(265598));
    assert_eq!(x.execution_id, "0000e0d5.60cf1bd1.01.01");
    assert_eq!(x.side, ExecSide::Buy);
    assert_eq!(x.size, d("1"));
    assert_eq!(x.price.value(), d("130.64"));
    assert_eq!(x.net_amount, Some(d("130.64")));
    assert_eq!(x.order_ref.as_deref(), Some("66807500"));
    assert_eq!(x.conidex.as_deref(), Some("265598"));
}

// --- account topics --------------------------------------------------------------------------

#[test]
fn pnl_frame() {
    let ServerFrame::Pnl(p) = frame(fixture!("spl.json")) else {
        panic!()
    };
    let e = &p.args["DU1234.Core"];
    assert_eq!(e.row_type, Some(1));
    assert_eq!(e.dpl, Some(d("-57520.0")));
    assert_eq!(e.upl, Some(d("972100.0")));
    assert_no_extra("spl.json", "entry", &e.extra);
}

#[test]
fn the_documented_ledger_example_decodes() {
    // IBKR Campus cpapi-v1, "Account Ledger Topic Messages" (not a recording: the docs'
    // example, exponents included).
    let text = r#"{"result":[{"acctCode":"DU1234567","cashbalance":2.0201311791131118E8,
        "cashBalanceFXSegment":0.0,"commodityMarketValue":0.0,"corporateBondsMarketValue":0.0,
        "key":"LedgerListBASE","dividends":0.0,"exchangeRate":1.0,"funds":0.0,"marketValue":0.0,
        "optionMarketValue":0.0,"interest":396687.69214935537,"issueOptionsMarketValue":0.0,
        "moneyFunds":0.0,"netLiquidationValue":2.0280151634374067E8,"realizedPnl":0.0,
        "unrealizedPnl":249013.5397937378,"secondKey":"BASE","settledCash":2.0201311791131118E8,
        "severity":0,"stockMarketValue":391710.74028015137,"tBillsMarketValue":0.0,
        "tBondsMarketValue":0.0,"warrantsMarketValue":0.0,"timestamp":1700248325},
        {"key":"LedgerListCAD","timestamp":1700248325}],"topic":"sld+DU1234567"}"#;
    let ServerFrame::Ledger(l) = ServerFrame::decode(text).unwrap() else {
        panic!()
    };
    let l: LedgerUpdate = l;
    assert_eq!(l.result.len(), 2);
    let base = &l.result[0];
    assert_eq!(base.currency(), "BASE");
    assert!(base.has_values());
    assert_eq!(base.cashbalance, Some(d("202013117.91131118")));
    assert_eq!(base.exchange_rate, Some(d("1.0")));
    assert!(!l.result[1].has_values());
    assert_eq!(l.result[1].currency(), "CAD");
}

// --- unsolicited -----------------------------------------------------------------------------

#[test]
fn unsolicited_frames() {
    let ServerFrame::System(s) = frame(fixture!("system_success.json")) else {
        panic!()
    };
    assert_eq!(s.success.as_deref(), Some("user123"));
    assert!(!s.is_heartbeat());
    let ServerFrame::System(s) = frame(fixture!("system_success_with_flags.json")) else {
        panic!()
    };
    assert_eq!((s.is_ft, s.is_paper), (Some(true), Some(true)));
    assert_no_extra("system_success_with_flags.json", "system", &s.extra);
    let ServerFrame::System(s) = frame(fixture!("system_hb.json")) else {
        panic!()
    };
    assert_eq!(s.hb, Some(EpochMillis(1772190537535)));

    let ServerFrame::Status(s) = frame(fixture!("sts_authenticated.json")) else {
        panic!()
    };
    assert_eq!(s.args.authenticated, Some(true));
    assert_eq!(s.args.competing, None);
    let ServerFrame::Status(s) = frame(fixture!("sts_competing.json")) else {
        panic!()
    };
    assert_eq!(s.args.competing, Some(false));
    let ServerFrame::Status(s) = frame(fixture!("sts_full.json")) else {
        panic!()
    };
    assert_no_extra("sts_full.json", "status", &s.args.extra);
    assert_eq!(
        (s.args.connected, s.args.authenticated, s.args.established),
        (Some(true), Some(true), Some(true))
    );

    let ServerFrame::Notification(n) = frame(fixture!("ntf.json")) else {
        panic!()
    };
    assert_eq!(n.args.id, Some(Value::from("INDICATIVE_DATA_SUGGESTION")));
    assert_eq!(n.args.title.as_deref(), Some("Warning"));
    assert_no_extra("ntf.json", "notification", &n.args.extra);

    let ServerFrame::Bulletin(b) = frame(fixture!("blt.json")) else {
        panic!()
    };
    assert_eq!(b.args.message.as_deref(), Some(""));

    let ServerFrame::Error(e) = frame(fixture!("error_topic_unknown.json")) else {
        panic!()
    };
    assert!(e.error.starts_with("Topic unknown"));
    assert_eq!(e.code, Some(1));

    let ServerFrame::Message(m) = frame(fixture!("ws_session_waiting.json")) else {
        panic!()
    };
    assert!(m.is_waiting_for_session());
}

#[test]
fn the_tic_answer_and_unsubscription_confirmations_decode() {
    // The `tic` answer as a live probe described it (not a recording we hold).
    let text = r#"{"topic":"tic","alive":true,"id":"d21b8cf5ebc8ea01c6ce37c8125ec83f","lastAccessed":1777415611502}"#;
    let ServerFrame::Tic(t) = ServerFrame::decode(text).unwrap() else {
        panic!()
    };
    assert_eq!(t.alive, Some(true));
    assert_eq!(t.last_accessed, Some(EpochMillis(1777415611502)));
    // IBKR Campus: `{"result":"unsubscribed from summary"}`.
    assert!(matches!(
        ServerFrame::decode(r#"{"result":"unsubscribed from summary"}"#).unwrap(),
        ServerFrame::Unsubscribed(u) if u.result == "unsubscribed from summary"
    ));
}

// --- client messages -------------------------------------------------------------------------

#[test]
fn client_messages_have_ibkrs_documented_text() {
    let fields = ["31", "84", "85", "86", "88", "7059"]
        .map(|f| MarketDataField::from_id(f.parse().unwrap()));
    assert_eq!(
        ClientMessage::market_data(Conid(8314), fields).to_string(),
        r#"smd+8314+{"fields":["31","84","85","86","88","7059"]}"#
    );
    assert_eq!(
        ClientMessage::unsubscribe_market_data(Conid(8314)).to_string(),
        "umd+8314+{}"
    );
    assert_eq!(ClientMessage::SubscribeOrders.to_string(), "sor+{}");
    assert_eq!(ClientMessage::UnsubscribeOrders.to_string(), "uor+{}");
    assert_eq!(ClientMessage::trades(false).to_string(), "str+{}");
    assert_eq!(
        ClientMessage::trades(true).to_string(),
        r#"str+{"realtimeUpdatesOnly":true}"#
    );
    assert_eq!(
        ClientMessage::SubscribeTrades({
            let mut a = TradesArgs::default();
            a.days = Some(1);
            a
        })
        .to_string(),
        r#"str+{"days":1}"#
    );
    assert_eq!(ClientMessage::SubscribePnl.to_string(), "spl+{}");
    assert_eq!(ClientMessage::UnsubscribePnl.to_string(), "upl+{}");
    let acct = AccountId::from("DU1234567");
    assert_eq!(
        ClientMessage::SubscribeLedger {
            account: acct.clone(),
            args: {
                let mut a = AccountArgs::default();
                a.keys = vec!["LedgerListBASE".into(), "LedgerListEUR".into()];
                a.fields = vec!["cashBalance".into(), "exchangeRate".into()];
                a
            }
        }
        .to_string(),
        r#"sld+DU1234567+{"keys":["LedgerListBASE","LedgerListEUR"],"fields":["cashBalance","exchangeRate"]}"#
    );
    assert_eq!(
        ClientMessage::UnsubscribeLedger {
            account: acct.clone()
        }
        .to_string(),
        "uld+DU1234567+{}"
    );
    assert_eq!(
        ClientMessage::UnsubscribeAccountSummary { account: acct }.to_string(),
        "usd+DU1234567+{}"
    );
    assert_eq!(
        ClientMessage::SubscribeHistory {
            target: "265598".into(),
            args: {
                let mut a = HistoryArgs::default();
                a.exchange = Some("ISLAND".into());
                a.period = Some("2h".into());
                a.bar = Some("5min".into());
                a.outside_rth = Some(false);
                a.source = Some("trades".into());
                a.format = Some("%h/%l".into());
                a
            }
        }
        .to_string(),
        r#"smh+265598+{"exchange":"ISLAND","period":"2h","bar":"5min","outsideRth":false,"source":"trades","format":"%h/%l"}"#
    );
    assert_eq!(
        ClientMessage::Session("d21b8cf5ebc8ea01c6ce37c8125ec83f".into()).to_string(),
        r#"{"session":"d21b8cf5ebc8ea01c6ce37c8125ec83f"}"#
    );
    assert_eq!(ClientMessage::Tic.to_string(), "tic");
    // The topic that answers carry.
    assert_eq!(
        ClientMessage::market_data(Conid(8314), [])
            .topic()
            .as_deref(),
        Some("smd+8314")
    );
    assert_eq!(ClientMessage::Tic.topic(), None);
}
