//! Client-side pacing: every request waits its turn so that IBKR's limits are never
//! exceeded, instead of failing or tripping the 10-minute penalty box.
//!
//! Each request counts against the global limit and, when its path belongs to a
//! [`PacingClass`], against that class's limit too. Rate limits are kept by spacing
//! requests evenly (first come, first served: slots are handed out in arrival order);
//! concurrency limits by a fair semaphore. A 429, which pacing should make
//! impossible, holds the class and the global limit for the penalty window.
//!
//! The limits are the [`PacingTable`]; replace it with
//! [`ClientBuilder::pacing`](crate::ClientBuilder::pacing). Processes sharing one
//! gateway can share their reservations through a [`PacingStore`], e.g.
//! [`FilePacingStore`] (the `ibkr` command does).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use ibkr_model::pacing::{Limit, PacingClass, PacingTable};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The wait between two requests of a rate limit: the average interval, plus a
/// safety margin for the jitter between taking a turn and arriving at the gateway
/// (connecting, TLS): 1% where the limit allows bursts (the gateway's bucket absorbs
/// jitter), and at least 100 ms where it allows a single request per period, which
/// leaves no slack — enough for separate processes that each open a connection.
pub fn spacing(limit: &Limit) -> Option<Duration> {
    match *limit {
        Limit::Rate { count, per } if count > 0 => {
            let interval = per / count;
            let margin = if count == 1 {
                (interval / 100).max(Duration::from_millis(100))
            } else {
                interval / 100
            };
            Some(interval + margin)
        }
        _ => None,
    }
}

/// Where rate reservations are kept when several processes share a gateway.
pub trait PacingStore: Send + Sync + fmt::Debug {
    /// Reserves the first slot for `key` at or after `not_before` and after the
    /// previous reservation plus `spacing`, unless it would come after `deadline`
    /// (then nothing is reserved and `None` is returned).
    fn reserve(
        &self,
        key: &str,
        spacing: Duration,
        not_before: SystemTime,
        deadline: Option<SystemTime>,
    ) -> std::io::Result<Option<SystemTime>>;

    /// Holds `key` until `until` (after a 429).
    fn hold(&self, key: &str, until: SystemTime) -> std::io::Result<()>;
}

/// A [`PacingStore`] in a small JSON file, locked while a slot is reserved, so that
/// separate processes (e.g. `ibkr` commands run in a shell loop) pace together.
#[derive(Debug, Clone)]
pub struct FilePacingStore {
    path: PathBuf,
}

#[derive(Debug, Default, serde::Deserialize, Serialize)]
struct FileSlot {
    next_ms: u64,
    hold_ms: u64,
}

impl FilePacingStore {
    /// A store in `path` (created when missing).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FilePacingStore { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_slots<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, FileSlot>) -> T,
    ) -> std::io::Result<T> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        file.lock()?;
        let result = (|| {
            let mut text = String::new();
            file.read_to_string(&mut text)?;
            // A damaged file only loses old reservations.
            let mut slots: BTreeMap<String, FileSlot> =
                serde_json::from_str(&text).unwrap_or_default();
            let out = f(&mut slots);
            let json = serde_json::to_vec(&slots).map_err(std::io::Error::other)?;
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&json)?;
            Ok(out)
        })();
        let _ = File::unlock(&file);
        result
    }
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl PacingStore for FilePacingStore {
    fn reserve(
        &self,
        key: &str,
        spacing: Duration,
        not_before: SystemTime,
        deadline: Option<SystemTime>,
    ) -> std::io::Result<Option<SystemTime>> {
        self.with_slots(|slots| {
            let slot = slots.entry(key.to_string()).or_default();
            let at = ms(not_before).max(slot.next_ms).max(slot.hold_ms);
            if deadline.is_some_and(|d| at > ms(d)) {
                return None;
            }
            slot.next_ms = at + spacing.as_millis() as u64;
            Some(from_ms(at))
        })
    }

    fn hold(&self, key: &str, until: SystemTime) -> std::io::Result<()> {
        self.with_slots(|slots| {
            let slot = slots.entry(key.to_string()).or_default();
            slot.hold_ms = slot.hold_ms.max(ms(until));
        })
    }
}

/// Counters of one pacing class (or of the requests with no class: `other`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ClassMetrics {
    /// Requests sent.
    pub sent: u64,
    /// Time spent waiting for a turn, summed over requests.
    pub waited: Duration,
    /// Retries.
    pub retries: u64,
    /// HTTP 429 answers (pacing should keep this at zero).
    pub rate_limited: u64,
}

/// A snapshot of the pacing counters, per class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PacingMetrics {
    /// Counters by class name (`other` for requests under the global limit only).
    pub classes: BTreeMap<String, ClassMetrics>,
}

impl PacingMetrics {
    /// The sum over every class.
    pub fn total(&self) -> ClassMetrics {
        self.classes
            .values()
            .fold(ClassMetrics::default(), |a, m| ClassMetrics {
                sent: a.sent + m.sent,
                waited: a.waited + m.waited,
                retries: a.retries + m.retries,
                rate_limited: a.rate_limited + m.rate_limited,
            })
    }
}

