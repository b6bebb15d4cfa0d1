//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//!
//! The registry and the per-subscriber queues live in [`crate::pubsub`]; this module keeps
//! the calling connection's subscriptions and builds Redis's confirmation replies, one push
//! per channel (arrays in RESP2, push frames in RESP3).

use bytes::Bytes;
use confab_protocol::Frame;

use super::conn::help_reply;
use super::{arity_error, bulk, int, unknown_subcommand, Client, Ctx, Handler, Plan};
use crate::pubsub::{Kind, PushSink};
use crate::server::Shared;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] = &[
    ("subscribe", subscribe, Plan::None),
    ("psubscribe", psubscribe, Plan::None),
    ("ssubscribe", ssubscribe, Plan::None),
    ("unsubscribe", unsubscribe, Plan::None),
    ("punsubscribe", punsubscribe, Plan::None),
    ("sunsubscribe", sunsubscribe, Plan::None),
    ("publish", publish, Plan::None),
    ("spublish", spublish, Plan::None),
    ("pubsub", pubsub, Plan::None),
];

/// The calling connection's subscriptions: channels, patterns and shard channels, allocated
/// on the first subscription (most connections never subscribe, and an idle connection
/// should stay small).
#[derive(Default)]
pub(crate) struct Subscriptions {
    sets: Option<Box<[indexmap::IndexSet<Bytes>; 3]>>,
}

impl Subscriptions {
    fn index(kind: Kind) -> usize {
        match kind {
            Kind::Channel => 0,
            Kind::Pattern => 1,
            Kind::Shard => 2,
        }
    }

    fn set(&mut self, kind: Kind) -> &mut indexmap::IndexSet<Bytes> {
        &mut self.sets.get_or_insert_with(Default::default)[Self::index(kind)]
    }

    fn len(&self, kind: Kind) -> usize {
        self.sets.as_ref().map_or(0, |s| s[Self::index(kind)].len())
    }

    fn names(&self, kind: Kind) -> Vec<Bytes> {
        self.sets
            .as_ref()
            .map_or_else(Vec::new, |s| s[Self::index(kind)].iter().cloned().collect())
    }

    fn remove(&mut self, kind: Kind, name: &[u8]) -> bool {
        self.sets
            .as_mut()
            .is_some_and(|s| s[Self::index(kind)].shift_remove(name))
    }

    /// The count Redis reports in (un)subscribe confirmations for `kind`.
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.len(Kind::Shard),
            _ => self.len(Kind::Channel) + self.len(Kind::Pattern),
        }
    }

    /// Subscribed to anything at all (RESP2 subscribed mode).
    pub(crate) fn active(&self) -> bool {
        self.sets
            .as_ref()
            .is_some_and(|s| s.iter().any(|set| !set.is_empty()))
    }
}

/// The connection's push queue, created on first subscription.
fn sink(ctx: &mut Ctx<'_, '_>) -> std::sync::Arc<PushSink> {
    if let Some(s) = &ctx.client.push {
        return s.clone();
    }
    let sink = PushSink::new(
        ctx.client.handle.id,
        ctx.client.proto,
        ctx.shared.config.pubsub_limits,
        ctx.client.handle.kill.clone(),
    );
    ctx.client.push = Some(sink.clone());
    *ctx.client
        .handle
        .push
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::downgrade(&sink);
    sink
}

fn confirm(word: &'static str, name: Option<Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        bulk(Bytes::from_static(word.as_bytes())),
        name.map_or(Frame::Null, bulk),
        int(count as i64),
    ])
}

fn subscribe_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], kind: Kind) -> Frame {
    let sink = sink(ctx);
    let mut replies = Vec::with_capacity(a.len() - 1);
    for name in &a[1..] {
        let name = Bytes::copy_from_slice(name);
        if ctx.client.subs.set(kind).insert(name.clone()) {
            ctx.shared.pubsub.subscribe(kind, name.clone(), &sink);
        }
        let n = ctx.client.subs.count(kind);
        replies.push(confirm(kind.subscribe_word(), Some(name), n));
    }
    ctx.client.handle.ssubscriptions.store(
        ctx.client.subs.len(Kind::Shard),
        std::sync::atomic::Ordering::Relaxed,
    );
    ctx.client.handle.subscriptions.store(
        ctx.client.subs.len(Kind::Channel),
        std::sync::atomic::Ordering::Relaxed,
    );
    ctx.client.handle.psubscriptions.store(
        ctx.client.subs.len(Kind::Pattern),
        std::sync::atomic::Ordering::Relaxed,
    );
    ctx.client.replies = Some(replies);
    Frame::Null
}

