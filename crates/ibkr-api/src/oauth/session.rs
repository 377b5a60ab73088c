//! A [`Client`]'s OAuth session: the live session token, obtained when first
//! needed, renewed ahead of its expiry and after a refusal, and every request signed
//! with it.
//!
//! The token sits behind an async read-write lock. Requests read it to sign; the
//! one that finds it due for renewal (at 90% of its lifetime) or refused takes the
//! write lock and asks for a new one, and every request that comes meanwhile waits
//! on the lock, then signs with the new token. A proactive renewal that fails
//! leaves the old token in use while it lives (and is tried again a little later),
//! so callers see nothing of it.
//!
//! After a new token, the first `/iserver/*` call opens the brokerage session
//! (`POST /iserver/auth/ssodh/init`) before it goes, as IBKR requires; other calls
//! wait for that.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;
use url::Url;

use super::crypto::{self, DhRandom, Lst};
use super::{LstResponse, OAuthConfig, OAuthError};
use crate::client::Client;
use crate::error::{Error, Result, snippet};

/// The share of a token's lifetime after which it is renewed.
const RENEW_AT: f64 = 0.9;
/// After a failed proactive renewal, the longest wait before the next attempt.
const RETRY_RENEWAL: Duration = Duration::from_secs(60);
/// The live session token endpoint, relative to the API base.
const LST_ENDPOINT: &str = "oauth/live_session_token";
const LST_LABEL: &str = "POST /oauth/live_session_token";

/// What is known of the live session token, without the token: the answer of
/// [`Client::live_session_token_info`] (CLI: `ibkr auth lst`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveSessionInfo {
    /// The consumer key.
    pub consumer_key: String,
    /// When this client obtained the token.
    pub obtained_at: DateTime<Utc>,
    /// When it expires, as IBKR said (about 24 hours after it was obtained).
    pub expires_at: DateTime<Utc>,
    /// When the client renews it: the first request after this time asks for a
    /// new one.
    pub renews_at: DateTime<Utc>,
    /// How many tokens this client has obtained (1, then one more per renewal).
    pub tokens_obtained: u64,
}

