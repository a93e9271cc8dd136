// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/python_string.c: str headers built by hand for the
 * 3.11 layout (PyASCIIObject 48 bytes, PyCompactUnicodeObject 72) and the
 * 3.12 one (40 / 56), UTF-8 conversion of every kind, and str objects read
 * from a live interpreter, str subclasses (legacy strings) included.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "live_python.h"
#include "python_string.h"

/* PyASCIIObject.state: interned:2, kind:3, compact:1, ascii:1, then (3.11)
 * ready:1 or (3.12) statically_allocated:1 */
#define ST_INTERNED(n) ((uint32_t)(n))
#define ST_KIND(k) ((uint32_t)(k) << 2)
#define ST_COMPACT (1u << 5)
#define ST_ASCII (1u << 6)
#define ST_BIT7 (1u << 7)

static const struct py_layout *layout(int minor)
{
	const struct py_layout *l = py_layout_table_lookup(3, minor);

	assert_non_null(l);
	return l;
}

/* A str header: refcount, type, length, hash, state, rest zero; the
 * bytes past `length` are 0x5a so a field read from the wrong place shows. */
static void build(const struct py_layout *l, uint8_t *hdr, size_t size, int64_t length,
		  uint32_t state)
{
	uint64_t refcnt = 1, type = 0x7f0000001000ull, hash = (uint64_t)-1;

	memset(hdr, 0x5a, size);
	memcpy(hdr, &refcnt, 8);
	memcpy(hdr + l->object_type, &type, 8);
	memcpy(hdr + l->unicode_length, &length, 8);
	memcpy(hdr + l->unicode_length + 8, &hash, 8);
	memset(hdr + l->unicode_state, 0, 4);
	memcpy(hdr + l->unicode_state, &state, 4);
}

static void test_layout_sizes(void **state)
{
	/* the struct sizes the rest of this file relies on */
	assert_int_equal(layout(11)->unicode_length, 16);
	assert_int_equal(layout(11)->unicode_state, 32);
	assert_int_equal(layout(11)->unicode_ascii_size, 48);
	assert_int_equal(layout(11)->unicode_compact_size, 72);
	assert_int_equal(layout(12)->unicode_length, 16);
	assert_int_equal(layout(12)->unicode_state, 32);
	assert_int_equal(layout(12)->unicode_ascii_size, 40);
	assert_int_equal(layout(12)->unicode_compact_size, 56);
	/* a legacy string's data pointer follows the compact part */
	assert_int_equal(python_str_header_size(layout(11)), 80);
	assert_int_equal(python_str_header_size(layout(12)), 64);
}

struct shape_case {
	int minor;
	int64_t length;
	uint32_t state;
	unsigned int kind;
	int data_offset; /* -1: legacy */
};

