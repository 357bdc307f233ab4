//! The market's oracle read client-side, with the program's checks, so quotes,
//! `status` and `--simulate` use the price the program would use. It mirrors
//! `leveraged_token::oracle::read_price` without its `msg!` logging (which a
//! client must not call) and reports soft problems (stale, too wide,
//! regressed) next to the price instead of failing.

use anchor_lang::prelude::Pubkey;
use leveraged_token::constants::{PYTH_LEGACY_DEVNET, PYTH_LEGACY_MAINNET, PYTH_RECEIVER};
use leveraged_token::errors::ErrorCode;
use leveraged_token::math::price::{conf_bps_ceil, normalize_price, NormalizedPrice};
use leveraged_token::oracle::{PriceUpdateV2, VerificationLevel, MAX_FUTURE_SECS, PRICE_UPDATE_V2_DISCRIMINATOR};
use leveraged_token::state::{Market, OracleKind};
use pyth_sdk_solana::state::{load_price_account, PriceStatus};
use solana_account::Account;

/// The clock fields the checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockView {
    pub slot: u64,
    pub unix_timestamp: i64,
}

/// Address of the Clock sysvar.
pub const CLOCK_SYSVAR: Pubkey = anchor_lang::prelude::pubkey!("SysvarC1ock11111111111111111111111111111111");

impl ClockView {
    /// Decode the Clock sysvar's bincode layout: slot, epoch_start_timestamp,
    /// epoch, leader_schedule_epoch, unix_timestamp (all 8 bytes, LE).
    pub fn from_sysvar(data: &[u8]) -> Option<Self> {
        let word = |i: usize| data.get(8 * i..8 * i + 8).map(|b| <[u8; 8]>::try_from(b).expect("8 bytes"));
        Some(Self { slot: u64::from_le_bytes(word(0)?), unix_timestamp: i64::from_le_bytes(word(4)?) })
    }
}

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
pub fn read_oracle(market: &Market, key: &Pubkey, account: Option<&Account>, clock: &ClockView) -> Result<OracleReading, ErrorCode> {
    let acc = account.ok_or(ErrorCode::OracleInvalidData)?;
    let (price, conf, expo, published, not_trading, age, max_age, unit) = match market.oracle_kind {
        OracleKind::PythLegacy => {
            if *key != Pubkey::new_from_array(market.oracle_id) {
                return Err(ErrorCode::OracleWrongAccount);
            }
            if acc.owner != PYTH_LEGACY_MAINNET && acc.owner != PYTH_LEGACY_DEVNET {
                return Err(ErrorCode::OracleWrongOwner);
            }
            // bytemuck needs the data aligned: copy into u64 words.
            let mut words = vec![0u64; acc.data.len().div_ceil(8)];
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
            bytes[..acc.data.len()].copy_from_slice(&acc.data);
            let a = load_price_account::<32, ()>(&bytes[..acc.data.len()]).map_err(|_| ErrorCode::OracleInvalidData)?;
            if a.agg.price <= 0 {
                return Err(ErrorCode::OraclePriceNotPositive);
            }
            let age = clock.slot.saturating_sub(a.agg.pub_slot) as i64;
            let published = i64::try_from(a.agg.pub_slot).map_err(|_| ErrorCode::OracleInvalidData)?;
            (a.agg.price, a.agg.conf, a.expo, published, a.agg.status != PriceStatus::Trading, age, market.params.max_age_slots as i64, "slots")
        }
        OracleKind::PythPull => {
            if acc.owner != PYTH_RECEIVER {
                return Err(ErrorCode::OracleWrongOwner);
            }
            if acc.data.len() < 8 || acc.data[..8] != PRICE_UPDATE_V2_DISCRIMINATOR {
                return Err(ErrorCode::OracleInvalidData);
            }
            let u: PriceUpdateV2 = anchor_lang::AnchorDeserialize::deserialize(&mut &acc.data[8..]).map_err(|_| ErrorCode::OracleInvalidData)?;
            if u.verification_level != VerificationLevel::Full {
                return Err(ErrorCode::OracleNotFullyVerified);
            }
            let m = u.price_message;
            if m.feed_id != market.oracle_id {
                return Err(ErrorCode::OracleWrongFeed);
            }
            if m.price <= 0 {
                return Err(ErrorCode::OraclePriceNotPositive);
            }
            if m.publish_time > clock.unix_timestamp.saturating_add(MAX_FUTURE_SECS) {
                return Err(ErrorCode::OracleTimestampInFuture);
            }
            let age = clock.unix_timestamp.saturating_sub(m.publish_time);
            (m.price, m.conf, m.exponent, m.publish_time, false, age, market.params.max_age_secs, "s")
        }
    };
    let p = normalize_price(price, conf, expo, market.collateral_decimals).map_err(|_| ErrorCode::OracleInvalidData)?;
    let conf_bps = conf_bps_ceil(&p).map_err(|_| ErrorCode::MathOverflow)?;
    let problem = if not_trading {
        Some(ErrorCode::OracleNotTrading)
    } else if age > max_age {
        Some(ErrorCode::OracleStale)
    } else if conf_bps > u128::from(market.params.max_conf_bps) {
        Some(ErrorCode::OracleConfidenceTooWide)
    } else if published < market.last_oracle_publish {
        Some(ErrorCode::OraclePriceRegressed)
    } else {
        None
    };
    Ok(OracleReading { price: p, published, age, age_unit: unit, conf_bps, problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_sysvar_layout() {
        let mut d = Vec::new();
        for v in [77u64, 1, 2, 3] {
            d.extend(v.to_le_bytes());
        }
        d.extend(1_700_000_000i64.to_le_bytes());
        assert_eq!(ClockView::from_sysvar(&d), Some(ClockView { slot: 77, unix_timestamp: 1_700_000_000 }));
        assert_eq!(ClockView::from_sysvar(&d[..30]), None);
    }
}
