//! # Leveraged tokens on Solana
//!
//! A leveraged token is an SPL token whose holders get a constant multiple of an
//! asset's return (3x long, 1x short, …). This program keeps, per token:
//!
//! * a **share mint** (authority: the token PDA) — what holders own;
//! * a **collateral vault** (authority: the token PDA) — the token's equity plus
//!   protocol fees held for the treasury;
//! * a **perp position** (signed base size and its mark) whose counterparty is
//!   the market's **LP pool**: a real vault of collateral owned by liquidity
//!   providers through an LP mint.
//!
//! ## Flows
//! * No one chooses the price. `request_mint` / `request_redeem` /
//!   `request_deposit` / `request_withdraw` escrow what the user pays (in a
//!   request PDA's token account) with the user's bound, and fix a price
//!   time: `now + request_delay_secs` (an LP withdrawal: `now +
//!   lp_cooldown_secs`). `execute_*`, by anyone for the request's executor
//!   fee, prices at the one oracle update for that time (pull:
//!   `prev_publish_time < t ≤ publish_time`; legacy: `prev_slot < t ≤
//!   pub_slot`), whoever executes and whenever; the bound, a pause, the
//!   update's value checks, a wipe at that price or a cap refund the escrow
//!   instead of failing. `cancel_request` returns an expired one.
//! * Mint / redeem (executed): settle the position against the pool at that
//!   price (PnL and the funding and borrow charge move as one token transfer), then issue or burn
//!   shares at NAV, valued on the side of the oracle's confidence interval
//!   worse for the user, and grow or shrink the position so other holders'
//!   leverage is unchanged.
//! * `rebalance`: permissionless; succeeds only when a trigger holds — price moved
//!   past the deviation threshold, leverage left its band, the ripcord bound
//!   was crossed or a capped (chunked) rebalance is still in progress, each at
//!   a fresh price (at most `max_age_*` old, never older than the last used);
//!   or the fixed `rebalance_period_slots` schedule came due, at the update for
//!   the schedule's time — and then trades the position back to target against
//!   the pool at that price (no public market order, nothing to front-run),
//!   pays the trade fee to the pool and a bounded reward to the caller.
//! * What the perp charges (`math::funding`), accrued per side with indices
//!   on unix time: **funding** on the skew between the market's long and short
//!   tokens, `funding_max_bps × (N_L − N_S)/(N_L + N_S)` a year — the heavier
//!   side pays it, the lighter side receives it, the pool keeps only what the
//!   imbalance pays; a **borrow** fee, a small base on both sides plus a kink
//!   curve on the pool's utilisation `|net| / cash` charged only to the side
//!   that makes the net larger. Tokens pay at least, the pool books at most,
//!   the exact amount (remainders prepaid and carried).
//! * LP deposits / withdrawals (executed): at the pool value over every token
//!   of the market (remaining accounts), which counts traders' unrealised PnL
//!   and unpaid charges but a token's loss **at most what its vault holds**,
//!   less an LP fee left to the LPs who stay; a withdrawal must leave the net
//!   book within its cap.
//! * Caps on the net book, not the gross: per side, `|net|`, and each token's
//!   loss beyond equity in a stress jump, as shares of pool value. A mint that
//!   makes `|net|` smaller is never refused by a cap; rebalances never are.
//! * Order of losses: a token's equity, then its protocol fees owed, then the
//!   market's **insurance vault** (funded by `insurance_share_bps` of trade
//!   fees and of the pool's funding and borrow income: owed in the pool
//!   vault, out of the LPs' cash, until a `rebalance` moves it), then the LPs
//!   pro rata; `LossAbsorbed` says who absorbed how much. The token is wiped
//!   (no mints, redeem pays 0). A wipe needs a fresh price.
//! * Admin: creates markets and tokens, pauses, and changes parameters only
//!   through a timelock: `propose_*_params` (validated), then, once the
//!   config's `param_delay_secs` (≥ 1 day outside a `local-cluster` build) has
//!   passed, `apply_*_params` by anyone, which first settles the market or
//!   token at the old values and is refused while the exits are paused. No
//!   instruction lets the admin move user or pool funds.
//! * Keeper rewards: one trigger episode pays at most `keeper_reward`, and all
//!   rewards within a rebalance period at most `keeper_reward_cap_bps` of
//!   equity (itself at most 1 % of equity a day).
//! * Pool shortfall: profit the pool vault cannot pay stays on the position as
//!   an unpaid claim (paid at a later settlement if the pool recovers, gone if
//!   the price reverts). A redeemer's share of the claim is forfeited to the
//!   pool, never passed to the holders who stay; mints are refused
//!   (`UnpaidProfitOutstanding`) while a claim is outstanding.
//!
//! ## Layout
//! `math/` is pure (no Solana types) and shared with the client, keeper and
//! tests; `state/` holds one file per account; `instructions/` one file per
//! instruction; `settlement.rs` is the program-side glue the executions and
//! rebalance share; `oracle.rs` reads both Pyth account kinds; `pda.rs` derives
//! every address from the seeds in `constants.rs`.

