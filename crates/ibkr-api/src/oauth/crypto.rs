//! The pure steps of IBKR's first-party OAuth 1.0a, each testable on its own.
//!
//! Nothing here does I/O or reads the clock, except [`OAuthParams::new`],
//! [`generate_nonce`], [`timestamp_now`] and [`DhRandom::generate`], which draw the
//! per-request values; every other function takes them as arguments, so the
//! known-answer tests (`tests/oauth_vectors.rs`) check each step byte for byte.
//!
//! RUSTSEC-2023-0071 ("Marvin": the `rsa` crate's decryption is not constant-time)
//! is about a network-facing decryption oracle that an attacker can query and time.
//! Here the only RSA decryption is [`prepend`]: the client decrypts its own access
//! token secret, once per live session token, locally, from a value that an attacker
//! does not choose. There is no oracle, so the advisory does not apply. Signing
//! (PKCS#1 v1.5 with SHA-256) is deterministic and not affected.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
/// The big unsigned integer type of [`DhParams`] (from `num-bigint`).
pub use num_bigint::BigUint;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::RngCore as _;
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::OAuthError;

/// The signature method of the live session token request.
pub const RSA_SHA256: &str = "RSA-SHA256";
/// The signature method of every request signed with the live session token.
pub const HMAC_SHA256: &str = "HMAC-SHA256";

/// Characters left as they are by OAuth's percent-encoding: RFC 3986's unreserved
/// set (`A-Z a-z 0-9 - . _ ~`); every other byte of the UTF-8 form is `%XX`, with
/// upper-case hex digits.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// OAuth percent-encoding (RFC 5849 §3.6): keeps only RFC 3986's unreserved
/// characters, encodes everything else from its UTF-8 bytes (`a b` → `a%20b`,
/// `+` → `%2B`, `ü` → `%C3%BC`).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

// ---------------------------------------------------------------------------
// Secret values
// ---------------------------------------------------------------------------

/// An RSA private key (the signature key or the encryption key), read from PEM:
/// PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`).
///
/// Its `Debug` shows only the key size; the key material is wiped when dropped.
#[derive(Clone)]
pub struct RsaKey(RsaPrivateKey);

impl RsaKey {
    /// Reads a PEM private key. `what` names it in errors (a file name, or
    /// "signature key").
    pub fn from_pem(pem: &str, what: &str) -> Result<Self, OAuthError> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::DecodePrivateKey as _;

        let invalid = |reason: String| OAuthError::InvalidKey {
            what: what.to_owned(),
            reason,
        };
        let (label, der) = pem_decode(pem).map_err(invalid)?;
        let der = Zeroizing::new(der);
        let key = match label.as_str() {
            "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(&der)
                .map_err(|e| invalid(format!("not a valid PKCS#1 RSA private key ({e})")))?,
            "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_der(&der)
                .map_err(|e| invalid(format!("not a valid PKCS#8 RSA private key ({e})")))?,
            "ENCRYPTED PRIVATE KEY" => {
                return Err(invalid(
                    "the key is encrypted with a passphrase; write it unencrypted \
                     (`openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pem`) and protect the file"
                        .into(),
                ));
            }
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {
                return Err(invalid(
                    "this is a public key; the private key is needed here".into(),
                ));
            }
            other => {
                return Err(invalid(format!(
                    "expected an RSA private key (PEM `RSA PRIVATE KEY` or `PRIVATE KEY`), found `{other}`"
                )));
            }
        };
        Ok(Self(key))
    }

    /// Wraps a key already in memory.
    pub fn from_key(key: RsaPrivateKey) -> Self {
        Self(key)
    }

    /// The key's modulus size in bits (2048 for IBKR's keys).
    pub fn bits(&self) -> usize {
        use rsa::traits::PublicKeyParts as _;
        self.0.n().bits()
    }

    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        self.0.to_public_key()
    }

    pub(crate) fn inner(&self) -> &RsaPrivateKey {
        &self.0
    }
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

/// The *prepend*: the decrypted access token secret, as lower-case hex. It starts
/// the live session token request's base string and is the HMAC message that
/// yields the live session token. Secret: wiped on drop, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Prepend(Zeroizing<String>);

