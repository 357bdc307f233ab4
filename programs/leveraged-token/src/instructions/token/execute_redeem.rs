use anchor_lang::prelude::*;
use anchor_spl::token::Mint;

use super::position::*;
use crate::constants::PAUSE_REDEEM;
use crate::errors::ErrorCode;
use crate::events::Redeemed;
use crate::instructions::request::close::*;
use crate::math::shares::quote_redeem;
use crate::settlement::{apply_settlement, apply_trade, emit_settlement, UnpaidClaim};
use crate::state::{RefundReason, RequestKind};

#[derive(Accounts)]
pub struct ExecuteRedeem<'info> {
    pub request: RequestAccounts<'info>,
    #[account(
        constraint = request.request.kind == RequestKind::Redeem @ ErrorCode::WrongRequest,
        constraint = request.request.token == position.token.key() @ ErrorCode::WrongRequest,
    )]
    pub position: PositionAccounts<'info>,
    #[account(mut, address = position.token.share_mint @ ErrorCode::WrongShareMint)]
    pub share_mint: Box<Account<'info, Mint>>,
}

/// Step two of a redeem, by anyone before expiry: price the request at the
/// one update for its price time, settle there, value the shares at the
/// equity on the confidence side worse for the redeemer, shrink the position
/// pro rata and pay the NAV share less the redeem and trade fees. A wiped
/// token burns the shares and pays 0 without reading a price. If the bound,
/// a pause, the update's checks or a wipe at that (not fresh) price would
/// refuse it, the shares go back to the owner (`RequestRefunded`).
pub fn process_execute_redeem(mut ctx: Context<ExecuteRedeem>) -> Result<()> {
    let clock = Clock::get()?;
    let a = &ctx.accounts;
    // A wiped token reads no price, but an expired request is still only cancelled.
    a.request.require_live(clock.unix_timestamp)?;
    let shares = a.request.escrow.amount;
    let min_out = a.request.request.min_out;
    let supply = a.share_mint.supply;
    // At most the escrow, so at most the supply.
    let supply_after = supply.checked_sub(shares).ok_or(ErrorCode::MathOverflow)?;
    let token_key = a.position.token.key();
    let refuse = |reason: RefundReason, price: u128| ctx.accounts.request.refund_and_close(reason, price);
    if a.position.paused(PAUSE_REDEEM) {
        return refuse(RefundReason::Paused, 0);
    }

    let mut market = Box::new((**a.position.market).clone());
    let mut token = Box::new((**a.position.token).clone());
    let at = a.position.settle_at(&clock);
    let (net, redeem_fee, trade_fee, out, delta_base, equity_after, price_seen, settled) = if token.is_wiped() {
        (0i128, 0, 0, 0, 0, 0, None, None)
    } else {
        let sample = a.request.price_sample(&market, &a.position.oracle.to_account_info(), &clock)?;
        let Ok(price) = sample.check_fixed(&market.oracle_spec()) else {
            return refuse(RefundReason::OracleUnusable, 0);
        };
        let price = price.price;
        let (s, p) = apply_settlement(&mut market, &mut token, &price, &at)?;
        if s.wiped {
            return refuse(RefundReason::TokenWiped, price.price);
        }
        let q = quote_redeem(&token.book(s.equity, supply), price.price, price.conf, shares, token.params.redeem_fee_bps, market.params.trade_fee_bps)?;
        token.fees_owed = token.fees_owed.checked_add(q.redeem_fee).ok_or(ErrorCode::MathOverflow)?;
        apply_trade(&mut market, &mut token, q.delta_base, price.price, UnpaidClaim::ShrinkWithShares { remaining: supply_after, supply })?;
        market.owe_insurance_on_trade_fee(q.trade_fee)?;
        if token.base == 0 {
            token.chunk_in_progress = false;
        }
        let net = s.transfer.checked_sub(i128::from(q.trade_fee)).ok_or(ErrorCode::MathOverflow)?;
        let equity_after = s.equity.checked_sub(q.gross).ok_or(ErrorCode::MathOverflow)?;
        (net, q.redeem_fee, q.trade_fee, q.collateral_out, q.delta_base, equity_after, Some(price), Some((p, s)))
    };
    let price_seen_raw = price_seen.map_or(0, |p| p.price);
    if out < min_out {
        msg!("collateral out {} < min_collateral_out {}", out, min_out);
        return refuse(RefundReason::BelowMinOut, price_seen_raw);
    }
    token.redeem_count = token.redeem_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;

    // Fill: commit the copies, burn the escrowed shares, move the collateral.
    if let (Some(price), Some((p, s))) = (price_seen, settled) {
        emit_settlement(token_key, token.market, &price, &p, &s)?;
    }
    let a = &mut ctx.accounts;
    a.position.market.set_inner(*market);
    a.position.token.set_inner(*token);
    let a = &ctx.accounts;
    a.request.burn_escrow(&a.share_mint, shares)?;
    a.position.move_collateral(&a.request.token_program, net)?;
    a.position.pay_from_vault(&a.request.token_program, a.request.destination.to_account_info(), out)?;
    a.request.close(&a.request.executor.to_account_info())?;
    if let Some((_, s)) = settled {
        let a = &mut ctx.accounts;
        a.position.finish(&a.request.token_program, &s, false)?;
    }
    let a = &ctx.accounts;
    crate::emit_event!(Redeemed {
        token: token_key,
        user: a.request.request.owner,
        request: a.request.request.key(),
        shares_in: shares,
        redeem_fee,
        trade_fee,
        collateral_out: out,
        price: price_seen_raw,
        delta_base,
        equity_after,
        supply_after,
    });
    Ok(())
}
