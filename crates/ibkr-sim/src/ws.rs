//! The WebSocket endpoint, `wss://<gateway>/v1/api/ws`, as IBKR's gateway serves it.
//!
//! # Connecting
//!
//! The upgrade needs the SSO session (else 401, as every API call). A client that sends
//! the session cookie (`Cookie: api=<session from /tickle>`) is in at once; a wrong
//! session id is refused with 401. Without the cookie, the socket answers
//! `{"message":"waiting for session"}` and waits for `{"session":"<id>"}` (IBKR's legacy
//! handshake). Then, in this order, as a live gateway was seen to do:
//! `{"topic":"system","success":"<user>","isFT":false,"isPaper":true}`, `act` (the
//! login's accounts, as `/iserver/accounts`) and `sts` (the brokerage session's state).
//!
//! # Topics
//!
//! | message | answer |
//! |---|---|
//! | `smd+<conid>+{"fields":[...]}` | the contract's fields from the [price engine](crate::prices), every [`WsSettings::market_data_every`] (500 ms, IBKR's documented interval), **only the fields that changed** (all of them first); sent again, it adds fields |
//! | `umd+<conid>+{}` | stops it (no answer, as IBKR) |
//! | `smh+<conid>+{...}` / `umh+<id>` | the bars once, as `/iserver/marketdata/history` |
//! | `sor+{}` / `uor+{}` | the orders (working, and finished in the last 24 hours) at once, then only what changed of an order (`acct`, `orderId` and the changed fields) from the [matching engine](crate::matching)'s events |
//! | `str+{...}` / `utr+{}` | the executions of the day (`days`, unless `realtimeUpdatesOnly`), then each new fill |
//! | `spl+{}` / `upl+{}` | P&L per account from the broker's valuation (`{acct}.Core`: `dpl`, `upl`, `nl`, `uel`, `mv`), every [`WsSettings::pnl_every`] (1 s), entries that changed |
//! | `ssd+<acct>+{}` / `usd+<acct>+{}` | account summary values (all, then those that changed, every [`WsSettings::pnl_every`]); `{"result":"unsubscribed from summary"}` |
//! | `sld+<acct>+{...}` / `uld+<acct>+{}` | the ledger per currency every [`WsSettings::ledger_every`] (10 s, as documented): values of the currencies that changed, the others blank; `{"result":"unsubscribed from ledger"}` |
//! | `tic` | `{"topic":"tic","alive":true,"id":"<session>","lastAccessed":<ms>}`; it keeps the session alive |
//! | anything else | `{"error":"Topic unknown <message>","code":1}` (also `{"session":...}` on a socket opened with the cookie, as recorded) |
//!
//! Unsolicited: `system` heartbeats (`{"hb": <ms>}`) every [`WsSettings::heartbeat`]
//! (10 s), and `sts` when the brokerage session changes (lost, competing, back). While
//! the brokerage session is down, `smd`, `sor` and `str` send nothing (IBKR documents
//! that they need it); once it is back, what changed meanwhile is sent. When the SSO
//! session ends the socket is closed.
//!
//! IBKR documents no expiry of market-data subscriptions on the socket (unlike the
//! snapshot's streams): they last until `umd` or the socket closes.
//!
//! # Control
//!
//! [`Gateway::ws_drop_all`] closes every socket abruptly (no close frame);
//! [`Gateway::ws_silence`] stops every socket from sending anything while keeping it open;
//! [`Gateway::ws_subscriptions`] lists what the sockets are subscribed to;
//! [`Gateway::ws_sent_frames`] reports each market-data frame as it is written (for
//! latency measurements). The control API has `POST /sim/ws/drop` and
//! `POST /sim/ws/silence` (`{"silent": true}`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ibkr_model::accounts::{BrokerageAccounts, PnlEntry};
use ibkr_model::auth::ServerInfo;
use ibkr_model::contracts::Conid;
use ibkr_model::market_data::{MarketDataField, SnapshotRow};
use ibkr_model::streaming::{
    AccountArgs, AccountSummaryUpdate, AccountsUpdate, ClientMessage, ErrorFrame, HistoryArgs,
    HistoryUpdate, LedgerItem, LedgerUpdate, MarketDataUpdate, OrderUpdates, PnlUpdate,
    ServerMessage, SessionStatus, StatusUpdate, StreamedTrade, SummaryItem, SystemMessage,
    TicReply, TradeUpdates, TradesArgs, Unsubscribed,
};
use ibkr_model::time::EpochMillis;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::{broadcast, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::gateway::{Gateway, Shared};
use crate::http::ApiError;
use crate::matching::{Event, OrderId};
use crate::session::BrokerageState;

/// Timing of the WebSocket feeds; [`Gateway::ws_configure`] changes it (for sockets
/// opened afterwards).
///
/// ```
/// use std::time::Duration;
/// use ibkr_sim::WsSettings;
/// let s = WsSettings::default().heartbeat(Duration::from_millis(300));
/// assert_eq!(s.heartbeat, Duration::from_millis(300));
/// assert_eq!(s.market_data_every, Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsSettings {
    /// Between two `system` heartbeats; 10 s, as IBKR.
    pub heartbeat: Duration,
    /// Between two market-data evaluations of a subscribed contract; 500 ms (IBKR's
    /// documented interval for all products).
    pub market_data_every: Duration,
    /// Between two P&L (`spl`) and account summary (`ssd`) evaluations; 1 s.
    pub pnl_every: Duration,
    /// Between two ledger (`sld`) messages; 10 s, as documented.
    pub ledger_every: Duration,
    /// How often a socket looks at the session's state (to send `sts`); 200 ms.
    pub status_every: Duration,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            heartbeat: Duration::from_secs(10),
            market_data_every: Duration::from_millis(500),
            pnl_every: Duration::from_secs(1),
            ledger_every: Duration::from_secs(10),
            status_every: Duration::from_millis(200),
        }
    }
}

