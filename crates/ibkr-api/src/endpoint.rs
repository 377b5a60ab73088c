//! Every call names its endpoint, so that retry rules and error messages attach to
//! the endpoint rather than to each call site; its pacing class follows from its path
//! ([`PacingClass::of_path`](crate::pacing::PacingClass::of_path)).

use std::fmt;

/// An API endpoint the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `POST /iserver/auth/status`
    AuthStatus,
    /// `POST /iserver/auth/ssodh/init`
    InitBrokerageSession,
    /// `POST /iserver/reauthenticate`
    Reauthenticate,
    /// `POST /tickle`
    Tickle,
    /// `GET /sso/validate`
    ValidateSso,
    /// `POST /logout`
    Logout,
    /// `GET /iserver/accounts`
    BrokerageAccounts,
    /// `GET /portfolio/accounts`
    PortfolioAccounts,
    /// `GET /portfolio/{acct}/summary`
    PortfolioSummary,
    /// `GET /portfolio/{acct}/ledger`
    PortfolioLedger,
    /// `GET /portfolio/{acct}/meta`
    PortfolioMeta,
    /// `GET /portfolio/subaccounts`
    PortfolioSubaccounts,
    /// `GET /portfolio/{acct}/allocation`
    PortfolioAllocation,
    /// `GET /portfolio/{acct}/positions/{page}`
    Positions,
    /// `POST /iserver/account`
    SwitchAccount,
    /// `GET /iserver/account/search/{pattern}`
    AccountSearch,
    /// `POST /iserver/dynaccount`
    DynAccount,
    /// `GET /iserver/account/{acct}/summary`
    AccountSummary,
    /// `GET /iserver/account/{acct}/summary/available_funds`
    AvailableFunds,
    /// `GET /iserver/account/{acct}/summary/balances`
    Balances,
    /// `GET /iserver/account/{acct}/summary/margins`
    Margins,
    /// `GET /iserver/account/{acct}/summary/market_value`
    MarketValue,
    /// `GET /iserver/account/pnl/partitioned`
    PnlPartitioned,
    /// `GET /acesws/{acct}/signatures-and-owners`
    SignaturesAndOwners,
    /// `GET /portfolio/subaccounts2`
    PortfolioSubaccounts2,
    /// `POST /portfolio/allocation`
    AllocationForAccounts,
    /// `GET /portfolio2/{acct}/positions`
    Positions2,
    /// `GET /portfolio/{acct}/position/{conid}`
    PositionByConid,
    /// `GET /portfolio/positions/{conid}`
    PositionsByConid,
    /// `POST /portfolio/{acct}/positions/invalidate`
    InvalidatePositions,
    /// `GET /portfolio/{acct}/combo/positions`
    ComboPositions,
    /// `POST /pa/performance`
    PaPerformance,
    /// `POST /pa/transactions`
    PaTransactions,
    /// `POST /pa/allperiods`
    PaAllPeriods,
    /// `POST /iserver/account/{acct}/orders`
    PlaceOrders,
    /// `POST /iserver/account/orders/{faGroup}`
    PlaceGroupOrders,
    /// `POST /iserver/reply/{replyId}`
    ReplyToPrompt,
    /// `POST /iserver/account/{acct}/orders/whatif`
    WhatIf,
    /// `POST /iserver/account/{acct}/order/{orderId}`
    ModifyOrder,
    /// `DELETE /iserver/account/{acct}/order/{orderId}`
    CancelOrder,
    /// `GET /iserver/account/orders`
    LiveOrders,
    /// `GET /iserver/account/order/status/{orderId}`
    OrderStatus,
    /// `GET /iserver/account/trades`
    Trades,
    /// `POST /iserver/questions/suppress`
    SuppressQuestions,
    /// `POST /iserver/questions/suppress/reset`
    ResetSuppressedQuestions,
    /// `POST /iserver/notification`
    AnswerNotification,
    /// `GET /iserver/secdef/search`
    SecDefSearch,
    /// `POST /iserver/secdef/search`
    SecDefSearchPost,
    /// `GET /iserver/secdef/strikes`
    SecDefStrikes,
    /// `GET /iserver/secdef/info`
    SecDefInfo,
    /// `GET /iserver/secdef/bond-filters`
    BondFilters,
    /// `GET /iserver/contract/{conid}/info`
    ContractInfo,
    /// `GET /iserver/contract/{conid}/info-and-rules`
    ContractInfoAndRules,
    /// `GET /iserver/contract/{conid}/algos`
    ContractAlgos,
    /// `POST /iserver/contract/rules`
    ContractRules,
    /// `GET /trsrv/stocks`
    TrsrvStocks,
    /// `GET /trsrv/futures`
    TrsrvFutures,
    /// `GET /trsrv/secdef`
    TrsrvSecDef,
    /// `GET /trsrv/secdef/schedule`
    TrsrvSecDefSchedule,
    /// `GET /trsrv/all-conids`
    TrsrvAllConids,
    /// `GET /contract/trading-schedule`
    TradingSchedule,
    /// `GET /iserver/currency/pairs`
    CurrencyPairs,
    /// `GET /iserver/exchangerate`
    ExchangeRate,
    /// `GET /iserver/marketdata/snapshot`
    Snapshot,
    /// `GET /iserver/marketdata/history`
    History,
    /// `POST /iserver/marketdata/unsubscribe`
    Unsubscribe,
    /// `GET /iserver/marketdata/unsubscribeall`
    UnsubscribeAll,
    /// A call through [`Client::raw`](crate::Client::raw), not typed by this library.
    Raw,
}

