use anchor_lang::prelude::*;

use crate::constants::{CONFIG_SEED, MAX_PARAM_DELAY_SECS, MIN_PARAM_DELAY_SECS};
use crate::errors::ErrorCode;
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

pub fn process_initialize_config(ctx: Context<InitializeConfig>, treasury: Pubkey, param_delay_secs: i64) -> Result<()> {
    if !(MIN_PARAM_DELAY_SECS..=MAX_PARAM_DELAY_SECS).contains(&param_delay_secs) {
        msg!("param_delay_secs must be within [{}, {}], got {}", MIN_PARAM_DELAY_SECS, MAX_PARAM_DELAY_SECS, param_delay_secs);
        return err!(ErrorCode::InvalidParamDelay);
    }
    let config = &mut ctx.accounts.config;
    config.version = crate::constants::ACCOUNT_VERSION;
    config.admin = ctx.accounts.admin.key();
    config.pending_admin = Pubkey::default();
    config.treasury = treasury;
    config.pause_flags = 0;
    config.bump = ctx.bumps.config;
    config.market_count = 0;
    config.param_delay_secs = param_delay_secs;
    crate::emit_event!(ConfigInitialized { admin: config.admin, treasury, param_delay_secs });
    Ok(())
}
