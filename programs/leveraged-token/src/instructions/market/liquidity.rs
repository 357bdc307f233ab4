//! The accounts of an LP's entry to or exit from a market's pool, shared by
//! deposit_liquidity and withdraw_liquidity (a nested `Accounts` struct: each
//! relationship check is written here once, and the seven accounts keep their
//! place in both instructions' account lists). Which of the LP's two token
//! accounts the signer must own is the instruction's own check.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, TokenAccount};

use crate::constants::{CONFIG_SEED, PAUSE_LIQUIDITY};
use crate::errors::ErrorCode;
use crate::math::pool::{pool_value, Side};
use crate::math::price::NormalizedPrice;
use crate::oracle;
use crate::pause::paused;
use crate::state::{Config, Market};

/// A market, its oracle, its pool vault and LP mint, and the LP's collateral
/// and LP token accounts.
#[derive(Accounts)]
pub struct LiquidityAccounts<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: validated by `oracle::read_fresh_price` against the market.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.lp_mint @ ErrorCode::WrongLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = owner_collateral.mint == market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = owner_collateral.key() != pool_vault.key() @ ErrorCode::DuplicateAccount,
    )]
    pub owner_collateral: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_lp.mint == market.lp_mint @ ErrorCode::WrongLpMint)]
    pub owner_lp: Box<Account<'info, TokenAccount>>,
}

impl<'info> LiquidityAccounts<'info> {
    /// Whether liquidity is paused globally or on this market.
    pub fn paused(&self) -> bool {
        paused(self.config.pause_flags, self.market.pause_flags, 0, PAUSE_LIQUIDITY)
    }

    /// Accrue the borrow index, read the oracle, and value the pool on `side`
    /// of the confidence interval (the side worse for the LP).
    pub fn value_pool(&mut self, side: Side, clock: &Clock) -> Result<(NormalizedPrice, u128)> {
        let market = &mut self.market;
        market.accrue(clock.slot)?;
        let price = oracle::read_fresh_price(market, &self.oracle.to_account_info(), clock)?;
        let value = pool_value(self.pool_vault.amount, &market.aggregates(), market.borrow_index, price.price, price.conf, side)?;
        Ok((price, value))
    }
}
