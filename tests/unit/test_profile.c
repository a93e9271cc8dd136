// SPDX-License-Identifier: MIT
/* Unit tests for user/profile.c: interning, labels, stack aggregation,
 * errors and allocation failures. */
#include <limits.h>

#include "fault_alloc.h"
#include "profile.c"
#include "fault_alloc_end.h"

#include "profile_build.h"

static const char *label(struct profile *p, const char *function, const char *file, int line)
{
	return profile__frame(p, intern(p, function, file, line))->label;
}

static void test_new_is_empty(void **state)
{
	struct profile *p = profile__new();

	assert_non_null(p);
	assert_int_equal(profile__frame_count(p), 0);
	assert_int_equal(profile__function_count(p), 0);
	assert_int_equal(profile__stack_count(p), 0);
	assert_int_equal(profile__total(p), 0);
	assert_null(profile__frame(p, 0));
	assert_int_equal(errno, EINVAL);
	profile__free(p);
	profile__free(NULL);
}

static void test_intern_same_triple_same_id(void **state)
{
	struct profile *p = profile__new();
	char fn[] = "work", file[] = "/app/mod.py";
	const struct profile_frame *f;
	uint32_t a, b, c, d, e;

	a = intern(p, fn, file, 10);
	b = intern(p, "work", "/app/mod.py", 11);
	c = intern(p, "work", "/app/other.py", 10);
	d = intern(p, "other", "/app/mod.py", 10);
	assert_int_equal(a, 0); /* dense, in order of first appearance */
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	assert_int_equal(d, 3);
	assert_int_equal(intern(p, "work", "/app/mod.py", 10), a);
	assert_int_equal(intern(p, "work", "/app/mod.py", 11), b);
	assert_int_equal(profile__frame_count(p), 4);
	assert_int_equal(profile__function_count(p), 3);

	/* the strings are copied */
	fn[0] = 'X';
	file[1] = 'X';
	f = profile__frame(p, a);
	assert_string_equal(f->function, "work");
	assert_string_equal(f->file, "/app/mod.py");
	assert_int_equal(f->line, 10);
	assert_string_equal(f->label, "work (/app/mod.py:10)");
	assert_int_equal(intern(p, "work", "/app/mod.py", 10), a);

	/* lines share the function identity, files do not */
	assert_int_equal(profile__frame(p, b)->function_id, f->function_id);
	assert_int_not_equal(profile__frame(p, c)->function_id, f->function_id);
	assert_int_not_equal(profile__frame(p, d)->function_id, f->function_id);
	/* the function's strings are shared between its lines */
	assert_ptr_equal(profile__frame(p, b)->function, f->function);

	/* no line: every line <= 0 is one frame, stored as 0 */
	e = intern(p, "work", "/app/mod.py", 0);
	assert_int_equal(intern(p, "work", "/app/mod.py", -1), e);
	assert_int_equal(intern(p, "work", "/app/mod.py", INT_MIN), e);
	assert_int_equal(profile__frame(p, e)->line, 0);

	/* no file: NULL and "" are the same */
	e = intern(p, "[truncated]", NULL, 0);
	assert_int_equal(intern(p, "[truncated]", "", 0), e);
	assert_null(profile__frame(p, e)->file);
	/* a file-less frame differs from one with a file */
	assert_int_not_equal(intern(p, "[truncated]", "x", 0), e);
	/* ("ab", "c") is not ("a", "bc") */
	assert_int_not_equal(intern(p, "ab", "c", 0), intern(p, "a", "bc", 0));
	profile__free(p);
}

static void test_labels(void **state)
{
	struct profile *p = profile__new();

	assert_string_equal(label(p, "f", "a.py", 3), "f (a.py:3)");
	assert_string_equal(label(p, "f", "a.py", 0), "f (a.py)");
	assert_string_equal(label(p, "<module>", "a.py", 2147483647), "<module> (a.py:2147483647)");
	assert_string_equal(label(p, "[truncated]", NULL, 0), "[truncated]");
	/* without a file the line is not shown */
	assert_string_equal(label(p, "[native]", NULL, 12), "[native]");
	/* ';' and control characters cannot break a folded line */
	assert_string_equal(label(p, "a;b\nc", "/x;y\tz.py", 7), "a:b?c (/x:y?z.py:7)");
	assert_string_equal(label(p, "\r\x01\x7f", NULL, 0), "???");
	/* but UTF-8 and spaces are kept */
	assert_string_equal(label(p, "caf\xc3\xa9", "/my dir/m.py", 1),
			    "caf\xc3\xa9 (/my dir/m.py:1)");
	assert_string_equal(label(p, "", "a.py", 1), "? (a.py:1)");
	assert_string_equal(label(p, "", NULL, 0), "?");
	/* a trailing " <number>" would read as a second count column */
	assert_string_equal(label(p, "gen 12", NULL, 0), "gen_12");
	assert_string_equal(label(p, "x 1.5", NULL, 0), "x_1.5");
	assert_string_equal(label(p, "a 1 2", NULL, 0), "a 1_2");
	assert_string_equal(label(p, "12", NULL, 0), "12");
	assert_string_equal(label(p, "x 12a", NULL, 0), "x 12a");
	assert_string_equal(label(p, "x ", NULL, 0), "x ");
	assert_string_equal(label(p, "gen 12", "a.py", 1), "gen 12 (a.py:1)");
	/* the sanitized label does not change identity */
	assert_int_not_equal(intern(p, "a;b", NULL, 0), intern(p, "a:b", NULL, 0));
	profile__free(p);
}

