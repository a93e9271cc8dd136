// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/flamegraph_output.c: the shared fixture's golden
 * files (merged threads, and a root frame per thread), then titles, kinds,
 * weights, empty profiles, errors and out-of-memory paths.
 *
 * PYEBPF_WRITE_FIXTURE_OUTPUTS=DIR also writes the fixture's outputs to
 * DIR (for browser checks of the fixture).
 */
#include "fault_alloc.h"
#include "flamegraph_output.c"
#include "fault_alloc_end.h"

#include "report_fixture.h"
#include "writer_output.h"

/* flamegraph_output__write() into a string; free() it. */
static char *render(const struct report *r)
{
	return report_output_text(flamegraph_output__write, r);
}

/* The fill of the frame whose title starts with `title`. */
static void fill_of(const char *doc, const char *title, char fill[8])
{
	char needle[512];
	const char *t, *f;

	snprintf(needle, sizeof(needle), "<title>%s (", title);
	t = strstr(doc, needle);
	if (!t)
		fail_msg("no frame '%s'", title);
	f = strstr(t, " fill=\"");
	assert_non_null(f);
	snprintf(fill, 8, "%.7s", f + 7);
}

static void test_golden_fixture(void **state)
{
	report_fixture_check_golden("flamegraph_fixture.svg", flamegraph_output__write, NULL);
}

static void show_threads(struct report_fixture *f)
{
	f->report.show_threads = true;
}

static void test_golden_fixture_threads(void **state)
{
	report_fixture_check_golden("flamegraph_fixture_threads.svg", flamegraph_output__write,
				    show_threads);
}

static void test_fixture_content(void **state)
{
	struct report_fixture f;
	char warm[8], cool[8];
	char *out;

	report_fixture_init(&f);
	out = render(&f.report);
	expect_contains(out, ">pyebpf: python3 /srv/app/main.py --serve (pid 4242)</text>");
	expect_contains(out, ">Python 3.12.1, 0.09 s at 100 Hz, wall-clock time (on-CPU warm, "
			     "off-CPU cool)</text>");
	/* weights are ns: hover shows time; total 145 ms */
	expect_contains(out, "<title>all (145.00 ms, 100.00%, 44.83% off-CPU)</title>");
	expect_contains(out, "<title>&lt;lambda&gt; &quot;q&quot; &amp; &lt;x&gt; (/srv/app/odd \\ "
			     "name.py:7) (10.00 ms, 6.90%)</title>");
	expect_contains(out, "<title>[off-cpu:io] recvfrom (40.00 ms, 27.59%)</title>");
	/* no thread roots without show_threads; threads merged */
	expect_not_contains(out, "[thread ");
	expect_contains(out, "<title>Thread._bootstrap (/usr/lib/python3.12/threading.py:1030) "
			     "(60.00 ms, 41.38%, 66.67% off-CPU)</title>");
	/* the same kind, warm on-CPU and cool off-CPU */
	fill_of(out, "Thread.run (/usr/lib/python3.12/threading.py:1010)", cool);
	fill_of(out, "main (/srv/app/main.py:31)", warm);
	assert_string_not_equal(warm, cool);
	free(out);

	f.report.show_threads = true;
	out = render(&f.report);
	expect_contains(out, "<title>[thread 4242 &quot;MainThread&quot;] (");
	expect_contains(out, "<title>[thread 4243 &quot;CustomThreadName-1&quot;] (");
	expect_contains(out, "<title>[thread 4250] (10.00 ms, 6.90%)</title>");
	free(out);
	report_fixture_free(&f);
}

