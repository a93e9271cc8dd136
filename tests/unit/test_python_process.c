// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/python_process.c: inspecting live interpreters of
 * every installed version (each reports its own version, &PyCode_Type and
 * interpreter list head), the errors for processes that are not supported
 * Pythons, the kernel-side configuration derived from a layout, and the
 * GIL found in live processes: who holds it, and where threads wait for it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/ptrace.h>

#include <cmocka.h>

#include "launcher.h"
#include "live_python.h"
#include "proc_maps.h"
#include "python_process.h"
#include "remote_memory.h"

/*
 * Prints "<major>.<minor>.<micro> <id(PyCode_Type)> <PyInterpreterState_Head()>"
 * (the last 0 without ctypes), then sleeps. Valid Python 2 and 3.
 */
static const char child_script[] =
	"import sys\n"
	"try:\n"
	"    import ctypes\n"
	"    f = ctypes.pythonapi.PyInterpreterState_Head\n"
	"    f.restype = ctypes.c_void_p\n"
	"    head = f() or 0\n"
	"except Exception:\n"
	"    head = 0\n"
	"sys.stdout.write('%d.%d.%d %d %d\\n' % (sys.version_info[:3] +\n"
	"                 (id(type((lambda: 0).__code__)), head)))\n"
	"sys.stdout.flush()\n"
	"import time\n"
	"time.sleep(120)\n";

struct child_report {
	char version[32];
	uint64_t code_type;
	uint64_t interp_head; /* 0: unknown */
};

static void start_python(struct live_python *lp, const char *python, struct child_report *r)
{
	char *argv[] = {(char *)python, "-c", (char *)child_script, NULL};
	unsigned long long code_type, head;
	char line[512];

	assert_int_equal(live_python_start(lp, argv), 0);
	if (!live_python_line(lp, line, sizeof(line)))
		fail_msg("%s printed nothing", python);
	assert_int_equal(sscanf(line, "%31s %llu %llu", r->version, &code_type, &head), 3);
	r->code_type = code_type;
	r->interp_head = head;
}

