#!/usr/bin/env python3
"""Integration tests: the real pyebpf binary against real CPython processes.

Runs as root. Discovers every installed CPython (pyenv versions and the
distribution's /usr/bin/python3.X), runs each profile test against each of
them, and the error-case tests once. Prints one line per test case and a
closing line "N passed, N failed[, N skipped]". Exit status: 0 if nothing
failed, 1 if something failed, 2 for a harness usage error, 77 if every
selected test was skipped (the kernel lacks something pyebpf needs).

    PYEBPF=/abs/path/build/pyebpf python3 tests/integration/run.py [-k SUBSTR]

Stdlib only; runs under any python3 >= 3.9. The targets in tests/targets/
run under every interpreter tested (3.6+ syntax).
"""

import argparse
import concurrent.futures
import ctypes
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(ROOT, "tests", "targets")
PYEBPF = os.environ.get("PYEBPF") or os.path.join(ROOT, "build", "pyebpf")

MIN_SUPPORTED = (3, 6)
DEFAULT_MAX_FRAMES = 256
VERBOSE = False
KEEP = False
_print_lock = threading.Lock()


# --------------------------------------------------------------------------
# outcomes


class Fail(Exception):
    """A check failed. `details` are extra diagnostic lines."""

    def __init__(self, reason, details=()):
        super().__init__(reason)
        self.reason = reason
        self.details = list(details)


class Skip(Exception):
    """The kernel lacks a feature this test needs."""


def log(msg):
    with _print_lock:
        print(msg, flush=True)


def vlog(msg):
    if VERBOSE:
        log("    # " + msg)


# --------------------------------------------------------------------------
# interpreters


class Interp:
    def __init__(self, name, path, version):
        self.name = name
        self.path = path
        self.version = version  # (major, minor, micro)

    @property
    def supported(self):
        return self.version >= MIN_SUPPORTED

    @property
    def vstr(self):
        return "%d.%d.%d" % self.version

    def __repr__(self):
        return "%s (%s, %s)" % (self.name, self.path, self.vstr)


_PROBE = ("import sys, platform; sys.stdout.write('%s %d.%d.%d' % "
          "((platform.python_implementation(),) + tuple(sys.version_info[:3])))")


def _probe(path):
    try:
        out = subprocess.run([path, "-c", _PROBE], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=30).stdout
        impl, ver = out.split()
        if impl != "CPython":
            return None
        return tuple(int(x) for x in ver.split("."))
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _pyenv_root():
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.SubprocessError):
        pass
    return os.path.expanduser("~/.pyenv")


def discover_interpreters():
    """Every CPython found: pyenv versions, then /usr/bin/python3.X."""
    found = []  # (kind, path, version)
    vdir = os.path.join(_pyenv_root(), "versions")
    if os.path.isdir(vdir):
        for entry in sorted(os.listdir(vdir)):
            bindir = os.path.join(vdir, entry, "bin")
            m = re.match(r"^(\d+)\.(\d+)\.\d+$", entry)
            if not m or os.path.islink(os.path.join(vdir, entry)):
                continue
            path = os.path.join(bindir, "python%s.%s" % m.groups())
            if os.access(path, os.X_OK):
                ver = _probe(path)
                if ver:
                    found.append(("pyenv", path, ver))
    for entry in sorted(os.listdir("/usr/bin")):
        if re.match(r"^python\d+\.\d+$", entry):
            path = os.path.join("/usr/bin", entry)
            ver = _probe(path)
            if ver:
                found.append(("debian", path, ver))
    found.sort(key=lambda f: (f[0] != "pyenv", f[2]))
    interps = []
    for kind, path, ver in found:
        short = "%s-%d.%d" % ((kind,) + ver[:2])
        dup = sum(1 for k, _, v in found if k == kind and v[:2] == ver[:2]) > 1
        name = "%s-%d.%d.%d" % ((kind,) + ver) if dup else short
        interps.append(Interp(name, path, ver))
    return interps


# --------------------------------------------------------------------------
# kernel features


def kernel_missing_feature():
    """The reason pyebpf cannot work on this kernel, or None."""
    rel = os.uname().release
    m = re.match(r"(\d+)\.(\d+)", rel)
    if m and (int(m.group(1)), int(m.group(2))) < (5, 8):
        return "kernel %s is older than 5.8 (no BPF ring buffer)" % rel
    if not os.path.exists("/proc/sys/kernel/unprivileged_bpf_disabled"):
        return "kernel built without CONFIG_BPF_SYSCALL"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "kernel has no BTF (/sys/kernel/btf/vmlinux missing)"
    # perf_event_open(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK) on ourselves
    if os.uname().machine == "x86_64":
        libc = ctypes.CDLL(None, use_errno=True)
        attr = (ctypes.c_uint8 * 128)()
        ctypes.memmove(attr, (1).to_bytes(4, "little") + (128).to_bytes(4, "little")
                       + (0).to_bytes(8, "little"), 16)
        # disabled (bit 0 of the flags word at offset 40)
        attr[40] = 1
        fd = libc.syscall(298, attr, 0, -1, -1, 0)
        if fd < 0:
            err = ctypes.get_errno()
            if err in (2, 19, 95):  # ENOENT, ENODEV, EOPNOTSUPP
                return "kernel has no perf cpu-clock events (%s)" % os.strerror(err)
        else:
            os.close(fd)
    return None


# --------------------------------------------------------------------------
# processes


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Target:
    """A target process in its own process group; killed (with its group)
    on exit from the `with` block."""

    def __init__(self, argv, stdin=False, prefix=()):
        self.argv = list(prefix) + list(argv)
        vlog("target: " + " ".join(self.argv))
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.pid = self.proc.pid
        self._buf = b""
        self.lines = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def kill(self):
        _killpg(self.pid)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass

    def read_line(self, timeout):
        """The next stdout line (str, without newline), or None at EOF or
        timeout."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        line = line.decode(errors="replace")
        self.lines.append(line)
        return line

    def wait_for(self, prefix, timeout=20):
        """Reads stdout until a line starting with `prefix`; returns it or
        raises Fail."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                err = ""
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode(errors="replace")
                raise Fail("target never printed %r: %s" % (prefix, " ".join(self.argv)),
                           ["target exit status: %s" % self.proc.poll()]
                           + ["target stderr: " + l for l in err.splitlines()[-10:]])
            if line.startswith(prefix):
                return line

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()


class Run:
    """One pyebpf invocation, started in its own process group. Anything
    still in the group (a `--` program) is killed once it ends."""

    def __init__(self, cmd):
        self.cmd = list(cmd)
        vlog("run: " + " ".join(self.cmd))
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, errors="replace",
            start_new_session=True)
        self.rc = None
        self.stdout = self.stderr = ""
        self.elapsed = None
        self.timed_out = False

    def wait(self, timeout):
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            _killpg(self.proc.pid)
            self.stdout, self.stderr = self.proc.communicate()
        finally:
            self.elapsed = time.monotonic() - self.start
            _killpg(self.proc.pid)
        self.rc = self.proc.returncode
        vlog("rc=%s in %.1fs" % (self.rc, self.elapsed))
        return self

    def kill(self):
        _killpg(self.proc.pid)
        try:
            self.proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            pass

    def describe(self):
        out = ["command: " + " ".join(_quote(a) for a in self.cmd),
               "exit status: %s%s after %.1fs" % (
                   self.rc, " (killed: timed out)" if self.timed_out else "",
                   self.elapsed or 0.0)]
        return out + stderr_tail(self.stderr.splitlines())


def stderr_tail(lines):
    """A failure's report of a command's stderr: its last 15 lines."""
    if not lines:
        return ["stderr: (empty)"]
    return (["stderr%s:" % (" (last 15 lines)" if len(lines) > 15 else "")] +
            ["  " + l for l in lines[-15:]])


def _quote(a):
    return a if re.match(r"^[\w@%+=:,./-]+$", a) else "'" + a.replace("'", "'\\''") + "'"


def pyebpf(args, timeout, prefix=(), binary=None):
    """Runs pyebpf with `args` (after the `prefix` command, if any) to its
    end or `timeout`."""
    return Run(list(prefix) + [binary or PYEBPF] + list(args)).wait(timeout)


# --------------------------------------------------------------------------
# folded output


PY_FRAME = re.compile(r"^(?P<func>.+) \((?P<file>.+):(?P<line>\d+)\)$")


class Frame:
    __slots__ = ("raw", "func", "file", "line", "synthetic")

    def __init__(self, raw):
        self.raw = raw
        self.synthetic = raw.startswith("[") and raw.endswith("]")
        m = None if self.synthetic else PY_FRAME.match(raw)
        if not self.synthetic and not m:
            raise ValueError("frame %r is neither 'function (file:line)' nor '[synthetic]'" % raw)
        self.func = raw if self.synthetic else m.group("func")
        self.file = None if self.synthetic else m.group("file")
        self.line = None if self.synthetic else int(m.group("line"))


class Profile:
    def __init__(self, stacks, path):
        self.stacks = stacks  # list of (tuple of Frame, count), root first
        self.path = path
        self.total = sum(c for _, c in stacks)

    @staticmethod
    def names(frames):
        return tuple(f.func for f in frames)

    def count(self, pred):
        return sum(c for fr, c in self.stacks if pred(fr))

    def top(self, n=5):
        """Diagnostic lines: the n heaviest stacks."""
        out = ["top stacks of %d samples in %s:" % (self.total, self.path)]
        for frames, c in sorted(self.stacks, key=lambda s: -s[1])[:n]:
            pct = 100.0 * c / self.total if self.total else 0.0
            out.append("  %6d %5.1f%%  %s" % (c, pct, _compress(frames)))
        if not self.stacks:
            out.append("  (no stacks)")
        return out


def _compress(frames):
    """A short stack in full; a long one as names root first, runs of one
    name shown as name*N, and the leaf frame in full."""
    if not frames:
        return "(empty stack)"
    if len(frames) <= 6:
        return ";".join(f.raw for f in frames)
    parts = []
    names = [f.func for f in frames[:-1]]
    i = 0
    while i < len(names):
        j = i
        while j < len(names) and names[j] == names[i]:
            j += 1
        parts.append(names[i] + ("*%d" % (j - i) if j - i > 1 else ""))
        i = j
    parts.append(frames[-1].raw)
    return ";".join(parts)


def parse_folded(path, frame=Frame):
    """Parses a folded file as flamegraph.pl reads it: the count after the
    last space, frames split on ';'. Raises Fail on a malformed file.
    `frame` parses one frame (WideFrame also takes off-CPU, thread and
    kernel frames)."""
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            text = f.read()
    except FileNotFoundError:
        raise Fail("no output file %s" % path)
    except UnicodeDecodeError as e:
        raise Fail("output is not UTF-8: %s" % e)
    stacks = []
    seen = {}
    for n, line in enumerate(text.split("\n"), 1):
        if line == "" and n == len(text.split("\n")):
            break  # after the final newline
        stack, sep, count = line.rpartition(" ")
        if not sep or not stack or not re.match(r"^[0-9]+$", count):
            raise Fail("%s:%d: not 'frame;frame COUNT': %r" % (path, n, line[:200]))
        if stack in seen:
            raise Fail("%s:%d: stack repeated (first on line %d): %r" % (
                path, n, seen[stack], stack[:200]))
        seen[stack] = n
        try:
            frames = tuple(frame(r) for r in stack.split(";"))
        except ValueError as e:
            raise Fail("%s:%d: %s" % (path, n, e))
        if int(count) == 0:
            raise Fail("%s:%d: zero count" % (path, n))
        stacks.append((frames, int(count)))
    if text and not text.endswith("\n"):
        raise Fail("%s: last line has no newline" % path)
    return Profile(stacks, path)


def markers(path):
    """{marker: set of line numbers} for '# LINE:marker' comments."""
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            for m in re.finditer(r"# LINE:([\w-]+)", line):
                out.setdefault(m.group(1), set()).add(n)
    return out


# --------------------------------------------------------------------------
# test helpers


