use anchor_lang::prelude::*;

use crate::constants::SLOT_MS;
use crate::state::{MarketParams, OracleKind};

/// What a request asks for, and so what its escrow holds.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Escrow: collateral; out: shares of `token`.
    Mint,
    /// Escrow: shares of `token`; out: collateral.
    Redeem,
    /// Escrow: collateral; out: LP shares of `market`.
    Deposit,
    /// Escrow: LP shares of `market`; out: collateral.
    Withdraw,
}

impl RequestKind {
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Mint => "mint",
            RequestKind::Redeem => "redeem",
            RequestKind::Deposit => "deposit",
            RequestKind::Withdraw => "withdraw",
        }
    }
}

/// A user's mint, redeem, LP deposit or LP withdrawal, waiting for the one
/// oracle update it executes at.
///
/// `request_*` escrows what the user pays (in the token account PDA
/// `["escrow", request]`, authority this request) with the user's bound
/// (`min_out`), and fixes the price time: the update that follows
/// `target` (pull: `prev_publish_time < target ≤ publish_time`; legacy:
/// `prev_slot < target ≤ pub_slot`). Anyone may then `execute_*` it with
/// that update and no other, and earns `executor_fee` lamports; an execution
/// the bound, a pause, a cap or the update's own checks would refuse refunds
/// the escrow instead. After `expires_at` only `cancel_request` returns it.
/// PDA seeds `["request", owner, nonce (u64 LE)]`; closed when executed,
/// refunded or cancelled (rent and unused fee back to the owner).
#[account]
#[derive(InitSpace, Debug)]
pub struct Request {
    /// Layout version ([`ACCOUNT_VERSION`](crate::constants::ACCOUNT_VERSION) at creation).
    pub version: u8,
    pub bump: u8,
    pub escrow_bump: u8,
    pub kind: RequestKind,
    pub owner: Pubkey,
    pub nonce: u64,
    pub market: Pubkey,
    /// The leveraged token (mint, redeem); `Pubkey::default()` for LP requests.
    pub token: Pubkey,
    /// The escrow token account (`["escrow", request]`).
    pub escrow: Pubkey,
    /// What the escrow holds, in its mint's base units.
    pub amount: u64,
    /// Least output the owner accepts; an execution that would pay less refunds.
    pub min_out: u64,
    /// Where the output goes and where a refund goes: the owner's associated
    /// token accounts of the two mints (anyone can re-create a closed one).
    pub destination: Pubkey,
    pub refund_to: Pubkey,
    /// Lamports held for the executor, on top of the rent.
    pub executor_fee: u64,
    pub requested_at: i64,
    pub requested_slot: u64,
    /// The price time, in the oracle's unit (pull: unix seconds; legacy: slot).
    pub target: i64,
    /// Unix time after which the request can only be cancelled.
    pub expires_at: i64,
    /// Zero; room for fields added by upgrades.
    pub reserved: [u8; 32],
}

/// Bytes of a `Request` account (discriminator included), pinned.
pub const REQUEST_SPACE: usize = 300;
const _: () = assert!(REQUEST_SPACE == 8 + 3 + 1 + 32 + 8 + 32 * 3 + 8 * 2 + 32 * 2 + 8 + 8 * 4 + 32);
const _: () = assert!(8 + Request::INIT_SPACE == REQUEST_SPACE);

/// When a request made at `now` (`slot`) prices and expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimes {
    /// In the oracle's unit (pull: unix seconds; legacy: slot).
    pub target: i64,
    pub expires_at: i64,
}

impl MarketParams {
    /// Seconds a request of `kind` waits for its price: the request delay, and
    /// for an LP withdrawal at least the cooldown.
    pub fn request_wait_secs(&self, kind: RequestKind) -> u32 {
        let delay = u32::from(self.request_delay_secs);
        match kind {
            RequestKind::Withdraw => delay.max(self.lp_cooldown_secs),
            _ => delay,
        }
    }

