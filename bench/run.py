#!/usr/bin/env python3
"""pyebpf benchmarks: BPF cost per sample, and the slowdown of a Python loop.

    sudo make bench                                  # everything, ~9 minutes
    sudo BENCH_SAMPLER=build/bench-sampler python3 bench/run.py [options]

1. Cost: for every installed CPython, bench/target.py spins under a stack of
   ~12 and ~100 Python frames, pinned to CPU 1; `bench-sampler cost`, pinned
   to CPU 0, reads the kernel's BPF run-time statistics at 1000 Hz: first
   with the process not registered (the non-target path), then registered,
   in repetitions. The median of the repetitions is reported.
2. Slowdown: the target logs its own progress (time, iterations) every
   10 ms while `bench-sampler toggle` switches sampling on and off in
   alternating windows. The loop rate of each window comes from that log
   (edges trimmed); adjacent on/off windows are compared pairwise, and the
   mean slowdown gets a 95% confidence interval (Student t) over the pairs.

A thread samples /proc/stat and the target's /proc/PID/schedstat every
50 ms. Before each block of measuring the machine must be quiet for a
second (CPU 0 under 10% busy, the target never waiting for CPU 1); the
script waits for that, up to --max-wait seconds. A cost repetition or a
toggle pair during which that was not so is dropped and measured again
(up to 3x as many as asked for); results short of undisturbed ones are
flagged. Each result also records the highest 1-minute load average seen
before its blocks (the target itself accounts for about 1.0 of it).

Results go to a JSON file (--json) and are printed as Markdown tables;
--write-docs also replaces the results section of docs/BENCHMARKS.md, so
the numbers there are never typed by hand. --from-json re-renders a saved
run without measuring.

Stdlib only, Python 3.7+. Exit status: 0, 1 if a measurement failed, 2 for
usage errors (not root, no bench-sampler).
"""

import argparse
import gzip
import json
import math
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "bench", "target.py")
DOCS = os.path.join(ROOT, "docs", "BENCHMARKS.md")
BEGIN = "<!-- results:begin (written by bench/run.py --write-docs) -->"
END = "<!-- results:end -->"

# Goals the results are compared with.
COST_GOAL_NS = {12: 1000, 100: 4000}   # per sample, at that many frames
SLOWDOWN_GOAL_PCT = {100: 0.5}          # at that sampling rate

COST_DEPTHS = (12, 100)                 # Python frames in the stack
SLOWDOWN_STACKS = (("shallow", 3), ("deep", 100))
SLOWDOWN_RATES = (100, 1000)
COST_RATE = 1000

BENCH_CPU, TARGET_CPU = 0, 1
DISTURBED_CPU0_PCT = 10.0  # CPU 0 busier than this: something else is running
MAX_TARGET_WAIT_PCT = 2.0  # the target waited longer than this for CPU 1
EDGE_TRIM_S = 0.03        # left out at both ends of a toggle window
BLOCK_PAIRS = 10          # toggle pairs per bench-sampler run

VERBOSE = False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def vlog(msg):
    if VERBOSE:
        log("  # " + msg)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# interpreters


class Interp:
    def __init__(self, name, path, version, kind):
        self.name = name        # what --interp selects: "3.12", "debian-3.11"
        self.path = path
        self.version = version  # (major, minor, micro)
        self.kind = kind        # "pyenv" or "debian"

    @property
    def label(self):
        return "%d.%d.%d (%s)" % (self.version + (self.kind,))


_PROBE = ("import sys, platform; sys.stdout.write('%s %d.%d.%d' % "
          "((platform.python_implementation(),) + tuple(sys.version_info[:3])))")


def _probe(path):
    try:
        out = subprocess.run([path, "-c", _PROBE], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, timeout=30).stdout
        impl, ver = out.split()
        return tuple(int(x) for x in ver.split(".")) if impl == "CPython" else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _pyenv_root():
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    try:
        out = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True,
                             timeout=30).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    return os.path.expanduser("~/.pyenv")


