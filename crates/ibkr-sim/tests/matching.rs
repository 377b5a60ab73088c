//! The matching engine against the seeded price engine and the paper broker: every
//! order type and time in force, partial fills, brackets and OCA groups, typed
//! rejections and errors, and the broker's books agreeing with the fills.
//!
//! Expected instants and prices are found by scanning the price engine the way the
//! engine is documented to (one evaluation per second from the submission, the last
//! price for stops, the touch for limits), never hard-coded.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ibkr_sim::broker::{
    AccountConfig, AccountType, Broker, BrokerConfig, INDIVIDUAL_ACCOUNT, Side, money,
};
use ibkr_sim::instruments::{Right, Universe};
use ibkr_sim::matching::{
    Engine, EngineConfig, Event, Fill, NewOrder, OrderChanges, OrderError, OrderId, OrderKind,
    OrderStatus, Reject, Tif,
};
use ibkr_sim::prices::PriceEngine;
use rust_decimal::{Decimal, RoundingStrategy};

const AAPL: u32 = 265598;
const SPY: u32 = 756733;
const EURUSD: u32 = 12087792;
const SPX: u32 = 416904;
const ACCT: &str = INDIVIDUAL_ACCOUNT;
const AWAY: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Wednesday 16 July 2025, 11:00 New York: US regular hours.
fn at() -> DateTime<Utc> {
    utc("2025-07-16T15:00:00Z")
}

/// Wednesday's regular close, 16:00 New York.
fn close() -> DateTime<Utc> {
    utc("2025-07-16T20:00:00Z")
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

struct World {
    universe: Universe,
    prices: PriceEngine,
    broker: Broker,
    engine: Engine,
}

fn world() -> World {
    world_with(BrokerConfig::individual())
}

fn world_with(config: BrokerConfig) -> World {
    let universe = Universe::standard(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
    let prices = PriceEngine::new(42, &universe);
    let broker = Broker::new(config, &universe).unwrap();
    World {
        universe,
        prices,
        broker,
        engine: Engine::new(EngineConfig::default()),
    }
}

impl World {
    fn submit(&mut self, order: NewOrder, now: DateTime<Utc>) -> Result<OrderId, Reject> {
        self.engine.submit(order, now, &self.prices, &self.broker)
    }

    fn advance(&mut self, now: DateTime<Utc>) -> Vec<Event> {
        self.engine.advance(now, &self.prices, &mut self.broker)
    }

    fn status(&self, id: OrderId) -> OrderStatus {
        self.engine.order(id).unwrap().status
    }

    fn fills(&self, id: OrderId) -> Vec<Fill> {
        self.engine.order(id).unwrap().executions.clone()
    }

    fn last(&self, conid: u32, t: DateTime<Utc>) -> Decimal {
        self.prices.price(conid, t).unwrap()
    }

    fn ask(&self, conid: u32, t: DateTime<Utc>) -> Decimal {
        self.prices.quote(conid, t).unwrap().ask
    }

    fn bid(&self, conid: u32, t: DateTime<Utc>) -> Decimal {
        self.prices.quote(conid, t).unwrap().bid
    }

    fn position(&self, conid: u32) -> Decimal {
        self.broker
            .account(ACCT)
            .unwrap()
            .position(conid)
            .map_or(Decimal::ZERO, |p| p.quantity)
    }

    /// The first whole second from `from` (included) within `horizon` seconds where
    /// `pred` holds.
    fn first_second(
        &self,
        from: DateTime<Utc>,
        horizon: i64,
        mut pred: impl FnMut(DateTime<Utc>) -> bool,
    ) -> Option<DateTime<Utc>> {
        (0..=horizon).map(|k| from + secs(k)).find(|&t| pred(t))
    }

    /// The lowest and highest last price over `horizon` seconds from `from`.
    fn range(&self, conid: u32, from: DateTime<Utc>, horizon: i64) -> (Decimal, Decimal) {
        let prices: Vec<Decimal> = (0..=horizon)
            .map(|k| self.last(conid, from + secs(k)))
            .collect();
        (*prices.iter().min().unwrap(), *prices.iter().max().unwrap())
    }

    /// An AAPL call of the front month near the money.
    fn aapl_call(&self) -> u32 {
        let month = &self.universe.option_months(AAPL)[1];
        let spot = self.last(AAPL, at());
        self.universe
            .option_contracts(AAPL, &month.code, None, Some(Right::Call))
            .into_iter()
            .min_by_key(|i| (i.option_terms().unwrap().strike - spot).abs())
            .unwrap()
            .conid
    }

    fn es_front(&self) -> u32 {
        self.universe.futures("ES")[0].conid
    }
}

fn order(conid: u32, side: Side, q: &str, kind: OrderKind) -> NewOrder {
    NewOrder::new(ACCT, conid, side, d(q), kind)
}

fn cents(x: Decimal) -> Decimal {
    x.round_dp(2)
}

/// Statuses an order went through, from the events.
fn statuses(events: &[Event], id: OrderId) -> Vec<OrderStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StatusChanged { order, to, .. } if *order == id => Some(*to),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Order types

#[test]
fn a_market_order_fills_at_the_touch() {
    let mut w = world();
    let id = w
        .submit(order(AAPL, Side::Buy, "10", OrderKind::Market), at())
        .unwrap();
    assert_eq!(w.status(id), OrderStatus::PendingSubmit);
    assert_eq!(id, OrderId(1_234_567_890));
    let events = w.advance(at());
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.filled, d("10"));
    assert_eq!(o.remaining(), Decimal::ZERO);
    let f = &o.executions[0];
    assert_eq!((f.at, f.price), (at(), w.ask(AAPL, at())));
    assert_eq!(o.avg_price, Some(f.price));
    assert_eq!(f.commission, d("1.00"), "USD 0.005 a share, at least USD 1");
    assert_eq!(
        statuses(&events, id),
        [
            OrderStatus::PendingSubmit,
            OrderStatus::Submitted,
            OrderStatus::Filled
        ]
    );
    assert!(events.contains(&Event::Fill(f.clone())));
    assert_eq!(w.position(AAPL), d("110"));
    // A sell fills at the bid.
    let id = w
        .submit(
            order(AAPL, Side::Sell, "5", OrderKind::Market),
            at() + secs(3),
        )
        .unwrap();
    w.advance(at() + secs(3));
    assert_eq!(w.fills(id)[0].price, w.bid(AAPL, at() + secs(3)));
    assert_eq!(w.position(AAPL), d("105"));
}

#[test]
fn a_large_market_order_fills_partially_over_several_steps() {
    let mut w = world();
    let id = w
        .submit(order(AAPL, Side::Buy, "4000", OrderKind::Market), at())
        .unwrap();
    w.advance(at());
    let o = w.engine.order(id).unwrap();
    let first = w.prices.quote(AAPL, at()).unwrap();
    assert_eq!(
        o.status,
        OrderStatus::Submitted,
        "partly filled, still working"
    );
    assert_eq!(
        o.filled,
        Decimal::from(first.ask_size),
        "the displayed size"
    );
    assert_eq!(o.remaining(), d("4000") - o.filled);
    w.advance(at() + secs(60));
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert!(o.executions.len() >= 2, "{} fills", o.executions.len());
    for (k, f) in o.executions.iter().enumerate() {
        assert_eq!(f.at, at() + secs(k as i64), "one fill per one-second step");
        let q = w.prices.quote(AAPL, f.at).unwrap();
        assert_eq!(f.price, q.ask);
        assert!(f.quantity <= Decimal::from(q.ask_size));
        if k + 1 < o.executions.len() {
            assert_eq!(f.quantity, Decimal::from(q.ask_size));
        }
    }
    let total: Decimal = o.executions.iter().map(|f| f.quantity).sum();
    assert_eq!(total, d("4000"));
    let value: Decimal = o.executions.iter().map(|f| f.quantity * f.price).sum();
    let avg = (value / d("4000")).round_dp_with_strategy(8, AWAY);
    assert_eq!(o.avg_price.unwrap(), avg.normalize());
    // The minimum applies once per order: 4000 × 0.005 in all.
    let commission: Decimal = o.executions.iter().map(|f| f.commission).sum();
    assert_eq!(commission, d("20.00"));
    assert_eq!(o.commission, commission);
    assert_eq!(w.position(AAPL), d("4100"));
}

#[test]
fn a_limit_order_rests_until_the_touch_reaches_its_limit() {
    let mut w = world();
    let horizon = 7200;
    let last0 = w.last(AAPL, at());
    let (low, _) = w.range(AAPL, at(), horizon);
    assert!(
        low < last0 - d("0.20"),
        "AAPL must dip in the next two hours"
    );
    let limit = ((last0 + low) / d("2")).round_dp(2);
    assert!(w.ask(AAPL, at()) > limit);
    let expected = w
        .first_second(at(), horizon, |t| {
            w.last(AAPL, t) <= limit && w.ask(AAPL, t) <= limit
        })
        .expect("the ask reaches the limit");
    let id = w
        .submit(order(AAPL, Side::Buy, "100", OrderKind::Limit(limit)), at())
        .unwrap();
    w.advance(expected - secs(1));
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::Submitted);
    assert!(o.executions.is_empty());
    w.advance(expected + secs(10));
    let f = &w.fills(id)[0];
    assert_eq!(f.at, expected);
    assert_eq!(f.price, w.ask(AAPL, expected));
    assert!(f.price <= limit, "at the limit or better");
    assert_eq!(w.status(id), OrderStatus::Filled);
}

