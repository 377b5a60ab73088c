//! The session keeper: a background task that keeps the gateway's session alive.
//!
//! It tickles the gateway at an interval (60 s by default, as IBKR asks), notices a
//! lost or competing brokerage session, re-initialises the brokerage session when it
//! can, and publishes every change of [`SessionState`] on a `tokio::sync::watch`
//! channel. It stops when its [`SessionKeeper`] handle is dropped.
//!
//! ```no_run
//! # async fn f(client: ibkr_api::Client) {
//! use std::time::Duration;
//! use ibkr_api::session::SessionState;
//!
//! let keeper = client.keep_alive(Duration::from_secs(60));
//! let mut states = keeper.subscribe();
//! while states.changed().await.is_ok() {
//!     match &*states.borrow() {
//!         SessionState::Authenticated => println!("session up"),
//!         SessionState::LoggedOut => println!("log in again in the browser"),
//!         other => println!("session: {other}"),
//!     }
//! }
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::time::Duration;

use ibkr_model::auth::{AuthStatus, Tickle};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::client::Client;
use crate::error::{Error, Result};

/// The session's state as the keeper sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Not checked yet.
    Starting,
    /// Logged in, brokerage session authenticated: everything works.
    Authenticated,
    /// Another session of the same user holds the brokerage session. The keeper
    /// takes it over only when configured to ([`KeeperConfig::compete`]).
    Competing,
    /// Logged in (SSO), but the brokerage session is down and could not be restored
    /// yet; `/iserver/*` calls fail. The keeper keeps trying.
    BrokerageDown {
        /// What the gateway or the last attempt said.
        reason: String,
    },
    /// Nobody is logged in (expired or logged out): log in again in the browser. In
    /// OAuth mode: IBKR refused the credentials or the token even after a renewal.
    LoggedOut,
    /// The gateway cannot be reached or answered with an error.
    Unreachable {
        /// The error.
        error: String,
    },
}

impl SessionState {
    /// Whether calls to every endpoint can work.
    pub fn is_authenticated(&self) -> bool {
        matches!(self, SessionState::Authenticated)
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionState::Starting => f.write_str("starting"),
            SessionState::Authenticated => f.write_str("authenticated"),
            SessionState::Competing => f.write_str("competing session"),
            SessionState::BrokerageDown { reason } => {
                write!(f, "brokerage session down ({reason})")
            }
            SessionState::LoggedOut => f.write_str("logged out"),
            SessionState::Unreachable { error } => write!(f, "unreachable ({error})"),
        }
    }
}

/// How the keeper behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeeperConfig {
    /// Time between tickles. Default 60 s.
    pub interval: Duration,
    /// Re-initialise a lost brokerage session. Default `true`.
    pub reinit: bool,
    /// Take the brokerage session over from a competing session. Default `false`:
    /// that would disconnect the user's TWS or mobile app.
    pub compete: bool,
}

impl Default for KeeperConfig {
    fn default() -> Self {
        KeeperConfig {
            interval: Duration::from_secs(60),
            reinit: true,
            compete: false,
        }
    }
}

impl KeeperConfig {
    /// The defaults with another interval.
    pub fn every(interval: Duration) -> Self {
        KeeperConfig {
            interval,
            ..KeeperConfig::default()
        }
    }

    /// Whether to re-initialise a lost brokerage session.
    pub fn reinit(mut self, yes: bool) -> Self {
        self.reinit = yes;
        self
    }

    /// Whether to take over from a competing session.
    pub fn compete(mut self, yes: bool) -> Self {
        self.compete = yes;
        self
    }
}

/// Handle of a running keeper. Dropping it stops the keeper.
#[derive(Debug)]
pub struct SessionKeeper {
    rx: watch::Receiver<SessionState>,
    task: JoinHandle<()>,
}

impl SessionKeeper {
    /// The latest state.
    pub fn state(&self) -> SessionState {
        self.rx.borrow().clone()
    }

