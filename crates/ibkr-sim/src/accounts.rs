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
use crate::gateway::Shared;
use crate::http::ApiError;
use crate::session::BrokerageState;

/// The paper account every simulated login owns (until the paper broker lands).
pub(crate) const PAPER_ACCOUNT: &str = "DU1234567";

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
    let mut a = BrokerageAccounts::new(vec![PAPER_ACCOUNT.to_string()]);
    let mut props = AccountProperties::default();
    props.has_child_accounts = Some(false);
    props.supports_cash_qty = Some(true);
    props.supports_fractions = Some(true);
    for flag in [
        "liteUnderPro",
        "noFXConv",
        "isProp",
        "allowCustomerTime",
        "autoFx",
    ] {
        props.extra.insert(flag.into(), false.into());
    }
    a.acct_props = Some(BTreeMap::from([(PAPER_ACCOUNT.to_string(), props)]));
    a.aliases = Some(BTreeMap::from([(
        PAPER_ACCOUNT.to_string(),
        PAPER_ACCOUNT.to_string(),
    )]));
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
