//! What a perp charges: funding on the skew between a market's long and short
//! positions, and a borrow fee on the pool's net exposure, accrued per side
//! with cumulative indices on unix time.
//!
//! Book (notional at each position's last settlement): long `N_L`, short
//! `N_S`, net `N = N_L − N_S`, gross `G = N_L + N_S`, skew `s = N / G`.
//!
//! - **Funding** at `F_max · s` per year: longs pay it on their notional and
//!   shorts receive it when `s > 0`, the reverse when `s < 0`. The pool gets
//!   what the imbalance pays, `F_max · N² / G ≥ 0`, never anything for a
//!   balanced book.
//! - **Borrow** on the pool's risk: utilisation `U = min(|N| / V, 1)` (`V` the
//!   collateral the pool holds for LPs) on a kink curve, charged only to the
//!   side that makes the net larger; plus a base fee on both sides (all a
//!   balanced book pays).
//!
//! Each side has an index (charge per unit of notional × [`INDEX_SCALE`],
//! signed: positive pays), and a borrow-only index so a token's charge can be
//! split into funding and borrow. Index steps round **up** (a payer pays at
//! least, a receiver receives at most the exact amount), so what tokens are
//! charged is never less than the pool's income; a token's charge rounds up
//! again ([`charge_ceil_prepaid`]) and carries what it prepaid.

use super::{mul_div_ceil, mul_div_floor, signed, MathError, MathResult, BPS, INDEX_SCALE};

/// Seconds in a year of 365 days: rates are per year.
pub const YEAR_SECS: u128 = 31_536_000;
/// Elapsed time counts up to ten years in one accrual (a market nobody
/// touched that long); the rest is not charged.
pub const MAX_ACCRUAL_SECS: u64 = 10 * 31_536_000;

/// The rate curve (market parameters), all in bps per year except the kink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateParams {
    /// Funding at full skew (`|s| = 1`).
    pub funding_max_bps: u32,
    /// Borrow fee both sides pay on their notional whatever the skew.
    pub borrow_base_bps: u32,
    /// Utilisation (bps of `V`) where the borrow curve turns steep.
    pub kink_utilization_bps: u32,
    /// Borrow rate of the heavier side at the kink, and at `U = 100 %`.
    pub kink_rate_bps: u32,
    pub max_rate_bps: u32,
}

/// Notional per side (at each position's last settlement).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Book {
    pub long: u128,
    pub short: u128,
}

impl Book {
    pub fn gross(&self) -> MathResult<u128> {
        self.long.checked_add(self.short).ok_or(MathError::Overflow)
    }
    /// `N_L − N_S`.
    pub fn net(&self) -> MathResult<i128> {
        let l = i128::try_from(self.long).map_err(|_| MathError::Overflow)?;
        let s = i128::try_from(self.short).map_err(|_| MathError::Overflow)?;
        l.checked_sub(s).ok_or(MathError::Overflow)
    }
    /// |N| in bps of `pool_cash`, rounded up, at most 100 % (an empty pool
    /// with an open net is fully used).
    pub fn utilization_bps_ceil(&self, pool_cash: u128) -> MathResult<u128> {
        let n = self.net()?.unsigned_abs();
        if n == 0 {
            return Ok(0);
        }
        if pool_cash == 0 {
            return Ok(BPS);
        }
        Ok(mul_div_ceil(n, BPS, pool_cash)?.min(BPS))
    }
}

/// The heavier side's borrow rate beyond the base at utilisation `u_bps`
/// (≤ 10,000), rounded up: linear to `kink_rate` at the kink, then linear to
/// `max_rate` at 100 %.
pub fn kink_rate_bps_ceil(p: &RateParams, u_bps: u128) -> MathResult<u128> {
    let (kink, at_kink, max) = (u128::from(p.kink_utilization_bps), u128::from(p.kink_rate_bps), u128::from(p.max_rate_bps));
    if kink == 0 || kink >= BPS || at_kink > max || u_bps > BPS {
        return Err(MathError::InvalidInput);
    }
    if u_bps <= kink {
        return mul_div_ceil(at_kink, u_bps, kink);
    }
    let over = u_bps.checked_sub(kink).ok_or(MathError::Overflow)?;
    let steep = mul_div_ceil(max.checked_sub(at_kink).ok_or(MathError::Overflow)?, over, BPS.checked_sub(kink).ok_or(MathError::Overflow)?)?;
    at_kink.checked_add(steep).ok_or(MathError::Overflow)
}