impl fmt::Display for PacingMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<22} {:>6} {:>10} {:>7} {:>5}",
            "class", "sent", "waited", "retries", "429s"
        )?;
        for (name, m) in &self.classes {
            writeln!(
                f,
                "{:<22} {:>6} {:>9.3}s {:>7} {:>5}",
                name,
                m.sent,
                m.waited.as_secs_f64(),
                m.retries,
                m.rate_limited
            )?;
        }
        Ok(())
    }
}

const GLOBAL: &str = "global";

fn key(class: Option<PacingClass>) -> &'static str {
    class.map(PacingClass::name).unwrap_or("other")
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    next: Option<Instant>,
    hold: Option<Instant>,
}

/// Admission to send one request; holds a concurrency permit while alive.
#[derive(Debug)]
pub(crate) struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

/// The pacer of one client.
#[derive(Debug)]
pub(crate) struct Pacer {
    table: PacingTable,
    slots: Mutex<HashMap<&'static str, Slot>>,
    semaphores: HashMap<PacingClass, Arc<Semaphore>>,
    store: Option<Arc<dyn PacingStore>>,
    metrics: Mutex<PacingMetrics>,
}

impl Pacer {
    pub fn new(table: PacingTable, store: Option<Arc<dyn PacingStore>>) -> Self {
        let semaphores = table
            .classes()
            .filter_map(|(c, l)| match l {
                Limit::Concurrent(n) => Some((c, Arc::new(Semaphore::new(n.max(1) as usize)))),
                _ => None,
            })
            .collect();
        Pacer {
            table,
            slots: Mutex::new(HashMap::new()),
            semaphores,
            store,
            metrics: Mutex::new(PacingMetrics::default()),
        }
    }

    pub fn table(&self) -> &PacingTable {
        &self.table
    }

    /// Waits for the request's turn: its class first, then the global limit. When the
    /// turn would come after `deadline`, returns at once with the wait it would take.
    pub async fn admit(
        &self,
        class: Option<PacingClass>,
        deadline: Option<Instant>,
    ) -> Result<Admission, Duration> {
        let start = Instant::now();
        let mut permit = None;
        if let Some(c) = class {
            match self.table.limit(c) {
                Some(Limit::Concurrent(_)) => {
                    let sem = self.semaphores.get(&c).cloned();
                    if let Some(sem) = sem {
                        let acquire = sem.acquire_owned();
                        let p = match deadline {
                            Some(d) => tokio::time::timeout_at(d, acquire)
                                .await
                                .map_err(|_| d.saturating_duration_since(start))?,
                            None => acquire.await,
                        };
                        permit = p.ok();
                    }
                }
                Some(limit) => self.wait_rate(c.name(), &limit, deadline).await?,
                None => {}
            }
        }
        if let Some(limit) = self.table.global() {
            self.wait_rate(GLOBAL, &limit, deadline).await?;
        }
        let waited = start.elapsed();
        self.count(class, |m| m.waited += waited);
        Ok(Admission { _permit: permit })
    }

