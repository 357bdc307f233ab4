#![allow(deprecated)]
//! The adversarial suite: one test per attack class of
//! `/work/shared/docs/security-checklist.md` × instruction it applies to that
//! the other test files do not already cover (docs/security.md maps every
//! class to its tests, here and elsewhere).
//!
//! Every user flow is two instructions: `request_*` (the owner escrows what it
//! pays) and `execute_*` (anyone, at the one oracle update for the request's
//! price time). An attack on a mint, redeem, LP deposit or withdrawal is tried
//! on each of the two where it applies; the request's own lifecycle (foreign,
//! replayed, cancelled and expired requests) has its section. Attacks that
//! needed one transaction (a request and its execution together, an LP
//! sandwich around a mint) are shown at the attacker's best outcome under the
//! request flow.
//!
//! Every refusal asserts the named error *and* that every account of the world
//! — plus the extra accounts an attack brings in (a second market, a pull
//! market, forged accounts, the request and its escrow) — is byte-for-byte
//! unchanged. A bound that used to refuse a flow now refunds it: the tests
//! assert the `RequestRefunded` reason and that the escrow came back whole.
use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_spl::token::spl_token;
use leveraged_token::constants::*;
use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn, Minted, Rebalanced, Redeemed, RequestCancelled, RequestRefunded};
use leveraged_token::math::rebalance::TRIGGER_TIME;
use leveraged_token::oracle::VerificationLevel;
use leveraged_token::state::{
    Config, LeveragedToken, Market, RefundReason, Request, RequestKind, CONFIG_RESERVED_BYTES, CONFIG_SPACE, MARKET_RESERVED_BYTES, MARKET_SPACE, REQUEST_SPACE, TOKEN_RESERVED_BYTES, TOKEN_SPACE,
};
use leveraged_token_harness::deployment::{Deployer, Deployment, Holder, MarketSpec, Oracle};
use leveraged_token_harness::requests::next_nonce;
use leveraged_token_sdk::{ix, pda, MarketKeys, OracleKind, RequestKeys, TokenKeys, TokenParams};
use leveraged_token_tests::fixtures::*;
use leveraged_token_tests::{harness, swap_account, unsign, Bank, ErrorCode, TestKeypair, TestSigner, TxOutcome};
use pyth_sdk_solana::state::PriceStatus;
use solana_instruction_error::InstructionError;
use solana_transaction_error::TransactionError;

// ───────────────────────────── helpers ─────────────────────────────

/// What a refusal must fail with.
#[derive(Clone, Debug)]
enum Want {
    Program(ErrorCode),
    Anchor(AnchorError),
    /// A runtime error of the (only) program instruction, not a custom code.
    Raw(InstructionError),
}
use Want::{Anchor, Program};

/// `World::refused` / `refused_by_anchor` (named error, every world account
/// unchanged) and every account of `extra` unchanged too (an absent one stays absent).
async fn refused_impl(w: &mut World, ix: Instruction, signers: &[&TestKeypair], want: Want, extra: Vec<Pubkey>) {
    println!("attack refused: {want:?}");
    let before = w.bank.snapshot(&extra).await;
    match want.clone() {
        Program(c) => w.refused(ix, signers, c).await,
        Anchor(c) => w.refused_by_anchor(ix, signers, c).await,
        Want::Raw(e) => {
            let before = w.snapshot().await;
            let out = w.bank.send(&[ix], signers).await;
            assert_eq!(out.result, Err(TransactionError::InstructionError(1, e.clone())), "{}", out.logs.join("\n"));
            w.assert_unchanged(&before).await;
        }
    }
    let after = w.bank.snapshot(&extra).await;
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        assert_eq!(b, a, "extra account {} changed after a refused {want:?}", extra[i]);
    }
}

/// `refused!(w, ix, signers, want, extra)`: the instruction and the extra keys
/// are evaluated before the world is borrowed mutably.
macro_rules! refused {
    ($w:expr, $ix:expr, $signers:expr, $want:expr, $extra:expr) => {{
        let ix = $ix;
        let extra: Vec<Pubkey> = ($extra).to_vec();
        refused_impl($w, ix, $signers, $want, extra)
    }};
}

macro_rules! refused_creating {
    ($w:expr, $ix:expr, $signers:expr, $want:expr, $absent:expr) => {{
        let ix = $ix;
        let absent: Vec<Pubkey> = ($absent).to_vec();
        refused_creating_impl($w, ix, $signers, $want, absent)
    }};
}

/// As [`refused`], and the accounts the instruction would have created do not exist.
async fn refused_creating_impl(w: &mut World, ix: Instruction, signers: &[&TestKeypair], want: Want, absent: Vec<Pubkey>) {
    refused_impl(w, ix, signers, want, vec![]).await;
    for k in &absent {
        assert!(w.bank.raw_account(*k).await.is_none(), "account {k} was created by a refused instruction");
    }
}

fn kp(w: &World, who: Who) -> TestKeypair {
    w.user(who).kp.insecure_clone()
}

fn config_key() -> Pubkey {
    leveraged_token::pda::config().0
}

async fn lamports(bank: &mut Bank, key: Pubkey) -> u64 {
    bank.raw_account(key).await.map_or(0, |a| a.lamports)
}

/// A token account's balance, 0 once it is closed.
async fn balance_or_zero(bank: &mut Bank, key: Pubkey) -> u64 {
    match bank.raw_account(key).await {
        Some(_) => bank.balance(key).await,
        None => 0,
    }
}

/// World with Alice holding 10,000 USDC of the 3x long and of the 1x short.
async fn world_with_positions() -> World {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 10_000 * USDC, 0).await.unwrap();
    w.mint(Who::Alice, w.short, 10_000 * USDC, 0).await.unwrap();
    w
}

fn rebalance_ix(w: &World, t: TokenKeys) -> Instruction {
    ix::rebalance(w.bob.key(), &t, w.bob.collateral)
}

// ───────────────────── requests, as an attacker sees them ─────────────────────

/// The request instruction of `kind` by `owner` in `w` (token `t` for a mint or redeem).
fn request_ix(w: &World, kind: RequestKind, owner: Pubkey, t: Option<TokenKeys>, nonce: u64, amount: u64, min_out: u64) -> Instruction {
    let i = t.map(|t| w.token_index(&t));
    w.deployment.request_ix(owner, kind, i, nonce, amount, min_out)
}

/// `u` requests `kind` and the request executes at the oracle's price now (the
/// bank's payer executes): the execution's outcome, or the request's if refused.
async fn flow(w: &mut World, u: &TestKeypair, kind: RequestKind, t: Option<TokenKeys>, amount: u64, min_out: u64) -> TxOutcome {
    let i = t.map(|t| w.token_index(&t));
    w.deployment.request_and_execute(&mut w.bank, u, kind, i, amount, min_out).await
}

async fn mint_as(w: &mut World, u: &TestKeypair, t: TokenKeys, amount: u64, min_out: u64) -> TxOutcome {
    flow(w, u, RequestKind::Mint, Some(t), amount, min_out).await
}

async fn redeem_as(w: &mut World, u: &TestKeypair, t: TokenKeys, shares: u64, min_out: u64) -> TxOutcome {
    flow(w, u, RequestKind::Redeem, Some(t), shares, min_out).await
}

/// A request that landed: whose, which, and its accounts.
#[derive(Clone, Copy, Debug)]
struct Pending {
    kind: RequestKind,
    owner: Pubkey,
    nonce: u64,
    token: Option<TokenKeys>,
    keys: RequestKeys,
}

impl Pending {
    fn new(w: &World, kind: RequestKind, owner: Pubkey, nonce: u64, token: Option<TokenKeys>) -> Self {
        Pending { kind, owner, nonce, token, keys: RequestKeys::of(kind, owner, nonce, &w.market, token.map(|t| t.share_mint)) }
    }

    async fn state(&self, bank: &mut Bank) -> Request {
        bank.account(self.keys.request).await
    }

    /// Its execution by `executor` with the market's oracle account.
    fn execute_ix(&self, w: &World, executor: Pubkey) -> Instruction {
        ix::execute(executor, self.kind, self.owner, self.nonce, &w.market, self.token.as_ref(), w.market.oracle, &w.deployment.tokens)
    }

    fn cancel_ix(&self, w: &World, caller: Pubkey) -> Instruction {
        ix::cancel_request(caller, self.kind, self.owner, self.nonce, &w.market, self.token.map(|t| t.share_mint))
    }

    /// The request and its escrow.
    fn accounts(&self) -> [Pubkey; 2] {
        [self.keys.request, self.keys.escrow]
    }

    async fn closed(&self, bank: &mut Bank) -> bool {
        bank.raw_account(self.keys.request).await.is_none() && bank.raw_account(self.keys.escrow).await.is_none()
    }
}

/// `u` opens a request of `kind` (it must land).
async fn open(w: &mut World, u: &TestKeypair, kind: RequestKind, t: Option<TokenKeys>, amount: u64, min_out: u64) -> Pending {
    let nonce = next_nonce();
    let ixr = request_ix(w, kind, u.pubkey(), t, nonce, amount, min_out);
    w.bank.send(&[ixr], &[u]).await.expect_ok("request");
    Pending::new(w, kind, u.pubkey(), nonce, t)
}

/// Move the clock to `p`'s price time and publish the update for it at the world's price.
async fn at_price_time(w: &mut World, p: &Pending) {
    let r = p.state(&mut w.bank).await;
    let oracle = w.deployment.oracle;
    w.bank.reach(oracle.kind, r.target).await;
    oracle.publish_for(&mut w.bank, w.price, w.conf, r.target).await;
}

/// Move the clock's unix time to `expires_at + past` of `p` (the slot stays).
async fn to_expiry(w: &mut World, p: &Pending, past: i64) {
    let r = p.state(&mut w.bank).await;
    let now = w.bank.clock().await.unix_timestamp;
    w.bank.advance_time(r.expires_at + past - now).await;
}

async fn executor_fee(w: &mut World) -> u64 {
    w.market_state().await.params.executor_fee_lamports
}

/// `u` requests `kind` with bound `min_out` and the execution refunds it for
/// `reason`: one `RequestRefunded` and no fill, the account it paid from holds
/// exactly what it held before (the escrow came back whole), its wallet is
/// short only the executor fee (the rent of the request and escrow came back),
/// and no other account of the world changed.
async fn refunded(w: &mut World, u: &TestKeypair, kind: RequestKind, t: Option<TokenKeys>, amount: u64, min_out: u64, reason: RefundReason) -> RequestRefunded {
    let keys = RequestKeys::of(kind, u.pubkey(), 0, &w.market, t.map(|t| t.share_mint));
    let fee = executor_fee(w).await;
    let mut watch = w.all_accounts();
    watch.retain(|k| *k != u.pubkey());
    watch.push(keys.source);
    let before = w.bank.snapshot(&watch).await;
    let wallet = lamports(&mut w.bank, u.pubkey()).await;
    let out = flow(w, u, kind, t, amount, min_out).await;
    let ev = out.events::<RequestRefunded>();
    let fills = out.events::<Minted>().len() + out.events::<Redeemed>().len() + out.events::<LiquidityDeposited>().len() + out.events::<LiquidityWithdrawn>().len();
    out.expect_ok("the execution (a refund)");
    assert_eq!((ev.len(), fills), (1, 0), "one refund and no fill");
    assert_eq!((ev[0].reason, ev[0].amount, ev[0].kind, ev[0].owner), (reason, amount, kind, u.pubkey()));
    assert_eq!(w.bank.snapshot(&watch).await, before, "a refund changed an account other than the owner's wallet");
    assert_eq!(lamports(&mut w.bank, u.pubkey()).await, wallet - fee, "the owner is short exactly the executor fee");
    println!("{} of {amount} refunded ({reason:?}): the escrow came back whole, the owner paid only the {fee}-lamport executor fee", kind.name());
    ev.into_iter().next().unwrap()
}

/// A live legacy Pyth account at a fresh address (owner: the Pyth devnet program).
async fn live_legacy_oracle(w: &mut World, price: i64) -> Pubkey {
    let oracle = Pubkey::new_unique();
    let slot = w.bank.slot().await;
    w.bank.set_account(oracle, 1_000_000_000, legacy_price_account(price, USD as u64 / 100, EXPO, slot, PriceStatus::Trading), PYTH_LEGACY_DEVNET);
    oracle
}

/// The keys of a market not created yet, on a live $50 legacy oracle of its own.
async fn new_market_keys(w: &mut World) -> MarketKeys {
    let oracle = live_legacy_oracle(w, 50 * USD).await;
    MarketKeys::legacy(oracle, w.collateral)
}

/// A fresh world and its admin's keypair.
async fn world_and_admin() -> (World, TestKeypair) {
    let w = World::new().await;
    let admin = w.admin.insecure_clone();
    (w, admin)
}

/// A fresh world, its admin's keypair and the keys of a new market (see [`new_market_keys`]).
async fn world_admin_and_market_keys() -> (World, TestKeypair, MarketKeys) {
    let (mut w, admin) = world_and_admin().await;
    let m = new_market_keys(&mut w).await;
    (w, admin, m)
}

fn market_accounts(m: &MarketKeys) -> [Pubkey; 3] {
    [m.market, m.pool_vault, m.lp_mint]
}

fn token_accounts(t: &TokenKeys) -> [Pubkey; 3] {
    [t.token, t.share_mint, t.vault]
}

/// The second creation of an existing PDA: `create::create_pda_account` sees
/// lamports on the address and asks the system program to `allocate` it, which
/// refuses an account that already has data or another owner
/// (SystemError::AccountAlreadyInUse = Custom(0)). The system program, not a
/// check the program could forget, is what fails.
fn refused_by_the_system_program(out: &TxOutcome) -> bool {
    let code_ok = matches!(&out.result, Err(TransactionError::InstructionError(1, e)) if *e == InstructionError::Custom(0));
    code_ok && out.logs.iter().any(|l| l.starts_with("Program 11111111111111111111111111111111 failed"))
}

/// The world's admin, as a deployer of more markets under the world's config.
fn world_deployer(w: &World) -> Deployer {
    Deployer { admin: w.admin.insecure_clone(), treasury: w.treasury.pubkey() }
}

/// A second market on ANOTHER collateral mint with a 3x long (same leverage as
/// the world's long, so its PDAs have the same type and seeds shape), 1,000,000
/// units of liquidity and a holder who minted, so every vault of it holds funds.
struct Other {
    d: Deployment,
    holder: Holder,
}

impl Other {
    fn mint(&self) -> Pubkey {
        self.d.collateral
    }

    fn market(&self) -> MarketKeys {
        self.d.market
    }

    fn token(&self) -> TokenKeys {
        self.d.tokens[0]
    }

    fn accounts(&self) -> Vec<Pubkey> {
        let mut v = market_accounts(&self.market()).to_vec();
        v.extend(token_accounts(&self.token()));
        v.extend([self.market().oracle, self.holder.collateral, self.holder.shares[0], self.holder.lp]);
        v
    }
}

async fn other_market(w: &mut World) -> Other {
    let spec = MarketSpec::new(Oracle::legacy(Pubkey::new_unique())).decimals(DECIMALS).price(50 * USD, USD as u64 / 100).token(LONG_3X, token_params(LONG_3X)).liquidity(1_000_000 * USDC);
    let mut d = world_deployer(w).market(&mut w.bank, spec).await;
    assert_eq!(d.tokens[0].target_leverage_bps, w.long.target_leverage_bps);
    assert_ne!(d.collateral, w.collateral);
    let holder = d.lp.take().expect("the spec seeds the pool");
    w.bank.mint_to(d.collateral, holder.collateral, 1_000_000 * USDC).await;
    holder.mint(&mut w.bank, &d, 0, 1_000 * USDC).await.expect_ok("the other market's holder mints");
    assert!(w.bank.balance(d.tokens[0].vault).await > 0);
    // The other market's executions moved the clock: the world's price is fresh again.
    w.publish().await;
    Other { d, holder }
}

/// Owners a forged oracle account might have: a random program, the system
/// program, SPL Token, and the Pyth program of the *other* oracle kind.
fn forged_owners(real: Pubkey) -> Vec<Pubkey> {
    let other_pyth = if real == RECEIVER { PYTH_LEGACY_DEVNET } else { RECEIVER };
    vec![Pubkey::new_unique(), anchor_lang::solana_program::system_program::ID, spl_token::ID, other_pyth]
}

/// Rewrite the market's own legacy oracle address with valid bytes at the
/// current price, published now, but owned by `owner`.
async fn forge_legacy_owner(w: &mut World, owner: Pubkey) {
    let slot = w.bank.slot().await;
    w.bank.set_account(w.market.oracle, 1_000_000_000, legacy_price_account(w.price, w.conf, EXPO, slot, PriceStatus::Trading), owner);
}

/// A verified pull update of `FEED_ID` at $2,000 published at `publish_time`, at `key`, owned by `owner`.
async fn pull_update(w: &mut World, key: Pubkey, owner: Pubkey, publish_time: i64) {
    let slot = w.bank.slot().await;
    w.bank.set_account(key, 1_000_000_000, pull_price_account(FEED_ID, 2_000 * USD, USD as u64, EXPO, publish_time, VerificationLevel::Full, slot), owner);
}

/// A Pyth pull market at $2,000 (on a collateral mint of its own) with 100,000
/// USDC of liquidity, and its LP (holding 100,000 more).
async fn pull_market(w: &mut World) -> (Deployment, Holder) {
    let spec = MarketSpec::new(Oracle::pull(Pubkey::new_unique(), FEED_ID)).price(2_000 * USD, USD as u64).liquidity(100_000 * USDC);
    let mut d = world_deployer(w).market(&mut w.bank, spec).await;
    let lp = d.lp.take().expect("the spec seeds the pool");
    w.bank.mint_to(d.collateral, lp.collateral, 100_000 * USDC).await;
    w.publish().await;
    (d, lp)
}

// ───────────────────── the instructions an attack tampers with ─────────────────────

/// A user instruction an attack class below is tried on, as its honest user
/// sends it.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Alice mints 100 USDC into the 3x long of a fresh world (no position yet).
    FirstMint,
    /// Alice mints 100 USDC into the 3x long next to her positions.
    Mint,
    /// Alice redeems this many shares of the 3x long.
    Redeem(u64),
    /// Bob rebalances the 3x long after a +10 % move (its gate is open).
    Rebalance,
    /// Alice deposits 1,000 USDC into the pool.
    Deposit,
    /// The LP withdraws 1,000 LP.
    Withdraw,
    /// The 3x long's fees go to the treasury (permissionless: no signer).
    CollectFees,
}

/// Which instruction of an operation an attack is tried on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A one-instruction operation (rebalance, collect_fees).
    Only,
    /// A flow's `request_*`, signed by its owner.
    Request,
    /// A flow's `execute_*` at its price time, the owner's request landed; Bob executes.
    Execute,
}

impl Op {
    /// The world the attack starts from: fresh for the pool's instructions and
    /// a first mint, with Alice's positions (`world_with_positions`) otherwise.
    async fn world(self) -> World {
        match self {
            Op::FirstMint | Op::Deposit | Op::Withdraw => World::new().await,
            _ => world_with_positions().await,
        }
    }

