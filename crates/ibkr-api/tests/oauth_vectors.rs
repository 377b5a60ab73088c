//! Known-answer tests of the OAuth 1.0a steps against vectors computed
//! independently by `tests/fixtures/oauth/make_vectors.py` (Python `cryptography`).
//! Every step must match byte for byte.

use ibkr_api::oauth::crypto::{self, OAuthParams};
use ibkr_api::oauth::{
    DhParams, DhRandom, Lst, LstResponse, OAuthConfig, OAuthError, Prepend, RsaKey,
};
use serde_json::Value;

const VECTORS: &str = include_str!("fixtures/oauth/vectors.json");
const SIGNATURE_KEY: &str = include_str!("fixtures/oauth/private_signature.pem");
const ENCRYPTION_KEY: &str = include_str!("fixtures/oauth/private_encryption.pem");
const DH_PARAM: &str = include_str!("fixtures/oauth/dhparam.pem");
const DH_PARAM_X942: &str = include_str!("fixtures/oauth/dhparam_x942.pem");
const CLIENT_TOML: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/oauth/client.toml"
);

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors.json")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vectors.json: {key} is not a string"))
}

fn config(v: &Value) -> OAuthConfig {
    OAuthConfig::builder()
        .consumer_key(s(v, "consumer_key"))
        .access_token(s(v, "access_token"))
        .access_token_secret(s(v, "encrypted_access_token_secret"))
        .signature_key_pem(SIGNATURE_KEY)
        .encryption_key_pem(ENCRYPTION_KEY)
        .dh_param_pem(DH_PARAM)
        .build()
        .expect("config from the vectors' keys")
}

#[test]
fn keys_in_both_pem_formats_load() {
    let sig = RsaKey::from_pem(SIGNATURE_KEY, "private_signature.pem").unwrap(); // PKCS#8
    let enc = RsaKey::from_pem(ENCRYPTION_KEY, "private_encryption.pem").unwrap(); // PKCS#1
    assert_eq!((sig.bits(), enc.bits()), (2048, 2048));
}

#[test]
fn dh_params_from_pkcs3_x942_and_hex_agree() {
    let v = vectors();
    let pkcs3 = DhParams::from_pem(DH_PARAM, "dhparam.pem").unwrap();
    let x942 = DhParams::from_pem(DH_PARAM_X942, "dhparam_x942.pem").unwrap();
    let hex = DhParams::from_prime_hex(s(&v, "dh_prime_hex")).unwrap();
    assert_eq!(pkcs3, hex);
    assert_eq!(x942, hex);
    assert_eq!(pkcs3.prime_hex(), s(&v, "dh_prime_hex"));
    assert_eq!(pkcs3.generator().to_string(), v["dh_generator"].to_string());
    assert_eq!(pkcs3.bits(), 2048);
}

#[test]
fn prepend_matches() {
    let v = vectors();
    let key = RsaKey::from_pem(ENCRYPTION_KEY, "private_encryption.pem").unwrap();
    let prepend = crypto::prepend(s(&v, "encrypted_access_token_secret"), &key).unwrap();
    assert_eq!(prepend.as_hex(), s(&v, "prepend"));
    assert_eq!(config(&v).prepend().unwrap().as_hex(), s(&v, "prepend"));
}

#[test]
fn dh_challenge_matches() {
    let v = vectors();
    let params = DhParams::from_pem(DH_PARAM, "dhparam.pem").unwrap();
    let a = DhRandom::from_hex(s(&v, "dh_random_hex")).unwrap();
    assert_eq!(
        crypto::dh_challenge(&a, &params),
        s(&v, "diffie_hellman_challenge")
    );
}

fn lst_params(v: &Value) -> Vec<(&str, &str)> {
    let r = &v["lst_request"];
    vec![
        ("diffie_hellman_challenge", s(v, "diffie_hellman_challenge")),
        ("oauth_consumer_key", s(v, "consumer_key")),
        ("oauth_nonce", s(r, "nonce")),
        ("oauth_signature_method", "RSA-SHA256"),
        ("oauth_timestamp", s(r, "timestamp")),
        ("oauth_token", s(v, "access_token")),
    ]
}

#[test]
fn lst_base_string_and_rsa_signature_match() {
    let v = vectors();
    let r = &v["lst_request"];
    let params = lst_params(&v);
    assert_eq!(crypto::params_string(&params), s(r, "params_string"));
    let prepend = Prepend::from_hex(s(&v, "prepend")).unwrap();
    let base = crypto::lst_base_string("POST", s(r, "url"), &params, &prepend).unwrap();
    assert_eq!(base.as_str(), s(r, "base_string"));
    let key = RsaKey::from_pem(SIGNATURE_KEY, "private_signature.pem").unwrap();
    assert_eq!(
        crypto::rsa_sha256_sign(&base, &key).unwrap(),
        s(r, "signature_encoded")
    );
}

#[test]
fn lst_request_header_matches() {
    let v = vectors();
    let r = &v["lst_request"];
    let c = config(&v);
    assert_eq!(c.realm(), s(&v, "realm"));
    assert_eq!(c.lst_url(), s(r, "url"));
    let oauth = OAuthParams::new(c.consumer_key(), c.access_token(), c.realm())
        .with_nonce(s(r, "nonce"))
        .with_timestamp(s(r, "timestamp"));
    let request = c
        .lst_request(DhRandom::from_hex(s(&v, "dh_random_hex")).unwrap(), &oauth)
        .unwrap();
    assert_eq!(request.url(), s(r, "url"));
    assert_eq!(request.dh_challenge(), s(&v, "diffie_hellman_challenge"));
    assert_eq!(request.authorization(), s(r, "authorization"));
}

