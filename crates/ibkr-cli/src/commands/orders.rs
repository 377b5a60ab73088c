//! Orders from the shell: `order buy|sell|bracket|status|modify|cancel`, `orders`
//! (live orders, once or with `--watch`) and `trades`.
//!
//! Every placement carries a customer order id (cOID), printed before the order is
//! sent. IBKR's prompts are shown in full; at a terminal they are answered y/N, and
//! without one they are refused (the order is declined, nothing is placed) unless
//! `--yes` or `--accept IDS` confirm them. An outcome the library cannot establish
//! (the answer was lost and the order was not found by its cOID) is reported with
//! the cOID and exit code 4: check `ibkr orders`, never send it again blindly.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Cell, CellAlignment};
use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::contracts::Conid;
use ibkr_api::model::orders::{
    LiveOrder, LiveOrders, LiveOrdersQuery, LooseDecimal, OrderId, OrderRequest, OrderResponse,
    OrderStatusDetail, OrderType, OrdersRequest, PromptId, Side, Tif, Trade, TrailingType,
};
use ibkr_api::orders::{Certainty, MAX_REPLY_ROUNDS, Trail, classify_failure};
use ibkr_api::{Client, Decimal, Error, PlacedOrder, Placement, ReplyId};
use serde_json::{Value, json};

use crate::commands::market::{Which, conid_of};
use crate::commands::portfolio::AccountArg;
use crate::output::{Output, key_values, opt, table, yes_no};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Exit code when a prompt was not confirmed: nothing was placed or changed.
const EXIT_NOT_CONFIRMED: u8 = 3;
/// Exit code when the outcome is unknown: the order may exist; do not resend it.
const EXIT_UNKNOWN: u8 = 4;
/// IBKR allows one live-orders request per 5 seconds.
const WATCH_EVERY: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------
// Arguments

/// `ibkr order ...`.
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Buy: a market order unless a price flag says otherwise.
    Buy(PlaceArgs),
    /// Sell: a market order unless a price flag says otherwise.
    Sell(PlaceArgs),
    /// An entry order with a take-profit and/or a stop-loss attached, in one request.
    Bracket(BracketArgs),
    /// One order in detail.
    Status(StatusArgs),
    /// Change a working order's price, stop, quantity or time in force.
    Modify(ModifyArgs),
    /// Cancel an order, or every working order with --all.
    Cancel(CancelArgs),
}

/// How IBKR's prompts are answered.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfirmArgs {
    /// Confirm every prompt IBKR raises about this order.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Confirm prompts with these ids only, e.g. o354,o163 (others are asked at a
    /// terminal, refused without one).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub accept: Vec<String>,
}

/// Arguments of `ibkr order buy|sell`.
#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// A symbol or a conid.
    pub symbol: String,
    /// Units to trade (shares, contracts); with --cash, an amount of money.
    pub quantity: Decimal,
    /// Limit price (LMT); with --stop, a stop-limit (STOP_LIMIT); with --trail and
    /// --stop, a trailing stop limit (TRAILLMT).
    #[arg(long, value_name = "P")]
    pub limit: Option<Decimal>,
    /// Stop price (STP); with --limit, a stop-limit.
    #[arg(long, value_name = "P")]
    pub stop: Option<Decimal>,
    /// A trailing stop (TRAIL) this far behind the price: an amount (1.50) or a
    /// percentage (2%).
    #[arg(long, value_name = "AMOUNT|PCT%", value_parser = parse_trail)]
    pub trail: Option<Trail>,
    /// Trailing stop limit (TRAILLMT): the limit this far beyond the stop (--stop).
    #[arg(long, value_name = "OFFSET", requires_all = ["trail", "stop"], conflicts_with = "limit")]
    pub trail_limit_offset: Option<Decimal>,
    /// A midprice order (MIDPRICE): fills at the midpoint or better.
    #[arg(long, conflicts_with_all = ["limit", "stop", "trail"])]
    pub midprice: bool,
    /// The highest (buy) or lowest (sell) price of a midprice order.
    #[arg(long, value_name = "P", requires = "midprice")]
    pub cap: Option<Decimal>,
    /// Market on close (MOC).
    #[arg(long, conflicts_with_all = ["limit", "stop", "trail", "midprice", "loc"])]
    pub moc: bool,
    /// Limit on close (LOC) at this price.
    #[arg(long, value_name = "P", conflicts_with_all = ["limit", "stop", "trail", "midprice"])]
    pub loc: Option<Decimal>,
    #[command(flatten)]
    pub common: TicketArgs,
    /// QUANTITY is an amount of money (cashQty), for market and limit orders.
    #[arg(long)]
    pub cash: bool,
    #[command(flatten)]
    pub which: Which,
}

/// What every placement takes besides its prices.
#[derive(Debug, Args, Clone)]
pub struct TicketArgs {
    /// Time in force: DAY, GTC, IOC or OPG.
    #[arg(long, default_value = "DAY", value_parser = parse_tif)]
    pub tif: Tif,
    /// May execute outside regular trading hours.
    #[arg(long)]
    pub outside_rth: bool,
    /// The customer order id (unique; one is made when not given).
    #[arg(long, value_name = "ID")]
    pub coid: Option<String>,
    /// Preview cost, commission and margin; place nothing.
    #[arg(long)]
    pub whatif: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    #[command(flatten)]
    pub account: AccountArg,
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Arguments of `ibkr order bracket`.
#[derive(Debug, Args)]
pub struct BracketArgs {
    /// buy or sell.
    pub side: SideArg,
    /// A symbol or a conid.
    pub symbol: String,
    /// Units to trade.
    pub quantity: Decimal,
    /// Limit price of the entry.
    #[arg(long, value_name = "P")]
    pub limit: Decimal,
    /// The take-profit: a limit order on the other side at this price.
    #[arg(long, value_name = "P")]
    pub take_profit: Option<Decimal>,
    /// The stop-loss: a stop order on the other side at this price.
    #[arg(long, value_name = "P")]
    pub stop_loss: Option<Decimal>,
    #[command(flatten)]
    pub common: TicketArgs,
    #[command(flatten)]
    pub which: Which,
}

/// Arguments of `ibkr order status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The order id.
    pub id: OrderId,
}

