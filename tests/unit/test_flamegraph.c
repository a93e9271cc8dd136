// SPDX-License-Identifier: MIT
/*
 * Unit tests for the flame graph library (flamegraph/): the tree (merging,
 * order, on/off-CPU weight), the SVG (minwidth, inverted, escaping, text
 * that fits, hover details, determinism), the kind classifier, folded input,
 * errors and out-of-memory paths, and a golden file drawn from a folded
 * fixture (tests/golden/flamegraph_input.folded).
 */
#include "fault_alloc.h"
#include "tree.c"
#include "fault_alloc_end.h"

#include <math.h>

#include "fg_palette.h"
#include "golden.h"
#include "writer_output.h"

#define FOLDED_FIXTURE GOLDEN_DIR "flamegraph_input.folded"

/* ---- helpers ---- */

/* Adds the stack "a;b;c" (all frames of `kind`, or guessed) with weight w. */
static void add_kind(struct flamegraph *fg, const char *stack, uint64_t w,
		     enum flamegraph_kind kind)
{
	struct flamegraph_frame frames[32];
	char buf[1024], *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", stack);
	for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		assert_true(n < 32);
		frames[n++] = (struct flamegraph_frame){t, kind};
	}
	assert_int_equal(flamegraph__add(fg, frames, n, w), 0);
}

static void add(struct flamegraph *fg, const char *stack, uint64_t w)
{
	add_kind(fg, stack, w, FLAMEGRAPH_GUESS);
}

/* A graph and its options: the ctx of svg_write(). */
struct svg_job {
	const struct flamegraph *fg;
	const struct flamegraph_options *o;
};

/* A writer_fn: flamegraph__write_svg() of a struct svg_job. */
static int svg_write(const void *ctx, FILE *out)
{
	const struct svg_job *job = ctx;

	return flamegraph__write_svg(job->fg, job->o, out);
}

/* flamegraph__write_svg() into a string; free() it. */
static char *svg(const struct flamegraph *fg, const struct flamegraph_options *o)
{
	struct svg_job job = {fg, o};

	return writer_output_text(svg_write, &job);
}

