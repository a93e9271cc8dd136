// SPDX-License-Identifier: MIT
/*
 * Tests for user/debug_offsets.c: the real 3.13.0 block (fixture generated
 * by tools/gen_debug_offsets_fixture.py) against the same build's DWARF, a
 * synthetic 3.14 block laid out by hand from CPython's 3.14 header, every
 * refusal, a fuzz loop, and a live 3.13 process. The GIL, of which the block
 * holds a part, against the 3.13 GIL layout generated from DWARF.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "debug_offsets.h"
#include "python_object.h"
#include "fixtures/debug_offsets_313.h"

extern char **environ;

static void put64(unsigned char *buf, size_t pos, uint64_t v)
{
	memcpy(buf + pos, &v, sizeof(v));
}

/* ---- 3.13: the real block --------------------------------------------- */

/* Positions in the 3.13 block, from gdb `ptype/o struct _Py_DebugOffsets`
 * on the fixture's library. */
enum {
	P313_VERSION = 8,
	P313_FREE_THREADED = 16,
	P313_RUNTIME_SIZE = 24,
	P313_INTERP_SIZE = 48,
	P313_INTERP_NEXT = 64,
	P313_INTERP_IMPORTS_MODULES = 88,
	P313_INTERP_CEVAL_GIL = 112,
	P313_INTERP_GIL_RUNTIME_STATE = 120,
	P313_INTERP_GIL_LOCKED = 136,
	P313_INTERP_GIL_HOLDER = 144,
	P313_TSTATE_SIZE = 152,
	P313_TSTATE_CURRENT_FRAME = 184,
	P313_FRAME_SIZE = 224,
	P313_FRAME_OWNER = 264,
	P313_CODE_SIZE = 272,
	P313_PYOBJECT_SIZE = 352,
	P313_TYPE_SIZE = 368,
	P313_TYPE_FLAGS = 392,
	P313_DICT_SIZE = 448,
	P313_DICT_KEYS = 456,
	P313_DICT_VALUES = 464,
	P313_LONG_SIZE = 488,
	P313_LONG_TAG = 496,
	P313_LONG_DIGIT = 504,
	P313_BYTES_SIZE = 512,
	P313_BYTES_OB_SVAL = 528,
	P313_UNICODE_SIZE = 536,
	P313_UNICODE_ASCII_SIZE = 560,
};

static uint64_t get64(const unsigned char *buf, size_t pos)
{
	uint64_t v;

	memcpy(&v, buf + pos, sizeof(v));
	return v;
}

/* One value of the 3.13 block changed: where, and to what. */
struct patch_313 {
	size_t pos;
	uint64_t value;
};

/* The 3.13 block with one value changed, parsed into *l: the block must
 * still be accepted, and the layout valid. */
static void parse_patched_313(const struct patch_313 *p, struct py_layout *l)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	const char *why = NULL;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	put64(buf, p->pos, p->value);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), l, NULL, &why), 0);
	assert_int_equal(py_layout_validate(l, &why), 0);
}

static void check_313_truth(const struct py_layout *l)
{
	assert_int_equal(l->major, 3);
	assert_int_equal(l->minor, 13);
	assert_int_equal(l->runtime_interpreters_head, DEBUG_OFFSETS_313_RUNTIME_INTERPRETERS_HEAD);
	assert_int_equal(l->interp_id, DEBUG_OFFSETS_313_INTERP_ID);
	assert_int_equal(l->bpf.interp_next, DEBUG_OFFSETS_313_INTERP_NEXT);
	assert_int_equal(l->bpf.interp_threads_head, DEBUG_OFFSETS_313_INTERP_THREADS_HEAD);
	assert_int_equal(l->bpf.tstate_next, DEBUG_OFFSETS_313_TSTATE_NEXT);
	assert_int_equal(l->tstate_interp, DEBUG_OFFSETS_313_TSTATE_INTERP);
	assert_int_equal(l->bpf.tstate_thread_id, DEBUG_OFFSETS_313_TSTATE_THREAD_ID);
	assert_int_equal(l->bpf.tstate_native_thread_id, DEBUG_OFFSETS_313_TSTATE_NATIVE_THREAD_ID);
	assert_int_equal(l->bpf.tstate_frame, DEBUG_OFFSETS_313_TSTATE_FRAME);
	assert_int_equal(l->bpf.tstate_cframe, PYEBPF_NO_FIELD);
	assert_int_equal(l->bpf.cframe_current_frame, PYEBPF_NO_FIELD);
	assert_int_equal(l->bpf.frame_previous, DEBUG_OFFSETS_313_FRAME_PREVIOUS);
	assert_int_equal(l->bpf.frame_code, DEBUG_OFFSETS_313_FRAME_CODE);
	assert_int_equal(l->bpf.frame_instr, DEBUG_OFFSETS_313_FRAME_INSTR);
	assert_int_equal(l->bpf.frame_instr_kind, PYEBPF_INSTR_POINTER);
	assert_int_equal(l->bpf.frame_owner, DEBUG_OFFSETS_313_FRAME_OWNER);
	assert_int_equal(l->bpf.frame_owner_shim_min, DEBUG_OFFSETS_313_FRAME_OWNED_BY_CSTACK);
	assert_int_equal(l->bpf.code_argcount, DEBUG_OFFSETS_313_CODE_ARGCOUNT);
	assert_int_equal(l->bpf.code_firstlineno, DEBUG_OFFSETS_313_CODE_FIRSTLINENO);
	assert_int_equal(l->bpf.pad[0], 0);
	assert_int_equal(l->bpf.pad[1], 0);
	assert_int_equal(l->code_filename, DEBUG_OFFSETS_313_CODE_FILENAME);
	assert_int_equal(l->code_name, DEBUG_OFFSETS_313_CODE_NAME);
	assert_int_equal(l->code_qualname, DEBUG_OFFSETS_313_CODE_QUALNAME);
	assert_int_equal(l->code_firstlineno, DEBUG_OFFSETS_313_CODE_FIRSTLINENO);
	assert_int_equal(l->code_argcount, DEBUG_OFFSETS_313_CODE_ARGCOUNT);
	assert_int_equal(l->code_linetable, DEBUG_OFFSETS_313_CODE_LINETABLE);
	assert_int_equal(l->code_code_adaptive, DEBUG_OFFSETS_313_CODE_CODE_ADAPTIVE);
	assert_int_equal(l->linetable_kind, PY_LINETABLE_LOCATIONS);
	assert_int_equal(l->object_type, DEBUG_OFFSETS_313_OBJECT_TYPE);
	assert_int_equal(l->unicode_state, DEBUG_OFFSETS_313_UNICODE_STATE);
	assert_int_equal(l->unicode_length, DEBUG_OFFSETS_313_UNICODE_LENGTH);
	assert_int_equal(l->unicode_ascii_size, DEBUG_OFFSETS_313_UNICODE_ASCII_SIZE);
	assert_int_equal(l->unicode_compact_size, DEBUG_OFFSETS_313_UNICODE_COMPACT_SIZE);
	assert_int_equal(l->bytes_size, DEBUG_OFFSETS_313_BYTES_SIZE);
	assert_int_equal(l->bytes_sval, DEBUG_OFFSETS_313_BYTES_SVAL);
}

