//! Fetch: everything one loop needs, in as few RPC calls as possible.
//!
//! * Discovery (every `refresh_every` loops, and whenever nothing is known):
//!   `getProgramAccounts` filtered on the `LeveragedToken` discriminator, plus
//!   one `getMultipleAccounts` for markets not seen before (to learn their
//!   oracle). Token and market addresses, vaults, mints and oracle ids never
//!   change, so they are kept between refreshes.
//! * Every loop (unless `scan_requests` is off): `getProgramAccounts`
//!   filtered on the `Request` discriminator, for the pending requests of
//!   the markets the keeper knows (in the bank, which has no
//!   getProgramAccounts, `BankChain` answers from the accounts it was told
//!   of with `track` or saw in a transaction). A failed scan is logged and
//!   the loop goes on with rebalances.
//! * Every loop: the slot, then ONE `accounts(&keys)` call (RpcChain batches
//!   it by 100) holding the Config PDA, the Clock sysvar, every token, vault,
//!   share mint, market, pool vault, oracle and the keeper's collateral
//!   account per collateral mint, and each pending request's destination.
//! * Then the updates for fixed price times, from the keeper's
//!   [`UpdateSource`]: for each token whose schedule is due
//!   (`LeveragedToken::schedule_fix`) the update for `fix.target`, and for
//!   each executable request the update for its `target`.

use std::collections::{BTreeMap, HashMap};

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::token::{Mint, TokenAccount};
use leveraged_token::constants::PAUSE_REBALANCE;
use leveraged_token::pause::paused;
use leveraged_token::state::{Config, LeveragedToken, Market, OracleKind, Request, RequestKind, ScheduleFix};
use leveraged_token_sdk::chain::{decode_clock, Chain, ChainError};
use leveraged_token_sdk::decide::TokenView;
use leveraged_token_sdk::requests::{self, RequestStage};
use leveraged_token_sdk::{MarketKeys, TokenKeys};
use solana_account::Account;

use crate::oracle::{decode_price, sponsored_feed_account, OraclePrice, PriceIssue, Update, UpdateQuery, UpdateSource};

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
    /// Look for pending requests every loop (on by default).
    pub scan_requests: bool,
    loops_since_refresh: Option<u64>,
}

impl Discovery {
    pub fn new(refresh_every: u64, pull_oracles: HashMap<[u8; 32], Pubkey>) -> Self {
        Self { tokens: BTreeMap::new(), markets: HashMap::new(), pull_oracles, refresh_every: refresh_every.max(1), scan_requests: true, loops_since_refresh: None }
    }

