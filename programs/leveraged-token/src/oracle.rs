//! Oracle reads: Pyth legacy price accounts (pyth-sdk-solana) and Pyth pull
//! `PriceUpdateV2` accounts (borsh), selected by the market's oracle kind.
//! Every guard fails with its own error.

use anchor_lang::prelude::*;
use pyth_sdk_solana::state::{load_price_account, GenericPriceAccount, PriceStatus};

use crate::constants::{PYTH_LEGACY_DEVNET, PYTH_LEGACY_MAINNET, PYTH_RECEIVER};
use crate::errors::ErrorCode;
use crate::math::price::{conf_bps_ceil, normalize_price, NormalizedPrice};
use crate::state::{Market, OracleKind};

/// The legacy price account layout with 32 publisher components.
pub type LegacyPriceAccount = GenericPriceAccount<32, ()>;

/// Anchor discriminator of the receiver's `PriceUpdateV2` (sha256("account:PriceUpdateV2")[..8]).
pub const PRICE_UPDATE_V2_DISCRIMINATOR: [u8; 8] = [34, 241, 35, 99, 157, 126, 244, 205];

/// Verification level of a pull update (pyth_solana_receiver_sdk layout).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationLevel {
    Partial { num_signatures: u8 },
    Full,
}

/// Pyth price message (pythnet_sdk layout).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceFeedMessage {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub exponent: i32,
    pub publish_time: i64,
    pub prev_publish_time: i64,
    pub ema_price: i64,
    pub ema_conf: u64,
}

/// Body of a `PriceUpdateV2` account after its 8-byte discriminator.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceUpdateV2 {
    pub write_authority: Pubkey,
    pub verification_level: VerificationLevel,
    pub price_message: PriceFeedMessage,
    pub posted_slot: u64,
}

/// How far ahead of the cluster clock a pull update's `publish_time` may be
/// (validator clocks drift a few seconds; anything beyond is refused).
pub const MAX_FUTURE_SECS: i64 = 10;

/// Read and check the market's oracle, refuse a price older than the last one
/// the market used (so nobody can pick an older update inside the age window
/// after a newer one landed), and record its publish time.
pub fn read_fresh_price(market: &mut Market, oracle: &AccountInfo, clock: &Clock) -> Result<NormalizedPrice> {
    let (price, published) = read_price(market, oracle, clock)?;
    if published < market.last_oracle_publish {
        msg!("oracle published at {}, older than the {} this market already used", published, market.last_oracle_publish);
        return err!(ErrorCode::OraclePriceRegressed);
    }
    market.last_oracle_publish = published;
    Ok(price)
}

/// Read and check the market's oracle at `clock`: the normalised price and its
/// publish time (legacy: `pub_slot`; pull: `publish_time`).
pub fn read_price(market: &Market, oracle: &AccountInfo, clock: &Clock) -> Result<(NormalizedPrice, i64)> {
    let (price, conf, expo, published) = match market.oracle_kind {
        OracleKind::PythLegacy => read_legacy(market, oracle, clock)?,
        OracleKind::PythPull => read_pull(market, oracle, clock)?,
    };
    let p = normalize_price(price, conf, expo, market.collateral_decimals).map_err(|_| {
        msg!("oracle price {} x 10^{} does not fit the program's precision", price, expo);
        ErrorCode::OracleInvalidData
    })?;
    let width = conf_bps_ceil(&p)?;
    if width > u128::from(market.params.max_conf_bps) {
        msg!("oracle confidence {} bps of price, max {}", width, market.params.max_conf_bps);
        return err!(ErrorCode::OracleConfidenceTooWide);
    }
    Ok((p, published))
}

