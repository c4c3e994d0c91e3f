//! The raw ABI v1 surface (docs/abi.md): the `forgeone` imports, the exports every plugin needs,
//! result packing and the allocator the host uses through `forgeone_alloc`.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::ptr;

// Declared, not necessarily imported: the linker imports only the functions a plugin calls, so a
// plugin needs only the capabilities of the wrappers it uses.
#[link(wasm_import_module = "forgeone")]
extern "C" {
    pub(crate) fn error(ptr: *const u8, len: usize);
    pub(crate) fn log(level: i32, ptr: *const u8, len: usize);
    pub(crate) fn metric(name_ptr: *const u8, name_len: usize, value: f64);
    pub(crate) fn now_ms() -> i64;
    pub(crate) fn config_get(key_ptr: *const u8, key_len: usize) -> i64;
    pub(crate) fn kv_get(key_ptr: *const u8, key_len: usize) -> i64;
    pub(crate) fn kv_set(key_ptr: *const u8, key_len: usize, value_ptr: *const u8, value_len: usize) -> i32;
    pub(crate) fn kv_delete(key_ptr: *const u8, key_len: usize) -> i32;
    pub(crate) fn http_request(req_ptr: *const u8, req_len: usize) -> i64;
    pub(crate) fn auth_check(req_ptr: *const u8, req_len: usize) -> i32;
}

extern "C" {
    // Set by the linker: the first byte after the stack and the static data.
    static __heap_base: u8;
}

/// The ABI version; compiles to the constant `i32.const 1` the registry reads without running code.
#[no_mangle]
pub extern "C" fn forgeone_abi_version() -> i32 {
    1
}

/// Allocates `size` bytes for the host (the input, answers of `config_get`, `kv_get` and
/// `http_request`); 0 when memory cannot grow that far, as the ABI requires.
#[no_mangle]
pub extern "C" fn forgeone_alloc(size: i32) -> *mut u8 {
    if size < 0 {
        return ptr::null_mut();
    }
    bump(size as usize, 1)
}

/// `(ptr << 32) | len`, the ABI's packing of bytes in guest memory.
#[inline]
pub(crate) fn pack(ptr: *const u8, len: usize) -> i64 {
    (((ptr as usize as u32) as i64) << 32) | (len as u32) as i64
}

/// Takes the bytes the host wrote through `forgeone_alloc` and answered as a packed result (r >= 0).
///
/// # Safety
/// `packed` must be a non-negative answer of a host function, so that its block was allocated by
/// [`forgeone_alloc`] with exactly that length.
pub(crate) unsafe fn take(packed: i64) -> Vec<u8> {
    let ptr = ((packed as u64) >> 32) as usize as *mut u8;
    let len = (packed as u64 & 0xffff_ffff) as usize;
    if len == 0 {
        Vec::new()
    } else {
        // forgeone_alloc allocated exactly `len` bytes with alignment 1 from the global allocator.
        Vec::from_raw_parts(ptr, len, len)
    }
}

// The end of the last block handed out; 0 until the first allocation of a call (every call starts
// from the module's initial memory, so this is 0 again on the next call).
static mut NEXT: usize = 0;

#[inline]
fn heap_start() -> usize {
    unsafe { ptr::addr_of!(__heap_base) as usize }
}

/// Grows memory so that `[0, end)` exists; false when the sandbox's memory limit refuses it.
fn reserve(end: usize) -> bool {
    let have = (wasm32::memory_size(0) as u64) << 16;
    let end = end as u64;
    if end <= have {
        return true;
    }
    let pages = ((end - have + 0xffff) >> 16) as usize;
    wasm32::memory_grow(0, pages) != usize::MAX
}

fn bump(size: usize, align: usize) -> *mut u8 {
    // Safety: plugins run on one thread, and the host re-enters only through forgeone_alloc while
    // the plugin waits in a host call, never in the middle of another allocation.
    unsafe {
        let next = if NEXT == 0 { heap_start() } else { NEXT };
        let start = match next.checked_add(align - 1) {
            Some(value) => value & !(align - 1),
            None => return ptr::null_mut(),
        };
        let end = match start.checked_add(size) {
            Some(end) => end,
            None => return ptr::null_mut(),
        };
        if !reserve(end) {
            return ptr::null_mut();
        }
        NEXT = end;
        start as *mut u8
    }
}

/// The SDK's global allocator: a bump allocator over the memory above `__heap_base`, grown page by
/// page. Every call starts from the module's initial memory, so nothing needs freeing; the most
/// recent block is still given back or resized in place (a `String` being pushed to, a temporary
/// dropped at once). A plugin that grows memory is given a fresh instance on its next call, so a
/// call that stays within the initial memory is cheapest.
pub struct BumpAllocator;

unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(layout.size(), layout.align())
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if block as usize + layout.size() == NEXT {
            NEXT = block as usize;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = block as usize;
        if start + layout.size() == NEXT {
            let end = match start.checked_add(new_size) {
                Some(end) => end,
                None => return ptr::null_mut(),
            };
            if !reserve(end) {
                return ptr::null_mut();
            }
            NEXT = end;
            return block;
        }
        if new_size <= layout.size() {
            return block;
        }
        let moved = bump(new_size, layout.align());
        if !moved.is_null() {
            ptr::copy_nonoverlapping(block, moved, layout.size());
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator;
