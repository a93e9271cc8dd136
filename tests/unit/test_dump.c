// SPDX-License-Identifier: MIT
/* Unit tests for user/dump.c: the text and JSON dumps of synthetic thread
 * lists (exact bytes, escaping) and thread order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Two processes: a hung one (every thread idle, one holding the GIL while
 * blocked, a synthetic frame, a frame without a line, a thread without a
 * name) and a busy one. */
static const struct dump_frame main_frames[] = {
	{"wait", "threading.py", 320},
	{"main", "app.py", 40},
	{"<module>", "app.py", 44},
};
static const struct dump_frame worker_frames[] = {
	{"Handler.read", "/srv/app/io.py", 0},
	{"[unreadable frame]", NULL, 0},
};
static const struct dump_frame busy_frames[] = {
	{"crunch", "job.py", 12},
	{"[truncated]", NULL, 0},
};
static const struct dump_thread hung_threads[] = {
	{.pid = 100, .tid = 100, .name = "MainThread", .frames = main_frames, .n_frames = 3},
	{.pid = 100,
	 .tid = 103,
	 .name = "worker",
	 .owns_gil = true,
	 .frames = worker_frames,
	 .n_frames = 2},
	{.pid = 100, .tid = 107, .name = NULL, .frames = NULL, .n_frames = 0},
};
static const struct dump_thread busy_threads[] = {
	{.pid = 200,
	 .tid = 200,
	 .name = "MainThread",
	 .active = true,
	 .owns_gil = true,
	 .frames = busy_frames,
	 .n_frames = 2},
	{.pid = 200,
	 .tid = 201,
	 .name = "pool-1",
	 .active = true,
	 .frames = busy_frames,
	 .n_frames = 1},
};
static const struct dump_process processes[] = {
	{.pid = 100,
	 .command = "python3 app.py --serve",
	 .version = "3.12.1",
	 .executable = "/usr/bin/python3.12",
	 .threads = hung_threads,
	 .n_threads = ARRAY_SIZE(hung_threads)},
	{.pid = 200,
	 .command = "python3 job.py",
	 .version = "3.11.2",
	 .executable = "/usr/bin/python3.11",
	 .threads = busy_threads,
	 .n_threads = ARRAY_SIZE(busy_threads)},
};

typedef int writer(const struct dump_process *procs, size_t n, FILE *out);

