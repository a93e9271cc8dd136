/* SPDX-License-Identifier: MIT */
/*
 * One small, fixed profile that every writer's golden test renders, so the
 * goldens show the same stacks in every format. It has what writers must
 * handle: two named threads and one unnamed, application, standard-library,
 * installed-package, kernel, off-CPU and synthetic frames, a label with
 * characters formats must escape, weights in nanoseconds, and a timeline.
 */
#ifndef PYEBPF_TEST_REPORT_FIXTURE_H
#define PYEBPF_TEST_REPORT_FIXTURE_H

#include <cmocka.h>

#include "golden.h"
#include "profile.h"
#include "report.h"
#include "timeline.h"
#include "writer_output.h"

#define FIXTURE_PERIOD_NS 10000000ULL /* 100 Hz */
#define FIXTURE_START_MONO_NS 1000000000000ULL

struct report_fixture {
	struct profile *profile;
	struct timeline *timeline;
	struct report report;
};

struct fixture_frame {
	enum profile_frame_kind kind;
	const char *function, *file;
	int line;
};

#define FF_MAIN                                                          \
	{                                                                \
		PROFILE_FRAME_PYTHON, "<module>", "/srv/app/main.py", 40 \
	}
#define FF_RUN                                                       \
	{                                                            \
		PROFILE_FRAME_PYTHON, "main", "/srv/app/main.py", 31 \
	}
#define FF_PARSE                                                                   \
	{                                                                          \
		PROFILE_FRAME_PYTHON, "Parser.parse_row", "/srv/app/parser.py", 88 \
	}
#define FF_ESCAPE                                                                          \
	{                                                                                  \
		PROFILE_FRAME_PYTHON, "<lambda> \"q\" & <x>", "/srv/app/odd \\ name.py", 7 \
	}
#define FF_BOOT                                                                                \
	{                                                                                      \
		PROFILE_FRAME_STDLIB, "Thread._bootstrap", "/usr/lib/python3.12/threading.py", \
			1030                                                                   \
	}
#define FF_RUN_T                                                                             \
	{                                                                                    \
		PROFILE_FRAME_STDLIB, "Thread.run", "/usr/lib/python3.12/threading.py", 1010 \
	}
#define FF_GET                                                                   \
	{                                                                        \
		PROFILE_FRAME_LIBRARY, "get",                                    \
			"/venv/lib/python3.12/site-packages/requests/api.py", 73 \
	}
#define FF_RECV                                                         \
	{                                                               \
		PROFILE_FRAME_OFF_CPU, "[off-cpu:io] recvfrom", NULL, 0 \
	}
#define FF_GIL                                                  \
	{                                                       \
		PROFILE_FRAME_OFF_CPU, "[off-cpu:gil]", NULL, 0 \
	}
#define FF_KREAD                                                 \
	{                                                        \
		PROFILE_FRAME_KERNEL, "tcp_recvmsg_[k]", NULL, 0 \
	}
#define FF_NATIVE                                              \
	{                                                      \
		PROFILE_FRAME_NATIVE, "PyObject_Call", NULL, 0 \
	}
#define FF_TRUNC                                                \
	{                                                       \
		PROFILE_FRAME_SYNTHETIC, "[truncated]", NULL, 0 \
	}

struct fixture_record {
	int thread;	   /* index into the fixture's threads */
	uint64_t start_ns; /* after FIXTURE_START_MONO_NS */
	uint64_t weight;   /* ns */
	int n;
	struct fixture_frame frames[6];
};

