//! The server's OAuth steps against the known-answer vectors that
//! `crates/ibkr-api/tests/fixtures/oauth/make_vectors.py` computed with Python's
//! `cryptography`, and each refusal.

use super::*;

use serde_json::Value;

const VECTORS: &str = include_str!("../../../ibkr-api/tests/fixtures/oauth/vectors.json");
const PUBLIC_SIGNATURE: &str =
    include_str!("../../../ibkr-api/tests/fixtures/oauth/public_signature.pem");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn consumer(v: &Value) -> ServerOAuthConfig {
    ServerOAuthConfig::new(
        s(v, "consumer_key"),
        s(v, "access_token"),
        &hex::decode(s(v, "prepend")).unwrap(),
        RsaPublicKey::from_public_key_pem(PUBLIC_SIGNATURE).unwrap(),
        s(v, "dh_prime_hex"),
    )
    .unwrap()
}

fn lst_request(v: &Value) -> (String, String, u64) {
    let r = &v["lst_request"];
    (
        s(r, "url").to_owned(),
        s(r, "authorization").to_owned(),
        s(r, "timestamp").parse().unwrap(),
    )
}

/// A server that has issued the live session token of the vectors' case `case`.
fn server_with_lst(v: &Value, case: usize) -> ServerOAuth {
    let mut server = ServerOAuth::new(consumer(v));
    let (url, auth, ts) = lst_request(v);
    let b = hex::decode(pad_hex(s(&v["lst_cases"][case], "server_random_hex"))).unwrap();
    server
        .live_session_token_with_random(&OAuthRequest::new("POST", &url, Some(&auth)), at(ts), &b)
        .unwrap();
    server
}

fn pad_hex(h: &str) -> String {
    if h.len() % 2 == 1 {
        format!("0{h}")
    } else {
        h.to_owned()
    }
}

fn request_url(req: &Value) -> String {
    let query = req["query"].as_array().unwrap();
    if query.is_empty() {
        return s(req, "url").to_owned();
    }
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for p in query {
        ser.append_pair(p[0].as_str().unwrap(), p[1].as_str().unwrap());
    }
    format!("{}?{}", s(req, "url"), ser.finish())
}

/// Signs a request as a client would, from the server's own view of the base string.
fn sign(
    server: &ServerOAuth,
    lst_b64: &str,
    method: &str,
    url: &str,
    params: &[(&str, &str)],
) -> String {
    let header: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let base = server
        .base_strings(&OAuthRequest::new(method, url, None), &header)
        .unwrap()
        .remove(0);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&BASE64.decode(lst_b64).unwrap()).unwrap();
    mac.update(base.as_bytes());
    let sig = BASE64.encode(mac.finalize().into_bytes());
    let mut pairs: Vec<String> = params
        .iter()
        .filter(|(k, _)| *k != "realm")
        .map(|(k, v)| format!("{k}=\"{}\"", pct(v)))
        .collect();
    pairs.push(format!("oauth_signature=\"{}\"", pct(&sig)));
    let realm = params
        .iter()
        .find(|(k, _)| *k == "realm")
        .map(|(_, v)| *v)
        .unwrap_or("limited_poa");
    format!("OAuth realm=\"{realm}\", {}", pairs.join(", "))
}

fn oauth_params<'a>(v: &'a Value, nonce: &'a str, ts: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("oauth_consumer_key", s(v, "consumer_key")),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", ts),
        ("oauth_token", s(v, "access_token")),
    ]
}

#[test]
fn lst_answers_match_the_vectors() {
    let v = vectors();
    let (url, auth, ts) = lst_request(&v);
    for case in v["lst_cases"].as_array().unwrap() {
        let mut server = ServerOAuth::new(consumer(&v));
        let b = hex::decode(pad_hex(s(case, "server_random_hex"))).unwrap();
        let grant = server
            .live_session_token_with_random(
                &OAuthRequest::new("POST", &url, Some(&auth)),
                at(ts),
                &b,
            )
            .unwrap();
        assert_eq!(
            grant.diffie_hellman_response,
            s(case, "diffie_hellman_response")
        );
        assert_eq!(
            grant.live_session_token_signature,
            s(case, "live_session_token_signature")
        );
        assert_eq!(grant.live_session_token_expiration, ts * 1000 + 86_400_000);
        // K's bytes, the Java way.
        let k_bytes = hex::decode(s(case, "k_bytes_hex")).unwrap();
        assert_eq!(java_bytes(&BigUint::from_bytes_be(&k_bytes)), k_bytes);
    }
}

