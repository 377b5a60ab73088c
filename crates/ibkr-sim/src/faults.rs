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
    /// The request is processed (an order is placed, a reply confirmed), then its
    /// answer is replaced by this HTTP status with IBKR's error body: the client sees
    /// a failure although the gateway acted.
    StatusAfterProcessing {
        /// The status code, e.g. 503.
        status: u16,
    },
    /// The request is processed, then its answer is held back this many milliseconds
    /// before it is sent: a client with a shorter timeout gives up although the
    /// gateway acted.
    SlowAfterProcessing {
        /// The delay after processing.
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
            w if w.starts_with("slow:") => FaultKind::SlowAfterProcessing {
                ms: w["slow:".len()..]
                    .trim_end_matches("ms")
                    .parse()
                    .map_err(|_| format!("`{w}`: expected slow:MILLISECONDS, e.g. slow:3000"))?,
            },
            w if w.starts_with("after:") => match w["after:".len()..].parse::<u16>() {
                Ok(status) if (400..600).contains(&status) => {
                    FaultKind::StatusAfterProcessing { status }
                }
                _ => {
                    return Err(format!(
                        "`{w}`: expected after:STATUS with an HTTP error status, e.g. after:503"
                    ));
                }
            },
            w => match w.parse::<u16>() {
                Ok(status) if (400..600).contains(&status) => FaultKind::Status { status },
                _ => {
                    return Err(format!(
                        "unknown fault `{w}`: expected an HTTP status (500, 503...), drop, truncated, malformed, error_body, delay:MS, after:STATUS or slow:MS"
                    ));
                }
            },
        })
    }
}

/// Faults drawn at random for a share of requests, from a seeded generator so that a
/// failing run can be replayed: `--faults "500=3%,drop=3%,malformed=4%" --seed 7`.
///
/// `KIND` is an HTTP status (`500`), `drop`, `truncated`, `malformed`, `error_body`,
/// `delay:MS`, `after:STATUS` (the request is processed, then the answer replaced by
/// that status) or `slow:MS` (processed, then the answer held back). Items
/// `path=PATTERN` restrict the faults to the API paths (under `/v1/api`) matching one
/// of the patterns, where `*` stands for any characters (slashes included) and the
/// pattern must match the whole path: `path=/iserver/account/*/orders` hits the order
/// placements only.
///
/// ```
/// use ibkr_sim::RandomFaults;
/// let f: RandomFaults = "503=5%,truncated=0.05,delay:200=10%".parse().unwrap();
/// assert!((f.share() - 0.20).abs() < 1e-9);
/// let f: RandomFaults = "after:503=20%,slow:3000=10%,path=/iserver/account/*/orders,path=/iserver/reply/*"
///     .parse()
///     .unwrap();
/// assert!(f.applies_to("/iserver/account/DU1234567/orders"));
/// assert!(f.applies_to("/iserver/reply/0b7c"));
/// assert!(!f.applies_to("/iserver/accounts"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RandomFaults {
    /// (share, kind), shares summing to at most 1.
    kinds: Vec<(f64, FaultKind)>,
    /// Path patterns the faults are restricted to; every path when empty.
    paths: Vec<String>,
}

impl RandomFaults {
    /// The share of requests hit by some fault.
    pub fn share(&self) -> f64 {
        self.kinds.iter().map(|(s, _)| s).sum()
    }

    /// Restricts the faults to the API paths matching one of `patterns` (see the type's
    /// docs: `*` stands for any characters); every path when empty.
    pub fn only_paths<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.paths = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// The path patterns the faults are restricted to (empty: every path).
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Whether requests to `api_path` (under `/v1/api`) may be hit.
    pub fn applies_to(&self, api_path: &str) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|p| glob(p, api_path))
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
        let mut paths = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(pattern) = item
                .strip_prefix("path=")
                .or_else(|| item.strip_prefix("paths="))
            {
                let pattern = pattern.trim();
                if !pattern.starts_with('/') {
                    return Err(format!(
                        "`{item}`: a path pattern starts with `/`, e.g. path=/iserver/account/*/orders"
                    ));
                }
                paths.push(pattern.to_string());
                continue;
            }
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
        let f = RandomFaults { kinds, paths };
        if f.share() > 1.0 + 1e-9 {
            return Err(format!(
                "the shares add up to {:.0}%, more than 100%",
                f.share() * 100.0
            ));
        }
        Ok(f)
    }
}

/// Whether `text` matches `pattern` as a whole, `*` standing for any characters.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and where the text stood then, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
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
    fn after_processing_faults_and_path_patterns_parse() {
        let f: RandomFaults = "after:503=50%,slow:1500=50%,path=/iserver/account/*/orders"
            .parse()
            .unwrap();
        assert_eq!(
            f.pick(0.1),
            Some(FaultKind::StatusAfterProcessing { status: 503 })
        );
        assert_eq!(
            f.pick(0.9),
            Some(FaultKind::SlowAfterProcessing { ms: 1500 })
        );
        assert_eq!(f.paths(), ["/iserver/account/*/orders"]);
        assert!(f.applies_to("/iserver/account/DU1/orders"));
        assert!(!f.applies_to("/iserver/account/DU1/orders/whatif"));
        assert!(!f.applies_to("/tickle"));
        for bad in ["after:200=1%", "after:x=1%", "slow:x=1%", "path=iserver"] {
            assert!(bad.parse::<RandomFaults>().is_err(), "{bad}");
        }
        let any: RandomFaults = "500=1%".parse().unwrap();
        assert!(any.applies_to("/anything"));
        let f = any.only_paths(["/iserver/reply/*", "/iserver/account/*/order/*"]);
        assert!(f.applies_to("/iserver/reply/abc"));
        assert!(f.applies_to("/iserver/account/DU1/order/12"));
        assert!(!f.applies_to("/iserver/account/DU1/orders"));
    }

    #[test]
    fn globs_match_whole_paths() {
        assert!(glob("/a/*/c", "/a/b/c"));
        assert!(glob("/a/*/c", "/a/b/x/c"));
        assert!(glob("*", ""));
        assert!(glob("/a*", "/abc"));
        assert!(!glob("/a/*/c", "/a/b/cd"));
        assert!(!glob("/a", "/a/b"));
        assert!(glob("/*/*/x", "/p/q/r/x"));
    }

    #[test]
    fn faults_parse_from_control_json_with_the_new_kinds() {
        let f: Fault = serde_json::from_str(
            r#"{"kind":"status_after_processing","status":503,"path":"/iserver/reply/"}"#,
        )
        .unwrap();
        assert_eq!(f.kind, FaultKind::StatusAfterProcessing { status: 503 });
        let f: Fault =
            serde_json::from_str(r#"{"kind":"slow_after_processing","ms":2000}"#).unwrap();
        assert_eq!(f.kind, FaultKind::SlowAfterProcessing { ms: 2000 });
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
