//! Session and authentication: `/iserver/auth/status`, `/iserver/auth/ssodh/init`,
//! `/iserver/reauthenticate`, `/tickle`, `/sso/validate`, `/logout`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Extra;
use crate::time::{EpochMillis, Millis};

/// State of the brokerage session, from `POST /iserver/auth/status` and
/// `POST /iserver/auth/ssodh/init` (and nested in `/tickle`).
///
/// When the session has timed out or was logged out, IBKR sends only
/// `authenticated`, `competing`, `connected` and `MAC`; the other fields are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthStatus {
    /// Whether the brokerage session is authenticated: trading and market data need it.
    pub authenticated: bool,
    /// Whether the brokerage session is fully established (accounts loaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<bool>,
    /// Whether another brokerage session for the same user competes with this one.
    pub competing: bool,
    /// Whether the gateway is connected to IBKR's back end.
    pub connected: bool,
    /// A message about the state; empty when authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The gateway machine's MAC, as IBKR reports it (internal use).
    #[serde(rename = "MAC", default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The IBKR server this session talks to.
    #[serde(
        rename = "serverInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_info: Option<ServerInfo>,
    /// Hardware fingerprint (Client Portal use only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_info: Option<String>,
    /// Why the status could not be read, when it could not; empty otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AuthStatus {
    /// The short form IBKR sends for a timed-out or logged-out session.
    pub fn unauthenticated(mac: Option<String>) -> Self {
        AuthStatus {
            authenticated: false,
            established: None,
            competing: false,
            connected: false,
            message: None,
            mac,
            server_info: None,
            hardware_info: None,
            fail: None,
            extra: Extra::new(),
        }
    }

    /// A full status with every field set, as IBKR sends for a live session.
    pub fn new(authenticated: bool, competing: bool, connected: bool) -> Self {
        AuthStatus {
            authenticated,
            established: Some(authenticated),
            competing,
            connected,
            message: Some(String::new()),
            mac: None,
            server_info: None,
            hardware_info: None,
            fail: None,
            extra: Extra::new(),
        }
    }

    /// The non-empty message or failure reason, if any.
    pub fn reason(&self) -> Option<&str> {
        [self.fail.as_deref(), self.message.as_deref()]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
    }
}

/// The IBKR server behind a session (internal use; useful in bug reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ServerInfo {
    /// Server name, e.g. `JifN19053`.
    #[serde(
        rename = "serverName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_name: Option<String>,
    /// Build, e.g. `Build 10.25.0p, Dec 5, 2023 5:48:12 PM`.
    #[serde(
        rename = "serverVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_version: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ServerInfo {
    /// A server description from its name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ServerInfo {
            server_name: Some(name.into()),
            server_version: Some(version.into()),
            extra: Extra::new(),
        }
    }
}

/// Body of `POST /iserver/auth/ssodh/init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BrokerageSessionInitRequest {
    /// Publish the session token at once. IBKR answers 500 unless this is `true`.
    pub publish: bool,
    /// Disconnect other brokerage sessions of the same user to take over.
    pub compete: bool,
}

impl BrokerageSessionInitRequest {
    /// The request IBKR recommends: `publish: true`, with the given `compete`.
    pub fn new(compete: bool) -> Self {
        BrokerageSessionInitRequest {
            publish: true,
            compete,
        }
    }
}

/// Answer of `POST /tickle`.
///
/// ```
/// # use ibkr_model::auth::Tickle;
/// let t: Tickle = serde_json::from_str(r#"{"session":"bb66","ssoExpires":460311,"collission":false,
///     "userId":123456789,"hmds":{"error":"no bridge"},
///     "iserver":{"authStatus":{"authenticated":true,"competing":false,"connected":true}}}"#).unwrap();
/// assert!(t.is_authenticated());
/// assert!(t.hmds.unwrap().is_no_bridge());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tickle {
    /// The session identifier (also usable as the `api` cookie / WebSocket session).
    /// A secret: its `Debug` form shows only its start.
    pub session: SessionToken,
    /// Time left before the SSO session expires, refreshed by activity.
    #[serde(
        rename = "ssoExpires",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sso_expires: Option<Millis>,
    /// Internal flag, spelled as IBKR spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collission: Option<bool>,
    /// Internal user id.
    #[serde(rename = "userId", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    /// State of the historical-data service; `{"error":"no bridge"}` when not in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmds: Option<HmdsStatus>,
    /// The brokerage session's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iserver: Option<IserverStatus>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Tickle {
    /// A tickle answer for a session id, other fields unset.
    pub fn new(session: impl Into<String>) -> Self {
        Tickle {
            session: SessionToken(session.into()),
            sso_expires: None,
            collission: None,
            user_id: None,
            hmds: None,
            iserver: None,
            extra: Extra::new(),
        }
    }

    /// The nested brokerage status, if the gateway sent one.
    pub fn auth_status(&self) -> Option<&AuthStatus> {
        self.iserver.as_ref().map(|i| &i.auth_status)
    }

    /// Whether the brokerage session is authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.auth_status().is_some_and(|s| s.authenticated)
    }
}

/// A session identifier. Whoever holds it can use the session, so `Debug` shows only
/// its first characters; [`SessionToken::expose`] gives the whole value.
///
/// ```
/// # use ibkr_model::auth::SessionToken;
/// let t = SessionToken::from("bb665d0f55b6289d70bc7380089fc96f");
/// assert_eq!(format!("{t:?}"), "SessionToken(bb66…)");
/// assert_eq!(t.expose().len(), 32);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionToken(String);

impl SessionToken {
    /// The whole identifier, e.g. for the WebSocket `{"session": ...}` message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SessionToken {
    fn from(s: String) -> Self {
        SessionToken(s)
    }
}

