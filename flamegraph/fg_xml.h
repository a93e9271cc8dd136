/* SPDX-License-Identifier: MIT */
/*
 * Inside the flame graph library: buffered output of XML text. Writes go
 * to a buffer flushed to a FILE in large blocks; the first failed write is
 * remembered and later writes do nothing.
 */
#ifndef PYEBPF_FG_XML_H
#define PYEBPF_FG_XML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FG_OUT_BUF (64 * 1024)

struct fg_out {
	FILE *f;
	int err; /* 0, or the negated errno of the first failed write */
	size_t len;
	char buf[FG_OUT_BUF];
};

void fg_out_init(struct fg_out *o, FILE *f);

/* Writes what is buffered and flushes f. Returns o->err. */
int fg_out_flush(struct fg_out *o);

void fg_out_mem(struct fg_out *o, const void *p, size_t n);
void fg_out_str(struct fg_out *o, const char *s);
void fg_out_char(struct fg_out *o, char c);
void fg_out_u64(struct fg_out *o, uint64_t v);
/* v / 10 with one decimal, "-12.3"; v in tenths */
void fg_out_tenths(struct fg_out *o, int64_t v);
/* v with a comma every three digits: "1,234,567" */
void fg_out_grouped(struct fg_out *o, uint64_t v);

/*
 * Writes s as XML character data, valid in text and in a double-quoted
 * attribute: & < > " escaped, invalid UTF-8 (and U+FFFE, U+FFFF) as
 * U+FFFD one byte at a time, control characters as '?'. At most max_cp
 * characters (as fg_utf8_count() counts them) are written.
 */
void fg_out_escaped(struct fg_out *o, const char *s, size_t max_cp);

/* The characters of s as fg_out_escaped() writes them: a code point per
 * valid UTF-8 sequence, one per invalid byte. */
size_t fg_utf8_count(const char *s);

#endif /* PYEBPF_FG_XML_H */