static void test_shapes(void **state)
{
	static const struct shape_case cases[] = {
		/* compact ASCII: data right after PyASCIIObject */
		{11, 5, ST_KIND(1) | ST_COMPACT | ST_ASCII | ST_BIT7, 1, 48},
		{11, 0, ST_KIND(1) | ST_COMPACT | ST_ASCII | ST_BIT7 | ST_INTERNED(1), 1, 48},
		{12, 5, ST_KIND(1) | ST_COMPACT | ST_ASCII, 1, 40},
		{12, 3, ST_KIND(1) | ST_COMPACT | ST_ASCII | ST_BIT7 | ST_INTERNED(2), 1, 40},
		/* compact non-ASCII: after PyCompactUnicodeObject */
		{11, 1, ST_KIND(1) | ST_COMPACT | ST_BIT7, 1, 72},
		{11, 2, ST_KIND(2) | ST_COMPACT | ST_BIT7, 2, 72},
		{11, 7, ST_KIND(4) | ST_COMPACT | ST_BIT7 | ST_INTERNED(1), 4, 72},
		{12, 1, ST_KIND(1) | ST_COMPACT, 1, 56},
		{12, 2, ST_KIND(2) | ST_COMPACT, 2, 56},
		{12, 7, ST_KIND(4) | ST_COMPACT | ST_INTERNED(3), 4, 56},
		/* legacy (str subclasses): characters behind a pointer */
		{11, 4, ST_KIND(1) | ST_BIT7, 1, -1},
		{11, 4, ST_KIND(2) | ST_BIT7, 2, -1},
		{12, 4, ST_KIND(4), 4, -1},
		/* a legacy string may be ASCII too (CPython's own S("abc")) */
		{11, 3, ST_KIND(1) | ST_ASCII | ST_BIT7, 1, -1},
		{12, 3, ST_KIND(1) | ST_ASCII, 1, -1},
		/* the longest length a Py_ssize_t can hold is still a shape */
		{12, INT64_MAX, ST_KIND(2) | ST_COMPACT, 2, 56},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct shape_case *c = &cases[i];
		const struct py_layout *l = layout(c->minor);
		size_t size = python_str_header_size(l);
		uint8_t hdr[128];
		struct python_str_shape shape;

		build(l, hdr, size, c->length, c->state);
		memset(&shape, 0xff, sizeof(shape));
		if (python_str_shape(l, hdr, size, &shape))
			fail_msg("case %zu (3.%d, state %#x) rejected", i, c->minor, c->state);
		assert_int_equal(shape.length, (uint64_t)c->length);
		assert_int_equal(shape.kind, c->kind);
		assert_int_equal(shape.data_offset, c->data_offset);
		assert_int_equal(shape.data_pointer_offset, l->unicode_compact_size);
	}
}

static void test_garbage_rejected(void **state)
{
	static const struct {
		int64_t length;
		uint32_t state;
	} bad[] = {
		/* kinds 0 (3.11's unready wchar_t strings), 3, 5, 6, 7 */
		{1, ST_KIND(0) | ST_COMPACT},
		{1, ST_KIND(0)},
		{1, ST_KIND(3) | ST_COMPACT},
		{1, ST_KIND(5) | ST_COMPACT},
		{1, ST_KIND(6)},
		{1, ST_KIND(7) | ST_COMPACT},
		/* ASCII means one byte per character */
		{1, ST_KIND(2) | ST_COMPACT | ST_ASCII},
		{1, ST_KIND(4) | ST_COMPACT | ST_ASCII},
		{1, ST_KIND(2) | ST_ASCII},
		{1, ST_KIND(0) | ST_COMPACT | ST_ASCII},
		/* negative lengths */
		{-1, ST_KIND(1) | ST_COMPACT | ST_ASCII},
		{INT64_MIN, ST_KIND(2) | ST_COMPACT},
		/* all ones */
		{-1, 0xffffffffu},
	};

	for (int minor = 11; minor <= 12; minor++) {
		const struct py_layout *l = layout(minor);
		size_t size = python_str_header_size(l);

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint8_t hdr[128];
			struct python_str_shape shape;
			int err;

			build(l, hdr, size, bad[i].length, bad[i].state);
			err = python_str_shape(l, hdr, size, &shape);
			if (err != -EINVAL)
				fail_msg("3.%d case %zu (length %lld, state %#x): %d, not -EINVAL",
					 minor, i, (long long)bad[i].length, bad[i].state, err);
		}
	}
}

static void test_short_header(void **state)
{
	const struct py_layout *l = layout(12);
	uint8_t hdr[128];
	struct python_str_shape shape;

	build(l, hdr, sizeof(hdr), 3, ST_KIND(1) | ST_COMPACT | ST_ASCII);
	/* the state word is the last field needed */
	assert_int_equal(python_str_shape(l, hdr, (size_t)l->unicode_state + 4, &shape), 0);
	assert_int_equal(shape.length, 3);
	assert_int_equal(python_str_shape(l, hdr, (size_t)l->unicode_state + 3, &shape), -EINVAL);
	assert_int_equal(python_str_shape(l, hdr, (size_t)l->unicode_length + 7, &shape), -EINVAL);
	assert_int_equal(python_str_shape(l, hdr, 0, &shape), -EINVAL);
}