struct seen {
	size_t calls;
	uint32_t frames[4][16];
	size_t n[4];
	uint64_t weight[4];
	int stop_at;
};

static int record_cb(const struct profile_stack *st, void *ctx)
{
	const uint32_t *frames = st->frames;
	uint64_t weight = st->weight;
	size_t n = st->n;
	struct seen *s = ctx;

	assert_true(s->calls < 4 && n <= 16);
	memcpy(s->frames[s->calls], frames, n * sizeof(*frames));
	s->n[s->calls] = n;
	s->weight[s->calls] = weight;
	if (++s->calls == (size_t)s->stop_at)
		return 7;
	return 0;
}

static void test_add_sums_weights(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", "m.py", 1), b = intern(p, "b", "m.py", 2);
	uint32_t ab[] = {a, b}, abb[] = {a, b, b}, ba[] = {b, a};
	struct seen s = {0};

	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, ab, 2, 3, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, abb, 3, 1, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, ba, 2, 10, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, ab, 2, 4, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, abb, 2, 1, NULL), 0); /* a prefix: ab */
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, ab, 1, 1, NULL), 0);  /* just a */
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, ba, 2, 0, NULL),
			 0); /* records nothing */

	assert_int_equal(profile__stack_count(p), 4);
	assert_int_equal(profile__total(p), 20);
	assert_int_equal(profile__foreach(p, record_cb, &s), 0);
	assert_int_equal(s.calls, 4);
	/* order of first appearance */
	assert_int_equal(s.n[0], 2);
	assert_memory_equal(s.frames[0], ab, sizeof(ab));
	assert_int_equal(s.weight[0], 8);
	assert_int_equal(s.n[1], 3);
	assert_memory_equal(s.frames[1], abb, sizeof(abb));
	assert_int_equal(s.weight[1], 1);
	assert_int_equal(s.n[2], 2);
	assert_memory_equal(s.frames[2], ba, sizeof(ba));
	assert_int_equal(s.weight[2], 10);
	assert_int_equal(s.n[3], 1);
	assert_int_equal(s.frames[3][0], a);
	assert_int_equal(s.weight[3], 1);
	profile__free(p);
}

static void test_foreach_stops(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", NULL, 0), b = intern(p, "b", NULL, 0);
	struct seen s = {.stop_at = 1};

	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &a, 1, 1, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &b, 1, 1, NULL), 0);
	assert_int_equal(profile__foreach(p, record_cb, &s), 7);
	assert_int_equal(s.calls, 1);
	assert_int_equal(profile__foreach(p, NULL, NULL), -EINVAL);
	assert_int_equal(profile__foreach(NULL, record_cb, &s), -EINVAL);
	profile__free(p);
}

static void test_errors_leave_profile_unchanged(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", NULL, 0), id = 42;
	uint32_t bad[] = {a, 1};

	assert_int_equal(profile__intern_frame(NULL, PROFILE_FRAME_PYTHON, "a", NULL, 0, &id),
			 -EINVAL);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_PYTHON, NULL, NULL, 0, &id),
			 -EINVAL);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_PYTHON, "a", NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(id, 42);

	assert_int_equal(profile__add(NULL, PROFILE_NO_THREAD, &a, 1, 1, NULL), -EINVAL);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, NULL, 1, 1, NULL), -EINVAL);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &a, 0, 1, NULL), -EINVAL);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, bad, 2, 1, NULL),
			 -EINVAL); /* unknown id */
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, bad, 2, 0, NULL), -EINVAL);
	assert_int_equal(profile__stack_count(p), 0);

	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &a, 1, UINT64_MAX - 1, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &a, 1, 2, NULL), -EOVERFLOW);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, bad, 1, 2, NULL), -EOVERFLOW);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &a, 1, 1, NULL), 0);
	assert_int_equal(profile__total(p), UINT64_MAX);
	assert_int_equal(profile__stack_count(p), 1);
	assert_int_equal(profile__frame_count(p), 1);

	assert_null(profile__frame(p, 1));
	assert_null(profile__frame(NULL, 0));
	assert_int_equal(profile__frame_count(NULL), 0);
	assert_int_equal(profile__stack_count(NULL), 0);
	assert_int_equal(profile__total(NULL), 0);
	profile__free(p);
}

