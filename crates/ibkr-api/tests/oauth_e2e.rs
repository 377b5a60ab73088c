//! OAuth 1.0a end to end: credentials generated as IBKR's self-service portal would
//! issue them, the simulator playing `api.ibkr.com` over TLS on loopback, and the
//! same `Client` calls as through the gateway: the live session token obtained on
//! the first call, the brokerage session opened, accounts, quotes and an order,
//! renewal ahead of expiry and after a forced expiry (with requests in flight), each
//! refusal of the OAuth layer over HTTP, and no secret in logs, `Debug` output or
//! error messages.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{TimeZone, Utc};
use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::market_data::MarketDataField;
use ibkr_api::model::orders::{PromptId, Tif};
use ibkr_api::oauth::crypto::{self, OAuthParams};
use ibkr_api::oauth::{Lst, LstResponse, OAuthConfig};
use ibkr_api::{Client, Decimal, Error, PacingTable, Placement, PromptPolicy};
use ibkr_sim::oauth::{GeneratedCredentials, generate_credentials};
use ibkr_sim::{BrokerageState, Gateway, GatewayConfig, OAuthSettings};
use serde_json::Value;
use tempfile::TempDir;

const AAPL: Conid = Conid(265598);
const ACCOUNT: &str = "DU1234567";

/// A Wednesday, 15:00 UTC: US markets open.
fn open_market() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 18, 15, 0, 0).unwrap()
}

/// Fails instead of hanging.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("did not finish in time")
}

/// A test consumer's files, a simulator requiring OAuth over HTTPS on loopback,
/// and a client of it.
struct Setup {
    dir: TempDir,
    creds: GeneratedCredentials,
    gw: Gateway,
    client: Client,
}

impl Setup {
    async fn new() -> Setup {
        Setup::with(|s| s).await
    }

    async fn with(settings: impl FnOnce(OAuthSettings) -> OAuthSettings) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let creds = generate_credentials(dir.path()).unwrap();
        let oauth = settings(OAuthSettings::from_file(&creds.server_toml).unwrap());
        let gw = Gateway::start(
            GatewayConfig::for_tests()
                .market_time(open_market())
                .oauth(Some(oauth)),
        )
        .await
        .unwrap();
        assert!(gw.url().as_str().starts_with("https://127.0.0.1:"));
        let config = OAuthConfig::from_file(&creds.client_toml).unwrap();
        let client = Client::builder()
            .oauth(config)
            .gateway(gw.url().as_str())
            .pacing(PacingTable::unlimited())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Setup {
            dir,
            creds,
            gw,
            client,
        }
    }

    /// The client's configuration, aimed at the simulator.
    fn config(&self) -> OAuthConfig {
        ibkr_api::oauth::OAuthConfigBuilder::from_file(&self.creds.client_toml)
            .unwrap()
            .base_url(self.gw.api_url().as_str())
            .build()
            .unwrap()
    }

    fn issued(&self) -> u64 {
        self.gw.oauth_tokens_issued().expect("OAuth mode")
    }

    /// The token the server issued to this consumer (to look for it in logs).
    fn server_lst(&self) -> String {
        self.gw
            .oauth_issued_token(&self.creds.consumer_key, &self.creds.access_token)
            .expect("a token was issued")
    }
}

fn acct() -> AccountId {
    AccountId::from(ACCOUNT)
}

