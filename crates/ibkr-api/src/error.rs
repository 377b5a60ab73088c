//! The one error type of the library.

use std::time::Duration;

/// What went wrong with a call. Each variant tells a program what it can do next;
/// each message tells a person.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No session: nobody is logged in to the gateway, or the session expired.
    #[error(
        "{endpoint}: not authenticated ({reason}); log in at {login_url} in a browser on the machine that runs the gateway, then retry"
    )]
    NotAuthenticated {
        /// The call, e.g. `POST /tickle`.
        endpoint: String,
        /// What the gateway said, or why re-authentication failed.
        reason: String,
        /// Where to log in.
        login_url: String,
    },
    /// Logged in, but the brokerage session that `/iserver/*` needs is not up
    /// (IBKR says "not authenticated" or "no bridge").
    #[error(
        "{endpoint}: no brokerage session ({message}); call init_brokerage_session (CLI: `ibkr auth init`) or let the session keeper restore it"
    )]
    NoBrokerageSession {
        /// The call.
        endpoint: String,
        /// What the gateway said.
        message: String,
    },
    /// The gateway answered 429: too many requests. IBKR may hold the address in a
    /// penalty box for 10 minutes; wait before retrying.
    #[error("{endpoint}: rate limited by IBKR (HTTP 429){}; wait before retrying", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The call.
        endpoint: String,
        /// How long the gateway asked to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// Waiting for this request's turn under IBKR's limits would take longer than the
    /// caller allows (see [`Client::with_max_wait`](crate::Client::with_max_wait)).
    /// Nothing was sent.
    #[error("{endpoint}: IBKR's rate limit for {class} allows the next request in {:.1}s, later than the {:.1}s this call may wait; retry later or allow a longer wait", wait.as_secs_f32(), max_wait.as_secs_f32())]
    WouldWait {
        /// The call.
        endpoint: String,
        /// The limit that makes it wait (`global` or a class name).
        class: String,
        /// How long it would have to wait.
        wait: Duration,
        /// How long it was allowed to wait.
        max_wait: Duration,
    },
    /// The gateway refused this client (HTTP 403).
    #[error(
        "{endpoint}: the gateway refused this client (HTTP 403: {body}); check that this machine's address is in the gateway's ips.allow (root/conf.yaml)"
    )]
    Forbidden {
        /// The call.
        endpoint: String,
        /// The start of the body.
        body: String,
    },
    /// Any other HTTP error status.
    #[error("{endpoint}: HTTP {status}: {body}")]
    Http {
        /// The call.
        endpoint: String,
        /// The status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// HTTP 200 with an error body, IBKR's way of rejecting some requests
    /// (`{"error": "..."}`).
    #[error("{endpoint}: the gateway answered with an error: {message}")]
    Gateway {
        /// The call.
        endpoint: String,
        /// IBKR's message.
        message: String,
    },
    /// The answer could not be decoded into the expected type.
    #[error("{endpoint}: cannot decode the answer ({message}); body starts: {snippet}")]
    Decode {
        /// The call.
        endpoint: String,
        /// The decoder's complaint, with the line and column.
        message: String,
        /// The start of the body.
        snippet: String,
    },
    /// The gateway's TLS certificate is not trusted.
    #[error(
        "{endpoint}: the certificate of {gateway} is not trusted ({detail}); install a trusted certificate in the gateway, or pin this one with ClientBuilder::pin_certificate_sha256 (CLI: --pin-sha256)"
    )]
    Certificate {
        /// The call.
        endpoint: String,
        /// The gateway's address.
        gateway: String,
        /// Why the certificate was refused.
        detail: String,
    },
    /// The gateway could not be reached, or the connection broke.
    #[error(
        "{endpoint}: cannot talk to the gateway at {gateway} ({source}); is it running? start it with `bin/run.sh root/conf.yaml`, or `ibkr sim serve` to simulate one"
    )]
    Transport {
        /// The call.
        endpoint: String,
        /// The gateway's address.
        gateway: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// No answer in time.
    #[error("{endpoint}: no answer within {}s; the gateway may be busy or stuck, retry later", after.as_secs_f32())]
    Timeout {
        /// The call.
        endpoint: String,
        /// The time allowed.
        after: Duration,
    },
    /// Nothing matched what was asked for.
    #[error("no {what} found; {hint}")]
    NotFound {
        /// What was looked for.
        what: String,
        /// What to do.
        hint: String,
    },
    /// Several contracts matched where one was needed.
    #[error("{what} is ambiguous: {} match ({}); narrow it with a security type, exchange or currency, or use a conid", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// What was looked for.
        what: String,
        /// The matches, `conid (description)`.
        candidates: Vec<String>,
    },
    /// The gateway does not know the account the call names (IBKR answers 400 or 500
    /// "accountId is not valid", or "Invalid account ID"). Not retried: list the login's
    /// accounts with `brokerage_accounts()` or `portfolio_accounts()`.
    #[error(
        "{endpoint}: the gateway does not know this account ({message}); list this login's accounts with `ibkr accounts`"
    )]
    UnknownAccount {
        /// The call.
        endpoint: String,
        /// What the gateway said.
        message: String,
    },
    /// The client was configured wrongly.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// OAuth: the credentials could not be used, or the live session token could
    /// not be computed (a key that does not decrypt the access token secret, DH
    /// parameters other than those registered...). The message names the setting at
    /// fault and holds no secret.
    #[error("OAuth: {0}")]
    OAuth(#[from] crate::oauth::OAuthError),
    /// OAuth: IBKR's OAuth layer refused the request (HTTP 401), before anything was
    /// processed, and a fresh live session token did not help (or it was the token
    /// request itself that was refused).
    #[error(
        "{endpoint}: refused by IBKR's OAuth layer ({reason}); check the consumer key, the access token and its secret, the realm, and this machine's clock"
    )]
    OAuthRejected {
        /// The call.
        endpoint: String,
        /// What the server said (the 401 body's `detail`).
        reason: String,
    },
    /// An order ticket the library refuses to send (no side, a non-positive size or
    /// price, a bracket whose prices are on the wrong side, a bad `cOID`...). Nothing
    /// was sent.
    #[error("invalid order: {0}; nothing was sent")]
    InvalidOrder(String),
    /// IBKR refused an order request with HTTP 200 `{"error": ...}`: a placement
    /// (insufficient funds, a price too far from the market...), a cancellation (the
    /// order has filled), a modification (the order was cancelled)... The refused
    /// order was not placed or changed; orders in `placed` were accepted before the
    /// refusal (e.g. the parent of a bracket whose child was refused).
    #[error("{endpoint}: IBKR rejected the order{}: {message}", coid.as_deref().map(|c| format!(" (cOID {c})")).unwrap_or_default())]
    OrderRejected {
        /// The call.
        endpoint: String,
        /// IBKR's message.
        message: String,
        /// The customer order id of the refused order, when the call placed one.
        coid: Option<String>,
        /// Orders of the same request accepted before the refusal.
        placed: Vec<crate::orders::PlacedOrder>,
    },
    /// Certainly not placed: the request failed before IBKR could act on it (the
    /// connection was refused, the rate limit or the session refused it, ...).
    /// Placing it again cannot make a duplicate.
    #[error("order {coid} was not placed: {source}")]
    OrderNotPlaced {
        /// The customer order id of the order (the first, for several).
        coid: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// The outcome of a placement (or of a confirmation) is unknown: the request may
    /// have reached IBKR, and looking the order up by its `cOID` neither found it for
    /// sure nor proved it absent within the time allowed. **Do not place it again
    /// blindly**: look it up (live orders, trades) by its `cOID` first.
    #[error(
        "the outcome of order {coid} is unknown ({cause}); do not resend it: look it up by its cOID in live orders and trades first"
    )]
    OrderOutcomeUnknown {
        /// The customer order id of the order (the first, for several).
        coid: String,
        /// What went wrong, and what the look-up saw.
        cause: String,
        /// Orders of the request that the look-up did find (e.g. the parent of a
        /// bracket whose children it did not find).
        found: Vec<crate::orders::PlacedOrder>,
    },
    /// IBKR no longer knows the reply id of an order prompt: it expired, or another
    /// request came in between (IBKR discards a prompt's order as soon as anything else
    /// is sent). The order was not placed; place it again if still wanted.
    #[error(
        "{endpoint}: the order prompt {reply_id} is no longer valid ({message}); the order was not placed"
    )]
    ReplyExpired {
        /// The call.
        endpoint: String,
        /// The reply id.
        reply_id: String,
        /// What the gateway said.
        message: String,
    },
    /// IBKR kept asking questions about an order: the confirmation loop stopped after
    /// this many rounds without an order id. The last prompt was not answered, so the
    /// order was not placed.
    #[error(
        "order {coid}: IBKR still asked for confirmation after {rounds} rounds; the order was not placed"
    )]
    TooManyPrompts {
        /// The customer order id.
        coid: String,
        /// Rounds of confirmation made.
        rounds: u32,
    },
}

