// SPDX-License-Identifier: MIT
/*
 * Unit tests for off-CPU accounting: the classification the kernel applies
 * at switch-out (pyebpf_off_cpu_class, compiled here from the same header),
 * how records become weighted stacks (sample_stacks.c) and the time split
 * per thread (time_split.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <linux/types.h>

#include "kernel_symbols.h"
#include "profile.h"
#include "pyebpf.h"
#include "sample_stacks.h"
#include "time_split.h"
#include "timeline.h"

#define S_INTERRUPTIBLE 0x0001
#define S_UNINTERRUPTIBLE 0x0002
#define S_FREEZABLE 0x2000 /* a modifier bit seen in real states (0x2001) */

static const __u64 gil_lo[2] = {0x1000, 0x5000}, gil_hi[2] = {0x1100, 0x5040};
static const __u64 no_lo[2], no_hi[2];

static enum pyebpf_off_class classify(__u32 state, int preempted, long nr, __u64 arg0)
{
	return pyebpf_off_cpu_class(state, preempted, nr, arg0, gil_lo, gil_hi);
}

static void test_classes(void **state)
{
	/* preempted, or switched out while still runnable: waits for a CPU */
	assert_int_equal(classify(0, 1, -1, 0), PYEBPF_OFF_RUNQUEUE);
	assert_int_equal(classify(0, 0, -1, 0), PYEBPF_OFF_RUNQUEUE);
	/* preemption wins over the state the task was about to enter */
	assert_int_equal(classify(S_INTERRUPTIBLE, 1, 0, 0), PYEBPF_OFF_RUNQUEUE);
	/* sleeping in read(), clock_nanosleep(), epoll_wait(), select() */
	assert_int_equal(classify(S_INTERRUPTIBLE | S_FREEZABLE, 0, 0, 3), PYEBPF_OFF_IO);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 230, 1), PYEBPF_OFF_IO);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 232, 0x1000), PYEBPF_OFF_IO);
	/* not in a system call but interruptible (a signal wait): still I/O */
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, -1, 0), PYEBPF_OFF_IO);
	/* uninterruptible: disk, in a call or in a page fault */
	assert_int_equal(classify(S_UNINTERRUPTIBLE, 0, 74, 3), PYEBPF_OFF_DISK);
	assert_int_equal(classify(S_UNINTERRUPTIBLE, 0, -1, 0), PYEBPF_OFF_DISK);
	assert_int_equal(classify(0x0004, 0, -1, 0), PYEBPF_OFF_STOPPED);
	assert_int_equal(classify(0x0008, 0, 0, 0), PYEBPF_OFF_STOPPED);
	assert_int_equal(classify(0x1000, 0, -1, 0), PYEBPF_OFF_LOCK);
	/* exiting tasks never come back: nothing to time */
	assert_int_equal(classify(0x0080, 0, -1, 0), PYEBPF_OFF_NONE);
	assert_int_equal(classify(0x0010, 1, -1, 0), PYEBPF_OFF_NONE);
	assert_int_equal(classify(0x0020, 0, 60, 0), PYEBPF_OFF_NONE);
}

static void test_futex_gil_or_lock(void **state)
{
	/* futex() and futex_wait() on the GIL's words, both ranges, edges */
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 202, 0x1000), PYEBPF_OFF_GIL);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 202, 0x10ff), PYEBPF_OFF_GIL);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 455, 0x5020), PYEBPF_OFF_GIL);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 202, 0x1100), PYEBPF_OFF_LOCK);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 202, 0x0fff), PYEBPF_OFF_LOCK);
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 202, 0x5040), PYEBPF_OFF_LOCK);
	/* futex_waitv takes a vector, never the GIL */
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 449, 0x1000), PYEBPF_OFF_LOCK);
	/* another call whose first argument happens to point into the GIL */
	assert_int_equal(classify(S_INTERRUPTIBLE, 0, 0, 0x1000), PYEBPF_OFF_IO);
	/* no GIL known (empty ranges): every futex wait is a lock */
	assert_int_equal(pyebpf_off_cpu_class(S_INTERRUPTIBLE, 0, 202, 0, no_lo, no_hi),
			 PYEBPF_OFF_LOCK);
	assert_int_equal(pyebpf_off_cpu_class(S_INTERRUPTIBLE, 0, 202, 0x1000, no_lo, no_hi),
			 PYEBPF_OFF_LOCK);
}