static char *svg_default(const struct flamegraph *fg)
{
	struct flamegraph_options o;

	flamegraph_options_init(&o);
	return svg(fg, &o);
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The nodes as flamegraph__foreach() gives them, one line each:
 * "DEPTH NAME KIND START TOTAL OFF\n". */
struct dump {
	char text[4096];
};

static int dump_cb(const struct flamegraph_node *n, void *ctx)
{
	struct dump *d = ctx;
	size_t len = strlen(d->text);

	snprintf(d->text + len, sizeof(d->text) - len,
		 "%u %s %s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", n->depth, n->name,
		 flamegraph_kind_name(n->kind), n->start, n->total, n->off_cpu);
	return 0;
}

static void expect_tree(const struct flamegraph *fg, const char *want)
{
	struct dump d = {{0}};

	assert_int_equal(flamegraph__foreach(fg, dump_cb, &d), 0);
	assert_string_equal(d.text, want);
}

/* The <g> element of the frame named `name` (its title starts the name). */
static const char *frame_of(const char *doc, const char *escaped_name)
{
	char needle[512];
	const char *t;

	snprintf(needle, sizeof(needle), "<title>%s (", escaped_name);
	t = strstr(doc, needle);
	if (!t)
		return NULL;
	while (t > doc && strncmp(t, "<g class=\"f\"", 12))
		t--;
	return t;
}

/* A numeric attribute of the first `elem` ("<rect", "<text") after p. */
static double attr(const char *p, const char *elem, const char *name)
{
	char needle[64];
	const char *e = strstr(p, elem), *a;

	assert_non_null(e);
	snprintf(needle, sizeof(needle), " %s=\"", name);
	a = strstr(e, needle);
	assert_non_null(a);
	return strtod(a + strlen(needle), NULL);
}

/* The text a frame shows. */
static void frame_text(const char *g, char *buf, size_t size)
{
	const char *t = strstr(g, "<text");
	const char *s = strchr(t, '>') + 1, *e = strstr(s, "</text>");

	snprintf(buf, size, "%.*s", (int)(e - s), s);
}

/* ---- the tree ---- */

static void test_tree_merges_and_orders(void **state)
{
	struct flamegraph *fg = flamegraph__new();

	assert_non_null(fg);
	add(fg, "main;zeta;leaf", 3);
	add(fg, "main;alpha", 2);
	add(fg, "main;zeta;leaf", 4); /* merged with the first */
	add(fg, "main;Beta", 1);      /* bytewise: 'B' < 'a' */
	add(fg, "main", 5);	      /* self weight of main */
	add(fg, "other", 1);
	assert_int_equal(flamegraph__total(fg), 16);
	expect_tree(fg, "0 all root 0 16 0\n"
			"1 main native 0 15 0\n"
			"2 Beta native 0 1 0\n"
			"2 alpha native 1 2 0\n"
			"2 zeta native 3 7 0\n"
			"3 leaf native 3 7 0\n"
			"1 other native 15 1 0\n");
	flamegraph__free(fg);
}

static void test_same_name_other_kind_is_another_frame(void **state)
{
	struct flamegraph *fg = flamegraph__new();

	add_kind(fg, "main;read", 2, FLAMEGRAPH_PYTHON);
	add(fg, "main (/app/m.py:1)", 1);
	add_kind(fg, "main;read", 3, FLAMEGRAPH_PYTHON);
	{
		struct flamegraph_frame f[] = {{"main", FLAMEGRAPH_PYTHON},
					       {"read", FLAMEGRAPH_KERNEL}};

		assert_int_equal(flamegraph__add(fg, f, 2, 4), 0);
	}
	expect_tree(fg, "0 all root 0 10 0\n"
			"1 main python 0 9 0\n"
			"2 read python 0 5 0\n"
			"2 read kernel 5 4 0\n"
			"1 main (/app/m.py:1) python 9 1 0\n");
	flamegraph__free(fg);
}

static void test_off_cpu_weight(void **state)
{
	struct flamegraph *fg = flamegraph__new();

	add(fg, "main (/a.py:1);work (/a.py:2)", 6);
	add(fg, "main (/a.py:1);wait (/a.py:3);[off-cpu:io] read;ksys_read_[k]", 10);
	add(fg, "main (/a.py:1);work (/a.py:2);[off-cpu:gil]", 2);
	expect_tree(fg, "0 all root 0 18 12\n"
			"1 main (/a.py:1) python 0 18 12\n"
			"2 wait (/a.py:3) python 0 10 10\n"
			"3 [off-cpu:io] read off-cpu 0 10 10\n"
			"4 ksys_read_[k] kernel 0 10 10\n"
			"2 work (/a.py:2) python 10 8 2\n"
			"3 [off-cpu:gil] off-cpu 10 2 2\n");
	flamegraph__free(fg);
}

static void test_weights_and_edges(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_frame f = {"x", FLAMEGRAPH_NATIVE};

	assert_int_equal(flamegraph__add(fg, &f, 1, 0), 0);   /* nothing */
	assert_int_equal(flamegraph__add(fg, NULL, 0, 3), 0); /* the root alone */
	assert_int_equal(
		flamegraph__add(fg, &(struct flamegraph_frame){NULL, FLAMEGRAPH_NATIVE}, 1, 1),
		0); /* NULL is "" */
	expect_tree(fg, "0 all root 0 4 0\n"
			"1  native 0 1 0\n");
	assert_int_equal(flamegraph__add(fg, &f, 1, UINT64_MAX - 4), 0);
	assert_int_equal(flamegraph__add(fg, &f, 1, 1), -EOVERFLOW);
	assert_int_equal(flamegraph__total(fg), UINT64_MAX);
	assert_int_equal(flamegraph__add(fg, &(struct flamegraph_frame){"y", 99}, 1, 1), -EINVAL);
	assert_int_equal(flamegraph__add(NULL, &f, 1, 1), -EINVAL);
	assert_int_equal(flamegraph__add(fg, NULL, 1, 1), -EINVAL);
	assert_int_equal(flamegraph__total(NULL), 0);
	assert_int_equal(flamegraph__foreach(NULL, dump_cb, NULL), -EINVAL);
	assert_int_equal(flamegraph__foreach(fg, NULL, NULL), -EINVAL);
	flamegraph__free(fg);
	flamegraph__free(NULL);
}

static int stop_cb(const struct flamegraph_node *n, void *ctx)
{
	int *seen = ctx;

	return ++*seen == 2 ? 42 : 0;
}

static void test_foreach_stops(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	int seen = 0;

	add(fg, "a;b;c", 1);
	assert_int_equal(flamegraph__foreach(fg, stop_cb, &seen), 42);
	assert_int_equal(seen, 2);
	flamegraph__free(fg);
}

/* The prefix cache must not confuse a guessed kind with a given one. */
static void test_prefix_cache_kinds(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_frame given[] = {{"f (/a.py:1)", FLAMEGRAPH_NATIVE},
					   {"g", FLAMEGRAPH_NATIVE}};
	struct flamegraph_frame guess[] = {{"f (/a.py:1)", FLAMEGRAPH_GUESS},
					   {"g", FLAMEGRAPH_GUESS}};

	assert_int_equal(flamegraph__add(fg, given, 2, 1), 0);
	assert_int_equal(flamegraph__add(fg, guess, 2, 2), 0);
	assert_int_equal(flamegraph__add(fg, guess, 2, 4), 0);
	assert_int_equal(flamegraph__add(fg, given, 2, 8), 0);
	expect_tree(fg, "0 all root 0 15 0\n"
			"1 f (/a.py:1) python 0 6 0\n"
			"2 g native 0 6 0\n"
			"1 f (/a.py:1) native 6 9 0\n"
			"2 g native 6 9 0\n");
	flamegraph__free(fg);
}

/* Many children: the sibling list, then the child table, find them all. */
static void test_many_children(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	char stack[64];
	uint64_t sum = 0;
	size_t nodes = 0;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3000; i++) {
			snprintf(stack, sizeof(stack), "root;c%04d;leaf%d", (i * 7919) % 3000,
				 i % 3);
			add(fg, stack, 1);
		}
	}
	assert_int_equal(flamegraph__total(fg), 9000);
	assert_int_equal(fg->n_nodes, 1 + 1 + 3000 + 3000);
	for (size_t i = 0; i < fg->n_nodes; i++) {
		if (fg->nodes[i].depth == 3) {
			sum += fg->nodes[i].total;
			nodes++;
		}
	}
	assert_int_equal(nodes, 3000);
	assert_int_equal(sum, 9000);
	flamegraph__free(fg);
}

