//! The program's heap use per instruction, measured in the native bank.
//!
//! On SBF a program gets a 32 KiB heap served by a bump allocator that never
//! frees: every allocation made during an invocation counts, a free gives
//! nothing back, and a `realloc` is a fresh allocation (the allocator has no
//! `realloc` of its own). When the program runs natively in the bank it uses
//! the host allocator, so nothing fails when it would overflow that heap. This
//! module measures what it would use:
//!
//! * [`Counting`] is a global allocator (wrapping another, by default
//!   `System`) that, on a thread where a measurement window is open, replays
//!   every allocation through a simulation of the SBF bump allocator
//!   (`solana_program_entrypoint::BumpAllocator`: position moves down by the
//!   size, then down to the alignment). A binary opts in with
//!   `#[global_allocator] static A: Counting = Counting(System);` — the test
//!   binaries through `leveraged-token-tests`, `lt-bench` around its own
//!   allocator. Binaries without it (the CLI, the keeper, the replay) measure
//!   nothing and pay nothing beyond a thread-local check per call.
//! * [`measure`] opens the window around one call of the program's
//!   `leveraged_token::entry` (the bank's processor wrappers call it after
//!   leaking their copies of the inputs, so those copies are not counted). It
//!   first replays what the SBF entrypoint's `deserialize` allocates before
//!   `entry` runs (a `Vec<AccountInfo>` with one slot per account, and the two
//!   `Rc`s of `AccountInfo::new` per distinct account), so the total is what
//!   the invocation takes of the 32 KiB; the `entry` part is reported apart.
//! * Work that is the harness's, not the program's, is left out: every
//!   syscall stub (program-test's CPI, which runs the callee and copies the
//!   accounts, the sysvar and log stubs — on SBF a syscall does not touch the
//!   caller's heap) through [`install_stub_guard`]; the program's host-only
//!   event copy (`leveraged_token::events::in_host_only_code`); and any
//!   `realloc`/`free` of a block the program did not allocate in this window
//!   (the test harness's captured-stdout buffer growing under a `msg!` line —
//!   the program cannot own a block allocated before it was called).
//!
//! Each measurement is kept as the thread's [`last`] and folded into a
//! per-process maximum per instruction name ([`maxima`], [`report`]), so any
//! test binary can print what the instructions it sent used.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, OnceLock};

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::Discriminator;

/// The SBF heap (`solana_program_entrypoint::HEAP_LENGTH`).
pub const HEAP_LENGTH: usize = anchor_lang::solana_program::entrypoint::HEAP_LENGTH;
/// Where the SBF heap starts (`HEAP_START_ADDRESS`), for the alignment of the simulation.
const HEAP_START: usize = anchor_lang::solana_program::entrypoint::HEAP_START_ADDRESS as usize;
/// What the bump allocator can hand out: it keeps its position in the heap's
/// first 8 bytes and fails below them.
pub const HEAP_USABLE: usize = HEAP_LENGTH - 8;

/// What one invocation of the program used of the SBF heap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapUse {
    /// Bytes the bump allocator gave out while `leveraged_token::entry` ran
    /// (sizes plus alignment padding).
    pub entry: usize,
    /// Bytes the SBF entrypoint's `deserialize` takes before `entry` runs.
    pub entrypoint: usize,
    /// Allocations `entry` made (a `realloc` counts as one).
    pub allocations: usize,
    /// The largest single allocation `entry` made.
    pub largest: usize,
}

impl HeapUse {
    /// What the invocation takes of the heap: the entrypoint's part, then `entry`'s.
    pub fn total(&self) -> usize {
        self.entrypoint + self.entry
    }
}

// --- the counting allocator -------------------------------------------------

/// Set by [`Counting`] on its first call: the binary counts.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Cleared by [`set_enabled`]`(false)` (e.g. under callgrind, where the
/// measurement's own work would show in the counts).
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Blocks the program allocated in the open window, to tell its `realloc`s
/// from the harness's. Past this many the unknown ones are counted too.
const OWNED: usize = 256;