    /// A receiver of state changes; the current state counts as seen.
    pub fn subscribe(&self) -> watch::Receiver<SessionState> {
        let mut rx = self.rx.clone();
        rx.borrow_and_update();
        rx
    }

    /// Waits until the state satisfies `f`, and returns it.
    pub async fn wait_for(&self, f: impl FnMut(&SessionState) -> bool) -> SessionState {
        let mut rx = self.rx.clone();
        match rx.wait_for(f).await {
            Ok(s) => s.clone(),
            // The task never drops its sender while the handle lives.
            Err(_) => self.state(),
        }
    }
}

impl Drop for SessionKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Client {
    /// Starts a keeper that tickles every `interval` (IBKR asks for about 60 s),
    /// re-initialises a lost brokerage session, and publishes state changes.
    /// Must be called within a Tokio runtime.
    pub fn keep_alive(&self, interval: Duration) -> SessionKeeper {
        self.keep_alive_with(KeeperConfig::every(interval))
    }

    /// Starts a keeper with the given configuration.
    pub fn keep_alive_with(&self, config: KeeperConfig) -> SessionKeeper {
        spawn(self.clone(), config)
    }
}

/// What the keeper needs from a client; a seam for testing the keeper's rules.
pub(crate) trait SessionOps: Send + Sync + 'static {
    fn tickle(&self) -> impl Future<Output = Result<Tickle>> + Send;
    fn init(&self, compete: bool) -> impl Future<Output = Result<AuthStatus>> + Send;
}

impl SessionOps for Client {
    fn tickle(&self) -> impl Future<Output = Result<Tickle>> + Send {
        self.ping_server()
    }

    fn init(&self, compete: bool) -> impl Future<Output = Result<AuthStatus>> + Send {
        self.init_brokerage_session(compete)
    }
}

pub(crate) fn spawn<O: SessionOps>(ops: O, config: KeeperConfig) -> SessionKeeper {
    let (tx, rx) = watch::channel(SessionState::Starting);
    let task = tokio::spawn(run(ops, config, tx));
    SessionKeeper { rx, task }
}

async fn run<O: SessionOps>(ops: O, config: KeeperConfig, tx: watch::Sender<SessionState>) {
    let mut ticker = tokio::time::interval(config.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let state = probe(&ops, &config, &tx).await;
        publish(&tx, state);
    }
}

fn publish(tx: &watch::Sender<SessionState>, state: SessionState) {
    tx.send_if_modified(|current| {
        if *current == state {
            return false;
        }
        tracing::info!(from = %current, to = %state, "session state changed");
        *current = state;
        true
    });
}

/// One round: tickle, then repair what can be repaired. A loss is published before
/// the repair, so subscribers learn of the gap even when the repair succeeds.
async fn probe<O: SessionOps>(
    ops: &O,
    config: &KeeperConfig,
    tx: &watch::Sender<SessionState>,
) -> SessionState {
    let tickle = match ops.tickle().await {
        Ok(t) => t,
        Err(e) => return from_error(e),
    };
    let Some(status) = tickle.auth_status() else {
        return SessionState::BrokerageDown {
            reason: "the gateway did not report the brokerage session".into(),
        };
    };
    if status.authenticated {
        return SessionState::Authenticated;
    }
    if status.competing && !config.compete {
        return SessionState::Competing;
    }
    if !config.reinit {
        return down(status);
    }
    publish(
        tx,
        if status.competing {
            SessionState::Competing
        } else {
            down(status)
        },
    );
    match ops.init(status.competing && config.compete).await {
        Ok(s) if s.authenticated => SessionState::Authenticated,
        Ok(s) if s.competing => SessionState::Competing,
        Ok(s) => down(&s),
        Err(e) => match from_error(e) {
            SessionState::Unreachable { error } => SessionState::BrokerageDown { reason: error },
            other => other,
        },
    }
}

fn down(status: &AuthStatus) -> SessionState {
    SessionState::BrokerageDown {
        reason: status.reason().unwrap_or("not authenticated").to_string(),
    }
}