/* ---- the SVG ---- */

static const char *const order_stacks[] = {
	"main (/app/m.py:1);work (/app/m.py:5);inner (/app/m.py:9)",
	"main (/app/m.py:1);work (/app/m.py:5)",
	"main (/app/m.py:1);[off-cpu:lock] futex;futex_wait_[k]",
	"main (/app/m.py:1);loads (/usr/lib/python3.11/json/__init__.py:346)",
	"main (/app/m.py:1);get (/v/lib/python3.11/site-packages/r/api.py:73)",
	"[truncated];inner (/app/m.py:9)",
	"PyObject_Call;work (/app/m.py:5)",
};

static struct flamegraph *order_graph(const size_t *perm)
{
	struct flamegraph *fg = flamegraph__new();

	for (size_t i = 0; i < 7; i++)
		add(fg, order_stacks[perm[i]], 10 + perm[i]);
	return fg;
}

static void test_same_stacks_same_bytes(void **state)
{
	static const size_t perms[][7] = {
		{0, 1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1, 0}, {3, 0, 6, 1, 5, 2, 4}};
	char *first = NULL;

	for (size_t p = 0; p < 3; p++) {
		struct flamegraph *fg = order_graph(perms[p]);
		char *out = svg_default(fg);

		if (!first)
			first = out;
		else {
			assert_string_equal(out, first);
			free(out);
		}
		flamegraph__free(fg);
	}
	/* no randomness anywhere: every frame has its colour from its name */
	expect_contains(first, "<title>all (");
	free(first);
}

static void test_document_structure(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	char *out;

	add(fg, "main (/app/m.py:1);work (/app/m.py:5)", 3);
	add(fg, "main (/app/m.py:1)", 1);
	flamegraph_options_init(&o);
	o.title = "T";
	o.subtitle = "S";
	out = svg(fg, &o);
	assert_true(!strncmp(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"", 36));
	expect_contains(out, "<svg version=\"1.1\" width=\"1200\" ");
	expect_contains(out, "<text id=\"title\" x=\"600.0\" y=\"24\">T</text>");
	expect_contains(out, "<text id=\"subtitle\" x=\"600.0\" y=\"44\">S</text>");
	expect_contains(out, "<text id=\"unzoom\" class=\"hide\"");
	expect_contains(out, ">Reset Zoom</text>");
	expect_contains(out, ">Search</text>");
	expect_contains(out, "<text id=\"details\"");
	expect_contains(out, "<text id=\"matched\"");
	expect_contains(out,
			"<g id=\"frames\" data-total=\"4\" data-width=\"1200\" data-xpad=\"10\" "
			"data-top=\"60\" data-fh=\"16\" data-levels=\"3\" data-inverted=\"0\">");
	expect_contains(out,
			"<g class=\"f\" data-x=\"0\" data-w=\"4\"><title>all (4 samples, "
			"100.00%)</title><rect x=\"10.0\" y=\"92\" width=\"1180.0\" height=\"15\"");
	expect_contains(out,
			"<g class=\"f\" data-x=\"0\" data-w=\"3\"><title>work (/app/m.py:5) (3 "
			"samples, 75.00%)</title><rect x=\"10.0\" y=\"60\" width=\"885.0\"");
	expect_contains(out, "<script type=\"text/ecmascript\"><![CDATA[");
	expect_contains(out, "]]></script>\n</svg>\n");
	expect_contains(out, "<g id=\"legend\">");
	/* all on-CPU: no rule about cool colours */
	expect_not_contains(out, "mostly off-CPU</text>");
	assert_int_equal(count(out, "<g class=\"f\""), 3);
	free(out);
	flamegraph__free(fg);
}