struct Window {
    open: Cell<bool>,
    /// > 0 inside a syscall stub (the harness's work).
    paused: Cell<u32>,
    /// The simulated bump allocator's position (it moves down).
    pos: Cell<usize>,
    allocations: Cell<usize>,
    largest: Cell<usize>,
    owned: [Cell<usize>; OWNED],
    owned_len: Cell<usize>,
    owned_overflow: Cell<bool>,
}

impl Window {
    const fn new() -> Self {
        Self {
            open: Cell::new(false),
            paused: Cell::new(0),
            pos: Cell::new(0),
            allocations: Cell::new(0),
            largest: Cell::new(0),
            owned: [const { Cell::new(0) }; OWNED],
            owned_len: Cell::new(0),
            owned_overflow: Cell::new(false),
        }
    }

    fn counting(&self) -> bool {
        self.open.get() && self.paused.get() == 0 && !leveraged_token::events::in_host_only_code()
    }

    fn bump(&self, size: usize, align: usize) {
        let pos = self.pos.get().saturating_sub(size) & !(align.max(1) - 1);
        self.pos.set(pos);
        self.allocations.set(self.allocations.get() + 1);
        self.largest.set(self.largest.get().max(size));
    }

    fn used(&self) -> usize {
        HEAP_START + HEAP_LENGTH - self.pos.get()
    }

    fn own(&self, p: usize) {
        let n = self.owned_len.get();
        if n < OWNED {
            self.owned[n].set(p);
            self.owned_len.set(n + 1);
        } else {
            self.owned_overflow.set(true);
        }
    }

    /// Forget `p` if the program owned it; whether it did (or may have).
    fn disown(&self, p: usize) -> bool {
        let n = self.owned_len.get();
        for i in 0..n {
            if self.owned[i].get() == p {
                self.owned[i].set(self.owned[n - 1].get());
                self.owned_len.set(n - 1);
                return true;
            }
        }
        self.owned_overflow.get()
    }

    fn reset(&self) {
        self.pos.set(HEAP_START + HEAP_LENGTH);
        self.allocations.set(0);
        self.largest.set(0);
        self.owned_len.set(0);
        self.owned_overflow.set(false);
    }
}

thread_local! {
    static WINDOW: Window = const { Window::new() };
}

fn on_alloc(p: *mut u8, layout: Layout) {
    let _ = WINDOW.try_with(|w| {
        if w.counting() {
            w.bump(layout.size(), layout.align());
            w.own(p as usize);
        }
    });
}

fn on_dealloc(p: *mut u8) {
    let _ = WINDOW.try_with(|w| {
        if w.open.get() {
            w.disown(p as usize);
        }
    });
}

fn on_realloc(old: *mut u8, new: *mut u8, align: usize, new_size: usize) {
    let _ = WINDOW.try_with(|w| {
        if !w.open.get() {
            return;
        }
        // A block the program allocated in this window: on SBF a fresh allocation.
        // Anything else (a buffer of the harness growing) is not the program's.
        if w.disown(old as usize) && w.counting() {
            w.bump(new_size, align);
            w.own(new as usize);
        }
    });
}

/// A global allocator that measures the program's SBF heap use (see the
/// module docs); `A` serves the memory.
pub struct Counting<A = System>(pub A);

impl<A> Counting<A> {
    #[inline]
    fn installed() {
        if !INSTALLED.load(Ordering::Relaxed) {
            INSTALLED.store(true, Ordering::Relaxed);
        }
    }
}

unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::installed();
        let p = self.0.alloc(layout);
        if !p.is_null() {
            on_alloc(p, layout);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::installed();
        let p = self.0.alloc_zeroed(layout);
        if !p.is_null() {
            on_alloc(p, layout);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The bump allocator never frees: nothing to give back.
        on_dealloc(ptr);
        self.0.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::installed();
        let new = self.0.realloc(ptr, layout, new_size);
        if !new.is_null() {
            on_realloc(ptr, new, layout.align(), new_size);
        }
        new
    }
}

