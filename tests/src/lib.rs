//! The program's tests: the in-process bank (from `leveraged-token-harness`,
//! shared with `lt demo`, the replay and the keeper's tests) plus fixtures for
//! a ready market with tokens and users.

pub mod fixtures;

/// Every test binary linked with this harness measures the program's SBF heap
/// use per instruction (`harness::heap`): the bank's processor wrapper opens a
/// window around the program's entry point and this allocator counts inside it.
#[global_allocator]
static HEAP: leveraged_token_harness::heap::Counting = leveraged_token_harness::heap::Counting(std::alloc::System);

pub use leveraged_token::errors::ErrorCode;
pub use leveraged_token_harness as harness;
pub use leveraged_token_harness::bank::*;
pub use leveraged_token_sdk as sdk;
pub use solana_keypair::Keypair as TestKeypair;
pub use solana_signer::Signer as TestSigner;
