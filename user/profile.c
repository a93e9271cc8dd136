// SPDX-License-Identifier: MIT
/*
 * Profile aggregation: interned frames and weighted stacks.
 *
 * Three open-addressing hash tables (linear probing, load <= 1/2) map keys to
 * dense ids: function identities, frames, and stacks. A table slot holds
 * id + 1 (0 is empty); the entries live in arrays indexed by id, and each
 * remembers its hash so growing a table never rehashes a key. Stack frame
 * ids are packed one after another in a single uint32_t pool.
 *
 * Every mutator allocates all it needs before changing anything, so an
 * error (ENOMEM) leaves the profile as it was.
 *
 * With limits set (profile__set_limits()), what would be a new frame or a
 * new stack past a bound becomes the "[profile full]" frame, or that
 * frame's one-frame stack of the same thread; those do not count against
 * the bounds, so folding into them always succeeds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

struct fn_node {
	uint64_t hash;
	enum profile_frame_kind kind;
	const char *function; /* into data */
	const char *file;     /* into data, or NULL */
	char data[];
};

struct frame_node {
	struct profile_frame pub;
	uint64_t hash;
	char label[];
};

struct stack {
	uint64_t hash;
	uint64_t weight;
	uint64_t count;
	size_t off; /* first frame id in profile->ids */
	uint32_t n;
	uint32_t thread;
};

struct thread_node {
	struct profile_thread pub;
	uint64_t hash;
	char *name;  /* pub.name */
	char *label; /* pub.label: PROFILE_THREAD_LABEL_MAX bytes, on the heap
			so it stays put when the thread array grows */
};

struct process_node {
	struct profile_process pub;
	char *command; /* pub.command */
	char *label;   /* pub.label */
};

struct idtab {
	uint32_t *slot; /* id + 1, or 0 for an empty slot */
	size_t cap;	/* 0 or a power of two */
};

struct profile {
	struct fn_node **fns;
	size_t nfns, fns_cap;
	struct idtab fn_tab;

	struct frame_node **frames;
	size_t nframes, frames_cap;
	struct idtab frame_tab;

	struct process_node *processes;
	size_t nprocesses, processes_cap;

	struct thread_node *threads;
	size_t nthreads, threads_cap;
	struct idtab thread_tab;
	struct stack *stacks;
	size_t nstacks, stacks_cap;
	struct idtab stack_tab;

	uint32_t *ids; /* frame ids of every stack, packed */
	size_t nids, ids_cap;

	uint64_t total;

	size_t max_stacks, max_frames; /* 0: no bound */
	bool has_full_frame;
	uint32_t full_frame; /* the "[profile full]" frame, once interned */
	size_t nfull_stacks; /* [full_frame] stacks, outside max_stacks */
	uint64_t overflowed; /* profile__add() calls folded into them */
};

/* ---- hashing ---------------------------------------------------------- */

/* MurmurHash3's finalizer: a bijection that spreads every input bit into
 * the low bits the tables index with. */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* FNV-1a over s including its terminator, so ("ab", "c") and ("a", "bc")
 * hash differently. */
static uint64_t fnv_str(uint64_t h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	} while (*s++);
	return h;
}

static uint64_t fn_hash(enum profile_frame_kind kind, const char *function, const char *file)
{
	uint64_t h = fnv_str(0xcbf29ce484222325ULL ^ kind, function);

	if (file)
		h = fnv_str(h, file);
	return mix64(h);
}

static uint64_t frame_hash(uint32_t function_id, int line)
{
	return mix64((uint64_t)function_id << 32 | (uint32_t)line);
}

static uint64_t thread_hash(uint32_t process, pid_t pid, pid_t tid)
{
	return mix64(((uint64_t)(uint32_t)pid << 32 | (uint32_t)tid) ^
		     mix64((uint64_t)process + 1));
}

