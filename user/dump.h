/* SPDX-License-Identifier: MIT */
/*
 * pyebpf dump: the Python stack of every thread of a process (and, with
 * --subprocesses, of its descendants), as it is now, without stopping it.
 *
 * The stacks come from the kernel, read by the same walker that samples
 * (sampler__dump: a sleepable task iterator with bpf_copy_from_user_task),
 * so a process whose threads are all blocked (the usual hang) dumps like
 * any other. Userspace symbolizes the frames, names the threads and
 * prints them:
 *
 *   Process 1234: python3 app.py
 *   Python v3.12.1 (/usr/bin/python3.12)
 *
 *   Thread 1234 (idle): "MainThread"
 *       wait (threading.py:320)
 *       main (app.py:40)
 *       <module> (app.py:44)
 *   Thread 1240 (active+gil): "worker"
 *       crunch (app.py:12)
 *
 * Threads are listed main thread first, then by tid. "active" is the
 * kernel's TASK_RUNNING (on a CPU or runnable; py-spy's meaning), "idle"
 * anything else; "+gil" marks the thread that holds the GIL. A thread the
 * kernel could not read (threading knows it, its stack was not found)
 * still appears, with a "[stack not read]" frame.
 *
 * The writers are pure functions over a list of processes, so tests feed
 * them synthetic ones.
 */
#ifndef PYEBPF_DUMP_H
#define PYEBPF_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

struct dump_frame {
	const char *name; /* function (qualified on 3.11+), or a synthetic
			     "[...]" label */
	const char *file; /* as shown (short unless --full-filenames); NULL for
			     a synthetic frame */
	int line;	  /* > 0, or 0 when unknown */
};

struct dump_thread {
	pid_t pid;
	pid_t tid;
	const char *name; /* Python's thread name, NULL when unknown */
	bool active;	  /* on a CPU or runnable when read */
	bool owns_gil;
	const struct dump_frame *frames; /* leaf first */
	size_t n_frames;
};

struct dump_process {
	pid_t pid;
	const char *command;	/* its command line */
	const char *version;	/* "3.12.1" */
	const char *executable; /* /proc/PID/exe */
	const struct dump_thread *threads;
	size_t n_threads;
};

/* Sort threads as they are written: the main thread (tid == pid) first,
 * then by tid. */
void dump_sort_threads(struct dump_thread *threads, size_t n);

/*
 * The text dump: per process a "Process PID: COMMAND" and a "Python vX.Y.Z
 * (EXECUTABLE)" line, an empty line, then per thread "Thread TID (active|
 * idle[+gil])[: "NAME"]" and its frames leaf first, "    NAME (FILE:LINE)"
 * ("    NAME (FILE)" without a line, "    [LABEL]" for a synthetic one).
 * Processes are separated by an empty line. Control characters in names
 * are written as '?'. Returns 0, or -EIO when writing failed.
 */
int dump_write_text(const struct dump_process *procs, size_t n, FILE *out);

/*
 * The JSON dump: one array of every thread of every process, in order, each
 *   {"pid": N, "tid": N, "thread_name": "NAME" or null, "active": BOOL,
 *    "owns_gil": BOOL, "frames": [{"name": S, "filename": S or null,
 *    "line": N or null}, ...]}
 * frames leaf first, one thread and one frame a line. Strings are valid
 * JSON whatever their bytes (json_writer). Returns 0, or -EIO.
 */
int dump_write_json(const struct dump_process *procs, size_t n, FILE *out);

/* The dump command: prints to stdout, messages to stderr. Returns the exit
 * status: 0, or 1 after a one-line "pyebpf: ..." message. */
int dump_run(const struct cli_options *opts);

#endif /* PYEBPF_DUMP_H */