#[test]
fn a_stop_order_is_elected_when_the_last_price_crosses_it() {
    let mut w = world();
    let horizon = 7200;
    let last0 = w.last(AAPL, at());
    let (low, _) = w.range(AAPL, at(), horizon);
    assert!(low < last0 - d("0.20"));
    let stop = ((last0 + low) / d("2")).round_dp(2);
    let trigger = w
        .first_second(at(), horizon, |t| w.last(AAPL, t) <= stop)
        .unwrap();
    let id = w
        .submit(order(AAPL, Side::Sell, "50", OrderKind::Stop(stop)), at())
        .unwrap();
    let events = w.advance(trigger - secs(1));
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::PreSubmitted, "not yet elected");
    assert!(!o.triggered && o.executions.is_empty());
    assert_eq!(o.stop_price, Some(stop));
    assert_eq!(
        statuses(&events, id),
        [OrderStatus::PendingSubmit, OrderStatus::PreSubmitted]
    );
    let events = w.advance(trigger + secs(5));
    let f = &w.fills(id)[0];
    assert_eq!(f.at, trigger);
    assert_eq!(f.price, w.bid(AAPL, trigger), "then a market order");
    assert_eq!(
        statuses(&events, id),
        [OrderStatus::Submitted, OrderStatus::Filled]
    );
    assert_eq!(w.position(AAPL), d("50"));
}

#[test]
fn a_stop_limit_order_works_as_a_limit_once_elected() {
    let mut w = world();
    let horizon = 7200;
    let last0 = w.last(AAPL, at());
    let (_, high) = w.range(AAPL, at(), horizon);
    assert!(
        high > last0 + d("0.20"),
        "AAPL must rise in the next two hours"
    );
    let stop = ((last0 + high) / d("2")).round_dp(2);
    let limit = stop + d("0.03");
    let trigger = w
        .first_second(at(), horizon, |t| w.last(AAPL, t) >= stop)
        .unwrap();
    let fill_at = w
        .first_second(trigger, horizon, |t| w.ask(AAPL, t) <= limit)
        .unwrap();
    let id = w
        .submit(
            order(AAPL, Side::Buy, "100", OrderKind::StopLimit { stop, limit }),
            at(),
        )
        .unwrap();
    w.advance(trigger - secs(1));
    assert_eq!(w.status(id), OrderStatus::PreSubmitted);
    w.advance(fill_at + secs(5));
    let o = w.engine.order(id).unwrap();
    assert!(o.triggered);
    let f = &o.executions[0];
    assert_eq!(f.at, fill_at);
    assert_eq!(f.price, w.ask(AAPL, fill_at));
    assert!(f.price <= limit);
}

