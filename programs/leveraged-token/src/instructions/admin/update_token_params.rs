use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::events::TokenParamsUpdated;
use crate::state::{Config, LeveragedToken, TokenParams};

/// The admin acting on one token: its parameters (`update_token_params`)
/// or its pause flags (`set_token_pause`).
#[derive(Accounts)]
pub struct TokenAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub token: Box<Account<'info, LeveragedToken>>,
}

/// Replace the token's parameters (its target leverage is fixed at creation).
pub fn process_update_token_params(ctx: Context<TokenAdmin>, params: TokenParams) -> Result<()> {
    let token = &mut ctx.accounts.token;
    params.validate(token.target_leverage_bps)?;
    let old = token.params;
    token.params = params;
    crate::emit_event!(TokenParamsUpdated { token: token.key(), old, new: params });
    Ok(())
}
