/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.13+ describes its own layout: _PyRuntime starts with a
 * _Py_DebugOffsets block ("xdebugpy" cookie, PY_VERSION_HEX, then one
 * section of uint64_t offsets per structure, each section led by the
 * structure's size). This module turns that block into a struct py_layout,
 * so supporting a new CPython needs no hand-written table, only a check
 * that the block's own layout did not change.
 *
 * Known block layouts: 3.13 and 3.14, release candidates and finals,
 * default (GIL) builds. Anything else is refused with a reason.
 */
#ifndef PYEBPF_DEBUG_OFFSETS_H
#define PYEBPF_DEBUG_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "python_layout.h"

/* How many bytes from the start of _PyRuntime a caller should read: enough
 * for every block layout the parser knows (checked at compile time). */
#define PY_DEBUG_OFFSETS_READ_SIZE 1024

/*
 * Parse the _Py_DebugOffsets block at the start of a target's _PyRuntime.
 *
 * `runtime_start` holds the first `len` bytes read from the target's
 * _PyRuntime (same byte order as this machine); they are hostile input:
 * nothing past `len` is read and every value is validated. On success
 * every field of *out is set: the offsets the block provides, and fixed
 * values for the rest (tstate_cframe and cframe_current_frame are
 * PYEBPF_NO_FIELD, instructions are PYEBPF_INSTR_POINTER, line tables are
 * PY_LINETABLE_LOCATIONS). The GIL (out->gil) has no runtime_gil, and its
 * condition variables and size are derived from the 3.7 to 3.14 struct;
 * values that do not add up leave every GIL field PYEBPF_NO_FIELD rather
 * than fail. The kernel-side offsets are only known to fit an __s16;
 * callers still run py_layout_validate() for the BPF windows.
 *
 * *version_hex (if not NULL) receives the block's PY_VERSION_HEX as soon
 * as it is read, so also with -ENOTSUP and most -EINVAL. *out is written
 * only on success. *why (if not NULL) receives a message on error; it
 * points to static or thread-local storage that stays valid until this
 * thread's next call.
 *
 * Returns 0;
 *   -ENOENT  no cookie: not a 3.13+ runtime (fall back to the tables);
 *   -ENOTSUP a version whose block layout is not known (3.15+, a 3.12 with
 *            a cookie, a 3.13/3.14 alpha or beta);
 *   -EINVAL  `len` too short, a free-threaded build (not supported yet), a
 *            malformed version, an absurd structure size, an offset past
 *            its structure's size, or one too large for the kernel's __s16.
 */
int py_debug_offsets_parse(const void *runtime_start, size_t len, struct py_layout *out,
			   uint32_t *version_hex, const char **why);

#endif /* PYEBPF_DEBUG_OFFSETS_H */
