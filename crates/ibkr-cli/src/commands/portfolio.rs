//! Accounts and portfolio from the shell: `accounts`, `account switch|search|balances|owners`,
//! `summary`, `ledger`, `positions`, `allocation`, `pnl`, `performance`.

use std::process::ExitCode;

use clap::Args;
use comfy_table::{Cell, CellAlignment};
use ibkr_api::Client;
use ibkr_api::model::accounts::AccountId;
use ibkr_api::model::portfolio::{PaPeriod, PositionsQuery};

use crate::output::{Output, opt, table};

type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Which account a command reads.
#[derive(Debug, Args, Clone, Default)]
pub struct AccountArg {
    /// The account; else IBKR_ACCOUNT; else the login's selected account.
    #[arg(long, env = "IBKR_ACCOUNT")]
    pub account: Option<String>,
}

impl AccountArg {
    pub(crate) async fn resolve(&self, client: &Client) -> ibkr_api::Result<AccountId> {
        if let Some(a) = &self.account {
            return Ok(AccountId::from(a.as_str()));
        }
        let accounts = client.brokerage_accounts().await?;
        let id = accounts
            .selected_account
            .or_else(|| accounts.accounts.first().cloned())
            .ok_or_else(|| ibkr_api::Error::NotFound {
                what: "account".into(),
                hint: "this login lists no accounts; pass --account".into(),
            })?;
        Ok(AccountId::from(id.as_str()))
    }
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s.to_string()).set_alignment(CellAlignment::Right)
}

