//! [`Key`]: how the keyspace stores a key. Keys up to [`INLINE`] bytes (nearly all real keys:
//! `user:1000`, `key:000000012345`) live inside the hash table's bucket; longer ones in a
//! heap allocation of their own.
//!
//! With keys stored as `Bytes`, every lookup compared the probed key through a pointer to a
//! separate allocation: a cache miss per hit, 10% of the server's profile at GET or SET
//! pipeline 16 (perf, 100,000 keys). Inline, the comparison reads the bucket the probe has
//! already brought into cache, and a new key costs no allocation. A key hashes, compares
//! and orders exactly as its bytes do, so the map is looked up with a plain `&[u8]`.
//!
//! List elements are stored as `Key`s too, for the same reasons: an element of up to 22 bytes
//! costs its 24 bytes in the list's deque and no allocation (as `Bytes` it cost 32 bytes plus
//! a heap block of its own, allocated by every push and freed by every pop).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use bytes::Bytes;

/// Longest key stored inline: 22 bytes keep a `Key` at 24 bytes (the tag, the length, the
/// bytes), smaller than the 32-byte `Bytes` it replaces.
pub(crate) const INLINE: usize = 22;

/// A stored key (see the module doc).
#[derive(Clone)]
pub(crate) enum Key {
    /// Length and bytes.
    Inline(u8, [u8; INLINE]),
    /// A key longer than [`INLINE`].
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    /// A key holding a copy of `b`.
    pub(crate) fn new(b: &[u8]) -> Key {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Key::Inline(b.len() as u8, buf)
        } else {
            Key::Heap(b.into())
        }
    }

    /// The key's bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline(len, buf) => &buf[..usize::from(*len)],
            Key::Heap(b) => b,
        }
    }

    /// Heap bytes the key holds besides its 24 bytes (MEMORY USAGE).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Key::Inline(..) => 0,
            Key::Heap(b) => super::heap_block(b.len()),
        }
    }

    /// The key as `Bytes` (a copy), for replies.
    pub(crate) fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }

    /// A copy of the bytes for a reply, in the reply arena (see `crate::arena`).
    #[inline]
    pub(crate) fn to_reply(&self) -> Bytes {
        crate::arena::reply_slice(self.as_bytes())
    }

    /// The bytes as a reply: an inline one copied into the reply arena (see `crate::arena`),
    /// a long one handed over without a copy.
    #[inline]
    pub(crate) fn into_reply(self) -> Bytes {
        match self {
            Key::Inline(len, buf) => crate::arena::reply_slice(&buf[..usize::from(len)]),
            Key::Heap(b) => Bytes::from(b),
        }
    }
}

impl std::ops::Deref for Key {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Key {
    /// As `[u8]` hashes, which `Borrow<[u8]>` requires.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_and_long_keys_behave_as_their_bytes() {
        let mut map: HashMap<Key, u32, ahash::RandomState> = HashMap::default();
        let long = vec![b'k'; 100];
        let keys: [&[u8]; 5] = [b"", b"a", b"key:000000012345", &[7u8; INLINE], &long];
        for (i, k) in keys.iter().enumerate() {
            let key = Key::new(k);
            assert_eq!(key.as_bytes(), *k);
            assert_eq!(matches!(key, Key::Inline(..)), k.len() <= INLINE);
            map.insert(key, i as u32);
        }
        // Looked up by plain bytes: hashing and equality agree with `[u8]`'s.
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(map.get(*k), Some(&(i as u32)));
        }
        assert_eq!(map.get(&b"key:000000012346"[..]), None);
        assert_eq!(map.get(&[7u8; INLINE + 1][..]), None);
        // Order is byte order whatever the representation.
        assert!(Key::new(b"ab") < Key::new(&long));
        assert!(Key::new(&[b'l'; 30]) > Key::new(b"k"));
        assert_eq!(Key::new(&long).to_bytes(), Bytes::from(long.clone()));
    }
}
