// SPDX-License-Identifier: MIT
/* Unit tests for user/top_view.c: `pyebpf top`'s screen, as exact text. */
#include "fault_alloc.h"
#include "top_view.c"
#include "fault_alloc_end.h"

#include "profile_build.h"

/* 100 Hz: a sample is 10 ms */
#define PERIOD_NS 10000000ULL

static struct top_header header(void)
{
	return (struct top_header){
		.target = "pid 4242",
		.command = "python3 app.py",
		.python_version = "3.11.7",
		.rate_hz = 100,
		.period_ns = PERIOD_NS,
		.gil_state = true,
		.elapsed_s = 2.0,
		.interval_s = 1.0,
		.samples = 105,
		.interval_samples = 25,
		.errors = 1,
		.threads = 2,
		.interval = {.cpu_ns = 250000000, .gil_ns = 200000000, .gil_known_ns = 250000000},
		.all = {.cpu_ns = 1050000000, .gil_ns = 900000000, .gil_known_ns = 1050000000},
	};
}

/* Renders and compares with `want`; also checks the line count. */
static void check_screen(const struct top_view *v, const struct profile *p,
			 const struct top_header *h, const struct top_view_state *st,
			 const char *want)
{
	struct top_screen sc;
	size_t lines = 0;

	assert_int_equal(top_view__render(v, p, h, st, &sc), 0);
	assert_string_equal(sc.text, want);
	assert_int_equal(sc.len, strlen(want));
	for (const char *c = want; *c; c++)
		lines += *c == '\n';
	assert_int_equal(sc.n_lines, lines);
	top_screen__release(&sc);
}

/*
 * main (app.py:1) calls fib (app.py:10), which recurses through line 11;
 * main (app.py:5) calls helper (lib.py:3). Before the first tick: fib's
 * stack 50, helper's 30. In the last interval: helper 20, main alone 5.
 */
static struct profile *app_profile(struct top_view *v)
{
	struct profile *p = profile__new();
	uint32_t m1 = intern(p, "main", "app.py", 1), m5 = intern(p, "main", "app.py", 5);
	uint32_t f10 = intern(p, "fib", "app.py", 10), f11 = intern(p, "fib", "app.py", 11);
	uint32_t h3 = intern(p, "helper", "lib.py", 3), t;

	assert_int_equal(profile__intern_thread(p, 4242, 4242, &t), 0);
	add_stack(p, t, (uint32_t[]){m1, f10, f11, f10}, 4, 50);
	add_stack(p, t, (uint32_t[]){m5, h3}, 2, 30);
	assert_int_equal(top_view__tick(v, p), 0);
	add_stack(p, t, (uint32_t[]){m5, h3}, 2, 20);
	add_stack(p, t, (uint32_t[]){m1}, 1, 5);
	assert_int_equal(top_view__tick(v, p), 0);
	return p;
}

#define APP_HEADER                                                      \
	"pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n" \
	"Samples: 105 in 2.0 s, 25 in the last 1.0 s; errors: 1, lost: 0\n"

static void test_line_view(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = app_profile(v);
	struct top_header h = header();
	struct top_view_state st = {.width = 100, .height = 14};

	/* percentages of the last interval (25 samples), times since the
	 * start; fib recurses through line 10 but counts once in its total;
	 * the key help on the last of 14 lines */
	check_screen(
		v, p, &h, &st,
		APP_HEADER
		"GIL: 20.00%, Active: 25.00%, Threads: 2 (1 on CPU); over the last 1.0 s\n"
		"\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		" 80.00%  80.00%   0.500s    0.500s  helper (lib.py:3)\n"
		" 20.00%  20.00%   0.050s    0.550s  main (app.py:1)\n"
		"  0.00%  80.00%   0.000s    0.500s  main (app.py:5)\n"
		"  0.00%   0.00%   0.500s    0.500s  fib (app.py:10)\n"
		"  0.00%   0.00%   0.000s    0.500s  fib (app.py:11)\n"
		"\n"
		"\n"
		"\n"
		"1-4 < >: sort by %Own   L: by function   C: since start   R: reset   q: quit\n");

	/* cumulative: shares of all 105 */
	st.cumulative = true;
	check_screen(
		v, p, &h, &st,
		APP_HEADER
		"GIL: 45.00%, Active: 52.50%, Threads: 2 (1 on CPU); over 2.0 s since the start\n"
		"\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		" 47.62%  47.62%   0.500s    0.500s  fib (app.py:10)\n"
		" 47.62%  47.62%   0.500s    0.500s  helper (lib.py:3)\n"
		"  4.76%  52.38%   0.050s    0.550s  main (app.py:1)\n"
		"  0.00%  47.62%   0.000s    0.500s  fib (app.py:11)\n"
		"  0.00%  47.62%   0.000s    0.500s  main (app.py:5)\n"
		"\n"
		"\n"
		"\n"
		"1-4 < >: sort by %Own   L: by function   C: last interval   R: reset   q: quit\n");
	profile__free(p);
	top_view__free(v);
}

