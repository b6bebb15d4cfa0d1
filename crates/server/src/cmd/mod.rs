//! Command dispatch: the one place that looks a command up, checks its arity, authentication
//! and transaction state, locks the shards it needs, runs it and counts it.
//!
//! Each family lives in its own module and exports a table of `(name, handler, plan)`; the
//! static metadata (arity, flags, key positions, docs) comes from [`table`]. Handlers are
//! synchronous: they run while their shard guards are held and return a protocol-neutral
//! [`Frame`] that the connection encodes for the client's RESP version.

pub(crate) mod bitops;
pub(crate) mod blocking;
pub(crate) mod coll;
pub(crate) mod conn;
pub(crate) mod groups;
pub(crate) mod hashes;
pub(crate) mod keys;
pub(crate) mod lists;
pub(crate) mod memory;
pub(crate) mod object;
pub(crate) mod pubsub;
pub(crate) mod server;
pub(crate) mod sets;
pub(crate) mod sort;
pub(crate) mod streams;
pub(crate) mod strings;
pub(crate) mod table;
pub(crate) mod tx;
pub(crate) mod zsets;

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use confab_protocol::{Frame, Protocol};

use crate::clients::{ClientHandle, CloseReason};
use crate::db::{Keyspace, Locked, Shard, ShardSet, SHARDS_PER_DB};
use crate::server::Shared;
use crate::stats::Stats;
use table::CommandSpec;

/// A command implementation.
pub(crate) type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]) -> Frame;

/// Which shards a command locks before its handler runs.
#[derive(Clone, Copy)]
pub(crate) enum Plan {
    /// No keyspace access.
    None,
    /// The keys at the positions the command table gives, in the current database.
    Keys,
    /// Every shard of the current database (KEYS, SCAN, FLUSHDB, DBSIZE, RANDOMKEY).
    Db,
    /// Every shard of every database (FLUSHALL, SWAPDB).
    All,
    /// Computed from the arguments (MOVE, COPY ... DB n).
    Custom(fn(&Keyspace, usize, &[Bytes]) -> ShardSet),
}

/// One entry of the dispatch table.
pub(crate) struct CommandDef {
    pub spec: &'static CommandSpec,
    pub handler: Handler,
    pub plan: Plan,
    /// Index into the dispatch table (and the command's own stats slot).
    pub idx: usize,
    /// First stats slot of its subcommands (in `spec.subcommands` order), if it has any.
    pub sub_slots: usize,
    pub no_auth: bool,
    pub no_multi: bool,
    pub skip_monitor: bool,
    pub skip_slowlog: bool,
    /// The name has a `_` (see [`Commands::get`]).
    pub underscore: bool,
}

/// The dispatch table, built once at start.
pub(crate) struct Commands {
    defs: Vec<CommandDef>,
    /// Commands by [`bucket`] (name length and first letter; one to three per bucket), each
    /// name packed into two little-endian words: a lookup folds the request's name to lower
    /// case with one OR per word and compares words, where hashing a lowercased copy cost
    /// about 180 instructions per command (callgrind).
    buckets: Vec<Vec<([u64; 2], u16)>>,
    /// Stats slots: one per command (at its `idx`), then one per subcommand (`CONFIG GET` is
    /// `config|get` in INFO commandstats and CLIENT LIST's `cmd=`, as in Redis); the names.
    slots: Vec<&'static str>,
}

/// A name's bucket: its length and its first byte's low five bits (the same for both cases
/// of a letter). `name` is 1 to [`MAX_NAME`] bytes.
#[inline]
fn bucket(name: &[u8]) -> usize {
    (name.len() << 5) | usize::from(name[0] & 31)
}

/// Longest command name (the longest served is 12 bytes); longer names are unknown.
const MAX_NAME: usize = 16;

/// `name` zero-padded into two little-endian words.
#[inline]
fn pack(name: &[u8]) -> [u64; 2] {
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name);
    let (lo, hi) = b.split_at(8);
    [
        u64::from_le_bytes(lo.try_into().unwrap_or_default()),
        u64::from_le_bytes(hi.try_into().unwrap_or_default()),
    ]
}

/// For names of each length, 0x20 in every byte the name has: OR-ing it folds ASCII
/// letters to lower case (and maps a few other bytes onto other non-letters, harmless since
/// every served name is lowercase letters only, which `Commands::new` checks).
const CASE_FOLD: [[u64; 2]; MAX_NAME + 1] = {
    let mut masks = [[0u64; 2]; MAX_NAME + 1];
    let mut len = 0;
    while len <= MAX_NAME {
        let mut i = 0;
        while i < len {
            masks[len][i / 8] |= 0x20 << ((i % 8) * 8);
            i += 1;
        }
        len += 1;
    }
    masks
};