/* A reason is one line, without the "pyebpf: " the caller adds. */
static void check_why(const char *why)
{
	assert_true(why[0] != '\0');
	assert_null(strchr(why, '\n'));
	assert_int_not_equal(strncmp(why, "pyebpf", 6), 0);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void check_bpf_config(const struct python_process *pp);

/*
 * Inspect a live `python` of version 3.<minor>. Its interpreter is in a
 * libpython3.<minor> shared object (pyenv's), or for LIVE_PYTHON_DEBIAN
 * the executable itself.
 */
static void check_interpreter(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	const char *binary = strcmp(python, LIVE_PYTHON_DEBIAN) ? NULL : LIVE_PYTHON_DEBIAN;
	struct python_process pp;
	struct child_report r;
	char why[512] = "", real[PATH_MAX], lib[32];
	uint64_t head = 0;
	int err;

	start_python(lp, python, &r);
	memset(&pp, 0xa5, sizeof(pp));
	err = python_process__inspect(lp->pid, &pp, why, sizeof(why));
	if (err)
		fail_msg("inspect %s (pid %d): %d: %s", python, (int)lp->pid, err, why);

	assert_int_equal(pp.pid, lp->pid);
	/* the version the interpreter reports about itself */
	assert_string_equal(pp.version, r.version);
	assert_int_equal(pp.layout.major, 3);
	assert_int_equal(pp.layout.minor, minor);

	assert_int_not_equal(pp.interp_head_addr, 0);
	if (minor >= 7) {
		assert_int_not_equal(pp.runtime_addr, 0);
		assert_int_equal(pp.interp_head_addr,
				 pp.runtime_addr + (uint64_t)pp.layout.runtime_interpreters_head);
	} else {
		assert_int_equal(pp.runtime_addr, 0); /* 3.6: interp_head */
	}
	/* it holds the head of the interpreter list */
	assert_int_equal(remote_read_u64(lp->pid, pp.interp_head_addr, &head), 0);
	assert_int_not_equal(head, 0);
	if (r.interp_head)
		assert_int_equal(head, r.interp_head);

	assert_int_equal(pp.code_type_addr, r.code_type);

	assert_non_null(realpath(python, real));
	assert_string_equal(pp.executable, real);
	if (binary) {
		assert_string_equal(pp.binary, binary);
	} else {
		/* libpython3.6m.so.1.0, libpython3.12.so.1.0 */
		snprintf(lib, sizeof(lib), "libpython3.%d", minor);
		if (strncmp(base_name(pp.binary), lib, strlen(lib)) ||
		    !strstr(base_name(pp.binary), ".so"))
			fail_msg("interpreter binary %s is not %s...so*", pp.binary, lib);
		assert_int_equal(pp.binary[0], '/');
		assert_int_equal(access(pp.binary, R_OK), 0);
	}
	check_bpf_config(&pp);
}

LIVE_PYTHON_TESTS(test_live, check_interpreter)

/* ---- processes that are not supported Pythons ----------------------------- */

static void expect_error(pid_t pid, int want, const char *needle)
{
	struct python_process pp;
	char why[512] = "";
	int err = python_process__inspect(pid, &pp, why, sizeof(why));

	if (err != want)
		fail_msg("inspect pid %d: %d (%s), want %d", (int)pid, err, why, want);
	check_why(why);
	if (needle && !strstr(why, needle))
		fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
}

static void test_not_python(void **state)
{
	struct live_python *lp = *state;
	char *argv[] = {"/bin/sleep", "120", NULL};

	assert_int_equal(live_python_start(lp, argv), 0);
	expect_error(lp->pid, -ENOEXEC, "not a Python process");
	/* and this test binary, linked with no Python at all */
	expect_error(getpid(), -ENOEXEC, "not a Python process");
}

static void test_no_such_process(void **state)
{
	expect_error(live_python_dead_pid(), -ESRCH, "no such process");
	expect_error(INT_MAX, -ESRCH, "no such process");
	expect_error(0, -ESRCH, NULL);
	expect_error(-1, -ESRCH, NULL);
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		p = strrchr(buf, ')');
	fclose(f);
	return p && p[1] == ' ' ? p[2] : 0;
}

/* A process that has exited but is not reaped yet has no executable
 * either; it is gone, not a kernel thread. */
static void test_exited_process(void **state)
{
	struct live_python *lp = *state;
	char *argv[] = {"/bin/true", NULL};
	int tries;

	assert_int_equal(live_python_start(lp, argv), 0);
	for (tries = 0; tries < 200 && proc_state(lp->pid) != 'Z'; tries++)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	assert_int_equal(proc_state(lp->pid), 'Z');
	expect_error(lp->pid, -ESRCH, "no such process");
}

static void test_python2(void **state)
{
	struct live_python *lp = *state;
	char python[4200];
	struct child_report r;

	if (!live_python_pyenv(2, 7, python, sizeof(python))) {
		print_message("skipping: no pyenv Python 2.7\n");
		skip();
	}
	start_python(lp, python, &r);
	assert_string_equal(r.version, "2.7.18");
	expect_error(lp->pid, -ENOTSUP, "2.7.18");
}

/* A kernel thread: pid 2 (kthreadd) unless this pid namespace hides it. */
static pid_t find_kernel_thread(void)
{
	for (pid_t pid = 2; pid < 200; pid++) {
		char path[64], buf[1024], *p;
		unsigned long flags = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* after "pid (comm) ": state ppid pgrp session tty tpgid flags */
		if (p && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
		    (flags & 0x00200000)) /* PF_KTHREAD */
			return pid;
	}
	return 0;
}

static void test_kernel_thread(void **state)
{
	pid_t pid = find_kernel_thread();

	if (!pid) {
		print_message("skipping: no kernel thread visible in this pid namespace\n");
		skip();
	}
	expect_error(pid, -ENOEXEC, "not a Python process");
}

/* ---- python_process__bpf_config ------------------------------------------ */

static unsigned int need(int off, unsigned int width, unsigned int size, const char *name)
{
	if (off < 0)
		return 0;
	if ((unsigned int)off + width > size)
		fail_msg("%s at %d (+%u) is past the read size %u", name, off, width, size);
	return (unsigned int)off + width;
}

static void check_size(unsigned int size, unsigned int end, unsigned int window, const char *name)
{
	if (size % 8 || size > window || size < end || size >= end + 8)
		fail_msg("%s read size %u: want the end of its last field (%u) rounded up to 8, "
			 "within %u",
			 name, size, end, window);
}

static unsigned int max_u(unsigned int a, unsigned int b)
{
	return a > b ? a : b;
}

static void check_bpf_config(const struct python_process *pp)
{
	const struct pyebpf_py_offsets *o = &pp->layout.bpf;
	struct pyebpf_proc proc;
	unsigned int t = 0, f = 0, c = 0;

	memset(&proc, 0xa5, sizeof(proc));
	python_process__bpf_config(pp, &proc);

	assert_int_equal(proc.interp_head_addr, pp->interp_head_addr);
	assert_int_equal(proc.code_type_addr, pp->code_type_addr);
	assert_memory_equal(&proc.off, o, sizeof(*o));
	assert_int_equal(proc.gil_locked_addr, pp->gil.locked_addr);
	assert_int_equal(proc.gil_holder_addr, pp->gil.holder_addr);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(proc.gil_wait_lo[i], pp->gil.wait_lo[i]);
		assert_int_equal(proc.gil_wait_hi[i], pp->gil.wait_hi[i]);
	}

	/* every field BPF reads out of a window lies inside what it reads */
	t = max_u(t, need(o->tstate_next, 8, proc.tstate_read_size, "tstate_next"));
	t = max_u(t, need(o->tstate_thread_id, 8, proc.tstate_read_size, "tstate_thread_id"));
	t = max_u(t, need(o->tstate_frame, 8, proc.tstate_read_size, "tstate_frame"));
	t = max_u(t, need(o->tstate_cframe, 8, proc.tstate_read_size, "tstate_cframe"));
	t = max_u(t, need(o->tstate_datastack_chunk, 8, proc.tstate_read_size,
			  "tstate_datastack_chunk"));
	f = max_u(f, need(o->frame_previous, 8, proc.frame_read_size, "frame_previous"));
	f = max_u(f, need(o->frame_code, 8, proc.frame_read_size, "frame_code"));
	f = max_u(f, need(o->frame_instr, o->frame_instr_kind == PYEBPF_INSTR_LASTI ? 4 : 8,
			  proc.frame_read_size, "frame_instr"));
	f = max_u(f, need(o->frame_owner, 1, proc.frame_read_size, "frame_owner"));
	f = max_u(f, need(o->frame_globals, 8, proc.frame_read_size, "frame_globals"));
	f = max_u(f, need(o->frame_funcobj, 8, proc.frame_read_size, "frame_funcobj"));
	c = max_u(c, need(8, 8, proc.code_read_size, "ob_type")); /* the type check */
	c = max_u(c, need(o->code_argcount, 4, proc.code_read_size, "code_argcount"));
	c = max_u(c, need(o->code_firstlineno, 4, proc.code_read_size, "code_firstlineno"));
	c = max_u(c, need(o->code_name, 8, proc.code_read_size, "code_name"));
	c = max_u(c, need(o->code_filename, 8, proc.code_read_size, "code_filename"));

	assert_true(t > 0 && f > 0);
	check_size(proc.tstate_read_size, t, PYEBPF_TSTATE_WINDOW, "tstate");
	check_size(proc.frame_read_size, f, PYEBPF_FRAME_WINDOW, "frame");
	check_size(proc.code_read_size, c, PYEBPF_CODE_WINDOW, "code");

	/* 3.11+ keep frames packed on a data stack */
	if (pp->layout.major == 3 && pp->layout.minor >= 11)
		assert_int_equal(proc.flags, PYEBPF_PROC_FRAMES_PACKED);
	else
		assert_int_equal(proc.flags, 0);
}

