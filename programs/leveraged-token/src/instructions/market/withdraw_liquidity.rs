use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, Token, TokenAccount};

use crate::constants::{CONFIG_SEED, PAUSE_LIQUIDITY};
use crate::errors::ErrorCode;
use crate::events::LiquidityWithdrawn;
use crate::math::pool::{collateral_for_lp_floor, open_interest_within_cap, pool_value, Side};
use crate::math::to_u64;
use crate::oracle;
use crate::pause::paused;
use crate::settlement::{transfer_signed, MarketSigner};
use crate::state::{Config, Market};

#[derive(Accounts)]
pub struct WithdrawLiquidity<'info> {
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
        constraint = owner_collateral.key() != pool_vault.key() @ ErrorCode::DuplicateAccount,
    )]
    pub owner_collateral: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = owner_lp.mint == market.lp_mint @ ErrorCode::WrongLpMint,
        constraint = owner_lp.owner == owner.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub owner_lp: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Burn LP shares for collateral, priced at the pool value on the side of the
/// confidence interval worse for the withdrawer. The pool value counts traders'
/// unrealised PnL and unpaid borrow fees, so LPs cannot exit ahead of a loss;
/// the withdrawal must leave enough value for the open-interest cap.
pub fn process_withdraw_liquidity(ctx: Context<WithdrawLiquidity>, lp_amount: u64, min_out: u64) -> Result<()> {
    require!(lp_amount > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!paused(a.config.pause_flags, a.market.pause_flags, 0, PAUSE_LIQUIDITY), ErrorCode::Paused);
    require!(lp_amount <= a.owner_lp.amount, ErrorCode::InsufficientShares);
    let clock = Clock::get()?;
    let market = &mut ctx.accounts.market;
    market.accrue(clock.slot)?;
    let price = oracle::read_fresh_price(market, &ctx.accounts.oracle.to_account_info(), &clock)?;
    let vault_amount = ctx.accounts.pool_vault.amount;
    let value = pool_value(vault_amount, &market.aggregates(), market.borrow_index, price.price, price.conf, Side::Low)?;
    let out = to_u64(collateral_for_lp_floor(lp_amount, ctx.accounts.lp_mint.supply, value, vault_amount)?)?;
    if out < min_out {
        msg!("collateral out {} < min_out {}", out, min_out);
        return err!(ErrorCode::SlippageExceeded);
    }
    let value_after = value - u128::from(out);
    let open_interest = market.aggregates().gross_notional_ceil(price.price)?;
    if !open_interest_within_cap(open_interest, value_after, market.params.oi_cap_bps)? {
        msg!("open interest {} would exceed {} bps of pool value {}", open_interest, market.params.oi_cap_bps, value_after);
        return err!(ErrorCode::WithdrawalBreaksOpenInterestCap);
    }

    let a = &ctx.accounts;
    token::burn(CpiContext::new(a.token_program.key(), Burn { mint: a.lp_mint.to_account_info(), from: a.owner_lp.to_account_info(), authority: a.owner.to_account_info() }), lp_amount)?;
    let signer = MarketSigner::new(&a.market);
    transfer_signed(&a.token_program, a.pool_vault.to_account_info(), a.owner_collateral.to_account_info(), a.market.to_account_info(), &signer.seeds(), out)?;
    crate::emit_event!(LiquidityWithdrawn { market: a.market.key(), owner: a.owner.key(), lp_in: lp_amount, amount_out: out, pool_value: value, lp_supply_after: a.lp_mint.supply - lp_amount });
    Ok(())
}
