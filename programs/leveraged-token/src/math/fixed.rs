//! Scales and checked mul-div with a 256-bit intermediate.

use super::{MathError, MathResult};

/// Basis points in one.
pub const BPS: u128 = 10_000;
/// Price fixed-point scale: price = collateral native units per whole base unit × 1e12.
pub const PRICE_SCALE: u128 = 1_000_000_000_000;
/// Decimal digits of [`PRICE_SCALE`].
pub const PRICE_DECIMALS: i32 = 12;
/// Base size fixed-point scale: base = whole base units × 1e9.
pub const BASE_SCALE: u128 = 1_000_000_000;
/// Divisor turning base × price into collateral native units.
pub const NOTIONAL_DIVISOR: u128 = BASE_SCALE * PRICE_SCALE;
/// Borrow index scale.
pub const INDEX_SCALE: u128 = 1_000_000_000_000_000;
/// Slots per year at 400 ms per slot (365 days).
pub const SLOTS_PER_YEAR: u128 = 78_840_000;

/// Full 256-bit product of two u128 as (high, low). No step can overflow
/// (products of 64-bit halves, sums of at most three 64-bit words, and the
/// high word of a product that fits 256 bits); the checks say so rather than
/// assume it.
fn full_mul(a: u128, b: u128) -> MathResult<(u128, u128)> {
    const MASK: u128 = u64::MAX as u128;
    let mul = |x: u128, y: u128| x.checked_mul(y).ok_or(MathError::Overflow);
    let add = |x: u128, y: u128| x.checked_add(y).ok_or(MathError::Overflow);
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = mul(a0, b0)?;
    let p01 = mul(a0, b1)?;
    let p10 = mul(a1, b0)?;
    let p11 = mul(a1, b1)?;
    let mid = add(add(p00 >> 64, p01 & MASK)?, p10 & MASK)?;
    let lo = (p00 & MASK) | ((mid & MASK) << 64);
    let hi = add(add(add(p11, p01 >> 64)?, p10 >> 64)?, mid >> 64)?;
    Ok((hi, lo))
}

/// `a * b / d`, rounded down, exact for any u128 inputs whose result fits u128.
#[track_caller]
pub fn mul_div_floor(a: u128, b: u128, d: u128) -> MathResult<u128> {
    mul_div(a, b, d, false)
}

/// `a * b / d`, rounded up, exact for any u128 inputs whose result fits u128.
#[track_caller]
pub fn mul_div_ceil(a: u128, b: u128, d: u128) -> MathResult<u128> {
    mul_div(a, b, d, true)
}

fn mul_div(a: u128, b: u128, d: u128, round_up: bool) -> MathResult<u128> {
    if d == 0 {
        return Err(MathError::DivideByZero);
    }
    let (q, r) = match a.checked_mul(b) {
        Some(p) => (p.checked_div(d).ok_or(MathError::DivideByZero)?, p.checked_rem(d).ok_or(MathError::DivideByZero)?),
        None => {
            let (hi, lo) = full_mul(a, b)?;
            if hi >= d {
                return Err(MathError::Overflow);
            }
            // Long division of (hi, lo) by d, one bit at a time; rem < d always.
            let mut rem = hi;
            let mut q: u128 = 0;
            for i in (0..128).rev() {
                let carry = rem >> 127;
                rem = (rem << 1) | ((lo >> i) & 1);
                q <<= 1;
                if carry == 1 || rem >= d {
                    rem = rem.wrapping_sub(d);
                    q |= 1;
                }
            }
            (q, rem)
        }
    };
    if round_up && r > 0 {
        q.checked_add(1).ok_or(MathError::Overflow)
    } else {
        Ok(q)
    }
}

/// Signed `a * b / d` rounded toward negative infinity (b, d > 0).
#[track_caller]
pub fn mul_div_signed_floor(a: i128, b: u128, d: u128) -> MathResult<i128> {
    let mag = mul_div(a.unsigned_abs(), b, d, a < 0)?;
    signed(mag, a < 0)
}

