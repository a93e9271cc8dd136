"""Integration target: threads blocked on a threading.Lock another holds.

Usage: lock_wait.py SECONDS

holder() takes the lock and sleeps for SECONDS holding it. early_waiter()
blocks acquiring it before "ready" is printed (so before a profiler
attaches); LATE_WAITERS threads of late_waiter() start and block only when
a line is read from stdin (after the profiler attached), then "late" is
printed. All wait in the lock's futex on their LINE:early-acquire /
LINE:late-acquire lines for as long as the holder sleeps, never for the
GIL. Must run on CPython 3.6.
"""
import sys
import threading
import time

LATE_WAITERS = 4
lock = threading.Lock()
held = threading.Event()


def holder(seconds):
    with lock:
        held.set()
        time.sleep(seconds)  # LINE:holder-sleep


def early_waiter():
    lock.acquire()  # LINE:early-acquire
    lock.release()


def late_waiter():
    lock.acquire()  # LINE:late-acquire
    lock.release()


def start(fn, *args):
    t = threading.Thread(target=fn, args=args)
    t.daemon = True
    t.start()
    return t


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    start(holder, seconds)
    held.wait()
    start(early_waiter)
    time.sleep(0.2)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    for _ in range(LATE_WAITERS):
        start(late_waiter)
    sys.stdout.write("late\n")
    sys.stdout.flush()
    time.sleep(seconds)


main()
