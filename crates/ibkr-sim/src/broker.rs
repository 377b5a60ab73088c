//! The simulator's paper broker: accounts, cash ledgers, positions, fills and their
//! valuation, as plain state with no HTTP and no clock.
//!
//! It is the one boundary through which the portfolio endpoints read accounts and
//! through which order matching changes them: every method takes its instant and its
//! prices explicitly, so the same calls always give the same figures.
//!
//! ```
//! use chrono::{DateTime, NaiveDate, Utc};
//! use ibkr_sim::broker::{Broker, BrokerConfig, Side};
//! use ibkr_sim::instruments::Universe;
//! use ibkr_sim::prices::PriceEngine;
//! use rust_decimal::Decimal;
//!
//! let universe = Universe::standard(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
//! let engine = PriceEngine::new(42, &universe);
//! let mut broker = Broker::new(BrokerConfig::individual(), &universe).unwrap();
//! let at: DateTime<Utc> = "2025-07-16T15:00:00Z".parse().unwrap();
//! let price = engine.price(265598, at).unwrap();
//! broker
//!     .apply_fill("DU1234567", 265598, Side::Buy, Decimal::from(10), price, Decimal::ONE, at)
//!     .unwrap();
//! let v = broker.valuation_at("DU1234567", &engine, at).unwrap();
//! assert_eq!(v.summary.net_liquidation, v.summary.total_cash + v.summary.position_value);
//! ```
//!
//! # Conventions
//!
//! - Every figure is a [`Decimal`]. Money is rounded to cents (half away from zero)
//!   where it is booked or reported; average prices keep 8 decimals. Summary totals are
//!   sums of the rounded parts, so identities such as *net liquidation = cash + value
//!   of positions* hold exactly.
//! - Quantities are signed: positive long, negative short. A fill takes a positive
//!   quantity and a [`Side`].
//! - Average prices are per unit of price and include commissions (as IBKR's do):
//!   a buy's commission raises it, a short sale's lowers it. IBKR's *average cost* is
//!   the average price times the multiplier ([`Position::avg_cost`]).
//! - Commissions are charged in the instrument's currency. On a fill that reduces a
//!   position, the commission of the closing part is deducted from its realized P&L;
//!   a fill that flips a position splits its commission pro rata between the part that
//!   closes and the part that opens.
//! - Stocks and options settle in full: a buy pays quantity × price × multiplier plus
//!   commission from the ledger of the instrument's currency. Futures do not move cash
//!   when opened, not even for the commission: it is in their average price, so in
//!   their unrealized P&L, which is their contribution to net liquidation (variation
//!   margin); the fills that reduce or close them book their realized P&L, net of the
//!   commissions of both the opening and the closing part, to cash.
//! - FX pairs (`CASH`) are currency conversions: buying `EUR.USD` credits the EUR
//!   ledger and debits the USD one; they hold no position.
//! - Ledgers in other currencies are converted to the account's base currency with the
//!   last price of the universe's FX pairs (direct, inverted, or crossed through USD).
//! - Daily P&L is quantity × (last − prior close) × multiplier for every position held,
//!   including ones opened today.
//!
//! # Margin model
//!
//! A simplified Reg-T model, per position, in the base currency:
//!
//! | position      | initial                   | maintenance               |
//! |---------------|---------------------------|---------------------------|
//! | long stock    | 50 % of market value      | 25 % of market value      |
//! | short stock   | 50 % of market value      | 30 % of market value      |
//! | long option   | 100 % of market value     | 100 % of market value     |
//! | short option  | premium + max(20 % of the underlying's value − out-of-the-money amount, 10 % of the underlying's value for calls or of the strike for puts), per contract × multiplier | same as initial |
//! | future        | 6 % of notional           | 5 % of notional           |
//!
//! Then, for the account:
//!
//! - available funds = net liquidation − initial margin;
//! - excess liquidity = net liquidation − maintenance margin;
//! - buying power = 4 × excess liquidity (IBKR's intraday buying power of a margin
//!   account), never below zero.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::instruments::{Instrument, Kind, Right, SecType, Universe};
use crate::prices::PriceEngine;

/// The paper account of [`BrokerConfig::individual`].
pub const INDIVIDUAL_ACCOUNT: &str = "DU1234567";
/// The advisor's master account of [`BrokerConfig::advisor`].
pub const ADVISOR_ACCOUNT: &str = "DF1234567";
/// The sub-accounts of [`BrokerConfig::advisor`]: a USD one and a EUR one.
pub const ADVISOR_SUB_ACCOUNTS: [&str; 2] = ["DU1234568", "DU1234569"];

/// Rounds money to cents, half away from zero.
pub fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn avg_dp(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(8, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

fn pct(n: i64) -> Decimal {
    Decimal::new(n, 2)
}

// ---------------------------------------------------------------------------------------
// Errors

/// Why the broker refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// No account has this id.
    #[error("unknown account {account:?}: use one of this broker's accounts ({known})")]
    UnknownAccount {
        /// The id asked for.
        account: String,
        /// The broker's account ids, comma-separated.
        known: String,
    },
    /// The universe has no instrument with this conid.
    #[error(
        "unknown contract {conid}: use a conid of the simulator's universe (search it with /iserver/secdef/search)"
    )]
    UnknownContract {
        /// The conid asked for.
        conid: u32,
    },
    /// The instrument cannot be held (an index).
    #[error("contract {conid} ({sec_type}) is not tradable: trade a future or an option on it")]
    NotTradable {
        /// The conid.
        conid: u32,
        /// Its security type.
        sec_type: SecType,
    },
    /// A fill with a quantity, price or commission out of range.
    #[error("invalid fill: {0}")]
    InvalidFill(String),
    /// The price source had no price for an instrument the valuation needs.
    #[error(
        "no price for contract {conid}: the price source must price every position, its underlying and the FX pairs"
    )]
    NoPrice {
        /// The conid without a price.
        conid: u32,
    },
    /// No FX pair of the universe converts between two currencies.
    #[error(
        "no FX rate from {from} to {to}: the universe has no such pair (directly or through USD); hold that currency in an account whose base it is"
    )]
    NoFxRate {
        /// The currency converted from.
        from: String,
        /// The currency converted to.
        to: String,
    },
    /// A [`BrokerConfig`] that cannot be set up.
    #[error("invalid broker configuration: {0}")]
    InvalidConfig(String),
}

// ---------------------------------------------------------------------------------------
// Configuration

/// What kind of account it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AccountType {
    /// An individual account.
    Individual,
    /// A financial advisor's master account.
    Advisor,
    /// A client account under an advisor's master account.
    SubAccount,
}

impl AccountType {
    /// A code for the account type: `INDIVIDUAL`, `ADVISOR` or `SUBACCOUNT`.
    pub fn code(self) -> &'static str {
        match self {
            AccountType::Individual => "INDIVIDUAL",
            AccountType::Advisor => "ADVISOR",
            AccountType::SubAccount => "SUBACCOUNT",
        }
    }
}

impl fmt::Display for AccountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A position an account starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeedPosition {
    /// The instrument.
    pub conid: u32,
    /// Signed quantity.
    pub quantity: Decimal,
    /// Average price per unit of price.
    pub avg_price: Decimal,
}

/// One account of a [`BrokerConfig`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccountConfig {
    /// Account id, e.g. `DU1234567`.
    pub id: String,
    /// Display alias (the id unless set).
    pub alias: String,
    /// Kind of account.
    pub account_type: AccountType,
    /// Base currency, e.g. `USD`.
    pub base_currency: String,
    /// The advisor's master account of a sub-account.
    pub parent: Option<String>,
    /// Opening cash per currency.
    pub cash: BTreeMap<String, Decimal>,
    /// Opening positions.
    pub positions: Vec<SeedPosition>,
}

impl AccountConfig {
    /// An account with no cash and no positions.
    pub fn new(
        id: impl Into<String>,
        account_type: AccountType,
        base_currency: impl Into<String>,
    ) -> Self {
        let id = id.into();
        AccountConfig {
            alias: id.clone(),
            id,
            account_type,
            base_currency: base_currency.into(),
            parent: None,
            cash: BTreeMap::new(),
            positions: Vec::new(),
        }
    }

