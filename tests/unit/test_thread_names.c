// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/thread_names.c and user/python_object.c.
 *
 * Live: every installed interpreter (pyenv 3.6 to 3.13, Debian's 3.11)
 * runs threads named by name=, renamed after start, left at their default
 * name, one busy, one non-ASCII; every tid of /proc/PID/task must map to
 * exactly the name Python gives it (3.6 and 3.7 through the thread states,
 * walked here), a steady refresh must stay cheap, and a thread that exits
 * keeps its name while a renamed one gets its new name.
 *
 * Synthetic: objects built in a fake address space for the 3.7, 3.10,
 * 3.11, 3.12 and 3.13 layouts, read back; then the same images with
 * hostile values, and pure garbage: every refresh ends, bounded, without
 * a crash, and gives no name or a name of at most THREAD_NAME_MAX bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "debug_offsets.h"
#include "fixtures/debug_offsets_313.h"
#include "live_python.h"
#include "python_layout.h"
#include "python_object.h"
#include "python_process.h"
#include "remote_memory.h"
#include "thread_names.h"

/* ---- live interpreters ---------------------------------------------------- */

/*
 * Starts five threads and prints "T <tid> <ident> <name>" for each and for
 * the main thread, then "READY". On SIGUSR1 it renames one thread, lets
 * the short-lived one finish and prints "CHANGED <its tid>". Valid 3.6+;
 * 3.6 and 3.7 get the tid from syscall(SYS_gettid) through ctypes.
 */
static const char child_script[] =
	"import signal, sys, threading, time\n"
	"try:\n"
	"    native_id = threading.get_native_id\n"
	"except AttributeError:\n"
	"    import ctypes\n"
	"    _syscall = ctypes.CDLL(None).syscall\n"
	"    def native_id():\n"
	"        return _syscall(186)\n"
	"lock = threading.Lock()\n"
	"info = {}\n"
	"stop = threading.Event()\n"
	"short_stop = threading.Event()\n"
	"def note():\n"
	"    with lock:\n"
	"        info[threading.current_thread()] = (native_id(), threading.get_ident())\n"
	"def sleeper(ev):\n"
	"    note()\n"
	"    ev.wait()\n"
	"def busy():\n"
	"    note()\n"
	"    x = 0\n"
	"    while not stop.is_set():\n"
	"        x += 1\n"
	"threads = [\n"
	"    threading.Thread(target=sleeper, args=(stop,), name='CustomThreadName-1'),\n"
	"    threading.Thread(target=busy, name='CustomThreadName-2'),\n"
	"    threading.Thread(target=sleeper, args=(stop,)),\n"
	"    threading.Thread(target=sleeper, args=(stop,)),\n"
	"    threading.Thread(target=sleeper, args=(short_stop,),\n"
	"                     name='Sch\\u00f6n-\\u0416-\\U0001F40D'),\n"
	"]\n"
	"for t in threads:\n"
	"    t.daemon = True\n"
	"    t.start()\n"
	"threads[2].name = 'CustomThreadName-3'\n"
	"note()\n"
	"while True:\n"
	"    with lock:\n"
	"        if len(info) == len(threads) + 1:\n"
	"            break\n"
	"    time.sleep(0.01)\n"
	"def say(line):\n"
	"    sys.stdout.buffer.write((line + '\\n').encode('utf-8'))\n"
	"    sys.stdout.flush()\n"
	"for t, (tid, ident) in info.items():\n"
	"    say('T %d %d %s' % (tid, ident, t.name))\n"
	"changed = []\n"
	"signal.signal(signal.SIGUSR1, lambda *a: changed.append(1))\n"
	"say('READY')\n"
	"while not changed:\n"
	"    time.sleep(0.02)\n"
	"threads[3].name = 'Renamed-4'\n"
	"short_stop.set()\n"
	"threads[4].join()\n"
	"say('CHANGED %d' % info[threads[4]][0])\n"
	"time.sleep(120)\n";

#define MAX_LIVE_THREADS 16
/* a tid no thread here has: PID_MAX_LIMIT - 1 */
#define TID_UNKNOWN 4194303

struct live_thread {
	pid_t tid;
	uint64_t ident;
	uint64_t tstate;
	char name[THREAD_NAME_MAX + 1];
};

struct live_target {
	struct python_process pp;
	struct live_thread t[MAX_LIVE_THREADS];
	size_t n;
};

static struct live_thread *by_tid(struct live_target *lt, pid_t tid)
{
	for (size_t i = 0; i < lt->n; i++) {
		if (lt->t[i].tid == tid)
			return &lt->t[i];
	}
	return NULL;
}

static void start_target(struct live_python *lp, const char *python, struct live_target *lt)
{
	char *argv[] = {(char *)python, "-c", (char *)child_script, NULL};
	char line[1024], why[512] = "";
	unsigned long long ident;
	int tid, pos, err;

	memset(lt, 0, sizeof(*lt));
	assert_int_equal(live_python_start(lp, argv), 0);
	for (;;) {
		if (!live_python_line(lp, line, sizeof(line)))
			fail_msg("%s (pid %d) stopped before READY", python, (int)lp->pid);
		if (!strcmp(line, "READY"))
			break;
		assert_int_equal(sscanf(line, "T %d %llu %n", &tid, &ident, &pos), 2);
		assert_true(lt->n < MAX_LIVE_THREADS);
		lt->t[lt->n].tid = tid;
		lt->t[lt->n].ident = ident;
		snprintf(lt->t[lt->n].name, sizeof(lt->t[lt->n].name), "%s", line + pos);
		lt->n++;
	}
	assert_int_equal(lt->n, 6);
	err = python_process__inspect(lp->pid, &lt->pp, why, sizeof(why));
	if (err)
		fail_msg("inspect %s (pid %d): %d: %s", python, (int)lp->pid, err, why);
}

/* Each thread's PyThreadState, found by walking the interpreter's list
 * and matching thread_id with the thread's get_ident(). */
static void find_tstates(struct live_target *lt)
{
	const struct py_layout *l = &lt->pp.layout;
	pid_t pid = lt->pp.pid;
	uint64_t interp, ts, ident;
	int guard = 0;

	assert_int_equal(remote_read_u64(pid, lt->pp.interp_head_addr, &interp), 0);
	assert_int_equal(remote_read_u64(pid, interp + (uint64_t)l->bpf.interp_threads_head, &ts),
			 0);
	for (; ts && guard < 100; guard++) {
		assert_int_equal(
			remote_read_u64(pid, ts + (uint64_t)l->bpf.tstate_thread_id, &ident), 0);
		for (size_t i = 0; i < lt->n; i++) {
			if (lt->t[i].ident == ident)
				lt->t[i].tstate = ts;
		}
		assert_int_equal(remote_read_u64(pid, ts + (uint64_t)l->bpf.tstate_next, &ts), 0);
	}
	for (size_t i = 0; i < lt->n; i++) {
		if (!lt->t[i].tstate)
			fail_msg("no thread state for thread %d (\"%s\")", (int)lt->t[i].tid,
				 lt->t[i].name);
	}
}

/* The tids of /proc/PID/task. */
static size_t list_tasks(pid_t pid, pid_t *tids, size_t max)
{
	char path[64];
	struct dirent *d;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		assert_true(n < max);
		tids[n++] = (pid_t)atoi(d->d_name);
	}
	closedir(dir);
	return n;
}

static void expect_name(struct thread_names *tn, pid_t tid, uint64_t tstate, const char *want)
{
	const char *got = thread_names__lookup(tn, tid, tstate);

	if (!want && got)
		fail_msg("tid %d (tstate %#llx): \"%s\", want none", (int)tid,
			 (unsigned long long)tstate, got);
	if (want && (!got || strcmp(got, want)))
		fail_msg("tid %d (tstate %#llx): %s%s%s, want \"%s\"", (int)tid,
			 (unsigned long long)tstate, got ? "\"" : "", got ? got : "no name",
			 got ? "\"" : "", want);
}

/* A reader over a live process that counts its reads. */
struct counting {
	pid_t pid;
	unsigned long reads;
};

static int counting_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct counting *c = ctx;

	c->reads++;
	return remote_read(c->pid, addr, buf, len);
}

