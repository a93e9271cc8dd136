// SPDX-License-Identifier: MIT
/*
 * Parse CPython's _Py_DebugOffsets (3.13+) into a struct py_layout.
 *
 * The block is a C struct of uint64_t that CPython extends between minor
 * versions, inserting fields in the middle of sections, so the position of
 * each value depends on the version. The block's layout for each version
 * is described below by a private mirror of CPython's struct, and values
 * are read with memcpy at offsetof() positions of that mirror: the buffer
 * is never cast to the struct.
 *
 * Sources of the mirrors:
 *   3.13: DWARF of the 3.13.0 build (gdb `ptype/o struct _Py_DebugOffsets`
 *         on libpython3.13.so.1.0); in CPython it lives in
 *         Include/internal/pycore_runtime.h.
 *   3.14: Include/internal/pycore_debug_offsets.h of the 3.14 release
 *         branch (the 3.14 alphas had other layouts); the same layout is
 *         what pystack's Python3_14 namespace reads.
 * 3.15 (main) inserts base_frame and last_profiled_frame into thread_state
 * and more sections, so it is refused until it has a mirror of its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "debug_offsets.h"

#define COOKIE "xdebugpy"
#define COOKIE_LEN 8

/* The largest structure size accepted as sane. sizeof(_PyRuntimeState) is
 * 283320 and sizeof(PyInterpreterState) 194968 in 3.13.0; debug builds are
 * larger, but not by orders of magnitude. */
#define MAX_STRUCT_SIZE (1u << 24)

/* ---- The block's layout, per version ----------------------------------- */

/* 3.13: 584 bytes. */
struct py313_debug_offsets {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} list_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
};

/* 3.14: 760 bytes. Differences from 3.13: interpreter_state gains
 * threads_main (after threads_head), code_object_generation and
 * tlbc_generation (at the end); interpreter_frame gains stackpointer and
 * tlbc_index; code_object gains co_tlbc; a set_object section is inserted
 * between list_object and dict_object; gen_object, llist_node and
 * debugger_support sections are appended. */
struct py314_debug_offsets {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict,
			builtins, ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder, code_object_generation,
			tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer,
			tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
			debugger_pending_call, debugger_script_path, debugger_script_path_size;
	} debugger_support;
};

/* Checked against gdb on the 3.13.0 build, and against the 3.14 header. */
_Static_assert(sizeof(struct py313_debug_offsets) == 584, "3.13 block size");
_Static_assert(offsetof(struct py313_debug_offsets, thread_state.current_frame) == 184,
	       "3.13 thread_state.current_frame");
_Static_assert(offsetof(struct py313_debug_offsets, unicode_object.asciiobject_size) == 560,
	       "3.13 unicode_object.asciiobject_size");
_Static_assert(sizeof(struct py314_debug_offsets) == 760, "3.14 block size");
_Static_assert(offsetof(struct py314_debug_offsets, thread_state.current_frame) == 208,
	       "3.14 thread_state.current_frame");
_Static_assert(sizeof(struct py314_debug_offsets) <= PY_DEBUG_OFFSETS_READ_SIZE,
	       "PY_DEBUG_OFFSETS_READ_SIZE too small");

/* ---- What the parser maps, independent of the version ------------------ */

/* The block's sections the parser reads; each starts with the size of the
 * CPython structure its offsets point into. */
enum section {
	S_RUNTIME,
	S_INTERP,
	S_TSTATE,
	S_FRAME,
	S_CODE,
	S_OBJECT,
	S_UNICODE,
	S_BYTES,
	S__COUNT,
};

static const char *const section_name[S__COUNT] = {
	[S_RUNTIME] = "runtime_state",	[S_INTERP] = "interpreter_state",
	[S_TSTATE] = "thread_state",	[S_FRAME] = "interpreter_frame",
	[S_CODE] = "code_object",	[S_OBJECT] = "pyobject",
	[S_UNICODE] = "unicode_object", [S_BYTES] = "bytes_object",
};

/* The offsets the parser maps. */
enum value {
	V_RUNTIME_INTERPRETERS_HEAD,
	V_INTERP_ID,
	V_INTERP_NEXT,
	V_INTERP_THREADS_HEAD,
	V_TSTATE_NEXT,
	V_TSTATE_INTERP,
	V_TSTATE_CURRENT_FRAME,
	V_TSTATE_THREAD_ID,
	V_TSTATE_NATIVE_THREAD_ID,
	V_TSTATE_DATASTACK_CHUNK,
	V_FRAME_PREVIOUS,
	V_FRAME_EXECUTABLE,
	V_FRAME_INSTR_PTR,
	V_FRAME_OWNER,
	V_CODE_FILENAME,
	V_CODE_NAME,
	V_CODE_QUALNAME,
	V_CODE_LINETABLE,
	V_CODE_FIRSTLINENO,
	V_CODE_ARGCOUNT,
	V_CODE_CODE_ADAPTIVE,
	V_OBJECT_TYPE,
	V_UNICODE_STATE,
	V_UNICODE_LENGTH,
	V_BYTES_OB_SIZE,
	V_BYTES_OB_SVAL,
	V__COUNT,
};

