// SPDX-License-Identifier: MIT
/* /proc/PID/maps parser; see proc_maps.h. */
#include "proc_maps.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 8192
#define MAX_ENTRIES (1u << 20)
#define DELETED_SUFFIX " (deleted)"

struct proc_maps {
	struct proc_map *v;
	size_t n, cap;
};

/*
 * Reads one line without its '\n' into buf (NUL-terminated). Returns 1 for a
 * line, 0 at end of file, -EINVAL for a line too long or holding a NUL byte,
 * -EIO for a read error.
 */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (c == '\0' || n + 1 >= cap)
			return -EINVAL;
		buf[n++] = (char)c;
	}
	if (ferror(f))
		return -EIO;
	buf[n] = '\0';
	*len = n;
	return c == EOF && n == 0 ? 0 : 1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to max_digits hex digits at *p; advances *p. Returns 0 or -EINVAL. */
static int parse_hex(const char **p, unsigned max_digits, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0;
	int d;

	while ((d = hex_digit(**p)) >= 0) {
		if (++n > max_digits)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		(*p)++;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Decimal uint64 at *p, at least one digit, no overflow. */
static int parse_dec(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0;

	while (**p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		n++;
		(*p)++;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static int parse_perms(const char **p, char perms[5])
{
	static const char *const allowed[4] = {"r-", "w-", "x-", "ps"};

	for (int i = 0; i < 4; i++) {
		char c = (*p)[i];

		if (c == '\0' || !strchr(allowed[i], c))
			return -EINVAL;
		perms[i] = c;
	}
	perms[4] = '\0';
	*p += 4;
	return 0;
}

/*
 * "start-end perms offset major:minor inode [path]" into *m; m->path points
 * into line (not yet copied). Returns 0 or -EINVAL.
 */
static int parse_line(char *line, size_t len, struct proc_map *m)
{
	const char *p = line;
	uint64_t major, minor;
	size_t plen;
	char *path;

	if (parse_hex(&p, 16, &m->start) || expect(&p, '-') || parse_hex(&p, 16, &m->end) ||
	    expect(&p, ' ') || parse_perms(&p, m->perms) || expect(&p, ' ') ||
	    parse_hex(&p, 16, &m->offset) || expect(&p, ' ') || parse_hex(&p, 8, &major) ||
	    expect(&p, ':') || parse_hex(&p, 8, &minor) || expect(&p, ' ') ||
	    parse_dec(&p, &m->inode))
		return -EINVAL;
	if (m->start >= m->end)
		return -EINVAL;
	m->dev_major = (unsigned)major;
	m->dev_minor = (unsigned)minor;

	/* the kernel pads with spaces up to the path column */
	if (*p != '\0' && *p != ' ')
		return -EINVAL;
	while (*p == ' ')
		p++;
	path = line + (p - line);
	plen = len - (size_t)(p - line);
	m->deleted = false;
	if (plen > strlen(DELETED_SUFFIX) &&
	    !strcmp(path + plen - strlen(DELETED_SUFFIX), DELETED_SUFFIX)) {
		plen -= strlen(DELETED_SUFFIX);
		path[plen] = '\0';
		m->deleted = true;
	}
	m->path = path;
	return 0;
}

static int push(struct proc_maps *maps, const struct proc_map *m)
{
	if (maps->n == maps->cap) {
		size_t cap = maps->cap ? maps->cap * 2 : 64;
		struct proc_map *v;

		if (cap > MAX_ENTRIES)
			cap = MAX_ENTRIES;
		if (maps->n >= cap)
			return -EFBIG;
		v = reallocarray(maps->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		maps->v = v;
		maps->cap = cap;
	}
	maps->v[maps->n] = *m;
	maps->v[maps->n].path = strdup(m->path);
	if (!maps->v[maps->n].path)
		return -ENOMEM;
	maps->n++;
	return 0;
}

struct proc_maps *proc_maps__parse(FILE *f)
{
	struct proc_maps *maps;
	char *line = NULL;
	struct proc_map m;
	size_t len;
	int err;

	if (!f) {
		errno = EINVAL;
		return NULL;
	}
	maps = calloc(1, sizeof(*maps));
	line = malloc(MAX_LINE);
	if (!maps || !line) {
		err = -ENOMEM;
		goto cleanup;
	}
	flockfile(f);
	while ((err = read_line(f, line, MAX_LINE, &len)) > 0) {
		err = parse_line(line, len, &m);
		if (!err)
			err = push(maps, &m);
		if (err)
			break;
	}
	funlockfile(f);

cleanup:
	free(line);
	if (err) {
		proc_maps__free(maps);
		errno = -err;
		return NULL;
	}
	return maps;
}

struct proc_maps *proc_maps__read(int pid)
{
	struct proc_maps *maps;
	char path[32];
	FILE *f;
	int err;

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	maps = proc_maps__parse(f);
	err = errno;
	fclose(f);
	errno = err;
	return maps;
}

void proc_maps__free(struct proc_maps *maps)
{
	if (!maps)
		return;
	for (size_t i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	free(maps);
}

size_t proc_maps__count(const struct proc_maps *maps)
{
	return maps ? maps->n : 0;
}

const struct proc_map *proc_maps__get(const struct proc_maps *maps, size_t i)
{
	if (!maps || i >= maps->n) {
		errno = ERANGE;
		return NULL;
	}
	return &maps->v[i];
}

const struct proc_map *proc_maps__find(const struct proc_maps *maps, const struct proc_map *after,
				       proc_map_match_fn match, const void *arg)
{
	size_t i = 0;

	if (!maps || !match) {
		errno = EINVAL;
		return NULL;
	}
	if (after) {
		if (after < maps->v || after >= maps->v + maps->n) {
			errno = EINVAL;
			return NULL;
		}
		i = (size_t)(after - maps->v) + 1;
	}
	for (; i < maps->n; i++)
		if (match(&maps->v[i], arg))
			return &maps->v[i];
	errno = ENOENT;
	return NULL;
}

static bool match_path(const struct proc_map *m, const void *arg)
{
	return !strcmp(m->path, arg);
}

const struct proc_map *proc_maps__find_path(const struct proc_maps *maps, const char *path)
{
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	return proc_maps__find(maps, NULL, match_path, path);
}

static bool match_basename(const struct proc_map *m, const void *arg)
{
	const char *base;

	if (m->path[0] != '/')
		return false;
	base = strrchr(m->path, '/') + 1;
	return fnmatch(arg, base, 0) == 0;
}

const struct proc_map *proc_maps__find_basename(const struct proc_maps *maps, const char *pattern)
{
	if (!pattern) {
		errno = EINVAL;
		return NULL;
	}
	return proc_maps__find(maps, NULL, match_basename, pattern);
}

static bool match_addr(const struct proc_map *m, const void *arg)
{
	uint64_t addr = *(const uint64_t *)arg;

	return m->start <= addr && addr < m->end;
}

const struct proc_map *proc_maps__find_addr(const struct proc_maps *maps, uint64_t addr)
{
	return proc_maps__find(maps, NULL, match_addr, &addr);
}

bool proc_map__same_file(const struct proc_map *a, const struct proc_map *b)
{
	return a && b && a->inode != 0 && a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && !strcmp(a->path, b->path);
}
