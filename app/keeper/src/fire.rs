//! Fire: build, simulate, size and send one rebalance transaction (or one
//! request's execution or cancellation: [`fire_ixs`] is the same machinery
//! for any instruction list).
//!
//! The transaction is `[set_compute_unit_limit, set_compute_unit_price,
//! (create the keeper's collateral ATA, idempotent, when missing), rebalance]`.
//! It is simulated first at the maximum limit; the limit sent is the simulated
//! units × 1.15, clamped to [50_000, 1_400_000]. An expired blockhash, a
//! timeout or a transport error is retried with a fresh blockhash and
//! exponential backoff, a bounded number of times; before sending again after
//! a send whose answer was lost, the keeper asks the chain whether it landed.
//! A program error saying the gate is closed (another keeper got there first,
//! or the state moved) counts as skipped, not failed.
//!
//! Two rebalances of one token built on one blockhash are the same bytes, so
//! the same signature: the cluster would drop the second as already processed
//! (and a keeper reading that as "landed" would count a rebalance that never
//! ran). The keeper remembers what it sent ([`Sent`]) and waits for a new
//! blockhash rather than build a transaction identical to one already
//! processed.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use leveraged_token::errors::ErrorCode;
use leveraged_token::events::Rebalanced;
use leveraged_token_sdk::chain::{Chain, ChainError, TxReport};
use leveraged_token_sdk::events::decode_events;
use leveraged_token_sdk::ix;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::{Signature, Transaction};
use solana_transaction_error::TransactionError;

use crate::decide::Intent;

pub const MIN_COMPUTE_UNITS: u32 = 50_000;
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// How to fire.
#[derive(Debug, Clone)]
pub struct FireOptions {
    /// Compute-unit price in micro-lamports (priority fee).
    pub priority_fee: u64,
    /// Simulate only.
    pub dry_run: bool,
    /// Attempts per step (simulate, send) on expired blockhash or timeout.
    pub max_attempts: u32,
    /// First backoff; doubled after every failed attempt.
    pub backoff: Duration,
}

impl Default for FireOptions {
    fn default() -> Self {
        Self { priority_fee: 0, dry_run: false, max_attempts: 3, backoff: Duration::from_millis(500) }
    }
}

/// What firing one intent came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// The rebalance landed.
    Landed {
        report: TxReport,
        compute_limit: u32,
        attempts: u32,
    },
    /// Dry run: the simulation passed; nothing was sent.
    Simulated {
        units: Option<u64>,
        compute_limit: u32,
    },
    /// The program refused because the gate is closed (or the token was
    /// wiped or paused meanwhile): a lost race, not a failure. `sent` tells
    /// whether a transaction was sent (vs. refused in simulation).
    Skipped {
        reason: String,
        sent: bool,
    },
    Failed {
        reason: String,
        sent: bool,
    },
}

/// The signatures of the last [`Sent::CAPACITY`] transactions this keeper
/// sent whose outcome the chain reported (landed or refused).
#[derive(Debug, Default)]
pub struct Sent {
    order: VecDeque<Signature>,
    set: HashSet<Signature>,
}

impl Sent {
    /// A blockhash is valid for about 150 slots; a keeper sends at most a
    /// few transactions a slot, so 1,024 covers every live one.
    pub const CAPACITY: usize = 1_024;

    pub fn contains(&self, signature: &Signature) -> bool {
        self.set.contains(signature)
    }

