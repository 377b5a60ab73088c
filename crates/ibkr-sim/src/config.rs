//! Simulator configuration.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use ibkr_model::pacing::PacingTable;

use crate::faults::RandomFaults;

/// How the simulated gateway is started.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:5000`.
    pub listen: SocketAddr,
    /// Serve HTTPS with a self-signed certificate made at start (default), or plain HTTP.
    pub tls: bool,
    /// Log in at start, as if a user had logged in through the browser.
    pub auto_login: bool,
    /// The paper username accepted by the login page. Default `demo`.
    pub username: String,
    /// The password accepted by the login page. Default `demo`.
    pub password: String,
    /// Inactivity after which the session ends. Default 5 minutes.
    pub idle_timeout: Duration,
    /// Client addresses served (the gateway's `ips.allow`); others get 403.
    pub allow: AllowList,
    /// Answer 403 to API requests without a `User-Agent`, as the real gateway does.
    pub require_user_agent: bool,
    /// Answer 411 to `POST` requests without `Content-Length`, as the real gateway does.
    pub require_content_length: bool,
    /// The rate limits enforced per client address (`None`: no enforcement).
    /// IBKR's gateway limits by default.
    pub pacing: Option<PacingTable>,
    /// How long an address that went over a limit gets 429 for everything. Default
    /// 10 minutes, as at IBKR.
    pub penalty: Duration,
    /// Faults injected at random into a share of answers.
    pub faults: Option<RandomFaults>,
    /// Seed of the fault generator and of the price engine, so that a run can be
    /// replayed.
    pub seed: u64,
    /// The market's time at start (it then runs with the wall clock); the wall clock
    /// when `None`. Tests pin it to know whether markets are open.
    pub market_time: Option<chrono::DateTime<chrono::Utc>>,
    /// The paper broker's accounts: one individual paper account by default.
    pub broker: crate::broker::BrokerConfig,
    /// How long an order-reply id (`/iserver/reply/{id}`) stays valid. Default 60 s.
    pub reply_timeout: Duration,
    /// The precautionary settings behind the order prompts (price percentage, size and
    /// total value limits).
    pub precautions: Precautions,
    /// How often working orders are matched in the background, so that they fill
    /// without anyone polling. Default 250 ms.
    pub order_tick: Duration,
    /// Play IBKR's OAuth 1.0a server instead of a Client Portal Gateway: no browser
    /// login (`auto_login` is ignored), a live session token at
    /// `POST /v1/api/oauth/live_session_token`, and every API request checked for its
    /// signature (see [`oauth_http`](crate::oauth_http)). `None` (the default): the
    /// gateway's browser session.
    pub oauth: Option<crate::oauth_http::OAuthSettings>,
}

/// The precautionary settings of the login ("fat finger" protections): an order beyond
/// one of them gets a prompt (`o163`, `o383`, `o451`) that must be confirmed through
/// `/iserver/reply/{id}` or suppressed beforehand.
///
/// ```
/// use ibkr_sim::Precautions;
/// use rust_decimal::Decimal;
/// let p = Precautions::default();
/// assert_eq!(p.price_percentage, Decimal::from(3));
/// assert_eq!(p.size_limit, Decimal::from(500));
/// assert_eq!(p.total_value_limit, Decimal::from(100_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Precautions {
    /// A limit price further than this percentage from the last price gets the `o163`
    /// prompt. Default 3 (%), as in IBKR's examples.
    pub price_percentage: rust_decimal::Decimal,
    /// An order of more units than this (shares, contracts; not currency amounts) gets
    /// the `o383` prompt. Default 500, as in IBKR's examples.
    pub size_limit: rust_decimal::Decimal,
    /// An order whose estimated value in USD exceeds this gets the `o451` prompt.
    /// Default 100,000, as in IBKR's examples.
    pub total_value_limit: rust_decimal::Decimal,
}

impl Default for Precautions {
    fn default() -> Self {
        Precautions {
            price_percentage: rust_decimal::Decimal::from(3),
            size_limit: rust_decimal::Decimal::from(500),
            total_value_limit: rust_decimal::Decimal::from(100_000),
        }
    }
}

impl Precautions {
    /// Sets the price percentage constraint.
    pub fn price_percentage(mut self, pct: rust_decimal::Decimal) -> Self {
        self.price_percentage = pct;
        self
    }

    /// Sets the size limit.
    pub fn size_limit(mut self, units: rust_decimal::Decimal) -> Self {
        self.size_limit = units;
        self
    }

    /// Sets the total value limit (USD).
    pub fn total_value_limit(mut self, usd: rust_decimal::Decimal) -> Self {
        self.total_value_limit = usd;
        self
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            tls: true,
            auto_login: false,
            username: "demo".into(),
            password: "demo".into(),
            idle_timeout: Duration::from_secs(300),
            allow: AllowList::loopback(),
            require_user_agent: true,
            require_content_length: true,
            pacing: Some(PacingTable::gateway()),
            penalty: Duration::from_secs(600),
            faults: None,
            seed: 0,
            market_time: None,
            broker: crate::broker::BrokerConfig::individual(),
            reply_timeout: Duration::from_secs(60),
            precautions: Precautions::default(),
            order_tick: Duration::from_millis(250),
            oauth: None,
        }
    }
}

