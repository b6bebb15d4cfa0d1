//! Server commands: INFO, COMMAND, CONFIG, TIME, SHUTDOWN, MONITOR (MEMORY lives in `memory`).
//!
//! INFO follows Redis's text format (`# Section` headers, `field:value` lines, CRLF). CONFIG
//! exposes the settings confab has, under Redis's names; `save` and `appendonly` are
//! accepted so tools such as redis-benchmark start cleanly, and report persistence off.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use confab_protocol::Frame;

use super::conn::help_reply;
use super::table::{self, CommandSpec};
use super::{
    arity_error, arity_ok, bulk, bulk_str, eq_ic, err, err_owned, int, ok, parse_i64, syntax,
    unknown_subcommand, Ctx, Handler, Plan,
};
use crate::glob;
use crate::server::Shared;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("info", info, Plan::None),
    ("command", command, Plan::None),
    ("config", config, Plan::None),
    ("time", time, Plan::None),
    ("lastsave", lastsave, Plan::None),
    ("shutdown", shutdown, Plan::None),
    ("monitor", monitor, Plan::None),
    ("role", role, Plan::None),
    ("slowlog", slowlog, Plan::None),
];

/// # Format
/// `ROLE`: a primary with no replicas (confab has no replication yet).
fn role(_ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    Frame::Array(vec![bulk_str("master"), int(0), Frame::Array(Vec::new())])
}

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `SLOWLOG GET [count] | LEN | RESET | HELP`
fn slowlog(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let lock = || ctx.shared.slowlog.lock().unwrap_or_else(|p| p.into_inner());
    match (sub.as_str(), a.len()) {
        ("help", 2) => help_reply(SLOWLOG_HELP),
        ("reset", 2) => {
            lock().entries.clear();
            ok()
        }
        ("len", 2) => int(lock().entries.len() as i64),
        ("get", 2 | 3) => {
            let mut count = 10usize;
            if a.len() == 3 {
                match parse_i64(&a[2]) {
                    Some(-1) => count = usize::MAX,
                    Some(n) if n >= 0 => count = n as usize,
                    _ => return err("ERR count should be greater than or equal to -1"),
                }
            }
            let log = lock();
            Frame::Array(
                log.entries
                    .iter()
                    .take(count)
                    .map(|e| {
                        Frame::Array(vec![
                            int(e.id as i64),
                            int(e.time as i64),
                            int(e.micros as i64),
                            Frame::Array(e.args.iter().cloned().map(bulk).collect()),
                            bulk_str(&e.addr),
                            bulk(e.name.clone()),
                        ])
                    })
                    .collect(),
            )
        }
        _ => match table::lookup_sub("slowlog", &sub) {
            Some(spec) if arity_ok(spec.arity, a.len()) => super::conn::subcommand_syntax_error(a),
            Some(spec) => arity_error(spec.name),
            None => unknown_subcommand("slowlog", &a[1]),
        },
    }
}

/// # Format
/// `TIME`
fn time(_ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Frame::Array(vec![
        bulk(Bytes::from(t.as_secs().to_string())),
        bulk(Bytes::from(t.subsec_micros().to_string())),
    ])
}

/// # Format
/// `LASTSAVE`: confab saves nothing yet, so, as a Redis that loaded nothing and never saved,
/// the server's start (INFO's `rdb_last_save_time`).
fn lastsave(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    Frame::Integer(ctx.shared.started_unix as i64)
}

