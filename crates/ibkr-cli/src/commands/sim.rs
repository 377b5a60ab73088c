//! `ibkr sim ...`: the gateway simulator.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use ibkr_sim::{AllowList, Gateway, GatewayConfig};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated Client Portal Gateway until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,
    /// Log in at start, without the browser.
    #[arg(long)]
    pub auto_login: bool,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain_http: bool,
    /// Seconds of inactivity after which the session ends.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub idle_timeout: u64,
    /// Username the login page accepts.
    #[arg(long, default_value = "demo", value_name = "U")]
    pub user: String,
    /// Password the login page accepts.
    #[arg(long, default_value = "demo", value_name = "P")]
    pub password: String,
    /// Client addresses served, as the gateway's ips.allow: e.g. "127.*,::1,192.168.*".
    #[arg(long, default_value = "127.*,::1", value_name = "LIST")]
    pub allow: String,
    /// Rate-limit enforcement: `ibkr` (IBKR's limits, 429 beyond) or `off`.
    #[arg(long, default_value = "ibkr", value_parser = ["ibkr", "off"])]
    pub pacing: String,
    /// Seconds an address that went over a limit gets 429 for everything.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub penalty: u64,
    /// Faults injected at random, e.g. "500=3%,503=2%,drop=3%,malformed=2%,delay:300=5%"
    /// (kinds: an HTTP status, drop, truncated, malformed, error_body, delay:MS).
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Seed of the fault generator (replays a run); random when not given.
    #[arg(long)]
    pub seed: Option<u64>,
}

pub async fn run(cmd: &SimCommand, out: &Output) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        SimCommand::Serve(a) => serve(a, out).await,
    }
}

async fn serve(a: &ServeArgs, out: &Output) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let allow: AllowList = a.allow.parse().map_err(|e| format!("--allow: {e}"))?;
    if a.idle_timeout == 0 {
        return Err("--idle-timeout must be at least 1 second".into());
    }
    let faults = a
        .faults
        .as_deref()
        .map(str::parse::<ibkr_sim::RandomFaults>)
        .transpose()
        .map_err(|e| format!("--faults: {e}"))?;
    let seed = a.seed.unwrap_or_else(rand_seed);
    let pacing = (a.pacing == "ibkr").then(ibkr_sim::PacingTable::gateway);
    let config = GatewayConfig::default()
        .pacing(pacing)
        .penalty(Duration::from_secs(a.penalty))
        .faults(faults.clone(), seed)
        .listen(a.listen)
        .tls(!a.plain_http)
        .auto_login(a.auto_login)
        .credentials(&a.user, &a.password)
        .idle_timeout(Duration::from_secs(a.idle_timeout))
        .allow(allow);
    let gw = Gateway::start(config).await?;
    if out.json() {
        let info = serde_json::json!({
            "url": gw.url().as_str(),
            "api": gw.api_url().as_str(),
            "certificate_sha256": gw.certificate_fingerprint(),
            "logged_in": gw.state().logged_in,
            "seed": seed,
        });
        println!("{info}");
    } else {
        println!("{}", gw.url());
        eprintln!(
            "Simulated Client Portal Gateway at {} (API {})",
            gw.url(),
            gw.api_url()
        );
        if let Some(fp) = gw.certificate_fingerprint() {
            eprintln!("Self-signed certificate, SHA-256 {fp}");
        }
        if a.pacing == "ibkr" {
            eprintln!(
                "Enforcing IBKR's rate limits (429 and a {}s penalty box beyond them).",
                a.penalty
            );
        }
        if let Some(f) = &faults {
            eprintln!(
                "Injecting faults into {:.1}% of answers (--seed {seed} replays this run).",
                f.share() * 100.0
            );
        }
        eprintln!(
            "Try: curl -k --data '{{}}' {}/iserver/auth/status   (POSTs need a body or Content-Length, as on the real gateway)",
            gw.api_url()
        );
        if gw.state().logged_in {
            eprintln!("Logged in as {}. Press Ctrl-C to stop.", a.user);
        } else {
            eprintln!(
                "Log in at {} with {} / {} (or use `ibkr login`). Press Ctrl-C to stop.",
                gw.url(),
                a.user,
                if a.password == "demo" {
                    "demo"
                } else {
                    "<password>"
                }
            );
        }
    }
    tokio::signal::ctrl_c().await?;
    eprintln!("Stopping…");
    gw.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// A seed from the clock, for runs that did not ask for one (it is printed).
fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 % 1_000_000)
        .unwrap_or(1)
}
