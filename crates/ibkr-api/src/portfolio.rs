//! Portfolio: accounts, summary, ledger (more portfolio calls are being added).

use ibkr_model::accounts::AccountId;
use ibkr_model::portfolio::{Allocation, Ledger, PortfolioAccount, PortfolioSummary, Position};
use reqwest::Method;

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::Result;

impl Client {
    /// `GET /portfolio/accounts`: the accounts the portfolio endpoints can read.
    /// IBKR allows one call per 5 s (the pacer waits; see
    /// [`Client::with_cached_reads`] to take a recent answer instead).
    pub async fn portfolio_accounts(&self) -> Result<Vec<PortfolioAccount>> {
        self.call::<(), _>(
            Endpoint::PortfolioAccounts,
            Method::GET,
            "/portfolio/accounts",
            None,
        )
        .await
    }

    /// `GET /portfolio/{acct}/summary`: net liquidation, cash, margins, buying power...
    /// by IBKR's keys (see the accessors of [`PortfolioSummary`]).
    pub async fn portfolio_summary(&self, account: &AccountId) -> Result<PortfolioSummary> {
        let p = format!("/portfolio/{}/summary", account.as_str());
        self.call::<(), _>(Endpoint::PortfolioSummary, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/{acct}/ledger`: cash and values per currency, and `BASE`.
    pub async fn portfolio_ledger(&self, account: &AccountId) -> Result<Ledger> {
        let p = format!("/portfolio/{}/ledger", account.as_str());
        self.call::<(), _>(Endpoint::PortfolioLedger, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/subaccounts`: the accounts of an advisor login (IBKR allows one
    /// call per 5 s; the pacer waits).
    pub async fn portfolio_subaccounts(&self) -> Result<Vec<PortfolioAccount>> {
        self.call::<(), _>(
            Endpoint::PortfolioSubaccounts,
            Method::GET,
            "/portfolio/subaccounts",
            None,
        )
        .await
    }

    /// `GET /portfolio/{acct}/allocation`: holdings by asset class, sector and group.
    pub async fn allocation(&self, account: &AccountId) -> Result<Allocation> {
        let p = format!("/portfolio/{}/allocation", account.as_str());
        self.call::<(), _>(Endpoint::PortfolioAllocation, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/{acct}/meta`: one account's description.
    pub async fn portfolio_meta(&self, account: &AccountId) -> Result<PortfolioAccount> {
        let p = format!("/portfolio/{}/meta", account.as_str());
        self.call::<(), _>(Endpoint::PortfolioMeta, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/{acct}/positions/{page}`: one page (up to
    /// [`POSITIONS_PER_PAGE`]) of positions; `page` counts from 0.
    pub async fn positions(&self, account: &AccountId, page: u32) -> Result<Vec<Position>> {
        let p = format!("/portfolio/{}/positions/{page}", account.as_str());
        self.call::<(), _>(Endpoint::Positions, Method::GET, &p, None)
            .await
    }

    /// Every position of an account: pages through `/positions/{page}` until a page
    /// comes back short.
    pub async fn all_positions(&self, account: &AccountId) -> Result<Vec<Position>> {
        let mut all = Vec::new();
        for page in 0.. {
            let batch = self.positions(account, page).await?;
            let last = batch.len() < POSITIONS_PER_PAGE;
            all.extend(batch);
            if last {
                break;
            }
        }
        Ok(all)
    }
}

/// How many positions IBKR returns per page of `/portfolio/{acct}/positions/{page}`.
pub const POSITIONS_PER_PAGE: usize = 100;
