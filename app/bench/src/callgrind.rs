//! Callgrind client requests (valgrind.h's magic instruction sequence, written
//! out so no C header or extra crate is needed) and the parser of the dumps.
//!
//! Outside valgrind the sequence is a no-op: the four rotations of `rdi` add
//! up to 128 bits (a full turn) and `xchg rbx, rbx` changes nothing, and the
//! default result (0) comes back in `rdx`.

use std::path::{Path, PathBuf};

const fn tool_base(a: u8, b: u8) -> usize {
    ((a as usize) << 24) | ((b as usize) << 16)
}
const CALLGRIND_BASE: usize = tool_base(b'C', b'T');
const DUMP_STATS_AT: usize = CALLGRIND_BASE + 3;
const ZERO_STATS: usize = CALLGRIND_BASE + 1;
const RUNNING_ON_VALGRIND: usize = 0x1001;

#[cfg(all(target_arch = "x86_64", any(target_os = "linux", target_os = "macos")))]
fn client_request(default: usize, request: usize, arg1: usize) -> usize {
    let args: [usize; 6] = [request, arg1, 0, 0, 0, 0];
    let result: usize;
    // SAFETY: valgrind's special instruction preamble followed by the
    // client-request marker. Natively it leaves every register as it found it
    // (rdi is rotated by 128 bits in total); under valgrind the core reads the
    // request from the array `rax` points to and writes the answer to rdx.
    unsafe {
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            inout("rdx") default => result,
            in("rax") args.as_ptr(),
            inout("rdi") 0usize => _,
            options(nostack),
        );
    }
    std::hint::black_box(&args);
    result
}

#[cfg(not(all(target_arch = "x86_64", any(target_os = "linux", target_os = "macos"))))]
fn client_request(default: usize, _request: usize, _arg1: usize) -> usize {
    default
}

/// Number of valgrind layers we run under (0 natively).
pub fn running_on_valgrind() -> usize {
    client_request(0, RUNNING_ON_VALGRIND, 0)
}

/// Zero callgrind's counters.
pub fn zero_stats() {
    client_request(0, ZERO_STATS, 0);
}

/// Write the counters collected since the last zero/dump to a new dump file
/// whose `desc: Trigger:` line carries `label`, then zero them.
pub fn dump_stats_at(label: &str) {
    let c = std::ffi::CString::new(label).expect("label without NUL");
    client_request(0, DUMP_STATS_AT, c.as_ptr() as usize);
}

/// Callgrind's `--toggle-collect` patterns: collect inside the program's entry
/// point, except inside program-test's CPI stub (which runs the callee —
/// SPL Token in the BPF interpreter/JIT, or the system program — and copies
/// accounts in and out). Entering a matching function flips collection,
/// leaving it flips it back, so the stub nested in the entry point turns
/// collection off for exactly the CPI's duration.
pub const TOGGLE_ENTRY: &str = "leveraged_token::entry";
pub const TOGGLE_CPI: &str = "<solana_program_test::SyscallStubs as solana_sysvar::program_stubs::SyscallStubs>::sol_invoke_signed";

/// The arguments valgrind is run with (the binary and its arguments follow).
pub fn valgrind_args(out_file: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out_file.display()),
        "--collect-atstart=no".into(),
        format!("--toggle-collect={TOGGLE_ENTRY}"),
        format!("--toggle-collect={TOGGLE_CPI}"),
        // Count cycles in the call graph into one figure per dump (no --separate-*).
        "--dump-instr=no".into(),
        "--compress-strings=no".into(),
        "--compress-pos=no".into(),
    ]
}

/// One dump: its label and its instruction count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub label: String,
    pub instructions: u64,
    pub path: PathBuf,
}