def discover_interpreters():
    """pyenv's CPython 3.6+ (newest micro of each minor), then /usr/bin/python3.X."""
    found = {}
    vdir = os.path.join(_pyenv_root(), "versions")
    if os.path.isdir(vdir):
        for entry in os.listdir(vdir):
            m = re.match(r"^(\d+)\.(\d+)\.\d+$", entry)
            if not m or os.path.islink(os.path.join(vdir, entry)):
                continue
            path = os.path.join(vdir, entry, "bin", "python%s.%s" % m.groups())
            ver = _probe(path) if os.access(path, os.X_OK) else None
            if ver and ver >= (3, 6):
                name = "%d.%d" % ver[:2]
                if name not in found or found[name].version < ver:
                    found[name] = Interp(name, path, ver, "pyenv")
    interps = sorted(found.values(), key=lambda i: i.version)
    for entry in sorted(os.listdir("/usr/bin")):
        if re.match(r"^python3\.\d+$", entry):
            path = os.path.join("/usr/bin", entry)
            ver = _probe(path)
            if ver and ver >= (3, 6):
                interps.append(Interp("debian-%d.%d" % ver[:2], path, ver, "debian"))
    return interps


def select_interps(interps, spec):
    """`spec`: "all", or names separated by commas ("3.12,debian-3.11")."""
    if spec == "all":
        return list(interps)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    by_name = {i.name: i for i in interps}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise BenchError("no interpreter named %s (installed: %s)" % (
            ", ".join(missing), ", ".join(i.name for i in interps)))
    return [by_name[n] for n in names]


# --------------------------------------------------------------------------
# the machine and its load


def read_file(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def machine_info():
    cpu = re.search(r"^model name\s*:\s*(.*)$", read_file("/proc/cpuinfo"), re.M)
    hz = None
    cfg = read_file("/boot/config-" + os.uname().release)
    if not cfg:
        try:
            with gzip.open("/proc/config.gz", "rt") as f:
                cfg = f.read()
        except OSError:
            cfg = ""
    m = re.search(r"^CONFIG_HZ=(\d+)", cfg, re.M)
    if m:
        hz = int(m.group(1))
    info = read_file("/proc/cpuinfo")
    fam = re.search(r"^cpu family\s*:\s*(\d+)", info, re.M)
    mod = re.search(r"^model\s*:\s*(\d+)", info, re.M)
    hyp = "hypervisor" in (re.search(r"^flags\s*:(.*)$", info, re.M) or ["", ""])[1].split()
    return {
        "nproc": os.cpu_count(),
        "kernel": os.uname().release,
        "cpu_model": "%s%s" % (cpu.group(1).strip() if cpu else "unknown",
                               ", family %s model %s" % (fam.group(1), mod.group(1))
                               if fam and mod else ""),
        "config_hz": hz,
        "virtual": hyp,
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": _os_release(),
    }


def _os_release():
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)', read_file("/etc/os-release"), re.M)
    return m.group(1) if m else platform.platform()


