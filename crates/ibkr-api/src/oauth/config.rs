//! [`OAuthConfig`]: the consumer's credentials, from code, a TOML file or the
//! environment.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::crypto::{self, DhParams, DhRandom, Lst, OAuthParams, Prepend, RsaKey};
use super::{
    DEFAULT_BASE_URL, LST_PATH, LstRequest, OAuthError, REALM_LIMITED_POA, REALM_TEST,
    TEST_CONSUMER_KEY,
};

/// The environment variables [`OAuthConfig::from_env`] reads, with what each holds.
/// Relative paths in them are taken from the current directory.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "IBKR_OAUTH_CONFIG",
        "path of a client.toml to start from; the variables below override its values",
    ),
    ("IBKR_OAUTH_CONSUMER_KEY", "the consumer key (9 characters)"),
    ("IBKR_OAUTH_ACCESS_TOKEN", "the access token"),
    (
        "IBKR_OAUTH_ACCESS_TOKEN_SECRET",
        "the access token secret, encrypted (base64), as IBKR's portal gives it",
    ),
    (
        "IBKR_OAUTH_SIGNATURE_KEY_FILE",
        "path of the private signature key (PEM, PKCS#1 or PKCS#8)",
    ),
    (
        "IBKR_OAUTH_ENCRYPTION_KEY_FILE",
        "path of the private encryption key (PEM, PKCS#1 or PKCS#8)",
    ),
    (
        "IBKR_OAUTH_DH_PARAM_FILE",
        "path of dhparam.pem (PKCS#3 DH parameters)",
    ),
    (
        "IBKR_OAUTH_DH_PRIME",
        "the DH prime in hex, instead of IBKR_OAUTH_DH_PARAM_FILE (generator 2)",
    ),
    (
        "IBKR_OAUTH_REALM",
        "the realm: limited_poa (default), or test_realm (default for TESTCONS)",
    ),
    (
        "IBKR_OAUTH_BASE_URL",
        "the API base URL (default https://api.ibkr.com/v1/api)",
    ),
];

/// A consumer's OAuth credentials and where to use them.
///
/// Build it in code ([`OAuthConfig::builder`]), from a `client.toml`
/// ([`OAuthConfig::from_file`]) or from `IBKR_OAUTH_*` variables
/// ([`OAuthConfig::from_env`]). A `client.toml` looks like this (paths relative to
/// the file's directory):
///
/// ```toml
/// consumer_key = "ABCDEFGHI"
/// access_token = "e84c11dc149cb96ee5bb"
/// access_token_secret = "BGJsaMbL...gqg=="   # encrypted, as the portal gives it
/// signature_key_file = "private_signature.pem"
/// encryption_key_file = "private_encryption.pem"
/// dh_param_file = "dhparam.pem"              # or: dh_prime = "ffff...ff" (hex)
/// realm = "limited_poa"                      # optional
/// base_url = "https://api.ibkr.com/v1/api"   # optional
/// ```
///
/// Key files readable by group or others are reported with a `tracing` warning
/// (Unix). `Debug` shows no secret.
#[derive(Clone)]
pub struct OAuthConfig {
    consumer_key: String,
    access_token: String,
    access_token_secret: Zeroizing<String>,
    signature_key: RsaKey,
    encryption_key: RsaKey,
    dh: DhParams,
    realm: String,
    base_url: String,
}

impl OAuthConfig {
    /// An empty builder.
    pub fn builder() -> OAuthConfigBuilder {
        OAuthConfigBuilder::default()
    }

