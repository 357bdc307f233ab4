//! Program-side glue shared by the mint and redeem executions and rebalance: settle a token's
//! position against the pool (state only; a wipe's bad debt goes to the
//! insurance fund, then the LPs), value the pool on every token, apply a trade, and sign transfers
//! as a token or market PDA. The accounts they share, and the one SPL Token
//! transfer that moves a settlement's collateral, are
//! [`PositionAccounts`](crate::instructions::PositionAccounts).

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Token, Transfer};

use crate::constants::{MARKET_SEED, TOKEN_SEED};
use crate::errors::ErrorCode;
use crate::events::{LossAbsorbed, PositionSettled, TokenWiped};
use crate::math::fees::{streaming_fee_floor_carry, CarriedFee};
use crate::math::fixed::mul_div_signed_toward_zero;
use crate::math::pool::{pool_value, PositionTerms, Side};
use crate::math::position::notional_floor;
use crate::math::price::NormalizedPrice;
use crate::math::settle::{settle, SettleInput, SettleOutcome};
use crate::math::{MathError, MathResult};
use crate::state::{Indices, LeveragedToken, Market, TokenStatus};

/// The balances and time a settlement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettleAt {
    pub vault_amount: u64,
    pub pool_amount: u64,
    pub insurance_amount: u64,
    pub slot: u64,
    /// Unix time (funding and borrow accrue on it).
    pub now: i64,
}

/// What a settlement left behind.
#[derive(Debug, Clone, Copy)]
pub struct Settlement {
    /// Collateral to move: positive pool → token vault, negative token vault → pool.
    pub transfer: i128,
    /// Equity after settlement and streaming fee.
    pub equity: u64,
    /// This settlement wiped the token.
    pub wiped: bool,
    /// Of the bad debt: what the insurance fund covers (first its share owed
    /// and not yet moved, then `insurance_transfer` from its vault to the
    /// pool vault) and what is left to the LPs.
    pub by_insurance: u64,
    pub insurance_transfer: u64,
    pub by_lps: u64,
}

/// What settling a token now would do, computed without changing anything:
/// the instructions apply it ([`settle_position`]); the SDK's decide step, the
/// keeper, `lt` and the replay read it, so a client never settles differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementPreview {
    /// The market's indices accrued to the time.
    pub indices: Indices,
    /// PnL, charge (funding and borrow), transfer, bad debt and equity before the streaming fee.
    pub outcome: SettleOutcome,
    /// Streaming fee charged since the token's last settlement (0 if wiped),
    /// rounded down, and the remainder carried to the next one.
    pub streaming_fee: u64,
    pub streaming_fee_carry: u64,
    /// Equity after settlement and streaming fee (0 if wiped).
    pub equity: u64,
}

/// The settlement math's view of `token` at `price` with the market's
/// `indices` (the settlement and the honest pool value both use it).
pub fn settle_input(token: &LeveragedToken, indices: &Indices, price: u128, vault_amount: u64, pool_amount: u64) -> SettleInput {
    let (index, borrow_index) = Market::side_indices(indices, token.base >= 0);
    SettleInput {
        base: token.base,
        cost: token.cost,
        price,
        index,
        index_snapshot: token.index_snapshot,
        prepaid: token.charge_prepaid,
        borrow_index,
        borrow_snapshot: token.borrow_snapshot,
        vault_amount,
        fees_owed: token.fees_owed,
        pool_amount,
    }
}

/// Preview the settlement of `token` at `price` and `at` (pure).
pub fn preview_settlement(market: &Market, token: &LeveragedToken, price: &NormalizedPrice, at: &SettleAt) -> MathResult<SettlementPreview> {
    let indices = market.indices_at(at.now, at.pool_amount)?;
    let outcome = settle(&settle_input(token, &indices, price.price, at.vault_amount, at.pool_amount))?;
    let streaming = if outcome.wiped {
        CarriedFee { fee: 0, carry: 0 }
    } else {
        streaming_fee_floor_carry(outcome.equity, token.params.streaming_fee_bps, at.slot.saturating_sub(token.last_fee_slot), token.streaming_fee_carry)?
    };
    let equity = if outcome.wiped { 0 } else { outcome.equity.checked_sub(streaming.fee).ok_or(MathError::Overflow)? };
    Ok(SettlementPreview { indices, outcome, streaming_fee: streaming.fee, streaming_fee_carry: streaming.carry, equity })
}

/// The honest pool value ([`pool_value`]) of `market` at `price`: every
/// token of the market with its vault's balance, at `now`.
pub fn market_pool_value(market: &Market, tokens: &[(&LeveragedToken, u64)], pool_amount: u64, price: &NormalizedPrice, side: Side, now: i64) -> MathResult<u128> {
    let indices = market.indices_at(now, pool_amount)?;
    let inputs: Vec<SettleInput> = tokens.iter().map(|(t, vault)| settle_input(t, &indices, price.price, *vault, u64::MAX)).collect();
    pool_value(market.lp_cash(pool_amount), &inputs, price.price, price.conf, side)
}

