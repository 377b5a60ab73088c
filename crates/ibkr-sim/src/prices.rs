//! A seeded, deterministic price engine: quotes and historical bars for every
//! instrument of a [`Universe`], as pure functions of (seed, conid, time).
//!
//! No state, no clock: any instant, past or future, can be asked for in any order,
//! and history agrees with live quotes.
//!
//! # The price path
//!
//! Each instrument with a path of its own (stocks, ETFs, indices, FX) has a log-price
//! deviation from its reference price that is a Brownian motion on a one-minute
//! lattice, built by midpoint displacement (a Brownian bridge):
//!
//! - every 2^16 minutes (about 45 days) an *anchor* is drawn around zero, with a
//!   standard deviation of 0.3 × the annual volatility: this is the pull toward the
//!   reference price, so prices wander but never drift away;
//! - between two anchors, each dyadic midpoint is drawn from the Brownian bridge
//!   between its two neighbours, so that minute-to-minute moves have the
//!   instrument's volatility;
//! - the motion runs in *business time*: a minute of regular hours counts fully, a
//!   minute of extended hours a fifth, a closed minute a hundredth (in the local time
//!   of the exchange, through clock changes), so prices move mostly while they trade
//!   and overnight and weekend gaps stay smaller than a day's moves;
//! - every draw comes from a hash of (seed, conid, minute), so the value at any minute
//!   costs 16 hashes, and a range of n minutes about n hashes.
//!
//! Between minutes the price moves linearly, so the high and low over any interval
//! are reached at its ends or at whole minutes: the engine samples those, and the
//! highs and lows it reports bound every price it would quote inside.
//! Derived instruments are functions of their underlying's path at each minute:
//! futures are the index times `exp(carry × years to expiry)`, options are priced by
//! Black-Scholes with a fixed implied volatility per contract (a skewed smile).
//!
//! While an instrument's market is closed its price stays at the close of its last
//! session (extended hours included); the path itself runs on, so the next session
//! can open with a gap.
//!
//! ```
//! use chrono::{DateTime, NaiveDate, Utc};
//! use ibkr_sim::instruments::Universe;
//! use ibkr_sim::prices::PriceEngine;
//!
//! let universe = Universe::standard(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
//! let engine = PriceEngine::new(42, &universe);
//! let at: DateTime<Utc> = "2025-07-16T15:00:00Z".parse().unwrap();
//! let q = engine.quote(265598, at).unwrap();
//! assert!(q.bid <= q.last && q.last <= q.ask);
//! assert!(q.low <= q.last && q.last <= q.high);
//! let bars = engine.bars(265598, at, chrono::Duration::minutes(5), 12, false);
//! assert_eq!(bars.last().unwrap().close, q.last);
//! ```

use std::collections::HashMap;
use std::f64::consts::{PI, TAU};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::instruments::{
    ES_CARRY, Instrument, Kind, MarketState, RATE, Right, SecType, Session, TradingSchedule,
    Universe, round_to_tick,
};

/// Levels of the midpoint construction: anchors are 2^LEVELS minutes apart.
const LEVELS: u32 = 16;
const SPAN: i64 = 1 << LEVELS;
const MINUTES_PER_YEAR: f64 = 365.25 * 1440.0;
const SECONDS_PER_YEAR: f64 = MINUTES_PER_YEAR * 60.0;

const TAG_ANCHOR: u64 = 0xA5C3_0F1E_D2B4_9687;
const TAG_VOLUME: u64 = 0x3C6E_F372_FE94_F82B;
const TAG_QUOTE: u64 = 0x510E_527F_ADE6_82D1;

/// A quote: what the gateway's market-data snapshot shows for one instrument at one
/// instant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimQuote {
    /// The instrument.
    pub conid: u32,
    /// The instant quoted.
    pub at: DateTime<Utc>,
    /// Regular hours, extended hours, or closed (then the prices are those of the
    /// last session's close: the gateway marks them with a `C` prefix).
    pub state: MarketState,
    /// The trading day the day's figures (open, high, low, volume) belong to.
    pub trading_day: NaiveDate,
    /// Last price.
    pub last: Decimal,
    /// Bid (`bid <= last`); equal to `last` for indices, which have no book.
    pub bid: Decimal,
    /// Ask (`last <= ask`); equal to `last` for indices.
    pub ask: Decimal,
    /// Shares or contracts bid (units, not lots; 0 for indices).
    pub bid_size: u64,
    /// Shares or contracts offered.
    pub ask_size: u64,
    /// Size of the last trade (0 for indices and FX).
    pub last_size: u64,
    /// Volume since the session opened (extended hours included); 0 for indices
    /// and FX, which IBKR reports without volume.
    pub volume: u64,
    /// The first price of the trading day's session.
    pub open: Decimal,
    /// The day's high: at least every price quoted since the open.
    pub high: Decimal,
    /// The day's low: at most every price quoted since the open.
    pub low: Decimal,
    /// The previous trading day's close (at the end of its regular hours).
    pub prior_close: Decimal,
    /// `last - prior_close`.
    pub change: Decimal,
    /// The change in percent of the prior close, to two decimals.
    pub change_pct: Decimal,
    /// For options: the underlying's price, implied volatility and greeks.
    pub option: Option<OptionQuote>,
}

impl SimQuote {
    /// Whether the market is closed (the prices are the last session's close).
    pub fn is_closed(&self) -> bool {
        self.state == MarketState::Closed
    }
}

/// The option part of a quote.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct OptionQuote {
    /// The underlying's price the option was valued at.
    pub underlying_price: Decimal,
    /// Implied volatility (0.25 = 25%).
    pub implied_vol: f64,
    /// Delta: 0..1 for calls, -1..0 for puts.
    pub delta: f64,
    /// Gamma, per unit of the underlying.
    pub gamma: f64,
    /// Theta, per calendar day.
    pub theta: f64,
    /// Vega, per volatility point (1%).
    pub vega: f64,
}

/// One historical bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimBar {
    /// When the bar starts.
    pub time: DateTime<Utc>,
    /// First price.
    pub open: Decimal,
    /// Highest price within the bar.
    pub high: Decimal,
    /// Lowest price within the bar.
    pub low: Decimal,
    /// Last price (the price at the bar's end).
    pub close: Decimal,
    /// Volume traded within the bar.
    pub volume: u64,
}

/// Black-Scholes value and sensitivities of a European option.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Greeks {
    /// Value.
    pub price: f64,
    /// Delta.
    pub delta: f64,
    /// Gamma.
    pub gamma: f64,
    /// Theta, per calendar day.
    pub theta: f64,
    /// Vega, per volatility point.
    pub vega: f64,
}