/// The instant a trailing stop is elected, simulated second by second from `from`,
/// and the stop in force each second before.
fn simulate_trail(
    w: &World,
    side: Side,
    from: DateTime<Utc>,
    horizon: i64,
    stop_of: impl Fn(Decimal) -> Decimal,
) -> (DateTime<Utc>, Vec<Decimal>) {
    let mut best = w.last(AAPL, from);
    let mut stops = Vec::new();
    for k in 0..=horizon {
        let t = from + secs(k);
        let last = w.last(AAPL, t);
        best = match side {
            Side::Sell => best.max(last),
            Side::Buy => best.min(last),
        };
        let stop = stop_of(best);
        let elected = match side {
            Side::Sell => last <= stop,
            Side::Buy => last >= stop,
        };
        if elected {
            return (t, stops);
        }
        stops.push(stop);
    }
    panic!("the trailing stop was never elected");
}

#[test]
fn a_trailing_stop_follows_the_best_price_and_triggers_on_the_retrace() {
    let mut w = world();
    let amount = d("0.25");
    let (trigger, stops) = simulate_trail(&w, Side::Sell, at(), 7200, |best| best - amount);
    assert!(trigger > at() + secs(10));
    let id = w
        .submit(
            order(
                AAPL,
                Side::Sell,
                "100",
                OrderKind::Trail {
                    amount,
                    percent: false,
                },
            ),
            at(),
        )
        .unwrap();
    let before = trigger - secs(1);
    w.advance(before);
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::PreSubmitted);
    assert_eq!(
        o.stop_price,
        stops.last().copied(),
        "the stop trails the high"
    );
    assert!(stops.last().unwrap() >= &stops[0]);
    w.advance(trigger + secs(5));
    let f = &w.fills(id)[0];
    assert_eq!(f.at, trigger);
    assert_eq!(f.price, w.bid(AAPL, trigger));
}

#[test]
fn a_trailing_stop_limit_by_percent_becomes_a_limit_at_the_stop_plus_offset() {
    let mut w = world();
    let pct = d("0.1");
    let offset = d("0.02");
    let (trigger, _) = simulate_trail(&w, Side::Buy, at(), 7200, |best| {
        (best * (Decimal::ONE + pct / d("100"))).round_dp_with_strategy(2, AWAY)
    });
    let id = w
        .submit(
            order(
                AAPL,
                Side::Buy,
                "100",
                OrderKind::TrailLimit {
                    amount: pct,
                    percent: true,
                    limit_offset: offset,
                },
            ),
            at(),
        )
        .unwrap();
    w.advance(trigger);
    let o = w.engine.order(id).unwrap();
    assert!(o.triggered);
    let limit = o.limit_price().unwrap();
    assert_eq!(limit, o.stop_price.unwrap() + offset);
    let fill_at = w
        .first_second(trigger, 7200, |t| w.ask(AAPL, t) <= limit)
        .unwrap();
    w.advance(fill_at + secs(1));
    let f = &w.fills(id)[0];
    assert_eq!(f.at, fill_at);
    assert!(f.price <= limit);
    assert_eq!(f.price, w.ask(AAPL, fill_at));
}

#[test]
fn a_midprice_order_fills_at_the_midpoint_within_its_cap() {
    let mut w = world();
    let id = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::MidPrice { cap: None }),
            at(),
        )
        .unwrap();
    w.advance(at());
    let q = w.prices.quote(AAPL, at()).unwrap();
    assert_eq!(w.fills(id)[0].price, (q.bid + q.ask) / d("2"));
    // Capped below the midpoint: waits until the midpoint comes down to the cap.
    let t0 = at() + secs(10);
    let prices = w.prices.clone();
    let mid = |t| {
        let q = prices.quote(AAPL, t).unwrap();
        (q.bid + q.ask) / d("2")
    };
    let horizon = 1800;
    let lowest = (0..=horizon).map(|k| mid(t0 + secs(k))).min().unwrap();
    let cap = ((mid(t0) + lowest) / d("2")).round_dp(2);
    assert!(mid(t0) > cap && lowest <= cap);
    let expected = w.first_second(t0, horizon, |t| mid(t) <= cap).unwrap();
    let id = w
        .submit(
            order(
                AAPL,
                Side::Buy,
                "10",
                OrderKind::MidPrice { cap: Some(cap) },
            ),
            t0,
        )
        .unwrap();
    w.advance(expected + secs(1));
    let f = &w.fills(id)[0];
    assert_eq!((f.at, f.price), (expected, mid(expected)));
    assert!(f.price <= cap);
}

#[test]
fn market_on_close_fills_at_the_closing_price() {
    let mut w = world();
    let id = w
        .submit(order(AAPL, Side::Buy, "25", OrderKind::Moc), at())
        .unwrap();
    w.advance(close() - secs(1));
    assert_eq!(w.status(id), OrderStatus::Submitted);
    assert!(w.fills(id).is_empty());
    w.advance(close() + secs(1));
    let f = &w.fills(id)[0];
    let closing = w.last(AAPL, close());
    assert_eq!((f.at, f.price, f.quantity), (close(), closing, d("25")));
    // The closing price is the next day's prior close.
    let thursday = w.prices.quote(AAPL, utc("2025-07-17T15:00:00Z")).unwrap();
    assert_eq!(thursday.prior_close, closing);
}