static void test_313_fixture_matches_dwarf(void **state)
{
	struct py_layout l;
	uint32_t version = 0;
	const char *why = NULL;

	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313), &l,
						&version, &why),
			 0);
	assert_int_equal(version, DEBUG_OFFSETS_313_VERSION);
	assert_int_equal(version, 0x030d00f0);
	check_313_truth(&l);
	/* the brief's anchor: current_frame at 72 in 3.13.0 */
	assert_int_equal(l.bpf.tstate_frame, 72);
	/* derived, not in the block: gdb on 3.13.0's libpython says
	 * &((struct _PyInterpreterFrame *)0)->f_funcobj == 16, ->f_globals == 24,
	 * &((PyThreadState *)0)->datastack_chunk is in the block */
	assert_int_equal(l.bpf.frame_funcobj, 16);
	assert_int_equal(l.bpf.frame_globals, 24);
	assert_int_equal(l.bpf.stack_chunk_data, 24);
	assert_int_equal(l.bpf.code_name, l.code_name);
	assert_int_equal(l.bpf.code_filename, l.code_filename);
}

static void expect_no_gil(const struct py_gil_layout *g)
{
	assert_int_equal(g->runtime_gil, PYEBPF_NO_FIELD);
	assert_int_equal(g->interp_gil_ptr, PYEBPF_NO_FIELD);
	assert_int_equal(g->last_holder, PYEBPF_NO_FIELD);
	assert_int_equal(g->locked, PYEBPF_NO_FIELD);
	assert_int_equal(g->cond, PYEBPF_NO_FIELD);
	assert_int_equal(g->size, PYEBPF_NO_FIELD);
}

/* The block gives the GIL pointer, locked and last_holder; cond and size are
 * derived from the struct. All of it must match 3.13.0's DWARF (the
 * generated GIL-only table entry), except runtime_gil, which the block
 * does not give. */
static void test_313_gil_matches_dwarf(void **state)
{
	const struct py_gil_layout *want = py_gil_layout_table_lookup(3, 13);
	struct py_layout l;
	const char *why = NULL;

	assert_non_null(want);
	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313), &l,
						NULL, &why),
			 0);
	assert_int_equal(l.gil.runtime_gil, PYEBPF_NO_FIELD);
	assert_int_equal(l.gil.interp_gil_ptr, want->interp_gil_ptr);
	assert_int_equal(l.gil.last_holder, want->last_holder);
	assert_int_equal(l.gil.locked, want->locked);
	assert_int_equal(l.gil.cond, want->cond);
	assert_int_equal(l.gil.size, want->size);
	/* measured by hand with gdb on the same build: ceval.gil at 16 in
	 * PyInterpreterState; {last_holder 8, locked 16, cond 32} in a 208-byte
	 * struct _gil_runtime_state */
	assert_int_equal(l.gil.interp_gil_ptr, 16);
	assert_int_equal(l.gil.last_holder, 8);
	assert_int_equal(l.gil.locked, 16);
	assert_int_equal(l.gil.cond, 32);
	assert_int_equal(l.gil.size, 208);
	assert_int_equal(py_layout_validate(&l, &why), 0);
}

/* GIL values that do not add up leave the GIL unknown; the rest of the
 * layout is still accepted. */
