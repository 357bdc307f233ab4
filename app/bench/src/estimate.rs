//! An ON-PAPER compute-unit estimate per instruction. Nothing here is a
//! measurement of our program on SBF (there is no SBF toolchain on this
//! machine); it adds up:
//!
//! * **SPL Token** — the CU each SPL Token CPI really consumed in the bank
//!   (SPL Token runs there as the real BPF program and is metered; the bank
//!   logs `consumed N of M compute units`);
//! * **runtime charges** our program would pay, from the runtime's own cost
//!   table (`SVMTransactionExecutionCost` of solana-program-runtime 3.1.12):
//!   `invoke_units` per CPI, the system program's fixed 150 CU per
//!   `create_account`, `create_program_address_units` per PDA check and per
//!   `find_program_address` attempt, sysvar reads, `sol_log` and
//!   `sol_log_data` (events, by their real byte length);
//! * **Anchor's account handling**, per account by kind, from Anchor's own
//!   benchmark (anchor `bench/COMPUTE_UNITS.md`, Solana 2.3.0: the marginal
//!   cost of one more account of each kind, and the base of an instruction);
//! * **handler logic**: the program's own code (settlement, quotes, the gate,
//!   pool value, events, exit serialization), for which there is no SBF
//!   figure. It is taken as the native x86-64 instruction count of the entry
//!   point (callgrind, CPIs excluded) less Anchor's `try_accounts` (covered by
//!   the Anchor part; it also holds every natively computed PDA derivation,
//!   covered by the runtime part) and less program-test's stubs and the
//!   host-only logging, at 1 CU per native instruction. That ratio is an
//!   assumption (SBF has no 128-bit multiply, x86-64 has wider instructions),
//!   good to perhaps ±50 %.
//!
//! A PDA signer in a CPI is not charged separately by the runtime (the signer
//! derivation inside `invoke_signed` is free); only `invoke_units` and a byte
//! cost (data and metas / 250, zero at these sizes) are.

use crate::scenario::{Measured, SPL_TOKEN, SYSTEM_PROGRAM};
use solana_program_runtime::execution_budget::SVMTransactionExecutionCost;

/// Anchor's marginal CU per account of each kind, and the base of an
/// instruction, computed from the figures of anchor `bench/COMPUTE_UNITS.md`
/// (Solana 2.3.0) as they stand there.
pub mod anchor_bench {
    /// The marginal cost of one more account of a kind: the 8-account
    /// benchmark less the 1-account one, over 7, to the nearest unit.
    const fn per_account(eight: u64, one: u64) -> u64 {
        (eight - one + 3) / 7
    }

    /// uncheckedAccount8 and uncheckedAccount1.
    pub const UNCHECKED: u64 = per_account(2_833, 882);
    /// `uncheckedAccount1` less its one unchecked account.
    pub const BASE: u64 = 882 - UNCHECKED;
    /// signer8 and signer1.
    pub const SIGNER: u64 = per_account(2_941, 874);
    /// program8 and program1.
    pub const PROGRAM: u64 = per_account(1_879, 890);
    /// boxedAccountSized8 and boxedAccountSized1.
    pub const BOXED_STATE: u64 = per_account(3_935, 912);
    /// boxedInterfaceAccountMint8 and …Mint1.
    pub const MINT: u64 = per_account(4_064, 1_110);
    /// boxedInterfaceAccountToken8 and …Token1.
    pub const TOKEN_ACCOUNT: u64 = per_account(5_068, 1_246);
    /// `init` of one account beyond the account itself (boxedAccountSizedInit1
    /// 5,103 − boxedAccountSized1 912), less the system-program CPI counted
    /// separately here (1,000 invoke + [`SYSTEM_PROGRAM_CU`](super::SYSTEM_PROGRAM_CU)).
    pub const INIT_EXTRA: u64 = 5_103 - 912 - 1_000 - super::SYSTEM_PROGRAM_CU;
}

/// The system program's fixed cost per instruction (solana-system-program
/// 3.1.12 `DEFAULT_COMPUTE_UNITS`); the bank does not log it.
pub const SYSTEM_PROGRAM_CU: u64 = 150;

