// SPDX-License-Identifier: MIT
/*
 * Folded-stack output: collect the profile's stacks, sort them by their
 * text without building it, write them out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "folded.h"
#include "profile.h"

struct line {
	const uint32_t *frames;
	size_t n;
	uint64_t weight;
};

struct collect {
	struct line *lines;
	size_t len;
};

static int collect_cb(const uint32_t *frames, size_t n, uint64_t weight,
		      void *ctx)
{
	struct collect *c = ctx;

	c->lines[c->len++] = (struct line){ frames, n, weight };
	return 0;
}

/* Walks a stack's text "label0;label1;...": the next byte, or -1 at the
 * end. */
struct cursor {
	const struct profile *p;
	const uint32_t *frames;
	size_t n, i;
	const char *s;
};

static int cursor_next(struct cursor *c)
{
	if (*c->s)
		return (unsigned char)*c->s++;
	if (c->i + 1 >= c->n)
		return -1;
	c->s = profile__frame(c->p, c->frames[++c->i])->label;
	return ';';
}

/* Bytewise order of the two stacks' texts. */
static int line_cmp(const void *a, const void *b, void *ctx)
{
	const struct line *x = a, *y = b;
	struct cursor cx = { ctx, x->frames, x->n, 0, NULL };
	struct cursor cy = { ctx, y->frames, y->n, 0, NULL };
	size_t i = 0;
	int bx, by;

	/* the same frame id is the same label: skip the shared root */
	while (i < x->n && i < y->n && x->frames[i] == y->frames[i])
		i++;
	if (i == x->n || i == y->n)
		return (x->n > y->n) - (x->n < y->n);
	/* both go on past frame i; their texts agree up to its label */
	cx.i = cy.i = i;
	cx.s = profile__frame(ctx, x->frames[i])->label;
	cy.s = profile__frame(ctx, y->frames[i])->label;
	do {
		bx = cursor_next(&cx);
		by = cursor_next(&cy);
	} while (bx == by && bx != -1);
	return (bx > by) - (bx < by);
}

static int write_line(const struct profile *p, const struct line *l,
		      uint64_t weight, FILE *out)
{
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			putc(';', out);
		fputs(profile__frame(p, l->frames[i])->label, out);
	}
	fprintf(out, " %" PRIu64 "\n", weight);
	return ferror(out) ? -1 : 0;
}

int folded__write(const struct profile *p, FILE *out)
{
	struct collect c = { 0 };
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
		while (j < c.len && !line_cmp(&c.lines[i], &c.lines[j],
					      (void *)p))
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
