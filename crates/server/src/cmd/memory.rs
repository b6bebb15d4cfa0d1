//! MEMORY: USAGE (an estimate of the bytes a key and its value hold), DOCTOR, PURGE,
//! MALLOC-STATS and HELP.
//!
//! USAGE answers with confab's own layout, not Redis's: a key's slot in its shard's map, a
//! long key's heap block, its place in the expiry index, and the value's structures and
//! heap blocks (glibc malloc's chunk sizes), with up to `SAMPLES` elements of a collection
//! (default 5, 0 = all) measured and the rest extrapolated, as Redis samples. The figures
//! are estimates, like Redis's, and differ from Redis's for the same data (see
//! `db::Value::memory_usage`). STATS is not served: confab has no allocator statistics to
//! report beyond INFO memory.

use bytes::Bytes;
use confab_protocol::Frame;

use super::conn::{help_reply, verbatim};
use super::{
    arity_error, arity_ok, bulk_str, eq_ic, err, int, ok, syntax, unknown_subcommand, Ctx, Handler,
    Plan, NOT_INTEGER,
};
use crate::db::{Keyspace, ShardSet};

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] =
    &[("memory", memory, Plan::Custom(memory_plan))];

/// Redis's default number of sampled elements (`OBJ_COMPUTE_SIZE_DEF_SAMPLES`).
const DEFAULT_SAMPLES: usize = 5;

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// MEMORY USAGE reads its key's shard; the other subcommands touch no key.
fn memory_plan(ks: &Keyspace, db: usize, a: &[Bytes]) -> ShardSet {
    let mut set = ShardSet::new();
    if a.len() >= 3 && eq_ic(&a[1], "usage") {
        set.push(ks.shard_index(db, &a[2]));
    }
    set
}

/// # Format
/// `MEMORY USAGE key [SAMPLES count] | DOCTOR | PURGE | MALLOC-STATS | HELP`
fn memory(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("help", 2) => help_reply(MEMORY_HELP),
        ("usage", n) if n >= 3 => usage(ctx, a),
        // (No key count here: counting would lock shards, which a handler must not do while
        // EXEC may hold them.)
        ("doctor", 2) => verbatim(format!(
            "Sam, I have no allocator report to examine: confab runs on the system allocator. \
             The process holds {} bytes of resident memory; MEMORY USAGE estimates what one \
             key takes.\n",
            super::server::rss_bytes()
        )),
        // Redis purges only with jemalloc and answers OK with any allocator.
        ("purge", 2) => ok(),
        ("malloc-stats", 2) => bulk_str("Stats not supported for the current allocator"),
        _ => match super::table::lookup_sub("memory", &sub) {
            Some(spec) if arity_ok(spec.arity, a.len()) => super::conn::subcommand_syntax_error(a),
            Some(spec) => arity_error(spec.name),
            None => unknown_subcommand("memory", &a[1]),
        },
    }
}

/// `MEMORY USAGE key [SAMPLES count]`: options are checked before the key, as Redis does.
fn usage(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < a.len() {
        if !(eq_ic(&a[j], "samples") && j + 1 < a.len()) {
            return syntax();
        }
        let Some(n) = confab_protocol::parse_i64(&a[j + 1]) else {
            return err(NOT_INTEGER);
        };
        if n < 0 {
            return syntax();
        }
        // 0 = every element.
        samples = usize::try_from(n).unwrap_or(usize::MAX);
        j += 2;
    }
    let now = ctx.now;
    match ctx.shard(&a[2]).memory_usage(&a[2], now, samples) {
        Some(n) => int(i64::try_from(n).unwrap_or(i64::MAX)),
        None => Frame::Null,
    }
}
