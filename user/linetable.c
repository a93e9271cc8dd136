/* SPDX-License-Identifier: MIT */
/*
 * Source lines from CPython line tables: one decoder per table format, each a
 * single forward scan that stops at the range holding the offset. Addresses
 * are kept in uint64_t and lines in int64_t so that no input can overflow:
 * every step adds at most 16 bytes of address (and the scan stops once past
 * a uint32_t offset) and at most 2^31 lines (and the line is checked against
 * the range of int after each step, where CPython itself would overflow).
 */
#include <limits.h>
#include <stdbool.h>

#include "linetable.h"

/* 3.11+ location entry codes (_PyCodeLocationInfoKind, Include/cpython/code.h
 * up to 3.12, Include/internal/pycore_code.h after). 0 - 9 are short forms. */
enum {
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE1 = 11,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

#define LOC_ENTRY_START 0x80 /* bit 7: first byte of an entry */
#define VARINT_MORE 0x40     /* bit 6 of a varint byte: another byte follows */
#define VARINT_BITS 6
#define VARINT_MAX_BYTES 6 /* 36 bits, enough for CPython's 32-bit varints */
#define CODE_UNIT 2	   /* sizeof(_Py_CODEUNIT) */

/* A byte of a pair table's line column, as the signed char CPython reads. */
static int signed_byte(uint8_t b)
{
	return b < 128 ? b : (int)b - 256;
}

static bool line_fits_int(int64_t line)
{
	return line >= INT_MIN && line <= INT_MAX;
}

/* The line to return: a negative one only comes from a broken table. */
static int result_line(int64_t line)
{
	return line >= 0 && line <= INT_MAX ? (int)line : -1;
}

/*
 * 3.6 - 3.9 co_lnotab, as PyCode_Addr2Line: move the address, stop when it
 * passes the offset, otherwise apply the line increment.
 */
static int lnotab_line(const uint8_t *table, size_t len, int firstlineno, uint32_t offset)
{
	int64_t line = firstlineno;
	uint64_t addr = 0;
	size_t i;

	if (len % 2)
		return -1;
	for (i = 0; i < len; i += 2) {
		addr += table[i];
		if (addr > offset)
			break;
		line += signed_byte(table[i + 1]);
		if (!line_fits_int(line))
			return -1;
	}
	return result_line(line);
}

/*
 * 3.10 co_linetable, as _PyCode_CheckLineNumber: the ranges are contiguous
 * from 0, so the first one ending after the offset holds it. Empty ranges
 * still move the running line.
 */
static int linetable310_line(const uint8_t *table, size_t len, int firstlineno, uint32_t offset)
{
	int64_t line = firstlineno;
	uint64_t end = 0;
	size_t i;

	if (len % 2)
		return -1;
	for (i = 0; i < len; i += 2) {
		int delta = signed_byte(table[i + 1]);
		bool no_line = delta == -128;

		end += table[i];
		if (!no_line) {
			line += delta;
			if (!line_fits_int(line))
				return -1;
		}
		if (offset < end)
			return no_line ? -1 : result_line(line);
	}
	return -1;
}

/*
 * The unsigned varint at table[*pos], advancing *pos past it. CPython reads it
 * into an unsigned int; a longer one, or one not ending before the next entry
 * or the end of the table, is malformed (-1).
 */
static int read_varint(const uint8_t *table, size_t len, size_t *pos, uint32_t *value)
{
	uint64_t v = 0;
	int n;

	for (n = 0; n < VARINT_MAX_BYTES; n++) {
		uint8_t b;

		if (*pos >= len)
			return -1;
		b = table[(*pos)++];
		if (b & LOC_ENTRY_START)
			return -1;
		v |= (uint64_t)(b & (VARINT_MORE - 1)) << (n * VARINT_BITS);
		if (!(b & VARINT_MORE)) {
			if (v > UINT32_MAX)
				return -1;
			*value = (uint32_t)v;
			return 0;
		}
	}
	return -1;
}

/* Signed varint: the low bit is the sign, the rest the magnitude. */
static int read_svarint(const uint8_t *table, size_t len, size_t *pos, int64_t *value)
{
	uint32_t u;

	if (read_varint(table, len, pos, &u) < 0)
		return -1;
	*value = u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

/*
 * 3.11+ location table, as _PyCode_CheckLineNumber: each entry moves the
 * running line by its delta (none for code 15, which has no line), then
 * covers the next 1 - 8 code units.
 */
static int locations_line(const uint8_t *table, size_t len, int firstlineno, uint32_t offset)
{
	int64_t line = firstlineno;
	uint64_t end = 0;
	size_t i = 0;

	while (i < len) {
		uint8_t first = table[i];
		int code = (first >> 3) & 15;
		int64_t delta = 0;
		size_t pos = i + 1;

		/* only reachable for the first byte: the skip below stops on
		 * entry bytes */
		if (!(first & LOC_ENTRY_START))
			return -1;
		switch (code) {
		case LOC_ONE_LINE1:
			delta = 1;
			break;
		case LOC_ONE_LINE2:
			delta = 2;
			break;
		case LOC_NO_COLUMNS:
		case LOC_LONG:
			if (read_svarint(table, len, &pos, &delta) < 0)
				return -1;
			break;
		default: /* short forms, ONE_LINE0, NONE: same line */
			break;
		}
		line += delta;
		if (!line_fits_int(line))
			return -1;
		end += (uint64_t)((first & 7) + 1) * CODE_UNIT;
		if (offset < end)
			return code == LOC_NONE ? -1 : result_line(line);

		/* columns are not needed: skip to the next entry */
		i = pos;
		while (i < len && !(table[i] & LOC_ENTRY_START))
			i++;
	}
	return -1;
}

int py_linetable_line(enum py_linetable_kind kind, const uint8_t *table, size_t len,
		      int firstlineno, uint32_t byte_offset)
{
	if (!table && len)
		return -1;
	switch (kind) {
	case PY_LINETABLE_LNOTAB:
		return lnotab_line(table, len, firstlineno, byte_offset);
	case PY_LINETABLE_310:
		return linetable310_line(table, len, firstlineno, byte_offset);
	case PY_LINETABLE_LOCATIONS:
		return locations_line(table, len, firstlineno, byte_offset);
	}
	return -1;
}