impl Error {
    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotAuthenticated { .. } | Error::OAuthRejected { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::RateLimited { .. } => Some(429),
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether logging in again (or re-authenticating) could cure this error.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            Error::NotAuthenticated { .. }
                | Error::NoBrokerageSession { .. }
                | Error::OAuthRejected { .. }
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// At most `max` characters of a body, on one line, for error messages.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(max.min(text.len()) + 3);
    let mut last_space = false;
    for (n, c) in text.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        let space = c.is_whitespace();
        if !(space && last_space) {
            out.push(if space { ' ' } else { c });
        }
        last_space = space;
    }
    if out.is_empty() {
        out.push_str("(empty)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_short_single_lines() {
        assert_eq!(snippet(b"", 10), "(empty)");
        assert_eq!(snippet(b"{\n  \"a\":   1}", 100), "{ \"a\": 1}");
        assert_eq!(snippet("ééééé".as_bytes(), 3), "ééé…");
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = Error::NotAuthenticated {
            endpoint: "POST /tickle".into(),
            reason: "no session".into(),
            login_url: "https://localhost:5000".into(),
        };
        let m = e.to_string();
        assert!(
            m.contains("log in at https://localhost:5000 in a browser"),
            "{m}"
        );
        let e = Error::RateLimited {
            endpoint: "GET /x".into(),
            retry_after: Some(Duration::from_secs(600)),
        };
        assert!(e.to_string().contains("retry after 600s"));
        assert_eq!(e.status(), Some(429));
    }
}