impl Prepend {
    /// From hex (either case).
    pub fn from_hex(hex: &str) -> Result<Self, OAuthError> {
        let bytes =
            Zeroizing::new(
                hex::decode(hex.trim()).map_err(|_| OAuthError::InvalidValue {
                    what: "prepend".into(),
                    reason: "not hexadecimal".into(),
                })?,
            );
        Ok(Self::from_bytes(&bytes))
    }

    /// From the decrypted secret's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(hex::encode(bytes)))
    }

    /// The lower-case hex form, as it starts the base string.
    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// The secret's bytes.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        // The inner string is always valid hex (built by `from_bytes`).
        Zeroizing::new(hex::decode(self.0.as_str()).unwrap_or_default())
    }
}

impl fmt::Debug for Prepend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prepend(<redacted>)")
    }
}

/// A live session token (LST): base64 of a 20-byte HMAC-SHA1, valid about 24 hours.
/// Its base64-decoded bytes are the HMAC-SHA256 key of every signed request.
/// Secret: wiped on drop, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Lst(Zeroizing<String>);

impl Lst {
    /// From its base64 form.
    pub fn from_base64(b64: &str) -> Result<Self, OAuthError> {
        let b64 = b64.trim();
        let bytes = Zeroizing::new(BASE64.decode(b64).map_err(|_| OAuthError::InvalidValue {
            what: "live session token".into(),
            reason: "not base64".into(),
        })?);
        if bytes.is_empty() {
            return Err(OAuthError::InvalidValue {
                what: "live session token".into(),
                reason: "empty".into(),
            });
        }
        Ok(Self(Zeroizing::new(b64.to_owned())))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(BASE64.encode(bytes)))
    }

    /// The base64 form.
    pub fn as_base64(&self) -> &str {
        &self.0
    }

    /// The decoded bytes: the HMAC key of signed requests.
    pub fn key_bytes(&self) -> Zeroizing<Vec<u8>> {
        // Always valid base64 (checked when built).
        Zeroizing::new(BASE64.decode(self.0.as_bytes()).unwrap_or_default())
    }
}

impl fmt::Debug for Lst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lst(<redacted>)")
    }
}

/// The client's Diffie-Hellman random exponent `a` (256 bits by default). Secret:
/// wiped on drop (the big-integer temporaries of the modular exponentiation are
/// not), never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct DhRandom(Zeroizing<Vec<u8>>);

impl DhRandom {
    /// A fresh random 256-bit value from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        loop {
            rand::rng().fill_bytes(&mut bytes);
            if bytes.iter().any(|&b| b != 0) {
                return Self(bytes);
            }
        }
    }

    /// From big-endian bytes (must not be zero).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OAuthError> {
        if bytes.iter().all(|&b| b == 0) {
            return Err(OAuthError::InvalidValue {
                what: "Diffie-Hellman random value".into(),
                reason: "must be positive".into(),
            });
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// From hex, as in the known-answer vectors (an odd number of digits is fine).
    pub fn from_hex(hex: &str) -> Result<Self, OAuthError> {
        let value = parse_hex_uint(hex).ok_or_else(|| OAuthError::InvalidValue {
            what: "Diffie-Hellman random value".into(),
            reason: "not hexadecimal".into(),
        })?;
        Self::from_bytes(&Zeroizing::new(value.to_bytes_be()))
    }

    fn to_uint(&self) -> BigUint {
        BigUint::from_bytes_be(&self.0)
    }
}

impl fmt::Debug for DhRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DhRandom(<redacted>)")
    }
}

// ---------------------------------------------------------------------------
// Diffie-Hellman parameters
// ---------------------------------------------------------------------------

/// The Diffie-Hellman group registered with IBKR: a prime `p` and a generator `g`
/// (IBKR uses `g = 2`). Public values.
#[derive(Clone, PartialEq, Eq)]
pub struct DhParams {
    prime: BigUint,
    generator: BigUint,
}