/// `ibkr accounts`.
pub async fn accounts(client: &Client, out: &Output) -> CmdResult {
    let list = client.portfolio_accounts().await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(["account", "title", "currency", "type"]);
    for a in &list {
        t.add_row(vec![
            a.id.to_string(),
            opt(&a.account_title),
            opt(&a.currency),
            opt(&a.acct_cust_type),
        ]);
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// `ibkr summary`.
pub async fn summary(client: &Client, a: &AccountArg, out: &Output) -> CmdResult {
    let id = a.resolve(client).await?;
    let s = client.portfolio_summary(&id).await?;
    out.show(&s, || {
        let f = |d: Option<ibkr_api::Decimal>| opt(&d);
        vec![
            ("account", id.to_string()),
            ("net liquidation", f(s.net_liquidation())),
            ("total cash", f(s.total_cash_value())),
            ("buying power", f(s.buying_power())),
            ("available funds", f(s.available_funds())),
            ("excess liquidity", f(s.excess_liquidity())),
            ("initial margin", f(s.init_margin_req())),
        ]
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `ibkr ledger`.
pub async fn ledger(client: &Client, a: &AccountArg, out: &Output) -> CmdResult {
    let id = a.resolve(client).await?;
    let l = client.portfolio_ledger(&id).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&l)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table([
        "currency",
        "cash",
        "stock value",
        "net liquidation",
        "unrealized P&L",
        "rate",
    ]);
    for (ccy, e) in &l.currencies {
        t.add_row(vec![
            Cell::new(ccy),
            right(opt(&e.cashbalance)),
            right(opt(&e.stockmarketvalue)),
            right(opt(&e.netliquidationvalue)),
            right(opt(&e.unrealizedpnl)),
            right(opt(&e.exchangerate)),
        ]);
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `ibkr positions`.
#[derive(Debug, Args)]
pub struct PositionsArgs {
    #[command(flatten)]
    pub account: AccountArg,
    /// Sort by an IBKR field, e.g. mktValue, unrealizedPnl, position, conid, name.
    #[arg(long)]
    pub sort: Option<String>,
    /// Largest first.
    #[arg(long)]
    pub desc: bool,
}

/// `ibkr positions`.
pub async fn positions(client: &Client, a: &PositionsArgs, out: &Output) -> CmdResult {
    let id = a.account.resolve(client).await?;
    let mut q = PositionsQuery::new();
    q.sort = a.sort.clone();
    if a.desc {
        q.direction = Some("d".into());
    }
    let list = client.all_positions_with(&id, &q).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table([
        "conid",
        "contract",
        "position",
        "price",
        "market value",
        "avg cost",
        "unrealized P&L",
        "ccy",
    ]);
    for p in &list {
        t.add_row(vec![
            right(p.conid),
            Cell::new(&p.contract_desc),
            right(p.position),
            right(p.mkt_price.round_dp(4)),
            right(p.mkt_value),
            right(p.avg_cost.round_dp(4)),
            right(p.unrealized_pnl),
            Cell::new(&p.currency),
        ]);
    }
    println!("{id}: {} positions", list.len());
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// `ibkr allocation`.
pub async fn allocation(client: &Client, a: &AccountArg, out: &Output) -> CmdResult {
    let id = a.resolve(client).await?;
    let al = client.allocation(&id).await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&al)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(["by", "name", "long", "short"]);
    for (by, split) in [
        ("asset class", &al.asset_class),
        ("sector", &al.sector),
        ("group", &al.group),
    ] {
        let names: std::collections::BTreeSet<&String> =
            split.long.keys().chain(split.short.keys()).collect();
        for n in names {
            t.add_row(vec![
                Cell::new(by),
                Cell::new(n),
                right(opt(&split.long.get(n))),
                right(opt(&split.short.get(n))),
            ]);
        }
    }
    println!("{id}");
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// `ibkr account ...`: switch the selected account, search accounts, owners.
#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Make ACCOUNT the login's selected account (the one orders and `/iserver`
    /// calls use by default).
    Switch {
        /// The account id, e.g. DU1234568.
        account: String,
    },
    /// Find accounts of an advisor or broker login by id or name.
    Search {
        /// Part of an account id or name.
        pattern: String,
    },
    /// Balances, margins and funds by segment (`/iserver/account/{acct}/summary`).
    Balances(AccountArg),
    /// The account's owners and signatures.
    Owners(AccountArg),
}

/// `ibkr account ...`.
pub async fn account(client: &Client, cmd: &AccountCommand, out: &Output) -> CmdResult {
    match cmd {
        AccountCommand::Switch { account } => {
            let id = AccountId::from(account.as_str());
            let r = client.switch_account(&id).await?;
            out.show(&r, || {
                vec![
                    ("selected", id.to_string()),
                    (
                        "gateway said",
                        r.success
                            .clone()
                            .unwrap_or_else(|| crate::output::yes_no(r.is_set())),
                    ),
                ]
            })?;
        }
        AccountCommand::Search { pattern } => {
            let r = client.search_accounts(pattern).await?;
            if out.json() {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(["account", "alias", "allocation id"]);
            for m in &r.matched_accounts {
                t.add_row(vec![
                    m.account_id.to_string(),
                    opt(&m.alias),
                    opt(&m.allocation_id),
                ]);
            }
            println!("{} account(s) match {pattern:?}", r.matched_accounts.len());
            println!("{t}");
        }
        AccountCommand::Balances(a) => {
            let id = a.resolve(client).await?;
            let s = client.account_summary(&id).await?;
            if out.json() {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(ExitCode::SUCCESS);
            }
            let v = serde_json::to_value(&s)?;
            let mut rows: Vec<(String, String)> = Vec::new();
            if let serde_json::Value::Object(m) = v {
                for (k, v) in m {
                    if let Some(s) = scalar(&v) {
                        rows.push((k, s));
                    }
                }
            }
            let mut t = table(["field", "value"]);
            for (k, v) in rows {
                t.add_row(vec![Cell::new(k), right(v)]);
            }
            println!("{id}");
            println!("{t}");
        }
        AccountCommand::Owners(a) => {
            let id = a.resolve(client).await?;
            let s = client.signatures_and_owners(&id).await?;
            // Personal data: printed for the user who asked, never logged.
            println!("{}", serde_json::to_string_pretty(&s)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A JSON scalar as text (`None` for objects, arrays and null).
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `ibkr pnl`.
pub async fn pnl(client: &Client, out: &Output) -> CmdResult {
    let p = client.pnl_partitioned().await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table([
        "account",
        "daily P&L",
        "unrealized P&L",
        "net liquidation",
        "market value",
        "excess liquidity",
    ]);
    for (key, e) in &p.upnl {
        t.add_row(vec![
            Cell::new(key),
            right(opt(&e.dpl)),
            right(opt(&e.upl)),
            right(opt(&e.nl)),
            right(opt(&e.mv)),
            right(opt(&e.el)),
        ]);
    }
    println!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `ibkr performance`.
#[derive(Debug, Args)]
pub struct PerformanceArgs {
    /// The period: 1D, 7D, MTD, 1M, 3M, 6M, 12M, 1Y, YTD.
    #[arg(long, default_value = "1Y")]
    pub period: String,
    #[command(flatten)]
    pub account: AccountArg,
}

/// `ibkr performance`.
pub async fn performance(client: &Client, a: &PerformanceArgs, out: &Output) -> CmdResult {
    let period = PaPeriod::from_code(&a.period.to_ascii_uppercase());
    if let PaPeriod::Unknown(p) = &period {
        return Err(
            format!("unknown period {p:?}: use 1D, 7D, MTD, 1M, 3M, 6M, 12M, 1Y or YTD").into(),
        );
    }
    let id = a.account.resolve(client).await?;
    let p = client
        .performance(std::slice::from_ref(&id), period.clone())
        .await?;
    if out.json() {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(ExitCode::SUCCESS);
    }
    let nav = p.nav.as_ref().and_then(|s| s.data.first());
    let cps = p.cps.as_ref().and_then(|s| s.data.first());
    let start = nav
        .and_then(|d| d.start_nav.as_ref())
        .map(|s| s.val.round_dp(2));
    let end = nav
        .and_then(|d| d.navs.as_ref())
        .and_then(|v| v.last())
        .map(|v| v.round_dp(2));
    let cumulative = cps
        .and_then(|d| d.returns.as_ref())
        .and_then(|v| v.last())
        .map(|r| format!("{}%", (r * ibkr_api::Decimal::ONE_HUNDRED).round_dp(2)));
    println!(
        "{}",
        crate::output::key_values(&[
            ("account", id.to_string()),
            ("period", period.to_string()),
            (
                "from",
                opt(&nav.and_then(|d| d.start.clone()).or_else(|| {
                    nav.and_then(|d| d.start_nav.as_ref())
                        .map(|s| s.date.clone())
                }))
            ),
            ("to", opt(&nav.and_then(|d| d.end.clone()))),
            ("start NAV", opt(&start)),
            ("end NAV", opt(&end)),
            ("cumulative return", opt(&cumulative)),
        ])
    );
    if let Some(tpps) = &p.tpps
        && let Some(d) = tpps.data.first()
        && let Some(r) = &d.returns
    {
        let mut t = table(["period", "return"]);
        for (date, r) in tpps.dates.iter().zip(r) {
            t.add_row(vec![
                Cell::new(date),
                right(format!(
                    "{}%",
                    (r * ibkr_api::Decimal::ONE_HUNDRED).round_dp(2)
                )),
            ]);
        }
        println!("{t}");
    }
    Ok(ExitCode::SUCCESS)
}
