//! Brokerage accounts: `GET /iserver/accounts`, switching accounts (`POST /iserver/account`,
//! `POST /iserver/dynaccount`, `/iserver/account/search/{pattern}`), the account summary
//! (`/iserver/account/{accountId}/summary` and its `available_funds`, `balances`, `margins`
//! and `market_value` parts), `/iserver/account/pnl/partitioned` and
//! `/acesws/{accountId}/signatures-and-owners`.
//!
//! IBKR requires `GET /iserver/accounts` before most other `/iserver` calls in a session (market
//! data snapshots among them): the client makes it once per session where needed.
//!
//! Account ids are [`AccountId`]s, whose `Debug` form is masked.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
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

// ---------------------------------------------------------------------------------------
// Account ids

/// An IBKR account id, e.g. `U1234567` or `DU1234567` (paper).
///
/// Account ids identify a customer, so `Debug` masks all but the last three characters;
/// [`AccountId::as_str`] and `Display` give the whole id (for URLs and bodies).
///
/// ```
/// use ibkr_model::accounts::AccountId;
/// let a = AccountId::from("U1234567");
/// assert_eq!(format!("{a:?}"), "AccountId(****567)");
/// assert_eq!(a.to_string(), "U1234567");
/// assert_eq!(serde_json::to_string(&a).unwrap(), r#""U1234567""#);
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub String);

impl AccountId {
    /// An account id.
    pub fn new(id: impl Into<String>) -> Self {
        AccountId(id.into())
    }

    /// The whole id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.chars().count();
        let tail: String = self.0.chars().skip(n.saturating_sub(3)).collect();
        write!(f, "AccountId(****{tail})")
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AccountId {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(AccountId(s.to_string()))
    }
}

impl From<String> for AccountId {
    fn from(s: String) -> Self {
        AccountId(s)
    }
}

impl From<&str> for AccountId {
    fn from(s: &str) -> Self {
        AccountId(s.to_string())
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------------------
// POST /iserver/account, POST /iserver/dynaccount

/// Body of `POST /iserver/account` (switch the selected account) and of
/// `POST /iserver/dynaccount` (set a dynamic account): `{"acctId": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetAccountRequest {
    /// The account to select.
    #[serde(rename = "acctId")]
    pub acct_id: AccountId,
}

impl SetAccountRequest {
    /// A request selecting an account.
    pub fn new(acct_id: impl Into<AccountId>) -> Self {
        SetAccountRequest {
            acct_id: acct_id.into(),
        }
    }
}

/// Answer of `POST /iserver/account` and `POST /iserver/dynaccount`.
///
/// IBKR documents `{"set": true, "acctId": ...}`; when the account is already the
/// selected one, the gateway answers `{"success": "Account already set"}` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct SetAccountResponse {
    /// Whether the account was selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<bool>,
    /// The selected account.
    #[serde(rename = "acctId", default, skip_serializing_if = "Option::is_none")]
    pub acct_id: Option<AccountId>,
    /// A message instead of `set`, e.g. `Account already set`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SetAccountResponse {
    /// The documented answer: `{"set": true, "acctId": ...}`.
    pub fn new(acct_id: impl Into<AccountId>) -> Self {
        SetAccountResponse {
            set: Some(true),
            acct_id: Some(acct_id.into()),
            ..Default::default()
        }
    }

    /// The answer when the account was already selected.
    pub fn already_set() -> Self {
        SetAccountResponse {
            success: Some("Account already set".to_string()),
            ..Default::default()
        }
    }

    /// Whether the account is now selected (either form of the answer).
    pub fn is_set(&self) -> bool {
        self.set.unwrap_or(false) || self.success.is_some()
    }
}

// ---------------------------------------------------------------------------------------
// GET /iserver/account/search/{pattern}

