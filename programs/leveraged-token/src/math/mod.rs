//! Pure money math: no Solana types, no floats, checked integer arithmetic.
//!
//! This module is the single source of truth for NAV, shares, leverage, trade
//! size, fees, borrow accrual, settlement and the rebalance gate. The on-chain
//! program, the client SDK, the keeper and the replay all call these functions.
//!
//! # Fixed-point conventions
//! | quantity | type | unit |
//! |---|---|---|
//! | collateral amounts, equity | `u64` / `i128` | collateral native units (mint decimals) |
//! | price | `u128` | collateral native units per whole base unit × [`PRICE_SCALE`] (1e12) |
//! | base size | `i128` | whole base units × [`BASE_SCALE`] (1e9), signed (negative = short) |
//! | leverage | `i64` | basis points of equity, signed (30000 = 3x long) |
//! | borrow index | `u128` | cumulative fee per unit of notional × [`INDEX_SCALE`] (1e15) |
//!
//! Notional = base × price / (BASE_SCALE × PRICE_SCALE).
//!
//! # Rounding
//! Every function that rounds says so in its name (`_floor`, `_ceil`,
//! `_toward_zero`) and is called so that the protocol (the vaults) never pays
//! out a fractional unit it does not hold: amounts paid out round down, fees and
//! amounts owed round up.

pub mod fees;
pub mod fixed;
pub mod funding;
pub mod pool;
pub mod position;
pub mod price;
pub mod rebalance;
pub mod settle;
pub mod shares;

pub use fixed::*;

/// Error of the pure math: the program maps it to `ErrorCode::MathOverflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathError {
    /// An intermediate or the result does not fit its type.
    Overflow,
    /// Division by zero.
    DivideByZero,
    /// An input outside the domain the function documents.
    InvalidInput,
}

pub type MathResult<T> = Result<T, MathError>;
