// SPDX-License-Identifier: MIT
/* Unit tests for user/json_writer.c: string literals for any bytes, exact
 * decimals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_writer.h"

static char *buf;
static size_t len;

static FILE *open_buf(void)
{
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	return f;
}

/* Closes f and compares what was written with want; frees it. */
static void expect(FILE *f, const char *want)
{
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, want);
	free(buf);
	buf = NULL;
}

static void expect_json_string(const char *s, const char *want)
{
	FILE *f = open_buf();

	json_writer__string(f, s);
	expect(f, want);
}

static void expect_json_decimal(unsigned __int128 v, unsigned int scale, const char *want)
{
	FILE *f = open_buf();

	json_writer__decimal(f, v, scale);
	expect(f, want);
}

static void test_string_escapes(void **state)
{
	expect_json_string(NULL, "\"\"");
	expect_json_string("", "\"\"");
	expect_json_string("plain <x> & 'y' /", "\"plain <x> & 'y' /\"");
	expect_json_string("\"\\", "\"\\\"\\\\\"");
	expect_json_string("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	expect_json_string("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
}

static void test_string_utf8(void **state)
{
	/* well-formed: 2, 3 and 4 bytes, and the edges of each range */
	expect_json_string("\xc2\x80\xdf\xbf", "\"\xc2\x80\xdf\xbf\"");
	expect_json_string("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf",
			   "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"");
	expect_json_string("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
			   "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");
	/* ill-formed: one U+FFFD per maximal subpart */
	expect_json_string("\x80", "\"\xef\xbf\xbd\"");
	expect_json_string("\xc1\xbf", "\"\xef\xbf\xbd\xef\xbf\xbd\""); /* overlong */
	expect_json_string("\xe0\x9f\x80",
			   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* overlong */
	expect_json_string("\xe2\x82", "\"\xef\xbf\xbd\"");		/* truncated at the end */
	expect_json_string("\xf0\x9f\x90"
			   "x",
			   "\"\xef\xbf\xbdx\""); /* truncated */
	expect_json_string("\xf5\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	/* a control character ends a sequence and is still escaped */
	expect_json_string("\xe2\n", "\"\xef\xbf\xbd\\n\"");
	/* the pieces of a string */
	{
		FILE *f = open_buf();

		putc('"', f);
		json_writer__chars(f, "a\"");
		json_writer__chars(f, NULL);
		json_writer__chars(f, "\\b");
		putc('"', f);
		expect(f, "\"a\\\"\\\\b\"");
	}
}

static void test_decimal(void **state)
{
	expect_json_decimal(0, 9, "0");
	expect_json_decimal(0, 0, "0");
	expect_json_decimal(25000000, 9, "0.025");
	expect_json_decimal(3000000000ULL, 9, "3");
	expect_json_decimal(1, 9, "0.000000001");
	expect_json_decimal(1500, 3, "1.5");
	expect_json_decimal(UINT64_MAX, 0, "18446744073709551615");
	expect_json_decimal((unsigned __int128)UINT64_MAX * UINT64_MAX, 9,
			    "340282366920938463426481119284.349108225");
	expect_json_decimal(~(unsigned __int128)0, 0, "340282366920938463463374607431768211455");
	expect_json_decimal(123, 40, "0.000000000000000123"); /* scale capped at 18 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_utf8),
		cmocka_unit_test(test_decimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
