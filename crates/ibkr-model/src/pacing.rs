//! IBKR's request-rate limits, as data: one table, used by the client to wait its
//! turn and by the simulator to enforce the same limits.
//!
//! Source: IBKR's Web API documentation, "Pacing Limitations": a global limit of 10
//! requests/s through the Client Portal Gateway (50/s per authenticated username in
//! OAuth mode), a per-endpoint table, 5 concurrent historical-data requests, 429
//! beyond, and a 10-minute penalty box for the offending address.
//!
//! ```
//! use ibkr_model::pacing::{Limit, PacingClass, PacingTable};
//! use std::time::Duration;
//!
//! let mut table = PacingTable::gateway();
//! assert_eq!(PacingClass::of_path("/iserver/marketdata/snapshot"), Some(PacingClass::Snapshot));
//! assert_eq!(table.limit(PacingClass::Tickle), Some(Limit::rate(1, Duration::from_secs(1))));
//! // Overriding an entry: e.g. a stricter snapshot limit.
//! table.set(PacingClass::Snapshot, Some(Limit::rate(5, Duration::from_secs(1))));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An endpoint family with a limit of its own, beside the global limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PacingClass {
    /// `GET /iserver/marketdata/snapshot`: 10/s.
    Snapshot,
    /// `GET /iserver/marketdata/history` (and `/hmds/history`): 5 at once.
    History,
    /// `GET /iserver/account/orders` (live orders): 1 per 5 s.
    LiveOrders,
    /// `GET /iserver/account/trades`: 1 per 5 s.
    Trades,
    /// `GET /iserver/account/pnl/partitioned`: 1 per 5 s.
    PnlPartitioned,
    /// `GET /portfolio/accounts`: 1 per 5 s.
    PortfolioAccounts,
    /// `GET /portfolio/subaccounts`: 1 per 5 s.
    PortfolioSubaccounts,
    /// `GET /iserver/scanner/params`: 1 per 15 min.
    ScannerParams,
    /// `POST /iserver/scanner/run`: 1/s.
    ScannerRun,
    /// `/pa/*` (Portfolio Analyst): 1 per 15 min, shared.
    PortfolioAnalyst,
    /// `/fyi/*` (notifications): 1/s, shared.
    Fyi,
    /// `/tickle`: 1/s.
    Tickle,
    /// `/sso/validate`: 1/min.
    SsoValidate,
}

impl PacingClass {
    /// Every class.
    pub const ALL: [PacingClass; 13] = [
        PacingClass::Snapshot,
        PacingClass::History,
        PacingClass::LiveOrders,
        PacingClass::Trades,
        PacingClass::PnlPartitioned,
        PacingClass::PortfolioAccounts,
        PacingClass::PortfolioSubaccounts,
        PacingClass::ScannerParams,
        PacingClass::ScannerRun,
        PacingClass::PortfolioAnalyst,
        PacingClass::Fyi,
        PacingClass::Tickle,
        PacingClass::SsoValidate,
    ];

    /// The class of an API path (relative to `/v1/api`, with or without the leading
    /// slash, query or trailing slash), or `None` when only the global limit applies.
    pub fn of_path(path: &str) -> Option<PacingClass> {
        let p = path.split(['?', '#']).next().unwrap_or("");
        let p = p.trim_start_matches("/v1/api").trim_matches('/');
        Some(match p {
            "iserver/marketdata/snapshot" => PacingClass::Snapshot,
            "iserver/marketdata/history" | "hmds/history" => PacingClass::History,
            "iserver/account/orders" | "iserver/orders" => PacingClass::LiveOrders,
            "iserver/account/trades" | "iserver/trades" => PacingClass::Trades,
            "iserver/account/pnl/partitioned" => PacingClass::PnlPartitioned,
            "portfolio/accounts" => PacingClass::PortfolioAccounts,
            "portfolio/subaccounts" => PacingClass::PortfolioSubaccounts,
            "iserver/scanner/params" => PacingClass::ScannerParams,
            "iserver/scanner/run" => PacingClass::ScannerRun,
            "tickle" => PacingClass::Tickle,
            "sso/validate" => PacingClass::SsoValidate,
            _ if p.starts_with("pa/") => PacingClass::PortfolioAnalyst,
            _ if p.starts_with("fyi/") => PacingClass::Fyi,
            _ => return None,
        })
    }

