"""Integration target: two CPU-bound threads contending for the GIL.

Usage: gil_contention.py SECONDS

spin_a() and spin_b() run pure-Python loops in two threads; the main
thread waits for them. Only one can hold the GIL at a time, so each spends
much of its off-CPU time waiting for it ([off-cpu:gil] with --idle), and
holds it whenever it runs Python code. Loops on LINE:spin-a / LINE:spin-b.
Must run on CPython 3.6.
"""
import sys
import threading
import time


def spin_a(deadline):
    t = 0
    while time.time() < deadline:  # LINE:spin-a
        for _ in range(200):  # LINE:spin-a
            t = (t + 12345 * 12345) % 1000003  # LINE:spin-a
    return t


def spin_b(deadline):
    t = 0
    while time.time() < deadline:  # LINE:spin-b
        for _ in range(200):  # LINE:spin-b
            t = (t + 12345 * 12345) % 1000003  # LINE:spin-b
    return t


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    deadline = time.time() + seconds
    threads = [threading.Thread(target=spin_a, args=(deadline,)),
               threading.Thread(target=spin_b, args=(deadline,))]
    for t in threads:
        t.daemon = True
        t.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for t in threads:
        t.join()


main()
