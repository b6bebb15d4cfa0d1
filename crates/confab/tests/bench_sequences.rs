//! `confab bench sequences`: a faulty server that reorders or loses an element is caught
//! (exit 4 with a diagnosis); a clean run against the real server passes.

mod common;

use common::{bench, stdout, Fault, FaultyServer, Server};

#[test]
fn reordering_is_detected() {
    let srv = FaultyServer::start(Fault::SwapInLrange);
    let out = bench(
        "sequences",
        srv.port,
        &["--sequences", "3", "--messages", "50"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("check sequences: FAILED"), "{text}");
    assert!(
        text.contains("first bad index 1 (expected 1, found 2)"),
        "{text}"
    );
    assert!(
        text.contains("missing 0, duplicate 0, out of order 1"),
        "{text}"
    );
    assert!(text.contains("2 clean"), "{text}");
}

#[test]
fn loss_is_detected() {
    let srv = FaultyServer::start(Fault::DropInLrange);
    let out = bench(
        "sequences",
        srv.port,
        &["--sequences", "2", "--messages", "40", "--json"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = &doc["checks"][0];
    assert_eq!(check["ok"], false);
    assert_eq!(check["details"]["missing"], 1);
    assert_eq!(check["details"]["out_of_order"], 0);
    assert_eq!(check["details"]["bad"][0]["first_bad_index"], 1);
    assert_eq!(check["details"]["bad"][0]["received"], 39);
    assert_eq!(doc["exit_code"], 4);
}

#[test]
fn clean_run_against_confab_passes() {
    let srv = Server::start(&[]);
    for extra in [&["-P", "7"][..], &["--churn"][..]] {
        let mut args = vec!["--sequences", "4", "--messages", "300"];
        args.extend_from_slice(extra);
        let out = bench("sequences", srv.port, &args);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {text}");
        assert!(text.contains("check sequences: OK"), "{text}");
        assert!(
            text.contains("4 sequences x 300 messages: 4 clean"),
            "{text}"
        );
        assert!(text.contains("RPUSH") && text.contains("1200"), "{text}");
    }
}
