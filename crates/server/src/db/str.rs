//! [`Str`]: how the keyspace stores a string value. Values up to [`INLINE`] bytes (counters,
//! flags, short ids, most of what a cache holds per key) live inside the hash table's bucket
//! next to their key; longer ones in a shared `Bytes` buffer.
//!
//! Stored as `Bytes`, every string value was a heap allocation of its own: SET paid a malloc
//! and a free, and INCR read its counter through a pointer to memory no other access had
//! brought into cache (perf, INCR at pipeline 16 over 100,000 keys: 11% of the server's time
//! in `incr_by`, nearly all of it that one load). Inline, the value arrives with the bucket
//! the lookup has already read. The enum stays 40 bytes, the size `Value` already had.

use bytes::{Bytes, BytesMut};

/// Longest value stored inline: 38 bytes and a length byte fill the 40 bytes `Value` has
/// anyway for its largest variant.
pub(crate) const INLINE: usize = 38;

/// In an inline value's length byte: the length (at most [`INLINE`])...
const LEN: u8 = 0x3f;
/// ...and two flags for OBJECT ENCODING: the value was written in place (APPEND, SETRANGE,
/// SETBIT, BITFIELD) or built whole by a command Redis stores as a raw string (BITOP):
/// "raw" at any length...
const RAW: u8 = 0x80;
/// ...or it is INCRBYFLOAT's result, which Redis never stores as an integer: "embstr".
const NOT_INT: u8 = 0x40;
/// Both flags at once (which no value otherwise has): an integer COPY made its own object in
/// Redis, not the shared one it copied (OBJECT REFCOUNT 1, encoding still "int").
const PRIVATE_INT: u8 = RAW | NOT_INT;

/// Longest string Redis 7.0 stores as "embstr" (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_MAX: usize = 44;
/// Integers Redis shares (`OBJ_SHARED_INTEGERS`): OBJECT REFCOUNT of such a value is
/// `OBJ_SHARED_REFCOUNT`.
const SHARED_INTEGERS: i64 = 10_000;

/// A stored string value (see the module doc).
#[derive(Clone)]
pub(crate) enum Str {
    /// Length and flags ([`LEN`], [`RAW`], [`NOT_INT`]), and bytes.
    Inline(u8, [u8; INLINE]),
    /// A value longer than [`INLINE`].
    Shared(Bytes),
    /// A value longer than [`INLINE`] that Redis would hold as a raw string (see [`RAW`]).
    Raw(Bytes),
}

const _: () = assert!(std::mem::size_of::<Str>() == 40);

