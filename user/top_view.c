// SPDX-License-Identifier: MIT
/*
 * `pyebpf top`'s screen: per-stack weights frozen at each tick, rows
 * aggregated over the stacks by frame (line view) or function id (function
 * view), sorted, and written as lines cut to the terminal's width.
 */
#include "top_view.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "summary.h"

/* The table's columns: "%7s %7s %8s %9s  Function". */
#define COL_OWN_W 7
#define COL_TOTAL_W 7
#define COL_OWN_TIME_W 8
#define COL_TOTAL_TIME_W 9

struct top_view {
	/* weight of each stack (by id) at the previous tick and at the last
	 * reset; ids past the end had none */
	uint64_t *tick_mark, *reset_mark;
	size_t n_tick_mark, n_reset_mark;
	/* frozen at the last tick: weight gained in the last interval and
	 * since the start or reset, by stack id */
	uint64_t *interval, *since;
	size_t n_frozen;
};

struct top_view *top_view__new(void)
{
	return calloc(1, sizeof(struct top_view));
}

static void free_frozen(struct top_view *v)
{
	free(v->interval);
	free(v->since);
	v->interval = v->since = NULL;
	v->n_frozen = 0;
}

void top_view__free(struct top_view *v)
{
	if (!v)
		return;
	free(v->tick_mark);
	free(v->reset_mark);
	free_frozen(v);
	free(v);
}

/* The weight of every stack of p now, in a new array (one element at
 * least, so an empty profile is not a failure). */
static uint64_t *weights_now(const struct profile *p, size_t *n)
{
	uint64_t *w;

	*n = profile__stack_count(p);
	w = calloc(*n ? *n : 1, sizeof(*w));
	if (!w)
		return NULL;
	for (size_t i = 0; i < *n; i++) {
		struct profile_stack s;

		if (!profile__stack(p, (uint32_t)i, &s))
			w[i] = s.weight;
	}
	return w;
}

static uint64_t mark_of(const uint64_t *mark, size_t n, size_t i)
{
	return i < n ? mark[i] : 0;
}

int top_view__tick(struct top_view *v, const struct profile *p)
{
	uint64_t *now, *interval, *since;
	size_t n;

	if (!v || !p)
		return -EINVAL;
	now = weights_now(p, &n);
	interval = calloc(n ? n : 1, sizeof(*interval));
	since = calloc(n ? n : 1, sizeof(*since));
	if (!now || !interval || !since) {
		free(now);
		free(interval);
		free(since);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		interval[i] = now[i] - mark_of(v->tick_mark, v->n_tick_mark, i);
		since[i] = now[i] - mark_of(v->reset_mark, v->n_reset_mark, i);
	}
	free_frozen(v);
	v->interval = interval;
	v->since = since;
	v->n_frozen = n;
	free(v->tick_mark);
	v->tick_mark = now;
	v->n_tick_mark = n;
	return 0;
}

int top_view__reset(struct top_view *v, const struct profile *p)
{
	uint64_t *tick, *reset;
	size_t n;

	if (!v || !p)
		return -EINVAL;
	tick = weights_now(p, &n);
	reset = calloc(n ? n : 1, sizeof(*reset));
	if (!tick || !reset) {
		free(tick);
		free(reset);
		return -ENOMEM;
	}
	memcpy(reset, tick, n * sizeof(*reset));
	free(v->tick_mark);
	free(v->reset_mark);
	v->tick_mark = tick;
	v->reset_mark = reset;
	v->n_tick_mark = v->n_reset_mark = n;
	free_frozen(v);
	return 0;
}

/* --- rows ------------------------------------------------------------- */

struct row {
	const struct profile_frame *frame; /* one frame of the row */
	uint64_t own, total;		   /* in the last interval */
	uint64_t own_all, total_all;	   /* since the start or reset */
};

struct rows {
	struct row *rows;
	size_t n;
	uint64_t weight, weight_all; /* all stacks' weight, per scope */
	size_t threads_on_cpu;	     /* in the shown scope */
};

