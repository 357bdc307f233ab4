use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::events::ParamProposalCancelled;
use crate::state::{Config, ParamProposal};

#[derive(Accounts)]
pub struct CancelParamProposal<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, has_one = proposer @ ErrorCode::WrongProposal, close = proposer)]
    pub proposal: Box<Account<'info, ParamProposal>>,
    /// CHECK: receives the proposal's rent; must be the proposer (`has_one`).
    #[account(mut)]
    pub proposer: UncheckedAccount<'info>,
}

/// The admin withdraws a pending change (at any time); its rent returns to
/// the proposer.
pub fn process_cancel_param_proposal(ctx: Context<CancelParamProposal>) -> Result<()> {
    let p = &ctx.accounts.proposal;
    crate::emit_event!(ParamProposalCancelled { target: p.target, change: p.change });
    Ok(())
}
