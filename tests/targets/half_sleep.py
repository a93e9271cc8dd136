"""Integration target: one thread half on the CPU, half asleep.

Usage: half_sleep.py SECONDS

main() alternates compute(), which burns 20 ms of this thread's own CPU
time (CLOCK_THREAD_CPUTIME_ID: time spent preempted does not count), and
rest(), which sleeps 20 ms. Ground truth with --idle: compute's on-CPU time
and rest's off-CPU time ([off-cpu:io], a sleep) are each half of the
thread's wall time, compute on LINE:compute-loop lines, rest on
LINE:rest-sleep. The tests read the markers; keep them on the right lines.
Single-threaded. Must run on CPython 3.6 (no time.thread_time there).
"""
import sys
import time

CYCLE = 0.02


def compute(cpu_seconds):
    clock = time.CLOCK_THREAD_CPUTIME_ID
    end = time.clock_gettime(clock) + cpu_seconds
    t = 0
    while time.clock_gettime(clock) < end:  # LINE:compute-loop
        for _ in range(100):  # LINE:compute-loop
            t = (t + 12345 * 12345) % 1000003  # LINE:compute-loop
    return t


def rest(seconds):
    time.sleep(seconds)  # LINE:rest-sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    deadline = time.time() + seconds
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while time.time() < deadline:
        compute(CYCLE)  # LINE:main-compute
        rest(CYCLE)  # LINE:main-rest


main()  # LINE:module-call
