//! A global allocator that makes the measured transactions' allocations
//! independent of the heap's history.
//!
//! glibc's `malloc` walks its free lists, so its instruction count depends on
//! what the process allocated and freed before — and the bank's background
//! threads and timers make that history differ from run to run. Callgrind then
//! reports a few hundred instructions more or less for the same handler.
//! Between [`begin`] and [`end`] (around each measured transaction) every
//! allocation of the calling thread is served from a bump arena instead: a
//! constant number of instructions per call, freeing is a no-op (system
//! memory freed inside a window is leaked), and every block is page-aligned,
//! so memcpy's and memcmp's alignment and page-crossing paths are the same in
//! every run. Outside those windows, and on every other thread, the system
//! allocator serves everything; arena memory is never handed back to it. Used
//! by `lt-bench` only, never by the program or the tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Virtual size of the arena (pages are touched only as used).
const ARENA_SIZE: usize = 1 << 30;

thread_local! {
    /// Set on the thread that opened a window (the scenario thread, where
    /// the bank processes the transaction and the program runs). Other threads —
    /// the bank's background services — keep the system allocator, so their
    /// timing cannot shift the arena's layout.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

fn active() -> bool {
    ACTIVE.try_with(Cell::get).unwrap_or(false)
}

static START: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct RegionAlloc;

fn in_arena(p: *mut u8) -> bool {
    let s = START.load(Ordering::Relaxed);
    let a = p as usize;
    s != 0 && a >= s && a < s + ARENA_SIZE
}

/// Every arena block starts on a page boundary and takes whole pages. The
/// order of the scenario thread's allocations inside a window still varies a
/// little from run to run (the bank's own bookkeeping interleaves with the
/// program's), which would move a block's offset within its page — and
/// memcmp's and memcpy's short paths check page crossings and alignment. With
/// page-sized blocks every block's offset in its page is 0 whatever came
/// before it. (A window allocates a few hundred blocks: a few MiB of address
/// space, touched only as used.)
const PAGE: usize = 4096;

/// Bump-allocate `layout` from the arena, or `None` when it is full.
fn bump(layout: Layout) -> Option<*mut u8> {
    let size = (layout.size().max(1) + PAGE - 1) & !(PAGE - 1);
    let extra = if layout.align() > PAGE { layout.align() } else { 0 };
    // One fetch_add reserves the block; aligning inside the reservation needs
    // no retry loop (a constant instruction count).
    let at = NEXT.fetch_add(size + extra, Ordering::Relaxed);
    let aligned = if extra == 0 { at } else { (at + extra - 1) & !(extra - 1) };
    let start = START.load(Ordering::Relaxed);
    (aligned + size <= start + ARENA_SIZE).then_some(aligned as *mut u8)
}

/// Serve allocations from the arena until [`end`].
pub fn begin() {
    if START.load(Ordering::Relaxed) == 0 {
        // SAFETY: a valid, non-zero layout; the block is never freed.
        let p = unsafe { System.alloc(Layout::from_size_align(ARENA_SIZE, 4096).expect("layout")) };
        assert!(!p.is_null(), "could not reserve the measurement arena");
        START.store(p as usize, Ordering::Relaxed);
        NEXT.store(p as usize, Ordering::Relaxed);
    }
    // Start each window on a fresh page: page-crossing checks (memcmp's small
    // compares) then see the same offsets whatever earlier windows allocated.
    let next = NEXT.load(Ordering::Relaxed);
    NEXT.store((next + PAGE - 1) & !(PAGE - 1), Ordering::Relaxed);
    ACTIVE.with(|a| a.set(true));
}

pub fn end() {
    ACTIVE.with(|a| a.set(false));
}

unsafe impl GlobalAlloc for RegionAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if active() {
            if let Some(p) = bump(layout) {
                return p;
            }
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if active() {
            if let Some(p) = bump(layout) {
                std::ptr::write_bytes(p, 0, layout.size());
                return p;
            }
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Arena memory is never freed; system memory freed inside a window is
        // leaked rather than handed to `free` (whose cost depends on the heap).
        if !in_arena(ptr) && !active() {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(ptr) && !active() {
            return System.realloc(ptr, layout, new_size);
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}
