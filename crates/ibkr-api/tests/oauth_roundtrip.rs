//! The OAuth 1.0a client (`ibkr_api::oauth`) against the simulator's server side
//! (`ibkr_sim::oauth`), in pure code: credentials as IBKR's portal would issue them,
//! the live session token exchange, then signed requests.

use std::time::SystemTime;

use ibkr_api::oauth::{LstResponse, OAuthConfig, OAuthConfigBuilder, OAuthError};
use ibkr_sim::oauth::{
    OAuthRejection, OAuthRequest, ServerOAuth, ServerOAuthConfig, generate_credentials,
};

const BASE: &str = "https://127.0.0.1:5000/v1/api";

/// The URL a request with these query parameters goes to.
fn with_query(url: &str, query: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(url).unwrap();
    if !query.is_empty() {
        u.query_pairs_mut().extend_pairs(query);
    }
    u.to_string()
}

#[test]
fn client_and_server_agree_on_the_live_session_token_and_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let creds = generate_credentials(dir.path()).unwrap();
    let client = OAuthConfigBuilder::from_file(&creds.client_toml)
        .unwrap()
        .base_url(BASE)
        .build()
        .unwrap();
    assert_eq!(client.consumer_key(), creds.consumer_key);
    assert_eq!(client.realm(), "limited_poa");
    let mut server = ServerOAuth::from_file(&creds.server_toml).unwrap();
    let now = SystemTime::now();

    // The live session token exchange.
    let request = client.new_lst_request().unwrap();
    assert_eq!(request.url(), format!("{BASE}/oauth/live_session_token"));
    assert!(
        request
            .authorization()
            .starts_with("OAuth realm=\"limited_poa\", diffie_hellman_challenge=\"")
    );
    let grant = server
        .live_session_token(
            &OAuthRequest::new("POST", request.url(), Some(request.authorization())),
            now,
        )
        .unwrap();
    // Through JSON, as on the wire.
    let answer: LstResponse =
        serde_json::from_str(&serde_json::to_string(&grant).unwrap()).unwrap();
    let lst = request.complete(&answer).unwrap();
    let expires_in = answer.live_session_token_expiration as i64
        - now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
    assert!(
        (86_399_000..=86_400_000).contains(&expires_in),
        "{expires_in}"
    );

    // Signed requests, with and without a query.
    for (method, path, query) in [
        ("POST", "/iserver/auth/ssodh/init", vec![]),
        ("GET", "/portfolio/accounts", vec![]),
        (
            "GET",
            "/iserver/marketdata/snapshot",
            vec![("conids", "265598,8314"), ("fields", "31,84,86")],
        ),
        ("GET", "/iserver/secdef/search", vec![("symbol", "BRK B")]),
    ] {
        let url = format!("{BASE}{path}");
        let header = client.sign(method, &url, &query, &lst).unwrap();
        let sent = with_query(&url, &query);
        let verified = server
            .verify_request(&OAuthRequest::new(method, &sent, Some(&header)), now)
            .unwrap_or_else(|e| panic!("{method} {sent}: {e}"));
        assert_eq!(verified.consumer_key, creds.consumer_key);
        assert_eq!(verified.access_token, creds.access_token);
        // Sent again: a replay.
        assert_eq!(
            server.verify_request(&OAuthRequest::new(method, &sent, Some(&header)), now),
            Err(OAuthRejection::NonceReplayed)
        );
    }

    // The client signs the query, so a server that insists on it agrees too.
    let mut strict = ServerOAuth::from_file(&creds.server_toml)
        .unwrap()
        .with_unsigned_query_accepted(false);
    let request = client.new_lst_request().unwrap();
    let grant = strict
        .live_session_token(
            &OAuthRequest::new("POST", request.url(), Some(request.authorization())),
            now,
        )
        .unwrap();
    let lst = request
        .complete(&LstResponse::new(
            grant.diffie_hellman_response,
            grant.live_session_token_signature,
            grant.live_session_token_expiration,
        ))
        .unwrap();
    let url = format!("{BASE}/iserver/marketdata/history");
    let query = [("conid", "265598"), ("period", "1d"), ("bar", "1min")];
    let header = client.sign("GET", &url, &query, &lst).unwrap();
    assert!(
        strict
            .verify_request(
                &OAuthRequest::new("GET", &with_query(&url, &query), Some(&header)),
                now
            )
            .is_ok()
    );
    // A request sent elsewhere than signed is refused.
    let header = client
        .sign("GET", &format!("{BASE}/portfolio/accounts"), &[], &lst)
        .unwrap();
    assert_eq!(
        strict.verify_request(
            &OAuthRequest::new("GET", &format!("{BASE}/iserver/accounts"), Some(&header)),
            now
        ),
        Err(OAuthRejection::InvalidSignature)
    );
}

#[test]
fn a_token_from_another_exchange_does_not_verify() {
    // The known-answer key set (made by Python's `cryptography`) on both sides.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oauth");
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/oauth/vectors.json")).unwrap();
    let client = OAuthConfig::from_file(format!("{fixtures}/client.toml")).unwrap();
    let public_key: rsa::RsaPublicKey = rsa::pkcs8::DecodePublicKey::from_public_key_pem(
        include_str!("fixtures/oauth/public_signature.pem"),
    )
    .unwrap();
    let mut server = ServerOAuth::new(
        ServerOAuthConfig::new(
            client.consumer_key(),
            client.access_token(),
            &hex::decode(vectors["prepend"].as_str().unwrap()).unwrap(),
            public_key,
            vectors["dh_prime_hex"].as_str().unwrap(),
        )
        .unwrap(),
    );
    let now = SystemTime::now();
    let first = client.new_lst_request().unwrap();
    let second = client.new_lst_request().unwrap();
    let grant = server
        .live_session_token(
            &OAuthRequest::new("POST", first.url(), Some(first.authorization())),
            now,
        )
        .unwrap();
    let answer = LstResponse::new(
        grant.diffie_hellman_response,
        grant.live_session_token_signature,
        grant.live_session_token_expiration,
    );
    let lst = first.complete(&answer).unwrap();
    // The answer to the first challenge does not complete the second.
    assert!(matches!(
        second.complete(&answer),
        Err(OAuthError::LstMismatch)
    ));
    // The first one's token signs requests the server accepts.
    let url = format!("{}/portfolio/accounts", client.base_url());
    let header = client.sign("GET", &url, &[], &lst).unwrap();
    assert!(
        server
            .verify_request(&OAuthRequest::new("GET", &url, Some(&header)), now)
            .is_ok()
    );
}
