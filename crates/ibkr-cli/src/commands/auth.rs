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
    /// OAuth (--oauth): the live session token's expiry and renewal time, asking for
    /// a token if there is none. The token itself is never shown.
    Lst {
        /// Ask for a new token first.
        #[arg(long)]
        renew: bool,
    },
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
        AuthCommand::Lst { renew } => {
            if !client.is_oauth() {
                return Err("`auth lst` is for OAuth: give --oauth client.toml (or set IBKR_OAUTH_CONFIG); through a gateway there is no live session token".into());
            }
            let info = if *renew {
                client.renew_live_session_token().await?
            } else {
                client.live_session_token_info().await?
            };
            let lst = LstJson::from(&info);
            out.show(&lst, || lst_rows(&lst))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `auth lst`'s answer: times only, never the token.
#[derive(Serialize)]
struct LstJson {
    consumer_key: String,
    obtained_at: String,
    expires_at: String,
    expires_in_secs: i64,
    renews_at: String,
    tokens_obtained: u64,
}

impl From<&ibkr_api::oauth::LiveSessionInfo> for LstJson {
    fn from(i: &ibkr_api::oauth::LiveSessionInfo) -> Self {
        let rfc =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        LstJson {
            consumer_key: i.consumer_key.clone(),
            obtained_at: rfc(i.obtained_at),
            expires_at: rfc(i.expires_at),
            expires_in_secs: (i.expires_at - chrono::Utc::now()).num_seconds().max(0),
            renews_at: rfc(i.renews_at),
            tokens_obtained: i.tokens_obtained,
        }
    }
}

fn lst_rows(l: &LstJson) -> Vec<(&'static str, String)> {
    let left = l.expires_in_secs;
    vec![
        ("consumer", l.consumer_key.clone()),
        ("obtained", l.obtained_at.clone()),
        (
            "expires",
            format!(
                "{} (in {}h {:02}m)",
                l.expires_at,
                left / 3600,
                left % 3600 / 60
            ),
        ),
        ("renewed after", l.renews_at.clone()),
        ("tokens obtained", l.tokens_obtained.to_string()),
    ]
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
