/* SPDX-License-Identifier: MIT */
/*
 * Finding the CPython interpreter inside a running process: which binary
 * holds it (python executable or libpython), its version, where its
 * _PyRuntime lives, and the structure layout to read it with.
 *
 * Binaries are opened through /proc/PID/root, so processes in other mount
 * namespaces (containers) work.
 */
#ifndef PYEBPF_PYTHON_PROCESS_H
#define PYEBPF_PYTHON_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "pyebpf.h"
#include "python_layout.h"

/*
 * The main interpreter's GIL, as addresses in the target; all 0 when it
 * could not be found (the process is still profiled, without GIL state).
 * A thread holds the GIL iff *(int *)locked_addr > 0 and
 * *(PyThreadState **)holder_addr is its thread state.
 */
struct python_gil {
	uint64_t locked_addr; /* int: 1 held, 0 free, -1 not created yet */
	uint64_t holder_addr; /* PyThreadState *: the thread that took it last */
	/* its mutexes and condition variables: a thread blocked in futex()
	 * on an address in [lo, hi) waits for the GIL; unused are [0, 0) */
	uint64_t wait_lo[2], wait_hi[2];
};

struct python_process {
	pid_t pid;
	char version[32];      /* "3.12.1", or "3.12" when the patch is unknown */
	char binary[4096];     /* the file holding the interpreter, as mapped */
	char executable[4096]; /* /proc/PID/exe */
	uint64_t runtime_addr; /* &_PyRuntime, 0 for 3.6 */
	uint64_t interp_head_addr;
	uint64_t code_type_addr;
	struct py_layout layout;
	struct python_gil gil;
};

/*
 * Inspect process `pid`. Returns 0 and fills *out, or -errno with a
 * one-line reason (no "pyebpf:" prefix) in why[why_size]:
 *   -ESRCH   no such process
 *   -ENOEXEC not a Python process
 *   -ENOTSUP a Python version pyebpf does not support (named in `why`)
 *   -EACCES / -EPERM  not allowed to read the process
 *   other    the interpreter's data could not be read or is inconsistent
 * A GIL that cannot be found is no error: out->gil is then all 0.
 */
int python_process__inspect(pid_t pid, struct python_process *out, char *why, size_t why_size);

/*
 * The kernel-side configuration for this process (struct pyebpf_proc),
 * with each read window sized to the fields actually used.
 */
void python_process__bpf_config(const struct python_process *pp, struct pyebpf_proc *proc);

#endif /* PYEBPF_PYTHON_PROCESS_H */
