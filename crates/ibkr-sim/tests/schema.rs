//! Every answer of the simulator's API, in every session state, checked against
//!
//! - IBKR's OpenAPI response schemas: `fixtures/openapi-subset.json`, extracted from
//!   "IB REST API 2.28.0" (`openapi-ib-rest-2.28.0.json`), plus a hand-written schema
//!   for the deprecated `/iserver/reauthenticate`; a few defects of the spec are
//!   corrected here, each one proven necessary by IBKR's own examples
//!   (see [`SPEC_CORRECTIONS`]);
//! - the key sets of real answers: `fixtures/samples/` (provenance in `SOURCES.md`).
//!   When a recording and the spec disagree, the recording wins.
//!
//! The fixtures are compiled in with `include_str!`: the tests read nothing at run time.
//!
//! Adding an endpoint to the simulator? Add it to [`ROUTER_ROUTES`] and [`COVERED`]
//! (the test `every_router_route_is_covered` fails until you do), add its operation
//! to `fixtures/openapi-subset.json`, and check its answers in every session state below.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use ibkr_sim::{Fault, FaultKind, Gateway, GatewayConfig};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------

/// The API routes of `router()` in `crates/ibkr-sim/src/gateway.rs` (paths under
/// `/v1/api`), copied by hand. `router_routes_are_the_ones_listed_here` re-reads the
/// source and fails when they drift apart.
///
/// When you add an endpoint to the simulator, add it here AND to [`COVERED`], then
/// check its answers in every session state in this file.
const ROUTER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/iserver/auth/status"),
    ("POST", "/iserver/auth/status"),
    ("POST", "/iserver/auth/ssodh/init"),
    ("POST", "/iserver/reauthenticate"),
    ("GET", "/tickle"),
    ("POST", "/tickle"),
    ("GET", "/sso/validate"),
    ("POST", "/logout"),
    ("GET", "/iserver/accounts"),
];

/// What `router()` composes besides its `.route(...)` calls. Anything else (a new
/// `.nest`, `.merge`, `.fallback`, `.route_service`...) may bring routes this file
/// does not see, so it fails `router_routes_are_the_ones_listed_here`.
///
/// `/sim/*` (the simulator's control API) and `/` + `/sso/Login` (the browser login
/// page) are not part of IBKR's REST API: the spec has no schema for them. The API
/// fallback (unknown paths) is checked by `unknown_paths_*`.
const ROUTER_COMPOSITION: &[(&str, &str)] = &[
    ("fallback", "auth::fallback"),
    ("method_not_allowed_fallback", "auth::fallback"),
    ("nest", "\"/v1/api\", api"),
    ("nest", "\"/sim\", control::routes()"),
    ("merge", "login::routes()"),
];

/// An API route the schema tests cover.
struct Route {
    method: &'static str,
    path: &'static str,
    /// The method of the documented operation in `openapi-subset.json`: IBKR documents
    /// only `POST /tickle` and `POST /iserver/auth/status`, but the gateway also
    /// answers `GET` with the same body.
    spec_method: &'static str,
    /// Body of a request that succeeds when logged in; `None` sends an empty body.
    body: Option<&'static str>,
}