    /// Every known token of `market`.
    pub fn market_tokens(&self, market: &Pubkey) -> Vec<TokenKeys> {
        self.tokens.values().filter(|t| t.market.market == *market).copied().collect()
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

    /// Pending requests on the markets (and, for mints and redeems, the
    /// tokens) this keeper knows, with their keys, by address.
    /// An LP request comes with every token of its market the keeper knows
    /// (its execution values the pool on all of them).
    pub async fn scan_requests<C: Chain>(&self, chain: &mut C) -> Result<Vec<FoundRequest>, ChainError> {
        let found = chain.program_accounts(&leveraged_token::ID, Request::DISCRIMINATOR).await?;
        let mut out = Vec::new();
        for (key, acc) in found {
            let Some(r) = requests::decode(&acc.data) else {
                tracing::warn!(request = %key, "undecodable Request account; ignored");
                continue;
            };
            let Some(m) = self.markets.get(&r.market) else {
                tracing::debug!(request = %key, market = %r.market, "request on a market this keeper does not watch");
                continue;
            };
            let token = match r.kind {
                RequestKind::Mint | RequestKind::Redeem => match self.tokens.get(&r.token) {
                    Some(t) if t.market.market == r.market => Some(*t),
                    _ => {
                        tracing::debug!(request = %key, token = %r.token, "request on a token this keeper does not watch");
                        continue;
                    }
                },
                RequestKind::Deposit | RequestKind::Withdraw => None,
            };
            let market_tokens = match r.kind {
                RequestKind::Mint | RequestKind::Redeem => Vec::new(),
                RequestKind::Deposit | RequestKind::Withdraw => self.market_tokens(&r.market),
            };
            out.push(FoundRequest { key, request: r, market: *m, token, market_tokens });
        }
        out.sort_by_key(|f| f.key);
        Ok(out)
    }
}

/// A pending request found by [`Discovery::scan_requests`], with its keys.
#[derive(Debug, Clone)]
pub struct FoundRequest {
    pub key: Pubkey,
    pub request: Request,
    pub market: MarketKeys,
    /// Its token (mint, redeem).
    pub token: Option<TokenKeys>,
    /// Every token of its market (LP deposit, withdrawal).
    pub market_tokens: Vec<TokenKeys>,
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
    /// The configured oracle account (`keys.market.oracle`) as fetched.
    pub oracle: Option<Account>,
    /// The schedule's grid point when the time trigger is due.
    pub schedule: Option<ScheduleFix>,
    /// The update for `schedule`'s target from the keeper's
    /// [`UpdateSource`], asked when the schedule is due and the token is
    /// neither wiped nor paused.
    pub schedule_update: Option<Result<Update, String>>,
}

/// A pending request as fetched this loop.
#[derive(Debug, Clone)]
pub struct RequestSnapshot {
    pub key: Pubkey,
    pub request: Request,
    pub market: MarketKeys,
    /// Its token (mint, redeem).
    pub token: Option<TokenKeys>,
    /// Every token of its market the keeper knows (LP deposit, withdrawal:
    /// the execution values the pool on all of them).
    pub market_tokens: Vec<TokenKeys>,
    pub oracle_kind: OracleKind,
    /// Where it stands at this loop's clock (the SDK's `requests::stage`).
    pub stage: RequestStage,
    /// Whether the owner's destination account (`request.destination`) exists.
    pub destination_exists: bool,
    /// The update for its price time from the keeper's [`UpdateSource`],
    /// asked once it is executable.
    pub update: Option<Result<Update, String>>,
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
    /// Pending requests of the watched markets.
    pub requests: Vec<RequestSnapshot>,
    /// Why the request scan failed this loop, if it did.
    pub request_scan_error: Option<String>,
}

impl Snapshot {
    /// The cluster clock as this loop saw it (the slot read and the Clock
    /// sysvar's unix time).
    pub fn clock(&self) -> Clock {
        Clock { slot: self.slot, unix_timestamp: self.unix_timestamp, ..Clock::default() }
    }
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

/// Fetch one loop's snapshot: refresh discovery when due, scan for pending
/// requests, read the slot and everything else in one batched `accounts`
/// call, then ask `source` for the updates of due schedules and executable
/// requests.
pub async fn fetch<C: Chain, S: UpdateSource>(chain: &mut C, disc: &mut Discovery, keeper: &Pubkey, source: &mut S) -> Result<Snapshot, ChainError> {
    if disc.due() {
        disc.refresh(chain).await?;
    }
    disc.loops_since_refresh = disc.loops_since_refresh.map(|n| n + 1);
    let (found_requests, request_scan_error) = if disc.scan_requests {
        match disc.scan_requests(chain).await {
            Ok(r) => (r, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        }
    } else {
        (Vec::new(), None)
    };

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
    // Per request: its market, the market's oracle and the owner's destination.
    let request_slots: Vec<(usize, usize, usize)> = found_requests.iter().map(|f| (b.add(f.market.market), b.add(f.market.oracle), b.add(f.request.destination))).collect();

    let slot = chain.slot().await?;
    let accs = chain.accounts(&b.keys).await?;
    let get = |i: usize| accs.get(i).and_then(|a| a.as_ref());

    let global_pause_flags = decode::<Config>(get(config_ix), "config").ok().map(|c| c.pause_flags);
    let unix_timestamp = get(clock_ix).and_then(|a| decode_clock(&a.data)).map_or(0, |c| c.unix_timestamp);
    let clock = Clock { slot, unix_timestamp, ..Clock::default() };
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
        let schedule = view.token.schedule_fix(view.market.oracle_kind, slot);
        tokens.push(TokenSnapshot { keys: s.keys, view, price, keeper_collateral: s.collateral.0, keeper_collateral_balance, oracle: get(s.oracle).cloned(), schedule, schedule_update: None });
    }
    // Each readable request, with its market's and oracle's place in the batch.
    let mut requests: Vec<(RequestSnapshot, usize, usize)> = Vec::with_capacity(found_requests.len());
    for (FoundRequest { key, request, market, token, market_tokens }, (market_ix, oracle_ix, destination_ix)) in found_requests.into_iter().zip(request_slots) {
        let m: Market = match decode(get(market_ix), "market") {
            Ok(m) => m,
            Err(why) => {
                tracing::warn!(request = %key, reason = %why, "request's market unreadable this loop");
                continue;
            }
        };
        let stage = requests::stage(&request, m.oracle_kind, &clock);
        requests.push((
            RequestSnapshot { key, request, market, token, market_tokens, oracle_kind: m.oracle_kind, stage, destination_exists: get(destination_ix).is_some(), update: None },
            market_ix,
            oracle_ix,
        ));
    }

    // The updates for fixed price times, once per (market, target).
    let mut updates: HashMap<(Pubkey, i64), Result<Update, String>> = HashMap::new();
    for t in &mut tokens {
        let Some(fix) = t.schedule else { continue };
        let rebalance_paused = global_pause_flags.is_none_or(|g| paused(g, t.view.market.pause_flags, t.view.token.pause_flags, PAUSE_REBALANCE));
        if t.view.token.is_wiped() || rebalance_paused {
            continue;
        }
        let k = (t.keys.market.market, fix.target);
        let u = match updates.get(&k) {
            Some(u) => u.clone(),
            None => {
                let q = UpdateQuery { market: &t.view.market, keys: &t.keys.market, target: fix.target, clock: &clock, configured: t.oracle.as_ref() };
                let u = source.update_for(chain, &q).await;
                updates.insert(k, u.clone());
                u
            }
        };
        t.schedule_update = Some(u);
    }
    for (r, market_ix, oracle_ix) in &mut requests {
        if r.stage != RequestStage::Executable {
            continue;
        }
        let k = (r.market.market, r.request.target);
        let u = match updates.get(&k) {
            Some(u) => u.clone(),
            None => {
                let Ok(m) = decode::<Market>(get(*market_ix), "market") else { continue };
                let q = UpdateQuery { market: &m, keys: &r.market, target: r.request.target, clock: &clock, configured: get(*oracle_ix) };
                let u = source.update_for(chain, &q).await;
                updates.insert(k, u.clone());
                u
            }
        };
        r.update = Some(u);
    }
    let requests = requests.into_iter().map(|(r, ..)| r).collect();
    Ok(Snapshot { slot, unix_timestamp, global_pause_flags, tokens, unreadable, keys_fetched: b.keys.len(), requests, request_scan_error })
}
