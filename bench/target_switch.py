"""Benchmark target: two Python threads that switch all the time.

Usage: target_switch.py FRAMES [LOG]

The main thread and a second thread (started with _thread, so no
threading.py frames) each recurse and then ping-pong one byte through two
pipes: the main thread writes and waits for the answer, the other thread
reads and answers. Pinned to one CPU, every round trip is two context
switches between the two threads, each blocked in os.read() under a
Python stack of FRAMES frames (at least 4):
<module>;main;recurse x (FRAMES - 3);ping and run;recurse x (FRAMES - 2);pong.

Like target.py it prints "ready" once both threads switch, notes
"MONOTONIC ROUND_TRIPS" every 10 ms, appends the notes to LOG once a
second, and exits 0 on SIGTERM or SIGINT.

Must run on CPython 3.6.
"""
import _thread
import os
import signal
import sys
import time

TICK = 0.01   # seconds between notes
FLUSH = 1.0   # seconds between writes to LOG
CHECK = 32    # round trips between clock reads


def pong(r, w):
    read, write = os.read, os.write
    while read(r, 1):
        write(w, b"x")


def ping(r, w, out):
    read, write, mono = os.read, os.write, time.monotonic
    notes = []
    note = notes.append
    n = 0
    write(w, b"x")  # the first round trip proves the other thread is there
    read(r, 1)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    nxt = mono() + TICK
    flush = nxt + FLUSH
    try:
        while True:
            for _ in range(CHECK):
                write(w, b"x")
                read(r, 1)
            n += CHECK
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


def recurse(n, fn, *args):
    if n > 0:
        return recurse(n - 1, fn, *args)
    return fn(*args)


def stop(signum, frame):
    raise KeyboardInterrupt


def main():
    # a shell's background jobs start with SIGINT ignored: set both
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    depth = int(sys.argv[1]) - 3  # recurse frames under main()
    out = open(sys.argv[2], "w") if len(sys.argv) > 2 else None
    if depth < 1:
        sys.exit("target_switch.py: FRAMES must be at least 4")
    if sys.getrecursionlimit() < depth + 100:
        sys.setrecursionlimit(depth + 100)
    to_r, to_w = os.pipe()
    back_r, back_w = os.pipe()

    def run():
        recurse(depth, pong, to_r, back_w)

    _thread.start_new_thread(run, ())
    try:
        recurse(depth - 1, ping, back_r, to_w, out)
    except KeyboardInterrupt:
        pass
    if out:
        out.close()
    os.close(to_w)  # the other thread reads EOF and ends


main()