    /// The request of a flow: its kind, owner, token and amount.
    fn request(self, w: &World) -> Option<(RequestKind, Who, Option<TokenKeys>, u64)> {
        match self {
            Op::FirstMint | Op::Mint => Some((RequestKind::Mint, Who::Alice, Some(w.long), 100 * USDC)),
            Op::Redeem(shares) => Some((RequestKind::Redeem, Who::Alice, Some(w.long), shares)),
            Op::Deposit => Some((RequestKind::Deposit, Who::Alice, None, 1_000 * USDC)),
            Op::Withdraw => Some((RequestKind::Withdraw, Who::Lp, None, 1_000 * USDC)),
            Op::Rebalance | Op::CollectFees => None,
        }
    }

    fn is_flow(self) -> bool {
        !matches!(self, Op::Rebalance | Op::CollectFees)
    }

    /// The instructions of the operation, in order.
    fn steps(self) -> &'static [Step] {
        if self.is_flow() {
            &[Step::Request, Step::Execute]
        } else {
            &[Step::Only]
        }
    }

    /// The instruction that reads the oracle.
    fn oracle_step(self) -> Step {
        if self.is_flow() {
            Step::Execute
        } else {
            Step::Only
        }
    }

    /// The honest instruction of `step` in `w`; a rebalance moves the price
    /// +10 % first; an execution's request lands first and the clock moves to
    /// its price time with the update for it published.
    async fn honest(self, w: &mut World, step: Step) -> Honest {
        if let Some((kind, who, t, amount)) = self.request(w) {
            let owner = kp(w, who);
            return match step {
                Step::Request => {
                    let nonce = next_nonce();
                    let ix = request_ix(w, kind, owner.pubkey(), t, nonce, amount, 0);
                    let pending = Some(Pending::new(w, kind, owner.pubkey(), nonce, t));
                    Honest { ix, signer: Some(owner), step, pending }
                }
                _ => {
                    let p = open(w, &owner, kind, t, amount, 0).await;
                    at_price_time(w, &p).await;
                    let bob = kp(w, Who::Bob);
                    Honest { ix: p.execute_ix(w, bob.pubkey()), signer: Some(bob), step: Step::Execute, pending: Some(p) }
                }
            };
        }
        let (ix, signer) = match self {
            Op::Rebalance => {
                w.set_price(110 * USD).await;
                (rebalance_ix(w, w.long), Some(kp(w, Who::Bob)))
            }
            _ => (ix::collect_fees(&w.long, w.treasury_collateral), None),
        };
        Honest { ix, signer, step: Step::Only, pending: None }
    }

    /// `op.world()` and the honest instruction of `step` in it.
    async fn start(self, step: Step) -> (World, Honest) {
        let mut w = self.world().await;
        let h = self.honest(&mut w, step).await;
        (w, h)
    }
}

/// An honest instruction, its signer (none for `collect_fees`) and, for a
/// flow, its request.
struct Honest {
    ix: Instruction,
    signer: Option<TestKeypair>,
    step: Step,
    pending: Option<Pending>,
}

impl Honest {
    fn signers(&self) -> Vec<&TestKeypair> {
        self.signer.iter().collect()
    }

    fn pending(&self) -> Pending {
        self.pending.expect("a flow's request")
    }

    /// `ix` with the account `real` replaced by `fake`.
    fn with(&self, real: Pubkey, fake: Pubkey) -> Instruction {
        swap_account(self.ix.clone(), real, fake)
    }

    /// `ix` with every pair of `swaps` replaced.
    fn with_all(&self, swaps: &[(Pubkey, Pubkey)]) -> Instruction {
        swaps.iter().fold(self.ix.clone(), |ix, (real, fake)| swap_account(ix, *real, *fake))
    }

    /// Refused with `want`: every world account, the request and its escrow
    /// (absent before a request lands, its escrow whole after) and `extra` unchanged.
    async fn refused(&self, w: &mut World, ix: Instruction, want: Want, extra: &[Pubkey]) {
        let mut watch: Vec<Pubkey> = self.pending.map(|p| p.accounts().to_vec()).unwrap_or_default();
        watch.extend_from_slice(extra);
        refused_impl(w, ix, &self.signers(), want, watch).await;
    }

    /// Sent as it is, it goes through: a refusal before was the attack's doing.
    /// A request then exists; an execution has closed it.
    async fn lands(&self, w: &mut World) {
        w.bank.send(std::slice::from_ref(&self.ix), &self.signers()).await.unwrap();
        match self.step {
            Step::Request => assert!(w.bank.raw_account(self.pending().keys.request).await.is_some(), "the request exists"),
            Step::Execute => assert!(self.pending().closed(&mut w.bank).await, "the execution closed the request"),
            Step::Only => {}
        }
    }
}

/// One `#[tokio::test]` per `name => attack(args);`: each attack class below
/// is a function of the instruction it is tried on, and each pairing is a
/// test of its own (docs/security.md names them).
macro_rules! attack_tests {
    ($($name:ident => $attack:ident($($arg:expr),*);)*) => {$(
        #[tokio::test]
        async fn $name() {
            $attack($($arg),*).await;
        }
    )*};
}

// ───────────────────── missing owner check: fake oracle ─────────────────────
// Covered elsewhere: mint (mint_redeem::mint_refuses_an_oracle_account_other_than_the_markets),
// pull mint/redeem/rebalance (pull_oracle::each_bad_pull_account_is_refused_with_its_named_error_and_every_balance_unchanged).

/// The market's legacy oracle rewritten with valid bytes under each forged
/// owner: `op` (for a flow, its execution at the price time; a request reads
/// no oracle) is refused (OracleWrongOwner). The same bytes owned by Pyth are
/// accepted, so the refusal was the owner.
async fn fake_owner_legacy_oracle(op: Op) {
    let (mut w, h) = op.start(op.oracle_step()).await;
    for owner in forged_owners(PYTH_LEGACY_DEVNET) {
        forge_legacy_owner(&mut w, owner).await;
        let oracle = w.market.oracle;
        h.refused(&mut w, h.ix.clone(), Program(ErrorCode::OracleWrongOwner), &[oracle]).await;
    }
    w.publish().await;
    h.lands(&mut w).await;
}

/// An LP request of `kind` (1,000 USDC or LP) on a pull market, executed at
/// its price time with the update at a forged address under each forged
/// owner: refused (OracleWrongOwner), the pull market's accounts, the request
/// and its escrow unchanged; owned by the receiver, accepted.
async fn fake_owner_pull_oracle(kind: RequestKind) {
    let mut w = World::new().await;
    let (d, lp) = pull_market(&mut w).await;
    let nonce = next_nonce();
    w.bank.send(&[d.request_ix(lp.key(), kind, None, nonce, 1_000 * USDC, 0)], &[&lp.kp]).await.expect_ok("request");
    let r: Request = w.bank.account(pda::request(&lp.key(), nonce).0).await;
    w.bank.reach(OracleKind::PythPull, r.target).await;
    let forged = Pubkey::new_unique();
    let bob = kp(&w, Who::Bob);
    let ixe = ix::execute(bob.pubkey(), kind, lp.key(), nonce, &d.market, None, forged, &d.tokens);
    let k = RequestKeys::of(kind, lp.key(), nonce, &d.market, None);
    let mut extra = market_accounts(&d.market).to_vec();
    extra.extend([lp.collateral, lp.lp, forged, k.request, k.escrow]);
    for owner in forged_owners(RECEIVER) {
        pull_update(&mut w, forged, owner, r.target).await;
        refused!(&mut w, ixe.clone(), &[&bob], Program(ErrorCode::OracleWrongOwner), &extra).await;
    }
    pull_update(&mut w, forged, RECEIVER, r.target).await;
    w.bank.send(&[ixe], &[&bob]).await.unwrap();
    assert!(w.bank.raw_account(k.request).await.is_none(), "executed");
}

attack_tests! {
    fake_owner_legacy_oracle_redeem => fake_owner_legacy_oracle(Op::Redeem(1_000));
    fake_owner_legacy_oracle_rebalance => fake_owner_legacy_oracle(Op::Rebalance);
    fake_owner_legacy_oracle_deposit_liquidity => fake_owner_legacy_oracle(Op::Deposit);
    fake_owner_legacy_oracle_withdraw_liquidity => fake_owner_legacy_oracle(Op::Withdraw);
    fake_owner_pull_oracle_deposit_liquidity => fake_owner_pull_oracle(RequestKind::Deposit);
    fake_owner_pull_oracle_withdraw_liquidity => fake_owner_pull_oracle(RequestKind::Withdraw);
}

#[tokio::test]
async fn fake_owner_legacy_oracle_create_market() {
    let (mut w, admin, m) = world_admin_and_market_keys().await;
    let data = w.bank.raw_account(m.oracle).await.unwrap().data;
    for owner in forged_owners(PYTH_LEGACY_DEVNET) {
        w.bank.set_account(m.oracle, 1_000_000_000, data.clone(), owner);
        let ixc = ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None);
        refused_creating!(&mut w, ixc, &[&admin], Program(ErrorCode::OracleWrongOwner), &market_accounts(&m)).await;
    }
    w.bank.set_account(m.oracle, 1_000_000_000, data, PYTH_LEGACY_DEVNET);
    w.bank.send(&[ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None)], &[&admin]).await.unwrap();
}

#[tokio::test]
async fn fake_owner_pull_oracle_create_market() {
    let (mut w, admin) = world_and_admin().await;
    let forged = Pubkey::new_unique();
    let m = MarketKeys::pull(FEED_ID, forged, w.collateral);
    let now = w.bank.clock().await.unix_timestamp;
    for owner in forged_owners(RECEIVER) {
        pull_update(&mut w, forged, owner, now).await;
        let ixc = ix::create_market(admin.pubkey(), &m, OracleKind::PythPull, market_params(), None);
        refused_creating!(&mut w, ixc, &[&admin], Program(ErrorCode::OracleWrongOwner), &market_accounts(&m)).await;
    }
    pull_update(&mut w, forged, RECEIVER, now).await;
    w.bank.send(&[ix::create_market(admin.pubkey(), &m, OracleKind::PythPull, market_params(), None)], &[&admin]).await.unwrap();
}

// ───────────────────── arbitrary CPI: look-alike token program ─────────────────────

/// Executable and non-executable look-alikes of SPL Token: the system program,
/// Token-2022 (loaded in this bank), this program itself, and a random key.
fn fake_token_programs() -> Vec<Pubkey> {
    vec![anchor_lang::solana_program::system_program::ID, <Pubkey as std::str::FromStr>::from_str("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb").unwrap(), leveraged_token::ID, Pubkey::new_unique()]
}

/// `ix` with each look-alike token program: refused (InvalidProgramId), every
/// account of `extra` unchanged (those it would create stay absent); with the
/// real program id it goes through.
async fn refused_with_fake_token_program(w: &mut World, ix: Instruction, signers: &[&TestKeypair], extra: &[Pubkey]) {
    assert_eq!(ix.accounts.iter().filter(|m| m.pubkey == spl_token::ID).count(), 1);
    for fake in fake_token_programs() {
        refused!(w, swap_account(ix.clone(), spl_token::ID, fake), signers, Anchor(AnchorError::InvalidProgramId), extra).await;
    }
    w.bank.send(&[ix], signers).await.unwrap();
}

/// Each instruction of `op` with each look-alike token program: refused (InvalidProgramId).
async fn fake_token_program(op: Op) {
    let mut w = op.world().await;
    for &step in op.steps() {
        let h = op.honest(&mut w, step).await;
        let watch: Vec<Pubkey> = h.pending.map(|p| p.accounts().to_vec()).unwrap_or_default();
        refused_with_fake_token_program(&mut w, h.ix.clone(), &h.signers(), &watch).await;
    }
}

attack_tests! {
    fake_token_program_mint => fake_token_program(Op::FirstMint);
    fake_token_program_redeem => fake_token_program(Op::Redeem(1_000));
    fake_token_program_rebalance => fake_token_program(Op::Rebalance);
    fake_token_program_deposit_liquidity => fake_token_program(Op::Deposit);
    fake_token_program_withdraw_liquidity => fake_token_program(Op::Withdraw);
    fake_token_program_collect_fees => fake_token_program(Op::CollectFees);
}

#[tokio::test]
async fn fake_token_program_create_market() {
    let (mut w, admin, m) = world_admin_and_market_keys().await;
    let ixc = ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None);
    refused_with_fake_token_program(&mut w, ixc, &[&admin], &market_accounts(&m)).await;
}

#[tokio::test]
async fn fake_token_program_create_leveraged_token() {
    let (mut w, admin) = world_and_admin().await;
    let t = w.market.token(20_000);
    let ixc = ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000));
    refused_with_fake_token_program(&mut w, ixc, &[&admin], &token_accounts(&t)).await;
}

// ───────────────────── type cosplay: an account of another type ─────────────────────

const MISMATCH: Want = Anchor(AnchorError::AccountDiscriminatorMismatch);

/// Accounts of another type in place of `op`'s: a Market where the
/// LeveragedToken is expected, a LeveragedToken where the Market is, the
/// Config where the Market is, a Market or LeveragedToken where the Config
/// is; in an execution also a Market where the Request is and the Request
/// where the Market, the token or the Config is.
fn cosplays(op: Op, w: &World, h: &Honest) -> Vec<(Pubkey, Pubkey)> {
    let (long, short, market, config) = (w.long.token, w.short.token, w.market.market, config_key());
    let mut v = match op {
        Op::FirstMint | Op::Mint => vec![(long, market), (market, short), (market, config), (config, market)],
        Op::Redeem(_) => vec![(long, market), (market, short), (market, config), (config, short)],
        Op::Rebalance => vec![(long, market), (market, short), (market, config), (long, config)],
        Op::CollectFees => vec![(long, market), (market, short), (market, config)],
        Op::Deposit => vec![(market, long), (market, config), (config, market)],
        Op::Withdraw => vec![(market, long), (market, config), (config, long)],
    };
    if h.step == Step::Execute {
        let request = h.pending().keys.request;
        v.extend([(request, market), (request, long), (market, request), (config, request)]);
        if matches!(op, Op::FirstMint | Op::Mint | Op::Redeem(_)) {
            v.push((long, request));
        }
    }
    v
}

/// Each instruction of `op` with each account replaced as `swaps` lists:
/// refused with `want`; the honest one then lands.
async fn refused_with_each_swap(op: Op, swaps: fn(Op, &World, &Honest) -> Vec<(Pubkey, Pubkey)>, want: Want) {
    let mut w = op.world().await;
    for &step in op.steps() {
        let h = op.honest(&mut w, step).await;
        let pairs = swaps(op, &w, &h);
        if pairs.is_empty() {
            continue;
        }
        for (real, fake) in pairs {
            h.refused(&mut w, h.with(real, fake), want.clone(), &[]).await;
        }
        h.lands(&mut w).await;
    }
}

attack_tests! {
    type_cosplay_mint => refused_with_each_swap(Op::Mint, cosplays, MISMATCH);
    type_cosplay_redeem => refused_with_each_swap(Op::Redeem(1_000), cosplays, MISMATCH);
    type_cosplay_rebalance => refused_with_each_swap(Op::Rebalance, cosplays, MISMATCH);
    type_cosplay_collect_fees => refused_with_each_swap(Op::CollectFees, cosplays, MISMATCH);
    type_cosplay_deposit_liquidity => refused_with_each_swap(Op::Deposit, cosplays, MISMATCH);
    type_cosplay_withdraw_liquidity => refused_with_each_swap(Op::Withdraw, cosplays, MISMATCH);
}

#[tokio::test]
async fn type_cosplay_create_leveraged_token() {
    let (mut w, admin) = world_and_admin().await;
    let t = w.market.token(20_000);
    let ixc = ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000));
    refused_creating!(&mut w, swap_account(ixc.clone(), w.market.market, w.long.token), &[&admin], MISMATCH, &token_accounts(&t)).await;
    refused_creating!(&mut w, swap_account(ixc, w.market.market, config_key()), &[&admin], MISMATCH, &token_accounts(&t)).await;
}

/// For each of `fakes`, the admin's `instructions(admin key, fake)`: refused
/// (AccountDiscriminatorMismatch).
async fn admin_instructions_on_cosplays(w: &mut World, fakes: [Pubkey; 2], instructions: impl Fn(Pubkey, Pubkey) -> [Instruction; 2]) {
    let admin = w.admin.insecure_clone();
    for fake in fakes {
        for i in instructions(admin.pubkey(), fake) {
            refused!(w, i, &[&admin], MISMATCH, &[]).await;
        }
    }
}

#[tokio::test]
async fn type_cosplay_admin_market_instructions() {
    let mut w = World::new().await;
    let fakes = [w.long.token, config_key()];
    admin_instructions_on_cosplays(&mut w, fakes, |a, fake| [ix::set_market_pause(a, fake, PAUSE_ALL, true), ix::propose_market_params(a, fake, market_params())]).await;
}

#[tokio::test]
async fn type_cosplay_admin_token_instructions() {
    let mut w = World::new().await;
    let fakes = [w.market.market, config_key()];
    admin_instructions_on_cosplays(&mut w, fakes, |a, fake| [ix::set_token_pause(a, fake, PAUSE_ALL, true), ix::propose_token_params(a, fake, token_params(LONG_3X))]).await;
    // A Market where the Config is expected, on a config-only instruction.
    let admin = w.admin.insecure_clone();
    refused!(&mut w, swap_account(ix::set_global_pause(admin.pubkey(), PAUSE_ALL, true), config_key(), w.market.market), &[&admin], MISMATCH, &[]).await;
}
// ───────────────────── reinitialisation ─────────────────────
// Covered elsewhere: initialize_config (admin::initialize_config_a_second_time_fails_and_leaves_the_config_unchanged).

#[tokio::test]
async fn reinit_create_market_twice() {
    let mut w = world_with_positions().await;
    let admin = w.admin.insecure_clone();
    let before = w.snapshot().await;
    let market_before: Market = w.bank.account(w.market.market).await;
    // Same market, and the same address with parameters that would reset fees and caps.
    let mut reset = market_params();
    reset.trade_fee_bps = 0;
    reset.side_cap_bps = MAX_CAP_BPS;
    reset.net_cap_bps = MAX_CAP_BPS;
    for params in [market_params(), reset] {
        let out = w.bank.send(&[ix::create_market(admin.pubkey(), &w.market, OracleKind::PythLegacy, params, None)], &[&admin]).await;
        assert!(refused_by_the_system_program(&out), "{:?}\n{}", out.result, out.logs.join("\n"));
        w.assert_unchanged(&before).await;
    }
    let m: Market = w.bank.account(w.market.market).await;
    assert_eq!((m.params, m.net_base, m.token_count), (market_before.params, market_before.net_base, market_before.token_count));
    let c: Config = w.bank.account(config_key()).await;
    assert_eq!(c.market_count, 1);
}

#[tokio::test]
async fn reinit_create_leveraged_token_twice() {
    let mut w = world_with_positions().await;
    let admin = w.admin.insecure_clone();
    let before = w.snapshot().await;
    let t0: LeveragedToken = w.token_state(w.long).await;
    assert_ne!(t0.base, 0);
    let mut reset = token_params(LONG_3X);
    reset.mint_fee_bps = 0;
    for params in [token_params(LONG_3X), reset] {
        let out = w.bank.send(&[ix::create_leveraged_token(admin.pubkey(), &w.long, params)], &[&admin]).await;
        assert!(refused_by_the_system_program(&out), "{:?}\n{}", out.result, out.logs.join("\n"));
        w.assert_unchanged(&before).await;
    }
    let t = w.token_state(w.long).await;
    assert_eq!((t.base, t.cost, t.params, t.status), (t0.base, t0.cost, t0.params, t0.status));
    assert_eq!(w.market_state().await.token_count, 2);
}