impl DhParams {
    /// From a prime and a generator; checks that the prime is odd, at least 512 bits,
    /// and that `1 < g < p - 1`.
    pub fn new(prime: BigUint, generator: BigUint) -> Result<Self, OAuthError> {
        let invalid = |reason: &str| OAuthError::InvalidDhParams {
            what: "Diffie-Hellman parameters".into(),
            reason: reason.into(),
        };
        if prime.bits() < 512 || !prime.bit(0) {
            return Err(invalid(
                "the prime must be an odd number of at least 512 bits",
            ));
        }
        let one = BigUint::from(1u8);
        if generator <= one || generator >= &prime - &one {
            return Err(invalid("the generator must lie between 1 and p - 1"));
        }
        Ok(Self { prime, generator })
    }

    /// From the prime in hex (colons and white space, as `openssl dhparam -text`
    /// prints them, are ignored), with generator 2.
    pub fn from_prime_hex(hex: &str) -> Result<Self, OAuthError> {
        let prime = parse_hex_uint(hex).ok_or_else(|| OAuthError::InvalidDhParams {
            what: "Diffie-Hellman prime".into(),
            reason: "not hexadecimal".into(),
        })?;
        Self::new(prime, BigUint::from(2u8))
    }

    /// From a `dhparam.pem` file's text: PKCS#3 `DH PARAMETERS` (what `openssl
    /// dhparam` writes), or `X9.42 DH PARAMETERS` (p and g are taken, the rest
    /// ignored). `what` names the source in errors.
    pub fn from_pem(pem: &str, what: &str) -> Result<Self, OAuthError> {
        let invalid = |reason: String| OAuthError::InvalidDhParams {
            what: what.to_owned(),
            reason,
        };
        let (label, der) = pem_decode(pem).map_err(invalid)?;
        if label != "DH PARAMETERS" && label != "X9.42 DH PARAMETERS" {
            return Err(invalid(format!(
                "expected PEM `DH PARAMETERS` (as `openssl dhparam` writes), found `{label}`"
            )));
        }
        Self::from_der(&der, what)
    }

    /// From DER: `SEQUENCE { prime INTEGER, generator INTEGER, ... }`.
    pub fn from_der(der: &[u8], what: &str) -> Result<Self, OAuthError> {
        let invalid = |reason: &str| OAuthError::InvalidDhParams {
            what: what.to_owned(),
            reason: reason.to_owned(),
        };
        let (seq, rest) = der_tlv(der, 0x30).map_err(invalid)?;
        if !rest.is_empty() {
            return Err(invalid("trailing bytes after the DER sequence"));
        }
        let (prime, seq) = der_tlv(seq, 0x02).map_err(invalid)?;
        let (generator, _) = der_tlv(seq, 0x02).map_err(invalid)?;
        if prime.first().is_some_and(|b| b & 0x80 != 0)
            || generator.first().is_some_and(|b| b & 0x80 != 0)
        {
            return Err(invalid("negative integer"));
        }
        Self::new(
            BigUint::from_bytes_be(prime),
            BigUint::from_bytes_be(generator),
        )
        .map_err(|e| match e {
            OAuthError::InvalidDhParams { reason, .. } => OAuthError::InvalidDhParams {
                what: what.to_owned(),
                reason,
            },
            other => other,
        })
    }

    /// The prime `p`.
    pub fn prime(&self) -> &BigUint {
        &self.prime
    }

    /// The generator `g`.
    pub fn generator(&self) -> &BigUint {
        &self.generator
    }

    /// The prime in lower-case hex.
    pub fn prime_hex(&self) -> String {
        self.prime.to_str_radix(16)
    }

    /// The prime's size in bits.
    pub fn bits(&self) -> u64 {
        self.prime.bits()
    }
}

impl fmt::Debug for DhParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DhParams")
            .field("bits", &self.bits())
            .field("generator", &self.generator.to_string())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The steps
// ---------------------------------------------------------------------------