static uint64_t stack_hash(uint32_t thread, const uint32_t *frames, size_t n)
{
	uint64_t h = n ^ (uint64_t)thread << 32;

	for (size_t i = 0; i < n; i++) {
		h ^= frames[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	return mix64(h);
}

/* ---- growable arrays and id tables ------------------------------------ */

/* Makes room for `need` elements of `size` bytes in *arr. On failure
 * returns -ENOMEM and leaves *arr and *cap alone. */
static int reserve(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *narr;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	narr = realloc(*arr, ncap * size);
	if (!narr)
		return -ENOMEM;
	*arr = narr;
	*cap = ncap;
	return 0;
}

typedef bool (*id_eq_fn)(const struct profile *p, uint32_t id, const void *key);
typedef uint64_t (*id_hash_fn)(const struct profile *p, uint32_t id);

/* The slot holding the entry equal to key, or the empty slot where it would
 * go; NULL if the table has no slots yet. */
static uint32_t *idtab_find(const struct idtab *t, uint64_t hash, id_eq_fn eq,
			    const struct profile *p, const void *key)
{
	size_t mask = t->cap - 1;

	if (!t->cap)
		return NULL;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint32_t *slot = &t->slot[i];

		if (!*slot || eq(p, *slot - 1, key))
			return slot;
	}
}

/* Makes the table, which holds `count` entries, big enough for one more at
 * load <= 1/2. On failure returns -ENOMEM with the table unchanged. */
static int idtab_reserve(struct idtab *t, size_t count, id_hash_fn hash_of, const struct profile *p)
{
	size_t ncap = t->cap ? t->cap : 64;
	uint32_t *nslot;

	if ((count + 1) <= t->cap / 2)
		return 0;
	while ((count + 1) > ncap / 2) {
		if (ncap > SIZE_MAX / 2 / sizeof(*nslot))
			return -ENOMEM;
		ncap *= 2;
	}
	nslot = calloc(ncap, sizeof(*nslot));
	if (!nslot)
		return -ENOMEM;
	for (size_t id = 0; id < count; id++) {
		size_t i = hash_of(p, id) & (ncap - 1);

		while (nslot[i])
			i = (i + 1) & (ncap - 1);
		nslot[i] = id + 1;
	}
	free(t->slot);
	t->slot = nslot;
	t->cap = ncap;
	return 0;
}

/* ---- keys ------------------------------------------------------------- */

struct fn_key {
	enum profile_frame_kind kind;
	const char *function;
	const char *file;
};

static bool fn_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct fn_node *fn = p->fns[id];
	const struct fn_key *k = key;

	if (fn->kind != k->kind || strcmp(fn->function, k->function))
		return false;
	if (!fn->file || !k->file)
		return fn->file == k->file;
	return !strcmp(fn->file, k->file);
}

static uint64_t fn_hash_of(const struct profile *p, uint32_t id)
{
	return p->fns[id]->hash;
}

struct frame_key {
	uint32_t function_id;
	int line;
};

static bool frame_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct profile_frame *f = &p->frames[id]->pub;
	const struct frame_key *k = key;

	return f->function_id == k->function_id && f->line == k->line;
}

static uint64_t frame_hash_of(const struct profile *p, uint32_t id)
{
	return p->frames[id]->hash;
}

struct thread_key {
	uint32_t process;
	pid_t pid, tid;
};

static bool thread_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct profile_thread *t = &p->threads[id].pub;
	const struct thread_key *k = key;

	return t->pid == k->pid && t->tid == k->tid && t->process == k->process;
}

static uint64_t thread_hash_of(const struct profile *p, uint32_t id)
{
	return p->threads[id].hash;
}

struct stack_key {
	uint32_t thread;
	const uint32_t *frames;
	size_t n;
	uint64_t hash;
};

static bool stack_eq(const struct profile *p, uint32_t id, const void *key)
{
	const struct stack *s = &p->stacks[id];
	const struct stack_key *k = key;

	return s->hash == k->hash && s->n == k->n && s->thread == k->thread &&
	       !memcmp(p->ids + s->off, k->frames, k->n * sizeof(*k->frames));
}

static uint64_t stack_hash_of(const struct profile *p, uint32_t id)
{
	return p->stacks[id].hash;
}