fn from_error(e: Error) -> SessionState {
    match e {
        // Through OAuth, a refusal that survived a token renewal means the credentials
        // or the token are not accepted: as good as logged out, not a network problem.
        Error::NotAuthenticated { .. } | Error::OAuthRejected { .. } => SessionState::LoggedOut,
        Error::NoBrokerageSession { message, .. } => {
            SessionState::BrokerageDown { reason: message }
        }
        other => SessionState::Unreachable {
            error: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn an_oauth_refusal_is_logged_out_not_unreachable() {
        let e = Error::OAuthRejected {
            endpoint: "POST /tickle".into(),
            reason: "invalid signature".into(),
        };
        assert_eq!(from_error(e), SessionState::LoggedOut);
    }

    /// Scripted gateway: each tickle pops the next answer; init answers by rule.
    #[derive(Clone)]
    struct Fake {
        tickles: Arc<Mutex<VecDeque<Result<Tickle>>>>,
        init_answers: Arc<Mutex<VecDeque<Result<AuthStatus>>>>,
        log: Arc<Mutex<Vec<String>>>,
        /// `init` waits for a permit: a test can hold the keeper inside the repair.
        init_gate: Arc<tokio::sync::Semaphore>,
    }

    impl Default for Fake {
        fn default() -> Self {
            Fake {
                tickles: Default::default(),
                init_answers: Default::default(),
                log: Default::default(),
                init_gate: Arc::new(tokio::sync::Semaphore::new(1000)),
            }
        }
    }

    fn tickle(authenticated: bool, competing: bool) -> Result<Tickle> {
        let mut t = Tickle::new("s");
        t.iserver = Some(ibkr_model::auth::IserverStatus::new(AuthStatus::new(
            authenticated,
            competing,
            true,
        )));
        Ok(t)
    }

    fn logged_out() -> Error {
        Error::NotAuthenticated {
            endpoint: "POST /tickle".into(),
            reason: "expired".into(),
            login_url: "https://localhost:5000/".into(),
        }
    }

    impl Fake {
        fn script(&self, t: Vec<Result<Tickle>>, i: Vec<Result<AuthStatus>>) {
            self.tickles.lock().unwrap().extend(t);
            self.init_answers.lock().unwrap().extend(i);
        }
        fn log(&self) -> Vec<String> {
            self.log.lock().unwrap().clone()
        }
    }

    impl SessionOps for Fake {
        fn tickle(&self) -> impl Future<Output = Result<Tickle>> + Send {
            self.log.lock().unwrap().push("tickle".into());
            let next = self
                .tickles
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| tickle(true, false));
            async move { next }
        }
        fn init(&self, compete: bool) -> impl Future<Output = Result<AuthStatus>> + Send {
            self.log
                .lock()
                .unwrap()
                .push(format!("init(compete={compete})"));
            let next = self
                .init_answers
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Ok(AuthStatus::new(true, false, true)));
            let gate = self.init_gate.clone();
            async move {
                gate.acquire().await.expect("gate open").forget();
                next
            }
        }
    }

    const MIN: Duration = Duration::from_secs(60);

    /// Fails (in virtual time) instead of hanging when the awaited state never comes.
    async fn within<T>(f: impl Future<Output = T>) -> T {
        tokio::time::timeout(MIN * 30, f)
            .await
            .expect("the keeper did not reach the expected state")
    }

    #[tokio::test(start_paused = true)]
    async fn tickles_once_per_interval_and_reports_authenticated() {
        let fake = Fake::default();
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN));
        within(keeper.wait_for(|s| s.is_authenticated())).await;
        assert_eq!(fake.log(), ["tickle"]);
        tokio::time::sleep(MIN * 10 - Duration::from_millis(1)).await;
        assert_eq!(fake.log().len(), 10, "{:?}", fake.log());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_brokerage_session_is_reinitialised() {
        let fake = Fake {
            init_gate: Arc::new(tokio::sync::Semaphore::new(0)),
            ..Fake::default()
        };
        fake.script(
            vec![tickle(true, false), tickle(false, false)],
            vec![Ok(AuthStatus::new(true, false, true))],
        );
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN));
        let mut rx = keeper.subscribe();
        within(rx.wait_for(|s| s.is_authenticated())).await.unwrap();
        // The loss is published before the repair...
        within(rx.wait_for(|s| matches!(s, SessionState::BrokerageDown { .. })))
            .await
            .unwrap();
        // ...which then succeeds.
        fake.init_gate.add_permits(1);
        within(rx.wait_for(|s| s.is_authenticated())).await.unwrap();
        assert_eq!(fake.log(), ["tickle", "tickle", "init(compete=false)"]);
        assert_eq!(keeper.state(), SessionState::Authenticated);
    }

    #[tokio::test(start_paused = true)]
    async fn publishes_down_then_recovery() {
        let fake = Fake::default();
        let mut down_status = AuthStatus::new(false, false, true);
        down_status.message = Some("bridge reset".into());
        fake.script(
            vec![tickle(false, false), tickle(false, false)],
            vec![Ok(down_status), Ok(AuthStatus::new(true, false, true))],
        );
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN));
        let s = within(keeper.wait_for(|s| matches!(s, SessionState::BrokerageDown { .. }))).await;
        assert_eq!(
            s,
            SessionState::BrokerageDown {
                reason: "bridge reset".into()
            }
        );
        let s = within(keeper.wait_for(|s| s.is_authenticated())).await;
        assert_eq!(s, SessionState::Authenticated);
    }

    #[tokio::test(start_paused = true)]
    async fn competing_is_reported_and_not_taken_over_by_default() {
        let fake = Fake::default();
        fake.script(vec![tickle(false, true)], vec![]);
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN));
        assert_eq!(
            within(keeper.wait_for(|s| *s != SessionState::Starting)).await,
            SessionState::Competing
        );
        assert_eq!(fake.log(), ["tickle"]);
    }

    #[tokio::test(start_paused = true)]
    async fn competing_is_taken_over_when_asked() {
        let fake = Fake::default();
        fake.script(vec![tickle(false, true)], vec![]);
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN).compete(true));
        within(keeper.wait_for(|s| s.is_authenticated())).await;
        assert_eq!(fake.log(), ["tickle", "init(compete=true)"]);
    }

    #[tokio::test(start_paused = true)]
    async fn logged_out_and_unreachable_are_told_apart() {
        let fake = Fake::default();
        fake.script(
            vec![
                Err(logged_out()),
                Err(Error::Timeout {
                    endpoint: "POST /tickle".into(),
                    after: Duration::from_secs(30),
                }),
            ],
            vec![],
        );
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN));
        within(keeper.wait_for(|s| *s == SessionState::LoggedOut)).await;
        let s = within(keeper.wait_for(|s| matches!(s, SessionState::Unreachable { .. }))).await;
        assert!(s.to_string().contains("no answer within 30s"), "{s}");
        within(keeper.wait_for(|s| s.is_authenticated())).await;
    }

    #[tokio::test(start_paused = true)]
    async fn without_reinit_the_keeper_only_reports() {
        let fake = Fake::default();
        fake.script(vec![tickle(false, false)], vec![]);
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN).reinit(false));
        let s = within(keeper.wait_for(|s| *s != SessionState::Starting)).await;
        assert!(matches!(s, SessionState::BrokerageDown { .. }));
        assert_eq!(fake.log(), ["tickle"]);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_handle_stops_the_keeper() {
        let fake = Fake::default();
        let keeper = spawn(fake.clone(), KeeperConfig::every(MIN));
        within(keeper.wait_for(|s| s.is_authenticated())).await;
        drop(keeper);
        tokio::time::sleep(MIN * 5).await;
        assert_eq!(fake.log(), ["tickle"]);
    }
}
