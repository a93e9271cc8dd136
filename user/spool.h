/* SPDX-License-Identifier: MIT */
/*
 * The agent's outbox: a bounded queue of uploads on disk, oldest first.
 *
 * Every upload goes through it, so nothing waits in memory while the
 * backend is down, and what was not sent survives a restart (the queue is
 * read back from the directory at open). Each item is one file,
 * "<20-digit sequence number>.upload", written to a temporary name and
 * renamed, so a crash never leaves a torn item under a real name; files
 * that do not parse are deleted at open and counted as dropped.
 *
 * Bounds: at most max_bytes of item files and max_items items. A push that
 * would go past either deletes the oldest items first (never the one
 * handed out by spool__peek() and not yet removed), counted in `dropped`;
 * an item larger than max_bytes on its own is refused (-EFBIG) and counted
 * too.
 *
 * Thread-safe: the agent's main thread pushes while the uploader thread
 * peeks and removes.
 */
#ifndef PYEBPF_SPOOL_H
#define PYEBPF_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;
struct upload;

struct spool_limits {
	uint64_t max_bytes; /* > 0 */
	size_t max_items;   /* > 0 */
};

struct spool_stats {
	size_t items;	  /* waiting now */
	uint64_t bytes;	  /* their files' sizes */
	uint64_t dropped; /* items deleted unsent, since open (limits, corrupt
			     files found at open) */
};

/*
 * Open (creating it, mode 0700, with missing parents) the spool in `dir`,
 * take up the items already there in sequence order, and apply `lim`.
 * NULL with errno set and a one-line reason in why[why_size] (no "pyebpf:"
 * prefix), e.g. "cannot create spool directory /x: permission denied".
 */
struct spool *spool__open(const char *dir, const struct spool_limits *lim, char *why,
			  size_t why_size);

/* Closes the spool; the files stay. NULL is fine. */
void spool__close(struct spool *s);

/* New limits (a config reload); applied at once (may drop the oldest). */
void spool__set_limits(struct spool *s, const struct spool_limits *lim);

/*
 * Append a copy of u (the caller keeps u). *dropped (if not NULL) gets how
 * many older items this push deleted. 0, -EFBIG (u alone is over
 * max_bytes; nothing changes but the dropped count), or -errno of a failed
 * write (the item is not queued).
 */
int spool__push(struct spool *s, const struct upload *u, size_t *dropped);

/*
 * The oldest item, read back into *out (the caller frees it with
 * upload_clear()) with its sequence number in *seq. The item stays queued
 * until spool__remove(). 0, -ENOENT when the spool is empty, or -errno
 * (an unreadable item is deleted, counted as dropped, and the next one is
 * tried).
 */
int spool__peek(struct spool *s, struct upload *out, uint64_t *seq);

/* Delete item `seq` (sent, or rejected for good). 0 or -ENOENT (already
 * dropped). */
int spool__remove(struct spool *s, uint64_t seq);

void spool__stats(struct spool *s, struct spool_stats *out);

#endif /* PYEBPF_SPOOL_H */
