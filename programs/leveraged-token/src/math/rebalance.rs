//! The rebalance gate and the trade it makes.
//!
//! `rebalance` is permissionless, so the gate is what keeps it safe: it opens
//! only when one of the triggers below holds, and a closed gate changes nothing.

use super::fees::fee_ceil;
use super::position::{base_for_notional_toward_zero, leverage_bps, notional_floor, target_notional_toward_zero};
use super::price::deviation_bps_floor;
use super::{bps_floor, mul_div_floor, to_u64, MathError, MathResult, BPS};
use crate::constants::MIN_CHUNK_BPS;
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
/// anchor (see `LeveragedToken::schedule_fix`).
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
    pub rewards: RewardBook,
}

/// What the token has paid in keeper rewards, as the two caps count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RewardBook {
    /// The period window (`slot / rebalance_period_slots`) `window_paid` counts.
    pub window: u64,
    /// Rewards paid within that window: at most `keeper_reward_cap_bps` of equity.
    pub window_paid: u64,
    /// |notional| the current episode (a rebalance and its capped
    /// continuations) set out to trade, and the rewards paid for it: at most
    /// `keeper_reward` in all, paid by share of that notional.
    pub episode_notional: u64,
    pub episode_paid: u64,
}

/// The keeper reward a call may pay and the book after paying it.
///
/// Two caps, both counted in the token: the sum of rewards within one
/// rebalance-period window is at most `keeper_reward_cap_bps` of the equity
/// (so no sequence of calls, however many, drains more per period), and one
/// trigger episode pays at most `keeper_reward`: a capped chunk earns the
/// share of it its notional is of the episode's, the call that completes the
/// episode earns what is left. `chunk` is the capped trade's |notional|
/// (`None` when the call completes the episode); `episode_notional` is the
/// |notional| the episode set out to trade (used when a new one starts).
pub fn keeper_reward_floor(t: &TokenParams, s: &GateState, episode_notional: u128, chunk: Option<u128>) -> MathResult<(u64, RewardBook)> {
    let window = s.slot.checked_div(t.rebalance_period_slots).unwrap_or(0);
    let window_paid = if s.rewards.window == window { s.rewards.window_paid } else { 0 };
    let (episode_notional, episode_paid) =
        if s.chunk_in_progress && s.rewards.episode_notional > 0 { (s.rewards.episode_notional, s.rewards.episode_paid) } else { (to_u64(episode_notional.min(u128::from(u64::MAX)))?, 0) };
    let period_room = to_u64(bps_floor(u128::from(s.equity), u128::from(t.keeper_reward_cap_bps))?)?.saturating_sub(window_paid);
    let episode_room = t.keeper_reward.saturating_sub(episode_paid);
    let share = match chunk {
        None => u128::from(episode_room),
        Some(_) if episode_notional == 0 => 0,
        Some(c) => mul_div_floor(u128::from(t.keeper_reward), c, u128::from(episode_notional))?,
    };
    let reward = to_u64(share.min(u128::from(period_room)).min(u128::from(episode_room)))?;
    let book =
        RewardBook { window, window_paid: window_paid.checked_add(reward).ok_or(MathError::Overflow)?, episode_notional, episode_paid: episode_paid.checked_add(reward).ok_or(MathError::Overflow)? };
    Ok((reward, book))
}

/// The per-call notional cap in force: `max_notional_per_call` (0 = none),
/// but never below [`MIN_CHUNK_BPS`] of the target notional, so an episode
/// takes a bounded number of calls whatever the parameter says.
pub fn chunk_cap(t: &TokenParams, target_notional: u128) -> MathResult<Option<u128>> {
    if t.max_notional_per_call == 0 {
        return Ok(None);
    }
    let floor = mul_div_floor(target_notional, u128::from(MIN_CHUNK_BPS), BPS)?;
    Ok(Some(u128::from(t.max_notional_per_call).max(floor).max(1)))
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
    /// The reward book after this call.
    pub rewards: RewardBook,
}

/// Plan a rebalance, or `None` when no trigger holds ("not needed").
///
/// The trade aims at `target × equity_after`, where equity_after is the equity
/// less the keeper reward and the trade fee (estimated once, then charged on the
/// actual trade), so the token lands on target up to the fee's second-order term.
pub fn plan_rebalance(p: &GateParams, s: &GateState) -> MathResult<Option<RebalancePlan>> {
    plan_rebalance_with(p, s, u8::MAX)
}