static void check_live(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	struct live_target *lt = calloc(1, sizeof(*lt));
	struct thread_names *tn, *counted;
	struct counting cnt = {0};
	struct py_reader reader = {.read = counting_read, .ctx = &cnt};
	pid_t tasks[64], short_tid;
	struct thread_name_info info;
	char line[256];
	size_t n, i;
	const char *exited;

	assert_non_null(lt);
	start_target(lp, python, lt);
	assert_int_equal(lt->pp.layout.minor, minor);
	find_tstates(lt);

	tn = thread_names__new(&lt->pp);
	assert_non_null(tn);
	assert_int_equal(thread_names__refresh(tn), 0);

	/* every thread of the process, and only Python's */
	n = list_tasks(lp->pid, tasks, 64);
	assert_int_equal(n, lt->n);
	for (i = 0; i < n; i++) {
		struct live_thread *t = by_tid(lt, tasks[i]);

		if (!t)
			fail_msg("task %d of pid %d is no thread the script started", (int)tasks[i],
				 (int)lp->pid);
		if (minor >= 8) {
			expect_name(tn, t->tid, 0, t->name);
		} else {
			/* no native ids: only the main thread is known by tid */
			expect_name(tn, t->tid, 0, t->tid == lp->pid ? t->name : NULL);
		}
		expect_name(tn, t->tid, t->tstate, t->name);
		/* remembered from then on */
		expect_name(tn, t->tid, 0, t->name);
	}
	expect_name(tn, TID_UNKNOWN, 0, NULL);
	expect_name(tn, TID_UNKNOWN, lt->t[0].tstate + 8, NULL);
	assert_int_equal(thread_names__count(tn), lt->n);
	for (i = 0; i < thread_names__count(tn); i++) {
		struct live_thread *t;

		assert_int_equal(thread_names__get(tn, i, &info), 0);
		t = by_tid(lt, info.tid);
		assert_non_null(t);
		assert_true(info.alive);
		assert_int_equal(info.ident, t->ident);
		assert_string_equal(info.name, t->name);
	}
	assert_int_equal(thread_names__get(tn, i, &info), -ENOENT);

	/* a steady refresh is cheap: a few reads per interpreter and thread */
	counted =
		thread_names__new_reader(&lt->pp.layout, lt->pp.interp_head_addr, lp->pid, &reader);
	assert_non_null(counted);
	cnt.pid = lp->pid;
	assert_int_equal(thread_names__refresh(counted), 0);
	print_message("3.%d: first refresh %lu reads", minor, cnt.reads);
	cnt.reads = 0;
	assert_int_equal(thread_names__refresh(counted), 0);
	print_message(", then %lu for %zu threads\n", cnt.reads, lt->n);
	if (cnt.reads > 24 + 6 * lt->n)
		fail_msg("a steady refresh took %lu reads for %zu threads", cnt.reads, lt->n);
	for (i = 0; minor >= 8 && i < lt->n; i++)
		expect_name(counted, lt->t[i].tid, 0, lt->t[i].name);
	thread_names__free(counted);

	/* rename one thread, let another exit */
	assert_int_equal(kill(lp->pid, SIGUSR1), 0);
	if (!live_python_line(lp, line, sizeof(line)))
		fail_msg("%s (pid %d) did not answer SIGUSR1", python, (int)lp->pid);
	assert_int_equal(sscanf(line, "CHANGED %d", &short_tid), 1);
	exited = by_tid(lt, short_tid)->name;
	assert_int_equal(thread_names__refresh(tn), 0);
	for (i = 0; i < lt->n; i++) {
		struct live_thread *t = &lt->t[i];

		if (!strncmp(t->name, "Thread-", 7) || !strcmp(t->name, "Renamed-4"))
			continue;
		expect_name(tn, t->tid, 0, t->name);
	}
	expect_name(tn, short_tid, 0, exited);
	for (i = 0; i < thread_names__count(tn); i++) {
		assert_int_equal(thread_names__get(tn, i, &info), 0);
		assert_int_equal(info.alive, info.tid != short_tid);
		if (!strcmp(info.name, "Renamed-4"))
			assert_non_null(by_tid(lt, info.tid));
	}
	/* the renamed one: its new name, found by tid or thread state */
	for (i = 0; i < lt->n; i++) {
		struct live_thread *t = &lt->t[i];

		if (strcmp(t->name, "CustomThreadName-1") &&
		    strcmp(t->name, "CustomThreadName-2") &&
		    strcmp(t->name, "CustomThreadName-3") && strcmp(t->name, "MainThread") &&
		    t->tid != short_tid)
			expect_name(tn, t->tid, t->tstate, "Renamed-4");
	}
	thread_names__free(tn);
	live_python_stop(lp);
	free(lt);
}

/* ---- synthetic memory ------------------------------------------------------ */

#define FAKE_BASE 0x10000000ull
#define FAKE_SIZE (1u << 20)

/* A fake address space: FAKE_BASE up to FAKE_BASE + used. */
struct fake {
	uint8_t *mem;
	size_t used;
	unsigned long reads;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;

	f->reads++;
	if (addr < FAKE_BASE || addr - FAKE_BASE > f->used || len > f->used - (addr - FAKE_BASE))
		return -EFAULT;
	memcpy(buf, f->mem + (addr - FAKE_BASE), len);
	return 0;
}

static uint64_t fk_alloc(struct fake *f, size_t size)
{
	uint64_t addr = FAKE_BASE + f->used;

	size = (size + 15) & ~(size_t)15;
	assert_true(f->used + size <= FAKE_SIZE);
	memset(f->mem + f->used, 0, size);
	f->used += size;
	return addr;
}

static void fk_put(struct fake *f, uint64_t addr, const void *v, size_t len)
{
	assert_true(addr >= FAKE_BASE && addr - FAKE_BASE + len <= f->used);
	memcpy(f->mem + (addr - FAKE_BASE), v, len);
}

static void fk_u64(struct fake *f, uint64_t addr, uint64_t v)
{
	fk_put(f, addr, &v, 8);
}

static void fk_u32(struct fake *f, uint64_t addr, uint32_t v)
{
	fk_put(f, addr, &v, 4);
}

static void fk_u8(struct fake *f, uint64_t addr, uint8_t v)
{
	fk_put(f, addr, &v, 1);
}

/* The layouts the synthetic images are built for. */
static struct py_layout layout_313;

static const struct py_layout *synth_layout(int minor)
{
	const char *why = NULL;

	if (minor <= 12)
		return py_layout_table_lookup(3, minor);
	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313),
						&layout_313, NULL, &why),
			 0);
	return &layout_313;
}

/* PyTypeObject.tp_flags */
#define F_INLINE_VALUES (1ull << 2)
#define F_MANAGED_DICT (1ull << 4)
#define F_HEAPTYPE (1ull << 9)

#define SYNTH_PID 1000
#define SYNTH_THREADS 4
#define SYNTH_ATTRS 5

/* The threads of an image: what a refresh must find. */
static const struct {
	const char *name;
	uint64_t ident;
	int style; /* how its attributes are kept: 0 shared keys, 1 own dict,
		      2 (3.13) both */
} synth_thread[SYNTH_THREADS] = {
	{"MainThread", 0x7f0000000100ull, 0},
	{"Worker-1", 0x7f0000100700ull, 0},
	{"W\xc3\xb6rker-2 \xd0\x96\xf0\x9f\x90\x8d", 0x7f0000200700ull, 1},
	{"Thread-3 (run)", 0x7f0000300700ull, 2},
};

struct image {
	const struct py_layout *l;
	struct fake f;
	uint64_t head_cell; /* holds the interpreter list head */
	uint64_t interp;
	uint64_t str_type, int_type, dict_type, module_type, object_type;
	uint64_t thread_type, thread_keys;
	uint64_t attr_key[SYNTH_ATTRS]; /* interned attribute names */
	uint64_t module, active;	/* threading, threading._active */
	uint64_t thread[SYNTH_THREADS], name[SYNTH_THREADS], native[SYNTH_THREADS];
	uint64_t tstate[SYNTH_THREADS];
};

