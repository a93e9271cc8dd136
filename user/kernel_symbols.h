/* SPDX-License-Identifier: MIT */
/*
 * Kernel text addresses to symbol names, from /proc/kallsyms (for --kernel:
 * the return addresses bpf_get_stack() gives).
 *
 * Only text symbols are kept: types t and T, and w and W (kallsyms marks
 * weak functions so; weak data would be v or V). Other symbols only bound
 * the extent of the text symbol before them. kallsyms gives no sizes, so a
 * symbol extends to the next symbol's address, at most KERNEL_SYMBOL_SIZE_MAX
 * bytes; the end markers _etext, _einittext and __*_text_end have no extent,
 * so addresses past the end of a text section resolve to nothing. Where
 * symbols share an address, the one the kernel itself prints is kept: not
 * weak, not a linker-script marker (__start_*, *_end...), fewest leading
 * underscores, then the first in the file.
 *
 * The table is a snapshot: modules and BPF programs loaded later are not in
 * it.
 */
#ifndef PYEBPF_KERNEL_SYMBOLS_H
#define PYEBPF_KERNEL_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

/* About 6 times the largest function of a 6.x x86_64 kernel (20 KiB). */
#define KERNEL_SYMBOL_SIZE_MAX (128u << 10)

struct kernel_symbols;

/* A resolved address; the strings are owned by the table. */
struct kernel_symbol {
	const char *name;   /* "schedule", "bpf_prog_6deef7357e7b4530_handler" */
	const char *module; /* "ext4", "bpf", "__builtin__ftrace"; NULL in vmlinux */
	uint64_t start;	    /* the symbol's address */
	uint64_t offset;    /* the address looked up minus start */
};

/*
 * Read and index a kallsyms file; path NULL means /proc/kallsyms. Returns a
 * table to free with kernel_symbols__free(), or NULL with errno and a
 * one-line reason (no "pyebpf:" prefix) in why[why_size]:
 *   EPERM  every address reads 0: kernel.kptr_restrict hides them from this
 *          user (the reason says how to fix it)
 *   ENOENT no text symbol in the file
 *   EINVAL a line that is not "ADDR TYPE NAME[\t[MODULE]]"
 *   EFBIG  over 256 MiB or 16M lines; ENOMEM; or open/read's errno
 * Loading the ~120k symbols of a 6.x kernel takes tens of milliseconds,
 * mostly the kernel's time to print them.
 */
struct kernel_symbols *kernel_symbols__load(const char *path, char *why, size_t why_size);

/*
 * kernel_symbols__load() on a kallsyms text already in memory (len bytes,
 * no NUL needed); name is the file's name for messages.
 */
struct kernel_symbols *kernel_symbols__parse(const char *buf, size_t len, const char *name,
					     char *why, size_t why_size);

/* Frees the table and every string in it. Accepts NULL. */
void kernel_symbols__free(struct kernel_symbols *ks);

/* Number of distinct text symbol addresses kept; 0 for NULL. */
size_t kernel_symbols__count(const struct kernel_symbols *ks);

/*
 * The text symbol containing addr: the greatest start <= addr, if addr is
 * within its extent. Returns 0 and fills *out, or -ENOENT (ks NULL, or an
 * address no symbol covers).
 */
int kernel_symbols__lookup(const struct kernel_symbols *ks, uint64_t addr,
			   struct kernel_symbol *out);

/*
 * The name of the symbol containing addr and, if offset_out is not NULL,
 * addr's offset in it; NULL with errno ENOENT if none covers addr.
 */
const char *kernel_symbols__name(const struct kernel_symbols *ks, uint64_t addr,
				 uint64_t *offset_out);

#endif /* PYEBPF_KERNEL_SYMBOLS_H */
