/* SPDX-License-Identifier: MIT */
/*
 * The profile: weighted call stacks over interned frames.
 *
 * The symbolizer turns each sampled Python frame into a (function, file,
 * line) triple and interns it, getting a small dense id. A sample is then a
 * stack of ids, root first, added with a weight (a sample count, or
 * nanoseconds for off-CPU time). Identical stacks are merged and their
 * weights summed, so memory grows with the number of distinct frames and
 * stacks, not with the number of samples; both lookups are hash tables.
 *
 * Frames are interned in two levels: the function identity (function, file),
 * which the summary aggregates on, and the frame (function identity, line).
 *
 * Renderers (folded.h, summary.h) read a profile through profile__frame()
 * and profile__foreach(). The profile is not thread-safe.
 */
#ifndef PYEBPF_PROFILE_H
#define PYEBPF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

struct profile;

/* One interned frame. Every string is owned by the profile and lives until
 * profile__free(); the struct itself never moves. */
struct profile_frame {
	const char *function; /* as given; never NULL */
	const char *file;     /* as given; NULL for synthetic frames */
	int line;	      /* > 0, or 0 for "no line" */
	uint32_t function_id; /* dense id of (function, file), see
				 profile__function_count() */
	/*
	 * The frame as folded output writes it:
	 *   "function (file:line)", "function (file)" without a line, or
	 *   "function" without a file (the line is then not shown).
	 * Sanitized so it cannot break a folded line:
	 *   - ';' becomes ':'
	 *   - control characters (< 0x20, 0x7f; newlines, tabs) become '?'
	 *   - an empty function name is written as '?'
	 *   - a trailing " <digits>" (possible only without a file) has its
	 *     space written as '_', since flamegraph.pl and inferno would read
	 *     those digits as a second, differential count column.
	 * Bytes >= 0x80 (UTF-8) are kept. Distinct frames may share a label.
	 */
	const char *label;
};

/*
 * An empty profile. Returns NULL with errno = ENOMEM on failure.
 * Free with profile__free().
 */
struct profile *profile__new(void);

/* Frees the profile and everything it owns, including every string handed
 * out by profile__frame(). Accepts NULL. */
void profile__free(struct profile *p);

/*
 * Interns the frame (function, file, line) and stores its id in *id. The
 * same triple always gets the same id; ids are dense, from 0 upwards in
 * order of first appearance. The strings are copied.
 *
 * `file` may be NULL (synthetic frames such as "[truncated]"); an empty
 * `file` is the same as NULL. A `line` <= 0 means "no line" and is stored
 * as 0, so all such lines intern to one frame.
 *
 * Returns 0, -EINVAL if p, function or id is NULL, -ENOMEM, or -EOVERFLOW
 * when 2^32 - 1 frames exist. On error the profile is unchanged.
 */
int profile__intern_frame(struct profile *p, const char *function, const char *file, int line,
			  uint32_t *id);

/* The frame with this id, or NULL (errno = EINVAL) for an unknown id. The
 * returned frame is owned by the profile and valid until profile__free(). */
const struct profile_frame *profile__frame(const struct profile *p, uint32_t id);

/* How many distinct frames, and distinct (function, file) identities, have
 * been interned. Frame ids are < profile__frame_count(); function ids are
 * < profile__function_count(). */
size_t profile__frame_count(const struct profile *p);
size_t profile__function_count(const struct profile *p);

/*
 * Adds `weight` to the stack frames[0..n-1], given root first; frame ids
 * come from profile__intern_frame(). The ids are copied. A weight of 0 is
 * accepted and records nothing.
 *
 * Returns 0, -EINVAL if p or frames is NULL, n is 0 or > UINT32_MAX, or an
 * id is unknown, -ENOMEM, or -EOVERFLOW if the profile's total weight would
 * exceed UINT64_MAX or it already holds 2^32 - 1 distinct stacks. On error
 * the profile is unchanged.
 */
int profile__add(struct profile *p, const uint32_t *frames, size_t n, uint64_t weight);

/* Sum of all weights added. */
uint64_t profile__total(const struct profile *p);

/* Number of distinct stacks (with a nonzero weight). */
size_t profile__stack_count(const struct profile *p);

/*
 * Calls cb once per distinct stack, in order of first appearance, with the
 * frame ids root first, their count (>= 1) and the stack's summed weight
 * (>= 1). `frames` is owned by the profile and valid until the next
 * profile__add() or profile__free(); cb must not modify the profile.
 *
 * Stops at the first nonzero value cb returns and returns it; otherwise
 * returns 0. Returns -EINVAL if p or cb is NULL.
 */
int profile__foreach(const struct profile *p,
		     int (*cb)(const uint32_t *frames, size_t n, uint64_t weight, void *ctx),
		     void *ctx);

#endif /* PYEBPF_PROFILE_H */