/// Whether this process measures: a [`Counting`] allocator is installed and
/// measuring is not switched off.
pub fn counting() -> bool {
    // Make sure the allocator has been called once (any allocation will do).
    if !INSTALLED.load(Ordering::Relaxed) {
        drop(std::hint::black_box(Box::new(0u8)));
    }
    INSTALLED.load(Ordering::Relaxed) && ENABLED.load(Ordering::Relaxed)
}

/// Switch measuring on or off for the whole process (on by default).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

// --- the window around the program's entry point ---------------------------

std::thread_local! {
    static LAST: Cell<Option<(&'static str, HeapUse)>> = const { Cell::new(None) };
    static PRIMED: Cell<bool> = const { Cell::new(false) };
}

/// Make this thread's output machinery allocate now, outside any window: the
/// process's stdout buffer, and the test harness's capture buffer, which
/// a failing instruction's `msg!` (a `println!` on the host) would otherwise
/// allocate inside one. Their later growth is a `realloc` of a block the
/// program does not own, which is not counted.
fn prime_thread() {
    if PRIMED.with(|p| p.replace(true)) {
        return;
    }
    let _ = std::io::stdout();
    eprintln!("harness::heap: measuring the program's SBF heap use per instruction on this thread");
}

/// Closes the window when `entry` returns or unwinds, and records the result.
struct Open {
    name: &'static str,
    entrypoint: usize,
}

impl Drop for Open {
    fn drop(&mut self) {
        let used = WINDOW.with(|w| {
            w.open.set(false);
            HeapUse { entry: w.used() - self.entrypoint, entrypoint: self.entrypoint, allocations: w.allocations.get(), largest: w.largest.get() }
        });
        LAST.with(|l| l.set(Some((self.name, used))));
        record(self.name, used);
    }
}

/// Run `entry` (the program's entry point, called with `accounts` and
/// `data`) and measure its SBF heap use, when this process counts; otherwise
/// just run it. Nested calls (a CPI back into the program) are not measured
/// apart: they belong to the outer window.
pub fn measure<R>(accounts: &[AccountInfo], data: &[u8], entry: impl FnOnce() -> R) -> R {
    if !counting() || WINDOW.with(|w| w.open.get()) {
        return entry();
    }
    prime_thread();
    let name = instruction_name(data);
    // Storage the replayed `AccountInfo`s point at (allocated before the window opens).
    let mut lamports = vec![0u64; accounts.len()];
    WINDOW.with(|w| {
        w.reset();
        w.open.set(true);
    });
    replay_entrypoint(accounts, &mut lamports);
    let entrypoint = WINDOW.with(|w| {
        // Only `entry`'s own allocations count from here on.
        let used = w.used();
        w.allocations.set(0);
        w.largest.set(0);
        used
    });
    let open = Open { name, entrypoint };
    let out = entry();
    drop(open);
    out
}

/// What `solana_program_entrypoint::deserialize` (3.1, the `entrypoint!`
/// Anchor uses) allocates on SBF before it calls `entry`:
/// `Vec::with_capacity(num_accounts)`, then per account either
/// `AccountInfo::new` (an `Rc<RefCell<&mut u64>>` and an `Rc<RefCell<&mut [u8]>>`)
/// or, for a duplicate, a clone of the first (no allocation). Replayed with
/// the same constructor, so the sizes are the real types'.
fn replay_entrypoint(accounts: &[AccountInfo], lamports: &mut [u64]) {
    let mut infos: Vec<AccountInfo> = Vec::with_capacity(accounts.len());
    for (i, (a, l)) in accounts.iter().zip(lamports.iter_mut()).enumerate() {
        match accounts[..i].iter().position(|b| b.key == a.key) {
            Some(first) => {
                let dup = infos[first].clone();
                infos.push(dup);
            }
            None => infos.push(AccountInfo::new(a.key, a.is_signer, a.is_writable, l, &mut [], a.owner, a.executable)),
        }
    }
    drop(std::hint::black_box(infos));
}

/// This thread's most recent measurement (instruction name and use), taken.
pub fn take_last() -> Option<(&'static str, HeapUse)> {
    LAST.with(|l| l.take())
}

// --- per-process maxima -------------------------------------------------------

/// Per instruction: the invocation with the largest total, and how many were measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapMax {
    pub max: HeapUse,
    pub invocations: u64,
}

