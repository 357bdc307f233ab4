//! `lt-bench`: footprint measurements of the leveraged-token program.
//!
//! * `lt-bench report [--doc docs/footprint.md] [--runs 2] [--no-callgrind] [--tokens 100]`
//!   runs everything below and writes the markdown report (what
//!   `scripts/footprint.sh` calls);
//! * `lt-bench scenario` runs each measured instruction once in the bank and
//!   prints its footprint; under callgrind it marks each transaction with
//!   client requests (zero before, labelled dump after);
//! * `lt-bench throughput [--tokens 100]` times the keeper's decision step and
//!   the scan-decide-send loop;
//! * `lt-bench compute-units [--out FILE]`, with `SBF_OUT_DIR` naming the
//!   directory of the built `leveraged_token.so`, runs every instruction of
//!   the scenario against the `.so` and prints (or writes) the compute units
//!   each consumed — what `.github/workflows/sbf.yml` runs.

use std::path::PathBuf;
use std::process::Command;

use leveraged_token_bench::callgrind::{self, Dump};
use leveraged_token_bench::region_alloc;
use leveraged_token_bench::report::{self, CallgrindRuns, Report};
use leveraged_token_bench::scenario::{Mark, World, MEASURED};
use leveraged_token_harness::{heap, sbf};

fn arg_value(args: &[String], flag: &str) -> Option<String> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1).cloned())
}

fn runtime() -> tokio::runtime::Runtime {
    // One thread: the bank, the banks server and the program all run on it, in
    // the same order every time (part of what keeps callgrind counts repeatable).
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// Fixed std `HashMap` keys for the thread where the bank and the program
/// run. Anchor's `try_accounts` checks duplicate mutable accounts with
/// a std `HashSet`, whose probe sequence — and so callgrind's count — depends
/// on the process's random hash keys. std draws a thread's keys once, through
/// libc's `getrandom`, which this executable overrides (build.rs exports the
/// symbol, so it interposes libc's for every caller in the process): while
/// `FIXED` is set it returns fixed bytes, otherwise it forwards to the kernel.
/// Only that thread's first `RandomState` is drawn with `FIXED` set.
mod fixed_hash_keys {
    use std::sync::atomic::{AtomicBool, Ordering};

    static FIXED: AtomicBool = AtomicBool::new(false);

    /// # Safety
    /// The libc contract: `buf` is valid for `len` bytes.
    #[cfg(target_os = "linux")]
    #[no_mangle]
    pub unsafe extern "C" fn getrandom(buf: *mut libc::c_void, len: libc::size_t, flags: libc::c_uint) -> libc::ssize_t {
        if FIXED.load(Ordering::SeqCst) {
            let bytes = std::slice::from_raw_parts_mut(buf as *mut u8, len);
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(151).wrapping_add(7);
            }
            return len as libc::ssize_t;
        }
        libc::syscall(libc::SYS_getrandom, buf, len, flags) as libc::ssize_t
    }

    /// Draw this thread's keys now, from fixed bytes.
    pub fn fix_this_thread_keys() {
        FIXED.store(true, Ordering::SeqCst);
        let _ = std::collections::hash_map::RandomState::new();
        FIXED.store(false, Ordering::SeqCst);
    }
}

/// The bump arena around measured transactions (`region_alloc`), counted by
/// `harness::heap` for the program's SBF heap use.
#[global_allocator]
static ALLOC: heap::Counting<region_alloc::RegionAlloc> = heap::Counting(region_alloc::RegionAlloc);

