//! Streaming over the gateway's WebSocket (`wss://<gateway>/v1/api/ws`): quotes, order
//! updates, executions, P&L, account summary and ledger, and the gateway's notices.
//!
//! [`Client::stream`] opens one socket and starts a background task that owns it.
//! Each subscription is a typed [`Stream`] of [`Event`]s plus a
//! handle: dropping the subscription (or its [`SubscriptionHandle`]) unsubscribes.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use ibkr_api::model::contracts::Conid;
//! use ibkr_api::model::market_data::MarketDataField;
//! use ibkr_api::streaming::Event;
//!
//! # async fn run(client: ibkr_api::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let streamer = client.stream().await?;
//! let mut quotes = streamer.quotes(&[Conid(265598)], &[MarketDataField::Last, MarketDataField::Bid]);
//! while let Some(event) = quotes.next().await {
//!     match event {
//!         Event::Update(q) => println!("{} last {:?} bid {:?}", q.conid, q.last, q.bid),
//!         Event::Gap(gap) => println!("no data since {} ({})", gap.since, gap.reason),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # What the task takes care of
//!
//! - **Merging.** IBKR sends only the market-data fields that changed; each update is
//!   the contract's whole [`Quote`] with every field received so far.
//! - **Keep-alive.** `tic` about every minute ([`StreamConfig::tic_every`]); the server's
//!   heartbeats (every 10 s) are watched: a socket silent for
//!   [`StreamConfig::silence_timeout`] (20 s) is given up.
//!   IBKR still wants `/tickle` every few
//!   minutes besides: keep [`Client::keep_alive`] running alongside.
//! - **Reconnection.** A dropped or silent socket is reopened, with jittered exponential
//!   backoff, and every live subscription is sent again (IBKR documents no expiry of
//!   market-data subscriptions on the socket, so renewing them on each new socket is
//!   all they need). Subscribers then get an [`Event::Gap`] saying since when data may
//!   be missing: never silence.
//! - **Authentication.** An `sts` frame saying the brokerage session is lost pauses the
//!   feeds, re-authenticates ([`Client::ensure_authenticated`]), and resubscribes; a
//!   [`Gap`] marks the pause.
//! - **Complete order updates.** After a reconnection or a re-authentication the order
//!   feed is reconciled with [`Client::live_orders`] (unfiltered: a filtered call
//!   silences `sor`), and any change the socket missed is emitted
//!   ([`UpdateSource::Reconciliation`]).
//!
//! # Buffers
//!
//! Every buffer is bounded. Quotes, P&L, account summary and ledger are latest value
//! wins per key: a slow consumer gets the newest value of each contract (or account
//! entry), never a backlog. Order updates and executions are never dropped: they go
//! through a channel of [`StreamConfig::order_buffer`] entries, and when a consumer lets
//! it fill, the socket's task waits for it (reading from the socket pauses, and TCP
//! holds the rest). Raw frames and notices are broadcasts: a receiver that falls more
//! than their capacity behind loses the oldest.

mod actor;
mod connect;
mod feed;

use std::collections::BTreeSet;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use ibkr_model::accounts::{AccountId, BrokerageAccounts, PnlEntry};
use ibkr_model::contracts::Conid;
use ibkr_model::market_data::{MarketDataField, Quote};
use ibkr_model::orders::{LiveOrder, Trade};
use ibkr_model::streaming::{
    BulletinArgs, ErrorFrame, LedgerItem, NotificationArgs, SessionStatus, SummaryItem,
    SystemMessage,
};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, watch};

use crate::client::Client;

pub(crate) use connect::Transport;
pub use feed::Feed;

