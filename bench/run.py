#!/usr/bin/env python3
"""pyebpf benchmarks: BPF cost per sample, the slowdown of a Python loop, and
the cost of off-CPU profiling's context-switch program.

    sudo make bench                  # all of it, ~10 min on a quiet machine
    sudo BENCH_SAMPLER=build/bench-sampler python3 bench/run.py [options]
    python3 bench/run.py --from-json build/bench-results.json --write-docs

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
   Two controls: an A/A run without samples, and 1000 Hz with the process
   not registered.
3. Context switches (off-CPU profiling): bench/target_switch.py's two
   threads ping-pong through pipes on CPU 1; `bench-sampler switch-cost`
   reads the BPF statistics of the sched_switch program with the target
   stopped (background), running but not registered (the non-target path,
   next to an empty program's cost, the floor), and registered (ns per
   off-CPU interval, at ~12 and ~100 frames). Then, end to end,
   `perf bench sched pipe` with and without `pyebpf --idle` profiling an
   unrelated sleeping Python process, alternating run by run.

A thread samples /proc/stat and the target's /proc/PID/schedstat every
50 ms. Before each block of measuring the machine must be quiet for a
second: CPU 0 under 10% busy, the target never waiting for CPU 1, and its
loop running steadily (the host, invisible from inside the VM, slows it
at times). The script waits for that, up to --max-wait seconds. A cost
repetition or a toggle window that was disturbed anyway is dropped and
measured again, within limits; results short of undisturbed ones are
flagged. docs/BENCHMARKS.md explains the tests. Each result also records
the highest 1-minute load average seen before its blocks (the target
itself accounts for about 1.0 of it).

Results go to a JSON file (--json) and are printed as Markdown tables;
--write-docs also replaces the results sections of docs/BENCHMARKS.md
that the run measured (1 and 2 share one, 3 has its own), so the numbers
there are never typed by hand. --from-json re-renders a saved
run without measuring.

Stdlib only, Python 3.7+. Exit status: 0; 1 if a measurement failed; 2 for
usage errors (not root, no bench-sampler); 130 if interrupted by SIGINT or
SIGTERM (targets and bench-sampler are stopped, and what was measured is
saved to --json but not written to the docs).
"""

import _thread
import argparse
import bisect
import gzip
import json
import math
import os
import platform
import re
import resource
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
SWITCH_TARGET = os.path.join(ROOT, "bench", "target_switch.py")
DOCS = os.path.join(ROOT, "docs", "BENCHMARKS.md")
BEGIN = "<!-- results:begin (written by bench/run.py --write-docs) -->"
END = "<!-- results:end -->"
SWITCH_BEGIN = "<!-- switch-results:begin (written by bench/run.py --write-docs) -->"
SWITCH_END = "<!-- switch-results:end -->"

# Goals the results are compared with.
COST_GOAL_NS = {12: 1000, 100: 4000}   # per sample, at that many frames
SLOWDOWN_GOAL_PCT = {100: 0.5}          # at that sampling rate

COST_DEPTHS = (12, 100)                 # Python frames in the stack
SLOWDOWN_STACKS = (("shallow", 3), ("deep", 100))
SLOWDOWN_RATES = (100, 1000)
COST_RATE = 1000
NONTARGET_SECONDS = 1.0   # the cost measurement's first phase

BENCH_CPU, TARGET_CPU = 0, 1
DISTURBED_CPU0_PCT = 10.0  # CPU 0 busier than this: something else is running
MAX_TARGET_WAIT_PCT = 2.0  # the target waited longer than this for CPU 1
EDGE_TRIM_S = 0.03        # left out at both ends of a toggle window
SUB_S = 0.05              # a window's parts, to see host stalls inside it
MAX_SPREAD = 0.05         # loop rates of a window's parts differ by more: a stall
MIN_REL_RATE = 0.95       # a window slower than this times the rate around it: a stall
NEIGHBOURS = 3            # windows each side that define "the rate around it"
MIN_REP_RATE = 0.97       # a cost repetition slower than this times the usual rate
BLOCK_PAIRS = 10          # toggle pairs per bench-sampler run
MAX_RUN_FACTOR = 2        # pairs run at most, per undisturbed pair asked for
CONTROL_RATE = 1          # Hz: the "sampled" windows of the control get <= 1 sample

# measurement 3: the context-switch program (off-CPU profiling)
SWITCH_DEPTHS = (12, 100)  # Python frames in each thread's stack
SWITCH_BG_SECONDS = 1.0    # switch-cost's background phase (target stopped)
SWITCH_NT_SECONDS = 2.0    # its non-target phase (target running, not registered)
SWITCH_SUB_S = 0.1         # the ping-pong's rate is noisier than the loop's:
SWITCH_MAX_SPREAD = 0.15   # longer parts, looser steadiness test
SWITCH_MIN_REP_RATE = 0.93  # a repetition switching slower than this times the fastest
PIPE_LOOPS = 200000        # round trips per `perf bench sched pipe` run
PIPE_IDLE_PCT = 10.0       # both CPUs under this before a pipe run

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

    def __init__(self, pid, check_wait=True):
        super().__init__(daemon=True)
        self.pid = pid
        self.check_wait = check_wait  # is the target waiting for its CPU a disturbance?
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

    def _around(self, start, end):
        """The samples just before `start` and just after `end`, or None."""
        for _ in range(10):  # the next sample after `end` may be due soon
            with self.lock:
                before = [s for s in self.samples if s[0] <= start]
                after = [s for s in self.samples if s[0] >= end]
            if after or not self.is_alive():
                break
            time.sleep(self.PERIOD)
        return (before[-1], after[0]) if before and after else None

    def busy(self, start, end):
        """{cpu: percent busy} over [start, end], or None if not monitored."""
        around = self._around(start, end)
        return busy_pct(around[0][1], around[1][1]) if around else None

    def check(self, start, end):
        """Why [start, end] was disturbed, or None if it was quiet."""
        around = self._around(start, end)
        if not around:
            return "not monitored"
        (t0, c0, s0), (t1, c1, s1) = around
        cpu0 = busy_pct(c0, c1).get(BENCH_CPU, 0.0)
        if cpu0 > DISTURBED_CPU0_PCT:
            return "cpu%d %.0f%% busy" % (BENCH_CPU, cpu0)
        if self.check_wait and s0 and s1:
            wait = 100.0 * (s1[1] - s0[1]) / 1e9 / (t1 - t0)
            if wait > MAX_TARGET_WAIT_PCT:
                return "target waited %.0f%% of the time for its CPU" % wait
        return None


# --------------------------------------------------------------------------
# processes


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_sampler_proc = None  # the bench-sampler (or perf) running now, for the signal watcher


def _pin(cpu):
    """A preexec_fn: run on `cpu`, with the stop signals unblocked again."""
    def f():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass
    return f


def _proc_cmdline(pid):
    cmd = read_file("/proc/%d/cmdline" % pid).replace("\0", " ").strip()
    return cmd[:200] or "?"