/// F1 (fixed): the PDAs `create_market`, `create_leveraged_token` and
/// `initialize_config` create have addresses anyone can compute. With Anchor
/// 1.2's `init`, lamports sent there first made the creation take its
/// prefunded path (`CreateAccountAllowPrefund`, SIMD-0312), which this bank's
/// system program (agave 3.1) refused with InvalidInstructionData: anyone
/// could block a market or token for ≈ 0.0009 SOL, for ever. The program now
/// creates them with `create::create_pda_account` (transfer the shortfall,
/// `allocate`, `assign`), which every runtime knows.
#[tokio::test]
async fn prefunding_a_token_pda_does_not_block_its_creation() {
    let (mut w, admin) = world_and_admin().await;
    let mallory = w.bank.funded_keypair().await;
    let t = w.market.token(20_000);
    let rent = w.bank.ctx.banks_client.get_rent().await.unwrap();
    let gift = rent.minimum_balance(0);
    let transfer = anchor_lang::solana_program::system_instruction::transfer(&mallory.pubkey(), &t.token, gift);
    w.bank.send(&[transfer], &[&mallory]).await.unwrap();
    let out = w.bank.send(&[ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000))], &[&admin]).await;
    assert!(out.result.is_ok(), "a {gift}-lamport gift to the token PDA blocks its creation: {:?}\n{}", out.result, out.logs.join("\n"));
    let acc = w.bank.raw_account(t.token).await.unwrap();
    assert_eq!((acc.owner, acc.data.len(), acc.lamports), (leveraged_token::ID, TOKEN_SPACE, rent.minimum_balance(TOKEN_SPACE)));
    let s: LeveragedToken = w.bank.account(t.token).await;
    assert_eq!((s.target_leverage_bps, s.market, s.share_mint, s.vault), (20_000, w.market.market, t.share_mint, t.vault));
    assert_eq!(w.market_state().await.token_count, 3);
}

/// Lamports sent to an address before the program creates it, and what the
/// created account must be: its size and owner.
struct Gifted {
    key: Pubkey,
    gift: u64,
    space: usize,
    owner: Pubkey,
}

async fn prefund(bank: &mut Bank, from: &TestKeypair, g: &Gifted) {
    let t = anchor_lang::solana_program::system_instruction::transfer(&from.pubkey(), &g.key, g.gift);
    bank.send(&[t], &[from]).await.unwrap();
}

/// Created, owned by `g.owner`, `g.space` bytes, and the gift kept: lamports
/// = max(rent-exempt minimum, gift).
async fn assert_created_keeping_the_gift(bank: &mut Bank, g: &Gifted) {
    let rent = bank.ctx.banks_client.get_rent().await.unwrap();
    let acc = bank.raw_account(g.key).await.unwrap_or_else(|| panic!("{} was not created", g.key));
    let want = rent.minimum_balance(g.space).max(g.gift);
    assert_eq!((acc.owner, acc.data.len(), acc.lamports), (g.owner, g.space, want), "account {}", g.key);
}

/// Every PDA of a new config, market and token, prefunded — with the least a
/// transfer may leave on an address (the rent-exempt minimum of an empty
/// account, less than the account needs), with its exact rent, or with more —
/// is created anyway, keeps its gift, has the right owner and the fields an
/// unfunded creation writes, and works: an LP deposits into the pool and a
/// user mints the token.
#[tokio::test]
async fn prefunding_every_pda_of_a_config_market_and_token_does_not_block_their_creation() {
    use anchor_lang::solana_program::program_option::COption;
    use anchor_lang::solana_program::program_pack::Pack;
    use leveraged_token::pda;

    let mut bank = Bank::new().await;
    let mallory = bank.funded_keypair().await;
    let rent = bank.ctx.banks_client.get_rent().await.unwrap();
    let (dust, big) = (rent.minimum_balance(0), 2_000_000_000);

    // The config, prefunded before the deployer initializes it.
    let config = Gifted { key: config_key(), gift: dust, space: CONFIG_SPACE, owner: leveraged_token::ID };
    prefund(&mut bank, &mallory, &config).await;
    let treasury = Pubkey::new_unique();
    let deployer = harness::deployment::Deployer::init(&mut bank, Some(treasury)).await;
    let admin = deployer.admin.insecure_clone();
    assert_created_keeping_the_gift(&mut bank, &config).await;
    let c: Config = bank.account(config_key()).await;
    assert_eq!((c.version, c.admin, c.pending_admin, c.treasury), (ACCOUNT_VERSION, admin.pubkey(), Pubkey::default(), treasury));
    assert_eq!((c.bump, c.pause_flags, c.market_count, c.reserved), (pda::config().1, 0, 0, [0; CONFIG_RESERVED_BYTES]));

    // A market and a token: all six addresses prefunded before either is created.
    let collateral = bank.create_mint(DECIMALS).await;
    let oracle = harness::deployment::Oracle::legacy(Pubkey::new_unique());
    oracle.publish(&mut bank, 50 * USD, USD as u64 / 100).await;
    let m = oracle.market_keys(collateral);
    let t = m.token(LONG_3X);
    let (mint_len, account_len) = (spl_token::state::Mint::LEN, <spl_token::state::Account as anchor_lang::solana_program::program_pack::Pack>::LEN);
    let gifts = [
        Gifted { key: m.market, gift: big, space: MARKET_SPACE, owner: leveraged_token::ID },
        Gifted { key: m.pool_vault, gift: dust, space: account_len, owner: spl_token::ID },
        Gifted { key: m.lp_mint, gift: big, space: mint_len, owner: spl_token::ID },
        Gifted { key: t.token, gift: dust, space: TOKEN_SPACE, owner: leveraged_token::ID },
        Gifted { key: t.share_mint, gift: big, space: mint_len, owner: spl_token::ID },
        Gifted { key: t.vault, gift: rent.minimum_balance(account_len), space: account_len, owner: spl_token::ID },
    ];
    for g in &gifts {
        prefund(&mut bank, &mallory, g).await;
    }
    bank.send(&[ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None)], &[&admin]).await.unwrap();
    bank.send(&[ix::create_leveraged_token(admin.pubkey(), &t, token_params(LONG_3X))], &[&admin]).await.unwrap();
    for g in &gifts {
        assert_created_keeping_the_gift(&mut bank, g).await;
    }

    // Written as an unfunded creation writes them.
    let s: Market = bank.account(m.market).await;
    assert_eq!((s.version, s.bump, s.pool_vault_bump, s.lp_mint_bump), (ACCOUNT_VERSION, pda::market(&m.oracle_id, &collateral).1, pda::pool_vault(&m.market).1, pda::lp_mint(&m.market).1));
    assert_eq!((s.collateral_mint, s.pool_vault, s.lp_mint, s.collateral_decimals, s.token_count, s.params), (collateral, m.pool_vault, m.lp_mint, DECIMALS, 1, market_params()));
    assert_eq!((s.oracle_kind, s.oracle_id, s.pause_flags, s.net_base, s.long_index, s.short_index), (OracleKind::PythLegacy, m.oracle_id, 0, 0, 0, 0));
    assert_eq!((s.trusted_freeze_authority, s.reserved), (Pubkey::default(), [0; MARKET_RESERVED_BYTES]));
    let s: LeveragedToken = bank.account(t.token).await;
    assert_eq!((s.version, s.bump, s.share_mint_bump, s.vault_bump), (ACCOUNT_VERSION, pda::leveraged_token(&m.market, LONG_3X).1, pda::share_mint(&t.token).1, pda::token_vault(&t.token).1));
    assert_eq!((s.market, s.share_mint, s.vault, s.target_leverage_bps, s.params), (m.market, t.share_mint, t.vault, LONG_3X, token_params(LONG_3X)));
    assert_eq!((s.base, s.cost, s.fees_owed, s.pause_flags, s.chunk_in_progress, s.reserved), (0, 0, 0, 0, false, [0; TOKEN_RESERVED_BYTES]));
    for (mint, authority) in [(m.lp_mint, m.market), (t.share_mint, t.token)] {
        let s = spl_token::state::Mint::unpack(&bank.raw_account(mint).await.unwrap().data).unwrap();
        assert_eq!((s.mint_authority, s.freeze_authority, s.decimals, s.supply), (COption::Some(authority), COption::None, DECIMALS, 0));
    }
    for (vault, authority) in [(m.pool_vault, m.market), (t.vault, t.token)] {
        let s = spl_token::state::Account::unpack(&bank.raw_account(vault).await.unwrap().data).unwrap();
        assert_eq!((s.mint, s.owner, s.amount, s.delegate, s.close_authority), (collateral, authority, 0, COption::None, COption::None));
    }

    // And they work: a deposit into the pool, a mint of the token (requested and executed).
    let d = Deployment { collateral, unit: USDC, oracle, market: m, tokens: vec![t], treasury_collateral: Pubkey::new_unique(), lp: None };
    let user = d.holder(&mut bank, 200_000 * USDC).await;
    user.deposit(&mut bank, &d, 100_000 * USDC).await.expect_ok("deposit");
    user.mint(&mut bank, &d, 0, 1_000 * USDC).await.expect_ok("mint");
    assert!(bank.balance(user.lp).await > 0 && bank.balance(user.shares[0]).await > 0);
}

/// The request and escrow addresses are public (`["request", owner, nonce]`,
/// `["escrow", request]`): lamports sent there before the owner's request —
/// dust, or far more than the rent — do not block it. Both are created with
/// their owner and size, keep the gift, and the request executes; closing it
/// hands the gift to the request's owner.
#[tokio::test]
async fn prefunding_a_requests_addresses_does_not_block_it() {
    let mut w = World::new().await;
    let mallory = w.bank.funded_keypair().await;
    let alice = kp(&w, Who::Alice);
    let rent = w.bank.ctx.banks_client.get_rent().await.unwrap();
    let fee = executor_fee(&mut w).await;
    for gift in [rent.minimum_balance(0), 2_000_000_000] {
        let nonce = next_nonce();
        let p = Pending::new(&w, RequestKind::Mint, alice.pubkey(), nonce, Some(w.long));
        let gifts = [
            Gifted { key: p.keys.request, gift, space: REQUEST_SPACE, owner: leveraged_token::ID },
            Gifted { key: p.keys.escrow, gift, space: <spl_token::state::Account as anchor_lang::solana_program::program_pack::Pack>::LEN, owner: spl_token::ID },
        ];
        for g in &gifts {
            prefund(&mut w.bank, &mallory, g).await;
        }
        let wallet = lamports(&mut w.bank, alice.pubkey()).await;
        w.bank.send(&[request_ix(&w, RequestKind::Mint, alice.pubkey(), Some(w.long), nonce, 1_000 * USDC, 0)], &[&alice]).await.expect_ok("request on prefunded addresses");
        let request_lamports = lamports(&mut w.bank, p.keys.request).await;
        let escrow_lamports = lamports(&mut w.bank, p.keys.escrow).await;
        // The request holds its rent (or the gift) and the executor fee; the escrow its rent (or the gift).
        assert_eq!(request_lamports, rent.minimum_balance(REQUEST_SPACE).max(gift) + fee);
        assert_created_keeping_the_gift(&mut w.bank, &gifts[1]).await;
        let r = p.state(&mut w.bank).await;
        assert_eq!((r.owner, r.nonce, r.amount, r.escrow), (alice.pubkey(), nonce, 1_000 * USDC, p.keys.escrow));
        assert_eq!(w.bank.balance(p.keys.escrow).await, 1_000 * USDC);
        let paid = wallet - lamports(&mut w.bank, alice.pubkey()).await;
        let out = w.deployment.execute_at(&mut w.bank, alice.pubkey(), nonce, None).await;
        assert_eq!(out.events::<Minted>().len(), 1, "the mint fills");
        out.expect_ok("execute");
        assert!(p.closed(&mut w.bank).await);
        let back = lamports(&mut w.bank, alice.pubkey()).await + paid - wallet;
        println!("gift {gift} on each address: Alice paid {paid} lamports at the request and got {back} back at the execution");
        assert_eq!(back, request_lamports - fee + escrow_lamports, "the rent and the gifts go to the owner, the fee to the executor");
    }
}

/// A nonce whose request is open cannot open a second one: the system
/// program refuses the address in use and nothing changes (the first
/// request's escrow and terms included). Once that request is closed the
/// nonce is free again.
#[tokio::test]
async fn a_second_request_on_a_nonce_in_use_is_refused_until_the_first_closes() {
    let mut w = World::new().await;
    let alice = kp(&w, Who::Alice);
    let long = w.long;
    let p = open(&mut w, &alice, RequestKind::Mint, Some(long), 1_000 * USDC, 0).await;
    let before_request = p.state(&mut w.bank).await;
    for (kind, t, amount) in [(RequestKind::Mint, Some(w.long), 5_000 * USDC), (RequestKind::Deposit, None, 5_000 * USDC), (RequestKind::Mint, Some(w.short), 1)] {
        let watch = p.accounts();
        let before = w.snapshot().await;
        let before_watch = w.bank.snapshot(&watch).await;
        let out = w.bank.send(&[request_ix(&w, kind, alice.pubkey(), t, p.nonce, amount, 0)], &[&alice]).await;
        assert!(refused_by_the_system_program(&out), "{:?}\n{}", out.result, out.logs.join("\n"));
        w.assert_unchanged(&before).await;
        assert_eq!(w.bank.snapshot(&watch).await, before_watch);
    }
    let r = p.state(&mut w.bank).await;
    assert_eq!((r.kind, r.amount, r.token, r.target), (before_request.kind, before_request.amount, before_request.token, before_request.target));
    w.deployment.execute_at(&mut w.bank, alice.pubkey(), p.nonce, None).await.expect_ok("execute the first");
    w.bank.send(&[request_ix(&w, RequestKind::Deposit, alice.pubkey(), None, p.nonce, 5_000 * USDC, 0)], &[&alice]).await.expect_ok("the nonce is free again");
}

/// An address already in use is refused by the system program whatever holds
/// it: a token account of SPL Token where the pool vault goes, a system
/// account with data where the token goes, and (reinit tests above) the
/// program's own market and token. Nothing is created or changed.
#[tokio::test]
async fn creation_refuses_an_address_already_in_use() {
    let (mut w, admin, m) = world_admin_and_market_keys().await;
    let vault = w.bank.raw_account(w.alice.collateral).await.unwrap();
    w.bank.set_account(m.pool_vault, vault.lamports, vault.data.clone(), spl_token::ID);
    let before = w.bank.snapshot(&[m.pool_vault]).await;
    let out = w.bank.send(&[ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None)], &[&admin]).await;
    assert!(refused_by_the_system_program(&out), "{:?}\n{}", out.result, out.logs.join("\n"));
    assert_eq!(w.bank.snapshot(&[m.pool_vault]).await, before);
    assert!(w.bank.raw_account(m.market).await.is_none() && w.bank.raw_account(m.lp_mint).await.is_none());

    let t = w.market.token(20_000);
    w.bank.set_account(t.token, 10_000_000_000, vec![1; 8], anchor_lang::solana_program::system_program::ID);
    let before_token = w.bank.snapshot(&[t.token]).await;
    let before = w.snapshot().await;
    let out = w.bank.send(&[ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000))], &[&admin]).await;
    assert!(refused_by_the_system_program(&out), "{:?}\n{}", out.result, out.logs.join("\n"));
    w.assert_unchanged(&before).await;
    assert_eq!(w.bank.snapshot(&[t.token]).await, before_token);
    assert!(w.bank.raw_account(t.share_mint).await.is_none() && w.bank.raw_account(t.vault).await.is_none());
}

// ───────────────────── duplicate mutable accounts ─────────────────────
// Covered elsewhere: mint with the token vault as the user's collateral account
// (mint_redeem::mint_refuses_the_vault_as_the_users_collateral_account).
// Anchor 1.2's duplicate-mutable-account check runs before the program's own
// `DuplicateAccount` constraints, which stay as a second line. A request has
// one writable typed account (the owner's source): the duplicates are the
// execution's.

const DUP: Want = Anchor(AnchorError::ConstraintDuplicateMutableAccount);

/// One writable account of `op` passed again in place of another.
fn duplicates(op: Op, w: &World, h: &Honest) -> Vec<(Pubkey, Pubkey)> {
    let (pool, vault) = (w.market.pool_vault, w.long.vault);
    if h.step == Step::Request {
        return vec![];
    }
    let k = h.pending.map(|p| p.keys);
    // The owner's output account = its refund account; the escrow = the refund (or output) account.
    let ends = |k: RequestKeys| vec![(k.destination, k.source), (k.escrow, k.source), (k.escrow, k.destination)];
    match op {
        // pool vault = token vault, and the request's three token accounts.
        Op::FirstMint | Op::Mint | Op::Redeem(_) => [vec![(pool, vault)], ends(k.unwrap())].concat(),
        Op::Deposit | Op::Withdraw => ends(k.unwrap()),
        Op::Rebalance => vec![(pool, vault), (w.bob.collateral, pool), (w.bob.collateral, vault)],
        Op::CollectFees => vec![(w.treasury_collateral, vault)],
    }
}

attack_tests! {
    duplicate_accounts_mint => refused_with_each_swap(Op::Mint, duplicates, DUP);
    duplicate_accounts_redeem => refused_with_each_swap(Op::Redeem(1_000_000), duplicates, DUP);
    duplicate_accounts_rebalance => refused_with_each_swap(Op::Rebalance, duplicates, DUP);
    duplicate_accounts_deposit_liquidity => refused_with_each_swap(Op::Deposit, duplicates, DUP);
    duplicate_accounts_withdraw_liquidity => refused_with_each_swap(Op::Withdraw, duplicates, DUP);
    duplicate_accounts_collect_fees => refused_with_each_swap(Op::CollectFees, duplicates, DUP);
}

// ───────────────────── foreign vault from ANOTHER market ─────────────────────
// Covered elsewhere: vaults of another token of the SAME market
// (mint_redeem::mint_and_redeem_refuse_a_foreign_vault_and_share_mint,
// liquidity::deposit_and_withdraw_refuse_a_foreign_pool_vault, rebalance::rebalance_refuses_…).

/// An account swap (every pair applied) and the error that must name it.
type Swaps = (Vec<(Pubkey, Pubkey)>, ErrorCode);

/// `owner`'s associated token account of `mint`, created if missing.
async fn ata(w: &mut World, owner: Pubkey, mint: Pubkey) -> Pubkey {
    w.bank.create_ata(owner, mint).await
}

