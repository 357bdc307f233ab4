//! The keeper under faults: the real program in the in-process bank, wrapped
//! in `FaultyChain`, driven along one scripted price path. A market with a 3x
//! long, a 1x short and a 2x long (deviation trigger 20 %), 1,000,000 USDC of
//! liquidity and 10,000 USDC minted into each token.
//!
//! Every run checks, step by step, against the program's own gate math (the
//! SDK's `decide` on a fault-free read of the bank): the rebalances that land
//! are exactly those whose gate was open; every open gate is closed within a
//! bounded number of loops; no loop makes more simulations or sends than its
//! intents × `max_attempts`; no send goes out on a closed gate. Fault runs are
//! then compared with a fault-free reference run of the same path: same
//! rebalances at the same steps, same token, vault and pool state at the end.

mod common;
use common::{publish, USD, USDC};

use std::collections::BTreeMap;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use leveraged_token::errors::ErrorCode;
use leveraged_token::events::Rebalanced;
use leveraged_token::state::{LeveragedToken, OracleKind};
use leveraged_token_harness::bank::{decode_events, Bank};
use leveraged_token_harness::deployment::Oracle;
use leveraged_token_harness::faults::{Fault, FaultLog, FaultyChain, Op, Schedule, Shared};
use leveraged_token_harness::BankChain;
use leveraged_token_keeper::{decide, fetch, AccountSource, Counters, Discovery, FireOptions, FireOutcome, Keeper, KeeperConfig, Verdict};
use leveraged_token_sdk::{ix, MarketKeys, TokenKeys};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

const MAX_ATTEMPTS: u32 = 3;
/// Loops a keeper gets per step to close every open gate.
const MAX_LOOPS_PER_STEP: usize = 20;
/// The daily time trigger of the default parameters, in slots.
const DAY: u64 = 216_000;

/// One step of the scripted path.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// 10 slots pass, the oracle publishes this price (USD).
    Price(i64),
    /// 30 slots pass (more than the 25-slot max age) and the oracle publishes
    /// nothing although the market moved to this price (named for the
    /// reader: nothing publishes it).
    Frozen(#[allow(dead_code)] i64),
    /// A day passes (the time trigger), then the oracle account holds the
    /// update for the schedule's time at this price: the tokens' one grid
    /// point, 100 slots back, too old for any trigger but the schedule.
    Day(i64),
}
use Step::{Day, Frozen, Price};

/// Deviation (10 %: 3x long, 1x short; 20 %: 2x long), band and ripcord
/// (the 3x long at −12 %), time (a day) triggers, and quiet steps.
const PATH: &[Step] = &[Price(104), Price(110), Price(112), Price(121), Price(118), Price(106), Price(93), Price(96), Price(82), Price(84), Day(85), Price(95), Price(101)];

/// The same path with the oracle frozen for three steps across a 12 % move.
const FROZEN_PATH: &[Step] = &[Price(104), Price(110), Frozen(118), Frozen(123), Frozen(124), Price(124), Price(112), Price(100)];

struct Env {
    chain: FaultyChain<BankChain>,
    market: MarketKeys,
    tokens: [TokenKeys; 3],
}

impl Env {
    async fn new(schedule: Schedule) -> Self {
        // A fixed oracle address: every run of the path derives the same PDAs.
        let common::Deployment { chain: inner, market, tokens, .. } = common::deploy(Pubkey::new_from_array([7; 32])).await;
        Env { chain: FaultyChain::new(inner, schedule), market, tokens }
    }

    fn bank(&mut self) -> &mut Bank {
        &mut self.chain.inner.bank
    }

    async fn keeper(&mut self) -> Keeper {
        let kp = self.bank().funded_keypair().await;
        keeper_with(kp)
    }

    /// A deployment under `schedule` and a keeper for it, after a +10 % price
    /// step: the 3x long's and the 1x short's deviation gates are open.
    async fn after_a_ten_percent_rise(schedule: Schedule) -> (Env, Keeper) {
        let mut env = Env::new(schedule).await;
        let keeper = env.keeper().await;
        env.advance(Step::Price(110)).await;
        (env, keeper)
    }

    /// Move the bank to the next step.
    async fn advance(&mut self, step: Step) {
        let (market, tokens) = (self.market, self.tokens);
        advance(self.bank(), &market, &tokens, step).await;
    }

    /// The program's gate math on a fault-free read of the bank: the tokens
    /// (by index) whose `rebalance` would pass now, with their trigger.
    async fn open_gates(&mut self) -> BTreeMap<usize, &'static str> {
        open_gates(&mut self.chain.inner, &self.tokens).await
    }

    async fn state(&mut self) -> EndState {
        end_state(&mut self.chain.inner.bank, &self.tokens, &self.market).await
    }

    async fn rebalance_counts(&mut self) -> [u64; 3] {
        rebalance_counts(&mut self.chain.inner.bank, &self.tokens).await
    }
}

