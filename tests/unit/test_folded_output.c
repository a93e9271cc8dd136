// SPDX-License-Identifier: MIT
/* Unit tests for user/folded_output.c: the exact bytes of folded output. */
#include "fault_alloc.h"
#include "folded_output.c"
#include "fault_alloc_end.h"

#include "profile_build.h"
#include "writer_output.h"

/* folded_output__write() of a bare profile */
static int folded_write(const struct profile *p, FILE *out)
{
	struct report r = {.profile = p};

	return folded_output__write(&r, out);
}

/* folded_output__write() of a bare profile into a string; free() it */
static char *folded(const struct profile *p)
{
	struct report r = {.profile = p};

	return report_output_text(folded_output__write, &r);
}

static void test_golden(void **state)
{
	struct profile *p = profile__new();
	uint32_t main_ = intern(p, "main", "/app/app.py", 10);
	uint32_t work = intern(p, "work", "/app/app.py", 20);
	uint32_t idle = intern(p, "idle", "/app/app.py", 30);
	uint32_t trunc = intern(p, "[truncated]", NULL, 0);
	uint32_t mod = intern(p, "<module>", "/app/app.py", 0);
	char *out;

	add(p, (uint32_t[]){main_, work}, 2, 3);
	add(p, (uint32_t[]){main_}, 1, 1);
	add(p, (uint32_t[]){main_, idle}, 2, 2);
	add(p, (uint32_t[]){trunc, work}, 2, 1);
	add(p, (uint32_t[]){main_, work}, 2, 2);
	add(p, (uint32_t[]){mod, main_, work}, 3, 1000000000000ULL);
	out = folded(p);
	assert_string_equal(out, "<module> (/app/app.py);main (/app/app.py:10);"
				 "work (/app/app.py:20) 1000000000000\n"
				 "[truncated];work (/app/app.py:20) 1\n"
				 "main (/app/app.py:10) 1\n"
				 "main (/app/app.py:10);idle (/app/app.py:30) 2\n"
				 "main (/app/app.py:10);work (/app/app.py:20) 5\n");
	free(out);
	profile__free(p);
}

/* Sorting is on the bytes of the joined text, not label by label: "a;x"
 * sorts after "a0" because ';' (0x3b) > '0' (0x30). */
static void test_bytewise_order(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", NULL, 0), a0 = intern(p, "a0", NULL, 0);
	uint32_t x = intern(p, "x", NULL, 0), ab = intern(p, "a b", NULL, 0);
	uint32_t hi = intern(p, "\xc3\xa9", NULL, 0);
	char *out;

	add(p, (uint32_t[]){a, x}, 2, 1);
	add(p, (uint32_t[]){hi}, 1, 1);
	add(p, (uint32_t[]){a0}, 1, 2);
	add(p, (uint32_t[]){a}, 1, 3);
	add(p, (uint32_t[]){ab, x}, 2, 4);
	add(p, (uint32_t[]){a, a0}, 2, 5);
	out = folded(p);
	assert_string_equal(out, "a 3\n"
				 "a b;x 4\n"
				 "a0 2\n"
				 "a;a0 5\n"
				 "a;x 1\n"
				 "\xc3\xa9 1\n");
	free(out);
	profile__free(p);
}

static void test_same_profile_same_bytes(void **state)
{
	struct profile *p = profile__new(), *q = profile__new();
	const char *names[] = {"f", "g", "h", "i"};
	uint32_t pid[4], qid[4];
	char *pout, *qout;

	/* same stacks, frames interned and stacks added in another order */
	for (int i = 0; i < 4; i++) {
		pid[i] = intern(p, names[i], "m.py", i + 1);
		qid[3 - i] = intern(q, names[3 - i], "m.py", 4 - i);
	}
	for (int i = 0; i < 64; i++) {
		int j = 63 - i;

		add(p, (uint32_t[]){pid[i % 4], pid[i / 4 % 4], pid[i / 16]}, 1 + i % 3, i + 1);
		add(q, (uint32_t[]){qid[j % 4], qid[j / 4 % 4], qid[j / 16]}, 1 + j % 3, j + 1);
	}
	pout = folded(p);
	qout = folded(q);
	assert_string_equal(pout, qout);
	free(pout);
	free(qout);
	profile__free(p);
	profile__free(q);
}