def watch_signals():
    """Stop cleanly on SIGINT or SIGTERM, saying who sent it. The signals
    are blocked in every thread and taken here with sigwaitinfo, which
    tells the sender; the running bench-sampler is stopped so the main
    thread's wait ends, and the main thread gets a KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def watch():
        info = signal.sigwaitinfo(STOP_SIGNALS)
        log("bench: %s from pid %d (%s): stopping" % (
            signal.Signals(info.si_signo).name, info.si_pid, _proc_cmdline(info.si_pid)))
        _thread.interrupt_main()  # taken once the main thread runs Python again
        p = _sampler_proc
        if p and p.poll() is None:
            p.terminate()

    threading.Thread(target=watch, daemon=True).start()


class Target:
    """bench/target.py under `interp` with `frames` Python frames, pinned to
    TARGET_CPU, logging its progress to a temporary file, and a Monitor
    watching it. A context manager: leaving it stops the target."""

    def __init__(self, interp, frames, switch=False):
        # switch: bench/target_switch.py, two threads ping-ponging on the
        # target's CPU; they wait for that CPU by design, and their rate
        # is noisier than the loop's
        self.switch = switch
        if switch:
            argv = [interp.path, SWITCH_TARGET, str(frames)]
        else:
            argv = [interp.path, TARGET, str(frames - 3)]  # <module>;main;recurse x N;spin
        fd, self.log_path = tempfile.mkstemp(prefix="pyebpf-bench-", suffix=".log")
        os.close(fd)
        self.monitor = None
        try:
            self.proc = subprocess.Popen(argv + [self.log_path],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, preexec_fn=_pin(TARGET_CPU),
                                         cwd=ROOT)
        except OSError as e:
            os.unlink(self.log_path)
            raise BenchError("cannot run %s: %s" % (interp.path, e))
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], 30)
            line = self.proc.stdout.readline() if ready else b""
            if line.strip() != b"ready":
                self.proc.kill()
                raise BenchError("target under %s did not start: %s" % (
                    interp.name, self.proc.stderr.read().decode(errors="replace").strip()))
            self.monitor = Monitor(self.proc.pid, check_wait=not switch)
            self.monitor.start()
            time.sleep(0.3)  # let it settle into the loop
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def wait_quiet(self, max_wait):
        """Wait until the machine is quiet: the Monitor saw nothing else
        running over the last second, and the target's loop ran steadily
        over the last second of its log (the host is not stalling the VM).
        Returns False if that has not happened within max_wait seconds."""
        start = time.monotonic()
        said = None
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            why = self.monitor.check(now - 1.0, now - Monitor.PERIOD)
            if not why:
                p = self.progress()
                subs = p.sub_rates(p.times[-1] - 1.0, p.times[-1], self.sub_s) if p.times \
                    else []
                if not subs:
                    why = "target not logging"
                elif max(subs) / min(subs) - 1 > self.max_spread:
                    why = "host stalls: the loop rate varies by %.0f%%" % (
                        100.0 * (max(subs) / min(subs) - 1))
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

    @property
    def pid(self):
        return self.proc.pid

    @property
    def sub_s(self):
        return SWITCH_SUB_S if self.switch else SUB_S

    @property
    def max_spread(self):
        return SWITCH_MAX_SPREAD if self.switch else MAX_SPREAD

    def stop(self):
        if self.monitor and self.monitor.is_alive():
            self.monitor.stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            # a bench-sampler switch-cost stopped mid-run may leave it stopped
            self.proc.send_signal(signal.SIGCONT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self.log_path:
            os.unlink(self.log_path)
            self.log_path = None

    def progress(self, until=None):
        """The target's log so far: a Progress. With `until`, first wait
        (up to 5 s) until the log reaches that monotonic time."""
        deadline = time.monotonic() + 5
        while True:
            times, iters = [], []
            for line in read_file(self.log_path).splitlines():
                f = line.split()
                if len(f) == 2:  # the last line may be half written
                    times.append(float(f[0]))
                    iters.append(int(f[1]))
            if until is None or (times and times[-1] >= until) or \
                    time.monotonic() > deadline:
                return Progress(times, iters)
            time.sleep(0.1)


class Progress:
    """The target's (time, iterations) log, and loop rates read from it."""

    def __init__(self, times, iters):
        self.times, self.iters = times, iters

    def rate(self, start, end):
        """Iterations per second within [start, end]; None if the span
        holds fewer than 3 log points."""
        i = bisect.bisect_left(self.times, start)
        j = bisect.bisect_right(self.times, end) - 1
        if j - i < 2:
            return None
        return (self.iters[j] - self.iters[i]) / (self.times[j] - self.times[i])

    def sub_rates(self, start, end, sub=SUB_S):
        """Rates over the consecutive ~`sub`-second parts of [start, end]."""
        n = max(1, int((end - start) / sub))
        step = (end - start) / n
        rates = [self.rate(start + k * step, start + (k + 1) * step) for k in range(n)]
        return [r for r in rates if r]


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None


def run_sampler(args, timeout):
    """bench-sampler ARGS on BENCH_CPU; its JSON lines."""
    global _sampler_proc
    cmd = [BENCH_SAMPLER] + [str(a) for a in args]
    vlog(" ".join(cmd))
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          preexec_fn=_pin(BENCH_CPU)) as p:
        _sampler_proc = p
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise BenchError("bench-sampler %s timed out" % args[0])
        except BaseException:
            p.kill()
            raise
        finally:
            _sampler_proc = None
    if p.returncode:
        raise BenchError("bench-sampler %s failed (exit %d): %s" % (
            args[0], p.returncode, err.strip()))
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


# --------------------------------------------------------------------------
# measurement 1: BPF cost per sample


def judge_reps(reps, monitor, progress):
    """Set r["why"] on each cost repetition: None if undisturbed. Host
    stalls (the whole VM slowed, invisible from inside) show in the
    target's loop: a repetition whose loop rate was below MIN_REP_RATE of
    the usual rate (the 90th percentile of its SUB_S parts over all
    repetitions) lost that much of its time to them."""
    subs = [x for r in reps for x in progress.sub_rates(r["start"], r["end"])]
    ref = percentile(subs, 0.9)
    for r in reps:
        rate = progress.rate(r["start"], r["end"])
        r["loop_rate"] = rate or 0.0
        r["loop_rel"] = rate / ref if rate and ref else 0.0
        r["why"] = monitor.check(r["start"], r["end"])
        if not r["why"] and r["loop_rel"] < MIN_REP_RATE:
            r["why"] = "host stall: loop at %.0f%% of its usual rate" % (100.0 * r["loop_rel"])


