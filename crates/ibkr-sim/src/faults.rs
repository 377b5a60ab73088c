//! Faults the simulator can inject into its answers, to test how clients cope.

use serde::{Deserialize, Serialize};

/// What goes wrong with an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultKind {
    /// The body is cut in the middle, so it is not valid JSON.
    TruncatedJson,
    /// The body is replaced by text that is not JSON.
    MalformedJson,
    /// The answer is replaced by this HTTP status with IBKR's error body.
    Status {
        /// The status code, e.g. 500 or 503.
        status: u16,
    },
    /// HTTP 200 with `{"error": message}`, as IBKR rejects some requests
    /// (e.g. `/tickle` answering `{"error":"failed to process request"}`).
    ErrorBody {
        /// The message.
        message: String,
    },
    /// The connection is dropped in the middle of the answer's body.
    Drop,
    /// The answer is delayed by this many milliseconds (then served normally).
    Delay {
        /// The delay.
        ms: u64,
    },
}

impl FaultKind {
    fn parse(word: &str) -> Result<FaultKind, String> {
        Ok(match word {
            "truncated" | "truncated_json" => FaultKind::TruncatedJson,
            "malformed" | "malformed_json" => FaultKind::MalformedJson,
            "drop" => FaultKind::Drop,
            "error_body" => FaultKind::ErrorBody {
                message: "failed to process request".into(),
            },
            w if w.starts_with("delay:") => FaultKind::Delay {
                ms: w["delay:".len()..]
                    .trim_end_matches("ms")
                    .parse()
                    .map_err(|_| format!("`{w}`: expected delay:MILLISECONDS, e.g. delay:200"))?,
            },
            w => match w.parse::<u16>() {
                Ok(status) if (400..600).contains(&status) => FaultKind::Status { status },
                _ => {
                    return Err(format!(
                        "unknown fault `{w}`: expected an HTTP status (500, 503...), drop, truncated, malformed, error_body or delay:MS"
                    ));
                }
            },
        })
    }
}

/// Faults drawn at random for a share of requests, from a seeded generator so that a
/// failing run can be replayed: `--faults "500=3%,drop=3%,malformed=4%" --seed 7`.
///
/// ```
/// use ibkr_sim::RandomFaults;
/// let f: RandomFaults = "503=5%,truncated=0.05,delay:200=10%".parse().unwrap();
/// assert!((f.share() - 0.20).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RandomFaults {
    /// (share, kind), shares summing to at most 1.
    kinds: Vec<(f64, FaultKind)>,
}

impl RandomFaults {
    /// The share of requests hit by some fault.
    pub fn share(&self) -> f64 {
        self.kinds.iter().map(|(s, _)| s).sum()
    }

    /// The fault for a uniform draw `r` in `[0, 1)`, if any.
    pub(crate) fn pick(&self, r: f64) -> Option<FaultKind> {
        let mut acc = 0.0;
        for (share, kind) in &self.kinds {
            acc += share;
            if r < acc {
                return Some(kind.clone());
            }
        }
        None
    }
}

impl std::str::FromStr for RandomFaults {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut kinds = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (kind, share) = item.rsplit_once('=').ok_or_else(|| {
                format!("`{item}`: expected KIND=SHARE, e.g. 500=5% or drop=0.02")
            })?;
            let share = match share.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
                None => share.trim().parse::<f64>(),
            }
            .map_err(|_| {
                format!("`{item}`: the share must be a fraction (0.05) or a percentage (5%)")
            })?;
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("`{item}`: the share must be between 0 and 100%"));
            }
            kinds.push((share, FaultKind::parse(kind.trim())?));
        }
        let f = RandomFaults { kinds };
        if f.share() > 1.0 + 1e-9 {
            return Err(format!(
                "the shares add up to {:.0}%, more than 100%",
                f.share() * 100.0
            ));
        }
        Ok(f)
    }
}

/// A one-shot fault: applies to the next `count` API requests whose path starts
/// with `path` (relative to `/v1/api`, e.g. `/tickle`), or to any path when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fault {
    /// What goes wrong.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Path prefix under `/v1/api`; every path when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// How many requests it hits. Default 1.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault hitting the next request to `path` (under `/v1/api`).
    pub fn on(path: impl Into<String>, kind: FaultKind) -> Self {
        Fault {
            kind,
            path: Some(path.into()),
            count: 1,
        }
    }

    /// Hits `count` requests instead of one.
    pub fn times(mut self, count: u32) -> Self {
        self.count = count;
        self
    }
}

/// Pending faults, consumed in order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    pending: Vec<Fault>,
}

impl FaultQueue {
    pub fn push(&mut self, f: Fault) {
        if f.count > 0 {
            self.pending.push(f);
        }
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Takes the fault for a request to `api_path`, if one is pending.
    pub fn take(&mut self, api_path: &str) -> Option<FaultKind> {
        let i = self.pending.iter().position(|f| {
            f.path
                .as_deref()
                .is_none_or(|p| api_path.starts_with(p.trim_end_matches('/')))
        })?;
        let f = &mut self.pending[i];
        f.count -= 1;
        let kind = f.kind.clone();
        if f.count == 0 {
            self.pending.remove(i);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_fault_specs_parse_and_pick_by_share() {
        let f: RandomFaults = "500=10%,drop=0.1,delay:250=5%".parse().unwrap();
        assert_eq!(f.pick(0.05), Some(FaultKind::Status { status: 500 }));
        assert_eq!(f.pick(0.15), Some(FaultKind::Drop));
        assert_eq!(f.pick(0.22), Some(FaultKind::Delay { ms: 250 }));
        assert_eq!(f.pick(0.5), None);
        for bad in [
            "500",
            "500=x",
            "teapot=1%",
            "500=60%,503=60%",
            "500=-1%",
            "delay:abc=1%",
        ] {
            assert!(bad.parse::<RandomFaults>().is_err(), "{bad}");
        }
    }

    #[test]
    fn faults_are_taken_by_path_and_count() {
        let mut q = FaultQueue::default();
        q.push(Fault::on("/tickle", FaultKind::MalformedJson).times(2));
        q.push(Fault {
            kind: FaultKind::Status { status: 503 },
            path: None,
            count: 1,
        });
        assert_eq!(q.take("/tickle"), Some(FaultKind::MalformedJson));
        assert_eq!(
            q.take("/sso/validate"),
            Some(FaultKind::Status { status: 503 })
        );
        assert_eq!(q.take("/sso/validate"), None);
        assert_eq!(q.take("/tickle"), Some(FaultKind::MalformedJson));
        assert_eq!(q.take("/tickle"), None);
    }

    #[test]
    fn faults_parse_from_control_json() {
        let f: Fault =
            serde_json::from_str(r#"{"kind":"status","status":500,"path":"/tickle"}"#).unwrap();
        assert_eq!(f.kind, FaultKind::Status { status: 500 });
        assert_eq!(f.count, 1);
    }
}
