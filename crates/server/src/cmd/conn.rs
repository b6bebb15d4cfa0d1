//! Connection commands: PING, ECHO, HELLO, AUTH, QUIT, RESET and CLIENT.
//!
//! These change only the calling connection's state (protocol, name, authentication) or read
//! the client registry; none touch the keyspace.

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use confab_protocol::{Frame, Protocol};

use super::{
    arity_error, bulk, bulk_str, eq_ic, err, err_owned, int, ok, parse_i64, syntax,
    unknown_subcommand, Client, Ctx, Handler, Plan, NOT_INTEGER,
};
use crate::clients::CloseReason;
use crate::server::Shared;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("ping", ping, Plan::None),
    ("echo", echo, Plan::None),
    ("hello", hello, Plan::None),
    ("auth", auth, Plan::None),
    ("quit", quit, Plan::None),
    ("reset", reset, Plan::None),
    ("client", client, Plan::None),
];

/// # Format
/// `PING [message]`
fn ping(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if a.len() <= 2 && ctx.client.proto == Protocol::Resp2 && ctx.client.subs.active() {
        // RESP2 subscribed mode answers in the message shape.
        return Frame::Array(vec![
            bulk(Bytes::from_static(b"pong")),
            bulk(a.get(1).cloned().unwrap_or_default()),
        ]);
    }
    match a.len() {
        1 => Frame::Simple(Bytes::from_static(b"PONG")),
        2 => bulk(a[1].clone()),
        _ => arity_error("ping"),
    }
}

/// # Format
/// `ECHO message`
fn echo(_ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    bulk(a[1].clone())
}

/// Compare passwords without an early exit on the first differing byte.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Redis's ACL check for the default user: any password when none is configured.
fn check_credentials(shared: &Shared, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match shared.requirepass() {
        None => true,
        Some(p) => same_secret(&p, pass),
    }
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// # Format
/// `AUTH [username] password`
fn auth(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    if a.len() > 3 {
        return syntax();
    }
    let (user, pass): (&[u8], &[u8]) = if a.len() == 2 {
        if ctx.shared.requirepass().is_none() {
            return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }
        (b"default", &a[1])
    } else {
        (&a[1], &a[2])
    };
    if check_credentials(ctx.shared, user, pass) {
        ctx.client.authenticated = true;
        ok()
    } else {
        err(WRONGPASS)
    }
}

/// Client names may not contain spaces, newlines or other special characters.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

/// # Format
/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut ver = None;
    let mut next = 1;
    if a.len() >= 2 {
        match parse_i64(&a[1]) {
            None => return err("ERR Protocol version is not an integer or out of range"),
            Some(v) if !(2..=3).contains(&v) => return err("NOPROTO unsupported protocol version"),
            Some(v) => ver = Some(v),
        }
        next = 2;
    }
    let mut j = next;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq_ic(&a[j], "auth") && more >= 2 {
            if !check_credentials(ctx.shared, &a[j + 1], &a[j + 2]) {
                return err(WRONGPASS);
            }
            ctx.client.authenticated = true;
            j += 3;
        } else if eq_ic(&a[j], "setname") && more >= 1 {
            if !valid_name(&a[j + 1]) {
                return err(BAD_NAME);
            }
            ctx.client.set_name(a[j + 1].clone());
            j += 2;
        } else {
            return err_owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[j])
            ));
        }
    }
    if !ctx.client.authenticated {
        return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(v) = ver {
        ctx.client.proto = if v == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        ctx.client.handle.resp.store(v as u8, Relaxed);
        if let Some(sink) = &ctx.client.push {
            sink.set_proto(ctx.client.proto);
        }
    }
    let proto = if ctx.client.proto == Protocol::Resp3 {
        3
    } else {
        2
    };
    Frame::Map(vec![
        (bulk_str("server"), bulk_str("redis")),
        (bulk_str("version"), bulk_str(crate::REDIS_COMPAT_VERSION)),
        (bulk_str("proto"), int(proto)),
        (bulk_str("id"), int(ctx.client.handle.id as i64)),
        (bulk_str("mode"), bulk_str("standalone")),
        (bulk_str("role"), bulk_str("master")),
        (bulk_str("modules"), Frame::Array(vec![])),
    ])
}

/// # Format
/// `QUIT`
fn quit(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    ctx.client.close = Some(CloseReason::ClientQuit);
    ok()
}