    /// Sets the alias.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = alias.into();
        self
    }

    /// Sets the master account (for a sub-account).
    pub fn parent(mut self, parent: impl Into<String>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// Adds opening cash in a currency.
    pub fn cash(mut self, currency: impl Into<String>, amount: Decimal) -> Self {
        *self.cash.entry(currency.into()).or_default() += amount;
        self
    }

    /// Adds an opening position (signed quantity, average price per unit).
    pub fn position(mut self, conid: u32, quantity: Decimal, avg_price: Decimal) -> Self {
        self.positions.push(SeedPosition {
            conid,
            quantity,
            avg_price,
        });
        self
    }
}

/// The accounts a [`Broker`] starts with.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct BrokerConfig {
    /// The accounts, in the order the broker lists them.
    pub accounts: Vec<AccountConfig>,
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("a decimal literal")
}

impl BrokerConfig {
    /// No accounts.
    pub fn new() -> Self {
        BrokerConfig::default()
    }

    /// Adds an account.
    pub fn account(mut self, account: AccountConfig) -> Self {
        self.accounts.push(account);
        self
    }

    /// One paper account `DU1234567` in USD with 1,000,000 cash and AAPL, SPY and
    /// MSFT positions bought below the universe's reference prices.
    pub fn individual() -> Self {
        BrokerConfig::new().account(
            AccountConfig::new(INDIVIDUAL_ACCOUNT, AccountType::Individual, "USD")
                .cash("USD", Decimal::from(1_000_000))
                .position(265598, Decimal::from(100), dec("212.40"))
                .position(756733, Decimal::from(50), dec("598.15"))
                .position(272093, Decimal::from(30), dec("401.87")),
        )
    }

    /// An advisor's master account `DF1234567` (USD, cash only) with two
    /// sub-accounts: `DU1234568` (USD: QQQ and TSLA) and `DU1234569` (EUR base, with
    /// a EUR and a USD ledger: IBM on IBIS in EUR and AAPL).
    pub fn advisor() -> Self {
        let [usd, eur] = ADVISOR_SUB_ACCOUNTS;
        BrokerConfig::new()
            .account(
                AccountConfig::new(ADVISOR_ACCOUNT, AccountType::Advisor, "USD")
                    .alias("Advisor master")
                    .cash("USD", Decimal::from(50_000)),
            )
            .account(
                AccountConfig::new(usd, AccountType::SubAccount, "USD")
                    .alias("Client growth")
                    .parent(ADVISOR_ACCOUNT)
                    .cash("USD", Decimal::from(400_000))
                    .position(320227571, Decimal::from(40), dec("551.20"))
                    .position(76792991, Decimal::from(25), dec("262.35")),
            )
            .account(
                AccountConfig::new(eur, AccountType::SubAccount, "EUR")
                    .alias("Client euro")
                    .parent(ADVISOR_ACCOUNT)
                    .cash("EUR", Decimal::from(180_000))
                    .cash("USD", Decimal::from(25_000))
                    .position(1411277, Decimal::from(60), dec("214.50"))
                    .position(265598, Decimal::from(20), dec("226.10")),
            )
    }
}

// ---------------------------------------------------------------------------------------
// State

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy: adds to a long position or covers a short one.
    Buy,
    /// Sell: reduces a long position or adds to a short one.
    Sell,
}

impl Side {
    /// +1 for a buy, −1 for a sell.
    pub fn sign(self) -> Decimal {
        match self {
            Side::Buy => Decimal::ONE,
            Side::Sell => Decimal::NEGATIVE_ONE,
        }
    }
}

/// A position of an account in one instrument.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Position {
    /// The instrument.
    pub conid: u32,
    /// Security type.
    pub sec_type: SecType,
    /// Currency of the instrument (and of the amounts below).
    pub currency: String,
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// Signed quantity, never zero.
    pub quantity: Decimal,
    /// Average price per unit of price, commissions included.
    pub avg_price: Decimal,
    /// Realized P&L since the position was opened, net of commissions.
    pub realized_pnl: Decimal,
    /// The last fill, `None` for a seeded position.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Position {
    /// IBKR's average cost: average price × multiplier.
    pub fn avg_cost(&self) -> Decimal {
        avg_dp(self.avg_price * self.multiplier)
    }
}

/// One fill as the account booked it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Execution {
    /// The account.
    pub account: String,
    /// When it filled.
    pub at: DateTime<Utc>,
    /// The instrument.
    pub conid: u32,
    /// Buy or sell.
    pub side: Side,
    /// Quantity (positive).
    pub quantity: Decimal,
    /// Price per unit.
    pub price: Decimal,
    /// Commission, in `currency`.
    pub commission: Decimal,
    /// The instrument's currency.
    pub currency: String,
    /// Realized P&L of the fill, net of the commission of its closing part.
    pub realized_pnl: Decimal,
    /// Cash moved in `currency` (for an FX pair: in its quote currency).
    pub cash_change: Decimal,
    /// The position's quantity after the fill (zero for an FX conversion).
    pub position_after: Decimal,
}

/// One account: identity, cash ledgers, positions and its fills.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Account {
    /// Account id.
    pub id: String,
    /// Display alias.
    pub alias: String,
    /// Kind of account.
    pub account_type: AccountType,
    /// Base currency.
    pub base_currency: String,
    /// The master account of a sub-account.
    pub parent: Option<String>,
    cash: BTreeMap<String, Decimal>,
    positions: BTreeMap<u32, Position>,
    realized: BTreeMap<String, Decimal>,
    executions: Vec<Execution>,
}

impl Account {
    /// The cash balance in a currency (zero without a ledger).
    pub fn cash(&self, currency: &str) -> Decimal {
        self.cash.get(currency).copied().unwrap_or_default()
    }

    /// Cash balances by currency.
    pub fn cash_balances(&self) -> &BTreeMap<String, Decimal> {
        &self.cash
    }

    /// Open positions by conid.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.values()
    }

    /// The open position in an instrument.
    pub fn position(&self, conid: u32) -> Option<&Position> {
        self.positions.get(&conid)
    }

    /// Realized P&L by currency since the broker started, net of commissions.
    pub fn realized_pnl(&self) -> &BTreeMap<String, Decimal> {
        &self.realized
    }

    /// Every fill, oldest first.
    pub fn executions(&self) -> &[Execution] {
        &self.executions
    }
}

/// The paper broker: accounts over a universe of instruments.
#[derive(Debug, Clone)]
pub struct Broker {
    universe: Universe,
    accounts: Vec<Account>,
    /// FX pair conids by (base, quote).
    fx_pairs: BTreeMap<(String, String), u32>,
}

impl Broker {
    /// A broker with the accounts of `config`, over `universe`.
    pub fn new(config: BrokerConfig, universe: &Universe) -> Result<Broker, BrokerError> {
        let bad = |m: String| Err(BrokerError::InvalidConfig(m));
        let mut accounts: Vec<Account> = Vec::new();
        for a in &config.accounts {
            if a.id.trim().is_empty() {
                return bad("an account has an empty id".into());
            }
            if accounts.iter().any(|x| x.id == a.id) {
                return bad(format!("account {} is listed twice", a.id));
            }
            let mut positions = BTreeMap::new();
            for p in &a.positions {
                let i = universe
                    .get(p.conid)
                    .ok_or(BrokerError::UnknownContract { conid: p.conid })?;
                if matches!(i.sec_type, SecType::Index | SecType::Forex) {
                    return bad(format!(
                        "account {}: contract {} ({}) cannot be seeded as a position; seed FX as cash",
                        a.id, p.conid, i.sec_type
                    ));
                }
                if p.quantity.is_zero() || positions.contains_key(&p.conid) {
                    return bad(format!(
                        "account {}: position {} is zero or listed twice",
                        a.id, p.conid
                    ));
                }
                positions.insert(p.conid, Position::new(i, p.quantity, p.avg_price, None));
            }
            accounts.push(Account {
                id: a.id.clone(),
                alias: a.alias.clone(),
                account_type: a.account_type,
                base_currency: a.base_currency.clone(),
                parent: a.parent.clone(),
                cash: a.cash.iter().map(|(c, v)| (c.clone(), money(*v))).collect(),
                positions,
                realized: BTreeMap::new(),
                executions: Vec::new(),
            });
        }
        for a in &accounts {
            if let Some(p) = &a.parent {
                let ok = accounts
                    .iter()
                    .any(|m| &m.id == p && m.account_type == AccountType::Advisor);
                if !ok {
                    return bad(format!(
                        "account {}: parent {p} is not an advisor account of this broker",
                        a.id
                    ));
                }
            }
        }
        let fx_pairs = universe
            .iter()
            .filter_map(|i| match &i.kind {
                Kind::Forex { base, quote } => Some(((base.clone(), quote.clone()), i.conid)),
                _ => None,
            })
            .collect();
        Ok(Broker {
            universe: universe.clone(),
            accounts,
            fx_pairs,
        })
    }

