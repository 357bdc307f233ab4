//! The in-process bank as a [`Chain`], so the keeper, `lt` and the deploy
//! step run against it exactly as against a cluster.

use std::collections::BTreeSet;

use anchor_lang::prelude::Pubkey;
use leveraged_token_sdk::chain::{Chain, ChainError, TxReport};
use solana_account::Account;
use solana_hash::Hash;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::bank::Bank;

/// The in-process bank as a [`Chain`]. `program_accounts` returns the program's
/// accounts among every account a transaction through this chain touched
/// (BanksClient has no getProgramAccounts).
pub struct BankChain {
    pub bank: Bank,
    seen: BTreeSet<Pubkey>,
}

impl BankChain {
    pub fn new(bank: Bank) -> Self {
        Self { bank, seen: BTreeSet::new() }
    }

    /// Remember accounts created outside this chain (e.g. by the bank directly).
    pub fn track(&mut self, keys: impl IntoIterator<Item = Pubkey>) {
        self.seen.extend(keys);
    }
}

impl Chain for BankChain {
    fn endpoint(&self) -> String {
        "in-process bank".to_string()
    }

    async fn accounts(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.bank.raw_account(*k).await);
        }
        Ok(out)
    }

    async fn program_accounts(&mut self, program: &Pubkey, discriminator: &[u8]) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        let keys: Vec<Pubkey> = self.seen.iter().copied().collect();
        let mut out = Vec::new();
        for k in keys {
            if let Some(a) = self.bank.raw_account(k).await {
                if a.owner == *program && a.data.starts_with(discriminator) {
                    out.push((k, a));
                }
            }
        }
        Ok(out)
    }

    async fn slot(&mut self) -> Result<u64, ChainError> {
        Ok(self.bank.slot().await)
    }

    async fn latest_blockhash(&mut self) -> Result<Hash, ChainError> {
        self.bank.ctx.banks_client.get_latest_blockhash().await.map_err(|e| ChainError::Transport { url: self.endpoint(), message: e.to_string() })
    }

    async fn simulate(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        let r = self.bank.ctx.banks_client.simulate_transaction(tx.clone()).await.map_err(|e| ChainError::Transport { url: self.endpoint(), message: e.to_string() })?;
        let (logs, units) = match r.simulation_details {
            Some(d) => (d.logs, Some(d.units_consumed)),
            None => (vec![], None),
        };
        Ok(TxReport { signature: tx.signatures.first().map(|s| s.to_string()).unwrap_or_default(), err: r.result.and_then(|x| x.err()), logs, units_consumed: units })
    }

    async fn send(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        self.seen.extend(tx.message.account_keys.iter().copied());
        let out = self.bank.process(tx.clone()).await;
        Ok(TxReport { signature: tx.signatures.first().map(|s| s.to_string()).unwrap_or_default(), err: out.result.err(), logs: out.logs, units_consumed: None })
    }

    async fn transaction_status(&mut self, tx: &Transaction) -> Result<Option<Result<(), TransactionError>>, ChainError> {
        let Some(sig) = tx.signatures.first() else { return Ok(None) };
        let status = self.bank.ctx.banks_client.get_transaction_status(*sig).await.map_err(|e| ChainError::Transport { url: self.endpoint(), message: e.to_string() })?;
        Ok(status.map(|s| s.err.map_or(Ok(()), Err)))
    }
}
