//! Accounts and portfolio from the shell: `accounts`, `summary`, `ledger`, `positions`.

use std::process::ExitCode;

use clap::Args;
use comfy_table::{Cell, CellAlignment};
use ibkr_api::Client;
use ibkr_api::model::accounts::AccountId;

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
    async fn resolve(&self, client: &Client) -> ibkr_api::Result<AccountId> {
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

/// `ibkr positions`.
pub async fn positions(client: &Client, a: &AccountArg, out: &Output) -> CmdResult {
    let id = a.resolve(client).await?;
    let list = client.all_positions(&id).await?;
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