static void test_bpf_config_tables(void **state)
{
	int checked = 0;

	for (int minor = 6; minor <= 20; minor++) {
		const struct py_layout *l = py_layout_table_lookup(3, minor);
		struct python_process *pp;

		if (!l)
			continue;
		pp = calloc(1, sizeof(*pp));
		assert_non_null(pp);
		pp->pid = 1;
		pp->layout = *l;
		pp->interp_head_addr = 0x7f0000001000ull + (uint64_t)minor;
		pp->code_type_addr = 0x7f0000002000ull + (uint64_t)minor;
		check_bpf_config(pp);
		free(pp);
		checked++;
	}
	/* the generated tables cover 3.6 to 3.12 */
	assert_int_equal(checked, 7);
}

/* ---- the GIL -------------------------------------------------------------- */

/*
 * argv[1] threads spin in pure Python while the main thread blocks in
 * join(). Prints the spinners' idents: pthread_self(), which is what
 * PyThreadState.thread_id holds. Valid on 3.6 and later.
 */
static const char busy_script[] =
	"import sys, threading\n"
	"def spin():\n"
	"    n = 0\n"
	"    while True:\n"
	"        n += 1\n"
	"threads = [threading.Thread(target=spin) for _ in range(int(sys.argv[1]))]\n"
	"for t in threads:\n"
	"    t.daemon = True\n"
	"    t.start()\n"
	"sys.stdout.write(' '.join(str(t.ident) for t in threads) + '\\n')\n"
	"sys.stdout.flush()\n"
	"threads[0].join()\n";