impl From<&str> for SessionToken {
    fn from(s: &str) -> Self {
        SessionToken(s.to_string())
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head: String = self.0.chars().take(4).collect();
        write!(f, "SessionToken({head}…)")
    }
}

/// The `iserver` part of `/tickle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IserverStatus {
    /// Same content as `/iserver/auth/status`.
    #[serde(rename = "authStatus")]
    pub auth_status: AuthStatus,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IserverStatus {
    /// Wraps an auth status.
    pub fn new(auth_status: AuthStatus) -> Self {
        IserverStatus {
            auth_status,
            extra: Extra::new(),
        }
    }
}

/// The `hmds` (historical market data service) part of `/tickle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct HmdsStatus {
    /// `"no bridge"` when no historical data is being requested; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl HmdsStatus {
    /// The status IBKR reports when the historical-data bridge is idle.
    pub fn no_bridge() -> Self {
        HmdsStatus {
            error: Some("no bridge".into()),
            extra: Extra::new(),
        }
    }

    /// Whether IBKR reports `"no bridge"`: no historical-data connection is open.
    pub fn is_no_bridge(&self) -> bool {
        self.error.as_deref() == Some("no bridge")
    }
}

/// Answer of `GET /sso/validate`: the SSO (read-only) session's user and expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SsoValidation {
    /// Internal user id.
    #[serde(rename = "USER_ID", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    /// The user logged in.
    #[serde(rename = "USER_NAME", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Whether the session was validated.
    #[serde(rename = "RESULT")]
    pub result: bool,
    /// When the user authenticated.
    #[serde(rename = "AUTH_TIME", default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<EpochMillis>,
    /// Internal.
    #[serde(
        rename = "SF_ENABLED",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sf_enabled: Option<bool>,
    /// Whether the account is a free trial.
    #[serde(
        rename = "IS_FREE_TRIAL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_free_trial: Option<bool>,
    /// The underlying username.
    #[serde(
        rename = "CREDENTIAL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub credential: Option<String>,
    /// Internal; not the user's address.
    #[serde(rename = "IP", default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Time left before the SSO session expires.
    #[serde(rename = "EXPIRES", default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Millis>,
    /// Whether two-factor authentication is required; IBKR often sends `null`.
    #[serde(rename = "QUALIFIED_FOR_MOBILE_AUTH", default)]
    pub qualified_for_mobile_auth: Option<bool>,
    /// Client Portal internal.
    #[serde(
        rename = "LANDING_APP",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub landing_app: Option<String>,
    /// Whether this is a master (advisor) login.
    #[serde(rename = "IS_MASTER", default, skip_serializing_if = "Option::is_none")]
    pub is_master: Option<bool>,
    /// Last access to the session.
    #[serde(
        rename = "lastAccessed",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_accessed: Option<EpochMillis>,
    /// Live or paper login.
    #[serde(
        rename = "LOGIN_TYPE",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub login_type: Option<LoginType>,
    /// The paper-trading username.
    #[serde(
        rename = "PAPER_USER_NAME",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub paper_user_name: Option<String>,
    /// Features enabled for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<SsoFeatures>,
    /// Region served, e.g. `NJ`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SsoValidation {
    /// A validation result with only `RESULT` set; fill the rest by field update.
    pub fn new(result: bool) -> Self {
        SsoValidation {
            user_id: None,
            user_name: None,
            result,
            auth_time: None,
            sf_enabled: None,
            is_free_trial: None,
            credential: None,
            ip: None,
            expires: None,
            qualified_for_mobile_auth: None,
            landing_app: None,
            is_master: None,
            last_accessed: None,
            login_type: None,
            paper_user_name: None,
            features: None,
            region: None,
            extra: Extra::new(),
        }
    }
}

/// Whether a login is to a live or a paper account (`LOGIN_TYPE`: 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoginType {
    /// `1`: live trading.
    Live,
    /// `2`: paper trading.
    Paper,
    /// A value this library does not know.
    Unknown(i64),
}

impl Serialize for LoginType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(match self {
            LoginType::Live => 1,
            LoginType::Paper => 2,
            LoginType::Unknown(n) => *n,
        })
    }
}

impl<'de> Deserialize<'de> for LoginType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match i64::deserialize(d)? {
            1 => LoginType::Live,
            2 => LoginType::Paper,
            n => LoginType::Unknown(n),
        })
    }
}

/// The `features` object of `/sso/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SsoFeatures {
    /// Environment, e.g. `PROD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Internal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wlms: Option<bool>,
    /// Real-time market data available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime: Option<bool>,
    /// Bonds tradable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond: Option<bool>,
    /// Option chains available.
    #[serde(
        rename = "optionChains",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub option_chains: Option<bool>,
    /// Trading calendars enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<bool>,
    /// Internal.
    #[serde(rename = "newMf", default, skip_serializing_if = "Option::is_none")]
    pub new_mf: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Answer of `POST /logout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogoutResponse {
    /// `true` when the session was ended.
    pub status: bool,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LogoutResponse {
    /// A logout answer.
    pub fn new(status: bool) -> Self {
        LogoutResponse {
            status,
            extra: Extra::new(),
        }
    }
}

/// Answer of `POST /iserver/reauthenticate`: `{"message":"triggered"}`.
///
/// The re-authentication runs in the background; poll `/iserver/auth/status`
/// to learn when it is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReauthenticateResponse {
    /// `"triggered"` when the request was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields not modelled above (older gateways answered with a full auth status).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ReauthenticateResponse {
    /// The answer IBKR gives when the re-authentication was started.
    pub fn triggered() -> Self {
        ReauthenticateResponse {
            message: Some("triggered".into()),
            extra: Extra::new(),
        }
    }
}
