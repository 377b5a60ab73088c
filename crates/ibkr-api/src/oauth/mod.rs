//! IBKR's first-party **OAuth 1.0a**: talk to `https://api.ibkr.com/v1/api`
//! without the Client Portal Gateway.
//!
//! The flow, as IBKR documents it:
//!
//! 1. Once, in IBKR's self-service portal, the consumer registers two RSA key pairs
//!    (signature and encryption) and Diffie-Hellman parameters (`dhparam.pem`), and
//!    receives a consumer key, an access token and an *encrypted* access token
//!    secret. [`OAuthConfig`] holds these.
//! 2. The client decrypts the secret with its encryption key: the hex of the
//!    plaintext is the [*prepend*](crypto::prepend).
//! 3. `POST /oauth/live_session_token`, signed RSA-SHA256 over a base string that
//!    starts with the prepend, sends a Diffie-Hellman challenge `A = g^a mod p`
//!    ([`LstRequest`]). The server answers `B`, the live session token's signature
//!    and its expiry ([`LstResponse`]).
//! 4. Both sides derive the *live session token* (LST) from `K = g^(ab) mod p` and
//!    the prepend; the client checks it against the server's signature
//!    ([`LstRequest::complete`]).
//! 5. Every later request is signed HMAC-SHA256 with the LST
//!    ([`OAuthConfig::sign`], [`crypto::sign_request`]) in an
//!    `Authorization: OAuth realm="limited_poa", ...` header.
//!
//! This module is pure: it computes headers and tokens, and sends nothing.
//! Secrets (private keys, the access token secret, the prepend, the LST, the DH
//! random value) are kept in types that wipe their memory on drop and never show
//! in `Debug` output or in error messages.
//!
//! ```no_run
//! use ibkr_api::oauth::{LstResponse, OAuthConfig};
//!
//! # fn run(response_body: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let config = OAuthConfig::from_file("client.toml")?;
//! let request = config.new_lst_request()?;
//! // POST request.url() with header `Authorization: {request.authorization()}`, then:
//! let answer: LstResponse = serde_json::from_str(response_body)?;
//! let lst = request.complete(&answer)?;
//! let header = config.sign("GET", &format!("{}/portfolio/accounts", config.base_url()), &[], &lst)?;
//! # let _ = header; Ok(()) }
//! ```

mod config;
pub mod crypto;
pub(crate) mod session;

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

pub use config::{ENV_VARS, OAuthConfig, OAuthConfigBuilder};
pub use crypto::{DhParams, DhRandom, Lst, OAuthParams, Prepend, RsaKey};
pub use session::LiveSessionInfo;

/// IBKR's OAuth API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.ibkr.com/v1/api";
/// The realm of a registered consumer.
pub const REALM_LIMITED_POA: &str = "limited_poa";
/// The realm of IBKR's paper-testing consumer key [`TEST_CONSUMER_KEY`].
pub const REALM_TEST: &str = "test_realm";
/// IBKR's consumer key for paper testing, whose realm is [`REALM_TEST`].
pub const TEST_CONSUMER_KEY: &str = "TESTCONS";
/// The live session token endpoint, under the base URL.
pub const LST_PATH: &str = "/oauth/live_session_token";

/// What went wrong while configuring OAuth or computing a step. Messages name the
/// file or setting at fault and never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A configuration file is not valid TOML or has an unknown or mistyped key.
    #[error("{}: {reason}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        reason: String,
    },
    /// A required setting is missing.
    #[error(
        "OAuth setting `{key}` is missing: set it in client.toml or in the environment variable {env}"
    )]
    Missing {
        /// The key in `client.toml`.
        key: &'static str,
        /// The environment variable.
        env: &'static str,
    },
    /// An RSA private key is malformed or of the wrong kind.
    #[error("{what}: {reason}")]
    InvalidKey {
        /// The file, or which key.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The Diffie-Hellman parameters are malformed.
    #[error("{what}: invalid Diffie-Hellman parameters: {reason}")]
    InvalidDhParams {
        /// The file, or the setting.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A value is malformed.
    #[error("{what}: {reason}")]
    InvalidValue {
        /// Which value.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A URL is malformed.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The access token secret does not decrypt with the encryption key: the wrong
    /// key, or a secret from another registration.
    #[error(
        "the access token secret does not decrypt with the private encryption key (wrong key, or a secret issued for another key)"
    )]
    Decrypt,
    /// RSA signing failed (a key too small for SHA-256).
    #[error("cannot sign with the signature key: {reason}")]
    Sign {
        /// Why.
        reason: String,
    },
    /// The server's Diffie-Hellman response is unusable.
    #[error("invalid diffie_hellman_response from the server: {reason}")]
    InvalidDhResponse {
        /// Why.
        reason: String,
    },
    /// The live session token computed here does not match the server's
    /// `live_session_token_signature`: the prepend, the DH prime or the consumer key
    /// differs from what IBKR has registered.
    #[error(
        "the live session token computed here does not match the server's signature; check the DH parameters, the encryption key and the consumer key"
    )]
    LstMismatch,
}

/// The answer of `POST /oauth/live_session_token`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct LstResponse {
    /// `B = g^b mod p`, hex.
    pub diffie_hellman_response: String,
    /// `hex(HMAC-SHA1(LST, consumer key))`, to check the computed LST.
    pub live_session_token_signature: String,
    /// When the LST expires, epoch milliseconds (about 24 hours ahead).
    pub live_session_token_expiration: u64,
}

impl LstResponse {
    /// From its parts.
    pub fn new(
        diffie_hellman_response: impl Into<String>,
        live_session_token_signature: impl Into<String>,
        live_session_token_expiration: u64,
    ) -> Self {
        Self {
            diffie_hellman_response: diffie_hellman_response.into(),
            live_session_token_signature: live_session_token_signature.into(),
            live_session_token_expiration,
        }
    }
}

/// A prepared live session token request: where to `POST`, its `Authorization`
/// header, and the secrets needed to finish once the server answers.
pub struct LstRequest {
    url: String,
    authorization: String,
    challenge: String,
    consumer_key: String,
    dh: DhParams,
    dh_random: DhRandom,
    prepend: Prepend,
}

impl LstRequest {
    /// The URL to `POST` to (no body).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `Authorization` header value.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// The Diffie-Hellman challenge sent (hex).
    pub fn dh_challenge(&self) -> &str {
        &self.challenge
    }

    /// Computes the live session token from the server's answer and checks it
    /// against the server's signature.
    pub fn complete(&self, response: &LstResponse) -> Result<Lst, OAuthError> {
        let lst = crypto::live_session_token(
            &response.diffie_hellman_response,
            &self.dh_random,
            &self.dh,
            &self.prepend,
        )?;
        if crypto::verify_lst(
            &lst,
            &self.consumer_key,
            &response.live_session_token_signature,
        ) {
            Ok(lst)
        } else {
            Err(OAuthError::LstMismatch)
        }
    }
}

impl fmt::Debug for LstRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LstRequest")
            .field("url", &self.url)
            .field("consumer_key", &self.consumer_key)
            .finish_non_exhaustive()
    }
}