/* One thread, asleep: it does not hold the GIL while it sleeps. */
static const char idle_script[] = "import sys, time\n"
				  "sys.stdout.write('ready\\n')\n"
				  "sys.stdout.flush()\n"
				  "time.sleep(120)\n";

#define GIL_SAMPLES 200
#define MAX_SPINNERS 4
#define MAX_TSTATES 64

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000}, NULL);
}

/* Start `script` with argument `arg`, wait for its line and inspect it. */
static void start_gil_target(struct live_python *lp, const char *python, const char *script,
			     const char *arg, char *line, size_t n, struct python_process *pp)
{
	char *argv[] = {(char *)python, "-c", (char *)script, (char *)arg, NULL};
	char why[512] = "";
	int err;

	assert_int_equal(live_python_start(lp, argv), 0);
	if (!live_python_line(lp, line, n))
		fail_msg("%s printed nothing", python);
	err = python_process__inspect(lp->pid, pp, why, sizeof(why));
	if (err)
		fail_msg("inspect %s (pid %d): %d: %s", python, (int)lp->pid, err, why);
	if (!pp->gil.locked_addr || !pp->gil.holder_addr)
		fail_msg("%s (Python %s): no GIL found", python, pp->version);
}

/* The main interpreter's thread states and their thread_ids, walked with
 * the layout's own offsets. */
static size_t thread_states(const struct python_process *pp, uint64_t *tstate, uint64_t *thread_id)
{
	const struct pyebpf_py_offsets *o = &pp->layout.bpf;
	uint64_t interp, ts;
	size_t n = 0;

	assert_int_equal(remote_read_u64(pp->pid, pp->interp_head_addr, &interp), 0);
	assert_int_equal(remote_read_u64(pp->pid, interp + o->interp_threads_head, &ts), 0);
	while (ts && n < MAX_TSTATES) {
		tstate[n] = ts;
		assert_int_equal(remote_read_u64(pp->pid, ts + o->tstate_thread_id, &thread_id[n]),
				 0);
		n++;
		assert_int_equal(remote_read_u64(pp->pid, ts + o->tstate_next, &ts), 0);
	}
	return n;
}

/* [lo, hi) lies in one writable mapping of the process. */
static void check_writable(pid_t pid, uint64_t lo, uint64_t hi, const char *what)
{
	struct proc_maps *maps = proc_maps__read(pid);
	const struct proc_map *a, *b;

	assert_non_null(maps);
	assert_true(lo < hi);
	a = proc_maps__find_addr(maps, lo);
	b = proc_maps__find_addr(maps, hi - 1);
	if (!a || a != b || a->perms[1] != 'w')
		fail_msg("%s [%#llx, %#llx) is not inside one writable mapping", what,
			 (unsigned long long)lo, (unsigned long long)hi);
	proc_maps__free(maps);
}

