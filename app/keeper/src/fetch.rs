//! Fetch: everything one loop needs, in as few RPC calls as possible.
//!
//! * Discovery (every `refresh_every` loops, and whenever nothing is known):
//!   `getProgramAccounts` filtered on the `LeveragedToken` discriminator, plus
//!   one `getMultipleAccounts` for markets not seen before (to learn their
//!   oracle). Token and market addresses, vaults, mints and oracle ids never
//!   change, so they are kept between refreshes.
//! * Every loop: the slot, then ONE `accounts(&keys)` call (RpcChain batches
//!   it by 100) holding the Config PDA, the Clock sysvar, every token, vault,
//!   share mint, market, pool vault, oracle and the keeper's collateral
//!   account per collateral mint.

use std::collections::{BTreeMap, HashMap};

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::token::{Mint, TokenAccount};
use leveraged_token::state::{Config, LeveragedToken, Market, OracleKind};
use leveraged_token_sdk::chain::{decode_clock, Chain, ChainError};
use leveraged_token_sdk::decide::TokenView;
use leveraged_token_sdk::{MarketKeys, TokenKeys};
use solana_account::Account;

use crate::oracle::{decode_price, sponsored_feed_account, OraclePrice, PriceIssue};

/// Known tokens and markets, refreshed every `refresh_every` loops.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// Tokens by address, with their derived keys.
    pub tokens: BTreeMap<Pubkey, TokenKeys>,
    /// Market keys (with the oracle account to pass) by market address.
    pub markets: HashMap<Pubkey, MarketKeys>,
    /// Pull oracle: the `PriceUpdateV2` account to read per feed id (default:
    /// the sponsored shard-0 feed account).
    pub pull_oracles: HashMap<[u8; 32], Pubkey>,
    pub refresh_every: u64,
    loops_since_refresh: Option<u64>,
}

impl Discovery {
    pub fn new(refresh_every: u64, pull_oracles: HashMap<[u8; 32], Pubkey>) -> Self {
        Self { tokens: BTreeMap::new(), markets: HashMap::new(), pull_oracles, refresh_every: refresh_every.max(1), loops_since_refresh: None }
    }

    fn due(&self) -> bool {
        match self.loops_since_refresh {
            None => true,
            Some(n) => n >= self.refresh_every || self.tokens.is_empty(),
        }
    }

    fn market_keys(&self, m: &Market) -> MarketKeys {
        let oracle = match m.oracle_kind {
            OracleKind::PythLegacy => None,
            OracleKind::PythPull => Some(self.pull_oracles.get(&m.oracle_id).copied().unwrap_or_else(|| sponsored_feed_account(&m.oracle_id))),
        };
        MarketKeys::from_market(m, oracle)
    }

    /// Rediscover tokens with `getProgramAccounts`; learn unseen markets.
    pub async fn refresh<C: Chain>(&mut self, chain: &mut C) -> Result<(), ChainError> {
        let found = chain.program_accounts(&leveraged_token::ID, LeveragedToken::DISCRIMINATOR).await?;
        let mut tokens: Vec<(Pubkey, LeveragedToken)> = Vec::with_capacity(found.len());
        for (key, acc) in found {
            match LeveragedToken::try_deserialize(&mut acc.data.as_slice()) {
                Ok(t) => tokens.push((key, t)),
                Err(e) => tracing::warn!(token = %key, error = %e, "undecodable LeveragedToken account; ignored"),
            }
        }
        let mut unknown: Vec<Pubkey> = tokens.iter().map(|(_, t)| t.market).filter(|m| !self.markets.contains_key(m)).collect();
        unknown.sort();
        unknown.dedup();
        if !unknown.is_empty() {
            let accs = chain.accounts(&unknown).await?;
            for (key, acc) in unknown.iter().zip(accs) {
                match acc.map(|a| Market::try_deserialize(&mut a.data.as_slice())) {
                    Some(Ok(m)) => {
                        let keys = self.market_keys(&m);
                        if keys.market == *key {
                            self.markets.insert(*key, keys);
                        } else {
                            tracing::warn!(market = %key, "market account does not sit at its own PDA; ignored");
                        }
                    }
                    Some(Err(e)) => tracing::warn!(market = %key, error = %e, "undecodable market account"),
                    None => tracing::warn!(market = %key, "market account missing"),
                }
            }
        }
        let mut next = BTreeMap::new();
        for (key, t) in tokens {
            let Some(m) = self.markets.get(&t.market) else { continue };
            let keys = m.token(t.target_leverage_bps);
            if keys.token != key || keys.vault != t.vault || keys.share_mint != t.share_mint {
                tracing::warn!(token = %key, "token account does not match its PDAs; ignored");
                continue;
            }
            next.insert(key, keys);
        }
        if next.len() != self.tokens.len() {
            tracing::info!(tokens = next.len(), markets = self.markets.len(), "discovered leveraged tokens");
        }
        self.tokens = next;
        self.loops_since_refresh = Some(0);
        Ok(())
    }
}

