//! Lists: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM,
//! LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP.
//!
//! Every scripted reply below is the exact bytes redis-server 7.0.15 sent for the same
//! commands on a fresh server, error paths and RESP3 nulls included. Then: pushes wake
//! blocked clients, moves between lists in different shards lose nothing under concurrency,
//! and a long pseudo-random mix of commands gives the same replies as Redis (checked through
//! a digest of the replies Redis gave; set `CONFAB_LISTS_REFERENCE=host:port` to a running
//! redis-server to compare reply by reply instead).

mod common;

use std::time::Duration;

use common::*;
use confab_client::Frame;

// ---- Scripts recorded from redis-server 7.0.15 ---------------------------------------------

#[tokio::test]
async fn push_and_llen() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["HSET", "h", "f", "v"], ":1\r\n"),
        (&["LPUSH", "l", "a"], ":1\r\n"),
        (&["LPUSH", "l", "b", "c", "d"], ":4\r\n"),
        (&["RPUSH", "l", "e", "f"], ":6\r\n"),
        (&["LRANGE", "l", "0", "-1"], "*6\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\ne\r\n$1\r\nf\r\n"),
        (&["LLEN", "l"], ":6\r\n"),
        (&["LPUSHX", "nol", "a"], ":0\r\n"),
        (&["RPUSHX", "nol", "a", "b"], ":0\r\n"),
        (&["EXISTS", "nol"], ":0\r\n"),
        (&["LPUSHX", "l", "x", "y"], ":8\r\n"),
        (&["RPUSHX", "l", "z"], ":9\r\n"),
        (&["LRANGE", "l", "0", "-1"], "*9\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\nz\r\n"),
        (&["LPUSH", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["RPUSH", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LPUSHX", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["RPUSHX", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LPUSHX", "h", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["GET", "s"], "$1\r\nv\r\n"),
        (&["LPUSH"], "-ERR wrong number of arguments for 'lpush' command\r\n"),
        (&["LPUSH", "l"], "-ERR wrong number of arguments for 'lpush' command\r\n"),
        (&["RPUSH", "l"], "-ERR wrong number of arguments for 'rpush' command\r\n"),
        (&["LPUSHX", "l"], "-ERR wrong number of arguments for 'lpushx' command\r\n"),
        (&["RPUSHX", "l"], "-ERR wrong number of arguments for 'rpushx' command\r\n"),
        (&["lpush", "l", "lower"], ":10\r\n"),
        (&["RpUsH", "l", "mixed"], ":11\r\n"),
        (&["LLEN", "l"], ":11\r\n"),
        (&["LLEN", "nol"], ":0\r\n"),
        (&["LLEN", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LLEN"], "-ERR wrong number of arguments for 'llen' command\r\n"),
        (&["LLEN", "l", "x"], "-ERR wrong number of arguments for 'llen' command\r\n"),
        (&["TYPE", "l"], "+list\r\n"),
        (&["RPUSH", "bin", "a\r\nb", "", "007", "-0", "12345678901234567890", "3.14", " 1", "1"], ":8\r\n"),
        (&["LRANGE", "bin", "0", "-1"], "*8\r\n$4\r\na\r\nb\r\n$0\r\n\r\n$3\r\n007\r\n$2\r\n-0\r\n$20\r\n12345678901234567890\r\n$4\r\n3.14\r\n$2\r\n 1\r\n$1\r\n1\r\n"),
        (&["LINDEX", "bin", "0"], "$4\r\na\r\nb\r\n"),
        (&["LINDEX", "bin", "1"], "$0\r\n\r\n"),
        (&["LINDEX", "bin", "2"], "$3\r\n007\r\n"),
        (&["LLEN", "bin"], ":8\r\n"),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lrange_and_lindex() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "l", "a", "b", "c", "d", "e", "f"], ":6\r\n"),
        (&["LRANGE", "l", "0", "0"], "*1\r\n$1\r\na\r\n"),
        (&["LRANGE", "l", "-1", "-1"], "*1\r\n$1\r\nf\r\n"),
        (
            &["LRANGE", "l", "-100", "100"],
            "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n",
        ),
        (&["LRANGE", "l", "5", "2"], "*0\r\n"),
        (&["LRANGE", "l", "100", "200"], "*0\r\n"),
        (&["LRANGE", "l", "-2", "-3"], "*0\r\n"),
        (&["LRANGE", "l", "0", "-100"], "*0\r\n"),
        (
            &["LRANGE", "l", "1", "-2"],
            "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n",
        ),
        (&["LRANGE", "l", "2", "2"], "*1\r\n$1\r\nc\r\n"),
        (&["LRANGE", "nol", "0", "-1"], "*0\r\n"),
        (
            &["LRANGE", "s", "0", "-1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LRANGE", "s", "x", "1"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LRANGE", "nol", "x", "1"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LRANGE", "l", "0", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LRANGE", "l", "1.5", "2"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LRANGE", "l", "01", "2"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
            "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n",
        ),
        (
            &["LRANGE", "l", "9223372036854775808", "1"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LRANGE", "l", "0"],
            "-ERR wrong number of arguments for 'lrange' command\r\n",
        ),
        (
            &["LRANGE", "l", "0", "1", "2"],
            "-ERR wrong number of arguments for 'lrange' command\r\n",
        ),
        (&["LINDEX", "l", "0"], "$1\r\na\r\n"),
        (&["LINDEX", "l", "5"], "$1\r\nf\r\n"),
        (&["LINDEX", "l", "-1"], "$1\r\nf\r\n"),
        (&["LINDEX", "l", "-6"], "$1\r\na\r\n"),
        (&["LINDEX", "l", "6"], "$-1\r\n"),
        (&["LINDEX", "l", "-7"], "$-1\r\n"),
        (&["LINDEX", "l", "-9223372036854775808"], "$-1\r\n"),
        (&["LINDEX", "l", "9223372036854775807"], "$-1\r\n"),
        (
            &["LINDEX", "l", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LINDEX", "nol", "x"], "$-1\r\n"),
        (
            &["LINDEX", "s", "x"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LINDEX", "s", "0"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["LINDEX", "nol", "0"], "$-1\r\n"),
        (
            &["LINDEX", "l"],
            "-ERR wrong number of arguments for 'lindex' command\r\n",
        ),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lset_and_linsert() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "l", "a", "b", "c"], ":3\r\n"),
        (&["LSET", "l", "0", "A"], "+OK\r\n"),
        (&["LSET", "l", "-1", "C"], "+OK\r\n"),
        (&["LSET", "l", "1", "B"], "+OK\r\n"),
        (&["LSET", "l", "3", "q"], "-ERR index out of range\r\n"),
        (&["LSET", "l", "-4", "q"], "-ERR index out of range\r\n"),
        (&["LSET", "l", "x", "q"], "-ERR value is not an integer or out of range\r\n"),
        (&["LSET", "nol", "0", "q"], "-ERR no such key\r\n"),
        (&["LSET", "nol", "x", "q"], "-ERR no such key\r\n"),
        (&["LSET", "s", "0", "q"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LSET", "s", "x", "q"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LSET", "l", "0"], "-ERR wrong number of arguments for 'lset' command\r\n"),
        (&["LRANGE", "l", "0", "-1"], "*3\r\n$1\r\nA\r\n$1\r\nB\r\n$1\r\nC\r\n"),
        (&["LINSERT", "l", "BEFORE", "A", "pre"], ":4\r\n"),
        (&["LINSERT", "l", "after", "C", "post"], ":5\r\n"),
        (&["LINSERT", "l", "AFTER", "B", "mid"], ":6\r\n"),
        (&["LINSERT", "l", "before", "nothere", "q"], ":-1\r\n"),
        (&["LINSERT", "l", "middle", "B", "q"], "-ERR syntax error\r\n"),
        (&["LINSERT", "l", "BeFoRe", "B", "b2"], ":7\r\n"),
        (&["LINSERT", "nol", "before", "a", "b"], ":0\r\n"),
        (&["EXISTS", "nol"], ":0\r\n"),
        (&["LINSERT", "nol", "middle", "a", "b"], "-ERR syntax error\r\n"),
        (&["LINSERT", "s", "before", "a", "b"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LINSERT", "s", "bad", "a", "b"], "-ERR syntax error\r\n"),
        (&["LINSERT", "l", "before", "A"], "-ERR wrong number of arguments for 'linsert' command\r\n"),
        (&["LRANGE", "l", "0", "-1"], "*7\r\n$3\r\npre\r\n$1\r\nA\r\n$2\r\nb2\r\n$1\r\nB\r\n$3\r\nmid\r\n$1\r\nC\r\n$4\r\npost\r\n"),
        (&["RPUSH", "d", "x", "y", "x"], ":3\r\n"),
        (&["LINSERT", "d", "AFTER", "x", "z"], ":4\r\n"),
        (&["LRANGE", "d", "0", "-1"], "*4\r\n$1\r\nx\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n"),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lrem() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "r", "a", "b", "a", "c", "a", "d", "a"], ":7\r\n"),
        (&["LREM", "r", "2", "a"], ":2\r\n"),
        (
            &["LRANGE", "r", "0", "-1"],
            "*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\na\r\n",
        ),
        (&["LREM", "r", "-1", "a"], ":1\r\n"),
        (
            &["LRANGE", "r", "0", "-1"],
            "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd\r\n",
        ),
        (&["RPUSH", "r", "a", "a"], ":6\r\n"),
        (&["LREM", "r", "0", "a"], ":3\r\n"),
        (
            &["LRANGE", "r", "0", "-1"],
            "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
        ),
        (&["LREM", "r", "0", "zz"], ":0\r\n"),
        (
            &["LREM", "r", "x", "a"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LREM", "nol", "1", "a"], ":0\r\n"),
        (
            &["LREM", "nol", "x", "a"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["LREM", "s", "1", "a"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LREM", "s", "x", "a"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["LREM", "r", "0", "b"], ":1\r\n"),
        (&["LREM", "r", "0", "c"], ":1\r\n"),
        (&["LREM", "r", "0", "d"], ":1\r\n"),
        (&["EXISTS", "r"], ":0\r\n"),
        (&["RPUSH", "r", "a", "b", "a", "c", "a"], ":5\r\n"),
        (&["LREM", "r", "-2", "a"], ":2\r\n"),
        (
            &["LRANGE", "r", "0", "-1"],
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (&["LREM", "r", "-9223372036854775808", "a"], ":1\r\n"),
        (&["LRANGE", "r", "0", "-1"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        (&["RPUSH", "r", "a", "b", "a"], ":5\r\n"),
        (&["LREM", "r", "9223372036854775807", "a"], ":2\r\n"),
        (
            &["LRANGE", "r", "0", "-1"],
            "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nb\r\n",
        ),
        (
            &["LREM", "r", "1"],
            "-ERR wrong number of arguments for 'lrem' command\r\n",
        ),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn ltrim() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "t", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], ":10\r\n"),
        (&["LTRIM", "t", "1", "-2"], "+OK\r\n"),
        (&["LRANGE", "t", "0", "-1"], "*8\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n7\r\n$1\r\n8\r\n"),
        (&["LTRIM", "t", "-3", "100"], "+OK\r\n"),
        (&["LRANGE", "t", "0", "-1"], "*3\r\n$1\r\n6\r\n$1\r\n7\r\n$1\r\n8\r\n"),
        (&["LTRIM", "t", "1", "0"], "+OK\r\n"),
        (&["EXISTS", "t"], ":0\r\n"),
        (&["LTRIM", "nol", "0", "1"], "+OK\r\n"),
        (&["EXISTS", "nol"], ":0\r\n"),
        (&["LTRIM", "s", "0", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LTRIM", "s", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
        (&["LTRIM", "nol", "x", "1"], "-ERR value is not an integer or out of range\r\n"),
        (&["LTRIM", "nol", "1", "y"], "-ERR value is not an integer or out of range\r\n"),
        (&["RPUSH", "t", "a", "b", "c"], ":3\r\n"),
        (&["LTRIM", "t", "0", "0"], "+OK\r\n"),
        (&["LRANGE", "t", "0", "-1"], "*1\r\n$1\r\na\r\n"),
        (&["LTRIM", "t", "5", "10"], "+OK\r\n"),
        (&["EXISTS", "t"], ":0\r\n"),
        (&["RPUSH", "t", "a", "b", "c"], ":3\r\n"),
        (&["LTRIM", "t", "-9223372036854775808", "9223372036854775807"], "+OK\r\n"),
        (&["LRANGE", "t", "0", "-1"], "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        (&["LTRIM", "t", "-2", "-1"], "+OK\r\n"),
        (&["LRANGE", "t", "0", "-1"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        (&["LTRIM", "t", "0"], "-ERR wrong number of arguments for 'ltrim' command\r\n"),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lpos() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c"], ":8\r\n"),
        (&["LPOS", "p", "c"], ":2\r\n"),
        (&["LPOS", "p", "c", "RANK", "2"], ":6\r\n"),
        (&["LPOS", "p", "c", "RANK", "-1"], ":7\r\n"),
        (&["LPOS", "p", "c", "RANK", "-3"], ":2\r\n"),
        (&["LPOS", "p", "c", "RANK", "4"], "$-1\r\n"),
        (&["LPOS", "p", "c", "RANK", "-4"], "$-1\r\n"),
        (&["LPOS", "p", "c", "COUNT", "2"], "*2\r\n:2\r\n:6\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0"], "*3\r\n:2\r\n:6\r\n:7\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0", "RANK", "2"], "*2\r\n:6\r\n:7\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0", "RANK", "-1"], "*3\r\n:7\r\n:6\r\n:2\r\n"),
        (&["LPOS", "p", "c", "COUNT", "2", "RANK", "-1"], "*2\r\n:7\r\n:6\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0", "MAXLEN", "3"], "*1\r\n:2\r\n"),
        (&["LPOS", "p", "c", "COUNT", "0", "MAXLEN", "7"], "*2\r\n:2\r\n:6\r\n"),
        (&["LPOS", "p", "c", "MAXLEN", "1"], "$-1\r\n"),
        (&["LPOS", "p", "c", "RANK", "-1", "MAXLEN", "1"], ":7\r\n"),
        (&["LPOS", "p", "c", "RANK", "-1", "MAXLEN", "2", "COUNT", "0"], "*2\r\n:7\r\n:6\r\n"),
        (&["LPOS", "p", "c", "RANK", "2", "MAXLEN", "7"], ":6\r\n"),
        (&["LPOS", "p", "zz"], "$-1\r\n"),
        (&["LPOS", "p", "zz", "COUNT", "0"], "*0\r\n"),
        (&["LPOS", "p", "c", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        (&["LPOS", "p", "c", "RANK", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["LPOS", "p", "c", "COUNT", "-1"], "-ERR COUNT can't be negative\r\n"),
        (&["LPOS", "p", "c", "COUNT", "x"], "-ERR COUNT can't be negative\r\n"),
        (&["LPOS", "p", "c", "MAXLEN", "-1"], "-ERR MAXLEN can't be negative\r\n"),
        (&["LPOS", "p", "c", "MAXLEN", "x"], "-ERR MAXLEN can't be negative\r\n"),
        (&["LPOS", "p", "c", "RANK"], "-ERR syntax error\r\n"),
        (&["LPOS", "p", "c", "COUNT"], "-ERR syntax error\r\n"),
        (&["LPOS", "p", "c", "FOO", "1"], "-ERR syntax error\r\n"),
        (&["LPOS", "p", "c", "rank", "1", "count", "1", "maxlen", "0"], "*1\r\n:2\r\n"),
        (&["LPOS", "p", "c", "RANK", "2", "RANK", "1"], ":2\r\n"),
        (&["LPOS", "p", "c", "COUNT", "1", "COUNT", "3"], "*3\r\n:2\r\n:6\r\n:7\r\n"),
        (&["LPOS", "p", "c", "RANK", "-9223372036854775808"], ":7\r\n"),
        (&["LPOS", "p", "c", "RANK", "-9223372036854775808", "COUNT", "1"], "*3\r\n:7\r\n:6\r\n:2\r\n"),
        (&["LPOS", "p", "c", "RANK", "-9223372036854775807", "COUNT", "1"], "*0\r\n"),
        (&["LPOS", "p", "c", "RANK", "9223372036854775807"], "$-1\r\n"),
        (&["LPOS", "p", "c", "RANK", "9223372036854775808"], "-ERR value is not an integer or out of range\r\n"),
        (&["LPOS", "nol", "c"], "$-1\r\n"),
        (&["LPOS", "nol", "c", "COUNT", "1"], "*0\r\n"),
        (&["LPOS", "nol", "c", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        (&["LPOS", "nol", "c", "COUNT", "-1"], "-ERR COUNT can't be negative\r\n"),
        (&["LPOS", "s", "c"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LPOS", "s", "c", "RANK", "0"], "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        (&["LPOS", "s", "c", "COUNT", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["LPOS", "p"], "-ERR wrong number of arguments for 'lpos' command\r\n"),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lpop_rpop() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "q", "a", "b", "c", "d", "e"], ":5\r\n"),
        (&["LPOP", "q"], "$1\r\na\r\n"),
        (&["RPOP", "q"], "$1\r\ne\r\n"),
        (&["LPOP", "q", "2"], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"),
        (&["RPOP", "q", "0"], "*0\r\n"),
        (&["LPOP", "q", "0"], "*0\r\n"),
        (&["RPOP", "q", "5"], "*1\r\n$1\r\nd\r\n"),
        (&["EXISTS", "q"], ":0\r\n"),
        (&["LPOP", "nol"], "$-1\r\n"),
        (&["RPOP", "nol"], "$-1\r\n"),
        (&["LPOP", "nol", "0"], "*-1\r\n"),
        (&["LPOP", "nol", "2"], "*-1\r\n"),
        (
            &["LPOP", "nol", "-1"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "nol", "x"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "s"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["RPOP", "s"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LPOP", "s", "0"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LPOP", "s", "1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LPOP", "s", "-1"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["RPOP", "q", "1", "2"],
            "-ERR wrong number of arguments for 'rpop' command\r\n",
        ),
        (
            &["LPOP", "q", "1", "2", "3"],
            "-ERR wrong number of arguments for 'lpop' command\r\n",
        ),
        (
            &["LPOP"],
            "-ERR wrong number of arguments for 'lpop' command\r\n",
        ),
        (
            &["RPOP"],
            "-ERR wrong number of arguments for 'rpop' command\r\n",
        ),
        (&["RPUSH", "q", "a", "b", "c"], ":3\r\n"),
        (&["RPOP", "q", "2"], "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
        (&["LPOP", "q", "1"], "*1\r\n$1\r\na\r\n"),
        (&["EXISTS", "q"], ":0\r\n"),
        (&["RPUSH", "q", "x"], ":1\r\n"),
        (&["RPOP", "q"], "$1\r\nx\r\n"),
        (&["EXISTS", "q"], ":0\r\n"),
        (&["RPUSH", "q", "a", "b", "c"], ":3\r\n"),
        (
            &["RPOP", "q", "9223372036854775807"],
            "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n",
        ),
        (&["RPUSH", "q", "a", "b", "c"], ":3\r\n"),
        (
            &["RPOP", "q", "9223372036854775808"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "q", "01"],
            "-ERR value is out of range, must be positive\r\n",
        ),
        (
            &["LPOP", "q", "3"],
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lmove_rpoplpush() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["HSET", "h", "f", "v"], ":1\r\n"),
        (&["RPUSH", "m1", "a", "b", "c"], ":3\r\n"),
        (&["LMOVE", "m1", "m2", "LEFT", "RIGHT"], "$1\r\na\r\n"),
        (&["LMOVE", "m1", "m2", "right", "left"], "$1\r\nc\r\n"),
        (&["LRANGE", "m1", "0", "-1"], "*1\r\n$1\r\nb\r\n"),
        (&["LRANGE", "m2", "0", "-1"], "*2\r\n$1\r\nc\r\n$1\r\na\r\n"),
        (&["LMOVE", "m1", "m2", "LEFT", "LEFT"], "$1\r\nb\r\n"),
        (&["EXISTS", "m1"], ":0\r\n"),
        (&["LMOVE", "m1", "m2", "LEFT", "LEFT"], "$-1\r\n"),
        (&["LMOVE", "m2", "m2", "LEFT", "RIGHT"], "$1\r\nb\r\n"),
        (
            &["LRANGE", "m2", "0", "-1"],
            "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
        (&["LMOVE", "m2", "m2", "RIGHT", "LEFT"], "$1\r\nb\r\n"),
        (
            &["LRANGE", "m2", "0", "-1"],
            "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n",
        ),
        (
            &["LMOVE", "m2", "m1", "up", "LEFT"],
            "-ERR syntax error\r\n",
        ),
        (
            &["LMOVE", "m2", "m1", "LEFT", "up"],
            "-ERR syntax error\r\n",
        ),
        (
            &["LMOVE", "nol", "m1", "up", "LEFT"],
            "-ERR syntax error\r\n",
        ),
        (&["LMOVE", "nol", "s", "LEFT", "LEFT"], "$-1\r\n"),
        (
            &["LMOVE", "m2", "s", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMOVE", "s", "m2", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMOVE", "s", "nol", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMOVE", "s", "s", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMOVE", "s", "h", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LRANGE", "m2", "0", "-1"],
            "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n",
        ),
        (
            &["LMOVE", "m2", "m1", "LEFT"],
            "-ERR wrong number of arguments for 'lmove' command\r\n",
        ),
        (&["RPOPLPUSH", "m2", "m1"], "$1\r\na\r\n"),
        (&["RPOPLPUSH", "m2", "m1"], "$1\r\nc\r\n"),
        (&["RPOPLPUSH", "m2", "m1"], "$1\r\nb\r\n"),
        (&["RPOPLPUSH", "m2", "m1"], "$-1\r\n"),
        (
            &["LRANGE", "m1", "0", "-1"],
            "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n",
        ),
        (&["EXISTS", "m2"], ":0\r\n"),
        (&["RPOPLPUSH", "nol", "m1"], "$-1\r\n"),
        (&["RPOPLPUSH", "nol", "s"], "$-1\r\n"),
        (
            &["RPOPLPUSH", "m1", "s"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["RPOPLPUSH", "s", "m1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["RPOPLPUSH", "m1", "m1"], "$1\r\na\r\n"),
        (
            &["LRANGE", "m1", "0", "-1"],
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (&["RPUSH", "one", "x"], ":1\r\n"),
        (&["RPOPLPUSH", "one", "one"], "$1\r\nx\r\n"),
        (&["LRANGE", "one", "0", "-1"], "*1\r\n$1\r\nx\r\n"),
        (&["LMOVE", "one", "one", "LEFT", "LEFT"], "$1\r\nx\r\n"),
        (&["LMOVE", "one", "one", "RIGHT", "RIGHT"], "$1\r\nx\r\n"),
        (&["LRANGE", "one", "0", "-1"], "*1\r\n$1\r\nx\r\n"),
        (&["LMOVE", "one", "other", "RIGHT", "RIGHT"], "$1\r\nx\r\n"),
        (&["EXISTS", "one"], ":0\r\n"),
        (&["LRANGE", "other", "0", "-1"], "*1\r\n$1\r\nx\r\n"),
        (
            &["RPOPLPUSH", "m1"],
            "-ERR wrong number of arguments for 'rpoplpush' command\r\n",
        ),
        (
            &["RPOPLPUSH", "m1", "m2", "m3"],
            "-ERR wrong number of arguments for 'rpoplpush' command\r\n",
        ),
    ])
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn lmpop() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "a2", "1", "2", "3", "4", "5"], ":5\r\n"),
        (
            &["LMPOP", "3", "a1", "a2", "a3", "LEFT"],
            "*2\r\n$2\r\na2\r\n*1\r\n$1\r\n1\r\n",
        ),
        (
            &["LMPOP", "3", "a1", "a2", "a3", "RIGHT", "COUNT", "2"],
            "*2\r\n$2\r\na2\r\n*2\r\n$1\r\n5\r\n$1\r\n4\r\n",
        ),
        (
            &["LMPOP", "3", "a1", "a2", "a3", "left", "count", "10"],
            "*2\r\n$2\r\na2\r\n*2\r\n$1\r\n2\r\n$1\r\n3\r\n",
        ),
        (&["EXISTS", "a2"], ":0\r\n"),
        (&["LMPOP", "3", "a1", "a2", "a3", "LEFT"], "*-1\r\n"),
        (&["LMPOP", "1", "a1", "LEFT", "COUNT", "1"], "*-1\r\n"),
        (
            &["LMPOP", "2", "a1", "s", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (
            &["LMPOP", "2", "s", "a1", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["RPUSH", "a3", "z"], ":1\r\n"),
        (
            &["LMPOP", "2", "a3", "s", "LEFT"],
            "*2\r\n$2\r\na3\r\n*1\r\n$1\r\nz\r\n",
        ),
        (
            &["LMPOP", "0", "a1", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "-1", "a1", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "x", "a1", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["LMPOP", "2", "a1", "LEFT"], "-ERR syntax error\r\n"),
        (&["LMPOP", "1", "a1", "MIDDLE"], "-ERR syntax error\r\n"),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT"],
            "-ERR syntax error\r\n",
        ),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT", "-1"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT", "x"],
            "-ERR count should be greater than 0\r\n",
        ),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT", "1", "COUNT", "1"],
            "-ERR syntax error\r\n",
        ),
        (
            &["LMPOP", "1", "a1", "LEFT", "FOO"],
            "-ERR syntax error\r\n",
        ),
        (
            &["LMPOP", "1", "a1"],
            "-ERR wrong number of arguments for 'lmpop' command\r\n",
        ),
        (
            &["LMPOP", "1"],
            "-ERR wrong number of arguments for 'lmpop' command\r\n",
        ),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT", "9223372036854775807"],
            "*-1\r\n",
        ),
        (
            &["LMPOP", "9223372036854775806", "a1", "LEFT"],
            "-ERR syntax error\r\n",
        ),
        (
            &["LMPOP", "9223372036854775807", "a1", "LEFT"],
            "-ERR syntax error\r\n",
        ),
        (&["RPUSH", "a1", "x"], ":1\r\n"),
        (
            &["LMPOP", "1", "a1", "LEFT", "COUNT", "9223372036854775807"],
            "*2\r\n$2\r\na1\r\n*1\r\n$1\r\nx\r\n",
        ),
    ])
    .await;
    srv.stop().await;
}

/// In RESP3 every null (bulk or array) is `_`.
#[tokio::test]
async fn resp3_nulls() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.hello(3).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "l", "a", "b", "c"], ":3\r\n"),
        (&["LPOP", "nol"], "_\r\n"),
        (&["RPOP", "nol"], "_\r\n"),
        (&["LPOP", "nol", "1"], "_\r\n"),
        (&["RPOP", "nol", "0"], "_\r\n"),
        (&["LPOP", "l", "0"], "*0\r\n"),
        (&["LPOP", "l", "2"], "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        (&["LINDEX", "nol", "0"], "_\r\n"),
        (&["LINDEX", "l", "5"], "_\r\n"),
        (&["LINDEX", "l", "0"], "$1\r\nc\r\n"),
        (&["LPOS", "nol", "a"], "_\r\n"),
        (&["LPOS", "l", "zz"], "_\r\n"),
        (&["LPOS", "l", "c"], ":0\r\n"),
        (&["LPOS", "l", "zz", "COUNT", "0"], "*0\r\n"),
        (&["LPOS", "nol", "zz", "COUNT", "0"], "*0\r\n"),
        (&["LMOVE", "nol", "l", "LEFT", "LEFT"], "_\r\n"),
        (&["RPOPLPUSH", "nol", "l"], "_\r\n"),
        (&["LMPOP", "1", "nol", "LEFT"], "_\r\n"),
        (
            &["LMPOP", "2", "nol", "l", "RIGHT", "COUNT", "3"],
            "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nc\r\n",
        ),
        (&["LRANGE", "nol", "0", "-1"], "*0\r\n"),
        (&["LRANGE", "l", "0", "-1"], "*0\r\n"),
        (
            &["LPOP", "s", "1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
    ])
    .await;
    srv.stop().await;
}

/// Queued list commands run atomically; argument errors surface only in EXEC's reply.
#[tokio::test]
async fn transactions() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["MULTI"], "+OK\r\n"),
        (&["RPUSH", "a", "1", "2", "3"], "+QUEUED\r\n"),
        (&["LMPOP", "2", "b", "a", "RIGHT", "COUNT", "2"], "+QUEUED\r\n"),
        (&["LMOVE", "a", "b", "LEFT", "LEFT"], "+QUEUED\r\n"),
        (&["RPOPLPUSH", "b", "c"], "+QUEUED\r\n"),
        (&["LRANGE", "c", "0", "-1"], "+QUEUED\r\n"),
        (&["LPOP", "x", "1"], "+QUEUED\r\n"),
        (&["LPOP", "x"], "+QUEUED\r\n"),
        (&["LMPOP", "1", "x", "LEFT"], "+QUEUED\r\n"),
        (&["EXEC"], "*8\r\n:3\r\n*2\r\n$1\r\na\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n1\r\n*1\r\n$1\r\n1\r\n*-1\r\n$-1\r\n*-1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["LPOP", "a", "1", "2"], "+QUEUED\r\n"),
        (&["LMPOP", "0", "a", "LEFT"], "+QUEUED\r\n"),
        (&["LPOS", "a", "b", "RANK", "0"], "+QUEUED\r\n"),
        (&["EXEC"], "*3\r\n-ERR wrong number of arguments for 'lpop' command\r\n-ERR numkeys should be greater than 0\r\n-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["LPUSH"], "-ERR wrong number of arguments for 'lpush' command\r\n"),
        (&["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n"),
    ])
    .await;
    srv.stop().await;
}

/// A list command dooms a WATCHing transaction only when it may change the key: never on
/// WRONGTYPE or when it finds nothing to do (Redis's `signalModifiedKey` calls).
#[tokio::test]
async fn watch_marked_only_by_changes() {
    let srv = TestServer::start().await;
    let mut c = Raw::connect(&srv).await;
    c.script(&[
        (&["SET", "s", "v"], "+OK\r\n"),
        (&["RPUSH", "l", "a", "b", "c"], ":3\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LPUSH", "s", "x"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["RPUSHX", "s", "x"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LREM", "l", "0", "nomatch"], ":0\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LPOP", "l", "0"], "*0\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["RPOP", "l", "0"], "*0\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LINSERT", "l", "BEFORE", "nomatch", "x"], ":-1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LSET", "l", "100", "x"], "-ERR index out of range\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (
            &["LSET", "l", "x", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LTRIM", "l", "0", "-1"], "+OK\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LPUSH", "l", "x"], ":4\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LMOVE", "l", "s", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (
            &["LMOVE", "l", "s", "LEFT", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (
            &["RPOPLPUSH", "l", "s"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LMPOP", "1", "s", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (
            &["LMPOP", "2", "s", "l", "LEFT"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LPOS", "l", "a"], ":1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (
            &["LRANGE", "l", "0", "-1"],
            "*4\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LINDEX", "l", "0"], "$1\r\nx\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LLEN", "l"], ":4\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "nol"], "+OK\r\n"),
        (&["LPUSHX", "nol", "a"], ":0\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "nol"], "+OK\r\n"),
        (&["LPOP", "nol"], "$-1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LPOP", "s"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LPOP", "s", "0"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LTRIM", "s", "0", "1"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LSET", "s", "0", "x"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LREM", "s", "0", "x"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "s"], "+OK\r\n"),
        (
            &["LINSERT", "s", "before", "a", "b"],
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LREM", "l", "1", "a"], ":1\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LINSERT", "l", "BEFORE", "b", "b0"], ":4\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LSET", "l", "0", "x"], "+OK\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LMOVE", "l", "l", "LEFT", "LEFT"], "$1\r\nx\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (
            &["LMPOP", "1", "l", "LEFT", "COUNT", "1"],
            "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nx\r\n",
        ),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*-1\r\n"),
        (&["WATCH", "l"], "+OK\r\n"),
        (&["LPOP", "l", "0"], "*0\r\n"),
        (&["MULTI"], "+OK\r\n"),
        (&["PING"], "+QUEUED\r\n"),
        (&["EXEC"], "*1\r\n+PONG\r\n"),
    ])
    .await;
    srv.stop().await;
}

// ---- Blocked clients ------------------------------------------------------------------------

fn bulks(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(|s| bulk(s)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_and_moves_wake_blocked_clients() {
    let srv = TestServer::start().await;
    let mut p = srv.client().await;
    let mut w = srv.client().await;

    // The pusher's reply counts every element pushed; the waiter then takes the first.
    send(&mut w, &["BLPOP", "q", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(
        cmd(&mut p, &["RPUSH", "q", "a", "b"]).await,
        Frame::Integer(2)
    );
    assert_eq!(reply(&mut w).await, bulks(&["q", "a"]));
    assert_eq!(
        cmd(&mut p, &["LRANGE", "q", "0", "-1"]).await,
        bulks(&["b"])
    );

    // LPUSHX on a missing key adds nothing and wakes nobody; an LMOVE into the key does.
    send(&mut w, &["BRPOP", "q2", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["LPUSHX", "q2", "x"]).await, Frame::Integer(0));
    assert!(w
        .read_frame_timeout(Duration::from_millis(50))
        .await
        .is_err());
    assert_eq!(
        cmd(&mut p, &["LMOVE", "q", "q2", "LEFT", "RIGHT"]).await,
        bulk("b")
    );
    assert_eq!(reply(&mut w).await, bulks(&["q2", "b"]));
    assert_eq!(cmd(&mut p, &["EXISTS", "q", "q2"]).await, Frame::Integer(0));

    // RPOPLPUSH into the source of a blocked BLMOVE: the element travels on to its target.
    send(&mut w, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]).await;
    wait_blocked(&srv, 1).await;
    assert_eq!(cmd(&mut p, &["RPUSH", "m", "x"]).await, Frame::Integer(1));
    assert_eq!(cmd(&mut p, &["RPOPLPUSH", "m", "src"]).await, bulk("x"));
    assert_eq!(reply(&mut w).await, bulk("x"));
    assert_eq!(
        cmd(&mut p, &["LRANGE", "dst", "0", "-1"]).await,
        bulks(&["x"])
    );
    assert_eq!(
        cmd(&mut p, &["EXISTS", "m", "src"]).await,
        Frame::Integer(0)
    );

    // LPUSH serves a BLMPOP with a count.
    send(
        &mut w,
        &["BLMPOP", "0", "2", "k1", "k2", "RIGHT", "COUNT", "2"],
    )
    .await;
    wait_blocked(&srv, 1).await;
    assert_eq!(
        cmd(&mut p, &["LPUSH", "k2", "1", "2", "3"]).await,
        Frame::Integer(3)
    );
    assert_eq!(
        reply(&mut w).await,
        Frame::Array(vec![bulk("k2"), bulks(&["1", "2"])])
    );
    assert_eq!(
        cmd(&mut p, &["LRANGE", "k2", "0", "-1"]).await,
        bulks(&["3"])
    );
    srv.stop().await;
}

// ---- Concurrency ----------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn side(&mut self) -> &'static str {
        if self.below(2) == 0 {
            "LEFT"
        } else {
            "RIGHT"
        }
    }
}

fn frames_to_strings(f: Frame) -> Vec<String> {
    match f {
        Frame::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("unexpected element {other:?}"),
            })
            .collect(),
        Frame::NullArray | Frame::Null => Vec::new(),
        other => panic!("unexpected reply {other:?}"),
    }
}

/// Clients shuffle elements between lists (keys in different shards) with LMOVE, RPOPLPUSH,
/// LMPOP and LPOP + RPUSH at once; afterwards every element is still there exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_moves_between_shards_lose_nothing() {
    const KEYS: u64 = 8;
    const ITEMS: usize = 200;
    const CLIENTS: u64 = 8;
    const OPS: usize = 300;
    let srv = TestServer::start().await;
    let mut c = srv.client().await;
    for i in 0..ITEMS {
        let key = format!("list{}", i as u64 % KEYS);
        cmd(&mut c, &["RPUSH", &key, &i.to_string()]).await;
    }
    let mut tasks = Vec::new();
    for t in 0..CLIENTS {
        let mut c = srv.client().await;
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
            for _ in 0..OPS {
                let src = format!("list{}", rng.below(KEYS));
                let dst = format!("list{}", rng.below(KEYS));
                match rng.below(4) {
                    0 => {
                        let (from, to) = (rng.side(), rng.side());
                        cmd(&mut c, &["LMOVE", &src, &dst, from, to]).await;
                    }
                    1 => {
                        cmd(&mut c, &["RPOPLPUSH", &src, &dst]).await;
                    }
                    2 => {
                        let other = format!("list{}", rng.below(KEYS));
                        let n = (1 + rng.below(3)).to_string();
                        let side = rng.side();
                        let r = cmd(&mut c, &["LMPOP", "2", &src, &other, side, "COUNT", &n]).await;
                        if let Frame::Array(mut kv) = r {
                            let elems = frames_to_strings(kv.pop().expect("elements"));
                            let mut args = vec!["RPUSH", &dst];
                            args.extend(elems.iter().map(String::as_str));
                            cmd(&mut c, &args).await;
                        }
                    }
                    _ => {
                        let n = rng.below(3).to_string();
                        let elems = frames_to_strings(cmd(&mut c, &["LPOP", &src, &n]).await);
                        if !elems.is_empty() {
                            let mut args = vec!["LPUSH", &dst];
                            args.extend(elems.iter().map(String::as_str));
                            cmd(&mut c, &args).await;
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut all = Vec::new();
    for k in 0..KEYS {
        let key = format!("list{k}");
        all.extend(frames_to_strings(
            cmd(&mut c, &["LRANGE", &key, "0", "-1"]).await,
        ));
    }
    let mut all: Vec<usize> = all.iter().map(|s| s.parse().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..ITEMS).collect::<Vec<_>>());
    srv.stop().await;
}

// ---- A long random mix, against Redis's replies ----------------------------------------------

/// FNV-1a 64 of every reply's bytes of [`random_mix`] run on redis-server 7.0.15.
const RANDOM_MIX_DIGEST: u64 = 0x5af9_e0e5_e9ff_32e8;
/// Commands in [`random_mix`].
const RANDOM_MIX_LEN: usize = 4000;

/// One pseudo-random list command over three lists and a string (for WRONGTYPE), with
/// indexes and counts around the lists' lengths so every branch gets its turn.
fn random_command(r: &mut Rng) -> Vec<String> {
    let key = |r: &mut Rng| match r.below(12) {
        0 => "str".to_string(),
        n => format!("k{}", n % 3),
    };
    let elem = |r: &mut Rng| format!("e{}", r.below(6));
    let index = |r: &mut Rng| (r.below(61) as i64 - 30).to_string();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match r.below(20) {
        0..=5 => {
            let name = ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"][r.below(4) as usize];
            let mut c = vec![name.to_string(), key(r)];
            for _ in 0..1 + r.below(8) {
                c.push(elem(r));
            }
            c
        }
        6 | 7 => {
            let name = ["LPOP", "RPOP"][r.below(2) as usize];
            let mut c = vec![name.to_string(), key(r)];
            if r.below(2) == 0 {
                c.push(r.below(5).to_string());
            }
            c
        }
        8 => vec!["LINDEX".into(), key(r), index(r)],
        9 => vec!["LSET".into(), key(r), index(r), elem(r)],
        10 => {
            let where_ = ["BEFORE", "AFTER"][r.below(2) as usize];
            vec!["LINSERT".into(), key(r), where_.into(), elem(r), elem(r)]
        }
        11 => vec![
            "LREM".into(),
            key(r),
            (r.below(7) as i64 - 3).to_string(),
            elem(r),
        ],
        12 if r.below(6) == 0 => vec!["LTRIM".into(), key(r), index(r), index(r)],
        12 => vec!["LLEN".into(), key(r)],
        13 | 14 => vec!["LRANGE".into(), key(r), index(r), index(r)],
        15 | 16 => {
            let mut c = vec!["LPOS".into(), key(r), elem(r)];
            if r.below(2) == 0 {
                let rank = r.below(6) as i64 - 3;
                c.extend(s(&[
                    "RANK",
                    &(if rank == 0 { 1 } else { rank }).to_string(),
                ]));
            }
            if r.below(2) == 0 {
                c.extend(s(&["COUNT", &r.below(4).to_string()]));
            }
            if r.below(3) == 0 {
                c.extend(s(&["MAXLEN", &r.below(20).to_string()]));
            }
            c
        }
        17 => {
            let (from, to) = (r.side(), r.side());
            vec!["LMOVE".into(), key(r), key(r), from.into(), to.into()]
        }
        18 => vec!["RPOPLPUSH".into(), key(r), key(r)],
        _ => {
            let mut c = s(&["LMPOP", "2"]);
            c.push(key(r));
            c.push(key(r));
            c.push(r.side().into());
            if r.below(2) == 0 {
                c.extend(s(&["COUNT", &(1 + r.below(4)).to_string()]));
            }
            c
        }
    }
}

/// The commands of the random mix (after `SET str v`), then each list's final contents.
fn random_mix() -> Vec<Vec<String>> {
    let mut r = Rng(0x5eed_1157);
    let mut cmds: Vec<Vec<String>> = (0..RANDOM_MIX_LEN)
        .map(|_| random_command(&mut r))
        .collect();
    for k in ["k0", "k1", "k2"] {
        cmds.push(vec!["LRANGE".into(), k.into(), "0".into(), "-1".into()]);
    }
    cmds
}

async fn run_mix(c: &mut Raw, cmds: &[Vec<String>]) -> Vec<Vec<u8>> {
    c.call(&["FLUSHALL"]).await;
    c.call(&["SET", "str", "v"]).await;
    let mut replies = Vec::with_capacity(cmds.len());
    for cmd in cmds {
        replies.push(c.call(cmd).await);
    }
    replies
}

fn fnv1a(replies: &[Vec<u8>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in replies.iter().flatten() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[tokio::test]
async fn random_mix_matches_redis() {
    let srv = TestServer::start().await;
    let cmds = random_mix();
    let mut c = Raw::connect(&srv).await;
    let ours = run_mix(&mut c, &cmds).await;
    if let Ok(addr) = std::env::var("CONFAB_LISTS_REFERENCE") {
        let mut r = Raw::connect_to(&addr).await;
        let theirs = run_mix(&mut r, &cmds).await;
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b),
                "command {i}: {:?}",
                cmds[i]
            );
        }
        eprintln!("reference digest: {:#x}", fnv1a(&theirs));
    }
    // Sanity: the mix exercises real lists, not just errors and empty replies.
    let longest = ours.iter().map(|r| r.len()).max().unwrap_or(0);
    assert!(
        longest > 60,
        "lists never grew: longest reply {longest} bytes"
    );
    assert_eq!(
        fnv1a(&ours),
        RANDOM_MIX_DIGEST,
        "replies differ from redis-server 7.0.15's; rerun with CONFAB_LISTS_REFERENCE=host:port \
         (a scratch redis-server: it is flushed) to see the first difference"
    );
    srv.stop().await;
}
