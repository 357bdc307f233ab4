//! Share pricing (virtual offset against first-depositor inflation) and the
//! mint / redeem quotes of a leveraged token.

use super::fees::fee_ceil;
use super::position::{base_for_notional_toward_zero, conf_exposure_ceil, notional_floor, target_notional_toward_zero};
use super::{mul_div_floor, mul_div_signed_toward_zero, to_u64, MathError, MathResult, BPS};

/// Virtual shares added to the supply when pricing (OpenZeppelin-style offset).
pub const VIRTUAL_SHARES: u128 = 1_000;
/// Virtual assets added to the equity when pricing.
pub const VIRTUAL_ASSETS: u128 = 1_000;

/// Shares issued for `amount` of collateral when the pool of `supply` shares is
/// worth `value`, rounded down. The virtual offset makes a donation before the
/// first deposit cost the donor almost all of it.
pub fn shares_for_assets_floor(amount: u128, supply: u128, value: u128) -> MathResult<u128> {
    let s = supply.checked_add(VIRTUAL_SHARES).ok_or(MathError::Overflow)?;
    let v = value.checked_add(VIRTUAL_ASSETS).ok_or(MathError::Overflow)?;
    mul_div_floor(amount, s, v)
}

/// Collateral paid for `shares` out of `supply` when the pool is worth `value`,
/// rounded down and never more than `value`.
pub fn assets_for_shares_floor(shares: u128, supply: u128, value: u128) -> MathResult<u128> {
    let s = supply.checked_add(VIRTUAL_SHARES).ok_or(MathError::Overflow)?;
    let v = value.checked_add(VIRTUAL_ASSETS).ok_or(MathError::Overflow)?;
    Ok(mul_div_floor(shares, v, s)?.min(value))
}

/// State of a token after settlement, as the quotes need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBook {
    /// Equity in collateral units after settlement (vault minus protocol fees owed).
    pub equity: u64,
    /// Share supply.
    pub supply: u64,
    /// Signed base size.
    pub base: i128,
    /// Target leverage in signed bps.
    pub target_leverage_bps: i64,
}

/// Result of [`quote_mint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MintQuote {
    pub mint_fee: u64,
    pub trade_fee: u64,
    /// Collateral that becomes equity of the token.
    pub net_deposit: u64,
    pub shares_out: u64,
    /// Signed change of the base size.
    pub delta_base: i128,
}

/// Quote a mint of `amount` collateral at `price ± conf`.
///
/// Shares are priced at the equity valued on the side of the confidence interval
/// worse for the minter (equity + |base|·conf), rounded down. The position grows
/// by `base × net_deposit / equity` so holders' leverage is unchanged; an empty
/// position opens at the target leverage on the whole equity. The minter pays the
/// mint fee and the trade fee on the notional added.
pub fn quote_mint(book: &TokenBook, price: u128, conf: u128, amount: u64, mint_fee_bps: u16, trade_fee_bps: u16) -> MathResult<MintQuote> {
    let mint_fee = to_u64(fee_ceil(u128::from(amount), mint_fee_bps)?)?;
    let after_fee = amount.checked_sub(mint_fee).ok_or(MathError::Overflow)?;
    let equity = i128::from(book.equity);
    let current = if book.base == 0 || book.equity == 0 { None } else { Some(notional_floor(book.base, price)?) };
    // Leverage the deposit will carry: the current one, else the target.
    let lev_bps: u128 = match current {
        Some(n) => mul_div_floor(n.unsigned_abs(), BPS, book.equity as u128)?,
        None => u128::from(book.target_leverage_bps.unsigned_abs()),
    };
    let added_notional = mul_div_floor(u128::from(after_fee), lev_bps, BPS)?;
    let trade_fee = to_u64(fee_ceil(added_notional, trade_fee_bps)?)?.min(after_fee);
    let net_deposit = after_fee.checked_sub(trade_fee).ok_or(MathError::Overflow)?;

    let pricing_equity = u128::from(book.equity).checked_add(conf_exposure_ceil(book.base, conf)?).ok_or(MathError::Overflow)?;
    let shares_out = to_u64(shares_for_assets_floor(u128::from(net_deposit), u128::from(book.supply), pricing_equity)?)?;

    let delta_base = match current {
        Some(_) => mul_div_signed_toward_zero(book.base, u128::from(net_deposit), book.equity as u128)?,
        None => {
            let total = equity.checked_add(i128::from(net_deposit)).ok_or(MathError::Overflow)?;
            let n = target_notional_toward_zero(book.target_leverage_bps, total)?;
            base_for_notional_toward_zero(n, price)?.checked_sub(book.base).ok_or(MathError::Overflow)?
        }
    };
    Ok(MintQuote { mint_fee, trade_fee, net_deposit, shares_out, delta_base })
}

