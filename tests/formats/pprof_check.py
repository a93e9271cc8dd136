#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads a pprof profile back with the real `go tool pprof` (Debian's
golang-go) and checks what it shows.

    pprof_check.py FILE.pb.gz --expect-top FUNCTION [--min-share 0.5]
                   [--sample-index cpu] [--require-labels pid,tid,thread_name]

Passes when, in `go tool pprof -top -symbolize=none` (for the given sample
index, else the profile's default one), FUNCTION leads the flat column (a
tie with the first row counts) with at least --min-share of the total, and
`go tool pprof -raw` shows every --require-labels key on at least one
sample. FUNCTION is compared with the name as pprof prints it.

Exit status: 0 passed; 1 the check failed; 2 the check could not run (no
go, an unreadable profile, bad arguments). Each failure is one line on
stderr, "pprof_check: FILE: reason".

go runs with a throwaway HOME, caches and config, no proxy, no toolchain
switch and no GOFLAGS, so it works as root on a fresh machine without a
network and leaves nothing behind.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# "      40ms 27.59% 27.59%       40ms 27.59%  Parser.parse_row"
TOP_ROW = re.compile(r"^\s*(\S+)\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+([\d.]+)%\s+(.*)$")
# "          1   10000000          0   10000000: 1 2 "
RAW_SAMPLE = re.compile(r"^\s*-?\d+(\s+-?\d+)*:(\s+\d+)*\s*$")
RAW_LABEL_KEY = re.compile(r"(?:^|\s)([A-Za-z_][\w.\-]*):\[")


class CheckError(Exception):
    """A failed check (exit 1)."""


class RunError(Exception):
    """The check could not run (exit 2)."""


def find_go():
    go = shutil.which("go")
    if go:
        return go
    for path in ("/usr/lib/go/bin/go", "/usr/local/go/bin/go"):
        if os.access(path, os.X_OK):
            return path
    raise RunError("go not found: install golang-go (tools/install-deps.sh)")


def go_env(tmp):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tmp,
        "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
        "XDG_CACHE_HOME": os.path.join(tmp, "cache"),
        "GOCACHE": os.path.join(tmp, "gocache"),
        "GOPATH": os.path.join(tmp, "gopath"),
        "GOENV": "off",
        "GOFLAGS": "",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOTELEMETRY": "off",
        "PPROF_TMPDIR": tmp,
        "LC_ALL": "C",
    }
    return env


def run_pprof(go, profile, args, tmp):
    cmd = [go, "tool", "pprof", "-symbolize=none"] + args + [profile]
    try:
        res = subprocess.run(cmd, cwd=tmp, env=go_env(tmp), capture_output=True, text=True,
                             errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        raise RunError("go tool pprof %s timed out" % " ".join(args))
    if res.returncode != 0:
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        raise RunError("go tool pprof %s failed: %s"
                       % (" ".join(args), lines[-1] if lines else "exit %d" % res.returncode))
    return res.stdout


def top_rows(out):
    """(flat%, function) per -top row, in order."""
    rows, in_table = [], False
    for line in out.splitlines():
        if not in_table:
            in_table = line.split()[:5] == ["flat", "flat%", "sum%", "cum", "cum%"]
            continue
        m = TOP_ROW.match(line)
        if m:
            rows.append((float(m.group(2)), m.group(6)))
    return rows


def check_top(out, function, min_share):
    rows = top_rows(out)
    if not rows:
        raise CheckError("go tool pprof -top shows no functions")
    share = dict((name, pct) for pct, name in reversed(rows))
    if function not in share:
        raise CheckError("%r is not in go tool pprof -top (top is %r at %.2f%%)"
                         % (function, rows[0][1], rows[0][0]))
    if share[function] < rows[0][0]:
        raise CheckError("%r has %.2f%% flat, but %r leads with %.2f%%"
                         % (function, share[function], rows[0][1], rows[0][0]))
    if share[function] < min_share * 100:
        raise CheckError("%r leads with %.2f%% flat, below the expected %.2f%%"
                         % (function, share[function], min_share * 100))
    return share[function]


def raw_label_keys(out):
    """The label keys go tool pprof -raw shows on samples."""
    keys, in_samples = set(), False
    for line in out.splitlines():
        if line.startswith("Samples:"):
            in_samples = True
        elif in_samples and line.rstrip() in ("Locations", "Mappings"):
            break
        elif in_samples and not RAW_SAMPLE.match(line):
            keys.update(RAW_LABEL_KEY.findall(line))
    return keys


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("profile", help="a gzipped pprof profile (.pb.gz)")
    ap.add_argument("--expect-top", required=True, metavar="FUNCTION",
                    help="the function that must lead the flat column")
    ap.add_argument("--min-share", type=float, default=0.0, metavar="SHARE",
                    help="its least flat share of the total, 0..1 (default 0)")
    ap.add_argument("--sample-index", metavar="TYPE",
                    help="the sample type to look at: samples, cpu, off_cpu, wall "
                         "(default: the profile's default type)")
    ap.add_argument("--require-labels", default="pid,tid,thread_name", metavar="KEYS",
                    help="comma-separated label keys some sample must carry "
                         "(default pid,tid,thread_name; '' for none)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print the -top output")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    name = args.profile
    try:
        if not 0 <= args.min_share <= 1:
            raise RunError("--min-share must be between 0 and 1, not %g" % args.min_share)
        if not os.path.isfile(name):
            raise RunError("no such file")
        go = find_go()
        with tempfile.TemporaryDirectory(prefix="pprof-check-") as tmp:
            profile = os.path.abspath(name)
            top_args = ["-top"]
            if args.sample_index:
                top_args.append("-sample_index=" + args.sample_index)
            top = run_pprof(go, profile, top_args, tmp)
            if args.verbose:
                sys.stdout.write(top)
            share = check_top(top, args.expect_top, args.min_share)
            wanted = [k for k in args.require_labels.split(",") if k]
            if wanted:
                keys = raw_label_keys(run_pprof(go, profile, ["-raw"], tmp))
                missing = [k for k in wanted if k not in keys]
                if missing:
                    raise CheckError("no sample has the label %s (labels seen: %s)"
                                     % (", ".join(missing), ", ".join(sorted(keys)) or "none"))
    except CheckError as e:
        print("pprof_check: %s: %s" % (name, e), file=sys.stderr)
        return 1
    except RunError as e:
        print("pprof_check: %s: %s" % (name, e), file=sys.stderr)
        return 2
    print("pprof_check: %s: %r leads with %.2f%% flat%s"
          % (name, args.expect_top, share,
             ", labels " + args.require_labels if args.require_labels else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
