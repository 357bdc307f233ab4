use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::CONFIG_SEED;
use crate::errors::ErrorCode;
use crate::events::FeesCollected;
use crate::settlement::{transfer_signed, TokenSigner};
use crate::state::{Config, LeveragedToken, Market};

#[derive(Accounts)]
pub struct CollectFees<'info> {
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    pub market: Box<Account<'info, Market>>,
    #[account(mut, has_one = market @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
    #[account(mut, address = token.vault @ ErrorCode::WrongVault)]
    pub token_vault: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = treasury_collateral.owner == config.treasury @ ErrorCode::WrongTreasury,
        constraint = treasury_collateral.mint == market.collateral_mint @ ErrorCode::WrongCollateralMint,
    )]
    pub treasury_collateral: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Permissionless: send the protocol fees a token holds to the treasury's
/// token account. Moves only `fees_owed`, never equity.
pub fn process_collect_fees(ctx: Context<CollectFees>) -> Result<()> {
    let amount = ctx.accounts.token.fees_owed;
    require!(amount > 0, ErrorCode::NothingToCollect);
    ctx.accounts.token.fees_owed = 0;
    let a = &ctx.accounts;
    let signer = TokenSigner::new(&a.token);
    transfer_signed(&a.token_program, a.token_vault.to_account_info(), a.treasury_collateral.to_account_info(), a.token.to_account_info(), &signer.seeds(), amount)?;
    crate::emit_event!(FeesCollected { token: a.token.key(), treasury_account: a.treasury_collateral.key(), amount });
    Ok(())
}