static bool has_native(const struct py_layout *l)
{
	return l->minor >= 8;
}

static uint64_t mk_obj(struct image *im, size_t size, uint64_t type)
{
	uint64_t a = fk_alloc(&im->f, size);

	fk_u64(&im->f, a + (uint64_t)im->l->object_type, type);
	return a;
}

static uint64_t mk_str(struct image *im, const char *s)
{
	const struct py_layout *l = im->l;
	size_t n = strlen(s);
	uint64_t a = mk_obj(im, (size_t)l->unicode_ascii_size + n + 1, im->str_type);

	fk_u64(&im->f, a + (uint64_t)l->unicode_length, n);
	/* kind 1, compact, ascii */
	fk_u32(&im->f, a + (uint64_t)l->unicode_state, (1u << 2) | (1u << 5) | (1u << 6));
	fk_put(&im->f, a + (uint64_t)l->unicode_ascii_size, s, n);
	return a;
}

/* A compact str of `n` code points of `kind` bytes. */
static uint64_t mk_wstr(struct image *im, unsigned int kind, const uint32_t *cp, size_t n)
{
	const struct py_layout *l = im->l;
	uint64_t a = mk_obj(im, (size_t)l->unicode_compact_size + (n + 1) * kind, im->str_type);

	fk_u64(&im->f, a + (uint64_t)l->unicode_length, n);
	fk_u32(&im->f, a + (uint64_t)l->unicode_state, (kind << 2) | (1u << 5));
	for (size_t i = 0; i < n; i++) {
		uint64_t at = a + (uint64_t)l->unicode_compact_size + i * kind;

		if (kind == 1)
			fk_u8(&im->f, at, (uint8_t)cp[i]);
		else if (kind == 2)
			fk_put(&im->f, at, &(uint16_t){(uint16_t)cp[i]}, 2);
		else
			fk_u32(&im->f, at, cp[i]);
	}
	return a;
}

/* A str from UTF-8, in the narrowest kind, as CPython makes them. */
static uint64_t mk_text(struct image *im, const char *s)
{
	uint32_t cp[THREAD_NAME_MAX * 2];
	unsigned int kind = 1;
	size_t n = 0;
	bool ascii = true;

	for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
		uint32_t c;

		assert_true(n < sizeof(cp) / sizeof(cp[0]));
		if (*p < 0x80) {
			c = *p++;
		} else if (*p < 0xe0) {
			c = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
			p += 2;
		} else if (*p < 0xf0) {
			c = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
			    (p[2] & 0x3f);
			p += 3;
		} else {
			c = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
			    (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
			p += 4;
		}
		cp[n] = c;
		if (c >= 0x80)
			ascii = false;
		if (c > 0xff && kind < 2)
			kind = 2;
		if (c > 0xffff)
			kind = 4;
	}
	return ascii ? mk_str(im, s) : mk_wstr(im, kind, cp, n);
}

static uint64_t mk_int(struct image *im, int64_t v)
{
	const struct py_layout *l = im->l;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v, a;
	uint32_t digit[3];
	size_t nd = 0;

	while (u) {
		digit[nd++] = (uint32_t)(u & ((1u << 30) - 1));
		u >>= 30;
	}
	a = mk_obj(im, (size_t)l->long_digits + (nd ? nd : 1) * 4, im->int_type);
	if (l->long_size >= 0)
		fk_u64(&im->f, a + (uint64_t)l->long_size, v < 0 ? -(uint64_t)nd : nd);
	else
		fk_u64(&im->f, a + (uint64_t)l->long_tag, nd << 3 | (v == 0 ? 1 : v < 0 ? 2 : 0));
	fk_put(&im->f, a + (uint64_t)l->long_digits, digit, nd * 4);
	return a;
}

struct kv {
	uint64_t key, value, hash;
};

/* enum DictKeysKind */
#define KIND_GENERAL 0
#define KIND_UNICODE 1
#define KIND_SPLIT 2

/* A keys object with entries kv[0..n); values left out for a split one. */
static uint64_t mk_keys(struct image *im, const struct kv *kv, size_t n, int kind)
{
	const struct py_layout *l = im->l;
	uint64_t size = 8, index_bytes, entry_size, a, e;
	unsigned int log2 = 3;

	while (n > size * 2 / 3) {
		size *= 2;
		log2++;
	}
	if (l->dictkeys_size >= 0) {
		index_bytes = size * (size <= 0xff ? 1 : 2);
		entry_size = 24;
	} else {
		index_bytes = 1ull << (log2 + (log2 < 8 ? 0 : 1));
		entry_size = kind == KIND_GENERAL ? 24 : 16;
	}
	a = fk_alloc(&im->f, (size_t)(l->dictkeys_indices + index_bytes + n * entry_size));
	fk_u64(&im->f, a, 1); /* dk_refcnt */
	if (l->dictkeys_size >= 0) {
		fk_u64(&im->f, a + (uint64_t)l->dictkeys_size, size);
	} else {
		fk_u8(&im->f, a + (uint64_t)l->dictkeys_log2_size, (uint8_t)log2);
		fk_u8(&im->f, a + (uint64_t)l->dictkeys_log2_index_bytes,
		      (uint8_t)(log2 + (log2 < 8 ? 0 : 1)));
		fk_u8(&im->f, a + (uint64_t)l->dictkeys_kind, (uint8_t)kind);
	}
	fk_u64(&im->f, a + (uint64_t)l->dictkeys_nentries, n);
	memset(im->f.mem + (a + (uint64_t)l->dictkeys_indices - FAKE_BASE), 0xff,
	       (size_t)index_bytes); /* DKIX_EMPTY: never read */
	e = a + (uint64_t)l->dictkeys_indices + index_bytes;
	for (size_t i = 0; i < n; i++, e += entry_size) {
		bool split = kind == KIND_SPLIT;

		if (entry_size == 24) {
			fk_u64(&im->f, e, kv[i].hash);
			fk_u64(&im->f, e + 8, kv[i].key);
			fk_u64(&im->f, e + 16, split ? 0 : kv[i].value);
		} else {
			fk_u64(&im->f, e, kv[i].key);
			fk_u64(&im->f, e + 8, split ? 0 : kv[i].value);
		}
	}
	return a;
}

/* Split values; `at` 0 allocates them, else they go there (inline). */
static uint64_t mk_values(struct image *im, uint64_t at, const uint64_t *v, size_t n, bool valid)
{
	const struct py_layout *l = im->l;
	uint64_t a = at ? at : fk_alloc(&im->f, (size_t)l->dictvalues_values + n * 8);

	if (l->dictvalues_capacity >= 0) {
		fk_u8(&im->f, a + (uint64_t)l->dictvalues_capacity, (uint8_t)n);
		fk_u8(&im->f, a + (uint64_t)l->dictvalues_valid, valid);
	}
	for (size_t i = 0; i < n; i++)
		fk_u64(&im->f, a + (uint64_t)l->dictvalues_values + i * 8, v[i]);
	return a;
}

static uint64_t mk_dict(struct image *im, uint64_t keys, uint64_t values)
{
	const struct py_layout *l = im->l;
	uint64_t a = mk_obj(im, 48, im->dict_type);

	fk_u64(&im->f, a + (uint64_t)l->dict_keys, keys);
	fk_u64(&im->f, a + (uint64_t)l->dict_values, values);
	return a;
}

/* A combined dict: str keys are a unicode table from 3.11 on. */
static uint64_t mk_combined(struct image *im, const struct kv *kv, size_t n, bool str_keys)
{
	return mk_dict(im, mk_keys(im, kv, n, str_keys ? KIND_UNICODE : KIND_GENERAL), 0);
}

static const char *const attr_name[SYNTH_ATTRS] = {"_target", "_name", "_args", "_ident",
						   "_native_id"};

