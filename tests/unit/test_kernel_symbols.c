// SPDX-License-Identifier: MIT
/* Unit tests for kernel_symbols: synthetic kallsyms files, then the real one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel_symbols.h"

#define K 0xffffffff81000000ull
#define M 0xffffffffc0001000ull

/*
 * Out of order, as modules and BPF programs are in the real file, with
 * aliases, data symbols and the end of the text section.
 */
static const char fixture[] = "ffffffffc0001080 T mod_fn2\t[ext4]\n"
			      "ffffffff81000400 T last_text\n"
			      "ffffffff81000000 T _text\n"
			      "ffffffff81000110 T foo\n"
			      "ffffffff81000000 T startup_64\n"
			      "ffffffff81000000 T _stext\n"
			      "ffffffff81000300 D some_data\n"
			      "ffffffff81000200 W weak_func\n"
			      "ffffffff81000200 T strong_func\n"
			      "ffffffffc0002000 t bpf_prog_6deef7357e7b4530_handler\t[bpf]\n"
			      "ffffffff81000100 t __pfx_foo\n"
			      "ffffffff82000000 d data_sym\n"
			      "ffffffff81000480 T _etext\n"
			      "ffffffffc0001000 t mod_fn\t[ext4]\n"
			      "ffffffffc0001000 b mod_bss\t[ext4]\n";

/* Writes text to a new temporary file; the caller unlinks path. */
static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static struct kernel_symbols *parse_str(const char *text, char *why, size_t why_size)
{
	return kernel_symbols__parse(text, strlen(text), "fixture", why, why_size);
}

/* addr resolves to name at offset, in module (NULL: vmlinux). */
static void expect(const struct kernel_symbols *ks, uint64_t addr, const char *name,
		   uint64_t offset, const char *module)
{
	struct kernel_symbol sym;

	if (kernel_symbols__lookup(ks, addr, &sym)) {
		print_message("0x%llx: no symbol, expected %s+%llu\n", (unsigned long long)addr,
			      name, (unsigned long long)offset);
		fail();
	}
	assert_string_equal(sym.name, name);
	assert_int_equal(sym.offset, offset);
	assert_int_equal(sym.start, addr - offset);
	if (module)
		assert_string_equal(sym.module, module);
	else
		assert_null(sym.module);
}

static void expect_none(const struct kernel_symbols *ks, uint64_t addr)
{
	struct kernel_symbol sym;
	uint64_t off = 42;

	if (!kernel_symbols__lookup(ks, addr, &sym)) {
		print_message("0x%llx: expected no symbol, got %s+%llu\n", (unsigned long long)addr,
			      sym.name, (unsigned long long)sym.offset);
		fail();
	}
	errno = 0;
	assert_null(kernel_symbols__name(ks, addr, &off));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(off, 42);
}

