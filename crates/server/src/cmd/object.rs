//! OBJECT: ENCODING, REFCOUNT, FREQ, IDLETIME and HELP, the introspection of one key's value.
//!
//! confab stores values its own way (`db`), so ENCODING reports the encoding Redis 7.0 would
//! use for the same value, by Redis's rules and default thresholds: strings "int", "embstr"
//! or "raw" (`db::str::Str::encoding`, which remembers in-place writes and INCRBYFLOAT
//! results, as Redis's encodings do); lists "quicklist" (Redis 7.0 has no other); hashes
//! "listpack" up to 512 fields of at most 64 bytes each (field and value), else "hashtable";
//! sets "intset" up to 512 integer members, else "hashtable"; sorted sets "listpack" up to
//! 128 members of at most 64 bytes, else "skiplist"; streams "stream". A hash, set or sorted
//! set keeps its big encoding once it had it, as in Redis (`db::HashValue`, `db::SetValue`,
//! `db::zset::ZSet` remember it); a set built by SINTERSTORE and the like is encoded by
//! what it holds. REFCOUNT is 1 except
//! for the integers 0-9999 Redis shares (2147483647; a COPY of one is a private object, 1,
//! in Redis and here). confab keeps no access time or frequency per key
//! (it evicts nothing: `maxmemory-policy` is kept and shown, and acts as `noeviction`): FREQ answers Redis's
//! error for a server without an LFU policy and IDLETIME Redis's error for one with it;
//! otherwise each is refused with an error saying so.

use bytes::Bytes;
use confab_protocol::Frame;

use super::conn::help_reply;
use super::{arity_error, arity_ok, bulk_str, err, int, Ctx, Handler, Plan};
use crate::db::{Keyspace, ShardSet};

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] =
    &[("object", object, Plan::Custom(object_plan))];

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

const NO_LFU: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
Please note that when switching between policies at runtime LRU and LFU data will take some \
time to adjust.";

const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. \
Please note that when switching between policies at runtime LRU and LFU data will take some \
time to adjust.";

const NO_IDLETIME: &str =
    "ERR OBJECT IDLETIME is not supported: confab keeps no access time per key";

const NO_FREQ: &str = "ERR OBJECT FREQ is not supported: confab keeps no access frequency per key";

/// The subcommands with a key read its shard.
fn object_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    let mut set = ShardSet::new();
    if a.len() == 3 {
        set.push(ks.shard_index(db, &a[2]));
    }
    set
}

/// # Format
/// `OBJECT ENCODING key | REFCOUNT key | FREQ key | IDLETIME key | HELP`
fn object(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("help", 2) => help_reply(OBJECT_HELP),
        ("encoding" | "refcount" | "freq" | "idletime", 3) => {
            let now = ctx.now;
            let Some(entry) = ctx.shard(&a[2]).get(&a[2], now) else {
                return Frame::Null;
            };
            match sub.as_str() {
                "encoding" => return bulk_str(entry.value.encoding()),
                "refcount" => return int(entry.value.refcount()),
                _ => {}
            }
            let policy = super::server::MAXMEMORY_POLICIES[ctx
                .shared
                .runtime
                .maxmemory_policy
                .load(std::sync::atomic::Ordering::Relaxed)];
            let lfu = policy.contains("lfu");
            match sub.as_str() {
                "freq" if !lfu => err(NO_LFU),
                "freq" => err(NO_FREQ),
                _ if lfu => err(LFU_SELECTED),
                _ => err(NO_IDLETIME),
            }
        }
        _ => match super::table::lookup_sub("object", &sub) {
            Some(spec) if arity_ok(spec.arity, a.len()) => super::conn::subcommand_syntax_error(a),
            Some(spec) => arity_error(spec.name),
            None => super::unknown_subcommand("object", &a[1]),
        },
    }
}