/// Every route in [`ROUTER_ROUTES`], with what it is checked against.
/// When you add an endpoint to the simulator, add it here AND to [`ROUTER_ROUTES`].
const COVERED: &[Route] = &[
    Route {
        method: "GET",
        path: "/iserver/auth/status",
        spec_method: "post",
        body: None,
    },
    Route {
        method: "POST",
        path: "/iserver/auth/status",
        spec_method: "post",
        body: None,
    },
    Route {
        method: "POST",
        path: "/iserver/auth/ssodh/init",
        spec_method: "post",
        body: Some(r#"{"publish":true,"compete":true}"#),
    },
    Route {
        method: "POST",
        path: "/iserver/reauthenticate",
        spec_method: "post",
        body: None,
    },
    Route {
        method: "GET",
        path: "/tickle",
        spec_method: "post",
        body: None,
    },
    Route {
        method: "POST",
        path: "/tickle",
        spec_method: "post",
        body: None,
    },
    Route {
        method: "GET",
        path: "/sso/validate",
        spec_method: "get",
        body: None,
    },
    Route {
        method: "POST",
        path: "/logout",
        spec_method: "post",
        body: None,
    },
    Route {
        method: "GET",
        path: "/iserver/accounts",
        spec_method: "get",
        body: None,
    },
];

// ---------------------------------------------------------------------------------
// The spec
// ---------------------------------------------------------------------------------

const SUBSET: &str = include_str!("fixtures/openapi-subset.json");

/// A correction of IBKR's spec, applied before validating: 2.28.0 contradicts its
/// own examples (and the recordings) in these places.
struct Correction {
    /// JSON pointer into `openapi-subset.json`.
    pointer: &'static str,
    /// What 2.28.0 says there (`None`: nothing).
    original: Option<&'static str>,
    /// What the tests use instead.
    corrected: &'static str,
    /// Why.
    why: &'static str,
    /// The schema (under `#/components/schemas/`) and an IBKR-authored example it
    /// must accept: the spec rejects it without this correction, and accepts it
    /// with all of them.
    evidence: (&'static str, &'static str, &'static str),
}

const SPEC_CORRECTIONS: &[Correction] = &[
    Correction {
        pointer: "/components/schemas/failedTickleResponse/required",
        original: None,
        corrected: r#"["error"]"#,
        why: "tickleResponse is oneOf successful/failed, but neither branch requires \
              anything, so every object matches both and oneOf rejects it, including \
              the spec's own `success` example",
        evidence: (
            "tickleResponse",
            "spec_examples/POST_tickle__200_success.json",
            include_str!("fixtures/samples/spec_examples/POST_tickle__200_success.json"),
        ),
    },
    Correction {
        pointer: "/components/schemas/successfulTickleResponse/required",
        original: None,
        corrected: r#"["session"]"#,
        why: "same oneOf defect: the spec's own `fail` example {\"error\":...} also \
              matches the successful branch",
        evidence: (
            "tickleResponse",
            "spec_examples/POST_tickle__200_fail.json",
            include_str!("fixtures/samples/spec_examples/POST_tickle__200_fail.json"),
        ),
    },
    Correction {
        pointer: "/components/schemas/ssoValidateResponse/properties/QUALIFIED_FOR_MOBILE_AUTH/type",
        original: Some(r#""boolean""#),
        corrected: r#"["boolean", "null"]"#,
        why: "the spec's own example sends `\"QUALIFIED_FOR_MOBILE_AUTH\": null` \
              (the schema lacks `nullable: true`)",
        evidence: (
            "ssoValidateResponse",
            "spec_examples/GET_sso_validate__200_success.json",
            include_str!("fixtures/samples/spec_examples/GET_sso_validate__200_success.json"),
        ),
    },
    Correction {
        pointer: "/components/schemas/errorResponse/properties/statusCode/type",
        original: Some(r#""string""#),
        corrected: r#""integer""#,
        why: "every errorResponse example of the spec sends the status as a number, \
              e.g. `\"statusCode\": 400`",
        evidence: (
            "errorResponse",
            "spec_examples/GET_iserver_account_accountId_summary__400_invalid-account-id.json",
            include_str!(
                "fixtures/samples/spec_examples/GET_iserver_account_accountId_summary__400_invalid-account-id.json"
            ),
        ),
    },
];

/// `openapi-subset.json` as extracted.
fn raw_spec() -> &'static Value {
    static RAW: OnceLock<Value> = OnceLock::new();
    RAW.get_or_init(|| serde_json::from_str(SUBSET).expect("openapi-subset.json is JSON"))
}

/// `openapi-subset.json` with the corrections, except `skip` (an index of
/// [`SPEC_CORRECTIONS`]).
fn spec_with_corrections(skip: Option<usize>) -> Value {
    let mut doc = raw_spec().clone();
    for (i, c) in SPEC_CORRECTIONS.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let (parent, key) = c.pointer.rsplit_once('/').expect("pointer has a parent");
        let obj = doc
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{parent} is not an object in openapi-subset.json"));
        obj.insert(
            key.to_string(),
            serde_json::from_str(c.corrected).expect("correction is JSON"),
        );
    }
    doc
}

/// The spec the simulator is validated against.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| spec_with_corrections(None))
}

/// A validator for `schema`, whose `#/components/...` references resolve in `doc`.
/// OpenAPI 3.0 schema objects are a dialect of JSON Schema draft 4/5.
fn validator_in(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"))
}

/// Why `instance` does not match `schema`; empty when it does.
fn schema_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let v = validator_in(doc, schema);
    v.iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

fn component_schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A response object of the spec (`{description, content: {media: {schema}}}`),
/// through its `$ref` if it has one.
fn resolve_response(doc: &Value, resp: &Value) -> Value {
    match resp.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let ptr = r.strip_prefix('#').expect("local ref");
            doc.pointer(ptr)
                .unwrap_or_else(|| panic!("{r} does not resolve in openapi-subset.json"))
                .clone()
        }
        None => resp.clone(),
    }
}

/// The documented answer of `spec_method path` with `status`.
fn documented_response(spec_method: &str, path: &str, status: u16) -> Value {
    let doc = spec();
    let op = doc["paths"]
        .get(path)
        .and_then(|p| p.get(spec_method))
        .unwrap_or_else(|| {
            panic!("{spec_method} {path} is not in openapi-subset.json: extract it from the spec")
        });
    let resp = op["responses"].get(status.to_string()).unwrap_or_else(|| {
        panic!(
            "{spec_method} {path} answered {status}, which IBKR does not document (documented: {:?})",
            op["responses"].as_object().map(|m| m.keys().collect::<Vec<_>>())
        )
    });
    resolve_response(doc, resp)
}

// ---------------------------------------------------------------------------------
// Samples
// ---------------------------------------------------------------------------------

/// A recorded (or IBKR-documented) answer.
struct Sample {
    file: &'static str,
    json: Value,
}

macro_rules! sample {
    ($file:literal) => {
        Sample {
            file: $file,
            json: serde_json::from_str(include_str!(concat!("fixtures/samples/", $file)))
                .expect(concat!($file, " is JSON")),
        }
    };
}