/// The accounts of one instruction by kind, and its PDA work, read off its
/// `#[derive(Accounts)]` struct.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub signers: u64,
    pub programs: u64,
    pub unchecked: u64,
    /// `Box<Account<Config | Market | LeveragedToken>>` that exist already.
    pub state: u64,
    pub mints: u64,
    pub token_accounts: u64,
    /// Accounts created with `init` (counted here, not in the kinds above).
    pub inits: u64,
    /// `seeds = […], bump = stored` checks: one `create_program_address` each.
    pub pda_checks: u64,
    pub clock_reads: u64,
    /// `Rent::get` calls outside Anchor's `init` (a request creates its two accounts itself).
    pub rent_reads: u64,
}

/// The shape of each measured instruction (from programs/leveraged-token/src/instructions).
pub fn shape(name: &str) -> Shape {
    let s = Shape::default();
    match name {
        // admin, config (init), system_program
        "initialize_config" => Shape { signers: 1, programs: 1, inits: 1, ..s },
        // admin, config, collateral_mint, oracle, market/pool_vault/lp_mint (init), token & system programs
        "create_market" => Shape { signers: 1, programs: 2, unchecked: 1, state: 1, mints: 1, inits: 3, pda_checks: 1, clock_reads: 1, ..s },
        // admin, config, market, collateral_mint, token/share_mint/vault (init), token & system programs
        "create_leveraged_token" => Shape { signers: 1, programs: 2, state: 2, mints: 1, inits: 3, pda_checks: 1, clock_reads: 1, ..s },
        // OpenAccounts: owner, config, market, request & escrow (unchecked, created by the handler, one
        // `Rent::get` each), pay_mint, source, destination (unchecked), token & system programs; + token
        "request_mint" | "request_redeem" => Shape { signers: 1, programs: 2, unchecked: 3, state: 3, mints: 1, token_accounts: 1, pda_checks: 1, clock_reads: 1, rent_reads: 2, ..s },
        "request_deposit" | "request_withdraw" => Shape { signers: 1, programs: 2, unchecked: 3, state: 2, mints: 1, token_accounts: 1, pda_checks: 1, clock_reads: 1, rent_reads: 2, ..s },
        // RequestAccounts: request, executor, owner (unchecked), escrow, destination, refund_to, token_program;
        // PositionAccounts: config, market, token, oracle, token_vault, pool_vault; share_mint
        "execute_mint" | "execute_redeem" => Shape { signers: 1, programs: 1, unchecked: 2, state: 4, mints: 1, token_accounts: 5, pda_checks: 1, clock_reads: 1, ..s },
        // RequestAccounts; PoolAccounts: config, market, oracle, pool_vault, lp_mint
        "execute_deposit" | "execute_withdraw" => Shape { signers: 1, programs: 1, unchecked: 2, state: 3, mints: 1, token_accounts: 4, pda_checks: 1, clock_reads: 1, ..s },
        // RequestAccounts
        "cancel_request" => Shape { signers: 1, programs: 1, unchecked: 1, state: 1, token_accounts: 3, clock_reads: 1, ..s },
        // caller, config, market, token, oracle, token_vault, pool_vault, caller_collateral, token_program
        "rebalance" => Shape { signers: 1, programs: 1, unchecked: 1, state: 3, token_accounts: 3, pda_checks: 1, clock_reads: 1, ..s },
        other => panic!("no shape for {other}"),
    }
}

/// One instruction's estimate, by component.
#[derive(Debug, Clone, Default)]
pub struct Estimate {
    /// Measured: Σ CU of the SPL Token CPIs in the bank.
    pub spl_token: u64,
    /// Runtime charges: invoke units, system program, PDA derivations, sysvars, logs, events.
    pub runtime: u64,
    /// Anchor account handling (assumed, from Anchor's benchmark).
    pub anchor: u64,
    /// Handler logic (assumed: native instructions × 1).
    pub handler: u64,
    /// Lines that say how each part was reached.
    pub notes: Vec<String>,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.spl_token + self.runtime + self.anchor + self.handler
    }
}