static void test_313_bad_gil_is_dropped(void **state)
{
	static const struct patch_313 bad[] = {
		{P313_INTERP_CEVAL_GIL, 1u << 23},	   /* past PyInterpreterState */
		{P313_INTERP_GIL_RUNTIME_STATE, 1u << 23}, /* the same */
		{P313_INTERP_GIL_LOCKED, 0},		   /* before the struct */
		{P313_INTERP_GIL_HOLDER, 0x1e58 + 4096},   /* far into it */
		{P313_INTERP_GIL_HOLDER, 0x1e58},	   /* after locked */
		{P313_INTERP_SIZE, 0x1e48 + 100},	   /* struct past the end */
	};
	struct py_layout l, good;
	size_t i;

	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313), &good,
						NULL, NULL),
			 0);
	/* the positions are right: they hold the real values */
	assert_int_equal(get64(debug_offsets_313, P313_INTERP_CEVAL_GIL), 16);
	assert_int_equal(get64(debug_offsets_313, P313_INTERP_GIL_RUNTIME_STATE), 0x1e48);
	assert_int_equal(get64(debug_offsets_313, P313_INTERP_GIL_LOCKED), 0x1e58);
	assert_int_equal(get64(debug_offsets_313, P313_INTERP_GIL_HOLDER), 0x1e50);
	assert_int_equal(get64(debug_offsets_313, P313_INTERP_SIZE), 0x2f998);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_patched_313(&bad[i], &l);
		expect_no_gil(&l.gil);
		/* nothing else changed */
		l.gil = good.gil;
		assert_memory_equal(&l, &good, sizeof(l));
	}
}

/*
 * The offsets for reading objects (thread names): from the block where it
 * has them, else constants of the 3.13/3.14 structures. All must match
 * 3.13.0's DWARF, measured by hand with gdb on the fixture's library
 * (offsetof(PyInterpreterState, imports.modules) == 7656,
 * offsetof(PyHeapTypeObject, ht_cached_keys) == 880, struct _dictvalues
 * {capacity 0, valid 3, values 8}, ...), and those unchanged since 3.12
 * the generated 3.12 table.
 */
static void test_313_objects_match_dwarf(void **state)
{
	const struct py_layout *t12 = py_layout_table_lookup(3, 12);
	struct py_layout l;

	assert_non_null(t12);
	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313), &l,
						NULL, NULL),
			 0);
	assert_int_equal(l.interp_modules, 7656);
	assert_int_equal(l.attrs_kind, PY_ATTRS_INLINE_313);
	assert_int_equal(l.dictvalues_values, 8);
	assert_int_equal(l.dictvalues_capacity, 0);
	assert_int_equal(l.dictvalues_valid, 3);
	assert_int_equal(l.heaptype_cached_keys, 880);
	assert_int_equal(l.type_flags, 168);
	assert_int_equal(l.dict_keys, 32);
	assert_int_equal(l.dict_values, 40);
	assert_int_equal(l.long_tag, 16);
	assert_int_equal(l.long_digits, 24);
	/* the same as 3.12's */
	assert_int_equal(l.module_dict, t12->module_dict);
	assert_int_equal(l.type_basicsize, t12->type_basicsize);
	assert_int_equal(l.type_flags, t12->type_flags);
	assert_int_equal(l.type_dictoffset, t12->type_dictoffset);
	assert_int_equal(l.heaptype_cached_keys, t12->heaptype_cached_keys);
	assert_int_equal(l.dict_keys, t12->dict_keys);
	assert_int_equal(l.dict_values, t12->dict_values);
	assert_int_equal(l.dictkeys_size, PYEBPF_NO_FIELD);
	assert_int_equal(l.dictkeys_log2_size, t12->dictkeys_log2_size);
	assert_int_equal(l.dictkeys_log2_index_bytes, t12->dictkeys_log2_index_bytes);
	assert_int_equal(l.dictkeys_kind, t12->dictkeys_kind);
	assert_int_equal(l.dictkeys_nentries, t12->dictkeys_nentries);
	assert_int_equal(l.dictkeys_indices, t12->dictkeys_indices);
	assert_int_equal(l.dictkeys_entry_size, t12->dictkeys_entry_size);
	assert_int_equal(l.dictkeys_unicode_entry_size, t12->dictkeys_unicode_entry_size);
	assert_int_equal(l.long_size, PYEBPF_NO_FIELD);
	assert_int_equal(l.long_tag, t12->long_tag);
	assert_int_equal(l.long_digits, t12->long_digits);
	assert_true(py_object_layout_ok(&l));
}

static void expect_no_objects(const struct py_layout *l)
{
	const int *field[] = {
		&l->interp_modules,
		&l->module_dict,
		&l->type_basicsize,
		&l->type_flags,
		&l->type_dictoffset,
		&l->heaptype_cached_keys,
		&l->dict_keys,
		&l->dict_values,
		&l->dictkeys_size,
		&l->dictkeys_log2_size,
		&l->dictkeys_log2_index_bytes,
		&l->dictkeys_kind,
		&l->dictkeys_nentries,
		&l->dictkeys_indices,
		&l->dictkeys_entry_size,
		&l->dictkeys_unicode_entry_size,
		&l->dictvalues_values,
		&l->dictvalues_capacity,
		&l->dictvalues_valid,
		&l->long_size,
		&l->long_tag,
		&l->long_digits,
	};

	for (size_t i = 0; i < sizeof(field) / sizeof(field[0]); i++)
		assert_int_equal(*field[i], PYEBPF_NO_FIELD);
	assert_false(py_object_layout_ok(l));
}

/* Object offsets that do not add up leave them all unknown (no thread
 * names); the rest of the layout is still accepted. */
