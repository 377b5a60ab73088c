//! Loading OAuth settings: from code, `client.toml` and `IBKR_OAUTH_*` variables;
//! typed errors that name the file at fault; no secret in `Debug` output or in
//! error messages; a warning for key files others can read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ibkr_api::oauth::{ENV_VARS, OAuthConfig, OAuthError, REALM_TEST};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oauth");
const VECTORS: &str = include_str!("fixtures/oauth/vectors.json");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

fn vector(key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    v[key].as_str().unwrap().to_owned()
}

/// A private copy of the fixture key set in a temporary directory, keys 0600.
fn key_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "private_signature.pem",
        "private_encryption.pem",
        "public_signature.pem",
        "dhparam.pem",
        "client.toml",
    ] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
        set_mode(&dir.path().join(name), 0o600);
    }
    dir
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// The secrets of the fixture set, none of which may show anywhere.
fn secrets() -> Vec<String> {
    let mut out = vec![
        vector("prepend"),
        vector("encrypted_access_token_secret"),
        vector("access_token"),
    ];
    for name in ["private_signature.pem", "private_encryption.pem"] {
        let pem = std::fs::read_to_string(fixture(name)).unwrap();
        // Any full line of the key's base64.
        out.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::to_owned),
        );
    }
    out
}

fn assert_no_secret(text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "a secret shows in: {text}");
    }
}

#[test]
fn debug_output_shows_no_secret() {
    let config = OAuthConfig::from_file(fixture("client.toml")).unwrap();
    let shown = format!("{config:?} {config:#?}");
    assert!(
        shown.contains("TESTCONS9") && shown.contains("limited_poa"),
        "{shown}"
    );
    assert_no_secret(&shown);
    let prepend = config.prepend().unwrap();
    assert_no_secret(&format!("{prepend:?}"));
    let request = config.new_lst_request().unwrap();
    assert_no_secret(&format!("{request:?}"));
    let builder = ibkr_api::oauth::OAuthConfigBuilder::from_file(fixture("client.toml")).unwrap();
    assert_no_secret(&format!("{builder:?}"));
}

