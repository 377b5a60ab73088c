//! Logs in through the simulator's login page with a real headless browser
//! (Chromium driven by chromedriver), as a user of the real gateway does, and
//! checks that the client sees the session only after the right password.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`. Without them the
//! test says so on stderr and passes, unless `IBKR_REQUIRE_BROWSER=1` is set (as
//! in CI), in which case it fails.

use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use ibkr_api::Client;
use ibkr_sim::{Gateway, GatewayConfig};
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any wait on the browser may take: generous, for slow CI machines.
const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_through_the_browser_authenticates_the_client() {
    if !browser_available() {
        return;
    }
    let gw = Gateway::start(GatewayConfig::for_tests().auto_login(false))
        .await
        .expect("the simulator starts");
    let client = Client::builder()
        .gateway(gw.url().as_str())
        .build()
        .expect("client builds");

    let status = client.check_auth_status().await.expect("auth status");
    assert!(
        !status.authenticated,
        "the gateway starts logged out: {status:?}"
    );

    let driver = Driver::start().expect("chromedriver starts");
    let browser = connect(&driver).await;

    // Run the scenario in its own task so that a failed assertion still lets the
    // browser session be closed before chromedriver is killed.
    let outcome = tokio::spawn(scenario(browser.clone(), client, gw.url())).await;
    if let Err(e) = browser.close().await {
        eprintln!("closing the browser session failed: {e}");
    }
    drop(driver);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the scenario did not finish: {e}"),
        }
    }
    assert!(gw.state().logged_in);
    gw.shutdown().await;
}

async fn scenario(browser: Browser, client: Client, url: url::Url) {
    // The root redirects to the login form.
    browser.goto(url.as_str()).await.expect("open the gateway");
    wait_for(&browser, "username").await;
    let at = browser.current_url().await.expect("current URL");
    assert_eq!(
        at.path(),
        "/sso/Login",
        "the root redirects to the login page"
    );
    assert!(
        at.query().unwrap_or_default().contains("forwardTo=22"),
        "login page URL: {at}"
    );

    // A wrong password is refused and logs nobody in.
    fill_and_submit(&browser, "demo", "not-the-password").await;
    wait_for(&browser, "error").await;
    wait_for_text(&browser, "error", "Invalid username password combination").await;
    let status = client.check_auth_status().await.expect("auth status");
    assert!(
        !status.authenticated,
        "a wrong password must not log in: {status:?}"
    );

    // The right one logs the gateway in, for every client.
    fill_and_submit(&browser, "demo", "demo").await;
    let text = wait_for_text(&browser, "result", "Client login succeeds").await;
    assert_eq!(text.trim(), "Client login succeeds");

    let status = client.check_auth_status().await.expect("auth status");
    assert!(
        status.authenticated,
        "authenticated after the browser login: {status:?}"
    );
    let tickle = client.ping_server().await.expect("tickle after login");
    assert!(!tickle.session.expose().is_empty(), "tickle: {tickle:?}");
    assert!(tickle.is_authenticated(), "tickle: {tickle:?}");
}

async fn fill_and_submit(browser: &Browser, user: &str, password: &str) {
    for (id, value) in [("username", user), ("password", password)] {
        let field = wait_for(browser, id).await;
        field.clear().await.expect("clear a field");
        field.send_keys(value).await.expect("type into a field");
    }
    wait_for(browser, "submitForm")
        .await
        .click()
        .await
        .expect("click the login button");
}

/// Waits for the element with this id, polling.
async fn wait_for(browser: &Browser, id: &str) -> fantoccini::elements::Element {
    match browser
        .wait()
        .at_most(WAIT)
        .every(POLL)
        .for_element(Locator::Id(id))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let page = browser.source().await.unwrap_or_default();
            panic!("no element #{id} after {WAIT:?}: {e}\npage:\n{page}")
        }
    }
}

/// Waits until the element with this id contains `want`; returns its text.
async fn wait_for_text(browser: &Browser, id: &str, want: &str) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        if let Ok(e) = browser.find(Locator::Id(id)).await
            && let Ok(text) = e.text().await
        {
            if text.contains(want) {
                return text;
            }
            last = text;
        }
        if Instant::now() > deadline {
            let page = browser.source().await.unwrap_or_default();
            panic!("#{id} never said {want:?} (last: {last:?})\npage:\n{page}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the browser is installed; when it is not, says why the test does nothing,
/// or fails when `IBKR_REQUIRE_BROWSER=1`.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var("IBKR_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "IBKR_REQUIRE_BROWSER=1 but {} missing: install them with `apt-get install chromium chromium-driver`",
        missing.join(" and ")
    );
    // Written to the process's stderr directly, so that the skip shows even when the
    // test harness captures the test's output.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: browser login test needs chromium and chromedriver (apt-get install chromium chromium-driver); missing: {}",
        missing.join(", ")
    );
    false
}

async fn connect(driver: &Driver) -> Browser {
    let args = [
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--ignore-certificate-errors".into(),
        format!("--user-data-dir={}", driver.profile.display()),
    ];
    let caps = json!({
        "browserName": "chrome",
        "acceptInsecureCerts": true,
        "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    // chromedriver speaks plain HTTP on loopback: no TLS connector needed.
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start a browser session through chromedriver: {e}"))
}

/// chromedriver as a child process, in its own process group with the browsers it
/// starts; dropping it kills the group and removes the temporary directory.
struct Driver {
    child: Child,
    url: String,
    dir: PathBuf,
    profile: PathBuf,
    log: PathBuf,
}

impl Driver {
    fn start() -> std::io::Result<Driver> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("ibkr-browser-login-{}-{nanos}", std::process::id()));
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile)?;
        let log = dir.join("chromedriver.log");

        // A free port can be taken between the check and chromedriver's bind: retry.
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::from(File::create(dir.join("chromedriver.out"))?))
                .stderr(Stdio::from(File::create(dir.join("chromedriver.err"))?))
                .process_group(0)
                .spawn()?;
            let mut driver = Driver {
                child,
                url: format!("http://127.0.0.1:{port}"),
                dir: dir.clone(),
                profile: profile.clone(),
                log: log.clone(),
            };
            match driver.wait_ready(port) {
                Ok(()) => return Ok(driver),
                Err(e) => {
                    driver.stop();
                    last_error = Some(e);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_error.unwrap_or_else(|| std::io::Error::other("chromedriver did not start")))
    }

    fn wait_ready(&mut self, port: u16) -> std::io::Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "chromedriver exited at start ({status}); see {}",
                    self.dir.display()
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other(format!(
                    "chromedriver not listening on {addr} after {WAIT:?}"
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    fn stop(&mut self) {
        // The browsers chromedriver started share its process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(&self.log)
        {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- chromedriver log (last lines) ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
        // The browser may still be letting go of its profile for a moment.
        for _ in 0..10 {
            match std::fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
