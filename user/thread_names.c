// SPDX-License-Identifier: MIT
/*
 * Python thread names from a live process: interpreter -> sys.modules ->
 * threading -> _active / _main_thread -> each Thread's _name and
 * _native_id, read with python_object.c over a memory reader, and a table
 * of what was seen, by tid.
 *
 * Cheapness: the addresses of the key strs found once ("_active", "_name",
 * ...: interned, shared by every dict that has them) are compared before
 * any key is read again; the threading module's dict is remembered; the
 * attribute indices in a class's shared keys are found once per refresh;
 * sys.modules is scanned for "threading" only from where the last scan
 * stopped.
 */
#include "thread_names.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote_memory.h"

/* tids never exceed PID_MAX_LIMIT (4M on 64-bit kernels) */
#define TID_MAX (1 << 22)
/* types of Thread objects remembered during one refresh */
#define MAX_TYPES 16
/* sys.modules keys compared with "threading" in one refresh, and how
 * often a fruitless scan starts over (a key unreadable once is retried) */
#define MODULES_SCAN_MAX 4096
#define MODULES_RESCAN_EVERY 64
/* slots of the direct-mapped tid -> entry cache */
#define TID_CACHE 256
/* Entries read from threading's dict and from a Thread's attributes: a
 * Thread has about twenty. */
#define MODULE_MAX_ENTRIES 4096
#define THREAD_MAX_ATTRS 1024
/* Reads one refresh may make: a first refresh of a large program needs a
 * few thousand, a steady one about six per thread. Hostile memory that
 * would make more ends the refresh instead (-E2BIG). */
#define REFRESH_MAX_READS (1 << 16)

/* The str keys looked for; pairs looked for together are adjacent. */
enum key {
	K_THREADING,   /* in sys.modules */
	K_ACTIVE,      /* in threading's dict: _active, then */
	K_MAIN_THREAD, /* _main_thread */
	K_NAME,	       /* in a Thread's attributes: _name, then */
	K_NATIVE_ID,   /* _native_id (3.8+) */
	K__COUNT,
};

static const char *const key_name[K__COUNT] = {
	[K_THREADING] = "threading", [K_ACTIVE] = "_active",	   [K_MAIN_THREAD] = "_main_thread",
	[K_NAME] = "_name",	     [K_NATIVE_ID] = "_native_id",
};

/* One thread seen, alive or exited. */
struct entry {
	uint64_t thread; /* the threading.Thread object */
	uint64_t ident;	 /* get_ident(): its key in _active, 0 unknown */
	uint64_t tstate; /* the PyThreadState a lookup bound `tid` with, 0 */
	uint64_t seen;	 /* the refresh that last found it in _active */
	pid_t tid;	 /* as the caller numbers threads, 0 unknown */
	pid_t native;	 /* _native_id, as the target numbers them, 0 */
	char name[THREAD_NAME_MAX + 1];
};

/* What is remembered of one interpreter. */
struct interp_state {
	uint64_t addr;
	uint64_t modules_keys;	 /* the sys.modules keys object scanned */
	uint64_t modules_next;	 /* its entries before this held no "threading" */
	uint64_t modules_scans;	 /* fruitless scans since the last from 0 */
	uint64_t threading_dict; /* the threading module's __dict__, 0 */
};

/* Where _name and _native_id are in one class's shared keys. */
struct split_memo {
	uint64_t pass; /* valid during this refresh only */
	uint64_t keys, nentries;
	uint64_t index[2];
};

struct thread_names {
	struct py_reader target; /* reads the target */
	struct py_reader reader; /* the same, within the refresh's budget */
	unsigned long budget;	 /* reads left in this refresh */
	struct py_layout layout;
	uint64_t interp_head_addr;
	pid_t pid;
	bool foreign_pidns; /* native ids need translating */
	uint64_t gen;	    /* refreshes so far */
	uint64_t dict_type; /* &PyDict_Type, as sys.modules says */
	struct py_key key[K__COUNT];
	struct interp_state interp[PYEBPF_MAX_INTERPRETERS];

	struct entry *entry;
	size_t n, cap;
	uint32_t tid_cache[TID_CACHE]; /* entry index + 1, 0 empty */

	/* scratch, reused */
	struct py_items active, items;
	struct py_type type[MAX_TYPES];
	size_t n_types;
	struct split_memo memo;
	/* native tid -> tid when in another pid namespace */
	struct tid_pair {
		pid_t native, tid;
	} * nsmap;
	size_t n_nsmap;
};

