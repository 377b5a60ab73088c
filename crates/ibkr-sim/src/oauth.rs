//! The server side of IBKR's first-party OAuth 1.0a, pure (no HTTP, no clock of
//! its own): what `api.ibkr.com` checks and computes.
//!
//! - [`generate_credentials`] plays IBKR's self-service portal: it writes a test
//!   consumer's keys, `dhparam.pem`, an access token with its encrypted secret, a
//!   `client.toml` for the client and a `server.toml` for the simulator.
//! - [`ServerOAuth`] answers `POST /oauth/live_session_token` (checks the RSA-SHA256
//!   signature over the prepended base string, answers the Diffie-Hellman challenge,
//!   derives the same live session token as the client) and checks every later
//!   request's HMAC-SHA256 signature, timestamp, nonce, consumer and token expiry.
//!   Each refusal is a distinct [`OAuthRejection`]; the HTTP layer maps them to
//!   IBKR's 401 answers.
//!
//! This is written independently of the client's `ibkr_api::oauth` (it does not
//! depend on it), and both are checked against the same known-answer vectors.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use num_bigint::BigUint;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use rand::RngCore as _;
use rsa::pkcs1::{DecodeRsaPublicKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// RFC 3526's 2048-bit MODP group (group 14) prime, in hex; its generator is 2.
/// Generating a fresh 2048-bit safe prime takes minutes, so test consumers use
/// this well-known one.
pub const RFC3526_GROUP14_PRIME_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
);

/// The consumer key [`generate_credentials`] registers.
pub const DEFAULT_CONSUMER_KEY: &str = "SIMCONS01";
/// How long a live session token lives by default (IBKR: about 24 hours).
pub const DEFAULT_LST_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// How far a request's `oauth_timestamp` may be from the server's clock by default.
pub const DEFAULT_TIMESTAMP_WINDOW: Duration = Duration::from_secs(5 * 60);

const RSA_SHA256: &str = "RSA-SHA256";
const HMAC_SHA256: &str = "HMAC-SHA256";

/// RFC 3986 unreserved characters, left as they are by OAuth's percent-encoding.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn pct(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Setting the OAuth side of the simulator up failed: writing credentials or
/// reading `server.toml`. Messages name the file; none holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthSetupError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// [`generate_credentials`] will not overwrite an existing file.
    #[error("{}: already exists; remove it or choose another directory", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A file or value is malformed.
    #[error("{what}: {reason}")]
    Invalid {
        /// The file or setting.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Key generation or encryption failed.
    #[error("cannot create OAuth credentials: {reason}")]
    Crypto {
        /// Why.
        reason: String,
    },
}

/// Why the server refuses an OAuth request. The HTTP layer answers each with 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthRejection {
    /// No `Authorization: OAuth ...` header.
    #[error("no OAuth Authorization header")]
    MissingHeader,
    /// The header cannot be parsed.
    #[error("malformed OAuth Authorization header: {reason}")]
    MalformedHeader {
        /// What is wrong.
        reason: String,
    },
    /// A required OAuth parameter is absent.
    #[error("missing OAuth parameter {0}")]
    MissingParameter(&'static str),
    /// The signature method is not the one this endpoint takes.
    #[error("unsupported oauth_signature_method {found:?}; expected {expected}")]
    UnsupportedSignatureMethod {
        /// What the request said.
        found: String,
        /// What this endpoint takes.
        expected: &'static str,
    },
    /// The consumer key is not registered.
    #[error("invalid consumer {0:?}")]
    UnknownConsumer(String),
    /// The realm is not the consumer's.
    #[error("invalid realm {found:?}; expected {expected:?}")]
    WrongRealm {
        /// What the request said.
        found: String,
        /// The consumer's realm.
        expected: String,
    },
    /// The access token is not the consumer's.
    #[error("invalid access token")]
    InvalidToken,
    /// `oauth_timestamp` is not a number of seconds.
    #[error("malformed oauth_timestamp")]
    MalformedTimestamp,
    /// `oauth_timestamp` is too far from the server's clock.
    #[error("oauth_timestamp {timestamp} is outside the allowed window around {now}")]
    TimestampOutOfWindow {
        /// The request's timestamp (seconds).
        timestamp: u64,
        /// The server's clock (seconds).
        now: u64,
    },
    /// The nonce was already used within the window.
    #[error("nonce already used")]
    NonceReplayed,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The Diffie-Hellman challenge is malformed or out of range.
    #[error("invalid diffie_hellman_challenge: {reason}")]
    InvalidChallenge {
        /// What is wrong.
        reason: &'static str,
    },
    /// No live session token was issued for this access token.
    #[error("no live session token for this access token; request one first")]
    NoLiveSession,
    /// The live session token expired.
    #[error("live session token expired")]
    LiveSessionExpired,
    /// The request URL cannot be parsed.
    #[error("malformed request URL")]
    MalformedUrl,
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// One registered consumer, as the server knows it (`server.toml`).
#[derive(Clone)]
pub struct ServerOAuthConfig {
    consumer_key: String,
    realm: String,
    access_token: String,
    access_token_secret: Zeroizing<Vec<u8>>,
    signature_key: RsaPublicKey,
    dh_prime: BigUint,
    dh_generator: BigUint,
}

/// `server.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    consumer_key: String,
    access_token: String,
    /// Hex of the plain secret.
    access_token_secret: Zeroizing<String>,
    signature_public_key_file: PathBuf,
    dh_prime: String,
    dh_generator: Option<u32>,
    realm: Option<String>,
}

