//! Decide: for every fetched token, would `rebalance` pass now? Pure: the
//! SDK's `decide` (the program's own settlement and gate math) plus the
//! checks it leaves to the caller — the global pause flag and the oracle.

use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::PAUSE_REBALANCE;
use leveraged_token::math::rebalance::RebalancePlan;
use leveraged_token::pause::paused_by;
use leveraged_token_sdk::decide::{decide as sdk_decide, Decision};
use leveraged_token_sdk::TokenKeys;

use crate::fetch::{Snapshot, TokenSnapshot};

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
    pub keys: TokenKeys,
    pub action: RebalanceAction,
    /// The keeper's collateral account (ATA) for this market's mint.
    pub keeper_collateral: Pubkey,
    /// Its balance at fetch time (`None`: the account does not exist yet).
    pub keeper_collateral_balance: Option<u64>,
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

/// Decide one token at the snapshot's slot.
pub fn decide_token(global_pause_flags: Option<u8>, t: &TokenSnapshot, slot: u64) -> Verdict {
    let token = t.keys.token;
    let skip = |reason: String| Verdict::Skip { token, reason };
    let Some(global_pause_flags) = global_pause_flags else {
        return skip("config account missing".into());
    };
    // Globally paused: skip before reading the oracle (the program checks pauses first).
    if paused_by(global_pause_flags, 0, 0, PAUSE_REBALANCE).is_some() {
        return skip("rebalance paused globally".into());
    }
    let price = match &t.price {
        Ok(p) => p.price,
        Err(issue) => return skip(issue.to_string()),
    };
    let action = match sdk_decide(&t.view, &price, slot, global_pause_flags) {
        Ok(Decision::Rebalance { plan, trigger }) => RebalanceAction::Rebalance { trigger, plan },
        Ok(Decision::Wipe { bad_debt }) => RebalanceAction::Wipe { bad_debt },
        Ok(Decision::NotNeeded { leverage_bps }) => {
            let lev = leverage_bps.map(|l| format!("{:.4}x", l as f64 / 1e4)).unwrap_or_else(|| "n/a".into());
            return skip(format!("not needed (leverage {lev})"));
        }
        Ok(Decision::Skip { reason }) => return skip(reason.into()),
        Err(e) => return Verdict::Error { token, reason: format!("decision math failed: {e:?}") },
    };
    Verdict::Fire(Box::new(Intent { keys: t.keys, action, keeper_collateral: t.keeper_collateral, keeper_collateral_balance: t.keeper_collateral_balance }))
}

/// Decide every token of the snapshot, in its order.
pub fn decide_all(snap: &Snapshot) -> Vec<Verdict> {
    snap.tokens.iter().map(|t| decide_token(snap.global_pause_flags, t, snap.slot)).collect()
}
