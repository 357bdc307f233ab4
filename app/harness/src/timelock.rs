//! Parameter changes in the bank go through the program's timelock as on any
//! cluster: propose, move the bank's clock past the config's delay (the
//! oracle is re-published at the new time), then apply.

use leveraged_token::oracle::sample_price;
use leveraged_token::state::{Config, Market, MarketParams, TokenParams};
use leveraged_token_sdk::ix;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::bank::{Bank, TxOutcome};
use crate::deployment::Deployment;

impl Bank {
    /// Move the clock's unix time forward by `secs` (the slot stays).
    pub async fn advance_time(&mut self, secs: i64) {
        let mut clock = self.clock().await;
        clock.unix_timestamp += secs;
        self.ctx.set_sysvar(&clock);
    }

    /// Move the clock past the config's parameter delay.
    pub async fn wait_out_param_delay(&mut self) {
        let config: Config = self.account(leveraged_token::pda::config().0).await;
        self.advance_time(config.param_delay_secs).await;
    }
}

impl Deployment {
    /// Re-publish the oracle's current price and confidence at the bank's time.
    pub async fn republish(&self, bank: &mut Bank) {
        let market: Market = bank.account(self.market.market).await;
        let acc = bank.raw_account(self.oracle.key).await.expect("oracle account");
        let clock = bank.clock().await;
        let s = sample_price(&market.oracle_spec(), &self.oracle.key, &acc.owner, &acc.data, &clock).expect("oracle sample");
        self.oracle.publish(bank, s.price, s.conf).await;
    }

    /// Propose `params` for the market, wait out the delay, apply; the
    /// apply's outcome.
    pub async fn change_market_params(&self, bank: &mut Bank, admin: &Keypair, params: MarketParams) -> TxOutcome {
        bank.send(&[ix::propose_market_params(admin.pubkey(), self.market.market, params)], &[admin]).await.expect_ok("propose_market_params");
        bank.wait_out_param_delay().await;
        self.republish(bank).await;
        bank.send(&[ix::apply_market_params(self.market.market, admin.pubkey())], &[]).await
    }

    /// Propose `params` for token `i`, wait out the delay, apply (the token
    /// settles first); the apply's outcome.
    pub async fn change_token_params(&self, bank: &mut Bank, admin: &Keypair, i: usize, params: TokenParams) -> TxOutcome {
        let t = self.tokens[i];
        bank.send(&[ix::propose_token_params(admin.pubkey(), t.token, params)], &[admin]).await.expect_ok("propose_token_params");
        bank.wait_out_param_delay().await;
        self.republish(bank).await;
        bank.send(&[ix::apply_token_params(&t, admin.pubkey())], &[]).await
    }
}