/// `op`'s accounts swapped for the other market's, each with the error that
/// names it. A request paying in the other market's mint (from the owner's
/// associated account of it) is refused by the mint's name; a source that is
/// not the owner's associated account, or an output account of the other
/// mint, by NotAssociatedTokenAccount. An execution with the other market's
/// vaults or mints is refused by their names, and with an output account
/// other than the request's by WrongRequest.
async fn foreign_accounts(op: Op, w: &mut World, o: &Other, h: &Honest) -> Vec<Swaps> {
    use ErrorCode::{NotAssociatedTokenAccount, WrongCollateralMint, WrongLpMint, WrongRequest, WrongShareMint, WrongVault};
    let pool = (vec![(w.market.pool_vault, o.market().pool_vault)], WrongVault);
    let vault = (vec![(w.long.vault, o.token().vault)], WrongVault);
    let share_mint = (vec![(w.long.share_mint, o.token().share_mint)], WrongShareMint);
    let lp_mint = (vec![(w.market.lp_mint, o.market().lp_mint)], WrongLpMint);
    match h.step {
        Step::Only => match op {
            // Payouts to an account of the other market's collateral mint.
            Op::Rebalance => vec![pool, vault, (vec![(w.bob.collateral, o.holder.collateral)], WrongCollateralMint)],
            _ => vec![vault],
        },
        Step::Request => {
            let p = h.pending();
            let (pay, out, code) = match p.kind {
                RequestKind::Mint => ((w.collateral, o.mint()), o.token().share_mint, WrongCollateralMint),
                RequestKind::Redeem => ((w.long.share_mint, o.token().share_mint), o.mint(), WrongShareMint),
                RequestKind::Deposit => ((w.collateral, o.mint()), o.market().lp_mint, WrongCollateralMint),
                RequestKind::Withdraw => ((w.market.lp_mint, o.market().lp_mint), o.mint(), WrongLpMint),
            };
            let foreign_source = ata(w, p.owner, pay.1).await;
            let foreign_out = ata(w, p.owner, out).await;
            // A token account of the right mint that is not the owner's associated one.
            let non_ata = w.bank.create_token_account(pay.0, p.owner).await;
            vec![(vec![pay, (p.keys.source, foreign_source)], code), (vec![(p.keys.source, non_ata)], NotAssociatedTokenAccount), (vec![(p.keys.destination, foreign_out)], NotAssociatedTokenAccount)]
        }
        Step::Execute => {
            let p = h.pending();
            // The other market's holder's account of the mint the request pays out.
            let theirs = match p.kind {
                RequestKind::Mint => o.holder.shares[0],
                RequestKind::Deposit => o.holder.lp,
                RequestKind::Redeem | RequestKind::Withdraw => o.holder.collateral,
            };
            let destination = (vec![(p.keys.destination, theirs)], WrongRequest);
            match p.kind {
                RequestKind::Mint | RequestKind::Redeem => vec![pool, vault, share_mint, destination],
                RequestKind::Deposit | RequestKind::Withdraw => vec![pool, lp_mint, destination],
            }
        }
    }
}

/// With a second market on another collateral mint, each instruction of `op`
/// with each of its foreign accounts: refused by name, every account of the
/// other market unchanged; the honest one then lands.
async fn foreign_market_vaults(op: Op) {
    let mut w = op.world().await;
    let o = other_market(&mut w).await;
    let extra = o.accounts();
    for &step in op.steps() {
        let h = op.honest(&mut w, step).await;
        for (swaps, code) in foreign_accounts(op, &mut w, &o, &h).await {
            let fakes: Vec<Pubkey> = swaps.iter().map(|s| s.1).collect();
            h.refused(&mut w, h.with_all(&swaps), Program(code), &[extra.clone(), fakes].concat()).await;
        }
        h.lands(&mut w).await;
    }
}

attack_tests! {
    foreign_market_vaults_mint => foreign_market_vaults(Op::Mint);
    foreign_market_vaults_redeem => foreign_market_vaults(Op::Redeem(1_000_000));
    foreign_market_vaults_rebalance => foreign_market_vaults(Op::Rebalance);
    foreign_market_vaults_deposit_liquidity => foreign_market_vaults(Op::Deposit);
    foreign_market_vaults_withdraw_liquidity => foreign_market_vaults(Op::Withdraw);
    foreign_market_vaults_collect_fees => foreign_market_vaults(Op::CollectFees);
}

// ───────────────────── PDA substitution and bump canonicalisation ─────────────────────

/// With a second market, `op` with the world's long swapped for the other
/// market's long (same type, same leverage, another market's PDA), and
/// separately the world's market for the other market: refused (WrongMarket).
/// A request gets the other token's (or market's) mint and the owner's
/// associated accounts of it too, so only the token–market pairing is wrong.
async fn pda_substitution(op: Op) {
    let mut w = op.world().await;
    let o = other_market(&mut w).await;
    let extra = o.accounts();
    for &step in op.steps() {
        let h = op.honest(&mut w, step).await;
        let (token, market) = (vec![(w.long.token, o.token().token)], vec![(w.market.market, o.market().market)]);
        let (token, market) = match (step, op) {
            (Step::Request, Op::Mint) => {
                let (alice, k) = (w.alice.key(), h.pending().keys);
                let other_shares = ata(&mut w, alice, o.token().share_mint).await;
                let other_collateral = ata(&mut w, alice, o.mint()).await;
                ([token, vec![(k.destination, other_shares)]].concat(), [market, vec![(w.collateral, o.mint()), (k.source, other_collateral)]].concat())
            }
            (Step::Request, Op::Redeem(_)) => {
                let (alice, k) = (w.alice.key(), h.pending().keys);
                let other_shares = ata(&mut w, alice, o.token().share_mint).await;
                let other_collateral = ata(&mut w, alice, o.mint()).await;
                ([token, vec![(w.long.share_mint, o.token().share_mint), (k.source, other_shares)]].concat(), [market, vec![(k.destination, other_collateral)]].concat())
            }
            _ => (token, market),
        };
        h.refused(&mut w, h.with_all(&token), Program(ErrorCode::WrongMarket), &extra).await;
        h.refused(&mut w, h.with_all(&market), Program(ErrorCode::WrongMarket), &extra).await;
        h.lands(&mut w).await;
    }
}

attack_tests! {
    pda_substitution_mint => pda_substitution(Op::Mint);
    pda_substitution_redeem => pda_substitution(Op::Redeem(1_000_000));
    pda_substitution_rebalance => pda_substitution(Op::Rebalance);
    pda_substitution_collect_fees => pda_substitution(Op::CollectFees);
}

/// The highest bump below the canonical one that gives an off-curve address.
fn non_canonical(seeds: &[&[u8]]) -> (Pubkey, u8) {
    let (_, canonical) = Pubkey::find_program_address(seeds, &leveraged_token::ID);
    for bump in (0..canonical).rev() {
        let mut s: Vec<&[u8]> = seeds.to_vec();
        let b = [bump];
        s.push(&b);
        if let Ok(k) = Pubkey::create_program_address(&s, &leveraged_token::ID) {
            return (k, bump);
        }
    }
    panic!("no non-canonical bump");
}

#[tokio::test]
async fn non_canonical_bump_create_leveraged_token() {
    let (mut w, admin) = world_and_admin().await;
    let t = w.market.token(20_000);
    let lev = 20_000i32.to_le_bytes();
    let (fake, _) = non_canonical(&[TOKEN_SEED, w.market.market.as_ref(), &lev]);
    let ixc = ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000));
    let mut absent = token_accounts(&t).to_vec();
    absent.push(fake);
    refused_creating!(&mut w, swap_account(ixc.clone(), t.token, fake), &[&admin], Anchor(AnchorError::ConstraintSeeds), &absent).await;
    // A non-canonical vault or share mint of the right token is refused the same way.
    let (fake_vault, _) = non_canonical(&[TOKEN_VAULT_SEED, t.token.as_ref()]);
    refused_creating!(&mut w, swap_account(ixc.clone(), t.vault, fake_vault), &[&admin], Anchor(AnchorError::ConstraintSeeds), &[t.token, fake_vault]).await;
    let (fake_mint, _) = non_canonical(&[SHARE_MINT_SEED, t.token.as_ref()]);
    refused_creating!(&mut w, swap_account(ixc, t.share_mint, fake_mint), &[&admin], Anchor(AnchorError::ConstraintSeeds), &[t.token, fake_mint]).await;
}

#[tokio::test]
async fn non_canonical_bump_create_market() {
    let (mut w, admin, m) = world_admin_and_market_keys().await;
    let (fake, _) = non_canonical(&[MARKET_SEED, &m.oracle_id, m.collateral_mint.as_ref()]);
    let ixc = ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None);
    let mut absent = market_accounts(&m).to_vec();
    absent.push(fake);
    refused_creating!(&mut w, swap_account(ixc.clone(), m.market, fake), &[&admin], Anchor(AnchorError::ConstraintSeeds), &absent).await;
    let (fake_pool, _) = non_canonical(&[POOL_VAULT_SEED, m.market.as_ref()]);
    refused_creating!(&mut w, swap_account(ixc, m.pool_vault, fake_pool), &[&admin], Anchor(AnchorError::ConstraintSeeds), &[m.market, fake_pool]).await;
}

#[tokio::test]
async fn every_stored_bump_is_canonical() {
    let mut w = World::new().await;
    let c: Config = w.bank.account(config_key()).await;
    assert_eq!(c.bump, leveraged_token::pda::config().1);
    let m: Market = w.market_state().await;
    assert_eq!(m.bump, leveraged_token::pda::market(&w.market.oracle_id, &w.collateral).1);
    assert_eq!(m.pool_vault_bump, leveraged_token::pda::pool_vault(&w.market.market).1);
    assert_eq!(m.lp_mint_bump, leveraged_token::pda::lp_mint(&w.market.market).1);
    for t in [w.long, w.short] {
        let s = w.token_state(t).await;
        assert_eq!(s.bump, leveraged_token::pda::leveraged_token(&w.market.market, t.target_leverage_bps).1);
        assert_eq!(s.share_mint_bump, leveraged_token::pda::share_mint(&t.token).1);
        assert_eq!(s.vault_bump, leveraged_token::pda::token_vault(&t.token).1);
        // PDA sharing: each token has its own vault and mint authority (the token PDA).
        let vault = w.bank.raw_account(t.vault).await.unwrap();
        let vault = <spl_token::state::Account as anchor_lang::solana_program::program_pack::Pack>::unpack(&vault.data).unwrap();
        assert_eq!(vault.owner, t.token);
        let mint = w.bank.raw_account(t.share_mint).await.unwrap();
        let mint = <spl_token::state::Mint as anchor_lang::solana_program::program_pack::Pack>::unpack(&mint.data).unwrap();
        assert_eq!(mint.mint_authority, anchor_lang::solana_program::program_option::COption::Some(t.token));
    }
    // A request and its escrow: canonical bumps, the escrow's authority the request.
    let alice = kp(&w, Who::Alice);
    let long = w.long;
    let p = open(&mut w, &alice, RequestKind::Mint, Some(long), 1_000 * USDC, 0).await;
    let r = p.state(&mut w.bank).await;
    assert_eq!((r.bump, r.escrow_bump), (pda::request(&alice.pubkey(), p.nonce).1, pda::escrow(&p.keys.request).1));
    let escrow = w.bank.raw_account(p.keys.escrow).await.unwrap();
    let escrow = <spl_token::state::Account as anchor_lang::solana_program::program_pack::Pack>::unpack(&escrow.data).unwrap();
    assert_eq!((escrow.owner, escrow.mint, escrow.amount), (p.keys.request, w.collateral, 1_000 * USDC));
}

/// A request at a non-canonical request or escrow address of the owner's
/// nonce: refused (ConstraintSeeds), neither created.
#[tokio::test]
async fn non_canonical_bump_request() {
    let mut w = World::new().await;
    let alice = kp(&w, Who::Alice);
    let nonce = next_nonce();
    let p = Pending::new(&w, RequestKind::Mint, alice.pubkey(), nonce, Some(w.long));
    let h = Honest { ix: request_ix(&w, RequestKind::Mint, alice.pubkey(), Some(w.long), nonce, 1_000 * USDC, 0), signer: Some(alice.insecure_clone()), step: Step::Request, pending: Some(p) };
    let nonce_bytes = nonce.to_le_bytes();
    let (fake_request, _) = non_canonical(&[REQUEST_SEED, alice.pubkey().as_ref(), &nonce_bytes]);
    let (fake_escrow, _) = non_canonical(&[ESCROW_SEED, p.keys.request.as_ref()]);
    for (real, fake) in [(p.keys.request, fake_request), (p.keys.escrow, fake_escrow)] {
        h.refused(&mut w, h.with(real, fake), Anchor(AnchorError::ConstraintSeeds), &[fake]).await;
    }
    h.lands(&mut w).await;
}

// ───────────────────── sysvar spoofing: a forged Clock ─────────────────────

fn sysvar_owner() -> Pubkey {
    <Pubkey as std::str::FromStr>::from_str("Sysvar1111111111111111111111111111111111111").unwrap()
}

fn clock_sysvar() -> Pubkey {
    <Pubkey as std::str::FromStr>::from_str("SysvarC1ock11111111111111111111111111111111").unwrap()
}

/// A Clock-shaped account at a fresh address, owned by the sysvar program, at `slot` and `unix_timestamp`.
async fn forged_clock_at(w: &mut World, slot: u64, unix_timestamp: i64) -> Pubkey {
    let real = w.bank.clock().await;
    let mut data = Vec::with_capacity(40);
    data.extend(slot.to_le_bytes());
    data.extend(real.epoch_start_timestamp.to_le_bytes());
    data.extend(real.epoch.to_le_bytes());
    data.extend(real.leader_schedule_epoch.to_le_bytes());
    data.extend(unix_timestamp.to_le_bytes());
    let key = Pubkey::new_unique();
    w.bank.set_account(key, 1_000_000_000, data, sysvar_owner());
    key
}

/// A forged clock `slots_ahead` of the real one (its unix time as many seconds ahead).
async fn forged_clock(w: &mut World, slots_ahead: u64) -> Pubkey {
    let real = w.bank.clock().await;
    forged_clock_at(w, real.slot + slots_ahead, real.unix_timestamp + slots_ahead as i64).await
}

fn with_appended(mut ix: Instruction, keys: &[Pubkey], writable: bool) -> Instruction {
    for k in keys {
        ix.accounts.push(if writable { AccountMeta::new(*k, false) } else { AccountMeta::new_readonly(*k, false) });
    }
    ix
}

#[tokio::test]
async fn forged_clock_does_not_open_the_rebalance_gate() {
    let mut w = world_with_positions().await;
    let t0 = w.token_state(w.long).await;
    // A clock 300,000 slots ahead would open the 216,000-slot time trigger.
    let fake = forged_clock(&mut w, 300_000).await;
    let b = kp(&w, Who::Bob);
    let ixb = with_appended(rebalance_ix(&w, w.long), &[fake, clock_sysvar()], false);
    refused!(&mut w, ixb, &[&b], Program(ErrorCode::RebalanceNotNeeded), &[fake]).await;
    assert_eq!(w.token_state(w.long).await.schedule_anchor_slot, t0.schedule_anchor_slot);
}

/// A rebalance acts on a fresh price only (the time trigger aside): a +10 %
/// print 100 slots old, with a clock at its publication slot appended, is
/// still stale (executions read the update for their price time, of any age:
/// their clock matters for expiry, below).
#[tokio::test]
async fn forged_clock_does_not_make_a_stale_oracle_fresh() {
    let mut w = world_with_positions().await;
    let slot = w.bank.slot().await;
    w.bank.warp(100).await;
    w.write_oracle(110 * USD, w.conf, slot, PriceStatus::Trading);
    // A clock at the publication slot: the oracle would look fresh to anyone reading it.
    let real = w.bank.clock().await;
    let fake = forged_clock_at(&mut w, slot, real.unix_timestamp - 40).await;
    assert!(real.slot > slot + 25);
    let b = kp(&w, Who::Bob);
    refused!(&mut w, with_appended(rebalance_ix(&w, w.long), &[fake, clock_sysvar()], false), &[&b], Program(ErrorCode::OracleStale), &[fake]).await;
}

/// Requests of every kind past their expiry: an execution with a forged clock
/// before the expiry appended is refused (RequestExpired). Live ones: a
/// cancel with a forged clock past their expiry is refused
/// (RequestNotExpired). The program reads the clock sysvar, not an account.
#[tokio::test]
async fn forged_clock_neither_revives_an_expired_request_nor_expires_a_live_one() {
    let mut w = world_with_positions().await;
    let (alice, lp, bob) = (kp(&w, Who::Alice), kp(&w, Who::Lp), kp(&w, Who::Bob));
    let shares = w.bank.balance(w.alice.long).await;
    let (long, short) = (w.long, w.short);
    let live = [
        open(&mut w, &alice, RequestKind::Mint, Some(long), 1_000 * USDC, 0).await,
        open(&mut w, &alice, RequestKind::Redeem, Some(long), shares / 10, 0).await,
        open(&mut w, &alice, RequestKind::Deposit, None, 1_000 * USDC, 0).await,
        open(&mut w, &lp, RequestKind::Withdraw, None, 1_000 * USDC, 0).await,
        open(&mut w, &alice, RequestKind::Mint, Some(short), 1_000 * USDC, 0).await,
    ];
    let r = live[0].state(&mut w.bank).await;
    let far = forged_clock_at(&mut w, r.requested_slot + 1_000_000, r.expires_at + 1_000_000).await;
    for p in &live {
        refused!(&mut w, with_appended(p.cancel_ix(&w, bob.pubkey()), &[far, clock_sysvar()], false), &[&bob], Program(ErrorCode::RequestNotExpired), &p.accounts()).await;
    }
    // The first three expire (the withdrawal waits an hour, the short's mint is executed on time).
    at_price_time(&mut w, &live[4]).await;
    w.deployment.execute_at(&mut w.bank, alice.pubkey(), live[4].nonce, None).await.expect_ok("executed in time");
    to_expiry(&mut w, &live[0], 1).await;
    at_price_time(&mut w, &live[0]).await;
    let past = forged_clock_at(&mut w, r.requested_slot, r.requested_at).await;
    for p in &live[..3] {
        refused!(&mut w, with_appended(p.execute_ix(&w, bob.pubkey()), &[past, clock_sysvar()], false), &[&bob], Program(ErrorCode::RequestExpired), &p.accounts()).await;
    }
}

/// A request and its execution, each with a clock a million slots ahead
/// appended, record the real slot and time: the request prices 5 slots
/// (2 s) after the real slot, and the execution's settlement, schedule
/// anchor and accrual are at the real slot of the execution.
#[tokio::test]
async fn forged_clock_does_not_change_the_slot_a_mint_records() {
    let mut w = World::new().await;
    let fake = forged_clock(&mut w, 1_000_000).await;
    let now = w.bank.clock().await;
    let a = kp(&w, Who::Alice);
    let nonce = next_nonce();
    let ixr = with_appended(request_ix(&w, RequestKind::Mint, a.pubkey(), Some(w.long), nonce, 1_000 * USDC, 0), &[fake], false);
    w.bank.send(&[ixr], &[&a]).await.unwrap();
    let p = Pending::new(&w, RequestKind::Mint, a.pubkey(), nonce, Some(w.long));
    let r = p.state(&mut w.bank).await;
    assert_eq!((r.requested_slot, r.requested_at, r.target, r.expires_at), (now.slot, now.unix_timestamp, now.slot as i64 + 5, now.unix_timestamp + 122));
    at_price_time(&mut w, &p).await;
    let exec = w.bank.clock().await;
    let exec_slot = exec.slot;
    let b = kp(&w, Who::Bob);
    w.bank.send(&[with_appended(p.execute_ix(&w, b.pubkey()), &[fake], false)], &[&b]).await.unwrap();
    let t = w.token_state(w.long).await;
    assert_eq!((t.last_fee_slot, t.schedule_anchor_slot), (exec_slot, exec_slot));
    assert_eq!(w.market_state().await.last_accrual_time, exec.unix_timestamp);
}

