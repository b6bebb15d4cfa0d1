//! Streams: XADD, XLEN, XRANGE, XREVRANGE, XREAD, XDEL, XTRIM, XSETID and XINFO.
//!
//! Every scripted reply below is the exact bytes redis-server 7.0.15 sends for the same
//! commands on a fresh server (IDs are explicit so they are deterministic); `~` trimming and
//! XINFO's radix-tree numbers included. Then a capped log under concurrent appends.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use confab_client::Frame;

/// `XADD key <i>-0 f <value>` for i in 1..=n; the value is `i` itself, or `value_len` v's
/// when `value_len` > 1.
async fn fill(c: &mut Raw, key: &str, n: usize, value_len: usize) {
    for i in 1..=n {
        let id = format!("{i}-0");
        let value = if value_len > 1 {
            "v".repeat(value_len)
        } else {
            i.to_string()
        };
        let got = c.call(&["XADD", key, &id, "f", &value]).await;
        assert_eq!(got, format!("${}\r\n{id}\r\n", id.len()).into_bytes());
    }
}

#[tokio::test]
async fn xadd_ids_and_id_syntax() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XADD", "s", "1-1", "a", "1"], "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"),
        (&["XADD", "s", "1-0", "a", "1"], "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"),
        (&["XADD", "s", "0-0", "a", "1"], "-ERR The ID specified in XADD must be greater than 0-0\r\n"),
        (&["XADD", "s", "0", "a", "1"], "-ERR The ID specified in XADD must be greater than 0-0\r\n"),
        (&["XADD", "s2", "0-0", "a", "1"], "-ERR The ID specified in XADD must be greater than 0-0\r\n"),
        (&["EXISTS", "s2"], ":0\r\n"),
        (&["XADD", "s2", "0-*", "a", "1"], "$3\r\n0-1\r\n"),
        (&["XADD", "s2", "0-*", "a", "1"], "$3\r\n0-2\r\n"),
        (&["XADD", "s", "1-*", "a", "1"], "$3\r\n1-2\r\n"),
        (&["XADD", "s", "2-*", "a", "1"], "$3\r\n2-0\r\n"),
        (&["XADD", "s", "5", "f", "v"], "$3\r\n5-0\r\n"),
        (&["XADD", "s", "00006", "f", "v"], "$3\r\n6-0\r\n"),
        (&["XADD", "s", "+7", "f", "v"], "$3\r\n7-0\r\n"),
        (&["XADD", "s", " 8", "f", "v"], "$3\r\n8-0\r\n"),
        (&["XADD", "s", "8-+1", "f", "v"], "$3\r\n8-1\r\n"),
        (&["XADD", "s", "8-01", "f", "v"], "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"),
        (&["XADD", "s", "9-x", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "9-", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "-9", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "9 ", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "18446744073709551616", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "-", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "+", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "foo", "f", "v"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "s", "-", "+"], "*8\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n8-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n8-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"),
        (&["XADD", "max", "18446744073709551615-18446744073709551615", "a", "b"], "$41\r\n18446744073709551615-18446744073709551615\r\n"),
        (&["XADD", "max", "*", "a", "b"], "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n"),
        (&["XADD", "max", "18446744073709551615-*", "a", "b"], "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n"),
        (&["XADD", "max", "5-5", "a", "b"], "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n"),
        (&["XADD", "seq", "5-18446744073709551615", "a", "b"], "$22\r\n5-18446744073709551615\r\n"),
        (&["XADD", "seq", "5-*", "a", "b"], "-ERR Elements are too large to be stored\r\n"),
        (&["XADD", "seq", "6-*", "a", "b"], "$3\r\n6-0\r\n"),
        (&["XLEN", "seq"], ":2\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xadd_arity_and_options() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "*", "a"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
        (&["XADD", "s", "*", "a", "b", "c"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
        (&["XADD", "s", "maxlen"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
        (&["XADD", "s", "a"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
        (&["XADD", "s", "NOMKSTREAM"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
        (&["XADD", "s", "MAXLEN", "1", "NOMKSTREAM", "1-1"], "-ERR wrong number of arguments for 'xadd' command\r\n"),
        (&["XADD", "s", "maxlen", "x", "*", "a", "b"], "-ERR value is not an integer or out of range\r\n"),
        (&["XADD", "s", "maxlen", "-1", "*", "a", "b"], "-ERR The MAXLEN argument must be >= 0.\r\n"),
        (&["XADD", "s", "maxlen", "~", "-1", "*", "a", "b"], "-ERR The MAXLEN argument must be >= 0.\r\n"),
        (&["XADD", "s", "minid", "x", "*", "a", "b"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "minid", "-", "*", "a", "b"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "minid", "~", "+", "*", "a", "b"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "maxlen", "1", "minid", "1", "*", "a", "b"], "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n"),
        (&["XADD", "s", "minid", "1", "maxlen", "1", "*", "a", "b"], "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n"),
        (&["XADD", "s", "limit", "5", "*", "a", "b"], "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n"),
        (&["XADD", "s", "limit", "0", "1-1", "a", "b"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XADD", "s", "maxlen", "1", "limit", "5", "*", "a", "b"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XADD", "s", "maxlen", "=", "1", "limit", "5", "*", "a", "b"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XADD", "s", "maxlen", "~", "1", "limit", "-1", "*", "a", "b"], "-ERR The LIMIT argument must be >= 0.\r\n"),
        (&["XADD", "s", "maxlen", "~", "1", "limit", "x", "*", "a", "b"], "-ERR value is not an integer or out of range\r\n"),
        (&["XADD", "s", "foo", "*", "a", "b"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["EXISTS", "s"], ":0\r\n"),
        (&["XADD", "nope", "NOMKSTREAM", "*", "a", "b"], "$-1\r\n"),
        (&["XADD", "nope", "NOMKSTREAM", "1-1", "a", "b"], "$-1\r\n"),
        (&["EXISTS", "nope"], ":0\r\n"),
        (&["XADD", "s", "NOMKSTREAM", "MAXLEN", "=", "2", "NOMKSTREAM", "1-1", "a", "b"], "$-1\r\n"),
        (&["XADD", "s", "MAXLEN", "2", "2-1", "a", "b"], "$3\r\n2-1\r\n"),
        (&["XADD", "s", "MAXLEN", "=", "2", "3-1", "a", "b"], "$3\r\n3-1\r\n"),
        (&["XADD", "s", "MAXLEN", "2", "LIMIT", "0", "4-1", "a", "b"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XADD", "s", "LIMIT", "1", "LIMIT", "2", "MAXLEN", "~", "2", "4-1", "a", "b"], "$3\r\n4-1\r\n"),
        (&["XADD", "s", "MINID", "4", "5-1", "a", "b"], "$3\r\n5-1\r\n"),
        (&["XRANGE", "s", "-", "+"], "*2\r\n*2\r\n$3\r\n4-1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        (&["XADD", "zero", "MAXLEN", "0", "1-1", "a", "b"], "$3\r\n1-1\r\n"),
        (&["EXISTS", "zero"], ":1\r\n"),
        (&["XLEN", "zero"], ":0\r\n"),
        (&["XADD", "zero", "2-1", "a", "b"], "$3\r\n2-1\r\n"),
        (&["XLEN", "zero"], ":1\r\n"),
        (&["SET", "str", "x"], "+OK\r\n"),
        (&["XADD", "str", "1-1", "a", "b"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XADD", "str", "NOMKSTREAM", "1-1", "a", "b"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XADD", "str", "0-0", "a", "b"], "-ERR The ID specified in XADD must be greater than 0-0\r\n"),
        (&["XLEN", "str"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XLEN", "nope"], ":0\r\n"),
        (&["TYPE", "zero"], "+stream\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xrange_and_xrevrange() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XADD", "s", "2-1", "b", "2", "c", "3"], "$3\r\n2-1\r\n"),
        (&["XADD", "s", "3-1", "a", "4"], "$3\r\n3-1\r\n"),
        (&["XADD", "s", "3-2", "", ""], "$3\r\n3-2\r\n"),
        (&["XRANGE", "s", "-", "+"], "*4\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT", "0"], "*-1\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT", "-5"], "*-1\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT", "1"], "*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "2"], "*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        (&["XRANGE", "s", "(1-1", "+"], "*3\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        (&["XRANGE", "s", "-", "(3-1"], "*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        (&["XRANGE", "s", "(1", "+"], "*4\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        (&["XRANGE", "s", "2", "2"], "*1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        (&["XRANGE", "s", "3", "+"], "*2\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        (&["XRANGE", "s", "3", "3-1"], "*1\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n"),
        (&["XRANGE", "s", "2", "1"], "*0\r\n"),
        (&["XRANGE", "s", "+", "-"], "*0\r\n"),
        (&["XRANGE", "s", "(0-0", "+"], "*4\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        (&["XRANGE", "s", "-", "(0-0"], "-ERR invalid end ID for the interval\r\n"),
        (&["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"], "-ERR invalid start ID for the interval\r\n"),
        (&["XRANGE", "s", "-", "(18446744073709551615-18446744073709551615"], "*4\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n"),
        (&["XRANGE", "s", "(-", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "s", "-", "(+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "s", "(", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "s", "x", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "s", "-", "x"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT"], "-ERR syntax error\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["XRANGE", "s", "-", "+", "FOO", "1"], "-ERR syntax error\r\n"),
        (&["XREVRANGE", "s", "+", "-"], "*4\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["XREVRANGE", "s", "+", "-", "COUNT", "2"], "*2\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n"),
        (&["XREVRANGE", "s", "+", "-", "COUNT", "0"], "*-1\r\n"),
        (&["XREVRANGE", "s", "(3-1", "-"], "*2\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["XREVRANGE", "s", "+", "(1-1"], "*3\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        (&["XREVRANGE", "s", "3", "2"], "*3\r\n*2\r\n$3\r\n3-2\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n3-1\r\n*2\r\n$1\r\na\r\n$1\r\n4\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        (&["XREVRANGE", "s", "-", "+"], "*0\r\n"),
        (&["XREVRANGE", "s", "x", "-"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XRANGE", "nope", "-", "+"], "*0\r\n"),
        (&["XRANGE", "nope", "-", "+", "COUNT", "0"], "*0\r\n"),
        (&["XRANGE", "nope", "x", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XREVRANGE", "nope", "+", "-", "COUNT", "0"], "*0\r\n"),
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["XRANGE", "str", "-", "+"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XRANGE", "str", "x", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XREVRANGE", "str", "+", "-"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xread_resp2() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XADD", "s", "2-1", "b", "2"], "$3\r\n2-1\r\n"),
        (&["XADD", "t", "5-0", "x", "y"], "$3\r\n5-0\r\n"),
        (&["XREAD", "STREAMS", "s", "0"], "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "0", "0"], "*2\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
        (&["XREAD", "COUNT", "1", "STREAMS", "s", "t", "0", "0"], "*2\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
        (&["XREAD", "COUNT", "0", "STREAMS", "s", "0"], "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "COUNT", "-1", "STREAMS", "s", "0"], "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "count", "1", "block", "0", "count", "2", "STREAMS", "s", "0"], "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "2-1", "0"], "*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "1", "4-18446744073709551615"], "*2\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "$", "$"], "*-1\r\n"),
        (&["XREAD", "STREAMS", "s", "nope", "0", "0"], "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "STREAMS", "nope", "0"], "*-1\r\n"),
        (&["XREAD", "STREAMS", "nope", "$"], "*-1\r\n"),
        (&["XREAD", "STREAMS", "s", "18446744073709551615-18446744073709551615"], "*-1\r\n"),
        (&["XREAD", "BLOCK", "0", "STREAMS", "s", "0"], "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "BLOCK", "10", "STREAMS", "s", "$"], "*-1\r\n"),
        (&["XREAD", "STREAMS", "s"], "-ERR wrong number of arguments for 'xread' command\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "0"], "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n"),
        (&["XREAD", "STREAMS", "s", "COUNT", "0"], "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n"),
        (&["XREAD", "COUNT", "1"], "-ERR wrong number of arguments for 'xread' command\r\n"),
        (&["XREAD", "COUNT", "1", "BLOCK"], "-ERR syntax error\r\n"),
        (&["XREAD", "foo", "STREAMS", "s", "0"], "-ERR syntax error\r\n"),
        (&["XREAD", "COUNT", "x", "STREAMS", "s", "0"], "-ERR value is not an integer or out of range\r\n"),
        (&["XREAD", "BLOCK", "x", "STREAMS", "s", "0"], "-ERR timeout is not an integer or out of range\r\n"),
        (&["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"], "-ERR timeout is negative\r\n"),
        (&["XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"], "-ERR timeout is not an integer or out of range\r\n"),
        (&["XREAD", "STREAMS", "s", "-"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XREAD", "STREAMS", "s", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XREAD", "STREAMS", "s", ">"], "-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.\r\n"),
        (&["XREAD", "STREAMS", "s", "(1"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"], "-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n"),
        (&["XREAD", "GROUP", "g", "STREAMS", "s", "0"], "-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n"),
        (&["XREAD", "NOACK", "STREAMS", "s", "0"], "-ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.\r\n"),
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["XREAD", "STREAMS", "s", "str", "0", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XREAD", "STREAMS", "str", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XREAD", "STREAMS", "nope", "str", "0", "x"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XREAD", "STREAMS", "str", "nope", "x", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XREAD", "STREAMS", "s", "nope", "0", "x"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XDEL", "s", "2-1"], ":1\r\n"),
        (&["XREAD", "STREAMS", "s", "1-1"], "*-1\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xread_resp3() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.hello(3).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XADD", "t", "2-1", "b", "2"], "$3\r\n2-1\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "0", "0"], "%2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
        (&["XREAD", "STREAMS", "s", "t", "0", "2-1"], "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["XREAD", "STREAMS", "s", "1-1"], "_\r\n"),
        (&["XREAD", "BLOCK", "1", "STREAMS", "s", "1-1"], "_\r\n"),
        (&["XRANGE", "s", "-", "+", "COUNT", "0"], "_\r\n"),
        (&["XADD", "nope", "NOMKSTREAM", "*", "a", "b"], "_\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xread_in_multi_does_not_block() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], "+QUEUED\r\n"),
        (&["XREAD", "BLOCK", "0", "STREAMS", "s", "0"], "+QUEUED\r\n"),
        (&["XADD", "s", "2-1", "b", "2"], "+QUEUED\r\n"),
        (&["EXEC"], "*3\r\n*-1\r\n*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$3\r\n2-1\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xdel() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XADD", "s", "2-1", "b", "2"], "$3\r\n2-1\r\n"),
        (&["XADD", "s", "3-1", "c", "3"], "$3\r\n3-1\r\n"),
        (&["XADD", "s", "4-1", "c", "3"], "$3\r\n4-1\r\n"),
        (&["XDEL", "s", "2-1", "2-1", "9-9"], ":1\r\n"),
        (
            &["XDEL", "s", "x"],
            "-ERR Invalid stream ID specified as stream command argument\r\n",
        ),
        (
            &["XDEL", "s", "3-1", "x"],
            "-ERR Invalid stream ID specified as stream command argument\r\n",
        ),
        (
            &["XDEL", "s", "-"],
            "-ERR Invalid stream ID specified as stream command argument\r\n",
        ),
        (&["XDEL", "s", "1"], ":0\r\n"),
        (&["XLEN", "s"], ":3\r\n"),
        (&["XDEL", "nope", "x"], ":0\r\n"),
        (&["XDEL", "nope", "1-1"], ":0\r\n"),
        (&["XDEL", "s", "4-1", "3-1", "1-1"], ":3\r\n"),
        (&["XLEN", "s"], ":0\r\n"),
        (&["EXISTS", "s"], ":1\r\n"),
        (&["XRANGE", "s", "-", "+"], "*0\r\n"),
        (&["XADD", "s", "5", "a", "b"], "$3\r\n5-0\r\n"),
        (
            &["XADD", "s", "4-2", "a", "b"],
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n",
        ),
        (&["SET", "str", "v"], "+OK\r\n"),
        (
            &["XDEL", "str", "1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["XDEL", "str", "x"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xtrim() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    fill(&mut c, "s", 10, 1).await;

    c.script(&[
        (&["XTRIM", "s"], "-ERR wrong number of arguments for 'xtrim' command\r\n"),
        (&["XTRIM", "s", "maxlen"], "-ERR wrong number of arguments for 'xtrim' command\r\n"),
        (&["XTRIM", "s", "foo", "1"], "-ERR syntax error\r\n"),
        (&["XTRIM", "s", "maxlen", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["XTRIM", "s", "maxlen", "-1"], "-ERR The MAXLEN argument must be >= 0.\r\n"),
        (&["XTRIM", "s", "maxlen", "1", "limit", "10"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XTRIM", "s", "maxlen", "=", "1", "limit", "10"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XTRIM", "s", "limit", "10"], "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n"),
        (&["XTRIM", "s", "limit", "10", "maxlen", "1"], "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"),
        (&["XTRIM", "s", "nomkstream", "maxlen", "1"], "-ERR syntax error\r\n"),
        (&["XTRIM", "s", "maxlen", "0", "*"], "-ERR syntax error\r\n"),
        (&["XTRIM", "s", "maxlen", "0", "1"], "-ERR syntax error\r\n"),
        (&["XTRIM", "s", "maxlen", "1", "minid", "1"], "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n"),
        (&["XTRIM", "s", "minid", "-"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XTRIM", "s", "minid", "(1"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XTRIM", "s", "maxlen", "~", "1", "limit", "10"], ":0\r\n"),
        (&["XTRIM", "s", "maxlen", "~", "5"], ":0\r\n"),
        (&["XTRIM", "s", "maxlen", "8"], ":2\r\n"),
        (&["XTRIM", "s", "maxlen", "=", "7"], ":1\r\n"),
        (&["XTRIM", "s", "maxlen", "7"], ":0\r\n"),
        (&["XTRIM", "s", "minid", "5"], ":1\r\n"),
        (&["XTRIM", "s", "minid", "=", "5"], ":0\r\n"),
        (&["XTRIM", "s", "minid", "4-1"], ":0\r\n"),
        (&["XTRIM", "s", "minid", "~", "9"], ":0\r\n"),
        (&["XRANGE", "s", "-", "+"], "*6\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\n5\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$1\r\nf\r\n$1\r\n6\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$1\r\nf\r\n$1\r\n7\r\n*2\r\n$3\r\n8-0\r\n*2\r\n$1\r\nf\r\n$1\r\n8\r\n*2\r\n$3\r\n9-0\r\n*2\r\n$1\r\nf\r\n$1\r\n9\r\n*2\r\n$4\r\n10-0\r\n*2\r\n$1\r\nf\r\n$2\r\n10\r\n"),
        (&["XTRIM", "s", "minid", "100"], ":6\r\n"),
        (&["XLEN", "s"], ":0\r\n"),
        (&["EXISTS", "s"], ":1\r\n"),
        (&["XTRIM", "nope", "maxlen", "1"], ":0\r\n"),
        (&["XTRIM", "nope", "maxlen", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["XTRIM", "str", "maxlen", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn approximate_trimming_removes_whole_nodes() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    fill(&mut c, "s", 250, 1).await;

    c.script(&[
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:250\r\n$15\r\nradix-tree-keys\r\n:3\r\n$16\r\nradix-tree-nodes\r\n:8\r\n$17\r\nlast-generated-id\r\n$5\r\n250-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:250\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$5\r\n250-0\r\n*2\r\n$1\r\nf\r\n$3\r\n250\r\n"),
        (&["XTRIM", "s", "maxlen", "~", "200"], ":0\r\n"),
        (&["XTRIM", "s", "maxlen", "~", "120"], ":100\r\n"),
        (&["XLEN", "s"], ":150\r\n"),
        (&["XTRIM", "s", "maxlen", "~", "120", "LIMIT", "99"], ":0\r\n"),
        (&["XTRIM", "s", "maxlen", "~", "0", "LIMIT", "100"], ":100\r\n"),
        (&["XLEN", "s"], ":50\r\n"),
        (&["XTRIM", "s", "maxlen", "120"], ":0\r\n"),
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:50\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$5\r\n250-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:250\r\n$23\r\nrecorded-first-entry-id\r\n$5\r\n201-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$5\r\n201-0\r\n*2\r\n$1\r\nf\r\n$3\r\n201\r\n$10\r\nlast-entry\r\n*2\r\n$5\r\n250-0\r\n*2\r\n$1\r\nf\r\n$3\r\n250\r\n"),
        (&["XTRIM", "s", "minid", "~", "240"], ":0\r\n"),
        (&["XTRIM", "s", "minid", "240"], ":39\r\n"),
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:11\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$5\r\n250-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:250\r\n$23\r\nrecorded-first-entry-id\r\n$5\r\n240-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$5\r\n240-0\r\n*2\r\n$1\r\nf\r\n$3\r\n240\r\n$10\r\nlast-entry\r\n*2\r\n$5\r\n250-0\r\n*2\r\n$1\r\nf\r\n$3\r\n250\r\n"),
        (&["XADD", "s", "MAXLEN", "~", "5", "251-0", "f", "1"], "$5\r\n251-0\r\n"),
        (&["XLEN", "s"], ":12\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn big_values_fill_nodes_by_bytes() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    fill(&mut c, "big", 20, 1000).await;

    c.script(&[
        (&["XINFO", "STREAM", "big"], "*20\r\n$6\r\nlength\r\n:20\r\n$15\r\nradix-tree-keys\r\n:5\r\n$16\r\nradix-tree-nodes\r\n:12\r\n$17\r\nlast-generated-id\r\n$4\r\n20-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:20\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n$10\r\nlast-entry\r\n*2\r\n$4\r\n20-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n"),
        (&["XTRIM", "big", "maxlen", "~", "10"], ":8\r\n"),
        (&["XLEN", "big"], ":12\r\n"),
        (&["XINFO", "STREAM", "big"], "*20\r\n$6\r\nlength\r\n:12\r\n$15\r\nradix-tree-keys\r\n:3\r\n$16\r\nradix-tree-nodes\r\n:8\r\n$17\r\nlast-generated-id\r\n$4\r\n20-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:20\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n9-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n9-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n$10\r\nlast-entry\r\n*2\r\n$4\r\n20-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n"),
        (&["XDEL", "big", "18-0", "19-0", "20-0"], ":3\r\n"),
        (&["XINFO", "STREAM", "big"], "*20\r\n$6\r\nlength\r\n:9\r\n$15\r\nradix-tree-keys\r\n:3\r\n$16\r\nradix-tree-nodes\r\n:8\r\n$17\r\nlast-generated-id\r\n$4\r\n20-0\r\n$20\r\nmax-deleted-entry-id\r\n$4\r\n20-0\r\n$13\r\nentries-added\r\n:20\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n9-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n9-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n$10\r\nlast-entry\r\n*2\r\n$4\r\n17-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n"),
        (&["XADD", "big", "21-0", "f", "v"], "$4\r\n21-0\r\n"),
        (&["XINFO", "STREAM", "big"], "*20\r\n$6\r\nlength\r\n:10\r\n$15\r\nradix-tree-keys\r\n:3\r\n$16\r\nradix-tree-nodes\r\n:8\r\n$17\r\nlast-generated-id\r\n$4\r\n21-0\r\n$20\r\nmax-deleted-entry-id\r\n$4\r\n20-0\r\n$13\r\nentries-added\r\n:21\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n9-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n9-0\r\n*2\r\n$1\r\nf\r\n$1000\r\nvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n$10\r\nlast-entry\r\n*2\r\n$4\r\n21-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xsetid() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XSETID", "nope", "1-1"], "-ERR no such key\r\n"),
        (&["XSETID", "nope", "x"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XADD", "s", "5-5", "a", "b"], "$3\r\n5-5\r\n"),
        (&["XSETID", "s", "5-4"], "-ERR The ID specified in XSETID is smaller than the target stream top item\r\n"),
        (&["XSETID", "s", "5-5"], "+OK\r\n"),
        (&["XSETID", "s", "6", "ENTRIESADDED", "0"], "-ERR The entries_added specified in XSETID is smaller than the target stream length\r\n"),
        (&["XSETID", "s", "6", "ENTRIESADDED", "-1"], "-ERR entries_added must be positive\r\n"),
        (&["XSETID", "s", "6", "ENTRIESADDED", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["XSETID", "s", "6", "MAXDELETEDID", "7"], "-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id\r\n"),
        (&["XSETID", "s", "6", "MAXDELETEDID", "x"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XSETID", "s", "6", "MAXDELETEDID"], "-ERR syntax error\r\n"),
        (&["XSETID", "s", "6", "foo", "1"], "-ERR syntax error\r\n"),
        (&["XSETID", "s", "-"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XSETID", "s", "+"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
        (&["XSETID", "s", "7", "ENTRIESADDED", "10", "MAXDELETEDID", "3-3"], "+OK\r\n"),
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n7-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n3-3\r\n$13\r\nentries-added\r\n:10\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n5-5\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n5-5\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n5-5\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        (&["XSETID", "s", "7", "MAXDELETEDID", "0-0"], "+OK\r\n"),
        (&["XADD", "s", "7-0", "a", "b"], "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"),
        (&["XADD", "s", "7-*", "a", "b"], "$3\r\n7-1\r\n"),
        (&["XDEL", "s", "5-5", "7-1"], ":2\r\n"),
        (&["XSETID", "s", "1-1"], "+OK\r\n"),
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n7-1\r\n$13\r\nentries-added\r\n:11\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n$-1\r\n$10\r\nlast-entry\r\n$-1\r\n"),
        (&["XSETID", "s", "0-0", "ENTRIESADDED", "0"], "+OK\r\n"),
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n$17\r\nlast-generated-id\r\n$3\r\n0-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n7-1\r\n$13\r\nentries-added\r\n:0\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n$-1\r\n$10\r\nlast-entry\r\n$-1\r\n"),
        (&["XADD", "s", "0-*", "a", "b"], "$3\r\n0-1\r\n"),
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["XSETID", "str", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XSETID", "str", "x"], "-ERR Invalid stream ID specified as stream command argument\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xinfo() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XADD", "s", "2-1", "b", "2", "c", "3"], "$3\r\n2-1\r\n"),
        (&["XINFO", "STREAM", "s"], "*20\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
        (&["XINFO", "STREAM", "s", "FULL"], "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$6\r\ngroups\r\n*0\r\n"),
        (&["XINFO", "STREAM", "s", "full", "count", "1"], "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$6\r\ngroups\r\n*0\r\n"),
        (&["XINFO", "STREAM", "s", "full", "count", "0"], "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$6\r\ngroups\r\n*0\r\n"),
        (&["XINFO", "STREAM", "s", "full", "count", "-1"], "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$6\r\ngroups\r\n*0\r\n"),
        (&["XINFO", "STREAM", "s", "foo"], "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n"),
        (&["XINFO", "STREAM", "s", "full", "count"], "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n"),
        (&["XINFO", "STREAM", "s", "full", "count", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["XINFO", "STREAM", "s", "full", "foo", "1"], "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n"),
        (&["XINFO", "STREAM", "s", "foo", "count", "1"], "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n"),
        (&["XINFO", "Stream", "s", "Foo"], "-ERR unknown subcommand or wrong number of arguments for 'Stream'. Try XINFO HELP.\r\n"),
        (&["XINFO", "STREAM"], "-ERR wrong number of arguments for 'xinfo|stream' command\r\n"),
        (&["XINFO", "STREAM", "nope"], "-ERR no such key\r\n"),
        (&["XINFO", "GROUPS", "s"], "*0\r\n"),
        (&["XINFO", "GROUPS", "nope"], "-ERR no such key\r\n"),
        (&["XINFO", "GROUPS", "s", "x"], "-ERR wrong number of arguments for 'xinfo|groups' command\r\n"),
        (&["XINFO", "CONSUMERS", "s", "g"], "-NOGROUP No such consumer group 'g' for key name 's'\r\n"),
        (&["XINFO", "CONSUMERS", "nope", "g"], "-ERR no such key\r\n"),
        (&["XINFO", "CONSUMERS", "s"], "-ERR wrong number of arguments for 'xinfo|consumers' command\r\n"),
        (&["XINFO", "HELP"], "*9\r\n+XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CONSUMERS <key> <groupname>\r\n+    Show consumers of <groupname>.\r\n+GROUPS <key>\r\n+    Show the stream consumer groups.\r\n+STREAM <key> [FULL [COUNT <count>]\r\n+    Show information about the stream.\r\n+HELP\r\n+    Prints this help.\r\n"),
        (&["XINFO", "HeLP"], "*9\r\n+XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CONSUMERS <key> <groupname>\r\n+    Show consumers of <groupname>.\r\n+GROUPS <key>\r\n+    Show the stream consumer groups.\r\n+STREAM <key> [FULL [COUNT <count>]\r\n+    Show information about the stream.\r\n+HELP\r\n+    Prints this help.\r\n"),
        (&["XINFO", "HELP", "x"], "-ERR wrong number of arguments for 'xinfo|help' command\r\n"),
        (&["XINFO", "foo"], "-ERR unknown subcommand 'foo'. Try XINFO HELP.\r\n"),
        (&["XINFO", "foo", "x"], "-ERR unknown subcommand 'foo'. Try XINFO HELP.\r\n"),
        (&["XINFO"], "-ERR wrong number of arguments for 'xinfo' command\r\n"),
        (&["XADD", "e", "MAXLEN", "0", "1-1", "a", "b"], "$3\r\n1-1\r\n"),
        (&["XINFO", "STREAM", "e"], "*20\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n$-1\r\n$10\r\nlast-entry\r\n$-1\r\n"),
        (&["XINFO", "STREAM", "e", "FULL"], "*18\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$7\r\nentries\r\n*0\r\n$6\r\ngroups\r\n*0\r\n"),
        (&["SET", "str", "v"], "+OK\r\n"),
        (&["XINFO", "STREAM", "str"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["XINFO", "GROUPS", "str"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["XINFO", "foo"], "-ERR unknown subcommand 'foo'. Try XINFO HELP.\r\n"),
        (&["XINFO", "STREAM", "s"], "+QUEUED\r\n"),
        (&["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n"),
    ])
    .await;

    srv.stop().await;
}

#[tokio::test]
async fn xinfo_resp3() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;

    c.hello(3).await;

    c.script(&[
        (&["XADD", "s", "1-1", "a", "1"], "$3\r\n1-1\r\n"),
        (&["XINFO", "STREAM", "s"], "%10\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
        (&["XINFO", "STREAM", "s", "FULL"], "%9\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$6\r\ngroups\r\n*0\r\n"),
        (&["XADD", "e", "MAXLEN", "0", "1-1", "a", "b"], "$3\r\n1-1\r\n"),
        (&["XINFO", "STREAM", "e"], "%10\r\n$6\r\nlength\r\n:0\r\n$15\r\nradix-tree-keys\r\n:0\r\n$16\r\nradix-tree-nodes\r\n:1\r\n$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n0-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n_\r\n$10\r\nlast-entry\r\n_\r\n"),
    ])
    .await;

    srv.stop().await;
}

/// A stream ID from a reply.
fn parse_id(b: &[u8]) -> (u64, u64) {
    let s = std::str::from_utf8(b).unwrap();
    let (ms, seq) = s.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

fn bulk_bytes(f: &Frame) -> Bytes {
    match f {
        Frame::Bulk(b) => b.clone(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

/// `[id, [field, value, ...]]` → (id, items).
fn entry(f: &Frame) -> ((u64, u64), Vec<Bytes>) {
    match f {
        Frame::Array(v) if v.len() == 2 => match &v[1] {
            Frame::Array(items) => (
                parse_id(&bulk_bytes(&v[0])),
                items.iter().map(bulk_bytes).collect(),
            ),
            other => panic!("bad entry fields {other:?}"),
        },
        other => panic!("bad entry {other:?}"),
    }
}

fn entries(f: Frame) -> Vec<((u64, u64), Vec<Bytes>)> {
    match f {
        Frame::Array(v) => v.iter().map(entry).collect(),
        other => panic!("not an array of entries: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_log_keeps_exactly_the_latest_entries_under_concurrent_appends() {
    const CLIENTS: usize = 10;
    const PER_CLIENT: usize = 10_000;
    const BATCH: usize = 1_000;
    const CAP: usize = 1_000;
    let srv = TestServer::start().await;
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let mut c = srv.client().await;
        tasks.push(tokio::spawn(async move {
            // Each appended ID, with the (client, n) it carries.
            let mut ids = Vec::with_capacity(PER_CLIENT);
            let name = client.to_string();
            for start in (0..PER_CLIENT).step_by(BATCH) {
                for n in start..start + BATCH {
                    let n = n.to_string();
                    c.queue(&[
                        "XADD", "log", "MAXLEN", "1000", "*", "client", &name, "n", &n,
                    ]);
                }
                c.flush().await.unwrap();
                for n in start..start + BATCH {
                    let reply = c
                        .read_frame_timeout(Duration::from_secs(10))
                        .await
                        .unwrap()
                        .expect("reply");
                    ids.push((parse_id(&bulk_bytes(&reply)), (client, n)));
                }
            }
            ids
        }));
    }
    let mut all = HashMap::new();
    for t in tasks {
        let ids = t.await.unwrap();
        // A client's own entries get increasing IDs: IDs never go backwards.
        assert!(ids.windows(2).all(|w| w[0].0 < w[1].0));
        for (id, who) in ids {
            assert!(all.insert(id, who).is_none(), "ID {id:?} handed out twice");
        }
    }
    assert_eq!(all.len(), CLIENTS * PER_CLIENT);
    let mut sorted: Vec<(u64, u64)> = all.keys().copied().collect();
    sorted.sort_unstable();
    let latest = &sorted[sorted.len() - CAP..];

    let mut c = srv.client().await;
    assert_eq!(
        cmd(&mut c, &["XLEN", "log"]).await,
        Frame::Integer(CAP as i64)
    );
    // Exactly the latest 1,000, each with the fields its client sent.
    let kept = entries(cmd(&mut c, &["XRANGE", "log", "-", "+"]).await);
    assert_eq!(kept.iter().map(|(id, _)| *id).collect::<Vec<_>>(), latest);
    for (id, items) in &kept {
        let (client, n) = all[id];
        let want = ["client", &client.to_string(), "n", &n.to_string()].map(|s| s.to_string());
        assert_eq!(
            items
                .iter()
                .map(|b| String::from_utf8_lossy(b))
                .collect::<Vec<_>>(),
            want
        );
    }
    // XREVRANGE + - COUNT 10: the latest ten, newest first.
    let newest = entries(cmd(&mut c, &["XREVRANGE", "log", "+", "-", "COUNT", "10"]).await);
    let want: Vec<(u64, u64)> = latest.iter().rev().take(10).copied().collect();
    assert_eq!(newest.iter().map(|(id, _)| *id).collect::<Vec<_>>(), want);
    // The stream's counters saw every append.
    let info = cmd(&mut c, &["XINFO", "STREAM", "log"]).await;
    let Frame::Array(info) = info else {
        panic!("{info:?}")
    };
    let field = |name: &str| {
        let at = info
            .iter()
            .position(|f| *f == bulk(name))
            .unwrap_or_else(|| panic!("no {name}"));
        info[at + 1].clone()
    };
    assert_eq!(
        field("entries-added"),
        Frame::Integer((CLIENTS * PER_CLIENT) as i64)
    );
    let last = *sorted.last().unwrap();
    assert_eq!(
        field("last-generated-id"),
        bulk(&format!("{}-{}", last.0, last.1))
    );
    srv.stop().await;
}

#[tokio::test]
async fn approximate_cap_trims_whole_nodes_of_a_hundred() {
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let mut lengths = Vec::new();
    for n in 0..5_000 {
        let n = n.to_string();
        c.queue(&["XADD", "log", "MAXLEN", "~", "1000", "*", "n", &n]);
        c.queue(&["XLEN", "log"]);
    }
    c.flush().await.unwrap();
    for _ in 0..5_000 {
        let id = c.read_frame_timeout(Duration::from_secs(10)).await.unwrap();
        assert!(matches!(id, Some(Frame::Bulk(_))), "{id:?}");
        match c.read_frame_timeout(Duration::from_secs(10)).await.unwrap() {
            Some(Frame::Integer(n)) => lengths.push(n),
            other => panic!("{other:?}"),
        }
    }
    // As Redis with 100-entry nodes: it grows to 1,099 and drops the oldest node at 1,100.
    assert_eq!(lengths.iter().max(), Some(&1_099));
    assert!(lengths[1_099..]
        .iter()
        .all(|&n| (1_000..1_100).contains(&n)));
    assert_eq!(*lengths.last().unwrap(), 1_000);
    srv.stop().await;
}

#[tokio::test]
async fn xadd_copies_its_arguments_and_signals_nothing_on_errors() {
    // Values outlive the request buffer they came from; a rejected XADD leaves WATCH alone.
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    let big = "x".repeat(100_000);
    assert_eq!(
        cmd(&mut c, &["XADD", "s", "1-1", "f", &big]).await,
        bulk("1-1")
    );
    assert_eq!(cmd(&mut c, &["WATCH", "s"]).await, simple("OK"));
    assert!(matches!(
        cmd(&mut c, &["XADD", "s", "1-1", "f", "v"]).await,
        Frame::Error(_)
    ));
    assert_eq!(cmd(&mut c, &["XDEL", "s", "9-9"]).await, Frame::Integer(0));
    assert_eq!(
        cmd(&mut c, &["XTRIM", "s", "MAXLEN", "5"]).await,
        Frame::Integer(0)
    );
    assert_eq!(cmd(&mut c, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["XLEN", "s"]).await, simple("QUEUED"));
    assert_eq!(
        cmd(&mut c, &["EXEC"]).await,
        Frame::Array(vec![Frame::Integer(1)])
    );
    let got = entries(cmd(&mut c, &["XRANGE", "s", "-", "+"]).await);
    assert_eq!(got[0].1[1].len(), 100_000);
    // A real change does abort the transaction.
    assert_eq!(cmd(&mut c, &["WATCH", "s"]).await, simple("OK"));
    let mut other = srv.client().await;
    assert_eq!(
        cmd(&mut other, &["XADD", "s", "2-1", "f", "v"]).await,
        bulk("2-1")
    );
    assert_eq!(cmd(&mut c, &["MULTI"]).await, simple("OK"));
    assert_eq!(cmd(&mut c, &["XLEN", "s"]).await, simple("QUEUED"));
    assert_eq!(cmd(&mut c, &["EXEC"]).await, Frame::NullArray);
    srv.stop().await;
}

/// XREAD BLOCK wakes within milliseconds of an XADD from another connection, RESP2 and RESP3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xread_block_wakes_on_xadd_from_another_connection() {
    let srv = TestServer::start().await;
    let mut r2 = srv.client().await;
    let mut r3 = srv.client().await;
    r3.hello(3, None).await.unwrap();
    for r in [&mut r2, &mut r3] {
        r.queue(&["XREAD", "BLOCK", "0", "STREAMS", "log", "$"]);
        r.flush().await.unwrap();
    }
    let mut w = srv.client().await;
    // Wait until both readers are registered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let confab_client::Frame::Bulk(t) = cmd(&mut w, &["INFO", "clients"]).await {
            if String::from_utf8_lossy(&t).contains("blocked_clients:2\r\n") {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "readers never blocked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let started = std::time::Instant::now();
    assert_eq!(
        cmd(&mut w, &["XADD", "log", "5-1", "msg", "hi"]).await,
        bulk("5-1")
    );
    let entry = confab_client::Frame::Array(vec![
        bulk("5-1"),
        confab_client::Frame::Array(vec![bulk("msg"), bulk("hi")]),
    ]);
    let got2 = r2
        .read_frame_timeout(std::time::Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let got3 = r3
        .read_frame_timeout(std::time::Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(
        got2,
        confab_client::Frame::Array(vec![confab_client::Frame::Array(vec![
            bulk("log"),
            confab_client::Frame::Array(vec![entry.clone()])
        ])])
    );
    assert_eq!(
        got3,
        confab_client::Frame::Map(vec![(
            bulk("log"),
            confab_client::Frame::Array(vec![entry])
        )])
    );
    assert!(
        waited < std::time::Duration::from_millis(200),
        "woke after {waited:?}"
    );
    // A timeout answers a null array.
    assert_eq!(
        cmd(&mut r2, &["XREAD", "BLOCK", "50", "STREAMS", "log", "$"]).await,
        confab_client::Frame::NullArray
    );
    srv.stop().await;
}

/// Consumer groups as a work queue: blocked XREADGROUP consumers are woken by XADD, each new
/// entry goes to one consumer and stays pending until XACK; a consumer blocked on a group
/// that is destroyed, or on a stream that is deleted, gets Redis's error at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_groups_hand_each_entry_to_one_blocked_consumer() {
    let srv = TestServer::start().await;
    let mut p = srv.client().await;
    assert_eq!(
        cmd(
            &mut p,
            &["XGROUP", "CREATE", "q", "workers", "$", "MKSTREAM"]
        )
        .await,
        simple("OK")
    );
    let mut a = srv.client().await;
    send(
        &mut a,
        &[
            "XREADGROUP",
            "GROUP",
            "workers",
            "a",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    )
    .await;
    wait_blocked(&srv, 1).await;
    let mut b = srv.client().await;
    send(
        &mut b,
        &[
            "XREADGROUP",
            "GROUP",
            "workers",
            "b",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    )
    .await;
    wait_blocked(&srv, 2).await;
    // One entry: only the first consumer gets it; the second keeps waiting for the next.
    cmd(&mut p, &["XADD", "q", "1-1", "job", "one"]).await;
    let entry = |id: &str, v: &str| {
        Frame::Array(vec![
            bulk("q"),
            Frame::Array(vec![Frame::Array(vec![
                bulk(id),
                Frame::Array(vec![bulk("job"), bulk(v)]),
            ])]),
        ])
    };
    assert_eq!(reply(&mut a).await, Frame::Array(vec![entry("1-1", "one")]));
    wait_blocked(&srv, 1).await;
    cmd(&mut p, &["XADD", "q", "2-1", "job", "two"]).await;
    assert_eq!(reply(&mut b).await, Frame::Array(vec![entry("2-1", "two")]));
    // Both pending, one per consumer, until acknowledged.
    let pending = cmd(&mut p, &["XPENDING", "q", "workers"]).await;
    assert_eq!(
        pending,
        Frame::Array(vec![
            Frame::Integer(2),
            bulk("1-1"),
            bulk("2-1"),
            Frame::Array(vec![
                Frame::Array(vec![bulk("a"), bulk("1")]),
                Frame::Array(vec![bulk("b"), bulk("1")]),
            ]),
        ])
    );
    assert_eq!(
        cmd(&mut p, &["XACK", "q", "workers", "1-1", "2-1"]).await,
        Frame::Integer(2)
    );
    assert_eq!(
        cmd(&mut p, &["XPENDING", "q", "workers"]).await,
        Frame::Array(vec![
            Frame::Integer(0),
            Frame::Null,
            Frame::Null,
            Frame::NullArray
        ])
    );
    // The group goes while a consumer waits on it.
    send(
        &mut a,
        &[
            "XREADGROUP",
            "GROUP",
            "workers",
            "a",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    )
    .await;
    wait_blocked(&srv, 1).await;
    assert_eq!(
        cmd(&mut p, &["XGROUP", "DESTROY", "q", "workers"]).await,
        Frame::Integer(1)
    );
    match reply(&mut a).await {
        Frame::Error(e) => assert!(e.starts_with(b"NOGROUP"), "{e:?}"),
        other => panic!("expected NOGROUP, got {other:?}"),
    }
    // The stream goes while a consumer waits on it.
    cmd(&mut p, &["XGROUP", "CREATE", "q", "g2", "$"]).await;
    send(
        &mut b,
        &[
            "XREADGROUP",
            "GROUP",
            "g2",
            "b",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    )
    .await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["DEL", "q"]).await, Frame::Integer(1));
    assert_eq!(
        reply(&mut b).await,
        Frame::Error(Bytes::from_static(
            b"UNBLOCKED the stream key no longer exists"
        ))
    );
    wait_blocked(&srv, 0).await;
    srv.stop().await;
}
