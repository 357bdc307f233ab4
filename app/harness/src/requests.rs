//! Mints, redeems and LP deposits and withdrawals in the bank go through the
//! program's two steps as on any cluster: the owner's request, then the
//! bank's clock moved to the request's price time, the oracle update for
//! that time published (the fixture chains updates a slot or a second apart,
//! so exactly one update is the one), and the execution by the bank's payer.

use std::sync::atomic::{AtomicU64, Ordering};

use anchor_lang::prelude::Pubkey;
use leveraged_token::oracle::sample_price;
use leveraged_token::state::{Market, OracleKind, Request, RequestKind};
use leveraged_token_sdk::{ix, pda, TokenKeys};
use pyth_sdk_solana::state::PriceStatus;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::bank::{Bank, TxOutcome};
use crate::deployment::{Deployment, Holder, Oracle};

static NONCE: AtomicU64 = AtomicU64::new(1);

/// A request nonce not used before in this process.
pub fn next_nonce() -> u64 {
    NONCE.fetch_add(1, Ordering::Relaxed)
}

impl Bank {
    /// Create `owner`'s associated token account of `mint` (the payer pays) if missing.
    pub async fn create_ata(&mut self, owner: Pubkey, mint: Pubkey) -> Pubkey {
        let payer = self.payer();
        self.send(&[ix::create_associated_token_account(payer, owner, mint)], &[]).await.expect_ok("create associated token account");
        pda::associated_token(&owner, &mint)
    }

    /// Move the clock to price time `target` if it is not there yet: a slot
    /// for a legacy oracle, a unix time for a pull one.
    pub async fn reach(&mut self, kind: OracleKind, target: i64) {
        let clock = self.clock().await;
        match kind {
            OracleKind::PythLegacy => {
                let target = u64::try_from(target).expect("a slot");
                if clock.slot < target {
                    self.warp(target - clock.slot).await;
                }
            }
            OracleKind::PythPull => {
                if clock.unix_timestamp < target {
                    self.advance_time(target - clock.unix_timestamp).await;
                }
            }
        }
    }
}

impl Oracle {
    /// Publish `price` ± `conf`, trading, as the update for price time
    /// `target` (legacy: `pub_slot`; pull: `publish_time`), posted at the
    /// bank's slot.
    pub async fn publish_for(&self, bank: &mut Bank, price: i64, conf: u64, target: i64) {
        let clock = bank.clock().await;
        match self.kind {
            OracleKind::PythLegacy => self.write(bank, price, conf, u64::try_from(target).expect("a slot"), clock.unix_timestamp, PriceStatus::Trading),
            OracleKind::PythPull => self.write(bank, price, conf, clock.slot, target, PriceStatus::Trading),
        }
    }
}

impl Deployment {
    /// The price and confidence the oracle account shows now.
    pub async fn oracle_price(&self, bank: &mut Bank) -> (i64, u64) {
        let market: Market = bank.account(self.market.market).await;
        let acc = bank.raw_account(self.oracle.key).await.expect("oracle account");
        let clock = bank.clock().await;
        let s = sample_price(&market.oracle_spec(), &self.oracle.key, &acc.owner, &acc.data, &clock).expect("oracle sample");
        (s.price, s.conf)
    }

    /// The token a request is for, by index in [`Deployment::tokens`].
    fn token_keys(&self, token: Option<usize>) -> Option<&TokenKeys> {
        token.map(|i| &self.tokens[i])
    }

    /// The request instruction of `kind` (token `i` for a mint or redeem).
    pub fn request_ix(&self, owner: Pubkey, kind: RequestKind, token: Option<usize>, nonce: u64, amount: u64, min_out: u64) -> anchor_lang::solana_program::instruction::Instruction {
        match kind {
            RequestKind::Mint => ix::request_mint(owner, self.token_keys(token).expect("a token"), nonce, amount, min_out),
            RequestKind::Redeem => ix::request_redeem(owner, self.token_keys(token).expect("a token"), nonce, amount, min_out),
            RequestKind::Deposit => ix::request_deposit(owner, &self.market, nonce, amount, min_out),
            RequestKind::Withdraw => ix::request_withdraw(owner, &self.market, nonce, amount, min_out),
        }
    }

    /// Execute `owner`'s request `nonce` at `price` ± `conf` (`None`: the
    /// price the oracle shows now): move the clock to its price time, publish
    /// the update for that time, execute (the bank's payer is the executor),
    /// then re-publish the price at the bank's clock so what follows reads a
    /// fresh one. The execution's outcome.
    pub async fn execute_at(&self, bank: &mut Bank, owner: Pubkey, nonce: u64, price: Option<(i64, u64)>) -> TxOutcome {
        let r: Request = bank.account(pda::request(&owner, nonce).0).await;
        let (price, conf) = match price {
            Some(p) => p,
            None => self.oracle_price(bank).await,
        };
        bank.reach(self.oracle.kind, r.target).await;
        self.oracle.publish_for(bank, price, conf, r.target).await;
        let token = self.tokens.iter().find(|t| t.token == r.token);
        let executor = bank.payer();
        let out = bank.send(&[ix::execute(executor, r.kind, owner, nonce, &self.market, token, self.oracle.key, &self.tokens)], &[]).await;
        self.oracle.publish(bank, price, conf).await;
        out
    }

    /// Request and execute at the oracle's current price: the execution's
    /// outcome, or the request's if it was refused.
    pub async fn request_and_execute(&self, bank: &mut Bank, owner: &Keypair, kind: RequestKind, token: Option<usize>, amount: u64, min_out: u64) -> TxOutcome {
        let nonce = next_nonce();
        let out = bank.send(&[self.request_ix(owner.pubkey(), kind, token, nonce, amount, min_out)], &[owner]).await;
        if out.result.is_err() {
            return out;
        }
        self.execute_at(bank, owner.pubkey(), nonce, None).await
    }
}

impl Holder {
    /// Deposit `amount` of collateral into the pool (no minimum out).
    pub async fn deposit(&self, bank: &mut Bank, d: &Deployment, amount: u64) -> TxOutcome {
        d.request_and_execute(bank, &self.kp, RequestKind::Deposit, None, amount, 0).await
    }

    /// Withdraw `lp` LP shares from the pool (no minimum out).
    pub async fn withdraw(&self, bank: &mut Bank, d: &Deployment, lp: u64) -> TxOutcome {
        d.request_and_execute(bank, &self.kp, RequestKind::Withdraw, None, lp, 0).await
    }

    /// Mint token `i` of `d` for `amount` of collateral (no minimum out).
    pub async fn mint(&self, bank: &mut Bank, d: &Deployment, i: usize, amount: u64) -> TxOutcome {
        d.request_and_execute(bank, &self.kp, RequestKind::Mint, Some(i), amount, 0).await
    }

    /// Redeem `shares` of token `i` of `d` (no minimum out).
    pub async fn redeem(&self, bank: &mut Bank, d: &Deployment, i: usize, shares: u64) -> TxOutcome {
        d.request_and_execute(bank, &self.kp, RequestKind::Redeem, Some(i), shares, 0).await
    }
}
