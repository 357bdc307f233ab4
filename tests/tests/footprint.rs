//! Footprint: what each instruction's transaction costs in bytes, accounts
//! and CPIs, what each account costs in rent, and how much of the 32 KiB SBF
//! heap each instruction of the program takes. All of it is deterministic,
//! so it is asserted exactly here; a change that moves a figure must update the
//! expectation below (and regenerate docs/footprint.md with
//! `scripts/footprint.sh`). Instruction counts and timings are reported there,
//! never asserted.
//!
//! The scenario is app/bench's, included as a module, so the bench's report and
//! these assertions measure the same transactions.

// Linked for its `#[global_allocator]` (`harness::heap::Counting`): the heap test below.
extern crate leveraged_token_tests;

#[path = "../../app/bench/src/scenario.rs"]
mod scenario;

use anchor_lang::prelude::Rent;
use leveraged_token::state::{CONFIG_SPACE, MARKET_SPACE, REQUEST_SPACE, TOKEN_SPACE};
use leveraged_token_harness::{heap, sbf};
use scenario::*;

/// Per instruction: serialized transaction bytes (one signature, no
/// compute-budget instruction), account keys in the message, account metas of
/// the instruction, instruction data bytes, and the CPIs it makes in order
/// (`Sys` = system program `CreateAccount`, otherwise the SPL Token instruction).
const EXPECTED: [(&str, usize, usize, usize, usize, &[&str]); 13] = [
    ("initialize_config", 284, 4, 3, 48, &["Sys"]),
    ("create_market", 587, 11, 10, 120, &["Sys", "Sys", "InitializeAccount3", "Sys", "InitializeAccount3", "Sys", "InitializeMint2"]),
    ("request_deposit", 499, 11, 10, 32, &["Sys", "Sys", "InitializeAccount3", "Transfer", "Sys"]),
    ("execute_deposit", 541, 13, 12, 8, &["Transfer", "MintTo", "CloseAccount"]),
    ("create_leveraged_token", 496, 10, 9, 62, &["Sys", "Sys", "InitializeMint2", "Sys", "InitializeAccount3"]),
    ("request_mint", 532, 12, 11, 32, &["Sys", "Sys", "InitializeAccount3", "Transfer", "Sys"]),
    ("execute_mint", 640, 16, 15, 8, &["Transfer", "Transfer", "MintTo", "CloseAccount"]),
    ("rebalance", 475, 11, 10, 8, &["Transfer", "Transfer", "Transfer"]),
    ("request_redeem", 532, 12, 11, 32, &["Sys", "Sys", "InitializeAccount3", "Transfer", "Sys"]),
    ("execute_redeem", 640, 16, 15, 8, &["Burn", "Transfer", "Transfer", "CloseAccount"]),
    ("request_withdraw", 499, 11, 10, 32, &["Sys", "Sys", "InitializeAccount3", "Transfer", "Sys"]),
    ("execute_withdraw", 607, 15, 14, 8, &["Burn", "Transfer", "CloseAccount"]),
    ("cancel_request", 376, 8, 7, 8, &["Transfer", "CloseAccount"]),
];

fn cpi_names(m: &Measured) -> Vec<String> {
    m.cpis
        .iter()
        .map(|c| match c.program.as_str() {
            SYSTEM_PROGRAM => "Sys".to_string(),
            SPL_TOKEN => c.instruction.clone().unwrap_or_else(|| "?".into()),
            other => panic!("{}: unexpected CPI to {other}", m.name),
        })
        .collect()
}

