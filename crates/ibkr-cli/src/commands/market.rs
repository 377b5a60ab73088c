//! Contracts and market data from the shell: `search`, `contract info`, `chain`,
//! `quote`, `history`, `fx`, `schedule`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use comfy_table::Table;
use ibkr_api::Client;
use ibkr_api::contracts::ContractFilter;
use ibkr_api::model::contracts::{Conid, SecDefSearchRequest, SecType, TradingScheduleRequest};
use ibkr_api::model::market_data::{HistoryRequest, HistoryResponse, MarketDataField, Quote};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use crate::output::{Output, opt, table};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Which contract a SYMBOL argument means.
#[derive(Debug, Args, Clone, Default)]
pub struct Which {
    /// Security type: STK, ETF (as STK), IND, FUT, CASH...
    #[arg(long, value_name = "TYPE")]
    pub sec_type: Option<String>,
    /// Primary exchange, e.g. NASDAQ.
    #[arg(long)]
    pub exchange: Option<String>,
    /// Currency, e.g. USD.
    #[arg(long)]
    pub currency: Option<String>,
}

impl Which {
    fn filter(&self) -> ContractFilter {
        let mut f = ContractFilter::default();
        if let Some(t) = &self.sec_type {
            f = f.sec_type(t.to_ascii_uppercase().parse().unwrap_or(SecType::Stk));
        }
        if let Some(e) = &self.exchange {
            f = f.exchange(e);
        }
        if let Some(c) = &self.currency {
            f = f.currency(c);
        }
        f
    }
}

/// A conid as given, or the symbol resolved.
pub async fn conid_of(client: &Client, arg: &str, which: &Which) -> ibkr_api::Result<Conid> {
    match arg.parse::<i64>() {
        Ok(n) => Ok(Conid(n)),
        Err(_) => client.resolve_symbol(arg, &which.filter()).await,
    }
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Symbol or (with --name) company name.
    pub symbol: String,
    /// Search by company name.
    #[arg(long)]
    pub name: bool,
    /// Underlying type: STK (default), IND or BOND.
    #[arg(long, value_name = "TYPE")]
    pub sec_type: Option<String>,
}