static void test_313_bad_objects_are_dropped(void **state)
{
	static const struct patch_313 bad[] = {
		{P313_INTERP_IMPORTS_MODULES, 0x2f998}, /* past PyInterpreterState */
		{P313_TYPE_SIZE, 200},			/* no room for tp_dictoffset */
		{P313_TYPE_SIZE, 1u << 20},		/* absurd */
		{P313_TYPE_FLAGS, 416},			/* past the type */
		{P313_DICT_KEYS, ~0ull - 4},		/* wraps around */
		{P313_DICT_VALUES, 48},			/* past the dict */
		{P313_DICT_SIZE, 1u << 24},		/* absurd */
		{P313_LONG_TAG, 32},			/* past the int */
		{P313_LONG_DIGIT, 16},			/* on the tag */
		{P313_LONG_SIZE, 0},			/* no room at all */
	};
	struct py_layout l, good;
	size_t i;

	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313), &good,
						NULL, NULL),
			 0);
	/* the positions are right: they hold the real values */
	assert_int_equal(get64(debug_offsets_313, P313_INTERP_IMPORTS_MODULES), 7656);
	assert_int_equal(get64(debug_offsets_313, P313_TYPE_SIZE), 416);
	assert_int_equal(get64(debug_offsets_313, P313_TYPE_FLAGS), 168);
	assert_int_equal(get64(debug_offsets_313, P313_DICT_SIZE), 48);
	assert_int_equal(get64(debug_offsets_313, P313_DICT_KEYS), 32);
	assert_int_equal(get64(debug_offsets_313, P313_DICT_VALUES), 40);
	assert_int_equal(get64(debug_offsets_313, P313_LONG_SIZE), 32);
	assert_int_equal(get64(debug_offsets_313, P313_LONG_TAG), 16);
	assert_int_equal(get64(debug_offsets_313, P313_LONG_DIGIT), 24);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse_patched_313(&bad[i], &l);
		expect_no_objects(&l);
		/* nothing else changed */
		assert_int_equal(l.bpf.tstate_frame, good.bpf.tstate_frame);
		assert_int_equal(l.code_name, good.code_name);
		assert_int_equal(l.unicode_state, good.unicode_state);
		assert_int_equal(l.gil.locked, good.gil.locked);
	}
}

/* Exactly the block suffices, one byte less does not; nothing past `len`
 * is read (ASan checks that, the buffer being a heap copy of `len`). */
static void test_313_lengths(void **state)
{
	const size_t need = DEBUG_OFFSETS_313_STRUCT_SIZE;
	struct py_layout l;
	const char *why = NULL;
	size_t len;

	for (len = 0; len <= need; len++) {
		unsigned char *buf = malloc(len ? len : 1);
		int err;

		assert_non_null(buf);
		memcpy(buf, debug_offsets_313, len);
		why = NULL;
		err = py_debug_offsets_parse(buf, len, &l, NULL, &why);
		free(buf);
		if (len < need) {
			assert_int_equal(err, -EINVAL);
			assert_non_null(why);
			assert_non_null(strstr(why, "truncated"));
		} else {
			assert_int_equal(err, 0);
		}
	}
}

/* ---- 3.14: a block built by hand ---------------------------------------- */

/* Byte positions in the 3.14 block, worked out by hand from the 3.14
 * release branch's Include/internal/pycore_debug_offsets.h (every field a
 * uint64_t; sections in order runtime_state 24, interpreter_state 48,
 * thread_state 176, interpreter_frame 248, code_object 312, pyobject 400,
 * type_object 416, tuple_object 448, list_object 472, set_object 496,
 * dict_object 528, float_object 552, long_object 568, bytes_object 592,
 * unicode_object 616, gc 648, gen_object 664, llist_node 696,
 * debugger_support 712, end 760). Deliberately not a struct, so the test
 * does not share the parser's mirror. */
#define B314_SIZE 760

struct put {
	size_t pos;
	uint64_t value;
};

static const struct put block314_values[] = {
	{24, 300000}, /* runtime_state.size */
	{32, 24},     /* .finalizing */
	{40, 640},    /* .interpreters_head */
	{48, 200000}, /* interpreter_state.size */
	{56, 7280},   /* .id */
	{64, 7272},   /* .next */
	{72, 7352},   /* .threads_head */
	{80, 7360},   /* .threads_main (3.14) */
	{88, 999},    /* .gc */
	{120, 16},    /* .ceval_gil */
	{128, 9000},  /* .gil_runtime_state */
	{144, 9016},  /* .gil_runtime_state_locked */
	{152, 9008},  /* .gil_runtime_state_holder */
	{160, 11111}, /* .code_object_generation (3.14) */
	{168, 0},     /* .tlbc_generation (3.14, 0 in GIL builds) */
	{176, 400},   /* thread_state.size */
	{184, 4},     /* .prev */
	{192, 12},    /* .next */
	{200, 20},    /* .interp */
	{208, 80},    /* .current_frame */
	{216, 176},   /* .thread_id */
	{224, 184},   /* .native_thread_id */
	{232, 192},   /* .datastack_chunk */
	{240, 200},   /* .status */
	{248, 88},    /* interpreter_frame.size */
	{256, 16},    /* .previous */
	{264, 0},     /* .executable */
	{272, 48},    /* .instr_ptr */
	{280, 80},    /* .localsplus */
	{288, 78},    /* .owner */
	{296, 64},    /* .stackpointer (3.14) */
	{304, 0},     /* .tlbc_index (3.14, 0 in GIL builds) */
	{312, 232},   /* code_object.size */
	{320, 104},   /* .filename */
	{328, 112},   /* .name */
	{336, 120},   /* .qualname */
	{344, 144},   /* .linetable */
	{352, 60},    /* .firstlineno */
	{360, 44},    /* .argcount */
	{368, 152},   /* .localsplusnames */
	{376, 160},   /* .localspluskinds */
	{384, 224},   /* .co_code_adaptive */
	{392, 0},     /* .co_tlbc (3.14, 0 in GIL builds) */
	{400, 24},    /* pyobject.size */
	{408, 16},    /* .ob_type */
	{416, 416},   /* type_object.size */
	{448, 32},    /* tuple_object.size */
	{472, 40},    /* list_object.size */
	{496, 200},   /* set_object.size (3.14) */
	{528, 48},    /* dict_object.size */
	{552, 24},    /* float_object.size */
	{568, 32},    /* long_object.size */
	{592, 48},    /* bytes_object.size */
	{600, 24},    /* .ob_size */
	{608, 40},    /* .ob_sval */
	{616, 72},    /* unicode_object.size */
	{624, 36},    /* .state */
	{632, 24},    /* .length */
	{640, 48},    /* .asciiobject_size */
	{648, 600},   /* gc.size */
	{664, 160},   /* gen_object.size (3.14) */
	{712, 96},    /* debugger_support.eval_breaker (3.14) */
	{752, 512},   /* .debugger_script_path_size (3.14) */
};

