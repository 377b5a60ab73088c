//! Opening the socket: TCP, TLS with the client's policy, the WebSocket upgrade with the
//! session cookie, and the gateway's greeting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ibkr_model::streaming::{ClientMessage, ServerFrame};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use url::Url;

use super::StreamError;
use crate::client::Client;

/// How the WebSocket connects: the same TLS policy, user agent and host overrides as
/// the client's requests.
#[derive(Clone)]
pub(crate) struct Transport {
    /// The TLS configuration of the requests (certificate policy, pins).
    pub tls: Arc<rustls::ClientConfig>,
    /// The `User-Agent` sent.
    pub user_agent: String,
    /// Host overrides (`ClientBuilder::resolve`).
    pub resolve: Vec<(String, SocketAddr)>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// A byte stream, plain or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An open socket.
pub(crate) type Socket = WebSocketStream<Box<dyn Io>>;

/// A connected, greeted socket.
pub(crate) struct Connection {
    pub socket: Socket,
    /// The session id (from `/tickle`).
    pub session: String,
    /// The user the gateway greeted (`system` `success`).
    pub user: Option<String>,
    /// Frames that came before the greeting was complete, in order.
    pub early: Vec<String>,
}

/// `wss://<gateway>/v1/api/ws` (`ws://` for a plain-HTTP gateway).
pub(crate) fn ws_url(client: &Client) -> Result<Url, StreamError> {
    let mut url = client
        .base_url()
        .join("ws")
        .map_err(|e| StreamError::Connect {
            url: client.base_url().to_string(),
            detail: e.to_string(),
        })?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let _ = url.set_scheme(scheme);
    Ok(url)
}

/// Gets the session id from `/tickle`, opens the socket with the `api` cookie and waits
/// for the gateway's greeting (answering the legacy `waiting for session` if asked).
pub(crate) async fn connect(
    client: &Client,
    greeting: Duration,
) -> Result<Connection, StreamError> {
    // The session id from `/tickle`; in OAuth mode also the access token, which IBKR
    // wants as the `oauth_token` query parameter of the upgrade request.
    let auth = client.websocket_auth().await?;
    let session = auth.session.clone();
    // `url` (without the token) is the one error messages show.
    let url = ws_url(client)?;
    let mut request_url = url.clone();
    if !auth.query.is_empty() {
        request_url
            .query_pairs_mut()
            .extend_pairs(auth.query.iter().map(|(k, v)| (*k, v.as_str())));
    }
    let transport = client.stream_transport();
    let err = |detail: String| StreamError::Connect {
        url: url.to_string(),
        detail,
    };
    let host = url
        .host_str()
        .ok_or_else(|| err("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addr = match transport.resolve.iter().find(|(h, _)| *h == host) {
        Some((_, a)) => SocketAddr::new(a.ip(), port),
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| err(e.to_string()))?
            .next()
            .ok_or_else(|| err(format!("{host} has no address")))?,
    };
    let tcp = tokio::time::timeout(transport.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| {
            err(format!(
                "no connection within {:?}",
                transport.connect_timeout
            ))
        })?
        .map_err(|e| err(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if url.scheme() == "wss" {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| err(format!("server name {host}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(transport.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| {
                let detail = e.to_string();
                if e.get_ref()
                    .and_then(|i| i.downcast_ref::<rustls::Error>())
                    .is_some()
                {
                    StreamError::Certificate {
                        url: url.to_string(),
                        detail,
                    }
                } else {
                    err(detail)
                }
            })?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let mut request = request_url
        .as_str()
        .into_client_request()
        .map_err(|e| err(e.to_string()))?;
    let headers = request.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&auth.cookie) {
        headers.insert("cookie", v);
    }
    if let Ok(v) = HeaderValue::from_str(&transport.user_agent) {
        headers.insert("user-agent", v);
    }
    let (mut socket, _) =
        tokio_tungstenite::client_async(request, io)
            .await
            .map_err(|e| match e {
                tungstenite::Error::Http(resp) => StreamError::Refused {
                    url: url.to_string(),
                    status: resp.status().as_u16(),
                },
                other => err(other.to_string()),
            })?;
    // The greeting: `system` with `success`; `waiting for session` asks for the id.
    let mut early = Vec::new();
    let deadline = tokio::time::Instant::now() + greeting;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| StreamError::Handshake {
                url: url.to_string(),
                detail: format!("no greeting within {greeting:?}"),
            })?;
        let text = match next {
            Some(Ok(Message::Text(t))) => t.to_string(),
            Some(Ok(Message::Close(_))) | None => {
                return Err(StreamError::Handshake {
                    url: url.to_string(),
                    detail: "the gateway closed the socket".into(),
                });
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return Err(StreamError::Handshake {
                    url: url.to_string(),
                    detail: e.to_string(),
                });
            }
        };
        match ServerFrame::decode(&text) {
            Ok(ServerFrame::Message(m)) if m.is_waiting_for_session() => {
                socket
                    .send(Message::text(
                        ClientMessage::Session(session.clone()).to_string(),
                    ))
                    .await
                    .map_err(|e| err(e.to_string()))?;
            }
            Ok(ServerFrame::System(s)) if s.success.is_some() => {
                return Ok(Connection {
                    socket,
                    session,
                    user: s.success,
                    early,
                });
            }
            _ => early.push(text),
        }
    }
}