impl ServerOAuthConfig {
    /// From its parts: the plain access token secret, the consumer's public
    /// signature key and its DH group (prime in hex, generator 2).
    pub fn new(
        consumer_key: impl Into<String>,
        access_token: impl Into<String>,
        access_token_secret: &[u8],
        signature_key: RsaPublicKey,
        dh_prime_hex: &str,
    ) -> Result<Self, OAuthSetupError> {
        let consumer_key = consumer_key.into();
        let dh_prime = parse_hex(dh_prime_hex).ok_or_else(|| OAuthSetupError::Invalid {
            what: "dh_prime".into(),
            reason: "not hexadecimal".into(),
        })?;
        if dh_prime.bits() < 512 || !dh_prime.bit(0) {
            return Err(OAuthSetupError::Invalid {
                what: "dh_prime".into(),
                reason: "must be an odd number of at least 512 bits".into(),
            });
        }
        let realm = if consumer_key == "TESTCONS" {
            "test_realm"
        } else {
            "limited_poa"
        }
        .to_owned();
        Ok(Self {
            consumer_key,
            realm,
            access_token: access_token.into(),
            access_token_secret: Zeroizing::new(access_token_secret.to_vec()),
            signature_key,
            dh_prime,
            dh_generator: BigUint::from(2u8),
        })
    }

    /// Sets the realm (default `limited_poa`, `test_realm` for `TESTCONS`).
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Reads a `server.toml` (paths relative to its directory).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, OAuthSetupError> {
        let path = path.as_ref();
        let what = path.display().to_string();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
            OAuthSetupError::Io {
                path: path.to_owned(),
                source,
            }
        })?);
        let file: ServerFile = toml::from_str(&text).map_err(|e| OAuthSetupError::Invalid {
            what: what.clone(),
            // Not toml's full rendering: it quotes the line, which may be a secret.
            reason: e.message().to_owned(),
        })?;
        let secret =
            Zeroizing::new(hex::decode(file.access_token_secret.trim()).map_err(|_| {
                OAuthSetupError::Invalid {
                    what: format!("{what}: access_token_secret"),
                    reason: "not hexadecimal".into(),
                }
            })?);
        let key_path = path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(&file.signature_public_key_file);
        let pem = std::fs::read_to_string(&key_path).map_err(|source| OAuthSetupError::Io {
            path: key_path.clone(),
            source,
        })?;
        let key = RsaPublicKey::from_public_key_pem(&pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(&pem))
            .map_err(|_| OAuthSetupError::Invalid {
                what: key_path.display().to_string(),
                reason: "not an RSA public key in PEM (PUBLIC KEY or RSA PUBLIC KEY)".into(),
            })?;
        let mut config = Self::new(
            file.consumer_key,
            file.access_token,
            &secret,
            key,
            &file.dh_prime,
        )
        .map_err(|e| match e {
            OAuthSetupError::Invalid { what: w, reason } => OAuthSetupError::Invalid {
                what: format!("{what}: {w}"),
                reason,
            },
            other => other,
        })?;
        if let Some(g) = file.dh_generator {
            config.dh_generator = BigUint::from(g);
        }
        if let Some(realm) = file.realm {
            config.realm = realm;
        }
        Ok(config)
    }

    /// The consumer key.
    pub fn consumer_key(&self) -> &str {
        &self.consumer_key
    }

    /// The access token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }
}