/// Arguments of `ibkr order modify`.
#[derive(Debug, Args)]
pub struct ModifyArgs {
    /// The order id.
    pub id: OrderId,
    /// New limit price (limit, stop-limit, trailing stop limit, LOC; a midprice cap).
    #[arg(long, value_name = "P")]
    pub limit: Option<Decimal>,
    /// New stop price (stop, stop-limit, trailing stop limit).
    #[arg(long, value_name = "P")]
    pub stop: Option<Decimal>,
    /// New total quantity.
    #[arg(long, value_name = "N")]
    pub qty: Option<Decimal>,
    /// New time in force: DAY, GTC, IOC or OPG.
    #[arg(long, value_parser = parse_tif)]
    pub tif: Option<Tif>,
    /// The trailing amount (1.50) or percentage (2%); trailing orders need it, as
    /// IBKR's order status does not report it.
    #[arg(long, value_name = "AMOUNT|PCT%", value_parser = parse_trail)]
    pub trail: Option<Trail>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    /// The order's account, when its status does not name it.
    #[command(flatten)]
    pub account: AccountArg,
}

/// Arguments of `ibkr order cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The order id.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<OrderId>,
    /// Cancel every working order of the account.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub account: AccountArg,
}

/// Arguments of `ibkr orders`.
#[derive(Debug, Args)]
pub struct OrdersArgs {
    /// Refresh every 5 seconds (IBKR's limit for this call) until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Only working orders.
    #[arg(long)]
    pub working: bool,
    #[command(flatten)]
    pub account: AccountArg,
}

/// Arguments of `ibkr trades`.
#[derive(Debug, Args)]
pub struct TradesArgs {
    /// Executions of the last N days (1 to 7); today's when not given.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=7))]
    pub days: Option<u32>,
}

fn parse_tif(s: &str) -> Result<Tif, String> {
    match s.trim().to_ascii_uppercase().as_str() {
        "DAY" => Ok(Tif::Day),
        "GTC" => Ok(Tif::Gtc),
        "IOC" => Ok(Tif::Ioc),
        "OPG" => Ok(Tif::Opg),
        other => Err(format!(
            "unknown time in force {other:?}: use DAY, GTC, IOC or OPG"
        )),
    }
}

fn parse_trail(s: &str) -> Result<Trail, String> {
    let s = s.trim();
    let (number, percent) = match s.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (s, false),
    };
    let d: Decimal = number
        .parse()
        .map_err(|_| format!("{s:?} is not an amount (1.50) or a percentage (2%)"))?;
    if d <= Decimal::ZERO {
        return Err(format!("the trailing amount {s} is not positive"));
    }
    Ok(if percent {
        Trail::Percent(d)
    } else {
        Trail::Amount(d)
    })
}

// ---------------------------------------------------------------------------------------
// Prompts

/// How a prompt is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Confirmed by --yes or --accept.
    Confirm,
    /// Asked y/N at the terminal.
    Ask,
    /// Refused: no terminal, no flag.
    Refuse,
}

impl ConfirmArgs {
    /// The prompt ids of --accept.
    fn accepted(&self) -> Result<HashSet<PromptId>, String> {
        let mut out = HashSet::new();
        for raw in &self.accept {
            let id = raw.trim();
            if id.is_empty() {
                continue;
            }
            let well_formed = id.len() > 1
                && id.starts_with(|c: char| c.is_ascii_alphabetic())
                && id[1..].chars().all(|c| c.is_ascii_digit());
            if !well_formed {
                return Err(format!(
                    "--accept {id:?}: a prompt id is a letter and digits, e.g. o354 or o163"
                ));
            }
            out.insert(PromptId::from_code(&id.to_ascii_lowercase()));
        }
        Ok(out)
    }

    fn answer(&self, accepted: &HashSet<PromptId>, ids: &[PromptId]) -> Answer {
        if self.yes || (!ids.is_empty() && ids.iter().all(|id| accepted.contains(id))) {
            Answer::Confirm
        } else if std::io::stdin().is_terminal() {
            Answer::Ask
        } else {
            Answer::Refuse
        }
    }
}

