//! Session and authentication calls, and the re-authentication flow.
//!
//! The names follow the Elixir library's tutorial: `check_auth_status`,
//! `ping_server`, `reauthenticate`, `validate_sso`, `end_session`,
//! `handle_reauthentication`, `ensure_authenticated`.

use std::time::Duration;

use ibkr_model::auth::{
    AuthStatus, BrokerageSessionInitRequest, LogoutResponse, ReauthenticateResponse, SsoValidation,
    Tickle,
};
use reqwest::Method;
use tokio::time::Instant;

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// What [`Client::handle_reauthentication`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReauthOutcome {
    /// The brokerage session was authenticated already; nothing was done.
    AlreadyAuthenticated,
    /// The brokerage session was down and is back.
    Reauthenticated,
    /// It could not be brought back; the reason says what to do.
    Failed {
        /// Why, and what to do next.
        reason: String,
    },
}

/// What [`Client::ensure_authenticated`] did to get an authenticated session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthOutcome {
    /// Nothing: the session was authenticated.
    AlreadyAuthenticated,
    /// It re-authenticated the brokerage session.
    Reauthenticated,
}

impl Client {
    /// `POST /iserver/auth/status`: the brokerage session's state.
    ///
    /// A timed-out or logged-out gateway answers `authenticated: false`.
    pub async fn check_auth_status(&self) -> Result<AuthStatus> {
        self.call::<(), _>(
            Endpoint::AuthStatus,
            Method::POST,
            "/iserver/auth/status",
            None,
        )
        .await
    }

    /// `POST /tickle`: keeps the session alive and reports its state. Call it about
    /// once a minute, or let [`Client::keep_alive`] do it.
    pub async fn ping_server(&self) -> Result<Tickle> {
        self.call::<(), _>(Endpoint::Tickle, Method::POST, "/tickle", None)
            .await
    }

    /// `POST /iserver/reauthenticate`: asks the gateway to re-open the brokerage
    /// session while the SSO session is valid. It answers at once (`"triggered"`);
    /// the session comes back shortly after. IBKR deprecates it in favour of
    /// [`Client::init_brokerage_session`], which [`Client::handle_reauthentication`]
    /// falls back on.
    pub async fn reauthenticate(&self) -> Result<ReauthenticateResponse> {
        self.call::<(), _>(
            Endpoint::Reauthenticate,
            Method::POST,
            "/iserver/reauthenticate",
            None,
        )
        .await
    }

    /// `POST /iserver/auth/ssodh/init`: opens the brokerage session that trading and
    /// market data need. With `compete`, other brokerage sessions of the same user
    /// (TWS, the mobile app, another gateway) are disconnected.
    pub async fn init_brokerage_session(&self, compete: bool) -> Result<AuthStatus> {
        self.call(
            Endpoint::InitBrokerageSession,
            Method::POST,
            "/iserver/auth/ssodh/init",
            Some(&BrokerageSessionInitRequest::new(compete)),
        )
        .await
    }

    /// `GET /sso/validate`: the SSO session's user and remaining lifetime.
    pub async fn validate_sso(&self) -> Result<SsoValidation> {
        self.call::<(), _>(Endpoint::ValidateSso, Method::GET, "/sso/validate", None)
            .await
    }

    /// `POST /logout`: ends the gateway's session, for every client of the gateway.
    /// Logging in again needs the browser.
    pub async fn end_session(&self) -> Result<LogoutResponse> {
        self.call::<(), _>(Endpoint::Logout, Method::POST, "/logout", None)
            .await
    }

