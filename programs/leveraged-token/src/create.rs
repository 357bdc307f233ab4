//! Creating the program's PDAs without Anchor's `init`.
//!
//! Anchor 1.2's `init` creates an address that already holds lamports with the
//! system program's `CreateAccountAllowPrefund` (SIMD-0312). A runtime without
//! that instruction refuses it, so anyone who sent a few lamports to a future
//! PDA (the addresses are public and their seeds fixed) would block its
//! creation for ever (docs/security.md, F1). [`create_pda_account`] creates
//! accounts the way Anchor 0.29–0.31 did, with instructions every runtime has:
//! `create_account` for an empty address, else `transfer` of the rent
//! shortfall, `allocate` and `assign` — the gift stays in the account.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
use anchor_lang::Discriminator;

/// Create the account `target` (the PDA of `signer_seeds`, bump included) of
/// `space` bytes owned by `owner_program`, rent-exempt, paid by `payer`.
///
/// An address with lamports (a gift, or a payment before the creation) keeps
/// them: only the rent it lacks is transferred. An address that is already in
/// use — data, or an owner other than the system program (an existing market,
/// token, vault or mint) — is refused by the system program's `allocate`
/// (`SystemError::AccountAlreadyInUse`), before anything is written, so an
/// existing account can never be re-created or reset.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    target: &AccountInfo<'info>,
    space: usize,
    owner_program: &Pubkey,
    signer_seeds: &[&[u8]],
    system_program: &AccountInfo<'info>,
) -> Result<()> {
    let signer = &[signer_seeds];
    let rent = Rent::get()?;
    let lamports = target.lamports();
    if lamports == 0 {
        // Nothing at the address: one instruction (it also refuses data or another owner).
        let accounts = CreateAccount { from: payer.clone(), to: target.clone() };
        let cpi = CpiContext::new_with_signer(system_program.key(), accounts, signer);
        return system_program::create_account(cpi, rent.minimum_balance(space), space as u64, owner_program);
    }
    require_keys_neq!(payer.key(), target.key(), anchor_lang::error::ErrorCode::TryingToInitPayerAsProgramAccount);
    let shortfall = rent.minimum_balance(space).max(1).saturating_sub(lamports);
    if shortfall > 0 {
        let accounts = Transfer { from: payer.clone(), to: target.clone() };
        system_program::transfer(CpiContext::new(system_program.key(), accounts), shortfall)?;
    }
    // `allocate` refuses an account with data or owned by another program.
    let accounts = Allocate { account_to_allocate: target.clone() };
    system_program::allocate(CpiContext::new_with_signer(system_program.key(), accounts, signer), space as u64)?;
    let accounts = Assign { account_to_assign: target.clone() };
    system_program::assign(CpiContext::new_with_signer(system_program.key(), accounts, signer), owner_program)
}

/// Create a program account (`Config`, `Market`, `LeveragedToken`) of `space`
/// bytes at the PDA `target` and return its state read from the zeroed data,
/// as Anchor's `init` does: every field zero (reserved bytes included) until
/// the caller sets it and [`write_program_account`] stores it.
pub fn create_program_account<'info, T>(payer: &AccountInfo<'info>, target: &AccountInfo<'info>, space: usize, signer_seeds: &[&[u8]], system_program: &AccountInfo<'info>) -> Result<Box<T>>
where
    T: AccountDeserialize + Discriminator,
{
    create_pda_account(payer, target, space, &crate::ID, signer_seeds, system_program)?;
    let data = target.try_borrow_data()?;
    let mut bytes: &[u8] = &data;
    Ok(Box::new(T::try_deserialize_unchecked(&mut bytes)?))
}

/// Write `value` (discriminator, then its Borsh bytes) into the program
/// account `target` created by [`create_program_account`].
pub fn write_program_account<T: AccountSerialize>(target: &AccountInfo, value: &T) -> Result<()> {
    require_keys_eq!(*target.owner, crate::ID, anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram);
    let mut data = target.try_borrow_mut_data()?;
    let mut dst: &mut [u8] = &mut data;
    value.try_serialize(&mut dst)
}
