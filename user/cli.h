/* SPDX-License-Identifier: MIT */
/* Command-line parsing. Flags follow py-spy where py-spy has the idea. */
#ifndef PYEBPF_CLI_H
#define PYEBPF_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

enum cli_command {
	CLI_RECORD = 0,	 /* [record]: profile into a file */
	CLI_DUMP,	 /* dump: every thread's Python stack, now */
	CLI_TOP,	 /* top: a live table of the hottest functions */
	CLI_COMPLETIONS, /* completions SHELL: print shell completions */
	CLI_HELP,
	CLI_VERSION,
};

/* Shells `pyebpf completions` writes for. */
enum cli_shell {
	SHELL_BASH = 0,
	SHELL_ZSH,
	SHELL_FISH,
};

/* Most --comm and --exclude-pid values. */
#define CLI_MAX_FILTERS 32

enum output_format {
	FORMAT_FLAMEGRAPH = 0, /* SVG flame graph (the default, as py-spy) */
	FORMAT_RAW,	       /* folded stacks */
	FORMAT_SPEEDSCOPE,     /* speedscope JSON */
	FORMAT_PPROF,	       /* gzipped profile.proto */
	FORMAT_CHROMETRACE,    /* Chrome trace-event JSON */
};

/* Which time a profile shows. */
enum time_mode {
	TIME_CPU = 0, /* on-CPU samples only (the default, as py-spy) */
	TIME_WALL,    /* --idle: on-CPU and off-CPU time: wall-clock time */
	TIME_OFF_CPU, /* --off-cpu: off-CPU time only */
};

struct cli_options {
	enum cli_command command;
	pid_t pid;	/* 0: run `program` instead */
	char **program; /* argv of the program to start, NULL-terminated */
	unsigned int rate_hz;
	double duration_s;  /* 0: until Ctrl-C or the target exits */
	const char *output; /* NULL: a generated name */
	enum output_format format;
	unsigned int max_frames;
	enum time_mode time_mode;
	bool gil_only;	      /* --gil: only samples whose thread holds the GIL */
	bool kernel;	      /* --kernel: kernel stacks below the Python frames */
	bool threads;	      /* --threads: a root frame and a summary per thread */
	bool function_lines;  /* -F: a function's first line, not the current one */
	bool no_line_numbers; /* --nolineno */
	bool full_filenames;  /* --full-filenames: no package-relative names */

	/* which processes (record, dump, top) */
	bool subprocesses;		   /* --subprocesses: the target's children too, also
					      those started later */
	bool all;			   /* --all: every Python process on the host */
	const char *comm[CLI_MAX_FILTERS]; /* --comm NAME: only processes whose
					      comm (or executable's name) is one
					      of these; with --all */
	size_t n_comm;
	pid_t exclude_pids[CLI_MAX_FILTERS]; /* --exclude-pid PID, with --all */
	size_t n_exclude_pids;

	bool json;	      /* dump --json */
	enum cli_shell shell; /* completions SHELL */
	double refresh_s;     /* top: seconds between refreshes (default 1) */
};

#define CLI_DEFAULT_RATE 100

/*
 * Parse argv into *opts (which borrows strings from argv). Returns 0, or -1
 * after printing a one-line "pyebpf: ..." usage error to `err`.
 */
int cli_parse(int argc, char **argv, struct cli_options *opts, FILE *err);

void cli_print_help(FILE *out);

/* "record", "dump", "top", ... */
const char *cli_command_name(enum cli_command c);

/* Every long option, getopt's way (NULL-terminated), and the i-th format's
 * name (NULL past the last): what shell completions offer. */
struct option;
const struct option *cli_long_options(void);
const char *cli_format_name_at(size_t i);

/* The file extension for a format's generated names, without the dot
 * ("svg", "speedscope.json"), and its -f name ("flamegraph"). */
const char *cli_format_extension(enum output_format format);
const char *cli_format_name(enum output_format format);

/* The format an output name's extension stands for (.svg, .folded, .txt,
 * .json, .speedscope.json, .pb.gz, .pb, .pprof, .trace.json,
 * .chrometrace.json; any case): 0 and *format set, or -1 if none. */
int cli_format_from_path(const char *path, enum output_format *format);

#endif /* PYEBPF_CLI_H */