/// Answer of `GET /iserver/account/search/{pattern}` (dynamic-account search, for
/// advisors and brokers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AccountSearch {
    /// The accounts matching the pattern (possibly none).
    #[serde(rename = "matchedAccounts")]
    pub matched_accounts: Vec<MatchedAccount>,
    /// The pattern searched for.
    pub pattern: String,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AccountSearch {
    /// An answer for a pattern.
    pub fn new(pattern: impl Into<String>, matched_accounts: Vec<MatchedAccount>) -> Self {
        AccountSearch {
            matched_accounts,
            pattern: pattern.into(),
            extra: Extra::new(),
        }
    }
}

/// One account found by `/iserver/account/search/{pattern}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MatchedAccount {
    /// The account id.
    #[serde(rename = "accountId")]
    pub account_id: AccountId,
    /// Its display alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Its allocation id.
    #[serde(
        rename = "allocationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allocation_id: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MatchedAccount {
    /// A match whose alias and allocation id are the account id, as IBKR sends them.
    pub fn new(account_id: impl Into<AccountId>) -> Self {
        let account_id = account_id.into();
        MatchedAccount {
            alias: Some(account_id.0.clone()),
            allocation_id: Some(account_id.0.clone()),
            account_id,
            extra: Extra::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// GET /iserver/account/{acct}/summary

/// Answer of `GET /iserver/account/{accountId}/summary`: the account's main balances
/// in its base currency (whole units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AccountSummary {
    /// Account type; empty in every sample.
    #[serde(
        rename = "accountType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account_type: Option<String>,
    /// Status; empty in every sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Balance.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub balance: Option<Decimal>,
    /// Special memorandum account (Reg T).
    #[serde(
        rename = "SMA",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub sma: Option<Decimal>,
    /// Buying power.
    #[serde(
        rename = "buyingPower",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub buying_power: Option<Decimal>,
    /// Available funds.
    #[serde(
        rename = "availableFunds",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub available_funds: Option<Decimal>,
    /// Excess liquidity.
    #[serde(
        rename = "excessLiquidity",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub excess_liquidity: Option<Decimal>,
    /// Net liquidation value.
    #[serde(
        rename = "netLiquidationValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub net_liquidation_value: Option<Decimal>,
    /// Equity with loan value.
    #[serde(
        rename = "equityWithLoanValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub equity_with_loan_value: Option<Decimal>,
    /// Reg T loan.
    #[serde(
        rename = "regTLoan",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub reg_t_loan: Option<Decimal>,
    /// Securities gross position value.
    #[serde(
        rename = "securitiesGVP",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub securities_gvp: Option<Decimal>,
    /// Total cash value.
    #[serde(
        rename = "totalCashValue",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub total_cash_value: Option<Decimal>,
    /// Accrued interest.
    #[serde(
        rename = "accruedInterest",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub accrued_interest: Option<Decimal>,
    /// Reg T margin.
    #[serde(
        rename = "regTMargin",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub reg_t_margin: Option<Decimal>,
    /// Initial margin.
    #[serde(
        rename = "initialMargin",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub initial_margin: Option<Decimal>,
    /// Maintenance margin.
    #[serde(
        rename = "maintenanceMargin",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub maintenance_margin: Option<Decimal>,
    /// Cash by currency; the last entry may be a total, e.g. currency `Total (in USD)`.
    #[serde(
        rename = "cashBalances",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cash_balances: Option<Vec<CashBalance>>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AccountSummary {
    /// A summary with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Cash in one currency, in [`AccountSummary::cash_balances`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CashBalance {
    /// Currency code, or a label such as `Total (in USD)`.
    pub currency: String,
    /// Cash balance.
    #[serde(with = "crate::num::number")]
    pub balance: Decimal,
    /// Settled cash.
    #[serde(
        rename = "settledCash",
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub settled_cash: Option<Decimal>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CashBalance {
    /// A balance, settled in full.
    pub fn new(currency: impl Into<String>, balance: Decimal) -> Self {
        CashBalance {
            currency: currency.into(),
            balance,
            settled_cash: Some(balance),
            extra: Extra::new(),
        }
    }
}

/// A display amount of the summary parts (`available_funds`, `balances`, `margins`,
/// `market_value`), sent as formatted text: `"1,005,254 USD"`, `"-401,958"`, `"1.01"`,
/// and also `"n/a"`, `"Unlimited"` or `"@ 16:00:00"`.
///
/// ```
/// use ibkr_model::accounts::DisplayAmount;
/// use rust_decimal::Decimal;
/// let a = DisplayAmount::from("-1,005,254 USD");
/// assert_eq!(a.amount(), Some(Decimal::from(-1005254)));
/// assert_eq!(a.currency(), Some("USD"));
/// assert_eq!(DisplayAmount::from("n/a").amount(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisplayAmount(pub String);

impl DisplayAmount {
    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number, without thousands separators, if the text starts with one.
    pub fn amount(&self) -> Option<Decimal> {
        let number = self.0.split_whitespace().next()?.replace(',', "");
        crate::num::parse_decimal(&number).ok()
    }

    /// The currency after the number, if any (e.g. `USD`).
    pub fn currency(&self) -> Option<&str> {
        let mut parts = self.0.split_whitespace();
        let first = parts.next()?;
        crate::num::parse_decimal(&first.replace(',', "")).ok()?;
        parts.next()
    }
}

impl From<&str> for DisplayAmount {
    fn from(s: &str) -> Self {
        DisplayAmount(s.to_string())
    }
}

impl From<String> for DisplayAmount {
    fn from(s: String) -> Self {
        DisplayAmount(s)
    }
}

impl std::fmt::Display for DisplayAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Answer of `GET /iserver/account/{accountId}/summary/available_funds`: one entry per
/// segment (`total`, `securities`, `commodities`, `Crypto at Paxos`).
pub type AvailableFundsBySegment = BTreeMap<String, AvailableFunds>;

/// Answer of `GET /iserver/account/{accountId}/summary/balances`, by segment.
pub type BalancesBySegment = BTreeMap<String, Balances>;

/// Answer of `GET /iserver/account/{accountId}/summary/margins`, by segment.
pub type MarginsBySegment = BTreeMap<String, Margins>;

/// Answer of `GET /iserver/account/{accountId}/summary/market_value`: one entry per
/// currency, and a total such as `Total (in USD)`.
pub type MarketValueByCurrency = BTreeMap<String, MarketValue>;

/// Declares a struct of optional [`DisplayAmount`] fields with their IBKR names.
macro_rules! display_amounts {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident = $key:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $key, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<DisplayAmount>,
            )*
            /// Fields not modelled above.
            #[serde(flatten)]
            pub extra: Extra,
        }

        impl $name {
            /// A segment with every field unset.
            pub fn new() -> Self {
                Self::default()
            }
        }
    };
}

