//! The gateway's session rules as a state machine, free of I/O and of the clock:
//! every transition takes the current instant, so the rules are tested exactly.
//!
//! Two sessions stack, as at IBKR:
//! - the **SSO session** (read-only), opened by the browser login and ended by
//!   `/logout` or by inactivity longer than the idle timeout; every request
//!   while it lives resets the idle clock, and `/tickle` reports the time left;
//! - the **brokerage session** on top of it, needed by `/iserver/*`; it can be lost
//!   on its own (IBKR's nightly reset, another login of the same user) and is
//!   brought back by `/iserver/reauthenticate` or `/iserver/auth/ssodh/init`.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

/// State of the brokerage session inside a live SSO session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BrokerageState {
    /// Authenticated: trading and market data work.
    Authenticated,
    /// Another session of the same user holds the brokerage connection.
    Competing,
    /// Lost (timed out, reset); re-authentication brings it back.
    Down,
}

/// A read-only view of the session, for the control API and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionSnapshot {
    /// Whether a user is logged in (the SSO session lives).
    pub logged_in: bool,
    /// The user logged in.
    pub user: Option<String>,
    /// The brokerage session's state, when logged in.
    pub brokerage: Option<BrokerageState>,
    /// Milliseconds before the SSO session expires for inactivity.
    pub sso_expires_ms: Option<u64>,
    /// How many logins happened since start.
    pub logins: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Sso {
    pub id: String,
    pub user: String,
    pub user_id: u64,
    pub auth_time: SystemTime,
    pub last_activity: Instant,
    pub brokerage: BrokerageState,
    /// Whether `/iserver/accounts` was called in this session (IBKR requires it
    /// before snapshots and account-bound calls).
    pub accounts_queried: bool,
    /// Contracts whose market-data stream is open (a snapshot's first request for a
    /// contract only opens it).
    pub md_streams: std::collections::HashSet<i64>,
    /// The account chosen with `POST /iserver/account` (or `/iserver/dynaccount`);
    /// `None`: the login's first account.
    pub selected_account: Option<String>,
    /// Whether `/iserver/account/pnl/partitioned` was asked for in this session (the
    /// first request only subscribes and answers empty, as at IBKR).
    pub pnl_subscribed: bool,
    /// Order-reply prompt ids (`o163`, `o354`, ...) confirmed automatically for the rest
    /// of this brokerage session (`/iserver/questions/suppress`).
    pub suppressed: std::collections::BTreeSet<String>,
}

/// The session state machine.
#[derive(Debug)]
pub(crate) struct SessionMachine {
    idle_timeout: Duration,
    sso: Option<Sso>,
    logins: u64,
}

/// The SSO session is not there: the caller must log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotLoggedIn;

impl SessionMachine {
    pub fn new(idle_timeout: Duration) -> Self {
        SessionMachine {
            idle_timeout,
            sso: None,
            logins: 0,
        }
    }

    /// Ends the SSO session if it has been idle too long. Call before anything else.
    pub fn expire_if_idle(&mut self, now: Instant) {
        if let Some(s) = &self.sso
            && now.saturating_duration_since(s.last_activity) >= self.idle_timeout
        {
            tracing::info!(user = %s.user, "session ended after {:?} idle", self.idle_timeout);
            self.sso = None;
        }
    }

    /// Records activity: the idle clock restarts.
    pub fn touch(&mut self, now: Instant) {
        if let Some(s) = &mut self.sso {
            s.last_activity = now;
        }
    }

    /// A user logged in through the login page: both sessions open.
    pub fn login(&mut self, user: &str, now: Instant) {
        self.logins += 1;
        let id = {
            let bytes: [u8; 16] = rand::random();
            hex::encode(bytes)
        };
        self.sso = Some(Sso {
            id,
            user: user.to_string(),
            user_id: 100_000_000 + (user.bytes().map(u64::from).sum::<u64>() % 1_000_000),
            auth_time: SystemTime::now(),
            last_activity: now,
            brokerage: BrokerageState::Authenticated,
            accounts_queried: false,
            md_streams: Default::default(),
            selected_account: None,
            pnl_subscribed: false,
            suppressed: Default::default(),
        });
    }

    /// `/logout`: both sessions end for every client.
    pub fn logout(&mut self) -> Result<(), NotLoggedIn> {
        self.sso.take().map(|_| ()).ok_or(NotLoggedIn)
    }

    pub fn sso(&self) -> Result<&Sso, NotLoggedIn> {
        self.sso.as_ref().ok_or(NotLoggedIn)
    }

    fn sso_mut(&mut self) -> Result<&mut Sso, NotLoggedIn> {
        self.sso.as_mut().ok_or(NotLoggedIn)
    }

    /// The live SSO session, to change it.
    pub fn sso_mut_checked(&mut self) -> Result<&mut Sso, NotLoggedIn> {
        self.sso_mut()
    }

    /// Time left before the idle timeout ends the SSO session.
    pub fn sso_expires(&self, now: Instant) -> Result<Duration, NotLoggedIn> {
        let s = self.sso()?;
        Ok(self
            .idle_timeout
            .saturating_sub(now.saturating_duration_since(s.last_activity)))
    }

