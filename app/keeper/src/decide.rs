//! Decide: for every fetched token, would `rebalance` pass now, and with
//! which oracle update? For every pending request, execute it, cancel it or
//! wait? Pure: the SDK's `decide_at_oracle` (the program's own rebalance
//! price rule, settlement and gate math) plus the checks it leaves to the
//! caller — the config account and the global pause flag — and the SDK's
//! request stage.
//!
//! A rebalance may read one of two updates: the configured oracle account
//! (fresh: every trigger but the schedule, and wipes; if it is also the
//! update for the due schedule's time, every trigger), or the update for the
//! due schedule's time from the keeper's `UpdateSource` (the time trigger
//! only, however old). The keeper sends the first that opens the gate.

use anchor_lang::prelude::{Clock, Pubkey};
use leveraged_token::constants::PAUSE_REBALANCE;
use leveraged_token::math::rebalance::{RebalancePlan, TRIGGER_TIME};
use leveraged_token::pause::paused_by;
use leveraged_token::state::Request;
use leveraged_token_sdk::decide::{decide_at_oracle, Decision};
use leveraged_token_sdk::requests::RequestStage;
use leveraged_token_sdk::{MarketKeys, OracleKind, TokenKeys};
use solana_account::Account;

use crate::fetch::{RequestSnapshot, Snapshot, TokenSnapshot};

/// What to send for one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceAction {
    /// A trigger holds; `trigger` names it.
    Rebalance { trigger: &'static str, plan: RebalancePlan },
    /// The settlement would wipe the token: `rebalance` lands the wipe.
    Wipe { bad_debt: u64 },
}

/// A rebalance the keeper intends to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The token's keys; `keys.market.oracle` is the oracle account the
    /// rebalance reads (the configured one, or the schedule's update).
    pub keys: TokenKeys,
    pub action: RebalanceAction,
    /// The keeper's collateral account (ATA) for this market's mint.
    pub keeper_collateral: Pubkey,
    /// Its balance at fetch time (`None`: the account does not exist yet).
    pub keeper_collateral_balance: Option<u64>,
    /// `Some(target)` when the rebalance acts on the time trigger at the
    /// update for the schedule's time `target`.
    pub schedule_target: Option<i64>,
}

/// The decision for one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Fire(Box<Intent>),
    /// Nothing to send; the reason is for the logs.
    Skip {
        token: Pubkey,
        reason: String,
    },
    /// The decision itself failed (math error on the fetched state).
    Error {
        token: Pubkey,
        reason: String,
    },
}

impl Verdict {
    pub fn token(&self) -> Pubkey {
        match self {
            Verdict::Fire(i) => i.keys.token,
            Verdict::Skip { token, .. } | Verdict::Error { token, .. } => *token,
        }
    }
}

/// Decide one token at `clock`: the configured oracle account first, then
/// the update for the due schedule's time if the source found one elsewhere.
pub fn decide_token(global_pause_flags: Option<u8>, t: &TokenSnapshot, clock: &Clock) -> Verdict {
    let token = t.keys.token;
    let skip = |reason: String| Verdict::Skip { token, reason };
    let Some(global_pause_flags) = global_pause_flags else {
        return skip("config account missing".into());
    };
    // Globally paused: skip before reading the oracle (the program checks pauses first).
    if paused_by(global_pause_flags, 0, 0, PAUSE_REBALANCE).is_some() {
        return skip("rebalance paused globally".into());
    }
    let configured = t.keys.market.oracle;
    let mut candidates: Vec<(Pubkey, Option<&Account>)> = vec![(configured, t.oracle.as_ref())];
    if let Some(Ok(u)) = &t.schedule_update {
        if u.key != configured {
            candidates.push((u.key, Some(&u.account)));
        }
    }
    let mut why_not = Vec::new();
    for (key, account) in candidates {
        let Some(account) = account else {
            why_not.push(format!("oracle account {key} missing"));
            continue;
        };
        let (decision, rp) = match decide_at_oracle(&t.view, &key, &account.owner, &account.data, clock, global_pause_flags) {
            Err(e) => return Verdict::Error { token, reason: format!("decision math failed: {e:?}") },
            Ok(Err(issue)) => {
                why_not.push(issue.to_string());
                continue;
            }
            Ok(Ok(d)) => d,
        };
        let action = match decision {
            Decision::Rebalance { plan, trigger } => RebalanceAction::Rebalance { trigger, plan },
            Decision::Wipe { bad_debt } => RebalanceAction::Wipe { bad_debt },
            Decision::NotNeeded { leverage_bps } => {
                let lev = leverage_bps.map(|l| format!("{:.4}x", l as f64 / 1e4)).unwrap_or_else(|| "n/a".into());
                why_not.push(format!("not needed (leverage {lev})"));
                continue;
            }
            // A pause or a wipe decides before any oracle: the same for every candidate.
            Decision::Skip { reason } if rp.is_none() => return skip(reason.into()),
            Decision::Skip { reason } => {
                why_not.push(reason.into());
                continue;
            }
        };
        let schedule_target = match (&action, rp.and_then(|p| p.schedule)) {
            (RebalanceAction::Rebalance { plan, .. }, Some(fix)) if plan.triggers & TRIGGER_TIME != 0 => Some(fix.target),
            _ => None,
        };
        let mut keys = t.keys;
        keys.market.oracle = key;
        return Verdict::Fire(Box::new(Intent { keys, action, keeper_collateral: t.keeper_collateral, keeper_collateral_balance: t.keeper_collateral_balance, schedule_target }));
    }
    if let (Some(fix), Some(Err(why))) = (t.schedule, &t.schedule_update) {
        why_not.push(format!("time trigger due, no update for its time {}: {why}", fix.target));
    }
    why_not.dedup();
    skip(why_not.join("; "))
}

