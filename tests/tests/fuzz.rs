#![allow(deprecated)]
//! Seeded stateful fuzzer: random operations by random actors against two
//! markets (two collateral mints, a legacy and a pull oracle) with several
//! tokens each, every invariant checked after every step.
//!
//! Every mint, redeem, LP deposit and withdrawal is a request and, later, its
//! execution: the fuzzer requests (random amounts and bounds, so some are
//! refused and some refunded), then executes at once or leaves the request
//! open while other operations run; an execution comes soon after the price
//! time, late in the request's life, or after its expiry (refused, then
//! cancelled), by the owner or by another actor.
//!
//! * `FUZZ_SEED=<u64>` replays a run (default: a fresh seed from the clock,
//!   printed at the start and in every failure message);
//! * `FUZZ_OPS=<n>` sets the number of operations (default [`DEFAULT_OPS`]);
//! * `FUZZ_PROGRESS=<n>` prints a progress line every n operations;
//! * `FUZZ_STATS=1` prints the outcome count of every operation kind at the end;
//! * `FUZZ_STRICT=1` makes an execution refused with MathOverflow (finding
//!   F7: a quote whose shares exceed u64; the request stays open) a violation
//!   instead of a counted event;
//! * `FUZZ_DEBUG_ERROR=<ErrorName>` / `FUZZ_DEBUG_WIPES=1` print each such
//!   failure / each wipe with its context.
//!
//! `RUST_LOG=error` silences the bank's per-instruction debug log (faster).
//!
//! A run longer than [`SEGMENT_OPS`] is split into segments, each a fresh bank
//! seeded `seed + segment`; a failure names the segment seed and the op index
//! inside it, so `FUZZ_SEED=<segment seed> FUZZ_OPS=<op + 1>` replays it.
//!
//! Invariants (checked after every operation; docs/security.md explains each):
//! 1. conservation — per collateral mint, Σ balances of every known account
//!    (the pool and insurance vaults, and the escrows of open mint and deposit
//!    requests included) == the mint's supply == what the harness minted
//!    (setup + faucet top-ups): no collateral created or destroyed;
//! 2. share and LP mints — supply == Σ holders' balances + Σ escrows of open
//!    redeem (withdraw) requests;
//! 3. pool books — each market's aggregates equal the sums over its tokens,
//!    each token's `terms()` added from `Aggregates::default()` as
//!    `Aggregates::replace` does (net_base = Σ base, gross_base = Σ |base|,
//!    net_cost = Σ cost, long/short_notional = Σ |cost| per side (base ≥ 0 is
//!    long), long/short_weighted = Σ |cost|·index_snapshot per side, prepaid =
//!    Σ charge_prepaid); every vault's balance equals the running balance
//!    implied by the program's events (settlement transfers, trade fees,
//!    payouts, rewards, LP flows, fee collection,
//!    `+ LossAbsorbed.insurance_vault_paid` and `− InsuranceFunded.amount` for
//!    the pool vault) plus harness
//!    donations, and so does the insurance vault's (`+ InsuranceFunded.amount
//!    − LossAbsorbed.insurance_vault_paid`, each `insurance_balance_after`
//!    included); after a settling instruction a token's reported equity ==
//!    vault − fees_owed; every LP deposit and withdrawal priced at the honest
//!    pool value, `settlement::market_pool_value` over every token of the
//!    market with its vault, on the side worse for the LP;
//! 4. caps on the net book — right after a filled mint that did not shrink
//!    |net|, each side's notional ≤ side_cap_bps, |net| ≤ net_cap_bps and the
//!    token's stress loss ≤ stress_loss_cap_bps of the pool value the program
//!    checks mints on (`pool_value_aggregate`), re-derived exactly; right after
//!    a filled LP withdrawal, |net| ≤ net_cap_bps of the honest pool value less
//!    the payout;
//! 5. a wiped token stays wiped (base = cost = 0, no mint ever fills);
//! 6. after an uncapped, non-wiping rebalance |leverage − target| ≤ 2 bps;
//! 7. no free lunch — a mint redeemed right after at the same price returns
//!    at most what was paid, an LP round trip at most the pool's own return
//!    between its two executions (the value of an LP share, virtual shares
//!    included), and every redeem pays at most the holder's bound: Σ paid in,
//!    plus Σ h/(S+1000)·|ΔN| over price moves and Σ h/(S+1000)·funding the
//!    token received (a negative charge: the lighter side is paid), h counting
//!    the shares escrowed in the holder's open redeems, plus the documented
//!    rounding and confidence slack;
//! 8. every failed transaction changed no account; a substituted pinned account
//!    (of a request, an execution — an LP flow's list of every token of the
//!    market and its vault included, once past a pause and the update's
//!    checks —, a cancel, a rebalance or a fee collection) is always
//!    refused; ordinary operations fail only with the program's named errors,
//!    a request exactly with the one its terms call for;
//! 9. the two borrow indices and the last oracle publish time never go
//!    backwards (the charge indices `long_index`/`short_index` may: the side
//!    that receives funding steps down);
//! 10. escrow — every open request exists with the terms it was made with,
//!     and its escrow holds exactly its amount; a request that lands escrows
//!     exactly its amount and costs its owner the two rents and the executor
//!     fee;
//! 11. each request closes exactly once — filled, refunded (the escrow back
//!     whole, the market and token untouched) or cancelled after its expiry
//!     (escrow, fee and rents back to the owner) — and is then gone: a second
//!     execution is refused (AccountNotInitialized); the executor earns exactly
//!     the fee, the owner gets the rents back; an execution after expiry is
//!     refused (RequestExpired), a cancel before it (RequestNotExpired), an
//!     update of another price time (OracleNotAtTarget). At the end of a
//!     segment every request is closed: opened = filled + refunded + cancelled;
//! 12. insurance — a wipe's loss is absorbed exactly by equity + fees owed +
//!     insurance + LPs, the insurance vault paying at most its part; the
//!     insurance vault's balance + `insurance_owed` never decreases except by
//!     `LossAbsorbed.by_insurance`, and `insurance_covered_total` == Σ
//!     `LossAbsorbed.by_insurance` seen;
//! 13. funding and borrow — (a) the pool's income `income_total_scaled` is
//!     never negative and never decreases; (b) every `PositionSettled` has
//!     `charge == funding_fee + borrow_fee` (as `math::settle` defines them);
//!     (c) every transaction that accrues a market steps its four indices and
//!     its income exactly as `Market::index_step_at` of the market and pool
//!     vault before it says (so accrual precedes every change to the book and
//!     the cash), and on that book (`long_notional − short_notional`) the
//!     heavier side's charge step ≥ the lighter side's (equal when balanced) —
//!     checked per transaction, where the book is one, rather than between two
//!     checks, where several books may have been charged; (d) what the tokens
//!     were charged is what the pool booked: Σ `PositionSettled.charge` × S ==
//!     income − the charges accrued on the open book (exact) + Σ prepaid
//!     remainders, plus less than S per wipe (the remainder a wiping
//!     settlement prepaid is dropped with the position).
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use leveraged_token::constants::MAX_TOKENS_PER_MARKET;
use leveraged_token::constants::{PAUSE_ALL, PAUSE_LIQUIDITY, PAUSE_MINT, PAUSE_REDEEM};
use leveraged_token::events::{
    FeesCollected, InsuranceFunded, LiquidityDeposited, LiquidityWithdrawn, LossAbsorbed, Minted, PositionSettled, Rebalanced, Redeemed, RequestCancelled, RequestRefunded, TokenWiped,
};
use leveraged_token::math::pool::{mint_cap_breach, net_cap_breach, pool_value_aggregate, Aggregates, PositionTerms, Side};
use leveraged_token::math::position::{conf_exposure_ceil, leverage_bps, notional_floor};
use leveraged_token::math::price::{normalize_price, NormalizedPrice};
use leveraged_token::math::shares::{VIRTUAL_ASSETS, VIRTUAL_SHARES};
use leveraged_token::math::INDEX_SCALE;
use leveraged_token::pause::paused;
use leveraged_token::settlement::market_pool_value;
use leveraged_token::state::{Config, LeveragedToken, Market, MarketParams, Request, RequestKind, TokenParams, TokenStatus};
use leveraged_token_sdk::decide::{decide_at_oracle, settle_view, Decision, TokenView};
use leveraged_token_sdk::errors::program_error;
use leveraged_token_sdk::{ix, MarketKeys, OracleKind, RequestKeys, TokenKeys};
use leveraged_token_tests::harness::deployment::Oracle;
use leveraged_token_tests::{Bank, ErrorCode, TestKeypair, TestSigner, TxOutcome};
use pyth_sdk_solana::state::PriceStatus;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use solana_account::Account;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

/// Operations a default run performs (CI): see docs/security.md for the timing.
const DEFAULT_OPS: u64 = 20_000;
/// Operations per fresh bank.
const SEGMENT_OPS: u64 = 20_000;
/// Tokens per segment (wiped ones are replaced up to this many, and up to
/// `MAX_TOKENS_PER_MARKET` on a market).
const MAX_TOKENS: usize = 64;
const EXPO: i32 = -8;
const USD: i64 = 100_000_000;
const FEED: [u8; 32] = [0x42; 32];
const VIRTUAL: u128 = 1_000;
/// An actor's wallet is topped up below this (it pays rents and executor fees).
const MIN_WALLET: u64 = 2_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OracleMode {
    Fresh,
    /// Confidence wider than the market allows.
    Wide,
    /// Published longer ago than the market allows.
    Stale,
    /// Not republished: it ages with the slots.
    Frozen,
}

struct MarketM {
    keys: MarketKeys,
    mint: Pubkey,
    unit: u64,
    decimals: u8,
    pull: bool,
    base_price: i64,
    price: i64,
    conf: u64,
    mode: OracleMode,
    tokens: Vec<usize>,
    treasury_account: Pubkey,
    /// Pool vault balance implied by the events and harness transfers.
    implied_pool: i128,
    /// Insurance vault balance implied by the events (`InsuranceFunded` in,
    /// `LossAbsorbed.insurance_vault_paid` out).
    implied_insurance: i128,
    /// Σ `LossAbsorbed.by_insurance` seen, in total and since the last check.
    insurance_covered: u128,
    insurance_covered_since_check: u128,
    /// Insurance vault balance + `insurance_owed` at the last check.
    last_insurance: u128,
    /// Wipes seen on this market (`LossAbsorbed` events).
    wipes: u32,
    /// Σ `PositionSettled.charge` of this market's tokens seen.
    charges: i128,
    /// At the last check: the pool's income (× INDEX_SCALE) and the two borrow indices.
    last_income: i128,
    last_borrow: (u128, u128),
    last_publish: i64,
    supply: u64,
}

struct TokenM {
    keys: TokenKeys,
    m: usize,
    wiped: bool,
    implied_vault: i128,
}

/// An actor's wallet and its associated token accounts (requests pay from
/// and to them): collateral and LP per market, shares per token.
struct Actor {
    kp: TestKeypair,
    coll: Vec<Pubkey>,
    lp: Vec<Pubkey>,
    shares: Vec<Pubkey>,
}

/// What an executed transaction did.
struct Exec {
    out: TxOutcome,
    before: HashMap<Pubkey, Option<Account>>,
}

impl Exec {
    fn ok(&self) -> bool {
        self.out.result.is_ok()
    }
}

/// A request the fuzzer opened and has not seen closed.
#[derive(Clone, Debug)]
struct Req {
    kind: RequestKind,
    /// Owner (actor index), market, token (mint, redeem).
    a: usize,
    mi: usize,
    ti: Option<usize>,
    nonce: u64,
    keys: RequestKeys,
    amount: u64,
    min_out: u64,
    target: i64,
    expires_at: i64,
}

/// When an execution comes, relative to the request's price time and expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timing {
    /// At the price time (or now, if it has passed).
    Soon,
    /// Somewhere between the price time and the expiry.
    Late,
    /// After the expiry: refused, then cancelled.
    Expired,
}

/// How a request execution (or its cancel) ended.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// Filled: what it paid out, and for an LP flow the pool value and LP
    /// supply the execution priced at (before it).
    Filled {
        out: u64,
        pool: Option<(u128, u128)>,
    },
    Refunded,
    Cancelled,
    /// Refused by name (MathOverflow): still open.
    Failed,
}

struct Fuzz {
    bank: Bank,
    rng: ChaCha8Rng,
    seed: u64,
    op: u64,
    op_name: String,
    admin: TestKeypair,
    treasury: TestKeypair,
    markets: Vec<MarketM>,
    tokens: Vec<TokenM>,
    actors: Vec<Actor>,
    cache: HashMap<Pubkey, Option<Account>>,
    universe: Vec<Pubkey>,
    /// No-free-lunch bound per actor per token (collateral units).
    bound: Vec<Vec<u128>>,
    trail: VecDeque<String>,
    stats: BTreeMap<String, u64>,
    nonce: u64,
    checks: u64,
    last_outcome: String,
    /// (trade_notional, trade_fee, keeper_reward, triggers) of the last Rebalanced event.
    last_rebalanced: Option<(i128, u64, u64, u8)>,
    /// Open requests, in the order they were made.
    open: Vec<Req>,
    /// Every closed request (its address) and how it closed.
    closed: HashMap<Pubkey, &'static str>,
    /// Request nonces (one counter for every owner).
    req_nonce: u64,
    /// Milliseconds of slots [`Fuzz::reach`] moved not yet added to the clock's unix time.
    slot_ms: u64,
    /// Figures for the report: redeems checked against the bound (and the
    /// largest payout / bound ratio), rebalances checked against the target,
    /// mints and withdrawals checked against the caps, round trips, requests.
    figures: Figures,
}

#[derive(Default, Clone, Debug)]
struct Figures {
    bound_checks: u64,
    max_bound_ratio: f64,
    lev_checks: u64,
    max_lev_err_bps: i64,
    cap_checks: u64,
    withdraw_cap_checks: u64,
    lp_value_checks: u64,
    accrual_checks: u64,
    charge_checks: u64,
    insurance_funded: u128,
    insurance_covered: u128,
    lp_losses: u128,
    round_trips: u64,
    lp_round_trips: u64,
    max_lp_return_ratio: f64,
    substitutions: u64,
    failed_unchanged: u64,
    wipes: u64,
    share_supply_overflows: u64,
    lp_supply_overflows: u64,
    sweeps: u64,
    requests: u64,
    requests_refused: u64,
    fills: u64,
    refunds: u64,
    cancels: u64,
    expired_refused: u64,
    early_cancels_refused: u64,
    replays_refused: u64,
    wrong_updates_refused: u64,
    stranger_executions: u64,
    escrow_checks: u64,
    refund_reasons: BTreeMap<String, u64>,
}

impl Figures {
    fn add(&mut self, g: &Figures) {
        self.bound_checks += g.bound_checks;
        self.max_bound_ratio = self.max_bound_ratio.max(g.max_bound_ratio);
        self.lev_checks += g.lev_checks;
        self.max_lev_err_bps = self.max_lev_err_bps.max(g.max_lev_err_bps);
        self.cap_checks += g.cap_checks;
        self.withdraw_cap_checks += g.withdraw_cap_checks;
        self.lp_value_checks += g.lp_value_checks;
        self.accrual_checks += g.accrual_checks;
        self.charge_checks += g.charge_checks;
        self.insurance_funded += g.insurance_funded;
        self.insurance_covered += g.insurance_covered;
        self.lp_losses += g.lp_losses;
        self.round_trips += g.round_trips;
        self.lp_round_trips += g.lp_round_trips;
        self.max_lp_return_ratio = self.max_lp_return_ratio.max(g.max_lp_return_ratio);
        self.substitutions += g.substitutions;
        self.failed_unchanged += g.failed_unchanged;
        self.wipes += g.wipes;
        self.share_supply_overflows += g.share_supply_overflows;
        self.lp_supply_overflows += g.lp_supply_overflows;
        self.sweeps += g.sweeps;
        self.requests += g.requests;
        self.requests_refused += g.requests_refused;
        self.fills += g.fills;
        self.refunds += g.refunds;
        self.cancels += g.cancels;
        self.expired_refused += g.expired_refused;
        self.early_cancels_refused += g.early_cancels_refused;
        self.replays_refused += g.replays_refused;
        self.wrong_updates_refused += g.wrong_updates_refused;
        self.stranger_executions += g.stranger_executions;
        self.escrow_checks += g.escrow_checks;
        for (k, v) in &g.refund_reasons {
            *self.refund_reasons.entry(k.clone()).or_default() += v;
        }
    }
}