impl fmt::Debug for ServerOAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOAuthConfig")
            .field("consumer_key", &self.consumer_key)
            .field("realm", &self.realm)
            .field("access_token", &"<redacted>")
            .field("access_token_secret", &"<redacted>")
            .field("dh_prime_bits", &self.dh_prime.bits())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Credentials, as IBKR's self-service portal issues them
// ---------------------------------------------------------------------------

/// What [`generate_credentials`] wrote.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GeneratedCredentials {
    /// The consumer key.
    pub consumer_key: String,
    /// The access token.
    pub access_token: String,
    /// The client's configuration (load it with `ibkr_api::oauth::OAuthConfig::from_file`).
    pub client_toml: PathBuf,
    /// The simulator's configuration ([`ServerOAuthConfig::from_file`]).
    pub server_toml: PathBuf,
}

/// Writes a test consumer's credentials into `dir` (created if needed), with the
/// consumer key [`DEFAULT_CONSUMER_KEY`]; see [`generate_credentials_for`].
pub fn generate_credentials(
    dir: impl AsRef<Path>,
) -> Result<GeneratedCredentials, OAuthSetupError> {
    generate_credentials_for(dir, DEFAULT_CONSUMER_KEY)
}

/// Writes a test consumer's credentials into `dir`, as IBKR's self-service portal
/// and `openssl` would produce them:
///
/// - `private_signature.pem` (PKCS#8) and `public_signature.pem`: 2048-bit RSA;
/// - `private_encryption.pem` (PKCS#1) and `public_encryption.pem`: 2048-bit RSA;
/// - `dhparam.pem`: PKCS#3 DH parameters, RFC 3526 group 14, generator 2;
/// - `client.toml`: consumer key, access token, the access token secret encrypted
///   with the encryption public key (base64), the key and dhparam paths, the realm;
/// - `server.toml`: consumer key, access token, the plain secret (hex), the public
///   signature key's path, the DH prime.
///
/// Private keys and both TOML files are made readable by the owner only (Unix).
/// Existing files are not overwritten ([`OAuthSetupError::Exists`]).
pub fn generate_credentials_for(
    dir: impl AsRef<Path>,
    consumer_key: &str,
) -> Result<GeneratedCredentials, OAuthSetupError> {
    let dir = dir.as_ref();
    let names = [
        "private_signature.pem",
        "public_signature.pem",
        "private_encryption.pem",
        "public_encryption.pem",
        "dhparam.pem",
        "client.toml",
        "server.toml",
    ];
    for name in names {
        let path = dir.join(name);
        if path.exists() {
            return Err(OAuthSetupError::Exists { path });
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| OAuthSetupError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let crypto = |e: &dyn fmt::Display| OAuthSetupError::Crypto {
        reason: e.to_string(),
    };
    let mut rng = rsa::rand_core::OsRng;
    let signature = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| crypto(&e))?;
    let encryption = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| crypto(&e))?;

    let mut token = [0u8; 10];
    rand::rng().fill_bytes(&mut token);
    let access_token = hex::encode(token);
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(secret.as_mut());
    let encrypted = encryption
        .to_public_key()
        .encrypt(&mut rng, Pkcs1v15Encrypt, secret.as_ref())
        .map_err(|e| crypto(&e))?;
    let encrypted = BASE64.encode(encrypted);

    let sig_pem = signature
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| crypto(&e))?;
    let enc_pem = encryption
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| crypto(&e))?;
    let sig_pub = signature
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| crypto(&e))?;
    let enc_pub = encryption
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| crypto(&e))?;
    let dhparam = dhparam_pem(&rfc3526_prime(), 2)?;

    let realm = if consumer_key == "TESTCONS" {
        "test_realm"
    } else {
        "limited_poa"
    };
    let client_toml = format!(
        "# OAuth 1.0a client settings of a simulator test consumer.\n\
         # Paths are relative to this file's directory.\n\
         consumer_key = \"{consumer_key}\"\n\
         access_token = \"{access_token}\"\n\
         # Encrypted with public_encryption.pem, as IBKR's portal issues it.\n\
         access_token_secret = \"{encrypted}\"\n\
         signature_key_file = \"private_signature.pem\"\n\
         encryption_key_file = \"private_encryption.pem\"\n\
         dh_param_file = \"dhparam.pem\"\n\
         realm = \"{realm}\"\n"
    );
    let server_toml = Zeroizing::new(format!(
        "# OAuth 1.0a settings of the simulator for one test consumer.\n\
         # Paths are relative to this file's directory. Holds the plain secret.\n\
         consumer_key = \"{consumer_key}\"\n\
         access_token = \"{access_token}\"\n\
         access_token_secret = \"{}\"\n\
         signature_public_key_file = \"public_signature.pem\"\n\
         dh_prime = \"{}\"\n\
         dh_generator = 2\n\
         realm = \"{realm}\"\n",
        hex::encode(secret.as_ref()),
        rfc3526_prime().to_str_radix(16),
    ));

    write_file(&dir.join("private_signature.pem"), &sig_pem, true)?;
    write_file(&dir.join("public_signature.pem"), &sig_pub, false)?;
    write_file(&dir.join("private_encryption.pem"), &enc_pem, true)?;
    write_file(&dir.join("public_encryption.pem"), &enc_pub, false)?;
    write_file(&dir.join("dhparam.pem"), &dhparam, false)?;
    write_file(&dir.join("client.toml"), &client_toml, true)?;
    write_file(&dir.join("server.toml"), &server_toml, true)?;

    Ok(GeneratedCredentials {
        consumer_key: consumer_key.to_owned(),
        access_token,
        client_toml: dir.join("client.toml"),
        server_toml: dir.join("server.toml"),
    })
}

