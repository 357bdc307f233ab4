//! The addresses an instruction needs, derived once from a market's identity.

use anchor_lang::prelude::Pubkey;
use leveraged_token::pda;
use leveraged_token::state::{LeveragedToken, Market, OracleKind, RequestKind};

/// Addresses of a market and its LP pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketKeys {
    pub market: Pubkey,
    pub collateral_mint: Pubkey,
    /// The oracle account passed to instructions (legacy: the pinned price
    /// account; pull: any fresh `PriceUpdateV2` account for the feed).
    pub oracle: Pubkey,
    pub oracle_id: [u8; 32],
    pub pool_vault: Pubkey,
    pub lp_mint: Pubkey,
    pub insurance_vault: Pubkey,
}

impl MarketKeys {
    /// Keys of the market for a Pyth legacy price account.
    pub fn legacy(price_account: Pubkey, collateral_mint: Pubkey) -> Self {
        Self::new(price_account.to_bytes(), price_account, collateral_mint)
    }

    /// Keys of the market for a Pyth pull feed, reading prices from `update_account`.
    pub fn pull(feed_id: [u8; 32], update_account: Pubkey, collateral_mint: Pubkey) -> Self {
        Self::new(feed_id, update_account, collateral_mint)
    }

    pub fn new(oracle_id: [u8; 32], oracle: Pubkey, collateral_mint: Pubkey) -> Self {
        let (market, _) = pda::market(&oracle_id, &collateral_mint);
        Self { market, collateral_mint, oracle, oracle_id, pool_vault: pda::pool_vault(&market).0, lp_mint: pda::lp_mint(&market).0, insurance_vault: pda::insurance_vault(&market).0 }
    }

    /// Keys of an on-chain market; `oracle` overrides the pull update account.
    pub fn from_market(market: &Market, oracle: Option<Pubkey>) -> Self {
        let default_oracle = match market.oracle_kind {
            OracleKind::PythLegacy => Pubkey::new_from_array(market.oracle_id),
            OracleKind::PythPull => Pubkey::default(),
        };
        Self::new(market.oracle_id, oracle.unwrap_or(default_oracle), market.collateral_mint)
    }

    /// Keys of the token with `target_leverage_bps` on this market.
    pub fn token(&self, target_leverage_bps: i32) -> TokenKeys {
        let (token, _) = pda::leveraged_token(&self.market, target_leverage_bps);
        TokenKeys { market: *self, token, target_leverage_bps, share_mint: pda::share_mint(&token).0, vault: pda::token_vault(&token).0 }
    }
}

/// Addresses of a leveraged token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenKeys {
    pub market: MarketKeys,
    pub token: Pubkey,
    pub target_leverage_bps: i32,
    pub share_mint: Pubkey,
    pub vault: Pubkey,
}

impl TokenKeys {
    pub fn from_token(market: MarketKeys, token: &LeveragedToken) -> Self {
        market.token(token.target_leverage_bps)
    }
}

/// Pyth push-oracle program: owner of the seeds of the sponsored pull price
/// feed accounts (`[shard_id u16 LE, feed_id]`), which the receiver owns.
pub const PYTH_PUSH_ORACLE: Pubkey = anchor_lang::prelude::pubkey!("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT");

/// The sponsored `PriceUpdateV2` account of a pull feed on shard 0 (the
/// account Pyth keeps fresh on mainnet-beta and devnet). The keeper reads it
/// by default; `lt` and `lt-deploy` name it in their hints.
pub fn sponsored_feed_account(feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[&0u16.to_le_bytes(), feed_id], &PYTH_PUSH_ORACLE).0
}

/// The addresses of `owner`'s request with `nonce`, paying in `pay_mint` and
/// paid out in `out_mint`: the request and escrow PDAs and the owner's two
/// associated token accounts (`source` also receives refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKeys {
    pub owner: Pubkey,
    pub nonce: u64,
    pub request: Pubkey,
    pub escrow: Pubkey,
    pub pay_mint: Pubkey,
    pub out_mint: Pubkey,
    pub source: Pubkey,
    pub destination: Pubkey,
}

impl RequestKeys {
    pub fn new(owner: Pubkey, nonce: u64, pay_mint: Pubkey, out_mint: Pubkey) -> Self {
        let request = pda::request(&owner, nonce).0;
        Self { owner, nonce, request, escrow: pda::escrow(&request).0, pay_mint, out_mint, source: pda::associated_token(&owner, &pay_mint), destination: pda::associated_token(&owner, &out_mint) }
    }

    /// The keys of a request of `kind` on token `t` (mint, redeem) or its market (LP).
    pub fn of(kind: RequestKind, owner: Pubkey, nonce: u64, m: &MarketKeys, share_mint: Option<Pubkey>) -> Self {
        let (pay, out) = match kind {
            RequestKind::Mint => (m.collateral_mint, share_mint.unwrap_or_default()),
            RequestKind::Redeem => (share_mint.unwrap_or_default(), m.collateral_mint),
            RequestKind::Deposit => (m.collateral_mint, m.lp_mint),
            RequestKind::Withdraw => (m.lp_mint, m.collateral_mint),
        };
        Self::new(owner, nonce, pay, out)
    }
}