fn decode<T: AccountDeserialize>(a: &Option<Account>) -> T {
    T::try_deserialize(&mut a.as_ref().expect("account exists").data.as_slice()).expect("decode")
}

fn amount_of(a: &Option<Account>) -> u64 {
    a.as_ref().map(|a| spl_token::state::Account::unpack(&a.data).expect("token account").amount).unwrap_or(0)
}

fn lamports_of(a: &Option<Account>) -> u64 {
    a.as_ref().map_or(0, |a| a.lamports)
}

fn supply_of(a: &Option<Account>) -> u64 {
    spl_token::state::Mint::unpack(&a.as_ref().expect("mint").data).expect("mint").supply
}

fn error_name(out: &TxOutcome) -> String {
    match &out.result {
        Ok(()) => "ok".into(),
        Err(TransactionError::InstructionError(_, solana_instruction_error::InstructionError::Custom(c))) if program_error(*c).is_some() => {
            format!("{:?}", program_error(*c).unwrap())
        }
        Err(TransactionError::InstructionError(_, solana_instruction_error::InstructionError::Custom(c))) => format!("custom#{c}"),
        Err(e) => format!("{e:?}"),
    }
}

fn is_program_error(out: &TxOutcome) -> bool {
    matches!(out.custom_error(), Some(c) if program_error(c).is_some())
}

fn is_error(out: &TxOutcome, code: ErrorCode) -> bool {
    out.custom_error() == Some(u32::from(code))
}

/// What a request of `kind` pays in and is paid out, and the pause flag of its flow.
fn flow_flag(kind: RequestKind) -> u8 {
    match kind {
        RequestKind::Mint => PAUSE_MINT,
        RequestKind::Redeem => PAUSE_REDEEM,
        RequestKind::Deposit | RequestKind::Withdraw => PAUSE_LIQUIDITY,
    }
}

impl Fuzz {
    // ───────────────────────────── setup ─────────────────────────────

    async fn new(seed: u64) -> Self {
        let mut bank = Bank::new().await;
        let admin = bank.funded_keypair().await;
        let treasury = TestKeypair::new();
        let mut f = Fuzz {
            bank,
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            op: 0,
            op_name: "setup".into(),
            admin,
            treasury,
            markets: vec![],
            tokens: vec![],
            actors: vec![],
            cache: HashMap::new(),
            universe: vec![],
            bound: vec![],
            trail: VecDeque::new(),
            stats: BTreeMap::new(),
            nonce: 0,
            checks: 0,
            last_outcome: String::new(),
            last_rebalanced: None,
            open: vec![],
            closed: HashMap::new(),
            req_nonce: 0,
            slot_ms: 0,
            figures: Figures::default(),
        };
        let a = f.admin.pubkey();
        let t = f.treasury.pubkey();
        f.send_ok(&[ix::initialize_config(a, t, leveraged_token::constants::MIN_PARAM_DELAY_SECS)], &[&f.admin.insecure_clone()]).await;

        // Market A: 6-decimal collateral, Pyth legacy at $100. Market B: 9 decimals, Pyth pull at $2,000.
        for (decimals, pull, price) in [(6u8, false, 100 * USD), (9u8, true, 2_000 * USD)] {
            let mint = f.bank.create_mint(decimals).await;
            let oracle = Pubkey::new_unique();
            let keys = if pull { MarketKeys::pull(FEED, oracle, mint) } else { MarketKeys::legacy(oracle, mint) };
            let treasury_account = f.bank.create_token_account(mint, t).await;
            let unit = 10u64.pow(u32::from(decimals));
            f.markets.push(MarketM {
                keys,
                mint,
                unit,
                decimals,
                pull,
                base_price: price,
                price,
                conf: price as u64 / 2_000,
                mode: OracleMode::Fresh,
                tokens: vec![],
                treasury_account,
                implied_pool: 0,
                implied_insurance: 0,
                insurance_covered: 0,
                insurance_covered_since_check: 0,
                last_insurance: 0,
                wipes: 0,
                charges: 0,
                last_income: 0,
                last_borrow: (0, 0),
                last_publish: i64::MIN,
                supply: 0,
            });
            let mi = f.markets.len() - 1;
            f.write_oracle(mi).await;
            let kind = if pull { OracleKind::PythPull } else { OracleKind::PythLegacy };
            f.send_ok(&[ix::create_market(a, &keys, kind, leveraged_token_sdk::defaults::market_params(), None)], &[&f.admin.insecure_clone()]).await;
        }
        // Two LPs and four traders, each with collateral of both mints and LP accounts of both markets.
        for i in 0..6 {
            let kp = f.bank.funded_keypair().await;
            let mut coll = vec![];
            let mut lp = vec![];
            for mi in 0..2 {
                let (mint, unit, lp_mint) = (f.markets[mi].mint, f.markets[mi].unit, f.markets[mi].keys.lp_mint);
                let c = f.bank.create_ata(kp.pubkey(), mint).await;
                let amount = if i == mi {
                    3_000_000
                } else if i < 2 {
                    100_000
                } else {
                    200_000
                };
                f.bank.mint_to(mint, c, amount * unit).await;
                coll.push(c);
                lp.push(f.bank.create_ata(kp.pubkey(), lp_mint).await);
            }
            f.actors.push(Actor { kp, coll, lp, shares: vec![] });
        }
        for mi in 0..2 {
            let s = f.bank.supply(f.markets[mi].mint).await;
            f.markets[mi].supply = s;
        }
        for (mi, lev) in [(0, 30_000), (0, -10_000), (0, 20_000), (1, 30_000), (1, -20_000), (1, 10_000)] {
            f.spawn_token(mi, lev).await;
        }
        f.resync().await;
        // LPs seed the pools: 2,000,000 A and 1,000,000 B, requested and executed by themselves.
        for (mi, amount) in [(0usize, 2_000_000u64), (1, 1_000_000)] {
            let units = amount * f.markets[mi].unit;
            let Some(r) = f.op_request(mi, RequestKind::Deposit, mi, None, units, 0).await else { f.fail("seed deposit request refused") };
            let i = f.open.iter().position(|q| q.keys.request == r.keys.request).unwrap();
            if !matches!(f.op_execute(i, Timing::Soon, mi).await, Outcome::Filled { .. }) {
                f.fail("seed deposit not filled");
            }
        }
        f.check_all("setup");
        f
    }

    /// Create a token of `lev` on market `mi`, share accounts (associated) for every actor.
    async fn spawn_token(&mut self, mi: usize, lev: i32) {
        let keys = self.markets[mi].keys.token(lev);
        let admin = self.admin.insecure_clone();
        let unit = self.markets[mi].unit;
        self.send_ok(&[ix::create_leveraged_token(admin.pubkey(), &keys, leveraged_token_sdk::defaults::responsive_token_params(lev, unit))], &[&admin]).await;
        while self.bound.len() < self.actors.len() {
            self.bound.push(vec![0; self.tokens.len()]);
        }
        for a in 0..self.actors.len() {
            let owner = self.actors[a].kp.pubkey();
            let s = self.bank.create_ata(owner, keys.share_mint).await;
            self.actors[a].shares.push(s);
            self.bound[a].push(0);
        }
        self.tokens.push(TokenM { keys, m: mi, wiped: false, implied_vault: 0 });
        let ti = self.tokens.len() - 1;
        self.markets[mi].tokens.push(ti);
        self.rebuild_universe();
        // The harness itself changed the market (token_count) and created accounts: refresh, don't compare.
        let keys = self.universe.clone();
        let now = self.bank.snapshot(&keys).await;
        for (k, a) in keys.into_iter().zip(now) {
            self.cache.insert(k, a);
        }
    }

    fn rebuild_universe(&mut self) {
        while self.bound.len() < self.actors.len() {
            self.bound.push(vec![0; self.tokens.len()]);
        }
        let mut u = vec![leveraged_token::pda::config().0, spl_token::ID, self.admin.pubkey()];
        for m in &self.markets {
            u.extend([m.keys.market, m.keys.pool_vault, m.keys.insurance_vault, m.keys.lp_mint, m.keys.oracle, m.mint, m.treasury_account]);
        }
        for t in &self.tokens {
            u.extend([t.keys.token, t.keys.vault, t.keys.share_mint]);
        }
        for a in &self.actors {
            u.push(a.kp.pubkey());
            u.extend(a.coll.iter().chain(a.lp.iter()).chain(a.shares.iter()));
        }
        self.universe = u;
    }

    /// Re-read every known account and compare with the cache: nothing may have
    /// changed that the harness did not see in a transaction's account list.
    async fn resync(&mut self) {
        let keys = self.universe.clone();
        let now = self.bank.snapshot(&keys).await;
        for (k, a) in keys.iter().zip(now) {
            if let Some(c) = self.cache.get(k) {
                if *c != a && self.op > 0 {
                    self.fail(&format!("account {k} changed outside any transaction that listed it"));
                }
            }
            self.cache.insert(*k, a);
        }
    }

    // ───────────────────────────── plumbing ─────────────────────────────

    fn fail(&self, msg: &str) -> ! {
        let trail: Vec<&String> = self.trail.iter().collect();
        panic!(
            "FUZZ VIOLATION seed={} op={} ({}): {msg}\nreplay: FUZZ_SEED={} FUZZ_OPS={} cargo test -p leveraged-token-tests --test fuzz -- --nocapture\nlast operations:\n{}",
            self.seed,
            self.op,
            self.op_name,
            self.seed,
            self.op + 1,
            trail.iter().map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n")
        );
    }

