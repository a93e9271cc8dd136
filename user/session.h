/* SPDX-License-Identifier: MIT */
/*
 * A profiling session: one BPF sampler, one profile, and a table of target
 * processes, each with its own interpreter (its own version, layout,
 * symbolizer, source files, thread names and command line). `record` and
 * `top` are lifecycles on top of it: they decide what to add, how long to
 * run and what to write; the session turns kernel records into the profile.
 *
 * Which processes:
 *   - session__add_pid(): a process named by the caller (--pid, a launched
 *     program). With `subprocesses`, its descendants are followed too: those
 *     alive when it is added and every one forked later, in the kernel, so
 *     none is missed between two polls.
 *   - `all`: every Python process on the host, those running at
 *     session__new() (a /proc scan) and every one that exec()s or forks
 *     later (kernel events, not /proc polling).
 *   - filters (`comm`, `exclude_pids`) narrow `all` and followed children;
 *     pyebpf never profiles itself.
 * A followed process that is not Python (a shell, a process whose libpython
 * is not mapped yet) is retried for a while after each exec(), then
 * skipped quietly; zombies are skipped.
 *
 * Per-process state lives from registration to the process's exit or
 * exec() (after an exec() the new image is inspected again, as a new
 * target). Each target is a process instance of its own in the profile, so
 * a reused pid, or one pid before and after exec(), never shares stacks.
 *
 * Lifecycle:
 *   session__new -> session__add_pid ... -> [session__start] ->
 *   { wait on session__fd() up to session__timeout_ms(); session__poll() }
 *   ... -> session__stop -> session__profile / session__stats /
 *   session__process ... -> session__free.
 * Single-threaded: one thread calls everything.
 */
#ifndef PYEBPF_SESSION_H
#define PYEBPF_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"
#include "sample_stacks.h"

struct session;
struct profile;
struct time_accounts;
struct timeline;

struct session_opts {
	unsigned int rate_hz;	 /* > 0 */
	unsigned int max_frames; /* 1 ..  PYEBPF_MAX_FRAMES */
	enum time_mode time_mode;
	bool gil_only; /* only samples whose thread holds the GIL */
	/* tell for each sample whether its thread held the GIL (a read per
	 * sample; always on with gil_only or off-CPU time); top shows it */
	bool gil_state;
	bool kernel; /* kernel stacks below the Python frames (loads
			/proc/kallsyms) */
	enum sample_lines lines;
	bool full_filenames; /* no package-relative file names */
	bool timeline;	     /* keep every record in time order (chrometrace) */

	bool subprocesses; /* follow the descendants of added pids */
	bool all;	   /* every Python process on the host */
	/* only processes whose comm or executable's base name is one of
	 * these (none: any); applies to --all and to followed children, not
	 * to pids added by the caller */
	const char *const *comm;
	size_t n_comm;
	/* never these pids (nor pyebpf itself) */
	const pid_t *exclude_pids;
	size_t n_exclude_pids;
	/* every stack gets a `process PID:"CMDLINE"` root frame in writers
	 * that show it; session_opts_from_cli() sets it for --subprocesses
	 * and --all */
	bool process_roots;
	/* bound the profile: at most this many distinct stacks and frames
	 * (profile__set_limits(); 0: no bound), so a session that never ends
	 * (the agent) keeps its memory whatever its targets do */
	size_t max_stacks;

	/* where notices about added pids go ("pyebpf: pid 12 exec()ed
	 * /bin/sh, no longer profiled: ..."), one line each; NULL: nowhere
	 * (a full-screen `top`). Followed processes never produce notices. */
	FILE *messages;
};

/* The options a command line asks for. `cli` must outlive the session
 * (strings are borrowed). */
void session_opts_from_cli(struct session_opts *o, const struct cli_options *cli);

