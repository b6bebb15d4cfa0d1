//! The terminal's settings: saved before the prompt starts and put back before the process
//! exits from another thread (rustyline may have the terminal in raw mode at that moment).

use std::io::Write;
use std::sync::OnceLock;

static SAVED: OnceLock<libc::termios> = OnceLock::new();

/// Remember the current settings of stdin's terminal (no-op when stdin is not a terminal).
pub fn save() {
    // SAFETY: tcgetattr writes into a zeroed termios we own; fd 0 stays open for the process.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(0, &mut t) } == 0 {
        let _ = SAVED.set(t);
    }
}

/// Put back the settings saved by [`save`] and turn off bracketed paste (rustyline turns it
/// on while reading a line).
pub fn restore() {
    if let Some(t) = SAVED.get() {
        // SAFETY: applies a termios obtained from tcgetattr on the same descriptor.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, t);
        }
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[?2004l");
        let _ = out.flush();
    }
}

/// Whether [`save`] found a terminal (then asynchronous lines need `\r\n`).
pub fn is_saved() -> bool {
    SAVED.get().is_some()
}
