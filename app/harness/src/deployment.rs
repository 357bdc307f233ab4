//! One way to deploy a market in the bank and to publish its price: the test
//! fixtures, the keeper and CLI tests, `lt demo`, `lt replay`, `lt-bench` and
//! the fuzzer all build their world here.
//!
//! [`Deployer::init`] funds an admin and initializes the config;
//! [`Deployer::market`] creates a collateral mint, publishes the oracle,
//! creates the market and its tokens (the instructions `lt-deploy` sends), a
//! treasury fee account, and seeds the pool from an LP; [`Deployment::holder`]
//! gives a new user collateral and empty LP and share accounts.
//! [`Oracle::publish`] is the one place a price reaches the bank.

use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::{PYTH_LEGACY_DEVNET, PYTH_RECEIVER};
use leveraged_token::oracle::VerificationLevel;
use leveraged_token::state::{MarketParams, OracleKind, TokenParams};
use leveraged_token_sdk::oracle_fixture::{legacy_price_account, pull_price_account};
use leveraged_token_sdk::{defaults, ix, MarketKeys, TokenKeys};
pub use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::bank::Bank;

/// The exponent every bank oracle publishes in: prices are USD × 1e8.
pub const EXPO: i32 = -8;
/// One US dollar in oracle units.
pub const USD: i64 = 100_000_000;

/// A Pyth price account in the bank: legacy (pinned by its address) or pull
/// (a `PriceUpdateV2` of a feed id, owned by the receiver program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oracle {
    pub key: Pubkey,
    pub kind: OracleKind,
    /// Pull only; zero for legacy.
    pub feed_id: [u8; 32],
}

impl Oracle {
    pub fn legacy(key: Pubkey) -> Self {
        Self { key, kind: OracleKind::PythLegacy, feed_id: [0; 32] }
    }

    pub fn pull(key: Pubkey, feed_id: [u8; 32]) -> Self {
        Self { key, kind: OracleKind::PythPull, feed_id }
    }

    /// The market addresses of this oracle with `collateral_mint`.
    pub fn market_keys(&self, collateral_mint: Pubkey) -> MarketKeys {
        match self.kind {
            OracleKind::PythLegacy => MarketKeys::legacy(self.key, collateral_mint),
            OracleKind::PythPull => MarketKeys::pull(self.feed_id, self.key, collateral_mint),
        }
    }

    /// The program that owns real accounts of this kind.
    pub fn owner(&self) -> Pubkey {
        match self.kind {
            OracleKind::PythLegacy => PYTH_LEGACY_DEVNET,
            OracleKind::PythPull => PYTH_RECEIVER,
        }
    }

    /// The confidence the bank's worlds publish by default: 5 bps of `price`.
    pub fn default_conf(price: i64) -> u64 {
        (price / 2_000).unsigned_abs()
    }

    /// Account bytes of an update of `price` ± `conf` (in 10^[`EXPO`]),
    /// published at `slot` (legacy `pub_slot`, pull `posted_slot`) and
    /// `unix_timestamp` (pull `publish_time`). `status` is legacy-only (a
    /// pull update is fully verified).
    pub fn data(&self, price: i64, conf: u64, slot: u64, unix_timestamp: i64, status: PriceStatus) -> Vec<u8> {
        match self.kind {
            OracleKind::PythLegacy => legacy_price_account(price, conf, EXPO, slot, status),
            OracleKind::PythPull => pull_price_account(self.feed_id, price, conf, EXPO, unix_timestamp, VerificationLevel::Full, slot),
        }
    }

    /// Write an update published at `slot`/`unix_timestamp` (past, for a
    /// stale price; any `status`).
    pub fn write(&self, bank: &mut Bank, price: i64, conf: u64, slot: u64, unix_timestamp: i64, status: PriceStatus) {
        bank.set_account(self.key, 1_000_000_000, self.data(price, conf, slot, unix_timestamp, status), self.owner());
    }

    /// Publish `price` ± `conf`, trading, at the bank's current slot and time.
    pub async fn publish(&self, bank: &mut Bank, price: i64, conf: u64) {
        let clock = bank.clock().await;
        self.write(bank, price, conf, clock.slot, clock.unix_timestamp, PriceStatus::Trading);
    }
}

/// The admin and the config it initialized.
pub struct Deployer {
    pub admin: Keypair,
    /// Owner of the treasury fee accounts (one per market, see [`Deployment::treasury_collateral`]).
    pub treasury: Pubkey,
}

impl Deployer {
    /// A funded admin, and the config with `treasury` (the admin itself when
    /// `None`) and the shortest parameter delay this build of the program
    /// accepts (a day; see [`crate::timelock`]).
    pub async fn init(bank: &mut Bank, treasury: Option<Pubkey>) -> Self {
        let admin = bank.funded_keypair().await;
        let treasury = treasury.unwrap_or(admin.pubkey());
        bank.send(&[ix::initialize_config(admin.pubkey(), treasury, leveraged_token::constants::MIN_PARAM_DELAY_SECS)], &[&admin]).await.unwrap();
        Self { admin, treasury }
    }