/// Move `bank` to the next step of a path.
async fn advance(bank: &mut Bank, market: &MarketKeys, tokens: &[TokenKeys; 3], step: Step) {
    match step {
        Step::Price(p) => {
            bank.warp(10).await;
            publish(bank, market, p * USD).await;
        }
        Step::Frozen(_) => bank.warp(30).await,
        Step::Day(p) => {
            bank.warp(DAY).await;
            let slot = bank.slot().await;
            let mut fixes = Vec::new();
            for t in tokens {
                fixes.push(bank.account::<LeveragedToken>(t.token).await.schedule_fix(OracleKind::PythLegacy, slot).expect("a day passed: the schedule is due"));
            }
            assert!(fixes.iter().all(|f| *f == fixes[0]), "the tokens share one schedule: {fixes:?}");
            assert!(slot - fixes[0].anchor_slot > 25, "the schedule's update is older than the max age");
            Oracle::legacy(market.oracle).publish_for(bank, p * USD, Oracle::default_conf(p * USD), fixes[0].target).await;
        }
    }
}

fn keeper_with(kp: Keypair) -> Keeper {
    Keeper::new(kp, KeeperConfig { fire: FireOptions { max_attempts: MAX_ATTEMPTS, backoff: Duration::from_millis(1), ..FireOptions::default() }, ..KeeperConfig::default() })
}

async fn open_gates(chain: &mut BankChain, tokens: &[TokenKeys; 3]) -> BTreeMap<usize, &'static str> {
    let mut disc = Discovery::new(1, Default::default());
    let snap = fetch::fetch(chain, &mut disc, &Pubkey::new_unique(), &mut AccountSource).await.expect("the bank answers");
    assert!(snap.unreadable.is_empty(), "{:?}", snap.unreadable);
    decide::decide_all(&snap)
        .into_iter()
        .filter_map(|v| match v {
            Verdict::Fire(i) => {
                let ix = tokens.iter().position(|t| t.token == i.keys.token).expect("a known token");
                let trigger = match i.action {
                    leveraged_token_keeper::RebalanceAction::Rebalance { trigger, .. } => trigger,
                    leveraged_token_keeper::RebalanceAction::Wipe { .. } => "wipe",
                };
                Some((ix, trigger))
            }
            Verdict::Skip { .. } => None,
            Verdict::Error { token, reason } => panic!("decision failed for {token}: {reason}"),
        })
        .collect()
}

async fn rebalance_counts(bank: &mut Bank, tokens: &[TokenKeys; 3]) -> [u64; 3] {
    let mut out = [0; 3];
    for (o, t) in out.iter_mut().zip(tokens) {
        *o = bank.account::<LeveragedToken>(t.token).await.rebalance_count;
    }
    out
}

/// What must match between a fault run and the reference run at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EndState {
    /// Per token: rebalance count, base, cost, last rebalance price and slot,
    /// fees owed, rewards paid, vault balance, share supply.
    tokens: Vec<(u64, i128, i128, u128, u64, u64, u64, u64, u64)>,
    pool: u64,
}

async fn end_state(bank: &mut Bank, tokens: &[TokenKeys; 3], market: &MarketKeys) -> EndState {
    let mut out = Vec::new();
    for t in tokens {
        let a = bank.account::<LeveragedToken>(t.token).await;
        let vault = bank.balance(t.vault).await;
        let supply = bank.supply(t.share_mint).await;
        out.push((a.rebalance_count, a.base, a.cost, a.last_rebalance_price, a.schedule_anchor_slot, a.fees_owed, a.total_keeper_rewards, vault, supply));
    }
    EndState { tokens: out, pool: bank.balance(market.pool_vault).await }
}

/// What one keeper's run along a path came to.
#[derive(Debug)]
struct Run {
    /// Per step: the open gates before the keeper acted (the program's math).
    opened: Vec<BTreeMap<usize, &'static str>>,
    /// Per step: the tokens whose rebalance landed.
    landed: Vec<Vec<usize>>,
    /// Loops the keeper ran per step.
    loops: Vec<usize>,
    end: EndState,
    counters: Counters,
    /// The keeper's collateral balance: rewards actually received.
    reward_received: u64,
    /// Sends on a closed gate after the keeper's own landing was hidden
    /// (answer lost and status unreadable).
    unavoidable_resends: usize,
    log: FaultLog,
}

fn status_faults(log: &FaultLog) -> u64 {
    log.injected.iter().filter(|((op, _), _)| *op == Op::Status).map(|(_, n)| n).sum()
}