/// Around each measured transaction: deterministic allocation (see
/// `region_alloc`), counters zeroed before and dumped, labelled, after.
fn callgrind_hook() -> leveraged_token_bench::scenario::Hook {
    Box::new(|m| match m {
        Mark::Before(_) => {
            region_alloc::begin();
            callgrind::zero_stats();
        }
        Mark::After(name) => {
            callgrind::dump_stats_at(name);
            region_alloc::end();
        }
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("help");
    match cmd {
        "scenario" => {
            // Under callgrind: no heap measurement around the entry point (its
            // bookkeeping would show in the counts).
            heap::set_enabled(false);
            // The bank's debug logging runs inside the entry point (program-test's
            // log stubs): keep it off so it neither costs nor varies.
            if std::env::var_os("RUST_LOG").is_none() {
                std::env::set_var("RUST_LOG", "error");
            }
            // On a thread of its own: its stack is a fresh mapping, so stack
            // addresses (and the alignment paths memcpy/memcmp take on them)
            // do not depend on the size of the environment and arguments the
            // process was started with, as the main thread's do.
            let lines = std::thread::Builder::new()
                .name("scenario".into())
                .stack_size(64 << 20)
                .spawn(|| {
                    fixed_hash_keys::fix_this_thread_keys();
                    let w = runtime().block_on(World::run(callgrind_hook()));
                    w.measured.iter().map(|m| format!("{:<24} {:>5} B  {:>2} accounts  {} CPIs  events {:?}", m.name, m.tx_bytes, m.tx_accounts, m.cpis.len(), m.events)).collect::<Vec<_>>()
                })
                .expect("spawn scenario thread")
                .join()
                .expect("scenario thread");
            if callgrind::running_on_valgrind() == 0 {
                for l in lines {
                    println!("{l}");
                }
            }
        }
        "throughput" => {
            let tokens = arg_value(&args, "--tokens").and_then(|t| t.parse().ok()).unwrap_or(100);
            let t = runtime().block_on(report::throughput(tokens));
            print!("{}", report::throughput_table(&t));
        }
        "report" => {
            let doc = PathBuf::from(arg_value(&args, "--doc").unwrap_or_else(|| "docs/footprint.md".into()));
            let runs: usize = arg_value(&args, "--runs").and_then(|r| r.parse().ok()).unwrap_or(2);
            let tokens = arg_value(&args, "--tokens").and_then(|t| t.parse().ok()).unwrap_or(100);
            let with_callgrind = !args.iter().any(|a| a == "--no-callgrind");
            let rt = runtime();

            assert!(!sbf::runs_sbf(), "lt-bench report measures the native program: unset SBF_OUT_DIR/BPF_OUT_DIR");
            eprintln!("footprint: scenario (native)");
            let mut w = rt.block_on(World::run(Box::new(|_| {})));
            rt.block_on(w.run_rest());
            for m in &w.measured {
                let bincode_len = bincode::serialize(&m.tx).expect("serialize tx").len();
                assert_eq!(bincode_len, m.tx_bytes, "{}: wire-size formula disagrees with bincode", m.name);
            }
            let accounts = rt.block_on(w.accounts());
            let bumps = rt.block_on(report::find_attempts(&mut w));

            let callgrind = if with_callgrind {
                let mut runs_out = Vec::new();
                for r in 1..=runs {
                    eprintln!("footprint: callgrind run {r}/{runs}");
                    runs_out.push(run_callgrind(r));
                }
                Some(CallgrindRuns::new(runs_out))
            } else {
                None
            };

            eprintln!("footprint: throughput (decide ×100, ×10,000; bank loop over {tokens} tokens)");
            let t = rt.block_on(report::throughput(tokens));

            let previous_doc = std::fs::read_to_string(&doc).unwrap_or_default();
            let previous = report::parse_handler_counts(&previous_doc);
            let stack = report::stack_block(&previous_doc);
            let r = Report {
                measured: &w.measured,
                usage: &w.usage,
                accounts: &accounts,
                find_attempts: &bumps,
                callgrind: callgrind.as_ref(),
                throughput: &t,
                previous: &previous,
                stack: stack.as_deref(),
            };
            let md = r.markdown();
            if let Some(dir) = doc.parent() {
                std::fs::create_dir_all(dir).expect("create doc dir");
            }
            std::fs::write(&doc, md).expect("write doc");
            print!("{}", r.deltas_text());
            eprintln!("footprint: wrote {}", doc.display());
        }
        "compute-units" => {
            let Some(dir) = sbf::sbf_out_dir() else {
                eprintln!("lt-bench compute-units: set SBF_OUT_DIR to the directory holding {}.so (anchor build writes target/deploy)", sbf::PROGRAM_NAME);
                std::process::exit(2);
            };
            let rt = runtime();
            let mut w = rt.block_on(World::run(Box::new(|_| {})));
            rt.block_on(w.run_rest());
            let md = report::compute_units_table(&w.usage, &dir.join(format!("{}.so", sbf::PROGRAM_NAME)));
            match arg_value(&args, "--out") {
                Some(out) => {
                    std::fs::write(&out, &md).expect("write compute units");
                    eprintln!("lt-bench: wrote {out}");
                }
                None => print!("{md}"),
            }
        }
        _ => {
            eprintln!("usage: lt-bench report [--doc PATH] [--runs N] [--no-callgrind] [--tokens N] | scenario | throughput [--tokens N] | compute-units [--out FILE]");
            std::process::exit(2);
        }
    }
}

/// Run `lt-bench scenario` under callgrind once and read its labelled dumps.
fn run_callgrind(run: usize) -> Vec<Dump> {
    let dir = std::env::temp_dir().join(format!("lt-bench-callgrind-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("callgrind dir");
    let out = dir.join("callgrind.out");
    let exe = std::env::current_exe().expect("current exe");
    let status = Command::new("valgrind")
        .args(callgrind::valgrind_args(&out))
        .arg(&exe)
        .arg("scenario")
        .env_clear()
        .env("RUST_LOG", "error")
        .envs(["PATH", "HOME"].iter().filter_map(|k| std::env::var_os(k).map(|v| (k, v))))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("valgrind.log")).expect("valgrind log"))
        .status()
        .expect("run valgrind (is it installed?)");
    assert!(status.success(), "valgrind failed: see {}", dir.join("valgrind.log").display());
    let dumps = callgrind::read_dumps(&out).expect("read callgrind dumps");
    let labels: Vec<&str> = dumps.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels, MEASURED, "one labelled dump per measured instruction");
    dumps
}