static void build_314(unsigned char *buf, uint64_t version)
{
	size_t i;

	memset(buf, 0, B314_SIZE);
	memcpy(buf, "xdebugpy", 8);
	put64(buf, 8, version);
	put64(buf, 16, 0);
	for (i = 0; i < sizeof(block314_values) / sizeof(block314_values[0]); i++)
		put64(buf, block314_values[i].pos, block314_values[i].value);
}

static void check_314(const struct py_layout *l)
{
	assert_int_equal(l->major, 3);
	assert_int_equal(l->minor, 14);
	assert_int_equal(l->runtime_interpreters_head, 640);
	assert_int_equal(l->interp_id, 7280);
	assert_int_equal(l->bpf.interp_next, 7272);
	assert_int_equal(l->bpf.interp_threads_head, 7352);
	assert_int_equal(l->bpf.tstate_next, 12);
	assert_int_equal(l->tstate_interp, 20);
	assert_int_equal(l->bpf.tstate_frame, 80);
	assert_int_equal(l->bpf.tstate_thread_id, 176);
	assert_int_equal(l->bpf.tstate_native_thread_id, 184);
	assert_int_equal(l->bpf.tstate_cframe, PYEBPF_NO_FIELD);
	assert_int_equal(l->bpf.cframe_current_frame, PYEBPF_NO_FIELD);
	assert_int_equal(l->bpf.frame_previous, 16);
	assert_int_equal(l->bpf.frame_code, 0);
	assert_int_equal(l->bpf.frame_instr, 48);
	assert_int_equal(l->bpf.frame_instr_kind, PYEBPF_INSTR_POINTER);
	assert_int_equal(l->bpf.frame_owner, 78);
	/* 3.14: FRAME_OWNED_BY_INTERPRETER = 3, FRAME_OWNED_BY_CSTACK = 4 */
	assert_int_equal(l->bpf.frame_owner_shim_min, 3);
	assert_int_equal(l->bpf.code_argcount, 44);
	assert_int_equal(l->bpf.code_firstlineno, 60);
	assert_int_equal(l->code_filename, 104);
	assert_int_equal(l->code_name, 112);
	assert_int_equal(l->code_qualname, 120);
	assert_int_equal(l->code_linetable, 144);
	assert_int_equal(l->code_firstlineno, 60);
	assert_int_equal(l->code_argcount, 44);
	assert_int_equal(l->code_code_adaptive, 224);
	assert_int_equal(l->linetable_kind, PY_LINETABLE_LOCATIONS);
	assert_int_equal(l->object_type, 16);
	assert_int_equal(l->unicode_state, 36);
	assert_int_equal(l->unicode_length, 24);
	assert_int_equal(l->unicode_ascii_size, 48);
	assert_int_equal(l->unicode_compact_size, 64);
	assert_int_equal(l->bytes_size, 24);
	assert_int_equal(l->bytes_sval, 40);
	/* 3.14 has no table: the GIL comes from the block alone */
	assert_int_equal(l->gil.runtime_gil, PYEBPF_NO_FIELD);
	assert_int_equal(l->gil.interp_gil_ptr, 16);
	assert_int_equal(l->gil.last_holder, 8);
	assert_int_equal(l->gil.locked, 16);
	assert_int_equal(l->gil.cond, 32);
	assert_int_equal(l->gil.size, 208);
}

static void test_314_synthetic(void **state)
{
	static const uint32_t accepted[] = {0x030e00f0, 0x030e03f0, 0x030e00c1, 0x030e00c3};
	unsigned char buf[PY_DEBUG_OFFSETS_READ_SIZE];
	struct py_layout l;
	uint32_t version;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		build_314(buf, accepted[i]);
		version = 0;
		why = NULL;
		assert_int_equal(py_debug_offsets_parse(buf, B314_SIZE, &l, &version, &why), 0);
		assert_int_equal(version, accepted[i]);
		check_314(&l);
	}
	/* the whole block is needed */
	build_314(buf, 0x030e00f0);
	assert_int_equal(py_debug_offsets_parse(buf, B314_SIZE - 1, &l, NULL, &why), -EINVAL);
	assert_non_null(strstr(why, "760"));
}

/* ---- refusals ----------------------------------------------------------- */

