// SPDX-License-Identifier: MIT
/* Unit tests for syscall_names: the generated table against known numbers. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <asm/unistd.h>
#include <cmocka.h>

#include "syscall_names.h"

static void test_x86_64_numbers(void **state)
{
#ifdef __x86_64__
	static const struct {
		long nr;
		const char *name;
	} known[] = {
		{0, "read"},
		{1, "write"},
		{7, "poll"},
		{23, "select"},
		{45, "recvfrom"},
		{202, "futex"},
		{230, "clock_nanosleep"},
		{232, "epoll_wait"},
		{270, "pselect6"},
		{281, "epoll_pwait"},
		{449, "futex_waitv"},
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *name = syscall_name(known[i].nr);

		assert_non_null(name);
		assert_string_equal(name, known[i].name);
	}
#else
	skip();
#endif
}

/* The same through the headers' own macros, on any architecture. */
static void test_header_macros(void **state)
{
	assert_string_equal(syscall_name(__NR_read), "read");
	assert_string_equal(syscall_name(__NR_futex), "futex");
	assert_string_equal(syscall_name(__NR_clock_nanosleep), "clock_nanosleep");
	assert_string_equal(syscall_name(__NR_epoll_pwait), "epoll_pwait");
	assert_string_equal(syscall_name(__NR_recvfrom), "recvfrom");
	assert_string_equal(syscall_name(__NR_pselect6), "pselect6");
#ifdef __NR_futex_waitv
	assert_string_equal(syscall_name(__NR_futex_waitv), "futex_waitv");
#endif
}

/* 6.7's futex2 calls are known even to builds with older headers. */
static void test_newer_than_headers(void **state)
{
#if defined(__x86_64__) || defined(__aarch64__)
	assert_string_equal(syscall_name(454), "futex_wake");
	assert_string_equal(syscall_name(455), "futex_wait");
	assert_string_equal(syscall_name(456), "futex_requeue");
#else
	skip();
#endif
}

static void test_unknown(void **state)
{
	assert_null(syscall_name(-1));
	assert_null(syscall_name(-202));
	assert_null(syscall_name(LONG_MIN));
	assert_null(syscall_name(4096));
	assert_null(syscall_name(1L << 32));
	assert_null(syscall_name(LONG_MAX));
#ifdef __x86_64__
	/* the hole between the old calls and 424, and x32's numbers */
	assert_null(syscall_name(400));
	assert_null(syscall_name(0x40000000L + 0));
#endif
}

/* Every name is a plain identifier, and the table is not empty. */
static void test_all_names(void **state)
{
	int known = 0;

	for (long nr = 0; nr < 4096; nr++) {
		const char *name = syscall_name(nr);

		if (!name)
			continue;
		known++;
		assert_true(name[0] != '\0');
		assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_"),
				 strlen(name));
	}
	assert_true(known >= 300);
}

static void test_is_futex(void **state)
{
	assert_true(syscall_is_futex(__NR_futex));
#ifdef __NR_futex_waitv
	assert_true(syscall_is_futex(__NR_futex_waitv));
#endif
#ifdef __x86_64__
	assert_true(syscall_is_futex(202));
	assert_true(syscall_is_futex(449));
	assert_true(syscall_is_futex(454));
	assert_true(syscall_is_futex(455));
	assert_true(syscall_is_futex(456));
	assert_false(syscall_is_futex(0));
	assert_false(syscall_is_futex(230));
	assert_false(syscall_is_futex(232));
	/* get_robust_list and set_robust_list are about futexes, not on them */
	assert_false(syscall_is_futex(273));
	assert_false(syscall_is_futex(274));
#endif
	assert_false(syscall_is_futex(__NR_read));
	assert_false(syscall_is_futex(-1));
	assert_false(syscall_is_futex(LONG_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x86_64_numbers),	   cmocka_unit_test(test_header_macros),
		cmocka_unit_test(test_newer_than_headers), cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_all_names),	   cmocka_unit_test(test_is_futex),
	};

	return cmocka_run_group_tests_name("syscall_names", tests, NULL, NULL);
}