/* w's output for procs, NUL-terminated; the caller frees it. */
static char *output(writer *w, const struct dump_process *procs, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(w(procs, n, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void expect_output(writer *w, const struct dump_process *procs, size_t n, const char *want)
{
	char *got = output(w, procs, n);

	assert_string_equal(got, want);
	free(got);
}

static void test_text(void **state)
{
	expect_output(dump_write_text, processes, ARRAY_SIZE(processes),
		      "Process 100: python3 app.py --serve\n"
		      "Python v3.12.1 (/usr/bin/python3.12)\n"
		      "\n"
		      "Thread 100 (idle): \"MainThread\"\n"
		      "    wait (threading.py:320)\n"
		      "    main (app.py:40)\n"
		      "    <module> (app.py:44)\n"
		      "Thread 103 (idle+gil): \"worker\"\n"
		      "    Handler.read (/srv/app/io.py)\n"
		      "    [unreadable frame]\n"
		      "Thread 107 (idle)\n"
		      "\n"
		      "Process 200: python3 job.py\n"
		      "Python v3.11.2 (/usr/bin/python3.11)\n"
		      "\n"
		      "Thread 200 (active+gil): \"MainThread\"\n"
		      "    crunch (job.py:12)\n"
		      "    [truncated]\n"
		      "Thread 201 (active): \"pool-1\"\n"
		      "    crunch (job.py:12)\n");
	/* nothing to dump: nothing written */
	expect_output(dump_write_text, processes, 0, "");
}

/* Names come from the target: a newline or escape in one must not break
 * the line structure; other bytes (UTF-8) pass. */
static void test_text_control_characters(void **state)
{
	static const struct dump_frame frames[] = {{"f\tg", "a\nb.py", 3}};
	static const struct dump_thread threads[] = {
		{.pid = 5,
		 .tid = 5,
		 .name = "caf\xc3\xa9\n\x1b[31m\"x\"",
		 .frames = frames,
		 .n_frames = 1},
	};
	static const struct dump_process p = {
		.pid = 5,
		.command = "python3 -c x",
		.version = "3.13.0",
		.executable = "/opt/py\x7f/bin/python3",
		.threads = threads,
		.n_threads = 1,
	};

	expect_output(dump_write_text, &p, 1,
		      "Process 5: python3 -c x\n"
		      "Python v3.13.0 (/opt/py?/bin/python3)\n"
		      "\n"
		      "Thread 5 (idle): \"caf\xc3\xa9??[31m\"x\"\"\n"
		      "    f?g (a?b.py:3)\n");
}

static void test_json(void **state)
{
	expect_output(
		dump_write_json, processes, ARRAY_SIZE(processes),
		"[\n"
		"  {\"pid\": 100, \"tid\": 100, \"thread_name\": \"MainThread\", \"active\": "
		"false, "
		"\"owns_gil\": false, \"frames\": [\n"
		"    {\"name\": \"wait\", \"filename\": \"threading.py\", \"line\": 320},\n"
		"    {\"name\": \"main\", \"filename\": \"app.py\", \"line\": 40},\n"
		"    {\"name\": \"<module>\", \"filename\": \"app.py\", \"line\": 44}\n"
		"  ]},\n"
		"  {\"pid\": 100, \"tid\": 103, \"thread_name\": \"worker\", \"active\": false, "
		"\"owns_gil\": true, \"frames\": [\n"
		"    {\"name\": \"Handler.read\", \"filename\": \"/srv/app/io.py\", \"line\": "
		"null},\n"
		"    {\"name\": \"[unreadable frame]\", \"filename\": null, \"line\": null}\n"
		"  ]},\n"
		"  {\"pid\": 100, \"tid\": 107, \"thread_name\": null, \"active\": false, "
		"\"owns_gil\": false, \"frames\": []},\n"
		"  {\"pid\": 200, \"tid\": 200, \"thread_name\": \"MainThread\", \"active\": true, "
		"\"owns_gil\": true, \"frames\": [\n"
		"    {\"name\": \"crunch\", \"filename\": \"job.py\", \"line\": 12},\n"
		"    {\"name\": \"[truncated]\", \"filename\": null, \"line\": null}\n"
		"  ]},\n"
		"  {\"pid\": 200, \"tid\": 201, \"thread_name\": \"pool-1\", \"active\": true, "
		"\"owns_gil\": false, \"frames\": [\n"
		"    {\"name\": \"crunch\", \"filename\": \"job.py\", \"line\": 12}\n"
		"  ]}\n"
		"]\n");
	expect_output(dump_write_json, processes, 0, "[]\n");
	/* a process without threads adds nothing */
	{
		struct dump_process empty = processes[0];

		empty.n_threads = 0;
		expect_output(dump_write_json, &empty, 1, "[]\n");
	}
}

/* Whatever the bytes, the JSON is valid: quotes, backslashes and control
 * characters escaped, ill-formed UTF-8 replaced. */
static void test_json_escaping(void **state)
{
	static const struct dump_frame frames[] = {
		{"say \"hi\"", "C:\\src\\a.py", 1},
		{"bad\xff", "tab\there.py", 2},
	};
	static const struct dump_thread threads[] = {
		{.pid = 9, .tid = 10, .name = "caf\xc3\xa9\n\x01", .frames = frames, .n_frames = 2},
	};
	static const struct dump_process p = {
		.pid = 9,
		.command = "x",
		.version = "3.8.18",
		.executable = "/x",
		.threads = threads,
		.n_threads = 1,
	};

	expect_output(dump_write_json, &p, 1,
		      "[\n"
		      "  {\"pid\": 9, \"tid\": 10, \"thread_name\": \"caf\xc3\xa9\\n\\u0001\", "
		      "\"active\": false, \"owns_gil\": false, \"frames\": [\n"
		      "    {\"name\": \"say \\\"hi\\\"\", \"filename\": \"C:\\\\src\\\\a.py\", "
		      "\"line\": 1},\n"
		      "    {\"name\": \"bad\xef\xbf\xbd\", \"filename\": \"tab\\there.py\", "
		      "\"line\": 2}\n"
		      "  ]}\n"
		      "]\n");
}

/* A stream that fails makes the writers fail. */
static void test_write_error(void **state)
{
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(dump_write_text(processes, ARRAY_SIZE(processes), f), -EIO);
	clearerr(f);
	assert_int_equal(dump_write_json(processes, ARRAY_SIZE(processes), f), -EIO);
	fclose(f);
}

static void test_sort_threads(void **state)
{
	struct dump_thread t[] = {
		{.pid = 50, .tid = 70}, {.pid = 50, .tid = 52}, {.pid = 50, .tid = 50},
		{.pid = 50, .tid = 51}, {.pid = 50, .tid = 60},
	};
	static const pid_t want[] = {50, 51, 52, 60, 70};
	/* tids wrapped around below the pid: the main thread still first */
	struct dump_thread w[] = {
		{.pid = 300, .tid = 12}, {.pid = 300, .tid = 300}, {.pid = 300, .tid = 4}};
	static const pid_t want_w[] = {300, 4, 12};

	dump_sort_threads(t, ARRAY_SIZE(t));
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(t[i].tid, want[i]);
	dump_sort_threads(w, ARRAY_SIZE(w));
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		assert_int_equal(w[i].tid, want_w[i]);
	dump_sort_threads(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),	    cmocka_unit_test(test_text_control_characters),
		cmocka_unit_test(test_json),	    cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_write_error), cmocka_unit_test(test_sort_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
