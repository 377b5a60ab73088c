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
    /// The client was configured wrongly.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotAuthenticated { .. } => Some(401),
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
            Error::NotAuthenticated { .. } | Error::NoBrokerageSession { .. }
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
