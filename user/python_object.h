/* SPDX-License-Identifier: MIT */
/*
 * Reading CPython objects out of another process: dicts, ints, strs and
 * instance attributes, 3.6 to 3.14, through a memory-reader callback. The
 * same code reads a live process (process_vm_readv) or synthetic memory in
 * tests; nothing here knows about pids.
 *
 * Target memory is hostile input, torn by the running program or garbage:
 * every size is validated, every walk bounded, and a malformed object gives
 * -EINVAL (or the reader's -errno), never a crash or a long loop.
 */
#ifndef PYEBPF_PYTHON_OBJECT_H
#define PYEBPF_PYTHON_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python_layout.h"

/* Reads the target's memory. */
struct py_reader {
	/* Copy `len` bytes at `addr` into `buf`, all or nothing: 0, or
	 * -errno (-EFAULT when any of it is unreadable, -ESRCH when the
	 * process is gone). */
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	void *ctx;
};

/* Most entries read from one dict in one call, and the largest table
 * accepted (dk_size): larger ones are taken for garbage. */
#define PY_DICT_MAX_ENTRIES (1u << 16)
#define PY_DICT_MAX_SIZE (1u << 20)
/* Longest key py_items_find() looks for. */
#define PY_KEY_MAX 64

/*
 * Whether `layout` has every offset this module needs (and sane ones):
 * false for a layout without them (e.g. a newer CPython whose debug offsets
 * lack some), in which case no function here may be called with it.
 */
bool py_object_layout_ok(const struct py_layout *layout);

/* A dict's table: its keys object and, for a split table, the values. */
struct py_table {
	uint64_t keys;	 /* PyDictKeysObject * */
	uint64_t values; /* PyDictValues * (PyObject ** before 3.11), or 0
			    when the values are in the entries */
};

/* The attribute-related fields of a type object. */
struct py_type {
	uint64_t addr;
	uint64_t flags;	      /* tp_flags */
	int64_t basicsize;    /* tp_basicsize */
	int64_t dictoffset;   /* tp_dictoffset */
	uint64_t cached_keys; /* ht_cached_keys of a heap type, else 0 */
};

/* One key/value pair of a table. */
struct py_item {
	uint64_t index;	     /* of the entry in the table */
	uint64_t hash;	     /* the hash stored with the entry, if has_hash */
	uint64_t key, value; /* never 0 */
	bool has_hash;	     /* entries {hash, key, value}: 3.6 - 3.10, and
				3.11+ tables with keys other than str */
};

/* The items read from a table; a buffer reused from call to call. */
struct py_items {
	struct py_item *item;
	size_t n;
	uint64_t next; /* the entry after the last one read: dk_nentries
			  unless `max` stopped the reading */
	/* private */
	size_t cap;
	uint8_t *raw;
	size_t raw_cap;
};

/* Free the buffers of `items` (not the struct itself); NULL is fine. */
void py_items__release(struct py_items *items);

/* ob_type of the object at `addr`. 0 or -errno. */
int py_object_type(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		   uint64_t *type);

/* Read the fields of the type object at `addr`. 0 or -errno. */
int py_type_read(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		 struct py_type *out);

/*
 * The table of the dict at `dict`; with `dict_type` not 0, the object must
 * have that ob_type (&PyDict_Type), else -EINVAL. 0 or -errno.
 */
int py_dict_table(const struct py_reader *r, const struct py_layout *l, uint64_t dict,
		  uint64_t dict_type, struct py_table *out);

/*
 * Where the instance at `obj`, of type `type` (py_type_read()), keeps its
 * attributes: its __dict__'s table, or the type's shared keys and the
 * object's own values (3.11+ managed dicts, 3.13+ inline values).
 * `dict_type` as for py_dict_table(). 0; -ENOENT when it has none (yet);
 * -EINVAL for a layout this module does not read (a negative tp_dictoffset)
 * or garbage; other -errno from the reader.
 */
int py_object_table(const struct py_reader *r, const struct py_layout *l, uint64_t obj,
		    const struct py_type *type, uint64_t dict_type, struct py_table *out);

/*
 * Read the items of entries [first, first + max) of table `t` (max at most
 * PY_DICT_MAX_ENTRIES) into `out`, skipping deleted and empty ones: at most
 * three reads (keys header, entries, split values). 0 or -errno; on error
 * `out` holds no items.
 */
int py_table_items(const struct py_reader *r, const struct py_layout *l, const struct py_table *t,
		   uint64_t first, size_t max, struct py_items *out);

/*
 * The values of a split table at entry indices index[0..n): value[i] is 0
 * where the object has no such attribute. `nentries` is the table's
 * dk_nentries; indices past it, or (3.13+) past the values' capacity,
 * give 0. One read. 0 or -errno.
 */
int py_split_values(const struct py_reader *r, const struct py_layout *l, uint64_t values,
		    uint64_t nentries, const uint64_t *index, size_t n, uint64_t *value);

/*
 * A str key looked for by its characters, remembering where it was found:
 * attribute names are interned, so the next object's table holds the same
 * str object, and comparing its address saves reading every key.
 */
struct py_key {
	const char *name; /* ASCII, at most PY_KEY_MAX bytes */
	uint64_t addr;	  /* in/out: a str object equal to `name`, 0 if none */
	uint64_t type;	  /* out: that object's ob_type (&PyUnicode_Type) */
	uint64_t checked; /* in/out: the `pass` in which `addr` was last read
			     and still held `name` */
};

/*
 * Find keys[0..n) among `items`: value[i] receives the item's value, or 0
 * if missing, and index[i] (if `index` is not NULL) its entry index. An
 * item whose key is keys[i].addr matches once that str has been read again
 * in this `pass` (a number the caller increments, e.g. per refresh); while
 * keys are missing the other items' keys are read and compared, one read
 * each, and a match updates keys[i]. Returns how many keys were found.
 */
size_t py_items_find(const struct py_reader *r, const struct py_layout *l,
		     const struct py_items *items, struct py_key *keys, size_t n, uint64_t pass,
		     uint64_t *value, uint64_t *index);

/*
 * 1 if the object at `addr` is a compact ASCII str equal to `s` (at most
 * PY_KEY_MAX bytes), 0 if it is something else; with 1, *type (if not
 * NULL) receives its ob_type. -errno when it cannot be read.
 */
int py_str_equals(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		  const char *s, uint64_t *type);

/*
 * The str at `addr` as UTF-8 in out[size] (NUL-terminated, cut at a
 * character boundary when longer). With `type` not 0 the object must have
 * that ob_type. 0; -EINVAL when it is not a sane str; other -errno.
 */
int py_str_utf8(const struct py_reader *r, const struct py_layout *l, uint64_t addr, uint64_t type,
		char *out, size_t size);

/*
 * The int at `addr`, if it fits in 63 bits. 0; -ERANGE when it does not;
 * -EINVAL when it is no sane int; other -errno.
 */
int py_long_value(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		  int64_t *value);

#endif /* PYEBPF_PYTHON_OBJECT_H */
