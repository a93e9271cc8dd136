// SPDX-License-Identifier: MIT
/* Buffered XML output: numbers without printf, text escaped and made valid. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fg_xml.h"

void fg_out_init(struct fg_out *o, FILE *f)
{
	o->f = f;
	o->err = 0;
	o->len = 0;
}

static void drain(struct fg_out *o)
{
	if (!o->err && o->len) {
		errno = 0;
		if (fwrite(o->buf, 1, o->len, o->f) != o->len)
			o->err = errno ? -errno : -EIO;
	}
	o->len = 0;
}

int fg_out_flush(struct fg_out *o)
{
	drain(o);
	if (!o->err) {
		errno = 0;
		if (fflush(o->f) || ferror(o->f))
			o->err = errno ? -errno : -EIO;
	}
	return o->err;
}

void fg_out_mem(struct fg_out *o, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		size_t room = FG_OUT_BUF - o->len, k = n < room ? n : room;

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == FG_OUT_BUF)
			drain(o);
	}
}

void fg_out_str(struct fg_out *o, const char *s)
{
	fg_out_mem(o, s, strlen(s));
}

void fg_out_char(struct fg_out *o, char c)
{
	if (o->len == FG_OUT_BUF)
		drain(o);
	o->buf[o->len++] = c;
}

void fg_out_u64(struct fg_out *o, uint64_t v)
{
	char d[20];
	int n = 0;

	do {
		d[sizeof(d) - ++n] = '0' + v % 10;
		v /= 10;
	} while (v);
	fg_out_mem(o, d + sizeof(d) - n, n);
}

void fg_out_tenths(struct fg_out *o, int64_t v)
{
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	if (v < 0)
		fg_out_char(o, '-');
	fg_out_u64(o, u / 10);
	fg_out_char(o, '.');
	fg_out_char(o, '0' + u % 10);
}

void fg_out_grouped(struct fg_out *o, uint64_t v)
{
	char d[32];
	int n = 0, digits = 0;

	do {
		if (digits && digits % 3 == 0)
			d[sizeof(d) - ++n] = ',';
		d[sizeof(d) - ++n] = '0' + v % 10;
		digits++;
		v /= 10;
	} while (v);
	fg_out_mem(o, d + sizeof(d) - n, n);
}

static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* The length of the valid UTF-8 sequence that is an XML character at s,
 * or 0 if the byte at s starts none. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return cont(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || !cont(s[2]))
			return 0;
		/* U+FFFE and U+FFFF are not XML characters */
		if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && cont(s[2]) && cont(s[3]) ? 4 : 0;
	}
	return 0;
}

/* Bytes that go out unchanged: printable ASCII but & < > " */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '&' && c != '<' && c != '>' && c != '"';
}

void fg_out_escaped(struct fg_out *o, const char *str, size_t max_cp)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s && max_cp) {
		const unsigned char *run = s;
		size_t n;

		while (*s && plain(*s) && max_cp) {
			s++;
			max_cp--;
		}
		fg_out_mem(o, run, s - run);
		if (!*s || !max_cp)
			break;
		max_cp--;
		switch (*s) {
		case '&':
			fg_out_str(o, "&amp;");
			s++;
			continue;
		case '<':
			fg_out_str(o, "&lt;");
			s++;
			continue;
		case '>':
			fg_out_str(o, "&gt;");
			s++;
			continue;
		case '"':
			fg_out_str(o, "&quot;");
			s++;
			continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
			fg_out_char(o, '?');
			s++;
			continue;
		}
		n = utf8_len(s);
		if (n) {
			fg_out_mem(o, s, n);
			s += n;
		} else {
			fg_out_str(o, "\xef\xbf\xbd"); /* U+FFFD */
			s++;
		}
	}
}

size_t fg_utf8_count(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0;

	while (*s) {
		size_t k = *s < 0x80 ? 1 : utf8_len(s);

		s += k ? k : 1;
		n++;
	}
	return n;
}
