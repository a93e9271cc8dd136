// SPDX-License-Identifier: MIT
/*
 * Top functions by own and total time: one pass over the stacks with
 * per-function accumulators indexed by profile_frame.function_id, then two
 * sorts of the functions that have any weight.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "summary.h"

struct acc {
	const struct profile *p;
	struct summary_row *rows; /* by function id */
	size_t *seen;		  /* by function id: last stack counted, + 1 */
	size_t stack;
};

bool summary_is_annotation(const struct profile_frame *f)
{
	return f->kind == PROFILE_FRAME_OFF_CPU || f->kind == PROFILE_FRAME_KERNEL;
}

static int acc_cb(const struct profile_stack *s, void *ctx)
{
	const uint32_t *frames = s->frames;
	uint64_t weight = s->weight;
	size_t n = s->n;
	struct acc *a = ctx;
	const struct profile_frame *f = NULL, *leaf = NULL;

	a->stack++;
	for (size_t i = 0; i < n; i++) {
		struct summary_row *row;

		f = profile__frame(a->p, frames[i]);
		if (summary_is_annotation(f))
			continue;
		leaf = f;
		row = &a->rows[f->function_id];
		if (a->seen[f->function_id] == a->stack)
			continue; /* recursion: once per stack */
		a->seen[f->function_id] = a->stack;
		row->function = f->function;
		row->file = f->file;
		row->total += weight;
	}
	if (leaf)
		a->rows[leaf->function_id].self += weight;
	return 0;
}

static int name_cmp(const struct summary_row *a, const struct summary_row *b)
{
	int c = strcmp(a->function, b->function);

	if (c)
		return c;
	if (!a->file || !b->file)
		return (a->file != NULL) - (b->file != NULL);
	return strcmp(a->file, b->file);
}

static int self_cmp(const void *pa, const void *pb)
{
	const struct summary_row *a = pa, *b = pb;

	if (a->self != b->self)
		return a->self < b->self ? 1 : -1;
	return name_cmp(a, b);
}

static int total_cmp(const void *pa, const void *pb)
{
	const struct summary_row *a = pa, *b = pb;

	if (a->total != b->total)
		return a->total < b->total ? 1 : -1;
	return name_cmp(a, b);
}

int summary__top(const struct profile *p, size_t k, struct summary_row *by_self, size_t *n_self,
		 struct summary_row *by_total, size_t *n_total)
{
	size_t nfn = profile__function_count(p), m = 0, out;
	struct acc a = {.p = p};
	int err = 0;

	if (!p || !by_self != !n_self || !by_total != !n_total)
		return -EINVAL;
	if (n_self)
		*n_self = 0;
	if (n_total)
		*n_total = 0;
	if (!nfn)
		return 0;

	a.rows = calloc(nfn, sizeof(*a.rows));
	a.seen = calloc(nfn, sizeof(*a.seen));
	if (!a.rows || !a.seen) {
		err = -ENOMEM;
		goto cleanup;
	}
	profile__foreach(p, acc_cb, &a);

	/* keep the functions that appear in some stack */
	for (size_t i = 0; i < nfn; i++)
		if (a.rows[i].total)
			a.rows[m++] = a.rows[i];

	if (by_self) {
		qsort(a.rows, m, sizeof(*a.rows), self_cmp);
		for (out = 0; out < k && out < m && a.rows[out].self; out++)
			by_self[out] = a.rows[out];
		*n_self = out;
	}
	if (by_total) {
		qsort(a.rows, m, sizeof(*a.rows), total_cmp);
		for (out = 0; out < k && out < m; out++)
			by_total[out] = a.rows[out];
		*n_total = out;
	}
cleanup:
	free(a.seen);
	free(a.rows);
	return err;
}

/* fputs with control characters shown as '?' */
static void put_safe(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

/* A weight as printed: a count, or seconds for nanosecond weights. */
static int format_weight(char *buf, size_t size, uint64_t v, bool ns)
{
	if (ns)
		return snprintf(buf, size, "%.2fs", (double)v / 1e9);
	return snprintf(buf, size, "%" PRIu64, v);
}

static void print_table(FILE *out, const char *title, const char *pct_hdr, const char *val_hdr,
			const struct summary_row *rows, size_t n, int self, int width,
			uint64_t total, bool ns)
{
	char val[32];

	fprintf(out, "%s\n", title);
	if (!n) {
		fputs("  (no samples)\n", out);
		return;
	}
	fprintf(out, "  %6s  %*s  Function (file)\n", pct_hdr, width, val_hdr);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = self ? rows[i].self : rows[i].total;

		if (total)
			fprintf(out, "  %5.1f%%", 100.0 * (double)v / (double)total);
		else
			fprintf(out, "  %6s", "-");
		format_weight(val, sizeof(val), v, ns);
		fprintf(out, "  %*s  ", width, val);
		put_safe(out, rows[i].function);
		if (rows[i].file) {
			fputs(" (", out);
			put_safe(out, rows[i].file);
			putc(')', out);
		}
		putc('\n', out);
	}
}

int summary__print(FILE *out, const struct profile *p, size_t k, uint64_t total)
{
	return summary__print_weights(out, p, k, total, false);
}

int summary__print_weights(FILE *out, const struct profile *p, size_t k, uint64_t total, bool ns)
{
	char val[32];
	size_t nfn = profile__function_count(p), n_self, n_total;
	struct summary_row *rows;
	int width = 5; /* strlen("Total") */
	int err;

	if (!out || !p)
		return -EINVAL;
	if (k > nfn)
		k = nfn;
	rows = calloc(k ? 2 * k : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	err = summary__top(p, k, rows, &n_self, rows + k, &n_total);
	if (err)
		goto cleanup;

	for (size_t i = 0; i < n_self; i++)
		if (format_weight(val, sizeof(val), rows[i].self, ns) > width)
			width = (int)strlen(val);
	for (size_t i = 0; i < n_total; i++)
		if (format_weight(val, sizeof(val), rows[k + i].total, ns) > width)
			width = (int)strlen(val);

	print_table(out, "Top functions by own time:", "%Own", "Own", rows, n_self, 1, width, total,
		    ns);
	print_table(out, "Top functions by total time:", "%Total", "Total", rows + k, n_total, 0,
		    width, total, ns);
	if (ferror(out))
		err = -EIO;
cleanup:
	free(rows);
	return err;
}
