//! Turning replies into text: redis-cli's human format (`cliFormatReplyTTY`), its `--raw`
//! format (`cliFormatReplyRaw`), and one-line JSON. Pure functions over [`Frame`]; printing
//! belongs to the session.

use confab_protocol::{format_double, Frame};
use serde_json::{Map, Number, Value};

/// How replies are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// redis-cli's default terminal format.
    Human,
    /// redis-cli --raw.
    Raw,
    /// One JSON value per reply.
    Json,
}

/// The complete text printed for one reply, trailing newline included.
pub fn render(f: &Frame, mode: OutputMode) -> Vec<u8> {
    match mode {
        OutputMode::Human => human(f),
        OutputMode::Raw => {
            let mut out = Vec::new();
            raw(f, &mut out);
            out.push(b'\n');
            out
        }
        OutputMode::Json => {
            let mut out = serde_json::to_vec(&json(f)).unwrap_or_default();
            out.push(b'\n');
            out
        }
    }
}

/// redis-cli's terminal format.
pub fn human(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    tty(f, "", &mut out);
    out
}

/// redis-cli's `sdscatrepr`: a double-quoted string with C-style escapes.
pub fn repr(b: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in b {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Array,
    Set,
    Map,
    Push,
}

fn tty(f: &Frame, prefix: &str, out: &mut Vec<u8>) {
    match f {
        Frame::Raw(r) => tty(&Frame::decode_raw(r), prefix, out),
        Frame::Error(e) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Frame::Simple(s) => {
            out.extend_from_slice(s);
            out.push(b'\n');
        }
        Frame::Integer(n) => out.extend_from_slice(format!("(integer) {n}\n").as_bytes()),
        Frame::Double(d) => {
            out.extend_from_slice(format!("(double) {}\n", format_double(*d)).as_bytes())
        }
        Frame::Bulk(b) => {
            repr(b, out);
            out.push(b'\n');
        }
        Frame::Verbatim { text, .. } => {
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::BigNumber(b) => {
            out.extend_from_slice(b"(big number) ");
            out.extend_from_slice(b);
            out.push(b'\n');
        }
        Frame::Null | Frame::NullArray => out.extend_from_slice(b"(nil)\n"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Frame::Array(items) => {
            aggregate(Kind::Array, &items.iter().collect::<Vec<_>>(), prefix, out)
        }
        Frame::Set(items) => aggregate(Kind::Set, &items.iter().collect::<Vec<_>>(), prefix, out),
        Frame::Push(items) => aggregate(Kind::Push, &items.iter().collect::<Vec<_>>(), prefix, out),
        Frame::Map(pairs) => {
            let flat: Vec<&Frame> = pairs.iter().flat_map(|(k, v)| [k, v]).collect();
            aggregate(Kind::Map, &flat, prefix, out)
        }
    }
}

/// redis-cli's `cliIsMultilineValueTTY`.
fn multiline(f: &Frame) -> bool {
    match f {
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => match v.len() {
            0 => false,
            1 => multiline(&v[0]),
            _ => true,
        },
        Frame::Map(p) => match p.len() {
            0 => false,
            1 => multiline(&p[0].1),
            _ => true,
        },
        _ => false,
    }
}

fn aggregate(kind: Kind, elems: &[&Frame], prefix: &str, out: &mut Vec<u8>) {
    if elems.is_empty() {
        out.extend_from_slice(match kind {
            Kind::Array => b"(empty array)\n".as_slice(),
            Kind::Map => b"(empty hash)\n",
            Kind::Set => b"(empty set)\n",
            Kind::Push => b"(empty push)\n",
        });
        return;
    }
    let count = if kind == Kind::Map {
        elems.len() / 2
    } else {
        elems.len()
    };
    let idxlen = count.to_string().len();
    let child = format!("{prefix}{}", " ".repeat(idxlen + 2));
    let sep = match kind {
        Kind::Set => '~',
        Kind::Map => '#',
        Kind::Array | Kind::Push => ')',
    };
    let mut i = 0;
    while i < elems.len() {
        let idx = if kind == Kind::Map { i / 2 } else { i } + 1;
        let lead = if i == 0 { "" } else { prefix };
        out.extend_from_slice(format!("{lead}{idx:>idxlen$}{sep} ").as_bytes());
        tty(elems[i], &child, out);
        if kind == Kind::Map {
            i += 1;
            out.pop();
            out.extend_from_slice(b" => ");
            if let Some(v) = elems.get(i) {
                if multiline(v) {
                    out.push(b'\n');
                    out.extend_from_slice(child.as_bytes());
                }
                tty(v, &child, out);
            } else {
                out.push(b'\n');
            }
        }
        i += 1;
    }
}

/// redis-cli's `cliFormatReplyRaw` (without the final newline).
fn raw(f: &Frame, out: &mut Vec<u8>) {
    match f {
        Frame::Raw(r) => raw(&Frame::decode_raw(r), out),
        Frame::Null | Frame::NullArray => {}
        Frame::Error(e) => {
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Frame::Simple(b) | Frame::Bulk(b) | Frame::BigNumber(b) => out.extend_from_slice(b),
        Frame::Verbatim { text, .. } => out.extend_from_slice(text),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => out.extend_from_slice(format_double(*d).as_bytes()),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(item, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(k, out);
                out.push(b' ');
                raw(v, out);
            }
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The JSON value of a reply (mapping documented in `confab cli --help`).
pub fn json(f: &Frame) -> Value {
    match f {
        Frame::Raw(r) => json(&Frame::decode_raw(r)),
        Frame::Simple(b) | Frame::Bulk(b) | Frame::BigNumber(b) => Value::String(text(b)),
        Frame::Verbatim { text: t, .. } => Value::String(text(t)),
        Frame::Error(e) => {
            let mut m = Map::new();
            m.insert("error".into(), Value::String(text(e)));
            Value::Object(m)
        }
        Frame::Integer(n) => Value::Number((*n).into()),
        Frame::Double(d) => match Number::from_f64(*d) {
            Some(n) => Value::Number(n),
            None => Value::String(format_double(*d)),
        },
        Frame::Boolean(b) => Value::Bool(*b),
        Frame::Null | Frame::NullArray => Value::Null,
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            Value::Array(items.iter().map(json).collect())
        }
        Frame::Map(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                let key = match json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(key, json(v));
            }
            Value::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(f: &Frame) -> String {
        String::from_utf8(human(f)).unwrap()
    }

    #[test]
    fn scalars_like_redis_cli() {
        assert_eq!(h(&Frame::Integer(5)), "(integer) 5\n");
        assert_eq!(h(&Frame::Null), "(nil)\n");
        assert_eq!(h(&Frame::error("ERR x")), "(error) ERR x\n");
        assert_eq!(h(&Frame::ok()), "OK\n");
        assert_eq!(
            h(&Frame::bulk(&b"a\x01b\tc\"\\"[..])),
            "\"a\\x01b\\tc\\\"\\\\\"\n"
        );
        assert_eq!(h(&Frame::Double(1.5)), "(double) 1.5\n");
        assert_eq!(h(&Frame::Boolean(false)), "(false)\n");
        assert_eq!(h(&Frame::BigNumber("123".into())), "(big number) 123\n");
        assert_eq!(h(&Frame::verbatim_txt("a\nb")), "a\nb\n");
    }

    #[test]
    fn aggregates_like_redis_cli() {
        // Output of redis-cli 7.0.15 for EVAL "return {1,{2,{3,'x'}},{},'y',{1..11}}".
        let eleven = Frame::Array((1..=11).map(Frame::Integer).collect());
        let f = Frame::Array(vec![
            Frame::Integer(1),
            Frame::Array(vec![
                Frame::Integer(2),
                Frame::Array(vec![Frame::Integer(3), Frame::bulk("x")]),
            ]),
            Frame::Array(vec![]),
            Frame::bulk("y"),
            eleven,
        ]);
        let want = "1) (integer) 1\n2) 1) (integer) 2\n   2) 1) (integer) 3\n      2) \"x\"\n3) (empty array)\n4) \"y\"\n5)  1) (integer) 1\n    2) (integer) 2\n    3) (integer) 3\n    4) (integer) 4\n    5) (integer) 5\n    6) (integer) 6\n    7) (integer) 7\n    8) (integer) 8\n    9) (integer) 9\n   10) (integer) 10\n   11) (integer) 11\n";
        assert_eq!(h(&f), want);
        let m = Frame::Map(vec![
            (Frame::bulk("a"), Frame::Integer(1)),
            (
                Frame::bulk("b"),
                Frame::Array(vec![Frame::bulk("x"), Frame::bulk("y")]),
            ),
        ]);
        assert_eq!(
            h(&m),
            "1# \"a\" => (integer) 1\n2# \"b\" => \n   1) \"x\"\n   2) \"y\"\n"
        );
        assert_eq!(h(&Frame::Set(vec![Frame::bulk("a")])), "1~ \"a\"\n");
        assert_eq!(h(&Frame::Map(vec![])), "(empty hash)\n");
        assert_eq!(h(&Frame::Set(vec![])), "(empty set)\n");
    }

    #[test]
    fn raw_and_json() {
        let m = Frame::Map(vec![(Frame::bulk("f"), Frame::bulk("v"))]);
        assert_eq!(render(&m, OutputMode::Raw), b"f v\n");
        assert_eq!(
            render(&Frame::error("ERR x"), OutputMode::Raw),
            b"ERR x\n\n"
        );
        assert_eq!(render(&Frame::Null, OutputMode::Raw), b"\n");
        assert_eq!(render(&m, OutputMode::Json), b"{\"f\":\"v\"}\n");
        assert_eq!(
            render(&Frame::Double(f64::INFINITY), OutputMode::Json),
            b"\"inf\"\n"
        );
        assert_eq!(
            render(&Frame::error("ERR x"), OutputMode::Json),
            b"{\"error\":\"ERR x\"}\n"
        );
    }
}