static void test_minwidth(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	const char *g;
	char *out;

	/* 1180 px for 10000: one sample is 0.118 px */
	add(fg, "main;big", 9998);
	add(fg, "main;tiny;tinier", 1);
	add(fg, "main;small", 1);
	flamegraph_options_init(&o);
	out = svg(fg, &o); /* default 0.1 px: all drawn */
	assert_int_equal(count(out, "<g class=\"f\""), 6);
	free(out);

	o.minwidth = 0.2;
	out = svg(fg, &o);
	assert_int_equal(count(out, "<g class=\"f\""), 3);
	expect_not_contains(out, "<title>tiny");
	expect_not_contains(out, "<title>tinier");
	expect_not_contains(out, "<title>small");
	/* their weight still counts in main */
	g = frame_of(out, "main");
	assert_non_null(g);
	expect_contains(g, "data-w=\"10000\"");
	assert_true(fabs(attr(g, "<rect", "width") - 1180.0) < 0.01);
	/* and big is placed after nothing: its siblings were not drawn */
	g = frame_of(out, "big");
	expect_contains(g, "data-x=\"0\"");
	free(out);

	o.minwidth = 5000; /* wider than the graph: the root alone */
	out = svg(fg, &o);
	assert_int_equal(count(out, "<g class=\"f\""), 1);
	free(out);
	flamegraph__free(fg);
}

static void test_inverted(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	char *out;

	add(fg, "a;b;c", 1);
	flamegraph_options_init(&o);
	out = svg(fg, &o);
	expect_contains(out, ">Flame Graph</text>");
	assert_true(attr(frame_of(out, "all"), "<rect", "y") >
		    attr(frame_of(out, "c"), "<rect", "y"));
	free(out);

	o.inverted = true;
	out = svg(fg, &o);
	expect_contains(out, ">Icicle Graph</text>");
	expect_contains(out, "data-inverted=\"1\"");
	assert_true(attr(frame_of(out, "all"), "<rect", "y") == 40); /* the top row */
	assert_true(attr(frame_of(out, "all"), "<rect", "y") <
		    attr(frame_of(out, "c"), "<rect", "y"));
	free(out);
	flamegraph__free(fg);
}

static void test_escaping(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	char *out;

	add(fg, "<lambda> \"q\" & <x> 'y' (/app/odd \\ name.py:7)", 1);
	add(fg, "caf\xc3\xa9_\xe5\x90\x8d\xe5\x89\x8d_\xf0\x9f\x94\xa5", 1); /* kept */
	add(fg, "bad\xff\xc3(\xed\xa0\x80\xef\xbf\xbe|tab\there", 1);
	flamegraph_options_init(&o);
	o.title = "a <title> & \"more\"";
	o.subtitle = "\x01sub";
	o.countname = "<b>";
	out = svg(fg, &o);
	expect_contains(out, "<title>&lt;lambda&gt; &quot;q&quot; &amp; &lt;x&gt; 'y' (/app/odd \\ "
			     "name.py:7) (1 &lt;b&gt;, 33.33%)</title>");
	expect_contains(out, ">caf\xc3\xa9_\xe5\x90\x8d\xe5\x89\x8d_\xf0\x9f\x94\xa5 (1 &lt;b&gt;");
	/* each invalid byte one U+FFFD; a surrogate and U+FFFE are not XML */
	expect_contains(out,
			"<title>bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|tab?here (");
	expect_contains(out, ">a &lt;title&gt; &amp; &quot;more&quot;</text>");
	expect_contains(out, ">?sub</text>");
	expect_not_contains(out, "<x>");
	expect_not_contains(out, "\xff");
	free(out);
	flamegraph__free(fg);
}

