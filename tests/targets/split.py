"""Integration target: two functions sharing the CPU 70/30.

Usage: split.py SECONDS

alpha() and beta() have the same body, and an iteration costs the same
whatever its index (hence repeat(), not range(): small ints are cached, so
a range's first 257 iterations are cheaper and beta's shorter runs would
get more of them). main() calls them alternately with 7*k and 3*k
iterations, k drawn from a fixed pseudo-random sequence so the chunk length
never locks onto the sampling period. Among samples whose leaf is alpha or
beta, alpha's share should be 70%. Must run on CPython 3.6.
"""
import sys
import time
from itertools import repeat


def alpha(n):
    t = 0
    x = 12345
    for _ in repeat(None, n):
        t = (t + x * x) % 1000003
    return t


def beta(n):
    t = 0
    x = 12345
    for _ in repeat(None, n):
        t = (t + x * x) % 1000003
    return t


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    deadline = time.time() + seconds
    seed = 12345
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while time.time() < deadline:
        seed = (seed * 1103515245 + 12345) % 2147483648
        k = 50 + (seed >> 16) % 101
        alpha(7 * k)
        beta(3 * k)


main()