static void test_escaping(void **state)
{
	struct profile *p = profile__new();
	uint32_t evil = intern(p, "evil;name\n", "/tmp/x;y\n.py", 1);
	uint32_t num = intern(p, "gen 7", NULL, 0);
	char *out;

	add(p, (uint32_t[]){evil, num}, 2, 3);
	out = folded(p);
	assert_string_equal(out, "evil:name? (/tmp/x:y?.py:1);gen_7 3\n");
	free(out);
	profile__free(p);
}

/* Distinct frames with the same label give one line, weights summed. */
static void test_identical_text_merged(void **state)
{
	struct profile *p = profile__new();
	uint32_t x = intern(p, "a;b", NULL, 0), y = intern(p, "a:b", NULL, 0);
	uint32_t z = intern(p, "z", NULL, 0);
	char *out;

	add(p, (uint32_t[]){x, z}, 2, 2);
	add(p, (uint32_t[]){z}, 1, 1);
	add(p, (uint32_t[]){y, z}, 2, 3);
	add(p, (uint32_t[]){y}, 1, 4);
	out = folded(p);
	assert_string_equal(out, "a:b 4\n"
				 "a:b;z 5\n"
				 "z 1\n");
	free(out);
	profile__free(p);
}

static void test_empty_and_errors(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", NULL, 0);
	char *out = folded(p);
	FILE *f;

	assert_string_equal(out, "");
	free(out);
	assert_int_equal(folded_write(NULL, stdout), -EINVAL);
	assert_int_equal(folded_write(p, NULL), -EINVAL);

	add(p, &a, 1, 1);
	f = fopen("/dev/full", "w");
	if (f) { /* the write error shows at the flush */
		assert_int_equal(folded_write(p, f), -ENOSPC);
		fclose(f);
	}
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(folded_write(p, f), -EBADF);
	fclose(f);
	profile__free(p);
}

static void test_out_of_memory(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", NULL, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	add(p, &a, 1, 1);
	fault_countdown = 0;
	assert_int_equal(folded_write(p, f), -ENOMEM);
	assert_int_equal(fault_countdown, -1);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
	profile__free(p);
}

/* The comparator against the obvious implementation: build every line's
 * text, sort with strcmp, merge equal neighbours. Labels are chosen to be
 * prefixes of each other and to sort around ';'. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct naive {
	const struct profile *p;
	char **text;
	uint64_t *weight;
	size_t n;
};

static int naive_cb(const struct profile_stack *st, void *ctx)
{
	const uint32_t *frames = st->frames;
	uint64_t weight = st->weight;
	size_t n = st->n;
	struct naive *nv = ctx;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ";" : "", profile__frame(nv->p, frames[i])->label);
	/* weight after a NUL, so strcmp sorts on the stack text alone */
	fputc('\0', f);
	fwrite(&weight, sizeof(weight), 1, f);
	fclose(f);
	nv->text[nv->n++] = buf;
	return 0;
}

static void test_matches_naive_sort(void **state)
{
	const char *names[] = {"a",   "a0",  "a b", "ab",  "b",	       "a;",
			       "[x]", "a 1", "",    "a\n", "\xc3\xa9", "A"};
	const char *files[] = {NULL, "f.py", "f", "f.py;"};
	struct profile *p = profile__new();
	uint32_t ids[48], stack[6];
	uint64_t rng = 42;
	struct naive nv = {.p = p};
	char *buf = NULL, *out;
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < 48; i++)
		ids[i] = intern(p, names[i % 12], files[i / 12], i % 3);
	for (int i = 0; i < 3000; i++) {
		size_t n;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		n = 1 + (rng >> 60) % 6;
		for (size_t j = 0; j < n; j++)
			stack[j] = ids[(rng >> (8 * j + 8)) % 48];
		add(p, stack, n, 1 + (rng >> 56) % 5);
	}

	nv.text = calloc(profile__stack_count(p), sizeof(*nv.text));
	assert_int_equal(profile__foreach(p, naive_cb, &nv), 0);
	qsort(nv.text, nv.n, sizeof(*nv.text), cmp_str);
	f = open_memstream(&buf, &len);
	for (size_t i = 0; i < nv.n;) {
		uint64_t w, sum = 0;
		size_t j = i;

		for (; j < nv.n && !strcmp(nv.text[i], nv.text[j]); j++) {
			memcpy(&w, nv.text[j] + strlen(nv.text[j]) + 1, sizeof(w));
			sum += w;
		}
		fprintf(f, "%s %" PRIu64 "\n", nv.text[i], sum);
		i = j;
	}
	fclose(f);

	out = folded(p);
	assert_string_equal(out, buf);
	for (size_t i = 0; i < nv.n; i++)
		free(nv.text[i]);
	free(nv.text);
	free(buf);
	free(out);
	profile__free(p);
}

