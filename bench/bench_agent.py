#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The fleet agent's own cost: CPU and memory of `pyebpf agent` at its
defaults (97 Hz, 10 s upload interval) with 10 and 100 busy Python
processes of mixed versions, pushing to a loopback ingest receiver.

    sudo python3 bench/bench_agent.py [--counts 10,100] [--warmup 20] [--seconds 60]

For each count: start that many bench/target.py processes (a pure-Python
loop under ~13 frames, until SIGTERM), cycling through every installed
CPython (found as bench/run.py finds them); start the agent with only
--server (the receiver, tests/integration/ingest_receiver.py, in this
process), a temporary --spool-dir, a metrics endpoint on a free loopback
port and --exclude-pid of this script; wait --warmup seconds (it finds
the processes and uploads at least once), then measure for --seconds:

  cpu    the agent's utime + stime (/proc/PID/stat, all its threads) over
         the window, as % of one core
  bpf    the run time of the agent's BPF programs over the window (kernel
         statistics, enabled with BPF_ENABLE_STATS for the run, read from
         /proc/PID/fdinfo), as % of one core: spent in the profiled
         processes' context, not the agent's, so not in "cpu"
  rss    steady: median VmRSS over the window; peak: VmHWM at its end
         (the high-water mark since the agent started)

plus what it did: processes profiled, samples per second, lost samples,
uploads the receiver took per interval (about one per process when the
agent keeps up), failed uploads, what waited in the spool at the end, and
the upload lag: the median time from an interval's end to the arrival of
its last upload; how long the agent took to start (to its "metrics on"
line) and to exit after SIGTERM.
The receiver (this script) runs at nice -10 so that it is never the
bottleneck; the targets and the agent at 0. Prints a Markdown table; writes
nothing else. Needs root, build/pyebpf (or PYEBPF=...), Python 3.7+
(standard library only).
"""

import argparse
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.append(os.path.join(ROOT, "tests", "integration"))  # after bench/: its run.py
from ingest_receiver import Receiver  # noqa: E402
import run as benchrun  # noqa: E402  (bench/run.py: interpreters, machine info)

PYEBPF = os.environ.get("PYEBPF") or os.path.join(ROOT, "build", "pyebpf")
TARGET = os.path.join(HERE, "target.py")
DEPTH = 10
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M)
    return int(m.group(1)) if m else 0


def enable_bpf_stats():
    """An fd that keeps the kernel's BPF run-time statistics on while it is
    open (BPF_ENABLE_STATS: refcounted, does not disturb anyone else), or
    None."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint8 * 16)()  # enable_stats.type = BPF_STATS_RUN_TIME (0)
    nr = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine)
    if nr is None:
        return None
    fd = libc.syscall(nr, 32, attr, 16)  # BPF_ENABLE_STATS
    return fd if fd >= 0 else None


