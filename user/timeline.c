// SPDX-License-Identifier: MIT
/*
 * The timeline: a growable array of 16-byte events, sorted on demand. CPUs
 * interleave but each CPU's records come in order, so the array is often
 * already sorted; a flag remembers that and saves the sort.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "timeline.h"

_Static_assert(sizeof(struct timeline_event) == 16, "timeline events are 16 bytes");

struct timeline {
	struct timeline_event *events;
	size_t len, cap;
	bool sorted; /* events[] is in timeline__sorted() order */
};

struct timeline *timeline__new(void)
{
	struct timeline *t = calloc(1, sizeof(*t));

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->sorted = true;
	return t;
}

void timeline__free(struct timeline *t)
{
	if (!t)
		return;
	free(t->events);
	free(t);
}

/* The order of timeline__sorted(): start, then stack id; the duration
 * last, so equal keys are equal events and the order is total. */
static int event_cmp(const void *a, const void *b)
{
	const struct timeline_event *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return (x->duration_ns > y->duration_ns) - (x->duration_ns < y->duration_ns);
}

/* Room for `more` events, all or nothing. */
static int reserve(struct timeline *t, uint64_t more)
{
	struct timeline_event *events;
	size_t cap;

	if (more > SIZE_MAX / sizeof(*events) - t->len)
		return -ENOMEM;
	if (t->len + more <= t->cap)
		return 0;
	cap = t->cap ? t->cap : 256;
	while (cap < t->len + more)
		cap = cap > SIZE_MAX / sizeof(*events) / 2 ? t->len + more : cap * 2;
	events = realloc(t->events, cap * sizeof(*events));
	if (!events)
		return -ENOMEM;
	t->events = events;
	t->cap = cap;
	return 0;
}

int timeline__add(struct timeline *t, uint32_t stack, uint64_t start_ns, uint64_t duration_ns)
{
	/* one event, or one per UINT32_MAX ns (rounded up) */
	uint64_t n = duration_ns ? (duration_ns - 1) / UINT32_MAX + 1 : 1;
	int err;

	if (!t)
		return -EINVAL;
	err = reserve(t, n);
	if (err)
		return err;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t d = duration_ns > UINT32_MAX ? UINT32_MAX : duration_ns;
		struct timeline_event ev = {start_ns, (uint32_t)d, stack};

		if (t->sorted && t->len && event_cmp(&t->events[t->len - 1], &ev) > 0)
			t->sorted = false;
		t->events[t->len++] = ev;
		duration_ns -= d;
		/* the last piece ends where the interval does, unless that is
		 * past the end of time */
		start_ns = start_ns > UINT64_MAX - d ? UINT64_MAX : start_ns + d;
	}
	return 0;
}

static void sort(struct timeline *t)
{
	if (t->sorted)
		return;
	qsort(t->events, t->len, sizeof(*t->events), event_cmp);
	t->sorted = true;
}

const struct timeline_event *timeline__sorted(struct timeline *t, size_t *n)
{
	if (n)
		*n = t ? t->len : 0;
	if (!t)
		return NULL;
	sort(t);
	return t->events;
}

size_t timeline__count(const struct timeline *t)
{
	return t ? t->len : 0;
}

const struct timeline_event *timeline__events(const struct timeline *t, size_t *n)
{
	/* the order the events are kept in is not part of the timeline's
	 * value, and every timeline is allocated mutable */
	return timeline__sorted((struct timeline *)t, n);
}
