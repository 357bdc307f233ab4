//! The footprint scenario: one deterministic bank world in which every
//! measured instruction runs exactly once, as the transaction a real client
//! would send (the signer pays, no compute-budget instruction).
//!
//! This file is shared: the bench binary (`lt-bench`) uses it as a module and
//! `tests/tests/footprint.rs` includes it with `#[path]`, so the byte and CPI
//! counts the test asserts are exactly the ones `docs/footprint.md` reports. It
//! therefore uses only crates both packages depend on.
//!
//! Determinism (needed for repeatable callgrind counts): every keypair comes
//! from a fixed seed, the oracle and treasury are fixed addresses, slots are
//! warped explicitly and prices are fixed. The PDAs, their bumps (and so the
//! number of `find_program_address` attempts an `init` makes) and every
//! amount are the same in every run.

#![allow(dead_code)]

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use leveraged_token::constants::PAUSE_MINT;
use leveraged_token::state::{Request, RequestKind};
use leveraged_token_harness::bank::TxOutcome;
use leveraged_token_harness::deployment::{Oracle, PriceStatus};
use leveraged_token_harness::heap::{self, HeapUse};
use leveraged_token_harness::sbf;
use leveraged_token_sdk::{defaults, ix, pda, MarketKeys, OracleKind, TokenKeys};
use solana_account::{Account, AccountSharedData};
use solana_keypair::Keypair;
use solana_program_test::{processor, ProgramTestContext};
use solana_signer::Signer;
use solana_transaction::Transaction;

/// Largest serialized transaction a validator accepts (IPv6 MTU − headers).
pub const PACKET_DATA_SIZE: usize = 1_232;
pub const DECIMALS: u8 = 6;
pub const USDC: u64 = 1_000_000;
pub use leveraged_token_harness::deployment::USD;
pub const LONG_3X: i32 = 30_000;
/// SPL Token program id, as it appears in the logs.
pub const SPL_TOKEN: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
pub const SYSTEM_PROGRAM: &str = "11111111111111111111111111111111";

/// The instructions measured, in the order the scenario runs them: every
/// user flow is a request (by its owner) and its execution (by the keeper,
/// at the oracle update for the request's price time); `cancel_request`
/// returns an expired request.
pub const MEASURED: [&str; 13] = [
    "initialize_config",
    "create_market",
    "request_deposit",
    "execute_deposit",
    "create_leveraged_token",
    "request_mint",
    "execute_mint",
    "rebalance",
    "request_redeem",
    "execute_redeem",
    "request_withdraw",
    "execute_withdraw",
    "cancel_request",
];

/// The requests' nonces (fixed, so their PDAs and bumps are the same in every run).
pub const NONCE_DEPOSIT: u64 = 1;
pub const NONCE_MINT: u64 = 2;
pub const NONCE_REDEEM: u64 = 3;
pub const NONCE_WITHDRAW: u64 = 4;
/// The mint request left to expire and cancelled.
pub const NONCE_CANCELLED: u64 = 5;

/// The program's other instructions, sent once each after [`MEASURED`] by
/// [`World::run_rest`] for their heap use (and, running the `.so`, their
/// compute units); their transactions are not part of the byte/CPI tables.
pub const ALSO_SENT: [&str; 11] = [
    "collect_fees",
    "propose_market_params",
    "propose_token_params",
    "apply_market_params",
    "apply_token_params",
    "cancel_param_proposal",
    "set_global_pause",
    "set_market_pause",
    "set_token_pause",
    "propose_admin",
    "accept_admin",
];

/// A keypair from a fixed seed: the same address in every run.
pub fn seeded(n: u8) -> Keypair {
    Keypair::new_from_array([n; 32])
}

/// The program's entrypoint, called through an opaque function pointer so that
/// `leveraged_token::entry` stays an out-of-line function even under fat LTO:
/// callgrind toggles collection on that symbol. `processor!` needs one
/// lifetime, so the inputs are leaked (a few hundred bytes per instruction),
/// outside the measured function. `heap::measure` counts what `entry` itself
/// allocates (when the binary installs the counting allocator).
fn process_instruction(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let program_id: &'static Pubkey = Box::leak(Box::new(*program_id));
    let accounts: &[AccountInfo] = Box::leak(accounts.to_vec().into_boxed_slice());
    let data: &'static [u8] = Box::leak(data.to_vec().into_boxed_slice());
    let entry: for<'a> fn(&'a Pubkey, &'a [AccountInfo<'a>], &'a [u8]) -> ProgramResult = std::hint::black_box(leveraged_token::entry);
    heap::measure(accounts, data, || entry(program_id, accounts, data))
}