/* ---- records to stacks ------------------------------------------------- */

/* A fake symbolizer: code address N is function "fN" in "/app/m.py", at
 * line = instr, first line 2; codes from 1000 are in the standard library's
 * threading.py, from 2000 in a site-packages package; code 0 is unreadable;
 * code 99 is an interpreter shim. */
static int fake_resolve(const struct pyebpf_frame *f, struct resolved_frame *out, void *ctx)
{
	static char name[32];

	(void)ctx;
	if (f->code == 99)
		return SYMBOLIZER_SHIM;
	if (!f->code) {
		out->function = "[unreadable frame]";
		out->file = NULL;
		out->line = -1;
		out->first_line = -1;
		return -EFAULT;
	}
	snprintf(name, sizeof(name), "f%llu", (unsigned long long)f->code);
	out->function = name;
	out->file = f->code >= 2000   ? "/venv/lib/python3.12/site-packages/pkg/mod.py"
		    : f->code >= 1000 ? "/usr/lib/python3.12/threading.py"
				      : "/app/m.py";
	out->line = (int)f->instr;
	out->first_line = 2;
	return 0;
}

static struct pyebpf_sample *record(int kind, int off_class, long syscall, __u64 off_ns,
				    __u64 runq_ns)
{
	struct pyebpf_sample *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->pid = 10;
	s->tid = 11;
	s->kind = kind;
	s->off_class = off_class;
	s->syscall = (__s32)syscall;
	s->off_ns = off_ns;
	s->runq_ns = runq_ns;
	return s;
}

/* leaf first, as the kernel sends them */
static void set_frames(struct pyebpf_sample *s, const __u64 *codes, int n)
{
	for (int i = 0; i < n; i++) {
		s->frames[i].code = codes[i];
		s->frames[i].instr = 10 + i;
	}
	s->n_frames = n;
}

struct folded_buf {
	char text[4096];
	const struct profile *p;
};

/* dump() starts each stack with its thread's root frame */
static bool threads_shown;

static int collect(const struct profile_stack *st, void *ctx)
{
	const uint32_t *frames = st->frames;
	uint64_t weight = st->weight;
	size_t n = st->n;
	struct folded_buf *b = ctx;
	size_t len = strlen(b->text);

	if (threads_shown && st->thread != PROFILE_NO_THREAD) {
		char label[PROFILE_THREAD_LABEL_MAX];

		profile_thread_label(profile__thread(b->p, st->thread), label, sizeof(label));
		len += snprintf(b->text + len, sizeof(b->text) - len, "%s;", label);
	}
	for (size_t i = 0; i < n; i++)
		len += snprintf(b->text + len, sizeof(b->text) - len, "%s%s", i ? ";" : "",
				profile__frame(b->p, frames[i])->label);
	snprintf(b->text + len, sizeof(b->text) - len, " %llu\n", (unsigned long long)weight);
	return 0;
}

static const char *dump(const struct profile *p)
{
	static struct folded_buf b;

	b.text[0] = '\0';
	b.p = p;
	profile__foreach(p, collect, &b);
	return b.text;
}

static void add(struct profile *p, const struct sample_stacks_opts *o,
		const struct pyebpf_sample *s, struct sample_stacks_result *res)
{
	uint32_t stack[SAMPLE_STACKS_MAX_DEPTH];

	assert_int_equal(sample_stacks_add(p, o, s, fake_resolve, NULL, stack, res), 0);
}

static const __u64 three[] = {3, 2, 1}; /* leaf f3, root f1 */

static void test_cpu_mode_counts_samples(void **state)
{
	struct sample_stacks_opts o = {.mode = TIME_CPU, .period_ns = 10000000};
	struct profile *p = profile__new();
	struct pyebpf_sample *cpu = record(PYEBPF_KIND_CPU, 0, -1, 0, 0);
	struct pyebpf_sample *off = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_IO, 0, 500, 0);
	struct sample_stacks_result res;

	set_frames(cpu, three, 3);
	set_frames(off, three, 3);
	add(p, &o, cpu, &res);
	assert_true(res.added);
	assert_int_equal(res.weight, 1);
	add(p, &o, off, &res);
	assert_false(res.added); /* off-CPU time is not in a CPU profile */
	assert_string_equal(dump(p), "f1 (/app/m.py:12);f2 (/app/m.py:11);f3 (/app/m.py:10) 1\n");
	free(cpu);
	free(off);
	profile__free(p);
}