/* Each value is the offset of a CPython field of `width` bytes inside the
 * structure of `section`: offset + width must not exceed that size. */
static const struct {
	const char *name;
	enum section section;
	unsigned char width;
} value_info[V__COUNT] = {
	[V_RUNTIME_INTERPRETERS_HEAD] = {"runtime_state.interpreters_head", S_RUNTIME, 8},
	[V_INTERP_ID] = {"interpreter_state.id", S_INTERP, 8},
	[V_INTERP_NEXT] = {"interpreter_state.next", S_INTERP, 8},
	[V_INTERP_THREADS_HEAD] = {"interpreter_state.threads_head", S_INTERP, 8},
	[V_TSTATE_NEXT] = {"thread_state.next", S_TSTATE, 8},
	[V_TSTATE_INTERP] = {"thread_state.interp", S_TSTATE, 8},
	[V_TSTATE_CURRENT_FRAME] = {"thread_state.current_frame", S_TSTATE, 8},
	[V_TSTATE_THREAD_ID] = {"thread_state.thread_id", S_TSTATE, 8},
	[V_TSTATE_NATIVE_THREAD_ID] = {"thread_state.native_thread_id", S_TSTATE, 8},
	[V_TSTATE_DATASTACK_CHUNK] = {"thread_state.datastack_chunk", S_TSTATE, 8},
	[V_FRAME_PREVIOUS] = {"interpreter_frame.previous", S_FRAME, 8},
	[V_FRAME_EXECUTABLE] = {"interpreter_frame.executable", S_FRAME, 8},
	[V_FRAME_INSTR_PTR] = {"interpreter_frame.instr_ptr", S_FRAME, 8},
	[V_FRAME_OWNER] = {"interpreter_frame.owner", S_FRAME, 1},
	[V_CODE_FILENAME] = {"code_object.filename", S_CODE, 8},
	[V_CODE_NAME] = {"code_object.name", S_CODE, 8},
	[V_CODE_QUALNAME] = {"code_object.qualname", S_CODE, 8},
	[V_CODE_LINETABLE] = {"code_object.linetable", S_CODE, 8},
	[V_CODE_FIRSTLINENO] = {"code_object.firstlineno", S_CODE, 4},
	[V_CODE_ARGCOUNT] = {"code_object.argcount", S_CODE, 4},
	/* char co_code_adaptive[1]: the first byte of the bytecode */
	[V_CODE_CODE_ADAPTIVE] = {"code_object.co_code_adaptive", S_CODE, 1},
	[V_OBJECT_TYPE] = {"pyobject.ob_type", S_OBJECT, 8},
	/* the state bitfield word is an unsigned int */
	[V_UNICODE_STATE] = {"unicode_object.state", S_UNICODE, 4},
	[V_UNICODE_LENGTH] = {"unicode_object.length", S_UNICODE, 8},
	[V_BYTES_OB_SIZE] = {"bytes_object.ob_size", S_BYTES, 8},
	/* char ob_sval[1] */
	[V_BYTES_OB_SVAL] = {"bytes_object.ob_sval", S_BYTES, 1},
};

/* The values that go to the kernel, as __s16 (struct pyebpf_py_offsets). */
static const enum value kernel_values[] = {
	V_INTERP_NEXT,
	V_INTERP_THREADS_HEAD,
	V_TSTATE_NEXT,
	V_TSTATE_THREAD_ID,
	V_TSTATE_NATIVE_THREAD_ID,
	V_TSTATE_CURRENT_FRAME,
	V_FRAME_PREVIOUS,
	V_FRAME_EXECUTABLE,
	V_FRAME_INSTR_PTR,
	V_FRAME_OWNER,
	V_CODE_ARGCOUNT,
	V_CODE_FIRSTLINENO,
	V_TSTATE_DATASTACK_CHUNK,
};

/* The GIL's values, all offsets in PyInterpreterState; read apart from the
 * others because a GIL that does not add up is left unknown, not fatal. */