class Ctx:
    """Per-test-case scratch: a temp dir, kept when the test fails."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="pyebpf-it-")
        self.name = name

    def path(self, name):
        return os.path.join(self.dir, name)

    def cleanup(self, failed):
        if failed or KEEP:
            return  # kept for inspection; a failure names the path
        shutil.rmtree(self.dir, ignore_errors=True)


def target(name):
    return os.path.join(TARGETS, name)


def profile_ok(run, out):
    """Checks a profiling run succeeded and returns its parsed profile."""
    if run.timed_out:
        raise Fail("pyebpf did not exit in time", run.describe())
    if run.rc != 0:
        raise Fail("pyebpf exited with status %s" % run.rc, run.describe())
    prof = parse_folded(out)
    if prof.total == 0:
        raise Fail("empty profile", run.describe())
    return prof


def check_rate(prof, run, rate, seconds, what="samples"):
    expected = rate * seconds
    if not 0.5 * expected <= prof.total <= 1.5 * expected:
        raise Fail("%d %s, expected about %d (%d Hz x %.1f s of one busy thread)" % (
            prof.total, what, expected, rate, seconds), prof.top() + run.describe())


def share(part, whole):
    return 100.0 * part / whole if whole else 0.0


def attach_args(pid, out, seconds, rate=None):
    args = ["record", "-p", str(pid), "-d", str(seconds), "-f", "raw", "--full-filenames", "-o", out]
    if rate:
        args[5:5] = ["-r", str(rate)]
    return args


def profile_attached(interp, script, out, secs, rate, flags=(), arg="30"):
    """Start `script ARG` under `interp`, wait for its "ready", attach
    pyebpf for `secs` at `rate` with `flags`; returns (target pid, run)."""
    with Target([interp.path, script, arg]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, secs, rate) + list(flags), timeout=secs + 30)
    return t.pid, run


# --------------------------------------------------------------------------
# profile tests (per interpreter)


HOT_STACK = ("<module>", "main", "hot")


def _check_hot(prof, run):
    path = target("hot.py")
    mk = markers(path)
    hot = [(fr, c) for fr, c in prof.stacks if Profile.names(fr) == HOT_STACK]
    n_hot = sum(c for _, c in hot)
    if share(n_hot, prof.total) < 90:
        raise Fail("only %.1f%% of %d samples are <module>;main;hot (want >= 90%%)" % (
            share(n_hot, prof.total), prof.total), prof.top() + run.describe())
    expect = [(0, "module-call", "<module>"), (1, "main-call", "main"), (2, "hot-loop", "hot")]
    for idx, marker, fn in expect:
        good = sum(c for fr, c in hot if fr[idx].line in mk[marker] and fr[idx].file == path)
        if share(good, n_hot) < 98:
            seen = {}
            for fr, c in hot:
                key = "%s:%d" % (fr[idx].file, fr[idx].line)
                seen[key] = seen.get(key, 0) + c
            raise Fail("%s frame on %s:%s in only %d of %d samples (want >= 98%%)" % (
                fn, path, sorted(mk[marker]), good, n_hot),
                ["%s seen at: %s" % (fn, ", ".join(
                    "%s (%d)" % kv for kv in sorted(seen.items(), key=lambda kv: -kv[1])[:8]))]
                + prof.top() + run.describe())
    return "%d samples, %.1f%% <module>;main;hot, lines ok" % (prof.total, share(n_hot, prof.total))


def t_hot_attach(ctx, interp):
    out = ctx.path("hot.folded")
    secs, rate = 3, 100
    with Target([interp.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, secs, rate), timeout=secs + 30)
    prof = profile_ok(run, out)
    check_rate(prof, run, rate, secs)
    return _check_hot(prof, run)


def t_hot_exec(ctx, interp):
    out = ctx.path("hot.folded")
    secs, rate = 3, 100
    run = pyebpf(["record", "-r", str(rate), "-f", "raw", "--full-filenames", "-o", out, "--",
                  interp.path, target("hot.py"), str(secs)], timeout=secs + 30)
    prof = profile_ok(run, out)
    if run.elapsed > secs + 15:
        raise Fail("pyebpf took %.1fs for a %ds program" % (run.elapsed, secs), run.describe())
    check_rate(prof, run, rate, secs)
    return _check_hot(prof, run)


def t_init_calls(ctx, interp):
    """Time in __init__ entered through Class(): no interpreter shim frames
    (3.13 runs a hidden "__init__" clean-up frame there)."""
    path = target("init_calls.py")
    mk = markers(path)
    out = ctx.path("init.folded")
    secs, rate = 3, 200
    with Target([interp.path, path, "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, secs, rate), timeout=secs + 30)
    prof = profile_ok(run, out)
    check_rate(prof, run, rate, secs)
    init = "Widget.__init__" if interp.version[:2] >= (3, 11) else "__init__"
    want = ("<module>", "main", init)
    good = sum(c for fr, c in prof.stacks
               if Profile.names(fr) == want and fr[1].line in mk["main-call"]
               and fr[2].line in mk["init-work"] and fr[2].file == path)
    if share(good, prof.total) < 85:
        raise Fail("only %.1f%% of %d samples are %s on the right lines (want >= 85%%)" % (
            share(good, prof.total), prof.total, ";".join(want)), prof.top() + run.describe())
    return "%d samples, %.1f%% %s" % (prof.total, share(good, prof.total), ";".join(want))


def t_pid_flag(ctx, interp):
    """`pyebpf --pid PID` is `pyebpf record -p PID`."""
    out = ctx.path("hot.folded")
    with Target([interp.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(["--pid", str(t.pid), "-d", "2", "-f", "raw", "--full-filenames", "-o", out], timeout=40)
    prof = profile_ok(run, out)
    n_hot = prof.count(lambda fr: Profile.names(fr) == HOT_STACK)
    if share(n_hot, prof.total) < 90:
        raise Fail("only %.1f%% of samples are <module>;main;hot" % share(n_hot, prof.total),
                   prof.top() + run.describe())
    return "%d samples" % prof.total


def t_split(ctx, interp):
    out = ctx.path("split.folded")
    secs, rate = 3, 500
    with Target([interp.path, target("split.py"), "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, secs, rate), timeout=secs + 30)
    prof = profile_ok(run, out)
    base = ("<module>", "main")
    a = prof.count(lambda fr: Profile.names(fr) == base + ("alpha",))
    b = prof.count(lambda fr: Profile.names(fr) == base + ("beta",))
    check_rate(prof, run, rate, secs)
    if a + b < 0.8 * prof.total:
        raise Fail("only %d of %d samples are <module>;main;alpha or <module>;main;beta" % (
            a + b, prof.total), prof.top() + run.describe())
    pa = share(a, a + b)
    if abs(pa - 70) > 5:
        raise Fail("alpha %.1f%% / beta %.1f%% of %d samples, expected 70/30 +-5" % (
            pa, 100 - pa, a + b), prof.top() + run.describe())
    return "alpha %.1f%% / beta %.1f%% of %d samples" % (pa, 100 - pa, a + b)


def t_late_thread(ctx, interp):
    out = ctx.path("late.folded")
    secs, rate, delay = 4, 100, 1.0
    with Target([interp.path, target("late_thread.py"), "20", "stdin"], stdin=True) as t:
        t.wait_for("ready")
        run = Run([PYEBPF] + attach_args(t.pid, out, secs, rate))
        try:
            time.sleep(delay)
            if run.proc.poll() is not None:
                run.wait(5)
                raise Fail("pyebpf exited before the thread started", run.describe())
            t.send("go\n")
            line = t.wait_for("stack ", timeout=10)
            run.wait(secs + 30)
        finally:
            run.kill()
    want = json.loads(line[len("stack "):])
    want_names = tuple(f for f, _ in want)
    if not want or want[0][0] not in ("_bootstrap", "Thread._bootstrap") \
            or os.path.basename(want[0][1]) != "threading.py":
        raise Fail("target reported an unexpected thread stack %r" % (want,))
    prof = profile_ok(run, out)
    mine = [(fr, c) for fr, c in prof.stacks if fr and fr[-1].func == "late_worker"]
    n = sum(c for _, c in mine)
    expected = rate * (secs - delay)
    if n < 0.3 * expected:
        raise Fail("%d samples with leaf late_worker, expected about %d" % (n, expected),
                   ["expected stack: " + ";".join(want_names)] + prof.top() + run.describe())
    full = sum(c for fr, c in mine if Profile.names(fr) == want_names)
    if share(full, n) < 90:
        raise Fail("only %d of %d late_worker samples have the full stack %s" % (
            full, n, ";".join(want_names)), prof.top() + run.describe())
    files_ok = sum(c for fr, c in mine if Profile.names(fr) == want_names
                   and all(f.file == w[1] for f, w in zip(fr, want)))
    if files_ok != full:
        raise Fail("late_worker stacks name other files than %s" % (
            [w[1] for w in want],), prof.top() + run.describe())
    return "%d late_worker samples, %.1f%% with %s" % (n, share(full, n), ";".join(want_names))


def _recursion(ctx, interp, depth):
    out = ctx.path("rec.folded")
    secs, rate = 2, 200
    with Target([interp.path, target("recursion.py"), str(depth), "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, secs, rate), timeout=secs + 30)
    prof = profile_ok(run, out)
    check_rate(prof, run, rate, secs)
    return prof, run


def t_recursion_100(ctx, interp):
    depth = 100
    prof, run = _recursion(ctx, interp, depth)
    path = target("recursion.py")
    mk = markers(path)
    want = ("<module>", "main") + ("recurse",) * depth + ("spin_leaf",)
    full = [(fr, c) for fr, c in prof.stacks if Profile.names(fr) == want]
    n = sum(c for _, c in full)
    if share(n, prof.total) < 90:
        depths = {}
        for fr, c in prof.stacks:
            k = sum(1 for f in fr if f.func == "recurse")
            depths[k] = depths.get(k, 0) + c
        raise Fail("only %d of %d samples are <module>;main;recurse*%d;spin_leaf" % (
            n, prof.total, depth),
            ["recurse frames per sample: %s" % ", ".join(
                "%d (%d samples)" % kv for kv in sorted(depths.items(), key=lambda kv: -kv[1])[:6])]
            + prof.top() + run.describe())

    def lines_ok(fr):
        rec = fr[2:2 + depth]
        return (all(f.line in mk["recurse-call"] for f in rec[:-1])
                and rec[-1].line in mk["recurse-leaf-call"]
                and fr[-1].line in mk["leaf-loop"]
                and all(f.file == path for f in fr))
    good = sum(c for fr, c in full if lines_ok(fr))
    if share(good, n) < 98:
        bad = next(fr for fr, c in full if not lines_ok(fr))
        raise Fail("wrong file:line in %d of %d full stacks (recurse calls on %s, innermost "
                   "on %s, leaf on %s)" % (
                       n - good, n, sorted(mk["recurse-call"]),
                       sorted(mk["recurse-leaf-call"]), sorted(mk["leaf-loop"])),
                   ["e.g.: " + ";".join(f.raw for f in bad[:4]) + ";...;"
                    + ";".join(f.raw for f in bad[-3:])] + prof.top() + run.describe())
    return "%d samples, %.1f%% with all %d frames" % (prof.total, share(n, prof.total), depth + 3)


def t_recursion_300(ctx, interp):
    prof, run = _recursion(ctx, interp, 300)

    def cut_ok(fr):
        real = fr[1:]
        return (len(fr) >= 2 and fr[0].raw == "[truncated]"
                and real[-1].func == "spin_leaf"
                and all(f.func == "recurse" for f in real[:-1])
                and DEFAULT_MAX_FRAMES - 1 <= len(real) <= DEFAULT_MAX_FRAMES)
    n = prof.count(cut_ok)
    if share(n, prof.total) < 90:
        raise Fail("only %d of %d samples are [truncated];recurse*N;spin_leaf with %d-%d "
                   "Python frames" % (n, prof.total, DEFAULT_MAX_FRAMES - 1, DEFAULT_MAX_FRAMES),
                   ["frames per sample (all kinds): %s" % ", ".join(sorted(
                       set("%d" % len(fr) for fr, _ in prof.stacks)))]
                   + prof.top() + run.describe())
    sizes = sorted(set(len(fr) - 1 for fr, _ in prof.stacks if cut_ok(fr)))
    return "%d samples, %.1f%% cut to [truncated]+%s frames" % (
        prof.total, share(n, prof.total), "/".join(map(str, sizes)))


def t_transient_code(ctx, interp):
    """Short-lived code objects (module bodies, exec'd code) are named after
    themselves, not after an earlier object that lived at the same address."""
    path = target("transient_code.py")
    with open(path) as f:
        src = f.read().split("\n")
    start = next(n for n, l in enumerate(src, 1) if l.startswith('GEN_SOURCE = """\\'))
    loop = set(n - start for n in markers(path)["gen-loop"])
    out = ctx.path("gen.folded")
    secs, rate = 3, 200
    with Target([interp.path, path, "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, secs, rate), timeout=secs + 30)
    prof = profile_ok(run, out)
    gen = re.compile(r"^gen_\d+\.py$")
    per_file = {}
    bad_line = 0
    for fr, c in prof.stacks:
        if Profile.names(fr[:-1]) == ("<module>", "main") and fr[-1].file \
                and gen.match(fr[-1].file):
            per_file[fr[-1].file] = per_file.get(fr[-1].file, 0) + c
            if fr[-1].line not in loop:
                bad_line += c
    n = sum(per_file.values())
    # each gen_N.py runs ~30 ms: ~6 samples at 200 Hz, ~100 objects in 3 s
    if n < 0.8 * prof.total:
        raise Fail("only %d of %d samples are <module>;main;<module> (gen_N.py:L)" % (
            n, prof.total), prof.top() + run.describe())
    top_file, top_n = max(per_file.items(), key=lambda kv: kv[1])
    if len(per_file) < 20 or share(top_n, n) > 10:
        raise Fail("%d samples in gen_N.py code fall on only %d distinct files, %s has %.0f%% "
                   "(each runs ~30 ms: expect ~%d files with a few samples each)" % (
                       n, len(per_file), top_file, share(top_n, n), secs / 0.03),
                   prof.top() + run.describe())
    if share(bad_line, n) > 2:
        raise Fail("%d of %d gen_N.py samples are not on lines %s of the code" % (
            bad_line, n, sorted(loop)), prof.top() + run.describe())
    return "%d samples over %d gen_N.py files, at most %d in one" % (n, len(per_file), top_n)


# --------------------------------------------------------------------------
# off-CPU time and the GIL (per interpreter): --idle, --off-cpu, --threads,
# --gil, --kernel. With --idle or --off-cpu a stack's count is nanoseconds.


NS = 1000000000
# Time a thread spends waiting for a CPU ([off-cpu:runqueue]) depends on the
# other load on the machine, not on the target's code: the shares a target's
# code sets are taken of the time without it.
OFF_CPU_CLASSES = ("io", "disk", "lock", "gil", "runqueue", "stopped")
SLEEP_SYSCALLS = ("clock_nanosleep", "nanosleep", "select", "pselect6")
OFF_CPU_FRAME = re.compile(r"^\[off-cpu:(?P<cls>[a-z]+)\](?: (?P<sys>\S+))?$")
THREAD_FRAME = re.compile(
    r'^(?:\[thread (?P<tid>\d+)(?: "(?P<name>[^"]*)")?\]|Thread[ _](?P<tid2>\d+))$')
KERNEL_FRAME = re.compile(r"^\S+_\[k\]$")


class WideFrame(Frame):
    """A frame that may also be a thread root `[thread <tid>]` (or
    `Thread_<tid>`, an earlier spelling), an off-CPU class `[off-cpu:CLASS]`
    or `[off-cpu:CLASS] syscall`, or a kernel frame `symbol_[k]`.
    kind: python, synthetic, thread, off, kernel."""
    __slots__ = ("kind", "off_class", "syscall", "tid", "thread_name")

    def __init__(self, raw):
        self.off_class = self.syscall = self.tid = self.thread_name = None
        off, thread = OFF_CPU_FRAME.match(raw), THREAD_FRAME.match(raw)
        if off or thread or KERNEL_FRAME.match(raw):
            self.raw = self.func = raw
            self.file = self.line = None
            self.synthetic = True
            if off:
                self.kind, self.off_class, self.syscall = "off", off.group("cls"), off.group("sys")
                if self.off_class not in OFF_CPU_CLASSES:
                    raise ValueError("frame %r: unknown off-CPU class" % raw)
            elif thread:
                self.kind, self.tid = "thread", int(thread.group("tid") or thread.group("tid2"))
                self.thread_name = thread.group("name")
            else:
                self.kind = "kernel"
        else:
            Frame.__init__(self, raw)
            self.kind = "synthetic" if self.synthetic else "python"


class Wide:
    """One stack of a WideFrame profile, in parts: thread id (--threads),
    Python frames root first, the off-CPU frame (None on CPU), kernel frames."""
    __slots__ = ("frames", "weight", "tid", "py", "off", "kernel")

    def __init__(self, frames, weight, tid, py, off, kernel):
        self.frames, self.weight, self.tid = frames, weight, tid
        self.py, self.off, self.kernel = py, off, kernel

    @property
    def names(self):
        return Profile.names(self.py)

    def off_is(self, cls, syscalls=None):
        return (self.off is not None and self.off.off_class == cls
                and (syscalls is None or self.off.syscall in syscalls))


def wide_profile_ok(run, out, allow_empty=False):
    """profile_ok() for profiles with off-CPU, thread and kernel frames."""
    if run.timed_out:
        raise Fail("pyebpf did not exit in time", run.describe())
    if run.rc != 0:
        raise Fail("pyebpf exited with status %s" % run.rc, run.describe())
    prof = parse_folded(out, WideFrame)
    if prof.total == 0 and not allow_empty:
        raise Fail("empty profile", run.describe())
    return prof


def wide_stacks(prof, run, threads=False, kernel=False):
    """[Wide] for every stack; raises Fail unless each is, root first,
    [[thread <tid>];] Python (or [synthetic]) frames [;[off-cpu:CLASS] [syscall]]
    [;kernel_[k] frames], with the thread frame exactly when `threads` and
    kernel frames only when `kernel`."""
    out = []
    for fr, w in prof.stacks:
        i, tid = 0, None
        if fr and fr[0].kind == "thread":
            tid, i = fr[0].tid, 1
        j = i
        while j < len(fr) and fr[j].kind in ("python", "synthetic"):
            j += 1
        off = None
        if j < len(fr) and fr[j].kind == "off":
            off, j = fr[j], j + 1
        k = j
        while k < len(fr) and fr[k].kind == "kernel":
            k += 1
        why = None
        if k != len(fr) or j == i + (off is not None):
            why = "not [[thread N];]Python frames[;[off-cpu:..]][;kernel frames]"
        elif threads != (tid is not None):
            why = "thread root frame %s" % ("missing" if threads else "without --threads")
        elif k > j and not kernel:
            why = "kernel frames without --kernel"
        if why:
            raise Fail("%s: stack %s: %s" % (prof.path, why, _compress(fr)[:300]),
                       prof.top() + run.describe())
        out.append(Wide(fr, w, tid, fr[i:j - (off is not None)], off, fr[j:k]))
    return out


def _weight(ws, pred=lambda w: True):
    return sum(w.weight for w in ws if pred(w))


def _lines_ok(py, path, mk, marks):
    """Each of the Python frames `py` (root first) is in `path` on a line
    marked with the corresponding marker of `marks`."""
    return len(py) == len(marks) and all(
        f.file == path and f.line in mk[m] for f, m in zip(py, marks))


def _breakdown(ws, what="time"):
    """A diagnostic line: where `ws`'s time goes, by off-CPU class."""
    by = {}
    for w in ws:
        key = "on CPU" if w.off is None else w.off.raw
        by[key] = by.get(key, 0) + w.weight
    total = _weight(ws)
    return "%s %.3f s: %s" % (what, total / NS, ", ".join(
        "%s %.3f s (%.1f%%)" % (k, v / NS, share(v, total))
        for k, v in sorted(by.items(), key=lambda kv: -kv[1])) or "nothing")


SPLIT_LINE = re.compile(
    r"^\s*(?:wall time|thread (?P<tid>\d+):) (?P<secs>[\d.]+) s: (?P<rest>.*)$")


def time_split(run):
    """The summary's time split: {None: (seconds, {label: percent}) for the
    'wall time' line, tid: ... for each 'thread TID:' line}. Labels as
    printed ("on CPU", "I/O or sleep", "GIL", "run queue", ...), and
    "holding the GIL" for '; holding the GIL P% of the time on CPU'."""
    out = {}
    for line in run.stderr.splitlines():
        m = SPLIT_LINE.match(line)
        if not m:
            continue
        parts = {}
        for item in re.split(r"[,;] ", m.group("rest")):
            p = re.match(r"^(?P<label>.*?) (?P<pct>[\d.]+)%", item.strip())
            if p:
                label = p.group("label")
                parts["holding the GIL" if label.startswith("holding the GIL") else label] = \
                    float(p.group("pct"))
        out[int(m.group("tid")) if m.group("tid") else None] = (float(m.group("secs")), parts)
    return out


HALF_MARKS = {"compute": ("module-call", "main-compute", "compute-loop"),
              "rest": ("module-call", "main-rest", "rest-sleep")}


def _half_sleep_parts(ws, path, mk):
    """(on-CPU weight of <module>;main;compute, off-CPU sleep weight of
    <module>;main;rest, and the part of each on the marked lines)."""
    compute = [w for w in ws if w.names == ("<module>", "main", "compute") and w.off is None]
    rest = [w for w in ws if w.names == ("<module>", "main", "rest")
            and w.off_is("io", SLEEP_SYSCALLS)]
    return (_weight(compute), _weight(rest),
            _weight(compute, lambda w: _lines_ok(w.py, path, mk, HALF_MARKS["compute"])),
            _weight(rest, lambda w: _lines_ok(w.py, path, mk, HALF_MARKS["rest"])))


def t_half_sleep(ctx, interp):
    """--idle --threads: a thread 50% in compute() on CPU, 50% asleep in rest()."""
    path = target("half_sleep.py")
    mk = markers(path)
    out = ctx.path("half.folded")
    secs, rate = 3, 500
    pid, run = profile_attached(interp, path, out, secs, rate, ["--idle", "--threads"])
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run, threads=True)
    diag = [_breakdown(ws, "thread %d" % pid)] + prof.top(8) + run.describe()
    tids = sorted(set(w.tid for w in ws))
    if tids != [pid]:
        raise Fail("threads %s in the profile of a single-threaded target (pid %d)" % (
            tids, pid), diag)
    total = prof.total
    if not 0.85 * secs * NS <= total <= 1.15 * secs * NS:
        raise Fail("the thread's time adds up to %.2f s in a %d s profile" % (total / NS, secs),
                   diag)
    compute, rest, compute_ok, rest_ok = _half_sleep_parts(ws, path, mk)
    rq = _weight(ws, lambda w: w.off_is("runqueue"))
    pc, pr = share(compute, total - rq), share(rest, total - rq)
    if abs(pc - 50) > 5 or abs(pr - 50) > 5:
        raise Fail("compute on CPU %.1f%%, rest asleep ([off-cpu:io] %s) %.1f%% of the "
                   "thread's %.2f s less %.2f s in the run queue; expected 50/50 +-5" % (
                       pc, "/".join(SLEEP_SYSCALLS), pr, total / NS, rq / NS), diag)
    for fn, part, ok in (("compute", compute, compute_ok), ("rest", rest, rest_ok)):
        if share(ok, part) < 98:
            raise Fail("%s: only %.1f%% of its time is on the lines marked %s in %s" % (
                fn, share(ok, part), "/".join(HALF_MARKS[fn]), path), diag)
    split = time_split(run)
    if pid not in split:
        raise Fail("the summary has no 'thread %d:' line" % pid, diag)
    secs_said, parts = split[pid]
    on_cpu = share(_weight(ws, lambda w: w.off is None), total)
    if abs(secs_said - total / NS) > 0.02 or abs(parts.get("on CPU", -100) - on_cpu) > 0.2:
        raise Fail("summary 'thread %d: %.2f s: on CPU %s%%' disagrees with the profile "
                   "(%.2f s, on CPU %.1f%%)" % (pid, secs_said, parts.get("on CPU"),
                                                total / NS, on_cpu), diag)
    return "compute %.1f%% on CPU, rest %.1f%% asleep (+ run queue %.2f s) of %.2f s" % (
        pc, pr, rq / NS, total / NS)


def t_off_cpu_only(ctx, interp):
    """--off-cpu on half_sleep.py: only off-CPU stacks, rest()'s sleep dominating."""
    path = target("half_sleep.py")
    mk = markers(path)
    out = ctx.path("off.folded")
    secs, rate = 2, 500
    _, run = profile_attached(interp, path, out, secs, rate, ["--off-cpu"])
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run)
    diag = [_breakdown(ws)] + prof.top(8) + run.describe()
    on = [w for w in ws if w.off is None]
    if on:
        raise Fail("%d stacks without an [off-cpu:...] frame with --off-cpu, e.g. %s" % (
            len(on), _compress(on[0].frames)), diag)
    _, rest, _, rest_ok = _half_sleep_parts(ws, path, mk)
    rq = _weight(ws, lambda w: w.off_is("runqueue"))
    if share(rest, prof.total - rq) < 90:
        raise Fail("rest asleep is only %.1f%% of the %.2f s off CPU not in the run queue "
                   "(want >= 90%%)" % (share(rest, prof.total - rq), (prof.total - rq) / NS),
                   diag)
    if not 0.4 * (secs * NS - rq) <= rest <= 0.6 * (secs * NS - rq):
        raise Fail("rest asleep %.2f s of a %d s profile with %.2f s in the run queue, "
                   "expected about half of the rest" % (rest / NS, secs, rq / NS), diag)
    if share(rest_ok, rest) < 98:
        raise Fail("rest: only %.1f%% of its time on the marked lines" % share(rest_ok, rest),
                   diag)
    return "%.2f s off CPU, rest asleep %.2f s, run queue %.2f s" % (
        prof.total / NS, rest / NS, rq / NS)


PIPE_MARKS = ("module-call", "main-call", "read-call")


def _pipe_reads(ws, path, mk):
    """Stacks of reader() blocked in read(2) on its marked line."""
    return [w for w in ws if w.names == ("<module>", "main", "reader")
            and _lines_ok(w.py, path, mk, PIPE_MARKS) and w.off_is("io", ("read",))]


def t_pipe_read(ctx, interp):
    """--idle --threads: a thread blocked reading a pipe another process feeds."""
    path = target("pipe_read.py")
    mk = markers(path)
    out = ctx.path("pipe.folded")
    secs, rate = 3, 100
    pid, run = profile_attached(interp, path, out, secs, rate, ["--idle", "--threads"])
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run, threads=True)
    mine = [w for w in ws if w.tid == pid]
    total = _weight(mine)
    diag = [_breakdown(mine, "thread %d" % pid)] + prof.top(8) + run.describe()
    if not 0.85 * secs * NS <= total <= 1.15 * secs * NS:
        raise Fail("the reading thread's time adds up to %.2f s in a %d s profile" % (
            total / NS, secs), diag)
    reads = _weight(_pipe_reads(mine, path, mk))
    if share(reads, total) < 80:
        raise Fail("only %.1f%% of the thread's %.2f s is <module>;main;reader on lines %s "
                   "with [off-cpu:io] read below (want >= 80%%)" % (
                       share(reads, total), total / NS, "/".join(PIPE_MARKS)), diag)
    return "%.1f%% of %.2f s blocked in read under reader" % (share(reads, total), total / NS)