impl Commands {
    pub(crate) fn new() -> Self {
        let families: [&[(&str, Handler, Plan)]; 17] = [
            bitops::COMMANDS,
            blocking::COMMANDS,
            pubsub::COMMANDS,
            strings::COMMANDS,
            keys::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            lists::COMMANDS,
            streams::COMMANDS,
            conn::COMMANDS,
            server::COMMANDS,
            memory::COMMANDS,
            object::COMMANDS,
            tx::COMMANDS,
            zsets::COMMANDS,
            sort::COMMANDS,
            groups::COMMANDS,
        ];
        let mut buckets = vec![Vec::new(); (MAX_NAME + 1) << 5];
        let mut defs = Vec::new();
        for family in families {
            for &(name, handler, plan) in family {
                let spec = table::lookup(name)
                    .unwrap_or_else(|| panic!("command {name} missing from the command table"));
                let has = |f: &str| spec.flags.contains(&f);
                let def = CommandDef {
                    spec,
                    handler,
                    plan,
                    idx: defs.len(),
                    sub_slots: 0,
                    no_auth: has("no_auth"),
                    no_multi: has("no_multi"),
                    skip_monitor: has("skip_monitor"),
                    skip_slowlog: has("skip_slowlog"),
                    underscore: name.contains('_'),
                };
                assert!(
                    name.len() <= MAX_NAME
                        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "command name {name} must be at most {MAX_NAME} lowercase letters or _"
                );
                // Stored folded as requests are: `_` (0x5f) folds to 0x7f, which `get`
                // tells apart by checking such names byte by byte.
                let [lo, hi] = pack(name.as_bytes());
                let [mlo, mhi] = CASE_FOLD[name.len()];
                buckets[bucket(name.as_bytes())].push(([lo | mlo, hi | mhi], defs.len() as u16));
                defs.push(def);
            }
        }
        let mut slots: Vec<&'static str> = defs.iter().map(|d| d.spec.name).collect();
        for def in &mut defs {
            if !def.spec.subcommands.is_empty() {
                def.sub_slots = slots.len();
                slots.extend(def.spec.subcommands.iter().map(|s| s.name));
            }
        }
        Commands {
            defs,
            buckets,
            slots,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.defs.len()
    }

    /// Stats slots (commands and subcommands).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The stats slot of `args` run as `def`: its subcommand's for a container command
    /// (`None` for an unknown subcommand, which Redis does not count as a command), else the
    /// command's own.
    pub(crate) fn slot(&self, def: &CommandDef, args: &[Bytes]) -> Option<usize> {
        if def.spec.subcommands.is_empty() || args.len() < 2 {
            return Some(def.idx);
        }
        let sub = &args[1];
        def.spec
            .subcommands
            .iter()
            .position(|s| {
                s.name
                    .split_once('|')
                    .is_some_and(|(_, name)| eq_ic(sub, name))
            })
            .map(|i| def.sub_slots + i)
    }

    /// Every stats slot with its name (`config|get` for a subcommand).
    pub(crate) fn slots(&self) -> impl Iterator<Item = (usize, &'static str)> + '_ {
        self.slots.iter().copied().enumerate()
    }

    /// The command with stats index `idx`.
    pub(crate) fn by_idx(&self, idx: usize) -> &CommandDef {
        &self.defs[idx]
    }

    /// Look a command up by name, case-insensitively.
    #[inline]
    pub(crate) fn get(&self, name: &[u8]) -> Option<&CommandDef> {
        if name.is_empty() || name.len() > MAX_NAME {
            return None;
        }
        let candidates = &self.buckets[bucket(name)];
        let [lo, hi] = pack(name);
        let [mlo, mhi] = CASE_FOLD[name.len()];
        let folded = [lo | mlo, hi | mhi];
        let def = candidates
            .iter()
            .find(|(words, _)| *words == folded)
            .map(|&(_, i)| &self.defs[usize::from(i)])?;
        // Folding maps `_` and DEL alike: a name with `_` (SORT_RO) is checked exactly.
        if def.underscore && !eq_ic(name, def.spec.name) {
            return None;
        }
        Some(def)
    }

    /// Name of the command or subcommand in stats slot `slot` (`NULL` for none, as Redis
    /// shows a client whose last command was unknown).
    pub(crate) fn name_of(&self, slot: usize) -> &'static str {
        self.slots.get(slot).copied().unwrap_or("NULL")
    }

    /// Every command, for COMMAND / COMMAND LIST / INFO commandstats.
    pub(crate) fn all(&self) -> impl Iterator<Item = &CommandDef> {
        self.defs.iter()
    }
}

/// A command queued by MULTI.
pub(crate) struct Queued {
    pub def_idx: usize,
    /// Its stats slot (see [`Commands::slot`]).
    pub slot: Option<usize>,
    pub args: Vec<Bytes>,
}

/// CLIENT REPLY ON / OFF / SKIP, with Redis's three flags: OFF silences replies until ON;
/// SKIP silences the command after it (the flag moves from `skip_next` to `skip` once the
/// SKIP command is done, and is cleared after the next one). Pub/sub confirmations and
/// messages are pushed whatever the mode, as Redis sends them.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct ReplyMode {
    pub off: bool,
    pub skip: bool,
    pub skip_next: bool,
}

