// SPDX-License-Identifier: MIT
/*
 * The generated CPython layout tables (with the GIL's, 3.13 included) and
 * py_layout_validate().
 *
 * The spot checks use offsets measured on this machine with gdb, by hand,
 * independently of tools/gen_python_layouts.py; a value nobody measured
 * separately is marked UNMEASURED and not compared.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "python_layout.h"

#define NO PYEBPF_NO_FIELD
#define UNMEASURED INT_MIN
#define FIRST_MINOR 6
#define LAST_MINOR 12

static const struct py_layout *table(int minor)
{
	const struct py_layout *l = py_layout_table_lookup(3, minor);

	assert_non_null(l);
	return l;
}

static void expect_valid(const struct py_layout *l)
{
	const char *why = NULL;
	int err = py_layout_validate(l, &why);

	if (err)
		fail_msg("3.%d rejected: %s", l->minor, why ? why : "(no reason)");
}

static void expect_rejected(const struct py_layout *l, const char *reason)
{
	const char *why = NULL;

	assert_int_equal(py_layout_validate(l, &why), -EINVAL);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void test_every_table_validates(void **state)
{
	int minor;

	for (minor = FIRST_MINOR; minor <= LAST_MINOR; minor++) {
		const struct py_layout *l = table(minor);

		assert_int_equal(l->major, 3);
		assert_int_equal(l->minor, minor);
		expect_valid(l);
		assert_ptr_equal(py_layout_table_lookup(3, minor), l);
	}
}

static void expect_unknown(int major, int minor)
{
	errno = 0;
	if (py_layout_table_lookup(major, minor))
		fail_msg("%d.%d has a table", major, minor);
	assert_int_equal(errno, ENOENT);
}

/* 3.13+ describe themselves with _Py_DebugOffsets; nothing is guessed. */
static void test_unknown_versions(void **state)
{
	int minor;

	for (minor = -1; minor <= 99; minor++) {
		if (minor < FIRST_MINOR || minor > LAST_MINOR)
			expect_unknown(3, minor);
	}
	expect_unknown(2, 7);
	expect_unknown(4, 6);
	expect_unknown(0, 0);
	expect_unknown(-3, -6);
}

/* Offsets measured independently on x86-64 builds of this machine. */
struct spot {
	int minor;
	int runtime_head, threads_head, thread_id, native_thread_id;
	int tstate_frame, tstate_cframe, cframe_current_frame;
	int frame_code, frame_previous, frame_instr, frame_owner;
	int code_filename, code_name, code_qualname, code_firstlineno;
	int ascii_size;
};

#define U UNMEASURED
/* clang-format off */
static const struct spot spots[] = {
	/* minor, interpreters.head, threads head, thread_id,
	 * native_thread_id, tstate frame, tstate cframe, current_frame,
	 * frame code, previous, instr, owner,
	 * co_filename, co_name, co_qualname, co_firstlineno,
	 * sizeof(PyASCIIObject) */
	{ 6, NO, U, U, NO, 24, NO, NO, U, U, U, NO, U, U, NO, U, 48 },
	{ 7, U, U, U, NO, 24, NO, NO, U, U, U, NO, U, U, NO, U, 48 },
	{ 8, 32, 8, 176, NO, 24, NO, NO, 32, 24, 104, NO,
	  104, 112, NO, 40, 48 },
	{ 9, 32, 8, 176, NO, 24, NO, NO, 32, 24, 104, NO,
	  104, 112, NO, 40, 48 },
	{ 10, 32, 8, 176, NO, 24, NO, NO, 32, 24, 96, NO,
	  104, 112, NO, 40, 48 },
	{ 11, 40, 16, 152, 160, NO, 56, 8, 32, 48, 56, NO,
	  112, 120, 128, 72, 48 },
	{ 12, 40, 72, 136, 144, NO, 56, 0, 0, 8, 56, 70,
	  112, 120, 128, 68, 40 },
};
/* clang-format on */
#undef U

static void check(int minor, const char *what, int got, int want)
{
	if (want != UNMEASURED && got != want)
		fail_msg("3.%d %s: table has %d, measured %d", minor, what, got, want);
}

