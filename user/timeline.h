/* SPDX-License-Identifier: MIT */
/*
 * The profile's records in time order, for formats that show a timeline
 * (chrometrace). Each event is one record: a stack of the profile (which
 * carries its thread), when it started and how long it stands for.
 * Memory grows with the number of records (16 bytes each), so it is kept
 * only when such a format is asked for.
 */
#ifndef PYEBPF_TIMELINE_H
#define PYEBPF_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

struct timeline;

struct timeline_event {
	uint64_t start_ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	uint32_t duration_ns; /* on-CPU: the sampling period; off-CPU: the
				 interval (capped at UINT32_MAX, ~4.3 s; longer
				 intervals are split into several events) */
	uint32_t stack;	      /* a stack id of the profile */
};

/* An empty timeline; NULL with errno on failure. */
struct timeline *timeline__new(void);
void timeline__free(struct timeline *t); /* accepts NULL */

/* Appends an event (events may arrive out of order: each CPU's records come
 * in order, CPUs interleave). Durations over UINT32_MAX ns become several
 * consecutive events, the last one the remainder (an interval reaching
 * past UINT64_MAX ns keeps its length but its pieces start no later than
 * UINT64_MAX). A duration of 0 is one event of 0. 0, -EINVAL for a NULL t,
 * or -ENOMEM (nothing added, not even part of a split interval). */
int timeline__add(struct timeline *t, uint32_t stack, uint64_t start_ns, uint64_t duration_ns);

/* Sorts the events by start time (then stack id, then duration, so the
 * order is deterministic) and returns them; *n gets their number. The array
 * is owned by the timeline and valid until the next timeline__add(). NULL,
 * *n = 0, for a NULL or empty timeline. */
const struct timeline_event *timeline__sorted(struct timeline *t, size_t *n);

/* The same for a reader that holds a const timeline (the writers, through
 * struct report): the events sorted as above, sorting them in place if
 * needed, which changes what they are kept in but not the timeline's
 * value. The array is valid until the next timeline__add(). NULL, *n = 0,
 * for a NULL or empty timeline. */
const struct timeline_event *timeline__events(const struct timeline *t, size_t *n);

/* How many events the timeline holds (0 for NULL). */
size_t timeline__count(const struct timeline *t);

#endif /* PYEBPF_TIMELINE_H */