static void test_wall_mode_weighs_nanoseconds(void **state)
{
	struct sample_stacks_opts o = {.mode = TIME_WALL, .period_ns = 10000000};
	struct profile *p = profile__new();
	struct pyebpf_sample *cpu = record(PYEBPF_KIND_CPU, 0, -1, 0, 0);
	struct pyebpf_sample *io = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_IO, 0, 700, 30);
	struct pyebpf_sample *gil = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_GIL, 202, 5, 0);
	struct pyebpf_sample *runq = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_RUNQUEUE, -1, 9, 0);
	struct pyebpf_sample *lock = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_LOCK, 202, 4, 0);
	struct pyebpf_sample *odd = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_IO, 4000, 2, 0);
	struct sample_stacks_result res;

	set_frames(cpu, three, 3);
	set_frames(io, three, 2); /* f3 <- f2 */
	set_frames(gil, three, 1);
	set_frames(runq, three, 1);
	set_frames(lock, three, 1);
	set_frames(odd, three, 1);
	add(p, &o, cpu, &res);
	assert_int_equal(res.weight, 10000000);
	add(p, &o, io, &res);
	assert_int_equal(res.weight, 730); /* the wait, then the run-queue part */
	add(p, &o, gil, &res);
	add(p, &o, runq, &res);
	add(p, &o, lock, &res);
	add(p, &o, odd, &res);
	assert_string_equal(dump(p), "f1 (/app/m.py:12);f2 (/app/m.py:11);f3 (/app/m.py:10) "
				     "10000000\n"
				     "f2 (/app/m.py:11);f3 (/app/m.py:10);[off-cpu:io] read 700\n"
				     "f2 (/app/m.py:11);f3 (/app/m.py:10);[off-cpu:runqueue] 30\n"
				     "f3 (/app/m.py:10);[off-cpu:gil] 5\n"
				     "f3 (/app/m.py:10);[off-cpu:runqueue] 9\n"
				     "f3 (/app/m.py:10);[off-cpu:lock] futex 4\n"
				     "f3 (/app/m.py:10);[off-cpu:io] syscall_4000 2\n");
	assert_int_equal(profile__total(p), 10000000 + 730 + 5 + 9 + 4 + 2);
	free(cpu);
	free(io);
	free(gil);
	free(runq);
	free(lock);
	free(odd);
	profile__free(p);
}

static void test_off_cpu_mode_and_gil_filter(void **state)
{
	struct sample_stacks_opts o = {.mode = TIME_OFF_CPU, .period_ns = 1000};
	struct profile *p = profile__new();
	struct pyebpf_sample *cpu = record(PYEBPF_KIND_CPU, 0, -1, 0, 0);
	struct pyebpf_sample *io = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_IO, 230, 50, 0);
	struct sample_stacks_result res;

	set_frames(cpu, three, 1);
	set_frames(io, three, 1);
	add(p, &o, cpu, &res);
	assert_false(res.added);
	add(p, &o, io, &res);
	assert_string_equal(dump(p), "f3 (/app/m.py:10);[off-cpu:io] clock_nanosleep 50\n");
	profile__free(p);

	/* --gil: only records whose thread held the GIL */
	o.mode = TIME_CPU;
	o.gil_only = true;
	p = profile__new();
	add(p, &o, cpu, &res);
	assert_false(res.added);
	cpu->flags = PYEBPF_SAMPLE_GIL_KNOWN | PYEBPF_SAMPLE_HOLDS_GIL;
	add(p, &o, cpu, &res);
	assert_true(res.added);
	assert_int_equal(profile__total(p), 1);
	free(cpu);
	free(io);
	profile__free(p);
}

