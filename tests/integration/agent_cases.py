# SPDX-License-Identifier: MIT
"""Integration tests of `pyebpf agent` (issue 6), run by run.py (ONCE list).

Each case starts a loopback ingest receiver (ingest_receiver.py), real
Python targets and the real agent with a 2 s upload interval, then reads
back what arrived: the ingest parameters and labels, each pprof decoded by
`go tool pprof -raw` (through tests/formats/pprof_check.py's helpers), the
time ranges (a process's uploads tile: until == next from, boundaries at
multiples of the interval), the agent's /metrics and /healthz, its log and
exit status. The harness (Fail, Target, Ctx, ...) is run.py's own module:
run.py registers itself as "run" before importing this file.
"""

import base64
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from run import (FORMATS_DIR, PYEBPF, Fail, Skip, Target, _killpg, _quote, checker,
                 discover_interpreters, stderr_tail, target, vlog)
from ingest_receiver import Receiver

sys.path.insert(0, FORMATS_DIR)
import pprof_check  # noqa: E402

INTERVAL = 2  # seconds: the tests' upload interval
RSS_LIMIT = 64 << 20
HOT = "hot"
HARNESS_ENV = ("env", "-u", "PYROSCOPE_APPLICATION_NAME", "-u", "OTEL_SERVICE_NAME",
               "-u", "OTEL_RESOURCE_ATTRIBUTES")
LABEL_VALUE_JUNK = re.compile(r"[^A-Za-z0-9._/:-]")


# --------------------------------------------------------------------------
# the agent


class Agent:
    """A running `pyebpf agent` in its own process group; a thread collects
    its stderr. Defaults added unless `args` has them: a per-test spool
    directory and a metrics endpoint on a free loopback port."""

    def __init__(self, ctx, args):
        args = list(args)
        if not any(a.startswith("--spool-dir") for a in args):
            args += ["--spool-dir", ctx.path("spool")]
        if not any(a.startswith("--metrics-address") for a in args):
            args += ["--metrics-address", "127.0.0.1:0"]
        self.cmd = [PYEBPF, "agent"] + args
        vlog("agent: " + " ".join(_quote(a) for a in self.cmd))
        self.started = time.time()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.lines = []
        self.rc = None
        self.stop_secs = None  # from the signal to the exit
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._metrics_url = None

    def _read(self):
        for raw in iter(self.proc.stderr.readline, b""):
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def stderr(self):
        with self._cond:
            return "\n".join(self.lines)

    def wait_line(self, pattern, timeout=20):
        """The first match of regex `pattern` in a stderr line; Fail when
        the agent exits or `timeout` passes without one."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise Fail("the agent exited (status %s) before logging /%s/" % (
                        self.proc.returncode, pattern), self.describe())
                if left <= 0:
                    raise Fail("the agent did not log /%s/ in %d s" % (pattern, timeout),
                               self.describe())
                self._cond.wait(min(left, 0.2))

    @property
    def metrics_url(self):
        """http://HOST:PORT of the metrics endpoint, from the start-up log."""
        if not self._metrics_url:
            m = self.wait_line(r"metrics on (http://[^\s/]+)/metrics")
            self._metrics_url = m.group(1)
        return self._metrics_url

    def get(self, path):
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except OSError as e:
            raise Fail("GET %s%s: %s" % (self.metrics_url, path, e), self.describe())

    def metrics(self):
        """{'name' or 'name{labels}': value} from GET /metrics."""
        code, text = self.get("/metrics")
        if code != 200:
            raise Fail("GET /metrics answered %d" % code, self.describe())
        return parse_metrics(text)

    def wait_metric(self, name, pred, timeout):
        """Polls /metrics until pred(value of `name`); returns all metrics."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.metrics()
            if name in m and pred(m[name]):
                return m
            if time.monotonic() > deadline:
                raise Fail("metric %s is %s after %d s" % (name, m.get(name, "missing"), timeout),
                           self.describe())
            time.sleep(0.25)

    def alive(self):
        return self.proc.poll() is None

    def send(self, sig):
        os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends `sig` and waits for the exit; returns the exit status."""
        t = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("the agent did not exit within %d s of signal %d" % (timeout, sig),
                       self.describe())
        self.stop_secs = time.monotonic() - t
        self._reader.join(5)
        return self.rc

    def kill(self):
        _killpg(self.pid)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(5)
        if self.rc is None:
            self.rc = self.proc.returncode

    def rss(self):
        """VmRSS in bytes, or None once it is gone."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
            return int(m.group(1)) * 1024 if m else None
        except OSError:
            return None

    def describe(self):
        with self._cond:
            lines = list(self.lines)
        out = ["command: " + " ".join(_quote(a) for a in self.cmd),
               "exit status: %s" % (self.proc.poll() if self.rc is None else self.rc)]
        return out + stderr_tail(lines)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


METRIC_LINE = re.compile(r"^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)(?:\s+\d+)?$")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_LINE.match(line)
        if not m:
            raise Fail("metrics line %r is not Prometheus text" % line)
        out[m.group(1)] = float(m.group(2))
    return out


def metric(m, name, what=""):
    key = "pyebpf_agent_" + name
    if key not in m:
        raise Fail("/metrics has no %s%s (has %s)" % (key, what, ", ".join(sorted(m))))
    return m[key]


def receiver(ctx, **kw):
    return Receiver(port=0, out_dir=ctx.path("uploads"), **kw).start()


def agent_args(rec, *extra, interval=INTERVAL):
    """The usual flags: the receiver, a short interval, not this harness."""
    return ["--server", rec.url, "--upload-interval", str(interval),
            "--exclude-pid", str(os.getpid())] + list(extra)


def interps_mixed(n):
    """n supported interpreters (distinct ones spread from oldest to newest;
    cycling through all of them when n is larger)."""
    sup = sorted((i for i in discover_interpreters() if i.supported), key=lambda i: i.version)
    if n <= len(sup):
        step = (len(sup) - 1) / max(n - 1, 1)
        return [sup[round(k * step)] for k in range(n)]
    return [sup[k % len(sup)] for k in range(n)]


def comm_of(pid):
    with open("/proc/%d/comm" % pid) as f:
        return f.read().rstrip("\n")


def container_id_of(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        m = re.search(r"[0-9a-f]{64}", f.read())
    return m.group(0) if m else None


def clean(value):
    return LABEL_VALUE_JUNK.sub("_", value)[:128]


def busy(interp, secs, env=(), script="hot.py"):
    """A hot.py-style target under `interp` with only the environment
    variables `env` ("K=V") naming a service; "ready" awaited."""
    t = Target([interp.path, target(script), str(secs)], prefix=HARNESS_ENV + tuple(env))
    try:
        t.wait_for("ready")
        t.comm = comm_of(t.pid)
    except BaseException:
        t.kill()
        raise
    return t


# --------------------------------------------------------------------------
# decoded uploads


class Pprof:
    """An upload's profile as `go tool pprof -raw` prints it."""

    def __init__(self, text, time_nanos, duration_nanos):
        self.text = text
        self.time_nanos = time_nanos
        self.duration_nanos = duration_nanos
        self.types = []  # [(type, unit)]
        self.default = None  # the default sample type's name
        self.samples = []  # [(values, {label: value}, (function, ...) leaf first)]
        self._parse(text)

    def _parse(self, text):
        locs, raw = {}, []
        section = None
        cur = None
        for line in text.splitlines():
            if line.startswith("Samples:"):
                section = "types"
                continue
            if line.rstrip() in ("Locations", "Mappings"):
                section = line.strip()
                continue
            if section == "types":
                for tok in line.split():
                    dflt = tok.endswith("[dflt]")
                    tok = tok[:-6] if dflt else tok
                    ty, _, unit = tok.partition("/")
                    self.types.append((ty, unit))
                    if dflt:
                        self.default = ty
                section = "samples"
            elif section == "samples":
                m = re.match(r"^\s*(-?\d+(?:\s+-?\d+)*):((?:\s+\d+)*)\s*$", line)
                if m:
                    cur = ([int(v) for v in m.group(1).split()], {},
                           [int(x) for x in m.group(2).split()])
                    raw.append(cur)
                elif cur is not None:
                    for k, v in re.findall(r"([A-Za-z_][\w.\-]*):\[([^\]]*)\]", line):
                        cur[1][k] = v
            elif section == "Locations":
                m = re.match(r"^\s*(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(.*) (\S*):(-?\d+) s=-?\d+$",
                             line)
                if m:
                    cur_loc = int(m.group(1))
                    locs[cur_loc] = [m.group(2)]
                else:
                    m = re.match(r"^\s+(.*) (\S*):(-?\d+) s=-?\d+$", line)
                    if m and locs:
                        locs[cur_loc].append(m.group(1))
        if not self.types:
            raise Fail("go tool pprof -raw shows no sample types", text.splitlines()[:20])
        if self.default is None:
            self.default = self.types[-1][0]
        for values, labels, ids in raw:
            funcs = []
            for i in ids:
                if i not in locs:
                    raise Fail("sample refers to location %d, which -raw does not list" % i)
                funcs += locs[i]
            self.samples.append((values, labels, tuple(funcs)))

    def index(self, ty):
        for i, (t, _) in enumerate(self.types):
            if t == ty:
                return i
        raise Fail("no sample type %s in the profile (types %s)" % (ty, self.types))

    def total(self, ty):
        i = self.index(ty)
        return sum(v[i] for v, _, _ in self.samples)

    def by_leaf(self, ty, python_only=True):
        """{leaf-most (Python) function: weight of sample type ty}."""
        i = self.index(ty)
        out = {}
        for v, _, funcs in self.samples:
            fr = [f for f in funcs if not f.startswith("[")] if python_only else list(funcs)
            leaf = fr[0] if fr else "(none)"
            out[leaf] = out.get(leaf, 0) + v[i]
        return out


