//! The command table behind completion, hints and `help`: built from the server's COMMAND
//! DOCS reply (Redis 7 format, RESP2 or RESP3) the way redis-cli builds its help entries, or
//! from a small built-in table when the server cannot say.

use confab_protocol::Frame;

/// One command (or `CONTAINER SUBCOMMAND`) as help shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct CommandDoc {
    /// Upper case, subcommands after a space: `GET`, `CLIENT LIST`.
    pub name: String,
    /// Argument synopsis, e.g. `key value [NX|XX] [GET] ...`.
    pub params: String,
    pub summary: String,
    pub since: String,
    pub group: String,
}

/// All known commands, sorted by name.
#[derive(Clone, Debug, Default)]
pub struct CommandTable {
    pub docs: Vec<CommandDoc>,
}

/// Key/value pairs of a RESP3 map or a RESP2 flat array.
fn pairs(f: &Frame) -> Option<Vec<(&Frame, &Frame)>> {
    match f {
        Frame::Map(p) => Some(p.iter().map(|(k, v)| (k, v)).collect()),
        Frame::Array(a) if a.len() % 2 == 0 => {
            Some(a.chunks(2).map(|kv| (&kv[0], &kv[1])).collect())
        }
        _ => None,
    }
}

fn text(f: &Frame) -> Option<String> {
    f.as_bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// redis-cli's `cliAddArgument`: one argument's synopsis.
fn argument(spec: &Frame) -> String {
    let Some(fields) = pairs(spec) else {
        return String::new();
    };
    let (mut name, mut kind, mut token) = (String::new(), String::new(), None);
    let (mut optional, mut multiple, mut multiple_token) = (false, false, false);
    let mut nested: &[Frame] = &[];
    for (k, v) in fields {
        match text(k).as_deref() {
            Some("name") => name = text(v).unwrap_or_default(),
            Some("type") => kind = text(v).unwrap_or_default(),
            Some("token") => token = text(v),
            Some("arguments") => {
                if let Frame::Array(a) = v {
                    nested = a;
                }
            }
            Some("flags") => {
                if let Frame::Set(fl) | Frame::Array(fl) = v {
                    for f in fl.iter().filter_map(text) {
                        match f.as_str() {
                            "optional" => optional = true,
                            "multiple" => multiple = true,
                            "multiple_token" => multiple_token = true,
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let or_empty = |s: &str| {
        if s.is_empty() {
            "\"\"".to_string()
        } else {
            s.to_string()
        }
    };
    let repeat = match kind.as_str() {
        "oneof" => nested.iter().map(argument).collect::<Vec<_>>().join("|"),
        "block" => nested.iter().map(argument).collect::<Vec<_>>().join(" "),
        "pure-token" => String::new(),
        _ => or_empty(&name),
    };
    let mut token_part = token.map(|t| or_empty(&t)).unwrap_or_default();
    if !token_part.is_empty() && kind != "pure-token" {
        token_part.push(' ');
    }
    let mut out = String::new();
    if optional {
        out.push('[');
    }
    out.push_str(&token_part);
    out.push_str(&repeat);
    if multiple {
        out.push_str(" [");
        if multiple_token {
            out.push_str(&token_part);
        }
        out.push_str(&repeat);
        out.push_str(" ...]");
    }
    if optional {
        out.push(']');
    }
    out
}

fn doc_from_spec(name: String, spec: &Frame, out: &mut Vec<CommandDoc>) {
    let mut doc = CommandDoc {
        name,
        params: String::new(),
        summary: String::new(),
        since: String::new(),
        group: String::new(),
    };
    let mut subs = Vec::new();
    for (k, v) in pairs(spec).unwrap_or_default() {
        match text(k).as_deref() {
            Some("summary") => doc.summary = text(v).unwrap_or_default(),
            Some("since") => doc.since = text(v).unwrap_or_default(),
            Some("group") => doc.group = text(v).unwrap_or_default(),
            Some("arguments") => {
                if let Frame::Array(a) = v {
                    doc.params = a.iter().map(argument).collect::<Vec<_>>().join(" ");
                }
            }
            Some("subcommands") => {
                for (sk, sv) in pairs(v).unwrap_or_default() {
                    if let Some(full) = text(sk) {
                        // "client|list" -> "CLIENT LIST"
                        let sub = full.rsplit('|').next().unwrap_or(&full).to_uppercase();
                        subs.push((format!("{} {sub}", doc.name), sv));
                    }
                }
            }
            _ => {}
        }
    }
    out.push(doc);
    for (n, s) in subs {
        doc_from_spec(n, s, out);
    }
}

/// (name, params, summary, group) for the fallback table.
const BUILTIN: &[(&str, &str, &str, &str)] = &[
    ("APPEND", "key value", "Append a value to a key", "string"),
    ("AUTH", "[username] password", "Authenticate to the server", "connection"),
    ("DBSIZE", "", "Return the number of keys in the selected database", "server"),
    ("DECR", "key", "Decrement the integer value of a key by one", "string"),
    ("DEL", "key [key ...]", "Delete a key", "generic"),
    ("ECHO", "message", "Echo the given string", "connection"),
    ("EXISTS", "key [key ...]", "Determine if a key exists", "generic"),
    ("EXPIRE", "key seconds [NX|XX|GT|LT]", "Set a key's time to live in seconds", "generic"),
    ("GET", "key", "Get the value of a key", "string"),
    ("HDEL", "key field [field ...]", "Delete one or more hash fields", "hash"),
    ("HELLO", "[protover [AUTH username password] [SETNAME clientname]]", "Handshake with the server", "connection"),
    ("HGET", "key field", "Get the value of a hash field", "hash"),
    ("HGETALL", "key", "Get all the fields and values in a hash", "hash"),
    ("HSET", "key field value [field value ...]", "Set the string value of a hash field", "hash"),
    ("INCR", "key", "Increment the integer value of a key by one", "string"),
    ("INCRBYFLOAT", "key increment", "Increment the float value of a key by the given amount", "string"),
    ("INFO", "[section [section ...]]", "Get information and statistics about the server", "server"),
    ("KEYS", "pattern", "Find all keys matching the given pattern", "generic"),
    ("LPUSH", "key element [element ...]", "Prepend one or multiple elements to a list", "list"),
    ("LRANGE", "key start stop", "Get a range of elements from a list", "list"),
    ("MGET", "key [key ...]", "Get the values of all the given keys", "string"),
    ("MSET", "key value [key value ...]", "Set multiple keys to multiple values", "string"),
    ("PING", "[message]", "Ping the server", "connection"),
    ("PSUBSCRIBE", "pattern [pattern ...]", "Listen for messages published to channels matching the given patterns", "pubsub"),
    ("PUBLISH", "channel message", "Post a message to a channel", "pubsub"),
    ("RPUSH", "key element [element ...]", "Append one or multiple elements to a list", "list"),
    ("SADD", "key member [member ...]", "Add one or more members to a set", "set"),
    ("SCAN", "cursor [MATCH pattern] [COUNT count] [TYPE type]", "Incrementally iterate the keys space", "generic"),
    ("SELECT", "index", "Change the selected database for the current connection", "connection"),
    ("SET", "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", "Set the string value of a key", "string"),
    ("SMEMBERS", "key", "Get all the members in a set", "set"),
    ("SSUBSCRIBE", "shardchannel [shardchannel ...]", "Listen for messages published to the given shard channels", "pubsub"),
    ("SUBSCRIBE", "channel [channel ...]", "Listen for messages published to the given channels", "pubsub"),
    ("TTL", "key", "Get the time to live for a key in seconds", "generic"),
    ("TYPE", "key", "Determine the type stored at key", "generic"),
    ("ZADD", "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]", "Add one or more members to a sorted set", "sorted-set"),
    ("ZRANGE", "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]", "Return a range of members in a sorted set", "sorted-set"),
];

impl CommandTable {
    /// From a COMMAND DOCS reply; `None` if it is not a table of commands.
    pub fn from_reply(reply: &Frame) -> Option<CommandTable> {
        let mut docs = Vec::new();
        for (k, v) in pairs(reply)? {
            doc_from_spec(text(k)?.to_uppercase(), v, &mut docs);
        }
        if docs.is_empty() {
            return None;
        }
        docs.sort_by(|a, b| a.name.cmp(&b.name));
        Some(CommandTable { docs })
    }

    /// The fallback table shipped with the cli.
    pub fn builtin() -> CommandTable {
        CommandTable {
            docs: BUILTIN
                .iter()
                .map(|&(name, params, summary, group)| CommandDoc {
                    name: name.into(),
                    params: params.into(),
                    summary: summary.into(),
                    since: String::new(),
                    group: group.into(),
                })
                .collect(),
        }
    }

    /// The entry for the typed words: `CLIENT LIST` before `CLIENT`; case-insensitive.
    pub fn find(&self, words: &[&str]) -> Option<&CommandDoc> {
        if words.len() >= 2 {
            let two = format!("{} {}", words[0], words[1]).to_uppercase();
            if let Some(d) = self.docs.iter().find(|d| d.name == two) {
                return Some(d);
            }
        }
        let one = words.first()?.to_uppercase();
        self.docs.iter().find(|d| d.name == one)
    }

    /// Names starting with `prefix` (case-insensitive), in order.
    pub fn complete(&self, prefix: &str) -> Vec<&str> {
        let p = prefix.to_uppercase();
        self.docs
            .iter()
            .filter(|d| d.name.starts_with(&p))
            .map(|d| d.name.as_str())
            .collect()
    }

    /// redis-cli's hint: the synopsis minus the arguments already typed; `None` if the
    /// first word is not a known command.
    pub fn hint(&self, line: &str) -> Option<String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let doc = self.find(&words)?;
        let cmd_words = doc.name.split(' ').count();
        if words.len() < cmd_words {
            return None;
        }
        let mut hint = doc.params.as_str();
        let mut to_remove = words.len() - cmd_words;
        while to_remove > 0 && !hint.is_empty() {
            if hint.starts_with('[') {
                break;
            }
            if hint.starts_with(' ') {
                to_remove -= 1;
            }
            hint = &hint[1..];
        }
        if hint.is_empty() {
            return None;
        }
        let ends_with_space = line.ends_with(char::is_whitespace);
        Some(if ends_with_space {
            hint.to_string()
        } else {
            format!(" {hint}")
        })
    }

    /// The text of `help`, `help <command>` or `help @<group>`.
    pub fn help(&self, topic: &[String]) -> String {
        if topic.is_empty() {
            return format!(
                "confab cli {}\n\
                 To get help about a command:\n\
                 \x20     \"help <command>\" for help on <command> (e.g. help SET)\n\
                 \x20     \"help @<group>\" to list the commands in <group> (e.g. help @string)\n\
                 \x20     \"help <tab>\" to complete a command name\n\
                 To leave: \"exit\", \"quit\" or Ctrl+D.\n\
                 {} commands known; groups: {}\n",
                env!("CARGO_PKG_VERSION"),
                self.docs.len(),
                self.groups().join(", ")
            );
        }
        if let Some(group) = topic[0].strip_prefix('@') {
            let mut out = String::new();
            for d in self
                .docs
                .iter()
                .filter(|d| d.group.eq_ignore_ascii_case(group))
            {
                out.push_str(&entry(d, false));
            }
            return if out.is_empty() {
                format!("no commands in group '{group}'\n")
            } else {
                out
            };
        }
        let words: Vec<&str> = topic.iter().map(String::as_str).collect();
        match self.find(&words) {
            Some(d) => entry(d, true),
            None => format!("no help for '{}'\n", topic.join(" ")),
        }
    }

    fn groups(&self) -> Vec<&str> {
        let mut g: Vec<&str> = self
            .docs
            .iter()
            .map(|d| d.group.as_str())
            .filter(|g| !g.is_empty())
            .collect();
        g.sort_unstable();
        g.dedup();
        g
    }
}

/// redis-cli's `cliOutputCommandHelp`, without colors.
fn entry(d: &CommandDoc, with_group: bool) -> String {
    let mut out = format!("\n  {} {}\n  summary: {}\n", d.name, d.params, d.summary);
    if !d.since.is_empty() {
        out.push_str(&format!("  since: {}\n", d.since));
    }
    if with_group {
        out.push_str(&format!("  group: {}\n", d.group));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::bulk(s.to_string())
    }

    fn map(kv: Vec<(&str, Frame)>) -> Frame {
        Frame::Map(kv.into_iter().map(|(k, v)| (bulk(k), v)).collect())
    }

    fn set_docs() -> Frame {
        let flags = |f: &str| Frame::Set(vec![Frame::simple(f.to_string())]);
        let token = |name: &str, tok: &str| {
            map(vec![
                ("name", bulk(name)),
                ("type", bulk("pure-token")),
                ("token", bulk(tok)),
            ])
        };
        map(vec![(
            "set",
            map(vec![
                ("summary", bulk("Set the string value of a key")),
                ("since", bulk("1.0.0")),
                ("group", bulk("string")),
                (
                    "arguments",
                    Frame::Array(vec![
                        map(vec![("name", bulk("key")), ("type", bulk("key"))]),
                        map(vec![("name", bulk("value")), ("type", bulk("string"))]),
                        map(vec![
                            ("name", bulk("condition")),
                            ("type", bulk("oneof")),
                            ("flags", flags("optional")),
                            (
                                "arguments",
                                Frame::Array(vec![token("nx", "NX"), token("xx", "XX")]),
                            ),
                        ]),
                        map(vec![
                            ("name", bulk("seconds")),
                            ("type", bulk("integer")),
                            ("token", bulk("EX")),
                            ("flags", flags("optional")),
                        ]),
                    ]),
                ),
            ]),
        )])
    }

    #[test]
    fn synopsis_like_redis_cli() {
        let t = CommandTable::from_reply(&set_docs()).unwrap();
        assert_eq!(t.docs[0].name, "SET");
        assert_eq!(t.docs[0].params, "key value [NX|XX] [EX seconds]");
        assert!(t
            .help(&["set".into()])
            .contains("summary: Set the string value"));
    }

    #[test]
    fn hints_drop_typed_arguments() {
        let t = CommandTable::from_reply(&set_docs()).unwrap();
        assert_eq!(
            t.hint("set").as_deref(),
            Some(" key value [NX|XX] [EX seconds]")
        );
        assert_eq!(
            t.hint("SET k ").as_deref(),
            Some("value [NX|XX] [EX seconds]")
        );
        assert_eq!(t.hint("nope "), None);
        assert_eq!(t.complete("se"), vec!["SET"]);
    }

    #[test]
    fn builtin_has_the_basics() {
        let t = CommandTable::builtin();
        assert_eq!(t.complete("HGETA"), vec!["HGETALL"]);
        assert!(t.find(&["get"]).is_some());
    }
}
