/* SPDX-License-Identifier: MIT */
/*
 * From a kernel record to weighted stacks in the profile.
 *
 * Each record's stack belongs to its thread (pid, tid) in the profile;
 * writers show it as a root frame with --threads. The stack, root first:
 *   [truncated]             when the kernel cut the Python stack
 *   Python frames           root to leaf; "[no Python frames]" if none
 *   [off-cpu:CLASS] SYSCALL off-CPU records: why the thread was off CPU
 *   kernel frames, "_[k]"   with --kernel, entry to leaf
 *
 * Weights depend on the time mode: on-CPU-only profiles count samples, as
 * other samplers do; profiles with off-CPU time weigh everything in
 * nanoseconds, so a sample counts its sampling period and an off-CPU
 * interval its exact length. An interval that ended with a wait for a CPU
 * adds that part once more under [off-cpu:runqueue].
 */
#ifndef PYEBPF_SAMPLE_STACKS_H
#define PYEBPF_SAMPLE_STACKS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>

#include "cli.h"
#include "pyebpf.h"
#include "symbolizer.h"

struct profile;
struct kernel_symbols;
struct source_files;
struct timeline;

/* Which line a Python frame shows. */
enum sample_lines {
	SAMPLE_LINES_CURRENT = 0, /* the line being executed */
	SAMPLE_LINES_FUNCTION,	  /* -F: the function's first line, so all of a
				     function's samples merge */
	SAMPLE_LINES_NONE,	  /* --nolineno: none */
};

/* Resolves one Python frame, as symbolizer__resolve() does. */
typedef int (*frame_resolver)(const struct pyebpf_frame *frame, struct resolved_frame *out,
			      void *ctx);

/* The line mode a command line asks for (--nolineno wins over -F). */
enum sample_lines sample_lines_from_cli(const struct cli_options *cli);

/*
 * How a resolved Python frame (f->file set) is shown: its file, short
 * (source_files__short_name) unless `files` is NULL, and the line `lines`
 * picks (0: none). Records and dumps show frames the same way.
 */
void sample_frame_shown(const struct resolved_frame *f, enum sample_lines lines,
			struct source_files *files, const char **file, int *line);

struct sample_stacks_opts {
	enum time_mode mode;
	bool gil_only; /* drop records whose thread did not hold the GIL */
	enum sample_lines lines;
	/* short file names (py-spy's), or NULL for full paths */
	struct source_files *files;
	/* when set, every stack added is also appended here, with its time */
	struct timeline *timeline;
	/* kernel frames are added when this is set and the record has them */
	const struct kernel_symbols *kernel;
	uint64_t period_ns; /* what one on-CPU sample stands for */
	/* with in_process, the record's thread is interned in profile process
	 * entry `process` (profile__intern_process_thread()), so threads of
	 * different process instances with the same pid stay apart */
	bool in_process;
	uint32_t process;
};

/* What sample_stacks_add did with a record. */
struct sample_stacks_result {
	bool added;	 /* some weight went into the profile */
	uint32_t thread; /* the record's thread in the profile */
	bool had_errors; /* a frame could not be resolved */
	uint64_t weight; /* weight added */
};

/*
 * Add record `s` to profile `p`. `stack` is scratch for at least
 * SAMPLE_STACKS_MAX_DEPTH ids. Returns 0 or -errno (profile errors).
 */
#define SAMPLE_STACKS_MAX_DEPTH (PYEBPF_MAX_FRAMES + PYEBPF_MAX_KFRAMES + 4)

int sample_stacks_add(struct profile *p, const struct sample_stacks_opts *o,
		      const struct pyebpf_sample *s, frame_resolver resolve, void *ctx,
		      uint32_t *stack, struct sample_stacks_result *res);

/* Whether profile weights are nanoseconds in this mode (else sample
 * counts, and an on-CPU sample weighs 1). */
bool sample_stacks_weights_are_ns(enum time_mode mode);

#endif /* PYEBPF_SAMPLE_STACKS_H */