#![allow(unexpected_cfgs)]
// Integer arithmetic goes through checked operations that fail with a named
// error (`MathError`, which becomes `ErrorCode::MathOverflow` with its source
// line): a raw `+ - * / %` or negation does not pass clippy. Test modules opt out.
#![deny(clippy::arithmetic_side_effects)]

use anchor_lang::prelude::*;

pub mod collateral;
pub mod constants;
pub mod create;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod math;
pub mod oracle;
pub mod pause;
pub mod pda;
pub mod settlement;
pub mod state;

pub use instructions::*;
pub use state::{MarketParams, OracleKind, TokenParams};

declare_id!("C9uyyqiLLhH1kmGtrcyCWr5vJGWWSkzPB9yEUvZ655nv");

#[program]
pub mod leveraged_token {
    use super::*;

    /// Create the global config; the signer becomes admin. `param_delay_secs`
    /// is the timelock on every parameter change (fixed for the config's life).
    pub fn initialize_config(ctx: Context<InitializeConfig>, treasury: Pubkey, param_delay_secs: i64) -> Result<()> {
        instructions::process_initialize_config(ctx, treasury, param_delay_secs)
    }

    /// Admin proposes a new admin (step one of two).
    pub fn propose_admin(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
        instructions::process_propose_admin(ctx, new_admin)
    }