#[test]
fn errors_name_the_file_and_show_no_secret() {
    let dir = key_dir();
    let path = dir.path().join("client.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let write = |text: &str| std::fs::write(&path, text).unwrap();
    let load = || OAuthConfig::from_file(&path).unwrap_err();

    // A key file that does not exist.
    write(&original.replace("private_signature.pem", "nowhere.pem"));
    let e = load();
    assert!(matches!(e, OAuthError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("nowhere.pem"), "{e}");

    // A key file that is not a key, or the public half.
    std::fs::write(dir.path().join("garbage.pem"), "hello").unwrap();
    write(&original.replace("private_signature.pem", "garbage.pem"));
    let e = load();
    assert!(matches!(e, OAuthError::InvalidKey { .. }), "{e:?}");
    assert!(e.to_string().contains("garbage.pem"), "{e}");
    write(&original.replace("private_encryption.pem", "public_signature.pem"));
    let e = load();
    assert!(
        e.to_string().contains("public_signature.pem") && e.to_string().contains("public key"),
        "{e}"
    );

    // A key whose PEM body is damaged.
    let pem = std::fs::read_to_string(dir.path().join("private_encryption.pem")).unwrap();
    let lines: Vec<&str> = pem.lines().collect();
    let damaged = [&lines[..3], &lines[5..]].concat().join("\n");
    std::fs::write(dir.path().join("damaged.pem"), damaged).unwrap();
    write(&original.replace("private_encryption.pem", "damaged.pem"));
    let e = load();
    assert!(matches!(e, OAuthError::InvalidKey { .. }), "{e:?}");
    assert!(e.to_string().contains("damaged.pem"), "{e}");
    assert_no_secret(&format!("{e} {e:?}"));

    // DH parameters that are an RSA key.
    write(&original.replace("dhparam.pem", "private_signature.pem"));
    let e = load();
    assert!(matches!(e, OAuthError::InvalidDhParams { .. }), "{e:?}");
    assert!(e.to_string().contains("private_signature.pem"), "{e}");
    assert_no_secret(&format!("{e} {e:?}"));

    // Bad TOML on the secret's line: the line number, not its text.
    write(&original.replace("access_token_secret = \"", "access_token_secret = \"\" \""));
    let e = load();
    assert!(matches!(e, OAuthError::ConfigFile { .. }), "{e:?}");
    assert!(
        e.to_string().contains("client.toml") && e.to_string().contains("line 5"),
        "{e}"
    );
    assert_no_secret(&format!("{e} {e:?}"));

    // An unknown key (a typo).
    write(&format!("{original}signature_key = \"x\"\n"));
    let e = load();
    assert!(e.to_string().contains("signature_key"), "{e}");

    // A missing setting names both places to put it.
    write(&original.replace("consumer_key", "# consumer_key"));
    let e = load();
    assert!(
        matches!(
            e,
            OAuthError::Missing {
                key: "consumer_key",
                env: "IBKR_OAUTH_CONSUMER_KEY"
            }
        ),
        "{e:?}"
    );

    // A secret encrypted for another key: decrypting fails, the error holds no secret.
    write(&original.replace("private_encryption.pem", "private_signature.pem"));
    let config = OAuthConfig::from_file(&path).unwrap();
    let e = config.prepend().unwrap_err();
    assert!(matches!(e, OAuthError::Decrypt), "{e:?}");
    assert_no_secret(&format!("{e} {e:?}"));
    let e = config.new_lst_request().unwrap_err();
    assert!(matches!(e, OAuthError::Decrypt), "{e:?}");

    // A secret that is not base64.
    write(&original.replace(&vector("encrypted_access_token_secret"), "not*base64"));
    let e = OAuthConfig::from_file(&path)
        .unwrap()
        .prepend()
        .unwrap_err();
    assert!(matches!(e, OAuthError::InvalidValue { .. }), "{e:?}");
}

#[test]
fn builder_defaults_and_checks() {
    let pem = |n: &str| std::fs::read_to_string(fixture(n)).unwrap();
    let base = || {
        OAuthConfig::builder()
            .consumer_key("TESTCONS")
            .access_token("tok")
            .access_token_secret(vector("encrypted_access_token_secret"))
            .signature_key_pem(pem("private_signature.pem"))
            .encryption_key_pem(pem("private_encryption.pem"))
            .dh_prime_hex(vector("dh_prime_hex"))
    };
    let c = base().build().unwrap();
    assert_eq!(c.realm(), REALM_TEST);
    assert_eq!(c.base_url(), "https://api.ibkr.com/v1/api");
    assert_eq!(
        c.lst_url(),
        "https://api.ibkr.com/v1/api/oauth/live_session_token"
    );
    assert_eq!(c.dh_params().generator().to_string(), "2");
    let c = base()
        .realm("limited_poa")
        .base_url("https://127.0.0.1:5000/v1/api/")
        .build()
        .unwrap();
    assert_eq!(c.realm(), "limited_poa");
    assert_eq!(c.base_url(), "https://127.0.0.1:5000/v1/api");
    assert!(matches!(
        base().base_url("ftp://x").build(),
        Err(OAuthError::InvalidUrl { .. })
    ));
    assert!(matches!(
        base().dh_prime_hex("abc").build(),
        Err(OAuthError::InvalidDhParams { .. })
    ));
    assert!(matches!(
        base().consumer_key("  ").build(),
        Err(OAuthError::Missing {
            key: "consumer_key",
            ..
        })
    ));
}

#[test]
fn settings_come_from_the_environment() {
    let dir = key_dir();
    let vars = |pairs: &[(&str, String)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    // Every setting from variables.
    let p = |n: &str| dir.path().join(n).display().to_string();
    let env = vars(&[
        ("IBKR_OAUTH_CONSUMER_KEY", "TESTCONS9".into()),
        ("IBKR_OAUTH_ACCESS_TOKEN", vector("access_token")),
        (
            "IBKR_OAUTH_ACCESS_TOKEN_SECRET",
            vector("encrypted_access_token_secret"),
        ),
        ("IBKR_OAUTH_SIGNATURE_KEY_FILE", p("private_signature.pem")),
        (
            "IBKR_OAUTH_ENCRYPTION_KEY_FILE",
            p("private_encryption.pem"),
        ),
        ("IBKR_OAUTH_DH_PARAM_FILE", p("dhparam.pem")),
        (
            "IBKR_OAUTH_BASE_URL",
            "https://localhost:5000/v1/api".into(),
        ),
    ]);
    let c = OAuthConfig::from_env_lookup(|k| env.get(k).cloned()).unwrap();
    assert_eq!(c.consumer_key(), "TESTCONS9");
    assert_eq!(c.realm(), "limited_poa");
    assert_eq!(c.base_url(), "https://localhost:5000/v1/api");
    assert_eq!(c.prepend().unwrap().as_hex(), vector("prepend"));

    // A client.toml, with variables overriding it.
    let env = vars(&[
        ("IBKR_OAUTH_CONFIG", p("client.toml")),
        ("IBKR_OAUTH_REALM", "test_realm".into()),
        ("IBKR_OAUTH_DH_PRIME", vector("dh_prime_hex")),
        ("IBKR_OAUTH_ACCESS_TOKEN", "  ".into()), // blank: ignored
    ]);
    let c = OAuthConfig::from_env_lookup(|k| env.get(k).cloned()).unwrap();
    assert_eq!(c.realm(), "test_realm");
    assert_eq!(c.access_token(), vector("access_token"));
    assert_eq!(c.dh_params().prime_hex(), vector("dh_prime_hex"));

    // Nothing set.
    let e = OAuthConfig::from_env_lookup(|_| None).unwrap_err();
    assert!(e.to_string().contains("IBKR_OAUTH_CONSUMER_KEY"), "{e}");

    // Every variable read is documented.
    for name in [
        "IBKR_OAUTH_CONFIG",
        "IBKR_OAUTH_CONSUMER_KEY",
        "IBKR_OAUTH_ACCESS_TOKEN",
        "IBKR_OAUTH_ACCESS_TOKEN_SECRET",
        "IBKR_OAUTH_SIGNATURE_KEY_FILE",
        "IBKR_OAUTH_ENCRYPTION_KEY_FILE",
        "IBKR_OAUTH_DH_PARAM_FILE",
        "IBKR_OAUTH_DH_PRIME",
        "IBKR_OAUTH_REALM",
        "IBKR_OAUTH_BASE_URL",
    ] {
        assert!(ENV_VARS.iter().any(|(n, _)| *n == name), "{name}");
    }
}

/// Collects the messages of WARN events.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[cfg(unix)]
#[test]
fn key_files_others_can_read_are_warned_about() {
    let dir = key_dir();
    let warnings = Warnings::default();
    let load = || {
        tracing::subscriber::with_default(warnings.clone(), || {
            OAuthConfig::from_file(dir.path().join("client.toml")).unwrap()
        })
    };
    load();
    assert!(
        warnings.0.lock().unwrap().is_empty(),
        "{:?}",
        warnings.0.lock().unwrap()
    );

    set_mode(&dir.path().join("private_encryption.pem"), 0o644);
    load();
    let seen = warnings.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("private_encryption.pem") && seen[0].contains("644"),
        "{seen:?}"
    );
    assert!(seen[0].contains("chmod 600"), "{seen:?}");
}
