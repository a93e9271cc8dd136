// SPDX-License-Identifier: MIT
/*
 * Reading CPython dicts, ints, strs and instance attributes over a memory
 * reader. The structures, as the layouts describe them:
 *
 *   PyDictObject     {PyObject_HEAD; ma_used; ma_version_tag; ma_keys;
 *                     ma_values}
 *   PyDictKeysObject 3.6 - 3.10: {dk_refcnt; Py_ssize_t dk_size; dk_lookup;
 *                     dk_usable; dk_nentries; dk_indices[]}, indices of
 *                     1, 2, 4 or 8 bytes by dk_size, then the entries
 *                     {hash, key, value};
 *                    3.11+: {dk_refcnt; uint8_t dk_log2_size,
 *                     dk_log2_index_bytes, dk_kind; dk_version; dk_usable;
 *                     dk_nentries; dk_indices[]}, 1 << dk_log2_index_bytes
 *                     bytes of indices, then {hash, key, value} entries
 *                     (DICT_KEYS_GENERAL) or {key, value} ones (UNICODE,
 *                     SPLIT)
 *   split tables     values in ma_values, by entry index: a bare array
 *                     (3.6 - 3.10), a PyDictValues {values[]} (3.11, 3.12)
 *                     or {capacity, size, embedded, valid; values[]} (3.13+)
 *   PyLongObject     30-bit digits after ob_size (signed digit count) or,
 *                     3.12+, after lv_tag (digit count << 3 | sign)
 *
 * Only the entries are read, never the hash index: walking every entry is
 * as cheap (one read) and needs no hash of the key.
 */
#include "python_object.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "python_string.h"

/* PyTypeObject.tp_flags bits (Include/object.h) */
#define TPFLAGS_INLINE_VALUES (1ull << 2) /* 3.13+ */
#define TPFLAGS_MANAGED_DICT (1ull << 4)  /* 3.11+ */
#define TPFLAGS_HEAPTYPE (1ull << 9)	  /* all versions */

/* enum DictKeysKind, 3.11 to 3.14 (Include/internal/pycore_dict.h) */
#define DICT_KEYS_GENERAL 0
#define DICT_KEYS_UNICODE 1
#define DICT_KEYS_SPLIT 2

/* In 8-byte words before an object of a managed-dict type (3.11+, GIL
 * builds; Include/internal/pycore_object.h): the dict at -3 and, in 3.11
 * only, the values at -4. */
#define MANAGED_DICT_OFFSET (-3 * 8)
#define MANAGED_VALUES_OFFSET_311 (-4 * 8)

/* Bounds on what a sane layout or object holds. */
#define MAX_HEADER_OFFSET 256 /* of a field in a small object's header */
#define MAX_TYPE_OFFSET 4096  /* of a field in a (heap) type object */
#define MAX_BASICSIZE (1 << 16)
#define MAX_DICTOFFSET (1 << 16)
#define LONG_MAX_DIGITS 3 /* 90 bits: enough for any 63-bit value */
#define LONG_DIGIT_BITS 30
_Static_assert(PY_DICT_MAX_SIZE == 1u << 20, "keys_shape() checks log2 sizes against 20");

static bool in_range(int off, int limit)
{
	return off >= 0 && off <= limit;
}

static int max3(int a, int b, int c)
{
	int m = a > b ? a : b;

	return m > c ? m : c;
}

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;

	return m < c ? m : c;
}