/// Read every dump `<out_file>.N` callgrind wrote, in order, keeping those
/// triggered by a client request (the labelled ones).
pub fn read_dumps(out_file: &Path) -> std::io::Result<Vec<Dump>> {
    let dir = out_file.parent().unwrap_or(Path::new("."));
    let stem = out_file.file_name().unwrap().to_string_lossy().to_string();
    let mut parts: Vec<(u32, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if let Some(n) = name.strip_prefix(&format!("{stem}.")).and_then(|n| n.parse().ok()) {
            parts.push((n, p));
        }
    }
    parts.sort();
    let mut out = Vec::new();
    for (_, p) in parts {
        let text = std::fs::read_to_string(&p)?;
        let label = text.lines().find_map(|l| l.strip_prefix("desc: Trigger: Client Request: ")).map(str::to_string);
        let total = text.lines().find_map(|l| l.strip_prefix("totals: ").or_else(|| l.strip_prefix("summary: "))).and_then(|t| t.split_whitespace().next()).and_then(|t| t.parse().ok());
        if let (Some(label), Some(instructions)) = (label, total) {
            out.push(Dump { label, instructions, path: p });
        }
    }
    Ok(out)
}

/// Where one dump's instructions went, from its call edges (inclusive cost of
/// every call into a group from outside it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub total: u64,
    /// Anchor's generated `try_accounts` of the instruction's accounts struct
    /// (deserialization, constraints, PDA checks, `init`), native.
    pub anchor_accounts: u64,
    /// SHA-256 and the ed25519 curve check of PDA derivations, computed natively
    /// here (a flat 1,500 CU syscall each on chain). Part of `anchor_accounts`
    /// in this program (its PDAs are all derived by Anchor's constraints).
    pub pda_crypto: u64,
    /// program-test's stubs (logs, sysvars, memcpy), the host-only base64 copy
    /// of each event and Anchor's `msg!`, which prints natively.
    pub host_stubs: u64,
}

impl Breakdown {
    /// What is left for the handler's own logic (settlement, quotes, gate,
    /// pool value, events' serialization, Anchor's exit serialization).
    pub fn handler_logic(&self) -> u64 {
        self.total.saturating_sub(self.anchor_accounts).saturating_sub(self.host_stubs)
    }
}

fn is_anchor_accounts(f: &str) -> bool {
    f.starts_with("<leveraged_token::") && f.contains(" as anchor_lang::Accounts<") && f.contains(">::try_accounts")
}

fn is_pda_crypto(f: &str) -> bool {
    ["curve25519_dalek::", "sha2::", "digest::", "solana_sha256_hasher::", "program_address", "bytes_are_curve_point"].iter().any(|p| f.contains(p))
}

fn is_host_stub(f: &str) -> bool {
    ["program_stubs::", "solana_program_test::SyscallStubs", "host_log_event", "std::io::stdio::_print", "solana_program_memory::stubs::", "solana_msg::"].iter().any(|p| f.contains(p))
}

/// Read a dump's call edges and split its total (see [`Breakdown`]).
pub fn breakdown(path: &Path) -> std::io::Result<Breakdown> {
    let text = std::fs::read_to_string(path)?;
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    // Resolve "(id) name" / "(id)" compression.
    let mut resolve = |s: &str| -> String {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix('(') {
            if let Some((id, name)) = rest.split_once(')') {
                let name = name.trim();
                if !name.is_empty() {
                    names.insert(id.to_string(), name.to_string());
                    return name.to_string();
                }
                return names.get(id).cloned().unwrap_or_default();
            }
        }
        s.to_string()
    };
    let mut b = Breakdown::default();
    let mut caller = String::new();
    let mut callee: Option<String> = None;
    let mut after_calls = false;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("totals: ").or_else(|| line.strip_prefix("summary: ")) {
            b.total = t.split_whitespace().next().and_then(|t| t.parse().ok()).unwrap_or(0);
        } else if let Some(f) = line.strip_prefix("fn=") {
            caller = resolve(f);
            callee = None;
        } else if let Some(f) = line.strip_prefix("cfn=") {
            callee = Some(resolve(f));
        } else if line.starts_with("calls=") {
            after_calls = true;
            continue;
        } else if after_calls {
            let cost: u64 = line.split_whitespace().last().and_then(|c| c.parse().ok()).unwrap_or(0);
            if let Some(c) = &callee {
                if is_anchor_accounts(c) && !is_anchor_accounts(&caller) {
                    b.anchor_accounts += cost;
                }
                if is_pda_crypto(c) && !is_pda_crypto(&caller) {
                    b.pda_crypto += cost;
                }
                if is_host_stub(c) && !is_host_stub(&caller) && !is_pda_crypto(&caller) {
                    b.host_stubs += cost;
                }
            }
        }
        after_calls = false;
    }
    Ok(b)
}
