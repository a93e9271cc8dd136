// SPDX-License-Identifier: MIT
/* Unit tests for user/cli.c: py-spy-compatible flags, and one-line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/types.h>

#include "cli.h"
#include "pyebpf.h"

/* argv as cli_parse gets it from main: "pyebpf" first, NULL last */
#define ARGV(...) ((char *[]){"pyebpf", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

/* cli_parse with its error stream captured; *err is malloc'd, free it */
static int parse(int argc, char **argv, struct cli_options *opts, char **err)
{
	size_t len = 0;
	FILE *f;
	int ret;

	*err = NULL;
	f = open_memstream(err, &len);
	assert_non_null(f);
	/* a parse must not depend on what was in *opts before */
	memset(opts, 0xa5, sizeof(*opts));
	ret = cli_parse(argc, argv, opts, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(*err), len);
	return ret;
}

/* Parse and expect success with nothing printed. */
static void parse_ok(int argc, char **argv, struct cli_options *opts)
{
	char *err;
	int ret = parse(argc, argv, opts, &err);

	if (ret != 0)
		fail_msg("cli_parse failed (%d): %s", ret, err);
	assert_string_equal(err, "");
	free(err);
}

/* An expression, not a block: opts->program may point into the argv
 * array, which must live as long as the caller's block */
#define PARSE_OK(opts, ...) parse_ok(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__), (opts))

/* The message for a rejected argv: exactly one line, "pyebpf: ...\n". */
static void check_one_line(const char *err)
{
	const char *nl = strchr(err, '\n');

	if (strncmp(err, "pyebpf: ", 8) != 0)
		fail_msg("error does not start with \"pyebpf: \": \"%s\"", err);
	assert_non_null(nl);
	/* the newline ends the message, and there is only one */
	assert_int_equal(nl[1], '\0');
	assert_true(strlen(err) > 9);
}

/* Parse and expect rejection; returns the message (free it). */
static char *parse_fail(int argc, char **argv)
{
	struct cli_options opts;
	char *err;
	int ret = parse(argc, argv, &opts, &err);

	if (ret != -1) {
		char joined[512] = "";

		for (int i = 1; i < argc; i++) {
			strncat(joined, " '", sizeof(joined) - strlen(joined) - 1);
			strncat(joined, argv[i], sizeof(joined) - strlen(joined) - 1);
			strncat(joined, "'", sizeof(joined) - strlen(joined) - 1);
		}
		fail_msg("cli_parse returned %d, not -1, for%s", ret, joined);
	}
	check_one_line(err);
	return err;
}

#define PARSE_FAIL(...) parse_fail(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__))

/* Expect rejection with a message containing `needle`. */
#define EXPECT_FAIL(needle, ...)                                                 \
	do {                                                                     \
		char *msg_ = PARSE_FAIL(__VA_ARGS__);                            \
		if (!strstr(msg_, (needle)))                                     \
			fail_msg("message \"%s\" lacks \"%s\"", msg_, (needle)); \
		free(msg_);                                                      \
	} while (0)

static void check_defaults(const struct cli_options *o)
{
	assert_int_equal(o->command, CLI_RECORD);
	assert_int_equal(o->rate_hz, CLI_DEFAULT_RATE);
	assert_true(o->duration_s == 0);
	assert_null(o->output);
	assert_int_equal(o->format, FORMAT_FLAMEGRAPH);
	assert_false(o->function_lines);
	assert_false(o->no_line_numbers);
	assert_false(o->full_filenames);
	assert_int_equal(o->max_frames, PYEBPF_DEFAULT_FRAMES);
	assert_int_equal(o->time_mode, TIME_CPU);
	assert_false(o->gil_only);
	assert_false(o->kernel);
	assert_false(o->threads);
}

static void test_time_flags(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "-p", "1", "--idle");
	assert_int_equal(o.time_mode, TIME_WALL);
	PARSE_OK(&o, "-p", "1", "--off-cpu", "--off-cpu");
	assert_int_equal(o.time_mode, TIME_OFF_CPU);
	PARSE_OK(&o, "record", "--gil", "--kernel", "--threads", "-p", "1");
	assert_int_equal(o.time_mode, TIME_CPU);
	assert_true(o.gil_only);
	assert_true(o.kernel);
	assert_true(o.threads);
	/* flags after -- belong to the program */
	PARSE_OK(&o, "--", "python3", "--idle");
	assert_int_equal(o.time_mode, TIME_CPU);
	EXPECT_FAIL("not both", "-p", "1", "--idle", "--off-cpu");
	EXPECT_FAIL("not both", "-p", "1", "--off-cpu", "--idle");
	EXPECT_FAIL("--idle=1", "-p", "1", "--idle=1");
}

