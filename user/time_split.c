// SPDX-License-Identifier: MIT
#include "time_split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Threads are few (tens, rarely thousands): a linear scan from the last
 * one hit is enough, and keeps the order of first appearance. */
struct time_accounts {
	struct thread_times *threads;
	size_t n, cap, last;
	struct time_split total;
};

struct time_accounts *time_accounts__new(void)
{
	return calloc(1, sizeof(struct time_accounts));
}

void time_accounts__free(struct time_accounts *a)
{
	if (!a)
		return;
	free(a->threads);
	free(a);
}

static struct thread_times *find_thread(struct time_accounts *a, uint32_t pid, uint32_t tid)
{
	size_t i;

	if (a->last < a->n && a->threads[a->last].tid == tid && a->threads[a->last].pid == pid)
		return &a->threads[a->last];
	for (i = 0; i < a->n; i++)
		if (a->threads[i].tid == tid && a->threads[i].pid == pid)
			goto found;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16;
		struct thread_times *nt = realloc(a->threads, ncap * sizeof(*nt));

		if (!nt)
			return NULL;
		a->threads = nt;
		a->cap = ncap;
	}
	memset(&a->threads[i], 0, sizeof(a->threads[i]));
	a->threads[i].pid = pid;
	a->threads[i].tid = tid;
	a->n++;
found:
	a->last = i;
	return &a->threads[i];
}

static void add_to(struct time_split *t, const struct pyebpf_sample *s, uint64_t period_ns)
{
	if (s->kind == PYEBPF_KIND_CPU) {
		t->cpu_ns += period_ns;
		if (s->flags & PYEBPF_SAMPLE_GIL_KNOWN)
			t->gil_known_ns += period_ns;
		if (s->flags & PYEBPF_SAMPLE_HOLDS_GIL)
			t->gil_ns += period_ns;
		return;
	}
	if (s->off_class > PYEBPF_OFF_NONE && s->off_class < PYEBPF_OFF__COUNT)
		t->off_ns[s->off_class] += s->off_ns;
	t->off_ns[PYEBPF_OFF_RUNQUEUE] += s->runq_ns;
}

int time_accounts__add(struct time_accounts *a, const struct pyebpf_sample *s, uint64_t period_ns)
{
	struct thread_times *th = find_thread(a, s->pid, s->tid);

	if (!th)
		return -ENOMEM;
	add_to(&th->t, s, period_ns);
	add_to(&a->total, s, period_ns);
	return 0;
}

const struct time_split *time_accounts__total(const struct time_accounts *a)
{
	return &a->total;
}

size_t time_accounts__thread_count(const struct time_accounts *a)
{
	return a->n;
}

const struct thread_times *time_accounts__thread(const struct time_accounts *a, size_t i)
{
	return i < a->n ? &a->threads[i] : NULL;
}

/* Per class: its tag in [off-cpu:TAG] frames, and its title in summaries. */
static const struct {
	const char *tag, *title;
} classes[PYEBPF_OFF__COUNT] = {
	[PYEBPF_OFF_NONE] = {"cpu", "on CPU"},
	[PYEBPF_OFF_IO] = {"io", "I/O or sleep"},
	[PYEBPF_OFF_DISK] = {"disk", "disk (uninterruptible)"},
	[PYEBPF_OFF_LOCK] = {"lock", "lock"},
	[PYEBPF_OFF_GIL] = {"gil", "GIL"},
	[PYEBPF_OFF_RUNQUEUE] = {"runqueue", "run queue"},
	[PYEBPF_OFF_STOPPED] = {"stopped", "stopped"},
};

const char *time_class_title(enum pyebpf_off_class c)
{
	return (unsigned int)c < PYEBPF_OFF__COUNT && classes[c].title ? classes[c].title : "?";
}

const char *time_class_tag(enum pyebpf_off_class c)
{
	return (unsigned int)c < PYEBPF_OFF__COUNT && classes[c].tag ? classes[c].tag : "?";
}

uint64_t time_split_wall(const struct time_split *t)
{
	uint64_t w = t->cpu_ns;
	int c;

	for (c = PYEBPF_OFF_NONE + 1; c < PYEBPF_OFF__COUNT; c++)
		w += t->off_ns[c];
	return w;
}

static void print_split(FILE *out, const char *who, const struct time_split *t)
{
	uint64_t wall = time_split_wall(t);
	int c;

	fprintf(out, "  %s%.2f s: on CPU %.1f%%", who, wall / 1e9,
		wall ? 100.0 * t->cpu_ns / wall : 0.0);
	for (c = PYEBPF_OFF_NONE + 1; c < PYEBPF_OFF__COUNT; c++)
		if (t->off_ns[c])
			fprintf(out, ", %s %.1f%%", time_class_title(c),
				100.0 * t->off_ns[c] / wall);
	if (t->gil_known_ns)
		fprintf(out, "; holding the GIL %.1f%% of the time on CPU",
			100.0 * t->gil_ns / t->gil_known_ns);
	fputc('\n', out);
}

static int by_wall_desc(const void *x, const void *y)
{
	const struct thread_times *a = x, *b = y;
	uint64_t wa = time_split_wall(&a->t), wb = time_split_wall(&b->t);

	if (wa != wb)
		return wa > wb ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

int time_accounts__print(FILE *out, const struct time_accounts *a, int per_thread)
{
	struct thread_times *sorted;
	char who[64];
	size_t i;

	print_split(out, "wall time ", &a->total);
	if (per_thread && a->n) {
		sorted = malloc(a->n * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, a->threads, a->n * sizeof(*sorted));
		qsort(sorted, a->n, sizeof(*sorted), by_wall_desc);
		for (i = 0; i < a->n; i++) {
			snprintf(who, sizeof(who), "thread %u: ", sorted[i].tid);
			print_split(out, who, &sorted[i].t);
		}
		free(sorted);
	}
	return ferror(out) ? -EIO : 0;
}
