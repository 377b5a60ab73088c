//! Every call names its endpoint, so that pacing limits, retry rules and error
//! messages attach to the endpoint rather than to each call site.

use std::fmt;

/// An API endpoint the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /iserver/auth/status`
    AuthStatus,
    /// `POST /iserver/auth/ssodh/init`
    InitBrokerageSession,
    /// `POST /iserver/reauthenticate`
    Reauthenticate,
    /// `POST /tickle`
    Tickle,
    /// `GET /sso/validate`
    ValidateSso,
    /// `POST /logout`
    Logout,
    /// A call through [`Client::raw`](crate::Client::raw), not typed by this library.
    Raw,
}

/// The pacing class of an endpoint: the IBKR rate limit it falls under, beside
/// the global limit every request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacingClass {
    /// Only the global limit (10 requests/s through the gateway).
    Global,
    /// `/tickle`: 1 request/s.
    Tickle,
    /// `/sso/validate`: 1 request/min.
    SsoValidate,
}

impl Endpoint {
    /// The method and path template, e.g. `POST /tickle`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::AuthStatus => "POST /iserver/auth/status",
            Endpoint::InitBrokerageSession => "POST /iserver/auth/ssodh/init",
            Endpoint::Reauthenticate => "POST /iserver/reauthenticate",
            Endpoint::Tickle => "POST /tickle",
            Endpoint::ValidateSso => "GET /sso/validate",
            Endpoint::Logout => "POST /logout",
            Endpoint::Raw => "raw request",
        }
    }

    /// The pacing class the endpoint falls under.
    pub fn pacing_class(self) -> PacingClass {
        match self {
            Endpoint::Tickle => PacingClass::Tickle,
            Endpoint::ValidateSso => PacingClass::SsoValidate,
            _ => PacingClass::Global,
        }
    }

    /// Whether sending the request twice could do harm (orders, later). Such
    /// requests are never retried blindly.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Endpoint::Raw | Endpoint::Logout)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