static void test_synthetic_file(void **state)
{
	char path[] = "/tmp/pyebpf-kallsyms-XXXXXX";
	struct kernel_symbols *ks;
	char why[256] = "";

	write_file(path, fixture);
	ks = kernel_symbols__load(path, why, sizeof(why));
	unlink(path);
	assert_non_null(ks);
	assert_string_equal(why, "");
	/* one per text address: 0, 0x100, 0x110, 0x200, 0x400, _etext, 3 in modules */
	assert_int_equal(kernel_symbols__count(ks), 9);

	/* aliases: the kernel's choice, not the file's first */
	expect(ks, K, "startup_64", 0, NULL);
	expect(ks, K + 0xff, "startup_64", 0xff, NULL);
	expect(ks, K + 0x100, "__pfx_foo", 0, NULL);
	expect(ks, K + 0x10f, "__pfx_foo", 0xf, NULL);
	expect(ks, K + 0x110, "foo", 0, NULL);
	expect(ks, K + 0x200, "strong_func", 0, NULL);
	/* a data symbol ends the text symbol before it, and is never returned */
	expect(ks, K + 0x2ff, "strong_func", 0xff, NULL);
	expect_none(ks, K + 0x300);
	expect_none(ks, K + 0x3ff);
	expect(ks, K + 0x400, "last_text", 0, NULL);
	expect(ks, K + 0x47f, "last_text", 0x7f, NULL);
	/* past _etext: the gap to the modules resolves to nothing */
	expect_none(ks, K + 0x480);
	expect_none(ks, K + 0x481);
	expect_none(ks, 0xffffffff82000000ull);
	expect_none(ks, M - 1);

	/* below the first symbol */
	expect_none(ks, K - 1);
	expect_none(ks, 0);

	/* modules; a module's data symbol at a function's address is ignored */
	expect(ks, M, "mod_fn", 0, "ext4");
	expect(ks, M + 0x7f, "mod_fn", 0x7f, "ext4");
	expect(ks, M + 0x80, "mod_fn2", 0, "ext4");
	expect(ks, M + 0xfff, "mod_fn2", 0xf7f, "ext4");
	expect(ks, M + 0x1000, "bpf_prog_6deef7357e7b4530_handler", 0, "bpf");

	/* the last symbol has no next one: bounded */
	expect(ks, M + 0x1000 + KERNEL_SYMBOL_SIZE_MAX - 1, "bpf_prog_6deef7357e7b4530_handler",
	       KERNEL_SYMBOL_SIZE_MAX - 1, "bpf");
	expect_none(ks, M + 0x1000 + KERNEL_SYMBOL_SIZE_MAX);
	expect_none(ks, UINT64_MAX);

	kernel_symbols__free(ks);
}

static void test_name(void **state)
{
	struct kernel_symbols *ks = parse_str(fixture, NULL, 0);
	uint64_t off = 99;

	assert_non_null(ks);
	assert_string_equal(kernel_symbols__name(ks, K + 0x115, &off), "foo");
	assert_int_equal(off, 5);
	assert_string_equal(kernel_symbols__name(ks, K + 0x110, NULL), "foo");
	kernel_symbols__free(ks);

	/* NULL is an empty table */
	errno = 0;
	assert_null(kernel_symbols__name(NULL, K, &off));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(kernel_symbols__count(NULL), 0);
	kernel_symbols__free(NULL);
}

/* scripts/kallsyms.c's order for symbols at one address, whatever the file's. */
static void test_aliases(void **state)
{
	struct kernel_symbols *ks = parse_str("0000000000001000 W weak\n"
					      "0000000000001000 T __strong\n"
					      "0000000000002000 T __irqentry_text_start\n"
					      "0000000000002000 T __asm_entry\n"
					      "0000000000003000 t __x\n"
					      "0000000000003000 t _y\n"
					      "0000000000004000 t first\n"
					      "0000000000004000 T second\n"
					      "0000000000005000 T __sched_text_end\n"
					      "0000000000005000 t after_sched\n"
					      "0000000000006000 T __lock_text_end\n"
					      "0000000000007000 T __probestub_foo_end\n"
					      "0000000000008000 T _einittext\n",
					      NULL, 0);

	assert_non_null(ks);
	expect(ks, 0x1000, "__strong", 0, NULL);    /* not weak */
	expect(ks, 0x2000, "__asm_entry", 0, NULL); /* not a linker-script marker */
	expect(ks, 0x3000, "_y", 0, NULL);	    /* fewer underscores */
	expect(ks, 0x4000, "first", 0, NULL);	    /* then the file's order */
	expect(ks, 0x5000, "after_sched", 0, NULL); /* a marker loses to a function */
	expect_none(ks, 0x6000);		    /* an end marker alone covers nothing */
	expect_none(ks, 0x6fff);
	expect(ks, 0x7004, "__probestub_foo_end", 4, NULL); /* a function named *_end */
	expect_none(ks, 0x8000);
	kernel_symbols__free(ks);
}