impl WsSettings {
    /// Sets the heartbeat interval.
    pub fn heartbeat(mut self, d: Duration) -> Self {
        self.heartbeat = d;
        self
    }

    /// Sets the market-data interval.
    pub fn market_data_every(mut self, d: Duration) -> Self {
        self.market_data_every = d;
        self
    }

    /// Sets the P&L and account summary interval.
    pub fn pnl_every(mut self, d: Duration) -> Self {
        self.pnl_every = d;
        self
    }

    /// Sets the ledger interval.
    pub fn ledger_every(mut self, d: Duration) -> Self {
        self.ledger_every = d;
        self
    }

    /// Sets how often sockets look at the session's state.
    pub fn status_every(mut self, d: Duration) -> Self {
        self.status_every = d;
        self
    }

    fn floored(mut self) -> Self {
        let min = Duration::from_millis(5);
        for d in [
            &mut self.heartbeat,
            &mut self.market_data_every,
            &mut self.pnl_every,
            &mut self.ledger_every,
            &mut self.status_every,
        ] {
            *d = (*d).max(min);
        }
        self
    }
}

/// A market-data frame as the simulator wrote it to a socket (see
/// [`Gateway::ws_sent_frames`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SentFrame {
    /// The socket (numbered from 1 in connection order).
    pub socket: u64,
    /// The frame's topic, e.g. `smd+265598`.
    pub topic: String,
    /// The contract.
    pub conid: i64,
    /// The frame's `_updated` (the market's time of the values, ms).
    pub updated: i64,
    /// When the price engine was asked for the values.
    pub evaluated: std::time::Instant,
    /// When the frame was handed to the socket.
    pub written: std::time::Instant,
}

/// The sockets of a gateway: settings, control switches and what they subscribe to.
pub(crate) struct Hub {
    settings: Mutex<WsSettings>,
    silent: AtomicBool,
    drops: watch::Sender<u64>,
    sockets: Mutex<BTreeMap<u64, BTreeSet<String>>>,
    next: AtomicU64,
    sent: broadcast::Sender<SentFrame>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            settings: Mutex::new(WsSettings::default()),
            silent: AtomicBool::new(false),
            drops: watch::channel(0).0,
            sockets: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
            sent: broadcast::channel(4096).0,
        }
    }
}

impl Hub {
    fn settings(&self) -> WsSettings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_topics(&self, socket: u64, topics: BTreeSet<String>) {
        self.sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(socket, topics);
    }

    fn forget(&self, socket: u64) {
        self.sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&socket);
    }

    fn is_silent(&self) -> bool {
        self.silent.load(Ordering::SeqCst)
    }
}

/// Closes every socket abruptly (control API).
pub(crate) fn drop_all(gw: &Shared) {
    gw.ws.drops.send_modify(|n| *n += 1);
    tracing::info!("websockets dropped");
}

/// Silences every socket, or lets them send again (control API).
pub(crate) fn silence(gw: &Shared, silent: bool) {
    gw.ws.silent.store(silent, Ordering::SeqCst);
    tracing::info!(silent, "websockets silenced");
}

impl Gateway {
    /// Closes every WebSocket abruptly, as a network failure would: no close frame.
    pub fn ws_drop_all(&self) {
        drop_all(self.shared());
    }

    /// Stops every WebSocket from sending anything (`true`), keeping it open, or lets
    /// them send again (`false`). Updates not sent meanwhile are lost on those sockets
    /// (as on a stalled connection).
    pub fn ws_silence(&self, silent: bool) {
        silence(self.shared(), silent);
    }

    /// Changes the timing of the WebSocket feeds, for sockets opened from now on.
    pub fn ws_configure(&self, settings: WsSettings) {
        *self
            .shared()
            .ws
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = settings.floored();
    }

    /// What the open sockets are subscribed to, one list per socket (in connection
    /// order): the topics their data carries, e.g. `smd+265598`, `sor`, `spl`,
    /// `ssd+DU1234567`.
    pub fn ws_subscriptions(&self) -> Vec<Vec<String>> {
        self.shared()
            .ws
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|t| t.iter().cloned().collect())
            .collect()
    }

    /// How many sockets are open (authenticated).
    pub fn ws_connections(&self) -> usize {
        self.shared()
            .ws
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The market-data frames written from now on, with the instant the price engine
    /// was asked and the instant the frame was handed to the socket. A receiver more
    /// than 4096 frames behind loses the oldest.
    pub fn ws_sent_frames(&self) -> broadcast::Receiver<SentFrame> {
        self.shared().ws.sent.subscribe()
    }
}

// ---------------------------------------------------------------------------------------
// The upgrade