/*
 * Load and attach the BPF programs (sampling starts at once: nothing is
 * registered yet, so nothing is sampled), load kernel symbols (--kernel),
 * and with `all` register every Python process running now. Returns NULL
 * with errno set and a one-line reason in why[why_size] (no "pyebpf:"
 * prefix): privileges, BTF, a kernel feature, kernel symbols.
 */
struct session *session__new(const struct session_opts *opts, char *why, size_t why_size);

/* Detach, unload, free everything the session owns (the profile too,
 * unless taken). NULL is fine. */
void session__free(struct session *s);

/* session__add_pid() flags */
#define SESSION_PID_MAY_WAIT                                                     \
	(1u << 0) /* not Python yet (a shell, a program still loading its        \
		     libpython): not an error; the process is followed (with its \
		     descendants under `subprocesses`) and inspected again after \
		     each exec() and for a while now */

/*
 * Profile process `pid` (and, with `subprocesses`, its descendants).
 * Adding a pid that is already a target is a no-op. Returns 0, or -errno
 * with a one-line reason in why[why_size] (no "pyebpf:" prefix), as record
 * has always worded it:
 *   "cannot profile pid 12: not a Python process ..." (-ENOEXEC, -ESRCH,
 *   -ENOTSUP, -EACCES: python_process__inspect()'s reasons),
 *   "--gil: cannot find the GIL of pid 12 (Python 3.12.1)" (-ENOTSUP),
 *   "cannot register pid 12 with the BPF sampler: ..." (other).
 * With SESSION_PID_MAY_WAIT, "not Python" (-ENOEXEC) is no error.
 */
int session__add_pid(struct session *s, pid_t pid, unsigned int flags, char *why, size_t why_size);

/*
 * The caller saw process `pid` exec() (ptrace, for a launched program):
 * samples of the old image are symbolized now, its target is dropped, and
 * the new image is inspected (at once, then retried for a while without
 * blocking; a notice if it never becomes Python). With `subprocesses` or
 * `all` the kernel's exec event does this, in order with the samples, and
 * this call is a no-op. 0 or -errno.
 */
int session__exec(struct session *s, pid_t pid);

/*
 * A program the caller launched (launcher.h) stopped or exited: handle what
 * the launcher reports, up to 64 events: an exec is session__exec(); a stop
 * on the way out symbolizes what is waiting and reads the last thread names
 * while its memory exists (session__sync()); both resume it. Sets *exited
 * and *status once it has exited. Call on SIGCHLD.
 */
void session__handle_child(struct session *s, pid_t child, bool *exited, int *status);

/*
 * Off-CPU profiling: time the threads that are off CPU right now from this
 * moment (they left it before anything could see them go). Call once,
 * after the first session__add_pid()s, before polling. A no-op otherwise.
 * 0 or -errno.
 */
int session__start(struct session *s);

/*
 * A file descriptor (an epoll set) that becomes readable when records or
 * process events are waiting or a target exited. Owned by the session.
 */
int session__fd(const struct session *s);

/* The longest the caller may wait on session__fd() before calling
 * session__poll() again, in ms (50 at most; less when a retry is due). */
int session__timeout_ms(const struct session *s);

/*
 * Do what is due, without blocking: deliver every waiting record and
 * process event in the order the kernel produced them, retry inspections
 * that are due, drop targets that exited, read thread names again (once a
 * second, and when new threads appear). Returns 0, or -errno on a fatal
 * error (out of memory, ring buffer failure).
 */
int session__poll(struct session *s);

/*
 * Symbolize what is waiting now and read every target's thread names
 * (e.g. a launched program stopped on its way out, memory still intact).
 * 0 or -errno.
 */
int session__sync(struct session *s);

/*
 * End of profiling: disable sampling, close off-CPU intervals still open
 * (up to now), deliver everything waiting, read thread names a last time.
 * Process-event programs stay attached until session__free(). Idempotent.
 * 0 or -errno.
 */
int session__stop(struct session *s);

