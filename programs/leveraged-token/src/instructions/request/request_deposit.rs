use anchor_lang::prelude::*;

use super::open::*;
use crate::constants::PAUSE_LIQUIDITY;
use crate::errors::ErrorCode;
use crate::pause::paused;
use crate::state::RequestKind;

#[derive(Accounts)]
pub struct RequestDeposit<'info> {
    /// Pays collateral; receives LP shares.
    #[account(
        constraint = open.pay_mint.key() == open.market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = open.pays_out_in(&open.market.lp_mint) @ ErrorCode::NotAssociatedTokenAccount,
    )]
    pub open: OpenAccounts<'info>,
}

/// Step one of an LP deposit: escrow `amount`; `execute_deposit` issues LP
/// shares at the pool value of the update that follows the request's delay
/// (less the LP fee), or refunds below `min_lp_out`.
pub fn process_request_deposit(ctx: Context<RequestDeposit>, nonce: u64, amount: u64, min_lp_out: u64) -> Result<()> {
    let a = &ctx.accounts;
    require!(!paused(a.open.config.pause_flags, a.open.market.pause_flags, 0, PAUSE_LIQUIDITY), ErrorCode::Paused);
    let terms = RequestTerms { kind: RequestKind::Deposit, token: Pubkey::default(), amount, min_out: min_lp_out };
    open_request(&a.open, &ctx.bumps.open, nonce, terms)
}
