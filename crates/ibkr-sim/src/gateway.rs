//! The gateway: shared state, routes, and the handle users hold.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use crate::config::GatewayConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::faults::{Fault, FaultKind, FaultQueue, RandomFaults};
use crate::http::error_body;
use crate::pacing::{Enforcer, Refusal};
use crate::session::{SessionMachine, SessionSnapshot};
use crate::{
    accounts, auth, contracts, control, login, market, market_data, portfolio, server, tls,
};

/// State shared by every request.
pub(crate) type Shared = Arc<Inner>;

pub(crate) struct Inner {
    pub config: GatewayConfig,
    session: Mutex<SessionMachine>,
    faults: Mutex<FaultQueue>,
    random_faults: Mutex<Option<(RandomFaults, StdRng)>>,
    enforcer: Option<Arc<Enforcer>>,
    pub market: market::Market,
    /// The paper broker: accounts, cash, positions.
    pub broker: Mutex<crate::broker::Broker>,
}

impl Inner {
    /// The session, with the idle timeout applied as of now.
    pub fn session(&self) -> MutexGuard<'_, SessionMachine> {
        let mut m = self.session.lock().unwrap_or_else(|p| p.into_inner());
        m.expire_if_idle(Instant::now());
        m
    }

    pub fn broker(&self) -> MutexGuard<'_, crate::broker::Broker> {
        self.broker.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> SessionSnapshot {
        self.session().snapshot(Instant::now())
    }

    /// The fault for this request: a queued one first, else a random draw.
    fn fault_for(&self, api_path: &str) -> Option<FaultKind> {
        if let Some(f) = self.faults().take(api_path) {
            return Some(f);
        }
        let mut random = self.random_faults.lock().unwrap_or_else(|p| p.into_inner());
        let (faults, rng) = random.as_mut()?;
        faults.pick(rng.random::<f64>())
    }

    pub fn set_random_faults(&self, faults: Option<RandomFaults>, seed: u64) {
        *self.random_faults.lock().unwrap_or_else(|p| p.into_inner()) =
            faults.map(|f| (f, StdRng::seed_from_u64(seed)));
    }

    /// A gateway restart: every session and every rate-limit record is gone; with
    /// auto-login the configured user is logged in again.
    pub fn restart(&self) {
        let mut m = self.session();
        m.expire();
        if self.config.auto_login {
            m.login(&self.config.username, Instant::now());
        }
        drop(m);
        if let Some(e) = &self.enforcer {
            e.reset();
        }
        tracing::info!("gateway restarted: sessions dropped");
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another gateway running there? pick another port, or port 0 for any free one)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
    /// The configuration is inconsistent (e.g. the broker's accounts).
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// The TLS certificate could not be made.
    #[error("cannot make the gateway's TLS certificate: {0}")]
    Tls(String),
}