/// What the WebSocket connection to `/ws` needs to authenticate: the `api` cookie
/// (the session id `/tickle` reports, in both modes) and, in OAuth mode, the
/// `oauth_token` query parameter (the access token), as IBKR documents it. The
/// streaming module adds these to its upgrade request; `Debug` shows neither value.
/// A URL that carries the `oauth_token` should not appear in logs or error
/// messages: keep the URL without the query for those.
#[allow(dead_code)] // The hook of the streaming module.
pub(crate) struct WebSocketAuth {
    /// Query parameters to add to the `/ws` URL: `("oauth_token", access token)` in
    /// OAuth mode, none through the gateway.
    pub query: Vec<(&'static str, String)>,
    /// The `Cookie` header value: `api=<session>`.
    pub cookie: String,
    /// The session id alone (for the `{"session": ...}` message a gateway may ask
    /// for).
    pub session: String,
}

impl std::fmt::Debug for WebSocketAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketAuth")
            .field(
                "query",
                &self.query.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct Token {
    lst: Lst,
    obtained_at: SystemTime,
    /// When it was obtained, on the monotonic clock: a request sent before this
    /// was signed with an older token.
    obtained_instant: Instant,
    expires_at: SystemTime,
    renew_at: SystemTime,
}

/// The OAuth state a client holds: its configuration, the live session token, and
/// whether the brokerage session is still to be opened.
pub(crate) struct OAuthSession {
    config: OAuthConfig,
    token: RwLock<Option<Token>>,
    obtained: AtomicU64,
    /// Set by every new token; cleared once `ssodh/init` went through.
    brokerage_pending: AtomicBool,
    /// Held while the brokerage session is being opened, so that other `/iserver/*`
    /// calls wait for it.
    brokerage_lock: Mutex<()>,
}

impl std::fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSession")
            .field("consumer_key", &self.config.consumer_key())
            .field("tokens_obtained", &self.obtained.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl OAuthSession {
    pub(crate) fn new(config: OAuthConfig) -> Self {
        OAuthSession {
            config,
            token: RwLock::new(None),
            obtained: AtomicU64::new(0),
            brokerage_pending: AtomicBool::new(false),
            brokerage_lock: Mutex::new(()),
        }
    }

    /// A token to sign with: the current one while it is fresh, else a new one.
    async fn lst(&self, client: &Client) -> Result<Lst> {
        {
            let guard = self.token.read().await;
            if let Some(t) = guard.as_ref()
                && SystemTime::now() < t.renew_at
            {
                return Ok(t.lst.clone());
            }
        }
        self.refresh(client, None).await
    }

    /// Renews the token, unless another request did meanwhile: with `rejected_at`,
    /// unless a token was obtained after that instant (the refused request was
    /// signed with an older one); without, unless the current token is fresh.
    async fn refresh(&self, client: &Client, rejected_at: Option<Instant>) -> Result<Lst> {
        let mut guard = self.token.write().await;
        if let Some(t) = guard.as_ref() {
            let done = match rejected_at {
                Some(sent) => t.obtained_instant > sent,
                None => SystemTime::now() < t.renew_at,
            };
            if done {
                return Ok(t.lst.clone());
            }
        }
        match self.obtain(client).await {
            Ok(token) => {
                let lst = token.lst.clone();
                *guard = Some(token);
                Ok(lst)
            }
            Err(e) => {
                // A proactive renewal that failed: the old token still works.
                let now = SystemTime::now();
                if rejected_at.is_none()
                    && let Some(t) = guard.as_mut()
                    && now < t.expires_at
                {
                    let left = t.expires_at.duration_since(now).unwrap_or_default();
                    t.renew_at = now + RETRY_RENEWAL.min(left / 2);
                    tracing::warn!(
                        "could not renew the live session token ({e}); the current one is valid for {}s more, retrying later",
                        left.as_secs()
                    );
                    return Ok(t.lst.clone());
                }
                Err(e)
            }
        }
    }

    /// `POST /oauth/live_session_token`: a Diffie-Hellman exchange signed with the
    /// signature key, then the token computed and checked against the server's
    /// signature of it.
    async fn obtain(&self, client: &Client) -> Result<Token> {
        let url = client
            .base_url()
            .join(LST_ENDPOINT)
            .map_err(|e| Error::Config(format!("live session token URL: {e}")))?;
        let prepend = self.config.prepend()?;
        let dh_random = DhRandom::generate();
        let challenge = crypto::dh_challenge(&dh_random, self.config.dh_params());
        let params = self.config.oauth_params();
        let authorization = crypto::lst_authorization(
            url.as_str(),
            &params,
            &challenge,
            &prepend,
            self.config.signature_key(),
        )?;
        tracing::debug!(request = LST_LABEL, "asking for a live session token");
        let bytes = send_lst_request(client, url, &authorization).await?;
        let answer: LstResponse = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            endpoint: LST_LABEL.into(),
            message: e.to_string(),
            snippet: snippet(&bytes, 240),
        })?;
        let lst = crypto::live_session_token(
            &answer.diffie_hellman_response,
            &dh_random,
            self.config.dh_params(),
            &prepend,
        )?;
        if !crypto::verify_lst(
            &lst,
            self.config.consumer_key(),
            &answer.live_session_token_signature,
        ) {
            return Err(OAuthError::LstMismatch.into());
        }
        let obtained_at = SystemTime::now();
        let expires_at = UNIX_EPOCH + Duration::from_millis(answer.live_session_token_expiration);
        let lifetime = expires_at.duration_since(obtained_at).unwrap_or_default();
        let renew_at = obtained_at + lifetime.mul_f64(RENEW_AT);
        let n = self.obtained.fetch_add(1, Ordering::SeqCst) + 1;
        self.brokerage_pending.store(true, Ordering::SeqCst);
        tracing::info!(
            expires_at = %utc(expires_at),
            renews_at = %utc(renew_at),
            tokens_obtained = n,
            "live session token obtained"
        );
        Ok(Token {
            lst,
            obtained_at,
            obtained_instant: Instant::now(),
            expires_at,
            renew_at,
        })
    }

    fn info(&self, t: &Token) -> LiveSessionInfo {
        LiveSessionInfo {
            consumer_key: self.config.consumer_key().to_owned(),
            obtained_at: utc(t.obtained_at),
            expires_at: utc(t.expires_at),
            renews_at: utc(t.renew_at),
            tokens_obtained: self.obtained.load(Ordering::SeqCst),
        }
    }
}

/// Sends the token request (outside the pacing: one a day) and returns the body of
/// a 2xx answer.
async fn send_lst_request(client: &Client, url: Url, authorization: &str) -> Result<Bytes> {
    let mut auth = HeaderValue::from_str(authorization)
        .map_err(|_| Error::Config("the OAuth header is not a valid header value".into()))?;
    auth.set_sensitive(true);
    let resp = client
        .http()
        .post(url)
        .header(AUTHORIZATION, auth)
        .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
        .body("")
        .send()
        .await
        .map_err(|e| client.transport(LST_LABEL, e))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| client.transport(LST_LABEL, e))?;
    tracing::debug!(request = LST_LABEL, status = status.as_u16(), "answered");
    if status.is_success() {
        return Ok(bytes);
    }
    Err(match status {
        StatusCode::UNAUTHORIZED => Error::OAuthRejected {
            endpoint: LST_LABEL.into(),
            reason: problem_detail(&bytes).unwrap_or_else(|| snippet(&bytes, 240)),
        },
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
            endpoint: LST_LABEL.into(),
            retry_after: None,
        },
        _ => Error::Http {
            endpoint: LST_LABEL.into(),
            status: status.as_u16(),
            body: snippet(&bytes, 240),
        },
    })
}

