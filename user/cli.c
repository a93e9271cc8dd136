// SPDX-License-Identifier: MIT
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/types.h>

#include "pyebpf.h"

enum {
	OPT_MAX_FRAMES = 256,
	OPT_IDLE,
	OPT_OFF_CPU,
	OPT_GIL,
	OPT_KERNEL,
	OPT_THREADS,
	OPT_NOLINENO,
	OPT_FULL_FILENAMES,
	OPT_SUBPROCESSES,
	OPT_ALL,
	OPT_COMM,
	OPT_EXCLUDE_PID,
	OPT_JSON,
	OPT_REFRESH,
};

static const struct option long_options[] = {
	{"pid", required_argument, NULL, 'p'},
	{"rate", required_argument, NULL, 'r'},
	{"duration", required_argument, NULL, 'd'},
	{"output", required_argument, NULL, 'o'},
	{"format", required_argument, NULL, 'f'},
	{"max-frames", required_argument, NULL, OPT_MAX_FRAMES},
	{"idle", no_argument, NULL, OPT_IDLE},
	{"off-cpu", no_argument, NULL, OPT_OFF_CPU},
	{"gil", no_argument, NULL, OPT_GIL},
	{"kernel", no_argument, NULL, OPT_KERNEL},
	{"threads", no_argument, NULL, OPT_THREADS},
	{"function", no_argument, NULL, 'F'},
	{"nolineno", no_argument, NULL, OPT_NOLINENO},
	{"full-filenames", no_argument, NULL, OPT_FULL_FILENAMES},
	{"subprocesses", no_argument, NULL, OPT_SUBPROCESSES},
	{"all", no_argument, NULL, OPT_ALL},
	{"comm", required_argument, NULL, OPT_COMM},
	{"exclude-pid", required_argument, NULL, OPT_EXCLUDE_PID},
	{"json", no_argument, NULL, OPT_JSON},
	{"refresh", required_argument, NULL, OPT_REFRESH},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

void cli_print_help(FILE *out)
{
	fputs("pyebpf: a sampling profiler for Python, in eBPF\n"
	      "\n"
	      "Usage:\n"
	      "  pyebpf [record] --pid PID [options]\n"
	      "  pyebpf [record] [options] -- PROGRAM [ARGS...]\n"
	      "  pyebpf [record] --all [--comm NAME] [--exclude-pid PID] [options]\n"
	      "  pyebpf dump --pid PID [--json] [--subprocesses]\n"
	      "  pyebpf top --pid PID [options] | pyebpf top [options] -- PROGRAM [ARGS...]\n"
	      "  pyebpf agent --server URL [--config FILE] [options]  (see pyebpf agent --help)\n"
	      "  pyebpf completions bash|zsh|fish\n"
	      "\n"
	      "record profiles a running CPython process without stopping or changing it, or\n"
	      "starts PROGRAM and profiles it from its first Python frame until it exits. It\n"
	      "runs until Ctrl-C, --duration, or the target's exit, then writes the profile.\n"
	      "dump prints every thread's Python stack, now; top shows the hottest functions\n"
	      "live, refreshed every second. agent profiles every Python process on the\n"
	      "host, always, and pushes the profiles to Pyroscope.\n"
	      "\n"
	      "Options:\n"
	      "  -p, --pid PID          profile the running process PID (decimal or 0x hex)\n"
	      "  -r, --rate HZ          samples per second (default 100)\n"
	      "  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C)\n"
	      "  -o, --output PATH      where to write the profile; its extension picks the\n"
	      "                         format unless -f is given (.svg .txt .folded .json\n"
	      "                         .speedscope.json .pb.gz .pprof .trace.json)\n"
	      "                         (default: pyebpf-<pid>-<time>.<ext>, never replacing a "
	      "file)\n"
	      "  -f, --format FORMAT    flamegraph: an SVG flame graph (the default)\n"
	      "                         raw: folded stacks, as flamegraph.pl and inferno read "
	      "them\n"
	      "                         speedscope: JSON for speedscope.app\n"
	      "                         pprof: gzipped profile.proto for go tool pprof, Pyroscope\n"
	      "                         chrometrace: trace events for Perfetto, chrome://tracing\n"
	      "      --max-frames N     deepest Python stack kept, 1 to 512 (default 256);\n"
	      "                         deeper ones keep their innermost frames under [truncated]\n"
	      "      --idle             include time off CPU too (wall-clock time): I/O, sleep,\n"
	      "                         locks, the GIL and run-queue waits, each timed exactly\n"
	      "                         and shown below the Python frame as [off-cpu:CLASS]\n"
	      "      --off-cpu          show only time off CPU\n"
	      "      --gil              keep only samples whose thread holds the GIL\n"
	      "      --kernel           add the kernel stack below the Python frames\n"
	      "      --threads          a root frame per thread (tid and Python thread name),\n"
	      "                         and the summary per thread\n"
	      "  -F, --function         one frame per function (its first line), not per line\n"
	      "      --nolineno         no line numbers\n"
	      "      --full-filenames   full paths, not package-relative ones like\n"
	      "                         requests/api.py\n"
	      "      --subprocesses     also the target's child processes, those started later\n"
	      "                         too; each under a root frame naming its process\n"
	      "      --all              every Python process on the host, also those started\n"
	      "                         later\n"
	      "      --comm NAME        with --all: only processes whose command name is NAME\n"
	      "                         (repeat for several)\n"
	      "      --exclude-pid PID  with --all: never this process (repeat for several)\n"
	      "      --json             dump: JSON instead of text\n"
	      "      --refresh SECS     top: seconds between refreshes (default 1)\n"
	      "  -h, --help             show this help\n"
	      "  -V, --version          show the version\n"
	      "\n"
	      "Examples:\n"
	      "  sudo pyebpf --pid 1234                       # flame graph: "
	      "pyebpf-1234-<time>.svg\n"
	      "  sudo pyebpf record -p 1234 -d 10 -r 100 -o out.folded\n"
	      "  sudo pyebpf -p 1234 -d 10 -o profile.pb.gz   # go tool pprof, Pyroscope\n"
	      "  sudo pyebpf record -f raw -o out.folded -- python3 app.py --port 8000\n"
	      "  sudo pyebpf --pid 1234 --idle --threads -d 30   # where does the time go?\n"
	      "  sudo pyebpf dump --pid 1234                  # what is it doing right now?\n"
	      "  sudo pyebpf top --pid 1234\n"
	      "  sudo pyebpf --all -d 60 -o host.svg          # every Python process\n"
	      "\n"
	      "Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF.\n",
	      out);
}

static const struct {
	const char *name;
	enum output_format format;
	const char *extension; /* for generated names */
} formats[] = {
	{"flamegraph", FORMAT_FLAMEGRAPH, "svg"},
	{"raw", FORMAT_RAW, "txt"},
	{"speedscope", FORMAT_SPEEDSCOPE, "speedscope.json"},
	{"pprof", FORMAT_PPROF, "pb.gz"},
	{"chrometrace", FORMAT_CHROMETRACE, "trace.json"},
};

/* Output name endings and their formats; the longest match wins, so
 * ".trace.json" is chrometrace while ".json" is speedscope. */
static const struct {
	const char *suffix;
	enum output_format format;
} suffixes[] = {
	{".svg", FORMAT_FLAMEGRAPH},
	{".folded", FORMAT_RAW},
	{".txt", FORMAT_RAW},
	{".json", FORMAT_SPEEDSCOPE},
	{".speedscope.json", FORMAT_SPEEDSCOPE},
	{".pb.gz", FORMAT_PPROF},
	{".pb", FORMAT_PPROF},
	{".pprof", FORMAT_PPROF},
	{".trace.json", FORMAT_CHROMETRACE},
	{".chrometrace.json", FORMAT_CHROMETRACE},
};

const struct option *cli_long_options(void)
{
	return long_options;
}

const char *cli_format_name_at(size_t i)
{
	return i < sizeof(formats) / sizeof(formats[0]) ? formats[i].name : NULL;
}

const char *cli_format_extension(enum output_format format)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].format == format)
			return formats[i].extension;
	return "out";
}

