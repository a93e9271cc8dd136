// SPDX-License-Identifier: MIT
/*
 * pyebpf-flamegraph: folded stacks in, an interactive SVG flame graph out,
 * with the options flamegraph.pl users know.
 *
 * Exit status: 0 on success, 1 when the input or output fails, 2 for a
 * usage error. Every error is one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flamegraph.h"

#define PROG "pyebpf-flamegraph"

static const char usage[] =
	"usage: " PROG " [options] [FILE...] > graph.svg\n"
	"\n"
	"Draws folded stacks (\"frame;frame;frame COUNT\" per line, as pyebpf --format raw,\n"
	"py-spy --format raw and flamegraph.pl's stackcollapse scripts write them) from the\n"
	"FILEs, or standard input without one or for \"-\", as an SVG flame graph: click to\n"
	"zoom, Search (Ctrl-F) with a regular expression, hover for details.\n"
	"\n"
	"  -o, --output FILE   write the SVG to FILE instead of standard output\n"
	"  --title TEXT        the title (default \"Flame Graph\", or \"Icicle Graph\")\n"
	"  --subtitle TEXT     a second line under the title\n"
	"  --inverted          an icicle graph: the root at the top\n"
	"  --width PX          image width (default 1200)\n"
	"  --minwidth PX       omit frames narrower than PX pixels, or PX% of the\n"
	"                      graph's width (default 0.1)\n"
	"  --colors SCHEME     python (default: colours by kind of code, warm on-CPU,\n"
	"                      cool off-CPU), or by name only: hot, mem, io, red, green,\n"
	"                      blue, aqua, yellow, purple, orange\n"
	"  --countname NAME    what counts count, for hover details (default \"samples\")\n"
	"  --ns                counts are nanoseconds: hover shows s, ms, us\n"
	"  --hash              accepted for flamegraph.pl scripts; colours always come\n"
	"                      from a hash of the name\n"
	"  -h, --help          this help\n"
	"\n"
	"A line ending in two counts (a differential file) is drawn with the last one, as\n"
	"flamegraph.pl does. Lines that are not a stack and a count are skipped with a\n"
	"warning; input without any valid line is an error.\n";

enum {
	OPT_TITLE = 256,
	OPT_SUBTITLE,
	OPT_INVERTED,
	OPT_WIDTH,
	OPT_MINWIDTH,
	OPT_COLORS,
	OPT_COUNTNAME,
	OPT_NS,
	OPT_HASH,
};

static const struct option long_options[] = {
	{"output", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, 'h'},
	{"title", required_argument, NULL, OPT_TITLE},
	{"subtitle", required_argument, NULL, OPT_SUBTITLE},
	{"inverted", no_argument, NULL, OPT_INVERTED},
	{"width", required_argument, NULL, OPT_WIDTH},
	{"minwidth", required_argument, NULL, OPT_MINWIDTH},
	{"colors", required_argument, NULL, OPT_COLORS},
	{"countname", required_argument, NULL, OPT_COUNTNAME},
	{"ns", no_argument, NULL, OPT_NS},
	{"hash", no_argument, NULL, OPT_HASH},
	{NULL, 0, NULL, 0},
};

__attribute__((format(printf, 1, 2))) static void error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct args {
	struct flamegraph_options o;
	const char *output;
	const char *minwidth;
	char **files;
	int n_files;
};

/* 0, or 2 after printing why */
static int parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	int c;

	flamegraph_options_init(&a->o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case OPT_TITLE:
			a->o.title = optarg;
			break;
		case OPT_SUBTITLE:
			a->o.subtitle = optarg;
			break;
		case OPT_INVERTED:
			a->o.inverted = true;
			break;
		case OPT_WIDTH: {
			unsigned long w;

			errno = 0;
			w = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || w < 100 || w > 100000 ||
			    optarg[0] == '-') {
				error("invalid --width '%s' (pixels, 100 to 100000)", optarg);
				return 2;
			}
			a->o.width = w;
			break;
		}
		case OPT_MINWIDTH:
			a->minwidth = optarg;
			break;
		case OPT_COLORS:
			if (flamegraph_colors_from_name(optarg, &a->o.colors)) {
				error("unknown --colors '%s' (python, hot, mem, io, red, green, "
				      "blue, "
				      "aqua, yellow, purple, orange)",
				      optarg);
				return 2;
			}
			break;
		case OPT_COUNTNAME:
			a->o.countname = optarg;
			break;
		case OPT_NS:
			a->o.weights_ns = true;
			break;
		case OPT_HASH:
			break;
		case ':':
			error("option '%s' needs a value", argv[optind - 1]);
			return 2;
		default:
			error("unknown option '%s' (see --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (a->minwidth) {
		double v;

		errno = 0;
		v = strtod(a->minwidth, &end);
		if (errno || end == a->minwidth || (*end && strcmp(end, "%")) || !(v >= 0) ||
		    isinf(v)) {
			error("invalid --minwidth '%s' (pixels, or a percentage like 0.5%%)",
			      a->minwidth);
			return 2;
		}
		/* a percentage of the width the frames span (10 px margins) */
		a->o.minwidth = *end ? v / 100.0 * (a->o.width - 20) : v;
	}
	a->files = argv + optind;
	a->n_files = argc - optind;
	return 0;
}

