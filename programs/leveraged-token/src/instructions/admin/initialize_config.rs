use anchor_lang::prelude::*;

use crate::constants::{CONFIG_SEED, MAX_PARAM_DELAY_SECS, MIN_PARAM_DELAY_SECS};
use crate::create::{create_program_account, write_program_account};
use crate::errors::ErrorCode;
use crate::events::ConfigInitialized;
use crate::state::{Config, CONFIG_SPACE};

#[derive(Accounts)]
pub struct InitializeConfig<'info> {
    /// Becomes the admin. Run this in the same deploy step as the program
    /// deployment (migrations/deploy does) so no one else can take it first.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// CHECK: the config PDA (canonical bump), created by the handler with
    /// `create::create_pda_account`, which refuses an address already in use;
    /// lamports sent to it beforehand stay in it.
    #[account(mut, seeds = [CONFIG_SEED], bump)]
    pub config: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

pub fn process_initialize_config(ctx: Context<InitializeConfig>, treasury: Pubkey, param_delay_secs: i64) -> Result<()> {
    if !(MIN_PARAM_DELAY_SECS..=MAX_PARAM_DELAY_SECS).contains(&param_delay_secs) {
        msg!("param_delay_secs must be within [{}, {}], got {}", MIN_PARAM_DELAY_SECS, MAX_PARAM_DELAY_SECS, param_delay_secs);
        return err!(ErrorCode::InvalidParamDelay);
    }
    let a = &ctx.accounts;
    let bump = ctx.bumps.config;
    let seeds: &[&[u8]] = &[CONFIG_SEED, &[bump]];
    let mut config = create_program_account::<Config>(a.admin.as_ref(), a.config.as_ref(), CONFIG_SPACE, seeds, a.system_program.as_ref())?;
    config.version = crate::constants::ACCOUNT_VERSION;
    config.admin = a.admin.key();
    config.pending_admin = Pubkey::default();
    config.treasury = treasury;
    config.pause_flags = 0;
    config.bump = bump;
    config.market_count = 0;
    config.param_delay_secs = param_delay_secs;
    write_program_account(a.config.as_ref(), config.as_ref())?;
    crate::emit_event!(ConfigInitialized { admin: config.admin, treasury, param_delay_secs });
    Ok(())
}
