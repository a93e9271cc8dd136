"""Integration target: the time is spent in __init__, entered through Class().

Usage: init_calls.py SECONDS

Prints "ready", then for SECONDS creates Widget objects whose __init__ does
the work. CPython 3.13 specializes such calls and runs a hidden
interpreter frame (its "__init__" clean-up code) between the caller and
__init__; a profiler must not show it. Ground truth: nearly every sample
is <module>;main;Widget.__init__ (plain __init__ before 3.11), with main on
LINE:main-call and __init__ on LINE:init-work. Must run on CPython 3.6.
"""
import sys
import time


class Widget(object):
    def __init__(self, n):
        total = 0
        for i in range(n):  # LINE:init-work
            total += i * i % 7  # LINE:init-work
        self.total = total


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    deadline = time.time() + seconds
    while time.time() < deadline:
        Widget(500)  # LINE:main-call


main()