/// Drive one keeper through `path` under `schedule`, checking each step.
async fn run_path(path: &[Step], schedule: Schedule) -> Run {
    let mut env = Env::new(schedule).await;
    let mut keeper = env.keeper().await;
    let max = u64::from(MAX_ATTEMPTS);
    let (mut opened, mut landed, mut loops) = (vec![], vec![], vec![]);
    let mut unavoidable_resends = 0;
    for (n, step) in path.iter().enumerate() {
        env.advance(*step).await;
        let open = env.open_gates().await;
        let before = env.rebalance_counts().await;
        let step_calls = (env.chain.log.calls(Op::Simulate), env.chain.log.calls(Op::Send));
        let mut ran = 0;
        loop {
            ran += 1;
            let calls = env.chain.log.calls.clone();
            let sends_before = env.chain.log.sends.len();
            let status_faults_before = status_faults(&env.chain.log);
            let result = keeper.run_once(&mut env.chain).await;
            let delta = |op: Op| env.chain.log.calls(op) - calls.get(&op).copied().unwrap_or(0);
            let intents = result.as_ref().map(|r| r.outcomes.len() as u64).unwrap_or(0);
            // Retries are bounded: per intent at most `max_attempts` simulations
            // and sends, and one blockhash per attempt of each.
            assert!(delta(Op::Simulate) <= intents * max, "step {n} ({step:?}): {} simulations for {intents} intents", delta(Op::Simulate));
            assert!(delta(Op::Send) <= intents * max, "step {n} ({step:?}): {} sends for {intents} intents", delta(Op::Send));
            assert!(delta(Op::LatestBlockhash) <= 2 * intents * max, "step {n} ({step:?}): {} blockhashes for {intents} intents", delta(Op::LatestBlockhash));
            // Never a send on a closed gate: the program accepted every
            // transaction the keeper sent, at the moment it was sent. The one
            // exception no keeper can avoid: its own earlier send landed, the
            // answer was lost, AND the chain could not say so when asked.
            let status_faults = status_faults(&env.chain.log) - status_faults_before;
            let sends = &env.chain.log.sends[sends_before..];
            for (j, s) in sends.iter().enumerate() {
                // A closed gate: not needed, or (a scheduled rebalance whose
                // schedule another send already took) the update stale.
                if s.probe_refused_with(u32::from(ErrorCode::RebalanceNotNeeded)) || s.probe_refused_with(u32::from(ErrorCode::OracleStale)) {
                    let own_landing_hidden = sends[..j].iter().any(|e| e.fault == Some(Fault::ResponseLost) && e.landed() && env.tokens.iter().any(|t| e.involves(&t.token) && s.involves(&t.token)));
                    assert!(status_faults > 0 && own_landing_hidden, "step {n} ({step:?}): sent on a closed gate: {s:?}");
                    unavoidable_resends += 1;
                }
            }
            if let Ok(r) = &result {
                assert_eq!(r.counts.checked, 3, "every token checked once per loop");
            }
            if ran >= MAX_LOOPS_PER_STEP || env.open_gates().await.is_empty() {
                break;
            }
        }
        if let Step::Frozen(_) = step {
            let (sims, sends) = (env.chain.log.calls(Op::Simulate), env.chain.log.calls(Op::Send));
            assert_eq!((sims, sends), step_calls, "step {n} ({step:?}): the oracle is frozen, yet the keeper simulated or sent");
        }
        let after = env.rebalance_counts().await;
        assert!(env.open_gates().await.is_empty(), "step {n} ({step:?}): a gate is still open after {ran} loops; faults: {}", env.chain.log);
        let here: Vec<usize> = (0..3).filter(|&i| after[i] != before[i]).collect();
        for i in 0..3 {
            assert!(after[i] - before[i] <= 1, "step {n}: token {i} rebalanced {} times", after[i] - before[i]);
        }
        // Exactly the rebalances the gates allowed.
        assert_eq!(here, open.keys().copied().collect::<Vec<_>>(), "step {n} ({step:?}): landed vs open gates {open:?}");
        opened.push(open);
        landed.push(here);
        loops.push(ran);
    }
    let reward_received = {
        let ata = get_associated_token_address(&keeper.pubkey(), &env.market.collateral_mint);
        match env.bank().raw_account(ata).await {
            Some(_) => env.bank().balance(ata).await,
            None => 0,
        }
    };
    Run { opened, landed, loops, end: env.state().await, counters: keeper.counters(), reward_received, unavoidable_resends, log: env.chain.log.clone() }
}

/// The fault-free run every fault run is compared with.
async fn reference(path: &[Step]) -> Run {
    let r = run_path(path, Schedule::none()).await;
    assert_eq!(r.log.injected_total(), 0);
    assert!(r.loops.iter().all(|&l| l == 1), "without faults one loop per step closes every gate: {:?}", r.loops);
    r
}

/// The fault run landed the same rebalances at the same steps and left the
/// same state as the reference; the keeper paid for every one and received
/// every reward.
fn assert_same_as_reference(run: &Run, reference: &Run) {
    assert_eq!(run.opened, reference.opened, "the same gates opened at the same steps");
    assert_eq!(run.landed, reference.landed, "the same rebalances landed at the same steps");
    assert_eq!(run.end, reference.end, "the same token, vault and pool state at the end");
    assert_eq!(run.reward_received, reference.reward_received, "the same rewards received");
    assert_eq!(run.counters.reward_earned, run.reward_received, "the keeper's reward counter matches its balance");
}

fn total_landed(r: &Run) -> usize {
    r.landed.iter().map(Vec::len).sum()
}

