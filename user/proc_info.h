/* SPDX-License-Identifier: MIT */
/*
 * Small facts about processes from /proc, for following many: a process's
 * parent and state (/proc/PID/stat), its pid inside its own pid namespace
 * (/proc/PID/status NSpid), its comm, the list of processes, and the
 * filters --all and --subprocesses apply (--comm, --exclude-pid).
 *
 * Parsers take the file's text (unit-tested with fixtures); one-line
 * wrappers take the pid.
 */
#ifndef PYEBPF_PROC_INFO_H
#define PYEBPF_PROC_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * From the text of /proc/PID/stat: the parent's pid and the state letter
 * ('R', 'S', 'Z', ...). The command in parentheses may hold anything,
 * spaces and ')' included: parsing starts after the last ')'. 0, or
 * -EINVAL for text that is not a stat line.
 */
int proc_info_parse_stat(const char *text, pid_t *ppid, char *state);

/*
 * From the text of /proc/PID/status: the pid in the innermost pid
 * namespace, the last number of the "NSpid:" line (kernels since 4.1).
 * 0, or -ENOENT without an NSpid line, -EINVAL for a malformed one.
 */
int proc_info_parse_nspid(const char *text, pid_t *ns_pid);

/* The wrappers: 0 or -errno (-ESRCH for a process that is gone). A
 * process without an NSpid line gets its own pid. */
int proc_info_stat(pid_t pid, pid_t *ppid, char *state);
int proc_info_ns_pid(pid_t pid, pid_t *ns_pid);
/* /proc/PID/comm without the newline, into buf[size]. */
int proc_info_comm(pid_t pid, char *buf, size_t size);

/*
 * The pids of every process (not thread) now, from /proc, into a malloc'd
 * array the caller frees. 0 or -errno.
 */
int proc_info_list(pid_t **pids, size_t *n);

/*
 * Every descendant of `root` now (children, their children, ...), from
 * the parent links in /proc/PID/stat, into a malloc'd array the caller
 * frees (empty: *pids may be NULL). 0 or -errno.
 */
int proc_info_descendants(pid_t root, pid_t **pids, size_t *n);

/* Which processes a session may follow (--comm, --exclude-pid). */
struct proc_filter {
	const char *const *comm; /* names; none: any name */
	size_t n_comm;
	const pid_t *exclude; /* never these */
	size_t n_exclude;
	pid_t self; /* nor this one (pyebpf) */
};

/*
 * Whether process `pid`, whose comm is `comm` and whose executable is
 * `exe` (a path, may end in " (deleted)"; either may be NULL when
 * unknown), passes the filter: not excluded, and with names, one of them
 * equal to its comm (the kernel keeps 15 bytes: a longer name matches its
 * first 15) or to the executable's base name.
 */
bool proc_filter_match(const struct proc_filter *f, pid_t pid, const char *comm, const char *exe);

#endif /* PYEBPF_PROC_INFO_H */
