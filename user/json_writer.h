/* SPDX-License-Identifier: MIT */
/*
 * The two pieces of JSON the JSON writers (speedscope, chrometrace) need
 * that printf does not give: string literals that are valid JSON whatever
 * the bytes, and exact decimals without floating point, so the same
 * numbers always print the same digits.
 *
 * Both write to a FILE and report nothing; the caller checks ferror() once
 * at the end.
 */
#ifndef PYEBPF_JSON_WRITER_H
#define PYEBPF_JSON_WRITER_H

#include <stdint.h>
#include <stdio.h>

/*
 * Writes s, with its quotes, as a JSON string literal:
 *   - '"' and '\\' are escaped; \b \f \n \r \t as such; other control
 *     characters (< 0x20) and DEL as \u00XX
 *   - well-formed UTF-8 is kept as is
 *   - ill-formed UTF-8 (a stray continuation byte, a truncated or overlong
 *     sequence, a surrogate, above U+10FFFF) becomes U+FFFD, one per
 *     maximal ill-formed subpart as Unicode recommends, so the output is
 *     always valid UTF-8
 * NULL is written as "".
 */
void json_writer__string(FILE *out, const char *s);

/* The same without the quotes, for a string written in pieces: '"',
 * then json_writer__chars() for each piece, then '"'. */
void json_writer__chars(FILE *out, const char *s);

/*
 * Writes value / 10^scale as a JSON number, exactly, without trailing
 * zeros after the point (and without the point for a whole number):
 * (25000000, 9) -> 0.025, (3000000000, 9) -> 3, (1500, 3) -> 1.5.
 * The value is 128 bits wide so that a weight times a period cannot
 * overflow. A scale above 18 is taken as 18.
 */
void json_writer__decimal(FILE *out, unsigned __int128 value, unsigned int scale);

#endif /* PYEBPF_JSON_WRITER_H */
