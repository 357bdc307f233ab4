//! Seeded stateful fuzzer: random operations by random actors against two
//! markets (two collateral mints, a legacy and a pull oracle) with several
//! tokens each, every invariant checked after every step.
//!
//! * `FUZZ_SEED=<u64>` replays a run (default: a fresh seed from the clock,
//!   printed at the start and in every failure message);
//! * `FUZZ_OPS=<n>` sets the number of operations (default [`DEFAULT_OPS`]);
//! * `FUZZ_PROGRESS=<n>` prints a progress line every n operations;
//! * `FUZZ_STATS=1` prints the outcome count of every operation kind at the end;
//! * `FUZZ_STRICT=1` makes the known finding F4 (supply overflow inside SPL
//!   Token) a violation instead of a counted event;
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
//! 1. conservation — per collateral mint, Σ balances of every known account ==
//!    the mint's supply == what the harness minted (setup + faucet top-ups):
//!    no collateral created or destroyed;
//! 2. share and LP mints — supply == Σ holders' balances;
//! 3. pool books — each market's aggregates equal the sums over its tokens
//!    (net_base = Σ base, gross_base = Σ |base|, net_cost = Σ cost,
//!    total_abs_cost = Σ |cost|, weighted_snapshot = Σ |cost|·snapshot), and
//!    every vault's balance equals the running balance implied by the program's
//!    events (settlement transfers, trade fees, payouts, rewards, LP flows, fee
//!    collection) plus harness donations; after a settling instruction a token's
//!    reported equity == vault − fees_owed;
//! 4. open interest within the cap right after every successful mint;
//! 5. a wiped token stays wiped (base = cost = 0, no mint ever succeeds);
//! 6. after an uncapped, non-wiping rebalance |leverage − target| ≤ 2 bps;
//! 7. no free lunch — a mint immediately redeemed at the same price returns at
//!    most what was paid (same for an LP deposit withdrawn at once), and every
//!    redeem pays at most the holder's bound: Σ paid in + Σ h/(S+1000)·|ΔN| over
//!    price moves (the leveraged PnL) + the documented rounding/confidence slack;
//! 8. every failed transaction changed no account; a substituted pinned account
//!    (market, token, vaults, mints, oracle, config, token program) is always
//!    refused; ordinary operations fail only with the program's named errors;
//! 9. borrow index and last oracle publish time never go backwards.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use leveraged_token::events::{FeesCollected, LiquidityDeposited, LiquidityWithdrawn, Minted, PositionSettled, Rebalanced, Redeemed, TokenWiped};
use leveraged_token::math::pool::{open_interest_within_cap, pool_value, Side};
use leveraged_token::math::position::{conf_exposure_ceil, leverage_bps, notional_floor};
use leveraged_token::math::price::{normalize_price, NormalizedPrice};
use leveraged_token::state::{LeveragedToken, Market, MarketParams, TokenParams, TokenStatus};
use leveraged_token_sdk::decide::{decide, settle_view, Decision, TokenView};
use leveraged_token_sdk::errors::program_error;
use leveraged_token_sdk::{ix, MarketKeys, OracleKind, TokenKeys};
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
/// Tokens per segment (wiped ones are replaced up to this many).
const MAX_TOKENS: usize = 64;
const EXPO: i32 = -8;
const USD: i64 = 100_000_000;
const FEED: [u8; 32] = [0x42; 32];
const VIRTUAL: u128 = 1_000;

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
    supply: u64,
}

struct TokenM {
    keys: TokenKeys,
    m: usize,
    wiped: bool,
    implied_vault: i128,
}

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
    last_index: Vec<u128>,
    last_publish: Vec<i64>,
    nonce: u64,
    checks: u64,
    last_outcome: String,
    /// (trade_notional, trade_fee, keeper_reward, triggers) of the last Rebalanced event.
    last_rebalanced: Option<(i128, u64, u64, u8)>,
    /// Figures for the report: redeems checked against the bound (and the
    /// largest payout / bound ratio), rebalances checked against the target,
    /// mints checked against the OI cap, round trips.
    figures: Figures,
}

#[derive(Default, Clone, Debug)]
struct Figures {
    bound_checks: u64,
    max_bound_ratio: f64,
    lev_checks: u64,
    max_lev_err_bps: i64,
    oi_checks: u64,
    round_trips: u64,
    lp_round_trips: u64,
    substitutions: u64,
    failed_unchanged: u64,
    wipes: u64,
    share_supply_overflows: u64,
    lp_supply_overflows: u64,
    sweeps: u64,
}