#[test]
fn limit_on_close_fills_only_when_the_close_satisfies_the_limit() {
    let mut w = world();
    let closing = w.last(AAPL, close());
    let fills = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Loc(closing + d("0.50"))),
            at(),
        )
        .unwrap();
    let misses = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Loc(closing - d("0.50"))),
            at(),
        )
        .unwrap();
    let gtc = w
        .submit(
            order(AAPL, Side::Sell, "10", OrderKind::Loc(closing + d("0.50"))).tif(Tif::Gtc),
            at(),
        )
        .unwrap();
    w.advance(close() + secs(1));
    assert_eq!(w.fills(fills)[0].price, closing);
    assert_eq!(w.status(fills), OrderStatus::Filled);
    let o = w.engine.order(misses).unwrap();
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(o.updated_at, close());
    assert!(o.executions.is_empty());
    // A GTC LOC waits for the next close.
    let o = w.engine.order(gtc).unwrap();
    assert_eq!(o.status, OrderStatus::Submitted);
    assert!(o.executions.is_empty());
}

// ---------------------------------------------------------------------------------------
// Time in force and trading hours

#[test]
fn day_orders_expire_at_the_close_and_gtc_orders_persist() {
    let mut w = world();
    let last0 = w.last(AAPL, at());
    let far = last0 - d("20");
    let (low, _) = w.range(AAPL, at(), (close() - at()).num_seconds());
    assert!(low > far);
    let day = w
        .submit(order(AAPL, Side::Buy, "100", OrderKind::Limit(far)), at())
        .unwrap();
    let gtc = w
        .submit(
            order(AAPL, Side::Buy, "100", OrderKind::Limit(far)).tif(Tif::Gtc),
            at(),
        )
        .unwrap();
    let late = w
        .submit(
            order(AAPL, Side::Buy, "100", OrderKind::Limit(far)).outside_rth(true),
            at(),
        )
        .unwrap();
    w.advance(close() - secs(1));
    for id in [day, gtc, late] {
        assert_eq!(w.status(id), OrderStatus::Submitted);
    }
    let events = w.advance(close() + secs(1));
    let o = w.engine.order(day).unwrap();
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(o.updated_at, close());
    assert_eq!(o.reason.as_deref(), Some("expired"));
    assert_eq!(o.remaining(), Decimal::ZERO);
    assert_eq!(statuses(&events, day), [OrderStatus::Cancelled]);
    // GTC waits outside regular hours; an outside-RTH DAY order works until 20:00.
    assert_eq!(w.status(gtc), OrderStatus::PreSubmitted);
    assert_eq!(w.status(late), OrderStatus::Submitted);
    let extended_close = utc("2025-07-17T00:00:00Z");
    w.advance(extended_close + secs(1));
    let o = w.engine.order(late).unwrap();
    assert_eq!(
        (o.status, o.updated_at),
        (OrderStatus::Cancelled, extended_close)
    );
    // The next morning the GTC order works again.
    w.advance(utc("2025-07-17T13:30:01Z"));
    assert_eq!(w.status(gtc), OrderStatus::Submitted);
}

#[test]
fn a_day_order_placed_after_the_close_is_good_for_the_next_session() {
    let mut w = world();
    let evening = utc("2025-07-16T22:00:00Z");
    let far = w.last(AAPL, evening) - d("20");
    let id = w
        .submit(order(AAPL, Side::Buy, "1", OrderKind::Limit(far)), evening)
        .unwrap();
    w.advance(evening + secs(1));
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.status, OrderStatus::PreSubmitted);
    assert_eq!(o.expires_at, Some(utc("2025-07-17T20:00:00Z")));
}

#[test]
fn ioc_orders_cancel_what_did_not_fill_at_once() {
    let mut w = world();
    let far = w.last(AAPL, at()) - d("5");
    let nothing = w
        .submit(
            order(AAPL, Side::Buy, "100", OrderKind::Limit(far)).tif(Tif::Ioc),
            at(),
        )
        .unwrap();
    let partial = w
        .submit(
            order(AAPL, Side::Buy, "4000", OrderKind::Market).tif(Tif::Ioc),
            at(),
        )
        .unwrap();
    w.advance(at() + secs(30));
    let o = w.engine.order(nothing).unwrap();
    assert_eq!(
        (o.status, o.filled),
        (OrderStatus::Cancelled, Decimal::ZERO)
    );
    assert_eq!(o.updated_at, at());
    let o = w.engine.order(partial).unwrap();
    let size = Decimal::from(w.prices.quote(AAPL, at()).unwrap().ask_size);
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(o.filled, size, "what the book showed at once");
    assert_eq!(o.executions.len(), 1);
    assert_eq!(w.position(AAPL), d("100") + size);
    // Stops cannot be IOC.
    assert!(matches!(
        w.submit(
            order(AAPL, Side::Sell, "1", OrderKind::Stop(far)).tif(Tif::Ioc),
            at()
        ),
        Err(Reject::UnsupportedTif { tif: Tif::Ioc, .. })
    ));
}

#[test]
fn opg_orders_fill_at_the_open_or_are_cancelled() {
    let mut w = world();
    let evening = utc("2025-07-16T22:00:00Z");
    let open = utc("2025-07-17T13:30:00Z");
    let opening = w.last(AAPL, open);
    let market = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Market).tif(Tif::Opg),
            evening,
        )
        .unwrap();
    let low = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Limit(opening - d("1"))).tif(Tif::Opg),
            evening,
        )
        .unwrap();
    w.advance(open - secs(1));
    assert_eq!(w.status(market), OrderStatus::Submitted);
    assert!(w.fills(market).is_empty());
    w.advance(open + secs(1));
    let f = &w.fills(market)[0];
    assert_eq!((f.at, f.price, f.quantity), (open, opening, d("10")));
    let o = w.engine.order(low).unwrap();
    assert_eq!((o.status, o.updated_at), (OrderStatus::Cancelled, open));
    assert!(matches!(
        w.submit(
            order(AAPL, Side::Buy, "1", OrderKind::Moc).tif(Tif::Opg),
            evening
        ),
        Err(Reject::UnsupportedTif { tif: Tif::Opg, .. })
    ));
}

