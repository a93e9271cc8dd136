/* SPDX-License-Identifier: MIT */
/*
 * The memory mappings of a process, parsed from /proc/PID/maps.
 *
 * proc_maps__parse() is the pure core: it reads the text of a maps file from
 * any FILE * (a fixture in the unit tests) and is strict about the format, so
 * a truncated or hostile file gives an error instead of garbage.
 * proc_maps__read() is the one-line wrapper for a pid.
 *
 * Limits: a line is at most 8192 bytes (the kernel prints at most PATH_MAX
 * bytes of path) and a file at most 1 << 20 mappings (vm.max_map_count is
 * 65530 by default).
 */
#ifndef PYEBPF_PROC_MAPS_H
#define PYEBPF_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One line of /proc/PID/maps. */
struct proc_map {
	uint64_t start, end; /* [start, end), start < end */
	uint64_t offset;     /* file offset mapped at start */
	uint64_t inode;	     /* 0 for anonymous and special mappings */
	unsigned dev_major, dev_minor;
	char perms[5]; /* e.g. "r-xp": [r-][w-][x-][ps] and a NUL */
	/*
	 * The path as the kernel prints it, owned by the struct proc_maps:
	 * "/usr/lib/libc.so.6", "[heap]", "[vdso]", "[anon:name]", or "" for an
	 * anonymous mapping. Spaces are kept; the kernel prints a newline in a
	 * file name as "\012", and so does this path. The " (deleted)" suffix
	 * of an unlinked file is removed and sets deleted instead (so a file
	 * really named "x (deleted)" reads as a deleted "x").
	 */
	char *path;
	bool deleted;
};

struct proc_maps;

/*
 * Parse the text of a maps file, all of it, in file order.
 * Returns a new object to free with proc_maps__free(), or NULL with errno:
 * EINVAL for a malformed line (bad number, bad perms, start >= end, a NUL
 * byte, a line over the limit), EFBIG for too many lines, EIO for a read
 * error, ENOMEM. An empty file gives an empty, valid object.
 */
struct proc_maps *proc_maps__parse(FILE *f);

/*
 * proc_maps__parse() on /proc/<pid>/maps. pid must be > 0 (EINVAL).
 * Returns NULL with errno from fopen (ENOENT: no such process, EACCES:
 * not allowed) or from proc_maps__parse().
 */
struct proc_maps *proc_maps__read(int pid);

/* Frees maps and every path in it. Accepts NULL. */
void proc_maps__free(struct proc_maps *maps);

/* Number of mappings; 0 for NULL. */
size_t proc_maps__count(const struct proc_maps *maps);

/*
 * The i-th mapping in file order (ascending addresses for a real maps file),
 * owned by maps, or NULL with errno ERANGE if i >= count.
 */
const struct proc_map *proc_maps__get(const struct proc_maps *maps, size_t i);

/* Predicate for proc_maps__find(); arg is passed through. */
typedef bool (*proc_map_match_fn)(const struct proc_map *m, const void *arg);

/*
 * The first mapping after `after` (NULL: from the start) for which match()
 * is true, or NULL with errno ENOENT. `after` must be a mapping of maps.
 * Iterate over all matches with
 *	for (m = NULL; (m = proc_maps__find(maps, m, fn, arg));)
 */
const struct proc_map *proc_maps__find(const struct proc_maps *maps, const struct proc_map *after,
				       proc_map_match_fn match, const void *arg);

/*
 * The first mapping of the file with exactly this path (deleted or not), or
 * NULL with errno ENOENT.
 */
const struct proc_map *proc_maps__find_path(const struct proc_maps *maps, const char *path);

/*
 * The first mapping of a file (path starting with '/') whose base name
 * matches the fnmatch(3) pattern, e.g. "libpython3.*.so*" or "python3.11",
 * or NULL with errno ENOENT.
 */
const struct proc_map *proc_maps__find_basename(const struct proc_maps *maps, const char *pattern);

/* The mapping containing addr, or NULL with errno ENOENT. */
const struct proc_map *proc_maps__find_addr(const struct proc_maps *maps, uint64_t addr);

/*
 * True if a and b map the same file: same device, inode and path, both
 * file-backed (inode != 0). Use it to walk all the mappings of one file.
 */
bool proc_map__same_file(const struct proc_map *a, const struct proc_map *b);

#endif /* PYEBPF_PROC_MAPS_H */
