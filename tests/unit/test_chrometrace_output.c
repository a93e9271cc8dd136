// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/chrometrace_output.c: the shared fixture's golden
 * files, then how events become spans (merging, gaps, long intervals,
 * order, overlaps), threads and metadata.
 *
 * PYEBPF_WRITE_FIXTURE_OUTPUTS=DIR also writes the fixture's outputs to
 * DIR (for tests/browser/run_format_fixture_tests.sh).
 */
#include "fault_alloc.h"
#include "chrometrace_output.c"
#include "fault_alloc_end.h"

#include "report_fixture.h"
#include "writer_output.h"

#define US 1000LL
#define MS 1000000LL
#define T0 FIXTURE_START_MONO_NS

/* A profile and timeline to build cases on. */
struct trace {
	struct profile *p;
	struct timeline *t;
	struct report r;
	uint32_t thread;
	uint32_t f[4]; /* frames a, b, c, d */
};

static void trace_init(struct trace *tr)
{
	const char *names[] = {"a", "b", "c", "d"};

	tr->p = profile__new();
	tr->t = timeline__new();
	assert_non_null(tr->p);
	assert_non_null(tr->t);
	assert_int_equal(profile__intern_thread(tr->p, 10, 11, &tr->thread), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(profile__intern_frame(tr->p, PROFILE_FRAME_PYTHON, names[i],
						       "m.py", i + 1, &tr->f[i]),
				 0);
	tr->r = (struct report){
		.profile = tr->p,
		.timeline = tr->t,
		.unit = REPORT_NANOSECONDS,
		.period_ns = 10 * MS,
		.mode = TIME_CPU,
		.pid = 10,
		.start_mono_ns = T0,
	};
}

static void trace_free(struct trace *tr)
{
	timeline__free(tr->t);
	profile__free(tr->p);
}

/* Adds the stack given as frame letters ("ab": a calls b) to the profile
 * and the timeline at T0 + start ns. */
static void trace_add_in(struct trace *tr, uint32_t thread, const char *stack, int64_t start,
			 int64_t duration)
{
	uint32_t frames[8], id;
	size_t n = strlen(stack);

	for (size_t i = 0; i < n; i++)
		frames[i] = tr->f[stack[i] - 'a'];
	assert_int_equal(profile__add(tr->p, thread, frames, n, duration, &id), 0);
	assert_int_equal(timeline__add(tr->t, id, T0 + start, duration), 0);
}

static void trace_add(struct trace *tr, const char *stack, int64_t start, int64_t duration)
{
	trace_add_in(tr, tr->thread, stack, start, duration);
}

/* chrometrace_output__write() into a string; free() it. */
static char *chrometrace(const struct report *r)
{
	return report_output_text(chrometrace_output__write, r);
}

/* Only the span events ("ph":"X"), one per line, without pid and tid
 * when they are 10 and 11, and without args: "NAME TS DUR". */
static char *spans(const struct report *r)
{
	char *out = chrometrace(r), *res = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&res, &len);

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long ts, dur;
		char name[64];

		if (sscanf(line,
			   "{\"ph\":\"X\",\"pid\":10,\"tid\":11,\"ts\":%llu,\"dur\":%llu,"
			   "\"name\":\"%63[^\"]\"",
			   &ts, &dur, name) == 3)
			fprintf(f, "%s %llu %llu\n", name, ts, dur);
		else if (strstr(line, "\"ph\":\"X\""))
			fprintf(f, "other: %s\n", line);
	}
	assert_int_equal(fclose(f), 0);
	free(out);
	return res;
}

static void expect_spans(struct trace *tr, const char *want)
{
	char *got = spans(&tr->r);

	assert_string_equal(got, want);
	free(got);
}

static void test_golden_fixture(void **state)
{
	report_fixture_check_golden("chrometrace_fixture.json", chrometrace_output__write, NULL);
}

/* Before Python's thread names are known; without a command. */
static void no_names(struct report_fixture *f)
{
	report_fixture_forget_thread_names(f);
	f->report.command = NULL;
	f->report.python_version = NULL;
}

static void test_golden_fixture_no_names(void **state)
{
	report_fixture_check_golden("chrometrace_fixture_no_names.json", chrometrace_output__write,
				    no_names);
}

/* Consecutive events share a span per frame of their common prefix. */
static void test_span_merging(void **state)
{
	struct trace tr;

	trace_init(&tr);
	trace_add(&tr, "ab", 0, 10 * MS);
	trace_add(&tr, "ab", 10 * MS, 10 * MS);
	trace_add(&tr, "abc", 20 * MS, 10 * MS);
	trace_add(&tr, "ac", 30 * MS, 10 * MS);
	trace_add(&tr, "a", 40 * MS, 10 * MS);
	trace_add(&tr, "bd", 50 * MS, 10 * MS);
	expect_spans(&tr, "a 0 50000\n"
			  "b 0 30000\n"
			  "c 20000 10000\n"
			  "c 30000 10000\n"
			  "b 50000 10000\n"
			  "d 50000 10000\n");
	trace_free(&tr);
}