static void test_wrong_cookie(void **state)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l;
	const char *why = NULL;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	buf[7] = 'Y';
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), -ENOENT);
	assert_non_null(why);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, NULL), -ENOENT);
	assert_int_equal(py_debug_offsets_parse(buf, 8, &l, NULL, NULL), -ENOENT);
}

static void expect_unsupported(unsigned char *buf, size_t len, uint32_t hex, const char *name)
{
	struct py_layout l;
	uint32_t version = 0;
	const char *why = NULL;

	put64(buf, 8, hex);
	assert_int_equal(py_debug_offsets_parse(buf, len, &l, &version, &why), -ENOTSUP);
	assert_int_equal(version, hex);
	assert_non_null(why);
	if (!strstr(why, name))
		fail_msg("\"%s\" does not name %s", why, name);
}

static void test_unknown_versions(void **state)
{
	unsigned char b313[sizeof(debug_offsets_313)];
	unsigned char b314[B314_SIZE];
	const char *why = NULL;
	struct py_layout l;

	memcpy(b313, debug_offsets_313, sizeof(b313));
	build_314(b314, 0x030e00f0);

	expect_unsupported(b314, sizeof(b314), 0x030f00f0, "Python 3.15 ");
	expect_unsupported(b314, sizeof(b314), 0x030f00a2, "Python 3.15.0a2 ");
	expect_unsupported(b313, sizeof(b313), 0x030c01f0, "Python 3.12 ");
	expect_unsupported(b313, sizeof(b313), 0x040000f0, "Python 4.0 ");
	/* pre-releases before rc1 may have other layouts */
	expect_unsupported(b314, sizeof(b314), 0x030e00b3, "3.14.0b3");
	expect_unsupported(b313, sizeof(b313), 0x030d00a6, "3.13.0a6");

	/* the brief's wording, for 3.15 */
	put64(b314, 8, 0x030f00f0);
	assert_int_equal(py_debug_offsets_parse(b314, sizeof(b314), &l, NULL, &why), -ENOTSUP);
	assert_string_equal(why, "Python 3.15 debug offsets layout is not supported");
}

static void test_malformed_version(void **state)
{
	static const uint64_t bad[] = {
		0, 0x030d00f0ull | (1ull << 32), 0x030d0000, 0x030d00d0, 0x020700f0, UINT64_MAX};
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l;
	const char *why;
	size_t i;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put64(buf, P313_VERSION, bad[i]);
		why = NULL;
		assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), -EINVAL);
		assert_non_null(strstr(why, "PY_VERSION_HEX"));
	}
}

static void test_free_threaded(void **state)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	unsigned char b314[B314_SIZE];
	struct py_layout l;
	const char *why = NULL;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	put64(buf, P313_FREE_THREADED, 1);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), -EINVAL);
	assert_non_null(strstr(why, "free-threaded"));
	assert_non_null(strstr(why, "not supported"));

	build_314(b314, 0x030e00f0);
	put64(b314, 16, 1);
	assert_int_equal(py_debug_offsets_parse(b314, sizeof(b314), &l, NULL, &why), -EINVAL);
	assert_non_null(strstr(why, "free-threaded"));

	put64(buf, P313_FREE_THREADED, 2);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), -EINVAL);
}

static void test_absurd_sizes(void **state)
{
	static const size_t sections[] = {P313_RUNTIME_SIZE, P313_INTERP_SIZE, P313_TSTATE_SIZE,
					  P313_FRAME_SIZE,   P313_CODE_SIZE,   P313_PYOBJECT_SIZE,
					  P313_BYTES_SIZE,   P313_UNICODE_SIZE};
	static const uint64_t absurd[] = {0, 1ull << 40, UINT64_MAX};
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l;
	const char *why;
	size_t i, j;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		for (j = 0; j < sizeof(absurd) / sizeof(absurd[0]); j++) {
			memcpy(buf, debug_offsets_313, sizeof(buf));
			put64(buf, sections[i], absurd[j]);
			why = NULL;
			assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why),
					 -EINVAL);
			assert_non_null(why);
		}
	}
}

static void expect_einval_at(size_t pos, uint64_t value, const char *name)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l;
	const char *why = NULL;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	put64(buf, pos, value);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), -EINVAL);
	if (!strstr(why, name))
		fail_msg("\"%s\" does not name %s", why, name);
}

static void expect_ok_at(size_t pos, uint64_t value)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	put64(buf, pos, value);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, NULL), 0);
}

static void test_offset_past_structure(void **state)
{
	uint64_t tsize = get64(debug_offsets_313, P313_TSTATE_SIZE);
	uint64_t fsize = get64(debug_offsets_313, P313_FRAME_SIZE);
	uint64_t bsize = get64(debug_offsets_313, P313_BYTES_SIZE);

	/* an 8-byte pointer must end inside PyThreadState */
	expect_ok_at(P313_TSTATE_CURRENT_FRAME, tsize - 8);
	expect_einval_at(P313_TSTATE_CURRENT_FRAME, tsize - 7, "thread_state.current_frame");
	expect_einval_at(P313_TSTATE_CURRENT_FRAME, tsize, "thread_state.current_frame");
	expect_einval_at(P313_TSTATE_CURRENT_FRAME, UINT64_MAX, "thread_state.current_frame");
	expect_einval_at(P313_TSTATE_CURRENT_FRAME, UINT64_MAX - 3, "thread_state.current_frame");
	/* a char owner may be the last byte */
	expect_ok_at(P313_FRAME_OWNER, fsize - 1);
	expect_einval_at(P313_FRAME_OWNER, fsize, "interpreter_frame.owner");
	expect_einval_at(P313_BYTES_OB_SVAL, bsize, "bytes_object.ob_sval");
	/* a structure shrunk below a field's offset */
	expect_einval_at(P313_TSTATE_SIZE, DEBUG_OFFSETS_313_TSTATE_FRAME + 7,
			 "thread_state.current_frame");
	/* PyASCIIObject must hold state and length and leave room for the
	 * compact object's utf8_length and utf8 */
	expect_einval_at(P313_UNICODE_ASCII_SIZE, 0, "asciiobject_size");
	expect_einval_at(P313_UNICODE_ASCII_SIZE, DEBUG_OFFSETS_313_UNICODE_STATE + 3,
			 "asciiobject_size");
	expect_einval_at(P313_UNICODE_ASCII_SIZE, get64(debug_offsets_313, P313_UNICODE_SIZE) - 15,
			 "asciiobject_size");
	expect_einval_at(P313_UNICODE_ASCII_SIZE, UINT64_MAX, "asciiobject_size");
}