bool py_object_layout_ok(const struct py_layout *l)
{
	if (!l)
		return false;
	/* str: what py_str_* read from the PyASCIIObject part */
	if (!in_range(l->object_type, MAX_HEADER_OFFSET - 8) ||
	    !in_range(l->unicode_length, MAX_HEADER_OFFSET - 8) ||
	    !in_range(l->unicode_state, MAX_HEADER_OFFSET - 4) ||
	    !in_range(l->unicode_ascii_size, MAX_HEADER_OFFSET) ||
	    !in_range(l->unicode_compact_size, MAX_HEADER_OFFSET - 8) ||
	    l->unicode_compact_size <= l->unicode_ascii_size ||
	    l->object_type + 8 > l->unicode_ascii_size ||
	    l->unicode_length + 8 > l->unicode_ascii_size ||
	    l->unicode_state + 4 > l->unicode_ascii_size)
		return false;
	if (!in_range(l->interp_modules, 1 << 24) ||
	    !in_range(l->module_dict, MAX_HEADER_OFFSET - 8) ||
	    !in_range(l->type_basicsize, MAX_TYPE_OFFSET - 8) ||
	    !in_range(l->type_flags, MAX_TYPE_OFFSET - 8) ||
	    !in_range(l->type_dictoffset, MAX_TYPE_OFFSET - 8) ||
	    !in_range(l->dict_keys, MAX_HEADER_OFFSET - 8) ||
	    !in_range(l->dict_values, MAX_HEADER_OFFSET - 8) ||
	    l->object_type + 8 > MAX_HEADER_OFFSET)
		return false;
	/* the keys header: everything up to the indices */
	if (!in_range(l->dictkeys_indices, MAX_HEADER_OFFSET) ||
	    !in_range(l->dictkeys_nentries, l->dictkeys_indices - 8) ||
	    l->dictkeys_entry_size != 24)
		return false;
	if (l->dictkeys_size >= 0) {
		if (l->dictkeys_size > l->dictkeys_indices - 8)
			return false;
	} else if (!in_range(l->dictkeys_log2_size, l->dictkeys_indices - 1) ||
		   !in_range(l->dictkeys_log2_index_bytes, l->dictkeys_indices - 1) ||
		   !in_range(l->dictkeys_kind, l->dictkeys_indices - 1) ||
		   l->dictkeys_unicode_entry_size != 16) {
		return false;
	}
	if (!in_range(l->dictvalues_values, 64))
		return false;
	/* ints */
	if (!in_range(l->long_digits, MAX_HEADER_OFFSET - 4 * LONG_MAX_DIGITS))
		return false;
	if ((l->long_size >= 0) == (l->long_tag >= 0))
		return false;
	if (l->long_size + 8 > l->long_digits || l->long_tag + 8 > l->long_digits)
		return false;
	/* instance attributes */
	switch (l->attrs_kind) {
	case PY_ATTRS_DICTOFFSET:
		return true;
	case PY_ATTRS_MANAGED_311:
	case PY_ATTRS_MANAGED_312:
		return in_range(l->heaptype_cached_keys, MAX_TYPE_OFFSET - 8);
	case PY_ATTRS_INLINE_313:
		return in_range(l->heaptype_cached_keys, MAX_TYPE_OFFSET - 8) &&
		       in_range(l->dictvalues_capacity, l->dictvalues_values - 1) &&
		       in_range(l->dictvalues_valid, l->dictvalues_values - 1);
	}
	return false;
}

/* ---- reading ------------------------------------------------------------ */

static int rd(const struct py_reader *r, uint64_t addr, void *buf, size_t len)
{
	if (!len)
		return 0;
	if (!addr || addr + len < addr)
		return -EFAULT;
	return r->read(r->ctx, addr, buf, len);
}

static int rd_u64(const struct py_reader *r, uint64_t addr, uint64_t *v)
{
	return rd(r, addr, v, sizeof(*v));
}