static void test_spot_checks(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		const struct spot *s = &spots[i];
		const struct py_layout *l = table(s->minor);
		const struct pyebpf_py_offsets *o = &l->bpf;
		int m = s->minor;

		check(m, "interpreters.head", l->runtime_interpreters_head, s->runtime_head);
		check(m, "threads head", o->interp_threads_head, s->threads_head);
		check(m, "tstate next", o->tstate_next, 8);
		check(m, "thread_id", o->tstate_thread_id, s->thread_id);
		check(m, "native_thread_id", o->tstate_native_thread_id, s->native_thread_id);
		check(m, "tstate frame", o->tstate_frame, s->tstate_frame);
		check(m, "tstate cframe", o->tstate_cframe, s->tstate_cframe);
		check(m, "cframe current_frame", o->cframe_current_frame, s->cframe_current_frame);
		check(m, "frame code", o->frame_code, s->frame_code);
		check(m, "frame previous", o->frame_previous, s->frame_previous);
		check(m, "frame instr", o->frame_instr, s->frame_instr);
		check(m, "frame owner", o->frame_owner, s->frame_owner);
		check(m, "co_filename", l->code_filename, s->code_filename);
		check(m, "co_name", l->code_name, s->code_name);
		check(m, "co_qualname", l->code_qualname, s->code_qualname);
		check(m, "co_firstlineno", l->code_firstlineno, s->code_firstlineno);
		check(m, "kernel co_firstlineno", o->code_firstlineno, s->code_firstlineno);
		check(m, "sizeof(PyASCIIObject)", l->unicode_ascii_size, s->ascii_size);
	}
}

/* The offsets for reading objects (thread names), measured by hand with
 * gdb on the pyenv builds: offsetof(PyInterpreterState, modules) (3.6 to
 * 3.11) or (imports.modules) (3.12), offsetof(PyHeapTypeObject,
 * ht_cached_keys), and the dict keys and int layouts that changed in 3.11
 * and 3.12. */
static void test_object_spot_checks(void **state)
{
	static const struct {
		int minor, modules, cached_keys;
	} object_spots[] = {
		{6, 16, 856},	{7, 40, 856},	{8, 56, 872},	{9, 856, 864},
		{10, 856, 872}, {11, 888, 872}, {12, 944, 880},
	};
	size_t i;

	for (i = 0; i < sizeof(object_spots) / sizeof(object_spots[0]); i++) {
		const struct py_layout *l = table(object_spots[i].minor);
		int m = object_spots[i].minor;

		check(m, "interp modules", l->interp_modules, object_spots[i].modules);
		check(m, "ht_cached_keys", l->heaptype_cached_keys, object_spots[i].cached_keys);
		check(m, "md_dict", l->module_dict, 16);
		check(m, "tp_basicsize", l->type_basicsize, 32);
		check(m, "tp_flags", l->type_flags, 168);
		check(m, "tp_dictoffset", l->type_dictoffset, 288);
		check(m, "ma_keys", l->dict_keys, 32);
		check(m, "ma_values", l->dict_values, 40);
		check(m, "PyDictKeyEntry", l->dictkeys_entry_size, 24);
		check(m, "ob_digit", l->long_digits, 24);
		check(m, "PyDictValues.values", l->dictvalues_values, 0);
		check(m, "PyDictValues.valid", l->dictvalues_valid, NO);
		if (m <= 10) {
			check(m, "dk_size", l->dictkeys_size, 8);
			check(m, "dk_nentries", l->dictkeys_nentries, 32);
			check(m, "dk_indices", l->dictkeys_indices, 40);
			check(m, "dk_kind", l->dictkeys_kind, NO);
			check(m, "attrs kind", l->attrs_kind, PY_ATTRS_DICTOFFSET);
		} else {
			check(m, "dk_size", l->dictkeys_size, NO);
			check(m, "dk_log2_size", l->dictkeys_log2_size, 8);
			check(m, "dk_log2_index_bytes", l->dictkeys_log2_index_bytes, 9);
			check(m, "dk_kind", l->dictkeys_kind, 10);
			check(m, "dk_nentries", l->dictkeys_nentries, 24);
			check(m, "dk_indices", l->dictkeys_indices, 32);
			check(m, "PyDictUnicodeEntry", l->dictkeys_unicode_entry_size, 16);
			check(m, "attrs kind", l->attrs_kind,
			      m == 11 ? PY_ATTRS_MANAGED_311 : PY_ATTRS_MANAGED_312);
		}
		check(m, "ob_size", l->long_size, m <= 11 ? 16 : NO);
		check(m, "lv_tag", l->long_tag, m <= 11 ? NO : 16);
	}
}

