//! `ibkr bench ...`: measurements against a gateway (the simulator, normally).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use ibkr_api::{Client, Method, PacingClass};
use serde::Serialize;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Round trips of POST /tickle: throughput, latency, and this process's CPU time.
    /// Run it with `--pacing off` against `ibkr sim serve --pacing off` to measure
    /// speed (at IBKR's 1 tickle/s, it measures the pacing).
    Tickle(TickleArgs),
    /// N requests of one pacing class as fast as the client lets them go: elapsed time
    /// against the floor the limit implies, and 429s (which must be zero).
    Pacing(PacingArgs),
    /// Bulk history for N contracts against an embedded simulator enforcing IBKR's
    /// limits: elapsed time against the floor the limits imply, and 429s.
    History(HistoryBenchArgs),
    /// Snapshot decoding on one core: JSON rows to typed quotes, per second.
    Decode(DecodeArgs),
}

#[derive(Debug, Args)]
pub struct HistoryBenchArgs {
    /// How many contracts.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub contracts: usize,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// How many snapshot rows to decode.
    #[arg(short = 'n', long, default_value_t = 200_000)]
    pub rows: usize,
}

#[derive(Debug, Args)]
pub struct PacingArgs {
    /// The class: snapshot, tickle, fyi, scanner_run, ... or `global`.
    #[arg(long, default_value = "snapshot")]
    pub class: String,
    /// How many requests.
    #[arg(short = 'n', long, default_value_t = 100)]
    pub requests: u32,
    /// How many tasks send them at once.
    #[arg(short, long, default_value_t = 4)]
    pub concurrency: u32,
    /// Use the gateway of --gateway instead of an embedded simulator that enforces
    /// IBKR's limits.
    #[arg(long)]
    pub external: bool,
}

#[derive(Debug, Args)]
pub struct TickleArgs {
    /// How many requests.
    #[arg(short = 'n', long, default_value_t = 2000)]
    pub requests: u64,
    /// How many requests in flight at once.
    #[arg(short, long, default_value_t = 1)]
    pub concurrency: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    requests: u64,
    concurrency: u64,
    errors: u64,
    elapsed_s: f64,
    requests_per_s: f64,
    mean_latency_us: f64,
    /// User + system CPU time of this process per request (None where /proc is absent).
    client_cpu_us_per_request: Option<f64>,
}

pub async fn run(
    client: &Client,
    cmd: &BenchCommand,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        BenchCommand::Tickle(a) => tickle(client, a, out).await,
        BenchCommand::Pacing(a) => pacing(client, a, out).await,
        BenchCommand::History(a) => bulk_history(a, out).await,
        BenchCommand::Decode(a) => decode(a, out),
    }
}

#[derive(Debug, Serialize)]
struct HistoryBenchReport {
    contracts: usize,
    requests: u64,
    elapsed_s: f64,
    floor_s: f64,
    ratio: f64,
    rate_limited: u64,
    failed: usize,
}