def git_commit():
    def git(*args):
        try:
            return subprocess.run(["git", "-C", ROOT] + list(args), stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, universal_newlines=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + ("+changes" if dirty else "")


def loadavg1():
    return float(read_file("/proc/loadavg", "0").split()[0])


def cpu_times():
    """{cpu index: (busy, total)} in clock ticks, from /proc/stat."""
    out = {}
    for line in read_file("/proc/stat").splitlines():
        m = re.match(r"^cpu(\d+)\s+(.*)$", line)
        if m:
            v = [int(x) for x in m.group(2).split()]
            idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
            total = sum(v[:8])                          # guest time is inside user
            out[int(m.group(1))] = (total - idle, total)
    return out


def busy_pct(before, after):
    """{cpu: percent busy} between two cpu_times() snapshots."""
    out = {}
    for cpu, (b1, t1) in after.items():
        b0, t0 = before.get(cpu, (0, 0))
        out[cpu] = 100.0 * (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
    return out


def schedstat(pid):
    """(ns on a CPU, ns runnable but waiting for one) of process `pid`."""
    f = read_file("/proc/%d/schedstat" % pid).split()
    return (int(f[0]), int(f[1])) if len(f) >= 2 else None


def busiest_processes(seconds=1.0, top=3, exclude=()):
    """The processes that used the most CPU over `seconds`: [(pct, pid, comm)]."""
    def sample():
        res = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) in exclude:
                continue
            stat = read_file("/proc/%s/stat" % pid)
            r = stat.rfind(")")
            if r < 0:
                continue
            f = stat[r + 2:].split()
            res[int(pid)] = (int(f[11]) + int(f[12]), stat[stat.find("(") + 1:r])
        return res
    a = sample()
    time.sleep(seconds)
    b = sample()
    tck = os.sysconf("SC_CLK_TCK")
    use = [(100.0 * (b[p][0] - a[p][0]) / tck / seconds, p, b[p][1]) for p in b if p in a]
    return sorted((u for u in use if u[0] >= 1.0), reverse=True)[:top]


class Monitor(threading.Thread):
    """Samples /proc/stat and the target's /proc/PID/schedstat every 50 ms,
    to tell when something else ran: on CPU 0 (the sampler's CPU, which
    shares caches and the host with CPU 1), or on CPU 1 in the target's
    way (the target then waits for its CPU)."""

    PERIOD = 0.05

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []  # (monotonic, cpu_times(), schedstat(pid))
        self.lock = threading.Lock()
        self.done = threading.Event()

    def _sample(self):
        s = (time.monotonic(), cpu_times(), schedstat(self.pid))
        with self.lock:
            self.samples.append(s)

    def run(self):
        while True:
            self._sample()
            if self.done.wait(self.PERIOD):
                break

    def stop(self):
        self.done.set()
        self.join()

    def check(self, start, end):
        """Why [start, end] was disturbed, or None if it was quiet."""
        with self.lock:
            before = [s for s in self.samples if s[0] <= start]
            after = [s for s in self.samples if s[0] >= end]
        if not before or not after:
            return "not monitored"
        (t0, c0, s0), (t1, c1, s1) = before[-1], after[0]
        cpu0 = busy_pct(c0, c1).get(BENCH_CPU, 0.0)
        if cpu0 > DISTURBED_CPU0_PCT:
            return "cpu%d %.0f%% busy" % (BENCH_CPU, cpu0)
        if s0 and s1:
            wait = 100.0 * (s1[1] - s0[1]) / 1e9 / (t1 - t0)
            if wait > MAX_TARGET_WAIT_PCT:
                return "target waited %.0f%% of the time for its CPU" % wait
        return None

    def wait_quiet(self, max_wait):
        """Wait until a whole second passes undisturbed. Returns False if
        that has not happened within max_wait seconds."""
        start = time.monotonic()
        said = None
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            why = self.check(now - 1.0, now - self.PERIOD)
            if not why:
                return True
            if now - start >= max_wait:
                log("bench: machine still busy after %d s (%s); measuring anyway" % (
                    max_wait, why))
                return False
            if said is None or now - said >= 60:
                said = now
                who = busiest_processes(exclude=(os.getpid(), self.pid))
                log("bench: waiting for a quiet machine (%s, load %.2f%s)" % (
                    why, loadavg1(), "; busy: " + ", ".join(
                        "%s[%d] %.0f%%" % (c, p, u) for u, p, c in who) if who else ""))


# --------------------------------------------------------------------------
# processes


def _pin(cpu):
    def f():
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass
    return f


class Target:
    """bench/target.py under `interp` with `frames` Python frames, pinned to
    TARGET_CPU, and a Monitor watching it. Use as a context manager."""

    def __init__(self, interp, frames, log_path=None):
        depth = frames - 3  # <module>;main;recurse x depth;spin
        args = [interp.path, TARGET, str(depth)] + ([log_path] if log_path else [])
        self.log_path = log_path
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=_pin(TARGET_CPU),
                                     cwd=ROOT)
        self.monitor = None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.stop()
            raise BenchError("target under %s did not start: %s" % (
                interp.name, self.proc.stderr.read().decode(errors="replace").strip()))
        self.monitor = Monitor(self.proc.pid)
        self.monitor.start()
        time.sleep(0.3)  # let it settle into the loop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.monitor and self.monitor.is_alive():
            self.monitor.stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def progress(self):
        """[(monotonic seconds, iterations)] the target logged."""
        out = []
        for line in read_file(self.log_path).splitlines():
            t, n = line.split()
            out.append((float(t), int(n)))
        return out


