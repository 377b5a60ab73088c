//! The client against the simulated gateway, over real TLS on loopback: every
//! session call, expiry and re-authentication, logout, competing sessions, and the
//! errors a program must be able to act on.

use std::net::SocketAddr;
use std::time::Duration;

use ibkr_api::session::{KeeperConfig, SessionState};
use ibkr_api::{AuthOutcome, Client, Error, Method, PacingTable, ReauthOutcome, RetryPolicy};
use ibkr_model::auth::LoginType;
use ibkr_sim::{AllowList, Fault, FaultKind, Gateway, GatewayConfig};

/// Fails instead of hanging when an awaited state never comes.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the awaited state did not come within 60 s")
}

async fn gateway() -> (Gateway, Client) {
    gateway_with(GatewayConfig::for_tests()).await
}

async fn gateway_with(config: GatewayConfig) -> (Gateway, Client) {
    let gw = Gateway::start(config).await.expect("simulator starts");
    let client = fast(Client::builder().gateway(gw.url().as_str()))
        .build()
        .expect("client builds");
    (gw, client)
}

/// A client for tests that are not about pacing: no waiting for turns (the
/// simulator of `for_tests` does not enforce limits), quick retries, short penalty.
fn fast(b: ibkr_api::ClientBuilder) -> ibkr_api::ClientBuilder {
    b.reauth_timeout(Duration::from_secs(5))
        .pacing(PacingTable::unlimited())
        .retry_policy(RetryPolicy::new(
            3,
            Duration::from_millis(1),
            Duration::from_millis(10),
        ))
        .penalty(Duration::from_millis(50))
}

#[tokio::test]
async fn status_tickle_and_sso_of_a_logged_in_gateway() {
    let (gw, client) = gateway().await;
    assert!(gw.url().as_str().starts_with("https://127.0.0.1:"));

    let s = client.check_auth_status().await.unwrap();
    assert!(s.authenticated && s.connected && !s.competing);
    assert_eq!(s.established, Some(true));
    assert_eq!(s.fail.as_deref(), Some(""));
    assert!(s.server_info.is_some() && s.mac.is_some() && s.extra.is_empty());

    let t = client.ping_server().await.unwrap();
    assert!(t.is_authenticated());
    assert_eq!(t.session.expose().len(), 32);
    assert!(
        !format!("{t:?}").contains(t.session.expose()),
        "Debug hides the session id"
    );
    assert!(t.hmds.as_ref().unwrap().is_no_bridge());
    assert_eq!(t.collission, Some(false));
    let left = t.sso_expires.unwrap().as_duration();
    assert!(left > Duration::from_secs(290) && left <= Duration::from_secs(300));

    let v = client.validate_sso().await.unwrap();
    assert!(v.result);
    assert_eq!(v.user_name.as_deref(), Some("demo"));
    assert_eq!(v.login_type, Some(LoginType::Paper));
    assert!(v.auth_time.unwrap().to_datetime().is_some());
    assert!(v.extra.is_empty());
}

#[tokio::test]
async fn brokerage_session_init_and_reauthenticate() {
    let (gw, client) = gateway().await;
    let s = client.init_brokerage_session(false).await.unwrap();
    assert!(s.authenticated);
    assert!(s.fail.is_none(), "ssodh/init answers without `fail`");

    assert!(gw.drop_brokerage_session());
    assert!(!client.check_auth_status().await.unwrap().authenticated);
    let r = client.reauthenticate().await.unwrap();
    assert_eq!(r.message.as_deref(), Some("triggered"));
    assert!(client.check_auth_status().await.unwrap().authenticated);
}

#[tokio::test]
async fn expired_brokerage_session_is_brought_back_by_the_reauthentication_flow() {
    let (gw, client) = gateway().await;
    assert_eq!(
        client.handle_reauthentication().await.unwrap(),
        ReauthOutcome::AlreadyAuthenticated
    );
    gw.drop_brokerage_session();
    assert_eq!(
        client.handle_reauthentication().await.unwrap(),
        ReauthOutcome::Reauthenticated
    );
    assert!(client.check_auth_status().await.unwrap().authenticated);

    gw.drop_brokerage_session();
    assert_eq!(
        client.ensure_authenticated().await.unwrap(),
        AuthOutcome::Reauthenticated
    );
    assert_eq!(
        client.ensure_authenticated().await.unwrap(),
        AuthOutcome::AlreadyAuthenticated
    );
}

