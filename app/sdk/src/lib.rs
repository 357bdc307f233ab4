//! Client SDK for the leveraged-token program.
//!
//! PDAs come from the program's own `pda` module and the money math from its
//! pure `math` module — the same code the program runs, not a copy. This crate
//! adds typed instruction builders for every instruction.

#![allow(deprecated)]

pub mod bank;
pub mod chain;
pub mod decide;
pub mod defaults;
pub mod deploy;
pub mod errors;
pub mod heap;
pub mod ix;
pub mod keys;
pub mod oracle_fixture;
pub mod params;
pub mod prices;
pub mod sbf;

pub use keys::{MarketKeys, TokenKeys};
pub use leveraged_token::{self as program, constants, errors::ErrorCode, math, pda, state, MarketParams, OracleKind, TokenParams, ID as PROGRAM_ID};
