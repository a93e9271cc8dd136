"""Integration target: one CPU-bound function called from main().

Usage: hot.py SECONDS

Prints "ready" once main() runs, then spins in hot() for SECONDS and exits.
Ground truth: nearly every sample is the stack <module>;main;hot, with hot
on a line marked LINE:hot-loop, main on LINE:main-call and <module> on
LINE:module-call. The tests read the markers; keep them on the right lines.
Must run on CPython 3.6.
"""
import sys
import time


def hot(seconds):
    deadline = time.time() + seconds
    total = 0
    while time.time() < deadline:  # LINE:hot-loop
        for i in range(2000):  # LINE:hot-loop
            total += i * i % 7  # LINE:hot-loop
    return total


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    hot(seconds)  # LINE:main-call


main()  # LINE:module-call
