//! Market data: snapshots with IBKR's pre-flight handled, history, bulk history.
//!
//! A snapshot is awkward at IBKR: the first request for a contract only opens its
//! stream and answers without values, account-bound `/iserver` calls need
//! `/iserver/accounts` first, and values come as strings (`"C150.25"`, `"1.2K"`,
//! `"0.54%"`). [`Client::quotes`] does all of that and returns typed [`Quote`]s,
//! telling which requested fields never came.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ibkr_model::contracts::Conid;
use ibkr_model::market_data::{
    HistoryRequest, HistoryResponse, MarketDataField, Quote, SnapshotRequest, SnapshotRow,
    UnsubscribeAllResponse, UnsubscribeRequest, UnsubscribeResponse,
};
use reqwest::Method;
use tokio::time::Instant;

use crate::client::{Client, with_query};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// Most contracts IBKR accepts in one snapshot request.
pub const MAX_SNAPSHOT_CONIDS: usize = 100;
/// Most fields IBKR accepts in one snapshot request.
pub const MAX_SNAPSHOT_FIELDS: usize = 50;

/// Typed quotes, and what did not arrive in time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Quotes {
    /// One quote per contract asked for, in the order asked.
    pub quotes: Vec<Quote>,
    /// Requested fields that had not arrived when the deadline passed, per contract.
    pub missing: BTreeMap<Conid, Vec<MarketDataField>>,
    /// The raw rows, as sent, for fields the typed view does not model.
    pub rows: Vec<SnapshotRow>,
}

/// The outcome of one contract in a bulk history request.
#[derive(Debug)]
#[non_exhaustive]
pub struct HistoryItem {
    /// The request.
    pub request: HistoryRequest,
    /// Its answer.
    pub result: Result<HistoryResponse>,
}

impl Client {
    /// `GET /iserver/marketdata/snapshot`, one request, rows as sent (the first
    /// request for a contract usually carries no values: see [`Client::quotes`]).
    pub async fn snapshot(&self, req: &SnapshotRequest) -> Result<Vec<SnapshotRow>> {
        let path = with_query("/iserver/marketdata/snapshot", req)?;
        self.get_after_accounts(Endpoint::Snapshot, &path).await
    }

