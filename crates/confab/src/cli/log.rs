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
        convlog::push_command(
            &mut buf,
            &now(),
            id,
            label,
            args,
            &convlog::redactions(args),
        );
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