static int first_stack_cb(const struct profile_stack *st, void *ctx)
{
	*(const uint32_t **)ctx = st->frames;
	return 1;
}

/* A slice of the profile's own pool, fed back while the pool must grow:
 * under ASan this catches reading it after the realloc. */
static void test_add_own_frames(void **state)
{
	struct profile *p = profile__new();
	uint32_t ids[16];
	const uint32_t *own = NULL;
	struct seen s = {0};

	for (int i = 0; i < 16; i++)
		ids[i] = intern(p, "f", "m.py", i + 1);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, ids, 16, 1, NULL),
			 0); /* pool now full */
	assert_int_equal(profile__foreach(p, first_stack_cb, &own), 1);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, own + 12, 4, 2, NULL), 0);
	assert_int_equal(profile__stack_count(p), 2);
	s.stop_at = -1;
	assert_int_equal(profile__foreach(p, record_cb, &s), 0);
	assert_int_equal(s.n[1], 4);
	assert_memory_equal(s.frames[1], ids + 12, 4 * sizeof(*ids));
	profile__free(p);
}

/* Many frames, functions and stacks: every table grows many times, and
 * lookups still find what was put in. */
static void test_many(void **state)
{
	enum { FRAMES = 5000, STACKS = 100000 };
	struct profile *p = profile__new();
	static uint32_t ids[FRAMES];
	char name[32];
	uint32_t stack[6];

	for (int i = 0; i < FRAMES; i++) {
		snprintf(name, sizeof(name), "fn%d", i % 1000);
		ids[i] = intern(p, name, i / 1000 % 2 ? "odd.py" : "even.py", i / 1000);
		assert_int_equal(ids[i], i);
	}
	assert_int_equal(profile__frame_count(p), FRAMES);
	assert_int_equal(profile__function_count(p), 2000);
	for (int i = 0; i < FRAMES; i++) {
		snprintf(name, sizeof(name), "fn%d", i % 1000);
		assert_int_equal(intern(p, name, i / 1000 % 2 ? "odd.py" : "even.py", i / 1000), i);
	}
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < STACKS; i++) {
			size_t n = 2 + i % 5; /* (first, last) is unique */

			for (size_t j = 0; j < n; j++)
				stack[j] = (i * 7919u + j * 104729u) % FRAMES;
			stack[0] = i % FRAMES;
			stack[n - 1] = i / FRAMES;
			assert_int_equal(
				profile__add(p, PROFILE_NO_THREAD, stack, n, 1 + round, NULL), 0);
		}
		assert_int_equal(profile__stack_count(p), STACKS);
	}
	assert_int_equal(profile__total(p), 3 * STACKS);
	profile__free(p);
}

/*
 * The scenario the out-of-memory test replays with each allocation failing
 * in turn: every call that fails must fail with -ENOMEM, change nothing,
 * and succeed when retried.
 */
static int oom_scenario(void)
{
	struct profile *p = profile__new();
	uint32_t ids[200], stack[4];
	char name[32];
	int err;

	if (!p) {
		assert_int_equal(errno, ENOMEM);
		return -ENOMEM;
	}
	for (int i = 0; i < 200; i++) {
		size_t frames = profile__frame_count(p);
		size_t fns = profile__function_count(p);

		snprintf(name, sizeof(name), "fn%d", i / 2);
		err = profile__intern_frame(p, PROFILE_FRAME_PYTHON, name, "m.py", i, &ids[i]);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(profile__frame_count(p), frames);
			assert_int_equal(profile__function_count(p), fns);
			assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_PYTHON, name,
							       "m.py", i, &ids[i]),
					 0);
		}
		assert_int_equal(ids[i], i);
		assert_int_equal(profile__function_count(p), i / 2 + 1);
	}
	for (int i = 0; i < 300; i++) {
		size_t stacks = profile__stack_count(p);
		uint64_t total = profile__total(p);

		for (int j = 0; j < 4; j++)
			stack[j] = ids[(i * 31 + j * 17) % 200];
		err = profile__add(p, PROFILE_NO_THREAD, stack, 1 + i % 4, 1, NULL);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(profile__stack_count(p), stacks);
			assert_int_equal(profile__total(p), total);
			assert_int_equal(
				profile__add(p, PROFILE_NO_THREAD, stack, 1 + i % 4, 1, NULL), 0);
		}
	}
	assert_int_equal(profile__total(p), 300);
	assert_string_equal(profile__frame(p, ids[199])->label, "fn99 (m.py:199)");
	profile__free(p);
	return 0;
}

static void test_out_of_memory(void **state)
{
	long n;

	for (n = 0;; n++) {
		fault_countdown = n;
		int err = oom_scenario();
		bool failed = fault_countdown < 0;

		fault_countdown = -1;
		if (!failed) {
			assert_int_equal(err, 0);
			break;
		}
	}
	/* the scenario allocates plenty: each site was hit */
	assert_true(n > 50);
}

