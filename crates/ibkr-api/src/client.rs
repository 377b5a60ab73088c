//! The client, its builder, and the request path every call goes through.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use ibkr_model::error::ErrorResponse;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use tokio::time::Instant;

use crate::endpoint::Endpoint;
use crate::error::{Error, Result, snippet};
use crate::oauth::OAuthConfig;
use crate::oauth::session::OAuthSession;
use crate::pacing::{Pacer, PacingClass, PacingMetrics, PacingStore, PacingTable};
use crate::retry::{self, Decision, Outcome, RetryPolicy};
use crate::tls::{self, Pin, Policy};

/// The gateway's default address (the Client Portal Gateway's `conf.yaml`).
pub const DEFAULT_GATEWAY: &str = "https://localhost:5000";
/// The API's base path under the gateway.
pub const DEFAULT_BASE_PATH: &str = "/v1/api";

const SNIPPET: usize = 240;

/// A client of the Client Portal Web API. Cheap to clone: clones share one
/// connection pool and cookie store.
///
/// ```no_run
/// # async fn f() -> ibkr_api::Result<()> {
/// let client = ibkr_api::Client::builder()
///     .gateway("https://localhost:5000")
///     .build()?;
/// let status = client.check_auth_status().await?;
/// println!("authenticated: {}", status.authenticated);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// How long a call may wait for its turn under the rate limits; unbounded if `None`.
    max_wait: Option<Duration>,
    /// Whether a slow-limit read may be answered from a recent identical read.
    cached_reads: bool,
}

struct Inner {
    http: reqwest::Client,
    gateway: Url,
    base: Url,
    timeout: Duration,
    reauth_timeout: Duration,
    pacer: Pacer,
    retry: RetryPolicy,
    penalty: Duration,
    cache: Mutex<HashMap<String, (Instant, Bytes)>>,
    /// Whether `/iserver/accounts` was called (IBKR requires it once per session).
    accounts_primed: AtomicBool,
    /// How the WebSocket connects (TLS policy, user agent, host overrides).
    transport: crate::streaming::Transport,
    /// OAuth 1.0a instead of the gateway's browser session.
    oauth: Option<OAuthSession>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No cookies, no tokens.
        f.debug_struct("Client")
            .field("gateway", &self.inner.gateway.as_str())
            .field("oauth", &self.inner.oauth.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    gateway: String,
    /// Whether `gateway` was set (in OAuth mode, it replaces the configuration's
    /// base URL).
    gateway_set: bool,
    base_path: String,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    reauth_timeout: Duration,
    pin: Option<String>,
    danger_accept_invalid_certs: bool,
    resolve: Vec<(String, std::net::SocketAddr)>,
    pacing: PacingTable,
    /// Whether `pacing` was set (OAuth mode otherwise keeps [`PacingTable::oauth`]).
    pacing_set: bool,
    pacing_store: Option<Arc<dyn PacingStore>>,
    retry: RetryPolicy,
    penalty: Duration,
    max_wait: Option<Duration>,
    oauth: Option<OAuthConfig>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            gateway: DEFAULT_GATEWAY.into(),
            gateway_set: false,
            base_path: DEFAULT_BASE_PATH.into(),
            user_agent: concat!("ibkr-rs/", env!("CARGO_PKG_VERSION")).into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            reauth_timeout: Duration::from_secs(20),
            pin: None,
            danger_accept_invalid_certs: false,
            resolve: Vec::new(),
            pacing: PacingTable::gateway(),
            pacing_set: false,
            pacing_store: None,
            retry: RetryPolicy::default(),
            penalty: Duration::from_secs(600),
            max_wait: None,
            oauth: None,
        }
    }
}

impl ClientBuilder {
    /// The gateway's address, e.g. `https://localhost:5000` (the default). A URL that
    /// already ends with the base path (`.../v1/api`) is accepted too.
    pub fn gateway(mut self, url: impl Into<String>) -> Self {
        self.gateway = url.into();
        self.gateway_set = true;
        self
    }

