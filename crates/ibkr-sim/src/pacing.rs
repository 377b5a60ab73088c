//! IBKR's rate limits, enforced per client address: the same table the client keeps
//! ([`PacingTable`]), token buckets for rates (a limit of N per period lets N through
//! at once, then N per period), counters for concurrency. A request over a limit gets
//! 429 and puts its address in the penalty box: every request from it gets 429 until
//! the penalty (10 minutes at IBKR) has passed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ibkr_model::pacing::{Limit, PacingClass, PacingTable};
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Default)]
struct Address {
    penalty_until: Option<Instant>,
    buckets: HashMap<&'static str, Bucket>,
    in_flight: HashMap<PacingClass, u32>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// This request went over the limit of `class` (`None`: the global limit).
    OverLimit(Option<PacingClass>),
    /// The address is in the penalty box for this much longer.
    PenaltyBox(Duration),
}

#[derive(Debug)]
pub(crate) struct Enforcer {
    table: PacingTable,
    penalty: Duration,
    addresses: Mutex<HashMap<IpAddr, Address>>,
}

/// Holds a concurrency slot until dropped.
pub(crate) struct InFlight {
    enforcer: Arc<Enforcer>,
    ip: IpAddr,
    class: PacingClass,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut a = self.enforcer.lock();
        if let Some(n) = a
            .get_mut(&self.ip)
            .and_then(|addr| addr.in_flight.get_mut(&self.class))
        {
            *n = n.saturating_sub(1);
        }
    }
}

fn take(b: &mut Bucket, limit: &Limit, now: Instant, consume: bool) -> bool {
    let Limit::Rate { count, per } = *limit else {
        return true;
    };
    let rate = f64::from(count) / per.as_secs_f64().max(1e-9);
    let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
    let tokens = (b.tokens + elapsed * rate).min(f64::from(count));
    if tokens < 1.0 {
        return false;
    }
    if consume {
        b.tokens = tokens - 1.0;
        b.last = now;
    }
    true
}

impl Enforcer {
    pub fn new(table: PacingTable, penalty: Duration) -> Self {
        Enforcer {
            table,
            penalty,
            addresses: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Address>> {
        self.addresses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a request to `path` from `ip`, or says why not.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        path: &str,
        now: Instant,
    ) -> Result<Option<InFlight>, Refusal> {
        let class = PacingClass::of_path(path);
        let mut all = self.lock();
        let addr = all.entry(ip).or_default();
        if let Some(until) = addr.penalty_until {
            if now < until {
                return Err(Refusal::PenaltyBox(until - now));
            }
            addr.penalty_until = None;
        }
        let class_limit = class.and_then(|c| self.table.limit(c).map(|l| (c, l)));
        let mut checks: Vec<(&'static str, Limit, Option<PacingClass>)> = Vec::new();
        if let Some(g) = self.table.global() {
            checks.push(("global", g, None));
        }
        if let Some((c, l @ Limit::Rate { .. })) = class_limit {
            checks.push((c.name(), l, Some(c)));
        }
        let fresh = |l: &Limit| Bucket {
            tokens: match l {
                Limit::Rate { count, .. } => f64::from(*count),
                _ => 0.0,
            },
            last: now,
        };
        // Check every limit before consuming any, so a refused request costs nothing.
        for (key, limit, which) in &checks {
            let b = addr.buckets.entry(key).or_insert_with(|| fresh(limit));
            if !take(b, limit, now, false) {
                addr.penalty_until = Some(now + self.penalty);
                return Err(Refusal::OverLimit(*which));
            }
        }
        if let Some((c, Limit::Concurrent(n))) = class_limit {
            let in_flight = addr.in_flight.entry(c).or_default();
            if *in_flight >= n {
                addr.penalty_until = Some(now + self.penalty);
                return Err(Refusal::OverLimit(Some(c)));
            }
        }
        for (key, limit, _) in &checks {
            if let Some(b) = addr.buckets.get_mut(key) {
                take(b, limit, now, true);
            }
        }
        Ok(match class_limit {
            Some((c, Limit::Concurrent(_))) => {
                *addr.in_flight.entry(c).or_default() += 1;
                Some(InFlight {
                    enforcer: self.clone(),
                    ip,
                    class: c,
                })
            }
            _ => None,
        })
    }

    /// Forgets every address (a gateway restart).
    pub fn reset(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn a_burst_over_the_global_limit_is_refused_then_boxed() {
        let e = Arc::new(Enforcer::new(
            PacingTable::gateway(),
            Duration::from_secs(5),
        ));
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(
                e.admit(ip(), "/iserver/auth/status", t0).is_ok(),
                "request {i}"
            );
        }
        assert_eq!(
            e.admit(ip(), "/iserver/auth/status", t0).err(),
            Some(Refusal::OverLimit(None))
        );
        // In the box, even a request that the buckets would allow is refused...
        assert!(matches!(
            e.admit(ip(), "/iserver/auth/status", t0 + Duration::from_secs(2)),
            Err(Refusal::PenaltyBox(_))
        ));
        // ...until the penalty has passed.
        assert!(
            e.admit(ip(), "/iserver/auth/status", t0 + Duration::from_secs(5))
                .is_ok()
        );
        // Other addresses were never affected.
        assert!(e.admit("127.0.0.2".parse().unwrap(), "/tickle", t0).is_ok());
    }

    #[test]
    fn evenly_spaced_requests_at_the_limit_pass() {
        let e = Arc::new(Enforcer::new(
            PacingTable::gateway(),
            Duration::from_secs(600),
        ));
        let t0 = Instant::now();
        for i in 0..100u32 {
            let at = t0 + Duration::from_millis(100) * i;
            assert!(
                e.admit(ip(), "/iserver/marketdata/snapshot", at).is_ok(),
                "request {i}"
            );
        }
        for i in 0..5u32 {
            let at = t0 + Duration::from_secs(20) + Duration::from_secs(1) * i;
            assert!(e.admit(ip(), "/tickle", at).is_ok(), "tickle {i}");
        }
    }

    #[test]
    fn per_class_limits_apply_beside_the_global_one() {
        let e = Arc::new(Enforcer::new(
            PacingTable::gateway(),
            Duration::from_secs(1),
        ));
        let t0 = Instant::now();
        assert!(e.admit(ip(), "/tickle", t0).is_ok());
        assert_eq!(
            e.admit(ip(), "/tickle", t0 + Duration::from_millis(500))
                .err(),
            Some(Refusal::OverLimit(Some(PacingClass::Tickle)))
        );
    }

    #[test]
    fn history_allows_five_at_once() {
        let e = Arc::new(Enforcer::new(
            PacingTable::gateway(),
            Duration::from_secs(1),
        ));
        let t0 = Instant::now();
        let held: Vec<_> = (0..5u32)
            .map(|i| {
                e.admit(
                    ip(),
                    "/iserver/marketdata/history",
                    t0 + Duration::from_millis(150) * i,
                )
                .unwrap()
            })
            .collect();
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            e.admit(ip(), "/iserver/marketdata/history", t1).err(),
            Some(Refusal::OverLimit(Some(PacingClass::History)))
        );
        drop(held);
        let t2 = t1 + Duration::from_secs(2);
        assert!(e.admit(ip(), "/iserver/marketdata/history", t2).is_ok());
    }
}