#[test]
fn live_session_tokens_match_with_and_without_the_sign_byte() {
    let v = vectors();
    let params = DhParams::from_prime_hex(s(&v, "dh_prime_hex")).unwrap();
    let a = DhRandom::from_hex(s(&v, "dh_random_hex")).unwrap();
    let prepend = Prepend::from_hex(s(&v, "prepend")).unwrap();
    let cases = v["lst_cases"].as_array().unwrap();
    let mut seen = (false, false);
    for case in cases {
        let lst =
            crypto::live_session_token(s(case, "diffie_hellman_response"), &a, &params, &prepend)
                .unwrap();
        assert_eq!(lst.as_base64(), s(case, "live_session_token"));
        let sig = s(case, "live_session_token_signature");
        assert_eq!(crypto::lst_signature(&lst, s(&v, "consumer_key")), sig);
        assert!(crypto::verify_lst(&lst, s(&v, "consumer_key"), sig));
        assert!(crypto::verify_lst(
            &lst,
            s(&v, "consumer_key"),
            &sig.to_uppercase()
        ));
        assert!(!crypto::verify_lst(&lst, "OTHERCONS", sig));
        assert!(!crypto::verify_lst(&lst, s(&v, "consumer_key"), "not hex"));
        // K's bytes: the Java rule checked on the vector's K.
        let k_bytes = hex::decode(s(case, "k_bytes_hex")).unwrap();
        let k = crypto::java_byte_array(&num_bigint_from(&k_bytes));
        assert_eq!(k, k_bytes);
        if case["leading_zero_byte"].as_bool().unwrap() {
            seen.0 = true;
            assert_eq!(k_bytes[0], 0);
            assert_eq!(case["k_bit_length"].as_u64().unwrap() % 8, 0);
        } else {
            seen.1 = true;
            assert_ne!(case["k_bit_length"].as_u64().unwrap() % 8, 0);
        }
    }
    assert_eq!(seen, (true, true), "both K shapes are covered");
}

fn num_bigint_from(bytes: &[u8]) -> crypto::BigUint {
    crypto::BigUint::from_bytes_be(bytes)
}

#[test]
fn lst_request_completes_and_rejects_a_wrong_signature() {
    let v = vectors();
    let r = &v["lst_request"];
    let c = config(&v);
    let oauth = c
        .oauth_params()
        .with_nonce(s(r, "nonce"))
        .with_timestamp(s(r, "timestamp"));
    let request = c
        .lst_request(DhRandom::from_hex(s(&v, "dh_random_hex")).unwrap(), &oauth)
        .unwrap();
    let case = &v["lst_cases"][1];
    let answer = LstResponse::new(
        s(case, "diffie_hellman_response"),
        s(case, "live_session_token_signature"),
        1_722_973_271_000,
    );
    let lst = request.complete(&answer).unwrap();
    assert_eq!(lst.as_base64(), s(case, "live_session_token"));

    let wrong = LstResponse::new(
        s(case, "diffie_hellman_response"),
        s(&v["lst_cases"][0], "live_session_token_signature"),
        0,
    );
    assert!(matches!(
        request.complete(&wrong),
        Err(OAuthError::LstMismatch)
    ));
}

#[test]
fn signed_requests_match() {
    let v = vectors();
    let lst = Lst::from_base64(s(&v["lst_cases"][0], "live_session_token")).unwrap();
    for req in v["requests"].as_array().unwrap() {
        let query: Vec<(&str, &str)> = req["query"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
            .collect();
        let oauth = OAuthParams::new(s(&v, "consumer_key"), s(&v, "access_token"), s(&v, "realm"))
            .with_nonce(s(req, "nonce"))
            .with_timestamp(s(req, "timestamp"));
        let mut params = vec![
            ("oauth_consumer_key", s(&v, "consumer_key")),
            ("oauth_nonce", s(req, "nonce")),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", s(req, "timestamp")),
            ("oauth_token", s(&v, "access_token")),
        ];
        params.extend_from_slice(&query);
        let base = crypto::base_string(s(req, "method"), s(req, "url"), &params).unwrap();
        assert_eq!(base, s(req, "base_string"));
        assert_eq!(
            crypto::hmac_sha256_sign(&base, &lst),
            s(req, "signature_encoded")
        );
        let header =
            crypto::sign_request(s(req, "method"), s(req, "url"), &query, &oauth, &lst).unwrap();
        assert_eq!(header, s(req, "authorization"));
    }
}

#[test]
fn percent_encoding_matches() {
    let v = vectors();
    for pair in v["percent_encoding"].as_array().unwrap() {
        let (raw, encoded) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        assert_eq!(crypto::percent_encode(raw), encoded, "{raw:?}");
    }
}

#[test]
fn client_toml_loads_relative_paths() {
    let v = vectors();
    let c = OAuthConfig::from_file(CLIENT_TOML).unwrap();
    assert_eq!(c.consumer_key(), s(&v, "consumer_key"));
    assert_eq!(c.realm(), "limited_poa");
    assert_eq!(c.base_url(), "https://api.ibkr.com/v1/api");
    assert_eq!(c.prepend().unwrap().as_hex(), s(&v, "prepend"));
    assert_eq!(c.dh_params().prime_hex(), s(&v, "dh_prime_hex"));
}