impl ReplyMode {
    /// Whether the reply of the command being run is dropped.
    #[inline]
    pub(crate) fn silent(&self) -> bool {
        self.off || self.skip
    }

    /// After each command (Redis's `resetClient`; for a command that blocked, once it is
    /// served).
    #[inline]
    pub(crate) fn after_command(&mut self) {
        self.skip = std::mem::take(&mut self.skip_next);
    }
}

/// Per-connection state the commands read and change.
pub(crate) struct Client {
    pub handle: std::sync::Arc<ClientHandle>,
    pub db: usize,
    pub proto: Protocol,
    pub authenticated: bool,
    /// `Some` between MULTI and EXEC/DISCARD.
    pub multi: Option<Vec<Queued>>,
    /// A command was rejected while queuing: EXEC must fail with EXECABORT.
    pub multi_error: bool,
    /// The keys this client WATCHes (its flag, set by shards when one changes, is
    /// `handle.watch_flag`, where CLIENT LIST reads it too).
    pub watched: Vec<(usize, Bytes)>,
    /// Close the connection after this batch's replies are written.
    pub close: Option<CloseReason>,
    /// Label used in the conversation log: `<name> <addr>`, formatted when first needed
    /// (empty until then: most connections never log, and churned ones cannot afford it).
    log_label: String,
    /// Bumped whenever `log_label` changes (the connection caches lines' starts).
    pub log_label_version: u32,
    /// Set by MONITOR: the connection switches to monitor mode.
    pub monitor_requested: bool,
    /// The command just run sends no reply (SHUTDOWN, CLIENT REPLY OFF / SKIP).
    pub no_reply: bool,
    /// CLIENT REPLY: whether replies are sent at all.
    pub reply_mode: ReplyMode,
    /// This connection's pub/sub queue, once it has subscribed.
    pub push: Option<std::sync::Arc<crate::pubsub::PushSink>>,
    /// Channels, patterns and shard channels subscribed to.
    pub subs: pubsub::Subscriptions,
    /// Set by commands that answer with several frames (SUBSCRIBE: one per channel).
    pub replies: Option<Vec<Frame>>,
    /// Bytes of input buffered when the current batch began: Redis's query buffer, which
    /// keeps a batch's commands until the whole batch has run (CLIENT LIST / INFO `qbuf` of
    /// the calling client).
    pub qbuf: usize,
    /// SYSTEM lines for the conversation log (deliveries, blocking).
    pub log_notes: Vec<String>,
    /// Set by a blocking command that registered a wait.
    pub block: Option<blocking::Blocked>,
    /// Keys (db, key) the running command made ready for blocked clients (a push to a list,
    /// an XADD); the dispatcher wakes their waiters after the shard locks are released.
    pub ready_keys: Vec<(usize, Bytes)>,
    /// Subscribers this batch's publishes gave their first queued bytes; the connection
    /// wakes (or has its worker write) them once the batch is done, so a pipelined burst
    /// reaches each subscriber as one write (Redis's "clients pending write"), not one
    /// wake-up per message.
    pub wakes: crate::pubsub::Wakes,
}

/// A client's log label as [`Client::take_log_label`] left it: formatted, or empty and
/// shown as `- <addr>`.
pub(crate) struct LazyLabel(String, std::net::SocketAddr);

impl std::fmt::Display for LazyLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            write!(f, "- {}", self.1)
        } else {
            f.write_str(&self.0)
        }
    }
}

impl Client {
    pub(crate) fn new(handle: std::sync::Arc<ClientHandle>, authenticated: bool) -> Self {
        Client {
            handle,
            db: 0,
            proto: Protocol::Resp2,
            authenticated,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            close: None,
            log_label: String::new(),
            log_label_version: 0,
            monitor_requested: false,
            no_reply: false,
            reply_mode: ReplyMode::default(),
            ready_keys: Vec::new(),
            wakes: Default::default(),
            push: None,
            subs: Default::default(),
            replies: None,
            qbuf: 0,
            log_notes: Vec::new(),
            block: None,
        }
    }

    /// The conversation log's label for this client: `<name or -> <addr>`.
    pub(crate) fn log_label(&mut self) -> &str {
        if self.log_label.is_empty() {
            self.log_label = format!("- {}", self.handle.addr);
        }
        &self.log_label
    }

    /// The label, taken (for the disconnect line); formatted only if it is needed then.
    pub(crate) fn take_log_label(&mut self) -> LazyLabel {
        LazyLabel(std::mem::take(&mut self.log_label), self.handle.addr)
    }

    /// Refresh the conversation-log label after a name change.
    pub(crate) fn set_name(&mut self, name: Bytes) {
        let shown = if name.is_empty() {
            "-".to_string()
        } else {
            String::from_utf8_lossy(&name).into_owned()
        };
        self.log_label = format!("{shown} {}", self.handle.addr);
        self.log_label_version = self.log_label_version.wrapping_add(1);
        self.handle
            .names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .name = name;
    }
}

