//! "Would rebalance now, and why": the keeper's Decide step and the CLI's
//! status, computed with the program's own pure math on fetched accounts —
//! the same oracle rule, settlement and gate the program runs, so a keeper
//! only sends what the program will accept.
//!
//! The price a rebalance reads decides which triggers it may act on (the
//! program's rebalance price rule, `oracle::rebalance_price`): a fresh update
//! may act on the chunk, ripcord, band and deviation triggers and land a
//! wipe; the update for the due schedule's time
//! (`LeveragedToken::schedule_fix`) may act on the time trigger, however old.
//! [`decide_at_oracle`] applies that rule to an oracle account's bytes;
//! [`decide_with`] takes its outcome; [`decide`] is a price that is both.

use anchor_lang::prelude::{Clock, Pubkey};
use leveraged_token::constants::PAUSE_REBALANCE;
use leveraged_token::math::position::leverage_bps;
use leveraged_token::math::price::NormalizedPrice;
use leveraged_token::math::rebalance::{plan_rebalance_with, trigger_name, RebalancePlan};
use leveraged_token::math::shares::{assets_for_shares_floor, VIRTUAL_SHARES};
use leveraged_token::math::{MathResult, BPS};
use leveraged_token::oracle::{rebalance_price, PriceIssue, RebalancePrice};
use leveraged_token::pause::{paused_by, PauseScope};
use leveraged_token::settlement::{preview_settlement, SettleAt};
use leveraged_token::state::{LeveragedToken, Market};

/// Everything the decision needs, as fetched from chain (or the bank).
#[derive(Debug, Clone)]
pub struct TokenView {
    pub market: Market,
    pub token: LeveragedToken,
    pub vault_amount: u64,
    pub pool_amount: u64,
    pub share_supply: u64,
}

