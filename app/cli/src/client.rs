//! The client every command runs through: a [`Chain`] (RPC or the in-process
//! bank), the signer, and the transaction options (`--simulate`,
//! `--priority-fee`). Every command sends at most one transaction, so a
//! failure never leaves half of it applied; a request that waits for its
//! price time sends two (the request, then its execution), and a failed
//! execution leaves the request standing (`lt requests`, `lt execute`, `lt cancel`).

use std::fmt;

use anchor_lang::prelude::{Clock, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use anyhow::{anyhow, bail, Context, Result};
use leveraged_token::state::{Config, LeveragedToken, Market};
use leveraged_token_sdk::chain::Chain;
use leveraged_token_sdk::errors::{explain, relevant_logs, Explained};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// A transaction (or its simulation) that the chain refused.
#[derive(Debug, Clone)]
pub struct TxFailed {
    pub explained: Explained,
    pub logs: Vec<String>,
    pub signature: String,
    pub simulated: bool,
    pub endpoint: String,
}

impl TxFailed {
    /// The program's log lines worth showing under the error.
    pub fn relevant_logs(&self) -> Vec<String> {
        relevant_logs(&self.logs)
    }
}

impl fmt::Display for TxFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.simulated { "simulation failed" } else { "transaction failed" };
        write!(f, "{what}: {}", self.explained)
    }
}

impl std::error::Error for TxFailed {}

/// What a sent or simulated transaction returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub signature: String,
    pub simulated: bool,
    pub logs: Vec<String>,
    pub units_consumed: Option<u64>,
}

pub struct Client<C: Chain> {
    pub chain: C,
    signer: Option<Keypair>,
    /// `--simulate`: simulate instead of sending.
    pub simulate: bool,
    /// `--priority-fee`: micro-lamports per compute unit.
    pub priority_fee: Option<u64>,
    /// Say on stderr what a request is waiting for (`lt` sets it when stderr is a terminal).
    pub progress: bool,
}

impl<C: Chain> Client<C> {
    pub fn new(chain: C, signer: Option<Keypair>) -> Self {
        Self { chain, signer, simulate: false, priority_fee: None, progress: false }
    }

    pub fn with_simulate(mut self, simulate: bool) -> Self {
        self.simulate = simulate;
        self
    }

    pub fn with_priority_fee(mut self, micro_lamports: Option<u64>) -> Self {
        self.priority_fee = micro_lamports;
        self
    }

    pub fn set_signer(&mut self, signer: Option<Keypair>) {
        self.signer = signer;
    }

    pub fn signer(&self) -> Result<&Keypair> {
        self.signer.as_ref().ok_or_else(|| anyhow!("this command signs a transaction but no keypair is loaded (pass -k/--keypair)"))
    }

    pub fn signer_key(&self) -> Result<Pubkey> {
        Ok(self.signer()?.pubkey())
    }

    pub fn endpoint(&self) -> String {
        self.chain.endpoint()
    }

    pub async fn fetch(&mut self, keys: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        Ok(self.chain.accounts(keys).await?)
    }

    pub async fn fetch_one(&mut self, key: Pubkey) -> Result<Option<Account>> {
        Ok(self.fetch(&[key]).await?.pop().flatten())
    }

    /// The cluster clock; without a Clock sysvar (some test chains), the
    /// current slot and this machine's time.
    pub async fn clock(&mut self) -> Result<Clock> {
        match self.chain.clock().await {
            Ok(c) => Ok(c),
            Err(_) => Ok(Clock { slot: self.chain.slot().await?, unix_timestamp: unix_now(), ..Clock::default() }),
        }
    }

    pub async fn config(&mut self) -> Result<Config> {
        let key = leveraged_token::pda::config().0;
        let acc = self.fetch_one(key).await?;
        decode_program_account(&key, acc.as_ref(), "config", &self.endpoint()).context("run `lt config init` first")
    }

    pub async fn market(&mut self, key: Pubkey) -> Result<Market> {
        let acc = self.fetch_one(key).await?;
        decode_program_account(&key, acc.as_ref(), "market", &self.endpoint())
    }

    pub async fn token(&mut self, key: Pubkey) -> Result<LeveragedToken> {
        let acc = self.fetch_one(key).await?;
        decode_program_account(&key, acc.as_ref(), "leveraged token", &self.endpoint())
    }

    /// Build, sign and send (or simulate) one transaction of `ixs`, with the
    /// signer paying, preceded by a compute-unit price when `--priority-fee` is set.
    pub async fn execute(&mut self, ixs: Vec<Instruction>, extra_signers: &[&Keypair]) -> Result<Executed> {
        let tx = self.sign(ixs, extra_signers).await?;
        self.submit(tx, None).await
    }