const char *cli_format_name(enum output_format format)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].format == format)
			return formats[i].name;
	return "?";
}

int cli_format_from_path(const char *path, enum output_format *format)
{
	size_t len = path ? strlen(path) : 0, best = 0;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t n = strlen(suffixes[i].suffix);

		if (n > best && len > n && !strcasecmp(path + len - n, suffixes[i].suffix)) {
			best = n;
			*format = suffixes[i].format;
		}
	}
	return best ? 0 : -1;
}

/* Decimal, or hex with 0x as py-spy takes pids; never octal, no sign or
 * blanks (strtoul would take "010" as 8 and " -1" as ULONG_MAX). */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *digits = hex ? s + 2 : s;
	char *end;
	unsigned long v;

	if (!(hex ? isxdigit : isdigit)((unsigned char)*digits))
		return -1;
	errno = 0;
	v = strtoul(digits, &end, hex ? 16 : 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* `completions SHELL`: nothing else. */
static int parse_completions(int argc, char **argv, struct cli_options *opts, FILE *err)
{
	static const struct {
		const char *name;
		enum cli_shell shell;
	} shells[] = {{"bash", SHELL_BASH}, {"zsh", SHELL_ZSH}, {"fish", SHELL_FISH}};

	if (argc != 2) {
		fprintf(err, "pyebpf: completions needs one shell: bash, zsh or fish\n");
		return -1;
	}
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		if (!strcmp(argv[1], shells[i].name)) {
			opts->shell = shells[i].shell;
			return 0;
		}
	}
	fprintf(err, "pyebpf: unknown shell '%s': give bash, zsh or fish\n", argv[1]);
	return -1;
}

