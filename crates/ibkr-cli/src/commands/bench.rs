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
    }
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
