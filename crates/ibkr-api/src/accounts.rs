//! Brokerage accounts: `GET /iserver/accounts`, switching the selected account
//! (`POST /iserver/account`, and for logins with dynamic accounts
//! `/iserver/account/search/{pattern}` and `POST /iserver/dynaccount`), the account
//! summary and its parts, the partitioned P&L, and the account's owners.
//!
//! IBKR wants `GET /iserver/accounts` once per brokerage session before the summary
//! and P&L calls (it answers 400 "Please query /accounts first" otherwise): these
//! methods make that call when this client has not made it yet, and once more if a
//! new brokerage session refuses the request for that reason.

use std::sync::atomic::Ordering;
use std::time::Duration;

use ibkr_model::accounts::{
    AccountId, AccountSearch, AccountSummary, AvailableFundsBySegment, BalancesBySegment,
    BrokerageAccounts, MarginsBySegment, MarketValueByCurrency, PnlPartitioned, SetAccountRequest,
    SetAccountResponse, SignaturesAndOwners,
};
use reqwest::Method;

use crate::client::{Client, segment};
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// How many times [`Client::pnl_partitioned`] asks while the answer is empty.
const PNL_ATTEMPTS: u32 = 5;

impl Client {
    /// `GET /iserver/accounts`: the accounts this login may trade and the selected one.
    ///
    /// IBKR wants this call made once per brokerage session before snapshots and
    /// other account-bound `/iserver` calls; the library makes it for you where needed,
    /// so you only call it to read the answer.
    pub async fn brokerage_accounts(&self) -> Result<BrokerageAccounts> {
        let a = self
            .call::<(), BrokerageAccounts>(
                Endpoint::BrokerageAccounts,
                Method::GET,
                "/iserver/accounts",
                None,
            )
            .await?;
        self.accounts_primed().store(true, Ordering::Relaxed);
        Ok(a)
    }

    /// `POST /iserver/account`: selects the account that later `/iserver` calls (orders
    /// without an account, the partitioned P&L) refer to; `/iserver/accounts` then
    /// reports it as `selectedAccount`. For advisors and multi-account logins.
    ///
    /// IBKR answers `{"set": true, "acctId": ...}`, or `{"success": "Account already
    /// set"}` when it was already selected: [`SetAccountResponse::is_set`] is true for
    /// both. An account the login does not have is [`Error::UnknownAccount`].
    ///
    /// ```no_run
    /// # async fn f(client: ibkr_api::Client) -> ibkr_api::Result<()> {
    /// use ibkr_api::model::accounts::AccountId;
    /// let answer = client.switch_account(&AccountId::from("DU1234568")).await?;
    /// assert!(answer.is_set());
    /// let accounts = client.brokerage_accounts().await?;
    /// assert_eq!(accounts.selected_account.as_deref(), Some("DU1234568"));
    /// # Ok(()) }
    /// ```
    pub async fn switch_account(&self, account: &AccountId) -> Result<SetAccountResponse> {
        let body = SetAccountRequest::new(account.clone());
        self.call_after_accounts(
            Endpoint::SwitchAccount,
            Method::POST,
            "/iserver/account",
            Some(&body),
        )
        .await
    }