/// `PATH` under `schedule`, which injected at least so many of each fault in
/// `least`, landed the same rebalances as the fault-free reference.
async fn run_like_the_reference(what: &str, schedule: Schedule, least: &[(Fault, u64)]) -> Run {
    let reference = reference(PATH).await;
    let run = run_path(PATH, schedule).await;
    eprintln!("{what}: {} | loops {:?} | {:?}", run.log, run.loops, run.counters);
    for &(fault, n) in least {
        assert!(run.log.injected_of(fault) >= n, "{}", run.log);
    }
    assert_same_as_reference(&run, &reference);
    run
}

/// As [`run_like_the_reference`], and the keeper's `landed` counter is exact.
async fn counted_like_the_reference(what: &str, schedule: Schedule, least: &[(Fault, u64)]) -> Run {
    let run = run_like_the_reference(what, schedule, least).await;
    assert_eq!(run.counters.landed as usize, total_landed(&run), "the keeper's landed counter is exact");
    run
}

#[tokio::test]
async fn fault_free_keeper_lands_exactly_the_rebalances_the_gates_open_along_the_path() {
    let r = reference(PATH).await;
    let triggers: std::collections::BTreeSet<&str> = r.opened.iter().flat_map(|o| o.values().copied()).collect();
    // The path exercises several triggers, on several tokens, and quiet steps.
    assert!(total_landed(&r) >= 8, "{:?}", r.landed);
    for t in ["deviation", "band", "ripcord", "time"] {
        assert!(triggers.contains(t), "trigger {t} never opened: {triggers:?}");
    }
    assert!(r.landed.iter().any(Vec::is_empty), "some steps open no gate");
    assert!((0..3).all(|i| r.landed.iter().any(|l| l.contains(&i))), "every token rebalances at least once");
    let c = r.counters;
    assert_eq!((c.landed, c.sent, c.failed, c.loop_errors), (total_landed(&r) as u64, total_landed(&r) as u64, 0, 0));
    assert_eq!(c.skipped, 3 * PATH.len() as u64 - total_landed(&r) as u64);
    // One keeper_reward (1 USDC) per trigger episode, split across the chunks of a capped one.
    assert!(c.reward_earned > 0 && c.reward_earned <= total_landed(&r) as u64 * USDC, "{}", c.reward_earned);
    assert_eq!(r.reward_received, c.reward_earned);
    assert!(r.log.sends.iter().all(|s| s.landed()), "every send landed");
    eprintln!("path: {} steps, {} rebalances, triggers {triggers:?}, landed {:?}", PATH.len(), total_landed(&r), r.landed);
}

/// Every method of the chain, for menus.
fn every(fault: Fault) -> Vec<(Op, Fault)> {
    Op::ALL.into_iter().filter(|op| fault.applies_to(*op)).map(|op| (op, fault)).collect()
}

#[tokio::test]
async fn rpc_errors_on_every_method_delay_but_never_change_the_rebalances_that_land() {
    let run = counted_like_the_reference("errors", Schedule::none().random(11, 250, every(Fault::Error)), &[(Fault::Error, 20)]).await;
    assert!(run.counters.loop_errors > 0, "some fetches failed and were counted as loop errors");
}

#[tokio::test]
async fn timeouts_before_and_after_the_call_delay_but_never_change_the_rebalances_that_land() {
    let menu: Vec<(Op, Fault)> = every(Fault::Timeout).into_iter().chain(every(Fault::ResponseLost).into_iter().filter(|(op, _)| *op != Op::Send)).collect();
    counted_like_the_reference("timeouts", Schedule::none().random(12, 300, menu), &[(Fault::Timeout, 10), (Fault::ResponseLost, 10)]).await;
}

#[tokio::test]
async fn expired_blockhashes_are_rejected_then_retried_with_a_fresh_one_and_land() {
    counted_like_the_reference("expired", Schedule::none().random(13, 400, every(Fault::ExpiredBlockhash)), &[(Fault::ExpiredBlockhash, 10)]).await;
}

#[tokio::test]
async fn dropped_transactions_are_resent_and_land_once() {
    let menu = [(Op::Send, Fault::Dropped), (Op::Send, Fault::DroppedReportedLanded)];
    let run = run_like_the_reference("dropped", Schedule::none().random(14, 500, menu), &[(Fault::Dropped, 3), (Fault::DroppedReportedLanded, 3)]).await;
    // A drop reported as landed is believed (the keeper's `landed` counts what
    // the endpoint confirmed), found still open at the next loop and resent;
    // the reward counter, read from the balance, stays exact.
    assert_eq!(run.counters.landed, total_landed(&run) as u64 + run.log.injected_of(Fault::DroppedReportedLanded));
    assert_eq!(run.log.landed(), total_landed(&run), "each rebalance landed once");
}