/// What a handler sees.
pub(crate) struct Ctx<'a, 'k> {
    pub shared: &'a Shared,
    pub client: &'a mut Client,
    pub locked: &'a mut Locked<'k>,
    /// Unix milliseconds, fixed for the whole command (and the whole EXEC), as Redis does.
    pub now: u64,
    /// Running inside EXEC: blocking commands must not block.
    pub in_exec: bool,
}

impl Ctx<'_, '_> {
    /// A keyspace notification of `class` for `key` in the client's database (see
    /// `notify`); nothing unless the class is configured.
    #[inline]
    pub(crate) fn notify(&self, class: u32, event: &'static str, key: &[u8]) {
        crate::notify::note(
            &self.shared.keyspace.notify,
            class,
            event,
            self.client.db,
            key,
        );
    }

    /// [`Ctx::notify`] for a key in database `db`.
    #[inline]
    pub(crate) fn notify_db(&self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        crate::notify::note(&self.shared.keyspace.notify, class, event, db, key);
    }

    /// The locked shard of `key` in the client's current database.
    pub(crate) fn shard(&mut self, key: &[u8]) -> &mut Shard {
        let db = self.client.db;
        self.locked.shard(db, key)
    }

    /// Record that `key` (in the current database) may now serve blocked clients: call after
    /// adding to a list or stream.
    pub(crate) fn signal_key_ready(&mut self, key: &[u8]) {
        self.signal_key_ready_in(self.client.db, key);
    }

    /// [`Self::signal_key_ready`] for `key` in database `db`.
    pub(crate) fn signal_key_ready_in(&mut self, db: usize, key: &[u8]) {
        // Nobody blocked: nothing to do. A waiter on `key` registers under the shard lock
        // this command holds, so either it is counted already or it will see the new
        // element itself when it checks.
        if self.shared.blocking.blocked() == 0 {
            return;
        }
        self.client
            .ready_keys
            .push((db, Bytes::copy_from_slice(key)));
    }
}

// ---- Reply helpers --------------------------------------------------------------------------

pub(crate) fn ok() -> Frame {
    Frame::Simple(Bytes::from_static(b"OK"))
}

pub(crate) fn err(msg: &'static str) -> Frame {
    Frame::Error(Bytes::from_static(msg.as_bytes()))
}

pub(crate) fn err_owned(msg: String) -> Frame {
    Frame::Error(Bytes::from(msg))
}

pub(crate) fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

pub(crate) fn bulk(b: Bytes) -> Frame {
    Frame::Bulk(b)
}

