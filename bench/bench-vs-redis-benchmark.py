#!/usr/bin/env python3
"""Compare `confab bench requests` with `redis-benchmark` against the same redis-server.

Both tools run with the same clients, pipeline, request count, key space and tests,
alternating in ABBA order (redis-benchmark then confab, then confab then redis-benchmark,
...) for ROUNDS rounds. Each tool's
own CPU time (user + system) comes from wait4()'s rusage of the child process, the same
measurement for both. Prints one line per (round, pipeline, tool, test) and a median summary.

Usage: PORT=7391 CONFAB=target/release/confab ROUNDS=3 python3 bench/bench-vs-redis-benchmark.py
"""
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import time

PORT = os.environ.get("PORT", "7391")
CONFAB = os.environ.get("CONFAB", "target/release/confab")
ROUNDS = int(os.environ.get("ROUNDS", "3"))
CLIENTS = os.environ.get("CLIENTS", "50")
TESTS = os.environ.get("TESTS", "ping,set,get,incr,lpush,mset")
N = {1: os.environ.get("N1", "100000"), 16: os.environ.get("N16", "400000")}


def run(cmd):
    """Run cmd; return (stdout, cpu seconds of the child, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if status != 0:
        sys.exit(f"{cmd} failed with status {status}")
    return out.decode(), ru.ru_utime + ru.ru_stime, wall


def redis_benchmark(p):
    out, cpu, wall = run(["redis-benchmark", "-p", PORT, "-c", CLIENTS, "-P", str(p),
                          "-n", N[p], "-r", "100000", "-t", TESTS, "--csv"])
    rows = {}
    for r in csv.reader(io.StringIO(out)):
        if r and r[0] != "test":
            rows[r[0].split(" ")[0]] = float(r[1])
    return rows, cpu, wall


def confab(p):
    out, cpu, wall = run([CONFAB, "bench", "requests", "-p", PORT, "-c", CLIENTS, "-P", str(p),
                          "-n", N[p], "-r", "100000", "-t", TESTS, "--json"])
    doc = json.loads(out)
    return {t["name"]: t["rps"] for t in doc["tests"]}, cpu, wall


results = {}  # (p, tool) -> list of (rows, cpu, requests)
for rnd in range(ROUNDS):
    for p in (1, 16):
        order = (("redis-benchmark", redis_benchmark), ("confab bench", confab))
        # ABBA: odd rounds run confab first, so neither tool always runs into the other's wake.
        for tool, fn in (order if rnd % 2 == 0 else order[::-1]):
            rows, cpu, wall = fn(p)
            total = int(N[p]) * len(rows)
            results.setdefault((p, tool), []).append((rows, cpu, total))
            cells = " ".join(f"{k}={v:.0f}" for k, v in rows.items())
            print(f"round {rnd} P={p:<2} {tool:<15} cpu={cpu:.2f}s "
                  f"cpu/req={cpu / total * 1e6:.2f}us wall={wall:.1f}s {cells}", flush=True)

print()
print("| P | tool | " + " | ".join(["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "MSET"])
      + " | CPU µs/request |")
print("|---|---|" + "---:|" * 8)
for p in (1, 16):
    for tool in ("redis-benchmark", "confab bench"):
        runs = results[(p, tool)]
        names = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "MSET"]
        med = [statistics.median(r[0].get(n, 0.0) for r in runs) for n in names]
        cpu = statistics.median(r[1] / r[2] * 1e6 for r in runs)
        print(f"| {p} | {tool} | " + " | ".join(f"{v:,.0f}" for v in med) + f" | {cpu:.2f} |")
