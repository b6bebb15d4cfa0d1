//! The reply arena: short replies copied out of the keyspace into a per-thread buffer.
//!
//! A GET used to reply with a clone of the stored `Bytes`: an atomic increment (and later a
//! decrement) on the value's reference count, which lives in its own allocation and is
//! rarely in cache, so every hit paid a cache miss and a cache-line write on top of reading
//! the value. Copying a short value into this thread's arena touches only the value itself
//! and a buffer that stays hot; the reply is written to the socket and dropped within the
//! same batch, so the arena's block is almost always free again when it fills, and
//! `BytesMut::reserve` then reuses it in place instead of allocating.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

/// Values up to this size are copied; longer ones are shared (a clone), since copying
/// them would cost more than the reference count's cache miss.
pub(crate) const COPY_MAX: usize = 512;

/// Arena block size: many batches' worth of short replies.
const BLOCK: usize = 64 * 1024;

thread_local! {
    static ARENA: RefCell<BytesMut> = RefCell::new(BytesMut::new());
}

/// `v` as an owned reply: copied into the arena when short, shared otherwise.
pub(crate) fn reply_bytes(v: &Bytes) -> Bytes {
    if v.len() > COPY_MAX {
        return v.clone();
    }
    reply_slice(v)
}

/// A reply holding a copy of `v` (which must be short: [`COPY_MAX`] bytes at most, or the
/// copy goes to a buffer of its own).
#[inline]
pub(crate) fn reply_slice(v: &[u8]) -> Bytes {
    build(v.len(), |a| a.extend_from_slice(v))
}

/// A reply encoded by `fill` into at most about `size` bytes: built in the arena when
/// small, in a buffer of its own when big (so the arena never grows past its block size).
pub(crate) fn build(size: usize, fill: impl FnOnce(&mut BytesMut)) -> Bytes {
    if size > BLOCK / 4 {
        let mut out = BytesMut::with_capacity(size);
        fill(&mut out);
        return out.freeze();
    }
    ARENA.with(|a| {
        let mut a = a.borrow_mut();
        if a.capacity() < size {
            a.reserve(BLOCK);
        }
        fill(&mut a);
        a.split().freeze()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_short_values_and_shares_long_ones() {
        let short = Bytes::from_static(b"xyz");
        let r = reply_bytes(&short);
        assert_eq!(r, short);
        assert_ne!(r.as_ptr(), short.as_ptr());
        let long = Bytes::from(vec![7u8; COPY_MAX + 1]);
        assert_eq!(reply_bytes(&long).as_ptr(), long.as_ptr());
        // Many replies, some kept alive across block boundaries, all intact.
        let kept: Vec<Bytes> = (0..50_000u32)
            .map(|i| reply_bytes(&Bytes::from(i.to_string())))
            .filter(|b| b.len() == 4)
            .collect();
        for (n, b) in (1000..10_000u32).zip(&kept) {
            assert_eq!(b, n.to_string().as_bytes());
        }
        // A big reply gets its own buffer, and the arena goes on serving small ones.
        let big = build(BLOCK, |b| b.extend_from_slice(&[1u8; BLOCK]));
        assert_eq!(big.len(), BLOCK);
        let small = build(5, |b| b.extend_from_slice(b"hello"));
        assert_eq!(&small[..], b"hello");
    }
}
