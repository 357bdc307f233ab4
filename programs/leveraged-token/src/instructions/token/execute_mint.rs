use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, MintTo};

use super::position::*;
use crate::constants::PAUSE_MINT;
use crate::errors::ErrorCode;
use crate::events::Minted;
use crate::instructions::request::close::*;
use crate::math::pool::{mint_cap_breach, pool_value_aggregate, Side};
use crate::math::position::notional_floor;
use crate::math::shares::quote_mint;
use crate::settlement::{apply_settlement, apply_trade, emit_settlement, unpaid_claim, TokenSigner, UnpaidClaim};
use crate::state::{RefundReason, RequestKind};

#[derive(Accounts)]
pub struct ExecuteMint<'info> {
    pub request: RequestAccounts<'info>,
    #[account(
        constraint = request.request.kind == RequestKind::Mint @ ErrorCode::WrongRequest,
        constraint = request.request.token == position.token.key() @ ErrorCode::WrongRequest,
    )]
    pub position: PositionAccounts<'info>,
    #[account(mut, address = position.token.share_mint @ ErrorCode::WrongShareMint)]
    pub share_mint: Box<Account<'info, Mint>>,
}

/// Step two of a mint, by anyone before expiry: price the request at the one
/// update for its price time (any other fails with `OracleNotAtTarget`),
/// settle the position there, issue shares at NAV on the confidence side
/// worse for the minter and grow the position so holders' leverage is
/// unchanged. If the bound, a pause, a wipe, the update's checks, an unpaid
/// claim or a cap on the pool's net book would refuse it, nothing changes but the
/// escrow going back to the owner (`RequestRefunded`). Either way the
/// executor earns the request's fee.
pub fn process_execute_mint(mut ctx: Context<ExecuteMint>) -> Result<()> {
    let clock = Clock::get()?;
    let a = &ctx.accounts;
    let sample = a.request.price_sample(&a.position.market, &a.position.oracle.to_account_info(), &clock)?;
    let amount = a.request.escrow.amount;
    let min_out = a.request.request.min_out;
    let (at, pool_amount, supply) = (a.position.settle_at(&clock), a.position.pool_vault.amount, a.share_mint.supply);
    let token_key = a.position.token.key();

    // Decide on copies of the market and token; commit only a fill.
    let mut market = Box::new((**a.position.market).clone());
    let mut token = Box::new((**a.position.token).clone());
    let spec = market.oracle_spec();
    let refuse = |reason: RefundReason, price: u128| ctx.accounts.request.refund_and_close(reason, price);
    if a.position.paused(PAUSE_MINT) {
        return refuse(RefundReason::Paused, 0);
    }
    if token.is_wiped() {
        return refuse(RefundReason::TokenWiped, 0);
    }
    let Ok(price) = sample.check_fixed(&spec) else {
        return refuse(RefundReason::OracleUnusable, 0);
    };
    let price = price.price;
    let (s, settled) = apply_settlement(&mut market, &mut token, &price, &at)?;
    // A wipe lands only through `rebalance`, at a fresh price.
    if s.wiped {
        return refuse(RefundReason::TokenWiped, price.price);
    }
    // While the pool owes the holders profit it could not pay, a new share would
    // buy into that claim at a NAV that leaves it out.
    if unpaid_claim(&token, price.price)? > 0 {
        return refuse(RefundReason::UnpaidProfitOutstanding, price.price);
    }
    let was_flat = token.base == 0;
    // Shares that would not fit a u64 (a token whose share is worth almost
    // nothing) refund, as a supply past u64::MAX does.
    let Ok(q) = quote_mint(&token.book(s.equity, supply), price.price, price.conf, amount, token.params.mint_fee_bps, market.params.trade_fee_bps) else {
        return refuse(RefundReason::SupplyOverflow, price.price);
    };
    if q.shares_out == 0 {
        return refuse(RefundReason::ZeroOut, price.price);
    }
    if q.shares_out < min_out {
        msg!("shares out {} < min_shares_out {}", q.shares_out, min_out);
        return refuse(RefundReason::BelowMinOut, price.price);
    }
    // The share supply must not overflow inside SPL Token (that error has no name).
    let Some(supply_after) = supply.checked_add(q.shares_out) else {
        return refuse(RefundReason::SupplyOverflow, price.price);
    };
    token.fees_owed = token.fees_owed.checked_add(q.mint_fee).ok_or(ErrorCode::MathOverflow)?;
    let book_before = market.aggregates();
    apply_trade(&mut market, &mut token, q.delta_base, price.price, UnpaidClaim::Keep)?;
    market.owe_insurance_on_trade_fee(q.trade_fee)?;
    if was_flat {
        token.last_rebalance_price = price.price;
        token.schedule_anchor_slot = clock.slot;
        token.schedule_anchor_time = clock.unix_timestamp;
    }
    token.mint_count = token.mint_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    let equity_after = s.equity.checked_add(q.net_deposit).ok_or(ErrorCode::MathOverflow)?;
    // Net movement between token vault and pool: settlement, less the trade fee.
    let net = s.transfer.checked_sub(i128::from(q.trade_fee)).ok_or(ErrorCode::MathOverflow)?;
    let pool_after = i128::from(pool_amount).checked_sub(net).and_then(|p| u64::try_from(p).ok()).ok_or(ErrorCode::MathOverflow)?;
    // The caps on the net book (O(1) pool value: the market's sums); a mint
    // that makes |net| smaller passes whatever they say.
    let value = pool_value_aggregate(market.lp_cash(pool_after), &market.aggregates(), market.long_index, market.short_index, price.price, price.conf, Side::Low)?;
    let token_notional = notional_floor(token.base, price.price)?.unsigned_abs();
    if let Some(breach) = mint_cap_breach(&book_before, &market.aggregates(), price.price, value, token_notional, equity_after, &market.params.caps())? {
        msg!("{} (pool value {})", breach, value);
        return refuse(RefundReason::ExposureCap, price.price);
    }

    // Fill: commit the copies, then move the collateral and issue the shares.
    emit_settlement(token_key, token.market, &price, &settled, &s)?;
    let a = &mut ctx.accounts;
    a.position.market.set_inner(*market);
    a.position.token.set_inner(*token);
    let a = &ctx.accounts;
    a.request.pay_from_escrow(a.position.token_vault.to_account_info(), amount)?;
    a.position.move_collateral(&a.request.token_program, net)?;
    let token_signer = TokenSigner::new(&a.position.token);
    token::mint_to(
        CpiContext::new_with_signer(
            a.request.token_program.key(),
            MintTo { mint: a.share_mint.to_account_info(), to: a.request.destination.to_account_info(), authority: a.position.token.to_account_info() },
            &[&token_signer.seeds()],
        ),
        q.shares_out,
    )?;
    a.request.close(&a.request.executor.to_account_info())?;
    let a = &mut ctx.accounts;
    a.position.finish(&a.request.token_program, &s, false)?;
    let a = &ctx.accounts;
    crate::emit_event!(Minted {
        token: token_key,
        user: a.request.request.owner,
        request: a.request.request.key(),
        collateral_in: amount,
        mint_fee: q.mint_fee,
        trade_fee: q.trade_fee,
        shares_out: q.shares_out,
        price: price.price,
        delta_base: q.delta_base,
        equity_after,
        supply_after,
    });
    Ok(())
}
