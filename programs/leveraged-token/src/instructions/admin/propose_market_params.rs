use anchor_lang::prelude::*;

use super::proposal::open_proposal;
use crate::constants::{CONFIG_SEED, PROPOSAL_SEED};
use crate::errors::ErrorCode;
use crate::state::{Config, Market, MarketParams, ParamChange};

#[derive(Accounts)]
pub struct ProposeMarketParams<'info> {
    /// Pays the proposal's rent (returned when it is applied or cancelled).
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    pub market: Box<Account<'info, Market>>,
    /// CHECK: the proposal PDA (canonical bump), created by the handler with
    /// `create::create_pda_account`: one pending change per market, a second
    /// proposal fails until this one is applied or cancelled.
    #[account(mut, seeds = [PROPOSAL_SEED, market.key().as_ref()], bump)]
    pub proposal: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Propose new market parameters (validated now); they apply after the
/// config's delay ([`process_apply_market_params`](super::process_apply_market_params)).
pub fn process_propose_market_params(ctx: Context<ProposeMarketParams>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let a = &ctx.accounts;
    open_proposal(a.admin.as_ref(), a.proposal.as_ref(), a.system_program.as_ref(), ctx.bumps.proposal, &a.config, a.market.key(), ParamChange::Market(params))
}
