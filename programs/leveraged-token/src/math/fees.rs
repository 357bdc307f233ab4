//! Fees and borrow accrual.

use super::{bps_ceil, mul_div_ceil, mul_div_floor, to_u64, MathError, MathResult, BPS, INDEX_SCALE, SLOTS_PER_YEAR};

/// Increase of the cumulative borrow index over `slots` at `rate_bps_per_year`,
/// rounded down (the aggregate view the pool counts as an asset never
/// overstates what tokens will pay).
pub fn borrow_index_delta_floor(rate_bps_per_year: u32, slots: u64) -> MathResult<u128> {
    let num = u128::from(rate_bps_per_year).checked_mul(u128::from(slots)).ok_or(MathError::Overflow)?;
    mul_div_floor(num, INDEX_SCALE, BPS * SLOTS_PER_YEAR)
}

/// Borrow fee owed by a position of entry notional `abs_notional` between two
/// index values, rounded up.
pub fn borrow_fee_ceil(abs_notional: u128, index_now: u128, index_snapshot: u128) -> MathResult<u128> {
    let d = index_now.checked_sub(index_snapshot).ok_or(MathError::InvalidInput)?;
    mul_div_ceil(abs_notional, d, INDEX_SCALE)
}

/// Streaming (management) fee on `equity` over `slots`, rounded up and never
/// more than the equity itself.
pub fn streaming_fee_ceil(equity: u64, fee_bps_per_year: u32, slots: u64) -> MathResult<u64> {
    let num = u128::from(equity).checked_mul(u128::from(fee_bps_per_year)).ok_or(MathError::Overflow)?;
    let fee = mul_div_ceil(num, u128::from(slots), BPS * SLOTS_PER_YEAR)?;
    to_u64(fee.min(u128::from(equity)))
}

/// A fee of `bps` on an amount, rounded up.
pub fn fee_ceil(amount: u128, bps: u16) -> MathResult<u128> {
    bps_ceil(amount, u128::from(bps))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_year_of_borrow_at_10_percent_costs_10_percent() {
        let d = borrow_index_delta_floor(1_000, SLOTS_PER_YEAR as u64).unwrap();
        assert_eq!(d, INDEX_SCALE / 10);
        assert_eq!(borrow_fee_ceil(1_000_000, d, 0), Ok(100_000));
    }

    #[test]
    fn streaming_fee_is_capped_at_equity() {
        assert_eq!(streaming_fee_ceil(100, 10_000, u64::MAX), Ok(100));
        assert_eq!(streaming_fee_ceil(0, 10_000, 1000), Ok(0));
    }

    proptest! {
        #[test]
        fn fees_round_up_and_never_exceed_the_amount(amount in any::<u64>(), bps in 0u16..=10_000) {
            let f = fee_ceil(amount as u128, bps).unwrap();
            prop_assert!(f <= amount as u128);
            prop_assert!(f * 10_000 >= amount as u128 * bps as u128);
        }

        #[test]
        fn borrow_accrual_in_one_step_is_at_least_accrual_in_two(rate in 0u32..=10_000, a in 0u64..1_000_000_000, b in 0u64..1_000_000_000) {
            let one = borrow_index_delta_floor(rate, a + b).unwrap();
            let two = borrow_index_delta_floor(rate, a).unwrap() + borrow_index_delta_floor(rate, b).unwrap();
            prop_assert!(one >= two && one - two <= 1);
        }
    }
}
