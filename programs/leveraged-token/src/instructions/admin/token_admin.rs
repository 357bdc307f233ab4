use anchor_lang::prelude::*;

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::state::{Config, LeveragedToken};

/// The admin acting on one token: its pause flags (`set_token_pause`). Parameters
/// change through a timelocked proposal (`propose_token_params`).
#[derive(Accounts)]
pub struct TokenAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub token: Box<Account<'info, LeveragedToken>>,
}
