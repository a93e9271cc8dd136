// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/symbolizer.c: the instruction-to-offset rule for each
 * line table kind, then symbolizer__resolve against real interpreters
 * running a script with non-ASCII function names in a file with a
 * non-ASCII path, and the cache's bound against one that makes ~9,000 code
 * objects.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "live_python.h"
#include "python_process.h"
#include "symbolizer.h"

/* ---- symbolizer_bytecode_offset ----------------------------------------- */

static const struct py_layout *layout(int minor)
{
	const struct py_layout *l = py_layout_table_lookup(3, minor);

	assert_non_null(l);
	return l;
}

static void test_offset_lnotab(void **state)
{
	for (int minor = 6; minor <= 9; minor++) {
		const struct py_layout *l = layout(minor);

		assert_int_equal(l->linetable_kind, PY_LINETABLE_LNOTAB);
		/* f_lasti is already in bytes */
		assert_int_equal(symbolizer_bytecode_offset(l, 0), 0);
		assert_int_equal(symbolizer_bytecode_offset(l, 2), 2);
		assert_int_equal(symbolizer_bytecode_offset(l, 1234), 1234);
		assert_int_equal(symbolizer_bytecode_offset(l, INT32_MAX), INT32_MAX);
		/* negative: the frame has not started */
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)-1), -1);
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)-2), -1);
		assert_int_equal(symbolizer_bytecode_offset(l, 0x80000000u), -1);
	}
}

static void test_offset_310(void **state)
{
	const struct py_layout *l = layout(10);

	assert_int_equal(l->linetable_kind, PY_LINETABLE_310);
	/* f_lasti counts code units of 2 bytes */
	assert_int_equal(symbolizer_bytecode_offset(l, 0), 0);
	assert_int_equal(symbolizer_bytecode_offset(l, 1), 2);
	assert_int_equal(symbolizer_bytecode_offset(l, 617), 1234);
	assert_int_equal(symbolizer_bytecode_offset(l, INT32_MAX), (int64_t)INT32_MAX * 2);
	assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)-1), -1);
	assert_int_equal(symbolizer_bytecode_offset(l, 0x80000000u), -1);
}

static void test_offset_locations(void **state)
{
	for (int minor = 11; minor <= 12; minor++) {
		const struct py_layout *l = layout(minor);
		int64_t first = l->code_code_adaptive;

		assert_int_equal(l->linetable_kind, PY_LINETABLE_LOCATIONS);
		assert_true(first > 0);
		/* bytes from the code object to the instruction, minus the
		 * header before co_code_adaptive */
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)first), 0);
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)first + 2), 2);
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)first + 1000), 1000);
		assert_int_equal(symbolizer_bytecode_offset(l, UINT32_MAX - 1),
				 (int64_t)UINT32_MAX - 1 - first);
		/* 3.11 puts a new frame one code unit before its first
		 * instruction; anything below co_code_adaptive has not started */
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)first - 2), -1);
		assert_int_equal(symbolizer_bytecode_offset(l, (uint32_t)first - 1), -1);
		assert_int_equal(symbolizer_bytecode_offset(l, 0), -1);
		assert_int_equal(symbolizer_bytecode_offset(l, ~0u), -1);
	}
	assert_int_equal(layout(11)->code_code_adaptive, 184);
	assert_int_equal(layout(12)->code_code_adaptive, 192);
}

/* ---- live interpreters ---------------------------------------------------- */

/*
 * The script, at <tmpdir>/тест.py. For each function it prints
 *   code <id> <firstlineno> <argcount> <hex name> <hex filename>
 *   lines <offset>:<line> ...     (dis.findlinestarts: CPython's own answer)
 * then "list <id of a list>" and "end". Line numbers below are fixed by
 * the file's layout: keep them in step.
 */
