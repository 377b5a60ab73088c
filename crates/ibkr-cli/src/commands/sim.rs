//! `ibkr sim ...`: the gateway simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use ibkr_sim::{AllowList, Gateway, GatewayConfig, OAuthSettings};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated Client Portal Gateway until Ctrl-C.
    Serve(ServeArgs),
    /// Write a test OAuth consumer's files, as IBKR's self-service portal issues
    /// them: keys, dhparam.pem, client.toml (for `ibkr --oauth`) and server.toml (for
    /// `ibkr sim serve --oauth`).
    OauthCredentials(OAuthCredentialsArgs),
}

#[derive(Debug, Args)]
pub struct OAuthCredentialsArgs {
    /// Directory to write into (created if needed; existing files are not
    /// overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The consumer key (9 characters; `TESTCONS` uses the realm `test_realm`).
    #[arg(long, default_value = ibkr_sim::oauth::DEFAULT_CONSUMER_KEY, value_name = "KEY")]
    pub consumer_key: String,
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
    /// Play IBKR's OAuth 1.0a server with the consumer of this server.toml (from
    /// `ibkr sim oauth-credentials`): no browser login, every request signed.
    #[arg(long, value_name = "SERVER_TOML")]
    pub oauth: Option<PathBuf>,
    /// With --oauth: seconds a live session token lives (IBKR: about 24 hours).
    #[arg(
        long,
        default_value_t = 86_400,
        value_name = "SECS",
        requires = "oauth"
    )]
    pub lst_lifetime: u64,
}

pub async fn run(cmd: &SimCommand, out: &Output) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        SimCommand::Serve(a) => serve(a, out).await,
        SimCommand::OauthCredentials(a) => oauth_credentials(a, out),
    }
}

fn oauth_credentials(
    a: &OAuthCredentialsArgs,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if a.consumer_key.trim().is_empty() {
        return Err("--consumer-key must not be empty".into());
    }
    let written = ibkr_sim::oauth::generate_credentials_for(&a.out, &a.consumer_key)?;
    if out.json() {
        let info = serde_json::json!({
            "consumer_key": written.consumer_key,
            "dir": a.out.display().to_string(),
            "client_toml": written.client_toml.display().to_string(),
            "server_toml": written.server_toml.display().to_string(),
        });
        println!("{info}");
    } else {
        println!("{}", written.client_toml.display());
        eprintln!(
            "Test OAuth consumer {} written to {} (private keys and both TOML files readable by you only).",
            written.consumer_key,
            a.out.display()
        );
        eprintln!(
            "Serve:  ibkr sim serve --oauth {}",
            written.server_toml.display()
        );
        eprintln!(
            "Use:    ibkr --oauth {} --gateway https://127.0.0.1:5000 accounts",
            written.client_toml.display()
        );
    }
    Ok(ExitCode::SUCCESS)
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
    if a.lst_lifetime == 0 {
        return Err("--lst-lifetime must be at least 1 second".into());
    }
    let oauth = a
        .oauth
        .as_ref()
        .map(|path| {
            OAuthSettings::from_file(path)
                .map(|s| s.lst_lifetime(Duration::from_secs(a.lst_lifetime)))
                .map_err(|e| format!("--oauth: {e}"))
        })
        .transpose()?;
    // IBKR's limits: the gateway's, or 50 requests/s for OAuth.
    let pacing = (a.pacing == "ibkr").then(|| match oauth {
        Some(_) => ibkr_sim::PacingTable::oauth(),
        None => ibkr_sim::PacingTable::gateway(),
    });
    let consumer = oauth
        .as_ref()
        .and_then(|o| o.consumers.first())
        .map(|c| c.consumer_key().to_owned());
    let config = GatewayConfig::default()
        .oauth(oauth)
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
            "oauth_consumer": consumer,
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
        if let Some(consumer) = &consumer {
            eprintln!(
                "OAuth 1.0a mode for consumer {consumer}: no browser login; tokens at {}/oauth/live_session_token live {}s.",
                gw.api_url(),
                a.lst_lifetime
            );
            eprintln!(
                "Try: ibkr --oauth client.toml --gateway {} auth lst   (client.toml from the same `ibkr sim oauth-credentials` run)",
                gw.url()
            );
            if a.auto_login {
                eprintln!("--auto-login is ignored: a live session token opens the session.");
            }
            eprintln!("Press Ctrl-C to stop.");
        } else {
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