fn accounts_recorded() -> Sample {
    sample!("GET_iserver_accounts.json")
}
fn status_authenticated() -> Sample {
    sample!("GET_iserver_auth_status.json")
}
fn status_logged_out() -> Sample {
    sample!("POST_iserver_auth_status__unauthenticated_campusdoc.json")
}
fn ssodh_init() -> Sample {
    sample!("POST_iserver_auth_ssodh_init.json")
}
fn tickle_recorded() -> Sample {
    sample!("POST_tickle.json")
}
fn tickle_unauthenticated_recorded() -> Sample {
    sample!("POST_tickle__unauthenticated_captured2025.json")
}
fn tickle_spec() -> Sample {
    sample!("spec_examples/POST_tickle__200_success.json")
}
fn sso_validate_spec() -> Sample {
    sample!("spec_examples/GET_sso_validate__200_success.json")
}
fn logout_spec() -> Sample {
    sample!("spec_examples/POST_logout__200_success.json")
}
fn reauthenticate_docs() -> Sample {
    sample!("docs_examples/POST_iserver_reauthenticate.json")
}
fn error_response_spec() -> Sample {
    sample!("spec_examples/GET_iserver_account_accountId_summary__400_invalid-account-id.json")
}
/// IBKR's 401 example for `path` (the same body for every endpoint); `tickle`'s for
/// paths with none of their own.
fn expired_token(path: &str) -> Sample {
    match path {
        "/sso/validate" => sample!("spec_examples/GET_sso_validate__401_expiredToken.json"),
        "/logout" => sample!("spec_examples/POST_logout__401_expiredToken.json"),
        "/iserver/auth/ssodh/init" => {
            sample!("spec_examples/POST_iserver_auth_ssodh_init__401_expiredToken.json")
        }
        _ => sample!("spec_examples/POST_tickle__401_expiredToken.json"),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences between the keys of `got` and `want` (and, where the recording is not
/// `null`, the JSON kinds of their values), through nested objects when `deep`.
fn key_diffs(at: &str, got: &Value, want: &Value, deep: bool, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: BTreeSet<&str> = g.keys().map(String::as_str).collect();
            let wk: BTreeSet<&str> = w.keys().map(String::as_str).collect();
            let extra: Vec<_> = gk.difference(&wk).collect();
            let missing: Vec<_> = wk.difference(&gk).collect();
            let at_ = if at.is_empty() { "/" } else { at };
            if !extra.is_empty() {
                out.push(format!(
                    "{at_}: simulator sends keys the recording lacks: {extra:?}"
                ));
            }
            if !missing.is_empty() {
                out.push(format!(
                    "{at_}: simulator lacks keys the recording has: {missing:?}"
                ));
            }
            for k in gk.intersection(&wk) {
                let (gv, wv) = (&g[*k], &w[*k]);
                let here = format!("{at}/{k}");
                if !wv.is_null() && json_kind(gv) != json_kind(wv) {
                    out.push(format!(
                        "{here}: simulator sends {} {gv}, the recording {} {wv}",
                        json_kind(gv),
                        json_kind(wv)
                    ));
                } else if deep {
                    key_diffs(&here, gv, wv, deep, out);
                }
            }
        }
        (Value::Array(g), Value::Array(w)) if deep => {
            if let Some(w0) = w.first() {
                for (i, gv) in g.iter().enumerate() {
                    key_diffs(&format!("{at}/{i}"), gv, w0, deep, out);
                }
            }
        }
        _ => {}
    }
}

fn pointer<'a>(v: &'a Value, at: &str, what: &str) -> &'a Value {
    v.pointer(at)
        .unwrap_or_else(|| panic!("{what}: no `{at}` in {v}"))
}

/// The keys at `at` in `got` are exactly those at `at` in `sample`, recursively.
#[track_caller]
fn assert_keys_at(what: &str, got: &Value, at: &str, sample: &Sample) {
    let mut diffs = Vec::new();
    key_diffs(
        at,
        pointer(got, at, what),
        pointer(&sample.json, at, sample.file),
        true,
        &mut diffs,
    );
    assert!(
        diffs.is_empty(),
        "{what} does not have the keys of the recording {}:\n  {}\nsimulator: {got}\nrecording: {}",
        sample.file,
        diffs.join("\n  "),
        sample.json
    );
}

/// The keys of `got` are exactly those of `sample`, recursively.
#[track_caller]
fn assert_keys(what: &str, got: &Value, sample: &Sample) {
    assert_keys_at(what, got, "", sample);
}

/// The top-level keys of `got` are exactly those of `sample`.
#[track_caller]
fn assert_top_keys(what: &str, got: &Value, sample: &Sample) {
    let mut diffs = Vec::new();
    key_diffs("", got, &sample.json, false, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{what} does not have the top-level keys of {}:\n  {}\nsimulator: {got}\nrecording: {}",
        sample.file,
        diffs.join("\n  "),
        sample.json
    );
}

// ---------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------

