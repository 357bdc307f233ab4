//! The LP pool: the counterparty of every token's perp position in a market.
//!
//! Two valuations:
//! - [`pool_value`], for LP deposits and withdrawals: the cash the pool holds
//!   for LPs plus, per token, what settling it would move — a profit the pool
//!   owes in full, a loss or charge **at most what the token's vault holds**
//!   (a loss beyond it is bad debt the pool never collects, so an LP cannot
//!   exit on it ahead of a wipe). Each token on the confidence side worse for
//!   the LP. It needs every token of the market.
//! - [`pool_value_aggregate`], O(1) from the market's sums, for the caps:
//!   cash plus accrued charges minus the traders' unrealised PnL.
//!
//! The cash for LPs is the pool vault less the insurance fund's share of
//! income recorded and not yet moved (`Market::insurance_owed`).

use super::fees::fee_ceil;
use super::funding::Book;
use super::position::{conf_exposure_ceil, notional_floor};
use super::settle::{settle, SettleInput};
use super::shares::{assets_for_shares_floor, shares_for_assets_floor};
use super::{mul_div_ceil, mul_div_floor, to_u64, MathError, MathResult, BPS, INDEX_SCALE, NOTIONAL_DIVISOR};

/// A position's terms in the market's sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PositionTerms {
    pub base: i128,
    /// Notional at the last settlement.
    pub cost: i128,
    /// Its side's charge index at the last settlement.
    pub index_snapshot: i128,
    /// Charge prepaid at the last settlement (× INDEX_SCALE).
    pub prepaid: u64,
}

/// Sums over every open position of a market.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Aggregates {
    /// Σ base (signed).
    pub net_base: i128,
    /// Σ cost (signed notional at each position's last settlement).
    pub net_cost: i128,
    /// Σ |base|: gross open interest in base units.
    pub gross_base: u128,
    /// Σ |cost| per side (a position's side is its base's sign): the book
    /// funding and borrow are charged on.
    pub long_notional: u128,
    pub short_notional: u128,
    /// Σ |cost| × index snapshot per side, to know accrued charges in O(1).
    pub long_weighted: i128,
    pub short_weighted: i128,
    /// Σ prepaid charge remainders (× INDEX_SCALE).
    pub prepaid: u128,
}

impl Aggregates {
    fn apply(&mut self, t: &PositionTerms, add: bool) -> MathResult<()> {
        let abs = t.cost.unsigned_abs();
        let w = i128::try_from(abs).map_err(|_| MathError::Overflow)?.checked_mul(t.index_snapshot).ok_or(MathError::Overflow)?;
        let b = t.base.unsigned_abs();
        let pre = u128::from(t.prepaid);
        let long = t.base >= 0;
        let (notional, weighted) = if long { (&mut self.long_notional, &mut self.long_weighted) } else { (&mut self.short_notional, &mut self.short_weighted) };
        if add {
            self.gross_base = self.gross_base.checked_add(b).ok_or(MathError::Overflow)?;
            self.net_base = self.net_base.checked_add(t.base).ok_or(MathError::Overflow)?;
            self.net_cost = self.net_cost.checked_add(t.cost).ok_or(MathError::Overflow)?;
            *notional = notional.checked_add(abs).ok_or(MathError::Overflow)?;
            *weighted = weighted.checked_add(w).ok_or(MathError::Overflow)?;
            self.prepaid = self.prepaid.checked_add(pre).ok_or(MathError::Overflow)?;
        } else {
            self.gross_base = self.gross_base.checked_sub(b).ok_or(MathError::InvalidInput)?;
            self.net_base = self.net_base.checked_sub(t.base).ok_or(MathError::Overflow)?;
            self.net_cost = self.net_cost.checked_sub(t.cost).ok_or(MathError::Overflow)?;
            *notional = notional.checked_sub(abs).ok_or(MathError::InvalidInput)?;
            *weighted = weighted.checked_sub(w).ok_or(MathError::Overflow)?;
            self.prepaid = self.prepaid.checked_sub(pre).ok_or(MathError::InvalidInput)?;
        }
        Ok(())
    }