    pub fn record(&mut self, signature: Signature) {
        if self.set.insert(signature) {
            self.order.push_back(signature);
            if self.order.len() > Self::CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// The compute-unit limit for a transaction that simulated at `units`.
pub fn compute_unit_limit(units: Option<u64>) -> u32 {
    match units {
        None => MAX_COMPUTE_UNITS,
        Some(u) => (u128::from(u) * 115).div_ceil(100).clamp(u128::from(MIN_COMPUTE_UNITS), u128::from(MAX_COMPUTE_UNITS)) as u32,
    }
}

/// The instructions of the rebalance transaction.
pub fn instructions(caller: &Pubkey, intent: &Intent, create_collateral: bool, compute_limit: u32, priority_fee: u64) -> Vec<Instruction> {
    let mut ixs = vec![ComputeBudgetInstruction::set_compute_unit_limit(compute_limit), ComputeBudgetInstruction::set_compute_unit_price(priority_fee)];
    if create_collateral {
        ixs.push(create_associated_token_account_idempotent(caller, caller, &intent.keys.market.collateral_mint, &anchor_spl::token::ID));
    }
    ixs.push(ix::rebalance(*caller, &intent.keys, intent.keeper_collateral));
    ixs
}

/// How a transaction result reads for the keeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Ok,
    /// The on-chain gate refused: someone else rebalanced, or the state moved.
    Lost(&'static str),
    /// Rebuild with a fresh blockhash and try again.
    Retry,
    Failed(String),
}

/// Program errors that mean "nothing for this keeper to do any more".
pub fn lost_race(code: u32) -> Option<&'static str> {
    [(ErrorCode::RebalanceNotNeeded, "rebalance not needed (gate closed on chain)"), (ErrorCode::TokenWiped, "token already wiped"), (ErrorCode::Paused, "rebalance paused on chain")]
        .into_iter()
        .find(|(e, _)| u32::from(*e) == code)
        .map(|(_, why)| why)
}

/// [`lost_race`] for a rebalance at the update for the schedule's time (not
/// fresh): once another keeper's scheduled rebalance landed, the schedule is
/// no longer due, so the program reads the same update as a fresh one and
/// refuses it as stale (or older than the price it last used).
pub fn lost_race_at_schedule(code: u32) -> Option<&'static str> {
    lost_race(code).or_else(|| {
        [ErrorCode::OracleStale, ErrorCode::OraclePriceRegressed]
            .into_iter()
            .any(|e| u32::from(e) == code)
            .then_some("the schedule's rebalance already landed (its update is no longer the schedule's, and not fresh)")
    })
}

/// Read a report; `rebalance_index` is the position of the rebalance
/// instruction (a custom code raised by another instruction, e.g. the ATA
/// program's, is never taken for the program's).
pub fn classify(r: &TxReport, rebalance_index: u8) -> Class {
    classify_with(r, rebalance_index, lost_race)
}

/// [`classify`] for the program instruction at `index`, with `lost` naming
/// the error codes that mean "somebody else got there first".
pub fn classify_with(r: &TxReport, index: u8, lost: fn(u32) -> Option<&'static str>) -> Class {
    match &r.err {
        None => Class::Ok,
        Some(TransactionError::BlockhashNotFound) => Class::Retry,
        Some(e) => match r.custom_error().filter(|_| matches!(e, TransactionError::InstructionError(i, _) if *i == index)).and_then(lost) {
            Some(why) => Class::Lost(why),
            None => {
                let detail = r.logs.iter().rev().find(|l| l.contains("Error Message") || l.contains("failed:")).map(|l| format!(": {l}")).unwrap_or_default();
                Class::Failed(format!("{e:?}{detail}"))
            }
        },
    }
}

/// Worth another attempt: an expired blockhash, a timeout, or a transport
/// error (an HTTP 429/503, a dropped connection) — all transient, and the
/// attempts are bounded.
fn retryable(e: &ChainError) -> bool {
    matches!(e, ChainError::BlockhashExpired | ChainError::Timeout | ChainError::Transport { .. })
}

/// Why `submit` gave up, and whether a transaction went out.
struct SubmitError {
    reason: String,
    sent: bool,
}

/// What became of transactions sent whose answer never came: the first one
/// the chain says it processed (landed or failed), as a report.
async fn resolve_pending<C: Chain>(chain: &mut C, pending: &[Transaction]) -> Option<TxReport> {
    for tx in pending {
        let signature = tx.signatures.first().map(|s| s.to_string()).unwrap_or_default();
        match chain.transaction_status(tx).await {
            Ok(Some(result)) => {
                tracing::info!(%signature, landed = result.is_ok(), "an earlier send whose answer was lost was processed: not sending again");
                return Some(TxReport { signature, err: result.err(), logs: vec![], units_consumed: None });
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(%signature, error = %e, "status of an earlier send unknown"),
        }
    }
    None
}

/// Simulate or send the transaction `make(blockhash)`, rebuilding it with a
/// fresh blockhash and backing off exponentially on an expired blockhash, a
/// timeout or a transport error, at most `opts.max_attempts` times. Before
/// sending again after a send whose outcome is unknown (timeout, transport
/// error), and before giving up, it asks the chain whether an earlier send
/// was processed, so a transaction that landed but whose answer was lost is
/// reported as landed and not sent again on the gate it closed. Returns the
/// report and the attempt it came on. A send identical to one in `sent` (same
/// blockhash, same instructions) is not made: the attempt waits for a new
/// blockhash instead.
async fn submit<C: Chain>(chain: &mut C, opts: &FireOptions, sent_before: &mut Sent, simulate: bool, make: impl Fn(Hash) -> Transaction) -> Result<(TxReport, u32), SubmitError> {
    let what = if simulate { "simulate" } else { "send" };
    let attempts = opts.max_attempts.max(1);
    let mut last = String::new();
    let mut sent = false;
    // Sent transactions whose outcome is unknown.
    let mut pending: Vec<Transaction> = Vec::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            if let Some(report) = resolve_pending(chain, &pending).await {
                return Ok((report, attempt - 1));
            }
            let wait = opts.backoff.saturating_mul(1 << (attempt - 2).min(16));
            tracing::warn!(attempt, of = attempts, wait_ms = wait.as_millis() as u64, reason = %last, "{what}: retrying with a fresh blockhash");
            tokio::time::sleep(wait).await;
        }
        let blockhash = match chain.latest_blockhash().await {
            Ok(h) => h,
            Err(e) if retryable(&e) => {
                last = e.to_string();
                continue;
            }
            Err(e) => return Err(SubmitError { reason: format!("{what}: {e}"), sent }),
        };
        let tx = make(blockhash);
        let signature = tx.signatures.first().copied().unwrap_or_default();
        if !simulate && sent_before.contains(&signature) {
            last = format!("identical to transaction {signature}, already processed: waiting for a new blockhash");
            continue;
        }
        let r = if simulate {
            chain.simulate(&tx).await
        } else {
            sent = true;
            chain.send(&tx).await
        };
        match r {
            Ok(report) if report.err == Some(TransactionError::BlockhashNotFound) => last = "blockhash not found".into(),
            // An identical transaction was processed before (a resend of one
            // whose answer was lost): report how that one went, if known.
            Ok(report) if !simulate && report.err == Some(TransactionError::AlreadyProcessed) => {
                return Ok(match chain.transaction_status(&tx).await {
                    Ok(Some(result)) => (TxReport { err: result.err(), ..report }, attempt),
                    _ => (report, attempt),
                });
            }
            Ok(report) => {
                if !simulate {
                    sent_before.record(signature);
                }
                return Ok((report, attempt));
            }
            Err(e) if retryable(&e) => {
                // A send that timed out or errored may still have landed.
                if !simulate && e != ChainError::BlockhashExpired && !pending.iter().any(|p| p.signatures == tx.signatures) {
                    pending.push(tx);
                }
                last = e.to_string();
            }
            Err(e) => return Err(SubmitError { reason: format!("{what}: {e}"), sent }),
        }
    }
    if let Some(report) = resolve_pending(chain, &pending).await {
        return Ok((report, attempts));
    }
    Err(SubmitError { reason: format!("{what}: gave up after {attempts} attempts: {last}"), sent })
}

