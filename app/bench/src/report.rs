//! The markdown report (docs/footprint.md) and the comparison with the
//! previous one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anchor_lang::prelude::{Pubkey, Rent};
use anchor_lang::AccountDeserialize;
use anchor_spl::token::spl_token;
use leveraged_token::math::price::NormalizedPrice;
use leveraged_token::state::{Config, LeveragedToken, Market};
use leveraged_token_sdk::decide::TokenView;

use crate::callgrind::{breakdown, Breakdown, Dump};
use crate::estimate::{estimate, Estimate};
use crate::scenario::{AccountFootprint, Measured, Usage, World, PACKET_DATA_SIZE, SPL_TOKEN, SYSTEM_PROGRAM};
use crate::throughput::{bank_run, time_decide, views, BankRun, DecideRun};
use leveraged_token_harness::heap::{HEAP_LENGTH, HEAP_USABLE};

/// The marker line that carries the handler counts, for the next comparison.
const COUNTS_MARKER: &str = "<!-- handler-instructions:";

/// The stack-frame section `scripts/stack-sizes.sh` writes between these
/// markers; the report keeps it as it was when it regenerates the rest.
pub const STACK_BEGIN: &str = "<!-- stack-sizes:begin -->";
pub const STACK_END: &str = "<!-- stack-sizes:end -->";

/// The stack-frame block of a previous report, markers included.
pub fn stack_block(md: &str) -> Option<String> {
    let start = md.find(STACK_BEGIN)?;
    let end = md[start..].find(STACK_END)? + start + STACK_END.len();
    Some(md[start..end].to_string())
}

/// Compute units per instruction from a run against the `.so` (markdown).
pub fn compute_units_table(usage: &[Usage], so: &std::path::Path) -> String {
    let mut s = String::new();
    let size = std::fs::metadata(so).map(|m| num(m.len())).unwrap_or_else(|_| "?".into());
    let _ = writeln!(s, "## Compute units, measured (SBF)\n");
    let _ = writeln!(
        s,
        "`lt-bench compute-units`: the footprint scenario against `{}` ({size} bytes) in solana-program-test's bank, each instruction sent once as its client would; the figure is the program's `consumed N of M compute units` line (its CPIs included).\n",
        so.display()
    );
    let _ = writeln!(s, "| instruction | CU consumed | of 200,000 default |");
    let _ = writeln!(s, "| --- | ---: | ---: |");
    for u in usage {
        match u.cu {
            Some(cu) => {
                let _ = writeln!(s, "| `{}` | {} | {:.1} % |", u.name, num(cu), cu as f64 * 100.0 / 200_000.0);
            }
            None => {
                let _ = writeln!(s, "| `{}` | – | |", u.name);
            }
        }
    }
    s
}

/// Thousands separators.
pub fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn signed(d: i64) -> String {
    match d {
        0 => "0".into(),
        d if d > 0 => format!("+{}", num(d as u64)),
        d => format!("−{}", num(d.unsigned_abs())),
    }
}

/// `find_program_address` attempts (256 − bump, summed over its `init`s) of each instruction.
pub async fn find_attempts(w: &mut World) -> BTreeMap<String, u64> {
    let att = |bump: u8| 256 - u64::from(bump);
    let config: Config = decode(w, leveraged_token::pda::config().0).await;
    let market: Market = decode(w, w.market.market).await;
    let token: LeveragedToken = decode(w, w.token.token).await;
    let mut out = BTreeMap::new();
    out.insert("initialize_config".to_string(), att(config.bump));
    out.insert("create_market".to_string(), att(market.bump) + att(market.pool_vault_bump) + att(market.lp_mint_bump));
    out.insert("create_leveraged_token".to_string(), att(token.bump) + att(token.share_mint_bump) + att(token.vault_bump));
    // A request derives its own address and its escrow's (`seeds`, `bump` without a stored bump:
    // `find_program_address`), and the owner's associated token accounts of the mint it pays in
    // (the source's address constraint) and of the one it pays out in (`pays_out_in`).
    let ata = |owner: &Pubkey, mint: &Pubkey| Pubkey::find_program_address(&[owner.as_ref(), spl_token::ID.as_ref(), mint.as_ref()], &anchor_spl::associated_token::ID).1;
    for r in &w.requests {
        let (request, bump) = leveraged_token::pda::request(&r.owner, r.nonce);
        let n = att(bump) + att(leveraged_token::pda::escrow(&request).1) + att(ata(&r.owner, &r.pay_mint)) + att(ata(&r.owner, &r.out_mint));
        out.insert(r.name.to_string(), n);
    }
    out
}

