use anchor_lang::prelude::*;

use super::proposal::open_proposal;
use crate::constants::{CONFIG_SEED, PROPOSAL_SEED};
use crate::errors::ErrorCode;
use crate::state::{Config, LeveragedToken, ParamChange, TokenParams};

#[derive(Accounts)]
pub struct ProposeTokenParams<'info> {
    /// Pays the proposal's rent (returned when it is applied or cancelled).
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    pub token: Box<Account<'info, LeveragedToken>>,
    /// CHECK: the proposal PDA (canonical bump), created by the handler with
    /// `create::create_pda_account`: one pending change per token, a second
    /// proposal fails until this one is applied or cancelled.
    #[account(mut, seeds = [PROPOSAL_SEED, token.key().as_ref()], bump)]
    pub proposal: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// Propose new token parameters (validated now against the token's fixed
/// target leverage); they apply after the config's delay
/// ([`process_apply_token_params`](super::process_apply_token_params)).
pub fn process_propose_token_params(ctx: Context<ProposeTokenParams>, params: TokenParams) -> Result<()> {
    params.validate(ctx.accounts.token.target_leverage_bps)?;
    let a = &ctx.accounts;
    open_proposal(a.admin.as_ref(), a.proposal.as_ref(), a.system_program.as_ref(), ctx.bumps.proposal, &a.config, a.token.key(), ParamChange::Token(params))
}
