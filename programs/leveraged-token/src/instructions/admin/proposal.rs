//! The timelock shared by the four parameter instructions: a change is
//! proposed (validated, `eta = now + param_delay_secs`), waits, and is applied
//! by anyone once due — after the target settled at its old values — or
//! cancelled by the admin. Applying is refused while the exits the change
//! affects are paused, so holders and LPs can always leave during the delay.

use anchor_lang::prelude::*;

use crate::constants::{ACCOUNT_VERSION, PROPOSAL_SEED};
use crate::create::{create_program_account, write_program_account};
use crate::errors::ErrorCode;
use crate::events::ParamsProposed;
use crate::state::{Config, ParamChange, ParamProposal, PROPOSAL_SPACE};

/// Create the proposal PDA of `target` (paid by the admin; lamports someone
/// sent to the address beforehand cannot block it, see `create`; a pending
/// proposal refuses a second one with `ProposalPending`), fill it and emit
/// [`ParamsProposed`].
pub fn open_proposal<'info>(
    admin: &AccountInfo<'info>,
    proposal_info: &AccountInfo<'info>,
    system_program: &AccountInfo<'info>,
    bump: u8,
    config: &Config,
    target: Pubkey,
    change: ParamChange,
) -> Result<()> {
    if proposal_info.owner == &crate::ID {
        msg!("a change of {} is already pending", target);
        return err!(ErrorCode::ProposalPending);
    }
    let now = Clock::get()?.unix_timestamp;
    let eta = now.checked_add(config.param_delay_secs).ok_or(ErrorCode::MathOverflow)?;
    let seeds: &[&[u8]] = &[PROPOSAL_SEED, target.as_ref(), &[bump]];
    let mut proposal = create_program_account::<ParamProposal>(admin, proposal_info, PROPOSAL_SPACE, seeds, system_program)?;
    let proposer = admin.key();
    proposal.version = ACCOUNT_VERSION;
    proposal.bump = bump;
    proposal.target = target;
    proposal.proposer = proposer;
    proposal.proposed_at = now;
    proposal.eta = eta;
    proposal.change = change;
    write_program_account(proposal_info, proposal.as_ref())?;
    crate::emit_event!(ParamsProposed { target, proposer, proposed_at: now, eta, change });
    Ok(())
}

/// The proposal is due: its `eta` has passed.
pub fn require_due(proposal: &ParamProposal) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    if !proposal.is_due(now) {
        msg!("proposal for {} is due at {}, now {}", proposal.target, proposal.eta, now);
        return err!(ErrorCode::ProposalNotDue);
    }
    Ok(())
}