static MAXIMA: Mutex<BTreeMap<&'static str, HeapMax>> = Mutex::new(BTreeMap::new());

fn record(name: &'static str, used: HeapUse) {
    let mut m = MAXIMA.lock().unwrap_or_else(|e| e.into_inner());
    let e = m.entry(name).or_default();
    e.invocations += 1;
    if used.total() > e.max.total() || e.invocations == 1 {
        e.max = used;
    }
}

/// Every instruction measured in this process so far, by name.
pub fn maxima() -> BTreeMap<&'static str, HeapMax> {
    MAXIMA.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The maxima as a table (instruction, invocations, entrypoint, entry,
/// total, headroom to the usable heap).
pub fn report() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<24} {:>7} {:>11} {:>8} {:>8} {:>9}", "instruction (heap max)", "sent", "entrypoint", "entry", "total", "headroom");
    for (name, m) in maxima() {
        let _ = writeln!(s, "{:<24} {:>7} {:>9} B {:>6} B {:>6} B {:>7} B", name, m.invocations, m.max.entrypoint, m.max.entry, m.max.total(), HEAP_USABLE as i64 - m.max.total() as i64);
    }
    s
}

// --- instruction names ----------------------------------------------------------

/// Every instruction of the program and its Anchor discriminator.
pub fn instructions() -> [(&'static str, &'static [u8]); 24] {
    use leveraged_token::instruction as ix;
    [
        ("initialize_config", ix::InitializeConfig::DISCRIMINATOR),
        ("propose_admin", ix::ProposeAdmin::DISCRIMINATOR),
        ("accept_admin", ix::AcceptAdmin::DISCRIMINATOR),
        ("set_global_pause", ix::SetGlobalPause::DISCRIMINATOR),
        ("set_market_pause", ix::SetMarketPause::DISCRIMINATOR),
        ("set_token_pause", ix::SetTokenPause::DISCRIMINATOR),
        ("propose_market_params", ix::ProposeMarketParams::DISCRIMINATOR),
        ("propose_token_params", ix::ProposeTokenParams::DISCRIMINATOR),
        ("apply_market_params", ix::ApplyMarketParams::DISCRIMINATOR),
        ("apply_token_params", ix::ApplyTokenParams::DISCRIMINATOR),
        ("cancel_param_proposal", ix::CancelParamProposal::DISCRIMINATOR),
        ("create_market", ix::CreateMarket::DISCRIMINATOR),
        ("create_leveraged_token", ix::CreateLeveragedToken::DISCRIMINATOR),
        ("request_mint", ix::RequestMint::DISCRIMINATOR),
        ("request_redeem", ix::RequestRedeem::DISCRIMINATOR),
        ("request_deposit", ix::RequestDeposit::DISCRIMINATOR),
        ("request_withdraw", ix::RequestWithdraw::DISCRIMINATOR),
        ("execute_mint", ix::ExecuteMint::DISCRIMINATOR),
        ("execute_redeem", ix::ExecuteRedeem::DISCRIMINATOR),
        ("execute_deposit", ix::ExecuteDeposit::DISCRIMINATOR),
        ("execute_withdraw", ix::ExecuteWithdraw::DISCRIMINATOR),
        ("cancel_request", ix::CancelRequest::DISCRIMINATOR),
        ("rebalance", ix::Rebalance::DISCRIMINATOR),
        ("collect_fees", ix::CollectFees::DISCRIMINATOR),
    ]
}

