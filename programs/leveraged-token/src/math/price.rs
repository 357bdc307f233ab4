//! Oracle price normalisation and confidence checks.

use super::{mul_div_ceil, MathError, MathResult, BPS, PRICE_DECIMALS};

/// A price in the program's fixed point with its confidence half-width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizedPrice {
    /// Collateral native units per whole base unit × PRICE_SCALE. Always > 0.
    pub price: u128,
    /// Confidence half-width in the same unit (rounded up: never understated).
    pub conf: u128,
}

fn pow10(e: u32) -> MathResult<u128> {
    10u128.checked_pow(e).ok_or(MathError::Overflow)
}

/// Convert an oracle reading `price · 10^expo` (quote per whole base unit) to
/// collateral native units per whole base unit × PRICE_SCALE, assuming the
/// collateral is the quote currency (USDC for a USD feed).
///
/// The price rounds down and the confidence rounds up, so precision loss can
/// only widen the interval. Fails with `InvalidInput` for non-positive prices
/// and for prices that vanish at this precision.
pub fn normalize_price(price: i64, conf: u64, expo: i32, collateral_decimals: u8) -> MathResult<NormalizedPrice> {
    if price <= 0 {
        return Err(MathError::InvalidInput);
    }
    let shift = expo.checked_add(i32::from(collateral_decimals)).and_then(|s| s.checked_add(PRICE_DECIMALS)).ok_or(MathError::Overflow)?;
    let (p, c) = if shift >= 0 {
        let m = pow10(shift as u32)?;
        ((price as u128).checked_mul(m).ok_or(MathError::Overflow)?, (conf as u128).checked_mul(m).ok_or(MathError::Overflow)?)
    } else {
        let d = pow10(shift.unsigned_abs())?;
        ((price as u128).checked_div(d).ok_or(MathError::DivideByZero)?, mul_div_ceil(conf as u128, 1, d)?)
    };
    if p == 0 {
        return Err(MathError::InvalidInput);
    }
    Ok(NormalizedPrice { price: p, conf: c })
}

/// Confidence width in basis points of price, rounded up.
pub fn conf_bps_ceil(price: &NormalizedPrice) -> MathResult<u128> {
    mul_div_ceil(price.conf, BPS, price.price)
}

/// Relative distance |p / reference − 1| in basis points, rounded down.
pub fn deviation_bps_floor(p: u128, reference: u128) -> MathResult<u128> {
    let diff = p.abs_diff(reference);
    super::mul_div_floor(diff, BPS, reference)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usd_feed_with_usdc_collateral_normalizes_to_native_units() {
        // BTC at 65,000.12345678 with expo -8, USDC 6 decimals.
        let p = normalize_price(6_500_012_345_678, 1_000_000, -8, 6).unwrap();
        assert_eq!(p.price, 6_500_012_345_678 * 10u128.pow(10));
        assert_eq!(p.conf, 1_000_000 * 10u128.pow(10));
    }

    #[test]
    fn non_positive_prices_are_rejected() {
        assert_eq!(normalize_price(0, 0, -8, 6), Err(MathError::InvalidInput));
        assert_eq!(normalize_price(-5, 0, -8, 6), Err(MathError::InvalidInput));
    }

    #[test]
    fn confidence_rounds_up_when_precision_is_lost() {
        let p = normalize_price(1_000_000_000_000_000_000, 1, -28, 0).unwrap();
        assert_eq!(p.price, 100);
        assert_eq!(p.conf, 1);
    }

    proptest! {
        #[test]
        fn every_price_from_1e_minus_8_to_1e12_normalizes(value_exp in -8i32..=12, extra in 0i32..=5, r in any::<u64>(), dec in 0u8..=9) {
            // value = mantissa × 10^expo with 10^digits ≤ mantissa < 10^(digits+1) and 1e-8 ≤ value < 1e13.
            let digits = value_exp.max(0) + extra;
            let expo = value_exp - digits;
            let lo = 10i64.pow(digits as u32);
            let mantissa = lo + (r % (9 * lo as u64)) as i64;
            let p = normalize_price(mantissa, 0, expo, dec).unwrap();
            // At 1e-8 quote per base with 0 decimals the price still has >= 4 significant digits.
            prop_assert!(p.price >= 10_000);
        }
    }
}
