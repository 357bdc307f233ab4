use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::constants::{CONFIG_SEED, PAUSE_MINT};
use crate::errors::ErrorCode;
use crate::events::Minted;
use crate::math::pool::{open_interest_within_cap, pool_value, Side};
use crate::math::shares::quote_mint;
use crate::oracle;
use crate::pause::paused;
use crate::settlement::{apply_trade, move_collateral, settle_position, unpaid_claim, CollateralLeg, MarketSigner, TokenSigner, UnpaidClaim};
use crate::state::{Config, LeveragedToken, Market};

#[derive(Accounts)]
pub struct MintShares<'info> {
    pub user: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, has_one = market @ ErrorCode::WrongMarket)]
    pub token: Box<Account<'info, LeveragedToken>>,
    /// CHECK: validated by `oracle::read_fresh_price` against the market.
    pub oracle: UncheckedAccount<'info>,
    #[account(mut, address = token.vault @ ErrorCode::WrongVault)]
    pub token_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = market.pool_vault @ ErrorCode::WrongVault)]
    pub pool_vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = token.share_mint @ ErrorCode::WrongShareMint)]
    pub share_mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        constraint = user_collateral.mint == market.collateral_mint @ ErrorCode::WrongCollateralMint,
        constraint = user_collateral.owner == user.key() @ ErrorCode::WrongTokenOwner,
        constraint = user_collateral.key() != token_vault.key() @ ErrorCode::DuplicateAccount,
        constraint = user_collateral.key() != pool_vault.key() @ ErrorCode::DuplicateAccount,
    )]
    pub user_collateral: Box<Account<'info, TokenAccount>>,
    #[account(mut, constraint = user_shares.mint == token.share_mint @ ErrorCode::WrongShareMint)]
    pub user_shares: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Deposit collateral for shares at NAV. Settles the position first, prices
/// shares at the equity on the confidence side worse for the minter, grows the
/// position so holders' leverage is unchanged, and checks the pool's OI cap.
pub fn process_mint(ctx: Context<MintShares>, collateral_amount: u64, min_shares_out: u64) -> Result<()> {
    require!(collateral_amount > 0, ErrorCode::ZeroAmount);
    let a = &ctx.accounts;
    require!(!paused(a.config.pause_flags, a.market.pause_flags, a.token.pause_flags, PAUSE_MINT), ErrorCode::Paused);
    require!(!a.token.is_wiped(), ErrorCode::TokenWiped);
    require!(collateral_amount <= a.user_collateral.amount, ErrorCode::InsufficientFunds);
    let clock = Clock::get()?;
    let (vault_amount, pool_amount, supply) = (a.token_vault.amount, a.pool_vault.amount, a.share_mint.supply);
    let token_key = a.token.key();
    let oracle_info = a.oracle.to_account_info();

    let market = &mut ctx.accounts.market;
    let price = oracle::read_fresh_price(market, &oracle_info, &clock)?;
    let token = &mut ctx.accounts.token;
    let s = settle_position(market, token, token_key, &price, vault_amount, pool_amount, clock.slot)?;
    // A settlement that wipes the token must land through `rebalance`; a mint into it never does.
    require!(!s.wiped, ErrorCode::TokenWiped);
    // While the pool owes the holders profit it could not pay, a new share would
    // buy into that claim at a NAV that leaves it out: refuse until it is paid.
    require!(unpaid_claim(token, price.price)? <= 0, ErrorCode::UnpaidProfitOutstanding);
    let was_flat = token.base == 0;
    let q = quote_mint(&token.book(s.equity, supply), price.price, price.conf, collateral_amount, token.params.mint_fee_bps, market.params.trade_fee_bps)?;
    require!(q.shares_out > 0, ErrorCode::ZeroSharesOut);
    // The share supply must not overflow inside SPL Token (that error has no name).
    require!(supply.checked_add(q.shares_out).is_some(), ErrorCode::MathOverflow);
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
    token.mint_count += 1;

    // Net movement between token vault and pool: settlement, less the trade fee.
    let net = s.transfer - i128::from(q.trade_fee);
    let pool_after = u64::try_from(i128::from(pool_amount) - net).map_err(|_| error!(ErrorCode::MathOverflow))?;
    let value = pool_value(pool_after, &market.aggregates(), market.borrow_index, price.price, price.conf, Side::Low)?;
    let open_interest = market.aggregates().gross_notional_ceil(price.price)?;
    if !open_interest_within_cap(open_interest, value, market.params.oi_cap_bps)? {
        msg!("open interest {} would exceed {} bps of pool value {}", open_interest, market.params.oi_cap_bps, value);
        return err!(ErrorCode::OpenInterestCapExceeded);
    }

    let a = &ctx.accounts;
    token::transfer(
        CpiContext::new(a.token_program.key(), Transfer { from: a.user_collateral.to_account_info(), to: a.token_vault.to_account_info(), authority: a.user.to_account_info() }),
        collateral_amount,
    )?;
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
    token::mint_to(
        CpiContext::new_with_signer(
            a.token_program.key(),
            MintTo { mint: a.share_mint.to_account_info(), to: a.user_shares.to_account_info(), authority: a.token.to_account_info() },
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
        equity_after: s.equity + q.net_deposit,
        supply_after: supply + q.shares_out,
    });
    Ok(())
}
