//! Pause flags at three scopes: global (config), market, token. The effective
//! flags of a token are the OR of the three.

use anchor_lang::prelude::*;

use super::{MarketAdmin, TokenAdmin};
use crate::constants::{CONFIG_SEED, PAUSE_ALL};
use crate::errors::ErrorCode;
use crate::events::PauseSet;
use crate::pause::PauseScope;
use crate::state::Config;

/// Set (`paused = true`) or clear the flags in `mask` of `flags`, the flags
/// of `target` at `scope`, and emit the change.
fn set_flags(scope: PauseScope, target: Pubkey, flags: &mut u8, mask: u8, paused: bool) -> Result<()> {
    require!(mask != 0 && mask & !PAUSE_ALL == 0, ErrorCode::InvalidPauseFlags);
    let old_flags = *flags;
    *flags = if paused { old_flags | mask } else { old_flags & !mask };
    crate::emit_event!(PauseSet { scope, target, old_flags, new_flags: *flags });
    Ok(())
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
    set_flags(PauseScope::Global, config.key(), &mut config.pause_flags, mask, paused)
}

/// The same on one market.
pub fn process_set_market_pause(ctx: Context<MarketAdmin>, mask: u8, paused: bool) -> Result<()> {
    let market = &mut ctx.accounts.market;
    set_flags(PauseScope::Market, market.key(), &mut market.pause_flags, mask, paused)
}

/// The same on one token.
pub fn process_set_token_pause(ctx: Context<TokenAdmin>, mask: u8, paused: bool) -> Result<()> {
    let token = &mut ctx.accounts.token;
    set_flags(PauseScope::Token, token.key(), &mut token.pause_flags, mask, paused)
}
