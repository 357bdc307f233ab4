//! The accounts of an LP's entry to or exit from a market's pool, shared by
//! execute_deposit and execute_withdraw (a nested `Accounts` struct: each
//! relationship check is written here once, and the five accounts keep their
//! place in both instructions' account lists). The LP's own accounts are the
//! request's ([`RequestAccounts`](crate::instructions::request::RequestAccounts)).

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, TokenAccount};

use crate::constants::{CONFIG_SEED, PAUSE_LIQUIDITY};
use crate::errors::ErrorCode;
use crate::math::pool::{pool_value, Side};
use crate::math::price::NormalizedPrice;
use crate::pause::paused;
use crate::state::{Config, Market};

/// A market, its oracle, its pool vault and LP mint.
#[derive(Accounts)]
pub struct PoolAccounts<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: validated by `oracle::read_sample_at` against the market and the request's price time.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.lp_mint @ ErrorCode::WrongLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
}

impl<'info> PoolAccounts<'info> {
    /// Whether liquidity is paused globally or on this market.
    pub fn paused(&self) -> bool {
        paused(self.config.pause_flags, self.market.pause_flags, 0, PAUSE_LIQUIDITY)
    }

    /// Accrue `market` (a copy of this pool's, committed only by a fill) to
    /// `slot` and value the pool at `price` on `side` of its confidence
    /// interval (the side worse for the LP).
    pub fn value_at(&self, market: &mut Market, price: &NormalizedPrice, side: Side, slot: u64) -> Result<u128> {
        market.accrue(slot)?;
        Ok(pool_value(self.pool_vault.amount, &market.aggregates(), market.borrow_index, price.price, price.conf, side)?)
    }
}
