#!/usr/bin/env python3
"""Time one DEL and one UNLINK of a 1,000,000-member set, from send to reply, against each
server port given: python3 bench/unlink_latency.py 7001 7006. The set (key `bigset`,
overwritten) is built first with SADD in batches of 1,000. UNLINK frees it in the
background (Redis's lazyfree, confab's `lazyfree`); DEL frees it before replying."""
import socket
import sys
import time


def call(s, *args):
    out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    s.sendall(out)
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += s.recv(65536)
    return buf.strip().decode()


def main():
    for port in map(int, sys.argv[1:]):
        s = socket.create_connection(("127.0.0.1", port))
        res = {}
        for verb in (b"DEL", b"UNLINK"):
            call(s, b"DEL", b"bigset")
            for b in range(1000):
                call(s, b"SADD", b"bigset", *[b"member:%d" % (b * 1000 + i) for i in range(1000)])
            t = time.perf_counter()
            reply = call(s, verb, b"bigset")
            res[verb.decode()] = (reply, round((time.perf_counter() - t) * 1000, 2))
        print(port, " ".join(f"{k}: {v[0]} in {v[1]} ms" for k, v in res.items()))


if __name__ == "__main__":
    main()