#[tokio::test]
async fn every_instruction_fits_a_packet_with_exact_bytes_accounts_and_cpis() {
    let w = World::run(Box::new(|_| {})).await;
    assert_eq!(w.measured.iter().map(|m| m.name).collect::<Vec<_>>(), MEASURED);
    for (name, bytes, tx_accounts, ix_accounts, data, cpis) in EXPECTED {
        let m = w.get(name);
        assert!(m.tx_bytes <= PACKET_DATA_SIZE, "{name}: {} bytes > {PACKET_DATA_SIZE}", m.tx_bytes);
        assert_eq!(m.signatures, 1, "{name}: one signer, who also pays");
        assert_eq!(
            (m.tx_bytes, m.tx_accounts, m.ix_accounts, m.ix_data_bytes, cpi_names(m)),
            (bytes, tx_accounts, ix_accounts, data, cpis.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "{name}: (tx bytes, tx accounts, ix accounts, ix data, CPIs)"
        );
        // Wire size: compact-u16 signature count + signatures + message.
        assert_eq!(m.tx_bytes, 1 + 64 + m.tx.message_data().len(), "{name}");
        // Compute-unit limit and price instructions: the compute-budget program's
        // key (32) and two instructions (program index, 0 accounts, 5 and 9 data bytes).
        assert_eq!(m.tx_bytes_with_budget, bytes + 32 + (3 + 5) + (3 + 9), "{name}: with compute-budget instructions");
        assert!(m.tx_bytes_with_budget <= PACKET_DATA_SIZE, "{name}");
        for c in m.cpis.iter().filter(|c| c.program == SPL_TOKEN) {
            let cu = c.consumed.unwrap_or_else(|| panic!("{name}: SPL Token CPI without a CU line"));
            assert!((1..=10_000).contains(&cu), "{name}: SPL Token {:?} consumed {cu} CU", c.instruction);
        }
    }
}

#[tokio::test]
async fn executions_and_rebalance_meet_their_cpi_goals() {
    // An execution moves what it must (escrow in, settlement, output) and
    // closes the escrow; a request creates its two accounts and escrows; a
    // rebalance settles, pays its reward and moves the insurance fund's share
    // owed to its vault (the one instruction that does, so a user's mint or
    // redeem pays no extra transfer for it).
    let w = World::run(Box::new(|_| {})).await;
    for (name, goal) in [("execute_mint", 4), ("execute_redeem", 4), ("execute_deposit", 3), ("execute_withdraw", 3), ("request_mint", 5), ("rebalance", 3)] {
        let n = w.get(name).cpis.len();
        assert!(n <= goal, "{name} makes {n} CPIs, goal ≤ {goal}");
    }
}

#[tokio::test]
async fn account_sizes_match_the_declared_spaces_and_hold_exactly_their_rent() {
    let mut w = World::run(Box::new(|_| {})).await;
    let rent = Rent::default();
    let expected = [
        ("Config", CONFIG_SPACE, 175),
        ("Market", MARKET_SPACE, 602),
        ("pool vault (SPL token account)", 165, 165),
        ("LP mint (SPL mint)", 82, 82),
        ("LeveragedToken", TOKEN_SPACE, 453),
        ("share mint (SPL mint)", 82, 82),
        ("token vault (SPL token account)", 165, 165),
        ("Request (besides its executor fee)", REQUEST_SPACE, 300),
        ("request escrow (SPL token account)", 165, 165),
    ];
    let accounts = w.accounts().await;
    assert_eq!(accounts.len(), expected.len());
    for (a, (what, space, bytes)) in accounts.iter().zip(expected) {
        assert_eq!(a.what, what);
        assert_eq!((a.bytes, space), (bytes, bytes), "{what}: size");
        assert_eq!(a.lamports, rent.minimum_balance(a.bytes), "{what}: rent-exempt deposit");
        assert_eq!(rent.minimum_balance(a.bytes), (128 + a.bytes as u64) * 6_960, "{what}: rent formula");
    }
}

#[test]
fn cpis_are_counted_once_despite_the_native_double_log() {
    let ours = leveraged_token::ID;
    let logs: Vec<String> = [
        format!("Program {ours} invoke [1]"),
        format!("Program {ours} invoke [1]"),
        format!("Program {SPL_TOKEN} invoke [1]"),
        format!("Program {SPL_TOKEN} invoke [2]"),
        "Program log: Instruction: Transfer".to_string(),
        format!("Program {SPL_TOKEN} consumed 4645 of 199859 compute units"),
        format!("Program {SPL_TOKEN} success"),
        format!("Program {SPL_TOKEN} success"),
        format!("Program {SYSTEM_PROGRAM} invoke [1]"),
        format!("Program {SYSTEM_PROGRAM} invoke [2]"),
        format!("Program {SYSTEM_PROGRAM} success"),
        format!("Program {SYSTEM_PROGRAM} success"),
        format!("Program {ours} success"),
        format!("Program {ours} success"),
        // A later top-level SPL Token instruction is not ours.
        format!("Program {SPL_TOKEN} invoke [1]"),
    ]
    .to_vec();
    let naive = logs.iter().filter(|l| l.starts_with(&format!("Program {SPL_TOKEN} invoke"))).count();
    assert_eq!(naive, 3, "counting invoke lines would see three");
    let cpis = cpis_of(&logs, &ours);
    assert_eq!(cpis, vec![Cpi { program: SPL_TOKEN.into(), instruction: Some("Transfer".into()), consumed: Some(4645) }, Cpi { program: SYSTEM_PROGRAM.into(), instruction: None, consumed: None },]);
}

/// SBF heap use per instruction, in bytes the bump allocator hands out:
/// (the entrypoint's `deserialize`, then `leveraged_token::entry` itself),
/// measured by `harness::heap` in the native bank. Deterministic, so exact; a
/// change that moves a figure must update it (and docs/footprint.md).
const EXPECTED_HEAP: [(&str, usize, usize); 24] = [
    ("initialize_config", 360, 544),
    ("create_market", 1200, 2194),
    ("request_deposit", 1200, 2722),
    ("execute_deposit", 1440, 4642),
    ("create_leveraged_token", 1080, 2414),
    ("request_mint", 1320, 3210),
    ("execute_mint", 1800, 7488),
    ("rebalance", 1200, 4594),
    ("request_redeem", 1320, 3210),
    ("execute_redeem", 1800, 7488),
    ("request_withdraw", 1200, 2722),
    ("execute_withdraw", 1680, 5314),
    ("cancel_request", 840, 2500),
    ("collect_fees", 720, 2246),
    ("propose_market_params", 600, 1392),
    ("propose_token_params", 600, 1248),
    ("apply_market_params", 600, 1624),
    ("apply_token_params", 1200, 4444),
    ("cancel_param_proposal", 408, 808),
    ("set_global_pause", 240, 592),
    ("set_market_pause", 360, 1224),
    ("set_token_pause", 360, 1080),
    ("propose_admin", 240, 592),
    ("accept_admin", 240, 592),
];

#[tokio::test]
async fn every_instruction_fits_the_32_kib_sbf_heap() {
    if sbf::runs_sbf() {
        eprintln!("skipped: the bank runs the program's .so, whose heap the runtime enforces");
        return;
    }
    assert!(heap::counting(), "this test binary must install harness::heap::Counting");
    let mut w = World::run(Box::new(|_| {})).await;
    w.run_rest().await;
    let mut got = Vec::new();
    println!("{:<24} {:>10} {:>7} {:>7} {:>6} {:>8}", "instruction", "entrypoint", "entry", "total", "allocs", "largest");
    for u in &w.usage {
        let h = u.heap.unwrap_or_else(|| panic!("{}: no heap measurement", u.name));
        println!("{:<24} {:>10} {:>7} {:>7} {:>6} {:>8}", u.name, h.entrypoint, h.entry, h.total(), h.allocations, h.largest);
        assert!(h.total() <= heap::HEAP_USABLE, "{}: {} bytes > the {} a 32 KiB SBF heap can give", u.name, h.total(), heap::HEAP_USABLE);
        got.push((u.name, h.entrypoint, h.entry));
    }
    let max = w.usage.iter().filter_map(|u| u.heap).map(|h| h.total()).max().unwrap_or(0);
    println!("largest: {max} of {} bytes ({:.1} %)", heap::HEAP_USABLE, max as f64 * 100.0 / heap::HEAP_USABLE as f64);
    assert_eq!(got, EXPECTED_HEAP.to_vec(), "(instruction, entrypoint bytes, entry bytes)");
}
