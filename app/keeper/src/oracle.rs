//! The keeper's view of a market's oracle: the program's own pure check
//! (`leveraged_token::oracle::check_price`) over fetched account bytes, so
//! the keeper skips exactly the prices a `rebalance` would be refused for.

use anchor_lang::prelude::{Clock, Pubkey};
use leveraged_token::oracle::check_price;
pub use leveraged_token::oracle::{CheckedPrice as OraclePrice, PriceIssue};
use leveraged_token::state::Market;
pub use leveraged_token_sdk::keys::{sponsored_feed_account, PYTH_PUSH_ORACLE};
use solana_account::Account;

/// Check the market's oracle account as the program would at `slot` /
/// `unix_timestamp`, including the "no older than last used" rule.
pub fn decode_price(market: &Market, key: &Pubkey, account: Option<&Account>, slot: u64, unix_timestamp: i64) -> Result<OraclePrice, PriceIssue> {
    let account = account.ok_or(PriceIssue::Missing)?;
    let clock = Clock { slot, unix_timestamp, ..Clock::default() };
    check_price(&market.oracle_spec(), key, &account.owner, &account.data, &clock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leveraged_token::constants::{PYTH_LEGACY_DEVNET, PYTH_RECEIVER};
    use leveraged_token::math::price::normalize_price;
    use leveraged_token::oracle::VerificationLevel;
    use leveraged_token::state::OracleKind;
    use leveraged_token_sdk::oracle_fixture::{legacy_price_account, pull_price_account};
    use pyth_sdk_solana::state::PriceStatus;

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
