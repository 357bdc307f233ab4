use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, MintTo, Token, TokenAccount, Transfer};

use super::position::*;
use crate::constants::PAUSE_MINT;
use crate::errors::ErrorCode;
use crate::events::Minted;
use crate::math::pool::{open_interest_within_cap, pool_value, Side};
use crate::math::shares::quote_mint;
use crate::settlement::{apply_trade, unpaid_claim, TokenSigner, UnpaidClaim};

#[derive(Accounts)]
pub struct MintShares<'info> {
    pub user: Signer<'info>,
    pub position: PositionAccounts<'info>,
    #[account(mut, address = position.token.share_mint @ ErrorCode::WrongShareMint)]
    pub share_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = user_collateral.mint == position.market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = user_collateral.owner == user.key() @ ErrorCode::WrongTokenOwner,
        constraint = !position.is_vault(&user_collateral.key()) @ ErrorCode::DuplicateAccount,
    )]
    pub user_collateral: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = user_shares.mint == position.token.share_mint @ ErrorCode::WrongShareMint)]
    pub user_shares: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Deposit collateral for shares at NAV. Settles the position first, prices
/// shares at the equity on the confidence side worse for the minter, grows the
/// position so holders' leverage is unchanged, and checks the pool's OI cap.
pub fn process_mint(ctx: Context<MintShares>, collateral_amount: u64, min_shares_out: u64) -> Result<()> {
    require!(collateral_amount > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!a.position.paused(PAUSE_MINT), ErrorCode::Paused);
    require!(!a.position.token.is_wiped(), ErrorCode::TokenWiped);
    require!(collateral_amount <= a.user_collateral.amount, ErrorCode::InsufficientFunds);
    let clock = Clock::get()?;
    let (pool_amount, supply) = (a.position.pool_vault.amount, a.share_mint.supply);
    let token_key = a.position.token.key();

    let (price, s) = ctx.accounts.position.settle(&clock)?;
    let PositionAccounts { market, token, .. } = &mut ctx.accounts.position;
    // A settlement that wipes the token must land through `rebalance`; a mint into it never does.
    require!(!s.wiped, ErrorCode::TokenWiped);
    // While the pool owes the holders profit it could not pay, a new share would
    // buy into that claim at a NAV that leaves it out: refuse until it is paid.
    require!(unpaid_claim(token, price.price)? <= 0, ErrorCode::UnpaidProfitOutstanding);
    let was_flat = token.base == 0;
    let q = quote_mint(&token.book(s.equity, supply), price.price, price.conf, collateral_amount, token.params.mint_fee_bps, market.params.trade_fee_bps)?;
    require!(q.shares_out > 0, ErrorCode::ZeroSharesOut);
    // The share supply must not overflow inside SPL Token (that error has no name).
    let supply_after = supply.checked_add(q.shares_out).ok_or(ErrorCode::MathOverflow)?;
    if q.shares_out < min_shares_out {
        msg!("shares out {} < min_shares_out {}", q.shares_out, min_shares_out);
        return err!(ErrorCode::SlippageExceeded);
    }
    token.fees_owed = token.fees_owed.checked_add(q.mint_fee).ok_or(ErrorCode::MathOverflow)?;
    apply_trade(market, token, q.delta_base, price.price, UnpaidClaim::Keep)?;
    if was_flat {
        token.last_rebalance_price = price.price;
        token.schedule_anchor_slot = clock.slot;
    }
    token.mint_count = token.mint_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    let equity_after = s.equity.checked_add(q.net_deposit).ok_or(ErrorCode::MathOverflow)?;

    // Net movement between token vault and pool: settlement, less the trade fee.
    let net = s.transfer.checked_sub(i128::from(q.trade_fee)).ok_or(ErrorCode::MathOverflow)?;
    let pool_after = i128::from(pool_amount).checked_sub(net).and_then(|p| u64::try_from(p).ok()).ok_or(ErrorCode::MathOverflow)?;
    let value = pool_value(pool_after, &market.aggregates(), market.borrow_index, price.price, price.conf, Side::Low)?;
    let open_interest = market.aggregates().gross_notional_ceil(price.price)?;
    if !open_interest_within_cap(open_interest, value, market.params.oi_cap_bps)? {
        msg!("open interest {} would exceed {} bps of pool value {}", open_interest, market.params.oi_cap_bps, value);
        return err!(ErrorCode::OpenInterestCapExceeded);
    }

    let a = &ctx.accounts;
    token::transfer(
        CpiContext::new(a.token_program.key(), Transfer { from: a.user_collateral.to_account_info(), to: a.position.token_vault.to_account_info(), authority: a.user.to_account_info() }),
        collateral_amount,
    )?;
    a.position.move_collateral(&a.token_program, net)?;
    let token_signer = TokenSigner::new(&a.position.token);
    token::mint_to(
        CpiContext::new_with_signer(
            a.token_program.key(),
            MintTo { mint: a.share_mint.to_account_info(), to: a.user_shares.to_account_info(), authority: a.position.token.to_account_info() },
            &[&token_signer.seeds()],
        ),
        q.shares_out,
    )?;
    crate::emit_event!(Minted {
        token: token_key,
        user: a.user.key(),
        collateral_in: collateral_amount,
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
