use anchor_lang::prelude::*;

use super::proposal::require_due;
use crate::constants::{CONFIG_SEED, PAUSE_LIQUIDITY, PAUSE_REDEEM, PROPOSAL_SEED};
use crate::errors::ErrorCode;
use crate::events::MarketParamsUpdated;
use crate::pause::paused;
use crate::state::{Config, Market, ParamChange, ParamProposal};
use anchor_spl::token::TokenAccount;

#[derive(Accounts)]
pub struct ApplyMarketParams<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    /// The pool's cash sets the borrow rate the market accrues at before the change.
    #[account(address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        seeds = [PROPOSAL_SEED, market.key().as_ref()],
        bump = proposal.bump,
        has_one = proposer @ ErrorCode::WrongProposal,
        close = proposer,
    )]
    pub proposal: Box<Account<'info, ParamProposal>>,
    /// CHECK: receives the proposal's rent; must be the proposer (`has_one`).
    #[account(mut)]
    pub proposer: UncheckedAccount<'info>,
}

/// Permissionless once due: accrue funding and borrow at the old rates (no
/// change reaches back in time), then replace the market's parameters.
/// Refused while LP withdrawals or redeems are paused on the market.
pub fn process_apply_market_params(ctx: Context<ApplyMarketParams>) -> Result<()> {
    let a = &mut *ctx.accounts;
    let ParamChange::Market(params) = a.proposal.change else { return err!(ErrorCode::WrongProposal) };
    require_due(&a.proposal)?;
    require!(!paused(a.config.pause_flags, a.market.pause_flags, 0, PAUSE_LIQUIDITY | PAUSE_REDEEM), ErrorCode::ExitsPaused);
    params.validate()?;
    let pool_amount = a.pool_vault.amount;
    let market = &mut a.market;
    market.accrue(Clock::get()?.unix_timestamp, pool_amount)?;
    let old = market.params;
    market.params = params;
    crate::emit_event!(MarketParamsUpdated { market: market.key(), old, new: params });
    Ok(())
}