fn write_file(path: &Path, text: &str, private: bool) -> Result<(), OAuthSetupError> {
    use std::io::Write as _;
    let io = |source| OAuthSetupError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)
}

fn rfc3526_prime() -> BigUint {
    // A constant known to be valid hex.
    parse_hex(RFC3526_GROUP14_PRIME_HEX).unwrap_or_default()
}

/// PKCS#3 `DHParameter ::= SEQUENCE { prime INTEGER, base INTEGER }` in PEM.
fn dhparam_pem(prime: &BigUint, generator: u32) -> Result<String, OAuthSetupError> {
    fn der_len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            return vec![n as u8];
        }
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
    fn der_int(v: &BigUint) -> Vec<u8> {
        let mut body = v.to_bytes_be();
        if body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        let mut out = vec![0x02];
        out.extend(der_len(body.len()));
        out.extend(body);
        out
    }
    let mut body = der_int(prime);
    body.extend(der_int(&BigUint::from(generator)));
    let mut der = vec![0x30];
    der.extend(der_len(body.len()));
    der.extend(body);
    pem_rfc7468::encode_string("DH PARAMETERS", pem_rfc7468::LineEnding::LF, &der).map_err(|e| {
        OAuthSetupError::Crypto {
            reason: e.to_string(),
        }
    })
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// An incoming request, as much of it as OAuth needs.
#[derive(Debug, Clone, Copy)]
pub struct OAuthRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The full URL as the client addressed it (scheme, host, port, path, query).
    pub url: &'a str,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<&'a str>,
}

impl<'a> OAuthRequest<'a> {
    /// From its parts.
    pub fn new(method: &'a str, url: &'a str, authorization: Option<&'a str>) -> Self {
        Self {
            method,
            url,
            authorization,
        }
    }
}

/// The answer to `POST /oauth/live_session_token`, with IBKR's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LstGrant {
    /// `B = g^b mod p`, lower-case hex.
    pub diffie_hellman_response: String,
    /// `hex(HMAC-SHA1(LST, consumer key))`.
    pub live_session_token_signature: String,
    /// When the LST expires, epoch milliseconds.
    pub live_session_token_expiration: u64,
}

