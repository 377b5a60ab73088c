//! Pacing and resilience end to end: the client against a simulator that enforces
//! IBKR's limits (429 and a penalty box beyond them) or injects faults.

use std::sync::Arc;
use std::time::Duration;

use ibkr_api::model::contracts::Conid;
use ibkr_api::model::market_data::{MarketDataField, SnapshotRequest};
use ibkr_api::{Client, Error, Method, PacingTable, RetryPolicy};
use ibkr_sim::{Gateway, GatewayConfig, RandomFaults};

/// Fails instead of hanging.
async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("did not finish in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_mixed_requests_from_eight_tasks_gets_no_429() {
    let gw = Gateway::start(
        GatewayConfig::for_tests()
            .pacing(Some(PacingTable::gateway()))
            .penalty(Duration::from_secs(600)),
    )
    .await
    .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .build()
        .unwrap();
    // 200 requests: the global class mostly, plus snapshot (10/s), fyi (1/s) and
    // tickle (1/s) requests, handed out to 8 tasks.
    let plan: Vec<&'static str> = (0..200)
        .map(|i| match i % 20 {
            0 => "tickle",
            1 | 11 => "snapshot",
            7 => "fyi",
            _ => "status",
        })
        .collect();
    let plan = Arc::new(std::sync::Mutex::new(plan));
    let results = within(120, async {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (client, plan) = (client.clone(), plan.clone());
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let Some(kind) = plan.lock().unwrap().pop() else {
                        return out;
                    };
                    let r = match kind {
                        "tickle" => client.ping_server().await.map(|_| ()),
                        "status" => client.check_auth_status().await.map(|_| ()),
                        "snapshot" => client
                            .snapshot(&SnapshotRequest::new(
                                [Conid(265598)],
                                [MarketDataField::Last],
                            ))
                            .await
                            .map(|_| ()),
                        _ => client
                            .raw(Method::GET, "/fyi/unreadnumber", None)
                            .await
                            .map(|_| ()),
                    };
                    out.push((kind, r));
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    })
    .await;
    assert_eq!(results.len(), 200);
    for (kind, r) in &results {
        match r {
            Ok(()) => {}
            // Not simulated yet: served (and paced) all the same.
            Err(Error::Http { status: 404, .. }) if *kind == "fyi" => {}
            Err(e) => panic!("{kind}: {e}"),
        }
    }
    let m = client.pacing_metrics();
    assert_eq!(m.total().rate_limited, 0, "{m}");
    // The 200, plus the /iserver/accounts call the first snapshot makes first.
    assert_eq!(m.total().sent, 201, "{m}");
    assert!(gw.state().logged_in);
}

#[tokio::test]
async fn the_simulator_answers_429_and_boxes_a_client_that_does_not_pace() {
    let gw = Gateway::start(
        GatewayConfig::for_tests()
            .pacing(Some(PacingTable::gateway()))
            .penalty(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let flood = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let mut limited = 0;
    for _ in 0..15 {
        if let Err(Error::RateLimited { .. }) = flood.check_auth_status().await {
            limited += 1;
        }
    }
    assert!(
        limited >= 5,
        "only {limited} of 15 unpaced requests were refused"
    );

    // A pacing client on the same address waits out the penalty (here 2 s; its
    // own hold is the gateway's 10 minutes unless told) and is then served.
    let patient = Client::builder()
        .gateway(gw.url().as_str())
        .penalty(Duration::from_secs(2))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(patient.check_auth_status().await.unwrap().authenticated);
}

#[tokio::test]
async fn a_deadline_shorter_than_the_turn_is_a_typed_error_and_cached_reads_avoid_it() {
    let gw = Gateway::start(GatewayConfig::for_tests().pacing(Some(PacingTable::gateway())))
        .await
        .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .build()
        .unwrap();
    let first = client.validate_sso().await.unwrap();
    // IBKR allows one /sso/validate a minute: a caller that will not wait is told so.
    let hasty = client.with_max_wait(Some(Duration::from_secs(2)));
    match hasty.validate_sso().await {
        Err(Error::WouldWait {
            class,
            wait,
            max_wait,
            ..
        }) => {
            assert_eq!(class, "sso_validate");
            assert!(wait > Duration::from_secs(55), "{wait:?}");
            assert_eq!(max_wait, Duration::from_secs(2));
        }
        other => panic!("expected WouldWait, got {other:?}"),
    }
    // A caller that accepts a recent answer gets the one from a moment ago.
    let cached = client.with_cached_reads(true);
    assert_eq!(cached.validate_sso().await.unwrap(), first);
    assert_eq!(client.pacing_metrics().classes["sso_validate"].sent, 1);
}

#[tokio::test]
async fn with_ten_percent_faults_reads_succeed_through_retries() {
    let faults: RandomFaults = "500=3%,503=1%,drop=2%,malformed=2%,truncated=2%"
        .parse()
        .unwrap();
    let gw = Gateway::start(GatewayConfig::for_tests().faults(Some(faults), 7))
        .await
        .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .retry_policy(RetryPolicy::new(
            5,
            Duration::from_millis(1),
            Duration::from_millis(20),
        ))
        .build()
        .unwrap();
    within(120, async {
        for i in 0..300 {
            let r = if i % 2 == 0 {
                client.check_auth_status().await.map(|s| s.authenticated)
            } else {
                client.ping_server().await.map(|t| t.is_authenticated())
            };
            assert!(r.unwrap_or_else(|e| panic!("read {i}: {e}")), "read {i}");
        }
    })
    .await;
    let m = client.pacing_metrics().total();
    assert!(
        m.retries >= 15,
        "10% faults over 300 reads should need retries: {m:?}"
    );

    // Requests that are not safe to repeat are not repeated: what fails stays a
    // typed error, and nothing panics.
    let mut failures = 0;
    for _ in 0..100 {
        match client.raw(Method::POST, "/iserver/auth/status", None).await {
            Ok(_) => {}
            Err(Error::Http { .. } | Error::Decode { .. } | Error::Transport { .. }) => {
                failures += 1
            }
            Err(e) => panic!("unexpected error kind: {e:?}"),
        }
    }
    assert!(failures > 0, "10% faults should show on unretried calls");
}

#[tokio::test]
async fn a_gateway_restart_drops_the_session_and_auto_login_brings_it_back() {
    let gw = Gateway::start(GatewayConfig::for_tests().auto_login(false))
        .await
        .unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .build()
        .unwrap();
    gw.login();
    let before = client.ping_server().await.unwrap().session;
    gw.restart();
    assert!(matches!(
        client.ping_server().await,
        Err(Error::NotAuthenticated { .. })
    ));

    let gw = Gateway::start(GatewayConfig::for_tests()).await.unwrap();
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .pacing(PacingTable::unlimited())
        .build()
        .unwrap();
    let first = client.ping_server().await.unwrap().session;
    gw.restart();
    let after = client.ping_server().await.unwrap().session;
    assert_ne!(first, after, "a restart makes a new session");
    assert_ne!(before, after);
}
