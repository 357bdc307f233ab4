use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Token};

use super::liquidity::*;
use crate::errors::ErrorCode;
use crate::events::LiquidityWithdrawn;
use crate::math::pool::{collateral_for_lp_floor, open_interest_within_cap, Side};
use crate::math::to_u64;
use crate::settlement::{transfer_signed, MarketSigner};

#[derive(Accounts)]
pub struct WithdrawLiquidity<'info> {
    pub owner: Signer<'info>,
    /// The withdrawal burns from `owner_lp`: it must be the owner's.
    #[account(constraint = liquidity.owner_lp.owner == owner.key() @ ErrorCode::WrongTokenOwner)]
    pub liquidity: LiquidityAccounts<'info>,
    pub token_program: Program<'info, Token>,
}

/// Burn LP shares for collateral, priced at the pool value on the side of the
/// confidence interval worse for the withdrawer. The pool value counts traders'
/// unrealised PnL and unpaid borrow fees, so LPs cannot exit ahead of a loss;
/// the withdrawal must leave enough value for the open-interest cap.
pub fn process_withdraw_liquidity(ctx: Context<WithdrawLiquidity>, lp_amount: u64, min_out: u64) -> Result<()> {
    require!(lp_amount > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!a.liquidity.paused(), ErrorCode::Paused);
    require!(lp_amount <= a.liquidity.owner_lp.amount, ErrorCode::InsufficientShares);
    let clock = Clock::get()?;
    let (price, value) = ctx.accounts.liquidity.value_pool(Side::Low, &clock)?;
    let a = &ctx.accounts;
    let l = &a.liquidity;
    // At most the signer's balance, so at most the supply.
    let lp_supply_after = l.lp_mint.supply.checked_sub(lp_amount).ok_or(ErrorCode::MathOverflow)?;
    let out = to_u64(collateral_for_lp_floor(lp_amount, l.lp_mint.supply, value, l.pool_vault.amount)?)?;
    if out < min_out {
        msg!("collateral out {} < min_out {}", out, min_out);
        return err!(ErrorCode::SlippageExceeded);
    }
    // The payout is at most the pool value (and the vault).
    let value_after = value.checked_sub(u128::from(out)).ok_or(ErrorCode::MathOverflow)?;
    let open_interest = l.market.aggregates().gross_notional_ceil(price.price)?;
    if !open_interest_within_cap(open_interest, value_after, l.market.params.oi_cap_bps)? {
        msg!("open interest {} would exceed {} bps of pool value {}", open_interest, l.market.params.oi_cap_bps, value_after);
        return err!(ErrorCode::WithdrawalBreaksOpenInterestCap);
    }

    token::burn(CpiContext::new(a.token_program.key(), Burn { mint: l.lp_mint.to_account_info(), from: l.owner_lp.to_account_info(), authority: a.owner.to_account_info() }), lp_amount)?;
    let signer = MarketSigner::new(&l.market);
    transfer_signed(&a.token_program, l.pool_vault.to_account_info(), l.owner_collateral.to_account_info(), l.market.to_account_info(), &signer.seeds(), out)?;
    crate::emit_event!(LiquidityWithdrawn { market: l.market.key(), owner: a.owner.key(), lp_in: lp_amount, amount_out: out, pool_value: value, lp_supply_after });
    Ok(())
}