/// The estimate for `m`. `find_attempts` is the number of `find_program_address`
/// attempts its `init`s made (256 − bump, summed), `handler_native` the native
/// instruction count of the handler's own logic (None without callgrind).
pub fn estimate(m: &Measured, find_attempts: u64, handler_native: Option<u64>) -> Estimate {
    let cost = SVMTransactionExecutionCost::default();
    let s = shape(m.name);
    let mut e = Estimate::default();

    let spl: Vec<&crate::scenario::Cpi> = m.cpis.iter().filter(|c| c.program == SPL_TOKEN).collect();
    e.spl_token = spl.iter().map(|c| c.consumed.expect("SPL Token logs its CU")).sum();
    let names: Vec<String> = spl.iter().map(|c| format!("{} {}", c.instruction.as_deref().unwrap_or("?"), c.consumed.unwrap_or(0))).collect();
    e.notes.push(format!("SPL Token (measured): {}", if names.is_empty() { "none".to_string() } else { names.join(" + ") }));

    let system = m.cpi_count(SYSTEM_PROGRAM) as u64;
    let cpis = m.cpis.len() as u64;
    let invoke = cpis * cost.invoke_units;
    let sys = system * SYSTEM_PROGRAM_CU;
    let pda = (s.pda_checks + find_attempts) * cost.create_program_address_units;
    let clock = s.clock_reads * (cost.sysvar_base_cost + std::mem::size_of::<anchor_lang::prelude::Clock>() as u64);
    let rent = (s.inits + s.rent_reads) * (cost.sysvar_base_cost + std::mem::size_of::<anchor_lang::prelude::Rent>() as u64);
    // Anchor logs "Instruction: <Name>" (one sol_log: max(100, len) CU).
    let ix_log = cost.syscall_base_cost;
    // emit!: sol_log_data with one field: base + base × fields + bytes.
    let events: u64 = m.events.iter().map(|&b| cost.syscall_base_cost * 2 + b as u64).sum();
    e.runtime = invoke + sys + pda + clock + rent + ix_log + events;
    e.notes.push(format!(
        "runtime: {cpis} CPI × {} invoke + {system} × {SYSTEM_PROGRAM_CU} system program + ({} PDA check + {find_attempts} find attempts) × {} + sysvars {} + log {ix_log} + {} event(s) {events}",
        cost.invoke_units,
        s.pda_checks,
        cost.create_program_address_units,
        clock + rent,
        m.events.len()
    ));

    use anchor_bench::*;
    e.anchor =
        BASE + s.signers * SIGNER + s.programs * PROGRAM + s.unchecked * UNCHECKED + s.state * BOXED_STATE + s.mints * MINT + s.token_accounts * TOKEN_ACCOUNT + s.inits * (BOXED_STATE + INIT_EXTRA);
    e.notes.push(format!(
        "Anchor (assumed, Anchor bench): base {BASE} + {} signer + {} program + {} unchecked + {} state + {} mint + {} token account + {} init",
        s.signers, s.programs, s.unchecked, s.state, s.mints, s.token_accounts, s.inits
    ));

    if let Some(h) = handler_native {
        e.handler = h;
        e.notes.push(format!("handler logic (assumed 1 CU per native instruction): {h}"));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::anchor_bench::*;
    use super::shape;
    use crate::scenario::{ALSO_SENT, MEASURED};

    #[test]
    fn the_scenario_sends_every_instruction_of_the_program_once_and_each_measured_one_has_a_shape() {
        let mut sent: Vec<&str> = MEASURED.iter().chain(ALSO_SENT.iter()).copied().collect();
        let mut all: Vec<&str> = leveraged_token_harness::heap::instructions().iter().map(|(n, _)| *n).collect();
        sent.sort_unstable();
        all.sort_unstable();
        assert_eq!(sent, all);
        for name in MEASURED {
            let s = shape(name);
            assert_eq!(s.signers, 1, "{name}: one signer");
        }
    }

    #[test]
    fn anchor_figures_are_the_benchmarks_marginals_rounded() {
        // (2,833 − 882) / 7 = 278.7, (3,935 − 912) / 7 = 431.9: rounded, not truncated.
        assert_eq!([BASE, SIGNER, PROGRAM, UNCHECKED, BOXED_STATE, MINT, TOKEN_ACCOUNT, INIT_EXTRA], [603, 295, 141, 279, 432, 422, 546, 3_041]);
    }
}