/// The prepend: base64-decode the (encrypted) access token secret, decrypt it with
/// the private encryption key (RSA PKCS#1 v1.5), and write the result in hex.
pub fn prepend(encrypted_secret: &str, encryption_key: &RsaKey) -> Result<Prepend, OAuthError> {
    let ciphertext: String = encrypted_secret
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let ciphertext =
        BASE64
            .decode(ciphertext.as_bytes())
            .map_err(|_| OAuthError::InvalidValue {
                what: "access token secret".into(),
                reason: "not base64 (it should be the encrypted secret as IBKR's portal gives it)"
                    .into(),
            })?;
    // See the module's note on RUSTSEC-2023-0071: a local, one-off decryption.
    let plain = Zeroizing::new(
        encryption_key
            .inner()
            .decrypt(Pkcs1v15Encrypt, &ciphertext)
            .map_err(|_| OAuthError::Decrypt)?,
    );
    Ok(Prepend::from_bytes(&plain))
}

/// The Diffie-Hellman challenge `A = g^a mod p`, in lower-case hex without leading
/// zeros (as IBKR's examples write it).
pub fn dh_challenge(random: &DhRandom, params: &DhParams) -> String {
    params
        .generator
        .modpow(&random.to_uint(), &params.prime)
        .to_str_radix(16)
}

/// The URL as it enters the base string (RFC 5849 §3.4.1.2): scheme and host in
/// lower case, the default port left out, no query and no fragment; plus the
/// query's parameters (decoded).
fn normalize_url(url: &str) -> Result<(String, Vec<(String, String)>), OAuthError> {
    let parsed = url::Url::parse(url).map_err(|e| OAuthError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let host = parsed.host_str().ok_or_else(|| OAuthError::InvalidUrl {
        url: url.to_owned(),
        reason: "no host".into(),
    })?;
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let base = format!("{}://{}{}{}", parsed.scheme(), host, port, parsed.path());
    let query = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Ok((base, query))
}

/// The normalised parameter string (RFC 5849 §3.4.1.3.2): each name and value
/// percent-encoded, pairs sorted by name then value, joined as `k=v` with `&`.
pub fn params_string(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The OAuth 1.0a signature base string: `METHOD&enc(URL)&enc(params)`, where the
/// URL is normalised and its query's parameters join `params` (which hold the
/// `oauth_*` parameters, without `oauth_signature` and `realm`, and any other
/// query parameter).
pub fn base_string(method: &str, url: &str, params: &[(&str, &str)]) -> Result<String, OAuthError> {
    let (base_url, url_query) = normalize_url(url)?;
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.extend(url_query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_url),
        percent_encode(&params_string(&all))
    ))
}

/// The live session token request's base string: the prepend (hex) followed by
/// the OAuth base string of `POST <base URL>/oauth/live_session_token` with the
/// `oauth_*` parameters and `diffie_hellman_challenge`. It contains the prepend,
/// so it is a secret too.
pub fn lst_base_string(
    method: &str,
    url: &str,
    params: &[(&str, &str)],
    prepend: &Prepend,
) -> Result<Zeroizing<String>, OAuthError> {
    let base = base_string(method, url, params)?;
    Ok(Zeroizing::new(format!("{}{}", prepend.as_hex(), base)))
}

fn rsa_sha256_signature_base64(base: &str, signature_key: &RsaKey) -> Result<String, OAuthError> {
    let digest = Sha256::digest(base.as_bytes());
    let signature = signature_key
        .inner()
        .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
        .map_err(|e| OAuthError::Sign {
            reason: e.to_string(),
        })?;
    Ok(BASE64.encode(signature))
}

/// Signs a base string with the private signature key: RSA PKCS#1 v1.5 over
/// SHA-256 (deterministic), base64, then percent-encoded as it goes in the header.
pub fn rsa_sha256_sign(base: &str, signature_key: &RsaKey) -> Result<String, OAuthError> {
    Ok(percent_encode(&rsa_sha256_signature_base64(
        base,
        signature_key,
    )?))
}

/// A non-negative integer's bytes as Java's `BigInteger.toByteArray` gives them
/// (IBKR's server is Java): big-endian, minimal, with a `0x00` sign byte in front
/// when the top bit of the first byte is set (bit length a multiple of 8).
pub fn java_byte_array(value: &BigUint) -> Vec<u8> {
    let mut bytes = value.to_bytes_be(); // zero gives [0]
    if value.bits() > 0 && value.bits().is_multiple_of(8) {
        bytes.insert(0, 0);
    }
    bytes
}

