/* SPDX-License-Identifier: MIT */
/*
 * Turning the kernel's frames (code object address, instruction offset,
 * checksum) into function, file and line, for one process.
 *
 * Each code object is read once (names, first line, line table) and
 * cached by address; a checksum that no longer matches means the object
 * was freed and its address reused, so it is read again. At most
 * SYMBOLIZER_MAX_CACHED_CODES objects are kept; past that the cache starts
 * over.
 */
#ifndef PYEBPF_SYMBOLIZER_H
#define PYEBPF_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "pyebpf.h"
#include "python_layout.h"

struct symbolizer;

struct resolved_frame {
	const char *function; /* qualified name on 3.11+, else co_name */
	const char *file;     /* co_filename; NULL for synthetic error frames */
	int line;	      /* current line (the first line when CPython has none for
				 the instruction); -1 for synthetic frames */
	int first_line;	      /* the function's first line (co_firstlineno); -1
				 for synthetic frames */
};

/*
 * `layout` must outlive the symbolizer. `code_type_addr` is &PyCode_Type in
 * the target, or 0 to skip the type check. NULL with errno on failure.
 */
struct symbolizer *symbolizer__new(pid_t pid, const struct py_layout *layout,
				   uint64_t code_type_addr);
void symbolizer__free(struct symbolizer *sym);

/* symbolizer__resolve(): the frame is the interpreter's own, not Python
 * code (3.13's __init__ clean-up shim); leave it out of the stack. */
#define SYMBOLIZER_SHIM 1

/*
 * Resolve one frame. The strings in *out stay valid until the next call.
 * Returns 0 for a Python frame, SYMBOLIZER_SHIM for an interpreter shim to
 * leave out, or -errno when it could not be read; *out then names the
 * problem as a synthetic frame (e.g. "[unreadable code object]") so the
 * sample keeps its place in the profile.
 */
int symbolizer__resolve(struct symbolizer *sym, const struct pyebpf_frame *frame,
			struct resolved_frame *out);

/* Code objects read so far (each read is one cache miss). */
uint64_t symbolizer__code_reads(const struct symbolizer *sym);

/*
 * Code objects cached per process at most. A program that keeps making
 * code (exec(), templates, lambdas in loops) would otherwise grow the cache
 * for as long as it is profiled (the agent profiles for days); the object
 * that would go past this clears the cache, which costs one re-read per
 * object still in use.
 */
#define SYMBOLIZER_MAX_CACHED_CODES 8192

/* Code objects in the cache now: at most SYMBOLIZER_MAX_CACHED_CODES. */
size_t symbolizer__cached_codes(const struct symbolizer *sym);

/*
 * The byte offset into the bytecode that a kernel-reported instruction
 * value stands for (what CPython's PyCode_Addr2Line takes), or -1 when the
 * frame has not started executing. Pure; exposed for tests.
 */
int64_t symbolizer_bytecode_offset(const struct py_layout *layout, uint32_t instr);

#endif /* PYEBPF_SYMBOLIZER_H */
