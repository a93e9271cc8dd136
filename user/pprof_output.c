// SPDX-License-Identifier: MIT
/*
 * pprof output: put the profile's functions, frames and stacks in a fixed
 * order, fill protobuf-c's generated structs (pointers into a few arrays
 * this module owns) and pack the message straight into a gzip stream.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "pprof_output.h"
#include "profile.h"
#include "report.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

/* Sample value columns; a mode uses the first 2, 3 or all 4. */
enum column { COL_SAMPLES, COL_CPU, COL_OFF_CPU, COL_WALL, COLUMNS };

/* Labels a sample can have: pid, tid, thread_name, off_cpu_class. */
#define THREAD_LABELS 3
#define MAX_LABELS 4

/* The string table: owned copies, index 0 is "", found again through an
 * open-addressing hash of index + 1 (0 = empty slot). */
struct strtab {
	char **strs;
	size_t len, cap;
	uint32_t *slots;
	size_t nslots; /* a power of two, at least twice len */
};

struct pprof {
	const struct report *r;
	const struct profile *p;
	struct strtab st;
	int columns;

	/* the stacks, then sorted into sample order */
	struct profile_stack *stacks;
	size_t n_stacks;

	/* per frame id: the frame and its Location id (0: unused) */
	const struct profile_frame **frames;
	uint64_t *loc_id;
	size_t n_frames;
	/* used frame ids in Location order */
	uint32_t *locs;
	size_t n_locs;

	/* per function id: a frame of it (NULL: unused) and its Function id */
	const struct profile_frame **fn_frame;
	uint64_t *fn_id;
	size_t n_fn_ids;
	/* used function ids in Function order */
	uint32_t *fns;
	size_t n_fns;

	/* per thread id: its labels (key 0 until first used) */
	pb_label *thread_labels;
	size_t n_threads;

	/* the message's storage */
	pb_function *pb_fns;
	pb_function **pb_fn_ptrs;
	pb_location *pb_locs;
	pb_location **pb_loc_ptrs;
	pb_line *pb_lines;
	pb_line **pb_line_ptrs;
	pb_sample *pb_samples;
	pb_sample **pb_sample_ptrs;
	uint64_t *pb_location_ids;
	int64_t *pb_values;
	pb_label **pb_label_ptrs;
	pb_label *pb_class_labels;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int strtab_grow_slots(struct strtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 256;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->len; i++) {
		size_t h = hash_bytes(t->strs[i], strlen(t->strs[i])) & (n - 1);

		while (slots[h])
			h = (h + 1) & (n - 1);
		slots[h] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

/* The index of s[0..len) in the table, adding a copy if it is new. */
static int strtab_intern_len(struct strtab *t, const char *s, size_t len, int64_t *idx)
{
	size_t h;
	char *copy;
	int err;

	if ((t->len + 1) * 2 > t->nslots) {
		err = strtab_grow_slots(t);
		if (err)
			return err;
	}
	for (h = hash_bytes(s, len) & (t->nslots - 1); t->slots[h]; h = (h + 1) & (t->nslots - 1)) {
		const char *x = t->strs[t->slots[h] - 1];

		if (!strncmp(x, s, len) && x[len] == '\0') {
			*idx = t->slots[h] - 1;
			return 0;
		}
	}
	if (t->len >= UINT32_MAX - 1)
		return -EOVERFLOW;
	if (t->len == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		char **strs = realloc(t->strs, cap * sizeof(*strs));

		if (!strs)
			return -ENOMEM;
		t->strs = strs;
		t->cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	t->strs[t->len] = copy;
	t->slots[h] = (uint32_t)++t->len;
	*idx = (int64_t)t->len - 1;
	return 0;
}

/* The index of s (NULL: "", index 0). */
static int strtab_intern(struct strtab *t, const char *s, int64_t *idx)
{
	return strtab_intern_len(t, s ? s : "", s ? strlen(s) : 0, idx);
}

__attribute__((format(printf, 3, 4))) static int strtab_intern_fmt(struct strtab *t, int64_t *idx,
								   const char *fmt, ...)
{
	va_list ap;
	char *buf;
	int len, err;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -EINVAL;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(buf, (size_t)len + 1, fmt, ap);
	va_end(ap);
	err = strtab_intern_len(t, buf, (size_t)len, idx);
	free(buf);
	return err;
}

static void strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->len; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->slots);
}

static int64_t clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	uint64_t v;

