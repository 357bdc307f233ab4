//! The market's oracle read client-side with the program's own check
//! (`leveraged_token::oracle::sample_price` + `OracleSample::check`), so
//! quotes, `status` and `--simulate` use the price the program would use.
//! Soft problems (not trading, stale, too wide, regressed) are reported next
//! to the price instead of failing, so `status` can still show it.

use anchor_lang::prelude::{Clock, Pubkey};
use leveraged_token::errors::ErrorCode;
use leveraged_token::math::price::{conf_bps_ceil, NormalizedPrice};
use leveraged_token::oracle::{sample_price, PriceIssue};
use leveraged_token::state::{Market, OracleKind};
use solana_account::Account;

/// A price the program would accept, or accept but for `problem`.
#[derive(Debug, Clone, Copy)]
pub struct OracleReading {
    pub price: NormalizedPrice,
    /// Legacy: publish slot; pull: publish unix time.
    pub published: i64,
    /// Age in slots (legacy) or seconds (pull).
    pub age: i64,
    pub age_unit: &'static str,
    /// Confidence width in bps of price.
    pub conf_bps: u128,
    /// A check the program would fail now (stale, too wide, regressed, not trading).
    pub problem: Option<ErrorCode>,
}

/// Read the oracle account `key` of `market` as the program would at `clock`.
/// Errors are the checks after which no price can be shown at all.
pub fn read_oracle(market: &Market, key: &Pubkey, account: Option<&Account>, clock: &Clock) -> Result<OracleReading, ErrorCode> {
    let acc = account.ok_or(PriceIssue::Missing.error_code())?;
    let spec = market.oracle_spec();
    let sample = sample_price(&spec, key, &acc.owner, &acc.data, clock).map_err(|i| i.error_code())?;
    if sample.price <= 0 {
        return Err(ErrorCode::OraclePriceNotPositive);
    }
    if sample.in_future.is_some() {
        return Err(ErrorCode::OracleTimestampInFuture);
    }
    let price = sample.normalized(spec.collateral_decimals).map_err(|i| i.error_code())?;
    let conf_bps = conf_bps_ceil(&price).map_err(|_| ErrorCode::MathOverflow)?;
    let age_unit = match market.oracle_kind {
        OracleKind::PythLegacy => "slots",
        OracleKind::PythPull => "s",
    };
    let problem = sample.check(&spec).err().map(|i| i.error_code());
    Ok(OracleReading { price, published: sample.published, age: sample.age, age_unit, conf_bps, problem })
}
