//! Time values as IBKR sends them: epoch milliseconds and millisecond durations.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A point in time sent as milliseconds since the Unix epoch (e.g. `AUTH_TIME`).
///
/// ```
/// use ibkr_model::time::EpochMillis;
/// let t = EpochMillis(1702580846836);
/// assert_eq!(t.to_datetime().unwrap().to_rfc3339(), "2023-12-14T19:07:26.836+00:00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EpochMillis(pub i64);

impl EpochMillis {
    /// The instant as a UTC date-time, or `None` if it is out of chrono's range.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        Utc.timestamp_millis_opt(self.0).single()
    }

    /// The milliseconds of a UTC date-time.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        EpochMillis(t.timestamp_millis())
    }
}

impl fmt::Display for EpochMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S%.3f UTC")),
            None => write!(f, "{} ms since epoch", self.0),
        }
    }
}

/// A span of time sent as whole milliseconds (e.g. `ssoExpires`, `EXPIRES`).
///
/// ```
/// use ibkr_model::time::Millis;
/// assert_eq!(Millis(460311).as_duration().as_secs(), 460);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// The span as a [`Duration`].
    pub fn as_duration(self) -> Duration {
        Duration::from_millis(self.0)
    }

    /// Whole milliseconds of a [`Duration`], saturating at `u64::MAX`.
    pub fn from_duration(d: Duration) -> Self {
        Millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1000;
        write!(f, "{}m{:02}s", secs / 60, secs % 60)
    }
}