    /// Replace one position's contribution (old → new).
    pub fn replace(&mut self, old: PositionTerms, new: PositionTerms) -> MathResult<()> {
        self.apply(&old, false)?;
        self.apply(&new, true)
    }

    /// The book funding and borrow are charged on.
    pub fn book(&self) -> Book {
        Book { long: self.long_notional, short: self.short_notional }
    }

    /// Gross open interest at `price`: Σ |base| × price, rounded up.
    pub fn gross_notional_ceil(&self, price: u128) -> MathResult<u128> {
        mul_div_ceil(self.gross_base, price, NOTIONAL_DIVISOR)
    }

    /// Net notional at `price` (signed, rounded down).
    pub fn net_notional_floor(&self, price: u128) -> MathResult<i128> {
        notional_floor(self.net_base, price)
    }

    /// Notional per side at `price`, rounded up: (long, short).
    pub fn side_notionals_ceil(&self, price: u128) -> MathResult<(u128, u128)> {
        let net = self.net_base;
        let gross = i128::try_from(self.gross_base).map_err(|_| MathError::Overflow)?;
        let long = gross.checked_add(net).ok_or(MathError::Overflow)?.checked_div(2).ok_or(MathError::Overflow)?;
        let short = gross.checked_sub(net).ok_or(MathError::Overflow)?.checked_div(2).ok_or(MathError::Overflow)?;
        Ok((mul_div_ceil(long.unsigned_abs(), price, NOTIONAL_DIVISOR)?, mul_div_ceil(short.unsigned_abs(), price, NOTIONAL_DIVISOR)?))
    }

    /// Charges (funding and borrow) accrued and not yet settled, net of what
    /// tokens prepaid, rounded down: positive, tokens owe the pool. The tokens'
    /// next settlements charge at least this (each rounds up).
    pub fn accrued_charges_floor(&self, long_index: i128, short_index: i128) -> MathResult<i128> {
        let side = |n: u128, i: i128, w: i128| i128::try_from(n).ok().and_then(|n| n.checked_mul(i)).and_then(|x| x.checked_sub(w)).ok_or(MathError::Overflow);
        let owed = side(self.long_notional, long_index, self.long_weighted)?
            .checked_add(side(self.short_notional, short_index, self.short_weighted)?)
            .and_then(|x| x.checked_sub(i128::try_from(self.prepaid).ok()?))
            .ok_or(MathError::Overflow)?;
        Ok(owed.div_euclid(INDEX_SCALE as i128))
    }
}

/// Which side of the confidence interval to value the pool on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The higher value: LP deposits (worse for the depositor).
    High,
    /// The lower value: LP withdrawals (worse for the withdrawer).
    Low,
}

/// The cash the pool holds for LPs: its vault less the insurance fund's
/// share recorded and not yet moved.
pub fn lp_cash(pool_vault: u64, insurance_owed: u64) -> u64 {
    pool_vault.saturating_sub(insurance_owed)
}

/// The honest pool value in collateral units, clamped at zero: the LPs' cash
/// minus, for every token, what settling it now would move to it (a loss or
/// charge counts at most the token's whole vault: the order of losses takes
/// its equity, then its fees owed; beyond that is bad debt). Each token is
/// valued at `price ± conf`, the side worse for the LP on `side`.
/// `tokens`' prices are ignored and their pool amounts treated as unbounded.
pub fn pool_value(cash: u64, tokens: &[SettleInput], price: u128, conf: u128, side: Side) -> MathResult<u128> {
    let mut v = i128::from(cash);
    for t in tokens {
        // A long token gains as the price rises: worse for the pool (deposits
        // take the higher pool value, so the lower price for a long).
        let up = (t.base > 0) == (side == Side::Low);
        let p = if up { price.checked_add(conf) } else { price.checked_sub(conf) }.ok_or(MathError::Overflow)?;
        let o = settle(&SettleInput { price: p, pool_amount: u64::MAX, ..*t })?;
        // A claim the pool could not pay in full stays a claim on it.
        let claim = o.transfer.checked_add(i128::from(o.pool_shortfall)).ok_or(MathError::Overflow)?;
        v = v.checked_sub(claim).ok_or(MathError::Overflow)?;
    }
    Ok(v.max(0) as u128)
}

