//! The cli's conversation log (`--log FILE`): every command sent, reply received and event,
//! appended in the server's conversation-log line format by reusing the server's own line
//! formatters (`confab_server::convlog`), so one tool reads both files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use confab_protocol::Frame;
use confab_server::convlog;

/// An open log file. Lines are written (and flushed) as they happen: the cli may exit at any
/// moment with `process::exit`.
pub struct CliLog {
    file: File,
}

impl CliLog {
    /// Open FILE for appending, creating it.
    pub fn open(path: &Path) -> io::Result<CliLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(CliLog { file })
    }

    fn write(&mut self, buf: &[u8]) {
        // A failing log must not stop the cli; the first failure is reported.
        if let Err(e) = self.file.write_all(buf) {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| eprintln!("confab cli: cannot write the log: {e}"));
        }
    }

    /// `<ts> Client <id> (<label>): <args>`, passwords redacted.
    pub fn command(&mut self, id: u64, label: &str, args: &[Bytes]) {
        let mut buf = Vec::new();
        convlog::push_command(&mut buf, &now(), id, label, args, &redactions(args));
        self.write(&buf);
    }

    /// `<ts> Server -> <id>: <reply>`.
    pub fn reply(&mut self, id: u64, reply: &Frame) {
        let mut buf = Vec::new();
        convlog::push_reply(&mut buf, &now(), id, reply);
        self.write(&buf);
    }

    /// `<ts> SYSTEM: <text>`.
    pub fn system(&mut self, text: &str) {
        let mut buf = Vec::new();
        convlog::push_system(&mut buf, &now(), text);
        self.write(&buf);
    }
}

fn now() -> String {
    convlog::timestamp(SystemTime::now())
}

fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Argument positions holding passwords (AUTH, HELLO ... AUTH user pass), as the server hides.
pub fn redactions(args: &[Bytes]) -> Vec<usize> {
    let Some(name) = args.first() else {
        return Vec::new();
    };
    if eq_ic(name, "auth") {
        (1..args.len()).collect()
    } else if eq_ic(name, "hello") {
        let mut v = Vec::new();
        let mut i = 2;
        while i < args.len() {
            if eq_ic(&args[i], "auth") {
                v.extend([i + 1, i + 2]);
                i += 3;
            } else {
                i += 1;
            }
        }
        v
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
        assert_eq!(redactions(&[b("AUTH"), b("pw")]), vec![1]);
        assert_eq!(
            redactions(&[b("HELLO"), b("3"), b("AUTH"), b("u"), b("pw")]),
            vec![3, 4]
        );
        assert!(redactions(&[b("GET"), b("k")]).is_empty());
    }
}
