/* SPDX-License-Identifier: MIT */
/*
 * The end-of-run summary: the functions with the most own (self) and total
 * time.
 *
 * A function is a (function, file) identity; its lines are added together.
 * Own time is the weight of the stacks whose leaf frame is the function;
 * total time is the weight of the stacks that contain it at least once, so a
 * recursive function counts once per stack. Synthetic frames ("[truncated]",
 * file NULL) are functions like any other, except annotation frames (see
 * summary_is_annotation).
 */
#ifndef PYEBPF_SUMMARY_H
#define PYEBPF_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct profile;

struct summary_row {
	const char *function; /* owned by the profile */
	const char *file;     /* owned by the profile; NULL if synthetic */
	uint64_t self;	      /* own weight */
	uint64_t total;	      /* weight of stacks containing it */
};

/*
 * Fills by_self with the (at most k) functions of largest own weight, and
 * by_total with the (at most k) of largest total weight, each with both
 * weights set; *n_self and *n_total get the number of rows written.
 * Functions with a zero weight for the table's key are left out, so an
 * empty profile gives no rows. Ties are broken by function name, then by
 * file name (NULL first), bytewise, so the result is deterministic.
 *
 * Either table may be skipped by passing NULL for both its array and its
 * count. Strings in the rows are owned by p and live until profile__free().
 * Returns 0, -EINVAL for a NULL p or a half-given table, or -ENOMEM (the
 * counts are then 0).
 */
int summary__top(const struct profile *p, size_t k, struct summary_row *by_self, size_t *n_self,
		 struct summary_row *by_total, size_t *n_total);

/*
 * Prints both tables, k rows at most each, to out:
 *
 *   Top functions by own time:
 *       %Own    Own  Function (file)
 *      91.2%    912  hot (/path/hot.py)
 *   Top functions by total time:
 *     %Total  Total  Function (file)
 *     100.0%   1000  main (/path/hot.py)
 *
 * Percentages are of `total` (the caller's total, e.g. the samples taken;
 * "-" when it is 0). The weight column is as wide as its largest number.
 * Control characters in names are printed as '?'. A table without rows
 * prints "  (no samples)".
 *
 * Returns 0, -EINVAL if out or p is NULL, -ENOMEM, or -EIO if out has its
 * error indicator set afterwards.
 */
int summary__print(FILE *out, const struct profile *p, size_t k, uint64_t total);

/* The same, with `ns` for nanosecond weights, printed as seconds. */
int summary__print_weights(FILE *out, const struct profile *p, size_t k, uint64_t total, bool ns);

/*
 * Frames that annotate a stack rather than name Python code: off-CPU
 * reasons ("[off-cpu:...]") and kernel frames ("..._[k]"), by their kind.
 * The tables leave them out; own time goes to the innermost other frame.
 */
struct profile_frame;
bool summary_is_annotation(const struct profile_frame *f);

#endif /* PYEBPF_SUMMARY_H */