pub(crate) fn bulk_str(s: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub(crate) const SYNTAX: &str = "ERR syntax error";
pub(crate) const NOT_FLOAT: &str = "ERR value is not a valid float";
/// Redis's `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)` error.
pub(crate) const OUT_OF_LONG_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

pub(crate) fn wrongtype() -> Frame {
    err(WRONGTYPE)
}

pub(crate) fn syntax() -> Frame {
    err(SYNTAX)
}

pub(crate) fn arity_error(fullname: &str) -> Frame {
    err_owned(format!(
        "ERR wrong number of arguments for '{fullname}' command"
    ))
}

/// Parse a whole argument as i64 exactly as Redis's `string2ll` does (no spaces, no '+',
/// no leading zeros except "0", at most 20 chars): the protocol crate's parser.
pub(crate) use confab_protocol::parse_i64;

/// An i64 argument or Redis's "not an integer" error.
pub(crate) fn arg_i64(b: &[u8]) -> Result<i64, Frame> {
    parse_i64(b).ok_or_else(|| err(NOT_INTEGER))
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
pub(crate) fn eq_ic(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

// ---- Dispatch --------------------------------------------------------------------------------

/// Outcome of one command for the connection.
pub(crate) enum Reply {
    /// Send this frame.
    Frame(Frame),
    /// Send nothing (the connection is being closed: HTTP, SHUTDOWN).
    Nothing,
    /// Send these frames in order (SUBSCRIBE and friends: one per channel).
    Frames(Vec<Frame>),
    /// The command blocked: wait for this before running the next one.
    Block(blocking::Blocked),
    /// CLIENT PAUSE holds the command: run it again once the pause is over.
    Postpone,
}

/// Run one command from `args` (non-empty) for `client`. `now` is the batch's Unix time in
/// milliseconds (read once per pipeline batch, as Redis caches its clock per event loop turn).
///
/// `clock` is the instant the previous command of the batch ended (or the batch started);
/// chaining it halves the clock reads of INFO commandstats' timing.
pub(crate) fn dispatch(
    shared: &Shared,
    client: &mut Client,
    args: &[Bytes],
    now: u64,
    clock: &mut quanta::Instant,
) -> Reply {
    let name = &args[0];
    if eq_ic(name, "post") || eq_ic(name, "host:") {
        tracing::warn!("possible cross-protocol (HTTP) attack; closing connection");
        client.close = Some(CloseReason::SecurityAttack);
        return Reply::Nothing;
    }
    let Some(def) = shared.commands.get(name) else {
        client.handle.last_cmd.store(usize::MAX, Relaxed);
        return Reply::Frame(reject(shared, client, None, None, unknown_command(args)));
    };
    let slot = shared.commands.slot(def, args);
    client
        .handle
        .last_cmd
        .store(slot.unwrap_or(usize::MAX), Relaxed);
    if !arity_ok(def.spec.arity, args.len()) {
        return Reply::Frame(reject(
            shared,
            client,
            Some(def),
            slot,
            arity_error(def.spec.name),
        ));
    }
    // An unknown subcommand, or a subcommand's arity: refused before anything else looks at
    // the command, as Redis's lookup does.
    if let Some(e) = container_check(def, slot, args) {
        return Reply::Frame(reject(shared, client, Some(def), slot, e));
    }
    if !client.authenticated && !def.no_auth {
        return Reply::Frame(reject(
            shared,
            client,
            Some(def),
            slot,
            err("NOAUTH Authentication required."),
        ));
    }
    let limit = shared.runtime.maxmemory.load(Relaxed);
    if limit != 0 && over_maxmemory(shared, client, def, slot, limit) {
        return Reply::Frame(reject(shared, client, Some(def), slot, err(OOM)));
    }
    if client.proto == Protocol::Resp2
        && client.subs.active()
        && !matches!(
            def.spec.name,
            "ping"
                | "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "quit"
                | "reset"
        )
    {
        return Reply::Frame(reject(
            shared,
            client,
            Some(def),
            slot,
            err_owned(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                shared.commands.name_of(slot.unwrap_or(def.idx))
            )),
        ));
    }
    // CLIENT PAUSE: all commands wait, or those that write (and EXEC of a transaction
    // that does); errors above were answered at once, as Redis answers them.
    match shared.runtime.pause.in_force(now) {
        crate::server::PAUSE_OFF => {}
        crate::server::PAUSE_WRITE if !writes(shared, client, def) => {}
        _ => return Reply::Postpone,
    }
    if client.multi.is_some() {
        if def.no_multi {
            return Reply::Frame(reject(
                shared,
                client,
                Some(def),
                slot,
                err("ERR Command not allowed inside a transaction"),
            ));
        }
        if !matches!(
            def.spec.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        ) {
            if let Some(q) = client.multi.as_mut() {
                q.push(Queued {
                    def_idx: def.idx,
                    slot,
                    args: args.to_vec(),
                });
                client.handle.multi.store(q.len() as i64, Relaxed);
            }
            return Reply::Frame(Frame::Simple(Bytes::from_static(b"QUEUED")));
        }
    }
    let is_exec = def.spec.name == "exec";
    if shared.monitor_count.load(Relaxed) > 0 && !def.skip_monitor && !is_exec {
        feed_monitors(shared, client, args);
    }
    let started = *clock;
    let frame = if is_exec {
        // MONITOR sees the transaction's commands as they run, then EXEC (Redis feeds
        // monitors after a command has run).
        let frame = tx::exec(shared, client, now);
        if shared.monitor_count.load(Relaxed) > 0 {
            feed_monitors(shared, client, args);
        }
        frame
    } else {
        let mut locked = shared
            .keyspace
            .lock(plan_shards(&shared.keyspace, def, client.db, args));
        let mut ctx = Ctx {
            shared,
            client,
            locked: &mut locked,
            now,
            in_exec: false,
        };
        (def.handler)(&mut ctx, args)
    };
    crate::blocking::take_gone(&mut client.ready_keys);
    if !client.ready_keys.is_empty() {
        let ready = std::mem::take(&mut client.ready_keys);
        crate::blocking::serve(shared, ready);
    }
    crate::notify::flush(shared, &mut client.wakes);
    let ended = quanta::Instant::now();
    *clock = ended;
    let took = micros(ended.saturating_duration_since(started));
    record(shared, slot, took, &frame);
    slowlog_check(shared, client, def, args, took);
    if std::mem::take(&mut client.no_reply) {
        return Reply::Nothing;
    }
    if let Some(frames) = client.replies.take() {
        return Reply::Frames(frames);
    }
    if let Some(b) = client.block.take() {
        return Reply::Block(b);
    }
    Reply::Frame(frame)
}

/// A duration in whole microseconds, without `as_micros`'s 128-bit arithmetic.
#[inline]
pub(crate) fn micros(d: std::time::Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()))
}

/// Add the command to the SLOWLOG if it ran `micros` or longer than
/// `slowlog-log-slower-than` (negative: never).
#[inline]
pub(crate) fn slowlog_check(
    shared: &Shared,
    client: &Client,
    def: &CommandDef,
    args: &[Bytes],
    micros: u64,
) {
    let limit = shared.runtime.slowlog_slower_than.load(Relaxed);
    if limit < 0 || micros < limit as u64 || def.skip_slowlog {
        return;
    }
    slowlog_push(shared, client, args, micros);
}

