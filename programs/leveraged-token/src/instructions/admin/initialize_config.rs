use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::events::ConfigInitialized;
use crate::state::{Config, CONFIG_SPACE};

#[derive(Accounts)]
pub struct InitializeConfig<'info> {
    /// Becomes the admin. Run this in the same deploy step as the program
    /// deployment (migrations/deploy does) so no one else can take it first.
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = CONFIG_SPACE, seeds = [CONFIG_SEED], bump)]
    pub config: Box<Account<'info, Config>>,
    pub system_program: Program<'info, System>,
}

pub fn process_initialize_config(ctx: Context<InitializeConfig>, treasury: Pubkey) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.version = crate::constants::ACCOUNT_VERSION;
    config.admin = ctx.accounts.admin.key();
    config.pending_admin = Pubkey::default();
    config.treasury = treasury;
    config.pause_flags = 0;
    config.bump = ctx.bumps.config;
    config.market_count = 0;
    crate::emit_event!(ConfigInitialized { admin: config.admin, treasury });
    Ok(())
}
