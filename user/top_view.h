/* SPDX-License-Identifier: MIT */
/*
 * `pyebpf top`'s screen as text: a pure renderer, no terminal I/O.
 *
 * A row is a function (function view: its lines merged) or a line (line
 * view: "function (file:line)"), with cProfile's tottime and cumtime,
 * sampled:
 *
 *    %Own  %Total  OwnTime TotalTime  Function (file:line)
 *  97.00%  97.00%   12.10s    12.10s  hot (hot.py:19)
 *
 * Own time is the weight of the stacks whose innermost frame is the row;
 * total time the weight of the stacks that contain it, once per stack
 * however often it recurs. Off-CPU reason and kernel frames are not rows
 * (summary_is_annotation): their time is the innermost Python frame's own.
 *
 * Two scopes, as py-spy shows them: %Own and %Total are shares of the
 * weight of the last interval (the time between the last two ticks), or,
 * in the cumulative view, of everything since the start (or the last
 * reset); OwnTime and TotalTime are always since the start (or reset).
 * Percentages are of the profile's weight, so own shares add up to 100%:
 * how busy the process was is the header's "Active".
 *
 * The view freezes the numbers at each tick (top_view__tick), so redraws
 * between ticks (a key, a resized terminal) show the same data.
 */
#ifndef PYEBPF_TOP_VIEW_H
#define PYEBPF_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time_split.h"

struct profile;

/* The columns rows can be sorted by, in screen order (keys 1 to 4). */
enum top_sort {
	TOP_SORT_OWN = 0,   /* %Own */
	TOP_SORT_TOTAL,	    /* %Total */
	TOP_SORT_OWN_TIME,  /* OwnTime */
	TOP_SORT_TOTAL_TIME /* TotalTime */
};
#define TOP_SORT_COLUMNS (TOP_SORT_TOTAL_TIME + 1)

/* How the screen is drawn. */
struct top_view_state {
	enum top_sort sort;
	bool by_function;      /* function view (lines merged), else line view */
	bool cumulative;       /* percentages since the start (or reset), not of
				  the last interval */
	bool snapshot;	       /* plain text for a pipe: no blank line inside, no
				  padding, no key help */
	unsigned int width;    /* columns a line may take; 0: no limit */
	unsigned int height;   /* lines of the screen; 0: no limit. Not a
				  snapshot: exactly this many lines, the key
				  help on the last one */
	unsigned int max_rows; /* table rows at most; 0: no limit */
};

/* What the header says about the run; filled by the caller at each tick. */
struct top_header {
	const char *target;	    /* "pid 4242", "3 processes"; never NULL */
	const char *command;	    /* its command line, or NULL */
	const char *python_version; /* "3.11.7", or NULL (unknown, several) */
	unsigned int rate_hz;
	bool weights_ns;		    /* profile weights are nanoseconds (--idle,
					       --off-cpu), else on-CPU sample counts */
	bool wall;			    /* --idle: show the split of wall time */
	bool gil_state;			    /* the GIL state was asked for */
	bool was_reset;			    /* the cumulative numbers start at a reset */
	uint64_t period_ns;		    /* what one sample stands for */
	double elapsed_s;		    /* since the start (or reset) */
	double interval_s;		    /* the last interval's length */
	uint64_t samples, interval_samples; /* records since start, in the
					       last interval */
	uint64_t errors, lost;		    /* since the start */
	struct time_split all, interval;    /* where the time went */
	size_t threads;			    /* threads of the targets now; 0:
					       unknown */
	const char *status;		    /* a line of news ("pid 4242
					       exited"), or NULL */
};

struct top_view;

/* An empty view. NULL with errno = ENOMEM. Free with top_view__free(). */
struct top_view *top_view__new(void);
void top_view__free(struct top_view *v); /* accepts NULL */

/*
 * The end of an interval: freezes what each stack of `p` gained since the
 * previous tick (the last interval) and since the start or last reset. `p`
 * must be the same profile at every call, only ever added to. Returns 0,
 * -EINVAL, or -ENOMEM (the view is then unchanged).
 */
int top_view__tick(struct top_view *v, const struct profile *p);

/* Forgets everything up to now: the cumulative numbers and the next
 * interval start here, and the frozen ones are zero until the next tick.
 * Returns 0, -EINVAL or -ENOMEM (the view is then unchanged). */
int top_view__reset(struct top_view *v, const struct profile *p);

/* A rendered screen. */
struct top_screen {
	char *text; /* every line ends in '\n'; owned, see release */
	size_t len; /* bytes of text */
	size_t n_lines;
	int table_header; /* the column header's line index, or -1 */
};

/*
 * Renders the screen for `p` (the profile given to the ticks) as of the
 * last tick: the header, the table and, unless a snapshot, the key help.
 * Lines are cut to st->width columns (a UTF-8 character counts as one
 * column; control characters in names are shown as '?'). Returns 0,
 * -EINVAL, or -ENOMEM (out is then empty). Release out with
 * top_screen__release().
 */
int top_view__render(const struct top_view *v, const struct profile *p, const struct top_header *h,
		     const struct top_view_state *st, struct top_screen *out);
void top_screen__release(struct top_screen *s); /* accepts NULL */

/* What keys ask of the live loop (top_view_keys); a bit mask. */
#define TOP_KEY_REDRAW (1u << 0) /* the view state changed */
#define TOP_KEY_RESET (1u << 1)	 /* R: top_view__reset() */
#define TOP_KEY_QUIT (1u << 2)	 /* q, Q, Ctrl-C */

/*
 * Applies the keys read from the terminal, buf[0..n), to *st:
 *   1 2 3 4          sort by %Own, %Total, OwnTime, TotalTime
 *   < > , .  and the left and right arrows: the sort column to the left
 *                    or right (not past the ends)
 *   L l              line or function view
 *   C c              last interval or cumulative percentages
 *   R r              reset (TOP_KEY_RESET)
 *   q Q Ctrl-C       quit (TOP_KEY_QUIT; later keys are ignored)
 * Other keys and escape sequences are ignored. Returns the TOP_KEY_* bits
 * asked for, 0 for none.
 */
unsigned int top_view_keys(struct top_view_state *st, const char *buf, size_t n);

/* Where column `c`'s title is in the column header line: first column and
 * width (for highlighting the sort column). */
void top_view_column(enum top_sort c, unsigned int *start, unsigned int *len);

/* "%Own", "%Total", "OwnTime", "TotalTime"; "?" for an unknown column. */
const char *top_sort_name(enum top_sort c);

#endif /* PYEBPF_TOP_VIEW_H */
