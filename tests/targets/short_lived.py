"""Integration target: a short life spent in one function.

Usage: short_lived.py CPU_SECONDS

Spins in short_lived_work() until the process has used CPU_SECONDS of CPU
time (at most 20 s of wall time), then exits. Ground truth: its samples
end in short_lived_work on a LINE:short-loop line, under <module>.
Must run on CPython 3.6.
"""
import sys
import time


def short_lived_work(cpu_seconds):
    wall_deadline = time.time() + 20
    total = 0
    while time.process_time() < cpu_seconds and time.time() < wall_deadline:  # LINE:short-loop
        for i in range(500):  # LINE:short-loop
            total += i * i % 7  # LINE:short-loop
    return total


short_lived_work(float(sys.argv[1]) if len(sys.argv) > 1 else 0.3)  # LINE:short-call