fn ids_text(ids: &[PromptId]) -> String {
    ids.iter()
        .map(|i| i.as_str().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Shows a prompt in full, on stderr.
fn show_prompt(ids: &[PromptId], messages: &[String], reply_id: &str) {
    eprintln!(
        "IBKR asks ({}; reply id {reply_id}):",
        if ids.is_empty() {
            "no id".to_string()
        } else {
            ids_text(ids)
        }
    );
    for m in messages {
        for line in m.lines() {
            eprintln!("  | {line}");
        }
    }
}

/// Asks y/N at the terminal.
async fn ask_terminal() -> Result<bool, Box<dyn std::error::Error>> {
    let yes = tokio::task::spawn_blocking(|| -> std::io::Result<bool> {
        eprint!("Confirm? [y/N] ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(matches!(
            line.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    })
    .await??;
    Ok(yes)
}

/// What to tell someone whose prompt was refused.
fn how_to_confirm(ids: &[PromptId]) -> String {
    if ids.is_empty() {
        "run the command again at a terminal to answer it, or with --yes to confirm every prompt"
            .to_string()
    } else {
        format!(
            "run the command again at a terminal to answer it, or with --accept {} (or --yes) to confirm it",
            ids_text(ids)
        )
    }
}

// ---------------------------------------------------------------------------------------
// Describing orders

fn d(v: Option<Decimal>) -> String {
    v.map(|x| x.normalize().to_string())
        .unwrap_or_else(|| "-".into())
}

fn loose(v: &Option<LooseDecimal>) -> Option<Decimal> {
    v.and_then(LooseDecimal::value)
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s.to_string()).set_alignment(CellAlignment::Right)
}

/// `BUY 10 AAPL LMT 150.5 GTC`.
fn describe_request(r: &OrderRequest, symbol: &str) -> String {
    let mut s = format!("{} ", r.side);
    match (r.quantity, r.cash_qty) {
        (Some(q), _) => s.push_str(&q.normalize().to_string()),
        (None, Some(c)) => s.push_str(&format!("cash {}", c.normalize())),
        _ => s.push('?'),
    }
    s.push_str(&format!(" {symbol} {}", r.order_type));
    match r.order_type {
        OrderType::StopLimit | OrderType::TrailLimit => {
            s.push_str(&format!(" stop {} limit {}", d(r.aux_price), d(r.price)))
        }
        _ => {
            if let Some(p) = r.price {
                s.push_str(&format!(" {}", p.normalize()));
            }
        }
    }
    if let (Some(a), Some(t)) = (r.trailing_amt, &r.trailing_type) {
        let unit = if *t == TrailingType::Percent { "%" } else { "" };
        s.push_str(&format!(" trail {}{unit}", a.normalize()));
    }
    s.push_str(&format!(" {}", r.tif));
    if r.outside_rth == Some(true) {
        s.push_str(" outside RTH");
    }
    if let Some(p) = &r.parent_id {
        s.push_str(&format!(" (child of {p})"));
    }
    s
}

fn placed_json(orders: &[PlacedOrder]) -> Value {
    Value::Array(
        orders
            .iter()
            .map(|o| {
                json!({
                    "order_id": o.order_id,
                    "status": o.status,
                    "coid": o.coid,
                    "recovered": o.recovered,
                })
            })
            .collect(),
    )
}

fn placed_lines(orders: &[PlacedOrder]) -> Vec<String> {
    orders
        .iter()
        .map(|o| {
            format!(
                "order {}  {}  cOID {}{}",
                o.order_id,
                opt(&o.status),
                o.coid.as_deref().unwrap_or("-"),
                if o.recovered {
                    "  (its answer was lost: found by its cOID)"
                } else {
                    ""
                }
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Placing

/// `ibkr order ...`.
pub async fn order(client: &Client, cmd: &OrderCommand, out: &Output) -> CmdResult {
    match cmd {
        OrderCommand::Buy(a) => place(client, a, Side::Buy, out).await,
        OrderCommand::Sell(a) => place(client, a, Side::Sell, out).await,
        OrderCommand::Bracket(a) => bracket(client, a, out).await,
        OrderCommand::Status(a) => status(client, a, out).await,
        OrderCommand::Modify(a) => modify(client, a, out).await,
        OrderCommand::Cancel(a) => cancel(client, a, out).await,
    }
}

async fn place(client: &Client, a: &PlaceArgs, side: Side, out: &Output) -> CmdResult {
    let accepted = a.common.confirm.accepted()?;
    let conid = conid_of(client, &a.symbol, &a.which).await?;
    let account = a.common.account.resolve(client).await?;
    let mut b = client.order(&account);
    b = match (side == Side::Buy, a.cash) {
        (true, false) => b.buy(conid, a.quantity),
        (false, false) => b.sell(conid, a.quantity),
        (true, true) => b.buy_cash(conid, a.quantity),
        (false, true) => b.sell_cash(conid, a.quantity),
    };
    b = if a.moc {
        b.moc()
    } else if let Some(p) = a.loc {
        b.loc(p)
    } else if a.midprice {
        b.midprice(a.cap)
    } else if let Some(t) = a.trail {
        match (a.stop, a.limit, a.trail_limit_offset) {
            (None, None, None) => b.trailing(t),
            (Some(stop), Some(limit), None) => b.trailing_limit(stop, limit, t),
            (Some(stop), None, Some(offset)) => {
                let limit = if side == Side::Buy {
                    stop + offset
                } else {
                    stop - offset
                };
                b.trailing_limit(stop, limit, t)
            }
            _ => {
                return Err("a trailing stop takes --trail alone; a trailing stop limit takes --trail, --stop and --limit or --trail-limit-offset".into());
            }
        }
    } else {
        match (a.stop, a.limit) {
            (Some(stop), Some(limit)) => b.stop_limit(stop, limit),
            (Some(stop), None) => b.stop(stop),
            (None, Some(limit)) => b.limit(limit),
            (None, None) => b.market(),
        }
    };
    b = b.tif(a.common.tif.clone());
    if a.common.outside_rth {
        b = b.outside_rth(true);
    }
    if let Some(c) = &a.common.coid {
        b = b.coid(c.clone());
    }
    let body = b.request()?;
    announce(&body, &a.symbol, &account, a.common.whatif);
    if a.common.whatif {
        let preview = b.what_if().await?;
        return show_preview(&preview, out);
    }
    let first = b.place().await;
    follow(client, first, &a.common.confirm, &accepted, out).await
}

async fn bracket(client: &Client, a: &BracketArgs, out: &Output) -> CmdResult {
    let accepted = a.common.confirm.accepted()?;
    let conid = conid_of(client, &a.symbol, &a.which).await?;
    let account = a.common.account.resolve(client).await?;
    let mut b = client.bracket(&account);
    b = match a.side {
        SideArg::Buy => b.buy(conid, a.quantity),
        SideArg::Sell => b.sell(conid, a.quantity),
    };
    b = b.limit(a.limit).tif(a.common.tif.clone());
    if let Some(p) = a.take_profit {
        b = b.take_profit(p);
    }
    if let Some(p) = a.stop_loss {
        b = b.stop_loss(p);
    }
    if a.common.outside_rth {
        b = b.outside_rth(true);
    }
    if let Some(c) = &a.common.coid {
        b = b.coid(c.clone());
    }
    let body = b.request()?;
    announce(&body, &a.symbol, &account, a.common.whatif);
    if a.common.whatif {
        let preview = b.what_if().await?;
        return show_preview(&preview, out);
    }
    let first = b.place().await;
    follow(client, first, &a.common.confirm, &accepted, out).await
}

/// Says on stderr what is about to be sent, cOIDs included, so that they are known
/// whatever happens to the answer.
fn announce(body: &OrdersRequest, symbol: &str, account: &AccountId, whatif: bool) {
    let verb = if whatif { "previewing" } else { "placing" };
    for r in &body.orders {
        eprintln!(
            "{verb} in {account}: {}  cOID {}",
            describe_request(r, symbol),
            r.c_oid.as_deref().unwrap_or("-")
        );
    }
}

fn show_preview(p: &ibkr_api::model::orders::OrderPreview, out: &Output) -> CmdResult {
    if out.json() {
        println!("{}", serde_json::to_string_pretty(p)?);
    } else {
        let mut rows: Vec<(&str, String)> = Vec::new();
        if let Some(a) = &p.amount {
            rows.push(("amount", opt(&a.amount)));
            rows.push(("commission", opt(&a.commission)));
            rows.push(("total", opt(&a.total)));
        }
        for (name, part) in [
            ("equity", &p.equity),
            ("initial margin", &p.initial),
            ("maintenance margin", &p.maintenance),
            ("position", &p.position),
        ] {
            if let Some(c) = part {
                rows.push((
                    name,
                    format!(
                        "{} -> {} (change {})",
                        opt(&c.current),
                        opt(&c.after),
                        opt(&c.change)
                    ),
                ));
            }
        }
        if let Some(w) = p.warn.as_deref().filter(|w| !w.is_empty()) {
            rows.push(("warning", w.replace('\n', " ")));
        }
        if let Some(e) = p.error.as_deref().filter(|e| !e.is_empty()) {
            rows.push(("error", e.replace('\n', " ")));
        }
        println!("preview only: nothing was placed");
        println!("{}", key_values(&rows));
    }
    Ok(if p.error.as_deref().is_some_and(|e| !e.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Follows a placement through its prompts to an outcome, and reports it.
async fn follow(
    client: &Client,
    mut result: ibkr_api::Result<Placement>,
    confirm: &ConfirmArgs,
    accepted: &HashSet<PromptId>,
    out: &Output,
) -> CmdResult {
    let mut rounds = 0u32;
    loop {
        let placement = match result {
            Ok(p) => p,
            Err(e) => return placement_error(e, out),
        };
        match placement {
            Placement::Placed(orders) => {
                if out.json() {
                    let v = json!({"outcome": "placed", "orders": placed_json(&orders)});
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    println!("placed:");
                    for l in placed_lines(&orders) {
                        println!("  {l}");
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            Placement::NeedsConfirmation {
                reply_id,
                prompts,
                messages,
                coid,
                placed,
            } => {
                show_prompt(&prompts, &messages, reply_id.as_str());
                rounds += 1;
                let answer = if rounds > MAX_REPLY_ROUNDS {
                    eprintln!("IBKR keeps asking after {MAX_REPLY_ROUNDS} rounds: giving up");
                    Answer::Refuse
                } else {
                    confirm.answer(accepted, &prompts)
                };
                let yes = match answer {
                    Answer::Confirm => {
                        eprintln!(
                            "confirmed ({})",
                            if confirm.yes { "--yes" } else { "--accept" }
                        );
                        true
                    }
                    Answer::Ask => ask_terminal().await?,
                    Answer::Refuse => false,
                };
                if yes {
                    result = client.confirm(&reply_id).await;
                    continue;
                }
                return refused(
                    client, &reply_id, &prompts, &messages, &coid, &placed, answer, out,
                )
                .await;
            }
            Placement::Rejected { reject, coid } => {
                if out.json() {
                    let v = json!({"outcome": "rejected", "coid": coid, "reject": reject});
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                eprintln!(
                    "IBKR rejected order {} (cOID {coid}): {}",
                    reject.order_id, reject.text
                );
                if !reject.options.is_empty() {
                    eprintln!(
                        "IBKR offers: {} (answer through POST /iserver/notification)",
                        reject.options.join(" / ")
                    );
                }
                return Ok(ExitCode::FAILURE);
            }
            other => return Err(format!("unexpected outcome: {other:?}").into()),
        }
    }
}

/// A prompt not confirmed: declined, so that IBKR drops the order, and reported.
#[allow(clippy::too_many_arguments)]
async fn refused(
    client: &Client,
    reply_id: &ReplyId,
    prompts: &[PromptId],
    messages: &[String],
    coid: &str,
    placed: &[PlacedOrder],
    answer: Answer,
    out: &Output,
) -> CmdResult {
    let declined = client.decline(reply_id).await;
    if let Err(e) = &declined {
        eprintln!("(declining the prompt failed: {e}; IBKR drops the order anyway)");
    }
    if out.json() {
        let v = json!({
            "outcome": "not_confirmed",
            "coid": coid,
            "reply_id": reply_id.as_str(),
            "prompts": prompts,
            "messages": messages,
            "already_placed": placed_json(placed),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    if answer == Answer::Refuse {
        eprintln!(
            "Not confirmed: no terminal to ask at, and neither --yes nor --accept {} was given.",
            ids_text(prompts)
        );
    } else {
        eprintln!("Not confirmed.");
    }
    if placed.is_empty() {
        eprintln!(
            "Order {coid} was not placed (prompt {} declined). To place it, {}.",
            reply_id.as_str(),
            how_to_confirm(prompts)
        );
    } else {
        eprintln!(
            "The orders below of this request were accepted already; the rest (cOID {coid}) was not placed:"
        );
        for l in placed_lines(placed) {
            eprintln!("  {l}");
        }
    }
    Ok(ExitCode::from(EXIT_NOT_CONFIRMED))
}

/// Reports a placement that failed.
fn placement_error(e: Error, out: &Output) -> CmdResult {
    match e {
        Error::OrderOutcomeUnknown { coid, cause, found } => {
            if out.json() {
                let v = json!({
                    "outcome": "unknown",
                    "coid": coid,
                    "cause": cause,
                    "found": placed_json(&found),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            eprintln!("The outcome of order {coid} is unknown: {cause}.");
            if !found.is_empty() {
                eprintln!("Found by cOID:");
                for l in placed_lines(&found) {
                    eprintln!("  {l}");
                }
            }
            eprintln!(
                "Do NOT place it again: it may have reached IBKR. Check `ibkr orders` (and `ibkr trades`) for cOID {coid}."
            );
            Ok(ExitCode::from(EXIT_UNKNOWN))
        }
        Error::OrderRejected {
            endpoint,
            message,
            coid,
            placed,
        } if !placed.is_empty() => {
            eprintln!(
                "{endpoint}: IBKR rejected cOID {}: {message}",
                coid.as_deref().unwrap_or("-")
            );
            eprintln!("These orders of the request were accepted:");
            for l in placed_lines(&placed) {
                eprintln!("  {l}");
            }
            if out.json() {
                let v = json!({"outcome": "rejected", "coid": coid, "message": message, "placed": placed_json(&placed)});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Ok(ExitCode::FAILURE)
        }
        other => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Status, modify, cancel

async fn status(client: &Client, a: &StatusArgs, out: &Output) -> CmdResult {
    let s = client.order_status(a.id).await?;
    out.show(&s, || status_rows(&s))?;
    Ok(ExitCode::SUCCESS)
}

fn status_rows(s: &OrderStatusDetail) -> Vec<(&'static str, String)> {
    let contract = match (&s.symbol, s.conid) {
        (Some(sym), Some(c)) => format!("{sym} ({c})"),
        (Some(sym), None) => sym.clone(),
        (None, Some(c)) => c.to_string(),
        (None, None) => "-".into(),
    };
    let mut rows = vec![
        ("order", s.order_id.to_string()),
        ("account", opt(&s.account)),
        ("contract", contract),
        (
            "description",
            s.order_description_with_contract
                .clone()
                .or_else(|| s.order_desc.clone())
                .unwrap_or_else(|| "-".into()),
        ),
        ("status", s.order_status.to_string()),
        ("side", opt(&s.side)),
        ("type", opt(&s.order_type)),
        ("size", d(loose(&s.total_size))),
        ("filled", d(s.filled())),
        ("remaining", d(loose(&s.remaining_quantity))),
        ("limit price", d(loose(&s.limit_price))),
        ("stop price", d(loose(&s.stop_price))),
        ("average fill price", d(s.avg_price())),
        ("time in force", opt(&s.tif)),
    ];
    if let Some(x) = s.outside_rth {
        rows.push(("outside RTH", yes_no(x)));
    }
    rows.push(("placed (UTC)", opt(&s.order_time)));
    rows
}

/// The full ticket of a working order with the changes asked for: IBKR replaces the
/// order's terms with the ticket, so every field is repeated from its status.
fn modification(s: &OrderStatusDetail, a: &ModifyArgs) -> Result<OrderRequest, String> {
    let id = s.order_id;
    let conid = s
        .conid
        .or_else(|| {
            s.conidex
                .as_deref()
                .and_then(|x| x.split('@').next())
                .and_then(|c| c.trim().parse::<i64>().ok())
                .map(Conid)
        })
        .ok_or_else(|| format!("the status of order {id} names no contract"))?;
    let side = s
        .side
        .as_ref()
        .and_then(Side::direction)
        .ok_or_else(|| format!("the status of order {id} names no side"))?;
    let kind = s.order_type_kind().ok_or_else(|| {
        format!(
            "order {id} is of a type this command cannot modify ({})",
            opt(&s.order_type)
        )
    })?;
    let quantity = a
        .qty
        .or_else(|| loose(&s.total_size))
        .ok_or_else(|| format!("the status of order {id} gives no size: pass --qty"))?;
    let tif =
        a.tif.clone().or_else(|| s.tif.clone()).ok_or_else(|| {
            format!("the status of order {id} gives no time in force: pass --tif")
        })?;
    // `limit_price` and `stop_price` are not in every answer (IBKR's recording of a
    // market order has neither); `price` is then the one price of the order.
    let price = loose(&s.price).filter(|p| !p.is_zero());
    let limit = a.limit.or_else(|| loose(&s.limit_price)).or(match kind {
        OrderType::Limit | OrderType::LimitOnClose | OrderType::LimitIfTouched => price,
        _ => None,
    });
    let stop = a.stop.or_else(|| loose(&s.stop_price)).or(match kind {
        OrderType::Stop | OrderType::MarketIfTouched => price,
        _ => None,
    });
    let no = |what: &str| format!("order {id} is a {kind} order: it has no {what}");
    let need = |v: Option<Decimal>, flag: &str| {
        v.ok_or_else(|| {
            format!("the status of order {id} does not give its {flag} price: pass --{flag}")
        })
    };
    let mut r = OrderRequest::new(conid, side, quantity, kind.clone(), tif);
    match kind {
        OrderType::Limit | OrderType::LimitOnClose | OrderType::LimitIfTouched => {
            if a.stop.is_some() {
                return Err(no("stop price"));
            }
            r.price = Some(need(limit, "limit")?);
        }
        OrderType::Stop | OrderType::MarketIfTouched => {
            if a.limit.is_some() {
                return Err(no("limit price"));
            }
            r.price = Some(need(stop, "stop")?);
        }
        OrderType::StopLimit => {
            r.price = Some(need(limit, "limit")?);
            r.aux_price = Some(need(stop, "stop")?);
        }
        OrderType::Trail | OrderType::TrailLimit => {
            let trail = a.trail.ok_or_else(|| {
                format!("order {id} is a trailing order: IBKR's status does not report the trailing amount, so pass --trail")
            })?;
            let (amount, unit) = match trail {
                Trail::Percent(p) => (p, TrailingType::Percent),
                Trail::Amount(x) => (x, TrailingType::Amount),
                _ => return Err("unknown trailing amount".into()),
            };
            r.trailing_amt = Some(amount);
            r.trailing_type = Some(unit);
            if kind == OrderType::TrailLimit {
                r.price = Some(need(limit, "limit")?);
                r.aux_price = Some(need(stop, "stop")?);
            } else if a.limit.is_some() || a.stop.is_some() {
                return Err(no("limit or stop price (change --trail)"));
            }
        }
        OrderType::MidPrice => {
            if a.stop.is_some() {
                return Err(no("stop price"));
            }
            r.price = a.limit.or(price);
        }
        _ => {
            if a.limit.is_some() || a.stop.is_some() {
                return Err(no("price"));
            }
        }
    }
    r.outside_rth = s.outside_rth;
    r.validate().map_err(|e| e.to_string())?;
    Ok(r)
}

async fn modify(client: &Client, a: &ModifyArgs, out: &Output) -> CmdResult {
    if a.limit.is_none()
        && a.stop.is_none()
        && a.qty.is_none()
        && a.tif.is_none()
        && a.trail.is_none()
    {
        return Err("nothing to change: give --limit, --stop, --qty, --tif or --trail".into());
    }
    let accepted = a.confirm.accepted()?;
    let s = client.order_status(a.id).await?;
    if s.order_status.is_final() {
        return Err(format!(
            "order {} is {}: it can no longer be modified",
            a.id, s.order_status
        )
        .into());
    }
    let mut ticket = modification(&s, a)?;
    // The order's account as the status names it (IBKR's recording has only
    // `order_clearing_account`), else --account, IBKR_ACCOUNT or the selected one.
    let account = match s
        .account
        .clone()
        .or_else(|| s.order_clearing_account.clone())
    {
        Some(acct) => acct,
        None => a.account.resolve(client).await?,
    };
    ticket.acct_id = Some(account.clone());
    eprintln!(
        "modifying order {} in {account}: {}",
        a.id,
        describe_request(&ticket, s.symbol.as_deref().unwrap_or("?"))
    );
    let mut answer = client.modify_order(&account, a.id, &ticket).await;
    let mut rounds = 0u32;
    loop {
        let response: OrderResponse = match answer {
            Ok(r) => r,
            Err(e) => return change_error(e, a.id, out),
        };
        if let Some(message) = response.error() {
            return Err(
                format!("IBKR refused the modification of order {}: {message}", a.id).into(),
            );
        }
        if let Some(p) = response.prompt().cloned() {
            show_prompt(&p.message_ids, &p.message, &p.id);
            rounds += 1;
            let answer_kind = if rounds > MAX_REPLY_ROUNDS {
                Answer::Refuse
            } else {
                a.confirm.answer(&accepted, &p.message_ids)
            };
            let yes = match answer_kind {
                Answer::Confirm => {
                    eprintln!(
                        "confirmed ({})",
                        if a.confirm.yes { "--yes" } else { "--accept" }
                    );
                    true
                }
                Answer::Ask => ask_terminal().await?,
                Answer::Refuse => false,
            };
            if yes {
                answer = client.reply(&p.id, true).await;
                continue;
            }
            // Declining: IBKR's "Order not confirmed" is the expected answer.
            let _ = client.reply(&p.id, false).await;
            if out.json() {
                let v = json!({"outcome": "not_confirmed", "order_id": a.id, "reply_id": p.id,
                    "prompts": p.message_ids, "messages": p.message});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            eprintln!(
                "Not confirmed: order {} was not modified. To modify it, {}.",
                a.id,
                how_to_confirm(&p.message_ids)
            );
            return Ok(ExitCode::from(EXIT_NOT_CONFIRMED));
        }
        let submitted: Vec<_> = response.submitted().cloned().collect();
        if submitted.is_empty() {
            return change_error(
                Error::Decode {
                    endpoint: "modify".into(),
                    message: "the answer names no order, prompt or error".into(),
                    snippet: serde_json::to_string(&response).unwrap_or_default(),
                },
                a.id,
                out,
            );
        }
        if out.json() {
            let v = json!({"outcome": "modified", "orders": submitted.iter().map(|o| json!({
                "order_id": o.order_id, "status": o.order_status})).collect::<Vec<_>>()});
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            for o in &submitted {
                println!("modified: order {}  {}", o.order_id, o.order_status);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
}

/// Reports a failed modification or cancellation: IBKR's refusal as an error; an
/// uncertain outcome with exit code 4 and what to check (never a resend).
fn change_error(e: Error, id: OrderId, out: &Output) -> CmdResult {
    if !matches!(classify_failure(&e, false), Certainty::Uncertain) {
        return Err(e.into());
    }
    if out.json() {
        let v = json!({"outcome": "unknown", "order_id": id, "cause": e.to_string()});
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    eprintln!("The outcome of the request for order {id} is unknown: {e}.");
    eprintln!(
        "Do NOT send it again blindly: check `ibkr order status {id}` (or `ibkr orders`) first."
    );
    Ok(ExitCode::from(EXIT_UNKNOWN))
}

async fn cancel(client: &Client, a: &CancelArgs, out: &Output) -> CmdResult {
    let account = a.account.resolve(client).await?;
    if a.all {
        return cancel_all(client, &account, out).await;
    }
    let Some(id) = a.id else {
        return Err("give an order id, or --all".into());
    };
    let ack = match client.cancel_order(&account, id).await {
        Ok(ack) => ack,
        Err(e) => return change_error(e, id, out),
    };
    // Accepted is not cancelled: say where the order stands now.
    let now = client.order_status(id).await.ok().map(|s| s.order_status);
    if out.json() {
        let v =
            json!({"outcome": "cancel_requested", "order_id": id, "answer": ack, "status": now});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let msg = match &ack {
            ibkr_api::model::orders::CancelOrderResponse::Accepted(a) => a.msg.clone(),
            _ => String::new(),
        };
        println!(
            "cancel requested: order {id}{}{}",
            if msg.is_empty() {
                String::new()
            } else {
                format!(" ({msg})")
            },
            now.map(|s| format!("; status now {s}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Cancels every working order of the account: parents before children, and bracket
/// children of a cancelled parent left to IBKR (cancelling the parent cancels them).
async fn cancel_all(client: &Client, account: &AccountId, out: &Output) -> CmdResult {
    let mut q = LiveOrdersQuery::new();
    q.account_id = Some(account.clone());
    let live = client.live_orders(&q).await?;
    let working: Vec<&LiveOrder> = live
        .orders
        .iter()
        .filter(|o| {
            o.status.as_ref().is_some_and(|s| {
                s.is_working() && *s != ibkr_api::model::orders::OrderStatus::PendingCancel
            })
        })
        .collect();
    let ids: HashSet<OrderId> = working.iter().map(|o| o.order_id).collect();
    let mut rows: Vec<Value> = Vec::new();
    let mut failed = 0usize;
    for o in &working {
        if let Some(p) = o.parent_id.filter(|p| ids.contains(p)) {
            rows.push(json!({"order_id": o.order_id, "outcome": "with_parent", "parent": p}));
            continue;
        }
        match client.cancel_order(account, o.order_id).await {
            Ok(_) => rows.push(json!({"order_id": o.order_id, "outcome": "cancel_requested"})),
            Err(e) => {
                failed += 1;
                let uncertain = matches!(classify_failure(&e, false), Certainty::Uncertain);
                rows.push(json!({
                    "order_id": o.order_id,
                    "outcome": if uncertain { "unknown" } else { "refused" },
                    "error": e.to_string(),
                }));
            }
        }
    }
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("{account}: no working orders");
    } else {
        let mut t = table(["order", "outcome"]);
        for r in &rows {
            let outcome = match r["outcome"].as_str() {
                Some("cancel_requested") => "cancel requested".to_string(),
                Some("with_parent") => format!("cancelled with its parent {}", r["parent"]),
                Some(other) => format!("{other}: {}", r["error"].as_str().unwrap_or_default()),
                None => "-".into(),
            };
            t.add_row(vec![Cell::new(&r["order_id"]), Cell::new(outcome)]);
        }
        println!("{account}: {} working order(s)", rows.len());
        println!("{t}");
    }
    if failed > 0 {
        eprintln!("{failed} cancellation(s) failed; check `ibkr orders` before trying again");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Live orders and trades

/// `ibkr orders`.
pub async fn orders(client: &Client, a: &OrdersArgs, out: &Output) -> CmdResult {
    let mut q = LiveOrdersQuery::new();
    q.account_id = a.account.account.as_deref().map(AccountId::from);
    // Listening for Ctrl-C from the start (its first poll installs the handler), so
    // that an interrupt at any point ends the watch cleanly.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let mut live = if a.watch {
            tokio::select! {
                biased;
                _ = &mut ctrl_c => return Ok(ExitCode::SUCCESS),
                live = client.live_orders(&q) => live?,
            }
        } else {
            client.live_orders(&q).await?
        };
        if a.working {
            live.orders
                .retain(|o| o.status.as_ref().is_some_and(|s| s.is_working()));
        }
        if out.json() {
            if a.watch {
                println!("{}", serde_json::to_string(&live)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&live)?);
            }
        } else {
            if a.watch {
                print!("\x1b[2J\x1b[H");
                println!(
                    "{} (every {} s; Ctrl-C to stop)",
                    chrono::Local::now().format("%H:%M:%S"),
                    WATCH_EVERY.as_secs()
                );
            }
            print_live(&live);
        }
        if !a.watch {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(WATCH_EVERY) => {}
            _ = &mut ctrl_c => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn print_live(live: &LiveOrders) {
    let mut t = table([
        "order",
        "cOID",
        "symbol",
        "side",
        "type",
        "size",
        "filled",
        "price",
        "avg price",
        "tif",
        "status",
        "parent",
    ]);
    for o in &live.orders {
        t.add_row(vec![
            right(o.order_id),
            Cell::new(opt(&o.order_ref)),
            Cell::new(
                o.ticker
                    .clone()
                    .or_else(|| o.description1.clone())
                    .unwrap_or_else(|| opt(&o.conid)),
            ),
            Cell::new(opt(&o.side)),
            Cell::new(opt(&o.order_type)),
            right(d(o.total_size)),
            right(d(o.filled_quantity)),
            right(d(o.price_value())),
            right(d(o.avg_price_value())),
            Cell::new(opt(&o.time_in_force)),
            Cell::new(opt(&o.status)),
            right(opt(&o.parent_id)),
        ]);
    }
    println!("{} order(s)", live.orders.len());
    println!("{t}");
}

/// `ibkr trades`.
pub async fn trades(client: &Client, a: &TradesArgs, out: &Output) -> CmdResult {
    let list = client.trades(a.days).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_trades(&list);
    Ok(ExitCode::SUCCESS)
}

fn print_trades(list: &[Trade]) {
    let mut t = table([
        "time (UTC)",
        "symbol",
        "side",
        "size",
        "price",
        "commission",
        "net amount",
        "order",
        "cOID",
        "exchange",
    ]);
    for x in list {
        t.add_row(vec![
            Cell::new(opt(&x.trade_time)),
            Cell::new(&x.symbol),
            Cell::new(x.side.to_string()),
            right(x.size.normalize()),
            right(x.price.to_string()),
            right(opt(&x.commission)),
            right(d(x.net_amount)),
            right(opt(&x.order_id)),
            Cell::new(opt(&x.order_ref)),
            Cell::new(opt(&x.exchange)),
        ]);
    }
    println!("{} execution(s)", list.len());
    println!("{t}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(id: i64) -> ModifyArgs {
        ModifyArgs {
            id: OrderId(id),
            limit: None,
            stop: None,
            qty: None,
            tif: None,
            trail: None,
            confirm: ConfirmArgs::default(),
            account: AccountArg::default(),
        }
    }

    /// A working limit order's status, shaped as IBKR's recorded answer: no
    /// `account` (only `order_clearing_account`), no `limit_price`, the price in
    /// `price`.
    fn resting_limit() -> OrderStatusDetail {
        serde_json::from_value(json!({
            "sub_type": null, "order_id": 42, "conidex": "756733", "conid": 756733,
            "symbol": "SPY", "side": "BUY", "order_status": "Submitted",
            "order_type": "Limit", "size": "3.0", "total_size": "3.0", "price": "600.5",
            "tif": "GTC", "outside_rth": false, "order_clearing_account": "U1234567"
        }))
        .unwrap()
    }

    #[test]
    fn trails_and_times_in_force_parse() {
        assert_eq!(parse_trail("1.5"), Ok(Trail::Amount(Decimal::new(15, 1))));
        assert_eq!(parse_trail("2%"), Ok(Trail::Percent(Decimal::from(2))));
        assert!(parse_trail("-1").is_err());
        assert!(parse_trail("x%").is_err());
        assert_eq!(parse_tif("gtc"), Ok(Tif::Gtc));
        assert!(parse_tif("GTD").is_err());
    }

    #[test]
    fn a_modification_repeats_the_order_with_the_changes() {
        let s = resting_limit();
        let mut a = args(42);
        a.qty = Some(Decimal::from(5));
        let r = modification(&s, &a).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"conid": 756733, "orderType": "LMT", "price": 600.5, "side": "BUY",
                "tif": "GTC", "quantity": 5, "outsideRTH": false})
        );
        a.limit = Some(Decimal::from(601));
        assert_eq!(
            modification(&s, &a).unwrap().price,
            Some(Decimal::from(601))
        );
    }

    #[test]
    fn a_modification_refuses_what_the_order_does_not_have() {
        let s = resting_limit();
        let mut a = args(42);
        a.stop = Some(Decimal::ONE);
        assert!(modification(&s, &a).unwrap_err().contains("no stop price"));
        let mut trail: OrderStatusDetail = resting_limit();
        trail.order_type = Some("Trail".into());
        assert!(
            modification(&trail, &args(42))
                .unwrap_err()
                .contains("pass --trail")
        );
        let mut a = args(42);
        a.trail = Some(Trail::Percent(Decimal::ONE));
        let r = modification(&trail, &a).unwrap();
        assert_eq!(r.trailing_type, Some(TrailingType::Percent));
    }

    #[test]
    fn accepted_prompt_ids_are_checked() {
        let c = ConfirmArgs {
            yes: false,
            accept: vec!["o354".into(), " O163 ".into()],
        };
        let ids = c.accepted().unwrap();
        assert!(ids.contains(&PromptId::NoMarketData));
        assert!(ids.contains(&PromptId::PricePercentageLimit));
        assert_eq!(
            c.answer(
                &ids,
                &[PromptId::NoMarketData, PromptId::PricePercentageLimit]
            ),
            Answer::Confirm
        );
        let bad = ConfirmArgs {
            yes: false,
            accept: vec!["yes".into()],
        };
        assert!(bad.accepted().is_err());
        let yes = ConfirmArgs {
            yes: true,
            accept: vec![],
        };
        assert_eq!(yes.answer(&HashSet::new(), &[]), Answer::Confirm);
    }
}