/* ---- the table ------------------------------------------------------------ */

static bool alive(const struct thread_names *tn, const struct entry *e)
{
	return e->seen == tn->gen;
}

static struct entry *find_by_tid(struct thread_names *tn, pid_t tid)
{
	uint32_t *slot = &tn->tid_cache[(uint32_t)tid % TID_CACHE];
	size_t i;

	if (*slot && *slot <= tn->n && tn->entry[*slot - 1].tid == tid)
		return &tn->entry[*slot - 1];
	for (i = 0; i < tn->n; i++) {
		if (tn->entry[i].tid == tid) {
			*slot = (uint32_t)i + 1;
			return &tn->entry[i];
		}
	}
	return NULL;
}

static struct entry *find_alive_ident(struct thread_names *tn, uint64_t ident)
{
	size_t i;

	for (i = 0; ident && i < tn->n; i++) {
		if (tn->entry[i].ident == ident && alive(tn, &tn->entry[i]))
			return &tn->entry[i];
	}
	return NULL;
}

/* Give `tid` to `e` alone: another entry holding it names a thread that
 * has exited, whose tid the kernel handed out again. */
static void set_tid(struct thread_names *tn, struct entry *e, pid_t tid)
{
	size_t i;

	for (i = 0; i < tn->n; i++) {
		if (tn->entry[i].tid == tid && &tn->entry[i] != e) {
			tn->entry[i].tid = 0;
			tn->entry[i].tstate = 0;
		}
	}
	e->tid = tid;
	tn->tid_cache[(uint32_t)tid % TID_CACHE] = (uint32_t)(e - tn->entry) + 1;
}

/* A free entry: a new one, or the one of the thread that exited longest
 * ago. NULL when every kept thread is alive or memory is short. */
static struct entry *new_entry(struct thread_names *tn)
{
	struct entry *e = NULL;
	size_t i;

	if (tn->n == tn->cap && tn->cap < THREAD_NAMES_MAX) {
		size_t cap = tn->cap ? tn->cap * 2 : 16;
		struct entry *p;

		if (cap > THREAD_NAMES_MAX)
			cap = THREAD_NAMES_MAX;
		p = realloc(tn->entry, cap * sizeof(*p));
		if (p) {
			tn->entry = p;
			tn->cap = cap;
		}
	}
	if (tn->n < tn->cap) {
		e = &tn->entry[tn->n++];
	} else {
		for (i = 0; i < tn->n; i++) {
			struct entry *c = &tn->entry[i];

			if (!alive(tn, c) && (!e || c->seen < e->seen))
				e = c;
		}
	}
	if (e)
		memset(e, 0, sizeof(*e));
	return e;
}

static pid_t translate_native(const struct thread_names *tn, pid_t native)
{
	size_t i;

	if (!tn->foreign_pidns)
		return native;
	for (i = 0; i < tn->n_nsmap; i++) {
		if (tn->nsmap[i].native == native)
			return tn->nsmap[i].tid;
	}
	return 0;
}

/* Note thread `obj` (key `ident` in _active, 0 if unknown) named `name`. */
static void remember(struct thread_names *tn, uint64_t obj, uint64_t ident, pid_t native,
		     bool is_main, const char *name)
{
	struct entry *e = NULL;
	pid_t tid = native ? translate_native(tn, native) : 0;
	size_t i;

	if (!tid && is_main)
		tid = tn->pid; /* the main thread's tid is the pid, also after fork */
	/* named already in this refresh, by an interpreter that came first */
	if (ident && find_alive_ident(tn, ident))
		return;
	for (i = 0; i < tn->n && !e; i++) {
		struct entry *c = &tn->entry[i];

		if (c->thread == obj && c->ident == ident &&
		    (!native || !c->native || c->native == native))
			e = c;
	}
	if (!e && tid)
		e = find_by_tid(tn, tid);
	if (e && (e->thread != obj || e->ident != ident))
		e->tstate = 0; /* another thread now: bound anew */
	if (!e)
		e = new_entry(tn);
	if (!e)
		return;
	e->thread = obj;
	e->ident = ident;
	e->native = native;
	e->seen = tn->gen;
	if (tid && e->tid != tid)
		set_tid(tn, e, tid);
	snprintf(e->name, sizeof(e->name), "%s", name);
}

/* ---- reading the target ------------------------------------------------ */