/* Exactly one way to name what to profile: --pid, a program, or --all. */
static int check_targets(const struct cli_options *o, FILE *err)
{
	int ways = !!o->pid + !!o->program + o->all;

	if (ways == 0) {
		fprintf(err, o->command == CLI_DUMP
				     ? "pyebpf: dump needs --pid PID (see pyebpf --help)\n"
				     : "pyebpf: nothing to profile: give --pid PID, -- PROGRAM or "
				       "--all (see pyebpf --help)\n");
		return -1;
	}
	if (ways > 1) {
		fprintf(err, "pyebpf: give one of --pid, --all or a program to start, not "
			     "several\n");
		return -1;
	}
	if ((o->n_comm || o->n_exclude_pids) && !o->all) {
		fprintf(err, "pyebpf: --comm and --exclude-pid narrow --all: give --all too\n");
		return -1;
	}
	if (o->all && o->subprocesses) {
		fprintf(err, "pyebpf: --all already follows every process: drop "
			     "--subprocesses\n");
		return -1;
	}
	return 0;
}

/* Flags that mean nothing for the command are errors, not silently
 * ignored. */
static int check_command_flags(const struct cli_options *o, bool format_given, FILE *err)
{
	const char *bad = NULL;

	switch (o->command) {
	case CLI_DUMP:
		if (o->program || o->all)
			bad = o->program ? "a program to start" : "--all";
		else if (o->output || format_given)
			bad = o->output ? "--output" : "--format";
		else if (o->duration_s > 0)
			bad = "--duration";
		else if (o->time_mode != TIME_CPU)
			bad = "--idle or --off-cpu";
		else if (o->gil_only || o->kernel)
			bad = o->gil_only ? "--gil" : "--kernel";
		break;
	case CLI_TOP:
		if (o->output || format_given)
			bad = o->output ? "--output" : "--format";
		else if (o->json)
			bad = "--json";
		break;
	case CLI_RECORD:
		if (o->json)
			bad = "--json";
		break;
	default:
		break;
	}
	if (bad) {
		fprintf(err, "pyebpf: %s does not take %s (see pyebpf --help)\n",
			cli_command_name(o->command), bad);
		return -1;
	}
	return 0;
}

const char *cli_command_name(enum cli_command c)
{
	switch (c) {
	case CLI_RECORD:
		return "record";
	case CLI_DUMP:
		return "dump";
	case CLI_TOP:
		return "top";
	case CLI_COMPLETIONS:
		return "completions";
	case CLI_HELP:
		return "help";
	case CLI_VERSION:
		return "version";
	}
	return "?";
}

