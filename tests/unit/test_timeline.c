// SPDX-License-Identifier: MIT
/* Unit tests for user/timeline.c: order, splitting of long intervals,
 * all-or-nothing growth. */
#include "fault_alloc.h"
#include "timeline.c"
#include "fault_alloc_end.h"

static void expect_event(const struct timeline_event *e, uint64_t start, uint32_t duration,
			 uint32_t stack)
{
	assert_int_equal(e->start_ns, start);
	assert_int_equal(e->duration_ns, duration);
	assert_int_equal(e->stack, stack);
}

static void test_empty(void **state)
{
	struct timeline *t = timeline__new();
	size_t n = 99;

	assert_non_null(t);
	assert_null(timeline__sorted(t, &n));
	assert_int_equal(n, 0);
	n = 99;
	assert_null(timeline__events(t, &n));
	assert_int_equal(n, 0);
	assert_int_equal(timeline__count(t), 0);
	timeline__free(t);
}

static void test_null(void **state)
{
	size_t n = 99;

	timeline__free(NULL);
	assert_int_equal(timeline__add(NULL, 0, 0, 1), -EINVAL);
	assert_null(timeline__sorted(NULL, &n));
	assert_int_equal(n, 0);
	n = 99;
	assert_null(timeline__events(NULL, &n));
	assert_int_equal(n, 0);
	assert_int_equal(timeline__count(NULL), 0);
}

/* CPUs interleave: each one's records in order, together not. */
static void test_out_of_order_sorted(void **state)
{
	struct timeline *t = timeline__new();
	const struct timeline_event *e;
	size_t n;

	assert_int_equal(timeline__add(t, 1, 300, 10), 0);
	assert_int_equal(timeline__add(t, 2, 100, 10), 0);
	assert_int_equal(timeline__add(t, 7, 200, 10), 0);
	assert_int_equal(timeline__add(t, 3, 200, 10), 0);
	assert_int_equal(timeline__add(t, 3, 200, 5), 0);
	assert_int_equal(timeline__add(t, 0, 400, 10), 0);
	e = timeline__sorted(t, &n);
	assert_int_equal(n, 6);
	expect_event(&e[0], 100, 10, 2);
	expect_event(&e[1], 200, 5, 3); /* then stack id, then duration */
	expect_event(&e[2], 200, 10, 3);
	expect_event(&e[3], 200, 10, 7);
	expect_event(&e[4], 300, 10, 1);
	expect_event(&e[5], 400, 10, 0);

	/* adding after sorting: sorted again, including the new event */
	assert_int_equal(timeline__add(t, 9, 150, 1), 0);
	e = timeline__events(t, &n);
	assert_int_equal(n, 7);
	expect_event(&e[0], 100, 10, 2);
	expect_event(&e[1], 150, 1, 9);
	expect_event(&e[6], 400, 10, 0);
	timeline__free(t);
}

/* Many events, added in a scrambled order, come out sorted. */
static void test_many_events(void **state)
{
	struct timeline *t = timeline__new();
	const struct timeline_event *e;
	size_t n;

	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(timeline__add(t, i % 7, (i * 7919u) % 5000 * 1000, 1000), 0);
	e = timeline__sorted(t, &n);
	assert_int_equal(n, 5000);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(e[i].start_ns, i * 1000);
	timeline__free(t);
}

/* Intervals longer than UINT32_MAX ns become consecutive events. */
static void test_long_interval_split(void **state)
{
	struct timeline *t = timeline__new();
	const struct timeline_event *e;
	uint64_t ten_s = 10000000000ULL, max = UINT32_MAX;
	size_t n;

	assert_int_equal(timeline__add(t, 4, 1000, ten_s), 0);
	e = timeline__sorted(t, &n);
	assert_int_equal(n, 3);
	expect_event(&e[0], 1000, UINT32_MAX, 4);
	expect_event(&e[1], 1000 + max, UINT32_MAX, 4);
	expect_event(&e[2], 1000 + 2 * max, (uint32_t)(ten_s - 2 * max), 4);
	timeline__free(t);

	/* the edges: exactly UINT32_MAX is one event, one more is two, 0 is
	 * one event of 0 */
	t = timeline__new();
	assert_int_equal(timeline__add(t, 1, 0, max), 0);
	assert_int_equal(timeline__add(t, 2, 10 * max, max + 1), 0);
	assert_int_equal(timeline__add(t, 3, 20 * max, 0), 0);
	e = timeline__sorted(t, &n);
	assert_int_equal(n, 4);
	expect_event(&e[0], 0, UINT32_MAX, 1);
	expect_event(&e[1], 10 * max, UINT32_MAX, 2);
	expect_event(&e[2], 11 * max, 1, 2);
	expect_event(&e[3], 20 * max, 0, 3);
	timeline__free(t);
}

/* A long interval at the end of time does not wrap around. */
static void test_end_of_time(void **state)
{
	struct timeline *t = timeline__new();
	const struct timeline_event *e;
	uint64_t max = UINT32_MAX;
	size_t n;

	assert_int_equal(timeline__add(t, 1, UINT64_MAX - max, 2 * max), 0);
	e = timeline__sorted(t, &n);
	assert_int_equal(n, 2);
	expect_event(&e[0], UINT64_MAX - max, UINT32_MAX, 1);
	expect_event(&e[1], UINT64_MAX, UINT32_MAX, 1);
	timeline__free(t);
}

/* A failed allocation adds nothing, not even part of a split interval. */
static void test_enomem(void **state)
{
	struct timeline *t;
	size_t n;

	fault_countdown = 0;
	assert_null(timeline__new());
	assert_int_equal(errno, ENOMEM);

	t = timeline__new();
	assert_int_equal(timeline__add(t, 1, 0, 10), 0);
	/* fill the first block, then fail to grow it */
	while (timeline__count(t) < 256)
		assert_int_equal(timeline__add(t, 1, timeline__count(t) * 10, 10), 0);
	fault_countdown = 0;
	assert_int_equal(timeline__add(t, 2, 1, 3ULL * UINT32_MAX), -ENOMEM);
	assert_int_equal(timeline__count(t), 256);
	assert_int_equal(timeline__add(t, 2, 1, 3ULL * UINT32_MAX), 0);
	timeline__sorted(t, &n);
	assert_int_equal(n, 259);
	timeline__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_out_of_order_sorted),
		cmocka_unit_test(test_many_events),
		cmocka_unit_test(test_long_interval_split),
		cmocka_unit_test(test_end_of_time),
		cmocka_unit_test(test_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