/* Kernel-side offsets travel as __s16; user-side ones need not. */
static void test_kernel_offsets_fit_s16(void **state)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l;
	const char *why = NULL;

	memcpy(buf, debug_offsets_313, sizeof(buf));
	put64(buf, P313_INTERP_SIZE, 100000);
	put64(buf, P313_INTERP_NEXT, 32767);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), 0);
	assert_int_equal(l.bpf.interp_next, 32767);
	put64(buf, P313_INTERP_NEXT, 32768);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), -EINVAL);
	assert_non_null(strstr(why, "interpreter_state.next"));
	assert_non_null(strstr(why, "16-bit"));

	/* interpreter_state.id stays in userspace: a large one is fine */
	put64(buf, P313_INTERP_NEXT, DEBUG_OFFSETS_313_INTERP_NEXT);
	put64(buf, P313_INTERP_SIZE + 8, 90000);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, &why), 0);
	assert_int_equal(l.interp_id, 90000);
}

/* *out is written only on success; NULL version and why are allowed. */
static void test_out_untouched_on_error(void **state)
{
	unsigned char buf[sizeof(debug_offsets_313)];
	struct py_layout l, before;

	memset(&l, 0xa5, sizeof(l));
	before = l;
	memcpy(buf, debug_offsets_313, sizeof(buf));
	put64(buf, P313_FREE_THREADED, 1);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), &l, NULL, NULL), -EINVAL);
	assert_memory_equal(&l, &before, sizeof(l));
	assert_int_equal(py_debug_offsets_parse(NULL, 0, &l, NULL, NULL), -EINVAL);
	assert_int_equal(py_debug_offsets_parse(buf, sizeof(buf), NULL, NULL, NULL), -EINVAL);
	assert_memory_equal(&l, &before, sizeof(l));
}

/* ---- fuzz --------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void check_result(int err, const struct py_layout *l, const char *why)
{
	if (err == 0) {
		/* whatever it accepted is self-consistent */
		assert_true(l->minor == 13 || l->minor == 14);
		assert_in_range(l->bpf.tstate_frame, 0, INT16_MAX);
		assert_in_range(l->bpf.frame_owner, 0, INT16_MAX);
		assert_int_equal(l->bpf.tstate_cframe, PYEBPF_NO_FIELD);
		assert_true(l->unicode_compact_size == l->unicode_ascii_size + 16);
		/* no GIL, or one whose flags come before its condvars */
		if (l->gil.interp_gil_ptr == PYEBPF_NO_FIELD) {
			expect_no_gil(&l->gil);
		} else {
			assert_in_range(l->gil.interp_gil_ptr, 0, INT32_MAX);
			assert_true(l->gil.last_holder + 8 <= l->gil.locked);
			assert_true(l->gil.locked + 4 <= l->gil.cond);
			assert_int_equal(l->gil.size, l->gil.cond + 176);
		}
		return;
	}
	assert_true(err == -ENOENT || err == -ENOTSUP || err == -EINVAL);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
}

static void test_random_bytes(void **state)
{
	int i, accepted = 0;

	for (i = 0; i < 6000; i++) {
		size_t len = rng() % (PY_DEBUG_OFFSETS_READ_SIZE + 1);
		unsigned char *buf = malloc(len ? len : 1);
		struct py_layout l;
		const char *why = NULL;
		size_t j;
		int err;

		assert_non_null(buf);
		switch (i % 3) {
		case 0: /* random bytes behind a valid cookie */
			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)rng();
			memcpy(buf, "xdebugpy", len < 8 ? len : 8);
			break;
		case 1: /* a known version, random offsets */
			for (j = 0; j < len; j++)
				buf[j] = (unsigned char)rng();
			if (len >= 24) {
				memcpy(buf, "xdebugpy", 8);
				put64(buf, 8, rng() & 1 ? 0x030d00f0 : 0x030e00f0);
				put64(buf, 16, 0);
				/* small offsets, so some pass the size checks */
				for (j = 24; j + 8 <= len; j += 8)
					if (rng() & 1)
						put64(buf, j, rng() % 512);
			}
			break;
		default: /* the real block with a few values changed */
			if (len > sizeof(debug_offsets_313))
				len = sizeof(debug_offsets_313);
			memcpy(buf, debug_offsets_313, len);
			for (j = rng() % 4; j > 0 && len >= 8; j--) {
				size_t pos = (rng() % (len / 8)) * 8;

				put64(buf, pos, rng() & 1 ? rng() : rng() % 1024);
			}
			break;
		}
		err = py_debug_offsets_parse(buf, len, &l, NULL, &why);
		check_result(err, &l, why);
		accepted += err == 0;
		free(buf);
	}
	/* the mutations of the real block sometimes leave it valid */
	assert_true(accepted > 0);
}

