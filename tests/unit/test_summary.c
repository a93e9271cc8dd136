// SPDX-License-Identifier: MIT
/* Unit tests for user/summary.c: own and total time per function. */
#include "fault_alloc.h"
#include "summary.c"
#include "fault_alloc_end.h"

#include "profile_build.h"

static void assert_row(const struct summary_row *row, const char *function, const char *file,
		       uint64_t self, uint64_t total)
{
	assert_string_equal(row->function, function);
	if (file)
		assert_string_equal(row->file, file);
	else
		assert_null(row->file);
	assert_int_equal(row->self, self);
	assert_int_equal(row->total, total);
}

/* The profile the golden tests share; total weight 103. */
static struct profile *sample_profile(void)
{
	struct profile *p = profile__new();
	uint32_t main1 = intern(p, "main", "app.py", 1);
	uint32_t main5 = intern(p, "main", "app.py", 5);
	uint32_t fib10 = intern(p, "fib", "app.py", 10);
	uint32_t fib11 = intern(p, "fib", "app.py", 11);
	uint32_t trunc = intern(p, "[truncated]", NULL, 0);
	uint32_t helper = intern(p, "helper", "lib.py", 3);
	uint32_t bad = intern(p, "bad\tname", "lib.py", 4);

	intern(p, "unused", "lib.py", 9); /* in no stack: in no table */
	add(p, (uint32_t[]){main1, fib10, fib11, fib10}, 4, 50);
	add(p, (uint32_t[]){main5, helper}, 2, 30);
	add(p, (uint32_t[]){trunc, fib10}, 2, 15);
	add(p, (uint32_t[]){main1}, 1, 5);
	add(p, (uint32_t[]){main1, bad}, 2, 3);
	return p;
}

static void test_top(void **state)
{
	struct profile *p = sample_profile();
	struct summary_row self[8], total[8];
	size_t n_self = 99, n_total = 99;

	assert_int_equal(summary__top(p, 8, self, &n_self, total, &n_total), 0);
	/* lines add up; recursion counts once; [truncated] has no own time */
	assert_int_equal(n_self, 4);
	assert_row(&self[0], "fib", "app.py", 65, 65);
	assert_row(&self[1], "helper", "lib.py", 30, 30);
	assert_row(&self[2], "main", "app.py", 5, 88);
	assert_row(&self[3], "bad\tname", "lib.py", 3, 3);
	assert_int_equal(n_total, 5);
	assert_row(&total[0], "main", "app.py", 5, 88);
	assert_row(&total[1], "fib", "app.py", 65, 65);
	assert_row(&total[2], "helper", "lib.py", 30, 30);
	assert_row(&total[3], "[truncated]", NULL, 0, 15);
	assert_row(&total[4], "bad\tname", "lib.py", 3, 3);

	/* k limits the rows */
	assert_int_equal(summary__top(p, 2, self, &n_self, total, &n_total), 0);
	assert_int_equal(n_self, 2);
	assert_int_equal(n_total, 2);
	assert_row(&self[1], "helper", "lib.py", 30, 30);
	assert_row(&total[1], "fib", "app.py", 65, 65);
	assert_int_equal(summary__top(p, 0, self, &n_self, total, &n_total), 0);
	assert_int_equal(n_self, 0);
	assert_int_equal(n_total, 0);

	/* one table may be skipped */
	assert_int_equal(summary__top(p, 8, NULL, NULL, total, &n_total), 0);
	assert_int_equal(n_total, 5);
	assert_int_equal(summary__top(p, 8, self, &n_self, NULL, NULL), 0);
	assert_int_equal(n_self, 4);
	profile__free(p);
}