def _kallsyms_hidden():
    try:
        with open("/proc/kallsyms") as f:
            for n, line in enumerate(f):
                if int(line.split(None, 1)[0], 16):
                    return False
                if n > 1000:
                    break
    except (OSError, ValueError, IndexError):
        pass
    return True


def t_kernel_stacks(ctx, interp):
    """--idle --kernel: kernel frames below a blocked read; --kernel on CPU
    keeps the Python frames."""
    if _kallsyms_hidden():
        raise Skip("/proc/kallsyms shows only zero addresses")
    path = target("pipe_read.py")
    mk = markers(path)
    out = ctx.path("pipe.folded")
    secs, rate = 2, 100
    _, run = profile_attached(interp, path, out, secs, rate, ["--idle", "--kernel"])
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run, kernel=True)
    diag = [_breakdown(ws)] + prof.top(8) + run.describe()
    reads = _pipe_reads(ws, path, mk)
    r = _weight(reads)
    if share(r, prof.total) < 80:
        raise Fail("only %.1f%% of %.2f s is reader blocked in [off-cpu:io] read (want >= 80%%)"
                   % (share(r, prof.total), prof.total / NS), diag)
    with_k = _weight(reads, lambda w: w.kernel)
    with_read = _weight(reads, lambda w: any("read" in f.func for f in w.kernel))
    if share(with_k, r) < 90 or share(with_read, r) < 90:
        raise Fail("of reader's %.2f s in read(2), %.1f%% has kernel frames and %.1f%% a "
                   "kernel frame named *read* (want >= 90%% each)" % (
                       r / NS, share(with_k, r), share(with_read, r)), diag)
    kframes = sorted(set(f.func for w in reads for f in w.kernel if "read" in f.func))

    hout = ctx.path("hot.folded")
    _, hrun = profile_attached(interp, target("hot.py"), hout, secs, rate, ["--kernel"])
    hprof = wide_profile_ok(hrun, hout)
    hws = wide_stacks(hprof, hrun, kernel=True)
    if hprof.total < 0.3 * rate * secs:
        raise Fail("%d samples of a busy loop in %d s at %d Hz" % (hprof.total, secs, rate),
                   hprof.top() + hrun.describe())
    n_hot = _weight(hws, lambda w: w.names == HOT_STACK and w.off is None)
    if share(n_hot, hprof.total) < 90:
        raise Fail("with --kernel only %.1f%% of %d on-CPU samples are <module>;main;hot" % (
            share(n_hot, hprof.total), hprof.total), hprof.top() + hrun.describe())
    return "read stacks end in %s; hot loop %.1f%% <module>;main;hot" % (
        "/".join(kframes[:3]), share(n_hot, hprof.total))


def t_gil_contention(ctx, interp):
    """--idle --threads: two CPU-bound threads wait mostly for the GIL when off CPU."""
    path = target("gil_contention.py")
    mk = markers(path)
    out = ctx.path("gil.folded")
    secs, rate = 3, 100
    _, run = profile_attached(interp, path, out, secs, rate, ["--idle", "--threads"])
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run, threads=True)
    split = time_split(run)
    msgs = []
    for fn, mark in (("spin_a", "spin-a"), ("spin_b", "spin-b")):
        tids = set(w.tid for w in ws if w.names and w.names[-1] == fn)
        if len(tids) != 1:
            raise Fail("%s runs on %d threads in the profile, want 1" % (fn, len(tids)),
                       prof.top(8) + run.describe())
        tid = tids.pop()
        mine = [w for w in ws if w.tid == tid]
        diag = [_breakdown(mine, "%s's thread %d" % (fn, tid))] + prof.top(8) + run.describe()
        off = _weight(mine, lambda w: w.off is not None)
        gil = _weight(mine, lambda w: w.off_is("gil"))
        rq = _weight(mine, lambda w: w.off_is("runqueue"))
        # the run queue is the machine's; a pure-Python loop is otherwise off
        # the CPU only to wait for the GIL, and that for a good part of the time
        if share(gil, off - rq) < 90:
            raise Fail("%s: [off-cpu:gil] is %.1f%% of its %.2f s off CPU outside the run "
                       "queue (want >= 90%%)" % (fn, share(gil, off - rq), (off - rq) / NS),
                       diag)
        if share(gil, _weight(mine)) < 15:
            raise Fail("%s: waits for the GIL only %.1f%% of its thread's %.2f s, sharing it "
                       "with another busy thread (want >= 15%%)" % (
                           fn, share(gil, _weight(mine)), _weight(mine) / NS), diag)
        spin = [w for w in mine if w.names and w.names[-1] == fn]
        bad = _weight(spin, lambda w: w.py[-1].file != path or w.py[-1].line not in mk[mark])
        if share(bad, _weight(spin)) > 2:
            raise Fail("%s: %.1f%% of its time is off the lines marked %s" % (
                fn, share(bad, _weight(spin)), mark), diag)
        held = split.get(tid, (0, {}))[1].get("holding the GIL")
        if held is None or held < 80:
            raise Fail("%s: the summary says its thread %d holds the GIL %s of its time on CPU "
                       "(want >= 80%%)" % (fn, tid, "%.1f%%" % held if held is not None
                                          else "(no 'holding the GIL' figure)"), diag)
        msgs.append("%s GIL %.0f%% of off-CPU (%.0f%% with run queue), holds it %.0f%% "
                    "on CPU" % (fn, share(gil, off - rq), share(gil, off), held))
    return "; ".join(msgs)