/// Unsubscribe `names` (all when empty); returns the confirmations.
pub(crate) fn unsubscribe_generic(
    shared: &Shared,
    client: &mut Client,
    names: &[Bytes],
    kind: Kind,
) -> Vec<Frame> {
    let id = client.handle.id;
    let targets: Vec<Bytes> = if names.is_empty() {
        client.subs.names(kind)
    } else {
        names.iter().map(|n| Bytes::copy_from_slice(n)).collect()
    };
    let mut replies = Vec::new();
    for name in targets {
        if client.subs.remove(kind, &name) {
            shared.pubsub.unsubscribe(kind, &name, id);
        }
        let n = client.subs.count(kind);
        replies.push(confirm(kind.unsubscribe_word(), Some(name), n));
    }
    if replies.is_empty() {
        replies.push(confirm(
            kind.unsubscribe_word(),
            None,
            client.subs.count(kind),
        ));
    }
    client.handle.ssubscriptions.store(
        client.subs.len(Kind::Shard),
        std::sync::atomic::Ordering::Relaxed,
    );
    client.handle.subscriptions.store(
        client.subs.len(Kind::Channel),
        std::sync::atomic::Ordering::Relaxed,
    );
    client.handle.psubscriptions.store(
        client.subs.len(Kind::Pattern),
        std::sync::atomic::Ordering::Relaxed,
    );
    replies
}

/// Drop every subscription (RESET, disconnect).
pub(crate) fn unsubscribe_all(shared: &Shared, client: &mut Client) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        if client.subs.len(kind) > 0 {
            unsubscribe_generic(shared, client, &[], kind);
        }
    }
}

fn unsubscribe_cmd(ctx: &mut Ctx<'_, '_>, a: &[Bytes], kind: Kind) -> Frame {
    let replies = unsubscribe_generic(ctx.shared, ctx.client, &a[1..], kind);
    ctx.client.replies = Some(replies);
    Frame::Null
}

/// # Format
/// `SUBSCRIBE channel [channel ...]`
fn subscribe(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    subscribe_generic(ctx, a, Kind::Channel)
}

/// # Format
/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    subscribe_generic(ctx, a, Kind::Pattern)
}

/// # Format
/// `SSUBSCRIBE shardchannel [shardchannel ...]`
fn ssubscribe(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    // Redis lets SUBSCRIBE and PSUBSCRIBE run inside MULTI (for old clients), not SSUBSCRIBE.
    if ctx.in_exec {
        return super::err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    subscribe_generic(ctx, a, Kind::Shard)
}

/// # Format
/// `UNSUBSCRIBE [channel [channel ...]]`
fn unsubscribe(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    unsubscribe_cmd(ctx, a, Kind::Channel)
}

/// # Format
/// `PUNSUBSCRIBE [pattern [pattern ...]]`
fn punsubscribe(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    unsubscribe_cmd(ctx, a, Kind::Pattern)
}

/// # Format
/// `SUNSUBSCRIBE [shardchannel [shardchannel ...]]`
fn sunsubscribe(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    unsubscribe_cmd(ctx, a, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], shard: bool) -> Frame {
    let (n, slow) = ctx
        .shared
        .pubsub
        .publish(shard, &a[1], &a[2], &mut ctx.client.wakes);
    if ctx.shared.log.is_on() || super::monitoring(ctx.shared) {
        let mut note = format!(
            "Delivered {} on {} to {n} subscriber(s)",
            if shard { "smessage" } else { "message" },
            crate::convlog::shown(&a[1]),
        );
        if slow > 0 {
            note.push_str(&format!("; {slow} slow subscriber(s) cut off"));
        }
        ctx.client.log_notes.push(note);
    }
    int(n as i64)
}

/// # Format
/// `PUBLISH channel message`
fn publish(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    publish_generic(ctx, a, false)
}

/// # Format
/// `SPUBLISH shardchannel message`
fn spublish(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    publish_generic(ctx, a, true)
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
/// SHARDNUMSUB [shardchannel ...] | HELP`
fn pubsub(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let reg = &ctx.shared.pubsub;
    match (sub.as_str(), a.len()) {
        ("help", 2) => help_reply(PUBSUB_HELP),
        ("channels", 2 | 3) | ("shardchannels", 2 | 3) => {
            let shard = sub == "shardchannels";
            Frame::Array(
                reg.channels(shard, a.get(2).map(|p| &p[..]))
                    .into_iter()
                    .map(bulk)
                    .collect(),
            )
        }
        ("numsub", _) | ("shardnumsub", _) => {
            let shard = sub == "shardnumsub";
            let mut out = Vec::new();
            for ch in &a[2..] {
                out.push(bulk(ch.clone()));
                out.push(int(reg.numsub(shard, ch) as i64));
            }
            Frame::Array(out)
        }
        ("numpat", 2) => int(reg.numpat() as i64),
        // A subcommand whose table arity passes but that has no form with this many
        // arguments (PUBSUB CHANNELS a b) gets Redis's subcommand syntax error.
        _ => match super::table::lookup_sub("pubsub", &sub) {
            Some(spec) if super::arity_ok(spec.arity, a.len()) => {
                super::conn::subcommand_syntax_error(a)
            }
            Some(spec) => arity_error(spec.name),
            None => unknown_subcommand("pubsub", &a[1]),
        },
    }
}