/// Settings of a [`Streamer`].
///
/// ```
/// use std::time::Duration;
/// use ibkr_api::streaming::StreamConfig;
/// let c = StreamConfig::default().heartbeat(Duration::from_millis(300));
/// assert_eq!(c.silence_timeout, Duration::from_millis(600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// The server's heartbeat interval: IBKR sends one every 10 s.
    pub heartbeat: Duration,
    /// A socket without any frame for this long is given up and reopened; 2 × the
    /// heartbeat by default.
    pub silence_timeout: Duration,
    /// How often `tic` is sent; IBKR advises at least once a minute.
    pub tic_every: Duration,
    /// The first wait before reopening a socket; doubled at each failure, jittered.
    pub backoff_min: Duration,
    /// The longest wait between two attempts.
    pub backoff_max: Duration,
    /// How long the gateway may take to greet a new socket.
    pub greeting_timeout: Duration,
    /// Capacity of each order and execution channel.
    pub order_buffer: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            heartbeat: Duration::from_secs(10),
            silence_timeout: Duration::from_secs(20),
            tic_every: Duration::from_secs(55),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(15),
            greeting_timeout: Duration::from_secs(10),
            order_buffer: 256,
        }
    }
}

impl StreamConfig {
    /// Sets the server's heartbeat interval, and the silence timeout to twice it.
    pub fn heartbeat(mut self, d: Duration) -> Self {
        self.heartbeat = d;
        self.silence_timeout = d * 2;
        self
    }

    /// Sets how long a silent socket is kept.
    pub fn silence_timeout(mut self, d: Duration) -> Self {
        self.silence_timeout = d;
        self
    }

    /// Sets how often `tic` is sent.
    pub fn tic_every(mut self, d: Duration) -> Self {
        self.tic_every = d;
        self
    }

    /// Sets the reconnection backoff's bounds.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Sets the capacity of the order and execution channels (at least 1).
    pub fn order_buffer(mut self, n: usize) -> Self {
        self.order_buffer = n.max(1);
        self
    }
}

/// What a subscription yields: an update, or a notice that updates may have been
/// missed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<T> {
    /// An update.
    Update(T),
    /// The socket was lost (or the session paused) since `since`: updates of that time
    /// may be missing. Quotes resume with whole values; order updates are reconciled.
    Gap(Gap),
}

impl<T> Event<T> {
    /// The update, if this is one.
    pub fn update(self) -> Option<T> {
        match self {
            Event::Update(t) => Some(t),
            Event::Gap(_) => None,
        }
    }
}

/// A stretch of time in which updates may have been missed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gap {
    /// When the last frame before the interruption arrived.
    pub since: DateTime<Utc>,
    /// Why.
    pub reason: GapReason,
}

/// Why a [`Gap`] happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GapReason {
    /// The socket broke or was closed.
    Dropped(String),
    /// Nothing came for this long (heartbeats included).
    Silent(Duration),
    /// The gateway said the brokerage session was lost; it was re-authenticated.
    AuthenticationLost,
}

impl fmt::Display for GapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GapReason::Dropped(why) => write!(f, "connection dropped: {why}"),
            GapReason::Silent(d) => write!(f, "nothing received for {:.1}s", d.as_secs_f32()),
            GapReason::AuthenticationLost => f.write_str("brokerage session lost"),
        }
    }
}

/// Where an [`OrderUpdate`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateSource {
    /// The `sor` topic.
    Stream,
    /// The live-orders request after a reconnection: a change the socket missed.
    Reconciliation,
}

/// A change of an order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OrderUpdate {
    /// The order with every field received so far.
    pub order: LiveOrder,
    /// What came: the fields that changed (`sor` deltas), or the whole order.
    pub changes: LiveOrder,
    /// Where it came from.
    pub source: UpdateSource,
}

/// A P&L entry (`spl`): `key` is `{accountId}.Core`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PnlUpdate {
    /// `{accountId}.Core`.
    pub key: String,
    /// Daily and unrealized P&L, net liquidation, excess liquidity, market value.
    pub entry: PnlEntry,
}

impl PnlUpdate {
    /// The account: the key without `.Core`.
    pub fn account(&self) -> &str {
        self.key.split('.').next().unwrap_or(&self.key)
    }
}