def _proto_fields(data, wanted):
    """Top-level varint fields `wanted` of a protobuf message."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v

    while i < len(data):
        key = varint()
        field, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
            if field in wanted:
                out[field] = v
        elif wt == 1:
            i += 8
        elif wt == 2:
            n = varint()
            i += n
        elif wt == 5:
            i += 4
        else:
            raise Fail("not a protobuf message (wire type %d)" % wt)
    return out


_GO = {}


def decode(up):
    """The upload's pprof, decoded by go tool pprof (cached on the upload)."""
    if getattr(up, "pprof", None) is not None:
        return up.pprof
    import gzip
    import tempfile
    try:
        go = _GO.get("go") or pprof_check.find_go()
    except pprof_check.RunError as e:
        raise Skip(str(e))
    _GO["go"] = go
    with tempfile.TemporaryDirectory(prefix="pprof-raw-") as tmp:
        try:
            text = pprof_check.run_pprof(go, up.path, ["-raw"], tmp)
        except pprof_check.RunError as e:
            raise Fail("upload %s: %s" % (up.describe(), e))
    f = _proto_fields(gzip.decompress(up.profile), (9, 10))
    up.pprof = Pprof(text, f.get(9, 0), f.get(10, 0))
    return up.pprof


def by_pid(ups, kind=None):
    out = {}
    for u in ups:
        if kind is None or u.kind == kind:
            try:
                out.setdefault(int(u.labels.get("pid", "-1")), []).append(u)
            except ValueError:
                raise Fail("upload %s: pid label %r is not a number" % (
                    u.describe(), u.labels.get("pid")))
    return out


def pid_ups(rec, pid, kind="samples"):
    return [u for u in rec.uploads() if u.labels.get("pid") == str(pid) and u.kind == kind]


def wait_pid_ups(rec, pid, n, timeout, kind="samples", agent=None, what=""):
    """Waits for n uploads of `pid`; returns them."""
    got = rec.wait_for(lambda ups: len([u for u in ups if u.labels.get("pid") == str(pid)
                                        and u.kind == kind]) >= n, timeout)
    ups = pid_ups(rec, pid, kind)
    if not got:
        raise Fail("%d %s upload(s) for pid %d after %d s%s, want %d" % (
            len(ups), kind, pid, timeout, what, n),
            ["received: " + u.describe() for u in rec.uploads()[-10:]]
            + (agent.describe() if agent else []))
    return ups


