use anchor_lang::prelude::*;
use anchor_spl::token::{self, InitializeAccount3, InitializeMint2, Mint, Token};

use crate::collateral::check_collateral;
use crate::constants::{CONFIG_SEED, INSURANCE_VAULT_SEED, LP_MINT_SEED, MARKET_SEED, POOL_VAULT_SEED};
use crate::create::{create_pda_account, create_program_account, write_program_account};
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
    /// CHECK: the market PDA (canonical bump), created by the handler
    /// (`create::create_pda_account` refuses an address already in use).
    #[account(mut, seeds = [MARKET_SEED, oracle_id.as_ref(), collateral_mint.key().as_ref()], bump)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: the pool vault PDA (canonical bump), created by the handler as a
    /// token account of the collateral mint, authority = the market.
    #[account(mut, seeds = [POOL_VAULT_SEED, market.key().as_ref()], bump)]
    pub pool_vault: UncheckedAccount<'info>,
    /// CHECK: the LP mint PDA (canonical bump), created by the handler with
    /// the collateral's decimals, mint authority = the market, no freeze authority.
    #[account(mut, seeds = [LP_MINT_SEED, market.key().as_ref()], bump)]
    pub lp_mint: UncheckedAccount<'info>,
    /// CHECK: created here as the insurance vault PDA (seeds checked).
    #[account(mut, seeds = [INSURANCE_VAULT_SEED, market.key().as_ref()], bump)]
    pub insurance_vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Create a market and its LP pool. The oracle is read once here, so a market
/// can only be created on a live feed of the declared kind.
pub fn process_create_market(ctx: Context<CreateMarket>, oracle_kind: OracleKind, oracle_id: [u8; 32], params: MarketParams, trusted_freeze_authority: Option<Pubkey>) -> Result<()> {
    params.validate()?;
    let mint = &ctx.accounts.collateral_mint;
    let trusted_freeze_authority = check_collateral(mint.decimals, mint.freeze_authority.into(), trusted_freeze_authority).map_err(|issue| {
        msg!("collateral mint {}", issue);
        error!(issue.error_code())
    })?;
    let clock = Clock::get()?;
    let a = &ctx.accounts;
    let (payer, system) = (a.admin.as_ref(), a.system_program.as_ref());
    let bump = ctx.bumps.market;
    let collateral_key = a.collateral_mint.key();
    let market_key = a.market.key();
    let market_seeds: &[&[u8]] = &[MARKET_SEED, oracle_id.as_ref(), collateral_key.as_ref(), &[bump]];
    let mut market = create_program_account::<Market>(payer, a.market.as_ref(), MARKET_SPACE, market_seeds, system)?;

    // Pool vault: a token account of the collateral, authority = the market.
    let vault_seeds: &[&[u8]] = &[POOL_VAULT_SEED, market_key.as_ref(), &[ctx.bumps.pool_vault]];
    create_pda_account(payer, a.pool_vault.as_ref(), anchor_spl::token::TokenAccount::LEN, &token::ID, vault_seeds, system)?;
    let accounts = InitializeAccount3 { account: a.pool_vault.to_account_info(), mint: a.collateral_mint.to_account_info(), authority: a.market.to_account_info() };
    token::initialize_account3(CpiContext::new(a.token_program.key(), accounts))?;

    // Insurance vault: a token account of the collateral, authority = the market.
    let insurance_seeds: &[&[u8]] = &[INSURANCE_VAULT_SEED, market_key.as_ref(), &[ctx.bumps.insurance_vault]];
    create_pda_account(payer, a.insurance_vault.as_ref(), anchor_spl::token::TokenAccount::LEN, &token::ID, insurance_seeds, system)?;
    let accounts = InitializeAccount3 { account: a.insurance_vault.to_account_info(), mint: a.collateral_mint.to_account_info(), authority: a.market.to_account_info() };
    token::initialize_account3(CpiContext::new(a.token_program.key(), accounts))?;

    // LP mint: the collateral's decimals, mint authority = the market, no freeze authority.
    let lp_seeds: &[&[u8]] = &[LP_MINT_SEED, market_key.as_ref(), &[ctx.bumps.lp_mint]];
    create_pda_account(payer, a.lp_mint.as_ref(), Mint::LEN, &token::ID, lp_seeds, system)?;
    let accounts = InitializeMint2 { mint: a.lp_mint.to_account_info() };
    token::initialize_mint2(CpiContext::new(a.token_program.key(), accounts), a.collateral_mint.decimals, &market_key, None)?;

    market.version = crate::constants::ACCOUNT_VERSION;
    market.bump = bump;
    market.pool_vault_bump = ctx.bumps.pool_vault;
    market.lp_mint_bump = ctx.bumps.lp_mint;
    market.collateral_decimals = a.collateral_mint.decimals;
    market.pause_flags = 0;
    market.oracle_kind = oracle_kind;
    market.oracle_id = oracle_id;
    market.collateral_mint = collateral_key;
    market.pool_vault = a.pool_vault.key();
    market.lp_mint = a.lp_mint.key();
    market.params = params;
    market.insurance_vault = a.insurance_vault.key();
    market.insurance_vault_bump = ctx.bumps.insurance_vault;
    market.last_accrual_time = clock.unix_timestamp;
    market.last_oracle_publish = i64::MIN;
    market.trusted_freeze_authority = trusted_freeze_authority;
    oracle::read_fresh_price(&mut market, &a.oracle.to_account_info(), &clock)?;
    write_program_account(a.market.as_ref(), market.as_ref())?;

    let config = &mut ctx.accounts.config;
    config.market_count = config.market_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    crate::emit_event!(MarketCreated { market: market_key, collateral_mint: collateral_key, oracle_id, oracle_kind, params, trusted_freeze_authority });
    Ok(())
}
