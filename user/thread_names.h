/* SPDX-License-Identifier: MIT */
/*
 * Python's own thread names (threading.Thread.name: "MainThread",
 * "Thread-1 (worker)", ...), read from a running process's memory without
 * stopping it, and kept by kernel thread id.
 *
 * A refresh walks each interpreter's sys.modules to the threading module,
 * then its `_active` dict (get_ident() -> Thread) and `_main_thread`, and
 * reads every Thread's `_name` and, from 3.8 on, `_native_id` (the kernel
 * tid). 3.6 and 3.7 have no native id: there a thread is matched to its
 * tid through the PyThreadState a sample names (its thread_id is the
 * thread's get_ident()), or, for the main thread, by tid == pid. Measured
 * on 3.6 to 3.13 (tests/unit/test_thread_names.c), a steady refresh costs
 * about fifteen small reads plus six per thread; the first one also scans
 * sys.modules (a few hundred). Layouts come from struct py_layout: the
 * generated tables (3.6 - 3.12) and _Py_DebugOffsets (3.13, 3.14).
 *
 * Threads that exit keep their last name, so a profile written at the end
 * still names them. Names longer than THREAD_NAME_MAX bytes of UTF-8 are
 * cut. Not thread-safe: one thread uses a struct thread_names at a time.
 */
#ifndef PYEBPF_THREAD_NAMES_H
#define PYEBPF_THREAD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python_layout.h"
#include "python_object.h"
#include "python_process.h"

/* Longest name kept, in bytes of UTF-8 without the NUL. */
#define THREAD_NAME_MAX 256
/* Most threads read from one interpreter per refresh, and most kept in all
 * (the oldest exited ones are forgotten first). */
#define THREAD_NAMES_MAX_ACTIVE 4096
#define THREAD_NAMES_MAX 8192

struct thread_names;

/*
 * Thread names of the process `pp` describes (python_process__inspect()),
 * read with process_vm_readv. When the process lives in another pid
 * namespace, its native thread ids are translated to the caller's through
 * /proc/PID/task/TID/status. The table starts empty: call
 * thread_names__refresh(). NULL with errno: ENOTSUP when the layout lacks
 * offsets this needs (thread names are then unavailable, profiling is not
 * affected), ENOMEM.
 */
struct thread_names *thread_names__new(const struct python_process *pp);

/*
 * The same over any memory (tests feed synthetic memory): `layout`, the
 * address of the interpreter list head (python_process.interp_head_addr)
 * and the pid (the main thread's tid) as python_process has them. Thread
 * ids are taken as the target sees them. `reader` is copied; its ctx must
 * outlive the object.
 */
struct thread_names *thread_names__new_reader(const struct py_layout *layout,
					      uint64_t interp_head_addr, pid_t pid,
					      const struct py_reader *reader);

/* Free everything; NULL is fine. */
void thread_names__free(struct thread_names *tn);

/*
 * Read the names of the threads alive now. Known names are updated (a
 * thread renamed since), new threads added, and threads gone from
 * `_active` kept as exited. Cheap enough to call every second and whenever
 * a sample shows a new tid. Garbage or torn memory loses names, never
 * more: every walk is bounded, and a refresh gives up after 65536 reads.
 * Returns 0 once the interpreter list was read (a program that never
 * imported threading has no names, which is no error); -errno when it was
 * not: -ESRCH when the process is gone (the names read so far stay).
 */
int thread_names__refresh(struct thread_names *tn);

/*
 * The name of thread `tid` (as the kernel's initial pid namespace numbers
 * it, like struct pyebpf_sample.tid), or NULL when unknown. `tstate` is the
 * thread's PyThreadState address (struct pyebpf_sample.tstate), or 0: with
 * it a thread not known by tid yet is found by its thread state's
 * thread_id (one read, then remembered); 3.6 and 3.7 need this for every
 * thread but the main one. Call thread_names__refresh() first when `tid`
 * is new to the caller. The string belongs to `tn` and stays valid until
 * the next thread_names__refresh() or thread_names__free().
 */
const char *thread_names__lookup(struct thread_names *tn, pid_t tid, uint64_t tstate);

/* One known thread, for listings (the dump command). */
struct thread_name_info {
	pid_t tid;	  /* 0 while not known (3.6/3.7 before a lookup) */
	uint64_t ident;	  /* threading.get_ident(), 0 if unknown */
	bool alive;	  /* in `_active` at the last refresh */
	const char *name; /* valid as thread_names__lookup()'s result */
};

/* How many threads are known, alive or exited. */
size_t thread_names__count(const struct thread_names *tn);

/* The i-th known thread, for i < thread_names__count(), in no particular
 * order (sort them for stable output). 0, or -ENOENT past the end. */
int thread_names__get(const struct thread_names *tn, size_t i, struct thread_name_info *info);

#endif /* PYEBPF_THREAD_NAMES_H */
