//! `Errno::name` and `Errno::from_name` do not allocate (`from_name` runs once per manifest
//! row). Its own test binary, because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use trustbench::Errno;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards to the system allocator; only counts, per thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `alloc`'s contract, which is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|c| c.get())
}

#[test]
fn name_and_from_name_do_not_allocate() {
    let names: Vec<String> = (1..=600).map(|c| Errno::from_code(c).to_string()).collect();
    let before = allocations();
    let mut found = 0usize;
    let mut len = 0usize;
    for (code, name) in (1..=600).zip(&names) {
        let e = Errno::from_code(code);
        len += std::hint::black_box(e.name()).len();
        let back = Errno::from_name(std::hint::black_box(name));
        found += usize::from(back == Some(e));
    }
    assert_eq!(allocations(), before, "name/from_name allocated");
    assert_eq!(found, 600);
    assert!(len > 0);
    // The counter sees allocations on this thread.
    let before = allocations();
    let s = std::hint::black_box(Errno::Other(7)).to_string();
    assert!(allocations() > before && s == "E#7");
}
