//! Session endpoints: `/iserver/auth/status`, `/iserver/auth/ssodh/init`,
//! `/iserver/reauthenticate`, `/tickle`, `/sso/validate`, `/logout`.

use std::time::UNIX_EPOCH;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ibkr_model::auth::{
    AuthStatus, BrokerageSessionInitRequest, HmdsStatus, IserverStatus, LoginType, LogoutResponse,
    ReauthenticateResponse, ServerInfo, SsoFeatures, SsoValidation, Tickle,
};
use ibkr_model::time::{EpochMillis, Millis};
use tokio::time::Instant;

use crate::gateway::Shared;
use crate::http::{ApiError, error_body};
use crate::session::{BrokerageState, SessionMachine, Sso};

pub(crate) const MAC: &str = "02:42:AC:11:00:02";
pub(crate) const SERVER_NAME: &str = "SimGw01";
pub(crate) const SERVER_VERSION: &str = concat!("ibkr-sim ", env!("CARGO_PKG_VERSION"));
const HARDWARE_INFO: &str = "5ee1f1a2|02:42:AC:11:00:02";

/// The brokerage status of a live SSO session. Authenticated, every field is set;
/// otherwise the gateway leaves out `established` and `hardware_info`, as in the
/// real capture of a tickle with the brokerage session down (Build 10.34.1f, 2025).
fn full_status(sso: &Sso, with_fail: bool) -> AuthStatus {
    let mut s = match sso.brokerage {
        BrokerageState::Authenticated => {
            let mut s = AuthStatus::new(true, false, true);
            s.hardware_info = Some(HARDWARE_INFO.into());
            s
        }
        BrokerageState::Competing => short_status(true, true, "competing session"),
        BrokerageState::Down => short_status(false, false, ""),
    };
    s.mac = Some(MAC.into());
    s.server_info = Some(ServerInfo::new(SERVER_NAME, SERVER_VERSION));
    if with_fail {
        s.fail = Some(String::new());
    }
    s
}

fn short_status(competing: bool, connected: bool, message: &str) -> AuthStatus {
    let mut s = AuthStatus::new(false, competing, connected);
    s.established = None;
    s.message = Some(message.into());
    s
}

fn status_of(m: &SessionMachine) -> AuthStatus {
    match m.sso() {
        Ok(sso) => full_status(sso, true),
        // Timed out or logged out: the short form IBKR documents.
        Err(_) => AuthStatus::unauthenticated(Some(MAC.into())),
    }
}

/// `GET|POST /iserver/auth/status`: always 200; `authenticated:false` when logged out.
pub(crate) async fn status(State(gw): State<Shared>) -> Json<AuthStatus> {
    Json(status_of(&gw.session()))
}

/// `POST /iserver/auth/ssodh/init`.
pub(crate) async fn ssodh_init(
    State(gw): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<AuthStatus>, ApiError> {
    let req: BrokerageSessionInitRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "body must be {{\"publish\":true,\"compete\":bool}}: {e}"
        ))
    })?;
    let mut m = gw.session();
    m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    if !req.publish {
        return Err(ApiError::Internal(
            "publish must be true to initialize the brokerage session".into(),
        ));
    }
    m.init_brokerage(req.compete)
        .map_err(|_| ApiError::NotLoggedIn)?;
    let sso = m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    Ok(Json(full_status(sso, false)))
}

/// `POST /iserver/reauthenticate` (deprecated by IBKR in favour of ssodh/init).
pub(crate) async fn reauthenticate(
    State(gw): State<Shared>,
) -> Result<Json<ReauthenticateResponse>, ApiError> {
    gw.session()
        .reauthenticate()
        .map_err(|_| ApiError::NotLoggedIn)?;
    Ok(Json(ReauthenticateResponse::triggered()))
}

/// `GET|POST /tickle`.
pub(crate) async fn tickle(State(gw): State<Shared>) -> Result<Json<Tickle>, ApiError> {
    let m = gw.session();
    let sso = m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    let expires = m
        .sso_expires(Instant::now())
        .map_err(|_| ApiError::NotLoggedIn)?;
    let status = full_status(sso, false);
    let mut t = Tickle::new(sso.id.clone());
    t.sso_expires = Some(Millis::from_duration(expires));
    t.collission = Some(false);
    t.user_id = Some(sso.user_id);
    t.hmds = Some(HmdsStatus::no_bridge());
    t.iserver = Some(IserverStatus::new(status));
    Ok(Json(t))
}

/// `GET /sso/validate`.
pub(crate) async fn sso_validate(
    State(gw): State<Shared>,
) -> Result<Json<SsoValidation>, ApiError> {
    let m = gw.session();
    let sso = m.sso().map_err(|_| ApiError::NotLoggedIn)?;
    let expires = m
        .sso_expires(Instant::now())
        .map_err(|_| ApiError::NotLoggedIn)?;
    let ms = |t: std::time::SystemTime| {
        EpochMillis(
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        )
    };
    let mut v = SsoValidation::new(true);
    v.user_id = Some(sso.user_id);
    v.user_name = Some(sso.user.clone());
    v.auth_time = Some(ms(sso.auth_time));
    v.sf_enabled = Some(false);
    v.is_free_trial = Some(false);
    v.credential = Some(sso.user.clone());
    v.ip = Some("127.0.0.1".into());
    v.expires = Some(Millis::from_duration(expires));
    v.qualified_for_mobile_auth = None;
    v.landing_app = Some("UNIVERSAL".into());
    v.is_master = Some(false);
    v.last_accessed = Some(ms(std::time::SystemTime::now()));
    v.login_type = Some(LoginType::Paper);
    v.paper_user_name = Some(sso.user.clone());
    let mut f = SsoFeatures::default();
    f.env = Some("PROD".into());
    f.wlms = Some(true);
    f.realtime = Some(true);
    f.bond = Some(true);
    f.option_chains = Some(true);
    f.calendar = Some(true);
    f.new_mf = Some(true);
    v.features = Some(f);
    v.region = Some("NJ".into());
    Ok(Json(v))
}

/// `POST /logout`: ends the session for every client of the gateway.
pub(crate) async fn logout(State(gw): State<Shared>) -> Result<Json<LogoutResponse>, ApiError> {
    gw.session().logout().map_err(|_| ApiError::NotLoggedIn)?;
    tracing::info!("logged out");
    Ok(Json(LogoutResponse::new(true)))
}

/// Any other path or method under `/v1/api`: `/iserver/*` needs the brokerage
/// session, as at IBKR; the rest needs the SSO session; then 404.
pub(crate) async fn fallback(State(gw): State<Shared>, uri: axum::http::Uri) -> Response {
    let m = gw.session();
    let Ok(sso) = m.sso() else {
        return ApiError::NotLoggedIn.into_response();
    };
    let path = uri.path().trim_start_matches("/v1/api");
    if path.starts_with("/iserver/") && sso.brokerage != BrokerageState::Authenticated {
        return ApiError::NoBrokerage.into_response();
    }
    error_body(StatusCode::NOT_FOUND, &format!("no such endpoint: {path}"))
}
