//! The buffers between the socket's task and the subscribers.
//!
//! - [`Latest`]: latest value wins, per key (a contract, an account): a slow consumer
//!   gets the newest value of each key, in the order the keys changed, and the buffer
//!   never holds more than one value per key.
//! - a bounded channel, for updates that must all arrive (orders, executions): when it is
//!   full, the socket's task waits (backpressure) instead of dropping.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::Stream;
use tokio::sync::mpsc;

use super::{Event, Gap};

/// A latest-value-wins buffer, keyed.
pub(crate) struct Latest<K, V> {
    inner: Mutex<LatestInner<K, V>>,
}

struct LatestInner<K, V> {
    order: VecDeque<K>,
    values: HashMap<K, V>,
    gap: Option<Gap>,
    closed: bool,
    waker: Option<Waker>,
}

impl<K: Hash + Eq + Clone, V> Latest<K, V> {
    pub fn new() -> Arc<Self> {
        Arc::new(Latest {
            inner: Mutex::new(LatestInner {
                order: VecDeque::new(),
                values: HashMap::new(),
                gap: None,
                closed: false,
                waker: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LatestInner<K, V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the key's pending value (or queues the key).
    pub fn push(&self, key: K, value: V) {
        let mut g = self.lock();
        if g.closed {
            return;
        }
        if g.values.insert(key.clone(), value).is_none() {
            g.order.push_back(key);
        }
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    }

    /// Announces a gap (delivered before any value still pending).
    pub fn gap(&self, gap: Gap) {
        let mut g = self.lock();
        if g.gap.is_none() {
            g.gap = Some(gap);
        }
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    }

    /// No more values: the stream ends once drained.
    pub fn close(&self) {
        let mut g = self.lock();
        g.closed = true;
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    }

    /// Values waiting to be taken (for tests of boundedness).
    pub fn pending(&self) -> usize {
        self.lock().values.len()
    }
}

/// What a [`Feed`] reads from.
pub(crate) trait Source<T>: Send + Sync {
    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Event<T>>>;
    fn pending(&self) -> usize;
}

impl<K: Hash + Eq + Clone + Send, V: Send> Source<V> for Latest<K, V> {
    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Event<V>>> {
        let mut g = self.lock();
        if let Some(gap) = g.gap.take() {
            return Poll::Ready(Some(Event::Gap(gap)));
        }
        while let Some(k) = g.order.pop_front() {
            if let Some(v) = g.values.remove(&k) {
                return Poll::Ready(Some(Event::Update(v)));
            }
        }
        if g.closed {
            return Poll::Ready(None);
        }
        g.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn pending(&self) -> usize {
        Latest::pending(self)
    }
}

/// The receiving end of a subscription: a [`Stream`] of [`Event`]s.
pub struct Feed<T> {
    inner: FeedInner<T>,
}

enum FeedInner<T> {
    Latest(Arc<dyn Source<T>>),
    Channel(mpsc::Receiver<Event<T>>),
}

impl<T> std::fmt::Debug for Feed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            FeedInner::Latest(_) => "latest value wins",
            FeedInner::Channel(_) => "every update",
        };
        f.debug_struct("Feed").field("kind", &kind).finish()
    }
}

impl<T> Feed<T> {
    pub(crate) fn latest(source: Arc<dyn Source<T>>) -> Self {
        Feed {
            inner: FeedInner::Latest(source),
        }
    }

    pub(crate) fn channel(rx: mpsc::Receiver<Event<T>>) -> Self {
        Feed {
            inner: FeedInner::Channel(rx),
        }
    }

    /// How many updates wait in the buffer (at most one per key for quotes, P&L and
    /// account values; at most the channel's capacity for orders and executions).
    pub fn pending(&self) -> usize {
        match &self.inner {
            FeedInner::Latest(s) => s.pending(),
            FeedInner::Channel(rx) => rx.len(),
        }
    }

    /// The next event; `None` once the subscription ended.
    pub async fn recv(&mut self) -> Option<Event<T>> {
        std::future::poll_fn(|cx| self.poll(cx)).await
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event<T>>> {
        match &mut self.inner {
            FeedInner::Latest(s) => s.poll_next(cx),
            FeedInner::Channel(rx) => rx.poll_recv(cx),
        }
    }
}

impl<T> Stream for Feed<T> {
    type Item = Event<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll(cx)
    }
}

impl<T> Unpin for Feed<T> {}
