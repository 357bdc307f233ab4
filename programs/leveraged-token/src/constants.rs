//! Seeds, pause flags, oracle program ids and parameter caps. Seeds are defined
//! here once; [`crate::pda`] derives every address from them for the program,
//! the client and the tests alike.

use anchor_lang::prelude::*;

/// Layout version written into every account at creation. An upgrade that
/// changes a layout bumps it and migrates accounts that carry the old one.
pub const ACCOUNT_VERSION: u8 = 2;
/// Zeroed bytes at the end of every account, for fields added by upgrades
/// without a reallocation.
pub const RESERVED_BYTES: usize = 64;

pub const CONFIG_SEED: &[u8] = b"config";
pub const MARKET_SEED: &[u8] = b"market";
pub const POOL_VAULT_SEED: &[u8] = b"pool_vault";
pub const LP_MINT_SEED: &[u8] = b"lp_mint";
pub const TOKEN_SEED: &[u8] = b"token";
pub const SHARE_MINT_SEED: &[u8] = b"share_mint";
pub const TOKEN_VAULT_SEED: &[u8] = b"token_vault";
pub const INSURANCE_VAULT_SEED: &[u8] = b"insurance_vault";
/// Most tokens a market may have: LP deposits and withdrawals value the pool
/// on every one of them (two accounts each).
pub const MAX_TOKENS_PER_MARKET: usize = 8;

/// Pause flags (bit set), the same bits on config (global), market and token.
pub const PAUSE_MINT: u8 = 1;
pub const PAUSE_REDEEM: u8 = 2;
pub const PAUSE_REBALANCE: u8 = 4;
pub const PAUSE_LIQUIDITY: u8 = 8;
pub const PAUSE_ALL: u8 = PAUSE_MINT | PAUSE_REDEEM | PAUSE_REBALANCE | PAUSE_LIQUIDITY;

/// Pyth legacy oracle program (mainnet-beta).
pub const PYTH_LEGACY_MAINNET: Pubkey = pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH");
/// Pyth legacy oracle program (devnet).
pub const PYTH_LEGACY_DEVNET: Pubkey = pubkey!("gSbePebfvPy7tRqimPoVecS2UsBvYv46ynrzWocc92s");
/// Pyth Solana Receiver program, owner of pull `PriceUpdateV2` accounts.
pub const PYTH_RECEIVER: Pubkey = pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// Parameter caps enforced by the one validation function of each account.
pub const MAX_TRADE_FEE_BPS: u16 = 100;
pub const MAX_BORROW_RATE_BPS: u32 = 10_000;
pub const MAX_FUNDING_BPS: u32 = 50_000;
pub const MAX_BORROW_MAX_RATE_BPS: u32 = 100_000;
pub const MAX_INSURANCE_SHARE_BPS: u16 = 5_000;
pub const MAX_CAP_BPS: u32 = 100_000;
pub const MAX_ORACLE_AGE_SLOTS: u64 = 1_500;
pub const MAX_ORACLE_AGE_SECS: i64 = 600;
pub const MAX_CONF_BPS: u16 = 1_000;
pub const MAX_LEVERAGE_BPS: u32 = 100_000;
pub const MIN_LEVERAGE_BPS: u32 = 1_000;
pub const MAX_MINT_REDEEM_FEE_BPS: u16 = 500;
pub const MAX_STREAMING_FEE_BPS: u32 = 1_000;
pub const MAX_KEEPER_REWARD_CAP_BPS: u16 = 100;

/// Seeds of a user's request: `["request", owner, nonce (u64 LE)]`, and of
/// the token account escrowing what it pays: `["escrow", request]`.
pub const REQUEST_SEED: &[u8] = b"request";
pub const ESCROW_SEED: &[u8] = b"escrow";

/// Caps on the request parameters of a market.
pub const MAX_REQUEST_DELAY_SECS: u16 = 60;
pub const MIN_REQUEST_TTL_SECS: u32 = 10;
pub const MAX_REQUEST_TTL_SECS: u32 = 86_400;
pub const MAX_LP_COOLDOWN_SECS: u32 = 7 * 86_400;
pub const MAX_LP_FEE_BPS: u16 = 100;
/// The executor fee a market may ask of a request: at most 0.01 SOL.
pub const MAX_EXECUTOR_FEE_LAMPORTS: u64 = 10_000_000;
/// Nominal slot length, to turn a request's wait in seconds into slots for a
/// legacy (slot-stamped) oracle and a slot schedule into seconds for a pull one.
pub const SLOT_MS: u64 = 400;

/// Seeds of a pending parameter change: `["proposal", market or token]`.
pub const PROPOSAL_SEED: &[u8] = b"proposal";

/// Shortest delay between proposing and applying a parameter change. Zero is
/// allowed only in a build for a local cluster (feature `local-cluster`), so
/// tests and demos on a laptop need not wait; every other build gives holders
/// and LPs a day to leave before a change reaches them.
#[cfg(feature = "local-cluster")]
pub const MIN_PARAM_DELAY_SECS: i64 = 0;
#[cfg(not(feature = "local-cluster"))]
pub const MIN_PARAM_DELAY_SECS: i64 = 86_400;
/// Longest delay a config may set (30 days): a change must stay possible.
pub const MAX_PARAM_DELAY_SECS: i64 = 30 * 86_400;

/// Shortest rebalance period (≈ 5 minutes of slots): the keeper-reward cap
/// counts per period, so a period must be long enough to mean something.
pub const MIN_REBALANCE_PERIOD_SLOTS: u64 = 750;
/// Slots in a day (400 ms each).
pub const DAY_SLOTS: u64 = 216_000;
/// Keeper rewards per day, at most, in bps of equity: `keeper_reward_cap_bps`
/// caps one rebalance period, so a shorter period must have a smaller cap
/// (`cap × DAY_SLOTS ≤ this × period`).
pub const MAX_KEEPER_REWARD_BPS_PER_DAY: u64 = 100;
/// A capped (chunked) rebalance trades at least this fraction of the token's
/// target notional per call, whatever `max_notional_per_call` says, so an
/// episode takes at most about ten calls.
pub const MIN_CHUNK_BPS: u32 = 1_000;

/// Collateral mints need at least this many decimals: the share math's
/// virtual offset (1,000 units) and its roundings are then worth at most
/// 0.001 of a whole token.
pub const MIN_COLLATERAL_DECIMALS: u8 = 6;
