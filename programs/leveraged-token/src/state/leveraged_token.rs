use anchor_lang::prelude::*;

use crate::math::shares::TokenBook;
use crate::state::TokenParams;

#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    /// A loss took all equity: no mints, redeem pays 0, position closed. Final.
    Wiped,
}

/// A leveraged token: share mint, collateral vault and perp position.
/// PDA seeds `["token", market, target_leverage_bps (i32 LE)]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct LeveragedToken {
    /// Layout version ([`ACCOUNT_VERSION`](crate::constants::ACCOUNT_VERSION) at creation).
    pub version: u8,
    pub bump: u8,
    pub share_mint_bump: u8,
    pub vault_bump: u8,
    pub status: TokenStatus,
    pub pause_flags: u8,
    /// A capped rebalance left the position short of target.
    pub chunk_in_progress: bool,
    /// Signed target leverage in bps (30000 = 3x long, −10000 = 1x short).
    pub target_leverage_bps: i32,
    pub market: Pubkey,
    /// Share mint, authority = this token.
    pub share_mint: Pubkey,
    /// Collateral vault, authority = this token.
    pub vault: Pubkey,
    pub params: TokenParams,
    /// Signed base size × BASE_SCALE.
    pub base: i128,
    /// Notional at the last settlement.
    pub cost: i128,
    /// The side's charge index (funding and borrow) at the last settlement.
    pub index_snapshot: i128,
    /// The side's borrow-only index at the last settlement.
    pub borrow_snapshot: u128,
    /// Price of the last rebalance (the deviation trigger's reference).
    pub last_rebalance_price: u128,
    /// Anchor of the fixed rebalance schedule: the first mint's slot, moved by
    /// whole `rebalance_period_slots` periods at each time-triggered rebalance.
    pub schedule_anchor_slot: u64,
    pub last_fee_slot: u64,
    /// Protocol fees (mint, redeem, streaming) held in the vault for the treasury.
    pub fees_owed: u64,
    pub rebalance_count: u64,
    pub mint_count: u64,
    pub redeem_count: u64,
    pub total_keeper_rewards: u64,
    pub total_trade_fees: u64,
    /// Borrow paid (the borrow part of each charge, rounded down)...
    pub total_borrow_fees: u64,
    /// ...and funding, signed: positive paid, negative received.
    pub total_funding: i64,
    pub bad_debt: u64,
    /// Keeper rewards: the rebalance-period window (`slot / rebalance_period_slots`)
    /// the next field counts, and the rewards paid within it.
    pub reward_window: u64,
    pub reward_window_paid: u64,
    /// The current trigger episode (a rebalance and its capped continuations):
    /// the notional it set out to trade and the rewards paid for it.
    pub episode_notional: u64,
    pub episode_reward_paid: u64,
    /// Remainders carried to the next settlement (numerators below one unit
    /// of collateral), so fees are charged exactly however often a token
    /// settles: the streaming fee's (× BPS × SLOTS_PER_YEAR, rounded down and
    /// carried) and the charge's (× INDEX_SCALE, rounded up and prepaid).
    pub streaming_fee_carry: u64,
    pub charge_prepaid: u64,
    /// Unix time of `schedule_anchor_slot`'s grid point: a pull market's
    /// scheduled rebalance executes at the update for
    /// `schedule_anchor_time + periods × rebalance_period_slots × 400 ms`.
    pub schedule_anchor_time: i64,
    /// Zero; room for fields added by upgrades.
    pub reserved: [u8; TOKEN_RESERVED_BYTES],
}

/// Bytes of a `LeveragedToken` account (discriminator included), pinned: a
/// layout change must change this literal (and `version`) on purpose.
pub const TOKEN_SPACE: usize = 453;
/// Reserved bytes (layout 2).
pub const TOKEN_RESERVED_BYTES: usize = crate::constants::RESERVED_BYTES;
const _: () = assert!(TOKEN_SPACE == 8 + 1 + 6 + 4 + 32 * 3 + (4 * 4 + 8 * 3 + 2 * 3 + 4) + 16 * 5 + 8 * 3 + 8 * 8 + 8 * 7 + TOKEN_RESERVED_BYTES);
const _: () = assert!(8 + LeveragedToken::INIT_SPACE == TOKEN_SPACE);