/// Something the gateway said outside any subscription, or a change of the
/// connection.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Notice {
    /// A socket is open and greeted; `reconnect` is false for the first one.
    Connected {
        /// The user.
        user: Option<String>,
        /// Whether it replaces a lost socket.
        reconnect: bool,
    },
    /// The socket was lost; a new one is being opened.
    Disconnected(GapReason),
    /// Opening a socket failed; it will be tried again.
    ConnectFailed(String),
    /// `system`: the greeting and the heartbeats.
    System(SystemMessage),
    /// `sts`: the brokerage session's state.
    Status(SessionStatus),
    /// `act`: the login's accounts.
    Accounts(Box<BrokerageAccounts>),
    /// `ntf`: a notification.
    Notification(NotificationArgs),
    /// `blt`: a bulletin.
    Bulletin(BulletinArgs),
    /// An error frame (e.g. an unknown topic).
    Error(ErrorFrame),
    /// The brokerage session was lost: feeds are paused while re-authenticating.
    AuthenticationLost,
    /// The brokerage session is back: feeds resumed.
    Reauthenticated,
    /// A re-authentication attempt failed; it will be tried again.
    ReauthenticationFailed(String),
}

/// Why streaming could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A REST call needed first (`/tickle` for the session id) failed.
    #[error(transparent)]
    Api(#[from] crate::Error),
    /// The socket could not be opened.
    #[error("websocket {url}: cannot connect ({detail}); is the gateway running and reachable?")]
    Connect {
        /// The socket's address.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The gateway's certificate was refused.
    #[error(
        "websocket {url}: the gateway's certificate is not trusted ({detail}); pin it with ClientBuilder::pin_certificate_sha256"
    )]
    Certificate {
        /// The socket's address.
        url: String,
        /// Why.
        detail: String,
    },
    /// The gateway answered the upgrade with an HTTP status (401: not logged in).
    #[error("websocket {url}: the gateway refused the connection with HTTP {status}{}", if *status == 401 { "; log in to the gateway first" } else { "" })]
    Refused {
        /// The socket's address.
        url: String,
        /// The status.
        status: u16,
    },
    /// The socket opened but the gateway did not greet it.
    #[error("websocket {url}: {detail}")]
    Handshake {
        /// The socket's address.
        url: String,
        /// What went wrong.
        detail: String,
    },
}

impl StreamError {
    /// Whether logging in (or re-authenticating) could cure this error.
    pub fn is_auth(&self) -> bool {
        match self {
            StreamError::Api(e) => e.is_auth(),
            StreamError::Refused { status, .. } => *status == 401,
            _ => false,
        }
    }
}

/// A subscription's identity.
pub(crate) type SubId = u64;

/// Drop it to unsubscribe (the subscription's stream then ends).
pub struct SubscriptionHandle {
    id: SubId,
    cmds: mpsc::UnboundedSender<actor::Command>,
}

impl fmt::Debug for SubscriptionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionHandle")
            .field("id", &self.id)
            .finish()
    }
}

impl SubscriptionHandle {
    /// Unsubscribes now (as dropping does).
    pub fn unsubscribe(self) {}
}

impl Drop for SubscriptionHandle {
    fn drop(&mut self) {
        let _ = self.cmds.send(actor::Command::Unsubscribe(self.id));
    }
}

/// A subscription: a [`Stream`] of [`Event`]s, and the handle that keeps it.
/// Dropping it unsubscribes; [`split`](Self::split) separates the two.
#[derive(Debug)]
pub struct Subscription<T> {
    feed: Feed<T>,
    handle: SubscriptionHandle,
}

impl<T> Subscription<T> {
    /// The stream and the handle, apart: the stream ends once the handle is dropped.
    pub fn split(self) -> (Feed<T>, SubscriptionHandle) {
        (self.feed, self.handle)
    }

    /// The next event; `None` once the subscription ended (the streamer stopped).
    pub async fn recv(&mut self) -> Option<Event<T>> {
        self.feed.recv().await
    }

