//! Step two: the accounts every `execute_*` and `cancel_request` share
//! ([`RequestAccounts`]) and what they do with the escrow — pay it in, burn
//! it, or refund it — and how the request closes: the executor fee to the
//! executor, the escrow's and the request's rent to the owner.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, CloseAccount, Mint, Token, TokenAccount, Transfer};

use crate::constants::REQUEST_SEED;
use crate::errors::ErrorCode;
use crate::events::RequestRefunded;
use crate::oracle::{read_sample_at, OracleSample};
use crate::state::{Market, RefundReason, Request};

/// A request, its escrow, and the owner's accounts it pays to.
#[derive(Accounts)]
pub struct RequestAccounts<'info> {
    /// Closed when this instruction succeeds: its rent goes to the owner.
    #[account(mut, close = owner)]
    pub request: Box<Account<'info, Request>>,
    /// Anyone, the owner included; receives the executor fee.
    #[account(mut)]
    pub executor: Signer<'info>,
    /// CHECK: the request's owner (address checked); receives the rent of the request and escrow.
    #[account(mut, address = request.owner @ ErrorCode::WrongRequest)]
    pub owner: UncheckedAccount<'info>,
    #[account(mut, address = request.escrow @ ErrorCode::WrongRequest)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    /// The owner's associated token account of what the request pays out
    /// (an executor re-creates it first if the owner closed it).
    #[account(mut, address = request.destination @ ErrorCode::WrongRequest)]
    pub destination: Box<Account<'info, TokenAccount>>,
    /// The owner's associated token account the escrow came from.
    #[account(mut, address = request.refund_to @ ErrorCode::WrongRequest)]
    pub refund_to: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// Signer seeds of a request PDA.
pub struct RequestSigner {
    owner: Pubkey,
    nonce: [u8; 8],
    bump: [u8; 1],
}

impl RequestSigner {
    pub fn new(r: &Request) -> Self {
        Self { owner: r.owner, nonce: r.nonce.to_le_bytes(), bump: [r.bump] }
    }

    pub fn seeds(&self) -> [&[u8]; 4] {
        [REQUEST_SEED, self.owner.as_ref(), &self.nonce, &self.bump]
    }
}

impl<'info> RequestAccounts<'info> {
    /// Start an execution: refused once expired (then only `cancel_request`
    /// closes it); the oracle account must hold the one update for the
    /// request's price time (`oracle::sample_at`), else it fails by name.
    pub fn price_sample(&self, market: &Market, oracle: &AccountInfo, clock: &Clock) -> Result<OracleSample> {
        self.require_live(clock.unix_timestamp)?;
        read_sample_at(market, oracle, clock, self.request.target)
    }

    /// Refused once expired: then only `cancel_request` closes it.
    pub fn require_live(&self, now: i64) -> Result<()> {
        if self.request.is_expired(now) {
            msg!("request expired at {}, now {}", self.request.expires_at, now);
            return err!(ErrorCode::RequestExpired);
        }
        Ok(())
    }

    /// Move `amount` of the escrow to `to`, signed by the request.
    pub fn pay_from_escrow(&self, to: AccountInfo<'info>, amount: u64) -> Result<()> {
        let signer = RequestSigner::new(&self.request);
        let accounts = Transfer { from: self.escrow.to_account_info(), to, authority: self.request.to_account_info() };
        token::transfer(CpiContext::new_with_signer(self.token_program.key(), accounts, &[&signer.seeds()]), amount)
    }

    /// Burn `amount` of the escrow (shares or LP shares of `mint`), signed by the request.
    pub fn burn_escrow(&self, mint: &Account<'info, Mint>, amount: u64) -> Result<()> {
        let signer = RequestSigner::new(&self.request);
        let accounts = Burn { mint: mint.to_account_info(), from: self.escrow.to_account_info(), authority: self.request.to_account_info() };
        token::burn(CpiContext::new_with_signer(self.token_program.key(), accounts, &[&signer.seeds()]), amount)
    }

    /// Return the whole escrow to the owner and say why ([`RequestRefunded`]).
    pub fn refund(&self, reason: RefundReason, price: u128) -> Result<()> {
        let amount = self.escrow.amount;
        self.pay_from_escrow(self.refund_to.to_account_info(), amount)?;
        let r = &self.request;
        msg!("request refunded: {:?}", reason);
        crate::emit_event!(RequestRefunded { request: r.key(), owner: r.owner, kind: r.kind, executor: self.executor.key(), reason, amount, price });
        Ok(())
    }

    /// Refund with `reason` ([`RequestAccounts::refund`]) and close, paying the executor.
    pub fn refund_and_close(&self, reason: RefundReason, price: u128) -> Result<()> {
        self.refund(reason, price)?;
        self.close(&self.executor.to_account_info())
    }

    /// Close the (emptied) escrow to the owner and pay the executor fee to
    /// `fee_to` (the executor; the owner on a cancel). The request itself is
    /// closed to the owner by Anchor when the instruction ends.
    pub fn close(&self, fee_to: &AccountInfo<'info>) -> Result<()> {
        let signer = RequestSigner::new(&self.request);
        let accounts = CloseAccount { account: self.escrow.to_account_info(), destination: self.owner.to_account_info(), authority: self.request.to_account_info() };
        token::close_account(CpiContext::new_with_signer(self.token_program.key(), accounts, &[&signer.seeds()]))?;
        let fee = self.request.executor_fee;
        if fee > 0 {
            let from = self.request.to_account_info();
            let mut from_lamports = from.try_borrow_mut_lamports()?;
            **from_lamports = from_lamports.checked_sub(fee).ok_or(ErrorCode::MathOverflow)?;
            let mut to_lamports = fee_to.try_borrow_mut_lamports()?;
            **to_lamports = to_lamports.checked_add(fee).ok_or(ErrorCode::MathOverflow)?;
        }
        Ok(())
    }
}
