use anchor_lang::prelude::*;

use crate::math::funding::{index_step, IndexStep, RateParams};
use crate::math::pool::{lp_cash, Aggregates};
use crate::math::{mul_div_floor, MathError, MathResult, BPS, INDEX_SCALE};
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
    /// Insurance vault: token account of the collateral, authority = this
    /// market, PDA `["insurance_vault", market]`. Funded by
    /// `insurance_share_bps` of trade fees and of the pool's funding and
    /// borrow income; pays bad debt before the LPs do.
    pub insurance_vault: Pubkey,
    pub insurance_vault_bump: u8,
    /// The insurance fund's share recorded and not yet moved from the pool
    /// vault (the next settling instruction moves it).
    pub insurance_owed: u64,
    /// Bad debt the insurance fund covered, in total.
    pub insurance_covered_total: u64,
    /// Cumulative charge per unit of notional × INDEX_SCALE (funding and
    /// borrow; positive pays), per side, and the borrow-only part of it.
    pub long_index: i128,
    pub short_index: i128,
    pub long_borrow_index: u128,
    pub short_borrow_index: u128,
    /// Unix time the indices were accrued to.
    pub last_accrual_time: i64,
    /// Sums over tokens ([`Aggregates`]).
    pub net_base: i128,
    pub net_cost: i128,
    pub gross_base: u128,
    pub long_notional: u128,
    pub short_notional: u128,
    pub long_weighted: i128,
    pub short_weighted: i128,
    pub prepaid_total: u128,
    /// The pool's funding and borrow income, in total (× INDEX_SCALE).
    pub income_total_scaled: i128,
    pub token_count: u32,
    /// Bad debt beyond the tokens' vaults, in total (the insurance fund
    /// covered `insurance_covered_total` of it; the LPs the rest).
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
pub const MARKET_SPACE: usize = 602;
/// Reserved bytes (layout 2).
pub const MARKET_RESERVED_BYTES: usize = crate::constants::RESERVED_BYTES;
const _: () = assert!(MARKET_SPACE == 8 + 1 + 5 + 1 + 32 * 4 + MARKET_PARAMS_BYTES + (32 + 1 + 8 + 8) + 16 * 4 + 8 + 16 * 8 + 16 + 4 + 8 + 8 + 32 + MARKET_RESERVED_BYTES);
/// Bytes of [`MarketParams`].
pub const MARKET_PARAMS_BYTES: usize = 2 + 4 * 5 + 2 + 4 * 4 + 8 + 8 + 2 + 2 + 4 + 4 + 2 + 8;
const _: () = assert!(8 + Market::INIT_SPACE == MARKET_SPACE);

impl Market {
    pub fn aggregates(&self) -> Aggregates {
        Aggregates {
            net_base: self.net_base,
            net_cost: self.net_cost,
            gross_base: self.gross_base,
            long_notional: self.long_notional,
            short_notional: self.short_notional,
            long_weighted: self.long_weighted,
            short_weighted: self.short_weighted,
            prepaid: self.prepaid_total,
        }
    }

    pub fn set_aggregates(&mut self, a: &Aggregates) {
        self.net_base = a.net_base;
        self.net_cost = a.net_cost;
        self.gross_base = a.gross_base;
        self.long_notional = a.long_notional;
        self.short_notional = a.short_notional;
        self.long_weighted = a.long_weighted;
        self.short_weighted = a.short_weighted;
        self.prepaid_total = a.prepaid;
    }

    /// The rate curve of the market's parameters.
    pub fn rate_params(&self) -> RateParams {
        self.params.rates()
    }

    /// The cash the pool holds for LPs, given its vault's balance.
    pub fn lp_cash(&self, pool_vault: u64) -> u64 {
        lp_cash(pool_vault, self.insurance_owed)
    }

    /// The index steps [`Market::accrue`] would apply at unix time `now`
    /// with the pool vault holding `pool_vault` (pure: the settlement
    /// preview, the pool valuation and every client use it).
    pub fn index_step_at(&self, now: i64, pool_vault: u64) -> MathResult<IndexStep> {
        let secs = u64::try_from(now.saturating_sub(self.last_accrual_time)).unwrap_or(0);
        index_step(&self.rate_params(), &self.aggregates().book(), u128::from(self.lp_cash(pool_vault)), secs)
    }

    /// The four indices at `now` (long, short, long borrow, short borrow).
    pub fn indices_at(&self, now: i64, pool_vault: u64) -> MathResult<Indices> {
        let st = self.index_step_at(now, pool_vault)?;
        Ok(Indices {
            long: self.long_index.checked_add(st.long).ok_or(MathError::Overflow)?,
            short: self.short_index.checked_add(st.short).ok_or(MathError::Overflow)?,
            long_borrow: self.long_borrow_index.checked_add(st.long_borrow).ok_or(MathError::Overflow)?,
            short_borrow: self.short_borrow_index.checked_add(st.short_borrow).ok_or(MathError::Overflow)?,
        })
    }

    /// Accrue funding and borrow to unix time `now` (a no-op if not later
    /// than the last accrual): the indices step, the pool's income is
    /// recorded, and the insurance fund's share of it is owed to it.
    pub fn accrue(&mut self, now: i64, pool_vault: u64) -> Result<()> {
        if now <= self.last_accrual_time {
            return Ok(());
        }
        let st = self.index_step_at(now, pool_vault)?;
        let i = self.indices_at(now, pool_vault)?;
        let income = st.pool_income_scaled(&self.aggregates().book())?;
        self.long_index = i.long;
        self.short_index = i.short;
        self.long_borrow_index = i.long_borrow;
        self.short_borrow_index = i.short_borrow;
        self.last_accrual_time = now;
        self.income_total_scaled = self.income_total_scaled.checked_add(income).ok_or(crate::errors::ErrorCode::MathOverflow)?;
        let share = mul_div_floor(income.max(0).unsigned_abs(), u128::from(self.params.insurance_share_bps), BPS.checked_mul(INDEX_SCALE).ok_or(MathError::Overflow)?)?;
        self.owe_insurance(u64::try_from(share).map_err(|_| MathError::Overflow)?)
    }

    /// Record the insurance fund's share of a trade fee paid to the pool.
    pub fn owe_insurance_on_trade_fee(&mut self, trade_fee: u64) -> Result<()> {
        let share = mul_div_floor(u128::from(trade_fee), u128::from(self.params.insurance_share_bps), BPS)?;
        self.owe_insurance(u64::try_from(share).map_err(|_| MathError::Overflow)?)
    }

    fn owe_insurance(&mut self, amount: u64) -> Result<()> {
        self.insurance_owed = self.insurance_owed.checked_add(amount).ok_or(crate::errors::ErrorCode::MathOverflow)?;
        Ok(())
    }

    /// A side's charge and borrow indices (`long` = base ≥ 0).
    pub fn side_indices(i: &Indices, long: bool) -> (i128, u128) {
        if long {
            (i.long, i.long_borrow)
        } else {
            (i.short, i.short_borrow)
        }
    }
}

/// The market's four indices at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indices {
    pub long: i128,
    pub short: i128,
    pub long_borrow: u128,
    pub short_borrow: u128,
}
