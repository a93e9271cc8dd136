// SPDX-License-Identifier: MIT
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A program that makes this many system calls without mapping a Python
 * interpreter is not one we can profile from its start. */
#define MAX_SYSCALL_STOPS 200000

int launcher__start(char *const argv[], pid_t *child, char *why, size_t why_size)
{
	int pipefd[2], status, child_errno = 0;
	sigset_t none;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		/* pyebpf blocks its stop signals for signalfd; the program
		 * must get them as usual */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(pipefd[0]);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			execvp(argv[0], argv);
		child_errno = errno;
		if (write(pipefd[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &child_errno, sizeof(child_errno)) != sizeof(child_errno))
		child_errno = 0;
	close(pipefd[0]);

	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFSTOPPED(status)) {
		snprintf(why, why_size, "cannot run '%s': %s", argv[0],
			 strerror(child_errno ? child_errno : ECHILD));
		return child_errno ? -child_errno : -ECHILD;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) {
		int err = -errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		snprintf(why, why_size, "cannot trace '%s': %s", argv[0], strerror(-err));
		return err;
	}
	*child = pid;
	return 0;
}

/* True after system calls that may have mapped a new file. */
static int maps_may_have_changed(pid_t pid)
{
	struct __ptrace_syscall_info info;
	long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info);

	if (n <= 0)
		return 1; /* cannot tell: look */
	/* the loader maps a library with mmap, then sets protections */
	return info.op == PTRACE_SYSCALL_INFO_ENTRY &&
	       (info.entry.nr == SYS_mprotect || info.entry.nr == SYS_close);
}

int launcher__wait_for_python(pid_t pid, struct python_process *pp, int *status, char *why,
			      size_t why_size)
{
	int sig = 0, st, err, look = 1;
	long stops;

	for (stops = 0; stops < MAX_SYSCALL_STOPS; stops++) {
		if (look) {
			err = python_process__inspect(pid, pp, why, why_size);
			if (!err)
				return 0;
			if (err != -ENOEXEC)
				return err;
		}
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig))
			return -errno;
		if (waitpid(pid, &st, __WALL) < 0)
			return -errno;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			*status = st;
			snprintf(why, why_size, "the program exited before it started Python");
			return -ECHILD;
		}
		sig = 0;
		look = 0;
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
			look = 1; /* a new program image */
		else if (WSTOPSIG(st) == (SIGTRAP | 0x80))
			look = maps_may_have_changed(pid);
		else
			sig = WSTOPSIG(st); /* a real signal: deliver it */
	}
	snprintf(why, why_size, "the program did not start a Python interpreter");
	return -ENOEXEC;
}

int launcher__run(pid_t pid)
{
	/* no EXITKILL from here on: stopping pyebpf must not kill the program */
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT))
		return -errno;
	return launcher__resume(pid);
}

int launcher__resume(pid_t pid)
{
	if (ptrace(PTRACE_CONT, pid, NULL, NULL))
		return -errno;
	return 0;
}

int launcher__poll(pid_t pid, enum launcher_event *event, int *status)
{
	int st;
	pid_t r;

	*event = LAUNCHER_NONE;
	r = waitpid(pid, &st, WNOHANG | __WALL);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		*status = st;
		*event = LAUNCHER_EXITED;
		return 0;
	}
	if (!WIFSTOPPED(st))
		return 0;
	if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
		*event = LAUNCHER_EXEC;
		return 0;
	}
	if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
		*event = LAUNCHER_EXITING;
		return 0;
	}
	/* a signal for the program: deliver it */
	if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(st)))
		return -errno;
	return 0;
}
