"""Integration target: named threads, each busy in its own function.

Usage: named_threads.py SECONDS

Starts three threads named CustomThreadName-1..3, the first two by
Thread(name=...), the third renamed after it started (t.name = ...), each
spinning in its own function work_1..work_3 (so a profile can tell which
stack belongs to which thread), while the main thread (MainThread) spins
in main_work. Prints "ready" once all run, then a line per thread
"thread NAME FUNCTION" (NAME as threading reports it) and runs for SECONDS.
Must run on CPython 3.6.
"""
import sys
import threading
import time


def spin(deadline):
    total = 0
    while time.time() < deadline:
        for i in range(2000):
            total += i * i % 7
    return total


def work_1(deadline):
    spin(deadline)


def work_2(deadline):
    spin(deadline)


def work_3(deadline):
    spin(deadline)


def main_work(deadline):
    spin(deadline)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    deadline = time.time() + seconds
    threads = [
        threading.Thread(target=work_1, args=(deadline,), name="CustomThreadName-1"),
        threading.Thread(target=work_2, args=(deadline,), name="CustomThreadName-2"),
        threading.Thread(target=work_3, args=(deadline,), name="before-rename"),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    threads[2].name = "CustomThreadName-3"
    sys.stdout.write("ready\n")
    for t, fn in zip(threads, ("work_1", "work_2", "work_3")):
        sys.stdout.write("thread %s %s\n" % (t.name, fn))
    sys.stdout.write("thread %s main_work\n" % threading.current_thread().name)
    sys.stdout.flush()
    main_work(deadline)


main()