    /// Talks OAuth 1.0a to IBKR's API (`https://api.ibkr.com/v1/api`, or the
    /// configuration's `base_url`; [`gateway`](Self::gateway) overrides it) instead
    /// of going through a gateway's browser session. Every call is the same; the
    /// client obtains the live session token when first needed, signs every request
    /// with it, renews it ahead of its expiry and after a 401 of the OAuth layer,
    /// and opens the brokerage session before the first `/iserver/*` call. The rate
    /// limits become [`PacingTable::oauth`] (50 requests/s) unless
    /// [`pacing`](Self::pacing) sets others. See `docs/how-to/oauth.md`.
    pub fn oauth(mut self, config: OAuthConfig) -> Self {
        self.oauth = Some(config);
        self
    }

    /// The API's base path under the gateway; `/v1/api` by default.
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// The `User-Agent` sent (the gateway refuses requests without one).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Time allowed for a whole request; 30 s by default.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Time allowed to connect; 10 s by default.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// How long [`Client::handle_reauthentication`] waits for the brokerage session
    /// to come back; 20 s by default.
    pub fn reauth_timeout(mut self, t: Duration) -> Self {
        self.reauth_timeout = t;
        self
    }

    /// Trusts exactly the certificate with this SHA-256 fingerprint (64 hex digits,
    /// colons allowed), on any host: for a gateway on another machine that keeps its
    /// self-signed certificate.
    pub fn pin_certificate_sha256(mut self, fingerprint: impl Into<String>) -> Self {
        self.pin = Some(fingerprint.into());
        self
    }

    /// Accepts any certificate, on any host. Anyone on the network path can then read
    /// and change the traffic, session cookie included. Prefer a pin.
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.danger_accept_invalid_certs = yes;
        self
    }

    /// Connects to `addr` whenever the gateway's host is `host`, bypassing DNS: for a
    /// gateway known by a name that DNS does not resolve (a container, a tunnel).
    /// The certificate is still checked against `host`.
    pub fn resolve(mut self, host: impl Into<String>, addr: std::net::SocketAddr) -> Self {
        self.resolve.push((host.into(), addr));
        self
    }

    /// The rate limits to keep; IBKR's gateway limits by default
    /// ([`PacingTable::gateway`]). Use [`PacingTable::oauth`] for `api.ibkr.com`,
    /// or edit a table to override single entries.
    pub fn pacing(mut self, table: PacingTable) -> Self {
        self.pacing = table;
        self.pacing_set = true;
        self
    }

    /// Shares rate reservations with other processes through `store` (e.g. a
    /// [`FilePacingStore`](crate::pacing::FilePacingStore)), so that they pace together.
    pub fn pacing_store(mut self, store: Arc<dyn PacingStore>) -> Self {
        self.pacing_store = Some(store);
        self
    }

    /// How idempotent requests are retried; see [`crate::retry`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long a 429 holds requests (IBKR's penalty box: 10 minutes, the default),
    /// unless the gateway says otherwise with `Retry-After`.
    pub fn penalty(mut self, hold: Duration) -> Self {
        self.penalty = hold;
        self
    }

    /// The longest a call may wait for its turn under the rate limits; by default it
    /// waits as long as needed. A call whose turn would come later fails at once with
    /// [`Error::WouldWait`] (or [`Error::RateLimited`] after a 429), sending nothing.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = Some(wait);
        self
    }

    /// Builds the client. Fails on a malformed URL or pin.
    pub fn build(self) -> Result<Client> {
        let address = match &self.oauth {
            Some(config) if !self.gateway_set => config.base_url(),
            _ => self.gateway.as_str(),
        };
        let gateway = parse_gateway(address, &self.base_path)?;
        let pacing = match &self.oauth {
            Some(_) if !self.pacing_set => PacingTable::oauth(),
            _ => self.pacing,
        };
        let base_path = format!("{}/", self.base_path.trim_matches('/'));
        let base = gateway
            .join(&base_path)
            .map_err(|e| Error::Config(format!("base path `{}`: {e}", self.base_path)))?;
        let mut http = reqwest::Client::builder()
            .cookie_store(true)
            .user_agent(self.user_agent.clone())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(50));
        for (host, addr) in &self.resolve {
            http = http.resolve(host, *addr);
        }
        // Always a configured TLS backend, even for an `http://` gateway: reqwest
        // would otherwise look for a process-wide rustls crypto provider, which this
        // crate does not install.
        let policy = match (&self.pin, self.danger_accept_invalid_certs) {
            _ if gateway.scheme() != "https" => Policy::Verify,
            (_, true) => Policy::Danger,
            (Some(p), false) => Policy::Pinned(Pin::parse(p)?),
            (None, false) if tls::is_loopback(&gateway) => Policy::Loopback,
            (None, false) => Policy::Verify,
        };
        let tls_config = tls::client_config(policy)?;
        // The WebSocket connects with the same TLS policy as the requests.
        let transport = crate::streaming::Transport {
            tls: Arc::new(tls_config.clone()),
            user_agent: self.user_agent.clone(),
            resolve: self.resolve.clone(),
            connect_timeout: self.connect_timeout,
        };
        http = http.tls_backend_preconfigured(tls_config);
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                gateway,
                base,
                timeout: self.timeout,
                reauth_timeout: self.reauth_timeout,
                pacer: Pacer::new(pacing, self.pacing_store),
                retry: self.retry,
                penalty: self.penalty,
                cache: Mutex::new(HashMap::new()),
                accounts_primed: AtomicBool::new(false),
                transport,
                oauth: self.oauth.map(OAuthSession::new),
            }),
            max_wait: self.max_wait,
            cached_reads: false,
        })
    }
}

