use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, Token, TokenAccount};

use super::position::*;
use crate::constants::PAUSE_REDEEM;
use crate::errors::ErrorCode;
use crate::events::Redeemed;
use crate::math::shares::quote_redeem;
use crate::settlement::{apply_trade, UnpaidClaim};

#[derive(Accounts)]
pub struct RedeemShares<'info> {
    pub user: Signer<'info>,
    pub position: PositionAccounts<'info>,
    #[account(mut, address = position.token.share_mint @ ErrorCode::WrongShareMint)]
    pub share_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = user_shares.mint == position.token.share_mint @ ErrorCode::WrongShareMint,
        constraint = user_shares.owner == user.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub user_shares: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = user_collateral.mint == position.market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = !position.is_vault(&user_collateral.key()) @ ErrorCode::DuplicateAccount,
    )]
    pub user_collateral: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Burn shares for collateral at NAV. Settles first, values shares at the equity
/// on the confidence side worse for the redeemer, shrinks the position pro rata
/// and pays the NAV share less the redeem and trade fees. A wiped token burns
/// the shares and pays 0 without reading the oracle.
pub fn process_redeem(ctx: Context<RedeemShares>, shares: u64, min_collateral_out: u64) -> Result<()> {
    require!(shares > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!a.position.paused(PAUSE_REDEEM), ErrorCode::Paused);
    require!(shares <= a.user_shares.amount, ErrorCode::InsufficientShares);
    let supply = a.share_mint.supply;
    // At most the signer's balance, so at most the supply.
    let supply_after = supply.checked_sub(shares).ok_or(ErrorCode::MathOverflow)?;
    let token_key = a.position.token.key();
    let clock = Clock::get()?;

    let position = &mut ctx.accounts.position;
    let mut price_seen = 0;
    let (net, redeem_fee, trade_fee, out, delta_base, equity_after) = if position.token.is_wiped() {
        (0i128, 0, 0, 0, 0, 0)
    } else {
        let (price, s) = position.settle(&clock)?;
        price_seen = price.price;
        let PositionAccounts { market, token, .. } = &mut *position;
        if s.wiped {
            (s.transfer, 0, 0, 0, 0, 0)
        } else {
            let q = quote_redeem(&token.book(s.equity, supply), price.price, price.conf, shares, token.params.redeem_fee_bps, market.params.trade_fee_bps)?;
            token.fees_owed = token.fees_owed.checked_add(q.redeem_fee).ok_or(ErrorCode::MathOverflow)?;
            apply_trade(market, token, q.delta_base, price.price, UnpaidClaim::ShrinkWithShares { remaining: supply_after, supply })?;
            if token.base == 0 {
                token.chunk_in_progress = false;
            }
            let net = s.transfer.checked_sub(i128::from(q.trade_fee)).ok_or(ErrorCode::MathOverflow)?;
            (net, q.redeem_fee, q.trade_fee, q.collateral_out, q.delta_base, s.equity.checked_sub(q.gross).ok_or(ErrorCode::MathOverflow)?)
        }
    };
    if out < min_collateral_out {
        msg!("collateral out {} < min_collateral_out {}", out, min_collateral_out);
        return err!(ErrorCode::SlippageExceeded);
    }
    position.token.redeem_count = position.token.redeem_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;

    let a = &ctx.accounts;
    token::burn(CpiContext::new(a.token_program.key(), Burn { mint: a.share_mint.to_account_info(), from: a.user_shares.to_account_info(), authority: a.user.to_account_info() }), shares)?;
    a.position.move_collateral(&a.token_program, net)?;
    a.position.pay_from_vault(&a.token_program, a.user_collateral.to_account_info(), out)?;
    crate::emit_event!(Redeemed { token: token_key, user: a.user.key(), shares_in: shares, redeem_fee, trade_fee, collateral_out: out, price: price_seen, delta_base, equity_after, supply_after });
    Ok(())
}
