//! The leveraged-token keeper: Fetch → Decide → Fire → Emit, generic over the
//! SDK's [`Chain`] so the same loop runs against a cluster ([`RpcChain`]) and
//! the in-process bank ([`BankChain`]) in the tests.
//!
//! * [`fetch`]: discover tokens (`getProgramAccounts`, every N loops) and
//!   pending requests (every loop), one batched `accounts` call per loop for
//!   everything the decision needs, then the oracle updates for fixed price
//!   times from the keeper's [`UpdateSource`].
//! * [`decide`]: the SDK's `decide_at_oracle` (the program's own rebalance
//!   price rule and math) per token, plus the global pause flag; per request,
//!   execute (its price time came and the update for it is at hand), cancel
//!   (expired) or wait.
//! * [`fire`] / [`requests`]: simulate, size the compute limit, send with
//!   bounded retries.
//! * [`emit`]: counters, per-loop logs and the Prometheus endpoint.
//!
//! The keeper holds no authority: `rebalance`, `execute_*` and
//! `cancel_request` are permissionless and gated on chain, so any number of
//! keepers can run; a loser of a race is refused (`RebalanceNotNeeded`, a
//! closed request), which the keeper counts as skipped.
//!
//! [`RpcChain`]: leveraged_token_sdk::chain::RpcChain
//! [`BankChain`]: leveraged_token_harness::BankChain

pub mod cli;
pub mod decide;
pub mod emit;
pub mod fetch;
pub mod fire;
pub mod oracle;
pub mod requests;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::TokenAccount;
use leveraged_token_sdk::chain::{Chain, ChainError};
use solana_keypair::Keypair;
use solana_signer::Signer;

pub use decide::{Intent, RebalanceAction, RequestAction, RequestIntent, RequestVerdict, Verdict};
pub use emit::{Counters, Metrics};
pub use fetch::{Discovery, FoundRequest, RequestSnapshot, Snapshot, TokenSnapshot};
pub use fire::{FireOptions, FireOutcome};
pub use oracle::{AccountSource, Update, UpdateQuery, UpdateSource};
pub use requests::{Effect, RequestOutcome};

/// Keeper settings.
#[derive(Debug, Clone)]
pub struct KeeperConfig {
    pub fire: FireOptions,
    /// Rediscover tokens every this many loops.
    pub refresh_every: u64,
    /// Pull markets: the `PriceUpdateV2` account to read per feed id
    /// (default: the sponsored shard-0 feed account).
    pub pull_oracles: HashMap<[u8; 32], Pubkey>,
    /// Execute and cancel users' requests (on by default).
    pub requests: bool,
    /// Pay the rent of an owner's missing destination account to execute its
    /// request (more than the executor fee; off by default: such requests
    /// wait for the owner, or expire and are cancelled).
    pub create_destinations: bool,
}

impl Default for KeeperConfig {
    fn default() -> Self {
        Self { fire: FireOptions::default(), refresh_every: 10, pull_oracles: HashMap::new(), requests: true, create_destinations: false }
    }
}

/// What one loop did.
#[derive(Debug, Clone)]
pub struct LoopReport {
    pub slot: u64,
    pub counts: Counters,
    /// Rebalances, by token.
    pub outcomes: Vec<(Pubkey, FireOutcome)>,
    /// Requests executed or cancelled, by request.
    pub requests: Vec<(Pubkey, RequestOutcome)>,
}

/// A keeper: its fee-paying keypair, its counters, what it learned, and
/// where it gets the oracle update for a fixed price time (`S`).
pub struct Keeper<S: UpdateSource = AccountSource> {
    payer: Keypair,
    pub config: KeeperConfig,
    metrics: Arc<Metrics>,
    discovery: Discovery,
    source: S,
    /// Collateral ATAs known to exist (no create instruction needed).
    collateral_ready: HashSet<Pubkey>,
    /// What this keeper sent, so it never sends the same bytes twice.
    sent: fire::Sent,
    loops: u64,
}

impl Keeper {
    /// A keeper whose updates for fixed price times come from the markets'
    /// configured oracle accounts ([`AccountSource`]).
    pub fn new(payer: Keypair, config: KeeperConfig) -> Self {
        Self::with_source(payer, config, AccountSource)
    }
}