#[test]
fn lst_answer_serialises_with_ibkr_field_names() {
    let grant = LstGrant {
        diffie_hellman_response: "ab".into(),
        live_session_token_signature: "cd".into(),
        live_session_token_expiration: 1_700_691_802_316,
    };
    assert_eq!(
        serde_json::to_value(&grant).unwrap(),
        serde_json::json!({
            "diffie_hellman_response": "ab",
            "live_session_token_signature": "cd",
            "live_session_token_expiration": 1_700_691_802_316u64
        })
    );
}

#[test]
fn signed_requests_of_the_vectors_verify() {
    let v = vectors();
    let mut server = server_with_lst(&v, 0);
    for req in v["requests"].as_array().unwrap() {
        let url = request_url(req);
        let ts: u64 = s(req, "timestamp").parse().unwrap();
        let verified = server
            .verify_request(
                &OAuthRequest::new(s(req, "method"), &url, Some(s(req, "authorization"))),
                at(ts + 30),
            )
            .unwrap();
        assert_eq!(verified.consumer_key, s(&v, "consumer_key"));
        assert_eq!(verified.access_token, s(&v, "access_token"));
        // The base string the server rebuilt is the vector's.
        let header = parse_authorization(Some(s(req, "authorization"))).unwrap();
        let bases = server
            .base_strings(&OAuthRequest::new(s(req, "method"), &url, None), &header)
            .unwrap();
        assert_eq!(bases[0].as_str(), s(req, "base_string"));
    }
}

#[test]
fn the_lst_request_is_refused_for_each_fault() {
    let v = vectors();
    let (url, auth, ts) = lst_request(&v);
    let b = [0x42u8; 32];
    let try_with = |server: &mut ServerOAuth, method: &str, url: &str, auth: &str, now: u64| {
        server.live_session_token_with_random(
            &OAuthRequest::new(method, url, Some(auth)),
            at(now),
            &b,
        )
    };
    let fresh = || ServerOAuth::new(consumer(&v));

    // A tampered base string (another URL, another method) or signature.
    assert_eq!(
        try_with(
            &mut fresh(),
            "POST",
            "https://api.ibkr.com/v1/api/oauth/other",
            &auth,
            ts
        ),
        Err(OAuthRejection::InvalidSignature)
    );
    assert_eq!(
        try_with(&mut fresh(), "GET", &url, &auth, ts),
        Err(OAuthRejection::InvalidSignature)
    );
    let sig_at = auth.find("oauth_signature=\"").unwrap() + 17;
    let mut tampered = auth.clone();
    let flipped = if &auth[sig_at..=sig_at] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(sig_at..=sig_at, flipped);
    assert_eq!(
        try_with(&mut fresh(), "POST", &url, &tampered, ts),
        Err(OAuthRejection::InvalidSignature)
    );
    // The secret differs from the one the client decrypted.
    let mut other = ServerOAuth::new(
        ServerOAuthConfig::new(
            s(&v, "consumer_key"),
            s(&v, "access_token"),
            b"another secret",
            RsaPublicKey::from_public_key_pem(PUBLIC_SIGNATURE).unwrap(),
            s(&v, "dh_prime_hex"),
        )
        .unwrap(),
    );
    assert_eq!(
        try_with(&mut other, "POST", &url, &auth, ts),
        Err(OAuthRejection::InvalidSignature)
    );
    // Clock too far.
    assert_eq!(
        try_with(&mut fresh(), "POST", &url, &auth, ts + 301),
        Err(OAuthRejection::TimestampOutOfWindow {
            timestamp: ts,
            now: ts + 301
        })
    );
    assert!(try_with(&mut fresh(), "POST", &url, &auth, ts - 300).is_ok());
    // Replayed.
    let mut server = fresh();
    assert!(try_with(&mut server, "POST", &url, &auth, ts).is_ok());
    assert_eq!(
        try_with(&mut server, "POST", &url, &auth, ts + 1),
        Err(OAuthRejection::NonceReplayed)
    );
    // Wrong realm, unknown consumer, other token, other method.
    assert!(matches!(
        try_with(
            &mut fresh(),
            "POST",
            &url,
            &auth.replace("limited_poa", "test_realm"),
            ts
        ),
        Err(OAuthRejection::WrongRealm { .. })
    ));
    assert_eq!(
        try_with(
            &mut fresh(),
            "POST",
            &url,
            &auth.replace(s(&v, "consumer_key"), "NOBODY123"),
            ts
        ),
        Err(OAuthRejection::UnknownConsumer("NOBODY123".into()))
    );
    assert_eq!(
        try_with(
            &mut fresh(),
            "POST",
            &url,
            &auth.replace(s(&v, "access_token"), "0000"),
            ts
        ),
        Err(OAuthRejection::InvalidToken)
    );
    assert!(matches!(
        try_with(
            &mut fresh(),
            "POST",
            &url,
            &auth.replace("RSA-SHA256", "HMAC-SHA256"),
            ts
        ),
        Err(OAuthRejection::UnsupportedSignatureMethod {
            expected: "RSA-SHA256",
            ..
        })
    ));
}