/* ---- labels ----------------------------------------------------------- */

/* Copies s to dst with the folded-format replacements documented in
 * profile.h; returns the end of the copy. */
static char *copy_sanitized(char *dst, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == ';')
			c = ':';
		else if (c < 0x20 || c == 0x7f)
			c = '?';
		*dst++ = c;
	}
	return dst;
}

/* The same replacements, in place. */
static void sanitize_in_place(char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == ';')
			*s = ':';
		else if (c < 0x20 || c == 0x7f)
			*s = '?';
	}
}

/* A frame with its label built from fn and line (see profile.h); the
 * caller fills in pub and hash. Sanitizing replaces bytes one for one, so
 * the label's length is known before copying. */
static struct frame_node *frame_node__new(const struct fn_node *fn, int line)
{
	const char *function = *fn->function ? fn->function : "?";
	char num[16] = "";
	size_t len = strlen(function);
	struct frame_node *node;
	char *end;

	if (fn->file) {
		if (line > 0)
			snprintf(num, sizeof(num), ":%d", line);
		len += 2 + strlen(fn->file) + strlen(num) + 1;
	}
	node = malloc(sizeof(*node) + len + 1);
	if (!node)
		return NULL;
	end = copy_sanitized(node->label, function);
	if (fn->file) {
		*end++ = ' ';
		*end++ = '(';
		end = copy_sanitized(end, fn->file);
		end = stpcpy(end, num);
		*end++ = ')';
	} else {
		/* "name 12" would read as a differential count column */
		char *d = end;

		while (d > node->label && ((d[-1] >= '0' && d[-1] <= '9') || d[-1] == '.'))
			d--;
		if (d < end && d > node->label && d[-1] == ' ')
			d[-1] = '_';
	}
	*end = '\0';
	return node;
}

static struct fn_node *fn_node__new(enum profile_frame_kind kind, const char *function,
				    const char *file, uint64_t hash)
{
	size_t flen = strlen(function) + 1;
	size_t len = flen + (file ? strlen(file) + 1 : 0);
	struct fn_node *fn = malloc(sizeof(*fn) + len);

	if (!fn)
		return NULL;
	fn->hash = hash;
	fn->kind = kind;
	memcpy(fn->data, function, flen);
	fn->function = fn->data;
	fn->file = NULL;
	if (file) {
		memcpy(fn->data + flen, file, len - flen);
		fn->file = fn->data + flen;
	}
	return fn;
}

/* ---- public API ------------------------------------------------------- */

struct profile *profile__new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		errno = ENOMEM;
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nfns; i++)
		free(p->fns[i]);
	for (size_t i = 0; i < p->nframes; i++)
		free(p->frames[i]);
	free(p->fns);
	free(p->fn_tab.slot);
	free(p->frames);
	free(p->frame_tab.slot);
	for (size_t i = 0; i < p->nthreads; i++) {
		free(p->threads[i].name);
		free(p->threads[i].label);
	}
	for (size_t i = 0; i < p->nprocesses; i++) {
		free(p->processes[i].command);
		free(p->processes[i].label);
	}
	free(p->processes);
	free(p->threads);
	free(p->thread_tab.slot);
	free(p->stacks);
	free(p->stack_tab.slot);
	free(p->ids);
	free(p);
}

static int intern_full_frame(struct profile *p, uint32_t *id);

/* profile__intern_frame(); `bounded`: a new frame past max_frames is the
 * "[profile full]" one instead. */
