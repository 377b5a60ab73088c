//! Brokerage accounts: `GET /iserver/accounts`.

use std::sync::atomic::Ordering;

use ibkr_model::accounts::BrokerageAccounts;
use reqwest::Method;

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::Result;

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
}
