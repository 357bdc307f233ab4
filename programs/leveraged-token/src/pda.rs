//! Every program-derived address, derived in one place. The program uses the
//! stored canonical bumps; the client, keeper and tests call these functions.

use anchor_lang::prelude::*;

use crate::constants::*;

pub fn config() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CONFIG_SEED], &crate::ID)
}

pub fn market(oracle_id: &[u8; 32], collateral_mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[MARKET_SEED, oracle_id, collateral_mint.as_ref()], &crate::ID)
}

pub fn pool_vault(market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[POOL_VAULT_SEED, market.as_ref()], &crate::ID)
}

pub fn insurance_vault(market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[INSURANCE_VAULT_SEED, market.as_ref()], &crate::ID)
}

pub fn lp_mint(market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[LP_MINT_SEED, market.as_ref()], &crate::ID)
}

pub fn leveraged_token(market: &Pubkey, target_leverage_bps: i32) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[TOKEN_SEED, market.as_ref(), &target_leverage_bps.to_le_bytes()], &crate::ID)
}

pub fn share_mint(token: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[SHARE_MINT_SEED, token.as_ref()], &crate::ID)
}

pub fn token_vault(token: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[TOKEN_VAULT_SEED, token.as_ref()], &crate::ID)
}

/// The pending parameter change of a market or token.
pub fn param_proposal(target: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[PROPOSAL_SEED, target.as_ref()], &crate::ID)
}

/// A user's request with `nonce` (the owner picks the nonce; one pending
/// request per owner and nonce).
pub fn request(owner: &Pubkey, nonce: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[REQUEST_SEED, owner.as_ref(), &nonce.to_le_bytes()], &crate::ID)
}

/// The token account escrowing what `request` pays.
pub fn escrow(request: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[ESCROW_SEED, request.as_ref()], &crate::ID)
}

/// The associated token account of `owner` for `mint` (SPL Token): where a
/// request takes its payment from and sends its output and refunds, so an
/// executor can always re-create it.
pub fn associated_token(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address(owner, mint)
}
