// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/speedscope_output.c: the shared fixture's golden
 * files, then escaping, the split by thread, weights in seconds and the
 * order of frames and samples.
 *
 * PYEBPF_WRITE_FIXTURE_OUTPUTS=DIR also writes the fixture's outputs to
 * DIR (for tests/browser/run_format_fixture_tests.sh).
 */
#include "fault_alloc.h"
#include "speedscope_output.c"
#include "fault_alloc_end.h"

#include "profile_build.h"
#include "report_fixture.h"
#include "writer_output.h"

/* speedscope_output__write() into a string; free() it. */
static char *speedscope(const struct report *r)
{
	return report_output_text(speedscope_output__write, r);
}

static uint32_t py(struct profile *p, const char *function, int line)
{
	return intern(p, function, "/app/m.py", line);
}

static uint32_t thread(struct profile *p, pid_t tid, const char *name)
{
	uint32_t id = UINT32_MAX;

	assert_int_equal(profile__intern_thread(p, 100, tid, &id), 0);
	if (name)
		assert_int_equal(profile__set_thread_name(p, id, name), 0);
	return id;
}

static void test_golden_fixture(void **state)
{
	report_fixture_check_golden("speedscope_fixture.json", speedscope_output__write, NULL);
}

/* Before Python's thread names are known. */
static void test_golden_fixture_no_names(void **state)
{
	report_fixture_check_golden("speedscope_fixture_no_names.json", speedscope_output__write,
				    report_fixture_forget_thread_names);
}

static void test_escaping(void **state)
{
	struct profile *p = profile__new();
	uint32_t t = thread(p, 7, "we\"ird\\\n\x01name");
	uint32_t f[] = {
		frame(p, PROFILE_FRAME_PYTHON, "q\"b\\s/\b\f\n\r\t\x1f\x7f", "/a\"b.py", 1),
		frame(p, PROFILE_FRAME_PYTHON, "caf\xc3\xa9 \xf0\x9f\x90\x8d \xe2\x82\xac", NULL,
		      0),
		/* stray continuation, truncated 3-byte, overlong '/',
		 * surrogate, above U+10FFFF, 0xff */
		frame(p, PROFILE_FRAME_NATIVE,
		      "a\x80"
		      "b\xe2\x82"
		      "c\xc0\xaf"
		      "d\xed\xa0\x80"
		      "e\xf4\x90\x80\x80"
		      "f\xff",
		      NULL, 0),
		frame(p, PROFILE_FRAME_SYNTHETIC, "", NULL, 0),
	};
	struct report r = {.profile = p,
			   .unit = REPORT_SAMPLES,
			   .period_ns = 1000000,
			   .pid = 100,
			   .command = "python3 -c \"print('\\t')\"\n"};
	char *out;

	add_stack(p, t, f, 4, 1);
	out = speedscope(&r);
	expect_contains(out, "\"name\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u001f\\u007f\","
			     "\"file\":\"/a\\\"b.py\"");
	expect_contains(out, "\"name\":\"caf\xc3\xa9 \xf0\x9f\x90\x8d \xe2\x82\xac\"");
	/* one U+FFFD per maximal ill-formed subpart */
	expect_contains(out, "\"name\":\"a\xef\xbf\xbd"
			     "b\xef\xbf\xbd"
			     "c\xef\xbf\xbd\xef\xbf\xbd"
			     "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			     "e\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			     "f\xef\xbf\xbd\"");
	expect_contains(out, "{\"name\":\"?\",\"file\":\"\",\"line\":0,\"col\":0}");
	expect_contains(out, "\"name\":\"Thread 7 \\\"we\\\"ird\\\\\\n\\u0001name\\\"\"");
	expect_contains(out, "\"name\":\"python3 -c \\\"print('\\\\t')\\\"\\n (pid 100)\"");
	free(out);
	profile__free(p);
}

/* One profile per thread, by tid whatever the order threads were seen
 * in; stacks of no thread last. */