/* A gap longer than the sampling period ends every span; one of at most
 * the period (a missed sample, jitter) does not. */
static void test_gaps(void **state)
{
	struct trace tr;

	trace_init(&tr);
	trace_add(&tr, "ab", 0, 10 * MS);
	trace_add(&tr, "ab", 20 * MS, 10 * MS);	   /* gap 10 ms = the period: kept */
	trace_add(&tr, "ab", 40001 * US, 10 * MS); /* gap 10.001 ms: ended */
	trace_add(&tr, "ac", 50500 * US, 10 * MS); /* jitter */
	expect_spans(&tr, "a 0 30000\n"
			  "b 0 30000\n"
			  "a 40001 20499\n"
			  "b 40001 10000\n"
			  "c 50500 10000\n");
	trace_free(&tr);
}

/* An off-CPU interval longer than UINT32_MAX ns is several timeline
 * events, and still one span. */
static void test_long_interval(void **state)
{
	struct trace tr;
	uint32_t id, frames[2];

	trace_init(&tr);
	frames[0] = tr.f[0];
	frames[1] = tr.f[3];
	assert_int_equal(profile__add(tr.p, tr.thread, frames, 2, 10000 * MS, &id), 0);
	assert_int_equal(timeline__add(tr.t, id, T0 + 5 * MS, 10000 * MS), 0);
	assert_int_equal(timeline__count(tr.t), 3);
	trace_add(&tr, "ab", 10005 * MS, 10 * MS);
	expect_spans(&tr, "a 5000 10010000\n"
			  "d 5000 10000000\n"
			  "b 10005000 10000\n");
	trace_free(&tr);
}

/* Events added out of order (CPUs interleave) give the same trace. */
static void test_out_of_order(void **state)
{
	struct trace x, y;
	char *xs, *ys;

	trace_init(&x);
	trace_init(&y);
	trace_add(&x, "ab", 0, 10 * MS);
	trace_add(&x, "abc", 10 * MS, 10 * MS);
	trace_add(&x, "ad", 20 * MS, 10 * MS);
	trace_add(&x, "ab", 30 * MS, 10 * MS);
	trace_add(&y, "ab", 30 * MS, 10 * MS);
	trace_add(&y, "ad", 20 * MS, 10 * MS);
	trace_add(&y, "ab", 0, 10 * MS);
	trace_add(&y, "abc", 10 * MS, 10 * MS);
	xs = chrometrace(&x.r);
	ys = chrometrace(&y.r);
	assert_string_equal(xs, ys);
	free(xs);
	free(ys);
	expect_spans(&y, "a 0 40000\n"
			 "b 0 20000\n"
			 "c 10000 10000\n"
			 "d 20000 10000\n"
			 "b 30000 10000\n");
	trace_free(&x);
	trace_free(&y);
}

/* An event that starts before the previous one ends cuts the spans it
 * does not share; the part of an event before the start is cut off. */
static void test_overlap_and_early_start(void **state)
{
	struct trace tr;

	trace_init(&tr);
	trace_add(&tr, "ab", -5 * MS, 10 * MS); /* 5 ms before the start */
	trace_add(&tr, "ac", 2 * MS, 10 * MS);	/* overlaps b */
	trace_add(&tr, "ac", 4 * MS, 3 * MS);	/* inside the last: nothing shortens */
	trace_add(&tr, "a", 12500 * US, 400);	/* 400 ns: floored to 0 us */
	expect_spans(&tr, "a 0 12500\n"
			  "b 0 2000\n"
			  "c 2000 10000\n");
	trace_free(&tr);
}

