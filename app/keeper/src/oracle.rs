//! The keeper's view of a market's oracle: the program's own pure checks
//! (`leveraged_token::oracle::{check_price, sample_at}`) over fetched account
//! bytes, so the keeper skips exactly the prices an instruction would be
//! refused for.
//!
//! Two kinds of price: the FRESH one every loop reads from the market's
//! configured oracle account (band, ripcord, deviation and chunk triggers,
//! wipes), and the update for a fixed price time — a request's `target`, or
//! the due schedule's (`LeveragedToken::schedule_fix`) — which only the one
//! update with `prev < target <= published` passes. An [`UpdateSource`]
//! provides the latter.

use anchor_lang::prelude::{Clock, Pubkey};
use leveraged_token::oracle::{check_price, sample_at};
pub use leveraged_token::oracle::{CheckedPrice as OraclePrice, OracleSample, PriceIssue};
use leveraged_token::state::Market;
use leveraged_token_sdk::chain::Chain;
pub use leveraged_token_sdk::keys::{sponsored_feed_account, PYTH_PUSH_ORACLE};
use leveraged_token_sdk::MarketKeys;
use solana_account::Account;

/// Check the market's oracle account as the program would at `slot` /
/// `unix_timestamp`, including the "no older than last used" rule.
pub fn decode_price(market: &Market, key: &Pubkey, account: Option<&Account>, slot: u64, unix_timestamp: i64) -> Result<OraclePrice, PriceIssue> {
    let account = account.ok_or(PriceIssue::Missing)?;
    let clock = Clock { slot, unix_timestamp, ..Clock::default() };
    check_price(&market.oracle_spec(), key, &account.owner, &account.data, &clock)
}

/// What the keeper asks an [`UpdateSource`] for: the update of `market`'s
/// feed for price time `target` (pull: unix seconds; legacy: a slot).
#[derive(Debug, Clone, Copy)]
pub struct UpdateQuery<'a> {
    pub market: &'a Market,
    /// The market's keys; `keys.oracle` is the configured oracle account.
    pub keys: &'a MarketKeys,
    pub target: i64,
    /// The cluster clock of this loop's fetch.
    pub clock: &'a Clock,
    /// The configured oracle account as fetched this loop (`None`: missing).
    pub configured: Option<&'a Account>,
}

/// An account holding the update for a price time, checked with the
/// program's `sample_at`: pass `key` as the instruction's oracle account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub key: Pubkey,
    pub account: Account,
    pub sample: OracleSample,
}

/// Where the keeper gets the update for a fixed price time (a request's
/// `target`, a due schedule's `fix.target`). Only an update that passes
/// `sample_at(spec, key, owner, data, clock, target)` is worth sending: the
/// program refuses any other with `OracleNotAtTarget`.
#[allow(async_fn_in_trait)]
pub trait UpdateSource {
    /// The account holding the update for `q.target`, or why there is none
    /// (the keeper waits and asks again next loop).
    async fn update_for<C: Chain>(&mut self, chain: &mut C, q: &UpdateQuery<'_>) -> Result<Update, String>;
}

/// The update source every keeper has: the market's configured oracle
/// account (legacy: the price account; pull: `--pull-oracle`'s account or
/// the sponsored feed account), used only when it holds THE update for the
/// target right now. It reads nothing more than the loop's batched fetch.
///
/// Limitation: on a cluster, a legacy price account or a sponsored pull feed
/// holds the update for a given time only until the next one is published,
/// so a keeper with this source executes a request (or a scheduled
/// rebalance) only when its loop happens to read the account then. Getting
/// the update for a past publish time from Hermes
/// (`/v2/updates/price/{publish_time}`) and posting it with the Pyth
/// receiver is a different `UpdateSource`, not implemented here.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountSource;

impl UpdateSource for AccountSource {
    async fn update_for<C: Chain>(&mut self, _chain: &mut C, q: &UpdateQuery<'_>) -> Result<Update, String> {
        let account = q.configured.ok_or_else(|| PriceIssue::Missing.to_string())?;
        let sample = sample_at(&q.market.oracle_spec(), &q.keys.oracle, &account.owner, &account.data, q.clock, q.target).map_err(|issue| issue.to_string())?;
        Ok(Update { key: q.keys.oracle, account: account.clone(), sample })
    }
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
        assert_eq!(decode_price(&m, &key, Some(&acc), 5, 1_010).unwrap().published, 1_000);
        assert_eq!(decode_price(&m, &key, Some(&acc), 5, 1_011), Err(PriceIssue::Stale { age: 11, max: 10 }));
        assert!(matches!(decode_price(&m, &key, Some(&acc), 5, 980), Err(PriceIssue::InFuture { .. })));
        let other = market(OracleKind::PythPull, [8u8; 32]);
        assert_eq!(decode_price(&other, &key, Some(&acc), 5, 1_010), Err(PriceIssue::WrongFeed));
        let partial = account(PYTH_RECEIVER, pull_price_account(feed, 1, 0, -8, 1_000, VerificationLevel::Partial { num_signatures: 5 }, 5));
        assert_eq!(decode_price(&m, &key, Some(&partial), 5, 1_010), Err(PriceIssue::NotFullyVerified));
    }