/// Decide every token of the snapshot, in its order.
pub fn decide_all(snap: &Snapshot) -> Vec<Verdict> {
    let clock = snap.clock();
    snap.tokens.iter().map(|t| decide_token(snap.global_pause_flags, t, &clock)).collect()
}

/// What to send for a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// Execute it with the update in `oracle` (the one for its price time).
    Execute {
        oracle: Pubkey,
        /// Create the owner's missing destination account first (the keeper pays its rent).
        create_destination: bool,
    },
    /// Cancel it: expired, only `cancel_request` closes it (anyone may).
    Cancel,
}

/// A request the keeper intends to execute or cancel.
#[derive(Debug, Clone)]
pub struct RequestIntent {
    pub key: Pubkey,
    pub request: Request,
    pub market: MarketKeys,
    pub token: Option<TokenKeys>,
    /// Every token of its market (LP deposit, withdrawal).
    pub market_tokens: Vec<TokenKeys>,
    pub action: RequestAction,
}

/// The decision for one request.
#[derive(Debug, Clone)]
pub enum RequestVerdict {
    Act(Box<RequestIntent>),
    /// Not yet: its price time has not come, its update is not available,
    /// or its destination is missing and the keeper does not create it.
    Wait {
        key: Pubkey,
        reason: String,
    },
}

/// Decide one request: cancel it once expired; execute it once its price
/// time came and the update for it is available. `create_destinations`:
/// whether the keeper pays the rent of an owner's missing destination
/// account (more than the executor fee) rather than wait for the owner.
pub fn decide_request(r: &RequestSnapshot, create_destinations: bool) -> RequestVerdict {
    let wait = |reason: String| RequestVerdict::Wait { key: r.key, reason };
    let act = |action| RequestVerdict::Act(Box::new(RequestIntent { key: r.key, request: r.request.clone(), market: r.market, token: r.token, market_tokens: r.market_tokens.clone(), action }));
    match r.stage {
        RequestStage::Expired => act(RequestAction::Cancel),
        RequestStage::Waiting { wait: left } => {
            let unit = match r.oracle_kind {
                OracleKind::PythPull => "s",
                OracleKind::PythLegacy => "slots",
            };
            wait(format!("price time {} in {left} {unit}", r.request.target))
        }
        RequestStage::Executable => match &r.update {
            Some(Ok(u)) if r.destination_exists || create_destinations => act(RequestAction::Execute { oracle: u.key, create_destination: !r.destination_exists }),
            Some(Ok(_)) => wait(format!("destination {} missing (the owner creates it, or run with --create-destinations)", r.request.destination)),
            Some(Err(why)) => wait(format!("no update for its price time {}: {why}", r.request.target)),
            None => wait("update for its price time not asked".into()),
        },
    }
}

/// Decide every request of the snapshot, in its order.
pub fn decide_requests(snap: &Snapshot, create_destinations: bool) -> Vec<RequestVerdict> {
    snap.requests.iter().map(|r| decide_request(r, create_destinations)).collect()
}
