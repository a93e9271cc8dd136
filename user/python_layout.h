/* SPDX-License-Identifier: MIT */
/*
 * Where CPython keeps things, for one interpreter version.
 *
 * A struct py_layout holds the kernel-side offsets (sent to BPF as part of
 * struct pyebpf_proc) plus the offsets userspace needs to symbolize code
 * objects. Layouts come from two places:
 *   - 3.13 and later: the _Py_DebugOffsets block at the start of
 *     _PyRuntime (debug_offsets.c), so new versions need no table;
 *   - 3.6 to 3.12: tables generated from the debug info of real builds by
 *     tools/gen_python_layouts.py (python_layouts_table.c), which also
 *     holds 3.13's GIL: its debug offsets lack part of it.
 * All offsets are bytes; PYEBPF_NO_FIELD (-1) marks a missing field.
 */
#ifndef PYEBPF_PYTHON_LAYOUT_H
#define PYEBPF_PYTHON_LAYOUT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "pyebpf.h"

/* How code objects store their line table (linetable.h decodes each). */
enum py_linetable_kind {
	PY_LINETABLE_LNOTAB = 0,    /* co_lnotab, 3.6 - 3.9 */
	PY_LINETABLE_310 = 1,	    /* co_linetable, 3.10 */
	PY_LINETABLE_LOCATIONS = 2, /* co_linetable location table, 3.11+ */
};

/*
 * Where the GIL is. 3.7 and later keep it in a struct _gil_runtime_state
 * {interval, last_holder, locked, switch_number, cond, mutex, switch_cond,
 * switch_mutex}; 3.6 keeps the same things in static variables of ceval.c,
 * found by their names (python_process.c), so every field is
 * PYEBPF_NO_FIELD there. Offsets are bytes.
 */
struct py_gil_layout {
	/* offset in _PyRuntimeState of the main interpreter's GIL:
	 * ceval.gil (3.7 to 3.11), _main_interpreter._gil (3.12, 3.13); an
	 * address known before the interpreter has started */
	int runtime_gil;
	/* offset of PyInterpreterState.ceval.gil, the pointer to the GIL an
	 * interpreter uses (3.12+) */
	int interp_gil_ptr;
	/* inside struct _gil_runtime_state */
	int last_holder; /* PyThreadState * */
	int locked;	 /* int: 1 held, 0 free, -1 not created */
	int cond;	 /* the first condition variable; from here to the end of
			    the struct are only its condvars and mutexes */
	int size;	 /* sizeof(struct _gil_runtime_state) */
};

/*
 * Where an instance keeps its attributes (python_object.c reads them).
 * Offsets in the comments are in 8-byte words from the object's address;
 * the flags are PyTypeObject.tp_flags bits.
 */
enum py_attrs_kind {
	/* 3.6 - 3.10: the __dict__ pointer at obj + tp_dictoffset */
	PY_ATTRS_DICTOFFSET = 0,
	/* 3.11: Py_TPFLAGS_MANAGED_DICT (1 << 4) types keep a PyDictValues *
	 * at obj - 4 words (keys in the type's ht_cached_keys) or a dict at
	 * obj - 3 words (pycore_object.h, _PyObject_ValuesPointer and
	 * _PyObject_ManagedDictPointer) */
	PY_ATTRS_MANAGED_311 = 1,
	/* 3.12: the same flag; obj - 3 words is a PyDictOrValues whose low bit
	 * set means values at (word + 1), else a dict (_PyDictOrValues_*) */
	PY_ATTRS_MANAGED_312 = 2,
	/* 3.13+: Py_TPFLAGS_INLINE_VALUES (1 << 2) types carry a PyDictValues
	 * at obj + tp_basicsize, used while its `valid` byte is set; otherwise
	 * the dict pointer of Py_TPFLAGS_MANAGED_DICT at obj - 3 words
	 * (_PyObject_InlineValues, _PyObject_ManagedDictPointer) */
	PY_ATTRS_INLINE_313 = 3,
};

struct py_layout {
	int major, minor;

	/* kernel side: copied into struct pyebpf_proc */
	struct pyebpf_py_offsets bpf;

	/* _PyRuntimeState (3.7+): offset of interpreters.head */
	int runtime_interpreters_head;
	/* PyInterpreterState */
	int interp_id; /* int64 id (3.7+), -1 before */
	/* PyThreadState */
	int tstate_interp;