// ───────────────────── remaining_accounts injection ─────────────────────

#[tokio::test]
async fn appended_accounts_are_ignored_by_mint_and_redeem() {
    let mut w = World::new().await;
    let o = other_market(&mut w).await;
    let (a, b) = (kp(&w, Who::Alice), kp(&w, Who::Bob));
    // Writable vaults and user accounts appended after the declared accounts,
    // to every request and execution.
    let injected = [w.short.vault, o.market().pool_vault, o.token().vault, w.bob.collateral, w.treasury_collateral];
    let before = w.bank.snapshot(&injected).await;
    for (kind, amount) in [(RequestKind::Mint, 1_000 * USDC), (RequestKind::Redeem, 997_501_500)] {
        let nonce = next_nonce();
        let ixr = with_appended(request_ix(&w, kind, a.pubkey(), Some(w.long), nonce, amount, 0), &injected, true);
        w.bank.send(&[ixr], &[&a]).await.unwrap();
        let p = Pending::new(&w, kind, a.pubkey(), nonce, Some(w.long));
        at_price_time(&mut w, &p).await;
        w.bank.send(&[with_appended(p.execute_ix(&w, b.pubkey()), &injected, true)], &[&b]).await.unwrap();
        if kind == RequestKind::Mint {
            // Exactly the shares of a first mint without them (mint_redeem::first_mint_charges_fees_…).
            assert_eq!(w.bank.balance(w.alice.long).await, 997_501_500);
        }
    }
    assert_eq!(w.bank.snapshot(&injected).await, before);
    assert_eq!(w.token_state(w.long).await.base, 0);
}

// ───────────────────── missing validation of a deep account ─────────────────────

#[tokio::test]
async fn create_leveraged_token_refuses_a_collateral_mint_other_than_the_markets() {
    let (mut w, admin) = world_and_admin().await;
    let other = w.bank.create_mint(DECIMALS).await;
    let t = w.market.token(20_000);
    let ixc = ix::create_leveraged_token(admin.pubkey(), &t, token_params(20_000));
    refused_creating!(&mut w, swap_account(ixc.clone(), w.collateral, other), &[&admin], Program(ErrorCode::WrongCollateralMint), &token_accounts(&t)).await;
    // The market's LP mint or a share mint is a real mint too, and is refused the same way.
    refused_creating!(&mut w, swap_account(ixc.clone(), w.collateral, w.market.lp_mint), &[&admin], Program(ErrorCode::WrongCollateralMint), &token_accounts(&t)).await;
    refused_creating!(&mut w, swap_account(ixc, w.collateral, w.long.share_mint), &[&admin], Program(ErrorCode::WrongCollateralMint), &token_accounts(&t)).await;
}

#[tokio::test]
async fn create_market_refuses_a_collateral_mint_that_is_not_a_mint() {
    let (mut w, admin) = world_and_admin().await;
    let oracle = live_legacy_oracle(&mut w, 50 * USD).await;
    // A token account (owned by SPL Token, 165 bytes) and a system account where the mint goes.
    for fake in [w.alice.collateral, w.alice.key()] {
        let m = MarketKeys::legacy(oracle, fake);
        let ixc = ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None);
        // A system account fails Anchor's owner check; SPL Token's own unpack refuses 165 bytes as a Mint.
        let want = if fake == w.alice.key() { Anchor(AnchorError::AccountOwnedByWrongProgram) } else { Want::Raw(InstructionError::InvalidAccountData) };
        refused_creating!(&mut w, ixc, &[&admin], want, &market_accounts(&m)).await;
    }
}

// ───────────────────── first-depositor share inflation ─────────────────────

/// Transfer `amount` of the world's collateral from `from` (owned by `owner`) to any token account.
async fn donate(w: &mut World, owner: &TestKeypair, from: Pubkey, to: Pubkey, amount: u64) {
    let t = spl_token::instruction::transfer(&spl_token::ID, &from, &to, &owner.pubkey(), &[], amount).unwrap();
    w.bank.send(&[t], &[owner]).await.unwrap();
}

/// Mallory takes the first share of the 3x long with the smallest mint that
/// yields one (3 units: 1 unit of mint fee, 1 of trade fee, 1 of equity; 1
/// and 2 units would issue none and are refunded whole), then donates
/// 1,000,000 USDC to its vault.
async fn inflated_world() -> (World, User) {
    let mut w = World::new().await;
    let mallory = w.new_user(1_000_010 * USDC).await;
    let long = w.long;
    for amount in [1, 2] {
        refunded(&mut w, &mallory.kp, RequestKind::Mint, Some(long), amount, 0, RefundReason::ZeroOut).await;
    }
    mint_as(&mut w, &mallory.kp, long, 3, 0).await.unwrap();
    assert_eq!(w.bank.balance(mallory.long).await, 1);
    assert_eq!(w.bank.supply(w.long.share_mint).await, 1);
    let vault = w.long.vault;
    donate(&mut w, &mallory.kp, mallory.collateral, vault, 1_000_000 * USDC).await;
    (w, mallory)
}

#[tokio::test]
async fn donation_before_first_mint_victim_is_refused_and_donor_loses_999_per_mille() {
    let (mut w, mallory) = inflated_world().await;
    // One share is now worth ≈ 1,000,000 / 1,001 ≈ 999 USDC: Alice's 1,000 USDC
    // (999 after the 10 bps mint fee) buys floor(999e6 × 1,001 / (1e12 + 1,002)) = 0 shares:
    // her request is refunded whole (the victim keeps 100 % of her collateral).
    let a = kp(&w, Who::Alice);
    let long = w.long;
    refunded(&mut w, &a, RequestKind::Mint, Some(long), 1_000 * USDC, 0, RefundReason::ZeroOut).await;
    // Mallory takes back her one share: (1e12 + 1 + 1,000) / 1,001 less the redeem fee.
    let before = w.bank.balance(mallory.collateral).await;
    redeem_as(&mut w, &mallory.kp, long, 1, 0).await.unwrap();
    let back = w.bank.balance(mallory.collateral).await - before;
    println!("mallory donated 1,000,000 USDC and got back {back} units");
    assert!(back <= 1_000_000 * USDC / 1_000, "donor recovered {back}");
    assert!(back > 998 * USDC);
    // The rest (≈ 999,000 USDC) stays in the vault as equity of no holder.
    let loss = 1_000_000 * USDC + 3 - back;
    assert!(loss * 1_000 >= 999 * 1_000_000 * USDC, "donor loss {loss}");
}

#[tokio::test]
async fn donation_before_first_mint_worst_case_rounding_costs_the_donor_far_more_than_the_victim() {
    let (mut w, mallory) = inflated_world().await;
    // Alice mints 1,500 USDC: 1,498.5 after the fee, floor(1.4999…) = 1 share.
    // That share is worth ≈ (1e12 + 1,498.5e6) / 1,002 ≈ 999.5 USDC: she loses ≈ a
    // third of her deposit to rounding — at most one share, ≈ donation / 1,001.
    let a = kp(&w, Who::Alice);
    let long = w.long;
    let deposit = 1_500 * USDC;
    let alice_before = w.bank.balance(w.alice.collateral).await;
    mint_as(&mut w, &a, long, deposit, 0).await.unwrap();
    assert_eq!(w.bank.balance(w.alice.long).await, 1);
    redeem_as(&mut w, &a, long, 1, 0).await.unwrap();
    let alice_loss = alice_before - w.bank.balance(w.alice.collateral).await;
    let m_before = w.bank.balance(mallory.collateral).await;
    redeem_as(&mut w, &mallory.kp, long, 1, 0).await.unwrap();
    let mallory_loss = 1_000_000 * USDC + 3 - (w.bank.balance(mallory.collateral).await - m_before);
    println!("victim lost {alice_loss} of {deposit}; donor lost {mallory_loss} of 1,000,000 USDC");
    assert!(alice_loss <= 1_000_000 * USDC / 1_001 + deposit / 100, "victim lost {alice_loss}");
    assert!(mallory_loss >= 998_000 * USDC, "donor lost {mallory_loss}");
    assert!(mallory_loss / alice_loss >= 1_000, "griefing ratio {}", mallory_loss / alice_loss);
}

#[tokio::test]
async fn donation_before_first_mint_victim_with_min_shares_out_is_refused() {
    let (mut w, _mallory) = inflated_world().await;
    // The victim quoted 1,500 USDC at the fair NAV (≈ 1,496 shares after fees) and
    // passes a 1 % slippage bound: at the inflated price her request is refunded whole.
    let a = kp(&w, Who::Alice);
    let long = w.long;
    refunded(&mut w, &a, RequestKind::Mint, Some(long), 1_500 * USDC, 1_480 * USDC, RefundReason::BelowMinOut).await;
}

/// The request flow opens a window: a request is public for its 2 s delay,
/// and whoever executes orders the executions at one price time. Mallory sees
/// Alice's 1,500 USDC first mint (bound: 1 % under the fair 1,496 shares),
/// requests the 3-unit first share in the same slot, and at the price time
/// executes her own mint, donates 1,000,000 USDC to the vault, then executes
/// Alice's: it is refunded whole (BelowMinOut). Without a bound the same
/// ordering leaves Alice one share (≈ a third of her deposit lost to rounding,
/// as above), so the bound is what protects a first minter.
#[tokio::test]
async fn a_donation_between_a_first_mint_request_and_its_execution_is_refused_by_the_victims_bound() {
    let mut w = World::new().await;
    let mallory = w.new_user(1_000_010 * USDC).await;
    let alice = kp(&w, Who::Alice);
    let long = w.long;
    let alice_before = w.bank.balance(w.alice.collateral).await;
    let wallet_before = lamports(&mut w.bank, alice.pubkey()).await;
    let victim = open(&mut w, &alice, RequestKind::Mint, Some(long), 1_500 * USDC, 1_480 * USDC).await;
    let first = open(&mut w, &mallory.kp, RequestKind::Mint, Some(long), 3, 0).await;
    assert_eq!(first.state(&mut w.bank).await.target, victim.state(&mut w.bank).await.target, "one price time");
    at_price_time(&mut w, &first).await;
    w.bank.send(&[first.execute_ix(&w, mallory.key())], &[&mallory.kp]).await.unwrap();
    let vault = w.long.vault;
    donate(&mut w, &mallory.kp, mallory.collateral, vault, 1_000_000 * USDC).await;
    let out = w.bank.send(&[victim.execute_ix(&w, mallory.key())], &[&mallory.kp]).await;
    let ev = out.events::<RequestRefunded>();
    out.unwrap();
    assert_eq!(ev.iter().map(|e| (e.reason, e.amount)).collect::<Vec<_>>(), vec![(RefundReason::BelowMinOut, 1_500 * USDC)]);
    assert_eq!(w.bank.balance(w.alice.collateral).await, alice_before, "the escrow came back whole");
    assert_eq!(w.bank.balance(w.alice.long).await, 0);
    let fee = executor_fee(&mut w).await;
    assert_eq!(lamports(&mut w.bank, alice.pubkey()).await, wallet_before - fee, "Alice paid only the executor fee");
    println!("front-run first mint: the victim's 1,500 USDC came back whole; mallory earned {fee} lamports and left 1,000,000 USDC in the vault");
}

#[tokio::test]
async fn donation_before_first_mint_victim_of_comparable_size_keeps_998_per_mille_of_the_undonated_outcome() {
    // Baseline: the same 300,000 USDC round trip in a world without the donation.
    let deposit = 300_000 * USDC;
    let baseline = {
        let mut w = World::new().await;
        let carol = w.new_user(deposit).await;
        let long = w.long;
        mint_as(&mut w, &carol.kp, long, deposit, 0).await.unwrap();
        let s = w.bank.balance(carol.long).await;
        redeem_as(&mut w, &carol.kp, long, s, 0).await.unwrap();
        w.bank.balance(carol.collateral).await
    };
    let (mut w, _mallory) = inflated_world().await;
    let carol = w.new_user(deposit).await;
    let long = w.long;
    mint_as(&mut w, &carol.kp, long, deposit, 0).await.unwrap();
    let s = w.bank.balance(carol.long).await;
    redeem_as(&mut w, &carol.kp, long, s, 0).await.unwrap();
    let got = w.bank.balance(carol.collateral).await;
    println!("300,000 USDC round trip: {baseline} without the donation, {got} with it ({s} shares)");
    assert!(got * 1_000 >= baseline * 998, "victim got {got}, baseline {baseline}");
    assert!(got < deposit);
}

#[tokio::test]
async fn donation_to_an_empty_pool_before_the_first_lp_deposit() {
    let (mut w, admin, m) = world_admin_and_market_keys().await;
    w.bank.send(&[ix::create_market(admin.pubkey(), &m, OracleKind::PythLegacy, market_params(), None)], &[&admin]).await.unwrap();
    let d = Deployment { collateral: w.collateral, unit: USDC, oracle: Oracle::legacy(m.oracle), market: m, tokens: vec![], treasury_collateral: w.treasury_collateral, lp: None };
    let mallory = d.holder(&mut w.bank, 1_000_010 * USDC).await;
    // The smallest deposit that yields an LP share: the 10 bps LP fee (rounded up)
    // takes 1 unit of each, so 1 unit issues none and is refunded whole.
    let (mut first, mut refunds) = (1, 0);
    loop {
        let out = mallory.deposit(&mut w.bank, &d, first).await;
        let ev = out.events::<RequestRefunded>();
        out.unwrap();
        if ev.is_empty() {
            break;
        }
        assert_eq!((ev[0].reason, ev[0].amount), (RefundReason::ZeroOut, first));
        refunds += 1;
        first += 1;
    }
    assert_eq!(w.bank.balance(mallory.lp).await, 1);
    println!("first LP share for {first} units ({refunds} smaller deposits refunded)");
    donate(&mut w, &mallory.kp, mallory.collateral, m.pool_vault, 1_000_000 * USDC).await;
    // Alice deposits 1,000 USDC: less the 1 USDC LP fee, floor(999e6 × 1,001 / (1e12 + …)) = 0 LP:
    // refunded whole (the victim keeps 100 %).
    let a = kp(&w, Who::Alice);
    let a_lp = w.bank.create_ata(a.pubkey(), m.lp_mint).await;
    let before_alice = w.bank.balance(w.alice.collateral).await;
    let out = d.request_and_execute(&mut w.bank, &a, RequestKind::Deposit, None, 1_000 * USDC, 0).await;
    let ev = out.events::<RequestRefunded>();
    out.unwrap();
    assert_eq!(ev.iter().map(|e| (e.reason, e.amount)).collect::<Vec<_>>(), vec![(RefundReason::ZeroOut, 1_000 * USDC)]);
    assert_eq!(w.bank.balance(w.alice.collateral).await, before_alice, "refunded whole");
    // With 1,500 USDC she gets 1 LP, worth ≈ 1,000 USDC of the pool: the worst-case
    // rounding costs her at most one LP share (≈ donation / 1,001) and the two LP fees.
    d.request_and_execute(&mut w.bank, &a, RequestKind::Deposit, None, 1_500 * USDC, 0).await.unwrap();
    assert_eq!(w.bank.balance(a_lp).await, 1);
    d.request_and_execute(&mut w.bank, &a, RequestKind::Withdraw, None, 1, 0).await.unwrap();
    let alice_loss = before_alice - w.bank.balance(w.alice.collateral).await;
    let before = w.bank.balance(mallory.collateral).await;
    mallory.withdraw(&mut w.bank, &d, 1).await.unwrap();
    let back = w.bank.balance(mallory.collateral).await - before;
    let mallory_loss = 1_000_000 * USDC + first - back;
    println!("pool victim lost {alice_loss} of 1,500 USDC; pool donor got back {back} of 1,000,000 USDC");
    assert!(alice_loss <= 1_000_000 * USDC / 1_001 + 1_500 * USDC / 100, "victim lost {alice_loss}");
    assert!(back <= 1_000_000 * USDC / 1_000, "donor recovered {back}");
    assert!(mallory_loss / alice_loss >= 1_000, "griefing ratio {}", mallory_loss / alice_loss);
}

// ───────────────────── rounding drains ─────────────────────

/// What one execution did: a fill (its event) or a refund.
enum Executed {
    Minted(Minted),
    Redeemed(Redeemed),
    Refunded(RequestRefunded),
}

/// `u`'s requests of `kind` for each of `amounts`, made in one slot (one
/// price time) and executed there in order, at the oracle's price now, by
/// the bank's payer, five to a transaction — as an attacker batching them
/// would: what each execution did, in the order of `amounts`.
async fn flows_at_one_price_time(w: &mut World, u: &TestKeypair, kind: RequestKind, t: Option<TokenKeys>, amounts: &[u64]) -> Vec<Executed> {
    let pending: Vec<Pending> = amounts.iter().map(|_| Pending::new(w, kind, u.pubkey(), next_nonce(), t)).collect();
    for (ps, chunk) in pending.chunks(5).zip(amounts.chunks(5)) {
        let ixs: Vec<Instruction> = ps.iter().zip(chunk).map(|(p, &amount)| request_ix(w, kind, u.pubkey(), t, p.nonce, amount, 0)).collect();
        w.bank.send(&ixs, &[u]).await.expect_ok("requests");
    }
    let Some(first) = pending.first() else { return vec![] };
    at_price_time(w, first).await;
    let executor = w.bank.payer();
    let mut done = std::collections::HashMap::new();
    for ps in pending.chunks(5) {
        let ixs: Vec<Instruction> = ps.iter().map(|p| p.execute_ix(w, executor)).collect();
        let out = w.bank.send(&ixs, &[]).await;
        done.extend(out.events::<Minted>().into_iter().map(|e| (e.request, Executed::Minted(e))));
        done.extend(out.events::<Redeemed>().into_iter().map(|e| (e.request, Executed::Redeemed(e))));
        done.extend(out.events::<RequestRefunded>().into_iter().map(|e| (e.request, Executed::Refunded(e))));
        out.expect_ok("executions");
    }
    w.publish().await;
    pending.iter().map(|p| done.remove(&p.keys.request).expect("each execution fills or refunds")).collect()
}

/// `iterations` mint/redeem round trips of the smallest amounts (1…10 units,
/// and every share received redeemed at once), ten at a time at one price
/// time (the token as it was at the start of the ten: empty, or next to a
/// holder): each pays back at most what it paid, and the user's collateral
/// never rises; a mint that would issue no share is refunded whole.
async fn tiny_round_trips(w: &mut World, t: TokenKeys, iterations: u32) -> (u64, u32) {
    let a = kp(w, Who::Alice);
    let start = w.bank.balance(w.alice.collateral).await;
    let mut last = start;
    let mut minted = 0;
    for batch in 0..iterations / 10 {
        let amounts: Vec<u64> = (1..=10).collect();
        let mut trips = vec![];
        for (amount, done) in amounts.iter().zip(flows_at_one_price_time(w, &a, RequestKind::Mint, Some(t), &amounts).await) {
            match done {
                Executed::Refunded(r) => assert_eq!((r.reason, r.amount), (RefundReason::ZeroOut, *amount)),
                Executed::Minted(m) => trips.push((*amount, m.shares_out)),
                Executed::Redeemed(_) => panic!("a mint either fills or is refunded"),
            }
        }
        minted += trips.len() as u32;
        let shares: Vec<u64> = trips.iter().map(|t| t.1).collect();
        for ((paid, _), done) in trips.iter().zip(flows_at_one_price_time(w, &a, RequestKind::Redeem, Some(t), &shares).await) {
            let Executed::Redeemed(r) = done else { panic!("the redeem of a round trip fills") };
            assert!(r.collateral_out <= *paid, "batch {batch}: {paid} in, {} back", r.collateral_out);
        }
        let now = w.bank.balance(w.alice.collateral).await;
        assert!(now <= last, "batch {batch}: collateral rose from {last} to {now}");
        last = now;
    }
    (start - last, minted)
}

