//! Portfolio: accounts and sub-accounts, summary, ledger, allocation, positions.
//!
//! ```no_run
//! use ibkr_api::Client;
//! use ibkr_api::model::accounts::AccountId;
//! use ibkr_api::model::portfolio::PositionsQuery;
//!
//! # async fn run(client: &Client) -> ibkr_api::Result<()> {
//! let account = AccountId::from("DU1234567");
//! // Every position, largest market value first.
//! let mut by_value = PositionsQuery::new();
//! by_value.sort = Some("mktValue".into());
//! by_value.direction = Some("d".into());
//! for p in client.all_positions_with(&account, &by_value).await? {
//!     println!("{:<30} {:>12} {}", p.contract_desc, p.mkt_value, p.currency);
//! }
//! // The same accounts' holdings, consolidated.
//! let total = client.allocation_for_accounts(&[account]).await?;
//! println!("{:?}", total.asset_class.long);
//! # Ok(()) }
//! ```

use std::collections::HashSet;

use ibkr_model::accounts::AccountId;
use ibkr_model::contracts::Conid;
use ibkr_model::portfolio::{
    AccountsRequest, Allocation, ComboPosition, InvalidateResponse, Ledger, PortfolioAccount,
    PortfolioSummary, Position, Position2, PositionsByAccount, PositionsQuery, SubAccounts2,
};
use reqwest::Method;

use crate::client::{Client, with_query};
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
    /// [`POSITIONS_PER_PAGE`]) of positions in IBKR's default order (by name); `page`
    /// counts from 0. IBKR caches this list: see [`Client::invalidate_positions`] and
    /// [`Client::positions2`].
    pub async fn positions(&self, account: &AccountId, page: u32) -> Result<Vec<Position>> {
        self.positions_with(account, page, &PositionsQuery::new())
            .await
    }

    /// `GET /portfolio/{acct}/positions/{page}` with a query: `sort` names a field
    /// (`name`, the default, `conid`, `position`, `mktPrice`, `mktValue`,
    /// `unrealizedPnl`, ...), `direction` is `a` (ascending, the default) or `d`;
    /// `model` compares against a model portfolio. Pages follow the sorted order.
    pub async fn positions_with(
        &self,
        account: &AccountId,
        page: u32,
        query: &PositionsQuery,
    ) -> Result<Vec<Position>> {
        let p = with_query(
            &format!("/portfolio/{}/positions/{page}", account.as_str()),
            query,
        )?;
        self.call::<(), _>(Endpoint::Positions, Method::GET, &p, None)
            .await
    }

    /// Every position of an account: pages through `/positions/{page}` until a page
    /// comes back short.
    pub async fn all_positions(&self, account: &AccountId) -> Result<Vec<Position>> {
        self.all_positions_with(account, &PositionsQuery::new())
            .await
    }

    /// Every position of an account in the order `query` asks: pages through
    /// `/positions/{page}` until a page comes back short. A position that moves to a
    /// later page while paging (the portfolio changed meanwhile) is kept once, where
    /// it was first seen; a page that brings nothing new ends the walk.
    pub async fn all_positions_with(
        &self,
        account: &AccountId,
        query: &PositionsQuery,
    ) -> Result<Vec<Position>> {
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        for page in 0.. {
            let batch = self.positions_with(account, page, query).await?;
            let last = batch.len() < POSITIONS_PER_PAGE;
            let before = all.len();
            for p in batch {
                if seen.insert((p.conid, p.model.clone())) {
                    all.push(p);
                }
            }
            if last || all.len() == before {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /portfolio2/{acct}/positions`: every position, without paging and without
    /// the cache of `/portfolio/{acct}/positions/{page}` (IBKR's near-real-time list),
    /// sorted as `query` asks (`sort` by `name` unless told otherwise, `direction` `a`
    /// or `d`). IBKR names some fields differently here: see [`Position2`].
    pub async fn positions2(
        &self,
        account: &AccountId,
        query: &PositionsQuery,
    ) -> Result<Vec<Position2>> {
        let p = with_query(
            &format!("/portfolio2/{}/positions", account.as_str()),
            query,
        )?;
        self.call::<(), _>(Endpoint::Positions2, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/{acct}/position/{conid}`: the account's position in one
    /// contract, with the contract's details once IBKR has loaded them; an empty list
    /// when the account holds none.
    pub async fn position(&self, account: &AccountId, conid: Conid) -> Result<Vec<Position>> {
        let p = format!("/portfolio/{}/position/{conid}", account.as_str());
        self.call::<(), _>(Endpoint::PositionByConid, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/positions/{conid}`: the positions in one contract of every
    /// account of the login (an advisor's master and sub-accounts), by account.
    pub async fn positions_by_conid(&self, conid: Conid) -> Result<PositionsByAccount> {
        let p = format!("/portfolio/positions/{conid}");
        self.call::<(), _>(Endpoint::PositionsByConid, Method::GET, &p, None)
            .await
    }

    /// `POST /portfolio/{acct}/positions/invalidate`: has IBKR drop its cached
    /// positions of the account, so that the next [`Client::positions`] reads them
    /// afresh. IBKR answers `{"message": "success"}`
    /// ([`InvalidateResponse::is_success`]).
    pub async fn invalidate_positions(&self, account: &AccountId) -> Result<InvalidateResponse> {
        let p = format!("/portfolio/{}/positions/invalidate", account.as_str());
        let body = serde_json::json!({});
        self.call(Endpoint::InvalidatePositions, Method::POST, &p, Some(&body))
            .await
    }

    /// `GET /portfolio/{acct}/combo/positions`: positions acquired as combinations
    /// (spreads), with their legs; usually empty. `nocache` asks IBKR to bypass its
    /// cache.
    pub async fn combo_positions(
        &self,
        account: &AccountId,
        nocache: bool,
    ) -> Result<Vec<ComboPosition>> {
        let p = format!(
            "/portfolio/{}/combo/positions?nocache={nocache}",
            account.as_str()
        );
        self.call::<(), _>(Endpoint::ComboPositions, Method::GET, &p, None)
            .await
    }

    /// `GET /portfolio/subaccounts2?page=N`: the accounts of a large advisor structure,
    /// 20 a page from page 0, for logins with more than 100 sub-accounts
    /// ([`Client::portfolio_subaccounts`] otherwise). IBKR documents a page with
    /// metadata but has been seen answering a plain list; [`SubAccounts2::accounts`]
    /// reads either.
    pub async fn portfolio_subaccounts2(&self, page: u32) -> Result<SubAccounts2> {
        let p = format!("/portfolio/subaccounts2?page={page}");
        self.call::<(), _>(Endpoint::PortfolioSubaccounts2, Method::GET, &p, None)
            .await
    }

    /// `POST /portfolio/allocation`: the consolidated allocation of several accounts,
    /// shaped as [`Client::allocation`] (by asset class, sector and group, long and
    /// short).
    pub async fn allocation_for_accounts(&self, accounts: &[AccountId]) -> Result<Allocation> {
        let body = AccountsRequest::new(accounts.to_vec());
        self.call(
            Endpoint::AllocationForAccounts,
            Method::POST,
            "/portfolio/allocation",
            Some(&body),
        )
        .await
    }
}

/// How many positions IBKR returns per page of `/portfolio/{acct}/positions/{page}`.
pub const POSITIONS_PER_PAGE: usize = 100;
