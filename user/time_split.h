/* SPDX-License-Identifier: MIT */
/*
 * Where the time went: per thread, nanoseconds on CPU (sampled: periods
 * times samples) and off CPU in each class (timed exactly by the kernel),
 * and the end-of-run lines that print the split.
 */
#ifndef PYEBPF_TIME_SPLIT_H
#define PYEBPF_TIME_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>

#include "pyebpf.h"

struct time_split {
	uint64_t cpu_ns;
	uint64_t off_ns[PYEBPF_OFF__COUNT]; /* indexed by enum pyebpf_off_class */
	uint64_t gil_ns;		    /* of cpu_ns, sampled while holding the GIL */
	uint64_t gil_known_ns;		    /* of cpu_ns, with the GIL state known */
};

struct thread_times {
	uint32_t pid, tid;
	struct time_split t;
};

struct time_accounts;

struct time_accounts *time_accounts__new(void);
void time_accounts__free(struct time_accounts *a);

/* Account one record; on-CPU samples count `period_ns` each. -ENOMEM. */
int time_accounts__add(struct time_accounts *a, const struct pyebpf_sample *s, uint64_t period_ns);

/* All threads together. */
const struct time_split *time_accounts__total(const struct time_accounts *a);

/* Threads in order of first appearance. */
size_t time_accounts__thread_count(const struct time_accounts *a);
const struct thread_times *time_accounts__thread(const struct time_accounts *a, size_t i);

/* "I/O or sleep", "GIL", ... for a class; "on CPU" for PYEBPF_OFF_NONE. */
const char *time_class_title(enum pyebpf_off_class c);
/* "io", "gil", ... as in the [off-cpu:CLASS] frames. */
const char *time_class_tag(enum pyebpf_off_class c);

uint64_t time_split_wall(const struct time_split *t);

/*
 * Prints the split of wall time, for all threads and, with per_thread, for
 * each thread (busiest first):
 *
 *   wall time 4.00 s: on CPU 50.1%, I/O or sleep 49.9%, GIL 0.0%, ...
 *
 * Classes that never occurred are left out. Returns 0 or -EIO.
 */
int time_accounts__print(FILE *out, const struct time_accounts *a, int per_thread);

#endif /* PYEBPF_TIME_SPLIT_H */
