//! Property tests of the paper broker's identities.
//!
//! Random brokers — one to three accounts with a random base currency, opening cash in
//! several currencies and seeded stock, option and futures positions, long and short —
//! take random fills (stocks, options, futures and FX conversions, buys and sells, with
//! commissions) and are valued at random marks with prior closes. After every fill and
//! at the end, the figures must hold the identities of the broker's documented model
//! (`crates/ibkr-sim/src/broker.rs`):
//!
//! - every valued row is its definition: market value = quantity × last × multiplier,
//!   unrealized P&L = quantity × (last − average price) × multiplier (= market value −
//!   cost basis), daily P&L = quantity × (last − prior close) × multiplier, each rounded
//!   to cents once, converted at the rates of the universe's FX pairs;
//! - net liquidation = cash converted to the base currency + the positions' liquidation
//!   values (market value, or unrealized P&L for futures), exactly in cents, and within
//!   the documented rounding of the unrounded sum; per currency, the ledgers converted at
//!   the rates used add up to it;
//! - the summary's totals are the sums of the rows; margin figures follow from them;
//! - the allocation's long and short totals are the long and short market values;
//! - a fill moves cash by exactly −side × quantity × price × multiplier − commission
//!   (stocks, options), its realized P&L (futures) or both legs of a conversion (FX),
//!   touches no other ledger and no other account, keeps the signed cost basis, and
//!   at marks equal to its price costs net liquidation its commission and nothing else;
//! - a round trip realizes (exit − entry) × quantity × multiplier − commissions, and a
//!   sequence of fills from flat back to flat realizes exactly its cash flows.
//!
//! The broker rounds money to cents (half away from zero) and average prices to 8
//! decimals; where a figure is compared with an unrounded one, the tolerance allowed is
//! that rounding and nothing more.
//!
//! `gateway_figures_add_up_on_random_brokers` then starts the simulated gateway on a few
//! random broker configurations and checks the same identities on the wire
//! (`/portfolio/{acct}/summary`, `/ledger` and `/positions/0`).
//! `ledger_currency_rows_add_up_to_base_on_random_brokers` checks the per-currency rows
//! of `/ledger` against `BASE`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, NaiveDate, Utc};
use ibkr_model::portfolio::{Ledger, PortfolioSummary, Position as WirePosition};
use ibkr_sim::broker::{
    Account, AccountConfig, AccountType, Broker, BrokerConfig, Execution, Mark, Side, Valuation,
    money,
};
use ibkr_sim::instruments::{Kind, SecType, Universe};
use ibkr_sim::prices::PriceEngine;
use ibkr_sim::{Gateway, GatewayConfig};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------------------
// The universe the properties draw from

/// Currencies every other one converts to through the universe's FX pairs (AUD has only
/// AUD.CAD and MXN none, so they cannot be valued in most base currencies).
const CURRENCIES: [&str; 7] = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "SGD"];

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).expect("a date")
}

fn fill_time() -> DateTime<Utc> {
    "2025-07-16T15:00:00Z".parse().expect("an instant")
}

/// The instruments of a universe that the properties hold and trade.
struct World {
    universe: Universe,
    /// Stocks and ETFs in convertible currencies, a spread of options (calls and puts
    /// on every chain, in and out of the money, every month), every future.
    tradable: Vec<u32>,
    /// FX pairs between convertible currencies.
    fx: Vec<u32>,
    /// What fills pick from: the stocks, options and futures of `tradable`, and `fx`.
    categories: [Vec<u32>; 4],
}

impl World {
    fn new(today: NaiveDate) -> World {
        let universe = Universe::standard(today);
        let convertible = |c: &str| CURRENCIES.contains(&c);
        let mut tradable: Vec<u32> = universe
            .iter()
            .filter(|i| matches!(i.kind, Kind::Stock { .. }) && convertible(&i.currency))
            .map(|i| i.conid)
            .collect();
        let options: Vec<u32> = universe
            .iter()
            .filter(|i| i.sec_type == SecType::Option)
            .map(|i| i.conid)
            .collect();
        // A prime step walks through chains, months, strikes and rights alike.
        tradable.extend(options.iter().step_by(53));
        tradable.extend(
            universe
                .iter()
                .filter(|i| i.sec_type == SecType::Future)
                .map(|i| i.conid),
        );
        let fx: Vec<u32> = universe
            .iter()
            .filter(|i| match &i.kind {
                Kind::Forex { base, quote } => convertible(base) && convertible(quote),
                _ => false,
            })
            .map(|i| i.conid)
            .collect();
        let of = |t: SecType| -> Vec<u32> {
            tradable
                .iter()
                .copied()
                .filter(|c| universe.get(*c).is_some_and(|i| i.sec_type == t))
                .collect()
        };
        let categories = [
            of(SecType::Stock),
            of(SecType::Option),
            of(SecType::Future),
            fx.clone(),
        ];
        World {
            universe,
            tradable,
            fx,
            categories,
        }
    }

    /// Every conid the properties mark: the tradable ones, then the FX pairs.
    fn marked(&self) -> impl Iterator<Item = u32> + '_ {
        self.tradable.iter().chain(&self.fx).copied()
    }

    fn sec_type(&self, conid: u32) -> SecType {
        self.universe
            .get(conid)
            .expect("a conid of the world")
            .sec_type
    }
}

static WORLD: LazyLock<World> = LazyLock::new(|| World::new(day()));

fn d(s: &str) -> Decimal {
    s.parse().expect("a decimal literal")
}

/// `reference × permille / 1000` on the instrument's tick, at least one tick.
fn price_at(u: &Universe, conid: u32, permille: u32) -> Decimal {
    let i = u.get(conid).expect("a conid of the universe");
    let raw = i.reference_price * Decimal::from(permille) / Decimal::from(1000);
    ((raw / i.tick).round() * i.tick).max(i.tick).normalize()
}

