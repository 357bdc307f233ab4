//! The test and demo harness: the in-process bank (solana-program-test with
//! the program run natively, or its `.so` under `SBF_OUT_DIR`), the one
//! deployment builder and oracle publisher, the bank as a `Chain`, the SBF
//! heap counter, and the keeper's fault injector. Used by the tests, `lt demo`,
//! `lt replay` and `lt-bench`; never by what users install against a cluster
//! (`lt-keeper`, the SDK).

pub mod bank;
pub mod bank_chain;
pub mod deployment;
pub mod faults;
pub mod heap;
pub mod requests;
pub mod sbf;
pub mod timelock;

pub use bank_chain::BankChain;
