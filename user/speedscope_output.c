// SPDX-License-Identifier: MIT
/*
 * speedscope output: collect the stacks, number the frames they use in
 * sorted order, sort the stacks by thread and frame indices, write one
 * sampled profile per thread.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "profile.h"
#include "report.h"
#include "speedscope_output.h"

#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"

struct stack {
	const uint32_t *frames;
	size_t n;
	uint64_t weight;
	const struct profile_thread *thread; /* NULL: no thread */
};

struct writer {
	const struct report *r;
	const struct profile *p;
	FILE *out;
	struct stack *stacks;
	size_t n_stacks;
	uint32_t *order; /* frame ids in output order */
	size_t n_frames;
	uint32_t *index; /* frame id -> output index; UINT32_MAX: unused */
	bool seconds;	 /* weights in seconds (else sample counts) */
};

static int collect_cb(const struct profile_stack *s, void *ctx)
{
	struct writer *w = ctx;
	struct stack *st = &w->stacks[w->n_stacks++];

	*st = (struct stack){s->frames, s->n, s->weight, NULL};
	if (s->thread != PROFILE_NO_THREAD)
		st->thread = profile__thread(w->p, s->thread);
	for (size_t i = 0; i < s->n; i++) {
		if (w->index[s->frames[i]] == UINT32_MAX) {
			w->index[s->frames[i]] = 0;
			w->order[w->n_frames++] = s->frames[i];
		}
	}
	return 0;
}

