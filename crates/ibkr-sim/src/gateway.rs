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
    accounts, auth, contracts, control, login, market, market_data, orders, portfolio, server, tls,
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
    /// The order desk: the matching engine, pending order replies, recent events.
    /// Lock it before the broker, never while holding the broker.
    orders: Mutex<orders::Desk>,
    /// The WebSocket endpoint's sockets, settings and control switches.
    pub ws: crate::ws::Hub,
    /// IBKR's OAuth server, when the simulator plays `api.ibkr.com`.
    oauth: Option<Mutex<crate::oauth::ServerOAuth>>,
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

    /// The order desk (lock before [`broker`](Self::broker), never after).
    pub fn desk(&self) -> MutexGuard<'_, orders::Desk> {
        self.orders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the matching engine to the market's time now, so that fills are booked
    /// before anything reads the broker. Handlers that value accounts call it first
    /// (it locks the desk and the broker: call it holding neither).
    pub fn advance_orders(&self) {
        let mut desk = self.desk();
        let mut broker = self.broker();
        desk.advance(self.market.now(), &self.market.engine, &mut broker);
    }

    /// The OAuth server, in OAuth mode. Lock it holding no other lock.
    pub fn oauth(&self) -> Option<MutexGuard<'_, crate::oauth::ServerOAuth>> {
        self.oauth
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
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
        if !faults.applies_to(api_path) {
            return None;
        }
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
        if self.config.auto_login && self.config.oauth.is_none() {
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
    ticker: Option<JoinHandle<()>>,
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
        let oauth = config
            .oauth
            .as_ref()
            .map(|o| o.server().map(Mutex::new))
            .transpose()
            .map_err(StartError::Config)?;
        let mut machine = SessionMachine::new(config.idle_timeout);
        // In OAuth mode nobody logs in through a browser: a live session token opens
        // the SSO session.
        if config.auto_login && oauth.is_none() {
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
        let desk = orders::Desk::new();
        let tick = config.order_tick.max(std::time::Duration::from_millis(10));
        let shared: Shared = Arc::new(Inner {
            config,
            session: Mutex::new(machine),
            faults: Mutex::new(FaultQueue::default()),
            random_faults: Mutex::new(random_faults),
            enforcer,
            market,
            broker: Mutex::new(broker),
            orders: Mutex::new(desk),
            ws: crate::ws::Hub::default(),
            oauth,
        });
        let app = router(shared.clone());
        let (stop, stopped) = watch::channel(false);
        let ticker = tokio::spawn(orders::run_ticker(shared.clone(), stop.subscribe(), tick));
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
            ticker: Some(ticker),
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

    /// The shared state (for the methods other modules add to the handle).
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
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

    /// In OAuth mode, makes every live session token issued so far expire now
    /// (`POST /sim/oauth/expire`): requests signed with one are refused 401 "Access
    /// token expired" until the client asks for a new one. Returns how many were
    /// live; `None` when the simulator is not in OAuth mode.
    pub fn oauth_expire_tokens(&self) -> Option<usize> {
        let live = self
            .shared
            .oauth()?
            .expire_sessions(std::time::SystemTime::now());
        tracing::info!(live, "OAuth: live session tokens expired");
        Some(live)
    }

    /// In OAuth mode, how many live session tokens were issued since start
    /// (renewals included); `None` otherwise.
    pub fn oauth_tokens_issued(&self) -> Option<u64> {
        Some(self.shared.oauth()?.tokens_issued())
    }

    /// In OAuth mode, the live session token issued to this consumer's access token
    /// (base64), for tests that check that a client never reveals it.
    pub fn oauth_issued_token(&self, consumer_key: &str, access_token: &str) -> Option<String> {
        self.shared
            .oauth()?
            .issued_token(consumer_key, access_token)
            .map(|t| t.as_str().to_owned())
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

    /// Every order the simulator holds, of every account, in id order: working, filled,
    /// cancelled and inactive. It reads the book as it stands, without matching
    /// (working orders move on in the background and at every order request), so
    /// tests can check that an order was placed exactly once.
    pub fn orders(&self) -> Vec<crate::matching::Order> {
        let accounts: Vec<String> = self
            .shared
            .broker()
            .accounts()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let desk = self.shared.desk();
        let mut all: Vec<crate::matching::Order> = accounts
            .iter()
            .flat_map(|a| desk.engine().orders(a))
            .cloned()
            .collect();
        all.sort_by_key(|o| o.id);
        all
    }

    /// The order events (status changes and fills) from now on, as the matching engine
    /// reports them. A receiver that falls more than 1024 events behind loses the
    /// oldest ([`tokio::sync::broadcast`]'s rule).
    pub fn order_events(&self) -> tokio::sync::broadcast::Receiver<crate::matching::Event> {
        self.shared.desk().subscribe()
    }

    /// The most recent order events (at most 4096), oldest first.
    pub fn recent_order_events(&self) -> Vec<crate::matching::Event> {
        self.shared.desk().recent_events()
    }

    /// Matches working orders up to the market's time now (the simulator also does it
    /// in the background and on every order, portfolio and account request).
    pub fn advance_orders(&self) {
        self.shared.advance_orders();
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn router(shared: Shared) -> Router {
    // OAuth mode only: the live session token endpoint.
    let api = crate::oauth_http::routes(Router::new(), &shared.config);
    let api = api
        .route("/iserver/auth/status", get(auth::status).post(auth::status))
        .route("/iserver/auth/ssodh/init", post(auth::ssodh_init))
        .route("/iserver/reauthenticate", post(auth::reauthenticate))
        .route("/tickle", get(auth::tickle).post(auth::tickle))
        .route("/sso/validate", get(auth::sso_validate))
        .route("/logout", post(auth::logout))
        .route("/iserver/accounts", get(accounts::accounts))
        .route("/iserver/account", post(accounts::switch))
        .route("/iserver/dynaccount", post(accounts::dynaccount))
        .route("/iserver/account/search/{pattern}", get(accounts::search))
        .route(
            "/iserver/account/{accountId}/summary",
            get(accounts::summary),
        )
        .route(
            "/iserver/account/{accountId}/summary/available_funds",
            get(accounts::available_funds),
        )
        .route(
            "/iserver/account/{accountId}/summary/balances",
            get(accounts::balances),
        )
        .route(
            "/iserver/account/{accountId}/summary/margins",
            get(accounts::margins),
        )
        .route(
            "/iserver/account/{accountId}/summary/market_value",
            get(accounts::market_value),
        )
        .route(
            "/iserver/account/pnl/partitioned",
            get(accounts::pnl_partitioned),
        )
        .route(
            "/acesws/{accountId}/signatures-and-owners",
            get(accounts::signatures_and_owners),
        )
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
        .route("/portfolio/subaccounts2", get(portfolio::subaccounts2))
        .route(
            "/portfolio/allocation",
            post(portfolio::allocation_for_accounts),
        )
        .route(
            "/portfolio2/{accountId}/positions",
            get(portfolio::positions2),
        )
        .route(
            "/portfolio/{accountId}/position/{conid}",
            get(portfolio::position),
        )
        .route(
            "/portfolio/positions/{conid}",
            get(portfolio::positions_by_conid),
        )
        .route(
            "/portfolio/{accountId}/positions/invalidate",
            post(portfolio::invalidate_positions),
        )
        .route(
            "/portfolio/{accountId}/combo/positions",
            get(portfolio::combo_positions),
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
        .route("/iserver/account/{accountId}/orders", post(orders::place))
        .route(
            "/iserver/account/orders/{faGroup}",
            post(orders::place_group),
        )
        .route("/iserver/reply/{replyId}", post(orders::reply))
        .route(
            "/iserver/account/{accountId}/orders/whatif",
            post(orders::whatif),
        )
        .route(
            "/iserver/account/{accountId}/order/{orderId}",
            post(orders::modify).delete(orders::cancel),
        )
        .route("/iserver/account/orders", get(orders::live_orders))
        .route(
            "/iserver/account/order/status/{orderId}",
            get(orders::status),
        )
        .route("/iserver/account/trades", get(orders::trades))
        .route("/iserver/questions/suppress", post(orders::suppress))
        .route(
            "/iserver/questions/suppress/reset",
            post(orders::suppress_reset),
        )
        .route("/iserver/notification", post(orders::notification))
        .route("/pa/performance", post(crate::pa::performance))
        .route("/pa/allperiods", post(crate::pa::all_periods))
        .route("/pa/transactions", post(crate::pa::transactions))
        .route("/ws", get(crate::ws::upgrade))
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
    // OAuth mode: a request that fails the signature checks goes no further.
    if let Some(refused) = crate::oauth_http::check(&gw, &req) {
        return refused;
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
        Some(FaultKind::StatusAfterProcessing { status }) => {
            // The handler runs to the end (an order is booked), then the answer is lost.
            let resp = next.run(req).await;
            let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            error_body(
                status,
                "Service Unavailable (injected fault after the request was processed)",
            )
        }
        Some(FaultKind::SlowAfterProcessing { ms }) => {
            let resp = next.run(req).await;
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Response::from_parts(parts, axum::body::Body::from(bytes))
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