/* A Thread instance with attributes values[0..n), kept as `style` says. */
static uint64_t mk_thread(struct image *im, int style, const uint64_t *values, size_t n)
{
	const struct py_layout *l = im->l;
	struct kv kv[SYNTH_ATTRS];
	uint64_t block, obj, dict = 0, shared;

	for (size_t i = 0; i < n; i++)
		kv[i] = (struct kv){.key = im->attr_key[i], .value = values[i], .hash = 0x1234 + i};
	if (style)
		dict = mk_combined(im, kv, n, true);
	switch (l->attrs_kind) {
	case PY_ATTRS_DICTOFFSET:
		obj = mk_obj(im, 32, im->thread_type);
		if (!style)
			dict = mk_dict(im, im->thread_keys, mk_values(im, 0, values, n, true));
		fk_u64(&im->f, obj + 16, dict);
		return obj;
	case PY_ATTRS_MANAGED_311:
		block = fk_alloc(&im->f, 32 + 16);
		obj = block + 32;
		fk_u64(&im->f, obj + (uint64_t)l->object_type, im->thread_type);
		if (!style)
			fk_u64(&im->f, obj - 32, mk_values(im, 0, values, n, true));
		else
			fk_u64(&im->f, obj - 24, dict);
		return obj;
	case PY_ATTRS_MANAGED_312:
		block = fk_alloc(&im->f, 32 + 16);
		obj = block + 32;
		fk_u64(&im->f, obj + (uint64_t)l->object_type, im->thread_type);
		shared = style ? dict : mk_values(im, 0, values, n, true) - 1;
		fk_u64(&im->f, obj - 24, shared);
		return obj;
	case PY_ATTRS_INLINE_313:
		block = fk_alloc(&im->f, 32 + 16 + (size_t)l->dictvalues_values + n * 8);
		obj = block + 32;
		fk_u64(&im->f, obj + (uint64_t)l->object_type, im->thread_type);
		/* style 1: values moved to a dict of their own; 2: a dict
		 * made that shares the inline values */
		mk_values(im, obj + 16, values, n, style != 1);
		if (style == 2)
			dict = mk_dict(im, im->thread_keys, obj + 16);
		if (style)
			fk_u64(&im->f, obj - 24, dict);
		return obj;
	}
	fail_msg("unknown attrs_kind %d", (int)l->attrs_kind);
	return 0;
}

static uint64_t mk_type(struct image *im, uint64_t flags, int64_t basicsize, int64_t dictoffset,
			uint64_t cached_keys)
{
	const struct py_layout *l = im->l;
	uint64_t a = mk_obj(im, (size_t)l->heaptype_cached_keys + 16, 0);

	fk_u64(&im->f, a + (uint64_t)l->type_flags, flags);
	fk_u64(&im->f, a + (uint64_t)l->type_basicsize, (uint64_t)basicsize);
	fk_u64(&im->f, a + (uint64_t)l->type_dictoffset, (uint64_t)dictoffset);
	fk_u64(&im->f, a + (uint64_t)l->heaptype_cached_keys, cached_keys);
	return a;
}

/* A process image of CPython 3.<minor> with the threads of synth_thread. */
static void build_image(struct image *im, int minor)
{
	const struct py_layout *l = synth_layout(minor);
	size_t nattrs = has_native(l) ? SYNTH_ATTRS : SYNTH_ATTRS - 1;
	struct kv kv[SYNTH_THREADS + 4], split[SYNTH_ATTRS];
	uint64_t module, tdict, active, mods, prev_ts = 0;
	int i;

	assert_non_null(l);
	assert_true(py_object_layout_ok(l));
	memset(im, 0, sizeof(*im));
	im->l = l;
	im->f.mem = calloc(1, FAKE_SIZE);
	assert_non_null(im->f.mem);
	im->head_cell = fk_alloc(&im->f, 8);
	im->str_type = fk_alloc(&im->f, 64);
	im->int_type = fk_alloc(&im->f, 64);
	im->dict_type = fk_alloc(&im->f, 64);
	im->module_type = fk_alloc(&im->f, 64);
	im->object_type = fk_alloc(&im->f, 64);

	for (i = 0; i < SYNTH_ATTRS; i++) {
		im->attr_key[i] = mk_str(im, attr_name[i]);
		split[i] = (struct kv){.key = im->attr_key[i], .hash = 0x1234 + (uint64_t)i};
	}
	im->thread_keys = mk_keys(im, split, nattrs, KIND_SPLIT);
	switch (l->attrs_kind) {
	case PY_ATTRS_DICTOFFSET:
		im->thread_type = mk_type(im, F_HEAPTYPE, 32, 16, im->thread_keys);
		break;
	case PY_ATTRS_MANAGED_311:
	case PY_ATTRS_MANAGED_312:
		im->thread_type = mk_type(im, F_HEAPTYPE | F_MANAGED_DICT, 16, -1, im->thread_keys);
		break;
	case PY_ATTRS_INLINE_313:
		im->thread_type = mk_type(im, F_HEAPTYPE | F_MANAGED_DICT | F_INLINE_VALUES, 16, 0,
					  im->thread_keys);
		break;
	}

	for (i = 0; i < SYNTH_THREADS; i++) {
		uint64_t values[SYNTH_ATTRS];
		int style = synth_thread[i].style;

		if (style == 2 && l->attrs_kind != PY_ATTRS_INLINE_313)
			style = 0;
		im->name[i] = mk_text(im, synth_thread[i].name);
		values[0] = im->object_type; /* any object */
		values[1] = im->name[i];
		values[2] = im->object_type;
		values[3] = mk_int(im, (int64_t)synth_thread[i].ident);
		values[4] = im->native[i] = mk_int(im, SYNTH_PID + i);
		im->thread[i] = mk_thread(im, style, values, nattrs);
		kv[i] = (struct kv){.key = mk_int(im, (int64_t)synth_thread[i].ident),
				    .value = im->thread[i],
				    .hash = synth_thread[i].ident};
	}
	active = im->active = mk_combined(im, kv, SYNTH_THREADS, false);

	kv[0] = (struct kv){mk_str(im, "__name__"), mk_str(im, "threading"), 1};
	kv[1] = (struct kv){mk_str(im, "_active"), active, 2};
	kv[2] = (struct kv){mk_str(im, "Thread"), im->thread_type, 3};
	kv[3] = (struct kv){mk_str(im, "_main_thread"), im->thread[0], 4};
	tdict = mk_combined(im, kv, 4, true);
	module = im->module = mk_obj(im, (size_t)l->module_dict + 8, im->module_type);
	fk_u64(&im->f, module + (uint64_t)l->module_dict, tdict);

	kv[0] = (struct kv){mk_str(im, "sys"), im->object_type, 5};
	kv[1] = (struct kv){mk_str(im, "builtins"), im->object_type, 6};
	kv[2] = (struct kv){mk_str(im, "threadinG"), im->object_type, 7};
	kv[3] = (struct kv){mk_str(im, "threading"), module, 8};
	mods = mk_combined(im, kv, 4, true);

	/* the interpreter and its thread states */
	im->interp = fk_alloc(&im->f, (size_t)l->interp_modules + 8);
	fk_u64(&im->f, im->interp + (uint64_t)l->interp_modules, mods);
	fk_u64(&im->f, im->head_cell, im->interp);
	for (i = SYNTH_THREADS - 1; i >= 0; i--) {
		uint64_t ts = fk_alloc(&im->f, 512);

		fk_u64(&im->f, ts + (uint64_t)l->bpf.tstate_thread_id, synth_thread[i].ident);
		fk_u64(&im->f, ts + (uint64_t)l->bpf.tstate_next, prev_ts);
		im->tstate[i] = prev_ts = ts;
	}
}

static void free_image(struct image *im)
{
	free(im->f.mem);
}

static struct thread_names *image_names(struct image *im)
{
	struct py_reader reader = {.read = fake_read, .ctx = &im->f};
	struct thread_names *tn =
		thread_names__new_reader(im->l, im->head_cell, SYNTH_PID, &reader);

	assert_non_null(tn);
	return tn;
}

