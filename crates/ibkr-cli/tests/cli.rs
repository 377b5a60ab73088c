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
        "[1/18] Check the authentication status",
        "[2/18] Ping the server",
        "[3/18] Validate the SSO session",
        "keeper: brokerage session down",
        "a brokerage call now fails: GET /iserver/accounts: no brokerage session",
        "outcome: reauthenticated",
        "[8/18] Find a contract",
        "AAPL is conid 265598",
        "[9/18] Quote it",
        "[10/18] Its history",
        "[11/18] A few seconds of live quotes",
        "updates in 2 s",
        "[12/18] The paper account",
        "DU1234567: net liquidation",
        "[13/18] Place a limit order: IBKR asks a question first",
        "IBKR asks (o163):",
        "Percentage constraint of 3%",
        "[14/18] Confirm it, and wait for the fill",
        "Filled: Bought 10 AAPL Limit",
        "[15/18] The same order on the stream",
        "sor: order ",
        "[16/18] The new position",
        "(was ",
        "[17/18] The trade",
        "Bot 10 @",
        "[18/18] End the session",
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
    let sw = json(&cmd(&["--json", "account", "switch", "DU1234567"]));
    assert_eq!(sw["success"], "Account already set", "{sw}");
    let o = cmd(&["account", "switch", "DU0000000"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("does not know this account"),
        "{}",
        stderr(&o)
    );
    let o = cmd(&["account", "balances"]);
    assert!(stdout(&o).contains("netLiquidationValue"), "{}", stdout(&o));
    let pnl = json(&cmd(&["--json", "pnl"]));
    let row = &pnl["upnl"]["DU1234567.Core"];
    assert!(row["nl"].as_f64().unwrap() > 1_000_000.0, "{pnl}");
    let o = cmd(&["pnl"]);
    assert!(stdout(&o).contains("DU1234567.Core"), "{}", stdout(&o));
    let o = cmd(&["performance", "--period", "1Y"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text.contains("cumulative return"), "{text}");
    assert!(text.contains("start NAV"), "{text}");
    let o = cmd(&["performance", "--period", "2W"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown period"), "{}", stderr(&o));
    let o = cmd(&["positions", "--sort", "mktValue", "--desc"]);
    assert!(o.status.success(), "{}", stderr(&o));
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

// ---------------------------------------------------------------------------------------
// Orders

/// A simulated gateway in this process whose market clock starts on a Wednesday at
/// 10:00 New York, so that orders fill whatever the wall clock says; `ibkr` runs
/// against it as a child process, without rate limits on either side.
struct OpenMarket {
    gw: ibkr_sim::Gateway,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

impl OpenMarket {
    fn start() -> OpenMarket {
        use chrono::TimeZone;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 18, 15, 0, 0)
            .unwrap();
        let gw = runtime
            .block_on(ibkr_sim::Gateway::start(
                ibkr_sim::GatewayConfig::for_tests().market_time(at),
            ))
            .unwrap();
        let url = gw.url().to_string();
        OpenMarket {
            gw,
            url,
            _runtime: runtime,
        }
    }

    fn ibkr(&self, args: &[&str]) -> Output {
        let mut all = vec!["--gateway", self.url.as_str(), "--pacing", "off"];
        all.extend_from_slice(args);
        run(&all)
    }

    /// The simulator's orders with this cOID.
    fn book(&self, coid: &str) -> Vec<ibkr_sim::matching::Order> {
        self.gw
            .orders()
            .into_iter()
            .filter(|o| o.coid == coid)
            .collect()
    }

    /// The last price of AAPL (the snapshot also opens its market-data stream, so no
    /// "without market data" prompt comes after it).
    fn aapl_last(&self) -> f64 {
        let o = self.ibkr(&["--json", "quote", "AAPL", "--fields", "last"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let row: Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
        row["31"]
            .as_str()
            .unwrap()
            .trim_start_matches('C')
            .parse()
            .unwrap()
    }

    fn aapl_position(&self) -> f64 {
        let p = json(&self.ibkr(&["--json", "positions"]));
        p.as_array()
            .unwrap()
            .iter()
            .find(|x| x["conid"] == 265598)
            .map(|x| x["position"].as_f64().unwrap())
            .unwrap_or(0.0)
    }
}

/// A price `pct` percent away from `p`, on the cent, as text.
fn away(p: f64, pct: f64) -> String {
    format!("{:.2}", p * (100.0 + pct) / 100.0)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn placed_ids(v: &Value) -> Vec<String> {
    assert_eq!(v["outcome"], "placed", "{v}");
    v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].to_string())
        .collect()
}

#[test]
fn an_order_is_previewed_refused_without_a_terminal_and_placed_with_yes() {
    let m = OpenMarket::start();
    let before = m.aapl_position();

    // A preview places nothing.
    let o = m.ibkr(&[
        "--json", "order", "buy", "AAPL", "10", "--limit", "150", "--whatif",
    ]);
    let p = json(&o);
    assert!(p["amount"]["commission"].is_string(), "{p}");
    assert!(
        stderr(&o).contains("previewing in DU1234567: BUY 10 AAPL LMT 150 DAY"),
        "{}",
        stderr(&o)
    );
    let o = m.ibkr(&["order", "buy", "AAPL", "10", "--limit", "150", "--whatif"]);
    assert!(stdout(&o).contains("nothing was placed"), "{}", stdout(&o));
    assert!(stdout(&o).contains("commission"), "{}", stdout(&o));
    assert!(m.gw.orders().is_empty());

    // No market data yet: IBKR asks; without a terminal the prompt is refused.
    let o = m.ibkr(&[
        "order",
        "buy",
        "AAPL",
        "10",
        "--limit",
        "150",
        "--coid",
        "cli-no-tty",
    ]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("IBKR asks (o354; reply id "), "{err}");
    assert!(
        err.contains("You are submitting an order without market data"),
        "{err}"
    );
    assert!(err.contains("Order cli-no-tty was not placed"), "{err}");
    assert!(err.contains("--accept o354 (or --yes)"), "{err}");
    assert!(m.book("cli-no-tty").is_empty(), "declined: nothing placed");
    // The same as JSON.
    let o = m.ibkr(&["--json", "order", "buy", "AAPL", "10"]);
    assert_eq!(code(&o), 3);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "not_confirmed", "{v}");
    assert_eq!(v["prompts"][0], "o354");
    assert_eq!(v["reply_id"].as_str().unwrap().len(), 36, "{v}");
    assert!(m.gw.orders().is_empty());

    // --yes confirms every prompt: a market order in regular hours fills.
    let o = m.ibkr(&["--json", "order", "buy", "AAPL", "10", "--yes"]);
    let v = json(&o);
    assert_eq!(placed_ids(&v).len(), 1);
    assert_eq!(v["orders"][0]["status"], "Filled", "{v}");
    assert!(stderr(&o).contains("confirmed (--yes)"), "{}", stderr(&o));
    let coid = v["orders"][0]["coid"].as_str().unwrap().to_string();
    let book = m.book(&coid);
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].filled.to_string(), "10");

    // --accept confirms the prompts named: a buy limit 5 % above the market is
    // marketable but beyond the 3 % price constraint.
    let last = m.aapl_last();
    let limit = away(last, 5.0);
    let o = m.ibkr(&[
        "--json",
        "order",
        "buy",
        "AAPL",
        "3",
        "--limit",
        &limit,
        "--accept",
        "o163",
        "--coid",
        "cli-accept-1",
    ]);
    let v = json(&o);
    assert_eq!(placed_ids(&v).len(), 1);
    assert!(
        stderr(&o).contains("Percentage constraint of 3%"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("confirmed (--accept)"),
        "{}",
        stderr(&o)
    );
    let mut filled = false;
    for _ in 0..40 {
        if m.book("cli-accept-1")[0].filled.to_string() == "3" {
            filled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(filled, "{:?}", m.book("cli-accept-1"));
    assert_eq!(m.aapl_position(), before + 13.0);

    // A prompt id that is not one is refused before anything is sent.
    let o = m.ibkr(&["order", "buy", "AAPL", "1", "--accept", "yes"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("prompt id"), "{}", stderr(&o));
    // So is an order the library refuses.
    let o = m.ibkr(&["order", "buy", "AAPL", "0", "--yes"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not positive"), "{}", stderr(&o));
    assert_eq!(m.gw.orders().len(), 2);
}

#[test]
fn a_prompt_is_answered_at_the_terminal() {
    // `script` runs `ibkr` on a pseudo-terminal and types the answers.
    let m = OpenMarket::start();
    let line = |coid: &str| {
        format!(
            "{} --gateway {} --pacing off order buy MSFT 1 --limit 1 --coid {coid}",
            env!("CARGO_BIN_EXE_ibkr"),
            m.url
        )
    };
    let at_terminal = |cmd: String, answers: &str| {
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    // Two questions (no market data; the price far from the market): y, y.
    let o = at_terminal(line("cli-tty-yes"), "y\ny\n");
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    assert_eq!(text.matches("Confirm? [y/N]").count(), 2, "{text}");
    assert!(text.contains("placed:"), "{text}");
    assert_eq!(m.book("cli-tty-yes").len(), 1);
    // Answered no: declined, nothing placed.
    let o = at_terminal(line("cli-tty-no"), "n\n");
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("Order cli-tty-no was not placed"),
        "{}",
        stdout(&o)
    );
    assert!(m.book("cli-tty-no").is_empty());
}

#[test]
fn working_orders_are_listed_inspected_modified_and_cancelled() {
    let m = OpenMarket::start();
    let rest = |coid: &str| {
        let v = json(&m.ibkr(&[
            "--json",
            "order",
            "buy",
            "AAPL",
            "4",
            "--limit",
            "1",
            "--tif",
            "gtc",
            "--accept",
            "o354,o163",
            "--coid",
            coid,
        ]));
        assert_eq!(v["orders"][0]["status"], "Submitted", "{v}");
        placed_ids(&v).remove(0)
    };
    let id = rest("cli-rest-1");

    // The live orders, as JSON and as a table.
    let live = json(&m.ibkr(&["--json", "orders"]));
    let mine = live["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_ref"] == "cli-rest-1")
        .cloned()
        .expect("listed");
    assert_eq!(mine["orderId"].to_string(), id);
    assert_eq!(mine["status"], "Submitted");
    let o = m.ibkr(&["orders"]);
    assert!(stdout(&o).contains("cli-rest-1"), "{}", stdout(&o));
    assert!(stdout(&o).contains("Submitted"), "{}", stdout(&o));

    // Its status.
    let s = json(&m.ibkr(&["--json", "order", "status", &id]));
    assert_eq!(s["order_status"], "Submitted");
    assert_eq!(s["tif"], "GTC");
    let o = m.ibkr(&["order", "status", &id]);
    assert!(
        stdout(&o).contains("Buy 4 AAPL Limit 1.00, GTC"),
        "{}",
        stdout(&o)
    );

    // Modified: the ticket repeats the order with the new price.
    let o = m.ibkr(&["order", "modify", &id, "--limit", "1.5", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("modified: order {id}")),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("BUY 4 AAPL LMT 1.5 GTC"),
        "{}",
        stderr(&o)
    );
    let book = m.book("cli-rest-1");
    assert_eq!(book.len(), 1, "modified in place");
    assert!(
        matches!(book[0].kind, ibkr_sim::matching::OrderKind::Limit(p) if p.to_string() == "1.5"),
        "{:?}",
        book[0].kind
    );
    // The new size is still far from the market: refused without a terminal...
    let o = m.ibkr(&["order", "modify", &id, "--qty", "6"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("was not modified"), "{}", stderr(&o));
    assert_eq!(m.book("cli-rest-1")[0].quantity.to_string(), "4");
    // ... and made with --accept.
    let o = m.ibkr(&[
        "--json", "order", "modify", &id, "--qty", "6", "--accept", "o163",
    ]);
    assert_eq!(json(&o)["outcome"], "modified");
    assert_eq!(m.book("cli-rest-1")[0].quantity.to_string(), "6");
    let s = json(&m.ibkr(&["--json", "order", "status", &id]));
    assert_eq!(s["total_size"], "6.0");
    // Nothing to change, or a price the order does not have: refused locally.
    let o = m.ibkr(&["order", "modify", &id]);
    assert!(stderr(&o).contains("nothing to change"), "{}", stderr(&o));
    let o = m.ibkr(&["order", "modify", &id, "--stop", "2"]);
    assert!(stderr(&o).contains("has no stop price"), "{}", stderr(&o));

    // Cancelled.
    let o = m.ibkr(&["--json", "order", "cancel", &id]);
    let v = json(&o);
    assert_eq!(v["outcome"], "cancel_requested");
    assert_eq!(v["status"], "Cancelled", "{v}");
    let o = m.ibkr(&["order", "cancel", &id]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already cancelled"), "{}", stderr(&o));
    let o = m.ibkr(&["order", "modify", &id, "--limit", "2"]);
    assert!(
        stderr(&o).contains("can no longer be modified"),
        "{}",
        stderr(&o)
    );

    // Cancel --all: two resting orders and a bracket, whose children go with it.
    rest("cli-rest-2");
    rest("cli-rest-3");
    let b = json(&m.ibkr(&[
        "--json",
        "order",
        "bracket",
        "buy",
        "AAPL",
        "2",
        "--limit",
        "1",
        "--take-profit",
        "2",
        "--stop-loss",
        "0.5",
        "--yes",
        "--coid",
        "cli-br",
    ]));
    assert_eq!(placed_ids(&b).len(), 3);
    let rows = json(&m.ibkr(&["--json", "order", "cancel", "--all"]));
    let outcomes: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == "cancel_requested")
            .count(),
        3,
        "{rows}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "with_parent").count(),
        2,
        "{rows}"
    );
    let working = json(&m.ibkr(&["--json", "orders", "--working"]));
    assert!(
        working["orders"].as_array().unwrap().is_empty(),
        "{working}"
    );
    assert!(m.gw.orders().iter().all(|o| !o.is_working()));
    let o = m.ibkr(&["order", "cancel", "--all"]);
    assert!(stdout(&o).contains("no working orders"), "{}", stdout(&o));

    // --watch refreshes until Ctrl-C.
    let mut child = ibkr()
        .args(["--gateway", &m.url, "--pacing", "off", "orders", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("order(s)") {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains("Ctrl-C to stop"), "{seen}");
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bracket_and_the_trades() {
    let m = OpenMarket::start();
    let last = m.aapl_last();
    let b = json(&m.ibkr(&[
        "--json",
        "order",
        "bracket",
        "buy",
        "AAPL",
        "10",
        "--limit",
        &away(last, -10.0),
        "--take-profit",
        &away(last, 10.0),
        "--stop-loss",
        &away(last, -20.0),
        "--yes",
        "--coid",
        "cli-bracket",
    ]));
    let statuses: Vec<&str> = b["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["Submitted", "PreSubmitted", "PreSubmitted"],
        "{b}"
    );
    let parent = &m.book("cli-bracket")[0];
    for child in ["cli-bracket-tp", "cli-bracket-sl"] {
        let c = &m.book(child)[0];
        assert_eq!(c.parent, Some(parent.id), "{child}");
        assert_eq!(c.side, ibkr_sim::broker::Side::Sell, "{child}");
    }
    // Exits on the wrong side of the entry: refused before anything is sent.
    let o = m.ibkr(&[
        "order",
        "bracket",
        "buy",
        "AAPL",
        "10",
        "--limit",
        "100",
        "--take-profit",
        "90",
        "--stop-loss",
        "80",
        "--yes",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("must be below the take-profit"),
        "{}",
        stderr(&o)
    );
    assert_eq!(m.gw.orders().len(), 3);

    // A sale that fills, then its execution.
    let v = json(&m.ibkr(&[
        "--json",
        "order",
        "sell",
        "AAPL",
        "5",
        "--yes",
        "--coid",
        "cli-sell-1",
    ]));
    let id = placed_ids(&v).remove(0);
    let trades = json(&m.ibkr(&["--json", "trades"]));
    let mine: Vec<&Value> = trades
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["order_ref"] == "cli-sell-1")
        .collect();
    assert!(!mine.is_empty(), "{trades}");
    let size: f64 = mine.iter().map(|t| t["size"].as_f64().unwrap()).sum();
    assert_eq!(size, 5.0);
    assert_eq!(mine[0]["side"], "S");
    assert_eq!(mine[0]["order_id"].to_string(), id);
    let o = m.ibkr(&["trades", "--days", "3"]);
    assert!(stdout(&o).contains("cli-sell-1"), "{}", stdout(&o));
    let o = m.ibkr(&["trades", "--days", "9"]);
    assert!(!o.status.success(), "IBKR allows 7 days at most");
}

#[test]
fn an_unknown_outcome_names_the_coid_and_is_never_resent() {
    let m = OpenMarket::start();
    let last = m.aapl_last();
    let place_path = "/iserver/account/DU1234567/orders";

    // The gateway answers 503 without placing anything: the outcome cannot be known,
    // the order is looked up by its cOID, not found, and not sent again.
    m.gw.inject_fault(ibkr_sim::Fault::on(
        place_path,
        ibkr_sim::FaultKind::Status { status: 503 },
    ));
    let o = m.ibkr(&[
        "order",
        "buy",
        "AAPL",
        "7",
        "--limit",
        &away(last, -1.0),
        "--coid",
        "cli-lost",
    ]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("The outcome of order cli-lost is unknown"),
        "{err}"
    );
    assert!(err.contains("Do NOT place it again"), "{err}");
    assert!(err.contains("`ibkr orders`"), "{err}");
    assert!(m.gw.orders().is_empty(), "never resent");

    // The answer is lost after the order was placed: found by its cOID, exactly once.
    m.gw.inject_fault(ibkr_sim::Fault::on(place_path, ibkr_sim::FaultKind::Drop));
    let v = json(&m.ibkr(&[
        "--json",
        "order",
        "buy",
        "AAPL",
        "7",
        "--limit",
        &away(last, -1.0),
        "--coid",
        "cli-found",
    ]));
    assert_eq!(placed_ids(&v).len(), 1);
    assert_eq!(v["orders"][0]["recovered"], true, "{v}");
    assert_eq!(m.book("cli-found").len(), 1);
    assert_eq!(m.gw.orders().len(), 1);
}

#[test]
fn oauth_credentials_an_oauth_simulator_and_headless_commands() {
    let dir = std::env::temp_dir().join(format!("ibkr-cli-oauth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();

    // The portal's files, once; a second run refuses to overwrite them.
    let v = json(&run(&["--json", "sim", "oauth-credentials", "--out", d]));
    assert_eq!(v["consumer_key"], "SIMCONS01");
    let client_toml = v["client_toml"].as_str().unwrap().to_string();
    let server_toml = v["server_toml"].as_str().unwrap().to_string();
    let o = run(&["sim", "oauth-credentials", "--out", d]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));

    let mut sim = Served::start(&["--oauth", &server_toml, "--auto-login"]);
    let g = sim.url.clone();

    // Without OAuth the simulator refuses, and says why.
    let o = run(&["--gateway", &g, "accounts"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("OAuth Authorization header"),
        "{}",
        stderr(&o)
    );

    // With it, headless: the token is obtained and every call signed.
    let oauth = |args: &[&str]| {
        let mut all = vec!["--oauth", client_toml.as_str(), "--gateway", g.as_str()];
        all.extend_from_slice(args);
        run(&all)
    };
    let a = json(&oauth(&["--json", "accounts"]));
    assert_eq!(a[0]["accountId"], "DU1234567");
    // An /iserver call: the brokerage session is opened first.
    let o = oauth(&["--json", "quote", "AAPL", "--fields", "last"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"31\""), "{}", stdout(&o));
    let s = json(&oauth(&["--json", "auth", "status"]));
    assert_eq!(s["authenticated"], true);

    // The configuration from the environment; `auth lst` shows times, never the token.
    let o = ibkr()
        .env("IBKR_OAUTH_CONFIG", &client_toml)
        .args(["--gateway", &g, "--json", "auth", "lst"])
        .output()
        .unwrap();
    let l = json(&o);
    assert_eq!(l["consumer_key"], "SIMCONS01");
    assert_eq!(l["tokens_obtained"], 1);
    let left = l["expires_in_secs"].as_i64().unwrap();
    assert!((86_000..=86_400).contains(&left), "{l}");
    let secret = std::fs::read_to_string(&client_toml)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("access_token_secret = \""))
        .map(|s| s.trim_end_matches('"').to_string())
        .unwrap();
    assert!(!stdout(&o).contains(&secret) && !stderr(&o).contains(&secret));
    let o = oauth(&["auth", "lst", "--renew"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("tokens obtained"), "{}", stdout(&o));
    assert!(stdout(&o).contains("expires"), "{}", stdout(&o));

    // Through a gateway there is no token to show.
    let o = run(&["--gateway", &g, "auth", "lst"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--oauth"), "{}", stderr(&o));

    assert!(sim.interrupt().success());
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Streaming

#[test]
fn quotes_and_raw_topics_stream_as_json_lines() {
    let market = OpenMarket::start();
    let lines = |o: &Output| -> Vec<Value> {
        assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
        stdout(o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    };

    // Merged quotes: every line is AAPL's whole quote, the figures the price engine's.
    let quotes = lines(&market.ibkr(&["--json", "stream", "quotes", "AAPL", "--duration", "2"]));
    assert!(quotes.len() >= 2, "a few updates in 2 s: {quotes:?}");
    for q in &quotes {
        assert!(q.get("gap").is_none(), "no gap expected: {q}");
        assert_eq!(q["conid"], 265598, "{q}");
        assert_eq!(q["symbol"], "AAPL", "{q}");
        let bid: f64 = q["bid"].as_str().unwrap().parse().unwrap();
        let ask: f64 = q["ask"].as_str().unwrap().parse().unwrap();
        let last: f64 = q["last"].as_str().unwrap().parse().unwrap();
        assert!(0.0 < bid && bid <= ask, "{q}");
        assert!((last - bid).abs() / last < 0.01, "{q}");
        assert_eq!(q["last_is_prior_close"], false, "the market is open: {q}");
    }
    // The REST snapshot agrees with the stream to within a move.
    let rest = market.aapl_last();
    let streamed: f64 = quotes.last().unwrap()["last"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (rest - streamed).abs() / rest < 0.01,
        "{rest} vs {streamed}"
    );

    // Raw topics: the frames as they come, only the fields asked for.
    let frames = lines(&market.ibkr(&[
        "stream",
        "raw",
        r#"smd+265598+{"fields":["31","84"]}"#,
        "--duration",
        "1",
    ]));
    assert!(!frames.is_empty(), "frames within 1 s");
    assert!(
        frames.iter().all(|f| f["topic"] == "smd+265598"),
        "{frames:?}"
    );
    assert!(
        frames[0].get("31").is_some() && frames[0].get("84").is_some(),
        "{frames:?}"
    );
    assert!(frames.iter().all(|f| f.get("86").is_none()), "{frames:?}");

    // Without a terminal, the human form is one line per update.
    let o = market.ibkr(&["stream", "quotes", "AAPL", "--duration", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.lines().count() >= 1, "{text}");
    assert!(text.lines().all(|l| l.starts_with("265598 AAPL")), "{text}");
    assert!(
        !text.contains('\x1b'),
        "no redrawing without a terminal: {text:?}"
    );
}