/// The session id carried by an `api` cookie (the raw id, or `{"session":"<id>"}`).
fn cookie_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "api")
        .map(|(_, v)| {
            let v = v.trim().trim_matches('"');
            serde_json::from_str::<Value>(v)
                .ok()
                .and_then(|j| j.get("session")?.as_str().map(str::to_string))
                .unwrap_or_else(|| v.to_string())
        })
}

/// `GET /v1/api/ws`: the upgrade, once the session is checked.
pub(crate) async fn upgrade(
    State(gw): State<Shared>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let session = match gw.session().sso() {
        Ok(sso) => sso.id.clone(),
        Err(_) => return ApiError::NotLoggedIn.into_response(),
    };
    let by_cookie = match cookie_session(&headers) {
        Some(s) if s == session => true,
        Some(_) => return ApiError::NotLoggedIn.into_response(),
        None => false,
    };
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| async move {
            Socket::new(gw, socket).run(by_cookie).await;
        }),
        Err(rejection) => rejection.into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// One socket

/// A market-data subscription of a socket.
struct MarketData {
    conid: i64,
    fields: Vec<MarketDataField>,
    server_id: String,
    /// The values last sent, by key.
    sent: Map<String, Value>,
}

/// A ledger's entries as last sent, by key (without their time).
type LedgerSent = BTreeMap<String, Map<String, Value>>;

/// What a socket sends, and what it last sent.
struct Socket {
    gw: Shared,
    ws: WebSocket,
    id: u64,
    settings: WsSettings,
    market_data: BTreeMap<String, MarketData>,
    server_ids: u64,
    orders: bool,
    /// Each order as last sent, by id.
    orders_sent: HashMap<OrderId, Map<String, Value>>,
    trades: bool,
    executions_sent: HashSet<String>,
    pnl: Option<BTreeMap<String, PnlEntry>>,
    summaries: BTreeMap<String, BTreeMap<String, SummaryItem>>,
    ledgers: BTreeMap<String, (AccountArgs, LedgerSent)>,
    histories: BTreeSet<String>,
    status: Option<SessionStatus>,
    /// Order events were skipped (silence, no brokerage session): compare everything
    /// at the next chance.
    resync: bool,
}

/// Why a socket's loop ended.
enum End {
    /// The client went away, or the socket failed.
    Gone,
    /// Dropped on purpose (control API), or the session ended.
    Dropped,
}

impl Socket {
    fn new(gw: Shared, ws: WebSocket) -> Socket {
        let id = gw.ws.next.fetch_add(1, Ordering::SeqCst);
        let settings = gw.ws.settings();
        Socket {
            gw,
            ws,
            id,
            settings,
            market_data: BTreeMap::new(),
            server_ids: 0,
            orders: false,
            orders_sent: HashMap::new(),
            trades: false,
            executions_sent: HashSet::new(),
            pnl: None,
            summaries: BTreeMap::new(),
            ledgers: BTreeMap::new(),
            histories: BTreeSet::new(),
            status: None,
            resync: false,
        }
    }

    async fn run(mut self, by_cookie: bool) {
        let mut drops = self.gw.ws.drops.subscribe();
        drops.mark_unchanged();
        if !by_cookie {
            tokio::select! {
                ok = self.legacy_handshake() => if !ok { return; },
                _ = drops.changed() => return,
            }
        }
        self.gw.ws.set_topics(self.id, BTreeSet::new());
        let end = self.serve(&mut drops).await;
        self.gw.ws.forget(self.id);
        if let End::Gone = end {
            let _ = self.ws.send(Message::Close(None)).await;
        }
        tracing::debug!(socket = self.id, "websocket closed");
    }