impl GatewayConfig {
    /// The configuration for tests and demos: a free loopback port, HTTPS, logged in,
    /// and no rate-limit enforcement (turn it on with [`pacing`](Self::pacing) where
    /// the limits are what is tested).
    pub fn for_tests() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            auto_login: true,
            pacing: None,
            ..GatewayConfig::default()
        }
    }

    /// Sets the enforced rate limits (`None`: none).
    pub fn pacing(mut self, table: Option<PacingTable>) -> Self {
        self.pacing = table;
        self
    }

    /// Sets the penalty-box time after a 429.
    pub fn penalty(mut self, d: Duration) -> Self {
        self.penalty = d;
        self
    }

    /// Sets the paper broker's accounts, e.g. [`BrokerConfig::advisor`](crate::broker::BrokerConfig::advisor).
    pub fn broker(mut self, broker: crate::broker::BrokerConfig) -> Self {
        self.broker = broker;
        self
    }

    /// Sets how long an order-reply id stays valid.
    pub fn reply_timeout(mut self, d: Duration) -> Self {
        self.reply_timeout = d;
        self
    }

    /// Sets the precautionary settings behind the order prompts.
    pub fn precautions(mut self, p: Precautions) -> Self {
        self.precautions = p;
        self
    }

    /// Sets how often working orders are matched in the background (at least 10 ms).
    pub fn order_tick(mut self, d: Duration) -> Self {
        self.order_tick = d;
        self
    }

    /// Requires OAuth 1.0a instead of the browser login (`None`: the gateway's
    /// session rules); see [`GatewayConfig::oauth`](#structfield.oauth).
    pub fn oauth(mut self, settings: Option<crate::oauth_http::OAuthSettings>) -> Self {
        self.oauth = settings;
        self
    }

    /// Starts the market's clock at `t` (it then runs with the wall clock).
    pub fn market_time(mut self, t: chrono::DateTime<chrono::Utc>) -> Self {
        self.market_time = Some(t);
        self
    }

    /// Injects faults at random into a share of answers, from `seed`.
    pub fn faults(mut self, faults: Option<RandomFaults>, seed: u64) -> Self {
        self.faults = faults;
        self.seed = seed;
        self
    }

    /// Sets the listen address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serve HTTPS (`true`) or plain HTTP (`false`).
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Log in at start or not.
    pub fn auto_login(mut self, yes: bool) -> Self {
        self.auto_login = yes;
        self
    }

    /// Sets the login page's username and password.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = user.into();
        self.password = password.into();
        self
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// Sets the allowed client addresses.
    pub fn allow(mut self, allow: AllowList) -> Self {
        self.allow = allow;
        self
    }
}

/// Client addresses the gateway serves, in the style of the gateway's `ips.allow`
/// (`conf.yaml`): exact addresses or dotted IPv4 patterns with `*`, e.g. `192.168.*`.
///
/// ```
/// use ibkr_sim::AllowList;
/// let allow: AllowList = "127.*, ::1, 10.1.*".parse().unwrap();
/// assert!(allow.allows("10.1.2.3".parse().unwrap()));
/// assert!(!allow.allows("10.2.0.1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    rules: Vec<AllowRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowRule {
    Exact(IpAddr),
    /// IPv4 octets; `None` is a `*`.
    V4Pattern([Option<u8>; 4]),
    Any,
}

impl AllowList {
    /// Loopback only (`127.*` and `::1`): the default, as the stock gateway.
    pub fn loopback() -> Self {
        "127.*,::1".parse().expect("static pattern")
    }

    /// Every address (use with care: the gateway holds a live brokerage session).
    pub fn any() -> Self {
        AllowList {
            rules: vec![AllowRule::Any],
        }
    }

    /// Whether `ip` may use the gateway.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.rules.iter().any(|r| match (r, ip) {
            (AllowRule::Any, _) => true,
            (AllowRule::Exact(a), ip) => *a == ip,
            (AllowRule::V4Pattern(p), IpAddr::V4(v4)) => p
                .iter()
                .zip(v4.octets())
                .all(|(want, got)| want.is_none_or(|w| w == got)),
            (AllowRule::V4Pattern(_), IpAddr::V6(_)) => false,
        })
    }
}

impl FromStr for AllowList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut rules = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                rules.push(AllowRule::Any);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                rules.push(AllowRule::Exact(ip));
            } else {
                let parts: Vec<&str> = item.split('.').collect();
                if parts.is_empty() || parts.len() > 4 || parts.iter().all(|p| *p != "*") {
                    return Err(format!(
                        "`{item}` is neither an IP address nor a pattern like 192.168.*"
                    ));
                }
                let mut octets = [None; 4];
                for (i, part) in parts.iter().enumerate() {
                    if *part == "*" {
                        if i + 1 != parts.len() && parts[i + 1..].iter().any(|p| *p != "*") {
                            return Err(format!("`{item}`: `*` may only end a pattern"));
                        }
                        break;
                    }
                    octets[i] = Some(
                        part.parse::<u8>()
                            .map_err(|_| format!("`{item}`: `{part}` is not an octet"))?,
                    );
                }
                rules.push(AllowRule::V4Pattern(octets));
            }
        }
        if rules.is_empty() {
            return Err("the allow list is empty: no client could use the gateway".into());
        }
        Ok(AllowList { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_allows_loopback_only() {
        let a = AllowList::loopback();
        assert!(a.allows("127.0.0.1".parse().unwrap()));
        assert!(a.allows("127.9.9.9".parse().unwrap()));
        assert!(a.allows("::1".parse().unwrap()));
        assert!(a.allows("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!a.allows("192.168.1.1".parse().unwrap()));
        assert!(!a.allows("::2".parse().unwrap()));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!("".parse::<AllowList>().is_err());
        assert!("192.168.1".parse::<AllowList>().is_err());
        assert!("192.*.1.1".parse::<AllowList>().is_err());
        assert!("300.*".parse::<AllowList>().is_err());
        assert!(
            "*".parse::<AllowList>()
                .unwrap()
                .allows("8.8.8.8".parse().unwrap())
        );
    }
}
