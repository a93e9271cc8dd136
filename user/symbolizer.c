// SPDX-License-Identifier: MIT
#include "symbolizer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linetable.h"
#include "python_string.h"
#include "remote_memory.h"

struct code_info {
	uint64_t addr; /* 0: empty slot */
	uint32_t check;
	int firstlineno;
	char *function;
	char *file;
	uint8_t *linetable;
	size_t linetable_len;
	bool shim; /* interpreter-internal code, not a Python frame */
};

struct symbolizer {
	pid_t pid;
	const struct py_layout *layout;
	uint64_t code_type_addr;
	struct code_info *slots; /* open addressing, linear probing */
	size_t nslots, used;
	uint64_t code_reads;
};

#define INITIAL_SLOTS 256

struct symbolizer *symbolizer__new(pid_t pid, const struct py_layout *layout,
				   uint64_t code_type_addr)
{
	struct symbolizer *sym = calloc(1, sizeof(*sym));

	if (!sym)
		return NULL;
	sym->slots = calloc(INITIAL_SLOTS, sizeof(*sym->slots));
	if (!sym->slots) {
		free(sym);
		return NULL;
	}
	sym->nslots = INITIAL_SLOTS;
	sym->pid = pid;
	sym->layout = layout;
	sym->code_type_addr = code_type_addr;
	return sym;
}

static void code_info_clear(struct code_info *ci)
{
	free(ci->function);
	free(ci->file);
	free(ci->linetable);
	memset(ci, 0, sizeof(*ci));
}

void symbolizer__free(struct symbolizer *sym)
{
	size_t i;

	if (!sym)
		return;
	for (i = 0; i < sym->nslots; i++)
		code_info_clear(&sym->slots[i]);
	free(sym->slots);
	free(sym);
}

uint64_t symbolizer__code_reads(const struct symbolizer *sym)
{
	return sym->code_reads;
}

size_t symbolizer__cached_codes(const struct symbolizer *sym)
{
	return sym->used;
}

static size_t slot_of(uint64_t addr, size_t nslots)
{
	uint64_t h = addr * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (nslots - 1);
}

static struct code_info *find_slot(struct code_info *slots, size_t nslots, uint64_t addr)
{
	size_t i = slot_of(addr, nslots);

	while (slots[i].addr && slots[i].addr != addr)
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

static int grow(struct symbolizer *sym)
{
	size_t nslots = sym->nslots * 2, i;
	struct code_info *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < sym->nslots; i++)
		if (sym->slots[i].addr)
			*find_slot(slots, nslots, sym->slots[i].addr) = sym->slots[i];
	free(sym->slots);
	sym->slots = slots;
	sym->nslots = nslots;
	return 0;
}

static int read_i32(const uint8_t *buf, size_t len, int off, int32_t *v)
{
	if (off < 0 || (size_t)off + 4 > len)
		return -EINVAL;
	memcpy(v, buf + off, 4);
	return 0;
}

static int read_ptr(const uint8_t *buf, size_t len, int off, uint64_t *v)
{
	if (off < 0 || (size_t)off + 8 > len)
		return -EINVAL;
	memcpy(v, buf + off, 8);
	return 0;
}

/* Read the code object at `addr` into *ci. 0 or -errno. */
static int read_code(struct symbolizer *sym, uint64_t addr, struct code_info *ci)
{
	const struct py_layout *l = sym->layout;
	uint8_t buf[512];
	uint64_t type, name_addr, file_addr, table_addr, co_name;
	int32_t argcount, firstlineno;
	ssize_t got;
	int name_off = l->code_qualname >= 0 ? l->code_qualname : l->code_name;

	sym->code_reads++;
	got = remote_read_some(sym->pid, addr, buf, sizeof(buf));
	if (got < 0)
		return (int)got;
	if (read_ptr(buf, got, l->object_type, &type) ||
	    read_i32(buf, got, l->code_argcount, &argcount) ||
	    read_i32(buf, got, l->code_firstlineno, &firstlineno) ||
	    read_ptr(buf, got, name_off, &name_addr) ||
	    read_ptr(buf, got, l->code_filename, &file_addr) ||
	    read_ptr(buf, got, l->code_linetable, &table_addr) ||
	    read_ptr(buf, got, l->code_name, &co_name))
		return -EFAULT;
	if (sym->code_type_addr && type != sym->code_type_addr)
		return -EINVAL;

	memset(ci, 0, sizeof(*ci));
	ci->addr = addr;
	ci->check = pyebpf_code_check(argcount, firstlineno, co_name, file_addr);
	ci->firstlineno = firstlineno;
	ci->function = python_str_read(sym->pid, l, name_addr);
	ci->file = python_str_read(sym->pid, l, file_addr);
	ci->linetable = python_bytes_read(sym->pid, l, table_addr, &ci->linetable_len);
	if (!ci->function || !ci->file) {
		int err = errno ? -errno : -EFAULT;

		code_info_clear(ci);
		return err;
	}
	/* 3.13's _Py_InitCleanup: a static code object the interpreter runs
	 * after a specialized Class() call enters __init__; name and "file"
	 * are both "__init__", which no real source file is called */
	ci->shim = !strcmp(ci->function, "__init__") && !strcmp(ci->file, "__init__");
	return 0;
}