static int intern_frame(struct profile *p, enum profile_frame_kind kind, const char *function,
			const char *file, int line, uint32_t *id, bool bounded)
{
	struct fn_key fk = {.kind = kind, .function = function, .file = file};
	struct frame_key k = {.line = line > 0 ? line : 0};
	struct fn_node *new_fn = NULL;
	struct frame_node *node;
	uint64_t fh, h;
	uint32_t *slot;
	int err;

	if (!p || !function || !id || (unsigned)kind >= PROFILE_FRAME_KINDS)
		return -EINVAL;
	if (file && !*file)
		fk.file = NULL;

	fh = fn_hash(kind, fk.function, fk.file);
	slot = idtab_find(&p->fn_tab, fh, fn_eq, p, &fk);
	if (slot && *slot) {
		k.function_id = *slot - 1;
		h = frame_hash(k.function_id, k.line);
		slot = idtab_find(&p->frame_tab, h, frame_eq, p, &k);
		if (slot && *slot) {
			*id = *slot - 1;
			return 0;
		}
	} else {
		if (p->nfns >= UINT32_MAX)
			return -EOVERFLOW;
		k.function_id = p->nfns;
		h = frame_hash(k.function_id, k.line);
	}
	/* a new frame: the one overflow frame is not counted */
	if (bounded && p->max_frames && p->nframes - p->has_full_frame >= p->max_frames)
		return intern_full_frame(p, id);
	if (p->nframes >= UINT32_MAX)
		return -EOVERFLOW;

	/* allocate everything first: failure must leave p unchanged */
	if (k.function_id == p->nfns) {
		new_fn = fn_node__new(kind, fk.function, fk.file, fh);
		if (!new_fn)
			return -ENOMEM;
		err = reserve((void **)&p->fns, &p->fns_cap, p->nfns + 1, sizeof(*p->fns));
		if (!err)
			err = idtab_reserve(&p->fn_tab, p->nfns, fn_hash_of, p);
		if (err)
			goto err_fn;
	}
	node = frame_node__new(new_fn ? new_fn : p->fns[k.function_id], k.line);
	if (!node) {
		err = -ENOMEM;
		goto err_fn;
	}
	err = reserve((void **)&p->frames, &p->frames_cap, p->nframes + 1, sizeof(*p->frames));
	if (!err)
		err = idtab_reserve(&p->frame_tab, p->nframes, frame_hash_of, p);
	if (err)
		goto err_node;

	/* commit */
	if (new_fn) {
		slot = idtab_find(&p->fn_tab, fh, fn_eq, p, &fk);
		p->fns[p->nfns++] = new_fn;
		*slot = p->nfns;
	}
	node->hash = h;
	node->pub.kind = kind;
	node->pub.function = p->fns[k.function_id]->function;
	node->pub.file = p->fns[k.function_id]->file;
	node->pub.line = k.line;
	node->pub.function_id = k.function_id;
	node->pub.label = node->label;
	slot = idtab_find(&p->frame_tab, h, frame_eq, p, &k);
	p->frames[p->nframes++] = node;
	*slot = p->nframes;
	*id = p->nframes - 1;
	return 0;

err_node:
	free(node);
err_fn:
	free(new_fn);
	return err;
}

static int intern_full_frame(struct profile *p, uint32_t *id)
{
	int err;

	if (p->has_full_frame) {
		*id = p->full_frame;
		return 0;
	}
	err = intern_frame(p, PROFILE_FRAME_SYNTHETIC, PROFILE_FULL_FRAME, NULL, 0, id, false);
	if (err)
		return err;
	p->full_frame = *id;
	p->has_full_frame = true;
	return 0;
}

int profile__intern_frame(struct profile *p, enum profile_frame_kind kind, const char *function,
			  const char *file, int line, uint32_t *id)
{
	return intern_frame(p, kind, function, file, line, id, true);
}

int profile__set_limits(struct profile *p, size_t max_stacks, size_t max_frames)
{
	if (!p)
		return -EINVAL;
	p->max_stacks = max_stacks;
	p->max_frames = max_frames;
	return 0;
}

uint64_t profile__overflowed(const struct profile *p)
{
	return p ? p->overflowed : 0;
}

const struct profile_frame *profile__frame(const struct profile *p, uint32_t id)
{
	if (!p || id >= p->nframes) {
		errno = EINVAL;
		return NULL;
	}
	return &p->frames[id]->pub;
}

size_t profile__frame_count(const struct profile *p)
{
	return p ? p->nframes : 0;
}