/* What each version's fields mean, beyond the offsets themselves. */
static void test_version_semantics(void **state)
{
	int minor;

	for (minor = FIRST_MINOR; minor <= LAST_MINOR; minor++) {
		const struct py_layout *l = table(minor);
		const struct pyebpf_py_offsets *o = &l->bpf;

		assert_int_equal(o->frame_instr_kind,
				 minor <= 10 ? PYEBPF_INSTR_LASTI : PYEBPF_INSTR_POINTER);
		assert_int_equal(l->linetable_kind, minor <= 9	  ? PY_LINETABLE_LNOTAB
						    : minor == 10 ? PY_LINETABLE_310
								  : PY_LINETABLE_LOCATIONS);
		/* FRAME_OWNED_BY_CSTACK shims exist from 3.12 */
		assert_int_equal(o->frame_owner_shim_min, minor >= 12 ? 3 : 255);
		assert_int_equal(o->frame_owner == NO, minor < 12);
		assert_int_equal(o->tstate_native_thread_id == NO, minor < 11);
		assert_int_equal(l->code_qualname == NO, minor < 11);
		assert_int_equal(l->code_code_adaptive == NO, minor < 11);
		assert_int_equal(l->runtime_interpreters_head == NO, minor < 7);
		assert_int_equal(l->interp_id == NO, minor < 7);
		assert_int_equal(o->code_argcount, l->code_argcount);
		assert_int_equal(o->code_firstlineno, l->code_firstlineno);
		assert_int_equal(l->object_type, 8);
		assert_int_equal(o->pad[0], 0);
		assert_int_equal(o->pad[1], 0);
	}
}

static void test_rejects_offset_past_window(void **state)
{
	struct py_layout l = *table(12);

	/* the last slot that fits is accepted, one byte further is not */
	l.bpf.tstate_thread_id = PYEBPF_TSTATE_WINDOW - 8;
	expect_valid(&l);
	l.bpf.tstate_thread_id = PYEBPF_TSTATE_WINDOW - 7;
	expect_rejected(&l, "offset tstate_thread_id is outside the thread state window");

	l = *table(12);
	l.bpf.frame_owner = PYEBPF_FRAME_WINDOW - 1;
	expect_valid(&l);
	l.bpf.frame_owner = PYEBPF_FRAME_WINDOW;
	expect_rejected(&l, "offset frame_owner is outside the frame window");

	l = *table(11);
	l.bpf.code_firstlineno = PYEBPF_CODE_WINDOW - 3;
	l.code_firstlineno = l.bpf.code_firstlineno;
	expect_rejected(&l, "offset code_firstlineno is outside the code object window");

	l = *table(8);
	l.bpf.tstate_frame = 4000;
	expect_rejected(&l, "offset tstate_frame is outside the thread state window");
}

/* f_lasti is an int; 3.11+ instruction pointers are 8 bytes wide. */
static void test_instr_width_follows_kind(void **state)
{
	struct py_layout l = *table(10);

	l.bpf.frame_instr = PYEBPF_FRAME_WINDOW - 4;
	expect_valid(&l);

	l = *table(11);
	l.bpf.frame_instr = PYEBPF_FRAME_WINDOW - 4;
	expect_rejected(&l, "offset frame_instr is outside the frame window");
	l.bpf.frame_instr = PYEBPF_FRAME_WINDOW - 8;
	expect_valid(&l);

	l.bpf.frame_instr_kind = 7;
	expect_rejected(&l, "unknown frame_instr_kind");
}

