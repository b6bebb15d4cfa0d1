//! The walk-throughs in `examples/` are runnable documentation and tests at once: each script
//! starts its own server on a free port, drives it with `confab cli` / `confab bench`, and
//! checks what it shows (exiting non-zero with `FAILED: ...` when a step does not hold). This
//! runs every script with the binary under test (`CONFAB`) and `QUIET=1`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn scripts() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "sh") && p.file_name().is_some_and(|n| n != "lib.sh")
        })
        .collect();
    v.sort();
    v
}

fn run(script: &PathBuf) {
    let mut child = Command::new("bash")
        .arg(script)
        .env("CONFAB", env!("CARGO_BIN_EXE_confab"))
        .env("QUIET", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} did not finish within 120 s", script.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_walk_through_runs() {
    let all = scripts();
    assert!(
        all.len() >= 6,
        "expected the six walk-throughs, found {all:?}"
    );
    for s in &all {
        run(s);
    }
}