static void test_pid_defaults(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "--pid", "1234");
	check_defaults(&o);
	assert_int_equal(o.pid, 1234);
	assert_null(o.program);

	PARSE_OK(&o, "-p", "1");
	check_defaults(&o);
	assert_int_equal(o.pid, 1);

	PARSE_OK(&o, "--pid=42");
	assert_int_equal(o.pid, 42);

	/* short option with its value attached, as getopt allows */
	PARSE_OK(&o, "-p77");
	assert_int_equal(o.pid, 77);
}

static void test_record_is_optional(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "record", "-p", "99");
	check_defaults(&o);
	assert_int_equal(o.pid, 99);
	assert_null(o.program);

	PARSE_OK(&o, "record", "--", "python3", "app.py");
	assert_int_equal(o.pid, 0);
	assert_non_null(o.program);
	assert_string_equal(o.program[0], "python3");
}

static void test_pid_hex_and_decimal(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "-p", "0x1f");
	assert_int_equal(o.pid, 31);
	PARSE_OK(&o, "-p", "0X1F");
	assert_int_equal(o.pid, 31);
	PARSE_OK(&o, "-p", "0x7fffffff");
	assert_int_equal(o.pid, 0x7fffffff);
	PARSE_OK(&o, "-p", "2147483647");
	assert_int_equal(o.pid, 2147483647);
	/* "decimal or 0x hex": a leading zero is not octal */
	PARSE_OK(&o, "-p", "010");
	assert_int_equal(o.pid, 10);
	PARSE_OK(&o, "-p", "09");
	assert_int_equal(o.pid, 9);
}

static void test_all_options(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "record", "-p", "1234", "-d", "10", "-r", "250", "-f", "raw", "-o",
		 "out.folded", "--max-frames", "64");
	assert_int_equal(o.command, CLI_RECORD);
	assert_int_equal(o.pid, 1234);
	assert_true(o.duration_s == 10.0);
	assert_int_equal(o.rate_hz, 250);
	assert_int_equal(o.format, FORMAT_RAW);
	assert_string_equal(o.output, "out.folded");
	assert_int_equal(o.max_frames, 64);

	PARSE_OK(&o, "--pid", "5", "--duration", "0.25", "--rate", "100000", "--format", "RAW",
		 "--output", "x.txt", "--max-frames=512");
	assert_true(o.duration_s == 0.25);
	assert_int_equal(o.rate_hz, 100000);
	assert_string_equal(o.output, "x.txt");
	assert_int_equal(o.max_frames, 512);

	PARSE_OK(&o, "-p", "5", "-r", "1", "--max-frames", "1", "-d", "1e3");
	assert_int_equal(o.rate_hz, 1);
	assert_int_equal(o.max_frames, 1);
	assert_true(o.duration_s == 1000.0);

	/* the last of a repeated option wins */
	PARSE_OK(&o, "-p", "5", "-r", "10", "-r", "20");
	assert_int_equal(o.rate_hz, 20);
}

static void test_output_borrows_argv(void **state)
{
	char **argv = ARGV("-o", "/tmp/profile.txt", "-p", "3");
	struct cli_options o;
	char *err;

	assert_int_equal(parse(ARGC(ARGV("-o", "/tmp/profile.txt", "-p", "3")), argv, &o, &err), 0);
	free(err);
	assert_ptr_equal(o.output, argv[2]);
}

static void test_format_case_insensitive(void **state)
{
	static const char *const names[] = {"raw", "RAW", "Raw", "rAw"};
	struct cli_options o;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char **argv = ARGV("-p", "1", "-f", (char *)names[i]);
		char *err;

		o.format = (enum output_format)7;
		assert_int_equal(parse(5, argv, &o, &err), 0);
		assert_string_equal(err, "");
		free(err);
		assert_int_equal(o.format, FORMAT_RAW);
	}
	assert_string_equal(cli_format_extension(FORMAT_RAW), "txt");
}

