use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::{CONFIG_SEED, LP_MINT_SEED, MARKET_SEED, POOL_VAULT_SEED};
use crate::errors::ErrorCode;
use crate::events::MarketCreated;
use crate::oracle;
use crate::state::{Config, Market, MarketParams, OracleKind, MARKET_SPACE};

#[derive(Accounts)]
#[instruction(oracle_kind: OracleKind, oracle_id: [u8; 32])]
pub struct CreateMarket<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(mut, seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    /// CHECK: read and fully validated by `oracle::read_fresh_price` (owner, layout, feed, age).
    pub oracle: UncheckedAccount<'info>,
    #[account(
        init,
        payer = admin,
        space = MARKET_SPACE,
        seeds = [MARKET_SEED, oracle_id.as_ref(), collateral_mint.key().as_ref()],
        bump,
    )]
    pub market: Box<Account<'info, Market>>,
    #[account(
        init,
        payer = admin,
        seeds = [POOL_VAULT_SEED, market.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = market,
    )]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        init,
        payer = admin,
        seeds = [LP_MINT_SEED, market.key().as_ref()],
        bump,
        mint::decimals = collateral_mint.decimals,
        mint::authority = market,
    )]
    pub lp_mint: Box<Account<'info, Mint>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Create a market and its LP pool. The oracle is read once here, so a market
/// can only be created on a live feed of the declared kind.
pub fn process_create_market(ctx: Context<CreateMarket>, oracle_kind: OracleKind, oracle_id: [u8; 32], params: MarketParams) -> Result<()> {
    params.validate()?;
    let clock = Clock::get()?;
    let market = &mut ctx.accounts.market;
    market.version = crate::constants::ACCOUNT_VERSION;
    market.bump = ctx.bumps.market;
    market.pool_vault_bump = ctx.bumps.pool_vault;
    market.lp_mint_bump = ctx.bumps.lp_mint;
    market.collateral_decimals = ctx.accounts.collateral_mint.decimals;
    market.pause_flags = 0;
    market.oracle_kind = oracle_kind;
    market.oracle_id = oracle_id;
    market.collateral_mint = ctx.accounts.collateral_mint.key();
    market.pool_vault = ctx.accounts.pool_vault.key();
    market.lp_mint = ctx.accounts.lp_mint.key();
    market.params = params;
    market.borrow_index = 0;
    market.last_accrual_slot = clock.slot;
    market.last_oracle_publish = i64::MIN;
    oracle::read_fresh_price(market, &ctx.accounts.oracle.to_account_info(), &clock)?;

    let config = &mut ctx.accounts.config;
    config.market_count = config.market_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    crate::emit_event!(MarketCreated { market: market.key(), collateral_mint: market.collateral_mint, oracle_id, oracle_kind, params });
    Ok(())
}
