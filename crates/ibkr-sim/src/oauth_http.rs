//! OAuth 1.0a over HTTP: the simulator as `api.ibkr.com` instead of a Client Portal
//! Gateway.
//!
//! With [`GatewayConfig::oauth`](crate::GatewayConfig::oauth) set, the simulator
//! has no browser login. A client first asks
//! `POST /v1/api/oauth/live_session_token` (RSA-SHA256 signed, with a
//! Diffie-Hellman challenge) for a live session token; from then on every API
//! request must carry an `Authorization: OAuth ...` header signed HMAC-SHA256 with
//! that token. A request that fails a check (signature, timestamp window, nonce
//! replay, unknown consumer, wrong token, expired or missing live session token) is
//! answered 401 with IBKR's problem body, before any handler runs:
//!
//! ```json
//! {"type": "/simple", "title": "Unauthorized", "status": 401, "detail": "Access token expired"}
//! ```
//!
//! The `detail` says which check failed; it starts with `Access token expired` when
//! a new live session token cures it.
//!
//! A valid live session token means the SSO session is up (the session machine
//! logs the configured user in when it is not); the brokerage session that
//! `/iserver/*` needs is opened by `POST /iserver/auth/ssodh/init`, as at IBKR.
//! The WebSocket endpoint `/v1/api/ws` is authenticated as IBKR documents it: the
//! `oauth_token` query parameter must name an access token whose live session token
//! is live.

use std::path::Path;
use std::time::{Duration, SystemTime};

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ibkr_model::error::ProblemDetail;
use tokio::time::Instant;

use crate::GatewayConfig;
use crate::gateway::Shared;
use crate::oauth::{
    DEFAULT_LST_LIFETIME, DEFAULT_TIMESTAMP_WINDOW, OAuthRejection, OAuthRequest, OAuthSetupError,
    ServerOAuth, ServerOAuthConfig,
};

/// The live session token endpoint, under `/v1/api`.
pub const LST_PATH: &str = "/oauth/live_session_token";
/// The WebSocket endpoint, under `/v1/api`.
const WS_PATH: &str = "/ws";

/// How the simulator plays IBKR's OAuth server: the registered consumers and the
/// server's rules. Set it with [`GatewayConfig::oauth`](crate::GatewayConfig::oauth).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use ibkr_sim::oauth::generate_credentials;
/// use ibkr_sim::{Gateway, GatewayConfig, OAuthSettings};
///
/// let written = generate_credentials("/tmp/ibkr-oauth")?;
/// let settings = OAuthSettings::from_file(&written.server_toml)?;
/// let gateway = Gateway::start(GatewayConfig::for_tests().oauth(Some(settings))).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuthSettings {
    /// The registered consumers.
    pub consumers: Vec<ServerOAuthConfig>,
    /// How long a live session token lives. Default 24 hours, as at IBKR.
    pub lst_lifetime: Duration,
    /// How far a request's `oauth_timestamp` may be from the server's clock.
    /// Default 5 minutes.
    pub timestamp_window: Duration,
    /// Whether a signature computed without the query's parameters is accepted
    /// too. Default yes: OAuth 1.0a signs them (and so does `ibkr-api`), but public
    /// clients known to work with IBKR sign only the `oauth_*` parameters.
    pub accept_unsigned_query: bool,
}

impl OAuthSettings {
    /// One registered consumer, with the default rules.
    pub fn new(consumer: ServerOAuthConfig) -> Self {
        OAuthSettings {
            consumers: vec![consumer],
            lst_lifetime: DEFAULT_LST_LIFETIME,
            timestamp_window: DEFAULT_TIMESTAMP_WINDOW,
            accept_unsigned_query: true,
        }
    }

    /// The consumer of a `server.toml` (as
    /// [`generate_credentials`](crate::oauth::generate_credentials) writes it).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, OAuthSetupError> {
        Ok(Self::new(ServerOAuthConfig::from_file(path)?))
    }

    /// Registers another consumer.
    pub fn consumer(mut self, consumer: ServerOAuthConfig) -> Self {
        self.consumers.push(consumer);
        self
    }

    /// Sets how long live session tokens live.
    pub fn lst_lifetime(mut self, lifetime: Duration) -> Self {
        self.lst_lifetime = lifetime;
        self
    }

    /// Sets how far timestamps may be from the server's clock.
    pub fn timestamp_window(mut self, window: Duration) -> Self {
        self.timestamp_window = window;
        self
    }

    /// Sets whether signatures without the query's parameters are accepted.
    pub fn accept_unsigned_query(mut self, accept: bool) -> Self {
        self.accept_unsigned_query = accept;
        self
    }

    /// The server these settings describe, with no token issued yet; `Err` when
    /// no consumer is registered.
    pub(crate) fn server(&self) -> Result<ServerOAuth, String> {
        let mut consumers = self.consumers.iter().cloned();
        let first = consumers
            .next()
            .ok_or("the OAuth settings register no consumer")?;
        let mut server = ServerOAuth::new(first);
        for c in consumers {
            server.add_consumer(c);
        }
        Ok(server
            .with_lst_lifetime(self.lst_lifetime)
            .with_timestamp_window(self.timestamp_window)
            .with_unsigned_query_accepted(self.accept_unsigned_query))
    }
}