#[tokio::test]
async fn rounding_drain_tiny_round_trips_on_an_empty_token() {
    let mut w = World::new().await;
    let long = w.long;
    let (lost, minted) = tiny_round_trips(&mut w, long, 1_000).await;
    println!("empty 3x long: 1,000 round trips ({minted} minted), user lost {lost} units");
    assert!(minted > 0);
}

#[tokio::test]
async fn rounding_drain_tiny_round_trips_next_to_a_large_holder() {
    let mut w = World::new().await;
    w.mint(Who::Bob, w.long, 10_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.short, 10_000 * USDC, 0).await.unwrap();
    // A price move so NAV per share is not 1 and positions are not at their entry.
    w.set_price(104 * USD).await;
    let (long, short) = (w.long, w.short);
    let (lost_l, minted_l) = tiny_round_trips(&mut w, long, 1_000).await;
    let (lost_s, minted_s) = tiny_round_trips(&mut w, short, 1_000).await;
    println!("next to a holder: long lost {lost_l} ({minted_l} minted), short lost {lost_s} ({minted_s} minted)");
    assert!(minted_l > 0 && minted_s > 0);
}

#[tokio::test]
async fn rounding_drain_redeeming_one_share_at_a_time_pays_no_more_than_at_once() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 10_000 * USDC, 0).await.unwrap();
    w.mint(Who::Bob, w.long, 10_000 * USDC, 0).await.unwrap();
    let a = kp(&w, Who::Alice);
    // What 1,000 shares pay in one redeem, quoted on the current book.
    let t = w.token_state(w.long).await;
    let vault = w.bank.balance(w.long.vault).await;
    let supply = w.bank.supply(w.long.share_mint).await;
    let p = leveraged_token::math::price::normalize_price(w.price, w.conf, EXPO, DECIMALS).unwrap();
    let book = leveraged_token::math::shares::TokenBook { equity: vault - t.fees_owed, supply, base: t.base, target_leverage_bps: 30_000 };
    let at_once = leveraged_token::math::shares::quote_redeem(&book, p.price, p.conf, 1_000, 10, 5).unwrap().collateral_out;
    let before = w.bank.balance(w.alice.collateral).await;
    let long = w.long;
    // A thousand requests of one share, all executed at one price time.
    for done in flows_at_one_price_time(&mut w, &a, RequestKind::Redeem, Some(long), &[1; 1_000]).await {
        assert!(matches!(done, Executed::Redeemed(_)), "each one-share redeem fills");
    }
    let one_by_one = w.bank.balance(w.alice.collateral).await - before;
    println!("1,000 shares: {at_once} at once, {one_by_one} one by one");
    assert!(one_by_one <= at_once);
}

// ───────────────────── gate griefing and keeper reward farming ─────────────────────
// Covered elsewhere: three calls right after a rebalance
// (rebalance::calling_again_right_after_a_rebalance_earns_nothing_and_changes_nothing).

/// With Alice's positions, the 3x long rebalanced after a +10 % move: the
/// world and the long's state right after.
async fn just_rebalanced() -> (World, LeveragedToken) {
    let mut w = world_with_positions().await;
    w.set_price(110 * USD).await;
    w.rebalance(Who::Bob, w.long).await.unwrap();
    let t0 = w.token_state(w.long).await;
    (w, t0)
}

#[tokio::test]
async fn spam_after_a_rebalance_from_many_callers_is_refused_and_pays_nothing() {
    let (mut w, t0) = just_rebalanced().await;
    let mut callers = Vec::new();
    for _ in 0..5 {
        let k = w.bank.funded_keypair().await;
        let acc = w.bank.create_token_account(w.collateral, k.pubkey()).await;
        callers.push((k, acc));
    }
    let extra: Vec<Pubkey> = callers.iter().map(|c| c.1).collect();
    for round in 0..10 {
        for (k, acc) in &callers {
            let ixb = ix::rebalance(k.pubkey(), &w.long, *acc);
            refused!(&mut w, ixb, &[k], Program(ErrorCode::RebalanceNotNeeded), &extra).await;
        }
        // Small price wiggles below the threshold do not open it either.
        w.set_price((110 + round % 3) * USD).await;
    }
    let t = w.token_state(w.long).await;
    assert_eq!(
        (t.rebalance_count, t.total_keeper_rewards, t.schedule_anchor_slot, t.last_rebalance_price),
        (t0.rebalance_count, t0.total_keeper_rewards, t0.schedule_anchor_slot, t0.last_rebalance_price)
    );
    for acc in extra {
        assert_eq!(w.bank.balance(acc).await, 0);
    }
}

#[tokio::test]
async fn refused_rebalances_do_not_reset_the_time_trigger() {
    let (mut w, t0) = just_rebalanced().await;
    let rebalance_period_slots = t0.params.rebalance_period_slots;
    let b = kp(&w, Who::Bob);
    let mut elapsed = 0;
    while elapsed + rebalance_period_slots / 10 < rebalance_period_slots {
        w.warp(rebalance_period_slots / 10).await;
        elapsed += rebalance_period_slots / 10;
        refused!(&mut w, rebalance_ix(&w, w.long), &[&b], Program(ErrorCode::RebalanceNotNeeded), &[]).await;
        assert_eq!(w.token_state(w.long).await.schedule_anchor_slot, t0.schedule_anchor_slot, "after {elapsed} slots");
    }
    // The trigger counts from the last real rebalance: it opens exactly rebalance_period_slots after it.
    let now = w.bank.slot().await;
    w.warp(t0.schedule_anchor_slot + rebalance_period_slots - now - 1).await;
    refused!(&mut w, rebalance_ix(&w, w.long), &[&b], Program(ErrorCode::RebalanceNotNeeded), &[]).await;
    w.warp(1).await;
    let out = w.rebalance(Who::Bob, w.long).await;
    let ev = out.events::<Rebalanced>();
    out.unwrap();
    assert_eq!(ev[0].triggers, TRIGGER_TIME);
    assert_eq!(w.token_state(w.long).await.schedule_anchor_slot, t0.schedule_anchor_slot + rebalance_period_slots);
}

#[tokio::test]
async fn refused_rebalances_do_not_move_the_deviation_reference() {
    let mut w = world_with_positions().await;
    let t0 = w.token_state(w.long).await;
    let b = kp(&w, Who::Bob);
    // Creeping up 1 % at a time: each call is refused and the reference stays at $100,
    // so the gate opens at +10 % from $100 — not 10 % from the last refused call.
    for px in 101..110 {
        w.set_price(px * USD).await;
        refused!(&mut w, rebalance_ix(&w, w.long), &[&b], Program(ErrorCode::RebalanceNotNeeded), &[]).await;
        assert_eq!(w.token_state(w.long).await.last_rebalance_price, t0.last_rebalance_price);
    }
    w.set_price(110 * USD).await;
    w.rebalance(Who::Bob, w.long).await.unwrap();
}

#[tokio::test]
async fn a_chunked_rebalance_pays_one_episode_reward_in_all_and_trades_at_least_a_tenth_of_target_per_chunk() {
    let mut w = world_with_positions().await;
    let mut p = w.token_state(w.long).await.params;
    // A per-call cap of 1 USDC: the program trades at least 10 % of the target notional instead.
    p.max_notional_per_call = 1;
    w.change_token_params(w.long, p).await.expect_ok("apply");
    w.set_price(110 * USD).await;
    let b = kp(&w, Who::Bob);
    let mut calls = 0u64;
    let mut rewards = Vec::new();
    loop {
        let out = w.rebalance(Who::Bob, w.long).await;
        if out.custom_error() == Some(u32::from(ErrorCode::RebalanceNotNeeded)) {
            break;
        }
        let ev = out.events::<Rebalanced>();
        out.unwrap();
        rewards.push(ev[0].keeper_reward);
        calls += 1;
        assert!(calls <= 12, "chunks never end");
    }
    refused!(&mut w, rebalance_ix(&w, w.long), &[&b], Program(ErrorCode::RebalanceNotNeeded), &[]).await;
    let t = w.token_state(w.long).await;
    println!("{calls} chunks, rewards {rewards:?}");
    // ≈ 6,000 USDC to trade, chunks of ≥ 10 % of ≈ 33,000 target notional: a couple of calls.
    assert!((2..=3).contains(&calls), "{calls} chunks");
    // One episode: the rewards add up to exactly one keeper_reward (1 USDC), not one per call.
    assert_eq!(t.total_keeper_rewards, p.keeper_reward);
    assert_eq!(rewards.iter().sum::<u64>(), p.keeper_reward);
}

/// The issue's drain, measured: parameters that pass validation (band min =
/// max = target, a huge ripcord, a 1-unit per-call cap, a reward far above
/// the cap and the largest cap a daily period allows), 300 rebalance calls
/// within two slots. Before, each call was a capped chunk paying 1 % of
/// equity: 95 % of the token went to the caller. Now the rewards within the
/// period stop at the cap and the holder redeems what the book is worth.
#[tokio::test]
async fn three_hundred_rebalance_calls_in_one_period_pay_at_most_the_period_cap() {
    let mut w = World::new().await;
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    let p = TokenParams {
        band_min_bps: 30_000,
        band_max_bps: 30_000,
        ripcord_bps: 200_000,
        max_notional_per_call: 1,
        keeper_reward: 1_000_000 * USDC,
        keeper_reward_cap_bps: 100,
        rebalance_period_slots: 216_000,
        ..w.token_state(w.long).await.params
    };
    w.change_token_params(w.long, p).await.expect_ok("apply");
    let equity = w.bank.balance(w.long.vault).await - w.token_state(w.long).await.fees_owed;
    let t = w.token_state(w.long).await;
    let before = w.bank.balance(w.bob.collateral).await;
    w.set_price(101 * USD).await;
    let (mut ok, mut refused) = (0, 0);
    for i in 0..300 {
        if i == 150 {
            w.bank.warp(1).await;
            w.set_price(99 * USD).await;
        }
        let out = w.rebalance(Who::Bob, w.long).await;
        if out.result.is_ok() {
            ok += 1
        } else {
            refused += 1
        }
    }
    let paid = w.bank.balance(w.bob.collateral).await - before;
    // The cap counts on the equity at each call: at $101 the 3x long's is its
    // equity now plus the position's gain on the move (≈ 3 %; a little more,
    // as the delay's funding and borrow left it a little above 3x).
    let at = |usd: u128| leveraged_token::math::position::notional_floor(t.base, usd * USDC as u128 * 1_000_000_000_000).unwrap();
    let highest = (i128::from(equity) + at(101) - at(100)) as u128;
    let cap = highest * 100 / 10_000;
    println!("300 calls: {ok} landed, {refused} refused; rewards {paid} of {equity} equity (1 % of the highest equity: {cap})");
    assert!(u128::from(paid) <= cap, "rewards {paid} above the 1 % period cap {cap}");
    assert_eq!(w.token_state(w.long).await.total_keeper_rewards, paid);
    // The holder redeems her stake less the 3x long's 3 % on the 1 % fall to $99,
    // the rewards (≤ 1 %) and the mint, redeem and trade fees: before, 4,801 USDC.
    let shares = w.bank.balance(w.alice.long).await;
    let a0 = w.bank.balance(w.alice.collateral).await;
    w.redeem(Who::Alice, w.long, shares, 0).await.unwrap();
    let got = w.bank.balance(w.alice.collateral).await - a0;
    println!("the 100,000 USDC holder redeemed {got}");
    assert!(got > 95_000 * USDC, "holder got {got}");
}

// ───────────────────── missing signer, non-admin, stale admin ─────────────────────
// Covered elsewhere: a non-admin signer on every admin instruction
// (admin::every_admin_instruction_refuses_a_signer_other_than_the_admin,
// admin::only_the_admin_can_create_a_market, admin::only_the_admin_can_create_a_leveraged_token);
// the old admin on set_global_pause and propose_admin
// (admin::admin_transfer_takes_two_steps_and_the_old_admin_loses_every_right);
// a missing user signature on mint/redeem/deposit/withdraw (mint_redeem, liquidity).

/// The admin instructions that name an account, as key `k` sends them: the
/// pauses and parameter updates of the world's market and 3x long, and the
/// creation of a new market and a new 2x token; with the market and token
/// accounts those two would create.
async fn admin_instructions_on_accounts(w: &mut World, k: Pubkey) -> (Vec<Instruction>, [Pubkey; 2]) {
    let m = new_market_keys(w).await;
    let t = w.market.token(20_000);
    let ixs = vec![
        ix::set_market_pause(k, w.market.market, PAUSE_ALL, true),
        ix::set_token_pause(k, w.long.token, PAUSE_ALL, true),
        ix::propose_market_params(k, w.market.market, market_params()),
        ix::propose_token_params(k, w.long.token, token_params(LONG_3X)),
        ix::create_market(k, &m, OracleKind::PythLegacy, market_params(), None),
        ix::create_leveraged_token(k, &t, token_params(20_000)),
    ];
    (ixs, [m.market, t.token])
}

#[tokio::test]
async fn the_admin_key_without_its_signature_is_refused_by_every_admin_instruction() {
    let mut w = World::new().await;
    let a = w.admin.pubkey();
    let (on_accounts, absent) = admin_instructions_on_accounts(&mut w, a).await;
    let mut ixs = vec![ix::propose_admin(a, Pubkey::new_unique()), ix::set_global_pause(a, PAUSE_ALL, true)];
    ixs.extend(on_accounts);
    for i in ixs {
        refused_creating!(&mut w, unsign(i, a), &[], Anchor(AnchorError::AccountNotSigner), &absent).await;
    }
    // accept_admin: the pending admin's key without its signature.
    let admin = w.admin.insecure_clone();
    let next = w.bank.funded_keypair().await;
    w.bank.send(&[ix::propose_admin(a, next.pubkey())], &[&admin]).await.unwrap();
    refused!(&mut w, unsign(ix::accept_admin(next.pubkey()), next.pubkey()), &[], Anchor(AnchorError::AccountNotSigner), &[]).await;
}

#[tokio::test]
async fn rebalance_refuses_a_caller_without_a_signature() {
    let mut w = world_with_positions().await;
    w.set_price(110 * USD).await;
    let b = w.bob.key();
    refused!(&mut w, unsign(rebalance_ix(&w, w.long), b), &[], Anchor(AnchorError::AccountNotSigner), &[]).await;
}

#[tokio::test]
async fn the_old_admin_is_refused_by_every_remaining_admin_instruction_after_accept_admin() {
    let mut w = World::new().await;
    let old = w.admin.insecure_clone();
    let new = w.bank.funded_keypair().await;
    w.bank.send(&[ix::propose_admin(old.pubkey(), new.pubkey())], &[&old]).await.unwrap();
    w.bank.send(&[ix::accept_admin(new.pubkey())], &[&new]).await.unwrap();
    let o = old.pubkey();
    let (ixs, absent) = admin_instructions_on_accounts(&mut w, o).await;
    for i in ixs {
        refused_creating!(&mut w, i, &[&old], Program(ErrorCode::NotAdmin), &absent).await;
    }
    // accept_admin again by the old admin: nothing is pending.
    refused!(&mut w, ix::accept_admin(o), &[&old], Program(ErrorCode::NoPendingAdmin), &[]).await;
}

/// An execution and a cancel name their caller as a signer (it earns the
/// executor fee, or sends the cancel): without its signature both are refused
/// (AccountNotSigner), the request and its escrow unchanged.
#[tokio::test]
async fn execute_and_cancel_refuse_a_caller_without_a_signature() {
    let mut w = World::new().await;
    let (alice, bob) = (kp(&w, Who::Alice), kp(&w, Who::Bob));
    let long = w.long;
    let p = open(&mut w, &alice, RequestKind::Mint, Some(long), 1_000 * USDC, 0).await;
    at_price_time(&mut w, &p).await;
    refused!(&mut w, unsign(p.execute_ix(&w, bob.pubkey()), bob.pubkey()), &[], Anchor(AnchorError::AccountNotSigner), &p.accounts()).await;
    to_expiry(&mut w, &p, 1).await;
    refused!(&mut w, unsign(p.cancel_ix(&w, bob.pubkey()), bob.pubkey()), &[], Anchor(AnchorError::AccountNotSigner), &p.accounts()).await;
    w.bank.send(&[p.cancel_ix(&w, bob.pubkey())], &[&bob]).await.unwrap();
}

// ───────────────────── the request lifecycle ─────────────────────