/// Pool value from the market's sums (O(1), for the caps): the LPs' cash plus
/// accrued charges minus the traders' unrealised PnL, with a confidence
/// haircut on the net. It counts a loss beyond a token's vault as an asset;
/// LP entries and exits use [`pool_value`].
pub fn pool_value_aggregate(cash: u64, agg: &Aggregates, long_index: i128, short_index: i128, price: u128, conf: u128, side: Side) -> MathResult<u128> {
    let upnl = notional_floor(agg.net_base, price)?.checked_sub(agg.net_cost).ok_or(MathError::Overflow)?;
    let exposure = i128::try_from(conf_exposure_ceil(agg.net_base, conf)?).map_err(|_| MathError::Overflow)?;
    let accrued = agg.accrued_charges_floor(long_index, short_index)?;
    let v = i128::from(cash).checked_add(accrued).and_then(|v| v.checked_sub(upnl)).ok_or(MathError::Overflow)?;
    let v = match side {
        Side::High => v.checked_add(exposure),
        Side::Low => v.checked_sub(exposure),
    }
    .ok_or(MathError::Overflow)?;
    Ok(v.max(0) as u128)
}

/// Caps on the net book (market parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapParams {
    /// Each side's notional at most this share of pool value.
    pub side_cap_bps: u32,
    /// |net notional| at most this share of pool value.
    pub net_cap_bps: u32,
    /// The stress jump `J*` a token's loss is measured in...
    pub stress_jump_bps: u32,
    /// ...and the most a token may leave beyond its equity in it, as a share of pool value.
    pub stress_loss_cap_bps: u32,
}

/// Which cap a trade would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapBreach {
    Side { notional: u128, limit: u128 },
    Net { notional: u128, limit: u128 },
    Stress { loss: u128, limit: u128 },
}

/// What a token could leave beyond its equity if the price jumped `jump_bps`
/// against it: `|notional| × J − equity`, rounded up, zero if it covers it.
pub fn stress_loss_ceil(abs_notional: u128, equity: u64, jump_bps: u32) -> MathResult<u128> {
    Ok(mul_div_ceil(abs_notional, u128::from(jump_bps), BPS)?.saturating_sub(u128::from(equity)))
}

/// The caps a mint meets: `before` and `after` are the market's sums around
/// it, `value` the pool value after it, the token's notional and equity after
/// it. A mint that makes `|net|` smaller is never refused by a cap.
pub fn mint_cap_breach(before: &Aggregates, after: &Aggregates, price: u128, value: u128, token_abs_notional: u128, token_equity: u64, caps: &CapParams) -> MathResult<Option<CapBreach>> {
    let net_before = before.net_notional_floor(price)?.unsigned_abs();
    let net_after = after.net_notional_floor(price)?.unsigned_abs();
    if net_after < net_before {
        return Ok(None);
    }
    let limit = |bps: u32| mul_div_floor(value, u128::from(bps), BPS);
    let (long, short) = after.side_notionals_ceil(price)?;
    let side_limit = limit(caps.side_cap_bps)?;
    if long.max(short) > side_limit {
        return Ok(Some(CapBreach::Side { notional: long.max(short), limit: side_limit }));
    }
    if let Some(b) = net_cap_breach(after, price, value, caps.net_cap_bps)? {
        return Ok(Some(b));
    }
    let loss = stress_loss_ceil(token_abs_notional, token_equity, caps.stress_jump_bps)?;
    let stress_limit = limit(caps.stress_loss_cap_bps)?;
    if loss > stress_limit {
        return Ok(Some(CapBreach::Stress { loss, limit: stress_limit }));
    }
    Ok(None)
}