display_amounts! {
    /// One segment of `/iserver/account/{accountId}/summary/available_funds`. IBKR
    /// mixes snake_case keys with abbreviated labels (`Lk Ahd Avlbl Fnds`).
    AvailableFunds {
        /// Current available funds.
        current_available = "current_available",
        /// Current excess liquidity.
        current_excess = "current_excess",
        /// Predicted post-expiry excess.
        post_expiry_excess = "Prdctd Pst-xpry Excss",
        /// Special memorandum account.
        sma = "SMA",
        /// Look-ahead available funds (label form).
        look_ahead_available_funds = "Lk Ahd Avlbl Fnds",
        /// Look-ahead excess liquidity (label form).
        look_ahead_excess_liquidity = "Lk Ahd Excss Lqdty",
        /// Look-ahead available funds.
        look_ahead_available = "look_ahead_available",
        /// Look-ahead excess liquidity.
        look_ahead_excess = "look_ahead_excess",
        /// Overnight available funds.
        overnight_available = "overnight_available",
        /// Overnight excess liquidity.
        overnight_excess = "overnight_excess",
        /// Buying power.
        buying_power = "buying_power",
        /// Leverage, e.g. `1.01` or `n/a`.
        leverage = "leverage",
        /// Time of the next look-ahead change, e.g. `@ 16:00:00`.
        look_ahead_next_change = "Lk Ahd Nxt Chng",
        /// Day trades left, e.g. `Unlimited`.
        day_trades_left = "day_trades_left",
    }
}

