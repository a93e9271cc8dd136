// SPDX-License-Identifier: MIT
/*
 * Chrome trace-event output: group the timeline's events by thread (a
 * stable counting sort keeps their time order), turn each thread's events
 * into spans with a stack of open frames, write the spans in the order
 * they opened.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chrometrace_output.h"
#include "json_writer.h"
#include "profile.h"
#include "report.h"
#include "timeline.h"

struct track {
	uint32_t thread; /* a profile thread id, or PROFILE_NO_THREAD */
	pid_t pid, tid;
	const char *name; /* NULL: unknown */
	size_t first, n;  /* its events: w->order[first..first + n) */
};

struct span {
	uint64_t start_ns, end_ns;
	uint32_t frame;
};

struct open_frame {
	uint32_t frame;
	size_t span; /* index into w->spans */
};

struct writer {
	const struct report *r;
	const struct profile *p;
	FILE *out;
	const struct timeline_event *events;
	size_t n_events;
	size_t *order; /* event indices grouped by track, in time order */
	struct track *tracks;
	size_t n_tracks;
	struct open_frame *open; /* as deep as the deepest stack */
	struct span *spans;	 /* one track's spans, in the order they open */
	size_t n_spans, cap_spans;
	uint64_t origin_ns; /* time 0 of the trace */
	bool first_event;   /* nothing written to traceEvents yet */
};