static void test_recursion_counted_once(void **state)
{
	struct profile *p = profile__new();
	uint32_t m = intern(p, "main", "r.py", 1);
	uint32_t f1 = intern(p, "fib", "r.py", 2), f2 = intern(p, "fib", "r.py", 3);
	struct summary_row self[4], total[4];
	size_t n_self, n_total;

	add(p, (uint32_t[]){m, f1, f2, f1, f2, f1}, 6, 10);
	add(p, (uint32_t[]){f1, m, f1}, 3, 1); /* main in the middle */
	assert_int_equal(summary__top(p, 4, self, &n_self, total, &n_total), 0);
	assert_int_equal(n_self, 1);
	assert_row(&self[0], "fib", "r.py", 11, 11);
	assert_int_equal(n_total, 2);
	assert_row(&total[0], "fib", "r.py", 11, 11);
	assert_row(&total[1], "main", "r.py", 0, 11);
	profile__free(p);
}

static void test_ties_by_name(void **state)
{
	struct profile *p = profile__new();
	const char *fns[] = {"b", "a", "c", "a", "a", "B"};
	const char *files[] = {"x.py", "y.py", "x.py", NULL, "x.py", "x.py"};
	struct summary_row self[8], total[8];
	size_t n_self, n_total;

	for (int i = 0; i < 6; i++) {
		uint32_t id = intern(p, fns[i], files[i], i);

		add(p, &id, 1, 7);
	}
	assert_int_equal(summary__top(p, 8, self, &n_self, total, &n_total), 0);
	assert_int_equal(n_self, 6);
	assert_int_equal(n_total, 6);
	for (int i = 0; i < 2; i++) {
		const struct summary_row *r = i ? total : self;

		assert_row(&r[0], "B", "x.py", 7, 7);
		assert_row(&r[1], "a", NULL, 7, 7);
		assert_row(&r[2], "a", "x.py", 7, 7);
		assert_row(&r[3], "a", "y.py", 7, 7);
		assert_row(&r[4], "b", "x.py", 7, 7);
		assert_row(&r[5], "c", "x.py", 7, 7);
	}
	profile__free(p);
}

/* summary__print into a string; free() it */
static char *printed(const struct profile *p, size_t k, uint64_t total)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(summary__print(f, p, k, total), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_print_golden(void **state)
{
	struct profile *p = sample_profile();
	char *out = printed(p, 4, profile__total(p));

	assert_string_equal(out, "Top functions by own time:\n"
				 "    %Own    Own  Function (file)\n"
				 "   63.1%     65  fib (app.py)\n"
				 "   29.1%     30  helper (lib.py)\n"
				 "    4.9%      5  main (app.py)\n"
				 "    2.9%      3  bad?name (lib.py)\n"
				 "Top functions by total time:\n"
				 "  %Total  Total  Function (file)\n"
				 "   85.4%     88  main (app.py)\n"
				 "   63.1%     65  fib (app.py)\n"
				 "   29.1%     30  helper (lib.py)\n"
				 "   14.6%     15  [truncated]\n");
	free(out);
	profile__free(p);
}

static void test_print_wide_and_no_total(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "sleep", "t.py", 1);
	uint32_t b = intern(p, "run", "t.py", 2);
	char *out;

	add(p, (uint32_t[]){b, a}, 2, 12345678901ULL);
	add(p, (uint32_t[]){b}, 1, 99);
	out = printed(p, 10, 12345679000ULL);
	assert_string_equal(out, "Top functions by own time:\n"
				 "    %Own          Own  Function (file)\n"
				 "  100.0%  12345678901  sleep (t.py)\n"
				 "    0.0%           99  run (t.py)\n"
				 "Top functions by total time:\n"
				 "  %Total        Total  Function (file)\n"
				 "  100.0%  12345679000  run (t.py)\n"
				 "  100.0%  12345678901  sleep (t.py)\n");
	free(out);
	out = printed(p, 1, 0);
	assert_string_equal(out, "Top functions by own time:\n"
				 "    %Own          Own  Function (file)\n"
				 "       -  12345678901  sleep (t.py)\n"
				 "Top functions by total time:\n"
				 "  %Total        Total  Function (file)\n"
				 "       -  12345679000  run (t.py)\n");
	free(out);
	profile__free(p);
}

static void test_print_empty(void **state)
{
	struct profile *p = profile__new();
	char *out = printed(p, 10, 0);

	assert_string_equal(out, "Top functions by own time:\n"
				 "  (no samples)\n"
				 "Top functions by total time:\n"
				 "  (no samples)\n");
	free(out);
	profile__free(p);
}