/* Threads in tid order, each named; stacks of no thread last. */
static void test_threads_and_metadata(void **state)
{
	struct trace tr;
	uint32_t late, named;
	char *out;

	trace_init(&tr);
	assert_int_equal(profile__intern_thread(tr.p, 10, 30, &late), 0);
	assert_int_equal(profile__intern_thread(tr.p, 10, 20, &named), 0);
	assert_int_equal(profile__set_thread_name(tr.p, named, "Work\"er"), 0);
	trace_add_in(&tr, late, "a", 0, 10 * MS);
	trace_add_in(&tr, PROFILE_NO_THREAD, "b", 0, 10 * MS);
	trace_add_in(&tr, named, "c", 5 * MS, 10 * MS);
	trace_add(&tr, "d", 1 * MS, 10 * MS);
	tr.r.command = "python3 s.py";
	tr.r.python_version = "3.11.7";
	tr.r.mode = TIME_OFF_CPU;
	tr.r.rate_hz = 99;
	tr.r.duration_s = 1.5;
	tr.r.start_unix_ns = 86400000000000ULL + 123456789;
	out = chrometrace(&tr.r);
	assert_string_equal(
		out,
		"{\"traceEvents\":[\n"
		"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":10,\"tid\":10,\"ts\":0,"
		"\"args\":{\"name\":\"python3 s.py\"}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":10,\"tid\":11,\"ts\":0,"
		"\"args\":{\"name\":\"Thread 11\"}},\n"
		"{\"ph\":\"X\",\"pid\":10,\"tid\":11,\"ts\":1000,\"dur\":10000,\"name\":\"d\","
		"\"cat\":\"python\",\"args\":{\"file\":\"m.py\",\"line\":4}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":10,\"tid\":20,\"ts\":0,"
		"\"args\":{\"name\":\"Work\\\"er\"}},\n"
		"{\"ph\":\"X\",\"pid\":10,\"tid\":20,\"ts\":5000,\"dur\":10000,\"name\":\"c\","
		"\"cat\":\"python\",\"args\":{\"file\":\"m.py\",\"line\":3}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":10,\"tid\":30,\"ts\":0,"
		"\"args\":{\"name\":\"Thread 30\"}},\n"
		"{\"ph\":\"X\",\"pid\":10,\"tid\":30,\"ts\":0,\"dur\":10000,\"name\":\"a\","
		"\"cat\":\"python\",\"args\":{\"file\":\"m.py\",\"line\":1}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":10,\"tid\":0,\"ts\":0,"
		"\"args\":{\"name\":\"No thread\"}},\n"
		"{\"ph\":\"X\",\"pid\":10,\"tid\":0,\"ts\":0,\"dur\":10000,\"name\":\"b\","
		"\"cat\":\"python\",\"args\":{\"file\":\"m.py\",\"line\":2}}\n"
		"],\n"
		"\"displayTimeUnit\":\"ms\",\n"
		"\"otherData\":{\"exporter\":\"pyebpf\",\"command\":\"python3 s.py\",\"pid\":10,"
		"\"python_version\":\"3.11.7\",\"mode\":\"off-cpu\",\"rate_hz\":99,"
		"\"duration_s\":1.5,\"start_time\":\"1970-01-02T00:00:00.123Z\"}}\n");
	free(out);
	trace_free(&tr);
}

/* Frames without a file have no args; kinds are the category. */
static void test_kinds_and_args(void **state)
{
	struct trace tr;
	uint32_t k, id;
	char *out;

	trace_init(&tr);
	assert_int_equal(profile__intern_frame(tr.p, PROFILE_FRAME_KERNEL, "", NULL, 0, &k), 0);
	assert_int_equal(profile__add(tr.p, tr.thread, &k, 1, 1, &id), 0);
	assert_int_equal(timeline__add(tr.t, id, T0, 1000), 0);
	out = chrometrace(&tr.r);
	if (!strstr(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":11,\"ts\":0,\"dur\":1,\"name\":\"?\","
			 "\"cat\":\"kernel\"}\n"))
		fail_msg("unexpected:\n%s", out);
	free(out);
	trace_free(&tr);
}

/* An empty timeline: a valid trace with just the process's name. */
static void test_empty(void **state)
{
	struct trace tr;
	char *out;

	trace_init(&tr);
	tr.r.mode = TIME_WALL;
	out = chrometrace(&tr.r);
	assert_string_equal(out, "{\"traceEvents\":[\n"
				 "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":10,\"tid\":10,"
				 "\"ts\":0,\"args\":{\"name\":\"pid 10\"}}\n"
				 "],\n"
				 "\"displayTimeUnit\":\"ms\",\n"
				 "\"otherData\":{\"exporter\":\"pyebpf\",\"pid\":10,"
				 "\"mode\":\"wall\"}}\n");
	free(out);
	trace_free(&tr);
}

static void test_errors(void **state)
{
	struct trace tr;
	struct report_writer rw = {chrometrace_output__write, &tr.r};
	char *buf = NULL;
	size_t len = 0;
	FILE *f, *full = fopen("/dev/full", "w");

	trace_init(&tr);
	trace_add(&tr, "ab", 0, 10 * MS);
	assert_int_equal(chrometrace_output__write(NULL, stdout), -EINVAL);
	assert_int_equal(chrometrace_output__write(&tr.r, NULL), -EINVAL);
	tr.r.timeline = NULL;
	assert_int_equal(chrometrace_output__write(&tr.r, stdout), -EINVAL);
	tr.r.timeline = tr.t;
	tr.r.profile = NULL;
	assert_int_equal(chrometrace_output__write(&tr.r, stdout), -EINVAL);
	tr.r.profile = tr.p;

	/* every allocation failing in turn, without leaks */
	assert_true(fault_each_allocation(report_writer_to_null, &rw) >= 5);

	/* a failed write is reported with its errno */
	assert_non_null(full);
	setvbuf(full, NULL, _IOFBF, 64);
	assert_int_equal(chrometrace_output__write(&tr.r, full), -ENOSPC);
	fclose(full);

	/* an event of an unknown stack: nothing written */
	assert_int_equal(timeline__add(tr.t, 99, T0, 10), 0);
	f = open_memstream(&buf, &len);
	assert_int_equal(chrometrace_output__write(&tr.r, f), -EINVAL);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
	trace_free(&tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_fixture),
		cmocka_unit_test(test_golden_fixture_no_names),
		cmocka_unit_test(test_span_merging),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_long_interval),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_overlap_and_early_start),
		cmocka_unit_test(test_threads_and_metadata),
		cmocka_unit_test(test_kinds_and_args),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
