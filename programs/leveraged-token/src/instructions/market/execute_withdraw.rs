use anchor_lang::prelude::*;

use super::liquidity::*;
use crate::errors::ErrorCode;
use crate::events::LiquidityWithdrawn;
use crate::instructions::request::close::*;
use crate::math::pool::{net_cap_breach, quote_lp_withdrawal, Side};
use crate::math::to_u64;
use crate::settlement::{transfer_signed, MarketSigner};
use crate::state::{RefundReason, RequestKind};

#[derive(Accounts)]
pub struct ExecuteWithdraw<'info> {
    pub request: RequestAccounts<'info>,
    #[account(
        constraint = request.request.kind == RequestKind::Withdraw @ ErrorCode::WrongRequest,
        constraint = request.request.market == pool.market.key() @ ErrorCode::WrongRequest,
    )]
    pub pool: PoolAccounts<'info>,
}

/// Step two of an LP withdrawal, by anyone before expiry: value the pool at
/// the one update for the request's price time (at least the market's
/// cooldown after the request), on the side worse for the withdrawer; pay
/// the LP shares' part less the LP fee, which stays with the LPs who remain.
/// The pool value counts every token's unrealised PnL and unpaid charges, a
/// loss at most what the token's vault holds (remaining accounts: every token
/// of the market and its vault), and the withdrawal must leave the net book
/// within its cap; a pause, an unusable update, the cap or the bound refund
/// the LP shares instead.
pub fn process_execute_withdraw(mut ctx: Context<ExecuteWithdraw>) -> Result<()> {
    let clock = Clock::get()?;
    let a = &ctx.accounts;
    let sample = a.request.price_sample(&a.pool.market, &a.pool.oracle.to_account_info(), &clock)?;
    let lp_amount = a.request.escrow.amount;
    let min_out = a.request.request.min_out;
    let supply = a.pool.lp_mint.supply;
    let refuse = |reason: RefundReason, price: u128| ctx.accounts.request.refund_and_close(reason, price);
    if a.pool.paused() {
        return refuse(RefundReason::Paused, 0);
    }
    let mut market = Box::new((**a.pool.market).clone());
    let Ok(price) = sample.check_fixed(&market.oracle_spec()) else {
        return refuse(RefundReason::OracleUnusable, 0);
    };
    let price = price.price;
    let value = a.pool.value_at(&mut market, ctx.remaining_accounts, &price, Side::Low, clock.unix_timestamp)?;
    // At most the escrow, so at most the supply.
    let lp_supply_after = supply.checked_sub(lp_amount).ok_or(ErrorCode::MathOverflow)?;
    let q = quote_lp_withdrawal(lp_amount, market.params.lp_fee_bps, supply, value, market.lp_cash(a.pool.pool_vault.amount))?;
    let (lp_fee, out) = (q.fee, to_u64(q.out)?);
    if out == 0 {
        return refuse(RefundReason::ZeroOut, price.price);
    }
    if out < min_out {
        msg!("collateral out {} < min_out {}", out, min_out);
        return refuse(RefundReason::BelowMinOut, price.price);
    }
    // The payout is at most the pool value (and the vault).
    let value_after = value.checked_sub(u128::from(out)).ok_or(ErrorCode::MathOverflow)?;
    // Limited by the net book, not the gross: a delta-neutral book never
    // locks the LPs in.
    if let Some(breach) = net_cap_breach(&market.aggregates(), price.price, value_after, market.params.net_cap_bps)? {
        msg!("{} after the withdrawal (pool value {})", breach, value_after);
        return refuse(RefundReason::ExposureCap, price.price);
    }

    let a = &mut ctx.accounts;
    a.pool.market.set_inner(*market);
    let a = &ctx.accounts;
    a.request.burn_escrow(&a.pool.lp_mint, lp_amount)?;
    let signer = MarketSigner::new(&a.pool.market);
    transfer_signed(&a.request.token_program, a.pool.pool_vault.to_account_info(), a.request.destination.to_account_info(), a.pool.market.to_account_info(), &signer.seeds(), out)?;
    a.request.close(&a.request.executor.to_account_info())?;
    crate::emit_event!(LiquidityWithdrawn {
        market: a.pool.market.key(),
        owner: a.request.request.owner,
        request: a.request.request.key(),
        lp_in: lp_amount,
        lp_fee,
        price: price.price,
        amount_out: out,
        pool_value: value,
        lp_supply_after,
    });
    Ok(())
}