static void test_text_fits(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	char text[256];
	char *out;

	/* 10 chars fit 6 + 10 * 7.08 = 76.8 px; the graph is 180 px wide */
	add(fg, "m;abcdefghijklmnopqrstuvwxyz", 36);
	add(fg,
	    "m;\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4"
	    "\xc3\xb6\xc3\xbc",
	    36);
	add(fg, "m;ab", 28);
	flamegraph_options_init(&o);
	o.width = 200;
	out = svg(fg, &o);
	/* 36/100 of 180 px = 64.8 px: (64.8 - 6) / 7.08 = 8 characters */
	frame_text(frame_of(out, "abcdefghijklmnopqrstuvwxyz"), text, sizeof(text));
	assert_string_equal(text, "abcdef..");
	/* cut between characters, not bytes */
	frame_text(frame_of(out, "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6"
				 "\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc"),
		   text, sizeof(text));
	assert_string_equal(text, "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\xc3\xbc..");
	/* 50.4 px: 6 characters, "ab" whole */
	frame_text(frame_of(out, "ab"), text, sizeof(text));
	assert_string_equal(text, "ab");
	free(out);

	/* too narrow for 3 characters: no text */
	o.width = 100;
	flamegraph__free(fg);
	fg = flamegraph__new();
	add(fg, "m;abcdef", 1);
	add(fg, "m;x", 3);
	out = svg(fg, &o);
	frame_text(frame_of(out, "abcdef"), text, sizeof(text));
	assert_string_equal(text, "");
	free(out);
	flamegraph__free(fg);
}

static void test_hover_details(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	char *out;

	add(fg, "m;s", 1230000000);
	add(fg, "m;ms", 45600000);
	add(fg, "m;us", 7000);
	add(fg, "m;ns", 512);
	add(fg, "m;[off-cpu:io] read", 400000000);
	flamegraph_options_init(&o);
	o.weights_ns = true;
	o.minwidth = 0;
	out = svg(fg, &o);
	expect_contains(out, "<title>s (1.23 s, 73.41%)</title>");
	expect_contains(out, "<title>ms (45.60 ms, 2.72%)</title>");
	expect_contains(out, "<title>us (7.00 \xc2\xb5s, 0.00%)</title>");
	expect_contains(out, "<title>ns (512 ns, 0.00%)</title>");
	/* mixed frames say how much is off-CPU */
	expect_contains(out, "<title>m (1.68 s, 100.00%, 23.87% off-CPU)</title>");
	expect_contains(out, "<title>[off-cpu:io] read (400.00 ms, 23.87%)</title>");
	expect_contains(out, "warm: mostly on-CPU, cool: mostly off-CPU</text>");
	free(out);

	o.weights_ns = false;
	o.countname = NULL;
	out = svg(fg, &o);
	expect_contains(out, "<title>s (1,230,000,000 samples, 73.41%)</title>");
	expect_contains(out, "<title>ns (512 samples, 0.00%)</title>");
	free(out);
	flamegraph__free(fg);

	fg = flamegraph__new();
	add(fg, "one", 1);
	out = svg(fg, &o);
	expect_contains(out, "<title>one (1 sample, 100.00%)</title>");
	free(out);
	flamegraph__free(fg);
}

/* The python scheme: a hue family per kind, warm or cool by where the
 * weight is; the name picks the colour within the family. */
static void test_colors(void **state)
{
	enum flamegraph_colors c = FLAMEGRAPH_COLORS_HOT;
	struct fg_rgb warm_py = fg_palette_frame(FLAMEGRAPH_COLORS_PYTHON, FLAMEGRAPH_PYTHON, false,
						 fg_name_hash32("f"));
	struct fg_rgb cool_py = fg_palette_frame(FLAMEGRAPH_COLORS_PYTHON, FLAMEGRAPH_PYTHON, true,
						 fg_name_hash32("f"));
	struct fg_rgb hot;

	assert_int_equal(flamegraph_colors_from_name("python", &c), 0);
	assert_int_equal(c, FLAMEGRAPH_COLORS_PYTHON);
	assert_int_equal(flamegraph_colors_from_name("mem", &c), 0);
	assert_int_equal(c, FLAMEGRAPH_COLORS_MEM);
	assert_int_equal(flamegraph_colors_from_name("nope", &c), -EINVAL);
	assert_int_equal(c, FLAMEGRAPH_COLORS_MEM);
	assert_string_equal(flamegraph_colors_name(FLAMEGRAPH_COLORS_ORANGE), "orange");
	assert_string_equal(flamegraph_colors_name(99), "?");
	/* warm: red dominates blue; cool: blue dominates red */
	assert_true(warm_py.r > warm_py.b);
	assert_true(cool_py.b > cool_py.r);
	for (int k = 0; k < FLAMEGRAPH_KINDS; k++) {
		struct fg_rgb w = fg_palette_swatch(k, false), co = fg_palette_swatch(k, true);

		if (k == FLAMEGRAPH_PYTHON || k == FLAMEGRAPH_STDLIB || k == FLAMEGRAPH_LIBRARY ||
		    k == FLAMEGRAPH_KERNEL)
			assert_true(w.r > w.b && co.b > co.r);
	}
	/* hot: red channel high, blue low, whatever the name */
	for (const char *n = "abcdefgh"; *n; n++) {
		hot = fg_palette_frame(FLAMEGRAPH_COLORS_HOT, FLAMEGRAPH_PYTHON, true,
				       fg_name_hash32(n));
		assert_true(hot.r >= 205 && hot.b <= 55);
	}
	/* FNV-1a: fixed for ever, so colours never change between versions */
	assert_int_equal(fg_name_hash32(""), 2166136261u);
	assert_int_equal(fg_name_hash32("a"), 0xe40c292cu);
}