size_t profile__function_count(const struct profile *p)
{
	return p ? p->nfns : 0;
}

/* Whether frames[0..n) is the one-frame "[profile full]" stack, which
 * max_stacks does not count. */
static bool is_full_stack(const struct profile *p, const uint32_t *frames, size_t n)
{
	return p->has_full_frame && n == 1 && frames[0] == p->full_frame;
}

int profile__add(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		 uint64_t weight, uint32_t *stack_id)
{
	struct stack_key k = {.thread = thread, .frames = frames, .n = n};
	size_t inside = SIZE_MAX;
	bool folded = false;
	struct stack *s;
	uint32_t *slot;
	int err;

	if (!p || !frames || n == 0 || n > UINT32_MAX)
		return -EINVAL;
	if (thread != PROFILE_NO_THREAD && thread >= p->nthreads)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (frames[i] >= p->nframes)
			return -EINVAL;
	if (weight == 0)
		return 0;
	if (weight > UINT64_MAX - p->total)
		return -EOVERFLOW;

	k.hash = stack_hash(thread, frames, n);
	slot = idtab_find(&p->stack_tab, k.hash, stack_eq, p, &k);
	if (!(slot && *slot) && p->max_stacks && p->nstacks - p->nfull_stacks >= p->max_stacks &&
	    !is_full_stack(p, frames, n)) {
		/* full: the thread's [profile full] stack takes the weight */
		folded = true;
		k.frames = frames = &p->full_frame;
		k.n = n = 1;
		slot = NULL;
		if (p->has_full_frame) {
			k.hash = stack_hash(thread, frames, n);
			slot = idtab_find(&p->stack_tab, k.hash, stack_eq, p, &k);
		}
	}
	if (slot && *slot) {
		s = &p->stacks[*slot - 1];
		s->weight += weight;
		s->count++;
		p->total += weight;
		p->overflowed += folded;
		if (stack_id)
			*stack_id = *slot - 1;
		return 0;
	}

	if (p->nstacks >= UINT32_MAX)
		return -EOVERFLOW;
	if (n > SIZE_MAX - p->nids)
		return -ENOMEM;
	/* frames may be a slice of our own pool (from profile__foreach),
	 * which growing the pool would move */
	if (p->ids && (uintptr_t)frames >= (uintptr_t)p->ids &&
	    (uintptr_t)frames < (uintptr_t)(p->ids + p->nids))
		inside = frames - p->ids;
	err = reserve((void **)&p->ids, &p->ids_cap, p->nids + n, sizeof(*p->ids));
	if (!err)
		err = reserve((void **)&p->stacks, &p->stacks_cap, p->nstacks + 1,
			      sizeof(*p->stacks));
	if (!err)
		err = idtab_reserve(&p->stack_tab, p->nstacks, stack_hash_of, p);
	if (inside != SIZE_MAX)
		k.frames = frames = p->ids + inside;
	/* the frame last: it is the one change a later failure could not undo */
	if (!err && folded && !p->has_full_frame) {
		err = intern_full_frame(p, &p->full_frame);
		k.hash = stack_hash(thread, frames, n);
	}
	if (err)
		return err;

	slot = idtab_find(&p->stack_tab, k.hash, stack_eq, p, &k);
	memcpy(p->ids + p->nids, frames, n * sizeof(*frames));
	s = &p->stacks[p->nstacks++];
	s->hash = k.hash;
	s->weight = weight;
	s->count = 1;
	s->off = p->nids;
	s->n = n;
	s->thread = thread;
	p->nids += n;
	*slot = p->nstacks;
	p->nfull_stacks += is_full_stack(p, frames, n);
	p->overflowed += folded;
	p->total += weight;
	if (stack_id)
		*stack_id = p->nstacks - 1;
	return 0;
}

uint64_t profile__total(const struct profile *p)
{
	return p ? p->total : 0;
}

size_t profile__stack_count(const struct profile *p)
{
	return p ? p->nstacks : 0;
}

