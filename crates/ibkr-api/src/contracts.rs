//! Contracts: search, definitions, rules, option chains, schedules, currencies.

use std::collections::BTreeMap;
use std::sync::Arc;

use ibkr_model::contracts::{
    Algos, AlgosRequest, AllConidsRequest, BondFilters, BondFiltersRequest, Conid, ContractInfo,
    ContractInfoAndRules, ContractRules, ContractRulesRequest, CurrencyPairs, ExchangeConid,
    ExchangeRate, ExchangeSchedule, Futures, Right, SecDefInfo, SecDefInfoRequest,
    SecDefInfoResponse, SecDefScheduleRequest, SecDefSearchRequest, SecDefSearchResult, SecType,
    Stocks, Strikes, StrikesRequest, SymbolsRequest, TradingSchedule, TradingScheduleRequest,
    TrsrvSecDefRequest, TrsrvSecDefResponse,
};
use reqwest::Method;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::client::{Client, with_query};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// What a symbol must match to resolve to one contract.
///
/// Unless [`strict`](Self::strict) is set, a symbol listed both in the US and
/// elsewhere (AAPL on NASDAQ and on the Mexican exchange) resolves to its US listing
/// when no exchange or currency is given, as a user in the US expects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContractFilter {
    /// Never pick among several matches: any ambiguity is an error.
    pub strict: bool,
    /// Security type; stocks when unset.
    pub sec_type: Option<SecType>,
    /// Primary exchange, e.g. `NASDAQ`.
    pub exchange: Option<String>,
    /// Currency, e.g. `USD` (checked against the contract's details).
    pub currency: Option<String>,
}

impl ContractFilter {
    /// A filter on the security type.
    pub fn sec_type(mut self, t: SecType) -> Self {
        self.sec_type = Some(t);
        self
    }

    /// A filter on the primary exchange.
    pub fn exchange(mut self, e: impl Into<String>) -> Self {
        self.exchange = Some(e.into());
        self
    }

    /// A filter on the currency.
    pub fn currency(mut self, c: impl Into<String>) -> Self {
        self.currency = Some(c.into());
        self
    }

    /// Fail on any ambiguity instead of preferring the US listing.
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }
}

/// Exchanges whose listing is preferred when a symbol is listed in several places.
const US_EXCHANGES: [&str; 8] = [
    "NASDAQ",
    "NASDAQ.NMS",
    "NYSE",
    "ARCA",
    "AMEX",
    "BATS",
    "NYSEARCA",
    "PINK",
];

/// One option contract of a chain.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OptionContract {
    /// Its contract id.
    pub conid: Conid,
    /// Expiry month, e.g. `JAN26`.
    pub month: String,
    /// Strike.
    pub strike: Decimal,
    /// Call or put.
    pub right: Right,
    /// What the gateway said about it.
    pub info: SecDefInfo,
}

/// An option chain: the months of an underlying, their strikes, and the contracts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OptionChain {
    /// The underlying.
    pub underlying: Conid,
    /// Strikes of each month (calls and puts), months in expiry order.
    pub strikes: Vec<(String, Strikes)>,
    /// The contracts fetched (all of them, or those near the money when limited).
    pub contracts: Vec<OptionContract>,
}

/// `NASDAQ` and `NASDAQ.NMS` name the same primary exchange.
fn same_exchange(a: &str, b: &str) -> bool {
    let base = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_uppercase();
    a.eq_ignore_ascii_case(b) || base(a) == base(b)
}