/// Fire one intent: simulate, size the compute limit, send (unless dry-run).
/// `sent`: what this keeper sent before (never sent again as is).
pub async fn fire<C: Chain>(chain: &mut C, payer: &Keypair, intent: &Intent, create_collateral: bool, opts: &FireOptions, sent: &mut Sent) -> FireOutcome {
    let caller = payer.pubkey();
    let rebalance_index = if create_collateral { 3 } else { 2 };
    let ixs = |limit: u32| instructions(&caller, intent, create_collateral, limit, opts.priority_fee);
    let lost = if intent.schedule_target.is_some() { lost_race_at_schedule } else { lost_race };
    fire_ixs(chain, payer, ixs, rebalance_index, lost, opts, sent).await.0
}

/// Simulate the transaction `[compute limit, compute price, ..ixs]` built by
/// `ixs(compute_limit)`, size its compute limit, and send it (unless
/// dry-run), with the retries of [`submit`]. `index` is the position of the
/// program instruction whose custom errors `lost` may call a lost race. Also
/// returns the simulation's report (its logs tell what the transaction did
/// when the send's report carries none, as over RPC).
pub async fn fire_ixs<C: Chain>(
    chain: &mut C,
    payer: &Keypair,
    ixs: impl Fn(u32) -> Vec<Instruction>,
    index: u8,
    lost: fn(u32) -> Option<&'static str>,
    opts: &FireOptions,
    sent: &mut Sent,
) -> (FireOutcome, Option<TxReport>) {
    let caller = payer.pubkey();
    let build = |limit: u32| {
        let ixs = &ixs;
        move |blockhash: Hash| Transaction::new_signed_with_payer(&ixs(limit), Some(&caller), &[payer], blockhash)
    };

    let (sim, _) = match submit(chain, opts, sent, true, build(MAX_COMPUTE_UNITS)).await {
        Ok(r) => r,
        Err(e) => return (FireOutcome::Failed { reason: e.reason, sent: false }, None),
    };
    match classify_with(&sim, index, lost) {
        Class::Ok => {}
        Class::Lost(why) => return (FireOutcome::Skipped { reason: format!("simulation: {why}"), sent: false }, Some(sim)),
        Class::Retry => unreachable!("submit retries these"),
        Class::Failed(why) => return (FireOutcome::Failed { reason: format!("simulation: {why}"), sent: false }, Some(sim)),
    }
    let compute_limit = compute_unit_limit(sim.units_consumed);
    if opts.dry_run {
        return (FireOutcome::Simulated { units: sim.units_consumed, compute_limit }, Some(sim));
    }

    let (report, attempts) = match submit(chain, opts, sent, false, build(compute_limit)).await {
        Ok(r) => r,
        // `sent`: whether any transaction went out (not when every attempt
        // failed before sending, e.g. fetching the blockhash).
        Err(e) => return (FireOutcome::Failed { reason: e.reason, sent: e.sent }, Some(sim)),
    };
    if report.err == Some(TransactionError::AlreadyProcessed) {
        // A retry of a transaction that had landed after all (its status
        // could not be read; `submit` asks the chain first).
        return (FireOutcome::Landed { report: TxReport { err: None, ..report }, compute_limit, attempts }, Some(sim));
    }
    let o = match classify_with(&report, index, lost) {
        Class::Ok => FireOutcome::Landed { report, compute_limit, attempts },
        Class::Lost(why) => FireOutcome::Skipped { reason: why.to_string(), sent: true },
        Class::Retry => unreachable!("submit retries these"),
        Class::Failed(why) => FireOutcome::Failed { reason: why, sent: true },
    };
    (o, Some(sim))
}