static void test_errors(void **state)
{
	struct profile *p = sample_profile();
	struct summary_row rows[4];
	size_t n = 0;
	FILE *f;

	assert_int_equal(summary__top(NULL, 4, rows, &n, rows, &n), -EINVAL);
	assert_int_equal(summary__top(p, 4, rows, NULL, rows, &n), -EINVAL);
	assert_int_equal(summary__top(p, 4, rows, &n, NULL, &n), -EINVAL);
	assert_int_equal(summary__print(NULL, p, 4, 1), -EINVAL);
	assert_int_equal(summary__print(stdout, NULL, 4, 1), -EINVAL);
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(summary__print(f, p, 4, 1), -EIO);
	fclose(f);
	profile__free(p);
}

static void test_out_of_memory(void **state)
{
	struct profile *p = sample_profile();
	struct summary_row self[4], total[4];
	size_t n_self, n_total;
	char *buf = NULL;
	size_t len = 0;
	long n;
	int err;

	for (n = 0;; n++) {
		fault_countdown = n;
		err = summary__top(p, 4, self, &n_self, total, &n_total);
		if (fault_countdown >= 0)
			break;
		assert_int_equal(err, -ENOMEM);
		assert_int_equal(n_self, 0);
		assert_int_equal(n_total, 0);
	}
	fault_countdown = -1;
	assert_int_equal(err, 0);
	assert_int_equal(n, 2);

	for (n = 0;; n++) {
		FILE *f = open_memstream(&buf, &len);

		fault_countdown = n;
		err = summary__print(f, p, 4, 103);
		fclose(f);
		free(buf);
		if (fault_countdown >= 0)
			break;
		assert_int_equal(err, -ENOMEM);
	}
	fault_countdown = -1;
	assert_int_equal(err, 0);
	assert_int_equal(n, 3);
	profile__free(p);
}

/* Off-CPU reasons and kernel frames annotate stacks, as their kind says:
 * they are not functions, and own time goes to the Python frame above
 * them. A frame of another kind with the same text is a function. */
static void test_annotations_and_seconds(void **state)
{
	struct profile *p = profile__new();
	uint32_t main_ = intern(p, "main", "app.py", 3);
	uint32_t rest = intern(p, "rest", "app.py", 9);
	uint32_t io, k, lookalike;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_OFF_CPU,
					       "[off-cpu:io] clock_nanosleep", NULL, 0, &io),
			 0);
	assert_int_equal(
		profile__intern_frame(p, PROFILE_FRAME_KERNEL, "schedule_[k]", NULL, 0, &k), 0);
	assert_int_equal(profile__intern_frame(p, PROFILE_FRAME_SYNTHETIC, "[off-cpu:io]", NULL, 0,
					       &lookalike),
			 0);
	assert_true(summary_is_annotation(profile__frame(p, io)));
	assert_true(summary_is_annotation(profile__frame(p, k)));
	assert_false(summary_is_annotation(profile__frame(p, lookalike)));
	assert_false(summary_is_annotation(profile__frame(p, main_)));

	add(p, (uint32_t[]){main_, rest, io, k}, 4, 1500000000);
	add(p, (uint32_t[]){main_}, 1, 500000000);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(summary__print_weights(f, p, 3, profile__total(p), true), 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "Top functions by own time:\n"
				 "    %Own    Own  Function (file)\n"
				 "   75.0%  1.50s  rest (app.py)\n"
				 "   25.0%  0.50s  main (app.py)\n"
				 "Top functions by total time:\n"
				 "  %Total  Total  Function (file)\n"
				 "  100.0%  2.00s  main (app.py)\n"
				 "   75.0%  1.50s  rest (app.py)\n");
	free(buf);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_recursion_counted_once),
		cmocka_unit_test(test_ties_by_name),
		cmocka_unit_test(test_print_golden),
		cmocka_unit_test(test_print_wide_and_no_total),
		cmocka_unit_test(test_print_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_annotations_and_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
