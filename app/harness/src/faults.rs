//! A fault-injecting [`Chain`]: wraps any chain (in the tests, the real
//! program in the in-process bank) and, per a seeded, scriptable schedule,
//! makes calls fail the ways an RPC endpoint and a cluster fail — an error, a
//! timeout before or after the call, an expired blockhash, a transaction
//! dropped (reported as timed out, or as landed when it never did), an answer
//! lost after the transaction landed, accounts read from a lagging node.
//!
//! Nothing about the program is mocked: every call that is let through goes to
//! the wrapped chain, and every transaction that "lands" lands there. The
//! wrapper records every call, every fault it injected and every send (with
//! whether the program would have accepted the transaction at that moment), so
//! tests can count attempts and prove the keeper never sends on a closed gate.
//!
//! [`Shared`] lets several keepers drive one chain concurrently (one call at a
//! time, interleaved at every await), for races.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use anchor_lang::prelude::Pubkey;
use leveraged_token_sdk::chain::{Chain, ChainError, TxReport};
use solana_account::Account;
use solana_hash::Hash;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

/// A `Chain` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Accounts,
    ProgramAccounts,
    Slot,
    LatestBlockhash,
    Simulate,
    Send,
    /// `transaction_status`.
    Status,
}

impl Op {
    pub const ALL: [Op; 7] = [Op::Accounts, Op::ProgramAccounts, Op::Slot, Op::LatestBlockhash, Op::Simulate, Op::Send, Op::Status];
}

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// The endpoint answers with an error; the call is not made.
    Error,
    /// No answer in time; the call is not made (a send never reaches the cluster).
    Timeout,
    /// The call is made, the answer is lost: `Timeout`. For a send, the
    /// transaction DID land.
    ResponseLost,
    /// `latest_blockhash`: a blockhash the cluster does not know (long
    /// expired), so the transaction built on it is really rejected with
    /// `BlockhashNotFound`. `simulate`: rejected as `BlockhashNotFound`;
    /// `send`: `BlockhashExpired`; neither reaches the chain.
    ExpiredBlockhash,
    /// `send`: the transaction is dropped and never lands; the send times out.
    Dropped,
    /// `send`: the transaction never lands, but the endpoint reports it
    /// confirmed (e.g. seen at `processed`, then lost with its fork).
    DroppedReportedLanded,
    /// `accounts` / `program_accounts` / `slot`: answered from an older read
    /// (a lagging node), `lag` reads back (or the oldest kept).
    /// `transaction_status`: a node that has not seen the transaction (`None`).
    Stale,
}

impl Fault {
    /// Whether the fault means anything for `op`.
    pub fn applies_to(self, op: Op) -> bool {
        match self {
            Fault::Error | Fault::Timeout | Fault::ResponseLost => true,
            Fault::ExpiredBlockhash => matches!(op, Op::LatestBlockhash | Op::Simulate | Op::Send),
            Fault::Dropped | Fault::DroppedReportedLanded => op == Op::Send,
            Fault::Stale => matches!(op, Op::Accounts | Op::ProgramAccounts | Op::Slot | Op::Status),
        }
    }

    /// Every fault that applies to `op`.
    pub fn all_for(op: Op) -> Vec<Fault> {
        [Fault::Error, Fault::Timeout, Fault::ResponseLost, Fault::ExpiredBlockhash, Fault::Dropped, Fault::DroppedReportedLanded, Fault::Stale].into_iter().filter(|f| f.applies_to(op)).collect()
    }
}

/// SplitMix64: a tiny seeded generator, so a schedule replays exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// When to inject what: a script per method (consumed first, call by call;
/// `None` lets one call through), then random faults.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    script: HashMap<Op, VecDeque<Option<Fault>>>,
    random: Option<RandomFaults>,
}