/// Complementary error function (Numerical Recipes' `erfcc`, error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal distribution function.
fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Black-Scholes for a European option: `spot` and `strike` in price units, `years`
/// to expiry, continuously compounded `rate`, annualised `vol`. At or after expiry
/// (or with no volatility) the value is the intrinsic value.
pub fn black_scholes(
    right: Right,
    spot: f64,
    strike: f64,
    years: f64,
    rate: f64,
    vol: f64,
) -> Greeks {
    let intrinsic = match right {
        Right::Call => (spot - strike).max(0.0),
        Right::Put => (strike - spot).max(0.0),
    };
    if spot.is_nan() || spot <= 0.0 || strike <= 0.0 || years <= 1e-9 || vol <= 0.0 {
        let delta = match right {
            Right::Call if spot > strike => 1.0,
            Right::Put if spot < strike => -1.0,
            _ => 0.0,
        };
        return Greeks {
            price: intrinsic,
            delta,
            gamma: 0.0,
            theta: 0.0,
            vega: 0.0,
        };
    }
    let sq = years.sqrt();
    let sv = vol * sq;
    let d1 = ((spot / strike).ln() + (rate + 0.5 * vol * vol) * years) / sv;
    let d2 = d1 - sv;
    let df = (-rate * years).exp();
    let pdf = (-0.5 * d1 * d1).exp() / (2.0 * PI).sqrt();
    let gamma = pdf / (spot * sv);
    let vega = spot * pdf * sq / 100.0;
    let decay = -spot * pdf * vol / (2.0 * sq);
    let (price, delta, theta) = match right {
        Right::Call => (
            spot * norm_cdf(d1) - strike * df * norm_cdf(d2),
            norm_cdf(d1),
            (decay - rate * strike * df * norm_cdf(d2)) / 365.0,
        ),
        Right::Put => (
            strike * df * norm_cdf(-d2) - spot * norm_cdf(-d1),
            norm_cdf(d1) - 1.0,
            (decay + rate * strike * df * norm_cdf(-d2)) / 365.0,
        ),
    };
    Greeks {
        price: price.max(0.0),
        delta,
        gamma,
        theta,
        vega,
    }
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash(a: u64, b: u64) -> u64 {
    mix(mix(a) ^ b)
}

/// A uniform draw in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box-Muller).
fn normal(h: u64) -> f64 {
    let u1 = 1.0 - unit(h);
    let u2 = unit(mix(h));
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

/// The minute an instant falls in, and how far into it (0..1).
fn split(t: DateTime<Utc>) -> (i64, f64) {
    let s = t.timestamp();
    let frac = (s.rem_euclid(60) as f64 + f64::from(t.timestamp_subsec_nanos()) * 1e-9) / 60.0;
    (s.div_euclid(60), frac)
}

const WEEK: i64 = 7 * 1440;
/// How fast a path moves, per minute, in each part of the trading week.
const PACE_REGULAR: f64 = 1.0;
const PACE_EXTENDED: f64 = 0.2;
const PACE_CLOSED: f64 = 0.01;

/// Business time: how far a path's clock advances in each minute of the week, in the
/// clock's local time. Regular hours count fully, extended hours a fifth, closed
/// hours a hundredth, and Sunday 00:00-04:00 (when clocks change, and nothing here
/// trades) not at all, so that the clock never runs backwards when the local time
/// does.
#[derive(Debug)]
struct Clock {
    time_zone: Tz,
    /// Business minutes from Monday 00:00 local to the start of each minute of the
    /// week; `WEEK + 1` entries.
    cumulative: Vec<f64>,
}

fn minute_of_day(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight() / 60)
}

impl Clock {
    /// The clock of a path followed by instruments trading on `schedules`: at each
    /// minute the fastest pace any of them has. Schedules in another time zone are
    /// shifted by the zones' difference in mid-January.
    fn new(time_zone: Tz, schedules: &[TradingSchedule]) -> Clock {
        let reference = DateTime::from_timestamp(1_736_942_400, 0)
            .expect("valid instant")
            .naive_utc(); // 2025-01-15 12:00 UTC
        let offset = |z: Tz| {
            i64::from(
                z.offset_from_utc_datetime(&reference)
                    .fix()
                    .local_minus_utc(),
            ) / 60
        };
        let mut pace = vec![PACE_CLOSED; WEEK as usize];
        for s in schedules {
            let shift = offset(time_zone) - offset(s.time_zone);
            for (hours, speed) in [(s.extended, PACE_EXTENDED), (s.regular, PACE_REGULAR)] {
                // Monday to Friday, Monday = day 0 of the week.
                for day in 0..5 {
                    let eve = if hours.opens_previous_day { 1440 } else { 0 };
                    let open = day * 1440 + minute_of_day(hours.open) - eve + shift;
                    let close = day * 1440 + minute_of_day(hours.close) + shift;
                    for m in open..close {
                        let p = &mut pace[m.rem_euclid(WEEK) as usize];
                        *p = p.max(speed);
                    }
                }
            }
        }
        for p in &mut pace[6 * 1440..6 * 1440 + 240] {
            if *p == PACE_CLOSED {
                *p = 0.0;
            }
        }
        let mut cumulative = Vec::with_capacity(WEEK as usize + 1);
        let mut total = 0.0;
        cumulative.push(0.0);
        for p in pace {
            total += p;
            cumulative.push(total);
        }
        Clock {
            time_zone,
            cumulative,
        }
    }

    /// Business minutes in a year.
    fn per_year(&self) -> f64 {
        self.cumulative[WEEK as usize] * 365.25 / 7.0
    }

    /// The zone's offset from UTC, in minutes, at minute `m`.
    fn offset(&self, m: i64) -> i64 {
        let t = DateTime::from_timestamp(m * 60, 0).unwrap_or_default();
        i64::from(
            self.time_zone
                .offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ) / 60
    }

    /// The business time at minute `m`, whose UTC offset is `offset` minutes.
    fn at(&self, m: i64, offset: i64) -> f64 {
        // 1970-01-01, minute 0, was a Thursday: day 3 of a week starting on Monday.
        let local = m + offset + 3 * 1440;
        let (week, minute) = (local.div_euclid(WEEK), local.rem_euclid(WEEK) as usize);
        week as f64 * self.cumulative[WEEK as usize] + self.cumulative[minute]
    }
}

/// A log-price path around a reference price.
#[derive(Debug, Clone)]
struct Path {
    key: u64,
    reference: f64,
    /// Volatility per √(business minute).
    sigma: f64,
    anchor_sd: f64,
    clock: Arc<Clock>,
}

/// A point of the path: minute, value, business time.
#[derive(Debug, Clone, Copy)]
struct Node {
    m: i64,
    v: f64,
    t: f64,
}

/// Values of a path over a range of minutes, filled by [`Path::fill`].
struct Fill {
    m0: i64,
    m1: i64,
    /// The UTC offset throughout the range, when it does not change inside it.
    offset: Option<i64>,
    out: Vec<f64>,
}

impl Fill {
    fn put(&mut self, m: i64, v: f64) {
        if (self.m0..=self.m1).contains(&m) {
            self.out[(m - self.m0) as usize] = v;
        }
    }

    fn time(&self, clock: &Clock, m: i64) -> f64 {
        let offset = match self.offset {
            Some(o) if (self.m0..=self.m1).contains(&m) => o,
            _ => clock.offset(m),
        };
        clock.at(m, offset)
    }
}

impl Path {
    fn new(seed: u64, root: &Instrument, clock: Arc<Clock>) -> Path {
        let vol = root.volatility.max(0.01);
        Path {
            key: hash(seed, u64::from(root.conid)),
            reference: root.reference_price.to_f64().unwrap_or(1.0),
            sigma: vol / clock.per_year().sqrt(),
            anchor_sd: 0.3 * vol,
            clock,
        }
    }

    fn anchor(&self, n: i64) -> f64 {
        self.anchor_sd * normal(hash(self.key ^ TAG_ANCHOR, n as u64))
    }

    /// Log deviations from the reference at minutes `m0..=m1`.
    fn devs(&self, m0: i64, m1: i64) -> Vec<f64> {
        debug_assert!(m0 <= m1);
        // Offsets change at most twice a year: equal ends a week apart at most
        // mean one offset throughout.
        let o0 = self.clock.offset(m0);
        let uniform = m1 - m0 <= WEEK && self.clock.offset(m1) == o0;
        let mut f = Fill {
            m0,
            m1,
            offset: uniform.then_some(o0),
            out: vec![0.0; (m1 - m0 + 1) as usize],
        };
        let (n0, n1) = (m0.div_euclid(SPAN), m1.div_euclid(SPAN));
        let node = |f: &Fill, n: i64| Node {
            m: n * SPAN,
            v: self.anchor(n),
            t: f.time(&self.clock, n * SPAN),
        };
        let mut a = node(&f, n0);
        for n in n0..=n1 {
            let b = node(&f, n + 1);
            f.put(a.m, a.v);
            f.put(b.m, b.v);
            self.fill(&mut f, a, b);
            a = b;
        }
        f.out
    }

    /// Fills the interior minutes of `(a, b)` that fall in the wanted range: each
    /// midpoint is drawn from the Brownian bridge between its neighbours, in
    /// business time.
    fn fill(&self, f: &mut Fill, a: Node, b: Node) {
        if b.m - a.m < 2 || a.m + 1 > f.m1 || b.m - 1 < f.m0 {
            return;
        }
        let m = a.m + (b.m - a.m) / 2;
        let t = f.time(&self.clock, m);
        let span = b.t - a.t;
        let v = if span <= 1e-12 {
            a.v
        } else {
            let (left, right) = ((t - a.t).max(0.0), (b.t - t).max(0.0));
            let sd = self.sigma * (left * right / span).sqrt();
            a.v + (b.v - a.v) * left / span + sd * normal(hash(self.key, m as u64))
        };
        let c = Node { m, v, t };
        f.put(m, v);
        self.fill(f, a, c);
        self.fill(f, c, b);
    }

    fn prices(&self, m0: i64, m1: i64) -> Vec<f64> {
        self.devs(m0, m1)
            .into_iter()
            .map(|d| self.reference * d.exp())
            .collect()
    }
}

/// How an instrument's price follows from a path.
#[derive(Debug, Clone)]
enum Value {
    Spot(Path),
    Future {
        path: Path,
        carry: f64,
        expiry_minute: i64,
    },
    Option {
        path: Path,
        strike: f64,
        right: Right,
        expiry_minute: i64,
        iv: f64,
    },
}

/// Trading activity: volume per minute and book sizes.
#[derive(Debug, Clone, Copy)]
struct Flow {
    /// Average volume per regular-hours minute (0: no volume reported).
    per_minute: f64,
    /// Share of that volume per extended-hours minute.
    extended_weight: f64,
    /// Book sizes are 1..=book_lots lots of `book_lot`.
    book_lot: u64,
    book_lots: u64,
    /// Trade sizes are 1..=trade_max (0: none reported).
    trade_max: u64,
}

#[derive(Debug, Clone)]
struct Model {
    sec_type: SecType,
    tick: Decimal,
    schedule: TradingSchedule,
    value: Value,
    /// When the contract expires; from then on its prices stay as they were.
    expires: Option<DateTime<Utc>>,
    flow: Flow,
    key: u64,
    underlying_tick: Decimal,
}

/// Per-minute values of a model, from a minute on, with linear moves in between.
struct Series {
    m0: i64,
    vals: Vec<f64>,
}

impl Series {
    fn at(&self, t: DateTime<Utc>) -> f64 {
        let (m, f) = split(t);
        let i = (m - self.m0) as usize;
        match self.vals.get(i + 1) {
            Some(next) if f > 0.0 => self.vals[i] + (next - self.vals[i]) * f,
            _ => self.vals[i],
        }
    }

    /// (high, low) over `[s, e]`: the ends and every whole minute in between.
    fn extremes(&self, s: DateTime<Utc>, e: DateTime<Utc>) -> (f64, f64) {
        let (ms, fs) = split(s);
        let (me, _) = split(e);
        let first = if fs > 0.0 { ms + 1 } else { ms };
        let (a, b) = (self.at(s), self.at(e));
        let mut hi = a.max(b);
        let mut lo = a.min(b);
        for m in first..=me {
            let v = self.vals[(m - self.m0) as usize];
            hi = hi.max(v);
            lo = lo.min(v);
        }
        (hi, lo)
    }
}

/// Where a quote falls: the trading day, its sessions, and the instant prices are
/// taken at (the quote's instant, or the last close while closed).
struct Located {
    day: NaiveDate,
    extended: Session,
    regular: Option<Session>,
    end: DateTime<Utc>,
    state: MarketState,
}

/// The seeded price engine. Cheap to clone; holds no clock and no state that
/// changes.
#[derive(Debug, Clone)]
pub struct PriceEngine {
    seed: u64,
    models: HashMap<u32, Model>,
}

impl PriceEngine {
    /// An engine for every instrument of `universe`, with prices drawn from `seed`.
    pub fn new(seed: u64, universe: &Universe) -> PriceEngine {
        // One clock per path, paced by the hours of every instrument following it.
        let root_of = |i: &Instrument| {
            i.tracks
                .and_then(|c| universe.get(c))
                .map_or(i.conid, |r| r.conid)
        };
        let mut hours: HashMap<u32, Vec<TradingSchedule>> = HashMap::new();
        for i in universe.iter() {
            let v = hours.entry(root_of(i)).or_default();
            if !v.contains(&i.schedule) {
                v.push(i.schedule);
            }
        }
        let clocks: HashMap<u32, Arc<Clock>> = hours
            .into_iter()
            .filter_map(|(root, schedules)| {
                let zone = universe.get(root)?.schedule.time_zone;
                Some((root, Arc::new(Clock::new(zone, &schedules))))
            })
            .collect();
        let models = universe
            .iter()
            .map(|i| {
                let clock = clocks[&root_of(i)].clone();
                (i.conid, Self::model(seed, universe, i, clock))
            })
            .collect();
        PriceEngine { seed, models }
    }

    /// The seed the engine was made with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn model(seed: u64, universe: &Universe, i: &Instrument, clock: Arc<Clock>) -> Model {
        let root = i.tracks.and_then(|c| universe.get(c)).unwrap_or(i);
        let path = Path::new(seed, root, clock);
        let key = hash(seed ^ 0x7F4A_7C15, u64::from(i.conid));
        let reference = path.reference;
        let mut expires = None;
        let value = match &i.kind {
            Kind::Future(f) => {
                let e = i
                    .schedule
                    .extended_session(f.last_trading_day)
                    .map(|s| s.close)
                    .unwrap_or_else(|| day_start(f.last_trading_day));
                expires = Some(e);
                Value::Future {
                    path,
                    carry: ES_CARRY,
                    expiry_minute: split(e).0,
                }
            }
            Kind::Option(o) => {
                let e = i
                    .schedule
                    .regular_session(o.expiry)
                    .map(|s| s.close)
                    .unwrap_or_else(|| day_start(o.expiry));
                expires = Some(e);
                Value::Option {
                    path,
                    strike: o.strike.to_f64().unwrap_or(0.0),
                    right: o.right,
                    expiry_minute: split(e).0,
                    iv: i.volatility,
                }
            }
            _ => Value::Spot(path),
        };
        let spread = unit(hash(key, 1));
        let flow = match i.sec_type {
            SecType::Stock if i.is_us() => Flow {
                per_minute: if i.is_etf() {
                    120_000.0
                } else {
                    10_000.0 + 60_000.0 * spread
                },
                extended_weight: 0.03,
                book_lot: 100,
                book_lots: 30,
                trade_max: 400,
            },
            SecType::Stock => Flow {
                per_minute: 200.0 + 800.0 * spread,
                extended_weight: 0.05,
                book_lot: 10,
                book_lots: 20,
                trade_max: 100,
            },
            SecType::Future => {
                let front = i
                    .expiry()
                    .is_some_and(|e| (e - universe.today()).num_days() < 100);
                Flow {
                    per_minute: if front { 3_000.0 } else { 20.0 },
                    extended_weight: 0.15,
                    book_lot: 1,
                    book_lots: 80,
                    trade_max: 20,
                }
            }
            SecType::Option => {
                let moneyness = match &i.kind {
                    Kind::Option(o) => (o.strike.to_f64().unwrap_or(1.0) / reference.max(1e-9))
                        .ln()
                        .abs(),
                    _ => 0.0,
                };
                Flow {
                    per_minute: 0.2 + 12.0 * (-12.0 * moneyness).exp(),
                    extended_weight: 0.0,
                    book_lot: 1,
                    book_lots: 60,
                    trade_max: 10,
                }
            }
            SecType::Forex => Flow {
                per_minute: 0.0,
                extended_weight: 0.0,
                book_lot: 500_000,
                book_lots: 20,
                trade_max: 0,
            },
            _ => Flow {
                per_minute: 0.0,
                extended_weight: 0.0,
                book_lot: 0,
                book_lots: 1,
                trade_max: 0,
            },
        };
        Model {
            sec_type: i.sec_type,
            tick: i.tick,
            schedule: i.schedule,
            value,
            expires,
            flow,
            key,
            underlying_tick: root.tick,
        }
    }

    /// Model values at minutes `m0..=m1`.
    fn minute_values(&self, value: &Value, m0: i64, m1: i64) -> Vec<f64> {
        let years_left = |m: i64, expiry: i64| (expiry - m).max(0) as f64 / MINUTES_PER_YEAR;
        match value {
            Value::Spot(path) => path.prices(m0, m1),
            Value::Future {
                path,
                carry,
                expiry_minute,
            } => path
                .prices(m0, m1)
                .into_iter()
                .zip(m0..)
                .map(|(s, m)| s * (carry * years_left(m, *expiry_minute)).exp())
                .collect(),
            Value::Option {
                path,
                strike,
                right,
                expiry_minute,
                iv,
            } => path
                .prices(m0, m1)
                .into_iter()
                .zip(m0..)
                .map(|(s, m)| {
                    let t = years_left(m.min(*expiry_minute), *expiry_minute);
                    black_scholes(*right, s, *strike, t, RATE, *iv).price
                })
                .collect(),
        }
    }

    /// The values covering `[s, e]`.
    fn series(&self, model: &Model, s: DateTime<Utc>, e: DateTime<Utc>) -> Series {
        let (ms, _) = split(s);
        let (me, fe) = split(e);
        let m1 = if fe > 0.0 { me + 1 } else { me };
        Series {
            m0: ms,
            vals: self.minute_values(&model.value, ms, m1.max(ms)),
        }
    }

    fn value_at(&self, model: &Model, t: DateTime<Utc>) -> f64 {
        self.series(model, t, t).at(t)
    }

    fn locate(&self, model: &Model, at: DateTime<Utc>) -> Located {
        let expired = model.expires.filter(|&e| at >= e);
        let at = expired.unwrap_or(at);
        let s = &model.schedule;
        let day = s.trading_day_at(at);
        let extended = s
            .extended_session(day)
            .expect("trading_day_at gives a trading day");
        let state = if expired.is_some() {
            MarketState::Closed
        } else {
            s.state_at(at)
        };
        Located {
            day,
            extended,
            regular: s.regular_session(day),
            end: at.min(extended.close),
            state,
        }
    }

    /// Volume within `[s, e)`, whose minutes belong to a day with regular hours `regular`.
    fn volume(
        &self,
        model: &Model,
        s: DateTime<Utc>,
        e: DateTime<Utc>,
        regular: Option<&Session>,
    ) -> u64 {
        let flow = &model.flow;
        if flow.per_minute <= 0.0 || e <= s {
            return 0;
        }
        let (r0, r1) = regular
            .map(|r| (split(r.open).0, split(r.close).0))
            .unwrap_or((0, 0));
        let (ms, fs) = split(s);
        let (me, fe) = split(e);
        let mut total = 0.0;
        for m in ms..=me {
            let from = if m == ms { fs } else { 0.0 };
            let to = if m == me { fe } else { 1.0 };
            if to <= from {
                continue;
            }
            let weight = if (r0..r1).contains(&m) {
                1.0
            } else {
                flow.extended_weight
            };
            let draw = 0.25 + 1.5 * unit(hash(model.key ^ TAG_VOLUME, m as u64));
            total += flow.per_minute * weight * draw * (to - from);
        }
        total as u64
    }

    fn round(&self, model: &Model, x: f64) -> Decimal {
        round_to_tick(x, model.tick)
    }

    /// The last price of `conid` at `at` (cheaper than a full quote).
    pub fn price(&self, conid: u32, at: DateTime<Utc>) -> Option<Decimal> {
        let model = self.models.get(&conid)?;
        let loc = self.locate(model, at);
        Some(self.round(model, self.value_at(model, loc.end)))
    }

    /// Whether `conid`'s market is in regular hours, extended hours or closed at `at`
    /// (closed for good once a contract has expired).
    pub fn market_state(&self, conid: u32, at: DateTime<Utc>) -> Option<MarketState> {
        let model = self.models.get(&conid)?;
        Some(self.locate(model, at).state)
    }

    /// The quote of `conid` at `at`; `None` for an unknown conid.
    pub fn quote(&self, conid: u32, at: DateTime<Utc>) -> Option<SimQuote> {
        let model = self.models.get(&conid)?;
        let loc = self.locate(model, at);
        let series = self.series(model, loc.extended.open, loc.end);
        let last_raw = series.at(loc.end);
        let (hi, lo) = series.extremes(loc.extended.open, loc.end);
        let last = self.round(model, last_raw);
        let open = self.round(model, series.at(loc.extended.open));

        let schedule = &model.schedule;
        let previous = schedule.previous_trading_day(loc.day);
        let prior_at = schedule
            .regular_session(previous)
            .map(|r| r.close)
            .unwrap_or(loc.extended.open);
        let prior_close = self.round(model, self.value_at(model, prior_at));
        let change = last - prior_close;
        let change_pct = if prior_close.is_zero() {
            Decimal::ZERO
        } else {
            (change * Decimal::ONE_HUNDRED / prior_close).round_dp(2)
        };

        // The book and the last trade size change every second, and stay put while
        // the market is closed.
        let h = hash(model.key ^ TAG_QUOTE, loc.end.timestamp() as u64);
        let last_ticks = (last / model.tick).to_i64().unwrap_or(1);
        let spread = self.spread_ticks(model, last_raw, h);
        let below = (i64::from((h >> 8) as u8) % (spread + 1)).min(last_ticks);
        let above = spread - below;
        let flow = &model.flow;
        let size = |shift: u32| flow.book_lot * (1 + (h >> shift) % flow.book_lots.max(1));
        let last_size = if flow.trade_max == 0 {
            0
        } else {
            1 + (h >> 48) % flow.trade_max
        };

        let option = match &model.value {
            &Value::Option {
                ref path,
                strike,
                right,
                iv,
                ..
            } => {
                let spot = Series {
                    m0: split(loc.end).0,
                    vals: {
                        let (m, f) = split(loc.end);
                        path.prices(m, if f > 0.0 { m + 1 } else { m })
                    },
                }
                .at(loc.end);
                let years = model
                    .expires
                    .map(|e| (e - loc.end).num_seconds().max(0) as f64 / SECONDS_PER_YEAR)
                    .unwrap_or(0.0);
                let g = black_scholes(right, spot, strike, years, RATE, iv);
                Some(OptionQuote {
                    underlying_price: round_to_tick(spot, model.underlying_tick),
                    implied_vol: iv,
                    delta: g.delta,
                    gamma: g.gamma,
                    theta: g.theta,
                    vega: g.vega,
                })
            }
            _ => None,
        };

        Some(SimQuote {
            conid,
            at,
            state: loc.state,
            trading_day: loc.day,
            last,
            bid: last - Decimal::from(below) * model.tick,
            ask: last + Decimal::from(above) * model.tick,
            bid_size: size(16),
            ask_size: size(32),
            last_size,
            volume: self.volume(model, loc.extended.open, loc.end, loc.regular.as_ref()),
            open,
            high: self.round(model, hi),
            low: self.round(model, lo),
            prior_close,
            change,
            change_pct,
            option,
        })
    }

    /// The bid-ask spread in ticks.
    fn spread_ticks(&self, model: &Model, price: f64, h: u64) -> i64 {
        let r = (h % 1000) as i64;
        match model.sec_type {
            SecType::Index => 0,
            SecType::Future => 1 + i64::from(r < 150),
            SecType::Forex => 1 + r % 4,
            SecType::Option if price < 1.0 => 1 + r % 3,
            SecType::Option if price < 5.0 => 2 + r % 5,
            SecType::Option => 5 + r % 11,
            _ if price < 50.0 => 1 + r % 2,
            _ if price < 200.0 => 1 + r % 3,
            _ => 1 + r % 5,
        }
    }

    /// Historical bars of `conid` ending at `end`, oldest first: at most `count` bars
    /// of length `bar`, in regular hours only unless `outside_rth`.
    ///
    /// Intraday bars are aligned to the clock in the exchange's time zone when `bar`
    /// divides a day (a session's first bar starts at its open), and cut at session
    /// ends; the last bar ends at `end`. Bars of a day or more cover trading days:
    /// `1 day` one per day, `7 days` one per week, 28 to 31 days one per month,
    /// otherwise groups of that many trading days; they start at the session open.
    ///
    /// Each bar's open and close are the prices quoted at its start and end, its high
    /// and low bound every price quoted in between. When `end` falls in the hours the
    /// bars cover (or after the day's last session), the last close is
    /// `quote(conid, end).last`.
    pub fn bars(
        &self,
        conid: u32,
        end: DateTime<Utc>,
        bar: Duration,
        count: usize,
        outside_rth: bool,
    ) -> Vec<SimBar> {
        let Some(model) = self.models.get(&conid) else {
            return Vec::new();
        };
        if count == 0 || bar <= Duration::zero() {
            return Vec::new();
        }
        let end = match model.expires {
            Some(e) if end > e => e,
            _ => end,
        };
        if bar >= Duration::days(1) {
            self.day_bars(model, end, bar.num_days(), count, outside_rth)
        } else {
            self.intraday_bars(model, end, bar.num_seconds().max(1), count, outside_rth)
        }
    }

    fn window(&self, model: &Model, day: NaiveDate, outside_rth: bool) -> Option<Session> {
        if outside_rth {
            model.schedule.extended_session(day)
        } else {
            model.schedule.regular_session(day)
        }
    }

    fn bar(
        &self,
        model: &Model,
        series: &Series,
        (s, e): (DateTime<Utc>, DateTime<Utc>),
        regular: Option<&Session>,
    ) -> SimBar {
        let (hi, lo) = series.extremes(s, e);
        SimBar {
            time: s,
            open: self.round(model, series.at(s)),
            high: self.round(model, hi),
            low: self.round(model, lo),
            close: self.round(model, series.at(e)),
            volume: self.volume(model, s, e, regular),
        }
    }

    fn intraday_bars(
        &self,
        model: &Model,
        end: DateTime<Utc>,
        len: i64,
        count: usize,
        outside_rth: bool,
    ) -> Vec<SimBar> {
        let schedule = &model.schedule;
        let mut day = schedule.trading_day_at(end);
        let mut out = Vec::with_capacity(count.min(10_000));
        // Every day visited after the first yields at least one bar.
        for _ in 0..=count {
            if out.len() >= count {
                break;
            }
            if let Some(w) = self.window(model, day, outside_rth)
                && w.open < end
            {
                let w_end = w.close.min(end);
                let series = self.series(model, w.open, w_end);
                let regular = schedule.regular_session(day);
                let cuts = boundaries(w.open, w_end, len, schedule);
                for pair in cuts.windows(2).rev() {
                    if out.len() >= count {
                        break;
                    }
                    out.push(self.bar(model, &series, (pair[0], pair[1]), regular.as_ref()));
                }
            }
            day = schedule.previous_trading_day(day);
        }
        out.reverse();
        out
    }

    fn day_bars(
        &self,
        model: &Model,
        end: DateTime<Utc>,
        days: i64,
        count: usize,
        outside_rth: bool,
    ) -> Vec<SimBar> {
        let schedule = &model.schedule;
        let group_of = |day: NaiveDate, index: i64| -> i64 {
            match days {
                1 => i64::from(day.num_days_from_ce()),
                7 => {
                    let w = day.iso_week();
                    i64::from(w.year()) * 100 + i64::from(w.week())
                }
                28..=31 => i64::from(day.year()) * 12 + i64::from(day.month0()),
                n => index / n.max(1),
            }
        };
        let mut day = schedule.trading_day_at(end);
        let mut groups: Vec<SimBar> = Vec::new();
        let mut current = None;
        let mut index = 0;
        // Each trading day visited after the first adds to some bar.
        let limit = (count as i64 + 1) * days.max(1) * 2 + 10;
        for _ in 0..limit {
            if let Some(w) = self.window(model, day, outside_rth)
                && w.open < end
            {
                let key = group_of(day, index);
                index += 1;
                if current != Some(key) && groups.len() == count {
                    break;
                }
                let w_end = w.close.min(end);
                let series = self.series(model, w.open, w_end);
                let regular = schedule.regular_session(day);
                let daily = self.bar(model, &series, (w.open, w_end), regular.as_ref());
                if current == Some(key) {
                    let g = groups.last_mut().expect("a current group");
                    g.time = daily.time;
                    g.open = daily.open;
                    g.high = g.high.max(daily.high);
                    g.low = g.low.min(daily.low);
                    g.volume += daily.volume;
                } else {
                    groups.push(daily);
                    current = Some(key);
                }
            }
            day = schedule.previous_trading_day(day);
        }
        groups.reverse();
        groups
    }
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// Bar boundaries from `open` to `end`: aligned to the local clock when `len`
/// (seconds) divides a day, else to `open`. A session's UTC offset does not change
/// inside it (clocks change at 02:00 on Sundays, when nothing here trades), so the
/// offset at the open holds throughout.
fn boundaries(
    open: DateTime<Utc>,
    end: DateTime<Utc>,
    len: i64,
    schedule: &TradingSchedule,
) -> Vec<DateTime<Utc>> {
    let mut cuts = vec![open];
    let first = if 86_400 % len == 0 {
        let offset = i64::from(
            schedule
                .time_zone
                .offset_from_utc_datetime(&open.naive_utc())
                .fix()
                .local_minus_utc(),
        );
        let local = open.timestamp() + offset;
        (local.div_euclid(len) + 1) * len - offset
    } else {
        open.timestamp() + len
    };
    let mut t = first;
    while let Some(cut) = DateTime::from_timestamp(t, 0) {
        if cut >= end {
            break;
        }
        cuts.push(cut);
        t += len;
    }
    cuts.push(end);
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instruments::Right;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn setup() -> (Universe, PriceEngine) {
        let u = Universe::standard(d(2025, 7, 1));
        let e = PriceEngine::new(42, &u);
        (u, e)
    }

    const AAPL: u32 = 265598;
    const SPY: u32 = 756733;
    const SPX: u32 = 416904;
    const EURUSD: u32 = 12087792;
    const USDJPY: u32 = 15016059;
    // Wednesday 16 July 2025, 11:00 New York (EDT).
    const WED_11: &str = "2025-07-16T15:00:00Z";

    fn us_path(key: u64, vol: f64) -> Path {
        let clock = Arc::new(Clock::new(
            chrono_tz::America::New_York,
            &[
                TradingSchedule::us_equities(),
                TradingSchedule::us_options(),
            ],
        ));
        Path {
            key,
            reference: 100.0,
            sigma: vol / clock.per_year().sqrt(),
            anchor_sd: 0.3 * vol,
            clock,
        }
    }

    fn minute(s: &str) -> i64 {
        split(utc(s)).0
    }

    #[test]
    fn ranges_of_the_path_agree_with_single_minutes() {
        let p = us_path(99, 0.3);
        // Across an anchor, and across the switch to summer time (9 March 2025).
        for m0 in [3 * SPAN - 700, minute("2025-03-09T03:00:00Z")] {
            let range = p.devs(m0, m0 + 1500);
            for (i, v) in range.iter().enumerate().step_by(7) {
                let m = m0 + i as i64;
                assert_eq!(*v, p.devs(m, m)[0], "minute {i}");
            }
        }
        // A long range, with the offset changing inside it.
        let m0 = minute("2025-10-20T00:00:00Z");
        let long = p.devs(m0, m0 + 30 * 1440);
        for i in (0..long.len()).step_by(997) {
            let m = m0 + i as i64;
            assert_eq!(long[i], p.devs(m, m)[0]);
        }
        // Negative minutes (before 1970) work too.
        let early = p.devs(-5, 5);
        assert_eq!(early[5], p.devs(0, 0)[0]);
    }

    #[test]
    fn business_time_never_runs_backwards_and_paces_the_week() {
        let p = us_path(1, 0.3);
        let clock = &p.clock;
        // Through both clock changes of 2025, minute by minute.
        for start in ["2025-03-09T04:00:00Z", "2025-11-02T03:00:00Z"] {
            let m0 = minute(start);
            let mut previous = clock.at(m0, clock.offset(m0));
            for m in m0 + 1..m0 + 600 {
                let t = clock.at(m, clock.offset(m));
                assert!(t >= previous, "minute {m}");
                previous = t;
            }
        }
        let span = |a: &str, b: &str| {
            let (a, b) = (minute(a), minute(b));
            clock.at(b, clock.offset(b)) - clock.at(a, clock.offset(a))
        };
        // Regular hours count fully, the pre-market a fifth, the night a hundredth.
        assert_eq!(span("2025-07-16T13:30:00Z", "2025-07-16T20:00:00Z"), 390.0);
        assert!((span("2025-07-16T08:00:00Z", "2025-07-16T13:30:00Z") - 66.0).abs() < 1e-9);
        assert!((span("2025-07-16T00:00:00Z", "2025-07-16T08:00:00Z") - 4.8).abs() < 1e-9);
        // Winter hours are an hour later in UTC.
        assert_eq!(span("2025-01-15T14:30:00Z", "2025-01-15T21:00:00Z"), 390.0);
    }

    #[test]
    fn the_path_has_the_configured_volatility() {
        let vol = 0.25;
        let p = us_path(7, vol);
        let m0 = minute("2025-01-06T00:00:00Z");
        let devs = p.devs(m0, m0 + 2 * 365 * 1440);
        let years = (devs.len() - 1) as f64 / MINUTES_PER_YEAR;
        let sum: f64 = devs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
        let annual = (sum / years).sqrt();
        assert!((0.2..0.3).contains(&annual), "annualised {annual}");
    }

    #[test]
    fn overnight_gaps_are_smaller_than_days() {
        let (_, e) = setup();
        let end = utc("2025-07-16T20:00:00Z");
        let days = e.bars(AAPL, end, Duration::days(1), 250, false);
        let ln = |a: Decimal, b: Decimal| (b.to_f64().unwrap() / a.to_f64().unwrap()).ln();
        let day: f64 = days.iter().map(|b| ln(b.open, b.close).powi(2)).sum();
        let night: f64 = days
            .windows(2)
            .map(|w| ln(w[0].close, w[1].open).powi(2))
            .sum();
        assert!(night < 0.7 * day, "night {night} vs day {day}");
        assert!(night > 0.05 * day, "night {night} vs day {day}");
        // Daily moves are those of a 28% volatility stock, give or take.
        let daily = ((day + night) / 250.0).sqrt();
        assert!((0.01..0.03).contains(&daily), "{daily}");
    }

    #[test]
    fn the_same_seed_gives_the_same_prices_and_another_seed_others() {
        let (u, a) = setup();
        let b = PriceEngine::new(42, &u);
        let c = PriceEngine::new(43, &u);
        assert_eq!(a.seed(), 42);
        let at = utc(WED_11);
        let mut differ = 0;
        for conid in [AAPL, SPY, SPX, EURUSD, 649180678, 8314] {
            let qa = a.quote(conid, at).unwrap();
            assert_eq!(qa, b.quote(conid, at).unwrap());
            assert_eq!(
                a.bars(conid, at, Duration::minutes(5), 20, true),
                b.bars(conid, at, Duration::minutes(5), 20, true)
            );
            if qa.last != c.quote(conid, at).unwrap().last {
                differ += 1;
            }
        }
        assert!(
            differ >= 5,
            "another seed moves prices ({differ} of 6 differ)"
        );
        // Asking in another order or again changes nothing.
        let later = utc("2025-07-16T19:00:00Z");
        let q1 = a.quote(AAPL, later).unwrap();
        let _ = a.quote(AAPL, at);
        assert_eq!(a.quote(AAPL, later).unwrap(), q1);
    }

    #[test]
    fn bid_last_and_ask_are_ordered_and_on_the_tick_for_every_kind() {
        let (u, e) = setup();
        let mut conids: Vec<u32> = u
            .iter()
            .filter(|i| i.sec_type != SecType::Option)
            .map(|i| i.conid)
            .collect();
        let month = &u.option_months(SPY)[1].code;
        conids.extend(
            u.option_contracts(SPY, month, None, None)
                .iter()
                .map(|i| i.conid),
        );
        let start = utc("2025-07-13T20:00:00Z");
        for conid in conids {
            let tick = u.get(conid).unwrap().tick;
            for k in 0..40 {
                let at = start + Duration::minutes(k * 257 + 13) + Duration::seconds(k * 7);
                let q = e.quote(conid, at).unwrap();
                assert!(
                    q.bid <= q.last && q.last <= q.ask,
                    "{conid} at {at}: {} {} {}",
                    q.bid,
                    q.last,
                    q.ask
                );
                assert!(q.bid >= Decimal::ZERO && q.last > Decimal::ZERO);
                assert!(q.low <= q.last && q.last <= q.high, "{conid} at {at}");
                assert!(q.low <= q.open && q.open <= q.high);
                for p in [q.last, q.bid, q.ask, q.open, q.high, q.low, q.prior_close] {
                    assert!((p / tick).fract().is_zero(), "{conid}: {p} on tick {tick}");
                }
                if u.get(conid).unwrap().sec_type != SecType::Index {
                    assert!(q.bid < q.ask);
                    assert!(q.bid_size > 0 && q.ask_size > 0);
                }
            }
        }
    }

    #[test]
    fn high_and_low_bound_every_price_since_the_open() {
        let (u, e) = setup();
        for conid in [AAPL, 649180678, EURUSD] {
            let at = utc(WED_11);
            let q = e.quote(conid, at).unwrap();
            let s = u.schedule(conid).unwrap();
            let open = s.extended_session(q.trading_day).unwrap().open;
            assert_eq!(q.open, e.price(conid, open).unwrap());
            let mut seen_hi = q.last;
            let mut seen_lo = q.last;
            let mut t = open;
            while t <= at {
                let p = e.price(conid, t).unwrap();
                assert!(q.low <= p && p <= q.high, "{conid} at {t}: {p}");
                seen_hi = seen_hi.max(p);
                seen_lo = seen_lo.min(p);
                t += Duration::seconds(20);
            }
            // The extremes are reached on whole minutes, which the walk visits.
            assert_eq!((seen_hi, seen_lo), (q.high, q.low), "{conid}");
        }
    }

    #[test]
    fn volume_grows_within_a_session_and_resets_at_the_next_open() {
        let (_, e) = setup();
        // Wednesday: pre-market from 04:00 New York (08:00 UTC) to 20:00 (00:00 UTC).
        let open = utc("2025-07-16T08:00:00Z");
        assert_eq!(e.quote(AAPL, open).unwrap().volume, 0);
        let mut last = 0;
        for k in 1..=(16 * 60 / 7) {
            let q = e
                .quote(
                    AAPL,
                    open + Duration::minutes(7 * k) + Duration::seconds(11),
                )
                .unwrap();
            assert!(q.volume >= last, "volume fell at step {k}");
            last = q.volume;
        }
        let closed = e.quote(AAPL, utc("2025-07-17T02:00:00Z")).unwrap();
        assert!(closed.is_closed());
        assert!(closed.volume >= last);
        let day_total = e.quote(AAPL, utc("2025-07-17T00:00:00Z")).unwrap().volume;
        assert_eq!(closed.volume, day_total, "no volume while closed");
        assert!(day_total > 1_000_000);
        let next = e.quote(AAPL, utc("2025-07-17T08:01:00Z")).unwrap();
        assert_eq!(next.trading_day, d(2025, 7, 17));
        assert!(next.volume < day_total / 100, "reset at the open");
        // Regular hours trade far more than the pre-market.
        let pre = e.quote(AAPL, utc("2025-07-16T13:30:00Z")).unwrap().volume;
        let rth_hour = e.quote(AAPL, utc("2025-07-16T14:30:00Z")).unwrap().volume - pre;
        assert!(rth_hour > pre, "{rth_hour} vs {pre}");
        // Indices and FX report none.
        assert_eq!(e.quote(SPX, utc(WED_11)).unwrap().volume, 0);
        assert_eq!(e.quote(EURUSD, utc(WED_11)).unwrap().volume, 0);
    }

    #[test]
    fn a_closed_market_holds_the_last_close() {
        let (_, e) = setup();
        // Friday 18 July 2025, 20:00 New York is the end of the extended session.
        let fri_close = utc("2025-07-19T00:00:00Z");
        let fri = e.quote(AAPL, utc("2025-07-18T23:59:59Z")).unwrap();
        assert_eq!(fri.state, MarketState::Extended);
        let at_close = e.price(AAPL, fri_close).unwrap();
        let sat = e.quote(AAPL, utc("2025-07-19T15:00:00Z")).unwrap();
        let sun = e.quote(AAPL, utc("2025-07-20T23:00:00Z")).unwrap();
        assert!(sat.is_closed() && sun.is_closed());
        assert_eq!(sat.last, at_close);
        assert_eq!(sat.trading_day, d(2025, 7, 18));
        let mut sat_again = sat.clone();
        sat_again.at = sun.at;
        assert_eq!(sun, sat_again, "nothing moves over the weekend");
        // Regular and extended hours are told apart.
        assert_eq!(
            e.market_state(AAPL, utc(WED_11)),
            Some(MarketState::Regular)
        );
        assert_eq!(
            e.market_state(AAPL, utc("2025-07-16T12:00:00Z")),
            Some(MarketState::Extended)
        );
        // Options and indices have no extended hours.
        assert_eq!(
            e.quote(SPX, utc("2025-07-16T21:00:00Z")).unwrap().state,
            MarketState::Closed
        );
        assert_eq!(
            e.quote(SPX, utc("2025-07-16T21:00:00Z")).unwrap().last,
            e.price(SPX, utc("2025-07-16T20:00:00Z")).unwrap()
        );
        // ES: closed in the daily halt, at the 16:00 Chicago price.
        let halt = e.quote(649180678, utc("2025-07-16T21:30:00Z")).unwrap();
        assert!(halt.is_closed());
        assert_eq!(
            halt.last,
            e.price(649180678, utc("2025-07-16T21:00:00Z")).unwrap()
        );
        // The market reopens with a gap: the path ran on while it was closed.
        let mon = e.quote(AAPL, utc("2025-07-21T08:00:00Z")).unwrap();
        assert_eq!(mon.state, MarketState::Extended);
        assert_eq!(mon.open, mon.last);
    }

    #[test]
    fn prior_close_is_the_previous_regular_close_and_change_follows() {
        let (_, e) = setup();
        let q = e.quote(AAPL, utc(WED_11)).unwrap();
        // Tuesday 16:00 New York.
        let tue = e.price(AAPL, utc("2025-07-15T20:00:00Z")).unwrap();
        assert_eq!(q.prior_close, tue);
        assert_eq!(q.change, q.last - q.prior_close);
        let pct = (q.change * Decimal::ONE_HUNDRED / q.prior_close).round_dp(2);
        assert_eq!(q.change_pct, pct);
        // Monday's prior close is Friday's.
        let mon = e.quote(AAPL, utc("2025-07-21T15:00:00Z")).unwrap();
        assert_eq!(
            mon.prior_close,
            e.price(AAPL, utc("2025-07-18T20:00:00Z")).unwrap()
        );
    }

    #[test]
    fn intraday_bars_end_at_the_quote_and_bound_the_path() {
        let (u, e) = setup();
        // 11:07:30 New York: the last bar is cut short at `end`.
        let end = utc("2025-07-16T15:07:30Z");
        let q = e.quote(AAPL, end).unwrap();
        let bars = e.bars(AAPL, end, Duration::minutes(5), 30, false);
        assert_eq!(bars.len(), 30);
        assert_eq!(bars.last().unwrap().close, q.last);
        assert_eq!(bars.last().unwrap().time, utc("2025-07-16T15:05:00Z"));
        assert!(bars.windows(2).all(|w| w[0].time < w[1].time));
        // 30 bars reach back into Tuesday's afternoon, in regular hours only.
        let s = u.schedule(AAPL).unwrap();
        for b in &bars {
            assert_eq!(s.state_at(b.time), MarketState::Regular, "{}", b.time);
            assert_eq!(b.open, e.price(AAPL, b.time).unwrap());
            assert!(b.low <= b.open && b.open <= b.high);
            assert!(b.low <= b.close && b.close <= b.high);
        }
        assert_eq!(bars[0].time.date_naive(), d(2025, 7, 15));
        assert_eq!(
            bars[10].time,
            utc("2025-07-16T13:30:00Z"),
            "Wednesday's open"
        );
        assert_eq!(
            bars[9].close,
            e.price(AAPL, utc("2025-07-15T20:00:00Z")).unwrap()
        );
        // Every price inside a bar is within its high and low.
        for w in bars.windows(2) {
            let mut t = w[0].time;
            let stop = if w[1].time - w[0].time > Duration::minutes(5) {
                w[0].time + Duration::minutes(5)
            } else {
                w[1].time
            };
            while t <= stop {
                let p = e.price(AAPL, t).unwrap();
                assert!(w[0].low <= p && p <= w[0].high, "{t}: {p}");
                t += Duration::seconds(15);
            }
        }
        // One-hour bars are clock-aligned: 09:30 (half an hour), 10:00, then 11:00.
        let hourly = e.bars(AAPL, end, Duration::hours(1), 4, false);
        let times: Vec<_> = hourly.iter().map(|b| b.time).collect();
        assert_eq!(
            times,
            [
                utc("2025-07-15T19:00:00Z"),
                utc("2025-07-16T13:30:00Z"),
                utc("2025-07-16T14:00:00Z"),
                utc("2025-07-16T15:00:00Z"),
            ]
        );
        assert_eq!(hourly[3].close, q.last);
    }

    #[test]
    fn bars_outside_regular_hours_cover_the_extended_session() {
        let (_, e) = setup();
        // Wednesday 21:00 New York: closed; the extended session ended at 20:00.
        let end = utc("2025-07-17T01:00:00Z");
        let q = e.quote(AAPL, end).unwrap();
        let bars = e.bars(AAPL, end, Duration::minutes(1), 16 * 60, true);
        assert_eq!(bars.len(), 16 * 60);
        assert_eq!(bars[0].time, utc("2025-07-16T08:00:00Z"), "04:00 New York");
        assert_eq!(bars.last().unwrap().time, utc("2025-07-16T23:59:00Z"));
        assert_eq!(bars.last().unwrap().close, q.last);
        assert_eq!(bars[0].open, q.open);
        let high = bars.iter().map(|b| b.high).max().unwrap();
        let low = bars.iter().map(|b| b.low).min().unwrap();
        assert_eq!((high, low), (q.high, q.low));
        let volume: u64 = bars.iter().map(|b| b.volume).sum();
        assert!(volume <= q.volume && q.volume - volume <= bars.len() as u64);
        // Consecutive one-minute bars meet: each opens where the last closed.
        assert!(bars.windows(2).all(|w| w[0].close == w[1].open));
    }

    #[test]
    fn daily_and_weekly_bars() {
        let (u, e) = setup();
        let end = utc(WED_11);
        let q = e.quote(AAPL, end).unwrap();
        let daily = e.bars(AAPL, end, Duration::days(1), 10, false);
        assert_eq!(daily.len(), 10);
        let s = u.schedule(AAPL).unwrap();
        let mut day = d(2025, 7, 16);
        for b in daily.iter().rev() {
            assert_eq!(b.time, s.regular_session(day).unwrap().open);
            day = s.previous_trading_day(day);
        }
        assert_eq!(daily.last().unwrap().close, q.last);
        // A day's bar agrees with its minute bars.
        let tue_end = utc("2025-07-15T20:00:00Z");
        let minutes = e.bars(AAPL, tue_end, Duration::minutes(1), 390, false);
        let tue = daily[8];
        assert_eq!(tue.open, minutes[0].open);
        assert_eq!(tue.close, minutes.last().unwrap().close);
        assert_eq!(tue.high, minutes.iter().map(|b| b.high).max().unwrap());
        assert_eq!(tue.low, minutes.iter().map(|b| b.low).min().unwrap());

        let weekly = e.bars(AAPL, end, Duration::days(7), 3, false);
        assert_eq!(weekly.len(), 3);
        assert_eq!(
            weekly[2].time,
            s.regular_session(d(2025, 7, 14)).unwrap().open
        );
        assert_eq!(
            weekly[1].time,
            s.regular_session(d(2025, 7, 7)).unwrap().open
        );
        assert_eq!(weekly[2].close, q.last);
        let week_high = daily[7..].iter().map(|b| b.high).max().unwrap();
        assert_eq!(weekly[2].high, week_high);
        let monthly = e.bars(AAPL, end, Duration::days(30), 2, false);
        assert_eq!(
            monthly[1].time,
            s.regular_session(d(2025, 7, 1)).unwrap().open
        );
        assert_eq!(
            monthly[0].time,
            s.regular_session(d(2025, 6, 2)).unwrap().open
        );
        assert!(e.bars(AAPL, end, Duration::days(1), 0, false).is_empty());
        assert!(e.bars(1, end, Duration::days(1), 5, false).is_empty());
    }

    #[test]
    fn option_prices_are_sane() {
        let (u, e) = setup();
        let at = utc(WED_11);
        let spy = e.quote(SPY, at).unwrap();
        let month = u.option_months(SPY)[2].clone();
        let calls: Vec<SimQuote> = u
            .option_contracts(SPY, &month.code, None, Some(Right::Call))
            .iter()
            .map(|i| e.quote(i.conid, at).unwrap())
            .collect();
        let puts: Vec<SimQuote> = u
            .option_contracts(SPY, &month.code, None, Some(Right::Put))
            .iter()
            .map(|i| e.quote(i.conid, at).unwrap())
            .collect();
        assert!(
            calls.windows(2).all(|w| w[0].last >= w[1].last),
            "calls fall with the strike"
        );
        assert!(
            puts.windows(2).all(|w| w[0].last <= w[1].last),
            "puts rise with the strike"
        );
        assert!(calls[0].last > calls.last().unwrap().last);
        let strikes = u.strikes(SPY, &month.code);
        let years = (s_close(&u, month.expiry) - at).num_seconds() as f64 / SECONDS_PER_YEAR;
        for ((c, p), k) in calls.iter().zip(&puts).zip(&strikes) {
            let (co, po) = (c.option.unwrap(), p.option.unwrap());
            assert!((0.0..=1.0).contains(&co.delta) && (-1.0..=0.0).contains(&po.delta));
            assert!((co.delta - po.delta - 1.0).abs() < 1e-9);
            assert!(co.gamma >= 0.0 && co.vega >= 0.0 && co.theta <= 0.0);
            assert!((0.20..=0.35).contains(&co.implied_vol));
            assert_eq!(co.underlying_price, spy.last);
            assert_eq!(c.state, MarketState::Regular);
            // Put-call parity (same implied volatility on both sides).
            let s = spy.last.to_f64().unwrap();
            let k = k.to_f64().unwrap();
            let parity = s - k * (-RATE * years).exp();
            let diff = (c.last - p.last).to_f64().unwrap();
            if c.last > Decimal::new(5, 2) && p.last > Decimal::new(5, 2) {
                assert!((diff - parity).abs() < 0.03, "{k}: {diff} vs {parity}");
            }
        }
        // Deltas fall from near 1 to near 0 across the chain.
        assert!(calls[0].option.unwrap().delta > 0.9);
        assert!(calls.last().unwrap().option.unwrap().delta < 0.1);
    }

    fn s_close(u: &Universe, day: NaiveDate) -> DateTime<Utc> {
        u.schedule(AAPL)
            .unwrap()
            .regular_session(day)
            .unwrap()
            .close
    }

    #[test]
    fn expired_options_stay_at_their_last_value() {
        let (u, e) = setup();
        let month = &u.option_months(AAPL)[0];
        let call = u.option_contracts(AAPL, &month.code, None, Some(Right::Call))[3];
        let expiry = s_close(&u, month.expiry);
        let at_expiry = e.quote(call.conid, expiry).unwrap();
        let after = e.quote(call.conid, expiry + Duration::days(3)).unwrap();
        assert!(after.is_closed() && at_expiry.is_closed());
        assert_eq!(after.last, at_expiry.last);
        // At expiry an option is worth its intrinsic value.
        let und = e.price(AAPL, expiry).unwrap();
        let strike = call.option_terms().unwrap().strike;
        let intrinsic = (und - strike).max(Decimal::new(1, 2));
        assert_eq!(at_expiry.last, intrinsic);
        let bars = e.bars(
            call.conid,
            expiry + Duration::days(10),
            Duration::days(1),
            3,
            false,
        );
        assert_eq!(bars.last().unwrap().close, at_expiry.last);
    }

    #[test]
    fn fx_prices_have_five_decimals_and_yen_three() {
        let (_, e) = setup();
        let q = e.quote(EURUSD, utc(WED_11)).unwrap();
        for p in [q.last, q.bid, q.ask] {
            assert_eq!(p.scale(), 5, "{p}");
            assert!((p / Decimal::new(5, 5)).fract().is_zero());
        }
        assert!(q.ask - q.bid <= Decimal::new(20, 5));
        let y = e.quote(USDJPY, utc(WED_11)).unwrap();
        assert_eq!(y.last.scale(), 3, "{}", y.last);
        assert!((y.last / Decimal::new(5, 3)).fract().is_zero());
        assert!(q.bid_size >= 500_000);
        // Sunday evening, 18:00 New York: FX is trading for Monday.
        let sun = e.quote(EURUSD, utc("2025-07-20T22:00:00Z")).unwrap();
        assert_eq!(sun.state, MarketState::Regular);
        assert_eq!(sun.trading_day, d(2025, 7, 21));
    }

    #[test]
    fn es_futures_trade_above_the_index_in_quarter_points() {
        let (u, e) = setup();
        let at = utc(WED_11);
        let index = e.quote(11004968, at).unwrap();
        let spx = e.quote(SPX, at).unwrap();
        assert_eq!(index.last, spx.last, "the ES index follows the S&P 500");
        let mut previous = Decimal::ZERO;
        for f in u.futures("ES") {
            let q = e.quote(f.conid, at).unwrap();
            assert!(
                (q.last / Decimal::new(25, 2)).fract().is_zero(),
                "{}",
                q.last
            );
            assert_eq!(q.last.scale(), 2);
            assert!(q.last > spx.last, "contango");
            assert!(q.last > previous, "later contracts trade higher");
            previous = q.last;
            assert!(q.ask - q.bid <= Decimal::new(50, 2));
        }
        // Globex: trading on Sunday evening, for Monday.
        let front = u.futures("ES")[0].conid;
        let sun = e.quote(front, utc("2025-07-20T23:00:00Z")).unwrap();
        assert_eq!(sun.state, MarketState::Extended);
        assert_eq!(sun.trading_day, d(2025, 7, 21));
        assert!(sun.volume > 0);
    }

    #[test]
    fn prices_stay_near_their_reference_for_years() {
        let (u, e) = setup();
        for conid in [AAPL, SPY, EURUSD, 76792991] {
            let reference = u.get(conid).unwrap().reference_price.to_f64().unwrap();
            let mut t = utc("2024-01-03T16:00:00Z");
            while t < utc("2028-01-01T00:00:00Z") {
                let p = e.price(conid, t).unwrap().to_f64().unwrap();
                assert!((0.4..2.5).contains(&(p / reference)), "{conid} at {t}: {p}");
                t += Duration::days(3);
            }
        }
    }

    #[test]
    fn unknown_conids_have_no_prices() {
        let (_, e) = setup();
        assert!(e.quote(1, utc(WED_11)).is_none());
        assert!(e.price(1, utc(WED_11)).is_none());
        assert!(e.market_state(1, utc(WED_11)).is_none());
    }

    #[test]
    fn black_scholes_matches_known_values() {
        let c = black_scholes(Right::Call, 100.0, 100.0, 1.0, 0.05, 0.2);
        let p = black_scholes(Right::Put, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((c.price - 10.4506).abs() < 1e-3, "{}", c.price);
        assert!((p.price - 5.5735).abs() < 1e-3, "{}", p.price);
        assert!((c.delta - 0.6368).abs() < 1e-3);
        assert!((c.gamma - 0.018_76).abs() < 1e-4);
        assert!((c.vega - 0.3752).abs() < 1e-3);
        let expired = black_scholes(Right::Put, 90.0, 100.0, 0.0, 0.05, 0.2);
        assert_eq!((expired.price, expired.delta), (10.0, -1.0));
    }
}
