//! The redis-benchmark test matrix: test names, the exact commands redis-benchmark 7 sends for
//! each, and the pre-encoded pipeline batch whose `__rand_int__` key digits are patched in
//! place (12 zero-padded digits, the same width as the placeholder, as redis-benchmark does).

use confab_protocol::BytesMut;

/// The placeholder redis-benchmark replaces with a random key number under `-r`.
pub const RAND: &[u8] = b"__rand_int__";

/// One test of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Test {
    /// The row name, as redis-benchmark prints it (`LRANGE_100`, `MSET` for the 10-key MSET).
    pub name: &'static str,
    /// Whether the list `mylist` must hold 600 elements first (the LRANGE tests).
    pub needs_list: bool,
}

/// Every test, in redis-benchmark's default order, with its `-t` name.
pub const ALL: &[(&str, &str)] = &[
    ("ping_inline", "PING_INLINE"),
    ("ping_mbulk", "PING_MBULK"),
    ("set", "SET"),
    ("get", "GET"),
    ("incr", "INCR"),
    ("lpush", "LPUSH"),
    ("rpush", "RPUSH"),
    ("lpop", "LPOP"),
    ("rpop", "RPOP"),
    ("sadd", "SADD"),
    ("hset", "HSET"),
    ("spop", "SPOP"),
    ("zadd", "ZADD"),
    ("zpopmin", "ZPOPMIN"),
    ("lrange_100", "LRANGE_100"),
    ("lrange_300", "LRANGE_300"),
    ("lrange_500", "LRANGE_500"),
    ("lrange_600", "LRANGE_600"),
    ("mset", "MSET"),
    ("xadd", "XADD"),
];

/// The default `-t` of `requests`: all of them, as redis-benchmark without -t.
pub const DEFAULT_TESTS: &str = "ping_inline,ping_mbulk,set,get,incr,lpush,rpush,lpop,rpop,sadd,\
hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset,xadd";

/// Parse a `-t` list (case-insensitive; `ping` = both pings, `lrange` = the four LRANGEs).
pub fn parse_tests(list: &str) -> Result<Vec<Test>, String> {
    let mut out: Vec<Test> = Vec::new();
    for word in list.split(',').map(|w| w.trim().to_ascii_lowercase()) {
        if word.is_empty() {
            continue;
        }
        let names: Vec<&str> = match word.as_str() {
            "ping" => vec!["PING_INLINE", "PING_MBULK"],
            "lrange" => vec!["LRANGE_100", "LRANGE_300", "LRANGE_500", "LRANGE_600"],
            w => match ALL.iter().find(|(k, _)| *k == w) {
                Some((_, n)) => vec![*n],
                None => {
                    let known: Vec<&str> = ALL.iter().map(|(k, _)| *k).collect();
                    return Err(format!(
                        "unknown test {w:?}; known: ping, lrange, {}",
                        known.join(", ")
                    ));
                }
            },
        };
        for name in names {
            if !out.iter().any(|t| t.name == name) {
                out.push(Test {
                    name,
                    needs_list: name.starts_with("LRANGE"),
                });
            }
        }
    }
    if out.is_empty() {
        return Err("-t names no test".into());
    }
    Ok(out)
}

/// redis-benchmark's value: `size` random upper-case letters (7.0 sends e.g. `VXK`).
pub fn value(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x5eed);
    (0..size).map(|_| b'A' + (rng.next() % 26) as u8).collect()
}

/// The arguments of one request of `test` (`None` for PING_INLINE, which is inline).
pub fn command(test: &str, data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let s = |x: &str| x.as_bytes().to_vec();
    let d = data.to_vec();
    Some(match test {
        "PING_INLINE" => return None,
        "PING_MBULK" => vec![s("PING")],
        "SET" => vec![s("SET"), s("key:__rand_int__"), d],
        "GET" => vec![s("GET"), s("key:__rand_int__")],
        "INCR" => vec![s("INCR"), s("counter:__rand_int__")],
        "LPUSH" => vec![s("LPUSH"), s("mylist"), d],
        "RPUSH" => vec![s("RPUSH"), s("mylist"), d],
        "LPOP" => vec![s("LPOP"), s("mylist")],
        "RPOP" => vec![s("RPOP"), s("mylist")],
        "SADD" => vec![s("SADD"), s("myset"), s("element:__rand_int__")],
        "HSET" => vec![s("HSET"), s("myhash"), s("element:__rand_int__"), d],
        "SPOP" => vec![s("SPOP"), s("myset")],
        "ZADD" => vec![
            s("ZADD"),
            s("myzset"),
            s("__rand_int__"),
            s("element:__rand_int__"),
        ],
        "ZPOPMIN" => vec![s("ZPOPMIN"), s("myzset")],
        "LRANGE_100" => vec![s("LRANGE"), s("mylist"), s("0"), s("99")],
        "LRANGE_300" => vec![s("LRANGE"), s("mylist"), s("0"), s("299")],
        "LRANGE_500" => vec![s("LRANGE"), s("mylist"), s("0"), s("499")],
        "LRANGE_600" => vec![s("LRANGE"), s("mylist"), s("0"), s("599")],
        "MSET" => {
            let mut v = vec![s("MSET")];
            for _ in 0..10 {
                v.push(s("key:__rand_int__"));
                v.push(d.clone());
            }
            v
        }
        // redis-benchmark 7.2+: no MAXLEN, the stream grows for the length of the test.
        "XADD" => vec![s("XADD"), s("mystream"), s("*"), s("myfield"), d],
        _ => return None,
    })
}