/// Accepts exactly the certificate with this SHA-256 fingerprint (`AB:CD:...`, as
/// [`Gateway::certificate_fingerprint`] gives it); handshake signatures are checked.
#[derive(Debug)]
struct PinnedCert {
    fingerprint: Option<String>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Sha256::digest(end_entity.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        if self.fingerprint.as_deref() == Some(got.as_str()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "certificate {got} is not the simulator's"
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A client trusting only the simulator's certificate (none over plain HTTP).
fn client_for(gw: &Gateway) -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedCert {
        fingerprint: gw.certificate_fingerprint().map(str::to_string),
        algs: provider.signature_verification_algorithms,
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("ibkr-sim-schema-test/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

/// A running simulator and a client for it.
struct Sim {
    gw: Gateway,
    http: reqwest::Client,
}

/// An answer of the simulator.
struct Answer {
    /// `METHOD /path`, for messages.
    what: String,
    status: u16,
    /// The media type without parameters, e.g. `application/json`.
    media: String,
    body: Value,
}

impl Sim {
    /// Plain HTTP, logged in.
    async fn start() -> Sim {
        Sim::with(GatewayConfig::for_tests().tls(false)).await
    }

    async fn with(config: GatewayConfig) -> Sim {
        let gw = Gateway::start(config).await.expect("gateway starts");
        let http = client_for(&gw);
        Sim { gw, http }
    }

    /// `method /v1/api<path>` with `body` (JSON text), or an empty body
    /// (`Content-Length: 0` on POST, as the gateway requires).
    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let url = format!("{}{path}", self.gw.api_url());
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, &url);
        req = match body {
            Some(b) => req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string()),
            None if method == "POST" => req.header(CONTENT_LENGTH, "0"),
            None => req,
        };
        let what = format!("{method} {path}");
        let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = resp.status().as_u16();
        let media = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{what} answered {status} with a body that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer {
            what,
            status,
            media,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str) -> Answer {
        self.call("POST", path, None).await
    }

    async fn post_json(&self, path: &str, body: &str) -> Answer {
        self.call("POST", path, Some(body)).await
    }
}

// ---------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------

impl Answer {
    #[track_caller]
    fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{} answered {} (expected {status}): {}",
            self.what, self.status, self.body
        );
        self
    }

    /// Matches a response object of the spec: media type and schema.
    #[track_caller]
    fn matches_response(&self, response: &Value, what: &str) -> &Self {
        let content = response["content"]
            .as_object()
            .unwrap_or_else(|| panic!("{what} documents no body"));
        assert_eq!(content.len(), 1, "{what}: several media types");
        let (media, media_obj) = content.iter().next().expect("one media type");
        let want = media.split(';').next().unwrap_or("").trim();
        assert_eq!(
            self.media, want,
            "{} answered {} as {:?}; {what} documents {media:?}",
            self.what, self.status, self.media
        );
        let errors = schema_errors(spec(), &media_obj["schema"], &self.body);
        assert!(
            errors.is_empty(),
            "{} answered {} with a body {what} does not allow:\n  {}\nbody: {}",
            self.what,
            self.status,
            errors.join("\n  "),
            self.body
        );
        self
    }

    /// Matches what IBKR documents for `spec_method path` with this status.
    #[track_caller]
    fn documented_as(&self, spec_method: &str, path: &str) -> &Self {
        let resp = documented_response(spec_method, path, self.status);
        self.matches_response(
            &resp,
            &format!(
                "the spec's {} {path} {}",
                spec_method.to_uppercase(),
                self.status
            ),
        )
    }

    /// Matches `#/components/responses/<name>`.
    #[track_caller]
    fn is_response(&self, name: &str) -> &Self {
        let resp = spec()["components"]["responses"]
            .get(name)
            .unwrap_or_else(|| panic!("no response {name} in openapi-subset.json"));
        self.matches_response(resp, &format!("#/components/responses/{name}"))
    }

    /// Matches `#/components/schemas/<name>`.
    #[track_caller]
    fn is_schema(&self, name: &str) -> &Self {
        let errors = schema_errors(spec(), &component_schema(name), &self.body);
        assert!(
            errors.is_empty(),
            "{} answered {} with a body #/components/schemas/{name} does not allow:\n  {}\nbody: {}",
            self.what,
            self.status,
            errors.join("\n  "),
            self.body
        );
        self
    }

    #[track_caller]
    fn has_keys_of(&self, sample: &Sample) -> &Self {
        assert_keys(&self.what, &self.body, sample);
        self
    }

    #[track_caller]
    fn field(&self, at: &str) -> &Value {
        pointer(&self.body, at, &self.what)
    }
}

/// The 401 IBKR sends when no session is logged in, documented for `path`.
#[track_caller]
fn assert_not_logged_in(a: &Answer, spec_method: &str, spec_path: Option<&str>) {
    a.expect_status(401);
    match spec_path {
        Some(p) => a.documented_as(spec_method, p),
        None => a.is_response("Unauthorized"),
    };
    a.is_schema("ProblemDetail")
        .has_keys_of(&expired_token(spec_path.unwrap_or("")));
    assert_eq!(
        a.body,
        json!({"type": "/simple", "title": "Unauthorized", "status": 401, "detail": "Access token expired"}),
        "{}",
        a.what
    );
}

/// A brokerage status (`/iserver/auth/status`, `ssodh/init`) of a live SSO session.
/// Authenticated, it has the keys of the recorded status (`with_fail`) or of the
/// recorded ssodh/init answer; not authenticated, those of the `authStatus` in the
/// real capture of a tickle with the brokerage session down (plus `fail` on the
/// status endpoint), with `connected` false unless another session competes.
#[track_caller]
fn assert_brokerage_status(a: &Answer, authenticated: bool, competing: bool, with_fail: bool) {
    a.expect_status(200).is_schema("brokerageSessionStatus");
    if authenticated {
        let sample = if with_fail {
            status_authenticated()
        } else {
            ssodh_init()
        };
        a.has_keys_of(&sample);
    } else {
        let capture = tickle_unauthenticated_recorded();
        let mut want = capture.json["iserver"]["authStatus"].clone();
        if with_fail {
            want["fail"] = json!("");
        }
        let sample = Sample {
            file: "POST_tickle__unauthenticated_captured2025.json (iserver.authStatus)",
            json: want,
        };
        a.has_keys_of(&sample);
        assert_eq!(a.field("/connected"), &json!(competing), "{}", a.what);
    }
    assert_eq!(
        a.field("/authenticated"),
        &json!(authenticated),
        "{}",
        a.what
    );
    assert_eq!(a.field("/competing"), &json!(competing), "{}", a.what);
}

/// `/iserver/auth/status` of a live SSO session.
#[track_caller]
fn assert_full_status(a: &Answer, authenticated: bool, competing: bool) {
    a.documented_as("post", "/iserver/auth/status");
    assert_brokerage_status(a, authenticated, competing, true);
    if authenticated {
        assert_eq!(a.field("/connected"), &json!(true), "{}", a.what);
    }
}

/// `/tickle` of a live SSO session: top-level keys as IBKR's example (the sanitized
/// recording lacks `ssoExpires`, `collission` and `userId`, which the 2025 capture
/// has), `iserver` as the recording.
#[track_caller]
fn assert_tickle(a: &Answer, authenticated: bool) {
    a.expect_status(200)
        .documented_as("post", "/tickle")
        .is_schema("successfulTickleResponse");
    assert_top_keys(&a.what, &a.body, &tickle_spec());
    assert_top_keys(&a.what, &a.body, &tickle_unauthenticated_recorded());
    assert_keys_at(&a.what, &a.body, "/hmds", &tickle_spec());
    if authenticated {
        assert_keys_at(&a.what, &a.body, "/iserver", &tickle_recorded());
    }
    assert_eq!(
        a.field("/iserver/authStatus/authenticated"),
        &json!(authenticated),
        "{}",
        a.what
    );
    let left = a.field("/ssoExpires").as_u64().expect("ssoExpires");
    assert!(left > 0 && left <= 300_000, "{}: ssoExpires {left}", a.what);
}

// ---------------------------------------------------------------------------------
// Tests: the spec and the fixtures themselves
// ---------------------------------------------------------------------------------

#[test]
fn subset_names_its_source() {
    let src = &raw_spec()["x-source"];
    assert_eq!(
        src["document"],
        json!("IB REST API 2.28.0, openapi-ib-rest-2.28.0.json")
    );
    assert_eq!(raw_spec()["info"]["version"], json!("2.28.0"));
    assert!(
        src["hand-written"]
            .as_str()
            .is_some_and(|s| s.contains("reauthenticate")),
        "x-source must say the reauthenticate schema is hand-written"
    );
    assert!(
        raw_spec()["paths"]["/iserver/reauthenticate"]["post"]
            .get("x-hand-written")
            .is_some()
    );
}

#[test]
fn every_ref_in_the_subset_resolves_inside_it() {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => walk(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(raw_spec(), &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let ptr = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} is not local"));
        assert!(raw_spec().pointer(ptr).is_some(), "{r} does not resolve");
    }
    // Every schema compiles.
    for name in raw_spec()["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        validator_in(spec(), &component_schema(name));
    }
}

/// Each correction is still needed (2.28.0 as extracted rejects IBKR's own example
/// without it) and sufficient (the example passes with all of them).
#[test]
fn spec_corrections_are_each_needed() {
    for (i, c) in SPEC_CORRECTIONS.iter().enumerate() {
        let (parent, key) = c.pointer.rsplit_once('/').expect("parent");
        let found = raw_spec().pointer(parent).and_then(|p| p.get(key));
        let original: Option<Value> = c.original.map(|o| serde_json::from_str(o).expect("JSON"));
        assert_eq!(
            found,
            original.as_ref(),
            "openapi-subset.json changed at {}: review the correction ({})",
            c.pointer,
            c.why
        );
        let (schema, file, text) = c.evidence;
        let example: Value = serde_json::from_str(text).expect("example is JSON");
        let without = spec_with_corrections(Some(i));
        assert!(
            !schema_errors(&without, &component_schema(schema), &example).is_empty(),
            "{file} passes {schema} without the correction at {}: it is no longer needed",
            c.pointer
        );
        let errors = schema_errors(spec(), &component_schema(schema), &example);
        assert!(
            errors.is_empty(),
            "{file} fails the corrected {schema}: {errors:?}"
        );
    }
}

/// The recordings themselves agree with the (corrected) spec.
#[test]
fn samples_match_the_spec() {
    let cases = [
        ("brokerageSessionStatus", status_authenticated()),
        ("brokerageSessionStatus", status_logged_out()),
        ("brokerageSessionStatus", ssodh_init()),
        ("tickleResponse", tickle_recorded()),
        ("tickleResponse", tickle_unauthenticated_recorded()),
        ("tickleResponse", tickle_spec()),
        ("ssoValidateResponse", sso_validate_spec()),
        ("reauthenticateResponse", reauthenticate_docs()),
        ("errorResponse", error_response_spec()),
        ("ProblemDetail", expired_token("/tickle")),
        ("ProblemDetail", expired_token("/sso/validate")),
        ("ProblemDetail", expired_token("/logout")),
        ("ProblemDetail", expired_token("/iserver/auth/ssodh/init")),
    ];
    for (schema, s) in cases {
        let errors = schema_errors(spec(), &component_schema(schema), &s.json);
        assert!(errors.is_empty(), "{} fails {schema}: {errors:?}", s.file);
    }
    let logout =
        &documented_response("post", "/logout", 200)["content"]["application/json"]["schema"];
    assert!(schema_errors(spec(), logout, &logout_spec().json).is_empty());
}

// ---------------------------------------------------------------------------------
// Tests: routes
// ---------------------------------------------------------------------------------

/// The text of `fn router` in gateway.rs.
fn router_source() -> &'static str {
    let src = include_str!("../src/gateway.rs");
    let start = src
        .find("fn router(")
        .expect("gateway.rs has no `fn router(`: update this test");
    let rest = &src[start..];
    &rest[..rest.find("\n}\n").expect("end of fn router")]
}