    /// A short name, e.g. `snapshot`.
    pub fn name(self) -> &'static str {
        match self {
            PacingClass::Snapshot => "snapshot",
            PacingClass::History => "history",
            PacingClass::LiveOrders => "live_orders",
            PacingClass::Trades => "trades",
            PacingClass::PnlPartitioned => "pnl_partitioned",
            PacingClass::PortfolioAccounts => "portfolio_accounts",
            PacingClass::PortfolioSubaccounts => "portfolio_subaccounts",
            PacingClass::ScannerParams => "scanner_params",
            PacingClass::ScannerRun => "scanner_run",
            PacingClass::PortfolioAnalyst => "portfolio_analyst",
            PacingClass::Fyi => "fyi",
            PacingClass::Tickle => "tickle",
            PacingClass::SsoValidate => "sso_validate",
        }
    }
}

impl fmt::Display for PacingClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A limit: so many requests per period, or so many at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Limit {
    /// At most `count` requests in any `per`.
    Rate {
        /// Requests allowed per period.
        count: u32,
        /// The period.
        per: Duration,
    },
    /// At most this many requests in flight at once.
    Concurrent(u32),
}

impl Limit {
    /// `count` requests per `per`.
    pub const fn rate(count: u32, per: Duration) -> Limit {
        Limit::Rate { count, per }
    }

    /// The average time between requests at the limit, for rate limits.
    pub fn interval(&self) -> Option<Duration> {
        match *self {
            Limit::Rate { count, per } if count > 0 => Some(per / count),
            _ => None,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Rate { count, per } => {
                let s = per.as_secs_f64();
                if s >= 60.0 && s % 60.0 == 0.0 {
                    write!(f, "{count} per {} min", s / 60.0)
                } else {
                    write!(f, "{count} per {s} s")
                }
            }
            Limit::Concurrent(n) => write!(f, "{n} at once"),
        }
    }
}

/// The limits: a global rate plus one limit per class. Edit it with [`set`](Self::set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacingTable {
    global: Option<Limit>,
    classes: BTreeMap<PacingClass, Limit>,
}

const SEC: Duration = Duration::from_secs(1);

impl PacingTable {
    /// IBKR's limits through the Client Portal Gateway (10 requests/s globally).
    pub fn gateway() -> Self {
        use PacingClass::*;
        let min = Duration::from_secs(60);
        let classes = [
            (Snapshot, Limit::rate(10, SEC)),
            (History, Limit::Concurrent(5)),
            (LiveOrders, Limit::rate(1, 5 * SEC)),
            (Trades, Limit::rate(1, 5 * SEC)),
            (PnlPartitioned, Limit::rate(1, 5 * SEC)),
            (PortfolioAccounts, Limit::rate(1, 5 * SEC)),
            (PortfolioSubaccounts, Limit::rate(1, 5 * SEC)),
            (ScannerParams, Limit::rate(1, 15 * min)),
            (ScannerRun, Limit::rate(1, SEC)),
            (PortfolioAnalyst, Limit::rate(1, 15 * min)),
            (Fyi, Limit::rate(1, SEC)),
            (Tickle, Limit::rate(1, SEC)),
            (SsoValidate, Limit::rate(1, min)),
        ];
        PacingTable {
            global: Some(Limit::rate(10, SEC)),
            classes: classes.into_iter().collect(),
        }
    }

    /// IBKR's limits for OAuth sessions at `api.ibkr.com` (50 requests/s globally).
    pub fn oauth() -> Self {
        let mut t = PacingTable::gateway();
        t.global = Some(Limit::rate(50, SEC));
        t
    }