/* Every format by name, and the extension of its generated names. */
static void test_format_names(void **state)
{
	static const struct {
		const char *name, *ext;
		enum output_format format;
	} cases[] = {
		{"flamegraph", "svg", FORMAT_FLAMEGRAPH},
		{"raw", "txt", FORMAT_RAW},
		{"speedscope", "speedscope.json", FORMAT_SPEEDSCOPE},
		{"pprof", "pb.gz", FORMAT_PPROF},
		{"chrometrace", "trace.json", FORMAT_CHROMETRACE},
	};
	struct cli_options o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PARSE_OK(&o, "-p", "1", "-f", (char *)cases[i].name);
		assert_int_equal(o.format, cases[i].format);
		assert_string_equal(cli_format_name(cases[i].format), cases[i].name);
		assert_string_equal(cli_format_extension(cases[i].format), cases[i].ext);
	}
	EXPECT_FAIL("unknown format 'svg': supported formats: flamegraph, raw, "
		    "speedscope, pprof, chrometrace",
		    "-p", "1", "-f", "svg");
}

/* Without -f the output's name picks the format; -f wins over it. */
static void test_format_from_output_name(void **state)
{
	static const struct {
		const char *path;
		enum output_format format;
	} cases[] = {
		{"out.svg", FORMAT_FLAMEGRAPH},
		{"out.SVG", FORMAT_FLAMEGRAPH},
		{"out.folded", FORMAT_RAW},
		{"/tmp/x/out.txt", FORMAT_RAW},
		{"out.json", FORMAT_SPEEDSCOPE},
		{"out.speedscope.json", FORMAT_SPEEDSCOPE},
		{"out.pb.gz", FORMAT_PPROF},
		{"out.pprof", FORMAT_PPROF},
		{"out.pb", FORMAT_PPROF},
		{"out.trace.json", FORMAT_CHROMETRACE},
		{"out.chrometrace.json", FORMAT_CHROMETRACE},
		{"out", FORMAT_FLAMEGRAPH},    /* no extension: the default */
		{"out.gz", FORMAT_FLAMEGRAPH}, /* unknown: the default */
		{".svg", FORMAT_FLAMEGRAPH},   /* a name that is only an extension */
		{"json", FORMAT_FLAMEGRAPH},
	};
	enum output_format f;
	struct cli_options o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		PARSE_OK(&o, "-p", "1", "-o", (char *)cases[i].path);
		assert_int_equal(o.format, cases[i].format);
	}
	PARSE_OK(&o, "-p", "1", "-f", "raw", "-o", "out.svg");
	assert_int_equal(o.format, FORMAT_RAW);
	PARSE_OK(&o, "-p", "1", "-o", "out.svg", "-f", "pprof");
	assert_int_equal(o.format, FORMAT_PPROF);
	assert_int_equal(cli_format_from_path("a.pb.gz", &f), 0);
	assert_int_equal(f, FORMAT_PPROF);
	assert_int_equal(cli_format_from_path("a.gz", &f), -1);
	assert_int_equal(cli_format_from_path(NULL, &f), -1);
}

static void test_line_and_file_flags(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "-p", "1", "-F", "--nolineno", "--full-filenames");
	assert_true(o.function_lines);
	assert_true(o.no_line_numbers);
	assert_true(o.full_filenames);
	PARSE_OK(&o, "-p", "1", "--function");
	assert_true(o.function_lines);
	assert_false(o.no_line_numbers);
	EXPECT_FAIL("unknown option '-x'", "-p", "1", "-Fx");
}

static void test_help_and_version(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "-h");
	assert_int_equal(o.command, CLI_HELP);
	PARSE_OK(&o, "--help");
	assert_int_equal(o.command, CLI_HELP);
	PARSE_OK(&o, "record", "--help");
	assert_int_equal(o.command, CLI_HELP);
	/* help needs no target and wins over the options before it */
	PARSE_OK(&o, "-r", "50", "-h");
	assert_int_equal(o.command, CLI_HELP);

	PARSE_OK(&o, "-V");
	assert_int_equal(o.command, CLI_VERSION);
	PARSE_OK(&o, "--version");
	assert_int_equal(o.command, CLI_VERSION);
}

static void test_help_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli_print_help(f);
	assert_int_equal(fclose(f), 0);
	/* every option the parser takes is documented */
	assert_non_null(strstr(buf, "--pid"));
	assert_non_null(strstr(buf, "--rate"));
	assert_non_null(strstr(buf, "--duration"));
	assert_non_null(strstr(buf, "--output"));
	assert_non_null(strstr(buf, "--format"));
	assert_non_null(strstr(buf, "--max-frames"));
	assert_non_null(strstr(buf, "--help"));
	assert_non_null(strstr(buf, "--version"));
	assert_int_equal(buf[len - 1], '\n');
	free(buf);
}