    /// The price time and expiry of a request of `kind` made at unix time
    /// `now` and `slot` on a market whose oracle is `oracle_kind` (the
    /// program, and every client that shows when a request will execute).
    /// For a pull market `now` is the later of the clock and the newest
    /// publish time the market has seen (`request_*` passes it).
    pub fn request_times(&self, oracle_kind: OracleKind, kind: RequestKind, now: i64, slot: u64) -> Option<RequestTimes> {
        let wait = self.request_wait_secs(kind);
        let target = match oracle_kind {
            OracleKind::PythPull => now.checked_add(i64::from(wait))?,
            OracleKind::PythLegacy => i64::try_from(slot.checked_add(secs_to_slots_ceil(wait))?).ok()?,
        };
        let expires_at = now.checked_add(i64::from(wait))?.checked_add(i64::from(self.request_ttl_secs))?;
        Some(RequestTimes { target, expires_at })
    }
}

/// Whole slots covering `secs` at the nominal slot length (rounded up, so a
/// legacy request never prices sooner than a pull one would).
pub fn secs_to_slots_ceil(secs: u32) -> u64 {
    (u64::from(secs).saturating_mul(1_000)).div_ceil(SLOT_MS)
}

/// Whole seconds `slots` last at the nominal slot length (rounded down).
pub fn slots_to_secs_floor(slots: u64) -> i64 {
    i64::try_from(slots.saturating_mul(SLOT_MS) / 1_000).unwrap_or(i64::MAX)
}

impl Request {
    /// Whether the request may still execute at unix time `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        now > self.expires_at
    }
}

/// Why an execution refunded the escrow instead of filling the request.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundReason {
    /// The output would be below the owner's `min_out`.
    BelowMinOut,
    /// The flow is paused on the config, market or token.
    Paused,
    /// The token was wiped (a mint), or the price at the request's time would
    /// wipe it (a wipe happens only at a fresh price, in `rebalance`).
    TokenWiped,
    /// The update at the request's time fails the market's value checks
    /// (status, sign, confidence).
    OracleUnusable,
    /// The mint would break a cap on the net book (side, net or stress
    /// loss; never one that makes |net| smaller), or the withdrawal would
    /// leave the net above its cap.
    ExposureCap,
    /// The pool owes the token profit it could not pay (mints wait).
    UnpaidProfitOutstanding,
    /// The output would be zero.
    ZeroOut,
    /// The output would not fit a u64, or would take the share or LP supply
    /// past `u64::MAX` (a token or pool whose share is worth almost nothing).
    SupplyOverflow,
    /// The pool's traders' profits exceed its assets (deposits wait).
    PoolInsolvent,
}

impl RefundReason {
    /// Every reason, in declaration order.
    pub const ALL: [RefundReason; 9] = [
        RefundReason::BelowMinOut,
        RefundReason::Paused,
        RefundReason::TokenWiped,
        RefundReason::OracleUnusable,
        RefundReason::ExposureCap,
        RefundReason::UnpaidProfitOutstanding,
        RefundReason::ZeroOut,
        RefundReason::SupplyOverflow,
        RefundReason::PoolInsolvent,
    ];

    /// A label for metrics and JSON (`below_min_out`, …).
    pub fn label(self) -> &'static str {
        match self {
            RefundReason::BelowMinOut => "below_min_out",
            RefundReason::Paused => "paused",
            RefundReason::TokenWiped => "token_wiped",
            RefundReason::OracleUnusable => "oracle_unusable",
            RefundReason::ExposureCap => "exposure_cap",
            RefundReason::UnpaidProfitOutstanding => "unpaid_profit_outstanding",
            RefundReason::ZeroOut => "zero_out",
            RefundReason::SupplyOverflow => "supply_overflow",
            RefundReason::PoolInsolvent => "pool_insolvent",
        }
    }

    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            RefundReason::BelowMinOut => "the output would be below the request's minimum",
            RefundReason::Paused => "the flow is paused",
            RefundReason::TokenWiped => "the token is wiped, or the price at the price time would wipe it",
            RefundReason::OracleUnusable => "the update at the price time fails the market's checks (status, sign, confidence)",
            RefundReason::ExposureCap => "a cap on the pool's net book (side, net or stress loss)",
            RefundReason::UnpaidProfitOutstanding => "the pool owes the token profit it could not pay yet",
            RefundReason::ZeroOut => "the output would be zero",
            RefundReason::SupplyOverflow => "the output would not fit a u64 or would take the share or LP supply past u64::MAX",
            RefundReason::PoolInsolvent => "the pool's traders' profits exceed its assets",
        }
    }
}