    /// Build, sign and process a transaction with a per-call compute-unit limit
    /// so identical instruction lists never collide (Bank::send's counter would
    /// run out after 1.4 M transactions).
    async fn send(&mut self, ixs: &[Instruction], signers: &[&TestKeypair]) -> TxOutcome {
        self.nonce += 1;
        let limit = 1_400_000 - (self.nonce % 400_000) as u32;
        let mut all = vec![solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(limit)];
        all.extend_from_slice(ixs);
        let blockhash = self.bank.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        let payer = self.bank.ctx.payer.insecure_clone();
        let mut keys: Vec<&TestKeypair> = vec![&payer];
        keys.extend(signers.iter().copied().filter(|k| k.pubkey() != payer.pubkey()));
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, blockhash);
        self.bank.process(tx).await
    }

    async fn send_ok(&mut self, ixs: &[Instruction], signers: &[&TestKeypair]) {
        let out = self.send(ixs, signers).await;
        if let Err(e) = &out.result {
            self.fail(&format!("harness transaction failed: {e:?}\n{}", out.logs.join("\n")));
        }
    }

    fn keys_of(ixs: &[Instruction]) -> Vec<Pubkey> {
        let mut v: Vec<Pubkey> = vec![];
        for i in ixs {
            for m in &i.accounts {
                if !v.contains(&m.pubkey) {
                    v.push(m.pubkey);
                }
            }
        }
        v
    }

    /// Process `ixs`; a failure must leave every listed account byte-identical,
    /// a success updates the cache.
    async fn exec(&mut self, ixs: &[Instruction], signers: &[&TestKeypair]) -> Exec {
        let keys = Self::keys_of(ixs);
        let mut before = HashMap::new();
        for k in &keys {
            if !self.cache.contains_key(k) {
                let a = self.bank.raw_account(*k).await;
                self.cache.insert(*k, a);
            }
            before.insert(*k, self.cache[k].clone());
        }
        let out = self.send(ixs, signers).await;
        let after = self.bank.snapshot(&keys).await;
        for (k, a) in keys.iter().zip(after) {
            if out.result.is_err() {
                if before[k] != a {
                    let (b, n) = (before[k].as_ref(), a.as_ref());
                    let first_diff = match (b, n) {
                        (Some(b), Some(n)) => b.data.iter().zip(n.data.iter()).position(|(x, y)| x != y),
                        _ => None,
                    };
                    self.fail(&format!(
                        "failed transaction ({}) changed account {k} ({}): lamports {:?} -> {:?}, first differing byte {first_diff:?}",
                        error_name(&out),
                        self.name_of(k),
                        b.map(|x| x.lamports),
                        n.map(|x| x.lamports)
                    ));
                }
            } else {
                self.cache.insert(*k, a);
            }
        }
        if out.result.is_err() {
            self.figures.failed_unchanged += 1;
        } else {
            self.note_market_flows(&before, &out);
        }
        *self.stats.entry(format!("{} -> {}", self.op_name, error_name(&out))).or_default() += 1;
        self.last_outcome = error_name(&out);
        if std::env::var("FUZZ_DEBUG_ERROR").is_ok_and(|e| e == self.last_outcome) {
            eprintln!(
                "{} at op {} ({}):\n  {}",
                self.last_outcome,
                self.op,
                self.op_name,
                out.logs.iter().filter(|l| l.contains("log:") && !l.contains("Program data")).cloned().collect::<Vec<_>>().join("\n  ")
            );
        }
        self.last_rebalanced = out.events::<Rebalanced>().into_iter().next().map(|r| (r.trade_notional, r.trade_fee, r.keeper_reward, r.triggers));
        Exec { out, before }
    }

    /// A successful transaction's market-level flows (every instruction
    /// alike): the insurance events move the implied pool and insurance
    /// balances (3, 12) and a loss is absorbed exactly by its four payers;
    /// every `PositionSettled` splits its charge into funding and borrow
    /// (13b); a market accrued in it stepped its four indices and its income
    /// exactly as [`Market::index_step_at`] of its state before the
    /// transaction says (the accrual comes before any change to the book or
    /// the pool's cash), the heavier side of that book paying at least what
    /// the lighter side pays (13c).
    fn note_market_flows(&mut self, before: &HashMap<Pubkey, Option<Account>>, out: &TxOutcome) {
        let losses = out.events::<LossAbsorbed>();
        let funded = out.events::<InsuranceFunded>();
        for mi in 0..self.markets.len() {
            let key = self.markets[mi].keys.market;
            for l in losses.iter().filter(|l| l.market == key) {
                let absorbed = u128::from(l.by_equity) + u128::from(l.by_fees_owed) + u128::from(l.by_insurance) + u128::from(l.by_lps);
                if absorbed != l.loss || l.insurance_vault_paid > l.by_insurance {
                    self.fail(&format!(
                        "market {mi}: LossAbsorbed of {} by equity {} + fees owed {} + insurance {} (vault paid {}) + LPs {}",
                        l.loss, l.by_equity, l.by_fees_owed, l.by_insurance, l.insurance_vault_paid, l.by_lps
                    ));
                }
                let m = &mut self.markets[mi];
                m.implied_pool += i128::from(l.insurance_vault_paid);
                m.implied_insurance -= i128::from(l.insurance_vault_paid);
                m.insurance_covered += u128::from(l.by_insurance);
                m.insurance_covered_since_check += u128::from(l.by_insurance);
                m.wipes += 1;
                self.figures.insurance_covered += u128::from(l.by_insurance);
                self.figures.lp_losses += u128::from(l.by_lps);
            }
            for f in funded.iter().filter(|f| f.market == key) {
                let m = &mut self.markets[mi];
                m.implied_pool -= i128::from(f.amount);
                m.implied_insurance += i128::from(f.amount);
                self.figures.insurance_funded += u128::from(f.amount);
                if i128::from(f.insurance_balance_after) != self.markets[mi].implied_insurance {
                    self.fail(&format!("market {mi}: InsuranceFunded says the vault holds {}, the events imply {}", f.insurance_balance_after, self.markets[mi].implied_insurance));
                }
            }
        }
        for p in out.events::<PositionSettled>() {
            let Some(ti) = self.tokens.iter().position(|t| t.keys.token == p.token) else { self.fail(&format!("PositionSettled of unknown token {}", p.token)) };
            // 13b. The charge is its funding and borrow parts.
            if p.charge != p.funding_fee + i128::from(p.borrow_fee) {
                self.fail(&format!("token {ti}: PositionSettled charge {} != funding {} + borrow {}", p.charge, p.funding_fee, p.borrow_fee));
            }
            self.markets[self.tokens[ti].m].charges += p.charge;
            self.figures.charge_checks += 1;
        }
        for mi in 0..self.markets.len() {
            let mk = self.markets[mi].keys;
            let Some(Some(_)) = before.get(&mk.market) else { continue };
            let b: Market = decode(&before[&mk.market]);
            let a = self.market_state(mi);
            let indices = |m: &Market| (m.long_index, m.short_index, m.long_borrow_index, m.short_borrow_index, m.income_total_scaled);
            if a.last_accrual_time < b.last_accrual_time {
                self.fail(&format!("market {mi}: accrual time went back from {} to {}", b.last_accrual_time, a.last_accrual_time));
            }
            if a.last_accrual_time == b.last_accrual_time {
                if indices(&a) != indices(&b) {
                    self.fail(&format!("market {mi}: indices or income {:?} -> {:?} without an accrual", indices(&b), indices(&a)));
                }
                continue;
            }
            let Some(pool) = before.get(&mk.pool_vault) else { self.fail(&format!("market {mi} accrued in a transaction without its pool vault")) };
            let book = b.aggregates().book();
            let step = b.index_step_at(a.last_accrual_time, amount_of(pool)).unwrap_or_else(|e| self.fail(&format!("market {mi}: index step: {e:?}")));
            let income = step.pool_income_scaled(&book).unwrap_or_else(|e| self.fail(&format!("market {mi}: pool income: {e:?}")));
            let want = (b.long_index + step.long, b.short_index + step.short, b.long_borrow_index + step.long_borrow, b.short_borrow_index + step.short_borrow, b.income_total_scaled + income);
            if indices(&a) != want {
                self.fail(&format!(
                    "market {mi}: accrual over {} s to (long, short, long borrow, short borrow, income) {:?}, the state before says {want:?}",
                    a.last_accrual_time - b.last_accrual_time,
                    indices(&a)
                ));
            }
            // 13c. The side that makes the book's net larger pays at least what the other pays.
            let net = book.net().unwrap();
            let heavier_pays = match net.signum() {
                1 => step.long >= step.short,
                -1 => step.short >= step.long,
                _ => step.long == step.short,
            };
            if !heavier_pays || income < 0 {
                self.fail(&format!("market {mi}: book net {net}: index steps long {} short {}, income {income}", step.long, step.short));
            }
            self.figures.accrual_checks += 1;
        }
    }

    fn name_of(&self, k: &Pubkey) -> String {
        for (i, m) in self.markets.iter().enumerate() {
            for (n, x) in [
                ("market", m.keys.market),
                ("pool vault", m.keys.pool_vault),
                ("insurance vault", m.keys.insurance_vault),
                ("lp mint", m.keys.lp_mint),
                ("oracle", m.keys.oracle),
                ("mint", m.mint),
                ("treasury", m.treasury_account),
            ] {
                if x == *k {
                    return format!("{n} of m{i}");
                }
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            for (n, x) in [("token", t.keys.token), ("vault", t.keys.vault), ("share mint", t.keys.share_mint)] {
                if x == *k {
                    return format!("{n} of t{i}");
                }
            }
        }
        for (i, a) in self.actors.iter().enumerate() {
            if a.kp.pubkey() == *k {
                return format!("wallet of a{i}");
            }
            if a.coll.contains(k) || a.lp.contains(k) || a.shares.contains(k) {
                return format!("token account of a{i}");
            }
        }
        if let Some(r) = self.open.iter().find(|r| r.keys.request == *k || r.keys.escrow == *k) {
            return format!("{} of open {} request {} of a{}", if r.keys.request == *k { "account" } else { "escrow" }, r.kind.name(), r.nonce, r.a);
        }
        if *k == self.admin.pubkey() {
            return "admin".into();
        }
        if *k == leveraged_token::pda::config().0 {
            return "config".into();
        }
        "unknown".into()
    }

    fn bal(&self, k: &Pubkey) -> u64 {
        amount_of(&self.cache[k])
    }

    fn supply(&self, k: &Pubkey) -> u64 {
        supply_of(&self.cache[k])
    }

    fn token_state(&self, ti: usize) -> LeveragedToken {
        decode(&self.cache[&self.tokens[ti].keys.token])
    }

    fn market_state(&self, mi: usize) -> Market {
        decode(&self.cache[&self.markets[mi].keys.market])
    }

    fn norm(&self, mi: usize) -> NormalizedPrice {
        let m = &self.markets[mi];
        normalize_price(m.price, m.conf, EXPO, m.decimals).expect("model price normalises")
    }

    async fn slot(&mut self) -> u64 {
        self.bank.slot().await
    }

    /// The confidence market `mi`'s oracle publishes in its mode (wider than the market allows when Wide).
    fn mode_conf(&self, mi: usize) -> u64 {
        let m = &self.markets[mi];
        if m.mode != OracleMode::Wide {
            return m.conf;
        }
        let max_conf = match self.cache.get(&m.keys.market) {
            Some(Some(_)) => self.market_state(mi).params.max_conf_bps,
            _ => 200,
        };
        (m.price as u128 * (u128::from(max_conf) + 20) / 10_000) as u64
    }

    fn oracle_of(&self, mi: usize) -> Oracle {
        let m = &self.markets[mi];
        if m.pull {
            Oracle::pull(m.keys.oracle, FEED)
        } else {
            Oracle::legacy(m.keys.oracle)
        }
    }

    /// Write market `mi`'s oracle for the current slot and clock according to its mode.
    async fn write_oracle(&mut self, mi: usize) {
        let m = &self.markets[mi];
        if m.mode == OracleMode::Frozen && self.cache.contains_key(&m.keys.oracle) {
            return;
        }
        let clock = self.bank.clock().await;
        let (max_age_slots, max_age_secs) = match self.cache.get(&m.keys.market) {
            Some(Some(_)) => {
                let p = self.market_state(mi).params;
                (p.max_age_slots, p.max_age_secs)
            }
            _ => (25, 60),
        };
        let conf = self.mode_conf(mi);
        let m = &self.markets[mi];
        // Stale: a legacy account published too many slots ago, a pull update too many seconds ago.
        let stale = m.mode == OracleMode::Stale;
        let slot = if stale && !m.pull { clock.slot.saturating_sub(max_age_slots + 1) } else { clock.slot };
        let time = if stale && m.pull { clock.unix_timestamp - max_age_secs - 1 } else { clock.unix_timestamp };
        let (key, price) = (m.keys.oracle, m.price);
        self.oracle_of(mi).write(&mut self.bank, price, conf, slot, time, PriceStatus::Trading);
        let a = self.bank.raw_account(key).await;
        self.cache.insert(key, a);
    }

    /// Write market `mi`'s update for price time `target` (legacy: `pub_slot`,
    /// pull: `publish_time`; the previous one a slot or second before): the
    /// model's price, the confidence of its mode.
    async fn write_update_for(&mut self, mi: usize, target: i64) {
        let clock = self.bank.clock().await;
        let conf = self.mode_conf(mi);
        let m = &self.markets[mi];
        let (key, price, pull) = (m.keys.oracle, m.price, m.pull);
        let (slot, time) = if pull { (clock.slot, target) } else { (target as u64, clock.unix_timestamp) };
        self.oracle_of(mi).write(&mut self.bank, price, conf, slot, time, PriceStatus::Trading);
        let a = self.bank.raw_account(key).await;
        self.cache.insert(key, a);
    }

    /// Move the clock forward to price time `target` of market `mi`. A pull
    /// market's is a unix time: the clock's time moves. A legacy market's is
    /// a slot: the clock sysvar moves to it, its unix time 400 ms a slot, as
    /// `Bank::warp` moves them — without freezing a new bank each time (2 ms
    /// a call, most of the time the request flow added to a run). The
    /// program reads only the sysvar.
    async fn reach(&mut self, mi: usize, target: i64) {
        if self.markets[mi].pull {
            self.bank.reach(OracleKind::PythPull, target).await;
            return;
        }
        let mut clock = self.bank.clock().await;
        let target = u64::try_from(target).expect("a slot");
        if clock.slot < target {
            self.slot_ms += (target - clock.slot) * leveraged_token::constants::SLOT_MS;
            clock.slot = target;
            clock.unix_timestamp += (self.slot_ms / 1_000) as i64;
            self.slot_ms %= 1_000;
            self.bank.ctx.set_sysvar(&clock);
        }
    }

    async fn unix_now(&mut self) -> i64 {
        self.bank.clock().await.unix_timestamp
    }

    // ───────────────────────────── invariants ─────────────────────────────
    // ───────────────────────────── invariants ─────────────────────────────

    fn check_all(&mut self, _what: &str) {
        self.checks += 1;
        // What the open requests hold in escrow: collateral per market, LP per market, shares per token.
        let mut escrowed_collateral = vec![0u128; self.markets.len()];
        let mut escrowed_lp = vec![0u64; self.markets.len()];
        let mut escrowed_shares = vec![0u64; self.tokens.len()];
        for r in &self.open {
            // 10. The request exists with its terms and its escrow holds exactly its amount.
            let Some(Some(_)) = self.cache.get(&r.keys.request) else { self.fail(&format!("open {} request {} of a{} has no account", r.kind.name(), r.nonce, r.a)) };
            let q: Request = decode(&self.cache[&r.keys.request]);
            let held = self.bal(&r.keys.escrow);
            if (q.kind, q.owner, q.nonce, q.amount, q.min_out, q.escrow, q.target, q.expires_at)
                != (r.kind, self.actors[r.a].kp.pubkey(), r.nonce, r.amount, r.min_out, r.keys.escrow, r.target, r.expires_at)
                || held != r.amount
            {
                self.fail(&format!("open {} request {} of a{}: account {q:?}, escrow holds {held}, made for {}", r.kind.name(), r.nonce, r.a, r.amount));
            }
            match r.kind {
                RequestKind::Mint | RequestKind::Deposit => escrowed_collateral[r.mi] += u128::from(held),
                RequestKind::Withdraw => escrowed_lp[r.mi] += held,
                RequestKind::Redeem => escrowed_shares[r.ti.expect("a redeem's token")] += held,
            }
        }
        self.figures.escrow_checks += self.open.len() as u64;
        // 11. Every request opened is open or closed once.
        if self.figures.requests != self.open.len() as u64 + self.figures.fills + self.figures.refunds + self.figures.cancels
            || self.closed.len() as u64 + self.open.len() as u64 != self.figures.requests
        {
            self.fail(&format!(
                "{} requests opened, {} open, {} filled, {} refunded, {} cancelled, {} closed",
                self.figures.requests,
                self.open.len(),
                self.figures.fills,
                self.figures.refunds,
                self.figures.cancels,
                self.closed.len()
            ));
        }
        for mi in 0..self.markets.len() {
            let m = &self.markets[mi];
            // 1. Conservation of collateral (the escrows of open requests included).
            let mut sum: u128 = u128::from(self.bal(&m.keys.pool_vault)) + u128::from(self.bal(&m.keys.insurance_vault)) + u128::from(self.bal(&m.treasury_account)) + escrowed_collateral[mi];
            for &ti in &m.tokens {
                sum += u128::from(self.bal(&self.tokens[ti].keys.vault));
            }
            for a in &self.actors {
                sum += u128::from(self.bal(&a.coll[mi]));
            }
            let supply = self.supply(&m.mint);
            if supply != m.supply || sum != u128::from(supply) {
                self.fail(&format!("conservation on market {mi}: Σ balances {sum} (escrows {}), supply {supply}, initial supply {}", escrowed_collateral[mi], m.supply));
            }
            // 2. LP mint supply = Σ LP balances + Σ escrows of open withdrawals.
            let lp: u64 = self.actors.iter().map(|a| self.bal(&a.lp[mi])).sum::<u64>() + escrowed_lp[mi];
            if lp != self.supply(&m.keys.lp_mint) {
                self.fail(&format!("LP supply {} != Σ LP balances and escrows {lp} on market {mi}", self.supply(&m.keys.lp_mint)));
            }
            // 3. Aggregates = Σ token positions (each token's terms added as `Aggregates::replace` does); running pool balance.
            let ms = self.market_state(mi);
            let mut sums = Aggregates::default();
            for &ti in &m.tokens {
                if let Err(e) = sums.replace(PositionTerms::default(), self.token_state(ti).terms()) {
                    self.fail(&format!("market {mi}: Σ token terms overflow at token {ti}: {e:?}"));
                }
            }
            if ms.aggregates() != sums {
                self.fail(&format!("market {mi} aggregates {:?} != Σ tokens {sums:?}", ms.aggregates()));
            }
            if i128::from(self.bal(&m.keys.pool_vault)) != m.implied_pool {
                self.fail(&format!("market {mi}: pool vault {} != balance implied by events {}", self.bal(&m.keys.pool_vault), m.implied_pool));
            }
            // 3, 12. The insurance vault holds what the events imply; with what it is owed it only
            // shrinks by what it covered; it covered Σ LossAbsorbed.by_insurance in total.
            let insurance = self.bal(&m.keys.insurance_vault);
            if i128::from(insurance) != m.implied_insurance {
                self.fail(&format!("market {mi}: insurance vault {insurance} != balance implied by events {}", m.implied_insurance));
            }
            let fund = u128::from(insurance) + u128::from(ms.insurance_owed);
            if fund + m.insurance_covered_since_check < m.last_insurance {
                self.fail(&format!(
                    "market {mi}: insurance vault {insurance} + owed {} fell from {} by more than the {} it covered",
                    ms.insurance_owed, m.last_insurance, m.insurance_covered_since_check
                ));
            }
            if u128::from(ms.insurance_covered_total) != m.insurance_covered {
                self.fail(&format!("market {mi}: insurance_covered_total {} != Σ LossAbsorbed.by_insurance {}", ms.insurance_covered_total, m.insurance_covered));
            }
            // 13a. The pool's income is never negative and never shrinks.
            if ms.income_total_scaled < 0 || ms.income_total_scaled < m.last_income {
                self.fail(&format!("market {mi}: income_total_scaled {} (was {})", ms.income_total_scaled, m.last_income));
            }
            // 13d. What the tokens were charged is what the pool booked: Σ charge × S =
            // income − (charges accrued on the open book, exact) + Σ prepaid remainders, plus the
            // remainder (< S) each wipe's settlement prepaid and then dropped with the position.
            let s = INDEX_SCALE as i128;
            let agg = ms.aggregates();
            let accrued = (|| {
                let l = i128::try_from(agg.long_notional).ok()?.checked_mul(ms.long_index)?.checked_sub(agg.long_weighted)?;
                let sh = i128::try_from(agg.short_notional).ok()?.checked_mul(ms.short_index)?.checked_sub(agg.short_weighted)?;
                l.checked_add(sh)
            })()
            .unwrap_or_else(|| self.fail(&format!("market {mi}: accrued charges overflow")));
            let booked = ms.income_total_scaled - accrued + agg.prepaid as i128;
            let charged = m.charges * s;
            if charged < booked || charged - booked >= s * i128::from(m.wipes) + i128::from(m.wipes == 0) {
                self.fail(&format!(
                    "market {mi}: Σ PositionSettled.charge {} (× {s}) vs the pool's income {} − accrued {accrued} + prepaid {}: off by {} with {} wipes",
                    m.charges,
                    ms.income_total_scaled,
                    agg.prepaid,
                    charged - booked,
                    m.wipes
                ));
            }
            // 9. The borrow indices and the oracle publish time never go backwards (the
            // charge indices may: the side that receives funding steps down).
            if ms.long_borrow_index < m.last_borrow.0 || ms.short_borrow_index < m.last_borrow.1 || ms.last_oracle_publish < m.last_publish {
                self.fail(&format!(
                    "market {mi}: borrow indices ({}, {}) or last publish {} went back from ({}, {}), {}",
                    ms.long_borrow_index, ms.short_borrow_index, ms.last_oracle_publish, m.last_borrow.0, m.last_borrow.1, m.last_publish
                ));
            }
            let m = &mut self.markets[mi];
            m.last_insurance = fund;
            m.insurance_covered_since_check = 0;
            m.last_income = ms.income_total_scaled;
            m.last_borrow = (ms.long_borrow_index, ms.short_borrow_index);
            m.last_publish = ms.last_oracle_publish;
        }
        for (ti, escrowed) in escrowed_shares.into_iter().enumerate() {
            let tk = &self.tokens[ti];
            let t = self.token_state(ti);
            let vault = self.bal(&tk.keys.vault);
            let supply = self.supply(&tk.keys.share_mint);
            // 2. Share supply = Σ holders + Σ escrows of open redeems.
            let held: u64 = self.actors.iter().map(|a| self.bal(&a.shares[ti])).sum::<u64>() + escrowed;
            if held != supply {
                self.fail(&format!("token {ti}: share supply {supply} != Σ holders and escrows {held}"));
            }
            if vault < t.fees_owed {
                self.fail(&format!("token {ti}: vault {vault} < fees_owed {}", t.fees_owed));
            }
            if i128::from(vault) != tk.implied_vault {
                self.fail(&format!("token {ti}: vault {vault} != balance implied by events {}", tk.implied_vault));
            }
            // 5. Wiped stays wiped.
            if tk.wiped && (t.status != TokenStatus::Wiped || t.base != 0 || t.cost != 0) {
                self.fail(&format!("token {ti} was wiped and is now {:?} base {} cost {}", t.status, t.base, t.cost));
            }
            if t.status == TokenStatus::Wiped && (t.base != 0 || t.cost != 0) {
                self.fail(&format!("wiped token {ti} holds a position"));
            }
        }
    }

    /// Apply the settlement and trade-fee flows of a token instruction's events to the implied
    /// balances. Funding the token received (a negative charge) is value the holders before the
    /// instruction (`holders`' shares, escrows included, of `supply`) gain besides price moves:
    /// each one's no-free-lunch bound (7) grows by its share of it.
    fn apply_settlements(&mut self, ti: usize, out: &TxOutcome, holders: &[u64], supply: u64) -> (i128, bool) {
        let key = self.tokens[ti].keys.token;
        let mut transfer = 0i128;
        let mut received = 0u128;
        for e in out.events::<PositionSettled>().into_iter().filter(|e| e.token == key) {
            transfer += e.transfer;
            if e.charge < 0 {
                received += e.charge.unsigned_abs();
            }
        }
        if received > 0 {
            for (a, h) in holders.iter().enumerate() {
                if *h > 0 {
                    self.bound[a][ti] = self.bound[a][ti].saturating_add((u128::from(*h) * received).div_ceil(u128::from(supply) + VIRTUAL) + 1);
                }
            }
        }
        let wiped = out.events::<TokenWiped>().iter().any(|e| e.token == key);
        let mi = self.tokens[ti].m;
        self.tokens[ti].implied_vault += transfer;
        self.markets[mi].implied_pool -= transfer;
        (transfer, wiped)
    }

    fn move_fee_to_pool(&mut self, ti: usize, fee: u64) {
        let mi = self.tokens[ti].m;
        self.tokens[ti].implied_vault -= i128::from(fee);
        self.markets[mi].implied_pool += i128::from(fee);
    }

    fn note_wipe(&mut self, ti: usize, wiped_event: bool) {
        let st = self.token_state(ti).status;
        if wiped_event != (st == TokenStatus::Wiped && !self.tokens[ti].wiped) {
            self.fail(&format!("token {ti}: TokenWiped event {wiped_event} but status {st:?} (was wiped {})", self.tokens[ti].wiped));
        }
        if st == TokenStatus::Wiped && !self.tokens[ti].wiped {
            self.tokens[ti].wiped = true;
            self.figures.wipes += 1;
            if std::env::var("FUZZ_DEBUG_WIPES").is_ok() {
                let t = self.token_state(ti);
                eprintln!("wipe t{ti} (lev {}) at op {} ({}), bad debt {}, trail: {:?}", t.target_leverage_bps, self.op, self.op_name, t.bad_debt, self.trail.iter().rev().take(6).collect::<Vec<_>>());
            }
        }
    }

    fn equity_matches(&self, ti: usize, reported: u64) {
        if self.tokens[ti].wiped {
            return;
        }
        let t = self.token_state(ti);
        let vault = self.bal(&self.tokens[ti].keys.vault);
        if u64::try_from(i128::from(vault) - i128::from(t.fees_owed)).ok() != Some(reported) {
            self.fail(&format!("token {ti}: event equity {reported} != vault {vault} − fees_owed {}", t.fees_owed));
        }
    }

    /// Settled equity, confidence exposure and NAV-per-share of a token now, before an operation.
    /// Token `ti` as a keeper sees it, from the cached accounts.
    fn token_view(&self, ti: usize) -> TokenView {
        let tk = &self.tokens[ti];
        TokenView {
            market: self.market_state(tk.m),
            token: self.token_state(ti),
            vault_amount: self.bal(&tk.keys.vault),
            pool_amount: self.bal(&self.markets[tk.m].keys.pool_vault),
            share_supply: self.supply(&tk.keys.share_mint),
        }
    }

    fn view(&self, ti: usize, slot: u64, now: i64) -> Option<(u64, u128, u128, u64)> {
        let tk = &self.tokens[ti];
        if tk.wiped {
            return None;
        }
        let p = self.norm(tk.m);
        let v = self.token_view(ti);
        let s = settle_view(&v, &p, slot, now).ok()?;
        if s.wiped {
            return None;
        }
        let x = conf_exposure_ceil(v.token.base, p.conf).unwrap_or(u128::MAX / 4);
        let nav = (u128::from(s.equity) + VIRTUAL) / (u128::from(v.share_supply) + VIRTUAL) + 1;
        Some((s.equity, x, nav, v.share_supply))
    }

    /// Every holder of token `ti` may gain up to the confidence exposure plus one
    /// share's value from someone else's mint or redeem (see docs/security.md).
    fn add_holder_slack(&mut self, ti: usize, pre: &Option<(u64, u128, u128, u64)>, pre_holdings: &[u64]) {
        if let Some((_, x, nav, _)) = pre {
            for (a, h) in pre_holdings.iter().enumerate() {
                if *h > 0 {
                    self.bound[a][ti] = self.bound[a][ti].saturating_add(x + nav + 2);
                }
            }
        }
    }

    /// Actor `a`'s shares of token `ti`: its account and its open redeems' escrows
    /// (escrowed shares stay exposed to the price until the redeem executes).
    fn held(&self, a: usize, ti: usize) -> u64 {
        let escrowed: u64 = self.open.iter().filter(|r| r.a == a && r.ti == Some(ti) && r.kind == RequestKind::Redeem).map(|r| r.amount).sum();
        self.bal(&self.actors[a].shares[ti]) + escrowed
    }

    fn holdings(&self, ti: usize) -> Vec<u64> {
        (0..self.actors.len()).map(|a| self.held(a, ti)).collect()
    }

    fn push_trail(&mut self, s: String) {
        if self.trail.len() == 24 {
            self.trail.pop_front();
        }
        self.trail.push_back(s);
    }

    // ───────────────────────────── operations ─────────────────────────────
    // ───────────────────────────── operations ─────────────────────────────

    fn pick_token(&mut self) -> usize {
        let live: Vec<usize> = (0..self.tokens.len()).filter(|&t| !self.tokens[t].wiped).collect();
        if !live.is_empty() && self.rng.gen_bool(0.9) {
            live[self.rng.gen_range(0..live.len())]
        } else {
            self.rng.gen_range(0..self.tokens.len())
        }
    }

    /// An amount drawn from the edges (0, 1, tiny, balance, balance + 1, u64::MAX) and a log-uniform body.
    fn pick_amount(&mut self, balance: u64, unit: u64, max_units: u64) -> u64 {
        match self.rng.gen_range(0..100) {
            0..=3 => 0,
            4..=7 => self.rng.gen_range(1..=10),
            8..=10 => u64::MAX,
            11..=13 => balance.saturating_add(1),
            14..=17 => balance,
            _ => {
                let lo = (unit / 1_000).max(1) as f64;
                let hi = (max_units * unit) as f64;
                let x = (lo.ln() + self.rng.gen::<f64>() * (hi.ln() - lo.ln())).exp() as u64;
                x.min(balance).max(1)
            }
        }
    }

    fn pick_timing(&mut self) -> Timing {
        match self.rng.gen_range(0..100) {
            0..=74 => Timing::Soon,
            75..=89 => Timing::Late,
            _ => Timing::Expired,
        }
    }

    /// The owner with probability 0.3, else another actor.
    fn pick_executor(&mut self, owner: usize) -> usize {
        if self.rng.gen_bool(0.3) {
            owner
        } else {
            (owner + self.rng.gen_range(1..self.actors.len())) % self.actors.len()
        }
    }

    /// The instruction of actor `a`'s request `nonce` of `kind`.
    fn request_ix(&self, a: usize, kind: RequestKind, mi: usize, ti: Option<usize>, nonce: u64, (amount, min_out): (u64, u64)) -> Instruction {
        let owner = self.actors[a].kp.pubkey();
        let m = &self.markets[mi].keys;
        match kind {
            RequestKind::Mint => ix::request_mint(owner, &self.tokens[ti.expect("a token")].keys, nonce, amount, min_out),
            RequestKind::Redeem => ix::request_redeem(owner, &self.tokens[ti.expect("a token")].keys, nonce, amount, min_out),
            RequestKind::Deposit => ix::request_deposit(owner, m, nonce, amount, min_out),
            RequestKind::Withdraw => ix::request_withdraw(owner, m, nonce, amount, min_out),
        }
    }

    /// A redeem that is paused, or of a wiped token, is refunded or pays 0
    /// without reading the oracle (by design): any update, or account, does.
    fn reads_no_oracle(&self, r: &Req) -> bool {
        let (RequestKind::Redeem, Some(ti)) = (r.kind, r.ti) else { return false };
        let config: Config = decode(&self.cache[&leveraged_token::pda::config().0]);
        self.tokens[ti].wiped || paused(config.pause_flags, self.market_state(r.mi).pause_flags, self.token_state(ti).pause_flags, PAUSE_REDEEM)
    }

    /// Every token of market `mi`, in creation order (an LP flow's execution lists them all).
    fn market_token_keys(&self, mi: usize) -> Vec<TokenKeys> {
        self.markets[mi].tokens.iter().map(|&t| self.tokens[t].keys).collect()
    }

    fn execute_ix(&self, r: &Req, executor: Pubkey) -> Instruction {
        let m = &self.markets[r.mi].keys;
        ix::execute(executor, r.kind, self.actors[r.a].kp.pubkey(), r.nonce, m, r.ti.map(|t| &self.tokens[t].keys), m.oracle, &self.market_token_keys(r.mi))
    }

    /// Whether an LP flow's execution reads the market's tokens (its
    /// remaining accounts): not when a pause or an unusable update refunds it
    /// first (by design: a refund moves nothing but the escrow back).
    fn reads_market_tokens(&self, r: &Req) -> bool {
        if !matches!(r.kind, RequestKind::Deposit | RequestKind::Withdraw) {
            return false;
        }
        let config: Config = decode(&self.cache[&leveraged_token::pda::config().0]);
        !paused(config.pause_flags, self.market_state(r.mi).pause_flags, 0, PAUSE_LIQUIDITY) && self.markets[r.mi].mode != OracleMode::Wide
    }

    fn cancel_ix(&self, r: &Req, caller: Pubkey) -> Instruction {
        ix::cancel_request(caller, r.kind, self.actors[r.a].kp.pubkey(), r.nonce, &self.markets[r.mi].keys, r.ti.map(|t| self.tokens[t].keys.share_mint))
    }

    /// Actor `a` requests `kind` (token `ti` for a mint or redeem) of
    /// `amount` with bound `min_out`. The program must refuse exactly what
    /// the terms call for, by name and in its order (a pause, a wiped token
    /// for a mint, a zero amount, more than the owner's account holds); a
    /// request that lands escrows exactly `amount` from the owner's
    /// associated account and costs its wallet the two rents and the executor fee.
    async fn op_request(&mut self, a: usize, kind: RequestKind, mi: usize, ti: Option<usize>, amount: u64, min_out: u64) -> Option<Req> {
        let kp = self.actors[a].kp.insecure_clone();
        let owner = kp.pubkey();
        self.req_nonce += 1;
        let nonce = self.req_nonce;
        let keys = RequestKeys::of(kind, owner, nonce, &self.markets[mi].keys, ti.map(|t| self.tokens[t].keys.share_mint));
        let config: Config = decode(&self.cache[&leveraged_token::pda::config().0]);
        let market_flags = self.market_state(mi).pause_flags;
        let token = ti.map(|t| self.token_state(t));
        let token_flags = match kind {
            RequestKind::Mint | RequestKind::Redeem => token.as_ref().map_or(0, |t| t.pause_flags),
            _ => 0,
        };
        let balance = self.bal(&keys.source);
        let expect = if paused(config.pause_flags, market_flags, token_flags, flow_flag(kind)) {
            Some(ErrorCode::Paused)
        } else if kind == RequestKind::Mint && token.as_ref().is_some_and(|t| t.is_wiped()) {
            Some(ErrorCode::TokenWiped)
        } else if amount == 0 {
            Some(ErrorCode::ZeroAmount)
        } else if amount > balance {
            Some(if matches!(kind, RequestKind::Mint | RequestKind::Deposit) { ErrorCode::InsufficientFunds } else { ErrorCode::InsufficientShares })
        } else {
            None
        };
        let e = self.exec(&[self.request_ix(a, kind, mi, ti, nonce, (amount, min_out))], &[&kp]).await;
        match (expect, e.ok()) {
            (None, true) => {}
            (Some(c), false) if is_error(&e.out, c) => {
                self.figures.requests_refused += 1;
                return None;
            }
            _ => self.fail(&format!("{} request of {amount} (balance {balance}): expected {expect:?}, got {}\n{}", kind.name(), error_name(&e.out), e.out.logs.join("\n"))),
        }
        let q: Request = decode(&self.cache[&keys.request]);
        let paid = amount_of(&e.before[&keys.source]) - self.bal(&keys.source);
        let escrowed = self.bal(&keys.escrow);
        let wallet = lamports_of(&e.before[&owner]) - lamports_of(&self.cache[&owner]);
        let held = lamports_of(&self.cache[&keys.request]) + lamports_of(&self.cache[&keys.escrow]);
        if (q.amount, q.min_out, q.kind, q.owner, q.destination, q.refund_to) != (amount, min_out, kind, owner, keys.destination, keys.source) || paid != amount || escrowed != amount || wallet != held
        {
            self.fail(&format!("{} request of {amount}: account {q:?}, {paid} paid, {escrowed} escrowed, wallet paid {wallet} for {held} held", kind.name()));
        }
        let r = Req { kind, a, mi, ti, nonce, keys, amount, min_out, target: q.target, expires_at: q.expires_at };
        self.open.push(r.clone());
        self.figures.requests += 1;
        Some(r)
    }

    /// Execute open request `i` by actor `ex`, the clock moved as `timing`
    /// says (forward only): soon after its price time, late in its life, or
    /// past its expiry. Sometimes an update of another price time is tried
    /// first (OracleNotAtTarget), or a cancel before the expiry
    /// (RequestNotExpired). Past the expiry the execution must be refused
    /// (RequestExpired) and a cancel by anyone closes it; before, it fills
    /// or refunds (a MathOverflow leaves it open).
    async fn op_execute(&mut self, i: usize, timing: Timing, ex: usize) -> Outcome {
        let r = self.open[i].clone();
        let mi = r.mi;
        self.reach(mi, r.target).await;
        let now = self.unix_now().await;
        match timing {
            Timing::Soon => {}
            Timing::Late if now < r.expires_at => {
                let secs = self.rng.gen_range(0..=r.expires_at - now);
                self.bank.advance_time(secs).await;
            }
            Timing::Expired if now <= r.expires_at => {
                let secs = r.expires_at - now + 1 + self.rng.gen_range(0..30);
                self.bank.advance_time(secs).await;
            }
            _ => {}
        }
        let expired = self.unix_now().await > r.expires_at;
        let executor = self.actors[ex].kp.insecure_clone();
        if !expired && self.rng.gen_bool(0.05) {
            let e = self.exec(&[self.cancel_ix(&r, executor.pubkey())], &[&executor]).await;
            if !is_error(&e.out, ErrorCode::RequestNotExpired) {
                self.fail(&format!("a cancel before the expiry ended {}", error_name(&e.out)));
            }
            self.figures.early_cancels_refused += 1;
        }
        if !expired && !self.reads_no_oracle(&r) && self.rng.gen_bool(0.05) {
            // The update one second (slot) before the price time.
            self.write_update_for(mi, r.target - 1).await;
            let e = self.exec(&[self.execute_ix(&r, executor.pubkey())], &[&executor]).await;
            if !is_error(&e.out, ErrorCode::OracleNotAtTarget) {
                self.fail(&format!("an execution at the update before the price time ended {}", error_name(&e.out)));
            }
            self.figures.wrong_updates_refused += 1;
        }
        self.write_update_for(mi, r.target).await;
        let slot = self.slot().await;
        let now = self.unix_now().await;
        let (pre, pre_h) = match r.ti {
            Some(ti) => (self.view(ti, slot, now), self.holdings(ti)),
            None => (None, vec![]),
        };
        let was_wiped = r.ti.is_some_and(|ti| self.tokens[ti].wiped);
        let ixe = self.execute_ix(&r, executor.pubkey());
        let e = self.exec(std::slice::from_ref(&ixe), &[&executor]).await;
        self.write_oracle(mi).await;
        if expired {
            if !is_error(&e.out, ErrorCode::RequestExpired) {
                self.fail(&format!("an execution after the expiry ended {}", error_name(&e.out)));
            }
            self.figures.expired_refused += 1;
            return self.cancel(i, ex).await;
        }
        if !e.ok() {
            if is_error(&e.out, ErrorCode::MathOverflow) && std::env::var("FUZZ_STRICT").is_err() {
                // Finding F7 (attacks::finding_a_mint_whose_shares_alone_exceed_u64_…): a quote whose shares
                // alone exceed u64 fails the execution by name instead of refunding; nothing moves and the
                // request stays open until it is cancelled after its expiry.
                match r.kind {
                    RequestKind::Deposit | RequestKind::Withdraw => self.figures.lp_supply_overflows += 1,
                    _ => self.figures.share_supply_overflows += 1,
                }
                return Outcome::Failed;
            }
            self.fail(&format!("{} execution failed: {}\n{}", r.kind.name(), error_name(&e.out), e.out.logs.join("\n")));
        }
        if ex != r.a {
            self.figures.stranger_executions += 1;
        }
        let refunds = e.out.events::<RequestRefunded>();
        let outcome = if let Some(rf) = refunds.first() {
            // The escrow back whole; the market, token, vaults and mints untouched.
            let back = self.bal(&r.keys.source) - amount_of(&e.before[&r.keys.source]);
            let (m, t) = (self.markets[mi].keys, r.ti.map(|t| self.tokens[t].keys));
            let mut untouched = vec![m.market, m.pool_vault, m.lp_mint];
            if let Some(t) = t {
                untouched.extend([t.token, t.vault, t.share_mint]);
            }
            if refunds.len() != 1
                || rf.amount != r.amount
                || back != r.amount
                || rf.kind != r.kind
                || rf.executor != executor.pubkey()
                || untouched.iter().any(|k| e.before.get(k).is_some_and(|b| *b != self.cache[k]))
            {
                self.fail(&format!("{} refund ({:?}) of {} returned {back} or touched the market", r.kind.name(), rf.reason, r.amount));
            }
            if rf.reason == leveraged_token::state::RefundReason::BelowMinOut && r.min_out == 0 {
                self.fail("refunded below a zero bound");
            }
            if r.kind == RequestKind::Mint && was_wiped && rf.reason != leveraged_token::state::RefundReason::TokenWiped {
                self.fail(&format!("a mint into a wiped token was refunded for {:?}", rf.reason));
            }
            *self.figures.refund_reasons.entry(format!("{} {:?}", r.kind.name(), rf.reason)).or_default() += 1;
            self.figures.refunds += 1;
            self.note_closed(&r, &e, ex, true, "refunded");
            Outcome::Refunded
        } else {
            self.figures.fills += 1;
            self.note_closed(&r, &e, ex, true, "filled");
            match r.kind {
                RequestKind::Mint => self.after_mint(&r, &e, was_wiped, &pre, &pre_h),
                RequestKind::Redeem => self.after_redeem(&r, &e, was_wiped, &pre, &pre_h),
                RequestKind::Deposit => self.after_deposit(&r, &e, now),
                RequestKind::Withdraw => self.after_withdraw(&r, &e, now),
            }
        };
        if self.rng.gen_bool(0.1) {
            // A replay: the request is closed.
            let e = self.exec(&[ixe], &[&executor]).await;
            if e.out.custom_error() != Some(u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized)) {
                self.fail(&format!("a replayed execution ended {}", error_name(&e.out)));
            }
            self.figures.replays_refused += 1;
        }
        outcome
    }

    /// Cancel open request `i` (expired) by a random caller: the escrow goes
    /// back to the owner's account, the fee and the rents to its wallet.
    async fn cancel(&mut self, i: usize, ex: usize) -> Outcome {
        let r = self.open[i].clone();
        let caller = if self.rng.gen_bool(0.5) { ex } else { self.rng.gen_range(0..self.actors.len()) };
        let kp = self.actors[caller].kp.insecure_clone();
        let e = self.exec(&[self.cancel_ix(&r, kp.pubkey())], &[&kp]).await;
        if !e.ok() {
            self.fail(&format!("cancel of an expired request failed: {}", error_name(&e.out)));
        }
        let ev = e.out.events::<RequestCancelled>();
        let back = self.bal(&r.keys.source) - amount_of(&e.before[&r.keys.source]);
        if ev.len() != 1 || ev[0].amount != r.amount || back != r.amount {
            self.fail(&format!("cancel of {} returned {back}", r.amount));
        }
        self.figures.cancels += 1;
        self.note_closed(&r, &e, caller, false, "cancelled");
        Outcome::Cancelled
    }

    /// Request `r` closed in `e`, sent by actor `signer`: its account and
    /// escrow are gone, it closed once, the owner got the rents back, the
    /// executor exactly the fee (`fee_to_signer`; on a cancel the fee goes
    /// back to the owner and the caller earns nothing).
    fn note_closed(&mut self, r: &Req, e: &Exec, signer: usize, fee_to_signer: bool, how: &'static str) {
        if self.cache[&r.keys.request].is_some() || self.cache[&r.keys.escrow].is_some() {
            self.fail(&format!("a {how} request left its account or escrow"));
        }
        if let Some(first) = self.closed.insert(r.keys.request, how) {
            self.fail(&format!("request {} {how} after it was {first}", r.nonce));
        }
        self.open.retain(|q| q.keys.request != r.keys.request);
        let fee = decode::<Request>(&e.before[&r.keys.request]).executor_fee;
        let rents = lamports_of(&e.before[&r.keys.request]) + lamports_of(&e.before[&r.keys.escrow]) - fee;
        let (owner, by) = (self.actors[r.a].kp.pubkey(), self.actors[signer].kp.pubkey());
        let delta = |k: &Pubkey| lamports_of(&self.cache[k]) as i128 - lamports_of(&e.before[k]) as i128;
        let (want_owner, want_by) = match (signer == r.a, fee_to_signer) {
            (true, _) | (false, false) => ((rents + fee) as i128, 0),
            (false, true) => (rents as i128, fee as i128),
        };
        if delta(&owner) != want_owner || (signer != r.a && delta(&by) != want_by) {
            self.fail(&format!("{how} request {}: owner's wallet moved {} (want {want_owner}), the signer's {} (want {want_by})", r.nonce, delta(&owner), delta(&by)));
        }
    }

    /// A filled mint: the implied balances, the shares against the event and the bound, the caps on the net book.
    fn after_mint(&mut self, r: &Req, e: &Exec, was_wiped: bool, pre: &Option<(u64, u128, u128, u64)>, pre_h: &[u64]) -> Outcome {
        let (a, ti, mi) = (r.a, r.ti.unwrap(), r.mi);
        if was_wiped {
            self.fail("a mint into a wiped token filled");
        }
        let ev = e.out.events::<Minted>();
        if ev.len() != 1 {
            self.fail("a filled mint emitted no Minted event");
        }
        let m = &ev[0];
        let supply_before = supply_of(&e.before[&self.tokens[ti].keys.share_mint]);
        let (_, wiped) = self.apply_settlements(ti, &e.out, pre_h, supply_before);
        if wiped {
            self.fail("a mint wiped a token");
        }
        self.tokens[ti].implied_vault += i128::from(m.collateral_in);
        self.move_fee_to_pool(ti, m.trade_fee);
        self.note_wipe(ti, false);
        let shares = r.keys.destination;
        let got = self.bal(&shares) - amount_of(&e.before[&shares]);
        if m.collateral_in != r.amount || got != m.shares_out {
            self.fail(&format!("mint of {} (event {}) gave {got} shares (event {})", r.amount, m.collateral_in, m.shares_out));
        }
        if got < r.min_out {
            self.fail("mint gave fewer shares than min_shares_out");
        }
        self.equity_matches(ti, m.equity_after);
        // 4. The caps on the net book right after a mint that did not shrink |net|: each side's
        // notional within side_cap_bps, |net| within net_cap_bps and the token's loss beyond its
        // equity in the stress jump within stress_loss_cap_bps of the pool value (a mint that
        // shrinks |net| is never capped). The value is the O(1) one from the market's sums
        // (`pool_value_aggregate`), which is what execute_mint checks the caps on — not the
        // honest `market_pool_value` of LP flows: that one counts a loss past a token's vault as
        // nothing and may be lower, a rule the program does not promise for mints. Re-derived
        // exactly, no slack: the settlement, the trade and the insurance sweep leave the market's
        // sums, indices and LP cash (pool vault − insurance owed) as the program's check saw them,
        // and the fill priced at the model's price and confidence.
        let before: Market = decode(&e.before[&self.markets[mi].keys.market]);
        let ms = self.market_state(mi);
        let t = self.token_state(ti);
        let p = self.norm(mi);
        let agg = ms.aggregates();
        let cash = ms.lp_cash(self.bal(&self.markets[mi].keys.pool_vault));
        let value = pool_value_aggregate(cash, &agg, ms.long_index, ms.short_index, p.price, p.conf, Side::Low).unwrap();
        let net_before = before.aggregates().net_notional_floor(p.price).unwrap().unsigned_abs();
        let net_after = agg.net_notional_floor(p.price).unwrap().unsigned_abs();
        if net_after >= net_before {
            self.figures.cap_checks += 1;
            let (long, short) = agg.side_notionals_ceil(p.price).unwrap();
            let side_limit = value * u128::from(ms.params.side_cap_bps) / 10_000;
            let net = net_cap_breach(&agg, p.price, value, ms.params.net_cap_bps).unwrap();
            let token_notional = notional_floor(t.base, p.price).unwrap().unsigned_abs();
            let all = mint_cap_breach(&before.aggregates(), &agg, p.price, value, token_notional, m.equity_after, &ms.params.caps()).unwrap();
            if long.max(short) > side_limit || net.is_some() || all.is_some() {
                self.fail(&format!(
                    "after a mint |net| {net_before} -> {net_after}: sides ({long}, {short}) against {side_limit} ({} bps), net {net:?}, caps {all:?}, pool value {value}",
                    ms.params.side_cap_bps
                ));
            }
        }
        self.add_holder_slack(ti, pre, pre_h);
        self.bound[a][ti] = self.bound[a][ti].saturating_add(u128::from(r.amount));
        Outcome::Filled { out: got, pool: None }
    }

    /// A filled redeem: the escrowed shares burned, the payout against the event and the holder's bound.
    fn after_redeem(&mut self, r: &Req, e: &Exec, was_wiped: bool, pre: &Option<(u64, u128, u128, u64)>, pre_h: &[u64]) -> Outcome {
        let (a, ti) = (r.a, r.ti.unwrap());
        let ev = e.out.events::<Redeemed>();
        if ev.len() != 1 {
            self.fail("a filled redeem emitted no Redeemed event");
        }
        let rd = &ev[0];
        let supply_before = supply_of(&e.before[&self.tokens[ti].keys.share_mint]);
        let (_, wiped) = self.apply_settlements(ti, &e.out, pre_h, supply_before);
        self.move_fee_to_pool(ti, rd.trade_fee);
        self.tokens[ti].implied_vault -= i128::from(rd.collateral_out);
        self.note_wipe(ti, wiped);
        let coll = r.keys.destination;
        let got = self.bal(&coll) - amount_of(&e.before[&coll]);
        let burned = r.amount;
        if got != rd.collateral_out || rd.shares_in != burned {
            self.fail(&format!("redeem paid {got} (event {}) for {} shares (escrowed {burned})", rd.collateral_out, rd.shares_in));
        }
        if got < r.min_out {
            self.fail("redeem paid less than min_collateral_out");
        }
        if (was_wiped || wiped) && got != 0 {
            self.fail("a wiped token paid a redeemer");
        }
        if !wiped {
            self.equity_matches(ti, rd.equity_after);
        }
        // 7. No free lunch: the payout is within the holder's bound (its escrowed shares included in h).
        let h = pre_h[a];
        let b = self.bound[a][ti];
        let allowed = (b * u128::from(burned)).div_ceil(u128::from(h.max(1))) + 2;
        self.figures.bound_checks += 1;
        if got > 0 {
            self.figures.max_bound_ratio = self.figures.max_bound_ratio.max(got as f64 / allowed as f64);
        }
        if u128::from(got) > allowed {
            self.fail(&format!("redeem of {burned}/{h} shares paid {got}, above the holder's bound {allowed} (bound for all {b})"));
        }
        self.bound[a][ti] = if h == burned { 0 } else { (b * u128::from(h - burned)).div_ceil(u128::from(h)) };
        self.add_holder_slack(ti, pre, pre_h);
        if h == burned {
            self.bound[a][ti] = 0;
        }
        Outcome::Filled { out: got, pool: None }
    }

    /// The honest pool value an LP flow in `e` priced at on `side` at unix time `now`:
    /// [`market_pool_value`] over every token of the market with its vault, from the market and
    /// pool vault before the transaction (the tokens and their vaults are only read).
    fn lp_value_before(&self, mi: usize, e: &Exec, side: Side, now: i64) -> u128 {
        let mk = self.markets[mi].keys;
        let market: Market = decode(&e.before[&mk.market]);
        let pool = amount_of(&e.before[&mk.pool_vault]);
        let tokens: Vec<(LeveragedToken, u64)> = self.markets[mi].tokens.iter().map(|&t| (self.token_state(t), self.bal(&self.tokens[t].keys.vault))).collect();
        let refs: Vec<(&LeveragedToken, u64)> = tokens.iter().map(|(t, v)| (t, *v)).collect();
        market_pool_value(&market, &refs, pool, &self.norm(mi), side, now).unwrap_or_else(|err| self.fail(&format!("market {mi}: pool value: {err:?}")))
    }

    /// A filled LP deposit: LP shares against the event; the pool grows by
    /// the amount; it priced at the honest pool value (3).
    fn after_deposit(&mut self, r: &Req, e: &Exec, now: i64) -> Outcome {
        let ev = e.out.events::<LiquidityDeposited>();
        let got = self.bal(&r.keys.destination) - amount_of(&e.before[&r.keys.destination]);
        if ev.len() != 1 || got != ev[0].lp_out || got < r.min_out || ev[0].amount != r.amount {
            self.fail(&format!("deposit of {} gave {got} LP, events {}", r.amount, ev.len()));
        }
        self.after_liquidity(r.mi, e);
        let d = &ev[0];
        let value = self.lp_value_before(r.mi, e, Side::High, now);
        self.figures.lp_value_checks += 1;
        if value != d.pool_value {
            self.fail(&format!("deposit priced at pool value {}, the honest value over every token is {value}", d.pool_value));
        }
        Outcome::Filled { out: got, pool: Some((d.pool_value, u128::from(d.lp_supply_after - d.lp_out))) }
    }

    /// A filled LP withdrawal: collateral against the event; it priced at the
    /// honest pool value (3) and left the net book within its cap (4).
    fn after_withdraw(&mut self, r: &Req, e: &Exec, now: i64) -> Outcome {
        let mi = r.mi;
        let ev = e.out.events::<LiquidityWithdrawn>();
        let got = self.bal(&r.keys.destination) - amount_of(&e.before[&r.keys.destination]);
        if ev.len() != 1 || got != ev[0].amount_out || got < r.min_out || ev[0].lp_in != r.amount {
            self.fail(&format!("withdrawal of {} LP paid {got}, events {}", r.amount, ev.len()));
        }
        self.after_liquidity(mi, e);
        let w = &ev[0];
        let value = self.lp_value_before(mi, e, Side::Low, now);
        self.figures.lp_value_checks += 1;
        if value != w.pool_value {
            self.fail(&format!("withdrawal priced at pool value {}, the honest value over every token is {value}", w.pool_value));
        }
        // 4. |net| within net_cap_bps of the pool value after the payout. That value is the one
        // the program priced at less the payout, re-derived from the state before: the state
        // after would value the pool lower by the insurance share of the income the execution
        // accrued (owed to the insurance fund, so out of the LPs' cash), a difference the
        // program's check does not see.
        let ms = self.market_state(mi);
        let p = self.norm(mi);
        let Some(after) = value.checked_sub(u128::from(w.amount_out)) else { self.fail(&format!("withdrawal paid {} out of a pool worth {value}", w.amount_out)) };
        self.figures.withdraw_cap_checks += 1;
        if let Some(b) = net_cap_breach(&ms.aggregates(), p.price, after, ms.params.net_cap_bps).unwrap() {
            self.fail(&format!("after a withdrawal of {}: {b} (pool value {after}, net cap {} bps)", w.amount_out, ms.params.net_cap_bps));
        }
        Outcome::Filled { out: got, pool: Some((w.pool_value, u128::from(w.lp_supply_after + w.lp_in))) }
    }

    fn after_liquidity(&mut self, mi: usize, e: &Exec) {
        for d in e.out.events::<LiquidityDeposited>() {
            self.markets[mi].implied_pool += i128::from(d.amount);
        }
        for w in e.out.events::<LiquidityWithdrawn>() {
            self.markets[mi].implied_pool -= i128::from(w.amount_out);
        }
    }

    /// Actor `a` requests `kind` and, with probability `now`, it executes at
    /// once (random timing and executor); otherwise it stays open.
    async fn op_flow(&mut self, a: usize, kind: RequestKind, mi: usize, ti: Option<usize>, amount: u64, min_out: u64) {
        let Some(r) = self.op_request(a, kind, mi, ti, amount, min_out).await else { return };
        if self.rng.gen_bool(0.7) {
            let i = self.open.len() - 1;
            debug_assert_eq!(self.open[i].keys.request, r.keys.request);
            let (timing, ex) = (self.pick_timing(), self.pick_executor(a));
            self.op_execute(i, timing, ex).await;
        }
    }

    /// Actor `a` requests `kind` and it executes soon after its price time (by a random executor):
    /// the fill's outcome, if it filled.
    async fn flow_now(&mut self, a: usize, kind: RequestKind, mi: usize, ti: Option<usize>, amount: u64) -> Option<(u64, Option<(u128, u128)>)> {
        let r = self.op_request(a, kind, mi, ti, amount, 0).await?;
        let i = self.open.iter().position(|q| q.keys.request == r.keys.request).unwrap();
        let ex = self.pick_executor(a);
        match self.op_execute(i, Timing::Soon, ex).await {
            Outcome::Filled { out, pool } => Some((out, pool)),
            _ => None,
        }
    }

    /// Execute every open request (in random order), each with a random timing and executor.
    async fn op_settle_open(&mut self) {
        let mut n = self.open.len();
        while n > 0 && !self.open.is_empty() {
            let i = self.rng.gen_range(0..self.open.len());
            let r = self.open[i].clone();
            self.op_name = format!("execute {} request {} of a{}", r.kind.name(), r.nonce, r.a);
            let (timing, ex) = (self.pick_timing(), self.pick_executor(r.a));
            self.op_execute(i, timing, ex).await;
            n -= 1;
        }
    }

    /// Close every open request: execute it soon, or cancel it after its
    /// expiry if it cannot execute (expired, or refused by name).
    async fn drain(&mut self) {
        while let Some(r) = self.open.first().cloned() {
            self.op_name = format!("drain {} request {} of a{}", r.kind.name(), r.nonce, r.a);
            let ex = self.pick_executor(r.a);
            if let Outcome::Failed = self.op_execute(0, Timing::Soon, ex).await {
                let now = self.unix_now().await;
                if now <= r.expires_at {
                    self.bank.advance_time(r.expires_at + 1 - now).await;
                }
                self.cancel(0, ex).await;
            }
        }
        if !self.open.is_empty() {
            self.fail("requests left open after the drain");
        }
    }

    async fn op_rebalance(&mut self, caller: usize, ti: usize) {
        self.op_rebalance_with(caller, ti, true).await;
    }

    /// Actor `caller` rebalances token `ti` (with the oracle re-published
    /// first when `publish`, else as it is).
    async fn op_rebalance_with(&mut self, caller: usize, ti: usize, publish: bool) {
        let mi = self.tokens[ti].m;
        if publish {
            self.write_oracle(mi).await;
        }
        let kp = self.actors[caller].kp.insecure_clone();
        let c = self.actors[caller].coll[mi];
        let keys = self.tokens[ti].keys;
        let was_wiped = self.tokens[ti].wiped;
        let before_state = self.token_state(ti);
        let e = self.exec(&[ix::rebalance(kp.pubkey(), &keys, c)], &[&kp]).await;
        if !e.ok() {
            if !is_program_error(&e.out) {
                self.fail(&format!("rebalance failed without a named program error: {:?}\n{}", e.out.result, e.out.logs.join("\n")));
            }
            return;
        }
        if was_wiped {
            self.fail("a rebalance of a wiped token succeeded");
        }
        let (holders, supply) = (self.holdings(ti), self.supply(&keys.share_mint));
        let (_, wiped) = self.apply_settlements(ti, &e.out, &holders, supply);
        self.note_wipe(ti, wiped);
        let ev = e.out.events::<Rebalanced>();
        let reward = self.bal(&c) - amount_of(&e.before[&c]);
        if wiped {
            if !ev.is_empty() || reward != 0 {
                self.fail("a wiping rebalance traded or paid a reward");
            }
            return;
        }
        if ev.len() != 1 {
            self.fail("a successful rebalance emitted no Rebalanced event");
        }
        let r = &ev[0];
        self.move_fee_to_pool(ti, r.trade_fee);
        self.tokens[ti].implied_vault -= i128::from(r.keeper_reward);
        if reward != r.keeper_reward {
            self.fail(&format!("caller received {reward}, event says {}", r.keeper_reward));
        }
        self.equity_matches(ti, r.equity_after);
        let t = self.token_state(ti);
        if t.schedule_anchor_slot < before_state.schedule_anchor_slot || t.rebalance_count != before_state.rebalance_count + 1 {
            self.fail("rebalance bookkeeping");
        }
        // 6. Leverage lands within 2 bps of target unless capped or the equity is dust.
        let p = self.norm(mi);
        let vault = self.bal(&keys.vault);
        let equity = i128::from(vault) - i128::from(t.fees_owed);
        if !t.chunk_in_progress && equity >= i128::from(self.markets[mi].unit) {
            let lev = leverage_bps(t.base, p.price, equity).unwrap().unwrap();
            let target = i64::from(t.target_leverage_bps);
            self.figures.lev_checks += 1;
            self.figures.max_lev_err_bps = self.figures.max_lev_err_bps.max((lev - target).abs());
            if (lev - target).abs() > 2 || (r.leverage_after_bps - target).abs() > 2 {
                self.fail(&format!("rebalance left leverage {lev} (event {}) against target {target}, equity {equity}", r.leverage_after_bps));
            }
        }
        if !self.tokens[ti].wiped && t.chunk_in_progress != r.chunk_in_progress {
            self.fail("chunk flag differs from the event");
        }
    }

    /// A keeper pass: for every live token on a market with a fresh oracle, the
    /// SDK's `decide` predicts the outcome and the program must agree exactly
    /// (same trade, fee and reward when it rebalances; RebalanceNotNeeded when not).
    async fn op_sweep(&mut self, caller: usize) {
        for mi in 0..self.markets.len() {
            if self.markets[mi].mode != OracleMode::Fresh {
                continue;
            }
            let kind = if self.markets[mi].pull { OracleKind::PythPull } else { OracleKind::PythLegacy };
            for ti in self.markets[mi].tokens.clone() {
                if self.tokens[ti].wiped {
                    continue;
                }
                self.write_oracle(mi).await;
                let clock = self.bank.clock().await;
                // A keeper posts the update for a due schedule's time (half the time here) or reads the fresh one.
                if let Some(fix) = self.token_state(ti).schedule_fix(kind, clock.slot) {
                    if self.rng.gen_bool(0.5) {
                        self.write_update_for(mi, fix.target).await;
                    }
                }
                let v = self.token_view(ti);
                let oracle = self.markets[mi].keys.oracle;
                let acc = self.cache[&oracle].clone().expect("the oracle account");
                let config: Config = decode(&self.cache[&leveraged_token::pda::config().0]);
                let Ok(decided) = decide_at_oracle(&v, &oracle, &acc.owner, &acc.data, &clock, config.pause_flags) else { continue };
                let d = match decided {
                    Ok((d, _)) => d,
                    Err(issue) => {
                        // No price the rule accepts: the program fails with the issue's error.
                        self.op_name = format!("keeper sweep t{ti} by a{caller}: {issue:?}");
                        self.op_rebalance_with(caller, ti, false).await;
                        let want = format!("{:?}", issue.error_code());
                        if self.last_outcome != want {
                            self.fail(&format!("decide_at_oracle() said {want}, the program said {}", self.last_outcome));
                        }
                        self.write_oracle(mi).await;
                        continue;
                    }
                };
                if matches!(d, Decision::Skip { .. }) {
                    self.write_oracle(mi).await;
                    continue;
                }
                self.op_name = format!("keeper sweep t{ti} by a{caller}: {d:?}");
                self.op_rebalance_with(caller, ti, false).await;
                let last = self.last_outcome.clone();
                match &d {
                    Decision::NotNeeded { .. } => {
                        if last != "RebalanceNotNeeded" {
                            self.fail(&format!("decide() said not needed, the program said {last}"));
                        }
                    }
                    Decision::Wipe { .. } => {
                        if last != "ok" || !self.tokens[ti].wiped {
                            self.fail(&format!("decide() predicted a wipe, the program said {last}"));
                        }
                    }
                    Decision::Rebalance { plan, .. } => {
                        let ev = self.last_rebalanced;
                        match (last.as_str(), ev) {
                            ("ok", Some(r)) if r == (plan.trade_notional, plan.trade_fee, plan.keeper_reward, plan.triggers) => {}
                            (_, ev) => self.fail(&format!("decide() planned {plan:?}, the program said {last} {ev:?}")),
                        }
                    }
                    Decision::Skip { .. } => {}
                }
                self.write_oracle(mi).await;
            }
        }
    }

    async fn op_collect(&mut self, ti: usize, wrong: bool) {
        let mi = self.tokens[ti].m;
        let dest = if wrong { self.actors[2].coll[mi] } else { self.markets[mi].treasury_account };
        let keys = self.tokens[ti].keys;
        let e = self.exec(&[ix::collect_fees(&keys, dest)], &[]).await;
        if !e.ok() {
            if !is_program_error(&e.out) {
                self.fail(&format!("collect failed without a named program error: {:?}", e.out.result));
            }
            return;
        }
        if wrong {
            self.fail("fees were collected to an account the treasury does not own");
        }
        for f in e.out.events::<FeesCollected>() {
            self.tokens[ti].implied_vault -= i128::from(f.amount);
        }
        if self.token_state(ti).fees_owed != 0 {
            self.fail("fees_owed not cleared by collect_fees");
        }
    }

    /// A holder transfers collateral straight into a token or pool vault.
    async fn op_donate(&mut self, a: usize, target: usize) {
        let ti = target % self.tokens.len();
        let mi = self.tokens[ti].m;
        let to_pool = target >= self.tokens.len();
        let kp = self.actors[a].kp.insecure_clone();
        let from = self.actors[a].coll[mi];
        let bal = self.bal(&from);
        if bal == 0 {
            return;
        }
        let amount = self.rng.gen_range(1..=bal.min(1_000 * self.markets[mi].unit));
        let dest = if to_pool { self.markets[mi].keys.pool_vault } else { self.tokens[ti].keys.vault };
        let t = spl_token::instruction::transfer(&spl_token::ID, &from, &dest, &kp.pubkey(), &[], amount).unwrap();
        let e = self.exec(&[t], &[&kp]).await;
        if !e.ok() {
            self.fail("donation transfer failed");
        }
        if to_pool {
            self.markets[mi].implied_pool += i128::from(amount);
        } else {
            self.tokens[ti].implied_vault += i128::from(amount);
            // Every holder's claim grows by its pro-rata share of the donation.
            let s = u128::from(self.supply(&self.tokens[ti].keys.share_mint));
            for h in 0..self.actors.len() {
                let held = u128::from(self.held(h, ti));
                if held > 0 {
                    self.bound[h][ti] += (held * u128::from(amount)).div_ceil(s + VIRTUAL) + 1;
                }
            }
        }
    }

    /// Move market `mi`'s price. Every holder's bound grows by its share of the
    /// token's PnL over the move: h / (S + 1000) · |N(p1) − N(p0)|.
    async fn set_price(&mut self, mi: usize, new_price: i64) {
        let p0 = self.norm(mi).price;
        let old = self.markets[mi].price;
        self.markets[mi].price = new_price;
        self.markets[mi].conf = new_price as u64 / 2_000;
        let p1 = self.norm(mi).price;
        self.markets[mi].price = old;
        for ti in self.markets[mi].tokens.clone() {
            if self.tokens[ti].wiped {
                continue;
            }
            let base = self.token_state(ti).base;
            let dn = (notional_floor(base, p1).unwrap() - notional_floor(base, p0).unwrap()).unsigned_abs() + 1;
            let s = u128::from(self.supply(&self.tokens[ti].keys.share_mint));
            for a in 0..self.actors.len() {
                let h = u128::from(self.held(a, ti));
                if h > 0 {
                    self.bound[a][ti] = self.bound[a][ti].saturating_add((h * dn).div_ceil(s + VIRTUAL));
                }
            }
        }
        self.markets[mi].price = new_price;
        self.markets[mi].conf = new_price as u64 / 2_000;
    }

    async fn op_price(&mut self) {
        let mi = self.rng.gen_range(0..self.markets.len());
        let p = self.markets[mi].price as f64;
        let base = self.markets[mi].base_price as f64;
        let roll = self.rng.gen_range(0..100);
        let (mode, factor, what) = match roll {
            0..=39 => (OracleMode::Fresh, 1.0 + self.rng.gen_range(-0.005..0.005), "small"),
            40..=59 => (OracleMode::Fresh, 1.0 + self.rng.gen_range(0.02..0.06) * if self.rng.gen_bool(0.5) { 1.0 } else { -1.0 }, "medium"),
            60..=70 => (OracleMode::Fresh, 1.0 + self.rng.gen_range(0.08..0.15) * if self.rng.gen_bool(0.5) { 1.0 } else { -1.0 }, "large"),
            71 => (OracleMode::Fresh, 0.6, "crash -40%"),
            72 => (OracleMode::Fresh, self.rng.gen_range(1.45..1.65), "spike"),
            73..=82 => (OracleMode::Fresh, (base / p).sqrt(), "halfway back to base"),
            83..=89 => (OracleMode::Wide, 1.0, "wide confidence"),
            _ => (OracleMode::Stale, 1.0, "stale"),
        };
        let mut np = (p * factor) as i64;
        np = np.clamp(self.markets[mi].base_price / 4, self.markets[mi].base_price * 4);
        self.op_name = format!("price {what} m{mi} {} -> {}", self.markets[mi].price, np);
        self.set_price(mi, np).await;
        self.markets[mi].mode = mode;
        self.write_oracle(mi).await;
    }

    async fn op_warp(&mut self) {
        let roll = self.rng.gen_range(0..100);
        let (slots, freeze) = match roll {
            0..=59 => (self.rng.gen_range(1..=30), false),
            60..=89 => (self.rng.gen_range(100..=3_000), false),
            90..=94 => (216_000, false),
            _ => (self.rng.gen_range(30..=200), true),
        };
        self.op_name = format!("warp {slots}{}", if freeze { " (oracle frozen)" } else { "" });
        if freeze {
            let mi = self.rng.gen_range(0..self.markets.len());
            self.markets[mi].mode = OracleMode::Frozen;
        }
        self.bank.warp(slots).await;
        for mi in 0..self.markets.len() {
            if self.markets[mi].mode != OracleMode::Frozen && self.markets[mi].mode != OracleMode::Stale && self.rng.gen_bool(0.98) {
                self.markets[mi].mode = OracleMode::Fresh;
            }
            self.write_oracle(mi).await;
        }
    }

    fn random_market_params(&mut self, valid: bool) -> MarketParams {
        let r = &mut self.rng;
        let mut p = MarketParams {
            trade_fee_bps: r.gen_range(0..=100),
            funding_max_bps: r.gen_range(0..=50_000),
            borrow_base_bps: r.gen_range(0..=10_000),
            borrow_kink_utilization_bps: r.gen_range(1..=9_999),
            borrow_kink_rate_bps: 0,
            borrow_max_rate_bps: r.gen_range(0..=100_000),
            insurance_share_bps: r.gen_range(0..=5_000),
            side_cap_bps: r.gen_range(5_000..=100_000),
            net_cap_bps: 0,
            stress_jump_bps: r.gen_range(500..=9_999),
            stress_loss_cap_bps: r.gen_range(100..=10_000),
            max_age_slots: r.gen_range(10..=1_500),
            max_age_secs: r.gen_range(30..=600),
            max_conf_bps: r.gen_range(20..=1_000),
            request_delay_secs: r.gen_range(1..=60),
            request_ttl_secs: if r.gen_bool(0.9) { r.gen_range(10..=600) } else { r.gen_range(601..=86_400) },
            lp_cooldown_secs: if r.gen_bool(0.5) { r.gen_range(0..=600) } else { r.gen_range(601..=7_200) },
            lp_fee_bps: r.gen_range(0..=100),
            executor_fee_lamports: r.gen_range(0..=10_000_000),
        };
        // Within MarketParams::validate: kink rate ≤ max rate, 0 < net cap ≤ side cap.
        p.borrow_kink_rate_bps = r.gen_range(0..=p.borrow_max_rate_bps);
        p.net_cap_bps = r.gen_range(1_000..=p.side_cap_bps);
        if r.gen_bool(0.3) {
            p = leveraged_token_sdk::defaults::market_params();
        }
        if !valid {
            // One bound of MarketParams::validate broken.
            match r.gen_range(0..19) {
                0 => p.trade_fee_bps = r.gen_range(101..=u16::MAX),
                1 => p.funding_max_bps = r.gen_range(50_001..=u32::MAX),
                2 => p.borrow_base_bps = r.gen_range(10_001..=u32::MAX),
                10 => p.borrow_kink_utilization_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(10_000..=u32::MAX) },
                11 => p.borrow_kink_rate_bps = r.gen_range(p.borrow_max_rate_bps + 1..=u32::MAX),
                12 => p.borrow_max_rate_bps = r.gen_range(100_001..=u32::MAX),
                13 => p.insurance_share_bps = r.gen_range(5_001..=u16::MAX),
                14 => p.side_cap_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(100_001..=u32::MAX) },
                15 => p.net_cap_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(p.side_cap_bps + 1..=u32::MAX) },
                16 => p.stress_jump_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(10_000..=u32::MAX) },
                17 => p.stress_loss_cap_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(10_001..=u32::MAX) },
                3 => p.max_age_slots = if r.gen_bool(0.5) { 0 } else { r.gen_range(1_501..=u64::MAX) },
                4 => p.max_age_secs = if r.gen_bool(0.5) { 0 } else { r.gen_range(601..=i64::MAX) },
                5 => p.max_conf_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(1_001..=u16::MAX) },
                6 => p.request_delay_secs = if r.gen_bool(0.5) { 0 } else { r.gen_range(61..=u16::MAX) },
                7 => p.request_ttl_secs = if r.gen_bool(0.5) { r.gen_range(0..10) } else { r.gen_range(86_401..=u32::MAX) },
                8 => p.lp_cooldown_secs = r.gen_range(604_801..=u32::MAX),
                9 => p.lp_fee_bps = r.gen_range(101..=u16::MAX),
                _ => p.executor_fee_lamports = r.gen_range(10_000_001..=u64::MAX),
            }
        }
        p
    }

    fn random_token_params(&mut self, target: i32, unit: u64, valid: bool) -> TokenParams {
        let t = target.unsigned_abs();
        let r = &mut self.rng;
        let mut p = leveraged_token_sdk::defaults::responsive_token_params(target, unit);
        if r.gen_bool(0.7) {
            p.band_min_bps = t * r.gen_range(70..=95) / 100;
            p.band_max_bps = t * r.gen_range(105..=130) / 100;
            p.ripcord_bps = p.band_max_bps + t * r.gen_range(5..=30) / 100;
            let max_dev = (100_000_000 / t).saturating_sub(1).min(5_000);
            p.deviation_bps = r.gen_range(100..=max_dev.max(101));
            p.rebalance_period_slots = r.gen_range(750..=216_000);
            p.max_notional_per_call = if r.gen_bool(0.5) { 0 } else { r.gen_range(100..=20_000) * unit };
            p.keeper_reward = r.gen_range(0..=5) * unit;
            // At most 1 % of equity a day over the day's periods.
            p.keeper_reward_cap_bps = r.gen_range(0..=(100 * p.rebalance_period_slots / 216_000).min(100) as u16);
            p.mint_fee_bps = r.gen_range(0..=100);
            p.redeem_fee_bps = r.gen_range(0..=100);
            p.streaming_fee_bps = r.gen_range(0..=1_000);
        }
        if !valid {
            match r.gen_range(0..6) {
                0 => p.band_min_bps = t + 1,
                1 => p.band_max_bps = t - 1,
                2 => p.ripcord_bps = p.band_max_bps,
                3 => p.deviation_bps = if r.gen_bool(0.5) { 0 } else { (100_000_000 / t) + 1 },
                4 => p.rebalance_period_slots = r.gen_range(0..750),
                _ => p.mint_fee_bps = r.gen_range(501..=u16::MAX),
            }
        }
        p
    }

    async fn op_admin(&mut self) {
        let admin = self.admin.insecure_clone();
        let stranger = self.actors[self.rng.gen_range(0..self.actors.len())].kp.insecure_clone();
        let as_stranger = self.rng.gen_bool(0.05);
        let signer = if as_stranger { &stranger } else { &admin };
        let who = signer.pubkey();
        let roll = self.rng.gen_range(0..100);
        let (ixx, expect): (Instruction, Option<ErrorCode>) = if roll < 30 {
            let mi = self.rng.gen_range(0..self.markets.len());
            let valid = self.rng.gen_bool(0.8);
            let p = self.random_market_params(valid);
            self.op_name = format!("admin market params m{mi} valid={valid} stranger={as_stranger}");
            (ix::propose_market_params(who, self.markets[mi].keys.market, p), if valid { None } else { Some(ErrorCode::InvalidMarketParams) })
        } else if roll < 60 {
            let ti = self.rng.gen_range(0..self.tokens.len());
            let valid = self.rng.gen_bool(0.8);
            let (lev, unit) = (self.tokens[ti].keys.target_leverage_bps, self.markets[self.tokens[ti].m].unit);
            let p = self.random_token_params(lev, unit, valid);
            self.op_name = format!("admin token params t{ti} valid={valid} stranger={as_stranger}");
            (ix::propose_token_params(who, self.tokens[ti].keys.token, p), if valid { None } else { Some(ErrorCode::InvalidTokenParams) })
        } else {
            let bad_mask = self.rng.gen_bool(0.1);
            // Pauses are set 30 % of the time; otherwise a scope that has flags set is cleared.
            let paused = self.rng.gen_bool(0.3);
            let mut mask = if bad_mask { [0u8, 0x10, 0xF0][self.rng.gen_range(0..3)] } else { self.rng.gen_range(1..=PAUSE_ALL) };
            let mut scope = self.rng.gen_range(0..3);
            let mut mi = self.rng.gen_range(0..self.markets.len());
            let mut ti = self.rng.gen_range(0..self.tokens.len());
            if !paused && !bad_mask {
                mask = PAUSE_ALL;
                let config: leveraged_token::state::Config = decode(&self.cache[&leveraged_token::pda::config().0]);
                if config.pause_flags != 0 {
                    scope = 0;
                } else if let Some(m) = (0..self.markets.len()).find(|&m| self.market_state(m).pause_flags != 0) {
                    (scope, mi) = (1, m);
                } else if let Some(t) = (0..self.tokens.len()).find(|&t| self.token_state(t).pause_flags != 0) {
                    (scope, ti) = (2, t);
                }
            }
            self.op_name = format!("admin pause scope {scope} mask {mask:#x} paused={paused} stranger={as_stranger}");
            let i = match scope {
                0 => ix::set_global_pause(who, mask, paused),
                1 => ix::set_market_pause(who, self.markets[mi].keys.market, mask, paused),
                _ => ix::set_token_pause(who, self.tokens[ti].keys.token, mask, paused),
            };
            (i, if bad_mask { Some(ErrorCode::InvalidPauseFlags) } else { None })
        };
        let expect = if as_stranger { Some(ErrorCode::NotAdmin) } else { expect };
        let proposal = (ixx.data.starts_with(<leveraged_token::instruction::ProposeMarketParams as anchor_lang::Discriminator>::DISCRIMINATOR)
            || ixx.data.starts_with(<leveraged_token::instruction::ProposeTokenParams as anchor_lang::Discriminator>::DISCRIMINATOR))
        .then(|| ixx.accounts[2].pubkey);
        let e = self.exec(&[ixx], &[signer]).await;
        match (expect, e.ok()) {
            (None, true) => {}
            (Some(c), false) if e.out.custom_error() == Some(u32::from(c)) => {}
            _ => self.fail(&format!("admin op expected {expect:?}, got {}", error_name(&e.out))),
        }
        if let (Some(target), true) = (proposal, e.ok()) {
            self.apply_proposal(target).await;
        }
    }

    /// A proposal landed: wait out the delay (the oracles re-published at the
    /// new time), then apply it (anyone may). It may be refused only while
    /// the exits are paused or the token's oracle is unusable; then the admin
    /// cancels it.
    async fn apply_proposal(&mut self, target: Pubkey) {
        let admin = self.admin.insecure_clone();
        self.bank.wait_out_param_delay().await;
        for mi in 0..self.markets.len() {
            self.write_oracle(mi).await;
        }
        let token = self.tokens.iter().position(|t| t.keys.token == target);
        let apply = match token {
            Some(ti) => ix::apply_token_params(&self.tokens[ti].keys, admin.pubkey()),
            None => ix::apply_market_params(target, admin.pubkey()),
        };
        // No signer but the fee payer: anyone may apply.
        let e = self.exec(&[apply], &[]).await;
        if e.ok() {
            // A token's apply settles it at the old parameters (it may wipe it).
            if let Some(ti) = token {
                let (holders, supply) = (self.holdings(ti), self.supply(&self.tokens[ti].keys.share_mint));
                let (_, wiped) = self.apply_settlements(ti, &e.out, &holders, supply);
                self.note_wipe(ti, wiped);
            }
            return;
        }
        let allowed = [ErrorCode::ExitsPaused, ErrorCode::OracleStale, ErrorCode::OracleConfidenceTooWide, ErrorCode::OraclePriceRegressed];
        if !allowed.iter().any(|c| e.out.custom_error() == Some(u32::from(*c))) {
            self.fail(&format!("apply of a due proposal refused: {}", error_name(&e.out)));
        }
        let cancel = ix::cancel_param_proposal(admin.pubkey(), target, admin.pubkey());
        let e = self.exec(&[cancel], &[&admin]).await;
        if !e.ok() {
            self.fail(&format!("cancel refused: {}", error_name(&e.out)));
        }
    }

    /// Replace one pinned account of a valid instruction by another known
    /// account (an open request's account or escrow included) or a fresh
    /// key: the program must refuse it. The instruction is a request of a
    /// random kind, the execution of an open request at its price time (or,
    /// once expired, its cancel), a rebalance or a fee collection.
    async fn op_substitute(&mut self) {
        let ti = self.pick_token();
        let mi = self.tokens[ti].m;
        let a = self.rng.gen_range(0..self.actors.len());
        let kp = self.actors[a].kp.insecure_clone();
        let c = self.actors[a].coll[mi];
        let t = self.tokens[ti].keys;
        let unit = self.markets[mi].unit;
        let choice = if self.open.is_empty() { [0, 3, 4][self.rng.gen_range(0..3)] } else { self.rng.gen_range(0..5) };
        let (mut ixx, pinned, signer, what): (Instruction, Vec<usize>, Option<TestKeypair>, String) = match choice {
            0 => {
                let kind = [RequestKind::Mint, RequestKind::Redeem, RequestKind::Deposit, RequestKind::Withdraw][self.rng.gen_range(0..4)];
                let token = matches!(kind, RequestKind::Mint | RequestKind::Redeem).then_some(ti);
                self.req_nonce += 1;
                let ixr = self.request_ix(a, kind, mi, token, self.req_nonce, (unit, 0));
                // Every account but the owner (the signer).
                let pinned = (1..ixr.accounts.len()).collect();
                (ixr, pinned, Some(kp), format!("request_{}", kind.name()))
            }
            1 | 2 => {
                let r = self.open[self.rng.gen_range(0..self.open.len())].clone();
                self.reach(r.mi, r.target).await;
                let exi = self.pick_executor(r.a);
                let ex = self.actors[exi].kp.insecure_clone();
                if self.unix_now().await > r.expires_at {
                    // request, owner, escrow, destination, refund account, token program (not the caller).
                    (self.cancel_ix(&r, ex.pubkey()), vec![0, 2, 3, 4, 5, 6], Some(ex), "cancel_request".into())
                } else {
                    self.write_update_for(r.mi, r.target).await;
                    let ixe = self.execute_ix(&r, ex.pubkey());
                    let mut pinned: Vec<usize> = (0..ixe.accounts.len()).filter(|&i| i != 1).collect();
                    if self.reads_no_oracle(&r) {
                        pinned.retain(|&i| i != 10);
                    }
                    // An LP flow's remaining accounts (every token of the market and its vault,
                    // after the request's 7 and the pool's 5) are read only past a pause and
                    // the update's checks.
                    if matches!(r.kind, RequestKind::Deposit | RequestKind::Withdraw) && !self.reads_market_tokens(&r) {
                        pinned.retain(|&i| i < 12);
                    }
                    (ixe, pinned, Some(ex), format!("execute_{}", r.kind.name()))
                }
            }
            // config, market, token, oracle, token vault, pool vault, insurance vault, token program.
            3 => (ix::rebalance(kp.pubkey(), &t, c), vec![1, 2, 3, 4, 5, 6, 7, 9], Some(kp), "rebalance".into()),
            _ => (ix::collect_fees(&t, self.markets[mi].treasury_account), vec![0, 1, 2, 3, 5], None, "collect".into()),
        };
        let role = pinned[self.rng.gen_range(0..pinned.len())];
        let original = ixx.accounts[role].pubkey;
        let replacement = loop {
            let k = match self.rng.gen_range(0..10) {
                0 => Pubkey::new_unique(),
                1 if !self.open.is_empty() => {
                    let q = &self.open[self.rng.gen_range(0..self.open.len())];
                    if self.rng.gen_bool(0.5) {
                        q.keys.request
                    } else {
                        q.keys.escrow
                    }
                }
                _ => self.universe[self.rng.gen_range(0..self.universe.len())],
            };
            if k != original {
                break k;
            }
        };
        ixx.accounts[role].pubkey = replacement;
        self.op_name = format!("substitute account #{role} of {what} by {replacement}");
        self.write_oracle(mi).await;
        let signers: Vec<&TestKeypair> = signer.iter().collect();
        let e = self.exec(&[ixx], &signers).await;
        self.figures.substitutions += 1;
        if e.ok() {
            self.fail(&format!("a transaction with pinned account #{role} ({original}) replaced by {replacement} succeeded"));
        }
    }

    // ───────────────────────────── driver ─────────────────────────────

    async fn step(&mut self) {
        let roll = self.rng.gen_range(0..100);
        let a = self.rng.gen_range(0..self.actors.len());
        // Faucet: an actor who ran dry is topped up (the mint's supply grows by exactly that),
        // and so is its wallet (it pays rents and executor fees).
        for mi in 0..self.markets.len() {
            let (c, unit) = (self.actors[a].coll[mi], self.markets[mi].unit);
            if self.bal(&c) < 1_000 * unit {
                let mint = self.markets[mi].mint;
                self.bank.mint_to(mint, c, 100_000 * unit).await;
                self.markets[mi].supply += 100_000 * unit;
                for k in [c, mint] {
                    let acc = self.bank.raw_account(k).await;
                    self.cache.insert(k, acc);
                }
            }
        }
        let wallet = self.actors[a].kp.pubkey();
        if lamports_of(&self.cache[&wallet]) < MIN_WALLET {
            let acc = self.cache[&wallet].clone().expect("a funded wallet");
            self.bank.set_account(wallet, acc.lamports + 5 * MIN_WALLET, acc.data, acc.owner);
            let acc = self.bank.raw_account(wallet).await;
            self.cache.insert(wallet, acc);
        }
        match roll {
            0..=21 => {
                let ti = self.pick_token();
                let mi = self.tokens[ti].m;
                let bal = self.bal(&self.actors[a].coll[mi]);
                let amount = self.pick_amount(bal, self.markets[mi].unit, 30_000);
                let min_out = if self.rng.gen_bool(0.1) { self.rng.gen_range(0..=amount.max(1)) } else { 0 };
                self.op_name = format!("mint a{a} t{ti} {amount} min {min_out}");
                self.op_flow(a, RequestKind::Mint, mi, Some(ti), amount, min_out).await;
            }
            22..=39 => {
                let held_tokens: Vec<usize> = (0..self.tokens.len()).filter(|&t| self.bal(&self.actors[a].shares[t]) > 0).collect();
                let ti = if !held_tokens.is_empty() && self.rng.gen_bool(0.85) { held_tokens[self.rng.gen_range(0..held_tokens.len())] } else { self.pick_token() };
                let held = self.bal(&self.actors[a].shares[ti]);
                let shares = match self.rng.gen_range(0..10) {
                    0 => 0,
                    1 => 1,
                    2 => held.saturating_add(1),
                    3 => u64::MAX,
                    4..=5 => held,
                    _ => self.rng.gen_range(0..=held),
                };
                let min_out = if self.rng.gen_bool(0.05) { self.rng.gen_range(0..=shares.min(u64::MAX / 2)) } else { 0 };
                self.op_name = format!("redeem a{a} t{ti} {shares}/{held} min {min_out}");
                let mi = self.tokens[ti].m;
                self.op_flow(a, RequestKind::Redeem, mi, Some(ti), shares, min_out).await;
            }
            40..=43 => {
                // 7. A mint redeemed right after at the same price returns at most what was paid.
                let ti = self.pick_token();
                let mi = self.tokens[ti].m;
                let bal = self.bal(&self.actors[a].coll[mi]);
                let unit = self.markets[mi].unit;
                let amount = self.pick_amount(bal, unit, 10_000).clamp(1, bal.max(1));
                self.op_name = format!("round trip a{a} t{ti} {amount}");
                if let Some((got, _)) = self.flow_now(a, RequestKind::Mint, mi, Some(ti), amount).await {
                    self.op_name = format!("round trip a{a} t{ti} {amount}: redeem {got}");
                    if let Some((back, _)) = self.flow_now(a, RequestKind::Redeem, mi, Some(ti), got).await {
                        self.figures.round_trips += 1;
                        if back > amount {
                            self.fail(&format!("mint of {amount} then redeem at the same price paid {back}"));
                        }
                    }
                }
            }
            44..=48 => {
                let mi = self.rng.gen_range(0..self.markets.len());
                let bal = self.bal(&self.actors[a].coll[mi]);
                let amount = self.pick_amount(bal, self.markets[mi].unit, 500_000);
                let min_out = if self.rng.gen_bool(0.1) { self.rng.gen_range(0..=amount.max(1)) } else { 0 };
                self.op_name = format!("deposit a{a} m{mi} {amount} min {min_out}");
                self.op_flow(a, RequestKind::Deposit, mi, None, amount, min_out).await;
            }
            49..=53 => {
                let mi = self.rng.gen_range(0..self.markets.len());
                let held = self.bal(&self.actors[a].lp[mi]);
                let lp = match self.rng.gen_range(0..10) {
                    0 => 0,
                    1 => held.saturating_add(1),
                    2 => u64::MAX,
                    3 => held,
                    _ => self.rng.gen_range(0..=held / 4),
                };
                let min_out = if self.rng.gen_bool(0.1) { self.rng.gen_range(0..=lp.max(1)) } else { 0 };
                self.op_name = format!("withdraw a{a} m{mi} {lp}/{held} min {min_out}");
                self.op_flow(a, RequestKind::Withdraw, mi, None, lp, min_out).await;
            }
            54..=55 => {
                // 7. An LP round trip returns at most the pool's own return between its two executions.
                let mi = self.rng.gen_range(0..self.markets.len());
                let bal = self.bal(&self.actors[a].coll[mi]);
                let amount = self.pick_amount(bal, self.markets[mi].unit, 100_000).clamp(1, bal.max(1));
                self.op_name = format!("LP round trip a{a} m{mi} {amount}");
                if let Some((lp, Some((value_d, supply_d)))) = self.flow_now(a, RequestKind::Deposit, mi, None, amount).await {
                    if let Some((back, Some((value_w, supply_w)))) = self.flow_now(a, RequestKind::Withdraw, mi, None, lp).await {
                        self.figures.lp_round_trips += 1;
                        let (v, s) = (VIRTUAL_ASSETS as f64, VIRTUAL_SHARES as f64);
                        // out ≤ amount · [(S_d + V)/(value_d + V)] · [(value_w + V)/(S_w + V)]: every rounding is down.
                        let pool_return = (supply_d as f64 + s) / (value_d as f64 + v) * (value_w as f64 + v) / (supply_w as f64 + s);
                        let bound = amount as f64 * pool_return;
                        self.figures.max_lp_return_ratio = self.figures.max_lp_return_ratio.max(back as f64 / bound.max(1.0));
                        if back as f64 > bound * (1.0 + 1e-12) + 1.0 {
                            self.fail(&format!("LP deposit of {amount} withdrawn for {back}, above the pool's own return ({bound:.0})"));
                        }
                    }
                }
            }
            56..=65 => self.op_price().await,
            66..=69 => {
                self.op_name = format!("execute {} open requests", self.open.len());
                self.op_settle_open().await;
            }
            70..=77 => self.op_warp().await,
            87..=91 => {
                let caller = self.rng.gen_range(0..self.actors.len());
                self.op_name = format!("keeper sweep by a{caller}");
                self.op_sweep(caller).await;
                self.figures.sweeps += 1;
            }
            78..=86 => {
                let ti = self.pick_token();
                let n = if self.rng.gen_bool(0.2) { 3 } else { 1 };
                for k in 0..n {
                    let caller = self.rng.gen_range(0..self.actors.len());
                    self.op_name = format!("rebalance t{ti} by a{caller} ({}/{n})", k + 1);
                    self.op_rebalance(caller, ti).await;
                }
            }
            92..=93 => {
                let ti = self.rng.gen_range(0..self.tokens.len());
                let wrong = self.rng.gen_bool(0.2);
                self.op_name = format!("collect fees t{ti} wrong={wrong}");
                self.op_collect(ti, wrong).await;
            }
            94..=96 => self.op_admin().await,
            97 => {
                let target = self.rng.gen_range(0..2 * self.tokens.len());
                self.op_name = format!("donate a{a} -> {target}");
                self.op_donate(a, target).await;
            }
            _ => self.op_substitute().await,
        }
    }

    async fn run(&mut self, ops: u64, progress: u64, started: Instant, offset: u64) {
        for i in 0..ops {
            self.op = i;
            self.step().await;
            let name = self.op_name.clone();
            self.push_trail(format!("#{i} {name}"));
            if let Some(tt) = std::env::var("FUZZ_TRACE_TOKEN").ok().and_then(|t| t.parse::<usize>().ok()).filter(|&t| t < self.tokens.len()) {
                let t = self.token_state(tt);
                let p = self.norm(self.tokens[tt].m).price;
                let upnl = notional_floor(t.base, p).unwrap() - t.cost;
                let holders: Vec<(u64, u128)> = (0..self.actors.len()).map(|a| (self.held(a, tt), self.bound[a][tt])).collect();
                eprintln!(
                    "#{i} {name} -> {}\n    t{tt}: vault {} fees {} supply {} base {} cost {} uPnL {upnl} status {:?} holders {holders:?}",
                    self.last_outcome,
                    self.bal(&self.tokens[tt].keys.vault),
                    t.fees_owed,
                    self.supply(&self.tokens[tt].keys.share_mint),
                    t.base,
                    t.cost,
                    t.status
                );
            }
            self.check_all(&name);
            // A wiped token is replaced by a fresh one on the same market, so the world keeps live tokens.
            for ti in 0..self.tokens.len() {
                if self.tokens[ti].wiped
                    && !self.tokens.iter().any(|t| {
                        t.m == self.tokens[ti].m
                            && !t.wiped
                            && t.keys.target_leverage_bps.signum() == self.tokens[ti].keys.target_leverage_bps.signum()
                            && t.keys.target_leverage_bps.abs() > self.tokens[ti].keys.target_leverage_bps.abs() - 200
                    })
                    && self.tokens.len() < MAX_TOKENS
                    && self.markets[self.tokens[ti].m].tokens.len() < MAX_TOKENS_PER_MARKET
                {
                    let (mi, lev) = (self.tokens[ti].m, self.tokens[ti].keys.target_leverage_bps);
                    let next = lev + lev.signum() * (1 + self.tokens.len() as i32);
                    self.op_name = format!("respawn t{ti} as {next}");
                    self.spawn_token(mi, next).await;
                }
            }
            if i % 250 == 249 {
                self.resync().await;
            }
            if progress > 0 && (offset + i + 1).is_multiple_of(progress) {
                eprintln!(
                    "fuzz: {} ops, {:.1} s, {} tokens ({} wiped), {} requests ({} open)",
                    offset + i + 1,
                    started.elapsed().as_secs_f64(),
                    self.tokens.len(),
                    self.tokens.iter().filter(|t| t.wiped).count(),
                    self.figures.requests,
                    self.open.len()
                );
            }
        }
        // 11. Every request closes: executed or, past its expiry, cancelled.
        self.op = ops;
        self.drain().await;
        self.check_all("drained");
        self.resync().await;
        self.check_all("end");
    }
}

