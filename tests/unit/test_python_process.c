// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/python_process.c: inspecting live interpreters of
 * every installed version (each reports its own version, &PyCode_Type and
 * interpreter list head), the errors for processes that are not supported
 * Pythons, and the kernel-side configuration derived from a layout.
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

#include <cmocka.h>

#include "live_python.h"
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
 * Inspect a live `python` of version 3.<minor>. `binary`: the expected
 * interpreter file, or NULL for "a libpython3.<minor> shared object".
 */
static void check_interpreter(struct live_python *lp, const char *python, int minor,
			      const char *binary)
{
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

static void check_pyenv(void **state, int minor)
{
	char python[4200];

	if (!live_python_pyenv(3, minor, python, sizeof(python))) {
		print_message("skipping: no pyenv Python 3.%d\n", minor);
		skip();
	}
	check_interpreter(*state, python, minor, NULL);
}

#define PYENV_TEST(minor)                            \
	static void test_live_3##minor(void **state) \
	{                                            \
		check_pyenv(state, minor);           \
	}

PYENV_TEST(6)
PYENV_TEST(7)
PYENV_TEST(8)
PYENV_TEST(9)
PYENV_TEST(10)
PYENV_TEST(11)
PYENV_TEST(12)
PYENV_TEST(13)

static void test_live_debian_311(void **state)
{
	if (access("/usr/bin/python3.11", X_OK)) {
		print_message("skipping: no /usr/bin/python3.11\n");
		skip();
	}
	/* Debian links the interpreter into the executable */
	check_interpreter(*state, "/usr/bin/python3.11", 11, "/usr/bin/python3.11");
}

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

#define LIVE(t) cmocka_unit_test_setup_teardown(t, live_python_setup, live_python_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bpf_config_tables),
		LIVE(test_live_36),
		LIVE(test_live_37),
		LIVE(test_live_38),
		LIVE(test_live_39),
		LIVE(test_live_310),
		LIVE(test_live_311),
		LIVE(test_live_312),
		LIVE(test_live_313),
		LIVE(test_live_debian_311),
		LIVE(test_not_python),
		cmocka_unit_test(test_no_such_process),
		LIVE(test_exited_process),
		LIVE(test_python2),
		cmocka_unit_test(test_kernel_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
