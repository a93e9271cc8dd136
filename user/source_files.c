// SPDX-License-Identifier: MIT
#include "source_files.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "/lib/python3.12/" or "/lib64/python3.12/" somewhere in path. */
static bool in_python_lib_dir(const char *path)
{
	static const char *const dirs[] = {"/lib/python", "/lib64/python"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		for (const char *p = strstr(path, dirs[i]); p; p = strstr(p + 1, dirs[i])) {
			const char *v = p + strlen(dirs[i]);
			size_t major = strspn(v, "0123456789"), minor;

			if (!major || v[major] != '.')
				continue;
			minor = strspn(v + major + 1, "0123456789");
			if (minor && v[major + 1 + minor] == '/')
				return true;
		}
	}
	return false;
}

/* "pythonXY.zip/": the standard library as a zip, embedded builds. */
static bool in_python_zip(const char *path)
{
	for (const char *p = strstr(path, "/python"); p; p = strstr(p + 1, "/python")) {
		const char *v = p + strlen("/python");
		size_t digits = strspn(v, "0123456789");

		if (digits >= 2 && !strncmp(v + digits, ".zip/", 5))
			return true;
	}
	return false;
}

enum profile_frame_kind source_file_kind(const char *path)
{
	if (!path)
		return PROFILE_FRAME_PYTHON;
	if (!strncmp(path, "<frozen ", 8))
		return PROFILE_FRAME_STDLIB;
	if (strstr(path, "/site-packages/") || strstr(path, "/dist-packages/"))
		return PROFILE_FRAME_LIBRARY;
	if (in_python_lib_dir(path) || in_python_zip(path))
		return PROFILE_FRAME_STDLIB;
	return PROFILE_FRAME_PYTHON;
}

const char *source_file_short_name(const char *path, is_package_fn is_package, void *ctx)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t len;

	if (!path || path[0] != '/')
		return path;
	slash = strrchr(path, '/');
	/* each step drops one directory, so this ends at the root */
	for (;;) {
		const char *up;

		len = (size_t)(slash - path);
		if (len == 0 || len >= sizeof(dir))
			break;
		memcpy(dir, path, len);
		dir[len] = '\0';
		if (!is_package(dir, ctx))
			break;
		up = slash - 1;
		while (up > path && *up != '/')
			up--;
		slash = up;
	}
	return slash + 1;
}

struct entry {
	struct entry *next;
	uint64_t hash;
	const char *short_name; /* into path */
	char path[];
};

#define SOURCE_FILES_BUCKETS 1024

struct source_files {
	pid_t pid;
	struct entry *buckets[SOURCE_FILES_BUCKETS];
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* A directory of the target's is a package when it holds __init__.py. */
static bool target_dir_is_package(const char *dir, void *ctx)
{
	const struct source_files *sf = ctx;
	char file[PATH_MAX + 64];
	int n = snprintf(file, sizeof(file), "/proc/%d/root%s/__init__.py", (int)sf->pid, dir);

	return n > 0 && (size_t)n < sizeof(file) && access(file, F_OK) == 0;
}

struct source_files *source_files__new(pid_t pid)
{
	struct source_files *sf = calloc(1, sizeof(*sf));

	if (!sf) {
		errno = ENOMEM;
		return NULL;
	}
	sf->pid = pid;
	return sf;
}

void source_files__free(struct source_files *sf)
{
	if (!sf)
		return;
	for (size_t i = 0; i < SOURCE_FILES_BUCKETS; i++) {
		struct entry *e = sf->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(sf);
}

const char *source_files__short_name(struct source_files *sf, const char *path)
{
	uint64_t h;
	struct entry **b, *e;
	size_t len;

	if (!sf || !path)
		return path;
	h = hash_str(path);
	b = &sf->buckets[h % SOURCE_FILES_BUCKETS];
	for (e = *b; e; e = e->next)
		if (e->hash == h && !strcmp(e->path, path))
			return e->short_name;
	len = strlen(path);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return path;
	memcpy(e->path, path, len + 1);
	e->hash = h;
	e->short_name = source_file_short_name(e->path, target_dir_is_package, sf);
	e->next = *b;
	*b = e;
	return e->short_name;
}
