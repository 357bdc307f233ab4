use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::events::AdminAccepted;
use crate::state::Config;

#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(
        mut,
        seeds = [CONFIG_SEED],
        bump = config.bump,
        constraint = config.has_pending_admin() @ ErrorCode::NoPendingAdmin,
        constraint = config.pending_admin == new_admin.key() @ ErrorCode::NotPendingAdmin,
    )]
    pub config: Box<Account<'info, Config>>,
}

/// Step two: the proposed admin signs to take over; the old admin loses all rights.
pub fn process_accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let old_admin = config.admin;
    config.admin = ctx.accounts.new_admin.key();
    config.pending_admin = Pubkey::default();
    crate::emit_event!(AdminAccepted { old_admin, new_admin: config.admin });
    Ok(())
}