display_amounts! {
    /// One segment of `/iserver/account/{accountId}/summary/balances`.
    Balances {
        /// Net liquidation value.
        net_liquidation = "net_liquidation",
        /// Net liquidation uncertainty.
        net_liquidation_uncertainty = "Nt Lqdtn Uncrtnty",
        /// Equity with loan value.
        equity_with_loan = "equity_with_loan",
        /// Previous day's equity with loan value (label form).
        previous_day_equity_with_loan_label = "Prvs Dy Eqty Wth Ln Vl",
        /// Previous day's equity with loan value.
        previous_day_equity_with_loan = "previous_day_equity_with_loan",
        /// Reg T equity with loan value.
        reg_t_equity_with_loan = "Rg T Eqty Wth Ln Vl",
        /// Securities gross position value.
        sec_gross_pos_val = "sec_gross_pos_val",
        /// Cash.
        cash = "cash",
        /// Month-to-date interest.
        mtd_interest = "MTD Interest",
        /// Pending debit card charges.
        pending_debit_card_charges = "Pndng Dbt Crd Chrgs",
    }
}

display_amounts! {
    /// One segment of `/iserver/account/{accountId}/summary/margins`.
    Margins {
        /// Reg T margin.
        reg_t_margin = "RegT Margin",
        /// Current initial margin.
        current_initial = "current_initial",
        /// Predicted post-expiry margin at the open.
        post_expiry_margin_at_open = "Prdctd Pst-xpry Mrgn @ Opn",
        /// Current maintenance margin.
        current_maint = "current_maint",
        /// Look-ahead initial margin.
        look_ahead_initial = "look_ahead_initial",
        /// Look-ahead maintenance margin.
        look_ahead_maint = "look_ahead_maint",
        /// Projected look-ahead initial margin (IBKR's spelling, `inital`).
        projected_liquidity_initial_margin = "projected_liquidity_inital_margin",
        /// Projected look-ahead maintenance margin.
        projected_look_ahead_maint_margin = "Prjctd Lk Ahd Mntnnc Mrgn",
        /// Projected overnight initial margin.
        projected_overnight_initial_margin = "projected_overnight_initial_margin",
        /// Projected overnight maintenance margin.
        projected_overnight_maint_margin = "Prjctd Ovrnght Mntnnc Mrgn",
    }
}

display_amounts! {
    /// One currency of `/iserver/account/{accountId}/summary/market_value` (amounts
    /// without a currency suffix).
    MarketValue {
        /// Total cash.
        total_cash = "total_cash",
        /// Settled cash.
        settled_cash = "settled_cash",
        /// Month-to-date interest.
        mtd_interest = "MTD Interest",
        /// Stocks.
        stock = "stock",
        /// Options.
        options = "options",
        /// Futures.
        futures = "futures",
        /// Options on futures.
        future_options = "future_options",
        /// Funds.
        funds = "funds",
        /// Dividends receivable.
        dividends_receivable = "dividends_receivable",
        /// Mutual funds.
        mutual_funds = "mutual_funds",
        /// Money market.
        money_market = "money_market",
        /// Bonds.
        bonds = "bonds",
        /// Government bonds.
        govt_bonds = "Govt Bonds",
        /// Treasury bills.
        t_bills = "t_bills",
        /// Warrants.
        warrants = "warrants",
        /// Issuer options.
        issuer_option = "issuer_option",
        /// Commodities.
        commodity = "commodity",
        /// Notional value of CFDs.
        notional_cfd = "Notional CFD",
        /// CFDs.
        cfd = "cfd",
        /// Crypto currencies.
        cryptocurrency = "Cryptocurrency",
        /// Net liquidation value.
        net_liquidation = "net_liquidation",
        /// Unrealised profit and loss.
        unrealized_pnl = "unrealized_pnl",
        /// Realised profit and loss.
        realized_pnl = "realized_pnl",
        /// Exchange rate to the base currency.
        exchange_rate = "Exchange Rate",
    }
}

