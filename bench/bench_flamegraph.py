#!/usr/bin/env python3
"""How fast pyebpf-flamegraph turns a large folded file into an SVG.

    python3 bench/bench_flamegraph.py [--stacks N] [--runs R] [--bin PATH]
                                      [--keep DIR]

Generates a folded file with N (default 100,000) distinct stacks, the same
bytes on every run and machine (its own splitmix64 generator, no `random`):
a synthetic program of 4,000 functions (application code, standard
library, site-packages, native and kernel frames, off-CPU reasons) whose
call graph gives stacks 4 to 48 frames deep that share prefixes as real
ones do, with Zipf-like weights. It is written twice, sorted (as pyebpf,
py-spy and the stackcollapse scripts write folded files) and shuffled (no
shared prefixes between neighbours, the worst case for parsing).

Each file is rendered R times (default 5) with `pyebpf-flamegraph -o FILE`
and the best wall-clock time is reported, with the output size and the
number of frames drawn. The last line is the row for docs/BENCHMARKS.md.
Needs only Python's standard library and build/pyebpf-flamegraph
(`make build/pyebpf-flamegraph`).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


WORDS = ["parse", "load", "render", "fetch", "encode", "decode", "compute", "update",
         "resolve", "build", "check", "merge", "flush", "read", "write", "handle"]
NOUNS = ["row", "record", "request", "frame", "token", "batch", "cache", "index",
         "header", "payload", "session", "query", "node", "chunk", "event", "table"]


def make_functions(rng, count):
    """Frame labels as pyebpf writes them, by kind."""
    funcs = []
    for i in range(count):
        name = "%s_%s_%d" % (WORDS[rng.below(16)], NOUNS[rng.below(16)], i)
        kind = rng.below(100)
        line = 1 + rng.below(900)
        if kind < 45:
            label = "%s (/srv/app/pkg%d/mod%d.py:%d)" % (name, i % 13, i % 97, line)
        elif kind < 65:
            label = "%s (/usr/lib/python3.12/%s/__init__.py:%d)" % (name, NOUNS[i % 16], line)
        elif kind < 85:
            label = "%s (/venv/lib/python3.12/site-packages/%s/core.py:%d)" % (
                name, WORDS[i % 16], line)
        elif kind < 95:
            label = "Py%s_%s" % (WORDS[i % 16].capitalize(), NOUNS[(i // 16) % 16])
            label += "_%d" % i
        else:
            label = "%s_%s_%d_[k]" % (WORDS[i % 16], NOUNS[i % 16], i)
        funcs.append(label)
    return funcs


def generate(n_stacks, seed=20251122):
    rng = SplitMix64(seed)
    funcs = make_functions(rng, 4000)
    # a call graph: each function calls a few others, picked once
    callees = [[rng.below(len(funcs)) for _ in range(2 + rng.below(7))] for _ in funcs]
    roots = ["<module> (/srv/app/main.py:1)", "[thread 101 \"MainThread\"]",
             "[thread 102 \"worker-1\"]", "[thread 103 \"worker-2\"]"]
    reasons = ["[off-cpu:io] read", "[off-cpu:lock] futex", "[off-cpu:gil]",
               "[off-cpu:sleep] clock_nanosleep"]
    seen = {}
    while len(seen) < n_stacks:
        frames = [roots[rng.below(len(roots))]]
        f = rng.below(64)  # a few entry points, so stacks share prefixes
        depth = 4 + rng.below(45)
        for _ in range(depth - 1):
            frames.append(funcs[f])
            f = callees[f][rng.below(len(callees[f]))]
        if rng.below(10) == 0:
            frames.append(reasons[rng.below(len(reasons))])
        stack = ";".join(frames)
        if stack in seen:
            continue
        # Zipf-like: most stacks seen once, a few very often
        seen[stack] = 1 + (1000000 // (1 + rng.below(100000))) // 10
    return seen


def tree_nodes(stacks):
    """Nodes of the merged tree (the root excluded): what the renderer builds."""
    ids = {}
    for s in stacks:
        parent = 0
        for frame in s.split(";"):
            parent = ids.setdefault((parent, frame), len(ids) + 1)
    return len(ids)


def write_folded(path, stacks, order):
    with open(path, "w", encoding="utf-8") as f:
        for s in order:
            f.write("%s %d\n" % (s, stacks[s]))


def best_time(binary, folded, svg, runs):
    best = None
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([binary, "-o", svg, folded], check=True)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--stacks", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=os.path.join(root, "build", "pyebpf-flamegraph"))
    ap.add_argument("--keep", help="keep the folded files and SVGs in this directory")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit("bench_flamegraph: no %s (make build/pyebpf-flamegraph)" % args.bin)

    stacks = generate(args.stacks)
    ordered = sorted(stacks)
    shuffled = list(ordered)
    rng = SplitMix64(7)
    for i in range(len(shuffled) - 1, 0, -1):
        j = rng.below(i + 1)
        shuffled[i], shuffled[j] = shuffled[j], shuffled[i]

    tmp = None
    out = args.keep
    if not out:
        tmp = tempfile.TemporaryDirectory(prefix="bench-flamegraph-")
        out = tmp.name
    os.makedirs(out, exist_ok=True)
    nodes = tree_nodes(ordered)
    rows = []
    for label, order in (("sorted", ordered), ("shuffled", shuffled)):
        folded = os.path.join(out, "stacks-%s.folded" % label)
        svg = os.path.join(out, "stacks-%s.svg" % label)
        write_folded(folded, stacks, order)
        t = best_time(args.bin, folded, svg, args.runs)
        with open(svg, encoding="utf-8") as f:
            frames = f.read().count('<g class="f"')
        frames_in = sum(s.count(";") + 1 for s in stacks)
        rows.append((label, t, os.path.getsize(folded), os.path.getsize(svg), frames))
        print("%-8s %d stacks (%d frames, %d tree nodes, %.1f MB folded): best of %d %.3f s; "
              "SVG %.1f MB, %d frames drawn"
              % (label, len(stacks), frames_in, nodes, os.path.getsize(folded) / 1e6,
                 args.runs, t, os.path.getsize(svg) / 1e6, frames))
    if tmp:
        tmp.cleanup()
    s, sh = rows
    print("| pyebpf-flamegraph, %s distinct stacks (%.0f MB folded, %s tree nodes, "
          "%s frames drawn) | %.2f s sorted, %.2f s shuffled (best of %d) |"
          % (format(args.stacks, ","), s[2] / 1e6, format(nodes, ","), format(s[4], ","),
             s[1], sh[1], args.runs))


if __name__ == "__main__":
    main()