#[tokio::test]
async fn a_send_that_landed_but_whose_answer_was_lost_is_not_landed_twice() {
    let run = run_like_the_reference("lost answers", Schedule::none().random(15, 500, [(Op::Send, Fault::ResponseLost)]), &[(Fault::ResponseLost, 5)]).await;
    // Each lost answer was looked up (one status call), not resent: one send
    // per rebalance, all landed, and the keeper counted each as landed.
    assert_eq!(run.log.calls(Op::Status), run.log.injected_of(Fault::ResponseLost));
    assert_eq!((run.log.sends.len(), run.log.landed()), (total_landed(&run), total_landed(&run)));
    assert_eq!((run.counters.landed, run.counters.sent, run.counters.failed), (total_landed(&run) as u64, total_landed(&run) as u64, 0));
    assert_eq!(run.unavoidable_resends, 0);
}

#[tokio::test]
async fn accounts_read_from_a_lagging_node_never_lead_to_a_send_on_a_closed_gate() {
    counted_like_the_reference("stale", Schedule::none().random(16, 500, every(Fault::Stale)), &[(Fault::Stale, 10)]).await;
}

#[tokio::test]
async fn mixed_random_faults_over_several_seeds_land_exactly_the_reference_rebalances() {
    let reference = reference(PATH).await;
    for seed in [1u64, 2, 3, 4, 5] {
        let run = run_path(PATH, Schedule::none().random_all(seed, 200)).await;
        eprintln!("seed {seed}: {} | loops {:?} | {:?}", run.log, run.loops, run.counters);
        assert!(run.log.injected_total() >= 10, "seed {seed}: {}", run.log);
        assert_same_as_reference(&run, &reference);
    }
}

#[tokio::test]
async fn a_frozen_oracle_is_skipped_without_simulating_or_sending_and_the_program_refuses_it_as_stale() {
    let mut env = Env::new(Schedule::none()).await;
    let mut keeper = env.keeper().await;
    let rival = env.bank().funded_keypair().await;
    let mint = env.market.collateral_mint;
    let rival_collateral = env.bank().create_token_account(mint, rival.pubkey()).await;
    for step in [Step::Price(104), Step::Price(110)] {
        env.advance(step).await;
        keeper.run_once(&mut env.chain).await.unwrap();
    }
    assert!(env.open_gates().await.is_empty());
    let (sims, sends) = (env.chain.log.calls(Op::Simulate), env.chain.log.calls(Op::Send));
    let before = env.rebalance_counts().await;
    let counters = keeper.counters();

    // The market moves 12 % while the oracle publishes nothing for 90 slots.
    for (i, step) in [Step::Frozen(118), Step::Frozen(123), Step::Frozen(124)].into_iter().enumerate() {
        env.advance(step).await;
        let r = keeper.run_once(&mut env.chain).await.unwrap();
        assert_eq!((r.counts.checked, r.counts.skipped, r.counts.sent, r.counts.failed), (3, 3, 0, 0), "frozen step {i}");
        // The program itself refuses a rebalance on the frozen price.
        let t = env.tokens[0];
        let out = env.bank().send(&[ix::rebalance(rival.pubkey(), &t, rival_collateral)], &[&rival]).await;
        out.expect_err(ErrorCode::OracleStale);
    }
    assert_eq!((env.chain.log.calls(Op::Simulate), env.chain.log.calls(Op::Send)), (sims, sends), "nothing simulated or sent while frozen");
    assert_eq!(env.rebalance_counts().await, before);
    assert_eq!(keeper.counters().since(&counters).skipped, 9);

    // The oracle resumes at the moved price: the gates it opens are rebalanced at once.
    env.advance(Step::Price(124)).await;
    let open = env.open_gates().await;
    assert!(open.len() >= 2, "a 12 % move opens the 3x and 1x gates: {open:?}");
    let r = keeper.run_once(&mut env.chain).await.unwrap();
    assert_eq!(r.counts.landed as usize, open.len());
    let after = env.rebalance_counts().await;
    assert_eq!((0..3).filter(|&i| after[i] == before[i] + 1).collect::<Vec<_>>(), open.keys().copied().collect::<Vec<_>>());
}

#[tokio::test]
async fn a_frozen_oracle_under_mixed_faults_lands_exactly_the_reference_rebalances() {
    let reference = reference(FROZEN_PATH).await;
    assert!(reference.opened[2..5].iter().all(BTreeMap::is_empty), "no gate opens while frozen");
    assert!(!reference.opened[5].is_empty(), "the resumed oracle opens gates");
    for seed in [21u64, 22, 23] {
        let run = run_path(FROZEN_PATH, Schedule::none().random_all(seed, 200)).await;
        eprintln!("frozen seed {seed}: {} | loops {:?}", run.log, run.loops);
        assert_same_as_reference(&run, &reference);
    }
}