static void check_synthetic(int minor)
{
	struct image im;
	struct thread_names *tn;
	int i;

	build_image(&im, minor);
	tn = image_names(&im);
	assert_int_equal(thread_names__refresh(tn), 0);
	for (i = 0; i < SYNTH_THREADS; i++) {
		if (has_native(im.l) || i == 0)
			expect_name(tn, SYNTH_PID + i, 0, synth_thread[i].name);
		else
			expect_name(tn, SYNTH_PID + i, 0, NULL);
		expect_name(tn, SYNTH_PID + i, im.tstate[i], synth_thread[i].name);
	}
	assert_int_equal(thread_names__count(tn), SYNTH_THREADS);
	if (!has_native(im.l)) {
		/* a tid the kernel gave to another thread: its thread state
		 * says which */
		expect_name(tn, SYNTH_PID + 1, im.tstate[2], synth_thread[2].name);
		expect_name(tn, SYNTH_PID + 1, 0, synth_thread[2].name);
		expect_name(tn, SYNTH_PID + 2, 0, NULL);
		/* a thread state that names no living thread changes nothing */
		expect_name(tn, SYNTH_PID + 1, im.tstate[3] + 8, synth_thread[2].name);
		expect_name(tn, SYNTH_PID + 2, im.tstate[2] + 8, NULL);
		expect_name(tn, SYNTH_PID + 2, im.tstate[2], synth_thread[2].name);
		expect_name(tn, SYNTH_PID + 1, im.tstate[1], synth_thread[1].name);
	}
	/* steady: the known key strs are compared by address */
	im.f.reads = 0;
	assert_int_equal(thread_names__refresh(tn), 0);
	print_message("3.%d synthetic: %lu reads for %d threads\n", minor, im.f.reads,
		      SYNTH_THREADS);
	assert_true(im.f.reads <= 24 + 6 * SYNTH_THREADS);
	for (i = 0; i < SYNTH_THREADS; i++)
		expect_name(tn, SYNTH_PID + i, 0, synth_thread[i].name);
	thread_names__free(tn);
	free_image(&im);
}

/*
 * test_NAME_37 ... test_NAME_313: check(minor) for every version whose
 * objects the synthetic images lay out; SYNTH_TEST_LIST(NAME) lists them.
 */
#define SYNTH_TEST(name, check, minor)                   \
	static void test_##name##_3##minor(void **state) \
	{                                                \
		check(minor);                            \
	}
#define SYNTH_TESTS(name, check)    \
	SYNTH_TEST(name, check, 7)  \
	SYNTH_TEST(name, check, 10) \
	SYNTH_TEST(name, check, 11) \
	SYNTH_TEST(name, check, 12) \
	SYNTH_TEST(name, check, 13)