/// The bytes of one request of `test`.
pub fn encode(test: &str, data: &[u8]) -> Vec<u8> {
    match command(test, data) {
        Some(args) => {
            let mut b = BytesMut::new();
            confab_protocol::encode_command(&args, &mut b);
            b.to_vec()
        }
        None => b"PING\r\n".to_vec(),
    }
}

/// "00" "01" ... "99": two key digits per table look-up.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// A pipeline batch: `pipeline` copies of one request, encoded once; with a key space the
/// offsets of every `__rand_int__` are kept so [`Batch::randomize`] rewrites only those bytes.
pub struct Batch {
    bytes: Vec<u8>,
    cmd_len: usize,
    patches: Vec<usize>,
    keyspace: u64,
}

impl Batch {
    /// Build the batch for `pipeline` requests of `cmd`.
    pub fn new(cmd: &[u8], pipeline: usize, keyspace: Option<u64>) -> Batch {
        let mut bytes = Vec::with_capacity(cmd.len() * pipeline);
        for _ in 0..pipeline {
            bytes.extend_from_slice(cmd);
        }
        let mut patches = Vec::new();
        if keyspace.is_some() {
            let mut i = 0;
            while let Some(off) = memchr::memmem::find(&bytes[i..], RAND) {
                patches.push(i + off);
                i += off + RAND.len();
            }
        }
        Batch {
            bytes,
            cmd_len: cmd.len(),
            patches,
            keyspace: keyspace.unwrap_or(1),
        }
    }

    /// Write fresh random key numbers into the first `count` requests.
    #[inline]
    pub fn randomize(&mut self, rng: &mut Rng, count: usize) {
        let limit = count * self.cmd_len;
        for &off in &self.patches {
            if off >= limit {
                break;
            }
            let mut n = rng.next() % self.keyspace;
            let digits = &mut self.bytes[off..off + 12];
            for pair in digits.chunks_exact_mut(2).rev() {
                let d = (n % 100) as usize * 2;
                n /= 100;
                pair.copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
            }
        }
    }

    /// The bytes of the first `count` requests.
    #[inline]
    pub fn bytes(&self, count: usize) -> &[u8] {
        &self.bytes[..count * self.cmd_len]
    }
}

/// A small xorshift64* generator: one per connection, no locking, no allocation.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    #[inline]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_aliases_and_unknown() {
        let t = parse_tests("ping,SET,lrange").unwrap();
        let names: Vec<_> = t.iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "PING_INLINE",
                "PING_MBULK",
                "SET",
                "LRANGE_100",
                "LRANGE_300",
                "LRANGE_500",
                "LRANGE_600"
            ]
        );
        assert!(parse_tests("nope").is_err());
        assert_eq!(parse_tests(DEFAULT_TESTS).unwrap().len(), ALL.len());
    }

    #[test]
    fn batch_patches_only_key_digits() {
        let cmd = encode("MSET", b"xyz");
        let mut b = Batch::new(&cmd, 2, Some(1000));
        assert_eq!(b.patches.len(), 20);
        b.randomize(&mut Rng::new(7), 2);
        let s = String::from_utf8(b.bytes(2).to_vec()).unwrap();
        assert!(!s.contains("__rand_int__"), "{s}");
        assert!(s.contains("key:000000000"), "{s}");
        let mut one = Batch::new(b"k:__rand_int__", 1, Some(1_000_000_000_000));
        one.randomize(&mut Rng::new(3), 1);
        let n: u64 = std::str::from_utf8(&one.bytes(1)[2..])
            .unwrap()
            .parse()
            .unwrap();
        let mut rng = Rng::new(3);
        assert_eq!(n, rng.next() % 1_000_000_000_000);
        assert_eq!(b.bytes(1).len(), cmd.len());
        let plain = Batch::new(&cmd, 1, None);
        assert_eq!(plain.bytes(1), &cmd[..]);
    }
}