/// The instruction `data` calls (`"unknown"` for anything else).
pub fn instruction_name(data: &[u8]) -> &'static str {
    instructions().into_iter().find(|(_, d)| data.starts_with(d)).map(|(n, _)| n).unwrap_or("unknown")
}

// --- syscall stubs: the harness's work -----------------------------------------------

use anchor_lang::compat::solana_sysvar::program_stubs::{self, SyscallStubs};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;

/// Program-test's stubs, once [`install_stub_guard`] has wrapped them.
static INNER: OnceLock<Box<dyn SyscallStubs>> = OnceLock::new();

fn inner() -> &'static dyn SyscallStubs {
    loop {
        // Set right after the wrapper goes in; a stub called in between waits.
        if let Some(s) = INNER.get() {
            return s.as_ref();
        }
        std::hint::spin_loop();
    }
}

/// Pauses counting while a syscall stub runs.
struct Paused;

impl Paused {
    fn new() -> Self {
        let _ = WINDOW.try_with(|w| w.paused.set(w.paused.get() + 1));
        Paused
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = WINDOW.try_with(|w| w.paused.set(w.paused.get().saturating_sub(1)));
    }
}

/// Forwards every syscall to program-test's stubs with counting paused.
struct PausingStubs;

/// `impl SyscallStubs for PausingStubs`: each method listed pauses counting
/// and calls the same method of program-test's stubs.
macro_rules! forward_paused {
    (
        $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) $(-> $ret:ty)?;)*
        unsafe:
        $(fn $unsafe_name:ident(&self $(, $unsafe_arg:ident: $unsafe_ty:ty)*);)*
    ) => {
        impl SyscallStubs for PausingStubs {
            $(
                fn $name(&self $(, $arg: $ty)*) $(-> $ret)? {
                    let _p = Paused::new();
                    inner().$name($($arg),*)
                }
            )*
            $(
                unsafe fn $unsafe_name(&self $(, $unsafe_arg: $unsafe_ty)*) {
                    let _p = Paused::new();
                    inner().$unsafe_name($($unsafe_arg),*)
                }
            )*
        }
    };
}

forward_paused! {
    fn sol_log(&self, message: &str);
    fn sol_log_compute_units(&self);
    fn sol_remaining_compute_units(&self) -> u64;
    fn sol_invoke_signed(&self, instruction: &Instruction, account_infos: &[AccountInfo], signers_seeds: &[&[&[u8]]]) -> ProgramResult;
    fn sol_get_sysvar(&self, sysvar_id_addr: *const u8, var_addr: *mut u8, offset: u64, length: u64) -> u64;
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64;
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64;
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64;
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64;
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64;
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64;
    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64;
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)>;
    fn sol_set_return_data(&self, data: &[u8]);
    fn sol_log_data(&self, fields: &[&[u8]]);
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction>;
    fn sol_get_stack_height(&self) -> u64;
    unsafe:
    fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize);
    fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize);
    fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32);
    fn sol_memset(&self, s: *mut u8, c: u8, n: usize);
}

