/* SPDX-License-Identifier: MIT */
/*
 * `pyebpf top`: a live table of the functions using the most time, like
 * top(1), refreshed every --refresh seconds (top_view.h draws it).
 *
 * On a terminal: the alternate screen, raw keys (top_view_keys), a redraw
 * at each refresh, key and window resize; the terminal is restored on
 * every way out (q, Ctrl-C, SIGTERM, SIGHUP, errors, a crash) and around
 * Ctrl-Z. Without a terminal on stdout: a plain snapshot per refresh, each
 * followed by a blank line, no escape codes; it ends with a last snapshot
 * when every target has exited or --duration is over.
 *
 * Time is on-CPU samples by default; with --idle, wall time (on and off
 * CPU, a header line splitting it as record's summary does); with
 * --off-cpu, off-CPU time.
 */
#ifndef PYEBPF_TOP_H
#define PYEBPF_TOP_H

#include "cli.h"

/* Run `top` until q, Ctrl-C, SIGTERM, --duration, or (without a terminal)
 * the targets' exit. Returns the exit code: 0, or 1 after an error
 * reported on stderr. */
int top_run(const struct cli_options *opts);

#endif /* PYEBPF_TOP_H */