#[tokio::test]
async fn the_whole_flow_runs_over_oauth() {
    let s = Setup::new().await;
    within(async {
        // Nobody logged in through a browser, and nothing was asked yet.
        assert!(!s.gw.state().logged_in);
        assert_eq!(s.issued(), 0);
        assert!(s.client.is_oauth());
        assert_eq!(
            s.client.pacing_table().global(),
            PacingTable::unlimited().global(),
            "an explicit pacing table wins over the OAuth default"
        );

        // The first call obtains the token; the SSO session is then up, and the
        // first /iserver call opens the brokerage session before it goes.
        let accounts = s.client.brokerage_accounts().await.unwrap();
        assert_eq!(s.issued(), 1);
        assert_eq!(accounts.accounts, vec![ACCOUNT.to_string()]);
        let state = s.gw.state();
        assert!(state.logged_in);
        assert_eq!(state.brokerage, Some(BrokerageState::Authenticated));
        let status = s.client.check_auth_status().await.unwrap();
        assert!(status.authenticated);

        let portfolio = s.client.portfolio_accounts().await.unwrap();
        assert_eq!(portfolio[0].id, acct());
        let summary = s.client.portfolio_summary(&acct()).await.unwrap();
        assert!(summary.net_liquidation().is_some_and(|v| v > Decimal::ZERO));

        let q = s
            .client
            .quotes(&[AAPL], &[MarketDataField::Last], Duration::from_secs(5))
            .await
            .unwrap();
        let last = q.quotes[0].last.expect("a last price");
        assert!(last > Decimal::ZERO);

        // A limit 5 % under the market: the price-percentage prompt, accepted by
        // policy; the order rests in the simulator's book exactly once.
        let limit = (last * Decimal::new(95, 2)).round_dp(2);
        let placed = s
            .client
            .order(&acct())
            .buy(AAPL, 3)
            .limit(limit)
            .tif(Tif::Gtc)
            .prompts(PromptPolicy::accept([PromptId::PricePercentageLimit]))
            .place()
            .await
            .unwrap();
        let Placement::Placed(orders) = placed else {
            panic!("expected the order placed, got {placed:?}");
        };
        let coid = orders[0].coid.clone().expect("a cOID");
        let book: Vec<_> =
            s.gw.orders()
                .into_iter()
                .filter(|o| o.coid == coid)
                .collect();
        assert_eq!(book.len(), 1);
        assert_eq!(book[0].quantity, Decimal::from(3));

        // The keeper tickles over OAuth too.
        let tickle = s.client.ping_server().await.unwrap();
        assert!(tickle.is_authenticated());

        // Still the first token; it expires about 24 hours ahead and is renewed at
        // 90 % of that.
        let info = s.client.live_session_token_info().await.unwrap();
        assert_eq!(info.tokens_obtained, 1);
        assert_eq!(info.consumer_key, s.creds.consumer_key);
        let lifetime = info.expires_at - info.obtained_at;
        assert!(
            (lifetime - chrono::Duration::hours(24)).num_seconds().abs() < 5,
            "{info:?}"
        );
        let renew_after = info.renews_at - info.obtained_at;
        assert!(
            (renew_after.num_seconds() - 24 * 3600 * 9 / 10).abs() < 5,
            "{info:?}"
        );
        assert_eq!(s.issued(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_forced_expiry_is_renewed_transparently_and_an_order_goes_once() {
    let s = Setup::new().await;
    within(async {
        s.client.brokerage_accounts().await.unwrap();
        let first = s.client.live_session_token_info().await.unwrap();
        let first_lst = s.server_lst();

        // Every token expires: the next call is refused 401, renews and goes again.
        assert_eq!(s.gw.oauth_expire_tokens(), Some(1));
        let accounts = s.client.portfolio_accounts().await.unwrap();
        assert_eq!(accounts[0].id, acct());
        assert_eq!(s.issued(), 2);
        let second = s.client.live_session_token_info().await.unwrap();
        assert_eq!(second.tokens_obtained, 2);
        assert!(second.obtained_at >= first.obtained_at);
        assert_ne!(s.server_lst(), first_lst, "a new token");

        // An order refused by the OAuth layer was not processed: after the renewal
        // it is placed, exactly once.
        let last = s
            .client
            .quotes(&[AAPL], &[MarketDataField::Last], Duration::from_secs(5))
            .await
            .unwrap()
            .quotes[0]
            .last
            .unwrap();
        assert_eq!(s.gw.oauth_expire_tokens(), Some(1));
        let placed = s
            .client
            .order(&acct())
            .buy(AAPL, 2)
            .limit((last * Decimal::new(98, 2)).round_dp(2))
            .tif(Tif::Gtc)
            .place()
            .await
            .unwrap();
        let Placement::Placed(orders) = placed else {
            panic!("expected the order placed, got {placed:?}");
        };
        assert_eq!(s.issued(), 3);
        let coid = orders[0].coid.clone().unwrap();
        assert_eq!(
            s.gw.orders().iter().filter(|o| o.coid == coid).count(),
            1,
            "placed exactly once"
        );

        // The brokerage session survived the renewals.
        assert!(s.client.check_auth_status().await.unwrap().authenticated);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_in_flight_during_a_renewal_wait_then_proceed_with_one_new_token() {
    let s = Setup::new().await;
    within(async {
        s.client.brokerage_accounts().await.unwrap();
        assert_eq!(s.issued(), 1);
        s.gw.oauth_expire_tokens();
        // Sixteen requests at once all meet the expired token; one renews, the
        // others wait for it and go again.
        let calls: Vec<_> = (0..16)
            .map(|i| {
                let c = s.client.clone();
                tokio::spawn(async move {
                    if i % 2 == 0 {
                        c.ping_server().await.map(|_| ())
                    } else {
                        c.check_auth_status().await.map(|_| ())
                    }
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(s.issued(), 2, "exactly one renewal");
        assert_eq!(
            s.client
                .live_session_token_info()
                .await
                .unwrap()
                .tokens_obtained,
            2
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_is_renewed_ahead_of_its_expiry_without_a_refusal() {
    let lifetime = Duration::from_secs(10);
    let s = Setup::with(|o| o.lst_lifetime(lifetime)).await;
    within(async {
        s.client.brokerage_accounts().await.unwrap();
        let first = s.client.live_session_token_info().await.unwrap();
        let renew_after = first.renews_at - first.obtained_at;
        // 90 % of the lifetime left when the answer came.
        assert!(
            (renew_after.num_milliseconds() - 9000).abs() < 200,
            "{first:?}"
        );

        // Past 90 % of the lifetime, before the expiry: the next requests (many at
        // once) renew the token once, and none is refused.
        let wait = (first.renews_at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_millis(200)).await;
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let c = s.client.clone();
                tokio::spawn(async move { c.ping_server().await.map(|_| ()) })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        let second = s.client.live_session_token_info().await.unwrap();
        assert_eq!(second.tokens_obtained, 2);
        assert_eq!(s.issued(), 2);
        assert!(
            second.obtained_at < first.expires_at,
            "renewed before the old token expired: {first:?} then {second:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_failed_renewal_keeps_the_live_token_in_use() {
    let s = Setup::with(|o| o.lst_lifetime(Duration::from_secs(6))).await;
    within(async {
        s.client.ping_server().await.unwrap();
        let first = s.client.live_session_token_info().await.unwrap();
        let wait = (first.renews_at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_millis(100)).await;
        // The token endpoint fails once: the call still goes, with the old token,
        // and the renewal is put off.
        s.gw.inject_fault(ibkr_sim::Fault::on(
            "/oauth/live_session_token",
            ibkr_sim::FaultKind::Status { status: 503 },
        ));
        s.client.ping_server().await.unwrap();
        let after = s.client.live_session_token_info().await.unwrap();
        assert_eq!(after.tokens_obtained, 1);
        assert_eq!(after.expires_at, first.expires_at);
        assert!(after.renews_at > first.renews_at, "{after:?}");
        assert!(after.renews_at < first.expires_at, "{after:?}");
        assert_eq!(s.issued(), 1);
    })
    .await;
}

// ---------------------------------------------------------------------------
// The OAuth layer over HTTP
// ---------------------------------------------------------------------------

/// A TLS client that accepts the simulator's self-signed certificate.
fn http_client() -> reqwest::Client {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent("oauth-e2e-test")
        .build()
        .unwrap()
}

/// Status, content type and JSON body of a request.
async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    authorization: Option<&str>,
) -> (u16, String, Value) {
    let mut req = http
        .request(method, url)
        .header(reqwest::header::CONTENT_LENGTH, "0");
    if let Some(a) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, ct, body)
}

/// Asserts IBKR's 401 problem body, and returns its detail.
fn refused(answer: &(u16, String, Value)) -> String {
    let (status, ct, body) = answer;
    assert_eq!(*status, 401, "{body}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(body["type"], "/simple");
    assert_eq!(body["title"], "Unauthorized");
    assert_eq!(body["status"], 401);
    body["detail"].as_str().expect("a detail").to_owned()
}

/// Asks for a live session token by hand, as any OAuth client would.
async fn lst_by_hand(http: &reqwest::Client, config: &OAuthConfig) -> Lst {
    let request = config.new_lst_request().unwrap();
    let (status, _, body) = send(
        http,
        reqwest::Method::POST,
        request.url(),
        Some(request.authorization()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for key in [
        "diffie_hellman_response",
        "live_session_token_signature",
        "live_session_token_expiration",
    ] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    let answer: LstResponse = serde_json::from_value(body).unwrap();
    request.complete(&answer).unwrap()
}

/// The `Authorization` header of a request signed with `lst`.
fn sign(method: &str, url: &str, params: &OAuthParams, lst: &Lst) -> String {
    crypto::sign_request(method, url, &[], params, lst).unwrap()
}

fn now_secs() -> String {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

#[tokio::test]
async fn each_refusal_of_the_oauth_layer_is_ibkrs_401() {
    let s = Setup::new().await;
    let http = http_client();
    let config = s.config();
    let api = s.gw.api_url().to_string();
    let tickle = format!("{api}/tickle");
    let params = || config.oauth_params();
    within(async {
        // No Authorization header at all, and before any token.
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, None).await);
        assert!(d.contains("OAuth Authorization header"), "{d}");
        let header = sign(
            "POST",
            &tickle,
            &params(),
            &Lst::from_base64("AAAA").unwrap(),
        );
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&header)).await);
        assert!(d.starts_with("Access token expired"), "{d}");

        // The token request itself, badly signed (another key's signature).
        let wrong_key = OAuthConfig::builder()
            .consumer_key(config.consumer_key())
            .access_token(config.access_token())
            .access_token_secret(toml_value(
                &std::fs::read_to_string(&s.creds.client_toml).unwrap(),
                "access_token_secret",
            ))
            .signature_key(config.encryption_key().clone())
            .encryption_key(config.encryption_key().clone())
            .dh_params(config.dh_params().clone())
            .base_url(config.base_url())
            .build()
            .unwrap();
        let request = wrong_key.new_lst_request().unwrap();
        let d = refused(
            &send(
                &http,
                reqwest::Method::POST,
                request.url(),
                Some(request.authorization()),
            )
            .await,
        );
        assert_eq!(d, "Invalid signature");
        assert_eq!(s.issued(), 0);

        let lst = lst_by_hand(&http, &config).await;
        assert_eq!(s.issued(), 1);
        assert!(
            s.gw.state().logged_in,
            "a valid token opens the SSO session"
        );

        // A good request passes.
        let good = sign("POST", &tickle, &params(), &lst);
        let (status, _, body) = send(&http, reqwest::Method::POST, &tickle, Some(&good)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["session"].is_string());

        // Replayed: the same header (same nonce) again.
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&good)).await);
        assert_eq!(d, "Nonce already used");

        // Wrong signature: signed for another path, or with another token.
        let other = sign("POST", &format!("{api}/logout"), &params(), &lst);
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&other)).await);
        assert_eq!(d, "Invalid signature");
        let forged = sign(
            "POST",
            &tickle,
            &params(),
            &Lst::from_base64("c2VjcmV0").unwrap(),
        );
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&forged)).await);
        assert_eq!(d, "Invalid signature");

        // Stale timestamp: an hour old, or an hour ahead.
        let hour = 3600;
        let now: u64 = now_secs().parse().unwrap();
        for ts in [now - hour, now + hour] {
            let stale = sign(
                "POST",
                &tickle,
                &params().with_timestamp(ts.to_string()),
                &lst,
            );
            let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&stale)).await);
            assert!(d.contains("outside the allowed window"), "{d}");
        }

        // Unknown consumer, and a token that is not the consumer's.
        let mut stranger = params();
        stranger.consumer_key = "NOBODY123".into();
        let h = sign("POST", &tickle, &stranger, &lst);
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&h)).await);
        assert_eq!(d, "Invalid consumer \"NOBODY123\"");
        let mut other_token = params();
        other_token.token = "0123456789abcdef0123".into();
        let h = sign("POST", &tickle, &other_token, &lst);
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&h)).await);
        assert_eq!(d, "Invalid access token");

        // Expired token (forced), then a new one works again.
        assert_eq!(s.gw.oauth_expire_tokens(), Some(1));
        let h = sign("POST", &tickle, &params(), &lst);
        let d = refused(&send(&http, reqwest::Method::POST, &tickle, Some(&h)).await);
        assert_eq!(d, "Access token expired");
        // Over the control API too.
        let (status, _, _) = send(
            &http,
            reqwest::Method::POST,
            &format!("{}sim/oauth/expire", s.gw.url()),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let lst = lst_by_hand(&http, &config).await;
        let h = sign("POST", &tickle, &params(), &lst);
        assert_eq!(
            send(&http, reqwest::Method::POST, &tickle, Some(&h))
                .await
                .0,
            200
        );

        // The WebSocket endpoint takes the access token as a query parameter (and
        // the `api` cookie with the session id), as IBKR documents it for OAuth.
        let (_, _, t) = send(
            &http,
            reqwest::Method::POST,
            &tickle,
            Some(&sign("POST", &tickle, &params(), &lst)),
        )
        .await;
        let session = t["session"].as_str().unwrap().to_owned();
        let ws = format!("{api}/ws");
        let with_token = format!("{ws}?oauth_token={}", config.access_token());
        let upgrade = |url: String| {
            http.get(url)
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("cookie", format!("api={session}"))
                .send()
        };
        let resp = upgrade(ws.clone()).await.unwrap();
        assert_eq!(resp.status(), 401, "no oauth_token");
        let ct = resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let d = refused(&(401, ct, resp.json().await.unwrap()));
        assert!(d.contains("oauth_token"), "{d}");
        let resp = upgrade(with_token.clone()).await.unwrap();
        assert_eq!(resp.status(), 101, "the socket opens");
        drop(resp);
        s.gw.oauth_expire_tokens();
        let resp = upgrade(with_token).await.unwrap();
        assert_eq!(resp.status(), 401, "the token expired");
    })
    .await;
}