async fn decode<T: AccountDeserialize>(w: &mut World, key: anchor_lang::prelude::Pubkey) -> T {
    let acc = w.h.raw_account(key).await.expect("account");
    T::try_deserialize(&mut acc.data.as_slice()).expect("decode")
}

/// The callgrind runs: one list of labelled dumps per run.
pub struct CallgrindRuns {
    pub runs: Vec<Vec<Dump>>,
    /// The first run's dumps, split by where the instructions went.
    pub breakdowns: BTreeMap<String, Breakdown>,
}

impl CallgrindRuns {
    pub fn new(runs: Vec<Vec<Dump>>) -> Self {
        let breakdowns = runs.first().map(|r| r.iter().map(|d| (d.label.clone(), breakdown(&d.path).expect("read callgrind dump"))).collect()).unwrap_or_default();
        Self { runs, breakdowns }
    }

    pub fn count(&self, name: &str) -> Option<u64> {
        self.runs.first()?.iter().find(|d| d.label == name).map(|d| d.instructions)
    }

    /// Per instruction: the count in every run.
    pub fn per_run(&self, name: &str) -> Vec<u64> {
        self.runs.iter().filter_map(|r| r.iter().find(|d| d.label == name).map(|d| d.instructions)).collect()
    }

    pub fn repeatable(&self) -> bool {
        self.runs.windows(2).all(|w| w[0].iter().map(|d| d.instructions).eq(w[1].iter().map(|d| d.instructions)))
    }
}

pub struct Throughput {
    pub decide: Vec<DecideRun>,
    pub bank: BankRun,
}

/// Decide over 100 and 10,000 views built from a real token of the bank run,
/// then the bank run's own figures.
pub async fn throughput(tokens: usize) -> Throughput {
    let (bank, template, price, slot): (BankRun, TokenView, NormalizedPrice, u64) = bank_run(tokens).await;
    // An hour after the template's last accrual: every view accrues funding.
    let now = template.market.last_accrual_time.saturating_add(3_600);
    let decide = [100usize, 10_000].iter().map(|&n| time_decide(&views(&template, n), &price, slot, now, 15)).collect();
    Throughput { decide, bank }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub fn throughput_table(t: &Throughput) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| what | N | median | min – max (per item) | rate | outcome |");
    let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | --- |");
    for d in &t.decide {
        let _ = writeln!(
            s,
            "| `sdk::decide::decide` over in-memory views | {} | {:.0} ns/decision | {:.0} – {:.0} ns | {:.2} M decisions/s | {} rebalance, {} not needed, {} other |",
            num(d.n as u64),
            d.ns_median,
            d.ns_min,
            d.ns_max,
            d.per_second() / 1e6,
            d.rebalance,
            d.not_needed,
            d.other
        );
    }
    let b = &t.bank;
    let n = b.tokens as f64;
    let per = |d: Duration| format!("{:.2} ms/token", d.as_secs_f64() * 1e3 / n);
    let _ = writeln!(
        s,
        "| bank, shipped keeper: `Keeper::fetch` (discovery, one batched read, decode, oracle check) | {} | {} | {} | {:.0} tokens/s | |",
        b.tokens,
        ms(b.scan),
        per(b.scan),
        n / b.scan.as_secs_f64()
    );
    let _ = writeln!(s, "| bank, shipped keeper: `Keeper::decide` | {} | {:.1} µs | {:.2} µs/token | | |", b.tokens, b.decide.as_secs_f64() * 1e6, b.decide.as_secs_f64() * 1e6 / n);
    let _ = writeln!(
        s,
        "| bank, shipped keeper: `Keeper::fire` (build, sign, simulate, size, send) | {} | {} | {} | {:.0} tx/s | {} rebalanced, {} failed |",
        b.tokens,
        ms(b.send),
        per(b.send),
        b.rebalanced as f64 / b.send.as_secs_f64(),
        b.rebalanced,
        b.failed
    );
    let _ = writeln!(
        s,
        "| **bank, shipped keeper: one loop, fetch + decide + fire** | {} | **{}** | {} | {:.0} tokens/s | setup (not timed in the loop): {:.1} s |",
        b.tokens,
        ms(b.total()),
        per(b.total()),
        n / b.total().as_secs_f64(),
        b.setup.as_secs_f64()
    );
    s
}