static bool in_wait_range(const struct python_gil *gil, uint64_t addr)
{
	for (int i = 0; i < 2; i++) {
		if (addr >= gil->wait_lo[i] && addr < gil->wait_hi[i])
			return true;
	}
	return false;
}

/* Where the GIL is: writable memory, and for 3.7+ one struct whose flags
 * sit just before the condvars and mutexes of range 0. */
static void check_gil_addresses(const struct python_process *pp)
{
	const struct python_gil *gil = &pp->gil;
	const struct py_gil_layout *g = &pp->layout.gil;
	uint64_t base;

	check_writable(pp->pid, gil->locked_addr, gil->locked_addr + 4, "locked");
	check_writable(pp->pid, gil->holder_addr, gil->holder_addr + 8, "last_holder");
	check_writable(pp->pid, gil->wait_lo[0], gil->wait_hi[0], "wait range 0");
	assert_false(in_wait_range(gil, gil->locked_addr));
	assert_false(in_wait_range(gil, gil->holder_addr));
	if (pp->layout.minor == 6) {
		/* static gil_cond + gil_mutex, switch_cond + switch_mutex */
		check_writable(pp->pid, gil->wait_lo[1], gil->wait_hi[1], "wait range 1");
		for (int i = 0; i < 2; i++) {
			assert_true(gil->wait_hi[i] - gil->wait_lo[i] >= 48 + 40);
			assert_true(gil->wait_hi[i] - gil->wait_lo[i] <= 256);
		}
		return;
	}
	assert_int_equal(gil->wait_lo[1], 0);
	assert_int_equal(gil->wait_hi[1], 0);
	/* two pthread_cond_t (48) and two pthread_mutex_t (40) end the struct */
	assert_int_equal(gil->wait_hi[0] - gil->wait_lo[0], 2 * (48 + 40));
	base = gil->wait_lo[0] - (uint64_t)g->cond;
	assert_int_equal(gil->holder_addr, base + (uint64_t)g->last_holder);
	assert_int_equal(gil->locked_addr, base + (uint64_t)g->locked);
	assert_int_equal(gil->wait_hi[0], base + (uint64_t)g->size);
	assert_true(gil->holder_addr < gil->locked_addr && gil->locked_addr < gil->wait_lo[0]);
	/* 3.7 to 3.13: the static address in _PyRuntime (what a launched
	 * program gets before it starts) is the one the interpreter uses */
	if (pp->layout.minor <= 13)
		assert_true(g->runtime_gil >= 0);
	if (g->runtime_gil >= 0)
		assert_int_equal(base, pp->runtime_addr + (uint64_t)g->runtime_gil);
}

static void check_gil_busy(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	struct python_process pp;
	char line[512];
	uint64_t ident, tstate[MAX_TSTATES], thread_id[MAX_TSTATES], busy = 0;
	int locked_1 = 0, holder_busy = 0, holder_known = 0, i;
	size_t n, k;

	start_gil_target(lp, python, busy_script, "1", line, sizeof(line), &pp);
	ident = strtoull(line, NULL, 10);
	n = thread_states(&pp, tstate, thread_id);
	assert_int_equal(n, 2); /* main and the spinner */
	for (k = 0; k < n; k++) {
		if (thread_id[k] == ident)
			busy = tstate[k];
	}
	if (!busy)
		fail_msg("no thread state of pid %d has thread_id %llu", (int)lp->pid,
			 (unsigned long long)ident);
	check_gil_addresses(&pp);

	for (i = 0; i < GIL_SAMPLES; i++) {
		uint64_t holder = 0;
		int locked = 0;

		assert_int_equal(remote_read(lp->pid, pp.gil.locked_addr, &locked, sizeof(locked)),
				 0);
		assert_int_equal(remote_read_u64(lp->pid, pp.gil.holder_addr, &holder), 0);
		locked_1 += locked == 1;
		holder_busy += holder == busy;
		for (k = 0; k < n; k++)
			holder_known += holder == tstate[k];
		sleep_ms(1);
	}
	print_message("Python %s: locked == 1 in %d/%d reads, holder is the spinning thread in "
		      "%d, a thread state of the process in %d\n",
		      pp.version, locked_1, GIL_SAMPLES, holder_busy, holder_known);
	/* the spinner never lets go: nobody else asks for the GIL */
	assert_true(locked_1 >= GIL_SAMPLES * 9 / 10);
	assert_true(holder_busy >= GIL_SAMPLES * 9 / 10);
	assert_int_equal(holder_known, GIL_SAMPLES);
}