    /// [`Client::execute`] for a transaction whose events the caller reads: an
    /// RPC send returns no logs, so the logs are then those of a simulation
    /// of the same transaction just before it was sent (the caller checks
    /// balances for what actually moved).
    pub async fn execute_with_logs(&mut self, ixs: Vec<Instruction>) -> Result<Executed> {
        let tx = self.sign(ixs, &[]).await?;
        if self.simulate {
            return self.submit(tx, None).await;
        }
        let sim = self.chain.simulate(&tx).await.ok().filter(|r| r.err.is_none()).map(|r| r.logs);
        self.submit(tx, sim).await
    }

    async fn sign(&mut self, ixs: Vec<Instruction>, extra_signers: &[&Keypair]) -> Result<Transaction> {
        let signer = self.signer()?.insecure_clone();
        let mut all = Vec::with_capacity(ixs.len() + 1);
        if let Some(p) = self.priority_fee.filter(|p| *p > 0) {
            all.push(solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(p));
        }
        all.extend(ixs);
        let blockhash = self.chain.latest_blockhash().await?;
        let mut tx = Transaction::new_with_payer(&all, Some(&signer.pubkey()));
        let mut signers: Vec<&Keypair> = vec![&signer];
        signers.extend(extra_signers.iter().copied().filter(|k| k.pubkey() != signer.pubkey()));
        tx.try_sign(&signers, blockhash).map_err(|e| anyhow!("cannot sign the transaction: {e}"))?;
        Ok(tx)
    }

    /// Send (or simulate) a signed transaction; `logs_if_none`: the logs to
    /// report when the chain returns none for a landed transaction.
    async fn submit(&mut self, tx: Transaction, logs_if_none: Option<Vec<String>>) -> Result<Executed> {
        let programs: Vec<Pubkey> = tx.message.instructions.iter().filter_map(|i| tx.message.account_keys.get(usize::from(i.program_id_index)).copied()).collect();
        let signature = tx.signatures.first().map(|s| s.to_string()).unwrap_or_default();
        let endpoint = self.endpoint();
        if self.simulate {
            let r = self.chain.simulate(&tx).await?;
            if let Some(err) = r.err {
                return Err(TxFailed { explained: explain(&err, &programs), logs: r.logs, signature, simulated: true, endpoint }.into());
            }
            return Ok(Executed { signature, simulated: true, logs: r.logs, units_consumed: r.units_consumed });
        }
        let r = self.chain.send(&tx).await?;
        if let Some(err) = r.err {
            let mut logs = r.logs;
            if logs.is_empty() {
                // RPC send errors carry no logs: replay the transaction to get them.
                if let Ok(sim) = self.chain.simulate(&tx).await {
                    logs = sim.logs;
                }
            }
            return Err(TxFailed { explained: explain(&err, &programs), logs, signature, simulated: false, endpoint }.into());
        }
        let logs = match (r.logs.is_empty(), logs_if_none) {
            (true, Some(l)) => l,
            _ => r.logs,
        };
        Ok(Executed { signature, simulated: false, logs, units_consumed: r.units_consumed })
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Decode an account of this program, with errors that say what the address is instead.
pub fn decode_program_account<T: AccountDeserialize + Discriminator>(key: &Pubkey, acc: Option<&Account>, what: &str, endpoint: &str) -> Result<T> {
    let Some(acc) = acc else {
        bail!("{what} {key} not found on {endpoint} (wrong address or cluster?)");
    };
    if acc.owner != leveraged_token::ID {
        bail!("{key} is not a {what}: it is owned by {}, not the leveraged-token program {}", acc.owner, leveraged_token::ID);
    }
    if !acc.data.starts_with(T::DISCRIMINATOR) {
        bail!("{key} is not a {what}: it is another account of the leveraged-token program");
    }
    T::try_deserialize(&mut acc.data.as_slice()).map_err(|e| anyhow!("{what} {key} could not be decoded: {e}"))
}

/// SPL token account balance, `None` when the account does not exist.
pub fn token_amount(acc: Option<&Account>) -> Result<Option<u64>> {
    match acc {
        None => Ok(None),
        Some(a) => Ok(Some(spl_token::state::Account::unpack(&a.data).map_err(|e| anyhow!("not an SPL token account: {e}"))?.amount)),
    }
}

/// SPL mint, with a clear error when `key` is not one.
pub fn decode_mint(key: &Pubkey, acc: Option<&Account>, endpoint: &str) -> Result<spl_token::state::Mint> {
    let Some(a) = acc else { bail!("mint {key} not found on {endpoint}") };
    if a.owner != spl_token::ID {
        bail!("{key} is not an SPL Token mint (owner {})", a.owner);
    }
    spl_token::state::Mint::unpack(&a.data).map_err(|e| anyhow!("{key} is not an SPL Token mint: {e}"))
}

/// The signer's associated token account for `mint`.
pub fn ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address(owner, mint)
}

/// Create `owner`'s associated token account for `mint` if it does not exist (idempotent).
pub fn create_ata_ix(payer: &Pubkey, owner: &Pubkey, mint: &Pubkey) -> Instruction {
    anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(payer, owner, mint, &spl_token::ID)
}
