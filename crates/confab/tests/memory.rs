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

#[test]
fn maxmemory_refuses_growth_until_memory_is_given_back() {
    // Started with the flag, in Redis's units; CONFIG SET moves it.
    let srv = Server::start(&["--maxmemory", "1gb"]);
    assert_eq!(
        stdout(&cli(srv.port, &["CONFIG", "GET", "maxmemory"])),
        "1# \"maxmemory\" => \"1073741824\"\n"
    );
    // Room for 8 MiB more than is in use now: 1 MiB values fit until the count passes it.
    let limit = info_field(srv.port, "used_memory") + 8 * MB;
    let limit_text = limit.to_string();
    assert_eq!(
        stdout(&cli(srv.port, &["CONFIG", "SET", "maxmemory", &limit_text])).trim(),
        "OK"
    );
    assert_eq!(info_field(srv.port, "maxmemory"), limit);
    let mut stored = 0;
    let refused = loop {
        let key = format!("k{stored}");
        let out = stdout(&cli(srv.port, &["SETRANGE", &key, "1048575", "x"]));
        if out.contains("OOM") {
            break out;
        }
        assert_eq!(out.trim(), "(integer) 1048576", "value {stored}");
        stored += 1;
        assert!(stored < 64, "64 MiB stored under an 8 MiB limit");
    };
    assert_eq!(
        refused.trim(),
        "(error) OOM command not allowed when used memory > 'maxmemory'."
    );
    assert!(
        (6..=8).contains(&stored),
        "{stored} MiB stored under 8 MiB of room"
    );
    assert!(info_field(srv.port, "used_memory") > limit);
    // Reads and deletes still run; once memory is given back, writes do too.
    assert_eq!(
        stdout(&cli(srv.port, &["STRLEN", "k0"])).trim(),
        "(integer) 1048576"
    );
    let keys: Vec<String> = (0..stored).map(|i| format!("k{i}")).collect();
    let mut del = vec!["DEL"];
    del.extend(keys.iter().map(String::as_str));
    assert_eq!(
        stdout(&cli(srv.port, &del)).trim(),
        format!("(integer) {stored}")
    );
    assert!(info_field(srv.port, "used_memory") < limit);
    assert_eq!(stdout(&cli(srv.port, &["SET", "small", "v"])).trim(), "OK");
}