/// Steps of the four indices over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexStep {
    /// Charge index steps (funding + borrow), signed: positive pays.
    pub long: i128,
    pub short: i128,
    /// Borrow-only index steps (base + kink), never negative.
    pub long_borrow: u128,
    pub short_borrow: u128,
}

impl IndexStep {
    /// The pool's income over the interval from a book that paid these
    /// steps, × INDEX_SCALE: `N_L · Δlong + N_S · Δshort` (never negative:
    /// funding's steps round up on both sides and borrow is never negative).
    pub fn pool_income_scaled(&self, book: &Book) -> MathResult<i128> {
        let l = i128::try_from(book.long).map_err(|_| MathError::Overflow)?.checked_mul(self.long).ok_or(MathError::Overflow)?;
        let s = i128::try_from(book.short).map_err(|_| MathError::Overflow)?.checked_mul(self.short).ok_or(MathError::Overflow)?;
        l.checked_add(s).ok_or(MathError::Overflow)
    }
}

/// `rate_bps × secs / (BPS × year)` per unit of notional × INDEX_SCALE, up.
fn rate_step_ceil(rate_bps: u128, secs: u128) -> MathResult<u128> {
    mul_div_ceil(rate_bps.checked_mul(secs).ok_or(MathError::Overflow)?, INDEX_SCALE, BPS.checked_mul(YEAR_SECS).ok_or(MathError::Overflow)?)
}

/// The index steps of `book` over `secs` seconds, with `pool_cash` the
/// collateral the pool holds for LPs (utilisation's denominator). The book and
/// the cash are those of the whole interval: every change to them accrues
/// first.
pub fn index_step(p: &RateParams, book: &Book, pool_cash: u128, secs: u64) -> MathResult<IndexStep> {
    let secs = u128::from(secs.min(MAX_ACCRUAL_SECS));
    if secs == 0 {
        return Ok(IndexStep::default());
    }
    let net = book.net()?;
    let gross = book.gross()?;
    let base = rate_step_ceil(u128::from(p.borrow_base_bps), secs)?;
    let kink = rate_step_ceil(u128::from(p.borrow_base_bps).checked_add(kink_rate_bps_ceil(p, book.utilization_bps_ceil(pool_cash)?)?).ok_or(MathError::Overflow)?, secs)?;
    let (long_borrow, short_borrow) = match net {
        n if n > 0 => (kink, base),
        n if n < 0 => (base, kink),
        _ => (base, base),
    };
    // Funding per unit: F_max · secs · S / (BPS · year) × |N| / G; the payer's
    // step rounds up, the receiver's down (its negative step rounds up too).
    let (pays, receives) = if gross == 0 || net == 0 {
        (0, 0)
    } else {
        let full = u128::from(p.funding_max_bps).checked_mul(secs).and_then(|x| x.checked_mul(INDEX_SCALE)).ok_or(MathError::Overflow)?;
        let den = BPS.checked_mul(YEAR_SECS).and_then(|x| x.checked_mul(gross)).ok_or(MathError::Overflow)?;
        (mul_div_ceil(full, net.unsigned_abs(), den)?, mul_div_floor(full, net.unsigned_abs(), den)?)
    };
    let (long_funding, short_funding) = if net > 0 { (signed(pays, false)?, signed(receives, true)?) } else { (signed(receives, true)?, signed(pays, false)?) };
    let add = |f: i128, b: u128| i128::try_from(b).ok().and_then(|b| f.checked_add(b)).ok_or(MathError::Overflow);
    Ok(IndexStep { long: add(long_funding, long_borrow)?, short: add(short_funding, short_borrow)?, long_borrow, short_borrow })
}

/// A token's charge between two index values on `abs_notional`, rounded up,
/// net of what it prepaid at its last settlement: `ceil((|cost| · Δindex −
/// prepaid) / S)` (negative: the token receives, rounded toward zero), and
/// the new prepaid remainder (`charge · S − exact`, below one unit × S). Over
/// any number of settlements a token pays the exact total rounded up once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub fee: i128,
    pub prepaid: u64,
}

