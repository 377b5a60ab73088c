//! Every call names its endpoint, so that retry rules and error messages attach to
//! the endpoint rather than to each call site; its pacing class follows from its path
//! ([`PacingClass::of_path`](crate::pacing::PacingClass::of_path)).

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
    /// `GET /iserver/accounts`
    BrokerageAccounts,
    /// A call through [`Client::raw`](crate::Client::raw), not typed by this library.
    Raw,
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
            Endpoint::BrokerageAccounts => "GET /iserver/accounts",
            Endpoint::Raw => "raw request",
        }
    }

    /// Whether sending the request again is harmless, so that it may be retried.
    /// Raw calls are idempotent only when they are `GET`s; anything that could place,
    /// change or cancel an order never is.
    pub fn is_idempotent(self, method: &reqwest::Method) -> bool {
        match self {
            Endpoint::Raw => *method == reqwest::Method::GET,
            Endpoint::Logout => false,
            Endpoint::AuthStatus
            | Endpoint::InitBrokerageSession
            | Endpoint::Reauthenticate
            | Endpoint::Tickle
            | Endpoint::ValidateSso
            | Endpoint::BrokerageAccounts => true,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
