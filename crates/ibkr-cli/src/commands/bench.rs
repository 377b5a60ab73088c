//! `ibkr bench ...`: measurements against a gateway (the simulator, normally).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use ibkr_api::Client;
use serde::Serialize;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Round trips of POST /tickle: throughput, latency, and this process's CPU time.
    Tickle(TickleArgs),
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
    }
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