async fn bulk_history(
    a: &HistoryBenchArgs,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use ibkr_api::model::contracts::Conid;
    use ibkr_api::model::market_data::HistoryRequest;
    let gw = ibkr_sim::Gateway::start(
        ibkr_sim::GatewayConfig::for_tests().pacing(Some(ibkr_api::PacingTable::gateway())),
    )
    .await?;
    let client = Client::builder().gateway(gw.url().as_str()).build()?;
    // Distinct contracts of the simulated universe: stocks first, then options.
    let probe = ibkr_sim::instruments::Universe::standard(chrono::Utc::now().date_naive());
    let mut conids: Vec<u32> = probe
        .iter()
        .filter(|i| i.sec_type == ibkr_sim::instruments::SecType::Stock)
        .map(|i| i.conid)
        .collect();
    conids.extend(
        probe
            .iter()
            .filter(|i| i.sec_type == ibkr_sim::instruments::SecType::Option)
            .map(|i| i.conid),
    );
    conids.truncate(a.contracts.max(1));
    let n = conids.len();
    let reqs: Vec<HistoryRequest> = conids
        .iter()
        .map(|c| HistoryRequest::new(Conid(i64::from(*c)), "1m", "1d"))
        .collect();
    let bar = indicatif::ProgressBar::new(n as u64);
    let t0 = Instant::now();
    let items = client
        .bulk_history(reqs, |done, _| bar.set_position(done as u64))
        .await;
    let elapsed = t0.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let m = client.pacing_metrics().total();
    // Every request (the history calls and the accounts pre-flight) takes a global
    // turn: 10 a second, so the last one can leave no earlier than (sent - 1) / 10 s.
    let interval = client
        .pacing_table()
        .global()
        .and_then(|g| g.interval())
        .unwrap_or_default()
        .as_secs_f64();
    let floor = interval * (m.sent.saturating_sub(1)) as f64;
    let r = HistoryBenchReport {
        contracts: n,
        requests: m.sent,
        elapsed_s: elapsed,
        floor_s: floor,
        ratio: if floor > 0.0 {
            elapsed / floor
        } else {
            f64::NAN
        },
        rate_limited: m.rate_limited,
        failed: items.iter().filter(|i| i.result.is_err()).count(),
    };
    out.show(&r, || {
        vec![
            ("contracts", r.contracts.to_string()),
            (
                "requests",
                format!("{} (history + the accounts pre-flight)", r.requests),
            ),
            ("elapsed", format!("{:.3} s", r.elapsed_s)),
            (
                "floor",
                format!("{:.3} s (10 requests/s, 5 histories at once)", r.floor_s),
            ),
            ("ratio", format!("{:.4}", r.ratio)),
            ("429s", r.rate_limited.to_string()),
            ("failed", r.failed.to_string()),
        ]
    })?;
    gw.shutdown().await;
    Ok(if r.rate_limited == 0 && r.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Debug, Serialize)]
struct DecodeReport {
    rows: usize,
    elapsed_s: f64,
    quotes_per_s: f64,
    ns_per_quote: f64,
}

/// A snapshot body as the gateway sends it: 10 rows of the usual fields, in IBKR's
/// string forms (a `C` prefix, `K`/`M` sizes, signed changes, percentages).
const SNAPSHOT_BODY: &str = r#"[
{"conid":265598,"conidEx":"265598","_updated":1775169600000,"server_id":"q0","6119":"q0","6509":"RpB","31":"222.27","84":"222.26","86":"222.31","85":"15","88":"29","87":"5.62M","70":"223.69","71":"219.41","82":"+2.07","83":"0.94%","55":"AAPL","7295":"221.71","7741":"220.20","7762":"5620000"},
{"conid":756733,"conidEx":"756733","_updated":1775169600000,"server_id":"q1","6119":"q1","6509":"RpB","31":"666.93","84":"666.91","86":"666.94","85":"28","88":"5","87":"31.04M","70":"670.10","71":"664.02","82":"-9.94","83":"-1.47%","55":"SPY","7295":"676.00","7741":"676.87","7762":"31040000"},
{"conid":8314,"conidEx":"8314","_updated":1775169600000,"server_id":"q2","6119":"q2","6509":"DPB","31":"C251.40","84":"251.30","86":"251.50","85":"3","88":"4","87":"812.3K","70":"253.00","71":"249.80","82":"-1.10","83":"-0.44%","55":"IBM","7295":"252.10","7741":"252.50","7762":"812300"},
{"conid":272093,"conidEx":"272093","_updated":1775169600000,"server_id":"q3","6119":"q3","6509":"RpB","31":"418.02","84":"418.00","86":"418.05","85":"7","88":"9","87":"3.21M","70":"421.00","71":"415.50","82":"+1.22","83":"0.29%","55":"MSFT","7295":"416.80","7741":"416.80","7762":"3210000"},
{"conid":12087792,"conidEx":"12087792","_updated":1775169600000,"server_id":"q4","6119":"q4","6509":"RpB","31":"1.11085","84":"1.1108","86":"1.11085","85":"2500000","88":"2500000","87":"0","70":"1.1132","71":"1.1079","82":"-0.00155","83":"-0.14%","55":"EUR","7295":"1.1124","7741":"1.1124","7762":"0"}
]"#;

