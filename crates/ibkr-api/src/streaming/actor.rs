//! The task that owns the socket: it sends subscriptions, reads frames into the
//! subscribers' buffers, keeps the socket alive, and reconnects.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use ibkr_model::accounts::AccountId;
use ibkr_model::contracts::Conid;
use ibkr_model::market_data::{MarketDataField, Quote, SnapshotRow};
use ibkr_model::orders::{LiveOrder, LiveOrders, LiveOrdersQuery, OrderId, Trade};
use ibkr_model::streaming::{
    ClientMessage, LedgerItem, MarketDataUpdate, ServerFrame, SummaryItem,
};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::connect::{self, Connection};
use super::feed::Latest;
use super::{
    ConnectionState, Event, Gap, GapReason, Notice, OrderUpdate, PnlUpdate, StreamConfig, SubId,
    UpdateSource,
};
use crate::client::Client;

/// What a subscription asks for, with where its updates go.
pub(crate) enum Spec {
    Quotes {
        conids: BTreeSet<Conid>,
        fields: BTreeSet<MarketDataField>,
        sink: Arc<Latest<Conid, Quote>>,
    },
    Orders(mpsc::Sender<Event<OrderUpdate>>),
    Trades(mpsc::Sender<Event<Trade>>),
    Pnl(Arc<Latest<String, PnlUpdate>>),
    Summary(AccountId, Arc<Latest<String, SummaryItem>>),
    Ledger(AccountId, Arc<Latest<String, LedgerItem>>),
}

impl Spec {
    fn close(&self) {
        match self {
            Spec::Quotes { sink, .. } => sink.close(),
            Spec::Pnl(s) => s.close(),
            Spec::Summary(_, s) => s.close(),
            Spec::Ledger(_, s) => s.close(),
            // Channels close when their sender is dropped.
            Spec::Orders(_) | Spec::Trades(_) => {}
        }
    }
}

/// Messages to the task.
pub(crate) enum Command {
    Subscribe {
        id: SubId,
        spec: Spec,
    },
    Unsubscribe(SubId),
    Raw(String),
    /// The answer of the live-orders request made after a reconnection.
    Reconciled(crate::Result<LiveOrders>),
    /// The brokerage session is back.
    Reauthenticated,
}

pub(crate) struct Parts {
    pub client: Client,
    pub config: StreamConfig,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub notices: broadcast::Sender<Notice>,
    pub raw: broadcast::Sender<Arc<(String, Value)>>,
    pub state: watch::Sender<ConnectionState>,
    pub first: Connection,
}

pub(crate) fn spawn(parts: Parts) -> tokio::task::AbortHandle {
    let (internal_tx, internal) = mpsc::unbounded_channel();
    let Parts {
        client,
        config,
        commands,
        notices,
        raw,
        state,
        first,
    } = parts;
    let actor = Actor {
        client,
        config,
        commands,
        internal,
        internal_tx,
        notices,
        raw,
        state,
        subs: BTreeMap::new(),
        quotes: BTreeMap::new(),
        orders: HashMap::new(),
        executions: HashSet::new(),
        trades: Vec::new(),
        pnl: BTreeMap::new(),
        summaries: BTreeMap::new(),
        ledgers: BTreeMap::new(),
        last_frame: Utc::now(),
        paused: None,
        reauthenticating: false,
    };
    tokio::spawn(actor.run(first)).abort_handle()
}

/// A contract streamed for some subscriptions.
struct QuoteState {
    /// Every field received so far.
    row: SnapshotRow,
    /// The subscriptions that want it.
    subs: BTreeSet<SubId>,
    /// The fields asked for on this socket.
    sent_fields: BTreeSet<MarketDataField>,
}

struct Actor {
    client: Client,
    config: StreamConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    internal: mpsc::UnboundedReceiver<Command>,
    internal_tx: mpsc::UnboundedSender<Command>,
    notices: broadcast::Sender<Notice>,
    raw: broadcast::Sender<Arc<(String, Value)>>,
    state: watch::Sender<ConnectionState>,
    subs: BTreeMap<SubId, Spec>,
    quotes: BTreeMap<Conid, QuoteState>,
    /// Every order as known (merged), by id.
    orders: HashMap<OrderId, LiveOrder>,
    executions: HashSet<String>,
    trades: Vec<Trade>,
    pnl: BTreeMap<String, PnlUpdate>,
    summaries: BTreeMap<String, BTreeMap<String, SummaryItem>>,
    ledgers: BTreeMap<String, BTreeMap<String, LedgerItem>>,
    /// When the last frame came.
    last_frame: DateTime<Utc>,
    /// Since when the feeds are paused for re-authentication.
    paused: Option<DateTime<Utc>>,
    reauthenticating: bool,
}

