/* SPDX-License-Identifier: MIT */
/*
 * Building profiles in unit tests: frames and stacks in one call each,
 * failing the test on an error.
 */
#ifndef PYEBPF_TEST_PROFILE_BUILD_H
#define PYEBPF_TEST_PROFILE_BUILD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "profile.h"

/* The id of the frame (kind, function, file, line) in p. */
static __attribute__((unused)) uint32_t frame(struct profile *p, enum profile_frame_kind kind,
					      const char *function, const char *file, int line)
{
	uint32_t id = UINT32_MAX;

	assert_int_equal(profile__intern_frame(p, kind, function, file, line, &id), 0);
	return id;
}

/* The id of the Python frame (function, file, line) in p. */
static __attribute__((unused)) uint32_t intern(struct profile *p, const char *function,
					       const char *file, int line)
{
	return frame(p, PROFILE_FRAME_PYTHON, function, file, line);
}

/* Adds the stack frames[0..n) of thread thread_id (PROFILE_NO_THREAD:
 * none) with `weight`. */
static __attribute__((unused)) void add_stack(struct profile *p, uint32_t thread_id,
					      const uint32_t *frames, size_t n, uint64_t weight)
{
	assert_int_equal(profile__add(p, thread_id, frames, n, weight, NULL), 0);
}

/* add_stack() of no thread. */
static __attribute__((unused)) void add(struct profile *p, const uint32_t *frames, size_t n,
					uint64_t weight)
{
	add_stack(p, PROFILE_NO_THREAD, frames, n, weight);
}

#endif /* PYEBPF_TEST_PROFILE_BUILD_H */
