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