/// Wrap solana-program-test's syscall stubs so counting pauses inside them.
/// Call after the first `ProgramTest::start*` of the process (which installs
/// program-test's stubs once); later calls do nothing. Does nothing when the
/// process does not count.
pub fn install_stub_guard() {
    static ONCE: Once = Once::new();
    if !counting() {
        return;
    }
    ONCE.call_once(|| {
        let theirs = program_stubs::set_syscall_stubs(Box::new(PausingStubs));
        if INNER.set(theirs).is_err() {
            unreachable!("stub guard installed twice");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static A: Counting = Counting(System);

    fn with_accounts<R>(n_distinct: usize, dup_of_first: bool, f: impl FnOnce(&[AccountInfo]) -> R) -> R {
        let keys: Vec<Pubkey> = (0..n_distinct).map(|i| Pubkey::new_from_array([i as u8 + 1; 32])).collect();
        let owner = Pubkey::default();
        let mut lamports = vec![0u64; n_distinct];
        let mut data = vec![[0u8; 4]; n_distinct];
        let mut infos: Vec<AccountInfo> = keys.iter().zip(lamports.iter_mut()).zip(data.iter_mut()).map(|((k, l), d)| AccountInfo::new(k, false, true, l, &mut d[..], &owner, false)).collect();
        if dup_of_first {
            let first = infos[0].clone();
            infos.push(first);
        }
        f(&infos)
    }

    fn data_of(name: &str) -> Vec<u8> {
        instructions().iter().find(|(n, _)| *n == name).map(|(_, d)| d.to_vec()).unwrap()
    }

    #[test]
    fn names_come_from_the_discriminators() {
        assert_eq!(instruction_name(&data_of("execute_mint")), "execute_mint");
        assert_eq!(instruction_name(&data_of("accept_admin")), "accept_admin");
        assert_eq!(instruction_name(&[1, 2, 3]), "unknown");
        let mut all: Vec<&[u8]> = instructions().iter().map(|(_, d)| *d).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 24, "distinct discriminators");
    }

    #[test]
    fn the_simulation_is_a_bump_allocator_that_never_frees() {
        assert!(counting());
        let data = data_of("execute_mint");
        with_accounts(2, true, |accounts| {
            measure(accounts, &data, || {
                let v: Vec<u8> = Vec::with_capacity(100); // 100, then aligned down to 8: 104
                drop(std::hint::black_box(v)); // a free gives nothing back
                let b = Box::new(7u64); // 8 more
                std::hint::black_box(&b);
            });
        });
        let (name, u) = take_last().expect("measured");
        assert_eq!(name, "execute_mint");
        // Entrypoint: 3 Vec slots of AccountInfo and two Rcs per distinct account (32 + 40 bytes).
        assert_eq!(std::mem::size_of::<AccountInfo>(), 48);
        assert_eq!(u.entrypoint, 3 * 48 + 2 * (32 + 40));
        assert_eq!((u.entry, u.allocations, u.largest), (112, 2, 100));
    }

    #[test]
    fn a_realloc_is_a_new_allocation_unless_the_block_is_the_harness() {
        let data = data_of("execute_redeem");
        let mut outside: Vec<u8> = Vec::with_capacity(16);
        with_accounts(1, false, |accounts| {
            measure(accounts, &data, || {
                let mut v: Vec<u64> = Vec::with_capacity(4); // 32
                v.reserve_exact(8); // realloc to 64: a new block of 64
                std::hint::black_box(&v);
                outside.reserve_exact(4096); // the harness's block growing: not counted
            });
        });
        let (_, u) = take_last().expect("measured");
        assert_eq!((u.entry, u.allocations), (32 + 64, 2));
        std::hint::black_box(&outside);
    }

    #[test]
    fn syscall_stubs_and_host_only_code_are_not_counted() {
        let data = data_of("rebalance");
        with_accounts(1, false, |accounts| {
            measure(accounts, &data, || {
                {
                    let _p = Paused::new();
                    std::hint::black_box(vec![0u8; 10_000]);
                }
                // The event's host-only base64 copy (and its log line).
                let ev = leveraged_token::events::PauseSet { scope: leveraged_token::pause::PauseScope::Global, target: Pubkey::default(), old_flags: 0, new_flags: 1 };
                leveraged_token::events::host_log_event(&ev);
                std::hint::black_box(vec![0u8; 24]);
            });
        });
        let (_, u) = take_last().expect("measured");
        assert_eq!((u.entry, u.allocations), (24, 1));
        assert!(maxima().contains_key("rebalance"));
    }
}
