//! Pause flags at three scopes: global (config), market, token. The effective
//! flags of a token are the OR of the three.

use anchor_lang::prelude::*;

use crate::constants::{CONFIG_SEED, PAUSE_ALL};
use crate::errors::ErrorCode;
use crate::events::PauseSet;
use crate::pause::PauseScope;
use crate::state::{Config, LeveragedToken, Market};

fn apply(flags: &mut u8, mask: u8, paused: bool) -> Result<(u8, u8)> {
    require!(mask != 0 && mask & !PAUSE_ALL == 0, ErrorCode::InvalidPauseFlags);
    let old = *flags;
    *flags = if paused { old | mask } else { old & !mask };
    Ok((old, *flags))
}

#[derive(Accounts)]
pub struct SetGlobalPause<'info> {
    pub admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
}

/// Set (`paused = true`) or clear the flags in `mask` globally.
pub fn process_set_global_pause(ctx: Context<SetGlobalPause>, mask: u8, paused: bool) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let (old_flags, new_flags) = apply(&mut config.pause_flags, mask, paused)?;
    crate::emit_event!(PauseSet { scope: PauseScope::Global, target: config.key(), old_flags, new_flags });
    Ok(())
}

#[derive(Accounts)]
pub struct SetMarketPause<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
}

pub fn process_set_market_pause(ctx: Context<SetMarketPause>, mask: u8, paused: bool) -> Result<()> {
    let market = &mut ctx.accounts.market;
    let (old_flags, new_flags) = apply(&mut market.pause_flags, mask, paused)?;
    crate::emit_event!(PauseSet { scope: PauseScope::Market, target: market.key(), old_flags, new_flags });
    Ok(())
}

#[derive(Accounts)]
pub struct SetTokenPause<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub token: Box<Account<'info, LeveragedToken>>,
}

pub fn process_set_token_pause(ctx: Context<SetTokenPause>, mask: u8, paused: bool) -> Result<()> {
    let token = &mut ctx.accounts.token;
    let (old_flags, new_flags) = apply(&mut token.pause_flags, mask, paused)?;
    crate::emit_event!(PauseSet { scope: PauseScope::Token, target: token.key(), old_flags, new_flags });
    Ok(())
}