def run_sampler(args, timeout):
    """bench-sampler ARGS on BENCH_CPU; its JSON lines."""
    cmd = [BENCH_SAMPLER] + [str(a) for a in args]
    vlog(" ".join(cmd))
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True,
                           preexec_fn=_pin(BENCH_CPU), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("bench-sampler %s timed out" % args[0])
    if p.returncode:
        raise BenchError("bench-sampler %s failed (exit %d): %s" % (
            args[0], p.returncode, p.stderr.strip()))
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


# --------------------------------------------------------------------------
# measurement 1: BPF cost per sample


def measure_cost(interp, frames, opts):
    """`opts.cost_reps` undisturbed repetitions, from at most 3 bench-sampler
    runs against one target process."""
    what = "cost %s %d frames" % (interp.name, frames)
    good, bad, nontarget, loads, dropped = [], [], [], [], []
    with Target(interp, frames) as target:
        for _ in range(3):
            target.monitor.wait_quiet(opts.max_wait)
            loads.append(loadavg1())
            reps = run_sampler(["cost", "--pid", target.pid, "--rate", COST_RATE,
                                "--seconds", opts.cost_seconds,
                                "--reps", opts.cost_reps - len(good)],
                               timeout=60 + opts.cost_seconds * (opts.cost_reps + 1) * 3)
            if not reps:
                raise BenchError("%s: bench-sampler printed nothing" % what)
            if not target.monitor.check(reps[0]["nontarget_start"], reps[0]["nontarget_end"]):
                nontarget.append(reps[0]["nontarget_ns"])
            for r in reps:
                why = target.monitor.check(r["start"], r["end"])
                if why:
                    dropped.append(why)
                    vlog("%s: repetition dropped: %s" % (what, why))
                (bad if why else good).append(r)
            if len(good) >= opts.cost_reps:
                break
    use = good or bad
    ns = [r["target_ns"] for r in use]
    return {
        "python": interp.name, "label": interp.label, "frames": frames,
        "avg_frames": statistics.median(r["avg_frames"] for r in use),
        "target_ns": ns,
        "median_ns": statistics.median(ns),
        "nontarget_ns": statistics.median(nontarget or [r["nontarget_ns"] for r in use]),
        "samples_per_rep": int(statistics.median(r["target_samples"] for r in use)),
        "lost": sum(r.get("lost", 0) for r in use),
        "read_errors": sum(r.get("read_errors", 0) for r in use),
        "load1": max(loads),
        "dropped_reps": dropped,
        "disturbed": len(good) < opts.cost_reps,
    }


# --------------------------------------------------------------------------
# measurement 2: slowdown, by toggling sampling inside one run

# two-sided 95% Student t quantiles, df 1..30
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(df):
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964  # Cornish-Fisher expansion, good to 1e-3 beyond df 30
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


def trimmed(w):
    return w["start"] + EDGE_TRIM_S, w["end"] - EDGE_TRIM_S


def window_rate(progress, start, end):
    """Loop iterations per second within [start, end], from the target's
    (time, iterations) log; None if the window holds too few log points."""
    inside = [p for p in progress if start <= p[0] <= end]
    if len(inside) < 3:
        return None
    (t0, n0), (t1, n1) = inside[0], inside[-1]
    return (n1 - n0) / (t1 - t0)


