// SPDX-License-Identifier: MIT
/*
 * Sanity checks for a struct py_layout, whichever source filled it (the
 * generated tables or a target's _Py_DebugOffsets). The kernel reads each
 * structure through a fixed-size window, so an offset past a window would
 * be a read outside the BPF program's buffer; everything else checked here
 * would only give wrong stacks.
 */
#include <errno.h>

#include "python_layout.h"

#define PTR_SIZE 8 /* also long, Py_ssize_t and int64_t on x86-64 */
#define INT_SIZE 4
#define CHAR_SIZE 1

/* One offset the kernel uses: `width` bytes at `off`, read as part of a
 * `window`-byte buffer (0: read on its own, so only the sign matters). */
struct kernel_field {
	int off;
	int width;
	int window;
	const char *why;
};

/* clang-format off */
#define IN_WINDOW(o, f, w, win, what) \
	{ (o)->f, (w), (win), "offset " #f " is outside the " what " window" }
#define ON_ITS_OWN(o, f, w) { (o)->f, (w), 0, "offset " #f " is negative" }
/* clang-format on */

/* One offset userspace uses; a field some versions lack is `required`
 * only where the version has it. */
struct user_field {
	int off;
	bool required;
	const char *why;
};

/* clang-format off */
#define USER(l, f, req) { (l)->f, (req), "missing or negative offset " #f }
#define GIL(g, f, req) { (g)->f, (req), "missing or negative offset gil." #f }
/* clang-format on */

static bool present(int off)
{
	return off != PYEBPF_NO_FIELD;
}

static bool field_fits(const struct kernel_field *f)
{
	if (!present(f->off))
		return true;
	if (f->off < 0)
		return false;
	return f->window == 0 || f->off + f->width <= f->window;
}

static bool version_at_least(const struct py_layout *l, int major, int minor)
{
	return l->major > major || (l->major == major && l->minor >= minor);
}

/* Width of frame_instr, 0 for an unknown kind. */
static int instr_width(__u8 kind)
{
	switch (kind) {
	case PYEBPF_INSTR_LASTI:
		return INT_SIZE; /* int f_lasti */
	case PYEBPF_INSTR_POINTER:
		return PTR_SIZE; /* _Py_CODEUNIT *prev_instr / instr_ptr */
	default:
		return 0;
	}
}

/* Every kernel-side offset fits the window it is read from. */
static const char *check_kernel_windows(const struct pyebpf_py_offsets *o)
{
	int width = instr_width(o->frame_instr_kind);
	const struct kernel_field fields[] = {
		ON_ITS_OWN(o, interp_next, PTR_SIZE),
		ON_ITS_OWN(o, interp_threads_head, PTR_SIZE),
		IN_WINDOW(o, tstate_next, PTR_SIZE, PYEBPF_TSTATE_WINDOW, "thread state"),
		IN_WINDOW(o, tstate_thread_id, PTR_SIZE, PYEBPF_TSTATE_WINDOW, "thread state"),
		IN_WINDOW(o, tstate_native_thread_id, PTR_SIZE, PYEBPF_TSTATE_WINDOW,
			  "thread state"),
		IN_WINDOW(o, tstate_frame, PTR_SIZE, PYEBPF_TSTATE_WINDOW, "thread state"),
		IN_WINDOW(o, tstate_cframe, PTR_SIZE, PYEBPF_TSTATE_WINDOW, "thread state"),
		ON_ITS_OWN(o, cframe_current_frame, PTR_SIZE),
		IN_WINDOW(o, tstate_datastack_chunk, PTR_SIZE, PYEBPF_TSTATE_WINDOW,
			  "thread state"),
		ON_ITS_OWN(o, stack_chunk_data, PTR_SIZE),
		IN_WINDOW(o, frame_previous, PTR_SIZE, PYEBPF_FRAME_WINDOW, "frame"),
		IN_WINDOW(o, frame_code, PTR_SIZE, PYEBPF_FRAME_WINDOW, "frame"),
		IN_WINDOW(o, frame_instr, width, PYEBPF_FRAME_WINDOW, "frame"),
		IN_WINDOW(o, frame_owner, CHAR_SIZE, PYEBPF_FRAME_WINDOW, "frame"),
		IN_WINDOW(o, frame_globals, PTR_SIZE, PYEBPF_FRAME_WINDOW, "frame"),
		IN_WINDOW(o, frame_funcobj, PTR_SIZE, PYEBPF_FRAME_WINDOW, "frame"),
		IN_WINDOW(o, code_name, PTR_SIZE, PYEBPF_CODE_WINDOW, "code object"),
		IN_WINDOW(o, code_filename, PTR_SIZE, PYEBPF_CODE_WINDOW, "code object"),
		IN_WINDOW(o, code_argcount, INT_SIZE, PYEBPF_CODE_WINDOW, "code object"),
		IN_WINDOW(o, code_firstlineno, INT_SIZE, PYEBPF_CODE_WINDOW, "code object"),
	};
	size_t i;

	if (!width)
		return "unknown frame_instr_kind";
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!field_fits(&fields[i]))
			return fields[i].why;
	}
	return NULL;
}