/* The futex address a blocked thread waits on, from /proc/PID/task/TID/syscall
 * ("202 0xADDR ..." for futex); 0 if it is not in futex(). */
static uint64_t futex_addr(pid_t pid, const char *tid)
{
	char path[320], buf[256];
	unsigned long long addr;
	long nr;
	FILE *f;
	uint64_t ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%ld %llx", &nr, &addr) == 2 &&
	    nr == 202) /* __NR_futex on x86-64 */
		ret = addr;
	fclose(f);
	return ret;
}

/* A wait on switch_cond or switch_mutex: the thread that dropped the GIL
 * waits there until the next one has taken it (FORCE_SWITCHING). */
static bool is_switch_wait(const struct python_process *pp, uint64_t addr)
{
	const struct python_gil *gil = &pp->gil;

	if (pp->layout.minor == 6)
		return addr >= gil->wait_lo[1] && addr < gil->wait_hi[1];
	/* after cond (48) and mutex (40) */
	return addr >= gil->wait_lo[0] + 48 + 40 && addr < gil->wait_hi[0];
}

/* Two spinners take turns: the one without the GIL sleeps in futex() on the
 * GIL's condvars or mutexes, which is what the BPF side sees. The main
 * thread, in join(), waits on a lock of its own. */
static void check_gil_waiters(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	struct python_process pp;
	char line[512], path[64], self[32];
	int spin_waits = 0, spin_in = 0, spin_switch = 0, main_waits = 0, main_in = 0, i;

	start_gil_target(lp, python, busy_script, "2", line, sizeof(line), &pp);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)lp->pid, (int)lp->pid);
	if (access(path, R_OK)) {
		print_message("skipping: cannot read %s: %s\n", path, strerror(errno));
		skip();
	}
	snprintf(self, sizeof(self), "%d", (int)lp->pid);
	/* after its print the main thread still competes for the GIL until it
	 * reaches join(); from then on it waits on the join lock for good */
	for (i = 0; i < 2000; i++) {
		uint64_t addr = futex_addr(lp->pid, self);

		if (addr && !in_wait_range(&pp.gil, addr))
			break;
		sleep_ms(1);
	}
	snprintf(path, sizeof(path), "/proc/%d/task", (int)lp->pid);
	for (i = 0; i < GIL_SAMPLES * 2; i++) {
		DIR *d = opendir(path);
		struct dirent *e;

		assert_non_null(d);
		while ((e = readdir(d))) {
			bool is_main = !strcmp(e->d_name, self);
			uint64_t addr;

			if (e->d_name[0] == '.')
				continue;
			addr = futex_addr(lp->pid, e->d_name);
			if (!addr)
				continue;
			if (is_main) {
				main_waits++;
				main_in += in_wait_range(&pp.gil, addr);
			} else {
				spin_waits++;
				spin_in += in_wait_range(&pp.gil, addr);
				spin_switch += is_switch_wait(&pp, addr);
			}
		}
		closedir(d);
		sleep_ms(1);
	}
	print_message("Python %s: spinners seen in futex() %d times, %d on the GIL (%d of them "
		      "handing it over); main thread %d times, %d on the GIL\n",
		      pp.version, spin_waits, spin_in, spin_switch, main_waits, main_in);
	assert_true(spin_waits >= GIL_SAMPLES / 10);
	assert_true(spin_in >= spin_waits * 95 / 100);
	assert_true(main_waits >= GIL_SAMPLES);
	assert_int_equal(main_in, 0);
}