/* ---- python_chars_to_utf8 --------------------------------------------- */

#define CANARY 0x7e

/* Convert into a buffer of `out_size` bytes followed by canaries, check
 * the canaries and the NUL, and return a copy of the result. */
static char *convert(unsigned int kind, const void *chars, size_t n, size_t out_size, size_t *ret)
{
	char buf[256];
	char *copy;

	assert_true(out_size + 16 <= sizeof(buf));
	memset(buf, CANARY, sizeof(buf));
	*ret = python_chars_to_utf8(kind, chars, n, buf, out_size);
	for (size_t i = out_size; i < sizeof(buf); i++)
		if (buf[i] != CANARY)
			fail_msg("wrote byte %zu of a %zu-byte buffer", i, out_size);
	if (!out_size) {
		assert_int_equal(*ret, 0);
		return strdup("");
	}
	assert_true(*ret < out_size);
	assert_int_equal(buf[*ret], '\0');
	assert_int_equal(strlen(buf), *ret);
	copy = strdup(buf);
	assert_non_null(copy);
	return copy;
}

#define EXPECT_UTF8(want, kind, chars, n, out_size)                            \
	do {                                                                   \
		size_t ret_;                                                   \
		char *got_ = convert((kind), (chars), (n), (out_size), &ret_); \
		assert_string_equal(got_, (want));                             \
		assert_int_equal(ret_, strlen(want));                          \
		free(got_);                                                    \
	} while (0)

static void test_utf8_kind1(void **state)
{
	static const uint8_t ascii[] = "hello";
	/* Latin-1: "grüße" with é, ÿ and the first non-ASCII byte */
	static const uint8_t latin1[] = {'g', 'r', 0xfc, 0xdf, 'e', 0xe9, 0xff, 0x80, 0x7f};

	EXPECT_UTF8("hello", 1, ascii, 5, 64);
	EXPECT_UTF8("hel", 1, ascii, 3, 64);
	EXPECT_UTF8("", 1, ascii, 0, 64);
	EXPECT_UTF8("gr\xc3\xbc\xc3\x9f"
		    "e\xc3\xa9\xc3\xbf\xc2\x80\x7f",
		    1, latin1, 9, 64);
}