def pair_slowdowns(progress, pairs):
    """For (on, off) window pairs: 100 * (1 - rate_on / rate_off) each, and
    the off rates."""
    out, rates_off = [], []
    for on, off in pairs:
        r_on = window_rate(progress, *trimmed(on))
        r_off = window_rate(progress, *trimmed(off))
        if r_on and r_off:
            out.append(100.0 * (1.0 - r_on / r_off))
            rates_off.append(r_off)
    return out, rates_off


def summarize(slowdowns):
    n = len(slowdowns)
    mean = statistics.mean(slowdowns)
    half = t975(n - 1) * statistics.stdev(slowdowns) / math.sqrt(n) if n > 1 else float("inf")
    return mean, half


def measure_slowdown(interp, stack, frames, rate, opts, unregistered=False):
    """`opts.pairs` undisturbed on/off window pairs, toggled in blocks of
    BLOCK_PAIRS with a wait for a quiet machine before each block, all in
    one target process; at most 3 x `opts.pairs` pairs are run."""
    what = "slowdown %s %s %d Hz%s" % (interp.name, stack, rate,
                                       " unregistered" if unregistered else "")
    fd, path = tempfile.mkstemp(prefix="pyebpf-bench-", suffix=".log")
    os.close(fd)
    good, loads, dropped, run = [], [], [], 0
    try:
        with Target(interp, frames, path) as target:
            while len(good) < opts.pairs and run < 3 * opts.pairs:
                target.monitor.wait_quiet(opts.max_wait)
                loads.append(loadavg1())
                n = min(BLOCK_PAIRS, opts.pairs - len(good))
                n += n % 2  # an even number: each order (on first, off first) as often
                args = ["toggle", "--pid", target.pid, "--rate", rate,
                        "--pairs", n, "--window-ms", int(opts.window * 1000)]
                if unregistered:
                    args.append("--unregistered")
                windows = run_sampler(args, timeout=60 + n * opts.window * 4)
                if len(windows) != 2 * n:
                    raise BenchError("%s: bench-sampler printed %d windows, not %d" % (
                        what, len(windows), 2 * n))
                run += n
                for a, b in zip(windows[::2], windows[1::2]):
                    if a["on"] == b["on"]:
                        raise BenchError("%s: windows are not on/off pairs" % what)
                    why = target.monitor.check(*trimmed(a)) or target.monitor.check(*trimmed(b))
                    if why:
                        dropped.append(why)
                        vlog("%s: pair dropped: %s" % (what, why))
                    else:
                        good.append((a, b) if a["on"] else (b, a))
        progress = target.progress()
    finally:
        os.unlink(path)
    slow, rates_off = pair_slowdowns(progress, good)
    if len(slow) < 2:
        raise BenchError("%s: too few undisturbed window pairs (%d of %d)" % (
            what, len(slow), run))
    mean, half = summarize(slow)
    return {
        "python": interp.name, "label": interp.label, "stack": stack, "frames": frames,
        "rate": rate, "unregistered": unregistered, "pairs": len(slow), "pairs_run": run,
        "window_s": opts.window, "slowdown_pct": slow,
        "mean_pct": mean, "ci95_pct": half,
        "loop_rate_off": statistics.median(rates_off),
        "load1": max(loads),
        "dropped_pairs": dropped,
        "disturbed": len(slow) < opts.pairs,
    }


# --------------------------------------------------------------------------
# tables


def fmt_ns(x):
    return "%.0f" % x


def cost_verdict(ns, frames):
    goal = COST_GOAL_NS.get(frames)
    if goal is None:
        return ""
    if ns <= goal:
        return "met"
    return "**missed** by %.0f ns (%.1fx)" % (ns - goal, ns / goal)


