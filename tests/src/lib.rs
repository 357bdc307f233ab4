//! Test harness: the in-process bank (from the SDK, shared with `lt demo` and
//! the keeper) plus fixtures for a ready market with tokens and users.

#![allow(deprecated)]

pub mod fixtures;

/// Every test binary linked with this harness measures the program's SBF heap
/// use per instruction (`sdk::heap`): the bank's processor wrapper opens a
/// window around the program's entry point and this allocator counts inside it.
#[global_allocator]
static HEAP: leveraged_token_sdk::heap::Counting = leveraged_token_sdk::heap::Counting(std::alloc::System);

pub use leveraged_token::errors::ErrorCode;
pub use leveraged_token_sdk as sdk;
pub use leveraged_token_sdk::bank::*;
pub use solana_keypair::Keypair as TestKeypair;
pub use solana_signer::Signer as TestSigner;