/* ---- a live 3.13 process ------------------------------------------------ */

struct live {
	pid_t pid;
};

static int live_setup(void **state)
{
	struct live *lv = calloc(1, sizeof(*lv));

	if (!lv)
		return -1;
	*state = lv;
	return 0;
}

static int live_teardown(void **state)
{
	struct live *lv = *state;

	if (lv->pid > 0) {
		kill(lv->pid, SIGKILL);
		waitpid(lv->pid, NULL, 0);
	}
	free(lv);
	return 0;
}

/* Run a shell command and return its first output line, or NULL. */
static char *first_line(const char *cmd, char *buf, size_t n)
{
	FILE *f = popen(cmd, "r");
	char *line = NULL;

	if (!f)
		return NULL;
	if (fgets(buf, (int)n, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		line = buf[0] ? buf : NULL;
	}
	pclose(f);
	return line;
}

/* Start address of the mapping of `lib_name` at file offset 0 in `pid`;
 * fills `path` with the mapped file. 0 if not (yet) mapped. */
static uint64_t find_lib_base(pid_t pid, const char *lib_name, char *path, size_t n)
{
	char maps[64], line[4096];
	uint64_t base = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char file[4096];

		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095s", &start, &end, &off, file) !=
		    4)
			continue;
		if (off == 0 && strstr(file, lib_name)) {
			base = start;
			snprintf(path, n, "%s", file);
			break;
		}
	}
	fclose(f);
	return base;
}

static void test_live_313(void **state)
{
	struct live *lv = *state;
	char prefix[4096], python[4200], lib[4096], cmd[4200], line[512];
	char *argv[] = {python, "-c", "import time; time.sleep(30)", NULL};
	unsigned char buf[4096];
	uint64_t base = 0, sym = 0;
	struct py_layout l, want;
	uint32_t version = 0;
	const char *why = NULL;
	int err = -ENOENT, tries;

	if (!first_line("pyenv prefix 3.13 2>/dev/null", prefix, sizeof(prefix))) {
		print_message("skipping: no Python 3.13 (`pyenv prefix 3.13` failed)\n");
		skip();
	}
	snprintf(python, sizeof(python), "%s/bin/python3", prefix);
	if (access(python, X_OK) != 0) {
		print_message("skipping: %s is not executable\n", python);
		skip();
	}
	assert_int_equal(posix_spawn(&lv->pid, python, NULL, NULL, argv, environ), 0);

	for (tries = 0; tries < 100 && !base; tries++) {
		base = find_lib_base(lv->pid, "libpython3.13.so", lib, sizeof(lib));
		if (!base)
			nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
	}
	if (!base)
		fail_msg("libpython3.13.so never appeared in /proc/%d/maps", (int)lv->pid);

	/* the symbol's value is its offset from the load base: the first
	 * PT_LOAD of libpython has p_vaddr 0 */
	snprintf(cmd, sizeof(cmd),
		 "nm -D --defined-only '%s' 2>/dev/null | awk '$3 == \"_PyRuntime\" { print $1 }'",
		 lib);
	if (!first_line(cmd, line, sizeof(line))) {
		print_message("skipping: `nm -D` found no _PyRuntime in %s\n", lib);
		skip();
	}
	sym = strtoull(line, NULL, 16);
	assert_true(sym != 0);

	/* the loader may still be mapping segments: retry for a while */
	for (tries = 0; tries < 100 && err; tries++) {
		struct iovec local = {buf, sizeof(buf)};
		struct iovec remote = {(void *)(uintptr_t)(base + sym), sizeof(buf)};

		if (process_vm_readv(lv->pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(buf))
			err = py_debug_offsets_parse(buf, sizeof(buf), &l, &version, &why);
		if (err)
			nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
	}
	if (err)
		fail_msg("cannot parse _PyRuntime of pid %d: %s", (int)lv->pid,
			 why ? why : "unreadable");

	assert_int_equal(version, 0x030d00f0);
	assert_int_equal(l.bpf.tstate_frame, 72);
	/* and the same layout as the fixture taken from the file */
	assert_int_equal(py_debug_offsets_parse(debug_offsets_313, sizeof(debug_offsets_313), &want,
						NULL, NULL),
			 0);
	assert_memory_equal(&l, &want, sizeof(l));
	check_313_truth(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_313_fixture_matches_dwarf),
		cmocka_unit_test(test_313_lengths),
		cmocka_unit_test(test_313_gil_matches_dwarf),
		cmocka_unit_test(test_313_bad_gil_is_dropped),
		cmocka_unit_test(test_313_objects_match_dwarf),
		cmocka_unit_test(test_313_bad_objects_are_dropped),
		cmocka_unit_test(test_314_synthetic),
		cmocka_unit_test(test_wrong_cookie),
		cmocka_unit_test(test_unknown_versions),
		cmocka_unit_test(test_malformed_version),
		cmocka_unit_test(test_free_threaded),
		cmocka_unit_test(test_absurd_sizes),
		cmocka_unit_test(test_offset_past_structure),
		cmocka_unit_test(test_kernel_offsets_fit_s16),
		cmocka_unit_test(test_out_untouched_on_error),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test_setup_teardown(test_live_313, live_setup, live_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