	/* PyCodeObject */
	int code_filename;	/* PyObject * (str) */
	int code_name;		/* PyObject * (str) */
	int code_qualname;	/* PyObject * (str), 3.11+ */
	int code_firstlineno;	/* int */
	int code_argcount;	/* int */
	int code_linetable;	/* PyObject * (bytes): co_lnotab or co_linetable */
	int code_code_adaptive; /* 3.11+: offset of the first instruction
				   inside the code object; -1 before */
	enum py_linetable_kind linetable_kind;

	/* PyObject */
	int object_type; /* ob_type */
	/* PyUnicodeObject */
	int unicode_length;	  /* Py_ssize_t length */
	int unicode_state;	  /* the state bitfield word */
	int unicode_ascii_size;	  /* sizeof(PyASCIIObject): compact ASCII data */
	int unicode_compact_size; /* sizeof(PyCompactUnicodeObject): compact data */
	/* PyBytesObject */
	int bytes_size; /* ob_size */
	int bytes_sval; /* ob_sval */

	/* Reading objects: dicts, ints and instance attributes, for thread
	 * names (thread_names.c). PYEBPF_NO_FIELD where a version lacks one. */
	/* PyInterpreterState: the sys.modules dict, modules (3.6 - 3.11) or
	 * imports.modules (3.12+) */
	int interp_modules;
	int module_dict; /* PyModuleObject.md_dict */
	/* PyTypeObject */
	int type_basicsize;	  /* Py_ssize_t tp_basicsize */
	int type_flags;		  /* unsigned long tp_flags */
	int type_dictoffset;	  /* Py_ssize_t tp_dictoffset */
	int heaptype_cached_keys; /* PyHeapTypeObject.ht_cached_keys: the keys
				     instances of the class share */
	enum py_attrs_kind attrs_kind;
	/* PyDictObject */
	int dict_keys;	 /* PyDictKeysObject *ma_keys */
	int dict_values; /* ma_values: PyObject ** (3.6 - 3.10) or
			    PyDictValues *, non-NULL for a split table */
	/* PyDictKeysObject */
	int dictkeys_size;	       /* Py_ssize_t dk_size (3.6 - 3.10) */
	int dictkeys_log2_size;	       /* uint8_t dk_log2_size (3.11+) */
	int dictkeys_log2_index_bytes; /* uint8_t dk_log2_index_bytes (3.11+) */
	int dictkeys_kind;	       /* uint8_t dk_kind (3.11+): general,
					  unicode or split */
	int dictkeys_nentries;	       /* Py_ssize_t dk_nentries */
	int dictkeys_indices;	       /* dk_indices[]: the hash index, then
					  the entries */
	/* sizeof(PyDictKeyEntry) {hash, key, value}, and (3.11+) of the
	 * PyDictUnicodeEntry {key, value} of unicode and split tables */
	int dictkeys_entry_size;
	int dictkeys_unicode_entry_size;
	/* PyDictValues */
	int dictvalues_values;	 /* values[]: 0 when ma_values points at
				    the array itself (3.6 - 3.12) */
	int dictvalues_capacity; /* uint8_t capacity (3.13+) */
	int dictvalues_valid;	 /* uint8_t valid (3.13+) */
	/* PyLongObject: 30-bit digits in uint32_t */
	int long_size;	 /* Py_ssize_t ob_size: signed digit count (<= 3.11) */
	int long_tag;	 /* uintptr_t long_value.lv_tag: digit count << 3 |
			    sign (3.12+) */
	int long_digits; /* ob_digit[] */

	struct py_gil_layout gil;
};

/*
 * The generated table for 3.<minor>, or NULL if there is none (3.13+ use
 * _Py_DebugOffsets instead). The returned layout is static; do not free.
 */
const struct py_layout *py_layout_table_lookup(int major, int minor);

/*
 * The GIL layout measured from the debug info of a real 3.<minor> build:
 * that of the generated table for 3.6 to 3.12, and a GIL-only entry for
 * 3.13 (whose _Py_DebugOffsets lack the GIL's size, condition variables
 * and place in _PyRuntime). NULL with errno ENOENT for other versions. Static; do not
 * free.
 */
const struct py_gil_layout *py_gil_layout_table_lookup(int major, int minor);

/*
 * Check that every kernel-side offset fits the window BPF reads it from
 * (PYEBPF_*_WINDOW) and is otherwise sane, so a bad table or hostile debug
 * offsets can never make the kernel read outside its buffers. The GIL must
 * be absent (every field PYEBPF_NO_FIELD) or whole and consistent.
 * Returns 0, or -EINVAL with a reason in *why (static string).
 */
int py_layout_validate(const struct py_layout *layout, const char **why);

#endif /* PYEBPF_PYTHON_LAYOUT_H */