static int compute_rows(const struct top_view *v, const struct profile *p, bool by_function,
			bool cumulative, struct rows *out)
{
	size_t n_keys = by_function ? profile__function_count(p) : profile__frame_count(p);
	size_t n_threads = profile__thread_count(p), m = 0;
	struct row *rows = calloc(n_keys ? n_keys : 1, sizeof(*rows));
	size_t *seen = calloc(n_keys ? n_keys : 1, sizeof(*seen));
	bool *on_cpu = calloc(n_threads ? n_threads : 1, sizeof(*on_cpu));

	memset(out, 0, sizeof(*out));
	if (!rows || !seen || !on_cpu) {
		free(rows);
		free(seen);
		free(on_cpu);
		return -ENOMEM;
	}
	for (size_t i = 0; i < v->n_frozen; i++) {
		uint64_t w = v->interval[i], w_all = v->since[i];
		uint64_t w_scope = cumulative ? w_all : w;
		size_t leaf = SIZE_MAX; /* the innermost row's key */
		struct profile_stack s;

		if (!w_all || profile__stack(p, (uint32_t)i, &s))
			continue;
		out->weight += w;
		out->weight_all += w_all;
		if (w_scope && s.thread < n_threads && !profile_stack_off_cpu_frame(p, &s))
			on_cpu[s.thread] = true;
		for (size_t j = 0; j < s.n; j++) {
			const struct profile_frame *f = profile__frame(p, s.frames[j]);
			size_t key = by_function ? f->function_id : s.frames[j];

			if (summary_is_annotation(f))
				continue;
			leaf = key;
			if (seen[key] == i + 1)
				continue; /* recursion: once per stack */
			seen[key] = i + 1;
			rows[key].frame = f;
			rows[key].total += w;
			rows[key].total_all += w_all;
		}
		if (leaf != SIZE_MAX) {
			rows[leaf].own += w;
			rows[leaf].own_all += w_all;
		}
	}
	for (size_t i = 0; i < n_keys; i++)
		if (rows[i].total_all)
			rows[m++] = rows[i];
	for (size_t t = 0; t < n_threads; t++)
		out->threads_on_cpu += on_cpu[t];
	free(seen);
	free(on_cpu);
	out->rows = rows;
	out->n = m;
	return 0;
}

struct sort_ctx {
	enum top_sort sort;
	bool cumulative;
};

static uint64_t sort_key(const struct row *r, const struct sort_ctx *c)
{
	switch (c->sort) {
	case TOP_SORT_OWN:
		return c->cumulative ? r->own_all : r->own;
	case TOP_SORT_TOTAL:
		return c->cumulative ? r->total_all : r->total;
	case TOP_SORT_OWN_TIME:
		return r->own_all;
	case TOP_SORT_TOTAL_TIME:
		return r->total_all;
	}
	return 0;
}

/* a before b: -1; larger first */
static int desc(uint64_t a, uint64_t b)
{
	return a == b ? 0 : a > b ? -1 : 1;
}

static int row_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct row *a = pa, *b = pb;
	const struct profile_frame *fa = a->frame, *fb = b->frame;
	const struct sort_ctx *sc = ctx;
	int c;

	/* the column, then the shown scope's own and total, then the rest */
	if ((c = desc(sort_key(a, sc), sort_key(b, sc))))
		return c;
	if (!sc->cumulative && ((c = desc(a->own, b->own)) || (c = desc(a->total, b->total))))
		return c;
	if ((c = desc(a->own_all, b->own_all)) || (c = desc(a->total_all, b->total_all)))
		return c;
	if ((c = strcmp(fa->function, fb->function)))
		return c;
	if (!fa->file || !fb->file) {
		if (fa->file != fb->file)
			return (fa->file != NULL) - (fb->file != NULL);
	} else if ((c = strcmp(fa->file, fb->file))) {
		return c;
	}
	if (fa->line != fb->line)
		return fa->line < fb->line ? -1 : 1;
	return (int)fa->kind - (int)fb->kind;
}

/* --- text --------------------------------------------------------------- */

struct buf {
	char *s;
	size_t len, cap;
	bool failed; /* out of memory: everything after is dropped */
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *ns;