static int str_cmp(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* Frames by (function, file, line, kind), bytewise. */
static int frame_cmp(const void *a, const void *b, void *ctx)
{
	const struct profile_frame *x = profile__frame(ctx, *(const uint32_t *)a);
	const struct profile_frame *y = profile__frame(ctx, *(const uint32_t *)b);
	int c = strcmp(x->function, y->function);

	if (!c)
		c = str_cmp(x->file, y->file);
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	if (!c)
		c = (x->kind > y->kind) - (x->kind < y->kind);
	return c;
}

/* Threads by tid, then pid; no thread last. */
static int thread_cmp(const struct profile_thread *x, const struct profile_thread *y)
{
	if (!x || !y)
		return !x - !y;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	/* one pid reused, or before and after an exec(): two processes */
	return (x->process > y->process) - (x->process < y->process);
}

/* Stacks by thread, then by their frames' output indices, root first. */
static int stack_cmp(const void *a, const void *b, void *ctx)
{
	const struct stack *x = a, *y = b;
	const uint32_t *index = ctx;
	int c = thread_cmp(x->thread, y->thread);

	for (size_t i = 0; !c && i < x->n && i < y->n; i++) {
		uint32_t fx = index[x->frames[i]], fy = index[y->frames[i]];

		c = (fx > fy) - (fx < fy);
	}
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The stacks of one profile: stacks[from..to) share their thread. */
static size_t group_end(const struct writer *w, size_t from)
{
	size_t to = from + 1;

	while (to < w->n_stacks && !thread_cmp(w->stacks[from].thread, w->stacks[to].thread))
		to++;
	return to;
}

static void write_weight(const struct writer *w, uint64_t weight)
{
	if (w->r->unit == REPORT_SAMPLES && w->seconds)
		json_writer__decimal(w->out, (unsigned __int128)weight * w->r->period_ns, 9);
	else if (w->seconds)
		json_writer__decimal(w->out, weight, 9);
	else
		json_writer__decimal(w->out, weight, 0);
}

static void write_frames(const struct writer *w)
{
	fputs("\"shared\":{\"frames\":[", w->out);
	for (size_t i = 0; i < w->n_frames; i++) {
		const struct profile_frame *f = profile__frame(w->p, w->order[i]);

		fputs(i ? ",\n" : "\n", w->out);
		fputs("{\"name\":", w->out);
		json_writer__string(w->out, f->function[0] ? f->function : "?");
		fputs(",\"file\":", w->out);
		json_writer__string(w->out, f->file);
		fprintf(w->out, ",\"line\":%d,\"col\":0}", f->line > 0 ? f->line : 0);
	}
	fputs("]},\n", w->out);
}

/* `Thread TID "NAME"`, `Thread TID`, `Process PID` or "No thread". */
static void write_profile_name(const struct writer *w, const struct profile_thread *t)
{
	FILE *out = w->out;

	putc('"', out);
	if (t && w->r->show_processes && t->process != PROFILE_NO_PROCESS) {
		/* many processes: say whose thread */
		json_writer__chars(out, profile__process(w->p, t->process)->label);
		json_writer__chars(out, " ");
	}
	if (t) {
		fprintf(out, "Thread %d", (int)t->tid);
		if (t->name) {
			json_writer__chars(out, " \"");
			json_writer__chars(out, t->name);
			json_writer__chars(out, "\"");
		}
	} else if (w->r->pid > 0) {
		fprintf(out, "Process %d", (int)w->r->pid);
	} else {
		fputs("No thread", out);
	}
	putc('"', out);
}

/* One sampled profile of stacks[from..to) (empty when from == to). */
static void write_profile(const struct writer *w, size_t from, size_t to)
{
	FILE *out = w->out;
	uint64_t total = 0;

	for (size_t i = from; i < to; i++)
		total += w->stacks[i].weight; /* the profile's total bounds it */
	fputs("{\"type\":\"sampled\",\"name\":", out);
	write_profile_name(w, from < to ? w->stacks[from].thread : NULL);
	fprintf(out,
		",\"unit\":\"%s\",\"startValue\":0,\"endValue\":", w->seconds ? "seconds" : "none");
	write_weight(w, total);
	fputs(",\n\"samples\":[", out);
	for (size_t i = from; i < to; i++) {
		const struct stack *s = &w->stacks[i];

		fputs(i > from ? ",\n[" : "\n[", out);
		for (size_t j = 0; j < s->n; j++)
			fprintf(out, j ? ",%u" : "%u", w->index[s->frames[j]]);
		putc(']', out);
	}
	fputs("],\n\"weights\":[", out);
	for (size_t i = from; i < to; i++) {
		if (i > from)
			putc(',', out);
		write_weight(w, w->stacks[i].weight);
	}
	fputs("]}", out);
}

/* The main thread's profile, or else the heaviest. */
static size_t active_profile(const struct writer *w)
{
	size_t best = 0, k = 0;
	uint64_t best_total = 0;

	for (size_t from = 0, to; from < w->n_stacks; from = to, k++) {
		const struct profile_thread *t = w->stacks[from].thread;
		uint64_t total = 0;

		to = group_end(w, from);
		if (t && w->r->pid > 0 && t->tid == w->r->pid && t->pid == w->r->pid)
			return k;
		for (size_t i = from; i < to; i++)
			total += w->stacks[i].weight;
		if (total > best_total) {
			best = k;
			best_total = total;
		}
	}
	return best;
}

static void write_file(const struct writer *w)
{
	FILE *out = w->out;

	fputs("{\"$schema\":\"" SCHEMA_URL "\",\n\"exporter\":\"pyebpf\",\"name\":\"", out);
	if (w->r->command && w->r->command[0]) {
		json_writer__chars(out, w->r->command);
		if (w->r->pid > 0)
			fprintf(out, " (pid %d)", (int)w->r->pid);
	} else if (w->r->pid > 0) {
		fprintf(out, "pid %d", (int)w->r->pid);
	} else {
		fputs("pyebpf profile", out);
	}
	fprintf(out, "\",\"activeProfileIndex\":%zu,\n", active_profile(w));
	write_frames(w);
	fputs("\"profiles\":[\n", out);
	if (!w->n_stacks)
		write_profile(w, 0, 0);
	for (size_t from = 0, to; from < w->n_stacks; from = to) {
		to = group_end(w, from);
		if (from)
			fputs(",\n", out);
		write_profile(w, from, to);
	}
	fputs("]}\n", out);
}

int speedscope_output__write(const struct report *r, FILE *out)
{
	struct writer w = {.r = r, .out = out};
	size_t n_frames, n_stacks;
	int err = 0;

	if (!r || !r->profile || !out)
		return -EINVAL;
	w.p = r->profile;
	w.seconds = r->unit == REPORT_NANOSECONDS || r->period_ns;
	n_frames = profile__frame_count(w.p);
	n_stacks = profile__stack_count(w.p);
	w.stacks = calloc(n_stacks ? n_stacks : 1, sizeof(*w.stacks));
	w.order = calloc(n_frames ? n_frames : 1, sizeof(*w.order));
	w.index = malloc((n_frames ? n_frames : 1) * sizeof(*w.index));
	if (!w.stacks || !w.order || !w.index) {
		err = -ENOMEM;
		goto cleanup;
	}
	memset(w.index, 0xff, n_frames * sizeof(*w.index));
	err = profile__foreach(w.p, collect_cb, &w);
	if (err)
		goto cleanup;
	qsort_r(w.order, w.n_frames, sizeof(*w.order), frame_cmp, (void *)w.p);
	for (size_t i = 0; i < w.n_frames; i++)
		w.index[w.order[i]] = (uint32_t)i;
	qsort_r(w.stacks, w.n_stacks, sizeof(*w.stacks), stack_cmp, w.index);

	errno = 0;
	write_file(&w);
	if (fflush(out) || ferror(out))
		err = errno ? -errno : -EIO;
cleanup:
	free(w.index);
	free(w.order);
	free(w.stacks);
	return err;
}