    /// Typed quotes of `conids` with `fields`: polls the snapshot (within pacing)
    /// until every requested field has arrived for every contract or `wait` has
    /// passed, then reports what never came in [`Quotes::missing`]. Long lists are
    /// split into requests of at most [`MAX_SNAPSHOT_CONIDS`] contracts and
    /// [`MAX_SNAPSHOT_FIELDS`] fields.
    pub async fn quotes(
        &self,
        conids: &[Conid],
        fields: &[MarketDataField],
        wait: Duration,
    ) -> Result<Quotes> {
        let deadline = Instant::now() + wait;
        let mut delay = Duration::from_millis(200);
        loop {
            let rows = self.snapshot_chunked(conids, fields).await?;
            let missing = missing_fields(conids, fields, &rows);
            if missing.is_empty() || Instant::now() + delay > deadline {
                let mut quotes = Vec::with_capacity(conids.len());
                for c in conids {
                    let row = rows
                        .iter()
                        .find(|r| r.conid == *c)
                        .cloned()
                        .unwrap_or_else(|| SnapshotRow::new(*c));
                    quotes.push(row.quote().map_err(|e| Error::Decode {
                        endpoint: "GET /iserver/marketdata/snapshot".into(),
                        message: e.to_string(),
                        snippet: format!("conid {c}"),
                    })?);
                }
                return Ok(Quotes {
                    quotes,
                    missing,
                    rows,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// Snapshots of any number of contracts and fields, in requests within IBKR's
    /// bounds (100 contracts and 50 fields each), rows merged per contract.
    async fn snapshot_chunked(
        &self,
        conids: &[Conid],
        fields: &[MarketDataField],
    ) -> Result<Vec<SnapshotRow>> {
        let mut merged: Vec<SnapshotRow> = Vec::with_capacity(conids.len());
        for cs in conids.chunks(MAX_SNAPSHOT_CONIDS) {
            for fs in fields.chunks(MAX_SNAPSHOT_FIELDS.max(1)) {
                let req = SnapshotRequest::new(cs.iter().copied(), fs.iter().copied());
                for row in self.snapshot(&req).await? {
                    match merged.iter_mut().find(|r| r.conid == row.conid) {
                        Some(r) => r.fields.extend(row.fields),
                        None => merged.push(row),
                    }
                }
            }
        }
        Ok(merged)
    }

    /// `POST /iserver/marketdata/unsubscribe`: stops the stream of a contract.
    pub async fn unsubscribe(&self, conid: Conid) -> Result<UnsubscribeResponse> {
        self.call(
            Endpoint::Unsubscribe,
            Method::POST,
            "/iserver/marketdata/unsubscribe",
            Some(&UnsubscribeRequest::new(conid)),
        )
        .await
    }

    /// `GET /iserver/marketdata/unsubscribeall`: stops every stream.
    pub async fn unsubscribe_all(&self) -> Result<UnsubscribeAllResponse> {
        self.call::<(), _>(
            Endpoint::UnsubscribeAll,
            Method::GET,
            "/iserver/marketdata/unsubscribeall",
            None,
        )
        .await
    }

    /// `GET /iserver/marketdata/history`: bars of one contract.
    pub async fn history(&self, req: &HistoryRequest) -> Result<HistoryResponse> {
        let path = with_query("/iserver/marketdata/history", req)?;
        self.get_after_accounts(Endpoint::History, &path).await
    }

    /// History of many contracts, concurrently within IBKR's limits (5 at once, and
    /// the global rate); `progress(done, total)` is called as each one finishes.
    /// Results come back in the order of `requests`; a failure of one does not stop
    /// the others.
    pub async fn bulk_history(
        &self,
        requests: Vec<HistoryRequest>,
        mut progress: impl FnMut(usize, usize),
    ) -> Vec<HistoryItem> {
        let total = requests.len();
        if let Err(e) = self.prime_accounts().await {
            tracing::warn!("bulk history: /iserver/accounts failed first: {e}");
        }
        let mut set = tokio::task::JoinSet::new();
        for (i, req) in requests.into_iter().enumerate() {
            let c = self.clone();
            set.spawn(async move {
                let result = c.history(&req).await;
                (
                    i,
                    HistoryItem {
                        request: req,
                        result,
                    },
                )
            });
        }
        let mut out: Vec<Option<HistoryItem>> = (0..total).map(|_| None).collect();
        let mut done = 0;
        while let Some(joined) = set.join_next().await {
            if let Ok((i, item)) = joined {
                out[i] = Some(item);
            }
            done += 1;
            progress(done, total);
        }
        out.into_iter().flatten().collect()
    }

    /// A `GET` of an account-bound `/iserver` endpoint: `/iserver/accounts` first (once
    /// per session), and once more if a new brokerage session answers that it was not
    /// made ("Please query /accounts first").
    async fn get_after_accounts<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        path: &str,
    ) -> Result<T> {
        self.call_after_accounts::<(), T>(endpoint, Method::GET, path, None)
            .await
    }

    /// [`get_after_accounts`](Self::get_after_accounts) for any method and body (the
    /// refused request was not processed, so sending it again is safe).
    pub(crate) async fn call_after_accounts<B, T>(
        &self,
        endpoint: Endpoint,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T>
    where
        B: serde::Serialize + ?Sized,
        T: serde::de::DeserializeOwned,
    {
        self.prime_accounts().await?;
        match self
            .call::<B, T>(endpoint, method.clone(), path, body)
            .await
        {
            Err(Error::Http {
                status: 400,
                body: b,
                ..
            }) if b.contains("/accounts first") => {
                self.accounts_primed().store(false, Ordering::Relaxed);
                self.prime_accounts().await?;
                self.call::<B, T>(endpoint, method, path, body).await
            }
            other => other,
        }
    }

    /// Calls `/iserver/accounts` unless this client already did in this session.
    pub(crate) async fn prime_accounts(&self) -> Result<()> {
        if !self.accounts_primed().load(Ordering::Relaxed) {
            self.brokerage_accounts().await?;
        }
        Ok(())
    }
}

fn missing_fields(
    conids: &[Conid],
    fields: &[MarketDataField],
    rows: &[SnapshotRow],
) -> BTreeMap<Conid, Vec<MarketDataField>> {
    let mut missing = BTreeMap::new();
    for c in conids {
        let row = rows.iter().find(|r| r.conid == *c);
        let absent: Vec<MarketDataField> = fields
            .iter()
            .copied()
            .filter(|f| row.and_then(|r| r.get(*f)).is_none())
            .collect();
        if !absent.is_empty() {
            missing.insert(*c, absent);
        }
    }
    missing
}
