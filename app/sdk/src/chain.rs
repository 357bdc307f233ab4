//! The chain behind one trait, with two implementations: a real RPC client
//! ([`RpcChain`]) and the in-process bank ([`BankChain`]). The keeper, the CLI
//! and the deploy step are written against [`Chain`], so everything they do
//! is tested in the bank.

use std::fmt;

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::sysvar::SysvarId;
use solana_account::Account;
use solana_hash::Hash;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

/// What happened to a simulated or sent transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxReport {
    pub signature: String,
    /// `None` when the transaction succeeded.
    pub err: Option<TransactionError>,
    pub logs: Vec<String>,
    pub units_consumed: Option<u64>,
}

impl TxReport {
    /// The custom program error code, if the transaction failed with one.
    pub fn custom_error(&self) -> Option<u32> {
        match &self.err {
            Some(TransactionError::InstructionError(_, solana_instruction_error::InstructionError::Custom(c))) => Some(*c),
            _ => None,
        }
    }
}

/// Decode the Clock sysvar's account data (bincode: slot,
/// epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp; five
/// little-endian 8-byte fields). The one Clock decoder of the clients.
pub fn decode_clock(data: &[u8]) -> Option<Clock> {
    let word = |i: usize| data.get(8 * i..8 * i + 8).map(|b| <[u8; 8]>::try_from(b).expect("8 bytes"));
    Some(Clock {
        slot: u64::from_le_bytes(word(0)?),
        epoch_start_timestamp: i64::from_le_bytes(word(1)?),
        epoch: u64::from_le_bytes(word(2)?),
        leader_schedule_epoch: u64::from_le_bytes(word(3)?),
        unix_timestamp: i64::from_le_bytes(word(4)?),
    })
}

/// A failure to talk to the chain (not a failed transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// The endpoint could not be reached or answered with an error.
    Transport { url: String, message: String },
    /// The blockhash expired before the transaction landed: rebuild and resend.
    BlockhashExpired,
    /// No answer in time.
    Timeout,
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::Transport { url, message } => write!(f, "RPC {url}: {message} (is the validator running and the URL right?)"),
            ChainError::BlockhashExpired => write!(f, "blockhash expired before the transaction landed"),
            ChainError::Timeout => write!(f, "timed out waiting for the RPC"),
        }
    }
}

impl std::error::Error for ChainError {}

/// What the keeper, CLI and deploy step need from a cluster.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// A human name of the endpoint, for logs and errors.
    fn endpoint(&self) -> String;
    /// Accounts by key, `None` for missing ones (batched by the implementation).
    async fn accounts(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError>;
    /// Accounts owned by `program` whose data starts with `discriminator`.
    async fn program_accounts(&mut self, program: &Pubkey, discriminator: &[u8]) -> Result<Vec<(Pubkey, Account)>, ChainError>;
    async fn slot(&mut self) -> Result<u64, ChainError>;
    async fn latest_blockhash(&mut self) -> Result<Hash, ChainError>;
    async fn simulate(&mut self, tx: &Transaction) -> Result<TxReport, ChainError>;
    /// Send and wait for confirmation. A program failure is `Ok` with `err` set.
    async fn send(&mut self, tx: &Transaction) -> Result<TxReport, ChainError>;
    /// What became of `tx` (by its first signature): `None` if the cluster
    /// has not processed it (not landed, or dropped), `Some(Ok(()))` landed,
    /// `Some(Err(e))` processed and failed. Lets a sender whose `send` timed
    /// out learn whether it landed before sending again. Chains that cannot
    /// tell answer with an error (the caller must assume nothing).
    /// The cluster clock (the Clock sysvar, decoded by [`decode_clock`]).
    async fn clock(&mut self) -> Result<Clock, ChainError> {
        let acc = self.accounts(&[Clock::id()]).await?.pop().flatten();
        acc.and_then(|a| decode_clock(&a.data)).ok_or_else(|| ChainError::Transport { url: self.endpoint(), message: "the Clock sysvar is missing or malformed".into() })
    }
    async fn transaction_status(&mut self, tx: &Transaction) -> Result<Option<Result<(), TransactionError>>, ChainError> {
        let _ = tx;
        Err(ChainError::Transport { url: self.endpoint(), message: "transaction status not supported".into() })
    }
}