#[cold]
fn slowlog_push(shared: &Shared, client: &Client, args: &[Bytes], micros: u64) {
    const MAX_ARGS: usize = 32;
    const MAX_STRING: usize = 128;
    let secret = crate::convlog::redactions(args);
    let mut logged: Vec<Bytes> = Vec::with_capacity(args.len().min(MAX_ARGS));
    for (i, a) in args.iter().enumerate() {
        if args.len() > MAX_ARGS && i == MAX_ARGS - 1 {
            logged.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - MAX_ARGS + 1
            )));
            break;
        }
        if secret.contains(&i) {
            logged.push(Bytes::from_static(b"(redacted)"));
        } else if a.len() > MAX_STRING {
            let mut cut = a[..MAX_STRING].to_vec();
            cut.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            logged.push(Bytes::from(cut));
        } else {
            logged.push(Bytes::copy_from_slice(a));
        }
    }
    let max = shared.runtime.slowlog_max_len.load(Relaxed);
    let mut log = shared.slowlog.lock().unwrap_or_else(|p| p.into_inner());
    let id = log.next_id;
    log.next_id += 1;
    log.entries.push_front(crate::server::SlowlogEntry {
        id,
        time: crate::db::now_ms() / 1000,
        micros,
        args: logged,
        addr: client.handle.addr.to_string(),
        name: client.handle.name(),
    });
    log.entries.truncate(max);
}

/// Count a command that ran.
#[inline]
pub(crate) fn record(shared: &Shared, slot: Option<usize>, micros: u64, frame: &Frame) {
    let local = shared.stats.local();
    Stats::add(&local.commands_processed, 1);
    let s = slot.map(|i| &local.commands[i]);
    if let Some(s) = s {
        Stats::add(&s.calls, 1);
        Stats::add(&s.usec, micros);
    }
    if let Frame::Error(e) = frame {
        if let Some(s) = s {
            Stats::add(&s.failed, 1);
        }
        shared.stats.error_reply(e);
    }
}

/// Redis's reply to a command refused past `maxmemory`.
const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The flags of a command run as `def` with stats slot `slot`: its subcommand's for a
/// container command (Redis checks the subcommand's own flags).
fn flags_of(def: &CommandDef, slot: Option<usize>) -> &'static [&'static str] {
    match slot {
        Some(s) if !def.spec.subcommands.is_empty() && s >= def.sub_slots => def
            .spec
            .subcommands
            .get(s - def.sub_slots)
            .map_or(def.spec.flags, |sub| sub.flags),
        _ => def.spec.flags,
    }
}

/// Whether a command has a flag `has` tells: for EXEC, whether a command it would run does
/// (Redis's `mstate.cmd_flags`). `has` gets the command and its stats slot.
fn has_flag(
    shared: &Shared,
    client: &Client,
    def: &CommandDef,
    slot: Option<usize>,
    has: impl Fn(&CommandDef, Option<usize>) -> bool,
) -> bool {
    if def.spec.name == "exec" {
        return client.multi.as_ref().is_some_and(|q| {
            q.iter()
                .any(|c| has(shared.commands.by_idx(c.def_idx), c.slot))
        });
    }
    has(def, slot)
}

/// Whether `limit` (`maxmemory`, set) refuses this command now, as Redis's `processCommand`
/// does when nothing can be evicted (confab evicts nothing yet, so every `maxmemory-policy`
/// acts as `noeviction`): memory in use is over the limit and the command may grow memory
/// (flag `denyoom`; EXEC when a queued command has it), or the client is in MULTI, where
/// queueing itself grows memory (all but EXEC, DISCARD, QUIT and RESET). Reads, deletes and
/// the rest still run, so memory can be given back.
#[cold]
fn over_maxmemory(
    shared: &Shared,
    client: &Client,
    def: &CommandDef,
    slot: Option<usize>,
    limit: u64,
) -> bool {
    let queueing =
        client.multi.is_some() && !matches!(def.spec.name, "exec" | "discard" | "quit" | "reset");
    let gated = queueing
        || has_flag(shared, client, def, slot, |d, s| {
            flags_of(d, s).contains(&"denyoom")
        });
    gated && server::used_memory() > limit
}

/// Whether `def` writes, or may be propagated (PUBLISH), for CLIENT PAUSE WRITE; EXEC does
/// when a queued command does. (The command's own flags, not its subcommand's.)
fn writes(shared: &Shared, client: &Client, def: &CommandDef) -> bool {
    has_flag(shared, client, def, None, |d, _| {
        d.spec
            .flags
            .iter()
            .any(|f| matches!(*f, "write" | "may_replicate"))
    })
}

/// Reply to a command rejected before it ran; inside MULTI this dooms the transaction. A
/// rejected EXEC discards the transaction and says why, as Redis's `execCommandAbort`
/// (`EXECABORT Transaction discarded because of: <error without its ERR>`).
#[cold]
fn reject(
    shared: &Shared,
    client: &mut Client,
    def: Option<&CommandDef>,
    slot: Option<usize>,
    reply: Frame,
) -> Frame {
    if let Some(i) = slot {
        Stats::add(&shared.stats.local().commands[i].rejected, 1);
    }
    let is_exec = def.is_some_and(|d| d.spec.name == "exec");
    let reply = match reply {
        Frame::Error(e) if is_exec => {
            tx::discard_state(shared, client);
            let why = e.strip_prefix(b"ERR ").unwrap_or(&e);
            let mut msg = b"EXECABORT Transaction discarded because of: ".to_vec();
            msg.extend_from_slice(why);
            Frame::Error(Bytes::from(msg))
        }
        other => other,
    };
    if let Frame::Error(e) = &reply {
        shared.stats.error_reply(e);
    }
    if client.multi.is_some() {
        client.multi_error = true;
    }
    reply
}