static const char *input_name(const char *path)
{
	return strcmp(path, "-") ? path : "standard input";
}

/* What all inputs held. */
struct totals {
	size_t lines, stacks, invalid;
	const char *first_invalid_file;
	size_t first_invalid_line;
};

/* Adds one input; 0, or 1 after printing why. */
static int read_input(struct flamegraph *fg, const char *path, struct totals *t)
{
	struct flamegraph_folded_stats st;
	bool std = !strcmp(path, "-");
	FILE *in = std ? stdin : fopen(path, "r");
	int err;

	if (!in) {
		error("cannot read '%s': %s", path, strerror(errno));
		return 1;
	}
	err = flamegraph__add_folded(fg, in, &st);
	if (!std)
		fclose(in);
	if (err) {
		error("cannot read '%s': %s", input_name(path), strerror(-err));
		return 1;
	}
	if (st.invalid && !t->invalid) {
		t->first_invalid_file = input_name(path);
		t->first_invalid_line = st.first_invalid;
	}
	t->lines += st.lines;
	t->stacks += st.stacks;
	t->invalid += st.invalid;
	return 0;
}

/* Writes the SVG; 0, or 1 after printing why (a partial regular file is
 * removed; never a device such as /dev/stdout). */
static int write_output(const struct flamegraph *fg, const struct args *a)
{
	const char *name = a->output ? a->output : "standard output";
	FILE *out = a->output ? fopen(a->output, "w") : stdout;
	struct stat st;
	int err;

	if (!out) {
		error("cannot write '%s': %s", name, strerror(errno));
		return 1;
	}
	err = flamegraph__write_svg(fg, &a->o, out);
	if (a->output && fclose(out) && !err)
		err = errno ? -errno : -EIO;
	if (err) {
		error("cannot write '%s': %s", name, strerror(-err));
		if (a->output && !lstat(a->output, &st) && S_ISREG(st.st_mode))
			unlink(a->output);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct totals sum = {0};
	struct args a = {0};
	struct flamegraph *fg;
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret;
	fg = flamegraph__new();
	if (!fg) {
		error("cannot start: %s", strerror(errno));
		return 1;
	}
	if (!a.n_files)
		ret = read_input(fg, "-", &sum);
	for (int i = 0; i < a.n_files && !ret; i++)
		ret = read_input(fg, a.files[i], &sum);
	if (!ret && !sum.stacks) {
		error("no stacks in the input: %zu line%s, none of them 'frame;frame COUNT'",
		      sum.lines, sum.lines == 1 ? "" : "s");
		ret = 1;
	} else if (!ret && sum.invalid) {
		error("warning: ignored %zu line%s that %s not 'frame;frame COUNT' (the first is "
		      "line %zu of '%s')",
		      sum.invalid, sum.invalid == 1 ? "" : "s", sum.invalid == 1 ? "is" : "are",
		      sum.first_invalid_line, sum.first_invalid_file);
	}
	if (!ret)
		ret = write_output(fg, &a);
	flamegraph__free(fg);
	return ret;
}
