use anchor_lang::prelude::*;

use super::close::*;
use crate::errors::ErrorCode;
use crate::events::RequestCancelled;

#[derive(Accounts)]
pub struct CancelRequest<'info> {
    pub request: RequestAccounts<'info>,
}

/// Anyone, after the request expired unexecuted: the escrow, the executor fee
/// and the rent go back to the owner. Before expiry a request can only be
/// executed (a requester who could withdraw after seeing the price would hold
/// an option on it).
pub fn process_cancel_request(ctx: Context<CancelRequest>) -> Result<()> {
    let a = &ctx.accounts.request;
    let now = Clock::get()?.unix_timestamp;
    if !a.request.is_expired(now) {
        msg!("request expires at {}, now {}", a.request.expires_at, now);
        return err!(ErrorCode::RequestNotExpired);
    }
    let amount = a.escrow.amount;
    a.pay_from_escrow(a.refund_to.to_account_info(), amount)?;
    a.close(&a.owner.to_account_info())?;
    let r = &a.request;
    crate::emit_event!(RequestCancelled { request: r.key(), owner: r.owner, kind: r.kind, amount });
    Ok(())
}