    /// How many updates wait in the buffer.
    pub fn pending(&self) -> usize {
        self.feed.pending()
    }
}

impl<T> Stream for Subscription<T> {
    type Item = Event<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().feed).poll_next(cx)
    }
}

/// Quotes of some contracts: each update is one contract's whole quote.
pub type QuoteSubscription = Subscription<Quote>;
/// Order updates.
pub type OrderSubscription = Subscription<OrderUpdate>;
/// Executions.
pub type TradeSubscription = Subscription<Trade>;
/// P&L entries.
pub type PnlSubscription = Subscription<PnlUpdate>;
/// Account summary values.
pub type SummarySubscription = Subscription<SummaryItem>;
/// Ledger entries (one per currency, and `LedgerListBASE`).
pub type LedgerSubscription = Subscription<LedgerItem>;

/// Raw frames of a topic, as JSON (a [`Stream`] of [`Value`]s). A receiver more than
/// 1024 frames behind loses the oldest.
pub struct RawFrames {
    prefix: String,
    inner: tokio_stream::wrappers::BroadcastStream<Arc<(String, Value)>>,
}

impl fmt::Debug for RawFrames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawFrames")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RawFrames {
    /// The next frame whose topic starts with the prefix; `None` once the streamer
    /// stopped.
    pub async fn recv(&mut self) -> Option<Value> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for RawFrames {
    type Item = Value;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Value>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Ok(f))) if f.0.starts_with(&this.prefix) => {
                    return Poll::Ready(Some(f.1.clone()));
                }
                // Another topic, or frames lost to lag: the next one.
                Poll::Ready(Some(_)) => continue,
            }
        }
    }
}

/// The state of a streamer's connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConnectionState {
    /// Whether a socket is open and greeted.
    pub connected: bool,
    /// Sockets opened since the start (the first included).
    pub connections: u64,
    /// Whether the feeds are paused for re-authentication.
    pub paused: bool,
}

/// One WebSocket and the task that owns it. Cheap to clone; the task stops when the
/// last clone is dropped (every subscription then ends).
#[derive(Clone)]
pub struct Streamer {
    shared: Arc<Shared>,
}