def t_lock_wait(ctx, interp):
    """--idle --threads: threads blocked on a threading.Lock are [off-cpu:lock]
    futex on the acquire line, never GIL; one blocked before attach, four after."""
    path = target("lock_wait.py")
    mk = markers(path)
    out = ctx.path("lock.folded")
    secs, rate, delay = 3, 100, 1.0
    with Target([interp.path, path, "30"], stdin=True) as t:
        t.wait_for("ready")
        run = Run([PYEBPF] + attach_args(t.pid, out, secs, rate) + ["--idle", "--threads"])
        try:
            time.sleep(delay)
            if run.proc.poll() is not None:
                run.wait(5)
                raise Fail("pyebpf exited before the late waiter started", run.describe())
            t.send("go\n")
            t.wait_for("late", timeout=10)
            run.wait(secs + 30)
        finally:
            run.kill()
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run, threads=True)
    # late waiters start `delay` s after pyebpf did, some time before
    # profiling started: each is in at most run.elapsed - delay s of it (plus
    # an on-CPU sample or two as it starts, each counted as 1/rate s)
    checks = []
    for fn, mark, lo, hi, n in (
            ("early_waiter", "early-acquire", 0.85 * secs, 1.15 * secs, 1),
            ("late_waiter", "late-acquire", 0.4 * (secs - delay),
             run.elapsed - delay + 2.0 / rate, 4)):
        tids = sorted(set(w.tid for w in ws if fn in w.names))
        if len(tids) != n:
            all_tids = sorted(set(w.tid for w in ws))
            raise Fail("%s runs on %d threads in the profile, want %d (blocked on the lock "
                       "from %s on)" % (
                           fn, len(tids), n, "before attach" if fn == "early_waiter"
                           else "%.0f s after pyebpf started" % delay),
                       ["threads in the profile: %s" % " ".join(str(x) for x in all_tids)]
                       + [_breakdown([w for w in ws if w.tid == x], "thread %d" % x)
                          for x in all_tids] + prof.top(8) + run.describe())
        checks += [(fn, mark, lo, hi, tid) for tid in tids]
    msgs = {}
    for fn, mark, lo, hi, tid in checks:
        mine = [w for w in ws if w.tid == tid]
        total = _weight(mine)
        diag = [_breakdown(mine, "%s's thread %d" % (fn, tid))] + prof.top(8) + run.describe()
        good = _weight(mine, lambda w: w.names and w.names[-1] == fn and w.py[-1].file == path
                       and w.py[-1].line in mk[mark] and w.off_is("lock", ("futex",)))
        if share(good, total) < 90:
            raise Fail("%s: only %.1f%% of its thread's %.2f s is %s on lines %s with "
                       "[off-cpu:lock] futex below (want >= 90%%)" % (
                           fn, share(good, total), total / NS, fn, sorted(mk[mark])), diag)
        # a thread starting up may wait a moment for the GIL (the thread that
        # started it wants it back); one blocked all along never does
        gil = _weight(mine, lambda w: w.off_is("gil"))
        if (fn == "early_waiter" and gil) or share(gil, total) > 1:
            raise Fail("%s: %.6f s [off-cpu:gil] of %.2f s blocked on a lock (want %s)" % (
                fn, gil / NS, total / NS, "none" if fn == "early_waiter" else "<= 1%"), diag)
        if not lo * NS <= total <= hi * NS:
            raise Fail("%s: its thread's time adds up to %.2f s, expected %.1f-%.1f s" % (
                fn, total / NS, lo, hi), diag)
        msgs.setdefault(fn, []).append("%.0f%% of %.2f s" % (share(good, total), total / NS))
    return "lock futex: " + "; ".join("%s %s" % (fn, ", ".join(m)) for fn, m in msgs.items())