/// Each call of a method in `menu` fails with probability `per_mille`/1000,
/// with one of the menu's faults for that method chosen uniformly. Each
/// method draws from its own stream (seeded from the seed and the method), so
/// the n-th call of a method meets the same fault however many calls of other
/// methods came before (the in-process bank makes a new blockhash every few
/// milliseconds of wall time, which can change how many status calls a run
/// makes).
#[derive(Debug, Clone)]
pub struct RandomFaults {
    pub seed: u64,
    pub per_mille: u32,
    pub menu: Vec<(Op, Fault)>,
    streams: HashMap<Op, Rng>,
}

impl Schedule {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// The next calls of `op`, in order: `Some(fault)` injects, `None` passes.
    pub fn script(mut self, op: Op, calls: impl IntoIterator<Item = Option<Fault>>) -> Self {
        let q = self.script.entry(op).or_default();
        for f in calls {
            if let Some(f) = f {
                assert!(f.applies_to(op), "{f:?} does not apply to {op:?}");
            }
            q.push_back(f);
        }
        self
    }

    /// The next `n` calls of `op` fail with `fault`.
    pub fn next(self, op: Op, fault: Fault, n: usize) -> Self {
        self.script(op, std::iter::repeat_n(Some(fault), n))
    }

    /// Random faults from `menu` at `per_mille`/1000 per call, seeded.
    pub fn random(mut self, seed: u64, per_mille: u32, menu: impl IntoIterator<Item = (Op, Fault)>) -> Self {
        let menu: Vec<(Op, Fault)> = menu.into_iter().collect();
        for (op, f) in &menu {
            assert!(f.applies_to(*op), "{f:?} does not apply to {op:?}");
        }
        self.random = Some(RandomFaults { seed, per_mille: per_mille.min(1000), menu, streams: HashMap::new() });
        self
    }

    /// Every fault of every method, at `per_mille`/1000.
    pub fn random_all(self, seed: u64, per_mille: u32) -> Self {
        let menu: Vec<(Op, Fault)> = Op::ALL.into_iter().flat_map(|op| Fault::all_for(op).into_iter().map(move |f| (op, f))).collect();
        self.random(seed, per_mille, menu)
    }

    /// Injects nothing (no script left, no random faults).
    pub fn is_empty(&self) -> bool {
        self.random.is_none() && self.script.values().all(VecDeque::is_empty)
    }

    /// Stop injecting: clear the script and the random faults.
    pub fn clear(&mut self) {
        self.script.clear();
        self.random = None;
    }