/// A quantity of an instrument from two random draws: whole shares or thousandths of
/// a share for stocks, a few contracts for options and futures, an amount in cents
/// for FX.
fn quantity(sec_type: SecType, units: u32, fraction: Option<u16>) -> Decimal {
    let fraction = fraction.map_or(Decimal::ZERO, |f| Decimal::new(i64::from(f), 3));
    match sec_type {
        SecType::Stock => Decimal::from(units) + fraction,
        SecType::Option => Decimal::from(units % 20 + 1),
        SecType::Future => Decimal::from(units % 8 + 1),
        _ => Decimal::from(units) * Decimal::from(97) + fraction.round_dp(2),
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios

#[derive(Debug, Clone)]
struct SeedSpec {
    /// Index into `World::tradable`.
    pick: usize,
    short: bool,
    units: u32,
    fraction: Option<u16>,
    /// Average price, in permille of the reference price.
    avg_permille: u32,
}

#[derive(Debug, Clone)]
struct AccountSpec {
    base: usize,
    /// Opening cash: currency index → amount in thousandths (the broker rounds to cents).
    cash: BTreeMap<usize, i64>,
    seeds: Vec<SeedSpec>,
}

#[derive(Debug, Clone)]
struct FillSpec {
    account: usize,
    /// Trade an instrument the account holds, when it holds any.
    held: bool,
    /// Stocks, options, futures or FX pairs (0 to 3), when not `held`.
    category: usize,
    /// Which instrument of the category, or of the account's positions (modulo).
    pick: usize,
    /// Fill the position's whole quantity (closing or, with the same side, doubling it).
    whole: bool,
    side: Side,
    units: u32,
    fraction: Option<u16>,
    price_permille: u32,
    commission_cents: u32,
}

#[derive(Debug, Clone)]
struct Scenario {
    accounts: Vec<AccountSpec>,
    fills: Vec<FillSpec>,
    /// (last, prior close) in permille of the reference, one per `World::marked()`.
    marks: Vec<(u32, u32)>,
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn seed_spec() -> impl Strategy<Value = SeedSpec> {
    (
        0..WORLD.tradable.len(),
        any::<bool>(),
        1u32..400,
        proptest::option::weighted(0.3, 1u16..1000),
        600u32..1400,
    )
        .prop_map(|(pick, short, units, fraction, avg_permille)| SeedSpec {
            pick,
            short,
            units,
            fraction,
            avg_permille,
        })
}

fn account_spec() -> impl Strategy<Value = AccountSpec> {
    (
        0..CURRENCIES.len(),
        proptest::collection::btree_map(
            0..CURRENCIES.len(),
            -2_000_000_000i64..20_000_000_000,
            0..4,
        ),
        proptest::collection::vec(seed_spec(), 0..6),
    )
        .prop_map(|(base, cash, seeds)| AccountSpec { base, cash, seeds })
}

fn fill_spec(accounts: usize) -> impl Strategy<Value = FillSpec> {
    (
        (
            0..accounts,
            proptest::bool::weighted(0.5),
            0usize..4,
            0usize..1000,
            proptest::bool::weighted(0.3),
        ),
        side(),
        1u32..400,
        proptest::option::weighted(0.3, 1u16..1000),
        500u32..1600,
        0u32..2500,
    )
        .prop_map(
            |(
                (account, held, category, pick, whole),
                side,
                units,
                fraction,
                price_permille,
                commission_cents,
            )| FillSpec {
                account,
                held,
                category,
                pick,
                whole,
                side,
                units,
                fraction,
                price_permille,
                commission_cents,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let marked = WORLD.tradable.len() + WORLD.fx.len();
    proptest::collection::vec(account_spec(), 1..=3).prop_flat_map(move |accounts| {
        let n = accounts.len();
        (
            Just(accounts),
            proptest::collection::vec(fill_spec(n), 0..14),
            proptest::collection::vec((500u32..1600, 500u32..1600), marked),
        )
            .prop_map(|(accounts, fills, marks)| Scenario {
                accounts,
                fills,
                marks,
            })
    })
}

fn account_id(i: usize) -> String {
    format!("DU90000{i:02}")
}

impl Scenario {
    /// The broker configuration: one individual account, or an advisor's master account
    /// and its sub-accounts.
    fn config(&self) -> BrokerConfig {
        let w = &*WORLD;
        let mut cfg = BrokerConfig::new();
        let several = self.accounts.len() > 1;
        for (i, a) in self.accounts.iter().enumerate() {
            let kind = match (several, i) {
                (false, _) => AccountType::Individual,
                (true, 0) => AccountType::Advisor,
                (true, _) => AccountType::SubAccount,
            };
            let mut ac = AccountConfig::new(account_id(i), kind, CURRENCIES[a.base]);
            if kind == AccountType::SubAccount {
                ac = ac.parent(account_id(0));
            }
            for (&c, &amount) in &a.cash {
                ac = ac.cash(CURRENCIES[c], Decimal::new(amount, 3));
            }
            let mut seen = BTreeSet::new();
            for s in &a.seeds {
                let conid = w.tradable[s.pick];
                if !seen.insert(conid) {
                    continue;
                }
                let q = quantity(w.sec_type(conid), s.units, s.fraction);
                let q = if s.short { -q } else { q };
                let avg = price_at(&w.universe, conid, s.avg_permille);
                ac = ac.position(conid, q, avg);
            }
            cfg = cfg.account(ac);
        }
        cfg
    }

    /// The marks of every conid of the world.
    fn marks(&self) -> BTreeMap<u32, Mark> {
        let u = &WORLD.universe;
        WORLD
            .marked()
            .zip(&self.marks)
            .map(|(conid, &(last, prior))| {
                (
                    conid,
                    Mark::new(price_at(u, conid, last), price_at(u, conid, prior)),
                )
            })
            .collect()
    }
}

/// A fill as the broker is asked to book it.
#[derive(Debug, Clone)]
struct Fill {
    account: String,
    conid: u32,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
}

impl FillSpec {
    /// The fill against the broker's current state (which positions the account holds).
    fn fill(&self, broker: &Broker) -> Fill {
        let w = &*WORLD;
        let account = account_id(self.account);
        let positions: Vec<(u32, Decimal)> = broker
            .account(&account)
            .expect("a known account")
            .positions()
            .map(|p| (p.conid, p.quantity))
            .collect();
        let conid = if self.held && !positions.is_empty() {
            positions[self.pick % positions.len()].0
        } else {
            let list = &w.categories[self.category];
            list[self.pick % list.len()]
        };
        let held = positions
            .iter()
            .find(|(c, _)| *c == conid)
            .map(|(_, q)| q.abs());
        let quantity = match held {
            Some(q) if self.whole => q,
            _ => quantity(w.sec_type(conid), self.units, self.fraction),
        };
        Fill {
            account,
            conid,
            side: self.side,
            quantity,
            price: price_at(&w.universe, conid, self.price_permille),
            commission: Decimal::new(i64::from(self.commission_cents), 2),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Checks

type Marks = BTreeMap<u32, Mark>;

fn source(marks: &Marks) -> impl Fn(u32) -> Option<Mark> + '_ {
    |c| marks.get(&c).copied()
}

/// `|a − b| ≤ tol`, with both figures in the message.
fn close_to(a: Decimal, b: Decimal, tol: Decimal, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        (a - b).abs() <= tol,
        "{what}: {a} vs {b} (difference {}, allowed {tol})",
        a - b
    );
    Ok(())
}

/// Half a cent: the most one rounding to cents moves a figure.
fn half_cent() -> Decimal {
    Decimal::new(5, 3)
}

/// The worst error of an average price rounded to 8 decimals, over `quantity ×
/// multiplier` units, converted at `fx`.
fn avg_rounding(quantity: Decimal, multiplier: Decimal, fx: Decimal) -> Decimal {
    (quantity * multiplier * fx).abs() * Decimal::new(5, 9)
}

/// The units of `currency` one unit of USD buys, straight from the marks of the FX
/// pairs (an oracle for the broker's conversions, independent of its path search).
fn per_usd(u: &Universe, marks: &Marks, currency: &str) -> Option<Decimal> {
    if currency == "USD" {
        return Some(Decimal::ONE);
    }
    u.iter().find_map(|i| match &i.kind {
        Kind::Forex { base, quote } if base == "USD" && quote == currency => {
            marks.get(&i.conid).map(|m| m.last)
        }
        Kind::Forex { base, quote } if base == currency && quote == "USD" => {
            marks.get(&i.conid).map(|m| Decimal::ONE / m.last)
        }
        _ => None,
    })
}

/// The valuation of an account against its state and the marks, row by row and in
/// total.
fn check_valuation(
    broker: &Broker,
    account: &str,
    marks: &Marks,
    v: &Valuation,
) -> Result<(), TestCaseError> {
    let u = broker.universe();
    let acct = broker.account(account).expect("a known account");
    let base = acct.base_currency.as_str();
    let rate = |ccy: &str| {
        broker
            .fx_rate(ccy, base, &source(marks))
            .expect("convertible currencies")
    };
    let s = &v.summary;
    prop_assert_eq!(&s.account, &acct.id);
    prop_assert_eq!(&s.base_currency, &acct.base_currency);

    // The rates: 1 for the base, else the pairs' marks, direct, inverted or crossed.
    for ccy in CURRENCIES {
        let r = rate(ccy);
        if ccy == base {
            prop_assert_eq!(r, Decimal::ONE);
        }
        let want = per_usd(u, marks, base).expect("a USD pair") / per_usd(u, marks, ccy).unwrap();
        close_to(r, want, want * Decimal::new(1, 20), "FX rate")?;
    }

    // Cash rows: one per ledger, converted once and rounded to cents.
    let ledgers: Vec<(&String, &Decimal)> = acct.cash_balances().iter().collect();
    prop_assert_eq!(v.cash.len(), ledgers.len());
    for (row, (ccy, balance)) in v.cash.iter().zip(ledgers) {
        prop_assert_eq!(&row.currency, ccy);
        prop_assert_eq!(row.balance, *balance);
        prop_assert_eq!(row.fx_rate, rate(ccy));
        prop_assert_eq!(row.balance_base, money(row.balance * row.fx_rate));
    }

    // Position rows: each figure its definition, rounded once.
    let held: Vec<&ibkr_sim::broker::Position> = acct.positions().collect();
    prop_assert_eq!(v.positions.len(), held.len());
    for (row, p) in v.positions.iter().zip(held) {
        let inst = u.get(p.conid).expect("a held conid");
        let m = marks[&p.conid];
        let (q, mult, fx) = (p.quantity, p.multiplier, rate(&p.currency));
        prop_assert_eq!(row.conid, p.conid);
        prop_assert_eq!(row.sec_type, inst.sec_type);
        prop_assert_eq!(&row.currency, &inst.currency);
        prop_assert_eq!(mult, inst.multiplier);
        prop_assert_eq!((row.quantity, row.multiplier), (q, mult));
        prop_assert_eq!((row.mkt_price, row.avg_price), (m.last, p.avg_price));
        prop_assert_eq!(row.fx_rate, fx);
        prop_assert_eq!(row.mkt_value, money(q * m.last * mult));
        prop_assert_eq!(row.unrealized_pnl, money(q * (m.last - p.avg_price) * mult));
        prop_assert_eq!(row.daily_pnl, money(q * (m.last - m.prior_close) * mult));
        prop_assert_eq!(row.mkt_value_base, money(q * m.last * mult * fx));
        prop_assert_eq!(
            row.unrealized_pnl_base,
            money(q * (m.last - p.avg_price) * mult * fx)
        );
        prop_assert_eq!(
            row.daily_pnl_base,
            money(q * (m.last - m.prior_close) * mult * fx)
        );
        prop_assert_eq!(row.realized_pnl, p.realized_pnl);
        let liquidation = if inst.sec_type == SecType::Future {
            row.unrealized_pnl_base
        } else {
            row.mkt_value_base
        };
        prop_assert_eq!(row.liquidation_value_base, liquidation);
        let group = match inst.kind {
            Kind::Stock { etf: true } => "ETF",
            Kind::Stock { etf: false } => "Stock",
            Kind::Option(_) => "Option",
            Kind::Future(_) => "Future",
            _ => "none",
        };
        prop_assert_eq!(row.group.as_str(), group);
        // Unrealized P&L = market value − cost basis, each rounded to cents.
        let cost_basis = money(q * p.avg_price * mult);
        close_to(
            row.unrealized_pnl,
            row.mkt_value - cost_basis,
            Decimal::from(2) * half_cent(),
            "unrealized = market value − cost basis",
        )?;
        prop_assert!(row.init_margin >= row.maint_margin);
    }

    // Summary totals: sums of the rows.
    let sum = |f: &dyn Fn(&ibkr_sim::broker::PositionValue) -> Option<Decimal>| -> Decimal {
        v.positions.iter().filter_map(f).sum()
    };
    let total_cash: Decimal = v.cash.iter().map(|c| c.balance_base).sum();
    prop_assert_eq!(s.total_cash, total_cash);
    prop_assert_eq!(s.position_value, sum(&|p| Some(p.liquidation_value_base)));
    prop_assert_eq!(s.net_liquidation, s.total_cash + s.position_value);
    prop_assert_eq!(
        s.stock_market_value,
        sum(&|p| (p.sec_type == SecType::Stock).then_some(p.mkt_value_base))
    );
    prop_assert_eq!(
        s.option_market_value,
        sum(&|p| (p.sec_type == SecType::Option).then_some(p.mkt_value_base))
    );
    prop_assert_eq!(
        s.future_market_value,
        sum(&|p| (p.sec_type == SecType::Future).then_some(p.unrealized_pnl_base))
    );
    prop_assert_eq!(
        s.gross_position_value,
        sum(&|p| (p.sec_type != SecType::Future).then_some(p.mkt_value_base.abs()))
    );
    prop_assert_eq!(s.unrealized_pnl, sum(&|p| Some(p.unrealized_pnl_base)));
    prop_assert_eq!(s.daily_pnl, sum(&|p| Some(p.daily_pnl_base)));
    let realized: Decimal = acct
        .realized_pnl()
        .iter()
        .map(|(ccy, r)| money(*r * rate(ccy)))
        .sum();
    prop_assert_eq!(s.realized_pnl, realized);
    prop_assert_eq!(s.init_margin, sum(&|p| Some(p.init_margin)));
    prop_assert_eq!(s.maint_margin, sum(&|p| Some(p.maint_margin)));
    prop_assert_eq!(s.available_funds, s.net_liquidation - s.init_margin);
    prop_assert_eq!(s.excess_liquidity, s.net_liquidation - s.maint_margin);
    prop_assert_eq!(
        s.buying_power,
        (s.excess_liquidity * Decimal::from(4)).max(Decimal::ZERO)
    );
    prop_assert!(s.init_margin >= s.maint_margin);
    for x in [
        s.total_cash,
        s.net_liquidation,
        s.unrealized_pnl,
        s.daily_pnl,
        s.init_margin,
        s.gross_position_value,
    ] {
        prop_assert_eq!(x, money(x), "{} is in cents", x);
    }

    // Unrounded: net liquidation and daily P&L within one rounding per row.
    let rows = Decimal::from(v.cash.len() + v.positions.len());
    let mut exact_nl: Decimal = acct
        .cash_balances()
        .iter()
        .map(|(ccy, b)| *b * rate(ccy))
        .sum();
    let mut exact_daily = Decimal::ZERO;
    // Per currency, in that currency: cash + liquidation value of its positions.
    let mut ledger: BTreeMap<&str, Decimal> = acct
        .cash_balances()
        .iter()
        .map(|(c, b)| (c.as_str(), *b))
        .collect();
    let mut avg_err = Decimal::ZERO;
    for p in acct.positions() {
        let m = marks[&p.conid];
        let fx = rate(&p.currency);
        let in_ccy = if p.sec_type == SecType::Future {
            p.quantity * (m.last - p.avg_price) * p.multiplier
        } else {
            p.quantity * m.last * p.multiplier
        };
        exact_nl += in_ccy * fx;
        *ledger.entry(p.currency.as_str()).or_default() += in_ccy;
        exact_daily += p.quantity * (m.last - m.prior_close) * p.multiplier * fx;
        avg_err += avg_rounding(p.quantity, p.multiplier, fx);
    }
    close_to(
        s.net_liquidation,
        exact_nl,
        rows * half_cent(),
        "net liquidation = cash + positions, unrounded",
    )?;
    close_to(
        s.daily_pnl,
        exact_daily,
        Decimal::from(v.positions.len()) * half_cent(),
        "daily P&L = Σ quantity × (last − prior close) × multiplier",
    )?;
    // The ledgers per currency, converted at the rates of the rows, add up to the BASE
    // figure.
    let mut by_ledgers = Decimal::ZERO;
    for (ccy, net) in &ledger {
        let fx = rate(ccy);
        for c in v.cash.iter().filter(|c| c.currency == *ccy) {
            prop_assert_eq!(c.fx_rate, fx);
        }
        for p in v.positions.iter().filter(|p| p.currency == *ccy) {
            prop_assert_eq!(p.fx_rate, fx);
        }
        by_ledgers += *net * fx;
    }
    close_to(
        s.net_liquidation,
        by_ledgers,
        rows * half_cent() + avg_err,
        "BASE = Σ currency ledgers × rate",
    )?;

    // Allocation: long and short market values, and cash.
    let a = v.allocation();
    let mut long: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut short: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut group_long: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut group_short: BTreeMap<String, Decimal> = BTreeMap::new();
    for p in &v.positions {
        let (by_class, by_group) = if p.mkt_value_base > Decimal::ZERO {
            (&mut long, &mut group_long)
        } else if p.mkt_value_base < Decimal::ZERO {
            (&mut short, &mut group_short)
        } else {
            continue;
        };
        *by_class.entry(p.sec_type.code().to_string()).or_default() += p.mkt_value_base;
        *by_group.entry(p.group.clone()).or_default() += p.mkt_value_base;
    }
    if s.total_cash > Decimal::ZERO {
        long.insert("CASH".into(), s.total_cash);
    } else if s.total_cash < Decimal::ZERO {
        short.insert("CASH".into(), s.total_cash);
    }
    prop_assert_eq!(&a.asset_class.long, &long);
    prop_assert_eq!(&a.asset_class.short, &short);
    prop_assert_eq!(&a.group.long, &group_long);
    prop_assert_eq!(&a.group.short, &group_short);
    let positions_value: Decimal = v.positions.iter().map(|p| p.mkt_value_base).sum();
    prop_assert_eq!(a.group.net(), positions_value);
    prop_assert_eq!(a.asset_class.net(), positions_value + s.total_cash);
    prop_assert!(a.asset_class.long.values().all(|x| *x > Decimal::ZERO));
    prop_assert!(a.asset_class.short.values().all(|x| *x < Decimal::ZERO));
    Ok(())
}

/// One fill: the execution, the ledgers, the position and net liquidation at marks
/// equal to the fill's price.
fn check_fill(
    broker: &mut Broker,
    fill: &Fill,
    marks: &Marks,
    at: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    let others: Vec<Account> = broker
        .accounts()
        .iter()
        .filter(|a| a.id != fill.account)
        .cloned()
        .collect();
    let before = broker
        .account(&fill.account)
        .expect("a known account")
        .clone();
    let inst = broker
        .universe()
        .get(fill.conid)
        .expect("a conid of the world")
        .clone();
    let (s, q, p, c, mult) = (
        fill.side.sign(),
        fill.quantity,
        fill.price,
        fill.commission,
        inst.multiplier,
    );
    // Marks with the filled instrument at the fill's price.
    let mut at_price = marks.clone();
    let prior = marks[&fill.conid].prior_close;
    at_price.insert(fill.conid, Mark::new(p, prior));
    let v0 = broker
        .valuation(&fill.account, source(&at_price))
        .expect("a valuation");

    let e: Execution = broker
        .apply_fill(&fill.account, fill.conid, fill.side, q, p, c, at)
        .expect("a valid fill");
    let after = broker
        .account(&fill.account)
        .expect("a known account")
        .clone();

    // The execution as asked, and booked.
    prop_assert_eq!(
        (e.conid, e.side, e.quantity, e.price, e.commission, e.at),
        (fill.conid, fill.side, q, p, c, at)
    );
    prop_assert_eq!(&e.currency, &inst.currency);
    prop_assert_eq!(after.executions().len(), before.executions().len() + 1);
    prop_assert_eq!(after.executions().last(), Some(&e));
    // No other account moves.
    for o in &others {
        prop_assert_eq!(broker.account(&o.id).expect("a known account"), o);
    }

    // Ledger changes: exactly the fill's cash flows, nothing elsewhere.
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    let q0 = before
        .position(fill.conid)
        .map_or(Decimal::ZERO, |x| x.quantity);
    let a0 = before
        .position(fill.conid)
        .map_or(Decimal::ZERO, |x| x.avg_price);
    let q1 = q0 + s * q;
    let mut fx_rates = vec![Decimal::ONE];
    let base = before.base_currency.clone();
    let rate = |ccy: &str| {
        broker
            .fx_rate(ccy, &base, &source(&at_price))
            .expect("convertible currencies")
    };
    let commission_ccy;
    match &inst.kind {
        Kind::Forex {
            base: fx_base,
            quote,
        } => {
            expected.insert(fx_base.clone(), money(s * q));
            expected.insert(quote.clone(), money(-s * q * p - c));
            prop_assert_eq!(e.cash_change, money(-s * q * p - c));
            prop_assert_eq!(e.position_after, Decimal::ZERO);
            prop_assert_eq!(e.realized_pnl, Decimal::ZERO);
            prop_assert_eq!(before.positions().count(), after.positions().count());
            prop_assert_eq!(before.realized_pnl(), after.realized_pnl());
            fx_rates.push(rate(fx_base));
            fx_rates.push(rate(quote));
            commission_ccy = quote.clone();
        }
        _ => {
            let opposite = !q0.is_zero() && q0.is_sign_positive() != (s > Decimal::ZERO);
            let closed = if opposite {
                q.min(q0.abs())
            } else {
                Decimal::ZERO
            };
            let close_commission = c * closed / q;
            let open_commission = c - close_commission;
            let direction = if q0 > Decimal::ZERO {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            let realized = if closed.is_zero() {
                Decimal::ZERO
            } else {
                money((p - a0) * closed * mult * direction - close_commission)
            };
            prop_assert_eq!(e.realized_pnl, realized);
            prop_assert_eq!(e.position_after, q1);
            let realized_of = |a: &Account| {
                a.realized_pnl()
                    .get(&inst.currency)
                    .copied()
                    .unwrap_or_default()
            };
            prop_assert_eq!(realized_of(&after) - realized_of(&before), realized);
            // Stocks and options settle in full; futures book their realized P&L
            // (which carries both commissions through the average price).
            let cash = if inst.sec_type == SecType::Future {
                realized
            } else {
                money(-s * q * p * mult - c)
            };
            prop_assert_eq!(e.cash_change, cash);
            expected.insert(inst.currency.clone(), cash);
            fx_rates.push(rate(&inst.currency));
            commission_ccy = inst.currency.clone();

            // The position and its signed cost basis (quantity × average × multiplier).
            let held = after.position(fill.conid);
            if q1.is_zero() {
                prop_assert!(held.is_none(), "a closed position is removed");
            } else {
                let h = held.expect("an open position");
                prop_assert_eq!(h.quantity, q1);
                prop_assert_eq!(h.updated_at, Some(at));
                let basis = q1 * h.avg_price * mult;
                let tol = avg_rounding(q1, mult, Decimal::ONE) + Decimal::new(1, 15);
                if closed.is_zero() {
                    // Opening or adding: the basis grows by what was paid (or shrinks
                    // by what was received), commission included.
                    close_to(
                        basis,
                        q0 * a0 * mult + s * q * p * mult + c,
                        tol,
                        "cost basis after adding",
                    )?;
                } else if q1.is_sign_positive() == q0.is_sign_positive() {
                    prop_assert_eq!(h.avg_price, a0, "reducing keeps the average price");
                } else {
                    // Flipped: the new position's basis is its own part of the fill.
                    close_to(
                        basis,
                        q1 * p * mult + open_commission,
                        tol,
                        "cost basis after a flip",
                    )?;
                }
            }
            // Other positions are untouched.
            for (x, y) in before
                .positions()
                .filter(|x| x.conid != fill.conid)
                .zip(after.positions().filter(|y| y.conid != fill.conid))
            {
                prop_assert_eq!(x, y);
            }
        }
    }
    let ledgers: BTreeSet<&String> = before
        .cash_balances()
        .keys()
        .chain(after.cash_balances().keys())
        .collect();
    for ccy in ledgers {
        let change = after.cash(ccy) - before.cash(ccy);
        let want = expected.get(ccy).copied().unwrap_or_default();
        prop_assert_eq!(change, want, "cash change in {}", ccy);
    }

    // At marks equal to the fill's price, the fill costs net liquidation its commission
    // and nothing else: one rounding to cents per figure that moved.
    let v1 = broker
        .valuation(&fill.account, source(&at_price))
        .expect("a valuation");
    check_valuation(broker, &fill.account, &at_price, &v1)?;
    let max_fx = fx_rates.iter().copied().max().unwrap_or(Decimal::ONE);
    let tol = Decimal::from(4) * half_cent()
        + Decimal::from(2) * half_cent() * Decimal::from(fx_rates.len())
        + Decimal::from(2) * half_cent() * max_fx
        + avg_rounding(q0.abs() + q1.abs(), mult, max_fx);
    close_to(
        v1.summary.net_liquidation - v0.summary.net_liquidation,
        -c * rate(&commission_ccy),
        tol,
        "net liquidation moves by the commission only",
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    // Failures are reported with their minimal input; none is written into the tree.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random brokers, random fills, random marks: every fill and every valuation holds
    /// the broker's identities.
    #[test]
    fn random_portfolios_hold_the_valuation_identities(sc in scenario()) {
        let cfg = sc.config();
        let mut broker = Broker::new(cfg.clone(), &WORLD.universe).expect("a valid configuration");
        let marks = sc.marks();
        // Opening state: the configured cash in cents, the seeded positions as given.
        for (a, ac) in broker.accounts().iter().zip(&cfg.accounts) {
            for (ccy, amount) in &ac.cash {
                prop_assert_eq!(a.cash(ccy), money(*amount));
            }
            prop_assert_eq!(a.positions().count(), ac.positions.len());
            for seed in &ac.positions {
                let p = a.position(seed.conid).expect("a seeded position");
                prop_assert_eq!((p.quantity, p.avg_price), (seed.quantity, seed.avg_price));
                prop_assert_eq!(p.updated_at, None);
            }
            if a.account_type == AccountType::Advisor {
                let subs = broker.sub_accounts(&a.id).expect("a master account");
                prop_assert_eq!(subs.len(), cfg.accounts.len() - 1);
            }
            let v = broker.valuation(&a.id, source(&marks)).expect("a valuation");
            check_valuation(&broker, &a.id, &marks, &v)?;
        }
        let mut at = fill_time();
        for spec in &sc.fills {
            let fill = spec.fill(&broker);
            check_fill(&mut broker, &fill, &marks, at)?;
            at += chrono::Duration::seconds(37);
        }
        for a in broker.accounts() {
            let v = broker.valuation(&a.id, source(&marks)).expect("a valuation");
            check_valuation(&broker, &a.id, &marks, &v)?;
        }
    }

    /// Open, then close at another price: the realized P&L (and, for stocks and
    /// options, the cash moved) is (exit − entry) × quantity × multiplier less both
    /// commissions, whichever side opened, whatever else the account holds.
    #[test]
    fn a_round_trip_realizes_the_price_difference_less_commissions(
        account in account_spec(),
        pick in 0..WORLD.tradable.len(),
        open in side(),
        units in 1u32..400,
        fraction in proptest::option::weighted(0.3, 1u16..1000),
        (entry, exit) in (500u32..1600, 500u32..1600),
        (c1, c2) in (0u32..2500, 0u32..2500),
    ) {
        let w = &*WORLD;
        let conid = w.tradable[pick];
        let mut spec = account;
        spec.seeds.retain(|s| w.tradable[s.pick] != conid);
        let sc = Scenario { accounts: vec![spec], fills: Vec::new(), marks: Vec::new() };
        let mut broker = Broker::new(sc.config(), &w.universe).expect("a valid configuration");
        let id = account_id(0);
        let inst = w.universe.get(conid).expect("a tradable conid");
        let q = quantity(inst.sec_type, units, fraction);
        let (p1, p2) = (price_at(&w.universe, conid, entry), price_at(&w.universe, conid, exit));
        let (c1, c2) = (Decimal::new(i64::from(c1), 2), Decimal::new(i64::from(c2), 2));
        let close = match open { Side::Buy => Side::Sell, Side::Sell => Side::Buy };
        let cash0 = broker.cash(&id, &inst.currency).expect("a known account");
        let first = broker.apply_fill(&id, conid, open, q, p1, c1, fill_time()).expect("a valid fill");
        let second = broker.apply_fill(&id, conid, close, q, p2, c2, fill_time()).expect("a valid fill");
        let cash1 = broker.cash(&id, &inst.currency).expect("a known account");

        let exact = (p2 - p1) * q * inst.multiplier * open.sign() - c1 - c2;
        prop_assert_eq!(first.realized_pnl, Decimal::ZERO);
        prop_assert!(broker.account(&id).expect("a known account").position(conid).is_none());
        prop_assert_eq!(second.position_after, Decimal::ZERO);
        close_to(
            second.realized_pnl,
            exact,
            half_cent() + avg_rounding(q, inst.multiplier, Decimal::ONE),
            "realized P&L of a round trip",
        )?;
        let cash_tol = if inst.sec_type == SecType::Future {
            prop_assert_eq!(cash1 - cash0, second.realized_pnl);
            half_cent() + avg_rounding(q, inst.multiplier, Decimal::ONE)
        } else {
            prop_assert_eq!(
                cash1 - cash0,
                money(-open.sign() * q * p1 * inst.multiplier - c1)
                    + money(open.sign() * q * p2 * inst.multiplier - c2)
            );
            Decimal::from(2) * half_cent()
        };
        close_to(cash1 - cash0, exact, cash_tol, "cash moved by a round trip")?;
    }

    /// Any sequence of fills in one instrument that starts and ends flat (adding,
    /// reducing, flipping) realizes exactly what it paid and received, less its
    /// commissions; cash moves by the same amount.
    #[test]
    fn flat_to_flat_sequences_realize_their_cash_flows(
        pick in 0..WORLD.tradable.len(),
        base in 0..CURRENCIES.len(),
        legs in proptest::collection::vec(
            (side(), 1u32..400, proptest::option::weighted(0.3, 1u16..1000), 500u32..1600, 0u32..2500),
            1..10,
        ),
        (last_price, last_commission) in (500u32..1600, 0u32..2500),
    ) {
        let w = &*WORLD;
        let conid = w.tradable[pick];
        let inst = w.universe.get(conid).expect("a tradable conid");
        let cfg = BrokerConfig::new().account(
            AccountConfig::new("U1", AccountType::Individual, CURRENCIES[base])
                .cash(&inst.currency, Decimal::from(1_000_000)),
        );
        let mut broker = Broker::new(cfg, &w.universe).expect("a valid configuration");
        let mult = inst.multiplier;
        let cash0 = broker.cash("U1", &inst.currency).expect("a known account");
        let mut flows = Decimal::ZERO;
        let mut realized = Decimal::ZERO;
        let mut cash_moves = Decimal::ZERO;
        let mut tol = Decimal::ZERO;
        let mut book = |broker: &mut Broker, side: Side, q: Decimal, p: Decimal, c: Decimal| {
            let e = broker.apply_fill("U1", conid, side, q, p, c, fill_time()).expect("a valid fill");
            flows += -side.sign() * q * p * mult - c;
            realized += e.realized_pnl;
            cash_moves += e.cash_change;
            tol += Decimal::from(2) * half_cent() + avg_rounding(q, mult, Decimal::from(2));
            e
        };
        for (side, units, fraction, permille, cents) in legs {
            let q = quantity(inst.sec_type, units, fraction);
            let p = price_at(&w.universe, conid, permille);
            book(&mut broker, side, q, p, Decimal::new(i64::from(cents), 2));
        }
        let open = broker.account("U1").expect("a known account").position(conid).map(|x| x.quantity);
        if let Some(q) = open {
            let side = if q > Decimal::ZERO { Side::Sell } else { Side::Buy };
            let p = price_at(&w.universe, conid, last_price);
            let e = book(&mut broker, side, q.abs(), p, Decimal::new(i64::from(last_commission), 2));
            prop_assert_eq!(e.position_after, Decimal::ZERO);
        }
        let a = broker.account("U1").expect("a known account");
        prop_assert!(a.position(conid).is_none());
        prop_assert_eq!(a.realized_pnl().get(&inst.currency).copied().unwrap_or_default(), realized);
        prop_assert_eq!(a.cash(&inst.currency) - cash0, cash_moves);
        close_to(realized, flows, tol, "realized P&L = cash flows, flat to flat")?;
        if inst.sec_type == SecType::Future {
            prop_assert_eq!(cash_moves, realized, "futures move cash by their realized P&L");
        } else {
            close_to(cash_moves, flows, tol, "cash moved = cash flows")?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// End to end: the gateway's portfolio answers on random brokers

/// A Saturday: every market of the universe is closed, so prices hold still while the
/// test reads the gateway (and match the price engine's at the configured instant).
fn weekend() -> DateTime<Utc> {
    "2025-07-19T12:00:00Z".parse().expect("an instant")
}

/// A random broker configuration over `world`: one or two accounts, each with a random
/// base currency, cash in one to three currencies and one to six positions.
fn random_broker(rng: &mut StdRng, world: &World) -> BrokerConfig {
    let mut cfg = BrokerConfig::new();
    for i in 0..rng.random_range(1..=2usize) {
        let base = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
        let mut a = AccountConfig::new(account_id(i), AccountType::Individual, base);
        for _ in 0..rng.random_range(1..=3) {
            let ccy = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
            // −500,000.00 to 5,000,000.00, in cents.
            let cents = rng.random_range(-50_000_000..500_000_000);
            a = a.cash(ccy, Decimal::new(cents, 2));
        }
        let mut seen = BTreeSet::new();
        for _ in 0..rng.random_range(1..=6) {
            let conid = world.tradable[rng.random_range(0..world.tradable.len())];
            if !seen.insert(conid) {
                continue;
            }
            let fraction = rng.random_bool(0.3).then(|| rng.random_range(1..1000u16));
            let q = quantity(world.sec_type(conid), rng.random_range(1..400), fraction);
            let q = if rng.random_bool(0.3) { -q } else { q };
            let avg = price_at(&world.universe, conid, rng.random_range(600..1400));
            a = a.position(conid, q, avg);
        }
        cfg = cfg.account(a);
    }
    cfg
}

/// A plain-HTTP client (the gateway is started without TLS).
fn http_client() -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("ibkr-sim-broker-test/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    gw: &Gateway,
    path: &str,
) -> T {
    let url = format!("{}{path}", gw.api_url());
    let resp = http
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status();
    let body = resp.bytes().await.expect("a body");
    assert!(
        status.is_success(),
        "GET {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "GET {path}: {e}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        )
    })
}

/// What the gateway answered for one account, and the same account valued in process.
struct Answers {
    /// `seed …, account …`, for messages.
    what: String,
    summary: PortfolioSummary,
    ledger: Ledger,
    positions: Vec<WirePosition>,
    valuation: Valuation,
}

/// The seeds of the random brokers the gateway is started with.
const GATEWAY_SEEDS: [u64; 5] = [3, 17, 29, 101, 2024];

/// Starts the gateway on the random broker of `seed` (its price engine drawn from the
/// same seed), reads every account's summary, ledger and first positions page, and
/// values the same broker in process with the same prices.
async fn answers(seed: u64, world: &World, http: &reqwest::Client) -> Vec<Answers> {
    let mut rng = StdRng::seed_from_u64(seed);
    let broker_cfg = random_broker(&mut rng, world);
    let mut config = GatewayConfig::for_tests()
        .tls(false)
        .market_time(weekend())
        .broker(broker_cfg.clone());
    config.seed = seed;
    let gw = Gateway::start(config).await.expect("gateway starts");
    let broker = Broker::new(broker_cfg.clone(), &world.universe).expect("a valid config");
    let engine = PriceEngine::new(seed, &world.universe);
    let mut out = Vec::new();
    for a in &broker_cfg.accounts {
        let id = &a.id;
        out.push(Answers {
            what: format!("seed {seed}, account {id}"),
            summary: get(http, &gw, &format!("/portfolio/{id}/summary")).await,
            ledger: get(http, &gw, &format!("/portfolio/{id}/ledger")).await,
            positions: get(http, &gw, &format!("/portfolio/{id}/positions/0")).await,
            valuation: broker
                .valuation_at(id, &engine, weekend())
                .expect("a valuation"),
        });
    }
    gw.shutdown().await;
    out
}

#[tokio::test]
async fn gateway_figures_add_up_on_random_brokers() {
    let world = World::new(weekend().date_naive());
    let http = http_client();
    for seed in GATEWAY_SEEDS {
        for x in answers(seed, &world, &http).await {
            let (what, v, ledger) = (&x.what, &x.valuation, &x.ledger);

            // Net liquidation: the summary (exact, from its text) and the BASE ledger.
            let net = x
                .summary
                .get("netliquidation")
                .and_then(|x| x.value.as_deref())
                .map(d)
                .expect("netliquidation");
            assert_eq!(
                net, v.summary.net_liquidation,
                "{what}: the broker's figure"
            );
            assert_eq!(x.summary.net_liquidation(), Some(net), "{what}");
            let base = ledger.base().expect("a BASE ledger");
            assert_eq!(base.netliquidationvalue, Some(net), "{what}: BASE ledger");
            let cash = base.cashbalance.expect("BASE cash");
            assert_eq!(x.summary.total_cash_value(), Some(cash), "{what}");
            assert_eq!(cash, v.summary.total_cash, "{what}");

            // The currency rows' cash, converted at their rates, is the BASE cash.
            let mut converted = Decimal::ZERO;
            for c in &v.cash {
                let row = ledger
                    .currency(&c.currency)
                    .unwrap_or_else(|| panic!("{what}: no {} ledger", c.currency));
                assert_eq!(row.cashbalance, Some(c.balance), "{what}: {}", c.currency);
                let r = row.exchangerate.expect("a rate");
                // The rate travels as a JSON float: equal to 15 significant digits.
                assert!(
                    (r - c.fx_rate).abs() <= c.fx_rate * Decimal::new(1, 14),
                    "{what}: rate of {}: {r} vs {}",
                    c.currency,
                    c.fx_rate
                );
                converted += c.balance * c.fx_rate;
            }
            let rows = Decimal::from(v.cash.len());
            assert!(
                (converted - cash).abs() <= rows * Decimal::new(5, 3),
                "{what}: Σ currency cash × rate = {converted}, BASE cash {cash}"
            );

            // Σ positions (market value, or unrealized P&L for futures) at the rates
            // used + cash = net liquidation: per row, one rounding to cents in its
            // currency (scaled by the rate) and one of the broker's figure in the base.
            assert_eq!(x.positions.len(), v.positions.len(), "{what}: positions");
            let mut total = cash;
            let mut tol = Decimal::ZERO;
            for row in &v.positions {
                let p = x
                    .positions
                    .iter()
                    .find(|p| p.conid.0 == i64::from(row.conid))
                    .unwrap_or_else(|| panic!("{what}: no position {}", row.conid));
                assert_eq!(p.position, row.quantity, "{what}: {}", row.description);
                assert_eq!(p.mkt_value, row.mkt_value, "{what}: {}", row.description);
                assert_eq!(p.unrealized_pnl, row.unrealized_pnl, "{what}");
                let in_ccy = if row.sec_type == SecType::Future {
                    p.unrealized_pnl
                } else {
                    p.mkt_value
                };
                total += in_ccy * row.fx_rate;
                tol += Decimal::new(5, 3) * (row.fx_rate + Decimal::ONE);
            }
            assert!(
                (total - net).abs() <= tol,
                "{what}: Σ positions + cash = {total}, net liquidation {net}"
            );
        }
    }
}

/// Each currency row of `/portfolio/{acct}/ledger` is that currency's cash and
/// positions, and the rows converted at their rates add up to `BASE`.
#[tokio::test]
async fn ledger_currency_rows_add_up_to_base_on_random_brokers() {
    let world = World::new(weekend().date_naive());
    let http = http_client();
    for seed in GATEWAY_SEEDS {
        for x in answers(seed, &world, &http).await {
            let (what, v, ledger) = (&x.what, &x.valuation, &x.ledger);
            let base = ledger.base().expect("a BASE ledger");
            let net = base.netliquidationvalue.expect("BASE net liquidation");
            let held: BTreeSet<&str> = v
                .cash
                .iter()
                .map(|c| c.currency.as_str())
                .chain(v.positions.iter().map(|p| p.currency.as_str()))
                .collect();
            let mut total = Decimal::ZERO;
            let mut tol = Decimal::ZERO;
            for ccy in held {
                let row = ledger
                    .currency(ccy)
                    .unwrap_or_else(|| panic!("{what}: no {ccy} ledger row"));
                let rate = row.exchangerate.expect("a rate");
                let row_net = row.netliquidationvalue.expect("a net liquidation");
                total += row_net * rate;
                tol += Decimal::new(5, 3)
                    * (rate + Decimal::ONE)
                    * Decimal::from(1 + v.positions.iter().filter(|p| p.currency == ccy).count());
            }
            assert!(
                (total - net).abs() <= tol,
                "{what}: Σ currency rows × rate = {total}, BASE {net}"
            );
        }
    }
}