def t_gil_flag(ctx, interp):
    """--gil: next to nothing for a sleeping program, nearly every sample of a
    busy single-threaded loop."""
    secs, rate = 2, 100
    out = ctx.path("sleep.folded")
    _, run = profile_attached(interp, target("blocked.py"), out, secs, rate, ["--gil"],
                              arg="1000")
    if run.timed_out or run.rc != 0:
        raise Fail("--gil on a sleeping program: exit status %s" % run.rc, run.describe())
    prof = parse_folded(out, WideFrame) if os.path.exists(out) else Profile([], out)
    if prof.total >= 5:
        raise Fail("--gil kept %d samples of a program asleep in time.sleep (want < 5)" % (
            prof.total), prof.top() + run.describe())
    asleep = prof.total

    # with and without --gil at the same time, so that other load on the
    # machine takes the same CPU time from both; their windows still differ
    # by start-up times (< 10% of 3 s)
    secs = 3
    gout, aout = ctx.path("gil.folded"), ctx.path("all.folded")
    with Target([interp.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        grun = Run([PYEBPF] + attach_args(t.pid, gout, secs, rate) + ["--gil"])
        try:
            arun = pyebpf(attach_args(t.pid, aout, secs, rate), timeout=secs + 30)
            grun.wait(secs + 30)
        finally:
            grun.kill()
    aprof = profile_ok(arun, aout)
    if aprof.total < 0.3 * rate * secs:
        raise Fail("%d samples of a busy loop in %d s at %d Hz" % (aprof.total, secs, rate),
                   aprof.top() + arun.describe())
    gprof = wide_profile_ok(grun, gout, allow_empty=True)
    if gprof.total < 0.8 * aprof.total:
        raise Fail("--gil kept %d samples of a busy single-threaded loop, a run without "
                   "--gil at the same time %d (want >= 80%%)" % (gprof.total, aprof.total),
                   gprof.top() + grun.describe() + ["without --gil:"] + arun.describe())
    n_hot = gprof.count(lambda fr: Profile.names(fr) == HOT_STACK)
    if share(n_hot, gprof.total) < 90:
        raise Fail("only %.1f%% of --gil samples are <module>;main;hot" % share(
            n_hot, gprof.total), gprof.top() + grun.describe())
    return "asleep: %d samples; busy: %d with --gil, %d without" % (
        asleep, gprof.total, aprof.total)


def t_blocked_since_start(ctx, interp):
    """--idle: a thread asleep from before the start to after the end is
    counted for the whole profile."""
    path = target("blocked.py")
    mk = markers(path)
    out = ctx.path("blocked.folded")
    secs = 2
    with Target([interp.path, path, "1000"]) as t:
        t.wait_for("ready")
        time.sleep(0.3)
        run = pyebpf(attach_args(t.pid, out, secs) + ["--idle"], timeout=secs + 30)
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run)
    nap = _weight(ws, lambda w: w.names == ("<module>", "main", "nap")
                  and _lines_ok(w.py, path, mk, ("module-call", "main-call", "nap-sleep"))
                  and w.off_is("io", SLEEP_SYSCALLS))
    diag = [_breakdown(ws)] + prof.top(8) + run.describe()
    if not 0.8 * secs * NS <= nap <= 1.2 * secs * NS:
        raise Fail("<module>;main;nap asleep ([off-cpu:io] %s, marked lines) for %.3f s of a "
                   "%d s profile (want %.1f-%.1f s)" % (
                       "/".join(SLEEP_SYSCALLS), nap / NS, secs, 0.8 * secs, 1.2 * secs), diag)
    if share(nap, prof.total) < 95:
        raise Fail("nap asleep is only %.1f%% of %.3f s" % (share(nap, prof.total),
                                                           prof.total / NS), diag)
    return "nap asleep %.3f s of a %d s profile" % (nap / NS, secs)


# --------------------------------------------------------------------------
# outputs: every format, read back by what reads it; thread names; names of
# files and lines (per interpreter, and once for the browser checks)


BROWSER = os.path.join(ROOT, "tests", "browser")
FORMATS_DIR = os.path.join(ROOT, "tests", "formats")
ARTIFACTS = os.environ.get("PYEBPF_TEST_ARTIFACTS") or os.path.join(ROOT, "build", "test-artifacts")


def checker(argv, what, timeout=120):
    """Runs a consumer check (node or python script); Fail with its output
    unless it exits 0. Returns its stdout."""
    vlog("checker: " + " ".join(_quote(a) for a in argv))
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise Fail("%s: did not finish in %d s" % (what, timeout))
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0:
        raise Fail("%s: exit status %d" % (what, p.returncode),
                   ["command: " + " ".join(_quote(a) for a in argv)]
                   + ["  " + l for l in out.splitlines()[-20:]])
    return out


def _speedscope_share(doc, fn):
    """Share of all speedscope weight whose stack contains frame name `fn`."""
    frames = doc["shared"]["frames"]
    total = hit = 0.0
    for prof in doc["profiles"]:
        for stack, w in zip(prof["samples"], prof["weights"]):
            total += w
            if any(frames[i]["name"] == fn for i in stack):
                hit += w
    return hit / total if total else 0.0


def _chrometrace_share(doc, fn):
    """Share of the main thread's sampled time inside complete events of
    function `fn` (X events; B/E pairs are summed the same way)."""
    evs = [e for e in doc["traceEvents"] if e.get("ph") in ("X", "B", "E")]
    if not evs:
        return 0.0, 0
    tids = {}
    for e in evs:
        if e["ph"] == "X":
            tids.setdefault(e["tid"], []).append(e)
    roots = {tid: sum(e["dur"] for e in es if e.get("args", {}).get("depth", None) in (0, None)
                      and e["name"] == "<module>") for tid, es in tids.items()}
    tid = max(roots, key=roots.get) if roots else None
    if tid is None:
        return 0.0, 0
    hot = sum(e["dur"] for e in tids[tid] if e["name"] == fn)
    return (hot / roots[tid] if roots[tid] else 0.0), len(tids[tid])


def _cpu_seconds(pid):
    """CPU time (user + system) process `pid` has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def t_formats(ctx, interp):
    """One busy target profiled into every format at once (four pyebpf
    sessions side by side); each file read back as its consumers read it:
    the SVG as XML, speedscope and chrometrace as JSON, pprof by
    `go tool pprof`. hot() must lead each."""
    secs, rate = 3, 100
    outs = {"flamegraph": ctx.path("p.svg"), "speedscope": ctx.path("p.speedscope.json"),
            "pprof": ctx.path("p.pb.gz"), "chrometrace": ctx.path("p.trace.json")}
    with Target([interp.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        cpu_before = _cpu_seconds(t.pid)
        runs = {f: Run([PYEBPF, "record", "-p", str(t.pid), "-d", str(secs), "-r", str(rate),
                        "-o", out]) for f, out in outs.items()}
        for r in runs.values():
            r.wait(secs + 30)
        # what the target could have been sampled for: on a loaded machine
        # it gets less than the wall time
        cpu = _cpu_seconds(t.pid) - cpu_before
    for f, r in runs.items():
        if r.timed_out or r.rc != 0:
            raise Fail("%s: pyebpf exit status %s" % (f, r.rc), r.describe())
        if "wrote %s (" % outs[f] not in r.stderr:
            raise Fail("%s: the summary does not name %s" % (f, outs[f]), r.describe())
    notes = []

    import xml.etree.ElementTree as ET
    try:
        svg = ET.parse(outs["flamegraph"]).getroot()
    except ET.ParseError as e:
        raise Fail("the SVG is not well-formed XML: %s" % e, runs["flamegraph"].describe())
    if not svg.tag.endswith("svg"):
        raise Fail("the flame graph's root element is <%s>, not <svg>" % svg.tag)
    text = open(outs["flamegraph"], encoding="utf-8").read()
    if "hot (hot.py:" not in text:
        raise Fail("the SVG has no frame 'hot (hot.py:LINE)'", runs["flamegraph"].describe())
    notes.append("svg ok")

    with open(outs["speedscope"], encoding="utf-8") as f:
        doc = json.load(f)
    for fr in doc["shared"]["frames"]:
        if set(fr) != {"name", "file", "line", "col"}:
            raise Fail("speedscope frame with keys %s, want name, file, line, col" % sorted(fr))
    sh = _speedscope_share(doc, "hot")
    if sh < 0.9:
        raise Fail("speedscope: hot in %.0f%% of the weight (want >= 90%%)" % (100 * sh))
    if doc["profiles"][0].get("unit") != "seconds":
        raise Fail("speedscope: unit %r, want seconds" % doc["profiles"][0].get("unit"))
    secs_total = sum(sum(p["weights"]) for p in doc["profiles"])
    # the window of CPU time also covers the sessions' start-up
    if not 0.4 * min(cpu, secs) <= secs_total <= 1.1 * cpu + 0.1:
        raise Fail("speedscope: %.2f s of samples in a %d s profile of one busy thread that "
                   "used %.2f s of CPU meanwhile" % (secs_total, secs, cpu))
    notes.append("speedscope hot %.0f%% of %.2f s" % (100 * sh, secs_total))

    out = checker([sys.executable, os.path.join(FORMATS_DIR, "pprof_check.py"),
                   outs["pprof"], "--expect-top", "hot", "--min-share", "0.9",
                   # hot.py never imports threading: no Python thread names
                   "--require-labels", "pid,tid"],
                  "go tool pprof")
    notes.append("pprof: hot on top")

    with open(outs["chrometrace"], encoding="utf-8") as f:
        doc = json.load(f)
    names = {e.get("name") for e in doc["traceEvents"]}
    if "hot" not in names:
        raise Fail("chrometrace: no event named hot")
    sh, n = _chrometrace_share(doc, "hot")
    if sh < 0.9:
        raise Fail("chrometrace: hot spans %.0f%% of the main thread's <module> time "
                   "(want >= 90%%)" % (100 * sh))
    notes.append("chrometrace hot %.0f%% in %d spans" % (100 * sh, n))
    return "; ".join(notes)


def t_thread_names(ctx, interp):
    """--threads: each thread's root frame carries its tid and Python's name
    for it, and the stack under it is that thread's own function."""
    secs, rate = 2, 100
    out = ctx.path("threads.folded")
    with Target([interp.path, target("named_threads.py"), "30"]) as t:
        t.wait_for("ready")
        want = {}
        for _ in range(4):
            _, name, fn = t.wait_for("thread ").split(" ", 2)
            want[name] = fn
        run = pyebpf(attach_args(t.pid, out, secs, rate) + ["--threads"], timeout=secs + 30)
        tids = set(int(x) for x in os.listdir("/proc/%d/task" % t.pid))
    prof = wide_profile_ok(run, out)
    ws = wide_stacks(prof, run, threads=True)
    seen = {}
    for w in ws:
        root = w.frames[0]
        if root.tid not in tids:
            raise Fail("thread root %s: no such thread in the target (%s)" % (
                root.raw, sorted(tids)), prof.top() + run.describe())
        seen.setdefault(root.thread_name, {}).setdefault(root.tid, 0)
        seen[root.thread_name][root.tid] += w.weight
        fn = want.get(root.thread_name)
        if fn and w.names and fn not in w.names and w.weight > 0.05 * prof.total:
            raise Fail("%s: a heavy stack of thread %r lacks %s: %s" % (
                root.raw, root.thread_name, fn, _compress(w.frames)), prof.top() + run.describe())
    for name in want:
        if name not in seen:
            raise Fail("no root frame names thread %r (seen: %s)" % (
                name, ", ".join("%r" % n for n in seen)), prof.top() + run.describe())
        if len(seen[name]) != 1:
            raise Fail("thread name %r on several tids %s" % (name, sorted(seen[name])))
    unnamed = sum(sum(v.values()) for n, v in seen.items() if n is None)
    if unnamed > 0.05 * prof.total:
        raise Fail("%.0f%% of the samples have an unnamed thread root" % (
            share(unnamed, prof.total)), prof.top() + run.describe())
    return "threads %s" % ", ".join("%s=%d" % (n, next(iter(seen[n]))) for n in sorted(want))


def t_names_and_lines(ctx, interp):
    """File names as py-spy shows them (package-relative) unless
    --full-filenames; -F puts every sample of a function on its first
    line; --nolineno shows no lines."""
    secs, rate = 2, 100
    outs = {m: ctx.path("%s.folded" % m) for m in ("short", "function", "nolineno")}
    flags = {"short": [], "function": ["-F"], "nolineno": ["--nolineno"]}
    with Target([interp.path, target("late_thread.py"), "30", "0"]) as t:
        t.wait_for("stack ")
        runs = {m: Run([PYEBPF, "record", "-p", str(t.pid), "-d", str(secs), "-r", str(rate),
                        "-f", "raw", "-o", outs[m]] + flags[m]) for m in outs}
        for r in runs.values():
            r.wait(secs + 30)
    for m, r in runs.items():
        if r.timed_out or r.rc != 0:
            raise Fail("%s: pyebpf exit status %s" % (m, r.rc), r.describe())
    prof = parse_folded(outs["short"])
    files = set(f.file for fr, _ in prof.stacks for f in fr if f.file)
    if "late_thread.py" not in files or "threading.py" not in files:
        raise Fail("short names: files %s, want late_thread.py and threading.py" % sorted(files),
                   prof.top() + runs["short"].describe())
    if any(f.startswith("/") for f in files):
        raise Fail("short names: full paths remain: %s" % sorted(files))

    fprof = parse_folded(outs["function"])
    def_line = None
    path = target("late_thread.py")
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if line.startswith("def late_worker("):
                def_line = i
    lines = set(f.line for fr, _ in fprof.stacks for f in fr if f.func == "late_worker")
    if lines != {def_line}:
        raise Fail("-F: late_worker on lines %s, want only its first line %d" % (
            sorted(lines), def_line), fprof.top() + runs["function"].describe())

    with open(outs["nolineno"]) as f:
        text = f.read()
    if re.search(r"\.py:\d+\)", text) or "late_worker (late_thread.py)" not in text:
        raise Fail("--nolineno: frames still carry lines, or late_worker is missing",
                   text.splitlines()[:5] + runs["nolineno"].describe())
    return "files %s; -F line %d; no lines" % (", ".join(sorted(files)), def_line)


def t_default_output_name(ctx, py):
    """Without -o: pyebpf-<pid>-<time>.svg in the current directory, a flame
    graph, never replacing a file already there."""
    work = ctx.path("cwd")
    os.mkdir(work)
    names = []
    with Target([py.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        for _ in range(2):
            p = subprocess.run([PYEBPF, "-p", str(t.pid), "-d", "1"], cwd=work,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=40)
            if p.returncode != 0:
                raise Fail("exit status %d" % p.returncode, p.stderr.decode().splitlines())
        names = sorted(os.listdir(work))
    pat = re.compile(r"^pyebpf-%d-\d{8}-\d{6}(-\d+)?\.svg$" % t.pid)
    if len(names) != 2 or not all(pat.match(n) for n in names):
        raise Fail("files %s, want two named pyebpf-%d-YYYYmmdd-HHMMSS[-N].svg" % (names, t.pid))
    for n in names:
        with open(os.path.join(work, n), encoding="utf-8") as f:
            if "<svg" not in f.read(4096):
                raise Fail("%s is not an SVG" % n)
    return ", ".join(names)


def t_browser_flamegraph(ctx, py):
    """The flame graph of a real wall-clock profile in headless Chromium: it
    renders, a click on compute() zooms it to the full width, a search for
    compute highlights it. The screenshot is kept under build/test-artifacts."""
    out = ctx.path("hot.svg")
    # --nolineno: compute() is one frame, so the search matches exactly one
    _, run = profile_attached(py, target("half_sleep.py"), out, 3, 100,
                              ["--idle", "--nolineno", "-f", "flamegraph"])
    if run.timed_out or run.rc != 0:
        raise Fail("pyebpf exit status %s" % run.rc, run.describe())
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "flamegraph-%s.png" % py.name)
    shutil.copy(out, os.path.join(ARTIFACTS, "flamegraph-%s.svg" % py.name))
    out_text = checker(["node", os.path.join(BROWSER, "flamegraph_check.mjs"), out, shot,
                        "--click", "compute", "--search", "^compute ", "--expect-matches", "1"],
                       "flamegraph_check.mjs")
    return "screenshot %s; %s" % (shot, out_text.strip().splitlines()[-1] if out_text else "")


def t_browser_speedscope(ctx, py):
    """A real speedscope profile (--idle, --threads) loaded by the speedscope
    app from npm in headless Chromium, without an import error."""
    out = ctx.path("p.speedscope.json")
    _, run = profile_attached(py, target("named_threads.py"), out, 2, 100, ["--idle", "-f",
                                                                           "speedscope"])
    if run.timed_out or run.rc != 0:
        raise Fail("pyebpf exit status %s" % run.rc, run.describe())
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "speedscope-%s.png" % py.name)
    out_text = checker(["node", os.path.join(BROWSER, "speedscope_check.mjs"), out,
                        "--expect-frame", "work_1", "--screenshot", shot],
                       "speedscope_check.mjs")
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    names = sorted(p["name"] for p in doc["profiles"])
    if not any('"CustomThreadName-2"' in n for n in names):
        raise Fail("speedscope profiles %s: none is Thread <tid> \"CustomThreadName-2\"" % names)
    return "%d thread profiles; %s" % (len(names),
                                       out_text.strip().splitlines()[-1] if out_text else "")


def t_browser_chrometrace(ctx, py):
    """A real chrometrace file passes the trace-event checker."""
    out = ctx.path("p.trace.json")
    _, run = profile_attached(py, target("hot.py"), out, 2, 100, ["-f", "chrometrace"])
    if run.timed_out or run.rc != 0:
        raise Fail("pyebpf exit status %s" % run.rc, run.describe())
    out_text = checker(["node", os.path.join(BROWSER, "chrometrace_check.mjs"), out,
                        "--expect-name", "hot"], "chrometrace_check.mjs")
    return out_text.strip().splitlines()[-1] if out_text else "ok"


def t_completions(ctx, py):
    """`pyebpf completions SHELL`: each script is valid for its shell, and
    bash and fish complete subcommands, flags and formats from it."""
    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        p = subprocess.run([PYEBPF, "completions", shell], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        if p.returncode != 0 or not p.stdout:
            raise Fail("completions %s: exit status %d" % (shell, p.returncode),
                       p.stderr.decode().splitlines())
        scripts[shell] = ctx.path("pyebpf." + shell)
        with open(scripts[shell], "wb") as f:
            f.write(p.stdout)
    for shell, check in (("bash", ["bash", "-n"]), ("zsh", ["zsh", "-n"]),
                         ("fish", ["fish", "--no-execute"])):
        if not shutil.which(check[0]):
            raise Fail("%s is not installed (make deps installs it)" % check[0])
        p = subprocess.run(check + [scripts[shell]], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        if p.returncode != 0:
            raise Fail("the %s script does not parse" % shell, p.stdout.decode().splitlines())
    bash = ('source %s; complete() { :; }; c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
            'COMPREPLY=(); _pyebpf; echo "${COMPREPLY[*]}"; }; '
            'c pyebpf d; c pyebpf -f s; c pyebpf --sub; c pyebpf completions z; '
            'c pyebpf ag; c pyebpf agent --upload-i' % scripts["bash"])
    got = subprocess.run(["bash", "-c", bash], stdout=subprocess.PIPE,
                         timeout=10).stdout.decode().splitlines()
    want = ["dump", "speedscope", "--subprocesses", "zsh", "agent", "--upload-interval"]
    if got != want:
        raise Fail("bash completes %s, want %s" % (got, want))
    fish = 'source %s; complete -C "pyebpf --nolin"; complete -C "pyebpf -f p"' % scripts["fish"]
    got = subprocess.run(["fish", "-c", fish], stdout=subprocess.PIPE,
                         timeout=10).stdout.decode().split()
    if "--nolineno" not in got or "pprof" not in got:
        raise Fail("fish completes %s, want --nolineno and pprof" % got)
    return "bash, zsh, fish parse; bash and fish complete commands, flags, formats"


# --------------------------------------------------------------------------
# dump: every thread's stack, now


DUMP_THREAD = re.compile(r'^Thread (?P<tid>\d+) \((?P<state>active|idle)(?P<gil>\+gil)?\)'
                         r'(?:: "(?P<name>.*)")?$')


class DumpThread:
    def __init__(self, m):
        self.tid = int(m.group("tid"))
        self.active = m.group("state") == "active"
        self.gil = bool(m.group("gil"))
        self.name = m.group("name")
        self.frames = []  # leaf first

    def describe(self):
        return "thread %d (%s%s) %r: %s" % (
            self.tid, "active" if self.active else "idle", "+gil" if self.gil else "",
            self.name, ";".join(f.raw for f in self.frames) or "(no frames)")


def parse_dump(run):
    """The text dump of a successful run: a list of processes, each a dict
    with pid, command, python (the "Python v..." line) and threads."""
    if run.timed_out or run.rc != 0:
        raise Fail("pyebpf dump exit status %s" % run.rc, run.describe())
    procs, thread = [], None
    lines = run.stdout.split("\n")
    if lines[-1] != "":
        raise Fail("dump output does not end with a newline", run.describe())
    i = 0
    while i < len(lines) - 1:
        line = lines[i]
        m = re.match(r"^Process (\d+): (.*)$", line)
        if m:
            if i + 2 >= len(lines) or not lines[i + 1].startswith("Python v") or lines[i + 2]:
                raise Fail("dump line %d: a Process line not followed by 'Python v...' and "
                           "an empty line" % (i + 1), run.stdout.splitlines()[:20])
            procs.append({"pid": int(m.group(1)), "command": m.group(2),
                          "python": lines[i + 1], "threads": []})
            thread = None
            i += 3
            continue
        m = DUMP_THREAD.match(line)
        if m and procs:
            thread = DumpThread(m)
            procs[-1]["threads"].append(thread)
        elif line.startswith("    ") and thread:
            try:
                thread.frames.append(Frame(line[4:]))
            except ValueError as e:
                raise Fail("dump line %d: %s" % (i + 1, e), run.stdout.splitlines()[:40])
        elif line == "" and procs and lines[i + 1].startswith("Process "):
            pass  # between processes
        else:
            raise Fail("dump line %d unexpected: %r" % (i + 1, line),
                       run.stdout.splitlines()[:40])
        i += 1
    return procs


def _one_process(procs, pid, run):
    if len(procs) != 1 or procs[0]["pid"] != pid:
        raise Fail("want one Process block for pid %d, got %s" % (
            pid, [p["pid"] for p in procs]), run.stdout.splitlines()[:40])
    return procs[0]


def t_dump_named_threads(ctx, interp):
    """A process whose threads all sleep: exactly its eleven Python threads,
    by name, main thread first, every one idle and without the GIL, each
    asleep on its marked line."""
    path = target("named_sleepers.py")
    mk = markers(path)
    with Target([interp.path, path, "60"]) as t:
        t.wait_for("ready")
        run = pyebpf(["dump", "--pid", str(t.pid)], timeout=30)
        tids = set(int(x) for x in os.listdir("/proc/%d/task" % t.pid))
    p = _one_process(parse_dump(run), t.pid, run)
    detail = [th.describe() for th in p["threads"]] + run.describe()
    if run.stderr.strip():
        raise Fail("dump wrote to stderr", run.describe())
    if not p["python"].startswith("Python v%s (" % interp.vstr):
        raise Fail("%r does not name Python %s" % (p["python"], interp.vstr), detail)
    if "named_sleepers.py" not in p["command"]:
        raise Fail("command %r lacks the script" % p["command"], detail)
    threads = p["threads"]
    want = ["MainThread"] + ["Sleeper-%d" % i for i in range(1, 11)]
    if sorted(th.name or "" for th in threads) != sorted(want):
        raise Fail("threads named %s, want exactly %s" % (
            sorted(th.name or "<none>" for th in threads), want), detail)
    if set(th.tid for th in threads) != tids or len(threads) != len(tids):
        raise Fail("thread ids %s, want the target's %s" % (
            sorted(th.tid for th in threads), sorted(tids)), detail)
    if threads[0].tid != t.pid or threads[0].name != "MainThread":
        raise Fail("the first thread is not the main thread", detail)
    if [th.tid for th in threads[1:]] != sorted(th.tid for th in threads[1:]):
        raise Fail("threads after the main one are not in tid order", detail)
    for th in threads:
        if th.active or th.gil:
            raise Fail("%s: a sleeping thread shown active or holding the GIL"
                       % th.describe(), detail)
        if not th.frames or not th.frames[-1].func.endswith("<module>" if th.tid == t.pid
                                                             else "_bootstrap"):
            raise Fail("%s: does not end at its thread's root" % th.describe(), detail)
        leaf = th.frames[0]
        fn, mark = ("main", "main-sleep") if th.tid == t.pid else ("doze", "doze-sleep")
        if (leaf.func, leaf.file) != (fn, "named_sleepers.py") or leaf.line not in mk[mark]:
            raise Fail("%s: leaf %s, want %s (named_sleepers.py:%d)" % (
                th.describe(), leaf.raw, fn, min(mk[mark])), detail)
    return "11 threads idle on their lines in %.1fs" % run.elapsed


def t_dump_busy(ctx, interp):
    """A busy program: its thread active, holding the GIL, in hot() on the
    marked line; --json says the same with the documented keys."""
    path = target("hot.py")
    mk = markers(path)
    with Target([interp.path, path, "60"]) as t:
        t.wait_for("ready")
        run = pyebpf(["dump", "--pid", str(t.pid)], timeout=30)
        jrun = pyebpf(["dump", "--pid", str(t.pid), "--json"], timeout=30)
    p = _one_process(parse_dump(run), t.pid, run)
    threads = p["threads"]
    detail = [th.describe() for th in threads] + run.describe()
    if len(threads) != 1:
        raise Fail("%d threads, want hot.py's one" % len(threads), detail)
    th = threads[0]
    if th.tid != t.pid or not th.active or not th.gil:
        raise Fail("%s: want thread %d active+gil" % (th.describe(), t.pid), detail)
    if tuple(f.func for f in th.frames) != tuple(reversed(HOT_STACK)) or \
            th.frames[0].line not in mk["hot-loop"]:
        raise Fail("%s: want hot;main;<module>, hot on a hot-loop line" % th.describe(), detail)

    if jrun.timed_out or jrun.rc != 0:
        raise Fail("dump --json exit status %s" % jrun.rc, jrun.describe())
    try:
        doc = json.loads(jrun.stdout)
    except ValueError as e:
        raise Fail("dump --json is not JSON: %s" % e, jrun.stdout.splitlines()[:10])
    if not isinstance(doc, list) or len(doc) != 1:
        raise Fail("dump --json: want an array of one thread", jrun.stdout.splitlines()[:10])
    j = doc[0]
    keys = {"pid", "tid", "thread_name", "active", "owns_gil", "frames"}
    if set(j) != keys:
        raise Fail("dump --json keys %s, want %s" % (sorted(j), sorted(keys)))
    if (j["pid"], j["tid"], j["active"], j["owns_gil"]) != (t.pid, t.pid, True, True):
        raise Fail("dump --json: %r" % {k: j[k] for k in keys if k != "frames"})
    for f in j["frames"]:
        if set(f) != {"name", "filename", "line"}:
            raise Fail("dump --json frame keys %s" % sorted(f))
    leaf = j["frames"][0] if j["frames"] else {}
    if [f["name"] for f in j["frames"]] != ["hot", "main", "<module>"] or \
            leaf["filename"] != "hot.py" or leaf["line"] not in mk["hot-loop"]:
        raise Fail("dump --json frames %r" % j["frames"])
    return "active+gil in hot (hot.py:%d); JSON agrees" % th.frames[0].line


DUMP_TREE_CODE = r'''
import multiprocessing, subprocess, sys, time

def child(ready):
    ready.set()
    time.sleep(120)

if __name__ == "__main__":
    py = subprocess.Popen([sys.executable, "-c",
                           "import sys, time\nprint('up', flush=True)\ntime.sleep(120)"],
                          stdout=subprocess.PIPE)
    py.stdout.readline()
    ready = multiprocessing.Event()
    mp = multiprocessing.Process(target=child, args=(ready,))
    mp.start()
    ready.wait(30)
    native = subprocess.Popen(["sleep", "120"])
    time.sleep(0.2)
    print("ready %d %d %d" % (py.pid, mp.pid, native.pid), flush=True)
    time.sleep(120)
'''


def t_dump_subprocesses(ctx, py):
    """--subprocesses: the target and its Python children (one from
    subprocess, one from multiprocessing) as three Process blocks, a
    non-Python child left out quietly; in JSON every thread has its pid."""
    with Target([py.path, "-c", DUMP_TREE_CODE]) as t:
        py_child, mp_child, native = (int(x) for x in t.wait_for("ready ").split()[1:])
        run = pyebpf(["dump", "--pid", str(t.pid), "--subprocesses"], timeout=30)
        jrun = pyebpf(["dump", "--pid", str(t.pid), "--subprocesses", "--json"], timeout=30)
    procs = parse_dump(run)
    pids = [p["pid"] for p in procs]
    want = [t.pid] + sorted([py_child, mp_child])
    if pids != want:
        raise Fail("Process blocks for %s, want %s (parent, then children; not the "
                   "non-Python %d)" % (pids, want, native), run.stdout.splitlines()[:40])
    if run.stderr.strip():
        raise Fail("dump wrote to stderr (non-Python children are left out quietly)",
                   run.describe())
    for p in procs:
        if not p["threads"] or not p["threads"][0].frames:
            raise Fail("process %d: no thread with a stack" % p["pid"],
                       run.stdout.splitlines()[:40])
    if jrun.rc != 0:
        raise Fail("dump --json exit status %s" % jrun.rc, jrun.describe())
    doc = json.loads(jrun.stdout)
    if sorted(set(th["pid"] for th in doc)) != sorted(want):
        raise Fail("JSON threads carry pids %s, want %s" % (
            sorted(set(th["pid"] for th in doc)), sorted(want)))
    return "processes %s" % ", ".join(str(p) for p in pids)


def t_dump_errors(ctx, py):
    """No such pid, not a Python process: one 'pyebpf: ' line, exit 1;
    no --pid: a usage error, exit 2."""
    p = subprocess.Popen(["true"])
    p.wait()
    if os.path.exists("/proc/%d" % p.pid):
        raise Fail("pid %d got reused, rerun" % p.pid)
    run = pyebpf(["dump", "--pid", str(p.pid)], timeout=30)
    _error_check(run, 1, ["no such process", str(p.pid)], "dump of gone pid %d" % p.pid, 10)
    if run.stdout:
        raise Fail("a failed dump printed to stdout", run.describe())
    with Target(["sleep", "100"]) as t:
        time.sleep(0.2)
        run = pyebpf(["dump", "--pid", str(t.pid), "--json"], timeout=30)
    _error_check(run, 1, ["not a python process", str(t.pid)], "dump of sleep", 10)
    run = pyebpf(["dump"], timeout=30)
    _error_check(run, 2, ["--pid"], "dump without --pid", 10)
    return "gone pid, sleep and no --pid refused"


# --------------------------------------------------------------------------
# top: the live table, on a terminal (tmux) and through a pipe


TOP_ROW = re.compile(r"^\s*(?:[\d.]+%|-)\s+(?:[\d.]+%|-)\s+\S+s\s+\S+s\s+(?P<label>.+?)\s*$")


def top_table(lines):
    """(column header, [row labels]) of one `top` screen or snapshot; the
    column header is None when there is none."""
    for i, line in enumerate(lines):
        if line.lstrip().startswith("%Own"):
            rows = []
            for l in lines[i + 1:]:
                m = TOP_ROW.match(l)
                if not m:
                    break
                rows.append(m.group("label"))
            return line.strip(), rows
    return None, []


def _tmux(sock, *args, check=True):
    r = subprocess.run(["tmux", "-L", sock] + list(args), capture_output=True, text=True,
                       timeout=20)
    if check and r.returncode != 0:
        raise Fail("tmux %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def _wait_screen(sock, what, pred, timeout=10):
    """Captures the pane until pred(lines) holds; returns the lines."""
    deadline = time.monotonic() + timeout
    while True:
        lines = _tmux(sock, "capture-pane", "-p", "-t", "top").split("\n")
        if pred(lines):
            return lines
        if time.monotonic() > deadline:
            raise Fail("the screen never showed %s" % what,
                       ["screen:"] + ["  |" + l for l in lines if l.strip()])
        time.sleep(0.2)


def t_top_tty(ctx, py):
    """`top` on a terminal (tmux, 160x40): hot first in the line view, L
    switches to the function view, q exits 0 and gives the terminal back."""
    if not shutil.which("tmux"):
        raise Fail("tmux not found (tools/install-deps.sh installs it)")
    sock = "pyebpf-it-%d" % os.getpid()
    rc_file, before, after = ctx.path("rc"), ctx.path("stty.before"), ctx.path("stty.after")
    with Target([py.path, target("hot.py"), "60"]) as t:
        t.wait_for("ready")
        script = "stty -a > %s; %s top --pid %d; echo $? > %s; stty -a > %s; sleep 60" % (
            before, _quote(PYEBPF), t.pid, rc_file, after)
        _tmux(sock, "new-session", "-d", "-s", "top", "-x", "160", "-y", "40", script)
        try:
            def hot_first(want_header):
                def pred(lines):
                    header, rows = top_table(lines)
                    return header is not None and header.endswith(want_header) and \
                        rows and rows[0].startswith("hot (")
                return pred

            lines = _wait_screen(sock, "hot first in the line view",
                                 hot_first("Function (file:line)"))
            header, rows = top_table(lines)
            if not re.match(r"^hot \(.*hot\.py:\d+\)$", rows[0]):
                raise Fail("first row %r is not 'hot (hot.py:LINE)'" % rows[0], lines)
            text = "\n".join(lines)
            for needle in ("pyebpf top: pid %d" % t.pid, "Samples: ", "GIL: ", "Active: ",
                           "Threads: ", "q: quit"):
                if needle not in text:
                    raise Fail("the screen does not show %r" % needle, lines)
            if len(lines) < 40 or not lines[39].startswith("1-4"):
                raise Fail("the key help is not on the last of 40 lines", lines)

            _tmux(sock, "send-keys", "-t", "top", "L")
            lines = _wait_screen(sock, "hot first in the function view after L",
                                 hot_first("Function (file)"))
            header, rows = top_table(lines)
            if not re.match(r"^hot \(.*hot\.py\)$", rows[0]) or \
                    len([r for r in rows if r.startswith("hot (")]) != 1:
                raise Fail("function view: want one 'hot (hot.py)' row first, got %r" % rows,
                           lines)

            _tmux(sock, "send-keys", "-t", "top", "q")
            deadline = time.monotonic() + 10
            while not (os.path.exists(after) and os.path.getsize(after)):
                if time.monotonic() > deadline:
                    raise Fail("pyebpf top did not exit 10 s after q",
                               _tmux(sock, "capture-pane", "-p", "-t", "top").split("\n"))
                time.sleep(0.2)
            with open(rc_file) as f:
                rc = f.read().strip()
            if rc != "0":
                raise Fail("pyebpf top exited with status %s after q" % rc)
            with open(before) as f1, open(after) as f2:
                if f1.read() != f2.read():
                    raise Fail("the terminal's mode after top differs from before (stty -a)")
            lines = _tmux(sock, "capture-pane", "-p", "-t", "top").split("\n")
            if any("%Own" in l for l in lines):
                raise Fail("the table is still on the screen after q: alternate screen "
                           "not left", lines)
        finally:
            _tmux(sock, "kill-server", check=False)
    return "hot first, L to functions, q: status 0, terminal restored"


def _top_snapshots(run, pid=None):
    """The snapshots of a `top` run through a pipe: blank-line separated,
    each with hot as its first row; no escape codes."""
    if "\x1b" in run.stdout:
        raise Fail("escape codes in top's output to a pipe", run.describe())
    snaps = [s for s in run.stdout.split("\n\n") if s.strip()]
    for i, snap in enumerate(snaps):
        lines = snap.split("\n")
        header, rows = top_table(lines)
        if not lines[0].startswith("pyebpf top: pid %s" % (pid or "")):
            raise Fail("snapshot %d does not start with 'pyebpf top: pid'" % (i + 1), lines)
        if header is None or not rows or not rows[0].startswith("hot ("):
            raise Fail("snapshot %d: the first row is not hot" % (i + 1), lines + run.describe())
    return snaps


def t_top_no_tty(ctx, py):
    """`top` with stdout to a pipe: a snapshot a second until SIGINT (sent
    1.5 s after the first snapshot, so loading the BPF programs on a busy
    machine does not count)."""
    with Target([py.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        run = Run([PYEBPF, "top", "--pid", str(t.pid)])
        first = b""
        try:
            fd, deadline = run.proc.stdout.fileno(), time.monotonic() + 20
            while b"\n\n" not in first and time.monotonic() < deadline:
                if select.select([fd], [], [], 0.2)[0]:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    first += chunk
            if b"\n\n" not in first:
                run.kill()
                run.wait(5)
                raise Fail("no snapshot in 20 s",
                           run.describe() + [first.decode(errors="replace")])
            time.sleep(1.5)
            if run.proc.poll() is not None:
                run.wait(5)
                raise Fail("pyebpf top exited on its own before SIGINT", run.describe())
            stopped = time.monotonic()
            run.proc.send_signal(signal.SIGINT)
            run.wait(15)
        finally:
            run.kill()
    run.stdout = first.decode(errors="replace") + run.stdout
    if run.rc != 0:
        raise Fail("pyebpf top exited with status %s after SIGINT" % run.rc, run.describe())
    if run.start + run.elapsed - stopped > 5:
        raise Fail("pyebpf top took %.1fs to stop after SIGINT" % (
            run.start + run.elapsed - stopped), run.describe())
    snaps = _top_snapshots(run, t.pid)
    if len(snaps) < 2:
        raise Fail("%d snapshots in 1.5 s after the first, want 2" % len(snaps),
                   run.describe() + [run.stdout])
    return "%d snapshots, hot first in each, no escape codes" % len(snaps)


def t_top_exec(ctx, py):
    """`top -- python hot.py 2` through a pipe ends by itself, with a last
    snapshot saying the program exited."""
    run = pyebpf(["top", "--", py.path, target("hot.py"), "2.5"], timeout=30)
    if run.timed_out or run.rc != 0:
        raise Fail("pyebpf top -- PROGRAM: status %s" % run.rc, run.describe())
    snaps = [s for s in run.stdout.split("\n\n") if s.strip()]
    # the program prints "ready" to the same stdout
    snaps = [s[len("ready\n"):] if s.startswith("ready\n") else s for s in snaps]
    run.stdout = "\n\n".join(snaps)
    snaps = _top_snapshots(run)
    if len(snaps) < 2 or "the program exited with status 0" not in snaps[-1]:
        raise Fail("want 2 snapshots or more, the last saying the program exited with "
                   "status 0", run.describe() + [run.stdout])
    return "%d snapshots, ended with the program" % len(snaps)


# --------------------------------------------------------------------------
# processes: --subprocesses, --all, containers


PROCESS_FRAME = re.compile(
    r'^process (?P<pid>\d+)(?: \(ns pid (?P<ns>\d+)\))?:"(?P<cmd>.*)"$')


class ProcFrame(WideFrame):
    """A WideFrame that may also be a process root
    `process PID[ (ns pid N)]:"COMMAND"` (kind "process")."""
    __slots__ = ("pid", "ns_pid", "command")

    def __init__(self, raw):
        self.pid = self.ns_pid = self.command = None
        m = PROCESS_FRAME.match(raw)
        if m:
            self.raw = self.func = raw
            self.file = self.line = None
            self.synthetic = True
            self.off_class = self.syscall = self.tid = self.thread_name = None
            self.kind = "process"
            self.pid = int(m.group("pid"))
            self.ns_pid = int(m.group("ns")) if m.group("ns") else self.pid
            self.command = m.group("cmd")
        else:
            WideFrame.__init__(self, raw)


def process_profile(run, out):
    """Parses a --subprocesses/--all profile: {pid: [(python frames root
    first, count)]}, and {pid: command}; every stack must start with its
    process root, which appears nowhere else."""
    if run.timed_out:
        raise Fail("pyebpf did not exit in time", run.describe())
    if run.rc != 0:
        raise Fail("pyebpf exited with status %s" % run.rc, run.describe())
    prof = parse_folded(out, ProcFrame)
    by_pid, commands = {}, {}
    for fr, c in prof.stacks:
        if not fr or fr[0].kind != "process":
            raise Fail("stack without a process root: %s" % _compress(fr)[:300],
                       prof.top() + run.describe())
        if any(f.kind == "process" for f in fr[1:]):
            raise Fail("process frame below the root: %s" % _compress(fr)[:300])
        by_pid.setdefault(fr[0].pid, []).append((fr[1:], c))
        commands[fr[0].pid] = fr[0]
    return prof, by_pid, commands


def _leaf_on(stacks, func, path, lines):
    """Samples whose leaf Python frame is `func` in `path` on one of `lines`."""
    return sum(c for fr, c in stacks
               if fr and fr[-1].func == func and fr[-1].file == path and fr[-1].line in lines)


def summary_counts(run):
    """The summary's 'processes: N profiled, N still running; kernel
    entries: N registered, N followed' line, as a dict."""
    m = re.search(r"processes: (\d+) profiled, (\d+) still running; kernel entries: "
                  r"(-?\d+) registered, (-?\d+) followed", run.stderr)
    if not m:
        raise Fail("no 'processes: ... kernel entries: ...' line in the summary",
                   run.describe())
    return dict(zip(("profiled", "live", "registered", "followed"),
                    (int(x) for x in m.groups())))


def t_subprocesses_multiprocessing(ctx, interp):
    """-- python mp_workers.py with --subprocesses: the parent and its two
    multiprocessing workers (forked after the start) are three processes,
    each under its own process root with its own function on its lines."""
    out = ctx.path("mp.folded")
    path = target("mp_workers.py")
    mk = markers(path)
    run = pyebpf(["record", "--subprocesses", "-f", "raw", "--full-filenames", "-o", out,
                  "--", interp.path, path, "3"], timeout=60)
    prof, by_pid, commands = process_profile(run, out)
    ready = re.search(r"^ready (\d+) (\d+)$", run.stdout, re.M)
    if not ready:
        raise Fail("the target never printed its workers' pids", run.describe())
    workers = [int(x) for x in ready.groups()]
    parents = [p for p, st in by_pid.items()
               if _leaf_on(st, "parent_spin", path, mk["parent-loop"]) > 0]
    if len(parents) != 1 or parents[0] in workers:
        raise Fail("parent_spin in processes %s, want exactly one, not a worker %s" % (
            parents, workers), prof.top(8) + run.describe())
    want = sorted(parents + workers)
    if sorted(by_pid) != want:
        raise Fail("processes %s in the profile, want %s (parent and workers)" % (
            sorted(by_pid), want), prof.top(8) + run.describe())
    counts = []
    for pid in want:
        func, mark = ("parent_spin", "parent-loop") if pid == parents[0] else \
            ("worker_spin", "worker-loop")
        n = _leaf_on(by_pid[pid], func, path, mk[mark])
        if n < 20:
            raise Fail("process %d: only %d samples in %s on its lines" % (pid, n, func),
                       prof.top(8) + run.describe())
        if "mp_workers.py" not in commands[pid].command:
            raise Fail("process %d's root names %r, not its command line" % (
                pid, commands[pid].command))
        counts.append(n)
    c = summary_counts(run)
    if c["profiled"] != 3 or c["live"] or c["registered"] or c["followed"]:
        raise Fail("summary counts %s, want 3 profiled and nothing left" % c, run.describe())
    return "pids %s: %s samples in their functions" % (want, "/".join(map(str, counts)))


def t_subprocesses_attach(ctx, py):
    """--pid P --subprocesses on a running parent: its workers, started
    before pyebpf, are found too."""
    out = ctx.path("mp.folded")
    path = target("mp_workers.py")
    mk = markers(path)
    with Target([py.path, path, "30"]) as t:
        workers = [int(x) for x in t.wait_for("ready ").split()[1:]]
        run = pyebpf(["record", "-p", str(t.pid), "--subprocesses", "-d", "2", "-f", "raw",
                      "--full-filenames", "-o", out], timeout=40)
    prof, by_pid, _ = process_profile(run, out)
    want = sorted([t.pid] + workers)
    if sorted(by_pid) != want:
        raise Fail("processes %s in the profile, want %s" % (sorted(by_pid), want),
                   prof.top(8) + run.describe())
    for pid in workers:
        if _leaf_on(by_pid[pid], "worker_spin", path, mk["worker-loop"]) < 10:
            raise Fail("worker %d: fewer than 10 samples in worker_spin" % pid,
                       prof.top(8) + run.describe())
    return "parent and workers %s" % want


def t_subprocesses_late_child(ctx, interp):
    """A shell that sleeps 0.5 s, then starts Python as its child, or
    exec()s it: found, with hot's stack on its lines."""
    results = []
    for how, script in (("child", 'sleep 0.5; "$0" "$1" 1.5; true'),
                        ("exec", 'sleep 0.5; exec "$0" "$1" 1.5')):
        out = ctx.path("late-%s.folded" % how)
        run = pyebpf(["record", "--subprocesses", "-f", "raw", "--full-filenames", "-o", out,
                      "--", "sh", "-c", script, interp.path, target("hot.py")], timeout=60)
        prof, by_pid, commands = process_profile(run, out)
        if len(by_pid) != 1:
            raise Fail("%s: %d processes in the profile, want the Python one" % (
                how, len(by_pid)), prof.top() + run.describe())
        pid, stacks = next(iter(by_pid.items()))
        if "hot.py" not in commands[pid].command:
            raise Fail("%s: the process root names %r" % (how, commands[pid].command))
        sub = Profile(stacks, out)
        n = sub.count(lambda fr: Profile.names(fr) == HOT_STACK)
        if n < 30:
            raise Fail("%s: only %d <module>;main;hot samples" % (how, n),
                       prof.top() + run.describe())
        _check_hot(Profile([(fr, c) for fr, c in stacks if Profile.names(fr) == HOT_STACK],
                           out), run)
        results.append("%s %d samples" % (how, n))
    return ", ".join(results)


def t_all_short_lived(ctx, py):
    """--all --comm NAME while 50 short-lived processes of every installed
    version (symlinks named NAME) start and exit: each shows its own stack
    on its lines, and the kernel's maps are empty again afterwards."""
    interps = [i for i in discover_interpreters() if i.supported]
    name = "pyeshort%d" % (os.getpid() % 10000)
    links = []
    for i, it in enumerate(interps):
        d = ctx.path("v%d" % i)
        os.mkdir(d)
        os.symlink(it.path, os.path.join(d, name))
        links.append((it, os.path.join(d, name)))
    path = target("short_lived.py")
    mk = markers(path)
    out = ctx.path("all.folded")
    run = Run([PYEBPF, "record", "--all", "--comm", name, "-f", "raw", "--full-filenames",
               "-o", out])
    procs = []
    try:
        deadline = time.monotonic() + 20
        while _bpf_links(run.proc.pid) < 3:
            if run.proc.poll() is not None or time.monotonic() > deadline:
                run.wait(5)
                raise Fail("pyebpf --all did not start", run.describe())
            time.sleep(0.05)
        running = []
        for n in range(50):
            it, exe = links[n % len(links)]
            while len(running) >= 4:
                running = [p for p in running if p.poll() is None]
                time.sleep(0.01)
            p = subprocess.Popen([exe, path, "0.3"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append((p, it))
            running.append(p)
        for p, _ in procs:
            p.wait(60)
        time.sleep(0.5)
        run.proc.send_signal(signal.SIGINT)
        run.wait(30)
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        run.kill()
    prof, by_pid, _ = process_profile(run, out)
    missing, weak = [], []
    for p, it in procs:
        if p.returncode != 0:
            raise Fail("%s short_lived.py exited with %s" % (it.name, p.returncode),
                       p.stderr.read().decode(errors="replace").splitlines()[-5:])
        stacks = by_pid.get(p.pid)
        if not stacks:
            missing.append("%d (%s)" % (p.pid, it.name))
            continue
        good = sum(c for fr, c in stacks
                   if Profile.names(fr) == ("<module>", "short_lived_work")
                   and fr[-1].line in mk["short-loop"] and fr[0].line in mk["short-call"]
                   and fr[-1].file == path)
        if good < 5:
            weak.append("%d (%s): %d" % (p.pid, it.name, good))
    for p, _ in procs:
        p.stderr.close()
    if missing:
        raise Fail("%d of 50 processes not in the profile: %s" % (len(missing), ", ".join(
            missing[:10])), prof.top(8) + run.describe())
    if weak:
        raise Fail("processes with fewer than 5 samples of <module>;short_lived_work on its "
                   "lines: %s" % ", ".join(weak[:10]), prof.top(8) + run.describe())
    extra = sorted(set(by_pid) - set(p.pid for p, _ in procs))
    if extra:
        raise Fail("processes %s in the profile that --comm %s excludes" % (extra, name),
                   run.describe())
    c = summary_counts(run)
    if c["profiled"] != 50 or c["live"] or c["registered"] or c["followed"]:
        raise Fail("summary counts %s: want 50 profiled, none left in the kernel's maps" % c,
                   run.describe())
    pick = re.search(r"profiled ([\d.]+) ms after their exec on average \(at most ([\d.]+) ms",
                     run.stderr)
    return "50 processes of %d versions, each with its stack; maps empty; picked up in %s" % (
        len(set(it.version[:2] for it in interps)),
        "%s ms (max %s)" % pick.groups() if pick else "?")


def _bpf_links(pid):
    """How many BPF links process `pid` holds (its programs are attached)."""
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:bpf_link":
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def t_container_pid(ctx, py):
    """Python in new pid and mount namespaces (unshare --pid --mount --fork
    --mount-proc): profiled by its host pid; the summary and the process
    root show its pid in its namespace (1) too."""
    if not shutil.which("unshare"):
        raise Skip("no unshare(1)")
    out = ctx.path("hot.folded")
    out2 = ctx.path("hot2.folded")
    with Target(["unshare", "--pid", "--mount", "--fork", "--mount-proc",
                 py.path, target("hot.py"), "30"]) as t:
        try:
            t.wait_for("ready", timeout=20)
        except Fail as e:
            if t.proc.poll() is not None:
                raise Skip("unshare --pid --mount failed: %s" % "; ".join(e.details))
            raise
        kids = _children(t.pid)
        if len(kids) != 1:
            raise Fail("unshare %d has children %s, want the Python one" % (t.pid, kids))
        host = kids[0]
        run = pyebpf(attach_args(host, out, 2), timeout=40)
        run2 = pyebpf(["record", "-p", str(t.pid), "--subprocesses", "-d", "2", "-f", "raw",
                       "--full-filenames", "-o", out2], timeout=40)
    prof = profile_ok(run, out)
    _check_hot(prof, run)
    if not re.search(r"profiled pid %d \(ns pid 1; Python" % host, run.stderr):
        raise Fail("the summary does not say 'profiled pid %d (ns pid 1; ...'" % host,
                   run.describe())
    prof2, by_pid, commands = process_profile(run2, out2)
    if sorted(by_pid) != [host] or commands[host].ns_pid != 1:
        raise Fail("process roots %s, want pid %d with ns pid 1" % (
            [commands[p].raw for p in by_pid], host), prof2.top() + run2.describe())
    return "host pid %d (ns pid 1): %d samples, root %s" % (
        host, prof.total, commands[host].raw[:40])


# --------------------------------------------------------------------------
# run-control and error tests (once)


def _error_check(run, want_rc, needles, what, max_secs=None, one_line=True):
    """Checks a failing run: exit status, one 'pyebpf: ' line on stderr
    containing each needle (case-insensitive; a tuple means any of)."""
    if run.timed_out:
        raise Fail("pyebpf did not exit in time (%s)" % what, run.describe())
    if (want_rc is None and run.rc == 0) or (want_rc is not None and run.rc != want_rc):
        raise Fail("exit status %s, want %s (%s)" % (
            run.rc, "non-zero" if want_rc is None else want_rc, what), run.describe())
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    msgs = [l for l in lines if l.startswith("pyebpf: ")]
    if not msgs:
        raise Fail("no 'pyebpf: ' message on stderr (%s)" % what, run.describe())
    if one_line and len(lines) != 1:
        raise Fail("stderr has %d lines, want one 'pyebpf: ' line (%s)" % (len(lines), what),
                   run.describe())
    for needle in needles:
        alts = needle if isinstance(needle, tuple) else (needle,)
        if not any(a.lower() in m.lower() for a in alts for m in msgs):
            raise Fail("message does not mention %s (%s)" % (
                " or ".join(repr(a) for a in alts), what), run.describe())
    if max_secs is not None and run.elapsed > max_secs:
        raise Fail("took %.1fs to fail, want < %ds (%s)" % (run.elapsed, max_secs, what),
                   run.describe())
    return msgs[0]


def t_no_such_pid(ctx, py):
    p = subprocess.Popen(["true"])
    p.wait()
    pid = p.pid
    if os.path.exists("/proc/%d" % pid):
        raise Fail("pid %d got reused, rerun" % pid)
    run = pyebpf(attach_args(pid, ctx.path("x.folded"), 2), timeout=30)
    return _error_check(run, 1, ["no such process", str(pid)], "nonexistent pid %d" % pid, 10)


def t_not_python(ctx, py):
    with Target(["sleep", "100"]) as t:
        time.sleep(0.2)
        run = pyebpf(attach_args(t.pid, ctx.path("x.folded"), 2), timeout=30)
    return _error_check(run, 1, ["not a python process", str(t.pid)], "sleep 100", 10)


SPIN_CODE = ("import sys, time\n"
                    "sys.stdout.write('ready\\n')\n"
                    "sys.stdout.flush()\n"
                    "end = time.time() + %d\n"
                    "while time.time() < end:\n"
                    "    pass\n")


def t_unsupported_attach(ctx, interp):
    ver = "%d.%d" % interp.version[:2]
    with Target([interp.path, "-c", SPIN_CODE % 30]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, ctx.path("x.folded"), 2), timeout=30)
    return _error_check(run, 1, ["unsupported", ver], "python %s" % interp.vstr, 10)


def t_unsupported_exec(ctx, interp):
    ver = "%d.%d" % interp.version[:2]
    run = pyebpf(["record", "-d", "5", "-f", "raw", "-o", ctx.path("x.folded"), "--",
                  interp.path, "-c", SPIN_CODE % 8], timeout=30)
    # the program's own "ready" goes to the same stdout; only stderr is checked
    return _error_check(run, 1, ["unsupported", ver], "-- python %s" % interp.vstr, 15)


def t_not_root(ctx, py):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Fail("setpriv not found (util-linux)")
    # everything reachable by nobody: the binary, a python, an output dir
    os.chmod(ctx.dir, 0o777)
    binary = PYEBPF
    if not _world_reachable(binary):
        binary = ctx.path("pyebpf")
        shutil.copy2(PYEBPF, binary)
    python = py.path if _world_reachable(py.path) else "/usr/bin/python3"
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    with Target([python, "-c", SPIN_CODE % 30], prefix=drop) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, ctx.path("x.folded"), 2), timeout=30,
                     prefix=drop, binary=binary)
    return _error_check(run, 1, [("root", "CAP_BPF", "CAP_PERFMON")], "as user nobody", 10)


def _world_reachable(path):
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(2, len(parts)):
        d = "/".join(parts[:i]) or "/"
        if not os.stat(d).st_mode & 0o001:
            return False
    return bool(os.stat(path).st_mode & 0o001)


def t_no_btf(ctx, py):
    with Target([py.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        args = attach_args(t.pid, ctx.path("x.folded"), 2)
        if os.path.exists("/sys/kernel/btf/vmlinux"):
            probe = subprocess.run(
                ["unshare", "--mount", "--", "sh", "-c",
                 "mount -t tmpfs none /sys/kernel/btf && test ! -e /sys/kernel/btf/vmlinux"],
                capture_output=True, text=True, timeout=30)
            if probe.returncode != 0:
                raise Skip("cannot hide /sys/kernel/btf in a mount namespace: %s" % (
                    probe.stderr.strip() or "status %d" % probe.returncode))
            prefix = ["unshare", "--mount", "--", "sh", "-c",
                      'mount -t tmpfs none /sys/kernel/btf && exec "$0" "$@"']
        else:
            prefix = []
        run = pyebpf(args, timeout=40, prefix=prefix)
    return _error_check(run, 1, ["BTF"], "/sys/kernel/btf hidden", 20)


def t_bad_output(ctx, py):
    out = "/nonexistent/dir/x.folded"
    with Target([py.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, 10), timeout=40)
    return _error_check(run, None, ["/nonexistent/dir"], "-o %s -d 10" % out, 5)


def t_usage(ctx, py):
    for args in (["record", "-f", "raw", "-o", ctx.path("x.folded")],
                 ["record", "--no-such-flag", "-p", "1", "-o", ctx.path("x.folded")]):
        run = pyebpf(args, timeout=20)
        _error_check(run, 2, [], "pyebpf " + " ".join(args), 10, one_line=False)
    return "no target and unknown flag: both exit 2"


def t_idle_off_cpu_usage(ctx, py):
    """--idle and --off-cpu together: a usage error, before anything starts."""
    out = ctx.path("x.folded")
    with Target([py.path, target("blocked.py"), "60"]) as t:
        t.wait_for("ready")
        for args in (["record", "-p", str(t.pid), "-d", "2", "--idle", "--off-cpu", "-o", out],
                     ["record", "--off-cpu", "-d", "2", "--idle", "-o", out, "--",
                      py.path, target("blocked.py"), "5"]):
            run = pyebpf(args, timeout=20)
            _error_check(run, 2, ["--idle", "--off-cpu"], "pyebpf " + " ".join(args), 5)
            if os.path.exists(out):
                raise Fail("a usage error left an output file %s" % out, run.describe())
    return "exit 2, one line naming both flags, attached or with --"


def t_sigint(ctx, py):
    out = ctx.path("hot.folded")
    with Target([py.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        run = Run([PYEBPF, "record", "-p", str(t.pid), "-f", "raw", "-o", out])
        try:
            time.sleep(2.5)
            if run.proc.poll() is not None:
                run.wait(5)
                raise Fail("pyebpf exited on its own before SIGINT", run.describe())
            run.proc.send_signal(signal.SIGINT)
            run.wait(15)
        finally:
            run.kill()
        if t.proc.poll() is not None:
            raise Fail("the target died with pyebpf (status %s)" % t.proc.poll(), run.describe())
    if run.elapsed > 2.5 + 10:
        raise Fail("pyebpf took %.1fs to stop after SIGINT" % (run.elapsed - 2.5), run.describe())
    prof = profile_ok(run, out)
    n = prof.count(lambda fr: Profile.names(fr) == HOT_STACK)
    if n < 50:
        raise Fail("only %d <module>;main;hot samples after ~2s" % n, prof.top() + run.describe())
    return "stopped %.1fs after SIGINT, %d samples" % (run.elapsed - 2.5, prof.total)


def t_target_exit(ctx, py):
    out = ctx.path("hot.folded")
    with Target([py.path, target("hot.py"), "3"]) as t:
        t.wait_for("ready")
        run = pyebpf(["record", "-p", str(t.pid), "-f", "raw", "-o", out], timeout=40)
    if run.timed_out:
        raise Fail("pyebpf did not end after the target exited", run.describe())
    if run.elapsed > 3 + 10:
        raise Fail("pyebpf ended %.1fs after start for a 3s target" % run.elapsed, run.describe())
    prof = profile_ok(run, out)
    n = prof.count(lambda fr: Profile.names(fr) == HOT_STACK)
    if n < 100:
        raise Fail("only %d <module>;main;hot samples in ~3s" % n, prof.top() + run.describe())
    return "ended %.1fs after start, %d samples" % (run.elapsed, prof.total)


def t_summary(ctx, py):
    out = ctx.path("hot.folded")
    with Target([py.path, target("hot.py"), "30"]) as t:
        t.wait_for("ready")
        run = pyebpf(attach_args(t.pid, out, 2), timeout=40)
    profile_ok(run, out)
    err = run.stderr.lower()
    for word in ("samples", "lost", "error", out.lower(), "hot"):
        if word not in err:
            raise Fail("summary on stderr does not mention %r" % word, run.describe())
    return "mentions samples, errors, lost, the output path and hot"


# --------------------------------------------------------------------------
# driver


PER_INTERP = [
    ("hot-attach", t_hot_attach, True),
    ("hot-exec", t_hot_exec, True),
    ("split", t_split, True),
    ("late-thread", t_late_thread, True),
    ("recursion-100", t_recursion_100, True),
    ("recursion-300", t_recursion_300, True),
    ("transient-code", t_transient_code, True),
    ("init-calls", t_init_calls, True),
    ("half-sleep", t_half_sleep, True),
    ("off-cpu-only", t_off_cpu_only, True),
    ("pipe-read", t_pipe_read, True),
    ("kernel-stacks", t_kernel_stacks, True),
    ("gil-contention", t_gil_contention, True),
    ("lock-wait", t_lock_wait, True),
    ("gil-flag", t_gil_flag, True),
    ("blocked-since-start", t_blocked_since_start, True),
    ("formats", t_formats, True),
    ("thread-names", t_thread_names, True),
    ("names-and-lines", t_names_and_lines, True),
    ("subprocesses-multiprocessing", t_subprocesses_multiprocessing, True),
    ("subprocesses-late-child", t_subprocesses_late_child, True),
    ("dump-named-threads", t_dump_named_threads, True),
    ("dump-busy", t_dump_busy, True),
]
PER_UNSUPPORTED = [
    ("unsupported-attach", t_unsupported_attach, False),
    ("unsupported-exec", t_unsupported_exec, False),
]
ONCE = [  # (name, function, needs a working kernel); run with the default interpreter
    ("no-such-pid", t_no_such_pid, False),
    ("not-python", t_not_python, False),
    ("not-root", t_not_root, False),
    ("no-btf", t_no_btf, False),
    ("bad-output", t_bad_output, False),
    ("usage", t_usage, False),
    ("idle-off-cpu-usage", t_idle_off_cpu_usage, False),
    ("pid-flag", t_pid_flag, True),
    ("sigint", t_sigint, True),
    ("target-exit", t_target_exit, True),
    ("summary", t_summary, True),
    ("subprocesses-attach", t_subprocesses_attach, True),
    ("all-short-lived", t_all_short_lived, True),
    ("container-pid", t_container_pid, True),
    ("dump-subprocesses", t_dump_subprocesses, True),
    ("dump-errors", t_dump_errors, False),
    ("top-tty", t_top_tty, True),
    ("top-no-tty", t_top_no_tty, True),
    ("top-exec", t_top_exec, True),
    ("completions", t_completions, False),
    ("default-output-name", t_default_output_name, True),
    ("browser-flamegraph", t_browser_flamegraph, True),
    ("browser-speedscope", t_browser_speedscope, True),
    ("browser-chrometrace", t_browser_chrometrace, True),
]
# `pyebpf agent` (agent_cases.py): its cases use this module's helpers as "run"
sys.modules.setdefault("run", sys.modules[__name__])
import agent_cases  # noqa: E402
ONCE += agent_cases.AGENT_CASES


def build_cases(interps):
    supported = [i for i in interps if i.supported]
    unsupported = [i for i in interps if not i.supported]
    cases = []
    if supported:
        # prefer the distribution's python for the once-only tests: it is the
        # one a user most likely profiles
        default = next((i for i in supported if i.name.startswith("debian")), supported[-1])
        for name, fn, needs in ONCE:
            cases.append(("%s[%s]" % (name, default.name), fn, default, needs))
    for interp in supported:
        for name, fn, needs in PER_INTERP:
            cases.append(("%s[%s]" % (name, interp.name), fn, interp, needs))
    for interp in unsupported:
        for name, fn, needs in PER_UNSUPPORTED:
            cases.append(("%s[%s]" % (name, interp.name), fn, interp, needs))
    return cases


def run_case(case, missing):
    name, fn, interp, needs = case
    if needs and missing:
        return ("SKIP", name, missing, [])
    ctx = Ctx(name)
    failed = True
    try:
        msg = fn(ctx, interp)
        failed = False
        return ("ok", name, msg or "", [])
    except Skip as e:
        failed = False
        return ("SKIP", name, str(e), [])
    except Fail as e:
        return ("FAIL", name, e.reason, e.details + [
            "load average %.2f %.2f %.2f on %d CPUs" % (os.getloadavg() + (os.cpu_count(),)),
            "kept " + ctx.dir])
    except Exception as e:  # a harness bug must not pass
        import traceback
        return ("FAIL", name, "harness error: %r" % e, traceback.format_exc().splitlines())
    finally:
        ctx.cleanup(failed)


def report(result):
    status, name, msg, details = result
    with _print_lock:
        print("%-4s %s%s" % (status, name, (": " + msg) if msg else ""), flush=True)
        for d in details:
            print("       " + d, flush=True)


def main():
    global VERBOSE, KEEP
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTRING",
                    help="run only tests whose name contains SUBSTRING (repeatable, any matches)")
    ap.add_argument("-j", type=int, default=1, metavar="N",
                    help="run N tests at once (default 1; CPU-share and sample-count checks "
                         "assume a quiet machine)")
    ap.add_argument("-l", "--list", action="store_true", help="list test names and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every command run")
    ap.add_argument("--keep", action="store_true",
                    help="keep every test's temp dir (failed tests always keep theirs)")
    args = ap.parse_args()
    VERBOSE = args.verbose
    KEEP = args.keep

    interps = discover_interpreters()
    cases = build_cases(interps)
    if args.k:
        cases = [c for c in cases if any(k in c[0] for k in args.k)]
    if args.list:
        for c in cases:
            print(c[0])
        return 0
    if os.geteuid() != 0:
        print("run.py: the integration tests run pyebpf as root; run as root", file=sys.stderr)
        return 2
    if not os.access(PYEBPF, os.X_OK):
        print("run.py: no pyebpf binary at %s (run make, or set PYEBPF)" % PYEBPF, file=sys.stderr)
        return 2
    if not any(i.supported for i in interps):
        print("run.py: no supported CPython (>= 3.6) found", file=sys.stderr)
        return 2
    if not cases:
        print("run.py: no test matches %s" % " ".join(args.k), file=sys.stderr)
        return 2
    vlog("pyebpf: " + PYEBPF)
    for i in interps:
        vlog("interpreter: %r" % i)
    missing = kernel_missing_feature()

    results = []
    if args.j <= 1:
        for c in cases:
            r = run_case(c, missing)
            report(r)
            results.append(r)
    else:
        with concurrent.futures.ThreadPoolExecutor(args.j) as ex:
            futs = [ex.submit(run_case, c, missing) for c in cases]
            for f in concurrent.futures.as_completed(futs):
                report(f.result())
                results.append(f.result())

    passed = sum(1 for r in results if r[0] == "ok")
    failed = sum(1 for r in results if r[0] == "FAIL")
    skipped = sum(1 for r in results if r[0] == "SKIP")
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""), flush=True)
    if failed:
        return 1
    if skipped and not passed:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