/// # Format
/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`
fn shutdown(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut abort = false;
    let mut save = false;
    let mut nosave = false;
    for opt in &a[1..] {
        if eq_ic(opt, "nosave") {
            nosave = true;
        } else if eq_ic(opt, "save") {
            save = true;
        } else if eq_ic(opt, "now") || eq_ic(opt, "force") {
        } else if eq_ic(opt, "abort") {
            abort = true;
        } else {
            return syntax();
        }
    }
    if (abort && a.len() != 2) || (save && nosave) {
        return syntax();
    }
    if abort {
        return err("ERR No shutdown in progress.");
    }
    let id = ctx.client.handle.id;
    ctx.shared
        .shutdown
        .trigger(format!("SHUTDOWN from client {id}"));
    ctx.client.no_reply = true;
    ok()
}

/// # Format
/// `MONITOR`
fn monitor(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    ctx.client.monitor_requested = true;
    ok()
}

// ---- COMMAND ----------------------------------------------------------------------------------

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// The specs of the commands confab serves.
fn served(shared: &Shared) -> impl Iterator<Item = &'static CommandSpec> + '_ {
    shared.commands.all().map(|d| d.spec)
}

/// The commands confab serves, each followed by the subcommands it serves (as COMMAND LIST
/// names them: `config`, `config|get`, ...).
fn served_with_subcommands(shared: &Shared) -> impl Iterator<Item = &'static CommandSpec> + '_ {
    served(shared).flat_map(|spec| {
        std::iter::once(spec).chain(
            spec.subcommands
                .iter()
                .filter(|sub| subcommand_served(sub.name)),
        )
    })
}

/// Whether confab serves a subcommand Redis's table lists (`client|pause` it does not).
fn subcommand_served(full_name: &str) -> bool {
    match full_name.split_once('|') {
        Some(("client", sub)) => super::conn::client_subcommand_served(sub),
        Some(("memory", sub)) => sub != "stats",
        _ => true,
    }
}

fn find_served(shared: &Shared, name: &[u8]) -> Option<&'static CommandSpec> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    if let Some((container, sub)) = name.split_once('|') {
        shared.commands.get(container.as_bytes())?;
        return table::lookup_sub(container, sub);
    }
    shared.commands.get(name.as_bytes()).map(|d| d.spec)
}

/// # Format
/// `COMMAND [COUNT | INFO [name ...] | DOCS [name ...] | LIST | GETKEYS cmd ... | HELP]`
fn command(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let shared = ctx.shared;
    if a.len() == 1 {
        return Frame::Array(served(shared).map(|s| s.info_frame()).collect());
    }
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" if a.len() == 2 => help_reply(COMMAND_HELP),
        "count" if a.len() == 2 => int(shared.commands.len() as i64),
        "info" => {
            if a.len() == 2 {
                return Frame::Array(served(shared).map(|s| s.info_frame()).collect());
            }
            Frame::Array(
                a[2..]
                    .iter()
                    .map(|n| find_served(shared, n).map_or(Frame::Null, |s| s.info_frame()))
                    .collect(),
            )
        }
        "docs" => {
            let specs: Vec<&CommandSpec> = if a.len() == 2 {
                served(shared).collect()
            } else {
                a[2..]
                    .iter()
                    .filter_map(|n| find_served(shared, n))
                    .collect()
            };
            Frame::Map(
                specs
                    .into_iter()
                    .map(|s| (bulk_str(s.name), s.docs_frame()))
                    .collect(),
            )
        }
        "list" => {
            if a.len() == 2 {
                return Frame::Array(
                    served_with_subcommands(shared)
                        .map(|s| bulk_str(s.name))
                        .collect(),
                );
            }
            if a.len() == 5 && eq_ic(&a[2], "filterby") {
                let value = &a[4];
                let keep: Box<dyn Fn(&CommandSpec) -> bool> = if eq_ic(&a[3], "pattern") {
                    Box::new(move |s| glob::matches(value, s.name.as_bytes(), true))
                } else if eq_ic(&a[3], "aclcat") {
                    let cat = format!("@{}", String::from_utf8_lossy(value).to_ascii_lowercase());
                    Box::new(move |s| s.acl_categories.contains(&cat.as_str()))
                } else if eq_ic(&a[3], "module") {
                    Box::new(|_| false)
                } else {
                    return syntax();
                };
                return Frame::Array(
                    served_with_subcommands(shared)
                        .filter(|s| keep(s))
                        .map(|s| bulk_str(s.name))
                        .collect(),
                );
            }
            syntax()
        }
        "getkeys" | "getkeysandflags" if a.len() >= 4 => getkeys(shared, &a[2..], sub == "getkeys"),
        _ => match table::lookup_sub("command", &sub) {
            Some(spec) => arity_error(spec.name),
            None => unknown_subcommand("command", &a[1]),
        },
    }
}

/// SORT's keys, as Redis's `sortGetKeys`: the sorted key, and the argument of the last STORE
/// (LIMIT, GET and BY arguments skipped).
fn sort_keys(full: &[Bytes]) -> Vec<(usize, Vec<&'static str>)> {
    let mut keys = vec![(1, vec!["RO", "access"])];
    let mut store = None;
    let mut i = 2;
    while i < full.len() {
        if eq_ic(&full[i], "limit") {
            i += 2;
        } else if eq_ic(&full[i], "get") || eq_ic(&full[i], "by") {
            i += 1;
        } else if eq_ic(&full[i], "store") && i + 1 < full.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    if let Some(at) = store {
        keys.push((at, vec!["OW", "update"]));
    }
    keys
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS for `full` (a command with its arguments), as Redis 7.0's
/// `getKeysSubcommandImpl`: the command (or subcommand) is looked up, must have keys and a
/// fitting argument count; its key specs then find the keys (SET's own rule gives its flags,
/// which depend on GET).
fn getkeys(shared: &Shared, full: &[Bytes], names_only: bool) -> Frame {
    let Some(def) = shared.commands.get(&full[0]) else {
        return err("ERR Invalid command specified");
    };
    let mut spec = def.spec;
    if full.len() > 1 && !spec.subcommands.is_empty() {
        match table::lookup_sub(spec.name, &String::from_utf8_lossy(&full[1])) {
            Some(sub) => spec = sub,
            None => return err("ERR Invalid command specified"),
        }
    }
    let variable_flags = spec
        .key_specs
        .iter()
        .any(|k| k.flags.contains(&"variable_flags"));
    let has_keys = spec.key_specs.iter().any(|k| !k.flags.contains(&"not_key"));
    if !has_keys {
        return err("ERR The command has no key arguments");
    }
    if !super::arity_ok(spec.arity, full.len()) {
        return err("ERR Invalid number of arguments specified for command");
    }
    let keys: Vec<(usize, Vec<&'static str>)> = if variable_flags && spec.name == "set" {
        // setGetKeys: the key is overwritten, unless GET reads it first.
        let get = full.iter().skip(3).any(|a| eq_ic(a, "get"));
        let flags = if get {
            vec!["RW", "access", "update"]
        } else {
            vec!["OW", "update"]
        };
        vec![(1, flags)]
    } else if spec.name == "sort" {
        sort_keys(full)
    } else if spec.name == "sort_ro" {
        // sortROGetKeys: the key only (its BY/GET spec is "unknown").
        vec![(1, vec!["RO", "access"])]
    } else {
        key_positions(spec, full).unwrap_or_default()
    };
    if keys.is_empty() {
        return if spec.flags.contains(&"no_mandatory_keys") {
            Frame::Array(Vec::new())
        } else {
            err("ERR Invalid arguments specified for command")
        };
    }
    Frame::Array(
        keys.into_iter()
            .map(|(i, flags)| {
                let key = bulk(full[i].clone());
                if names_only {
                    key
                } else {
                    Frame::Array(vec![
                        key,
                        Frame::Set(
                            flags
                                .into_iter()
                                .map(|f| Frame::Simple(Bytes::from_static(f.as_bytes())))
                                .collect(),
                        ),
                    ])
                }
            })
            .collect(),
    )
}

/// Redis 7.0's `getKeysUsingKeySpecs`: each key spec finds its first key (at an index, or
/// after a keyword) and the keys after it (a range, or a count in the arguments). `None`
/// when a spec does not fit the arguments (a count that is not a number, keys past the end).
fn key_positions(spec: &CommandSpec, argv: &[Bytes]) -> Option<Vec<(usize, Vec<&'static str>)>> {
    use table::{BeginSearch, FindKeys};
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        if ks.flags.contains(&"not_key") {
            continue;
        }
        let mut first: i64 = match ks.begin_search {
            BeginSearch::Index(i) => i64::from(i),
            BeginSearch::Keyword(word, from) => {
                let from = i64::from(from);
                // As Redis searches: up to the one before last, or down to the third
                // argument (a keyword with no key after it is not a match).
                let found = if from > 0 {
                    (from..argc - 1).find(|&i| eq_ic(&argv[i as usize], word))
                } else {
                    (2..=(argc + from).min(argc - 1))
                        .rev()
                        .find(|&i| eq_ic(&argv[i as usize], word))
                };
                match found {
                    Some(i) => i + 1,
                    None => continue, // keyword absent: this spec has no keys
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match ks.find_keys {
            FindKeys::Range(lastkey, step, limit) => {
                let (lastkey, limit) = (i64::from(lastkey), i64::from(limit));
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, i64::from(step))
            }
            FindKeys::Keynum(keynumidx, firstkey, step) => {
                let at = first + i64::from(keynumidx);
                if i64::from(keynumidx) >= argc || at >= argc {
                    return None;
                }
                let n = super::parse_i64(&argv[at as usize]).filter(|n| *n >= 0)?;
                first += i64::from(firstkey);
                (first + n - 1, i64::from(step))
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let flags: Vec<&'static str> = ks.flags.to_vec();
        let mut i = first;
        while i <= last {
            keys.push((i as usize, flags.clone()));
            i += step.max(1);
        }
        if ks.flags.contains(&"incomplete") {
            return None;
        }
    }
    Some(keys)
}

// ---- CONFIG -----------------------------------------------------------------------------------

/// Every parameter CONFIG GET knows, with its current value.
fn config_params(shared: &Shared) -> Vec<(&'static str, String)> {
    let c = &shared.config;
    let mut params = vec![
        ("bind", c.bind.clone()),
        ("port", shared.local_addr.port().to_string()),
        ("databases", c.databases.to_string()),
        (
            "maxclients",
            shared.runtime.maxclients.load(Relaxed).to_string(),
        ),
        (
            "timeout",
            shared.runtime.timeout_secs.load(Relaxed).to_string(),
        ),
        (
            "requirepass",
            shared
                .requirepass()
                .map(|p| String::from_utf8_lossy(&p).into_owned())
                .unwrap_or_default(),
        ),
        ("proto-max-bulk-len", c.max_bulk_len.to_string()),
        (
            "client-query-buffer-limit",
            c.query_buffer_limit.to_string(),
        ),
        ("hz", shared.runtime.hz.load(Relaxed).to_string()),
        ("save", String::new()),
        ("appendonly", "no".into()),
        (
            "maxmemory",
            shared.runtime.maxmemory.load(Relaxed).to_string(),
        ),
        (
            "maxmemory-policy",
            MAXMEMORY_POLICIES[shared.runtime.maxmemory_policy.load(Relaxed)].into(),
        ),
        ("io-threads", c.threads.to_string()),
        (
            "notify-keyspace-events",
            crate::notify::flags_string(shared.keyspace.notify.load(Relaxed)),
        ),
        (
            // Normal clients have no output limit (confab stops reading them instead) and
            // there are no replicas; subscribers have theirs (--pubsub-output-limit).
            "client-output-buffer-limit",
            format!(
                "normal 0 0 0 slave 0 0 0 pubsub {} {} {}",
                c.pubsub_limits.hard, c.pubsub_limits.soft, c.pubsub_limits.soft_seconds
            ),
        ),
        (
            "slowlog-log-slower-than",
            shared.runtime.slowlog_slower_than.load(Relaxed).to_string(),
        ),
        (
            "slowlog-max-len",
            shared.runtime.slowlog_max_len.load(Relaxed).to_string(),
        ),
        (
            "conversation-log",
            c.conversation_log
                .as_ref()
                .map_or("off".into(), |p| p.display().to_string()),
        ),
    ];
    let tuning = shared
        .runtime
        .tuning
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for (t, v) in TUNING.iter().zip(tuning.iter()) {
        let v = shared.keyspace.encodings.get(t.name).unwrap_or(*v);
        params.push((t.name, v.to_string()));
        if let Some(alias) = t.alias {
            params.push((alias, v.to_string()));
        }
    }
    params
}

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `CONFIG GET parameter [parameter ...]` / `CONFIG SET parameter value [parameter value ...]`
/// / `CONFIG RESETSTAT` / `CONFIG REWRITE`
fn config(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("help", 2) => help_reply(CONFIG_HELP),
        ("get", n) if n >= 3 => {
            let params = config_params(ctx.shared);
            let mut out = Vec::new();
            for (name, value) in &params {
                // A plain name (no glob characters) is echoed as typed, as Redis does.
                let hit = a[2..]
                    .iter()
                    .find(|p| glob::matches(p, name.as_bytes(), true));
                if let Some(p) = hit {
                    let shown = if p.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                        bulk_str(name)
                    } else {
                        bulk(p.clone())
                    };
                    out.push((shown, bulk_str(value)));
                }
            }
            Frame::Map(out)
        }
        ("set", n) if n >= 4 && n.is_multiple_of(2) => config_set(ctx, &a[2..]),
        ("set", n) if n >= 4 => err("ERR syntax error"),
        ("set", _) => arity_error("config|set"),
        ("resetstat", 2) => {
            ctx.shared.stats.reset();
            ctx.shared.lazyfree.reset_stats();
            ctx.shared.keyspace.reset_expired_keys();
            ok()
        }
        ("rewrite", 2) => err("ERR The server is running without a config file"),
        _ => match table::lookup_sub("config", &sub) {
            Some(spec) => arity_error(spec.name),
            None => unknown_subcommand("config", &a[1]),
        },
    }
}

/// Parameters CONFIG SET accepts (the others CONFIG GET shows are fixed at start: Redis's
/// immutable ones). `port`, `bind` and the two size limits are checked as Redis checks
/// them, and then accepted only when they keep the running value, as is confab's own
/// `conversation-log` (so a client may set back every value CONFIG GET shows).
const SETTABLE: &[&str] = &[
    "maxclients",
    "timeout",
    "hz",
    "appendonly",
    "save",
    "requirepass",
    "maxmemory-policy",
    "maxmemory",
    "port",
    "bind",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "conversation-log",
    "client-output-buffer-limit",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "notify-keyspace-events",
];

/// One of Redis's encoding-tuning settings (list-max-listpack-size and friends) or the
/// replica timings of a primary (confab has no replicas). CONFIG SET accepts them, checked as
/// Redis checks them, and CONFIG GET shows them, so configurations and test suites written
/// for Redis run. confab's structures are its own, but where Redis's encoding shows (OBJECT
/// ENCODING, a set's order, a sorted set's -0, a stream's nodes) the hash, set, sorted set
/// and stream ones apply, through `db::Encodings`; the list ones and the rest are kept only.
pub(crate) struct Tuning {
    pub name: &'static str,
    /// Redis's older name, answered too.
    pub alias: Option<&'static str>,
    /// A memory value (`1kb`), else a plain integer.
    pub memory: bool,
    pub min: i64,
    pub max: i64,
    pub default: i64,
}

const fn tuning(
    name: &'static str,
    alias: Option<&'static str>,
    memory: bool,
    min: i64,
    max: i64,
    default: i64,
) -> Tuning {
    Tuning {
        name,
        alias,
        memory,
        min,
        max,
        default,
    }
}

/// Redis 7.0's defaults of the encoding thresholds confab applies (`db::Encodings`).
const ENC: crate::db::Limits = crate::db::Limits::DEFAULT;

/// Those settings, with Redis 7.0's ranges and defaults (config.c).
pub(crate) const TUNING: &[Tuning] = &[
    tuning(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        false,
        i32::MIN as i64,
        i32::MAX as i64,
        -2,
    ),
    tuning("list-compress-depth", None, false, 0, i32::MAX as i64, 0),
    tuning(
        "stream-node-max-entries",
        None,
        false,
        0,
        i64::MAX,
        ENC.stream_node_entries as i64,
    ),
    tuning(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        false,
        0,
        i64::MAX,
        ENC.hash_entries as i64,
    ),
    tuning(
        "set-max-intset-entries",
        None,
        false,
        0,
        i64::MAX,
        ENC.set_intset_entries as i64,
    ),
    tuning(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        false,
        0,
        i64::MAX,
        ENC.zset_entries as i64,
    ),
    tuning(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        true,
        0,
        i64::MAX,
        ENC.hash_value as i64,
    ),
    tuning(
        "stream-node-max-bytes",
        None,
        true,
        0,
        i64::MAX,
        ENC.stream_node_bytes as i64,
    ),
    tuning(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        true,
        0,
        i64::MAX,
        ENC.zset_value as i64,
    ),
    tuning("hll-sparse-max-bytes", None, true, 0, i64::MAX, 3000),
    tuning("repl-timeout", None, false, 1, i32::MAX as i64, 60),
    tuning(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        false,
        1,
        i32::MAX as i64,
        10,
    ),
];

/// The [`TUNING`] entry a parameter name (or alias) names.
fn tuning_index(param: &str) -> Option<usize> {
    TUNING
        .iter()
        .position(|t| t.name == param || t.alias == Some(param))
}

/// `maxmemory-policy` values, in Redis's order (its error message lists them so).
pub(crate) const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
/// The default policy's index in [`MAXMEMORY_POLICIES`].
pub(crate) const NOEVICTION: usize = 7;

/// A memory value as Redis's `memtoull` reads it: digits with an optional unit (`b`, `k`,
/// `kb`, `m`, `mb`, `g`, `gb`, any case; `k` is 1000, `kb` 1024). As there, no digits read
/// as 0, and an overflow saturates before the unit multiplies (wrapping).
fn parse_memory(v: &[u8]) -> Option<u64> {
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = String::from_utf8_lossy(&v[digits..]).to_ascii_lowercase();
    let mul: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n = v[..digits].iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(n.wrapping_mul(mul))
}

/// Redis's `save` value check: whitespace-separated pairs of seconds (>= 1) and changes
/// (>= 0), each an optionally signed decimal (`strtoll` consuming the whole word).
fn valid_save(v: &[u8]) -> bool {
    let words: Vec<&[u8]> = v
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    words.len().is_multiple_of(2)
        && words.iter().enumerate().all(|(i, w)| {
            let (negative, digits) = match w.split_first() {
                Some((b'-', rest)) => (true, rest),
                Some((b'+', rest)) => (false, rest),
                _ => (false, *w),
            };
            let number = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
            let zero = digits.iter().all(|d| *d == b'0');
            // Seconds must be at least 1, changes at least 0.
            number
                && if i % 2 == 0 {
                    !zero && !negative
                } else {
                    zero || !negative
                }
        })
}

fn config_set(ctx: &mut Ctx<'_, '_>, pairs: &[Bytes]) -> Frame {
    // Validate everything first so a bad pair changes nothing (Redis applies atomically), in
    // Redis's two passes: names first (the first unknown, fixed or repeated one fails, named
    // as typed), then values (named as the parameter is).
    let running = config_params(ctx.shared);
    let current = |param: &str| {
        running
            .iter()
            .find(|(n, _)| *n == param)
            .map_or("", |(_, v)| v.as_str())
    };
    let known: Vec<&'static str> = running.iter().map(|(n, _)| *n).collect();
    let mut params: Vec<&'static str> = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks_exact(2) {
        let typed = String::from_utf8_lossy(&pair[0]);
        let name = typed.to_ascii_lowercase();
        let Some(&param) = known.iter().find(|k| **k == name) else {
            return err_owned(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{typed}'"
            ));
        };
        let why = if !SETTABLE.contains(&param) && tuning_index(param).is_none() {
            "can't set immutable config"
        } else if params.contains(&param) {
            "duplicate parameter"
        } else {
            params.push(param);
            continue;
        };
        return err_owned(format!(
            "ERR CONFIG SET failed (possibly related to argument '{typed}') - {why}"
        ));
    }
    let mut changes: Vec<(&'static str, Bytes)> = Vec::new();
    // Settings that only need keeping (TUNING), by index, with their parsed values.
    let mut kept: Vec<(usize, i64)> = Vec::new();
    for (pair, param) in pairs.chunks_exact(2).zip(params) {
        let value = &pair[1];
        let fail = |why: &str| {
            err_owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{param}') - {why}"
            ))
        };
        let int_in = |lo: i64, hi: i64| match super::parse_i64(value) {
            None => Err(fail("argument couldn't be parsed into an integer")),
            Some(n) if n < lo || n > hi => Err(fail(&format!(
                "argument must be between {lo} and {hi} inclusive"
            ))),
            Some(n) => Ok(n),
        };
        let memory_in = |lo: u64, hi: u64| match parse_memory(value) {
            None => Err(fail("argument must be a memory value")),
            Some(n) if n < lo || n > hi => Err(fail(&format!(
                "argument must be between {lo} and {hi} inclusive"
            ))),
            Some(n) => Ok(n),
        };
        match param {
            "maxclients" => {
                if let Err(e) = int_in(1, u32::MAX.into()) {
                    return e;
                }
            }
            "timeout" | "hz" => {
                if let Err(e) = int_in(0, i32::MAX.into()) {
                    return e;
                }
            }
            "slowlog-log-slower-than" => {
                if let Err(e) = int_in(-1, i64::MAX) {
                    return e;
                }
            }
            "slowlog-max-len" => {
                if let Err(e) = int_in(0, i64::MAX) {
                    return e;
                }
            }
            "port" => match int_in(0, 65535) {
                Err(e) => return e,
                Ok(p) if p != i64::from(ctx.shared.local_addr.port()) => {
                    return fail("confab cannot move a running server to another port")
                }
                Ok(_) => {}
            },
            "bind" => {
                let words: Vec<&[u8]> = value
                    .split(|c| c.is_ascii_whitespace())
                    .filter(|w| !w.is_empty())
                    .collect();
                if words != [ctx.shared.config.bind.as_bytes()] {
                    return fail("confab cannot move a running server to other addresses");
                }
            }
            "proto-max-bulk-len" | "client-query-buffer-limit" => {
                let current = if param == "proto-max-bulk-len" {
                    ctx.shared.config.max_bulk_len as u64
                } else {
                    ctx.shared.config.query_buffer_limit as u64
                };
                match memory_in(1024 * 1024, i64::MAX as u64) {
                    Err(e) => return e,
                    Ok(n) if n != current => {
                        return fail("confab sets this limit at start only (a flag)")
                    }
                    Ok(_) => {}
                }
            }
            "client-output-buffer-limit" => {
                // Accepted with the running limits (as CONFIG GET shows them); they are set
                // at start.
                let words = |b: &[u8]| -> Vec<Vec<u8>> {
                    b.split(|c| c.is_ascii_whitespace())
                        .filter(|w| !w.is_empty())
                        .map(|w| w.to_ascii_lowercase())
                        .collect()
                };
                if words(value) != words(current(param).as_bytes()) {
                    return fail(
                        "confab sets the output limits at start only (--pubsub-output-limit)",
                    );
                }
            }
            "conversation-log" => {
                if value[..] != *current(param).as_bytes() {
                    return fail("confab opens the conversation log at start only (a flag)");
                }
            }
            "appendonly" => {
                if !(eq_ic(value, "yes") || eq_ic(value, "no")) {
                    return fail("argument must be 'yes' or 'no'");
                }
                if eq_ic(value, "yes") {
                    return fail("persistence is not supported by confab yet");
                }
            }
            "save" => {
                if !valid_save(value) {
                    return fail("Invalid save parameters");
                }
                if value.iter().any(|c| !c.is_ascii_whitespace()) {
                    return fail("persistence is not supported by confab yet");
                }
            }
            "maxmemory-policy" => {
                if !MAXMEMORY_POLICIES.iter().any(|p| eq_ic(value, p)) {
                    return fail(&format!(
                        "argument(s) must be one of the following: {}",
                        MAXMEMORY_POLICIES.join(", ")
                    ));
                }
            }
            "requirepass" => {}
            "notify-keyspace-events" => {
                if crate::notify::parse_flags(value).is_none() {
                    return fail("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
                }
            }
            "maxmemory" => {
                if let Err(e) = memory_in(0, u64::MAX) {
                    return e;
                }
            }
            _ => match tuning_index(param) {
                Some(i) => {
                    let t = &TUNING[i];
                    let v = if t.memory {
                        memory_in(t.min.max(0) as u64, t.max as u64).map(|v| v as i64)
                    } else {
                        int_in(t.min, t.max)
                    };
                    match v {
                        Ok(v) => kept.push((i, v)),
                        Err(e) => return e,
                    }
                    continue;
                }
                // (Not reached: the first pass lets only settable names through.)
                None => return fail("can't set immutable config"),
            },
        }
        changes.push((param, value.clone()));
    }
    for (param, value) in changes {
        let n = super::parse_i64(&value).unwrap_or(0);
        match param {
            "maxclients" => ctx
                .shared
                .runtime
                .maxclients
                .store(n.max(1) as usize, Relaxed),
            "timeout" => ctx
                .shared
                .runtime
                .timeout_secs
                .store(n.max(0) as u64, Relaxed),
            // Redis keeps hz within 1..=500 (CONFIG GET shows the value kept).
            "hz" => ctx.shared.runtime.hz.store(n.clamp(1, 500) as u32, Relaxed),
            "slowlog-log-slower-than" => ctx.shared.runtime.slowlog_slower_than.store(n, Relaxed),
            "slowlog-max-len" => {
                let max = n.max(0) as usize;
                ctx.shared.runtime.slowlog_max_len.store(max, Relaxed);
                let mut log = ctx.shared.slowlog.lock().unwrap_or_else(|p| p.into_inner());
                log.entries.truncate(max);
            }
            "maxmemory" => {
                // (Checked by the first pass.)
                let limit = parse_memory(&value).unwrap_or(0);
                ctx.shared.runtime.maxmemory.store(limit, Relaxed);
                let used = ctx.shared.memory_now();
                if limit != 0 && limit < used {
                    tracing::warn!(
                        maxmemory = limit,
                        used_memory = used,
                        "the new maxmemory is below the memory in use: commands that may \
                         grow memory get -OOM until memory falls below it (confab evicts \
                         nothing)"
                    );
                }
            }
            "maxmemory-policy" => {
                if let Some(i) = MAXMEMORY_POLICIES.iter().position(|p| eq_ic(&value, p)) {
                    ctx.shared.runtime.maxmemory_policy.store(i, Relaxed);
                }
            }
            "notify-keyspace-events" => {
                let flags = crate::notify::parse_flags(&value).unwrap_or(0);
                ctx.shared.keyspace.notify.store(flags, Relaxed);
            }
            "requirepass" => {
                *ctx.shared
                    .runtime
                    .requirepass
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) =
                    (!value.is_empty()).then(|| Bytes::copy_from_slice(&value));
            }
            _ => {}
        }
    }
    if !kept.is_empty() {
        let mut tuning = ctx
            .shared
            .runtime
            .tuning
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (i, v) in kept {
            // The encoding thresholds are kept where the commands read them.
            if !ctx.shared.keyspace.encodings.set(TUNING[i].name, v) {
                tuning[i] = v;
            }
        }
    }
    ok()
}

// ---- INFO -------------------------------------------------------------------------------------

/// INFO `os`: kernel name, release and machine, as Redis prints `uname`'s (read once).
fn os_line() -> &'static str {
    static OS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OS.get_or_init(|| {
        let read = |f: &str| {
            std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
                .map(|s| s.trim().to_string())
                .ok()
        };
        match (read("ostype"), read("osrelease")) {
            (Some(name), Some(release)) => {
                format!("{name} {release} {}", std::env::consts::ARCH)
            }
            _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    })
}

/// INFO `redis_build_id`: Redis hashes its build's details into 16 hex digits; confab hashes
/// its version and target, so the id changes with the build, as Redis's does.
fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        // FNV-1a: stable across runs and builds of the same version (std's hasher is not).
        let text = format!("confab {} {}", crate::VERSION, std::env::consts::ARCH);
        let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{h:016x}")
    })
}

/// INFO's sections in Redis 7.0's order. `modules` is listed as Redis's `module_list`
/// (it answers to both names); Redis's `latencystats` is not served yet.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "commandstats",
    "errorstats",
    "cluster",
    "keyspace",
];

/// # Format
/// `INFO [section [section ...]]`
fn info(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut wanted: Vec<String> = Vec::new();
    for s in &a[1..] {
        let s = String::from_utf8_lossy(s).to_ascii_lowercase();
        match s.as_str() {
            "default" => wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
            "all" => wanted.extend(ALL_SECTIONS.iter().map(|s| s.to_string())),
            "everything" => {
                wanted.extend(ALL_SECTIONS.iter().map(|s| s.to_string()));
                wanted.push("lanes".into());
            }
            _ => wanted.push(s),
        }
    }
    if wanted.is_empty() {
        wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    // A verbatim string (`=txt:`) in RESP3, as Redis's addReplyVerbatim; RESP2 gets a bulk.
    // Inside EXEC the transaction holds every shard (see `tx::needs_every_shard`): the
    // keyspace section reads them through its locks instead of locking them again.
    let locked = if ctx.in_exec {
        Some(&mut *ctx.locked)
    } else {
        None
    };
    super::conn::verbatim(info_text(ctx.shared, &wanted, locked))
}

/// User, system, children's user and children's system CPU time in clock ticks (1/100 s)
/// from a `/proc/.../stat` file (zeros where unavailable).
fn cpu_times(path: &str) -> [u64; 4] {
    let mut t = [0; 4];
    if let Ok(text) = std::fs::read_to_string(path) {
        // Fields after the command name (which may hold spaces, closed by the last ')'):
        // state is field 3; utime, stime, cutime, cstime are fields 14 to 17.
        if let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) {
            for (slot, v) in t.iter_mut().zip(rest.split_whitespace().skip(11)) {
                *slot = v.parse().unwrap_or(0);
            }
        }
    }
    t
}

/// Clock ticks (USER_HZ, 100 on Linux) as Redis prints rusage times: `seconds.micros`.
fn seconds(ticks: u64) -> String {
    format!("{}.{:06}", ticks / 100, (ticks % 100) * 10_000)
}

/// Redis's `getSafeInfoString`: characters that would break INFO's `key:value` lines
/// (`#`, `:`, newlines) become `_`.
fn safe_info_string(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| {
            if matches!(c, '#' | ':' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A `Name: N kB` line of a /proc file, in bytes (0 where unavailable).
fn proc_kb(path: &str, name: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resident set size of this process in bytes, from /proc (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else {
        format!("{bytes}B")
    }
}

/// What one connection costs beside its buffers, for INFO's `mem_clients_normal`: the
/// memory per idle connection measured with `../shared/bench/idle-conns.py` (2.56 KiB,
/// docs/PERFORMANCE.md, session 14).
const CONNECTION_BYTES: u64 = 2_620;

/// One database's figures for INFO keyspace and memory.
#[derive(Default)]
struct DbFigures {
    keys: usize,
    expires: usize,
    ttl_total: u128,
    table_bytes: u64,
}

/// Every database's figures, from every shard: each locked in turn, or, inside EXEC (which
/// then holds them all), read through the transaction's locks.
fn keyspace_figures(
    shared: &Shared,
    mut locked: Option<&mut crate::db::Locked<'_>>,
) -> Vec<DbFigures> {
    let per = crate::db::SHARDS_PER_DB;
    let now = crate::db::now_ms();
    (0..shared.keyspace.databases())
        .map(|db| {
            let mut d = DbFigures::default();
            for i in db * per..(db + 1) * per {
                let mut add = |shard: &crate::db::Shard| {
                    d.keys += shard.len();
                    d.expires += shard.expires_len();
                    d.ttl_total += shard.ttl_total(now);
                    d.table_bytes += shard.table_bytes() as u64;
                };
                match locked.as_deref_mut() {
                    Some(held) => add(held.shard_at(i)),
                    None => add(&shared.keyspace.lock_one(i)),
                }
            }
            d
        })
        .collect()
}

/// Memory in use: the bytes allocated through the counting allocator the `confab` binary
/// installs (`confab_alloc`), as Redis counts its allocations; where it is not installed
/// (an embedding process, the in-process tests), the resident set.
pub(crate) fn used_memory() -> u64 {
    confab_alloc::allocated().unwrap_or_else(rss_bytes)
}

/// The INFO text for the given (lowercase) sections, in Redis's order.
/// `locked`: the shards a running EXEC holds (all of them), read instead of locking each;
/// `None` outside a transaction, where each shard is locked on its own in turn.
pub(crate) fn info_text(
    shared: &Shared,
    wanted: &[String],
    locked: Option<&mut crate::db::Locked<'_>>,
) -> String {
    let mut out = String::new();
    let want = |s: &str| wanted.iter().any(|w| w == s);
    let st = &shared.stats;
    let g = |f: fn(&crate::stats::Stripe) -> &std::sync::atomic::AtomicU64| st.total(f);
    let section = |out: &mut String, title: &str| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
    };
    if want("server") {
        section(&mut out, "Server");
        let up = shared.started.elapsed().as_secs();
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        // In Redis 7.0's order, with confab's own two fields after the first.
        let lines = [
            format!("redis_version:{}", crate::REDIS_COMPAT_VERSION),
            format!("confab_version:{}", crate::VERSION),
            // What Redis shows when built outside a git checkout (as Debian's is).
            "redis_git_sha1:00000000".into(),
            "redis_git_dirty:0".into(),
            format!("redis_build_id:{}", build_id()),
            "redis_mode:standalone".into(),
            format!("os:{}", os_line()),
            "arch_bits:64".into(),
            "monotonic_clock:POSIX clock_gettime".into(),
            "multiplexing_api:epoll".into(),
            "atomicvar_api:c11-builtin".into(),
            "gcc_version:0.0.0".into(),
            format!("process_id:{}", std::process::id()),
            "process_supervised:no".into(),
            format!("run_id:{}", shared.run_id),
            format!("tcp_port:{}", shared.local_addr.port()),
            format!("server_time_usec:{now_us}"),
            format!("uptime_in_seconds:{up}"),
            format!("uptime_in_days:{}", up / 86_400),
            format!("hz:{}", shared.runtime.hz.load(Relaxed)),
            format!("configured_hz:{}", shared.runtime.hz.load(Relaxed)),
            // Redis's LRU clock: seconds, 24 bits.
            format!("lru_clock:{}", (now_us / 1_000_000) & ((1 << 24) - 1)),
            format!(
                "executable:{}",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            format!(
                "config_file:{}",
                shared
                    .config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            format!("io_threads_active:{}", u8::from(shared.config.threads > 1)),
            format!("threads:{}", shared.config.threads),
        ];
        for l in lines {
            out.push_str(&l);
            out.push_str("\r\n");
        }
    }
    if want("clients") {
        section(&mut out, "Clients");
        let _ = write!(
            out,
            "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\n",
            shared.clients.connected(),
            shared.runtime.maxclients.load(Relaxed),
            shared.blocking.blocked() + shared.runtime.pause.waiting()
        );
    }
    // One pass over every shard for both sections that need them.
    let dbs = (want("memory") || want("keyspace")).then(|| keyspace_figures(shared, locked));
    if want("memory") {
        section(&mut out, "Memory");
        let used = shared.memory_now();
        let rss = rss_bytes();
        let peak = shared.peak_memory.load(Relaxed);
        let system = proc_kb("/proc/meminfo", "MemTotal:");
        let startup = shared.startup_memory;
        let clients_normal: u64 = shared
            .clients
            .snapshot()
            .iter()
            .map(|h| CONNECTION_BYTES + h.omem() as u64)
            .sum();
        let tables: u64 = dbs.iter().flatten().map(|d| d.table_bytes).sum();
        let overhead = startup + clients_normal + tables;
        let dataset = used.saturating_sub(overhead);
        let net = if used > startup { used - startup } else { 1 };
        let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
        let maxmemory = shared.runtime.maxmemory.load(Relaxed);
        let lines = [
            format!("used_memory:{used}"),
            format!("used_memory_human:{}", human(used)),
            format!("used_memory_rss:{rss}"),
            format!("used_memory_rss_human:{}", human(rss)),
            format!("used_memory_peak:{peak}"),
            format!("used_memory_peak_human:{}", human(peak)),
            format!("used_memory_peak_perc:{:.2}%", ratio(used * 100, peak)),
            format!("used_memory_overhead:{overhead}"),
            format!("used_memory_startup:{startup}"),
            format!("used_memory_dataset:{dataset}"),
            format!("used_memory_dataset_perc:{:.2}%", ratio(dataset * 100, net)),
            // With the system allocator Redis shows its own count as allocated and the
            // resident set as active and resident; so does confab.
            format!("allocator_allocated:{used}"),
            format!("allocator_active:{rss}"),
            format!("allocator_resident:{rss}"),
            format!("total_system_memory:{system}"),
            format!("total_system_memory_human:{}", human(system)),
            // No scripting: no Lua or functions VM.
            "used_memory_lua:0".into(),
            "used_memory_vm_eval:0".into(),
            "used_memory_lua_human:0B".into(),
            "used_memory_scripts_eval:0".into(),
            "number_of_cached_scripts:0".into(),
            "number_of_functions:0".into(),
            "number_of_libraries:0".into(),
            "used_memory_vm_functions:0".into(),
            "used_memory_vm_total:0".into(),
            "used_memory_vm_total_human:0B".into(),
            "used_memory_functions:0".into(),
            "used_memory_scripts:0".into(),
            "used_memory_scripts_human:0B".into(),
            format!("maxmemory:{maxmemory}"),
            format!("maxmemory_human:{}", human(maxmemory)),
            format!(
                "maxmemory_policy:{}",
                MAXMEMORY_POLICIES[shared.runtime.maxmemory_policy.load(Relaxed)]
            ),
            format!("allocator_frag_ratio:{:.2}", ratio(rss, used)),
            format!("allocator_frag_bytes:{}", rss.saturating_sub(used)),
            "allocator_rss_ratio:1.00".into(),
            "allocator_rss_bytes:0".into(),
            "rss_overhead_ratio:1.00".into(),
            "rss_overhead_bytes:0".into(),
            format!("mem_fragmentation_ratio:{:.2}", ratio(rss, used)),
            format!("mem_fragmentation_bytes:{}", rss as i64 - used as i64),
            "mem_not_counted_for_evict:0".into(),
            "mem_replication_backlog:0".into(),
            "mem_total_replication_buffers:0".into(),
            "mem_clients_slaves:0".into(),
            format!("mem_clients_normal:{clients_normal}"),
            "mem_cluster_links:0".into(),
            "mem_aof_buffer:0".into(),
            "mem_allocator:libc".into(),
            "active_defrag_running:0".into(),
            format!("lazyfree_pending_objects:{}", shared.lazyfree.pending()),
            format!("lazyfreed_objects:{}", shared.lazyfree.freed()),
        ];
        for l in lines {
            out.push_str(&l);
            out.push_str("\r\n");
        }
    }
    if want("persistence") {
        section(&mut out, "Persistence");
        let _ = write!(
            out,
            // confab does not persist (yet): nothing saved, forked or rewritten, in Redis's
            // fields for a server with saving and AOF off.
            "loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            shared.started_unix
        );
    }
    if want("stats") {
        section(&mut out, "Stats");
        let lc = shared.log.counters();
        let _ = write!(
            out,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\nprotocol_errors:{}\r\nconversation_log_enabled:{}\r\nconversation_log_written_lines:{}\r\nconversation_log_dropped_lines:{}\r\nconversation_log_write_errors:{}\r\n",
            g(|s| &s.connections_received),
            g(|s| &s.commands_processed),
            shared.instant.get(crate::stats::Metric::Ops),
            g(|s| &s.net_input_bytes),
            g(|s| &s.net_output_bytes),
            shared.instant.get(crate::stats::Metric::NetInput) as f64 / 1024.0,
            shared.instant.get(crate::stats::Metric::NetOutput) as f64 / 1024.0,
            g(|s| &s.rejected_connections),
            shared.keyspace.expired_keys(),
            g(|s| &s.expire_cycle_us) / 1000,
            g(|s| &s.keyspace_hits),
            g(|s| &s.keyspace_misses),
            shared.pubsub.channel_count(false),
            shared.pubsub.numpat(),
            shared.pubsub.channel_count(true),
            g(|s| &s.total_error_replies),
            g(|s| &s.reads_processed),
            g(|s| &s.writes_processed),
            g(|s| &s.protocol_errors),
            u8::from(shared.log.is_on()),
            lc.written_lines.load(Relaxed),
            lc.dropped_lines.load(Relaxed),
            lc.write_errors.load(Relaxed),
        );
    }
    if want("replication") {
        // A primary with no replicas (confab has no replication yet), in Redis's fields.
        section(&mut out, "Replication");
        let _ = write!(
            out,
            "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
            shared.replid
        );
    }
    if want("cpu") {
        section(&mut out, "CPU");
        let me = cpu_times("/proc/self/stat");
        let thread = cpu_times("/proc/thread-self/stat");
        let _ = write!(
            out,
            "used_cpu_sys:{}\r\nused_cpu_user:{}\r\nused_cpu_sys_children:{}\r\nused_cpu_user_children:{}\r\nused_cpu_sys_main_thread:{}\r\nused_cpu_user_main_thread:{}\r\n",
            seconds(me[1]),
            seconds(me[0]),
            seconds(me[3]),
            seconds(me[2]),
            seconds(thread[1]),
            seconds(thread[0]),
        );
    }
    if want("module_list") || want("modules") {
        section(&mut out, "Modules");
    }
    if want("commandstats") {
        section(&mut out, "Commandstats");
        for (slot, name) in shared.commands.slots() {
            let calls = st.command_total(slot, |c| &c.calls);
            let rejected = st.command_total(slot, |c| &c.rejected);
            let failed = st.command_total(slot, |c| &c.failed);
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let usec = st.command_total(slot, |c| &c.usec);
            let per = if calls > 0 {
                usec as f64 / calls as f64
            } else {
                0.0
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                safe_info_string(name.as_bytes())
            );
        }
    }
    if want("errorstats") {
        section(&mut out, "Errorstats");
        for (prefix, n) in shared.stats.errors() {
            let _ = write!(out, "errorstat_{}:count={n}\r\n", safe_info_string(&prefix));
        }
    }
    if want("cluster") {
        section(&mut out, "Cluster");
        out.push_str("cluster_enabled:0\r\n");
    }
    if want("keyspace") {
        section(&mut out, "Keyspace");
        for (db, d) in dbs.iter().flatten().enumerate() {
            if d.keys > 0 {
                // Redis's avg_ttl is an estimate too (from the keys its expiry cycle samples).
                let avg_ttl = d.ttl_total / (d.expires as u128).max(1);
                let _ = write!(
                    out,
                    "db{db}:keys={},expires={},avg_ttl={avg_ttl}\r\n",
                    d.keys, d.expires
                );
            }
        }
    }
    // confab's own: the threads serving connections (when asked for, or with "everything").
    if want("lanes") {
        section(&mut out, "Lanes");
        crate::lanes::info(shared, &mut out);
    }
    out
}
