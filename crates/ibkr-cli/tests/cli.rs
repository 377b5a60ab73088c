//! The `ibkr` binary end to end: the simulator it serves, the auth commands against
//! it, the login wait, and the demo.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn ibkr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ibkr"));
    c.env_remove("IBKR_GATEWAY").env_remove("RUST_LOG");
    c
}

fn run(args: &[&str]) -> Output {
    ibkr().args(args).output().expect("ibkr runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `ibkr sim serve` as a child process; stopped with Ctrl-C (SIGINT) on drop.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let mut child = ibkr()
            .args(["sim", "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ibkr sim serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("https://127.0.0.1:"),
            "first line is the URL: {url:?}"
        );
        Served { child, url }
    }

    fn interrupt(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("ibkr sim serve did not stop on Ctrl-C");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "failed: {}\n{}", stdout(o), stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn version_and_help() {
    let o = run(&["--version"]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("ibkr "), "{}", stdout(&o));
    let o = run(&["--help"]);
    for cmd in ["auth", "login", "sim", "demo"] {
        assert!(stdout(&o).contains(cmd), "help lists {cmd}");
    }
}

#[test]
fn auth_commands_against_a_served_simulator() {
    let mut sim = Served::start(&["--auto-login"]);
    let g = sim.url.clone();
    let auth = |cmd: &[&str]| {
        let mut args = vec!["--gateway", g.as_str(), "--json", "auth"];
        args.extend_from_slice(cmd);
        run(&args)
    };

    let s = json(&auth(&["status"]));
    assert_eq!(s["authenticated"], true);
    assert_eq!(s["fail"], "");
    let t = json(&auth(&["tickle"]));
    assert_eq!(t["iserver"]["authStatus"]["authenticated"], true);
    assert_eq!(t["collission"], false);
    let v = json(&auth(&["sso"]));
    assert_eq!(v["USER_NAME"], "demo");
    let i = json(&auth(&["init", "--compete"]));
    assert_eq!(i["authenticated"], true);
    let r = json(&auth(&["reauth"]));
    assert_eq!(r["outcome"], "already authenticated");

    // Human output is aligned text.
    let o = run(&["--gateway", &g, "auth", "status"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("authenticated  yes"), "{}", stdout(&o));

    let l = json(&auth(&["logout"]));
    assert_eq!(l["status"], true);
    let s = json(&auth(&["status"]));
    assert_eq!(s["authenticated"], false);

    // After logout, session calls fail with a message that says what to do.
    let o = auth(&["tickle"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("log in at"), "{}", stderr(&o));

    assert!(
        sim.interrupt().success(),
        "Ctrl-C stops the simulator cleanly"
    );
}

#[test]
fn gateway_from_the_environment_and_clear_errors() {
    let sim = Served::start(&["--auto-login"]);
    let o = ibkr()
        .env("IBKR_GATEWAY", &sim.url)
        .args(["--json", "auth", "status"])
        .output()
        .unwrap();
    assert_eq!(json(&o)["authenticated"], true);

    let o = run(&["--gateway", "ftp://nowhere", "auth", "status"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("scheme must be https"),
        "{}",
        stderr(&o)
    );

    let o = run(&[
        "--gateway",
        &sim.url,
        "--pin-sha256",
        "abcd",
        "auth",
        "status",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a SHA-256 fingerprint"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn login_times_out_with_a_clear_message() {
    let sim = Served::start(&[]);
    let o = run(&[
        "--gateway",
        &sim.url,
        "login",
        "--timeout",
        "1",
        "--no-browser",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains(&format!("Log in at {}", sim.url)), "{err}");
    assert!(err.contains("not logged in after 1s"), "{err}");
}

#[tokio::test]
async fn login_waits_until_the_gateway_is_logged_in() {
    let gw = ibkr_sim::Gateway::start(ibkr_sim::GatewayConfig::for_tests().auto_login(false))
        .await
        .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ibkr"))
        .args([
            "--gateway",
            gw.url().as_str(),
            "--json",
            "login",
            "--timeout",
            "60",
            "--no-browser",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting for the login"
    );
    gw.login();
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("login notices the session")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["authenticated"], true);
}

#[test]
fn the_simulator_refuses_bad_options() {
    let o = run(&["sim", "serve", "--allow", "300.*"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--allow"), "{}", stderr(&o));
}

#[test]
fn the_demo_walks_through_the_session() {
    let o = run(&["demo"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    for step in [
        "[1/12] Check the authentication status",
        "[2/12] Ping the server",
        "[3/12] Validate the SSO session",
        "keeper: brokerage session down",
        "a brokerage call now fails: GET /iserver/accounts: no brokerage session",
        "outcome: reauthenticated",
        "[8/12] Find a contract",
        "AAPL is conid 265598",
        "[9/12] Quote it",
        "[10/12] Its history",
        "[11/12] The paper account",
        "DU1234567: net liquidation",
        "[12/12] End the session",
        "a tickle now fails: POST /tickle: not authenticated",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
}

#[test]
fn a_flood_gets_429s_but_ibkr_driven_the_same_way_never_does() {
    let sim = Served::start(&["--auto-login", "--pacing", "ibkr", "--penalty", "5"]);
    // `ibkr` in a shell-like loop: separate processes share their turns, so none is
    // refused.
    for i in 0..25 {
        let o = run(&["--gateway", &sim.url, "--json", "auth", "status"]);
        assert!(o.status.success(), "run {i}: {}{}", stdout(&o), stderr(&o));
        assert!(!stderr(&o).contains("429"), "run {i}: {}", stderr(&o));
    }
    // The same loop without pacing floods the gateway, as curl in a loop would.
    let mut limited = 0;
    for _ in 0..25 {
        let o = run(&["--gateway", &sim.url, "--pacing", "off", "auth", "status"]);
        if stderr(&o).contains("HTTP 429") {
            limited += 1;
        }
    }
    assert!(limited > 0, "an unpaced flood should be refused");
}

#[test]
fn market_commands_against_a_served_simulator() {
    let sim = Served::start(&["--auto-login"]);
    let g = sim.url.clone();
    let cmd = |args: &[&str]| {
        let mut all = vec!["--gateway", g.as_str()];
        all.extend_from_slice(args);
        run(&all)
    };

    let s = json(&cmd(&["--json", "search", "AAPL"]));
    assert_eq!(s[0]["conid"], "265598");
    let i = json(&cmd(&["--json", "contract", "info", "AAPL"]));
    assert_eq!(i["con_id"], 265598);

    // Quotes: one JSON line per row, values included after the pre-flight.
    let o = cmd(&["--json", "quote", "AAPL", "SPY", "--fields", "last,bid,ask"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.get("31").is_some()), "{rows:?}");

    let o = cmd(&["history", "AAPL", "--period", "1w", "--bar", "1d", "--csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    assert!(
        csv.starts_with("time,open,high,low,close,volume\n"),
        "{csv}"
    );
    assert!(csv.lines().count() >= 4, "{csv}");

    let fx = json(&cmd(&["--json", "fx", "EUR", "USD"]));
    assert!(fx["rate"].as_f64().unwrap() > 0.5);

    let chain = json(&cmd(&["--json", "chain", "AAPL", "--strikes", "2"]));
    assert_eq!(chain.as_array().unwrap().len(), 4, "{chain}");

    let o = cmd(&["schedule", "AAPL"]);
    assert!(stdout(&o).contains("times in US/Eastern"), "{}", stdout(&o));
    assert!(stdout(&o).contains("09:30-16:00"), "{}", stdout(&o));

    let o = cmd(&["quote", "NOSUCH"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no STK NOSUCH found"), "{}", stderr(&o));

    // Bulk history into a directory.
    let dir = std::env::temp_dir().join(format!("ibkr-bulk-{}", std::process::id()));
    let list = dir.with_extension("txt");
    std::fs::write(&list, "AAPL\nSPY\n# a comment\n8314\n").unwrap();
    let o = cmd(&[
        "history",
        "--symbols-file",
        list.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--period",
        "1w",
        "--bar",
        "1d",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["AAPL.csv", "SPY.csv", "8314.csv"] {
        assert!(dir.join(f).exists(), "{f} written");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&list);
}

#[test]
fn the_benchmarks_run_against_their_embedded_simulator() {
    for args in [
        &[
            "--json", "bench", "pacing", "--class", "snapshot", "-n", "5",
        ][..],
        &["--json", "bench", "history", "-n", "5"][..],
        &["--json", "bench", "decode", "-n", "1000"][..],
    ] {
        let v = json(&run(args));
        for key in ["rate_limited", "other_errors", "failed"] {
            if let Some(n) = v.get(key) {
                assert_eq!(n, 0, "{args:?}: {v}");
            }
        }
    }
}

#[test]
fn portfolio_commands_against_a_served_simulator() {
    let sim = Served::start(&["--auto-login"]);
    let g = sim.url.clone();
    let cmd = |args: &[&str]| {
        let mut all = vec!["--gateway", g.as_str()];
        all.extend_from_slice(args);
        run(&all)
    };
    let a = json(&cmd(&["--json", "accounts"]));
    assert_eq!(a[0]["accountId"], "DU1234567");
    let s = json(&cmd(&["--json", "summary"]));
    assert!(
        s["netliquidation"]["amount"].as_f64().unwrap() > 1_000_000.0,
        "{s}"
    );
    let l = json(&cmd(&["--json", "ledger", "--account", "DU1234567"]));
    assert!(l.get("BASE").is_some(), "{l}");
    let p = json(&cmd(&["--json", "positions"]));
    assert!(!p.as_array().unwrap().is_empty());
    let o = cmd(&["positions"]);
    assert!(stdout(&o).contains("DU1234567:"), "{}", stdout(&o));
    let al = json(&cmd(&["--json", "allocation"]));
    assert!(
        al["assetClass"]["long"]["CASH"].as_f64().unwrap() > 0.0,
        "{al}"
    );
    let o = cmd(&["allocation"]);
    assert!(stdout(&o).contains("asset class"), "{}", stdout(&o));
    let o = ibkr()
        .env("IBKR_ACCOUNT", "DU0000000")
        .args(["--gateway", &g, "summary"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("accountId is not valid"),
        "{}",
        stderr(&o)
    );
}