static void test_other_schemes_no_legend(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	char *out;

	add(fg, "a;b", 1);
	flamegraph_options_init(&o);
	o.colors = FLAMEGRAPH_COLORS_IO;
	out = svg(fg, &o);
	expect_not_contains(out, "<g id=\"legend\">");
	free(out);
	flamegraph__free(fg);
}

static void test_empty_graph(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	char *out = svg_default(fg);

	expect_contains(out, ">No samples</text>");
	expect_contains(out, "<g id=\"frames\" data-total=\"0\"");
	expect_not_contains(out, "<g class=\"f\"");
	expect_contains(out, "</svg>\n");
	free(out);
	flamegraph__free(fg);
}

static void test_option_errors(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	FILE *f = fopen("/dev/null", "w");

	assert_non_null(f);
	flamegraph_options_init(&o);
	assert_int_equal(o.width, 1200);
	assert_true(o.minwidth == 0.1);
	assert_int_equal(flamegraph__write_svg(NULL, &o, f), -EINVAL);
	assert_int_equal(flamegraph__write_svg(fg, NULL, f), -EINVAL);
	assert_int_equal(flamegraph__write_svg(fg, &o, NULL), -EINVAL);
	o.width = 99;
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -EINVAL);
	o.width = 100001;
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -EINVAL);
	o.width = 1200;
	o.minwidth = -1;
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -EINVAL);
	o.minwidth = NAN;
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -EINVAL);
	o.minwidth = INFINITY;
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -EINVAL);
	o.minwidth = 0;
	o.colors = 42;
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -EINVAL);
	fclose(f);
	flamegraph__free(fg);
}

static void test_write_error(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	struct flamegraph_options o;
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	add(fg, "a;b", 1);
	flamegraph_options_init(&o);
	assert_int_equal(flamegraph__write_svg(fg, &o, f), -ENOSPC);
	fclose(f);
	flamegraph__free(fg);
}

/* ---- the classifier ---- */

