//! Fixtures: Pyth accounts of both kinds, default parameters, and a `World`
//! with a config, a market with liquidity, a 3x long and a 1x short token, and
//! funded users.

use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::PYTH_RECEIVER;
use leveraged_token::state::{LeveragedToken, RequestKind};
use leveraged_token_harness::deployment::{Deployer, Deployment, Holder, MarketSpec, Oracle};
use leveraged_token_sdk::{ix, MarketKeys, MarketParams, TokenKeys, TokenParams};
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::Bank;
pub use leveraged_token_sdk::oracle_fixture::{legacy_price_account, pull_price_account};

/// USDC-like collateral: 6 decimals.
pub const DECIMALS: u8 = 6;
pub const USDC: u64 = 1_000_000;
/// Pyth exponent and $1 of the bank's oracles (prices are USD × 1e8).
pub use leveraged_token_harness::deployment::{EXPO, USD};

pub fn market_params() -> MarketParams {
    leveraged_token_sdk::defaults::market_params()
}

pub fn token_params(target_leverage_bps: i32) -> TokenParams {
    leveraged_token_sdk::defaults::responsive_token_params(target_leverage_bps, USDC)
}

/// A user with collateral, LP and share accounts.
pub struct User {
    pub kp: Keypair,
    pub collateral: Pubkey,
    pub lp: Pubkey,
    pub long: Pubkey,
    pub short: Pubkey,
}

impl User {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

impl From<Holder> for User {
    /// A holder of the world's deployment: its shares are the long's, then the short's.
    fn from(h: Holder) -> Self {
        User { kp: h.kp, collateral: h.collateral, lp: h.lp, long: h.shares[0], short: h.shares[1] }
    }
}

pub struct World {
    pub bank: Bank,
    pub admin: Keypair,
    pub treasury: Keypair,
    pub treasury_collateral: Pubkey,
    pub collateral: Pubkey,
    pub market: MarketKeys,
    pub long: TokenKeys,
    pub short: TokenKeys,
    pub lp: User,
    pub alice: User,
    pub bob: User,
    /// Current oracle price (USD × 1e8) and confidence.
    pub price: i64,
    pub conf: u64,
    /// The market as the harness deployed it (its LP is `lp` above).
    pub deployment: Deployment,
}

pub const LONG_3X: i32 = 30_000;
pub const SHORT_1X: i32 = -10_000;

impl World {
    /// Config, a legacy-oracle market at $100 with 1,000,000 USDC of liquidity,
    /// a 3x long and a 1x short token, and users alice and bob with 100,000 USDC each.
    pub async fn new() -> Self {
        let mut bank = Bank::new().await;
        let treasury = Keypair::new();
        let deployer = Deployer::init(&mut bank, Some(treasury.pubkey())).await;
        let (price, conf) = (100 * USD, 5 * USD as u64 / 100);
        let spec = MarketSpec::new(Oracle::legacy(Pubkey::new_unique()))
            .decimals(DECIMALS)
            .price(price, conf)
            .token(LONG_3X, token_params(LONG_3X))
            .token(SHORT_1X, token_params(SHORT_1X))
            .liquidity(1_000_000 * USDC);
        let mut d = deployer.market(&mut bank, spec).await;
        let lp = User::from(d.lp.take().expect("the spec seeds the pool"));
        let alice = User::from(d.holder(&mut bank, 100_000 * USDC).await);
        let bob = User::from(d.holder(&mut bank, 100_000 * USDC).await);
        World {
            bank,
            admin: deployer.admin,
            treasury,
            treasury_collateral: d.treasury_collateral,
            collateral: d.collateral,
            market: d.market,
            long: d.tokens[0],
            short: d.tokens[1],
            lp,
            alice,
            bob,
            price,
            conf,
            deployment: d,
        }
    }

    /// A funded user holding `amount` collateral and empty LP and share accounts.
    pub async fn new_user(&mut self, amount: u64) -> User {
        User::from(self.deployment.holder(&mut self.bank, amount).await)
    }

    /// Write the current price to the oracle, published at the current slot.
    pub async fn publish(&mut self) {
        self.deployment.oracle.publish(&mut self.bank, self.price, self.conf).await;
    }

    /// Move the oracle to `price` (USD × 1e8) now.
    pub async fn set_price(&mut self, price: i64) {
        self.price = price;
        self.publish().await;
    }

    /// Write arbitrary oracle fields (for stale, halted, negative prices).
    pub fn write_oracle(&mut self, price: i64, conf: u64, pub_slot: u64, status: PriceStatus) {
        // A legacy account: no publish time.
        self.deployment.oracle.write(&mut self.bank, price, conf, pub_slot, 0, status);
    }