#define SYNTH_TEST_LIST(name)                                                             \
	cmocka_unit_test(test_##name##_37), cmocka_unit_test(test_##name##_310),          \
		cmocka_unit_test(test_##name##_311), cmocka_unit_test(test_##name##_312), \
		cmocka_unit_test(test_##name##_313)

SYNTH_TESTS(synthetic, check_synthetic)

/* ---- hostile memory ------------------------------------------------------- */

/* Reads a refresh may make before its budget ends it (thread_names.c),
 * plus what lookups add. */
#define MAX_REFRESH_READS (1ul << 16)

/* A refresh and lookups over whatever the image holds now: they end, read
 * a bounded amount, and give no name or a short one. */
static void run_hostile(struct image *im, const uint64_t *tstates, size_t n_tstates)
{
	struct thread_names *tn = image_names(im);
	struct thread_name_info info;
	size_t i;

	im->f.reads = 0;
	thread_names__refresh(tn);
	thread_names__refresh(tn);
	for (i = 0; i < SYNTH_THREADS + 2; i++) {
		const char *name = thread_names__lookup(tn, SYNTH_PID + (pid_t)i,
							i < n_tstates ? tstates[i] : 0);

		if (name)
			assert_true(strlen(name) <= THREAD_NAME_MAX);
	}
	if (im->f.reads > 2 * MAX_REFRESH_READS + SYNTH_THREADS + 2)
		fail_msg("%lu reads", im->f.reads);
	assert_true(thread_names__count(tn) <= THREAD_NAMES_MAX);
	for (i = 0; i < thread_names__count(tn); i++) {
		assert_int_equal(thread_names__get(tn, i, &info), 0);
		assert_true(strlen(info.name) <= THREAD_NAME_MAX);
	}
	thread_names__free(tn);
}

/* Every word and byte of a good image replaced, in turn, by hostile
 * values: sizes, counts, kinds, pointers to itself and to nowhere. */
static void check_mutations(int minor)
{
	static const uint64_t words[] = {0,	     ~0ull,	    1ull << 40,
					 1ull << 62, 0x7fffffffull, 0x8000000000000000ull,
					 FAKE_BASE,  FAKE_BASE + 1, FAKE_BASE + FAKE_SIZE - 8};
	static const uint8_t bytes[] = {0, 0xff, 0x7f, 2, 16};
	struct image im;
	size_t off, i, runs = 0;

	build_image(&im, minor);
	for (off = 0; off + 8 <= im.f.used; off += 8) {
		uint64_t save, self = FAKE_BASE + off;

		memcpy(&save, im.f.mem + off, 8);
		for (i = 0; i < sizeof(words) / sizeof(words[0]) + 3; i++) {
			uint64_t w = i < sizeof(words) / sizeof(words[0])
					     ? words[i]
					     : self - 8 * (i - sizeof(words) / sizeof(words[0]));

			memcpy(im.f.mem + off, &w, 8);
			run_hostile(&im, im.tstate, SYNTH_THREADS);
			runs++;
		}
		memcpy(im.f.mem + off, &save, 8);
	}
	for (off = 0; off < im.f.used; off++) {
		uint8_t save = im.f.mem[off];

		if (!save && off % 8)
			continue; /* padding and high bytes: the words above cover them */
		for (i = 0; i < sizeof(bytes); i++) {
			im.f.mem[off] = bytes[i];
			run_hostile(&im, im.tstate, SYNTH_THREADS);
			runs++;
		}
		im.f.mem[off] = save;
	}
	print_message("3.%d: %zu hostile images of %zu bytes\n", minor, runs, im.f.used);
	free_image(&im);
}

SYNTH_TESTS(mutations, check_mutations)

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random words, many of them pointers into the memory itself. */
static void test_garbage(void **state)
{
	static const int minors[] = {6, 7, 10, 11, 12, 13};
	struct image im;
	uint64_t seed = 0x9e3779b97f4a7c15ull, tstates[SYNTH_THREADS];
	const size_t size = 1 << 16;

	memset(&im, 0, sizeof(im));
	im.f.mem = malloc(size);
	assert_non_null(im.f.mem);
	im.f.used = size;
	for (int round = 0; round < 300; round++) {
		im.l = synth_layout(minors[round % 6]);
		im.head_cell = FAKE_BASE + (xorshift(&seed) % size & ~7ull);
		for (size_t off = 0; off < size; off += 8) {
			uint64_t r = xorshift(&seed), w;

			switch (r % 5) {
			case 0:
			case 1:
				w = FAKE_BASE + ((r >> 8) % size & ~(uint64_t)(r >> 40 & 7));
				break;
			case 2:
				w = (r >> 8) & 0xff;
				break;
			case 3:
				w = 0;
				break;
			default:
				w = xorshift(&seed);
			}
			memcpy(im.f.mem + off, &w, 8);
		}
		for (int i = 0; i < SYNTH_THREADS; i++)
			tstates[i] = FAKE_BASE + xorshift(&seed) % size;
		run_hostile(&im, tstates, SYNTH_THREADS);
	}
	free(im.f.mem);
}

/* The interpreter list loops back on itself; a pointer to nowhere; an
 * unreadable head: refresh ends, the names read so far stay. */
static void test_interp_cycle(void **state)
{
	struct image im;
	struct thread_names *tn;

	build_image(&im, 12);
	fk_u64(&im.f, im.interp + (uint64_t)im.l->bpf.interp_next, im.interp);
	tn = image_names(&im);
	assert_int_equal(thread_names__refresh(tn), 0);
	expect_name(tn, SYNTH_PID + 1, 0, synth_thread[1].name);
	fk_u64(&im.f, im.interp + (uint64_t)im.l->bpf.interp_next, 0xdead0000ull);
	assert_int_equal(thread_names__refresh(tn), 0);
	fk_u64(&im.f, im.head_cell, 0);
	assert_int_equal(thread_names__refresh(tn), 0);
	im.f.used = 0; /* the process is gone */
	assert_int_equal(thread_names__refresh(tn), -EFAULT);
	/* known names stay, also of threads gone from _active */
	expect_name(tn, SYNTH_PID + 1, 0, synth_thread[1].name);
	expect_name(tn, SYNTH_PID + 3, 0, synth_thread[3].name);
	thread_names__free(tn);
	free_image(&im);
}

/* ---- the object readers --------------------------------------------------- */

/* An image with nothing in it yet but the type objects. */
static void empty_image(struct image *im, int minor)
{
	memset(im, 0, sizeof(*im));
	im->l = synth_layout(minor);
	im->f.mem = calloc(1, FAKE_SIZE);
	assert_non_null(im->f.mem);
	im->str_type = fk_alloc(&im->f, 64);
	im->int_type = fk_alloc(&im->f, 64);
	im->dict_type = fk_alloc(&im->f, 64);
}

static void test_layouts_ok(void **state)
{
	struct py_reader reader = {.read = fake_read};
	struct py_layout l;
	int minor;

	for (minor = 6; minor <= 13; minor++)
		assert_true(py_object_layout_ok(synth_layout(minor)));
	assert_false(py_object_layout_ok(NULL));

	l = *synth_layout(12);
	l.interp_modules = PYEBPF_NO_FIELD;
	assert_false(py_object_layout_ok(&l));
	errno = 0;
	assert_null(thread_names__new_reader(&l, FAKE_BASE, 1, &reader));
	assert_int_equal(errno, ENOTSUP);
	l = *synth_layout(12);
	l.long_size = 16; /* both int encodings */
	assert_false(py_object_layout_ok(&l));
	l = *synth_layout(10);
	l.dictkeys_size = PYEBPF_NO_FIELD; /* and no 3.11 fields either */
	assert_false(py_object_layout_ok(&l));
	l = *synth_layout(11);
	l.heaptype_cached_keys = PYEBPF_NO_FIELD;
	assert_false(py_object_layout_ok(&l));
	l = *synth_layout(13);
	l.dictvalues_valid = PYEBPF_NO_FIELD;
	assert_false(py_object_layout_ok(&l));
	l = *synth_layout(13);
	l.attrs_kind = (enum py_attrs_kind)7;
	assert_false(py_object_layout_ok(&l));
	l = *synth_layout(8);
	l.unicode_ascii_size = 4096;
	assert_false(py_object_layout_ok(&l));

	errno = 0;
	assert_null(thread_names__new_reader(NULL, FAKE_BASE, 1, &reader));
	assert_int_equal(errno, EINVAL);
	assert_null(thread_names__new(NULL));
	assert_int_equal(thread_names__refresh(NULL), -EINVAL);
	assert_null(thread_names__lookup(NULL, 1, 0));
	assert_int_equal(thread_names__count(NULL), 0);
	thread_names__free(NULL);
	py_items__release(NULL);
}

static void check_longs(int minor)
{
	static const int64_t values[] = {
		0, 1, -7, 255, (1 << 30) - 1, 1 << 30, 0x7f0000300700ll, -(1ll << 40), INT64_MAX,
	};
	struct image im;
	struct py_reader r = {.read = fake_read, .ctx = &im.f};
	const struct py_layout *l;
	uint64_t a, at_end;
	int64_t v;

	empty_image(&im, minor);
	l = im.l;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		a = mk_int(&im, values[i]);
		assert_int_equal(py_long_value(&r, l, a, &v), 0);
		assert_int_equal(v, values[i]);
	}
	/* 2^63: a third digit of more than 3 bits */
	a = mk_int(&im, INT64_MAX);
	fk_u32(&im.f, a + (uint64_t)l->long_digits + 8, 8);
	assert_int_equal(py_long_value(&r, l, a, &v), -ERANGE);
	/* a digit that is no 30-bit digit */
	a = mk_int(&im, 5);
	fk_u32(&im.f, a + (uint64_t)l->long_digits, 1u << 30);
	assert_int_equal(py_long_value(&r, l, a, &v), -EINVAL);
	/* four digits, a size from nowhere */
	a = mk_int(&im, 5);
	if (l->long_size >= 0) {
		fk_u64(&im.f, a + (uint64_t)l->long_size, 4);
		assert_int_equal(py_long_value(&r, l, a, &v), -ERANGE);
		fk_u64(&im.f, a + (uint64_t)l->long_size, (uint64_t)INT64_MIN);
		assert_int_equal(py_long_value(&r, l, a, &v), -ERANGE);
	} else {
		fk_u64(&im.f, a + (uint64_t)l->long_tag, 4 << 3);
		assert_int_equal(py_long_value(&r, l, a, &v), -ERANGE);
		fk_u64(&im.f, a + (uint64_t)l->long_tag, 1 << 3 | 3); /* no such sign */
		assert_int_equal(py_long_value(&r, l, a, &v), -EINVAL);
		fk_u64(&im.f, a + (uint64_t)l->long_tag, 1 << 3 | 1); /* a zero with digits */
		assert_int_equal(py_long_value(&r, l, a, &v), -EINVAL);
	}
	/* an int that ends where the memory does: read in two steps */
	at_end = mk_int(&im, 77);
	im.f.used = at_end - FAKE_BASE + (uint64_t)l->long_digits + 4;
	assert_int_equal(py_long_value(&r, l, at_end, &v), 0);
	assert_int_equal(v, 77);
	im.f.used -= 4;
	assert_int_equal(py_long_value(&r, l, at_end, &v), -EFAULT);
	assert_int_equal(py_long_value(&r, l, 0, &v), -EFAULT);
	free_image(&im);
}

static void test_longs(void **state)
{
	check_longs(10); /* ob_size */
	check_longs(12); /* lv_tag */
}

static void check_strs(int minor)
{
	struct image im;
	struct py_reader r = {.read = fake_read, .ctx = &im.f};
	const struct py_layout *l;
	char out[THREAD_NAME_MAX + 1], want[THREAD_NAME_MAX + 1], longer[400];
	uint64_t a, type = 0;

	empty_image(&im, minor);
	l = im.l;
	a = mk_str(&im, "_name");
	assert_int_equal(py_str_equals(&r, l, a, "_name", &type), 1);
	assert_int_equal(type, im.str_type);
	assert_int_equal(py_str_equals(&r, l, a, "_nam", NULL), 0);
	assert_int_equal(py_str_equals(&r, l, a, "_names", NULL), 0);
	assert_int_equal(py_str_equals(&r, l, a, "_nbme", NULL), 0);
	assert_int_equal(py_str_equals(&r, l, 8, "_name", NULL), -EFAULT);
	assert_int_equal(py_str_utf8(&r, l, a, im.str_type, out, sizeof(out)), 0);
	assert_string_equal(out, "_name");
	assert_int_equal(py_str_utf8(&r, l, a, im.int_type, out, sizeof(out)), -EINVAL);

	/* each kind, as CPython picks them */
	a = mk_text(&im, "caf\xc3\xa9");
	assert_int_equal(py_str_equals(&r, l, a, "cafe", NULL), 0);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "caf\xc3\xa9");
	a = mk_text(&im, "\xd0\x96-\xd0\x96");
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "\xd0\x96-\xd0\x96");
	a = mk_text(&im, "snake \xf0\x9f\x90\x8d");
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "snake \xf0\x9f\x90\x8d");

	/* cut at THREAD_NAME_MAX bytes, on a character boundary */
	memset(longer, 'x', 300);
	longer[300] = '\0';
	a = mk_text(&im, longer);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	memset(want, 'x', THREAD_NAME_MAX);
	want[THREAD_NAME_MAX] = '\0';
	assert_string_equal(out, want);
	for (int i = 0; i < 99; i++)
		memcpy(longer + 4 * i, "\xf0\x9f\x90\x8d", 4);
	memcpy(longer + 4 * 99, "!", 2);
	a = mk_text(&im, longer);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), THREAD_NAME_MAX);
	assert_memory_equal(out, longer, THREAD_NAME_MAX);
	a = mk_text(&im, "\xd0\x96\xd0\x96\xd0\x96");
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, 6), 0);
	assert_string_equal(out, "\xd0\x96\xd0\x96"); /* 5 bytes of room */
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, 0), -EINVAL);

	/* a length from nowhere reads no more than the room */
	a = mk_str(&im, "short");
	fk_u64(&im.f, a + (uint64_t)l->unicode_length, 1ull << 40);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), -EFAULT); /* past the end */
	fk_alloc(&im.f, THREAD_NAME_MAX);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "short", 5), 0);
	assert_true(strlen(out) <= THREAD_NAME_MAX);
	assert_int_equal(py_str_equals(&r, l, a, "short", NULL), 0);
	/* a kind that does not exist */
	fk_u32(&im.f, a + (uint64_t)l->unicode_state, (3u << 2) | (1u << 5));
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(py_str_equals(&r, l, a, "short", NULL), 0);

	/* a short str at the very end of the memory: its header is shorter
	 * than a compact one */
	a = mk_str(&im, "end");
	im.f.used = a - FAKE_BASE + (uint64_t)l->unicode_ascii_size + 4;
	assert_int_equal(py_str_equals(&r, l, a, "end", NULL), 1);
	assert_int_equal(py_str_equals(&r, l, a, "a_much_longer_key", NULL), 0);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "end");
	im.f.used -= 2;
	assert_int_equal(py_str_equals(&r, l, a, "end", NULL), -EFAULT);
	assert_int_equal(py_str_utf8(&r, l, a, 0, out, sizeof(out)), -EFAULT);
	free_image(&im);
}