fn decode(a: &DecodeArgs, out: &Output) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use ibkr_api::model::market_data::SnapshotRow;
    let per_body = serde_json::from_str::<Vec<SnapshotRow>>(SNAPSHOT_BODY)?.len();
    let bodies = a.rows.div_ceil(per_body).max(1);
    let mut checksum = rust_decimal::Decimal::ZERO;
    let t0 = Instant::now();
    for _ in 0..bodies {
        let rows: Vec<SnapshotRow> = serde_json::from_str(std::hint::black_box(SNAPSHOT_BODY))?;
        for row in &rows {
            let q = row.quote()?;
            checksum += q.last.unwrap_or_default();
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    let rows = bodies * per_body;
    let r = DecodeReport {
        rows,
        elapsed_s: elapsed,
        quotes_per_s: rows as f64 / elapsed,
        ns_per_quote: elapsed * 1e9 / rows as f64,
    };
    out.show(&r, || {
        vec![
            (
                "rows",
                format!("{} (JSON text to typed Quote, one thread)", r.rows),
            ),
            ("elapsed", format!("{:.3} s", r.elapsed_s)),
            ("throughput", format!("{:.0} quotes/s", r.quotes_per_s)),
            ("per quote", format!("{:.0} ns", r.ns_per_quote)),
        ]
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct PacingReport {
    class: String,
    limit: String,
    requests: u32,
    concurrency: u32,
    elapsed_s: f64,
    floor_s: f64,
    ratio: f64,
    rate_limited: u64,
    other_errors: u64,
}

async fn pacing(
    client: &Client,
    a: &PacingArgs,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let class = match a.class.as_str() {
        "global" | "other" => None,
        name => Some(
            PacingClass::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| {
                    let names: Vec<_> = PacingClass::ALL.iter().map(|c| c.name()).collect();
                    format!(
                        "--class {name}: not a pacing class; one of global, {}",
                        names.join(", ")
                    )
                })?,
        ),
    };
    let path = match class {
        None => "/iserver/auth/status",
        Some(PacingClass::Snapshot) => "/iserver/marketdata/snapshot?conids=265598&fields=31,84,86",
        Some(PacingClass::History) => "/iserver/marketdata/history?conid=265598&period=1d&bar=5min",
        Some(PacingClass::Tickle) => "/tickle",
        Some(PacingClass::SsoValidate) => "/sso/validate",
        Some(PacingClass::LiveOrders) => "/iserver/account/orders",
        Some(PacingClass::Trades) => "/iserver/account/trades",
        Some(PacingClass::PnlPartitioned) => "/iserver/account/pnl/partitioned",
        Some(PacingClass::PortfolioAccounts) => "/portfolio/accounts",
        Some(PacingClass::PortfolioSubaccounts) => "/portfolio/subaccounts",
        Some(PacingClass::ScannerParams) => "/iserver/scanner/params",
        Some(PacingClass::ScannerRun) => "/iserver/scanner/run",
        Some(PacingClass::PortfolioAnalyst) => "/pa/performance",
        Some(PacingClass::Fyi) => "/fyi/unreadnumber",
        Some(_) => return Err("no sample path for this class yet".into()),
    };
    let (client, _gateway) = if a.external {
        (client.clone(), None)
    } else {
        let gw = ibkr_sim::Gateway::start(
            ibkr_sim::GatewayConfig::for_tests().pacing(Some(ibkr_api::PacingTable::gateway())),
        )
        .await?;
        let c = Client::builder()
            .gateway(gw.url().as_str())
            .pacing(client.pacing_table().clone())
            .build()?;
        (c, Some(gw))
    };
    let table = client.pacing_table();
    let intervals: Vec<(String, Duration)> = class
        .and_then(|c| table.limit(c).map(|l| (c.name().to_string(), l)))
        .into_iter()
        .chain(table.global().map(|g| ("global".to_string(), g)))
        .filter_map(|(n, l)| l.interval().map(|i| (format!("{n} {l}"), i)))
        .collect();
    let interval = intervals.iter().map(|(_, i)| *i).max().unwrap_or_default();
    let limit = intervals
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let n = a.requests.max(1);
    // IBKR wants /iserver/accounts before snapshots; made before the clock starts, and
    // a global turn later, so that it does not count against the measurement.
    if path.starts_with("/iserver/") {
        client.brokerage_accounts().await?;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let next = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.clamp(1, n) {
        let (client, next, limited, failed) = (
            client.clone(),
            next.clone(),
            limited.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < u64::from(n) {
                match client.raw(Method::GET, path, None).await {
                    Ok(_) => {}
                    // Endpoints the simulator does not serve yet answer 404: served,
                    // and counted by its limits all the same.
                    Err(ibkr_api::Error::Http { status: 404, .. }) => {}
                    Err(ibkr_api::Error::RateLimited { .. }) => {
                        limited.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tracing::warn!("{e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let floor = interval.as_secs_f64() * f64::from(n - 1);
    let rate_limited = limited
        .load(Ordering::Relaxed)
        .max(client.pacing_metrics().total().rate_limited);
    let r = PacingReport {
        class: a.class.clone(),
        limit,
        requests: n,
        concurrency: a.concurrency,
        elapsed_s: elapsed,
        floor_s: floor,
        ratio: if floor > 0.0 {
            elapsed / floor
        } else {
            f64::NAN
        },
        rate_limited,
        other_errors: failed.load(Ordering::Relaxed),
    };
    out.show(&r, || {
        vec![
            ("class", format!("{} ({})", r.class, r.limit)),
            (
                "requests",
                format!("{} from {} tasks", r.requests, r.concurrency),
            ),
            ("elapsed", format!("{:.3} s", r.elapsed_s)),
            (
                "floor",
                format!("{:.3} s (what the limit allows at best)", r.floor_s),
            ),
            ("ratio", format!("{:.4}", r.ratio)),
            ("429s", r.rate_limited.to_string()),
            ("other errors", r.other_errors.to_string()),
        ]
    })?;
    Ok(if r.rate_limited == 0 && r.other_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn tickle(
    client: &Client,
    a: &TickleArgs,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let n = a.requests.max(1);
    let c = a.concurrency.clamp(1, n);
    // Warm up: connections and TLS sessions are set up outside the measurement.
    for _ in 0..c.min(8) {
        client.ping_server().await?;
    }
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..c {
        let (client, next, errors) = (client.clone(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                if client.ping_server().await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = t0.elapsed();
    let cpu = match (cpu0, process_cpu()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let r = Report {
        requests: n,
        concurrency: c,
        errors: errors.load(Ordering::Relaxed),
        elapsed_s: elapsed.as_secs_f64(),
        requests_per_s: n as f64 / elapsed.as_secs_f64(),
        mean_latency_us: elapsed.as_secs_f64() * 1e6 * c as f64 / n as f64,
        client_cpu_us_per_request: cpu.map(|d| d.as_secs_f64() * 1e6 / n as f64),
    };
    out.show(&r, || {
        vec![
            (
                "requests",
                format!("{} ({} in flight)", r.requests, r.concurrency),
            ),
            ("errors", r.errors.to_string()),
            ("elapsed", format!("{:.3} s", r.elapsed_s)),
            ("throughput", format!("{:.0} requests/s", r.requests_per_s)),
            ("mean latency", format!("{:.0} µs", r.mean_latency_us)),
            (
                "client CPU",
                r.client_cpu_us_per_request
                    .map(|u| format!("{u:.0} µs per request"))
                    .unwrap_or_else(|| "unavailable on this system".into()),
            ),
        ]
    })?;
    Ok(if r.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// User + system CPU time of this process, from `/proc/self/stat` (Linux; USER_HZ is
/// 100 on every Linux ABI).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}