#[test]
fn outside_regular_hours_orders_wait_unless_outside_rth() {
    let mut w = world();
    let premarket = utc("2025-07-16T12:00:00Z"); // 08:00 New York
    let open = utc("2025-07-16T13:30:00Z");
    let waits = w
        .submit(order(AAPL, Side::Buy, "10", OrderKind::Market), premarket)
        .unwrap();
    let works = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Market).outside_rth(true),
            premarket,
        )
        .unwrap();
    w.advance(premarket + secs(30));
    assert_eq!(w.status(waits), OrderStatus::PreSubmitted);
    let f = &w.fills(works)[0];
    assert_eq!((f.at, f.price), (premarket, w.ask(AAPL, premarket)));
    w.advance(open + secs(5));
    let f = &w.fills(waits)[0];
    assert_eq!((f.at, f.price), (open, w.ask(AAPL, open)));
}

// ---------------------------------------------------------------------------------------
// Brackets and OCA groups

#[test]
fn bracket_children_activate_when_the_parent_fills_and_cancel_their_sibling() {
    let mut w = world();
    let horizon = 7200;
    let last0 = w.last(AAPL, at());
    let (low, _) = w.range(AAPL, at(), horizon);
    assert!(low < last0 - d("0.20"));
    let entry = ((last0 + low) / d("2")).round_dp(2);
    let entry_at = w
        .first_second(at(), horizon, |t| {
            w.last(AAPL, t) <= entry && w.ask(AAPL, t) <= entry
        })
        .unwrap();
    let parent = w
        .submit(
            order(AAPL, Side::Buy, "100", OrderKind::Limit(entry)).coid("entry"),
            at(),
        )
        .unwrap();
    // A take-profit that would fill at once if it were active, and a far stop-loss.
    let profit = w
        .submit(
            order(AAPL, Side::Sell, "100", OrderKind::Limit(last0 - d("5")))
                .parent(parent)
                .tif(Tif::Gtc),
            at(),
        )
        .unwrap();
    let loss = w
        .submit(
            order(AAPL, Side::Sell, "100", OrderKind::Stop(last0 - d("20")))
                .parent(parent)
                .tif(Tif::Gtc),
            at(),
        )
        .unwrap();
    w.advance(entry_at - secs(1));
    assert_eq!(w.status(parent), OrderStatus::Submitted);
    for child in [profit, loss] {
        let o = w.engine.order(child).unwrap();
        assert_eq!(o.status, OrderStatus::PreSubmitted);
        assert!(o.is_waiting_for_parent() && o.executions.is_empty());
    }
    w.advance(entry_at + secs(5));
    let p = w.engine.order(parent).unwrap();
    assert_eq!(
        (p.status, p.executions[0].at),
        (OrderStatus::Filled, entry_at)
    );
    let tp = w.engine.order(profit).unwrap();
    assert_eq!(tp.status, OrderStatus::Filled);
    assert_eq!(
        tp.executions[0].at, entry_at,
        "activated with the parent's fill"
    );
    assert_eq!(tp.executions[0].price, w.bid(AAPL, entry_at));
    let sl = w.engine.order(loss).unwrap();
    assert_eq!(
        (sl.status, sl.updated_at),
        (OrderStatus::Cancelled, entry_at)
    );
    assert!(sl.executions.is_empty());
    assert_eq!(w.position(AAPL), d("100"));
}

#[test]
fn children_of_a_cancelled_parent_are_cancelled() {
    let mut w = world();
    let far = w.last(AAPL, at()) - d("20");
    let parent = w
        .submit(order(AAPL, Side::Buy, "10", OrderKind::Limit(far)), at())
        .unwrap();
    let child = w
        .submit(
            order(AAPL, Side::Sell, "10", OrderKind::Limit(far + d("30"))).parent(parent),
            at(),
        )
        .unwrap();
    w.advance(at() + secs(2));
    w.engine.cancel(parent, at() + secs(2)).unwrap();
    w.advance(at() + secs(3));
    assert_eq!(w.status(parent), OrderStatus::Cancelled);
    assert_eq!(w.status(child), OrderStatus::Cancelled);
    assert!(matches!(
        w.submit(
            order(AAPL, Side::Sell, "10", OrderKind::Market).parent(parent),
            at() + secs(3)
        ),
        Err(Reject::ParentNotWorking { .. })
    ));
}

#[test]
fn a_fill_in_an_oca_group_cancels_the_others() {
    let mut w = world();
    let last0 = w.last(AAPL, at());
    let marketable = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Limit(last0 + d("1"))).oca_group("pick-one"),
            at(),
        )
        .unwrap();
    let resting = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Limit(last0 - d("20"))).oca_group("pick-one"),
            at(),
        )
        .unwrap();
    let other_group = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Limit(last0 - d("20"))).oca_group("other"),
            at(),
        )
        .unwrap();
    w.advance(at() + secs(1));
    assert_eq!(w.status(marketable), OrderStatus::Filled);
    let o = w.engine.order(resting).unwrap();
    assert_eq!((o.status, o.updated_at), (OrderStatus::Cancelled, at()));
    assert!(o.reason.as_deref().unwrap().contains("pick-one"));
    assert_eq!(w.status(other_group), OrderStatus::Submitted);
}

// ---------------------------------------------------------------------------------------
// Cancel and modify