def measure_cost(interp, frames, opts):
    """`opts.cost_reps` undisturbed repetitions, from at most 3 bench-sampler
    runs against one target process."""
    what = "cost %s %d frames" % (interp.name, frames)
    reps, nontarget, loads = [], [], []
    with Target(interp, frames) as target:
        for _ in range(3):
            target.wait_quiet(opts.max_wait)
            loads.append(loadavg1())
            new = run_sampler(["cost", "--pid", target.pid, "--rate", COST_RATE,
                               "--seconds", opts.cost_seconds, "--nontarget-seconds",
                               NONTARGET_SECONDS,
                               "--reps", opts.cost_reps - sum(1 for r in reps if not r["why"])],
                              timeout=60 + opts.cost_seconds * (opts.cost_reps + 1) * 3)
            if not new:
                raise BenchError("%s: bench-sampler printed nothing" % what)
            if not target.monitor.check(new[0]["nontarget_start"], new[0]["nontarget_end"]):
                nontarget.append(new[0]["nontarget_ns"])
            reps += new
            judge_reps(reps, target.monitor, target.progress(until=new[-1]["end"]))
            for r in new:
                if r["why"]:
                    vlog("%s: repetition dropped: %s" % (what, r["why"]))
            if sum(1 for r in reps if not r["why"]) >= opts.cost_reps:
                break
    good = [r for r in reps if not r["why"]]
    # short of undisturbed ones, take the least disturbed
    use = (good + sorted((r for r in reps if r["why"]), key=lambda r: -r["loop_rel"]))
    use = use[:opts.cost_reps]
    ns = [r["target_ns"] for r in use]
    return {
        "python": interp.name, "label": interp.label, "frames": frames,
        "avg_frames": statistics.median(r["avg_frames"] for r in use),
        "target_ns": ns,
        "median_ns": statistics.median(ns),
        "nontarget_ns": statistics.median(nontarget or [r["nontarget_ns"] for r in use]),
        "samples_per_rep": int(statistics.median(r["target_samples"] for r in use)),
        "loop_rate": statistics.median(r["loop_rate"] for r in use),
        "lost": sum(r.get("lost", 0) for r in use),
        "read_errors": sum(r.get("read_errors", 0) for r in use),
        "load1": max(loads),
        "dropped_reps": [r["why"] for r in reps if r["why"]],
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


def judge_windows(windows, monitor, progress):
    """Set w["rate"] and w["why"] (None if undisturbed) on each toggle
    window. A window is disturbed if the monitor saw another task, or if a
    host stall hit it: its loop rate varied by more than MAX_SPREAD over its
    SUB_S parts, or it ran below MIN_REL_RATE of the median rate of its
    2 * NEIGHBOURS nearest windows (a stall as long as the window). Both
    tests treat on and off windows alike, so dropping windows cannot favour
    either."""
    for w in windows:
        start, end = trimmed(w)
        w["rate"] = progress.rate(start, end)
        subs = progress.sub_rates(start, end)
        w["why"] = monitor.check(start, end)
        if not w["why"] and (not w["rate"] or not subs):
            w["why"] = "not in the target's log"
        if not w["why"] and max(subs) / min(subs) - 1 > MAX_SPREAD:
            w["why"] = "host stall: loop rate varied by %.0f%%" % (
                100.0 * (max(subs) / min(subs) - 1))
    for i, w in enumerate(windows):
        near = [x["rate"] for x in windows[max(0, i - NEIGHBOURS):i] +
                windows[i + 1:i + 1 + NEIGHBOURS] if x["rate"]]
        if not w["why"] and near and w["rate"] < MIN_REL_RATE * statistics.median(near):
            w["why"] = "host stall: loop at %.0f%% of the rate around it" % (
                100.0 * w["rate"] / statistics.median(near))


def good_pairs(windows):
    """Adjacent (on, off) window pairs where neither window was disturbed."""
    out = []
    for a, b in zip(windows[::2], windows[1::2]):
        if not a["why"] and not b["why"]:
            out.append((a, b) if a["on"] else (b, a))
    return out


def summarize(slowdowns):
    n = len(slowdowns)
    mean = statistics.mean(slowdowns)
    half = t975(n - 1) * statistics.stdev(slowdowns) / math.sqrt(n) if n > 1 else float("inf")
    return mean, half


def measure_slowdown(interp, stack, frames, rate, opts, variant=None):
    """`opts.pairs` undisturbed on/off window pairs, toggled in blocks of
    BLOCK_PAIRS with a wait for a quiet machine before each block, all in
    one target process; at most MAX_RUN_FACTOR x `opts.pairs` pairs are run.
    `variant` "control": an A/A test, the sampler toggled at CONTROL_RATE
    so no window is sampled, to show the method's own bias and noise;
    "unregistered": the process is not registered, so the on windows pay
    only the timer interrupt and the non-target path."""
    what = "slowdown %s %s %s" % (interp.name, stack, variant or "%d Hz" % rate)
    control = variant == "control"
    windows, loads = [], []
    n_good = 0
    with Target(interp, frames) as target:
        while n_good < opts.pairs and len(windows) // 2 < MAX_RUN_FACTOR * opts.pairs:
            target.wait_quiet(opts.max_wait)
            loads.append(loadavg1())
            n = min(BLOCK_PAIRS, opts.pairs - n_good)
            n += n % 2  # even: each order (on first, off first) as often
            args = ["toggle", "--pid", target.pid, "--rate", CONTROL_RATE if control else rate,
                    "--pairs", n, "--window-ms", int(opts.window * 1000)]
            if variant == "unregistered":
                args.append("--unregistered")
            new = run_sampler(args, timeout=60 + n * opts.window * 4)
            if len(new) != 2 * n or any(a["on"] == b["on"]
                                        for a, b in zip(new[::2], new[1::2])):
                raise BenchError("%s: bench-sampler printed %d windows, not %d on/off "
                                 "pairs" % (what, len(new), n))
            windows += new
            judge_windows(windows, target.monitor, target.progress(until=new[-1]["end"]))
            n_good = len(good_pairs(windows))
            vlog("%s: %d of %d pairs undisturbed" % (what, n_good, len(windows) // 2))
    pairs = good_pairs(windows)
    if len(pairs) < 2:
        raise BenchError("%s: too few undisturbed window pairs (%d of %d)" % (
            what, len(pairs), len(windows) // 2))
    slow = [100.0 * (1.0 - on["rate"] / off["rate"]) for on, off in pairs]
    on_first = [on["start"] < off["start"] for on, off in pairs]
    mean, half = summarize(slow)
    reasons = {}
    for w in windows:
        if w["why"]:
            key = ("host stall" if w["why"].startswith("host") else
                   "another task on CPU %d" % BENCH_CPU if w["why"].startswith("cpu") else
                   "another task on CPU %d" % TARGET_CPU if w["why"].startswith("target") else
                   w["why"])
            reasons[key] = reasons.get(key, 0) + 1
    return {
        "python": interp.name, "label": interp.label, "stack": stack, "frames": frames,
        "rate": CONTROL_RATE if control else rate, "variant": variant,
        "pairs": len(slow), "pairs_run": len(windows) // 2,
        "window_s": opts.window, "slowdown_pct": slow, "on_first": on_first,
        "mean_pct": mean, "ci95_pct": half, "median_pct": statistics.median(slow),
        "loop_rate_off": statistics.median(off["rate"] for _, off in pairs),
        "load1": max(loads),
        "dropped_windows": reasons,
        "disturbed": len(slow) < opts.pairs,
    }


# --------------------------------------------------------------------------
# measurement 3: the context-switch program (off-CPU profiling)


def judge_switch_reps(reps, monitor, progress):
    """Set r["why"] on each switch-cost repetition: None if undisturbed.
    The target's switch rate shows host stalls: one within a repetition
    makes its rate vary over the parts (a stall during a run of the
    program is charged to it), one as long as the repetition makes it
    slower than the fastest repetition."""
    fastest = max(r["switch_rate"] for r in reps)
    for r in reps:
        subs = progress.sub_rates(r["start"], r["end"], SWITCH_SUB_S)
        r["why"] = monitor.check(r["start"], r["end"])
        if not r["why"] and not subs:
            r["why"] = "not in the target's log"
        if not r["why"] and max(subs) / min(subs) - 1 > SWITCH_MAX_SPREAD:
            r["why"] = "host stall: switch rate varied by %.0f%%" % (
                100.0 * (max(subs) / min(subs) - 1))
        if not r["why"] and r["switch_rate"] < SWITCH_MIN_REP_RATE * fastest:
            r["why"] = "host stall: %.0f%% of the fastest repetition's switch rate" % (
                100.0 * r["switch_rate"] / fastest)


def measure_switch(interp, frames, opts):
    """`opts.cost_reps` undisturbed repetitions of `bench-sampler
    switch-cost` against bench/target_switch.py, from at most 3 runs; each
    run also measures the background and the non-target path."""
    what = "switch-cost %s %d frames" % (interp.name, frames)
    reps, loads = [], []
    phases = {"switch-background": [], "switch-nontarget": []}
    with Target(interp, frames, switch=True) as target:
        for _ in range(3):
            note_wait(target.wait_quiet(wait_budget(opts)))
            loads.append(loadavg1())
            want = opts.cost_reps - sum(1 for r in reps if not r["why"])
            new = run_sampler(["switch-cost", "--pid", target.pid, "--seconds",
                               opts.cost_seconds, "--reps", want, "--nontarget-seconds",
                               SWITCH_NT_SECONDS, "--background-seconds", SWITCH_BG_SECONDS],
                              timeout=60 + (opts.cost_seconds * want + SWITCH_BG_SECONDS +
                                            SWITCH_NT_SECONDS) * 3)
            new_reps = [l for l in new if l["mode"] == "switch-target"]
            if len(new_reps) != want:
                raise BenchError("%s: bench-sampler printed %d repetitions, not %d" % (
                    what, len(new_reps), want))
            progress = target.progress(until=new_reps[-1]["end"])
            for l in new:
                if l["mode"] in phases:
                    l["why"] = target.monitor.check(l["start"], l["end"])
                    if not l["why"] and l["mode"] == "switch-nontarget":
                        subs = progress.sub_rates(l["start"], l["end"], SWITCH_SUB_S)
                        if subs and max(subs) / min(subs) - 1 > SWITCH_MAX_SPREAD:
                            l["why"] = "host stall"
                    phases[l["mode"]].append(l)
            reps += new_reps
            judge_switch_reps(reps, target.monitor, progress)
            for r in new_reps:
                if r["why"]:
                    vlog("%s: repetition dropped: %s" % (what, r["why"]))
            if sum(1 for r in reps if not r["why"]) >= opts.cost_reps:
                break
    good = [r for r in reps if not r["why"]]
    use = (good + sorted((r for r in reps if r["why"]), key=lambda r: -r["switch_rate"]))
    use = use[:opts.cost_reps]

    def phase(mode, key):
        ok = [p for p in phases[mode] if not p["why"]] or phases[mode]
        return statistics.median(p[key] for p in ok)

    ns = [r["ns_per_switch"] for r in use]
    return {
        "python": interp.name, "label": interp.label, "frames": frames,
        "avg_frames": statistics.median(r["avg_frames"] for r in use),
        "ns_per_switch": ns,
        "median_ns": statistics.median(ns),
        "ns_per_target_run": statistics.median(r["ns_per_target_run"] for r in use),
        "runs_per_switch": statistics.median(r["runs_per_switch"] for r in use),
        "switch_rate": statistics.median(r["switch_rate"] for r in use),
        "nontarget_ns": phase("switch-nontarget", "ns_per_run"),
        "nontarget_empty_ns": phase("switch-nontarget", "empty_ns"),
        "nontarget_switch_rate": phase("switch-nontarget", "switch_rate"),
        "nontarget_phases": len(phases["switch-nontarget"]),
        "background_ns": phase("switch-background", "ns_per_run"),
        "background_empty_ns": phase("switch-background", "empty_ns"),
        "background_rate": phase("switch-background", "run_rate"),
        "intervals": sum(r["intervals"] for r in use),
        "delivered": sum(r["delivered"] for r in use),
        "lost": sum(r["lost"] for r in use),
        "read_errors": sum(r["read_errors"] for r in use),
        "load1": max(loads),
        "dropped_reps": [r["why"] for r in reps if r["why"]],
        "disturbed": len(good) < opts.cost_reps,
    }


def children_cpu():
    """CPU seconds (user + system) of the children waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def perf_pipe(loops):
    """One `perf bench sched pipe` run on TARGET_CPU (both of its processes,
    so every round trip is two context switches on that CPU): (ops/s, CPU
    seconds it used, start, end). Its CPU time holds the switch programs'
    time too (they run in the kernel on its behalf), but unlike ops/s not
    the time other processes took CPU 1 from it."""
    global _sampler_proc
    cmd = ["perf", "bench", "sched", "pipe", "-l", str(loops)]
    cpu0 = children_cpu()
    start = time.monotonic()
    try:
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True,
                              preexec_fn=_pin(TARGET_CPU)) as p:
            _sampler_proc = p  # the signal watcher stops it
            try:
                out, err = p.communicate(timeout=300)
            except BaseException:
                p.kill()
                raise
            finally:
                _sampler_proc = None
    except (OSError, subprocess.SubprocessError) as e:
        raise BenchError("perf bench sched pipe: %s (Debian: apt-get install linux-perf)" % e)
    end = time.monotonic()
    cpu = children_cpu() - cpu0  # perf waits for its worker, so that is in
    m = re.search(r"^\s*([\d.]+)\s+ops/sec", out, re.M)
    if p.returncode or not m:
        raise BenchError("perf bench sched pipe failed (exit %d): %s" % (
            p.returncode, (err or out).strip()[-300:]))
    return float(m.group(1)), cpu, start, end


class Pyebpf:
    """`pyebpf record --idle` attached to `pid`, pinned to BENCH_CPU, from
    the moment its programs are attached until stop()."""

    def __init__(self, pid):
        self.dir = tempfile.mkdtemp(prefix="pyebpf-bench-")
        cmd = [PYEBPF, "record", "-p", str(pid), "--idle", "-o",
               os.path.join(self.dir, "out.folded")]
        vlog(" ".join(cmd))
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         universal_newlines=True, preexec_fn=_pin(BENCH_CPU))
        except OSError as e:
            os.rmdir(self.dir)
            raise BenchError("cannot run %s: %s" % (PYEBPF, e))
        # attached once it holds BPF links and has stopped adding them
        links, stable, deadline = -1, 0, time.monotonic() + 30
        while stable < 5:
            time.sleep(0.1)
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.stop()
                raise BenchError("pyebpf --idle did not start: %s" % err)
            n = self._links()
            stable = stable + 1 if n == links and n > 0 else 0
            links = n

    def _links(self):
        fd_dir = "/proc/%d/fd" % self.proc.pid
        n = 0
        try:
            for fd in os.listdir(fd_dir):
                try:
                    n += os.readlink(os.path.join(fd_dir, fd)) == "anon_inode:bpf_link"
                except OSError:
                    pass
        except OSError:
            pass
        return n

    def stop(self):
        """Stop it (Ctrl-C: it writes its profile); its stderr."""
        if self.dir is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)
        self.dir = None
        return err.strip()

    def stop_checked(self):
        err = self.stop()
        if self.proc.returncode:
            raise BenchError("pyebpf --idle failed (exit %d): %s" % (self.proc.returncode, err))


_waited_in_vain = False  # a wait for quiet timed out: later ones are shorter


def wait_budget(opts):
    """Seconds to wait for quiet before a block of switch-cost or pipe
    measuring: --max-wait, but only 10 s once a wait has timed out, so a
    machine that stays busy does not multiply the run's length."""
    return min(opts.max_wait, 10) if _waited_in_vain else opts.max_wait


def note_wait(quiet):
    global _waited_in_vain
    _waited_in_vain = _waited_in_vain or not quiet


def wait_idle(monitor, max_wait):
    """Wait until both CPUs were under PIPE_IDLE_PCT busy for a second.
    Returns False if that has not happened within max_wait seconds."""
    start = time.monotonic()
    said = None
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        busy = monitor.busy(now - 1.0, now - Monitor.PERIOD) or {}
        top = max(busy.items(), key=lambda kv: kv[1]) if busy else (None, 100.0)
        if top[1] < PIPE_IDLE_PCT:
            return True
        if now - start >= max_wait:
            log("bench: machine still busy after %d s (cpu%s %.0f%% busy); measuring anyway"
                % (max_wait, top[0], top[1]))
            return False
        if said is None or now - said >= 60:
            said = now
            who = busiest_processes(exclude=(os.getpid(),))
            log("bench: waiting for idle CPUs (cpu%s %.0f%% busy, load %.2f%s)" % (
                top[0], top[1], loadavg1(), "; busy: " + ", ".join(
                    "%s[%d] %.0f%%" % (c, p, u) for u, p, c in who) if who else ""))


def pipe_run(on, monitor, opts):
    ops, cpu, start, end = perf_pipe(opts.pipe_loops)
    busy = (monitor.busy(start, end) or {}).get(BENCH_CPU, 100.0)
    why = "cpu%d %.0f%% busy" % (BENCH_CPU, busy) if busy > DISTURBED_CPU0_PCT else None
    vlog("pipe %s: %.0f ops/s, %.0f CPU ns/op%s" % (
        "on " if on else "off", ops, 1e9 * cpu / opts.pipe_loops,
        " (dropped: %s)" % why if why else ""))
    return {"on": on, "ops": ops, "cpu_ns": 1e9 * cpu / opts.pipe_loops, "start": start,
            "end": end, "why": why}


def pipe_pair(pid, monitor, on_first, opts, loads):
    """Two pipe runs, one with pyebpf attached to `pid`, one without, back
    to back after one wait for quiet (gaps between them would add drift)."""
    prof = Pyebpf(pid) if on_first else None
    try:
        note_wait(wait_idle(monitor, wait_budget(opts)))
        loads.append(loadavg1())
        first = pipe_run(on_first, monitor, opts)
        if prof:
            prof.stop_checked()
            prof = None
        else:
            prof = Pyebpf(pid)
        second = pipe_run(not on_first, monitor, opts)
        if prof:
            prof.stop_checked()
            prof = None
    finally:
        if prof:
            prof.stop()
    return [first, second]


def measure_pipe(interp, opts):
    """End-to-end: `perf bench sched pipe` (a workload that only switches,
    not profiled) with `pyebpf --idle` attached to an unrelated, sleeping
    Python process, and with no pyebpf at all, alternating run by run in
    on-off, off-on pairs. Slowdown per pair: 1 - ops(on) / ops(off)."""
    sleeper = subprocess.Popen([interp.path, "-c", "import time\nwhile True: time.sleep(1)"],
                               stdin=subprocess.DEVNULL, preexec_fn=_pin(BENCH_CPU))
    monitor = Monitor(sleeper.pid, check_wait=False)
    monitor.start()
    runs, loads = [], []
    try:
        time.sleep(0.5)  # let it reach its loop
        i = 0
        while sum(1 for a, b in zip(runs[::2], runs[1::2]) if not a["why"] and not b["why"]) \
                < opts.pipe_pairs and len(runs) // 2 < MAX_RUN_FACTOR * opts.pipe_pairs and \
                not (_waited_in_vain and len(runs) // 2 >= opts.pipe_pairs):  # busy anyway
            runs += pipe_pair(sleeper.pid, monitor, i % 2 == 0, opts, loads)
            i += 1
    finally:
        monitor.stop()
        sleeper.kill()
        sleeper.wait()
    every = [(a, b) if a["on"] else (b, a) for a, b in zip(runs[::2], runs[1::2])]
    pairs = [(on, off) for on, off in every if not on["why"] and not off["why"]]
    if len(pairs) < 2:
        # never quiet: report every pair, flagged, rather than nothing
        log("bench: pipe: only %d undisturbed pairs of %d; using all of them" % (
            len(pairs), len(every)))
        pairs = every
    slow = [100.0 * (1.0 - on["ops"] / off["ops"]) for on, off in pairs]
    mean, half = summarize(slow)
    more_cpu = [100.0 * (on["cpu_ns"] / off["cpu_ns"] - 1.0) for on, off in pairs]
    cpu_mean, cpu_half = summarize(more_cpu)
    return {
        "python": interp.name, "label": interp.label, "loops": opts.pipe_loops,
        "pairs": len(pairs), "pairs_run": len(runs) // 2,
        "ops_on": [on["ops"] for on, _ in pairs], "ops_off": [off["ops"] for _, off in pairs],
        "slowdown_pct": slow, "mean_pct": mean, "ci95_pct": half,
        "median_pct": statistics.median(slow),
        "median_ops_on": statistics.median(on["ops"] for on, _ in pairs),
        "median_ops_off": statistics.median(off["ops"] for _, off in pairs),
        "cpu_ns_on": [on["cpu_ns"] for on, _ in pairs],
        "cpu_ns_off": [off["cpu_ns"] for _, off in pairs],
        "cpu_more_pct": more_cpu, "cpu_mean_pct": cpu_mean, "cpu_ci95_pct": cpu_half,
        "median_cpu_ns_on": statistics.median(on["cpu_ns"] for on, _ in pairs),
        "median_cpu_ns_off": statistics.median(off["cpu_ns"] for _, off in pairs),
        "dropped_runs": [r["why"] for r in runs if r["why"]],
        "disturbed_used": sum(1 for on, off in pairs if on["why"] or off["why"]),
        "load1": max(loads),
        "disturbed": len(pairs) < opts.pipe_pairs or any(on["why"] or off["why"]
                                                         for on, off in pairs),
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
        "fixed + per frame | non-target ns | loop rate | load1 |" % results["params"]["cost_reps"],
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in results["interp_order"]:
        rows = by.get(name)
        if not rows:
            continue
        lo, hi = rows.get(COST_DEPTHS[0]), rows.get(COST_DEPTHS[1])
        model = ""
        if lo and hi and hi["avg_frames"] > lo["avg_frames"]:
            slope = (hi["median_ns"] - lo["median_ns"]) / (hi["avg_frames"] - lo["avg_frames"])
            model = "%.0f + %.0f/frame" % (lo["median_ns"] - slope * lo["avg_frames"], slope)
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
            lines.append("| %s | %.0f | %s (%s-%s)%s | <= %d: %s | %s | %s | %s | %.2f |" % (
                r["label"], r["avg_frames"], fmt_ns(r["median_ns"]),
                fmt_ns(min(r["target_ns"])), fmt_ns(max(r["target_ns"])),
                " " + ", ".join(flags) if flags else "",
                COST_GOAL_NS[frames], cost_verdict(r["median_ns"], frames),
                model if frames == COST_DEPTHS[1] else "",
                fmt_ns(r["nontarget_ns"]),
                "%.1f M it/s" % (r["loop_rate"] / 1e6) if r.get("loop_rate") else "-",
                r["load1"]))
    return "\n".join(lines)


def slowdown_verdict(r):
    goal = SLOWDOWN_GOAL_PCT.get(r["rate"])
    if goal is None or r.get("variant"):
        return "-"
    mean, half = r["mean_pct"], r["ci95_pct"]
    if mean + half <= goal:
        return "<= %.1f%%: met" % goal
    if mean <= goal:
        return "<= %.1f%%: met on the mean; the CI reaches %.2f%%" % (goal, mean + half)
    if mean - half > goal:
        return "<= %.1f%%: **missed** by %.2f points" % (goal, mean - goal)
    return "<= %.1f%%: **missed** on the mean by %.2f points (the CI reaches down to %.2f%%)" \
        % (goal, mean - goal, mean - half)


def slowdown_table(results):
    lines = [
        "| Python | stack | sampling | slowdown, mean +/- 95% CI | median | goal | "
        "pairs kept/run | loop rate off | load1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = {n: i for i, n in enumerate(results["interp_order"])}
    rows = sorted(results["slowdown"], key=lambda r: (
        order.get(r["python"], 99), bool(r.get("variant")), r["frames"], r["rate"]))
    for r in rows:
        sampling = "%d Hz" % r["rate"]
        if r.get("variant") == "control":
            sampling = "none (A/A control)"
        elif r.get("variant") == "unregistered":
            sampling += ", process not registered"
        lines.append("| %s | %s (%d frames) | %s | %+.2f%% +/- %.2f | %+.2f%% | %s | %d/%d | "
                     "%.1f M it/s | %.2f%s |" % (
                         r["label"], r["stack"], r["frames"], sampling, r["mean_pct"],
                         r["ci95_pct"], r["median_pct"], slowdown_verdict(r), r["pairs"],
                         r["pairs_run"], r["loop_rate_off"] / 1e6, r["load1"],
                         " (too few pairs kept)" if r["disturbed"] else ""))
    return "\n".join(lines)


def _version(r):
    m = re.match(r"(\d+)\.(\d+)", r["label"])
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _span(values, fmt="%.0f", unit=""):
    lo, hi = min(values), max(values)
    return (fmt + unit) % lo if lo == hi else (fmt + unit + " to " + fmt + unit) % (lo, hi)


def _versions(rows):
    vs = sorted({_version(r) for r in rows})
    if len(vs) <= 3:
        return ", ".join("%d.%d" % v for v in vs)
    return "%d.%d to %d.%d" % (vs[0] + vs[-1])


def summary(results):
    """The results against the goals, in sentences."""
    out = []
    cost = results["cost"]
    # 3.11+ keep frames packed on a data stack; older versions have heap frames
    layouts = [("3.11+", lambda r: _version(r) >= (3, 11)),
               ("3.6-3.10", lambda r: _version(r) < (3, 11))]
    for frames in COST_DEPTHS:
        goal = COST_GOAL_NS[frames]
        rows = [r for r in cost if r["frames"] == frames]
        if not rows:
            continue
        parts = []
        for name, pick in layouts:
            sel = [r for r in rows if pick(r)]
            if not sel:
                continue
            ns = [r["median_ns"] for r in sel]
            missed = [r for r in sel if r["median_ns"] > goal]
            if not missed:
                verdict = "met"
            elif len(missed) == len(sel):
                verdict = "**missed** (%s the goal)" % _span([x / goal for x in ns], "%.1f", "x")
            else:
                verdict = "**missed** on %s" % ", ".join(r["python"] for r in missed)
            parts.append("%s on %s (%d interpreter%s: %s)" % (
                verdict, _versions(sel), len(sel), "s" if len(sel) > 1 else "",
                _span(ns, unit=" ns")))
        out.append("- BPF cost at %d frames, goal <= %d ns: %s." % (
            frames, goal, "; ".join(parts)))
    by = {}
    for r in cost:
        by.setdefault(r["python"], {})[r["frames"]] = r
    for name, pick in layouts:
        fixed, slope = [], []
        for rows in by.values():
            lo, hi = rows.get(COST_DEPTHS[0]), rows.get(COST_DEPTHS[1])
            if lo and hi and pick(lo) and hi["avg_frames"] > lo["avg_frames"]:
                k = (hi["median_ns"] - lo["median_ns"]) / (hi["avg_frames"] - lo["avg_frames"])
                slope.append(k)
                fixed.append(lo["median_ns"] - k * lo["avg_frames"])
        if slope:
            out.append("- On %s each frame costs %s, on top of a fixed %s per sample." % (
                name, _span(slope, unit=" ns"), _span(fixed, unit=" ns")))
    slow = [r for r in results["slowdown"] if not r.get("variant")]
    for rate in SLOWDOWN_RATES:
        rows = [r for r in slow if r["rate"] == rate]
        if not rows:
            continue
        means = [r["mean_pct"] for r in rows]
        uppers = [r["mean_pct"] + r["ci95_pct"] for r in rows]
        goal = SLOWDOWN_GOAL_PCT.get(rate)
        text = "- Slowdown at %d Hz: %s in %d rows (%s)" % (
            rate, _span(means, "%+.2f", "%%"), len(rows), _versions(rows))
        if goal is not None:
            over_mean = [r for r in rows if r["mean_pct"] > goal]
            over_ci = [u for u in uppers if u > goal]
            if over_mean:
                text += "; goal <= %.1f%% **missed** in %d of them" % (goal, len(over_mean))
            elif over_ci:
                text += ("; goal <= %.1f%% met on the mean in all, though the upper end of the "
                         "95%% interval passes it in %d (up to %.2f%%)" % (
                             goal, len(over_ci), max(over_ci)))
            else:
                text += "; goal <= %.1f%% met, with every 95%% interval below it" % goal
        out.append(text + ".")
    for r in results["slowdown"]:
        if r.get("variant") == "unregistered":
            out.append("- A process that is not profiled, on a CPU sampled at %d Hz, slows by "
                       "%+.2f%% +/- %.2f: the timer interrupt and the non-target path alone."
                       % (r["rate"], r["mean_pct"], r["ci95_pct"]))
        elif r.get("variant") == "control":
            out.append("- The A/A control (no samples) gives %+.2f%% +/- %.2f: differences of "
                       "that size are the method's noise." % (r["mean_pct"], r["ci95_pct"]))
    return "\n".join(out)


def machine_lines(results):
    m = results["machine"]
    return [
        "Measured %s on commit `%s` with `%s`." % (
            results["date"], results["commit"], results["command"]),
        "",
        "Machine: %d CPUs (%s), %s GiB, kernel %s%s, %s%s." % (
            m["nproc"], m["cpu_model"], m["mem_gib"], m["kernel"],
            ", CONFIG_HZ=%d" % m["config_hz"] if m["config_hz"] else "",
            m["os"], ", virtual machine" if m.get("virtual") else ""),
        "",
    ]


def switch_table(results):
    order = {n: i for i, n in enumerate(results["interp_order"])}
    rows = sorted(results["switch"], key=lambda r: (order.get(r["python"], 99), r["frames"]))
    lines = [
        "| Python | frames | ns per off-CPU interval, median (min-max of %d) | program runs "
        "per interval | switches/s traced | switches/s not traced | non-target ns/run "
        "(empty program) | background switches/s, ns/run (empty program) | intervals "
        "sent/delivered/lost | load1 |" % results["params"]["cost_reps"],
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        flags = []
        if r["disturbed"]:
            flags.append("disturbed")
        if r["read_errors"]:
            flags.append("%d read errors" % r["read_errors"])
        lines.append("| %s | %.0f | %s (%s-%s)%s | %.3f | %.0f k | %.0f k | %.0f (%.0f) | "
                     "%.0f, %.0f (%.0f) | %d/%d/%d | %.2f |" % (
                         r["label"], r["avg_frames"], fmt_ns(r["median_ns"]),
                         fmt_ns(min(r["ns_per_switch"])), fmt_ns(max(r["ns_per_switch"])),
                         " " + ", ".join(flags) if flags else "", r["runs_per_switch"],
                         r["switch_rate"] / 1e3, r["nontarget_switch_rate"] / 1e3,
                         r["nontarget_ns"], r["nontarget_empty_ns"], r["background_rate"],
                         r["background_ns"], r["background_empty_ns"], r["intervals"],
                         r["delivered"], r["lost"], r["load1"]))
    return "\n".join(lines)


def pipe_table(results):
    lines = [
        "| workload | pyebpf | ops/s without / with pyebpf, medians | slowdown (ops/s), "
        "mean +/- 95% CI | median | CPU ns per round trip without / with, medians | more "
        "CPU per round trip, mean +/- 95% CI | pairs kept/run | load1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["pipe"]:
        lines.append("| `perf bench sched pipe -l %d`, both processes on CPU %d | `pyebpf "
                     "record --idle` on a sleeping %s process | %.0f / %.0f | %+.2f%% +/- %.2f "
                     "| %+.2f%% | %.0f / %.0f | %+.2f%% +/- %.2f | %d/%d%s | %.2f |" % (
                         r["loops"], TARGET_CPU, r["label"], r["median_ops_off"],
                         r["median_ops_on"], r["mean_pct"], r["ci95_pct"], r["median_pct"],
                         r["median_cpu_ns_off"], r["median_cpu_ns_on"], r["cpu_mean_pct"],
                         r["cpu_ci95_pct"], r["pairs"], r["pairs_run"],
                         " (%d of them disturbed: never quiet)" % r["disturbed_used"]
                         if r.get("disturbed_used") else
                         " (too few pairs kept)" if r["disturbed"] else "", r["load1"]))
    return "\n".join(lines)


def switch_summary(results):
    out = []
    rows = results.get("switch", [])
    if rows:
        nt = [r["nontarget_ns"] for r in rows]
        empty = [r["nontarget_empty_ns"] for r in rows]
        med, med_e = statistics.median(nt), statistics.median(empty)
        out.append(
            "- Non-target path (a switch of threads that are not traced): **%s ns** per run "
            "(median of %d rows, %s), against %s ns for an empty program on the same "
            "tracepoint in the same runs: the path's own work is the other %.0f ns "
            "(%.1fx the empty program). Against the ~150 ns the issue gave as the floor: "
            "%s." % (
                fmt_ns(med), len(rows), _span(nt, unit=" ns"), fmt_ns(med_e), med - med_e,
                med / med_e if med_e else 0.0,
                "within it (%.0f ns below)" % (150 - med) if med <= 150 else
                "**above** it by %.0f ns" % (med - 150)))
        bg = [r["background_ns"] for r in rows]
        bge = [r["background_empty_ns"] for r in rows]
        out.append(
            "- The machine's own switches, mostly to and from the idle task (%s per second "
            "here), cost more per run: %s against %s for the empty program (cold "
            "caches)." % (_span([r["background_rate"] for r in rows]), _span(bg, unit=" ns"),
                          _span(bge, unit=" ns")))
        parts = []
        for r in sorted(rows, key=lambda r: (-_version(r)[1], r["frames"])):
            parts.append("%s at %.0f frames **%s ns**" % (
                r["label"].split(" ")[0], r["avg_frames"], fmt_ns(r["median_ns"])))
        out.append("- Traced thread, per off-CPU interval (its switch-out, stack walk and "
                   "record, and its switch-in, which sends it): %s." % "; ".join(parts))
        out.append("- Switch rates reached: %s switches/s with the target traced, %s not "
                   "traced (the same process, one CPU)." % (
                       _span([r["switch_rate"] / 1e3 for r in rows], unit=" k"),
                       _span([r["nontarget_switch_rate"] / 1e3 for r in rows], unit=" k")))
        bad = [r for r in rows if r["disturbed"]]
        if bad:
            out.append("- %d of %d rows are marked disturbed: the machine was not quiet long "
                       "enough, so some repetitions used were disturbed (load1 up to %.2f)."
                       % (len(bad), len(rows), max(r["load1"] for r in bad)))
    for r in results.get("pipe", []):
        est = ""
        if rows:
            # two switches per round trip, each running the non-target path
            est = ("; two runs of the non-target path at the ns/run above are %.0f ns, "
                   "before the wakeup program and the tracepoint's own overhead" % (
                       2 * statistics.median(x["nontarget_ns"] for x in rows)))
        out.append("- End to end, a process that only switches and is not profiled (`perf "
                   "bench sched pipe`), while `pyebpf --idle` profiles another process: "
                   "**%+.2f%% +/- %.2f CPU time** per round trip (medians %.0f ns without, "
                   "%.0f with: %+.0f ns%s); its round trips per second drop by %+.2f%% +/- "
                   "%.2f (%.0f to %.0f).%s" % (
                       r["cpu_mean_pct"], r["cpu_ci95_pct"], r["median_cpu_ns_off"],
                       r["median_cpu_ns_on"], r["median_cpu_ns_on"] - r["median_cpu_ns_off"],
                       est, r["mean_pct"], r["ci95_pct"],
                       r["median_ops_off"], r["median_ops_on"],
                       " Measured on a busy machine (%d disturbed pairs used, load1 up to "
                       "%.2f): both depend on what else ran on CPU %d; read them with care."
                       % (r["disturbed_used"], r["load1"], TARGET_CPU)
                       if r.get("disturbed_used") else ""))
    return "\n".join(out)


def render_switch(results):
    """The context-switch section of docs/BENCHMARKS.md."""
    out = machine_lines(results) + ["#### Summary", "", switch_summary(results), ""]
    if results.get("switch"):
        dropped = sum(len(r["dropped_reps"]) for r in results["switch"])
        out += [
            "#### BPF cost of the switch program",
            "",
            "`bench-sampler switch-cost`, %d repetitions of %g s per row, after %g s with the "
            "target stopped (background) and %g s with it running but not registered "
            "(non-target). %d disturbed repetitions were dropped and measured again. "
            "ns/run and ns per interval are the kernel's BPF statistics (run time between "
            "two clock reads around the program), not the tracepoint's own overhead."
            % (results["params"]["cost_reps"], results["params"]["cost_seconds"],
               SWITCH_BG_SECONDS, SWITCH_NT_SECONDS, dropped),
            "",
            switch_table(results),
            "",
        ]
    if results.get("pipe"):
        out += [
            "#### Slowdown of a switch-heavy process that is not profiled",
            "",
            "Runs with and without pyebpf alternate (on-off, off-on, ...); slowdown = "
            "1 - ops(with) / ops(without) per adjacent pair, and the same for the CPU time "
            "per round trip; means with a 95%% Student-t confidence interval. %d runs were "
            "disturbed (CPU %d busy)%s." % (
                sum(len(r["dropped_runs"]) for r in results["pipe"]), BENCH_CPU,
                "; with too few quiet pairs, every pair is used" if any(
                    r.get("disturbed_used") for r in results["pipe"]) else
                " and dropped"),
            "",
            pipe_table(results),
            "",
        ]
    if results.get("interrupted"):
        out += ["The run was interrupted: measurements after these are missing.", ""]
    if results.get("switch_errors"):
        out += ["#### Errors", ""] + ["- %s" % e for e in results["switch_errors"]] + [""]
    return "\n".join(out).rstrip() + "\n"


def render(results):
    p = results["params"]
    out = machine_lines(results) + [
        "### Summary",
        "",
        summary(results),
        "",
    ]
    if results["cost"]:
        dropped = sum(len(r["dropped_reps"]) for r in results["cost"])
        out += [
            "### BPF cost per sample",
            "",
            "At %d Hz; %d repetitions of %g s per row (about %d target samples each). "
            "\"fixed + per frame\" is the straight line through the two depths, in ns. "
            "\"loop rate\" is the target's speed while sampled (it shows how fast the host "
            "let the VM run). "
            "%d disturbed repetitions were dropped and measured again."
            % (COST_RATE, p["cost_reps"], p["cost_seconds"], COST_RATE * p["cost_seconds"],
               dropped),
            "",
            cost_table(results),
            "",
        ]
    if results["slowdown"]:
        reasons = {}
        for r in results["slowdown"]:
            for k, v in r["dropped_windows"].items():
                reasons[k] = reasons.get(k, 0) + v
        out += [
            "### Slowdown of a CPU-bound loop",
            "",
            "Sampling switched on and off in alternating %g s windows inside one run, "
            "%d undisturbed pairs wanted per row; slowdown = 1 - rate(on) / rate(off) per "
            "adjacent pair, mean over the pairs kept with a 95%% Student-t confidence "
            "interval. Windows dropped: %s."
            % (p["window"], p["pairs"], ", ".join("%d %s" % (v, k) for k, v in
                                                 sorted(reasons.items())) or "none"),
            "",
            slowdown_table(results),
            "",
        ]
    if results.get("interrupted"):
        out += ["The run was interrupted: measurements after these are missing.", ""]
    if results.get("errors"):
        out += ["### Errors", ""] + ["- %s" % e for e in results["errors"]] + [""]
    return "\n".join(out).rstrip() + "\n"


def write_docs(text, begin=BEGIN, end=END):
    """Replace what lies between the markers `begin` and `end` in DOCS."""
    try:
        with open(DOCS) as f:
            doc = f.read()
    except OSError:
        raise BenchError("cannot read %s" % DOCS)
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        raise BenchError("%s has no results markers (%s ... %s)" % (DOCS, begin, end))
    doc = doc[:i + len(begin)] + "\n\n" + text + "\n" + doc[j:]
    with open(DOCS, "w") as f:
        f.write(doc)
    log("bench: wrote a results section of %s (%s)" % (os.path.relpath(DOCS, ROOT),
                                                       begin.split(":")[0][5:]))


# --------------------------------------------------------------------------
# main


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a short run (~3 min): 1 s cost repetitions, slowdown for 3.12 "
                         "only with 20 pairs")
    ap.add_argument("--interp", default="all",
                    help="interpreters for the cost measurement: 'all' (default) or names "
                         "separated by commas, e.g. 3.12,debian-3.11")
    ap.add_argument("--slowdown-interp", default=None,
                    help="interpreters for the slowdown measurement (default 3.12,3.9; "
                         "'all' for every one)")
    ap.add_argument("--no-cost", action="store_true", help="skip the cost measurement")
    ap.add_argument("--no-slowdown", action="store_true",
                    help="skip the slowdown measurement")
    ap.add_argument("--no-controls", action="store_true",
                    help="skip the slowdown measurement's two controls (an A/A run without "
                         "samples; 1000 Hz with the process not registered)")
    ap.add_argument("--no-switch", action="store_true",
                    help="skip the context-switch program's cost (off-CPU profiling)")
    ap.add_argument("--switch-interp", default=None,
                    help="interpreters for the context-switch cost (default 3.12,3.9; 3.12 "
                         "with --quick)")
    ap.add_argument("--no-pipe", action="store_true",
                    help="skip the end-to-end slowdown of `perf bench sched pipe` under "
                         "`pyebpf --idle`")
    ap.add_argument("--pipe-pairs", type=int, default=None,
                    help="undisturbed with/without pyebpf pairs of pipe runs wanted (default "
                         "20; 5 with --quick)")
    ap.add_argument("--pipe-loops", type=int, default=PIPE_LOOPS,
                    help="round trips per pipe run (default %d)" % PIPE_LOOPS)
    ap.add_argument("--cost-seconds", type=float, default=None,
                    help="seconds per cost and switch-cost repetition (default 2; 1 with "
                         "--quick)")
    ap.add_argument("--cost-reps", type=int, default=3, help="cost repetitions (default 3)")
    ap.add_argument("--pairs", type=int, default=None,
                    help="undisturbed on/off window pairs wanted (default 40; 20 with --quick)")
    ap.add_argument("--window", type=float, default=0.25,
                    help="seconds per toggle window (default 0.25)")
    ap.add_argument("--max-wait", type=int, default=900,
                    help="seconds to wait for a quiet machine before each block of measuring "
                         "(default 900)")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "bench-results.json"),
                    help="where to save the raw results (default build/bench-results.json)")
    ap.add_argument("--from-json", metavar="FILE",
                    help="measure nothing: render the results saved in FILE")
    ap.add_argument("--write-docs", action="store_true",
                    help="rewrite the results sections of docs/BENCHMARKS.md that this run "
                         "measured")
    ap.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args(argv)
    if opts.cost_seconds is None:
        opts.cost_seconds = 1.0 if opts.quick else 2.0
    if opts.pairs is None:
        opts.pairs = 20 if opts.quick else 40
    if opts.slowdown_interp is None:
        opts.slowdown_interp = "3.12" if opts.quick else "3.12,3.9"
    if opts.switch_interp is None:
        opts.switch_interp = "3.12" if opts.quick else "3.12,3.9"
    if opts.pipe_pairs is None:
        opts.pipe_pairs = 5 if opts.quick else 20
    if opts.cost_reps < 1 or opts.pairs < 2 or opts.window < 2 * EDGE_TRIM_S + 3 * SUB_S \
            or opts.cost_seconds <= 0 or opts.pipe_pairs < 2 or opts.pipe_loops < 1000:
        ap.error("need --cost-reps >= 1, --pairs >= 2, --window >= %g, --cost-seconds > 0, "
                 "--pipe-pairs >= 2, --pipe-loops >= 1000" % (2 * EDGE_TRIM_S + 3 * SUB_S))
    return opts


def measure(opts, argv, results):
    """Measure into `results` (filled as measurements finish, so a caller
    that catches KeyboardInterrupt still has everything done so far)."""
    global BENCH_SAMPLER, PYEBPF
    BENCH_SAMPLER = os.environ.get("BENCH_SAMPLER") or os.path.join(ROOT, "build",
                                                                    "bench-sampler")
    PYEBPF = os.environ.get("PYEBPF") or os.path.join(ROOT, "build", "pyebpf")
    if os.geteuid() != 0:
        raise BenchError("must run as root (BPF and perf events): sudo make bench")
    if not os.access(BENCH_SAMPLER, os.X_OK):
        raise BenchError("no %s: run `make build/bench-sampler` first" % BENCH_SAMPLER)
    if not opts.no_pipe and not os.access(PYEBPF, os.X_OK):
        raise BenchError("no %s: run `make build/pyebpf` first, or --no-pipe" % PYEBPF)
    if (os.cpu_count() or 1) < 2:
        raise BenchError("needs 2 CPUs: one for the target, one for the sampler")
    os.sched_setaffinity(0, {BENCH_CPU})  # stay off the target's CPU

    interps = discover_interpreters()
    if not interps:
        raise BenchError("no CPython 3.6+ found (pyenv or /usr/bin/python3.X)")
    cost_interps = [] if opts.no_cost else select_interps(interps, opts.interp)
    slow_interps = [] if opts.no_slowdown else select_interps(interps, opts.slowdown_interp)
    switch_interps = [] if opts.no_switch else select_interps(interps, opts.switch_interp)
    # the pipe run's sleeping target: any Python will do
    pipe_interp = None if opts.no_pipe else (switch_interps or
                                             select_interps(interps, opts.switch_interp))[0]

    results.update({
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": git_commit(),
        "command": "bench/run.py" + ("" if not argv else " " + " ".join(argv)),
        "machine": machine_info(),
        "params": {k: getattr(opts, k) for k in ("cost_seconds", "cost_reps", "pairs",
                                                 "window", "pipe_pairs", "pipe_loops")},
        "interp_order": [i.name for i in interps],
        "cost": [], "slowdown": [], "errors": [],
        "switch": [], "pipe": [], "switch_errors": [],
    })
    runs = [(i, stack, frames, rate, None) for i in slow_interps
            for stack, frames in SLOWDOWN_STACKS for rate in SLOWDOWN_RATES]
    if slow_interps and not opts.no_controls:
        runs.append((slow_interps[0], "shallow", 3, 0, "control"))
        runs.append((slow_interps[0], "shallow", 3, 1000, "unregistered"))
    n_cost = len(cost_interps) * len(COST_DEPTHS)
    n_switch = len(switch_interps) * len(SWITCH_DEPTHS)
    est = n_cost * (NONTARGET_SECONDS + opts.cost_seconds * opts.cost_reps + 2) + \
        len(runs) * (opts.pairs * 2 * opts.window + 3) + \
        n_switch * (SWITCH_BG_SECONDS + SWITCH_NT_SECONDS + opts.cost_seconds * opts.cost_reps +
                    4) + \
        (0 if opts.no_pipe else opts.pipe_pairs * 2 * (opts.pipe_loops / 150000.0 + 4))
    log("bench: %d cost, %d slowdown, %d switch-cost and %d pipe measurements: about %.0f min "
        "on a quiet machine" % (n_cost, len(runs), n_switch, 0 if opts.no_pipe else 1,
                                est / 60))

    def attempt(fn, *args, errors="errors", **kw):
        try:
            return fn(*args, **kw)
        except BenchError as e:
            log("bench: %s" % e)
            results[errors].append(str(e))
            return None

    for interp in cost_interps:
        for frames in COST_DEPTHS:
            r = attempt(measure_cost, interp, frames, opts)
            if r:
                results["cost"].append(r)
                log("bench: cost %-11s %3d frames: %s ns (non-target %s ns, load %.2f)%s" % (
                    interp.name, frames, "/".join(fmt_ns(x) for x in r["target_ns"]),
                    fmt_ns(r["nontarget_ns"]), r["load1"],
                    " disturbed" if r["disturbed"] else ""))
    for interp, stack, frames, rate, variant in runs:
        r = attempt(measure_slowdown, interp, stack, frames, rate, opts, variant)
        if r:
            results["slowdown"].append(r)
            log("bench: slowdown %-11s %-7s %-12s %+.2f%% +/- %.2f (%d/%d pairs, load %.2f)"
                % (interp.name, stack, variant or "%d Hz" % rate, r["mean_pct"],
                   r["ci95_pct"], r["pairs"], r["pairs_run"], r["load1"]))
    for interp in switch_interps:
        for frames in SWITCH_DEPTHS:
            r = attempt(measure_switch, interp, frames, opts, errors="switch_errors")
            if r:
                results["switch"].append(r)
                log("bench: switch-cost %-11s %3d frames: %s ns per interval, %.0f k/s "
                    "(non-target %.0f ns/run, empty %.0f; load %.2f)%s" % (
                        interp.name, frames, "/".join(fmt_ns(x) for x in r["ns_per_switch"]),
                        r["switch_rate"] / 1e3, r["nontarget_ns"], r["nontarget_empty_ns"],
                        r["load1"], " disturbed" if r["disturbed"] else ""))
    if pipe_interp:
        r = attempt(measure_pipe, pipe_interp, opts, errors="switch_errors")
        if r:
            results["pipe"].append(r)
            log("bench: pipe %.0f -> %.0f ops/s: %+.2f%% +/- %.2f (%d/%d pairs, load %.2f)" % (
                r["median_ops_off"], r["median_ops_on"], r["mean_pct"], r["ci95_pct"],
                r["pairs"], r["pairs_run"], r["load1"]))


def main(argv):
    global VERBOSE
    opts = parse_args(argv)
    VERBOSE = opts.verbose
    # stop cleanly (targets and bench-sampler stopped, temporary logs
    # removed) on either signal, even if started with SIGINT ignored
    watch_signals()
    results = {}
    try:
        if opts.from_json:
            with open(opts.from_json) as f:
                results = json.load(f)
        else:
            try:
                measure(opts, argv, results)
            except KeyboardInterrupt:
                if not any(results.get(k) for k in ("cost", "slowdown", "switch", "pipe")):
                    raise
                results["interrupted"] = True
                log("bench: interrupted; keeping what was measured")
            if opts.json:
                os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
                with open(opts.json, "w") as f:
                    json.dump(results, f, indent=1)
                log("bench: raw results in %s" % opts.json)
        # each section of the docs only from a run that measured it
        main_part = any(results.get(k) for k in ("cost", "slowdown", "errors"))
        switch_part = any(results.get(k) for k in ("switch", "pipe", "switch_errors"))
        if main_part:
            text = render(results)
            print(text)
        if switch_part:
            switch_text = render_switch(results)
            print("### Context-switch cost (off-CPU profiling)\n\n" + switch_text)
        if results.get("interrupted"):
            return 130
        if opts.write_docs:
            if main_part:
                write_docs(text)
            if switch_part:
                write_docs(switch_text, SWITCH_BEGIN, SWITCH_END)
    except BenchError as e:
        log("bench: %s" % e)
        return 2
    except OSError as e:
        log("bench: %s" % e)
        return 2
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    return 1 if results.get("errors") or results.get("switch_errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