/// The grid point of a rebalance schedule that came due, and the price time
/// a scheduled rebalance executes at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleFix {
    pub anchor_slot: u64,
    pub anchor_time: i64,
    /// In the oracle's unit: the grid point's slot (legacy) or its unix
    /// time, `schedule_anchor_time` plus the periods at 400 ms a slot (pull).
    pub target: i64,
}

impl LeveragedToken {
    /// The latest schedule grid point reached at `slot`, if the schedule came
    /// due (at least one `rebalance_period_slots` since the anchor): a
    /// scheduled rebalance prices at the update for its `target`, whoever
    /// calls it and whenever (the program, the keeper and the replay ask this).
    pub fn schedule_fix(&self, oracle_kind: crate::state::OracleKind, slot: u64) -> Option<ScheduleFix> {
        let period = self.params.rebalance_period_slots;
        let periods = slot.checked_sub(self.schedule_anchor_slot)?.checked_div(period)?;
        if periods == 0 {
            return None;
        }
        let elapsed = periods.checked_mul(period)?;
        let anchor_slot = self.schedule_anchor_slot.checked_add(elapsed)?;
        let anchor_time = self.schedule_anchor_time.checked_add(crate::state::slots_to_secs_floor(elapsed))?;
        let target = match oracle_kind {
            crate::state::OracleKind::PythPull => anchor_time,
            crate::state::OracleKind::PythLegacy => i64::try_from(anchor_slot).ok()?,
        };
        Some(ScheduleFix { anchor_slot, anchor_time, target })
    }

    /// This position's terms in the market's sums.
    pub fn terms(&self) -> crate::math::pool::PositionTerms {
        crate::math::pool::PositionTerms { base: self.base, cost: self.cost, index_snapshot: self.index_snapshot, prepaid: self.charge_prepaid }
    }

    pub fn is_wiped(&self) -> bool {
        self.status == TokenStatus::Wiped
    }

    /// The rebalance gate's view of this token after a settlement left it
    /// `equity`, at `price` and `slot` (the instruction and every client).
    pub fn gate_state(&self, equity: u64, price: u128, slot: u64) -> crate::math::rebalance::GateState {
        crate::math::rebalance::GateState {
            base: self.base,
            equity,
            price,
            last_rebalance_price: self.last_rebalance_price,
            schedule_anchor_slot: self.schedule_anchor_slot,
            slot,
            chunk_in_progress: self.chunk_in_progress,
            rewards: crate::math::rebalance::RewardBook {
                window: self.reward_window,
                window_paid: self.reward_window_paid,
                episode_notional: self.episode_notional,
                episode_paid: self.episode_reward_paid,
            },
        }
    }

    /// The book the mint/redeem quotes need, given the settled equity and supply.
    pub fn book(&self, equity: u64, supply: u64) -> TokenBook {
        TokenBook { equity, supply, base: self.base, target_leverage_bps: i64::from(self.target_leverage_bps) }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::state::OracleKind;

    fn token(anchor_slot: u64, anchor_time: i64) -> LeveragedToken {
        let zeros = [0u8; TOKEN_SPACE];
        let mut t = LeveragedToken::try_deserialize_unchecked(&mut &zeros[..]).unwrap();
        t.params.rebalance_period_slots = 216_000;
        t.schedule_anchor_slot = anchor_slot;
        t.schedule_anchor_time = anchor_time;
        t
    }

    #[test]
    fn the_schedule_is_a_fixed_grid_whose_price_time_does_not_depend_on_when_the_keeper_calls() {
        let t = token(100, 1_000);
        assert_eq!(t.schedule_fix(OracleKind::PythLegacy, 100 + 215_999), None);
        // On time, or 7,000 slots late: the same grid point and price time.
        let on_time = t.schedule_fix(OracleKind::PythPull, 100 + 216_000).unwrap();
        assert_eq!(on_time, ScheduleFix { anchor_slot: 100 + 216_000, anchor_time: 1_000 + 86_400, target: 1_000 + 86_400 });
        assert_eq!(t.schedule_fix(OracleKind::PythPull, 100 + 223_000), Some(on_time));
        // Legacy prices by slot.
        assert_eq!(t.schedule_fix(OracleKind::PythLegacy, 100 + 223_000).unwrap().target, 100 + 216_000);
        // Three periods missed: the last grid point, never ahead of now.
        let late = t.schedule_fix(OracleKind::PythPull, 100 + 3 * 216_000 + 5).unwrap();
        assert_eq!((late.anchor_slot, late.target), (100 + 3 * 216_000, 1_000 + 3 * 86_400));
    }
}