    /// The universe the broker trades.
    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    /// Every account, in configuration order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The sub-accounts of an advisor's master account.
    pub fn sub_accounts(&self, master: &str) -> Result<Vec<&Account>, BrokerError> {
        self.account(master)?;
        Ok(self
            .accounts
            .iter()
            .filter(|a| a.parent.as_deref() == Some(master))
            .collect())
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Result<&Account, BrokerError> {
        self.index(id).map(|i| &self.accounts[i])
    }

    fn index(&self, id: &str) -> Result<usize, BrokerError> {
        self.accounts
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| BrokerError::UnknownAccount {
                account: id.to_string(),
                known: self
                    .accounts
                    .iter()
                    .map(|a| a.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// An account's cash balance in a currency (zero without a ledger).
    pub fn cash(&self, account: &str, currency: &str) -> Result<Decimal, BrokerError> {
        Ok(self.account(account)?.cash(currency))
    }

    /// Adds (or with a negative amount, withdraws) cash, rounded to cents; returns the
    /// new balance.
    pub fn deposit(
        &mut self,
        account: &str,
        currency: &str,
        amount: Decimal,
    ) -> Result<Decimal, BrokerError> {
        let i = self.index(account)?;
        let c = self.accounts[i]
            .cash
            .entry(currency.to_string())
            .or_default();
        *c += money(amount);
        Ok(*c)
    }

    /// Books a fill: `quantity` (positive) of `conid` bought or sold at `price`, with
    /// `commission` in the instrument's currency, at `at`. Updates the position (open,
    /// increase, reduce, close or flip, with average price and realized P&L) and the
    /// cash ledger of the instrument's currency; see the module's conventions.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_fill(
        &mut self,
        account: &str,
        conid: u32,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        commission: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Execution, BrokerError> {
        let idx = self.index(account)?;
        if quantity <= Decimal::ZERO {
            return Err(BrokerError::InvalidFill(format!(
                "quantity must be positive, got {quantity}: give the direction as the side"
            )));
        }
        if price < Decimal::ZERO {
            return Err(BrokerError::InvalidFill(format!(
                "price must not be negative, got {price}"
            )));
        }
        if commission < Decimal::ZERO {
            return Err(BrokerError::InvalidFill(format!(
                "commission must not be negative, got {commission}"
            )));
        }
        let inst = self
            .universe
            .get(conid)
            .ok_or(BrokerError::UnknownContract { conid })?;
        let acct = &mut self.accounts[idx];
        let mut exec = Execution {
            account: acct.id.clone(),
            at,
            conid,
            side,
            quantity,
            price,
            commission,
            currency: inst.currency.clone(),
            realized_pnl: Decimal::ZERO,
            cash_change: Decimal::ZERO,
            position_after: Decimal::ZERO,
        };
        match &inst.kind {
            Kind::Index => {
                return Err(BrokerError::NotTradable {
                    conid,
                    sec_type: inst.sec_type,
                });
            }
            Kind::Forex { base, quote } => {
                let base_change = money(side.sign() * quantity);
                let quote_change = money(-side.sign() * quantity * price - commission);
                *acct.cash.entry(base.clone()).or_default() += base_change;
                *acct.cash.entry(quote.clone()).or_default() += quote_change;
                exec.cash_change = quote_change;
            }
            _ => {
                let (old_qty, old_avg, old_realized) = acct
                    .positions
                    .get(&conid)
                    .map_or((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |p| {
                        (p.quantity, p.avg_price, p.realized_pnl)
                    });
                let t = trade(
                    old_qty,
                    old_avg,
                    side,
                    quantity,
                    price,
                    commission,
                    inst.multiplier,
                );
                // A future's commissions are in its average price (hence in its
                // unrealized P&L) until the fill that closes it books them, with the
                // realized P&L: debiting them at the open as well counted them twice.
                let cash_change = if inst.sec_type == SecType::Future {
                    t.realized
                } else {
                    money(-side.sign() * quantity * price * inst.multiplier - commission)
                };
                *acct.cash.entry(inst.currency.clone()).or_default() += cash_change;
                if !t.realized.is_zero() {
                    *acct.realized.entry(inst.currency.clone()).or_default() += t.realized;
                }
                if t.quantity.is_zero() {
                    acct.positions.remove(&conid);
                } else {
                    let mut p = Position::new(inst, t.quantity, t.avg_price, Some(at));
                    p.realized_pnl = old_realized + t.realized;
                    acct.positions.insert(conid, p);
                }
                exec.realized_pnl = t.realized;
                exec.cash_change = cash_change;
                exec.position_after = t.quantity;
            }
        }
        acct.executions.push(exec.clone());
        Ok(exec)
    }
}

impl Position {
    fn new(
        i: &Instrument,
        quantity: Decimal,
        avg_price: Decimal,
        updated_at: Option<DateTime<Utc>>,
    ) -> Position {
        Position {
            conid: i.conid,
            sec_type: i.sec_type,
            currency: i.currency.clone(),
            multiplier: i.multiplier,
            quantity,
            avg_price: avg_dp(avg_price),
            realized_pnl: Decimal::ZERO,
            updated_at,
        }
    }
}

/// A position after a fill.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Traded {
    quantity: Decimal,
    avg_price: Decimal,
    /// Realized P&L, net of the closing part's commission, in cents.
    realized: Decimal,
}

/// The arithmetic of a fill against a position.
fn trade(
    pos: Decimal,
    avg: Decimal,
    side: Side,
    qty: Decimal,
    price: Decimal,
    commission: Decimal,
    mult: Decimal,
) -> Traded {
    let signed = side.sign() * qty;
    let new_qty = pos + signed;
    // Price per unit with the commission of `opened` units folded in.
    let effective = |opened: Decimal, comm: Decimal| {
        if opened.is_zero() || mult.is_zero() {
            price
        } else {
            price + side.sign() * comm / (opened * mult)
        }
    };
    if pos.is_zero() || pos.is_sign_positive() == signed.is_sign_positive() {
        let avg_new = (pos.abs() * avg + qty * effective(qty, commission)) / new_qty.abs();
        return Traded {
            quantity: new_qty,
            avg_price: avg_dp(avg_new),
            realized: Decimal::ZERO,
        };
    }
    let closed = qty.min(pos.abs());
    let close_commission = commission * closed / qty;
    let open_commission = commission - close_commission;
    let direction = if pos.is_sign_positive() {
        Decimal::ONE
    } else {
        Decimal::NEGATIVE_ONE
    };
    let realized = money((price - avg) * closed * mult * direction - close_commission);
    let opened = qty - closed;
    let avg_price = if new_qty.is_zero() {
        Decimal::ZERO
    } else if opened.is_zero() {
        avg
    } else {
        avg_dp(effective(opened, open_commission))
    };
    Traded {
        quantity: new_qty,
        avg_price,
        realized,
    }
}

// ---------------------------------------------------------------------------------------
// Valuation

/// The prices of one instrument at the valuation instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mark {
    /// Last price.
    pub last: Decimal,
    /// The previous session's close.
    pub prior_close: Decimal,
}

impl Mark {
    /// A mark with a last price and a prior close.
    pub fn new(last: Decimal, prior_close: Decimal) -> Mark {
        Mark { last, prior_close }
    }

    /// A mark that has not moved since the prior close.
    pub fn flat(price: Decimal) -> Mark {
        Mark::new(price, price)
    }
}

/// The marks of a price engine at an instant, as a price source for
/// [`Broker::valuation`].
pub fn engine_marks(engine: &PriceEngine, at: DateTime<Utc>) -> impl Fn(u32) -> Option<Mark> + '_ {
    move |conid| {
        engine
            .quote(conid, at)
            .map(|q| Mark::new(q.last, q.prior_close))
    }
}

/// One position valued.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PositionValue {
    /// The instrument.
    pub conid: u32,
    /// IBKR-style description, e.g. `AAPL` or `AAPL JAN26 230 C`.
    pub description: String,
    /// Security type (asset class).
    pub sec_type: SecType,
    /// Allocation group: `ETF`, `Stock`, `Option` or `Future`.
    pub group: String,
    /// Instrument currency.
    pub currency: String,
    /// Signed quantity.
    pub quantity: Decimal,
    /// Multiplier.
    pub multiplier: Decimal,
    /// Last price.
    pub mkt_price: Decimal,
    /// Average price per unit.
    pub avg_price: Decimal,
    /// Average cost (average price × multiplier).
    pub avg_cost: Decimal,
    /// Market value (notional for futures), instrument currency, cents.
    pub mkt_value: Decimal,
    /// Unrealized P&L, instrument currency, cents.
    pub unrealized_pnl: Decimal,
    /// Realized P&L since opened, instrument currency.
    pub realized_pnl: Decimal,
    /// P&L since the prior close, instrument currency, cents.
    pub daily_pnl: Decimal,
    /// Instrument currency → base currency.
    pub fx_rate: Decimal,
    /// Market value in the base currency.
    pub mkt_value_base: Decimal,
    /// Unrealized P&L in the base currency.
    pub unrealized_pnl_base: Decimal,
    /// Daily P&L in the base currency.
    pub daily_pnl_base: Decimal,
    /// What the position adds to net liquidation, in the base currency: its market
    /// value, or for futures its unrealized P&L.
    pub liquidation_value_base: Decimal,
    /// Initial margin, base currency.
    pub init_margin: Decimal,
    /// Maintenance margin, base currency.
    pub maint_margin: Decimal,
}

/// One cash ledger valued.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CashBalance {
    /// Currency.
    pub currency: String,
    /// Balance in that currency.
    pub balance: Decimal,
    /// That currency → base currency.
    pub fx_rate: Decimal,
    /// Balance in the base currency.
    pub balance_base: Decimal,
}