#[tokio::test]
async fn query_parameters_may_be_signed_or_not_unless_the_server_insists() {
    for insist in [false, true] {
        let s = Setup::with(|o| o.accept_unsigned_query(!insist)).await;
        let http = http_client();
        let config = s.config();
        let url = format!("{}/trsrv/stocks?symbols=AAPL", s.gw.api_url());
        let bare = format!("{}/trsrv/stocks", s.gw.api_url());
        within(async {
            let lst = lst_by_hand(&http, &config).await;
            // OAuth 1.0a: the query's parameters are in the base string.
            let full = sign("GET", &url, &config.oauth_params(), &lst);
            let (status, _, body) = send(&http, reqwest::Method::GET, &url, Some(&full)).await;
            assert_eq!(status, 200, "{body}");
            assert!(body["AAPL"].is_array(), "{body}");
            // Only the oauth_* parameters signed, as some IBKR clients do.
            let partial = sign("GET", &bare, &config.oauth_params(), &lst);
            let answer = send(&http, reqwest::Method::GET, &url, Some(&partial)).await;
            if insist {
                assert_eq!(refused(&answer), "Invalid signature");
            } else {
                assert_eq!(answer.0, 200, "{}", answer.2);
            }
        })
        .await;
    }
}

#[tokio::test]
async fn bad_credentials_fail_with_typed_errors_that_name_no_secret() {
    let s = Setup::new().await;
    let text = std::fs::read_to_string(&s.creds.client_toml).unwrap();
    let secret = toml_value(&text, "access_token_secret");
    within(async {
        // A consumer key the server does not know: the token request is refused.
        let stranger = ibkr_api::oauth::OAuthConfigBuilder::from_file(&s.creds.client_toml)
            .unwrap()
            .consumer_key("NOBODY123")
            .build()
            .unwrap();
        let client = Client::builder()
            .oauth(stranger)
            .gateway(s.gw.url().as_str())
            .build()
            .unwrap();
        let err = client.portfolio_accounts().await.unwrap_err();
        let Error::OAuthRejected { endpoint, reason } = &err else {
            panic!("expected OAuthRejected, got {err:?}");
        };
        assert_eq!(endpoint, "POST /oauth/live_session_token");
        assert_eq!(reason, "Invalid consumer \"NOBODY123\"");
        assert_eq!(err.status(), Some(401));
        assert!(err.is_auth());
        assert!(!err.to_string().contains(&secret));

        // An encryption key that does not decrypt the secret: nothing is sent.
        let config = OAuthConfig::from_file(&s.creds.client_toml).unwrap();
        let wrong = ibkr_api::oauth::OAuthConfigBuilder::from_file(&s.creds.client_toml)
            .unwrap()
            .encryption_key(config.signature_key().clone())
            .build()
            .unwrap();
        let client = Client::builder()
            .oauth(wrong)
            .gateway(s.gw.url().as_str())
            .build()
            .unwrap();
        let err = client.ping_server().await.unwrap_err();
        assert!(
            matches!(err, Error::OAuth(ibkr_api::oauth::OAuthError::Decrypt)),
            "{err:?}"
        );
        assert!(err.to_string().contains("does not decrypt"), "{err}");
        assert_eq!(s.issued(), 0);

        // A gateway client has no live session token; a gateway has no OAuth.
        let plain = Gateway::start(GatewayConfig::for_tests()).await.unwrap();
        let client = Client::builder()
            .gateway(plain.url().as_str())
            .build()
            .unwrap();
        assert!(!client.is_oauth());
        assert!(matches!(
            client.live_session_token_info().await,
            Err(Error::Config(_))
        ));
        assert_eq!(plain.oauth_expire_tokens(), None);
        let (status, _, _) = send(
            &http_client(),
            reqwest::Method::POST,
            &format!("{}sim/oauth/expire", plain.url()),
            None,
        )
        .await;
        assert_eq!(status, 409);
    })
    .await;
}