def cost_table(results):
    by = {}
    for r in results["cost"]:
        by.setdefault(r["python"], {})[r["frames"]] = r
    lines = [
        "| Python | frames | ns/sample, median (min-max of %d) | goal | "
        "per extra frame | non-target ns | samples/rep | load1 |" % results["params"]["cost_reps"],
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in results["interp_order"]:
        rows = by.get(name)
        if not rows:
            continue
        lo, hi = rows.get(COST_DEPTHS[0]), rows.get(COST_DEPTHS[1])
        per_frame = ""
        if lo and hi and hi["avg_frames"] > lo["avg_frames"]:
            per_frame = "%.0f ns" % ((hi["median_ns"] - lo["median_ns"])
                                     / (hi["avg_frames"] - lo["avg_frames"]))
        for frames in COST_DEPTHS:
            r = rows.get(frames)
            if not r:
                continue
            flags = []
            if r["disturbed"]:
                flags.append("disturbed")
            if r["lost"]:
                flags.append("%d lost" % r["lost"])
            if r["read_errors"]:
                flags.append("%d read errors" % r["read_errors"])
            lines.append("| %s | %.0f | %s (%s-%s)%s | <= %d: %s | %s | %s | %d | %.2f |" % (
                r["label"], r["avg_frames"], fmt_ns(r["median_ns"]),
                fmt_ns(min(r["target_ns"])), fmt_ns(max(r["target_ns"])),
                " " + ", ".join(flags) if flags else "",
                COST_GOAL_NS[frames], cost_verdict(r["median_ns"], frames),
                per_frame if frames == COST_DEPTHS[1] else "",
                fmt_ns(r["nontarget_ns"]), r["samples_per_rep"],
                r["load1"]))
    return "\n".join(lines)


def slowdown_verdict(r):
    goal = SLOWDOWN_GOAL_PCT.get(r["rate"])
    if goal is None or r["unregistered"]:
        return "-"
    mean, half = r["mean_pct"], r["ci95_pct"]
    if mean + half <= goal:
        return "met"
    if mean <= goal:
        return "met on the mean; CI reaches %.2f%%" % (mean + half)
    if mean - half > goal:
        return "**missed** by %.2f points" % (mean - goal)
    return "**missed** on the mean (by %.2f points); CI reaches down to %.2f%%" % (
        mean - goal, mean - half)


def slowdown_table(results):
    lines = [
        "| Python | stack | rate | slowdown, mean | 95% CI | goal | pairs used/run x window | "
        "loop rate off | load1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = {n: i for i, n in enumerate(results["interp_order"])}
    rows = sorted(results["slowdown"], key=lambda r: (
        order.get(r["python"], 99), r["unregistered"], r["frames"], r["rate"]))
    for r in rows:
        goal = SLOWDOWN_GOAL_PCT.get(r["rate"])
        stack = "%s (%d frames)" % (r["stack"], r["frames"])
        if r["unregistered"]:
            stack += ", not registered"
        lines.append("| %s | %s | %d Hz | %+.2f%% | +/- %.2f | %s | %d/%d x %.2g s | "
                     "%.1f M it/s | %.2f%s |" % (
                         r["label"], stack, r["rate"], r["mean_pct"], r["ci95_pct"],
                         ("<= %.1f%%: %s" % (goal, slowdown_verdict(r))) if goal
                         and not r["unregistered"] else "-",
                         r["pairs"], r.get("pairs_run", r["pairs"]), r["window_s"],
                         r["loop_rate_off"] / 1e6, r["load1"],
                         " (disturbed)" if r["disturbed"] else ""))
    return "\n".join(lines)


def render(results):
    m = results["machine"]
    p = results["params"]
    out = [
        "Measured %s on commit `%s`, by `%s`." % (
            results["date"], results["commit"], results["command"]),
        "",
        "Machine: %d CPUs (%s), %s GiB, kernel %s%s, %s%s." % (
            m["nproc"], m["cpu_model"], m["mem_gib"], m["kernel"],
            ", CONFIG_HZ=%d" % m["config_hz"] if m["config_hz"] else "",
            m["os"], ", virtual machine" if m.get("virtual") else ""),
        "",
    ]
    if results["cost"]:
        out += [
            "### BPF cost per sample",
            "",
            "At %d Hz; %d repetitions of %g s per row (each about %d target samples); "
            "\"per extra frame\" is the slope between the two depths."
            % (COST_RATE, p["cost_reps"], p["cost_seconds"], COST_RATE * p["cost_seconds"]),
            "",
            cost_table(results),
            "",
        ]
    if results["slowdown"]:
        out += [
            "### Slowdown of a CPU-bound loop",
            "",
            "Sampling switched on and off in alternating %g s windows inside one run; "
            "slowdown = 1 - rate(on) / rate(off) per adjacent pair, mean over pairs with a "
            "95%% Student-t confidence interval. A negative value means the on window was "
            "faster, i.e. noise." % p["window"],
            "",
            slowdown_table(results),
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def write_docs(text):
    try:
        with open(DOCS) as f:
            doc = f.read()
    except OSError:
        raise BenchError("cannot read %s" % DOCS)
    i, j = doc.find(BEGIN), doc.find(END)
    if i < 0 or j < i:
        raise BenchError("%s has no results markers (%s ... %s)" % (DOCS, BEGIN, END))
    doc = doc[:i + len(BEGIN)] + "\n\n" + text + "\n" + doc[j:]
    with open(DOCS, "w") as f:
        f.write(doc)
    log("bench: wrote the results section of %s" % os.path.relpath(DOCS, ROOT))


# --------------------------------------------------------------------------
# main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="short run (~2 min): fewer, shorter repetitions and windows, "
                         "slowdown for 3.12 only")
    ap.add_argument("--interp", default="all",
                    help="interpreters for the cost measurement: 'all' or names "
                         "separated by commas (e.g. 3.12,debian-3.11)")
    ap.add_argument("--slowdown-interp", default=None,
                    help="interpreters for the slowdown measurement (default 3.12,3.9; "
                         "'all' for every one)")
    ap.add_argument("--no-cost", action="store_true", help="skip the cost measurement")
    ap.add_argument("--no-slowdown", action="store_true",
                    help="skip the slowdown measurement")
    ap.add_argument("--unregistered", action="store_true",
                    help="also measure the slowdown of a process that is not profiled "
                         "(events on, non-target path only) at 1000 Hz")
    ap.add_argument("--cost-seconds", type=float, default=None,
                    help="seconds per cost repetition (default 2)")
    ap.add_argument("--cost-reps", type=int, default=None, help="cost repetitions (3)")
    ap.add_argument("--pairs", type=int, default=None, help="on/off window pairs (30)")
    ap.add_argument("--window", type=float, default=None,
                    help="seconds per toggle window (default 0.75)")
    ap.add_argument("--max-wait", type=int, default=900,
                    help="seconds to wait for a quiet machine before each measurement")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench-results.json"),
                    help="where to save the raw results (default build/bench-results.json)")
    ap.add_argument("--from-json", metavar="FILE",
                    help="measure nothing: render the results saved in FILE")
    ap.add_argument("--write-docs", action="store_true",
                    help="rewrite the results section of docs/BENCHMARKS.md")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args(argv)
    quick = opts.quick
    if opts.cost_seconds is None:
        opts.cost_seconds = 1.0 if quick else 2.0
    if opts.cost_reps is None:
        opts.cost_reps = 3
    if opts.pairs is None:
        opts.pairs = 10 if quick else 30
    if opts.window is None:
        opts.window = 0.5 if quick else 0.75
    if opts.slowdown_interp is None:
        opts.slowdown_interp = "3.12" if quick else "3.12,3.9"
    if opts.cost_reps < 1 or opts.pairs < 2 or opts.window < 0.2 or opts.cost_seconds <= 0:
        ap.error("need --cost-reps >= 1, --pairs >= 2, --window >= 0.2, --cost-seconds > 0")
    return opts


def measure(opts, argv):
    global BENCH_SAMPLER
    BENCH_SAMPLER = os.environ.get("BENCH_SAMPLER") or os.path.join(ROOT, "build",
                                                                    "bench-sampler")
    if os.geteuid() != 0:
        raise BenchError("must run as root (BPF and perf events): sudo make bench")
    if not os.access(BENCH_SAMPLER, os.X_OK):
        raise BenchError("no %s: run `make build/bench-sampler` first" % BENCH_SAMPLER)
    if (os.cpu_count() or 1) < 2:
        raise BenchError("needs 2 CPUs: one for the target, one for the sampler")
    os.sched_setaffinity(0, {BENCH_CPU})  # stay off the target's CPU

    interps = discover_interpreters()
    if not interps:
        raise BenchError("no CPython 3.6+ found (pyenv or /usr/bin/python3.X)")
    cost_interps = [] if opts.no_cost else select_interps(interps, opts.interp)
    slow_interps = [] if opts.no_slowdown else select_interps(interps, opts.slowdown_interp)

    results = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": git_commit(),
        "command": "bench/run.py" + ("" if not argv else " " + " ".join(argv)),
        "machine": machine_info(),
        "params": {k: getattr(opts, k) for k in ("cost_seconds", "cost_reps", "pairs",
                                                 "window")},
        "interp_order": [i.name for i in interps],
        "cost": [], "slowdown": [], "errors": [],
    }
    n_slow = len(slow_interps) * len(SLOWDOWN_STACKS) * len(SLOWDOWN_RATES) + \
        (1 if opts.unregistered and slow_interps else 0)
    est = len(cost_interps) * len(COST_DEPTHS) * (opts.cost_seconds * (opts.cost_reps + 1) + 2.5) \
        + n_slow * (2 * opts.pairs * opts.window + 2.5)
    log("bench: %d cost runs, %d slowdown runs, about %.0f min on a quiet machine" % (
        len(cost_interps) * len(COST_DEPTHS), n_slow, est / 60))

    def attempt(fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except BenchError as e:
            log("bench: %s" % e)
            results["errors"].append(str(e))
            return None

    for interp in cost_interps:
        for frames in COST_DEPTHS:
            r = attempt(measure_cost, interp, frames, opts)
            if r:
                results["cost"].append(r)
                log("bench: cost %-12s %3d frames: %s ns (non-target %s ns, load %.2f)" % (
                    interp.name, frames, "/".join(fmt_ns(x) for x in r["target_ns"]),
                    fmt_ns(r["nontarget_ns"]), r["load1"]))
    for interp in slow_interps:
        for stack, frames in SLOWDOWN_STACKS:
            for rate in SLOWDOWN_RATES:
                r = attempt(measure_slowdown, interp, stack, frames, rate, opts)
                if r:
                    results["slowdown"].append(r)
                    log("bench: slowdown %-12s %-7s %4d Hz: %+.2f%% +/- %.2f (load %.2f)" % (
                        interp.name, stack, rate, r["mean_pct"], r["ci95_pct"],
                        r["load1"]))
    if opts.unregistered and slow_interps:
        r = attempt(measure_slowdown, slow_interps[0], "shallow", 3, 1000, opts,
                    unregistered=True)
        if r:
            results["slowdown"].append(r)
    return results


def main(argv):
    global VERBOSE
    opts = parse_args(argv)
    VERBOSE = opts.verbose
    try:
        if opts.from_json:
            with open(opts.from_json) as f:
                results = json.load(f)
        else:
            results = measure(opts, argv)
            if opts.json:
                os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
                with open(opts.json, "w") as f:
                    json.dump(results, f, indent=1)
                log("bench: raw results in %s" % opts.json)
        text = render(results)
        print(text)
        if opts.write_docs:
            write_docs(text)
    except BenchError as e:
        log("bench: %s" % e)
        return 2
    except OSError as e:
        log("bench: %s" % e)
        return 2
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