/// An account's summary figures, in its base currency; see the module's margin model.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccountSummary {
    /// Account id.
    pub account: String,
    /// Base currency.
    pub base_currency: String,
    /// Total cash: every ledger converted.
    pub total_cash: Decimal,
    /// Sum of the positions' liquidation values.
    pub position_value: Decimal,
    /// Net liquidation = total cash + position value.
    pub net_liquidation: Decimal,
    /// Market value of stocks (signed).
    pub stock_market_value: Decimal,
    /// Market value of options (signed).
    pub option_market_value: Decimal,
    /// Unrealized P&L of futures (their share of net liquidation).
    pub future_market_value: Decimal,
    /// Sum of absolute market values of stocks and options (futures excluded).
    pub gross_position_value: Decimal,
    /// Unrealized P&L.
    pub unrealized_pnl: Decimal,
    /// Realized P&L since the broker started, converted at today's rates.
    pub realized_pnl: Decimal,
    /// P&L since the prior close.
    pub daily_pnl: Decimal,
    /// Initial margin requirement.
    pub init_margin: Decimal,
    /// Maintenance margin requirement.
    pub maint_margin: Decimal,
    /// Net liquidation − initial margin.
    pub available_funds: Decimal,
    /// Net liquidation − maintenance margin.
    pub excess_liquidity: Decimal,
    /// 4 × excess liquidity, at least zero.
    pub buying_power: Decimal,
}

/// An account valued at one set of prices.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Valuation {
    /// Summary figures.
    pub summary: AccountSummary,
    /// Positions, by conid.
    pub positions: Vec<PositionValue>,
    /// Cash ledgers, by currency.
    pub cash: Vec<CashBalance>,
}

/// Market value split into long and short, by key, in the base currency. Short
/// values are negative, so long + short is the net value.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AllocationSplit {
    /// Long values (and positive cash).
    pub long: BTreeMap<String, Decimal>,
    /// Short values (and negative cash), negative.
    pub short: BTreeMap<String, Decimal>,
}

impl AllocationSplit {
    fn add(&mut self, key: &str, value: Decimal) {
        if value.is_zero() {
            return;
        }
        let side = if value.is_sign_positive() {
            &mut self.long
        } else {
            &mut self.short
        };
        *side.entry(key.to_string()).or_default() += value;
    }

    /// Long + short over every key.
    pub fn net(&self) -> Decimal {
        self.long.values().chain(self.short.values()).sum()
    }
}

/// An account's allocation. The universe has no sectors, so positions are grouped
/// by asset class (`STK`, `OPT`, `FUT`, and `CASH` for cash) and by group (`ETF`,
/// `Stock`, `Option`, `Future`; cash is not in a group).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Allocation {
    /// By asset class, cash included.
    pub asset_class: AllocationSplit,
    /// By group, positions only.
    pub group: AllocationSplit,
}

impl Valuation {
    /// The allocation of the account: positions by market value in the base currency
    /// (notional for futures), cash under `CASH`.
    pub fn allocation(&self) -> Allocation {
        let mut a = Allocation::default();
        for p in &self.positions {
            a.asset_class.add(p.sec_type.code(), p.mkt_value_base);
            a.group.add(&p.group, p.mkt_value_base);
        }
        a.asset_class.add("CASH", self.summary.total_cash);
        a
    }
}

fn group(i: &Instrument) -> &'static str {
    match i.kind {
        Kind::Stock { etf: true } => "ETF",
        Kind::Stock { etf: false } => "Stock",
        Kind::Option(_) => "Option",
        Kind::Future(_) => "Future",
        Kind::Index => "Index",
        Kind::Forex { .. } => "Currency",
    }
}

impl Broker {
    /// The rate converting `from` into `to`, from the universe's FX pairs priced by
    /// `marks`: a direct pair, an inverted one, or a cross through USD.
    pub fn fx_rate<F>(&self, from: &str, to: &str, marks: &F) -> Result<Decimal, BrokerError>
    where
        F: Fn(u32) -> Option<Mark>,
    {
        if from == to {
            return Ok(Decimal::ONE);
        }
        let last = |conid: u32| -> Result<Decimal, BrokerError> {
            match marks(conid) {
                Some(m) if m.last > Decimal::ZERO => Ok(m.last),
                _ => Err(BrokerError::NoPrice { conid }),
            }
        };
        if let Some(&c) = self.fx_pairs.get(&(from.to_string(), to.to_string())) {
            return last(c);
        }
        if let Some(&c) = self.fx_pairs.get(&(to.to_string(), from.to_string())) {
            return Ok(Decimal::ONE / last(c)?);
        }
        if from != "USD" && to != "USD" {
            let no_rate = |_| BrokerError::NoFxRate {
                from: from.to_string(),
                to: to.to_string(),
            };
            let a = self.fx_rate(from, "USD", marks).map_err(no_rate)?;
            let b = self.fx_rate("USD", to, marks).map_err(no_rate)?;
            return Ok(a * b);
        }
        Err(BrokerError::NoFxRate {
            from: from.to_string(),
            to: to.to_string(),
        })
    }