impl<S: UpdateSource> Keeper<S> {
    pub fn with_source(payer: Keypair, config: KeeperConfig, source: S) -> Self {
        let mut discovery = Discovery::new(config.refresh_every, config.pull_oracles.clone());
        discovery.scan_requests = config.requests;
        Self { payer, config, metrics: Arc::new(Metrics::default()), discovery, source, collateral_ready: HashSet::new(), sent: fire::Sent::default(), loops: 0 }
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

    /// Fetch: rediscover when due, scan for requests, one batched read,
    /// then the updates for fixed price times.
    pub async fn fetch<C: Chain>(&mut self, chain: &mut C) -> Result<Snapshot, ChainError> {
        let keeper = self.pubkey();
        let snap = fetch::fetch(chain, &mut self.discovery, &keeper, &mut self.source).await?;
        self.metrics.tokens.store(self.discovery.tokens.len() as u64, Ordering::Relaxed);
        self.metrics.last_slot.store(snap.slot, Ordering::Relaxed);
        if let Some(e) = &snap.request_scan_error {
            tracing::warn!(error = %e, "request scan failed; requests wait for the next loop");
        }
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
                            oracle = %i.keys.market.oracle,
                            schedule_target = ?i.schedule_target,
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

    /// Decide on the snapshot's requests: what to execute or cancel. Sets
    /// the pending gauge to the requests left waiting.
    pub fn decide_requests(&self, snap: &Snapshot) -> Vec<RequestIntent> {
        let mut intents = Vec::new();
        let mut waiting = 0u64;
        for v in decide::decide_requests(snap, self.config.create_destinations) {
            match v {
                RequestVerdict::Act(i) => {
                    match i.action {
                        RequestAction::Execute { oracle, create_destination } => {
                            tracing::info!(request = %i.key, kind = i.request.kind.name(), owner = %i.request.owner, target = i.request.target, %oracle, create_destination, "request executable: executing")
                        }
                        RequestAction::Cancel => {
                            tracing::info!(request = %i.key, kind = i.request.kind.name(), owner = %i.request.owner, expires_at = i.request.expires_at, "request expired: cancelling")
                        }
                    }
                    intents.push(*i);
                }
                RequestVerdict::Wait { key, reason } => {
                    waiting += 1;
                    tracing::debug!(request = %key, %reason, "request waits");
                }
            }
        }
        self.metrics.requests_pending.store(waiting, Ordering::Relaxed);
        intents
    }

    /// Execute or cancel every request intent in turn; counts what each came to.
    pub async fn fire_requests<C: Chain>(&mut self, chain: &mut C, intents: &[RequestIntent]) -> Vec<(Pubkey, RequestOutcome)> {
        let mut out = Vec::with_capacity(intents.len());
        for i in intents {
            let o = requests::fire_request(chain, &self.payer, i, &self.config.fire, &mut self.sent).await;
            let m = &self.metrics;
            let (request, kind, owner) = (i.key, i.request.kind.name(), i.request.owner);
            let executed = |report: &leveraged_token_sdk::chain::TxReport| {
                emit::add(&m.requests_executed, 1);
                emit::add(&m.executor_fees_earned, i.request.executor_fee);
                report.signature.clone()
            };
            match &o {
                RequestOutcome::Filled { report } => {
                    let signature = executed(report);
                    emit::add(&m.requests_filled, 1);
                    tracing::info!(%request, kind, %owner, %signature, executor_fee = i.request.executor_fee, "request filled");
                }
                RequestOutcome::Refunded { reason, report } => {
                    let signature = executed(report);
                    emit::add(&m.requests_refunded, 1);
                    emit::add(&m.refunds[emit::refund_index(*reason)], 1);
                    tracing::info!(%request, kind, %owner, %signature, reason = emit::refund_label(*reason), "request refunded: escrow returned to the owner");
                }
                RequestOutcome::Executed { report } => {
                    let signature = executed(report);
                    tracing::warn!(%request, kind, %owner, %signature, "request executed; no logs to tell whether it filled or refunded");
                }
                RequestOutcome::Cancelled { report } => {
                    emit::add(&m.requests_expired, 1);
                    tracing::info!(%request, kind, %owner, signature = %report.signature, "expired request cancelled: escrow returned to the owner");
                }
                RequestOutcome::Simulated { units, compute_limit, effect } => {
                    emit::add(&m.simulated, 1);
                    tracing::info!(%request, kind, units = ?units, compute_limit, effect = ?effect, "dry run: simulation passed, not sent");
                }
                RequestOutcome::Skipped { reason, sent } => {
                    emit::add(&m.requests_skipped, 1);
                    tracing::info!(%request, kind, %reason, sent, "request skipped");
                }
                RequestOutcome::Failed { reason, sent } => {
                    emit::add(&m.requests_failed, 1);
                    tracing::error!(%request, kind, %reason, sent, "request execution or cancellation failed");
                }
            }
            out.push((request, o));
        }
        out
    }

    /// One full loop: Fetch → Decide → Fire → Emit, rebalances first, then requests.
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
        let request_intents = self.decide_requests(&snap);
        let requests = self.fire_requests(chain, &request_intents).await;
        emit::add(&self.metrics.loops, 1);
        let counts = self.counters().since(&start);
        self.metrics.log_loop(self.loops, &counts, snap.slot);
        Ok(LoopReport { slot: snap.slot, counts, outcomes, requests })
    }
}
