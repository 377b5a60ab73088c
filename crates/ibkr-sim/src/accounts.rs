//! `GET /iserver/accounts`: the brokerage accounts of the login.
//!
//! As at IBKR, a session must call it before market-data snapshots and other
//! account-bound `/iserver` calls; the gateway remembers that it did.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use ibkr_model::accounts::{AccountProperties, BrokerageAccounts};
use ibkr_model::auth::ServerInfo;

use crate::auth::{SERVER_NAME, SERVER_VERSION};
use crate::broker::AccountType;
use crate::gateway::Shared;
use crate::http::ApiError;
use crate::session::BrokerageState;

pub(crate) async fn accounts(
    State(gw): State<Shared>,
) -> Result<Json<BrokerageAccounts>, ApiError> {
    let mut m = gw.session();
    let sso = m.sso_mut_checked().map_err(|_| ApiError::NotLoggedIn)?;
    if sso.brokerage != BrokerageState::Authenticated {
        return Err(ApiError::NoBrokerage);
    }
    sso.accounts_queried = true;
    let session = sso.id.clone();
    drop(m);
    // The broker's accounts: for an advisor the master first, then its sub-accounts.
    let (ids, props, aliases) = {
        let broker = gw.broker();
        let mut ids = Vec::new();
        let mut props = BTreeMap::new();
        let mut aliases = BTreeMap::new();
        for acct in broker.accounts() {
            let mut p = AccountProperties::default();
            p.has_child_accounts = Some(acct.account_type == AccountType::Advisor);
            p.supports_cash_qty = Some(true);
            p.supports_fractions = Some(true);
            for flag in [
                "liteUnderPro",
                "noFXConv",
                "isProp",
                "allowCustomerTime",
                "autoFx",
            ] {
                p.extra.insert(flag.into(), false.into());
            }
            ids.push(acct.id.clone());
            props.insert(acct.id.clone(), p);
            aliases.insert(acct.id.clone(), acct.alias.clone());
        }
        (ids, props, aliases)
    };
    let mut a = BrokerageAccounts::new(ids);
    a.acct_props = Some(props);
    a.aliases = Some(aliases);
    a.allow_features = Some(allow_features());
    a.chart_periods = Some(
        ["STK", "CFD", "OPT", "FUT", "CASH", "IND", "BOND", "FUND"]
            .into_iter()
            .map(|t| (t.to_string(), vec!["*".to_string()]))
            .collect(),
    );
    a.groups = Some(Vec::new());
    a.profiles = Some(Vec::new());
    a.server_info = Some(ServerInfo::new(SERVER_NAME, SERVER_VERSION));
    a.session_id = Some(session.into());
    a.is_ft = Some(false);
    a.is_paper = Some(true);
    Ok(Json(a))
}

/// The feature flags of a paper login, as a recorded paper account shows them.
fn allow_features() -> ibkr_model::Extra {
    let json = serde_json::json!({
        "showGFIS": true, "showEUCostReport": false, "allowEventContract": true,
        "allowFXConv": true, "allowFinancialLens": false, "allowMTA": true,
        "allowTypeAhead": true, "allowEventTrading": true, "snapshotRefreshTimeout": 30,
        "liteUser": false, "showWebNews": true, "research": true, "debugPnl": true,
        "showTaxOpt": true, "showImpactDashboard": true, "allowDynAccount": false,
        "allowCrypto": true, "allowFA": false, "allowLiteUnderPro": false,
        "allowedAssetTypes": "STK,CFD,OPT,FOP,WAR,FUT,BAG,PDC,CASH,IND,BOND,BILL,FUND,SLB,News,CMDTY,IOPT,ICU,ICS,PHYSS,CRYPTO",
        "restrictTradeSubscription": false, "showUkUserLabels": false, "sideBySide": true
    });
    match json {
        serde_json::Value::Object(m) => m,
        _ => ibkr_model::Extra::new(),
    }
}