static void stack_view(const struct profile *p, uint32_t id, struct profile_stack *out)
{
	const struct stack *s = &p->stacks[id];

	*out = (struct profile_stack){
		.id = id,
		.thread = s->thread,
		.frames = p->ids + s->off,
		.n = s->n,
		.weight = s->weight,
		.count = s->count,
	};
}

int profile__stack(const struct profile *p, uint32_t id, struct profile_stack *out)
{
	if (!p || !out || id >= p->nstacks)
		return -EINVAL;
	stack_view(p, id, out);
	return 0;
}

const struct profile_frame *profile_stack_off_cpu_frame(const struct profile *p,
							const struct profile_stack *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct profile_frame *f = profile__frame(p, s->frames[i]);

		if (f && f->kind == PROFILE_FRAME_OFF_CPU)
			return f;
	}
	return NULL;
}

int profile__foreach(const struct profile *p, int (*cb)(const struct profile_stack *s, void *ctx),
		     void *ctx)
{
	struct profile_stack view;

	if (!p || !cb)
		return -EINVAL;
	for (size_t i = 0; i < p->nstacks; i++) {
		int ret;

		stack_view(p, i, &view);
		ret = cb(&view, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- threads ---------------------------------------------------------- */

static int intern_thread(struct profile *p, uint32_t process, pid_t pid, pid_t tid, uint32_t *id)
{
	struct thread_key k = {.process = process, .pid = pid, .tid = tid};
	struct thread_node *t;
	char *label;
	uint64_t h;
	uint32_t *slot;
	int err;

	h = thread_hash(process, pid, tid);
	slot = idtab_find(&p->thread_tab, h, thread_eq, p, &k);
	if (slot && *slot) {
		*id = *slot - 1;
		return 0;
	}
	/* PROFILE_NO_THREAD is never a thread id */
	if (p->nthreads >= UINT32_MAX - 1)
		return -EOVERFLOW;
	label = malloc(PROFILE_THREAD_LABEL_MAX);
	if (!label)
		return -ENOMEM;
	err = reserve((void **)&p->threads, &p->threads_cap, p->nthreads + 1, sizeof(*p->threads));
	if (!err)
		err = idtab_reserve(&p->thread_tab, p->nthreads, thread_hash_of, p);
	if (err) {
		free(label);
		return err;
	}
	slot = idtab_find(&p->thread_tab, h, thread_eq, p, &k);
	t = &p->threads[p->nthreads];
	*t = (struct thread_node){
		.pub = {.pid = pid, .tid = tid, .process = process, .label = label},
		.hash = h,
		.label = label};
	profile_thread_label(&t->pub, label, PROFILE_THREAD_LABEL_MAX);
	*slot = ++p->nthreads;
	*id = p->nthreads - 1;
	return 0;
}

int profile__intern_thread(struct profile *p, pid_t pid, pid_t tid, uint32_t *id)
{
	if (!p || !id)
		return -EINVAL;
	return intern_thread(p, PROFILE_NO_PROCESS, pid, tid, id);
}

int profile__intern_process_thread(struct profile *p, uint32_t process, pid_t tid, uint32_t *id)
{
	if (!p || !id || process >= p->nprocesses)
		return -EINVAL;
	return intern_thread(p, process, p->processes[process].pub.pid, tid, id);
}

/* ---- processes -------------------------------------------------------- */

int profile__add_process(struct profile *p, pid_t pid, pid_t ns_pid, const char *command,
			 uint32_t *id)
{
	struct process_node *n;
	char *copy, *label;
	size_t len;
	int err;

	if (!p || !id)
		return -EINVAL;
	if (p->nprocesses >= UINT32_MAX - 1)
		return -EOVERFLOW;
	command = command ? command : "";
	len = strlen(command) + 1;
	copy = malloc(len);
	label = malloc(PROFILE_PROCESS_LABEL_MAX);
	err = copy && label ? reserve((void **)&p->processes, &p->processes_cap, p->nprocesses + 1,
				      sizeof(*p->processes))
			    : -ENOMEM;
	if (err) {
		free(copy);
		free(label);
		return err;
	}
	memcpy(copy, command, len);
	profile_process_label(pid, ns_pid, command, label, PROFILE_PROCESS_LABEL_MAX);
	n = &p->processes[p->nprocesses];
	*n = (struct process_node){
		.pub = {.pid = pid,
			.ns_pid = ns_pid > 0 ? ns_pid : pid,
			.command = copy,
			.label = label},
		.command = copy,
		.label = label,
	};
	*id = (uint32_t)p->nprocesses++;
	return 0;
}

const struct profile_process *profile__process(const struct profile *p, uint32_t id)
{
	if (!p || id >= p->nprocesses) {
		errno = EINVAL;
		return NULL;
	}
	return &p->processes[id].pub;
}

size_t profile__process_count(const struct profile *p)
{
	return p ? p->nprocesses : 0;
}

/* How many bytes of s to show: all, or at most max ending on a UTF-8
 * character boundary (*cut set). */
static size_t utf8_prefix(const char *s, size_t max, bool *cut)
{
	size_t n = strlen(s);

	*cut = n > max;
	if (!*cut)
		return n;
	n = max;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

char *profile_process_label(pid_t pid, pid_t ns_pid, const char *command, char *buf, size_t size)
{
	char ns[48] = "";
	bool cut;
	int n, len;

	if (!buf || !size)
		return buf;
	command = command ? command : "";
	len = (int)utf8_prefix(command, 120, &cut);
	if (ns_pid > 0 && ns_pid != pid)
		snprintf(ns, sizeof(ns), " (ns pid %d)", (int)ns_pid);
	n = snprintf(buf, size, "process %d%s:\"%.*s%s\"", (int)pid, ns, len, command,
		     cut ? "..." : "");
	if (n < 0)
		buf[0] = '\0';
	sanitize_in_place(buf);
	return buf;
}

int profile__set_thread_name(struct profile *p, uint32_t id, const char *name)
{
	struct thread_node *t;
	char *copy = NULL;

	if (!p || id >= p->nthreads)
		return -EINVAL;
	t = &p->threads[id];
	if (name && t->name && !strcmp(name, t->name))
		return 0;
	if (name) {
		size_t len = strlen(name) + 1;

		/* malloc, not strdup: the tests count every allocation */
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, name, len);
	}
	free(t->name);
	t->name = copy;
	t->pub.name = copy;
	profile_thread_label(&t->pub, t->label, PROFILE_THREAD_LABEL_MAX);
	return 0;
}

const struct profile_thread *profile__thread(const struct profile *p, uint32_t id)
{
	if (!p || id >= p->nthreads) {
		errno = EINVAL;
		return NULL;
	}
	return &p->threads[id].pub;
}

size_t profile__thread_count(const struct profile *p)
{
	return p ? p->nthreads : 0;
}

char *profile_thread_label(const struct profile_thread *t, char *buf, size_t size)
{
	int n;

	if (!buf || !size)
		return buf;
	if (t->name)
		n = snprintf(buf, size, "[thread %d \"%.100s\"]", (int)t->tid, t->name);
	else
		n = snprintf(buf, size, "[thread %d]", (int)t->tid);
	if (n < 0)
		buf[0] = '\0';
	/* the name is the target's: keep it from breaking a folded line */
	sanitize_in_place(buf);
	return buf;
}

const char *profile_frame_kind_name(enum profile_frame_kind kind)
{
	static const char *const names[PROFILE_FRAME_KINDS] = {
		[PROFILE_FRAME_PYTHON] = "python",	 [PROFILE_FRAME_STDLIB] = "stdlib",
		[PROFILE_FRAME_LIBRARY] = "library",	 [PROFILE_FRAME_NATIVE] = "native",
		[PROFILE_FRAME_KERNEL] = "kernel",	 [PROFILE_FRAME_OFF_CPU] = "off-cpu",
		[PROFILE_FRAME_SYNTHETIC] = "synthetic",
	};

	return (unsigned)kind < PROFILE_FRAME_KINDS ? names[kind] : "?";
}