    /// Reads a `client.toml`; see the type's documentation for its keys.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, OAuthError> {
        OAuthConfigBuilder::from_file(path)?.build()
    }

    /// Reads the `IBKR_OAUTH_*` environment variables listed in [`ENV_VARS`].
    pub fn from_env() -> Result<Self, OAuthError> {
        OAuthConfigBuilder::from_env_lookup(|name| std::env::var(name).ok())?.build()
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (tests, or another source of settings).
    pub fn from_env_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OAuthError> {
        OAuthConfigBuilder::from_env_lookup(lookup)?.build()
    }

    /// The consumer key.
    pub fn consumer_key(&self) -> &str {
        &self.consumer_key
    }

    /// The access token (`oauth_token`).
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The realm sent in headers.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The API base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The Diffie-Hellman group.
    pub fn dh_params(&self) -> &DhParams {
        &self.dh
    }

    /// The private signature key.
    pub fn signature_key(&self) -> &RsaKey {
        &self.signature_key
    }

    /// The private encryption key.
    pub fn encryption_key(&self) -> &RsaKey {
        &self.encryption_key
    }

    /// The live session token endpoint's URL.
    pub fn lst_url(&self) -> String {
        format!("{}{}", self.base_url, LST_PATH)
    }

    /// Decrypts the access token secret: the prepend.
    pub fn prepend(&self) -> Result<Prepend, OAuthError> {
        crypto::prepend(&self.access_token_secret, &self.encryption_key)
    }

    /// Fresh OAuth parameters (nonce, timestamp) for this consumer.
    pub fn oauth_params(&self) -> OAuthParams {
        OAuthParams::new(&self.consumer_key, &self.access_token, &self.realm)
    }

    /// Prepares the live session token request with a fresh DH random value, nonce
    /// and timestamp.
    pub fn new_lst_request(&self) -> Result<LstRequest, OAuthError> {
        self.lst_request(DhRandom::generate(), &self.oauth_params())
    }

    /// Prepares the live session token request with the given random value and
    /// OAuth parameters (tests). `oauth`'s consumer key, token and realm are used as
    /// given.
    pub fn lst_request(
        &self,
        dh_random: DhRandom,
        oauth: &OAuthParams,
    ) -> Result<LstRequest, OAuthError> {
        let prepend = self.prepend()?;
        let challenge = crypto::dh_challenge(&dh_random, &self.dh);
        let url = self.lst_url();
        let authorization =
            crypto::lst_authorization(&url, oauth, &challenge, &prepend, &self.signature_key)?;
        Ok(LstRequest {
            url,
            authorization,
            challenge,
            consumer_key: oauth.consumer_key.clone(),
            dh: self.dh.clone(),
            dh_random,
            prepend,
        })
    }

    /// Signs a request with the live session token (fresh nonce and timestamp) and
    /// returns its `Authorization` header value. `url` is the full URL (its query,
    /// if any, is signed too); `query` holds further query parameters, unencoded.
    pub fn sign(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, &str)],
        lst: &Lst,
    ) -> Result<String, OAuthError> {
        crypto::sign_request(method, url, query, &self.oauth_params(), lst)
    }
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("consumer_key", &self.consumer_key)
            .field("access_token", &"<redacted>")
            .field("access_token_secret", &"<redacted>")
            .field("signature_key", &self.signature_key)
            .field("encryption_key", &self.encryption_key)
            .field("dh", &self.dh)
            .field("realm", &self.realm)
            .field("base_url", &self.base_url)
            .finish()
    }
}

#[derive(Clone)]
enum KeySource {
    File(PathBuf),
    Pem(Zeroizing<String>),
    Key(Box<RsaKey>),
}

#[derive(Clone)]
enum DhSource {
    File(PathBuf),
    Pem(String),
    PrimeHex(String),
    Params(DhParams),
}

/// Builds an [`OAuthConfig`]; every setter replaces an earlier value, so a file's
/// values can be overridden. Files are read by [`build`](Self::build).
#[derive(Clone, Default)]
pub struct OAuthConfigBuilder {
    consumer_key: Option<String>,
    access_token: Option<String>,
    access_token_secret: Option<Zeroizing<String>>,
    signature_key: Option<KeySource>,
    encryption_key: Option<KeySource>,
    dh: Option<DhSource>,
    realm: Option<String>,
    base_url: Option<String>,
}

/// `client.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    consumer_key: Option<String>,
    access_token: Option<String>,
    access_token_secret: Option<Zeroizing<String>>,
    signature_key_file: Option<PathBuf>,
    encryption_key_file: Option<PathBuf>,
    dh_param_file: Option<PathBuf>,
    dh_prime: Option<String>,
    realm: Option<String>,
    base_url: Option<String>,
}

