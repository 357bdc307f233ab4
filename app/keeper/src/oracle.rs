//! Off-chain oracle decoding: the same checks, in the same order, as the
//! program's `oracle::read_fresh_price`, over fetched account bytes. The
//! program's function needs an `AccountInfo` and logs through `msg!` (which
//! in a host process with solana-program-test's syscall stubs installed
//! needs an invoke context), so the keeper reuses the program's *types* and
//! pure math instead: `pyth_sdk_solana::state::load_price_account::<32, ()>`
//! for legacy accounts, the program's `PriceUpdateV2` layout for pull
//! updates, then `math::price::normalize_price` and `conf_bps_ceil`.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use anchor_lang::AnchorDeserialize;
use leveraged_token::constants::{PYTH_LEGACY_DEVNET, PYTH_LEGACY_MAINNET, PYTH_RECEIVER};
use leveraged_token::math::price::{conf_bps_ceil, normalize_price, NormalizedPrice};
use leveraged_token::oracle::{PriceUpdateV2, VerificationLevel, MAX_FUTURE_SECS, PRICE_UPDATE_V2_DISCRIMINATOR};
use leveraged_token::state::{Market, OracleKind};
use pyth_sdk_solana::state::{load_price_account, PriceStatus};
use solana_account::Account;

/// Pyth push-oracle program: owner of the seeds of the sponsored pull price
/// feed accounts (`[shard_id u16 LE, feed_id]`), which the receiver owns.
pub const PYTH_PUSH_ORACLE: Pubkey = anchor_lang::pubkey!("pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT");

/// The sponsored `PriceUpdateV2` account of a pull feed on shard 0 (the
/// account Pyth keeps fresh on mainnet-beta and devnet).
pub fn sponsored_feed_account(feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(&[&0u16.to_le_bytes(), feed_id], &PYTH_PUSH_ORACLE).0
}

/// Why no usable price could be read: each maps to the program error the
/// rebalance would fail with, so the keeper skips instead of paying for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceIssue {
    Missing,
    WrongAccount,
    WrongOwner(Pubkey),
    InvalidData,
    NotTrading,
    NotPositive,
    Stale { age: i64, max: i64 },
    NotFullyVerified,
    WrongFeed,
    InFuture { publish_time: i64, now: i64 },
    ConfidenceTooWide { bps: u128, max: u16 },
    /// Older than the price the market already used (`OraclePriceRegressed`).
    Regressed { published: i64, last_used: i64 },
}

impl fmt::Display for PriceIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceIssue::Missing => write!(f, "oracle account missing"),
            PriceIssue::WrongAccount => write!(f, "oracle account is not the market's"),
            PriceIssue::WrongOwner(o) => write!(f, "oracle owned by {o}, not a Pyth program"),
            PriceIssue::InvalidData => write!(f, "oracle data invalid"),
            PriceIssue::NotTrading => write!(f, "oracle status is not Trading"),
            PriceIssue::NotPositive => write!(f, "oracle price not positive"),
            PriceIssue::Stale { age, max } => write!(f, "oracle stale: {age} old, max {max}"),
            PriceIssue::NotFullyVerified => write!(f, "pull update not fully verified"),
            PriceIssue::WrongFeed => write!(f, "pull update for another feed"),
            PriceIssue::InFuture { publish_time, now } => write!(f, "pull update published at {publish_time}, ahead of the cluster clock {now}"),
            PriceIssue::ConfidenceTooWide { bps, max } => write!(f, "oracle confidence {bps} bps, max {max}"),
            PriceIssue::Regressed { published, last_used } => write!(f, "oracle published at {published}, older than the {last_used} the market used"),
        }
    }
}

/// A checked price and its publish time (legacy: slot; pull: unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OraclePrice {
    pub price: NormalizedPrice,
    pub published: i64,
}

