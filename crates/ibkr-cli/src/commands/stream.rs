//! `ibkr stream`: the gateway's WebSocket from the shell: live quotes, order updates,
//! P&L, and raw topics as JSON lines.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use ibkr_api::Client;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::market_data::{MarketDataField, Quote};
use ibkr_api::streaming::{Event, Gap, OrderUpdate, PnlUpdate, UpdateSource};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::commands::market::{Which, conid_of, parse_field};
use crate::output::{Output, opt, table};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Options of every stream.
#[derive(Debug, Args, Clone)]
pub struct Until {
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Live quotes: a table redrawn in place (one line per update when stdout is not a
    /// terminal; one JSON object a line with --json).
    Quotes {
        /// Conids or symbols.
        #[arg(required = true)]
        symbols: Vec<String>,
        /// Field ids or names (default: last, bid, ask, sizes, volume, change).
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
        #[command(flatten)]
        until: Until,
    },
    /// Order updates (`sor`): the orders at once, then each change.
    Orders {
        #[command(flatten)]
        until: Until,
    },
    /// Profit and loss of the login's accounts (`spl`).
    Pnl {
        #[command(flatten)]
        until: Until,
    },
    /// Raw topics, sent as given (e.g. `smd+265598+{"fields":["31"]}`, `sor+{}`);
    /// their frames are printed as JSON lines.
    Raw {
        /// Subscription messages.
        #[arg(required = true)]
        topics: Vec<String>,
        #[command(flatten)]
        until: Until,
    },
}

const DEFAULT_FIELDS: [MarketDataField; 8] = [
    MarketDataField::Symbol,
    MarketDataField::Last,
    MarketDataField::Bid,
    MarketDataField::Ask,
    MarketDataField::BidSize,
    MarketDataField::AskSize,
    MarketDataField::Volume,
    MarketDataField::ChangePct,
];

/// The end of a stream: Ctrl-C, or `--duration` seconds.
async fn stopped(until: &Until) {
    let deadline = async {
        match until.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = deadline => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A gap as a JSON line.
fn gap_json(gap: &Gap) -> Value {
    json!({"gap": {"since": gap.since.to_rfc3339(), "reason": gap.reason.to_string()}})
}

fn gap_line(gap: &Gap) -> String {
    format!(
        "-- updates may be missing since {} ({})",
        gap.since.format("%H:%M:%S%.3f"),
        gap.reason
    )
}

fn println_flush(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

pub async fn run(client: &Client, cmd: &StreamCommand, out: &Output) -> CmdResult {
    match cmd {
        StreamCommand::Quotes {
            symbols,
            fields,
            until,
        } => quotes(client, symbols, fields, until, out).await,
        StreamCommand::Orders { until } => orders(client, until, out).await,
        StreamCommand::Pnl { until } => pnl(client, until, out).await,
        StreamCommand::Raw { topics, until } => raw(client, topics, until).await,
    }
}

async fn quotes(
    client: &Client,
    symbols: &[String],
    fields: &[String],
    until: &Until,
    out: &Output,
) -> CmdResult {
    let fields: Vec<MarketDataField> = if fields.is_empty() {
        DEFAULT_FIELDS.to_vec()
    } else {
        fields
            .iter()
            .map(|f| parse_field(f))
            .collect::<Result<_, _>>()?
    };
    let mut conids = Vec::new();
    for s in symbols {
        conids.push(conid_of(client, s, &Which::default()).await?);
    }
    let streamer = client.stream().await?;
    // IBKR also wants `/tickle` every few minutes besides the socket's own `tic`.
    let _keeper = client.keep_alive(Duration::from_secs(60));
    let mut sub = streamer.quotes(&conids, &fields);
    let redraw = !out.json() && std::io::stdout().is_terminal();
    let mut latest: BTreeMap<Conid, Quote> = BTreeMap::new();
    let mut last_gap: Option<String> = None;
    let end = stopped(until);
    tokio::pin!(end);
    loop {
        let event = tokio::select! {
            _ = &mut end => break,
            e = sub.recv() => match e {
                Some(e) => e,
                None => break,
            },
        };
        match event {
            Event::Update(q) => {
                if out.json() {
                    println_flush(&serde_json::to_string(&q)?)?;
                } else if redraw {
                    latest.insert(q.conid, q);
                    let mut screen = format!("\x1b[2J\x1b[H{}", quote_table(latest.values()));
                    if let Some(g) = &last_gap {
                        screen.push('\n');
                        screen.push_str(g);
                    }
                    println_flush(&screen)?;
                } else {
                    println_flush(&quote_line(&q))?;
                }
            }
            Event::Gap(g) => {
                if out.json() {
                    println_flush(&gap_json(&g).to_string())?;
                } else if redraw {
                    last_gap = Some(gap_line(&g));
                } else {
                    println_flush(&gap_line(&g))?;
                }
            }
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn d(v: &Option<Decimal>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn last_text(q: &Quote) -> String {
    match (q.last, q.last_is_prior_close, q.halted) {
        (Some(l), true, _) => format!("{l} (close)"),
        (Some(l), _, true) => format!("{l} (halted)"),
        (l, _, _) => d(&l),
    }
}

fn quote_table<'a>(quotes: impl Iterator<Item = &'a Quote>) -> comfy_table::Table {
    let mut t = table([
        "conid", "symbol", "last", "bid", "ask", "bid size", "ask size", "volume", "%",
    ]);
    for q in quotes {
        t.add_row(vec![
            q.conid.to_string(),
            opt(&q.symbol),
            last_text(q),
            d(&q.bid),
            d(&q.ask),
            d(&q.bid_size),
            d(&q.ask_size),
            d(&q.volume),
            d(&q.change_pct),
        ]);
    }
    t
}

/// One quote as a line: `conid symbol last bid x ask sizes`.
fn quote_line(q: &Quote) -> String {
    format!(
        "{} {:<6} last {}  bid {} x {}  ask {} x {}  volume {}",
        q.conid,
        opt(&q.symbol),
        last_text(q),
        d(&q.bid),
        d(&q.bid_size),
        d(&q.ask),
        d(&q.ask_size),
        d(&q.volume),
    )
}

/// An order update as a line: id, status, fills, description.
pub fn order_line(u: &OrderUpdate) -> String {
    let o = &u.order;
    let filled = match (o.filled_quantity, o.total_size) {
        (Some(f), Some(t)) => format!("{f}/{t}"),
        (f, t) => format!("{}/{}", d(&f), d(&t)),
    };
    format!(
        "order {} {}  filled {}  {}{}",
        o.order_id,
        opt(&o.status),
        filled,
        o.order_desc.as_deref().unwrap_or("-"),
        if u.source == UpdateSource::Reconciliation {
            "  (reconciled after a reconnection)"
        } else {
            ""
        }
    )
}

async fn orders(client: &Client, until: &Until, out: &Output) -> CmdResult {
    let streamer = client.stream().await?;
    let _keeper = client.keep_alive(Duration::from_secs(60));
    let mut sub = streamer.orders();
    let end = stopped(until);
    tokio::pin!(end);
    loop {
        let event = tokio::select! {
            _ = &mut end => break,
            e = sub.recv() => match e {
                Some(e) => e,
                None => break,
            },
        };
        match event {
            Event::Update(u) => {
                if out.json() {
                    let source = match u.source {
                        UpdateSource::Stream => "stream",
                        _ => "reconciliation",
                    };
                    let line = json!({"order": u.order, "changes": u.changes, "source": source});
                    println_flush(&line.to_string())?;
                } else {
                    println_flush(&order_line(&u))?;
                }
            }
            Event::Gap(g) => {
                if out.json() {
                    println_flush(&gap_json(&g).to_string())?;
                } else {
                    println_flush(&gap_line(&g))?;
                }
            }
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pnl_line(u: &PnlUpdate) -> String {
    format!(
        "{}  daily {}  unrealized {}  net liquidation {}  excess liquidity {}",
        u.account(),
        d(&u.entry.dpl),
        d(&u.entry.upl),
        d(&u.entry.nl),
        d(&u.entry.el.or(u.entry.uel)),
    )
}

async fn pnl(client: &Client, until: &Until, out: &Output) -> CmdResult {
    let streamer = client.stream().await?;
    let _keeper = client.keep_alive(Duration::from_secs(60));
    let mut sub = streamer.pnl();
    let end = stopped(until);
    tokio::pin!(end);
    loop {
        let event = tokio::select! {
            _ = &mut end => break,
            e = sub.recv() => match e {
                Some(e) => e,
                None => break,
            },
        };
        match event {
            Event::Update(u) => {
                if out.json() {
                    let line = json!({"account": u.account(), "key": u.key, "entry": u.entry});
                    println_flush(&line.to_string())?;
                } else {
                    println_flush(&pnl_line(&u))?;
                }
            }
            Event::Gap(g) => {
                if out.json() {
                    println_flush(&gap_json(&g).to_string())?;
                } else {
                    println_flush(&gap_line(&g))?;
                }
            }
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The topic of a subscription message's frames: the text before its JSON argument
/// (`smd+265598+{...}` → `smd+265598`, `sor+{}` → `sor`).
fn frame_topic(message: &str) -> &str {
    match message.find("+{") {
        Some(i) => &message[..i],
        None => message,
    }
}

async fn raw(client: &Client, topics: &[String], until: &Until) -> CmdResult {
    let streamer = client.stream().await?;
    let _keeper = client.keep_alive(Duration::from_secs(60));
    let prefixes: Vec<String> = topics.iter().map(|t| frame_topic(t).to_string()).collect();
    // Every frame; those of the topics asked for are printed.
    let mut frames = streamer.raw("");
    for t in topics {
        streamer.send_raw(t.clone());
    }
    let end = stopped(until);
    tokio::pin!(end);
    loop {
        let frame = tokio::select! {
            _ = &mut end => break,
            f = frames.recv() => match f {
                Some(f) => f,
                None => break,
            },
        };
        let topic = frame.get("topic").and_then(Value::as_str).unwrap_or("");
        if prefixes.iter().any(|p| topic.starts_with(p.as_str())) {
            println_flush(&frame.to_string())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_of_subscription_messages() {
        assert_eq!(frame_topic(r#"smd+265598+{"fields":["31"]}"#), "smd+265598");
        assert_eq!(frame_topic("sor+{}"), "sor");
        assert_eq!(frame_topic("smd+265598"), "smd+265598");
    }

    #[test]
    fn fields_by_id_or_name() {
        assert_eq!(parse_field("31"), Ok(MarketDataField::Last));
        assert_eq!(parse_field("bid_size"), Ok(MarketDataField::BidSize));
        assert!(parse_field("nonsense").is_err());
    }
}