/// [`plan_rebalance`] counting only the triggers in `allowed` (a bit set of
/// `TRIGGER_*`): the price a rebalance reads decides which triggers it may
/// act on (a fresh price: all but the schedule; the update for the
/// schedule's time: the schedule).
pub fn plan_rebalance_with(p: &GateParams, s: &GateState, allowed: u8) -> MathResult<Option<RebalancePlan>> {
    let (triggers, lev) = open_triggers(p, s)?;
    let triggers = triggers & allowed;
    let (true, Some(leverage_before_bps)) = (triggers != 0, lev) else { return Ok(None) };
    // The largest reward this call could pay (both caps), charged to the
    // equity the trade aims at; a capped chunk then pays its share of it.
    let (max_reward, _) = keeper_reward_floor(&p.token, s, u128::MAX, None)?;
    let after_reward = s.equity.checked_sub(max_reward).ok_or(MathError::Overflow)?;
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
    let episode_notional = trade.unsigned_abs();
    let target_notional = target_notional_toward_zero(p.target_leverage_bps, i128::from(s.equity))?.unsigned_abs();
    if let (0, Some(cap)) = (triggers & TRIGGER_RIPCORD, chunk_cap(&p.token, target_notional)?) {
        if trade.unsigned_abs() > cap {
            trade = trade.signum().checked_mul(i128::try_from(cap).map_err(|_| MathError::Overflow)?).ok_or(MathError::Overflow)?;
            capped = true;
        }
    }
    let (keeper_reward, rewards) = keeper_reward_floor(&p.token, s, episode_notional, capped.then(|| trade.unsigned_abs()))?;
    let after_reward = s.equity.checked_sub(keeper_reward).ok_or(MathError::Overflow)?;
    let delta_base = base_for_notional_toward_zero(trade, s.price)?;
    let trade_fee = to_u64(fee_ceil(trade.unsigned_abs(), p.trade_fee_bps)?)?.min(after_reward);
    let equity_after = i128::from(after_reward.checked_sub(trade_fee).ok_or(MathError::Overflow)?);
    let leverage_after_bps = leverage_bps(s.base.checked_add(delta_base).ok_or(MathError::Overflow)?, s.price, equity_after)?.unwrap_or(0);
    Ok(Some(RebalancePlan { triggers, leverage_before_bps, leverage_after_bps, trade_notional: trade, delta_base, trade_fee, keeper_reward, capped, rewards }))
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
        GateState {
            base: base_for_notional_toward_zero(n, P).unwrap(),
            equity,
            price: P,
            last_rebalance_price: P,
            schedule_anchor_slot: 100,
            slot: 101,
            chunk_in_progress: false,
            rewards: RewardBook::default(),
        }
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
    fn a_capped_trade_is_marked_for_continuation_but_a_ripcord_is_not_capped() {
        let mut p = params(30_000);
        p.token.max_notional_per_call = 300_000_000;
        let s = GateState { equity: 800_000_000, ..at_target(30_000, 1_000_000_000) };
        let plan = plan_rebalance(&p, &s).unwrap().unwrap();
        assert!(plan.capped);
        assert_eq!(plan.trade_notional, -300_000_000);
        // A chunk earns its share of the episode's reward: 300 of ~600 M to trade.
        assert_eq!(plan.rewards.episode_notional, plan.rewards.episode_notional.max(600_000_000));
        assert!(plan.keeper_reward < p.token.keeper_reward && plan.keeper_reward > 0, "{}", plan.keeper_reward);
        // A cap below a tenth of the target notional (2.4 B) trades a tenth.
        p.token.max_notional_per_call = 1;
        let plan = plan_rebalance(&p, &s).unwrap().unwrap();
        assert_eq!(plan.trade_notional, -240_000_000);
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

        /// The drain: any parameters that pass validation, any number
        /// of calls within one period window, prices jumping so a trigger is
        /// always open: the rewards paid sum to at most `keeper_reward_cap_bps`
        /// of the equity, and one episode pays at most `keeper_reward`.
        #[test]
        fn rewards_paid_within_one_period_never_exceed_the_cap(
            target in prop::sample::select(vec![-30_000i64, -10_000, 20_000, 30_000]),
            reward in 0u64..=u64::MAX / 4, cap_bps in 0u16..=100, period in 750u64..2_000_000,
            max_notional in prop::sample::select(vec![0u64, 1, 1_000, 1_000_000, 100_000_000]),
            band_tight in any::<bool>(), moves in proptest::collection::vec(9_000u128..=11_000, 1..120),
        ) {
            let t = target.unsigned_abs() as u32;
            let mut p = params(target);
            p.token.keeper_reward = reward;
            p.token.keeper_reward_cap_bps = cap_bps;
            p.token.rebalance_period_slots = period;
            p.token.max_notional_per_call = max_notional;
            if band_tight {
                (p.token.band_min_bps, p.token.band_max_bps) = (t, t);
            }
            prop_assume!(p.token.validate(target as i32).is_ok());
            let equity0 = 100_000_000_000u64;
            let mut s = at_target(target, equity0);
            s.slot = period * 7; // the start of a window
            let (mut paid, mut episode_paid, mut most) = (0u128, 0u128, 0u128);
            for (i, m) in moves.iter().enumerate() {
                let price = P * m / 10_000;
                let pnl = notional_floor(s.base, price).unwrap() - notional_floor(s.base, s.price).unwrap();
                let e = s.equity as i128 + pnl;
                prop_assume!(e > 1_000_000);
                s = GateState { price, equity: e as u64, slot: period * 7 + (i as u64).min(period - 1), ..s };
                most = most.max(u128::from(s.equity));
                let Some(plan) = plan_rebalance(&p, &s).unwrap() else { continue };
                if !s.chunk_in_progress {
                    episode_paid = 0;
                }
                paid += u128::from(plan.keeper_reward);
                episode_paid += u128::from(plan.keeper_reward);
                prop_assert!(episode_paid <= u128::from(reward));
                s.base += plan.delta_base;
                s.equity -= plan.trade_fee + plan.keeper_reward;
                s.chunk_in_progress = plan.capped;
                s.last_rebalance_price = price;
                s.rewards = plan.rewards;
            }
            // Bounded by the cap on the largest equity seen (it moves with the price).
            prop_assert!(paid <= most * u128::from(cap_bps) / 10_000, "paid {} cap {} bps", paid, cap_bps);
        }
    }
}
