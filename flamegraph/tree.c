// SPDX-License-Identifier: MIT
/*
 * The flame graph's tree: names interned once, nodes found by (parent,
 * name, kind) in their parent's sibling list while it is short and in an
 * open-addressing hash table after that, and walks over the tree in
 * drawing order with child lists sorted by name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fg_tree.h"

#define ARENA_CHUNK (1u << 20)
#define MAX_NODES (UINT32_MAX - 1)
#define MAX_NAMES ((1u << 29) - 1) /* a name id takes 29 bits of a child key */
#define INITIAL_SLOTS 1024

struct fg_arena_chunk {
	struct fg_arena_chunk *next;
	size_t used, size;
	char data[];
};

/* Bump allocation of name text; freed all at once with the graph. */
static char *arena_alloc(struct flamegraph *fg, size_t n)
{
	struct fg_arena_chunk *c = fg->arena;
	char *p;

	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		c->next = fg->arena;
		fg->arena = c;
	}
	p = c->data + c->used;
	c->used += n;
	return p;
}

/* The capacity to grow `cap` to so it holds `need`: doubling from 64. */
static size_t grown(size_t cap, size_t need)
{
	size_t n = cap ? cap : 64;

	while (n < need && n <= SIZE_MAX / 2)
		n *= 2;
	return n < need ? 0 : n;
}

/* Makes room for `need` elements in the array `arr` of capacity `cap`
 * (both lvalues, updated only on success): 0 or -ENOMEM. */
#define GROW(arr, cap, need)                                                     \
	({                                                                       \
		size_t n_ = (need) <= (cap) ? (cap) : grown((cap), (need));      \
		int err_ = 0;                                                    \
		if (n_ > (cap)) {                                                \
			void *p_ = n_ <= SIZE_MAX / sizeof(*(arr))               \
					   ? realloc((arr), n_ * sizeof(*(arr))) \
					   : NULL;                               \
			if (p_) {                                                \
				(arr) = p_;                                      \
				(cap) = n_;                                      \
			} else {                                                 \
				err_ = -ENOMEM;                                  \
			}                                                        \
		} else if (n_ < (need)) {                                        \
			err_ = -ENOMEM;                                          \
		}                                                                \
		err_;                                                            \
	})

/* The hash tables' hash: fast, not stable across machines (nothing drawn
 * depends on it; colours use fg_name_hash32()). */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	uint64_t w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (len) {
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	}
	return mix64(h);
}

static uint64_t child_key(uint32_t parent, uint32_t name, unsigned int kind)
{
	return (uint64_t)parent << 32 | (uint64_t)name << 3 | kind;
}

uint32_t fg_name_hash32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

const char *flamegraph_kind_name(enum flamegraph_kind kind)
{
	static const char *const names[FLAMEGRAPH_KINDS] = {
		[FLAMEGRAPH_PYTHON] = "python",	      [FLAMEGRAPH_STDLIB] = "stdlib",
		[FLAMEGRAPH_LIBRARY] = "library",     [FLAMEGRAPH_NATIVE] = "native",
		[FLAMEGRAPH_KERNEL] = "kernel",	      [FLAMEGRAPH_OFF_CPU] = "off-cpu",
		[FLAMEGRAPH_SYNTHETIC] = "synthetic", [FLAMEGRAPH_ROOT] = "root",
	};

	return (unsigned int)kind < FLAMEGRAPH_KINDS ? names[kind] : "?";
}

static int name_table_grow(struct flamegraph *fg)
{
	size_t slots = (fg->name_mask + 1) * 2;
	uint32_t *t = calloc(slots, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t id = 0; id < fg->n_names; id++) {
		size_t i = fg->names[id].hash & (slots - 1);

		while (t[i])
			i = (i + 1) & (slots - 1);
		t[i] = id + 1;
	}
	free(fg->name_slots);
	fg->name_slots = t;
	fg->name_mask = slots - 1;
	return 0;
}

