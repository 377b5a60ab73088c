//! Brokerage accounts: `GET /iserver/accounts`.
//!
//! IBKR requires this call before most other `/iserver` calls in a session (market
//! data snapshots among them): the client makes it once per session where needed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Extra;
use crate::auth::{ServerInfo, SessionToken};

/// Answer of `GET /iserver/accounts`: the accounts this login may trade, their
/// properties, and the selected one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BrokerageAccounts {
    /// Account ids.
    pub accounts: Vec<String>,
    /// Properties by account id.
    #[serde(rename = "acctProps", default, skip_serializing_if = "Option::is_none")]
    pub acct_props: Option<BTreeMap<String, AccountProperties>>,
    /// Display aliases by account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<BTreeMap<String, String>>,
    /// Features enabled for the login (kept as sent: IBKR adds flags often).
    #[serde(
        rename = "allowFeatures",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_features: Option<Extra>,
    /// Chart periods allowed per security type.
    #[serde(
        rename = "chartPeriods",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub chart_periods: Option<BTreeMap<String, Vec<String>>>,
    /// Advisor allocation groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Advisor allocation profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<Vec<String>>,
    /// The account orders go to unless another is named.
    #[serde(
        rename = "selectedAccount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub selected_account: Option<String>,
    /// The IBKR server behind the session.
    #[serde(
        rename = "serverInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server_info: Option<ServerInfo>,
    /// The session id (a secret).
    #[serde(rename = "sessionId", default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<SessionToken>,
    /// Whether this is a "free trial" login.
    #[serde(rename = "isFT", default, skip_serializing_if = "Option::is_none")]
    pub is_ft: Option<bool>,
    /// Whether this is a paper-trading login.
    #[serde(rename = "isPaper", default, skip_serializing_if = "Option::is_none")]
    pub is_paper: Option<bool>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BrokerageAccounts {
    /// An answer listing `accounts`, the first selected, other fields unset.
    pub fn new(accounts: Vec<String>) -> Self {
        BrokerageAccounts {
            selected_account: accounts.first().cloned(),
            accounts,
            acct_props: None,
            aliases: None,
            allow_features: None,
            chart_periods: None,
            groups: None,
            profiles: None,
            server_info: None,
            session_id: None,
            is_ft: None,
            is_paper: None,
            extra: Extra::new(),
        }
    }
}

/// Properties of one account in `acctProps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AccountProperties {
    /// Whether it has sub-accounts (advisor or master).
    #[serde(
        rename = "hasChildAccounts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_child_accounts: Option<bool>,
    /// Whether orders may be sized by cash amount.
    #[serde(
        rename = "supportsCashQty",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub supports_cash_qty: Option<bool>,
    /// Whether fractional shares are supported.
    #[serde(
        rename = "supportsFractions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub supports_fractions: Option<bool>,
    /// Fields not modelled above (`liteUnderPro`, `noFXConv`, `isProp`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}
