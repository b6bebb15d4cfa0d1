//! INFO memory from the binary, whose counting allocator (`confab_alloc`) makes
//! `used_memory` the bytes allocated, as Redis counts them: it rises with a big value,
//! falls when the value is deleted, and the peak remembers it.

mod common;

use common::*;

const MB: u64 = 1 << 20;

fn info_field(port: u16, name: &str) -> u64 {
    let out = stdout(&cli(port, &["INFO", "memory"]));
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {out}"))
}

#[test]
fn used_memory_follows_what_the_keyspace_holds() {
    let srv = Server::start(&[]);
    let before = info_field(srv.port, "used_memory");
    // The count, not the resident set (which holds the binary's pages too).
    assert!(before < info_field(srv.port, "used_memory_rss"));
    // A 16 MiB string made on the server (SETRANGE past the end zero-fills).
    assert_eq!(
        stdout(&cli(srv.port, &["SETRANGE", "big", "16777215", "x"])).trim(),
        "(integer) 16777216"
    );
    let with = info_field(srv.port, "used_memory");
    assert!(with >= before + 16 * MB, "{before} -> {with}");
    assert!(info_field(srv.port, "used_memory_dataset") >= 16 * MB);
    assert_eq!(
        stdout(&cli(srv.port, &["DEL", "big"])).trim(),
        "(integer) 1"
    );
    let after = info_field(srv.port, "used_memory");
    assert!(after < before + MB, "{before} -> {after} after DEL");
    assert!(info_field(srv.port, "used_memory_peak") >= with);
}
