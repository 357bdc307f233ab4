//! Settlement of a token's perp position against the LP pool at the oracle price.
//!
//! Each mint and redeem execution and each rebalance first settles: unrealised PnL and the
//! charge (funding and borrow, [`super::funding`]) accrued since the last
//! settlement move between the token vault and the pool vault as one token transfer, and the position's cost is re-marked to the
//! current value. After settlement a token's equity is exactly its vault balance
//! minus the protocol fees it holds for the treasury.

use super::funding::{borrow_part_floor, charge_ceil_prepaid};
use super::position::notional_floor;
use super::{to_u64, MathError, MathResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettleInput {
    pub base: i128,
    /// Notional at the last settlement (what the position is marked at).
    pub cost: i128,
    pub price: u128,
    /// The position's side's charge index now and at its last settlement.
    pub index: i128,
    pub index_snapshot: i128,
    /// Charge prepaid at the last settlement (× INDEX_SCALE).
    pub prepaid: u64,
    /// The side's borrow-only index now and at the last settlement (to split
    /// the charge into borrow and funding).
    pub borrow_index: u128,
    pub borrow_snapshot: u128,
    pub vault_amount: u64,
    pub fees_owed: u64,
    /// Collateral the pool vault holds to pay winners.
    pub pool_amount: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettleOutcome {
    /// New mark (cost) of the position.
    pub value: i128,
    /// value − cost.
    pub pnl: i128,
    /// Funding and borrow charged since the last settlement, rounded up
    /// (negative: the token receives).
    pub charge: i128,
    /// Of the charge: borrow (rounded down) and funding (the rest, signed).
    pub borrow_fee: u64,
    pub funding_fee: i128,
    /// Charge prepaid, carried to the next settlement.
    pub prepaid: u64,
    /// Collateral to move: positive pool → token vault, negative token vault → pool.
    pub transfer: i128,
    /// Profit the pool could not pay (it held less than owed).
    pub pool_shortfall: u64,
    /// Loss beyond everything the token vault held: bad debt for the
    /// insurance fund, then the LPs.
    pub bad_debt: u64,
    /// Of a wipe's loss: what the token's equity and its protocol fees owed paid.
    pub by_equity: u64,
    pub by_fees_owed: u64,
    /// The loss reached the token's equity: the token is wiped.
    pub wiped: bool,
    /// Protocol fees the token still holds after settlement.
    pub fees_owed: u64,
    /// Equity after settlement (vault − fees owed).
    pub equity: u64,
}

/// Settle a position. Losses are paid first from the token's equity, then from
/// the protocol fees it holds (the pool is senior to the treasury); what is left
/// is bad debt (the insurance fund's, then the LPs'). A loss that takes all
/// equity wipes the token.
pub fn settle(i: &SettleInput) -> MathResult<SettleOutcome> {
    let equity_before = i.vault_amount.checked_sub(i.fees_owed).ok_or(MathError::InvalidInput)?;
    let value = notional_floor(i.base, i.price)?;
    let pnl = value.checked_sub(i.cost).ok_or(MathError::Overflow)?;
    let abs = i.cost.unsigned_abs();
    let charge = charge_ceil_prepaid(abs, i.index, i.index_snapshot, i.prepaid)?;
    let borrow_fee = to_u64(borrow_part_floor(abs, i.borrow_index, i.borrow_snapshot)?)?;
    let funding_fee = charge.fee.checked_sub(i128::from(borrow_fee)).ok_or(MathError::Overflow)?;
    let net = pnl.checked_sub(charge.fee).ok_or(MathError::Overflow)?;
    let mut out = SettleOutcome {
        value,
        pnl,
        charge: charge.fee,
        borrow_fee,
        funding_fee,
        prepaid: charge.prepaid,
        transfer: 0,
        pool_shortfall: 0,
        bad_debt: 0,
        by_equity: 0,
        by_fees_owed: 0,
        wiped: false,
        fees_owed: i.fees_owed,
        equity: equity_before,
    };
    if net >= 0 {
        let owed = to_u64(net).unwrap_or(u64::MAX);
        let paid = owed.min(i.pool_amount);
        out.transfer = i128::from(paid);
        out.pool_shortfall = to_u64(net.checked_sub(i128::from(paid)).ok_or(MathError::Overflow)?)?;
        // Re-mark only what was realised: profit the pool could not pay stays
        // unrealised (paid later if the pool recovers, gone if the price reverts).
        out.value = value.checked_sub(i128::from(out.pool_shortfall)).ok_or(MathError::Overflow)?;
        out.equity = equity_before.checked_add(paid).ok_or(MathError::Overflow)?;
    } else {
        let loss = net.unsigned_abs();
        if loss < u128::from(equity_before) {
            out.transfer = net;
            out.equity = equity_before.checked_sub(to_u64(loss)?).ok_or(MathError::Overflow)?;
        } else {
            let paid = loss.min(u128::from(i.vault_amount)) as u64;
            out.transfer = i128::from(paid).checked_neg().ok_or(MathError::Overflow)?;
            out.bad_debt = to_u64(loss.checked_sub(u128::from(paid)).ok_or(MathError::Overflow)?).unwrap_or(u64::MAX);
            out.fees_owed = i.vault_amount.checked_sub(paid).ok_or(MathError::Overflow)?;
            out.by_equity = equity_before;
            out.by_fees_owed = paid.checked_sub(equity_before).ok_or(MathError::Overflow)?;
            out.equity = 0;
            out.wiped = true;
            out.value = 0;
            out.prepaid = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::math::PRICE_SCALE;
    use proptest::prelude::*;

    const P: u128 = 100 * 1_000_000 * PRICE_SCALE;

    fn input(base: i128, cost: i128, price: u128, vault: u64, fees: u64) -> SettleInput {
        SettleInput { base, cost, price, index: 0, index_snapshot: 0, prepaid: 0, borrow_index: 0, borrow_snapshot: 0, vault_amount: vault, fees_owed: fees, pool_amount: u64::MAX }
    }

    #[test]
    fn a_profit_is_paid_by_the_pool() {
        // 30 units long from 100 to 110: +300 USDC
        let o = settle(&input(30_000_000_000, 3_000_000_000, P * 110 / 100, 1_000_000_000, 0)).unwrap();
        assert_eq!(o.transfer, 300_000_000);
        assert_eq!(o.equity, 1_300_000_000);
        assert!(!o.wiped);
    }

    #[test]
    fn a_loss_beyond_equity_wipes_the_token_and_the_pool_absorbs_the_rest() {
        // 30 units long from 100 to 60: −1,200 USDC against 1,000 equity + 5 fees
        let o = settle(&input(30_000_000_000, 3_000_000_000, P * 60 / 100, 1_005_000_000, 5_000_000)).unwrap();
        assert!(o.wiped);
        assert_eq!(o.transfer, -1_005_000_000);
        assert_eq!(o.bad_debt, 195_000_000);
        assert_eq!(o.fees_owed, 0);
        assert_eq!(o.equity, 0);
    }

    #[test]
    fn the_pool_pays_no_more_than_it_holds() {
        let mut i = input(30_000_000_000, 3_000_000_000, P * 2, 1_000_000_000, 0);
        i.pool_amount = 100;
        let o = settle(&i).unwrap();
        assert_eq!(o.transfer, 100);
        assert_eq!(o.pool_shortfall, 3_000_000_000 - 100);
        // The unpaid profit stays unrealised: the new mark is cost + what was paid.
        assert_eq!(o.value, 3_000_000_000 + 100);
    }

    proptest! {
        #[test]
        fn settlement_conserves_collateral(
            base in -(1i128 << 60)..(1i128 << 60), p0 in 1_000_000u128..(1u128 << 60), p1 in 1_000_000u128..(1u128 << 60),
            vault in any::<u64>(), fees_frac in 0u64..=100, idx in -(1i128 << 50)..(1i128 << 60), bidx in 0u128..(1u128 << 50), prepaid in 0u64..1_000_000_000_000_000,
        ) {
            let fees = vault / 100 * fees_frac / 100;
            let cost = notional_floor(base, p0).unwrap();
            let i = SettleInput { base, cost, price: p1, index: idx, index_snapshot: 0, prepaid, borrow_index: bidx, borrow_snapshot: 0, vault_amount: vault, fees_owed: fees, pool_amount: u64::MAX / 2 };
            if let Ok(o) = settle(&i) {
                // The token vault never sends more than it holds, and after settlement
                // vault = equity + fees owed exactly.
                prop_assert!(o.transfer >= -(vault as i128));
                let vault_after = vault as i128 + o.transfer;
                prop_assert_eq!(vault_after, o.equity as i128 + o.fees_owed as i128);
                // Every unit of loss is either paid or recorded as bad debt.
                if o.transfer < 0 {
                    prop_assert_eq!((-o.transfer) as u128 + o.bad_debt as u128, (o.charge - o.pnl) as u128);
                }
                if o.bad_debt > 0 { prop_assert!(o.wiped); prop_assert_eq!(o.by_equity as u128 + o.by_fees_owed as u128 + o.bad_debt as u128, (o.charge - o.pnl) as u128); }
                if o.wiped { prop_assert_eq!(o.equity, 0); }
                prop_assert_eq!(o.charge, o.funding_fee + o.borrow_fee as i128);
                // The prepaid remainder stays below one unit of collateral (× INDEX_SCALE);
                // with it, the charge is the exact |cost| × Δindex less the old prepaid, rounded up.
                prop_assert!(u128::from(o.prepaid) < crate::math::INDEX_SCALE);
                if !o.wiped {
                    let exact = cost.unsigned_abs() as i128 * idx - prepaid as i128;
                    prop_assert_eq!(o.charge * crate::math::INDEX_SCALE as i128 - o.prepaid as i128, exact);
                }
            }
        }
    }
}