    /// `/iserver/reauthenticate`: restores a lost brokerage session; a competing
    /// session is left alone (taking over needs `ssodh/init` with `compete`).
    pub fn reauthenticate(&mut self) -> Result<(), NotLoggedIn> {
        let s = self.sso_mut()?;
        if s.brokerage == BrokerageState::Down {
            s.brokerage = BrokerageState::Authenticated;
        }
        Ok(())
    }

    /// `/iserver/auth/ssodh/init`: opens the brokerage session, taking it over from a
    /// competing session only when `compete` is set.
    pub fn init_brokerage(&mut self, compete: bool) -> Result<BrokerageState, NotLoggedIn> {
        let s = self.sso_mut()?;
        s.brokerage = match (s.brokerage, compete) {
            (BrokerageState::Competing, false) => BrokerageState::Competing,
            _ => BrokerageState::Authenticated,
        };
        Ok(s.brokerage)
    }

    /// The brokerage session is lost (control API).
    pub fn drop_brokerage(&mut self) -> Result<(), NotLoggedIn> {
        self.sso_mut()?.brokerage = BrokerageState::Down;
        Ok(())
    }

    /// Another login of the same user takes the brokerage session (control API).
    pub fn start_competing(&mut self) -> Result<(), NotLoggedIn> {
        self.sso_mut()?.brokerage = BrokerageState::Competing;
        Ok(())
    }

    /// The SSO session ends as if it had timed out (control API).
    pub fn expire(&mut self) {
        self.sso = None;
    }

    pub fn snapshot(&self, now: Instant) -> SessionSnapshot {
        SessionSnapshot {
            logged_in: self.sso.is_some(),
            user: self.sso.as_ref().map(|s| s.user.clone()),
            brokerage: self.sso.as_ref().map(|s| s.brokerage),
            sso_expires_ms: self
                .sso_expires(now)
                .ok()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            logins: self.logins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(300);

    fn logged_in() -> (SessionMachine, Instant) {
        let mut m = SessionMachine::new(IDLE);
        let t0 = Instant::now();
        m.login("demo", t0);
        (m, t0)
    }

    #[test]
    fn idle_timeout_ends_the_session_and_activity_defers_it() {
        let (mut m, t0) = logged_in();
        m.expire_if_idle(t0 + Duration::from_secs(299));
        assert!(m.sso().is_ok());
        m.touch(t0 + Duration::from_secs(299));
        assert_eq!(
            m.sso_expires(t0 + Duration::from_secs(300)).unwrap(),
            Duration::from_secs(299)
        );
        m.expire_if_idle(t0 + Duration::from_secs(598));
        assert!(m.sso().is_ok());
        m.expire_if_idle(t0 + Duration::from_secs(599));
        assert_eq!(m.sso().err(), Some(NotLoggedIn));
        assert!(!m.snapshot(t0).logged_in);
    }

    #[test]
    fn sso_expires_counts_down() {
        let (m, t0) = logged_in();
        assert_eq!(m.sso_expires(t0).unwrap(), IDLE);
        assert_eq!(
            m.sso_expires(t0 + Duration::from_secs(100)).unwrap(),
            Duration::from_secs(200)
        );
        assert_eq!(m.sso_expires(t0 + IDLE * 2).unwrap(), Duration::ZERO);
    }

    #[test]
    fn reauthenticate_restores_a_lost_brokerage_session() {
        let (mut m, _) = logged_in();
        m.drop_brokerage().unwrap();
        assert_eq!(m.sso().unwrap().brokerage, BrokerageState::Down);
        m.reauthenticate().unwrap();
        assert_eq!(m.sso().unwrap().brokerage, BrokerageState::Authenticated);
    }

    #[test]
    fn competing_session_needs_compete_to_take_over() {
        let (mut m, _) = logged_in();
        m.start_competing().unwrap();
        m.reauthenticate().unwrap();
        assert_eq!(m.sso().unwrap().brokerage, BrokerageState::Competing);
        assert_eq!(m.init_brokerage(false).unwrap(), BrokerageState::Competing);
        assert_eq!(
            m.init_brokerage(true).unwrap(),
            BrokerageState::Authenticated
        );
    }

    #[test]
    fn logout_ends_everything_and_twice_is_an_error() {
        let (mut m, _) = logged_in();
        assert!(m.logout().is_ok());
        assert_eq!(m.logout(), Err(NotLoggedIn));
        assert_eq!(m.reauthenticate(), Err(NotLoggedIn));
        assert_eq!(m.init_brokerage(true), Err(NotLoggedIn));
    }

    #[test]
    fn nothing_works_before_login() {
        let mut m = SessionMachine::new(IDLE);
        assert!(m.sso().is_err());
        assert!(m.drop_brokerage().is_err());
        m.touch(Instant::now());
        let s = m.snapshot(Instant::now());
        assert!(!s.logged_in && s.brokerage.is_none() && s.sso_expires_ms.is_none());
    }
}