static int read_budget(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct thread_names *tn = ctx;

	if (!tn->budget)
		return -E2BIG;
	tn->budget--;
	return tn->target.read(tn->target.ctx, addr, buf, len);
}

static int read_u64(const struct py_reader *r, uint64_t addr, uint64_t *v)
{
	if (!addr)
		return -EFAULT;
	return r->read(r->ctx, addr, v, sizeof(*v));
}

/* The type of `obj`, read once per refresh. */
static const struct py_type *type_of(struct thread_names *tn, uint64_t obj)
{
	const struct py_layout *l = &tn->layout;
	uint64_t addr;
	size_t i;

	if (py_object_type(&tn->reader, l, obj, &addr))
		return NULL;
	for (i = 0; i < tn->n_types; i++) {
		if (tn->type[i].addr == addr)
			return &tn->type[i];
	}
	i = tn->n_types < MAX_TYPES ? tn->n_types++ : MAX_TYPES - 1;
	if (py_type_read(&tn->reader, l, addr, &tn->type[i])) {
		tn->type[i].addr = 0;
		return NULL;
	}
	return &tn->type[i];
}

/* Read Thread `obj`'s _name and _native_id; remember them. */
static void read_thread(struct thread_names *tn, uint64_t obj, uint64_t ident, bool is_main)
{
	const struct py_layout *l = &tn->layout;
	const struct py_reader *r = &tn->reader;
	/* 3.6 and 3.7 have no _native_id: do not read every key for it */
	size_t nkeys = l->major == 3 && l->minor < 8 ? 1 : 2;
	struct split_memo *memo = &tn->memo;
	char name[THREAD_NAME_MAX + 1];
	const struct py_type *type;
	uint64_t value[2] = {0, 0}, index[2];
	bool missing = true;
	int64_t native = 0;
	struct py_table t;
	size_t k;

	type = type_of(tn, obj);
	if (!type || py_object_table(r, l, obj, type, tn->dict_type, &t))
		return;
	if (t.values && memo->pass == tn->gen && memo->keys == t.keys) {
		/* another instance of the same class: its values only */
		if (py_split_values(r, l, t.values, memo->nentries, memo->index, nkeys, value))
			return;
		missing = false;
		for (k = 0; k < nkeys; k++) {
			if (!value[k])
				missing = true;
		}
	}
	/* the whole table, also when the memo's first object lacked a key */
	if (missing) {
		if (py_table_items(r, l, &t, 0, THREAD_MAX_ATTRS, &tn->items))
			return;
		/* remember where the keys are in the class's shared keys, from
		 * an instance that has them all */
		if (py_items_find(r, l, &tn->items, &tn->key[K_NAME], nkeys, tn->gen, value,
				  index) == nkeys &&
		    t.values) {
			memo->pass = tn->gen;
			memo->keys = t.keys;
			memo->nentries = tn->items.next;
			for (k = 0; k < nkeys; k++)
				memo->index[k] = index[k];
		}
	}
	if (!value[0] || py_str_utf8(r, l, value[0], tn->key[K_NAME].type, name, sizeof(name)))
		return;
	if (nkeys > 1 && value[1] &&
	    (py_long_value(r, l, value[1], &native) || native <= 0 || native > TID_MAX))
		native = 0; /* None before the thread starts, or garbage */
	remember(tn, obj, ident, (pid_t)native, is_main, name);
}

/*
 * The threading module's __dict__ in interpreter `st`, or 0 when it has not
 * been imported (or cannot be read).
 */
static uint64_t find_threading(struct thread_names *tn, struct interp_state *st)
{
	const struct py_layout *l = &tn->layout;
	const struct py_reader *r = &tn->reader;
	uint64_t modules, module = 0, dict;
	struct py_table t;

	if (st->threading_dict)
		return st->threading_dict;
	if (read_u64(&tn->reader, st->addr + (uint64_t)l->interp_modules, &modules) || !modules)
		return 0;
	/* sys.modules is a dict: its type is the dict type */
	if (py_object_type(r, l, modules, &tn->dict_type) ||
	    py_dict_table(r, l, modules, tn->dict_type, &t))
		return 0;
	if (t.keys != st->modules_keys || ++st->modules_scans > MODULES_RESCAN_EVERY) {
		st->modules_keys = t.keys;
		st->modules_next = 0;
		st->modules_scans = 0;
	}
	if (py_table_items(r, l, &t, st->modules_next, MODULES_SCAN_MAX, &tn->items))
		return 0;
	if (!py_items_find(r, l, &tn->items, &tn->key[K_THREADING], 1, tn->gen, &module, NULL)) {
		st->modules_next = tn->items.next;
		return 0;
	}
	if (read_u64(&tn->reader, module + (uint64_t)l->module_dict, &dict) ||
	    py_dict_table(r, l, dict, tn->dict_type, &t))
		return 0;
	st->threading_dict = dict;
	return dict;
}

