//! How time passes while a request waits for its price time, and how the
//! oracle update for that time reaches the account the execution reads.
//!
//! On a cluster both happen by themselves: `lt` sleeps and polls the clock,
//! then polls the oracle account until a price service has posted the update
//! for the price time. The in-process bank (`lt demo`, the CLI's tests) moves
//! only when moved: its clock is advanced to the price time and the fixture
//! publishes the price the oracle shows as the update for that time (the
//! fixtures chain updates a slot or a second apart, so exactly that update
//! passes the program's `prev < target <= published` rule), as the harness's
//! `Deployment::execute_at` does.

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, Result};
use leveraged_token::oracle::sample_price;
use leveraged_token::state::{Market, OracleKind};
use leveraged_token_harness::deployment::Oracle;
use leveraged_token_harness::BankChain;
use leveraged_token_sdk::chain::{Chain, RpcChain};

use crate::commands::describe;

/// Longest single sleep on a cluster, so the clock is re-read often.
const MAX_SLEEP: Duration = Duration::from_secs(5);
/// How often a cluster's oracle account is polled for the update.
const POLL: Duration = Duration::from_millis(400);

/// A chain on which `lt` can wait for a request's price time and its update.
#[allow(async_fn_in_trait)]
pub trait Pace: Chain {
    /// Let `wait` pass: seconds (pull oracle) or slots (legacy), as
    /// `requests::stage` counts them. A cluster sleeps (at most a few
    /// seconds, then the caller re-reads the clock); the bank advances its clock.
    async fn pass(&mut self, kind: OracleKind, wait: i64) -> Result<()>;

    /// The oracle account `oracle` of `market` does not hold the update for
    /// price time `target` yet. A cluster waits a poll interval for a price
    /// service to post it; the bank's fixture publishes it.
    async fn await_update(&mut self, market: &Market, oracle: Pubkey, target: i64) -> Result<()>;

    /// After an execution at an old price time: the bank re-publishes the
    /// oracle's price at its clock, so what follows reads a current price; a
    /// cluster does nothing.
    async fn executed(&mut self, market: &Market, oracle: Pubkey) -> Result<()>;
}

fn sleep_for(kind: OracleKind, wait: i64) -> Duration {
    let ms = match kind {
        OracleKind::PythPull => wait.max(1).saturating_mul(1_000),
        OracleKind::PythLegacy => wait.max(1).saturating_mul(leveraged_token::constants::SLOT_MS as i64),
    };
    Duration::from_millis(ms.unsigned_abs()).min(MAX_SLEEP)
}

impl Pace for RpcChain {
    async fn pass(&mut self, kind: OracleKind, wait: i64) -> Result<()> {
        tokio::time::sleep(sleep_for(kind, wait)).await;
        Ok(())
    }

    async fn await_update(&mut self, _market: &Market, _oracle: Pubkey, _target: i64) -> Result<()> {
        tokio::time::sleep(POLL).await;
        Ok(())
    }

    async fn executed(&mut self, _market: &Market, _oracle: Pubkey) -> Result<()> {
        Ok(())
    }
}

/// The bank's oracle fixture for `market`'s account `key`.
fn fixture(market: &Market, key: Pubkey) -> Oracle {
    match market.oracle_kind {
        OracleKind::PythLegacy => Oracle::legacy(key),
        OracleKind::PythPull => Oracle::pull(key, market.oracle_id),
    }
}

/// The price and confidence the oracle account `key` of `market` shows in the bank.
async fn shown_price(chain: &mut BankChain, market: &Market, key: Pubkey) -> Result<(i64, u64)> {
    let acc = chain.bank.raw_account(key).await.ok_or_else(|| anyhow!("oracle account {key} not found in the bank"))?;
    let clock = chain.bank.clock().await;
    let s = sample_price(&market.oracle_spec(), &key, &acc.owner, &acc.data, &clock).map_err(|i| anyhow!("oracle {key}: {}", describe(i.error_code())))?;
    Ok((s.price, s.conf))
}

impl Pace for BankChain {
    async fn pass(&mut self, kind: OracleKind, wait: i64) -> Result<()> {
        match kind {
            OracleKind::PythLegacy => self.bank.warp(wait.max(1).unsigned_abs()).await,
            OracleKind::PythPull => self.bank.advance_time(wait.max(1)).await,
        }
        Ok(())
    }

    async fn await_update(&mut self, market: &Market, oracle: Pubkey, target: i64) -> Result<()> {
        let (price, conf) = shown_price(self, market, oracle).await?;
        fixture(market, oracle).publish_for(&mut self.bank, price, conf, target).await;
        Ok(())
    }

    async fn executed(&mut self, market: &Market, oracle: Pubkey) -> Result<()> {
        let (price, conf) = shown_price(self, market, oracle).await?;
        fixture(market, oracle).publish(&mut self.bank, price, conf).await;
        Ok(())
    }
}