    fn draw(&mut self, op: Op) -> Option<Fault> {
        if let Some(f) = self.script.get_mut(&op).and_then(|q| q.pop_front()) {
            return f;
        }
        let r = self.random.as_mut()?;
        let choices: Vec<Fault> = r.menu.iter().filter(|(o, _)| *o == op).map(|(_, f)| *f).collect();
        if choices.is_empty() {
            return None;
        }
        let seed = r.seed;
        let rng = r.streams.entry(op).or_insert_with(|| Rng::new(seed ^ (0x5EED_0000 + op as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        if rng.below(1000) >= u64::from(r.per_mille) {
            return None;
        }
        Some(choices[rng.below(choices.len() as u64) as usize])
    }
}

/// One `send` as the wrapper saw it.
#[derive(Debug, Clone)]
pub struct SendRecord {
    pub signature: String,
    /// The transaction's account keys (fee payer first).
    pub account_keys: Vec<Pubkey>,
    pub fault: Option<Fault>,
    /// What the program said of the transaction at the moment it was sent,
    /// from a simulation on the wrapped chain: `None` accepted, `Some(err)`
    /// refused (e.g. `RebalanceNotNeeded`: the gate was closed).
    pub probe: Option<Option<TransactionError>>,
    /// Whether it reached the wrapped chain, and what that said.
    pub forwarded: Option<TxReport>,
}

impl SendRecord {
    /// It was processed by the chain and succeeded.
    pub fn landed(&self) -> bool {
        self.forwarded.as_ref().is_some_and(|r| r.err.is_none())
    }

    /// The program refused it at send time with custom error `code`.
    pub fn probe_refused_with(&self, code: u32) -> bool {
        match &self.probe {
            Some(Some(err)) => TxReport { signature: String::new(), err: Some(err.clone()), logs: vec![], units_consumed: None }.custom_error() == Some(code),
            _ => false,
        }
    }

    pub fn involves(&self, key: &Pubkey) -> bool {
        self.account_keys.contains(key)
    }
}

/// What the wrapper counted.
#[derive(Debug, Clone, Default)]
pub struct FaultLog {
    /// Calls per method (faulty or not).
    pub calls: BTreeMap<Op, u64>,
    /// Faults injected, per method and kind.
    pub injected: BTreeMap<(Op, Fault), u64>,
    /// Every send, in order.
    pub sends: Vec<SendRecord>,
}

impl FaultLog {
    pub fn calls(&self, op: Op) -> u64 {
        self.calls.get(&op).copied().unwrap_or(0)
    }

    pub fn injected_total(&self) -> u64 {
        self.injected.values().sum()
    }

    pub fn injected_of(&self, fault: Fault) -> u64 {
        self.injected.iter().filter(|((_, f), _)| *f == fault).map(|(_, n)| n).sum()
    }

    /// Sends that landed on the wrapped chain.
    pub fn landed(&self) -> usize {
        self.sends.iter().filter(|s| s.landed()).count()
    }
}

/// The fault-injecting wrapper.
pub struct FaultyChain<C: Chain> {
    pub inner: C,
    pub schedule: Schedule,
    pub log: FaultLog,
    /// Simulate every send on the wrapped chain first, to record whether the
    /// program would accept it then ([`SendRecord::probe`]).
    pub probe_sends: bool,
    /// How many reads back a `Stale` answer comes from.
    pub lag: usize,
    account_reads: VecDeque<HashMap<Pubkey, Option<Account>>>,
    program_reads: VecDeque<(Pubkey, Vec<u8>, Vec<(Pubkey, Account)>)>,
    slots: VecDeque<u64>,
    expired: Rng,
}

/// Reads kept for `Stale` answers.
const KEEP: usize = 16;

impl<C: Chain> FaultyChain<C> {
    pub fn new(inner: C, schedule: Schedule) -> Self {
        Self { inner, schedule, log: FaultLog::default(), probe_sends: true, lag: 3, account_reads: VecDeque::new(), program_reads: VecDeque::new(), slots: VecDeque::new(), expired: Rng::new(0xE59) }
    }

    fn draw(&mut self, op: Op) -> Option<Fault> {
        *self.log.calls.entry(op).or_default() += 1;
        let f = self.schedule.draw(op);
        if let Some(f) = f {
            *self.log.injected.entry((op, f)).or_default() += 1;
            tracing::debug!(target: "lt_keeper::faults", ?op, fault = ?f, "injecting");
        }
        f
    }

    fn error(&self, op: Op) -> ChainError {
        ChainError::Transport { url: self.endpoint(), message: format!("injected error on {op:?}") }
    }

    fn stale<T>(history: &VecDeque<T>, lag: usize, fits: impl Fn(&T) -> bool) -> Option<&T> {
        // The read `lag` back among those that fit, else the oldest that fits.
        let fitting: Vec<&T> = history.iter().filter(|h| fits(h)).collect();
        fitting.len().checked_sub(1).map(|last| fitting[last.saturating_sub(lag)])
    }

    fn remember<T>(history: &mut VecDeque<T>, v: T) {
        if history.len() == KEEP {
            history.pop_front();
        }
        history.push_back(v);
    }

    /// The call fails before reaching the chain: an injected error or timeout.
    fn failed_before(&self, op: Op, fault: Option<Fault>) -> Result<(), ChainError> {
        match fault {
            Some(Fault::Error) => Err(self.error(op)),
            Some(Fault::Timeout) => Err(ChainError::Timeout),
            _ => Ok(()),
        }
    }
}

/// The chain's answer, unless it was lost on the way back (a timeout to the caller).
fn unless_lost<T>(fault: Option<Fault>, answer: T) -> Result<T, ChainError> {
    if fault == Some(Fault::ResponseLost) {
        return Err(ChainError::Timeout);
    }
    Ok(answer)
}

impl<C: Chain> Chain for FaultyChain<C> {
    fn endpoint(&self) -> String {
        format!("faulty({})", self.inner.endpoint())
    }

    async fn accounts(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        let fault = self.draw(Op::Accounts);
        self.failed_before(Op::Accounts, fault)?;
        if fault == Some(Fault::Stale) {
            if let Some(old) = Self::stale(&self.account_reads, self.lag, |h| keys.iter().all(|k| h.contains_key(k))) {
                return Ok(keys.iter().map(|k| old[k].clone()).collect());
            }
            // Nothing older to serve: a lagging node that happens to be current.
        }
        let fresh = self.inner.accounts(keys).await?;
        Self::remember(&mut self.account_reads, keys.iter().copied().zip(fresh.iter().cloned()).collect());
        unless_lost(fault, fresh)
    }

    async fn program_accounts(&mut self, program: &Pubkey, discriminator: &[u8]) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let fault = self.draw(Op::ProgramAccounts);
        self.failed_before(Op::ProgramAccounts, fault)?;
        if fault == Some(Fault::Stale) {
            if let Some((_, _, old)) = Self::stale(&self.program_reads, self.lag, |(p, d, _)| p == program && d == discriminator) {
                return Ok(old.clone());
            }
        }
        let fresh = self.inner.program_accounts(program, discriminator).await?;
        Self::remember(&mut self.program_reads, (*program, discriminator.to_vec(), fresh.clone()));
        unless_lost(fault, fresh)
    }

    async fn slot(&mut self) -> Result<u64, ChainError> {
        let fault = self.draw(Op::Slot);
        self.failed_before(Op::Slot, fault)?;
        if fault == Some(Fault::Stale) {
            if let Some(s) = Self::stale(&self.slots, self.lag, |_| true) {
                return Ok(*s);
            }
        }
        let s = self.inner.slot().await?;
        Self::remember(&mut self.slots, s);
        unless_lost(fault, s)
    }

    async fn latest_blockhash(&mut self) -> Result<Hash, ChainError> {
        let fault = self.draw(Op::LatestBlockhash);
        self.failed_before(Op::LatestBlockhash, fault)?;
        // A hash no bank has produced: as good as one expired long ago.
        if fault == Some(Fault::ExpiredBlockhash) {
            let mut b = [0u8; 32];
            for c in b.chunks_mut(8) {
                c.copy_from_slice(&self.expired.next_u64().to_le_bytes());
            }
            return Ok(Hash::new_from_array(b));
        }
        let h = self.inner.latest_blockhash().await?;
        unless_lost(fault, h)
    }

    async fn simulate(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        let fault = self.draw(Op::Simulate);
        let signature = tx.signatures.first().map(|s| s.to_string()).unwrap_or_default();
        self.failed_before(Op::Simulate, fault)?;
        if fault == Some(Fault::ExpiredBlockhash) {
            return Ok(TxReport { signature, err: Some(TransactionError::BlockhashNotFound), logs: vec![], units_consumed: None });
        }
        let r = self.inner.simulate(tx).await?;
        unless_lost(fault, r)
    }

    async fn send(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        let fault = self.draw(Op::Send);
        let signature = tx.signatures.first().map(|s| s.to_string()).unwrap_or_default();
        let probe = if self.probe_sends { self.inner.simulate(tx).await.ok().map(|r| r.err) } else { None };
        let mut record = SendRecord { signature: signature.clone(), account_keys: tx.message.account_keys.clone(), fault, probe, forwarded: None };
        let result = match fault {
            Some(Fault::Error) => Err(self.error(Op::Send)),
            Some(Fault::Timeout) | Some(Fault::Dropped) => Err(ChainError::Timeout),
            Some(Fault::ExpiredBlockhash) => Err(ChainError::BlockhashExpired),
            Some(Fault::DroppedReportedLanded) => Ok(TxReport { signature, err: None, logs: vec![], units_consumed: None }),
            Some(Fault::Stale) => unreachable!("Stale does not apply to Send (checked when scheduled)"),
            None | Some(Fault::ResponseLost) => match self.inner.send(tx).await {
                Ok(r) => {
                    record.forwarded = Some(r.clone());
                    unless_lost(fault, r)
                }
                Err(e) => Err(e),
            },
        };
        self.log.sends.push(record);
        result
    }

    async fn transaction_status(&mut self, tx: &Transaction) -> Result<Option<Result<(), TransactionError>>, ChainError> {
        let fault = self.draw(Op::Status);
        self.failed_before(Op::Status, fault)?;
        if fault == Some(Fault::Stale) {
            return Ok(None);
        }
        let r = self.inner.transaction_status(tx).await?;
        unless_lost(fault, r)
    }
}

impl fmt::Display for FaultLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "calls:")?;
        for (op, n) in &self.calls {
            write!(f, " {op:?}={n}")?;
        }
        write!(f, "; injected:")?;
        for ((op, fault), n) in &self.injected {
            write!(f, " {op:?}/{fault:?}={n}")?;
        }
        write!(f, "; sends={} landed={}", self.sends.len(), self.landed())
    }
}