impl Drop for Actor {
    fn drop(&mut self) {
        // Every subscription's stream ends.
        for spec in self.subs.values() {
            spec.close();
        }
    }
}

/// Why a socket's session ended.
enum Ended {
    /// The socket is gone; open another.
    Lost(GapReason),
    /// Nobody holds the streamer any more.
    Stop,
}

/// Jittered exponential backoff.
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(c: &StreamConfig) -> Self {
        Backoff {
            min: c.backoff_min,
            max: c.backoff_max,
            next: c.backoff_min,
        }
    }

    fn reset(&mut self) {
        self.next = self.min;
    }

    /// The next wait: between half and all of the current step, which then doubles.
    fn next(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter: f64 = 0.5 + rand::random::<f64>() * 0.5;
        step.mul_f64(jitter)
    }
}

fn text(m: &ClientMessage) -> Message {
    Message::text(m.to_string())
}

impl Actor {
    async fn run(mut self, first: Connection) {
        let mut backoff = Backoff::new(&self.config);
        let mut conn = Some(first);
        let mut gap: Option<Gap> = None;
        let mut connections = 0u64;
        loop {
            let c = match conn.take() {
                Some(c) => c,
                None => match connect::connect(&self.client, self.config.greeting_timeout).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::info!("websocket: reconnection failed: {e}");
                        let _ = self.notices.send(Notice::ConnectFailed(e.to_string()));
                        if e.is_auth() {
                            // Log-in state first: a new socket needs the session.
                            let _ = self.client.ensure_authenticated().await;
                        }
                        tokio::time::sleep(backoff.next()).await;
                        if self.commands_closed() {
                            return;
                        }
                        continue;
                    }
                },
            };
            connections += 1;
            backoff.reset();
            let _ = self.notices.send(Notice::Connected {
                user: c.user.clone(),
                reconnect: connections > 1,
            });
            self.state.send_modify(|s| {
                s.connected = true;
                s.connections = connections;
            });
            let ended = self.session(c, gap.take()).await;
            self.state.send_modify(|s| s.connected = false);
            match ended {
                Ended::Stop => return,
                Ended::Lost(reason) => {
                    tracing::info!("websocket lost: {reason}");
                    let _ = self.notices.send(Notice::Disconnected(reason.clone()));
                    gap = Some(Gap {
                        since: self.last_frame,
                        reason,
                    });
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    }

    fn commands_closed(&self) -> bool {
        self.commands.is_closed() && self.commands.is_empty()
    }

    /// One socket, from its greeting to its end.
    async fn session(&mut self, mut c: Connection, gap: Option<Gap>) -> Ended {
        self.last_frame = Utc::now();
        let mut last_rx = Instant::now();
        // Commands that came while no socket was open.
        while let Ok(cmd) = self.commands.try_recv() {
            if let Command::Subscribe { id, spec } = cmd {
                self.subs.insert(id, spec);
                self.register(id);
            } else {
                self.command(&mut c, cmd).await;
            }
        }
        for early in std::mem::take(&mut c.early) {
            self.frame(&mut c, &early).await;
        }
        self.resubscribe(&mut c).await;
        if let Some(g) = gap {
            self.gap(g).await;
            self.reconcile();
        }
        let mut tic = tokio::time::interval_at(
            Instant::now() + self.config.tic_every,
            self.config.tic_every,
        );
        loop {
            let silence = tokio::time::sleep_until(last_rx + self.config.silence_timeout);
            tokio::select! {
                biased;
                msg = c.socket.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        last_rx = Instant::now();
                        self.last_frame = Utc::now();
                        self.frame(&mut c, t.as_str()).await;
                    }
                    Some(Ok(Message::Close(_))) | None => {
                        return Ended::Lost(GapReason::Dropped("closed by the gateway".into()));
                    }
                    Some(Ok(_)) => {
                        last_rx = Instant::now();
                    }
                    Some(Err(e)) => return Ended::Lost(GapReason::Dropped(e.to_string())),
                },
                cmd = self.commands.recv() => match cmd {
                    Some(cmd) => self.command(&mut c, cmd).await,
                    None => {
                        let _ = c.socket.close(None).await;
                        return Ended::Stop;
                    }
                },
                Some(cmd) = self.internal.recv() => self.command(&mut c, cmd).await,
                _ = tic.tick() => {
                    let _ = c.socket.send(text(&ClientMessage::Tic)).await;
                }
                _ = silence => {
                    return Ended::Lost(GapReason::Silent(self.config.silence_timeout));
                }
            }
        }
    }

    async fn send(&self, c: &mut Connection, m: &ClientMessage) {
        if let Err(e) = c.socket.send(text(m)).await {
            tracing::debug!("websocket: cannot send {m}: {e}");
        }
    }

    // --- commands ------------------------------------------------------------------------

    async fn command(&mut self, c: &mut Connection, cmd: Command) {
        match cmd {
            Command::Subscribe { id, spec } => {
                self.subs.insert(id, spec);
                self.register(id);
                self.subscribe(c, id).await;
            }
            Command::Unsubscribe(id) => self.unsubscribe(c, id).await,
            Command::Raw(t) => {
                if let Err(e) = c.socket.send(Message::text(t)).await {
                    tracing::debug!("websocket: cannot send a raw message: {e}");
                }
            }
            Command::Reconciled(r) => self.reconciled(r).await,
            Command::Reauthenticated => {
                self.reauthenticating = false;
                let since = self.paused.take().unwrap_or(self.last_frame);
                self.state.send_modify(|s| s.paused = false);
                let _ = self.notices.send(Notice::Reauthenticated);
                self.resubscribe(c).await;
                self.gap(Gap {
                    since,
                    reason: GapReason::AuthenticationLost,
                })
                .await;
                self.reconcile();
            }
        }
    }

    /// Records a new subscription's contracts.
    fn register(&mut self, id: SubId) {
        if let Some(Spec::Quotes { conids, .. }) = self.subs.get(&id) {
            for conid in conids.clone() {
                self.quotes
                    .entry(conid)
                    .or_insert_with(|| QuoteState {
                        row: SnapshotRow::new(conid),
                        subs: BTreeSet::new(),
                        sent_fields: BTreeSet::new(),
                    })
                    .subs
                    .insert(id);
            }
        }
    }

    /// The fields every subscription wants of a contract.
    fn fields_of(&self, conid: Conid) -> BTreeSet<MarketDataField> {
        let Some(q) = self.quotes.get(&conid) else {
            return BTreeSet::new();
        };
        q.subs
            .iter()
            .filter_map(|id| match self.subs.get(id) {
                Some(Spec::Quotes { fields, .. }) => Some(fields.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn count(&self, pred: impl Fn(&Spec) -> bool) -> usize {
        self.subs.values().filter(|s| pred(s)).count()
    }

    /// Sends what a new subscription needs, and what is known already.
    async fn subscribe(&mut self, c: &mut Connection, id: SubId) {
        let Some(spec) = self.subs.get(&id) else {
            return;
        };
        match spec {
            Spec::Quotes { conids, sink, .. } => {
                let sink = sink.clone();
                for conid in conids.clone() {
                    let fields = self.fields_of(conid);
                    let Some(q) = self.quotes.get_mut(&conid) else {
                        continue;
                    };
                    if !fields.is_subset(&q.sent_fields) || q.sent_fields.is_empty() {
                        q.sent_fields = fields.clone();
                        let m = ClientMessage::market_data(conid, fields);
                        self.send(c, &m).await;
                    }
                    // IBKR sends only changes: give what is known at once.
                    if let Some(q) = self.quotes.get_mut(&conid)
                        && q.row.values().next().is_some()
                        && let Some(quote) = quote_of(&mut q.row)
                    {
                        sink.push(conid, quote);
                    }
                }
            }
            Spec::Orders(tx) => {
                let tx = tx.clone();
                if self.count(|s| matches!(s, Spec::Orders(_))) == 1 {
                    self.send(c, &ClientMessage::SubscribeOrders).await;
                }
                let mut known: Vec<&LiveOrder> = self.orders.values().collect();
                known.sort_by_key(|o| o.order_id);
                let replay: Vec<LiveOrder> = known.into_iter().cloned().collect();
                for o in replay {
                    let u = OrderUpdate {
                        order: o.clone(),
                        changes: o,
                        source: UpdateSource::Stream,
                    };
                    let _ = tx.send(Event::Update(u)).await;
                }
            }
            Spec::Trades(tx) => {
                let tx = tx.clone();
                if self.count(|s| matches!(s, Spec::Trades(_))) == 1 {
                    self.send(c, &ClientMessage::trades(false)).await;
                }
                for t in self.trades.clone() {
                    let _ = tx.send(Event::Update(t)).await;
                }
            }
            Spec::Pnl(store) => {
                if self.count(|s| matches!(s, Spec::Pnl(_))) == 1 {
                    self.send(c, &ClientMessage::SubscribePnl).await;
                }
                for (k, v) in &self.pnl {
                    store.push(k.clone(), v.clone());
                }
            }
            Spec::Summary(acct, store) => {
                let (acct, store) = (acct.clone(), store.clone());
                if self.count(|s| matches!(s, Spec::Summary(a, _) if *a == acct)) == 1 {
                    self.send(c, &ClientMessage::account_summary(&acct)).await;
                }
                for (k, v) in self.summaries.get(acct.as_str()).into_iter().flatten() {
                    store.push(k.clone(), v.clone());
                }
            }
            Spec::Ledger(acct, store) => {
                let (acct, store) = (acct.clone(), store.clone());
                if self.count(|s| matches!(s, Spec::Ledger(a, _) if *a == acct)) == 1 {
                    self.send(c, &ClientMessage::ledger(&acct)).await;
                }
                for (k, v) in self.ledgers.get(acct.as_str()).into_iter().flatten() {
                    store.push(k.clone(), v.clone());
                }
            }
        }
    }

    async fn unsubscribe(&mut self, c: &mut Connection, id: SubId) {
        let Some(spec) = self.subs.remove(&id) else {
            return;
        };
        spec.close();
        match &spec {
            Spec::Quotes { conids, .. } => {
                for conid in conids {
                    let Some(q) = self.quotes.get_mut(conid) else {
                        continue;
                    };
                    q.subs.remove(&id);
                    if q.subs.is_empty() {
                        self.quotes.remove(conid);
                        self.send(c, &ClientMessage::unsubscribe_market_data(*conid))
                            .await;
                    }
                }
            }
            Spec::Orders(_) => {
                if self.count(|s| matches!(s, Spec::Orders(_))) == 0 {
                    self.send(c, &ClientMessage::UnsubscribeOrders).await;
                }
            }
            Spec::Trades(_) => {
                if self.count(|s| matches!(s, Spec::Trades(_))) == 0 {
                    self.send(c, &ClientMessage::UnsubscribeTrades).await;
                }
            }
            Spec::Pnl(_) => {
                if self.count(|s| matches!(s, Spec::Pnl(_))) == 0 {
                    self.send(c, &ClientMessage::UnsubscribePnl).await;
                }
            }
            Spec::Summary(acct, _) => {
                if self.count(|s| matches!(s, Spec::Summary(a, _) if a == acct)) == 0 {
                    let m = ClientMessage::UnsubscribeAccountSummary {
                        account: acct.clone(),
                    };
                    self.send(c, &m).await;
                }
            }
            Spec::Ledger(acct, _) => {
                if self.count(|s| matches!(s, Spec::Ledger(a, _) if a == acct)) == 0 {
                    let m = ClientMessage::UnsubscribeLedger {
                        account: acct.clone(),
                    };
                    self.send(c, &m).await;
                }
            }
        }
    }

    /// Sends every live subscription again (a new socket, or after re-authentication).
    async fn resubscribe(&mut self, c: &mut Connection) {
        let conids: Vec<Conid> = self.quotes.keys().copied().collect();
        for conid in conids {
            let fields = self.fields_of(conid);
            if let Some(q) = self.quotes.get_mut(&conid) {
                q.sent_fields = fields.clone();
            }
            self.send(c, &ClientMessage::market_data(conid, fields))
                .await;
        }
        if self.count(|s| matches!(s, Spec::Orders(_))) > 0 {
            self.send(c, &ClientMessage::SubscribeOrders).await;
        }
        if self.count(|s| matches!(s, Spec::Trades(_))) > 0 {
            // The day's executions again: those already seen are skipped by id.
            self.send(c, &ClientMessage::trades(false)).await;
        }
        if self.count(|s| matches!(s, Spec::Pnl(_))) > 0 {
            self.send(c, &ClientMessage::SubscribePnl).await;
        }
        let accounts: BTreeSet<(bool, AccountId)> = self
            .subs
            .values()
            .filter_map(|s| match s {
                Spec::Summary(a, _) => Some((true, a.clone())),
                Spec::Ledger(a, _) => Some((false, a.clone())),
                _ => None,
            })
            .collect();
        for (summary, a) in accounts {
            let m = if summary {
                ClientMessage::account_summary(&a)
            } else {
                ClientMessage::ledger(&a)
            };
            self.send(c, &m).await;
        }
    }

    /// Tells every subscriber that updates may be missing.
    async fn gap(&mut self, g: Gap) {
        let mut channels = Vec::new();
        for spec in self.subs.values() {
            match spec {
                Spec::Quotes { sink, .. } => sink.gap(g.clone()),
                Spec::Pnl(s) => s.gap(g.clone()),
                Spec::Summary(_, s) => s.gap(g.clone()),
                Spec::Ledger(_, s) => s.gap(g.clone()),
                Spec::Orders(tx) => channels.push(Channel::Orders(tx.clone())),
                Spec::Trades(tx) => channels.push(Channel::Trades(tx.clone())),
            }
        }
        for ch in channels {
            match ch {
                Channel::Orders(tx) => {
                    let _ = tx.send(Event::Gap(g.clone())).await;
                }
                Channel::Trades(tx) => {
                    let _ = tx.send(Event::Gap(g.clone())).await;
                }
            }
        }
    }

    /// Asks for the live orders, to emit what the socket missed.
    fn reconcile(&self) {
        if self.count(|s| matches!(s, Spec::Orders(_))) == 0 {
            return;
        }
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            // Unfiltered: a filtered request silences `sor` (IBKR's documentation).
            let r = client.live_orders(&LiveOrdersQuery::new()).await;
            let _ = tx.send(Command::Reconciled(r));
        });
    }

    async fn reconciled(&mut self, r: crate::Result<LiveOrders>) {
        let live = match r {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("websocket: order reconciliation failed: {e}");
                return;
            }
        };
        let mut updates = Vec::new();
        for o in live.orders {
            let known = self.orders.get(&o.order_id);
            if !is_progress(known, &o) {
                continue;
            }
            let merged = merge_order(known, &o);
            self.orders.insert(o.order_id, merged.clone());
            updates.push(OrderUpdate {
                order: merged,
                changes: o,
                source: UpdateSource::Reconciliation,
            });
        }
        self.emit_orders(updates).await;
    }

    async fn emit_orders(&mut self, updates: Vec<OrderUpdate>) {
        if updates.is_empty() {
            return;
        }
        let txs: Vec<mpsc::Sender<Event<OrderUpdate>>> = self
            .subs
            .values()
            .filter_map(|s| match s {
                Spec::Orders(tx) => Some(tx.clone()),
                _ => None,
            })
            .collect();
        for u in updates {
            for tx in &txs {
                // Waits when the consumer is behind: order updates are never dropped.
                let _ = tx.send(Event::Update(u.clone())).await;
            }
        }
    }

    // --- frames --------------------------------------------------------------------------

    async fn frame(&mut self, c: &mut Connection, text: &str) {
        let frame = match ServerFrame::decode(text) {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!("websocket: {e}");
                return;
            }
        };
        if self.raw.receiver_count() > 0 {
            let topic = frame.topic().unwrap_or_default().to_string();
            let _ = self.raw.send(Arc::new((topic, frame.to_value())));
        }
        match frame {
            ServerFrame::MarketData(md) => self.market_data(&md),
            ServerFrame::Orders(o) => {
                let mut updates = Vec::new();
                for delta in o.args {
                    let known = self.orders.get(&delta.order_id);
                    let merged = merge_order(known, &delta);
                    if known == Some(&merged) {
                        continue;
                    }
                    self.orders.insert(delta.order_id, merged.clone());
                    updates.push(OrderUpdate {
                        order: merged,
                        changes: delta,
                        source: UpdateSource::Stream,
                    });
                }
                self.emit_orders(updates).await;
            }
            ServerFrame::Trades(t) => {
                let txs: Vec<mpsc::Sender<Event<Trade>>> = self
                    .subs
                    .values()
                    .filter_map(|s| match s {
                        Spec::Trades(tx) => Some(tx.clone()),
                        _ => None,
                    })
                    .collect();
                for s in t.args {
                    if !self.executions.insert(s.trade.execution_id.clone()) {
                        continue;
                    }
                    self.trades.push(s.trade.clone());
                    for tx in &txs {
                        let _ = tx.send(Event::Update(s.trade.clone())).await;
                    }
                }
            }
            ServerFrame::Pnl(p) => {
                for (key, entry) in p.args {
                    let u = PnlUpdate { key, entry };
                    self.pnl.insert(u.key.clone(), u.clone());
                    for s in self.subs.values() {
                        if let Spec::Pnl(store) = s {
                            store.push(u.key.clone(), u.clone());
                        }
                    }
                }
            }
            ServerFrame::AccountSummary(s) => {
                let acct = s.topic.split_once('+').map_or("", |(_, a)| a).to_string();
                let known = self.summaries.entry(acct.clone()).or_default();
                for item in s.result {
                    known.insert(item.key.clone(), item.clone());
                    for spec in self.subs.values() {
                        if let Spec::Summary(a, store) = spec
                            && a.as_str() == acct
                        {
                            store.push(item.key.clone(), item.clone());
                        }
                    }
                }
            }
            ServerFrame::Ledger(l) => {
                let acct = l.topic.split_once('+').map_or("", |(_, a)| a).to_string();
                let known = self.ledgers.entry(acct.clone()).or_default();
                for item in l.result.into_iter().filter(LedgerItem::has_values) {
                    known.insert(item.key.clone(), item.clone());
                    for spec in self.subs.values() {
                        if let Spec::Ledger(a, store) = spec
                            && a.as_str() == acct
                        {
                            store.push(item.key.clone(), item.clone());
                        }
                    }
                }
            }
            ServerFrame::Status(s) => {
                let lost = s.args.authenticated == Some(false);
                let _ = self.notices.send(Notice::Status(s.args));
                if lost && self.paused.is_none() {
                    self.pause();
                }
            }
            ServerFrame::System(s) => {
                let _ = self.notices.send(Notice::System(s));
            }
            ServerFrame::Accounts(a) => {
                let _ = self.notices.send(Notice::Accounts(Box::new(a.args)));
            }
            ServerFrame::Notification(n) => {
                let _ = self.notices.send(Notice::Notification(n.args));
            }
            ServerFrame::Bulletin(b) => {
                let _ = self.notices.send(Notice::Bulletin(b.args));
            }
            ServerFrame::Error(e) => {
                let _ = self.notices.send(Notice::Error(e));
            }
            ServerFrame::Message(m) if m.is_waiting_for_session() => {
                let m = ClientMessage::Session(c.session.clone());
                self.send(c, &m).await;
            }
            _ => {}
        }
    }

    fn market_data(&mut self, md: &MarketDataUpdate) {
        let Some(conid) = md.contract() else {
            return;
        };
        let Some(q) = self.quotes.get_mut(&conid) else {
            return;
        };
        md.merge_into(&mut q.row);
        let Some(quote) = quote_of(&mut q.row) else {
            return;
        };
        for id in &q.subs {
            if let Some(Spec::Quotes { sink, .. }) = self.subs.get(id) {
                sink.push(conid, quote.clone());
            }
        }
    }

    /// The brokerage session is lost: pause and re-authenticate in the background.
    fn pause(&mut self) {
        self.paused = Some(self.last_frame);
        self.state.send_modify(|s| s.paused = true);
        let _ = self.notices.send(Notice::AuthenticationLost);
        if self.reauthenticating {
            return;
        }
        self.reauthenticating = true;
        let client = self.client.clone();
        let tx = self.internal_tx.clone();
        let notices = self.notices.clone();
        let mut backoff = Backoff::new(&self.config);
        tokio::spawn(async move {
            loop {
                if tx.is_closed() {
                    return;
                }
                match client.ensure_authenticated().await {
                    Ok(_) => {
                        let _ = tx.send(Command::Reauthenticated);
                        return;
                    }
                    Err(e) => {
                        tracing::info!("websocket: re-authentication failed: {e}");
                        let _ = notices.send(Notice::ReauthenticationFailed(e.to_string()));
                        tokio::time::sleep(backoff.next()).await;
                    }
                }
            }
        });
    }
}

