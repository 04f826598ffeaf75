//! SQLite's memory from the program's own allocator.
//!
//! A bulk publish makes SQLite allocate and free millions of small buffers on its writer thread.
//! Through the C library's malloc, with SQLite's memory statistics on, that meant a global mutex
//! and a size look-up per call: on the 1M benchmark a sixth of the writer thread's time went to
//! `malloc`, `free`, `sqlite3MemSize` and the mutex. The binary installs this before it opens
//! any database; it then uses whatever global allocator the binary chose.

use std::alloc::{alloc, dealloc, realloc, Layout};
use std::ffi::{c_int, c_void};

/// Each block starts with its size, which SQLite asks for (`xSize`) and `dealloc` needs.
const HEADER: usize = 8;
/// SQLite needs 8-byte aligned memory.
const ALIGN: usize = 8;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
}

unsafe extern "C" fn sqlite_malloc(size: c_int) -> *mut c_void {
    let Some(layout) = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .and_then(layout)
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: the layout's size is at least HEADER, never zero; the block is fresh.
    unsafe { hand_out(alloc(layout), layout.size()) }
}

/// Writes a block's size into its header and returns the part SQLite gets (null stays null).
///
/// # Safety
/// `block` must be null or a live allocation of `size` bytes (at least HEADER), 8-aligned.
unsafe fn hand_out(block: *mut u8, size: usize) -> *mut c_void {
    if block.is_null() {
        return block.cast();
    }
    // SAFETY: per the contract, the block holds HEADER aligned bytes before what SQLite gets.
    unsafe {
        block.cast::<usize>().write(size - HEADER);
        block.add(HEADER).cast()
    }
}

/// The block behind a pointer SQLite was given, and its layout.
///
/// # Safety
/// `p` must come from [`sqlite_malloc`] or [`sqlite_realloc`] and not have been freed.
unsafe fn block_of(p: *mut c_void) -> (*mut u8, Layout) {
    // SAFETY: per the contract, HEADER bytes before `p` hold the size.
    unsafe {
        let block = p.cast::<u8>().sub(HEADER);
        let size = block.cast::<usize>().read();
        (
            block,
            Layout::from_size_align_unchecked(size + HEADER, ALIGN),
        )
    }
}

unsafe extern "C" fn sqlite_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what it was given, once.
    unsafe {
        let (block, layout) = block_of(p);
        dealloc(block, layout);
    }
}

unsafe extern "C" fn sqlite_realloc(p: *mut c_void, size: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: as for a fresh allocation.
        return unsafe { sqlite_malloc(size) };
    }
    let Some(new) = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .and_then(layout)
    else {
        return std::ptr::null_mut();
    };
    // SAFETY: `p` came from this allocator; the new size is non-zero and fits a Layout.
    unsafe {
        let (block, old) = block_of(p);
        hand_out(realloc(block, old, new.size()), new.size())
    }
}

unsafe extern "C" fn sqlite_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: SQLite asks only about live blocks it was given.
    let (_, layout) = unsafe { block_of(p) };
    c_int::try_from(layout.size() - HEADER).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn sqlite_roundup(size: c_int) -> c_int {
    size.saturating_add(7) & !7
}

unsafe extern "C" fn sqlite_init(_: *mut c_void) -> c_int {
    0
}

unsafe extern "C" fn sqlite_shutdown(_: *mut c_void) {}

/// Points SQLite's allocations at the global allocator and turns its memory statistics off.
/// Call it first thing in `main`: SQLite accepts this only before its first use, and says
/// `Err(code)` otherwise (it then keeps its defaults, which work, only slower).
pub fn use_global_allocator_for_sqlite() -> Result<(), i32> {
    use rusqlite::ffi::{
        sqlite3_config, sqlite3_mem_methods, SQLITE_CONFIG_MALLOC, SQLITE_CONFIG_MEMSTATUS,
        SQLITE_OK,
    };
    let methods = sqlite3_mem_methods {
        xMalloc: Some(sqlite_malloc),
        xFree: Some(sqlite_free),
        xRealloc: Some(sqlite_realloc),
        xSize: Some(sqlite_size),
        xRoundup: Some(sqlite_roundup),
        xInit: Some(sqlite_init),
        xShutdown: Some(sqlite_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: both options are documented for use before sqlite3_initialize; SQLite copies the
    // methods struct, and the functions it points to are 'static.
    unsafe {
        let rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        if rc != SQLITE_OK {
            return Err(rc);
        }
        let rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &methods as *const sqlite3_mem_methods);
        if rc != SQLITE_OK {
            return Err(rc);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_size_through_realloc_and_free() {
        // SAFETY: the calls follow SQLite's own use: allocate, write within the size, grow,
        // shrink, free once.
        unsafe {
            assert!(sqlite_malloc(0).is_null());
            assert!(sqlite_malloc(-5).is_null());
            let p = sqlite_malloc(13);
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0);
            assert_eq!(sqlite_size(p), 13);
            std::ptr::write_bytes(p.cast::<u8>(), 0xAB, 13);
            let q = sqlite_realloc(p, 4000);
            assert_eq!(sqlite_size(q), 4000);
            assert_eq!(*q.cast::<u8>().add(12), 0xAB, "contents survive a move");
            let r = sqlite_realloc(q, 3);
            assert_eq!(sqlite_size(r), 3);
            sqlite_free(r);
            sqlite_free(std::ptr::null_mut());
            assert_eq!(sqlite_size(std::ptr::null_mut()), 0);
            assert_eq!(sqlite_roundup(13), 16);
            assert_eq!(sqlite_roundup(16), 16);
            let fresh = sqlite_realloc(std::ptr::null_mut(), 5);
            assert_eq!(sqlite_size(fresh), 5);
            sqlite_free(fresh);
        }
    }
}
