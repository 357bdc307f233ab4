use anchor_lang::prelude::*;
use anchor_spl::token::{self, MintTo, Token, Transfer};

use super::liquidity::*;
use crate::errors::ErrorCode;
use crate::events::LiquidityDeposited;
use crate::math::pool::{lp_for_deposit_floor, Side};
use crate::math::to_u64;
use crate::settlement::MarketSigner;

#[derive(Accounts)]
pub struct DepositLiquidity<'info> {
    pub owner: Signer<'info>,
    /// The deposit is paid from `owner_collateral`: it must be the owner's.
    #[account(constraint = liquidity.owner_collateral.owner == owner.key() @ ErrorCode::WrongTokenOwner)]
    pub liquidity: LiquidityAccounts<'info>,
    pub token_program: Program<'info, Token>,
}

/// Deposit collateral into the pool for LP shares, priced at the pool value on
/// the side of the oracle's confidence interval worse for the depositor.
pub fn process_deposit_liquidity(ctx: Context<DepositLiquidity>, amount: u64, min_lp_out: u64) -> Result<()> {
    require!(amount > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!a.liquidity.paused(), ErrorCode::Paused);
    require!(amount <= a.liquidity.owner_collateral.amount, ErrorCode::InsufficientFunds);
    let clock = Clock::get()?;
    let (_, value) = ctx.accounts.liquidity.value_pool(Side::High, &clock)?;
    let a = &ctx.accounts;
    let l = &a.liquidity;
    // A pool whose traders' profits exceed its assets is insolvent: a deposit
    // would only pay its debts. Refuse rather than price the deposit at zero.
    if value == 0 && l.lp_mint.supply > 0 {
        return err!(ErrorCode::PoolInsolvent);
    }
    let lp_out = to_u64(lp_for_deposit_floor(amount, l.lp_mint.supply, value)?)?;
    require!(lp_out > 0, ErrorCode::ZeroSharesOut);
    let lp_supply_after = l.lp_mint.supply.checked_add(lp_out).ok_or(ErrorCode::MathOverflow)?;
    if lp_out < min_lp_out {
        msg!("lp out {} < min_lp_out {}", lp_out, min_lp_out);
        return err!(ErrorCode::SlippageExceeded);
    }

    token::transfer(CpiContext::new(a.token_program.key(), Transfer { from: l.owner_collateral.to_account_info(), to: l.pool_vault.to_account_info(), authority: a.owner.to_account_info() }), amount)?;
    let signer = MarketSigner::new(&l.market);
    token::mint_to(
        CpiContext::new_with_signer(a.token_program.key(), MintTo { mint: l.lp_mint.to_account_info(), to: l.owner_lp.to_account_info(), authority: l.market.to_account_info() }, &[&signer.seeds()]),
        lp_out,
    )?;
    crate::emit_event!(LiquidityDeposited { market: l.market.key(), owner: a.owner.key(), amount, lp_out, pool_value: value, lp_supply_after });
    Ok(())
}