static void test_strs(void **state)
{
	check_strs(6);
	check_strs(12);
	check_strs(13);
}

/* A remembered key address that holds another str now is forgotten, and
 * the keys are read. */
static void test_items_find(void **state)
{
	struct image im;
	struct py_reader r = {.read = fake_read, .ctx = &im.f};
	struct py_item item[3];
	struct py_items items = {.item = item, .n = 3};
	struct py_key key[2] = {{.name = "_name"}, {.name = "_native_id"}};
	uint64_t value[2], index[2], nope, name, native;

	empty_image(&im, 12);
	nope = mk_str(&im, "_nope");
	name = mk_str(&im, "_name");
	native = mk_str(&im, "_native_id");
	item[0] = (struct py_item){.index = 0, .key = nope, .value = 100};
	item[1] = (struct py_item){.index = 1, .key = native, .value = 101};
	item[2] = (struct py_item){.index = 7, .key = name, .value = 102};
	key[0].addr = nope; /* stale: the str there is "_nope" now */
	key[0].checked = 1;
	assert_int_equal(py_items_find(&r, im.l, &items, key, 2, 2, value, index), 2);
	assert_int_equal(value[0], 102);
	assert_int_equal(index[0], 7);
	assert_int_equal(value[1], 101);
	assert_int_equal(index[1], 1);
	assert_int_equal(key[0].addr, name);
	assert_int_equal(key[0].type, im.str_type);
	assert_int_equal(key[1].addr, native);
	/* the next pass reads each known key once, and nothing else */
	im.f.reads = 0;
	assert_int_equal(py_items_find(&r, im.l, &items, key, 2, 3, value, NULL), 2);
	assert_int_equal(im.f.reads, 2);
	im.f.reads = 0;
	assert_int_equal(py_items_find(&r, im.l, &items, key, 2, 3, value, NULL), 2);
	assert_int_equal(im.f.reads, 0);
	/* missing keys cost a read per item, once */
	items.n = 1;
	im.f.reads = 0;
	assert_int_equal(py_items_find(&r, im.l, &items, key, 2, 4, value, index), 0);
	assert_int_equal(value[0], 0);
	assert_int_equal(value[1], 0);
	assert_int_equal(im.f.reads, 1);
	free_image(&im);
}

/* ---- refreshes over changing images ------------------------------------ */

/* The key str of _name is replaced by another object: the remembered
 * address no longer holds "_name", and the keys are read again. */
static void test_key_moved(void **state)
{
	struct image im;
	struct thread_names *tn;
	uint64_t moved;

	build_image(&im, 11);
	tn = image_names(&im);
	assert_int_equal(thread_names__refresh(tn), 0);
	expect_name(tn, SYNTH_PID + 1, 0, synth_thread[1].name);
	/* the old str now says something else; the keys hold a new one */
	moved = mk_str(&im, "_name");
	for (size_t off = 0; off + 8 <= im.f.used; off += 8) {
		uint64_t w;

		memcpy(&w, im.f.mem + off, 8);
		if (w == im.attr_key[1] && off + FAKE_BASE != im.attr_key[1])
			memcpy(im.f.mem + off, &moved, 8);
	}
	fk_put(&im.f, im.attr_key[1] + (uint64_t)im.l->unicode_ascii_size, "_nope", 5);
	/* and the thread has a new name, so a stale read would show */
	fk_put(&im.f, im.name[1] + (uint64_t)im.l->unicode_ascii_size, "Wirker", 6);
	assert_int_equal(thread_names__refresh(tn), 0);
	for (int i = 0; i < SYNTH_THREADS; i++)
		expect_name(tn, SYNTH_PID + i, 0, i == 1 ? "Wirker-1" : synth_thread[i].name);
	thread_names__free(tn);
	free_image(&im);
}

/* A sys.modules too large for one refresh: the scan goes on where it
 * stopped. */
static void test_many_modules(void **state)
{
	enum { N = 6000 };
	struct image im;
	struct thread_names *tn;
	struct kv *kv = calloc(N + 1, sizeof(*kv));
	uint64_t module, mods;
	char name[32];

	assert_non_null(kv);
	build_image(&im, 12);
	module = im.module;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "module_%d", i);
		kv[i] = (struct kv){mk_str(&im, name), im.object_type, (uint64_t)i};
	}
	kv[N] = (struct kv){mk_str(&im, "threading"), module, N};
	mods = mk_combined(&im, kv, N + 1, true);
	fk_u64(&im.f, im.interp + (uint64_t)im.l->interp_modules, mods);

	tn = image_names(&im);
	im.f.reads = 0;
	assert_int_equal(thread_names__refresh(tn), 0);
	expect_name(tn, SYNTH_PID + 1, 0, NULL);
	print_message("first refresh over %d modules: %lu reads\n", N + 1, im.f.reads);
	assert_true(im.f.reads < 4200);
	assert_int_equal(thread_names__refresh(tn), 0);
	for (int i = 0; i < SYNTH_THREADS; i++)
		expect_name(tn, SYNTH_PID + i, 0, synth_thread[i].name);
	/* and then the module is remembered */
	im.f.reads = 0;
	assert_int_equal(thread_names__refresh(tn), 0);
	assert_true(im.f.reads <= 24 + 6 * SYNTH_THREADS);
	thread_names__free(tn);
	free_image(&im);
	free(kv);
}

/* Threads come and go far more often than the table holds: the oldest
 * exited ones are forgotten, the living never; a tid the kernel hands out
 * again names its new thread. */
static void test_threads_come_and_go(void **state)
{
	struct image im;
	struct thread_names *tn;
	int rounds = THREAD_NAMES_MAX / 3 + 10, round, i;
	pid_t first = 2001, last = 0, prev2 = 0;

	build_image(&im, 12);
	tn = image_names(&im);
	for (round = 0; round < rounds; round++) {
		for (i = 1; i < SYNTH_THREADS; i++) {
			pid_t tid = 2000 + round * 3 + i;

			fk_u32(&im.f, im.native[i] + (uint64_t)im.l->long_digits, (uint32_t)tid);
			last = tid;
		}
		assert_int_equal(thread_names__refresh(tn), 0);
		expect_name(tn, last, 0, synth_thread[SYNTH_THREADS - 1].name);
	}
	assert_int_equal(thread_names__count(tn), THREAD_NAMES_MAX);
	expect_name(tn, first, 0, NULL);
	expect_name(tn, SYNTH_PID, 0, "MainThread");
	expect_name(tn, last - 4, 0, synth_thread[2].name); /* exited, kept */

	/* thread 1 gets the tid an exited thread 2 had */
	prev2 = last - 3;
	fk_u32(&im.f, im.native[1] + (uint64_t)im.l->long_digits, (uint32_t)prev2);
	assert_int_equal(thread_names__refresh(tn), 0);
	expect_name(tn, prev2, 0, synth_thread[1].name);
	thread_names__free(tn);
	free_image(&im);
}