CPU_CONFIG = {"samples": {"units": "samples", "display-name": "cpu", "sampled": True,
                          "aggregation": "sum"}}


def check_upload(up, pid, interp, service, rate=97, static=(), kind="samples", threads=False):
    """One upload's parameters, name and labels, and its pprof: types,
    time range, pid/tid labels (tid == pid unless `threads`). Returns the
    decoded pprof."""
    where = "upload %s" % up.describe()
    q = up.query
    if q.get("format") != "pprof" or q.get("spyName") != "pyebpf":
        raise Fail("%s: format=%s spyName=%s, want pprof and pyebpf" % (
            where, q.get("format"), q.get("spyName")))
    if up.rate != rate:
        raise Fail("%s: sampleRate=%d, want %d" % (where, up.rate, rate))
    if up.service != service:
        raise Fail("%s: service name %r, want %r" % (where, up.service, service))
    want = {"hostname": clean(socket.gethostname()), "pid": str(pid),
            "python_version": interp.vstr}
    cid = container_id_of(os.getpid())  # the targets are in the harness's cgroup
    if cid:
        want["container_id"] = cid
    want.update(dict(static))
    if up.labels != want:
        raise Fail("%s: labels %s, want %s" % (where, up.labels, want))
    if up.label_keys != sorted(up.label_keys):
        raise Fail("%s: label keys %s not sorted" % (where, up.label_keys))
    if up.end <= up.start:
        raise Fail("%s: until %d is not after from %d" % (where, up.end, up.start))
    pp = decode(up)
    if kind == "samples":
        if up.sample_type_config != CPU_CONFIG:
            raise Fail("%s: sample_type_config %s, want %s" % (where, up.sample_type_config,
                                                               CPU_CONFIG))
        want_types = [("samples", "count"), ("cpu", "nanoseconds")]
        if pp.types != want_types:
            raise Fail("%s: pprof sample types %s, want %s" % (where, pp.types, want_types))
    else:
        cfg = up.sample_type_config.get("off_cpu", {})
        if cfg.get("display-name") != "off_cpu" or cfg.get("units") != "nanoseconds":
            raise Fail("%s: sample_type_config %s, want off_cpu in nanoseconds" % (
                where, up.sample_type_config))
        types = [t for t, _ in pp.types]
        if types[:3] != ["samples", "cpu", "off_cpu"]:
            raise Fail("%s: pprof sample types %s, want samples, cpu, off_cpu" % (
                where, pp.types))
    if pp.time_nanos != up.start * 10**9 or pp.duration_nanos != (up.end - up.start) * 10**9:
        raise Fail("%s: pprof time %d ns, duration %d ns; want from x 1e9 and "
                   "(until - from) x 1e9" % (where, pp.time_nanos, pp.duration_nanos))
    if not pp.samples:
        raise Fail("%s: no samples" % where, pp.text.splitlines()[:30])
    for _, labels, _ in pp.samples:
        if labels.get("pid") != str(pid):
            raise Fail("%s: a sample has pid label %r, want %d" % (where, labels.get("pid"), pid),
                       pp.text.splitlines()[:30])
        if not labels.get("tid", "").isdigit() or (not threads and labels["tid"] != str(pid)):
            raise Fail("%s: a sample has tid label %r, want %s" % (
                where, labels.get("tid"), "a number" if threads else "%d (single-threaded)" % pid))
        # a thread's name is known once the process has imported threading
        if "thread_name" in labels and not labels["thread_name"]:
            raise Fail("%s: a sample has an empty thread_name label" % where)
    return pp


def check_top(ups, ty, func, min_share, what):
    """func is the leaf-most Python function of >= min_share of ty's weight
    summed over `ups`."""
    leaves = {}
    for u in ups:
        for f, w in decode(u).by_leaf(ty).items():
            leaves[f] = leaves.get(f, 0) + w
    total = sum(leaves.values())
    share = leaves.get(func, 0) / total if total else 0.0
    if share < min_share:
        top = sorted(leaves.items(), key=lambda kv: -kv[1])[:5]
        raise Fail("%s: %s is %.0f%% of %s (want >= %.0f%%); leaves %s" % (
            what, func, 100 * share, ty, 100 * min_share, top))
    return share


def check_tiling(ups, first_from, what, final_partial=True, interval=INTERVAL):
    """`ups` (one process, one kind) tile: sorted by from, no duplicate,
    until == next from; from on an interval boundary except the agent's
    first interval (first_from), until on one except the last upload when
    the agent stopped mid-interval."""
    s = sorted(ups, key=lambda u: u.start)
    desc = ["  " + u.describe() for u in s]
    for a, b in zip(s, s[1:]):
        if a.start == b.start:
            raise Fail("%s: interval from %d uploaded twice" % (what, a.start), desc)
        if a.end != b.start:
            raise Fail("%s: %s %d-%d then %d-%d" % (
                what, "gap" if a.end < b.start else "overlap", a.start, a.end, b.start, b.end),
                desc)
    for i, u in enumerate(s):
        if u.start % interval and u.start != first_from:
            raise Fail("%s: from %d is not a multiple of %d" % (what, u.start, interval), desc)
        last = i == len(s) - 1
        if u.end % interval and not (last and final_partial):
            raise Fail("%s: until %d is not a multiple of %d" % (what, u.end, interval), desc)
        if u.end - u.start > interval:
            raise Fail("%s: %d-%d is longer than the interval" % (what, u.start, u.end), desc)
    return s


def first_from(rec):
    ups = rec.uploads()
    return min(u.start for u in ups) if ups else None


