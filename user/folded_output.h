/* SPDX-License-Identifier: MIT */
/*
 * Folded stacks, the text format flamegraph.pl, inferno and speedscope read:
 *
 *   root;child;leaf 42
 *
 * one line per distinct stack: the frames' labels (profile_frame.label,
 * already sanitized so they hold no ';' or newline), root first, joined by
 * ';', then a space and the weight as a decimal integer.
 */
#ifndef PYEBPF_FOLDED_OUTPUT_H
#define PYEBPF_FOLDED_OUTPUT_H

#include <stdio.h>

struct report;

/*
 * Writes every stack of r->profile to out in folded format; with
 * r->show_threads each stack starts with its thread's root frame
 * (profile_thread_label()), else stacks of different threads merge. Lines are sorted bytewise
 * on the stack text, so the same profile always gives the same bytes; stacks
 * whose text is identical (distinct frames can share a label) are merged
 * into one line with their weights summed. An empty profile writes nothing.
 *
 * out is flushed but not closed; the caller still checks fclose().
 * Returns 0, -EINVAL if r, its profile or out is NULL, -ENOMEM, or the negated errno of
 * a failed write (-EIO if the stream does not say).
 */
int folded_output__write(const struct report *r, FILE *out);

#endif /* PYEBPF_FOLDED_OUTPUT_H */