static void test_rejects_negative_offsets(void **state)
{
	struct py_layout l = *table(9);

	l.bpf.tstate_next = -2;
	expect_rejected(&l, "offset tstate_next is outside the thread state window");

	l = *table(9);
	l.bpf.interp_next = -100;
	expect_rejected(&l, "offset interp_next is negative");

	l = *table(11);
	l.bpf.cframe_current_frame = -8;
	expect_rejected(&l, "offset cframe_current_frame is negative");

	l = *table(10);
	l.code_qualname = -2; /* absent in 3.10, but -1 is the only "absent" */
	expect_rejected(&l, "missing or negative offset code_qualname");
}

/* clang-format off */
#define REQUIRED(f) \
	{ offsetof(struct pyebpf_py_offsets, f), "missing offset " #f }
static const struct {
	size_t field;
	const char *why;
} required[] = {
	REQUIRED(interp_threads_head),
	REQUIRED(tstate_next),
	REQUIRED(tstate_thread_id),
	REQUIRED(frame_previous),
	REQUIRED(frame_code),
	REQUIRED(frame_instr),
	REQUIRED(code_argcount),
	REQUIRED(code_firstlineno),
};
#undef REQUIRED
/* clang-format on */

static void test_rejects_missing_required_field(void **state)
{
	int minor;
	size_t i;

	for (minor = FIRST_MINOR; minor <= LAST_MINOR; minor++) {
		for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
			struct py_layout l = *table(minor);
			__s16 *field = (__s16 *)((char *)&l.bpf + required[i].field);

			*field = PYEBPF_NO_FIELD;
			expect_rejected(&l, required[i].why);
		}
	}
}

/* Exactly one way from a thread state to its current frame. */
static void test_frame_source(void **state)
{
	struct py_layout l = *table(10);

	l.bpf.tstate_cframe = 56;
	l.bpf.cframe_current_frame = 8;
	expect_rejected(&l, "both tstate_frame and tstate_cframe are set");

	l = *table(12);
	l.bpf.cframe_current_frame = NO;
	expect_rejected(&l, "tstate_cframe and cframe_current_frame go together");
	l.bpf.tstate_cframe = NO;
	expect_rejected(&l, "neither tstate_frame nor tstate_cframe is set");

	/* 3.13 style: tstate->current_frame directly */
	l.bpf.tstate_frame = 72;
	expect_valid(&l);

	l = *table(12);
	l.bpf.tstate_cframe = NO;
	expect_rejected(&l, "tstate_cframe and cframe_current_frame go together");
}

static void test_rejects_bad_owner(void **state)
{
	struct py_layout l = *table(12);

	l.bpf.frame_owner_shim_min = 0;
	expect_rejected(&l, "frame_owner_shim_min 0 would skip every frame");

	/* without an owner field the threshold is unused */
	l.bpf.frame_owner = NO;
	expect_valid(&l);
}

static void test_rejects_bad_userspace_fields(void **state)
{
	struct py_layout l = *table(12);

	l.code_filename = NO;
	expect_rejected(&l, "missing or negative offset code_filename");

	l = *table(12);
	l.code_qualname = NO;
	expect_rejected(&l, "missing or negative offset code_qualname");

	l = *table(11);
	l.code_code_adaptive = NO;
	expect_rejected(&l, "missing or negative offset code_code_adaptive");

	l = *table(8);
	l.runtime_interpreters_head = NO;
	expect_rejected(&l, "missing or negative offset runtime_interpreters_head");

	l = *table(8);
	l.bytes_sval = -5;
	expect_rejected(&l, "missing or negative offset bytes_sval");

	l = *table(10);
	l.code_argcount = l.bpf.code_argcount + 4;
	expect_rejected(&l, "code_argcount differs between userspace and kernel");

	l = *table(12);
	l.unicode_compact_size = l.unicode_ascii_size;
	expect_rejected(&l, "unicode object sizes are inconsistent");

	l = *table(12);
	l.linetable_kind = (enum py_linetable_kind)9;
	expect_rejected(&l, "unknown linetable_kind");
}

/* The GIL, measured by hand with gdb: offsetof(_PyRuntimeState, ceval.gil)
 * (3.7 to 3.11) or (_main_interpreter._gil) (3.12, 3.13), and
 * offsetof(PyInterpreterState, ceval.gil) (3.12+). */