/// One token as fetched this loop.
#[derive(Debug, Clone)]
pub struct TokenSnapshot {
    pub keys: TokenKeys,
    pub view: TokenView,
    /// The market's oracle price as the program would read it now.
    pub price: Result<OraclePrice, PriceIssue>,
    /// The keeper's associated collateral account for this market's mint.
    pub keeper_collateral: Pubkey,
    /// Its balance, `None` while the account does not exist.
    pub keeper_collateral_balance: Option<u64>,
}

/// What one loop saw.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub slot: u64,
    pub unix_timestamp: i64,
    /// Global pause flags of the Config PDA (`None`: the config is missing).
    pub global_pause_flags: Option<u8>,
    pub tokens: Vec<TokenSnapshot>,
    /// Known tokens whose accounts could not be read this loop, and why.
    pub unreadable: Vec<(Pubkey, String)>,
    /// How many keys the one batched `accounts` call asked for.
    pub keys_fetched: usize,
}

/// Keys to fetch, deduplicated, with their position in the batch.
#[derive(Default)]
struct Batch {
    keys: Vec<Pubkey>,
    index: HashMap<Pubkey, usize>,
}

impl Batch {
    fn add(&mut self, k: Pubkey) -> usize {
        *self.index.entry(k).or_insert_with(|| {
            self.keys.push(k);
            self.keys.len() - 1
        })
    }
}

fn decode<T: AccountDeserialize>(a: Option<&Account>, what: &str) -> Result<T, String> {
    let a = a.ok_or_else(|| format!("{what} missing"))?;
    T::try_deserialize(&mut a.data.as_slice()).map_err(|e| format!("{what} undecodable: {e}"))
}

/// Fetch one loop's snapshot: refresh discovery when due, then the slot and
/// one batched `accounts` call.
pub async fn fetch<C: Chain>(chain: &mut C, disc: &mut Discovery, keeper: &Pubkey) -> Result<Snapshot, ChainError> {
    if disc.due() {
        disc.refresh(chain).await?;
    }
    disc.loops_since_refresh = disc.loops_since_refresh.map(|n| n + 1);

    let mut b = Batch::default();
    let config_ix = b.add(leveraged_token::pda::config().0);
    let clock_ix = b.add(<anchor_lang::prelude::Clock as anchor_lang::solana_program::sysvar::SysvarId>::id());
    struct Slots {
        keys: TokenKeys,
        token: usize,
        vault: usize,
        mint: usize,
        market: usize,
        pool: usize,
        oracle: usize,
        collateral: (Pubkey, usize),
    }
    let plan: Vec<Slots> = disc
        .tokens
        .values()
        .map(|k| {
            let ata = get_associated_token_address(keeper, &k.market.collateral_mint);
            Slots {
                keys: *k,
                token: b.add(k.token),
                vault: b.add(k.vault),
                mint: b.add(k.share_mint),
                market: b.add(k.market.market),
                pool: b.add(k.market.pool_vault),
                oracle: b.add(k.market.oracle),
                collateral: (ata, b.add(ata)),
            }
        })
        .collect();

    let slot = chain.slot().await?;
    let accs = chain.accounts(&b.keys).await?;
    let get = |i: usize| accs.get(i).and_then(|a| a.as_ref());

    let global_pause_flags = decode::<Config>(get(config_ix), "config").ok().map(|c| c.pause_flags);
    let unix_timestamp = get(clock_ix).and_then(|a| decode_clock(&a.data)).map_or(0, |c| c.unix_timestamp);
    let mut tokens = Vec::with_capacity(plan.len());
    let mut unreadable = Vec::new();
    for s in plan {
        let view = (|| -> Result<TokenView, String> {
            let market: Market = decode(get(s.market), "market")?;
            let token: LeveragedToken = decode(get(s.token), "token")?;
            let vault: TokenAccount = decode(get(s.vault), "token vault")?;
            let pool: TokenAccount = decode(get(s.pool), "pool vault")?;
            let mint: Mint = decode(get(s.mint), "share mint")?;
            Ok(TokenView { market, token, vault_amount: vault.amount, pool_amount: pool.amount, share_supply: mint.supply })
        })();
        let view = match view {
            Ok(v) => v,
            Err(why) => {
                unreadable.push((s.keys.token, why));
                continue;
            }
        };
        let price = decode_price(&view.market, &s.keys.market.oracle, get(s.oracle), slot, unix_timestamp);
        let keeper_collateral_balance = decode::<TokenAccount>(get(s.collateral.1), "keeper collateral").ok().map(|a| a.amount);
        tokens.push(TokenSnapshot { keys: s.keys, view, price, keeper_collateral: s.collateral.0, keeper_collateral_balance });
    }
    Ok(Snapshot { slot, unix_timestamp, global_pause_flags, tokens, unreadable, keys_fetched: b.keys.len() })
}
