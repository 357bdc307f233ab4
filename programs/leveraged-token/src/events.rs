//! One event per state change, carrying enough to rebuild history off-chain.

use anchor_lang::prelude::*;

/// Emit an Anchor event. On SBF this is exactly `emit!`. On the host, where
/// solana-program-test runs the program natively and Anchor's `sol_log_data`
/// is a no-op, the same bytes are also logged through the bank's syscall stubs
/// as `Program data: <base64>`, so tests, the demo and the keeper see events.
#[macro_export]
macro_rules! emit_event {
    ($ev:expr) => {{
        let ev = $ev;
        #[cfg(not(target_os = "solana"))]
        $crate::events::host_log_event(&ev);
        anchor_lang::prelude::emit!(ev);
    }};
}

#[cfg(not(target_os = "solana"))]
pub fn host_log_event<E: anchor_lang::Event>(event: &E) {
    use base64::Engine;
    let _host_only = HostOnly::enter();
    let b64 = base64::engine::general_purpose::STANDARD.encode(event.data());
    solana_sysvar::program_stubs::sol_log(&format!("Program data: {b64}"));
}

#[cfg(not(target_os = "solana"))]
std::thread_local! {
    static HOST_ONLY_DEPTH: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// Host builds only: whether this thread is running code that exists only
/// off-chain (the event copy above). The bank's heap counter
/// (`leveraged_token_harness::heap`) leaves allocations made here out of the
/// program's heap use: on SBF they do not happen.
#[cfg(not(target_os = "solana"))]
pub fn in_host_only_code() -> bool {
    HOST_ONLY_DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

/// Marks a host-only stretch of code until dropped (also on unwind).
#[cfg(not(target_os = "solana"))]
struct HostOnly;

#[cfg(not(target_os = "solana"))]
impl HostOnly {
    fn enter() -> Self {
        HOST_ONLY_DEPTH.with(|d| d.set(d.get().checked_add(1).expect("host-only nesting deeper than u32::MAX")));
        HostOnly
    }
}

#[cfg(not(target_os = "solana"))]
impl Drop for HostOnly {
    fn drop(&mut self) {
        let _ = HOST_ONLY_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

#[event]
pub struct ConfigInitialized {
    pub admin: Pubkey,
    pub treasury: Pubkey,
    pub param_delay_secs: i64,
}

#[event]
pub struct AdminProposed {
    pub admin: Pubkey,
    pub pending_admin: Pubkey,
}

#[event]
pub struct AdminAccepted {
    pub old_admin: Pubkey,
    pub new_admin: Pubkey,
}

/// `target` is the config, market or token whose flags changed.
#[event]
pub struct PauseSet {
    pub scope: crate::pause::PauseScope,
    pub target: Pubkey,
    pub old_flags: u8,
    pub new_flags: u8,
}

#[event]
pub struct MarketCreated {
    pub market: Pubkey,
    pub collateral_mint: Pubkey,
    pub oracle_id: [u8; 32],
    pub oracle_kind: crate::state::OracleKind,
    pub params: crate::state::MarketParams,
    /// The collateral mint's freeze authority the admin accepted
    /// (`Pubkey::default()`: the mint has none).
    pub trusted_freeze_authority: Pubkey,
}

/// A parameter change was proposed for `target` (a market or token); anyone
/// may apply it from `eta` on.
#[event]
pub struct ParamsProposed {
    pub target: Pubkey,
    pub proposer: Pubkey,
    pub proposed_at: i64,
    pub eta: i64,
    pub change: crate::state::ParamChange,
}

#[event]
pub struct ParamProposalCancelled {
    pub target: Pubkey,
    pub change: crate::state::ParamChange,
}

/// A proposal was applied (after the market accrued at the old rate).
#[event]
pub struct MarketParamsUpdated {
    pub market: Pubkey,
    pub old: crate::state::MarketParams,
    pub new: crate::state::MarketParams,
}

#[event]
pub struct TokenCreated {
    pub token: Pubkey,
    pub market: Pubkey,
    pub target_leverage_bps: i32,
    pub params: crate::state::TokenParams,
}

/// A proposal was applied (after the token settled at the old parameters).
#[event]
pub struct TokenParamsUpdated {
    pub token: Pubkey,
    pub old: crate::state::TokenParams,
    pub new: crate::state::TokenParams,
}

#[event]
pub struct LiquidityDeposited {
    pub market: Pubkey,
    pub owner: Pubkey,
    /// The request it filled.
    pub request: Pubkey,
    pub amount: u64,
    /// Part of `amount` left to the LPs already in (no LP shares for it).
    pub lp_fee: u64,
    pub price: u128,
    pub lp_out: u64,
    pub pool_value: u128,
    pub lp_supply_after: u64,
}

#[event]
pub struct LiquidityWithdrawn {
    pub market: Pubkey,
    pub owner: Pubkey,
    /// The request it filled.
    pub request: Pubkey,
    pub lp_in: u64,
    /// Kept in the pool for the LPs who stay.
    pub lp_fee: u64,
    pub price: u128,
    pub amount_out: u64,
    pub pool_value: u128,
    pub lp_supply_after: u64,
}

/// Settlement of a token's position against the pool (part of a mint or redeem execution, rebalance, a token parameter apply).
#[event]
pub struct PositionSettled {
    pub token: Pubkey,
    pub price: u128,
    pub pnl: i128,
    /// Funding and borrow charged since the last settlement (negative: the
    /// token received), and of it the borrow part and the funding part.
    pub charge: i128,
    pub borrow_fee: u64,
    pub funding_fee: i128,
    pub streaming_fee: u64,
    /// Positive: pool → token vault.
    pub transfer: i128,
    pub equity_after: u64,
}

#[event]
pub struct Minted {
    pub token: Pubkey,
    pub user: Pubkey,
    /// The request it filled.
    pub request: Pubkey,
    pub collateral_in: u64,
    pub mint_fee: u64,
    pub trade_fee: u64,
    pub shares_out: u64,
    pub price: u128,
    pub delta_base: i128,
    pub equity_after: u64,
    pub supply_after: u64,
}

#[event]
pub struct Redeemed {
    pub token: Pubkey,
    pub user: Pubkey,
    /// The request it filled.
    pub request: Pubkey,
    pub shares_in: u64,
    pub redeem_fee: u64,
    pub trade_fee: u64,
    pub collateral_out: u64,
    pub price: u128,
    pub delta_base: i128,
    pub equity_after: u64,
    pub supply_after: u64,
}

#[event]
pub struct Rebalanced {
    pub token: Pubkey,
    pub caller: Pubkey,
    /// Bit set of `math::rebalance::TRIGGER_*` (`math::rebalance::trigger_name`
    /// names the highest-priority one).
    pub triggers: u8,
    pub price: u128,
    pub leverage_before_bps: i64,
    pub leverage_after_bps: i64,
    pub trade_notional: i128,
    pub trade_fee: u64,
    pub keeper_reward: u64,
    pub chunk_in_progress: bool,
    pub equity_after: u64,
    pub base_after: i128,
}

#[event]
pub struct TokenWiped {
    pub token: Pubkey,
    pub price: u128,
    pub loss: u128,
    pub paid_to_pool: u64,
    pub bad_debt: u64,
}

/// Who absorbed a wipe's loss, in the stated order: the token's equity, its
/// protocol fees owed, the insurance fund, the LPs.
#[event]
pub struct LossAbsorbed {
    pub market: Pubkey,
    pub token: Pubkey,
    pub loss: u128,
    pub by_equity: u64,
    pub by_fees_owed: u64,
    pub by_insurance: u64,
    pub by_lps: u64,
    /// Of `by_insurance`, what the insurance vault pays into the pool vault
    /// (the rest was its share still owed in the pool vault).
    pub insurance_vault_paid: u64,
}

/// The insurance fund's share of income moved from the pool vault to the
/// insurance vault.
#[event]
pub struct InsuranceFunded {
    pub market: Pubkey,
    pub amount: u64,
    pub insurance_balance_after: u64,
}

#[event]
pub struct FeesCollected {
    pub token: Pubkey,
    pub treasury_account: Pubkey,
    pub amount: u64,
}

/// A request escrowed what its owner pays and fixed its price time.
#[event]
pub struct RequestOpened {
    pub request: Pubkey,
    pub owner: Pubkey,
    pub kind: crate::state::RequestKind,
    pub market: Pubkey,
    /// `Pubkey::default()` for LP requests.
    pub token: Pubkey,
    pub amount: u64,
    pub min_out: u64,
    pub executor_fee: u64,
    pub requested_at: i64,
    /// Price time in the oracle's unit (pull: unix seconds; legacy: slot).
    pub target: i64,
    pub expires_at: i64,
}

/// An execution returned the escrow instead of filling the request.
#[event]
pub struct RequestRefunded {
    pub request: Pubkey,
    pub owner: Pubkey,
    pub kind: crate::state::RequestKind,
    pub executor: Pubkey,
    pub reason: crate::state::RefundReason,
    pub amount: u64,
    /// The price at the request's time (0 if its update was unusable).
    pub price: u128,
}

/// An expired request was cancelled: its escrow went back to its owner.
#[event]
pub struct RequestCancelled {
    pub request: Pubkey,
    pub owner: Pubkey,
    pub kind: crate::state::RequestKind,
    pub amount: u64,
}