static const struct {
	int minor, runtime_gil, interp_gil_ptr;
} gil_spots[] = {
	{6, NO, NO},   {7, 1264, NO}, {8, 1152, NO},	{9, 352, NO},
	{10, 352, NO}, {11, 360, NO}, {12, 77432, 384}, {13, 96104, 16},
};

static void test_gil_tables(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(gil_spots) / sizeof(gil_spots[0]); i++) {
		int minor = gil_spots[i].minor;
		const struct py_gil_layout *g = py_gil_layout_table_lookup(3, minor);

		assert_non_null(g);
		if (minor <= LAST_MINOR)
			assert_ptr_equal(g, &table(minor)->gil);
		assert_int_equal(g->runtime_gil, gil_spots[i].runtime_gil);
		assert_int_equal(g->interp_gil_ptr, gil_spots[i].interp_gil_ptr);
		if (minor == 6) {
			/* static variables, found by name */
			assert_int_equal(g->last_holder, NO);
			assert_int_equal(g->locked, NO);
			assert_int_equal(g->cond, NO);
			assert_int_equal(g->size, NO);
			continue;
		}
		/* the same struct from 3.7 to 3.13: two pthread_cond_t (48) and
		 * pthread_mutex_t (40) after the flags */
		assert_int_equal(g->last_holder, 8);
		assert_int_equal(g->locked, 16);
		assert_int_equal(g->cond, 32);
		assert_int_equal(g->size, 208);
	}
	errno = 0;
	assert_null(py_gil_layout_table_lookup(3, 14));
	assert_int_equal(errno, ENOENT);
	assert_null(py_gil_layout_table_lookup(3, 5));
	assert_null(py_gil_layout_table_lookup(2, 7));
}

static void test_rejects_bad_gil(void **state)
{
	struct py_layout l = *table(12);

	/* no GIL at all is fine (3.6, or a source that does not know it) */
	l.gil = table(6)->gil;
	expect_valid(&l);

	l = *table(12);
	l.gil.runtime_gil = NO;
	expect_valid(&l); /* the pointer alone finds it */
	l.gil.interp_gil_ptr = NO;
	expect_rejected(&l, "GIL offsets without runtime_gil or interp_gil_ptr");

	l = *table(11);
	l.gil.cond = NO;
	expect_rejected(&l, "missing or negative offset gil.cond");
	l = *table(11);
	l.gil.runtime_gil = -8;
	expect_rejected(&l, "missing or negative offset gil.runtime_gil");
	l = *table(11);
	l.gil.size = 4096;
	expect_rejected(&l, "GIL size is too large");
	l = *table(11);
	l.gil.locked = 32;
	expect_rejected(&l, "GIL fields are not before its condition variables");
	l = *table(11);
	l.gil.cond = l.gil.size;
	expect_rejected(&l, "GIL fields are not before its condition variables");
	l = *table(11);
	l.gil.locked = 12;
	expect_rejected(&l, "GIL last_holder and locked overlap");
}

static void test_null_arguments(void **state)
{
	struct py_layout l = *table(12);
	const char *why = NULL;

	assert_int_equal(py_layout_validate(NULL, &why), -EINVAL);
	assert_string_equal(why, "no layout");

	assert_int_equal(py_layout_validate(&l, NULL), 0);
	l.bpf.frame_code = NO;
	assert_int_equal(py_layout_validate(&l, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_table_validates),
		cmocka_unit_test(test_unknown_versions),
		cmocka_unit_test(test_spot_checks),
		cmocka_unit_test(test_object_spot_checks),
		cmocka_unit_test(test_version_semantics),
		cmocka_unit_test(test_rejects_offset_past_window),
		cmocka_unit_test(test_instr_width_follows_kind),
		cmocka_unit_test(test_rejects_negative_offsets),
		cmocka_unit_test(test_rejects_missing_required_field),
		cmocka_unit_test(test_frame_source),
		cmocka_unit_test(test_rejects_bad_owner),
		cmocka_unit_test(test_rejects_bad_userspace_fields),
		cmocka_unit_test(test_gil_tables),
		cmocka_unit_test(test_rejects_bad_gil),
		cmocka_unit_test(test_null_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