/// Settle the token's PnL and charge at `price`, charge the streaming fee
/// and re-mark the position: [`apply_settlement`], then [`emit_settlement`].
/// Updates state only; the caller moves `transfer` (plus any trade fee) with
/// [`PositionAccounts::move_collateral`](crate::instructions::PositionAccounts::move_collateral)
/// and the insurance's part of a bad debt with `PositionAccounts::finish`.
pub fn settle_position(market: &mut Market, token: &mut LeveragedToken, token_key: Pubkey, price: &NormalizedPrice, at: &SettleAt) -> Result<Settlement> {
    let (s, p) = apply_settlement(market, token, price, at)?;
    emit_settlement(token_key, token.market, price, &p, &s)?;
    Ok(s)
}

/// Preview ([`preview_settlement`]) and apply the preview to the market and
/// token, without emitting: a request's execution settles a copy, and
/// commits it (and emits) only if the request fills.
pub fn apply_settlement(market: &mut Market, token: &mut LeveragedToken, price: &NormalizedPrice, at: &SettleAt) -> Result<(Settlement, SettlementPreview)> {
    let p = preview_settlement(market, token, price, at)?;
    let o = &p.outcome;
    market.accrue(at.now, at.pool_amount)?;
    let mut agg = market.aggregates();
    let new_base = if o.wiped { 0 } else { token.base };
    let (index, borrow) = Market::side_indices(&p.indices, new_base >= 0);
    let new = PositionTerms { base: new_base, cost: o.value, index_snapshot: index, prepaid: o.prepaid };
    agg.replace(token.terms(), new)?;
    market.set_aggregates(&agg);
    token.base = new_base;
    token.cost = o.value;
    token.index_snapshot = index;
    token.borrow_snapshot = borrow;
    token.charge_prepaid = o.prepaid;
    token.fees_owed = o.fees_owed.checked_add(p.streaming_fee).ok_or(ErrorCode::MathOverflow)?;
    token.total_borrow_fees = token.total_borrow_fees.saturating_add(o.borrow_fee);
    token.total_funding = token.total_funding.saturating_add(i64::try_from(o.funding_fee).unwrap_or(if o.funding_fee > 0 { i64::MAX } else { i64::MIN }));
    token.streaming_fee_carry = p.streaming_fee_carry;
    token.last_fee_slot = at.slot;
    let mut s = Settlement { transfer: o.transfer, equity: p.equity, wiped: o.wiped, by_insurance: 0, insurance_transfer: 0, by_lps: 0 };
    if o.wiped {
        token.status = TokenStatus::Wiped;
        token.chunk_in_progress = false;
        token.bad_debt = token.bad_debt.saturating_add(o.bad_debt);
        market.bad_debt_total = market.bad_debt_total.saturating_add(o.bad_debt);
        // The order of losses past the token: the insurance fund (its share
        // owed in the pool vault first, then its vault), then the LPs.
        let from_owed = o.bad_debt.min(market.insurance_owed);
        let from_vault = o.bad_debt.saturating_sub(from_owed).min(at.insurance_amount);
        market.insurance_owed = market.insurance_owed.checked_sub(from_owed).ok_or(ErrorCode::MathOverflow)?;
        s.by_insurance = from_owed.checked_add(from_vault).ok_or(ErrorCode::MathOverflow)?;
        s.insurance_transfer = from_vault;
        s.by_lps = o.bad_debt.checked_sub(s.by_insurance).ok_or(ErrorCode::MathOverflow)?;
        market.insurance_covered_total = market.insurance_covered_total.saturating_add(s.by_insurance);
    }
    Ok((s, p))
}

/// The events of an applied settlement: [`TokenWiped`] and [`LossAbsorbed`]
/// if it wiped the token, and [`PositionSettled`].
pub fn emit_settlement(token_key: Pubkey, market_key: Pubkey, price: &NormalizedPrice, p: &SettlementPreview, s: &Settlement) -> Result<()> {
    let o = &p.outcome;
    if o.wiped {
        // The loss is the charge less the (negative) PnL; the token vault paid `−transfer` of it.
        let loss = o.charge.checked_sub(o.pnl).ok_or(ErrorCode::MathOverflow)?.unsigned_abs();
        let paid_to_pool = o.transfer.checked_neg().and_then(|paid| u64::try_from(paid).ok()).ok_or(ErrorCode::MathOverflow)?;
        crate::emit_event!(TokenWiped { token: token_key, price: price.price, loss, paid_to_pool, bad_debt: o.bad_debt });
        crate::emit_event!(LossAbsorbed {
            market: market_key,
            token: token_key,
            loss,
            by_equity: o.by_equity,
            by_fees_owed: o.by_fees_owed,
            by_insurance: s.by_insurance,
            by_lps: s.by_lps,
            insurance_vault_paid: s.insurance_transfer
        });
    }
    crate::emit_event!(PositionSettled {
        token: token_key,
        price: price.price,
        pnl: o.pnl,
        charge: o.charge,
        borrow_fee: o.borrow_fee,
        funding_fee: o.funding_fee,
        streaming_fee: p.streaming_fee,
        transfer: o.transfer,
        equity_after: p.equity,
    });
    Ok(())
}