/// A minimal bank: the program natively (through [`process_instruction`]), or
/// its `.so` when SBF_OUT_DIR/BPF_OUT_DIR is set (`harness::sbf`); SPL Token as
/// the real BPF program.
pub struct Harness {
    pub ctx: ProgramTestContext,
    nonce: u32,
    /// Milliseconds of warped slots not yet added to the clock's unix time.
    slot_ms: u64,
}

impl Harness {
    pub async fn new() -> Self {
        let pt = sbf::program_test(|pt| pt.add_program(sbf::PROGRAM_NAME, leveraged_token::ID, processor!(process_instruction)));
        Self { ctx: sbf::start(pt).await, nonce: 0, slot_ms: 0 }
    }

    pub async fn process(&mut self, tx: Transaction) -> TxOutcome {
        TxOutcome::of(&mut self.ctx.banks_client, tx).await
    }

    /// A setup transaction: the context payer pays, a per-call compute-budget
    /// instruction keeps identical instruction lists distinct.
    pub async fn setup(&mut self, ixs: &[Instruction], signers: &[&Keypair]) {
        self.nonce += 1;
        let mut all = vec![solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(1_400_000 - self.nonce)];
        all.extend_from_slice(ixs);
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        let mut keys: Vec<&Keypair> = vec![&self.ctx.payer];
        keys.extend(signers.iter().copied().filter(|k| k.pubkey() != self.ctx.payer.pubkey()));
        let tx = Transaction::new_signed_with_payer(&all, Some(&self.ctx.payer.pubkey()), &keys, blockhash);
        self.process(tx).await.expect_ok("setup transaction");
    }

    /// The transaction a client sends for `ix`: `signer` signs and pays, no
    /// compute-budget instruction.
    pub async fn client_tx(&mut self, ix: &Instruction, signer: &Keypair) -> Transaction {
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.expect("blockhash");
        Transaction::new_signed_with_payer(std::slice::from_ref(ix), Some(&signer.pubkey()), &[signer], blockhash)
    }

    pub fn set_account(&mut self, key: Pubkey, lamports: u64, data: Vec<u8>, owner: Pubkey) {
        let acc = Account { lamports, data, owner, executable: false, rent_epoch: 0 };
        self.ctx.set_account(&key, &AccountSharedData::from(acc));
    }

    /// Move the clock's unix time forward by `secs` (past a parameter delay).
    pub async fn advance_time(&mut self, secs: i64) {
        let mut clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        clock.unix_timestamp += secs;
        self.ctx.set_sysvar(&clock);
    }

    /// Give `key` 100 SOL (a system account).
    pub fn fund(&mut self, key: Pubkey) {
        self.set_account(key, 100_000_000_000, vec![], anchor_lang::solana_program::system_program::ID);
    }

    pub async fn raw_account(&mut self, key: Pubkey) -> Option<Account> {
        self.ctx.banks_client.get_account(key).await.expect("get_account")
    }

    pub async fn slot(&mut self) -> u64 {
        self.ctx.banks_client.get_sysvar::<anchor_lang::prelude::Clock>().await.expect("clock").slot
    }

    /// Advance by `slots` slots, and the clock's unix time by 400 ms a slot
    /// as on a cluster (as `harness::bank::Bank::warp` does).
    pub async fn warp(&mut self, slots: u64) {
        let before: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        self.ctx.warp_to_slot(before.slot + slots).expect("warp");
        self.slot_ms += slots * leveraged_token::constants::SLOT_MS;
        let mut clock: anchor_lang::prelude::Clock = self.ctx.banks_client.get_sysvar().await.expect("clock");
        clock.unix_timestamp = before.unix_timestamp + (self.slot_ms / 1_000) as i64;
        self.slot_ms %= 1_000;
        self.ctx.set_sysvar(&clock);
    }

    /// Create `owner`'s associated token account of `mint` (the payer pays).
    pub async fn create_ata(&mut self, owner: Pubkey, mint: Pubkey) -> Pubkey {
        let payer = self.ctx.payer.pubkey();
        self.setup(&[ix::create_associated_token_account(payer, owner, mint)], &[]).await;
        pda::associated_token(&owner, &mint)
    }

