// SPDX-License-Identifier: MIT
/*
 * Folded stacks into a flame graph, and the kind of a frame known only by
 * its text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool has(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle)) != NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Does file[0..len) hold "/lib/pythonX.Y/" (or "X.Yt", free-threaded)? */
static bool in_stdlib_dir(const char *file, size_t len)
{
	const char *p = file, *end = file + len;

	while ((p = memmem(p, end - p, "/lib/python", 11))) {
		const char *q = p + 11;

		p = q;
		if (q == end || !is_digit(*q))
			continue;
		while (q < end && is_digit(*q))
			q++;
		if (q == end || *q++ != '.' || q == end || !is_digit(*q))
			continue;
		while (q < end && is_digit(*q))
			q++;
		if (q < end && *q == 't')
			q++;
		if (q < end && *q == '/')
			return true;
	}
	return false;
}

/* A shared object: "*.so" or "*.so.VERSION". */
static bool is_shared_object(const char *file, size_t len)
{
	return (len >= 3 && !memcmp(file + len - 3, ".so", 3)) || has(file, len, ".so.");
}

enum flamegraph_kind flamegraph_kind_from_label(const char *label)
{
	const char *open, *file;
	size_t len, flen;

	if (!label)
		return FLAMEGRAPH_NATIVE;
	len = strlen(label);
	if (len >= 4 && !memcmp(label + len - 4, "_[k]", 4))
		return FLAMEGRAPH_KERNEL;
	if (starts_with(label, "[off-cpu:") || starts_with(label, "[off-cpu]"))
		return FLAMEGRAPH_OFF_CPU;
	if (starts_with(label, "[thread ") || starts_with(label, "[process ") ||
	    starts_with(label, "process "))
		return FLAMEGRAPH_ROOT;
	if (label[0] == '[')
		return FLAMEGRAPH_SYNTHETIC;

	/* "name (FILE)" or "name (FILE:LINE)": the first " (" (a path may
	 * hold one too, a Python function name hardly ever) */
	if (len < 4 || label[len - 1] != ')')
		return FLAMEGRAPH_NATIVE;
	open = strstr(label, " (");
	if (!open || open + 2 >= label + len - 1)
		return FLAMEGRAPH_NATIVE;
	file = open + 2;
	flen = label + len - 1 - file;
	{
		size_t d = flen;

		while (d && is_digit(file[d - 1]))
			d--;
		if (d < flen && d && file[d - 1] == ':')
			flen = d - 1;
	}
	if (has(file, flen, "/site-packages/") || has(file, flen, "/dist-packages/"))
		return FLAMEGRAPH_LIBRARY;
	if (starts_with(file, "<frozen ") || in_stdlib_dir(file, flen))
		return FLAMEGRAPH_STDLIB;
	if (is_shared_object(file, flen))
		return FLAMEGRAPH_NATIVE;
	return FLAMEGRAPH_PYTHON;
}

/* Reused between the lines of one input. */
struct scratch {
	char *text;
	size_t cap_text;
	struct flamegraph_frame *frames;
	size_t cap_frames;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The start of the decimal number ending at line[end], preceded by a
 * blank; 0 if there is none (a number can never start the line here). */
static size_t number_before(const char *line, size_t end)
{
	size_t b = end;

	while (b && is_digit(line[b - 1]))
		b--;
	return b < end && b && is_blank(line[b - 1]) ? b : 0;
}

static int add_line(struct flamegraph *fg, const char *line, size_t len, struct scratch *s)
{
	size_t b, end, n = 0;
	uint64_t weight = 0;

	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || is_blank(line[len - 1])))
		len--;
	b = number_before(line, len);
	if (!b)
		return -EINVAL;
	for (size_t i = b; i < len; i++) {
		unsigned int d = line[i] - '0';

		if (weight > (UINT64_MAX - d) / 10)
			return -EINVAL;
		weight = weight * 10 + d;
	}
	end = b;
	while (end && is_blank(line[end - 1]))
		end--;
	/* "stack 10 12": a differential file; the last count sizes frames */
	b = number_before(line, end);
	if (b) {
		end = b;
		while (end && is_blank(line[end - 1]))
			end--;
	}
	if (!end)
		return -EINVAL;

	if (end + 1 > s->cap_text) {
		char *t = realloc(s->text, end + 1);

		if (!t)
			return -ENOMEM;
		s->text = t;
		s->cap_text = end + 1;
	}
	memcpy(s->text, line, end);
	s->text[end] = '\0';
	/* split at every ';' */
	for (char *f = s->text, *semi;; f = semi + 1) {
		if (n == s->cap_frames) {
			size_t cap = s->cap_frames ? s->cap_frames * 2 : 64;
			struct flamegraph_frame *fr =
				cap <= SIZE_MAX / sizeof(*fr)
					? realloc(s->frames, cap * sizeof(*fr))
					: NULL;

			if (!fr)
				return -ENOMEM;
			s->frames = fr;
			s->cap_frames = cap;
		}
		s->frames[n++] = (struct flamegraph_frame){f, FLAMEGRAPH_GUESS};
		semi = memchr(f, ';', s->text + end - f);
		if (!semi)
			break;
		*semi = '\0';
	}
	return flamegraph__add(fg, s->frames, n, weight);
}

int flamegraph__add_folded_line(struct flamegraph *fg, const char *line, size_t len)
{
	struct scratch s = {0};
	int err;

	if (!fg || (!line && len))
		return -EINVAL;
	err = add_line(fg, line, len, &s);
	free(s.text);
	free(s.frames);
	return err;
}

static bool is_empty(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_blank(line[i]) && line[i] != '\r' && line[i] != '\n')
			return false;
	return true;
}

int flamegraph__add_folded(struct flamegraph *fg, FILE *in, struct flamegraph_folded_stats *stats)
{
	struct flamegraph_folded_stats st = {0};
	struct scratch s = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;

	if (!fg || !in)
		return -EINVAL;
	for (;;) {
		errno = 0;
		len = getline(&line, &cap, in);
		if (len < 0)
			break;
		st.lines++;
		if (is_empty(line, len))
			continue;
		err = add_line(fg, line, len, &s);
		if (err == -EINVAL) {
			if (!st.invalid++)
				st.first_invalid = st.lines;
			err = 0;
			continue;
		}
		if (err)
			break;
		st.stacks++;
	}
	if (!err && ferror(in))
		err = errno ? -errno : -EIO;
	else if (!err && errno == ENOMEM)
		err = -ENOMEM;
	free(line);
	free(s.text);
	free(s.frames);
	if (stats)
		*stats = st;
	return err;
}
