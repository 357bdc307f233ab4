use anchor_lang::prelude::*;

use crate::math::pool::Aggregates;
use crate::state::MarketParams;

/// Oracle kinds a market may use.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleKind {
    /// Pyth push oracle price account (pyth-sdk-solana); pinned by address.
    PythLegacy,
    /// Pyth pull `PriceUpdateV2` account (Pyth Solana Receiver); pinned by feed id.
    PythPull,
}

/// A market: one oracle feed and one collateral mint, with the LP pool that is
/// the counterparty of every token's perp position in it.
/// PDA seeds `["market", oracle_id, collateral_mint]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Market {
    /// Layout version ([`ACCOUNT_VERSION`](crate::constants::ACCOUNT_VERSION) at creation).
    pub version: u8,
    pub bump: u8,
    pub pool_vault_bump: u8,
    pub lp_mint_bump: u8,
    pub collateral_decimals: u8,
    pub pause_flags: u8,
    pub oracle_kind: OracleKind,
    /// Legacy: the price account's address. Pull: the Pyth feed id.
    pub oracle_id: [u8; 32],
    pub collateral_mint: Pubkey,
    /// Pool vault: token account of the collateral mint, authority = this market.
    pub pool_vault: Pubkey,
    /// LP share mint, authority = this market.
    pub lp_mint: Pubkey,
    pub params: MarketParams,
    /// Cumulative borrow fee per unit of notional × INDEX_SCALE.
    pub borrow_index: u128,
    pub last_accrual_slot: u64,
    /// Σ over tokens of base, cost, |cost|, |cost| × snapshot and |base|.
    pub net_base: i128,
    pub net_cost: i128,
    pub total_abs_cost: u128,
    pub weighted_snapshot: u128,
    /// Σ |base| over tokens: gross open interest in base units.
    pub gross_base: u128,
    pub token_count: u32,
    /// Total bad debt the pool has absorbed.
    pub bad_debt_total: u64,
    /// Publish time (pull: unix seconds; legacy: slot) of the newest price used:
    /// older prices are refused.
    pub last_oracle_publish: i64,
    /// The collateral mint's freeze authority, which the admin accepted at
    /// creation (`create_market`'s `trusted_freeze_authority` must name it) as
    /// trust in the collateral issuer: that key can freeze the pool vault and
    /// every token vault of the market (`Pubkey::default()`: the mint has none).
    pub trusted_freeze_authority: Pubkey,
    /// Zero; room for fields added by upgrades.
    pub reserved: [u8; MARKET_RESERVED_BYTES],
}

/// Bytes of a `Market` account (discriminator included), pinned: a layout
/// change must change this literal (and `version`) on purpose.
pub const MARKET_SPACE: usize = 359;
/// Reserved bytes left after the fields added since layout 1 was pinned.
pub const MARKET_RESERVED_BYTES: usize = crate::constants::RESERVED_BYTES - 32 - 20;
const _: () = assert!(MARKET_SPACE == 8 + 1 + 5 + 1 + 32 * 4 + (2 + 4 + 4 + 8 + 8 + 2 + 2 + 4 + 4 + 2 + 8) + 16 + 8 + 16 * 5 + 4 + 8 + 8 + 32 + MARKET_RESERVED_BYTES);
const _: () = assert!(8 + Market::INIT_SPACE == MARKET_SPACE);

impl Market {
    pub fn aggregates(&self) -> Aggregates {
        Aggregates { net_base: self.net_base, net_cost: self.net_cost, total_abs_cost: self.total_abs_cost, weighted_snapshot: self.weighted_snapshot, gross_base: self.gross_base }
    }

    pub fn set_aggregates(&mut self, a: &Aggregates) {
        self.net_base = a.net_base;
        self.net_cost = a.net_cost;
        self.total_abs_cost = a.total_abs_cost;
        self.weighted_snapshot = a.weighted_snapshot;
        self.gross_base = a.gross_base;
    }

    /// Accrue the borrow index up to `slot`.
    pub fn accrue(&mut self, slot: u64) -> Result<()> {
        let index = self.borrow_index_at(slot)?;
        if slot > self.last_accrual_slot {
            self.borrow_index = index;
            self.last_accrual_slot = slot;
        }
        Ok(())
    }

    /// The borrow index [`Market::accrue`] would set at `slot` (pure: the
    /// settlement preview and every client use it).
    pub fn borrow_index_at(&self, slot: u64) -> crate::math::MathResult<u128> {
        let elapsed = slot.saturating_sub(self.last_accrual_slot);
        if elapsed == 0 {
            return Ok(self.borrow_index);
        }
        let d = crate::math::fees::borrow_index_delta_floor(self.params.borrow_rate_bps, elapsed)?;
        self.borrow_index.checked_add(d).ok_or(crate::math::MathError::Overflow)
    }
}
