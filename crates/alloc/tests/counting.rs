//! The counting allocator installed as this test binary's global allocator: the count
//! follows allocations, reallocations and frees, from several threads.

#[global_allocator]
static GLOBAL: confab_alloc::Counting = confab_alloc::Counting;

const MB: u64 = 1 << 20;

/// The tests of this binary take turns: each reads the process-wide count.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn now() -> u64 {
    confab_alloc::allocated().expect("the counting allocator is installed")
}

#[test]
fn the_count_follows_allocations_and_frees() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = now();
    let mut big = vec![1u8; 16 * MB as usize];
    let grown = now();
    assert!(grown >= before + 16 * MB, "{before} -> {grown}");
    big.resize(32 * MB as usize, 2);
    assert!(now() >= before + 32 * MB);
    // Freed on another thread than the one that allocated it: still counted down.
    let handle = std::thread::spawn(move || drop(big));
    handle.join().unwrap();
    let after = now();
    // (The test harness's own threads allocate too; a megabyte of slack covers them.)
    assert!(after < before + MB, "{before} -> {after} after freeing");
    let zeroed = vec![0u8; 8 * MB as usize];
    assert!(now() >= after + 8 * MB - MB);
    drop(zeroed);
}

#[test]
fn many_threads_allocating_and_freeing_leave_the_count_level() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut keep = Vec::new();
                for i in 0..10_000 {
                    keep.push(vec![t as u8; 64 + i % 512]);
                    if keep.len() > 100 {
                        keep.clear();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let after = now();
    assert!(after.abs_diff(before) < MB, "{before} -> {after}");
}
