//! The rebalance gate and the trade it makes.
//!
//! `rebalance` is permissionless, so the gate is what keeps it safe: it opens
//! only when one of the triggers below holds, and a closed gate changes nothing.

use super::fees::fee_ceil;
use super::position::{base_for_notional_toward_zero, leverage_bps, notional_floor, target_notional_toward_zero};
use super::price::deviation_bps_floor;
use super::{bps_floor, to_u64, MathError, MathResult};
use crate::state::TokenParams;

/// A capped (chunked) rebalance has not reached the target yet.
pub const TRIGGER_CHUNK: u8 = 1;
/// |leverage| reached the ripcord bound: trade fully back to target, uncapped.
pub const TRIGGER_RIPCORD: u8 = 2;
/// |leverage| left the band.
pub const TRIGGER_BAND: u8 = 4;
/// The price moved at least the deviation threshold since the last rebalance.
pub const TRIGGER_DEVIATION: u8 = 8;
/// The fixed schedule came due: at least `rebalance_period_slots` slots since the schedule's
/// anchor (see [`next_schedule_anchor`]).
pub const TRIGGER_TIME: u8 = 16;

/// Human name of the highest-priority trigger in a set.
pub fn trigger_name(triggers: u8) -> &'static str {
    if triggers & TRIGGER_RIPCORD != 0 {
        "ripcord"
    } else if triggers & TRIGGER_BAND != 0 {
        "band"
    } else if triggers & TRIGGER_CHUNK != 0 {
        "chunk"
    } else if triggers & TRIGGER_DEVIATION != 0 {
        "deviation"
    } else if triggers & TRIGGER_TIME != 0 {
        "time"
    } else {
        "none"
    }
}

/// Rebalance parameters of a token, as the math needs them: its parameters
/// (band, ripcord, deviation, schedule, per-call cap, keeper reward; plain
/// integers, no Solana types), its signed target leverage and its market's
/// trade fee. [`TokenParams::gate`] builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateParams {
    pub target_leverage_bps: i64,
    pub trade_fee_bps: u16,
    pub token: TokenParams,
}

/// State of a token after settlement, as the gate needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateState {
    pub base: i128,
    pub equity: u64,
    pub price: u128,
    pub last_rebalance_price: u128,
    pub schedule_anchor_slot: u64,
    pub slot: u64,
    pub chunk_in_progress: bool,
}

/// Which triggers hold now (a bit set of `TRIGGER_*`), and the leverage seen.
pub fn open_triggers(p: &GateParams, s: &GateState) -> MathResult<(u8, Option<i64>)> {
    let lev = leverage_bps(s.base, s.price, i128::from(s.equity))?;
    let Some(l) = lev else { return Ok((0, None)) };
    let abs = l.unsigned_abs();
    let mut t = 0u8;
    if s.chunk_in_progress {
        t |= TRIGGER_CHUNK;
    }
    if abs >= u64::from(p.token.ripcord_bps) {
        t |= TRIGGER_RIPCORD;
    }
    if abs < u64::from(p.token.band_min_bps) || abs > u64::from(p.token.band_max_bps) {
        t |= TRIGGER_BAND;
    }
    if s.last_rebalance_price > 0 && deviation_bps_floor(s.price, s.last_rebalance_price)? >= u128::from(p.token.deviation_bps) {
        t |= TRIGGER_DEVIATION;
    }
    if p.token.rebalance_period_slots > 0 && s.slot.saturating_sub(s.schedule_anchor_slot) >= p.token.rebalance_period_slots {
        t |= TRIGGER_TIME;
    }
    Ok((t, lev))
}