/// The arguments of the call whose `(` ends just before `s`.
fn call_args(s: &str) -> &str {
    let mut depth = 1;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &s[..i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced call in fn router: {s}")
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn router_routes_are_the_ones_listed_here() {
    let body = router_source();
    let mut found = BTreeSet::new();
    for (i, _) in body.match_indices(".route(") {
        let args = call_args(&body[i + ".route(".len()..]);
        let (path, handlers) = args.split_once(',').expect("route(path, handlers)");
        let path = path.trim().trim_matches('"').to_string();
        let mut any = false;
        for m in [
            "get", "post", "put", "delete", "patch", "head", "options", "trace", "any",
        ] {
            let call = format!("{m}(");
            for (j, _) in handlers.match_indices(&call) {
                let before = handlers[..j].chars().next_back();
                if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                    found.insert((m.to_uppercase(), path.clone()));
                    any = true;
                }
            }
        }
        assert!(any, "no method found in .route({args})");
    }
    let listed: BTreeSet<(String, String)> = ROUTER_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        found, listed,
        "gateway.rs router() and ROUTER_ROUTES differ: add the new endpoint to ROUTER_ROUTES \
         and COVERED in tests/schema.rs, and check its answers"
    );

    let mut composition = Vec::new();
    for call in [
        "nest",
        "merge",
        "fallback",
        "method_not_allowed_fallback",
        "route_service",
        "nest_service",
        "fallback_service",
        "route_layer",
    ] {
        let pat = format!(".{call}(");
        for (i, _) in body.match_indices(&pat) {
            composition.push((call, squash(call_args(&body[i + pat.len()..]))));
        }
    }
    composition.sort();
    let mut want: Vec<(&str, String)> = ROUTER_COMPOSITION
        .iter()
        .map(|(c, a)| (*c, a.to_string()))
        .collect();
    want.sort();
    assert_eq!(
        composition, want,
        "router() composes something new: if it brings API routes, list them in \
         ROUTER_ROUTES and COVERED in tests/schema.rs"
    );
}