    /// Create what `spec` describes; see [`MarketSpec`].
    pub async fn market(&self, bank: &mut Bank, spec: MarketSpec) -> Deployment {
        let collateral = bank.create_mint(spec.decimals).await;
        let market = spec.oracle.market_keys(collateral);
        spec.oracle.publish(bank, spec.price, spec.conf).await;
        let a = self.admin.pubkey();
        bank.send(&[ix::create_market(a, &market, spec.oracle.kind, spec.params, None)], &[&self.admin]).await.unwrap();
        let treasury_collateral = bank.create_token_account(collateral, self.treasury).await;
        let mut d = Deployment { collateral, unit: 10u64.pow(u32::from(spec.decimals)), oracle: spec.oracle, market, tokens: Vec::new(), treasury_collateral, lp: None };
        for (target, params) in spec.tokens {
            d.add_token(bank, &self.admin, target, params).await;
        }
        if spec.liquidity > 0 {
            let lp = d.holder(bank, spec.liquidity).await;
            lp.deposit(bank, &d, spec.liquidity).await.unwrap();
            d.lp = Some(lp);
        }
        d
    }
}

/// What [`Deployer::market`] creates. [`MarketSpec::new`] is a 6-decimal
/// collateral, the oracle at $100 ± 5 bps, default market parameters, no
/// tokens and an empty pool.
#[derive(Debug, Clone)]
pub struct MarketSpec {
    pub decimals: u8,
    pub oracle: Oracle,
    /// First price and confidence, in oracle units.
    pub price: i64,
    pub conf: u64,
    pub params: MarketParams,
    /// Target leverage (bps) and parameters of each token, created in order.
    pub tokens: Vec<(i32, TokenParams)>,
    /// Collateral (base units) an LP deposits once the tokens exist; 0: none.
    pub liquidity: u64,
}

impl MarketSpec {
    pub fn new(oracle: Oracle) -> Self {
        Self { decimals: 6, oracle, price: 100 * USD, conf: Oracle::default_conf(100 * USD), params: defaults::market_params(), tokens: Vec::new(), liquidity: 0 }
    }

    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }

    pub fn price(mut self, price: i64, conf: u64) -> Self {
        self.price = price;
        self.conf = conf;
        self
    }

    pub fn params(mut self, params: MarketParams) -> Self {
        self.params = params;
        self
    }

    pub fn token(mut self, target_leverage_bps: i32, params: TokenParams) -> Self {
        self.tokens.push((target_leverage_bps, params));
        self
    }

    /// `amount` base units of liquidity.
    pub fn liquidity(mut self, amount: u64) -> Self {
        self.liquidity = amount;
        self
    }
}

/// A market as deployed: its addresses and those of its tokens.
pub struct Deployment {
    pub collateral: Pubkey,
    /// 10^decimals of the collateral mint.
    pub unit: u64,
    pub oracle: Oracle,
    pub market: MarketKeys,
    /// In creation order.
    pub tokens: Vec<TokenKeys>,
    /// The treasury's collateral account (fees are collected to it).
    pub treasury_collateral: Pubkey,
    /// The LP who seeded the pool, if the spec asked for liquidity.
    pub lp: Option<Holder>,
}

impl Deployment {
    /// Create a token of `target_leverage_bps` on this market.
    pub async fn add_token(&mut self, bank: &mut Bank, admin: &Keypair, target_leverage_bps: i32, params: TokenParams) -> TokenKeys {
        let t = self.market.token(target_leverage_bps);
        bank.send(&[ix::create_leveraged_token(admin.pubkey(), &t, params)], &[admin]).await.unwrap();
        self.tokens.push(t);
        t
    }

    /// A funded user holding `collateral` base units, with an empty LP
    /// account and an empty share account of every token (all associated
    /// token accounts: requests pay from and to them).
    pub async fn holder(&self, bank: &mut Bank, collateral: u64) -> Holder {
        let kp = bank.funded_keypair().await;
        let collateral_account = bank.create_ata(kp.pubkey(), self.collateral).await;
        if collateral > 0 {
            bank.mint_to(self.collateral, collateral_account, collateral).await;
        }
        let lp = bank.create_ata(kp.pubkey(), self.market.lp_mint).await;
        let mut shares = Vec::with_capacity(self.tokens.len());
        for t in &self.tokens {
            shares.push(bank.create_ata(kp.pubkey(), t.share_mint).await);
        }
        Holder { kp, collateral: collateral_account, lp, shares }
    }

    /// The program accounts this deployment created (config, market, tokens):
    /// what a keeper on a [`crate::BankChain`] must be told of
    /// ([`crate::BankChain::track`]), as the bank has no `getProgramAccounts`.
    pub fn program_accounts(&self) -> Vec<Pubkey> {
        let mut keys = vec![leveraged_token::pda::config().0, self.market.market];
        keys.extend(self.tokens.iter().map(|t| t.token));
        keys
    }
}

/// A user's keypair and token accounts on one market.
pub struct Holder {
    pub kp: Keypair,
    pub collateral: Pubkey,
    pub lp: Pubkey,
    /// One per token, in [`Deployment::tokens`] order.
    pub shares: Vec<Pubkey>,
}

impl Holder {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}