static uint64_t get_u64(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/*
 * Read `want` bytes at `addr`, or only the first `need` when that fails:
 * an object may end, at the end of a mapping, before `want`. The number of
 * bytes read, or -errno.
 */
static long rd_flex(const struct py_reader *r, uint64_t addr, void *buf, size_t need, size_t want)
{
	int err = rd(r, addr, buf, want);

	if (!err)
		return (long)want;
	if (err != -EFAULT || need >= want)
		return err;
	err = rd(r, addr, buf, need);
	return err ? err : (long)need;
}

static int grow(struct py_items *items, size_t n, size_t raw)
{
	if (n > items->cap) {
		struct py_item *p = realloc(items->item, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		items->item = p;
		items->cap = n;
	}
	if (raw > items->raw_cap) {
		uint8_t *p = realloc(items->raw, raw);

		if (!p)
			return -ENOMEM;
		items->raw = p;
		items->raw_cap = raw;
	}
	return 0;
}

void py_items__release(struct py_items *items)
{
	if (!items)
		return;
	free(items->item);
	free(items->raw);
	memset(items, 0, sizeof(*items));
}

/* ---- types, dicts and instances ------------------------------------------ */

int py_object_type(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		   uint64_t *type)
{
	int err = rd_u64(r, addr + (uint64_t)l->object_type, type);

	if (err)
		return err;
	return *type ? 0 : -EINVAL;
}

int py_type_read(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		 struct py_type *out)
{
	uint8_t buf[MAX_TYPE_OFFSET];
	int lo = min3(l->type_basicsize, l->type_flags, l->type_dictoffset);
	int hi = max3(l->type_basicsize, l->type_flags, l->type_dictoffset) + 8;
	struct py_type t = {.addr = addr};
	int err;

	err = rd(r, addr + (uint64_t)lo, buf, (size_t)(hi - lo));
	if (err)
		return err;
	t.flags = get_u64(buf, (size_t)(l->type_flags - lo));
	t.basicsize = (int64_t)get_u64(buf, (size_t)(l->type_basicsize - lo));
	t.dictoffset = (int64_t)get_u64(buf, (size_t)(l->type_dictoffset - lo));
	/* only heap types have ht_cached_keys; only managed dicts use it */
	if (l->attrs_kind != PY_ATTRS_DICTOFFSET && (t.flags & TPFLAGS_HEAPTYPE) &&
	    (t.flags & TPFLAGS_MANAGED_DICT)) {
		err = rd_u64(r, addr + (uint64_t)l->heaptype_cached_keys, &t.cached_keys);
		if (err)
			return err;
	}
	*out = t;
	return 0;
}

int py_dict_table(const struct py_reader *r, const struct py_layout *l, uint64_t dict,
		  uint64_t dict_type, struct py_table *out)
{
	uint8_t buf[MAX_HEADER_OFFSET];
	int len = max3(l->object_type, l->dict_keys, l->dict_values) + 8;
	int err = rd(r, dict, buf, (size_t)len);

	if (err)
		return err;
	if (dict_type && get_u64(buf, (size_t)l->object_type) != dict_type)
		return -EINVAL;
	out->keys = get_u64(buf, (size_t)l->dict_keys);
	out->values = get_u64(buf, (size_t)l->dict_values);
	return out->keys ? 0 : -EINVAL;
}

/* Attributes in the object's own values, keyed by the class's shared keys. */
static int shared_table(const struct py_type *type, uint64_t values, struct py_table *out)
{
	if (!type->cached_keys || !values)
		return -EINVAL;
	out->keys = type->cached_keys;
	out->values = values;
	return 0;
}

/* The dict whose address is at `ptr`: -ENOENT when there is none yet. */
static int dict_at(const struct py_reader *r, const struct py_layout *l, uint64_t ptr,
		   uint64_t dict_type, struct py_table *out)
{
	uint64_t dict;
	int err = rd_u64(r, ptr, &dict);

	if (err)
		return err;
	if (!dict)
		return -ENOENT;
	return py_dict_table(r, l, dict, dict_type, out);
}

int py_object_table(const struct py_reader *r, const struct py_layout *l, uint64_t obj,
		    const struct py_type *type, uint64_t dict_type, struct py_table *out)
{
	bool managed = type->flags & TPFLAGS_MANAGED_DICT;
	uint64_t w[2];
	uint8_t valid;
	int err;

	if (obj < 4 * 8)
		return -EFAULT;
	switch (l->attrs_kind) {
	case PY_ATTRS_DICTOFFSET:
		break;
	case PY_ATTRS_MANAGED_311:
		if (!managed)
			break;
		/* values at -4 words, dict at -3 */
		err = rd(r, obj + MANAGED_VALUES_OFFSET_311, w, sizeof(w));
		if (err)
			return err;
		if (w[0])
			return shared_table(type, w[0], out);
		if (w[1])
			return py_dict_table(r, l, w[1], dict_type, out);
		return -ENOENT;
	case PY_ATTRS_MANAGED_312:
		if (!managed)
			break;
		/* PyDictOrValues: values - 1 (so odd), or a dict */
		err = rd_u64(r, obj + MANAGED_DICT_OFFSET, &w[0]);
		if (err)
			return err;
		if (w[0] & 1)
			return shared_table(type, w[0] + 1, out);
		if (w[0])
			return py_dict_table(r, l, w[0], dict_type, out);
		return -ENOENT;
	case PY_ATTRS_INLINE_313:
		if (type->flags & TPFLAGS_INLINE_VALUES) {
			if (type->basicsize < 16 || type->basicsize > MAX_BASICSIZE ||
			    type->basicsize % 8)
				return -EINVAL;
			/* valid until the values move into a dict of their own */
			err = rd(r, obj + (uint64_t)type->basicsize + (uint64_t)l->dictvalues_valid,
				 &valid, 1);
			if (err)
				return err;
			if (valid)
				return shared_table(type, obj + (uint64_t)type->basicsize, out);
		}
		if (managed)
			return dict_at(r, l, obj + MANAGED_DICT_OFFSET, dict_type, out);
		break;
	default:
		return -EINVAL;
	}
	/* a __dict__ slot inside the object; negative offsets count from the
	 * end of variable-size objects (int or tuple subclasses): not read */
	if (type->dictoffset == 0)
		return -ENOENT;
	if (type->dictoffset < 0 || type->dictoffset > MAX_DICTOFFSET)
		return -EINVAL;
	return dict_at(r, l, obj + (uint64_t)type->dictoffset, dict_type, out);
}

/* ---- table entries ------------------------------------------------------- */

/* The shape of a keys object, from its header. */
struct keys_shape {
	uint64_t nentries;
	uint64_t entries; /* address of entry 0 */
	size_t entry_size;
	bool has_hash;
};

static int keys_shape(const struct py_reader *r, const struct py_layout *l,
		      const struct py_table *t, struct keys_shape *out)
{
	uint8_t buf[MAX_HEADER_OFFSET];
	uint64_t size, index_bytes;
	int64_t nentries;
	int err = rd(r, t->keys, buf, (size_t)l->dictkeys_indices);

	if (err)
		return err;
	nentries = (int64_t)get_u64(buf, (size_t)l->dictkeys_nentries);
	if (l->dictkeys_size >= 0) {
		/* 3.6 - 3.10: indices as wide as the size needs */
		size = get_u64(buf, (size_t)l->dictkeys_size);
		if (size == 0 || size > PY_DICT_MAX_SIZE || (size & (size - 1)))
			return -EINVAL;
		index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
		out->entry_size = (size_t)l->dictkeys_entry_size;
		out->has_hash = true;
	} else {
		unsigned int log2 = buf[l->dictkeys_log2_size];
		unsigned int log2_index = buf[l->dictkeys_log2_index_bytes];
		unsigned int kind = buf[l->dictkeys_kind];

		if (log2 > 20) /* PY_DICT_MAX_SIZE */
			return -EINVAL;
		/* new_keys_object(): 1-byte indices below 2^8 slots, 2 below
		 * 2^16, 4 below 2^32 */
		if (log2_index != log2 + (log2 < 8 ? 0 : log2 < 16 ? 1 : 2))
			return -EINVAL;
		size = 1ull << log2;
		index_bytes = 1ull << log2_index;
		if (kind == DICT_KEYS_GENERAL)
			out->entry_size = (size_t)l->dictkeys_entry_size;
		else if (kind == DICT_KEYS_UNICODE || kind == DICT_KEYS_SPLIT)
			out->entry_size = (size_t)l->dictkeys_unicode_entry_size;
		else
			return -EINVAL;
		out->has_hash = kind == DICT_KEYS_GENERAL;
		/* values apart iff the keys are a split table */
		if ((kind == DICT_KEYS_SPLIT) != (t->values != 0))
			return -EINVAL;
	}
	/* the shared empty keys have one slot and no entries */
	if (nentries < 0 || (uint64_t)nentries > size || (size < 8 && nentries))
		return -EINVAL;
	out->nentries = (uint64_t)nentries;
	out->entries = t->keys + (uint64_t)l->dictkeys_indices + index_bytes;
	return 0;
}

int py_table_items(const struct py_reader *r, const struct py_layout *l, const struct py_table *t,
		   uint64_t first, size_t max, struct py_items *out)
{
	struct keys_shape s;
	size_t count, i, raw_entries, raw_values = 0, key_at, value_at;
	uint64_t capacity = UINT64_MAX;
	const uint8_t *values = NULL;
	int err;

	out->n = 0;
	out->next = first;
	err = keys_shape(r, l, t, &s);
	if (err)
		return err;
	if (max > PY_DICT_MAX_ENTRIES)
		max = PY_DICT_MAX_ENTRIES;
	count = first < s.nentries ? (size_t)(s.nentries - first) : 0;
	if (count > max)
		count = max;
	if (!count) {
		out->next = first > s.nentries ? first : s.nentries;
		return 0;
	}
	raw_entries = count * s.entry_size;
	if (t->values)
		raw_values = (size_t)l->dictvalues_values + (first + count) * 8;
	err = grow(out, count, raw_entries + raw_values);
	if (err)
		return err;
	err = rd(r, s.entries + first * s.entry_size, out->raw, raw_entries);
	if (!err && t->values)
		err = rd(r, t->values, out->raw + raw_entries, raw_values);
	if (err)
		return err;
	if (t->values) {
		values = out->raw + raw_entries + l->dictvalues_values;
		if (l->dictvalues_capacity >= 0)
			capacity = out->raw[raw_entries + (size_t)l->dictvalues_capacity];
	}
	key_at = s.has_hash ? 8 : 0;
	value_at = key_at + 8;
	for (i = 0; i < count; i++) {
		const uint8_t *e = out->raw + i * s.entry_size;
		uint64_t index = first + i;
		struct py_item it = {
			.index = index,
			.key = get_u64(e, key_at),
			.has_hash = s.has_hash,
		};

		if (s.has_hash)
			it.hash = get_u64(e, 0);
		if (!values)
			it.value = get_u64(e, value_at);
		else if (index < capacity)
			it.value = get_u64(values, (size_t)index * 8);
		/* deleted entries have no key, absent attributes no value */
		if (it.key && it.value)
			out->item[out->n++] = it;
	}
	out->next = first + count;
	return 0;
}

int py_split_values(const struct py_reader *r, const struct py_layout *l, uint64_t values,
		    uint64_t nentries, const uint64_t *index, size_t n, uint64_t *value)
{
	uint64_t top = 0, capacity = UINT64_MAX;
	uint8_t *buf;
	size_t i, len;
	int err;

	for (i = 0; i < n; i++) {
		value[i] = 0;
		if (index[i] < nentries && index[i] + 1 > top)
			top = index[i] + 1;
	}
	if (!top)
		return 0;
	if (top > PY_DICT_MAX_SIZE)
		return -EINVAL;
	len = (size_t)l->dictvalues_values + (size_t)top * 8;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	err = rd(r, values, buf, len);
	if (!err) {
		if (l->dictvalues_capacity >= 0)
			capacity = buf[l->dictvalues_capacity];
		for (i = 0; i < n; i++) {
			if (index[i] < top && index[i] < capacity)
				value[i] = get_u64(buf, (size_t)l->dictvalues_values +
								(size_t)index[i] * 8);
		}
	}
	free(buf);
	return err;
}

/* ---- strs ----------------------------------------------------------------- */

/*
 * Read the str at `addr` far enough to compare it with keys of at most
 * `maxlen` characters: its header in hdr, and its characters (if it is a
 * compact ASCII str of at most `maxlen`) at *chars. *len gets its length.
 * 0; -EINVAL when it is no such str (a longer one, or another kind);
 * -errno.
 */
static int read_ascii(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		      size_t maxlen, uint8_t *buf, const uint8_t **chars, size_t *len)
{
	size_t ascii = (size_t)l->unicode_ascii_size;
	struct python_str_shape shape;
	long got = rd_flex(r, addr, buf, ascii, ascii + maxlen);
	int err;

	if (got < 0)
		return (int)got;
	err = python_str_shape(l, buf, (size_t)got, &shape);
	if (err)
		return err;
	if (shape.kind != 1 || shape.data_offset != (int)ascii || shape.length > maxlen)
		return -EINVAL;
	if (ascii + shape.length > (size_t)got) {
		err = rd(r, addr + ascii, buf + ascii, (size_t)shape.length);
		if (err)
			return err;
	}
	*chars = buf + ascii;
	*len = (size_t)shape.length;
	return 0;
}

int py_str_equals(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		  const char *s, uint64_t *type)
{
	uint8_t buf[MAX_HEADER_OFFSET + PY_KEY_MAX];
	size_t n = strlen(s), len;
	const uint8_t *chars;
	int err;

	if (n > PY_KEY_MAX)
		return -EINVAL;
	err = read_ascii(r, l, addr, n, buf, &chars, &len);
	if (err == -EINVAL)
		return 0;
	if (err)
		return err;
	if (len != n || memcmp(chars, s, n))
		return 0;
	if (type)
		*type = get_u64(buf, (size_t)l->object_type);
	return 1;
}

/* Bytes of characters read along with a str's header, in the hope that
 * they are all of them (thread names usually are). */
#define STR_INLINE_CHARS 64

int py_str_utf8(const struct py_reader *r, const struct py_layout *l, uint64_t addr, uint64_t type,
		char *out, size_t size)
{
	uint8_t hdr[MAX_HEADER_OFFSET + 8 + STR_INLINE_CHARS];
	size_t need = (size_t)l->unicode_ascii_size, want, n, len;
	struct python_str_shape shape;
	const uint8_t *chars;
	uint8_t *buf = NULL;
	uint64_t data;
	long got;
	int err;

	if (!size)
		return -EINVAL;
	out[0] = '\0';
	/* the header and, for a short compact str, its characters; a short
	 * str may end before the whole compact header */
	want = python_str_header_size(l);
	if (want < (size_t)l->unicode_compact_size + STR_INLINE_CHARS)
		want = (size_t)l->unicode_compact_size + STR_INLINE_CHARS;
	got = rd_flex(r, addr, hdr, need, want);
	if (got < 0)
		return (int)got;
	err = python_str_shape(l, hdr, (size_t)got, &shape);
	if (err)
		return err;
	if (type && get_u64(hdr, (size_t)l->object_type) != type)
		return -EINVAL;
	if (shape.data_offset >= 0)
		data = addr + (uint64_t)shape.data_offset;
	else if ((size_t)shape.data_pointer_offset + 8 <= (size_t)got)
		data = get_u64(hdr, (size_t)shape.data_pointer_offset);
	else
		return -EFAULT;
	/* every character takes a byte of UTF-8 or more */
	n = shape.length < size - 1 ? (size_t)shape.length : size - 1;
	if (!n)
		return 0;
	len = n * shape.kind;
	if (shape.data_offset >= 0 && (size_t)shape.data_offset + len <= (size_t)got) {
		chars = hdr + shape.data_offset;
	} else {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		err = rd(r, data, buf, len);
		if (err) {
			free(buf);
			return err;
		}
		chars = buf;
	}
	python_chars_to_utf8(shape.kind, chars, n, out, size);
	free(buf);
	return 0;
}

/* ---- ints ------------------------------------------------------------------ */

int py_long_value(const struct py_reader *r, const struct py_layout *l, uint64_t addr,
		  int64_t *value)
{
	uint8_t buf[MAX_HEADER_OFFSET];
	size_t at = (size_t)l->long_digits, ndigits, i;
	uint32_t digit[LONG_MAX_DIGITS] = {0};
	uint64_t v = 0;
	bool negative;
	long got;
	int err;

	got = rd_flex(r, addr, buf, at, at + sizeof(digit));
	if (got < 0)
		return (int)got;
	if (l->long_size >= 0) {
		int64_t size = (int64_t)get_u64(buf, (size_t)l->long_size);

		negative = size < 0;
		ndigits = size < -(int64_t)LONG_MAX_DIGITS || size > (int64_t)LONG_MAX_DIGITS
				  ? LONG_MAX_DIGITS + 1
				  : (size_t)(negative ? -size : size);
	} else {
		uint64_t tag = get_u64(buf, (size_t)l->long_tag);
		unsigned int sign = tag & 3; /* 0 positive, 1 zero, 2 negative */

		if (sign == 3 || (sign == 1 && tag >> 3))
			return -EINVAL;
		negative = sign == 2;
		ndigits = tag >> 3 > LONG_MAX_DIGITS ? LONG_MAX_DIGITS + 1 : (size_t)(tag >> 3);
	}
	if (ndigits > LONG_MAX_DIGITS)
		return -ERANGE;
	if (at + ndigits * 4 <= (size_t)got) {
		memcpy(digit, buf + at, ndigits * 4);
	} else {
		err = rd(r, addr + at, digit, ndigits * 4);
		if (err)
			return err;
	}
	for (i = 0; i < ndigits; i++) {
		if (digit[i] >> LONG_DIGIT_BITS)
			return -EINVAL;
		/* 63 bits: the third digit holds the top 3 */
		if (i == 2 && digit[i] >> 3)
			return -ERANGE;
		v |= (uint64_t)digit[i] << (LONG_DIGIT_BITS * i);
	}
	*value = negative ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* ---- finding keys ------------------------------------------------------------ */

size_t py_items_find(const struct py_reader *r, const struct py_layout *l,
		     const struct py_items *items, struct py_key *keys, size_t n, uint64_t pass,
		     uint64_t *value, uint64_t *index)
{
	uint8_t buf[MAX_HEADER_OFFSET + PY_KEY_MAX];
	size_t found = 0, i, k, maxlen;

	for (k = 0; k < n; k++) {
		value[k] = 0;
		if (index)
			index[k] = 0;
	}
	/* known key objects first: one read per key and pass */
	for (i = 0; i < items->n && found < n; i++) {
		const struct py_item *it = &items->item[i];

		for (k = 0; k < n; k++) {
			struct py_key *key = &keys[k];

			if (value[k] || !key->addr || it->key != key->addr)
				continue;
			if (key->checked != pass) {
				if (py_str_equals(r, l, key->addr, key->name, &key->type) != 1) {
					key->addr = 0;
					continue;
				}
				key->checked = pass;
			}
			value[k] = it->value;
			if (index)
				index[k] = it->index;
			found++;
		}
	}
	if (found == n)
		return found;
	/* then read the other keys while some are missing */
	for (i = 0; i < items->n && found < n; i++) {
		const struct py_item *it = &items->item[i];
		const uint8_t *chars;
		size_t len;
		bool known = false;

		maxlen = 0;
		for (k = 0; k < n; k++) {
			if (it->key == keys[k].addr && keys[k].checked == pass)
				known = true; /* already matched or compared */
			if (!value[k] && strlen(keys[k].name) > maxlen)
				maxlen = strlen(keys[k].name);
		}
		if (known || maxlen > PY_KEY_MAX ||
		    read_ascii(r, l, it->key, maxlen, buf, &chars, &len))
			continue;
		for (k = 0; k < n; k++) {
			struct py_key *key = &keys[k];

			if (value[k] || strlen(key->name) != len || memcmp(chars, key->name, len))
				continue;
			key->addr = it->key;
			key->type = get_u64(buf, (size_t)l->object_type);
			key->checked = pass;
			value[k] = it->value;
			if (index)
				index[k] = it->index;
			found++;
			break;
		}
	}
	return found;
}
