//! Portfolio Analyst: performance over a period (`POST /pa/performance`), over every
//! period at once (`POST /pa/allperiods`), and the transactions of a contract
//! (`POST /pa/transactions`).
//!
//! # Rate limit: one call per 15 minutes
//!
//! IBKR allows **one** `/pa/*` request per 15 minutes, shared by the three calls. The
//! client's pacer keeps that limit ([`PacingClass::PortfolioAnalyst`]): a second call
//! within 15 minutes waits its turn, or fails at once with [`Error::WouldWait`] under
//! [`Client::with_max_wait`]. Going over the limit at the gateway earns HTTP 429 and
//! a 10-minute penalty for every request from the address.
//!
//! [`Client::with_cached_reads`] does **not** apply: it answers repeated `GET`s without a
//! body, and these calls are `POST`s with a body. Nor are they retried on failure (a
//! retry would hold the caller for another 15 minutes). Keep the answer yourself if
//! you need it again; [`Client::all_periods`] gives every period in one call.
//!
//! Invalid arguments (no account, not exactly one contract) are refused before
//! anything is sent, so they do not use up the 15-minute turn.
//!
//! # Figures
//!
//! Returns are fractions (`0.0639` is 6.39 %), time-weighted (`pm: "TWR"`). `cps` holds
//! the cumulative return on each day of the period, `tpps` the return of each
//! calendar month, `nav` the net asset value on each day and before the period
//! (`startNAV`). Several accounts are consolidated into one series.
//!
//! ```no_run
//! use ibkr_api::Client;
//! use ibkr_api::model::accounts::AccountId;
//! use ibkr_api::model::portfolio::PaPeriod;
//!
//! # async fn run(client: Client) -> ibkr_api::Result<()> {
//! let account = AccountId::from("U1234567");
//! let perf = client.performance(&[account], PaPeriod::OneMonth).await?;
//! if let Some(cps) = &perf.cps {
//!     let last = cps.data[0].returns.as_ref().and_then(|r| r.last());
//!     println!("1M return: {last:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! [`PacingClass::PortfolioAnalyst`]: crate::PacingClass::PortfolioAnalyst
//! [`Error::WouldWait`]: crate::Error::WouldWait

use ibkr_model::accounts::AccountId;
use ibkr_model::portfolio::{
    AllPeriods, AllPeriodsRequest, PaPeriod, Performance, PerformanceRequest, Transactions,
    TransactionsRequest,
};
use reqwest::Method;

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// Refuses an empty account list before it costs a 15-minute turn.
fn need_accounts(call: &str, accounts: &[AccountId]) -> Result<()> {
    if accounts.is_empty() {
        return Err(Error::Config(format!(
            "{call}: name at least one account (see `ibkr accounts` or Client::portfolio_accounts)"
        )));
    }
    Ok(())
}

impl Client {
    /// `POST /pa/performance`: net asset values, cumulative returns (`cps`, daily) and
    /// returns per month (`tpps`) of `accounts` over `period`; several accounts are
    /// consolidated into one series.
    ///
    /// IBKR allows one Portfolio Analyst call per 15 minutes (see the [module
    /// docs](crate::pa)); the call is not retried and not cached.
    pub async fn performance(
        &self,
        accounts: &[AccountId],
        period: PaPeriod,
    ) -> Result<Performance> {
        need_accounts("POST /pa/performance", accounts)?;
        let body = PerformanceRequest::new(accounts.to_vec(), period);
        self.call(
            Endpoint::PaPerformance,
            Method::POST,
            "/pa/performance",
            Some(&body),
        )
        .await
    }

    /// `POST /pa/transactions`: the buys and sells of one contract in the accounts of
    /// `request` over its last `days` (90 by default), and their realized P&L
    /// (`rpnl`).
    ///
    /// IBKR takes exactly one contract per call: any other count is refused here with
    /// [`Error::Config`]. One Portfolio Analyst call per 15 minutes (see the [module
    /// docs](crate::pa)).
    pub async fn transactions(&self, request: &TransactionsRequest) -> Result<Transactions> {
        let call = "POST /pa/transactions";
        need_accounts(call, &request.acct_ids)?;
        if request.conids.len() != 1 {
            return Err(Error::Config(format!(
                "{call}: IBKR takes exactly one contract per call, got {}",
                request.conids.len()
            )));
        }
        self.call(
            Endpoint::PaTransactions,
            Method::POST,
            "/pa/transactions",
            Some(request),
        )
        .await
    }

    /// `POST /pa/allperiods`: every period IBKR computes (`1D`, `7D`, `MTD`, `1M`,
    /// `YTD`, `1Y`) for each account, with daily net asset values and cumulative
    /// returns: see [`AllPeriods::accounts`] and
    /// [`AccountPeriods::period`](ibkr_model::portfolio::AccountPeriods::period).
    ///
    /// One Portfolio Analyst call per 15 minutes (see the [module docs](crate::pa)):
    /// the way to get several periods for the price of one call.
    pub async fn all_periods(&self, accounts: &[AccountId]) -> Result<AllPeriods> {
        need_accounts("POST /pa/allperiods", accounts)?;
        let body = AllPeriodsRequest::new(accounts.to_vec());
        self.call(
            Endpoint::PaAllPeriods,
            Method::POST,
            "/pa/allperiods",
            Some(&body),
        )
        .await
    }
}
