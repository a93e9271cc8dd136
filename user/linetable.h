/* SPDX-License-Identifier: MIT */
/*
 * Source lines from CPython line tables.
 *
 * A code object maps bytecode offsets to source lines with a table whose
 * format changed twice:
 *   - PY_LINETABLE_LNOTAB (3.6 - 3.9, co_lnotab): pairs (addr_incr, line_incr),
 *     addr_incr an unsigned byte, line_incr a signed byte (since 3.6). A pair
 *     moves the address first; the line applies from the new address on.
 *     The table does not know where the code ends.
 *   - PY_LINETABLE_310 (3.10, co_linetable): pairs (start delta, line delta);
 *     each pair is a range of start-delta bytes (0 is allowed: the range is
 *     empty but its line delta still counts), line delta a signed byte, -128
 *     for "no line" (the running line is left as it was).
 *   - PY_LINETABLE_LOCATIONS (3.11+, co_linetable): one entry per range of
 *     1 to 8 code units (2 bytes each). First byte: bit 7 set, bits 3-6 the
 *     code, bits 0-2 the length - 1. Codes 0-9 and 10 are the same line,
 *     11 and 12 one and two lines further, 13 (no columns) and 14 (long form)
 *     carry the line delta as a signed varint (6 bits a byte, bit 6 = more,
 *     low bit of the value = sign), 15 has no line. Column bytes follow and
 *     are skipped: the next entry starts at the next byte with bit 7 set.
 * See Objects/lnotab_notes.txt (3.6 - 3.10) and Objects/locations.md (3.11+)
 * in CPython.
 */
#ifndef PYEBPF_LINETABLE_H
#define PYEBPF_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

#include "python_layout.h"

/*
 * The source line of the instruction `byte_offset` bytes after the first
 * instruction of a code object, exactly as CPython's
 * PyCode_Addr2Line(code, byte_offset) computes it, given the code's line
 * table (`len` bytes at `table`: co_lnotab up to 3.9, co_linetable from
 * 3.10) and its co_firstlineno.
 *
 * The offset is always in bytes. From a frame that is
 *   3.6 - 3.9:  f_lasti;
 *   3.10:       f_lasti * 2 (3.10 counts f_lasti in code units);
 *   3.11+:      (frame's instruction pointer - first instruction) in bytes,
 *               i.e. prev_instr (3.11, 3.12) or instr_ptr (3.13+).
 * A negative f_lasti (a frame that has not started) is CPython's
 * co_firstlineno; the caller handles that case, there is no offset for it.
 *
 * Returns the line (>= 0), or -1 when:
 *   - the range holding the offset has no line (3.10 "no line" pairs, 3.11+
 *     code 15 entries), as PyCode_Addr2Line does;
 *   - the offset is past the end of a 3.10+ table, as PyCode_Addr2Line does
 *     (an LNOTAB table has no end: past it, the last line is returned, as
 *     CPython does);
 *   - the table is malformed: odd length for the pair formats, a 3.11+ table
 *     not starting with an entry byte, a varint that is truncated, longer
 *     than 6 bytes, larger than 32 bits or running into the next entry, a
 *     running line leaving the range of int, a negative result; or an
 *     unknown kind, or a NULL table with a non-zero length.
 * An empty LNOTAB table is valid (every instruction is on co_firstlineno).
 *
 * The table is hostile memory read from another process: nothing outside
 * [table, table + len) is read, the work is bounded by `len`, and no input
 * has undefined behaviour. Pure: no allocation, no global state.
 */
int py_linetable_line(enum py_linetable_kind kind, const uint8_t *table, size_t len,
		      int firstlineno, uint32_t byte_offset);

#endif /* PYEBPF_LINETABLE_H */