static void test_program_after_dashdash(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "-f", "raw", "-o", "out.folded", "--", "python3", "app.py", "--port", "8000",
		 "-p", "5");
	assert_int_equal(o.command, CLI_RECORD);
	assert_int_equal(o.rate_hz, CLI_DEFAULT_RATE);
	assert_int_equal(o.max_frames, PYEBPF_DEFAULT_FRAMES);
	assert_int_equal(o.pid, 0);
	assert_string_equal(o.output, "out.folded");
	assert_non_null(o.program);
	assert_string_equal(o.program[0], "python3");
	assert_string_equal(o.program[1], "app.py");
	/* the program's own options are its own, even ones pyebpf knows */
	assert_string_equal(o.program[2], "--port");
	assert_string_equal(o.program[3], "8000");
	assert_string_equal(o.program[4], "-p");
	assert_string_equal(o.program[5], "5");
	assert_null(o.program[6]);
}

static void test_program_without_dashdash(void **state)
{
	struct cli_options o;

	/* options end at the first non-option, as py-spy's do */
	PARSE_OK(&o, "-r", "50", "python3", "app.py", "-h", "--pid", "7");
	assert_int_equal(o.command, CLI_RECORD);
	assert_int_equal(o.rate_hz, 50);
	assert_int_equal(o.pid, 0);
	assert_non_null(o.program);
	assert_string_equal(o.program[0], "python3");
	assert_string_equal(o.program[2], "-h");
	assert_string_equal(o.program[3], "--pid");
	assert_string_equal(o.program[4], "7");
	assert_null(o.program[5]);

	PARSE_OK(&o, "record", "python3");
	assert_string_equal(o.program[0], "python3");
	assert_null(o.program[1]);
}

static void test_invalid_pid(void **state)
{
	EXPECT_FAIL("'0'", "-p", "0");
	EXPECT_FAIL("'0x0'", "-p", "0x0");
	EXPECT_FAIL("'-1'", "-p", "-1");
	EXPECT_FAIL("'-0'", "-p", "-0");
	EXPECT_FAIL("pid", "-p", "abc");
	EXPECT_FAIL("'12x'", "-p", "12x");
	EXPECT_FAIL("pid", "-p", "");
	EXPECT_FAIL("pid", "--pid=");
	EXPECT_FAIL("pid", "-p", "0x");
	EXPECT_FAIL("pid", "-p", "0xg");
	EXPECT_FAIL("pid", "-p", "1.5");
	EXPECT_FAIL("pid", "-p", " 12");
	EXPECT_FAIL("pid", "-p", "+12");
	EXPECT_FAIL("pid", "-p", "12 ");
	EXPECT_FAIL("pid", "-p", "2147483648");
	EXPECT_FAIL("pid", "-p", "0x80000000");
	EXPECT_FAIL("pid", "-p", "4294967297");
	EXPECT_FAIL("pid", "-p", "99999999999999999999999");
	EXPECT_FAIL("pid", "-p", "0x-1");
}

static void test_invalid_rate(void **state)
{
	EXPECT_FAIL("rate", "-p", "1", "-r", "0");
	EXPECT_FAIL("rate", "-p", "1", "-r", "-5");
	EXPECT_FAIL("rate", "-p", "1", "-r", "100001");
	EXPECT_FAIL("rate", "-p", "1", "-r", "18446744073709551616");
	EXPECT_FAIL("rate", "-p", "1", "-r", "fast");
	EXPECT_FAIL("rate", "-p", "1", "-r", "");
	EXPECT_FAIL("rate", "-p", "1", "--rate", "10hz");
}

static void test_invalid_duration(void **state)
{
	EXPECT_FAIL("duration", "-p", "1", "-d", "0");
	EXPECT_FAIL("duration", "-p", "1", "-d", "-0");
	EXPECT_FAIL("duration", "-p", "1", "-d", "-1");
	EXPECT_FAIL("duration", "-p", "1", "-d", "abc");
	EXPECT_FAIL("duration", "-p", "1", "-d", "");
	EXPECT_FAIL("duration", "-p", "1", "-d", "10s");
	EXPECT_FAIL("duration", "-p", "1", "-d", "nan");
	EXPECT_FAIL("duration", "-p", "1", "-d", "inf");
	EXPECT_FAIL("duration", "-p", "1", "--duration", "1e999");
	EXPECT_FAIL("duration", "-p", "1", "--duration", "-inf");
}