/* Read the threads of interpreter `st`; `main`: the main interpreter. */
static void refresh_interp(struct thread_names *tn, struct interp_state *st, bool main)
{
	const struct py_layout *l = &tn->layout;
	const struct py_reader *r = &tn->reader;
	uint64_t dict = find_threading(tn, st), value[2];
	uint64_t main_thread;
	bool main_seen = false;
	struct py_table t;
	size_t i;

	if (!dict)
		return;
	value[0] = 0;
	if (!py_dict_table(r, l, dict, tn->dict_type, &t) &&
	    !py_table_items(r, l, &t, 0, MODULE_MAX_ENTRIES, &tn->items))
		py_items_find(r, l, &tn->items, &tn->key[K_ACTIVE], 2, tn->gen, value, NULL);
	if (!value[0]) {
		/* not (or no longer) the threading module: find it again */
		st->threading_dict = 0;
		tn->dict_type = 0;
		return;
	}
	main_thread = main ? value[1] : 0;
	if (py_dict_table(r, l, value[0], tn->dict_type, &t) ||
	    py_table_items(r, l, &t, 0, THREAD_NAMES_MAX_ACTIVE, &tn->active))
		return;
	for (i = 0; i < tn->active.n; i++) {
		const struct py_item *it = &tn->active.item[i];
		int64_t ident = 0;

		/* keys are get_ident() ints; an int below 2^61 - 1 is its own
		 * hash, so the hash stored with the entry saves a read */
		if (it->has_hash && it->hash < (1ull << 61) - 1)
			ident = (int64_t)it->hash;
		else if (py_long_value(r, l, it->key, &ident) || ident <= 0)
			continue;
		main_seen |= it->value == main_thread;
		read_thread(tn, it->value, (uint64_t)ident, it->value == main_thread);
	}
	/* after _shutdown() the main thread may have left _active */
	if (main_thread && !main_seen)
		read_thread(tn, main_thread, 0, true);
}

/* The state kept for interpreter `addr`, reset when `addr` is new; the
 * interpreters listed in addrs[0..n) keep theirs. */
static struct interp_state *interp_state(struct thread_names *tn, uint64_t addr,
					 const uint64_t *addrs, size_t n)
{
	struct interp_state *st;
	size_t i, j;

	for (i = 0; i < PYEBPF_MAX_INTERPRETERS; i++) {
		if (tn->interp[i].addr == addr)
			return &tn->interp[i];
	}
	for (i = 0; i < PYEBPF_MAX_INTERPRETERS; i++) {
		st = &tn->interp[i];
		for (j = 0; j < n && addrs[j] != st->addr; j++)
			;
		if (j == n)
			break;
	}
	st = &tn->interp[i < PYEBPF_MAX_INTERPRETERS ? i : 0];
	memset(st, 0, sizeof(*st));
	st->addr = addr;
	return st;
}

/* ---- pid namespaces (the live-process edge) ------------------------------ */

/* The NSpid line of a /proc status file: first and last pid. The number of
 * pids, 0 when there is none. */
static int read_nspid(const char *path, pid_t *first, pid_t *last)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			if (!n++)
				*first = (pid_t)v;
			*last = (pid_t)v;
			p = end;
		}
		break;
	}
	fclose(f);
	return n;
}

/* The map from the target's tids to ours, from /proc/PID/task. */
static void read_nsmap(struct thread_names *tn)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	tn->n_nsmap = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)tn->pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) && tn->n_nsmap < THREAD_NAMES_MAX_ACTIVE) {
		struct tid_pair p;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", (int)tn->pid, d->d_name);
		if (read_nspid(path, &p.tid, &p.native) > 1)
			tn->nsmap[tn->n_nsmap++] = p;
	}
	closedir(dir);
}

static int read_process(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct thread_names *tn = ctx;

	return remote_read(tn->pid, addr, buf, len);
}

/* ---- the object ------------------------------------------------------------ */