def wait_until_boundary(offset, interval=INTERVAL):
    """Sleeps until `offset` seconds past the next interval boundary."""
    now = time.time()
    t = int(now // interval) * interval + offset
    if t <= now:
        t += interval
    time.sleep(max(0.0, t - time.time()))


def stopped_ok(agent, max_secs=5):
    rc = agent.stop(signal.SIGTERM, timeout=max_secs + 10)
    if rc != 0:
        raise Fail("the agent exited with status %s after SIGTERM" % rc, agent.describe())
    if agent.stop_secs > max_secs:
        raise Fail("the agent took %.1f s to exit after SIGTERM (want < %d s)" % (
            agent.stop_secs, max_secs), agent.describe())


def no_rejects(rec):
    if rec.rejected:
        raise Fail("the receiver rejected %d request(s): %s" % (len(rec.rejected),
                                                                rec.rejected[0][1]),
                   ["  %s: %s" % r for r in rec.rejected[:5]])


# --------------------------------------------------------------------------
# the cases


THREAD_WORK = {"work_1": "CustomThreadName-1", "work_2": "CustomThreadName-2",
               "work_3": "CustomThreadName-3", "main_work": "MainThread"}


def check_thread_names(ups, what):
    """named_threads.py: each thread's samples carry its own thread_name
    (known from its function) and tid, one tid per name."""
    good = bad = 0
    tid_of = {}
    for u in ups:
        for v, labels, funcs in decode(u).samples:
            fn = next((f for f in funcs if f in THREAD_WORK), None)
            if fn is None:
                continue
            name = labels.get("thread_name")
            if name == THREAD_WORK[fn]:
                good += v[0]
                tid_of.setdefault(name, set()).add(labels.get("tid"))
            else:
                bad += v[0]
    if bad > 0.05 * (good + bad) or set(tid_of) != set(THREAD_WORK.values()):
        raise Fail("%s: %d samples with their thread's name, %d without; names seen %s" % (
            what, good, bad, sorted(tid_of)))
    multi = {n: t for n, t in tid_of.items() if len(t) != 1}
    if multi or len(set().union(*tid_of.values())) != len(tid_of):
        raise Fail("%s: thread names and tids do not pair up: %s" % (what, tid_of))


def t_agent_ingest(ctx, py):
    """Four busy targets of different versions, each naming its service
    differently (PYROSCOPE_APPLICATION_NAME, OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES, its comm), one with four named threads; ~4
    intervals; every upload's labels, pprof and time range, plus /metrics
    and /healthz."""
    its = interps_mixed(4)
    rec = receiver(ctx)
    static = (("env", "it-test"),)
    targets = []
    try:
        envs = [("PYROSCOPE_APPLICATION_NAME=pyro-svc",), ("OTEL_SERVICE_NAME=otel-svc",),
                ("OTEL_RESOURCE_ATTRIBUTES=deployment.environment=x,service.name=res-svc",), ()]
        scripts = ["hot.py"] * 3 + ["named_threads.py"]
        for it, env, script in zip(its, envs, scripts):
            targets.append((busy(it, 60, env, script), it))
        services = ["pyro-svc", "otel-svc", "res-svc", clean(targets[3][0].comm)]
        with Agent(ctx, agent_args(rec, "--label", "env=it-test")) as ag:
            code, body = ag.get("/healthz")
            if code != 200 or body.strip() != "ok":
                raise Fail("GET /healthz: %d %r, want 200 ok" % (code, body), ag.describe())
            # the first (partial) interval, then 3 whole ones
            for t, _ in targets:
                wait_pid_ups(rec, t.pid, 4, 4 * INTERVAL + 15, agent=ag)
            m = ag.metrics()
            stopped_ok(ag)
    finally:
        for t, _ in targets:
            t.kill()
        rec.stop()
    no_rejects(rec)
    ff = first_from(rec)
    shares = []
    for (t, it), service, script in zip(targets, services, scripts):
        ups = pid_ups(rec, t.pid)
        what = "pid %d (%s, %s, service %s)" % (t.pid, it.name, script, service)
        threads = script == "named_threads.py"
        for u in ups:
            check_upload(u, t.pid, it, service, static=static, threads=threads)
        s = check_tiling(ups, ff, what)
        # the agent's first interval may end before it has found the process
        if s[0].start > ff + INTERVAL:
            raise Fail("%s: first upload from %d, want the agent's first or second interval "
                       "(from %d)" % (what, s[0].start, ff))
        shares.append(check_top(ups, "cpu", "spin" if threads else HOT, 0.9, what))
        if threads:
            check_thread_names(ups, what)
    out = checker([sys.executable, os.path.join(FORMATS_DIR, "pprof_check.py"),
                   pid_ups(rec, targets[0][0].pid)[1].path, "--expect-top", HOT,
                   "--min-share", "0.9", "--sample-index", "cpu", "--require-labels", "pid,tid"],
                  "go tool pprof")
    vlog(out.strip())
    if str(os.getpid()) in {u.labels.get("pid") for u in rec.uploads()}:
        raise Fail("the harness (--exclude-pid %d) was uploaded" % os.getpid())
    if metric(m, 'uploads_total{result="ok"}') < 12 or metric(m, "processes") < 4:
        raise Fail("metrics: uploads ok %s, processes %s; want >= 12 and >= 4" % (
            metric(m, 'uploads_total{result="ok"}'), metric(m, "processes")))
    for name in ("samples_total", "samples_lost_total", "error_samples_total",
                 "processes_seen_total", "intervals_total", 'uploads_total{result="failed"}',
                 'uploads_total{result="rejected"}', "spool_items", "spool_bytes",
                 "spool_dropped_total", "backoff_seconds", "cpu_seconds_total",
                 "resident_memory_bytes", "start_time_seconds"):
        metric(m, name)
    if metric(m, "samples_total") <= 0 or metric(m, "intervals_total") < 3:
        raise Fail("metrics: samples_total %s, intervals_total %s" % (
            metric(m, "samples_total"), metric(m, "intervals_total")))
    if not 0 < metric(m, "resident_memory_bytes") < RSS_LIMIT:
        raise Fail("metrics: resident_memory_bytes %s" % metric(m, "resident_memory_bytes"))
    if abs(metric(m, "start_time_seconds") - ag.started) > 5:
        raise Fail("metrics: start_time_seconds %s, the agent started at %.0f" % (
            metric(m, "start_time_seconds"), ag.started))
    return "%d uploads from 4 services (%s); hot %s; thread names ok; %d uploads ok in " \
        "/metrics" % (len(rec.uploads()), ", ".join(i.name for i in its),
                      "/".join("%.0f%%" % (100 * s) for s in shares),
                      metric(m, 'uploads_total{result="ok"}'))


def t_agent_auth(ctx, py):
    """The tenant header and bearer token (from the config file), then basic
    auth (flags); a server URL with a path prefix."""
    rec = receiver(ctx, path="/pyro/ingest")
    token, pw = "tok-%d" % os.getpid(), "pw-%d" % os.getpid()
    with open(ctx.path("token"), "w") as f:
        f.write(token + "\n")
    with open(ctx.path("pw"), "w") as f:
        f.write(pw + "\n")
    with open(ctx.path("agent.conf"), "w") as f:
        f.write("# bearer and tenant\nserver = %s/pyro\ntenant-id = team-a\n"
                "bearer-token-file = %s\n" % (rec.url, ctx.path("token")))
    runs = [(["--config", ctx.path("agent.conf"), "--upload-interval", "2"],
             {"x-scope-orgid": "team-a", "authorization": "Bearer " + token}),
            (["--server", rec.url + "/pyro", "--upload-interval", "2", "--basic-auth-user",
              "alice", "--basic-auth-password-file", ctx.path("pw")],
             {"x-scope-orgid": None, "authorization": "Basic " + base64.b64encode(
                 ("alice:" + pw).encode()).decode()})]
    try:
        with busy(py, 60) as t:
            for args, want in runs:
                n = len(rec.uploads())
                with Agent(ctx, args + ["--exclude-pid", str(os.getpid())]) as ag:
                    if not rec.wait_for(lambda ups: len(ups) > n, 3 * INTERVAL + 10):
                        raise Fail("no upload", ag.describe())
                    stopped_ok(ag)
                for u in rec.uploads()[n:]:
                    for h, v in want.items():
                        if u.headers.get(h) != v:
                            raise Fail("upload %s: header %s %r, want %r" % (
                                u.describe(), h, u.headers.get(h), v), ag.describe())
            if not pid_ups(rec, t.pid):
                raise Fail("the target %d was not uploaded" % t.pid)
    finally:
        rec.stop()
    no_rejects(rec)
    return "tenant + bearer, basic auth: headers on all %d uploads to /pyro/ingest" % len(
        rec.uploads())


def t_agent_tls(ctx, py):
    """HTTPS: a self-signed server certificate is trusted with --ca-file and
    refused without it (the upload waits in the spool, the log says why);
    --tls-insecure-skip-verify sends anyway."""
    import ssl
    cert, key = ctx.path("cert.pem"), ctx.path("key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if p.returncode:
        raise Fail("openssl could not make a certificate", p.stdout.decode().splitlines())
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    rec = receiver(ctx, tls=tls)
    try:
        with busy(py, 60) as t:
            with Agent(ctx, agent_args(rec, "--ca-file", cert)) as ag:
                wait_pid_ups(rec, t.pid, 1, 3 * INTERVAL + 15, agent=ag)
                stopped_ok(ag)
            n = len(rec.uploads())
            with Agent(ctx, agent_args(rec, "--spool-dir", ctx.path("spool-untrusted"),
                                       "--max-backoff", "1")) as ag:
                ag.wait_line(r"upload failed: .*(certificate|SSL)", 3 * INTERVAL + 15)
                if len(rec.uploads()) != n:
                    raise Fail("an upload got through to a server with an untrusted "
                               "certificate", ag.describe())
                ag.stop()
            with Agent(ctx, agent_args(rec, "--spool-dir", ctx.path("spool-untrusted"),
                                       "--tls-insecure-skip-verify")) as ag:
                if not rec.wait_for(lambda ups: len(ups) > n, 3 * INTERVAL + 15):
                    raise Fail("--tls-insecure-skip-verify: nothing arrived", ag.describe())
                stopped_ok(ag)
    finally:
        rec.stop()
    no_rejects(rec)
    return "%d uploads over HTTPS; an untrusted certificate refused, then sent with " \
        "--tls-insecure-skip-verify" % len(rec.uploads())


def t_agent_backend_down(ctx, py):
    """The receiver stops for 3 intervals and comes back on the same port:
    every interval of a busy target arrives once, in order, tiling."""
    rec = receiver(ctx)
    with busy(py, 60) as t, Agent(ctx, agent_args(rec, "--max-backoff", "1")) as ag:
        wait_pid_ups(rec, t.pid, 2, 3 * INTERVAL + 15, agent=ag)
        wait_until_boundary(0.5)
        rec.stop()
        down = time.time()
        vlog("receiver down at %.1f" % down)
        time.sleep(3 * INTERVAL)
        m = ag.metrics()
        failed = metric(m, 'uploads_total{result="failed"}')
        backoff = metric(m, "backoff_seconds")
        spooled = metric(m, "spool_items")
        rec.start()
        up = time.time()
        vlog("receiver up at %.1f" % up)
        last = int(up // INTERVAL) * INTERVAL
        if not rec.wait_for(lambda ups: any(u.labels.get("pid") == str(t.pid)
                                            and u.end >= last + INTERVAL for u in ups),
                            2 * INTERVAL + 10):
            raise Fail("intervals up to %d did not arrive after the receiver came back" % (
                last + INTERVAL), ag.describe() + [
                    "  " + u.describe() for u in pid_ups(rec, t.pid)])
        m = ag.wait_metric("pyebpf_agent_spool_items", lambda v: v == 0, 10)
        stopped_ok(ag)
    no_rejects(rec)
    ups = pid_ups(rec, t.pid)
    s = check_tiling(ups, first_from(rec), "pid %d" % t.pid)
    arrival = sorted(ups, key=lambda u: u.seq)
    if [u.start for u in arrival] != [u.start for u in s]:
        raise Fail("uploads arrived out of order: from %s" % [u.start for u in arrival])
    held = [u for u in s if down <= u.end <= up]
    if len(held) < 3:
        raise Fail("only %d intervals ended while the receiver was down (%.1f-%.1f)" % (
            len(held), down, up), ["  " + u.describe() for u in s])
    early = [u for u in held if u.received < up]
    if early:
        raise Fail("upload %s arrived while the receiver was down" % early[0].describe())
    for u in held:
        check_upload(u, t.pid, py, clean(t.comm))
    if failed < 1 or backoff <= 0 or spooled < len(held) - 1:
        raise Fail("metrics while down: uploads failed %s, backoff_seconds %s, spool_items %s; "
                   "want > 0, > 0, >= %d" % (failed, backoff, spooled, len(held) - 1))
    return "%d intervals held (spool_items %d, %d failed tries), all %d arrived once, " \
        "in order" % (len(held), spooled, failed, len(s))


def t_agent_spool_limit(ctx, py):
    """With the receiver down and --spool-max-items 3 the oldest uploads are
    dropped, counted and logged; the newest arrive in order."""
    rec = receiver(ctx)
    rec.stop()  # its port, nothing listening
    name = "pyespool%d" % (os.getpid() % 10000)
    link = ctx.path(name)
    os.symlink(py.path, link)
    with busy(type(py)(py.name, link, py.version), 60) as t, \
            Agent(ctx, agent_args(rec, "--spool-max-items", "3", "--max-backoff", "1",
                                  "--comm", name)) as ag:
        m = ag.wait_metric("pyebpf_agent_spool_dropped_total", lambda v: v >= 2,
                           6 * INTERVAL + 15)
        if metric(m, "spool_items") > 3:
            raise Fail("metrics: spool_items %s with --spool-max-items 3" % metric(
                m, "spool_items"), ag.describe())
        ag.wait_line(r"(?i)drop", 5)
        rec.start()
        up = time.time()
        last = int(up // INTERVAL) * INTERVAL
        if not rec.wait_for(lambda ups: any(u.end >= last + INTERVAL for u in ups),
                            2 * INTERVAL + 10):
            raise Fail("nothing up to %d arrived after the receiver came back" % (
                last + INTERVAL), ag.describe())
        ag.wait_metric("pyebpf_agent_spool_items", lambda v: v == 0, 10)
        while True:  # what arrived and what the agent counted, at one time
            n = len(rec.uploads())
            m = ag.metrics()
            if n == len(rec.uploads()):
                break
        stopped_ok(ag)
    no_rejects(rec)
    ups = rec.uploads()
    other = [u for u in ups if u.labels.get("pid") != str(t.pid)]
    if other:
        raise Fail("upload %s for a process --comm %s excludes" % (other[0].describe(), name))
    s = sorted(ups, key=lambda u: u.start)
    desc = ["  " + u.describe() for u in s]
    if [u.seq for u in s] != sorted(u.seq for u in s):
        raise Fail("uploads arrived out of order: from %s" % [
            u.start for u in sorted(ups, key=lambda u: u.seq)])
    dropped = metric(m, "spool_dropped_total")
    start = metric(m, "start_time_seconds")
    # The spool drops the oldest items but the one the uploader holds (the
    # process's first, retried since the start): that one may arrive, then
    # a gap of exactly the dropped intervals, then the newest, tiling.
    first = s[0]
    rest = s[1:] if len(s) > 1 and first.end != s[1].start else s
    check_tiling(rest, None, "pid %d, after the gap" % t.pid)
    if rest is s:
        if first.start <= start:
            raise Fail("no interval is missing: the agent's first interval (from %d, started "
                       "%.1f) arrived, and %d were dropped" % (first.start, start, dropped), desc)
        missing = "before %d" % first.start
    else:
        gap = (rest[0].start - first.end) // INTERVAL
        if gap != dropped:
            raise Fail("%d intervals missing between %d and %d, but %d dropped" % (
                gap, first.end, rest[0].start, dropped), desc + ag.describe())
        missing = "%d-%d" % (first.end, rest[0].start)
    # one item per interval (one busy process), until the metrics were read
    end = max(u.end for u in ups[:n])
    if n + dropped != -(-(end - first.start) // INTERVAL):
        raise Fail("%d arrived + %d dropped for the intervals from %d to %d" % (
            n, dropped, first.start, end), desc + ag.describe())
    for u in s:
        check_upload(u, t.pid, py, name)
    return "%d dropped (logged), missing %s; %d arrived in order" % (dropped, missing, len(s))


def t_agent_many_processes(ctx, py):
    """20 Python processes of mixed versions (symlinks named NAME, --comm
    NAME) start and stop, staggered: each has its own labels and its hot
    stack; the agent's RSS stays under 64 MB."""
    its = interps_mixed(20)
    name = "pyemany%d" % (os.getpid() % 10000)
    links = {}
    for i, it in enumerate(sorted(set(its), key=lambda i: i.version)):
        d = ctx.path("v%d" % i)
        os.mkdir(d)
        os.symlink(it.path, os.path.join(d, name))
        links[it.path] = os.path.join(d, name)
    rec = receiver(ctx)
    rss = []
    procs = []
    with Agent(ctx, agent_args(rec, "--comm", name)) as ag:
        ag.metrics_url  # started
        stop = threading.Event()

        def sample_rss():
            while not stop.is_set():
                v = ag.rss()
                if v:
                    rss.append(v)
                stop.wait(0.1)

        th = threading.Thread(target=sample_rss, daemon=True)
        th.start()
        try:
            for it in its:
                p = subprocess.Popen([links[it.path], target("hot.py"), "2.5"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                procs.append((p, it))
                time.sleep(0.4)
            for p, _ in procs:
                p.wait(60)
            pids = [str(p.pid) for p, _ in procs]
            rec.wait_for(lambda ups: set(pids) <= {u.labels.get("pid") for u in ups},
                         INTERVAL + 10)
            wait_until_boundary(0.3)
            m = ag.metrics()
            stopped_ok(ag)
        finally:
            stop.set()
            th.join()
            for p, _ in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    no_rejects(rec)
    for p, it in procs:
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
        if p.returncode != 0:
            raise Fail("%s hot.py exited with %s" % (it.name, p.returncode),
                       err.splitlines()[-5:])
    got = by_pid(rec.uploads())
    missing = ["%d (%s)" % (p.pid, it.name) for p, it in procs if p.pid not in got]
    if missing:
        raise Fail("%d of 20 processes never uploaded: %s" % (len(missing), ", ".join(missing)),
                   ag.describe())
    extra = sorted(set(got) - {p.pid for p, _ in procs})
    if extra:
        raise Fail("uploads for pids %s, which --comm %s excludes" % (extra, name))
    ff = first_from(rec)
    for p, it in procs:
        ups = got[p.pid]
        for u in ups:
            check_upload(u, p.pid, it, name)
        check_tiling(ups, ff, "pid %d (%s)" % (p.pid, it.name))
        check_top(ups, "cpu", HOT, 0.8, "pid %d (%s)" % (p.pid, it.name))
    peak = max(rss) if rss else 0
    if not rss or peak >= RSS_LIMIT:
        raise Fail("agent RSS peaked at %.1f MB (want < 64 MB; %d readings)" % (
            peak / 2**20, len(rss)))
    if metric(m, "processes_seen_total") < 20:
        raise Fail("metrics: processes_seen_total %s, want >= 20" % metric(
            m, "processes_seen_total"))
    return "20 processes of %d interpreters, %d uploads, each with its labels; RSS peak " \
        "%.1f MB" % (len(set(i.path for i in its)), len(rec.uploads()), peak / 2**20)


def _write_conf(path, rec, label, extra=""):
    with open(path + ".tmp", "w") as f:
        f.write("# agent test config\nserver = %s\nupload-interval = %d\n"
                "exclude-pid = %d\nlabel = %s\n%s" % (rec.url, INTERVAL, os.getpid(), label,
                                                     extra))
    os.rename(path + ".tmp", path)


def _whole_samples(ups):
    """Mean samples per whole interval of `ups` (the first one skipped)."""
    whole = [decode(u).total("samples") for u in ups[1:] if u.end - u.start == INTERVAL]
    return sum(whole) / len(whole) if whole else None


def t_agent_sighup(ctx, py):
    """SIGHUP mid-interval after changing the config's static label and
    rate: no interval lost, the label applies from this interval or the
    next, the rate from the next; then a broken config on SIGHUP is
    refused (file:line logged) and the agent carries on."""
    rec = receiver(ctx)
    conf = ctx.path("agent.conf")
    _write_conf(conf, rec, "team=before")
    with busy(py, 60) as t, Agent(ctx, ["--config", conf]) as ag:
        wait_pid_ups(rec, t.pid, 3, 4 * INTERVAL + 15, agent=ag)
        wait_until_boundary(INTERVAL / 2.0)
        _write_conf(conf, rec, "team=after", "rate = 49\n")
        hup = time.time()
        ag.send(signal.SIGHUP)
        cur = int(hup // INTERVAL) * INTERVAL
        ag.wait_line(r"config reloaded", 5)
        if not rec.wait_for(lambda ups: any(u.labels.get("pid") == str(t.pid)
                                            and u.start >= cur + 2 * INTERVAL for u in ups),
                            3 * INTERVAL + 10):
            raise Fail("no upload after the reload", ag.describe())
        with open(conf, "a") as f:
            f.write("rate = 49\nbogus-key = 1\n")
        bad = time.time()
        ag.send(signal.SIGHUP)
        ag.wait_line(r"reload failed.*%s:7" % re.escape(conf), 5)
        if not rec.wait_for(lambda ups: any(u.labels.get("pid") == str(t.pid)
                                            and u.start >= bad + INTERVAL for u in ups),
                            2 * INTERVAL + 10):
            raise Fail("no upload after the failed reload", ag.describe())
        if not ag.alive():
            raise Fail("the agent exited after SIGHUP", ag.describe())
        stopped_ok(ag)
    no_rejects(rec)
    ups = pid_ups(rec, t.pid)
    s = check_tiling(ups, first_from(rec), "pid %d" % t.pid)
    if not any(u.start <= hup < u.end for u in s):
        raise Fail("the interval in progress at the SIGHUP (%.1f) is missing" % hup,
                   ["  " + u.describe() for u in s])
    for u in s:
        team = u.labels.get("team")
        if u.end <= cur and team != "before":
            raise Fail("upload %s before the reload has team=%s" % (u.describe(), team))
        if u.start >= cur + INTERVAL and team != "after":
            raise Fail("upload %s after the reload has team=%s" % (u.describe(), team))
        rate = 97 if u.start <= hup else 49
        check_upload(u, t.pid, py, clean(t.comm), rate=rate, static=(("team", team),))
    before = _whole_samples([u for u in s if u.end <= cur])
    after = _whole_samples([u for u in s if u.start > hup][:-1])
    if not before or not after or after > 0.75 * before:
        raise Fail("samples per whole interval: %s at 97 Hz, %s at 49 Hz" % (before, after),
                   ["  " + u.describe() for u in s])
    return "reload at :%04.1f: %d uploads tile; team=after from %d, 49 Hz from %d " \
        "(%.0f -> %.0f samples per interval); a bad config refused" % (
            hup % 100, len(s), min(u.start for u in s if u.labels.get("team") == "after"),
            min(u.start for u in s if u.rate == 49), before, after)


def t_agent_sigterm(ctx, py):
    """SIGTERM mid-interval (10 s interval): the interval so far is uploaded,
    up to the signal's second, and the agent exits 0 within 5 s."""
    rec = receiver(ctx)
    iv = 10
    with busy(py, 60) as t, Agent(ctx, agent_args(rec, interval=iv)) as ag:
        ag.wait_metric("pyebpf_agent_samples_total", lambda v: v > 50, 20)
        time.sleep(1)
        while not 2 <= time.time() % iv <= 8:
            time.sleep(0.2)
        term = time.time()
        stopped_ok(ag, 5)
        done = time.time()
    no_rejects(rec)
    ups = pid_ups(rec, t.pid)
    if not ups:
        raise Fail("no upload for the target after SIGTERM", ag.describe())
    s = check_tiling(ups, first_from(rec), "pid %d" % t.pid, interval=iv)
    last = s[-1]
    # until is the stop time in whole seconds (rounded up: every sample
    # taken lies inside [from, until])
    if not (int(term) <= last.end <= math.ceil(done)) or last.end % iv == 0:
        raise Fail("the last upload %s does not end at the SIGTERM (%.1f, exit at %.1f)" % (
            last.describe(), term, done), ag.describe())
    pp = check_upload(last, t.pid, py, clean(t.comm))
    check_top([last], "cpu", HOT, 0.9, "the final upload")
    return "final upload %d-%d (%d samples) for a SIGTERM at %.1f; exit 0 in %.1f s" % (
        last.start, last.end, pp.total("samples"), term, ag.stop_secs)


def t_agent_off_cpu(ctx, py):
    """--off-cpu on half_sleep.py: off_cpu uploads put rest() on top, about
    half of each whole interval; cpu uploads put compute() on top."""
    rec = receiver(ctx)
    with busy(py, 60, script="half_sleep.py") as t, \
            Agent(ctx, agent_args(rec, "--off-cpu")) as ag:
        wait_pid_ups(rec, t.pid, 3, 4 * INTERVAL + 15, kind="off_cpu", agent=ag)
        wait_pid_ups(rec, t.pid, 3, 5, agent=ag)
        stopped_ok(ag)
    no_rejects(rec)
    ff = first_from(rec)
    service = clean(t.comm)
    off = pid_ups(rec, t.pid, "off_cpu")
    cpu = pid_ups(rec, t.pid)
    for u in off:
        check_upload(u, t.pid, py, service, kind="off_cpu")
    for u in cpu:
        check_upload(u, t.pid, py, service)
    check_tiling(off, ff, "pid %d off_cpu" % t.pid)
    check_tiling(cpu, ff, "pid %d cpu" % t.pid)
    share = check_top(off, "off_cpu", "rest", 0.8, "off_cpu uploads")
    check_top(cpu, "cpu", "compute", 0.8, "cpu uploads")
    # a whole interval of the thread is on CPU (cpu upload) or off it (off_cpu
    # upload, run queue included); rest() sleeps half of it on a quiet machine
    cpu_at = {u.start: u for u in cpu}
    whole = [u for u in off if u.end - u.start == INTERVAL and u.start != ff
             and u.start in cpu_at]
    if not whole:
        raise Fail("no whole interval with both profile types",
                   ["  " + u.describe() for u in off + cpu])
    for u in whole:
        rest = decode(u).by_leaf("off_cpu").get("rest", 0) / 1e9
        total = (decode(u).total("off_cpu") + decode(cpu_at[u.start]).total("cpu")) / 1e9
        if not 0.25 * INTERVAL <= rest <= 0.75 * INTERVAL or \
                not 0.8 * INTERVAL <= total <= 1.2 * INTERVAL:
            raise Fail("interval %d-%d: rest() off-CPU %.2f s (want about half), on + off "
                       "CPU %.2f s (want %d s)" % (u.start, u.end, rest, total, INTERVAL))
    return "%d off_cpu uploads, rest %.0f%% of off-CPU time; %d cpu uploads" % (
        len(off), 100 * share, len(cpu))


def _agent_error(ctx, args, needles, what):
    run = Agent(ctx, args)
    try:
        run.proc.wait(10)
    except subprocess.TimeoutExpired:
        run.kill()
        raise Fail("the agent did not fail within 10 s (%s)" % what, run.describe())
    run._reader.join(5)
    run.rc = run.proc.returncode
    lines = [l for l in run.lines if l.strip()]
    if run.rc == 0:
        raise Fail("exit status 0 (%s)" % what, run.describe())
    if len(lines) != 1 or not lines[0].startswith("pyebpf agent: "):
        raise Fail("want one 'pyebpf agent: ' line on stderr (%s)" % what, run.describe())
    for n in needles:
        alts = n if isinstance(n, tuple) else (n,)
        if not any(a.lower() in lines[0].lower() for a in alts):
            raise Fail("the message does not mention %s (%s)" % (" or ".join(
                repr(a) for a in alts), what), run.describe())
    return lines[0]


def t_agent_errors(ctx, py):
    """Usage and config errors: one 'pyebpf agent: ' line, non-zero, fast."""
    conf = ctx.path("bad.conf")
    with open(conf, "w") as f:
        f.write("# a typo on line 3\nserver = http://127.0.0.1:1\nsever = http://x\n")
    afile = ctx.path("a-file")
    open(afile, "w").close()
    busy_sock = socket.socket()
    busy_sock.bind(("127.0.0.1", 0))
    busy_sock.listen(1)
    srv = "http://127.0.0.1:1"
    try:
        cases = [
            (["--metrics-address", "off"], ["server"], "no --server"),
            (["--server", srv, "--no-such-flag"], ["no-such-flag"], "unknown flag"),
            (["--config", conf], [conf + ":3", "sever"], "bad config line"),
            (["--server", srv, "--spool-dir", os.path.join(afile, "spool")],
             [os.path.join(afile, "spool")], "unwritable --spool-dir"),
            (["--server", "ftp://127.0.0.1:21"], [("ftp", "http")], "bad URL scheme"),
            (["--server", srv, "--rate", "fast"], ["--rate", "fast"], "bad --rate"),
            (["--server", srv, "--label", "pid=1"], ["pid"], "label the agent sets"),
            (["--server", srv, "--metrics-address", "127.0.0.1:%d" % busy_sock.getsockname()[1]],
             [str(busy_sock.getsockname()[1])], "metrics port in use"),
        ]
        msgs = []
        for args, needles, what in cases:
            msgs.append(_agent_error(ctx, args, needles, what))
    finally:
        busy_sock.close()
    return "%d errors, each one line; e.g. %s" % (len(msgs), msgs[2])


AGENT_CASES = [  # (name, function, needs a working kernel)
    ("agent-errors", t_agent_errors, False),
    ("agent-ingest", t_agent_ingest, True),
    ("agent-auth", t_agent_auth, True),
    ("agent-tls", t_agent_tls, True),
    ("agent-backend-down", t_agent_backend_down, True),
    ("agent-spool-limit", t_agent_spool_limit, True),
    ("agent-many-processes", t_agent_many_processes, True),
    ("agent-sighup", t_agent_sighup, True),
    ("agent-sigterm", t_agent_sigterm, True),
    ("agent-off-cpu", t_agent_off_cpu, True),
]