    /// The proposed admin accepts (step two of two).
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        instructions::process_accept_admin(ctx)
    }

    /// Set or clear global pause flags.
    pub fn set_global_pause(ctx: Context<SetGlobalPause>, mask: u8, paused: bool) -> Result<()> {
        instructions::process_set_global_pause(ctx, mask, paused)
    }

    /// Set or clear a market's pause flags.
    pub fn set_market_pause(ctx: Context<MarketAdmin>, mask: u8, paused: bool) -> Result<()> {
        instructions::process_set_market_pause(ctx, mask, paused)
    }

    /// Set or clear a token's pause flags.
    pub fn set_token_pause(ctx: Context<TokenAdmin>, mask: u8, paused: bool) -> Result<()> {
        instructions::process_set_token_pause(ctx, mask, paused)
    }

    /// Admin proposes new market parameters (validated); applicable after the config's delay.
    pub fn propose_market_params(ctx: Context<ProposeMarketParams>, params: MarketParams) -> Result<()> {
        instructions::process_propose_market_params(ctx, params)
    }

    /// Admin proposes new token parameters (validated); applicable after the config's delay.
    pub fn propose_token_params(ctx: Context<ProposeTokenParams>, params: TokenParams) -> Result<()> {
        instructions::process_propose_token_params(ctx, params)
    }

    /// Anyone, once due: accrue at the old rate, then replace the market's parameters.
    pub fn apply_market_params(ctx: Context<ApplyMarketParams>) -> Result<()> {
        instructions::process_apply_market_params(ctx)
    }

    /// Anyone, once due: settle the token at its old parameters, then replace them.
    pub fn apply_token_params(ctx: Context<ApplyTokenParams>) -> Result<()> {
        instructions::process_apply_token_params(ctx)
    }

    /// Admin withdraws a pending parameter change.
    pub fn cancel_param_proposal(ctx: Context<CancelParamProposal>) -> Result<()> {
        instructions::process_cancel_param_proposal(ctx)
    }

    /// Create a market (oracle feed + collateral mint) with its LP pool. The
    /// collateral needs at least `MIN_COLLATERAL_DECIMALS` decimals; a mint
    /// with a freeze authority is refused unless `trusted_freeze_authority`
    /// names that authority (the admin's explicit trust in the issuer).
    pub fn create_market(ctx: Context<CreateMarket>, oracle_kind: OracleKind, oracle_id: [u8; 32], params: MarketParams, trusted_freeze_authority: Option<Pubkey>) -> Result<()> {
        instructions::process_create_market(ctx, oracle_kind, oracle_id, params, trusted_freeze_authority)
    }

    /// Create a leveraged token with a fixed signed target leverage.
    pub fn create_leveraged_token(ctx: Context<CreateLeveragedToken>, target_leverage_bps: i32, params: TokenParams) -> Result<()> {
        instructions::process_create_leveraged_token(ctx, target_leverage_bps, params)
    }

    /// Step one of a mint: escrow collateral; the price is the update that
    /// follows the market's request delay.
    pub fn request_mint(ctx: Context<RequestMint>, nonce: u64, collateral_amount: u64, min_shares_out: u64) -> Result<()> {
        instructions::process_request_mint(ctx, nonce, collateral_amount, min_shares_out)
    }

    /// Step one of a redeem: escrow shares.
    pub fn request_redeem(ctx: Context<RequestRedeem>, nonce: u64, shares: u64, min_collateral_out: u64) -> Result<()> {
        instructions::process_request_redeem(ctx, nonce, shares, min_collateral_out)
    }

    /// Step one of an LP deposit: escrow collateral.
    pub fn request_deposit(ctx: Context<RequestDeposit>, nonce: u64, amount: u64, min_lp_out: u64) -> Result<()> {
        instructions::process_request_deposit(ctx, nonce, amount, min_lp_out)
    }

    /// Step one of an LP withdrawal: escrow LP shares; the price is the update
    /// that follows the market's LP cooldown.
    pub fn request_withdraw(ctx: Context<RequestWithdraw>, nonce: u64, lp_amount: u64, min_out: u64) -> Result<()> {
        instructions::process_request_withdraw(ctx, nonce, lp_amount, min_out)
    }

    /// Anyone: fill (or refund) a mint request at the update for its price time.
    pub fn execute_mint(ctx: Context<ExecuteMint>) -> Result<()> {
        instructions::process_execute_mint(ctx)
    }

    /// Anyone: fill (or refund) a redeem request at the update for its price time.
    pub fn execute_redeem(ctx: Context<ExecuteRedeem>) -> Result<()> {
        instructions::process_execute_redeem(ctx)
    }

    /// Anyone: fill (or refund) an LP deposit request at the update for its price time.
    pub fn execute_deposit(ctx: Context<ExecuteDeposit>) -> Result<()> {
        instructions::process_execute_deposit(ctx)
    }

    /// Anyone: fill (or refund) an LP withdrawal request at the update for its price time.
    pub fn execute_withdraw(ctx: Context<ExecuteWithdraw>) -> Result<()> {
        instructions::process_execute_withdraw(ctx)
    }

    /// Anyone, after expiry: return an unexecuted request's escrow to its owner.
    pub fn cancel_request(ctx: Context<CancelRequest>) -> Result<()> {
        instructions::process_cancel_request(ctx)
    }

    /// Permissionless, gated rebalance back to target leverage.
    pub fn rebalance(ctx: Context<Rebalance>) -> Result<()> {
        instructions::process_rebalance(ctx)
    }

    /// Permissionless: send a token's protocol fees to the treasury.
    pub fn collect_fees(ctx: Context<CollectFees>) -> Result<()> {
        instructions::process_collect_fees(ctx)
    }
}
