//! Notional, leverage and base-size conversions.

use super::{mul_div_ceil, mul_div_signed_floor, mul_div_signed_toward_zero, MathError, MathResult, BPS, NOTIONAL_DIVISOR};

/// Signed notional value of `base` at `price`, rounded toward negative infinity
/// (a long is worth no more than its exact value, a short owes no less).
#[track_caller]
pub fn notional_floor(base: i128, price: u128) -> MathResult<i128> {
    mul_div_signed_floor(base, price, NOTIONAL_DIVISOR)
}

/// |base| × conf in collateral units, rounded up: the value an adverse move of
/// one confidence half-width would take from (or add to) the position.
#[track_caller]
pub fn conf_exposure_ceil(base: i128, conf: u128) -> MathResult<u128> {
    mul_div_ceil(base.unsigned_abs(), conf, NOTIONAL_DIVISOR)
}

/// Base size whose notional at `price` is `notional`, rounded toward zero
/// (a position is never opened larger than asked).
#[track_caller]
pub fn base_for_notional_toward_zero(notional: i128, price: u128) -> MathResult<i128> {
    if price == 0 {
        return Err(MathError::DivideByZero);
    }
    mul_div_signed_toward_zero(notional, NOTIONAL_DIVISOR, price)
}

/// Effective leverage in signed basis points, rounded toward zero; `None` when
/// equity is not positive (the token is insolvent).
#[track_caller]
pub fn leverage_bps(base: i128, price: u128, equity: i128) -> MathResult<Option<i64>> {
    if equity <= 0 {
        return Ok(None);
    }
    let n = notional_floor(base, price)?;
    let l = mul_div_signed_toward_zero(n, BPS, equity as u128)?;
    Ok(Some(i64::try_from(l).map_err(|_| MathError::Overflow)?))
}

/// Target notional `target_bps × equity`, rounded toward zero.
#[track_caller]
pub fn target_notional_toward_zero(target_bps: i64, equity: i128) -> MathResult<i128> {
    if equity < 0 {
        return Err(MathError::InvalidInput);
    }
    mul_div_signed_toward_zero(i128::from(target_bps), equity as u128, BPS)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::math::PRICE_SCALE;
    use proptest::prelude::*;

    #[test]
    fn notional_of_one_btc_at_65k_usdc() {
        let price = 65_000 * 1_000_000 * PRICE_SCALE; // 65,000 USDC (6 dp) per BTC
        assert_eq!(notional_floor(1_000_000_000, price), Ok(65_000_000_000));
        assert_eq!(notional_floor(-1, 1), Ok(-1));
        assert_eq!(notional_floor(1, 1), Ok(0));
    }

    proptest! {
        #[test]
        fn base_for_notional_never_exceeds_the_requested_notional(n in -(u64::MAX as i128)..(u64::MAX as i128), price in 10_000u128..=10u128.pow(33)) {
            let b = base_for_notional_toward_zero(n, price).unwrap();
            let back = notional_floor(b, price).unwrap();
            prop_assert!(back.abs() <= n.abs());
        }

        #[test]
        fn leverage_sign_follows_the_position(base in -(1i128<<90)..(1i128<<90), price in 10_000u128..=10u128.pow(30), eq in 1i128..(u64::MAX as i128)) {
            if let Ok(Some(l)) = leverage_bps(base, price, eq) {
                let n = notional_floor(base, price).unwrap();
                prop_assert!(l == 0 || (l > 0) == (n > 0));
            }
        }
    }
}
