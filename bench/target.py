"""Benchmark target: a CPU-bound loop under a Python stack of known depth.

Usage: target.py DEPTH [LOG]

main() calls recurse() DEPTH times and the innermost call runs spin(), so
the stack is <module>;main;recurse x DEPTH;spin: DEPTH + 3 frames (DEPTH 0
gives <module>;main;spin). spin() prints "ready" and loops until stopped.
Every 10 ms it notes "MONOTONIC ITERATIONS" in memory: CLOCK_MONOTONIC
seconds and loop iterations so far. On SIGTERM or SIGINT it writes those
lines to LOG (if given) and exits 0. With the log in memory the loop makes
no system call (the clock is read through the vDSO).

Must run on CPython 3.6.
"""
import signal
import sys
import time

BATCH = 1000  # inner iterations between clock reads (~20-60 us)
TICK = 0.01   # seconds between log entries


def spin(log):
    mono = time.monotonic
    note = log.append
    n = 0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    nxt = mono() + TICK
    while True:
        s = 0
        for i in range(BATCH):
            s += i * i % 7
        n += BATCH
        t = mono()
        if t >= nxt:
            note((t, n))
            nxt = t + TICK


def recurse(n, log):
    if n > 0:
        return recurse(n - 1, log)
    return spin(log)


def stop(signum, frame):
    raise KeyboardInterrupt


def main():
    # a shell's background jobs start with SIGINT ignored: set both
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    depth = int(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else None
    if sys.getrecursionlimit() < depth + 100:
        sys.setrecursionlimit(depth + 100)
    log = []
    try:
        if depth:
            recurse(depth - 1, log)
        else:
            spin(log)
    except KeyboardInterrupt:
        pass
    if path:
        with open(path, "w") as f:
            f.write("".join("%.6f %d\n" % e for e in log))


main()