/// Result of [`quote_redeem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedeemQuote {
    /// Equity leaving the token (payout + fees).
    pub gross: u64,
    pub redeem_fee: u64,
    pub trade_fee: u64,
    pub collateral_out: u64,
    pub delta_base: i128,
}

/// Quote a redeem of `shares` at `price ± conf`.
///
/// Shares are valued at the equity on the side of the confidence interval worse
/// for the redeemer (equity − |base|·conf), rounded down. The position shrinks by
/// the fraction of equity leaving, so remaining holders' leverage is unchanged;
/// the last redeemer closes it. The redeemer pays the redeem fee and the trade fee
/// on the notional removed.
pub fn quote_redeem(book: &TokenBook, price: u128, conf: u128, shares: u64, redeem_fee_bps: u16, trade_fee_bps: u16) -> MathResult<RedeemQuote> {
    if shares > book.supply {
        return Err(MathError::InvalidInput);
    }
    let exposure = conf_exposure_ceil(book.base, conf)?;
    let pricing_equity = u128::from(book.equity).saturating_sub(exposure);
    let gross = to_u64(assets_for_shares_floor(u128::from(shares), u128::from(book.supply), pricing_equity)?)?;
    let redeem_fee = to_u64(fee_ceil(u128::from(gross), redeem_fee_bps)?)?;
    let remaining_equity = book.equity.checked_sub(gross).ok_or(MathError::Overflow)?;
    let new_base = if shares == book.supply || book.equity == 0 { 0 } else { mul_div_signed_toward_zero(book.base, u128::from(remaining_equity), u128::from(book.equity))? };
    let delta_base = new_base.checked_sub(book.base).ok_or(MathError::Overflow)?;
    let removed = notional_floor(book.base, price)?.abs_diff(notional_floor(new_base, price)?);
    let after_fee = gross.checked_sub(redeem_fee).ok_or(MathError::Overflow)?;
    let trade_fee = to_u64(fee_ceil(removed, trade_fee_bps)?)?.min(after_fee);
    let collateral_out = after_fee.checked_sub(trade_fee).ok_or(MathError::Overflow)?;
    Ok(RedeemQuote { gross, redeem_fee, trade_fee, collateral_out, delta_base })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::math::position::leverage_bps;
    use crate::math::PRICE_SCALE;
    use proptest::prelude::*;

    const P: u128 = 100 * 1_000_000 * PRICE_SCALE; // 100 USDC per base unit

    fn empty(target: i64) -> TokenBook {
        TokenBook { equity: 0, supply: 0, base: 0, target_leverage_bps: target }
    }

    #[test]
    fn first_mint_opens_the_position_at_target_leverage() {
        let q = quote_mint(&empty(30_000), P, 0, 1_000_000_000, 0, 0).unwrap();
        assert_eq!(q.shares_out, 1_000_000_000);
        // 3 × 1,000 USDC at 100 USDC = 30 base units
        assert_eq!(q.delta_base, 30 * 1_000_000_000);
    }

    #[test]
    fn a_donation_before_the_first_mint_costs_the_donor_almost_all_of_it() {
        // attacker holds 1 share, donates 1,000,000 USDC; victim deposits 1,000 USDC
        let book = TokenBook { equity: 1_000_000_000_001, supply: 1, base: 0, target_leverage_bps: 30_000 };
        let q = quote_mint(&book, P, 0, 1_000_000_000, 0, 0).unwrap();
        let after = TokenBook { equity: book.equity + q.net_deposit, supply: 1 + q.shares_out, ..book };
        let attacker = assets_for_shares_floor(1, after.supply as u128, after.equity as u128).unwrap();
        assert!(attacker < 1_000_000_000_001 / 1000, "attacker recovers {attacker}");
    }

    proptest! {
        #[test]
        fn mint_then_redeem_never_returns_more_than_was_paid(
            equity in 0u64..=u64::MAX / 4, ratio in 0u64..=2_000, lev in prop::sample::select(vec![-30_000i64, -20_000, -10_000, 10_000, 20_000, 30_000, 50_000]),
            amount in 1u64..=u64::MAX / 4, conf in 0u128..=P / 50, fee in 0u16..=100, tfee in 0u16..=100,
        ) {
            // Share supply from 0 to 2× the equity (NAV per share from 0.5 up).
            let supply = (equity as u128 * ratio as u128 / 1_000) as u64;
            let base = if supply == 0 { 0 } else {
                base_for_notional_toward_zero(target_notional_toward_zero(lev, equity as i128).unwrap(), P).unwrap()
            };
            let book = TokenBook { equity, supply, base, target_leverage_bps: lev };
            let m = quote_mint(&book, P, conf, amount, fee, tfee).unwrap();
            prop_assume!(m.shares_out > 0);
            let after = TokenBook { equity: equity + m.net_deposit, supply: supply + m.shares_out, base: base + m.delta_base, target_leverage_bps: lev };
            let r = quote_redeem(&after, P, conf, m.shares_out, fee, tfee).unwrap();
            prop_assert!(r.collateral_out <= amount, "paid {amount}, got back {}", r.collateral_out);
        }

        #[test]
        fn mint_leaves_existing_holders_leverage_unchanged(
            equity in 1_000_000u64..=1_000_000_000_000_000, amount in 1_000_000u64..=1_000_000_000_000_000,
            lev in prop::sample::select(vec![-30_000i64, -10_000, 20_000, 30_000]),
        ) {
            let base = base_for_notional_toward_zero(target_notional_toward_zero(lev, equity as i128).unwrap(), P).unwrap();
            let before = leverage_bps(base, P, equity as i128).unwrap().unwrap();
            let book = TokenBook { equity, supply: equity, base, target_leverage_bps: lev };
            let m = quote_mint(&book, P, 0, amount, 0, 0).unwrap();
            let after = leverage_bps(base + m.delta_base, P, (equity + m.net_deposit) as i128).unwrap().unwrap();
            prop_assert!((after - before).abs() <= 1, "{before} -> {after}");
        }

        #[test]
        fn redeem_pays_at_most_the_equity_and_keeps_leverage(
            equity in 0u64..=u64::MAX / 2, supply in 1u64..=u64::MAX / 2, frac in 1u64..=1000, lev in prop::sample::select(vec![-10_000i64, 30_000]),
        ) {
            let base = base_for_notional_toward_zero(target_notional_toward_zero(lev, equity as i128).unwrap(), P).unwrap();
            let shares = (supply as u128 * frac as u128 / 1000).max(1) as u64;
            let book = TokenBook { equity, supply, base, target_leverage_bps: lev };
            let r = quote_redeem(&book, P, 0, shares, 10, 10).unwrap();
            prop_assert!(r.gross <= equity);
            prop_assert!(r.collateral_out <= r.gross);
            let rem = equity - r.gross;
            if shares < supply && rem > 1_000_000 && equity > 1_000_000 {
                let l0 = leverage_bps(base, P, equity as i128).unwrap().unwrap();
                let l1 = leverage_bps(base + r.delta_base, P, rem as i128).unwrap().unwrap();
                prop_assert!((l1 - l0).abs() <= 2, "{l0} -> {l1}");
            }
        }

        #[test]
        fn u64_max_amounts_quote_without_overflow(amount in prop::sample::select(vec![1u64, u64::MAX]), supply in prop::sample::select(vec![0u64, 1, u64::MAX]), equity in prop::sample::select(vec![0u64, 1, u64::MAX])) {
            let book = TokenBook { equity, supply, base: 0, target_leverage_bps: 30_000 };
            // Either a quote or a clean overflow error, never a panic.
            match quote_mint(&book, P, 0, amount, 10, 10) {
                Ok(q) => prop_assert_eq!(q.net_deposit as u128 + q.mint_fee as u128 + q.trade_fee as u128, amount as u128),
                Err(e) => prop_assert_eq!(e, MathError::Overflow),
            }
            if supply > 0 {
                let r = quote_redeem(&book, P, 0, supply, 10, 10).unwrap();
                prop_assert_eq!(r.collateral_out as u128 + r.redeem_fee as u128 + r.trade_fee as u128, r.gross as u128);
                prop_assert!(r.gross <= equity);
            }
        }
    }
}