pub(crate) fn arity_ok(arity: i32, argc: usize) -> bool {
    let argc = argc as i64;
    let arity = i64::from(arity);
    (arity >= 0 && argc == arity) || (arity < 0 && argc >= -arity)
}

/// For container commands, an unknown subcommand or a subcommand's bad arity: the error Redis
/// gives at lookup, before it checks authentication, the pub/sub context or MULTI.
fn container_check(def: &CommandDef, slot: Option<usize>, args: &[Bytes]) -> Option<Frame> {
    if def.spec.subcommands.is_empty() || args.len() < 2 {
        return None;
    }
    // `slot` is the subcommand's (see `Commands::slot`), `None` when there is no such one.
    let Some(slot) = slot else {
        return Some(unknown_subcommand(def.spec.name, &args[1]));
    };
    let spec = &def.spec.subcommands[slot - def.sub_slots];
    (!arity_ok(spec.arity, args.len())).then(|| arity_error(spec.name))
}

/// Shards of the movable keys of `numkeys key [key ...]` commands (LMPOP, BLMPOP,
/// SINTERCARD): `a[numkeys_at]` counts the keys that follow it.
pub(crate) fn numkeys_shards(ks: &Keyspace, db: usize, a: &[Bytes], numkeys_at: usize) -> ShardSet {
    let n = a
        .get(numkeys_at)
        .and_then(|n| parse_i64(n))
        .unwrap_or(0)
        .max(0) as usize;
    a.iter()
        .skip(numkeys_at + 1)
        .take(n)
        .map(|k| ks.shard_index(db, k))
        .collect()
}

/// The blocking operation of an XREAD BLOCK waiting past `after`.
pub(crate) fn blocking_op_xread(
    after: Vec<crate::db::stream::StreamId>,
    count: usize,
    proto: Protocol,
) -> crate::blocking::BlockOp {
    crate::blocking::BlockOp::XRead {
        after,
        count,
        proto,
    }
}

/// `ERR unknown command '...', with args beginning with: '...' ` exactly as Redis formats it.
fn unknown_command(args: &[Bytes]) -> Frame {
    let mut a = String::new();
    for arg in &args[1..] {
        if a.len() >= 128 {
            break;
        }
        let room = 128 - a.len();
        let s = String::from_utf8_lossy(&arg[..arg.len().min(room)]).into_owned();
        a.push('\'');
        a.push_str(&s);
        a.push_str("' ");
    }
    let name = String::from_utf8_lossy(&args[0][..args[0].len().min(128)]).into_owned();
    let msg = format!("ERR unknown command '{name}', with args beginning with: {a}")
        .replace(['\r', '\n'], " ");
    err_owned(msg)
}

/// `ERR unknown subcommand 'x'. Try CLIENT HELP.`
pub(crate) fn unknown_subcommand(container: &str, sub: &[u8]) -> Frame {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    err_owned(
        format!(
            "ERR unknown subcommand '{sub}'. Try {} HELP.",
            container.to_ascii_uppercase()
        )
        .replace(['\r', '\n'], " "),
    )
}

/// The shards `def` needs for `args` when run in database `db`.
pub(crate) fn plan_shards(ks: &Keyspace, def: &CommandDef, db: usize, args: &[Bytes]) -> ShardSet {
    match def.plan {
        Plan::None => ShardSet::new(),
        // Most commands name one key, first: no key-spec iteration.
        Plan::Keys if def.spec.first_key == 1 && def.spec.last_key == 1 => {
            let mut set = ShardSet::new();
            if let Some(k) = args.get(1) {
                set.push(ks.shard_index(db, k));
            }
            set
        }
        Plan::Keys => def
            .spec
            .key_indexes(args.len())
            .filter_map(|i| args.get(i))
            .map(|k| ks.shard_index(db, k))
            .collect(),
        Plan::Db => (db * SHARDS_PER_DB..(db + 1) * SHARDS_PER_DB).collect(),
        Plan::All => (0..ks.shard_count()).collect(),
        Plan::Custom(f) => f(ks, db, args),
    }
}