    /// `{"message":"waiting for session"}`, then the session id, within 30 s.
    async fn legacy_handshake(&mut self) -> bool {
        if !self
            .send(&ServerMessage::new(ServerMessage::WAITING_FOR_SESSION))
            .await
        {
            return false;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.recv()).await {
                Ok(Some(Ok(m))) => m,
                _ => return false,
            };
            let Message::Text(text) = msg else {
                continue;
            };
            if let ClientMessage::Session(s) = ClientMessage::parse(&text) {
                let ok = self.gw.session().sso().is_ok_and(|sso| sso.id == s);
                if ok {
                    return true;
                }
                return false;
            }
        }
    }

    async fn serve(&mut self, drops: &mut watch::Receiver<u64>) -> End {
        let Some(user) = self.gw.session().sso().ok().map(|s| s.user.clone()) else {
            return End::Dropped;
        };
        let mut hello = SystemMessage::success(user);
        hello.is_ft = Some(false);
        hello.is_paper = Some(true);
        if !self.send(&hello).await || !self.send(&self.accounts()).await {
            return End::Gone;
        }
        match self.session_status() {
            Some(s) => {
                if !self.send(&StatusUpdate::new(s.clone())).await {
                    return End::Gone;
                }
                self.status = Some(s);
            }
            None => return End::Dropped,
        }
        let mut events = self.gw.desk().subscribe();
        let every = |d: Duration| {
            let mut i = tokio::time::interval_at(Instant::now() + d, d);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        };
        let mut heartbeat = every(self.settings.heartbeat);
        let mut ticks = every(self.settings.market_data_every);
        let mut status = every(self.settings.status_every);
        let mut pnl = every(self.settings.pnl_every);
        let mut ledger = every(self.settings.ledger_every);
        loop {
            let ok = tokio::select! {
                msg = self.ws.recv() => match msg {
                    Some(Ok(Message::Text(text))) => self.on_message(&text).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return End::Gone,
                    Some(Ok(_)) => true,
                },
                _ = drops.changed() => return End::Dropped,
                _ = heartbeat.tick() => {
                    let hb = SystemMessage::heartbeat(EpochMillis(Utc::now().timestamp_millis()));
                    self.send(&hb).await
                }
                _ = ticks.tick() => self.market_data_tick().await,
                _ = status.tick() => match self.status_tick().await {
                    Some(ok) => ok,
                    None => return End::Dropped,
                },
                _ = pnl.tick() => self.account_tick().await,
                _ = ledger.tick() => self.ledger_tick(false).await,
                ev = events.recv() => self.on_event(ev, &mut events).await,
            };
            if !ok {
                return End::Gone;
            }
        }
    }

    /// Sends a frame (nothing while silenced). `false` when the socket failed.
    async fn send<T: Serialize>(&mut self, frame: &T) -> bool {
        if self.gw.ws.is_silent() {
            return true;
        }
        let Ok(text) = serde_json::to_string(frame) else {
            return true;
        };
        self.ws.send(Message::Text(text.into())).await.is_ok()
    }

    fn publish_topics(&self) {
        let mut topics: BTreeSet<String> = self
            .market_data
            .keys()
            .map(|t| format!("smd+{t}"))
            .collect();
        if self.orders {
            topics.insert("sor".into());
        }
        if self.trades {
            topics.insert("str".into());
        }
        if self.pnl.is_some() {
            topics.insert("spl".into());
        }
        topics.extend(self.summaries.keys().map(|a| format!("ssd+{a}")));
        topics.extend(self.ledgers.keys().map(|a| format!("sld+{a}")));
        topics.extend(self.histories.iter().map(|h| format!("smh+{h}")));
        self.gw.ws.set_topics(self.id, topics);
    }

    fn brokerage_up(&self) -> bool {
        self.gw
            .session()
            .sso()
            .is_ok_and(|s| s.brokerage == BrokerageState::Authenticated)
    }

    // --- client messages ---------------------------------------------------------------

    async fn on_message(&mut self, text: &str) -> bool {
        let msg = ClientMessage::parse(text);
        let ok = match msg {
            ClientMessage::Tic | ClientMessage::Echo => {
                let now = Instant::now();
                let session = {
                    let mut m = self.gw.session();
                    m.touch(now);
                    m.sso().ok().map(|s| s.id.clone())
                };
                match (session, &msg) {
                    (Some(id), ClientMessage::Tic) => {
                        let at = EpochMillis(Utc::now().timestamp_millis());
                        self.send(&TicReply::alive(id, at)).await
                    }
                    _ => true,
                }
            }
            ClientMessage::SubscribeMarketData { target, args } => {
                self.subscribe_market_data(target, &args.fields);
                self.market_data_tick().await
            }
            ClientMessage::UnsubscribeMarketData { target } => {
                self.market_data.remove(&target);
                true
            }
            ClientMessage::SubscribeHistory { target, args } => self.history(&target, &args).await,
            ClientMessage::UnsubscribeHistory { server_id } => {
                self.histories.remove(&server_id);
                true
            }
            ClientMessage::SubscribeOrders => {
                self.orders = true;
                self.orders_sent.clear();
                self.send_orders(true).await
            }
            ClientMessage::UnsubscribeOrders => {
                self.orders = false;
                true
            }
            ClientMessage::SubscribeTrades(args) => {
                self.trades = true;
                self.send_trade_history(&args).await
            }
            ClientMessage::UnsubscribeTrades => {
                self.trades = false;
                true
            }
            ClientMessage::SubscribePnl => {
                self.pnl = Some(BTreeMap::new());
                self.account_tick().await
            }
            ClientMessage::UnsubscribePnl => {
                self.pnl = None;
                true
            }
            ClientMessage::SubscribeAccountSummary { account, .. } => {
                if self.known_account(account.as_str()) {
                    self.summaries
                        .insert(account.as_str().to_string(), BTreeMap::new());
                    self.account_tick().await
                } else {
                    let e = ErrorFrame::unknown_topic(text);
                    self.send(&e).await
                }
            }
            ClientMessage::UnsubscribeAccountSummary { account } => {
                self.summaries.remove(account.as_str());
                self.send(&unsubscribed(
                    "unsubscribed from summary",
                    &format!("usd+{account}"),
                ))
                .await
            }
            ClientMessage::SubscribeLedger { account, args } => {
                if self.known_account(account.as_str()) {
                    self.ledgers
                        .insert(account.as_str().to_string(), (args, BTreeMap::new()));
                    self.ledger_tick(true).await
                } else {
                    let e = ErrorFrame::unknown_topic(text);
                    self.send(&e).await
                }
            }
            ClientMessage::UnsubscribeLedger { account } => {
                self.ledgers.remove(account.as_str());
                self.send(&unsubscribed(
                    "unsubscribed from ledger",
                    &format!("uld+{account}"),
                ))
                .await
            }
            // The legacy handshake on a socket opened with the cookie, and anything
            // else: IBKR's error frame.
            _ => self.send(&ErrorFrame::unknown_topic(text.trim())).await,
        };
        self.publish_topics();
        ok
    }

    fn known_account(&self, account: &str) -> bool {
        self.gw.broker().account(account).is_ok()
    }

    fn subscribe_market_data(&mut self, target: String, fields: &[String]) {
        let conid: i64 = target
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        let wanted: Vec<MarketDataField> = fields
            .iter()
            .filter_map(|f| f.trim().parse::<u32>().ok())
            .map(MarketDataField::from_id)
            .collect();
        match self.market_data.get_mut(&target) {
            // Sent again: the fields are added.
            Some(sub) => {
                for f in wanted {
                    if !sub.fields.contains(&f) {
                        sub.fields.push(f);
                    }
                }
            }
            None => {
                let server_id = format!("q{}", self.server_ids);
                self.server_ids += 1;
                self.market_data.insert(
                    target,
                    MarketData {
                        conid,
                        fields: wanted,
                        server_id,
                        sent: Map::new(),
                    },
                );
            }
        }
    }

    // --- market data -------------------------------------------------------------------

    /// Sends the fields of each subscribed contract that changed since last sent.
    async fn market_data_tick(&mut self) -> bool {
        if self.market_data.is_empty() || self.gw.ws.is_silent() || !self.brokerage_up() {
            return true;
        }
        let now = self.gw.market.now();
        let evaluated = std::time::Instant::now();
        let updated = EpochMillis(now.timestamp_millis());
        let mut frames = Vec::new();
        for (target, sub) in &mut self.market_data {
            let Ok(inst) = crate::market::instrument(&self.gw, sub.conid) else {
                continue;
            };
            let mut row = SnapshotRow::new(Conid(sub.conid));
            row.server_id = Some(sub.server_id.clone());
            crate::market_data::fill(&self.gw, inst, now, &sub.fields, &mut row);
            let mut frame = MarketDataUpdate::new(Conid(sub.conid));
            frame.topic = format!("smd+{target}");
            frame.conid_ex = Some(target.clone());
            frame.updated = Some(updated);
            frame.server_id = Some(sub.server_id.clone());
            for (k, v) in row.fields {
                if sub.sent.get(&k) != Some(&v) {
                    sub.sent.insert(k.clone(), v.clone());
                    frame.fields.insert(k, v);
                }
            }
            if !frame.fields.is_empty() {
                frames.push((sub.conid, frame));
            }
        }
        for (conid, frame) in frames {
            if !self.send(&frame).await {
                return false;
            }
            if self.gw.ws.sent.receiver_count() == 0 {
                continue;
            }
            let _ = self.gw.ws.sent.send(SentFrame {
                socket: self.id,
                topic: frame.topic,
                conid,
                updated: updated.0,
                evaluated,
                written: std::time::Instant::now(),
            });
        }
        true
    }

    async fn history(&mut self, target: &str, args: &HistoryArgs) -> bool {
        if !self.brokerage_up() {
            return true;
        }
        let conid: i64 = target
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        let query = serde_json::json!({
            "conid": conid,
            "period": args.period.clone().unwrap_or_else(|| "1d".into()),
            "bar": args.bar.clone().unwrap_or_else(|| "5min".into()),
            "outsideRth": args.outside_rth.unwrap_or(false),
        });
        let Ok(q) = serde_json::from_value::<crate::market_data::HistoryQuery>(query) else {
            return true;
        };
        match crate::market_data::history(State(self.gw.clone()), crate::market::Q(q)).await {
            Ok(axum::Json(mut h)) => {
                self.server_ids += 1;
                h.server_id = format!("{}", 340_000 + self.id * 1000 + self.server_ids);
                self.histories.insert(h.server_id.clone());
                let frame = HistoryUpdate::new(target, h);
                self.send(&frame).await
            }
            // Incorrect parameters: IBKR documents that they are ignored.
            Err(_) => true,
        }
    }

    // --- session state -----------------------------------------------------------------

    /// The brokerage session's state as `sts` shows it; `None` once the SSO session is
    /// gone.
    fn session_status(&self) -> Option<SessionStatus> {
        let m = self.gw.session();
        let sso = m.sso().ok()?;
        let mut s = SessionStatus::default();
        let (authenticated, competing, connected) = match sso.brokerage {
            BrokerageState::Authenticated => (true, false, true),
            BrokerageState::Competing => (false, true, true),
            BrokerageState::Down => (false, false, false),
        };
        s.connected = Some(connected);
        s.authenticated = Some(authenticated);
        s.established = Some(authenticated);
        s.competing = Some(competing);
        s.message = Some(if competing {
            "competing session".into()
        } else {
            String::new()
        });
        s.fail = Some(String::new());
        Some(s)
    }

    /// `sts` when the state changed; `None` when the SSO session ended.
    async fn status_tick(&mut self) -> Option<bool> {
        let now = self.session_status()?;
        if self.status.as_ref() == Some(&now) {
            return Some(true);
        }
        if !self.send(&StatusUpdate::new(now.clone())).await {
            return Some(false);
        }
        let back = now.authenticated == Some(true);
        self.status = Some(now);
        if back && self.resync {
            return Some(self.resync_orders().await);
        }
        Some(true)
    }

    fn accounts(&self) -> AccountsUpdate {
        let (ids, aliases) = {
            let broker = self.gw.broker();
            let ids: Vec<String> = broker.accounts().iter().map(|a| a.id.clone()).collect();
            let aliases: BTreeMap<String, String> = broker
                .accounts()
                .iter()
                .map(|a| (a.id.clone(), a.alias.clone()))
                .collect();
            (ids, aliases)
        };
        let selected = self
            .gw
            .session()
            .sso()
            .ok()
            .and_then(|s| s.selected_account.clone());
        let mut a = BrokerageAccounts::new(ids.clone());
        a.selected_account = selected.or_else(|| ids.first().cloned());
        a.aliases = Some(aliases);
        a.server_info = Some(ServerInfo::new(
            crate::auth::SERVER_NAME,
            crate::auth::SERVER_VERSION,
        ));
        a.is_ft = Some(false);
        a.is_paper = Some(true);
        AccountsUpdate::new(a)
    }

    // --- orders and executions ---------------------------------------------------------

    async fn on_event(
        &mut self,
        ev: Result<Event, broadcast::error::RecvError>,
        events: &mut broadcast::Receiver<Event>,
    ) -> bool {
        let mut changed: BTreeSet<OrderId> = BTreeSet::new();
        let mut fills = Vec::new();
        let mut lagged = false;
        let mut take = |e: Event| match e {
            Event::StatusChanged { order, .. } => {
                changed.insert(order);
            }
            Event::Fill(f) => {
                changed.insert(f.order);
                fills.push(f);
            }
        };
        match ev {
            Ok(e) => take(e),
            Err(broadcast::error::RecvError::Lagged(_)) => lagged = true,
            Err(broadcast::error::RecvError::Closed) => return true,
        }
        loop {
            match events.try_recv() {
                Ok(e) => take(e),
                Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                Err(_) => break,
            }
        }
        if !self.orders && !self.trades {
            return true;
        }
        if self.gw.ws.is_silent() || !self.brokerage_up() {
            self.resync = true;
            return true;
        }
        if lagged || self.resync {
            return self.resync_orders().await;
        }
        if self.orders && !self.send_order_changes(Some(&changed)).await {
            return false;
        }
        if self.trades {
            let trades: Vec<StreamedTrade> = {
                let desk = self.gw.desk();
                fills
                    .iter()
                    .filter(|f| !self.executions_sent.contains(&f.id))
                    .filter_map(|f| crate::orders::wire_trade(&desk, &self.gw, f))
                    .map(streamed)
                    .collect()
            };
            if !trades.is_empty() {
                for t in &trades {
                    self.executions_sent.insert(t.trade.execution_id.clone());
                }
                return self.send(&TradeUpdates::new(trades)).await;
            }
        }
        true
    }

    /// Sends whatever changed of every order, and every execution not yet sent.
    async fn resync_orders(&mut self) -> bool {
        self.resync = false;
        if self.orders && !self.send_order_changes(None).await {
            return false;
        }
        if self.trades {
            let mut args = TradesArgs::default();
            args.days = Some(1);
            return self.send_executions(&args, true).await;
        }
        true
    }

    /// The orders `sor` shows: working ones, and those that finished in the last 24
    /// hours, of every account, as `/iserver/account/orders` lists them.
    fn current_orders(
        &self,
        only: Option<&BTreeSet<OrderId>>,
    ) -> Vec<(OrderId, Map<String, Value>)> {
        let accounts: Vec<String> = self
            .gw
            .broker()
            .accounts()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let now = self.gw.market.now();
        let desk = self.gw.desk();
        let mut out = Vec::new();
        for a in &accounts {
            for o in desk.engine().orders(a) {
                if only.is_some_and(|ids| !ids.contains(&o.id)) {
                    continue;
                }
                if !(o.is_working() || now - o.updated_at <= chrono::Duration::hours(24)) {
                    continue;
                }
                let wire = crate::orders::live_order(o, self.gw.market.universe.get(o.conid));
                if let Ok(Value::Object(m)) = serde_json::to_value(&wire) {
                    out.push((o.id, m));
                }
            }
        }
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// `sor+{}`: every order, whole.
    async fn send_orders(&mut self, whole: bool) -> bool {
        if !self.brokerage_up() {
            self.resync = true;
            return true;
        }
        let current = self.current_orders(None);
        let mut args = Vec::new();
        for (id, m) in current {
            if whole {
                args.push(Value::Object(m.clone()));
            }
            self.orders_sent.insert(id, m);
        }
        let frame = serde_json::json!({ "topic": "sor", "args": args });
        self.send(&frame).await
    }

    /// The changes of some orders (`None`: all) since they were last sent.
    async fn send_order_changes(&mut self, only: Option<&BTreeSet<OrderId>>) -> bool {
        let current = self.current_orders(only);
        let mut deltas = Vec::new();
        for (id, m) in current {
            let before = self.orders_sent.get(&id);
            let mut delta = Map::new();
            for key in ["acct", "orderId"] {
                if let Some(v) = m.get(key) {
                    delta.insert(key.into(), v.clone());
                }
            }
            let mut any = false;
            for (k, v) in &m {
                if before.and_then(|b| b.get(k)) != Some(v) {
                    delta.insert(k.clone(), v.clone());
                    any = true;
                }
            }
            if any {
                deltas.push(Value::Object(delta));
            }
            self.orders_sent.insert(id, m);
        }
        if deltas.is_empty() {
            return true;
        }
        let frame = OrderUpdates::new(
            deltas
                .into_iter()
                .filter_map(|d| serde_json::from_value(d).ok())
                .collect(),
        );
        self.send(&frame).await
    }

    async fn send_trade_history(&mut self, args: &TradesArgs) -> bool {
        if args.realtime_updates_only == Some(true) {
            // Only new executions: those done so far count as sent.
            let all = self.executions_since(7);
            self.executions_sent
                .extend(all.into_iter().map(|t| t.trade.execution_id));
            return true;
        }
        self.send_executions(args, false).await
    }

    fn executions_since(&self, days: u32) -> Vec<StreamedTrade> {
        let accounts: Vec<String> = self
            .gw
            .broker()
            .accounts()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let since = day_start(self.gw.market.now(), days.clamp(1, 7) - 1);
        let desk = self.gw.desk();
        let mut out: Vec<(DateTime<Utc>, StreamedTrade)> = Vec::new();
        for a in &accounts {
            for f in desk.engine().executions(a, since) {
                if let Some(t) = crate::orders::wire_trade(&desk, &self.gw, f) {
                    out.push((f.at, streamed(t)));
                }
            }
        }
        out.sort_by_key(|a| a.0);
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// The executions of the last `days` (1 = today); `only_new`: those not yet sent.
    async fn send_executions(&mut self, args: &TradesArgs, only_new: bool) -> bool {
        if !self.brokerage_up() {
            self.resync = true;
            return true;
        }
        let trades: Vec<StreamedTrade> = self
            .executions_since(args.days.unwrap_or(1))
            .into_iter()
            .filter(|t| !only_new || !self.executions_sent.contains(&t.trade.execution_id))
            .collect();
        if only_new && trades.is_empty() {
            return true;
        }
        for t in &trades {
            self.executions_sent.insert(t.trade.execution_id.clone());
        }
        self.send(&TradeUpdates::new(trades)).await
    }

    // --- accounts: P&L, summary, ledger -------------------------------------------------

    /// `spl` and `ssd`: the entries and values that changed.
    async fn account_tick(&mut self) -> bool {
        if (self.pnl.is_none() && self.summaries.is_empty()) || self.gw.ws.is_silent() {
            return true;
        }
        self.gw.advance_orders();
        let now = self.gw.market.now();
        let stamp = now.timestamp();
        let mut frames: Vec<Value> = Vec::new();
        {
            let broker = self.gw.broker();
            if let Some(last) = &mut self.pnl {
                let mut changed = BTreeMap::new();
                for (n, a) in broker.accounts().iter().enumerate() {
                    let Ok(v) = broker.valuation_at(&a.id, &self.gw.market.engine, now) else {
                        continue;
                    };
                    let s = &v.summary;
                    let mut e = PnlEntry::default();
                    e.row_type = Some(n as i64 + 1);
                    e.dpl = Some(cents(s.daily_pnl));
                    e.nl = Some(cents(s.net_liquidation));
                    e.upl = Some(cents(s.unrealized_pnl));
                    e.uel = Some(cents(s.excess_liquidity));
                    e.mv = Some(cents(s.position_value));
                    let key = format!("{}.Core", a.id);
                    if last.get(&key) != Some(&e) {
                        last.insert(key.clone(), e.clone());
                        changed.insert(key, e);
                    }
                }
                if !changed.is_empty()
                    && let Ok(v) = serde_json::to_value(PnlUpdate::new(changed))
                {
                    frames.push(v);
                }
            }
            for (acct, last) in &mut self.summaries {
                let Ok(v) = broker.valuation_at(acct, &self.gw.market.engine, now) else {
                    continue;
                };
                let s = &v.summary;
                let ccy = s.base_currency.clone();
                let items = [
                    ("netliquidation", s.net_liquidation),
                    ("totalcashvalue", s.total_cash),
                    ("grosspositionvalue", s.gross_position_value),
                    ("availablefunds", s.available_funds),
                    ("excessliquidity", s.excess_liquidity),
                    ("buyingpower", s.buying_power),
                    ("initmarginreq", s.init_margin),
                    ("maintmarginreq", s.maint_margin),
                    ("unrealizedpnl", s.unrealized_pnl),
                    ("realizedpnl", s.realized_pnl),
                ];
                let mut changed = Vec::new();
                for (key, amount) in items {
                    let mut item = SummaryItem::money(key, cents(amount), ccy.clone());
                    let same = last
                        .get(key)
                        .is_some_and(|i| i.monetary_value == item.monetary_value);
                    item.timestamp = Some(stamp);
                    if !same {
                        last.insert(key.to_string(), item.clone());
                        changed.push(item);
                    }
                }
                if !changed.is_empty()
                    && let Ok(v) = serde_json::to_value(AccountSummaryUpdate::new(acct, changed))
                {
                    frames.push(v);
                }
            }
        }
        for f in frames {
            if !self.send(&f).await {
                return false;
            }
        }
        true
    }

    /// `sld`: every currency's values that changed, the others blank. `first`: the
    /// subscription's first message (only the ledgers not sent yet).
    async fn ledger_tick(&mut self, first: bool) -> bool {
        if self.ledgers.is_empty() || self.gw.ws.is_silent() {
            return true;
        }
        self.gw.advance_orders();
        let now = self.gw.market.now();
        let stamp = now.timestamp();
        let mut frames = Vec::new();
        {
            let broker = self.gw.broker();
            for (acct, (args, last)) in &mut self.ledgers {
                if first && !last.is_empty() {
                    continue;
                }
                let Ok(v) = broker.valuation_at(acct, &self.gw.market.engine, now) else {
                    continue;
                };
                let mut rows: BTreeMap<String, LedgerItem> = BTreeMap::new();
                let row = |ccy: &str| {
                    let mut i = LedgerItem::new(format!("LedgerList{ccy}"), stamp);
                    i.acct_code = Some(acct.clone());
                    i.second_key = Some(ccy.to_string());
                    i.severity = Some(0);
                    i
                };
                for c in &v.cash {
                    let r = rows
                        .entry(c.currency.clone())
                        .or_insert_with(|| row(&c.currency));
                    *r.cashbalance.get_or_insert(Decimal::ZERO) += c.balance;
                    r.exchange_rate = Some(c.fx_rate);
                }
                for p in &v.positions {
                    let r = rows
                        .entry(p.currency.clone())
                        .or_insert_with(|| row(&p.currency));
                    r.exchange_rate = Some(p.fx_rate);
                    *r.unrealized_pnl.get_or_insert(Decimal::ZERO) += p.unrealized_pnl;
                    match p.sec_type {
                        crate::instruments::SecType::Option => {
                            *r.option_market_value.get_or_insert(Decimal::ZERO) += p.mkt_value
                        }
                        crate::instruments::SecType::Future => {}
                        _ => *r.stock_market_value.get_or_insert(Decimal::ZERO) += p.mkt_value,
                    }
                }
                for r in rows.values_mut() {
                    let cash = r.cashbalance.unwrap_or_default();
                    r.cashbalance = Some(cents(cash));
                    r.settled_cash = Some(cents(cash));
                    r.stock_market_value = Some(cents(r.stock_market_value.unwrap_or_default()));
                    r.option_market_value = Some(cents(r.option_market_value.unwrap_or_default()));
                    r.unrealized_pnl = Some(cents(r.unrealized_pnl.unwrap_or_default()));
                    r.net_liquidation_value = Some(cents(
                        cash + r.stock_market_value.unwrap_or_default()
                            + r.option_market_value.unwrap_or_default(),
                    ));
                    r.realized_pnl = Some(Decimal::ZERO);
                }
                let s = &v.summary;
                let mut base = row("BASE");
                base.cashbalance = Some(cents(s.total_cash));
                base.settled_cash = Some(cents(s.total_cash));
                base.exchange_rate = Some(Decimal::ONE);
                base.stock_market_value = Some(cents(s.stock_market_value));
                base.option_market_value = Some(cents(s.option_market_value));
                base.net_liquidation_value = Some(cents(s.net_liquidation));
                base.unrealized_pnl = Some(cents(s.unrealized_pnl));
                base.realized_pnl = Some(cents(s.realized_pnl));
                rows.insert("BASE".into(), base);

                let mut result = Vec::new();
                for (ccy, item) in rows {
                    let key = format!("LedgerList{ccy}");
                    if !args.keys.is_empty() && !args.keys.contains(&key) {
                        continue;
                    }
                    let Ok(Value::Object(mut m)) = serde_json::to_value(&item) else {
                        continue;
                    };
                    if !args.fields.is_empty() {
                        m.retain(|k, _| {
                            k == "key"
                                || k == "timestamp"
                                || args.fields.iter().any(|f| f.eq_ignore_ascii_case(k))
                        });
                    }
                    let mut compare = m.clone();
                    compare.remove("timestamp");
                    if last.get(&key) == Some(&compare) {
                        result.push(LedgerItem::new(key, stamp));
                    } else {
                        last.insert(key, compare);
                        if let Ok(i) = serde_json::from_value::<LedgerItem>(Value::Object(m)) {
                            result.push(i);
                        }
                    }
                }
                frames.push(LedgerUpdate::new(acct, result));
            }
        }
        for f in frames {
            if !self.send(&f).await {
                return false;
            }
        }
        true
    }
}

fn unsubscribed(text: &str, topic: &str) -> Unsubscribed {
    Unsubscribed::new(text, Some(topic.to_string()))
}

/// An execution as `str` writes it: `conid` as a string, `conidex` (not `conidEx`).
fn streamed(mut t: ibkr_model::orders::Trade) -> StreamedTrade {
    if t.conidex.is_none() {
        t.conidex = t.conid_ex.take();
    }
    StreamedTrade::new(t)
}

fn cents(d: Decimal) -> Decimal {
    d.round_dp(2)
}

/// Midnight in New York of the market's day `days` days before `now`'s.
fn day_start(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    use chrono::{NaiveTime, TimeZone};
    use chrono_tz::America::New_York;
    let day = now.with_timezone(&New_York).date_naive() - chrono::Duration::days(i64::from(days));
    New_York
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map_or(now - chrono::Duration::days(i64::from(days) + 1), |t| {
            t.with_timezone(&Utc)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_in_either_form() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "x=1; api=abc; y=2".parse().unwrap());
        assert_eq!(cookie_session(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, r#"api={"session":"def"}"#.parse().unwrap());
        assert_eq!(cookie_session(&h).as_deref(), Some("def"));
        assert_eq!(cookie_session(&HeaderMap::new()), None);
    }
}