    /// Advance `slots` and republish the current price.
    pub async fn warp(&mut self, slots: u64) {
        self.bank.warp(slots).await;
        self.publish().await;
    }

    pub fn shares_of(&self, user: &User, t: &TokenKeys) -> Pubkey {
        if t.token == self.long.token {
            user.long
        } else {
            user.short
        }
    }

    /// The index of `t` in the deployment's tokens.
    pub fn token_index(&self, t: &TokenKeys) -> usize {
        self.deployment.tokens.iter().position(|k| k.token == t.token).expect("a token of this world")
    }

    /// Request a mint and execute it at the current price: the execution's
    /// outcome (a fill, or a refund with `RequestRefunded`), or the
    /// request's if it was refused.
    pub async fn mint(&mut self, who: Who, t: TokenKeys, amount: u64, min_out: u64) -> crate::TxOutcome {
        self.request_and_execute(who, RequestKind::Mint, Some(t), amount, min_out).await
    }

    /// Request a redeem and execute it at the current price (see [`World::mint`]).
    pub async fn redeem(&mut self, who: Who, t: TokenKeys, shares: u64, min_out: u64) -> crate::TxOutcome {
        self.request_and_execute(who, RequestKind::Redeem, Some(t), shares, min_out).await
    }

    /// Request an LP deposit and execute it at the current price.
    pub async fn deposit(&mut self, who: Who, amount: u64, min_out: u64) -> crate::TxOutcome {
        self.request_and_execute(who, RequestKind::Deposit, None, amount, min_out).await
    }

    /// Request an LP withdrawal and execute it (after the cooldown) at the current price.
    pub async fn withdraw(&mut self, who: Who, lp: u64, min_out: u64) -> crate::TxOutcome {
        self.request_and_execute(who, RequestKind::Withdraw, None, lp, min_out).await
    }

    /// Request and execute at the current price.
    pub async fn request_and_execute(&mut self, who: Who, kind: RequestKind, t: Option<TokenKeys>, amount: u64, min_out: u64) -> crate::TxOutcome {
        let kp = self.user(who).kp.insecure_clone();
        let i = t.map(|t| self.token_index(&t));
        self.deployment.request_and_execute(&mut self.bank, &kp, kind, i, amount, min_out).await
    }

    /// Rebalance `t`, the reward going to `who`'s collateral account.
    pub async fn rebalance(&mut self, who: Who, t: TokenKeys) -> crate::TxOutcome {
        let u = self.user(who);
        let ix = ix::rebalance(u.key(), &t, u.collateral);
        let kp = u.kp.insecure_clone();
        self.bank.send(&[ix], &[&kp]).await
    }

    pub fn user(&self, who: Who) -> &User {
        match who {
            Who::Lp => &self.lp,
            Who::Alice => &self.alice,
            Who::Bob => &self.bob,
        }
    }

    pub async fn token_state(&mut self, t: TokenKeys) -> LeveragedToken {
        self.bank.account(t.token).await
    }

    pub async fn market_state(&mut self) -> leveraged_token::state::Market {
        self.bank.account(self.market.market).await
    }

    /// The pool's value by the program's own rule (what an LP deposit or
    /// withdrawal executing at unix time `now` reads): LP cash plus every
    /// token's settlement at `price`, `side` of its confidence, each token's
    /// loss at most its vault, with the pool vault holding `pool_amount`.
    pub async fn pool_value(&mut self, pool_amount: u64, price: &leveraged_token::math::price::NormalizedPrice, side: leveraged_token::math::pool::Side, now: i64) -> u128 {
        let m = self.market_state().await;
        let mut tokens = Vec::new();
        for t in self.deployment.tokens.clone() {
            tokens.push((self.token_state(t).await, self.bank.balance(t.vault).await));
        }
        let refs: Vec<(&LeveragedToken, u64)> = tokens.iter().map(|(t, v)| (t, *v)).collect();
        leveraged_token::settlement::market_pool_value(&m, &refs, pool_amount, price, side, now).expect("pool value")
    }

    /// Every account a mint/redeem/rebalance/liquidity call can touch.
    pub fn all_accounts(&self) -> Vec<Pubkey> {
        let mut v = vec![
            self.market.market,
            self.market.pool_vault,
            self.market.insurance_vault,
            self.market.lp_mint,
            self.long.token,
            self.long.vault,
            self.long.share_mint,
            self.short.token,
            self.short.vault,
            self.short.share_mint,
            self.treasury_collateral,
            leveraged_token::pda::config().0,
        ];
        for u in [&self.lp, &self.alice, &self.bob] {
            v.extend([u.collateral, u.lp, u.long, u.short, u.key()]);
        }
        v
    }