    /// Values an account against the prices of `marks` (a price per conid: every
    /// position's, its underlying's for short options, and the FX pairs needed).
    pub fn valuation<F>(&self, account: &str, marks: F) -> Result<Valuation, BrokerError>
    where
        F: Fn(u32) -> Option<Mark>,
    {
        let acct = self.account(account)?;
        let base = acct.base_currency.as_str();
        let mark = |conid: u32| marks(conid).ok_or(BrokerError::NoPrice { conid });

        let mut cash = Vec::new();
        for (ccy, &balance) in &acct.cash {
            let fx_rate = self.fx_rate(ccy, base, &marks)?;
            cash.push(CashBalance {
                currency: ccy.clone(),
                balance,
                fx_rate,
                balance_base: money(balance * fx_rate),
            });
        }

        let mut positions = Vec::new();
        for p in acct.positions.values() {
            let inst = self
                .universe
                .get(p.conid)
                .ok_or(BrokerError::UnknownContract { conid: p.conid })?;
            let m = mark(p.conid)?;
            let fx_rate = self.fx_rate(&p.currency, base, &marks)?;
            let q = p.quantity;
            let mult = p.multiplier;
            let exact_mv = q * m.last * mult;
            let exact_upnl = q * (m.last - p.avg_price) * mult;
            let exact_daily = q * (m.last - m.prior_close) * mult;
            let mkt_value_base = money(exact_mv * fx_rate);
            let unrealized_pnl_base = money(exact_upnl * fx_rate);
            let (init, maint) = self.margin(inst, p, m, &mark)?;
            positions.push(PositionValue {
                conid: p.conid,
                description: inst.description(),
                sec_type: p.sec_type,
                group: group(inst).to_string(),
                currency: p.currency.clone(),
                quantity: q,
                multiplier: mult,
                mkt_price: m.last,
                avg_price: p.avg_price,
                avg_cost: p.avg_cost(),
                mkt_value: money(exact_mv),
                unrealized_pnl: money(exact_upnl),
                realized_pnl: p.realized_pnl,
                daily_pnl: money(exact_daily),
                fx_rate,
                mkt_value_base,
                unrealized_pnl_base,
                daily_pnl_base: money(exact_daily * fx_rate),
                liquidation_value_base: if p.sec_type == SecType::Future {
                    unrealized_pnl_base
                } else {
                    mkt_value_base
                },
                init_margin: money(init * fx_rate),
                maint_margin: money(maint * fx_rate),
            });
        }

        let mut realized_pnl = Decimal::ZERO;
        for (ccy, &r) in &acct.realized {
            realized_pnl += money(r * self.fx_rate(ccy, base, &marks)?);
        }
        let sum = |f: &dyn Fn(&PositionValue) -> Option<Decimal>| -> Decimal {
            positions.iter().filter_map(f).sum()
        };
        let total_cash: Decimal = cash.iter().map(|c| c.balance_base).sum();
        let position_value = sum(&|p| Some(p.liquidation_value_base));
        let net_liquidation = total_cash + position_value;
        let init_margin = sum(&|p| Some(p.init_margin));
        let maint_margin = sum(&|p| Some(p.maint_margin));
        let excess_liquidity = net_liquidation - maint_margin;
        let summary = AccountSummary {
            account: acct.id.clone(),
            base_currency: base.to_string(),
            total_cash,
            position_value,
            net_liquidation,
            stock_market_value: sum(&|p| {
                (p.sec_type == SecType::Stock).then_some(p.mkt_value_base)
            }),
            option_market_value: sum(&|p| {
                (p.sec_type == SecType::Option).then_some(p.mkt_value_base)
            }),
            future_market_value: sum(&|p| {
                (p.sec_type == SecType::Future).then_some(p.liquidation_value_base)
            }),
            gross_position_value: sum(&|p| {
                (p.sec_type != SecType::Future).then_some(p.mkt_value_base.abs())
            }),
            unrealized_pnl: sum(&|p| Some(p.unrealized_pnl_base)),
            realized_pnl,
            daily_pnl: sum(&|p| Some(p.daily_pnl_base)),
            init_margin,
            maint_margin,
            available_funds: net_liquidation - init_margin,
            excess_liquidity,
            buying_power: (excess_liquidity * Decimal::from(4)).max(Decimal::ZERO),
        };
        Ok(Valuation {
            summary,
            positions,
            cash,
        })
    }

    /// Values an account at the price engine's prices at `at`.
    pub fn valuation_at(
        &self,
        account: &str,
        engine: &PriceEngine,
        at: DateTime<Utc>,
    ) -> Result<Valuation, BrokerError> {
        self.valuation(account, engine_marks(engine, at))
    }