/// Handler counts recorded in a previous report.
pub fn parse_handler_counts(md: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Some(line) = md.lines().find(|l| l.starts_with(COUNTS_MARKER)) {
        let body = line.trim_start_matches(COUNTS_MARKER).trim_end_matches("-->");
        for kv in body.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                if let Ok(v) = v.parse() {
                    out.insert(k.to_string(), v);
                }
            }
        }
    }
    out
}

pub struct Report<'a> {
    pub measured: &'a [Measured],
    /// Heap (and, on SBF, CU) of every instruction the scenario sent.
    pub usage: &'a [Usage],
    pub accounts: &'a [AccountFootprint],
    pub find_attempts: &'a BTreeMap<String, u64>,
    pub callgrind: Option<&'a CallgrindRuns>,
    pub throughput: &'a Throughput,
    pub previous: &'a BTreeMap<String, u64>,
    /// The stack-frame block to keep (see [`STACK_BEGIN`]).
    pub stack: Option<&'a str>,
}

impl Report<'_> {
    fn estimate(&self, m: &Measured) -> Estimate {
        let attempts = self.find_attempts.get(m.name).copied().unwrap_or(0);
        estimate(m, attempts, self.callgrind.and_then(|c| c.breakdowns.get(m.name)).map(|b| b.handler_logic()))
    }

    fn delta(&self, name: &str) -> Option<i64> {
        let now = self.callgrind?.count(name)?;
        let before = self.previous.get(name)?;
        Some(now as i64 - *before as i64)
    }

    /// The deltas against the previous report, for the terminal.
    pub fn deltas_text(&self) -> String {
        let mut s = String::new();
        let Some(cg) = self.callgrind else {
            return "handler counts: callgrind not run\n".into();
        };
        let _ = writeln!(s, "handler instructions (callgrind, CPIs excluded){}:", if cg.repeatable() { ", repeatable across runs" } else { ", NOT repeatable across runs" });
        for m in self.measured {
            let now = cg.count(m.name).unwrap_or(0);
            let prev = self.previous.get(m.name);
            let d = match prev {
                Some(p) => format!("{} ({:+.2} %) vs previous {}", signed(now as i64 - *p as i64), (now as f64 - *p as f64) * 100.0 / *p as f64, num(*p)),
                None => "no previous figure".into(),
            };
            let _ = writeln!(s, "  {:<24} {:>12}   {}", m.name, num(now), d);
        }
        s
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(w, "# Footprint\n");
        let _ = writeln!(
            w,
            "Generated by `scripts/footprint.sh` (`lt-bench report`, app/bench); do not edit by hand. Byte, account, CPI, size, rent and SBF heap figures are deterministic and asserted in `tests/tests/footprint.rs`; stack frames come from `scripts/stack-sizes.sh` (a host build, an approximation of SBF's); handler instruction counts are repeatable (callgrind) and compared with the previous report; the CU column is an **on-paper estimate**; timings are machine-dependent and only reported.\n"
        );

        // --- per instruction ---
        let _ = writeln!(w, "## Per instruction\n");
        let _ = writeln!(w, "Each instruction is sent once, as its client would send it: one legacy transaction, signed and paid by the instruction's signer, with the program's instruction only (no compute-budget instruction).\n");
        let _ = writeln!(w, "| instruction | tx bytes (≤ {}) | + CU limit & price ixs | accounts in tx | ix accounts | ix data bytes | CPIs: SPL Token + system | SPL Token CU (measured) | handler instructions (native, callgrind) | Δ vs previous | CU estimate (on paper) | SBF heap, bytes (≤ {}) |", num(PACKET_DATA_SIZE as u64), num(HEAP_USABLE as u64));
        let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for m in self.measured {
            let e = self.estimate(m);
            let spl = m.cpi_count(SPL_TOKEN);
            let sys = m.cpi_count(SYSTEM_PROGRAM);
            let handler = self.callgrind.and_then(|c| c.count(m.name)).map(num).unwrap_or_else(|| "–".into());
            let delta = match (self.callgrind.and_then(|c| c.count(m.name)), self.delta(m.name)) {
                (Some(_), Some(d)) => signed(d),
                (Some(_), None) => "new".into(),
                _ => "–".into(),
            };
            let heap = m.heap.map(|h| num(h.total() as u64)).unwrap_or_else(|| "–".into());
            let _ = writeln!(
                w,
                "| `{}` | {} | {} | {} | {} | {} | {} = {} + {} | {} | {} | {} | ≈ {} | {} |",
                m.name,
                num(m.tx_bytes as u64),
                num(m.tx_bytes_with_budget as u64),
                m.tx_accounts,
                m.ix_accounts,
                m.ix_data_bytes,
                m.cpis.len(),
                spl,
                sys,
                num(e.spl_token),
                handler,
                delta,
                num(e.total()),
                heap
            );
        }
        let _ = writeln!(
            w,
            "\nCPIs of a user flow and of a rebalance: `request_mint` {}, `execute_mint` {}, `request_redeem` {}, `execute_redeem` {}, `rebalance` {} (a request creates its account and escrow and moves what it pays into the escrow; an execution pays out of the escrow and closes it).\n",
            self.cpis("request_mint"),
            self.cpis("execute_mint"),
            self.cpis("request_redeem"),
            self.cpis("execute_redeem"),
            self.cpis("rebalance")
        );

        let d = leveraged_token_sdk::defaults::market_params();
        let legacy_slots = leveraged_token::state::secs_to_slots_ceil(u32::from(d.request_delay_secs));
        let _ = writeln!(
            w,
            "**What a user waits** (default market parameters, `sdk::defaults::market_params`): a mint, redeem or LP deposit is two transactions — the request, then its execution at the oracle update that follows the request by `request_delay_secs` = {} s (a legacy market: {} slots); with one slot to land each, ≈ {:.1} s from sending the request to holding the shares or collateral. An LP withdrawal prices `lp_cooldown_secs` = {} s after its request. A request carries {} lamports for its executor and expires {} s after its price time (then only `cancel_request` returns it). The rent of the request (300 B) and its escrow (165 B) goes back to the owner when it closes.\n",
            d.request_delay_secs,
            legacy_slots,
            f64::from(d.request_delay_secs) + 2.0 * 0.4,
            d.lp_cooldown_secs,
            d.executor_fee_lamports,
            d.request_ttl_secs
        );
        let _ = writeln!(w, "### CPIs made, in order (SPL Token CU as the bank metered them)\n");
        let _ = writeln!(w, "| instruction | CPIs |");
        let _ = writeln!(w, "| --- | --- |");
        for m in self.measured {
            let list: Vec<String> = m
                .cpis
                .iter()
                .map(|c| match (c.program.as_str(), &c.instruction, c.consumed) {
                    (SPL_TOKEN, Some(i), Some(cu)) => format!("SPL Token `{i}` {} CU", num(cu)),
                    // The system program logs no instruction name (`CreateAccount`, or `Transfer` of the executor fee).
                    (SYSTEM_PROGRAM, _, _) => "System program".to_string(),
                    (p, i, cu) => format!("{p} {i:?} {cu:?}"),
                })
                .collect();
            let _ = writeln!(w, "| `{}` | {} |", m.name, list.join(" → "));
        }

        if let Some(cg) = self.callgrind {
            let _ = writeln!(w, "\n### Where the handler instructions go (native x86-64, first callgrind run)\n");
            let _ = writeln!(w, "Split by the call edges of each dump: Anchor's generated `try_accounts` for the instruction's accounts (which in this program also performs every PDA derivation), the PDA crypto inside it, program-test's stubs and other host-only code, and the rest — the handler's own logic plus Anchor's dispatch and exit serialization.\n");
            let _ = writeln!(w, "| instruction | handler instructions | Anchor `try_accounts` | … of which PDA crypto (SHA-256 + curve check) | host stubs & logging | handler logic (rest) |");
            let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for m in self.measured {
                if let Some(b) = cg.breakdowns.get(m.name) {
                    let pct = |x: u64| if b.total == 0 { 0.0 } else { x as f64 * 100.0 / b.total as f64 };
                    let _ = writeln!(
                        w,
                        "| `{}` | {} | {} ({:.0} %) | {} ({:.0} %) | {} ({:.0} %) | {} ({:.0} %) |",
                        m.name,
                        num(b.total),
                        num(b.anchor_accounts),
                        pct(b.anchor_accounts),
                        num(b.pda_crypto),
                        pct(b.pda_crypto),
                        num(b.host_stubs),
                        pct(b.host_stubs),
                        num(b.handler_logic()),
                        pct(b.handler_logic())
                    );
                }
            }
        }

        // --- CU estimate ---
        let _ = writeln!(w, "\n## Compute units: an on-paper ESTIMATE\n");
        let _ = writeln!(
            w,
            "Our program runs natively in the bank, so its compute units cannot be measured here. The estimate adds: **SPL Token** CU as the bank really metered each CPI (measured); **runtime charges** from solana-program-runtime 3.1.12's cost table — 1,000 CU per CPI (`invoke_units`; 946 with SIMD-0339), 150 CU per system-program instruction (`CreateAccount`; a request's executor-fee `Transfer`), 1,500 CU per PDA check (`seeds` + stored bump → `create_program_address`) and per `find_program_address` attempt of an `init` (256 − bump attempts, from the stored bumps) or of a request (its own address, its escrow's and the owner's two associated token accounts), sysvar reads (100 + size), Anchor's `Instruction:` log (100) and each event's `sol_log_data` (200 + its real byte length); **Anchor account handling** per account by kind, from Anchor's own benchmark (`bench/COMPUTE_UNITS.md`, Solana 2.3.0: base 603, signer 295, program 141, unchecked 279, boxed account 432, mint 422, token account 546, `init` +3,041 beyond the account and its system CPI); and **handler logic**, for which nothing on SBF is known here: the native x86-64 instructions of the handler's own logic (the \"rest\" column above: the entry point less Anchor's `try_accounts`, the PDA crypto inside it and the host-only stubs) at an assumed 1 CU per instruction. A PDA signer in a CPI costs nothing extra. Treat the total as ±50 % and measure on a validator (`simulateTransaction` → `unitsConsumed`) before setting CU limits.\n"
        );
        let _ = writeln!(w, "| instruction | SPL Token (measured) | runtime charges | Anchor accounts (assumed) | handler logic (assumed) | **total estimate** |");
        let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: |");
        for m in self.measured {
            let e = self.estimate(m);
            let _ = writeln!(w, "| `{}` | {} | {} | {} | {} | **≈ {}** |", m.name, num(e.spl_token), num(e.runtime), num(e.anchor), num(e.handler), num(e.total()));
        }
        let _ = writeln!(w, "\n<details><summary>How each estimate was reached</summary>\n");
        for m in self.measured {
            let e = self.estimate(m);
            let _ = writeln!(w, "- `{}`: {}", m.name, e.notes.join("; "));
        }
        let _ = writeln!(w, "\n</details>\n");

        // --- observations computed from the figures above ---
        let _ = writeln!(w, "### Reading these figures\n");
        if let Some(big) = self.measured.iter().max_by_key(|m| m.tx_bytes_with_budget) {
            let spare = PACKET_DATA_SIZE.saturating_sub(big.tx_bytes_with_budget);
            let _ = writeln!(
                w,
                "- Size: the largest transaction is `{}` at {} bytes ({} with the two compute-budget instructions), leaving {} bytes — room for about {} more account keys (32 bytes each, plus 1 byte per meta) before an address lookup table would be needed.",
                big.name,
                num(big.tx_bytes as u64),
                num(big.tx_bytes_with_budget as u64),
                num(spare as u64),
                spare / 33
            );
        }
        if let Some(cg) = self.callgrind {
            if let (Some(b), Some(m)) = (cg.breakdowns.get("execute_mint"), self.measured.iter().find(|m| m.name == "execute_mint")) {
                let e = self.estimate(m);
                let _ = writeln!(
                    w,
                    "- Native counts overstate PDA work: every measured instruction but `cancel_request` re-derives the config PDA (`seeds = [CONFIG_SEED], bump = config.bump` → `create_program_address`), which is {} native instructions ({:.0} % of `execute_mint`'s count) but a flat 1,500 CU syscall on chain ({:.0} % of its estimate). Track the handler's own logic with the \"rest\" column; a `Δ` in the total that comes from PDA work is a Δ in SHA-256/curve code, not in our handler.",
                    num(b.pda_crypto),
                    b.pda_crypto as f64 * 100.0 / b.total.max(1) as f64,
                    1_500.0 * 100.0 / e.total().max(1) as f64
                );
            }
        }
        let spl_share: Vec<String> = ["request_mint", "execute_mint", "request_redeem", "execute_redeem", "rebalance"]
            .iter()
            .filter_map(|n| self.measured.iter().find(|m| m.name == *n))
            .map(|m| {
                let e = self.estimate(m);
                format!("`{}` {:.0} %", m.name, e.spl_token as f64 * 100.0 / e.total().max(1) as f64)
            })
            .collect();
        let _ = writeln!(w, "- SPL Token is the largest single part of the hot paths' estimate ({}); each avoided CPI saves its SPL CU plus 1,000 invoke units.\n", spl_share.join(", "));

        // --- heap ---
        self.heap_section(w);

        // --- stack (kept from scripts/stack-sizes.sh) ---
        match self.stack {
            Some(block) => {
                let _ = writeln!(w, "{block}\n");
            }
            None => {
                let _ = writeln!(w, "## Stack frames (SBF limit: 4 KiB)\n\nNot measured yet: run `scripts/stack-sizes.sh`.\n");
            }
        }

        // --- accounts ---
        let _ = writeln!(w, "## Account sizes and rent\n");
        let _ = writeln!(w, "Rent-exempt deposit = `Rent::default().minimum_balance(bytes)` = (128 + bytes) × 6,960 lamports; the bank holds exactly that in each account (asserted).\n");
        let _ = writeln!(w, "| account | created by | bytes | rent-exempt lamports | SOL |");
        let _ = writeln!(w, "| --- | --- | ---: | ---: | ---: |");
        let rent = Rent::default();
        let mut per: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for a in self.accounts {
            let lamports = rent.minimum_balance(a.bytes);
            let _ = writeln!(w, "| {} | `{}` | {} | {} | {:.6} |", a.what, a.created_by, num(a.bytes as u64), num(lamports), lamports as f64 / 1e9);
            let e = per.entry(a.created_by).or_default();
            e.0 += a.bytes;
            e.1 += lamports;
        }
        for (by, (bytes, lamports)) in &per {
            let what = match *by {
                "create_market" => "**per market** (Market + pool vault + LP mint)",
                "create_leveraged_token" => "**per leveraged token** (LeveragedToken + share mint + vault)",
                "request_mint" => "**per pending request** (Request + escrow; the owner gets it back when the request is executed or cancelled)",
                _ => "**once** (Config)",
            };
            let _ = writeln!(w, "| {what} | `{by}` | {} | {} | {:.6} |", num(*bytes as u64), num(*lamports), *lamports as f64 / 1e9);
        }

        // --- throughput ---
        let _ = writeln!(w, "\n## Keeper / client throughput (reported, not asserted)\n");
        let _ = writeln!(
            w,
            "One process, release build, this machine (2 cores, shared: figures drift from run to run). `decide` runs the program's own settlement and gate math on views built in memory from a real decoded token (leverage drift −30 %…+30 %, age 0…1 day); 15 samples, each ≥ 20 ms of passes. The bank loop creates {} tokens (alternately long and short, |leverage| 1.1x, 1.1x, 1.14x, 1.14x, … in 0.04x steps) on as many markets as they need ({} tokens at most on each, one oracle) with a 1,000 USDC position each, moves the price +12 % (past every token's 10 % deviation trigger) and times one loop of the shipped keeper (`lt-keeper`'s `Keeper`, on the bank as a `Chain`): `fetch` (discovery, then one batched read of every account it needs, decoded, the oracle checked), `decide`, and `fire` (per open gate: build, sign, simulate, size the compute limit, send).\n",
            self.throughput.bank.tokens,
            leveraged_token::constants::MAX_TOKENS_PER_MARKET
        );
        s.push_str(&throughput_table(self.throughput));

        // --- method ---
        let w = &mut s;
        let _ = writeln!(w, "\n## Method\n");
        let _ = writeln!(
            w,
            "- **Transaction bytes**: `solana_transaction::Transaction` (legacy) with its real signature, serialized: compact-u16 signature count + 64 bytes per signature + the message; `lt-bench` checks the figure against `bincode::serialize`. The second column adds `SetComputeUnitLimit` and `SetComputeUnitPrice` (the compute-budget program's key and two small instructions), as a keeper paying a priority fee sends it. `accounts in tx` counts the message's keys (fee payer and program id included); `ix accounts` the instruction's metas.\n\
- **CPIs** are counted in the transaction logs, inside our program's top-level invocation. In native mode program-test logs every CPI twice: its CPI stub logs `Program <callee> invoke [1]` (the caller's stack height) and the runtime then logs `invoke [2]` (and two `success` lines follow); our own top-level invocation also appears twice as `invoke [1]`. A validator logs each once. Counting every `Program Tokenkeg… invoke` line therefore doubles the count; `lt-bench` counts the stub's line once per CPI and requires the runtime's `[2]` line right after it. SPL Token's CU comes from its `consumed N of M compute units` line (real BPF metering); the system program is a builtin and logs no CU.\n\
- **Handler instructions**: `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='{}' --toggle-collect='{}'` on `lt-bench scenario`. Collection is on only inside the program's entry point (Anchor's dispatch, account deserialization and checks, the handler, the exit serialization, the events) and off again inside program-test's CPI stub, which runs SPL Token in the BPF interpreter/JIT (or the system program) and copies the accounts in and out. What is left also counts work that costs a flat syscall fee on chain but runs as native code here: PDA derivations (SHA-256 and the curve check of `create_program_address` / `find_program_address` for `init`s, a request's own address, its escrow's and the owner's associated token accounts, and the config PDA check), the sysvar and log stubs, and the host-only base64 copy of each event. Around each measured transaction the binary zeroes the counters and dumps them with a callgrind client request labelled with the instruction, so each figure is that one transaction's entry-point instructions. The entry point is called through an opaque function pointer so it stays a symbol under fat LTO.\n\
- **Repeatable**: callgrind counts instructions, not time, and every input the entry point sees is fixed: keypairs from fixed seeds (so the same PDAs, bumps and number of `find_program_address` attempts), fixed oracle and treasury addresses, explicit slot warps, fixed prices, one single-threaded tokio runtime. Three sources of run-to-run drift inside the entry point had to be removed, each worth a few to a few hundred instructions: (1) glibc `malloc`'s cost depends on the heap's history, which the bank's background threads and timers make differ between runs — around each measured transaction the scenario thread allocates from a bump arena instead (constant cost per call, frees are no-ops, every block page-aligned so memcpy/memcmp take the same alignment and page-crossing paths); (2) Anchor's duplicate-account check uses a std `HashSet`, whose probe sequence depends on the process's random hash keys — `lt-bench` overrides libc's `getrandom` (exported from the executable) to hand that thread fixed keys; (3) stack addresses depend on the size of the environment and arguments — the scenario runs on a thread of its own (fresh stack mapping) and valgrind is started with a cleared environment; the bank's debug logging, which runs inside the entry point's log stubs, is off (`RUST_LOG=error`). {}\n\
- **CU estimate**: see above; an estimate, not a measurement.\n\
- **Throughput**: wall-clock, `std::time::Instant`, release build (`lto = \"fat\"`).",
            crate::callgrind::TOGGLE_ENTRY,
            crate::callgrind::TOGGLE_CPI,
            self.repeatability_text()
        );

        // machine-readable counts for the next comparison
        if let Some(cg) = self.callgrind {
            let kv: Vec<String> = self.measured.iter().filter_map(|m| cg.count(m.name).map(|c| format!("{}={c}", m.name))).collect();
            let _ = writeln!(w, "\n{COUNTS_MARKER} {} -->", kv.join(" "));
        } else if !self.previous.is_empty() {
            let kv: Vec<String> = self.previous.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(w, "\n{COUNTS_MARKER} {} -->", kv.join(" "));
        }
        s
    }

    fn heap_section(&self, w: &mut String) {
        let _ = writeln!(w, "## SBF heap per instruction (measured natively)\n");
        let _ = writeln!(
            w,
            "On SBF the program gets a {} KiB heap served by a bump allocator that never frees: every allocation of an invocation counts, a free gives nothing back, a `realloc` is a new allocation, and {} bytes are usable (the allocator keeps its position in the first 8). The bank runs the program natively, so `harness::heap` measures what it would take: a counting global allocator (installed by the test binaries and `lt-bench`) replays every allocation made while `leveraged_token::entry` runs through a simulation of that bump allocator (sizes plus alignment padding, in order). Left out as the harness's, not the program's: the processor wrapper's leaked copies of the inputs (made before `entry`), every syscall stub (program-test's CPI runs the callee and copies accounts; on SBF a syscall does not use the caller's heap), the host-only base64 copy of each event, and `realloc`s of blocks the program did not allocate (the test harness's output buffer). `entrypoint` is what the SBF entrypoint's `deserialize` (solana-program-entrypoint 3.1, Anchor's `entrypoint!`) allocates before `entry` runs — a `Vec<AccountInfo>` slot per account and two `Rc`s per distinct account — replayed with the same constructor. Each instruction is sent once by the footprint scenario (the {} above, then the program's {} others); the figures are deterministic and asserted exactly in `tests/tests/footprint.rs`, which also asserts each total ≤ {}. Type sizes and alignments are the host's (x86-64); SBF is also 64-bit little-endian, so they agree for the program's types.\n",
            HEAP_LENGTH / 1024,
            num(HEAP_USABLE as u64),
            crate::scenario::MEASURED.len(),
            crate::scenario::ALSO_SENT.len(),
            num(HEAP_USABLE as u64)
        );
        let _ = writeln!(w, "| instruction | entrypoint `deserialize` | `entry` | **total** | of {} usable | allocations in `entry` | largest one |", num(HEAP_USABLE as u64));
        let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for u in self.usage {
            match u.heap {
                Some(h) => {
                    let _ = writeln!(
                        w,
                        "| `{}` | {} | {} | **{}** | {:.1} % | {} | {} |",
                        u.name,
                        num(h.entrypoint as u64),
                        num(h.entry as u64),
                        num(h.total() as u64),
                        h.total() as f64 * 100.0 / HEAP_USABLE as f64,
                        h.allocations,
                        num(h.largest as u64)
                    );
                }
                None => {
                    let _ = writeln!(w, "| `{}` | – | – | – | | | |", u.name);
                }
            }
        }
        if let Some(top) = self.usage.iter().filter_map(|u| u.heap.map(|h| (u.name, h))).max_by_key(|(_, h)| h.total()) {
            let _ = writeln!(
                w,
                "\nLargest: `{}` at {} bytes, {:.1} % of the usable heap ({} bytes to spare).\n",
                top.0,
                num(top.1.total() as u64),
                top.1.total() as f64 * 100.0 / HEAP_USABLE as f64,
                num((HEAP_USABLE - top.1.total().min(HEAP_USABLE)) as u64)
            );
        }
    }

    fn cpis(&self, name: &str) -> usize {
        self.measured.iter().find(|m| m.name == name).map(|m| m.cpis.len()).unwrap_or(0)
    }

    fn repeatability_text(&self) -> String {
        let Some(cg) = self.callgrind else {
            return "Callgrind was not run for this report.".into();
        };
        let mut s = format!("This report ran callgrind {} times: ", cg.runs.len());
        if cg.repeatable() {
            s.push_str("every count was identical in every run.");
        } else {
            s.push_str("**the counts differed**: ");
            let diffs: Vec<String> = self
                .measured
                .iter()
                .filter_map(|m| {
                    let r = cg.per_run(m.name);
                    (r.windows(2).any(|w| w[0] != w[1])).then(|| format!("`{}` {}", m.name, r.iter().map(|&c| num(c)).collect::<Vec<_>>().join(" / ")))
                })
                .collect();
            s.push_str(&diffs.join(", "));
        }
        s
    }
}