static void test_function_view(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = app_profile(v);
	struct top_header h = header();
	struct top_view_state st = {.width = 100, .height = 11, .by_function = true};

	/* main's two lines merge: in every stack, so 100% of the interval's
	 * total; fib's recursion counts once */
	check_screen(v, p, &h, &st,
		     APP_HEADER
		     "GIL: 20.00%, Active: 25.00%, Threads: 2 (1 on CPU); over the last 1.0 s\n"
		     "\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file)\n"
		     " 80.00%  80.00%   0.500s    0.500s  helper (lib.py)\n"
		     " 20.00% 100.00%   0.050s     1.05s  main (app.py)\n"
		     "  0.00%   0.00%   0.500s    0.500s  fib (app.py)\n"
		     "\n"
		     "\n"
		     "1-4 < >: sort by %Own   L: by line   C: since start   R: reset   q: quit\n");
	profile__free(p);
	top_view__free(v);
}

/*
 * Each column puts another function first: before the first tick c alone
 * (30), d calling b (15) and h (20); in the interval a alone (6), b calling
 * f (4) and g (4). So a leads the interval's own, b its total, c the
 * cumulative own and d the cumulative total.
 */
static void test_sort_columns(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", "m.py", 1), b = intern(p, "b", "m.py", 2);
	uint32_t c = intern(p, "c", "m.py", 3), d = intern(p, "d", "m.py", 4);
	uint32_t f = intern(p, "f", "m.py", 5), g = intern(p, "g", "m.py", 6);
	uint32_t hh = intern(p, "h", "m.py", 7);
	struct top_header h = header();
	struct top_view_state st = {.snapshot = true, .max_rows = 3};

	add(p, (uint32_t[]){c}, 1, 30);
	add(p, (uint32_t[]){d, b}, 2, 15);
	add(p, (uint32_t[]){d, hh}, 2, 20);
	assert_int_equal(top_view__tick(v, p), 0);
	add(p, (uint32_t[]){a}, 1, 6);
	add(p, (uint32_t[]){b, f}, 2, 4);
	add(p, (uint32_t[]){b, g}, 2, 4);
	assert_int_equal(top_view__tick(v, p), 0);

	/* a snapshot: no blank line, no key help; no thread is known */
	st.sort = TOP_SORT_OWN;
	check_screen(v, p, &h, &st,
		     APP_HEADER
		     "GIL: 20.00%, Active: 25.00%, Threads: 2 (0 on CPU); over the last 1.0 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		     " 42.86%  42.86%   0.060s    0.060s  a (m.py:1)\n"
		     " 28.57%  28.57%   0.040s    0.040s  f (m.py:5)\n"
		     " 28.57%  28.57%   0.040s    0.040s  g (m.py:6)\n");
	st.sort = TOP_SORT_TOTAL;
	check_screen(v, p, &h, &st,
		     APP_HEADER
		     "GIL: 20.00%, Active: 25.00%, Threads: 2 (0 on CPU); over the last 1.0 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		     "  0.00%  57.14%   0.150s    0.230s  b (m.py:2)\n"
		     " 42.86%  42.86%   0.060s    0.060s  a (m.py:1)\n"
		     " 28.57%  28.57%   0.040s    0.040s  f (m.py:5)\n");
	st.sort = TOP_SORT_OWN_TIME;
	check_screen(v, p, &h, &st,
		     APP_HEADER
		     "GIL: 20.00%, Active: 25.00%, Threads: 2 (0 on CPU); over the last 1.0 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		     "  0.00%   0.00%   0.300s    0.300s  c (m.py:3)\n"
		     "  0.00%   0.00%   0.200s    0.200s  h (m.py:7)\n"
		     "  0.00%  57.14%   0.150s    0.230s  b (m.py:2)\n");
	st.sort = TOP_SORT_TOTAL_TIME;
	check_screen(v, p, &h, &st,
		     APP_HEADER
		     "GIL: 20.00%, Active: 25.00%, Threads: 2 (0 on CPU); over the last 1.0 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		     "  0.00%   0.00%   0.000s    0.350s  d (m.py:4)\n"
		     "  0.00%   0.00%   0.300s    0.300s  c (m.py:3)\n"
		     "  0.00%  57.14%   0.150s    0.230s  b (m.py:2)\n");

	/* cumulative: the percentage columns sort as the time columns */
	st.cumulative = true;
	st.sort = TOP_SORT_OWN;
	st.max_rows = 1;
	check_screen(
		v, p, &h, &st,
		APP_HEADER
		"GIL: 45.00%, Active: 52.50%, Threads: 2 (0 on CPU); over 2.0 s since the start\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		" 37.97%  37.97%   0.300s    0.300s  c (m.py:3)\n");
	st.sort = TOP_SORT_TOTAL;
	check_screen(
		v, p, &h, &st,
		APP_HEADER
		"GIL: 45.00%, Active: 52.50%, Threads: 2 (0 on CPU); over 2.0 s since the start\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		"  0.00%  44.30%   0.000s    0.350s  d (m.py:4)\n");
	profile__free(p);
	top_view__free(v);
}

/* Equal weights fall back to name, file, line: the same bytes every time. */
static void test_ties(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	uint32_t z = intern(p, "z", "b.py", 1), y2 = intern(p, "y", "b.py", 2);
	uint32_t y1 = intern(p, "y", "b.py", 1), ya = intern(p, "y", "a.py", 9);
	uint32_t trunc = intern(p, "[truncated]", NULL, 0);
	struct top_header h = header();
	struct top_view_state st = {.snapshot = true};

	h.command = NULL;
	h.python_version = NULL;
	h.target = "2 processes";
	h.threads = 0;
	add(p, &z, 1, 2);
	add(p, &y2, 1, 2);
	add(p, &y1, 1, 2);
	add(p, &ya, 1, 2);
	add(p, &trunc, 1, 2);
	assert_int_equal(top_view__tick(v, p), 0);
	check_screen(v, p, &h, &st,
		     "pyebpf top: 2 processes, 100 Hz\n"
		     "Samples: 105 in 2.0 s, 25 in the last 1.0 s; errors: 1, lost: 0\n"
		     "GIL: 20.00%, Active: 25.00%, Threads on CPU: 0; over the last 1.0 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		     " 20.00%  20.00%   0.020s    0.020s  [truncated]\n"
		     " 20.00%  20.00%   0.020s    0.020s  y (a.py:9)\n"
		     " 20.00%  20.00%   0.020s    0.020s  y (b.py:1)\n"
		     " 20.00%  20.00%   0.020s    0.020s  y (b.py:2)\n"
		     " 20.00%  20.00%   0.020s    0.020s  z (b.py:1)\n");
	profile__free(p);
	top_view__free(v);
}

/* Lines are cut to the width, by characters, not bytes; control
 * characters are '?'; narrow and short terminals keep the key help. */
static void test_truncation(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	uint32_t u = intern(p, "caf\xc3\xa9_\xe2\x82\xac", "x.py", 1);
	uint32_t bad = intern(p, "bad\tname\n", "x\x1b.py", 2);
	struct top_header h = header();
	struct top_view_state st = {.width = 44, .height = 9};

	add(p, (uint32_t[]){u}, 1, 3);
	add(p, (uint32_t[]){bad}, 1, 1);
	assert_int_equal(top_view__tick(v, p), 0);
	h.status = "pid 4242 exited";
	/* 44 columns: "café_€ (x.py:1)" is 15 characters in 19 bytes, so the
	 * line is cut 4 bytes later than its 44th byte would be */
	check_screen(v, p, &h, &st,
		     "pyebpf top: pid 4242, Python 3.11.7, 100 Hz:\n"
		     "Samples: 105 in 2.0 s, 25 in the last 1.0 s;\n"
		     "GIL: 20.00%, Active: 25.00%, Threads: 2 (0 o\n"
		     "pid 4242 exited\n"
		     "\n"
		     "   %Own  %Total  OwnTime TotalTime  Function\n"
		     " 75.00%  75.00%   0.030s    0.030s  caf\xc3\xa9_\xe2\x82\xac (\n"
		     " 25.00%  25.00%   0.010s    0.010s  bad?name\n"
		     "1-4 < >: sort by %Own   L: by function   C: \n");

	/* 3 lines: no room for the table; the header's first lines and the
	 * key help */
	st.width = 20;
	st.height = 3;
	check_screen(v, p, &h, &st,
		     "pyebpf top: pid 4242\n"
		     "Samples: 105 in 2.0 \n"
		     "1-4 < >: sort by %Ow\n");

	/* one line: the key help alone */
	st.height = 1;
	check_screen(v, p, &h, &st, "1-4 < >: sort by %Ow\n");

	/* fewer rows fit than there are: the first ones */
	st.width = 0;
	st.height = 7;
	h.status = NULL;
	check_screen(
		v, p, &h, &st,
		APP_HEADER
		"GIL: 20.00%, Active: 25.00%, Threads: 2 (0 on CPU); over the last 1.0 s\n"
		"\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		" 75.00%  75.00%   0.030s    0.030s  caf\xc3\xa9_\xe2\x82\xac (x.py:1)\n"
		"1-4 < >: sort by %Own   L: by function   C: since start   R: reset   q: quit\n");
	profile__free(p);
	top_view__free(v);
}

static void test_empty(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	struct top_header h = header();
	struct top_view_state st = {.snapshot = true};

	h.samples = h.interval_samples = h.errors = 0;
	h.elapsed_s = h.interval_s = 0;
	h.all = h.interval = (struct time_split){0};
	/* before the first tick, and after it */
	for (int i = 0; i < 2; i++) {
		check_screen(v, p, &h, &st,
			     "pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n"
			     "Samples: 0 in 0.0 s, 0 in the last 0.0 s; errors: 0, lost: 0\n"
			     "GIL: -, Active: -, Threads: 2 (0 on CPU); over the last 0.0 s\n"
			     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
			     "  (no samples)\n");
		assert_int_equal(top_view__tick(v, p), 0);
	}
	/* --idle: no time yet */
	h.weights_ns = h.wall = true;
	check_screen(v, p, &h, &st,
		     "pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n"
		     "Records: 0 in 0.0 s, 0 in the last 0.0 s; errors: 0, lost: 0\n"
		     "GIL: -, Active: -, Threads: 2 (0 on CPU); over the last 0.0 s\n"
		     "Wall time 0.00 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		     "  (no samples)\n");
	profile__free(p);
	top_view__free(v);
}

/* After a reset nothing is shown until the next tick, which shows only
 * what came after the reset, in both scopes. */
static void test_reset(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	uint32_t a = intern(p, "a", "m.py", 1), b = intern(p, "b", "m.py", 2);
	struct top_header h = header();
	struct top_view_state st = {.snapshot = true, .cumulative = true};

	add(p, (uint32_t[]){a}, 1, 70);
	assert_int_equal(top_view__tick(v, p), 0);
	add(p, (uint32_t[]){a}, 1, 5);
	assert_int_equal(top_view__reset(v, p), 0);
	h.was_reset = true;
	check_screen(
		v, p, &h, &st,
		"pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n"
		"Samples: 105 in 2.0 s since the reset, 25 in the last 1.0 s; errors: 1, "
		"lost: 0\n"
		"GIL: 45.00%, Active: 52.50%, Threads: 2 (0 on CPU); over 2.0 s since the reset\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		"  (no samples)\n");
	add(p, (uint32_t[]){a}, 1, 1);
	add(p, (uint32_t[]){b}, 1, 3);
	assert_int_equal(top_view__tick(v, p), 0);
	check_screen(
		v, p, &h, &st,
		"pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n"
		"Samples: 105 in 2.0 s since the reset, 25 in the last 1.0 s; errors: 1, "
		"lost: 0\n"
		"GIL: 45.00%, Active: 52.50%, Threads: 2 (0 on CPU); over 2.0 s since the reset\n"
		"   %Own  %Total  OwnTime TotalTime  Function (file:line)\n"
		" 75.00%  75.00%   0.030s    0.030s  b (m.py:2)\n"
		" 25.00%  25.00%   0.010s    0.010s  a (m.py:1)\n");
	profile__free(p);
	top_view__free(v);
}

/*
 * --idle: weights are nanoseconds; off-CPU reason and kernel frames are not
 * rows, their time is the Python frame's own; the wall time split; a
 * thread only off CPU is not on CPU; an unknown GIL is "?".
 */
static void test_wall_time(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	uint32_t m = intern(p, "main", "w.py", 1), r = intern(p, "read", "w.py", 9);
	uint32_t io = frame(p, PROFILE_FRAME_OFF_CPU, "[off-cpu:io] read", NULL, 0);
	uint32_t k = frame(p, PROFILE_FRAME_KERNEL, "vfs_read_[k]", NULL, 0);
	uint32_t t1, t2;
	struct top_header h = header();
	struct top_view_state st = {.snapshot = true, .by_function = true};

	assert_int_equal(profile__intern_thread(p, 1, 1, &t1), 0);
	assert_int_equal(profile__intern_thread(p, 1, 2, &t2), 0);
	assert_int_equal(top_view__tick(v, p), 0);
	add_stack(p, t1, (uint32_t[]){m}, 1, 250000000);
	add_stack(p, t2, (uint32_t[]){m, r, io, k}, 4, 750000000);
	assert_int_equal(top_view__tick(v, p), 0);
	h.weights_ns = true;
	h.wall = true;
	h.interval = (struct time_split){.cpu_ns = 250000000};
	h.interval.off_ns[PYEBPF_OFF_IO] = 750000000;
	check_screen(v, p, &h, &st,
		     "pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n"
		     "Records: 105 in 2.0 s, 25 in the last 1.0 s; errors: 1, lost: 0\n"
		     "GIL: ?, Active: 25.00%, Threads: 2 (1 on CPU); over the last 1.0 s\n"
		     "Wall time 1.00 s: on CPU 25.0%, I/O or sleep 75.0%\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file)\n"
		     " 75.00%  75.00%   0.750s    0.750s  read (w.py)\n"
		     " 25.00% 100.00%   0.250s     1.00s  main (w.py)\n");
	h.gil_state = false;
	h.wall = false;
	st.max_rows = 1;
	check_screen(v, p, &h, &st,
		     "pyebpf top: pid 4242, Python 3.11.7, 100 Hz: python3 app.py\n"
		     "Records: 105 in 2.0 s, 25 in the last 1.0 s; errors: 1, lost: 0\n"
		     "GIL: -, Active: 25.00%, Threads: 2 (1 on CPU); over the last 1.0 s\n"
		     "   %Own  %Total  OwnTime TotalTime  Function (file)\n"
		     " 75.00%  75.00%   0.750s    0.750s  read (w.py)\n");
	profile__free(p);
	top_view__free(v);
}

/* Time columns: fewer decimals as the seconds grow. */
static void test_time_format(void **state)
{
	static const struct {
		double s;
		const char *want;
	} cases[] = {{0, "0.000s"},   {0.0504, "0.050s"}, {1, "1.00s"},	   {99.994, "99.99s"},
		     {100, "100.0s"}, {999.94, "999.9s"}, {1000, "1000s"}, {123456.4, "123456s"}};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_time(buf, sizeof(buf), cases[i].s);
		assert_string_equal(buf, cases[i].want);
	}
}

/* The column spans name the titles in the column header line. */
static void test_columns(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	struct top_header h = header();
	struct top_view_state st = {.snapshot = true};
	struct top_screen sc;
	const char *line;
	unsigned int start, len;

	assert_int_equal(top_view__render(v, p, &h, &st, &sc), 0);
	assert_int_equal(sc.table_header, 3);
	line = sc.text;
	for (int i = 0; i < sc.table_header; i++)
		line = strchr(line, '\n') + 1;
	for (int c = 0; c < TOP_SORT_COLUMNS; c++) {
		top_view_column(c, &start, &len);
		assert_int_equal(len, strlen(top_sort_name(c)));
		assert_memory_equal(line + start, top_sort_name(c), len);
	}
	top_view_column(TOP_SORT_COLUMNS, &start, &len);
	assert_int_equal(len, 0);
	assert_string_equal(top_sort_name(TOP_SORT_COLUMNS), "?");
	top_screen__release(&sc);
	assert_int_equal(sc.table_header, -1);
	top_screen__release(NULL);

	/* too short for the table: no column header */
	st.height = 2;
	assert_int_equal(top_view__render(v, p, &h, &st, &sc), 0);
	assert_int_equal(sc.table_header, -1);
	assert_int_equal(sc.n_lines, 2);
	top_screen__release(&sc);
	profile__free(p);
	top_view__free(v);
}

static void test_keys(void **state)
{
	struct top_view_state st = {0};

	assert_int_equal(top_view_keys(&st, "3", 1), TOP_KEY_REDRAW);
	assert_int_equal(st.sort, TOP_SORT_OWN_TIME);
	assert_int_equal(top_view_keys(&st, "3", 1), 0); /* no change */
	assert_int_equal(top_view_keys(&st, ">>>", 3), TOP_KEY_REDRAW);
	assert_int_equal(st.sort, TOP_SORT_TOTAL_TIME); /* not past the end */
	assert_int_equal(top_view_keys(&st, "\x1b[D\x1bOD", 6), TOP_KEY_REDRAW); /* arrows */
	assert_int_equal(st.sort, TOP_SORT_TOTAL);
	assert_int_equal(top_view_keys(&st, "\x1b[C", 3), TOP_KEY_REDRAW);
	assert_int_equal(st.sort, TOP_SORT_OWN_TIME);
	assert_int_equal(top_view_keys(&st, ",<<,", 4), TOP_KEY_REDRAW);
	assert_int_equal(st.sort, TOP_SORT_OWN);
	/* other sequences (up arrow, F5, a lone ESC) and keys do nothing */
	assert_int_equal(top_view_keys(&st, "\x1b[A\x1b[15~x\x1b", 10), 0);
	assert_int_equal(st.sort, TOP_SORT_OWN);

	assert_int_equal(top_view_keys(&st, "L", 1), TOP_KEY_REDRAW);
	assert_true(st.by_function);
	assert_int_equal(top_view_keys(&st, "lc", 2), TOP_KEY_REDRAW);
	assert_false(st.by_function);
	assert_true(st.cumulative);
	assert_int_equal(top_view_keys(&st, "C2r", 3), TOP_KEY_REDRAW | TOP_KEY_RESET);
	assert_false(st.cumulative);
	assert_int_equal(st.sort, TOP_SORT_TOTAL);

	/* quit ends the batch */
	assert_int_equal(top_view_keys(&st, "1q4", 3), TOP_KEY_REDRAW | TOP_KEY_QUIT);
	assert_int_equal(st.sort, TOP_SORT_OWN);
	assert_int_equal(top_view_keys(&st, "Q", 1), TOP_KEY_QUIT);
	assert_int_equal(top_view_keys(&st, "\x03", 1), TOP_KEY_QUIT);
	assert_int_equal(top_view_keys(&st, "", 0), 0);
}

static void test_invalid(void **state)
{
	struct top_view *v = top_view__new();
	struct profile *p = profile__new();
	struct top_header h = header();
	struct top_view_state st = {.sort = TOP_SORT_COLUMNS};
	struct top_screen sc;

	assert_int_equal(top_view__tick(NULL, p), -EINVAL);
	assert_int_equal(top_view__tick(v, NULL), -EINVAL);
	assert_int_equal(top_view__reset(NULL, p), -EINVAL);
	assert_int_equal(top_view__render(v, p, &h, &st, &sc), -EINVAL);
	assert_null(sc.text);
	st.sort = TOP_SORT_OWN;
	assert_int_equal(top_view__render(NULL, p, &h, &st, &sc), -EINVAL);
	assert_int_equal(top_view__render(v, p, NULL, &st, &sc), -EINVAL);
	assert_int_equal(top_view__render(v, p, &h, &st, NULL), -EINVAL);
	top_view__free(NULL);
	profile__free(p);
	top_view__free(v);
}

/* Out of memory anywhere: -ENOMEM, nothing leaked, the view unchanged. */
struct oom_ctx {
	struct top_view *v;
	struct profile *p;
};

static int oom_tick_reset_render(void *arg)
{
	struct oom_ctx *c = arg;
	struct top_header h = header();
	struct top_view_state st = {.width = 60, .height = 20, .by_function = true};
	struct top_screen sc;
	int err;

	if ((err = top_view__tick(c->v, c->p)) ||
	    (err = top_view__render(c->v, c->p, &h, &st, &sc)))
		return err;
	top_screen__release(&sc);
	return top_view__reset(c->v, c->p);
}

static void test_out_of_memory(void **state)
{
	struct oom_ctx c;

	c.v = top_view__new();
	c.p = app_profile(c.v);
	assert_true(fault_each_allocation(oom_tick_reset_render, &c) > 5);
	profile__free(c.p);
	top_view__free(c.v);

	/* top_view__new itself */
	fault_countdown = 0;
	assert_null(top_view__new());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_view),     cmocka_unit_test(test_function_view),
		cmocka_unit_test(test_sort_columns),  cmocka_unit_test(test_ties),
		cmocka_unit_test(test_truncation),    cmocka_unit_test(test_empty),
		cmocka_unit_test(test_reset),	      cmocka_unit_test(test_wall_time),
		cmocka_unit_test(test_time_format),   cmocka_unit_test(test_columns),
		cmocka_unit_test(test_keys),	      cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