/// A running simulated gateway. Dropping it stops the server;
/// [`Gateway::shutdown`] stops it gracefully and waits.
pub struct Gateway {
    shared: Shared,
    addr: SocketAddr,
    tls: bool,
    cert_pem: Option<String>,
    fingerprint: Option<String>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("url", &self.url().as_str())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Binds the listen address and starts serving in the background.
    pub async fn start(config: GatewayConfig) -> Result<Gateway, StartError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let identity = if config.tls {
            Some(tls::self_signed().map_err(StartError::Tls)?)
        } else {
            None
        };
        let mut machine = SessionMachine::new(config.idle_timeout);
        if config.auto_login {
            machine.login(&config.username, Instant::now());
        }
        let enforcer = config
            .pacing
            .clone()
            .map(|t| Arc::new(Enforcer::new(t, config.penalty)));
        let market = market::Market::new(config.seed, config.market_time);
        let broker = crate::broker::Broker::new(config.broker.clone(), &market.universe)
            .map_err(|e| StartError::Config(e.to_string()))?;
        let random_faults = config
            .faults
            .clone()
            .map(|f| (f, StdRng::seed_from_u64(config.seed)));
        let shared: Shared = Arc::new(Inner {
            config,
            session: Mutex::new(machine),
            faults: Mutex::new(FaultQueue::default()),
            random_faults: Mutex::new(random_faults),
            enforcer,
            market,
            broker: Mutex::new(broker),
        });
        let app = router(shared.clone());
        let (stop, stopped) = watch::channel(false);
        let acceptor = identity
            .as_ref()
            .map(|i| tokio_rustls::TlsAcceptor::from(i.config.clone()));
        let task = tokio::spawn(server::serve(listener, acceptor, app, stopped));
        let gw = Gateway {
            shared,
            addr,
            tls: identity.is_some(),
            fingerprint: identity.as_ref().map(|i| tls::fingerprint(&i.cert_der)),
            cert_pem: identity.map(|i| i.cert_pem),
            stop,
            task: Some(task),
        };
        tracing::info!(url = %gw.url(), "gateway simulator listening");
        Ok(gw)
    }

    /// The gateway's root, e.g. `https://127.0.0.1:5000/` (the login page).
    pub fn url(&self) -> Url {
        let scheme = if self.tls { "https" } else { "http" };
        let host = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
            ip if ip.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            std::net::IpAddr::V4(v4) => v4.to_string(),
        };
        Url::parse(&format!("{scheme}://{host}:{}/", self.addr.port())).expect("valid URL")
    }

    /// The API base, `<url>/v1/api`.
    pub fn api_url(&self) -> Url {
        self.url().join("v1/api").expect("valid URL")
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The self-signed certificate (PEM), when serving HTTPS.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// SHA-256 fingerprint of the certificate, `AB:CD:...`, when serving HTTPS.
    pub fn certificate_fingerprint(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }

    /// The session's state now.
    pub fn state(&self) -> SessionSnapshot {
        self.shared.snapshot()
    }

    /// Logs the configured user in, as the login page would.
    pub fn login(&self) {
        let user = self.shared.config.username.clone();
        self.shared.session().login(&user, Instant::now());
    }

    /// Ends the SSO session as an idle timeout would: clients get 401 until a new login.
    pub fn expire_session(&self) {
        self.shared.session().expire();
    }

    /// Drops the brokerage session only (as IBKR's nightly reset does); the SSO session
    /// lives on, so `/iserver/reauthenticate` or `ssodh/init` brings it back.
    /// Returns `false` when nobody is logged in.
    pub fn drop_brokerage_session(&self) -> bool {
        self.shared.session().drop_brokerage().is_ok()
    }

    /// Another login of the same user takes the brokerage session (`competing: true`).
    /// Returns `false` when nobody is logged in.
    pub fn start_competing_session(&self) -> bool {
        self.shared.session().start_competing().is_ok()
    }

    /// Queues a fault for the next matching requests.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    /// Removes pending faults, queued and random.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
        self.shared.set_random_faults(None, 0);
    }

    /// Injects faults at random into a share of answers from now on, drawn from
    /// `seed` (`None`: stop).
    pub fn set_random_faults(&self, faults: Option<RandomFaults>, seed: u64) {
        self.shared.set_random_faults(faults, seed);
    }

    /// Simulates a gateway restart: every session is dropped (clients get 401 until a
    /// new login; with auto-login the configured user is logged in again at once) and
    /// rate-limit records are forgotten.
    pub fn restart(&self) {
        self.shared.restart();
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn router(shared: Shared) -> Router {
    let api = Router::new()
        .route("/iserver/auth/status", get(auth::status).post(auth::status))
        .route("/iserver/auth/ssodh/init", post(auth::ssodh_init))
        .route("/iserver/reauthenticate", post(auth::reauthenticate))
        .route("/tickle", get(auth::tickle).post(auth::tickle))
        .route("/sso/validate", get(auth::sso_validate))
        .route("/logout", post(auth::logout))
        .route("/iserver/accounts", get(accounts::accounts))
        .route("/portfolio/accounts", get(portfolio::accounts))
        .route("/portfolio/{accountId}/summary", get(portfolio::summary))
        .route("/portfolio/{accountId}/ledger", get(portfolio::ledger))
        .route("/portfolio/{accountId}/meta", get(portfolio::meta))
        .route("/portfolio/subaccounts", get(portfolio::subaccounts))
        .route(
            "/portfolio/{accountId}/allocation",
            get(portfolio::allocation),
        )
        .route(
            "/portfolio/{accountId}/positions/{pageId}",
            get(portfolio::positions),
        )
        .route(
            "/iserver/secdef/search",
            get(contracts::search_get).post(contracts::search_post),
        )
        .route("/iserver/secdef/strikes", get(contracts::strikes))
        .route("/iserver/secdef/info", get(contracts::secdef_info))
        .route(
            "/iserver/contract/{conid}/info",
            get(contracts::contract_info),
        )
        .route("/iserver/currency/pairs", get(contracts::currency_pairs))
        .route("/iserver/exchangerate", get(contracts::exchange_rate))
        .route("/trsrv/stocks", get(contracts::trsrv_stocks))
        .route("/trsrv/futures", get(contracts::trsrv_futures))
        .route("/trsrv/secdef", get(contracts::trsrv_secdef))
        .route(
            "/contract/trading-schedule",
            get(contracts::trading_schedule),
        )
        .route(
            "/iserver/contract/{conid}/info-and-rules",
            get(contracts::info_and_rules),
        )
        .route("/iserver/contract/rules", post(contracts::contract_rules))
        .route("/iserver/contract/{conid}/algos", get(contracts::algos))
        .route("/trsrv/all-conids", get(contracts::all_conids))
        .route("/trsrv/secdef/schedule", get(contracts::secdef_schedule))
        .route("/iserver/secdef/bond-filters", get(contracts::bond_filters))
        .route("/iserver/marketdata/snapshot", get(market_data::snapshot))
        .route("/iserver/marketdata/history", get(market_data::history))
        .route(
            "/iserver/marketdata/unsubscribe",
            post(market_data::unsubscribe),
        )
        .route(
            "/iserver/marketdata/unsubscribeall",
            get(market_data::unsubscribe_all),
        )
        .fallback(auth::fallback)
        .method_not_allowed_fallback(auth::fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), api_guard));
    Router::new()
        .nest("/v1/api", api)
        .nest("/sim", control::routes())
        .merge(login::routes())
        .layer(middleware::from_fn_with_state(shared.clone(), allow_guard))
        .with_state(shared)
}