fn read_legacy(market: &Market, oracle: &AccountInfo, clock: &Clock) -> Result<(i64, u64, i32, i64)> {
    require_keys_eq!(*oracle.key, Pubkey::new_from_array(market.oracle_id), ErrorCode::OracleWrongAccount);
    if *oracle.owner != PYTH_LEGACY_MAINNET && *oracle.owner != PYTH_LEGACY_DEVNET {
        msg!("oracle owner {} is not a Pyth oracle program", oracle.owner);
        return err!(ErrorCode::OracleWrongOwner);
    }
    let data = oracle.try_borrow_data()?;
    // bytemuck needs the account data aligned; on-chain it is, in some hosts it may not be.
    let aligned: Vec<u64>;
    // `%` rather than `is_multiple_of`: SBF platform-tools ship an older rustc.
    #[allow(clippy::manual_is_multiple_of)]
    let bytes: &[u8] = if (data.as_ptr() as usize) % core::mem::align_of::<LegacyPriceAccount>() == 0 {
        &data
    } else {
        let mut v = vec![0u64; data.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut v)[..data.len()].copy_from_slice(&data);
        aligned = v;
        &bytemuck::cast_slice::<u64, u8>(&aligned)[..data.len()]
    };
    let acc = load_price_account::<32, ()>(bytes).map_err(|_| error!(ErrorCode::OracleInvalidData))?;
    if acc.agg.status != PriceStatus::Trading {
        return err!(ErrorCode::OracleNotTrading);
    }
    if acc.agg.price <= 0 {
        return err!(ErrorCode::OraclePriceNotPositive);
    }
    let age = clock.slot.saturating_sub(acc.agg.pub_slot);
    if age > market.params.max_age_slots {
        msg!("oracle published at slot {}, now {}: {} slots old, max {}", acc.agg.pub_slot, clock.slot, age, market.params.max_age_slots);
        return err!(ErrorCode::OracleStale);
    }
    let published = i64::try_from(acc.agg.pub_slot).map_err(|_| error!(ErrorCode::OracleInvalidData))?;
    Ok((acc.agg.price, acc.agg.conf, acc.expo, published))
}

fn read_pull(market: &Market, oracle: &AccountInfo, clock: &Clock) -> Result<(i64, u64, i32, i64)> {
    if *oracle.owner != PYTH_RECEIVER {
        msg!("oracle owner {} is not the Pyth receiver", oracle.owner);
        return err!(ErrorCode::OracleWrongOwner);
    }
    let data = oracle.try_borrow_data()?;
    if data.len() < 8 || data[..8] != PRICE_UPDATE_V2_DISCRIMINATOR {
        return err!(ErrorCode::OracleInvalidData);
    }
    let mut body: &[u8] = &data[8..];
    let update = PriceUpdateV2::deserialize(&mut body).map_err(|_| error!(ErrorCode::OracleInvalidData))?;
    if update.verification_level != VerificationLevel::Full {
        return err!(ErrorCode::OracleNotFullyVerified);
    }
    let m = &update.price_message;
    if m.feed_id != market.oracle_id {
        return err!(ErrorCode::OracleWrongFeed);
    }
    if m.price <= 0 {
        return err!(ErrorCode::OraclePriceNotPositive);
    }
    if m.publish_time > clock.unix_timestamp.saturating_add(MAX_FUTURE_SECS) {
        msg!("oracle publish_time {} is ahead of the cluster clock {}", m.publish_time, clock.unix_timestamp);
        return err!(ErrorCode::OracleTimestampInFuture);
    }
    let age = clock.unix_timestamp.saturating_sub(m.publish_time);
    if age > market.params.max_age_secs {
        msg!("oracle published at {}, now {}: {} s old, max {}", m.publish_time, clock.unix_timestamp, age, market.params.max_age_secs);
        return err!(ErrorCode::OracleStale);
    }
    Ok((m.price, m.conf, m.exponent, m.publish_time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn pull_discriminator_is_anchors_hash_of_the_account_name() {
        let h = Sha256::digest(b"account:PriceUpdateV2");
        assert_eq!(&h[..8], &PRICE_UPDATE_V2_DISCRIMINATOR);
    }

    #[test]
    fn pull_update_layout_is_133_bytes_after_the_discriminator() {
        let u = PriceUpdateV2 {
            write_authority: Pubkey::default(),
            verification_level: VerificationLevel::Full,
            price_message: PriceFeedMessage { feed_id: [1; 32], price: 1, conf: 1, exponent: -8, publish_time: 1, prev_publish_time: 0, ema_price: 1, ema_conf: 1 },
            posted_slot: 1,
        };
        // 32 + 1 (Full) + 84 + 8; Partial adds one byte for num_signatures.
        let mut v = Vec::new();
        u.serialize(&mut v).unwrap();
        assert_eq!(v.len(), 32 + 1 + 84 + 8);
    }
}
