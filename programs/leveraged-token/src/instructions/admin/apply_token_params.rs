use anchor_lang::prelude::*;
use anchor_spl::token::Token;

use super::proposal::require_due;
use crate::constants::{PAUSE_REDEEM, PROPOSAL_SEED};
use crate::errors::ErrorCode;
use crate::events::TokenParamsUpdated;
use crate::instructions::token::position::*;
use crate::state::{ParamChange, ParamProposal};

#[derive(Accounts)]
pub struct ApplyTokenParams<'info> {
    /// The token settles at its old parameters before they change.
    pub position: PositionAccounts<'info>,
    #[account(
        mut,
        seeds = [PROPOSAL_SEED, position.token.key().as_ref()],
        bump = proposal.bump,
        has_one = proposer @ ErrorCode::WrongProposal,
        close = proposer,
    )]
    pub proposal: Box<Account<'info, ParamProposal>>,
    /// CHECK: receives the proposal's rent; must be the proposer (`has_one`).
    #[account(mut)]
    pub proposer: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless once due: settle the token at the oracle price with its
/// old parameters (streaming fee, borrow and PnL up to now), then replace
/// them, so no change reaches back in time. Refused while redeems are paused
/// at any scope: holders can always leave before a change reaches them.
pub fn process_apply_token_params(mut ctx: Context<ApplyTokenParams>) -> Result<()> {
    let ParamChange::Token(params) = ctx.accounts.proposal.change else { return err!(ErrorCode::WrongProposal) };
    require_due(&ctx.accounts.proposal)?;
    require!(!ctx.accounts.position.paused(PAUSE_REDEEM), ErrorCode::ExitsPaused);
    params.validate(ctx.accounts.position.token.target_leverage_bps)?;
    if !ctx.accounts.position.token.is_wiped() {
        let clock = Clock::get()?;
        let (_, s) = ctx.accounts.position.settle(&clock)?;
        let a = &ctx.accounts;
        a.position.move_collateral(&a.token_program, s.transfer)?;
        let a = &mut ctx.accounts;
        a.position.finish(&a.token_program, &s, true)?;
    }
    let token = &mut ctx.accounts.position.token;
    let old = token.params;
    token.params = params;
    crate::emit_event!(TokenParamsUpdated { token: token.key(), old, new: params });
    Ok(())
}
