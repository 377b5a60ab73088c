//! Streaming benchmark: how fast market-data frames become merged quotes, and how long a
//! tick takes from the simulator's price engine to a subscriber on loopback.
//!
//! ```sh
//! cargo run --release -p ibkr-api --example stream_bench
//! cargo run --release -p ibkr-api --example stream_bench -- --frames 500000 --seconds 10 --contracts 20
//! ```
//!
//! 1. **Decode**: `smd` frames, as the simulator writes them (a contract's last, bid,
//!    ask and sizes, only the fields that changed), are decoded ([`ServerFrame::decode`]),
//!    merged into the contract's row and read into a typed [`Quote`] — what the
//!    streamer's task does for each frame — on one core. Reported in frames per second.
//! 2. **Latency**: an in-process simulator (HTTPS, loopback) streams `--contracts` US
//!    stocks every 50 ms to a [`Streamer`](ibkr_api::streaming::Streamer). The
//!    simulator reports, through its test-only channel
//!    ([`Gateway::ws_sent_frames`]), when it asked the price engine for each frame's
//!    values and when it handed the frame to the socket; the subscriber notes when the
//!    merged quote reached it. Frames are matched by contract and `_updated`. Nothing is
//!    added to the frames on the wire.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures_util::StreamExt;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::market_data::{MarketDataField, Quote, SnapshotRow};
use ibkr_api::model::streaming::{MarketDataUpdate, ServerFrame};
use ibkr_api::streaming::{Event, StreamConfig};
use ibkr_api::{Client, PacingTable};
use ibkr_sim::instruments::{SecType, Universe};
use ibkr_sim::{Gateway, GatewayConfig, WsSettings};

struct Args {
    frames: usize,
    seconds: u64,
    contracts: usize,
}

fn args() -> Args {
    let mut a = Args {
        frames: 300_000,
        seconds: 8,
        contracts: 20,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), v) {
            ("--frames", Some(n)) => a.frames = n,
            ("--seconds", Some(n)) => a.seconds = n as u64,
            ("--contracts", Some(n)) => a.contracts = n,
            _ => {
                eprintln!("usage: stream_bench [--frames N] [--seconds S] [--contracts C]");
                std::process::exit(2);
            }
        }
    }
    a
}

/// Frames as the simulator sends them: the first with every field, then a moving
/// price (last, bid, ask) and now and then a size.
fn frames(n: usize) -> Vec<String> {
    let conid = Conid(265598);
    let mut out = Vec::with_capacity(n);
    let mut price = 18950i64;
    for i in 0..n {
        let mut f = MarketDataUpdate::new(conid);
        f.updated = Some(ibkr_api::model::time::EpochMillis(
            1_763_478_000_000 + i as i64 * 50,
        ));
        f.server_id = Some("q0".into());
        price += if i % 3 == 0 { 1 } else { -1 } * ((i % 5) as i64 - 2);
        let p = |cents: i64| format!("{}.{:02}", cents / 100, cents % 100);
        f.set(MarketDataField::Last, p(price));
        f.set(MarketDataField::Bid, p(price - 1));
        f.set(MarketDataField::Ask, p(price + 1));
        if i == 0 || i % 4 == 0 {
            f.set(MarketDataField::BidSize, format!("{}", 2 + i % 7));
            f.set(MarketDataField::AskSize, format!("{}", 3 + i % 5));
        }
        if i == 0 {
            f.set(MarketDataField::from_id(6509), "RpB");
            f.set(MarketDataField::from_id(6119), "q0");
        }
        out.push(serde_json::to_string(&f).expect("a frame"));
    }
    out
}

fn decode_bench(n: usize) {
    let input = frames(n);
    let bytes: usize = input.iter().map(String::len).sum();
    let mut row = SnapshotRow::new(Conid(265598));
    let mut last: Option<Quote> = None;
    let start = Instant::now();
    for text in &input {
        if let Ok(ServerFrame::MarketData(md)) = ServerFrame::decode(text) {
            md.merge_into(&mut row);
            last = row.quote().ok();
        }
    }
    let took = start.elapsed();
    let q = last.expect("quotes");
    assert!(q.last.is_some() && q.bid_size.is_some());
    println!(
        "decode+merge: {n} smd frames ({:.0} bytes each) in {:.3}s: {:.0} frames/s on one core",
        bytes as f64 / n as f64,
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

async fn latency_bench(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    // A Wednesday at 15:00 UTC: US markets open, prices move.
    let open = Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap();
    let gw = Gateway::start(GatewayConfig::for_tests().market_time(open)).await?;
    gw.ws_configure(WsSettings::default().market_data_every(Duration::from_millis(50)));
    let universe = Universe::standard(open.date_naive());
    let conids: Vec<Conid> = universe
        .iter()
        .filter(|i| i.sec_type == SecType::Stock && i.is_us())
        .take(a.contracts)
        .map(|i| Conid(i64::from(i.conid)))
        .collect();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .build()?;
    let streamer = client.stream_with(StreamConfig::default()).await?;
    let mut sent = gw.ws_sent_frames();
    let fields = [
        MarketDataField::Last,
        MarketDataField::Bid,
        MarketDataField::Ask,
        MarketDataField::BidSize,
        MarketDataField::AskSize,
    ];
    let mut quotes = streamer.quotes(&conids, &fields);
    // When each (contract, _updated) was evaluated and written by the simulator.
    let mut stamps: HashMap<(i64, i64), (Instant, Instant)> = HashMap::new();
    let mut from_engine = Vec::new();
    let mut from_write = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(a.seconds);
    let mut pending: Vec<(Quote, Instant)> = Vec::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            s = sent.recv() => {
                if let Ok(s) = s {
                    stamps.insert((s.conid, s.updated), (s.evaluated, s.written));
                }
            }
            ev = quotes.next() => match ev {
                Some(Event::Update(q)) => pending.push((q, Instant::now())),
                Some(_) => {}
                None => break,
            },
        }
        // Match what arrived (the stamp may be read just after the quote).
        while let Ok(s) = sent.try_recv() {
            stamps.insert((s.conid, s.updated), (s.evaluated, s.written));
        }
        pending.retain(|(q, at)| {
            let key = (q.conid.0, q.updated.map_or(0, |u| u.0));
            match stamps.remove(&key) {
                Some((evaluated, written)) => {
                    from_engine.push(at.saturating_duration_since(evaluated));
                    from_write.push(at.saturating_duration_since(written));
                    false
                }
                None => true,
            }
        });
    }
    from_engine.sort();
    from_write.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "tick latency over {}s, {} contracts every 50 ms, loopback TLS: {} ticks matched",
        a.seconds,
        conids.len(),
        from_engine.len()
    );
    println!(
        "  engine -> subscriber: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(percentile(&from_engine, 0.5)),
        ms(percentile(&from_engine, 0.99)),
        ms(percentile(&from_engine, 1.0))
    );
    println!(
        "  socket write -> subscriber: median {:.3} ms, p99 {:.3} ms",
        ms(percentile(&from_write, 0.5)),
        ms(percentile(&from_write, 0.99))
    );
    drop(quotes);
    drop(streamer);
    gw.shutdown().await;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    decode_bench(a.frames);
    // The latency run: a multi-threaded runtime, as a program would have.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(latency_bench(&a))
}