impl Endpoint {
    /// The method and path template, e.g. `POST /tickle`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::AuthStatus => "POST /iserver/auth/status",
            Endpoint::InitBrokerageSession => "POST /iserver/auth/ssodh/init",
            Endpoint::Reauthenticate => "POST /iserver/reauthenticate",
            Endpoint::Tickle => "POST /tickle",
            Endpoint::ValidateSso => "GET /sso/validate",
            Endpoint::Logout => "POST /logout",
            Endpoint::BrokerageAccounts => "GET /iserver/accounts",
            Endpoint::PortfolioAccounts => "GET /portfolio/accounts",
            Endpoint::PortfolioSummary => "GET /portfolio/{acct}/summary",
            Endpoint::PortfolioLedger => "GET /portfolio/{acct}/ledger",
            Endpoint::PortfolioMeta => "GET /portfolio/{acct}/meta",
            Endpoint::PortfolioSubaccounts => "GET /portfolio/subaccounts",
            Endpoint::PortfolioAllocation => "GET /portfolio/{acct}/allocation",
            Endpoint::Positions => "GET /portfolio/{acct}/positions/{page}",
            Endpoint::SwitchAccount => "POST /iserver/account",
            Endpoint::AccountSearch => "GET /iserver/account/search/{pattern}",
            Endpoint::DynAccount => "POST /iserver/dynaccount",
            Endpoint::AccountSummary => "GET /iserver/account/{acct}/summary",
            Endpoint::AvailableFunds => "GET /iserver/account/{acct}/summary/available_funds",
            Endpoint::Balances => "GET /iserver/account/{acct}/summary/balances",
            Endpoint::Margins => "GET /iserver/account/{acct}/summary/margins",
            Endpoint::MarketValue => "GET /iserver/account/{acct}/summary/market_value",
            Endpoint::PnlPartitioned => "GET /iserver/account/pnl/partitioned",
            Endpoint::SignaturesAndOwners => "GET /acesws/{acct}/signatures-and-owners",
            Endpoint::PortfolioSubaccounts2 => "GET /portfolio/subaccounts2",
            Endpoint::AllocationForAccounts => "POST /portfolio/allocation",
            Endpoint::Positions2 => "GET /portfolio2/{acct}/positions",
            Endpoint::PositionByConid => "GET /portfolio/{acct}/position/{conid}",
            Endpoint::PositionsByConid => "GET /portfolio/positions/{conid}",
            Endpoint::InvalidatePositions => "POST /portfolio/{acct}/positions/invalidate",
            Endpoint::ComboPositions => "GET /portfolio/{acct}/combo/positions",
            Endpoint::PaPerformance => "POST /pa/performance",
            Endpoint::PaTransactions => "POST /pa/transactions",
            Endpoint::PaAllPeriods => "POST /pa/allperiods",
            Endpoint::PlaceOrders => "POST /iserver/account/{acct}/orders",
            Endpoint::PlaceGroupOrders => "POST /iserver/account/orders/{faGroup}",
            Endpoint::ReplyToPrompt => "POST /iserver/reply/{replyId}",
            Endpoint::WhatIf => "POST /iserver/account/{acct}/orders/whatif",
            Endpoint::ModifyOrder => "POST /iserver/account/{acct}/order/{orderId}",
            Endpoint::CancelOrder => "DELETE /iserver/account/{acct}/order/{orderId}",
            Endpoint::LiveOrders => "GET /iserver/account/orders",
            Endpoint::OrderStatus => "GET /iserver/account/order/status/{orderId}",
            Endpoint::Trades => "GET /iserver/account/trades",
            Endpoint::SuppressQuestions => "POST /iserver/questions/suppress",
            Endpoint::ResetSuppressedQuestions => "POST /iserver/questions/suppress/reset",
            Endpoint::AnswerNotification => "POST /iserver/notification",
            Endpoint::SecDefSearch => "GET /iserver/secdef/search",
            Endpoint::SecDefSearchPost => "POST /iserver/secdef/search",
            Endpoint::SecDefStrikes => "GET /iserver/secdef/strikes",
            Endpoint::SecDefInfo => "GET /iserver/secdef/info",
            Endpoint::BondFilters => "GET /iserver/secdef/bond-filters",
            Endpoint::ContractInfo => "GET /iserver/contract/{conid}/info",
            Endpoint::ContractInfoAndRules => "GET /iserver/contract/{conid}/info-and-rules",
            Endpoint::ContractAlgos => "GET /iserver/contract/{conid}/algos",
            Endpoint::ContractRules => "POST /iserver/contract/rules",
            Endpoint::TrsrvStocks => "GET /trsrv/stocks",
            Endpoint::TrsrvFutures => "GET /trsrv/futures",
            Endpoint::TrsrvSecDef => "GET /trsrv/secdef",
            Endpoint::TrsrvSecDefSchedule => "GET /trsrv/secdef/schedule",
            Endpoint::TrsrvAllConids => "GET /trsrv/all-conids",
            Endpoint::TradingSchedule => "GET /contract/trading-schedule",
            Endpoint::CurrencyPairs => "GET /iserver/currency/pairs",
            Endpoint::ExchangeRate => "GET /iserver/exchangerate",
            Endpoint::Snapshot => "GET /iserver/marketdata/snapshot",
            Endpoint::History => "GET /iserver/marketdata/history",
            Endpoint::Unsubscribe => "POST /iserver/marketdata/unsubscribe",
            Endpoint::UnsubscribeAll => "GET /iserver/marketdata/unsubscribeall",
            Endpoint::Raw => "raw request",
        }
    }

    /// Whether sending the request again is harmless, so that it may be retried.
    /// Raw calls are idempotent only when they are `GET`s; anything that could place,
    /// change or cancel an order never is.
    pub fn is_idempotent(self, method: &reqwest::Method) -> bool {
        match self {
            Endpoint::Raw => *method == reqwest::Method::GET,
            Endpoint::Logout => false,
            // Orders: anything that could place, change or cancel an order, or answer
            // a prompt, is never resent blindly; its outcome is looked up instead.
            Endpoint::PlaceOrders
            | Endpoint::PlaceGroupOrders
            | Endpoint::ReplyToPrompt
            | Endpoint::ModifyOrder
            | Endpoint::CancelOrder
            | Endpoint::AnswerNotification => false,
            // Read-only, but IBKR grants Portfolio Analyst one call per 15 minutes: a
            // repeat would hold the caller that long, so the caller decides.
            Endpoint::PaPerformance | Endpoint::PaTransactions | Endpoint::PaAllPeriods => false,
            // Safe to repeat, but IBKR's 500 {"error":"unknown"} for a stream that is
            // not open is an answer, not a glitch: nothing to retry.
            Endpoint::Unsubscribe => false,
            Endpoint::AuthStatus
            | Endpoint::InitBrokerageSession
            | Endpoint::Reauthenticate
            | Endpoint::Tickle
            | Endpoint::ValidateSso
            | Endpoint::BrokerageAccounts
            | Endpoint::PortfolioAccounts
            | Endpoint::PortfolioSummary
            | Endpoint::PortfolioLedger
            | Endpoint::PortfolioMeta
            | Endpoint::PortfolioSubaccounts
            | Endpoint::PortfolioAllocation
            | Endpoint::Positions
            | Endpoint::WhatIf
            | Endpoint::LiveOrders
            | Endpoint::OrderStatus
            | Endpoint::Trades
            | Endpoint::SuppressQuestions
            | Endpoint::ResetSuppressedQuestions
            | Endpoint::SwitchAccount
            | Endpoint::AccountSearch
            | Endpoint::DynAccount
            | Endpoint::AccountSummary
            | Endpoint::AvailableFunds
            | Endpoint::Balances
            | Endpoint::Margins
            | Endpoint::MarketValue
            | Endpoint::PnlPartitioned
            | Endpoint::SignaturesAndOwners
            | Endpoint::PortfolioSubaccounts2
            | Endpoint::AllocationForAccounts
            | Endpoint::Positions2
            | Endpoint::PositionByConid
            | Endpoint::PositionsByConid
            | Endpoint::InvalidatePositions
            | Endpoint::ComboPositions
            | Endpoint::SecDefSearch
            | Endpoint::SecDefSearchPost
            | Endpoint::SecDefStrikes
            | Endpoint::SecDefInfo
            | Endpoint::BondFilters
            | Endpoint::ContractInfo
            | Endpoint::ContractInfoAndRules
            | Endpoint::ContractAlgos
            | Endpoint::ContractRules
            | Endpoint::TrsrvStocks
            | Endpoint::TrsrvFutures
            | Endpoint::TrsrvSecDef
            | Endpoint::TrsrvSecDefSchedule
            | Endpoint::TrsrvAllConids
            | Endpoint::TradingSchedule
            | Endpoint::CurrencyPairs
            | Endpoint::ExchangeRate
            | Endpoint::Snapshot
            | Endpoint::History
            | Endpoint::UnsubscribeAll => true,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