int64_t symbolizer_bytecode_offset(const struct py_layout *layout, uint32_t instr)
{
	switch (layout->linetable_kind) {
	case PY_LINETABLE_LNOTAB: /* f_lasti in bytes, -1 before the first one */
		return (int32_t)instr < 0 ? -1 : (int64_t)(int32_t)instr;
	case PY_LINETABLE_310: /* f_lasti in code units */
		return (int32_t)instr < 0 ? -1 : (int64_t)(int32_t)instr * 2;
	case PY_LINETABLE_LOCATIONS:
		/* bytes from the code object's start to the instruction pointer;
		 * 3.11 starts a new frame one code unit before the first */
		if (instr == ~0u || (int64_t)instr < layout->code_code_adaptive)
			return -1;
		return (int64_t)instr - layout->code_code_adaptive;
	}
	return -1;
}

static void synthetic(struct resolved_frame *out, const char *name)
{
	out->function = name;
	out->file = NULL;
	out->line = -1;
	out->first_line = -1;
}

int symbolizer__resolve(struct symbolizer *sym, const struct pyebpf_frame *frame,
			struct resolved_frame *out)
{
	uint32_t check = frame->check & ~PYEBPF_CHECK_FRESH;
	bool kernel_read = frame->check & PYEBPF_CHECK_FRESH;
	struct code_info *ci;
	int64_t offset;
	int err;

	if (!frame->code) {
		synthetic(out, frame->instr == PYEBPF_FRAME_ERR_BAD_CODE ? "[not a code object]"
									 : "[unreadable frame]");
		return -EFAULT;
	}

	ci = find_slot(sym->slots, sym->nslots, frame->code);
	/* a checksum mismatch means the object was freed and the address
	 * reused; a fresh kernel read means it may have been (another object
	 * with the same checksum): read it again */
	if (!ci->addr || kernel_read || (check && ci->check != check)) {
		struct code_info fresh;

		err = read_code(sym, frame->code, &fresh);
		if (err) {
			/* a kernel checksum proves it was a code object then */
			synthetic(out, err == -EINVAL && !check ? "[not a code object]"
				       : err == -EINVAL		? "[freed code object]"
								: "[unreadable code object]");
			return err;
		}
		if (ci->addr) {
			code_info_clear(ci);
		} else {
			if (sym->used >= SYMBOLIZER_MAX_CACHED_CODES) {
				for (size_t i = 0; i < sym->nslots; i++)
					code_info_clear(&sym->slots[i]);
				sym->used = 0;
			}
			if ((sym->used + 1) * 10 > sym->nslots * 7 && grow(sym)) {
				code_info_clear(&fresh);
				synthetic(out, "[out of memory]");
				return -ENOMEM;
			}
			ci = find_slot(sym->slots, sym->nslots, frame->code);
			sym->used++;
		}
		*ci = fresh;
		/* the kernel saw another object at this address: the one
		 * sampled was freed before we could read it */
		if (check && ci->check != check) {
			synthetic(out, "[freed code object]");
			return -ESTALE;
		}
	}

	out->function = ci->function;
	out->file = ci->file;
	out->first_line = ci->firstlineno;
	if (ci->shim)
		return SYMBOLIZER_SHIM;
	offset = symbolizer_bytecode_offset(sym->layout, frame->instr);
	if (offset < 0)
		out->line = ci->firstlineno; /* as CPython reports a frame not yet started */
	else if (ci->linetable && offset <= UINT32_MAX)
		out->line = py_linetable_line(sym->layout->linetable_kind, ci->linetable,
					      ci->linetable_len, ci->firstlineno, (uint32_t)offset);
	else
		out->line = -1;
	/* CPython has no line for some instructions (artificial ones, with no
	 * location; 3.11+ put a module's opening RESUME on line 0): report the
	 * function's first line, as for a frame that has not started, so every
	 * Python frame has a line */
	if (out->line <= 0)
		out->line = ci->firstlineno;
	return 0;
}
