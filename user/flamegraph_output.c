// SPDX-License-Identifier: MIT
/*
 * SVG flame graph output: the profile's stacks into a flamegraph/ tree,
 * with kinds mapped one to one, then drawn with a title naming the target.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "flamegraph_output.h"
#include "profile.h"
#include "report.h"

#define COMMAND_MAX 100 /* bytes of the command shown in the title */

static enum flamegraph_kind kind_of(enum profile_frame_kind kind)
{
	switch (kind) {
	case PROFILE_FRAME_PYTHON:
		return FLAMEGRAPH_PYTHON;
	case PROFILE_FRAME_STDLIB:
		return FLAMEGRAPH_STDLIB;
	case PROFILE_FRAME_LIBRARY:
		return FLAMEGRAPH_LIBRARY;
	case PROFILE_FRAME_NATIVE:
		return FLAMEGRAPH_NATIVE;
	case PROFILE_FRAME_KERNEL:
		return FLAMEGRAPH_KERNEL;
	case PROFILE_FRAME_OFF_CPU:
		return FLAMEGRAPH_OFF_CPU;
	case PROFILE_FRAME_SYNTHETIC:
		return FLAMEGRAPH_SYNTHETIC;
	}
	return FLAMEGRAPH_NATIVE;
}

struct build {
	const struct profile *p;
	struct flamegraph *fg;
	bool threads;	/* shown: a root frame per thread */
	bool processes; /* shown: a root frame per process, above */
	struct flamegraph_frame *frames;
	size_t cap;
};

static int add_cb(const struct profile_stack *s, void *ctx)
{
	struct build *b = ctx;
	const struct profile_thread *t =
		s->thread != PROFILE_NO_THREAD ? profile__thread(b->p, s->thread) : NULL;
	size_t n = 0;

	if (s->n + 2 > b->cap) {
		size_t cap = s->n + 2 > 2 * b->cap ? s->n + 2 : 2 * b->cap;
		struct flamegraph_frame *f =
			cap <= SIZE_MAX / sizeof(*f) ? realloc(b->frames, cap * sizeof(*f)) : NULL;

		if (!f)
			return -ENOMEM;
		b->frames = f;
		b->cap = cap;
	}
	if (b->processes && t && t->process != PROFILE_NO_PROCESS)
		b->frames[n++] = (struct flamegraph_frame){
			profile__process(b->p, t->process)->label, FLAMEGRAPH_ROOT};
	if (b->threads && t)
		b->frames[n++] = (struct flamegraph_frame){t->label, FLAMEGRAPH_ROOT};
	for (size_t i = 0; i < s->n; i++) {
		const struct profile_frame *f = profile__frame(b->p, s->frames[i]);

		if (!f)
			return -EINVAL;
		b->frames[n++] = (struct flamegraph_frame){f->label, kind_of(f->kind)};
	}
	return flamegraph__add(b->fg, b->frames, n, s->weight);
}

/* Appends to buf (of size bytes, holding a string) as snprintf would. */
__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t size, const char *fmt,
							 ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* How many bytes of s to show: all, or at most COMMAND_MAX ending on a
 * UTF-8 character boundary. */
static int command_bytes(const char *s, bool *cut)
{
	size_t n = strlen(s);

	*cut = n > COMMAND_MAX;
	if (!*cut)
		return n;
	n = COMMAND_MAX;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static const char *weights(const struct report *r)
{
	switch (r->mode) {
	case TIME_WALL:
		return "wall-clock time (on-CPU warm, off-CPU cool)";
	case TIME_OFF_CPU:
		return "off-CPU time";
	case TIME_CPU:
		break;
	}
	return r->unit == REPORT_NANOSECONDS ? "on-CPU time" : "on-CPU samples";
}

void flamegraph_output__title(const struct report *r, char *title, char *subtitle, size_t size)
{
	const char *sep = "";

	if (!size)
		return;
	snprintf(title, size, "pyebpf");
	if (r->command && r->command[0]) {
		bool cut;
		int n = command_bytes(r->command, &cut);

		append(title, size, ": %.*s%s", n, r->command, cut ? "..." : "");
		if (r->pid > 0)
			append(title, size, " (pid %d)", (int)r->pid);
	} else if (r->pid > 0) {
		append(title, size, ": pid %d", (int)r->pid);
	}

	subtitle[0] = '\0';
	if (r->python_version && r->python_version[0]) {
		append(subtitle, size, "Python %s", r->python_version);
		sep = ", ";
	}
	if (r->duration_s > 0) {
		append(subtitle, size, "%s%.2f s", sep, r->duration_s);
		if (r->rate_hz)
			append(subtitle, size, " at %u Hz", r->rate_hz);
		sep = ", ";
	} else if (r->rate_hz) {
		append(subtitle, size, "%s%u Hz", sep, r->rate_hz);
		sep = ", ";
	}
	append(subtitle, size, "%s%s", sep, weights(r));
}

int flamegraph_output__write(const struct report *r, FILE *out)
{
	struct build b = {0};
	struct flamegraph_options o;
	char title[256], subtitle[256];
	int err;

	if (!r || !r->profile || !out)
		return -EINVAL;
	b.p = r->profile;
	b.fg = flamegraph__new();
	if (!b.fg)
		return -ENOMEM;
	b.threads = r->show_threads;
	b.processes = r->show_processes;
	err = profile__foreach(b.p, add_cb, &b);
	if (err)
		goto out;

	flamegraph_output__title(r, title, subtitle, sizeof(title));
	flamegraph_options_init(&o);
	o.title = title;
	o.subtitle = subtitle;
	o.weights_ns = r->unit == REPORT_NANOSECONDS;
	err = flamegraph__write_svg(b.fg, &o, out);
out:
	free(b.frames);
	flamegraph__free(b.fg);
	return err;
}