static const struct fixture_record fixture_records[] = {
	{0, 0, 10000000, 3, {FF_MAIN, FF_RUN, FF_PARSE}},
	{0, 10000000, 10000000, 3, {FF_MAIN, FF_RUN, FF_PARSE}},
	{0, 20000000, 10000000, 2, {FF_MAIN, FF_RUN}},
	{0, 30000000, 10000000, 3, {FF_MAIN, FF_RUN, FF_ESCAPE}},
	{0, 40000000, 25000000, 3, {FF_MAIN, FF_RUN, FF_GIL}},
	{0, 65000000, 10000000, 4, {FF_MAIN, FF_RUN, FF_NATIVE, FF_PARSE}},
	{1, 5000000, 40000000, 5, {FF_BOOT, FF_RUN_T, FF_GET, FF_RECV, FF_KREAD}},
	{1, 45000000, 10000000, 3, {FF_BOOT, FF_RUN_T, FF_GET}},
	{1, 55000000, 10000000, 2, {FF_TRUNC, FF_PARSE}},
	{2, 0, 10000000, 2, {FF_BOOT, FF_RUN_T}},
};

static const struct {
	int tid;
	const char *name;
} fixture_threads[] = {
	{4242, "MainThread"},
	{4243, "CustomThreadName-1"},
	{4250, NULL},
};

/* Builds the fixture; free with report_fixture_free(). */
static void report_fixture_init(struct report_fixture *f)
{
	uint32_t threads[3], stack[6], id;

	f->profile = profile__new();
	f->timeline = timeline__new();
	assert_non_null(f->profile);
	assert_non_null(f->timeline);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(profile__intern_thread(f->profile, 4242, fixture_threads[i].tid,
							&threads[i]),
				 0);
		if (fixture_threads[i].name)
			assert_int_equal(profile__set_thread_name(f->profile, threads[i],
								  fixture_threads[i].name),
					 0);
	}
	for (size_t r = 0; r < sizeof(fixture_records) / sizeof(fixture_records[0]); r++) {
		const struct fixture_record *rec = &fixture_records[r];

		for (int i = 0; i < rec->n; i++) {
			const struct fixture_frame *ff = &rec->frames[i];

			assert_int_equal(profile__intern_frame(f->profile, ff->kind, ff->function,
							       ff->file, ff->line, &stack[i]),
					 0);
		}
		assert_int_equal(profile__add(f->profile, threads[rec->thread], stack, rec->n,
					      rec->weight, &id),
				 0);
		assert_int_equal(timeline__add(f->timeline, id,
					       FIXTURE_START_MONO_NS + rec->start_ns, rec->weight),
				 0);
	}
	f->report = (struct report){
		.profile = f->profile,
		.timeline = f->timeline,
		.unit = REPORT_NANOSECONDS,
		.period_ns = FIXTURE_PERIOD_NS,
		.mode = TIME_WALL,
		.show_threads = false,
		.pid = 4242,
		.command = "python3 /srv/app/main.py --serve",
		.python_version = "3.12.1",
		.rate_hz = 100,
		.duration_s = 0.085,
		.start_unix_ns = 1700000000000000000ULL,
		.start_mono_ns = FIXTURE_START_MONO_NS,
	};
}

static void report_fixture_free(struct report_fixture *f)
{
	timeline__free(f->timeline);
	profile__free(f->profile);
}

/* The fixture as it is before Python's thread names are known. */
static __attribute__((unused)) void report_fixture_forget_thread_names(struct report_fixture *f)
{
	for (uint32_t i = 0; i < profile__thread_count(f->profile); i++)
		assert_int_equal(profile__set_thread_name(f->profile, i, NULL), 0);
}

/*
 * The fixture's report, changed by adjust() unless that is NULL, written by
 * `write`: the bytes must equal the golden file `name`, and go to
 * $PYEBPF_WRITE_FIXTURE_OUTPUTS too (golden_check_output()).
 */
static __attribute__((unused)) void
report_fixture_check_golden(const char *name, report_write_fn *write,
			    void (*adjust)(struct report_fixture *f))
{
	struct report_fixture f;
	struct report_writer rw = {write, &f.report};

	report_fixture_init(&f);
	if (adjust)
		adjust(&f);
	assert_int_equal(golden_check_output(name, report_writer_write, &rw), 0);
	report_fixture_free(&f);
}

#endif /* PYEBPF_TEST_REPORT_FIXTURE_H */
