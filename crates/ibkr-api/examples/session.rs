//! The session calls end to end: against the gateway named by `IBKR_GATEWAY`, or,
//! when it is not set, against an embedded simulated gateway.
//!
//! ```sh
//! cargo run -p ibkr-api --example session
//! IBKR_GATEWAY=https://localhost:5000 cargo run -p ibkr-api --example session
//! ```

use std::time::Duration;

use ibkr_api::{Client, ReauthOutcome, SessionState};
use ibkr_sim::{Gateway, GatewayConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the simulator alive for the whole run when we start one.
    let (_sim, url) = match std::env::var("IBKR_GATEWAY") {
        Ok(url) => (None, url),
        Err(_) => {
            let gw = Gateway::start(GatewayConfig::for_tests()).await?;
            let url = gw.url().to_string();
            println!("no IBKR_GATEWAY: using a simulated gateway at {url}");
            (Some(gw), url)
        }
    };
    let client = Client::builder().gateway(url).build()?;

    let status = client.check_auth_status().await?;
    println!(
        "authenticated: {}, competing: {}",
        status.authenticated, status.competing
    );

    match client.handle_reauthentication().await? {
        ReauthOutcome::Failed { reason } => {
            eprintln!("cannot use the session: {reason}");
            return Ok(());
        }
        outcome => println!("session: {outcome:?}"),
    }

    let tickle = client.ping_server().await?;
    println!(
        "tickle: authenticated {}, SSO expires in {}",
        tickle.is_authenticated(),
        tickle
            .sso_expires
            .map(|m| m.to_string())
            .unwrap_or_else(|| "?".into())
    );

    let sso = client.validate_sso().await?;
    println!("SSO user: {}", sso.user_name.as_deref().unwrap_or("?"));

    let keeper = client.keep_alive(Duration::from_secs(60));
    let state = keeper.wait_for(|s| *s != SessionState::Starting).await;
    println!("keeper: {state}");
    Ok(())
}