/// Where the time trigger counts from after a rebalance with `triggers`.
/// The schedule is a fixed grid of `rebalance_period_slots`: a time-triggered rebalance
/// moves the anchor forward by whole periods (a late keeper does not shift the
/// grid), and a band, ripcord, deviation or chunk rebalance leaves it alone (an
/// intraday de-risk does not push the next scheduled rebalance off its time).
pub fn next_schedule_anchor(p: &GateParams, s: &GateState, triggers: u8) -> u64 {
    if triggers & TRIGGER_TIME == 0 {
        return s.schedule_anchor_slot;
    }
    // A period of 0 slots has no schedule (dividing by it gives `None`).
    let Some(periods) = s.slot.saturating_sub(s.schedule_anchor_slot).checked_div(p.token.rebalance_period_slots) else {
        return s.schedule_anchor_slot;
    };
    s.schedule_anchor_slot.saturating_add(periods.saturating_mul(p.token.rebalance_period_slots))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalancePlan {
    pub triggers: u8,
    pub leverage_before_bps: i64,
    /// Expected leverage after the trade, fee and reward.
    pub leverage_after_bps: i64,
    /// Signed notional traded (positive = buy base).
    pub trade_notional: i128,
    pub delta_base: i128,
    pub trade_fee: u64,
    pub keeper_reward: u64,
    /// The per-call cap limited the trade: another call may continue it.
    pub capped: bool,
}

/// Plan a rebalance, or `None` when no trigger holds ("not needed").
///
/// The trade aims at `target × equity_after`, where equity_after is the equity
/// less the keeper reward and the trade fee (estimated once, then charged on the
/// actual trade), so the token lands on target up to the fee's second-order term.
pub fn plan_rebalance(p: &GateParams, s: &GateState) -> MathResult<Option<RebalancePlan>> {
    let (triggers, lev) = open_triggers(p, s)?;
    let (true, Some(leverage_before_bps)) = (triggers != 0, lev) else { return Ok(None) };
    let equity = u128::from(s.equity);
    let reward_cap = bps_floor(equity, u128::from(p.token.keeper_reward_cap_bps))?;
    let keeper_reward = to_u64(reward_cap.min(u128::from(p.token.keeper_reward)))?;
    // The reward is capped at a fraction of the equity, so never more than it.
    let after_reward = s.equity.checked_sub(keeper_reward).ok_or(MathError::Overflow)?;
    let current = notional_floor(s.base, s.price)?;

    // Aim at target × (equity − reward − fee(trade)); the fee depends on the
    // trade, so iterate to the fixed point: each pass shrinks the error by
    // |L| × fee rate (≤ 10 × 1 %), so a handful of passes reach it exactly.
    let e0 = i128::from(after_reward);
    let trade_to = |equity: i128| target_notional_toward_zero(p.target_leverage_bps, equity)?.checked_sub(current).ok_or(MathError::Overflow);
    let mut trade = trade_to(e0)?;
    let mut fee_used = 0u64;
    for _ in 0..8 {
        let fee = to_u64(fee_ceil(trade.unsigned_abs(), p.trade_fee_bps)?)?.min(after_reward);
        if fee == fee_used && trade != 0 {
            break;
        }
        fee_used = fee;
        trade = trade_to(e0.checked_sub(i128::from(fee)).ok_or(MathError::Overflow)?)?;
    }

    let mut capped = false;
    let cap = p.token.max_notional_per_call;
    if triggers & TRIGGER_RIPCORD == 0 && cap > 0 && trade.unsigned_abs() > u128::from(cap) {
        trade = trade.signum().checked_mul(i128::from(cap)).ok_or(MathError::Overflow)?;
        capped = true;
    }
    let delta_base = base_for_notional_toward_zero(trade, s.price)?;
    let trade_fee = to_u64(fee_ceil(trade.unsigned_abs(), p.trade_fee_bps)?)?.min(after_reward);
    let equity_after = i128::from(after_reward.checked_sub(trade_fee).ok_or(MathError::Overflow)?);
    let leverage_after_bps = leverage_bps(s.base.checked_add(delta_base).ok_or(MathError::Overflow)?, s.price, equity_after)?.unwrap_or(0);
    Ok(Some(RebalancePlan { triggers, leverage_before_bps, leverage_after_bps, trade_notional: trade, delta_base, trade_fee, keeper_reward, capped }))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::math::PRICE_SCALE;
    use proptest::prelude::*;

    const P: u128 = 100 * 1_000_000 * PRICE_SCALE;

    fn params(target: i64) -> GateParams {
        let a = target.unsigned_abs() as u32;
        GateParams {
            target_leverage_bps: target,
            trade_fee_bps: 5,
            token: TokenParams {
                band_min_bps: a * 8 / 10,
                band_max_bps: a * 12 / 10,
                ripcord_bps: a * 15 / 10,
                deviation_bps: 500,
                rebalance_period_slots: 216_000,
                max_notional_per_call: 0,
                keeper_reward: 1_000_000,
                keeper_reward_cap_bps: 10,
                mint_fee_bps: 0,
                redeem_fee_bps: 0,
                streaming_fee_bps: 0,
            },
        }
    }

    fn at_target(target: i64, equity: u64) -> GateState {
        let n = target_notional_toward_zero(target, equity as i128).unwrap();
        GateState { base: base_for_notional_toward_zero(n, P).unwrap(), equity, price: P, last_rebalance_price: P, schedule_anchor_slot: 100, slot: 101, chunk_in_progress: false }
    }

    #[test]
    fn no_trigger_means_not_needed() {
        assert_eq!(plan_rebalance(&params(30_000), &at_target(30_000, 1_000_000_000)).unwrap(), None);
    }

    #[test]
    fn each_trigger_opens_the_gate() {
        let p = params(30_000);
        let s = at_target(30_000, 1_000_000_000);
        let t = |s: GateState| open_triggers(&p, &s).unwrap().0;
        assert_eq!(t(GateState { slot: 100 + 216_000, ..s }), TRIGGER_TIME);
        assert_eq!(t(GateState { chunk_in_progress: true, ..s }), TRIGGER_CHUNK);
        assert_eq!(t(GateState { price: P * 105 / 100, ..s }), TRIGGER_DEVIATION);
        assert_eq!(t(GateState { equity: 700_000_000, ..s }), TRIGGER_BAND);
        assert_eq!(t(GateState { equity: 600_000_000, ..s }), TRIGGER_BAND | TRIGGER_RIPCORD);
    }

    #[test]
    fn the_daily_schedule_is_a_fixed_grid_that_intraday_rebalances_do_not_move() {
        let p = params(30_000);
        let mut s = at_target(30_000, 1_000_000_000);
        // A band or ripcord rebalance mid-period leaves the anchor where it was.
        s.slot = 100 + 50_000;
        assert_eq!(next_schedule_anchor(&p, &s, TRIGGER_BAND | TRIGGER_RIPCORD), 100);
        assert_eq!(next_schedule_anchor(&p, &s, TRIGGER_DEVIATION | TRIGGER_CHUNK), 100);
        // A time rebalance by a keeper 7,000 slots late still anchors on the grid.
        s.slot = 100 + 216_000 + 7_000;
        assert_eq!(next_schedule_anchor(&p, &s, TRIGGER_TIME), 100 + 216_000);
        // Three periods missed: the anchor jumps to the last grid point, never ahead of now.
        s.slot = 100 + 3 * 216_000 + 5;
        assert_eq!(next_schedule_anchor(&p, &s, TRIGGER_TIME | TRIGGER_BAND), 100 + 3 * 216_000);
    }

    #[test]
    fn a_capped_trade_is_marked_for_continuation_but_a_ripcord_is_not_capped() {
        let mut p = params(30_000);
        p.token.max_notional_per_call = 100_000_000;
        let s = GateState { equity: 800_000_000, ..at_target(30_000, 1_000_000_000) };
        let plan = plan_rebalance(&p, &s).unwrap().unwrap();
        assert!(plan.capped);
        assert_eq!(plan.trade_notional, -100_000_000);
        let s = GateState { equity: 600_000_000, ..s };
        let plan = plan_rebalance(&p, &s).unwrap().unwrap();
        assert!(!plan.capped);
        assert!((plan.leverage_after_bps - 30_000).abs() <= 5, "{}", plan.leverage_after_bps);
    }

    proptest! {
        #[test]
        fn an_uncapped_rebalance_lands_within_a_bp_or_two_of_target(
            target in prop::sample::select(vec![-30_000i64, -20_000, -10_000, 20_000, 30_000, 50_000]),
            equity in 1_000_000_000u64..=1_000_000_000_000_000, drift in 8_500u128..=12_500, fee in 0u16..=100,
        ) {
            let mut p = params(target);
            p.trade_fee_bps = fee;
            let s0 = at_target(target, equity);
            let s = GateState { price: P * drift / 10_000, ..s0 };
            // equity moves with the price: E' = E + base·ΔP
            let pnl = notional_floor(s0.base, s.price).unwrap() - notional_floor(s0.base, P).unwrap();
            let e = equity as i128 + pnl;
            // ±15 % / +25 % keeps every target from −3x to 5x solvent.
            prop_assert!(e > 1_000_000);
            let s = GateState { equity: e as u64, ..s };
            if let Some(plan) = plan_rebalance(&p, &s).unwrap() {
                prop_assert!(!plan.capped);
                // Below ~1 USDC of equity left after fees, one native unit is several bps.
                prop_assume!(e - plan.trade_fee as i128 - plan.keeper_reward as i128 > 1_000_000);
                prop_assert!((plan.leverage_after_bps - target).abs() <= 2,
                    "target {} got {}", target, plan.leverage_after_bps);
                prop_assert!(plan.keeper_reward as u128 <= e as u128 * 10 / 10_000);
            }
        }
    }
}