fn enc(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

impl Client {
    async fn get_q<Q: Serialize + ?Sized, T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        path: &str,
        q: &Q,
    ) -> Result<T> {
        let p = with_query(path, q)?;
        self.call::<(), T>(endpoint, Method::GET, &p, None).await
    }

    /// `GET /iserver/secdef/search`: contracts matching a symbol or name.
    pub async fn search_contracts(
        &self,
        req: &SecDefSearchRequest,
    ) -> Result<Vec<SecDefSearchResult>> {
        self.get_q(Endpoint::SecDefSearch, "/iserver/secdef/search", req)
            .await
    }

    /// `POST /iserver/secdef/search`: the same search with a JSON body.
    pub async fn search_contracts_post(
        &self,
        req: &SecDefSearchRequest,
    ) -> Result<Vec<SecDefSearchResult>> {
        self.call(
            Endpoint::SecDefSearchPost,
            Method::POST,
            "/iserver/secdef/search",
            Some(req),
        )
        .await
    }

    /// `GET /iserver/secdef/strikes`: call and put strikes of an underlying's month.
    pub async fn strikes(&self, req: &StrikesRequest) -> Result<Strikes> {
        self.get_q(Endpoint::SecDefStrikes, "/iserver/secdef/strikes", req)
            .await
    }

    /// `GET /iserver/secdef/info`: the contracts of a derivative specification.
    pub async fn secdef_info(&self, req: &SecDefInfoRequest) -> Result<SecDefInfoResponse> {
        self.get_q(Endpoint::SecDefInfo, "/iserver/secdef/info", req)
            .await
    }

    /// `GET /iserver/secdef/bond-filters`: the filters of a bond issuer.
    pub async fn bond_filters(&self, req: &BondFiltersRequest) -> Result<BondFilters> {
        self.get_q(Endpoint::BondFilters, "/iserver/secdef/bond-filters", req)
            .await
    }

    /// `GET /iserver/contract/{conid}/info`: a contract's details.
    pub async fn contract_info(&self, conid: Conid) -> Result<ContractInfo> {
        let p = format!("/iserver/contract/{conid}/info");
        self.call::<(), _>(Endpoint::ContractInfo, Method::GET, &p, None)
            .await
    }

    /// `GET /iserver/contract/{conid}/info-and-rules`: details plus trading rules.
    pub async fn contract_info_and_rules(&self, conid: Conid) -> Result<ContractInfoAndRules> {
        let p = format!("/iserver/contract/{conid}/info-and-rules");
        self.call::<(), _>(Endpoint::ContractInfoAndRules, Method::GET, &p, None)
            .await
    }

    /// `GET /iserver/contract/{conid}/algos`: the IB algos a contract supports.
    pub async fn contract_algos(&self, conid: Conid, req: &AlgosRequest) -> Result<Algos> {
        let p = format!("/iserver/contract/{conid}/algos");
        self.get_q(Endpoint::ContractAlgos, &p, req).await
    }

    /// `POST /iserver/contract/rules`: order rules for a side of a contract.
    pub async fn contract_rules(&self, req: &ContractRulesRequest) -> Result<ContractRules> {
        self.call(
            Endpoint::ContractRules,
            Method::POST,
            "/iserver/contract/rules",
            Some(req),
        )
        .await
    }

    /// `GET /trsrv/stocks`: stock contracts by symbol.
    pub async fn trsrv_stocks(&self, req: &SymbolsRequest) -> Result<Stocks> {
        self.get_q(Endpoint::TrsrvStocks, "/trsrv/stocks", req)
            .await
    }

    /// `GET /trsrv/futures`: non-expired futures by symbol.
    pub async fn trsrv_futures(&self, req: &SymbolsRequest) -> Result<Futures> {
        self.get_q(Endpoint::TrsrvFutures, "/trsrv/futures", req)
            .await
    }

    /// `GET /trsrv/secdef`: security definitions of contracts.
    pub async fn trsrv_secdef(&self, req: &TrsrvSecDefRequest) -> Result<TrsrvSecDefResponse> {
        self.get_q(Endpoint::TrsrvSecDef, "/trsrv/secdef", req)
            .await
    }

    /// `GET /trsrv/secdef/schedule`: trading schedules of a symbol by exchange.
    pub async fn trsrv_secdef_schedule(
        &self,
        req: &SecDefScheduleRequest,
    ) -> Result<Vec<ExchangeSchedule>> {
        self.get_q(Endpoint::TrsrvSecDefSchedule, "/trsrv/secdef/schedule", req)
            .await
    }

    /// `GET /trsrv/all-conids`: every contract of an exchange.
    pub async fn all_conids(&self, req: &AllConidsRequest) -> Result<Vec<ExchangeConid>> {
        self.get_q(Endpoint::TrsrvAllConids, "/trsrv/all-conids", req)
            .await
    }

    /// `GET /contract/trading-schedule`: the trading days around today.
    pub async fn trading_schedule(&self, req: &TradingScheduleRequest) -> Result<TradingSchedule> {
        self.get_q(Endpoint::TradingSchedule, "/contract/trading-schedule", req)
            .await
    }

    /// `GET /iserver/currency/pairs`: the pairs a currency trades against.
    pub async fn currency_pairs(&self, currency: &str) -> Result<CurrencyPairs> {
        let p = format!("/iserver/currency/pairs?currency={}", enc(currency));
        self.call::<(), _>(Endpoint::CurrencyPairs, Method::GET, &p, None)
            .await
    }

    /// `GET /iserver/exchangerate`: the rate from `source` to `target`.
    pub async fn exchange_rate(&self, source: &str, target: &str) -> Result<ExchangeRate> {
        let p = format!(
            "/iserver/exchangerate?source={}&target={}",
            enc(source),
            enc(target)
        );
        self.call::<(), _>(Endpoint::ExchangeRate, Method::GET, &p, None)
            .await
    }

    /// Resolves a symbol to one contract id, with filters; fails with
    /// [`Error::NotFound`] when nothing matches and [`Error::Ambiguous`] (listing the
    /// candidates) when several do.
    pub async fn resolve_symbol(&self, symbol: &str, filter: &ContractFilter) -> Result<Conid> {
        let mut req = SecDefSearchRequest::new(symbol);
        req.sec_type = match &filter.sec_type {
            Some(t @ (SecType::Ind | SecType::Bond)) => Some(t.clone()),
            _ => None,
        };
        let results = self.search_contracts(&req).await?;
        let wanted = filter.sec_type.clone().unwrap_or(SecType::Stk);
        let mut matches: Vec<&SecDefSearchResult> = results
            .iter()
            .filter(|r| {
                r.symbol
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(symbol))
            })
            .filter(|r| {
                r.sec_type.as_ref() == Some(&wanted)
                    || r.section(&wanted).is_some()
                    || (r.sec_type.is_none() && r.sections.is_none() && wanted == SecType::Stk)
            })
            .filter(|r| {
                filter.exchange.as_deref().is_none_or(|e| {
                    r.description
                        .as_deref()
                        .is_some_and(|d| same_exchange(d, e))
                })
            })
            .collect();
        if let Some(ccy) = &filter.currency {
            let mut kept = Vec::new();
            for r in matches {
                if let Ok(info) = self.contract_info(r.conid).await
                    && info.currency.eq_ignore_ascii_case(ccy)
                {
                    kept.push(r);
                }
            }
            matches = kept;
        }
        if matches.len() > 1
            && !filter.strict
            && filter.exchange.is_none()
            && filter.currency.is_none()
        {
            let us: Vec<&SecDefSearchResult> = matches
                .iter()
                .copied()
                .filter(|r| {
                    r.description
                        .as_deref()
                        .is_some_and(|d| US_EXCHANGES.iter().any(|e| d.eq_ignore_ascii_case(e)))
                })
                .collect();
            if us.len() == 1 {
                matches = us;
            }
        }
        match matches.as_slice() {
            [] => Err(Error::NotFound {
                what: format!("{wanted} {symbol}"),
                hint: "check the symbol, or search with `ibkr search` to see what exists".into(),
            }),
            [one] => Ok(one.conid),
            many => Err(Error::Ambiguous {
                what: format!("{wanted} {symbol}"),
                candidates: many
                    .iter()
                    .map(|r| format!("{} ({})", r.conid, r.company_header))
                    .collect(),
            }),
        }
    }

    /// The option chain of an underlying: its months (the next `months`, all when
    /// `None`), their strikes, and the contracts of the `strikes_around` strikes nearest
    /// `center` (all when `None`). Requests run concurrently; the pacer keeps them within
    /// IBKR's limits.
    pub async fn option_chain(
        &self,
        underlying: Conid,
        months: Option<usize>,
        center: Option<Decimal>,
        strikes_around: Option<usize>,
    ) -> Result<OptionChain> {
        let mut req = SecDefSearchRequest::new(underlying.to_string());
        req.sec_type = None;
        let search = self.search_contracts(&req).await?;
        let section_months = search
            .iter()
            .find(|r| r.conid == underlying)
            .and_then(|r| r.section(&SecType::Opt))
            .and_then(|s| s.months.clone());
        let all_months: Vec<String> = match section_months {
            Some(m) => m
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            None => {
                return Err(Error::NotFound {
                    what: format!("options on {underlying}"),
                    hint: "the underlying lists no option months".into(),
                });
            }
        };
        let months: Vec<String> = all_months
            .into_iter()
            .take(months.unwrap_or(usize::MAX))
            .collect();
        let client = Arc::new(self.clone());
        let mut tasks = tokio::task::JoinSet::new();
        for m in &months {
            let (c, m) = (client.clone(), m.clone());
            tasks.spawn(async move {
                let s = c
                    .strikes(&StrikesRequest::new(underlying, SecType::Opt, m.clone()))
                    .await;
                (m, s)
            });
        }
        let mut by_month = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (m, s) = joined.map_err(|e| Error::Config(format!("task failed: {e}")))?;
            by_month.insert(m, s?);
        }
        // In the order IBKR lists the months: by expiry.
        let strikes: Vec<(String, Strikes)> = months
            .iter()
            .filter_map(|m| by_month.remove(m).map(|s| (m.clone(), s)))
            .collect();
        let mut infos = tokio::task::JoinSet::new();
        for (m, s) in &strikes {
            for (right, list) in [(Right::Call, &s.call), (Right::Put, &s.put)] {
                let mut chosen: Vec<Decimal> = list.clone();
                if let (Some(c), Some(n)) = (center, strikes_around) {
                    chosen.sort_by_key(|k| (*k - c).abs());
                    chosen.truncate(n);
                    chosen.sort();
                }
                for k in chosen {
                    let (cl, m, right) = (client.clone(), m.clone(), right.clone());
                    infos.spawn(async move {
                        let mut q = SecDefInfoRequest::default();
                        q.conid = Some(underlying);
                        q.sectype = Some(SecType::Opt);
                        q.month = Some(m.clone());
                        q.strike = Some(k);
                        q.right = Some(right.clone());
                        (m, k, right, cl.secdef_info(&q).await)
                    });
                }
            }
        }
        let mut contracts = Vec::new();
        while let Some(joined) = infos.join_next().await {
            let (m, k, right, info) =
                joined.map_err(|e| Error::Config(format!("task failed: {e}")))?;
            for i in info?.as_slice() {
                contracts.push(OptionContract {
                    conid: i.conid,
                    month: m.clone(),
                    strike: k,
                    right: right.clone(),
                    info: i.clone(),
                });
            }
        }
        contracts.sort_by(|a, b| {
            (
                months.iter().position(|m| *m == a.month),
                a.strike,
                a.right == Right::Put,
            )
                .cmp(&(
                    months.iter().position(|m| *m == b.month),
                    b.strike,
                    b.right == Right::Put,
                ))
        });
        Ok(OptionChain {
            underlying,
            strikes,
            contracts,
        })
    }
}