    pub async fn create_mint(&mut self, mint: &Keypair, decimals: u8, authority: &Pubkey) -> Pubkey {
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let space = spl_token::state::Mint::LEN;
        let payer = self.ctx.payer.pubkey();
        let ixs = [
            anchor_lang::solana_program::system_instruction::create_account(&payer, &mint.pubkey(), rent.minimum_balance(space), space as u64, &spl_token::ID),
            spl_token::instruction::initialize_mint2(&spl_token::ID, &mint.pubkey(), authority, None, decimals).unwrap(),
        ];
        self.setup(&ixs, &[mint]).await;
        mint.pubkey()
    }

    pub async fn create_token_account(&mut self, account: &Keypair, mint: Pubkey, owner: Pubkey) -> Pubkey {
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let space = spl_token::state::Account::LEN;
        let payer = self.ctx.payer.pubkey();
        let ixs = [
            anchor_lang::solana_program::system_instruction::create_account(&payer, &account.pubkey(), rent.minimum_balance(space), space as u64, &spl_token::ID),
            spl_token::instruction::initialize_account3(&spl_token::ID, &account.pubkey(), &mint, &owner).unwrap(),
        ];
        self.setup(&ixs, &[account]).await;
        account.pubkey()
    }

    pub async fn mint_to(&mut self, mint: Pubkey, authority: &Keypair, account: Pubkey, amount: u64) {
        let ix = spl_token::instruction::mint_to(&spl_token::ID, &mint, &account, &authority.pubkey(), &[], amount).unwrap();
        self.setup(&[ix], &[authority]).await;
    }

    pub async fn token_balance(&mut self, account: Pubkey) -> u64 {
        let acc = self.raw_account(account).await.expect("token account");
        spl_token::state::Account::unpack(&acc.data).expect("token account data").amount
    }
}

/// Wire size of a legacy transaction: compact-u16 signature count, 64 bytes per
/// signature, then the serialized message. Equal to `bincode::serialize(tx).len()`
/// (the bench checks both).
pub fn tx_wire_size(tx: &Transaction) -> usize {
    compact_u16_len(tx.signatures.len()) + 64 * tx.signatures.len() + tx.message_data().len()
}