/* The kind is part of a frame's identity; the label does not show it. */
static void test_frame_kinds(void **state)
{
	struct profile *p = profile__new();
	uint32_t py, syn, again;

	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_PYTHON, "x", NULL, 0, &py), 0);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_SYNTHETIC, "x", NULL, 0, &syn), 0);
	assert_int_not_equal(py, syn);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_SYNTHETIC, "x", NULL, 0, &again),
			 0);
	assert_int_equal(again, syn);
	assert_int_equal(profile__frame(p, syn)->kind, PROFILE_FRAME_SYNTHETIC);
	assert_string_equal(profile__frame(p, syn)->label, profile__frame(p, py)->label);
	assert_int_not_equal(profile__frame(p, syn)->function_id,
			     profile__frame(p, py)->function_id);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_KINDS, "x", NULL, 0, &again),
			 -EINVAL);
	assert_string_equal(profile_frame_kind_name(PROFILE_FRAME_OFF_CPU), "off-cpu");
	assert_string_equal(profile_frame_kind_name(PROFILE_FRAME_KINDS), "?");
	profile__free(p);
}

/* A stack's off-CPU frame is found by kind, not by text. */
static void test_off_cpu_frame(void **state)
{
	struct profile *p = profile__new();
	uint32_t f[3], on, off;
	struct profile_stack st;

	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_PYTHON, "f", "m.py", 1, &f[0]), 0);
	assert_int_equal(
		profile__intern_frame(p, PROFILE_FRAME_SYNTHETIC, "[off-cpu:io]", NULL, 0, &f[1]),
		0);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_OFF_CPU, "[off-cpu:io] read", NULL,
					       0, &f[2]),
			 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, f, 2, 1, &on), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, (uint32_t[]){f[0], f[2]}, 2, 1, &off),
			 0);
	assert_int_equal(profile__stack(p, on, &st), 0);
	assert_null(profile_stack_off_cpu_frame(p, &st));
	assert_int_equal(profile__stack(p, off, &st), 0);
	assert_ptr_equal(profile_stack_off_cpu_frame(p, &st), profile__frame(p, f[2]));
	profile__free(p);
}

/* Threads: interned by (pid, tid), named later; stacks of different
 * threads stay apart, with their counts and ids. */
static void test_threads(void **state)
{
	struct profile *p = profile__new();
	uint32_t t1, t2, again, f, s1, s2, s3;
	struct profile_stack st;
	char label[PROFILE_THREAD_LABEL_MAX];

	assert_int_equal(profile__intern_thread(p, 10, 11, &t1), 0);
	assert_int_equal(profile__intern_thread(p, 10, 12, &t2), 0);
	assert_int_equal(profile__intern_thread(p, 10, 11, &again), 0);
	assert_int_equal(again, t1);
	assert_int_equal(profile__intern_thread(p, 20, 11, &again), 0); /* another process */
	assert_int_not_equal(again, t1);
	assert_int_equal(profile__thread_count(p), 3);
	assert_null(profile__thread(p, t1)->name);
	assert_string_equal(profile_thread_label(profile__thread(p, t1), label, sizeof(label)),
			    "[thread 11]");
	assert_int_equal(profile__set_thread_name(p, t1, "MainThread"), 0);
	assert_string_equal(profile__thread(p, t1)->name, "MainThread");
	assert_string_equal(profile_thread_label(profile__thread(p, t1), label, sizeof(label)),
			    "[thread 11 \"MainThread\"]");
	/* the target's bytes cannot break a folded line */
	assert_int_equal(profile__set_thread_name(p, t2, "a;b\nc"), 0);
	assert_string_equal(profile_thread_label(profile__thread(p, t2), label, sizeof(label)),
			    "[thread 12 \"a:b?c\"]");
	assert_string_equal(profile_thread_label(profile__thread(p, t2), label, 8), "[thread");
	assert_int_equal(profile__set_thread_name(p, t2, NULL), 0);
	assert_null(profile__thread(p, t2)->name);
	assert_int_equal(profile__set_thread_name(p, 99, "x"), -EINVAL);
	assert_null(profile__thread(p, 99));

	f = intern(p, "f", "m.py", 1);
	assert_int_equal(profile__add(p, t1, &f, 1, 5, &s1), 0);
	assert_int_equal(profile__add(p, t2, &f, 1, 7, &s2), 0);
	assert_int_equal(profile__add(p, t1, &f, 1, 1, &s3), 0);
	assert_int_not_equal(s1, s2);
	assert_int_equal(s1, s3);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, &f, 1, 1, NULL), 0);
	assert_int_equal(profile__add(p, 99, &f, 1, 1, NULL), -EINVAL);
	assert_int_equal(profile__stack_count(p), 3);
	assert_int_equal(profile__stack(p, s1, &st), 0);
	assert_int_equal(st.id, s1);
	assert_int_equal(st.thread, t1);
	assert_int_equal(st.weight, 6);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.n, 1);
	assert_int_equal(st.frames[0], f);
	assert_int_equal(profile__stack(p, 2, &st), 0);
	assert_int_equal(st.thread, PROFILE_NO_THREAD);
	assert_int_equal(profile__stack(p, 3, &st), -EINVAL);
	profile__free(p);
}