static void check_gil_idle(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	struct python_process pp;
	char line[512];
	int zero = 0, one = 0, uncreated = 0, i;

	start_gil_target(lp, python, idle_script, NULL, line, sizeof(line), &pp);
	check_gil_addresses(&pp);
	for (i = 0; i < GIL_SAMPLES; i++) {
		int locked = 0;

		assert_int_equal(remote_read(lp->pid, pp.gil.locked_addr, &locked, sizeof(locked)),
				 0);
		zero += locked == 0;
		one += locked == 1;
		uncreated += locked == -1;
		sleep_ms(1);
	}
	print_message("Python %s asleep: locked == 0 in %d/%d reads, 1 in %d, -1 in %d\n",
		      pp.version, zero, GIL_SAMPLES, one, uncreated);
	/* 3.6 creates its GIL when the first thread starts; until then
	 * gil_locked is -1 */
	if (pp.layout.minor == 6)
		assert_true(uncreated >= GIL_SAMPLES * 9 / 10);
	else
		assert_true(zero >= GIL_SAMPLES * 9 / 10);
}

/* A launched program is inspected before its interpreter starts; the GIL
 * found then must be the one it uses once running. */
static int launched_setup(void **state)
{
	pid_t *child = calloc(1, sizeof(*child));

	*state = child;
	return child ? 0 : -1;
}

/* The child is still traced: it may stop on its way out. */
static int launched_teardown(void **state)
{
	pid_t *child = *state;
	int st;

	if (*child > 0) {
		kill(*child, SIGKILL);
		while (waitpid(*child, &st, __WALL) == *child && WIFSTOPPED(st))
			ptrace(PTRACE_CONT, *child, NULL, NULL);
	}
	free(child);
	return 0;
}

static void check_gil_launched(void **state, const char *python, int minor)
{
	pid_t *child = *state;
	char why[512] = "";
	char *argv[] = {(char *)python, "-c", "import time; time.sleep(120)", NULL};
	struct python_process before, after;
	uint64_t head = 0;
	int status = 0, err = -1, tries;

	assert_int_equal(launcher__start(argv, child, why, sizeof(why)), 0);
	err = launcher__wait_for_python(*child, &before, &status, why, sizeof(why));
	if (err)
		fail_msg("launch %s: %d: %s", python, err, why);
	/* the premise: no interpreter yet */
	assert_int_equal(remote_read_u64(*child, before.interp_head_addr, &head), 0);
	assert_int_equal(head, 0);
	if (!before.gil.locked_addr)
		fail_msg("%s (Python %s): no GIL found before it started", python, before.version);

	assert_int_equal(launcher__run(*child), 0);
	for (tries = 0; tries < 200; tries++) {
		sleep_ms(50);
		if (!remote_read_u64(*child, before.interp_head_addr, &head) && head)
			break;
	}
	assert_int_not_equal(head, 0);
	sleep_ms(200); /* past its start-up, asleep */
	err = python_process__inspect(*child, &after, why, sizeof(why));
	if (err)
		fail_msg("inspect launched %s: %d: %s", python, err, why);
	assert_memory_equal(&before.gil, &after.gil, sizeof(before.gil));
	check_gil_addresses(&after);
	print_message("Python %s launched: GIL at %#llx before start-up and after\n", after.version,
		      (unsigned long long)after.gil.locked_addr);
}

LIVE_PYTHON_TESTS(test_gil_busy, check_gil_busy)
LIVE_PYTHON_TESTS(test_gil_waiters, check_gil_waiters)
LIVE_PYTHON_TESTS(test_gil_idle, check_gil_idle)
LIVE_PYTHON_TESTS(test_gil_launched, check_gil_launched)

#define LIVE(t) cmocka_unit_test_setup_teardown(t, live_python_setup, live_python_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_config_tables),
		LIVE_PYTHON_TEST_LIST(test_live, live_python_setup, live_python_teardown),
		LIVE_PYTHON_TEST_LIST(test_gil_busy, live_python_setup, live_python_teardown),
		LIVE_PYTHON_TEST_LIST(test_gil_waiters, live_python_setup, live_python_teardown),
		LIVE_PYTHON_TEST_LIST(test_gil_idle, live_python_setup, live_python_teardown),
		LIVE_PYTHON_TEST_LIST(test_gil_launched, launched_setup, launched_teardown),
		LIVE(test_not_python),
		cmocka_unit_test(test_no_such_process),
		LIVE(test_exited_process),
		LIVE(test_python2),
		cmocka_unit_test(test_kernel_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