/// The token's book after the settlement the next instruction would make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub equity: u64,
    pub wiped: bool,
    pub bad_debt: u64,
    pub leverage_bps: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The gate is open: send `rebalance`; `trigger` names the reason.
    Rebalance { plan: RebalancePlan, trigger: &'static str },
    /// The settlement would wipe the token: send `rebalance` to land it.
    Wipe { bad_debt: u64 },
    /// No trigger holds: sending would fail with `RebalanceNotNeeded`.
    NotNeeded { leverage_bps: Option<i64> },
    /// Wiped already, rebalance paused (globally, or at market or token
    /// level), or the settlement would wipe the token at a price that is not
    /// fresh (`WipeNeedsFreshPrice`).
    Skip { reason: &'static str },
}

/// Why [`Decision::Skip`]: the settlement at the schedule's (not fresh)
/// update would wipe the token; the program refuses with `WipeNeedsFreshPrice`.
pub const WIPE_NEEDS_FRESH_PRICE: &str = "the settlement would wipe the token, and a wipe needs a fresh price";

/// Settle the view at `price`, `slot` and unix time `now` exactly as the
/// program would: the program's own `settlement::preview_settlement` (the
/// insurance vault's balance only splits a wipe's bad debt, not the equity).
pub fn settle_view(v: &TokenView, price: &NormalizedPrice, slot: u64, now: i64) -> MathResult<Settled> {
    let at = SettleAt { vault_amount: v.vault_amount, pool_amount: v.pool_amount, insurance_amount: 0, slot, now };
    let p = preview_settlement(&v.market, &v.token, price, &at)?;
    if p.outcome.wiped {
        return Ok(Settled { equity: 0, wiped: true, bad_debt: p.outcome.bad_debt, leverage_bps: None });
    }
    Ok(Settled { equity: p.equity, wiped: false, bad_debt: 0, leverage_bps: leverage_bps(v.token.base, price.price, i128::from(p.equity))? })
}

/// Decide whether `rebalance` would succeed now at a price that is both
/// fresh and the update for the schedule's time (every trigger allowed), with
/// the config's pause flags `global_pause_flags`. For what a given oracle
/// account allows, use [`decide_at_oracle`] (or [`decide_with`]).
pub fn decide(v: &TokenView, price: &NormalizedPrice, slot: u64, now: i64, global_pause_flags: u8) -> MathResult<Decision> {
    decide_with(v, price, true, u8::MAX, slot, now, global_pause_flags)
}

/// Decide whether `rebalance` would succeed at `price`, which may act on the
/// `allowed` triggers (`TRIGGER_*` bits) and is `fresh` or not, as the
/// program's rebalance price rule said ([`RebalancePrice`]): the program's
/// pause rule, settlement preview (a wipe needs a fresh price) and gate,
/// planned with `plan_rebalance_with(gate, state, allowed)`.
pub fn decide_with(v: &TokenView, price: &NormalizedPrice, fresh: bool, allowed: u8, slot: u64, now: i64, global_pause_flags: u8) -> MathResult<Decision> {
    if let Some(skip) = skip_before_oracle(v, global_pause_flags) {
        return Ok(skip);
    }
    let s = settle_view(v, price, slot, now)?;
    if s.wiped {
        if !fresh {
            return Ok(Decision::Skip { reason: WIPE_NEEDS_FRESH_PRICE });
        }
        return Ok(Decision::Wipe { bad_debt: s.bad_debt });
    }
    let gate = v.token.params.gate(v.token.target_leverage_bps, v.market.params.trade_fee_bps);
    let state = v.token.gate_state(s.equity, price.price, slot);
    Ok(match plan_rebalance_with(&gate, &state, allowed)? {
        Some(plan) => Decision::Rebalance { trigger: trigger_name(plan.triggers), plan },
        None => Decision::NotNeeded { leverage_bps: s.leverage_bps },
    })
}

/// The instruction's order: pause, then wiped (both before the oracle is read).
fn skip_before_oracle(v: &TokenView, global_pause_flags: u8) -> Option<Decision> {
    match paused_by(global_pause_flags, v.market.pause_flags, v.token.pause_flags, PAUSE_REBALANCE) {
        Some(PauseScope::Global) => return Some(Decision::Skip { reason: "rebalance paused globally" }),
        Some(_) => return Some(Decision::Skip { reason: "rebalance paused" }),
        None => {}
    }
    v.token.is_wiped().then_some(Decision::Skip { reason: "wiped" })
}

/// What `rebalance` would do if sent now with the oracle account `key`
/// (owned by `owner`, holding `data`) at `clock`: the program's order —
/// pause and wiped first, then the rebalance price rule
/// (`oracle::rebalance_price` with the token's due schedule,
/// `LeveragedToken::schedule_fix`), then [`decide_with`] at that price.
/// `Err(issue)`: the account gives no price the rule accepts (the
/// instruction would fail with `issue.error_code()`). The
/// [`RebalancePrice`] is `None` when a pause or a wipe decided first.
pub fn decide_at_oracle(v: &TokenView, key: &Pubkey, owner: &Pubkey, data: &[u8], clock: &Clock, global_pause_flags: u8) -> MathResult<Result<(Decision, Option<RebalancePrice>), PriceIssue>> {
    if let Some(skip) = skip_before_oracle(v, global_pause_flags) {
        return Ok(Ok((skip, None)));
    }
    let schedule = v.token.schedule_fix(v.market.oracle_kind, clock.slot);
    let rp = match rebalance_price(&v.market.oracle_spec(), key, owner, data, clock, schedule) {
        Ok(rp) => rp,
        Err(issue) => return Ok(Err(issue)),
    };
    let d = decide_with(v, &rp.price.price, rp.fresh, rp.allowed, clock.slot, clock.unix_timestamp, global_pause_flags)?;
    Ok(Ok((d, Some(rp))))
}

/// Collateral one whole share (10^decimals units) redeems for at equity, before
/// fees and the confidence haircut.
pub fn nav_per_share(equity: u64, supply: u64, decimals: u8) -> MathResult<u128> {
    let one = 10u128.pow(u32::from(decimals));
    if supply == 0 {
        return Ok(one * (u128::from(equity) + VIRTUAL_SHARES) / VIRTUAL_SHARES);
    }
    assets_for_shares_floor(one, u128::from(supply), u128::from(equity))
}

/// How far the nearest triggers are: the prices at which the deviation
/// trigger fires, and the slots left until the time trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distance {
    pub deviation_down_price: u128,
    pub deviation_up_price: u128,
    pub slots_to_time_trigger: u64,
}

pub fn distance(v: &TokenView, slot: u64) -> Distance {
    let p = v.token.last_rebalance_price;
    let d = u128::from(v.token.params.deviation_bps);
    Distance {
        deviation_down_price: p * (BPS - d.min(BPS)) / BPS,
        deviation_up_price: p * (BPS + d) / BPS,
        slots_to_time_trigger: v.token.params.rebalance_period_slots.saturating_sub(slot.saturating_sub(v.token.schedule_anchor_slot)),
    }
}

/// What each side pays per year at the market's book and pool now, in bps of
/// its notional: funding plus borrow (negative: the side receives), and the
/// borrow part alone. The program's own `math::funding::index_step` over a
/// year, so the figures are the indices' rates, rounding included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub long_bps: i128,
    pub short_bps: i128,
    pub long_borrow_bps: u128,
    pub short_borrow_bps: u128,
}

pub fn rates_per_year(m: &Market, pool_amount: u64) -> MathResult<Rates> {
    use leveraged_token::math::funding::{index_step, YEAR_SECS};
    use leveraged_token::math::INDEX_SCALE;
    let year = u64::try_from(YEAR_SECS).unwrap_or(u64::MAX);
    let st = index_step(&m.rate_params(), &m.aggregates().book(), u128::from(m.lp_cash(pool_amount)), year)?;
    let bps = |x: i128| x.saturating_mul(BPS as i128) / INDEX_SCALE as i128;
    let ubps = |x: u128| x.saturating_mul(BPS) / INDEX_SCALE;
    Ok(Rates { long_bps: bps(st.long), short_bps: bps(st.short), long_borrow_bps: ubps(st.long_borrow), short_borrow_bps: ubps(st.short_borrow) })
}