// ---------------------------------------------------------------------------------------
// GET /iserver/account/pnl/partitioned

/// Answer of `GET /iserver/account/pnl/partitioned`: profit and loss by account and
/// model, keyed `{accountId}.Core`. Empty (`{"upnl": {}}`) on the first request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PnlPartitioned {
    /// Entries by `{accountId}.{model}`, e.g. `U1234567.Core`.
    #[serde(default)]
    pub upnl: BTreeMap<String, PnlEntry>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PnlPartitioned {
    /// An answer with no entries.
    pub fn new() -> Self {
        Self::default()
    }
}

/// One entry of [`PnlPartitioned::upnl`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PnlEntry {
    /// Row type: 1 for an account's own row.
    #[serde(rename = "rowType", default, skip_serializing_if = "Option::is_none")]
    pub row_type: Option<i64>,
    /// Daily profit and loss.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub dpl: Option<Decimal>,
    /// Net liquidation value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub nl: Option<Decimal>,
    /// Unrealised profit and loss.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub upl: Option<Decimal>,
    /// Excess liquidity, unrounded (IBKR's WebSocket docs: "Unrounded Excess Liquidity").
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub uel: Option<Decimal>,
    /// Excess liquidity.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub el: Option<Decimal>,
    /// Market value of positions.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::num::number::opt"
    )]
    pub mv: Option<Decimal>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PnlEntry {
    /// An entry with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

// ---------------------------------------------------------------------------------------
// GET /acesws/{acct}/signatures-and-owners

/// Answer of `GET /acesws/{accountId}/signatures-and-owners`: the account's users and
/// signatures. Holds personal data (names, dates of birth): do not log it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignaturesAndOwners {
    /// The account.
    #[serde(rename = "accountId")]
    pub account_id: AccountId,
    /// Its users and their roles.
    #[serde(default)]
    pub users: Vec<AccountUser>,
    /// The applicant's signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Applicant>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SignaturesAndOwners {
    /// An answer for an account, with no users.
    pub fn new(account_id: impl Into<AccountId>) -> Self {
        SignaturesAndOwners {
            account_id: account_id.into(),
            users: Vec::new(),
            applicant: None,
            extra: Extra::new(),
        }
    }
}

/// A user of an account, in [`SignaturesAndOwners`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct AccountUser {
    /// Role, e.g. `OWNER`.
    #[serde(rename = "roleId", default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// Whether the user has a right code.
    #[serde(
        rename = "hasRightCodeInd",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_right_code_ind: Option<bool>,
    /// Login name.
    #[serde(rename = "userName", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The person or entity behind the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<UserEntity>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AccountUser {
    /// A user with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The person or entity of an [`AccountUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct UserEntity {
    /// First name.
    #[serde(rename = "firstName", default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(rename = "lastName", default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Entity type, e.g. `INDIVIDUAL`.
    #[serde(
        rename = "entityType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entity_type: Option<String>,
    /// Full name.
    #[serde(
        rename = "entityName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entity_name: Option<String>,
    /// Date of birth, `YYYY-MM-DD` (recordings only).
    #[serde(
        rename = "dateOfBirth",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub date_of_birth: Option<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl UserEntity {
    /// An entity with every field unset.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The applicant part of [`SignaturesAndOwners`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Applicant {
    /// Signatures, as names.
    #[serde(default)]
    pub signatures: Vec<String>,
    /// Fields not modelled above.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Applicant {
    /// An applicant with these signatures.
    pub fn new(signatures: Vec<String>) -> Self {
        Applicant {
            signatures,
            extra: Extra::new(),
        }
    }
}