#[tokio::test]
async fn stateful_fuzz() {
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    let ops: u64 = std::env::var("FUZZ_OPS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_OPS);
    let progress: u64 = std::env::var("FUZZ_PROGRESS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    println!("fuzz: seed {seed}, {ops} operations (replay with FUZZ_SEED={seed} FUZZ_OPS={ops})");
    eprintln!("fuzz: seed {seed}, {ops} operations");
    let started = Instant::now();
    let mut done = 0;
    let mut segment = 0;
    let mut stats: BTreeMap<String, u64> = BTreeMap::new();
    let mut checks = 0;
    let mut wiped = 0;
    let mut fig = Figures::default();
    while done < ops {
        let n = (ops - done).min(SEGMENT_OPS);
        let mut f = Fuzz::new(seed.wrapping_add(segment)).await;
        f.run(n, progress, started, done).await;
        for (k, v) in &f.stats {
            *stats.entry(k.split(|c: char| c.is_ascii_digit()).next().unwrap_or("").trim().to_string() + " -> " + k.rsplit(" -> ").next().unwrap()).or_default() += v;
        }
        checks += f.checks;
        fig.add(&f.figures);
        wiped += f.tokens.iter().filter(|t| t.wiped).count();
        done += n;
        segment += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("fuzz: seed {seed}: {ops} operations, {checks} invariant checks, {wiped} tokens wiped, 0 violations, {secs:.1} s");
    eprintln!("fuzz: seed {seed}: {ops} operations, {checks} invariant checks, {wiped} tokens wiped, 0 violations, {secs:.1} s");
    let report = format!(
        "fuzz: {} failed transactions verified unchanged; {} redeems within the no-free-lunch bound (max payout/bound {:.3}); {} mint+redeem and {} LP round trips (max LP payout / pool return {:.4}); {} rebalances within 2 bps (max error {} bps); {} cap checks after mints that grew |net| and {} after withdrawals; {} LP executions priced at the honest pool value; {} accruals stepped as the state before says; {} charges split into funding and borrow; insurance funded {}, covered {} of bad debt, LPs absorbed {} (collateral units, both markets); {} substitutions refused; {} keeper sweeps agreeing with decide(); {} wipes; {} mint and {} LP executions refused by name (MathOverflow: a quote past u64, finding F7; the request left open, then cancelled; a violation with FUZZ_STRICT)\n\
         fuzz: {} requests ({} refused by name at the request), each closed once: {} filled, {} refunded, {} cancelled after expiry ({} executions by a stranger); refused as they must be: {} executions after expiry, {} early cancels, {} replays, {} updates of another price time; {} open-request escrow checks\n\
         fuzz: refunds by reason: {:?}",
        fig.failed_unchanged,
        fig.bound_checks,
        fig.max_bound_ratio,
        fig.round_trips,
        fig.lp_round_trips,
        fig.max_lp_return_ratio,
        fig.lev_checks,
        fig.max_lev_err_bps,
        fig.cap_checks,
        fig.withdraw_cap_checks,
        fig.lp_value_checks,
        fig.accrual_checks,
        fig.charge_checks,
        fig.insurance_funded,
        fig.insurance_covered,
        fig.lp_losses,
        fig.substitutions,
        fig.sweeps,
        fig.wipes,
        fig.share_supply_overflows,
        fig.lp_supply_overflows,
        fig.requests,
        fig.requests_refused,
        fig.fills,
        fig.refunds,
        fig.cancels,
        fig.stranger_executions,
        fig.expired_refused,
        fig.early_cancels_refused,
        fig.replays_refused,
        fig.wrong_updates_refused,
        fig.escrow_checks,
        fig.refund_reasons
    );
    println!("{report}");
    eprintln!("{report}");
    if std::env::var("FUZZ_STATS").is_ok() {
        for (k, v) in stats {
            eprintln!("  {v:>8}  {k}");
        }
    }
    // SBF heap: the largest use of every instruction the fuzzer sent (failures
    // included), measured by the bank's processor wrapper (harness::heap).
    use leveraged_token_tests::harness::heap;
    if heap::counting() {
        let table = heap::report();
        println!("{table}");
        eprintln!("{table}");
        for (name, m) in heap::maxima() {
            assert!(m.max.total() <= heap::HEAP_USABLE, "{name}: {} bytes of SBF heap > {} usable (seed {seed})", m.max.total(), heap::HEAP_USABLE);
        }
    }
}