static void test_zero_addresses(void **state)
{
	char path[] = "/tmp/pyebpf-kallsyms-XXXXXX";
	struct kernel_symbols *ks;
	char why[256] = "";

	write_file(path, "0000000000000000 T _stext\n"
			 "0000000000000000 T schedule\n"
			 "0000000000000000 t mod_fn\t[ext4]\n");
	errno = 0;
	ks = kernel_symbols__load(path, why, sizeof(why));
	unlink(path);
	assert_null(ks);
	assert_int_equal(errno, EPERM);
	print_message("why: %s\n", why);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, "reads 0"));
	assert_non_null(strstr(why, "root"));
	assert_non_null(strstr(why, "sysctl kernel.kptr_restrict=0"));
	assert_null(strchr(why, '\n'));
}

static void expect_error(const char *text, int err, const char *why_part)
{
	char why[256] = "";

	errno = 0;
	assert_null(parse_str(text, why, sizeof(why)));
	assert_int_equal(errno, err);
	if (!strstr(why, why_part)) {
		print_message("why \"%s\" lacks \"%s\"\n", why, why_part);
		fail();
	}
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"ffffffff81000000 T\n",
		"ffffffff81000000 T \n",
		"ffffffff81000000  T foo\n",
		"ffffffff81000000 T foo bar\n",
		"ffffffff81000000 TT foo\n",
		"xffffffff81000000 T foo\n",
		" ffffffff81000000 T foo\n",
		"1ffffffff81000000 T foo\n", /* 17 digits */
		"ffffffff81000000 T foo\t\n",
		"ffffffff81000000 T foo\text4\n",
		"ffffffff81000000 T foo\t[ext4\n",
		"ffffffff81000000 T foo\t[]\n",
		"ffffffff81000000 T foo\t[ext4] \n",
		"ffffffff81000000 T foo\t[ex]t4]\n",
		"ffffffff81000000 T foo [ext4]\n",
		"\n",
	};
	char line[1200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "ffffffff81000000 T ok\n%s", bad[i]);
		expect_error(text, EINVAL, "'fixture': line 2 is not a kallsyms line");
	}
	/* a NUL byte inside a line */
	{
		static const char nul[] = "ffffffff81000000 T fo\0o\n";
		char why[128];

		errno = 0;
		assert_null(
			kernel_symbols__parse(nul, sizeof(nul) - 1, "fixture", why, sizeof(why)));
		assert_int_equal(errno, EINVAL);
	}
	/* names up to the kernel's 511 bytes */
	memset(line, 'a', sizeof(line));
	memcpy(line, "ffffffff81000000 T ", 19);
	line[19 + 511] = '\0';
	{
		struct kernel_symbols *ks = parse_str(line, NULL, 0);

		assert_non_null(ks);
		assert_int_equal(strlen(kernel_symbols__name(ks, K, NULL)), 511);
		kernel_symbols__free(ks);
	}
	line[19 + 511] = 'a';
	line[19 + 512] = '\0';
	expect_error(line, EINVAL, "line 1");

	expect_error("", ENOENT, "no kernel text symbols");
	expect_error("ffffffff82000000 D data\nffffffff82000010 b bss\n", ENOENT,
		     "no kernel text symbols");
	/* one real address is enough: not a kptr_restrict file */
	{
		struct kernel_symbols *ks = parse_str("0000000000000000 T zero\n"
						      "0000000000001000 T one",
						      NULL, 0);

		assert_non_null(ks);
		expect(ks, 0, "zero", 0, NULL);
		expect(ks, 0x1000, "one", 0, NULL); /* no final newline */
		kernel_symbols__free(ks);
	}
}

