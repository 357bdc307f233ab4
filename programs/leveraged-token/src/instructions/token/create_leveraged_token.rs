use anchor_lang::prelude::*;
use anchor_spl::token::{self, InitializeAccount3, InitializeMint2, Mint, Token, TokenAccount};

use crate::constants::{CONFIG_SEED, SHARE_MINT_SEED, TOKEN_SEED, TOKEN_VAULT_SEED};
use crate::create::{create_pda_account, create_program_account, write_program_account};
use crate::errors::ErrorCode;
use crate::events::TokenCreated;
use crate::state::{Config, LeveragedToken, Market, TokenParams, TokenStatus, TOKEN_SPACE};

#[derive(Accounts)]
#[instruction(target_leverage_bps: i32)]
pub struct CreateLeveragedToken<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump, has_one = admin @ ErrorCode::NotAdmin)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut)]
    pub market: Box<Account<'info, Market>>,
    #[account(address = market.collateral_mint @ ErrorCode::WrongCollateralMint)]
    pub collateral_mint: Box<Account<'info, Mint>>,
    /// CHECK: the token PDA (canonical bump), created by the handler
    /// (`create::create_pda_account` refuses an address already in use).
    #[account(mut, seeds = [TOKEN_SEED, market.key().as_ref(), &target_leverage_bps.to_le_bytes()], bump)]
    pub token: UncheckedAccount<'info>,
    /// CHECK: the share mint PDA (canonical bump), created by the handler with
    /// the collateral's decimals, mint authority = the token, no freeze authority.
    #[account(mut, seeds = [SHARE_MINT_SEED, token.key().as_ref()], bump)]
    pub share_mint: UncheckedAccount<'info>,
    /// CHECK: the collateral vault PDA (canonical bump), created by the handler
    /// as a token account of the collateral mint, authority = the token.
    #[account(mut, seeds = [TOKEN_VAULT_SEED, token.key().as_ref()], bump)]
    pub vault: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

/// Create a leveraged token on a market with a fixed signed target leverage.
pub fn process_create_leveraged_token(ctx: Context<CreateLeveragedToken>, target_leverage_bps: i32, params: TokenParams) -> Result<()> {
    // LP entries and exits value the pool on every token of the market.
    require!((ctx.accounts.market.token_count as usize) < crate::constants::MAX_TOKENS_PER_MARKET, ErrorCode::TooManyTokens);
    params.validate(target_leverage_bps)?;
    let clock = Clock::get()?;
    let slot = clock.slot;
    let a = &ctx.accounts;
    let (payer, system) = (a.admin.as_ref(), a.system_program.as_ref());
    let market_key = a.market.key();
    let token_key = a.token.key();
    let leverage = target_leverage_bps.to_le_bytes();
    let token_seeds: &[&[u8]] = &[TOKEN_SEED, market_key.as_ref(), &leverage, &[ctx.bumps.token]];
    let mut t = create_program_account::<LeveragedToken>(payer, a.token.as_ref(), TOKEN_SPACE, token_seeds, system)?;

    // Share mint: the collateral's decimals, mint authority = the token, no freeze authority.
    let mint_seeds: &[&[u8]] = &[SHARE_MINT_SEED, token_key.as_ref(), &[ctx.bumps.share_mint]];
    create_pda_account(payer, a.share_mint.as_ref(), Mint::LEN, &token::ID, mint_seeds, system)?;
    let accounts = InitializeMint2 { mint: a.share_mint.to_account_info() };
    token::initialize_mint2(CpiContext::new(a.token_program.key(), accounts), a.collateral_mint.decimals, &token_key, None)?;

    // Vault: a token account of the collateral, authority = the token.
    let vault_seeds: &[&[u8]] = &[TOKEN_VAULT_SEED, token_key.as_ref(), &[ctx.bumps.vault]];
    create_pda_account(payer, a.vault.as_ref(), TokenAccount::LEN, &token::ID, vault_seeds, system)?;
    let accounts = InitializeAccount3 { account: a.vault.to_account_info(), mint: a.collateral_mint.to_account_info(), authority: a.token.to_account_info() };
    token::initialize_account3(CpiContext::new(a.token_program.key(), accounts))?;

    t.bump = ctx.bumps.token;
    t.share_mint_bump = ctx.bumps.share_mint;
    t.vault_bump = ctx.bumps.vault;
    t.status = TokenStatus::Active;
    t.pause_flags = 0;
    t.chunk_in_progress = false;
    t.target_leverage_bps = target_leverage_bps;
    t.version = crate::constants::ACCOUNT_VERSION;
    t.market = market_key;
    t.share_mint = a.share_mint.key();
    t.vault = a.vault.key();
    t.params = params;
    // A position's side is its base's sign, and an empty one (base 0) is on
    // the long side (`Market::side_indices`, `settle_input`): a new token,
    // short ones included, starts on the long side's indices and takes its
    // own side's at its first trade (`apply_trade`). Snapshotting a short
    // token on the short side here left its borrow snapshot above the long
    // side's borrow index, and its settlement refused (found by the fuzzer:
    // FUZZ_SEED=20261206, op 1,374).
    t.index_snapshot = a.market.long_index;
    t.borrow_snapshot = a.market.long_borrow_index;
    t.schedule_anchor_slot = slot;
    t.schedule_anchor_time = clock.unix_timestamp;
    t.last_fee_slot = slot;
    write_program_account(a.token.as_ref(), t.as_ref())?;

    let market = &mut ctx.accounts.market;
    market.token_count = market.token_count.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    crate::emit_event!(TokenCreated { token: token_key, market: market_key, target_leverage_bps, params });
    Ok(())
}