/// A string value of a TOML file.
fn toml_value(text: &str, key: &str) -> String {
    let table: toml::Table = text.parse().unwrap();
    table[key].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------
// No secret in the logs
// ---------------------------------------------------------------------------

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The whole flow with every event at trace level captured (on one thread, so the
/// simulator's tasks log into the same buffer): no secret appears, nor in `Debug`
/// output or error messages.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_the_logs() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    // With a single dispatcher registered, `tracing` decides whether a call site is
    // enabled by the default of the thread that reaches it first, and remembers:
    // another test of this binary, on a thread without a subscriber, would disable
    // the simulator's and the client's call sites for this one too. A second
    // dispatcher makes it ask every registered dispatcher (this test's included)
    // instead, and re-decides the call sites already seen.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let s = Setup::with(|o| o.lst_lifetime(Duration::from_secs(4))).await;
    let mut lsts = Vec::new();
    let mut shown = Vec::new();
    within(async {
        s.client.brokerage_accounts().await.unwrap();
        lsts.push(s.server_lst());
        s.client
            .quotes(&[AAPL], &[MarketDataField::Last], Duration::from_secs(5))
            .await
            .unwrap();
        let placed = s
            .client
            .order(&acct())
            .buy(AAPL, 1)
            .market()
            .prompts(PromptPolicy::accept(PromptId::KNOWN))
            .place()
            .await
            .unwrap();
        shown.push(format!("{placed:?}"));
        // A forced expiry, and a renewal ahead of expiry.
        s.gw.oauth_expire_tokens();
        s.client.ping_server().await.unwrap();
        lsts.push(s.server_lst());
        let info = s.client.live_session_token_info().await.unwrap();
        let wait = (info.renews_at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + Duration::from_millis(100)).await;
        s.client.ping_server().await.unwrap();
        lsts.push(s.server_lst());
        assert_eq!(s.issued(), 3);
        shown.push(format!("{:?}", s.client));
        shown.push(format!("{info:?}"));
        shown.push(format!("{:?}", s.config()));
        shown.push(format!("{:?}", s.config().new_lst_request().unwrap()));
        // Refusals and their errors.
        let stranger = ibkr_api::oauth::OAuthConfigBuilder::from_file(&s.creds.client_toml)
            .unwrap()
            .consumer_key("NOBODY123")
            .build()
            .unwrap();
        let client = Client::builder()
            .oauth(stranger)
            .gateway(s.gw.url().as_str())
            .build()
            .unwrap();
        let err = client.ping_server().await.unwrap_err();
        shown.push(format!("{err} {err:?}"));
        let http = http_client();
        let tickle = format!("{}/tickle", s.gw.api_url());
        let stale = crypto::sign_request(
            "POST",
            &tickle,
            &[],
            &s.config().oauth_params().with_timestamp("1000000000"),
            &Lst::from_base64(&lsts[2]).unwrap(),
        )
        .unwrap();
        let answer = send(&http, reqwest::Method::POST, &tickle, Some(&stale)).await;
        shown.push(answer.2.to_string());
    })
    .await;

    let logs = logs.text();
    // Every step was logged: the token, the renewals, the refusals on both sides.
    for step in [
        "live session token obtained",
        "live session token issued",
        "refused by the OAuth layer; renewing the live session token",
        "OAuth request refused",
        "brokerage session opened",
    ] {
        assert!(logs.contains(step), "no {step:?} in the logs:\n{logs}");
    }
    assert!(logs.contains("TRACE"), "trace events were captured");

    let client_toml = std::fs::read_to_string(&s.creds.client_toml).unwrap();
    let server_toml = std::fs::read_to_string(&s.creds.server_toml).unwrap();
    let mut secrets = vec![
        (
            "access token secret",
            toml_value(&client_toml, "access_token_secret"),
        ),
        ("prepend", toml_value(&server_toml, "access_token_secret")),
        ("access token", s.creds.access_token.clone()),
    ];
    for l in &lsts {
        assert!(l.len() >= 20, "a token: {l}");
        secrets.push(("live session token", l.clone()));
        // As it would show percent-encoded, too.
        secrets.push((
            "live session token",
            l.replace('+', "%2B").replace('/', "%2F"),
        ));
    }
    for file in ["private_signature.pem", "private_encryption.pem"] {
        let pem = std::fs::read_to_string(s.dir.path().join(file)).unwrap();
        for line in pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
        {
            secrets.push(("private key line", line.to_owned()));
        }
    }
    let shown = shown.join("\n");
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "the logs show the {what}");
        assert!(
            !shown.contains(secret.as_str()),
            "Debug or an error shows the {what}:\n{shown}"
        );
    }
}

/// Streaming works headless too: the socket carries the access token as IBKR wants
/// (`?oauth_token=`) and quotes arrive.
#[tokio::test]
async fn quotes_stream_over_oauth() {
    use futures_util::StreamExt;
    use ibkr_api::streaming::Event;

    let s = Setup::new().await;
    within(async {
        let streamer = s.client.stream().await.unwrap();
        let mut quotes = streamer.quotes(&[Conid(265598)], &[MarketDataField::Last]);
        let q = loop {
            match tokio::time::timeout(Duration::from_secs(15), quotes.next())
                .await
                .expect("a quote in time")
                .expect("the stream ended")
            {
                Event::Update(q) if q.last.is_some() => break q,
                _ => continue,
            }
        };
        assert_eq!(q.conid, Conid(265598));
        assert!(q.last.unwrap() > Decimal::ZERO);
        assert_eq!(s.issued(), 1, "one token served REST and the socket");
    })
    .await;
}
