use anchor_lang::prelude::*;
use anchor_spl::token::{self, MintTo};

use super::liquidity::*;
use crate::errors::ErrorCode;
use crate::events::LiquidityDeposited;
use crate::instructions::request::close::*;
use crate::math::pool::{quote_lp_deposit, Side};
use crate::math::to_u64;
use crate::settlement::MarketSigner;
use crate::state::{RefundReason, RequestKind};

#[derive(Accounts)]
pub struct ExecuteDeposit<'info> {
    pub request: RequestAccounts<'info>,
    #[account(
        constraint = request.request.kind == RequestKind::Deposit @ ErrorCode::WrongRequest,
        constraint = request.request.market == pool.market.key() @ ErrorCode::WrongRequest,
    )]
    pub pool: PoolAccounts<'info>,
}

/// Step two of an LP deposit, by anyone before expiry: value the pool at the
/// one update for the request's price time, on the side of its confidence
/// interval worse for the depositor (every token of the market and its vault
/// follow in the remaining accounts: a token's loss counts at most its
/// vault), keep the LP fee for the LPs already in
/// and issue LP shares for the rest. A pause, an unusable update, an
/// insolvent pool or the bound refund the escrow instead.
pub fn process_execute_deposit(mut ctx: Context<ExecuteDeposit>) -> Result<()> {
    let clock = Clock::get()?;
    let a = &ctx.accounts;
    let sample = a.request.price_sample(&a.pool.market, &a.pool.oracle.to_account_info(), &clock)?;
    let amount = a.request.escrow.amount;
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
    let value = a.pool.value_at(&mut market, ctx.remaining_accounts, &price, Side::High, clock.unix_timestamp)?;
    // A pool whose traders' profits exceed its assets is insolvent: a deposit
    // would only pay its debts.
    if value == 0 && supply > 0 {
        return refuse(RefundReason::PoolInsolvent, price.price);
    }
    // LP shares that would not fit a u64 refund, as a supply past u64::MAX does.
    let Ok((lp_fee, lp_out)) = quote_lp_deposit(amount, market.params.lp_fee_bps, supply, value).and_then(|q| Ok((q.fee, to_u64(q.out)?))) else {
        return refuse(RefundReason::SupplyOverflow, price.price);
    };
    if lp_out == 0 {
        return refuse(RefundReason::ZeroOut, price.price);
    }
    if lp_out < min_out {
        msg!("lp out {} < min_lp_out {}", lp_out, min_out);
        return refuse(RefundReason::BelowMinOut, price.price);
    }
    let Some(lp_supply_after) = supply.checked_add(lp_out) else {
        return refuse(RefundReason::SupplyOverflow, price.price);
    };

    let a = &mut ctx.accounts;
    a.pool.market.set_inner(*market);
    let a = &ctx.accounts;
    a.request.pay_from_escrow(a.pool.pool_vault.to_account_info(), amount)?;
    let signer = MarketSigner::new(&a.pool.market);
    let accounts = MintTo { mint: a.pool.lp_mint.to_account_info(), to: a.request.destination.to_account_info(), authority: a.pool.market.to_account_info() };
    token::mint_to(CpiContext::new_with_signer(a.request.token_program.key(), accounts, &[&signer.seeds()]), lp_out)?;
    a.request.close(&a.request.executor.to_account_info())?;
    crate::emit_event!(LiquidityDeposited {
        market: a.pool.market.key(),
        owner: a.request.request.owner,
        request: a.request.request.key(),
        amount,
        lp_fee,
        price: price.price,
        lp_out,
        pool_value: value,
        lp_supply_after,
    });
    Ok(())
}
