use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, Token, TokenAccount};

use crate::constants::{CONFIG_SEED, PAUSE_REDEEM};
use crate::errors::ErrorCode;
use crate::events::Redeemed;
use crate::math::shares::quote_redeem;
use crate::oracle;
use crate::pause::paused;
use crate::settlement::{apply_trade, move_collateral, settle_position, transfer_signed, CollateralLeg, MarketSigner, TokenSigner, UnpaidClaim};
use crate::state::{Config, LeveragedToken, Market};

#[derive(Accounts)]
pub struct RedeemShares<'info> {
    pub user: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, has_one = market @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
    /// CHECK: validated by `oracle::read_fresh_price` against the market (not read for a wiped token).
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = token.vault @ ErrorCode::WrongVault)]
    pub token_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = token.share_mint @ ErrorCode::WrongShareMint)]
    pub share_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = user_shares.mint == token.share_mint @ ErrorCode::WrongShareMint,
        constraint = user_shares.owner == user.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub user_shares: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = user_collateral.mint == market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = user_collateral.key() != token_vault.key() @ ErrorCode::DuplicateAccount,
        constraint = user_collateral.key() != pool_vault.key() @ ErrorCode::DuplicateAccount,
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
    require!(!paused(a.config.pause_flags, a.market.pause_flags, a.token.pause_flags, PAUSE_REDEEM), ErrorCode::Paused);
    require!(shares <= a.user_shares.amount, ErrorCode::InsufficientShares);
    let (vault_amount, pool_amount, supply) = (a.token_vault.amount, a.pool_vault.amount, a.share_mint.supply);
    let token_key = a.token.key();
    let clock = Clock::get()?;

    let market = &mut ctx.accounts.market;
    let token = &mut ctx.accounts.token;
    let mut price_seen = 0;
    let (net, redeem_fee, trade_fee, out, delta_base, equity_after) = if token.is_wiped() {
        (0i128, 0, 0, 0, 0, 0)
    } else {
        let price = oracle::read_fresh_price(market, &ctx.accounts.oracle.to_account_info(), &clock)?;
        price_seen = price.price;
        let s = settle_position(market, token, token_key, &price, vault_amount, pool_amount, clock.slot)?;
        if s.wiped {
            (s.transfer, 0, 0, 0, 0, 0)
        } else {
            let q = quote_redeem(&token.book(s.equity, supply), price.price, price.conf, shares, token.params.redeem_fee_bps, market.params.trade_fee_bps)?;
            token.fees_owed = token.fees_owed.checked_add(q.redeem_fee).ok_or(ErrorCode::MathOverflow)?;
            apply_trade(market, token, q.delta_base, price.price, UnpaidClaim::ShrinkWithShares { remaining: supply - shares, supply })?;
            if token.base == 0 {
                token.chunk_in_progress = false;
            }
            (s.transfer - i128::from(q.trade_fee), q.redeem_fee, q.trade_fee, q.collateral_out, q.delta_base, s.equity - q.gross)
        }
    };
    if out < min_collateral_out {
        msg!("collateral out {} < min_collateral_out {}", out, min_collateral_out);
        return err!(ErrorCode::SlippageExceeded);
    }
    token.redeem_count += 1;

    let a = &ctx.accounts;
    token::burn(CpiContext::new(a.token_program.key(), Burn { mint: a.share_mint.to_account_info(), from: a.user_shares.to_account_info(), authority: a.user.to_account_info() }), shares)?;
    let token_signer = TokenSigner::new(&a.token);
    let market_signer = MarketSigner::new(&a.market);
    let leg = CollateralLeg {
        token_program: &a.token_program,
        token_vault: a.token_vault.to_account_info(),
        pool_vault: a.pool_vault.to_account_info(),
        token: a.token.to_account_info(),
        market: a.market.to_account_info(),
        token_signer: &token_signer,
        market_signer: &market_signer,
    };
    move_collateral(&leg, net)?;
    transfer_signed(&a.token_program, a.token_vault.to_account_info(), a.user_collateral.to_account_info(), a.token.to_account_info(), &token_signer.seeds(), out)?;
    crate::emit_event!(Redeemed {
        token: token_key,
        user: a.user.key(),
        shares_in: shares,
        redeem_fee,
        trade_fee,
        collateral_out: out,
        price: price_seen,
        delta_base,
        equity_after,
        supply_after: supply - shares,
    });
    Ok(())
}
