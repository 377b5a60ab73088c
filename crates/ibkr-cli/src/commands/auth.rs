//! `ibkr auth ...`: the session calls.

use std::process::ExitCode;

use clap::Subcommand;
use ibkr_api::model::auth::{AuthStatus, LoginType, SsoValidation, Tickle};
use ibkr_api::{Client, ReauthOutcome};
use serde::Serialize;

use crate::output::{Output, masked, opt, yes_no};

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Brokerage session state (POST /iserver/auth/status).
    Status,
    /// Keep the session alive and show it (POST /tickle).
    Tickle,
    /// Bring a lost brokerage session back: status, reauthenticate, validate SSO.
    Reauth,
    /// The SSO session's user and expiry (GET /sso/validate).
    Sso,
    /// Open the brokerage session (POST /iserver/auth/ssodh/init).
    Init {
        /// Disconnect other sessions of this user (TWS, mobile) to take over.
        #[arg(long)]
        compete: bool,
    },
    /// End the gateway's session for every client (POST /logout).
    Logout,
}

pub async fn run(
    client: &Client,
    cmd: &AuthCommand,
    out: &Output,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        AuthCommand::Status => {
            let s = client.check_auth_status().await?;
            out.show(&s, || status_rows(&s))?;
        }
        AuthCommand::Tickle => {
            let t = client.ping_server().await?;
            out.show(&t, || tickle_rows(&t))?;
        }
        AuthCommand::Reauth => {
            let outcome = client.handle_reauthentication().await?;
            let (word, reason) = outcome_words(&outcome);
            #[derive(Serialize)]
            struct Json<'a> {
                outcome: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                reason: Option<&'a str>,
            }
            out.show(
                &Json {
                    outcome: word,
                    reason,
                },
                || {
                    let mut rows = vec![("outcome", word.to_string())];
                    if let Some(r) = reason {
                        rows.push(("reason", r.to_string()));
                    }
                    rows
                },
            )?;
            if matches!(outcome, ReauthOutcome::Failed { .. }) {
                return Ok(ExitCode::FAILURE);
            }
        }
        AuthCommand::Sso => {
            let v = client.validate_sso().await?;
            out.show(&v, || sso_rows(&v))?;
        }
        AuthCommand::Init { compete } => {
            let s = client.init_brokerage_session(*compete).await?;
            out.show(&s, || status_rows(&s))?;
        }
        AuthCommand::Logout => {
            let r = client.end_session().await?;
            out.show(&r, || vec![("logged out", yes_no(r.status))])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn outcome_words(o: &ReauthOutcome) -> (&'static str, Option<&str>) {
    match o {
        ReauthOutcome::AlreadyAuthenticated => ("already authenticated", None),
        ReauthOutcome::Reauthenticated => ("reauthenticated", None),
        ReauthOutcome::Failed { reason } => ("failed", Some(reason.as_str())),
        _ => ("unknown", None),
    }
}

pub fn status_rows(s: &AuthStatus) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("authenticated", yes_no(s.authenticated)),
        ("established", opt(&s.established.map(yes_no))),
        ("competing", yes_no(s.competing)),
        ("connected", yes_no(s.connected)),
    ];
    if let Some(r) = s.reason() {
        rows.push(("message", r.to_string()));
    }
    if let Some(info) = &s.server_info {
        rows.push((
            "server",
            format!("{} ({})", opt(&info.server_name), opt(&info.server_version)),
        ));
    }
    rows
}

pub fn tickle_rows(t: &Tickle) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("session", masked(t.session.expose())),
        ("sso expires in", opt(&t.sso_expires)),
        ("authenticated", yes_no(t.is_authenticated())),
    ];
    if let Some(s) = t.auth_status() {
        rows.push(("competing", yes_no(s.competing)));
        rows.push(("connected", yes_no(s.connected)));
    }
    if let Some(h) = &t.hmds {
        let v = if h.is_no_bridge() {
            "no bridge (no historical data in use)".to_string()
        } else {
            opt(&h.error)
        };
        rows.push(("hmds", v));
    }
    rows
}

pub fn sso_rows(v: &SsoValidation) -> Vec<(&'static str, String)> {
    let login = match v.login_type {
        Some(LoginType::Live) => "live".to_string(),
        Some(LoginType::Paper) => "paper".to_string(),
        Some(LoginType::Unknown(n)) => format!("type {n}"),
        None => "-".to_string(),
        Some(_) => "other".to_string(),
    };
    vec![
        ("valid", yes_no(v.result)),
        ("user", opt(&v.user_name)),
        ("login", login),
        ("authenticated at", opt(&v.auth_time)),
        ("expires in", opt(&v.expires)),
        ("region", opt(&v.region)),
    ]
}