fn decode<T: AccountDeserialize>(a: &Option<Account>) -> T {
    T::try_deserialize(&mut a.as_ref().expect("account exists").data.as_slice()).expect("decode")
}

fn amount_of(a: &Option<Account>) -> u64 {
    a.as_ref().map(|a| spl_token::state::Account::unpack(&a.data).expect("token account").amount).unwrap_or(0)
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

/// Finding F4: SPL Token refuses the share (or LP) MintTo because supply + amount > u64::MAX.
fn is_share_supply_overflow(out: &TxOutcome) -> bool {
    matches!(out.result, Err(TransactionError::InstructionError(1, solana_instruction_error::InstructionError::Custom(14))))
        && out.logs.iter().any(|l| l.contains("Instruction: MintTo"))
        && out.logs.iter().any(|l| l.contains("Operation overflowed"))
}

fn is_program_error(out: &TxOutcome) -> bool {
    matches!(out.custom_error(), Some(c) if program_error(c).is_some())
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
            last_index: vec![],
            last_publish: vec![],
            nonce: 0,
            checks: 0,
            last_outcome: String::new(),
            last_rebalanced: None,
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
                supply: 0,
            });
            let mi = f.markets.len() - 1;
            f.write_oracle(mi).await;
            let kind = if pull { OracleKind::PythPull } else { OracleKind::PythLegacy };
            f.send_ok(&[ix::create_market(a, &keys, kind, leveraged_token_sdk::defaults::market_params(), None)], &[&f.admin.insecure_clone()]).await;
            f.last_index.push(0);
            f.last_publish.push(i64::MIN);
        }
        // Two LPs and four traders, each with collateral of both mints and LP accounts of both markets.
        for i in 0..6 {
            let kp = f.bank.funded_keypair().await;
            let mut coll = vec![];
            let mut lp = vec![];
            for mi in 0..2 {
                let (mint, unit, lp_mint) = (f.markets[mi].mint, f.markets[mi].unit, f.markets[mi].keys.lp_mint);
                let c = f.bank.create_token_account(mint, kp.pubkey()).await;
                let amount = if i == mi {
                    3_000_000
                } else if i < 2 {
                    100_000
                } else {
                    200_000
                };
                f.bank.mint_to(mint, c, amount * unit).await;
                coll.push(c);
                lp.push(f.bank.create_token_account(lp_mint, kp.pubkey()).await);
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
        // LPs seed the pools: 2,000,000 A and 1,000,000 B.
        for (mi, amount) in [(0usize, 2_000_000u64), (1, 1_000_000)] {
            let a = &f.actors[mi];
            let (kp, c, l) = (a.kp.insecure_clone(), a.coll[mi], a.lp[mi]);
            let keys = f.markets[mi].keys;
            let e = f.exec(&[ix::deposit_liquidity(kp.pubkey(), &keys, c, l, amount * f.markets[mi].unit, 0)], &[&kp]).await;
            assert!(e.ok(), "seed deposit: {:?}", e.out.result);
            f.after_liquidity(mi, &e);
        }
        f.check_all("setup");
        f
    }

    /// Create a token of `lev` on market `mi`, share accounts for every actor.
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
            let s = self.bank.create_token_account(keys.share_mint, owner).await;
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
            u.extend([m.keys.market, m.keys.pool_vault, m.keys.lp_mint, m.keys.oracle, m.mint, m.treasury_account]);
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

    fn name_of(&self, k: &Pubkey) -> String {
        for (i, m) in self.markets.iter().enumerate() {
            for (n, x) in [("market", m.keys.market), ("pool vault", m.keys.pool_vault), ("lp mint", m.keys.lp_mint), ("oracle", m.keys.oracle), ("mint", m.mint), ("treasury", m.treasury_account)] {
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

    /// Write market `mi`'s oracle for the current slot and clock according to its mode.
    async fn write_oracle(&mut self, mi: usize) {
        let m = &self.markets[mi];
        if m.mode == OracleMode::Frozen && self.cache.contains_key(&m.keys.oracle) {
            return;
        }
        let clock = self.bank.clock().await;
        let (max_age_slots, max_age_secs, max_conf) = match self.cache.get(&m.keys.market) {
            Some(Some(_)) => {
                let p = self.market_state(mi).params;
                (p.max_age_slots, p.max_age_secs, p.max_conf_bps)
            }
            _ => (25, 60, 200),
        };
        let m = &self.markets[mi];
        let conf = if m.mode == OracleMode::Wide { (m.price as u128 * (u128::from(max_conf) + 20) / 10_000) as u64 } else { m.conf };
        // Stale: a legacy account published too many slots ago, a pull update too many seconds ago.
        let stale = m.mode == OracleMode::Stale;
        let slot = if stale && !m.pull { clock.slot.saturating_sub(max_age_slots + 1) } else { clock.slot };
        let time = if stale && m.pull { clock.unix_timestamp - max_age_secs - 1 } else { clock.unix_timestamp };
        let oracle = if m.pull { Oracle::pull(m.keys.oracle, FEED) } else { Oracle::legacy(m.keys.oracle) };
        let key = m.keys.oracle;
        oracle.write(&mut self.bank, m.price, conf, slot, time, PriceStatus::Trading);
        let a = self.bank.raw_account(key).await;
        self.cache.insert(key, a);
    }

    // ───────────────────────────── invariants ─────────────────────────────

    fn check_all(&mut self, _what: &str) {
        self.checks += 1;
        for mi in 0..self.markets.len() {
            let m = &self.markets[mi];
            // 1. Conservation of collateral.
            let mut sum: u128 = u128::from(self.bal(&m.keys.pool_vault)) + u128::from(self.bal(&m.treasury_account));
            for &ti in &m.tokens {
                sum += u128::from(self.bal(&self.tokens[ti].keys.vault));
            }
            for a in &self.actors {
                sum += u128::from(self.bal(&a.coll[mi]));
            }
            let supply = self.supply(&m.mint);
            if supply != m.supply || sum != u128::from(supply) {
                self.fail(&format!("conservation on market {mi}: Σ balances {sum}, supply {supply}, initial supply {}", m.supply));
            }
            // 2. LP mint supply = Σ LP balances.
            let lp: u64 = self.actors.iter().map(|a| self.bal(&a.lp[mi])).sum();
            if lp != self.supply(&m.keys.lp_mint) {
                self.fail(&format!("LP supply {} != Σ LP balances {lp} on market {mi}", self.supply(&m.keys.lp_mint)));
            }
            // 3. Aggregates = Σ token positions; running pool balance.
            let ms = self.market_state(mi);
            let (mut nb, mut gb, mut nc, mut tac, mut ws) = (0i128, 0u128, 0i128, 0u128, 0u128);
            for &ti in &m.tokens {
                let t = self.token_state(ti);
                nb += t.base;
                gb += t.base.unsigned_abs();
                nc += t.cost;
                tac += t.cost.unsigned_abs();
                ws += t.cost.unsigned_abs() * t.borrow_snapshot;
            }
            if (ms.net_base, ms.gross_base, ms.net_cost, ms.total_abs_cost, ms.weighted_snapshot) != (nb, gb, nc, tac, ws) {
                self.fail(&format!(
                    "market {mi} aggregates (net_base {}, gross_base {}, net_cost {}, total_abs_cost {}, weighted_snapshot {}) != Σ tokens ({nb}, {gb}, {nc}, {tac}, {ws})",
                    ms.net_base, ms.gross_base, ms.net_cost, ms.total_abs_cost, ms.weighted_snapshot
                ));
            }
            if i128::from(self.bal(&m.keys.pool_vault)) != m.implied_pool {
                self.fail(&format!("pool vault {} != balance implied by events {}", self.bal(&m.keys.pool_vault), m.implied_pool));
            }
            // 9. Monotone borrow index and oracle publish time.
            if ms.borrow_index < self.last_index[mi] || ms.last_oracle_publish < self.last_publish[mi] {
                self.fail(&format!("market {mi}: borrow index or last publish went backwards"));
            }
            self.last_index[mi] = ms.borrow_index;
            self.last_publish[mi] = ms.last_oracle_publish;
        }
        for ti in 0..self.tokens.len() {
            let tk = &self.tokens[ti];
            let t = self.token_state(ti);
            let vault = self.bal(&tk.keys.vault);
            let supply = self.supply(&tk.keys.share_mint);
            // 2. Share supply = Σ holders.
            let held: u64 = self.actors.iter().map(|a| self.bal(&a.shares[ti])).sum();
            if held != supply {
                self.fail(&format!("token {ti}: share supply {supply} != Σ holders {held}"));
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

    /// Apply the settlement and trade-fee flows of a token instruction's events to the implied balances.
    fn apply_settlements(&mut self, ti: usize, out: &TxOutcome) -> (i128, bool) {
        let key = self.tokens[ti].keys.token;
        let mut transfer = 0i128;
        for e in out.events::<PositionSettled>().into_iter().filter(|e| e.token == key) {
            transfer += e.transfer;
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

    fn view(&self, ti: usize, slot: u64) -> Option<(u64, u128, u128, u64)> {
        let tk = &self.tokens[ti];
        if tk.wiped {
            return None;
        }
        let p = self.norm(tk.m);
        let v = self.token_view(ti);
        let s = settle_view(&v, &p, slot).ok()?;
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

    fn holdings(&self, ti: usize) -> Vec<u64> {
        self.actors.iter().map(|a| self.bal(&a.shares[ti])).collect()
    }

    fn push_trail(&mut self, s: String) {
        if self.trail.len() == 24 {
            self.trail.pop_front();
        }
        self.trail.push_back(s);
    }

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

    async fn op_mint(&mut self, a: usize, ti: usize, amount: u64, min_out: u64) -> Option<(u64, u64)> {
        let mi = self.tokens[ti].m;
        self.write_oracle(mi).await;
        let slot = self.slot().await;
        let pre = self.view(ti, slot);
        let pre_h = self.holdings(ti);
        let was_wiped = self.tokens[ti].wiped;
        let kp = self.actors[a].kp.insecure_clone();
        let (coll, shares) = (self.actors[a].coll[mi], self.actors[a].shares[ti]);
        let keys = self.tokens[ti].keys;
        let e = self.exec(&[ix::mint(kp.pubkey(), &keys, coll, shares, amount, min_out)], &[&kp]).await;
        if !e.ok() {
            if std::env::var("FUZZ_DEBUG_ERROR").is_ok_and(|x| x == self.last_outcome) {
                let t = self.token_state(ti);
                eprintln!("  token t{ti}: supply {}, vault {}, fees_owed {}, base {}, cost {}, view {:?}", self.supply(&keys.share_mint), self.bal(&keys.vault), t.fees_owed, t.base, t.cost, pre);
            }
            if is_share_supply_overflow(&e.out) && std::env::var("FUZZ_STRICT").is_err() {
                // Known finding F4 (docs/security.md): counted, not fatal unless FUZZ_STRICT is set.
                self.figures.share_supply_overflows += 1;
            } else if !is_program_error(&e.out) {
                self.fail(&format!("mint failed without a named program error: {:?}\n{}", e.out.result, e.out.logs.join("\n")));
            }
            return None;
        }
        if was_wiped {
            self.fail("a mint into a wiped token succeeded");
        }
        let ev = e.out.events::<Minted>();
        if ev.len() != 1 {
            self.fail("a successful mint emitted no Minted event");
        }
        let m = &ev[0];
        let (_, wiped) = self.apply_settlements(ti, &e.out);
        if wiped {
            self.fail("a mint wiped a token");
        }
        self.tokens[ti].implied_vault += i128::from(m.collateral_in);
        self.move_fee_to_pool(ti, m.trade_fee);
        self.note_wipe(ti, false);
        let paid = amount_of(&e.before[&coll]) - self.bal(&coll);
        let got = self.bal(&shares) - amount_of(&e.before[&shares]);
        if paid != amount || m.collateral_in != amount || got != m.shares_out {
            self.fail(&format!("mint moved {paid} (asked {amount}, event {}) and gave {got} shares (event {})", m.collateral_in, m.shares_out));
        }
        if got < min_out {
            self.fail("mint gave fewer shares than min_shares_out");
        }
        self.equity_matches(ti, m.equity_after);
        // 4. Open interest within the cap right after the mint.
        let ms = self.market_state(mi);
        let p = self.norm(mi);
        let value = pool_value(self.bal(&self.markets[mi].keys.pool_vault), &ms.aggregates(), ms.borrow_index, p.price, p.conf, Side::Low).unwrap();
        let oi = ms.aggregates().gross_notional_ceil(p.price).unwrap();
        self.figures.oi_checks += 1;
        if !open_interest_within_cap(oi, value, ms.params.oi_cap_bps).unwrap() {
            self.fail(&format!("open interest {oi} above {} bps of pool value {value} after a mint", ms.params.oi_cap_bps));
        }
        self.add_holder_slack(ti, &pre, &pre_h);
        self.bound[a][ti] = self.bound[a][ti].saturating_add(u128::from(paid));
        Some((paid, got))
    }

    async fn op_redeem(&mut self, a: usize, ti: usize, shares_in: u64, min_out: u64) -> Option<u64> {
        let mi = self.tokens[ti].m;
        self.write_oracle(mi).await;
        let slot = self.slot().await;
        let pre = self.view(ti, slot);
        let pre_h = self.holdings(ti);
        let kp = self.actors[a].kp.insecure_clone();
        let (coll, shares) = (self.actors[a].coll[mi], self.actors[a].shares[ti]);
        let keys = self.tokens[ti].keys;
        let e = self.exec(&[ix::redeem(kp.pubkey(), &keys, shares, coll, shares_in, min_out)], &[&kp]).await;
        if !e.ok() {
            if !is_program_error(&e.out) {
                self.fail(&format!("redeem failed without a named program error: {:?}\n{}", e.out.result, e.out.logs.join("\n")));
            }
            return None;
        }
        let ev = e.out.events::<Redeemed>();
        if ev.len() != 1 {
            self.fail("a successful redeem emitted no Redeemed event");
        }
        let r = &ev[0];
        let (_, wiped) = self.apply_settlements(ti, &e.out);
        self.move_fee_to_pool(ti, r.trade_fee);
        self.tokens[ti].implied_vault -= i128::from(r.collateral_out);
        let was_wiped = self.tokens[ti].wiped;
        self.note_wipe(ti, wiped);
        let got = self.bal(&coll) - amount_of(&e.before[&coll]);
        let burned = amount_of(&e.before[&shares]) - self.bal(&shares);
        if got != r.collateral_out || burned != shares_in || r.shares_in != shares_in {
            self.fail(&format!("redeem paid {got} (event {}) and burned {burned} (asked {shares_in})", r.collateral_out));
        }
        if got < min_out {
            self.fail("redeem paid less than min_collateral_out");
        }
        if (was_wiped || wiped) && got != 0 {
            self.fail("a wiped token paid a redeemer");
        }
        if !wiped {
            self.equity_matches(ti, r.equity_after);
        }
        // 7. No free lunch: the payout is within the holder's bound.
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
        self.add_holder_slack(ti, &pre, &pre_h);
        if h == burned {
            self.bound[a][ti] = 0;
        }
        Some(got)
    }

    /// Actor `a` sends `liquidity` (`ix::deposit_liquidity` or
    /// `ix::withdraw_liquidity`) of `amount` on market `mi`, from and to its
    /// collateral and LP accounts there, at a freshly written oracle; a landed
    /// one moves the pool the fuzzer expects. Returns the execution and the
    /// collateral and LP accounts.
    async fn exec_liquidity(&mut self, a: usize, mi: usize, liquidity: fn(Pubkey, &MarketKeys, Pubkey, Pubkey, u64, u64) -> Instruction, amount: u64, min_out: u64) -> (Exec, Pubkey, Pubkey) {
        self.write_oracle(mi).await;
        let kp = self.actors[a].kp.insecure_clone();
        let (c, l) = (self.actors[a].coll[mi], self.actors[a].lp[mi]);
        let keys = self.markets[mi].keys;
        let e = self.exec(&[liquidity(kp.pubkey(), &keys, c, l, amount, min_out)], &[&kp]).await;
        if e.ok() {
            self.after_liquidity(mi, &e);
        }
        (e, c, l)
    }

    async fn op_deposit(&mut self, a: usize, mi: usize, amount: u64, min_out: u64) -> Option<u64> {
        let (e, c, l) = self.exec_liquidity(a, mi, ix::deposit_liquidity, amount, min_out).await;
        if !e.ok() {
            if is_share_supply_overflow(&e.out) && std::env::var("FUZZ_STRICT").is_err() {
                // Known finding F4 for the LP mint.
                self.figures.lp_supply_overflows += 1;
            } else if !is_program_error(&e.out) {
                self.fail(&format!("deposit failed without a named program error: {:?}", e.out.result));
            }
            return None;
        }
        let got = self.bal(&l) - amount_of(&e.before[&l]);
        if got < min_out || amount_of(&e.before[&c]) - self.bal(&c) != amount {
            self.fail("deposit moved the wrong amounts");
        }
        Some(got)
    }

    async fn op_withdraw(&mut self, a: usize, mi: usize, lp: u64, min_out: u64) -> Option<u64> {
        let (e, c, l) = self.exec_liquidity(a, mi, ix::withdraw_liquidity, lp, min_out).await;
        if !e.ok() {
            if !is_program_error(&e.out) {
                self.fail(&format!("withdraw failed without a named program error: {:?}", e.out.result));
            }
            return None;
        }
        let got = self.bal(&c) - amount_of(&e.before[&c]);
        if got < min_out || amount_of(&e.before[&l]) - self.bal(&l) != lp {
            self.fail("withdraw moved the wrong amounts");
        }
        // The pool kept enough value for its open interest.
        let ms = self.market_state(mi);
        let p = self.norm(mi);
        let value = pool_value(self.bal(&self.markets[mi].keys.pool_vault), &ms.aggregates(), ms.borrow_index, p.price, p.conf, Side::Low).unwrap();
        let oi = ms.aggregates().gross_notional_ceil(p.price).unwrap();
        if !open_interest_within_cap(oi, value, ms.params.oi_cap_bps).unwrap() {
            self.fail(&format!("open interest {oi} above the cap of pool value {value} after a withdrawal"));
        }
        Some(got)
    }

    fn after_liquidity(&mut self, mi: usize, e: &Exec) {
        for d in e.out.events::<LiquidityDeposited>() {
            self.markets[mi].implied_pool += i128::from(d.amount);
        }
        for w in e.out.events::<LiquidityWithdrawn>() {
            self.markets[mi].implied_pool -= i128::from(w.amount_out);
        }
    }

    async fn op_rebalance(&mut self, caller: usize, ti: usize) {
        let mi = self.tokens[ti].m;
        self.write_oracle(mi).await;
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
        let (_, wiped) = self.apply_settlements(ti, &e.out);
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
            self.write_oracle(mi).await;
            for ti in self.markets[mi].tokens.clone() {
                if self.tokens[ti].wiped {
                    continue;
                }
                let slot = self.slot().await;
                let v = self.token_view(ti);
                let Ok(d) = decide(&v, &self.norm(mi), slot, 0) else { continue };
                if matches!(d, Decision::Skip { .. }) {
                    continue;
                }
                let config: leveraged_token::state::Config = decode(&self.cache[&leveraged_token::pda::config().0]);
                let globally_paused = config.pause_flags & leveraged_token::constants::PAUSE_REBALANCE != 0;
                self.op_name = format!("keeper sweep t{ti} by a{caller}: {d:?}");
                self.op_rebalance(caller, ti).await;
                let last = self.last_outcome.clone();
                match (&d, globally_paused) {
                    (_, true) => {
                        if last != "Paused" {
                            self.fail(&format!("globally paused rebalance ended {last}"));
                        }
                    }
                    (Decision::NotNeeded { .. }, false) => {
                        if last != "RebalanceNotNeeded" {
                            self.fail(&format!("decide() said not needed, the program said {last}"));
                        }
                    }
                    (Decision::Wipe { .. }, false) => {
                        if last != "ok" || !self.tokens[ti].wiped {
                            self.fail(&format!("decide() predicted a wipe, the program said {last}"));
                        }
                    }
                    (Decision::Rebalance { plan, .. }, false) => {
                        let ev = self.last_rebalanced;
                        match (last.as_str(), ev) {
                            ("ok", Some(r)) if r == (plan.trade_notional, plan.trade_fee, plan.keeper_reward, plan.triggers) => {}
                            (_, ev) => self.fail(&format!("decide() planned {plan:?}, the program said {last} {ev:?}")),
                        }
                    }
                    (Decision::Skip { .. }, false) => {}
                }
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
                let held = u128::from(self.bal(&self.actors[h].shares[ti]));
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
                let h = u128::from(self.bal(&self.actors[a].shares[ti]));
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
            borrow_rate_bps: r.gen_range(0..=10_000),
            oi_cap_bps: r.gen_range(5_000..=50_000),
            max_age_slots: r.gen_range(10..=1_500),
            max_age_secs: r.gen_range(30..=600),
            max_conf_bps: r.gen_range(20..=1_000),
        };
        if r.gen_bool(0.3) {
            p = leveraged_token_sdk::defaults::market_params();
        }
        if !valid {
            match r.gen_range(0..6) {
                0 => p.trade_fee_bps = r.gen_range(101..=u16::MAX),
                1 => p.borrow_rate_bps = r.gen_range(10_001..=u32::MAX),
                2 => p.oi_cap_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(100_001..=u32::MAX) },
                3 => p.max_age_slots = if r.gen_bool(0.5) { 0 } else { r.gen_range(1_501..=u64::MAX) },
                4 => p.max_age_secs = if r.gen_bool(0.5) { 0 } else { r.gen_range(601..=i64::MAX) },
                _ => p.max_conf_bps = if r.gen_bool(0.5) { 0 } else { r.gen_range(1_001..=u16::MAX) },
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
                let (_, wiped) = self.apply_settlements(ti, &e.out);
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
    /// account (or a fresh key): the program must refuse it.
    async fn op_substitute(&mut self) {
        let ti = self.pick_token();
        let mi = self.tokens[ti].m;
        let a = self.rng.gen_range(0..self.actors.len());
        let kp = self.actors[a].kp.insecure_clone();
        let (c, l, s) = (self.actors[a].coll[mi], self.actors[a].lp[mi], self.actors[a].shares[ti]);
        let t = self.tokens[ti].keys;
        let m = self.markets[mi].keys;
        let unit = self.markets[mi].unit;
        let kind = self.rng.gen_range(0..6);
        let (mut ixx, pinned, signers): (Instruction, Vec<usize>, Vec<&TestKeypair>) = match kind {
            0 => (ix::mint(kp.pubkey(), &t, c, s, unit, 0), vec![1, 2, 3, 4, 5, 6, 7, 10], vec![&kp]),
            1 => (ix::redeem(kp.pubkey(), &t, s, c, 1, 0), vec![1, 2, 3, 4, 5, 6, 7, 10], vec![&kp]),
            2 => (ix::rebalance(kp.pubkey(), &t, c), vec![1, 2, 3, 4, 5, 6, 8], vec![&kp]),
            3 => (ix::deposit_liquidity(kp.pubkey(), &m, c, l, unit, 0), vec![1, 2, 3, 4, 5, 8], vec![&kp]),
            4 => (ix::withdraw_liquidity(kp.pubkey(), &m, c, l, 1, 0), vec![1, 2, 3, 4, 5, 8], vec![&kp]),
            _ => (ix::collect_fees(&t, self.markets[mi].treasury_account), vec![0, 1, 2, 3, 5], vec![]),
        };
        // A wiped token's redeem burns shares and pays 0 without reading the oracle: not pinned then.
        let pinned: Vec<usize> = pinned.into_iter().filter(|&r| !(kind == 1 && r == 4 && self.tokens[ti].wiped)).collect();
        let role = pinned[self.rng.gen_range(0..pinned.len())];
        let original = ixx.accounts[role].pubkey;
        let replacement = loop {
            let k = if self.rng.gen_bool(0.1) { Pubkey::new_unique() } else { self.universe[self.rng.gen_range(0..self.universe.len())] };
            if k != original {
                break k;
            }
        };
        ixx.accounts[role].pubkey = replacement;
        self.op_name = format!("substitute account #{role} of {} by {replacement}", ["mint", "redeem", "rebalance", "deposit", "withdraw", "collect"][kind]);
        self.write_oracle(mi).await;
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
        // Faucet: an actor who ran dry is topped up (the mint's supply grows by exactly that).
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
        match roll {
            0..=21 => {
                let ti = self.pick_token();
                let mi = self.tokens[ti].m;
                let bal = self.bal(&self.actors[a].coll[mi]);
                let amount = self.pick_amount(bal, self.markets[mi].unit, 30_000);
                let min_out = if self.rng.gen_bool(0.1) { self.rng.gen_range(0..=amount.max(1)) } else { 0 };
                self.op_name = format!("mint a{a} t{ti} {amount} min {min_out}");
                self.op_mint(a, ti, amount, min_out).await;
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
                self.op_redeem(a, ti, shares, min_out).await;
            }
            40..=43 => {
                // 7. A mint immediately redeemed at the same price returns at most what was paid.
                let ti = self.pick_token();
                let mi = self.tokens[ti].m;
                let bal = self.bal(&self.actors[a].coll[mi]);
                let unit = self.markets[mi].unit;
                let amount = self.pick_amount(bal, unit, 10_000).max(1);
                self.op_name = format!("round trip a{a} t{ti} {amount}");
                if let Some((paid, got)) = self.op_mint(a, ti, amount, 0).await {
                    self.op_name = format!("round trip a{a} t{ti} {amount}: redeem {got}");
                    if let Some(back) = self.op_redeem(a, ti, got, 0).await {
                        self.figures.round_trips += 1;
                        if back > paid {
                            self.fail(&format!("mint of {paid} then immediate redeem paid {back}"));
                        }
                    }
                }
            }
            44..=48 => {
                let mi = self.rng.gen_range(0..self.markets.len());
                let bal = self.bal(&self.actors[a].coll[mi]);
                let amount = self.pick_amount(bal, self.markets[mi].unit, 500_000);
                self.op_name = format!("deposit a{a} m{mi} {amount}");
                self.op_deposit(a, mi, amount, 0).await;
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
                self.op_name = format!("withdraw a{a} m{mi} {lp}/{held}");
                self.op_withdraw(a, mi, lp, 0).await;
            }
            54..=55 => {
                let mi = self.rng.gen_range(0..self.markets.len());
                let bal = self.bal(&self.actors[a].coll[mi]);
                let amount = self.pick_amount(bal, self.markets[mi].unit, 100_000).max(1);
                self.op_name = format!("LP round trip a{a} m{mi} {amount}");
                if let Some(lp) = self.op_deposit(a, mi, amount, 0).await {
                    if let Some(back) = self.op_withdraw(a, mi, lp, 0).await {
                        self.figures.lp_round_trips += 1;
                        if back > amount {
                            self.fail(&format!("LP deposit of {amount} withdrawn at once paid {back}"));
                        }
                    }
                }
            }
            56..=69 => self.op_price().await,
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
                let holders: Vec<(u64, u128)> = (0..self.actors.len()).map(|a| (self.bal(&self.actors[a].shares[tt]), self.bound[a][tt])).collect();
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
                eprintln!("fuzz: {} ops, {:.1} s, {} tokens ({} wiped)", offset + i + 1, started.elapsed().as_secs_f64(), self.tokens.len(), self.tokens.iter().filter(|t| t.wiped).count());
            }
        }
        self.resync().await;
        self.check_all("end");
    }
}

use leveraged_token::constants::PAUSE_ALL;

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
        let g = &f.figures;
        fig.bound_checks += g.bound_checks;
        fig.max_bound_ratio = fig.max_bound_ratio.max(g.max_bound_ratio);
        fig.lev_checks += g.lev_checks;
        fig.max_lev_err_bps = fig.max_lev_err_bps.max(g.max_lev_err_bps);
        fig.oi_checks += g.oi_checks;
        fig.round_trips += g.round_trips;
        fig.lp_round_trips += g.lp_round_trips;
        fig.substitutions += g.substitutions;
        fig.failed_unchanged += g.failed_unchanged;
        fig.wipes += g.wipes;
        fig.share_supply_overflows += g.share_supply_overflows;
        fig.lp_supply_overflows += g.lp_supply_overflows;
        fig.sweeps += g.sweeps;
        wiped += f.tokens.iter().filter(|t| t.wiped).count();
        done += n;
        segment += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("fuzz: seed {seed}: {ops} operations, {checks} invariant checks, {wiped} tokens wiped, 0 violations, {secs:.1} s");
    eprintln!("fuzz: seed {seed}: {ops} operations, {checks} invariant checks, {wiped} tokens wiped, 0 violations, {secs:.1} s");
    let report = format!(
        "fuzz: {} failed transactions verified unchanged; {} redeems within the no-free-lunch bound (max payout/bound {:.3}); {} mint+redeem and {} LP round trips; {} rebalances within 2 bps (max error {} bps); {} OI checks after mints; {} substitutions refused; {} keeper sweeps agreeing with decide(); {} wipes; {} mints and {} LP deposits refused by SPL Token for supply overflow (finding F4, tolerated unless FUZZ_STRICT)",
        fig.failed_unchanged, fig.bound_checks, fig.max_bound_ratio, fig.round_trips, fig.lp_round_trips, fig.lev_checks, fig.max_lev_err_bps, fig.oi_checks, fig.substitutions, fig.sweeps, fig.wipes, fig.share_supply_overflows, fig.lp_supply_overflows
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