static const char script[] =
	"import dis, sys, time\n"				      /* 1 */
	"\n"							      /* 2 */
	"def grüße():\n"					      /* 3 */
	"    x = 1\n"						      /* 4 */
	"    y = 2\n"						      /* 5 */
	"    return x + y\n"					      /* 6 */
	"\n"							      /* 7 */
	"class Kläss:\n"					      /* 8 */
	"    def méthode(self, a, b):\n"			      /* 9 */
	"        if a:\n"					      /* 10 */
	"            return b\n"				      /* 11 */
	"        return a\n"					      /* 12 */
	"\n"							      /* 13 */
	"def 函数(*args):\n"					      /* 14 */
	"    pass\n"						      /* 15 */
	"\n"							      /* 16 */
	"def \xf0\xa0\x80\x80():\n" /* U+20000, a 4-byte-kind name */ /* 17 */
	"    return [i for i in range(3)]\n"			      /* 18 */
	"\n"							      /* 19 */
	"keep = [1, 2, 3]\n"
	"for f in (grüße, Kläss.méthode, 函数, \xf0\xa0\x80\x80):\n"
	"    c = f.__code__\n"
	"    name = getattr(c, 'co_qualname', c.co_name)\n"
	"    sys.stdout.write('code %d %d %d %s %s %d %d\\n' % (id(c), c.co_firstlineno,\n"
	"        c.co_argcount, name.encode('utf-8').hex(), c.co_filename.encode('utf-8').hex(),\n"
	"        id(c.co_name), id(c.co_filename)))\n"
	"    sys.stdout.write('lines' + ''.join(' %d:%d' % (o, l)\n"
	"        for o, l in dis.findlinestarts(c) if l is not None) + '\\n')\n"
	"sys.stdout.write('list %d\\nend\\n' % id(keep))\n"
	"sys.stdout.flush()\n"
	"time.sleep(120)\n";

struct expected_function {
	const char *name;     /* co_name */
	const char *qualname; /* co_qualname (3.11+) */
	int firstlineno;
	int argcount;
};

static const struct expected_function functions[] = {
	{"grüße", "grüße", 3, 0},
	{"méthode", "Kläss.méthode", 9, 3},
	{"函数", "函数", 14, 0},
	{"\xf0\xa0\x80\x80", "\xf0\xa0\x80\x80", 17, 0},
};
#define N_FUNCTIONS (sizeof(functions) / sizeof(functions[0]))

static char tmpdir[64];
static char script_path[128];

static int group_setup(void **state)
{
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pyebpf-symbolizer-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(script_path, sizeof(script_path), "%s/тест.py", tmpdir);
	f = fopen(script_path, "w");
	if (!f)
		return -1;
	fputs(script, f);
	return fclose(f) ? -1 : 0;
}

static int group_teardown(void **state)
{
	char cache[192];

	unlink(script_path);
	snprintf(cache, sizeof(cache), "%s/__pycache__", tmpdir);
	rmdir(cache);
	rmdir(tmpdir);
	return 0;
}

struct line_start {
	uint32_t offset;
	int line;
};

struct child_function {
	uint64_t code;
	int firstlineno, argcount;
	uint64_t co_name, co_filename; /* the str objects' addresses */
	char name[256], file[256];
	struct line_start lines[64];
	size_t n_lines;
};

struct child {
	struct child_function f[N_FUNCTIONS];
	uint64_t list;
};

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

