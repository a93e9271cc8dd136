/* SPDX-License-Identifier: MIT */
/*
 * Flame graphs: weighted call stacks merged into a tree and drawn as an
 * interactive SVG (click to zoom, search by regular expression, hover
 * details), independent of the profiler.
 *
 * A stack is a list of frames, root first; each frame is a name and a kind
 * (what the code is: application Python, standard library, an installed
 * package, native, kernel, ...). Stacks are merged into a tree whose
 * siblings are merged by (name, kind); every node keeps its total weight
 * and the part of it that came from off-CPU stacks (stacks holding a
 * FLAMEGRAPH_OFF_CPU frame), which the default palette turns into warm
 * (on-CPU) and cool (off-CPU) colours. Memory grows with the number of
 * distinct tree nodes, not with the number of stacks added; names and
 * large families of children are found through hash tables.
 *
 * The output is deterministic: siblings are drawn in bytewise order of their
 * names (then kind), colours come from a hash of the name, and positions
 * are computed in integers, so the same stacks and options give the same
 * bytes whatever order the stacks were added in.
 *
 * A flame graph is not thread-safe.
 */
#ifndef PYEBPF_FLAMEGRAPH_H
#define PYEBPF_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct flamegraph;

/* What a frame stands for; what the default palette colours by. */
enum flamegraph_kind {
	FLAMEGRAPH_PYTHON = 0, /* Python code of the application */
	FLAMEGRAPH_STDLIB,     /* Python code of the standard library */
	FLAMEGRAPH_LIBRARY,    /* Python code of an installed package */
	FLAMEGRAPH_NATIVE,     /* native code */
	FLAMEGRAPH_KERNEL,     /* a kernel function */
	FLAMEGRAPH_OFF_CPU,    /* why the thread was off the CPU: a stack with
				  such a frame is off-CPU weight */
	FLAMEGRAPH_SYNTHETIC,  /* "[truncated]" and other made-up frames */
	FLAMEGRAPH_ROOT,       /* a thread or process standing for a subtree */
	/* For flamegraph__add() only: classify the name with
	 * flamegraph_kind_from_label(); never stored. */
	FLAMEGRAPH_GUESS,
};
#define FLAMEGRAPH_KINDS FLAMEGRAPH_GUESS /* the kinds a frame can have */

/* "python", "stdlib", "library", "native", "kernel", "off-cpu",
 * "synthetic", "root"; "?" for anything else. */
const char *flamegraph_kind_name(enum flamegraph_kind kind);

/*
 * The kind of a frame given only as text, as in folded files written by
 * pyebpf, py-spy or perf's stackcollapse scripts. First rule that matches:
 *
 *   "..._[k]"                          kernel
 *   "[off-cpu:...", "[off-cpu]..."     off-CPU reason
 *   "[thread ...", "[process ...",
 *   "process ..."                      root (thread or process)
 *   any other "[..."                   synthetic
 *   "name (FILE)" or "name (FILE:LINE)", FILE read as a path:
 *     FILE has "/site-packages/" or "/dist-packages/"   library
 *     FILE has "/lib/pythonX.Y/" (X.Yt too), or FILE
 *     starts with "<frozen "                          stdlib
 *     FILE is a shared object ("*.so", "*.so.*")        native
 *     otherwise                                         python
 *   anything else                      native
 *
 * NULL is native.
 */
enum flamegraph_kind flamegraph_kind_from_label(const char *label);

/* One frame of a stack given to flamegraph__add(). */
struct flamegraph_frame {
	const char *name; /* NUL-terminated; copied; NULL is "" */
	enum flamegraph_kind kind;
};

/*
 * Colour schemes (--colors). FLAMEGRAPH_COLORS_PYTHON is the kind-aware
 * hot/cold palette: a hue family per kind, warm when a frame's weight is
 * mostly on-CPU and cool when mostly off-CPU (see palette.c and the legend
 * drawn under the graph). The others colour by name only, in the ranges
 * flamegraph.pl users know: hot (red-yellow), mem (green), io (blue), and
 * red, green, blue, aqua, yellow, purple, orange.
 */
enum flamegraph_colors {
	FLAMEGRAPH_COLORS_PYTHON = 0,
	FLAMEGRAPH_COLORS_HOT,
	FLAMEGRAPH_COLORS_MEM,
	FLAMEGRAPH_COLORS_IO,
	FLAMEGRAPH_COLORS_RED,
	FLAMEGRAPH_COLORS_GREEN,
	FLAMEGRAPH_COLORS_BLUE,
	FLAMEGRAPH_COLORS_AQUA,
	FLAMEGRAPH_COLORS_YELLOW,
	FLAMEGRAPH_COLORS_PURPLE,
	FLAMEGRAPH_COLORS_ORANGE,
};

/* The scheme called `name` ("python", "hot", ...) into *colors. 0, or
 * -EINVAL for an unknown name (then *colors is unchanged). */
int flamegraph_colors_from_name(const char *name, enum flamegraph_colors *colors);

/* The name of a scheme, or "?" for an unknown one. */
const char *flamegraph_colors_name(enum flamegraph_colors colors);

/* How to draw. Start from flamegraph_options_init(); strings are borrowed
 * for the duration of the call that takes the options. */