enum gil_value {
	G_CEVAL_GIL,	     /* ceval.gil, the pointer to the GIL in use */
	G_GIL_RUNTIME_STATE, /* _gil, the interpreter's own GIL */
	G_LOCKED,	     /* _gil.locked */
	G_HOLDER,	     /* _gil.last_holder */
	G__COUNT,
};

/* Offsets for reading objects (dicts, ints, instance attributes; what
 * thread_names.c needs), read apart from the others like the GIL: values
 * that do not add up leave these fields unknown, not the layout refused.
 * Each *_SIZE is the size of the structure the next values point into. */
enum object_value {
	O_INTERP_SIZE,	  /* sizeof(PyInterpreterState) */
	O_INTERP_MODULES, /* imports.modules */
	O_TYPE_SIZE,	  /* sizeof(PyTypeObject) */
	O_TYPE_FLAGS,	  /* tp_flags */
	O_DICT_SIZE,	  /* sizeof(PyDictObject) */
	O_DICT_KEYS,	  /* ma_keys */
	O_DICT_VALUES,	  /* ma_values */
	O_LONG_SIZE,	  /* sizeof(PyLongObject) */
	O_LONG_TAG,	  /* long_value.lv_tag */
	O_LONG_DIGITS,	  /* long_value.ob_digit */
	O__COUNT,
};

/* Where one version keeps everything in its block. */
struct known_layout {
	int minor;
	size_t block_size;
	unsigned char owner_shim_min;
	unsigned short section_pos[S__COUNT]; /* of each section's size */
	unsigned short value_pos[V__COUNT];
	unsigned short ascii_size_pos; /* unicode_object.asciiobject_size */
	unsigned short gil_pos[G__COUNT];
	unsigned short object_pos[O__COUNT];
};

#define KNOWN_LAYOUT(S, minor_, shim_min)                                                         \
	{                                                                                         \
		.minor = (minor_), .block_size = sizeof(S), .owner_shim_min = (shim_min),         \
		.section_pos =                                                                    \
			{                                                                         \
				[S_RUNTIME] = offsetof(S, runtime_state.size),                    \
				[S_INTERP] = offsetof(S, interpreter_state.size),                 \
				[S_TSTATE] = offsetof(S, thread_state.size),                      \
				[S_FRAME] = offsetof(S, interpreter_frame.size),                  \
				[S_CODE] = offsetof(S, code_object.size),                         \
				[S_OBJECT] = offsetof(S, pyobject.size),                          \
				[S_UNICODE] = offsetof(S, unicode_object.size),                   \
				[S_BYTES] = offsetof(S, bytes_object.size),                       \
			},                                                                        \
		.value_pos =                                                                      \
			{                                                                         \
				[V_RUNTIME_INTERPRETERS_HEAD] =                                   \
					offsetof(S, runtime_state.interpreters_head),             \
				[V_INTERP_ID] = offsetof(S, interpreter_state.id),                \
				[V_INTERP_NEXT] = offsetof(S, interpreter_state.next),            \
				[V_INTERP_THREADS_HEAD] =                                         \
					offsetof(S, interpreter_state.threads_head),              \
				[V_TSTATE_NEXT] = offsetof(S, thread_state.next),                 \
				[V_TSTATE_INTERP] = offsetof(S, thread_state.interp),             \
				[V_TSTATE_CURRENT_FRAME] =                                        \
					offsetof(S, thread_state.current_frame),                  \
				[V_TSTATE_THREAD_ID] = offsetof(S, thread_state.thread_id),       \
				[V_TSTATE_NATIVE_THREAD_ID] =                                     \
					offsetof(S, thread_state.native_thread_id),               \
				[V_TSTATE_DATASTACK_CHUNK] =                                      \
					offsetof(S, thread_state.datastack_chunk),                \
				[V_FRAME_PREVIOUS] = offsetof(S, interpreter_frame.previous),     \
				[V_FRAME_EXECUTABLE] = offsetof(S, interpreter_frame.executable), \
				[V_FRAME_INSTR_PTR] = offsetof(S, interpreter_frame.instr_ptr),   \
				[V_FRAME_OWNER] = offsetof(S, interpreter_frame.owner),           \
				[V_CODE_FILENAME] = offsetof(S, code_object.filename),            \
				[V_CODE_NAME] = offsetof(S, code_object.name),                    \
				[V_CODE_QUALNAME] = offsetof(S, code_object.qualname),            \
				[V_CODE_LINETABLE] = offsetof(S, code_object.linetable),          \
				[V_CODE_FIRSTLINENO] = offsetof(S, code_object.firstlineno),      \
				[V_CODE_ARGCOUNT] = offsetof(S, code_object.argcount),            \
				[V_CODE_CODE_ADAPTIVE] =                                          \
					offsetof(S, code_object.co_code_adaptive),                \
				[V_OBJECT_TYPE] = offsetof(S, pyobject.ob_type),                  \
				[V_UNICODE_STATE] = offsetof(S, unicode_object.state),            \
				[V_UNICODE_LENGTH] = offsetof(S, unicode_object.length),          \
				[V_BYTES_OB_SIZE] = offsetof(S, bytes_object.ob_size),            \
				[V_BYTES_OB_SVAL] = offsetof(S, bytes_object.ob_sval),            \
			},                                                                        \
		.ascii_size_pos = offsetof(S, unicode_object.asciiobject_size),                   \
		.gil_pos =                                                                        \
			{                                                                         \
				[G_CEVAL_GIL] = offsetof(S, interpreter_state.ceval_gil),         \
				[G_GIL_RUNTIME_STATE] =                                           \
					offsetof(S, interpreter_state.gil_runtime_state),         \
				[G_LOCKED] =                                                      \
					offsetof(S, interpreter_state.gil_runtime_state_locked),  \
				[G_HOLDER] =                                                      \
					offsetof(S, interpreter_state.gil_runtime_state_holder),  \
			},                                                                        \
		.object_pos = {                                                                   \
			[O_INTERP_SIZE] = offsetof(S, interpreter_state.size),                    \
			[O_INTERP_MODULES] = offsetof(S, interpreter_state.imports_modules),      \
			[O_TYPE_SIZE] = offsetof(S, type_object.size),                            \
			[O_TYPE_FLAGS] = offsetof(S, type_object.tp_flags),                       \
			[O_DICT_SIZE] = offsetof(S, dict_object.size),                            \
			[O_DICT_KEYS] = offsetof(S, dict_object.ma_keys),                         \
			[O_DICT_VALUES] = offsetof(S, dict_object.ma_values),                     \
			[O_LONG_SIZE] = offsetof(S, long_object.size),                            \
			[O_LONG_TAG] = offsetof(S, long_object.lv_tag),                           \
			[O_LONG_DIGITS] = offsetof(S, long_object.ob_digit),                      \
		},                                                                                \
	}