#[test]
fn every_router_route_is_covered() {
    let covered: BTreeSet<(&str, &str)> = COVERED.iter().map(|r| (r.method, r.path)).collect();
    let routes: BTreeSet<(&str, &str)> = ROUTER_ROUTES.iter().copied().collect();
    assert_eq!(covered.len(), COVERED.len(), "COVERED lists a route twice");
    assert_eq!(
        covered, routes,
        "every route in ROUTER_ROUTES needs an entry in COVERED (and checks in every state)"
    );
}

/// Each route, on a fresh logged-in gateway, answers as IBKR documents it; then,
/// logged out, with the documented 401 (`/iserver/auth/status` keeps answering 200).
#[tokio::test]
async fn every_route_answers_as_documented() {
    for r in COVERED {
        let sim = Sim::start().await;
        let a = sim.call(r.method, r.path, r.body).await;
        a.expect_status(200).documented_as(r.spec_method, r.path);
        sim.gw.expire_session();
        let a = sim.call(r.method, r.path, r.body).await;
        if r.path == "/iserver/auth/status" {
            a.expect_status(200).documented_as(r.spec_method, r.path);
        } else {
            assert_not_logged_in(&a, r.spec_method, Some(r.path));
        }
    }
}

// ---------------------------------------------------------------------------------
// Tests: session states
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn logged_in() {
    let sim = Sim::start().await;

    for a in [
        sim.get("/iserver/auth/status").await,
        sim.post("/iserver/auth/status").await,
        sim.post("/iserver/auth/status/").await,
    ] {
        assert_full_status(&a, true, false);
        assert_eq!(a.field("/established"), &json!(true));
        assert_eq!(a.field("/message"), &json!(""));
        assert_eq!(a.field("/fail"), &json!(""));
    }

    for body in [
        r#"{"publish":true,"compete":true}"#,
        r#"{"publish":true,"compete":false}"#,
    ] {
        let a = sim.post_json("/iserver/auth/ssodh/init", body).await;
        a.expect_status(200)
            .documented_as("post", "/iserver/auth/ssodh/init")
            .has_keys_of(&ssodh_init());
        assert_eq!(a.field("/authenticated"), &json!(true), "{body}");
    }

    let a = sim.post("/iserver/reauthenticate").await;
    a.expect_status(200)
        .documented_as("post", "/iserver/reauthenticate")
        .has_keys_of(&reauthenticate_docs());
    assert_eq!(a.body, json!({"message": "triggered"}));

    for a in [
        sim.get("/tickle").await,
        sim.post("/tickle").await,
        sim.get("/tickle/").await,
        sim.post("/tickle/").await,
    ] {
        assert_tickle(&a, true);
    }

    for a in [
        sim.get("/sso/validate").await,
        sim.get("/sso/validate/").await,
    ] {
        a.expect_status(200)
            .documented_as("get", "/sso/validate")
            .has_keys_of(&sso_validate_spec());
        assert_eq!(a.field("/RESULT"), &json!(true));
        assert_eq!(a.field("/USER_NAME"), &json!("demo"));
    }

    let a = sim.post("/logout").await;
    a.expect_status(200)
        .documented_as("post", "/logout")
        .has_keys_of(&logout_spec());
    assert_eq!(a.body, json!({"status": true}));
    assert!(!sim.gw.state().logged_in);
}

/// Over HTTPS with the simulator's self-signed certificate (pinned).
#[tokio::test]
async fn logged_in_over_tls() {
    let sim = Sim::with(GatewayConfig::for_tests()).await;
    assert_eq!(sim.gw.url().scheme(), "https");
    assert_full_status(&sim.post("/iserver/auth/status").await, true, false);
    assert_tickle(&sim.post("/tickle").await, true);
    sim.get("/sso/validate")
        .await
        .expect_status(200)
        .documented_as("get", "/sso/validate")
        .has_keys_of(&sso_validate_spec());
    sim.post("/logout")
        .await
        .expect_status(200)
        .documented_as("post", "/logout");
    assert_not_logged_in(&sim.post("/tickle").await, "post", Some("/tickle"));
}

