/* SPDX-License-Identifier: MIT */
/*
 * Starting a program to profile from its first Python frame.
 *
 * The child is traced (only our own child, only at start-up) until its
 * CPython interpreter is mapped, following exec()s through wrappers such
 * as pyenv shims or /usr/bin/env; the caller registers it with the sampler
 * while it is still stopped, then lets it go.
 */
#ifndef PYEBPF_LAUNCHER_H
#define PYEBPF_LAUNCHER_H

#include <stddef.h>
#include <sys/types.h>

#include "python_process.h"

/*
 * Fork and exec argv[0] (searched in PATH) with argv. On success *child
 * is stopped right after the exec. -errno with a reason in `why` (e.g.
 * the program does not exist).
 */
int launcher__start(char *const argv[], pid_t *child, char *why, size_t why_size);

/*
 * Let the stopped child run, stopping at each exec and mapping change,
 * until python_process__inspect() succeeds; the child is left stopped.
 * If it exits first, returns -ECHILD and its wait status in *status.
 * Other errors (e.g. an unsupported Python) come from
 * python_process__inspect() with its reason.
 */
int launcher__wait_for_python(pid_t child, struct python_process *pp, int *status, char *why,
			      size_t why_size);

/*
 * Let the child run. It stays traced, but only stops at exec() (its
 * interpreter may change) and at exit (so samples still waiting can be
 * symbolized from its memory before it is torn down). 0 or -errno.
 */
int launcher__run(pid_t child);

enum launcher_event {
	LAUNCHER_NONE = 0, /* nothing the caller must act on */
	LAUNCHER_EXEC,	   /* stopped after exec(): inspect again, then resume */
	LAUNCHER_EXITING,  /* stopped on its way out, memory intact: resume */
	LAUNCHER_EXITED,   /* gone; *status holds its wait status */
};

/*
 * Handle a state change of the child without blocking (call it on
 * SIGCHLD). Signals for the child are passed on to it. 0 or -errno.
 */
int launcher__poll(pid_t child, enum launcher_event *event, int *status);

/* Resume a child stopped at LAUNCHER_EXEC or LAUNCHER_EXITING. */
int launcher__resume(pid_t child);

#endif /* PYEBPF_LAUNCHER_H */
