#!/usr/bin/env python3
"""Generate crates/server/src/cmd/table.rs from Redis 7.0's command JSON files.

Usage: tools/gen_table.py [COMMANDS_DIR] [-o OUTPUT]

COMMANDS_DIR defaults to /tmp/r7/src/commands (redis-7.0.15/src/commands).
tools/commands-extra/*.json adds what confab serves ahead of Redis 7.0 (CLIENT
SETINFO, from Redis 7.2's JSON).
OUTPUT defaults to crates/server/src/cmd/table.rs in this repository; only its
block between the BEGIN/END GENERATED markers is rewritten (the types, reply
builders and tests around it are written by hand), then rustfmt is run on it
when rustfmt is on PATH.

The transformation mirrors what redis-server 7.0 does to the same files
(utils/generate-command-code.py plus server.c at start-up), so that the
static table replies to COMMAND INFO / COMMAND DOCS exactly as Redis does:
  * flags, ACL categories and key-spec flags are kept in the order Redis
    prints them; implicit ACL categories (@write, @read, @admin,
    @dangerous, @pubsub, @fast, @blocking, @slow) are added as in
    setImplicitACLCategories();
  * the legacy (first, last, step) triple and the "movablekeys" flag are
    derived from the key specs as in populateCommandLegacyRangeSpec();
  * tips and argument names are lowercased and argument tokens uppercased,
    as the generated commands.c has them;
  * SENTINEL / ONLY_SENTINEL flags are dropped (confab has no sentinel mode).
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys

# The commands confab implements, top level; containers bring all their
# subcommands.
SCOPE = """
GET SET SETNX SETEX PSETEX MGET MSET MSETNX GETSET GETDEL GETEX APPEND STRLEN
GETRANGE SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT SUBSTR LCS
SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO
DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
PEXPIRETIME PERSIST RENAME RENAMENX KEYS SCAN RANDOMKEY DBSIZE FLUSHDB FLUSHALL
SELECT SWAPDB MOVE COPY TOUCH OBJECT
MULTI EXEC DISCARD WATCH UNWATCH
PING ECHO HELLO AUTH QUIT RESET CLIENT
INFO COMMAND CONFIG TIME SHUTDOWN MONITOR MEMORY ROLE SLOWLOG WAIT LASTSAVE
LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM
LPOS LMOVE RPOPLPUSH LMPOP BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP
SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB SSUBSCRIBE
SUNSUBSCRIBE SPUBLISH
XADD XLEN XRANGE XREVRANGE XREAD XDEL XTRIM XINFO XSETID
XGROUP XREADGROUP XACK XPENDING XCLAIM XAUTOCLAIM
HSET HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HKEYS HVALS HINCRBY HINCRBYFLOAT
HSETNX HSTRLEN HRANDFIELD HSCAN
SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SINTER SINTERCARD
SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SMOVE SSCAN
ZADD ZINCRBY ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZREM
ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZRANGE ZRANGESTORE ZREVRANGE
ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP
ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZUNION ZINTER ZDIFF ZINTERCARD ZRANDMEMBER ZSCAN
BZPOPMIN BZPOPMAX BZMPOP
SORT SORT_RO
""".split()

# addReplyFlagsForCommand() order. Hidden flags (which COMMAND INFO does not
# print, see HIDDEN_FLAGS in table.rs) sit where server.h declares them.
FLAG_ORDER = [
    "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
    "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
    "fast", "no_auth", "may_replicate", "no_mandatory_keys", "protected",
    "no_async_loading", "no_multi", "movablekeys", "allow_busy",
    "touches_arbitrary_keys",
]
DROPPED_FLAGS = {"sentinel", "only_sentinel"}

# ACLCommandCategories[] order (acl.c).
ACL_ORDER = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
    "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast",
    "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
]

# addReplyFlagsForKeyArgs() order and spelling.
KEY_FLAG_ORDER = [
    "RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY",
    "INCOMPLETE", "VARIABLE_FLAGS",
]

DOC_FLAG_ORDER = ["DEPRECATED", "SYSCMD"]


MAX_WIDTH = 100


def rs(s):
    """A Rust string literal."""
    return json.dumps(s, ensure_ascii=False)


# Rust expressions are built as small trees and laid out by `layout`, close
# to rustfmt's style. The generated statics are #[rustfmt::skip]: rustfmt
# gives up on any item holding a string literal wider than a line (most of
# the table) and would lay out the others differently.
class Call:
    def __init__(self, func, args, chain=()):
        self.func, self.args, self.chain = func, list(args), list(chain)

    def then(self, method, *args):
        self.chain.append((method, list(args)))
        return self


class Array:
    def __init__(self, items, prefix="&[", suffix="]"):
        self.items, self.prefix, self.suffix = list(items), prefix, suffix


def tuple_of(items):
    return Array(items, "(", ")")


def strs(items):
    return Array([rs(x) for x in items])


def flat(e):
    if isinstance(e, str):
        return e
    if isinstance(e, Array):
        return e.prefix + ", ".join(flat(x) for x in e.items) + e.suffix
    return flat_call(e) + "".join(".%s(%s)" % (m, ", ".join(a)) for m, a in e.chain)


def flat_call(e):
    return "%s(%s)" % (e.func, ", ".join(flat(x) for x in e.args))


def block_lines(items, indent):
    pad = " " * (indent + 4)
    return "".join("%s%s,\n" % (pad, layout(x, indent + 4, indent + 4, 1)) for x in items)


def layout(e, col, indent, tail):
    """`e` starting at column `col`, continuation lines at `indent`, with
    `tail` characters (a comma) after it on its last line."""
    one_line = flat(e)
    if isinstance(e, str) or col + len(one_line) + tail <= MAX_WIDTH:
        return one_line
    if isinstance(e, Array):
        return "%s\n%s%s%s" % (e.prefix, block_lines(e.items, indent), " " * indent, e.suffix)
    chain = ["." + flat(Call(m, a)) for m, a in e.chain]
    head = flat_call(e)
    if col + len(head) <= MAX_WIDTH:
        # The call fits and its method chain does not: one method a line.
        return head + "".join("\n%s%s" % (" " * (indent + 4), c) for c in chain)
    first = ", ".join(flat(x) for x in e.args[:-1])
    last = e.args[-1] if e.args else None
    opening = "%s(%s%s" % (e.func, first + ", " if first else "", "&[")
    if isinstance(last, Array) and last.prefix == "&[" and col + len(opening) <= MAX_WIDTH:
        # Overflow the trailing array: `oneof("name", &[ ... ])`.
        head = opening + "\n" + block_lines(last.items, indent) + " " * indent + "])"
    else:
        head = "%s(\n%s%s)" % (e.func, block_lines(e.args, indent), " " * indent)
    return head + "".join("\n%s%s" % (" " * indent, c) for c in chain)


def ordered(items, order, key=lambda x: x):
    for x in items:
        if key(x) not in order:
            sys.exit("unknown flag %r" % x)
    return sorted(items, key=lambda x: order.index(key(x)))


def load(commands_dir):
    """All commands keyed by (container, name), both lowercase."""
    table = {}
    for path in sorted(pathlib.Path(commands_dir).glob("*.json")):
        with open(path, encoding="utf-8") as f:
            for name, cmd in json.load(f).items():
                table[(cmd.get("container", "").lower(), name.lower())] = cmd
    return table


def legacy_range(specs):
    """populateCommandLegacyRangeSpec(): ((first, last, step), movablekeys)."""

    def is_range(s):
        return "index" in s["begin_search"] and "range" in s["find_keys"]

    def as_int(u):
        u &= 0xFFFFFFFF
        return u - (1 << 32) if u & 0x80000000 else u

    if not specs:
        return (0, 0, 0), False
    if len(specs) == 1 and is_range(specs[0]):
        s = specs[0]
        pos = s["begin_search"]["index"]["pos"]
        rng = s["find_keys"]["range"]
        last = rng["lastkey"] + pos if rng["lastkey"] >= 0 else rng["lastkey"]
        return (pos, last, rng["step"]), "INCOMPLETE" in s["flags"]

    movable = False
    first, last, prev = None, 0, 0
    for s in specs:
        if not is_range(s):
            movable = True
            continue
        pos = s["begin_search"]["index"]["pos"]
        rng = s["find_keys"]["range"]
        if rng["step"] != 1 or (prev and prev != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s["flags"]:
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = rng["lastkey"] + pos if rng["lastkey"] >= 0 else rng["lastkey"]
        # Redis compares as unsigned so that a negative (from the end) wins.
        last = as_int(max(last & 0xFFFFFFFF, abs_last & 0xFFFFFFFF))
        prev = last
    if first is None:
        return (0, 0, 0), True
    return (first, last, 1), movable


def key_spec_rs(spec):
    flags = [
        f if f in ("RO", "RW", "OW", "RM") else f.lower()
        for f in ordered(spec["flags"], KEY_FLAG_ORDER)
    ]
    bs = spec["begin_search"]
    if "index" in bs:
        bs_rs = "BeginSearch::Index(%d)" % bs["index"]["pos"]
    elif "keyword" in bs:
        kw = bs["keyword"]
        bs_rs = "BeginSearch::Keyword(%s, %d)" % (rs(kw["keyword"]), kw["startfrom"])
    else:
        bs_rs = "BeginSearch::Unknown"
    fk = spec["find_keys"]
    if "range" in fk:
        r = fk["range"]
        fk_rs = "FindKeys::Range(%d, %d, %d)" % (r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        fk_rs = "FindKeys::Keynum(%d, %d, %d)" % (k["keynumidx"], k["firstkey"], k["step"])
    else:
        fk_rs = "FindKeys::Unknown"
    out = Call("KeySpec::new", [strs(flags), bs_rs, fk_rs])
    if spec.get("notes"):
        out.then("notes", rs(spec["notes"]))
    return out


def arg_rs(arg):
    kind = arg["type"]
    name = rs(arg["name"].lower())
    token = arg.get("token")
    if token is not None:
        token = token.upper()
    if kind == "pure-token" and token is not None:
        out = Call("pure_token", [name, rs(token)])
        token = None
    elif kind in ("oneof", "block"):
        out = Call(kind, [name, Array(arg_rs(a) for a in arg.get("arguments", []))])
    else:
        out = Call("arg", [name, rs(kind)])
    if "key_spec_index" in arg:
        out.then("key_spec", str(arg["key_spec_index"]))
    if token is not None:
        out.then("token", rs(token))
    for field in ("summary", "since", "deprecated_since"):
        if arg.get(field) is not None:
            out.then(field, rs(arg[field]))
    for flag in ("optional", "multiple", "multiple_token"):
        if arg.get(flag):
            out.then(flag)
    return out


def command_rs(full_name, cmd, subs_static, indent):
    """A `CommandSpec { .. }` literal whose first line is at `indent`."""
    # Redis keeps flags in a bit mask, so a repeated one (XREAD's BLOCKING)
    # counts once.
    flags = list({f.lower() for f in cmd.get("command_flags", [])} - DROPPED_FLAGS)
    specs = cmd.get("key_specs", [])
    (first, last, step), movable = legacy_range(specs)
    if movable:
        flags.append("movablekeys")
    flags = ordered(flags, FLAG_ORDER)

    # setImplicitACLCategories()
    acl = {c.lower() for c in cmd.get("acl_categories", [])}
    if "write" in flags:
        acl.add("write")
    if "readonly" in flags and "scripting" not in acl:
        acl.add("read")
    if "admin" in flags:
        acl |= {"admin", "dangerous"}
    if "pubsub" in flags:
        acl.add("pubsub")
    if "fast" in flags:
        acl.add("fast")
    if "blocking" in flags:
        acl.add("blocking")
    if "fast" not in acl:
        acl.add("slow")
    acl = ["@" + c for c in ordered(list(acl), ACL_ORDER)]

    fields = [("name", rs(full_name)), ("arity", str(cmd["arity"]))]
    if flags:
        fields.append(("flags", strs(flags)))
    if (first, last, step) != (0, 0, 0):
        fields += [("first_key", str(first)), ("last_key", str(last)), ("step", str(step))]
    fields.append(("acl_categories", strs(acl)))
    tips = [t.lower() for t in cmd.get("command_tips", [])]
    if tips:
        fields.append(("tips", strs(tips)))
    if specs:
        fields.append(("key_specs", Array(key_spec_rs(s) for s in specs)))
    fields += [
        ("group", rs(cmd["group"])),
        ("summary", rs(cmd.get("summary", ""))),
        ("since", rs(cmd.get("since", ""))),
    ]
    if cmd.get("complexity"):
        fields.append(("complexity", rs(cmd["complexity"])))
    doc_flags = [f.lower() for f in ordered(cmd.get("doc_flags", []), DOC_FLAG_ORDER)]
    if doc_flags:
        fields.append(("doc_flags", strs(doc_flags)))
    for field in ("deprecated_since", "replaced_by"):
        if cmd.get(field) is not None:
            fields.append((field, "Some(%s)" % rs(cmd[field])))
    if cmd.get("history"):
        history = Array(tuple_of([rs(v), rs(c)]) for v, c in cmd["history"])
        fields.append(("history", history))
    if cmd.get("arguments"):
        fields.append(("args", Array(arg_rs(a) for a in cmd["arguments"])))
    if subs_static:
        fields.append(("subcommands", subs_static))

    pad = " " * (indent + 4)
    body = ""
    for name, value in fields:
        col = indent + 4 + len(name) + 2
        body += "%s%s: %s,\n" % (pad, name, layout(value, col, indent + 4, 1))
    return "CommandSpec {\n%s%s..CommandSpec::EMPTY\n%s}" % (body, pad, " " * indent)


BEGIN_MARK = "// BEGIN GENERATED by tools/gen_table.py"
END_MARK = "// END GENERATED"


def main():
    repo = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commands_dir", nargs="?", default="/tmp/r7/src/commands")
    parser.add_argument("-o", "--output", default=str(repo / "crates/server/src/cmd/table.rs"))
    opts = parser.parse_args()

    table = load(opts.commands_dir)
    # Commands confab serves ahead of Redis 7.0 (CLIENT SETINFO, from Redis 7.2's JSON).
    table.update(load(pathlib.Path(__file__).resolve().parent / "commands-extra"))
    names = sorted({n.lower() for n in SCOPE})
    statics = []
    entries = []
    for name in names:
        cmd = table.get(("", name))
        if cmd is None:
            sys.exit("no JSON for command %r" % name)
        subs = sorted(sub for (container, sub) in table if container == name)
        subs_static = None
        if subs:
            subs_static = "%s_SUBCOMMANDS" % name.upper()
            body = "".join(
                "    %s,\n" % command_rs("%s|%s" % (name, s), table[(name, s)], None, 4)
                for s in subs
            )
            statics.append(
                "/// Subcommands of %s.\n#[rustfmt::skip]\nstatic %s: &[CommandSpec] = &[\n%s];\n"
                % (name.upper(), subs_static, body)
            )
        entries.append("    %s,\n" % command_rs(name, cmd, subs_static, 4))

    generated = "/// Every top-level command confab implements, sorted by name.\n"
    generated += "// Laid out by tools/gen_table.py: rustfmt gives up on its long strings.\n"
    generated += "#[rustfmt::skip]\n"
    generated += "pub(crate) static COMMANDS: &[CommandSpec] = &[\n%s];\n\n" % "".join(entries)
    generated += "\n".join(statics)

    # Only the block between the markers is generated; the types, reply
    # builders and tests around it are written by hand in table.rs.
    with open(opts.output, encoding="utf-8") as f:
        current = f.read()
    begin = current.find(BEGIN_MARK)
    end = current.find(END_MARK)
    if begin < 0 or end < begin:
        sys.exit("%s: no %r ... %r block to replace" % (opts.output, BEGIN_MARK, END_MARK))
    begin = current.index("\n", begin) + 1
    out = current[:begin] + "\n" + generated + "\n" + current[end:]

    with open(opts.output, "w", encoding="utf-8") as f:
        f.write(out)
    rustfmt = shutil.which("rustfmt")
    if rustfmt:
        subprocess.run([rustfmt, "--edition", "2021", opts.output], check=True)
    else:
        print("rustfmt not found; not run", file=sys.stderr)


if __name__ == "__main__":
    main()
