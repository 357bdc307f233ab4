//! The leveraged-token keeper: Fetch → Decide → Fire → Emit, generic over the
//! SDK's [`Chain`] so the same loop runs against a cluster ([`RpcChain`]) and
//! the in-process bank ([`BankChain`]) in the tests.
//!
//! * [`fetch`]: discover tokens (`getProgramAccounts`, every N loops), then one
//!   batched `accounts` call per loop for everything the decision needs.
//! * [`decide`]: the SDK's `decide` (the program's own math) per token, plus
//!   the global pause flag and the oracle checks.
//! * [`fire`]: simulate, size the compute limit, send with bounded retries.
//! * [`emit`]: counters, per-loop logs and the Prometheus endpoint.
//!
//! The keeper holds no authority: `rebalance` is permissionless and gated on
//! chain, so any number of keepers can run; a loser of a race is refused with
//! `RebalanceNotNeeded`, which the keeper counts as skipped.
//!
//! [`RpcChain`]: leveraged_token_sdk::chain::RpcChain
//! [`BankChain`]: leveraged_token_harness::BankChain

pub mod cli;
pub mod decide;
pub mod emit;
pub mod fetch;
pub mod fire;
pub mod oracle;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::TokenAccount;
use leveraged_token_sdk::chain::{Chain, ChainError};
use solana_keypair::Keypair;
use solana_signer::Signer;

pub use decide::{Intent, RebalanceAction, Verdict};
pub use emit::{Counters, Metrics};
pub use fetch::{Discovery, Snapshot, TokenSnapshot};
pub use fire::{FireOptions, FireOutcome};

/// Keeper settings.
#[derive(Debug, Clone)]
pub struct KeeperConfig {
    pub fire: FireOptions,
    /// Rediscover tokens every this many loops.
    pub refresh_every: u64,
    /// Pull markets: the `PriceUpdateV2` account to read per feed id
    /// (default: the sponsored shard-0 feed account).
    pub pull_oracles: HashMap<[u8; 32], Pubkey>,
}

impl Default for KeeperConfig {
    fn default() -> Self {
        Self { fire: FireOptions::default(), refresh_every: 10, pull_oracles: HashMap::new() }
    }
}

/// What one loop did.
#[derive(Debug, Clone)]
pub struct LoopReport {
    pub slot: u64,
    pub counts: Counters,
    pub outcomes: Vec<(Pubkey, FireOutcome)>,
}

/// A keeper: its fee-paying keypair, its counters and what it learned.
pub struct Keeper {
    payer: Keypair,
    pub config: KeeperConfig,
    metrics: Arc<Metrics>,
    discovery: Discovery,
    /// Collateral ATAs known to exist (no create instruction needed).
    collateral_ready: HashSet<Pubkey>,
    /// What this keeper sent, so it never sends the same bytes twice.
    sent: fire::Sent,
    loops: u64,
}

impl Keeper {
    pub fn new(payer: Keypair, config: KeeperConfig) -> Self {
        let discovery = Discovery::new(config.refresh_every, config.pull_oracles.clone());
        Self { payer, config, metrics: Arc::new(Metrics::default()), discovery, collateral_ready: HashSet::new(), sent: fire::Sent::default(), loops: 0 }
    }

    pub fn pubkey(&self) -> Pubkey {
        self.payer.pubkey()
    }

    /// The counters, shared (e.g. with the metrics endpoint).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    pub fn counters(&self) -> Counters {
        self.metrics.counters()
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Fetch: rediscover when due, then one batched read.
    pub async fn fetch<C: Chain>(&mut self, chain: &mut C) -> Result<Snapshot, ChainError> {
        let keeper = self.pubkey();
        let snap = fetch::fetch(chain, &mut self.discovery, &keeper).await?;
        self.metrics.tokens.store(self.discovery.tokens.len() as u64, Ordering::Relaxed);
        self.metrics.last_slot.store(snap.slot, Ordering::Relaxed);
        // What the chain shows wins over what a send reported: a rebalance
        // reported landed that never did (dropped, or rolled back with its
        // fork) did not create the ATA either, and without the create
        // instruction every later rebalance would fail. Creating is idempotent.
        for t in &snap.tokens {
            if t.keeper_collateral_balance.is_some() {
                self.collateral_ready.insert(t.keeper_collateral);
            } else {
                self.collateral_ready.remove(&t.keeper_collateral);
            }
        }
        for (token, why) in &snap.unreadable {
            tracing::warn!(%token, reason = %why, "token unreadable this loop");
        }
        Ok(snap)
    }