/// A request whose OAuth checks passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The consumer.
    pub consumer_key: String,
    /// The access token.
    pub access_token: String,
}

struct LiveSession {
    lst: Zeroizing<Vec<u8>>,
    expires_ms: u64,
}

/// Nonces seen within the timestamp window, keyed by consumer; entries older than
/// the window are dropped (a request that old fails the timestamp check anyway), so
/// memory stays bounded by the request rate times the window.
#[derive(Default)]
struct NonceCache {
    by_time: BTreeSet<(u64, String)>,
    seen: HashSet<String>,
}

impl NonceCache {
    fn prune(&mut self, oldest_allowed: u64) {
        while let Some(first) = self.by_time.first() {
            if first.0 >= oldest_allowed {
                break;
            }
            if let Some((_, key)) = self.by_time.pop_first() {
                self.seen.remove(&key);
            }
        }
    }

    fn contains(&self, key: &str) -> bool {
        self.seen.contains(key)
    }

    fn insert(&mut self, timestamp: u64, key: String) {
        self.seen.insert(key.clone());
        self.by_time.insert((timestamp, key));
    }

    fn len(&self) -> usize {
        self.seen.len()
    }
}

/// The OAuth server: registered consumers, issued live session tokens, recent
/// nonces. Pure: callers pass the current time.
pub struct ServerOAuth {
    consumers: HashMap<String, ServerOAuthConfig>,
    sessions: HashMap<(String, String), LiveSession>,
    nonces: NonceCache,
    lst_lifetime: Duration,
    window: Duration,
    accept_unsigned_query: bool,
    issued: u64,
}

impl ServerOAuth {
    /// A server knowing one consumer.
    pub fn new(consumer: ServerOAuthConfig) -> Self {
        let mut server = Self {
            consumers: HashMap::new(),
            sessions: HashMap::new(),
            nonces: NonceCache::default(),
            lst_lifetime: DEFAULT_LST_LIFETIME,
            window: DEFAULT_TIMESTAMP_WINDOW,
            accept_unsigned_query: true,
            issued: 0,
        };
        server.add_consumer(consumer);
        server
    }