/// Alice's and Bob's mint requests at one price time; Mallory executes
/// Alice's with someone else's accounts in each place the request names —
/// Bob as the owner (the rent would go to him), Bob's or Mallory's share
/// account as the destination, Bob's collateral account as the refund
/// account, Bob's escrow, Bob's request with Alice's accounts, all of Bob's
/// accounts, Alice's request executed as a redeem, as a deposit or on the 1x
/// short: each refused (WrongRequest), every world account, both requests,
/// their escrows and Mallory's accounts unchanged. Then Mallory executes it
/// honestly: Alice gets the shares and the rent back, Mallory exactly the
/// executor fee.
#[tokio::test]
async fn a_request_executed_with_another_owners_accounts_is_refused() {
    let mut w = World::new().await;
    let (alice, bob) = (kp(&w, Who::Alice), kp(&w, Who::Bob));
    let mallory = w.bank.funded_keypair().await;
    let mallory_shares = w.bank.create_ata(mallory.pubkey(), w.long.share_mint).await;
    let (long, short) = (w.long, w.short);
    let pa = open(&mut w, &alice, RequestKind::Mint, Some(long), 1_000 * USDC, 0).await;
    let pb = open(&mut w, &bob, RequestKind::Mint, Some(long), 2_000 * USDC, 0).await;
    at_price_time(&mut w, &pa).await;
    let (ka, kb) = (pa.keys, pb.keys);
    let m = mallory.pubkey();
    let honest = pa.execute_ix(&w, m);
    let swapped = |swaps: &[(Pubkey, Pubkey)]| swaps.iter().fold(honest.clone(), |ix, (a, b)| swap_account(ix, *a, *b));
    // The same request and its own token accounts under another instruction or token.
    let temp = Pubkey::new_unique();
    let mut as_other: Vec<(&str, Instruction)> = vec![];
    let redeem = ix::execute(m, RequestKind::Redeem, alice.pubkey(), pa.nonce, &w.market, Some(&long), w.market.oracle, &w.deployment.tokens);
    // execute_redeem names the collateral account as the destination and the shares as the refund account: give it the mint's.
    as_other.push(("as a redeem", [(ka.source, temp), (ka.destination, ka.source), (temp, ka.destination)].iter().fold(redeem, |ix, (a, b)| swap_account(ix, *a, *b))));
    let deposit = ix::execute(m, RequestKind::Deposit, alice.pubkey(), pa.nonce, &w.market, None, w.market.oracle, &w.deployment.tokens);
    as_other.push(("as a deposit", swap_account(deposit, pda::associated_token(&alice.pubkey(), &w.market.lp_mint), ka.destination)));
    let on_short = ix::execute(m, RequestKind::Mint, alice.pubkey(), pa.nonce, &w.market, Some(&short), w.market.oracle, &w.deployment.tokens);
    as_other.push(("on the 1x short", swap_account(on_short, pda::associated_token(&alice.pubkey(), &short.share_mint), ka.destination)));
    let attacks: Vec<(&str, Instruction)> = [
        ("Bob as the owner", swapped(&[(alice.pubkey(), bob.pubkey())])),
        ("Bob's share account as the destination", swapped(&[(ka.destination, kb.destination)])),
        ("Mallory's share account as the destination", swapped(&[(ka.destination, mallory_shares)])),
        ("Bob's collateral account as the refund account", swapped(&[(ka.source, kb.source)])),
        ("Bob's escrow", swapped(&[(ka.escrow, kb.escrow)])),
        ("Bob's request with Alice's accounts", swapped(&[(ka.request, kb.request)])),
        ("Alice's request with all of Bob's accounts", swapped(&[(alice.pubkey(), bob.pubkey()), (ka.destination, kb.destination), (ka.source, kb.source), (ka.escrow, kb.escrow)])),
    ]
    .into_iter()
    .chain(as_other)
    .collect();
    let watch = [pa.accounts(), pb.accounts(), [m, mallory_shares]].concat();
    for (what, ixa) in attacks {
        println!("Alice's request executed with {what}");
        refused!(&mut w, ixa, &[&mallory], Program(ErrorCode::WrongRequest), &watch).await;
    }
    let fee = executor_fee(&mut w).await;
    let (wallet_a, wallet_m) = (lamports(&mut w.bank, alice.pubkey()).await, lamports(&mut w.bank, m).await);
    let (rent_request, rent_escrow) = (lamports(&mut w.bank, ka.request).await - fee, lamports(&mut w.bank, ka.escrow).await);
    let out = w.bank.send(&[honest], &[&mallory]).await;
    let minted = out.events::<Minted>();
    out.unwrap();
    assert_eq!((minted.len(), minted[0].user, minted[0].request), (1, alice.pubkey(), ka.request));
    assert_eq!(w.bank.balance(w.alice.long).await, minted[0].shares_out);
    assert_eq!(lamports(&mut w.bank, m).await, wallet_m + fee, "the executor earns exactly the fee");
    assert_eq!(lamports(&mut w.bank, alice.pubkey()).await, wallet_a + rent_request + rent_escrow, "the owner gets both rents back");
    assert!(pa.closed(&mut w.bank).await);
    assert_eq!(w.bank.balance(kb.escrow).await, 2_000 * USDC, "Bob's request is untouched");
    println!("executed honestly: Alice got {} shares and {} lamports of rent back, Mallory {fee} lamports", minted[0].shares_out, rent_request + rent_escrow);
}

const KINDS: [RequestKind; 4] = [RequestKind::Mint, RequestKind::Redeem, RequestKind::Deposit, RequestKind::Withdraw];

/// In a world with positions, a request of `kind`: Alice mints or deposits
/// 1,000 USDC or redeems a tenth of her 3x long; the LP withdraws 1,000 LP.
async fn open_one(w: &mut World, kind: RequestKind) -> Pending {
    let (alice, lp) = (kp(w, Who::Alice), kp(w, Who::Lp));
    let shares = w.bank.balance(w.alice.long).await;
    let long = w.long;
    match kind {
        RequestKind::Mint => open(w, &alice, kind, Some(long), 1_000 * USDC, 0).await,
        RequestKind::Redeem => open(w, &alice, kind, Some(long), shares / 10, 0).await,
        RequestKind::Deposit => open(w, &alice, kind, None, 1_000 * USDC, 0).await,
        RequestKind::Withdraw => open(w, &lp, kind, None, 1_000 * USDC, 0).await,
    }
}

/// An executed request is closed: the same execution sent again, with the
/// update for its price time still on the oracle, is refused by Anchor
/// (AccountNotInitialized) and changes nothing, for every kind.
#[tokio::test]
async fn replaying_an_executed_request_is_refused_its_account_is_closed() {
    let mut w = world_with_positions().await;
    let bob = kp(&w, Who::Bob);
    for kind in KINDS {
        let p = open_one(&mut w, kind).await;
        at_price_time(&mut w, &p).await;
        let ixe = p.execute_ix(&w, bob.pubkey());
        w.bank.send(std::slice::from_ref(&ixe), &[&bob]).await.expect_ok("the execution");
        assert!(p.closed(&mut w.bank).await);
        println!("{} executed, then replayed:", p.kind.name());
        refused!(&mut w, ixe, &[&bob], Anchor(AnchorError::AccountNotInitialized), &p.accounts()).await;
    }
}

/// A cancelled request is closed too: executing it (at its price time's
/// update) is refused (AccountNotInitialized), and so is a second cancel.
#[tokio::test]
async fn executing_or_cancelling_a_cancelled_request_is_refused() {
    let mut w = world_with_positions().await;
    let bob = kp(&w, Who::Bob);
    for kind in KINDS {
        let p = open_one(&mut w, kind).await;
        at_price_time(&mut w, &p).await;
        to_expiry(&mut w, &p, 1).await;
        w.bank.send(&[p.cancel_ix(&w, bob.pubkey())], &[&bob]).await.expect_ok("cancel");
        assert!(p.closed(&mut w.bank).await);
        println!("{} cancelled, then executed and cancelled again:", p.kind.name());
        refused!(&mut w, p.execute_ix(&w, bob.pubkey()), &[&bob], Anchor(AnchorError::AccountNotInitialized), &p.accounts()).await;
        refused!(&mut w, p.cancel_ix(&w, bob.pubkey()), &[&bob], Anchor(AnchorError::AccountNotInitialized), &p.accounts()).await;
    }
}

/// Two requests of each kind made together expire together: at `expires_at`
/// the first still executes; one second later the second is refused
/// (RequestExpired) with every balance unchanged, though the update for its
/// price time is on the oracle. Only a cancel closes it then.
#[tokio::test]
async fn executing_after_expiry_is_refused() {
    let mut w = world_with_positions().await;
    let bob = kp(&w, Who::Bob);
    for kind in KINDS {
        let (p, q) = (&open_one(&mut w, kind).await, &open_one(&mut w, kind).await);
        let r = p.state(&mut w.bank).await;
        assert_eq!(r.expires_at, q.state(&mut w.bank).await.expires_at);
        at_price_time(&mut w, p).await;
        to_expiry(&mut w, p, 0).await;
        w.bank.send(&[p.execute_ix(&w, bob.pubkey())], &[&bob]).await.expect_ok("at expires_at");
        w.bank.advance_time(1).await;
        println!("{} at expires_at + 1 s ({}):", p.kind.name(), r.expires_at + 1);
        refused!(&mut w, q.execute_ix(&w, bob.pubkey()), &[&bob], Program(ErrorCode::RequestExpired), &q.accounts()).await;
        w.bank.send(&[q.cancel_ix(&w, bob.pubkey())], &[&bob]).await.expect_ok("cancel");
    }
}

/// Before its expiry a request can only be executed — its owner cannot take
/// it back after seeing the price — so a cancel is refused
/// (RequestNotExpired) by the owner or a stranger, right after the request,
/// at its price time and at `expires_at` itself; one second later a stranger
/// cancels it.
#[tokio::test]
async fn cancelling_before_expiry_is_refused() {
    let mut w = world_with_positions().await;
    let bob = kp(&w, Who::Bob);
    for kind in KINDS {
        let p = open_one(&mut w, kind).await;
        let owner = if p.kind == RequestKind::Withdraw { kp(&w, Who::Lp) } else { kp(&w, Who::Alice) };
        let r = p.state(&mut w.bank).await;
        for moment in ["at once", "at the price time", "at expires_at"] {
            match moment {
                "at once" => {}
                "at the price time" => at_price_time(&mut w, &p).await,
                _ => to_expiry(&mut w, &p, 0).await,
            }
            println!("{} cancelled {moment} (expires at {}):", p.kind.name(), r.expires_at);
            for caller in [&owner, &bob] {
                refused!(&mut w, p.cancel_ix(&w, caller.pubkey()), &[caller], Program(ErrorCode::RequestNotExpired), &p.accounts()).await;
            }
        }
        w.bank.advance_time(1).await;
        w.bank.send(&[p.cancel_ix(&w, bob.pubkey())], &[&bob]).await.expect_ok("cancel after expiry");
        assert!(p.closed(&mut w.bank).await);
    }
}

/// An expired request of each kind, cancelled by a stranger, returns
/// everything to its owner: the escrow to the account it came from, the
/// executor fee and the rent of the request and escrow to its wallet — every
/// world account (the owner's wallet and token accounts included) is
/// byte-for-byte what it was before the request, and the stranger earns and
/// pays nothing. A cancel naming another account to refund to, or another
/// owner, is refused (WrongRequest).
#[tokio::test]
async fn an_expired_request_cancelled_refunds_exactly() {
    let mut w = world_with_positions().await;
    let stranger = w.bank.funded_keypair().await;
    let (alice, lp, bob) = (kp(&w, Who::Alice), kp(&w, Who::Lp), kp(&w, Who::Bob));
    let shares = w.bank.balance(w.alice.long).await;
    let long = w.long;
    let fee = executor_fee(&mut w).await;
    let rent = w.bank.ctx.banks_client.get_rent().await.unwrap();
    for (owner, kind, t, amount) in [
        (&alice, RequestKind::Mint, Some(long), 1_000 * USDC),
        (&alice, RequestKind::Redeem, Some(long), shares / 10),
        (&alice, RequestKind::Deposit, None, 1_000 * USDC),
        (&lp, RequestKind::Withdraw, None, 1_000 * USDC),
    ] {
        let before = w.snapshot().await;
        let wallet = lamports(&mut w.bank, owner.pubkey()).await;
        let stranger_before = lamports(&mut w.bank, stranger.pubkey()).await;
        let p = open(&mut w, owner, kind, t, amount, 0).await;
        let source = w.bank.balance(p.keys.source).await;
        let (held_request, held_escrow) = (lamports(&mut w.bank, p.keys.request).await, lamports(&mut w.bank, p.keys.escrow).await);
        assert_eq!(held_request, rent.minimum_balance(REQUEST_SPACE) + fee);
        assert_eq!(held_escrow, rent.minimum_balance(<spl_token::state::Account as anchor_lang::solana_program::program_pack::Pack>::LEN));
        assert_eq!(lamports(&mut w.bank, owner.pubkey()).await, wallet - held_request - held_escrow, "the owner paid the rents and the fee");
        assert_eq!((w.bank.balance(p.keys.escrow).await, p.state(&mut w.bank).await.amount), (amount, amount));
        to_expiry(&mut w, &p, 1).await;
        // The refund goes where the request says, to no one else.
        let bobs = RequestKeys::of(kind, bob.pubkey(), 0, &w.market, t.map(|t| t.share_mint));
        for (real, fake) in [(p.keys.source, bobs.source), (owner.pubkey(), bob.pubkey())] {
            refused!(&mut w, swap_account(p.cancel_ix(&w, stranger.pubkey()), real, fake), &[&stranger], Program(ErrorCode::WrongRequest), &p.accounts()).await;
        }
        let out = w.bank.send(&[p.cancel_ix(&w, stranger.pubkey())], &[&stranger]).await;
        let ev = out.events::<RequestCancelled>();
        out.unwrap();
        assert_eq!((ev.len(), ev[0].amount, ev[0].kind, ev[0].owner), (1, amount, kind, owner.pubkey()));
        assert!(p.closed(&mut w.bank).await);
        w.assert_unchanged(&before).await;
        assert_eq!(lamports(&mut w.bank, owner.pubkey()).await, wallet, "every lamport back");
        assert_eq!(w.bank.balance(p.keys.source).await, source + amount, "the escrow back whole");
        assert_eq!(lamports(&mut w.bank, stranger.pubkey()).await, stranger_before, "the stranger earns nothing");
        println!(
            "{} of {amount} cancelled after expiry: {amount} back to the owner's account, {} lamports (request rent {}, escrow rent {held_escrow}, executor fee {fee}) back to its wallet",
            kind.name(),
            held_request + held_escrow,
            held_request - fee
        );
    }
}

// ───────────────────── one-transaction attacks under the request flow ─────────────────────

/// A flash pattern needs a flow's request and execution in one transaction.
/// The execution prices at the update for the request's price time, which
/// is in the future when the request lands: each kind's request and
/// execution (the owner executing, with the oracle's current update) fail
/// together (OracleNotAtTarget), and nothing is created or changed.
#[tokio::test]
async fn a_request_and_its_execution_in_one_transaction_are_refused_together() {
    let mut w = world_with_positions().await;
    let (alice, lp) = (kp(&w, Who::Alice), kp(&w, Who::Lp));
    let shares = w.bank.balance(w.alice.long).await;
    let long = w.long;
    for (owner, kind, t, amount) in [
        (&alice, RequestKind::Mint, Some(long), 1_000 * USDC),
        (&alice, RequestKind::Redeem, Some(long), shares / 10),
        (&alice, RequestKind::Deposit, None, 1_000 * USDC),
        (&lp, RequestKind::Withdraw, None, 1_000 * USDC),
    ] {
        let nonce = next_nonce();
        let p = Pending::new(&w, kind, owner.pubkey(), nonce, t);
        let ixs = [request_ix(&w, kind, owner.pubkey(), t, nonce, amount, 0), p.execute_ix(&w, owner.pubkey())];
        let before = w.snapshot().await;
        let out = w.bank.send(&ixs, &[owner]).await;
        assert_eq!(out.result, Err(TransactionError::InstructionError(2, InstructionError::Custom(u32::from(ErrorCode::OracleNotAtTarget)))), "{}", out.logs.join("\n"));
        w.assert_unchanged(&before).await;
        assert!(p.closed(&mut w.bank).await, "no request or escrow created");
        println!("{} requested and executed in one transaction: refused (OracleNotAtTarget)", kind.name());
    }
}

/// The LP sandwich around a large mint, at the attacker's best: Mallory
/// requests a 1,000,000 USDC deposit in the slot of Bob's 90,000 USDC mint
/// of the 3x long (one price time), executes her deposit first and then
/// Bob's mint, and requests her withdrawal at once; it prices at the
/// update an hour later (the cooldown), here at an unchanged price. In one
/// transaction she would have taken half of the mint's trade fee free; now
/// she pays the 10 bps LP fee twice and loses.
#[tokio::test]
async fn an_lp_sandwich_around_a_large_mint_loses_the_two_lp_fees() {
    let mut w = World::new().await;
    let mallory = w.new_user(1_000_000 * USDC).await;
    let bob = kp(&w, Who::Bob);
    let long = w.long;
    let deposit = open(&mut w, &mallory.kp, RequestKind::Deposit, None, 1_000_000 * USDC, 0).await;
    let mint = open(&mut w, &bob, RequestKind::Mint, Some(long), 90_000 * USDC, 0).await;
    at_price_time(&mut w, &deposit).await;
    let m = mallory.key();
    let out = w.bank.send(&[deposit.execute_ix(&w, m)], &[&mallory.kp]).await;
    let dep = out.events::<LiquidityDeposited>();
    out.unwrap();
    let out = w.bank.send(&[mint.execute_ix(&w, m)], &[&mallory.kp]).await;
    let minted = out.events::<Minted>();
    out.unwrap();
    let lp = w.bank.balance(mallory.lp).await;
    let share = lp as f64 / w.bank.supply(w.market.lp_mint).await as f64;
    let withdraw = open(&mut w, &mallory.kp, RequestKind::Withdraw, None, lp, 0).await;
    w.publish().await;
    let out = w.deployment.execute_at(&mut w.bank, m, withdraw.nonce, None).await;
    let wd = out.events::<LiquidityWithdrawn>();
    out.unwrap();
    let back = w.bank.balance(mallory.collateral).await;
    let pnl = back as i128 - 1_000_000 * USDC as i128;
    let fee_share = minted[0].trade_fee as f64 * share;
    let lp_fees = dep[0].lp_fee + wd[0].lp_fee;
    println!(
        "LP sandwich: share of the pool {:.1} %, of Bob's {:.2} USDC trade fee {:.2} USDC; LP fees {:.2} USDC; result {:.2} USDC",
        share * 100.0,
        minted[0].trade_fee as f64 / 1e6,
        fee_share / 1e6,
        lp_fees as f64 / 1e6,
        pnl as f64 / 1e6
    );
    assert!(pnl < 0, "the sandwich made {pnl}");
    assert!(lp_fees as f64 > 10.0 * fee_share, "the LP fees dwarf the trade fee share");
    // At best she recoups her share of her own deposit fee (it stays in the pool she
    // owns half of) and of the trade fee; the withdrawal fee stays with the LPs who remain.
    assert!(pnl <= -(wd[0].lp_fee as i128) + minted[0].trade_fee as i128, "lost {pnl}, withdrawal fee {}", wd[0].lp_fee);
    println!("in one transaction (before the request flow) the same sandwich took {:.2} USDC, no fee paid", fee_share / 1e6);
}

// ───────────────────── arithmetic at extremes ─────────────────────