/// Decode and check the market's oracle as the program would at `slot` /
/// `unix_timestamp`, including the "no older than last used" rule.
pub fn decode_price(market: &Market, key: &Pubkey, account: Option<&Account>, slot: u64, unix_timestamp: i64) -> Result<OraclePrice, PriceIssue> {
    let account = account.ok_or(PriceIssue::Missing)?;
    let (price, conf, expo, published) = match market.oracle_kind {
        OracleKind::PythLegacy => legacy(market, key, account, slot)?,
        OracleKind::PythPull => pull(market, account, unix_timestamp)?,
    };
    let p = normalize_price(price, conf, expo, market.collateral_decimals).map_err(|_| PriceIssue::InvalidData)?;
    let width = conf_bps_ceil(&p).map_err(|_| PriceIssue::InvalidData)?;
    if width > u128::from(market.params.max_conf_bps) {
        return Err(PriceIssue::ConfidenceTooWide { bps: width, max: market.params.max_conf_bps });
    }
    if published < market.last_oracle_publish {
        return Err(PriceIssue::Regressed { published, last_used: market.last_oracle_publish });
    }
    Ok(OraclePrice { price: p, published })
}

fn legacy(market: &Market, key: &Pubkey, account: &Account, slot: u64) -> Result<(i64, u64, i32, i64), PriceIssue> {
    if *key != Pubkey::new_from_array(market.oracle_id) {
        return Err(PriceIssue::WrongAccount);
    }
    if account.owner != PYTH_LEGACY_MAINNET && account.owner != PYTH_LEGACY_DEVNET {
        return Err(PriceIssue::WrongOwner(account.owner));
    }
    // bytemuck needs the bytes aligned: copy into a u64 buffer.
    let mut aligned = vec![0u64; account.data.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut aligned)[..account.data.len()].copy_from_slice(&account.data);
    let bytes = &bytemuck::cast_slice::<u64, u8>(&aligned)[..account.data.len()];
    let acc = load_price_account::<32, ()>(bytes).map_err(|_| PriceIssue::InvalidData)?;
    if acc.agg.status != PriceStatus::Trading {
        return Err(PriceIssue::NotTrading);
    }
    if acc.agg.price <= 0 {
        return Err(PriceIssue::NotPositive);
    }
    let age = slot.saturating_sub(acc.agg.pub_slot);
    if age > market.params.max_age_slots {
        return Err(PriceIssue::Stale { age: age as i64, max: market.params.max_age_slots as i64 });
    }
    let published = i64::try_from(acc.agg.pub_slot).map_err(|_| PriceIssue::InvalidData)?;
    Ok((acc.agg.price, acc.agg.conf, acc.expo, published))
}

fn pull(market: &Market, account: &Account, now: i64) -> Result<(i64, u64, i32, i64), PriceIssue> {
    if account.owner != PYTH_RECEIVER {
        return Err(PriceIssue::WrongOwner(account.owner));
    }
    let data = &account.data;
    if data.len() < 8 || data[..8] != PRICE_UPDATE_V2_DISCRIMINATOR {
        return Err(PriceIssue::InvalidData);
    }
    let update = PriceUpdateV2::deserialize(&mut &data[8..]).map_err(|_| PriceIssue::InvalidData)?;
    if update.verification_level != VerificationLevel::Full {
        return Err(PriceIssue::NotFullyVerified);
    }
    let m = &update.price_message;
    if m.feed_id != market.oracle_id {
        return Err(PriceIssue::WrongFeed);
    }
    if m.price <= 0 {
        return Err(PriceIssue::NotPositive);
    }
    if m.publish_time > now.saturating_add(MAX_FUTURE_SECS) {
        return Err(PriceIssue::InFuture { publish_time: m.publish_time, now });
    }
    let age = now.saturating_sub(m.publish_time);
    if age > market.params.max_age_secs {
        return Err(PriceIssue::Stale { age, max: market.params.max_age_secs });
    }
    Ok((m.price, m.conf, m.exponent, m.publish_time))
}