#[tokio::test]
async fn a_send_whose_answer_is_lost_is_looked_up_and_not_sent_again() {
    let (mut env, mut keeper) = Env::after_a_ten_percent_rise(Schedule::none().next(Op::Send, Fault::ResponseLost, 2)).await;
    let open = env.open_gates().await;
    assert_eq!(open.len(), 2);

    let r = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!((r.counts.sent, r.counts.landed, r.counts.failed), (2, 2, 0));
    assert_eq!(env.chain.log.sends.len(), 2, "one send per open gate: nothing resent");
    assert!(env.chain.log.sends.iter().all(|s| s.landed() && s.fault == Some(Fault::ResponseLost)));
    assert_eq!(env.chain.log.calls(Op::Status), 2, "each lost answer looked up once");
    assert!(r.outcomes.iter().all(|(_, o)| matches!(o, FireOutcome::Landed { attempts: 1, .. })), "{:?}", r.outcomes);
    assert_eq!(r.counts.reward_earned, 2 * USDC, "the reward, without logs, from the balance");
    assert!(env.open_gates().await.is_empty());
}

#[tokio::test]
async fn a_lost_answer_the_chain_cannot_confirm_is_resent_once_refused_on_chain_and_counted_skipped() {
    // The send lands but its answer is lost, and the node asked has not seen it.
    let (mut env, mut keeper) = Env::after_a_ten_percent_rise(Schedule::none().next(Op::Send, Fault::ResponseLost, 1).next(Op::Status, Fault::Stale, 2)).await;
    let before = env.rebalance_counts().await;

    let r = keeper.run_once(&mut env.chain).await.unwrap();

    let after = env.rebalance_counts().await;
    assert_eq!((0..3).map(|i| after[i] - before[i]).sum::<u64>(), 2, "one rebalance per open gate, the resend included");
    assert!(env.open_gates().await.is_empty());
    // The resend is the same transaction when the blockhash has not moved
    // (the chain answers AlreadyProcessed: landed), else a new one the gate
    // refuses (skipped). The in-process bank moves its blockhash every few
    // milliseconds, so either can happen; neither is a failure.
    let resend = env.chain.log.sends[1].forwarded.clone().expect("the resend reached the chain");
    match &r.outcomes[0].1 {
        FireOutcome::Skipped { sent: true, .. } => {
            assert_eq!(resend.custom_error(), Some(u32::from(ErrorCode::RebalanceNotNeeded)));
            assert_eq!(r.counts.landed, 1);
        }
        FireOutcome::Landed { attempts: 2, .. } => {
            assert_eq!(resend.err, Some(TransactionError::AlreadyProcessed));
            assert_eq!(r.counts.landed, 2);
        }
        o => panic!("neither a refused nor an identical resend: {o:?}"),
    }
    assert_eq!(r.counts.failed, 0, "the hidden landing is not a failure");
}

#[tokio::test]
async fn a_send_that_never_got_a_blockhash_counts_failed_but_not_sent() {
    // Simulation gets its blockhash; the send step never does (3 attempts).
    let (mut env, mut keeper) = Env::after_a_ten_percent_rise(Schedule::none().script(Op::LatestBlockhash, [None, Some(Fault::Error), Some(Fault::Timeout), Some(Fault::Error)])).await;

    let r = keeper.run_once(&mut env.chain).await.unwrap();

    assert!(matches!(&r.outcomes[0].1, FireOutcome::Failed { sent: false, reason } if reason.contains("gave up after 3 attempts")), "{:?}", r.outcomes[0]);
    assert_eq!((r.counts.sent, r.counts.landed, r.counts.failed), (1, 1, 1), "only the second token's send is counted");
    assert_eq!(env.chain.log.sends.len(), 1);
}

#[tokio::test]
async fn transient_rpc_errors_are_retried_within_the_attempt_bound() {
    // Two errors then success on each step: both land on the third attempt;
    // a third error in a row gives up (bounded).
    let (mut env, mut keeper) = Env::after_a_ten_percent_rise(Schedule::none().next(Op::Simulate, Fault::Error, 2).next(Op::Send, Fault::Error, 2)).await;

    let r = keeper.run_once(&mut env.chain).await.unwrap();

    assert_eq!((r.counts.landed, r.counts.failed), (2, 0));
    assert!(matches!(r.outcomes[0].1, FireOutcome::Landed { attempts: 3, .. }), "{:?}", r.outcomes[0]);
    assert_eq!((env.chain.log.calls(Op::Simulate), env.chain.log.calls(Op::Send)), (4, 4), "3 + 1 of each");

    env.advance(Step::Price(121)).await;
    env.chain.schedule = Schedule::none().next(Op::Simulate, Fault::Error, 3);
    let (sims, sends) = (env.chain.log.calls(Op::Simulate), env.chain.log.calls(Op::Send));
    let r = keeper.run_once(&mut env.chain).await.unwrap();
    assert!(matches!(&r.outcomes[0].1, FireOutcome::Failed { sent: false, reason } if reason.contains("gave up after 3 attempts")), "{:?}", r.outcomes[0]);
    assert_eq!(env.chain.log.calls(Op::Simulate) - sims, 3 + (r.outcomes.len() as u64 - 1), "3 attempts for the first, 1 for each other");
    assert_eq!(env.chain.log.calls(Op::Send) - sends, r.outcomes.len() as u64 - 1);
}

// ---------------------------------------------------------------- races

