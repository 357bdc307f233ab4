use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::{CONFIG_SEED, SHARE_MINT_SEED, TOKEN_SEED, TOKEN_VAULT_SEED};
use crate::errors::ErrorCode;
use crate::events::TokenCreated;
use crate::state::{Config, LeveragedToken, Market, TokenParams, TokenStatus, TOKEN_SPACE};

#[derive(Accounts)]
#[instruction(target_leverage_bps: i32)]
pub struct CreateLeveragedToken<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    #[account(address = market.collateral_mint @ ErrorCode::WrongCollateralMint)]
    pub collateral_mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = admin,
        space = TOKEN_SPACE,
        seeds = [TOKEN_SEED, market.key().as_ref(), &target_leverage_bps.to_le_bytes()],
        bump,
    )]
    pub token: Box<Account<'info, LeveragedToken>>,
    #[account(
        init,
        payer = admin,
        seeds = [SHARE_MINT_SEED, token.key().as_ref()],
        bump,
        mint::decimals = collateral_mint.decimals,
        mint::authority = token,
    )]
    pub share_mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = admin,
        seeds = [TOKEN_VAULT_SEED, token.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = token,
    )]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Create a leveraged token on a market with a fixed signed target leverage.
pub fn process_create_leveraged_token(ctx: Context<CreateLeveragedToken>, target_leverage_bps: i32, params: TokenParams) -> Result<()> {
    params.validate(target_leverage_bps)?;
    let slot = Clock::get()?.slot;
    let market = &mut ctx.accounts.market;
    market.token_count = market.token_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    let t = &mut ctx.accounts.token;
    t.bump = ctx.bumps.token;
    t.share_mint_bump = ctx.bumps.share_mint;
    t.vault_bump = ctx.bumps.vault;
    t.status = TokenStatus::Active;
    t.pause_flags = 0;
    t.chunk_in_progress = false;
    t.target_leverage_bps = target_leverage_bps;
    t.version = crate::constants::ACCOUNT_VERSION;
    t.market = market.key();
    t.share_mint = ctx.accounts.share_mint.key();
    t.vault = ctx.accounts.vault.key();
    t.params = params;
    t.borrow_snapshot = market.borrow_index;
    t.schedule_anchor_slot = slot;
    t.last_fee_slot = slot;
    crate::emit_event!(TokenCreated { token: t.key(), market: t.market, target_leverage_bps, params });
    Ok(())
}
