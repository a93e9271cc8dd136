/* SPDX-License-Identifier: MIT */
/*
 * The BPF sampler: loads pyebpf's BPF programs, attaches them to the
 * cpu-clock event of every CPU, and delivers samples. This is the only
 * module that touches the BPF skeleton.
 *
 * Lifecycle: sampler__new (open, configure, load, attach) ->
 * sampler__add_process -> [sampler__snapshot_off_cpu] -> sampler__consume
 * ... -> sampler__set_enabled(false) -> [sampler__flush_off_cpu] ->
 * sampler__consume -> sampler__free.
 *
 * Without sampling (opts.no_sampling, for pyebpf dump): sampler__new (maps
 * and the thread iterator only) -> sampler__add_process -> sampler__dump ->
 * sampler__consume -> sampler__free.
 */
#ifndef PYEBPF_SAMPLER_H
#define PYEBPF_SAMPLER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyebpf.h"

struct sampler;

/* Called for every sample, in the polling thread. `len` is the record's
 * real size: header plus n_frames frames (already checked). Return 0 to go
 * on, non-zero to stop polling and make sampler__poll return it. */
typedef int (*sampler_cb)(const struct pyebpf_sample *sample, void *ctx);

/* Called for every process event (opts.follow_processes), in the polling
 * thread, in ring-buffer order with the samples around it. Return as
 * sampler_cb does. */
typedef int (*sampler_event_cb)(const struct pyebpf_process_event *event, void *ctx);

struct sampler_opts {
	unsigned int rate_hz;	 /* samples per second per CPU-busy thread;
				    ignored (may be 0) with no_sampling */
	unsigned int max_frames; /* <= PYEBPF_MAX_FRAMES */
	unsigned int max_processes;
	bool off_cpu;	    /* also time every interval a thread is off CPU */
	bool gil_state;	    /* report whether each sampled thread holds the GIL */
	bool kernel_stacks; /* append the kernel stack to every record */
	bool no_sampling;   /* load no program but the thread iterator: no perf
			       events, nothing runs until sampler__dump();
			       not with off_cpu or follow_processes */
	/* process life events (include/pyebpf.h): load the fork, exec and
	 * exit programs, deliver events to on_event */
	bool follow_processes;
	bool follow_all;	   /* every process counts as followed */
	unsigned int max_followed; /* size of the followed map; 0: default */
	sampler_event_cb on_event; /* required with follow_processes */
	sampler_cb on_sample;
	void *ctx;
};

/*
 * Load and attach. Returns NULL with errno set, and a one-line reason in
 * `why` (at most why_size bytes) naming what is missing (privileges, BTF,
 * a kernel feature).
 */
struct sampler *sampler__new(const struct sampler_opts *opts, char *why, size_t why_size);
void sampler__free(struct sampler *s);

/* Start or replace the registration of process `pid`. 0 or -errno. */
int sampler__add_process(struct sampler *s, uint32_t pid, const struct pyebpf_proc *proc);
int sampler__remove_process(struct sampler *s, uint32_t pid);

/*
 * Off-CPU profiling only. Threads of registered processes that are off CPU
 * right now left it before anything could see them go: read their stacks
 * now and count their time off CPU from this moment. Call once the
 * processes are registered. 0 or -errno.
 */
int sampler__snapshot_off_cpu(struct sampler *s);

/*
 * Send every thread of the registered processes that has a Python thread
 * state as one PYEBPF_KIND_DUMP record (its stack now, whether it is
 * active, its GIL state when opts.gil_state), without stopping anything;
 * deliver them with sampler__consume. Needs opts.no_sampling or
 * opts.off_cpu (the thread iterator). 0 or -errno (-EINVAL without the
 * iterator). A record that does not fit in the ring buffer is counted in
 * PYEBPF_STAT_LOST.
 */
int sampler__dump(struct sampler *s);

/*
 * Off-CPU profiling only. Stop timing context switches and send the
 * intervals of threads still off CPU, up to now; deliver them with
 * sampler__consume. 0 or -errno.
 */
int sampler__flush_off_cpu(struct sampler *s);

/*
 * Off-CPU profiling only, while it goes on: send the intervals of threads
 * off CPU now, up to now, and go on timing them from now; deliver them
 * with sampler__consume. 0 or -errno.
 */
int sampler__split_off_cpu(struct sampler *s);

/* The sampling period in nanoseconds of CPU time: what one on-CPU sample
 * stands for; 0 with no_sampling. */
uint64_t sampler__period_ns(const struct sampler *s);

/* Pause or resume sampling on every CPU (the programs stay loaded). */
int sampler__set_enabled(struct sampler *s, bool enabled);

/* A file descriptor that becomes readable when samples are waiting. */
int sampler__fd(const struct sampler *s);

/* Deliver every sample waiting now. Returns the number delivered, or the
 * callback's non-zero value, or -errno. */
int sampler__consume(struct sampler *s);

/* Follow process `pid` (and, through the kernel, its future children):
 * follow_processes only. 0 or -errno (-ENOSPC: the map is full). */
int sampler__follow(struct sampler *s, uint32_t pid);
int sampler__unfollow(struct sampler *s, uint32_t pid);

/* How many entries the `procs` and `followed` maps hold now (followed: 0
 * without follow_processes). 0 or -errno. */
int sampler__map_entries(const struct sampler *s, long *procs, long *followed);

/* Sum the kernel's counters over CPUs into out[PYEBPF_STAT__COUNT]. */
int sampler__stats(const struct sampler *s, uint64_t out[PYEBPF_STAT__COUNT]);

/* Cumulative run time (ns) and run count of the sampling program, when the
 * kernel's BPF statistics are enabled (see sampler__enable_run_stats). */
int sampler__run_stats(const struct sampler *s, uint64_t *run_ns, uint64_t *run_cnt);

/* The same for the context-switch program (off-CPU profiling only). */
int sampler__switch_run_stats(const struct sampler *s, uint64_t *run_ns, uint64_t *run_cnt);

/* Turn on the kernel's BPF run-time statistics for the sampler's life. */
int sampler__enable_run_stats(struct sampler *s);

#endif /* PYEBPF_SAMPLER_H */
