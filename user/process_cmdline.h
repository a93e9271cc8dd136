/* SPDX-License-Identifier: MIT */
/* A process's command line, for titles and labels. */
#ifndef PYEBPF_PROCESS_CMDLINE_H
#define PYEBPF_PROCESS_CMDLINE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * /proc/PID/cmdline with its arguments joined by spaces into buf
 * (truncated to size, always terminated; control characters become '?').
 * Returns 0, or -errno (-ESRCH when the process is gone, -ENOENT when it
 * has no command line, as a kernel thread or a zombie).
 */
int process_cmdline(pid_t pid, char *buf, size_t size);

/* The same over the raw bytes of a cmdline file (NUL-separated). */
void process_cmdline_format(const char *raw, size_t len, char *buf, size_t size);

#endif /* PYEBPF_PROCESS_CMDLINE_H */
