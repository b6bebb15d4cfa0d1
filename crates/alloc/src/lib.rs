//! The counting allocator: the system allocator with a running count of the bytes the process
//! holds through it. The `confab` binary installs it (`#[global_allocator]`); the server
//! reports the count as INFO's `used_memory`, as Redis reports what its `zmalloc` counted.
//! Where it is not installed (a library user's process, the in-process tests) [`allocated`]
//! says so with `None` and the server falls back to the resident set size.
//!
//! DESIGN. Each thread adds to one of [`STRIPES`] counters, each on its own cache line, picked
//! once per thread round robin, so two busy threads never contend on a counter (Redis keeps a
//! counter per thread for the same reason). A stripe may go negative (a thread freeing what
//! another allocated); the sum is exact once no allocation is in flight. Requested sizes are
//! counted (`Layout::size`), not the allocator's rounded-up chunk sizes.
//!
//! This crate holds the project's only `unsafe` code outside the binary: the four
//! `GlobalAlloc` methods, each forwarding its arguments unchanged to [`System`].
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering::Relaxed};

/// Number of counters.
pub const STRIPES: usize = 16;

#[repr(align(64))]
struct Stripe(AtomicI64);

static COUNTS: [Stripe; STRIPES] = [const { Stripe(AtomicI64::new(0)) }; STRIPES];
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // (A const initializer and no destructor: reading it never allocates.)
    static MY_STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn note(delta: i64) {
    let i = MY_STRIPE
        .try_with(|mine| {
            let mut i = mine.get();
            if i == usize::MAX {
                i = NEXT_STRIPE.fetch_add(1, Relaxed) % STRIPES;
                mine.set(i);
            }
            i
        })
        // (A thread past its thread-locals' teardown.)
        .unwrap_or(0);
    COUNTS[i].0.fetch_add(delta, Relaxed);
}

/// A fresh block `p` of `size` bytes (null: none), counted; the first one marks the counting
/// allocator as installed.
#[inline]
fn counted(p: *mut u8, size: usize) -> *mut u8 {
    if !p.is_null() {
        note(size as i64);
        if !INSTALLED.load(Relaxed) {
            INSTALLED.store(true, Relaxed);
        }
    }
    p
}

/// The system allocator, counted. Install it with
/// `#[global_allocator] static GLOBAL: confab_alloc::Counting = confab_alloc::Counting;`.
pub struct Counting;

// SAFETY: every method forwards its arguments unchanged to `System`, which implements
// `GlobalAlloc`'s contract; the counting around the calls touches no allocation.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, forwarded unchanged.
        counted(unsafe { System.alloc(layout) }, layout.size())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        counted(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract, forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as i64));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as i64 - layout.size() as i64);
        }
        p
    }
}

/// Bytes the process holds through [`Counting`], or `None` when it is not the global
/// allocator of this process (nothing was ever allocated through it).
pub fn allocated() -> Option<u64> {
    if !INSTALLED.load(Relaxed) {
        return None;
    }
    let sum: i64 = COUNTS.iter().map(|s| s.0.load(Relaxed)).sum();
    Some(sum.max(0) as u64)
}