struct Shared {
    cmds: mpsc::UnboundedSender<actor::Command>,
    next_id: AtomicU64,
    notices: broadcast::Sender<Notice>,
    raw: broadcast::Sender<Arc<(String, Value)>>,
    state: watch::Receiver<ConnectionState>,
    order_buffer: usize,
    task: tokio::task::AbortHandle,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for Streamer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streamer")
            .field("state", &*self.shared.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens the gateway's WebSocket with the default [`StreamConfig`]: gets the session
    /// id from `/tickle`, connects with the same TLS policy as the requests, waits for
    /// the gateway's greeting, and leaves the socket to a background task.
    pub async fn stream(&self) -> Result<Streamer, StreamError> {
        self.stream_with(StreamConfig::default()).await
    }

    /// [`stream`](Self::stream) with settings.
    pub async fn stream_with(&self, config: StreamConfig) -> Result<Streamer, StreamError> {
        let first = connect::connect(self, config.greeting_timeout).await?;
        let (cmds, rx) = mpsc::unbounded_channel();
        let (notices, _) = broadcast::channel(256);
        let (raw, _) = broadcast::channel(1024);
        let (state_tx, state) = watch::channel(ConnectionState::default());
        let order_buffer = config.order_buffer;
        let task = actor::spawn(actor::Parts {
            client: self.clone(),
            config,
            commands: rx,
            notices: notices.clone(),
            raw: raw.clone(),
            state: state_tx,
            first,
        });
        Ok(Streamer {
            shared: Arc::new(Shared {
                cmds,
                next_id: AtomicU64::new(1),
                notices,
                raw,
                state,
                order_buffer,
                task,
            }),
        })
    }
}

impl Streamer {
    fn id(&self) -> SubId {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn subscribe<T>(&self, feed: Feed<T>, spec: actor::Spec) -> Subscription<T> {
        let id = self.id();
        let _ = self
            .shared
            .cmds
            .send(actor::Command::Subscribe { id, spec });
        Subscription {
            feed,
            handle: SubscriptionHandle {
                id,
                cmds: self.shared.cmds.clone(),
            },
        }
    }

    /// Quotes of these contracts with these fields (`smd`): each update is the
    /// contract's [`Quote`] with every field received so far. Latest value wins per
    /// contract. Dropping the subscription unsubscribes the contracts no other
    /// subscription streams (`umd`).
    pub fn quotes(&self, conids: &[Conid], fields: &[MarketDataField]) -> QuoteSubscription {
        let store = feed::Latest::<Conid, Quote>::new();
        let spec = actor::Spec::Quotes {
            conids: conids.iter().copied().collect::<BTreeSet<_>>(),
            fields: fields.iter().copied().collect(),
            sink: store.clone(),
        };
        self.subscribe(Feed::latest(store), spec)
    }

    /// Order updates (`sor`): the orders at once, then each change, complete across
    /// reconnections (see the [module docs](self)). Never dropped: a consumer that lets
    /// [`StreamConfig::order_buffer`] updates pile up holds the socket's reading.
    pub fn orders(&self) -> OrderSubscription {
        let (tx, rx) = mpsc::channel(self.shared.order_buffer);
        self.subscribe(Feed::channel(rx), actor::Spec::Orders(tx))
    }

    /// Executions (`str`): today's first, then each new one, each once (by execution
    /// id, across reconnections). Never dropped, as orders.
    pub fn trades(&self) -> TradeSubscription {
        let (tx, rx) = mpsc::channel(self.shared.order_buffer);
        self.subscribe(Feed::channel(rx), actor::Spec::Trades(tx))
    }

    /// Profit and loss of the login's accounts (`spl`). Latest value wins per account.
    pub fn pnl(&self) -> PnlSubscription {
        let store = feed::Latest::<String, PnlUpdate>::new();
        self.subscribe(Feed::latest(store.clone()), actor::Spec::Pnl(store))
    }

    /// Account summary values of an account (`ssd`). Latest value wins per key.
    pub fn account_summary(&self, account: &AccountId) -> SummarySubscription {
        let store = feed::Latest::<String, SummaryItem>::new();
        self.subscribe(
            Feed::latest(store.clone()),
            actor::Spec::Summary(account.clone(), store),
        )
    }

    /// Ledger entries of an account (`sld`), one per currency that changed (IBKR sends
    /// every 10 s). Latest value wins per currency.
    pub fn ledger(&self, account: &AccountId) -> LedgerSubscription {
        let store = feed::Latest::<String, LedgerItem>::new();
        self.subscribe(
            Feed::latest(store.clone()),
            actor::Spec::Ledger(account.clone(), store),
        )
    }

    /// The frames whose topic starts with `topic` (`smd`, `smd+265598`, `sor`, `system`,
    /// ...), as JSON, whatever subscribes to them. Subscribe with
    /// [`send_raw`](Self::send_raw) for topics without a typed call.
    pub fn raw(&self, topic: &str) -> RawFrames {
        RawFrames {
            prefix: topic.to_string(),
            inner: tokio_stream::wrappers::BroadcastStream::new(self.shared.raw.subscribe()),
        }
    }

    /// Sends a message as is (e.g. `smh+265598+{"period":"1d","bar":"1h"}`). It is not
    /// sent again after a reconnection.
    pub fn send_raw(&self, text: impl Into<String>) {
        let _ = self.shared.cmds.send(actor::Command::Raw(text.into()));
    }

    /// The gateway's notices (`sts`, `ntf`, `blt`, `system`, errors) and the
    /// connection's changes. A receiver more than 256 notices behind loses the oldest.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.shared.notices.subscribe()
    }

    /// The connection's state now.
    pub fn state(&self) -> ConnectionState {
        self.shared.state.borrow().clone()
    }

    /// Changes of the connection's state.
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.clone()
    }
}