/// `unix_timestamp` of a Clock sysvar account (slot, epoch_start_timestamp,
/// epoch, leader_schedule_epoch, unix_timestamp: five 8-byte fields).
pub fn clock_unix_timestamp(account: Option<&Account>) -> Option<i64> {
    let data = &account?.data;
    data.get(32..40).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use leveraged_token_sdk::oracle_fixture::{legacy_price_account, pull_price_account};

    #[test]
    fn the_sponsored_feed_account_of_sol_usd_is_pyths() {
        let mut feed = [0u8; 32];
        let hex = "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d";
        for (i, b) in feed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        assert_eq!(sponsored_feed_account(&feed).to_string(), "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE");
    }

    fn market(kind: OracleKind, oracle_id: [u8; 32]) -> Market {
        let mut m: Market = anchor_lang::AccountDeserialize::try_deserialize_unchecked(&mut &vec![0u8; 8 + <Market as anchor_lang::Space>::INIT_SPACE][..]).unwrap();
        m.oracle_kind = kind;
        m.oracle_id = oracle_id;
        m.collateral_decimals = 6;
        m.params = leveraged_token_sdk::defaults::market_params();
        m
    }

    fn account(owner: Pubkey, data: Vec<u8>) -> Account {
        Account { lamports: 1, data, owner, executable: false, rent_epoch: 0 }
    }

    #[test]
    fn legacy_prices_decode_like_the_program_and_stale_ones_are_refused() {
        let key = Pubkey::new_unique();
        let m = market(OracleKind::PythLegacy, key.to_bytes());
        let acc = account(PYTH_LEGACY_DEVNET, legacy_price_account(100 * 100_000_000, 5_000_000, -8, 100, PriceStatus::Trading));
        let p = decode_price(&m, &key, Some(&acc), 110, 0).unwrap();
        assert_eq!(p.price, normalize_price(100 * 100_000_000, 5_000_000, -8, 6).unwrap());
        assert_eq!(p.published, 100);
        assert_eq!(decode_price(&m, &key, Some(&acc), 126, 0), Err(PriceIssue::Stale { age: 26, max: 25 }));
        assert_eq!(decode_price(&m, &Pubkey::new_unique(), Some(&acc), 110, 0), Err(PriceIssue::WrongAccount));
        assert_eq!(decode_price(&m, &key, None, 110, 0), Err(PriceIssue::Missing));
        let halted = account(PYTH_LEGACY_DEVNET, legacy_price_account(100, 1, -8, 100, PriceStatus::Halted));
        assert_eq!(decode_price(&m, &key, Some(&halted), 110, 0), Err(PriceIssue::NotTrading));
        let newer_used = Market { last_oracle_publish: 101, ..m };
        assert!(matches!(decode_price(&newer_used, &key, Some(&acc), 110, 0), Err(PriceIssue::Regressed { .. })));
    }

    #[test]
    fn pull_updates_decode_after_the_discriminator_and_are_checked() {
        let feed = [7u8; 32];
        let m = market(OracleKind::PythPull, feed);
        let key = Pubkey::new_unique();
        let acc = account(PYTH_RECEIVER, pull_price_account(feed, 50 * 100_000_000, 1_000_000, -8, 1_000, VerificationLevel::Full, 5));
        assert_eq!(decode_price(&m, &key, Some(&acc), 5, 1_030).unwrap().published, 1_000);
        assert_eq!(decode_price(&m, &key, Some(&acc), 5, 1_061), Err(PriceIssue::Stale { age: 61, max: 60 }));
        assert!(matches!(decode_price(&m, &key, Some(&acc), 5, 980), Err(PriceIssue::InFuture { .. })));
        let other = market(OracleKind::PythPull, [8u8; 32]);
        assert_eq!(decode_price(&other, &key, Some(&acc), 5, 1_030), Err(PriceIssue::WrongFeed));
        let partial = account(PYTH_RECEIVER, pull_price_account(feed, 1, 0, -8, 1_000, VerificationLevel::Partial { num_signatures: 5 }, 5));
        assert_eq!(decode_price(&m, &key, Some(&partial), 5, 1_030), Err(PriceIssue::NotFullyVerified));
    }
}