/// The gateway's `ips.allow`: other addresses get 403.
async fn allow_guard(State(gw): State<Shared>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) if gw.config.allow.allows(ip) => next.run(req).await,
        _ => {
            tracing::warn!(?peer, "refused: address not in the allow list");
            (StatusCode::FORBIDDEN, "Access Denied").into_response()
        }
    }
}

/// What the gateway checks on every API request, then idle-clock and faults.
async fn api_guard(State(gw): State<Shared>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if gw.config.require_user_agent && !headers.contains_key(header::USER_AGENT) {
        return error_body(
            StatusCode::FORBIDDEN,
            "Access Denied: requests need a User-Agent header",
        );
    }
    if gw.config.require_content_length && req.method() == Method::POST && !has_length(headers) {
        return error_body(
            StatusCode::LENGTH_REQUIRED,
            "Length Required: a POST needs a Content-Length header (curl: add -d '' or --data '{}')",
        );
    }
    let path = req.uri().path().trim_start_matches("/v1/api").to_string();
    let _in_flight = match &gw.enforcer {
        Some(enforcer) => {
            let ip = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
            match enforcer.admit(ip, &path, Instant::now()) {
                Ok(slot) => slot,
                Err(refusal) => return too_many_requests(refusal, gw.config.penalty),
            }
        }
        None => None,
    };
    gw.session().touch(Instant::now());
    let fault = gw.fault_for(&path);
    match fault {
        None => next.run(req).await,
        Some(FaultKind::Delay { ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Some(FaultKind::Drop) => {
            let resp = next.run(req).await;
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            // Announce the whole length, send half, then break the connection.
            let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected fault: connection dropped",
                )),
            ];
            let mut resp = Response::from_parts(
                parts,
                axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
            );
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, bytes.len().into());
            resp
        }
        Some(FaultKind::Status { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_body(status, "Service Unavailable (injected fault)")
        }
        Some(FaultKind::ErrorBody { message }) => (
            StatusCode::OK,
            axum::Json(ibkr_model::error::ErrorResponse::new(message, None)),
        )
            .into_response(),
        Some(kind) => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let mangled: Vec<u8> = match kind {
                FaultKind::TruncatedJson => bytes[..bytes.len() / 2].to_vec(),
                _ => b"<html><body>Internal error</body></html>{".to_vec(),
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(mangled))
        }
    }
}

fn too_many_requests(refusal: Refusal, penalty: std::time::Duration) -> Response {
    let message = match refusal {
        Refusal::OverLimit(class) => format!(
            "Too Many Requests: over the rate limit of {}; this address is in the penalty box for {}s",
            class.map(|c| c.name()).unwrap_or("the gateway (global)"),
            penalty.as_secs()
        ),
        Refusal::PenaltyBox(left) => format!(
            "Too Many Requests: this address is in the penalty box for {}s more",
            left.as_secs() + 1
        ),
    };
    tracing::warn!("{message}");
    error_body(StatusCode::TOO_MANY_REQUESTS, &message)
}

fn has_length(h: &HeaderMap) -> bool {
    h.contains_key(header::CONTENT_LENGTH) || h.contains_key(header::TRANSFER_ENCODING)
}
