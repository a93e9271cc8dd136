"""Benchmark target: a CPU-bound loop under a Python stack of known depth.

Usage: target.py DEPTH [LOG]

main() calls recurse() DEPTH times and the innermost call runs spin(), so
the stack is <module>;main;recurse x DEPTH;spin: DEPTH + 3 frames (DEPTH 0
gives <module>;main;spin). spin() prints "ready" and loops until SIGTERM or
SIGINT, then exits 0.

Every 10 ms the loop notes "MONOTONIC ITERATIONS": CLOCK_MONOTONIC seconds
(read through the vDSO, no system call) and loop iterations so far. The
notes are appended to LOG once a second, in one write, so a reader can
follow the run while it goes on.

Must run on CPython 3.6.
"""
import signal
import sys
import time

BATCH = 1000  # inner iterations between clock reads (~20-60 us)
TICK = 0.01   # seconds between notes
FLUSH = 1.0   # seconds between writes to LOG


def spin(out):
    mono = time.monotonic
    notes = []
    note = notes.append
    n = 0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    nxt = mono() + TICK
    flush = nxt + FLUSH
    try:
        while True:
            s = 0
            for i in range(BATCH):
                s += i * i % 7
            n += BATCH
            t = mono()
            if t >= nxt:
                note((t, n))
                nxt = t + TICK
                if t >= flush:
                    if out:
                        out.write("".join("%.6f %d\n" % e for e in notes))
                        out.flush()
                    del notes[:]
                    flush = t + FLUSH
    finally:
        if out:
            out.write("".join("%.6f %d\n" % e for e in notes))
            out.flush()


def recurse(n, out):
    if n > 0:
        return recurse(n - 1, out)
    return spin(out)


def stop(signum, frame):
    raise KeyboardInterrupt


def main():
    # a shell's background jobs start with SIGINT ignored: set both
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    depth = int(sys.argv[1])
    out = open(sys.argv[2], "w") if len(sys.argv) > 2 else None
    if sys.getrecursionlimit() < depth + 100:
        sys.setrecursionlimit(depth + 100)
    try:
        if depth:
            recurse(depth - 1, out)
        else:
            spin(out)
    except KeyboardInterrupt:
        pass
    if out:
        out.close()


main()
