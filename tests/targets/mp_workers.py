"""Integration target: a parent and two multiprocessing workers, all busy.

Usage: mp_workers.py SECONDS

Starts two workers with multiprocessing (the platform's default start
method), waits until both run, prints "ready WORKER1 WORKER2" (their pids),
then spins in parent_spin() for SECONDS while the workers spin in
worker_spin(), and joins them. Ground truth: the parent's samples end in
parent_spin on a LINE:parent-loop line, each worker's in worker_spin on a
LINE:worker-loop line. Must run on CPython 3.6.
"""
import multiprocessing
import sys
import time


def worker_spin(seconds, ready):
    ready.set()
    deadline = time.time() + seconds
    total = 0
    while time.time() < deadline:  # LINE:worker-loop
        for i in range(2000):  # LINE:worker-loop
            total += i * i % 7  # LINE:worker-loop
    return total


def parent_spin(seconds):
    deadline = time.time() + seconds
    total = 0
    while time.time() < deadline:  # LINE:parent-loop
        for i in range(2000):  # LINE:parent-loop
            total += i * i % 7  # LINE:parent-loop
    return total


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    ready = [multiprocessing.Event() for _ in range(2)]
    workers = [multiprocessing.Process(target=worker_spin, args=(seconds, r)) for r in ready]
    for w in workers:
        w.start()
    for r in ready:
        r.wait(30)
    sys.stdout.write("ready %d %d\n" % (workers[0].pid, workers[1].pid))
    sys.stdout.flush()
    parent_spin(seconds)
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