/// A real cluster through `solana-rpc-client`.
pub struct RpcChain {
    client: solana_rpc_client::nonblocking::rpc_client::RpcClient,
    url: String,
}

impl RpcChain {
    pub fn new(url: &str, commitment: solana_commitment_config::CommitmentConfig) -> Self {
        Self { client: solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(url.to_string(), commitment), url: url.to_string() }
    }

    fn transport(&self, e: impl fmt::Display) -> ChainError {
        ChainError::Transport { url: self.url.clone(), message: e.to_string() }
    }
}

impl Chain for RpcChain {
    fn endpoint(&self) -> String {
        self.url.clone()
    }

    async fn accounts(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>, ChainError> {
        let mut out = Vec::with_capacity(keys.len());
        // getMultipleAccounts takes at most 100 keys.
        for chunk in keys.chunks(100) {
            out.extend(self.client.get_multiple_accounts(chunk).await.map_err(|e| self.transport(e))?);
        }
        Ok(out)
    }

    async fn program_accounts(&mut self, program: &Pubkey, discriminator: &[u8]) -> Result<Vec<(Pubkey, Account)>, ChainError> {
        use solana_account_decoder_client_types::UiAccountEncoding;
        use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, discriminator.to_vec()))]),
            account_config: RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), ..Default::default() },
            ..Default::default()
        };
        self.client.get_program_accounts_with_config(program, config).await.map_err(|e| self.transport(e))
    }

    async fn slot(&mut self) -> Result<u64, ChainError> {
        self.client.get_slot().await.map_err(|e| self.transport(e))
    }

    async fn latest_blockhash(&mut self) -> Result<Hash, ChainError> {
        self.client.get_latest_blockhash().await.map_err(|e| self.transport(e))
    }

    async fn simulate(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        let r = self.client.simulate_transaction(tx).await.map_err(|e| self.transport(e))?.value;
        Ok(TxReport {
            signature: tx.signatures.first().map(|s| s.to_string()).unwrap_or_default(),
            err: r.err.map(TransactionError::from),
            logs: r.logs.unwrap_or_default(),
            units_consumed: r.units_consumed,
        })
    }

    async fn send(&mut self, tx: &Transaction) -> Result<TxReport, ChainError> {
        let signature = tx.signatures.first().map(|s| s.to_string()).unwrap_or_default();
        match self.client.send_and_confirm_transaction(tx).await {
            Ok(_) => Ok(TxReport { signature, err: None, logs: vec![], units_consumed: None }),
            Err(e) => match e.get_transaction_error() {
                Some(TransactionError::BlockhashNotFound) => Err(ChainError::BlockhashExpired),
                Some(te) => Ok(TxReport { signature, err: Some(te), logs: vec![], units_consumed: None }),
                None if e.to_string().contains("blockhash") => Err(ChainError::BlockhashExpired),
                // send_and_confirm gave up waiting: the transaction may or may not land.
                None if e.to_string().contains("unable to confirm") => Err(ChainError::Timeout),
                None => Err(self.transport(e)),
            },
        }
    }

    async fn transaction_status(&mut self, tx: &Transaction) -> Result<Option<Result<(), TransactionError>>, ChainError> {
        let Some(sig) = tx.signatures.first() else { return Ok(None) };
        self.client.get_signature_status(sig).await.map_err(|e| self.transport(e))
    }
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
        let c = decode_clock(&d).unwrap();
        assert_eq!((c.slot, c.epoch_start_timestamp, c.epoch, c.leader_schedule_epoch, c.unix_timestamp), (77, 1, 2, 3, 1_700_000_000));
        assert!(decode_clock(&d[..30]).is_none());
    }
}