    /// (initial, maintenance) margin of a position, in its currency.
    fn margin(
        &self,
        inst: &Instrument,
        p: &Position,
        m: Mark,
        mark: &dyn Fn(u32) -> Result<Mark, BrokerError>,
    ) -> Result<(Decimal, Decimal), BrokerError> {
        let value = (p.quantity * m.last * p.multiplier).abs();
        let long = p.quantity.is_sign_positive();
        Ok(match &inst.kind {
            Kind::Stock { .. } => {
                let maint = if long { pct(25) } else { pct(30) };
                (value * pct(50), value * maint)
            }
            Kind::Future(_) => (value * pct(6), value * pct(5)),
            Kind::Option(o) if !long => {
                let und = mark(o.underlying_conid)?.last;
                let otm = match o.right {
                    Right::Call => (o.strike - und).max(Decimal::ZERO),
                    Right::Put => (und - o.strike).max(Decimal::ZERO),
                };
                let floor = match o.right {
                    Right::Call => und * pct(10),
                    Right::Put => o.strike * pct(10),
                };
                let per_unit = m.last + (und * pct(20) - otm).max(floor);
                let req = per_unit * p.multiplier * p.quantity.abs();
                (req, req)
            }
            _ => (value, value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    const AAPL: u32 = 265598;
    const SPY: u32 = 756733;
    const MSFT: u32 = 272093;
    const IBM_IBIS: u32 = 1411277;
    const AAPL_MEXI: u32 = 38708077;
    const EURUSD: u32 = 12087792;
    const GBPUSD: u32 = 12087797;
    const SPX: u32 = 416904;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn universe() -> Universe {
        Universe::standard(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap())
    }

    fn at() -> DateTime<Utc> {
        "2025-07-16T15:00:00Z".parse().unwrap()
    }

    /// A broker with one USD account `U1` holding `cash` USD and nothing else.
    fn plain(cash: i64) -> Broker {
        let cfg = BrokerConfig::new().account(
            AccountConfig::new("U1", AccountType::Individual, "USD")
                .cash("USD", Decimal::from(cash)),
        );
        Broker::new(cfg, &universe()).unwrap()
    }

    /// Flat marks from (conid, price) pairs.
    fn marks(prices: &[(u32, &str)]) -> impl Fn(u32) -> Option<Mark> + use<> {
        let map: BTreeMap<u32, Mark> = prices.iter().map(|&(c, p)| (c, Mark::flat(d(p)))).collect();
        move |c| map.get(&c).copied()
    }

    fn fill(b: &mut Broker, conid: u32, side: Side, q: &str, p: &str, c: &str) -> Execution {
        b.apply_fill("U1", conid, side, d(q), d(p), d(c), at())
            .unwrap()
    }

    fn option_conid(u: &Universe, und: u32, right: Right) -> u32 {
        u.iter()
            .find(|i| {
                i.option_terms()
                    .is_some_and(|o| o.underlying_conid == und && o.right == right)
            })
            .unwrap()
            .conid
    }

    fn future_conid(u: &Universe) -> u32 {
        u.iter()
            .find(|i| i.sec_type == SecType::Future)
            .unwrap()
            .conid
    }

    fn check_identities(v: &Valuation) {
        let s = &v.summary;
        let cash: Decimal = v.cash.iter().map(|c| c.balance_base).sum();
        let pos: Decimal = v.positions.iter().map(|p| p.liquidation_value_base).sum();
        assert_eq!(s.total_cash, cash);
        assert_eq!(s.position_value, pos);
        assert_eq!(s.net_liquidation, s.total_cash + s.position_value);
        assert_eq!(s.available_funds, s.net_liquidation - s.init_margin);
        assert_eq!(s.excess_liquidity, s.net_liquidation - s.maint_margin);
        assert_eq!(
            s.buying_power,
            (s.excess_liquidity * Decimal::from(4)).max(Decimal::ZERO)
        );
        assert!(s.init_margin >= s.maint_margin);
        assert!(s.available_funds <= s.excess_liquidity);
        for x in [&s.net_liquidation, &s.init_margin, &s.gross_position_value] {
            assert_eq!(*x, money(*x), "{x} is in cents");
        }
    }

    #[test]
    fn individual_preset_is_consistent_with_the_universe() {
        let u = universe();
        let b = Broker::new(BrokerConfig::individual(), &u).unwrap();
        assert_eq!(b.accounts().len(), 1);
        let a = b.account(INDIVIDUAL_ACCOUNT).unwrap();
        assert_eq!(a.account_type, AccountType::Individual);
        assert_eq!(a.base_currency, "USD");
        assert_eq!(a.parent, None);
        assert_eq!(a.cash("USD"), Decimal::from(1_000_000));
        assert_eq!(b.cash(INDIVIDUAL_ACCOUNT, "EUR").unwrap(), Decimal::ZERO);
        let conids: Vec<u32> = a.positions().map(|p| p.conid).collect();
        assert_eq!(conids, vec![AAPL, MSFT, SPY]);
        for p in a.positions() {
            let reference = u.get(p.conid).unwrap().reference_price;
            assert!(p.quantity > Decimal::ZERO);
            assert!(p.avg_price > reference * d("0.8") && p.avg_price < reference * d("1.2"));
            assert_eq!(p.updated_at, None);
        }
        assert!(a.executions().is_empty());
    }

    #[test]
    fn advisor_preset_has_a_master_and_two_sub_accounts() {
        let b = Broker::new(BrokerConfig::advisor(), &universe()).unwrap();
        let master = b.account(ADVISOR_ACCOUNT).unwrap();
        assert_eq!(master.account_type, AccountType::Advisor);
        assert_eq!(master.account_type.to_string(), "ADVISOR");
        let subs = b.sub_accounts(ADVISOR_ACCOUNT).unwrap();
        let ids: Vec<&str> = subs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ADVISOR_SUB_ACCOUNTS);
        for s in &subs {
            assert_eq!(s.account_type, AccountType::SubAccount);
            assert_eq!(s.parent.as_deref(), Some(ADVISOR_ACCOUNT));
            assert_ne!(s.alias, s.id);
            assert!(s.positions().count() >= 2);
        }
        assert_eq!(subs[0].base_currency, "USD");
        assert_eq!(subs[1].base_currency, "EUR");
        assert_eq!(subs[1].cash("EUR"), Decimal::from(180_000));
        assert_ne!(subs[0].cash("USD"), subs[1].cash("USD"));
        assert_eq!(subs[1].position(IBM_IBIS).unwrap().currency, "EUR");
        assert!(b.sub_accounts(ADVISOR_SUB_ACCOUNTS[0]).unwrap().is_empty());
    }

    #[test]
    fn presets_value_with_the_engine() {
        let u = universe();
        let engine = PriceEngine::new(42, &u);
        for cfg in [BrokerConfig::individual(), BrokerConfig::advisor()] {
            let b = Broker::new(cfg, &u).unwrap();
            for a in b.accounts() {
                let v = b.valuation_at(&a.id, &engine, at()).unwrap();
                check_identities(&v);
                assert!(v.summary.net_liquidation > Decimal::ZERO);
                assert!(v.summary.available_funds > Decimal::ZERO);
            }
        }
    }

    #[test]
    fn unknown_accounts_are_refused_with_the_known_ones() {
        let mut b = Broker::new(BrokerConfig::advisor(), &universe()).unwrap();
        let e = b.account("U999").unwrap_err();
        assert!(matches!(&e, BrokerError::UnknownAccount { account, .. } if account == "U999"));
        let msg = e.to_string();
        assert!(msg.contains("U999") && msg.contains("DF1234567, DU1234568, DU1234569"));
        assert!(b.cash("U999", "USD").is_err());
        assert!(b.sub_accounts("U999").is_err());
        assert!(b.deposit("U999", "USD", Decimal::ONE).is_err());
        assert!(b.valuation("U999", marks(&[])).is_err());
        let e = b
            .apply_fill(
                "U999",
                AAPL,
                Side::Buy,
                Decimal::ONE,
                d("1"),
                Decimal::ZERO,
                at(),
            )
            .unwrap_err();
        assert!(matches!(e, BrokerError::UnknownAccount { .. }));
    }

    #[test]
    fn bad_configurations_are_refused() {
        let u = universe();
        let acct = || AccountConfig::new("U1", AccountType::Individual, "USD");
        let cases = [
            BrokerConfig::new().account(acct()).account(acct()),
            BrokerConfig::new().account(acct().parent("F1")),
            BrokerConfig::new()
                .account(AccountConfig::new("F1", AccountType::Individual, "USD"))
                .account(acct().parent("F1")),
            BrokerConfig::new().account(acct().position(AAPL, Decimal::ZERO, d("1"))),
            BrokerConfig::new().account(acct().position(SPX, Decimal::ONE, d("1"))),
            BrokerConfig::new().account(AccountConfig::new(" ", AccountType::Individual, "USD")),
        ];
        for cfg in cases {
            let e = Broker::new(cfg.clone(), &u).unwrap_err();
            assert!(matches!(e, BrokerError::InvalidConfig(_)), "{cfg:?}: {e}");
        }
        let e = Broker::new(
            BrokerConfig::new().account(acct().position(1, Decimal::ONE, d("1"))),
            &u,
        )
        .unwrap_err();
        assert_eq!(e, BrokerError::UnknownContract { conid: 1 });
        assert!(
            Broker::new(BrokerConfig::new(), &u)
                .unwrap()
                .accounts()
                .is_empty()
        );
    }

    #[test]
    fn buy_add_partial_sell_and_close() {
        let mut b = plain(100_000);
        let e = fill(&mut b, AAPL, Side::Buy, "100", "10", "1");
        assert_eq!(e.cash_change, d("-1001"));
        assert_eq!(e.position_after, d("100"));
        assert_eq!(e.realized_pnl, Decimal::ZERO);
        let p = b.account("U1").unwrap().position(AAPL).unwrap().clone();
        assert_eq!(
            (p.quantity, p.avg_price, p.avg_cost()),
            (d("100"), d("10.01"), d("10.01"))
        );
        assert_eq!(p.updated_at, Some(at()));

        fill(&mut b, AAPL, Side::Buy, "100", "12", "1");
        let p = b.account("U1").unwrap().position(AAPL).unwrap().clone();
        assert_eq!((p.quantity, p.avg_price), (d("200"), d("11.01")));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("97798"));

        let e = fill(&mut b, AAPL, Side::Sell, "50", "15", "1");
        assert_eq!(e.realized_pnl, d("198.50"));
        assert_eq!(e.cash_change, d("749"));
        let p = b.account("U1").unwrap().position(AAPL).unwrap().clone();
        assert_eq!(
            (p.quantity, p.avg_price, p.realized_pnl),
            (d("150"), d("11.01"), d("198.50"))
        );

        let e = fill(&mut b, AAPL, Side::Sell, "150", "9", "0");
        assert_eq!(e.realized_pnl, d("-301.50"));
        assert_eq!(e.position_after, Decimal::ZERO);
        let a = b.account("U1").unwrap();
        assert!(a.position(AAPL).is_none());
        assert_eq!(a.realized_pnl()["USD"], d("-103"));
        // Cash moved by exactly the realized P&L over the round trip.
        assert_eq!(a.cash("USD"), d("99897"));
        assert_eq!(a.executions().len(), 4);
        assert_eq!(a.executions()[2].side, Side::Sell);
    }

    #[test]
    fn fractional_quantities_keep_exact_cash_in_cents() {
        let mut b = plain(1000);
        fill(&mut b, AAPL, Side::Buy, "0.333", "229.99", "0.35");
        // 0.333 × 229.99 = 76.58667 → 76.59, plus 0.35.
        assert_eq!(b.cash("U1", "USD").unwrap(), d("923.06"));
        assert_eq!(
            b.account("U1").unwrap().position(AAPL).unwrap().quantity,
            d("0.333")
        );
    }

    #[test]
    fn selling_through_zero_flips_to_short_and_covering_realizes() {
        let mut b = plain(100_000);
        fill(&mut b, AAPL, Side::Buy, "100", "10", "0");
        let e = fill(&mut b, AAPL, Side::Sell, "150", "12", "3");
        // 100 close with 2 of the commission; 50 open short with 1.
        assert_eq!(e.realized_pnl, d("198"));
        assert_eq!(e.position_after, d("-50"));
        let p = b.account("U1").unwrap().position(AAPL).unwrap().clone();
        assert_eq!((p.quantity, p.avg_price), (d("-50"), d("11.98")));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("100797"));

        // Adding to the short averages the proceeds net of commission.
        fill(&mut b, AAPL, Side::Sell, "50", "13.02", "1");
        let p = b.account("U1").unwrap().position(AAPL).unwrap().clone();
        assert_eq!((p.quantity, p.avg_price), (d("-100"), d("12.49")));

        let e = fill(&mut b, AAPL, Side::Buy, "100", "11", "0");
        assert_eq!(e.realized_pnl, d("149"));
        assert!(b.account("U1").unwrap().position(AAPL).is_none());
        assert_eq!(b.account("U1").unwrap().realized_pnl()["USD"], d("347"));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("100347"));

        // Buying through a short flips to long.
        fill(&mut b, AAPL, Side::Sell, "10", "20", "0");
        let e = fill(&mut b, AAPL, Side::Buy, "30", "18", "0");
        assert_eq!(e.realized_pnl, d("20"));
        let p = b.account("U1").unwrap().position(AAPL).unwrap().clone();
        assert_eq!(
            (p.quantity, p.avg_price, p.realized_pnl),
            (d("20"), d("18"), d("20"))
        );
    }