#[test]
fn cancelling_a_filled_order_is_refused() {
    let mut w = world();
    let id = w
        .submit(order(AAPL, Side::Buy, "1", OrderKind::Market), at())
        .unwrap();
    w.advance(at());
    assert_eq!(
        w.engine.cancel(id, at() + secs(1)),
        Err(OrderError::AlreadyFilled { id })
    );
    assert!(
        OrderError::AlreadyFilled { id }
            .to_string()
            .contains("already filled")
    );
    assert_eq!(
        w.engine.cancel(OrderId(7), at()),
        Err(OrderError::UnknownOrder { id: OrderId(7) })
    );
}

#[test]
fn a_cancel_is_pending_until_the_next_evaluation_and_cannot_be_repeated() {
    let mut w = world();
    let far = w.last(AAPL, at()) - d("20");
    let id = w
        .submit(order(AAPL, Side::Buy, "10", OrderKind::Limit(far)), at())
        .unwrap();
    w.advance(at() + secs(5));
    w.engine.cancel(id, at() + secs(5)).unwrap();
    assert_eq!(w.status(id), OrderStatus::PendingCancel);
    assert_eq!(
        w.engine.cancel(id, at() + secs(5)),
        Err(OrderError::AlreadyCancelled { id })
    );
    let events = w.advance(at() + secs(6));
    assert_eq!(
        statuses(&events, id),
        [OrderStatus::PendingCancel, OrderStatus::Cancelled]
    );
    let o = w.engine.order(id).unwrap();
    assert_eq!(o.updated_at, at() + secs(5));
    assert_eq!(
        w.engine.cancel(id, at() + secs(7)),
        Err(OrderError::AlreadyCancelled { id })
    );
}

#[test]
fn an_order_may_still_fill_before_its_cancel_takes_effect() {
    let mut w = world();
    let id = w
        .submit(order(AAPL, Side::Buy, "4000", OrderKind::Market), at())
        .unwrap();
    // The engine has not yet reached the cancel's instant: the order works until then.
    w.engine.cancel(id, at() + secs(1)).unwrap();
    let events = w.advance(at() + secs(5));
    let o = w.engine.order(id).unwrap();
    let size = Decimal::from(w.prices.quote(AAPL, at()).unwrap().ask_size);
    assert_eq!((o.status, o.filled), (OrderStatus::Cancelled, size));
    assert_eq!(o.updated_at, at() + secs(1));
    assert_eq!(o.remaining(), Decimal::ZERO);
    assert_eq!(
        statuses(&events, id),
        [
            OrderStatus::PendingSubmit,
            OrderStatus::PendingCancel,
            OrderStatus::Cancelled
        ]
    );
    assert_eq!(w.position(AAPL), d("100") + size);
}

#[test]
fn modifying_a_cancelled_or_filled_order_is_refused() {
    let mut w = world();
    let far = w.last(AAPL, at()) - d("20");
    let id = w
        .submit(order(AAPL, Side::Buy, "10", OrderKind::Limit(far)), at())
        .unwrap();
    w.engine.cancel(id, at()).unwrap();
    w.advance(at() + secs(1));
    let change = OrderChanges::new().price(far + d("1"));
    assert_eq!(
        w.engine.modify(id, change.clone(), at() + secs(1)),
        Err(OrderError::AlreadyCancelled { id })
    );
    let filled = w
        .submit(
            order(AAPL, Side::Buy, "1", OrderKind::Market),
            at() + secs(1),
        )
        .unwrap();
    w.advance(at() + secs(1));
    assert_eq!(
        w.engine.modify(filled, change, at() + secs(2)),
        Err(OrderError::AlreadyFilled { id: filled })
    );
}

#[test]
fn modifying_a_working_order_changes_how_it_fills() {
    let mut w = world();
    let last0 = w.last(AAPL, at());
    let id = w
        .submit(
            order(AAPL, Side::Buy, "10", OrderKind::Limit(last0 - d("20"))),
            at(),
        )
        .unwrap();
    w.advance(at() + secs(10));
    assert!(w.fills(id).is_empty());
    // Bad changes are typed.
    assert!(matches!(
        w.engine
            .modify(id, OrderChanges::new().aux_price(d("1")), at() + secs(10)),
        Err(OrderError::BadChange { .. })
    ));
    assert!(matches!(
        w.engine
            .modify(id, OrderChanges::new().price(d("230.005")), at() + secs(10)),
        Err(OrderError::Invalid(Reject::OffTick { .. }))
    ));
    assert!(matches!(
        w.engine
            .modify(id, OrderChanges::new().quantity(d("-1")), at() + secs(10)),
        Err(OrderError::Invalid(Reject::BadQuantity { .. }))
    ));
    // A marketable limit for more shares fills at the next evaluation.
    let t = at() + secs(10);
    let price = w.last(AAPL, t) + d("1");
    w.engine
        .modify(id, OrderChanges::new().price(price).quantity(d("20")), t)
        .unwrap();
    let o = w.engine.order(id).unwrap();
    assert_eq!((o.kind, o.quantity), (OrderKind::Limit(price), d("20")));
    w.advance(t + secs(1));
    let o = w.engine.order(id).unwrap();
    assert_eq!((o.status, o.filled), (OrderStatus::Filled, d("20")));
    assert_eq!(o.executions[0].price, w.ask(AAPL, t));
}

#[test]
fn cancel_all_cancels_every_working_order_of_the_account() {
    let mut w = world();
    let far = w.last(AAPL, at()) - d("20");
    let a = w
        .submit(order(AAPL, Side::Buy, "1", OrderKind::Limit(far)), at())
        .unwrap();
    let b = w
        .submit(order(SPY, Side::Sell, "1", OrderKind::Moc), at())
        .unwrap();
    w.advance(at() + secs(1));
    let mut ids = w.engine.cancel_all(ACCT);
    ids.sort();
    assert_eq!(ids, [a, b]);
    w.advance(at() + secs(2));
    assert_eq!(w.status(a), OrderStatus::Cancelled);
    assert_eq!(w.status(b), OrderStatus::Cancelled);
    assert!(w.engine.cancel_all(ACCT).is_empty());
}