/* A Thread whose attributes are a thousand keys none of which is _name,
 * two hundred times over: the refresh stops at its budget of reads. */
static void test_read_budget(void **state)
{
	enum { ATTRS = 1024, THREADS = 200 };
	struct kv *kv = calloc(ATTRS, sizeof(*kv));
	struct image im;
	struct thread_names *tn;
	uint64_t nope, obj, active_keys;

	assert_non_null(kv);
	build_image(&im, 10);
	nope = mk_str(&im, "_nope");
	for (int i = 0; i < ATTRS; i++)
		kv[i] = (struct kv){nope, im.object_type, (uint64_t)i};
	obj = mk_obj(&im, 32, im.thread_type);
	fk_u64(&im.f, obj + 16, mk_combined(&im, kv, ATTRS, true));
	for (int i = 0; i < THREADS; i++)
		kv[i] = (struct kv){mk_int(&im, 0x1000 + i), obj, 0x1000 + (uint64_t)i};
	active_keys = mk_keys(&im, kv, THREADS, KIND_GENERAL);
	fk_u64(&im.f, im.active + (uint64_t)im.l->dict_keys, active_keys);

	tn = image_names(&im);
	im.f.reads = 0;
	assert_int_equal(thread_names__refresh(tn), 0);
	print_message("refresh stopped after %lu reads\n", im.f.reads);
	assert_true(im.f.reads >= MAX_REFRESH_READS);
	assert_true(im.f.reads <= MAX_REFRESH_READS + 1);
	assert_int_equal(thread_names__count(tn), 0);
	thread_names__free(tn);
	free_image(&im);
	free(kv);
}

/* A subinterpreter with a threading module of its own, listed before the
 * main one: its threads are named too, and the main interpreter's names
 * win for a thread both know. */
static void test_two_interpreters(void **state)
{
	struct image im;
	struct thread_names *tn;
	struct kv kv[4];
	uint64_t values[SYNTH_ATTRS], sub_main, worker, active, tdict, module, mods, interp;

	build_image(&im, 13);
	values[0] = values[2] = im.object_type;
	values[1] = mk_str(&im, "SubMain");
	values[3] = mk_int(&im, (int64_t)synth_thread[0].ident);
	values[4] = mk_int(&im, SYNTH_PID);
	sub_main = mk_thread(&im, 0, values, SYNTH_ATTRS);
	values[1] = mk_str(&im, "SubWorker");
	values[3] = mk_int(&im, 0x7f0000900700ll);
	values[4] = mk_int(&im, SYNTH_PID + 10);
	worker = mk_thread(&im, 0, values, SYNTH_ATTRS);
	kv[0] = (struct kv){mk_int(&im, (int64_t)synth_thread[0].ident), sub_main,
			    synth_thread[0].ident};
	kv[1] = (struct kv){mk_int(&im, 0x7f0000900700ll), worker, 0x7f0000900700ull};
	active = mk_combined(&im, kv, 2, false);
	kv[0] = (struct kv){mk_str(&im, "_main_thread"), sub_main, 1};
	kv[1] = (struct kv){mk_str(&im, "_active"), active, 2};
	tdict = mk_combined(&im, kv, 2, true);
	module = mk_obj(&im, 64, im.module_type);
	fk_u64(&im.f, module + (uint64_t)im.l->module_dict, tdict);
	kv[0] = (struct kv){mk_str(&im, "threading"), module, 3};
	mods = mk_combined(&im, kv, 1, true);
	interp = fk_alloc(&im.f, (size_t)im.l->interp_modules + 8);
	fk_u64(&im.f, interp + (uint64_t)im.l->interp_modules, mods);
	fk_u64(&im.f, interp + (uint64_t)im.l->bpf.interp_next, im.interp);
	fk_u64(&im.f, im.head_cell, interp);

	tn = image_names(&im);
	assert_int_equal(thread_names__refresh(tn), 0);
	for (int i = 0; i < SYNTH_THREADS; i++)
		expect_name(tn, SYNTH_PID + i, 0, synth_thread[i].name);
	expect_name(tn, SYNTH_PID + 10, 0, "SubWorker");
	assert_int_equal(thread_names__count(tn), SYNTH_THREADS + 1);
	thread_names__free(tn);
	free_image(&im);
}

/* ---- a process in a pid namespace of its own ----------------------------- */

static pid_t first_child(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	int child = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%d", &child) != 1)
		child = 0;
	fclose(f);
	return child;
}

/* pid in the namespace the process lives in, from NSpid */
static pid_t inner_pid(pid_t pid, pid_t tid)
{
	char path[96], line[256];
	pid_t inner = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (long v; (v = strtol(p, &end, 10)), end != p; p = end)
			inner = (pid_t)v;
	}
	fclose(f);
	return inner;
}

/* Python's native ids count in its own namespace; samples use ours. */
static void test_live_pid_namespace(void **state)
{
	struct live_python *lp = *state;
	char python[4200], line[1024] = "", why[512] = "";
	char *argv[] = {"/usr/bin/unshare",   "--pid", "--fork", "--kill-child", python, "-c",
			(char *)child_script, NULL};
	struct live_target *lt = calloc(1, sizeof(*lt));
	struct thread_names *tn;
	pid_t child = 0, tasks[64];
	size_t n, i;

	assert_non_null(lt);
	if (!live_python_pyenv(3, 12, python, sizeof(python)) &&
	    !live_python_pyenv(3, 11, python, sizeof(python))) {
		print_message("skipping: no pyenv Python 3.12 or 3.11\n");
		free(lt);
		skip();
	}
	if (live_python_start(lp, argv)) {
		print_message("skipping: cannot run /usr/bin/unshare\n");
		free(lt);
		skip();
	}
	while (live_python_line(lp, line, sizeof(line)) && strcmp(line, "READY")) {
		unsigned long long ident;
		int tid, pos;

		assert_int_equal(sscanf(line, "T %d %llu %n", &tid, &ident, &pos), 2);
		assert_true(lt->n < MAX_LIVE_THREADS);
		lt->t[lt->n].tid = tid; /* as the namespace numbers it */
		snprintf(lt->t[lt->n].name, sizeof(lt->t[lt->n].name), "%s", line + pos);
		lt->n++;
	}
	if (strcmp(line, "READY")) {
		print_message("skipping: unshare --pid failed (no CAP_SYS_ADMIN?)\n");
		free(lt);
		skip();
	}
	for (int tries = 0; tries < 100 && !(child = first_child(lp->pid)); tries++)
		usleep(10000);
	assert_true(child > 0);
	assert_int_equal(python_process__inspect(child, &lt->pp, why, sizeof(why)), 0);
	tn = thread_names__new(&lt->pp);
	assert_non_null(tn);
	assert_int_equal(thread_names__refresh(tn), 0);
	n = list_tasks(child, tasks, 64);
	assert_int_equal(n, lt->n);
	for (i = 0; i < n; i++) {
		struct live_thread *t = by_tid(lt, inner_pid(child, tasks[i]));

		assert_non_null(t);
		assert_int_not_equal(t->tid, tasks[i]); /* it is another namespace */
		expect_name(tn, tasks[i], 0, t->name);
	}
	thread_names__free(tn);
	free(lt);
}

LIVE_PYTHON_TESTS(test_live, check_live)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LIVE_PYTHON_TEST_LIST(test_live, live_python_setup, live_python_teardown),
		SYNTH_TEST_LIST(synthetic),
		SYNTH_TEST_LIST(mutations),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_interp_cycle),
		cmocka_unit_test(test_layouts_ok),
		cmocka_unit_test(test_longs),
		cmocka_unit_test(test_strs),
		cmocka_unit_test(test_items_find),
		cmocka_unit_test(test_key_moved),
		cmocka_unit_test(test_many_modules),
		cmocka_unit_test(test_threads_come_and_go),
		cmocka_unit_test(test_read_budget),
		cmocka_unit_test(test_two_interpreters),
		cmocka_unit_test_setup_teardown(test_live_pid_namespace, live_python_setup,
						live_python_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