fn parse_gateway(s: &str, base_path: &str) -> Result<Url> {
    let s = s.trim();
    let with_scheme = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| {
        Error::Config(format!(
            "gateway address `{s}` is not a URL ({e}); expected e.g. https://localhost:5000"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "gateway address `{s}`: the scheme must be https (or http), not {}",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(Error::Config(format!("gateway address `{s}` has no host")));
    }
    let path = url.path().trim_end_matches('/').to_string();
    let base = base_path.trim_end_matches('/');
    let root = path.strip_suffix(base).unwrap_or(&path).to_string();
    url.set_path(&format!("{root}/"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

impl Client {
    /// A builder with the defaults: `https://localhost:5000`, `/v1/api`.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client of the gateway at `url` with the other defaults.
    pub fn new(url: impl Into<String>) -> Result<Client> {
        Client::builder().gateway(url).build()
    }

    /// The gateway's root URL; its login page.
    pub fn gateway_url(&self) -> &Url {
        &self.inner.gateway
    }

    /// The API's base URL, e.g. `https://localhost:5000/v1/api/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub(crate) fn accounts_primed(&self) -> &AtomicBool {
        &self.inner.accounts_primed
    }

    pub(crate) fn stream_transport(&self) -> &crate::streaming::Transport {
        &self.inner.transport
    }

    pub(crate) fn reauth_timeout(&self) -> Duration {
        self.inner.reauth_timeout
    }

    /// The OAuth session, in OAuth mode.
    pub(crate) fn oauth_session(&self) -> Option<&OAuthSession> {
        self.inner.oauth.as_ref()
    }

    /// The HTTP client (connection pool, cookies, TLS).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Calls any endpoint and returns its JSON as it came: the way to reach an
    /// endpoint this library does not type yet. The path is relative to the base
    /// path, e.g. `/iserver/accounts`. Errors are mapped as for typed calls.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        self.call(Endpoint::Raw, method, path, body).await
    }

    /// This client with another bound on the wait for a turn under the rate limits
    /// (`None`: wait as long as needed). Shares everything else with `self`.
    pub fn with_max_wait(&self, wait: Option<Duration>) -> Client {
        Client {
            max_wait: wait,
            ..self.clone()
        }
    }

    /// This client, answering reads of slowly-limited endpoints (1 per 5 s and slower,
    /// e.g. live orders, `/sso/validate`) from an identical read younger than the
    /// limit's interval instead of waiting for the next turn.
    pub fn with_cached_reads(&self, yes: bool) -> Client {
        Client {
            cached_reads: yes,
            ..self.clone()
        }
    }

    /// The rate limits this client keeps.
    pub fn pacing_table(&self) -> &PacingTable {
        self.inner.pacer.table()
    }

    /// Counters of the pacing layer: requests sent, time waited, retries and 429s, per
    /// class.
    pub fn pacing_metrics(&self) -> PacingMetrics {
        self.inner.pacer.metrics()
    }

    /// Sends a request and decodes the answer: waits its turn under the rate limits,
    /// retries what may be retried, and maps failures to [`Error`]. Every call of the
    /// library goes here.
    pub(crate) async fn call<B, T>(
        &self,
        endpoint: Endpoint,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let label = format!("{method} {path}");
        let url = self
            .inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::Config(format!("path `{path}`: {e}")))?;
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Config(format!("{label}: cannot encode the body: {e}")))?;
        let class = PacingClass::of_path(path);
        let idempotent = endpoint.is_idempotent(&method);
        // Reads of slowly-limited endpoints are remembered, for callers that accept
        // a recent answer instead of waiting (`with_cached_reads`).
        let cache_for = self.cache_window(class, idempotent && body.is_none());
        if let Some(window) = cache_for.filter(|_| self.cached_reads)
            && let Some(bytes) = self.cached(&label, window)
        {
            tracing::debug!(request = %masked(&label), "answered from a read younger than {window:?}");
            return decode(&label, &bytes);
        }
        // OAuth: the first `/iserver/*` call after a new token opens the brokerage
        // session.
        if self.inner.oauth.is_some() {
            self.oauth_before_call(path).await?;
        }
        let deadline = self.max_wait.map(|w| Instant::now() + w);
        let mut attempt = 0u32;
        // OAuth: one new live session token per call, after a 401 of the OAuth layer.
        let mut renewed = false;
        loop {
            let admission = self
                .inner
                .pacer
                .admit(class, deadline)
                .await
                .map_err(|wait| self.would_wait(&label, class, wait))?;
            self.inner.pacer.count(class, |m| m.sent += 1);
            let sent_at = Instant::now();
            let result = self
                .send_once(&label, path, &method, url.clone(), body.as_deref())
                .await;
            drop(admission);
            let result = result.and_then(|bytes| {
                let value = decode::<T>(&label, &bytes)?;
                Ok((value, bytes))
            });
            let err = match result {
                Ok((value, bytes)) => {
                    if cache_for.is_some() {
                        self.store_cached(&label, bytes);
                    }
                    return Ok(value);
                }
                Err(e) => e,
            };
            // Refused by the OAuth layer before anything was processed: once, with a
            // new token (safe for orders too).
            if !renewed && self.oauth_renew_after(&err, sent_at).await? {
                renewed = true;
                continue;
            }
            let outcome = match &err {
                // A refused certificate stays refused: not retried.
                Error::Transport { .. } => Outcome::Transport,
                Error::Timeout { .. } => Outcome::Timeout,
                Error::Decode { .. } => Outcome::Decode,
                Error::RateLimited { retry_after, .. } => {
                    let hold = retry_after.unwrap_or(self.inner.penalty);
                    self.inner.pacer.penalize(class, hold);
                    // Not processed by the gateway: a read may wait out the penalty
                    // and go again, if the caller allows that long a wait.
                    let fits = deadline.is_none_or(|d| Instant::now() + hold <= d);
                    if idempotent && fits && attempt < self.inner.retry.max_retries {
                        attempt += 1;
                        self.inner.pacer.count(class, |m| m.retries += 1);
                        continue;
                    }
                    return Err(err);
                }
                Error::Http { status, .. } => Outcome::Status(*status),
                _ => return Err(err),
            };
            match retry::decide(
                &self.inner.retry,
                idempotent,
                outcome,
                attempt,
                rand::random(),
            ) {
                Decision::Retry(after) => {
                    tracing::info!(request = %masked(&label), attempt = attempt + 1, "retrying in {after:?}: {}", masked(&err.to_string()));
                    self.inner.pacer.count(class, |m| m.retries += 1);
                    tokio::time::sleep(after).await;
                    attempt += 1;
                }
                Decision::GiveUp => return Err(err),
            }
        }
    }

    /// One attempt: the answer's body on success, the mapped error otherwise.
    async fn send_once(
        &self,
        label: &str,
        path: &str,
        method: &Method,
        url: Url,
        body: Option<&[u8]>,
    ) -> Result<Bytes> {
        // OAuth: signed just before sending, so that the timestamp is fresh.
        let authorization = self.oauth_authorization(method, &url).await?;
        let mut req = self.inner.http.request(method.clone(), url);
        if let Some(value) = authorization {
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        match body {
            Some(b) => {
                req = req
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(b.to_vec())
            }
            // The gateway answers 411 to a POST without Content-Length.
            None if *method != Method::GET => {
                req = req
                    .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
                    .body("")
            }
            None => {}
        }
        tracing::debug!(request = %masked(label), "sending");
        let resp = req.send().await.map_err(|e| self.transport(label, e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp.bytes().await.map_err(|e| self.transport(label, e))?;
        tracing::debug!(request = %masked(label), status = status.as_u16(), bytes = bytes.len(), "answered");
        if !status.is_success() {
            return Err(self.status_error(label, path, status, retry_after, &bytes));
        }
        if let Some(message) = error_in_body(&bytes) {
            if is_unknown_account(&message) {
                return Err(Error::UnknownAccount {
                    endpoint: label.to_string(),
                    message,
                });
            }
            return Err(Error::Gateway {
                endpoint: label.to_string(),
                message,
            });
        }
        Ok(bytes)
    }

    fn would_wait(&self, label: &str, class: Option<PacingClass>, wait: Duration) -> Error {
        Error::WouldWait {
            endpoint: label.to_string(),
            class: class
                .map(|c| c.name().to_string())
                .unwrap_or_else(|| "global".into()),
            wait,
            max_wait: self.max_wait.unwrap_or_default(),
        }
    }

    /// The age below which a read may be answered from the cache: the class's interval,
    /// for reads of classes limited to one request per second or slower.
    fn cache_window(&self, class: Option<PacingClass>, cacheable: bool) -> Option<Duration> {
        if !cacheable {
            return None;
        }
        let limit = self.inner.pacer.table().limit(class?)?;
        limit.interval().filter(|i| *i >= Duration::from_secs(1))
    }

    fn cached(&self, key: &str, window: Duration) -> Option<Bytes> {
        let cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|(at, _)| at.elapsed() < window)
            .map(|(_, b)| b.clone())
    }

    fn store_cached(&self, key: &str, bytes: Bytes) {
        const MAX_ENTRIES: usize = 256;
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES && !cache.contains_key(key) {
            // Entries older than the slowest limit (15 min) are useless; beyond that,
            // start afresh rather than grow.
            cache.retain(|_, (at, _)| at.elapsed() < Duration::from_secs(15 * 60));
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key.to_string(), (Instant::now(), bytes));
    }

    pub(crate) fn transport(&self, label: &str, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                endpoint: label.to_string(),
                after: self.inner.timeout,
            };
        }
        if let Some(detail) = certificate_problem(&e) {
            return Error::Certificate {
                endpoint: label.to_string(),
                gateway: self.inner.gateway.to_string(),
                detail,
            };
        }
        Error::Transport {
            endpoint: label.to_string(),
            gateway: self.inner.gateway.to_string(),
            source: e,
        }
    }

    fn status_error(
        &self,
        label: &str,
        path: &str,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Error {
        let endpoint = label.to_string();
        let message = serde_json::from_slice::<ErrorResponse>(body)
            .ok()
            .map(|e| e.error);
        let no_bridge = message
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("no bridge"));
        let iserver = path.trim_start_matches('/').starts_with("iserver/");
        match status {
            _ if message.as_deref().is_some_and(is_unknown_account) => Error::UnknownAccount {
                endpoint,
                message: message.unwrap_or_default(),
            },
            _ if no_bridge => Error::NoBrokerageSession {
                endpoint,
                message: message.unwrap_or_default(),
            },
            StatusCode::UNAUTHORIZED if iserver && message.is_some() => Error::NoBrokerageSession {
                endpoint,
                message: message.unwrap_or_default(),
            },
            // OAuth: IBKR's problem body comes from the OAuth layer.
            StatusCode::UNAUTHORIZED
                if self.inner.oauth.is_some() && problem_detail(body).is_some() =>
            {
                Error::OAuthRejected {
                    endpoint,
                    reason: problem_detail(body).unwrap_or_default(),
                }
            }
            StatusCode::UNAUTHORIZED => Error::NotAuthenticated {
                endpoint,
                reason: problem_detail(body).unwrap_or_else(|| "HTTP 401".into()),
                login_url: self.inner.gateway.to_string(),
            },
            StatusCode::FORBIDDEN => Error::Forbidden {
                endpoint,
                body: snippet(body, SNIPPET),
            },
            StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
                endpoint,
                retry_after,
            },
            _ => Error::Http {
                endpoint,
                status: status.as_u16(),
                body: snippet(body, SNIPPET),
            },
        }
    }
}