fn problem_detail(body: &[u8]) -> Option<String> {
    let p: ibkr_model::error::ProblemDetail = serde_json::from_slice(body).ok()?;
    p.detail.or(p.title)
}

fn utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

/// Whether a call's path needs the brokerage session opened first: `/iserver/*`,
/// but for the session calls themselves.
fn needs_brokerage(path: &str) -> bool {
    let p = path.trim_start_matches('/');
    p.starts_with("iserver/")
        && !p.starts_with("iserver/auth/")
        && !p.starts_with("iserver/reauthenticate")
}

impl Client {
    /// Whether this client talks OAuth 1.0a ([`ClientBuilder::oauth`](crate::ClientBuilder::oauth))
    /// rather than through a gateway's browser session.
    pub fn is_oauth(&self) -> bool {
        self.oauth_session().is_some()
    }

    /// The live session token's expiry and renewal time (never the token), asking
    /// for a token first if there is none or it is due for renewal. Only in OAuth
    /// mode; a gateway client gets [`Error::Config`].
    pub async fn live_session_token_info(&self) -> Result<LiveSessionInfo> {
        let oauth = self.need_oauth()?;
        oauth.lst(self).await?;
        let guard = oauth.token.read().await;
        match guard.as_ref() {
            Some(t) => Ok(oauth.info(t)),
            None => Err(Error::Config("no live session token".into())),
        }
    }

    /// Asks for a new live session token now, whatever the age of the current one;
    /// requests wait meanwhile. Only in OAuth mode.
    pub async fn renew_live_session_token(&self) -> Result<LiveSessionInfo> {
        let oauth = self.need_oauth()?;
        oauth.refresh(self, Some(Instant::now())).await?;
        let guard = oauth.token.read().await;
        match guard.as_ref() {
            Some(t) => Ok(oauth.info(t)),
            None => Err(Error::Config("no live session token".into())),
        }
    }

    fn need_oauth(&self) -> Result<&OAuthSession> {
        self.oauth_session().ok_or_else(|| {
            Error::Config(
                "this client talks through a gateway's browser session, not OAuth; build it with ClientBuilder::oauth (CLI: --oauth client.toml)".into(),
            )
        })
    }

