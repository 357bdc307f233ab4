//! Step one of every user flow: escrow what the owner pays and fix the price
//! time. The accounts every `request_*` shares ([`OpenAccounts`]) and the one
//! handler body ([`open_request`]); each instruction adds its token (if any)
//! and says which mint is paid and which is received.

use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_spl::token::{self, InitializeAccount3, Mint, Token, TokenAccount, Transfer};

use crate::constants::{ACCOUNT_VERSION, CONFIG_SEED, ESCROW_SEED, REQUEST_SEED};
use crate::create::{create_pda_account, create_program_account, write_program_account};
use crate::errors::ErrorCode;
use crate::events::RequestOpened;
use crate::pda;
use crate::state::{Config, Market, OracleKind, Request, RequestKind, REQUEST_SPACE};

/// The owner, the config and market, the request and escrow PDAs, and the
/// owner's two associated token accounts: `source` (of `pay_mint`, pays the
/// escrow and receives refunds) and `destination` (receives the output).
#[derive(Accounts)]
#[instruction(nonce: u64)]
pub struct OpenAccounts<'info> {
    /// Pays the escrow, the rent of the request and escrow (returned when the
    /// request closes) and the executor fee.
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    pub market: Box<Account<'info, Market>>,
    /// CHECK: the request PDA (canonical bump) of the owner and `nonce`,
    /// created by the handler (`create::create_pda_account` refuses an
    /// address in use: a nonce is reusable once its request closed).
    #[account(mut, seeds = [REQUEST_SEED, owner.key().as_ref(), &nonce.to_le_bytes()], bump)]
    pub request: UncheckedAccount<'info>,
    /// CHECK: the escrow PDA (canonical bump), created by the handler as a
    /// token account of `pay_mint`, authority = the request.
    #[account(mut, seeds = [ESCROW_SEED, request.key().as_ref()], bump)]
    pub escrow: UncheckedAccount<'info>,
    /// The mint the owner pays in (collateral, shares or LP shares).
    pub pay_mint: Box<Account<'info, Mint>>,
    #[account(mut, address = pda::associated_token(&owner.key(), &pay_mint.key()) @ ErrorCode::NotAssociatedTokenAccount)]
    pub source: Box<Account<'info, TokenAccount>>,
    /// CHECK: the owner's associated token account of the mint the request
    /// pays out (checked by each instruction against that mint); it need not
    /// exist yet: the executor creates it if it is missing.
    pub destination: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl<'info> OpenAccounts<'info> {
    /// Whether `destination` is the owner's associated token account of `mint`.
    pub fn pays_out_in(&self, mint: &Pubkey) -> bool {
        self.destination.key() == pda::associated_token(&self.owner.key(), mint)
    }
}

/// What a request is for; the rest (price time, expiry, fee) the market decides.
pub struct RequestTerms {
    pub kind: RequestKind,
    pub token: Pubkey,
    pub amount: u64,
    pub min_out: u64,
}

/// Create the request and its escrow, move `amount` from the owner's source
/// account into the escrow and the market's executor fee into the request,
/// fix the price time and expiry ([`MarketParams::request_times`](crate::state::MarketParams::request_times)),
/// and emit [`RequestOpened`].
pub fn open_request(a: &OpenAccounts, bumps: &OpenAccountsBumps, nonce: u64, terms: RequestTerms) -> Result<()> {
    require!(terms.amount > 0, ErrorCode::ZeroAmount);
    if terms.amount > a.source.amount {
        return err!(if matches!(terms.kind, RequestKind::Mint | RequestKind::Deposit) { ErrorCode::InsufficientFunds } else { ErrorCode::InsufficientShares });
    }
    let clock = Clock::get()?;
    let market = &a.market;
    // A pull update's time is Pyth's, which a lagging cluster clock trails:
    // count the delay from the newest publish time this market has seen, if
    // it is ahead, so no update for the price time can exist when it is fixed.
    let now = match market.oracle_kind {
        OracleKind::PythPull => clock.unix_timestamp.max(market.last_oracle_publish),
        OracleKind::PythLegacy => clock.unix_timestamp,
    };
    let times = market.params.request_times(market.oracle_kind, terms.kind, now, clock.slot).ok_or(ErrorCode::MathOverflow)?;
    let (payer, system) = (a.owner.as_ref(), a.system_program.as_ref());
    let owner_key = a.owner.key();
    let request_key = a.request.key();
    let nonce_bytes = nonce.to_le_bytes();
    let request_seeds: &[&[u8]] = &[REQUEST_SEED, owner_key.as_ref(), &nonce_bytes, &[bumps.request]];
    let mut r = create_program_account::<Request>(payer, a.request.as_ref(), REQUEST_SPACE, request_seeds, system)?;

    let escrow_seeds: &[&[u8]] = &[ESCROW_SEED, request_key.as_ref(), &[bumps.escrow]];
    create_pda_account(payer, a.escrow.as_ref(), TokenAccount::LEN, &token::ID, escrow_seeds, system)?;
    let accounts = InitializeAccount3 { account: a.escrow.to_account_info(), mint: a.pay_mint.to_account_info(), authority: a.request.to_account_info() };
    token::initialize_account3(CpiContext::new(a.token_program.key(), accounts))?;
    let accounts = Transfer { from: a.source.to_account_info(), to: a.escrow.to_account_info(), authority: a.owner.to_account_info() };
    token::transfer(CpiContext::new(a.token_program.key(), accounts), terms.amount)?;
    let fee = market.params.executor_fee_lamports;
    if fee > 0 {
        let accounts = system_program::Transfer { from: a.owner.to_account_info(), to: a.request.to_account_info() };
        system_program::transfer(CpiContext::new(a.system_program.key(), accounts), fee)?;
    }

    r.version = ACCOUNT_VERSION;
    r.bump = bumps.request;
    r.escrow_bump = bumps.escrow;
    r.kind = terms.kind;
    r.owner = owner_key;
    r.nonce = nonce;
    r.market = market.key();
    r.token = terms.token;
    r.escrow = a.escrow.key();
    r.amount = terms.amount;
    r.min_out = terms.min_out;
    r.destination = a.destination.key();
    r.refund_to = a.source.key();
    r.executor_fee = fee;
    r.requested_at = clock.unix_timestamp;
    r.requested_slot = clock.slot;
    r.target = times.target;
    r.expires_at = times.expires_at;
    write_program_account(a.request.as_ref(), r.as_ref())?;
    crate::emit_event!(RequestOpened {
        request: request_key,
        owner: owner_key,
        kind: terms.kind,
        market: r.market,
        token: terms.token,
        amount: terms.amount,
        min_out: terms.min_out,
        executor_fee: fee,
        requested_at: r.requested_at,
        target: r.target,
        expires_at: r.expires_at,
    });
    Ok(())
}