    /// A chain the account source must not need.
    struct NoChain;

    impl Chain for NoChain {
        fn endpoint(&self) -> String {
            "none".into()
        }
        async fn accounts(&mut self, _: &[Pubkey]) -> Result<Vec<Option<Account>>, leveraged_token_sdk::chain::ChainError> {
            unreachable!("the account source reads the loop's fetch")
        }
        async fn program_accounts(&mut self, _: &Pubkey, _: &[u8]) -> Result<Vec<(Pubkey, Account)>, leveraged_token_sdk::chain::ChainError> {
            unreachable!()
        }
        async fn slot(&mut self) -> Result<u64, leveraged_token_sdk::chain::ChainError> {
            unreachable!()
        }
        async fn latest_blockhash(&mut self) -> Result<solana_hash::Hash, leveraged_token_sdk::chain::ChainError> {
            unreachable!()
        }
        async fn simulate(&mut self, _: &solana_transaction::Transaction) -> Result<leveraged_token_sdk::chain::TxReport, leveraged_token_sdk::chain::ChainError> {
            unreachable!()
        }
        async fn send(&mut self, _: &solana_transaction::Transaction) -> Result<leveraged_token_sdk::chain::TxReport, leveraged_token_sdk::chain::ChainError> {
            unreachable!()
        }
    }

    #[tokio::test]
    async fn the_account_source_gives_the_configured_account_only_while_it_holds_the_update_for_the_target() {
        let key = Pubkey::new_unique();
        let m = market(OracleKind::PythLegacy, key.to_bytes());
        let keys = MarketKeys::from_market(&m, None);
        // Published at slot 100, the previous update at 99: the update for price time 100 only.
        let acc = account(PYTH_LEGACY_DEVNET, legacy_price_account(100 * 100_000_000, 5_000_000, -8, 100, PriceStatus::Trading));
        let clock = Clock { slot: 400, ..Clock::default() };
        async fn ask(m: &Market, keys: &MarketKeys, clock: &Clock, target: i64, configured: Option<&Account>) -> Result<Update, String> {
            AccountSource.update_for(&mut NoChain, &UpdateQuery { market: m, keys, target, clock, configured }).await
        }
        let u = ask(&m, &keys, &clock, 100, Some(&acc)).await.expect("the update for 100, however old");
        assert_eq!((u.key, u.sample.published, u.sample.prev_published), (key, 100, 99));
        assert!(ask(&m, &keys, &clock, 101, Some(&acc)).await.unwrap_err().contains("not the update for 101"));
        assert!(ask(&m, &keys, &clock, 99, Some(&acc)).await.unwrap_err().contains("not the update for 99"));
        assert_eq!(ask(&m, &keys, &clock, 100, None).await.unwrap_err(), PriceIssue::Missing.to_string());
        // A halted update for the target is still the one: its value checks are the execution's (a refund).
        let halted = account(PYTH_LEGACY_DEVNET, legacy_price_account(100, 1, -8, 100, PriceStatus::Halted));
        assert!(ask(&m, &keys, &clock, 100, Some(&halted)).await.is_ok());
    }
}