    /// Snapshot of every account in [`World::all_accounts`].
    pub async fn snapshot(&mut self) -> Vec<Option<solana_account::Account>> {
        let keys = self.all_accounts();
        self.bank.snapshot(&keys).await
    }

    /// Assert a failed transaction left every account byte-for-byte unchanged.
    pub async fn assert_unchanged(&mut self, before: &[Option<solana_account::Account>]) {
        let after = self.snapshot().await;
        let keys = self.all_accounts();
        for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
            assert_eq!(b, a, "account {} changed after a failed transaction", keys[i]);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Lp,
    Alice,
    Bob,
}

/// Pull-oracle constants for tests.
pub const FEED_ID: [u8; 32] = [7; 32];
pub const RECEIVER: Pubkey = PYTH_RECEIVER;

impl World {
    /// Send `ix` signed by `signer`, assert it fails with `code`, and assert
    /// every account of the world is byte-for-byte unchanged.
    /// Change `t`'s parameters through the timelock: propose, wait out the
    /// config's delay, apply (the token settles first). The apply's outcome.
    pub async fn change_token_params(&mut self, t: TokenKeys, params: TokenParams) -> crate::TxOutcome {
        let i = self.token_index(&t);
        let admin = self.admin.insecure_clone();
        self.deployment.change_token_params(&mut self.bank, &admin, i, params).await
    }

    /// Change the market's parameters through the timelock; the apply's outcome.
    pub async fn change_market_params(&mut self, params: MarketParams) -> crate::TxOutcome {
        let admin = self.admin.insecure_clone();
        self.deployment.change_market_params(&mut self.bank, &admin, params).await
    }

    /// Lift the caps on the net book to their bounds (each side and the net
    /// up to 10× pool value, a token's stress loss up to the whole pool), for
    /// tests of what lies past them (a pool that cannot pay). Goes through the
    /// parameter delay.
    pub async fn lift_caps(&mut self) {
        let mut p = self.market_state().await.params;
        p.side_cap_bps = leveraged_token::constants::MAX_CAP_BPS;
        p.net_cap_bps = leveraged_token::constants::MAX_CAP_BPS;
        p.stress_loss_cap_bps = 10_000;
        self.change_market_params(p).await.expect_ok("lift the caps");
    }

    pub async fn refused(&mut self, ix: anchor_lang::solana_program::instruction::Instruction, signers: &[&Keypair], code: leveraged_token::errors::ErrorCode) {
        let before = self.snapshot().await;
        let out = self.bank.send(&[ix], signers).await;
        out.expect_err(code);
        self.assert_unchanged(&before).await;
    }

    /// As [`World::refused`], for an Anchor framework error.
    pub async fn refused_by_anchor(&mut self, ix: anchor_lang::solana_program::instruction::Instruction, signers: &[&Keypair], code: anchor_lang::error::ErrorCode) {
        let before = self.snapshot().await;
        let out = self.bank.send(&[ix], signers).await;
        out.expect_anchor_err(code);
        self.assert_unchanged(&before).await;
    }
}

/// Two-step helpers: a request, then its execution, each as its own step, so
/// tests can look (or tamper) in between.
impl World {
    /// The executor fee (lamports) every request on the world's market carries.
    pub async fn executor_fee(&mut self) -> u64 {
        self.market_state().await.params.executor_fee_lamports
    }

    /// `who`'s request instruction of `kind` (token `t` for a mint or redeem) with `nonce`.
    pub fn request_ix(&self, who: Who, kind: RequestKind, t: Option<TokenKeys>, nonce: u64, amount: u64, min_out: u64) -> anchor_lang::solana_program::instruction::Instruction {
        let i = t.map(|t| self.token_index(&t));
        self.deployment.request_ix(self.user(who).key(), kind, i, nonce, amount, min_out)
    }

    /// Send `who`'s request with a new nonce: the nonce and the outcome.
    pub async fn try_request(&mut self, who: Who, kind: RequestKind, t: Option<TokenKeys>, amount: u64, min_out: u64) -> (u64, crate::TxOutcome) {
        let nonce = leveraged_token_harness::requests::next_nonce();
        let ix = self.request_ix(who, kind, t, nonce, amount, min_out);
        let kp = self.user(who).kp.insecure_clone();
        (nonce, self.bank.send(&[ix], &[&kp]).await)
    }