    /// `GET /iserver/account/search/{pattern}`: the accounts whose id (or alias)
    /// contains `pattern`, e.g. `DU` for every paper account. Only logins with
    /// dynamic accounts may search (IBKR's DYNACCT property; the simulator grants it
    /// to advisors): others get HTTP 503 "Details currently unavailable", as
    /// [`Error::Http`] after the usual retries.
    ///
    /// ```no_run
    /// # async fn f(client: ibkr_api::Client) -> ibkr_api::Result<()> {
    /// let found = client.search_accounts("DU").await?;
    /// for m in &found.matched_accounts {
    ///     println!("{} {}", m.account_id, m.alias.as_deref().unwrap_or(""));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn search_accounts(&self, pattern: &str) -> Result<AccountSearch> {
        if pattern.trim().is_empty() {
            return Err(Error::Config(
                "an account search needs a pattern, e.g. `DU` for every paper account".into(),
            ));
        }
        let p = format!("/iserver/account/search/{}", segment(pattern));
        self.call::<(), _>(Endpoint::AccountSearch, Method::GET, &p, None)
            .await
    }

    /// `POST /iserver/dynaccount`: sets the account of a login with dynamic accounts
    /// (one found by [`Client::search_accounts`]); answers `{"set": true, "acctId":
    /// ...}`. Other logins get HTTP 503 "Details currently unavailable" as
    /// [`Error::Http`]; an account the login does not have is
    /// [`Error::UnknownAccount`].
    pub async fn set_dynamic_account(&self, account: &AccountId) -> Result<SetAccountResponse> {
        let body = SetAccountRequest::new(account.clone());
        self.call(
            Endpoint::DynAccount,
            Method::POST,
            "/iserver/dynaccount",
            Some(&body),
        )
        .await
    }

    /// `GET /iserver/account/{acct}/summary`: balances, margins, buying power and cash
    /// per currency, in whole units of the base currency.
    ///
    /// ```no_run
    /// # async fn f(client: ibkr_api::Client) -> ibkr_api::Result<()> {
    /// use ibkr_api::model::accounts::AccountId;
    /// let s = client.account_summary(&AccountId::from("DU1234567")).await?;
    /// println!("net liquidation {:?}, buying power {:?}", s.net_liquidation_value, s.buying_power);
    /// # Ok(()) }
    /// ```
    pub async fn account_summary(&self, account: &AccountId) -> Result<AccountSummary> {
        self.summary_part(Endpoint::AccountSummary, account, "")
            .await
    }

    /// `GET /iserver/account/{acct}/summary/available_funds`: available funds, excess
    /// liquidity, buying power and leverage by segment (`total`, `securities`,
    /// `commodities`, ...), as formatted amounts (`"994,831 USD"`; see
    /// [`DisplayAmount::amount`](ibkr_model::accounts::DisplayAmount::amount)).
    ///
    /// ```no_run
    /// # async fn f(client: ibkr_api::Client) -> ibkr_api::Result<()> {
    /// use ibkr_api::model::accounts::AccountId;
    /// let funds = client.available_funds(&AccountId::from("DU1234567")).await?;
    /// let total = funds.get("total").and_then(|t| t.current_available.as_ref());
    /// println!("available: {:?}", total.and_then(|a| a.amount()));
    /// # Ok(()) }
    /// ```
    pub async fn available_funds(&self, account: &AccountId) -> Result<AvailableFundsBySegment> {
        self.summary_part(Endpoint::AvailableFunds, account, "/available_funds")
            .await
    }

    /// `GET /iserver/account/{acct}/summary/balances`: net liquidation, equity with
    /// loan value and cash by segment, as formatted amounts.
    pub async fn balances(&self, account: &AccountId) -> Result<BalancesBySegment> {
        self.summary_part(Endpoint::Balances, account, "/balances")
            .await
    }

    /// `GET /iserver/account/{acct}/summary/margins`: initial, maintenance and Reg T
    /// margin by segment, as formatted amounts.
    pub async fn margins(&self, account: &AccountId) -> Result<MarginsBySegment> {
        self.summary_part(Endpoint::Margins, account, "/margins")
            .await
    }

    /// `GET /iserver/account/{acct}/summary/market_value`: cash, market value by asset
    /// class, net liquidation and P&L per currency (amounts in that currency, without
    /// a currency suffix); with several currencies also a total such as
    /// `Total (in USD)`.
    pub async fn market_value(&self, account: &AccountId) -> Result<MarketValueByCurrency> {
        self.summary_part(Endpoint::MarketValue, account, "/market_value")
            .await
    }

    /// `GET /iserver/account/pnl/partitioned`: P&L of the selected account (and, for
    /// an advisor's master account, of its sub-accounts), keyed `{acct}.Core`.
    ///
    /// IBKR answers the first request of a session with no entries while it
    /// subscribes; this asks again (up to five times) while the answer is empty, and
    /// returns the last answer (empty if the login has no P&L to report). Under
    /// IBKR's limit of one call per 5 s, the first P&L of a session therefore takes
    /// about 5 s; later calls answer at once (or wait their 5 s turn).
    ///
    /// ```no_run
    /// # async fn f(client: ibkr_api::Client) -> ibkr_api::Result<()> {
    /// let pnl = client.pnl_partitioned().await?;
    /// for (key, row) in &pnl.upnl {
    ///     println!("{key}: daily {:?}, net liquidation {:?}", row.dpl, row.nl);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn pnl_partitioned(&self) -> Result<PnlPartitioned> {
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let pnl: PnlPartitioned = self
                .call_after_accounts::<(), _>(
                    Endpoint::PnlPartitioned,
                    Method::GET,
                    "/iserver/account/pnl/partitioned",
                    None,
                )
                .await?;
            if !pnl.upnl.is_empty() || attempt >= PNL_ATTEMPTS {
                return Ok(pnl);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
            attempt += 1;
        }
    }

    /// `GET /acesws/{acct}/signatures-and-owners`: the account's users, their roles
    /// and the applicant's signatures. The answer holds personal data (names, dates
    /// of birth): do not log it.
    pub async fn signatures_and_owners(&self, account: &AccountId) -> Result<SignaturesAndOwners> {
        let p = format!(
            "/acesws/{}/signatures-and-owners",
            segment(account.as_str())
        );
        self.call::<(), _>(Endpoint::SignaturesAndOwners, Method::GET, &p, None)
            .await
    }

    /// One of the `/iserver/account/{acct}/summary` calls, after `/iserver/accounts`.
    async fn summary_part<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        account: &AccountId,
        part: &str,
    ) -> Result<T> {
        let p = format!(
            "/iserver/account/{}/summary{part}",
            segment(account.as_str())
        );
        self.call_after_accounts::<(), T>(endpoint, Method::GET, &p, None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("DU1234567"), "DU1234567");
        assert_eq!(segment("Client growth"), "Client%20growth");
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(segment("é"), "%C3%A9");
    }
}
