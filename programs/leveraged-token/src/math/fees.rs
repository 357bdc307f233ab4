//! Fees and borrow accrual.

use super::{bps_ceil, mul_div_ceil, mul_div_floor, to_u64, MathError, MathResult, BPS, INDEX_SCALE, SLOTS_PER_YEAR};

/// A fee and the remainder carried to the next settlement: the fee is the
/// exact amount rounded down, and the part below one unit (a numerator over
/// the fee's own denominator) is added to the next one. Over any number of
/// settlements a token pays the exact total, rounded down once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarriedFee {
    pub fee: u64,
    pub carry: u64,
}

/// `q + (r + carry) / den` with the new remainder, where `q`, `r` are a
/// quotient and remainder by `den` (`r < den`, `carry < den`).
fn add_carry(q: u128, r: u128, carry: u64, den: u128) -> MathResult<(u128, u64)> {
    let sum = r.checked_add(u128::from(carry)).ok_or(MathError::Overflow)?;
    let (q, r) = if sum >= den { (q.checked_add(1).ok_or(MathError::Overflow)?, sum.checked_sub(den).ok_or(MathError::Overflow)?) } else { (q, sum) };
    Ok((q, to_u64(r)?))
}

/// Borrow fee owed by a position of entry notional `abs_notional` between two
/// index values, rounded down with the remainder carried (× INDEX_SCALE).
pub fn borrow_fee_floor_carry(abs_notional: u128, index_now: u128, index_snapshot: u128, carry: u64) -> MathResult<CarriedFee> {
    let d = index_now.checked_sub(index_snapshot).ok_or(MathError::InvalidInput)?;
    if u128::from(carry) >= INDEX_SCALE {
        return Err(MathError::InvalidInput);
    }
    let q = mul_div_floor(abs_notional, d, INDEX_SCALE)?;
    // The remainder of the exact product by INDEX_SCALE: the product and
    // q × INDEX_SCALE agree above it, so their difference modulo 2^128 is it.
    let r = abs_notional.wrapping_mul(d).wrapping_sub(q.wrapping_mul(INDEX_SCALE));
    let (fee, carry) = add_carry(q, r, carry, INDEX_SCALE)?;
    Ok(CarriedFee { fee: to_u64(fee)?, carry })
}

/// Denominator of the streaming fee's carry: bps × slots per year.
pub const STREAMING_FEE_DENOMINATOR: u128 = BPS * SLOTS_PER_YEAR;

/// Streaming (management) fee on `equity` over `slots`, rounded down with the
/// remainder carried (× [`STREAMING_FEE_DENOMINATOR`]); never more than the
/// equity (then nothing is carried). Elapsed time counts up to ten years, when
/// even the highest rate has taken the whole equity.
pub fn streaming_fee_floor_carry(equity: u64, fee_bps_per_year: u32, slots: u64, carry: u64) -> MathResult<CarriedFee> {
    const TEN_YEARS: u64 = 10 * SLOTS_PER_YEAR as u64;
    if u128::from(carry) >= STREAMING_FEE_DENOMINATOR {
        return Err(MathError::InvalidInput);
    }
    let num = u128::from(equity).checked_mul(u128::from(fee_bps_per_year)).and_then(|n| n.checked_mul(u128::from(slots.min(TEN_YEARS)))).ok_or(MathError::Overflow)?;
    let q = num.checked_div(STREAMING_FEE_DENOMINATOR).ok_or(MathError::DivideByZero)?;
    let r = num.checked_rem(STREAMING_FEE_DENOMINATOR).ok_or(MathError::DivideByZero)?;
    let (fee, carry) = add_carry(q, r, carry, STREAMING_FEE_DENOMINATOR)?;
    if fee >= u128::from(equity) {
        return Ok(CarriedFee { fee: equity, carry: 0 });
    }
    Ok(CarriedFee { fee: to_u64(fee)?, carry })
}

/// Increase of the cumulative borrow index over `slots` at `rate_bps_per_year`,
/// rounded down. (Tokens pay `borrow_fee_floor_carry` on it; the pool's
/// aggregate view, `Aggregates::accrued_borrow_floor`, rounds the sum once,
/// so it can count up to one unit per token more than the tokens' next
/// settlements pay — the carries pay it later.)
pub fn borrow_index_delta_floor(rate_bps_per_year: u32, slots: u64) -> MathResult<u128> {
    let num = u128::from(rate_bps_per_year).checked_mul(u128::from(slots)).ok_or(MathError::Overflow)?;
    mul_div_floor(num, INDEX_SCALE, BPS * SLOTS_PER_YEAR)
}