static const struct known_layout known_layouts[] = {
	/* enum _frameowner: THREAD 0, GENERATOR 1, FRAME_OBJECT 2, CSTACK 3
	 * (3.13.0 DWARF) */
	KNOWN_LAYOUT(struct py313_debug_offsets, 13, 3),
	/* 3.14 inserted FRAME_OWNED_BY_INTERPRETER = 3 before CSTACK = 4
	 * (Include/internal/pycore_interpframe_structs.h); both are shims */
	KNOWN_LAYOUT(struct py314_debug_offsets, 14, 3),
};

/* ---- Parsing ------------------------------------------------------------ */

/* PY_VERSION_HEX release levels */
#define PY_RELEASE_LEVEL_ALPHA 0xa
#define PY_RELEASE_LEVEL_BETA 0xb
#define PY_RELEASE_LEVEL_GAMMA 0xc /* release candidate */
#define PY_RELEASE_LEVEL_FINAL 0xf

static __thread char why_buf[160];

static void set_why(const char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(const char **why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;
	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	*why = why_buf;
}

static uint64_t read_u64(const unsigned char *buf, size_t pos)
{
	uint64_t v;

	memcpy(&v, buf + pos, sizeof(v));
	return v;
}

/* "3.14", or "3.14.0b2" for a pre-release */
static void format_version(char *dst, size_t n, uint32_t hex)
{
	static const char *const level_name[16] = {
		[PY_RELEASE_LEVEL_ALPHA] = "a",
		[PY_RELEASE_LEVEL_BETA] = "b",
		[PY_RELEASE_LEVEL_GAMMA] = "rc",
	};
	unsigned int major = hex >> 24, minor = (hex >> 16) & 0xff;
	unsigned int micro = (hex >> 8) & 0xff, level = (hex >> 4) & 0xf;

	if (level_name[level])
		snprintf(dst, n, "%u.%u.%u%s%u", major, minor, micro, level_name[level], hex & 0xf);
	else
		snprintf(dst, n, "%u.%u", major, minor);
}

static const struct known_layout *find_layout(uint32_t hex, const char **why)
{
	unsigned int major = hex >> 24, minor = (hex >> 16) & 0xff;
	unsigned int level = (hex >> 4) & 0xf;
	char name[32];
	size_t i;

	format_version(name, sizeof(name), hex);
	for (i = 0; i < sizeof(known_layouts) / sizeof(known_layouts[0]); i++) {
		if (major != 3 || (int)minor != known_layouts[i].minor)
			continue;
		/* The alphas of 3.14 had other layouts, and nothing
		 * promises a beta's; the ABI is frozen from the first
		 * release candidate on. */
		if (level < PY_RELEASE_LEVEL_GAMMA) {
			set_why(why,
				"Python %s is a pre-release whose debug offsets layout is not "
				"supported",
				name);
			return NULL;
		}
		return &known_layouts[i];
	}
	set_why(why, "Python %s debug offsets layout is not supported", name);
	return NULL;
}

/* sizeof(pthread_cond_t) and sizeof(pthread_mutex_t) on x86-64 glibc and
 * musl */
#define COND_SIZE 48
#define MUTEX_SIZE 40
/* how far into struct _gil_runtime_state its flags may lie */
#define MAX_GIL_FLAGS 256

/*
 * The GIL from the block, or every field PYEBPF_NO_FIELD when its values do
 * not add up. The block gives where the pointer to the GIL is and where
 * locked and last_holder are inside it; not where its condition variables
 * are, nor its size. Those follow from the struct, the same from 3.7 to
 * 3.14 in GIL builds: {interval, last_holder, int locked, switch_number,
 * cond, mutex, switch_cond, switch_mutex} (the generated 3.13 table entry,
 * measured from DWARF, is compared with this by the unit test).
 */
static void parse_gil(const unsigned char *buf, const struct known_layout *kl, uint64_t interp_size,
		      struct py_gil_layout *g)
{
	uint64_t ptr = read_u64(buf, kl->gil_pos[G_CEVAL_GIL]);
	uint64_t base = read_u64(buf, kl->gil_pos[G_GIL_RUNTIME_STATE]);
	uint64_t locked = read_u64(buf, kl->gil_pos[G_LOCKED]);
	uint64_t holder = read_u64(buf, kl->gil_pos[G_HOLDER]);
	uint64_t cond, size;

	g->runtime_gil = PYEBPF_NO_FIELD; /* where the main interpreter is: not said */
	g->interp_gil_ptr = PYEBPF_NO_FIELD;
	g->last_holder = PYEBPF_NO_FIELD;
	g->locked = PYEBPF_NO_FIELD;
	g->cond = PYEBPF_NO_FIELD;
	g->size = PYEBPF_NO_FIELD;

	if (ptr > interp_size || interp_size - ptr < 8 || base > interp_size || locked < base ||
	    holder < base || locked - base > MAX_GIL_FLAGS || holder - base > MAX_GIL_FLAGS)
		return;
	locked -= base;
	holder -= base;
	/* the order the derivation below relies on */
	if (holder + 8 > locked)
		return;
	cond = ((locked + 4 + 7) & ~7ull) + 8; /* after unsigned long switch_number */
	size = cond + 2 * (COND_SIZE + MUTEX_SIZE);
	if (size > interp_size - base)
		return;
	g->interp_gil_ptr = (int)ptr;
	g->last_holder = (int)holder;
	g->locked = (int)locked;
	g->cond = (int)cond;
	g->size = (int)size;
}

/* A field of `width` bytes at `off` lies inside a `size`-byte structure. */
static bool field_fits(uint64_t off, uint64_t width, uint64_t size)
{
	return off <= size && width <= size - off;
}

/* PyTypeObject's head {PyVarObject, tp_name, tp_basicsize, ...} and the
 * place of tp_dictoffset have not changed since 3.0: the tables measure 32
 * and 288 from 3.6 to 3.12 and the unit test checks 3.13's DWARF. */
#define TYPE_BASICSIZE 32
#define TYPE_DICTOFFSET 288
/* PyHeapTypeObject {PyTypeObject ht_type; the method suites as_async (4
 * pointers), as_number (36), as_mapping (3), as_sequence (10), as_buffer
 * (2); ht_name, ht_slots, ht_qualname; ht_cached_keys; ...}: 3.10 to 3.14
 * (3.14's ht_token comes after ht_cached_keys) */
#define HEAPTYPE_CACHED_KEYS_AFTER_TYPE ((4 + 36 + 3 + 10 + 2 + 3) * 8)
#define MAX_TYPE_SIZE 4096

/*
 * The offsets for reading objects, or every such field PYEBPF_NO_FIELD
 * when the block's values do not add up. The block gives where sys.modules
 * is and the dict, int and type fields it has; the rest are constants of
 * structures that 3.13 and 3.14 share (Include/internal/pycore_dict.h,
 * pycore_moduleobject.h, cpython/object.h), checked against 3.13.0's DWARF
 * by the unit test.
 */
static void parse_objects(const unsigned char *buf, const struct known_layout *kl,
			  struct py_layout *l)
{
	uint64_t v[O__COUNT];
	int i;

	l->interp_modules = PYEBPF_NO_FIELD;
	l->module_dict = PYEBPF_NO_FIELD;
	l->type_basicsize = PYEBPF_NO_FIELD;
	l->type_flags = PYEBPF_NO_FIELD;
	l->type_dictoffset = PYEBPF_NO_FIELD;
	l->heaptype_cached_keys = PYEBPF_NO_FIELD;
	l->attrs_kind = PY_ATTRS_INLINE_313;
	l->dict_keys = PYEBPF_NO_FIELD;
	l->dict_values = PYEBPF_NO_FIELD;
	l->dictkeys_size = PYEBPF_NO_FIELD;
	l->dictkeys_log2_size = PYEBPF_NO_FIELD;
	l->dictkeys_log2_index_bytes = PYEBPF_NO_FIELD;
	l->dictkeys_kind = PYEBPF_NO_FIELD;
	l->dictkeys_nentries = PYEBPF_NO_FIELD;
	l->dictkeys_indices = PYEBPF_NO_FIELD;
	l->dictkeys_entry_size = PYEBPF_NO_FIELD;
	l->dictkeys_unicode_entry_size = PYEBPF_NO_FIELD;
	l->dictvalues_values = PYEBPF_NO_FIELD;
	l->dictvalues_capacity = PYEBPF_NO_FIELD;
	l->dictvalues_valid = PYEBPF_NO_FIELD;
	l->long_size = PYEBPF_NO_FIELD;
	l->long_tag = PYEBPF_NO_FIELD;
	l->long_digits = PYEBPF_NO_FIELD;

	for (i = 0; i < O__COUNT; i++)
		v[i] = read_u64(buf, kl->object_pos[i]);
	/* the sizes sane, each field inside its structure */
	if (v[O_INTERP_SIZE] > MAX_STRUCT_SIZE || v[O_TYPE_SIZE] > MAX_TYPE_SIZE ||
	    v[O_TYPE_SIZE] < TYPE_DICTOFFSET + 8 || v[O_DICT_SIZE] > MAX_TYPE_SIZE ||
	    v[O_LONG_SIZE] > MAX_TYPE_SIZE ||
	    !field_fits(v[O_INTERP_MODULES], 8, v[O_INTERP_SIZE]) ||
	    !field_fits(v[O_TYPE_FLAGS], 8, v[O_TYPE_SIZE]) ||
	    !field_fits(v[O_DICT_KEYS], 8, v[O_DICT_SIZE]) ||
	    !field_fits(v[O_DICT_VALUES], 8, v[O_DICT_SIZE]) ||
	    !field_fits(v[O_LONG_TAG], 8, v[O_LONG_SIZE]) ||
	    !field_fits(v[O_LONG_DIGITS], 4, v[O_LONG_SIZE]) ||
	    v[O_LONG_DIGITS] < v[O_LONG_TAG] + 8)
		return;

	l->interp_modules = (int)v[O_INTERP_MODULES];
	l->module_dict = 16; /* PyModuleObject {PyObject_HEAD; md_dict; ...} */
	l->type_basicsize = TYPE_BASICSIZE;
	l->type_flags = (int)v[O_TYPE_FLAGS];
	l->type_dictoffset = TYPE_DICTOFFSET;
	l->heaptype_cached_keys = (int)v[O_TYPE_SIZE] + HEAPTYPE_CACHED_KEYS_AFTER_TYPE;
	l->dict_keys = (int)v[O_DICT_KEYS];
	l->dict_values = (int)v[O_DICT_VALUES];
	/* struct _dictkeysobject {Py_ssize_t dk_refcnt; uint8_t dk_log2_size,
	 * dk_log2_index_bytes, dk_kind; uint32_t dk_version; Py_ssize_t
	 * dk_usable, dk_nentries; char dk_indices[];} in GIL builds, entries
	 * {hash, key, value} or {key, value} */
	l->dictkeys_log2_size = 8;
	l->dictkeys_log2_index_bytes = 9;
	l->dictkeys_kind = 10;
	l->dictkeys_nentries = 24;
	l->dictkeys_indices = 32;
	l->dictkeys_entry_size = 24;
	l->dictkeys_unicode_entry_size = 16;
	/* struct _dictvalues {uint8_t capacity, size, embedded, valid;
	 * PyObject *values[];} */
	l->dictvalues_capacity = 0;
	l->dictvalues_valid = 3;
	l->dictvalues_values = 8;
	l->long_tag = (int)v[O_LONG_TAG];
	l->long_digits = (int)v[O_LONG_DIGITS];
}

int py_debug_offsets_parse(const void *runtime_start, size_t len, struct py_layout *out,
			   uint32_t *version_hex, const char **why)
{
	const unsigned char *buf = runtime_start;
	const struct known_layout *kl;
	uint64_t sizes[S__COUNT], v[V__COUNT];
	uint64_t version, free_threaded, ascii_size;
	struct py_layout l;
	unsigned int level;
	int i;

	if (!buf || !out) {
		set_why(why, "no _PyRuntime bytes or no layout to fill");
		return -EINVAL;
	}
	if (len < COOKIE_LEN) {
		set_why(why,
			"debug offsets are truncated: %zu bytes of _PyRuntime, need %d for the "
			"cookie",
			len, COOKIE_LEN);
		return -EINVAL;
	}
	if (memcmp(buf, COOKIE, COOKIE_LEN) != 0) {
		set_why(why, "no \"" COOKIE
			     "\" cookie at the start of _PyRuntime: not Python 3.13 or later");
		return -ENOENT;
	}
	if (len < offsetof(struct py313_debug_offsets, runtime_state)) {
		set_why(why,
			"debug offsets are truncated: %zu bytes of _PyRuntime, need %zu for the "
			"version",
			len, offsetof(struct py313_debug_offsets, runtime_state));
		return -EINVAL;
	}

	/* version and free_threaded lead every known layout */
	version = read_u64(buf, offsetof(struct py313_debug_offsets, version));
	level = (version >> 4) & 0xf;
	if (version > UINT32_MAX || version < 0x03000000 ||
	    (level != PY_RELEASE_LEVEL_ALPHA && level != PY_RELEASE_LEVEL_BETA &&
	     level != PY_RELEASE_LEVEL_GAMMA && level != PY_RELEASE_LEVEL_FINAL)) {
		set_why(why, "debug offsets version %#llx is not a PY_VERSION_HEX",
			(unsigned long long)version);
		return -EINVAL;
	}
	if (version_hex)
		*version_hex = (uint32_t)version;
	kl = find_layout((uint32_t)version, why);
	if (!kl)
		return -ENOTSUP;

	free_threaded = read_u64(buf, offsetof(struct py313_debug_offsets, free_threaded));
	if (free_threaded == 1) {
		set_why(why, "free-threaded (Py_GIL_DISABLED) builds are not supported yet");
		return -EINVAL;
	}
	if (free_threaded != 0) {
		set_why(why, "debug offsets free_threaded is %llu, neither 0 nor 1",
			(unsigned long long)free_threaded);
		return -EINVAL;
	}
	if (len < kl->block_size) {
		set_why(why,
			"debug offsets are truncated: %zu bytes of _PyRuntime, Python 3.%d needs "
			"%zu",
			len, kl->minor, kl->block_size);
		return -EINVAL;
	}

	for (i = 0; i < S__COUNT; i++) {
		sizes[i] = read_u64(buf, kl->section_pos[i]);
		if (sizes[i] == 0 || sizes[i] > MAX_STRUCT_SIZE) {
			set_why(why, "debug offsets size of \"%s\" is absurd: %llu",
				section_name[i], (unsigned long long)sizes[i]);
			return -EINVAL;
		}
	}
	for (i = 0; i < V__COUNT; i++) {
		uint64_t size = sizes[value_info[i].section];
		uint64_t width = value_info[i].width;

		v[i] = read_u64(buf, kl->value_pos[i]);
		if (v[i] > size || width > size - v[i]) {
			set_why(why,
				"debug offset \"%s\" is %llu, past the end of its %llu-byte "
				"structure",
				value_info[i].name, (unsigned long long)v[i],
				(unsigned long long)size);
			return -EINVAL;
		}
	}

	/* sizeof(PyASCIIObject), holding state and length; the compact
	 * object adds Py_ssize_t utf8_length and char *utf8 (3.12+) and
	 * PyUnicodeObject adds a data pointer after that */
	ascii_size = read_u64(buf, kl->ascii_size_pos);
	if (ascii_size > sizes[S_UNICODE] || sizes[S_UNICODE] - ascii_size < 16 ||
	    ascii_size < v[V_UNICODE_STATE] + value_info[V_UNICODE_STATE].width ||
	    ascii_size < v[V_UNICODE_LENGTH] + value_info[V_UNICODE_LENGTH].width) {
		set_why(why,
			"debug offset \"unicode_object.asciiobject_size\" is %llu, inconsistent "
			"with its %llu-byte structure",
			(unsigned long long)ascii_size, (unsigned long long)sizes[S_UNICODE]);
		return -EINVAL;
	}

	memset(&l, 0, sizeof(l));
	l.major = 3;
	l.minor = kl->minor;

	for (i = 0; i < (int)(sizeof(kernel_values) / sizeof(kernel_values[0])); i++) {
		enum value k = kernel_values[i];

		if (v[k] > INT16_MAX) {
			set_why(why,
				"debug offset \"%s\" is %llu, too large for the kernel's 16-bit "
				"offsets",
				value_info[k].name, (unsigned long long)v[k]);
			return -EINVAL;
		}
	}
	l.bpf.interp_next = (__s16)v[V_INTERP_NEXT];
	l.bpf.interp_threads_head = (__s16)v[V_INTERP_THREADS_HEAD];
	l.bpf.tstate_next = (__s16)v[V_TSTATE_NEXT];
	l.bpf.tstate_thread_id = (__s16)v[V_TSTATE_THREAD_ID];
	l.bpf.tstate_native_thread_id = (__s16)v[V_TSTATE_NATIVE_THREAD_ID];
	l.bpf.tstate_datastack_chunk = (__s16)v[V_TSTATE_DATASTACK_CHUNK];
	l.bpf.code_name = (__s16)v[V_CODE_NAME];
	l.bpf.code_filename = (__s16)v[V_CODE_FILENAME];
	/* Not in the debug offsets: in 3.13 and 3.14 the frame starts
	 * {f_executable, previous, f_funcobj, f_globals, ...} (checked against
	 * 3.13's DWARF by the unit test) */
	l.bpf.frame_funcobj = (__s16)(v[V_FRAME_PREVIOUS] + 8);
	l.bpf.frame_globals = (__s16)(v[V_FRAME_PREVIOUS] + 16);
	/* _PyStackChunk {previous, size, top, data[]}: the same 3.11 to 3.14,
	 * and not in the debug offsets */
	l.bpf.stack_chunk_data = 24;
	l.bpf.tstate_frame = (__s16)v[V_TSTATE_CURRENT_FRAME];
	l.bpf.frame_previous = (__s16)v[V_FRAME_PREVIOUS];
	l.bpf.frame_code = (__s16)v[V_FRAME_EXECUTABLE];
	l.bpf.frame_instr = (__s16)v[V_FRAME_INSTR_PTR];
	l.bpf.frame_owner = (__s16)v[V_FRAME_OWNER];
	l.bpf.code_argcount = (__s16)v[V_CODE_ARGCOUNT];
	l.bpf.code_firstlineno = (__s16)v[V_CODE_FIRSTLINENO];
	l.bpf.tstate_cframe = PYEBPF_NO_FIELD;	      /* _PyCFrame is gone */
	l.bpf.cframe_current_frame = PYEBPF_NO_FIELD; /* since 3.13 */
	l.bpf.frame_instr_kind = PYEBPF_INSTR_POINTER;
	l.bpf.frame_owner_shim_min = kl->owner_shim_min;

	l.runtime_interpreters_head = (int)v[V_RUNTIME_INTERPRETERS_HEAD];
	l.interp_id = (int)v[V_INTERP_ID];
	l.tstate_interp = (int)v[V_TSTATE_INTERP];
	l.code_filename = (int)v[V_CODE_FILENAME];
	l.code_name = (int)v[V_CODE_NAME];
	l.code_qualname = (int)v[V_CODE_QUALNAME];
	l.code_firstlineno = (int)v[V_CODE_FIRSTLINENO];
	l.code_argcount = (int)v[V_CODE_ARGCOUNT];
	l.code_linetable = (int)v[V_CODE_LINETABLE];
	l.code_code_adaptive = (int)v[V_CODE_CODE_ADAPTIVE];
	l.linetable_kind = PY_LINETABLE_LOCATIONS;
	l.object_type = (int)v[V_OBJECT_TYPE];
	l.unicode_length = (int)v[V_UNICODE_LENGTH];
	l.unicode_state = (int)v[V_UNICODE_STATE];
	l.unicode_ascii_size = (int)ascii_size;
	l.unicode_compact_size = (int)ascii_size + 16;
	l.bytes_size = (int)v[V_BYTES_OB_SIZE];
	l.bytes_sval = (int)v[V_BYTES_OB_SVAL];
	parse_gil(buf, kl, sizes[S_INTERP], &l.gil);
	parse_objects(buf, kl, &l);

	*out = l;
	return 0;
}
