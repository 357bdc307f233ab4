use anchor_lang::prelude::*;

use super::open::*;
use crate::constants::PAUSE_MINT;
use crate::errors::ErrorCode;
use crate::pause::paused;
use crate::state::{LeveragedToken, RequestKind};

#[derive(Accounts)]
pub struct RequestMint<'info> {
    /// Pays collateral (`pay_mint` = the market's collateral); receives shares.
    #[account(
        constraint = open.pay_mint.key() == open.market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = open.pays_out_in(&token.share_mint) @ ErrorCode::NotAssociatedTokenAccount,
    )]
    pub open: OpenAccounts<'info>,
    #[account(constraint = token.market == open.market.key() @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
}

/// Step one of a mint: escrow `collateral_amount`; `execute_mint` issues the
/// shares at the price of the update that follows the request's delay, or
/// refunds if fewer than `min_shares_out` would be issued.
pub fn process_request_mint(ctx: Context<RequestMint>, nonce: u64, collateral_amount: u64, min_shares_out: u64) -> Result<()> {
    let a = &ctx.accounts;
    require!(!paused(a.open.config.pause_flags, a.open.market.pause_flags, a.token.pause_flags, PAUSE_MINT), ErrorCode::Paused);
    require!(!a.token.is_wiped(), ErrorCode::TokenWiped);
    let terms = RequestTerms { kind: RequestKind::Mint, token: a.token.key(), amount: collateral_amount, min_out: min_shares_out };
    open_request(&a.open, &ctx.bumps.open, nonce, terms)
}