#[tokio::test]
async fn brokerage_dropped() {
    let sim = Sim::start().await;
    assert!(sim.gw.drop_brokerage_session());

    for a in [
        sim.get("/iserver/auth/status").await,
        sim.post("/iserver/auth/status").await,
    ] {
        assert_full_status(&a, false, false);
    }
    for a in [sim.get("/tickle").await, sim.post("/tickle").await] {
        assert_tickle(&a, false);
    }
    sim.get("/sso/validate")
        .await
        .expect_status(200)
        .documented_as("get", "/sso/validate")
        .has_keys_of(&sso_validate_spec());

    // reauthenticate brings it back.
    let a = sim.post("/iserver/reauthenticate").await;
    a.expect_status(200)
        .documented_as("post", "/iserver/reauthenticate")
        .has_keys_of(&reauthenticate_docs());
    assert_full_status(&sim.post("/iserver/auth/status").await, true, false);

    // So does ssodh/init, with or without compete.
    for body in [
        r#"{"publish":true,"compete":false}"#,
        r#"{"publish":true,"compete":true}"#,
    ] {
        assert!(sim.gw.drop_brokerage_session());
        let a = sim.post_json("/iserver/auth/ssodh/init", body).await;
        a.expect_status(200)
            .documented_as("post", "/iserver/auth/ssodh/init")
            .has_keys_of(&ssodh_init());
        assert_eq!(a.field("/authenticated"), &json!(true), "{body}");
    }

    assert!(sim.gw.drop_brokerage_session());
    sim.post("/logout")
        .await
        .expect_status(200)
        .documented_as("post", "/logout")
        .has_keys_of(&logout_spec());
}

/// The only recording of `/tickle` with the SSO session alive and the brokerage
/// session not authenticated (a real capture, Build 10.34.1f, April 2025).
#[tokio::test]
async fn brokerage_dropped_tickle_has_the_keys_of_the_capture() {
    let sim = Sim::start().await;
    assert!(sim.gw.drop_brokerage_session());
    let a = sim.post("/tickle").await;
    assert_tickle(&a, false);
    assert_keys(&a.what, &a.body, &tickle_unauthenticated_recorded());
}

#[tokio::test]
async fn competing_session() {
    let sim = Sim::start().await;
    assert!(sim.gw.start_competing_session());

    let status = sim.post("/iserver/auth/status").await;
    assert_full_status(&status, false, true);
    assert_full_status(&sim.get("/iserver/auth/status").await, false, true);

    for a in [sim.get("/tickle").await, sim.post("/tickle").await] {
        assert_tickle(&a, false);
        assert_eq!(a.field("/iserver/authStatus/competing"), &json!(true));
        // As in the recordings: the tickle's authStatus is the status without `fail`.
        let mut want = status.body.clone();
        want.as_object_mut().expect("object").remove("fail");
        let got = a.field("/iserver/authStatus");
        let mut diffs = Vec::new();
        key_diffs("/iserver/authStatus", got, &want, true, &mut diffs);
        assert!(diffs.is_empty(), "{diffs:?}");
    }
    sim.get("/sso/validate")
        .await
        .expect_status(200)
        .documented_as("get", "/sso/validate")
        .has_keys_of(&sso_validate_spec());

    // reauthenticate leaves a competing session alone...
    sim.post("/iserver/reauthenticate")
        .await
        .expect_status(200)
        .documented_as("post", "/iserver/reauthenticate")
        .has_keys_of(&reauthenticate_docs());
    assert_full_status(&sim.post("/iserver/auth/status").await, false, true);

    // ...as does ssodh/init without compete; with compete it takes over.
    let a = sim
        .post_json(
            "/iserver/auth/ssodh/init",
            r#"{"publish":true,"compete":false}"#,
        )
        .await;
    a.documented_as("post", "/iserver/auth/ssodh/init");
    assert_brokerage_status(&a, false, true, false);
    let a = sim
        .post_json(
            "/iserver/auth/ssodh/init",
            r#"{"publish":true,"compete":true}"#,
        )
        .await;
    a.expect_status(200)
        .documented_as("post", "/iserver/auth/ssodh/init")
        .has_keys_of(&ssodh_init());
    assert_eq!(a.field("/authenticated"), &json!(true));
    assert_eq!(a.field("/competing"), &json!(false));

    assert!(sim.gw.start_competing_session());
    sim.post("/logout")
        .await
        .expect_status(200)
        .documented_as("post", "/logout")
        .has_keys_of(&logout_spec());
}

