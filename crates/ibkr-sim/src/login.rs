//! The browser login, as the real gateway: `/` redirects to `/sso/Login`, whose form
//! logs the gateway in for every client, and answers "Client login succeeds".

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::time::Instant;

use crate::gateway::Shared;

pub(crate) const LOGIN_PATH: &str = "/sso/Login?forwardTo=22&RL=1&ip2loc=on";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(|| async { Redirect::to(LOGIN_PATH) }))
        .route("/sso/Login", get(form).post(submit))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn form(State(gw): State<Shared>) -> Html<String> {
    let note = if gw.snapshot().logged_in {
        "<p id=\"status\">This gateway is already logged in. Logging in again replaces the session.</p>"
    } else {
        ""
    };
    Html(page(note, ""))
}

async fn submit(State(gw): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    let cfg = &gw.config;
    if f.username != cfg.username || f.password != cfg.password {
        tracing::warn!("login refused: wrong username or password");
        let err = "<p id=\"error\" class=\"error\">Invalid username password combination</p>";
        return (StatusCode::UNAUTHORIZED, Html(page("", err))).into_response();
    }
    let session_id = {
        let mut m = gw.session();
        m.login(&cfg.username, Instant::now());
        m.sso().map(|s| s.id.clone()).unwrap_or_default()
    };
    tracing::info!(user = %cfg.username, "logged in through the login page");
    (
        [(
            header::SET_COOKIE,
            format!("x-sess-uuid={session_id}; Path=/; HttpOnly"),
        )],
        Html(SUCCESS.to_string()),
    )
        .into_response()
}

const SUCCESS: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Client login succeeds</title></head>
<body><h1 id="result">Client login succeeds</h1>
<p>The gateway is authenticated. You can close this page and use the API.</p></body></html>
"#;

fn page(note: &str, error: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Login - Client Portal Gateway (simulator)</title>
<style>
 body {{ font-family: sans-serif; max-width: 24rem; margin: 4rem auto; }}
 label {{ display: block; margin-top: 1rem; }} input {{ width: 100%; padding: .4rem; }}
 button {{ margin-top: 1.5rem; padding: .5rem 2rem; }} .error {{ color: #b00; }}
</style></head>
<body>
<h1>Interactive Brokers</h1>
<p>Client Portal Gateway simulator: log in with the paper username and password.</p>
{note}{error}
<form id="loginForm" method="post" action="/sso/Login">
 <label for="username">Username</label>
 <input id="username" name="username" type="text" autocomplete="username" required>
 <label for="password">Password</label>
 <input id="password" name="password" type="password" autocomplete="current-password" required>
 <button id="submitForm" type="submit">Login</button>
</form>
</body></html>
"#
    )
}