		while (cap < b->len + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* s with control characters shown as '?' */
static void buf_put_safe(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;
		char out = c < 0x20 || c == 0x7f ? '?' : (char)c;

		buf_put(b, &out, 1);
	}
}

/* The screen being written: whole lines, cut to the width. */
struct screen {
	struct buf text;
	struct buf line; /* the line being built */
	unsigned int width;
	size_t n_lines;
};

/* Ends the line being built: cut to the width (UTF-8 continuation bytes
 * take no column) and added to the screen. */
static void end_line(struct screen *sc)
{
	const char *s = sc->line.s ? sc->line.s : "";
	size_t n = sc->line.len, cut = n, cols = 0;

	if (sc->width) {
		for (size_t i = 0; i < n; i++) {
			if (((unsigned char)s[i] & 0xc0) == 0x80)
				continue;
			if (cols++ == sc->width) {
				cut = i;
				break;
			}
		}
	}
	buf_put(&sc->text, s, cut);
	buf_put(&sc->text, "\n", 1);
	if (sc->line.failed)
		sc->text.failed = true;
	sc->line.len = 0;
	sc->n_lines++;
}

static void put_line(struct screen *sc, const char *s)
{
	buf_put(&sc->line, s, strlen(s));
	end_line(sc);
}

static double seconds_of(uint64_t w, const struct top_header *h)
{
	return h->weights_ns ? (double)w / 1e9 : (double)w * (double)h->period_ns / 1e9;
}

/* Seconds with fewer decimals as they grow: 0.123s, 1.23s, 12.3s... */
static void format_time(char *buf, size_t size, double s)
{
	if (s >= 1000)
		snprintf(buf, size, "%.0fs", s);
	else if (s >= 100)
		snprintf(buf, size, "%.1fs", s);
	else if (s >= 1)
		snprintf(buf, size, "%.2fs", s);
	else
		snprintf(buf, size, "%.3fs", s);
}

static void format_pct(char *buf, size_t size, uint64_t part, uint64_t whole)
{
	if (whole)
		snprintf(buf, size, "%.2f%%", 100.0 * (double)part / (double)whole);
	else
		snprintf(buf, size, "-");
}

/* part of `secs` seconds, as a percentage, or "-" */
static void format_share(char *buf, size_t size, uint64_t ns, double secs)
{
	if (secs > 0)
		snprintf(buf, size, "%.2f%%", 100.0 * (double)ns / (secs * 1e9));
	else
		snprintf(buf, size, "-");
}

static void put_header(struct screen *sc, const struct top_header *h, const struct rows *rows,
		       bool cumulative)
{
	const struct time_split *t = cumulative ? &h->all : &h->interval;
	double secs = cumulative ? h->elapsed_s : h->interval_s;
	const char *what = h->weights_ns ? "Records" : "Samples";
	struct buf *l = &sc->line;
	char gil[32], active[32];

	buf_printf(l, "pyebpf top: ");
	buf_put_safe(l, h->target ? h->target : "?");
	if (h->python_version) {
		buf_printf(l, ", Python ");
		buf_put_safe(l, h->python_version);
	}
	buf_printf(l, ", %u Hz", h->rate_hz);
	if (h->command && *h->command) {
		buf_printf(l, ": ");
		buf_put_safe(l, h->command);
	}
	end_line(sc);

	buf_printf(l,
		   "%s: %" PRIu64 " in %.1f s%s, %" PRIu64 " in the last %.1f s; errors: %" PRIu64
		   ", lost: %" PRIu64,
		   what, h->samples, h->elapsed_s, h->was_reset ? " since the reset" : "",
		   h->interval_samples, h->interval_s, h->errors, h->lost);
	end_line(sc);

	if (!h->gil_state)
		snprintf(gil, sizeof(gil), "-");
	else if (t->cpu_ns && !t->gil_known_ns)
		snprintf(gil, sizeof(gil), "?"); /* this Python's GIL is unknown */
	else
		format_share(gil, sizeof(gil), t->gil_ns, secs);
	format_share(active, sizeof(active), t->cpu_ns, secs);
	buf_printf(l, "GIL: %s, Active: %s, ", gil, active);
	if (h->threads)
		buf_printf(l, "Threads: %zu (%zu on CPU)", h->threads, rows->threads_on_cpu);
	else
		buf_printf(l, "Threads on CPU: %zu", rows->threads_on_cpu);
	if (cumulative)
		buf_printf(l, "; over %.1f s since the %s", secs, h->was_reset ? "reset" : "start");
	else
		buf_printf(l, "; over the last %.1f s", secs);
	end_line(sc);

	if (h->wall) {
		uint64_t wall = time_split_wall(t);

		buf_printf(l, "Wall time %.2f s", (double)wall / 1e9);
		if (wall)
			buf_printf(l, ": on CPU %.1f%%", 100.0 * (double)t->cpu_ns / (double)wall);
		for (int c = PYEBPF_OFF_NONE + 1; wall && c < PYEBPF_OFF__COUNT; c++)
			if (t->off_ns[c])
				buf_printf(l, ", %s %.1f%%", time_class_title(c),
					   100.0 * (double)t->off_ns[c] / (double)wall);
		end_line(sc);
	}
	if (h->status) {
		buf_put_safe(l, h->status);
		end_line(sc);
	}
}

static void put_column_header(struct screen *sc, bool by_function)
{
	buf_printf(&sc->line, "%*s %*s %*s %*s  %s", COL_OWN_W, "%Own", COL_TOTAL_W, "%Total",
		   COL_OWN_TIME_W, "OwnTime", COL_TOTAL_TIME_W, "TotalTime",
		   by_function ? "Function (file)" : "Function (file:line)");
	end_line(sc);
}

static void put_row(struct screen *sc, const struct row *r, const struct rows *rows,
		    const struct top_header *h, bool by_function, bool cumulative)
{
	const struct profile_frame *f = r->frame;
	struct buf *l = &sc->line;
	char own[32], total[32], own_t[32], total_t[32];

	if (cumulative) {
		format_pct(own, sizeof(own), r->own_all, rows->weight_all);
		format_pct(total, sizeof(total), r->total_all, rows->weight_all);
	} else {
		format_pct(own, sizeof(own), r->own, rows->weight);
		format_pct(total, sizeof(total), r->total, rows->weight);
	}
	format_time(own_t, sizeof(own_t), seconds_of(r->own_all, h));
	format_time(total_t, sizeof(total_t), seconds_of(r->total_all, h));
	buf_printf(l, "%*s %*s %*s %*s  ", COL_OWN_W, own, COL_TOTAL_W, total, COL_OWN_TIME_W,
		   own_t, COL_TOTAL_TIME_W, total_t);
	buf_put_safe(l, *f->function ? f->function : "?");
	if (f->file) {
		buf_printf(l, " (");
		buf_put_safe(l, f->file);
		if (!by_function && f->line > 0)
			buf_printf(l, ":%d", f->line);
		buf_printf(l, ")");
	}
	end_line(sc);
}

static void put_key_help(struct screen *sc, const struct top_view_state *st)
{
	buf_printf(&sc->line, "1-4 < >: sort by %s   L: by %s   C: %s   R: reset   q: quit",
		   top_sort_name(st->sort), st->by_function ? "line" : "function",
		   st->cumulative ? "last interval" : "since start");
	end_line(sc);
}

int top_view__render(const struct top_view *v, const struct profile *p, const struct top_header *h,
		     const struct top_view_state *st, struct top_screen *out)
{
	struct sort_ctx ctx = {.sort = st ? st->sort : 0, .cumulative = st && st->cumulative};
	struct screen sc = {.width = st ? st->width : 0};
	struct rows rows;
	size_t n_rows, avail = SIZE_MAX, fixed;
	int err;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!v || !p || !h || !st || !out || (unsigned int)st->sort >= TOP_SORT_COLUMNS)
		return -EINVAL;
	out->table_header = -1;
	err = compute_rows(v, p, st->by_function, st->cumulative, &rows);
	if (err)
		return err;
	qsort_r(rows.rows, rows.n, sizeof(*rows.rows), row_cmp, &ctx);