pub fn compact_u16_len(n: usize) -> usize {
    match n {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

/// One cross-program invocation our program made, read from the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpi {
    /// Callee program id.
    pub program: String,
    /// `Instruction: X` the callee logged, if any (SPL Token logs its own).
    pub instruction: Option<String>,
    /// Compute units the callee reported (BPF callees only; builtins are not metered in the logs).
    pub consumed: Option<u64>,
}

/// The CPIs made by the top-level invocation of `program` in `logs`.
///
/// Native-mode quirk: solana-program-test runs our program natively and
/// performs its CPIs in `SyscallStubs::sol_invoke_signed`, which logs
/// `Program <callee> invoke [1]` (the caller's stack height) before it hands
/// the instruction to the runtime, whose loader then logs the same callee
/// again as `invoke [2]` (and after it, two `success` lines). A validator logs
/// only the `[2]` line. Counting every `Program Tokenkeg… invoke` line would
/// therefore double the count. Each CPI is counted once, at the stub's line
/// (one per CPI, BPF or builtin callee alike); the runtime's `[2]` line must
/// follow it at once and is checked, not counted. Our own top-level
/// invocation is logged twice as `invoke [1]` for the same reason (runtime,
/// then program-test's builtin wrapper). Running the program's `.so`
/// (`harness::sbf`) the logs are a validator's: each CPI is the runtime's
/// `invoke [2]` line alone, and is counted there.
pub fn cpis_of(logs: &[String], program: &Pubkey) -> Vec<Cpi> {
    let top = format!("Program {program} invoke [1]");
    let ours_done = [format!("Program {program} success"), format!("Program {program} failed")];
    let mut out: Vec<Cpi> = Vec::new();
    let mut inside = false;
    let mut expect_runtime_line: Option<String> = None;
    for line in logs {
        if !inside {
            inside = *line == top;
            continue;
        }
        if ours_done.iter().any(|d| line.starts_with(d.as_str())) {
            break;
        }
        if *line == top {
            // The same quirk at the top level: the runtime logs our builtin's
            // invocation, then program-test's wrapper logs it again.
            continue;
        }
        if let Some(rest) = line.strip_prefix("Program ") {
            if let Some(callee) = rest.strip_suffix(" invoke [1]") {
                out.push(Cpi { program: callee.to_string(), instruction: None, consumed: None });
                expect_runtime_line = Some(format!("Program {callee} invoke [2]"));
                continue;
            }
            if let Some(want) = expect_runtime_line.take() {
                assert_eq!(*line, want, "a CPI stub line not followed by the runtime's invoke line\n{}", logs.join("\n"));
                continue;
            }
            if let Some(callee) = rest.strip_suffix(" invoke [2]") {
                // No stub line before it: the program runs as SBF.
                out.push(Cpi { program: callee.to_string(), instruction: None, consumed: None });
                continue;
            }
            if rest.contains(" invoke [") {
                panic!("unexpected invoke line inside our program: {line}\n{}", logs.join("\n"));
            }
            if let Some(last) = out.last_mut() {
                if let Some(name) = rest.strip_prefix("log: Instruction: ") {
                    if last.instruction.is_none() {
                        last.instruction = Some(name.to_string());
                    }
                } else if let Some(tail) = rest.strip_prefix(&format!("{} consumed ", last.program)) {
                    last.consumed = tail.split_whitespace().next().and_then(|n| n.parse().ok());
                }
            }
        }
    }
    out
}

/// Byte lengths of the Anchor events (`Program data: <base64>`) in `logs`.
pub fn event_sizes(logs: &[String]) -> Vec<usize> {
    logs.iter()
        .filter_map(|l| l.split_once("Program data: ").map(|(_, b)| b.trim()))
        .map(|b| {
            let pad = b.bytes().rev().take_while(|&c| c == b'=').count();
            b.len() / 4 * 3 - pad
        })
        .collect()
}

/// Everything measured about one instruction's transaction.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: &'static str,
    /// Serialized legacy transaction, signatures included.
    pub tx_bytes: usize,
    /// The same with `SetComputeUnitLimit` and `SetComputeUnitPrice` in front
    /// (what a keeper or wallet sends with a priority fee); built, not sent.
    pub tx_bytes_with_budget: usize,
    pub signatures: usize,
    /// Distinct account keys in the message (program id and fee payer included).
    pub tx_accounts: usize,
    /// Account metas of the instruction itself.
    pub ix_accounts: usize,
    pub ix_data_bytes: usize,
    pub cpis: Vec<Cpi>,
    pub events: Vec<usize>,
    pub logs: Vec<String>,
    pub tx: Transaction,
    /// SBF heap use of the program's entry point (native runs in a binary
    /// that installs `heap::Counting`; `None` otherwise).
    pub heap: Option<HeapUse>,
    /// Compute units the program consumed, CPIs included (only when the bank
    /// runs the `.so`; natively the program is metered as 1 CU).
    pub cu: Option<u64>,
}

impl Measured {
    pub fn cpi_count(&self, program: &str) -> usize {
        self.cpis.iter().filter(|c| c.program == program).count()
    }
}

/// Heap and compute units of one instruction the scenario sent (every
/// instruction of the program: [`MEASURED`] then [`ALSO_SENT`]).
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub name: &'static str,
    pub heap: Option<HeapUse>,
    pub cu: Option<u64>,
}

/// The compute units `program`'s top-level invocation consumed, from its
/// `Program <id> consumed N of M compute units` line (a validator's and the
/// SBF bank's logs; CPIs included).
pub fn consumed_by(logs: &[String], program: &Pubkey) -> Option<u64> {
    let prefix = format!("Program {program} consumed ");
    logs.iter().rev().find_map(|l| l.strip_prefix(&prefix)).and_then(|t| t.split_whitespace().next()).and_then(|n| n.parse().ok())
}

/// The heap use the processor wrapper recorded for the transaction just
/// processed, checked to be `name`'s.
fn heap_of(name: &str) -> Option<HeapUse> {
    heap::take_last().map(|(n, u)| {
        assert_eq!(n, name, "the heap measurement is another instruction's");
        u
    })
}

