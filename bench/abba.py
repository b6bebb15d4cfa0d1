#!/usr/bin/env python3
"""Two servers, one cell at a time, in ABBA order: a paired comparison that survives noise.

The shared two-core machine moves a server's CPU per request by up to 40% from one minute to
the next, the same for every server. `resp-matrix.sh` runs a whole matrix against one server
before moving to the next, so a slow minute lands on one side. This script runs each cell
(test, pipeline) against both servers back to back, in ABBA order (A B, then B A, ...), for
ROUNDS rounds, so each pair of runs shares its minute. For each cell it prints the median
rps, p99 and server CPU per request of each server, the ratio of medians (B / A), and in how
many of the paired rounds B was at least as fast as A. It also prints the load generator's own
CPU per request (redis-benchmark's user + system time): at pipeline 1 it saturates its core,
so its cost per request, which the server changes only through how it wakes and is woken,
sets the throughput.

The load generator is redis-benchmark with the matrix's settings: -c 50 -r 100000 -d 3.
Server CPU is user + system time from /proc/PID/stat before and after each run.

Usage:
  ROUNDS=8 PIPELINES="1 16" TESTS="get,set" python3 bench/abba.py redis=PID:PORT confab=PID:PORT
Environment: ROUNDS (8), PIPELINES ("1 16"), TESTS (the matrix's eight), CLIENTS (50),
N1 (100000 requests per run at P=1), N16 (800000 at P=16; MSET and LRANGE_100 run a
quarter of N), CSV (append every run to this file), KEEPALIVE (0: a new connection per
request, as the matrix's churn cells; with TESTS=ping_mbulk,get and PIPELINES=1; runs then
go ABAB, see below), PREFIX
(a command the load generator runs under, e.g. "taskset -c 1" to keep it on one core while
the servers are pinned to the other with `taskset -a -p -c 0 PID`), EXTRA (more
redis-benchmark arguments, e.g. "--threads 2").
"""
import csv
import io
import os
import resource
import statistics
import subprocess
import sys

ROUNDS = int(os.environ.get("ROUNDS", "8"))
PIPELINES = [int(p) for p in os.environ.get("PIPELINES", "1 16").split()]
TESTS = os.environ.get("TESTS", "ping_inline,set,get,incr,lpush,rpop,mset,lrange_100").split(",")
CLIENTS = os.environ.get("CLIENTS", "50")
N = {1: int(os.environ.get("N1", "100000")), 16: int(os.environ.get("N16", "800000"))}
HEAVY = {"mset", "lrange_100", "lrange_300", "lrange_500", "lrange_600"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
KEEPALIVE = ["-k", os.environ["KEEPALIVE"]] if os.environ.get("KEEPALIVE") else []
PREFIX = os.environ.get("PREFIX", "").split()
EXTRA = os.environ.get("EXTRA", "").split()


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run(pid, port, test, p):
    n = N.get(p, N[16]) // (4 if test in HEAVY else 1)
    before = ticks(pid)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [*PREFIX, "redis-benchmark", "-p", port, "-c", CLIENTS, "-r", "100000", "-d", "3",
         "-P", str(p), "-n", str(n), "-t", test, "--csv", *KEEPALIVE, *EXTRA],
        capture_output=True, text=True, check=True).stdout
    cpu = (ticks(pid) - before) / CLK_TCK
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    bench = (after.ru_utime - kids.ru_utime) + (after.ru_stime - kids.ru_stime)
    rows = [r for r in csv.reader(io.StringIO(out)) if r and r[0] != "test"]
    if not rows:
        sys.exit(f"redis-benchmark printed no result for {test} against port {port}")
    row = rows[-1]
    return float(row[1]), float(row[6]), cpu / n * 1e6, bench / n * 1e6


def main():
    servers = []
    for spec in sys.argv[1:]:
        name, _, rest = spec.partition("=")
        pid, _, port = rest.partition(":")
        servers.append((name, int(pid), port))
    if len(servers) != 2:
        sys.exit(__doc__)
    (a, _, _), (b, _, _) = servers
    log = open(os.environ["CSV"], "a", newline="") if os.environ.get("CSV") else None
    summary = []
    for p in PIPELINES:
        for test in TESTS:
            got = {a: [], b: []}
            for rnd in range(ROUNDS):
                # ABBA, except with KEEPALIVE=0: a run that opens tens of thousands of
                # connections to one port leaves them in TIME_WAIT, and the next run to the
                # same port finds its ephemeral ports more slowly (13.6k against 16.8k
                # connections a second, session 16), so there each run follows the other
                # server's (ABAB).
                order = servers if rnd % 2 == 0 or KEEPALIVE else servers[::-1]
                for name, pid, port in order:
                    rps, p99, us, bus = run(pid, port, test, p)
                    got[name].append((rps, p99, us, bus))
                    print(f"P={p:<2} {test:<11} round {rnd} {name:<8} rps={rps:>11,.0f} "
                          f"p99={p99:.3f} ms cpu/req={us:.2f} us bench cpu/req={bus:.2f} us",
                          flush=True)
                    if log:
                        csv.writer(log).writerow([p, test, rnd, name, rps, p99, f"{us:.3f}",
                                                  f"{bus:.3f}"])
            med = {k: [statistics.median(x[i] for x in v) for i in range(4)]
                   for k, v in got.items()}
            wins = sum(1 for x, y in zip(got[a], got[b]) if y[0] >= x[0])
            summary.append((p, test, med[a], med[b], wins))
    print()
    print(f"| P | test | {a} rps | {b} rps | {b}/{a} | {b} faster | p99 ms {a} / {b} "
          f"| CPU us/req {a} / {b} | bench CPU us/req against {a} / {b} |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for p, test, ma, mb, wins in summary:
        print(f"| {p} | {test} | {ma[0]:,.0f} | {mb[0]:,.0f} | {mb[0] / ma[0]:.2f} "
              f"| {wins}/{ROUNDS} | {ma[1]:.3f} / {mb[1]:.3f} | {ma[2]:.2f} / {mb[2]:.2f} "
              f"| {ma[3]:.2f} / {mb[3]:.2f} |")


if __name__ == "__main__":
    main()