#[test]
fn degenerate_challenges_are_refused() {
    let v = vectors();
    let (url, auth, ts) = lst_request(&v);
    let challenge = s(&v, "diffie_hellman_challenge");
    let p_minus_1 =
        (parse_hex(s(&v, "dh_prime_hex")).unwrap() - BigUint::from(1u8)).to_str_radix(16);
    for bad in ["0", "1", p_minus_1.as_str(), "xyz"] {
        let mut server = ServerOAuth::new(consumer(&v));
        let r = server.live_session_token_with_random(
            &OAuthRequest::new("POST", &url, Some(&auth.replace(challenge, bad))),
            at(ts),
            &[7; 32],
        );
        assert!(
            matches!(r, Err(OAuthRejection::InvalidChallenge { .. })),
            "{bad}: {r:?}"
        );
    }
    let mut server = ServerOAuth::new(consumer(&v));
    let without = auth.replace(&format!("diffie_hellman_challenge=\"{challenge}\", "), "");
    assert_eq!(
        server.live_session_token_with_random(
            &OAuthRequest::new("POST", &url, Some(&without)),
            at(ts),
            &[7; 32]
        ),
        Err(OAuthRejection::MissingParameter("diffie_hellman_challenge"))
    );
}

#[test]
fn headers_that_are_not_oauth_are_refused() {
    let v = vectors();
    let mut server = server_with_lst(&v, 0);
    let url = "https://api.ibkr.com/v1/api/portfolio/accounts";
    let now = at(1_722_886_900);
    let check = |server: &mut ServerOAuth, auth: Option<&str>| {
        server.verify_request(&OAuthRequest::new("GET", url, auth), now)
    };
    assert_eq!(check(&mut server, None), Err(OAuthRejection::MissingHeader));
    assert_eq!(
        check(&mut server, Some("Bearer abc")),
        Err(OAuthRejection::MissingHeader)
    );
    assert!(matches!(
        check(&mut server, Some("OAuth realm=limited_poa")),
        Err(OAuthRejection::MalformedHeader { .. })
    ));
    assert!(matches!(
        check(&mut server, Some("OAuth realm=\"a\", realm=\"a\"")),
        Err(OAuthRejection::MalformedHeader { .. })
    ));
    assert!(matches!(
        check(
            &mut server,
            Some("OAuth realm=\"limited_poa\", oauth_nonce=\"%ZZ\"")
        ),
        Err(OAuthRejection::MissingParameter("oauth_consumer_key"))
            | Err(OAuthRejection::MalformedHeader { .. })
    ));
    assert_eq!(
        check(&mut server, Some("OAuth realm=\"limited_poa\"")),
        Err(OAuthRejection::MissingParameter("oauth_consumer_key"))
    );
}

