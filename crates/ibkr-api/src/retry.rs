//! When a failed request is tried again: a pure function of the request and the
//! outcome, so the rules are tested without HTTP.
//!
//! - Only idempotent requests are retried (reads, and session calls that are safe to
//!   repeat). Anything that could place, change or cancel an order, or answer an
//!   order prompt, is **never** retried: its outcome must be looked up instead.
//! - Retried outcomes: connection failures, timeouts, undecodable answers, and HTTP
//!   500, 502, 503 and 504.
//! - The wait doubles from `base` up to `cap`, with jitter ("equal jitter": half
//!   fixed, half random), so that many clients do not retry in step.
//! - A 429 is not retried here: the pacer holds the endpoint for the penalty window.

use std::time::Duration;

/// How many times, and how fast, idempotent requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt. Default 3.
    pub max_retries: u32,
    /// Wait before the first retry. Default 200 ms.
    pub base: Duration,
    /// Longest wait. Default 5 s.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// A policy with these numbers.
    pub fn new(max_retries: u32, base: Duration, cap: Duration) -> Self {
        RetryPolicy {
            max_retries,
            base,
            cap,
        }
    }
}

/// How an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The connection failed or broke.
    Transport,
    /// No answer in time.
    Timeout,
    /// The answer could not be decoded (truncated or malformed).
    Decode,
    /// An HTTP error status.
    Status(u16),
    /// HTTP 429.
    RateLimited,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this wait.
    Retry(Duration),
    /// Give the error to the caller.
    GiveUp,
}

/// The decision after attempt number `attempt` (0 for the first) failed with `outcome`.
/// `idempotent` says whether sending the request again is harmless; `jitter` is a
/// random number in `[0, 1)`.
pub fn decide(
    policy: &RetryPolicy,
    idempotent: bool,
    outcome: Outcome,
    attempt: u32,
    jitter: f64,
) -> Decision {
    if !idempotent || attempt >= policy.max_retries {
        return Decision::GiveUp;
    }
    let retryable = match outcome {
        Outcome::Transport | Outcome::Timeout | Outcome::Decode => true,
        Outcome::Status(s) => matches!(s, 500 | 502 | 503 | 504),
        Outcome::RateLimited => false,
    };
    if !retryable {
        return Decision::GiveUp;
    }
    let exp = policy
        .base
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(policy.cap);
    let jitter = jitter.clamp(0.0, 1.0);
    Decision::Retry(exp.mul_f64(0.5 + jitter / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy {
        max_retries: 3,
        base: Duration::from_millis(200),
        cap: Duration::from_secs(5),
    };

    #[test]
    fn idempotent_requests_retry_transient_failures() {
        for o in [
            Outcome::Transport,
            Outcome::Timeout,
            Outcome::Decode,
            Outcome::Status(500),
            Outcome::Status(502),
            Outcome::Status(503),
            Outcome::Status(504),
        ] {
            assert!(
                matches!(decide(&P, true, o, 0, 0.5), Decision::Retry(_)),
                "{o:?}"
            );
        }
    }

    #[test]
    fn non_idempotent_requests_are_never_retried() {
        for o in [
            Outcome::Transport,
            Outcome::Timeout,
            Outcome::Decode,
            Outcome::Status(503),
        ] {
            for attempt in 0..3 {
                assert_eq!(
                    decide(&P, false, o, attempt, 0.5),
                    Decision::GiveUp,
                    "{o:?}"
                );
            }
        }
    }

    #[test]
    fn client_errors_and_429_are_not_retried() {
        for s in [400, 401, 403, 404, 411] {
            assert_eq!(
                decide(&P, true, Outcome::Status(s), 0, 0.5),
                Decision::GiveUp
            );
        }
        assert_eq!(
            decide(&P, true, Outcome::RateLimited, 0, 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_stops() {
        let wait = |attempt, jitter| match decide(&P, true, Outcome::Timeout, attempt, jitter) {
            Decision::Retry(d) => d,
            Decision::GiveUp => panic!("gave up at {attempt}"),
        };
        assert_eq!(wait(0, 0.0), Duration::from_millis(100));
        assert_eq!(wait(0, 1.0), Duration::from_millis(200));
        assert_eq!(wait(1, 0.0), Duration::from_millis(200));
        assert_eq!(wait(2, 1.0), Duration::from_millis(800));
        assert_eq!(decide(&P, true, Outcome::Timeout, 3, 0.5), Decision::GiveUp);
        let long = RetryPolicy::new(40, Duration::from_millis(200), Duration::from_secs(5));
        match decide(&long, true, Outcome::Timeout, 30, 1.0) {
            Decision::Retry(d) => assert_eq!(d, Duration::from_secs(5)),
            Decision::GiveUp => panic!(),
        }
        assert_eq!(
            decide(&RetryPolicy::never(), true, Outcome::Timeout, 0, 0.5),
            Decision::GiveUp
        );
    }
}
