//! `ibkr`: the Interactive Brokers Client Portal Web API from the shell, and a
//! simulated gateway to try it on.

mod commands;
mod output;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ibkr_api::Client;

/// The Interactive Brokers Client Portal Web API from the shell.
///
/// Talks to a Client Portal Gateway (default https://localhost:5000). Try it without
/// an account: `ibkr demo`, or `ibkr sim serve --auto-login` in one shell and
/// `ibkr auth status` in another.
#[derive(Debug, Parser)]
#[command(name = "ibkr", version, about, long_about)]
struct Cli {
    /// The gateway's address.
    #[arg(long, global = true, env = "IBKR_GATEWAY", default_value = ibkr_api::DEFAULT_GATEWAY)]
    gateway: String,

    /// Print the typed response as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,

    /// More logging on stderr (-v: info, -vv: debug, -vvv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Trust the gateway's certificate with this SHA-256 fingerprint (for a gateway on
    /// another machine with a self-signed certificate).
    #[arg(long, global = true, env = "IBKR_PIN_SHA256", value_name = "HEX")]
    pin_sha256: Option<String>,

    /// Accept any certificate. Unsafe beyond loopback: prefer --pin-sha256.
    #[arg(long, global = true)]
    insecure: bool,

    /// Seconds allowed per request.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    timeout: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Session and authentication: status, tickle, reauth, sso, init, logout.
    #[command(subcommand)]
    Auth(commands::auth::AuthCommand),
    /// Open the gateway's login page and wait until the session is authenticated.
    Login(commands::login::LoginArgs),
    /// The gateway simulator.
    #[command(subcommand)]
    Sim(commands::sim::SimCommand),
    /// A guided walk through the API against an embedded simulated gateway.
    Demo,
    /// Measurements against a gateway (normally `ibkr sim serve`).
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

impl Cli {
    fn client(&self) -> ibkr_api::Result<Client> {
        let mut b = Client::builder()
            .gateway(&self.gateway)
            .timeout(Duration::from_secs(self.timeout.max(1)))
            .danger_accept_invalid_certs(self.insecure);
        if let Some(pin) = &self.pin_sha256 {
            b = b.pin_certificate_sha256(pin);
        }
        b.build()
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let out = output::Output::new(cli.json);
    match &cli.command {
        Command::Auth(cmd) => commands::auth::run(&cli.client()?, cmd, &out).await,
        Command::Login(args) => commands::login::run(&cli.client()?, args, &out).await,
        Command::Sim(cmd) => commands::sim::run(cmd, &out).await,
        Command::Demo => commands::demo::run().await,
        Command::Bench(cmd) => commands::bench::run(&cli.client()?, cmd, &out).await,
    }
}