#[test]
fn signed_requests_are_refused_for_each_fault() {
    let v = vectors();
    let lst = s(&v["lst_cases"][0], "live_session_token");
    let issued_at = 1_722_886_871u64;
    let url = "https://api.ibkr.com/v1/api/iserver/accounts";
    let mut server = server_with_lst(&v, 0).with_timestamp_window(Duration::from_secs(60));

    let ts = (issued_at + 10).to_string();
    let good = sign(&server, lst, "GET", url, &oauth_params(&v, "n1", &ts));
    let req = OAuthRequest::new("GET", url, Some(&good));
    // Outside the window, either side.
    assert!(matches!(
        server.verify_request(&req, at(issued_at + 71)),
        Err(OAuthRejection::TimestampOutOfWindow { .. })
    ));
    assert!(matches!(
        server.verify_request(&req, at(issued_at - 51)),
        Err(OAuthRejection::TimestampOutOfWindow { .. })
    ));
    // Another method or path than signed.
    assert_eq!(
        server.verify_request(
            &OAuthRequest::new("POST", url, Some(&good)),
            at(issued_at + 10)
        ),
        Err(OAuthRejection::InvalidSignature)
    );
    // A query added to what was signed: refused when the query must be signed
    // (the default accepts it, as IBKR accepts signatures without the query).
    let mut strict = server_with_lst(&v, 0).with_unsigned_query_accepted(false);
    assert_eq!(
        strict.verify_request(
            &OAuthRequest::new("GET", &format!("{url}?x=1"), Some(&good)),
            at(issued_at + 10)
        ),
        Err(OAuthRejection::InvalidSignature)
    );
    // Signed with another key.
    let forged = sign(
        &server,
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "GET",
        url,
        &oauth_params(&v, "n2", &ts),
    );
    assert_eq!(
        server.verify_request(
            &OAuthRequest::new("GET", url, Some(&forged)),
            at(issued_at + 10)
        ),
        Err(OAuthRejection::InvalidSignature)
    );
    // Good once, then a replay.
    assert!(server.verify_request(&req, at(issued_at + 10)).is_ok());
    assert_eq!(
        server.verify_request(&req, at(issued_at + 11)),
        Err(OAuthRejection::NonceReplayed)
    );
    // A malformed timestamp.
    let bad_ts = sign(&server, lst, "GET", url, &oauth_params(&v, "n3", "17e8"));
    assert_eq!(
        server.verify_request(&OAuthRequest::new("GET", url, Some(&bad_ts)), at(issued_at)),
        Err(OAuthRejection::MalformedTimestamp)
    );
    // RSA-SHA256 is for the LST request only.
    let mut params = oauth_params(&v, "n4", &ts);
    params[2].1 = "RSA-SHA256";
    let rsa = sign(&server, lst, "GET", url, &params);
    assert!(matches!(
        server.verify_request(
            &OAuthRequest::new("GET", url, Some(&rsa)),
            at(issued_at + 10)
        ),
        Err(OAuthRejection::UnsupportedSignatureMethod {
            expected: "HMAC-SHA256",
            ..
        })
    ));
    // After logout there is no live session.
    server.end_session(s(&v, "consumer_key"), s(&v, "access_token"));
    let after = sign(&server, lst, "GET", url, &oauth_params(&v, "n5", &ts));
    assert_eq!(
        server.verify_request(
            &OAuthRequest::new("GET", url, Some(&after)),
            at(issued_at + 10)
        ),
        Err(OAuthRejection::NoLiveSession)
    );
}

#[test]
fn an_expired_live_session_token_is_refused() {
    let v = vectors();
    let lst = s(&v["lst_cases"][0], "live_session_token");
    let mut server = ServerOAuth::new(consumer(&v))
        .with_lst_lifetime(Duration::from_secs(60))
        .with_timestamp_window(Duration::from_secs(3600));
    let (url, auth, issued) = lst_request(&v);
    let b = hex::decode(pad_hex(s(&v["lst_cases"][0], "server_random_hex"))).unwrap();
    let grant = server
        .live_session_token_with_random(
            &OAuthRequest::new("POST", &url, Some(&auth)),
            at(issued),
            &b,
        )
        .unwrap();
    assert_eq!(grant.live_session_token_expiration, (issued + 60) * 1000);
    let target = "https://api.ibkr.com/v1/api/tickle";
    for (nonce, t, expect_ok) in [("a", issued + 59, true), ("b", issued + 60, false)] {
        let ts = t.to_string();
        let auth = sign(&server, lst, "POST", target, &oauth_params(&v, nonce, &ts));
        let r = server.verify_request(&OAuthRequest::new("POST", target, Some(&auth)), at(t));
        if expect_ok {
            assert!(r.is_ok(), "{r:?}");
        } else {
            assert_eq!(r, Err(OAuthRejection::LiveSessionExpired));
        }
    }
}

