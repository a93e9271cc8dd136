/* SPDX-License-Identifier: MIT */
/*
 * Inside the flame graph library: the tree, and a walk over it in drawing
 * order. Not part of the public API (flamegraph.h).
 */
#ifndef PYEBPF_FG_TREE_H
#define PYEBPF_FG_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flamegraph.h"

/* Node 0 is the root ("all"); every other node has a parent below it. */
struct fg_node {
	uint64_t total;	  /* weight of the stacks through this node */
	uint64_t off_cpu; /* the part of total from off-CPU stacks */
	uint32_t name;	  /* index into flamegraph.names */
	uint32_t parent;
	uint32_t depth;
	uint32_t first_child, next_sibling; /* 0: none (the root is nobody's) */
	uint32_t n_children;
	uint8_t kind;	 /* enum flamegraph_kind, never FLAMEGRAPH_GUESS */
	uint8_t guessed; /* kind is known to be flamegraph_kind_from_label() of
			    the name (a FLAMEGRAPH_GUESS frame found it), so
			    such frames match it by name alone */
};

struct fg_arena_chunk;

struct fg_name {
	const char *s; /* NUL-terminated, in the arena */
	uint64_t hash; /* the hash table's, not the colours' */
	uint32_t len;
	uint8_t guess; /* flamegraph_kind_from_label(s), or FG_NO_GUESS yet */
};
#define FG_NO_GUESS 0xff
#define FG_SCAN_CHILDREN 4

/* A slot of the child table: the key (parent, name, kind) packed as
 * parent << 32 | name << 3 | kind, and the node; id 0 is an empty slot. */
struct fg_child_slot {
	uint64_t key;
	uint32_t id;
};

struct flamegraph {
	struct fg_node *nodes;
	size_t n_nodes, cap_nodes;

	struct fg_name *names; /* interned, by id */
	size_t n_names, cap_names;
	uint32_t *name_slots; /* open addressing: name id + 1, 0 empty */
	size_t name_mask;     /* slots - 1, a power of two minus one */

	/* Children are found by walking the parent's sibling list while it
	 * has at most FG_SCAN_CHILDREN, then in this open-addressing table
	 * (which holds only the children of such larger families; the keys
	 * live in the table, so a probe reads no node). A new node's
	 * children, the common case when a stack leaves the known tree, are
	 * then created without touching the table at all. */
	struct fg_child_slot *child_slots;
	size_t child_mask, n_indexed;

	struct fg_arena_chunk *arena;

	/* the nodes of the last stack added, root excluded: consecutive
	 * stacks (sorted folded files) mostly share a prefix, found here by
	 * comparing names instead of hashing them */
	uint32_t *last;
	size_t n_last, cap_last;
	uint32_t *path; /* scratch: the nodes of the stack being added */
	size_t cap_path;

	uint32_t max_depth;
};

/* The text of node id's name. */
static inline const char *fg_node_name(const struct flamegraph *fg, uint32_t id)
{
	return fg->names[fg->nodes[id].name].s;
}

/*
 * A walk in drawing order: depth first, parents before children, siblings
 * bytewise by name then by kind, skipping nodes without weight. `keep`
 * (may be NULL: keep all) decides whether a node and its subtree are
 * visited. The sorted child lists are built on the first walk and kept in
 * the walker, so a second walk is cheaper.
 */
struct fg_walker;

struct fg_walker *fg_walker__new(const struct flamegraph *fg); /* NULL, errno */
void fg_walker__free(struct fg_walker *w);

/* Calls visit(id, start, ctx) for every node kept, start being the node's
 * offset in weight units from the left edge. Stops at the first nonzero
 * return and returns it; 0, or -ENOMEM. */
int fg_walker__walk(struct fg_walker *w, bool (*keep)(const struct fg_node *n, void *ctx),
		    int (*visit)(uint32_t id, uint64_t start, void *ctx), void *ctx);

/* FNV-1a (32 bits) of s: the stable hash colours are chosen by. */
uint32_t fg_name_hash32(const char *s);

#endif /* PYEBPF_FG_TREE_H */