/// # Format
/// `RESET`
fn reset(ctx: &mut Ctx<'_, '_>, _a: &[Bytes]) -> Frame {
    super::tx::discard_state(ctx.shared, ctx.client);
    super::pubsub::unsubscribe_all(ctx.shared, ctx.client);
    let c = &mut *ctx.client;
    c.db = 0;
    c.handle.db.store(0, Relaxed);
    c.proto = Protocol::Resp2;
    c.handle.resp.store(2, Relaxed);
    c.authenticated = ctx.shared.requirepass().is_none();
    c.set_name(Bytes::new());
    // As Redis's RESET: CLIENT REPLY OFF and a pending SKIP end (a SKIP aimed at this very
    // command still silences its reply).
    c.reply_mode.off = false;
    c.reply_mode.skip_next = false;
    stop_monitor(ctx.shared, c);
    Frame::Simple(Bytes::from_static(b"RESET"))
}

/// Leave monitor mode, if in it.
pub(crate) fn stop_monitor(shared: &Shared, c: &mut Client) {
    if c.handle.is_monitor.swap(false, Relaxed) {
        let mut m = shared.monitors.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|s| s.client_id != c.handle.id);
        shared.monitor_count.store(m.len(), Relaxed);
    }
    c.monitor_requested = false;
}

pub(crate) fn verbatim(text: String) -> Frame {
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(text),
    }
}

/// Redis 7.0's CLIENT HELP, with what confab adds: KILL by ID and MAXAGE, SETINFO.
const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Set client library name or version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

pub(crate) fn help_reply(lines: &[&str]) -> Frame {
    Frame::Array(
        lines
            .iter()
            .map(|l| Frame::Simple(Bytes::copy_from_slice(l.as_bytes())))
            .collect(),
    )
}