/// Redis's MONITOR line: `+<secs>.<micros> [<db> <addr>] "arg" ...`.
pub(crate) fn feed_monitors(shared: &Shared, client: &Client, args: &[Bytes]) {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        t.as_secs(),
        t.subsec_micros(),
        client.db,
        client.handle.addr
    )
    .into_bytes();
    let redact = crate::convlog::redactions(args);
    for (i, a) in args.iter().enumerate() {
        line.push(b' ');
        if redact.contains(&i) {
            line.extend_from_slice(b"\"(redacted)\"");
            continue;
        }
        line.push(b'"');
        for &c in a.iter() {
            match c {
                b'\\' => line.extend_from_slice(b"\\\\"),
                b'"' => line.extend_from_slice(b"\\\""),
                b'\n' => line.extend_from_slice(b"\\n"),
                b'\r' => line.extend_from_slice(b"\\r"),
                b'\t' => line.extend_from_slice(b"\\t"),
                7 => line.extend_from_slice(b"\\a"),
                8 => line.extend_from_slice(b"\\b"),
                c if c.is_ascii_graphic() || c == b' ' => line.push(c),
                c => line.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
            }
        }
        line.push(b'"');
    }
    line.extend_from_slice(b"\r\n");
    send_monitors(shared, Some(client.handle.id), Bytes::from(line));
}

fn send_monitors(shared: &Shared, except: Option<u64>, line: Bytes) {
    let mut monitors = shared.monitors.lock().unwrap_or_else(|p| p.into_inner());
    // A monitor that cannot keep up is dropped here; its connection sees the closed channel
    // and closes with reason `slow consumer`.
    monitors.retain(|m| Some(m.client_id) == except || m.tx.try_send(line.clone()).is_ok());
    shared.monitor_count.store(monitors.len(), Relaxed);
}

/// Whether any client is in MONITOR mode.
pub(crate) fn monitoring(shared: &Shared) -> bool {
    shared.monitor_count.load(Relaxed) > 0
}

/// A SYSTEM event (a delivery, a client blocking or unblocking, a disconnect) as a MONITOR
/// line: `+<secs>.<micros> [0 system:0] "<text>"`, the same text as its conversation-log
/// line. MONITOR in Redis shows commands only; confab also shows what the server did on its
/// own, shaped like a command from a pseudo-client `system:0` in database 0 so that client
/// libraries' MONITOR parsers (redis-py's `Monitor`: `[<db> <addr>:<port>] ...`) read it.
pub(crate) fn monitor_system(shared: &Shared, text: &str) {
    if !monitoring(shared) {
        return;
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut line =
        format!("+{}.{:06} [0 system:0] \"", t.as_secs(), t.subsec_micros()).into_bytes();
    for &c in text.as_bytes() {
        match c {
            b'"' => line.extend_from_slice(b"\\\""),
            b'\r' | b'\n' => line.push(b' '),
            c => line.push(c),
        }
    }
    line.extend_from_slice(b"\"\r\n");
    send_monitors(shared, None, Bytes::from(line));
}

/// The digits after an optional sign, as C's `strtoull` reads them (a leading `-` negates
/// modulo 2^64), but strictly: `None` for an empty digit string, a non-digit, or overflow.
pub(crate) fn unsigned_digits(neg: bool, digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups fold ASCII case and nothing else.
    #[test]
    fn commands_are_found_whatever_their_case() {
        let c = Commands::new();
        for def in c.all() {
            let name = def.spec.name;
            for variant in [name.to_string(), name.to_ascii_uppercase(), {
                let mut m: Vec<u8> = name.bytes().collect();
                m[0] = m[0].to_ascii_uppercase();
                String::from_utf8(m).unwrap()
            }] {
                let found = c.get(variant.as_bytes()).map(|d| d.spec.name);
                assert_eq!(found, Some(name), "{variant}");
            }
            // A byte OR 0x20 away from a letter, but not that letter in either case.
            let mut wrong: Vec<u8> = name.bytes().collect();
            let last = wrong.len() - 1;
            wrong[last] ^= 0x80;
            assert!(c.get(&wrong).is_none(), "{name}");
            let longer = format!("{name}x");
            assert_eq!(
                c.get(longer.as_bytes()).map(|d| d.spec.name),
                c.all().map(|d| d.spec.name).find(|n| *n == longer)
            );
        }
        for bad in [
            &b""[..],
            b"g@t",
            b"ge",
            b"get\0",
            b"getx",
            b"G\x45T\xff",
            &[b'a'; 40],
        ] {
            assert!(c.get(bad).is_none(), "{bad:?}");
        }
        assert_eq!(c.get(b"GeT").map(|d| d.spec.name), Some("get"));
    }

    /// The generated table lists exactly the commands served: COMMAND COUNT / LIST / INFO /
    /// DOCS must not advertise a command that answers "unknown command".
    #[test]
    fn every_command_in_the_table_is_served() {
        let served = Commands::new();
        for spec in table::COMMANDS {
            assert!(
                served.get(spec.name.as_bytes()).is_some(),
                "{} is in the command table but has no handler",
                spec.name
            );
        }
        assert_eq!(served.all().count(), table::COMMANDS.len());
    }

    #[test]
    fn integers_like_redis() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"1.0"), None);
    }

    #[test]
    fn unknown_command_text() {
        let args = [Bytes::from_static(b"foo"), Bytes::from_static(b"a\r\nb")];
        match unknown_command(&args) {
            Frame::Error(e) => assert_eq!(
                &e[..],
                b"ERR unknown command 'foo', with args beginning with: 'a  b' "
            ),
            _ => panic!(),
        }
    }
}