static void test_utf8_kind2(void **state)
{
	/* 中 é a U+07FF U+0800 U+FFFF, then surrogates: lone high, lone low,
	 * and a pair (UCS-2 never pairs them: each is invalid alone) */
	static const uint16_t chars[] = {0x4e2d, 0x00e9, 'a',	 0x07ff, 0x0800,
					 0xffff, 0xd800, 0xdfff, 0xd83d, 0xde00};

	EXPECT_UTF8("\xe4\xb8\xad", 2, chars, 1, 64);
	EXPECT_UTF8("\xe4\xb8\xad\xc3\xa9"
		    "a\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf",
		    2, chars, 6, 64);
	EXPECT_UTF8("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 2, chars + 6, 4, 64);
}

static void test_utf8_kind4(void **state)
{
	/* 😀 U+10FFFF U+10000 中 é a, then invalid: U+110000, 0xFFFFFFFF,
	 * surrogates */
	static const uint32_t chars[] = {0x1f600,  0x10ffff,	0x10000, 0x4e2d, 0xe9,	     'a',
					 0x110000, 0xffffffffu, 0xd800,	 0xdfff, 0x80000000u};

	EXPECT_UTF8("\xf0\x9f\x98\x80", 4, chars, 1, 64);
	EXPECT_UTF8("\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xf0\x90\x80\x80\xe4\xb8\xad\xc3\xa9"
		    "a",
		    4, chars, 6, 64);
	EXPECT_UTF8("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 4, chars + 6, 5,
		    64);
}

static void test_utf8_unaligned(void **state)
{
	/* characters read from a remote buffer need not be aligned */
	uint8_t buf[1 + 8];
	uint16_t c2[2] = {0x4e2d, 'x'};
	uint32_t c4[2] = {0x1f600, 'y'};

	memcpy(buf + 1, c2, sizeof(c2));
	EXPECT_UTF8("\xe4\xb8\xadx", 2, buf + 1, 2, 16);
	memcpy(buf + 1, c4, sizeof(c4));
	EXPECT_UTF8("\xf0\x9f\x98\x80y", 4, buf + 1, 2, 16);
}

static void test_utf8_truncation(void **state)
{
	static const uint8_t a_e[] = {'a', 0xe9, 'b'};	     /* "aéb" */
	static const uint8_t e_a[] = {0xe9, 'a'};	     /* "éa" */
	static const uint16_t zh[] = {0x4e2d, 0x6587};	     /* "中文" */
	static const uint32_t emoji[] = {'x', 0x1f600, 'y'}; /* "x😀y" */

	/* room for the NUL only */
	EXPECT_UTF8("", 1, a_e, 3, 1);
	EXPECT_UTF8("", 4, emoji, 3, 1);
	/* no room at all: nothing written, not even the NUL */
	EXPECT_UTF8("", 1, a_e, 3, 0);

	EXPECT_UTF8("a", 1, a_e, 3, 2);
	EXPECT_UTF8("a", 1, a_e, 3, 3); /* é needs 2 bytes + NUL */
	EXPECT_UTF8("a\xc3\xa9", 1, a_e, 3, 4);
	EXPECT_UTF8("a\xc3\xa9"
		    "b",
		    1, a_e, 3, 5);
	EXPECT_UTF8("a\xc3\xa9"
		    "b",
		    1, a_e, 3, 6);

	/* a prefix: a character that fits after one that did not is dropped */
	EXPECT_UTF8("", 1, e_a, 2, 2);

	EXPECT_UTF8("", 2, zh, 2, 3);
	EXPECT_UTF8("\xe4\xb8\xad", 2, zh, 2, 4);
	EXPECT_UTF8("\xe4\xb8\xad", 2, zh, 2, 6);
	EXPECT_UTF8("\xe4\xb8\xad\xe6\x96\x87", 2, zh, 2, 7);
	EXPECT_UTF8("\xe4\xb8\xad\xe6\x96\x87", 2, zh, 2, 8);

	EXPECT_UTF8("x", 4, emoji, 3, 5);
	EXPECT_UTF8("x\xf0\x9f\x98\x80", 4, emoji, 3, 6);
	EXPECT_UTF8("x\xf0\x9f\x98\x80y", 4, emoji, 3, 7);
	EXPECT_UTF8("x\xf0\x9f\x98\x80y", 4, emoji, 3, 8);
}

static void test_utf8_replacement_truncation(void **state)
{
	/* U+FFFD takes 3 bytes even where the bad input took 1 or 2 */
	static const uint16_t sur[] = {'a', 0xd800};
	static const uint32_t big[] = {'a', 0x7fffffff};

	EXPECT_UTF8("a", 2, sur, 2, 4);
	EXPECT_UTF8("a\xef\xbf\xbd", 2, sur, 2, 5);
	EXPECT_UTF8("a", 4, big, 2, 4);
	EXPECT_UTF8("a\xef\xbf\xbd", 4, big, 2, 5);
}

/* ---- live strings --------------------------------------------------------- */

/*
 * Each line the child prints is "<id> <repr>"; python_str_read must give
 * back the string's UTF-8. Legacy strings are str subclass instances.
 */
static const char live_script[] =
	"import sys\n"
	"class S(str): pass\n"
	"keep = ['abc', 'gr\\u00fc\\u00dfe', '\\u4e2d\\u6587', '\\U0001f600!', '',\n"
	"        S('abc'), S('gr\\u00fc\\u00dfe'), S('\\u4e2d'), S('\\U0001f600'),\n"
	"        'x' * 5000, '\\ud800']\n"
	"for s in keep:\n"
	"    sys.stdout.write('%d %s\\n' % (id(s), s.encode('utf-8', 'replace').hex()))\n"
	"sys.stdout.write('end\\n')\n"
	"sys.stdout.flush()\n"
	"import time\n"
	"time.sleep(120)\n";

static void hex_decode(const char *hex, char *out, size_t out_size)
{
	size_t n = strlen(hex) / 2;

	assert_true(n < out_size);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (char)b;
	}
	out[n] = '\0';
}