    /// Send `who`'s request with a new nonce, which must succeed: its nonce.
    pub async fn request(&mut self, who: Who, kind: RequestKind, t: Option<TokenKeys>, amount: u64, min_out: u64) -> u64 {
        let (nonce, out) = self.try_request(who, kind, t, amount, min_out).await;
        out.expect_ok(&format!("request {}", kind.name()));
        nonce
    }

    /// `who`'s open request `nonce`.
    pub async fn request_state(&mut self, who: Who, nonce: u64) -> leveraged_token::state::Request {
        let key = leveraged_token::pda::request(&self.user(who).key(), nonce).0;
        self.bank.account(key).await
    }

    /// The execution of `who`'s request `nonce` of `kind` (token `t`) by the
    /// bank's payer, reading the oracle account `oracle`.
    pub fn execute_ix(&self, who: Who, kind: RequestKind, t: Option<TokenKeys>, nonce: u64, oracle: Pubkey) -> anchor_lang::solana_program::instruction::Instruction {
        ix::execute(self.bank.payer(), kind, self.user(who).key(), nonce, &self.market, t.as_ref(), oracle, &self.deployment.tokens)
    }

    /// Move the clock to the price time of `who`'s request `nonce` and
    /// publish the world's price as the update for it (what an execution
    /// then reads). The request.
    pub async fn reach_request(&mut self, who: Who, nonce: u64) -> leveraged_token::state::Request {
        let r = self.request_state(who, nonce).await;
        self.bank.reach(self.deployment.oracle.kind, r.target).await;
        self.deployment.oracle.publish_for(&mut self.bank, self.price, self.conf, r.target).await;
        r
    }

    /// Execute `who`'s request `nonce` at the world's price (see
    /// [`Deployment::execute_at`]): the outcome.
    pub async fn execute(&mut self, who: Who, nonce: u64) -> crate::TxOutcome {
        let owner = self.user(who).key();
        let p = Some((self.price, self.conf));
        self.deployment.execute_at(&mut self.bank, owner, nonce, p).await
    }

    /// Request and execute, expecting a refund for `reason`: the execution
    /// succeeds with exactly one `RequestRefunded` of that reason returning
    /// the whole `amount`, no fill event, and every account of the world is
    /// byte-for-byte as before the request except the owner's lamports,
    /// short of exactly the executor fee (the escrow went back to the
    /// owner's account and the request's and escrow's rent to the owner).
    pub async fn refunded(
        &mut self,
        who: Who,
        kind: RequestKind,
        t: Option<TokenKeys>,
        amount: u64,
        min_out: u64,
        reason: leveraged_token::state::RefundReason,
    ) -> leveraged_token::events::RequestRefunded {
        let fee = self.executor_fee().await;
        let before = self.snapshot().await;
        let nonce = self.request(who, kind, t, amount, min_out).await;
        let out = self.execute(who, nonce).await;
        self.assert_refund(out, who, kind, amount, reason, fee, &before).await
    }

    /// What [`World::refunded`] asserts of an execution's outcome `out`, given
    /// the snapshot `before` the request.
    #[allow(clippy::too_many_arguments)]
    pub async fn assert_refund(
        &mut self,
        out: crate::TxOutcome,
        who: Who,
        kind: RequestKind,
        amount: u64,
        reason: leveraged_token::state::RefundReason,
        fee: u64,
        before: &[Option<solana_account::Account>],
    ) -> leveraged_token::events::RequestRefunded {
        use leveraged_token::events::{LiquidityDeposited, LiquidityWithdrawn, Minted, Redeemed, RequestRefunded};
        let mut ev = out.events::<RequestRefunded>();
        let fills = out.events::<Minted>().len() + out.events::<Redeemed>().len() + out.events::<LiquidityDeposited>().len() + out.events::<LiquidityWithdrawn>().len();
        out.expect_ok("an execution that refunds succeeds");
        assert_eq!((ev.len(), fills), (1, 0), "one refund, no fill");
        let e = ev.remove(0);
        let owner = self.user(who).key();
        assert_eq!((e.owner, e.kind, e.reason, e.amount), (owner, kind, reason, amount), "the refund");
        let after = self.snapshot().await;
        let keys = self.all_accounts();
        for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
            if keys[i] == owner {
                let (b, a) = (b.as_ref().expect("owner"), a.as_ref().expect("owner"));
                assert_eq!(a.lamports + fee, b.lamports, "the owner is out exactly the executor fee");
                assert_eq!((&a.data, a.owner), (&b.data, b.owner));
            } else {
                assert_eq!(b, a, "account {} changed by a refunded request", keys[i]);
            }
        }
        e
    }
}
