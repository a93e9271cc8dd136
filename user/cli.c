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
	      "\n"
	      "Profiles a running CPython process without stopping or changing it, or starts\n"
	      "PROGRAM and profiles it from its first Python frame until it exits. Runs until\n"
	      "Ctrl-C, --duration, or the target's exit, then writes the profile.\n"
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

	/* the subcommand is optional: `pyebpf --pid N` records */
	if (argc > 1 && !strcmp(argv[1], "record")) {
		argv++;
		argc--;
	}

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
	if (!opts->pid && !opts->program) {
		fprintf(err, "pyebpf: nothing to profile: give --pid PID or -- PROGRAM "
			     "(see pyebpf --help)\n");
		return -1;
	}
	if (opts->pid && opts->program) {
		fprintf(err, "pyebpf: give either --pid or a program to start, not both\n");
		return -1;
	}
	return 0;
}