/// Adds `POST /oauth/live_session_token` to the API's routes when the gateway plays
/// IBKR's OAuth server (and nothing otherwise).
pub(crate) fn routes(api: Router<Shared>, config: &GatewayConfig) -> Router<Shared> {
    if config.oauth.is_none() {
        return api;
    }
    api.route(LST_PATH, post(live_session_token))
}

/// The OAuth check of every API request but the live session token's own, run by
/// the gateway's guard before anything else sees the request: the 401 answer when
/// the request is refused, `None` when it may go on.
pub(crate) fn check(gw: &Shared, req: &Request) -> Option<Response> {
    let mut server = gw.oauth()?;
    let uri = original_uri(req);
    let api_path = uri.path().trim_start_matches("/v1/api");
    if api_path == LST_PATH {
        return None;
    }
    let now = SystemTime::now();
    if api_path == WS_PATH {
        let token = uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "oauth_token")
                .map(|(_, v)| v.into_owned())
        });
        let Some(token) = token else {
            return Some(refused(&OAuthRejection::MissingParameter("oauth_token")));
        };
        if server.live_session_expiry(&token, now).is_none() {
            return Some(refused(&OAuthRejection::NoLiveSession));
        }
        drop(server);
        ensure_sso(gw);
        return None;
    }
    let Some(url) = request_url(gw, req) else {
        return Some(refused(&OAuthRejection::MalformedUrl));
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let method = req.method().as_str().to_owned();
    match server.verify_request(&OAuthRequest::new(&method, &url, authorization), now) {
        Ok(_) => {
            drop(server);
            ensure_sso(gw);
            None
        }
        Err(rejection) => Some(refused(&rejection)),
    }
}

/// `POST /oauth/live_session_token`: checks the RSA-SHA256 signature over the
/// prepended base string, answers the Diffie-Hellman challenge and issues a live
/// session token (replacing the access token's previous one).
pub(crate) async fn live_session_token(State(gw): State<Shared>, req: Request) -> Response {
    let Some(mut server) = gw.oauth() else {
        return crate::http::error_body(StatusCode::NOT_FOUND, "no such endpoint: OAuth is off");
    };
    let Some(url) = request_url(&gw, &req) else {
        return refused(&OAuthRejection::MalformedUrl);
    };
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let method = req.method().as_str().to_owned();
    let answer = server.live_session_token(
        &OAuthRequest::new(&method, &url, authorization),
        SystemTime::now(),
    );
    drop(server);
    match answer {
        Ok(grant) => {
            tracing::info!(
                expires_ms = grant.live_session_token_expiration,
                "live session token issued"
            );
            ensure_sso(&gw);
            Json(grant).into_response()
        }
        Err(rejection) => refused(&rejection),
    }
}

/// A valid live session token means the SSO session is up: log the configured user
/// in when nobody is (at start, after an idle timeout or a logout), with the
/// brokerage session down until `ssodh/init`.
fn ensure_sso(gw: &Shared) {
    let mut m = gw.session();
    if m.sso().is_err() {
        m.login(&gw.config.username, Instant::now());
        let _ = m.drop_brokerage();
        tracing::info!("OAuth: SSO session opened; the brokerage session waits for ssodh/init");
    }
}

/// The URL as the client addressed it: the scheme served, the `Host` header, the
/// path and the query.
fn request_url(gw: &Shared, req: &Request) -> Option<String> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let scheme = if gw.config.tls { "https" } else { "http" };
    let pq = original_uri(req)
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    Some(format!("{scheme}://{host}{pq}"))
}

fn original_uri(req: &Request) -> axum::http::Uri {
    req.extensions()
        .get::<OriginalUri>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| req.uri().clone())
}

/// IBKR's 401 problem body; the detail names the failed check and holds no
/// secret.
pub(crate) fn refused(rejection: &OAuthRejection) -> Response {
    let detail = match rejection {
        OAuthRejection::LiveSessionExpired => "Access token expired".to_owned(),
        OAuthRejection::NoLiveSession => {
            "Access token expired: no live session token for this access token; request one at /oauth/live_session_token".to_owned()
        }
        other => capitalised(&other.to_string()),
    };
    tracing::info!(%detail, "OAuth request refused");
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(ProblemDetail::simple("Unauthorized", 401, &detail)),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// The message with a capital first letter, unless it starts with an identifier
/// (`oauth_timestamp ...`), which keeps its case.
fn capitalised(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or_default();
    if !first_word.chars().all(char::is_alphabetic) {
        return s.to_owned();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_which_check_failed() {
        let body = |r: Response| {
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        };
        body(refused(&OAuthRejection::InvalidSignature));
        body(refused(&OAuthRejection::LiveSessionExpired));
        assert_eq!(capitalised("invalid signature"), "Invalid signature");
        assert_eq!(
            capitalised("oauth_timestamp 1 is outside"),
            "oauth_timestamp 1 is outside"
        );
        assert_eq!(capitalised(""), "");
    }
}