pub fn charge_ceil_prepaid(abs_notional: u128, index_now: i128, index_snapshot: i128, prepaid: u64) -> MathResult<Charge> {
    if u128::from(prepaid) >= INDEX_SCALE {
        return Err(MathError::InvalidInput);
    }
    let d = index_now.checked_sub(index_snapshot).ok_or(MathError::Overflow)?;
    let exact = i128::try_from(abs_notional).map_err(|_| MathError::Overflow)?.checked_mul(d).ok_or(MathError::Overflow)?.checked_sub(i128::from(prepaid)).ok_or(MathError::Overflow)?;
    let s = INDEX_SCALE as i128;
    // Ceil division toward +∞ for either sign.
    let q = exact.div_euclid(s);
    let r = exact.rem_euclid(s);
    let fee = if r == 0 { q } else { q.checked_add(1).ok_or(MathError::Overflow)? };
    let prepaid = if r == 0 { 0 } else { s.checked_sub(r).ok_or(MathError::Overflow)? };
    Ok(Charge { fee, prepaid: u64::try_from(prepaid).map_err(|_| MathError::Overflow)? })
}

/// The borrow part of a charge (for the books: funding is the rest), rounded
/// down.
pub fn borrow_part_floor(abs_notional: u128, borrow_now: u128, borrow_snapshot: u128) -> MathResult<u128> {
    mul_div_floor(abs_notional, borrow_now.checked_sub(borrow_snapshot).ok_or(MathError::InvalidInput)?, INDEX_SCALE)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: RateParams = RateParams { funding_max_bps: 1_500, borrow_base_bps: 50, kink_utilization_bps: 6_000, kink_rate_bps: 1_000, max_rate_bps: 10_000 };
    const YEAR: u64 = YEAR_SECS as u64;
    const M: u128 = 1_000_000; // one collateral unit at 6 decimals

    /// Yearly charge of `notional` at index step `d`.
    fn yearly(notional: u128, d: i128) -> i128 {
        charge_ceil_prepaid(notional, d, 0, 0).unwrap().fee
    }

    #[test]
    fn a_balanced_book_pays_only_the_base_fee() {
        let book = Book { long: 500_000 * M, short: 500_000 * M };
        let st = index_step(&P, &book, 10_000_000 * M, YEAR).unwrap();
        assert_eq!(st.long, st.short);
        assert_eq!(yearly(500_000 * M, st.long), 500_000 * M as i128 * 50 / 10_000);
        assert_eq!(st.pool_income_scaled(&book).unwrap() / INDEX_SCALE as i128, 2 * 2_500 * M as i128);
    }

    #[test]
    fn a_long_heavy_book_charges_longs_funding_and_borrow_and_pays_shorts_funding() {
        // The replay's book: +3x and +2x of 100 k equity against −1x of 100 k: N_L 500 k, N_S 100 k.
        let book = Book { long: 500_000 * M, short: 100_000 * M };
        let cash = 10_000_000 * M;
        let st = index_step(&P, &book, cash, YEAR).unwrap();
        // skew 2/3: funding 10 %/yr; U = 4 % → kink part 1,000 × 400/6,000 = 66.67 bps → 67 up.
        let long = yearly(100_000 * M, st.long);
        let short = yearly(100_000 * M, st.short);
        assert_eq!(long, (100_000 * M as i128) * (1_000 + 50 + 67) / 10_000);
        assert_eq!(short, -(100_000 * M as i128) * (1_000 - 50) / 10_000);
        // The pool: F_max·N²/G + borrow ≥ 0, here ≈ 1.5 × 400 k × 400/600 … = 40 k + borrow.
        let income = st.pool_income_scaled(&book).unwrap() / INDEX_SCALE as i128;
        assert!(income >= (40_000 + 3_000 + 3_350) * M as i128 - 2 * M as i128, "{income}");
    }

    #[test]
    fn the_kink_turns_steep_past_the_kink() {
        assert_eq!(kink_rate_bps_ceil(&P, 0).unwrap(), 0);
        assert_eq!(kink_rate_bps_ceil(&P, 6_000).unwrap(), 1_000);
        assert_eq!(kink_rate_bps_ceil(&P, 8_000).unwrap(), 1_000 + 4_500);
        assert_eq!(kink_rate_bps_ceil(&P, 10_000).unwrap(), 10_000);
        assert_eq!(Book { long: 2, short: 0 }.utilization_bps_ceil(1).unwrap(), 10_000);
    }

    #[test]
    fn a_token_pays_the_exact_total_rounded_up_once_however_often_it_settles() {
        let (notional, step) = (123_456_789u128, 3_333_333_333i128);
        let once = charge_ceil_prepaid(notional, 1000 * step, 0, 0).unwrap().fee;
        let (mut prepaid, mut total) = (0, 0);
        for k in 1..=1000 {
            let c = charge_ceil_prepaid(notional, k * step, (k - 1) * step, prepaid).unwrap();
            total += c.fee;
            prepaid = c.prepaid;
        }
        assert_eq!(total, once);
    }

    fn sides() -> impl Strategy<Value = (u128, u128)> {
        (0u128..(1u128 << 70), 0u128..(1u128 << 70))
    }

    proptest! {
        /// The pool's funding income is never negative, whatever the book.
        #[test]
        fn the_pools_income_is_never_negative((long, short) in sides(), cash in 0u128..(1u128 << 72), secs in 0u64..(2 * YEAR), f in 0u32..=50_000, base in 0u32..=1_000) {
            let p = RateParams { funding_max_bps: f, borrow_base_bps: base, ..P };
            let book = Book { long, short };
            let st = index_step(&p, &book, cash, secs).unwrap();
            prop_assert!(st.pool_income_scaled(&book).unwrap() >= 0);
        }

        /// Σ charged to tokens ≥ the pool's income, by at most the rounding:
        /// one unit per token for the charge's ceil, plus the index steps'
        /// ceil (under one unit × S per side per unit of notional, so at most
        /// `G / S + 2` units).
        #[test]
        fn tokens_are_charged_at_least_what_the_pool_books_by_at_most_the_rounding(
            longs in prop::collection::vec(0u128..(1u128 << 60), 0..5), shorts in prop::collection::vec(0u128..(1u128 << 60), 0..5),
            cash in 0u128..(1u128 << 64), secs in 1u64..YEAR,
        ) {
            let book = Book { long: longs.iter().sum(), short: shorts.iter().sum() };
            let st = index_step(&P, &book, cash, secs).unwrap();
            let charged: i128 = longs.iter().map(|n| yearly(*n, st.long)).chain(shorts.iter().map(|n| yearly(*n, st.short))).sum();
            let income = st.pool_income_scaled(&book).unwrap();
            // The exact income (before the step's rounding) is below `income / S`;
            // the pool books `floor(income / S)`.
            let booked = income.div_euclid(INDEX_SCALE as i128);
            prop_assert!(charged >= booked, "charged {charged} < booked {booked}");
            let tokens = (longs.len() + shorts.len()) as i128;
            let slack = tokens + (book.gross().unwrap() / INDEX_SCALE) as i128 + 2;
            prop_assert!(charged - booked <= slack, "charged {charged} booked {booked} slack {slack}");
        }

        /// Signs: the heavier side pays at least the base fee plus funding,
        /// the lighter side's charge is below the base fee (it receives
        /// funding); both sides pay the same on a balanced book.
        #[test]
        fn the_heavier_side_pays_and_the_lighter_side_receives((long, short) in sides(), secs in 60u64..YEAR) {
            let book = Book { long, short };
            let st = index_step(&P, &book, 1u128 << 72, secs).unwrap();
            let base = rate_step_ceil(u128::from(P.borrow_base_bps), u128::from(secs)).unwrap() as i128;
            match long.cmp(&short) {
                std::cmp::Ordering::Greater => { prop_assert!(st.long >= base); prop_assert!(st.short <= base); prop_assert!(st.long >= st.short); }
                std::cmp::Ordering::Less => { prop_assert!(st.short >= base); prop_assert!(st.long <= base); prop_assert!(st.short >= st.long); }
                std::cmp::Ordering::Equal => { prop_assert_eq!(st.long, base); prop_assert_eq!(st.short, base); }
            }
            prop_assert!(st.long_borrow >= base as u128 && st.short_borrow >= base as u128);
        }

        /// A token's charge is its exact share rounded up, the prepaid remainder below one unit.
        #[test]
        fn a_charge_rounds_up_and_carries_the_rest(n in 0u128..(1u128 << 64), d in -(1i128 << 60)..(1i128 << 60), prepaid in 0u64..(INDEX_SCALE as u64)) {
            let c = charge_ceil_prepaid(n, d, 0, prepaid).unwrap();
            let exact = n as i128 * d - prepaid as i128;
            prop_assert_eq!(c.fee * INDEX_SCALE as i128 - c.prepaid as i128, exact);
            prop_assert!(u128::from(c.prepaid) < INDEX_SCALE);
        }
    }
}
