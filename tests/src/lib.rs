//! Test harness: the in-process bank (from the SDK, shared with `lt demo` and
//! the keeper) plus fixtures for a ready market with tokens and users.

#![allow(deprecated)]

pub mod fixtures;

pub use leveraged_token::errors::ErrorCode;
pub use leveraged_token_sdk as sdk;
pub use leveraged_token_sdk::bank::*;
pub use solana_keypair::Keypair as TestKeypair;
pub use solana_signer::Signer as TestSigner;
