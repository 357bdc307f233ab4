use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::constants::{CONFIG_SEED, PAUSE_LIQUIDITY};
use crate::errors::ErrorCode;
use crate::events::LiquidityDeposited;
use crate::math::pool::{lp_for_deposit_floor, pool_value, Side};
use crate::math::to_u64;
use crate::oracle;
use crate::pause::paused;
use crate::settlement::MarketSigner;
use crate::state::{Config, Market};

#[derive(Accounts)]
pub struct DepositLiquidity<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: validated by `oracle::read_fresh_price` against the market.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.lp_mint @ ErrorCode::WrongLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = owner_collateral.mint == market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = owner_collateral.owner == owner.key() @ ErrorCode::WrongTokenOwner,
        constraint = owner_collateral.key() != pool_vault.key() @ ErrorCode::DuplicateAccount,
    )]
    pub owner_collateral: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = owner_lp.mint == market.lp_mint @ ErrorCode::WrongLpMint)]
    pub owner_lp: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Deposit collateral into the pool for LP shares, priced at the pool value on
/// the side of the oracle's confidence interval worse for the depositor.
pub fn process_deposit_liquidity(ctx: Context<DepositLiquidity>, amount: u64, min_lp_out: u64) -> Result<()> {
    require!(amount > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!paused(a.config.pause_flags, a.market.pause_flags, 0, PAUSE_LIQUIDITY), ErrorCode::Paused);
    require!(amount <= a.owner_collateral.amount, ErrorCode::InsufficientFunds);
    let clock = Clock::get()?;
    let market = &mut ctx.accounts.market;
    market.accrue(clock.slot)?;
    let price = oracle::read_fresh_price(market, &ctx.accounts.oracle.to_account_info(), &clock)?;
    let value = pool_value(ctx.accounts.pool_vault.amount, &market.aggregates(), market.borrow_index, price.price, price.conf, Side::High)?;
    // A pool whose traders' profits exceed its assets is insolvent: a deposit
    // would only pay its debts. Refuse rather than price the deposit at zero.
    if value == 0 && ctx.accounts.lp_mint.supply > 0 {
        return err!(ErrorCode::PoolInsolvent);
    }
    let lp_out = to_u64(lp_for_deposit_floor(amount, ctx.accounts.lp_mint.supply, value)?)?;
    require!(lp_out > 0, ErrorCode::ZeroSharesOut);
    require!(ctx.accounts.lp_mint.supply.checked_add(lp_out).is_some(), ErrorCode::MathOverflow);
    if lp_out < min_lp_out {
        msg!("lp out {} < min_lp_out {}", lp_out, min_lp_out);
        return err!(ErrorCode::SlippageExceeded);
    }

    let a = &ctx.accounts;
    token::transfer(CpiContext::new(a.token_program.key(), Transfer { from: a.owner_collateral.to_account_info(), to: a.pool_vault.to_account_info(), authority: a.owner.to_account_info() }), amount)?;
    let signer = MarketSigner::new(&a.market);
    token::mint_to(
        CpiContext::new_with_signer(a.token_program.key(), MintTo { mint: a.lp_mint.to_account_info(), to: a.owner_lp.to_account_info(), authority: a.market.to_account_info() }, &[&signer.seeds()]),
        lp_out,
    )?;
    crate::emit_event!(LiquidityDeposited { market: a.market.key(), owner: a.owner.key(), amount, lp_out, pool_value: value, lp_supply_after: a.lp_mint.supply + lp_out });
    Ok(())
}
