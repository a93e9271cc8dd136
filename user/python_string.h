/* SPDX-License-Identifier: MIT */
/*
 * Decoding CPython str and bytes objects read from another process.
 * The pure functions take bytes already read; python_str_read() and
 * python_bytes_read() are the thin wrappers that read them.
 */
#ifndef PYEBPF_PYTHON_STRING_H
#define PYEBPF_PYTHON_STRING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python_layout.h"

/* Longest str (characters) and bytes object pyebpf reads. */
#define PYTHON_STR_MAX_CHARS 4096
#define PYTHON_BYTES_MAX (1u << 20)

/* Where a str object keeps its characters. */
struct python_str_shape {
	uint64_t length;   /* in characters */
	unsigned int kind; /* bytes per character: 1, 2 or 4 */
	int data_offset;   /* characters start here inside the object, or -1 for
			      a legacy (non-compact) string whose characters are
			      behind the pointer at `data_pointer_offset` */
	int data_pointer_offset;
};

/*
 * Parse the fixed part of a str object. `hdr` holds its first `len` bytes
 * (python_str_header_size() of them suffice). 0, or -EINVAL when the
 * bytes are not a sane str header.
 */
int python_str_shape(const struct py_layout *layout, const uint8_t *hdr, size_t len,
		     struct python_str_shape *shape);

/* Bytes of a str object python_str_shape() needs. */
size_t python_str_header_size(const struct py_layout *layout);

/*
 * Convert `n` characters of `kind` bytes each to UTF-8 in `out` (always
 * NUL-terminated; cut at a character boundary when too long). Invalid code
 * points (surrogates, > U+10FFFF) become U+FFFD. Returns the UTF-8 length.
 */
size_t python_chars_to_utf8(unsigned int kind, const uint8_t *chars, size_t n, char *out,
			    size_t out_size);

/*
 * Read the str object at `addr` in process `pid` as a malloc'd UTF-8
 * string (the caller frees it), at most PYTHON_STR_MAX_CHARS characters.
 * NULL with errno set on failure.
 */
char *python_str_read(pid_t pid, const struct py_layout *layout, uint64_t addr);

/*
 * Read the contents of the bytes object at `addr` (at most
 * PYTHON_BYTES_MAX) into a malloc'd buffer; its size goes to *len.
 * NULL with errno set on failure.
 */
uint8_t *python_bytes_read(pid_t pid, const struct py_layout *layout, uint64_t addr, size_t *len);

#endif /* PYEBPF_PYTHON_STRING_H */