/// Mint, redeem and deposit requests executed at extreme oracle prices and
/// exponents, and a rebalance there, either succeed (a fill or a refund) with
/// every unit of collateral still accounted for, or are refused with one of
/// the program's named errors and nothing changed — never a panic, never an
/// unnamed failure. A request whose execution was refused is cancelled after
/// its expiry and its escrow comes back whole.
#[tokio::test]
async fn extreme_oracle_prices_are_priced_or_refused_by_name_never_panic() {
    let mut w = world_with_positions().await;
    let supply = w.bank.supply(w.collateral).await;
    let holders = [w.alice.collateral, w.bob.collateral, w.lp.collateral, w.long.vault, w.short.vault, w.market.pool_vault, w.market.insurance_vault, w.treasury_collateral];
    let (a, b) = (kp(&w, Who::Alice), kp(&w, Who::Bob));
    let cases: [(i64, u64, i32); 8] = [(1, 0, EXPO), (i64::MAX, 0, EXPO), (i64::MAX, 0, 0), (1, 0, -18), (1, 0, -30), (i64::MAX, 0, 12), (100 * USD, u64::MAX, EXPO), (100 * USD, 0, i32::MIN)];
    let (mut named, mut filled, mut refunds) = (0, 0, 0);
    let mut escrows = vec![];
    let mut stuck = vec![];
    let (long, short) = (w.long, w.short);
    for (price, conf, expo) in cases {
        w.bank.warp(1).await;
        w.publish().await;
        let shares = w.bank.balance(w.alice.long).await;
        let reqs = [
            open(&mut w, &a, RequestKind::Mint, Some(long), 1_000 * USDC, 0).await,
            open(&mut w, &a, RequestKind::Redeem, Some(long), shares / 10, 0).await,
            open(&mut w, &a, RequestKind::Deposit, None, 1_000 * USDC, 0).await,
        ];
        escrows.extend([reqs[0].keys.escrow, reqs[2].keys.escrow]);
        // Their price time's update is the extreme one (published now, so a rebalance reads it fresh).
        let target = reqs[0].state(&mut w.bank).await.target;
        w.bank.reach(OracleKind::PythLegacy, target).await;
        w.bank.set_account(w.market.oracle, 1_000_000_000, legacy_price_account(price, conf, expo, target as u64, PriceStatus::Trading), PYTH_LEGACY_DEVNET);
        let mut actions = vec![(rebalance_ix(&w, short), None)];
        actions.extend(reqs.iter().map(|p| (p.execute_ix(&w, b.pubkey()), Some(*p))));
        for (ixx, p) in actions {
            let watch: Vec<Pubkey> = p.map(|p| p.accounts().to_vec()).unwrap_or_default();
            let before = w.snapshot().await;
            let before_watch = w.bank.snapshot(&watch).await;
            let out = w.bank.send(&[ixx], &[&b]).await;
            if out.result.is_err() {
                let code = out.custom_error().unwrap_or_else(|| panic!("price {price} expo {expo}: unnamed failure {:?}\n{}", out.result, out.logs.join("\n")));
                assert!(leveraged_token_sdk::errors::program_error(code).is_some(), "price {price} expo {expo}: not a program error: {code}\n{}", out.logs.join("\n"));
                w.assert_unchanged(&before).await;
                assert_eq!(w.bank.snapshot(&watch).await, before_watch);
                named += 1;
                stuck.extend(p);
            } else if !out.events::<RequestRefunded>().is_empty() {
                refunds += 1;
            } else {
                filled += 1;
            }
            let mut sum = 0;
            for h in holders.iter().chain(&escrows) {
                sum += balance_or_zero(&mut w.bank, *h).await;
            }
            assert_eq!(sum, supply, "price {price} expo {expo}: collateral left the known accounts");
        }
    }
    // The requests whose execution was refused: cancelled after expiry, each escrow back whole.
    let cancelled = stuck.len();
    for p in stuck {
        to_expiry(&mut w, &p, 1).await;
        let escrow = w.bank.balance(p.keys.escrow).await;
        let source = w.bank.balance(p.keys.source).await;
        w.bank.send(&[p.cancel_ix(&w, b.pubkey())], &[&b]).await.expect_ok("cancel");
        assert_eq!(w.bank.balance(p.keys.source).await, source + escrow);
    }
    let mut sum = 0;
    for h in holders {
        sum += w.bank.balance(h).await;
    }
    assert_eq!(sum, supply, "collateral left the known accounts");
    println!("extreme prices: {filled} filled, {refunds} refunded, {named} refused by name ({cancelled} requests cancelled after expiry, escrows back whole)");
}

// ───────────────────── findings (failing tests, ignored so CI stays green) ─────────────────────
// Run them with `cargo test -p leveraged-token-tests --test attacks -- --ignored`.

/// FINDING F2 (pool insolvency, holders lose the profit twice): when the pool
/// holds less than a token's profit, `settle` pays what the pool has but still
/// re-marks the position's cost to the full current value, so the unpaid part
/// is forfeited *and*, if the price comes back, the token pays the full move
/// back to the pool as if it had been paid. Here a 3x long doubles, a 1-share
/// redeem settles it against a pool that can pay ≈ 1.0 M of the ≈ 1.8 M owed,
/// and when the price returns to where it started the token is wiped: the
/// holder's 600,000 USDC go to the LPs although the price round-tripped.
#[tokio::test]
async fn profit_the_pool_cannot_pay_stays_unrealised_and_a_round_trip_returns_the_deposit() {
    let mut w = World::new().await;
    // 1.8 M of net notional on a 1 M pool: past the caps on the net book, which would refund the mint.
    w.lift_caps().await;
    let whale = w.new_user(600_000 * USDC).await;
    let long = w.long;
    mint_as(&mut w, &whale.kp, long, 600_000 * USDC, 0).await.unwrap();
    let shares = w.bank.balance(whale.long).await;
    // Price doubles: the long is owed ≈ 1.8 M, the pool holds ≈ 1.0 M.
    w.set_price(200 * USD).await;
    redeem_as(&mut w, &whale.kp, long, 1, 0).await.unwrap();
    let pool_at_top = w.bank.balance(w.market.pool_vault).await;
    let t = w.token_state(w.long).await;
    println!("at $200: pool vault {pool_at_top}, token vault {}, cost re-marked to {}", w.bank.balance(w.long.vault).await, t.cost);
    assert!(pool_at_top < USDC, "the pool paid all it had");
    // The price comes back to $100.
    w.set_price(100 * USD).await;
    redeem_as(&mut w, &whale.kp, long, shares - 1, 0).await.unwrap();
    let back = w.bank.balance(whale.collateral).await;
    println!("price 100 → 200 → 100: the holder of 600,000 USDC got back {back}; token status {:?}", w.token_state(w.long).await.status);
    // What we want: the unpaid profit stays unrealised (cost += what was paid), so the
    // round trip returns the deposit less fees (≈ 0.7 %).
    assert!(back >= 590_000 * USDC, "holder got back {back} of 600,000 USDC");
}

/// FINDING F3 (fixed): LPs exited ahead of bad debt. The pool value counted
/// every trader's unrealised loss as the pool's gain, even the part beyond
/// the token's vault that the pool would never collect: after a −40 % print
/// an LP whose withdrawal priced before the keeper landed the wipe was paid
/// on that phantom gain, and the bad debt fell on the LPs who stayed. Now
/// the pool values each token's debt at most at what its vault can pay
/// (`math::pool::pool_value`), so Carol, exiting before a late keeper, is
/// paid net of the bad debt she leaves: per LP share what the LP who stays
/// gets (Carol and the first LP hold about the same LP amount).
#[tokio::test]
async fn an_lp_exiting_before_a_wipe_is_paid_net_of_the_bad_debt_it_leaves() {
    let mut w = World::new().await;
    let carol = w.new_user(1_000_000 * USDC).await;
    flow(&mut w, &carol.kp, RequestKind::Deposit, None, 1_000_000 * USDC, 0).await.unwrap();
    let (carol_lp, first_lp) = (w.bank.balance(carol.lp).await, w.bank.balance(w.lp.lp).await);
    assert!(carol_lp.abs_diff(first_lp) * 500 <= first_lp, "about the same LP amounts: {carol_lp}, {first_lp}");
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    // −40 %: the 3x long loses ≈ 120 k against ≈ 99.75 k of equity.
    w.set_price(60 * USD).await;
    flow(&mut w, &carol.kp, RequestKind::Withdraw, None, carol_lp, 0).await.unwrap();
    let carol_out = w.bank.balance(carol.collateral).await;
    w.publish().await;
    let out = w.rebalance(Who::Bob, w.long).await;
    let wiped = out.events::<leveraged_token::events::TokenWiped>();
    out.unwrap();
    assert_eq!(wiped.len(), 1);
    let l = w.lp.kp.insecure_clone();
    flow(&mut w, &l, RequestKind::Withdraw, None, first_lp, 0).await.unwrap();
    let lp_out = w.bank.balance(w.lp.collateral).await;
    // Per LP share, scaled to the first LP's amount.
    let carol_scaled = (u128::from(carol_out) * u128::from(first_lp) / u128::from(carol_lp)) as u64;
    println!("bad debt {}; Carol (exited before the wipe) got {carol_out} ({carol_scaled} for the first LP's amount), the LP who stayed got {lp_out}", wiped[0].bad_debt);
    // Equal LP balances are paid the same within the confidence haircut (and
    // Carol's 10 bps LP fee, which stays with the LP who stays).
    assert!(carol_scaled <= lp_out + 100 * USDC, "Carol {carol_scaled} got ahead of the LP {lp_out}");
    assert!(carol_scaled.abs_diff(lp_out) <= 1_100 * USDC, "Carol {carol_scaled}, LP {lp_out}");
}

/// What the withdrawal cooldown buys against F3: the same −40 % print and
/// Carol's withdrawal request at once, but the keeper lands the wipe within
/// the hour her withdrawal waits. It then prices after the wipe, at the pool
/// value net of the bad debt: per LP share she gets no more than the LP who
/// stayed (who also keeps her 10 bps withdrawal fee).
#[tokio::test]
async fn an_lp_asking_to_exit_after_a_crash_shares_the_bad_debt_when_the_keeper_wipes_within_the_cooldown() {
    let mut w = World::new().await;
    let carol = w.new_user(1_000_000 * USDC).await;
    flow(&mut w, &carol.kp, RequestKind::Deposit, None, 1_000_000 * USDC, 0).await.unwrap();
    let (carol_lp, first_lp) = (w.bank.balance(carol.lp).await, w.bank.balance(w.lp.lp).await);
    w.mint(Who::Alice, w.long, 100_000 * USDC, 0).await.unwrap();
    w.set_price(60 * USD).await;
    let exit = open(&mut w, &carol.kp, RequestKind::Withdraw, None, carol_lp, 0).await;
    let out = w.rebalance(Who::Bob, w.long).await;
    let wiped = out.events::<leveraged_token::events::TokenWiped>();
    out.unwrap();
    assert_eq!(wiped.len(), 1, "the keeper wipes at the fresh price");
    let out = w.deployment.execute_at(&mut w.bank, carol.key(), exit.nonce, None).await;
    let wd = out.events::<LiquidityWithdrawn>();
    out.unwrap();
    let carol_out = w.bank.balance(carol.collateral).await;
    let l = w.lp.kp.insecure_clone();
    flow(&mut w, &l, RequestKind::Withdraw, None, first_lp, 0).await.unwrap();
    let lp_out = w.bank.balance(w.lp.collateral).await;
    let carol_scaled = (u128::from(carol_out) * u128::from(first_lp) / u128::from(carol_lp)) as u64;
    println!("bad debt {}; Carol (asked before the wipe, priced after it) got {carol_out} ({carol_scaled} for the first LP's amount), the LP who stayed got {lp_out}", wiped[0].bad_debt);
    assert!(carol_scaled <= lp_out, "Carol {carol_scaled} got ahead of the LP {lp_out}");
    assert!(lp_out - carol_scaled <= wd[0].lp_fee + 100 * USDC, "Carol {carol_scaled}, LP {lp_out}, her fee {}", wd[0].lp_fee);
}

/// A world whose 1x short the ripcord closed at a price leaving a few
/// hundred units of equity on ≈ 1e10 shares: a share is worth ≈ 1e-10 USDC,
/// so 1 USDC buys ≈ 1e13 shares. 2,000,000 USDC more of liquidity keep the
/// caps on the net book out of the way.
async fn near_zero_nav_short() -> World {
    use leveraged_token::math::position::notional_floor;
    let mut w = World::new().await;
    // More liquidity so the caps on the net book are not what refunds the mints below.
    let lp2 = w.new_user(2_000_000 * USDC).await;
    flow(&mut w, &lp2.kp, RequestKind::Deposit, None, 2_000_000 * USDC, 0).await.unwrap();
    w.mint(Who::Alice, w.short, 10_000 * USDC, 0).await.unwrap();
    // Find the price at which the 1x short keeps a few hundred units of equity.
    let t = w.token_state(w.short).await;
    let e0 = i128::from(w.bank.balance(w.short.vault).await - t.fees_owed);
    let equity_at = |price_1e8: i64| e0 + notional_floor(t.base, price_1e8 as u128 * 10_000_000_000).unwrap() - t.cost;
    let mut price = 200 * USD;
    while equity_at(price) < 300 {
        price -= 1;
    }
    println!("short equity {} units at {price}", equity_at(price));
    w.set_price(price).await;
    // The ripcord fires; the trade fee takes the dust equity and the position closes.
    w.rebalance(Who::Bob, w.short).await.unwrap();
    let t = w.token_state(w.short).await;
    let supply = w.bank.supply(w.short.share_mint).await;
    println!("after the rebalance: base {}, equity {}, supply {supply}", t.base, w.bank.balance(w.short.vault).await - t.fees_owed);
    w
}

/// FINDING F4 (fixed): `quote_mint` checks that `shares_out` fits a u64 but
/// did not check `supply + shares_out`; when a token's NAV per share is tiny
/// the share MintTo overflowed inside SPL Token ("Operation overflowed",
/// custom 0xe) instead of being handled by the program. Now the execution is
/// refunded by name (SupplyOverflow): the escrow comes back whole and nothing
/// else moves (found by the fuzzer: seed 11, op 12,986).
#[tokio::test]
async fn a_mint_that_would_overflow_the_share_supply_is_refused_by_the_program() {
    let mut w = near_zero_nav_short().await;
    // A whale buys in at that NAV: ≈ 1e19 shares.
    let whale = w.new_user(2_000_000 * USDC).await;
    let short = w.short;
    let out = mint_as(&mut w, &whale.kp, short, 1_000_000 * USDC, 0).await;
    assert_eq!(out.events::<Minted>().len(), 1, "the first whale mint fills");
    let supply = w.bank.supply(w.short.share_mint).await;
    println!("supply after the first mint: {supply} (u64::MAX = {})", u64::MAX);
    // A second mint whose shares fit a u64 on their own but not on top of the supply.
    let ev = refunded(&mut w, &whale.kp, RequestKind::Mint, Some(short), 900_000 * USDC, 0, RefundReason::SupplyOverflow).await;
    assert!(ev.price > 0, "priced, then refunded");
    assert_eq!(w.bank.supply(w.short.share_mint).await, supply);
}

/// Finding F7 (fixed; F4's residue): a fill past u64 shares refunds
/// (SupplyOverflow) when the supply plus the shares would overflow (F4
/// above), and — since the fix — also when the quote's shares alone do not
/// fit a u64 (it failed the execution with MathOverflow: nothing moved, but no
/// executor could close the request until its expiry). Found by the fuzzer
/// (FUZZ_SEED=4245, op 3,773, 12 such executions in that segment). Here a
/// 2,000,000 USDC first mint into the near-zero-NAV short quotes ≈ 2e19 shares.
#[tokio::test]
async fn finding_a_mint_whose_shares_alone_exceed_u64_is_refunded_not_left_unexecutable() {
    let mut w = near_zero_nav_short().await;
    let whale = w.new_user(3_000_000 * USDC).await;
    let short = w.short;
    let p = open(&mut w, &whale.kp, RequestKind::Mint, Some(short), 2_000_000 * USDC, 0).await;
    at_price_time(&mut w, &p).await;
    let before = w.snapshot().await;
    let watch = [p.accounts().to_vec(), vec![whale.collateral, whale.short]].concat();
    let before_watch = w.bank.snapshot(&watch).await;
    let b = kp(&w, Who::Bob);
    let out = w.bank.send(&[p.execute_ix(&w, b.pubkey())], &[&b]).await;
    let refund = out.events::<RequestRefunded>();
    println!("{:?}: {}", out.result, out.logs.iter().filter(|l| l.contains("math error") || l.contains("refunded")).cloned().collect::<Vec<_>>().join(" | "));
    if out.result.is_err() {
        // Safe: named, and nothing moved; the escrow waits for a cancel after the expiry.
        assert!(out.custom_error().is_some_and(|c| leveraged_token_sdk::errors::program_error(c).is_some()));
        w.assert_unchanged(&before).await;
        assert_eq!(w.bank.snapshot(&watch).await, before_watch);
    }
    // What we want: refunded by name, the escrow back whole, as for a supply that would overflow.
    assert_eq!(refund.iter().map(|e| (e.reason, e.amount)).collect::<Vec<_>>(), vec![(RefundReason::SupplyOverflow, 2_000_000 * USDC)], "{:?}", out.result);
}

/// Finding F2b, fixed (a regression of the F2 fix, found by the fuzzer's
/// no-free-lunch bound): profit the pool could not pay stays on the position
/// as an unpaid claim. A redeem pays only the book equity, so the redeemer's
/// pro-rata part of the claim must be forfeited to the pool, not left to the
/// holders who stay (`apply_trade` with `UnpaidClaim::ShrinkWithPosition`).
/// The whale (450,000 USDC) redeems at the top of a +110 % move against an
/// insolvent pool; a 1x short is wiped and its vault refills the pool; Alice,
/// who put 10,000 USDC in the same 3x token, gets no more than her own
/// leveraged return (before the fix she got 333,241.78 USDC).
#[tokio::test]
async fn a_redeemer_forfeits_its_share_of_unpaid_profit_to_the_pool_not_to_the_holders_who_stay() {
    let mut w = World::new().await;
    // 1.35 M of long notional on a 1 M pool: past the caps on the net book, which would refund the mint.
    w.lift_caps().await;
    // A negligible confidence interval, so the only thing that could lift Alice
    // above her own leveraged return is someone else's claim (a redeemer's
    // confidence haircut legitimately stays with the holders who remain).
    w.conf = 1;
    let whale = w.new_user(450_000 * USDC).await;
    let carol = w.new_user(300_000 * USDC).await;
    let (long, short) = (w.long, w.short);
    mint_as(&mut w, &whale.kp, long, 450_000 * USDC, 0).await.unwrap();
    w.mint(Who::Alice, w.long, 10_000 * USDC, 0).await.unwrap();
    mint_as(&mut w, &carol.kp, short, 300_000 * USDC, 0).await.unwrap();
    let alice_before = w.bank.balance(w.alice.collateral).await;
    // +110 %: the long is owed ≈ 1.5 M, the pool holds ≈ 1.0 M; the short lost more than its equity.
    w.set_price(210 * USD).await;
    let shares = w.bank.balance(whale.long).await;
    redeem_as(&mut w, &whale.kp, long, shares, 0).await.unwrap();
    let whale_back = w.bank.balance(whale.collateral).await;
    let t = w.token_state(w.long).await;
    let p = leveraged_token::math::price::normalize_price(210 * USD, w.conf, EXPO, DECIMALS).unwrap().price;
    let unpaid = leveraged_token::math::position::notional_floor(t.base, p).unwrap() - t.cost;
    println!("whale redeemed at the top for {whale_back}; the token keeps an unrealised claim of {unpaid} on Alice's {} shares", w.bank.balance(w.alice.long).await);
    // Alice's part of the claim: at most her share of the position's own move.
    assert!(unpaid > 0 && unpaid <= 3 * 11 * 1_000 * USDC as i128, "claim left on Alice's shares: {unpaid}");
    // While the claim is outstanding a new mint would buy into it below value: refunded whole.
    refunded(&mut w, &whale.kp, RequestKind::Mint, Some(long), 1_000 * USDC, 0, RefundReason::UnpaidProfitOutstanding).await;
    // The keeper lands the short's wipe: its vault refills the pool.
    let out = w.rebalance(Who::Bob, w.short).await;
    assert_eq!(out.events::<leveraged_token::events::TokenWiped>().len(), 1);
    out.unwrap();
    let a_shares = w.bank.balance(w.alice.long).await;
    w.redeem(Who::Alice, w.long, a_shares, 0).await.unwrap();
    let alice_got = w.bank.balance(w.alice.collateral).await - alice_before;
    println!("Alice put in 10,000 USDC at 3x, the price rose 110 %: she got {alice_got}");
    // Her own claim: at most 10,000 × (1 + 3 × 1.1) = 43,000 USDC before fees.
    assert!(alice_got <= 43_000 * USDC, "Alice got {alice_got}: the whale's unpaid profit went to her");
    assert!(alice_got > 10_000 * USDC, "Alice's own claim was paid once the pool was refilled: {alice_got}");
}
