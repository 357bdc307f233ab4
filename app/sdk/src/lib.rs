//! Client SDK for the leveraged-token program.
//!
//! PDAs come from the program's own `pda` module and the money math from its
//! pure `math` module — the same code the program runs, not a copy. This crate
//! adds typed instruction builders for every instruction, account and event
//! decoding, error names, the decide step, defaults, parameters, the deploy
//! plan and the `Chain` trait with its RPC implementation. It does not
//! contain the in-process bank: that test and demo machinery lives in
//! `leveraged-token-harness`, so what users install (`lt-keeper`, a client)
//! carries no solana-program-test.

pub mod chain;
pub mod decide;
pub mod defaults;
pub mod deploy;
pub mod errors;
pub mod events;
pub mod ix;
pub mod keys;
pub mod oracle_fixture;
pub mod params;
pub mod prices;
pub mod requests;

pub use keys::{MarketKeys, RequestKeys, TokenKeys};
pub use leveraged_token::{self as program, constants, errors::ErrorCode, math, pda, state, MarketParams, OracleKind, TokenParams, ID as PROGRAM_ID};