/// The net cap alone (LP withdrawals are limited by the net, not the gross).
pub fn net_cap_breach(agg: &Aggregates, price: u128, value: u128, net_cap_bps: u32) -> MathResult<Option<CapBreach>> {
    let net = agg.net_notional_floor(price)?.unsigned_abs();
    let limit = mul_div_floor(value, u128::from(net_cap_bps), BPS)?;
    Ok((net > limit).then_some(CapBreach::Net { notional: net, limit }))
}

impl core::fmt::Display for CapBreach {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CapBreach::Side { notional, limit } => write!(f, "side notional {notional} would exceed the side cap {limit}"),
            CapBreach::Net { notional, limit } => write!(f, "|net notional| {notional} would exceed the net cap {limit}"),
            CapBreach::Stress { loss, limit } => write!(f, "the token's loss beyond equity in the stress jump, {loss}, would exceed {limit}"),
        }
    }
}

/// LP shares for a deposit, rounded down.
pub fn lp_for_deposit_floor(amount: u64, lp_supply: u64, value_high: u128) -> MathResult<u128> {
    shares_for_assets_floor(u128::from(amount), u128::from(lp_supply), value_high)
}

/// Collateral for burning LP shares, rounded down, never more than the vault holds.
pub fn collateral_for_lp_floor(lp: u64, lp_supply: u64, value_low: u128, vault_amount: u64) -> MathResult<u128> {
    Ok(assets_for_shares_floor(u128::from(lp), u128::from(lp_supply), value_low)?.min(u128::from(vault_amount)))
}

/// An LP deposit or withdrawal as the program fills it: the LP fee (rounded
/// up, left in the pool for the LPs who stay) and what the LP gets (rounded
/// down): LP shares for a deposit, collateral for a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LpQuote {
    pub fee: u64,
    pub out: u128,
}

/// A deposit of `amount` into a pool worth `value_high`: the fee on the
/// amount, then LP shares for the rest (`execute_deposit` and `lt`'s quote).
pub fn quote_lp_deposit(amount: u64, fee_bps: u16, lp_supply: u64, value_high: u128) -> MathResult<LpQuote> {
    let fee = to_u64(fee_ceil(u128::from(amount), fee_bps)?)?;
    let net = amount.checked_sub(fee).ok_or(MathError::Overflow)?;
    Ok(LpQuote { fee, out: lp_for_deposit_floor(net, lp_supply, value_high)? })
}