    /// Decide: one verdict per token; counts `checked`, and `skipped` or
    /// `failed` for tokens that will not be fired.
    pub fn decide(&self, snap: &Snapshot) -> Vec<Intent> {
        let mut intents = Vec::new();
        let unreadable = snap.unreadable.len() as u64;
        emit::add(&self.metrics.checked, snap.tokens.len() as u64 + unreadable);
        emit::add(&self.metrics.failed, unreadable);
        for v in decide::decide_all(snap) {
            match v {
                Verdict::Fire(i) => {
                    match &i.action {
                        RebalanceAction::Rebalance { trigger, plan } => tracing::info!(
                            token = %i.keys.token,
                            trigger,
                            leverage_before_bps = plan.leverage_before_bps,
                            leverage_after_bps = plan.leverage_after_bps,
                            trade_notional = %plan.trade_notional,
                            keeper_reward = plan.keeper_reward,
                            "gate open: rebalance"
                        ),
                        RebalanceAction::Wipe { bad_debt } => tracing::warn!(token = %i.keys.token, bad_debt, "settlement wipes the token: rebalance lands the wipe"),
                    }
                    intents.push(*i);
                }
                Verdict::Skip { token, reason } => {
                    emit::add(&self.metrics.skipped, 1);
                    tracing::debug!(%token, %reason, "skip");
                }
                Verdict::Error { token, reason } => {
                    emit::add(&self.metrics.failed, 1);
                    tracing::error!(%token, %reason, "decision failed");
                }
            }
        }
        intents
    }

    /// Fire every intent in turn; counts sent/landed/skipped/failed/simulated
    /// and the reward earned.
    pub async fn fire<C: Chain>(&mut self, chain: &mut C, intents: &[Intent]) -> Vec<(Pubkey, FireOutcome)> {
        let mut out = Vec::with_capacity(intents.len());
        // Last known balance of each collateral account, for the reward by delta.
        let mut balances: HashMap<Pubkey, u64> = HashMap::new();
        for i in intents {
            let create = !self.collateral_ready.contains(&i.keeper_collateral);
            let before = *balances.entry(i.keeper_collateral).or_insert(i.keeper_collateral_balance.unwrap_or(0));
            let o = fire::fire(chain, &self.payer, i, create, &self.config.fire, &mut self.sent).await;
            let token = i.keys.token;
            let m = &self.metrics;
            match &o {
                FireOutcome::Landed { report, compute_limit, attempts } => {
                    emit::add(&m.sent, 1);
                    emit::add(&m.landed, 1);
                    self.collateral_ready.insert(i.keeper_collateral);
                    let reward = match fire::reward_from_logs(&report.logs, &self.payer.pubkey(), &token) {
                        Some(r) => {
                            balances.insert(i.keeper_collateral, before + r);
                            r
                        }
                        None => match chain.accounts(&[i.keeper_collateral]).await {
                            Ok(a) => {
                                let now = a.into_iter().next().flatten().and_then(|a| TokenAccount::try_deserialize(&mut a.data.as_slice()).ok()).map(|a| a.amount).unwrap_or(before);
                                balances.insert(i.keeper_collateral, now);
                                now.saturating_sub(before)
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "could not read the collateral balance for the reward");
                                0
                            }
                        },
                    };
                    emit::add(&m.reward_earned, reward);
                    tracing::info!(%token, signature = %report.signature, reward, compute_limit, attempts, "rebalance landed");
                }
                FireOutcome::Simulated { units, compute_limit } => {
                    emit::add(&m.simulated, 1);
                    tracing::info!(%token, units = ?units, compute_limit, "dry run: simulation passed, not sent");
                }
                FireOutcome::Skipped { reason, sent } => {
                    emit::add(&m.skipped, 1);
                    emit::add(&m.sent, u64::from(*sent));
                    tracing::info!(%token, %reason, sent, "skipped: another keeper or the state got there first");
                }
                FireOutcome::Failed { reason, sent } => {
                    emit::add(&m.failed, 1);
                    emit::add(&m.sent, u64::from(*sent));
                    tracing::error!(%token, %reason, sent, "rebalance failed");
                }
            }
            out.push((token, o));
        }
        out
    }

    /// One full loop: Fetch → Decide → Fire → Emit.
    pub async fn run_once<C: Chain>(&mut self, chain: &mut C) -> Result<LoopReport, ChainError> {
        self.loops += 1;
        let start = self.counters();
        let snap = match self.fetch(chain).await {
            Ok(s) => s,
            Err(e) => {
                emit::add(&self.metrics.loops, 1);
                emit::add(&self.metrics.loop_errors, 1);
                tracing::error!(loop_no = self.loops, error = %e, "fetch failed; nothing decided this loop");
                return Err(e);
            }
        };
        let intents = self.decide(&snap);
        let outcomes = self.fire(chain, &intents).await;
        emit::add(&self.metrics.loops, 1);
        let counts = self.counters().since(&start);
        self.metrics.log_loop(self.loops, &counts, snap.slot);
        Ok(LoopReport { slot: snap.slot, counts, outcomes })
    }
}