    /// No limits at all (for tests and benchmarks against a simulator without pacing).
    pub fn unlimited() -> Self {
        PacingTable {
            global: None,
            classes: BTreeMap::new(),
        }
    }

    /// The global limit, if any.
    pub fn global(&self) -> Option<Limit> {
        self.global
    }

    /// Replaces the global limit (`None`: no global limit).
    pub fn set_global(&mut self, limit: Option<Limit>) -> &mut Self {
        self.global = limit;
        self
    }

    /// The limit of a class, if any.
    pub fn limit(&self, class: PacingClass) -> Option<Limit> {
        self.classes.get(&class).copied()
    }

    /// Replaces a class's limit (`None`: only the global limit applies).
    pub fn set(&mut self, class: PacingClass, limit: Option<Limit>) -> &mut Self {
        match limit {
            Some(l) => self.classes.insert(class, l),
            None => self.classes.remove(&class),
        };
        self
    }

    /// Every class limit, in a stable order.
    pub fn classes(&self) -> impl Iterator<Item = (PacingClass, Limit)> + '_ {
        self.classes.iter().map(|(c, l)| (*c, *l))
    }
}

impl Default for PacingTable {
    fn default() -> Self {
        PacingTable::gateway()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_documented_classes() {
        let cases = [
            (
                "/iserver/marketdata/snapshot?conids=265598&fields=31",
                Some(PacingClass::Snapshot),
            ),
            ("iserver/marketdata/history", Some(PacingClass::History)),
            (
                "/v1/api/iserver/account/orders/",
                Some(PacingClass::LiveOrders),
            ),
            ("/iserver/account/trades?days=3", Some(PacingClass::Trades)),
            (
                "/iserver/account/pnl/partitioned",
                Some(PacingClass::PnlPartitioned),
            ),
            ("/portfolio/accounts", Some(PacingClass::PortfolioAccounts)),
            (
                "/portfolio/subaccounts",
                Some(PacingClass::PortfolioSubaccounts),
            ),
            ("/iserver/scanner/params", Some(PacingClass::ScannerParams)),
            ("/iserver/scanner/run", Some(PacingClass::ScannerRun)),
            ("/pa/performance", Some(PacingClass::PortfolioAnalyst)),
            ("/fyi/notifications/more", Some(PacingClass::Fyi)),
            ("/tickle", Some(PacingClass::Tickle)),
            ("/sso/validate", Some(PacingClass::SsoValidate)),
            ("/iserver/auth/status", None),
            ("/iserver/account/U123/orders", None),
            ("/portfolio/U123/positions/0", None),
            ("/parrot", None),
        ];
        for (path, want) in cases {
            assert_eq!(PacingClass::of_path(path), want, "{path}");
        }
    }

    #[test]
    fn the_gateway_table_is_ibkrs() {
        let t = PacingTable::gateway();
        assert_eq!(t.global(), Some(Limit::rate(10, SEC)));
        assert_eq!(PacingTable::oauth().global(), Some(Limit::rate(50, SEC)));
        assert_eq!(t.limit(PacingClass::History), Some(Limit::Concurrent(5)));
        assert_eq!(
            t.limit(PacingClass::ScannerParams).unwrap().interval(),
            Some(Duration::from_secs(900))
        );
        assert_eq!(
            t.limit(PacingClass::SsoValidate).unwrap().to_string(),
            "1 per 1 min"
        );
        assert_eq!(t.classes().count(), PacingClass::ALL.len());
        assert!(PacingTable::unlimited().global().is_none());
    }

    #[test]
    fn tables_can_be_overridden() {
        let mut t = PacingTable::gateway();
        t.set(PacingClass::Tickle, None)
            .set_global(Some(Limit::rate(5, SEC)));
        assert_eq!(t.limit(PacingClass::Tickle), None);
        assert_eq!(
            t.global().unwrap().interval(),
            Some(Duration::from_millis(200))
        );
    }
}
