// SPDX-License-Identifier: MIT
/*
 * Folded-stack output: collect the profile's stacks, sort them by their
 * text without building it, write them out.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "folded_output.h"
#include "profile.h"
#include "report.h"

/* One stack's text: its elements are the process's and the thread's root
 * frames (when shown) and then its frames' labels. */
struct line {
	const char *roots[2]; /* process, thread labels, when shown */
	size_t n_roots;
	const uint32_t *frames;
	size_t n; /* elements, the roots included */
	uint64_t weight;
};

struct collect {
	const struct profile *p;
	bool threads;	/* shown */
	bool processes; /* shown */
	struct line *lines;
	size_t len;
};

static int collect_cb(const struct profile_stack *s, void *ctx)
{
	struct collect *c = ctx;
	const struct profile_thread *t =
		s->thread != PROFILE_NO_THREAD ? profile__thread(c->p, s->thread) : NULL;
	struct line *l = &c->lines[c->len++];

	*l = (struct line){.frames = s->frames, .weight = s->weight};
	if (c->processes && t && t->process != PROFILE_NO_PROCESS)
		l->roots[l->n_roots++] = profile__process(c->p, t->process)->label;
	if (c->threads && t)
		l->roots[l->n_roots++] = t->label;
	l->n = s->n + l->n_roots;
	return 0;
}

/* Element i's text. Labels are owned by the profile, so equal pointers
 * mean equal text. */
static const char *label(const struct profile *p, const struct line *l, size_t i)
{
	if (i < l->n_roots)
		return l->roots[i];
	return profile__frame(p, l->frames[i - l->n_roots])->label;
}

/* The byte after *s in a stack's text "label0;label1;...": the label's
 * next byte, ';' between labels, or -1 at the end. */
static int text_byte(const struct line *l, size_t i, const char *s)
{
	if (*s)
		return (unsigned char)*s;
	return i + 1 < l->n ? ';' : -1;
}

/* Bytewise order of the two stacks' texts, without building them. */
static int line_cmp(const void *a, const void *b, void *ctx)
{
	const struct line *x = a, *y = b;
	size_t ix = 0, iy;
	const char *sx, *sy;

	/* the same label pointer is the same text: skip the shared root */
	while (ix < x->n && ix < y->n && label(ctx, x, ix) == label(ctx, y, ix))
		ix++;
	if (ix == x->n || ix == y->n)
		return (x->n > y->n) - (x->n < y->n);
	iy = ix;
	sx = label(ctx, x, ix);
	sy = label(ctx, y, iy);
	for (;;) {
		int bx, by;

		while (*sx && *sx == *sy) {
			sx++;
			sy++;
		}
		bx = text_byte(x, ix, sx);
		by = text_byte(y, iy, sy);
		if (bx != by || bx == -1)
			return (bx > by) - (bx < by);
		/* equal bytes, one or both at the end of a label */
		if (*sx)
			sx++;
		else
			sx = label(ctx, x, ++ix);
		if (*sy)
			sy++;
		else
			sy = label(ctx, y, ++iy);
	}
}

static int write_line(const struct profile *p, const struct line *l, uint64_t weight, FILE *out)
{
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			putc(';', out);
		fputs(label(p, l, i), out);
	}
	fprintf(out, " %" PRIu64 "\n", weight);
	return ferror(out) ? -1 : 0;
}

int folded_output__write(const struct report *r, FILE *out)
{
	const struct profile *p = r ? r->profile : NULL;
	struct collect c = {
		.p = p, .threads = r && r->show_threads, .processes = r && r->show_processes};
	size_t count;
	int err = 0;

	if (!p || !out)
		return -EINVAL;
	count = profile__stack_count(p);
	if (count) {
		c.lines = calloc(count, sizeof(*c.lines));
		if (!c.lines)
			return -ENOMEM;
		profile__foreach(p, collect_cb, &c);
		qsort_r(c.lines, c.len, sizeof(*c.lines), line_cmp, (void *)p);
	}

	errno = 0;
	for (size_t i = 0; i < c.len && !err;) {
		uint64_t weight = c.lines[i].weight;
		size_t j = i + 1;

		/* identical text: one line (the total bounds the sum) */
		while (j < c.len && !line_cmp(&c.lines[i], &c.lines[j], (void *)p))
			weight += c.lines[j++].weight;
		err = write_line(p, &c.lines[i], weight, out);
		i = j;
	}
	if (!err && fflush(out))
		err = -1;
	if (err)
		err = errno ? -errno : -EIO;
	free(c.lines);
	return err;
}