/// Signed `a * b / d` rounded toward zero (b, d > 0).
#[track_caller]
pub fn mul_div_signed_toward_zero(a: i128, b: u128, d: u128) -> MathResult<i128> {
    let mag = mul_div(a.unsigned_abs(), b, d, false)?;
    signed(mag, a < 0)
}

/// Magnitude and sign to i128, checked.
pub fn signed(mag: u128, negative: bool) -> MathResult<i128> {
    let v = i128::try_from(mag).map_err(|_| MathError::Overflow)?;
    if negative {
        v.checked_neg().ok_or(MathError::Overflow)
    } else {
        Ok(v)
    }
}

/// An integer (u128, non-negative i128, …) to u64, checked.
pub fn to_u64<T: TryInto<u64>>(v: T) -> MathResult<u64> {
    v.try_into().map_err(|_| MathError::Overflow)
}

/// `amount * bps / 10_000`, rounded up: fees owed to the protocol.
pub fn bps_ceil(amount: u128, bps: u128) -> MathResult<u128> {
    mul_div_ceil(amount, bps, BPS)
}

/// `amount * bps / 10_000`, rounded down: amounts paid out.
pub fn bps_floor(amount: u128, bps: u128) -> MathResult<u128> {
    mul_div_floor(amount, bps, BPS)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mul_div_handles_products_beyond_u128() {
        assert_eq!(mul_div_floor(u128::MAX, u128::MAX, u128::MAX), Ok(u128::MAX));
        assert_eq!(mul_div_floor(u128::MAX, 2, 4), Ok(u128::MAX / 2));
        assert_eq!(mul_div_ceil(u128::MAX, 3, 6), Ok(u128::MAX / 2 + 1));
        assert_eq!(mul_div_floor(u128::MAX, 2, 1), Err(MathError::Overflow));
        assert_eq!(mul_div_floor(1, 1, 0), Err(MathError::DivideByZero));
    }

    #[test]
    fn signed_floor_rounds_toward_negative_infinity() {
        assert_eq!(mul_div_signed_floor(-7, 1, 2), Ok(-4));
        assert_eq!(mul_div_signed_floor(7, 1, 2), Ok(3));
        assert_eq!(mul_div_signed_toward_zero(-7, 1, 2), Ok(-3));
    }

    proptest! {
        #[test]
        fn wide_mul_div_matches_split_computation(a in any::<u64>(), b in any::<u128>(), d in 1u128..) {
            // (a*b)/d compared with a decomposition that never overflows: a*b = a*(bh*2^64 + bl)
            let r = mul_div_floor(a as u128, b, d);
            let (hi, lo) = full_mul(a as u128, b).unwrap();
            if hi >= d { prop_assert_eq!(r, Err(MathError::Overflow)); }
            else {
                let q = r.unwrap();
                // q*d <= a*b < (q+1)*d, checked in 256 bits
                let (qh, ql) = full_mul(q, d).unwrap();
                prop_assert!((qh, ql) <= (hi, lo));
                let (rh, rl) = (hi - qh - u128::from(ql > lo), lo.wrapping_sub(ql));
                prop_assert!(rh == 0 && rl < d);
            }
        }

        #[test]
        fn ceil_is_floor_plus_one_exactly_when_inexact(a in any::<u128>(), b in any::<u64>(), d in 1u128..) {
            if let (Ok(f), Ok(c)) = (mul_div_floor(a, b as u128, d), mul_div_ceil(a, b as u128, d)) {
                prop_assert!(c == f || c == f + 1);
                let (hi, lo) = full_mul(f, d).unwrap();
                let exact = full_mul(a, b as u128).unwrap() == (hi, lo);
                prop_assert_eq!(c == f, exact);
            }
        }
    }
}