/// # Format
/// `CLIENT subcommand [arguments ...]`
fn client(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let argc = a.len();
    let cmd_name = |shared: &Shared, h: &crate::clients::ClientHandle| {
        shared
            .commands
            .name_of(h.last_cmd.load(Relaxed))
            .to_string()
    };
    match (sub.as_str(), argc) {
        ("help", 2) => help_reply(CLIENT_HELP),
        ("id", 2) => int(ctx.client.handle.id as i64),
        ("pause", 3 | 4) => client_pause(ctx, a),
        ("unpause", 2) => {
            ctx.shared.runtime.pause.unpause();
            ok()
        }
        // Client-side caching (tracking) is not served: every client has it off.
        ("getredir", 2) => int(-1),
        ("trackinginfo", 2) => Frame::Map(vec![
            (bulk_str("flags"), Frame::Set(vec![bulk_str("off")])),
            (bulk_str("redirect"), int(-1)),
            (bulk_str("prefixes"), Frame::Array(Vec::new())),
        ]),
        ("caching", n) if n >= 3 => err(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ),
        ("tracking", n) if n >= 3 => client_tracking(ctx, a),
        ("info", 2) => {
            let h = &ctx.client.handle;
            let own = (ctx.client.qbuf, argv_mem(a));
            verbatim(format!("{}\n", h.info_line(&cmd_name(ctx.shared, h), Some(own))))
        }
        ("list", _) => client_list(ctx, a),
        ("getname", 2) => {
            let name = ctx.client.handle.name();
            if name.is_empty() {
                Frame::Null
            } else {
                bulk(name)
            }
        }
        ("setname", 3) => {
            if !valid_name(&a[2]) {
                return err(BAD_NAME);
            }
            ctx.client.set_name(a[2].clone());
            ok()
        }
        ("setinfo", 4) => {
            let value = &a[3];
            let attr = String::from_utf8_lossy(&a[2]).to_ascii_lowercase();
            if attr != "lib-name" && attr != "lib-ver" {
                return err_owned(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(&a[2])
                ));
            }
            if !valid_name(value) {
                return err_owned(format!(
                    "ERR {attr} cannot contain spaces, newlines or special characters."
                ));
            }
            let mut names = ctx
                .client
                .handle
                .names
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if attr == "lib-name" {
                names.lib_name = value.clone();
            } else {
                names.lib_ver = value.clone();
            }
            ok()
        }
        ("reply", 3) => {
            let mode = &mut ctx.client.reply_mode;
            if eq_ic(&a[2], "on") {
                mode.off = false;
                mode.skip = false;
                return ok();
            }
            if eq_ic(&a[2], "off") {
                mode.off = true;
            } else if eq_ic(&a[2], "skip") {
                mode.skip_next = !mode.off;
            } else {
                return syntax();
            }
            ctx.client.no_reply = true;
            Frame::Null
        }
        ("no-evict", 3) => {
            if eq_ic(&a[2], "on") || eq_ic(&a[2], "off") {
                let on = eq_ic(&a[2], "on");
                ctx.client.handle.no_evict.store(on, Relaxed);
                ok()
            } else {
                syntax()
            }
        }
        ("kill", n) if n >= 3 => client_kill(ctx, a),
        ("unblock", 3 | 4) => {
            // The reason is checked before the id, as Redis does.
            let error = match a.get(3) {
                None => false,
                Some(m) if eq_ic(m, "timeout") => false,
                Some(m) if eq_ic(m, "error") => true,
                Some(_) => return err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
            };
            let Some(id) = parse_i64(&a[2]) else {
                return err(super::NOT_INTEGER);
            };
            let Some(w) = ctx.shared.blocking.of_client(id as u64) else {
                return int(0);
            };
            let reply = error.then(|| {
                Frame::Error(Bytes::from_static(
                    b"UNBLOCKED client unblocked via CLIENT UNBLOCK",
                ))
            });
            int(i64::from(w.cancel(reply)))
        }
        _ => match super::table::lookup_sub("client", &sub) {
            // The dispatcher only checks a subcommand's table arity; a served subcommand
            // that passes it but has no form with this many arguments (CLIENT UNBLOCK 1 2 3)
            // gets Redis's `addReplySubcommandSyntaxError`.
            Some(spec) if client_subcommand_served(&sub) && super::arity_ok(spec.arity, argc) => {
                subcommand_syntax_error(a)
            }
            Some(spec) if client_subcommand_served(&sub) => arity_error(spec.name),
            _ => unknown_subcommand("client", &a[1]),
        },
    }
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`
fn client_pause(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    use crate::server::{PAUSE_ALL, PAUSE_WRITE};
    let mut mode = PAUSE_ALL;
    if a.len() == 4 {
        if eq_ic(&a[3], "write") {
            mode = PAUSE_WRITE;
        } else if !eq_ic(&a[3], "all") {
            return err("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    }
    let Some(ms) = parse_i64(&a[2]) else {
        return err("ERR timeout is not an integer or out of range");
    };
    if ms < 0 {
        return err("ERR timeout is negative");
    }
    let now = crate::db::now_ms();
    let until = now.saturating_add(ms as u64);
    ctx.shared.runtime.pause.pause(mode, until, now);
    ok()
}

/// `CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]`:
/// the options are checked as Redis checks them; OFF is what every client has, ON is refused
/// (no client-side caching yet).
fn client_tracking(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut redirect = false;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if eq_ic(&a[j], "redirect") && more {
            j += 1;
            if redirect {
                return err("ERR A client can only redirect to a single other client");
            }
            redirect = true;
            let Some(id) = parse_i64(&a[j]) else {
                return err(NOT_INTEGER);
            };
            if !ctx
                .shared
                .clients
                .snapshot()
                .iter()
                .any(|h| i64::try_from(h.id) == Ok(id))
            {
                return err("ERR The client ID you want redirect to does not exist");
            }
        } else if eq_ic(&a[j], "prefix") && more {
            j += 1;
        } else if !["bcast", "optin", "optout", "noloop"]
            .iter()
            .any(|o| eq_ic(&a[j], o))
        {
            return syntax();
        }
        j += 1;
    }
    if eq_ic(&a[2], "off") {
        ok()
    } else if eq_ic(&a[2], "on") {
        err("ERR CLIENT TRACKING ON is not supported by confab yet (no client-side caching)")
    } else {
        syntax()
    }
}

/// `ERR unknown subcommand or wrong number of arguments for 'x'. Try CLIENT HELP.`
pub(crate) fn subcommand_syntax_error(a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1][..a[1].len().min(128)]).into_owned();
    err_owned(
        format!(
            "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
            String::from_utf8_lossy(&a[0]).to_ascii_uppercase()
        )
        .replace(['\r', '\n'], " "),
    )
}

/// Whether confab serves CLIENT `sub` (lowercase).
pub(crate) fn client_subcommand_served(sub: &str) -> bool {
    matches!(
        sub,
        "help"
            | "pause"
            | "unpause"
            | "getredir"
            | "trackinginfo"
            | "caching"
            | "tracking"
            | "id"
            | "info"
            | "list"
            | "getname"
            | "setname"
            | "setinfo"
            | "no-evict"
            | "reply"
            | "kill"
            | "unblock"
    )
}

/// Redis's `argv-mem` of a running command: its arguments' lengths.
fn argv_mem(a: &[Bytes]) -> usize {
    a.iter().map(Bytes::len).sum()
}

fn client_list(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let mut ids: Option<Vec<u64>> = None;
    let mut only_pubsub: Option<bool> = None;
    if a.len() == 4 && eq_ic(&a[2], "type") {
        let t = String::from_utf8_lossy(&a[3]).to_ascii_lowercase();
        match t.as_str() {
            "normal" | "pubsub" => only_pubsub = Some(t == "pubsub"),
            "master" | "replica" | "slave" => return verbatim(String::new()),
            _ => {
                return err_owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(&a[3])
                ))
            }
        }
    } else if a.len() > 3 && eq_ic(&a[2], "id") {
        let mut v = Vec::new();
        for id in &a[3..] {
            // Any integer is accepted; ids that match no client (0, negative) list nothing.
            match parse_i64(id) {
                Some(n) => v.extend(u64::try_from(n).ok()),
                None => return err("ERR Invalid client ID"),
            }
        }
        ids = Some(v);
    } else if a.len() != 2 {
        return syntax();
    }
    let mut out = String::new();
    let mut clients = ctx.shared.clients.snapshot();
    if let Some(ids) = &ids {
        // One line per id given, in that order (an id given twice is listed twice).
        let found = clients;
        clients = ids
            .iter()
            .filter_map(|id| found.iter().find(|h| h.id == *id).cloned())
            .collect();
    }
    for h in clients {
        if only_pubsub.is_some_and(|want| h.is_pubsub() != want) {
            continue;
        }
        let name = ctx.shared.commands.name_of(h.last_cmd.load(Relaxed));
        let own = (h.id == ctx.client.handle.id).then(|| (ctx.client.qbuf, argv_mem(a)));
        out.push_str(&h.info_line(name, own));
        out.push('\n');
    }
    verbatim(out)
}

fn client_kill(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let me = ctx.client.handle.id;
    if a.len() == 3 {
        // Old form: CLIENT KILL addr:port
        let addr = String::from_utf8_lossy(&a[2]).into_owned();
        for h in ctx.shared.clients.snapshot() {
            if h.addr.to_string() == addr {
                kill(ctx.client, &h);
                return ok();
            }
        }
        return err("ERR No such client");
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut skipme = true;
    let mut maxage = None;
    let mut only_type: Option<String> = None;
    let mut i = 2;
    while i < a.len() {
        if i + 1 >= a.len() {
            return syntax();
        }
        let v = &a[i + 1];
        if eq_ic(&a[i], "id") {
            match parse_i64(v) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return err("ERR client-id should be greater than 0"),
            }
        } else if eq_ic(&a[i], "type") {
            let t = String::from_utf8_lossy(v).to_ascii_lowercase();
            if !matches!(
                t.as_str(),
                "normal" | "master" | "replica" | "slave" | "pubsub"
            ) {
                return err_owned(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(v)
                ));
            }
            only_type = Some(t);
        } else if eq_ic(&a[i], "addr") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(&a[i], "laddr") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(&a[i], "user") {
            if &v[..] != b"default" {
                return err_owned(format!("ERR No such user '{}'", String::from_utf8_lossy(v)));
            }
        } else if eq_ic(&a[i], "skipme") {
            if eq_ic(v, "yes") {
                skipme = true;
            } else if eq_ic(v, "no") {
                skipme = false;
            } else {
                return syntax();
            }
        } else if eq_ic(&a[i], "maxage") {
            match parse_i64(v) {
                Some(n) if n >= 0 => maxage = Some(n as u64),
                _ => return syntax(),
            }
        } else {
            return syntax();
        }
        i += 2;
    }
    let mut killed = 0;
    for h in ctx.shared.clients.snapshot() {
        if id.is_some_and(|i| i != h.id)
            || addr.as_ref().is_some_and(|x| *x != h.addr.to_string())
            || laddr.as_ref().is_some_and(|x| *x != h.laddr.to_string())
            || maxage.is_some_and(|m| h.created.elapsed().as_secs() < m)
            || only_type.as_deref().is_some_and(|t| match t {
                "normal" => h.is_pubsub(),
                "pubsub" => !h.is_pubsub(),
                _ => true, // no replicas or masters here
            })
            || (skipme && h.id == me)
            // Killed already, on its way out: not killed (nor counted) twice.
            || (h.id != me && h.kill.is_killed())
        {
            continue;
        }
        kill(ctx.client, &h);
        killed += 1;
    }
    int(killed)
}

fn kill(me: &mut Client, target: &crate::clients::ClientHandle) {
    if target.id == me.handle.id {
        me.close = Some(CloseReason::Killed);
    } else {
        target.kill.kill();
    }
}
