// SPDX-License-Identifier: MIT
/* Unit tests for user/proc_info.c: /proc/PID/stat and status parsing, the
 * --comm/--exclude-pid filter, and the live wrappers on this process. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_info.h"

static void test_parse_stat(void **state)
{
	pid_t ppid = 0;
	char st = 0;

	assert_int_equal(proc_info_parse_stat("1234 (python3) S 1200 1234 1200 0 -1", &ppid, &st),
			 0);
	assert_int_equal(ppid, 1200);
	assert_int_equal(st, 'S');
	/* a command with spaces and parentheses: after the last ')' */
	assert_int_equal(proc_info_parse_stat("77 (a) b) Z (c) Z 5 77 77", &ppid, &st), 0);
	assert_int_equal(ppid, 5);
	assert_int_equal(st, 'Z');
	assert_int_equal(proc_info_parse_stat("garbage", &ppid, &st), -EINVAL);
	assert_int_equal(proc_info_parse_stat("1 (x)", &ppid, &st), -EINVAL);
	assert_int_equal(proc_info_parse_stat(NULL, &ppid, &st), -EINVAL);
}

static void test_parse_nspid(void **state)
{
	pid_t ns = 0;

	/* the host's view of a process two namespaces deep */
	assert_int_equal(proc_info_parse_nspid("Name:\tpython3\nTgid:\t9\nPid:\t9\n"
					       "NSpid:\t4321\t17\t1\nNSpgid:\t4321\t17\t1\n",
					       &ns),
			 0);
	assert_int_equal(ns, 1);
	assert_int_equal(proc_info_parse_nspid("NSpid:\t88\n", &ns), 0);
	assert_int_equal(ns, 88);
	/* the last line without a newline */
	assert_int_equal(proc_info_parse_nspid("Pid:\t5\nNSpid:\t5 2", &ns), 0);
	assert_int_equal(ns, 2);
	/* old kernels have none; garbage is refused */
	assert_int_equal(proc_info_parse_nspid("Name:\tx\nPid:\t5\n", &ns), -ENOENT);
	assert_int_equal(proc_info_parse_nspid("NSpid:\t\n", &ns), -EINVAL);
	assert_int_equal(proc_info_parse_nspid("NSpid:\t12 x\n", &ns), -EINVAL);
	assert_int_equal(proc_info_parse_nspid("NSpid:\t-3\n", &ns), -EINVAL);
	/* "NSpid" must start a line */
	assert_int_equal(proc_info_parse_nspid("XNSpid:\t3\n", &ns), -ENOENT);
}

static void test_filter(void **state)
{
	const char *names[] = {"worker", "a-very-long-process-name"};
	pid_t excluded[] = {50, 60};
	struct proc_filter none = {.self = 7};
	struct proc_filter f = {
		.comm = names, .n_comm = 2, .exclude = excluded, .n_exclude = 2, .self = 7};

	/* no names: everything but pyebpf itself */
	assert_true(proc_filter_match(&none, 1, "python3", "/usr/bin/python3.11"));
	assert_false(proc_filter_match(&none, 7, "python3", "/usr/bin/python3.11"));
	/* by comm, or by the executable's base name */
	assert_true(proc_filter_match(&f, 10, "worker", "/usr/bin/python3.11"));
	assert_true(proc_filter_match(&f, 10, "python3.11", "/opt/bin/worker"));
	assert_true(proc_filter_match(&f, 10, "python3.11", "/opt/bin/worker (deleted)"));
	assert_false(proc_filter_match(&f, 10, "workers", "/opt/bin/workers"));
	assert_false(proc_filter_match(&f, 10, "work", "/opt/bin/work"));
	assert_false(proc_filter_match(&f, 10, "python3", "/usr/bin/python3"));
	/* the kernel's comm keeps 15 bytes */
	assert_true(proc_filter_match(&f, 10, "a-very-long-pro", "/usr/bin/python3"));
	assert_false(proc_filter_match(&f, 10, "a-very-long", "/usr/bin/python3"));
	/* unknown comm or executable: the other decides */
	assert_true(proc_filter_match(&f, 10, NULL, "/x/worker"));
	assert_true(proc_filter_match(&f, 10, "worker", NULL));
	assert_false(proc_filter_match(&f, 10, NULL, NULL));
	/* excluded pids and pyebpf itself, whatever their name */
	assert_false(proc_filter_match(&f, 50, "worker", "/x/worker"));
	assert_false(proc_filter_match(&f, 60, "worker", "/x/worker"));
	assert_false(proc_filter_match(&f, 7, "worker", "/x/worker"));
}

/* The wrappers, on this process and a child of it. */
static void test_live(void **state)
{
	pid_t ppid = 0, ns = 0, child, *pids = NULL;
	size_t n = 0;
	char st = 0, comm[32];
	bool found = false;
	int pipefd[2];

	assert_int_equal(proc_info_stat(getpid(), &ppid, &st), 0);
	assert_int_equal(ppid, getppid());
	assert_int_equal(st, 'R');
	assert_int_equal(proc_info_ns_pid(getpid(), &ns), 0);
	assert_true(ns > 0);
	assert_int_equal(proc_info_comm(getpid(), comm, sizeof(comm)), 0);
	assert_string_equal(comm, "test_proc_info");

	assert_int_equal(pipe(pipefd), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		char c;

		close(pipefd[1]);
		(void)!read(pipefd[0], &c, 1); /* until the parent is done */
		_exit(0);
	}
	close(pipefd[0]);
	assert_int_equal(proc_info_descendants(getpid(), &pids, &n), 0);
	for (size_t i = 0; i < n; i++)
		found |= pids[i] == child;
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(pids[i], getpid());
	assert_true(found);
	free(pids);
	assert_int_equal(proc_info_list(&pids, &n), 0);
	found = false;
	for (size_t i = 0; i < n; i++)
		found |= pids[i] == child;
	assert_true(found);
	free(pids);
	close(pipefd[1]);
	waitpid(child, NULL, 0);
	assert_int_equal(proc_info_stat(child, &ppid, &st), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_parse_nspid),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