/// Borrow fee owed by a position of entry notional `abs_notional` between two
/// index values, rounded up: the bound the pool's aggregate view is tested
/// against (`math::pool` tests); settlements charge `borrow_fee_floor_carry`.
pub fn borrow_fee_ceil(abs_notional: u128, index_now: u128, index_snapshot: u128) -> MathResult<u128> {
    let d = index_now.checked_sub(index_snapshot).ok_or(MathError::InvalidInput)?;
    mul_div_ceil(abs_notional, d, INDEX_SCALE)
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
        assert_eq!(borrow_fee_floor_carry(1_000_000, d, 0, 0), Ok(CarriedFee { fee: 100_000, carry: 0 }));
    }

    #[test]
    fn streaming_fee_is_capped_at_equity() {
        assert_eq!(streaming_fee_floor_carry(100, 10_000, u64::MAX, 0), Ok(CarriedFee { fee: 100, carry: 0 }));
        assert_eq!(streaming_fee_floor_carry(0, 10_000, 1000, 0), Ok(CarriedFee { fee: 0, carry: 0 }));
    }

    /// The measurement: 200 settlements one slot apart charged 400
    /// units where one settlement charges 2 (a ceil at each). With the carry,
    /// 200 one-slot settlements charge what one 200-slot settlement charges.
    #[test]
    fn two_hundred_one_slot_settlements_charge_what_one_does() {
        let (equity, rate) = (99_668_000_000u64, 200u32);
        let one = streaming_fee_floor_carry(equity, rate, 200, 0).unwrap().fee;
        let mut carry = 0;
        let mut total = 0;
        for _ in 0..200 {
            let f = streaming_fee_floor_carry(equity, rate, 1, carry).unwrap();
            total += f.fee;
            carry = f.carry;
        }
        assert_eq!(total, one);
        let (abs, idx) = (300_000_000_000u128, INDEX_SCALE / 10 / SLOTS_PER_YEAR);
        let one = borrow_fee_floor_carry(abs, 200 * idx, 0, 0).unwrap().fee;
        let (mut carry, mut total) = (0, 0);
        for i in 0..200u128 {
            let f = borrow_fee_floor_carry(abs, (i + 1) * idx, i * idx, carry).unwrap();
            total += f.fee;
            carry = f.carry;
        }
        assert_eq!(total, one);
    }

    proptest! {
        #[test]
        fn fees_round_up_and_never_exceed_the_amount(amount in any::<u64>(), bps in 0u16..=10_000) {
            let f = fee_ceil(amount as u128, bps).unwrap();
            prop_assert!(f <= amount as u128);
            prop_assert!(f * 10_000 >= amount as u128 * bps as u128);
        }

        /// Charged in pieces with the carry, a fee is the one-piece fee
        /// exactly (the carries add up to the same remainder).
        #[test]
        fn fees_charged_in_pieces_with_the_carry_equal_the_fee_charged_at_once(
            equity in 0u64..(1 << 50), rate in 0u32..=1_000, splits in proptest::collection::vec(0u64..100_000, 1..20),
            abs in 0u128..(1u128 << 64), steps in proptest::collection::vec(0u128..(1u128 << 36), 1..20),
        ) {
            let total_slots: u64 = splits.iter().sum();
            let once = streaming_fee_floor_carry(equity, rate, total_slots, 0).unwrap();
            let (mut carry, mut sum) = (0u64, 0u64);
            for s in &splits {
                let f = streaming_fee_floor_carry(equity, rate, *s, carry).unwrap();
                sum += f.fee;
                carry = f.carry;
            }
            if once.fee < equity {
                prop_assert_eq!((sum, carry), (once.fee, once.carry));
            }
            let end: u128 = steps.iter().sum();
            let once = borrow_fee_floor_carry(abs, end, 0, 0).unwrap();
            let (mut carry, mut sum, mut at) = (0u64, 0u64, 0u128);
            for s in &steps {
                let f = borrow_fee_floor_carry(abs, at + s, at, carry).unwrap();
                sum += f.fee;
                carry = f.carry;
                at += s;
            }
            prop_assert_eq!((sum, carry), (once.fee, once.carry));
        }

        #[test]
        fn borrow_accrual_in_one_step_is_at_least_accrual_in_two(rate in 0u32..=10_000, a in 0u64..1_000_000_000, b in 0u64..1_000_000_000) {
            let one = borrow_index_delta_floor(rate, a + b).unwrap();
            let two = borrow_index_delta_floor(rate, a).unwrap() + borrow_index_delta_floor(rate, b).unwrap();
            prop_assert!(one >= two && one - two <= 1);
        }
    }
}