/// Keeper rewards paid to `caller` by `Rebalanced` events in `logs` for `token`,
/// or `None` when the logs are not available (an RPC send returns none).
pub fn reward_from_logs(logs: &[String], caller: &Pubkey, token: &Pubkey) -> Option<u64> {
    if logs.is_empty() {
        return None;
    }
    Some(decode_events::<Rebalanced>(logs).iter().filter(|e| e.caller == *caller && e.token == *token).map(|e| e.keeper_reward).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_limit_is_simulated_units_plus_15_percent_within_bounds() {
        assert_eq!(compute_unit_limit(Some(100_000)), 115_000);
        assert_eq!(compute_unit_limit(Some(100_001)), 115_002, "rounded up");
        assert_eq!(compute_unit_limit(Some(1_000)), MIN_COMPUTE_UNITS);
        assert_eq!(compute_unit_limit(Some(0)), MIN_COMPUTE_UNITS);
        assert_eq!(compute_unit_limit(Some(1_300_000)), MAX_COMPUTE_UNITS);
        assert_eq!(compute_unit_limit(None), MAX_COMPUTE_UNITS);
    }

    fn report(err: Option<TransactionError>) -> TxReport {
        TxReport { signature: String::new(), err, logs: vec![], units_consumed: None }
    }

    fn custom(index: u8, code: u32) -> Option<TransactionError> {
        Some(TransactionError::InstructionError(index, solana_instruction_error::InstructionError::Custom(code)))
    }

    #[test]
    fn a_closed_gate_at_the_rebalance_instruction_is_a_lost_race_not_a_failure() {
        let not_needed = u32::from(ErrorCode::RebalanceNotNeeded);
        assert!(matches!(classify(&report(custom(2, not_needed)), 2), Class::Lost(_)));
        assert!(matches!(classify(&report(custom(3, u32::from(ErrorCode::TokenWiped))), 3), Class::Lost(_)));
        // The same code from another instruction (e.g. the ATA program) is a failure.
        assert!(matches!(classify(&report(custom(2, not_needed)), 3), Class::Failed(_)));
        assert!(matches!(classify(&report(custom(2, u32::from(ErrorCode::OracleStale))), 2), Class::Failed(_)));
        // At the schedule's update, a stale refusal means another keeper's scheduled rebalance landed.
        assert!(matches!(classify_with(&report(custom(2, u32::from(ErrorCode::OracleStale))), 2, lost_race_at_schedule), Class::Lost(_)));
        assert!(matches!(classify_with(&report(custom(2, u32::from(ErrorCode::MathOverflow))), 2, lost_race_at_schedule), Class::Failed(_)));
        assert_eq!(classify(&report(Some(TransactionError::BlockhashNotFound)), 2), Class::Retry);
        assert_eq!(classify(&report(None), 2), Class::Ok);
    }
}