	/* the header block, and the lines that must stay below it */
	put_header(&sc, h, &rows, st->cumulative);
	if (!st->snapshot)
		put_line(&sc, "");
	fixed = sc.n_lines + 1 + (st->snapshot ? 0 : 1); /* column header, key help */
	if (st->height) {
		avail = st->height;
		if (fixed > avail) {
			/* too small for the table: the header's first lines
			 * and the key help */
			size_t keep = st->snapshot ? avail : avail - 1, cut = 0, nl = 0;

			for (cut = 0; cut < sc.text.len && nl < keep; cut++)
				if (sc.text.s[cut] == '\n')
					nl++;
			sc.text.len = cut;
			if (sc.text.s)
				sc.text.s[cut] = '\0';
			sc.n_lines = keep;
			if (!st->snapshot)
				put_key_help(&sc, st);
			goto done;
		}
	}
	out->table_header = (int)sc.n_lines;
	put_column_header(&sc, st->by_function);

	n_rows = rows.n ? rows.n : 1; /* "(no samples)" */
	if (st->height && n_rows > avail - fixed)
		n_rows = avail - fixed;
	if (st->max_rows && n_rows > st->max_rows)
		n_rows = st->max_rows;
	if (!rows.n && n_rows)
		put_line(&sc, "  (no samples)");
	for (size_t i = 0; i < n_rows && i < rows.n; i++)
		put_row(&sc, &rows.rows[i], &rows, h, st->by_function, st->cumulative);
	if (!st->snapshot) {
		while (st->height && sc.n_lines < avail - 1)
			put_line(&sc, "");
		put_key_help(&sc, st);
	}
done:
	free(rows.rows);
	free(sc.line.s);
	if (sc.text.failed || !sc.text.s) {
		free(sc.text.s);
		out->table_header = -1;
		return -ENOMEM;
	}
	out->text = sc.text.s;
	out->len = sc.text.len;
	out->n_lines = sc.n_lines;
	return 0;
}