struct thread_names *thread_names__new_reader(const struct py_layout *layout,
					      uint64_t interp_head_addr, pid_t pid,
					      const struct py_reader *reader)
{
	struct thread_names *tn;
	int k;

	if (!layout || !reader || !reader->read) {
		errno = EINVAL;
		return NULL;
	}
	if (!py_object_layout_ok(layout) || layout->bpf.interp_next < 0) {
		errno = ENOTSUP;
		return NULL;
	}
	tn = calloc(1, sizeof(*tn));
	if (!tn)
		return NULL;
	tn->target = *reader;
	tn->reader.read = read_budget;
	tn->reader.ctx = tn;
	tn->layout = *layout;
	tn->interp_head_addr = interp_head_addr;
	tn->pid = pid;
	for (k = 0; k < K__COUNT; k++)
		tn->key[k].name = key_name[k];
	return tn;
}

struct thread_names *thread_names__new(const struct python_process *pp)
{
	struct py_reader reader = {.read = read_process};
	struct thread_names *tn;
	pid_t first = 0, last = 0;
	char path[64];

	if (!pp) {
		errno = EINVAL;
		return NULL;
	}
	tn = thread_names__new_reader(&pp->layout, pp->interp_head_addr, pp->pid, &reader);
	if (!tn)
		return NULL;
	tn->target.ctx = tn;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pp->pid);
	if (read_nspid(path, &first, &last) > 1) {
		tn->foreign_pidns = true;
		tn->nsmap = calloc(THREAD_NAMES_MAX_ACTIVE, sizeof(*tn->nsmap));
		if (!tn->nsmap) {
			thread_names__free(tn);
			errno = ENOMEM;
			return NULL;
		}
	}
	return tn;
}

void thread_names__free(struct thread_names *tn)
{
	if (!tn)
		return;
	py_items__release(&tn->active);
	py_items__release(&tn->items);
	free(tn->entry);
	free(tn->nsmap);
	free(tn);
}

int thread_names__refresh(struct thread_names *tn)
{
	const struct py_layout *l;
	uint64_t addrs[PYEBPF_MAX_INTERPRETERS], addr;
	size_t n = 0, i, j;
	int err;

	if (!tn)
		return -EINVAL;
	l = &tn->layout;
	tn->gen++;
	tn->n_types = 0;
	tn->budget = REFRESH_MAX_READS;
	err = read_u64(&tn->reader, tn->interp_head_addr, &addr);
	if (err)
		return err;
	while (addr && n < PYEBPF_MAX_INTERPRETERS) {
		for (j = 0; j < n && addrs[j] != addr; j++)
			;
		if (j < n)
			break; /* a cycle: torn or garbage */
		addrs[n++] = addr;
		if (read_u64(&tn->reader, addr + (uint64_t)l->bpf.interp_next, &addr))
			break;
	}
	if (tn->foreign_pidns)
		read_nsmap(tn);
	/* the main interpreter, created first, is last in the list; it goes
	 * first so that its names win */
	for (i = n; i-- > 0;)
		refresh_interp(tn, interp_state(tn, addrs[i], addrs, n), i == n - 1);
	return 0;
}

const char *thread_names__lookup(struct thread_names *tn, pid_t tid, uint64_t tstate)
{
	struct entry *e, *f;
	uint64_t ident;
	int off;

	if (!tn || tid <= 0)
		return NULL;
	e = find_by_tid(tn, tid);
	if (e && (!tstate || !e->tstate || e->tstate == tstate))
		return e->name;
	/* the thread state the kernel found for `tid` holds its get_ident() */
	off = tn->layout.bpf.tstate_thread_id;
	if (tstate && off >= 0 && !read_u64(&tn->target, tstate + (uint64_t)off, &ident) &&
	    (f = find_alive_ident(tn, ident))) {
		if (f != e)
			set_tid(tn, f, tid);
		f->tstate = tstate;
		return f->name;
	}
	return e ? e->name : NULL;
}

size_t thread_names__count(const struct thread_names *tn)
{
	return tn ? tn->n : 0;
}

int thread_names__get(const struct thread_names *tn, size_t i, struct thread_name_info *info)
{
	const struct entry *e;

	if (!tn || i >= tn->n)
		return -ENOENT;
	e = &tn->entry[i];
	info->tid = e->tid;
	info->ident = e->ident;
	info->alive = alive(tn, e);
	info->name = e->name;
	return 0;
}