#[tokio::test]
async fn a_competing_session_is_reported_and_taken_over_only_on_request() {
    let (gw, client) = gateway().await;
    assert!(gw.start_competing_session());
    let s = client.check_auth_status().await.unwrap();
    assert!(s.competing && !s.authenticated);

    match client.handle_reauthentication().await.unwrap() {
        ReauthOutcome::Failed { reason } => {
            assert!(reason.contains("init_brokerage_session(true)"), "{reason}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // Without compete the other session keeps the brokerage connection...
    assert!(
        client
            .init_brokerage_session(false)
            .await
            .unwrap()
            .competing
    );
    // ...with compete this one takes it.
    let s = client.init_brokerage_session(true).await.unwrap();
    assert!(s.authenticated && !s.competing);
}

#[tokio::test]
async fn logout_ends_the_session_for_every_client() {
    let (gw, client) = gateway().await;
    let other = fast(Client::builder().gateway(gw.url().as_str()))
        .build()
        .unwrap();
    assert!(client.end_session().await.unwrap().status);

    let s = other.check_auth_status().await.unwrap();
    assert!(!s.authenticated && !s.connected);
    assert!(
        s.server_info.is_none(),
        "logged-out status is IBKR's short form"
    );

    match other.ping_server().await {
        Err(Error::NotAuthenticated {
            endpoint,
            login_url,
            ..
        }) => {
            assert_eq!(endpoint, "POST /tickle");
            assert_eq!(login_url, gw.url().as_str());
        }
        other => panic!("expected NotAuthenticated, got {other:?}"),
    }
    assert!(matches!(
        client.validate_sso().await,
        Err(Error::NotAuthenticated { .. })
    ));
    assert!(matches!(
        client.end_session().await,
        Err(Error::NotAuthenticated { .. })
    ));
    match client.handle_reauthentication().await.unwrap() {
        ReauthOutcome::Failed { reason } => assert!(reason.contains("log in at"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let e = client.ensure_authenticated().await.unwrap_err();
    assert!(matches!(e, Error::NotAuthenticated { .. }));
    assert!(
        e.to_string()
            .contains("in a browser on the machine that runs the gateway")
    );

    // A new login (here through the control API) brings everything back.
    gw.login();
    assert!(client.check_auth_status().await.unwrap().authenticated);
}

#[tokio::test]
async fn the_session_ends_after_the_idle_timeout_and_activity_defers_it() {
    let idle = Duration::from_millis(600);
    let (_gw, client) = gateway_with(GatewayConfig::for_tests().idle_timeout(idle)).await;
    // Activity every 200 ms keeps it alive well past the timeout.
    for _ in 0..6 {
        tokio::time::sleep(idle / 3).await;
        assert!(client.ping_server().await.unwrap().is_authenticated());
    }
    tokio::time::sleep(idle * 2).await;
    assert!(!client.check_auth_status().await.unwrap().authenticated);
    assert!(matches!(
        client.ping_server().await,
        Err(Error::NotAuthenticated { .. })
    ));
}

#[tokio::test]
async fn brokerage_calls_without_a_brokerage_session_say_so() {
    let (gw, client) = gateway().await;
    gw.drop_brokerage_session();
    match client.raw(Method::GET, "/iserver/accounts", None).await {
        Err(e @ Error::NoBrokerageSession { .. }) => {
            assert!(e.is_auth());
            assert!(e.to_string().contains("ibkr auth init"), "{e}");
        }
        other => panic!("expected NoBrokerageSession, got {other:?}"),
    }
    gw.expire_session();
    assert!(matches!(
        client.raw(Method::GET, "/iserver/accounts", None).await,
        Err(Error::NotAuthenticated { .. })
    ));
}

#[tokio::test]
async fn malformed_and_truncated_answers_are_clear_decode_errors() {
    let (gw, client) = gateway().await;
    // Three retries, then the error: four malformed answers in a row.
    gw.inject_fault(Fault::on("/tickle", FaultKind::MalformedJson).times(4));
    match client.ping_server().await {
        Err(Error::Decode {
            endpoint,
            snippet,
            message,
        }) => {
            assert_eq!(endpoint, "POST /tickle");
            assert!(snippet.starts_with("<html>"), "{snippet}");
            assert!(message.contains("line 1"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    gw.inject_fault(Fault::on("/sso/validate", FaultKind::TruncatedJson).times(4));
    let e = client.validate_sso().await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(
        e.to_string().contains("GET /sso/validate: cannot decode"),
        "{e}"
    );
    // The next call is fine: nothing is left broken.
    assert!(client.ping_server().await.is_ok());
}

#[tokio::test]
async fn error_statuses_and_error_bodies_are_typed() {
    let (gw, client) = gateway().await;
    gw.inject_fault(Fault::on("/iserver/auth/status", FaultKind::Status { status: 503 }).times(4));
    match client.check_auth_status().await {
        Err(Error::Http {
            status: 503, body, ..
        }) => {
            assert!(body.contains("statusCode"), "{body}")
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    assert_eq!(client.pacing_metrics().total().retries, 3);

    gw.inject_fault(Fault::on(
        "/tickle",
        FaultKind::ErrorBody {
            message: "failed to process request".into(),
        },
    ));
    match client.ping_server().await {
        Err(Error::Gateway { message, .. }) => assert_eq!(message, "failed to process request"),
        other => panic!("expected a gateway error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_429_holds_requests_for_the_penalty_then_reads_go_again() {
    let (gw, client) = gateway().await;
    // A read that may wait out the (test-short) penalty goes again and succeeds.
    gw.inject_fault(Fault::on("/tickle", FaultKind::Status { status: 429 }));
    assert!(client.ping_server().await.unwrap().is_authenticated());
    let m = client.pacing_metrics().classes["tickle"];
    assert_eq!((m.rate_limited, m.retries, m.sent), (1, 1, 2));
    // A caller that cannot wait that long gets the typed error at once.
    gw.inject_fault(Fault::on("/tickle", FaultKind::Status { status: 429 }));
    match client
        .with_max_wait(Some(Duration::ZERO))
        .ping_server()
        .await
    {
        Err(e @ Error::RateLimited { .. }) => assert!(e.to_string().contains("HTTP 429"), "{e}"),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_connection_and_a_slow_answer_are_survived_by_reads() {
    let (gw, client) = gateway().await;
    gw.inject_fault(Fault::on("/tickle", FaultKind::Drop));
    assert!(client.ping_server().await.unwrap().is_authenticated());
    gw.inject_fault(Fault::on("/tickle", FaultKind::Delay { ms: 50 }));
    assert!(client.ping_server().await.unwrap().is_authenticated());
    // A request that is not safe to repeat is not repeated: the error comes back.
    gw.inject_fault(Fault::on("/logout", FaultKind::Drop));
    assert!(matches!(
        client.end_session().await,
        Err(Error::Transport { .. })
    ));
    assert_eq!(client.pacing_metrics().classes["other"].retries, 0);
}

#[tokio::test]
async fn addresses_outside_the_allow_list_are_refused() {
    let only_lan: AllowList = "10.*".parse().unwrap();
    let (_gw, client) = gateway_with(GatewayConfig::for_tests().allow(only_lan)).await;
    match client.check_auth_status().await {
        Err(e @ Error::Forbidden { .. }) => assert!(e.to_string().contains("ips.allow"), "{e}"),
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn trailing_slashes_and_get_variants_are_accepted() {
    let (_gw, client) = gateway().await;
    for (m, p) in [
        (Method::POST, "/tickle/"),
        (Method::GET, "/tickle"),
        (Method::GET, "/iserver/auth/status"),
        (Method::POST, "/iserver/auth/status/"),
    ] {
        let v = client
            .raw(m.clone(), p, None)
            .await
            .unwrap_or_else(|e| panic!("{m} {p}: {e}"));
        assert!(v.is_object(), "{m} {p}: {v}");
    }
}

#[tokio::test]
async fn the_gateway_requires_a_user_agent_and_a_content_length_as_the_real_one() {
    // Plain HTTP, so that a bare reqwest client (no TLS set-up) can talk to it.
    let gw = Gateway::start(GatewayConfig::for_tests().tls(false))
        .await
        .unwrap();
    let url = gw.api_url().to_string();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bare = reqwest::Client::new();
    let r = bare.post(format!("{url}/tickle")).send().await.unwrap();
    assert_eq!(r.status(), 403, "no User-Agent");
    let r = bare
        .post(format!("{url}/tickle"))
        .header("User-Agent", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 411, "POST without Content-Length");
    // The library sends both.
    let client = fast(Client::builder().gateway(gw.url().as_str()))
        .build()
        .unwrap();
    assert!(client.ping_server().await.unwrap().is_authenticated());
}

/// A gateway reached by a non-loopback name: its self-signed certificate is refused
/// unless pinned (or the caller opts out of checks).
#[tokio::test]
async fn certificates_are_checked_beyond_loopback_unless_pinned() {
    let gw = Gateway::start(GatewayConfig::for_tests()).await.unwrap();
    let addr: SocketAddr = gw.local_addr();
    let url = format!("https://gateway.example:{}", addr.port());
    let build = |b: ibkr_api::ClientBuilder| {
        fast(b)
            .gateway(&url)
            .resolve("gateway.example", addr)
            .build()
            .unwrap()
    };

    let strict = build(Client::builder());
    match strict.ping_server().await {
        Err(e @ Error::Certificate { .. }) => assert!(e.to_string().contains("pin"), "{e}"),
        other => panic!("expected a certificate error, got {other:?}"),
    }
    let fp = gw.certificate_fingerprint().unwrap().to_string();
    let pinned = build(Client::builder().pin_certificate_sha256(&fp));
    assert!(pinned.ping_server().await.unwrap().is_authenticated());

    let wrong = build(Client::builder().pin_certificate_sha256("00".repeat(32)));
    assert!(matches!(
        wrong.ping_server().await,
        Err(Error::Certificate { .. })
    ));

    let danger = build(Client::builder().danger_accept_invalid_certs(true));
    assert!(danger.ping_server().await.is_ok());
}

#[tokio::test]
async fn an_unreachable_gateway_is_a_transport_error_that_says_what_to_do() {
    // Bind and drop, so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = fast(Client::builder().gateway(format!("https://127.0.0.1:{port}")))
        .build()
        .unwrap();
    let e = client.check_auth_status().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(e.to_string().contains("is it running?"), "{e}");
}

#[tokio::test]
async fn the_keeper_restores_a_lost_brokerage_session_and_notices_a_logout() {
    let (gw, client) = gateway().await;
    let keeper = client.keep_alive_with(KeeperConfig::every(Duration::from_millis(50)));
    within(keeper.wait_for(SessionState::is_authenticated)).await;

    let mut rx = keeper.subscribe();
    gw.drop_brokerage_session();
    within(rx.wait_for(|s| matches!(s, SessionState::BrokerageDown { .. })))
        .await
        .unwrap();
    within(rx.wait_for(SessionState::is_authenticated))
        .await
        .unwrap();
    assert!(client.check_auth_status().await.unwrap().authenticated);

    gw.start_competing_session();
    within(rx.wait_for(|s| *s == SessionState::Competing))
        .await
        .unwrap();
    // The keeper does not take over by default.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(client.check_auth_status().await.unwrap().competing);

    gw.expire_session();
    within(rx.wait_for(|s| *s == SessionState::LoggedOut))
        .await
        .unwrap();
    gw.login();
    within(rx.wait_for(SessionState::is_authenticated))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_graceful_shutdown_stops_serving() {
    let (gw, client) = gateway().await;
    assert!(client.ping_server().await.is_ok());
    gw.shutdown().await;
    let e = client.ping_server().await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
}

#[tokio::test]
async fn brokerage_accounts_need_the_brokerage_session() {
    let (gw, client) = gateway().await;
    let a = client.brokerage_accounts().await.unwrap();
    assert_eq!(a.accounts, ["DU1234567"]);
    assert_eq!(a.selected_account.as_deref(), Some("DU1234567"));
    assert!(a.extra.is_empty(), "{:?}", a.extra);
    gw.drop_brokerage_session();
    assert!(matches!(
        client.brokerage_accounts().await,
        Err(Error::NoBrokerageSession { .. })
    ));
}

#[tokio::test]
async fn an_advisor_login_lists_its_master_and_sub_accounts() {
    let (_gw, client) =
        gateway_with(GatewayConfig::for_tests().broker(ibkr_sim::broker::BrokerConfig::advisor()))
            .await;
    let a = client.brokerage_accounts().await.unwrap();
    assert_eq!(a.accounts, ["DF1234567", "DU1234568", "DU1234569"]);
    assert_eq!(a.selected_account.as_deref(), Some("DF1234567"));
    let props = a.acct_props.unwrap();
    assert_eq!(props["DF1234567"].has_child_accounts, Some(true));
    assert_eq!(props["DU1234568"].has_child_accounts, Some(false));
}