	return __builtin_mul_overflow(a, b, &v) ? UINT64_MAX : v;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t v;

	return __builtin_add_overflow(a, b, &v) ? UINT64_MAX : v;
}

/* strcmp with NULL before every string */
static int cmp_nullable(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* The class of an off-CPU frame, "[off-cpu:CLASS] ...": false if the
 * function has no non-empty class. */
static bool off_cpu_class(const char *function, const char **cls, size_t *len)
{
	static const char prefix[] = "[off-cpu:";
	const char *end;

	if (strncmp(function, prefix, sizeof(prefix) - 1))
		return false;
	function += sizeof(prefix) - 1;
	end = strchr(function, ']');
	if (!end || end == function)
		return false;
	*cls = function;
	*len = (size_t)(end - function);
	return true;
}

/* Whether stack s is one r->select asks for. */
static bool selected(const struct report *r, const struct profile_stack *s)
{
	const struct report_selection *sel = &r->select;

	if (sel->one_process) {
		const struct profile_thread *t = s->thread == PROFILE_NO_THREAD
							 ? NULL
							 : profile__thread(r->profile, s->thread);

		if (!t || t->process != sel->process)
			return false;
	}
	if (sel->stacks == REPORT_ALL_STACKS)
		return true;
	return (profile_stack_off_cpu_frame(r->profile, s) != NULL) ==
	       (sel->stacks == REPORT_OFF_CPU_STACKS);
}

static int collect_cb(const struct profile_stack *s, void *ctx)
{
	struct pprof *pp = ctx;

	if (!selected(pp->r, s))
		return 0;
	if (pp->n_stacks == profile__stack_count(pp->p))
		return -EINVAL; /* more stacks than the profile says */
	pp->stacks[pp->n_stacks++] = *s;
	return 0;
}

/* The stacks, and which frames and functions they use. */
static int collect(struct pprof *pp)
{
	size_t n = profile__stack_count(pp->p);
	int err;

	pp->n_frames = profile__frame_count(pp->p);
	pp->n_fn_ids = profile__function_count(pp->p);
	pp->n_threads = profile__thread_count(pp->p);
	pp->stacks = calloc(n ? n : 1, sizeof(*pp->stacks));
	pp->frames = calloc(pp->n_frames ? pp->n_frames : 1, sizeof(*pp->frames));
	pp->loc_id = calloc(pp->n_frames ? pp->n_frames : 1, sizeof(*pp->loc_id));
	pp->locs = calloc(pp->n_frames ? pp->n_frames : 1, sizeof(*pp->locs));
	pp->fn_frame = calloc(pp->n_fn_ids ? pp->n_fn_ids : 1, sizeof(*pp->fn_frame));
	pp->fn_id = calloc(pp->n_fn_ids ? pp->n_fn_ids : 1, sizeof(*pp->fn_id));
	pp->fns = calloc(pp->n_fn_ids ? pp->n_fn_ids : 1, sizeof(*pp->fns));
	pp->thread_labels = calloc(pp->n_threads ? pp->n_threads * THREAD_LABELS : 1,
				   sizeof(*pp->thread_labels));
	if (!pp->stacks || !pp->frames || !pp->loc_id || !pp->locs || !pp->fn_frame || !pp->fn_id ||
	    !pp->fns || !pp->thread_labels)
		return -ENOMEM;

	err = profile__foreach(pp->p, collect_cb, pp);
	if (err)
		return err;
	for (size_t i = 0; i < pp->n_stacks; i++) {
		const struct profile_stack *s = &pp->stacks[i];

		if (s->thread != PROFILE_NO_THREAD && s->thread >= pp->n_threads)
			return -EINVAL;
		for (size_t j = 0; j < s->n; j++) {
			uint32_t id = s->frames[j];
			const struct profile_frame *f;

			if (id >= pp->n_frames)
				return -EINVAL;
			if (pp->frames[id])
				continue;
			f = profile__frame(pp->p, id);
			if (!f || f->function_id >= pp->n_fn_ids)
				return -EINVAL;
			pp->frames[id] = f;
			pp->locs[pp->n_locs++] = id;
			if (!pp->fn_frame[f->function_id]) {
				pp->fn_frame[f->function_id] = f;
				pp->fns[pp->n_fns++] = f->function_id;
			}
		}
	}
	return 0;
}

/* Functions by (name, file with none first, kind). */
static int fn_cmp(const void *a, const void *b, void *ctx)
{
	const struct pprof *pp = ctx;
	const struct profile_frame *x = pp->fn_frame[*(const uint32_t *)a];
	const struct profile_frame *y = pp->fn_frame[*(const uint32_t *)b];
	int c = strcmp(x->function, y->function);

	if (!c)
		c = cmp_nullable(x->file, y->file);
	if (!c)
		c = (x->kind > y->kind) - (x->kind < y->kind);
	return c;
}

/* Locations by (Function id, line); a frame is exactly that pair. */
static int loc_cmp(const void *a, const void *b, void *ctx)
{
	const struct pprof *pp = ctx;
	const struct profile_frame *x = pp->frames[*(const uint32_t *)a];
	const struct profile_frame *y = pp->frames[*(const uint32_t *)b];
	uint64_t fx = pp->fn_id[x->function_id], fy = pp->fn_id[y->function_id];

	if (fx != fy)
		return (fx > fy) - (fx < fy);
	return (x->line > y->line) - (x->line < y->line);
}

/* Threads by (pid, tid, name with none first); no thread first. */
static int thread_cmp(const struct pprof *pp, uint32_t a, uint32_t b)
{
	const struct profile_thread *x, *y;

	if (a == b)
		return 0;
	if (a == PROFILE_NO_THREAD || b == PROFILE_NO_THREAD)
		return (a != PROFILE_NO_THREAD) - (b != PROFILE_NO_THREAD);
	x = profile__thread(pp->p, a);
	y = profile__thread(pp->p, b);
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	if (x->tid != y->tid)
		return (x->tid > y->tid) - (x->tid < y->tid);
	return cmp_nullable(x->name, y->name);
}

/* Samples by their Location ids root first (a prefix first), then thread. */
static int stack_cmp(const void *a, const void *b, void *ctx)
{
	const struct pprof *pp = ctx;
	const struct profile_stack *x = a, *y = b;
	int c;

	for (size_t i = 0; i < x->n && i < y->n; i++) {
		uint64_t lx = pp->loc_id[x->frames[i]], ly = pp->loc_id[y->frames[i]];

		if (lx != ly)
			return (lx > ly) - (lx < ly);
	}
	if (x->n != y->n)
		return (x->n > y->n) - (x->n < y->n);
	c = thread_cmp(pp, x->thread, y->thread);
	if (!c)
		c = (x->id > y->id) - (x->id < y->id);
	return c;
}

/* Functions, Locations and samples in their output order, with ids. */
static void order(struct pprof *pp)
{
	qsort_r(pp->fns, pp->n_fns, sizeof(*pp->fns), fn_cmp, pp);
	for (size_t i = 0; i < pp->n_fns; i++)
		pp->fn_id[pp->fns[i]] = i + 1;
	qsort_r(pp->locs, pp->n_locs, sizeof(*pp->locs), loc_cmp, pp);
	for (size_t i = 0; i < pp->n_locs; i++)
		pp->loc_id[pp->locs[i]] = i + 1;
	qsort_r(pp->stacks, pp->n_stacks, sizeof(*pp->stacks), stack_cmp, pp);
}

/* The sample values of s (see pprof_output.h). */
static void stack_values(const struct report *r, const struct profile_stack *s, bool off_cpu,
			 int64_t *values, int columns)
{
	uint64_t v[COLUMNS] = {0};

	if (r->unit == REPORT_SAMPLES) {
		v[COL_SAMPLES] = s->weight;
		v[off_cpu ? COL_OFF_CPU : COL_CPU] = sat_mul(s->weight, r->period_ns);
	} else if (off_cpu) {
		v[COL_SAMPLES] = s->count;
		v[COL_OFF_CPU] = s->weight;
	} else {
		v[COL_SAMPLES] = r->period_ns ? s->weight / r->period_ns : s->count;
		v[COL_CPU] = s->weight;
	}
	v[COL_WALL] = sat_add(v[COL_CPU], v[COL_OFF_CPU]);
	for (int i = 0; i < columns; i++)
		values[i] = clamp_i64(v[i]);
}

static int set_value_type(struct strtab *st, pb_value_type *vt, const char *type, const char *unit)
{
	pb_value_type init = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	int err;

	*vt = init;
	err = strtab_intern(st, type, &vt->type);
	if (!err)
		err = strtab_intern(st, unit, &vt->unit);
	return err;
}

/* Sample types, default type, period and the informational fields. */
static int build_header(struct pprof *pp, pb_profile *m, pb_value_type *types,
			pb_value_type **type_ptrs, pb_value_type *period_type, int64_t *comments)
{
	static const char *const names[COLUMNS] = {"samples", "cpu", "off_cpu", "wall"};
	static const char *const units[COLUMNS] = {"count", "nanoseconds", "nanoseconds",
						   "nanoseconds"};
	const struct report *r = pp->r;
	int err;

	for (int i = 0; i < pp->columns; i++) {
		err = set_value_type(&pp->st, &types[i], names[i], units[i]);
		if (err)
			return err;
		type_ptrs[i] = &types[i];
	}
	m->n_sample_type = (size_t)pp->columns;
	m->sample_type = type_ptrs;
	/* each mode's own column is its last: cpu, off_cpu or wall */
	m->default_sample_type = types[pp->columns - 1].type;

	err = set_value_type(&pp->st, period_type, "cpu", "nanoseconds");
	if (err)
		return err;
	m->period_type = period_type;
	m->period = clamp_i64(r->period_ns);
	m->time_nanos = clamp_i64(r->start_unix_ns);
	if (isfinite(r->duration_s) && r->duration_s > 0)
		m->duration_nanos =
			r->duration_s * 1e9 >= 0x1p63 ? INT64_MAX : llround(r->duration_s * 1e9);

	m->comment = comments;
	if (r->command && *r->command) {
		err = strtab_intern_fmt(&pp->st, &comments[m->n_comment++], "command: %s",
					r->command);
		if (err)
			return err;
	}
	if (r->pid > 0) {
		err = strtab_intern_fmt(&pp->st, &comments[m->n_comment++], "pid: %d", (int)r->pid);
		if (err)
			return err;
	}
	if (r->python_version && *r->python_version) {
		err = strtab_intern_fmt(&pp->st, &comments[m->n_comment++], "python: %s",
					r->python_version);
		if (err)
			return err;
	}
	if (r->rate_hz) {
		err = strtab_intern_fmt(&pp->st, &comments[m->n_comment++], "rate: %u Hz",
					r->rate_hz);
		if (err)
			return err;
	}
	return 0;
}

/* One Function per used function identity, one Location per used frame. */
static int build_functions_locations(struct pprof *pp, pb_profile *m)
{
	pb_function fn_init = PERFTOOLS__PROFILES__FUNCTION__INIT;
	pb_location loc_init = PERFTOOLS__PROFILES__LOCATION__INIT;
	pb_line line_init = PERFTOOLS__PROFILES__LINE__INIT;
	size_t nf = pp->n_fns ? pp->n_fns : 1, nl = pp->n_locs ? pp->n_locs : 1;
	int err;

	pp->pb_fns = calloc(nf, sizeof(*pp->pb_fns));
	pp->pb_fn_ptrs = calloc(nf, sizeof(*pp->pb_fn_ptrs));
	pp->pb_locs = calloc(nl, sizeof(*pp->pb_locs));
	pp->pb_loc_ptrs = calloc(nl, sizeof(*pp->pb_loc_ptrs));
	pp->pb_lines = calloc(nl, sizeof(*pp->pb_lines));
	pp->pb_line_ptrs = calloc(nl, sizeof(*pp->pb_line_ptrs));
	if (!pp->pb_fns || !pp->pb_fn_ptrs || !pp->pb_locs || !pp->pb_loc_ptrs || !pp->pb_lines ||
	    !pp->pb_line_ptrs)
		return -ENOMEM;

	for (size_t i = 0; i < pp->n_fns; i++) {
		const struct profile_frame *f = pp->fn_frame[pp->fns[i]];
		pb_function *fn = &pp->pb_fns[i];

		*fn = fn_init;
		fn->id = i + 1;
		err = strtab_intern(&pp->st, f->function, &fn->name);
		if (!err)
			err = strtab_intern(&pp->st, f->file, &fn->filename);
		if (err)
			return err;
		fn->system_name = fn->name;
		pp->pb_fn_ptrs[i] = fn;
	}
	m->n_function = pp->n_fns;
	m->function = pp->pb_fn_ptrs;

	for (size_t i = 0; i < pp->n_locs; i++) {
		const struct profile_frame *f = pp->frames[pp->locs[i]];
		pb_location *loc = &pp->pb_locs[i];
		pb_line *line = &pp->pb_lines[i];

		*line = line_init;
		line->function_id = pp->fn_id[f->function_id];
		line->line = f->line > 0 ? f->line : 0;
		pp->pb_line_ptrs[i] = line;
		*loc = loc_init;
		loc->id = i + 1;
		loc->n_line = 1;
		loc->line = &pp->pb_line_ptrs[i];
		pp->pb_loc_ptrs[i] = loc;
	}
	m->n_location = pp->n_locs;
	m->location = pp->pb_loc_ptrs;
	return 0;
}

/* The pid, tid and thread_name labels of thread `id`, made on first use;
 * appended to labels[*n]. */
static int thread_labels(struct pprof *pp, uint32_t id, const int64_t *keys, pb_label **labels,
			 size_t *n)
{
	pb_label init = PERFTOOLS__PROFILES__LABEL__INIT;
	pb_label *l = &pp->thread_labels[(size_t)id * THREAD_LABELS];
	const struct profile_thread *t;
	int err;

	if (!l[0].key) {
		t = profile__thread(pp->p, id);
		if (!t)
			return -EINVAL;
		l[0] = init;
		l[0].key = keys[0];
		l[0].num = t->pid;
		l[1] = init;
		l[1].key = keys[1];
		l[1].num = t->tid;
		l[2] = init;
		if (t->name) {
			err = strtab_intern(&pp->st, t->name, &l[2].str);
			if (err)
				return err;
			l[2].key = keys[2];
		}
	}
	labels[(*n)++] = &l[0];
	labels[(*n)++] = &l[1];
	if (l[2].key)
		labels[(*n)++] = &l[2];
	return 0;
}

/* One Sample per stack, in the sorted order. */
static int build_samples(struct pprof *pp, pb_profile *m)
{
	static const char *const key_names[MAX_LABELS] = {"pid", "tid", "thread_name",
							  "off_cpu_class"};
	pb_sample init = PERFTOOLS__PROFILES__SAMPLE__INIT;
	pb_label label_init = PERFTOOLS__PROFILES__LABEL__INIT;
	size_t ns = pp->n_stacks ? pp->n_stacks : 1, total = 0, next_id = 0;
	int64_t keys[MAX_LABELS];
	int err;

	for (size_t i = 0; i < pp->n_stacks; i++)
		total += pp->stacks[i].n;
	pp->pb_samples = calloc(ns, sizeof(*pp->pb_samples));
	pp->pb_sample_ptrs = calloc(ns, sizeof(*pp->pb_sample_ptrs));
	pp->pb_location_ids = calloc(total ? total : 1, sizeof(*pp->pb_location_ids));
	pp->pb_values = calloc(ns * (size_t)pp->columns, sizeof(*pp->pb_values));
	pp->pb_label_ptrs = calloc(ns * MAX_LABELS, sizeof(*pp->pb_label_ptrs));
	pp->pb_class_labels = calloc(ns, sizeof(*pp->pb_class_labels));
	if (!pp->pb_samples || !pp->pb_sample_ptrs || !pp->pb_location_ids || !pp->pb_values ||
	    !pp->pb_label_ptrs || !pp->pb_class_labels)
		return -ENOMEM;
	for (int i = 0; i < MAX_LABELS; i++) {
		err = strtab_intern(&pp->st, key_names[i], &keys[i]);
		if (err)
			return err;
	}

	for (size_t i = 0; i < pp->n_stacks; i++) {
		const struct profile_stack *s = &pp->stacks[i];
		const struct profile_frame *off = profile_stack_off_cpu_frame(pp->p, s);
		pb_sample *smp = &pp->pb_samples[i];
		pb_label **labels = &pp->pb_label_ptrs[i * MAX_LABELS];
		const char *cls;
		size_t cls_len;

		*smp = init;
		smp->location_id = &pp->pb_location_ids[next_id];
		smp->n_location_id = s->n;
		for (size_t j = 0; j < s->n; j++) /* leaf first */
			smp->location_id[j] = pp->loc_id[s->frames[s->n - 1 - j]];
		next_id += s->n;
		smp->value = &pp->pb_values[i * (size_t)pp->columns];
		smp->n_value = (size_t)pp->columns;
		stack_values(pp->r, s, off != NULL, smp->value, pp->columns);

		smp->label = labels;
		if (s->thread != PROFILE_NO_THREAD) {
			err = thread_labels(pp, s->thread, keys, labels, &smp->n_label);
			if (err)
				return err;
		}
		if (off && off_cpu_class(off->function, &cls, &cls_len)) {
			pb_label *l = &pp->pb_class_labels[i];

			*l = label_init;
			l->key = keys[3];
			err = strtab_intern_len(&pp->st, cls, cls_len, &l->str);
			if (err)
				return err;
			labels[smp->n_label++] = l;
		}
		pp->pb_sample_ptrs[i] = smp;
	}
	m->n_sample = pp->n_stacks;
	m->sample = pp->pb_sample_ptrs;
	return 0;
}

/* A ProtobufCBuffer that deflates what it is given into a FILE. */
struct gz_sink {
	ProtobufCBuffer base; /* first: the sink is passed as its base */
	z_stream zs;
	gz_header header;
	FILE *out;
	int err;
	size_t len; /* bytes waiting in in[] */
	unsigned char in[1 << 16];
	unsigned char out_buf[1 << 16];
};

static int write_error(void)
{
	return errno ? -errno : -EIO;
}

/* Deflates in[0..len) and writes what comes out. */
static int gz_deflate(struct gz_sink *g, int flush)
{
	int ret;

	g->zs.next_in = g->in;
	g->zs.avail_in = (uInt)g->len;
	do {
		size_t have;

		g->zs.next_out = g->out_buf;
		g->zs.avail_out = sizeof(g->out_buf);
		ret = deflate(&g->zs, flush);
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		have = sizeof(g->out_buf) - g->zs.avail_out;
		errno = 0;
		if (have && fwrite(g->out_buf, 1, have, g->out) != have)
			return write_error();
	} while (g->zs.avail_out == 0);
	g->len = 0;
	return flush == Z_FINISH && ret != Z_STREAM_END ? -EIO : 0;
}

static void gz_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct gz_sink *g = (struct gz_sink *)buffer;

	while (len && !g->err) {
		size_t n = sizeof(g->in) - g->len;

		if (n > len)
			n = len;
		memcpy(g->in + g->len, data, n);
		g->len += n;
		data += n;
		len -= n;
		if (g->len == sizeof(g->in))
			g->err = gz_deflate(g, Z_NO_FLUSH);
	}
}