/// One chain shared by several drivers (keepers racing): each call takes the
/// lock for its duration only, so concurrent keepers interleave between calls.
pub struct Shared<C: Chain>(pub Rc<tokio::sync::Mutex<C>>);

impl<C: Chain> Clone for Shared<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: Chain> Shared<C> {
    pub fn new(inner: C) -> Self {
        Self(Rc::new(tokio::sync::Mutex::new(inner)))
    }
}

impl<C: Chain> Chain for Shared<C> {
    fn endpoint(&self) -> String {
        self.0.try_lock().map(|c| c.endpoint()).unwrap_or_else(|_| "shared chain".into())
    }

    async fn accounts(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        self.0.lock().await.accounts(keys).await
    }

    async fn program_accounts(&mut self, program: &Pubkey, discriminator: &[u8]) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        self.0.lock().await.program_accounts(program, discriminator).await
    }

    async fn slot(&mut self) -> Result<u64, ChainError> {
        self.0.lock().await.slot().await
    }

    async fn latest_blockhash(&mut self) -> Result<Hash, ChainError> {
        self.0.lock().await.latest_blockhash().await
    }

    async fn simulate(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        self.0.lock().await.simulate(tx).await
    }

    async fn send(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        self.0.lock().await.send(tx).await
    }

    async fn transaction_status(&mut self, tx: &Transaction) -> Result<Option<Result<(), TransactionError>>, ChainError> {
        self.0.lock().await.transaction_status(tx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let draw = |seed| {
            let mut s = Schedule::none().random_all(seed, 300);
            (0..200).map(|i| s.draw(Op::ALL[i % Op::ALL.len()])).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let faults = draw(7).into_iter().flatten().count();
        assert!((30..=90).contains(&faults), "≈ 30 % of 200 calls: {faults}");
    }

    #[test]
    fn the_script_comes_before_random_faults_and_none_lets_a_call_through() {
        let mut s = Schedule::none().script(Op::Send, [None, Some(Fault::Dropped)]).random(1, 1000, [(Op::Send, Fault::Error)]);
        assert_eq!(s.draw(Op::Send), None);
        assert_eq!(s.draw(Op::Send), Some(Fault::Dropped));
        assert_eq!(s.draw(Op::Send), Some(Fault::Error));
        assert_eq!(s.draw(Op::Slot), None, "no random fault on the menu for Slot");
    }

    #[test]
    #[should_panic(expected = "does not apply")]
    fn a_fault_that_cannot_happen_on_a_method_is_refused_when_scheduled() {
        let _ = Schedule::none().next(Op::Accounts, Fault::Dropped, 1);
    }
}