// ---------------------------------------------------------------------------------------
// Rejections

#[test]
fn a_duplicate_client_order_id_is_rejected() {
    let mut w = world();
    let first = w
        .submit(
            order(AAPL, Side::Buy, "1", OrderKind::Market).coid("abc-1"),
            at(),
        )
        .unwrap();
    assert_eq!(
        w.submit(
            order(SPY, Side::Buy, "1", OrderKind::Market).coid("abc-1"),
            at()
        ),
        Err(Reject::DuplicateCoid {
            account: ACCT.into(),
            coid: "abc-1".into()
        })
    );
    assert_eq!(w.engine.find_by_coid(ACCT, "abc-1").unwrap().id, first);
    assert!(w.engine.find_by_coid(ACCT, "abc-2").is_none());
    // Orders without a client id never clash.
    w.submit(order(AAPL, Side::Buy, "1", OrderKind::Market), at())
        .unwrap();
    w.submit(order(AAPL, Side::Buy, "1", OrderKind::Market), at())
        .unwrap();
}

#[test]
fn an_order_the_account_cannot_afford_is_rejected() {
    let config = BrokerConfig::new()
        .account(AccountConfig::new("U1", AccountType::Individual, "USD").cash("USD", d("10000")));
    let mut w = world_with(config);
    let before = w.broker.valuation_at("U1", &w.prices, at()).unwrap();
    let big = NewOrder::new("U1", AAPL, Side::Buy, d("1000"), OrderKind::Market);
    match w.submit(big, at()) {
        Err(Reject::InsufficientFunds {
            account,
            required,
            available,
            currency,
        }) => {
            assert_eq!((account.as_str(), currency.as_str()), ("U1", "USD"));
            assert_eq!(available, before.summary.available_funds);
            assert!(required > available);
        }
        other => panic!("expected insufficient funds, got {other:?}"),
    }
    // Twice the cash is within the 50 % initial margin; a bit more is not.
    let price = w.ask(AAPL, at());
    let fits = (d("19000") / price).floor();
    let too_many = (d("20500") / price).ceil();
    w.submit(
        NewOrder::new("U1", AAPL, Side::Buy, fits, OrderKind::Market),
        at(),
    )
    .unwrap();
    assert!(matches!(
        w.submit(
            NewOrder::new("U1", AAPL, Side::Buy, too_many, OrderKind::Market),
            at()
        ),
        Err(Reject::InsufficientFunds { .. })
    ));
}

#[test]
fn invalid_orders_get_typed_rejections() {
    let mut w = world();
    let t = at();
    let r = |w: &mut World, o: NewOrder| w.submit(o, t).unwrap_err();
    assert_eq!(
        r(&mut w, order(7, Side::Buy, "1", OrderKind::Market)),
        Reject::UnknownContract { conid: 7 }
    );
    assert!(matches!(
        r(&mut w, order(SPX, Side::Buy, "1", OrderKind::Market)),
        Reject::NotTradable { conid: SPX, .. }
    ));
    assert!(matches!(
        r(
            &mut w,
            NewOrder::new("DU0000000", AAPL, Side::Buy, d("1"), OrderKind::Market)
        ),
        Reject::UnknownAccount { .. }
    ));
    for q in ["0", "-5"] {
        assert!(matches!(
            r(&mut w, order(AAPL, Side::Buy, q, OrderKind::Market)),
            Reject::BadQuantity { .. }
        ));
    }
    let call = w.aapl_call();
    let es = w.es_front();
    for (conid, kind) in [
        (call, OrderKind::Market),
        (es, OrderKind::Market),
        (AAPL, OrderKind::Moc),
    ] {
        assert!(
            matches!(
                r(&mut w, order(conid, Side::Buy, "1.5", kind)),
                Reject::BadQuantity { .. }
            ),
            "{conid} {kind}"
        );
    }
    assert!(matches!(
        r(&mut w, order(AAPL, Side::Buy, "0.00005", OrderKind::Market)),
        Reject::BadQuantity { .. }
    ));
    assert_eq!(
        r(
            &mut w,
            order(AAPL, Side::Buy, "1", OrderKind::Limit(d("230.005")))
        ),
        Reject::OffTick {
            what: "limit price",
            price: d("230.005"),
            tick: d("0.01")
        }
    );
    assert!(matches!(
        r(
            &mut w,
            order(AAPL, Side::Buy, "1", OrderKind::Limit(d("-1")))
        ),
        Reject::BadPrice { .. }
    ));
    assert!(matches!(
        r(
            &mut w,
            order(
                AAPL,
                Side::Sell,
                "1",
                OrderKind::Trail {
                    amount: d("100"),
                    percent: true
                }
            )
        ),
        Reject::BadPrice { .. }
    ));
    assert_eq!(
        r(
            &mut w,
            order(AAPL, Side::Sell, "1", OrderKind::Market).parent(OrderId(42))
        ),
        Reject::UnknownParent {
            parent: OrderId(42)
        }
    );
    assert!(
        r(&mut w, order(SPX, Side::Buy, "1", OrderKind::Market))
            .to_string()
            .contains("not tradable")
    );
    // Nothing refused was recorded.
    assert!(w.engine.orders(ACCT).is_empty());
}