impl OAuthConfigBuilder {
    /// A builder holding a `client.toml`'s values (paths resolved against the
    /// file's directory).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, OAuthError> {
        let path = path.as_ref();
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| OAuthError::Read {
                    path: path.to_owned(),
                    source,
                })?,
            );
        let file: FileConfig = toml::from_str(&text).map_err(|e| OAuthError::ConfigFile {
            path: path.to_owned(),
            // The message alone, with the line: toml's full rendering quotes the
            // offending line, which may hold a secret.
            reason: match e.span() {
                Some(span) => format!(
                    "line {}: {}",
                    text[..span.start.min(text.len())].matches('\n').count() + 1,
                    e.message()
                ),
                None => e.message().to_owned(),
            },
        })?;
        if file.dh_param_file.is_some() && file.dh_prime.is_some() {
            return Err(OAuthError::ConfigFile {
                path: path.to_owned(),
                reason: "give either dh_param_file or dh_prime, not both".into(),
            });
        }
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        let mut builder = Self {
            consumer_key: file.consumer_key,
            access_token: file.access_token,
            access_token_secret: file.access_token_secret,
            realm: file.realm,
            base_url: file.base_url,
            ..Self::default()
        };
        if let Some(p) = file.signature_key_file {
            builder.signature_key = Some(KeySource::File(dir.join(p)));
        }
        if let Some(p) = file.encryption_key_file {
            builder.encryption_key = Some(KeySource::File(dir.join(p)));
        }
        if let Some(p) = file.dh_param_file {
            builder.dh = Some(DhSource::File(dir.join(p)));
        }
        if let Some(hex) = file.dh_prime {
            builder.dh = Some(DhSource::PrimeHex(hex));
        }
        Ok(builder)
    }

    /// A builder from `IBKR_OAUTH_*` variables read through `lookup`: the file named
    /// by `IBKR_OAUTH_CONFIG` first, if any, then each variable that is set.
    pub fn from_env_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OAuthError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut b = match get("IBKR_OAUTH_CONFIG") {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        if let Some(v) = get("IBKR_OAUTH_CONSUMER_KEY") {
            b = b.consumer_key(v);
        }
        if let Some(v) = get("IBKR_OAUTH_ACCESS_TOKEN") {
            b = b.access_token(v);
        }
        if let Some(v) = get("IBKR_OAUTH_ACCESS_TOKEN_SECRET") {
            b = b.access_token_secret(v);
        }
        if let Some(v) = get("IBKR_OAUTH_SIGNATURE_KEY_FILE") {
            b = b.signature_key_file(v);
        }
        if let Some(v) = get("IBKR_OAUTH_ENCRYPTION_KEY_FILE") {
            b = b.encryption_key_file(v);
        }
        if let Some(v) = get("IBKR_OAUTH_DH_PARAM_FILE") {
            b = b.dh_param_file(v);
        }
        if let Some(v) = get("IBKR_OAUTH_DH_PRIME") {
            b = b.dh_prime_hex(v);
        }
        if let Some(v) = get("IBKR_OAUTH_REALM") {
            b = b.realm(v);
        }
        if let Some(v) = get("IBKR_OAUTH_BASE_URL") {
            b = b.base_url(v);
        }
        Ok(b)
    }

    /// The consumer key.
    pub fn consumer_key(mut self, v: impl Into<String>) -> Self {
        self.consumer_key = Some(v.into());
        self
    }

    /// The access token.
    pub fn access_token(mut self, v: impl Into<String>) -> Self {
        self.access_token = Some(v.into());
        self
    }

    /// The access token secret, encrypted (base64), as IBKR's portal gives it.
    pub fn access_token_secret(mut self, v: impl Into<String>) -> Self {
        self.access_token_secret = Some(Zeroizing::new(v.into()));
        self
    }

    /// The private signature key's PEM file.
    pub fn signature_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.signature_key = Some(KeySource::File(path.into()));
        self
    }

    /// The private signature key as PEM text.
    pub fn signature_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.signature_key = Some(KeySource::Pem(Zeroizing::new(pem.into())));
        self
    }

    /// The private signature key.
    pub fn signature_key(mut self, key: RsaKey) -> Self {
        self.signature_key = Some(KeySource::Key(Box::new(key)));
        self
    }

    /// The private encryption key's PEM file.
    pub fn encryption_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.encryption_key = Some(KeySource::File(path.into()));
        self
    }

    /// The private encryption key as PEM text.
    pub fn encryption_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.encryption_key = Some(KeySource::Pem(Zeroizing::new(pem.into())));
        self
    }

    /// The private encryption key.
    pub fn encryption_key(mut self, key: RsaKey) -> Self {
        self.encryption_key = Some(KeySource::Key(Box::new(key)));
        self
    }

    /// The `dhparam.pem` file.
    pub fn dh_param_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.dh = Some(DhSource::File(path.into()));
        self
    }

    /// The DH parameters as PEM text.
    pub fn dh_param_pem(mut self, pem: impl Into<String>) -> Self {
        self.dh = Some(DhSource::Pem(pem.into()));
        self
    }

    /// The DH prime in hex (generator 2).
    pub fn dh_prime_hex(mut self, hex: impl Into<String>) -> Self {
        self.dh = Some(DhSource::PrimeHex(hex.into()));
        self
    }

    /// The DH parameters.
    pub fn dh_params(mut self, params: DhParams) -> Self {
        self.dh = Some(DhSource::Params(params));
        self
    }

    /// The realm (default `limited_poa`, or `test_realm` for `TESTCONS`).
    pub fn realm(mut self, v: impl Into<String>) -> Self {
        self.realm = Some(v.into());
        self
    }

    /// The API base URL (default `https://api.ibkr.com/v1/api`).
    pub fn base_url(mut self, v: impl Into<String>) -> Self {
        self.base_url = Some(v.into());
        self
    }

    /// Reads the key files and checks every value.
    pub fn build(self) -> Result<OAuthConfig, OAuthError> {
        let consumer_key = required(self.consumer_key, "consumer_key", "IBKR_OAUTH_CONSUMER_KEY")?;
        let access_token = required(self.access_token, "access_token", "IBKR_OAUTH_ACCESS_TOKEN")?;
        let access_token_secret = self
            .access_token_secret
            .filter(|s| !s.trim().is_empty())
            .ok_or(OAuthError::Missing {
                key: "access_token_secret",
                env: "IBKR_OAUTH_ACCESS_TOKEN_SECRET",
            })?;
        let signature_key = load_key(
            self.signature_key,
            "signature key",
            "signature_key_file",
            "IBKR_OAUTH_SIGNATURE_KEY_FILE",
        )?;
        let encryption_key = load_key(
            self.encryption_key,
            "encryption key",
            "encryption_key_file",
            "IBKR_OAUTH_ENCRYPTION_KEY_FILE",
        )?;
        let dh = match self.dh.ok_or(OAuthError::Missing {
            key: "dh_param_file",
            env: "IBKR_OAUTH_DH_PARAM_FILE",
        })? {
            DhSource::File(path) => {
                let text = read_file(&path)?;
                DhParams::from_pem(&text, &path.display().to_string())?
            }
            DhSource::Pem(pem) => DhParams::from_pem(&pem, "DH parameters")?,
            DhSource::PrimeHex(hex) => DhParams::from_prime_hex(&hex)?,
            DhSource::Params(p) => p,
        };
        let realm = self.realm.unwrap_or_else(|| {
            if consumer_key == TEST_CONSUMER_KEY {
                REALM_TEST.to_owned()
            } else {
                REALM_LIMITED_POA.to_owned()
            }
        });
        let base_url = self
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        let parsed = url::Url::parse(&base_url).map_err(|e| OAuthError::InvalidUrl {
            url: base_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(OAuthError::InvalidUrl {
                url: base_url,
                reason: "expected an https:// URL with a host".into(),
            });
        }
        Ok(OAuthConfig {
            consumer_key,
            access_token,
            access_token_secret,
            signature_key,
            encryption_key,
            dh,
            realm,
            base_url,
        })
    }
}

impl fmt::Debug for OAuthConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfigBuilder")
            .field("consumer_key", &self.consumer_key)
            .field("realm", &self.realm)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn required(v: Option<String>, key: &'static str, env: &'static str) -> Result<String, OAuthError> {
    v.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or(OAuthError::Missing { key, env })
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, OAuthError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| OAuthError::Read {
            path: path.to_owned(),
            source,
        })
}

fn load_key(
    source: Option<KeySource>,
    what: &str,
    key: &'static str,
    env: &'static str,
) -> Result<RsaKey, OAuthError> {
    match source.ok_or(OAuthError::Missing { key, env })? {
        KeySource::File(path) => {
            let text = read_file(&path)?;
            warn_if_exposed(&path);
            RsaKey::from_pem(&text, &path.display().to_string())
        }
        KeySource::Pem(pem) => RsaKey::from_pem(&pem, what),
        KeySource::Key(k) => Ok(*k),
    }
}

/// Warns when a private key file can be read by group or others.
#[cfg(unix)]
fn warn_if_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format_args!("{mode:o}"),
                "private key file is readable by group or others; restrict it with `chmod 600`"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_exposed(_path: &Path) {}