/*
 * Off-CPU time: count the threads off CPU now up to now, in the current
 * profile, and the rest of their waits from now (before
 * session__take_profile() at an interval's end, so a long wait shows in
 * every interval it spans). A no-op for on-CPU sessions. 0 or -errno.
 */
int session__split_off_cpu(struct session *s);

/*
 * Nothing is left to profile: every pid added has exited, and no Python
 * process it started (with `subprocesses`) is still profiled or waiting to
 * be inspected. Non-Python descendants left behind (a daemon, a `sleep`)
 * do not keep the session going. Always false with `all`, and before the
 * first session__add_pid().
 */
bool session__done(const struct session *s);

/* The profile: owned by the session, valid until session__free() or
 * session__take_profile(). Its processes (process roots) and threads
 * carry pids; see profile.h. */
struct profile *session__profile(const struct session *s);

/*
 * Hand the profile to the caller (who frees it) and go on with an empty
 * one; live targets get new process entries in it (for `top`'s refresh
 * windows). NULL with errno = ENOMEM, and the session keeps its profile.
 */
struct profile *session__take_profile(struct session *s);

/* Per-thread on-CPU/off-CPU time since the start (not reset by
 * session__take_profile()); NULL-safe getters. */
const struct time_accounts *session__times(const struct session *s);
/* The records in time order, or NULL unless `timeline` was asked for. */
const struct timeline *session__timeline(const struct session *s);
/* What one on-CPU sample stands for, ns. */
uint64_t session__period_ns(const struct session *s);

struct session_stats {
	uint64_t samples;	/* records that went into the profile */
	uint64_t error_samples; /* of those, with an error frame */
	uint64_t dropped;	/* records of processes without a live target */
	uint64_t lost;		/* ring buffer full: records the kernel dropped */
	uint64_t lost_events;	/* process events the kernel dropped (exits are
				   still seen: each target holds a pidfd) */
	uint64_t truncated;	/* stacks cut at max_frames */
	size_t processes;	/* targets ever registered (instances) */
	size_t live;		/* targets registered now */
	size_t pending;		/* processes waiting to be inspected again */
	/* kernel map entries right now: registered processes (procs) and
	 * followed processes (--subprocesses); -1 when unreadable */
	long kernel_procs, kernel_followed;
	/* processes registered after an exec event, and how long that took
	 * from the exec (ns): the lag before their first sample (forked
	 * children are sampled by the kernel from their first instruction) */
	size_t pickups;
	uint64_t pickup_ns_total, pickup_ns_max;
};

/* Counters for the summary. 0 or -errno. */
int session__stats(const struct session *s, struct session_stats *out);

/* One target instance, live or gone. Strings belong to the session and
 * live until session__free(). */
struct session_process {
	pid_t pid;	     /* as the host sees it */
	pid_t ns_pid;	     /* in its own pid namespace; == pid outside one */
	const char *command; /* its command line */
	const char *version; /* "3.12.1" */
	const char *executable;
	bool alive;		  /* still a target */
	bool added;		  /* added by session__add_pid() (else followed/--all) */
	uint64_t samples;	  /* records that went into the profile */
	uint32_t profile_process; /* its process id in the current profile,
				     PROFILE_NO_PROCESS if none */
	uint64_t pickup_ns;	  /* from its exec() to its registration;
				     0 when found otherwise */
};

/*
 * Forget the target instances that are gone and have no entry in the
 * current profile (after session__take_profile()): a long-running session
 * (the agent) whose processes come and go keeps only what it still needs.
 * The others keep their order (indexes shift down); session__stats() still
 * counts the forgotten ones.
 */
void session__forget_gone(struct session *s);

/* Target instances, in order of registration (exec() makes a new one). */
size_t session__process_count(const struct session *s);
int session__process(const struct session *s, size_t i, struct session_process *out);

#endif /* PYEBPF_SESSION_H */