/// A point the scenario reports around each measured transaction (the bench
/// turns these into callgrind client requests).
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    Before(&'static str),
    After(&'static str),
}

pub type Hook = Box<dyn FnMut(Mark)>;

/// An actor with its token accounts.
pub struct Actor {
    pub kp: Keypair,
    pub collateral: Pubkey,
    pub lp: Pubkey,
    pub shares: Pubkey,
}

impl Actor {
    pub fn key(&self) -> Pubkey {
        self.kp.pubkey()
    }
}

/// A request the scenario made (for its PDA work, see `report::find_attempts`).
#[derive(Debug, Clone, Copy)]
pub struct RequestMade {
    /// The measured `request_*` instruction.
    pub name: &'static str,
    pub kind: RequestKind,
    pub owner: Pubkey,
    pub nonce: u64,
    /// The mint it pays in and the one it pays out in.
    pub pay_mint: Pubkey,
    pub out_mint: Pubkey,
}

/// The deterministic world: config, one legacy-oracle market at $100 with
/// 1,000,000 USDC of liquidity (after `request_deposit` and
/// `execute_deposit`), a 3x long token.
pub struct World {
    pub h: Harness,
    pub admin: Keypair,
    pub minter: Keypair,
    pub treasury: Pubkey,
    pub market: MarketKeys,
    pub token: TokenKeys,
    pub lp: Actor,
    pub alice: Actor,
    pub keeper: Actor,
    pub price: i64,
    pub conf: u64,
    pub measured: Vec<Measured>,
    /// Heap and CU of every instruction sent by [`World::run`] and [`World::run_rest`], in order.
    pub usage: Vec<Usage>,
    /// The measured requests, in order.
    pub requests: Vec<RequestMade>,
    /// The request and escrow accounts of `request_mint`, as it created them
    /// (an execution or a cancel closes them).
    pub request_accounts: Vec<AccountFootprint>,
    hook: Hook,
}

impl World {
    /// Bank, admin, collateral mint and oracle; no program instruction yet.
    pub async fn bare(hook: Hook) -> Self {
        let mut h = Harness::new().await;
        let admin = seeded(1);
        h.fund(admin.pubkey());
        let minter = seeded(5);
        let collateral = h.create_mint(&seeded(10), DECIMALS, &minter.pubkey()).await;
        let oracle = Pubkey::new_from_array([0x0a; 32]);
        let market = MarketKeys::legacy(oracle, collateral);
        let token = market.token(LONG_3X);
        let stub = |n: u8| Actor { kp: seeded(n), collateral: Pubkey::default(), lp: Pubkey::default(), shares: Pubkey::default() };
        let mut w = World {
            h,
            admin,
            minter,
            treasury: Pubkey::new_from_array([0x09; 32]),
            market,
            token,
            lp: stub(2),
            alice: stub(3),
            keeper: stub(4),
            price: 100 * USD,
            conf: 5 * USD as u64 / 100,
            measured: Vec::new(),
            usage: Vec::new(),
            requests: Vec::new(),
            request_accounts: Vec::new(),
            hook,
        };
        w.publish().await;
        w
    }

    /// Write the current price to the oracle, published at the current slot.
    pub async fn publish(&mut self) {
        let slot = self.h.slot().await;
        let oracle = Oracle::legacy(self.market.oracle);
        // A legacy account: no publish time.
        self.h.set_account(oracle.key, 1_000_000_000, oracle.data(self.price, self.conf, slot, 0, PriceStatus::Trading), oracle.owner());
    }

    pub async fn set_price(&mut self, price: i64) {
        self.price = price;
        self.publish().await;
    }

    pub async fn warp(&mut self, slots: u64) {
        self.h.warp(slots).await;
        self.publish().await;
    }

    /// An actor (keypair from `seed`) funded with SOL and `collateral_amount`
    /// USDC, with associated token accounts of the collateral and LP mints and,
    /// `with_shares`, of the 3x token's share mint (requests pay from and to them).
    pub async fn actor(&mut self, seed: u8, collateral_amount: u64, with_shares: bool) -> Actor {
        let kp = seeded(seed);
        self.h.fund(kp.pubkey());
        let collateral = self.h.create_ata(kp.pubkey(), self.market.collateral_mint).await;
        if collateral_amount > 0 {
            let minter = self.minter.insecure_clone();
            self.h.mint_to(self.market.collateral_mint, &minter, collateral, collateral_amount).await;
        }
        let lp = self.h.create_ata(kp.pubkey(), self.market.lp_mint).await;
        let shares = if with_shares { self.h.create_ata(kp.pubkey(), self.token.share_mint).await } else { Pubkey::default() };
        Actor { kp, collateral, lp, shares }
    }

    /// The request `owner` made with `nonce`.
    pub async fn request(&mut self, owner: Pubkey, nonce: u64) -> Request {
        let acc = self.h.raw_account(pda::request(&owner, nonce).0).await.expect("request account");
        anchor_lang::AccountDeserialize::try_deserialize(&mut acc.data.as_slice()).expect("decode request")
    }

    /// Warp to the slot of the request's price time and publish the oracle
    /// update for it (legacy: published at that slot, the previous one a
    /// slot before), so exactly this update is the one its execution takes.
    pub async fn reach_target(&mut self, owner: Pubkey, nonce: u64) {
        let target = u64::try_from(self.request(owner, nonce).await.target).expect("a legacy request's target is a slot");
        let slot = self.h.slot().await;
        assert!(slot < target, "the request's price time {target} is ahead of slot {slot}");
        self.warp(target - slot).await;
    }

    /// Measure the request `ix` (`name`, `kind`, by `owner` with `nonce`,
    /// paying in `pay_mint` and paid in `out_mint`).
    #[allow(clippy::too_many_arguments)]
    async fn measure_request(&mut self, name: &'static str, kind: RequestKind, ix: Instruction, owner: &Keypair, nonce: u64, pay_mint: Pubkey, out_mint: Pubkey) {
        self.measure(name, ix, owner).await;
        self.requests.push(RequestMade { name, kind, owner: owner.pubkey(), nonce, pay_mint, out_mint });
    }

    /// Reach the price time of `owner`'s request `nonce` and measure its
    /// execution (`name`) by the keeper.
    async fn measure_execution(&mut self, name: &'static str, kind: RequestKind, owner: Pubkey, nonce: u64) {
        self.reach_target(owner, nonce).await;
        let keeper = self.keeper.kp.insecure_clone();
        let (m, t) = (self.market, self.token);
        let token = matches!(kind, RequestKind::Mint | RequestKind::Redeem).then_some(&t);
        // An LP execution names every token of the market: the one token once it exists.
        let market_tokens: Vec<TokenKeys> = self.h.raw_account(t.token).await.map(|_| t).into_iter().collect();
        self.measure(name, ix::execute(keeper.pubkey(), kind, owner, nonce, &m, token, m.oracle, &market_tokens), &keeper).await;
    }

    /// Send `ix` as its client would, unmeasured; panics if it fails.
    pub async fn send(&mut self, ix: Instruction, signer: &Keypair) -> Vec<String> {
        let tx = self.h.client_tx(&ix, signer).await;
        self.h.process(tx).await.expect_ok("transaction")
    }

    /// Send `ix` as its client would (signed and paid by `signer`), once, and
    /// record its footprint. Panics if it fails.
    pub async fn measure(&mut self, name: &'static str, ix: Instruction, signer: &Keypair) -> Measured {
        let tx = self.h.client_tx(&ix, signer).await;
        let _ = heap::take_last();
        (self.hook)(Mark::Before(name));
        let out = self.h.process(tx.clone()).await;
        (self.hook)(Mark::After(name));
        let heap = heap_of(name);
        let logs = out.expect_ok(name);
        let with_budget = {
            use solana_compute_budget_interface::ComputeBudgetInstruction as Cb;
            let ixs = [Cb::set_compute_unit_limit(200_000), Cb::set_compute_unit_price(1_000), ix.clone()];
            Transaction::new_signed_with_payer(&ixs, Some(&signer.pubkey()), &[signer], tx.message.recent_blockhash)
        };
        let m = Measured {
            name,
            tx_bytes: tx_wire_size(&tx),
            tx_bytes_with_budget: tx_wire_size(&with_budget),
            signatures: tx.signatures.len(),
            tx_accounts: tx.message.account_keys.len(),
            ix_accounts: ix.accounts.len(),
            ix_data_bytes: ix.data.len(),
            cpis: cpis_of(&logs, &leveraged_token::ID),
            events: event_sizes(&logs),
            cu: consumed_by(&logs, &leveraged_token::ID).filter(|_| sbf::runs_sbf()),
            logs,
            tx,
            heap,
        };
        self.usage.push(Usage { name, heap: m.heap, cu: m.cu });
        self.measured.push(m.clone());
        m
    }

    /// Send `ix` as its client would, once, and record only its heap use and
    /// compute units. Panics if it fails.
    pub async fn send_for_usage(&mut self, name: &'static str, ix: Instruction, signer: &Keypair) {
        let tx = self.h.client_tx(&ix, signer).await;
        let _ = heap::take_last();
        let out = self.h.process(tx).await;
        let heap = heap_of(name);
        let logs = out.expect_ok(name);
        let cu = consumed_by(&logs, &leveraged_token::ID).filter(|_| sbf::runs_sbf());
        self.usage.push(Usage { name, heap, cu });
    }

    /// After [`World::run`]: send each of [`ALSO_SENT`] once — collect the
    /// fees `execute_mint` and `execute_redeem` charged, propose both parameter sets at their
    /// current values, wait out the delay and apply them, cancel a third
    /// proposal, pause minting globally, on the market and on the token, and
    /// hand the admin role to a new key.
    pub async fn run_rest(&mut self) {
        let admin = self.admin.insecure_clone();
        let a = admin.pubkey();
        let (m, t) = (self.market, self.token);
        let treasury_collateral = self.h.create_token_account(&seeded(50), m.collateral_mint, self.treasury).await;
        let (mp, tp) = (defaults::market_params(), defaults::responsive_token_params(LONG_3X, USDC));
        self.send_for_usage("collect_fees", ix::collect_fees(&t, treasury_collateral), &self.keeper.kp.insecure_clone()).await;
        self.send_for_usage("propose_market_params", ix::propose_market_params(a, m.market, mp), &admin).await;
        self.send_for_usage("propose_token_params", ix::propose_token_params(a, t.token, tp), &admin).await;
        self.h.advance_time(leveraged_token::constants::MIN_PARAM_DELAY_SECS).await;
        self.send_for_usage("apply_market_params", ix::apply_market_params(m.market, a), &admin).await;
        self.send_for_usage("apply_token_params", ix::apply_token_params(&t, a), &admin).await;
        self.h.setup(&[ix::propose_market_params(a, m.market, mp)], &[&admin]).await;
        self.send_for_usage("cancel_param_proposal", ix::cancel_param_proposal(a, m.market, a), &admin).await;
        let steps: [(&'static str, Instruction); 3] = [
            ("set_global_pause", ix::set_global_pause(a, PAUSE_MINT, true)),
            ("set_market_pause", ix::set_market_pause(a, m.market, PAUSE_MINT, true)),
            ("set_token_pause", ix::set_token_pause(a, t.token, PAUSE_MINT, true)),
        ];
        for (name, ix) in steps {
            self.send_for_usage(name, ix, &admin).await;
        }
        let new_admin = seeded(6);
        self.h.fund(new_admin.pubkey());
        self.send_for_usage("propose_admin", ix::propose_admin(a, new_admin.pubkey()), &admin).await;
        self.send_for_usage("accept_admin", ix::accept_admin(new_admin.pubkey()), &new_admin).await;
        assert_eq!(self.usage.iter().map(|u| u.name).collect::<Vec<_>>(), MEASURED.iter().chain(ALSO_SENT.iter()).copied().collect::<Vec<_>>());
    }

    /// Run every measured instruction once, in [`MEASURED`] order.
    pub async fn run(hook: Hook) -> Self {
        let mut w = World::bare(hook).await;
        let admin = w.admin.insecure_clone();
        let a = admin.pubkey();

        w.measure("initialize_config", ix::initialize_config(a, w.treasury, leveraged_token::constants::MIN_PARAM_DELAY_SECS), &admin).await;
        let ix = ix::create_market(a, &w.market, OracleKind::PythLegacy, defaults::market_params(), None);
        w.measure("create_market", ix, &admin).await;

        // The keeper executes every request (and earns its executor fee).
        w.keeper = w.actor(40, 0, false).await;
        w.lp = w.actor(20, 1_000_000 * USDC, false).await;
        let (lp, m) = (w.lp.kp.insecure_clone(), w.market);
        let ix = ix::request_deposit(lp.pubkey(), &m, NONCE_DEPOSIT, 1_000_000 * USDC, 0);
        w.measure_request("request_deposit", RequestKind::Deposit, ix, &lp, NONCE_DEPOSIT, m.collateral_mint, m.lp_mint).await;
        w.measure_execution("execute_deposit", RequestKind::Deposit, lp.pubkey(), NONCE_DEPOSIT).await;

        // The tight set, so the scenario's price move opens the rebalance gate.
        let ix = ix::create_leveraged_token(a, &w.token, defaults::responsive_token_params(LONG_3X, USDC));
        w.measure("create_leveraged_token", ix, &admin).await;

        w.alice = w.actor(30, 100_000 * USDC, true).await;
        let (alice, t) = (w.alice.kp.insecure_clone(), w.token);
        let ix = ix::request_mint(alice.pubkey(), &t, NONCE_MINT, 10_000 * USDC, 0);
        w.measure_request("request_mint", RequestKind::Mint, ix, &alice, NONCE_MINT, m.collateral_mint, t.share_mint).await;
        // Their rent-exempt deposits: the request also holds the executor fee, on top.
        let fee = w.request(alice.pubkey(), NONCE_MINT).await.executor_fee;
        let (request, _) = pda::request(&alice.pubkey(), NONCE_MINT);
        for (what, key, held) in [("Request (besides its executor fee)", request, fee), ("request escrow (SPL token account)", pda::escrow(&request).0, 0)] {
            let acc = w.h.raw_account(key).await.unwrap_or_else(|| panic!("{what} missing"));
            w.request_accounts.push(AccountFootprint { what, created_by: "request_mint", bytes: acc.data.len(), lamports: acc.lamports - held, owner: acc.owner });
        }
        w.measure_execution("execute_mint", RequestKind::Mint, alice.pubkey(), NONCE_MINT).await;

        // +11 %: past the 10 % deviation trigger of the 3x long.
        w.warp(10).await;
        w.set_price(111 * USD).await;
        let keeper = w.keeper.kp.insecure_clone();
        let ix = ix::rebalance(keeper.pubkey(), &t, w.keeper.collateral);
        w.measure("rebalance", ix, &keeper).await;

        w.warp(10).await;
        let shares = w.h.token_balance(w.alice.shares).await / 2;
        let ix = ix::request_redeem(alice.pubkey(), &t, NONCE_REDEEM, shares, 0);
        w.measure_request("request_redeem", RequestKind::Redeem, ix, &alice, NONCE_REDEEM, t.share_mint, m.collateral_mint).await;
        w.measure_execution("execute_redeem", RequestKind::Redeem, alice.pubkey(), NONCE_REDEEM).await;

        // A withdrawal prices after the LP cooldown (an hour: 9,000 slots).
        let lp_shares = w.h.token_balance(w.lp.lp).await / 10;
        let ix = ix::request_withdraw(lp.pubkey(), &m, NONCE_WITHDRAW, lp_shares, 0);
        w.measure_request("request_withdraw", RequestKind::Withdraw, ix, &lp, NONCE_WITHDRAW, m.lp_mint, m.collateral_mint).await;
        w.measure_execution("execute_withdraw", RequestKind::Withdraw, lp.pubkey(), NONCE_WITHDRAW).await;

        // A mint request nobody executes: after its expiry anyone returns it.
        w.send(ix::request_mint(alice.pubkey(), &t, NONCE_CANCELLED, 1_000 * USDC, 0), &alice).await;
        let r = w.request(alice.pubkey(), NONCE_CANCELLED).await;
        let now: anchor_lang::prelude::Clock = w.h.ctx.banks_client.get_sysvar().await.expect("clock");
        w.h.advance_time(r.expires_at + 1 - now.unix_timestamp).await;
        let ix = ix::cancel_request(keeper.pubkey(), RequestKind::Mint, alice.pubkey(), NONCE_CANCELLED, &m, Some(t.share_mint));
        w.measure("cancel_request", ix, &keeper).await;
        w
    }

    pub fn get(&self, name: &str) -> &Measured {
        self.measured.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name} was not measured"))
    }

    /// Size and rent of every account the program creates, read from the bank
    /// (a request's two as `request_mint` created them).
    pub async fn accounts(&mut self) -> Vec<AccountFootprint> {
        let rows: [(&'static str, &'static str, Pubkey); 7] = [
            ("Config", "initialize_config", leveraged_token::pda::config().0),
            ("Market", "create_market", self.market.market),
            ("pool vault (SPL token account)", "create_market", self.market.pool_vault),
            ("LP mint (SPL mint)", "create_market", self.market.lp_mint),
            ("LeveragedToken", "create_leveraged_token", self.token.token),
            ("share mint (SPL mint)", "create_leveraged_token", self.token.share_mint),
            ("token vault (SPL token account)", "create_leveraged_token", self.token.vault),
        ];
        let mut out = Vec::new();
        for (what, created_by, key) in rows {
            let acc = self.h.raw_account(key).await.unwrap_or_else(|| panic!("{what} missing"));
            out.push(AccountFootprint { what, created_by, bytes: acc.data.len(), lamports: acc.lamports, owner: acc.owner });
        }
        out.extend(self.request_accounts.iter().cloned());
        out
    }
}

#[derive(Debug, Clone)]
pub struct AccountFootprint {
    pub what: &'static str,
    pub created_by: &'static str,
    pub bytes: usize,
    /// Lamports the account holds in the bank (its rent-exempt deposit).
    pub lamports: u64,
    pub owner: Pubkey,
}
