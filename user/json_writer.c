// SPDX-License-Identifier: MIT
/*
 * JSON string literals and exact decimals. UTF-8 is checked against the
 * table of well-formed byte sequences (Unicode, Table 3-7).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json_writer.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 if it
 * is ill-formed; then *bad gets the length of its maximal ill-formed
 * subpart (at least 1), which one U+FFFD replaces.
 */
static size_t utf8_sequence(const unsigned char *s, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* no overlong forms */
		else if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		*bad = 1; /* a continuation byte, 0xc0, 0xc1, or 0xf5..0xff */
		return 0;
	}
	/* a terminating NUL is < 0x80, so this never reads past it */
	for (size_t i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

void json_writer__chars(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	while (*s) {
		size_t len, bad = 0;
		unsigned char c = *s;

		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(out, "\\u%04x", c);
				break;
			}
			len = utf8_sequence(s, &bad);
			if (!len) {
				fputs(REPLACEMENT, out);
				s += bad;
				continue;
			}
			fwrite(s, 1, len, out);
			s += len;
			continue;
		}
		s++;
	}
}

void json_writer__string(FILE *out, const char *s)
{
	putc('"', out);
	json_writer__chars(out, s);
	putc('"', out);
}

void json_writer__decimal(FILE *out, unsigned __int128 value, unsigned int scale)
{
	/* 2^128 has 39 digits; 18 more for the fraction, a point, a NUL */
	char buf[64];
	char *end = buf + sizeof(buf) - 1, *p = end;
	unsigned __int128 unit = 1;
	uint64_t frac;
	bool any = false;

	if (scale > 18)
		scale = 18;
	for (unsigned int i = 0; i < scale; i++)
		unit *= 10;
	frac = (uint64_t)(value % unit);
	value /= unit;
	*p = '\0';
	/* the fraction, right to left, trailing zeros dropped */
	for (unsigned int i = 0; i < scale; i++) {
		int digit = (int)(frac % 10);

		frac /= 10;
		if (digit || any) {
			*--p = (char)('0' + digit);
			any = true;
		}
	}
	if (any)
		*--p = '.';
	do {
		*--p = (char)('0' + (int)(value % 10));
		value /= 10;
	} while (value);
	fputs(p, out);
}