impl Str {
    /// A value holding a copy of `b`.
    #[inline]
    pub(crate) fn new(b: &[u8]) -> Str {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Str::Inline(b.len() as u8, buf)
        } else {
            Str::Shared(Bytes::copy_from_slice(b))
        }
    }

    /// Heap bytes the value holds besides its 40 bytes (MEMORY USAGE).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Str::Inline(..) => 0,
            Str::Shared(b) | Str::Raw(b) => super::heap_block(b.len()),
        }
    }

    /// The same bytes, held as Redis holds a string written by SETRANGE on a new key or by
    /// BITOP: OBJECT ENCODING says "raw" at any length.
    pub(crate) fn into_raw(self) -> Str {
        match self {
            Str::Inline(len, buf) => Str::Inline((len & LEN) | RAW, buf),
            Str::Shared(b) | Str::Raw(b) => Str::Raw(b),
        }
    }

    /// The same bytes, never reported as an integer (INCRBYFLOAT's result: Redis stores it
    /// as a string even when it reads "3").
    pub(crate) fn into_not_int(self) -> Str {
        match self {
            Str::Inline(len, buf) => Str::Inline((len & LEN) | NOT_INT, buf),
            other => other,
        }
    }

    /// The value as COPY leaves it at its destination: Redis copies a shared integer into an
    /// object of its own (OBJECT REFCOUNT 1); any other value keeps its encoding.
    pub(crate) fn copied(self) -> Str {
        match self {
            Str::Inline(len, buf) if is_shared_int(len, &buf) => {
                Str::Inline((len & LEN) | PRIVATE_INT, buf)
            }
            other => other,
        }
    }

    /// Redis 7.0's encoding of this value (OBJECT ENCODING): "int" for a canonical 64-bit
    /// integer stored by a SET-like command or INCR, "embstr" up to 44 bytes, else "raw";
    /// "raw" at any length once written in place.
    pub(crate) fn encoding(&self) -> &'static str {
        let flags = match self {
            Str::Raw(_) => return "raw",
            Str::Inline(len, _) => *len & !LEN,
            Str::Shared(_) => 0,
        };
        if flags == PRIVATE_INT {
            return "int";
        }
        if flags & RAW != 0 {
            return "raw";
        }
        let b = self.as_bytes();
        if flags & NOT_INT == 0 && confab_protocol::parse_i64(b).is_some() {
            "int"
        } else if b.len() <= EMBSTR_MAX {
            "embstr"
        } else {
            "raw"
        }
    }

    /// OBJECT REFCOUNT: Redis shares the objects of the integers 0 to 9,999 (with no
    /// maxmemory policy, confab's only mode) and reports them with `INT_MAX` references.
    pub(crate) fn refcount(&self) -> i64 {
        match self {
            Str::Inline(len, buf) if is_shared_int(*len, buf) => i64::from(i32::MAX),
            _ => 1,
        }
    }

    /// The value's bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Str::Inline(len, buf) => &buf[..usize::from(*len & LEN)],
            Str::Shared(b) | Str::Raw(b) => b,
        }
    }

    /// The value as `Bytes`: a copy when inline, a shared reference when not.
    pub(crate) fn to_bytes(&self) -> Bytes {
        match self {
            Str::Inline(..) => Bytes::copy_from_slice(self.as_bytes()),
            Str::Shared(b) | Str::Raw(b) => b.clone(),
        }
    }

    /// Change the value in place: `f` gets its bytes, first zero-padded to at least `min_len`
    /// (SETBIT, BITFIELD, SETRANGE). An inline value stays inline while it fits; a longer one is
    /// edited in its own buffer when nothing else shares it (a reply in flight may: then it is
    /// copied first), so setting one bit of a big bitmap costs no copy of the bitmap. The
    /// value is then a raw string for OBJECT ENCODING, as in Redis.
    pub(crate) fn edit<R>(&mut self, min_len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        match self {
            Str::Inline(len, buf) if min_len <= INLINE => {
                let old = usize::from(*len & LEN);
                let new = old.max(min_len);
                buf[old..new].fill(0);
                *len = new as u8 | RAW;
                f(&mut buf[..new])
            }
            _ => {
                let mut b = match std::mem::replace(self, Str::Inline(0, [0; INLINE])) {
                    Str::Inline(len, buf) => BytesMut::from(&buf[..usize::from(len & LEN)]),
                    Str::Shared(b) | Str::Raw(b) => {
                        b.try_into_mut().unwrap_or_else(|b| BytesMut::from(&b[..]))
                    }
                };
                if b.len() < min_len {
                    b.resize(min_len, 0);
                }
                let r = f(&mut b);
                // Longer than INLINE: only a heap value or a growing one comes here.
                *self = Str::Raw(b.freeze());
                r
            }
        }
    }

    /// The value for a reply, copied into the reply arena when short (see `crate::arena`).
    #[inline]
    pub(crate) fn reply(&self) -> Bytes {
        match self {
            Str::Inline(..) => crate::arena::reply_slice(self.as_bytes()),
            Str::Shared(b) | Str::Raw(b) => crate::arena::reply_bytes(b),
        }
    }
}

/// Whether an inline value with this length byte is one of the integers Redis shares: "int"
/// encoded (no flag but [`LEN`]'s bits) and 0 to 9,999.
fn is_shared_int(len: u8, buf: &[u8; INLINE]) -> bool {
    len & !LEN == 0
        && confab_protocol::parse_i64(&buf[..usize::from(len & LEN)])
            .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n))
}

impl From<Bytes> for Str {
    /// Short values are copied inline; longer ones keep the buffer they came in.
    fn from(b: Bytes) -> Str {
        if b.len() <= INLINE {
            Str::new(&b)
        } else {
            Str::Shared(b)
        }
    }
}