static void test_threads_truncation_and_errors(void **state)
{
	struct sample_stacks_opts o = {.mode = TIME_CPU};
	struct profile *p = profile__new();
	struct pyebpf_sample *s = record(PYEBPF_KIND_CPU, 0, -1, 0, 0);
	const __u64 codes[] = {5, 99, 0};
	struct sample_stacks_result res;

	set_frames(s, codes, 3);
	s->flags = PYEBPF_SAMPLE_TRUNCATED;
	add(p, &o, s, &res);
	assert_true(res.had_errors);
	s->n_frames = 0;
	s->flags = PYEBPF_SAMPLE_NO_TSTATE;
	add(p, &o, s, &res);
	assert_false(res.had_errors);
	threads_shown = true;
	assert_string_equal(dump(p),
			    "[thread 11];[truncated];[unreadable frame];f5 (/app/m.py:10) 1\n"
			    "[thread 11];[no Python frames] 1\n");
	threads_shown = false;
	free(s);
	profile__free(p);
}

static const char kallsyms[] = "ffffffff81000000 T entry_SYSCALL_64\n"
			       "ffffffff81000100 T do_syscall_64\n"
			       "ffffffff81000200 T ksys_read\n"
			       "ffffffff81000300 T schedule\n"
			       "ffffffff81000400 T bpf_trace_run4\n"
			       "ffffffff81000500 T __traceiter_sched_switch\n"
			       "ffffffff81000600 T _etext\n";

static void test_kernel_frames(void **state)
{
	char why[256];
	struct kernel_symbols *ks =
		kernel_symbols__parse(kallsyms, sizeof(kallsyms) - 1, "test", why, sizeof(why));
	struct sample_stacks_opts o = {.mode = TIME_WALL, .period_ns = 100};
	struct profile *p = profile__new();
	struct pyebpf_sample *s = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_IO, 0, 40, 0);
	struct sample_stacks_result res;
	__u64 *k;

	assert_non_null(ks);
	o.kernel = ks;
	set_frames(s, three, 1);
	/* leaf first: an unsymbolized JIT address, the tracing frames, then
	 * the thread's own path into the scheduler */
	k = (__u64 *)&s->frames[s->n_frames];
	k[0] = 0xffffffffc0001234ull;
	k[1] = 0xffffffff81000510ull;
	k[2] = 0xffffffff81000410ull;
	k[3] = 0xffffffff81000310ull;
	k[4] = 0xffffffff81000210ull;
	k[5] = 0xffffffff81000110ull;
	k[6] = 0xffffffff81000010ull;
	s->n_kframes = 7;
	add(p, &o, s, &res);
	assert_string_equal(dump(p), "f3 (/app/m.py:10);[off-cpu:io] read;entry_SYSCALL_64_[k];"
				     "do_syscall_64_[k];ksys_read_[k];schedule_[k] 40\n");

	/* without --kernel the addresses are ignored */
	profile__free(p);
	p = profile__new();
	o.kernel = NULL;
	add(p, &o, s, &res);
	assert_string_equal(dump(p), "f3 (/app/m.py:10);[off-cpu:io] read 40\n");
	free(s);
	profile__free(p);
	kernel_symbols__free(ks);
}

/* ---- time split -------------------------------------------------------- */

static void test_time_split(void **state)
{
	struct time_accounts *a = time_accounts__new();
	struct pyebpf_sample *cpu = record(PYEBPF_KIND_CPU, 0, -1, 0, 0);
	struct pyebpf_sample *io = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_IO, 0, 300, 20);
	struct pyebpf_sample *gil = record(PYEBPF_KIND_OFF_CPU, PYEBPF_OFF_GIL, 202, 80, 0);
	const struct time_split *t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(a);
	cpu->flags = PYEBPF_SAMPLE_GIL_KNOWN | PYEBPF_SAMPLE_HOLDS_GIL;
	assert_int_equal(time_accounts__add(a, cpu, 100), 0);
	cpu->flags = PYEBPF_SAMPLE_GIL_KNOWN;
	assert_int_equal(time_accounts__add(a, cpu, 100), 0);
	assert_int_equal(time_accounts__add(a, io, 100), 0);
	gil->tid = 12;
	assert_int_equal(time_accounts__add(a, gil, 100), 0);

	t = time_accounts__total(a);
	assert_int_equal(t->cpu_ns, 200);
	assert_int_equal(t->off_ns[PYEBPF_OFF_IO], 300);
	assert_int_equal(t->off_ns[PYEBPF_OFF_RUNQUEUE], 20);
	assert_int_equal(t->off_ns[PYEBPF_OFF_GIL], 80);
	assert_int_equal(t->gil_ns, 100);
	assert_int_equal(t->gil_known_ns, 200);
	assert_int_equal(time_split_wall(t), 600);
	assert_int_equal(time_accounts__thread_count(a), 2);
	assert_int_equal(time_accounts__thread(a, 0)->tid, 11);
	assert_int_equal(time_split_wall(&time_accounts__thread(a, 0)->t), 520);
	assert_int_equal(time_split_wall(&time_accounts__thread(a, 1)->t), 80);
	assert_null(time_accounts__thread(a, 2));

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(time_accounts__print(f, a, 1), 0);
	fclose(f);
	assert_string_equal(buf, "  wall time 0.00 s: on CPU 33.3%, I/O or sleep 50.0%, GIL 13.3%, "
				 "run queue 3.3%; holding the GIL 50.0% of the time on CPU\n"
				 "  thread 11: 0.00 s: on CPU 38.5%, I/O or sleep 57.7%, run queue "
				 "3.8%; holding the GIL 50.0% of the time on CPU\n"
				 "  thread 12: 0.00 s: on CPU 0.0%, GIL 100.0%\n");
	free(buf);
	free(cpu);
	free(io);
	free(gil);
	time_accounts__free(a);
}

