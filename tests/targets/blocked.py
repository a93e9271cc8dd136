"""Integration target: a process whose only thread sleeps the whole time.

Usage: blocked.py SECONDS

main() calls nap(), which sleeps SECONDS in one time.sleep(): the thread is
off the CPU ([off-cpu:io], a sleep) from before any profiler attaches to
after it stops, on LINE:nap-sleep. It never runs Python code meanwhile, so
it never holds the GIL on a CPU. Must run on CPython 3.6.
"""
import sys
import time


def nap(seconds):
    time.sleep(seconds)  # LINE:nap-sleep


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1000.0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    nap(seconds)  # LINE:main-call


main()  # LINE:module-call