/// Computes the live session token from the server's answer: `K = B^a mod p`
/// (`B` the `diffie_hellman_response` in hex, `a` this client's random value),
/// then `LST = base64(HMAC-SHA1(key = K as Java bytes, msg = prepend bytes))`.
pub fn live_session_token(
    dh_response_hex: &str,
    dh_random: &DhRandom,
    params: &DhParams,
    prepend: &Prepend,
) -> Result<Lst, OAuthError> {
    let b = parse_hex_uint(dh_response_hex).ok_or_else(|| OAuthError::InvalidDhResponse {
        reason: "not hexadecimal".into(),
    })?;
    let one = BigUint::from(1u8);
    if b <= one || b >= &params.prime - &one {
        return Err(OAuthError::InvalidDhResponse {
            reason: "outside 1 < B < p - 1".into(),
        });
    }
    let k = b.modpow(&dh_random.to_uint(), &params.prime);
    let k_bytes = Zeroizing::new(java_byte_array(&k));
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&k_bytes).map_err(|_| {
        OAuthError::InvalidDhResponse {
            reason: "unusable shared secret".into(),
        }
    })?;
    mac.update(&prepend.to_bytes());
    let tag = Zeroizing::new(mac.finalize().into_bytes().to_vec());
    Ok(Lst::from_bytes(&tag))
}

/// The live session token's signature as the server sends it:
/// `hex(HMAC-SHA1(key = LST bytes, msg = consumer key))`.
pub fn lst_signature(lst: &Lst, consumer_key: &str) -> String {
    let key = lst.key_bytes();
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&key).expect("HMAC accepts any key length");
    mac.update(consumer_key.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a computed live session token against the server's
/// `live_session_token_signature` (hex, either case), in constant time.
pub fn verify_lst(lst: &Lst, consumer_key: &str, signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let key = lst.key_bytes();
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(&key) else {
        return false;
    };
    mac.update(consumer_key.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

fn hmac_sha256_signature_base64(base: &str, lst: &Lst) -> String {
    let key = lst.key_bytes();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC accepts any key length");
    mac.update(base.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Signs a base string with the live session token: HMAC-SHA256 keyed by the
/// LST's bytes, base64, then percent-encoded as it goes in the header.
pub fn hmac_sha256_sign(base: &str, lst: &Lst) -> String {
    percent_encode(&hmac_sha256_signature_base64(base, lst))
}

/// The `Authorization` header value: `OAuth realm="REALM", ` then the pairs sorted
/// by name, each `name="value"` with the value percent-encoded, joined by `, `.
/// `params` hold raw (not yet encoded) values, the signature as plain base64.
pub fn authorization_header(realm: &str, params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    let pairs = encoded
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("OAuth realm=\"{}\", {pairs}", percent_encode(realm))
}

/// A fresh nonce: 128 random bits in hex.
pub fn generate_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Seconds since the Unix epoch, as OAuth's `oauth_timestamp` (10 digits).
pub fn timestamp_now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string()
}

/// The OAuth parameters of one signed request, besides the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthParams {
    /// `oauth_consumer_key`.
    pub consumer_key: String,
    /// `oauth_token`: the access token.
    pub token: String,
    /// The header's `realm` (not signed): `limited_poa`, or `test_realm` for
    /// IBKR's `TESTCONS` consumer.
    pub realm: String,
    /// `oauth_nonce`: unique per request.
    pub nonce: String,
    /// `oauth_timestamp`: seconds since the Unix epoch.
    pub timestamp: String,
}

impl OAuthParams {
    /// With a fresh nonce and the current time.
    pub fn new(
        consumer_key: impl Into<String>,
        token: impl Into<String>,
        realm: impl Into<String>,
    ) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            token: token.into(),
            realm: realm.into(),
            nonce: generate_nonce(),
            timestamp: timestamp_now(),
        }
    }

    /// Replaces the nonce (tests).
    pub fn with_nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = nonce.into();
        self
    }

    /// Replaces the timestamp (tests).
    pub fn with_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.timestamp = timestamp.into();
        self
    }
}

