/* SPDX-License-Identifier: MIT */
/*
 * What every output writer is given: the profile, how to read its weights,
 * and what was profiled (for titles and metadata).
 *
 * Each format has one writer, `int <format>_output__write(const struct
 * report *r, FILE *out)`, returning 0 or -errno; report_write() picks it.
 * Writers never print to stderr and never close `out`.
 */
#ifndef PYEBPF_REPORT_H
#define PYEBPF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

struct profile;
struct timeline;

/* What a profile weight counts. */
enum report_unit {
	REPORT_SAMPLES = 0, /* on-CPU samples (a sample stands for period_ns) */
	REPORT_NANOSECONDS, /* time: on-CPU samples weigh period_ns, off-CPU
			       intervals their length */
};

struct report {
	const struct profile *profile;
	/* the records in time order (stack ids and times); NULL unless the
	 * format needs it (chrometrace) */
	const struct timeline *timeline;
	enum report_unit unit;
	uint64_t period_ns;  /* what one on-CPU sample stands for */
	enum time_mode mode; /* on-CPU only, wall, or off-CPU only */
	bool show_threads;   /* --threads: a root frame per thread */
	/* --subprocesses, --all: a root frame per process, the thread's
	 * process entry's label (profile_process_label()), above the thread's */
	bool show_processes;

	/* Only some of the profile's stacks: the agent sends one profile per
	 * process and per type of time. Zeroed: every stack. Taken by the
	 * pprof writer; the others write every stack. */
	struct report_selection {
		bool one_process; /* only the threads of process entry `process` */
		uint32_t process;
		enum report_stacks {
			REPORT_ALL_STACKS = 0,
			REPORT_ON_CPU_STACKS,  /* stacks without an off-CPU frame */
			REPORT_OFF_CPU_STACKS, /* stacks with one */
		} stacks;
	} select;

	/* what was profiled; any may be 0/NULL when unknown */
	pid_t pid;
	const char *command;	    /* the target's command line, for titles */
	const char *python_version; /* "3.12.1" */
	unsigned int rate_hz;
	double duration_s;
	/* wall-clock time the profile started (ns since the epoch); golden
	 * tests set a fixed value so output bytes are reproducible */
	uint64_t start_unix_ns;
	/* CLOCK_MONOTONIC (= bpf_ktime_get_ns) time of that same start: the
	 * timeline's times minus this are offsets into the profile */
	uint64_t start_mono_ns;
};

/* Writes r in `format` to out. 0 or -errno. */
int report_write(const struct report *r, enum output_format format, FILE *out);

#endif /* PYEBPF_REPORT_H */