    async fn wait_rate(
        &self,
        key: &'static str,
        limit: &Limit,
        deadline: Option<Instant>,
    ) -> Result<(), Duration> {
        let Some(spacing) = spacing(limit) else {
            return Ok(());
        };
        let now = Instant::now();
        let slot = match &self.store {
            Some(store) => {
                let sys_now = SystemTime::now();
                let sys_deadline = deadline.map(|d| sys_now + d.saturating_duration_since(now));
                match store.reserve(key, spacing, sys_now, sys_deadline) {
                    Ok(Some(at)) => now + at.duration_since(sys_now).unwrap_or_default(),
                    Ok(None) => return Err(self.would_wait(key, now)),
                    Err(e) => {
                        tracing::warn!("pacing store failed ({e}); pacing this process alone");
                        self.reserve_local(key, spacing, now, deadline)?
                    }
                }
            }
            None => self.reserve_local(key, spacing, now, deadline)?,
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
        Ok(())
    }

    fn reserve_local(
        &self,
        key: &'static str,
        spacing: Duration,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Result<Instant, Duration> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let s = slots.entry(key).or_default();
        let at = [Some(now), s.next, s.hold]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        if deadline.is_some_and(|d| at > d) {
            return Err(at - now);
        }
        s.next = Some(at + spacing);
        Ok(at)
    }

    fn would_wait(&self, key: &'static str, now: Instant) -> Duration {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .get(key)
            .and_then(|s| s.next.max(s.hold))
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or_default()
    }

    /// After a 429: nothing of this class, nor anything at all, until `hold` passes.
    pub fn penalize(&self, class: Option<PacingClass>, hold: Duration) {
        let until = Instant::now() + hold;
        {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            for k in [Some(key(class)).filter(|_| class.is_some()), Some(GLOBAL)]
                .into_iter()
                .flatten()
            {
                let s = slots.entry(k).or_default();
                s.hold = Some(s.hold.map_or(until, |h| h.max(until)));
            }
        }
        if let Some(store) = &self.store {
            let sys_until = SystemTime::now() + hold;
            for k in [class.map(PacingClass::name), Some(GLOBAL)]
                .into_iter()
                .flatten()
            {
                if let Err(e) = store.hold(k, sys_until) {
                    tracing::warn!("pacing store failed to record a hold: {e}");
                }
            }
        }
        self.count(class, |m| m.rate_limited += 1);
        tracing::warn!(
            class = key(class),
            "HTTP 429: holding requests for {hold:?}"
        );
    }

    pub fn count(&self, class: Option<PacingClass>, f: impl FnOnce(&mut ClassMetrics)) {
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        f(m.classes.entry(key(class).to_string()).or_default());
    }

    pub fn metrics(&self) -> PacingMetrics {
        self.metrics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn spacing_leaves_a_margin() {
        assert_eq!(
            spacing(&Limit::rate(10, secs(1.0))),
            Some(Duration::from_millis(101))
        );
        assert_eq!(
            spacing(&Limit::rate(1, secs(1.0))),
            Some(Duration::from_millis(1100))
        );
        assert_eq!(
            spacing(&Limit::rate(1, secs(5.0))),
            Some(Duration::from_millis(5100))
        );
        assert_eq!(spacing(&Limit::Concurrent(5)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_of_a_class_are_spaced_in_arrival_order() {
        let pacer = Arc::new(Pacer::new(PacingTable::gateway(), None));
        let t0 = Instant::now();
        let mut handles = Vec::new();
        for i in 0..5 {
            let p = pacer.clone();
            handles.push(tokio::spawn(async move {
                p.admit(Some(PacingClass::Tickle), None).await.unwrap();
                (i, t0.elapsed())
            }));
            tokio::task::yield_now().await;
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap());
        }
        for (i, (n, at)) in times.iter().enumerate() {
            assert_eq!(*n, i);
            assert_eq!(*at, Duration::from_millis(1100) * i as u32, "request {i}");
        }
        assert_eq!(
            pacer.metrics().classes["tickle"].waited,
            Duration::from_millis(1100 * 10)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_limit_spaces_everything() {
        let pacer = Pacer::new(PacingTable::gateway(), None);
        let t0 = Instant::now();
        for _ in 0..20 {
            pacer.admit(None, None).await.unwrap();
        }
        // 20 requests at 10/s (+1%): the 20th goes at 19 intervals.
        assert_eq!(t0.elapsed(), Duration::from_millis(101) * 19);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_limits_admit_five_at_once() {
        let pacer = Arc::new(Pacer::new(PacingTable::unlimited().clone(), None));
        let mut table = PacingTable::unlimited();
        table.set(PacingClass::History, Some(Limit::Concurrent(5)));
        let pacer5 = Arc::new(Pacer::new(table, None));
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(
                pacer5
                    .admit(Some(PacingClass::History), None)
                    .await
                    .unwrap(),
            );
        }
        let soon = Instant::now() + Duration::from_secs(1);
        assert_eq!(
            pacer5
                .admit(Some(PacingClass::History), Some(soon))
                .await
                .unwrap_err(),
            Duration::from_secs(1)
        );
        held.pop();
        assert!(
            pacer5
                .admit(Some(PacingClass::History), Some(soon))
                .await
                .is_ok()
        );
        assert!(pacer.admit(Some(PacingClass::History), None).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_shorter_than_the_wait_fails_at_once() {
        let pacer = Pacer::new(PacingTable::gateway(), None);
        pacer
            .admit(Some(PacingClass::SsoValidate), None)
            .await
            .unwrap();
        let t0 = Instant::now();
        let wait = pacer
            .admit(
                Some(PacingClass::SsoValidate),
                Some(t0 + Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert_eq!(t0.elapsed(), Duration::ZERO);
        assert!(wait > Duration::from_secs(59), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_the_class_and_the_global_limit() {
        let pacer = Pacer::new(PacingTable::gateway(), None);
        pacer.penalize(Some(PacingClass::Snapshot), Duration::from_secs(600));
        let t0 = Instant::now();
        // Another class waits too: the whole address is in the penalty box.
        pacer.admit(None, None).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(600));
        assert_eq!(pacer.metrics().classes["snapshot"].rate_limited, 1);
    }

    #[test]
    fn the_file_store_shares_slots_and_holds() {
        let path = std::env::temp_dir().join(format!(
            "ibkr-pacing-test-{}-{}.json",
            std::process::id(),
            ms(SystemTime::now())
        ));
        let a = FilePacingStore::new(&path);
        let b = FilePacingStore::new(&path);
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let sp = Duration::from_millis(101);
        assert_eq!(a.reserve("global", sp, t, None).unwrap(), Some(t));
        assert_eq!(b.reserve("global", sp, t, None).unwrap(), Some(t + sp));
        assert_eq!(a.reserve("global", sp, t, Some(t)).unwrap(), None);
        b.hold("global", t + Duration::from_secs(600)).unwrap();
        assert_eq!(
            a.reserve("global", sp, t, None).unwrap(),
            Some(t + Duration::from_secs(600))
        );
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(a.reserve("global", sp, t, None).unwrap(), Some(t));
        let _ = std::fs::remove_file(&path);
    }
}