/* Kinds from the file, -F and --nolineno lines, and the timeline. */
static void test_lines_kinds_and_timeline(void **state)
{
	static const enum sample_lines modes[] = {SAMPLE_LINES_CURRENT, SAMPLE_LINES_FUNCTION,
						  SAMPLE_LINES_NONE};
	static const char *const want[] = {
		"f1000 (/usr/lib/python3.12/threading.py:12);"
		"f2000 (/venv/lib/python3.12/site-packages/pkg/mod.py:11);f5 (/app/m.py:10) 1\n",
		"f1000 (/usr/lib/python3.12/threading.py:2);"
		"f2000 (/venv/lib/python3.12/site-packages/pkg/mod.py:2);f5 (/app/m.py:2) 1\n",
		"f1000 (/usr/lib/python3.12/threading.py);"
		"f2000 (/venv/lib/python3.12/site-packages/pkg/mod.py);f5 (/app/m.py) 1\n",
	};
	const __u64 codes[] = {5, 2000, 1000}; /* leaf first */

	for (size_t m = 0; m < 3; m++) {
		struct timeline *tl = timeline__new();
		struct sample_stacks_opts o = {.mode = TIME_CPU, .lines = modes[m], .timeline = tl};
		struct pyebpf_sample *s = record(PYEBPF_KIND_CPU, 0, -1, 0, 0);
		struct profile *p = profile__new();
		const struct timeline_event *ev;
		struct sample_stacks_result res;
		struct profile_stack st;
		size_t n;

		s->time_ns = 12345;
		set_frames(s, codes, 3);
		add(p, &o, s, &res);
		assert_string_equal(dump(p), want[m]);
		assert_int_equal(profile__stack(p, 0, &st), 0);
		assert_int_equal(profile__frame(p, st.frames[0])->kind, PROFILE_FRAME_STDLIB);
		assert_int_equal(profile__frame(p, st.frames[1])->kind, PROFILE_FRAME_LIBRARY);
		assert_int_equal(profile__frame(p, st.frames[2])->kind, PROFILE_FRAME_PYTHON);
		assert_int_equal(profile__thread(p, st.thread)->tid, 11);
		assert_int_equal(profile__thread(p, res.thread)->pid, 10);
		ev = timeline__sorted(tl, &n);
		assert_int_equal(n, 1);
		assert_int_equal(ev[0].start_ns, 12345);
		assert_int_equal(ev[0].stack, 0);
		free(s);
		profile__free(p);
		timeline__free(tl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_futex_gil_or_lock),
		cmocka_unit_test(test_cpu_mode_counts_samples),
		cmocka_unit_test(test_wall_mode_weighs_nanoseconds),
		cmocka_unit_test(test_off_cpu_mode_and_gil_filter),
		cmocka_unit_test(test_threads_truncation_and_errors),
		cmocka_unit_test(test_kernel_frames),
		cmocka_unit_test(test_time_split),
		cmocka_unit_test(test_lines_kinds_and_timeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
