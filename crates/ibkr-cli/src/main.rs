//! `ibkr`: the Interactive Brokers Client Portal Web API from the shell, and a
//! simulated gateway to try it on.

mod commands;
mod output;

use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use clap::{Parser, Subcommand};
use ibkr_api::pacing::FilePacingStore;
use ibkr_api::{Client, PacingTable};

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

    /// Rate limits kept: `ibkr` (the gateway's: 10 requests/s and per-endpoint limits),
    /// `oauth` (50 requests/s) or `off`. Commands run one after another share them.
    #[arg(long, global = true, default_value = "ibkr", value_parser = ["ibkr", "oauth", "off"])]
    pacing: String,

    /// Longest wait for a turn under the rate limits before giving up.
    #[arg(long, global = true, default_value_t = 300, value_name = "SECS")]
    max_wait: u64,

    /// Talk OAuth 1.0a to IBKR's API with this client.toml (no gateway, no browser;
    /// IBKR_OAUTH_* variables override its values). --gateway then replaces its
    /// base URL, and --pacing defaults to `oauth`.
    #[arg(long, global = true, env = "IBKR_OAUTH_CONFIG", value_name = "PATH")]
    oauth: Option<std::path::PathBuf>,

    /// Whether --gateway / --pacing were given (command line or environment).
    #[arg(skip)]
    given: Given,

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
    /// Search contracts by symbol or company name.
    Search(commands::market::SearchArgs),
    /// Contract details.
    #[command(subcommand)]
    Contract(commands::market::ContractCommand),
    /// An option chain: months, strikes and contracts near the money.
    Chain(commands::market::ChainArgs),
    /// Quotes (snapshots), once or live with --watch.
    Quote(commands::market::QuoteArgs),
    /// Historical bars, for one contract or (--symbols-file) many.
    History(commands::market::HistoryArgs),
    /// An exchange rate, e.g. `ibkr fx EUR USD`.
    Fx(commands::market::FxArgs),
    /// A contract's trading schedule.
    Schedule(commands::market::ScheduleArgs),
    /// The accounts of the login (portfolio view).
    Accounts,
    /// Switch the selected account, search accounts, balances by segment, owners.
    #[command(subcommand)]
    Account(commands::portfolio::AccountCommand),
    /// Profit and loss of every account: daily, unrealized, net liquidation.
    Pnl,
    /// Portfolio Analyst performance over a period (returns and net asset values).
    Performance(commands::portfolio::PerformanceArgs),
    /// An account's summary: net liquidation, cash, margins, buying power.
    Summary(commands::portfolio::AccountArg),
    /// An account's cash ledger per currency.
    Ledger(commands::portfolio::AccountArg),
    /// An account's positions, every page.
    Positions(commands::portfolio::PositionsArgs),
    /// An account's holdings by asset class, sector and group.
    Allocation(commands::portfolio::AccountArg),
    /// Place, preview, inspect, modify and cancel orders. Prompts are asked at a
    /// terminal and refused without one unless --yes or --accept IDS. Exit codes: 3 a
    /// prompt was not confirmed (nothing placed), 4 the outcome is unknown (check
    /// `ibkr orders`; do not resend).
    #[command(subcommand)]
    Order(commands::orders::OrderCommand),
    /// Live orders: working, filled and cancelled today (--watch refreshes every 5 s).
    Orders(commands::orders::OrdersArgs),
    /// Executions of today, or of the last --days N days.
    Trades(commands::orders::TradesArgs),
    /// Live streams over the gateway's WebSocket: quotes, orders, P&L, raw topics.
    /// Ctrl-C (or --duration SECS) ends them.
    #[command(subcommand)]
    Stream(commands::stream::StreamCommand),
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
        // OAuth keeps its 50 requests/s unless --pacing says otherwise.
        let pacing = match (&self.oauth, self.given.pacing) {
            (Some(_), false) => "oauth",
            _ => self.pacing.as_str(),
        };
        let table = match pacing {
            "off" => PacingTable::unlimited(),
            "oauth" => PacingTable::oauth(),
            _ => PacingTable::gateway(),
        };
        let mut b = Client::builder();
        let mut address = self.gateway.clone();
        if let Some(path) = &self.oauth {
            let path = path.to_string_lossy().into_owned();
            let config = ibkr_api::oauth::OAuthConfig::from_env_lookup(|name| {
                if name == "IBKR_OAUTH_CONFIG" {
                    Some(path.clone())
                } else {
                    std::env::var(name).ok()
                }
            })?;
            if !self.given.gateway {
                address = config.base_url().to_owned();
            }
            b = b.oauth(config);
        }
        let mut b = b
            .gateway(&address)
            .timeout(Duration::from_secs(self.timeout.max(1)))
            .danger_accept_invalid_certs(self.insecure)
            .pacing(table)
            .max_wait(Duration::from_secs(self.max_wait));
        if pacing != "off" {
            // Separate `ibkr` processes talking to one gateway pace together.
            let file = shared_pacing_file(&address);
            forget_stale_pacing_files(&file);
            b = b.pacing_store(Arc::new(FilePacingStore::new(file)));
        }
        if let Some(pin) = &self.pin_sha256 {
            b = b.pin_certificate_sha256(pin);
        }
        b.build()
    }
}

