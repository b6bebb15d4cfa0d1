//! SORT and SORT_RO: the elements of a list, set or sorted set, sorted numerically or
//! lexically, by themselves or by weights read from other keys (`BY weight_*`,
//! `BY hash_*->field`), with `LIMIT`, `GET` patterns and `STORE`.
//!
//! Replies and errors follow Redis 7.0's sort.c. The patterns name keys only known once the
//! elements are read, so both commands lock every shard of the database (as KEYS does).
//! Differences: lexical order is byte order (Redis uses `strcoll`, the same under the C
//! locale), and elements with equal weights keep their input order where Redis's `qsort`
//! leaves them in an unspecified one.

use std::cmp::Ordering;

use bytes::Bytes;
use confab_protocol::Frame;

use super::{err, int, parse_i64, syntax, wrongtype, Ctx, Handler, Plan, NOT_INTEGER};
use crate::db::{Entry, Value};
use crate::notify;

pub(crate) const COMMANDS: &[(&str, Handler, Plan)] =
    &[("sort", sort, Plan::Db), ("sort_ro", sort_ro, Plan::Db)];

/// # Format
/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]`
fn sort(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    sort_generic(ctx, a, false)
}

/// # Format
/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]`
fn sort_ro(ctx: &mut Ctx<'_, '_>, a: &[Bytes]) -> Frame {
    sort_generic(ctx, a, true)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` takes
/// the element and the key's string value is read, or with `->field` after the `*` that
/// field of the hash. `None` for a missing key, another type, or a pattern without `*`.
fn by_pattern(ctx: &mut Ctx<'_, '_>, pattern: &[u8], elem: &[u8]) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(Bytes::copy_from_slice(elem));
    }
    let star = memchr::memchr(b'*', pattern)?;
    let after = &pattern[star + 1..];
    let (suffix, field) = match memchr::memmem::find(after, b"->") {
        Some(i) if i + 2 < after.len() => (&after[..i], Some(&after[i + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + suffix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(suffix);
    let now = ctx.now;
    let entry = ctx.shard(&key).get(&key, now)?;
    match (&entry.value, field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(f)) => h.get(f).cloned(),
        _ => None,
    }
}

/// C's `strtod` as SORT applies it to a weight: the whole string (to a NUL), no overflow,
/// not NaN; an empty string is 0.
fn weight(b: &[u8]) -> Option<f64> {
    let b = &b[..memchr::memchr(0, b).unwrap_or(b.len())];
    if b.is_empty() {
        return Some(0.0);
    }
    let s = std::str::from_utf8(b).ok()?;
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let v = super::zsets::parse_score(t.as_bytes())?;
    Some(v)
}

struct Item {
    elem: Bytes,
    score: f64,
    /// The BY value for ALPHA sorts by pattern (`None`: its key is missing).
    by: Option<Bytes>,
}

fn sort_generic(ctx: &mut Ctx<'_, '_>, a: &[Bytes], readonly: bool) -> Frame {
    let (mut desc, mut alpha) = (false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sortby: Option<Bytes> = None;
    let mut dontsort = false;
    let mut store: Option<Bytes> = None;
    let mut gets: Vec<Bytes> = Vec::new();
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let o = &a[j];
        if super::eq_ic(o, "asc") {
            desc = false;
        } else if super::eq_ic(o, "desc") {
            desc = true;
        } else if super::eq_ic(o, "alpha") {
            alpha = true;
        } else if super::eq_ic(o, "limit") && left >= 2 {
            let (Some(s), Some(c)) = (parse_i64(&a[j + 1]), parse_i64(&a[j + 2])) else {
                return err(NOT_INTEGER);
            };
            limit_start = s;
            limit_count = c;
            j += 2;
        } else if !readonly && super::eq_ic(o, "store") && left >= 1 {
            store = Some(a[j + 1].clone());
            j += 1;
        } else if super::eq_ic(o, "by") && left >= 1 {
            let p = a[j + 1].clone();
            // A constant pattern (no `*`) means "do not sort".
            dontsort = memchr::memchr(b'*', &p).is_none();
            sortby = Some(p);
            j += 1;
        } else if super::eq_ic(o, "get") && left >= 1 {
            gets.push(a[j + 1].clone());
            j += 1;
        } else {
            return syntax();
        }
        j += 1;
    }

    // The elements, in their own order.
    let now = ctx.now;
    let (kind, elems): (&str, Vec<Bytes>) = match ctx.shard(&a[1]).get(&a[1], now) {
        None => ("list", Vec::new()),
        Some(Entry { value, .. }) => match value {
            Value::List(l) => ("list", l.iter().map(|k| k.to_bytes()).collect()),
            Value::Set(s) => ("set", super::sets::ordered(s)),
            Value::ZSet(z) => ("zset", z.iter().map(|(_, m)| m.to_bytes()).collect()),
            _ => return wrongtype(),
        },
    };
    if dontsort && kind == "set" && store.is_some() {
        // Redis sorts a set that is stored without an order, so the result is the same on
        // every server.
        dontsort = false;
        alpha = true;
        sortby = None;
    }

    let len = elems.len() as i64;
    let mut start = limit_start.max(0).min(len);
    let count = limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            by: None,
        })
        .collect();
    if dontsort {
        // Lists and sorted sets keep their order, reversed by DESC.
        if desc && kind != "set" {
            items.reverse();
        }
    } else {
        let mut bad = false;
        for it in &mut items {
            let by = match &sortby {
                Some(p) => match by_pattern(ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.by = Some(by);
                }
            } else {
                match weight(&by) {
                    Some(w) => it.score = w,
                    None => bad = true,
                }
            }
        }
        if bad {
            return err("ERR One or more scores can't be converted into double");
        }
        let by_pattern = sortby.is_some();
        items.sort_by(|x, y| {
            let c = if !alpha {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.elem.cmp(&y.elem))
            } else if by_pattern {
                match (&x.by, &y.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) => p.cmp(q),
                }
            } else {
                x.elem.cmp(&y.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }

    let picked: &[Item] = if end >= start && start >= 0 {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let mut out: Vec<Option<Bytes>> = Vec::new();
    for it in picked {
        if gets.is_empty() {
            out.push(Some(it.elem.clone()));
        }
        for g in &gets {
            out.push(by_pattern(ctx, g, &it.elem));
        }
    }
    let Some(dst) = store else {
        return Frame::Array(
            out.into_iter()
                .map(|v| v.map_or(Frame::Null, Frame::Bulk))
                .collect(),
        );
    };
    let n = out.len() as i64;
    let value = (!out.is_empty()).then(|| {
        Value::List(
            out.into_iter()
                .map(|v| crate::db::Key::new(&v.unwrap_or_default()))
                .collect(),
        )
    });
    super::coll::store(ctx, &dst, value, notify::LIST, "sortstore");
    int(n)
}