/// `n` keepers (separate keypairs, one bank) run one loop each concurrently,
/// interleaving at every RPC call, at every step of `path`, each through its
/// own `FaultyChain` with `schedule(k)`. Per step: the open gates (program
/// math) before the race; every open gate gets exactly one landed rebalance
/// (one `Rebalanced` event, rebalance count +1), closed ones none; every loser
/// counts a skip, and every transaction the program refused was refused with
/// `RebalanceNotNeeded`. Returns (triggers, landed per keeper, losers that
/// were refused on chain after sending, losers refused in simulation,
/// faults injected).
async fn race(n: usize, path: &[Step], schedule: impl Fn(usize) -> Schedule) -> (usize, Vec<u64>, u64, u64, u64) {
    let env = Env::new(Schedule::none()).await;
    let Env { chain, tokens, market, .. } = env;
    let shared = Shared::new(chain.inner);
    let mut keepers = Vec::new();
    for k in 0..n {
        let kp = shared.0.lock().await.bank.funded_keypair().await;
        keepers.push((keeper_with(kp), FaultyChain::new(shared.clone(), schedule(k))));
    }
    let faulty = (0..n).any(|k| !schedule(k).is_empty());
    let (mut triggers, mut refused_on_chain, mut refused_in_sim, mut refused_after_send) = (0, 0u64, 0u64, 0u64);
    let not_needed = u32::from(ErrorCode::RebalanceNotNeeded);
    for (s, step) in path.iter().enumerate() {
        let (open, before) = {
            let mut c = shared.0.lock().await;
            advance(&mut c.bank, &market, &tokens, *step).await;
            (open_gates(&mut c, &tokens).await, rebalance_counts(&mut c.bank, &tokens).await)
        };
        triggers += open.len();
        let counters: Vec<Counters> = keepers.iter().map(|(k, _)| k.counters()).collect();
        let sends_before: Vec<usize> = keepers.iter().map(|(_, c)| c.log.sends.len()).collect();
        let mut rounds = 0;
        loop {
            rounds += 1;
            // Who starts first rotates, so different keepers win.
            keepers.rotate_left((s + rounds) % n);
            let local = tokio::task::LocalSet::new();
            let handles: Vec<_> = keepers
                .drain(..)
                .map(|(mut keeper, mut chain)| {
                    local.spawn_local(async move {
                        let r = keeper.run_once(&mut chain).await;
                        (keeper, chain, r)
                    })
                })
                .collect();
            local
                .run_until(async {
                    for h in handles {
                        let (keeper, chain, r) = h.await.expect("a keeper task panicked");
                        for (_, o) in r.map(|r| r.outcomes).unwrap_or_default() {
                            match o {
                                FireOutcome::Skipped { sent: false, .. } => refused_in_sim += 1,
                                FireOutcome::Skipped { sent: true, .. } => refused_after_send += 1,
                                _ => {}
                            }
                        }
                        keepers.push((keeper, chain));
                    }
                })
                .await;
            keepers.rotate_right((s + rounds) % n);
            let still_open = open_gates(&mut *shared.0.lock().await, &tokens).await;
            if !faulty || still_open.is_empty() || rounds >= MAX_LOOPS_PER_STEP {
                assert!(still_open.is_empty(), "step {s} ({step:?}): gates still open after {rounds} rounds: {still_open:?}");
                break;
            }
        }
        if !faulty {
            assert_eq!(rounds, 1);
        }
        let after = rebalance_counts(&mut shared.0.lock().await.bank, &tokens).await;
        // Events of every landed send this step, by token.
        let mut events: BTreeMap<usize, usize> = BTreeMap::new();
        for ((_, c), from) in keepers.iter().zip(&sends_before) {
            for rec in &c.log.sends[*from..] {
                if let Some(rep) = &rec.forwarded {
                    match &rep.err {
                        None => {
                            for e in decode_events::<Rebalanced>(&rep.logs) {
                                *events.entry(tokens.iter().position(|t| t.token == e.token).unwrap()).or_default() += 1;
                            }
                        }
                        // An injected expired blockhash is really rejected by the bank.
                        Some(TransactionError::BlockhashNotFound) | Some(TransactionError::AlreadyProcessed) => assert!(faulty, "step {s}: {rep:?}"),
                        Some(_) => {
                            // A loser of a scheduled rebalance: once the winner's landed the
                            // schedule is no longer due, and its update is refused as stale.
                            let stale_schedule = matches!(step, Step::Day(_)) && rep.custom_error() == Some(u32::from(ErrorCode::OracleStale));
                            assert!(rep.custom_error() == Some(not_needed) || stale_schedule, "step {s}: a send refused for another reason: {rep:?}");
                            refused_on_chain += 1;
                        }
                    }
                }
            }
        }
        let once: BTreeMap<usize, usize> = open.keys().map(|&i| (i, 1)).collect();
        assert_eq!(events, once, "step {s} ({step:?}): one Rebalanced event per open gate");
        for i in 0..3 {
            assert_eq!(after[i] - before[i], u64::from(open.contains_key(&i)), "step {s} ({step:?}): token {i}");
        }
        let deltas: Vec<Counters> = keepers.iter().zip(&counters).map(|((k, _), c)| k.counters().since(c)).collect();
        if !faulty {
            let landed: u64 = deltas.iter().map(|d| d.landed).sum();
            let skipped: u64 = deltas.iter().map(|d| d.skipped).sum();
            assert_eq!(landed as usize, open.len(), "step {s}: one landing per trigger across keepers");
            assert_eq!(skipped as usize, 3 * n * rounds - open.len(), "step {s}: every other (keeper, token) is a skip");
            assert!(deltas.iter().all(|d| d.failed == 0 && d.loop_errors == 0), "step {s}: a loser counted an error: {deltas:?}");
        }
    }
    if !faulty {
        assert_eq!(refused_after_send, refused_on_chain, "every send the gate refused on chain counted as a skip");
    }
    let landed = keepers.iter().map(|(k, _)| k.counters().landed).collect();
    let injected = keepers.iter().map(|(_, c)| c.log.injected_total()).sum();
    (triggers, landed, refused_on_chain, refused_in_sim, injected)
}

