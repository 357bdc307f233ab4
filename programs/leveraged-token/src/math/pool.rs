//! The LP pool: the counterparty of every token's perp position in a market.
//!
//! The pool's value is its vault plus the borrow fees tokens owe it, minus the
//! traders' unrealised PnL. Aggregates over all tokens of the market make that
//! O(1): the pool never has to load every token.

use super::fees::fee_ceil;
use super::position::{conf_exposure_ceil, notional_floor};
use super::shares::{assets_for_shares_floor, shares_for_assets_floor};
use super::{mul_div_floor, to_u64, MathError, MathResult, BPS, INDEX_SCALE};

/// Sums over every open position of a market.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Aggregates {
    /// Σ base (signed).
    pub net_base: i128,
    /// Σ cost (signed notional at each position's last settlement).
    pub net_cost: i128,
    /// Σ |cost|: gross open interest at entry, and the borrow-fee base.
    pub total_abs_cost: u128,
    /// Σ |cost| × borrow snapshot, to know accrued borrow fees in O(1).
    pub weighted_snapshot: u128,
    /// Σ |base|: gross open interest in base units (× price = current gross notional).
    pub gross_base: u128,
}

impl Aggregates {
    fn apply(&mut self, base: i128, cost: i128, snapshot: u128, add: bool) -> MathResult<()> {
        let abs = cost.unsigned_abs();
        let w = abs.checked_mul(snapshot).ok_or(MathError::Overflow)?;
        let b = base.unsigned_abs();
        if add {
            self.gross_base = self.gross_base.checked_add(b).ok_or(MathError::Overflow)?;
            self.net_base = self.net_base.checked_add(base).ok_or(MathError::Overflow)?;
            self.net_cost = self.net_cost.checked_add(cost).ok_or(MathError::Overflow)?;
            self.total_abs_cost = self.total_abs_cost.checked_add(abs).ok_or(MathError::Overflow)?;
            self.weighted_snapshot = self.weighted_snapshot.checked_add(w).ok_or(MathError::Overflow)?;
        } else {
            self.gross_base = self.gross_base.checked_sub(b).ok_or(MathError::InvalidInput)?;
            self.net_base = self.net_base.checked_sub(base).ok_or(MathError::Overflow)?;
            self.net_cost = self.net_cost.checked_sub(cost).ok_or(MathError::Overflow)?;
            self.total_abs_cost = self.total_abs_cost.checked_sub(abs).ok_or(MathError::InvalidInput)?;
            self.weighted_snapshot = self.weighted_snapshot.checked_sub(w).ok_or(MathError::InvalidInput)?;
        }
        Ok(())
    }

    /// Replace one position's contribution (old → new).
    pub fn replace(&mut self, old: (i128, i128, u128), new: (i128, i128, u128)) -> MathResult<()> {
        self.apply(old.0, old.1, old.2, false)?;
        self.apply(new.0, new.1, new.2, true)
    }

    /// Gross open interest at `price`: Σ |base| × price, rounded up.
    pub fn gross_notional_ceil(&self, price: u128) -> MathResult<u128> {
        super::mul_div_ceil(self.gross_base, price, super::NOTIONAL_DIVISOR)
    }

    /// Borrow fees accrued and not yet settled, rounded down.
    pub fn accrued_borrow_floor(&self, index: u128) -> MathResult<u128> {
        let gross = self.total_abs_cost.checked_mul(index).ok_or(MathError::Overflow)?;
        let owed = gross.checked_sub(self.weighted_snapshot).ok_or(MathError::InvalidInput)?;
        Ok(owed / INDEX_SCALE)
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

/// Pool value in collateral units, clamped at zero.
pub fn pool_value(vault_amount: u64, agg: &Aggregates, index: u128, price: u128, conf: u128, side: Side) -> MathResult<u128> {
    let upnl = notional_floor(agg.net_base, price)?.checked_sub(agg.net_cost).ok_or(MathError::Overflow)?;
    let exposure = i128::try_from(conf_exposure_ceil(agg.net_base, conf)?).map_err(|_| MathError::Overflow)?;
    let accrued = i128::try_from(agg.accrued_borrow_floor(index)?).map_err(|_| MathError::Overflow)?;
    let v = i128::from(vault_amount).checked_add(accrued).and_then(|v| v.checked_sub(upnl)).ok_or(MathError::Overflow)?;
    let v = match side {
        Side::High => v.checked_add(exposure),
        Side::Low => v.checked_sub(exposure),
    }
    .ok_or(MathError::Overflow)?;
    Ok(v.max(0) as u128)
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

/// Gross open interest (current notional) is within `cap_bps` of the pool value.
pub fn open_interest_within_cap(gross_notional: u128, value: u128, cap_bps: u32) -> MathResult<bool> {
    let limit = mul_div_floor(value, u128::from(cap_bps), BPS)?;
    Ok(gross_notional <= limit)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::math::fees::borrow_fee_ceil;
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

    #[test]
    fn traders_profit_is_the_pools_loss() {
        let mut agg = Aggregates::default();
        agg.replace((0, 0, 0), (10_000_000_000, 1_000_000_000, 0)).unwrap();
        let v0 = pool_value(10_000_000_000, &agg, 0, P, 0, Side::Low).unwrap();
        let v1 = pool_value(10_000_000_000, &agg, 0, P * 11 / 10, 0, Side::Low).unwrap();
        assert_eq!(v0 - v1, 100_000_000);
    }

    proptest! {
        /// Against each position's fee rounded up (settlements now round down
        /// and carry the rest, see `fees::borrow_fee_floor_carry`).
        #[test]
        fn aggregate_accrued_borrow_never_exceeds_the_sum_of_token_fees(
            costs in prop::collection::vec((-(1i128 << 64)..(1i128 << 64), 0u128..(1u128 << 40)), 1..8), index_add in 0u128..(1u128 << 40),
        ) {
            let mut agg = Aggregates::default();
            let mut max_snap = 0;
            for (c, s) in &costs { agg.replace((0, 0, 0), (0, *c, *s)).unwrap(); max_snap = max_snap.max(*s); }
            let index = max_snap + index_add;
            let sum: u128 = costs.iter().map(|(c, s)| borrow_fee_ceil(c.unsigned_abs(), index, *s).unwrap()).sum();
            let agg_fee = agg.accrued_borrow_floor(index).unwrap();
            prop_assert!(agg_fee <= sum && sum - agg_fee <= costs.len() as u128);
        }

        #[test]
        fn removing_every_position_returns_the_aggregates_to_zero(
            pos in prop::collection::vec((-(1i128 << 70)..(1i128 << 70), -(1i128 << 64)..(1i128 << 64), 0u128..(1u128 << 50)), 0..8),
        ) {
            let mut agg = Aggregates::default();
            for p in &pos { agg.replace((0, 0, 0), *p).unwrap(); }
            for p in &pos { agg.replace(*p, (0, 0, 0)).unwrap(); }
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
