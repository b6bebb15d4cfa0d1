//! The parse error type shared by [`crate::parse_frame`] and
//! [`crate::RequestParser`]. It does not decide what the connection does with an
//! error (the server replies and closes).

use crate::frame::Frame;

/// Errors from the parsers.
///
/// `Incomplete` carries no data, so returning it on the hot path never
/// allocates. `Protocol(msg)` holds exactly the text Redis puts after
/// `"ERR Protocol error: "`, e.g. `"invalid bulk length"`. In
/// `"expected '$', got 'X'"` the offending byte is stored as `char::from(byte)`
/// (so a non-ASCII byte reads as its Latin-1 character); [`ParseError::to_frame`]
/// turns it back into the raw byte.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ParseError {
    /// More bytes are needed before the frame can be parsed.
    #[error("incomplete frame")]
    Incomplete,
    /// The input is malformed or exceeds a limit; the connection should be closed.
    #[error("Protocol error: {0}")]
    Protocol(String),
}

impl ParseError {
    /// Builds a [`ParseError::Protocol`] from anything string-like.
    pub fn protocol(msg: impl Into<String>) -> Self {
        ParseError::Protocol(msg.into())
    }

    /// The full error-reply text, e.g. `"ERR Protocol error: invalid bulk length"`.
    pub fn reply_text(&self) -> String {
        format!("ERR {self}")
    }

    /// The error reply to send before closing the connection
    /// (`-ERR Protocol error: ...`).
    ///
    /// A message that quotes a raw input byte (`expected '$', got 'X'`) stores
    /// it as the char U+00XX; here it goes back to the single byte Redis sends.
    pub fn to_frame(&self) -> Frame {
        let text = self.reply_text();
        if text.is_ascii() {
            return Frame::Error(text.into());
        }
        let bytes: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect();
        Frame::Error(bytes.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_matches_redis() {
        let e = ParseError::protocol("invalid bulk length");
        assert_eq!(e.reply_text(), "ERR Protocol error: invalid bulk length");
        assert_eq!(
            e.to_frame(),
            Frame::Error("ERR Protocol error: invalid bulk length".into())
        );
        assert_eq!(ParseError::Incomplete.to_string(), "incomplete frame");
    }
}
