//! The control API, outside `/v1/api`, for tests and demos. Every call but
//! `/sim/orders` answers with the session's state as JSON (see
//! [`SessionSnapshot`](crate::SessionSnapshot)).
//!
//! | call | effect |
//! |---|---|
//! | `GET /sim/state` | read the session's state |
//! | `POST /sim/session/login` | log the configured user in (as the login page) |
//! | `POST /sim/session/expire` | end the SSO session, as an idle timeout |
//! | `POST /sim/session/drop-brokerage` | lose the brokerage session only |
//! | `POST /sim/session/compete` | another login takes the brokerage session |
//! | `POST /sim/faults` | queue a fault: `{"kind":"status","status":503,"path":"/tickle","count":1}`, `{"kind":"truncated_json"}`, `{"kind":"malformed_json"}`, `{"kind":"error_body","message":"failed to process request"}`, `{"kind":"status_after_processing","status":503,"path":"/iserver/reply/"}` (the request is processed, then the answer replaced), `{"kind":"slow_after_processing","ms":3000}` (processed, then the answer held back) |
//! | `POST /sim/faults/random` | inject faults at random: `{"spec":"500=3%,drop=3%,malformed=4%","seed":7}`; `path=PATTERN` items restrict them: `{"spec":"after:503=20%,path=/iserver/account/*/orders"}` |
//! | `GET /sim/orders` | every order of every account, in id order, as a JSON list (id, account, conid, side, type, quantity, filled, status, cOID, parent, ...), without matching first |
//! | `DELETE /sim/faults` | remove pending and random faults |
//! | `POST /sim/ws/drop` | close every WebSocket abruptly (no close frame), as a network failure |
//! | `POST /sim/ws/silence` | `{"silent": true}`: every WebSocket stops sending (stays open); `false` resumes |
//! | `POST /sim/restart` | a gateway restart: every session dropped (auto-login logs in again), rate-limit records forgotten |
//! | `POST /sim/oauth/expire` | OAuth mode: every live session token expires now (requests get 401 "Access token expired" until the client asks for a new one); 409 when OAuth is off |
//!
//! A call that needs a logged-in session answers 409 when there is none.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::time::Instant;

use crate::faults::Fault;
use crate::gateway::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/state", get(state))
        .route("/session/login", post(login))
        .route("/session/expire", post(expire))
        .route("/session/drop-brokerage", post(drop_brokerage))
        .route("/session/compete", post(compete))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/faults/random", post(random_faults))
        .route("/restart", post(restart))
        .route("/orders", get(orders))
        .route("/ws/drop", post(ws_drop))
        .route("/ws/silence", post(ws_silence))
        .route("/oauth/expire", post(oauth_expire))
}

async fn oauth_expire(State(gw): State<Shared>) -> Response {
    let live = gw
        .oauth()
        .map(|mut s| s.expire_sessions(std::time::SystemTime::now()));
    if let Some(live) = live {
        tracing::info!(live, "OAuth: live session tokens expired");
    }
    state_of(&gw, live.is_some())
}

async fn ws_drop(State(gw): State<Shared>) -> Response {
    crate::ws::drop_all(&gw);
    state_of(&gw, true)
}

#[derive(serde::Deserialize)]
struct Silence {
    silent: bool,
}

async fn ws_silence(State(gw): State<Shared>, Json(s): Json<Silence>) -> Response {
    crate::ws::silence(&gw, s.silent);
    state_of(&gw, true)
}

async fn orders(State(gw): State<Shared>) -> Response {
    Json(crate::orders::control_view(&gw)).into_response()
}

#[derive(serde::Deserialize)]
struct RandomSpec {
    spec: String,
    #[serde(default)]
    seed: u64,
}

async fn random_faults(State(gw): State<Shared>, Json(r): Json<RandomSpec>) -> Response {
    match r.spec.parse::<crate::faults::RandomFaults>() {
        Ok(f) => {
            gw.set_random_faults(Some(f), r.seed);
            state_of(&gw, true)
        }
        Err(e) => crate::http::error_body(StatusCode::BAD_REQUEST, &e),
    }
}

async fn restart(State(gw): State<Shared>) -> Response {
    gw.restart();
    state_of(&gw, true)
}

fn state_of(gw: &Shared, ok: bool) -> Response {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    (status, Json(gw.snapshot())).into_response()
}

async fn state(State(gw): State<Shared>) -> Response {
    state_of(&gw, true)
}

async fn login(State(gw): State<Shared>) -> Response {
    let user = gw.config.username.clone();
    gw.session().login(&user, Instant::now());
    state_of(&gw, true)
}

async fn expire(State(gw): State<Shared>) -> Response {
    gw.session().expire();
    state_of(&gw, true)
}

async fn drop_brokerage(State(gw): State<Shared>) -> Response {
    let ok = gw.session().drop_brokerage().is_ok();
    state_of(&gw, ok)
}

async fn compete(State(gw): State<Shared>) -> Response {
    let ok = gw.session().start_competing().is_ok();
    state_of(&gw, ok)
}

async fn add_fault(State(gw): State<Shared>, Json(f): Json<Fault>) -> Response {
    gw.faults().push(f);
    state_of(&gw, true)
}

async fn clear_faults(State(gw): State<Shared>) -> Response {
    gw.faults().clear();
    gw.set_random_faults(None, 0);
    state_of(&gw, true)
}