    /// A server knowing the consumer of a `server.toml`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, OAuthSetupError> {
        Ok(Self::new(ServerOAuthConfig::from_file(path)?))
    }

    /// Registers another consumer (replacing one with the same key).
    pub fn add_consumer(&mut self, consumer: ServerOAuthConfig) {
        self.consumers
            .insert(consumer.consumer_key.clone(), consumer);
    }

    /// How long live session tokens live (default 24 hours).
    pub fn with_lst_lifetime(mut self, lifetime: Duration) -> Self {
        self.lst_lifetime = lifetime;
        self
    }

    /// How far timestamps may be from the server's clock (default 5 minutes).
    pub fn with_timestamp_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Whether a signature computed without the query's parameters is accepted
    /// (default yes). OAuth 1.0a signs them, and so does `ibkr-api`; but public
    /// clients known to work with IBKR (ibind) sign only the `oauth_*` parameters,
    /// so IBKR evidently accepts that too. Turn it off to insist on the full form.
    pub fn with_unsigned_query_accepted(mut self, accept: bool) -> Self {
        self.accept_unsigned_query = accept;
        self
    }

    /// How many nonces are remembered now (for tests of the memory bound).
    pub fn remembered_nonces(&self) -> usize {
        self.nonces.len()
    }

    /// Ends the live session of an access token (as logging out does).
    pub fn end_session(&mut self, consumer_key: &str, access_token: &str) {
        self.sessions
            .remove(&(consumer_key.to_owned(), access_token.to_owned()));
    }

    /// Makes every issued live session token expire at `now` (a forced expiry, for
    /// tests): requests signed with them are refused with
    /// [`OAuthRejection::LiveSessionExpired`] until a new one is requested.
    /// Returns how many tokens were live.
    pub fn expire_sessions(&mut self, now: SystemTime) -> usize {
        let now_ms = unix_millis(now);
        let mut live = 0;
        for session in self.sessions.values_mut() {
            if session.expires_ms > now_ms {
                live += 1;
            }
            session.expires_ms = session.expires_ms.min(now_ms);
        }
        live
    }

    /// When the live session token of this access token expires (epoch
    /// milliseconds), if one was issued to a registered consumer and is still live
    /// at `now`. The WebSocket endpoint, which IBKR authenticates with the
    /// `oauth_token` query parameter instead of a signature, asks this.
    pub fn live_session_expiry(&self, access_token: &str, now: SystemTime) -> Option<u64> {
        let now_ms = unix_millis(now);
        self.sessions
            .iter()
            .filter(|((_, token), s)| token == access_token && s.expires_ms > now_ms)
            .map(|(_, s)| s.expires_ms)
            .max()
    }

    /// How many live session tokens have been issued since start (renewals
    /// included).
    pub fn tokens_issued(&self) -> u64 {
        self.issued
    }

    /// The live session token issued to this consumer's access token (base64), as
    /// the server holds it, expired or not: for tests that check that a client never
    /// reveals it (in logs, `Debug` output or errors).
    pub fn issued_token(
        &self,
        consumer_key: &str,
        access_token: &str,
    ) -> Option<Zeroizing<String>> {
        self.sessions
            .get(&(consumer_key.to_owned(), access_token.to_owned()))
            .map(|s| Zeroizing::new(BASE64.encode(s.lst.as_slice())))
    }

    /// Answers `POST /oauth/live_session_token` with a fresh random `b`.
    pub fn live_session_token(
        &mut self,
        request: &OAuthRequest<'_>,
        now: SystemTime,
    ) -> Result<LstGrant, OAuthRejection> {
        let mut b = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(b.as_mut());
        b[0] |= 0x80; // a full 256-bit exponent
        self.live_session_token_with_random(request, now, b.as_ref())
    }

    /// Answers `POST /oauth/live_session_token` with the given random `b`
    /// (big-endian bytes; tests).
    pub fn live_session_token_with_random(
        &mut self,
        request: &OAuthRequest<'_>,
        now: SystemTime,
        server_random: &[u8],
    ) -> Result<LstGrant, OAuthRejection> {
        let header = parse_authorization(request.authorization)?;
        let consumer = self.check_common(&header, RSA_SHA256)?.clone();
        let now_s = unix_secs(now);
        let timestamp = self.check_timestamp(&header, now_s)?;
        let challenge = header
            .get("diffie_hellman_challenge")
            .ok_or(OAuthRejection::MissingParameter("diffie_hellman_challenge"))?;
        let a = parse_hex(challenge).ok_or(OAuthRejection::InvalidChallenge {
            reason: "not hexadecimal",
        })?;
        let one = BigUint::from(1u8);
        if a <= one || a >= &consumer.dh_prime - &one {
            return Err(OAuthRejection::InvalidChallenge {
                reason: "outside 1 < A < p - 1",
            });
        }

        // The signature: RSA-SHA256 over prepend + base string.
        let signature = header
            .get("oauth_signature")
            .ok_or(OAuthRejection::MissingParameter("oauth_signature"))?;
        let signature = BASE64
            .decode(signature)
            .map_err(|_| OAuthRejection::InvalidSignature)?;
        let prepend = Zeroizing::new(hex::encode(consumer.access_token_secret.as_slice()));
        let verified = self.base_strings(request, &header)?.iter().any(|base| {
            let message = Zeroizing::new(format!("{}{}", prepend.as_str(), base.as_str()));
            consumer
                .signature_key
                .verify(
                    Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(message.as_bytes()),
                    &signature,
                )
                .is_ok()
        });
        if !verified {
            return Err(OAuthRejection::InvalidSignature);
        }
        let nonce_key = self.check_nonce(&header, consumer.consumer_key.as_str(), now_s)?;

        // The Diffie-Hellman answer and the live session token.
        let b = BigUint::from_bytes_be(server_random);
        let response = consumer
            .dh_generator
            .modpow(&b, &consumer.dh_prime)
            .to_str_radix(16);
        let k = a.modpow(&b, &consumer.dh_prime);
        let lst = Zeroizing::new(hmac_sha1(
            &Zeroizing::new(java_bytes(&k)),
            &consumer.access_token_secret,
        ));
        let signature = hex::encode(hmac_sha1(&lst, consumer.consumer_key.as_bytes()));
        let expires_ms = unix_millis(now)
            .saturating_add(u64::try_from(self.lst_lifetime.as_millis()).unwrap_or(u64::MAX));
        let key = (consumer.consumer_key.clone(), consumer.access_token.clone());
        self.nonces.insert(timestamp, nonce_key);
        self.sessions.insert(key, LiveSession { lst, expires_ms });
        self.issued += 1;
        Ok(LstGrant {
            diffie_hellman_response: response,
            live_session_token_signature: signature,
            live_session_token_expiration: expires_ms,
        })
    }

    /// Checks a request signed with a live session token: HMAC-SHA256 signature,
    /// consumer, token, realm, timestamp window, nonce, LST expiry.
    pub fn verify_request(
        &mut self,
        request: &OAuthRequest<'_>,
        now: SystemTime,
    ) -> Result<Verified, OAuthRejection> {
        let header = parse_authorization(request.authorization)?;
        let consumer = self.check_common(&header, HMAC_SHA256)?;
        let key = (consumer.consumer_key.clone(), consumer.access_token.clone());
        let now_s = unix_secs(now);
        let timestamp = self.check_timestamp(&header, now_s)?;
        let session = self
            .sessions
            .get(&key)
            .ok_or(OAuthRejection::NoLiveSession)?;
        if unix_millis(now) >= session.expires_ms {
            return Err(OAuthRejection::LiveSessionExpired);
        }
        let lst = session.lst.clone();
        let signature = header
            .get("oauth_signature")
            .ok_or(OAuthRejection::MissingParameter("oauth_signature"))?;
        let signature = BASE64
            .decode(signature)
            .map_err(|_| OAuthRejection::InvalidSignature)?;
        let verified = self.base_strings(request, &header)?.iter().any(|base| {
            let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&lst) else {
                return false;
            };
            mac.update(base.as_bytes());
            mac.verify_slice(&signature).is_ok()
        });
        if !verified {
            return Err(OAuthRejection::InvalidSignature);
        }
        let nonce_key = self.check_nonce(&header, &key.0, now_s)?;
        self.nonces.insert(timestamp, nonce_key);
        Ok(Verified {
            consumer_key: key.0,
            access_token: key.1,
        })
    }

    /// Consumer, realm, signature method and token: the checks both kinds of
    /// request share.
    fn check_common(
        &self,
        header: &HashMap<String, String>,
        method: &'static str,
    ) -> Result<&ServerOAuthConfig, OAuthRejection> {
        let consumer_key = header
            .get("oauth_consumer_key")
            .ok_or(OAuthRejection::MissingParameter("oauth_consumer_key"))?;
        let consumer = self
            .consumers
            .get(consumer_key)
            .ok_or_else(|| OAuthRejection::UnknownConsumer(consumer_key.clone()))?;
        let realm = header
            .get("realm")
            .ok_or(OAuthRejection::MissingParameter("realm"))?;
        if *realm != consumer.realm {
            return Err(OAuthRejection::WrongRealm {
                found: realm.clone(),
                expected: consumer.realm.clone(),
            });
        }
        let found = header
            .get("oauth_signature_method")
            .ok_or(OAuthRejection::MissingParameter("oauth_signature_method"))?;
        if found != method {
            return Err(OAuthRejection::UnsupportedSignatureMethod {
                found: found.clone(),
                expected: method,
            });
        }
        let token = header
            .get("oauth_token")
            .ok_or(OAuthRejection::MissingParameter("oauth_token"))?;
        if *token != consumer.access_token {
            return Err(OAuthRejection::InvalidToken);
        }
        Ok(consumer)
    }

    fn check_timestamp(
        &self,
        header: &HashMap<String, String>,
        now: u64,
    ) -> Result<u64, OAuthRejection> {
        let raw = header
            .get("oauth_timestamp")
            .ok_or(OAuthRejection::MissingParameter("oauth_timestamp"))?;
        if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OAuthRejection::MalformedTimestamp);
        }
        let timestamp: u64 = raw
            .parse()
            .map_err(|_| OAuthRejection::MalformedTimestamp)?;
        if timestamp.abs_diff(now) > self.window.as_secs() {
            return Err(OAuthRejection::TimestampOutOfWindow { timestamp, now });
        }
        Ok(timestamp)
    }

    /// Checks the nonce (after the signature, so that forged requests cannot fill
    /// the cache); returns its key, remembered once the request is accepted.
    fn check_nonce(
        &mut self,
        header: &HashMap<String, String>,
        consumer_key: &str,
        now: u64,
    ) -> Result<String, OAuthRejection> {
        let nonce = header
            .get("oauth_nonce")
            .filter(|n| !n.is_empty())
            .ok_or(OAuthRejection::MissingParameter("oauth_nonce"))?;
        self.nonces.prune(now.saturating_sub(self.window.as_secs()));
        let key = format!("{consumer_key}\u{0}{nonce}");
        if self.nonces.contains(&key) {
            return Err(OAuthRejection::NonceReplayed);
        }
        Ok(key)
    }

    /// The base strings a valid signature may cover: with the query's parameters
    /// (OAuth 1.0a), and, when allowed and there is a query, without them.
    fn base_strings(
        &self,
        request: &OAuthRequest<'_>,
        header: &HashMap<String, String>,
    ) -> Result<Vec<Zeroizing<String>>, OAuthRejection> {
        let url = url::Url::parse(request.url).map_err(|_| OAuthRejection::MalformedUrl)?;
        let host = url.host_str().ok_or(OAuthRejection::MalformedUrl)?;
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let base_url = format!("{}://{host}{port}{}", url.scheme(), url.path());
        let oauth: Vec<(String, String)> = header
            .iter()
            .filter(|(k, _)| k.as_str() != "realm" && k.as_str() != "oauth_signature")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let make = |params: &[(String, String)]| {
            let mut encoded: Vec<(String, String)> =
                params.iter().map(|(k, v)| (pct(k), pct(v))).collect();
            encoded.sort();
            let joined = encoded
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            Zeroizing::new(format!(
                "{}&{}&{}",
                request.method.to_ascii_uppercase(),
                pct(&base_url),
                pct(&joined)
            ))
        };
        let mut with_query = oauth.clone();
        with_query.extend(query.iter().cloned());
        let mut bases = vec![make(&with_query)];
        if self.accept_unsigned_query && !query.is_empty() {
            bases.push(make(&oauth));
        }
        Ok(bases)
    }
}