/* m, packed and gzipped into out: no file name, mtime 0, OS Unix. */
static int write_gzip(const pb_profile *m, FILE *out)
{
	struct gz_sink *g = calloc(1, sizeof(*g));
	int err, ret;

	if (!g)
		return -ENOMEM;
	g->base.append = gz_append;
	g->out = out;
	g->header.os = 3;
	ret = deflateInit2(&g->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			   Z_DEFAULT_STRATEGY);
	if (ret != Z_OK) {
		free(g);
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	err = deflateSetHeader(&g->zs, &g->header) == Z_OK ? 0 : -EINVAL;
	if (!err) {
		protobuf_c_message_pack_to_buffer(&m->base, &g->base);
		err = g->err;
	}
	if (!err)
		err = gz_deflate(g, Z_FINISH);
	deflateEnd(&g->zs);
	free(g);
	if (!err) {
		errno = 0;
		if (fflush(out) || ferror(out))
			err = write_error();
	}
	return err;
}

static void pprof_free(struct pprof *pp)
{
	strtab_free(&pp->st);
	free(pp->stacks);
	free(pp->frames);
	free(pp->loc_id);
	free(pp->locs);
	free(pp->fn_frame);
	free(pp->fn_id);
	free(pp->fns);
	free(pp->thread_labels);
	free(pp->pb_fns);
	free(pp->pb_fn_ptrs);
	free(pp->pb_locs);
	free(pp->pb_loc_ptrs);
	free(pp->pb_lines);
	free(pp->pb_line_ptrs);
	free(pp->pb_samples);
	free(pp->pb_sample_ptrs);
	free(pp->pb_location_ids);
	free(pp->pb_values);
	free(pp->pb_label_ptrs);
	free(pp->pb_class_labels);
}

int pprof_output__write(const struct report *r, FILE *out)
{
	pb_profile m = PERFTOOLS__PROFILES__PROFILE__INIT;
	pb_value_type types[COLUMNS], *type_ptrs[COLUMNS], period_type;
	int64_t comments[4], empty;
	struct pprof pp = {0};
	int err;

	if (!r || !r->profile || !out)
		return -EINVAL;
	switch (r->mode) {
	case TIME_CPU:
		pp.columns = COL_CPU + 1;
		break;
	case TIME_OFF_CPU:
		pp.columns = COL_OFF_CPU + 1;
		break;
	case TIME_WALL:
		pp.columns = COL_WALL + 1;
		break;
	default:
		return -EINVAL;
	}
	pp.r = r;
	pp.p = r->profile;

	err = strtab_intern(&pp.st, "", &empty); /* index 0 */
	if (err)
		goto cleanup;
	err = collect(&pp);
	if (err)
		goto cleanup;
	order(&pp);
	err = build_header(&pp, &m, types, type_ptrs, &period_type, comments);
	if (err)
		goto cleanup;
	err = build_functions_locations(&pp, &m);
	if (err)
		goto cleanup;
	err = build_samples(&pp, &m);
	if (err)
		goto cleanup;
	m.n_string_table = pp.st.len;
	m.string_table = pp.st.strs;
	err = write_gzip(&m, out);
cleanup:
	pprof_free(&pp);
	return err;
}