/// Which options with defaults were given: in OAuth mode the defaults of
/// --gateway and --pacing differ.
#[derive(Debug, Default)]
struct Given {
    gateway: bool,
    pacing: bool,
}

impl Cli {
    /// Parses the command line and notes which of --gateway and --pacing were given.
    fn parse_noting_given() -> Cli {
        use clap::parser::ValueSource;
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let given = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        cli.given = Given {
            gateway: given("gateway"),
            pacing: given("pacing"),
        };
        cli
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
    let cli = Cli::parse_noting_given();
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
    let client = match &cli.command {
        Command::Sim(cmd) => return commands::sim::run(cmd, &out).await,
        Command::Demo => return commands::demo::run().await,
        _ => cli.client()?,
    };
    let result = match &cli.command {
        Command::Auth(cmd) => commands::auth::run(&client, cmd, &out).await,
        Command::Login(args) => commands::login::run(&client, args, &out).await,
        Command::Bench(cmd) => commands::bench::run(&client, cmd, &out).await,
        Command::Search(a) => commands::market::search(&client, a, &out).await,
        Command::Contract(c) => commands::market::contract(&client, c, &out).await,
        Command::Chain(a) => commands::market::chain(&client, a, &out).await,
        Command::Quote(a) => commands::market::quote(&client, a, &out).await,
        Command::History(a) => commands::market::history(&client, a, &out).await,
        Command::Fx(a) => commands::market::fx(&client, a, &out).await,
        Command::Schedule(a) => commands::market::schedule(&client, a, &out).await,
        Command::Accounts => commands::portfolio::accounts(&client, &out).await,
        Command::Account(c) => commands::portfolio::account(&client, c, &out).await,
        Command::Pnl => commands::portfolio::pnl(&client, &out).await,
        Command::Performance(a) => commands::portfolio::performance(&client, a, &out).await,
        Command::Summary(a) => commands::portfolio::summary(&client, a, &out).await,
        Command::Ledger(a) => commands::portfolio::ledger(&client, a, &out).await,
        Command::Positions(a) => commands::portfolio::positions(&client, a, &out).await,
        Command::Allocation(a) => commands::portfolio::allocation(&client, a, &out).await,
        Command::Order(c) => commands::orders::order(&client, c, &out).await,
        Command::Orders(a) => commands::orders::orders(&client, a, &out).await,
        Command::Trades(a) => commands::orders::trades(&client, a, &out).await,
        Command::Stream(c) => commands::stream::run(&client, c, &out).await,
        // Served above, without a client.
        Command::Sim(_) | Command::Demo => Ok(ExitCode::SUCCESS),
    };
    if cli.verbose > 0 {
        eprint!("pacing (per class):\n{}", client.pacing_metrics());
    }
    result
}

/// Removes other gateways' pacing files untouched for a day (IBKR's longest window is
/// 15 minutes, so they hold nothing useful), so that the temp directory does not fill
/// with one file per simulator port ever used. Best effort: errors are ignored.
fn forget_stale_pacing_files(keep: &std::path::Path) {
    const STALE: Duration = Duration::from_secs(24 * 60 * 60);
    let (Some(dir), Some(name)) = (keep.parent(), keep.file_name().and_then(|n| n.to_str())) else {
        return;
    };
    // `ibkr-pacing-{user}-`: only this user's files.
    let Some(prefix) = name.rfind('-').map(|i| &name[..=i]) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
            && path != keep
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE);
        if stale {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The file where `ibkr` processes talking to `gateway` share their rate-limit turns.
fn shared_pacing_file(gateway: &str) -> std::path::PathBuf {
    let tag: String = gateway
        .trim_end_matches('/')
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let user = std::env::var("USER").unwrap_or_default();
    std::env::temp_dir().join(format!("ibkr-pacing-{user}-{tag}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_pacing_files_of_other_gateways_are_forgotten() {
        let dir = std::env::temp_dir().join(format!("ibkr-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, age_hours: u64| {
            let p = dir.join(name);
            let f = std::fs::File::create(&p).unwrap();
            let when = std::time::SystemTime::now() - Duration::from_secs(age_hours * 3600);
            f.set_modified(when).unwrap();
            p
        };
        let keep = file("ibkr-pacing-u-127_0_0_1_5000.json", 48);
        let old = file("ibkr-pacing-u-127_0_0_1_40001.json", 48);
        let fresh = file("ibkr-pacing-u-127_0_0_1_40002.json", 1);
        let other_user = file("ibkr-pacing-v-127_0_0_1_40003.json", 48);
        let unrelated = file("notes-u-1.json", 48);
        forget_stale_pacing_files(&keep);
        assert!(keep.exists(), "the file in use stays");
        assert!(!old.exists(), "a day-old file of another gateway goes");
        assert!(fresh.exists(), "a recent one stays");
        assert!(other_user.exists(), "another user's stays");
        assert!(unrelated.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