static void test_per_thread_split(void **state)
{
	struct profile *p = profile__new();
	uint32_t late = thread(p, 300, NULL), early = thread(p, 20, "Worker");
	uint32_t main_ = thread(p, 100, "MainThread");
	uint32_t a = py(p, "a", 1), b = py(p, "b", 2);
	struct report r = {.profile = p, .unit = REPORT_SAMPLES, .period_ns = 10000000, .pid = 100};
	char *out;

	add_stack(p, late, (uint32_t[]){a, b}, 2, 1);
	add_stack(p, PROFILE_NO_THREAD, (uint32_t[]){b}, 1, 9);
	add_stack(p, early, (uint32_t[]){a}, 1, 2);
	add_stack(p, main_, (uint32_t[]){b, a}, 2, 3);
	add_stack(p, early, (uint32_t[]){b}, 1, 4);
	out = speedscope(&r);
	assert_string_equal(
		out,
		"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
		"\"exporter\":\"pyebpf\",\"name\":\"pid 100\",\"activeProfileIndex\":1,\n"
		"\"shared\":{\"frames\":[\n"
		"{\"name\":\"a\",\"file\":\"/app/m.py\",\"line\":1,\"col\":0},\n"
		"{\"name\":\"b\",\"file\":\"/app/m.py\",\"line\":2,\"col\":0}]},\n"
		"\"profiles\":[\n"
		"{\"type\":\"sampled\",\"name\":\"Thread 20 \\\"Worker\\\"\",\"unit\":\"seconds\","
		"\"startValue\":0,\"endValue\":0.06,\n"
		"\"samples\":[\n[0],\n[1]],\n\"weights\":[0.02,0.04]},\n"
		"{\"type\":\"sampled\",\"name\":\"Thread 100 "
		"\\\"MainThread\\\"\",\"unit\":\"seconds\","
		"\"startValue\":0,\"endValue\":0.03,\n"
		"\"samples\":[\n[1,0]],\n\"weights\":[0.03]},\n"
		"{\"type\":\"sampled\",\"name\":\"Thread 300\",\"unit\":\"seconds\","
		"\"startValue\":0,\"endValue\":0.01,\n"
		"\"samples\":[\n[0,1]],\n\"weights\":[0.01]},\n"
		"{\"type\":\"sampled\",\"name\":\"Process 100\",\"unit\":\"seconds\","
		"\"startValue\":0,\"endValue\":0.09,\n"
		"\"samples\":[\n[1]],\n\"weights\":[0.09]}]}\n");
	free(out);

	/* without a main thread, the heaviest profile is shown first */
	r.pid = 5;
	r.command = "python3 x.py";
	out = speedscope(&r);
	expect_contains(out, "\"name\":\"python3 x.py (pid 5)\",\"activeProfileIndex\":3,");
	expect_contains(out, "\"name\":\"Process 5\"");
	free(out);
	profile__free(p);
}

/* Weights are seconds: sample counts times the period, or nanoseconds;
 * exact decimals, however large. */
static void test_seconds(void **state)
{
	struct profile *p = profile__new();
	uint32_t t = thread(p, 100, NULL);
	uint32_t a = py(p, "a", 1), b = py(p, "b", 2), c = py(p, "c", 3);
	struct report r = {.profile = p, .unit = REPORT_SAMPLES, .period_ns = 10101010};
	char *out;

	add_stack(p, t, &a, 1, 3);
	add_stack(p, t, &b, 1, 100);
	add_stack(p, t, &c, 1, 4000000000000ULL); /* times the period: > 2^64 ns */
	out = speedscope(&r);
	expect_contains(out, "\"endValue\":40404040001.04040403,");
	expect_contains(out, "\"weights\":[0.03030303,1.010101,40404040000]}");
	free(out);

	r.unit = REPORT_NANOSECONDS;
	out = speedscope(&r);
	expect_contains(out, "\"unit\":\"seconds\",\"startValue\":0,\"endValue\":4000.000000103,");
	expect_contains(out, "\"weights\":[0.000000003,0.0000001,4000]}");
	free(out);

	/* samples without a period: counts, unit "none" */
	r.unit = REPORT_SAMPLES;
	r.period_ns = 0;
	out = speedscope(&r);
	expect_contains(out, "\"unit\":\"none\",\"startValue\":0,\"endValue\":4000000000103,");
	expect_contains(out, "\"weights\":[3,100,4000000000000]}");
	free(out);
	profile__free(p);
}

/* The same stacks give the same bytes whatever order frames, threads and
 * stacks were added in; frames sort by name, file, line, kind. */