/// Signs a request with the live session token and returns its `Authorization`
/// header value. The base string has the `oauth_*` parameters and the query's
/// (`query` plus any in `url`), signature method `HMAC-SHA256`.
pub fn sign_request(
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    oauth: &OAuthParams,
    lst: &Lst,
) -> Result<String, OAuthError> {
    let mut params: Vec<(&str, &str)> = vec![
        ("oauth_consumer_key", oauth.consumer_key.as_str()),
        ("oauth_nonce", oauth.nonce.as_str()),
        ("oauth_signature_method", HMAC_SHA256),
        ("oauth_timestamp", oauth.timestamp.as_str()),
        ("oauth_token", oauth.token.as_str()),
    ];
    let header_params = params.clone();
    params.extend_from_slice(query);
    let base = base_string(method, url, &params)?;
    let signature = hmac_sha256_signature_base64(&base, lst);
    let mut header = header_params;
    header.push(("oauth_signature", signature.as_str()));
    Ok(authorization_header(&oauth.realm, &header))
}

/// Signs a request with a fresh nonce and the current time; see [`sign_request`].
pub fn sign_request_now(
    method: &str,
    url: &str,
    query: &[(&str, &str)],
    consumer_key: &str,
    token: &str,
    realm: &str,
    lst: &Lst,
) -> Result<String, OAuthError> {
    sign_request(
        method,
        url,
        query,
        &OAuthParams::new(consumer_key, token, realm),
        lst,
    )
}

/// The live session token request's `Authorization` header, from its parts: the
/// `oauth_*` parameters and `diffie_hellman_challenge` are signed with RSA-SHA256
/// over the prepended base string. Returns the header value.
pub fn lst_authorization(
    url: &str,
    oauth: &OAuthParams,
    dh_challenge: &str,
    prepend: &Prepend,
    signature_key: &RsaKey,
) -> Result<String, OAuthError> {
    let mut params: Vec<(&str, &str)> = vec![
        ("diffie_hellman_challenge", dh_challenge),
        ("oauth_consumer_key", oauth.consumer_key.as_str()),
        ("oauth_nonce", oauth.nonce.as_str()),
        ("oauth_signature_method", RSA_SHA256),
        ("oauth_timestamp", oauth.timestamp.as_str()),
        ("oauth_token", oauth.token.as_str()),
    ];
    let base = lst_base_string("POST", url, &params, prepend)?;
    let signature = rsa_sha256_signature_base64(&base, signature_key)?;
    params.push(("oauth_signature", signature.as_str()));
    Ok(authorization_header(&oauth.realm, &params))
}

// ---------------------------------------------------------------------------
// Small parsers
// ---------------------------------------------------------------------------

/// Hex to an unsigned integer; ignores white space, colons and a `0x` prefix.
fn parse_hex_uint(hex: &str) -> Option<BigUint> {
    let trimmed = hex.trim();
    let trimmed = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let digits: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    BigUint::parse_bytes(digits.as_bytes(), 16)
}

/// A PEM block's label and DER bytes. Text before `-----BEGIN` (as some tools
/// write) is skipped.
fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), String> {
    let start = pem
        .find("-----BEGIN ")
        .ok_or_else(|| "not PEM (no `-----BEGIN` line)".to_owned())?;
    let text = pem[start..].replace("\r\n", "\n");
    let (label, der) = pem_rfc7468::decode_vec(text.trim_end().as_bytes())
        .map_err(|e| format!("malformed PEM ({e})"))?;
    Ok((label.to_owned(), der))
}