/// `n` keepers racing along `PATH` without faults: each of its 17 triggers
/// landed once. Returns the landings per keeper and the losers refused on
/// chain and in simulation.
async fn fault_free_race(n: usize) -> (Vec<u64>, u64, u64) {
    let (triggers, landed, on_chain, in_sim, _) = race(n, PATH, |_| Schedule::none()).await;
    eprintln!("{n} keepers: {triggers} triggers, landed per keeper {landed:?}, losers refused on chain {on_chain}, in simulation {in_sim}");
    assert_eq!(triggers, 17);
    assert_eq!(landed.iter().sum::<u64>(), 17);
    (landed, on_chain, in_sim)
}

#[tokio::test]
async fn two_racing_keepers_land_exactly_one_rebalance_per_trigger_and_the_loser_skips() {
    let (landed, on_chain, in_sim) = fault_free_race(2).await;
    assert!(landed.iter().all(|&l| l > 0), "each keeper won some triggers: {landed:?}");
    assert!(on_chain + in_sim > 0, "the keepers really raced: some loser passed the off-chain gate and was refused by the program");
}

#[tokio::test]
async fn five_racing_keepers_land_exactly_one_rebalance_per_trigger_and_the_losers_skip() {
    let (landed, on_chain, in_sim) = fault_free_race(5).await;
    assert!(landed.iter().filter(|&&l| l > 0).count() >= 3, "the winner changes with who starts first: {landed:?}");
    assert!(on_chain + in_sim >= 17, "at least one loser per trigger got past its own decision");
}

#[tokio::test]
async fn five_racing_keepers_under_mixed_faults_still_land_exactly_one_rebalance_per_trigger() {
    let (triggers, landed, on_chain, in_sim, injected) = race(5, PATH, |k| Schedule::none().random_all(100 + k as u64, 200)).await;
    eprintln!("5 faulty keepers: {triggers} triggers, landed per keeper {landed:?}, refused on chain {on_chain}, in simulation {in_sim}, {injected} faults");
    assert_eq!(triggers, 17);
    assert!(injected >= 50, "{injected}");
}

#[tokio::test]
async fn a_first_rebalance_reported_landed_that_never_landed_does_not_wedge_the_keeper() {
    // The keeper's very first send (which would also create its collateral
    // ATA) is confirmed by the endpoint but never lands. The keeper must not
    // go on believing the ATA exists: every later rebalance without the
    // create instruction would fail in simulation, forever.
    let (mut env, mut keeper) = Env::after_a_ten_percent_rise(Schedule::none().next(Op::Send, Fault::DroppedReportedLanded, 1)).await;
    let open = env.open_gates().await;
    assert_eq!(open.len(), 2);
    let before = env.rebalance_counts().await;

    let first = keeper.run_once(&mut env.chain).await.unwrap();
    assert_eq!(first.counts.landed, 1, "the phantom landing is believed: {:?}", first.outcomes);
    assert_eq!(env.open_gates().await.len(), 2, "nothing landed on chain yet");

    let mut loops = 1;
    while !env.open_gates().await.is_empty() && loops < 5 {
        // A keeper's loops are slots apart, so each sees a new blockhash (back
        // to back in the bank, the second loop's create-ATA rebalance could be
        // byte-identical to the phantom one, which the keeper will not resend).
        env.bank().warp(1).await;
        keeper.run_once(&mut env.chain).await.unwrap();
        loops += 1;
    }
    assert_eq!(loops, 2, "the next loop sees the ATA missing, creates it and lands both");
    let after = env.rebalance_counts().await;
    assert_eq!((0..3).filter(|&i| after[i] == before[i] + 1).collect::<Vec<_>>(), open.keys().copied().collect::<Vec<_>>());
    let ata = get_associated_token_address(&keeper.pubkey(), &env.market.collateral_mint);
    assert_eq!(env.bank().balance(ata).await, 2 * USDC);
}