impl From<Vec<u8>> for Str {
    fn from(v: Vec<u8>) -> Str {
        if v.len() <= INLINE {
            Str::new(&v)
        } else {
            Str::Shared(Bytes::from(v))
        }
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl std::ops::Deref for Str {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_pad_with_zeros_and_keep_the_bytes_around_the_inline_limit() {
        for (start, grow) in [
            (0, 0),
            (3, 10),
            (INLINE - 1, INLINE),
            (INLINE, INLINE + 1),
            (5, 100),
            (100, 50),
            (100, 300),
        ] {
            let v: Vec<u8> = (1..=start).map(|i| i as u8).collect();
            let mut s = Str::from(v.clone());
            let n = s.edit(grow, |b| {
                if let Some(last) = b.last_mut() {
                    *last ^= 0xff;
                }
                b.len()
            });
            let mut want = v.clone();
            want.resize(start.max(grow), 0);
            if let Some(last) = want.last_mut() {
                *last ^= 0xff;
            }
            assert_eq!(n, want.len());
            assert_eq!(s.as_bytes(), &want[..], "start {start} grow {grow}");
            assert_eq!(matches!(s, Str::Inline(..)), want.len() <= INLINE);
        }
        // A shared buffer is copied, not changed under its other holder.
        let mut s = Str::from(vec![7u8; 100]);
        let held = s.to_bytes();
        s.edit(0, |b| b[0] = 0);
        assert_eq!(held[0], 7);
        assert_eq!(s.as_bytes()[0], 0);
    }

    #[test]
    fn encodings_follow_redis_rules_and_remember_in_place_writes() {
        let enc = |b: &[u8]| Str::from(b.to_vec()).encoding();
        assert_eq!(enc(b"12345"), "int");
        assert_eq!(enc(b"-9223372036854775808"), "int");
        assert_eq!(enc(b"9223372036854775808"), "embstr");
        assert_eq!(enc(b"007"), "embstr");
        assert_eq!(enc(b"-0"), "embstr");
        assert_eq!(enc(&[b'x'; 44]), "embstr");
        assert_eq!(enc(&[b'x'; 45]), "raw");
        // Written in place: raw at any length, and the bytes are unchanged by the flag.
        for n in [1, INLINE, INLINE + 1, 44, 100] {
            let mut s = Str::from(vec![b'1'; n]);
            s.edit(0, |_| ());
            assert_eq!(s.encoding(), "raw", "length {n}");
            assert_eq!(s.as_bytes(), &vec![b'1'; n][..]);
            assert_eq!(s.refcount(), 1);
        }
        let built = Str::from(b"12".to_vec()).into_raw();
        assert_eq!((built.encoding(), built.as_bytes()), ("raw", &b"12"[..]));
        let float = Str::from(b"3".to_vec()).into_not_int();
        assert_eq!((float.encoding(), float.as_bytes()), ("embstr", &b"3"[..]));
        assert_eq!(float.refcount(), 1);
        assert_eq!(Str::from(b"9999".to_vec()).refcount(), i64::from(i32::MAX));
        assert_eq!(Str::from(b"10000".to_vec()).refcount(), 1);
        assert_eq!(Str::from(b"-1".to_vec()).refcount(), 1);
        // COPY: a shared integer becomes a private one; other values are unchanged.
        let copy = Str::from(b"5".to_vec()).copied();
        assert_eq!((copy.encoding(), copy.refcount()), ("int", 1));
        assert_eq!(copy.as_bytes(), b"5");
        for v in [&b"10000"[..], b"abc", &[b'x'; 50]] {
            let c = Str::from(v.to_vec()).copied();
            assert_eq!(c.encoding(), Str::from(v.to_vec()).encoding());
            assert_eq!(c.as_bytes(), v);
        }
        let float = Str::from(b"3".to_vec()).into_not_int().copied();
        assert_eq!((float.encoding(), float.refcount()), ("embstr", 1));
    }

    #[test]
    fn round_trips_at_every_length_around_the_inline_limit() {
        for n in [0, 1, INLINE - 1, INLINE, INLINE + 1, 1000] {
            let v: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let inline = n <= INLINE;
            for s in [
                Str::new(&v),
                Str::from(Bytes::from(v.clone())),
                Str::from(v.clone()),
            ] {
                assert_eq!(s.as_bytes(), &v[..], "length {n}");
                assert_eq!(&s.to_bytes()[..], &v[..]);
                assert_eq!(&s.reply()[..], &v[..]);
                assert_eq!(matches!(s, Str::Inline(..)), inline, "length {n}");
            }
        }
    }
}
