//! `ibkr login`: the browser login, waited for.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ibkr_api::{Client, Error};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

use crate::output::Output;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Seconds to wait for the login.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub timeout: u64,
    /// Do not try to open a browser; only print the address.
    #[arg(long)]
    pub no_browser: bool,
}

pub async fn run(
    client: &Client,
    args: &LoginArgs,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let url = client.gateway_url().to_string();
    // Already logged in? Then there is nothing to wait for.
    if let Ok(s) = client.check_auth_status().await
        && s.authenticated
    {
        out.show(&s, || {
            vec![("authenticated", "yes (already logged in)".into())]
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("Log in at {url} in a browser on the machine that runs the gateway.");
    if !args.no_browser && open_browser(&url) {
        eprintln!("(opened it in your browser)");
    }
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner.set_message("waiting for the login");
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client
            .wait_for_authentication(left.min(Duration::from_secs(10)))
            .await
        {
            Ok(s) if s.authenticated => break Ok(s),
            Ok(s) if s.competing => spinner.set_message("competing session: waiting"),
            Ok(_) | Err(Error::NotAuthenticated { .. }) => {}
            Err(e) => spinner.set_message(format!("gateway not answering: {e}")),
        }
        if Instant::now() >= deadline {
            break Err(format!(
                "not logged in after {}s; open {url} in a browser on the gateway's machine and log in, then run `ibkr login` again",
                args.timeout
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    spinner.finish_and_clear();
    match result {
        Ok(s) => {
            out.show(&s, || vec![("authenticated", "yes".into())])?;
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Opens `url` in the desktop's browser when there is a desktop; never fails.
fn open_browser(url: &str) -> bool {
    use std::process::{Command, Stdio};
    let cmd: Option<(&str, Vec<&str>)> = if cfg!(target_os = "macos") {
        Some(("open", vec![url]))
    } else if cfg!(windows) {
        Some(("cmd", vec!["/C", "start", "", url]))
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some(("xdg-open", vec![url]))
    } else {
        None
    };
    cmd.is_some_and(|(prog, args)| {
        Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .is_ok()
    })
}