#[test]
fn nonces_are_remembered_within_the_window_only() {
    let v = vectors();
    let lst = s(&v["lst_cases"][0], "live_session_token");
    let window = 10u64;
    let mut server = server_with_lst(&v, 0).with_timestamp_window(Duration::from_secs(window));
    let url = "https://api.ibkr.com/v1/api/tickle";
    let start = 1_722_886_871u64;
    let mut most = 0;
    for i in 0..200u64 {
        let t = start + i / 4; // four requests a second
        let nonce = format!("nonce{i}");
        let ts = t.to_string();
        let auth = sign(&server, lst, "POST", url, &oauth_params(&v, &nonce, &ts));
        server
            .verify_request(&OAuthRequest::new("POST", url, Some(&auth)), at(t))
            .unwrap();
        most = most.max(server.remembered_nonces());
    }
    // At most the nonces of the last `window` seconds (and the current one).
    assert!(
        most <= 4 * (window as usize + 1) + 1,
        "remembered up to {most}"
    );
    assert!(most >= 4 * window as usize, "remembered only {most}");
}

#[test]
fn an_oauth_only_signature_is_accepted_unless_the_query_is_required() {
    let v = vectors();
    let lst = s(&v["lst_cases"][0], "live_session_token");
    let t = 1_722_886_880u64;
    let ts = t.to_string();
    let bare = "https://api.ibkr.com/v1/api/iserver/marketdata/snapshot";
    let with_query = format!("{bare}?conids=265598%2C8314&fields=31");
    // Signed over the oauth_* parameters only, as ibind does.
    let server = server_with_lst(&v, 0);
    let auth = sign(&server, lst, "GET", bare, &oauth_params(&v, "q1", &ts));
    let mut lenient = server;
    assert!(
        lenient
            .verify_request(&OAuthRequest::new("GET", &with_query, Some(&auth)), at(t))
            .is_ok()
    );
    let mut strict = server_with_lst(&v, 0).with_unsigned_query_accepted(false);
    assert_eq!(
        strict.verify_request(&OAuthRequest::new("GET", &with_query, Some(&auth)), at(t)),
        Err(OAuthRejection::InvalidSignature)
    );
    // The full form passes both.
    let full = sign(
        &strict,
        lst,
        "GET",
        &with_query,
        &oauth_params(&v, "q2", &ts),
    );
    assert!(
        strict
            .verify_request(&OAuthRequest::new("GET", &with_query, Some(&full)), at(t))
            .is_ok()
    );
}