void top_screen__release(struct top_screen *s)
{
	if (!s)
		return;
	free(s->text);
	memset(s, 0, sizeof(*s));
	s->table_header = -1;
}

/* One escape sequence at buf[0] (ESC): its length, and the arrow it is
 * (-1 left, +1 right, 0 another key). A lone ESC is one byte. */
static size_t escape_sequence(const char *buf, size_t n, int *arrow)
{
	size_t i = 2;

	*arrow = 0;
	if (n < 2 || (buf[1] != '[' && buf[1] != 'O'))
		return 1;
	/* CSI: parameter and intermediate bytes, then one final byte */
	while (i < n && (unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] < 0x40)
		i++;
	if (i == n)
		return n;
	if (i == 2 && buf[i] == 'D')
		*arrow = -1;
	else if (i == 2 && buf[i] == 'C')
		*arrow = 1;
	return i + 1;
}

static unsigned int move_sort(struct top_view_state *st, int by)
{
	int c = (int)st->sort + by;

	if (c < 0 || c >= TOP_SORT_COLUMNS)
		return 0;
	st->sort = (enum top_sort)c;
	return TOP_KEY_REDRAW;
}

unsigned int top_view_keys(struct top_view_state *st, const char *buf, size_t n)
{
	unsigned int act = 0;
	size_t i = 0;

	while (i < n) {
		char k = buf[i];
		int arrow;

		if (k == 0x1b) {
			i += escape_sequence(buf + i, n - i, &arrow);
			if (arrow)
				act |= move_sort(st, arrow);
			continue;
		}
		i++;
		switch (k) {
		case '1':
		case '2':
		case '3':
		case '4':
			if (st->sort != (enum top_sort)(k - '1')) {
				st->sort = (enum top_sort)(k - '1');
				act |= TOP_KEY_REDRAW;
			}
			break;
		case '<':
		case ',':
			act |= move_sort(st, -1);
			break;
		case '>':
		case '.':
			act |= move_sort(st, 1);
			break;
		case 'L':
		case 'l':
			st->by_function = !st->by_function;
			act |= TOP_KEY_REDRAW;
			break;
		case 'C':
		case 'c':
			st->cumulative = !st->cumulative;
			act |= TOP_KEY_REDRAW;
			break;
		case 'R':
		case 'r':
			act |= TOP_KEY_RESET;
			break;
		case 'q':
		case 'Q':
		case 0x03: /* Ctrl-C, when the terminal does not make it SIGINT */
			return act | TOP_KEY_QUIT;
		default:
			break;
		}
	}
	return act;
}

void top_view_column(enum top_sort c, unsigned int *start, unsigned int *len)
{
	static const unsigned int widths[TOP_SORT_COLUMNS] = {COL_OWN_W, COL_TOTAL_W,
							      COL_OWN_TIME_W, COL_TOTAL_TIME_W};
	unsigned int end = 0;

	if ((unsigned int)c >= TOP_SORT_COLUMNS) {
		*start = *len = 0;
		return;
	}
	for (unsigned int i = 0; i <= (unsigned int)c; i++)
		end += (i ? 1 : 0) + widths[i];
	*len = (unsigned int)strlen(top_sort_name(c));
	*start = end - *len;
}

const char *top_sort_name(enum top_sort c)
{
	switch (c) {
	case TOP_SORT_OWN:
		return "%Own";
	case TOP_SORT_TOTAL:
		return "%Total";
	case TOP_SORT_OWN_TIME:
		return "OwnTime";
	case TOP_SORT_TOTAL_TIME:
		return "TotalTime";
	}
	return "?";
}