/// Never logged in, logged out, timed out: the same answers.
#[tokio::test]
async fn logged_out() {
    for how in ["never logged in", "after /logout", "after an idle timeout"] {
        let sim = match how {
            "never logged in" => {
                Sim::with(GatewayConfig::for_tests().tls(false).auto_login(false)).await
            }
            _ => Sim::start().await,
        };
        match how {
            "after /logout" => {
                sim.post("/logout").await.expect_status(200);
            }
            "after an idle timeout" => sim.gw.expire_session(),
            _ => {}
        }
        assert!(!sim.gw.state().logged_in, "{how}");

        for a in [
            sim.get("/iserver/auth/status").await,
            sim.post("/iserver/auth/status").await,
            sim.post("/iserver/auth/status/").await,
        ] {
            a.expect_status(200)
                .documented_as("post", "/iserver/auth/status")
                .has_keys_of(&status_logged_out());
            for k in ["/authenticated", "/competing", "/connected"] {
                assert_eq!(a.field(k), &json!(false), "{how}: {} {k}", a.what);
            }
        }

        let cases = [
            ("POST", "/tickle", "post", "/tickle", None),
            ("GET", "/tickle", "post", "/tickle", None),
            ("POST", "/tickle/", "post", "/tickle", None),
            ("GET", "/tickle/", "post", "/tickle", None),
            ("GET", "/sso/validate", "get", "/sso/validate", None),
            ("POST", "/logout", "post", "/logout", None),
            (
                "POST",
                "/iserver/reauthenticate",
                "post",
                "/iserver/reauthenticate",
                None,
            ),
            (
                "POST",
                "/iserver/auth/ssodh/init",
                "post",
                "/iserver/auth/ssodh/init",
                Some(r#"{"publish":true,"compete":true}"#),
            ),
            (
                "POST",
                "/iserver/auth/ssodh/init",
                "post",
                "/iserver/auth/ssodh/init",
                Some(r#"{"publish":true,"compete":false}"#),
            ),
        ];
        for (method, path, spec_method, spec_path, body) in cases {
            let a = sim.call(method, path, body).await;
            assert_not_logged_in(&a, spec_method, Some(spec_path));
        }
    }
}

// ---------------------------------------------------------------------------------
// Tests: unknown paths and errors
// ---------------------------------------------------------------------------------

/// `/iserver/*` needs the brokerage session: without it, IBKR's
/// `{"error":"not authenticated","statusCode":401}`.
#[tokio::test]
async fn unknown_paths_without_brokerage_session() {
    let sim = Sim::start().await;
    for setup in ["dropped", "competing"] {
        match setup {
            "dropped" => assert!(sim.gw.drop_brokerage_session()),
            _ => assert!(sim.gw.start_competing_session()),
        }
        for a in [
            sim.get("/iserver/accounts").await,
            sim.post("/iserver/account/orders").await,
        ] {
            a.expect_status(401)
                .is_schema("errorResponse")
                .has_keys_of(&error_response_spec());
            assert_eq!(a.media, "application/json", "{setup}: {}", a.what);
            assert_eq!(
                a.body,
                json!({"error": "not authenticated", "statusCode": 401}),
                "{setup}: {}",
                a.what
            );
        }
    }
}

#[tokio::test]
async fn unknown_paths_logged_in_and_out() {
    let sim = Sim::start().await;
    for path in ["/iserver/nope", "/portfolio/nope"] {
        let a = sim.get(path).await;
        a.expect_status(404)
            .is_schema("errorResponse")
            .has_keys_of(&error_response_spec());
        assert_eq!(a.field("/statusCode"), &json!(404));
    }
    sim.gw.expire_session();
    for path in ["/iserver/accounts", "/portfolio/accounts", "/nope"] {
        assert_not_logged_in(&sim.get(path).await, "get", None);
        assert_not_logged_in(&sim.post(path).await, "post", None);
    }
}

#[tokio::test]
async fn ssodh_init_errors() {
    let sim = Sim::start().await;

    // publish:false: 500, as IBKR's docs say.
    let a = sim
        .post_json(
            "/iserver/auth/ssodh/init",
            r#"{"publish":false,"compete":true}"#,
        )
        .await;
    a.expect_status(500)
        .documented_as("post", "/iserver/auth/ssodh/init")
        .is_schema("errorOnlyResponse")
        .is_schema("errorResponse")
        .has_keys_of(&error_response_spec());
    assert_eq!(a.field("/statusCode"), &json!(500));

    // No body: 400. IBKR documents no 400 for ssodh/init; the /iserver family
    // documents errorResponse (IServerAccountBadRequest).
    let a = sim.post("/iserver/auth/ssodh/init").await;
    a.expect_status(400)
        .is_response("IServerAccountBadRequest")
        .has_keys_of(&error_response_spec());
    assert_eq!(a.field("/statusCode"), &json!(400));

    // Injected outages: the documented 500 and 503 bodies.
    for status in [500, 503] {
        sim.gw.inject_fault(Fault::on(
            "/iserver/auth/ssodh/init",
            FaultKind::Status { status },
        ));
        let a = sim
            .post_json(
                "/iserver/auth/ssodh/init",
                r#"{"publish":true,"compete":true}"#,
            )
            .await;
        a.expect_status(status)
            .documented_as("post", "/iserver/auth/ssodh/init")
            .is_schema("errorResponse")
            .has_keys_of(&error_response_spec());
    }
}

/// The gateway's own checks answer before any endpoint (plain text: the spec
/// documents no body for them).
#[tokio::test]
async fn requests_without_user_agent_or_length_are_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = Sim::start().await;
    let addr = sim.gw.local_addr();
    for (request, want) in [
        (
            "GET /v1/api/tickle HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 403",
        ),
        (
            "POST /v1/api/tickle HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 411",
        ),
        (
            "POST /v1/api/tickle HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200",
        ),
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(request.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with(want), "{request:?} got {out:?}");
    }
}

/// `/iserver/accounts`: the recording's keys (the advisor-only and feature flags it
/// lists are compared at the top level only: they vary by account), the spec's
/// schema, and 401 without the brokerage session.
#[tokio::test]
async fn accounts() {
    let sim = Sim::start().await;
    let a = sim.get("/iserver/accounts").await;
    a.expect_status(200)
        .documented_as("get", "/iserver/accounts")
        .is_schema("userAccountsResponse");
    assert_top_keys(&a.what, &a.body, &accounts_recorded());
    assert_keys_at(&a.what, &a.body, "/serverInfo", &accounts_recorded());
    assert_eq!(a.field("/selectedAccount"), &json!("DU1234567"));
    assert_eq!(a.field("/isPaper"), &json!(true));

    assert!(sim.gw.drop_brokerage_session());
    let a = sim.get("/iserver/accounts").await;
    a.expect_status(401);
    assert_eq!(
        a.body,
        json!({"error": "not authenticated", "statusCode": 401})
    );
}
