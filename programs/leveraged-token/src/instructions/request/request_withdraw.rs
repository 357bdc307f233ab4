use anchor_lang::prelude::*;

use super::open::*;
use crate::constants::PAUSE_LIQUIDITY;
use crate::errors::ErrorCode;
use crate::pause::paused;
use crate::state::RequestKind;

#[derive(Accounts)]
pub struct RequestWithdraw<'info> {
    /// Pays LP shares; receives collateral.
    #[account(
        constraint = open.pay_mint.key() == open.market.lp_mint @ ErrorCode::WrongLpMint,
        constraint = open.pays_out_in(&open.market.collateral_mint) @ ErrorCode::NotAssociatedTokenAccount,
    )]
    pub open: OpenAccounts<'info>,
}

/// Step one of an LP withdrawal: escrow `lp_amount`; `execute_withdraw` pays
/// their share of the pool value (less the LP fee) at the update that follows
/// the request by the market's cooldown, or refunds below `min_out`. The LP
/// stays at risk in the pool until then.
pub fn process_request_withdraw(ctx: Context<RequestWithdraw>, nonce: u64, lp_amount: u64, min_out: u64) -> Result<()> {
    let a = &ctx.accounts;
    require!(!paused(a.open.config.pause_flags, a.open.market.pause_flags, 0, PAUSE_LIQUIDITY), ErrorCode::Paused);
    let terms = RequestTerms { kind: RequestKind::Withdraw, token: Pubkey::default(), amount: lp_amount, min_out };
    open_request(&a.open, &ctx.bumps.open, nonce, terms)
}
