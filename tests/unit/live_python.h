/* SPDX-License-Identifier: MIT */
/*
 * Live target processes for unit tests: start a program (usually a Python
 * of some version) with its stdout on a pipe, read the lines it prints,
 * and kill it in the test's teardown.
 *
 *   cmocka_unit_test_setup_teardown(test_x, live_python_setup,
 *                                   live_python_teardown)
 *
 * gives the test a struct live_python * in *state. Children get SIGKILL
 * if the test process dies first, so a crashed test leaves none behind.
 */
#ifndef PYEBPF_TESTS_LIVE_PYTHON_H
#define PYEBPF_TESTS_LIVE_PYTHON_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* How long a child may take to print a line (a cold pyenv start is slow). */
#define LIVE_PYTHON_TIMEOUT_MS 30000

struct live_python {
	pid_t pid;  /* 0: none running */
	int out_fd; /* read end of the child's stdout, -1 if none */
	char buf[65536];
	size_t len;
};

static inline int live_python_setup(void **state)
{
	struct live_python *lp = calloc(1, sizeof(*lp));

	if (!lp)
		return -1;
	lp->out_fd = -1;
	*state = lp;
	return 0;
}

/* Kill and reap the child; the struct can start another. */
static inline void live_python_stop(struct live_python *lp)
{
	if (lp->pid > 0) {
		kill(lp->pid, SIGKILL);
		waitpid(lp->pid, NULL, 0);
	}
	if (lp->out_fd >= 0)
		close(lp->out_fd);
	lp->pid = 0;
	lp->out_fd = -1;
	lp->len = 0;
}

static inline int live_python_teardown(void **state)
{
	struct live_python *lp = *state;

	if (lp) {
		live_python_stop(lp);
		free(lp);
	}
	return 0;
}

/*
 * Start argv[0] (a path) with argv; returns once the program has been
 * exec'd, so /proc/PID/exe names it. 0, or -errno (the exec's errno).
 */