static void test_invalid_output_and_format(void **state)
{
	EXPECT_FAIL("output", "-p", "1", "-o", "");
	EXPECT_FAIL("output", "-p", "1", "--output=");
	EXPECT_FAIL("'json'", "-p", "1", "-f", "json");
	EXPECT_FAIL("format", "-p", "1", "-f", "");
	EXPECT_FAIL("format", "-p", "1", "-f", "rawx");
	EXPECT_FAIL("format", "-p", "1", "--format", "raw ");
}

static void test_invalid_max_frames(void **state)
{
	struct cli_options o;

	EXPECT_FAIL("max-frames", "-p", "1", "--max-frames", "0");
	EXPECT_FAIL("max-frames", "-p", "1", "--max-frames", "513");
	EXPECT_FAIL("max-frames", "-p", "1", "--max-frames", "-1");
	EXPECT_FAIL("max-frames", "-p", "1", "--max-frames", "many");
	EXPECT_FAIL("max-frames", "-p", "1", "--max-frames", "");
	EXPECT_FAIL("max-frames", "-p", "1", "--max-frames", "4294967552");
	/* the bounds themselves are fine */
	PARSE_OK(&o, "-p", "1", "--max-frames", "0x200");
	assert_int_equal(o.max_frames, 512);
}

static void test_missing_values(void **state)
{
	EXPECT_FAIL("'-p'", "-p");
	EXPECT_FAIL("'--pid'", "--pid");
	EXPECT_FAIL("'-o'", "-p", "1", "-o");
	EXPECT_FAIL("'--max-frames'", "-p", "1", "--max-frames");
	EXPECT_FAIL("'-d'", "record", "-p", "1", "-d");
}

static void test_unknown_options(void **state)
{
	EXPECT_FAIL("'-z'", "-z");
	EXPECT_FAIL("'-z'", "-p", "1", "-z");
	EXPECT_FAIL("'--bogus'", "--bogus");
	EXPECT_FAIL("'--bogus=1'", "-p", "1", "--bogus=1");
	EXPECT_FAIL("'--help=x'", "--help=x");
	/* inside a cluster: the message names the option, not a neighbour */
	EXPECT_FAIL("'-z'", "-zh");
	EXPECT_FAIL("'-z'", "-p", "1", "-zV");
	EXPECT_FAIL("'-q'", "-r", "5", "-qh");
}

static void test_target_required_and_exclusive(void **state)
{
	EXPECT_FAIL("nothing to profile", "record");
	EXPECT_FAIL("nothing to profile", "-r", "50");
	EXPECT_FAIL("nothing to profile", "--");
	EXPECT_FAIL("nothing to profile", "record", "-o", "x", "--");
	EXPECT_FAIL("not several", "-p", "5", "--", "python3", "app.py");
	EXPECT_FAIL("not several", "-p", "5", "python3");
	EXPECT_FAIL("not several", "record", "--pid", "5", "record");

	/* no arguments at all */
	{
		char *argv[] = {"pyebpf", NULL};
		char *msg = parse_fail(1, argv);

		assert_non_null(strstr(msg, "nothing to profile"));
		free(msg);
	}
}

/*
 * Each call starts afresh: a parse that returned in the middle of an
 * option cluster ("-hV" stops at -h) or failed in one must not leak its
 * getopt state into the next call.
 */
static void test_parses_are_independent(void **state)
{
	struct cli_options o;
	char *msg;

	PARSE_OK(&o, "-hV");
	assert_int_equal(o.command, CLI_HELP);
	PARSE_OK(&o, "-p", "5");
	assert_int_equal(o.command, CLI_RECORD);
	assert_int_equal(o.pid, 5);

	msg = PARSE_FAIL("-zh");
	free(msg);
	PARSE_OK(&o, "-p", "6");
	assert_int_equal(o.command, CLI_RECORD);
	assert_int_equal(o.pid, 6);

	PARSE_OK(&o, "-Vh");
	assert_int_equal(o.command, CLI_VERSION);
	PARSE_OK(&o, "-o", "a", "--", "python3");
	assert_int_equal(o.command, CLI_RECORD);
	assert_string_equal(o.output, "a");
	assert_string_equal(o.program[0], "python3");
}