static int track_cmp(const void *a, const void *b)
{
	const struct track *x = a, *y = b;
	bool nx = x->thread == PROFILE_NO_THREAD, ny = y->thread == PROFILE_NO_THREAD;

	if (nx != ny)
		return nx - ny;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Groups the events by thread into w->order and w->tracks, and sizes
 * w->open; -EINVAL for an event of an unknown stack. */
static int group_by_thread(struct writer *w)
{
	size_t n_threads = profile__thread_count(w->p), max_depth = 1;
	size_t *next = calloc(n_threads + 1, sizeof(*next));
	struct profile_stack s;
	int err = 0;

	if (!next)
		return -ENOMEM;
	/* how many events each thread has (no thread: slot n_threads) */
	for (size_t i = 0; i < w->n_events; i++) {
		if (profile__stack(w->p, w->events[i].stack, &s)) {
			err = -EINVAL;
			goto cleanup;
		}
		next[s.thread < n_threads ? s.thread : n_threads]++;
		if (s.n > max_depth)
			max_depth = s.n;
	}
	w->order = malloc((w->n_events ? w->n_events : 1) * sizeof(*w->order));
	w->tracks = calloc(n_threads + 1, sizeof(*w->tracks));
	w->open = calloc(max_depth, sizeof(*w->open));
	if (!w->order || !w->tracks || !w->open) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* counts become the first index of each thread's events */
	for (size_t t = 0, first = 0; t <= n_threads; t++) {
		size_t n = next[t];
		const struct profile_thread *th = t < n_threads ? profile__thread(w->p, t) : NULL;

		next[t] = first;
		if (n) {
			struct track *tr = &w->tracks[w->n_tracks++];

			*tr = (struct track){.thread = PROFILE_NO_THREAD, .pid = w->r->pid};
			tr->name = "No thread";
			if (th) {
				tr->thread = (uint32_t)t;
				tr->pid = th->pid;
				tr->tid = th->tid;
				tr->name = th->name;
			}
			tr->first = first;
			tr->n = n;
		}
		first += n;
	}
	for (size_t i = 0; i < w->n_events; i++) {
		profile__stack(w->p, w->events[i].stack, &s);
		w->order[next[s.thread < n_threads ? s.thread : n_threads]++] = i;
	}
	qsort(w->tracks, w->n_tracks, sizeof(*w->tracks), track_cmp);
cleanup:
	free(next);
	return err;
}

static int open_span(struct writer *w, size_t depth, uint32_t frame, uint64_t start_ns)
{
	if (w->n_spans == w->cap_spans) {
		size_t cap = w->cap_spans ? w->cap_spans * 2 : 256;
		struct span *spans = NULL;

		if (cap <= SIZE_MAX / sizeof(*spans))
			spans = realloc(w->spans, cap * sizeof(*spans));
		if (!spans)
			return -ENOMEM;
		w->spans = spans;
		w->cap_spans = cap;
	}
	w->spans[w->n_spans] = (struct span){start_ns, start_ns, frame};
	w->open[depth] = (struct open_frame){frame, w->n_spans++};
	return 0;
}

/* Closes the open frames [keep, depth) at end_ns. */
static void close_spans(struct writer *w, size_t keep, size_t depth, uint64_t end_ns)
{
	while (depth > keep)
		w->spans[w->open[--depth].span].end_ns = end_ns;
}

/* The spans of one track into w->spans, in the order they open. */
static int track_spans(struct writer *w, const struct track *t)
{
	size_t depth = 0;
	uint64_t now = 0; /* where the open spans end so far */

	w->n_spans = 0;
	for (size_t k = 0; k < t->n; k++) {
		const struct timeline_event *e = &w->events[w->order[t->first + k]];
		uint64_t start = e->start_ns, end = start + e->duration_ns;
		struct profile_stack s;
		size_t shared = 0;

		if (end < start)
			end = UINT64_MAX;
		/* the part before the trace's time 0 is cut off */
		if (start < w->origin_ns)
			start = w->origin_ns;
		if (end < start)
			end = start;
		profile__stack(w->p, e->stack, &s);
		if (depth && start > now && start - now > w->r->period_ns) {
			close_spans(w, 0, depth, now);
			depth = 0;
		}
		while (shared < depth && shared < s.n && w->open[shared].frame == s.frames[shared])
			shared++;
		if (shared == depth && shared == s.n) {
			if (end > now)
				now = end;
			continue;
		}
		/* an overlapping event cuts what it does not share */
		close_spans(w, shared, depth, start < now ? start : now);
		for (depth = shared; depth < s.n; depth++) {
			int err = open_span(w, depth, s.frames[depth], start);

			if (err)
				return err;
		}
		now = end;
	}
	close_spans(w, 0, depth, now);
	return 0;
}

/* Starts the next element of traceEvents. */
static void next_event(struct writer *w)
{
	fputs(w->first_event ? "\n" : ",\n", w->out);
	w->first_event = false;
}

/* A process_name or thread_name event: `name`, or else "PREFIX NUMBER". */
static void write_metadata(struct writer *w, const char *what, pid_t pid, pid_t tid,
			   const char *name, const char *prefix, int number)
{
	FILE *out = w->out;

	next_event(w);
	fprintf(out, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":0,", what,
		(int)pid, (int)tid);
	fputs("\"args\":{\"name\":\"", out);
	if (name)
		json_writer__chars(out, name);
	else
		fprintf(out, "%s %d", prefix, number);
	fputs("\"}}", out);
}

static void write_spans(struct writer *w, const struct track *t)
{
	FILE *out = w->out;

	for (size_t i = 0; i < w->n_spans; i++) {
		const struct span *sp = &w->spans[i];
		const struct profile_frame *f = profile__frame(w->p, sp->frame);
		uint64_t ts = (sp->start_ns - w->origin_ns) / 1000;
		uint64_t end = (sp->end_ns - w->origin_ns) / 1000;

		next_event(w);
		fprintf(out, "{\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":%llu,\"dur\":%llu,",
			(int)t->pid, (int)t->tid, (unsigned long long)ts,
			(unsigned long long)(end - ts));
		fputs("\"name\":", out);
		json_writer__string(out, f->function[0] ? f->function : "?");
		fprintf(out, ",\"cat\":\"%s\"", profile_frame_kind_name(f->kind));
		if (f->file) {
			fputs(",\"args\":{\"file\":", out);
			json_writer__string(out, f->file);
			fprintf(out, ",\"line\":%d}", f->line);
		}
		putc('}', out);
	}
}

/* `pid`'s command: the profile's process entry of the track's thread
 * (many processes), else the report's for its pid. */
static void write_process_name(struct writer *w, pid_t pid, uint32_t thread)
{
	const struct profile_thread *th =
		thread != PROFILE_NO_THREAD ? profile__thread(w->p, thread) : NULL;
	const char *cmd = pid == w->r->pid ? w->r->command : NULL;

	if (th && th->process != PROFILE_NO_PROCESS && w->r->show_processes)
		cmd = profile__process(w->p, th->process)->command;
	write_metadata(w, "process_name", pid, pid, cmd && cmd[0] ? cmd : NULL, "pid", pid);
}

static const char *mode_name(enum time_mode mode)
{
	switch (mode) {
	case TIME_CPU:
		return "cpu";
	case TIME_WALL:
		return "wall";
	case TIME_OFF_CPU:
		return "off-cpu";
	}
	return "?";
}

static void write_other_data(const struct writer *w)
{
	const struct report *r = w->r;
	FILE *out = w->out;

	fputs("\"otherData\":{\"exporter\":\"pyebpf\"", out);
	if (r->command) {
		fputs(",\"command\":", out);
		json_writer__string(out, r->command);
	}
	if (r->pid > 0)
		fprintf(out, ",\"pid\":%d", (int)r->pid);
	if (r->python_version) {
		fputs(",\"python_version\":", out);
		json_writer__string(out, r->python_version);
	}
	fprintf(out, ",\"mode\":\"%s\"", mode_name(r->mode));
	if (r->rate_hz)
		fprintf(out, ",\"rate_hz\":%u", r->rate_hz);
	if (r->duration_s > 0 && r->duration_s < 1e15) {
		fputs(",\"duration_s\":", out);
		json_writer__decimal(out, (uint64_t)(r->duration_s * 1000 + 0.5), 3);
	}
	if (r->start_unix_ns) {
		time_t sec = (time_t)(r->start_unix_ns / 1000000000);
		struct tm tm;
		char buf[64];

		if (gmtime_r(&sec, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
			fprintf(out, ",\"start_time\":\"%s.%03uZ\"", buf,
				(unsigned int)(r->start_unix_ns / 1000000 % 1000));
	}
	fputs("}", out);
}

static int write_trace(struct writer *w)
{
	FILE *out = w->out;
	bool pid_named = false; /* r->pid has its process_name */

	fputs("{\"traceEvents\":[", out);
	w->first_event = true;
	for (size_t i = 0; i < w->n_tracks; i++) {
		const struct track *t = &w->tracks[i];
		int err;

		if ((!i || t->pid != w->tracks[i - 1].pid) && !(pid_named && t->pid == w->r->pid)) {
			write_process_name(w, t->pid, t->thread);
			pid_named |= t->pid == w->r->pid;
		}
		write_metadata(w, "thread_name", t->pid, t->tid, t->name, "Thread", t->tid);
		err = track_spans(w, t);
		if (err)
			return err;
		write_spans(w, t);
	}
	if (!w->n_tracks)
		write_process_name(w, w->r->pid, PROFILE_NO_THREAD);
	fputs("\n],\n\"displayTimeUnit\":\"ms\",\n", out);
	write_other_data(w);
	fputs("}\n", out);
	return 0;
}

int chrometrace_output__write(const struct report *r, FILE *out)
{
	struct writer w = {.r = r, .out = out};
	int err;

	if (!r || !r->profile || !r->timeline || !out)
		return -EINVAL;
	w.p = r->profile;
	w.origin_ns = r->start_mono_ns;
	w.events = timeline__events(r->timeline, &w.n_events);
	err = group_by_thread(&w);
	if (err)
		goto cleanup;
	errno = 0;
	err = write_trace(&w);
	if (!err && (fflush(out) || ferror(out)))
		err = errno ? -errno : -EIO;
cleanup:
	free(w.spans);
	free(w.open);
	free(w.tracks);
	free(w.order);
	return err;
}