static void check_live_strings(struct live_python *lp, int minor)
{
	const struct py_layout *l = py_layout_table_lookup(3, minor);
	char line[16384], want[16384];
	int count = 0;

	assert_non_null(l);
	for (;;) {
		unsigned long long addr;
		char hex[12000];
		char *got;

		if (!live_python_line(lp, line, sizeof(line)))
			fail_msg("python 3.%d stopped before printing its strings", minor);
		if (!strcmp(line, "end"))
			break;
		hex[0] = '\0';
		assert_true(sscanf(line, "%llu %11999s", &addr, hex) >= 1);
		hex_decode(hex, want, sizeof(want));
		/* CPython's encoder writes '?' for a lone surrogate, we U+FFFD */
		if (!strcmp(want, "?"))
			snprintf(want, sizeof(want), "\xef\xbf\xbd");
		/* at most PYTHON_STR_MAX_CHARS characters */
		if (strlen(want) > PYTHON_STR_MAX_CHARS)
			want[PYTHON_STR_MAX_CHARS] = '\0';

		errno = 0;
		got = python_str_read(lp->pid, l, addr);
		if (!got)
			fail_msg("3.%d: python_str_read(%#llx) for \"%.40s\": %s", minor, addr,
				 want, strerror(errno));
		if (strcmp(got, want))
			fail_msg("3.%d: read \"%.40s\", want \"%.40s\"", minor, got, want);
		free(got);
		count++;
	}
	assert_int_equal(count, 11);
}

static void test_live_strings(void **state, int minor)
{
	struct live_python *lp = *state;
	char python[LIVE_PYTHON_PATH_MAX];
	char *argv[] = {python, "-c", (char *)live_script, NULL};

	live_python_pyenv_or_skip(minor, python, sizeof(python));
	assert_int_equal(live_python_start(lp, argv), 0);
	check_live_strings(lp, minor);
}

static void test_live_strings_311(void **state)
{
	test_live_strings(state, 11);
}

static void test_live_strings_312(void **state)
{
	test_live_strings(state, 12);
}

static void test_live_strings_39(void **state)
{
	test_live_strings(state, 9);
}

static void test_read_errors(void **state)
{
	const struct py_layout *l = layout(12);

	/* unmapped memory in this very process */
	errno = 0;
	assert_null(python_str_read(getpid(), l, 16));
	assert_int_equal(errno, EFAULT);
	/* a process that is gone */
	errno = 0;
	assert_null(python_str_read(live_python_dead_pid(), l, 0x1000));
	assert_int_equal(errno, ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_sizes),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_garbage_rejected),
		cmocka_unit_test(test_short_header),
		cmocka_unit_test(test_utf8_kind1),
		cmocka_unit_test(test_utf8_kind2),
		cmocka_unit_test(test_utf8_kind4),
		cmocka_unit_test(test_utf8_unaligned),
		cmocka_unit_test(test_utf8_truncation),
		cmocka_unit_test(test_utf8_replacement_truncation),
		cmocka_unit_test_setup_teardown(test_live_strings_39, live_python_setup,
						live_python_teardown),
		cmocka_unit_test_setup_teardown(test_live_strings_311, live_python_setup,
						live_python_teardown),
		cmocka_unit_test_setup_teardown(test_live_strings_312, live_python_setup,
						live_python_teardown),
		cmocka_unit_test(test_read_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