static void test_kind_from_label(void **state)
{
	static const struct {
		const char *label;
		enum flamegraph_kind kind;
	} cases[] = {
		{"tcp_recvmsg_[k]", FLAMEGRAPH_KERNEL},
		{"[off-cpu:io] recvfrom", FLAMEGRAPH_OFF_CPU},
		{"[off-cpu:gil]", FLAMEGRAPH_OFF_CPU},
		{"[off-cpu] futex", FLAMEGRAPH_OFF_CPU},
		{"[thread 4243 \"worker-1\"]", FLAMEGRAPH_ROOT},
		{"[thread 4250]", FLAMEGRAPH_ROOT},
		{"[process 12]", FLAMEGRAPH_ROOT},
		{"process 12: python3", FLAMEGRAPH_ROOT},
		{"[truncated]", FLAMEGRAPH_SYNTHETIC},
		{"[no Python frames]", FLAMEGRAPH_SYNTHETIC},
		{"[unknown]", FLAMEGRAPH_SYNTHETIC},
		{"get (/venv/lib/python3.12/site-packages/requests/api.py:73)", FLAMEGRAPH_LIBRARY},
		{"f (/usr/lib/python3/dist-packages/apt/x.py:1)", FLAMEGRAPH_LIBRARY},
		{"loads (/usr/lib/python3.12/json/__init__.py:346)", FLAMEGRAPH_STDLIB},
		{"run (/root/.pyenv/versions/3.13.1/lib/python3.13t/threading.py:10)",
		 FLAMEGRAPH_STDLIB},
		{"_find_and_load (<frozen importlib._bootstrap>:1176)", FLAMEGRAPH_STDLIB},
		{"main (/srv/app/main.py:31)", FLAMEGRAPH_PYTHON},
		{"main (/srv/app/main.py)", FLAMEGRAPH_PYTHON},
		{"<module> (<string>:1)", FLAMEGRAPH_PYTHON},
		{"<lambda> \"q\" & <x> (/srv/app/odd \\ name.py:7)", FLAMEGRAPH_PYTHON},
		{"f (/home/u/lib/python-tools/x.py:3)", FLAMEGRAPH_PYTHON},
		{"f (/opt/lib/python3.x/y.py:3)", FLAMEGRAPH_PYTHON},
		{"PyEval_EvalFrameDefault (/usr/lib/libpython3.12.so.1.0)", FLAMEGRAPH_NATIVE},
		{"memcpy (/usr/lib/x86_64-linux-gnu/libc.so)", FLAMEGRAPH_NATIVE},
		{"PyObject_Call", FLAMEGRAPH_NATIVE},
		{"f ()", FLAMEGRAPH_NATIVE},
		{"(x)", FLAMEGRAPH_NATIVE},
		{"", FLAMEGRAPH_NATIVE},
		{NULL, FLAMEGRAPH_NATIVE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum flamegraph_kind got = flamegraph_kind_from_label(cases[i].label);

		if (got != cases[i].kind)
			fail_msg("'%s': %s, want %s", cases[i].label ? cases[i].label : "(null)",
				 flamegraph_kind_name(got), flamegraph_kind_name(cases[i].kind));
	}
	assert_string_equal(flamegraph_kind_name(FLAMEGRAPH_OFF_CPU), "off-cpu");
	assert_string_equal(flamegraph_kind_name(FLAMEGRAPH_GUESS), "?");
}

/* ---- folded input ---- */

static void test_folded_lines(void **state)
{
	struct flamegraph *fg = flamegraph__new();
	const char *line;

#define LINE(s) (line = (s), flamegraph__add_folded_line(fg, line, strlen(line)))
	assert_int_equal(LINE("a;b 3"), 0);
	assert_int_equal(LINE("a;b\t2\r"), 0);
	assert_int_equal(LINE("a;c 10 4"), 0); /* differential: the last count */
	assert_int_equal(LINE("a;;d 1"), 0);   /* an empty frame */
	assert_int_equal(LINE("x 0"), 0);      /* nothing added */
	assert_int_equal(flamegraph__add_folded_line(fg, "a;b 7 trailing", 5), 0); /* "a;b 7" */
	assert_int_equal(LINE("x 18446744073709551598"), 0);
	assert_int_equal(LINE("x 1"), -EOVERFLOW);
	assert_int_equal(LINE("a;b"), -EINVAL);
	assert_int_equal(LINE("a;b -3"), -EINVAL);
	assert_int_equal(LINE("a;b 3x"), -EINVAL);
	assert_int_equal(LINE("a;b 1.5"), -EINVAL);
	assert_int_equal(LINE("a;b3"), -EINVAL);
	assert_int_equal(LINE("42"), -EINVAL);
	assert_int_equal(LINE(" 42"), -EINVAL);
	assert_int_equal(LINE("a 18446744073709551616"), -EINVAL);
	assert_int_equal(LINE(""), -EINVAL);
	assert_int_equal(flamegraph__add_folded_line(NULL, "a 1", 3), -EINVAL);
	assert_int_equal(flamegraph__add_folded_line(fg, NULL, 3), -EINVAL);
	expect_tree(fg, "0 all root 0 18446744073709551615 0\n"
			"1 a native 0 17 0\n"
			"2  native 0 1 0\n"
			"3 d native 0 1 0\n"
			"2 b native 1 12 0\n"
			"2 c native 13 4 0\n"
			"1 x native 17 18446744073709551598 0\n");
	flamegraph__free(fg);

	/* as flamegraph.pl: a count alone before the count is the stack */
	fg = flamegraph__new();
	assert_int_equal(LINE("1 42"), 0);
	expect_tree(fg, "0 all root 0 42 0\n"
			"1 1 native 0 42 0\n");
	flamegraph__free(fg);
#undef LINE
}

static void test_folded_stream(void **state)
{
	static const char text[] = "a;b 1\n"
				   "\n"
				   "garbage\n"
				   "a;b 2\r\n"
				   "   \n"
				   "more garbage 1x\n"
				   "a 4";
	struct flamegraph_folded_stats st;
	struct flamegraph *fg = flamegraph__new();
	FILE *in = fmemopen((void *)text, sizeof(text) - 1, "r");

	assert_non_null(in);
	assert_int_equal(flamegraph__add_folded(fg, in, &st), 0);
	fclose(in);
	assert_int_equal(st.lines, 7);
	assert_int_equal(st.stacks, 3);
	assert_int_equal(st.invalid, 2);
	assert_int_equal(st.first_invalid, 3);
	assert_int_equal(flamegraph__total(fg), 7);
	assert_int_equal(flamegraph__add_folded(NULL, stdin, NULL), -EINVAL);
	assert_int_equal(flamegraph__add_folded(fg, NULL, NULL), -EINVAL);

	in = fmemopen((void *)"", 0, "r");
	assert_int_equal(flamegraph__add_folded(fg, in, NULL), 0);
	fclose(in);
	flamegraph__free(fg);
}

/* ---- goldens ---- */

static struct flamegraph *fixture_graph(void)
{
	struct flamegraph_folded_stats st;
	struct flamegraph *fg = flamegraph__new();
	FILE *in = fopen(FOLDED_FIXTURE, "r");

	assert_non_null(in);
	assert_int_equal(flamegraph__add_folded(fg, in, &st), 0);
	fclose(in);
	assert_int_equal(st.invalid, 0);
	assert_int_equal(st.stacks, 11);
	return fg;
}

static void test_golden_folded(void **state)
{
	struct flamegraph *fg = fixture_graph();
	struct flamegraph_options o;
	struct svg_job job = {fg, &o};

	flamegraph_options_init(&o);
	o.title = "pyebpf-flamegraph tests/golden/flamegraph_input.folded";
	o.subtitle = "11 stacks: every kind of frame, threads, off-CPU time, escaping";
	assert_int_equal(golden_check_writer("flamegraph_folded.svg", svg_write, &job), 0);
	flamegraph__free(fg);
}

static void test_golden_folded_icicle(void **state)
{
	struct flamegraph *fg = fixture_graph();
	struct flamegraph_options o;
	struct svg_job job = {fg, &o};

	flamegraph_options_init(&o);
	o.inverted = true;
	o.width = 600;
	o.minwidth = 10;
	o.colors = FLAMEGRAPH_COLORS_HOT;
	o.countname = "ms";
	assert_int_equal(golden_check_writer("flamegraph_folded_icicle.svg", svg_write, &job), 0);
	flamegraph__free(fg);
}

/* ---- out of memory ---- */

static void test_out_of_memory(void **state)
{
	int failures = 0;

	for (long n = 0;; n++) {
		struct flamegraph *fg;
		struct dump d = {{0}};
		int err = 0;

		fault_countdown = n;
		fg = flamegraph__new();
		if (!fg) {
			assert_int_equal(errno, ENOMEM);
			failures++;
			continue;
		}
		for (int i = 0; i < 40 && !err; i++) {
			struct flamegraph_frame f[] = {{"main", FLAMEGRAPH_PYTHON},
						       {i % 2 ? "a" : "b", FLAMEGRAPH_PYTHON},
						       {NULL, FLAMEGRAPH_NATIVE}};
			char leaf[16];

			snprintf(leaf, sizeof(leaf), "leaf%d", i);
			f[2].name = leaf;
			err = flamegraph__add(fg, f, 3, 1);
		}
		if (!err)
			err = flamegraph__foreach(fg, dump_cb, &d);
		fault_countdown = -1;
		flamegraph__free(fg);
		if (!err)
			break;
		assert_int_equal(err, -ENOMEM);
		failures++;
	}
	assert_true(failures > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_merges_and_orders),
		cmocka_unit_test(test_same_name_other_kind_is_another_frame),
		cmocka_unit_test(test_off_cpu_weight),
		cmocka_unit_test(test_weights_and_edges),
		cmocka_unit_test(test_foreach_stops),
		cmocka_unit_test(test_prefix_cache_kinds),
		cmocka_unit_test(test_many_children),
		cmocka_unit_test(test_same_stacks_same_bytes),
		cmocka_unit_test(test_document_structure),
		cmocka_unit_test(test_minwidth),
		cmocka_unit_test(test_inverted),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_text_fits),
		cmocka_unit_test(test_hover_details),
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_other_schemes_no_legend),
		cmocka_unit_test(test_empty_graph),
		cmocka_unit_test(test_option_errors),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_kind_from_label),
		cmocka_unit_test(test_folded_lines),
		cmocka_unit_test(test_folded_stream),
		cmocka_unit_test(test_golden_folded),
		cmocka_unit_test(test_golden_folded_icicle),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
