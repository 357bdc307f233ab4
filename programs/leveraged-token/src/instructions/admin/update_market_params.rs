use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::events::MarketParamsUpdated;
use crate::state::{Config, Market, MarketParams};

/// The admin acting on one market: its parameters (`update_market_params`)
/// or its pause flags (`set_market_pause`).
#[derive(Accounts)]
pub struct MarketAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
}

/// Replace the market's parameters. The borrow index is accrued at the old rate
/// first, so a rate change never applies retroactively.
pub fn process_update_market_params(ctx: Context<MarketAdmin>, params: MarketParams) -> Result<()> {
    params.validate()?;
    let market = &mut ctx.accounts.market;
    market.accrue(Clock::get()?.slot)?;
    let old = market.params;
    market.params = params;
    crate::emit_event!(MarketParamsUpdated { market: market.key(), old, new: params });
    Ok(())
}