/* 100k distinct stacks under a deep shared root, as a long run gives:
 * every line there, sorted, weights kept. */
static void test_100k_stacks(void **state)
{
	enum { ROOT = 10, LEVELS = 5, STACKS = 100000 };
	struct profile *p = profile__new();
	uint32_t stack[ROOT + LEVELS], choice[LEVELS][10];
	char name[32], *out, *line, *prev = NULL, *save = NULL;
	uint64_t sum = 0;
	size_t lines = 0;

	for (int i = 0; i < ROOT; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		stack[i] = intern(p, name, "/a.py", 100 + i);
	}
	for (int l = 0; l < LEVELS; l++)
		for (int c = 0; c < 10; c++) {
			snprintf(name, sizeof(name), "h%d_%d", l, c);
			choice[l][c] = intern(p, name, "/v.py", c);
		}
	for (uint32_t i = 0; i < STACKS; i++) {
		uint32_t k = i * 7919 % STACKS; /* a permutation */

		for (int l = 0, v = k; l < LEVELS; l++, v /= 10)
			stack[ROOT + l] = choice[l][v % 10];
		add(p, stack, ROOT + LEVELS, 1 + k % 7);
	}
	assert_int_equal(profile__stack_count(p), STACKS);

	out = folded(p);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		assert_non_null(sp);
		*sp = '\0';
		sum += strtoull(sp + 1, NULL, 10);
		if (prev)
			assert_true(strcmp(prev, line) < 0);
		prev = line;
		lines++;
	}
	assert_int_equal(lines, STACKS);
	assert_int_equal(sum, profile__total(p));
	free(out);
	profile__free(p);
}

/* --subprocesses/--all: a process root above the thread root; processes
 * that share a pid stay apart, stacks differing only in thread merge
 * without --threads. */
static void test_process_roots(void **state)
{
	struct profile *p = profile__new();
	uint32_t work = intern(p, "work", "/app/app.py", 20);
	uint32_t a, b, ta1, ta2, tb;
	struct report r = {.profile = p, .show_processes = true};
	char *out;

	assert_int_equal(profile__add_process(p, 40, 40, "python3 app.py", &a), 0);
	assert_int_equal(profile__add_process(p, 40, 2, "python3 other.py", &b), 0);
	assert_int_equal(profile__intern_process_thread(p, a, 40, &ta1), 0);
	assert_int_equal(profile__intern_process_thread(p, a, 41, &ta2), 0);
	assert_int_equal(profile__intern_process_thread(p, b, 40, &tb), 0);
	add_stack(p, ta1, (uint32_t[]){work}, 1, 2);
	add_stack(p, ta2, (uint32_t[]){work}, 1, 3);
	add_stack(p, tb, (uint32_t[]){work}, 1, 4);

	out = report_output_text(folded_output__write, &r);
	assert_string_equal(out,
			    "process 40 (ns pid 2):\"python3 other.py\";work (/app/app.py:20) 4\n"
			    "process 40:\"python3 app.py\";work (/app/app.py:20) 5\n");
	free(out);
	r.show_threads = true;
	out = report_output_text(folded_output__write, &r);
	assert_string_equal(out,
			    "process 40 (ns pid 2):\"python3 other.py\";[thread 40];work "
			    "(/app/app.py:20) 4\n"
			    "process 40:\"python3 app.py\";[thread 40];work (/app/app.py:20) 2\n"
			    "process 40:\"python3 app.py\";[thread 41];work (/app/app.py:20) 3\n");
	free(out);
	/* not shown: as before */
	r.show_processes = false;
	r.show_threads = false;
	out = report_output_text(folded_output__write, &r);
	assert_string_equal(out, "work (/app/app.py:20) 9\n");
	free(out);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_process_roots),
		cmocka_unit_test(test_bytewise_order),
		cmocka_unit_test(test_same_profile_same_bytes),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_identical_text_merged),
		cmocka_unit_test(test_empty_and_errors),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_matches_naive_sort),
		cmocka_unit_test(test_100k_stacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