/* dump, top and completions, and the flags that choose processes. */
static void test_commands(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "dump", "--pid", "42", "--json", "--subprocesses");
	assert_int_equal(o.command, CLI_DUMP);
	assert_int_equal(o.pid, 42);
	assert_true(o.json);
	assert_true(o.subprocesses);
	PARSE_OK(&o, "top", "-p", "42", "--refresh", "0.5");
	assert_int_equal(o.command, CLI_TOP);
	assert_true(o.refresh_s == 0.5);
	PARSE_OK(&o, "top", "--", "python3", "app.py");
	assert_int_equal(o.command, CLI_TOP);
	assert_non_null(o.program);
	PARSE_OK(&o, "-p", "1");
	assert_true(o.refresh_s == 1.0);
	PARSE_OK(&o, "completions", "zsh");
	assert_int_equal(o.command, CLI_COMPLETIONS);
	assert_int_equal(o.shell, SHELL_ZSH);
	PARSE_OK(&o, "completions", "fish");
	assert_int_equal(o.shell, SHELL_FISH);
	assert_string_equal(cli_command_name(CLI_DUMP), "dump");

	EXPECT_FAIL("dump needs --pid PID", "dump");
	EXPECT_FAIL("dump does not take --output", "dump", "-p", "1", "-o", "x.svg");
	EXPECT_FAIL("dump does not take --format", "dump", "-p", "1", "-f", "raw");
	EXPECT_FAIL("dump does not take --duration", "dump", "-p", "1", "-d", "3");
	EXPECT_FAIL("dump does not take --idle or --off-cpu", "dump", "-p", "1", "--idle");
	EXPECT_FAIL("dump does not take a program to start", "dump", "--", "python3");
	EXPECT_FAIL("dump does not take --all", "dump", "--all");
	EXPECT_FAIL("top does not take --output", "top", "-p", "1", "-o", "x.svg");
	EXPECT_FAIL("record does not take --json", "-p", "1", "--json");
	EXPECT_FAIL("invalid --refresh '0'", "top", "-p", "1", "--refresh", "0");
	EXPECT_FAIL("completions needs one shell", "completions");
	EXPECT_FAIL("unknown shell 'tcsh'", "completions", "tcsh");
	EXPECT_FAIL("completions needs one shell", "completions", "bash", "zsh");
}

static void test_process_selection(void **state)
{
	struct cli_options o;

	PARSE_OK(&o, "--all", "--comm", "gunicorn", "--comm", "celery", "--exclude-pid", "7");
	assert_true(o.all);
	assert_int_equal(o.n_comm, 2);
	assert_string_equal(o.comm[1], "celery");
	assert_int_equal(o.n_exclude_pids, 1);
	assert_int_equal(o.exclude_pids[0], 7);
	PARSE_OK(&o, "-p", "5", "--subprocesses");
	assert_true(o.subprocesses);
	assert_false(o.all);

	EXPECT_FAIL("nothing to profile: give --pid PID, -- PROGRAM or --all", "-d", "1");
	EXPECT_FAIL("give one of --pid, --all or a program", "--all", "-p", "3");
	EXPECT_FAIL("give one of --pid, --all or a program", "-p", "3", "--", "python3");
	EXPECT_FAIL("--comm and --exclude-pid narrow --all", "-p", "3", "--comm", "x");
	EXPECT_FAIL("--comm and --exclude-pid narrow --all", "-p", "3", "--exclude-pid", "4");
	EXPECT_FAIL("--all already follows every process", "--all", "--subprocesses");
	EXPECT_FAIL("empty --comm", "--all", "--comm", "");
	EXPECT_FAIL("invalid --exclude-pid 'x'", "--all", "--exclude-pid", "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid_defaults),
		cmocka_unit_test(test_record_is_optional),
		cmocka_unit_test(test_pid_hex_and_decimal),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_output_borrows_argv),
		cmocka_unit_test(test_format_case_insensitive),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_format_from_output_name),
		cmocka_unit_test(test_line_and_file_flags),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_process_selection),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_program_after_dashdash),
		cmocka_unit_test(test_program_without_dashdash),
		cmocka_unit_test(test_invalid_pid),
		cmocka_unit_test(test_invalid_rate),
		cmocka_unit_test(test_invalid_duration),
		cmocka_unit_test(test_invalid_output_and_format),
		cmocka_unit_test(test_invalid_max_frames),
		cmocka_unit_test(test_missing_values),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_target_required_and_exclusive),
		cmocka_unit_test(test_parses_are_independent),
		cmocka_unit_test(test_time_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