/* Process entries: one per instance, threads of equal pid and tid in two
 * entries stay apart, labels name both pids in another namespace. */
static void test_processes(void **state)
{
	struct profile *p = profile__new();
	uint32_t a, b, ta, tb, tplain, again;
	const struct profile_process *pa;
	const struct profile_thread *t;
	char buf[PROFILE_PROCESS_LABEL_MAX], longcmd[300];

	assert_int_equal(profile__add_process(p, 100, 100, "python3 a.py", &a), 0);
	assert_int_equal(profile__add_process(p, 100, 1, "python3 b;x\n.py", &b), 0);
	assert_int_not_equal(a, b);
	assert_int_equal(profile__process_count(p), 2);
	pa = profile__process(p, a);
	assert_string_equal(pa->label, "process 100:\"python3 a.py\"");
	assert_string_equal(pa->command, "python3 a.py");
	assert_int_equal(pa->ns_pid, 100);
	/* sanitized like a frame label; the namespace pid beside */
	assert_string_equal(profile__process(p, b)->label,
			    "process 100 (ns pid 1):\"python3 b:x?.py\"");
	assert_null(profile__process(p, 2));

	assert_int_equal(profile__intern_process_thread(p, a, 101, &ta), 0);
	assert_int_equal(profile__intern_process_thread(p, b, 101, &tb), 0);
	assert_int_equal(profile__intern_thread(p, 100, 101, &tplain), 0);
	assert_int_not_equal(ta, tb);
	assert_int_not_equal(ta, tplain);
	assert_int_not_equal(tb, tplain);
	assert_int_equal(profile__intern_process_thread(p, b, 101, &again), 0);
	assert_int_equal(again, tb);
	t = profile__thread(p, tb);
	assert_int_equal(t->pid, 100);
	assert_int_equal(t->tid, 101);
	assert_int_equal(t->process, b);
	assert_int_equal(profile__thread(p, tplain)->process, PROFILE_NO_PROCESS);
	assert_int_equal(profile__intern_process_thread(p, 7, 101, &again), -EINVAL);

	/* long commands are cut on a character boundary */
	memset(longcmd, 'x', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = '\0';
	memcpy(longcmd + 119, "\xc3\xa9", 2); /* a 2-byte character across byte 120 */
	profile_process_label(5, 0, longcmd, buf, sizeof(buf));
	assert_int_equal(strlen(buf), strlen("process 5:\"") + 119 + strlen("...\""));
	assert_string_equal(buf + strlen(buf) - 4, "...\"");
	assert_string_equal(profile_process_label(5, 5, NULL, buf, sizeof(buf)), "process 5:\"\"");
	profile__free(p);
}

/* ---- limits ------------------------------------------------------------- */

/* Builds the same small profile into p: 3 threads, 6 distinct stacks over
 * 5 frames, 9 adds. */
static void build_small(struct profile *p)
{
	uint32_t t[3], f[5];

	for (int i = 0; i < 3; i++)
		assert_int_equal(profile__intern_thread(p, 10, 10 + i, &t[i]), 0);
	for (int i = 0; i < 5; i++)
		f[i] = intern(p, (const char *[]){"a", "b", "c", "d", "e"}[i], "m.py", i + 1);
	add_stack(p, t[0], (uint32_t[]){f[0], f[1]}, 2, 3);
	add_stack(p, t[1], (uint32_t[]){f[0], f[1]}, 2, 4);
	add_stack(p, t[0], (uint32_t[]){f[0], f[1]}, 2, 5);
	add_stack(p, t[2], (uint32_t[]){f[2], f[3], f[4]}, 3, 6);
	add_stack(p, PROFILE_NO_THREAD, (uint32_t[]){f[4]}, 1, 7);
	add_stack(p, t[0], (uint32_t[]){f[0]}, 1, 8);
	add_stack(p, t[2], (uint32_t[]){f[2], f[3], f[4]}, 3, 9);
	add_stack(p, t[1], (uint32_t[]){f[1], f[0]}, 2, 10);
	add_stack(p, t[1], (uint32_t[]){f[1], f[0]}, 2, 11);
}

/* Under (or exactly at) the bounds a limited profile is the same as an
 * unlimited one: same frames, same stacks, no "[profile full]". */
static void test_limits_under_bound(void **state)
{
	struct profile *free_p = profile__new(), *p;

	build_small(free_p);
	assert_int_equal(profile__stack_count(free_p), 6);
	assert_int_equal(profile__frame_count(free_p), 5);
	for (size_t bound = 6; bound <= 7; bound++) {
		p = profile__new();
		assert_int_equal(profile__set_limits(p, bound, bound - 1), 0);
		build_small(p);
		assert_int_equal(profile__overflowed(p), 0);
		assert_int_equal(profile__stack_count(p), 6);
		assert_int_equal(profile__frame_count(p), 5);
		assert_int_equal(profile__function_count(p), profile__function_count(free_p));
		assert_int_equal(profile__total(p), profile__total(free_p));
		for (uint32_t i = 0; i < 6; i++) {
			struct profile_stack a, b;

			assert_int_equal(profile__stack(p, i, &a), 0);
			assert_int_equal(profile__stack(free_p, i, &b), 0);
			assert_int_equal(a.thread, b.thread);
			assert_int_equal(a.n, b.n);
			assert_memory_equal(a.frames, b.frames, a.n * sizeof(*a.frames));
			assert_int_equal(a.weight, b.weight);
			assert_int_equal(a.count, b.count);
		}
		for (uint32_t i = 0; i < 5; i++)
			assert_string_equal(profile__frame(p, i)->label,
					    profile__frame(free_p, i)->label);
		profile__free(p);
	}
	/* 0 is no bound, and lifting a bound works */
	p = profile__new();
	assert_int_equal(profile__set_limits(p, 1, 1), 0);
	assert_int_equal(profile__set_limits(p, 0, 0), 0);
	build_small(p);
	assert_int_equal(profile__stack_count(p), 6);
	assert_int_equal(profile__overflowed(p), 0);
	profile__free(p);
	profile__free(free_p);

	assert_int_equal(profile__set_limits(NULL, 1, 1), -EINVAL);
	assert_int_equal(profile__overflowed(NULL), 0);
}

/* The weight of the stack of `thread` that is just [profile full], or 0;
 * its count in *count. */
static uint64_t full_weight(const struct profile *p, uint32_t thread, uint64_t *count)
{
	struct profile_stack st;

	*count = 0;
	for (uint32_t i = 0; i < profile__stack_count(p); i++) {
		assert_int_equal(profile__stack(p, i, &st), 0);
		if (st.thread == thread && st.n == 1 &&
		    !strcmp(profile__frame(p, st.frames[0])->function, PROFILE_FULL_FRAME)) {
			*count = st.count;
			return st.weight;
		}
	}
	return 0;
}

/* Past max_stacks, new stacks go to their thread's [profile full] stack;
 * known stacks still get their own weight; totals stay exact. */
static void test_limits_stacks(void **state)
{
	struct profile *p = profile__new();
	uint32_t t1, t2, a, b, c, full, id, id2;
	const struct profile_frame *f;
	struct profile_stack st;
	uint64_t count, counts = 0;

	assert_int_equal(profile__intern_thread(p, 1, 1, &t1), 0);
	assert_int_equal(profile__intern_thread(p, 1, 2, &t2), 0);
	a = intern(p, "a", "m.py", 1);
	b = intern(p, "b", "m.py", 2);
	c = intern(p, "c", "m.py", 3);
	assert_int_equal(profile__set_limits(p, 2, 0), 0);

	add_stack(p, t1, (uint32_t[]){a, b}, 2, 1);
	add_stack(p, t1, (uint32_t[]){a}, 1, 2);
	assert_int_equal(profile__frame_count(p), 3); /* no overflow frame yet */
	/* full: a new stack of t1 folds into t1's [profile full] */
	assert_int_equal(profile__add(p, t1, (uint32_t[]){a, c}, 2, 4, &id), 0);
	assert_int_equal(profile__overflowed(p), 1);
	assert_int_equal(profile__frame_count(p), 4);
	assert_int_equal(profile__stack(p, id, &st), 0);
	assert_int_equal(st.thread, t1);
	assert_int_equal(st.n, 1);
	full = st.frames[0];
	f = profile__frame(p, full);
	assert_int_equal(f->kind, PROFILE_FRAME_SYNTHETIC);
	assert_string_equal(f->function, "[profile full]");
	assert_null(f->file);
	assert_int_equal(f->line, 0);
	assert_string_equal(f->label, "[profile full]");
	/* another new one of t1: the same stack */
	assert_int_equal(profile__add(p, t1, (uint32_t[]){c}, 1, 8, &id2), 0);
	assert_int_equal(id2, id);
	/* t2 and no thread get their own */
	add_stack(p, t2, (uint32_t[]){a, b}, 2, 16);
	add_stack(p, PROFILE_NO_THREAD, (uint32_t[]){b}, 1, 32);
	/* a known stack keeps its weight */
	assert_int_equal(profile__add(p, t1, (uint32_t[]){a, b}, 2, 64, &id2), 0);
	assert_int_equal(id2, 0);
	/* adding [profile full] itself is no overflow */
	add_stack(p, t1, &full, 1, 128);
	add_stack(p, t2, (uint32_t[]){c, b, a}, 3, 256);

	assert_int_equal(profile__overflowed(p), 5);
	assert_int_equal(profile__stack_count(p), 2 + 3);
	assert_int_equal(profile__frame_count(p), 4);
	assert_int_equal(profile__total(p), 511);
	assert_int_equal(full_weight(p, t1, &count), 4 + 8 + 128);
	assert_int_equal(count, 3);
	assert_int_equal(full_weight(p, t2, &count), 16 + 256);
	assert_int_equal(count, 2);
	assert_int_equal(full_weight(p, PROFILE_NO_THREAD, &count), 32);
	assert_int_equal(count, 1);
	assert_int_equal(profile__stack(p, 0, &st), 0);
	assert_int_equal(st.weight, 1 + 64);
	assert_int_equal(st.count, 2);
	/* each of the 9 add()s is counted in exactly one stack */
	for (uint32_t i = 0; i < profile__stack_count(p); i++) {
		assert_int_equal(profile__stack(p, i, &st), 0);
		counts += st.count;
	}
	assert_int_equal(counts, 9);
	/* errors are still errors, and a weight of 0 is still nothing */
	assert_int_equal(profile__add(p, t1, (uint32_t[]){a, 99}, 2, 1, NULL), -EINVAL);
	assert_int_equal(profile__add(p, t1, (uint32_t[]){b, b}, 2, 0, NULL), 0);
	assert_int_equal(profile__add(p, t1, (uint32_t[]){b, b}, 2, UINT64_MAX, NULL), -EOVERFLOW);
	assert_int_equal(profile__overflowed(p), 5);
	assert_int_equal(profile__total(p), 511);
	/* one more stack allowed: the [profile full] ones do not count */
	assert_int_equal(profile__set_limits(p, 3, 0), 0);
	add_stack(p, t2, (uint32_t[]){c, c}, 2, 1);
	assert_int_equal(profile__stack_count(p), 6);
	assert_int_equal(profile__overflowed(p), 5);
	add_stack(p, t2, (uint32_t[]){c, c, c}, 3, 1);
	assert_int_equal(profile__stack_count(p), 6);
	assert_int_equal(profile__overflowed(p), 6);
	/* lifting the bound: new stacks are their own again */
	assert_int_equal(profile__set_limits(p, 0, 0), 0);
	add_stack(p, t1, (uint32_t[]){b, b}, 2, 1);
	assert_int_equal(profile__stack_count(p), 7);
	assert_int_equal(profile__overflowed(p), 6);
	profile__free(p);
}

/* Past max_frames, new frames intern as [profile full]; known ones keep
 * their ids; the overflow frame is not counted. */
static void test_limits_frames(void **state)
{
	struct profile *p = profile__new();
	uint32_t a, b, c, d, e, full;

	assert_int_equal(profile__set_limits(p, 0, 3), 0);
	a = intern(p, "a", "m.py", 1);
	b = intern(p, "b", "m.py", 1);
	c = intern(p, "a", "m.py", 2);
	assert_int_equal(c, 2);
	assert_int_equal(profile__frame_count(p), 3);
	d = intern(p, "d", "m.py", 1);
	full = d;
	assert_int_equal(d, 3);
	assert_string_equal(profile__frame(p, d)->label, "[profile full]");
	assert_int_equal(profile__frame(p, d)->kind, PROFILE_FRAME_SYNTHETIC);
	/* a new line of a known function is a new frame too */
	e = intern(p, "a", "m.py", 3);
	assert_int_equal(e, full);
	assert_int_equal(frame(p, PROFILE_FRAME_KERNEL, "x", NULL, 0), full);
	assert_int_equal(intern(p, "a", "m.py", 1), a);
	assert_int_equal(intern(p, "b", "m.py", 1), b);
	assert_int_equal(intern(p, "a", "m.py", 2), c);
	/* the overflow frame itself interns as itself */
	assert_int_equal(frame(p, PROFILE_FRAME_SYNTHETIC, PROFILE_FULL_FRAME, NULL, 0), full);
	assert_int_equal(profile__frame_count(p), 4);
	assert_int_equal(profile__function_count(p), 3);
	/* stacks over them are ordinary stacks */
	add(p, (uint32_t[]){a, full}, 2, 1);
	add(p, (uint32_t[]){a, full}, 2, 1);
	assert_int_equal(profile__stack_count(p), 1);
	assert_int_equal(profile__overflowed(p), 0);
	/* a higher bound lets new frames in again */
	assert_int_equal(profile__set_limits(p, 0, 4), 0);
	d = intern(p, "d", "m.py", 1);
	assert_int_equal(d, 4);
	assert_int_equal(intern(p, "e", "m.py", 1), full);
	profile__free(p);
}

/* A bounded profile's memory does not grow with the number of distinct
 * stacks: a million of them, in 4 threads, into 1000 stacks. */
static void test_limits_memory(void **state)
{
	enum { THREADS = 4, FRAMES = 64, MAX_STACKS = 1000, ADDS = 1000000, DEPTH = 12 };
	struct profile *p = profile__new();
	uint64_t total = 0, rng = 0x2545f4914f6cdd1dULL, counts = 0;
	uint32_t t[THREADS], f[FRAMES], stack[DEPTH];
	struct profile_stack st;
	char name[16];

	assert_non_null(p);
	assert_int_equal(profile__set_limits(p, MAX_STACKS, 10000), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(profile__intern_thread(p, 7, 7 + i, &t[i]), 0);
	for (int i = 0; i < FRAMES; i++) {
		snprintf(name, sizeof(name), "fn%d", i);
		f[i] = intern(p, name, "m.py", i);
	}
	for (uint32_t i = 0; i < ADDS; i++) {
		uint64_t w;
		size_t n;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		/* i in base 64 makes every stack distinct; a random tail */
		for (int d = 0; d < 4; d++)
			stack[d] = f[(i >> (6 * d)) % FRAMES];
		n = 4 + rng % (DEPTH - 4);
		for (size_t d = 4; d < n; d++)
			stack[d] = f[(rng >> (3 * d)) % FRAMES];
		w = 1 + (rng >> 40) % 1000;
		total += w;
		add_stack(p, t[rng % THREADS], stack, n, w);
	}
	assert_true(profile__stack_count(p) <= MAX_STACKS + THREADS);
	assert_int_equal(profile__stack_count(p), MAX_STACKS + THREADS);
	assert_int_equal(profile__frame_count(p), FRAMES + 1);
	assert_int_equal(profile__total(p), total);
	assert_int_equal(profile__overflowed(p), ADDS - MAX_STACKS);
	for (uint32_t i = 0; i < profile__stack_count(p); i++) {
		assert_int_equal(profile__stack(p, i, &st), 0);
		counts += st.count;
	}
	assert_int_equal(counts, ADDS);
	/* what the profile holds is sized by the bound, not by the adds */
	assert_true(p->stacks_cap <= 2 * (MAX_STACKS + THREADS));
	assert_true(p->nids <= (size_t)MAX_STACKS * DEPTH + THREADS);
	assert_true(p->ids_cap <= 2 * p->nids);
	assert_true(p->stack_tab.cap <= 4 * (MAX_STACKS + THREADS));
	profile__free(p);
}

/* Folding into a new [profile full] stack allocates (the frame, the
 * stack); each failure leaves the profile as it was. */
static int oom_fold(void)
{
	struct profile *p = profile__new();
	uint32_t a, b;
	int err;

	if (!p)
		return -ENOMEM;
	assert_int_equal(profile__set_limits(p, 1, 0), 0);
	err = profile__intern_frame(p, PROFILE_FRAME_PYTHON, "a", NULL, 0, &a);
	if (!err)
		err = profile__intern_frame(p, PROFILE_FRAME_PYTHON, "b", NULL, 0, &b);
	if (!err)
		err = profile__add(p, PROFILE_NO_THREAD, &a, 1, 1, NULL);
	if (!err) {
		err = profile__add(p, PROFILE_NO_THREAD, &b, 1, 2, NULL);
		if (err) {
			assert_int_equal(profile__frame_count(p), 2);
			assert_int_equal(profile__stack_count(p), 1);
			assert_int_equal(profile__total(p), 1);
			assert_int_equal(profile__overflowed(p), 0);
		} else {
			assert_int_equal(profile__frame_count(p), 3);
			assert_int_equal(profile__stack_count(p), 2);
			assert_int_equal(profile__total(p), 3);
			assert_int_equal(profile__overflowed(p), 1);
		}
	}
	profile__free(p);
	return err;
}

static void test_limits_out_of_memory(void **state)
{
	long n;

	for (n = 0;; n++) {
		fault_countdown = n;
		int err = oom_fold();
		bool failed = fault_countdown < 0;

		fault_countdown = -1;
		if (!failed) {
			assert_int_equal(err, 0);
			break;
		}
		assert_int_equal(err, -ENOMEM);
	}
	assert_true(n > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_kinds),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_off_cpu_frame),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_new_is_empty),
		cmocka_unit_test(test_intern_same_triple_same_id),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_add_sums_weights),
		cmocka_unit_test(test_foreach_stops),
		cmocka_unit_test(test_errors_leave_profile_unchanged),
		cmocka_unit_test(test_add_own_frames),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_limits_under_bound),
		cmocka_unit_test(test_limits_stacks),
		cmocka_unit_test(test_limits_frames),
		cmocka_unit_test(test_limits_memory),
		cmocka_unit_test(test_limits_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