fn decode<T: DeserializeOwned>(label: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        endpoint: label.to_string(),
        message: e.to_string(),
        snippet: snippet(bytes, SNIPPET),
    })
}

/// A request line for logs, with account ids masked (`/portfolio/DU1234567/summary` →
/// `/portfolio/DU****567/summary`): logs travel further than the program.
pub(crate) fn masked(label: &str) -> String {
    let looks_like_account = |seg: &str| {
        let letters = seg.chars().take_while(|c| c.is_ascii_uppercase()).count();
        let digits = &seg[letters..];
        (1..=3).contains(&letters)
            && digits.len() >= 5
            && digits.chars().all(|c| c.is_ascii_digit())
    };
    label
        .split_inclusive(['/', '?', '&', '=', ' ', ','])
        .map(|part| {
            let (seg, sep) = match part.char_indices().last() {
                Some((i, c)) if "/?&= ,".contains(c) => (&part[..i], &part[i..]),
                _ => (part, ""),
            };
            if looks_like_account(seg) {
                let keep = 3.min(seg.len());
                let letters = seg.chars().take_while(|c| c.is_ascii_uppercase()).count();
                format!(
                    "{}{}{}{sep}",
                    &seg[..letters],
                    "*".repeat(seg.len() - letters - keep),
                    &seg[seg.len() - keep..]
                )
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// `path?query` with the query serialised from `q` (nothing when it is empty).
pub(crate) fn with_query<Q: Serialize + ?Sized>(path: &str, q: &Q) -> Result<String> {
    let query = serde_urlencoded::to_string(q)
        .map_err(|e| Error::Config(format!("{path}: cannot encode the query: {e}")))?;
    Ok(if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    })
}

/// `{"error": "non-empty"}` at the top level of a 200 answer: IBKR's rejection.
/// Whether a gateway message says the account named in the call does not exist:
/// "Bad Request: accountId is not valid: U1" (400 on `/iserver/account/...`, 500 on
/// `/portfolio/...`) or "Invalid account ID" (500 on `POST /iserver/account`).
fn is_unknown_account(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("accountid is not valid") || m.contains("invalid account id")
}

/// `s` as one URL path segment (an account id, a search pattern...): everything but
/// RFC 3986's unreserved characters percent-encoded from its UTF-8 bytes, the same set
/// OAuth's encoding keeps.
pub(crate) fn segment(s: &str) -> String {
    crate::oauth::crypto::percent_encode(s)
}

fn error_in_body(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    match serde_json::from_slice::<Probe>(bytes).ok()?.error? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Null => None,
        serde_json::Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

fn problem_detail(body: &[u8]) -> Option<String> {
    let p: ibkr_model::error::ProblemDetail = serde_json::from_slice(body).ok()?;
    p.detail.or(p.title)
}

fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    match find_rustls(e, 0)? {
        r @ (rustls::Error::InvalidCertificate(_) | rustls::Error::General(_)) => {
            Some(r.to_string())
        }
        _ => None,
    }
}

/// The rustls error in a chain. rustls errors travel inside (nested) `io::Error`s,
/// whose `source` skips the error they wrap, so those are opened with `get_ref`.
fn find_rustls<'a>(
    e: &'a (dyn std::error::Error + 'static),
    depth: usize,
) -> Option<&'a rustls::Error> {
    if depth > 16 {
        return None;
    }
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        let inner: &(dyn std::error::Error + 'static) = inner;
        if let Some(r) = find_rustls(inner, depth + 1) {
            return Some(r);
        }
    }
    find_rustls(e.source()?, depth + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_urls_are_normalised() {
        let p = |s| parse_gateway(s, "/v1/api").unwrap().to_string();
        assert_eq!(p("https://localhost:5000"), "https://localhost:5000/");
        assert_eq!(p("https://localhost:5000/"), "https://localhost:5000/");
        assert_eq!(
            p("https://localhost:5000/v1/api"),
            "https://localhost:5000/"
        );
        assert_eq!(
            p("https://localhost:5000/v1/api/"),
            "https://localhost:5000/"
        );
        assert_eq!(p("localhost:5000"), "https://localhost:5000/");
        assert_eq!(
            p("http://127.0.0.1:8080/proxy"),
            "http://127.0.0.1:8080/proxy/"
        );
        assert!(parse_gateway("ftp://x", "/v1/api").is_err());
        assert!(parse_gateway("https://", "/v1/api").is_err());
    }

    #[test]
    fn account_ids_are_masked_in_log_lines() {
        assert_eq!(
            masked("GET /portfolio/DU1234567/summary"),
            "GET /portfolio/DU****567/summary"
        );
        assert_eq!(
            masked("POST /iserver/account/U7654321/orders?x=U1234567"),
            "POST /iserver/account/U****321/orders?x=U****567"
        );
        assert_eq!(masked("GET /tickle"), "GET /tickle");
        assert_eq!(
            masked("GET /iserver/marketdata/snapshot?conids=265598,756733"),
            "GET /iserver/marketdata/snapshot?conids=265598,756733"
        );
    }

    #[test]
    fn unknown_account_messages_are_recognised() {
        assert!(is_unknown_account(
            "Bad Request: accountId is not valid: 11110000"
        ));
        assert!(is_unknown_account("Invalid account ID"));
        assert!(!is_unknown_account(
            "Bad Request: Please query /accounts first"
        ));
    }

    #[test]
    fn error_bodies_are_recognised() {
        assert_eq!(
            error_in_body(br#"{"error":"failed to process request"}"#).as_deref(),
            Some("failed to process request")
        );
        assert_eq!(error_in_body(br#"{"error":null,"a":1}"#), None);
        assert_eq!(error_in_body(br#"{"hmds":{"error":"no bridge"}}"#), None);
        assert_eq!(error_in_body(br#"[{"error":"x"}]"#), None);
        assert_eq!(error_in_body(b"not json"), None);
    }

    #[test]
    fn the_base_url_joins_paths() {
        let c = Client::new("https://localhost:5000").unwrap();
        // A plain-HTTP gateway builds too (no process-wide crypto provider needed).
        let plain = Client::new("http://127.0.0.1:5000").unwrap();
        assert_eq!(plain.base_url().as_str(), "http://127.0.0.1:5000/v1/api/");
        assert_eq!(c.base_url().as_str(), "https://localhost:5000/v1/api/");
        assert_eq!(
            c.base_url().join("iserver/auth/status").unwrap().as_str(),
            "https://localhost:5000/v1/api/iserver/auth/status"
        );
        assert!(format!("{c:?}").contains("localhost"));
    }
}