static void test_titles(void **state)
{
	struct report r = {0};
	char title[256], sub[256];
	char long_cmd[300];

	flamegraph_output__title(&r, title, sub, sizeof(title));
	assert_string_equal(title, "pyebpf");
	assert_string_equal(sub, "on-CPU samples");

	r.pid = 7;
	r.rate_hz = 99;
	flamegraph_output__title(&r, title, sub, sizeof(title));
	assert_string_equal(title, "pyebpf: pid 7");
	assert_string_equal(sub, "99 Hz, on-CPU samples");

	r.command = "python3 x.py";
	r.python_version = "3.9.18";
	r.duration_s = 12.345;
	r.unit = REPORT_NANOSECONDS;
	flamegraph_output__title(&r, title, sub, sizeof(title));
	assert_string_equal(title, "pyebpf: python3 x.py (pid 7)");
	assert_string_equal(sub, "Python 3.9.18, 12.35 s at 99 Hz, on-CPU time");

	r.mode = TIME_OFF_CPU;
	r.rate_hz = 0;
	r.pid = 0;
	flamegraph_output__title(&r, title, sub, sizeof(title));
	assert_string_equal(title, "pyebpf: python3 x.py");
	assert_string_equal(sub, "Python 3.9.18, 12.35 s, off-CPU time");

	/* a long command is cut on a character boundary */
	memset(long_cmd, 'a', sizeof(long_cmd));
	memcpy(long_cmd + 98, "\xc3\xa9\xc3\xa9", 4);
	long_cmd[sizeof(long_cmd) - 1] = '\0';
	r.command = long_cmd;
	r.pid = 1;
	flamegraph_output__title(&r, title, sub, sizeof(title));
	assert_int_equal(strlen(title), strlen("pyebpf: ") + 100 + strlen("... (pid 1)"));
	assert_true(!strcmp(title + strlen(title) - strlen("\xc3\xa9... (pid 1)"),
			    "\xc3\xa9... (pid 1)"));

	/* tiny buffers are truncated, never overrun */
	flamegraph_output__title(&r, title, sub, 5);
	assert_string_equal(title, "pyeb");
	assert_int_equal(strlen(sub), 4);
}

static void test_samples_unit(void **state)
{
	struct profile *p = profile__new();
	struct report r = {.profile = p, .unit = REPORT_SAMPLES, .mode = TIME_CPU};
	uint32_t a, k, t, stack[2];
	char *out;

	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_PYTHON, "f", "/a.py", 1, &a), 0);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_KERNEL, "x_[k]", NULL, 0, &k), 0);
	assert_int_equal(profile__intern_thread(p, 5, 5, &t), 0);
	stack[0] = a;
	stack[1] = k;
	assert_int_equal(profile__add(p, t, stack, 2, 3, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, stack, 1, 1, NULL), 0);
	r.show_threads = true;
	out = render(&r);
	expect_contains(out, "<title>all (4 samples, 100.00%)</title>");
	expect_contains(out, "<title>[thread 5] (3 samples, 75.00%)</title>");
	/* a stack of no thread has no root frame */
	expect_contains(out, "<title>f (/a.py:1) (1 sample, 25.00%)</title>");
	expect_contains(out, "<title>x_[k] (3 samples, 75.00%)</title>");
	expect_contains(out, ">kernel</text>");
	expect_not_contains(out, "mostly off-CPU</text>");
	free(out);
	profile__free(p);
}

static void test_empty_profile(void **state)
{
	struct profile *p = profile__new();
	struct report r = {.profile = p};
	char *out = render(&r);

	expect_contains(out, ">No samples</text>");
	expect_contains(out, "</svg>\n");
	free(out);
	profile__free(p);
}

static void test_errors(void **state)
{
	struct report_fixture f;
	struct report r = {0};
	FILE *out = fopen("/dev/full", "w");

	assert_int_equal(flamegraph_output__write(NULL, stdout), -EINVAL);
	assert_int_equal(flamegraph_output__write(&r, stdout), -EINVAL);
	report_fixture_init(&f);
	assert_int_equal(flamegraph_output__write(&f.report, NULL), -EINVAL);
	if (out) {
		assert_int_equal(flamegraph_output__write(&f.report, out), -ENOSPC);
		fclose(out);
	}
	report_fixture_free(&f);
}

/* Every allocation of the writer failing in turn: -ENOMEM, no leak. */
static void test_out_of_memory(void **state)
{
	struct report_fixture f;
	struct report_writer rw = {flamegraph_output__write, &f.report};

	report_fixture_init(&f);
	f.report.show_threads = true;
	assert_true(fault_each_allocation(report_writer_to_null, &rw) >= 2);
	report_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_fixture),
		cmocka_unit_test(test_golden_fixture_threads),
		cmocka_unit_test(test_fixture_content),
		cmocka_unit_test(test_titles),
		cmocka_unit_test(test_samples_unit),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