pub async fn search(client: &Client, a: &SearchArgs, out: &Output) -> CmdResult {
    let mut req = SecDefSearchRequest::new(&a.symbol);
    req.name = a.name.then_some(true);
    req.sec_type = a
        .sec_type
        .as_ref()
        .and_then(|t| t.to_ascii_uppercase().parse().ok());
    let results = client.search_contracts(&req).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(["conid", "symbol", "company", "exchange", "derivatives"]);
    for r in &results {
        let sections = r
            .sections
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|s| s.sec_type.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        t.add_row(vec![
            r.conid.to_string(),
            opt(&r.symbol),
            r.company_name
                .clone()
                .unwrap_or_else(|| r.company_header.clone()),
            opt(&r.description),
            sections,
        ]);
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// A contract's details (GET /iserver/contract/{conid}/info).
    Info {
        /// A conid or a symbol.
        contract: String,
        #[command(flatten)]
        which: Which,
    },
}

pub async fn contract(client: &Client, cmd: &ContractCommand, out: &Output) -> CmdResult {
    let ContractCommand::Info { contract, which } = cmd;
    let conid = conid_of(client, contract, which).await?;
    let i = client.contract_info(conid).await?;
    out.show(&i, || {
        vec![
            ("conid", i.con_id.to_string()),
            ("symbol", i.symbol.clone()),
            ("company", i.company_name.clone()),
            ("type", i.instrument_type.to_string()),
            ("exchange", i.exchange.clone()),
            ("currency", i.currency.clone()),
            ("local symbol", i.local_symbol.clone()),
            ("trading class", i.trading_class.clone()),
            ("industry", opt(&i.industry)),
            ("valid exchanges", i.valid_exchanges.clone()),
        ]
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The underlying: a conid or a symbol.
    pub symbol: String,
    /// One month only, e.g. JAN27.
    #[arg(long, value_name = "MMMYY")]
    pub month: Option<String>,
    /// Months to fetch (from the nearest).
    #[arg(long, default_value_t = 1)]
    pub months: usize,
    /// Strikes per month nearest the money.
    #[arg(long, default_value_t = 10)]
    pub strikes: usize,
}

pub async fn chain(client: &Client, a: &ChainArgs, out: &Output) -> CmdResult {
    let conid = conid_of(client, &a.symbol, &Which::default()).await?;
    let spot = client
        .quotes(&[conid], &[MarketDataField::Last], Duration::from_secs(5))
        .await
        .ok()
        .and_then(|q| q.quotes.first().and_then(|q| q.last));
    let chain = client
        .option_chain(conid, Some(a.months.max(1)), spot, Some(a.strikes))
        .await?;
    let contracts: Vec<_> = chain
        .contracts
        .iter()
        .filter(|c| {
            a.month
                .as_deref()
                .is_none_or(|m| c.month.eq_ignore_ascii_case(m))
        })
        .collect();
    if out.json() {
        let rows: Vec<_> = contracts
            .iter()
            .map(|c| {
                serde_json::json!({"month": c.month, "strike": c.strike, "right": c.right, "conid": c.conid})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(["month", "strike", "call conid", "put conid"]);
    let mut keys: Vec<(String, Decimal)> = contracts
        .iter()
        .map(|c| (c.month.clone(), c.strike))
        .collect();
    keys.dedup();
    for (m, k) in keys {
        let find = |put: bool| {
            contracts
                .iter()
                .find(|c| c.month == m && c.strike == k && (c.right.to_string() == "P") == put)
                .map(|c| c.conid.to_string())
                .unwrap_or_else(|| "-".into())
        };
        t.add_row(vec![m.clone(), k.to_string(), find(false), find(true)]);
    }
    if let Some(s) = spot {
        println!("underlying {conid}, last {s}");
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct QuoteArgs {
    /// Conids or symbols.
    #[arg(required = true)]
    pub symbols: Vec<String>,
    /// Field ids or names to ask for (default: last, bid, ask, sizes, volume, change).
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Refresh every second until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Seconds to wait for the fields to arrive.
    #[arg(long, default_value_t = 10)]
    pub wait: u64,
}

const DEFAULT_FIELDS: [MarketDataField; 9] = [
    MarketDataField::Last,
    MarketDataField::Bid,
    MarketDataField::Ask,
    MarketDataField::BidSize,
    MarketDataField::AskSize,
    MarketDataField::Volume,
    MarketDataField::Change,
    MarketDataField::ChangePct,
    MarketDataField::Symbol,
];

pub(crate) fn parse_field(s: &str) -> Result<MarketDataField, String> {
    if let Ok(id) = s.parse::<u32>() {
        return Ok(MarketDataField::from_id(id));
    }
    let want = s.to_ascii_lowercase().replace(['_', '-', ' '], "");
    MarketDataField::ALL
        .iter()
        .copied()
        .find(|f| format!("{f:?}").to_ascii_lowercase() == want)
        .ok_or_else(|| {
            format!("unknown field `{s}`: give a field id (31) or a name (last, bid, ask...)")
        })
}

pub async fn quote(client: &Client, a: &QuoteArgs, out: &Output) -> CmdResult {
    let fields: Vec<MarketDataField> = if a.fields.is_empty() {
        DEFAULT_FIELDS.to_vec()
    } else {
        a.fields
            .iter()
            .map(|f| parse_field(f))
            .collect::<Result<_, _>>()?
    };
    let mut conids = Vec::new();
    for s in &a.symbols {
        conids.push(conid_of(client, s, &Which::default()).await?);
    }
    loop {
        let q = client
            .quotes(&conids, &fields, Duration::from_secs(a.wait))
            .await?;
        if out.json() {
            for row in &q.rows {
                println!("{}", serde_json::to_string(row)?);
            }
        } else {
            if a.watch {
                print!("\x1b[2J\x1b[H");
            }
            println!("{}", quote_table(&q.quotes));
            for (c, m) in &q.missing {
                eprintln!("{c}: no value yet for {m:?}");
            }
        }
        if !a.watch {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn d(v: &Option<Decimal>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn quote_table(quotes: &[Quote]) -> Table {
    let mut t = table([
        "conid", "symbol", "last", "bid", "ask", "bid size", "ask size", "volume", "change", "%",
    ]);
    for q in quotes {
        let last = match (q.last, q.last_is_prior_close, q.halted) {
            (Some(l), true, _) => format!("{l} (close)"),
            (Some(l), _, true) => format!("{l} (halted)"),
            (l, _, _) => d(&l),
        };
        t.add_row(vec![
            q.conid.to_string(),
            opt(&q.symbol),
            last,
            d(&q.bid),
            d(&q.ask),
            d(&q.bid_size),
            d(&q.ask_size),
            d(&q.volume),
            d(&q.change),
            d(&q.change_pct),
        ]);
    }
    t
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A conid or a symbol (or use --symbols-file).
    pub symbol: Option<String>,
    /// How far back, e.g. 1d, 1w, 6m, 1y.
    #[arg(long, default_value = "1m")]
    pub period: String,
    /// Bar width, e.g. 1min, 5min, 1h, 1d.
    #[arg(long, default_value = "1d")]
    pub bar: String,
    /// Include bars outside regular trading hours.
    #[arg(long)]
    pub outside_rth: bool,
    /// CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// A file of symbols or conids, one a line: fetch them all (5 at once).
    #[arg(long, value_name = "FILE", requires = "out")]
    pub symbols_file: Option<PathBuf>,
    /// Directory for the bulk CSV files.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn csv(h: &HistoryResponse) -> String {
    let mut s = String::from("time,open,high,low,close,volume\n");
    for b in &h.data {
        let t = b
            .time
            .to_datetime()
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| b.time.0.to_string());
        s.push_str(&format!(
            "{t},{},{},{},{},{}\n",
            b.open, b.high, b.low, b.close, b.volume
        ));
    }
    s
}

pub async fn history(client: &Client, a: &HistoryArgs, out: &Output) -> CmdResult {
    if let (Some(file), Some(dir)) = (&a.symbols_file, &a.out) {
        return bulk_history(client, a, file, dir).await;
    }
    let Some(symbol) = &a.symbol else {
        return Err("give a SYMBOL, or --symbols-file FILE --out DIR".into());
    };
    let conid = conid_of(client, symbol, &Which::default()).await?;
    let mut req = HistoryRequest::new(conid, &a.period, &a.bar);
    req.outside_rth = a.outside_rth.then_some(true);
    let h = client.history(&req).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&h)?);
    } else if a.csv {
        print!("{}", csv(&h));
    } else {
        let mut t = table(["time (UTC)", "open", "high", "low", "close", "volume"]);
        for b in &h.data {
            t.add_row(vec![
                b.time.to_string(),
                b.open.to_string(),
                b.high.to_string(),
                b.low.to_string(),
                b.close.to_string(),
                b.volume.to_string(),
            ]);
        }
        println!("{} {} ({} bars)", h.symbol, h.text, h.data.len());
        println!("{t}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn bulk_history(
    client: &Client,
    a: &HistoryArgs,
    file: &PathBuf,
    dir: &PathBuf,
) -> CmdResult {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("--symbols-file {}: {e}", file.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("--out {}: {e}", dir.display()))?;
    let symbols: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut reqs = Vec::new();
    let mut names = Vec::new();
    let mut failed = 0usize;
    for s in &symbols {
        match conid_of(client, s, &Which::default()).await {
            Ok(c) => {
                let mut r = HistoryRequest::new(c, &a.period, &a.bar);
                r.outside_rth = a.outside_rth.then_some(true);
                reqs.push(r);
                names.push(s.to_string());
            }
            Err(e) => {
                eprintln!("{s}: {e}");
                failed += 1;
            }
        }
    }
    let bar = ProgressBar::new(reqs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let items = client
        .bulk_history(reqs, |done, _| bar.set_position(done as u64))
        .await;
    bar.finish_and_clear();
    for (item, name) in items.iter().zip(&names) {
        match &item.result {
            Ok(h) => {
                let path = dir.join(format!("{}.csv", name.replace(['/', '\\'], "_")));
                std::fs::write(&path, csv(h)).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                failed += 1;
            }
        }
    }
    eprintln!(
        "{} of {} written to {}",
        symbols.len() - failed,
        symbols.len(),
        dir.display()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Debug, Args)]
pub struct FxArgs {
    /// From this currency.
    pub source: String,
    /// To this currency.
    pub target: String,
}

pub async fn fx(client: &Client, a: &FxArgs, out: &Output) -> CmdResult {
    let r = client
        .exchange_rate(
            &a.source.to_ascii_uppercase(),
            &a.target.to_ascii_uppercase(),
        )
        .await?;
    out.show(&r, || {
        vec![(
            "rate",
            format!(
                "1 {} = {} {}",
                a.source.to_ascii_uppercase(),
                r.rate,
                a.target.to_ascii_uppercase()
            ),
        )]
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// A conid or a symbol.
    pub symbol: String,
    /// Exchange (primary by default).
    #[arg(long)]
    pub exchange: Option<String>,
}

pub async fn schedule(client: &Client, a: &ScheduleArgs, out: &Output) -> CmdResult {
    let conid = conid_of(client, &a.symbol, &Which::default()).await?;
    let mut req = TradingScheduleRequest::new(conid);
    req.exchange = a.exchange.clone();
    let s = client.trading_schedule(&req).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    let tz: chrono_tz::Tz = s.exchange_time_zone.parse().unwrap_or(chrono_tz::UTC);
    let span = |h: &[ibkr_api::model::contracts::TradingHours]| {
        h.iter()
            .filter_map(|x| Some((x.opening_time()?, x.closing_time()?)))
            .map(|(o, c)| {
                format!(
                    "{}-{}",
                    o.with_timezone(&tz).format("%H:%M"),
                    c.with_timezone(&tz).format("%H:%M")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut t = table(["day", "regular hours", "extended hours"]);
    for (day, d) in s.days() {
        t.add_row(vec![
            day.format("%a %Y-%m-%d").to_string(),
            span(d.liquid_hours.as_deref().unwrap_or_default()),
            span(d.extended_hours.as_deref().unwrap_or_default()),
        ]);
    }
    println!("times in {}", s.exchange_time_zone);
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}
