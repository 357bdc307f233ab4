//! `lt`: the leveraged-token client as a library. Every chain command is a
//! function generic over [`leveraged_token_sdk::chain::Chain`] that takes
//! parsed arguments and returns a printable [`report::Report`], so the whole
//! CLI runs against the in-process bank in tests; `main.rs` only parses the
//! command line, builds an `RpcChain` and prints.
//!
//! * [`amount`]: UI amounts parsed exactly from decimal strings.
//! * [`settings`]: the Solana CLI config, URL monikers, keypair files.
//! * [`client`]: the chain, the signer and `--simulate`/`--priority-fee`.
//! * [`commands`]: one function per command.
//! * [`pace`]: how a request's wait passes (a cluster sleeps; the bank moves its clock).
//! * [`demo`], [`fixture`]: `lt demo` and `lt oracle-fixture`.

pub mod amount;
pub mod args;
pub mod client;
pub mod commands;
pub mod demo;
pub mod fixture;
pub mod oracle;
pub mod pace;
pub mod report;
pub mod settings;

pub use args::{ChainCommand, Cli, Command, GlobalArgs};
pub use client::{Client, TxFailed};
pub use commands::run;
pub use report::{Format, Report, Value};

/// Parse a command line (as `lt` would) into its arguments.
pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    <Cli as clap::Parser>::try_parse_from(args)
}