#[test]
fn fractional_shares_and_cash_quantities() {
    let mut w = world();
    let half = w
        .submit(order(AAPL, Side::Buy, "0.5", OrderKind::Market), at())
        .unwrap();
    let ask = w.ask(AAPL, at());
    let cash = w
        .submit(
            NewOrder::new(ACCT, AAPL, Side::Buy, Decimal::ZERO, OrderKind::Market)
                .cash_qty(d("1000")),
            at(),
        )
        .unwrap();
    let expected = (d("1000") / ask).round_dp_with_strategy(4, RoundingStrategy::ToZero);
    assert_eq!(w.engine.order(cash).unwrap().quantity, expected);
    w.advance(at());
    let f = &w.fills(half)[0];
    assert_eq!(f.quantity, d("0.5"));
    // 1 % of a small trade's value caps the USD 1 minimum.
    assert_eq!(
        f.commission,
        d("1.00").min(cents(d("0.5") * f.price / d("100")))
    );
    assert_eq!(w.status(cash), OrderStatus::Filled);
    assert_eq!(w.position(AAPL), d("100.5") + expected);
    let off = EngineConfig::default().fractional_shares(false);
    let mut w2 = world();
    w2.engine = Engine::new(off);
    assert!(matches!(
        w2.submit(order(AAPL, Side::Buy, "0.5", OrderKind::Market), at()),
        Err(Reject::BadQuantity { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// The broker's books

#[test]
fn cash_and_positions_change_exactly_by_the_fills_and_commissions() {
    let mut w = world();
    let call = w.aapl_call();
    let es = w.es_front();
    let before = w.broker.account(ACCT).unwrap().clone();
    let orders = [
        (AAPL, Side::Buy, "4000", d("20.00")),
        (SPY, Side::Sell, "20", d("1.00")),
        (EURUSD, Side::Buy, "10000", d("2.00")),
        (call, Side::Buy, "3", d("1.95")),
        (es, Side::Buy, "2", d("1.70")),
    ];
    let mut ids = Vec::new();
    for (conid, side, q, _) in orders {
        ids.push(
            w.submit(order(conid, side, q, OrderKind::Market), at())
                .unwrap(),
        );
    }
    w.advance(at() + secs(120));
    let after = w.broker.account(ACCT).unwrap().clone();
    let mut fills: Vec<Fill> = Vec::new();
    for (id, (conid, side, q, commission)) in ids.iter().zip(orders) {
        let o = w.engine.order(*id).unwrap();
        assert_eq!(o.status, OrderStatus::Filled, "{conid}");
        assert_eq!(o.commission, commission, "{conid}: the fixed schedule");
        let moved = after.position(conid).map_or(Decimal::ZERO, |p| p.quantity)
            - before.position(conid).map_or(Decimal::ZERO, |p| p.quantity);
        if conid == EURUSD {
            assert_eq!(moved, Decimal::ZERO, "FX holds no position");
        } else {
            assert_eq!(moved, side.sign() * d(q), "{conid}");
        }
        fills.extend(o.executions.iter().cloned());
    }
    // The broker booked exactly the engine's fills.
    let booked = &after.executions()[before.executions().len()..];
    assert_eq!(booked.len(), fills.len());
    let mut usd = Decimal::ZERO;
    let mut eur = Decimal::ZERO;
    for f in &fills {
        let b = booked
            .iter()
            .find(|b| {
                b.conid == f.conid && b.at == f.at && b.quantity == f.quantity && b.price == f.price
            })
            .expect("a booked execution for each fill");
        assert_eq!((b.side, b.commission), (f.side, f.commission));
        let inst = w.universe.get(f.conid).unwrap();
        // Futures move cash by the broker's own convention (realized P&L, with
        // their commissions when they close); everything else settles in full.
        usd += if f.conid == es {
            assert_eq!(b.cash_change, b.realized_pnl);
            b.cash_change
        } else {
            money(-f.side.sign() * f.quantity * f.price * inst.multiplier - f.commission)
        };
        if f.conid == EURUSD {
            eur += money(f.side.sign() * f.quantity);
        }
    }
    assert_eq!(after.cash("USD") - before.cash("USD"), usd);
    assert_eq!(after.cash("EUR") - before.cash("EUR"), eur);
    // And the engine's lookup agrees.
    let listed = w.engine.executions(ACCT, at());
    assert_eq!(listed.len(), fills.len());
    assert!(listed.windows(2).all(|p| p[0].at <= p[1].at));
    assert!(w.engine.executions(ACCT, at() + secs(3600)).is_empty());
    assert_eq!(w.engine.orders(ACCT).len(), 5);
}

#[test]
fn the_same_requests_give_the_same_events() {
    let run = || {
        let mut w = world();
        let last0 = w.last(AAPL, at());
        w.submit(order(AAPL, Side::Buy, "5000", OrderKind::Market), at())
            .unwrap();
        w.submit(
            order(
                SPY,
                Side::Sell,
                "10",
                OrderKind::Trail {
                    amount: d("0.5"),
                    percent: false,
                },
            )
            .tif(Tif::Gtc),
            at(),
        )
        .unwrap();
        w.submit(
            order(AAPL, Side::Sell, "10", OrderKind::Limit(last0 + d("0.3"))),
            at() + secs(5),
        )
        .unwrap();
        let mut events = w.advance(at() + secs(10));
        events.extend(w.advance(at() + Duration::minutes(30)));
        (events, w.broker.account(ACCT).unwrap().clone())
    };
    let (e1, a1) = run();
    let (e2, a2) = run();
    assert_eq!(e1, e2);
    assert_eq!(a1, a2);
    assert!(e1.iter().filter(|e| matches!(e, Event::Fill(_))).count() >= 2);
}

#[test]
fn advancing_over_a_weekend_is_cheap_and_keeps_gtc_orders() {
    let mut w = world();
    let friday = utc("2025-07-18T19:00:00Z");
    let far = w.last(AAPL, friday) - d("30");
    let id = w
        .submit(
            order(AAPL, Side::Buy, "1", OrderKind::Limit(far)).tif(Tif::Gtc),
            friday,
        )
        .unwrap();
    let started = std::time::Instant::now();
    w.advance(utc("2025-07-21T13:00:00Z"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(w.status(id), OrderStatus::PreSubmitted);
    assert_eq!(w.engine.now(), Some(utc("2025-07-21T13:00:00Z")));
}
