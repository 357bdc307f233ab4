//! Users' requests: execute each pending one once its price time came, with
//! the update for that time, and cancel each expired one (the escrow goes
//! back to its owner). Both are permissionless; the executor earns the
//! request's executor fee, a canceller nothing.
//!
//! An execution either fills the request or refunds the escrow (the
//! program's `RequestRefunded`, with its `RefundReason`): both land. The
//! keeper reads which from the transaction's logs, or, when the send
//! returns none (over RPC), from its simulation's.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use leveraged_token::errors::ErrorCode;
use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn, Minted, Redeemed, RequestCancelled, RequestRefunded};
use leveraged_token::state::RefundReason;
use leveraged_token_sdk::chain::{Chain, TxReport};
use leveraged_token_sdk::events::decode_events;
use leveraged_token_sdk::requests::{cancel_ix, execute_ixs};
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::decide::{RequestAction, RequestIntent};
use crate::fire::{fire_ixs, FireOptions, FireOutcome, Sent};

/// What became of one request the keeper acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Executed: the request filled (`Minted`, `Redeemed`,
    /// `LiquidityDeposited` or `LiquidityWithdrawn`).
    Filled {
        report: TxReport,
    },
    /// Executed: the escrow went back to the owner instead (`RequestRefunded`).
    Refunded {
        reason: RefundReason,
        report: TxReport,
    },
    /// Executed, but neither the logs nor the simulation's say how.
    Executed {
        report: TxReport,
    },
    /// Cancelled after expiry: escrow, fee and rent back to the owner.
    Cancelled {
        report: TxReport,
    },
    /// Dry run: the simulation passed; nothing was sent. `effect`: what it showed.
    Simulated {
        units: Option<u64>,
        compute_limit: u32,
        effect: Option<Effect>,
    },
    /// Somebody else executed or cancelled it first, it expired meanwhile,
    /// or the oracle account moved past its update: not a failure.
    Skipped {
        reason: String,
        sent: bool,
    },
    Failed {
        reason: String,
        sent: bool,
    },
}

/// What a landed (or simulated) execution or cancellation did to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Filled,
    Refunded(RefundReason),
    Cancelled,
}

/// What the program's events in `logs` say happened to `request`.
pub fn effect_from_logs(logs: &[String], request: &Pubkey) -> Option<Effect> {
    if let Some(e) = decode_events::<RequestRefunded>(logs).into_iter().find(|e| e.request == *request) {
        return Some(Effect::Refunded(e.reason));
    }
    let filled = decode_events::<Minted>(logs).iter().any(|e| e.request == *request)
        || decode_events::<Redeemed>(logs).iter().any(|e| e.request == *request)
        || decode_events::<LiquidityDeposited>(logs).iter().any(|e| e.request == *request)
        || decode_events::<LiquidityWithdrawn>(logs).iter().any(|e| e.request == *request);
    if filled {
        return Some(Effect::Filled);
    }
    decode_events::<RequestCancelled>(logs).iter().any(|e| e.request == *request).then_some(Effect::Cancelled)
}

/// Program errors that mean "nothing for this keeper to do with the request
/// any more": it is gone (executed or cancelled by somebody else), it expired
/// or is not expired yet by the cluster's clock, or the oracle account no
/// longer holds the update for its time.
pub fn lost_request_race(code: u32) -> Option<&'static str> {
    if code == u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized) {
        return Some("request already closed (executed or cancelled by somebody else)");
    }
    [
        (ErrorCode::RequestExpired, "request expired before the execution landed (cancelled next loop)"),
        (ErrorCode::RequestNotExpired, "request not expired yet by the cluster's clock"),
        (ErrorCode::OracleNotAtTarget, "the oracle account no longer holds the update for the request's time"),
    ]
    .into_iter()
    .find(|(e, _)| u32::from(*e) == code)
    .map(|(_, why)| why)
}

/// The instructions of the request's transaction, and the position of the
/// program's instruction: `[compute limit, compute price, (create the
/// owner's destination account), execute_*]` or `[.., cancel_request]`.
pub fn instructions(caller: &Pubkey, intent: &RequestIntent, compute_limit: u32, priority_fee: u64) -> (Vec<Instruction>, u8) {
    let mut ixs = vec![ComputeBudgetInstruction::set_compute_unit_limit(compute_limit), ComputeBudgetInstruction::set_compute_unit_price(priority_fee)];
    match intent.action {
        RequestAction::Execute { oracle, create_destination } => {
            // `execute_ixs` is [create the destination (idempotent), execute]:
            // the create only when it is missing.
            let mut exec = execute_ixs(*caller, &intent.request, &intent.market, intent.token.as_ref(), oracle, &intent.market_tokens);
            if !create_destination {
                exec.remove(0);
            }
            ixs.extend(exec);
        }
        RequestAction::Cancel => ixs.push(cancel_ix(*caller, &intent.request, &intent.market, intent.token.as_ref())),
    }
    let index = (ixs.len() - 1) as u8;
    (ixs, index)
}

/// Execute or cancel one request: simulate, size, send (unless dry-run),
/// then read what it did.
pub async fn fire_request<C: Chain>(chain: &mut C, payer: &Keypair, intent: &RequestIntent, opts: &FireOptions, sent: &mut Sent) -> RequestOutcome {
    let caller = payer.pubkey();
    let (_, index) = instructions(&caller, intent, 0, 0);
    let build = |limit: u32| instructions(&caller, intent, limit, opts.priority_fee).0;
    let (outcome, sim) = fire_ixs(chain, payer, build, index, lost_request_race, opts, sent).await;
    let sim_effect = sim.as_ref().and_then(|s| effect_from_logs(&s.logs, &intent.key));
    match outcome {
        FireOutcome::Landed { report, .. } => {
            let effect = effect_from_logs(&report.logs, &intent.key).or(sim_effect);
            match (intent.action, effect) {
                (RequestAction::Cancel, _) => RequestOutcome::Cancelled { report },
                (_, Some(Effect::Refunded(reason))) => RequestOutcome::Refunded { reason, report },
                (_, Some(Effect::Filled)) => RequestOutcome::Filled { report },
                (_, _) => RequestOutcome::Executed { report },
            }
        }
        FireOutcome::Simulated { units, compute_limit } => RequestOutcome::Simulated { units, compute_limit, effect: sim_effect },
        FireOutcome::Skipped { reason, sent } => RequestOutcome::Skipped { reason, sent },
        FireOutcome::Failed { reason, sent } => RequestOutcome::Failed { reason, sent },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_or_expired_request_is_a_lost_race_and_other_errors_are_not() {
        assert!(lost_request_race(u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized)).is_some());
        assert!(lost_request_race(u32::from(ErrorCode::RequestExpired)).is_some());
        assert!(lost_request_race(u32::from(ErrorCode::OracleNotAtTarget)).is_some());
        assert!(lost_request_race(u32::from(ErrorCode::WrongRequest)).is_none());
        assert!(lost_request_race(u32::from(ErrorCode::NotAssociatedTokenAccount)).is_none());
    }

    #[test]
    fn no_logs_say_nothing_about_a_request() {
        assert_eq!(effect_from_logs(&[], &Pubkey::new_unique()), None);
        assert_eq!(effect_from_logs(&["Program log: hello".to_string()], &Pubkey::new_unique()), None);
    }
}