static inline int live_python_start(struct live_python *lp, char *const argv[])
{
	int out[2], status[2], child_err = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(status, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(out[0]);
		close(out[1]);
		close(status[0]);
		close(status[1]);
		return err;
	}
	if (pid == 0) {
		int err;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(out[1], STDOUT_FILENO) < 0)
			_exit(127);
		execv(argv[0], argv);
		err = errno;
		if (write(status[1], &err, sizeof(err)) < 0)
			_exit(126);
		_exit(127);
	}
	close(out[1]);
	close(status[1]);
	/* EOF on the close-on-exec pipe: the exec happened */
	do
		n = read(status[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	if (n > 0) {
		waitpid(pid, NULL, 0);
		close(out[0]);
		return -(child_err ? child_err : EIO);
	}
	lp->pid = pid;
	lp->out_fd = out[0];
	lp->len = 0;
	return 0;
}

static inline long long live_python_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The next line the child printed, without its newline, in line[n]; NULL
 * at EOF or after LIVE_PYTHON_TIMEOUT_MS. A longer line fails the test.
 */
static inline char *live_python_line(struct live_python *lp, char *line, size_t n)
{
	long long deadline = live_python_now_ms() + LIVE_PYTHON_TIMEOUT_MS;

	for (;;) {
		char *nl = memchr(lp->buf, '\n', lp->len);
		struct pollfd pfd = {.fd = lp->out_fd, .events = POLLIN};
		long long left;
		ssize_t got;

		if (nl) {
			size_t len = (size_t)(nl - lp->buf);

			if (len >= n)
				fail_msg("a line of %zu bytes from pid %d is too long", len,
					 (int)lp->pid);
			memcpy(line, lp->buf, len);
			line[len] = '\0';
			memmove(lp->buf, nl + 1, lp->len - len - 1);
			lp->len -= len + 1;
			return line;
		}
		if (lp->len == sizeof(lp->buf))
			fail_msg("pid %d printed a line longer than %zu bytes", (int)lp->pid,
				 sizeof(lp->buf));
		left = deadline - live_python_now_ms();
		if (lp->out_fd < 0 || left <= 0)
			return NULL;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		got = read(lp->out_fd, lp->buf + lp->len, sizeof(lp->buf) - lp->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return NULL;
		lp->len += (size_t)got;
	}
}

/* Run a shell command and return its first output line, or NULL. */
static inline char *live_python_first_line(const char *cmd, char *buf, size_t n)
{
	FILE *f = popen(cmd, "r");
	char *line = NULL;

	if (!f)
		return NULL;
	if (fgets(buf, (int)n, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		line = buf[0] ? buf : NULL;
	}
	pclose(f);
	return line;
}

/*
 * The pyenv interpreter `$(pyenv prefix MAJOR.MINOR)/bin/pythonMAJOR.MINOR`
 * in buf[n], or NULL when pyenv has no such version.
 */
static inline char *live_python_pyenv(int major, int minor, char *buf, size_t n)
{
	char cmd[64], prefix[4096];

	snprintf(cmd, sizeof(cmd), "pyenv prefix %d.%d 2>/dev/null", major, minor);
	if (!live_python_first_line(cmd, prefix, sizeof(prefix)))
		return NULL;
	snprintf(buf, n, "%s/bin/python%d.%d", prefix, major, minor);
	return access(buf, X_OK) ? NULL : buf;
}

/* Debian's own interpreter: stripped, and linked into the executable. */
#define LIVE_PYTHON_DEBIAN "/usr/bin/python3.11"

/* Room for a pyenv interpreter's path. */
#define LIVE_PYTHON_PATH_MAX 4200

/*
 * The pyenv interpreter of Python 3.<minor> in buf[n]; skips the test (with
 * a message) when pyenv has none.
 */
static inline void live_python_pyenv_or_skip(int minor, char *buf, size_t n)
{
	if (!live_python_pyenv(3, minor, buf, n)) {
		print_message("skipping: no pyenv Python 3.%d\n", minor);
		skip();
	}
}

/* Skips the test (with a message) unless LIVE_PYTHON_DEBIAN is installed. */
static inline void live_python_debian_or_skip(void)
{
	if (access(LIVE_PYTHON_DEBIAN, X_OK)) {
		print_message("skipping: no " LIVE_PYTHON_DEBIAN "\n");
		skip();
	}
}

/*
 * One test per Python the live tests run on:
 *
 *   static void check_x(void **state, const char *python, int minor);
 *   LIVE_PYTHON_TESTS(test_x, check_x)
 *
 * defines test_x_36 ... test_x_313, which call check_x() with the pyenv
 * interpreter of Python 3.<minor>, and test_x_debian_311, which calls it
 * with LIVE_PYTHON_DEBIAN (minor 11, read with the 3.11 table). Each skips
 * when its Python is not installed.
 *
 *   LIVE_PYTHON_TEST_LIST(test_x, setup, teardown),
 *
 * lists the nine in a CMUnitTest array, each with that setup and teardown.
 */
#define LIVE_PYTHON_PYENV_TEST(name, check, minor)                        \
	static void name##_3##minor(void **state)                         \
	{                                                                 \
		char python[LIVE_PYTHON_PATH_MAX];                        \
                                                                          \
		live_python_pyenv_or_skip(minor, python, sizeof(python)); \
		check(state, python, minor);                              \
	}

#define LIVE_PYTHON_TESTS(name, check)                \
	LIVE_PYTHON_PYENV_TEST(name, check, 6)        \
	LIVE_PYTHON_PYENV_TEST(name, check, 7)        \
	LIVE_PYTHON_PYENV_TEST(name, check, 8)        \
	LIVE_PYTHON_PYENV_TEST(name, check, 9)        \
	LIVE_PYTHON_PYENV_TEST(name, check, 10)       \
	LIVE_PYTHON_PYENV_TEST(name, check, 11)       \
	LIVE_PYTHON_PYENV_TEST(name, check, 12)       \
	LIVE_PYTHON_PYENV_TEST(name, check, 13)       \
	static void name##_debian_311(void **state)   \
	{                                             \
		live_python_debian_or_skip();         \
		check(state, LIVE_PYTHON_DEBIAN, 11); \
	}

#define LIVE_PYTHON_TEST_LIST(name, setup, teardown)                          \
	cmocka_unit_test_setup_teardown(name##_36, setup, teardown),          \
		cmocka_unit_test_setup_teardown(name##_37, setup, teardown),  \
		cmocka_unit_test_setup_teardown(name##_38, setup, teardown),  \
		cmocka_unit_test_setup_teardown(name##_39, setup, teardown),  \
		cmocka_unit_test_setup_teardown(name##_310, setup, teardown), \
		cmocka_unit_test_setup_teardown(name##_311, setup, teardown), \
		cmocka_unit_test_setup_teardown(name##_312, setup, teardown), \
		cmocka_unit_test_setup_teardown(name##_313, setup, teardown), \
		cmocka_unit_test_setup_teardown(name##_debian_311, setup, teardown)

/* A pid that belonged to a process which has exited and been reaped. */
static inline pid_t live_python_dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

#endif /* PYEBPF_TESTS_LIVE_PYTHON_H */