    #[test]
    fn options_use_the_multiplier() {
        let u = universe();
        let opt = option_conid(&u, AAPL, Right::Call);
        assert_eq!(u.get(opt).unwrap().multiplier, d("100"));
        let mut b = plain(100_000);
        let e = fill(&mut b, opt, Side::Buy, "2", "5.25", "1.30");
        assert_eq!(e.cash_change, d("-1051.30"));
        let p = b.account("U1").unwrap().position(opt).unwrap().clone();
        assert_eq!(p.avg_price, d("5.2565"));
        assert_eq!(p.avg_cost(), d("525.65"));
        let e = fill(&mut b, opt, Side::Sell, "2", "6", "0");
        assert_eq!(e.realized_pnl, d("148.70"));
        assert_eq!(e.cash_change, d("1200"));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("100148.70"));
    }

    #[test]
    fn futures_book_only_realized_pnl_and_commissions() {
        let u = universe();
        let fut = future_conid(&u);
        assert_eq!(u.get(fut).unwrap().multiplier, d("50"));
        let mut b = plain(100_000);
        let e = fill(&mut b, fut, Side::Buy, "1", "6500", "2.25");
        // The commission stays in the average price (6500.045) until the close.
        assert_eq!(e.cash_change, Decimal::ZERO);
        let v = b.valuation("U1", marks(&[(fut, "6520")])).unwrap();
        let p = &v.positions[0];
        assert_eq!(p.mkt_value, d("326000"));
        assert_eq!(p.unrealized_pnl, d("997.75"));
        assert_eq!(p.liquidation_value_base, d("997.75"));
        assert_eq!(v.summary.future_market_value, d("997.75"));
        assert_eq!(v.summary.gross_position_value, Decimal::ZERO);
        // 100,000 + 20 points × 50 − 2.25 of commission, counted once.
        assert_eq!(v.summary.net_liquidation, d("100997.75"));
        assert_eq!(v.summary.init_margin, d("19560"));
        assert_eq!(v.summary.maint_margin, d("16300"));
        check_identities(&v);
        let e = fill(&mut b, fut, Side::Sell, "1", "6510", "2.25");
        assert_eq!(e.realized_pnl, d("495.50"));
        assert_eq!(e.cash_change, d("495.50"));
        // 10 points × 50 less both commissions.
        assert_eq!(b.cash("U1", "USD").unwrap(), d("100495.50"));
    }

    #[test]
    fn a_eur_instrument_settles_in_the_eur_ledger() {
        let mut b = plain(100_000);
        let e = fill(&mut b, IBM_IBIS, Side::Buy, "10", "230", "3");
        assert_eq!(e.currency, "EUR");
        assert_eq!(b.cash("U1", "EUR").unwrap(), d("-2303"));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("100000"));
        let v = b
            .valuation("U1", marks(&[(IBM_IBIS, "240"), (EURUSD, "1.1")]))
            .unwrap();
        let p = &v.positions[0];
        assert_eq!(
            (p.mkt_value, p.fx_rate, p.mkt_value_base),
            (d("2400"), d("1.1"), d("2640"))
        );
        assert_eq!(p.unrealized_pnl, d("97"));
        assert_eq!(p.unrealized_pnl_base, d("106.70"));
        let eur = v.cash.iter().find(|c| c.currency == "EUR").unwrap();
        assert_eq!(eur.balance_base, d("-2533.30"));
        assert_eq!(v.summary.net_liquidation, d("100106.70"));
        check_identities(&v);
    }

    #[test]
    fn fx_pairs_convert_between_ledgers() {
        let mut b = plain(100_000);
        let e = fill(&mut b, EURUSD, Side::Buy, "10000", "1.1", "2");
        assert_eq!(e.cash_change, d("-11002"));
        assert_eq!(e.position_after, Decimal::ZERO);
        assert_eq!(b.cash("U1", "EUR").unwrap(), d("10000"));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("88998"));
        assert_eq!(b.account("U1").unwrap().positions().count(), 0);
        fill(&mut b, EURUSD, Side::Sell, "4000", "1.2", "0");
        assert_eq!(b.cash("U1", "EUR").unwrap(), d("6000"));
        assert_eq!(b.cash("U1", "USD").unwrap(), d("93798"));
    }

    #[test]
    fn a_eur_base_account_converts_its_usd_ledger_and_positions() {
        let b = Broker::new(BrokerConfig::advisor(), &universe()).unwrap();
        let eur_acct = ADVISOR_SUB_ACCOUNTS[1];
        let v = b
            .valuation(
                eur_acct,
                marks(&[(EURUSD, "1.1"), (IBM_IBIS, "220"), (AAPL, "230")]),
            )
            .unwrap();
        let usd = v.cash.iter().find(|c| c.currency == "USD").unwrap();
        assert_eq!(usd.balance_base, d("22727.27"));
        let eur = v.cash.iter().find(|c| c.currency == "EUR").unwrap();
        assert_eq!((eur.fx_rate, eur.balance_base), (Decimal::ONE, d("180000")));
        let aapl = v.positions.iter().find(|p| p.conid == AAPL).unwrap();
        assert_eq!(
            (aapl.mkt_value, aapl.mkt_value_base),
            (d("4600"), d("4181.82"))
        );
        let ibm = v.positions.iter().find(|p| p.conid == IBM_IBIS).unwrap();
        assert_eq!(ibm.mkt_value_base, d("13200"));
        assert_eq!(v.summary.total_cash, d("202727.27"));
        assert_eq!(v.summary.net_liquidation, d("220109.09"));
        check_identities(&v);
    }

    #[test]
    fn fx_rates_are_direct_inverted_or_crossed_through_usd() {
        let b = plain(0);
        let m = marks(&[(EURUSD, "1.25"), (GBPUSD, "1.5")]);
        assert_eq!(b.fx_rate("EUR", "USD", &m).unwrap(), d("1.25"));
        assert_eq!(b.fx_rate("USD", "EUR", &m).unwrap(), d("0.8"));
        assert_eq!(b.fx_rate("GBP", "EUR", &m).unwrap(), d("1.2"));
        assert_eq!(b.fx_rate("JPY", "JPY", &m).unwrap(), Decimal::ONE);
        assert_eq!(
            b.fx_rate("MXN", "USD", &m).unwrap_err(),
            BrokerError::NoFxRate {
                from: "MXN".into(),
                to: "USD".into()
            }
        );
        assert!(
            b.fx_rate("MXN", "EUR", &m)
                .unwrap_err()
                .to_string()
                .contains("MXN")
        );
        assert_eq!(
            b.fx_rate("EUR", "USD", &marks(&[])).unwrap_err(),
            BrokerError::NoPrice { conid: EURUSD }
        );
        // An MXN listing cannot be valued in a USD account.
        let mut b = plain(10_000);
        fill(&mut b, AAPL_MEXI, Side::Buy, "1", "4255", "0");
        assert!(matches!(
            b.valuation("U1", marks(&[(AAPL_MEXI, "4255")])),
            Err(BrokerError::NoFxRate { .. })
        ));
    }

    #[test]
    fn missing_prices_and_bad_fills_are_refused() {
        let mut b = plain(10_000);
        fill(&mut b, AAPL, Side::Buy, "1", "230", "0");
        assert_eq!(
            b.valuation("U1", marks(&[])).unwrap_err(),
            BrokerError::NoPrice { conid: AAPL }
        );
        let bad = |b: &mut Broker, conid, q: &str, p: &str, c: &str| {
            b.apply_fill("U1", conid, Side::Buy, d(q), d(p), d(c), at())
                .unwrap_err()
        };
        assert!(matches!(
            bad(&mut b, AAPL, "0", "1", "0"),
            BrokerError::InvalidFill(_)
        ));
        assert!(matches!(
            bad(&mut b, AAPL, "-1", "1", "0"),
            BrokerError::InvalidFill(_)
        ));
        assert!(matches!(
            bad(&mut b, AAPL, "1", "-1", "0"),
            BrokerError::InvalidFill(_)
        ));
        assert!(matches!(
            bad(&mut b, AAPL, "1", "1", "-1"),
            BrokerError::InvalidFill(_)
        ));
        assert_eq!(
            bad(&mut b, 7, "1", "1", "0"),
            BrokerError::UnknownContract { conid: 7 }
        );
        assert!(matches!(
            bad(&mut b, SPX, "1", "1", "0"),
            BrokerError::NotTradable { .. }
        ));
        // Refused fills change nothing.
        assert_eq!(b.account("U1").unwrap().executions().len(), 1);
        assert_eq!(b.cash("U1", "USD").unwrap(), d("9770"));
    }

    #[test]
    fn a_fill_at_the_mark_costs_net_liquidation_only_its_commission() {
        let u = universe();
        let engine = PriceEngine::new(7, &u);
        let mut b = Broker::new(BrokerConfig::individual(), &u).unwrap();
        let acct = INDIVIDUAL_ACCOUNT;
        let before = b.valuation_at(acct, &engine, at()).unwrap();
        let price = engine.price(SPY, at()).unwrap();
        b.apply_fill(acct, SPY, Side::Buy, d("20"), price, d("1.25"), at())
            .unwrap();
        let after = b.valuation_at(acct, &engine, at()).unwrap();
        check_identities(&after);
        let (s0, s1) = (&before.summary, &after.summary);
        assert_eq!(s1.net_liquidation, s0.net_liquidation - d("1.25"));
        let value = money(d("20") * price);
        assert_eq!(s1.gross_position_value, s0.gross_position_value + value);
        assert_eq!(s1.init_margin - s0.init_margin, money(value / d("2")));
        assert_eq!(s1.maint_margin - s0.maint_margin, money(value / d("4")));
        assert_eq!(
            s1.available_funds,
            s0.available_funds - money(value / d("2")) - d("1.25")
        );
        assert_eq!(s1.unrealized_pnl, s0.unrealized_pnl - d("1.25"));
    }

    #[test]
    fn margin_follows_the_documented_model() {
        let u = universe();
        let call = option_conid(&u, AAPL, Right::Call);
        let put = option_conid(&u, AAPL, Right::Put);
        let (k_call, k_put) = (
            u.get(call).unwrap().option_terms().unwrap().strike,
            u.get(put).unwrap().option_terms().unwrap().strike,
        );
        let mut b = plain(1_000_000);
        fill(&mut b, MSFT, Side::Buy, "10", "400", "0");
        fill(&mut b, SPY, Side::Sell, "10", "600", "0");
        fill(&mut b, call, Side::Sell, "1", "3", "0");
        fill(&mut b, put, Side::Buy, "2", "4", "0");
        let und = d("230");
        let m = marks(&[
            (MSFT, "400"),
            (SPY, "600"),
            (call, "3"),
            (put, "4"),
            (AAPL, "230"),
        ]);
        let v = b.valuation("U1", &m).unwrap();
        let by = |c: u32| v.positions.iter().find(|p| p.conid == c).unwrap();
        assert_eq!(
            (by(MSFT).init_margin, by(MSFT).maint_margin),
            (d("2000"), d("1000"))
        );
        assert_eq!(
            (by(SPY).init_margin, by(SPY).maint_margin),
            (d("3000"), d("1800"))
        );
        assert_eq!(
            (by(put).init_margin, by(put).maint_margin),
            (d("800"), d("800"))
        );
        let otm = (k_call - und).max(Decimal::ZERO);
        let short_call = money((d("3") + (und * d("0.2") - otm).max(und * d("0.1"))) * d("100"));
        assert_eq!(
            (by(call).init_margin, by(call).maint_margin),
            (short_call, short_call)
        );
        assert!(k_put > Decimal::ZERO);
        assert_eq!(
            v.summary.init_margin,
            d("2000") + d("3000") + d("800") + short_call
        );
        assert_eq!(v.summary.stock_market_value, d("-2000"));
        assert_eq!(v.summary.option_market_value, d("500"));
        assert_eq!(
            v.summary.gross_position_value,
            d("4000") + d("6000") + d("300") + d("800")
        );
        check_identities(&v);
        // Short options need the underlying's price.
        assert_eq!(
            b.valuation(
                "U1",
                marks(&[(MSFT, "400"), (SPY, "600"), (call, "3"), (put, "4")])
            )
            .unwrap_err(),
            BrokerError::NoPrice { conid: AAPL }
        );
    }

    #[test]
    fn buying_power_is_never_negative() {
        let mut b = plain(1000);
        fill(&mut b, AAPL, Side::Buy, "100", "230", "0");
        let v = b.valuation("U1", marks(&[(AAPL, "100")])).unwrap();
        check_identities(&v);
        assert!(v.summary.excess_liquidity < Decimal::ZERO);
        assert_eq!(v.summary.buying_power, Decimal::ZERO);
        assert!(v.summary.available_funds < v.summary.excess_liquidity);
    }

    #[test]
    fn daily_pnl_is_against_the_prior_close() {
        let mut b = plain(100_000);
        fill(&mut b, AAPL, Side::Buy, "10", "105", "0");
        fill(&mut b, IBM_IBIS, Side::Sell, "5", "200", "0");
        let m = |c: u32| match c {
            AAPL => Some(Mark::new(d("110"), d("100"))),
            IBM_IBIS => Some(Mark::new(d("190"), d("195"))),
            EURUSD => Some(Mark::flat(d("1.2"))),
            _ => None,
        };
        let v = b.valuation("U1", m).unwrap();
        let by = |c: u32| v.positions.iter().find(|p| p.conid == c).unwrap();
        assert_eq!(by(AAPL).daily_pnl, d("100"));
        assert_eq!(by(AAPL).unrealized_pnl, d("50"));
        assert_eq!(
            (by(IBM_IBIS).daily_pnl, by(IBM_IBIS).daily_pnl_base),
            (d("25"), d("30"))
        );
        assert_eq!(v.summary.daily_pnl, d("130"));
        assert_eq!(v.summary.unrealized_pnl, d("110"));
    }

    #[test]
    fn allocation_sums_to_the_net_position_values() {
        let u = universe();
        let engine = PriceEngine::new(3, &u);
        let call = option_conid(&u, SPY, Right::Call);
        let fut = future_conid(&u);
        let mut b = Broker::new(BrokerConfig::individual(), &u).unwrap();
        let acct = INDIVIDUAL_ACCOUNT;
        for (conid, side, q) in [
            (320227571, Side::Sell, "15"),
            (call, Side::Buy, "3"),
            (fut, Side::Sell, "1"),
            (IBM_IBIS, Side::Buy, "4"),
        ] {
            let p = engine.price(conid, at()).unwrap();
            b.apply_fill(acct, conid, side, d(q), p, Decimal::ONE, at())
                .unwrap();
        }
        let v = b.valuation_at(acct, &engine, at()).unwrap();
        check_identities(&v);
        let a = v.allocation();
        let positions: Decimal = v.positions.iter().map(|p| p.mkt_value_base).sum();
        let cash = a.asset_class.long.get("CASH").copied().unwrap_or_default()
            + a.asset_class.short.get("CASH").copied().unwrap_or_default();
        assert_eq!(cash, v.summary.total_cash);
        assert_eq!(a.asset_class.net() - cash, positions);
        assert_eq!(a.group.net(), positions);
        assert!(a.asset_class.short.values().all(|x| *x < Decimal::ZERO));
        assert!(a.asset_class.long.values().all(|x| *x > Decimal::ZERO));
        assert!(a.asset_class.short.contains_key("STK") && a.asset_class.short.contains_key("FUT"));
        assert!(a.asset_class.long.contains_key("OPT"));
        assert!(a.group.long.contains_key("ETF") && a.group.long.contains_key("Stock"));
        assert!(a.group.short.contains_key("ETF") && a.group.short.contains_key("Future"));
        let stk_long = a.asset_class.long["STK"];
        assert_eq!(stk_long, a.group.long["ETF"] + a.group.long["Stock"]);
    }

    #[test]
    fn deposits_round_to_cents() {
        let mut b = plain(0);
        assert_eq!(b.deposit("U1", "CHF", d("10.005")).unwrap(), d("10.01"));
        assert_eq!(b.deposit("U1", "CHF", d("-5")).unwrap(), d("5.01"));
        assert_eq!(b.account("U1").unwrap().cash_balances().len(), 2);
    }

    #[test]
    fn the_same_fills_and_instant_give_the_same_figures() {
        let run = || {
            let u = universe();
            let engine = PriceEngine::new(11, &u);
            let mut b = Broker::new(BrokerConfig::advisor(), &u).unwrap();
            let acct = ADVISOR_SUB_ACCOUNTS[1];
            let mut t = at();
            for (conid, side) in [
                (AAPL, Side::Buy),
                (IBM_IBIS, Side::Sell),
                (AAPL, Side::Sell),
            ] {
                let p = engine.price(conid, t).unwrap();
                b.apply_fill(acct, conid, side, d("7"), p, d("0.7"), t)
                    .unwrap();
                t += chrono::Duration::minutes(13);
            }
            let v = b.valuation_at(acct, &engine, t).unwrap();
            assert_eq!(v, b.valuation_at(acct, &engine, t).unwrap());
            (b.account(acct).unwrap().clone(), v)
        };
        let (a1, v1) = run();
        let (a2, v2) = run();
        assert_eq!(a1, a2);
        assert_eq!(v1, v2);
        check_identities(&v1);
        assert_eq!(a1.executions().len(), 3);
        assert_eq!(a1.executions()[2].at, at() + chrono::Duration::minutes(26));
    }
}
