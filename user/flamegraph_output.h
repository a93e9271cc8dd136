/* SPDX-License-Identifier: MIT */
/*
 * The SVG flame graph of a report, drawn by the flamegraph/ library
 * (flamegraph.h: click to zoom, search, hover details, same input same
 * bytes).
 *
 * Frames are the profile's labels ("function (file:line)"), coloured by
 * their enum profile_frame_kind: application Python, standard library,
 * site-packages, native, kernel, off-CPU reason, synthetic; a frame whose
 * weight is mostly off-CPU (from stacks holding an off-CPU reason) takes
 * the cool member of its family, otherwise the warm one. With
 * r->show_threads each stack starts with its thread's root frame
 * (profile_thread_label()), else stacks of different threads merge.
 *
 * Title:    "pyebpf: COMMAND (pid PID)" (either part left out when unknown;
 *           a command over 100 bytes is cut, with "...")
 * Subtitle: what is known of "Python VERSION, DURATION s at RATE Hz" and
 *           what the widths are: "on-CPU samples", "on-CPU time",
 *           "wall-clock time (on-CPU warm, off-CPU cool)" or "off-CPU time".
 * Hover details are "N samples" for REPORT_SAMPLES and seconds,
 * milliseconds or microseconds for REPORT_NANOSECONDS. Nothing in the SVG
 * depends on the clock (start_unix_ns is not used).
 */
#ifndef PYEBPF_FLAMEGRAPH_OUTPUT_H
#define PYEBPF_FLAMEGRAPH_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

struct report;

/*
 * Writes r's profile to out as an SVG flame graph. An empty profile gives
 * a valid SVG that says there are no samples.
 *
 * out is flushed but not closed. Returns 0, -EINVAL if r, its profile or
 * out is NULL, -ENOMEM, or the negated errno of a failed write (-EIO if
 * the stream does not say).
 */
int flamegraph_output__write(const struct report *r, FILE *out);

/* The title and subtitle flamegraph_output__write() gives r, into buffers
 * of `size` bytes (truncated, always terminated). */
void flamegraph_output__title(const struct report *r, char *title, char *subtitle, size_t size);

#endif /* PYEBPF_FLAMEGRAPH_OUTPUT_H */