impl fmt::Debug for ServerOAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOAuth")
            .field("consumers", &self.consumers.keys().collect::<Vec<_>>())
            .field("live_sessions", &self.sessions.len())
            .field("remembered_nonces", &self.nonces.len())
            .field("lst_lifetime", &self.lst_lifetime)
            .field("timestamp_window", &self.window)
            .finish()
    }
}

/// Parses `OAuth realm="...", k="v", ...`: names and values percent-decoded.
fn parse_authorization(header: Option<&str>) -> Result<HashMap<String, String>, OAuthRejection> {
    let header = header.ok_or(OAuthRejection::MissingHeader)?.trim();
    let malformed = |reason: &str| OAuthRejection::MalformedHeader {
        reason: reason.to_owned(),
    };
    let (scheme, rest) = header
        .split_once(char::is_whitespace)
        .ok_or(OAuthRejection::MissingHeader)?;
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return Err(OAuthRejection::MissingHeader);
    }
    let mut params = HashMap::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| malformed("a parameter without `=`"))?;
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| malformed("a value without double quotes"))?;
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| malformed("a value that is not percent-encoded UTF-8"))
        };
        let name = decode(name.trim())?;
        let value = decode(value)?;
        if params.insert(name, value).is_some() {
            return Err(malformed("a repeated parameter"));
        }
    }
    Ok(params)
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: this cannot fail.
    match <Hmac<Sha1> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Java's `BigInteger.toByteArray` of a non-negative number: big-endian, minimal,
/// with a leading `0x00` when the top bit is set.
fn java_bytes(k: &BigUint) -> Vec<u8> {
    let mut bytes = k.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    bytes
}

fn parse_hex(hex: &str) -> Option<BigUint> {
    let hex = hex.trim();
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    BigUint::parse_bytes(hex.as_bytes(), 16)
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
