//! The wire types decode every recorded (and documented) answer of the session
//! endpoints without loss: nothing lands in `extra`, and encoding the decoded value
//! gives back the same JSON.

use ibkr_model::accounts::BrokerageAccounts;
use ibkr_model::auth::{AuthStatus, LogoutResponse, SsoValidation, Tickle};
use ibkr_model::error::{ErrorResponse, ProblemDetail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/recorded/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes, checks that re-encoding is identical, and returns the value.
fn lossless<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture(name);
    let typed: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    let again = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        again, original,
        "{name}: re-encoding differs (a field was lost or renamed)"
    );
    typed
}

#[test]
fn auth_status_recorded_authenticated() {
    let s: AuthStatus = lossless("GET_iserver_auth_status.json");
    assert!(s.authenticated && s.connected && !s.competing);
    assert_eq!(s.established, Some(true));
    assert_eq!(s.fail.as_deref(), Some(""));
    assert_eq!(
        s.hardware_info.as_deref(),
        Some("test1234|AA:BB:CC:DD:EE:FF")
    );
    let info = s.server_info.as_ref().unwrap();
    assert_eq!(
        info.server_version.as_deref(),
        Some("Build 10.44.1d, Mar 3, 2026 1:55:32 PM")
    );
    assert!(s.extra.is_empty());
    assert_eq!(s.reason(), None);
}

#[test]
fn auth_status_short_form_when_logged_out() {
    let s: AuthStatus = lossless("POST_iserver_auth_status__unauthenticated_campusdoc.json");
    assert!(!s.authenticated && !s.connected);
    assert_eq!(s.message, None);
    assert_eq!(s.established, None);
    assert_eq!(s.mac.as_deref(), Some("98:B2:C3:45:DE:F6"));
}

#[test]
fn auth_status_spec_example() {
    let s: AuthStatus = lossless("spec_POST_iserver_auth_status__200_success.json");
    assert!(s.authenticated);
}

#[test]
fn ssodh_init_recorded_and_spec() {
    let s: AuthStatus = lossless("POST_iserver_auth_ssodh_init.json");
    assert!(s.authenticated && s.fail.is_none());
    let s: AuthStatus = lossless("spec_POST_iserver_auth_ssodh_init__200_success.json");
    assert!(s.authenticated);
}

#[test]
fn tickle_recorded_authenticated() {
    let t: Tickle = lossless("POST_tickle.json");
    assert!(t.is_authenticated());
    assert!(t.hmds.as_ref().unwrap().is_no_bridge());
    assert_eq!(
        t.sso_expires, None,
        "this recording was trimmed of ssoExpires"
    );
}

#[test]
fn tickle_captured_with_brokerage_session_down() {
    let t: Tickle = lossless("POST_tickle__unauthenticated_captured2025.json");
    assert!(!t.is_authenticated());
    assert_eq!(t.sso_expires.unwrap().0, 90381);
    assert_eq!(t.collission, Some(false));
    assert_eq!(t.user_id, Some(137713338));
    assert!(t.hmds.unwrap().is_no_bridge());
}

#[test]
fn tickle_spec_example() {
    let t: Tickle = lossless("spec_POST_tickle__200_success.json");
    assert_eq!(t.session.expose(), "bb665d0f55b6289d70bc7380089fc96f");
    assert_eq!(t.sso_expires.unwrap().as_duration().as_millis(), 460311);
}

#[test]
fn tickle_failure_is_an_error_body_not_a_tickle() {
    let v = fixture("spec_POST_tickle__200_fail.json");
    assert!(serde_json::from_value::<Tickle>(v.clone()).is_err());
    let e: ErrorResponse = lossless("spec_POST_tickle__200_fail.json");
    assert_eq!(e.error, "failed to process request");
}

#[test]
fn sso_validate_spec_example_with_real_sized_times() {
    let v: SsoValidation = lossless("spec_GET_sso_validate__200_success.json");
    assert!(v.result);
    assert_eq!(v.user_id, Some(123456789));
    // The spec says int32; the value is epoch milliseconds and does not fit one.
    assert_eq!(v.auth_time.unwrap().0, 1702580846836);
    assert_eq!(
        v.auth_time.unwrap().to_datetime().unwrap().to_rfc3339(),
        "2023-12-14T19:07:26.836+00:00"
    );
    assert_eq!(v.qualified_for_mobile_auth, None);
    assert_eq!(v.features.as_ref().unwrap().option_chains, Some(true));
    assert!(v.extra.is_empty());
}

#[test]
fn logout_spec_example() {
    let r: LogoutResponse = lossless("spec_POST_logout__200_success.json");
    assert!(r.status);
}

#[test]
fn unauthorized_problem_body() {
    let p: ProblemDetail = lossless("spec_POST_tickle__401_expiredToken.json");
    assert_eq!(p.status, Some(401));
    assert_eq!(p.detail.as_deref(), Some("Access token expired"));
}

#[test]
fn unknown_fields_are_kept_not_dropped() {
    let body = r#"{"authenticated":true,"competing":false,"connected":true,"newField":{"x":1}}"#;
    let s: AuthStatus = serde_json::from_str(body).unwrap();
    assert_eq!(s.extra["newField"]["x"], 1);
    let again = serde_json::to_value(&s).unwrap();
    assert_eq!(again, serde_json::from_str::<Value>(body).unwrap());
}

#[test]
fn brokerage_accounts_recorded_and_spec() {
    let a: BrokerageAccounts = lossless("GET_iserver_accounts.json");
    assert_eq!(a.accounts, ["U1234567"]);
    assert_eq!(a.selected_account.as_deref(), Some("U1234567"));
    assert_eq!(a.is_paper, Some(true));
    let props = &a.acct_props.as_ref().unwrap()["U1234567"];
    assert_eq!(props.supports_fractions, Some(true));
    assert_eq!(
        a.chart_periods.as_ref().unwrap()["OPT"],
        ["2h", "1d", "2d", "1w", "1m"]
    );
    assert!(a.extra.is_empty(), "{:?}", a.extra);
    assert!(
        !format!("{a:?}").contains("test-session-001"),
        "the session id stays hidden"
    );
    let s: BrokerageAccounts = lossless("spec_GET_iserver_accounts__200_success.json");
    assert!(!s.accounts.is_empty());
}
