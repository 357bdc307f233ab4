//! The in-process bank: the program runs natively in solana-program-test's
//! bank (through `processor!`), SPL Token runs as the real BPF program. Used by
//! the tests, `lt demo`, `lt replay` and the keeper's bank backend.
//!
//! It creates mints and token accounts, writes Pyth accounts of both kinds,
//! warps slots, sends transactions, reads balances and decodes events.
//!
//! With `SBF_OUT_DIR` (or `BPF_OUT_DIR`) set, the bank runs the program's
//! SBF `.so` from that directory instead (see `crate::sbf`).

use std::sync::atomic::{AtomicBool, Ordering};

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{AccountDeserialize, AnchorDeserialize, Discriminator};
use anchor_spl::token::spl_token;
use leveraged_token::constants::SLOT_MS;
use solana_account::{Account, AccountSharedData};
use solana_keypair::Keypair;
use solana_program_test::{processor, BanksClient, BanksClientError, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use leveraged_token::errors::ErrorCode;
pub use leveraged_token_sdk::events::decode_events;

/// `processor!` needs one lifetime: leak copies of the inputs (a few bytes per
/// instruction) and call the program's real entrypoint. Only what `entry`
/// itself allocates counts as the program's heap use (`heap::measure`).
fn process_instruction(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    let program_id: &'static Pubkey = Box::leak(Box::new(*program_id));
    let accounts: &[AccountInfo] = Box::leak(accounts.to_vec().into_boxed_slice());
    let data: &'static [u8] = Box::leak(data.to_vec().into_boxed_slice());
    crate::heap::measure(accounts, data, || leveraged_token::entry(program_id, accounts, data))
}

/// What a processed transaction returned.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    pub result: Result<(), TransactionError>,
    pub logs: Vec<String>,
}

impl TxOutcome {
    /// Process `tx` in `banks`: the result and the logs. A transport error
    /// (not a transaction failure) panics.
    pub async fn of(banks: &mut BanksClient, tx: Transaction) -> Self {
        match banks.process_transaction_with_metadata(tx).await {
            Ok(r) => TxOutcome { result: r.result, logs: r.metadata.map(|m| m.log_messages).unwrap_or_default() },
            Err(BanksClientError::TransactionError(e)) => TxOutcome { result: Err(e), logs: vec![] },
            Err(e) => panic!("bank transport error (not a transaction failure): {e:?}"),
        }
    }

    /// Panic with the logs unless the transaction succeeded.
    #[track_caller]
    pub fn unwrap(self) -> Vec<String> {
        self.expect_ok("transaction")
    }

    /// Panic naming `what`, with the logs, unless the transaction succeeded.
    #[track_caller]
    pub fn expect_ok(self, what: &str) -> Vec<String> {
        if let Err(e) = &self.result {
            panic!("{what} failed: {e:?}\n{}", self.logs.join("\n"));
        }
        self.logs
    }

    /// The custom error code the transaction failed with, if any.
    pub fn custom_error(&self) -> Option<u32> {
        match &self.result {
            Err(TransactionError::InstructionError(_, solana_instruction_error::InstructionError::Custom(c))) => Some(*c),
            _ => None,
        }
    }

    /// Assert the transaction failed with this program error.
    #[track_caller]
    pub fn expect_err(&self, code: ErrorCode) {
        self.expect_code(u32::from(code), &format!("{code:?}"));
    }

    /// Assert the transaction failed with this Anchor framework error.
    #[track_caller]
    pub fn expect_anchor_err(&self, code: anchor_lang::error::ErrorCode) {
        self.expect_code(u32::from(code), &format!("{code:?}"));
    }

    #[track_caller]
    fn expect_code(&self, want: u32, name: &str) {
        assert_eq!(self.custom_error(), Some(want), "expected {name} ({want}), got {:?}\n{}", self.result, self.logs.join("\n"));
    }

    /// Decode every event of type `T` the transaction emitted.
    pub fn events<T: AnchorDeserialize + Discriminator>(&self) -> Vec<T> {
        decode_events(&self.logs)
    }
}