def bpf_run_ns(pid):
    """Total run_time_ns of the BPF programs process `pid` holds open (from
    /proc/PID/fdinfo), or None if it holds none."""
    seen = {}
    fds = "/proc/%d/fd" % pid
    for fd in os.listdir(fds):
        try:
            if os.readlink(os.path.join(fds, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        seen[info.get("prog_id", fd).strip()] = int(info.get("run_time_ns", "0").strip() or 0)
    return sum(seen.values()) if seen else None


def metrics(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(None, 1)
            out[k] = float(v)
    return out


AGENT_NICE = 0


def normal_priority():
    """Children run at nice 0; this process (the receiver) runs at -10 so
    that with 100 busy processes it keeps up and never slows the agent."""
    os.setpriority(os.PRIO_PROCESS, 0, 0)


def agent_priority():
    os.setpriority(os.PRIO_PROCESS, 0, AGENT_NICE)


class Targets:
    def __init__(self, n, interps):
        self.procs = []
        for i in range(n):
            it = interps[i % len(interps)]
            p = subprocess.Popen([it.path, TARGET, str(DEPTH)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 start_new_session=True, preexec_fn=normal_priority)
            self.procs.append(p)
        for p in self.procs:
            if p.stdout.readline().strip() != b"ready":
                self.stop()
                raise BenchError("a target did not start")

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()


def measure(n, interps, rec, warmup, seconds):
    spool = tempfile.mkdtemp(prefix="bench-agent-spool-")
    targets = Targets(n, interps)
    agent = None
    stats_fd = enable_bpf_stats()
    try:
        cmd = [PYEBPF, "agent", "--server", rec.url, "--spool-dir", spool,
               "--metrics-address", "127.0.0.1:0", "--exclude-pid", str(os.getpid())]
        err = open(os.path.join(spool, "..", os.path.basename(spool) + ".log"), "w+")
        agent = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err, preexec_fn=agent_priority)
        url = None
        started = time.monotonic()
        deadline = started + 180  # 100 busy processes leave it little CPU

        while not url:
            err.seek(0)
            m = re.search(r"metrics on (http://\S+/metrics)", err.read())
            if m:
                url = m.group(1)
            elif agent.poll() is not None or time.monotonic() > deadline:
                err.seek(0)
                raise BenchError("the agent did not start in %.0f s: %s" % (
                    time.monotonic() - started, err.read().strip() or "(no output)"))
            else:
                time.sleep(0.1)
        started_secs = time.monotonic() - started
        log("  %d targets, agent %d up in %.1f s; warm-up %d s" % (
            n, agent.pid, started_secs, warmup))
        time.sleep(warmup)
        m0 = metrics(url)
        ups0 = len(rec.uploads())
        w0 = time.time()
        c0, b0, t0 = cpu_seconds(agent.pid), bpf_run_ns(agent.pid), time.monotonic()
        rss = []
        while time.monotonic() - t0 < seconds:
            rss.append(status_kb(agent.pid, "VmRSS"))
            time.sleep(0.5)
        c1, b1, t1 = cpu_seconds(agent.pid), bpf_run_ns(agent.pid), time.monotonic()
        hwm = status_kb(agent.pid, "VmHWM")
        m1 = metrics(url)
        ups1 = len(rec.uploads())
        w1 = time.time()
        load = os.getloadavg()[0]
        agent.send_signal(signal.SIGTERM)
        ts = time.monotonic()
        try:
            rc = agent.wait(120)
            stop = "%.1f s" % (time.monotonic() - ts)
        except subprocess.TimeoutExpired:
            rc, stop = 0, "> 120 s (killed)"
        if rc != 0:
            err.seek(0)
            raise BenchError("the agent exited with %d: %s" % (rc, err.read().strip()[-500:]))
        err.close()
    finally:
        if agent and agent.poll() is None:
            agent.kill()
            agent.wait()
        targets.stop()
        if stats_fd is not None:
            os.close(stats_fd)
        shutil.rmtree(spool, ignore_errors=True)
        try:
            os.unlink(spool + ".log")
        except OSError:
            pass
    win = t1 - t0
    rss.sort()
    # per interval that ended in the window: when its last upload arrived
    last = {}
    for u in rec.uploads():
        if w0 <= u.end and u.end + 10 <= w1:
            last[u.end] = max(last.get(u.end, 0), u.received)
    lags = sorted(t - end for end, t in last.items())

    def d(k):
        return m1.get("pyebpf_agent_" + k, 0) - m0.get("pyebpf_agent_" + k, 0)

    return {
        "targets": n,
        "processes": m1.get("pyebpf_agent_processes", 0),
        "window": win,
        "cpu_pct": 100.0 * (c1 - c0) / win,
        "bpf_pct": (100.0 * (b1 - b0) / 1e9 / win) if b0 is not None and b1 is not None
        else None,
        "rss_mb": rss[len(rss) // 2] / 1024.0,
        "hwm_mb": hwm / 1024.0,
        "samples_s": d("samples_total") / win,
        "lost": d("samples_lost_total"),
        "uploads_interval": (ups1 - ups0) / (win / 10.0),
        "uploads_ok": d('uploads_total{result="ok"}'),
        "failed": d('uploads_total{result="failed"}'),
        "spool": m1.get("pyebpf_agent_spool_items", 0),
        "lag": lags[len(lags) // 2] if lags else None,
        "start": started_secs,
        "stop": stop,
        "load": load,
    }


def table(results):
    out = ["| Python processes | profiled | agent CPU (% of a core) | BPF in targets (% of a "
           "core) | RSS steady | RSS peak | samples/s | lost | uploads per 10 s | failed "
           "| spooled | upload lag | start | stop |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        out.append("| %d | %d | %.2f %% | %s | %.1f MB | %.1f MB | %.0f | %d | %.0f | %d | %d "
                   "| %s | %.1f s | %s |" % (
            r["targets"], r["processes"], r["cpu_pct"],
            "-" if r["bpf_pct"] is None else "%.2f %%" % r["bpf_pct"], r["rss_mb"],
            r["hwm_mb"], r["samples_s"], r["lost"], r["uploads_interval"], r["failed"],
            r["spool"], "-" if r["lag"] is None else "%.1f s" % r["lag"], r["start"],
            r["stop"]))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", default="10,100", help="numbers of busy processes (10,100)")
    ap.add_argument("--warmup", type=float, default=20, help="seconds before measuring (20)")
    ap.add_argument("--seconds", type=float, default=60, help="measuring window (60)")
    ap.add_argument("--agent-nice", type=int, default=0, metavar="N",
                    help="run the agent at nice N (0, as a plain systemd service would)")
    args = ap.parse_args()
    global AGENT_NICE
    AGENT_NICE = args.agent_nice
    if os.geteuid() != 0:
        print("bench_agent: needs root (the agent loads BPF programs)", file=sys.stderr)
        return 2
    if not os.access(PYEBPF, os.X_OK):
        print("bench_agent: no pyebpf at %s (make, or set PYEBPF)" % PYEBPF, file=sys.stderr)
        return 2
    interps = benchrun.discover_interpreters()
    if not interps:
        print("bench_agent: no CPython 3.6+ found", file=sys.stderr)
        return 2
    counts = [int(c) for c in args.counts.split(",")]
    os.setpriority(os.PRIO_PROCESS, 0, -10)
    rec = Receiver(port=0).start()
    results = []
    try:
        for n in counts:
            results.append(measure(n, interps, rec, args.warmup, args.seconds))
            log(table(results[-1:]).splitlines()[-1])
    except BenchError as e:
        print("bench_agent: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        rec.stop()
    cpu = re.search(r"^model name\s*:\s*(.*)$", open("/proc/cpuinfo").read(), re.M)
    print("pyebpf agent at its defaults (97 Hz, 10 s interval), nice %d, %.0f s windows after "
          "%.0f s of warm-up; %s, %d CPUs, Linux %s; targets cycle through %s" % (
              args.agent_nice, args.seconds, args.warmup, cpu.group(1) if cpu else "?", os.cpu_count(),
              os.uname().release, ", ".join(i.name for i in interps)))
    print()
    print(table(results))
    print()
    print("1-minute load average at the end of each window: %s" % ", ".join(
        "%.1f" % r["load"] for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