enum Channel {
    Orders(mpsc::Sender<Event<OrderUpdate>>),
    Trades(mpsc::Sender<Event<Trade>>),
}

/// The typed quote of a merged row; a value IBKR formats in a way this library does not
/// read is dropped (and logged) rather than failing the whole quote.
fn quote_of(row: &mut SnapshotRow) -> Option<Quote> {
    for _ in 0..16 {
        match row.quote() {
            Ok(q) => return Some(q),
            Err(e) => {
                tracing::warn!("websocket: {e}; value ignored");
                let f = e.field?;
                row.fields.remove(&f.id().to_string());
            }
        }
    }
    None
}

/// An order with a change applied: the change's fields replace the order's.
fn merge_order(base: Option<&LiveOrder>, delta: &LiveOrder) -> LiveOrder {
    let Some(base) = base else {
        return delta.clone();
    };
    let (Ok(Value::Object(mut b)), Ok(Value::Object(d))) =
        (serde_json::to_value(base), serde_json::to_value(delta))
    else {
        return delta.clone();
    };
    for (k, v) in d {
        b.insert(k, v);
    }
    serde_json::from_value(Value::Object(b)).unwrap_or_else(|_| delta.clone())
}

/// Whether the live-orders answer shows an order further on than known: unknown, a
/// status change (a finished order never goes back), or more filled.
fn is_progress(known: Option<&LiveOrder>, now: &LiveOrder) -> bool {
    let Some(k) = known else {
        return true;
    };
    let finished = k.status.as_ref().is_some_and(|s| s.is_final());
    let filled_more = match (k.filled_quantity, now.filled_quantity) {
        (Some(a), Some(b)) => b > a,
        (None, Some(b)) => !b.is_zero(),
        _ => false,
    };
    if filled_more {
        return true;
    }
    !finished && now.status.is_some() && now.status != k.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibkr_model::orders::OrderStatus;

    fn order(id: i64, status: OrderStatus, filled: i64) -> LiveOrder {
        let mut o = LiveOrder::new("DU1", OrderId(id));
        o.status = Some(status);
        o.filled_quantity = Some(filled.into());
        o
    }

    #[test]
    fn reconciliation_only_moves_orders_forward() {
        let sub = order(1, OrderStatus::Submitted, 0);
        let filled = order(1, OrderStatus::Filled, 10);
        assert!(is_progress(None, &sub));
        assert!(is_progress(Some(&sub), &filled));
        assert!(!is_progress(Some(&filled), &sub), "never back from Filled");
        assert!(!is_progress(Some(&sub), &sub));
        assert!(is_progress(
            Some(&order(1, OrderStatus::Submitted, 2)),
            &order(1, OrderStatus::Submitted, 5)
        ));
    }

    #[test]
    fn deltas_merge_into_the_order() {
        let mut whole = order(7, OrderStatus::Submitted, 0);
        whole.ticker = Some("AAPL".into());
        let delta = order(7, OrderStatus::Filled, 10);
        let m = merge_order(Some(&whole), &delta);
        assert_eq!(m.ticker.as_deref(), Some("AAPL"));
        assert_eq!(m.status, Some(OrderStatus::Filled));
        assert_eq!(m.filled_quantity, Some(10.into()));
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_bounded() {
        let c = StreamConfig::default().backoff(Duration::from_millis(100), Duration::from_secs(1));
        let mut b = Backoff::new(&c);
        let waits: Vec<Duration> = (0..8).map(|_| b.next()).collect();
        assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(1)));
        assert!(waits[7] >= Duration::from_millis(500));
        b.reset();
        assert!(b.next() <= Duration::from_millis(100));
    }
}