int cli_parse(int argc, char **argv, struct cli_options *opts, FILE *err)
{
	unsigned long v;
	char *end;
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->command = CLI_RECORD;
	opts->rate_hz = CLI_DEFAULT_RATE;
	opts->format = FORMAT_FLAMEGRAPH;
	opts->max_frames = PYEBPF_DEFAULT_FRAMES;

	opts->refresh_s = 1.0;

	/* the subcommand is optional: `pyebpf --pid N` records */
	if (argc > 1) {
		static const struct {
			const char *name;
			enum cli_command command;
		} commands[] = {
			{"record", CLI_RECORD},
			{"dump", CLI_DUMP},
			{"top", CLI_TOP},
			{"completions", CLI_COMPLETIONS},
		};

		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			if (strcmp(argv[1], commands[i].name))
				continue;
			opts->command = commands[i].command;
			argv++;
			argc--;
			break;
		}
	}
	if (opts->command == CLI_COMPLETIONS)
		return parse_completions(argc, argv, opts, err);

	optind = 0; /* 0, not 1: glibc then also forgets a half-read option cluster */
	opterr = 0;
	bool format_given = false;

	while ((c = getopt_long(argc, argv, "+:p:r:d:o:f:FhV", long_options, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, 0x7fffffff, &v) || v == 0) {
				fprintf(err, "pyebpf: invalid pid '%s'\n", optarg);
				return -1;
			}
			opts->pid = (pid_t)v;
			break;
		case 'r':
			if (parse_uint(optarg, 100000, &v) || v == 0) {
				fprintf(err,
					"pyebpf: invalid rate '%s': expected 1 to 100000 samples "
					"per second\n",
					optarg);
				return -1;
			}
			opts->rate_hz = (unsigned int)v;
			break;
		case 'd':
			errno = 0;
			opts->duration_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(opts->duration_s) ||
			    opts->duration_s <= 0) {
				fprintf(err,
					"pyebpf: invalid duration '%s': expected a positive "
					"number of seconds\n",
					optarg);
				return -1;
			}
			break;
		case 'o':
			if (!*optarg) {
				fprintf(err, "pyebpf: empty output path\n");
				return -1;
			}
			opts->output = optarg;
			break;
		case 'f': {
			size_t i = 0, n = sizeof(formats) / sizeof(formats[0]);

			while (i < n && strcasecmp(optarg, formats[i].name))
				i++;
			if (i == n) {
				fprintf(err,
					"pyebpf: unknown format '%s': supported formats: "
					"flamegraph, "
					"raw, speedscope, pprof, chrometrace\n",
					optarg);
				return -1;
			}
			opts->format = formats[i].format;
			format_given = true;
			break;
		}
		case 'F':
			opts->function_lines = true;
			break;
		case OPT_NOLINENO:
			opts->no_line_numbers = true;
			break;
		case OPT_FULL_FILENAMES:
			opts->full_filenames = true;
			break;
		case OPT_SUBPROCESSES:
			opts->subprocesses = true;
			break;
		case OPT_ALL:
			opts->all = true;
			break;
		case OPT_COMM:
			if (!*optarg || opts->n_comm == CLI_MAX_FILTERS) {
				fprintf(err, "pyebpf: %s --comm '%s': give 1 to %d names\n",
					*optarg ? "too many" : "empty", optarg, CLI_MAX_FILTERS);
				return -1;
			}
			opts->comm[opts->n_comm++] = optarg;
			break;
		case OPT_EXCLUDE_PID:
			if (parse_uint(optarg, 0x7fffffff, &v) || v == 0) {
				fprintf(err, "pyebpf: invalid --exclude-pid '%s'\n", optarg);
				return -1;
			}
			if (opts->n_exclude_pids == CLI_MAX_FILTERS) {
				fprintf(err, "pyebpf: too many --exclude-pid: at most %d\n",
					CLI_MAX_FILTERS);
				return -1;
			}
			opts->exclude_pids[opts->n_exclude_pids++] = (pid_t)v;
			break;
		case OPT_JSON:
			opts->json = true;
			break;
		case OPT_REFRESH:
			errno = 0;
			opts->refresh_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(opts->refresh_s) ||
			    opts->refresh_s < 0.1 || opts->refresh_s > 3600) {
				fprintf(err,
					"pyebpf: invalid --refresh '%s': expected 0.1 to 3600 "
					"seconds\n",
					optarg);
				return -1;
			}
			break;
		case OPT_MAX_FRAMES:
			if (parse_uint(optarg, PYEBPF_MAX_FRAMES, &v) || v == 0) {
				fprintf(err,
					"pyebpf: invalid --max-frames '%s': expected 1 to %d\n",
					optarg, PYEBPF_MAX_FRAMES);
				return -1;
			}
			opts->max_frames = (unsigned int)v;
			break;
		case OPT_IDLE:
		case OPT_OFF_CPU: {
			enum time_mode m = c == OPT_IDLE ? TIME_WALL : TIME_OFF_CPU;

			if (opts->time_mode != TIME_CPU && opts->time_mode != m) {
				fprintf(err, "pyebpf: give either --idle (on- and off-CPU time) "
					     "or --off-cpu (off-CPU time only), not both\n");
				return -1;
			}
			opts->time_mode = m;
			break;
		}
		case OPT_GIL:
			opts->gil_only = true;
			break;
		case OPT_KERNEL:
			opts->kernel = true;
			break;
		case OPT_THREADS:
			opts->threads = true;
			break;
		case 'h':
			opts->command = CLI_HELP;
			return 0;
		case 'V':
			opts->command = CLI_VERSION;
			return 0;
		case ':':
			fprintf(err, "pyebpf: option '%s' needs a value\n", argv[optind - 1]);
			return -1;
		default:
			/* inside a cluster like -zh, argv[optind - 1] is not the option */
			if (optopt > 0 && optopt < 128 && !strchr("prdofFhV", optopt))
				fprintf(err, "pyebpf: unknown option '-%c' (see pyebpf --help)\n",
					optopt);
			else
				fprintf(err, "pyebpf: unknown option '%s' (see pyebpf --help)\n",
					argv[optind - 1]);
			return -1;
		}
	}

	if (optind < argc)
		opts->program = &argv[optind];
	/* -f wins; else the output's name says, else the default */
	if (!format_given && opts->output)
		cli_format_from_path(opts->output, &opts->format);
	if (check_targets(opts, err) || check_command_flags(opts, format_given, err))
		return -1;
	return 0;
}
