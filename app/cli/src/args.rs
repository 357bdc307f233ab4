//! Command-line arguments. Parsed here into typed values; the command
//! functions in [`crate::commands`] take them as they are.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use clap::{Args, Parser, Subcommand};
use leveraged_token::{MarketParams, TokenParams};

use crate::amount::{parse_ui_amount, AmountError, UiAmount};
use crate::report::Format;

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
    /// Create a market or change its parameters.
    #[command(subcommand)]
    Market(MarketCmd),
    /// Deposit into or withdraw from a market's LP pool.
    #[command(subcommand)]
    Liquidity(LiquidityCmd),
    /// Create a leveraged token or change its parameters.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Deposit collateral into a leveraged token for shares at NAV.
    Mint(MintArgs),
    /// Burn shares of a leveraged token for collateral at NAV.
    Redeem(RedeemArgs),
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
            ChainCommand::Status(_) | ChainCommand::List | ChainCommand::Config(ConfigCmd::Show) => false,
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
    let names: Vec<&str> = [(PAUSE_MINT, "mint"), (PAUSE_REDEEM, "redeem"), (PAUSE_REBALANCE, "rebalance"), (PAUSE_LIQUIDITY, "liquidity")]
        .iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| *n)
        .collect();
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
    /// Change a market's parameters (unset flags keep their value; none shows them).
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
    #[command(flatten)]
    pub params: MarketParamFlags,
}

/// Market parameter flags; each defaults to the current value (or `sdk::defaults`).
#[derive(Args, Debug, Clone, Default)]
pub struct MarketParamFlags {
    #[arg(long)]
    pub trade_fee_bps: Option<u16>,
    #[arg(long)]
    pub borrow_rate_bps: Option<u32>,
    #[arg(long)]
    pub oi_cap_bps: Option<u32>,
    #[arg(long)]
    pub max_age_slots: Option<u64>,
    #[arg(long)]
    pub max_age_secs: Option<i64>,
    #[arg(long)]
    pub max_conf_bps: Option<u16>,
}

impl MarketParamFlags {
    pub fn is_empty(&self) -> bool {
        self.trade_fee_bps.is_none()
            && self.borrow_rate_bps.is_none()
            && self.oi_cap_bps.is_none()
            && self.max_age_slots.is_none()
            && self.max_age_secs.is_none()
            && self.max_conf_bps.is_none()
    }

    pub fn apply(&self, p: MarketParams) -> MarketParams {
        MarketParams {
            trade_fee_bps: self.trade_fee_bps.unwrap_or(p.trade_fee_bps),
            borrow_rate_bps: self.borrow_rate_bps.unwrap_or(p.borrow_rate_bps),
            oi_cap_bps: self.oi_cap_bps.unwrap_or(p.oi_cap_bps),
            max_age_slots: self.max_age_slots.unwrap_or(p.max_age_slots),
            max_age_secs: self.max_age_secs.unwrap_or(p.max_age_secs),
            max_conf_bps: self.max_conf_bps.unwrap_or(p.max_conf_bps),
        }
    }
}

#[derive(Subcommand, Debug, Clone)]
pub enum LiquidityCmd {
    /// Deposit collateral (UI units) for LP shares.
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
    },
    /// Burn LP shares (UI units, or `all`) for collateral.
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
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum TokenCmd {
    /// Create a leveraged token on a market.
    Create(TokenCreateArgs),
    /// Change a token's parameters (unset flags keep their value; none shows them).
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

/// Token parameter flags; each defaults to the current value (or `sdk::defaults`).
#[derive(Args, Debug, Clone, Default)]
pub struct TokenParamFlags {
    #[arg(long)]
    pub band_min_bps: Option<u32>,
    #[arg(long)]
    pub band_max_bps: Option<u32>,
    #[arg(long)]
    pub ripcord_bps: Option<u32>,
    #[arg(long)]
    pub deviation_bps: Option<u32>,
    #[arg(long)]
    pub max_slots: Option<u64>,
    /// Largest notional traded per rebalance call, in collateral UI units (0 = uncapped).
    #[arg(long)]
    pub max_notional_per_call: Option<UiAmount>,
    /// Reward to the rebalance caller, in collateral UI units.
    #[arg(long)]
    pub keeper_reward: Option<UiAmount>,
    #[arg(long)]
    pub keeper_reward_cap_bps: Option<u16>,
    #[arg(long)]
    pub mint_fee_bps: Option<u16>,
    #[arg(long)]
    pub redeem_fee_bps: Option<u16>,
    #[arg(long)]
    pub streaming_fee_bps: Option<u32>,
}

impl TokenParamFlags {
    pub fn is_empty(&self) -> bool {
        self.band_min_bps.is_none()
            && self.band_max_bps.is_none()
            && self.ripcord_bps.is_none()
            && self.deviation_bps.is_none()
            && self.max_slots.is_none()
            && self.max_notional_per_call.is_none()
            && self.keeper_reward.is_none()
            && self.keeper_reward_cap_bps.is_none()
            && self.mint_fee_bps.is_none()
            && self.redeem_fee_bps.is_none()
            && self.streaming_fee_bps.is_none()
    }

    /// Override `p` with the flags given; amounts are parsed at `decimals`.
    pub fn apply(&self, p: TokenParams, decimals: u8) -> Result<TokenParams, AmountError> {
        let amount = |a: &Option<UiAmount>, cur: u64| -> Result<u64, AmountError> {
            match a {
                Some(UiAmount::Exact(s)) => parse_ui_amount(s, decimals),
                Some(UiAmount::All) => Err(AmountError("\"all\" is not a parameter value".into())),
                None => Ok(cur),
            }
        };
        Ok(TokenParams {
            band_min_bps: self.band_min_bps.unwrap_or(p.band_min_bps),
            band_max_bps: self.band_max_bps.unwrap_or(p.band_max_bps),
            ripcord_bps: self.ripcord_bps.unwrap_or(p.ripcord_bps),
            deviation_bps: self.deviation_bps.unwrap_or(p.deviation_bps),
            max_slots: self.max_slots.unwrap_or(p.max_slots),
            max_notional_per_call: amount(&self.max_notional_per_call, p.max_notional_per_call)?,
            keeper_reward: amount(&self.keeper_reward, p.keeper_reward)?,
            keeper_reward_cap_bps: self.keeper_reward_cap_bps.unwrap_or(p.keeper_reward_cap_bps),
            mint_fee_bps: self.mint_fee_bps.unwrap_or(p.mint_fee_bps),
            redeem_fee_bps: self.redeem_fee_bps.unwrap_or(p.redeem_fee_bps),
            streaming_fee_bps: self.streaming_fee_bps.unwrap_or(p.streaming_fee_bps),
        })
    }
}

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
