//! The binary's allocator: mimalloc, entered the cheap way, giving memory back at once.

// Exchanges are built in the decoding thread and freed in the pipeline's: glibc's malloc spent
// a fifth of the time on that; mimalloc frees across threads cheaply.
#[global_allocator]
static ALLOC: Mimalloc = Mimalloc;

unsafe extern "C" {
    // mimalloc's option setter and plain entry points (linked in by the `mimalloc` crate).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_malloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_zalloc(size: usize) -> *mut std::ffi::c_void;
    fn mi_realloc(p: *mut std::ffi::c_void, size: usize) -> *mut std::ffi::c_void;
}

/// mimalloc through its plain `malloc` entry points where a layout allows them, as std's
/// `System` uses C's malloc: the `mimalloc` crate calls the aligned ones for every layout, twice
/// the instructions per call (a few per cent of a capture's analysis, 22 allocations per
/// exchange). Like C's malloc, `mi_malloc` aligns every block to 16 bytes, or to its size
/// below that (its size classes are multiples of 16 bytes from 16 on).
struct Mimalloc;

/// The layouts `mi_malloc` serves aligned.
fn plain(align: usize, size: usize) -> bool {
    align <= 16 && align <= size
}

// SAFETY: each call keeps GlobalAlloc's contract by mimalloc's: blocks from `mi_malloc`,
// `mi_zalloc` and `mi_realloc` are aligned for the layouts `plain` admits, the rest go to the
// `mimalloc` crate's aligned calls; every block, however allocated, is freed by `mi_free`.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            // SAFETY: a plain allocation of a non-zero size (GlobalAlloc's callers never ask 0).
            unsafe { mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            // SAFETY: as `alloc`.
            unsafe { mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator; mimalloc frees any of its blocks.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        if plain(layout.align(), size) {
            // SAFETY: `ptr` is a live mimalloc block; the new size's block is aligned as `alloc`.
            unsafe { mi_realloc(ptr.cast(), size).cast() }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, size) }
        }
    }
}

const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15; // in mimalloc.h, v2 and v3 alike
/// mimalloc keeps freed pages for 10 ms before giving them back: a flood that churns
/// connections kept up to a third of `--max-memory` so. Giving them back at once cost no
/// measurable time. Its arena asks for transparent huge pages, which a 64 KiB purge cannot
/// give back: the agent's RSS sat at three times its live heap and swung by 2 MiB steps.
pub(crate) fn for_a_budget() {
    // SAFETY: sets a plain integer option; mimalloc allows it at any time, from any thread.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
    // SAFETY: takes integers, touches no memory; fails only before Linux 3.15 (no harm).
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout};

    /// Every block, fresh, zeroed or grown, is aligned for its layout: the plain entry points
    /// for the small alignments, the aligned ones past 16 bytes.
    #[test]
    fn every_block_is_aligned_for_its_layout() {
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (align..=3 * 4096).step_by(align.max(8)) {
                let layout = Layout::from_size_align(size, align).unwrap();
                let grown = Layout::from_size_align(size * 3, align).unwrap();
                // SAFETY: non-zero sizes; each block is freed once with its layout.
                unsafe {
                    let p = Mimalloc.alloc(layout);
                    assert!(
                        !p.is_null() && (p as usize).is_multiple_of(align),
                        "{size} {align}"
                    );
                    p.write_bytes(0xa5, size);
                    let q = Mimalloc.realloc(p, layout, grown.size());
                    assert!(
                        !q.is_null() && (q as usize).is_multiple_of(align),
                        "{size} {align} grown"
                    );
                    assert_eq!(*q.add(size - 1), 0xa5);
                    Mimalloc.dealloc(q, grown);
                    let z = Mimalloc.alloc_zeroed(layout);
                    assert!(
                        !z.is_null() && (z as usize).is_multiple_of(align),
                        "{size} {align} zeroed"
                    );
                    assert_eq!(*z.add(size - 1), 0);
                    Mimalloc.dealloc(z, layout);
                }
            }
        }
    }
}