/// Whether the bank's logs (program logs, runtime debug lines) reach stderr.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// The filter solana-program-test installs by default: every program log and
/// runtime debug line (thousands of lines per demo).
const PROGRAM_TEST_LOG_FILTER: &str = "solana_sbpf::vm=debug,solana_runtime::message_processor=debug,\
solana_runtime::system_instruction_processor=trace,solana_program_test=info";

/// Show the bank's logs (`-v` in `lt demo` / `lt replay`). Without it they are
/// off except errors; `RUST_LOG` overrides both.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Replace the logger solana-program-test installs with ours: `RUST_LOG` if
/// set, else its default filter when verbose, else errors only. Call after
/// every `ProgramTest::default()`/`new` (which installs its own), before
/// adding programs (`sbf::program_test` does).
pub fn apply_log_filter() {
    agave_logger::setup_with_default(if VERBOSE.load(Ordering::Relaxed) { PROGRAM_TEST_LOG_FILTER } else { "error" });
}

/// The in-process bank with the program loaded.
pub struct Bank {
    pub ctx: ProgramTestContext,
    nonce: u32,
    /// Milliseconds of warped slots not yet added to the clock's unix time.
    slot_ms: u64,
}

impl Bank {
    pub async fn new() -> Self {
        // Native by default; the `.so` when SBF_OUT_DIR/BPF_OUT_DIR is set (crate::sbf).
        let pt = crate::sbf::program_test(|pt| pt.add_program(crate::sbf::PROGRAM_NAME, leveraged_token::ID, processor!(process_instruction)));
        let ctx = crate::sbf::start(pt).await;
        Self { ctx, nonce: 0, slot_ms: 0 }
    }

    pub fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    /// Send `ixs` with the context payer paying fees and `signers` signing. A
    /// compute-budget instruction with a per-call value keeps identical
    /// instruction lists from colliding as duplicate transactions.
    pub async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> TxOutcome {
        self.nonce += 1;
        let mut all = vec![solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(1_400_000 - self.nonce)];
        all.extend_from_slice(ixs);
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        let mut keys: Vec<&Keypair> = vec![&self.ctx.payer];
        keys.extend(signers.iter().copied().filter(|k| k.pubkey() != self.ctx.payer.pubkey()));
        let tx = Transaction::new_signed_with_payer(&all, Some(&self.ctx.payer.pubkey()), &keys, blockhash);
        self.process(tx).await
    }

    /// Process a transaction built and signed by the caller.
    pub async fn process(&mut self, tx: Transaction) -> TxOutcome {
        TxOutcome::of(&mut self.ctx.banks_client, tx).await
    }

    /// A new keypair funded with 10 SOL.
    pub async fn funded_keypair(&mut self) -> Keypair {
        let k = Keypair::new();
        self.set_account(k.pubkey(), 10_000_000_000, vec![], anchor_lang::solana_program::system_program::ID);
        k
    }

    pub fn set_account(&mut self, key: Pubkey, lamports: u64, data: Vec<u8>, owner: Pubkey) {
        let acc = Account { lamports, data, owner, executable: false, rent_epoch: 0 };
        self.ctx.set_account(&key, &AccountSharedData::from(acc));
    }

    pub async fn raw_account(&mut self, key: Pubkey) -> Option<Account> {
        self.ctx.banks_client.get_account(key).await.expect("get_account")
    }

    /// Decode an Anchor or SPL account.
    pub async fn account<T: AccountDeserialize>(&mut self, key: Pubkey) -> T {
        let acc = self.raw_account(key).await.unwrap_or_else(|| panic!("account {key} missing"));
        T::try_deserialize(&mut acc.data.as_slice()).expect("decode account")
    }

    /// A new SPL Token account of `space` bytes, rent-exempt, initialized by
    /// `init(its address)`; the payer funds it.
    async fn create_spl_account(&mut self, space: usize, init: impl FnOnce(&Pubkey) -> Instruction) -> Pubkey {
        let acc = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let payer = self.payer();
        let ixs = [anchor_lang::solana_program::system_instruction::create_account(&payer, &acc.pubkey(), rent.minimum_balance(space), space as u64, &spl_token::ID), init(&acc.pubkey())];
        self.send(&ixs, &[&acc]).await.unwrap();
        acc.pubkey()
    }

