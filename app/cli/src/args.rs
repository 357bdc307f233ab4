//! Command-line arguments. Parsed here into typed values; the command
//! functions in [`crate::commands`] take them as they are.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use clap::{Args, Parser, Subcommand};
use leveraged_token::{MarketParams, TokenParams};

use crate::amount::{format_ui_amount, parse_ui_amount, AmountError, UiAmount};
use crate::report::{Format, Report};

/// Generates the flag struct of one parameter struct from its field list in
/// the SDK (`leveraged_token_sdk::params`): one `--flag` per field (amounts in
/// collateral UI units), `is_empty`, `apply` over the current values and
/// `report` for display. A field missing from the list fails to compile.
macro_rules! param_flags {
    ($flags:ident, $what:literal; $params:ident; $($f:ident: $t:ty [$kind:ident] $doc:literal,)*) => {
        param_flags!(@struct $flags $what [] $($f: $t [$kind] $doc,)*);

        impl $flags {
            pub fn is_empty(&self) -> bool {
                true $(&& self.$f.is_none())*
            }

            /// Override `p` with the flags given; amounts are parsed at `decimals`.
            #[allow(unused_variables)] // a struct without amount fields ignores `decimals`
            pub fn apply(&self, p: $params, decimals: u8) -> Result<$params, AmountError> {
                Ok($params { $( $f: param_flags!(@apply $kind, &self.$f, p.$f, decimals), )* })
            }

            /// Every field of `p`, in order (amounts in UI units at `decimals`).
            #[allow(unused_variables)]
            pub fn report(r: &mut Report, p: &$params, decimals: u8) {
                $( r.push(stringify!($f), param_flags!(@show $kind, p.$f, decimals)); )*
            }
        }
    };
    // The struct, one field at a time: clap's derive must see each `Option<…>` literally.
    (@struct $flags:ident $what:literal [$($out:tt)*]) => {
        #[doc = concat!($what, " parameter flags; each defaults to the current value (or `sdk::defaults`).")]
        #[derive(Args, Debug, Clone, Default)]
        pub struct $flags { $($out)* }
    };
    (@struct $flags:ident $what:literal [$($out:tt)*] $f:ident: $t:ty [plain] $doc:literal, $($rest:tt)*) => {
        param_flags!(@struct $flags $what [$($out)* #[doc = $doc] #[arg(long)] pub $f: Option<$t>,] $($rest)*);
    };
    (@struct $flags:ident $what:literal [$($out:tt)*] $f:ident: $t:ty [amount] $doc:literal, $($rest:tt)*) => {
        param_flags!(@struct $flags $what [$($out)* #[doc = $doc] #[arg(long)] pub $f: Option<UiAmount>,] $($rest)*);
    };
    (@apply plain, $flag:expr, $cur:expr, $decimals:expr) => { $flag.unwrap_or($cur) };
    (@apply amount, $flag:expr, $cur:expr, $decimals:expr) => {
        match $flag {
            Some(UiAmount::Exact(s)) => parse_ui_amount(s, $decimals)?,
            Some(UiAmount::All) => return Err(AmountError("\"all\" is not a parameter value".into())),
            None => $cur,
        }
    };
    (@show plain, $v:expr, $decimals:expr) => { $v };
    (@show amount, $v:expr, $decimals:expr) => { format_ui_amount($v, $decimals) };
}

#[derive(Parser)]
#[command(name = "lt", version, about = "Client for on-chain leveraged tokens", propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every chain command understands, as the Solana CLI spells them.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Solana CLI config file [default: ~/.config/solana/cli/config.yml].
    #[arg(short = 'C', long = "config", global = true, value_name = "PATH")]
    pub config_file: Option<PathBuf>,
    /// RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (l, d, t, m).
    #[arg(short = 'u', long = "url", global = true, value_name = "URL_OR_MONIKER")]
    pub url: Option<String>,
    /// Signer: a Solana JSON keypair file [default: keypair_path of the config].
    #[arg(short = 'k', long = "keypair", global = true, value_name = "KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// processed, confirmed or finalized [default: the config's, else confirmed].
    #[arg(long, global = true)]
    pub commitment: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Dry run: simulate the transaction, print its logs and what would change.
    #[arg(long, global = true)]
    pub simulate: bool,
    /// Priority fee: compute-unit price in micro-lamports.
    #[arg(long, global = true, value_name = "MICRO_LAMPORTS")]
    pub priority_fee: Option<u64>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the embedded local-bank demo (no validator needed).
    Demo(crate::demo::DemoArgs),
    /// Write a Pyth price account as JSON for `solana-test-validator --account`.
    OracleFixture(crate::fixture::FixtureArgs),
    /// Replay price history through the program in the bank and compare rebalance policies.
    Replay(leveraged_token_replay::cli::ReplayArgs),
    #[command(flatten)]
    Chain(ChainCommand),
}

/// Commands that talk to a cluster through [`leveraged_token_sdk::chain::Chain`].
#[derive(Subcommand, Debug, Clone)]
pub enum ChainCommand {
    /// The program's global config: create it, show it, transfer the admin role.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Set pause flags (mint, redeem, rebalance, liquidity, all) globally or on a market or token.
    #[command(subcommand)]
    Pause(PauseScope),
    /// Clear pause flags.
    #[command(subcommand)]
    Unpause(PauseScope),
    /// Create a market or propose a change of its parameters.
    #[command(subcommand)]
    Market(MarketCmd),
    /// Deposit into or withdraw from a market's LP pool.
    #[command(subcommand)]
    Liquidity(LiquidityCmd),
    /// Create a leveraged token or propose a change of its parameters.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Pending parameter changes (timelocked): show, apply once due, cancel.
    #[command(subcommand)]
    Params(ParamsCmd),
    /// Request shares of a leveraged token for collateral, wait for the request's price time and execute it.
    Mint(MintArgs),
    /// Request collateral for shares of a leveraged token, wait for the request's price time and execute it.
    Redeem(RedeemArgs),
    /// Pending requests (mint, redeem, LP deposit and withdrawal): where each stands.
    Requests(RequestsArgs),
    /// Execute a request once its price time has come (anyone may; the executor earns its fee).
    Execute(ExecuteArgs),
    /// Cancel an expired request: its escrow, fee and rent go back to its owner (anyone may).
    Cancel(CancelArgs),
    /// Rebalance a token back to its target leverage (permissionless; gated).
    Rebalance(RebalanceArgs),
    /// Send a token's protocol fees to the treasury (permissionless).
    CollectFees(TokenArg),
    /// NAV, leverage, position, pool utilisation and the closest rebalance trigger of a token.
    Status(StatusArgs),
    /// Every market and token of the program.
    List,
}

impl ChainCommand {
    /// Whether the command signs (and so needs the keypair before anything else).
    pub fn needs_signer(&self) -> bool {
        match self {
            ChainCommand::Status(_) | ChainCommand::List | ChainCommand::Requests(_) | ChainCommand::Config(ConfigCmd::Show) | ChainCommand::Params(ParamsCmd::Show { .. }) => false,
            ChainCommand::Market(MarketCmd::Params { params, .. }) => !params.is_empty(),
            ChainCommand::Token(TokenCmd::Params { params, .. }) => !params.is_empty(),
            _ => true,
        }
    }
}

#[derive(Subcommand, Debug, Clone)]
pub enum ConfigCmd {
    /// Create the config; the signer becomes admin.
    Init {
        /// Owner of the fee accounts [default: the signer].
        #[arg(long)]
        treasury: Option<Pubkey>,
        /// Timelock on every parameter change, in seconds (at least 86400 unless
        /// the program was built with the `local-cluster` feature; fixed for the config's life).
        #[arg(long, default_value_t = 86_400)]
        param_delay_secs: i64,
    },
    /// Show the config.
    Show,
    /// Propose a new admin (step one of two; the default address cancels).
    ProposeAdmin {
        /// The proposed admin's address.
        new_admin: Pubkey,
    },
    /// Accept the admin role (run by the proposed admin).
    AcceptAdmin,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ParamsCmd {
    /// Show the pending change of a market or token: when it applies and what it changes.
    Show {
        /// Market or token address.
        target: Pubkey,
    },
    /// Apply a due change (anyone may; a token settles at its old parameters first).
    Apply {
        /// Market or token address.
        target: Pubkey,
        #[command(flatten)]
        oracle: OracleArg,
    },
    /// Cancel a pending change (admin).
    Cancel {
        /// Market or token address.
        target: Pubkey,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum PauseScope {
    /// Every market and token.
    Global {
        /// mint,redeem,rebalance,liquidity or all.
        flags: PauseFlags,
    },
    /// One market (its LP pool and every token on it).
    Market {
        /// Market address.
        market: Pubkey,
        /// mint,redeem,rebalance,liquidity or all.
        flags: PauseFlags,
    },
    /// One token.
    Token {
        /// Leveraged token address.
        token: Pubkey,
        /// mint,redeem,rebalance,liquidity or all.
        flags: PauseFlags,
    },
}

/// A comma-separated set of `mint`, `redeem`, `rebalance`, `liquidity`, `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseFlags(pub u8);

impl std::str::FromStr for PauseFlags {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use leveraged_token::constants::*;
        let mut mask = 0;
        for part in s.split([',', '|', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
            mask |= match part.to_ascii_lowercase().as_str() {
                "mint" => PAUSE_MINT,
                "redeem" => PAUSE_REDEEM,
                "rebalance" => PAUSE_REBALANCE,
                "liquidity" => PAUSE_LIQUIDITY,
                "all" => PAUSE_ALL,
                other => return Err(format!("unknown pause flag {other:?}: expected mint, redeem, rebalance, liquidity or all, comma-separated")),
            };
        }
        if mask == 0 {
            return Err("no pause flags given: expected mint, redeem, rebalance, liquidity or all".into());
        }
        Ok(PauseFlags(mask))
    }
}

/// Names of the flags set in `mask` (`none` when empty).
pub fn pause_names(mask: u8) -> String {
    use leveraged_token::constants::*;
    let names: Vec<&str> =
        [(PAUSE_MINT, "mint"), (PAUSE_REDEEM, "redeem"), (PAUSE_REBALANCE, "rebalance"), (PAUSE_LIQUIDITY, "liquidity")].iter().filter(|(b, _)| mask & b != 0).map(|(_, n)| *n).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OracleKindArg {
    /// Pyth push oracle price account.
    Legacy,
    /// Pyth pull `PriceUpdateV2` account (needs --feed-id).
    Pull,
}

#[derive(Subcommand, Debug, Clone)]
pub enum MarketCmd {
    /// Create a market (oracle feed + collateral mint) and its LP pool.
    Create(MarketCreateArgs),
    /// Propose new market parameters (unset flags keep their value; none shows them and any pending change).
    Params {
        /// Market address.
        market: Pubkey,
        #[command(flatten)]
        params: MarketParamFlags,
    },
}

#[derive(Args, Debug, Clone)]
pub struct MarketCreateArgs {
    /// Legacy: the Pyth price account; pull: a current PriceUpdateV2 account of the feed.
    #[arg(long)]
    pub oracle: Pubkey,
    #[arg(long, value_enum, default_value_t = OracleKindArg::Legacy)]
    pub kind: OracleKindArg,
    /// Pull feed id (64 hex characters); legacy markets are keyed by the oracle address.
    #[arg(long)]
    pub feed_id: Option<String>,
    #[arg(long)]
    pub collateral_mint: Pubkey,
    /// The collateral mint's freeze authority, named to accept trusting its issuer
    /// (required when the mint has one: it could freeze the pool vault).
    #[arg(long, value_name = "PUBKEY")]
    pub trusted_freeze_authority: Option<Pubkey>,
    #[command(flatten)]
    pub params: MarketParamFlags,
}

leveraged_token_sdk::with_market_param_fields!(param_flags!(MarketParamFlags, "Market"));

#[derive(Subcommand, Debug, Clone)]
pub enum LiquidityCmd {
    /// Request LP shares for collateral (UI units), wait for the price time and execute.
    Deposit {
        /// Market address.
        market: Pubkey,
        /// Collateral to deposit, in UI units.
        amount: UiAmount,
        /// Least LP shares to accept [default: the quote less --slippage-bps].
        #[arg(long)]
        min_lp_out: Option<UiAmount>,
        #[command(flatten)]
        slippage: Slippage,
        #[command(flatten)]
        oracle: OracleArg,
        #[command(flatten)]
        request: RequestFlags,
    },
    /// Request collateral for LP shares (UI units, or `all`), wait for the price time (at least the LP cooldown) and execute.
    Withdraw {
        /// Market address.
        market: Pubkey,
        /// LP shares to burn, in UI units, or `all`.
        lp_amount: UiAmount,
        /// Least collateral to accept [default: the quote less --slippage-bps].
        #[arg(long)]
        min_out: Option<UiAmount>,
        #[command(flatten)]
        slippage: Slippage,
        #[command(flatten)]
        oracle: OracleArg,
        #[command(flatten)]
        request: RequestFlags,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum TokenCmd {
    /// Create a leveraged token on a market.
    Create(TokenCreateArgs),
    /// Propose new token parameters (unset flags keep their value; none shows them and any pending change).
    Params {
        /// Leveraged token address.
        token: Pubkey,
        #[command(flatten)]
        params: TokenParamFlags,
    },
}

#[derive(Args, Debug, Clone)]
pub struct TokenCreateArgs {
    /// Market address.
    pub market: Pubkey,
    /// Signed target leverage: 3 (3x long), -1 (1x short), 2.5.
    #[arg(long, allow_hyphen_values = true)]
    pub leverage: String,
    #[command(flatten)]
    pub params: TokenParamFlags,
}

leveraged_token_sdk::with_token_param_fields!(param_flags!(TokenParamFlags, "Token"));

/// The price account to pass for a pull-oracle market (a legacy market's is its own).
#[derive(Args, Debug, Clone, Default)]
pub struct OracleArg {
    /// Pull markets: a current PriceUpdateV2 account of the market's feed.
    #[arg(long = "oracle", value_name = "PRICE_UPDATE")]
    pub oracle: Option<Pubkey>,
}

#[derive(Args, Debug, Clone)]
pub struct Slippage {
    /// Tolerance below the quote when no explicit minimum is given, in bps.
    #[arg(long, default_value_t = 100)]
    pub slippage_bps: u16,
}

impl Default for Slippage {
    fn default() -> Self {
        Self { slippage_bps: 100 }
    }
}

#[derive(Args, Debug, Clone)]
pub struct MintArgs {
    /// Leveraged token address.
    pub token: Pubkey,
    /// Collateral to deposit, in UI units (e.g. 100.5).
    pub amount: UiAmount,
    /// Least shares to accept [default: the quote less --slippage-bps].
    #[arg(long)]
    pub min_out: Option<UiAmount>,
    #[command(flatten)]
    pub slippage: Slippage,
    #[command(flatten)]
    pub oracle: OracleArg,
    #[command(flatten)]
    pub request: RequestFlags,
}

#[derive(Args, Debug, Clone)]
pub struct RedeemArgs {
    /// Leveraged token address.
    pub token: Pubkey,
    /// Shares to burn, in UI units, or `all`.
    pub shares: UiAmount,
    /// Least collateral to accept [default: the quote less --slippage-bps].
    #[arg(long)]
    pub min_out: Option<UiAmount>,
    #[command(flatten)]
    pub slippage: Slippage,
    #[command(flatten)]
    pub oracle: OracleArg,
    #[command(flatten)]
    pub request: RequestFlags,
}

#[derive(Args, Debug, Clone)]
pub struct RebalanceArgs {
    /// Leveraged token address.
    pub token: Pubkey,
    /// Send even when the client-side gate says no trigger holds.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub oracle: OracleArg,
}

#[derive(Args, Debug, Clone)]
pub struct TokenArg {
    /// Leveraged token address.
    pub token: Pubkey,
}

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    /// Leveraged token address.
    pub token: Pubkey,
    #[command(flatten)]
    pub oracle: OracleArg,
}

/// How `mint`, `redeem` and `liquidity deposit|withdraw` send their request.
#[derive(Args, Debug, Clone, Default)]
pub struct RequestFlags {
    /// Send the request and return: print its address, price time and expiry
    /// (then `lt execute <REQUEST>` or any executor fills it).
    #[arg(long)]
    pub no_wait: bool,
    /// The request's nonce [default: an unused one from the clock].
    #[arg(long)]
    pub nonce: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct RequestsArgs {
    /// Only the requests of this owner.
    #[arg(long, value_name = "PUBKEY")]
    pub owner: Option<Pubkey>,
}

#[derive(Args, Debug, Clone)]
pub struct ExecuteArgs {
    /// Request address (as `lt requests` or `--no-wait` print it).
    pub request: Pubkey,
    #[command(flatten)]
    pub oracle: OracleArg,
}

#[derive(Args, Debug, Clone)]
pub struct CancelArgs {
    /// Request address (as `lt requests` or `--no-wait` print it).
    pub request: Pubkey,
}