struct flamegraph_options {
	const char *title;    /* NULL: "Flame Graph" ("Icicle Graph" inverted) */
	const char *subtitle; /* NULL or "": none */
	unsigned int width;   /* image width in px, 100..100000; default 1200 */
	/* frames narrower than this many px are not drawn (nor anything above
	 * them); their weight still counts in their parent. Default 0.1 */
	double minwidth;
	bool inverted; /* icicle graph: the root at the top */
	enum flamegraph_colors colors;
	/* what a weight counts, for hover details: "N COUNTNAME"; NULL:
	 * "samples". Ignored when weights_ns is set */
	const char *countname;
	bool weights_ns; /* weights are nanoseconds: shown as s, ms, us */
};

/* Fills *o with the defaults above. */
void flamegraph_options_init(struct flamegraph_options *o);

/* An empty flame graph; NULL with errno = ENOMEM on failure. Free with
 * flamegraph__free(). */
struct flamegraph *flamegraph__new(void);

/* Frees the graph and everything it owns. Accepts NULL. */
void flamegraph__free(struct flamegraph *fg);

/*
 * Adds `weight` to the stack frames[0..n-1], given root first. Frames of
 * kind FLAMEGRAPH_GUESS get flamegraph_kind_from_label(name). Names are
 * copied. If any frame's kind is FLAMEGRAPH_OFF_CPU, the weight is off-CPU
 * weight of every node on the path. A weight of 0, or n of 0, adds nothing
 * (n of 0 with a weight counts for the root alone).
 *
 * Returns 0, -EINVAL if fg is NULL, frames is NULL with n > 0, or a kind
 * is unknown, -ENOMEM, or -EOVERFLOW if the total weight would exceed
 * UINT64_MAX or the tree would exceed 2^32 - 2 nodes. On error no weight
 * is added (nodes created on the way stay, with no weight, and are never
 * drawn).
 */
int flamegraph__add(struct flamegraph *fg, const struct flamegraph_frame *frames, size_t n,
		    uint64_t weight);

/* Sum of all weights added. 0 for NULL. */
uint64_t flamegraph__total(const struct flamegraph *fg);

/* One node of the tree, as flamegraph__foreach() gives it. */
struct flamegraph_node {
	const char *name; /* owned by the graph; "all" for the root */
	enum flamegraph_kind kind;
	unsigned int depth; /* 0 for the root, which stands for all stacks */
	uint64_t start;	    /* where the node begins, in weight units from
			       the left edge of the graph */
	uint64_t total;	    /* weight of the stacks through this node */
	uint64_t off_cpu;   /* the part of total from off-CPU stacks */
};

/*
 * Calls cb for every node with a weight, depth first, parents before
 * children, siblings in the order they are drawn (bytewise by name, then
 * by kind). Stops at the first nonzero value cb returns and returns it;
 * otherwise 0. -EINVAL if fg or cb is NULL, -ENOMEM.
 */
int flamegraph__foreach(const struct flamegraph *fg,
			int (*cb)(const struct flamegraph_node *node, void *ctx), void *ctx);

/*
 * Writes the graph as a standalone SVG document (with its own script and
 * style, no external references) to out. An empty graph gives a valid SVG
 * saying there are no samples. Names are written as valid XML whatever
 * their bytes: invalid UTF-8 becomes U+FFFD, control characters '?'.
 *
 * out is flushed, not closed. Returns 0, -EINVAL if fg, o or out is NULL
 * or an option is out of range, -ENOMEM, or the negated errno of a failed
 * write (-EIO if the stream does not say).
 */
int flamegraph__write_svg(const struct flamegraph *fg, const struct flamegraph_options *o,
			  FILE *out);

/*
 * Folded stacks, as flamegraph.pl reads them: one stack per line, frames
 * root first and separated by ';', then whitespace and a non-negative
 * decimal integer count. A line ending in two counts ("stack 10 12", a
 * differential file) counts the last one, as flamegraph.pl sizes frames by
 * it. Frames get their kind from flamegraph_kind_from_label(). Trailing
 * "\r" is ignored, and so are empty lines.
 *
 * flamegraph__add_folded_line() adds one line (without its '\n'; it need
 * not be NUL-terminated). Returns 0, -EINVAL for a line that is not a
 * stack and a count (nothing added), or an error of flamegraph__add().
 */
int flamegraph__add_folded_line(struct flamegraph *fg, const char *line, size_t len);

/* What flamegraph__add_folded() read. */
struct flamegraph_folded_stats {
	size_t lines;	      /* lines read, empty ones included */
	size_t stacks;	      /* lines added */
	size_t invalid;	      /* lines that were not a stack and a count */
	size_t first_invalid; /* 1-based number of the first, or 0 */
};

/*
 * Adds every line of `in` (to its end) with flamegraph__add_folded_line(),
 * skipping invalid lines, and counts them into *stats (which may be NULL;
 * it is zeroed first). Returns 0 (also when no line was valid: check
 * stats), -EINVAL if fg or in is NULL, -ENOMEM, -EOVERFLOW, or the negated
 * errno of a read error (-EIO if the stream does not say).
 */
int flamegraph__add_folded(struct flamegraph *fg, FILE *in, struct flamegraph_folded_stats *stats);

#endif /* PYEBPF_FLAMEGRAPH_H */