/// One DER element with the expected tag: (contents, rest).
fn der_tlv(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), &'static str> {
    let (&t, rest) = input.split_first().ok_or("truncated DER")?;
    if t != tag {
        return Err(if tag == 0x30 {
            "expected a DER SEQUENCE"
        } else {
            "expected a DER INTEGER"
        });
    }
    let (&first, rest) = rest.split_first().ok_or("truncated DER")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad DER length");
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err("truncated DER");
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_byte_array_adds_a_sign_byte_only_when_the_top_bit_is_set() {
        let cases: [(u64, &[u8]); 7] = [
            (0, &[0x00]),
            (1, &[0x01]),
            (0x7f, &[0x7f]),
            (0x80, &[0x00, 0x80]),
            (0xff, &[0x00, 0xff]),
            (0x0100, &[0x01, 0x00]),
            (0xff00, &[0x00, 0xff, 0x00]),
        ];
        for (value, bytes) in cases {
            assert_eq!(java_byte_array(&BigUint::from(value)), bytes, "{value:#x}");
        }
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("a b+c/d=e&f"), "a%20b%2Bc%2Fd%3De%26f");
        assert_eq!(percent_encode("ü"), "%C3%BC");
    }

    #[test]
    fn url_normalisation_drops_default_port_query_and_fragment() {
        let (base, query) =
            normalize_url("HTTPS://API.IBKR.COM:443/v1/api/x?b=2&a=1+2#frag").unwrap();
        assert_eq!(base, "https://api.ibkr.com/v1/api/x");
        assert_eq!(
            query,
            vec![("b".into(), "2".into()), ("a".into(), "1 2".into())]
        );
        let (base, _) = normalize_url("https://127.0.0.1:5000/v1/api").unwrap();
        assert_eq!(base, "https://127.0.0.1:5000/v1/api");
    }

    #[test]
    fn query_in_the_url_signs_like_query_given_apart() {
        let a = base_string("get", "https://h/p?x=1,2", &[("oauth_nonce", "n")]).unwrap();
        let b = base_string("GET", "https://h/p", &[("oauth_nonce", "n"), ("x", "1,2")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, "GET&https%3A%2F%2Fh%2Fp&oauth_nonce%3Dn%26x%3D1%252C2");
    }

    #[test]
    fn hex_parsing_accepts_openssl_text_and_rejects_garbage() {
        assert_eq!(parse_hex_uint("00:ff:01"), Some(BigUint::from(0xff01u32)));
        assert_eq!(parse_hex_uint("0xABC"), Some(BigUint::from(0xabcu32)));
        assert_eq!(parse_hex_uint("xyz"), None);
        assert_eq!(parse_hex_uint(""), None);
    }

    #[test]
    fn der_reader_rejects_truncated_input() {
        assert!(DhParams::from_der(&[0x30, 0x05, 0x02, 0x01], "t").is_err());
        assert!(DhParams::from_der(&[], "t").is_err());
        assert!(DhParams::from_der(&[0x02, 0x01, 0x01], "t").is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let p = Prepend::from_bytes(&[0xde, 0xad, 0xbe, 0xef]);
        let l = Lst::from_base64("3q2+7w==").unwrap();
        let r = DhRandom::from_bytes(&[0xde, 0xad, 0xbe, 0xef]).unwrap();
        let shown = format!("{p:?} {l:?} {r:?}");
        assert!(
            !shown.contains("deadbeef") && !shown.contains("3q2+7w=="),
            "{shown}"
        );
    }

    #[test]
    fn dh_response_out_of_range_is_rejected() {
        // Odd and 512 bits: enough of a group for range checks.
        let p = DhParams::new(
            (BigUint::from(1u8) << 511) + BigUint::from(187u8),
            BigUint::from(2u8),
        )
        .unwrap();
        let a = DhRandom::from_bytes(&[7]).unwrap();
        let prepend = Prepend::from_bytes(&[1, 2, 3]);
        for bad in ["0", "1", "zz", ""] {
            assert!(matches!(
                live_session_token(bad, &a, &p, &prepend),
                Err(OAuthError::InvalidDhResponse { .. })
            ));
        }
        let p_minus_1 = (p.prime() - BigUint::from(1u8)).to_str_radix(16);
        assert!(live_session_token(&p_minus_1, &a, &p, &prepend).is_err());
        assert!(live_session_token("2", &a, &p, &prepend).is_ok());
    }
}