#[test]
fn generated_credentials_are_consistent_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("consumer");
    let creds = generate_credentials(&out).unwrap();
    assert_eq!(creds.consumer_key, DEFAULT_CONSUMER_KEY);
    assert_eq!(creds.access_token.len(), 20);

    let server = ServerOAuthConfig::from_file(&creds.server_toml).unwrap();
    assert_eq!(server.consumer_key(), DEFAULT_CONSUMER_KEY);
    assert_eq!(server.access_token(), creds.access_token);
    assert_eq!(server.realm(), "limited_poa");
    assert_eq!(server.dh_prime, rfc3526_prime());

    // The client's encrypted secret decrypts, with the client's key, to the
    // server's plain secret.
    #[derive(Deserialize)]
    struct Client {
        access_token_secret: String,
        encryption_key_file: String,
        dh_param_file: String,
    }
    let client: Client =
        toml::from_str(&std::fs::read_to_string(&creds.client_toml).unwrap()).unwrap();
    let key_pem = std::fs::read_to_string(out.join(&client.encryption_key_file)).unwrap();
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    let key = RsaPrivateKey::from_pkcs1_pem(&key_pem).unwrap();
    let plain = key
        .decrypt(
            Pkcs1v15Encrypt,
            &BASE64.decode(&client.access_token_secret).unwrap(),
        )
        .unwrap();
    assert_eq!(plain, server.access_token_secret.as_slice());
    // The signature key pair matches.
    use rsa::pkcs8::DecodePrivateKey as _;
    let sig = RsaPrivateKey::from_pkcs8_pem(
        &std::fs::read_to_string(out.join("private_signature.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(sig.to_public_key(), server.signature_key);
    // dhparam.pem is PKCS#3 with the RFC 3526 prime and generator 2.
    let dh = std::fs::read_to_string(out.join(&client.dh_param_file)).unwrap();
    let (label, der) = pem_rfc7468::decode_vec(dh.as_bytes()).unwrap();
    assert_eq!(label, "DH PARAMETERS");
    assert_eq!(der.len(), 4 + 4 + 257 + 3);
    assert_eq!(
        &der[8..265],
        &{
            let mut p = rfc3526_prime().to_bytes_be();
            p.insert(0, 0);
            p
        }[..]
    );
    assert_eq!(&der[265..], &[0x02, 0x01, 0x02]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for (name, mode) in [
            ("private_signature.pem", 0o600),
            ("private_encryption.pem", 0o600),
            ("client.toml", 0o600),
            ("server.toml", 0o600),
            ("public_signature.pem", 0o644),
            ("dhparam.pem", 0o644),
        ] {
            let m = std::fs::metadata(out.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(m, mode, "{name}");
        }
    }

    // Nothing is overwritten.
    assert!(matches!(
        generate_credentials(&out),
        Err(OAuthSetupError::Exists { .. })
    ));
}

#[test]
fn server_toml_errors_name_the_file_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    let secret = "00112233445566778899aabbccddeeff";
    std::fs::write(
        &path,
        format!("consumer_key = \"X\"\naccess_token = \"t\"\naccess_token_secret = \"{secret}\"\nsignature_public_key_file = \"missing.pem\"\ndh_prime = \"ff\"\n"),
    )
    .unwrap();
    let err = ServerOAuthConfig::from_file(&path).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("missing.pem"), "{text}");
    assert!(!text.contains(secret));

    std::fs::write(&path, format!("access_token_secret = \"{secret}\" oops\n")).unwrap();
    let text = ServerOAuthConfig::from_file(&path).unwrap_err().to_string();
    assert!(text.contains("server.toml"), "{text}");
    assert!(!text.contains(secret), "{text}");

    std::fs::write(&path, "consumer_key = 5\n").unwrap();
    assert!(matches!(
        ServerOAuthConfig::from_file(&path),
        Err(OAuthSetupError::Invalid { .. })
    ));
}

#[test]
fn debug_output_holds_no_secret() {
    let v = vectors();
    let config = consumer(&v);
    let mut server = ServerOAuth::new(config.clone());
    let shown = format!("{config:?} {server:?}");
    assert!(!shown.contains(s(&v, "prepend")), "{shown}");
    assert!(!shown.contains(s(&v, "access_token")), "{shown}");
    let (url, auth, ts) = lst_request(&v);
    server
        .live_session_token(&OAuthRequest::new("POST", &url, Some(&auth)), at(ts))
        .unwrap();
    let shown = format!("{server:?}");
    assert!(shown.contains("live_sessions: 1"), "{shown}");
    for case in v["lst_cases"].as_array().unwrap() {
        assert!(!shown.contains(s(case, "live_session_token")));
    }
}

#[test]
fn a_random_server_exponent_still_yields_the_clients_token() {
    // The client's side of the vectors (a, prepend) with the server's random b:
    // both ends derive the same token.
    let v = vectors();
    let (url, auth, ts) = lst_request(&v);
    let mut server = ServerOAuth::new(consumer(&v));
    let grant = server
        .live_session_token(&OAuthRequest::new("POST", &url, Some(&auth)), at(ts))
        .unwrap();
    let p = parse_hex(s(&v, "dh_prime_hex")).unwrap();
    let a = parse_hex(s(&v, "dh_random_hex")).unwrap();
    let k = parse_hex(&grant.diffie_hellman_response)
        .unwrap()
        .modpow(&a, &p);
    let lst = hmac_sha1(&java_bytes(&k), &hex::decode(s(&v, "prepend")).unwrap());
    assert_eq!(
        hex::encode(hmac_sha1(&lst, s(&v, "consumer_key").as_bytes())),
        grant.live_session_token_signature
    );
    // And a request signed with it verifies.
    let t = ts + 5;
    let tss = t.to_string();
    let target = "https://api.ibkr.com/v1/api/iserver/auth/status";
    let header = sign(
        &server,
        &BASE64.encode(&lst),
        "POST",
        target,
        &oauth_params(&v, "z", &tss),
    );
    assert!(
        server
            .verify_request(&OAuthRequest::new("POST", target, Some(&header)), at(t))
            .is_ok()
    );
}
