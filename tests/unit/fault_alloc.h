/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection for unit tests.
 *
 * A test that wants a module's out-of-memory paths includes this header and
 * then the module's .c file itself:
 *
 *   #include "fault_alloc.h"
 *   #include "profile.c"
 *   #include "fault_alloc_end.h"
 *
 * so that module's malloc/calloc/realloc/free go through cmocka's
 * test_malloc() family (which fails a test that leaks a block) and its Nth
 * allocation can be made to fail. The test's own definitions then stand in
 * for the library's copy of the module at link time. The code under test is
 * the production source, unchanged.
 *
 * Every header a module includes must be included here first, so their
 * declarations of malloc & co are seen before the macros exist.
 */
#ifndef PYEBPF_FAULT_ALLOC_H
#define PYEBPF_FAULT_ALLOC_H

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Allocations to let through before one fails; -1: never fail. The failure
 * happens once, then the counter is back at -1. */
static long fault_countdown = -1;

static bool fault_now(void)
{
	if (fault_countdown < 0)
		return false;
	return fault_countdown-- == 0;
}

__attribute__((unused)) static void *fault_malloc(size_t n, const char *file, int line)
{
	return fault_now() ? NULL : _test_malloc(n, file, line);
}

__attribute__((unused)) static void *fault_calloc(size_t n, size_t size, const char *file, int line)
{
	return fault_now() ? NULL : _test_calloc(n, size, file, line);
}

__attribute__((unused)) static void *fault_realloc(void *p, size_t n, const char *file, int line)
{
	return fault_now() ? NULL : _test_realloc(p, n, file, line);
}

__attribute__((unused)) static void fault_free(void *p, const char *file, int line)
{
	if (p)
		_test_free(p, file, line);
}

/* More allocations than fault_each_allocation() expects of one attempt. */
#define FAULT_MAX_ALLOCATIONS 100000

/*
 * Runs attempt(ctx) with its first allocation failing, then with its
 * second, and so on, until a run has no allocation fail: that run must
 * return 0, every earlier one -ENOMEM (and cmocka's allocator fails the
 * test on a leak). Returns the number of failed runs, which is the number
 * of allocations attempt() makes.
 */
__attribute__((unused)) static long fault_each_allocation(int (*attempt)(void *ctx), void *ctx)
{
	for (long n = 0; n < FAULT_MAX_ALLOCATIONS; n++) {
		int err;

		fault_countdown = n;
		err = attempt(ctx);
		if (fault_countdown >= 0) { /* no allocation failed */
			fault_countdown = -1;
			assert_int_equal(err, 0);
			return n;
		}
		assert_int_equal(err, -ENOMEM);
	}
	fault_countdown = -1;
	fail_msg("more than %d allocations", FAULT_MAX_ALLOCATIONS);
	return -1;
}

#endif /* PYEBPF_FAULT_ALLOC_H */

#define malloc(n) fault_malloc(n, __FILE__, __LINE__)
#define calloc(n, size) fault_calloc(n, size, __FILE__, __LINE__)
#define realloc(p, n) fault_realloc(p, n, __FILE__, __LINE__)
#define free(p) fault_free(p, __FILE__, __LINE__)