    /// A mint of `decimals`, the payer its mint authority, no freeze authority.
    pub async fn create_mint(&mut self, decimals: u8) -> Pubkey {
        let payer = self.payer();
        self.create_spl_account(spl_token::state::Mint::LEN, |mint| spl_token::instruction::initialize_mint2(&spl_token::ID, mint, &payer, None, decimals).unwrap()).await
    }

    /// A mint of `decimals`, the payer its mint authority, `freeze_authority`
    /// its freeze authority (collateral like USDC, whose issuer can freeze).
    pub async fn create_mint_with_freeze_authority(&mut self, decimals: u8, freeze_authority: Pubkey) -> Pubkey {
        let payer = self.payer();
        self.create_spl_account(spl_token::state::Mint::LEN, |mint| spl_token::instruction::initialize_mint2(&spl_token::ID, mint, &payer, Some(&freeze_authority), decimals).unwrap()).await
    }

    pub async fn create_token_account(&mut self, mint: Pubkey, owner: Pubkey) -> Pubkey {
        self.create_spl_account(spl_token::state::Account::LEN, |acc| spl_token::instruction::initialize_account3(&spl_token::ID, acc, &mint, &owner).unwrap()).await
    }

    /// Mint `amount` of a harness-created mint (the payer is its authority).
    pub async fn mint_to(&mut self, mint: Pubkey, account: Pubkey, amount: u64) {
        let payer = self.payer();
        let ix = spl_token::instruction::mint_to(&spl_token::ID, &mint, &account, &payer, &[], amount).unwrap();
        self.send(&[ix], &[]).await.unwrap();
    }

    pub async fn balance(&mut self, token_account: Pubkey) -> u64 {
        let acc = self.raw_account(token_account).await.expect("token account");
        spl_token::state::Account::unpack(&acc.data).expect("token account data").amount
    }

    pub async fn supply(&mut self, mint: Pubkey) -> u64 {
        let acc = self.raw_account(mint).await.expect("mint");
        spl_token::state::Mint::unpack(&acc.data).expect("mint data").supply
    }

    pub async fn slot(&mut self) -> u64 {
        self.clock().await.slot
    }

    pub async fn clock(&mut self) -> anchor_lang::prelude::Clock {
        self.ctx.banks_client.get_sysvar().await.expect("clock")
    }

    /// Advance the bank by `slots` slots, and its clock's unix time by
    /// 400 ms a slot as on a cluster (program-test alone keeps the time).
    pub async fn warp(&mut self, slots: u64) {
        let before = self.clock().await;
        let slot = before.slot + slots;
        self.ctx.warp_to_slot(slot).expect("warp");
        let unix_timestamp = self.unix_time_at_slot(&before, slot);
        self.slot_ms = (self.slot_ms + slots * SLOT_MS) % 1_000;
        let mut clock = self.clock().await;
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }

    /// The unix time [`Bank::warp`] sets on reaching `slot` from `clock`
    /// (the bank's clock now): what an execution at that slot accrues to.
    pub fn unix_time_at_slot(&self, clock: &anchor_lang::prelude::Clock, slot: u64) -> i64 {
        let ms = self.slot_ms + slot.saturating_sub(clock.slot) * SLOT_MS;
        clock.unix_timestamp + (ms / 1_000) as i64
    }

    /// Every byte and lamport of `keys`, to compare before and after a failed transaction.
    pub async fn snapshot(&mut self, keys: &[Pubkey]) -> Vec<Option<Account>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.raw_account(*k).await);
        }
        out
    }
}

use anchor_lang::solana_program::program_pack::Pack;

/// Replace every occurrence of account `from` in `ix` by `to` (to mount attacks).
pub fn swap_account(mut ix: Instruction, from: Pubkey, to: Pubkey) -> Instruction {
    for m in ix.accounts.iter_mut().filter(|m| m.pubkey == from) {
        m.pubkey = to;
    }
    ix
}

/// Mark `key` as not signing in `ix` (a missing-signer attack).
pub fn unsign(mut ix: Instruction, key: Pubkey) -> Instruction {
    for m in ix.accounts.iter_mut().filter(|m| m.pubkey == key) {
        m.is_signer = false;
    }
    ix
}