static void test_missing_file(void **state)
{
	char why[256] = "";

	errno = 0;
	assert_null(kernel_symbols__load("/nonexistent/kallsyms", why, sizeof(why)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(why, "cannot read '/nonexistent/kallsyms': No such file or directory");
}

/* The address of a vmlinux text symbol, read from the real file; 0 if none. */
static uint64_t kallsyms_addr(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	unsigned long long addr;
	char type, sym[600];
	uint64_t found = 0;
	int c;

	assert_non_null(f);
	while (fscanf(f, "%llx %c %599s", &addr, &type, sym) == 3) {
		c = fgetc(f);
		if (c == '\n' && strchr("tTwW", type) && !strcmp(sym, name)) {
			found = addr;
			break;
		}
		while (c != '\n' && c != EOF)
			c = fgetc(f);
	}
	fclose(f);
	return found;
}

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

static void test_real_kallsyms(void **state)
{
	static const char *const names[] = {"schedule", "do_syscall_64"};
	struct kernel_symbols *ks;
	struct timespec t0, t1;
	char why[256] = "";
	uint64_t off;

	if (geteuid() != 0) {
		print_message("skipping: not root, /proc/kallsyms addresses read 0\n");
		skip();
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ks = kernel_symbols__load(NULL, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ks && errno == EPERM) {
		print_message("skipping: %s\n", why);
		skip();
	}
	assert_non_null(ks);
	print_message("loaded %zu kernel symbols in %.1f ms\n", kernel_symbols__count(ks),
		      elapsed_ms(&t0, &t1));
	assert_true(kernel_symbols__count(ks) > 10000);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t addr = kallsyms_addr(names[i]);

		assert_true(addr != 0);
		off = 99;
		assert_string_equal(kernel_symbols__name(ks, addr, &off), names[i]);
		assert_int_equal(off, 0);
		assert_string_equal(kernel_symbols__name(ks, addr + 1, &off), names[i]);
		assert_int_equal(off, 1);
		expect(ks, addr, names[i], 0, NULL);
	}
	kernel_symbols__free(ks);
}

/* Every text symbol of the real file resolves to its own address. */
static void test_real_every_symbol(void **state)
{
	struct kernel_symbols *ks;
	unsigned long long addr;
	struct kernel_symbol sym;
	char type, name[600];
	size_t n = 0, markers = 0;
	FILE *f;
	int c;

	char *text = NULL, chunk[65536];
	size_t text_len = 0;
	FILE *src, *copy;
	size_t got;

	if (geteuid() != 0)
		skip();
	/* one snapshot for both sides: BPF programs loaded or unloaded
	 * meanwhile (the other tests') add and remove kallsyms lines */
	src = fopen("/proc/kallsyms", "r");
	assert_non_null(src);
	copy = open_memstream(&text, &text_len);
	assert_non_null(copy);
	while ((got = fread(chunk, 1, sizeof(chunk), src)) > 0)
		assert_int_equal(fwrite(chunk, 1, got, copy), got);
	fclose(src);
	assert_int_equal(fclose(copy), 0);
	ks = kernel_symbols__parse(text, text_len, "/proc/kallsyms", NULL, 0);
	if (!ks && errno == EPERM) {
		free(text);
		skip();
	}
	assert_non_null(ks);
	f = fmemopen(text, text_len, "r");
	assert_non_null(f);
	while (fscanf(f, "%llx %c %599s", &addr, &type, name) == 3) {
		while ((c = fgetc(f)) != '\n' && c != EOF)
			;
		if (!strchr("tTwW", type))
			continue;
		n++;
		if (kernel_symbols__lookup(ks, addr, &sym)) {
			size_t len = strlen(name);

			/* only section ends cover nothing */
			markers++;
			assert_true(!strcmp(name, "_etext") || !strcmp(name, "_einittext") ||
				    (len > 11 && !strcmp(name + len - 9, "_text_end")));
			continue;
		}
		assert_int_equal(sym.start, addr);
		assert_int_equal(sym.offset, 0);
	}
	fclose(f);
	print_message("%zu text symbols resolve to their address, %zu end markers\n", n - markers,
		      markers);
	assert_true(n > 10000);
	kernel_symbols__free(ks);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_file), cmocka_unit_test(test_name),
		cmocka_unit_test(test_aliases),	       cmocka_unit_test(test_zero_addresses),
		cmocka_unit_test(test_malformed),      cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_real_kallsyms),  cmocka_unit_test(test_real_every_symbol),
	};

	return cmocka_run_group_tests_name("kernel_symbols", tests, NULL, NULL);
}