/* The kernel can find a thread's frames and walk them. */
static const char *check_kernel_required(const struct pyebpf_py_offsets *o)
{
	bool cframe = present(o->tstate_cframe);
	bool current = present(o->cframe_current_frame);

	if (!present(o->interp_threads_head))
		return "missing offset interp_threads_head";
	if (!present(o->tstate_next))
		return "missing offset tstate_next";
	if (!present(o->tstate_thread_id))
		return "missing offset tstate_thread_id";
	if (!present(o->frame_previous))
		return "missing offset frame_previous";
	if (!present(o->frame_code))
		return "missing offset frame_code";
	if (!present(o->frame_instr))
		return "missing offset frame_instr";
	if (!present(o->code_argcount))
		return "missing offset code_argcount";
	if (!present(o->code_firstlineno))
		return "missing offset code_firstlineno";

	if (cframe != current)
		return "tstate_cframe and cframe_current_frame go together";
	if (present(o->tstate_frame) && cframe)
		return "both tstate_frame and tstate_cframe are set";
	if (!present(o->tstate_frame) && !cframe)
		return "neither tstate_frame nor tstate_cframe is set";
	if (present(o->frame_owner) && o->frame_owner_shim_min == 0)
		return "frame_owner_shim_min 0 would skip every frame";
	return NULL;
}

/* Userspace can locate the interpreters and symbolize code objects. */
static const char *check_userspace(const struct py_layout *l)
{
	const struct user_field fields[] = {
		USER(l, runtime_interpreters_head, version_at_least(l, 3, 7)),
		USER(l, interp_id, false),
		USER(l, tstate_interp, false),
		USER(l, code_filename, true),
		USER(l, code_name, true),
		USER(l, code_qualname, version_at_least(l, 3, 11)),
		USER(l, code_firstlineno, true),
		USER(l, code_argcount, true),
		USER(l, code_linetable, true),
		/* turns an instruction pointer into an offset in the code */
		USER(l, code_code_adaptive, l->bpf.frame_instr_kind == PYEBPF_INSTR_POINTER),
		USER(l, object_type, true),
		USER(l, unicode_length, true),
		USER(l, unicode_state, true),
		USER(l, unicode_ascii_size, true),
		USER(l, unicode_compact_size, true),
		USER(l, bytes_size, true),
		USER(l, bytes_sval, true),
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int off = fields[i].off;

		if (off < 0 && (fields[i].required || off != PYEBPF_NO_FIELD))
			return fields[i].why;
	}

	if (l->code_argcount != l->bpf.code_argcount)
		return "code_argcount differs between userspace and kernel";
	if (l->code_firstlineno != l->bpf.code_firstlineno)
		return "code_firstlineno differs between userspace and kernel";
	if (l->unicode_ascii_size == 0 || l->unicode_compact_size <= l->unicode_ascii_size)
		return "unicode object sizes are inconsistent";
	switch (l->linetable_kind) {
	case PY_LINETABLE_LNOTAB:
	case PY_LINETABLE_310:
	case PY_LINETABLE_LOCATIONS:
		break;
	default:
		return "unknown linetable_kind";
	}
	return NULL;
}

/* The futex range of the GIL's condvars and mutexes stays small: two of
 * each are 176 bytes on x86-64 glibc and musl. */
#define MAX_GIL_SIZE 1024

/* Either no GIL struct at all (3.6 uses static variables; a source that
 * does not know it), or a complete one: the flags lie before the condition
 * variables, which run to the end of the struct. */
static const char *check_gil(const struct py_gil_layout *g)
{
	const struct user_field fields[] = {
		GIL(g, last_holder, true),  GIL(g, locked, true),
		GIL(g, cond, true),	    GIL(g, size, true),
		GIL(g, runtime_gil, false), GIL(g, interp_gil_ptr, false),
	};
	size_t i;

	if (!present(g->runtime_gil) && !present(g->interp_gil_ptr) && !present(g->last_holder) &&
	    !present(g->locked) && !present(g->cond) && !present(g->size))
		return NULL;
	if (!present(g->runtime_gil) && !present(g->interp_gil_ptr))
		return "GIL offsets without runtime_gil or interp_gil_ptr";
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int off = fields[i].off;

		if (off < 0 && (fields[i].required || off != PYEBPF_NO_FIELD))
			return fields[i].why;
	}
	if (g->size > MAX_GIL_SIZE)
		return "GIL size is too large";
	if (g->last_holder + PTR_SIZE > g->cond || g->locked + INT_SIZE > g->cond ||
	    g->cond >= g->size)
		return "GIL fields are not before its condition variables";
	if (g->last_holder < g->locked + INT_SIZE && g->locked < g->last_holder + PTR_SIZE)
		return "GIL last_holder and locked overlap";
	return NULL;
}

int py_layout_validate(const struct py_layout *layout, const char **why)
{
	const char *reason = "no layout";

	if (layout) {
		reason = check_kernel_windows(&layout->bpf);
		if (!reason)
			reason = check_kernel_required(&layout->bpf);
		if (!reason)
			reason = check_userspace(layout);
		if (!reason)
			reason = check_gil(&layout->gil);
	}

	if (!reason)
		return 0;
	if (why)
		*why = reason;
	return -EINVAL;
}
