use anchor_lang::prelude::*;

use super::open::*;
use crate::constants::PAUSE_REDEEM;
use crate::errors::ErrorCode;
use crate::pause::paused;
use crate::state::{LeveragedToken, RequestKind};

#[derive(Accounts)]
pub struct RequestRedeem<'info> {
    /// Pays shares (`pay_mint` = the token's share mint); receives collateral.
    #[account(
        constraint = open.pay_mint.key() == token.share_mint @ ErrorCode::WrongShareMint,
        constraint = open.pays_out_in(&open.market.collateral_mint) @ ErrorCode::NotAssociatedTokenAccount,
    )]
    pub open: OpenAccounts<'info>,
    #[account(constraint = token.market == open.market.key() @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
}

/// Step one of a redeem: escrow `shares`; `execute_redeem` pays their NAV at
/// the price of the update that follows the request's delay, or refunds if
/// it would pay less than `min_collateral_out`. A wiped token's shares can
/// still be redeemed (for 0).
pub fn process_request_redeem(ctx: Context<RequestRedeem>, nonce: u64, shares: u64, min_collateral_out: u64) -> Result<()> {
    let a = &ctx.accounts;
    require!(!paused(a.open.config.pause_flags, a.open.market.pause_flags, a.token.pause_flags, PAUSE_REDEEM), ErrorCode::Paused);
    let terms = RequestTerms { kind: RequestKind::Redeem, token: a.token.key(), amount: shares, min_out: min_collateral_out };
    open_request(&a.open, &ctx.bumps.open, nonce, terms)
}