/// What happens to profit the pool owed but could not pay (the "unpaid claim",
/// `notional(base) − cost` after settlement) when the position changes size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnpaidClaim {
    /// The holders stay the same (rebalance): the whole claim stays on the
    /// position, so the trade moves the cost by exactly the notional traded.
    Keep,
    /// Holders leave (redeem): the claim shrinks to the shares that stay,
    /// `claim × remaining / supply` rounded toward zero; the leavers' part of it
    /// is forfeited to the pool, never passed to the holders who stay. (By
    /// shares, not by base: the redeem's confidence haircut keeps a little more
    /// base than the leavers' fraction, and that must not carry claim with it.)
    ShrinkWithShares { remaining: u64, supply: u64 },
}

/// Change the token's base by `delta_base` at `price`, re-marking its cost and
/// keeping the market aggregates in step. Call right after settlement (the
/// cost is then the mark less any unpaid claim).
pub fn apply_trade(market: &mut Market, token: &mut LeveragedToken, delta_base: i128, price: u128, rule: UnpaidClaim) -> Result<()> {
    let new_base = token.base.checked_add(delta_base).ok_or(ErrorCode::MathOverflow)?;
    let new_cost = if new_base == 0 {
        0
    } else {
        let claim = unpaid_claim(token, price)?;
        let kept = match rule {
            UnpaidClaim::Keep => claim,
            UnpaidClaim::ShrinkWithShares { supply: 0, .. } => 0,
            UnpaidClaim::ShrinkWithShares { remaining, supply } => {
                require!(remaining <= supply, ErrorCode::MathOverflow);
                mul_div_signed_toward_zero(claim, u128::from(remaining), u128::from(supply))?
            }
        };
        notional_floor(new_base, price)?.checked_sub(kept).ok_or(ErrorCode::MathOverflow)?
    };
    // Right after settlement the market is accrued: a position that changes
    // side (through zero) takes its new side's indices.
    let indices = Indices { long: market.long_index, short: market.short_index, long_borrow: market.long_borrow_index, short_borrow: market.short_borrow_index };
    let (index, borrow) = if (new_base >= 0) == (token.base >= 0) { (token.index_snapshot, token.borrow_snapshot) } else { Market::side_indices(&indices, new_base >= 0) };
    let mut agg = market.aggregates();
    agg.replace(token.terms(), PositionTerms { base: new_base, cost: new_cost, index_snapshot: index, prepaid: token.charge_prepaid })?;
    market.set_aggregates(&agg);
    token.base = new_base;
    token.cost = new_cost;
    token.index_snapshot = index;
    token.borrow_snapshot = borrow;
    Ok(())
}

/// Profit the pool owes the position but could not pay at the last settlement
/// (zero unless the pool ran short): `notional(base) − cost` at `price`.
pub fn unpaid_claim(token: &LeveragedToken, price: u128) -> Result<i128> {
    Ok(notional_floor(token.base, price)?.checked_sub(token.cost).ok_or(ErrorCode::MathOverflow)?)
}

/// Seeds of a token PDA, owned so they can be borrowed for a CPI.
pub struct TokenSigner {
    market: Pubkey,
    leverage: [u8; 4],
    bump: [u8; 1],
}

impl TokenSigner {
    pub fn new(token: &LeveragedToken) -> Self {
        Self { market: token.market, leverage: token.target_leverage_bps.to_le_bytes(), bump: [token.bump] }
    }
    pub fn seeds(&self) -> [&[u8]; 4] {
        [TOKEN_SEED, self.market.as_ref(), &self.leverage, &self.bump]
    }
}

/// Seeds of a market PDA, owned so they can be borrowed for a CPI.
pub struct MarketSigner {
    oracle_id: [u8; 32],
    collateral_mint: Pubkey,
    bump: [u8; 1],
}

impl MarketSigner {
    pub fn new(market: &Market) -> Self {
        Self { oracle_id: market.oracle_id, collateral_mint: market.collateral_mint, bump: [market.bump] }
    }
    pub fn seeds(&self) -> [&[u8]; 4] {
        [MARKET_SEED, &self.oracle_id, self.collateral_mint.as_ref(), &self.bump]
    }
}

/// SPL Token transfer signed by a PDA.
pub fn transfer_signed<'info>(token_program: &Program<'info, Token>, from: AccountInfo<'info>, to: AccountInfo<'info>, authority: AccountInfo<'info>, seeds: &[&[u8]], amount: u64) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    token::transfer(CpiContext::new_with_signer(token_program.key(), Transfer { from, to, authority }, &[seeds]), amount)
}