static void test_same_profile_same_bytes(void **state)
{
	struct profile *p = profile__new(), *q = profile__new();
	struct report rp = {.profile = p, .unit = REPORT_NANOSECONDS, .pid = 1};
	struct report rq = rp;
	uint32_t pt[2], qt[2], pf[5], qf[5];
	char *pout, *qout;

	rq.profile = q;
	pt[0] = thread(p, 1, "main");
	pt[1] = thread(p, 2, NULL);
	qt[1] = thread(q, 2, NULL);
	qt[0] = thread(q, 1, "main");
	for (int i = 0; i < 5; i++) {
		/* the same name and line twice, as Python and as native */
		enum profile_frame_kind k = i == 4 ? PROFILE_FRAME_NATIVE : PROFILE_FRAME_PYTHON;
		int j = 4 - i;
		enum profile_frame_kind kj = j == 4 ? PROFILE_FRAME_NATIVE : PROFILE_FRAME_PYTHON;

		pf[i] = frame(p, k, i < 4 ? (const char *[]){"f", "g", "h", "i"}[i] : "f", "m.py",
			      i < 4 ? i + 1 : 1);
		qf[j] = frame(q, kj, j < 4 ? (const char *[]){"f", "g", "h", "i"}[j] : "f", "m.py",
			      j < 4 ? j + 1 : 1);
	}
	for (int i = 0; i < 64; i++) {
		int j = 63 - i;

		add_stack(p, pt[i % 2], (uint32_t[]){pf[i % 5], pf[i / 5 % 5], pf[i / 25]},
			  1 + i % 3, i + 1);
		add_stack(q, qt[j % 2], (uint32_t[]){qf[j % 5], qf[j / 5 % 5], qf[j / 25]},
			  1 + j % 3, j + 1);
	}
	pout = speedscope(&rp);
	qout = speedscope(&rq);
	assert_string_equal(pout, qout);
	expect_contains(pout, "\"frames\":[\n"
			      "{\"name\":\"f\",\"file\":\"m.py\",\"line\":1,\"col\":0},\n"
			      "{\"name\":\"f\",\"file\":\"m.py\",\"line\":1,\"col\":0},\n"
			      "{\"name\":\"g\",");
	free(pout);
	free(qout);
	profile__free(p);
	profile__free(q);
}

/* An empty profile still has one (empty) profile, so viewers open it. */
static void test_empty(void **state)
{
	struct profile *p = profile__new();
	struct report r = {.profile = p, .unit = REPORT_SAMPLES, .period_ns = 10000000};
	char *out;

	out = speedscope(&r);
	assert_string_equal(
		out,
		"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
		"\"exporter\":\"pyebpf\",\"name\":\"pyebpf profile\",\"activeProfileIndex\":0,\n"
		"\"shared\":{\"frames\":[]},\n"
		"\"profiles\":[\n"
		"{\"type\":\"sampled\",\"name\":\"No thread\",\"unit\":\"seconds\","
		"\"startValue\":0,\"endValue\":0,\n"
		"\"samples\":[],\n\"weights\":[]}]}\n");
	free(out);
	profile__free(p);
}

static void test_errors(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = py(p, "a", 1);
	struct report r = {.profile = p, .unit = REPORT_SAMPLES, .period_ns = 1};
	struct report_writer rw = {speedscope_output__write, &r};
	FILE *full = fopen("/dev/full", "w");

	add_stack(p, PROFILE_NO_THREAD, &a, 1, 1);
	assert_int_equal(speedscope_output__write(NULL, stdout), -EINVAL);
	assert_int_equal(speedscope_output__write(&r, NULL), -EINVAL);
	r.profile = NULL;
	assert_int_equal(speedscope_output__write(&r, stdout), -EINVAL);
	r.profile = p;

	/* every allocation failing in turn, without leaks */
	assert_true(fault_each_allocation(report_writer_to_null, &rw) >= 3);

	/* a failed write is reported with its errno */
	assert_non_null(full);
	setvbuf(full, NULL, _IOFBF, 64);
	assert_int_equal(speedscope_output__write(&r, full), -ENOSPC);
	fclose(full);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_fixture),
		cmocka_unit_test(test_golden_fixture_no_names),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_per_thread_split),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_same_profile_same_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