/// A withdrawal of `lp` shares from a pool worth `value_low` holding
/// `vault_amount`: the collateral they are worth, less the fee on it
/// (`execute_withdraw` and `lt`'s quote).
pub fn quote_lp_withdrawal(lp: u64, fee_bps: u16, lp_supply: u64, value_low: u128, vault_amount: u64) -> MathResult<LpQuote> {
    let gross = collateral_for_lp_floor(lp, lp_supply, value_low, vault_amount)?;
    let fee = to_u64(fee_ceil(gross, fee_bps)?)?;
    Ok(LpQuote { fee, out: gross.checked_sub(u128::from(fee)).ok_or(MathError::Overflow)? })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::math::funding::charge_ceil_prepaid;
    use crate::math::PRICE_SCALE;
    use proptest::prelude::*;

    const P: u128 = 100 * 1_000_000 * PRICE_SCALE;

    #[test]
    fn an_lp_fee_is_charged_on_the_way_in_and_on_the_way_out_and_stays_in_the_pool() {
        // 10,000 USDC into a 1,000,000 USDC pool with 1,000,000 LP shares, 10 bps.
        let d = quote_lp_deposit(10_000_000_000, 10, 1_000_000_000_000, 1_000_000_000_000).unwrap();
        assert_eq!(d.fee, 10_000_000);
        assert_eq!(d.out, lp_for_deposit_floor(9_990_000_000, 1_000_000_000_000, 1_000_000_000_000).unwrap());
        // The same shares back out of the grown pool: their worth less 10 bps of it.
        let w = quote_lp_withdrawal(d.out as u64, 10, 1_000_000_000_000 + d.out as u64, 1_010_000_000_000, 1_010_000_000_000).unwrap();
        let gross = collateral_for_lp_floor(d.out as u64, 1_000_000_000_000 + d.out as u64, 1_010_000_000_000, 1_010_000_000_000).unwrap();
        assert_eq!((w.fee as u128, w.out), (fee_ceil(gross, 10).unwrap(), gross - fee_ceil(gross, 10).unwrap()));
        assert!(w.out < 10_000_000_000 - 2 * 9_000_000, "the round trip costs both fees");
    }

    /// F3: a token's loss counts at most its vault (equity and fees owed);
    /// the aggregate view counts all of it.
    #[test]
    fn a_loss_beyond_a_tokens_vault_is_not_a_pool_asset() {
        // 30 units long from 100 to 60: −1,200 USDC against a 1,000 USDC vault.
        let t = SettleInput {
            base: 30_000_000_000,
            cost: 3_000_000_000,
            price: 0,
            index: 0,
            index_snapshot: 0,
            prepaid: 0,
            borrow_index: 0,
            borrow_snapshot: 0,
            vault_amount: 1_000_000_000,
            fees_owed: 0,
            pool_amount: 0,
        };
        let mut agg = Aggregates::default();
        agg.replace(PositionTerms::default(), PositionTerms { base: t.base, cost: t.cost, index_snapshot: 0, prepaid: 0 }).unwrap();
        assert_eq!(pool_value(5_000_000_000, &[t], P * 60 / 100, 0, Side::Low).unwrap(), 6_000_000_000);
        assert_eq!(pool_value_aggregate(5_000_000_000, &agg, 0, 0, P * 60 / 100, 0, Side::Low).unwrap(), 6_200_000_000);
    }

    #[test]
    fn a_mint_that_shrinks_the_net_is_never_capped_and_one_that_grows_it_is() {
        let caps = CapParams { side_cap_bps: 100, net_cap_bps: 100, stress_jump_bps: 4_000, stress_loss_cap_bps: 1 };
        let long = PositionTerms { base: 30_000_000_000, cost: 3_000_000_000, index_snapshot: 0, prepaid: 0 };
        let mut before = Aggregates::default();
        before.replace(PositionTerms::default(), long).unwrap();
        // A short of 10 units: |net| 3,000 → 2,000 USDC, far above every cap, allowed.
        let mut after = before;
        after.replace(PositionTerms::default(), PositionTerms { base: -10_000_000_000, cost: -1_000_000_000, index_snapshot: 0, prepaid: 0 }).unwrap();
        assert_eq!(mint_cap_breach(&before, &after, P, 1_000_000_000, 1_000_000_000, 1, &caps).unwrap(), None);
        // More long: the side cap (1 % of 1,000 USDC) names itself.
        let mut more = before;
        more.replace(long, PositionTerms { base: 31_000_000_000, ..long }).unwrap();
        assert!(matches!(mint_cap_breach(&before, &more, P, 1_000_000_000, 3_100_000_000, 1_000_000_000, &caps).unwrap(), Some(CapBreach::Side { .. })));
        let loose = CapParams { side_cap_bps: 100_000, net_cap_bps: 100_000, ..caps };
        // Loss in a 40 % jump: 3,100 × 0.4 − 1,000 = 240 USDC > 0.01 % of 1,000 USDC.
        assert_eq!(mint_cap_breach(&before, &more, P, 1_000_000_000, 3_100_000_000, 1_000_000_000, &loose).unwrap(), Some(CapBreach::Stress { loss: 240_000_000, limit: 100_000 }));
    }

    #[test]
    fn traders_profit_is_the_pools_loss() {
        let mut agg = Aggregates::default();
        agg.replace(PositionTerms::default(), PositionTerms { base: 10_000_000_000, cost: 1_000_000_000, index_snapshot: 0, prepaid: 0 }).unwrap();
        let v0 = pool_value_aggregate(10_000_000_000, &agg, 0, 0, P, 0, Side::Low).unwrap();
        let v1 = pool_value_aggregate(10_000_000_000, &agg, 0, 0, P * 11 / 10, 0, Side::Low).unwrap();
        assert_eq!(v0 - v1, 100_000_000);
        // The honest value agrees while the token's vault covers its loss.
        let t = SettleInput {
            base: 10_000_000_000,
            cost: 1_000_000_000,
            price: 0,
            index: 0,
            index_snapshot: 0,
            prepaid: 0,
            borrow_index: 0,
            borrow_snapshot: 0,
            vault_amount: 1_000_000_000,
            fees_owed: 0,
            pool_amount: 0,
        };
        assert_eq!(pool_value(10_000_000_000, &[t], P * 11 / 10, 0, Side::Low).unwrap(), v1);
        assert_eq!(pool_value(10_000_000_000, &[t], P * 9 / 10, 0, Side::Low).unwrap(), v0 + 100_000_000);
    }

    proptest! {
        /// The pool books at most what the tokens' next settlements charge.
        #[test]
        fn aggregate_accrued_charges_never_exceed_the_sum_of_token_charges(
            pos in prop::collection::vec((-(1i128 << 64)..(1i128 << 64), -(1i128 << 40)..(1i128 << 40), 0u64..1_000_000_000_000_000), 1..8),
            long_add in -(1i128 << 40)..(1i128 << 40), short_add in -(1i128 << 40)..(1i128 << 40),
        ) {
            let mut agg = Aggregates::default();
            let (mut long_index, mut short_index) = (i128::MIN, i128::MIN);
            for (c, s, pre) in &pos {
                let base = if *c >= 0 { 1 } else { -1 };
                agg.replace(PositionTerms::default(), PositionTerms { base, cost: *c, index_snapshot: *s, prepaid: *pre }).unwrap();
                if base > 0 { long_index = long_index.max(*s) } else { short_index = short_index.max(*s) }
            }
            let (long_index, short_index) = (long_index.max(0) + long_add, short_index.max(0) + short_add);
            let sum: i128 = pos.iter().map(|(c, s, pre)| {
                let i = if *c >= 0 { long_index } else { short_index };
                charge_ceil_prepaid(c.unsigned_abs(), i, *s, *pre).unwrap().fee
            }).sum();
            let booked = agg.accrued_charges_floor(long_index, short_index).unwrap();
            prop_assert!(booked <= sum && sum - booked <= pos.len() as i128);
        }

        #[test]
        fn removing_every_position_returns_the_aggregates_to_zero(
            pos in prop::collection::vec((-(1i128 << 70)..(1i128 << 70), -(1i128 << 64)..(1i128 << 64), -(1i128 << 50)..(1i128 << 50)), 0..8),
        ) {
            let mut agg = Aggregates::default();
            let terms = |p: &(i128, i128, i128)| PositionTerms { base: p.0, cost: p.1, index_snapshot: p.2, prepaid: (p.2 as u64) % 1_000 };
            for p in &pos { agg.replace(PositionTerms::default(), terms(p)).unwrap(); }
            for p in &pos { agg.replace(terms(p), PositionTerms::default()).unwrap(); }
            prop_assert_eq!(agg, Aggregates::default());
        }

        #[test]
        fn deposit_then_withdraw_never_profits_the_lp(vault in 0u64..u64::MAX / 4, ratio in 0u64..=2_000, amount in 1u64..u64::MAX / 4) {
            // LP supply from 0 to 2× the vault (LP price from 0.5 up).
            let supply = (vault as u128 * ratio as u128 / 1_000) as u64;
            let value = vault as u128;
            let lp = lp_for_deposit_floor(amount, supply, value).unwrap() as u64;
            let back = collateral_for_lp_floor(lp, supply + lp, value + amount as u128, vault + amount).unwrap();
            prop_assert!(back <= amount as u128);
        }
    }
}
