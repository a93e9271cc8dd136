"""Integration target: a deep Python stack.

Usage: recursion.py DEPTH SECONDS

main() calls recurse() DEPTH times (DEPTH recurse frames), the innermost
calls spin_leaf(), which prints "ready" and spins for SECONDS. So the full
stack is <module>;main;recurse x DEPTH;spin_leaf, DEPTH + 3 frames, with
recurse frames on LINE:recurse-call except the innermost one on
LINE:recurse-leaf-call, and spin_leaf on LINE:leaf-loop.
Must run on CPython 3.6.
"""
import sys
import time


def spin_leaf(seconds):
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    deadline = time.time() + seconds
    total = 0
    while time.time() < deadline:  # LINE:leaf-loop
        for i in range(2000):  # LINE:leaf-loop
            total += i * i % 7  # LINE:leaf-loop
    return total


def recurse(n, seconds):
    if n > 1:
        return recurse(n - 1, seconds)  # LINE:recurse-call
    return spin_leaf(seconds)  # LINE:recurse-leaf-call


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    if sys.getrecursionlimit() < depth + 100:
        sys.setrecursionlimit(depth + 100)
    recurse(depth, seconds)


main()