/* Start `python` on the script and read what it reports. */
static void start_child(struct live_python *lp, const char *python, struct child *c)
{
	char *argv[] = {(char *)python, script_path, NULL};
	char line[4096];

	memset(c, 0, sizeof(*c));
	assert_int_equal(live_python_start(lp, argv), 0);
	for (size_t i = 0; i < N_FUNCTIONS; i++) {
		struct child_function *f = &c->f[i];
		unsigned long long code;
		char name[600], file[600];
		char *tok, *save;

		if (!live_python_line(lp, line, sizeof(line)))
			fail_msg("%s %s: no report (did the script fail?)", python, script_path);
		unsigned long long name_id, file_id;

		assert_int_equal(sscanf(line, "code %llu %d %d %599s %599s %llu %llu", &code,
					&f->firstlineno, &f->argcount, name, file, &name_id,
					&file_id),
				 7);
		f->code = code;
		f->co_name = name_id;
		f->co_filename = file_id;
		hex_decode(name, f->name, sizeof(f->name));
		hex_decode(file, f->file, sizeof(f->file));

		assert_non_null(live_python_line(lp, line, sizeof(line)));
		assert_int_equal(strncmp(line, "lines", 5), 0);
		for (tok = strtok_r(line + 5, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			assert_true(f->n_lines < sizeof(f->lines) / sizeof(f->lines[0]));
			assert_int_equal(sscanf(tok, "%u:%d", &f->lines[f->n_lines].offset,
						&f->lines[f->n_lines].line),
					 2);
			f->n_lines++;
		}
		assert_true(f->n_lines > 0);
	}
	assert_non_null(live_python_line(lp, line, sizeof(line)));
	{
		unsigned long long list;

		assert_int_equal(sscanf(line, "list %llu", &list), 1);
		c->list = list;
	}
	assert_non_null(live_python_line(lp, line, sizeof(line)));
	assert_string_equal(line, "end");
}

/* The kernel's `instr` for the instruction at byte `offset`. */
static uint32_t instr_at(const struct py_layout *l, uint32_t offset)
{
	switch (l->linetable_kind) {
	case PY_LINETABLE_LNOTAB:
		return offset;
	case PY_LINETABLE_310:
		return offset / 2;
	case PY_LINETABLE_LOCATIONS:
		return (uint32_t)l->code_code_adaptive + offset;
	}
	fail_msg("unknown line table kind %d", (int)l->linetable_kind);
	return 0;
}

/* The kernel's `instr` for a frame that has not started. */
static uint32_t instr_not_started(const struct py_layout *l)
{
	if (l->linetable_kind == PY_LINETABLE_LOCATIONS)
		return (uint32_t)l->code_code_adaptive - 2;
	return (uint32_t)-1;
}

static void expect_error_frame(int err, int want_err, const struct resolved_frame *out,
			       const char *want_name)
{
	if (err != want_err)
		fail_msg("resolve: %d (%s), want %d; frame \"%s\"", err, strerror(-err), want_err,
			 out->function ? out->function : "(null)");
	assert_non_null(out->function);
	assert_string_equal(out->function, want_name);
	assert_null(out->file);
	assert_int_equal(out->line, -1);
}

static void check_interpreter(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	struct python_process pp;
	struct symbolizer *sym;
	struct resolved_frame out;
	struct child c;
	char why[512] = "";
	int err;

	start_child(lp, python, &c);
	err = python_process__inspect(lp->pid, &pp, why, sizeof(why));
	if (err)
		fail_msg("inspect %s: %d: %s", python, err, why);
	assert_int_not_equal(pp.code_type_addr, 0);
	assert_int_equal(pp.layout.minor, minor);

	sym = symbolizer__new(lp->pid, &pp.layout, pp.code_type_addr);
	assert_non_null(sym);
	for (size_t i = 0; i < N_FUNCTIONS; i++) {
		const struct expected_function *want = &functions[i];
		const struct child_function *f = &c.f[i];
		const char *name = minor >= 11 ? want->qualname : want->name;
		struct pyebpf_frame frame = {.code = f->code, .check = 0};

		/* what the child said agrees with what this test expects */
		assert_string_equal(f->name, name);
		assert_string_equal(f->file, script_path);
		assert_int_equal(f->firstlineno, want->firstlineno);
		assert_int_equal(f->argcount, want->argcount);

		/* every line start CPython knows, in this function */
		for (size_t j = 0; j < f->n_lines; j++) {
			frame.instr = instr_at(&pp.layout, f->lines[j].offset);
			memset(&out, 0, sizeof(out));
			err = symbolizer__resolve(sym, &frame, &out);
			if (err)
				fail_msg("%s: resolve %s at offset %u: %d (%s)", python, name,
					 f->lines[j].offset, err, out.function);
			assert_string_equal(out.function, name);
			assert_non_null(out.file);
			assert_string_equal(out.file, script_path);
			if (out.line != f->lines[j].line)
				fail_msg("%s: %s at offset %u: line %d, CPython says %d", python,
					 name, f->lines[j].offset, out.line, f->lines[j].line);
		}
		/* one read per code object, however many frames name it */
		assert_int_equal(symbolizer__code_reads(sym), i + 1);

		/* not started yet: CPython reports the first line */
		frame.instr = instr_not_started(&pp.layout);
		assert_int_equal(symbolizer__resolve(sym, &frame, &out), 0);
		assert_string_equal(out.function, name);
		assert_int_equal(out.line, want->firstlineno);

		/* the kernel's checksum of the live object matches: no re-read */
		frame.check =
			pyebpf_code_check(f->argcount, f->firstlineno, f->co_name, f->co_filename);
		frame.instr = instr_at(&pp.layout, f->lines[0].offset);
		assert_int_equal(symbolizer__resolve(sym, &frame, &out), 0);
		assert_string_equal(out.function, name);
		assert_int_equal(out.line, f->lines[0].line);
		assert_int_equal(symbolizer__code_reads(sym), i + 1);
	}

	/* a checksum that is not the object's: it was freed and the address
	 * reused by the object read now */
	{
		struct pyebpf_frame frame = {
			.code = c.f[0].code,
			.instr = instr_at(&pp.layout, c.f[0].lines[0].offset),
			.check = pyebpf_code_check(c.f[0].argcount, c.f[0].firstlineno,
						   c.f[0].co_name, c.f[0].co_filename) ^
				 0x100,
		};
		struct symbolizer *fresh = symbolizer__new(lp->pid, &pp.layout, pp.code_type_addr);

		assert_non_null(fresh);
		assert_int_not_equal(frame.check, 0);
		expect_error_frame(symbolizer__resolve(fresh, &frame, &out), -ESTALE, &out,
				   "[freed code object]");
		/* the cached one also yields to a stale checksum */
		expect_error_frame(symbolizer__resolve(sym, &frame, &out), -ESTALE, &out,
				   "[freed code object]");
		/* and without a checksum, the object that is there now */
		frame.check = 0;
		assert_int_equal(symbolizer__resolve(fresh, &frame, &out), 0);
		assert_string_equal(out.function, functions[0].name);
		symbolizer__free(fresh);
	}

	/* a list is not a code object */
	{
		struct pyebpf_frame frame = {.code = c.list, .instr = 0, .check = 0};

		expect_error_frame(symbolizer__resolve(sym, &frame, &out), -EINVAL, &out,
				   "[not a code object]");
		/* with a kernel checksum it was one once: freed since */
		frame.check = 0x12345679;
		expect_error_frame(symbolizer__resolve(sym, &frame, &out), -EINVAL, &out,
				   "[freed code object]");
	}

	/* error frames from the kernel, and unmapped memory */
	{
		struct pyebpf_frame frame = {.code = 0, .instr = PYEBPF_FRAME_ERR_READ_FRAME};

		expect_error_frame(symbolizer__resolve(sym, &frame, &out), -EFAULT, &out,
				   "[unreadable frame]");
		frame.instr = PYEBPF_FRAME_ERR_BAD_CODE;
		expect_error_frame(symbolizer__resolve(sym, &frame, &out), -EFAULT, &out,
				   "[not a code object]");
		frame.code = 0x1000;
		frame.instr = 0;
		expect_error_frame(symbolizer__resolve(sym, &frame, &out), -EFAULT, &out,
				   "[unreadable code object]");
	}
	symbolizer__free(sym);
}

LIVE_PYTHON_TESTS(test_live, check_interpreter)

/* ---- the cache's bound ---------------------------------------------------- */

/* Past the bound by an eighth: ~9,000 objects, one clear. */
#define MANY_CODES (SYMBOLIZER_MAX_CACHED_CODES + SYMBOLIZER_MAX_CACHED_CODES / 8)

/*
 * Makes argv[1] distinct functions f<i> in files gen<i>.py, each with its
 * def on line 1 + i % 7 (so a mixed-up object shows a wrong line), keeps
 * them alive and prints for each
 *   code <id> <co_name> <co_filename> <first line start offset> <its line>
 * then "end".
 */
static const char many_script[] =
	"import dis, sys, time\n"
	"fs = []\n"
	"for i in range(int(sys.argv[1])):\n"
	"    d = {}\n"
	"    src = '\\n' * (i % 7) + 'def f%d():\\n    return %d\\n' % (i, i)\n"
	"    exec(compile(src, 'gen%d.py' % i, 'exec'), d)\n"
	"    fs.append(d['f%d' % i])\n"
	"out = []\n"
	"for f in fs:\n"
	"    c = f.__code__\n"
	"    o, l = [(o, l) for o, l in dis.findlinestarts(c) if l is not None][0]\n"
	"    out.append('code %d %s %s %d %d\\n' % (id(c), c.co_name, c.co_filename, o, l))\n"
	"sys.stdout.write(''.join(out) + 'end\\n')\n"
	"sys.stdout.flush()\n"
	"time.sleep(120)\n";

struct many_code {
	uint64_t code;
	uint32_t offset; /* CPython's first line start */
	int line;	 /* and its line */
};

/* Resolve codes[i] as the kernel would report it, at its first line start. */
static void resolve_many(const char *python, struct symbolizer *sym, const struct py_layout *l,
			 const struct many_code *codes, size_t i)
{
	struct pyebpf_frame frame = {.code = codes[i].code, .instr = instr_at(l, codes[i].offset)};
	struct resolved_frame out;
	char name[32], file[32];
	int err;

	memset(&out, 0, sizeof(out));
	err = symbolizer__resolve(sym, &frame, &out);
	if (err)
		fail_msg("%s: resolve object %zu: %d (%s)", python, i, err, out.function);
	snprintf(name, sizeof(name), "f%zu", i);
	snprintf(file, sizeof(file), "gen%zu.py", i);
	assert_string_equal(out.function, name);
	assert_string_equal(out.file, file);
	assert_int_equal(out.first_line, 1 + (int)(i % 7));
	if (out.line != codes[i].line)
		fail_msg("%s: %s at offset %u: line %d, CPython says %d", python, name,
			 codes[i].offset, out.line, codes[i].line);
}

/*
 * A process that keeps making code objects: the cache never holds more than
 * the bound, starts over when the next object would pass it, and an
 * object dropped by the clear is read again, correctly.
 */
static void check_cache_bound(void **state, const char *python, int minor)
{
	struct live_python *lp = *state;
	char count[16], line[256];
	char *argv[] = {(char *)python, "-c", (char *)many_script, count, NULL};
	struct many_code *codes = calloc(MANY_CODES, sizeof(*codes));
	struct python_process pp;
	struct symbolizer *sym;
	size_t prev = 0, drops = 0, dropped_at = 0;
	char why[512] = "";
	int err;

	assert_non_null(codes);
	snprintf(count, sizeof(count), "%d", MANY_CODES);
	assert_int_equal(live_python_start(lp, argv), 0);
	for (size_t i = 0; i < MANY_CODES; i++) {
		char name[64], file[64], want[32];
		unsigned long long code;

		if (!live_python_line(lp, line, sizeof(line)))
			fail_msg("%s: no report for object %zu (did the script fail?)", python, i);
		assert_int_equal(sscanf(line, "code %llu %63s %63s %u %d", &code, name, file,
					&codes[i].offset, &codes[i].line),
				 5);
		codes[i].code = code;
		snprintf(want, sizeof(want), "f%zu", i);
		assert_string_equal(name, want);
		snprintf(want, sizeof(want), "gen%zu.py", i);
		assert_string_equal(file, want);
	}
	assert_non_null(live_python_line(lp, line, sizeof(line)));
	assert_string_equal(line, "end");

	err = python_process__inspect(lp->pid, &pp, why, sizeof(why));
	if (err)
		fail_msg("inspect %s: %d: %s", python, err, why);
	assert_int_equal(pp.layout.minor, minor);
	sym = symbolizer__new(lp->pid, &pp.layout, pp.code_type_addr);
	assert_non_null(sym);

	for (size_t i = 0; i < MANY_CODES; i++) {
		size_t cached;

		resolve_many(python, sym, &pp.layout, codes, i);
		/* all distinct and alive: each is one read */
		assert_int_equal(symbolizer__code_reads(sym), i + 1);
		cached = symbolizer__cached_codes(sym);
		if (cached > SYMBOLIZER_MAX_CACHED_CODES)
			fail_msg("%s: %zu objects cached after %zu, bound %d", python, cached,
				 i + 1, SYMBOLIZER_MAX_CACHED_CODES);
		if (cached < prev) {
			drops++;
			dropped_at = i;
		}
		prev = cached;
	}
	/* one clear, made by the object just past the bound, which it keeps */
	if (drops != 1 || dropped_at != SYMBOLIZER_MAX_CACHED_CODES)
		fail_msg("%s: the cache started over %zu times (last at object %zu), want once "
			 "at %d",
			 python, drops, dropped_at, SYMBOLIZER_MAX_CACHED_CODES);
	assert_int_equal(symbolizer__cached_codes(sym), MANY_CODES - SYMBOLIZER_MAX_CACHED_CODES);

	/* the newest are still cached: no read */
	resolve_many(python, sym, &pp.layout, codes, MANY_CODES - 1);
	resolve_many(python, sym, &pp.layout, codes, SYMBOLIZER_MAX_CACHED_CODES);
	assert_int_equal(symbolizer__code_reads(sym), MANY_CODES);
	/* the first went with the clear: read again, and right */
	resolve_many(python, sym, &pp.layout, codes, 0);
	assert_int_equal(symbolizer__code_reads(sym), MANY_CODES + 1);
	resolve_many(python, sym, &pp.layout, codes, SYMBOLIZER_MAX_CACHED_CODES - 1);
	assert_int_equal(symbolizer__code_reads(sym), MANY_CODES + 2);
	assert_int_equal(symbolizer__cached_codes(sym),
			 MANY_CODES - SYMBOLIZER_MAX_CACHED_CODES + 2);
	resolve_many(python, sym, &pp.layout, codes, 0);
	assert_int_equal(symbolizer__code_reads(sym), MANY_CODES + 2);

	symbolizer__free(sym);
	free(codes);
}

LIVE_PYTHON_TESTS(test_cache_bound, check_cache_bound)

static void test_free_null(void **state)
{
	symbolizer__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_lnotab),
		cmocka_unit_test(test_offset_310),
		cmocka_unit_test(test_offset_locations),
		cmocka_unit_test(test_free_null),
		LIVE_PYTHON_TEST_LIST(test_live, live_python_setup, live_python_teardown),
		LIVE_PYTHON_TEST_LIST(test_cache_bound, live_python_setup, live_python_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