/* The id of the name s[0..len), interned if new. */
static int intern_name(struct flamegraph *fg, const char *s, size_t len, uint32_t *id)
{
	uint64_t h = hash_bytes(s, len);
	size_t i, id_new;
	char *copy;
	int err;

	if ((fg->n_names + 1) * 2 > fg->name_mask + 1) {
		err = name_table_grow(fg);
		if (err)
			return err;
	}
	for (i = h & fg->name_mask; fg->name_slots[i]; i = (i + 1) & fg->name_mask) {
		uint32_t k = fg->name_slots[i] - 1;

		if (fg->names[k].hash == h && fg->names[k].len == len &&
		    !memcmp(fg->names[k].s, s, len)) {
			*id = k;
			return 0;
		}
	}
	if (fg->n_names >= MAX_NAMES || len >= UINT32_MAX)
		return -EOVERFLOW;
	id_new = fg->n_names;
	if (GROW(fg->names, fg->cap_names, id_new + 1))
		return -ENOMEM;
	copy = arena_alloc(fg, len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	fg->names[id_new] = (struct fg_name){copy, h, len, FG_NO_GUESS};
	fg->name_slots[i] = id_new + 1;
	fg->n_names++;
	*id = id_new;
	return 0;
}

static int child_table_grow(struct flamegraph *fg)
{
	size_t slots = (fg->child_mask + 1) * 2;
	struct fg_child_slot *t = calloc(slots, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t j = 0; j <= fg->child_mask; j++) {
		const struct fg_child_slot *old = &fg->child_slots[j];
		size_t i;

		if (!old->id)
			continue;
		for (i = mix64(old->key) & (slots - 1); t[i].id; i = (i + 1) & (slots - 1))
			;
		t[i] = *old;
	}
	free(fg->child_slots);
	fg->child_slots = t;
	fg->child_mask = slots - 1;
	return 0;
}

/* Puts node id (child of parent) into the child table, which has room. */
static void index_child(struct flamegraph *fg, uint32_t id)
{
	const struct fg_node *n = &fg->nodes[id];
	uint64_t key = child_key(n->parent, n->name, n->kind);
	size_t i;

	for (i = mix64(key) & fg->child_mask; fg->child_slots[i].id; i = (i + 1) & fg->child_mask)
		;
	fg->child_slots[i] = (struct fg_child_slot){key, id};
	fg->n_indexed++;
}

/* The child (name, kind) of parent, created if new. */
static int child(struct flamegraph *fg, uint32_t parent, uint32_t name, unsigned int kind,
		 uint32_t *id)
{
	struct fg_node *p = &fg->nodes[parent];
	uint32_t c, new_id;
	int err;

	if (p->n_children <= FG_SCAN_CHILDREN) {
		for (c = p->first_child; c; c = fg->nodes[c].next_sibling) {
			if (fg->nodes[c].name == name && fg->nodes[c].kind == kind) {
				*id = c;
				return 0;
			}
		}
	} else {
		uint64_t key = child_key(parent, name, kind);
		size_t i;

		for (i = mix64(key) & fg->child_mask; fg->child_slots[i].id;
		     i = (i + 1) & fg->child_mask) {
			if (fg->child_slots[i].key == key) {
				*id = fg->child_slots[i].id;
				return 0;
			}
		}
	}

	if (fg->n_nodes >= MAX_NODES)
		return -EOVERFLOW;
	/* room for this child, or for its whole family when it is indexed */
	while ((fg->n_indexed + FG_SCAN_CHILDREN + 1) * 2 > fg->child_mask + 1) {
		err = child_table_grow(fg);
		if (err)
			return err;
	}
	if (GROW(fg->nodes, fg->cap_nodes, fg->n_nodes + 1))
		return -ENOMEM;
	p = &fg->nodes[parent];
	new_id = fg->n_nodes++;
	fg->nodes[new_id] = (struct fg_node){
		.name = name,
		.parent = parent,
		.depth = p->depth + 1,
		.next_sibling = p->first_child,
		.kind = kind,
	};
	p->first_child = new_id;
	p->n_children++;
	if (p->depth + 1 > fg->max_depth)
		fg->max_depth = p->depth + 1;
	if (p->n_children == FG_SCAN_CHILDREN + 1) {
		for (c = p->first_child; c; c = fg->nodes[c].next_sibling)
			index_child(fg, c);
	} else if (p->n_children > FG_SCAN_CHILDREN + 1) {
		index_child(fg, new_id);
	}
	*id = new_id;
	return 0;
}

struct flamegraph *flamegraph__new(void)
{
	struct flamegraph *fg = calloc(1, sizeof(*fg));
	uint32_t root_name;

	if (!fg)
		goto fail;
	fg->name_slots = calloc(INITIAL_SLOTS, sizeof(*fg->name_slots));
	fg->child_slots = calloc(INITIAL_SLOTS, sizeof(*fg->child_slots));
	if (!fg->name_slots || !fg->child_slots)
		goto fail;
	fg->name_mask = INITIAL_SLOTS - 1;
	fg->child_mask = INITIAL_SLOTS - 1;
	if (GROW(fg->nodes, fg->cap_nodes, 1) || intern_name(fg, "all", 3, &root_name))
		goto fail;
	fg->nodes[0] = (struct fg_node){.name = root_name, .kind = FLAMEGRAPH_ROOT};
	fg->n_nodes = 1;
	return fg;
fail:
	flamegraph__free(fg);
	errno = ENOMEM;
	return NULL;
}

void flamegraph__free(struct flamegraph *fg)
{
	struct fg_arena_chunk *c, *next;

	if (!fg)
		return;
	for (c = fg->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	free(fg->nodes);
	free(fg->names);
	free(fg->name_slots);
	free(fg->child_slots);
	free(fg->last);
	free(fg->path);
	free(fg);
}

uint64_t flamegraph__total(const struct flamegraph *fg)
{
	return fg ? fg->nodes[0].total : 0;
}

/* Is the stack's frame f (named `name`) node `id` of the last stack? */
static bool same_as_last(const struct flamegraph *fg, uint32_t id, const struct flamegraph_frame *f,
			 const char *name)
{
	const struct fg_node *n = &fg->nodes[id];

	if (f->kind == FLAMEGRAPH_GUESS ? !n->guessed : f->kind != n->kind)
		return false;
	return !strcmp(fg->names[n->name].s, name);
}

int flamegraph__add(struct flamegraph *fg, const struct flamegraph_frame *frames, size_t n,
		    uint64_t weight)
{
	uint32_t parent = 0, *swap;
	bool prefix = true, off = false;
	size_t swap_cap;
	int err;

	if (!fg || (!frames && n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned int)frames[i].kind > FLAMEGRAPH_GUESS)
			return -EINVAL;
	if (!weight)
		return 0;
	if (fg->nodes[0].total > UINT64_MAX - weight || n >= MAX_NODES)
		return -EOVERFLOW;
	if (GROW(fg->path, fg->cap_path, n))
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		const char *name = frames[i].name ? frames[i].name : "";
		unsigned int kind = frames[i].kind;
		uint32_t name_id, id;

		if (prefix && i < fg->n_last && same_as_last(fg, fg->last[i], &frames[i], name)) {
			id = fg->last[i];
		} else {
			prefix = false;
			err = intern_name(fg, name, strlen(name), &name_id);
			if (err)
				return err;
			if (kind == FLAMEGRAPH_GUESS) {
				/* once per distinct name */
				struct fg_name *nm = &fg->names[name_id];

				if (nm->guess == FG_NO_GUESS)
					nm->guess = flamegraph_kind_from_label(name);
				kind = nm->guess;
			}
			err = child(fg, parent, name_id, kind, &id);
			if (err)
				return err;
			if (frames[i].kind == FLAMEGRAPH_GUESS)
				fg->nodes[id].guessed = 1;
		}
		fg->path[i] = id;
		parent = id;
		if (fg->nodes[id].kind == FLAMEGRAPH_OFF_CPU)
			off = true;
	}

	fg->nodes[0].total += weight;
	if (off)
		fg->nodes[0].off_cpu += weight;
	for (size_t i = 0; i < n; i++) {
		struct fg_node *node = &fg->nodes[fg->path[i]];

		node->total += weight;
		if (off)
			node->off_cpu += weight;
	}
	/* this stack's path is the next one's prefix cache */
	swap = fg->last;
	swap_cap = fg->cap_last;
	fg->last = fg->path;
	fg->cap_last = fg->cap_path;
	fg->n_last = n;
	fg->path = swap;
	fg->cap_path = swap_cap;
	return 0;
}

/* ---- walks in drawing order ---- */

struct walk_item {
	uint32_t id;
	uint64_t start;
};

struct fg_walker {
	const struct flamegraph *fg;
	uint32_t *first; /* children of node i: kids[first[i] .. first[i + 1]) */
	uint32_t *kids;
	uint8_t *sorted; /* per node: its children are sorted */
	struct walk_item *stack;
	size_t cap_stack;
};

struct fg_walker *fg_walker__new(const struct flamegraph *fg)
{
	struct fg_walker *w = calloc(1, sizeof(*w));
	size_t n = fg->n_nodes;
	uint32_t *fill = NULL;

	if (!w)
		goto fail;
	w->fg = fg;
	w->first = calloc(n + 1, sizeof(*w->first));
	w->kids = malloc(n * sizeof(*w->kids));
	w->sorted = calloc(n, 1);
	fill = malloc((n + 1) * sizeof(*fill));
	if (!w->first || !w->kids || !w->sorted || !fill)
		goto fail;
	/* counting sort of the nodes with weight by parent */
	for (size_t i = 1; i < n; i++)
		if (fg->nodes[i].total)
			w->first[fg->nodes[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		w->first[i + 1] += w->first[i];
	memcpy(fill, w->first, (n + 1) * sizeof(*fill));
	for (size_t i = 1; i < n; i++)
		if (fg->nodes[i].total)
			w->kids[fill[fg->nodes[i].parent]++] = i;
	free(fill);
	return w;
fail:
	free(fill);
	fg_walker__free(w);
	errno = ENOMEM;
	return NULL;
}

void fg_walker__free(struct fg_walker *w)
{
	if (!w)
		return;
	free(w->first);
	free(w->kids);
	free(w->sorted);
	free(w->stack);
	free(w);
}

static int sibling_cmp(const void *a, const void *b, void *ctx)
{
	const struct flamegraph *fg = ctx;
	const struct fg_node *x = &fg->nodes[*(const uint32_t *)a];
	const struct fg_node *y = &fg->nodes[*(const uint32_t *)b];
	int c = x->name == y->name ? 0 : strcmp(fg->names[x->name].s, fg->names[y->name].s);

	if (c)
		return c;
	return (x->kind > y->kind) - (x->kind < y->kind);
}

int fg_walker__walk(struct fg_walker *w, bool (*keep)(const struct fg_node *n, void *ctx),
		    int (*visit)(uint32_t id, uint64_t start, void *ctx), void *ctx)
{
	const struct flamegraph *fg = w->fg;
	size_t top = 0;
	int ret;

	if (!fg->nodes[0].total || (keep && !keep(&fg->nodes[0], ctx)))
		return 0;
	if (GROW(w->stack, w->cap_stack, 1))
		return -ENOMEM;
	w->stack[top++] = (struct walk_item){0, 0};
	while (top) {
		struct walk_item it = w->stack[--top];
		uint32_t *kids = w->kids + w->first[it.id];
		size_t nk = w->first[it.id + 1] - w->first[it.id], kept = 0;
		uint64_t start = it.start;

		ret = visit(it.id, it.start, ctx);
		if (ret)
			return ret;
		if (!nk)
			continue;
		if (!w->sorted[it.id]) {
			qsort_r(kids, nk, sizeof(*kids), sibling_cmp, (void *)fg);
			w->sorted[it.id] = 1;
		}
		if (GROW(w->stack, w->cap_stack, top + nk))
			return -ENOMEM;
		/* kept children in order, then reversed: the first pops first */
		for (size_t j = 0; j < nk; j++) {
			const struct fg_node *c = &fg->nodes[kids[j]];

			if (!keep || keep(c, ctx))
				w->stack[top + kept++] = (struct walk_item){kids[j], start};
			start += c->total;
		}
		for (size_t a = top, b = top + kept; a + 1 < b; a++, b--) {
			struct walk_item t = w->stack[a];

			w->stack[a] = w->stack[b - 1];
			w->stack[b - 1] = t;
		}
		top += kept;
	}
	return 0;
}

struct foreach_ctx {
	const struct flamegraph *fg;
	int (*cb)(const struct flamegraph_node *node, void *ctx);
	void *ctx;
};

static int foreach_visit(uint32_t id, uint64_t start, void *ctx)
{
	struct foreach_ctx *f = ctx;
	const struct fg_node *n = &f->fg->nodes[id];
	struct flamegraph_node node = {
		.name = f->fg->names[n->name].s,
		.kind = n->kind,
		.depth = n->depth,
		.start = start,
		.total = n->total,
		.off_cpu = n->off_cpu,
	};

	return f->cb(&node, f->ctx);
}

int flamegraph__foreach(const struct flamegraph *fg,
			int (*cb)(const struct flamegraph_node *node, void *ctx), void *ctx)
{
	struct foreach_ctx f = {fg, cb, ctx};
	struct fg_walker *w;
	int ret;

	if (!fg || !cb)
		return -EINVAL;
	w = fg_walker__new(fg);
	if (!w)
		return -ENOMEM;
	ret = fg_walker__walk(w, NULL, foreach_visit, &f);
	fg_walker__free(w);
	return ret;
}