    /// Checks the status and, when the brokerage session is down, re-authenticates
    /// (`reauthenticate`, or `ssodh/init` on gateways without it), waits for the
    /// session to come back, and validates the SSO session (unless `/sso/validate`'s
    /// limit of one a minute was used up, in which case the answering status is proof
    /// enough).
    ///
    /// Returns `Err` only when the status cannot be read; a failed
    /// re-authentication is [`ReauthOutcome::Failed`] with the reason.
    pub async fn handle_reauthentication(&self) -> Result<ReauthOutcome> {
        let status = self.check_auth_status().await?;
        if status.authenticated {
            return Ok(ReauthOutcome::AlreadyAuthenticated);
        }
        if status.competing {
            return Ok(ReauthOutcome::Failed {
                reason: "another session of this user (TWS, IBKR Mobile, another gateway) holds the brokerage session; call init_brokerage_session(true) to take it over".into(),
            });
        }
        match self.reauthenticate().await {
            Ok(_) => {}
            // Newer gateways dropped the deprecated call.
            Err(Error::Http {
                status: 404 | 405, ..
            }) => {
                if let Err(e) = self.init_brokerage_session(false).await {
                    return Ok(failed(e));
                }
            }
            Err(e) => return Ok(failed(e)),
        }
        let status = match self.wait_authenticated(self.reauth_timeout()).await {
            Ok(s) => s,
            Err(e) => return Ok(failed(e)),
        };
        // IBKR allows one /sso/validate a minute. When that turn is not free now, the
        // check is skipped: a status that answers proves the SSO session anyway.
        match self
            .with_max_wait(Some(Duration::ZERO))
            .validate_sso()
            .await
        {
            Err(Error::WouldWait { .. }) => {
                tracing::debug!("SSO validation skipped: its rate limit allows none now");
            }
            Ok(v) if !v.result => {
                return Ok(ReauthOutcome::Failed {
                    reason: format!(
                        "the SSO session did not validate; log in again at {}",
                        self.gateway_url()
                    ),
                });
            }
            Ok(_) => {}
            Err(e) => return Ok(failed(e)),
        }
        if status.authenticated {
            Ok(ReauthOutcome::Reauthenticated)
        } else if status.competing {
            Ok(ReauthOutcome::Failed {
                reason: "another session took the brokerage session during re-authentication; call init_brokerage_session(true) to take it over".into(),
            })
        } else {
            Ok(ReauthOutcome::Failed {
                reason: format!(
                    "still not authenticated after {}s{}; the session may have been expired too long: log in again at {}",
                    self.reauth_timeout().as_secs(),
                    status
                        .reason()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    self.gateway_url()
                ),
            })
        }
    }

    /// Makes sure the brokerage session is authenticated, re-authenticating if
    /// needed; fails with [`Error::NotAuthenticated`] when that does not work.
    pub async fn ensure_authenticated(&self) -> Result<AuthOutcome> {
        match self.handle_reauthentication().await? {
            ReauthOutcome::AlreadyAuthenticated => Ok(AuthOutcome::AlreadyAuthenticated),
            ReauthOutcome::Reauthenticated => Ok(AuthOutcome::Reauthenticated),
            ReauthOutcome::Failed { reason } => Err(Error::NotAuthenticated {
                endpoint: "ensure_authenticated".into(),
                reason,
                login_url: self.gateway_url().to_string(),
            }),
        }
    }

    /// Polls the status until the brokerage session is authenticated (or competing,
    /// or `timeout` passes), and returns the last status seen. A gateway that answers
    /// 401 meanwhile is treated as not yet authenticated: this is the call to wait
    /// on after a browser login.
    pub async fn wait_for_authentication(&self, timeout: Duration) -> Result<AuthStatus> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(200);
        loop {
            let last = match self.check_auth_status().await {
                Ok(s) if s.authenticated => return Ok(s),
                Ok(s) => Ok(s),
                Err(e @ Error::NotAuthenticated { .. }) => Err(e),
                Err(e) => return Err(e),
            };
            if Instant::now() + delay > deadline {
                return last;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    async fn wait_authenticated(&self, timeout: Duration) -> Result<AuthStatus> {
        let deadline = Instant::now() + timeout;
        let mut delay = Duration::from_millis(100);
        loop {
            let s = self.check_auth_status().await?;
            if s.authenticated || s.competing || Instant::now() + delay > deadline {
                return Ok(s);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }
}

fn failed(e: Error) -> ReauthOutcome {
    ReauthOutcome::Failed {
        reason: e.to_string(),
    }
}