    /// The `Authorization` header of a request, in OAuth mode: signed HMAC-SHA256
    /// with the live session token over the method, the URL and its query. `None`
    /// through a gateway.
    pub(crate) async fn oauth_authorization(
        &self,
        method: &Method,
        url: &Url,
    ) -> Result<Option<HeaderValue>> {
        let Some(oauth) = self.oauth_session() else {
            return Ok(None);
        };
        let lst = oauth.lst(self).await?;
        let header = oauth
            .config
            .sign(method.as_str(), url.as_str(), &[], &lst)?;
        let mut value = HeaderValue::from_str(&header)
            .map_err(|_| Error::Config("the OAuth header is not a valid header value".into()))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// Before a call, in OAuth mode: the first `/iserver/*` call after a new token
    /// opens the brokerage session (`ssodh/init`); concurrent ones wait for it. A
    /// failure is logged and left to the call itself to report
    /// ([`Error::NoBrokerageSession`]); the next call tries again.
    ///
    /// Boxed (and `Send` by its type): `init_brokerage_session` goes through `call`,
    /// which comes here.
    pub(crate) fn oauth_before_call<'a>(
        &'a self,
        path: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move {
            let Some(oauth) = self.oauth_session() else {
                return Ok(());
            };
            if !needs_brokerage(path) {
                return Ok(());
            }
            // A token first: obtaining one is what makes the brokerage session due.
            oauth.lst(self).await?;
            if !oauth.brokerage_pending.load(Ordering::SeqCst) {
                return Ok(());
            }
            let _opening = oauth.brokerage_lock.lock().await;
            if !oauth.brokerage_pending.swap(false, Ordering::SeqCst) {
                return Ok(());
            }
            match self.init_brokerage_session(false).await {
                Ok(s) if s.authenticated => {
                    tracing::info!("brokerage session opened");
                }
                Ok(s) => {
                    tracing::warn!(
                        competing = s.competing,
                        "the brokerage session did not open: {}",
                        s.reason().unwrap_or("not authenticated")
                    );
                }
                Err(e) => {
                    oauth.brokerage_pending.store(true, Ordering::SeqCst);
                    tracing::warn!("could not open the brokerage session: {e}");
                }
            }
            Ok(())
        })
    }

    /// After a refused call, in OAuth mode: whether it was the OAuth layer's 401
    /// (which refuses before anything is processed, so even an order may go again),
    /// in which case a new token is obtained, unless another request got one since
    /// `sent_at`. `Ok(true)`: send the request again.
    pub(crate) async fn oauth_renew_after(&self, err: &Error, sent_at: Instant) -> Result<bool> {
        let Some(oauth) = self.oauth_session() else {
            return Ok(false);
        };
        let Error::OAuthRejected { endpoint, reason } = err else {
            return Ok(false);
        };
        tracing::info!(request = %crate::client::masked(endpoint), %reason, "refused by the OAuth layer; renewing the live session token");
        oauth.refresh(self, Some(sent_at)).await?;
        Ok(true)
    }

    /// The WebSocket hook: what the `/ws` upgrade request must carry (see
    /// [`WebSocketAuth`]). It tickles to learn the session id.
    pub(crate) async fn websocket_auth(&self) -> Result<WebSocketAuth> {
        let tickle = self.ping_server().await?;
        let query = match self.oauth_session() {
            Some(oauth) => vec![("oauth_token", oauth.config.access_token().to_owned())],
            None => Vec::new(),
        };
        let session = tickle.session.expose().to_owned();
        Ok(WebSocketAuth {
            query,
            cookie: format!("api={session}"),
            session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_iserver_calls_but_the_session_ones_need_the_brokerage_session() {
        assert!(needs_brokerage("/iserver/accounts"));
        assert!(needs_brokerage("iserver/account/DU1/orders"));
        assert!(needs_brokerage("/iserver/marketdata/snapshot?conids=1"));
        assert!(!needs_brokerage("/iserver/auth/ssodh/init"));
        assert!(!needs_brokerage("/iserver/auth/status"));
        assert!(!needs_brokerage("/iserver/reauthenticate"));
        assert!(!needs_brokerage("/portfolio/accounts"));
        assert!(!needs_brokerage("/tickle"));
    }

    #[test]
    fn the_websocket_hook_shows_no_value() {
        let w = WebSocketAuth {
            query: vec![("oauth_token", "e84c11dc149cb96ee5bb".into())],
            cookie: "api=d21b8cf5ebc8ea01c6ce37c8125ec83f".into(),
            session: "d21b8cf5ebc8ea01c6ce37c8125ec83f".into(),
        };
        let shown = format!("{w:?}");
        assert!(shown.contains("oauth_token"), "{shown}");
        assert!(
            !shown.contains("e84c11") && !shown.contains("d21b8c"),
            "{shown}"
        );
    }
}
