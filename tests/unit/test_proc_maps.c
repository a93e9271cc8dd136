// SPDX-License-Identifier: MIT
/* Unit tests for proc_maps: fixtures first, then this process's own maps. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_maps.h"

/* A real maps file of pyenv's python3.12, shortened, plus odd cases. */
static const char fixture[] =
	"563c9b33a000-563c9b33b000 r--p 00000000 fe:00 73383                      "
	"/root/.pyenv/versions/3.12.1/bin/python3.12\n"
	"563cd8f66000-563cd902c000 rw-p 00000000 00:00 0                          [heap]\n"
	"7fa8d2765000-7fa8d29c7000 rw-p 00000000 00:00 0 \n"
	"7fa8d2c00000-7fa8d2d06000 r--p 00000000 fe:00 73606                      "
	"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0\n"
	"7fa8d2d06000-7fa8d2f79000 r-xp 00106000 fe:00 73606                      "
	"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0\n"
	"7fa8d2f79000-7fa8d30cd000 r--p 00379000 fe:00 73606                      "
	"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0\n"
	"7fa8d30cd000-7fa8d3144000 r--p 004cc000 fe:00 73606                      "
	"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0\n"
	"7fa8d3144000-7fa8d32b4000 rw-p 00543000 fe:00 73606                      "
	"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0\n"
	"7fa8d32b4000-7fa8d32b5000 rw-p 00000000 00:00 0 \n"
	"7fa8d339d000-7fa8d33a4000 r--s 00000000 fe:00 332280                     "
	"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache\n"
	"7fa8d33a5000-7fa8d33a6000 rw-s 00000000 00:01 2049                       /memfd:jit code "
	"(deleted)\n"
	"7fa8d33a6000-7fa8d33a7000 r-xp 00001000 103:02 12345678                  /tmp/my dir/lib "
	"with  spaces.so (deleted)\n"
	"7fa8d33a7000-7fa8d33a8000 r--p 00000000 fe:00 99                         /tmp/trailing "
	"space \n"
	"7fa8d33ac000-7fa8d33ae000 r-xp 00000000 00:00 0                          [vdso]\n"
	"7ffde9c2e000-7ffde9c4f000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static struct proc_maps *parse_buf(const char *buf, size_t len)
{
	struct proc_maps *maps;
	FILE *f = fmemopen((void *)buf, len, "r");
	int err;

	assert_non_null(f);
	maps = proc_maps__parse(f);
	err = errno;
	fclose(f);
	errno = err;
	return maps;
}

static struct proc_maps *parse_str(const char *s)
{
	return parse_buf(s, strlen(s));
}

static void test_parse_fixture(void **state)
{
	struct proc_maps *maps = parse_str(fixture);
	const struct proc_map *m;

	assert_non_null(maps);
	assert_int_equal(proc_maps__count(maps), 16);

	m = proc_maps__get(maps, 0);
	assert_int_equal(m->start, 0x563c9b33a000ull);
	assert_int_equal(m->end, 0x563c9b33b000ull);
	assert_string_equal(m->perms, "r--p");
	assert_int_equal(m->offset, 0);
	assert_int_equal(m->dev_major, 0xfe);
	assert_int_equal(m->dev_minor, 0);
	assert_int_equal(m->inode, 73383);
	assert_string_equal(m->path, "/root/.pyenv/versions/3.12.1/bin/python3.12");
	assert_false(m->deleted);

	assert_string_equal(proc_maps__get(maps, 1)->path, "[heap]");
	/* anonymous: the kernel ends the line with a space */
	m = proc_maps__get(maps, 2);
	assert_string_equal(m->path, "");
	assert_int_equal(m->inode, 0);

	m = proc_maps__get(maps, 4);
	assert_string_equal(m->perms, "r-xp");
	assert_int_equal(m->offset, 0x106000);

	m = proc_maps__get(maps, 9);
	assert_string_equal(m->perms, "r--s");

	m = proc_maps__get(maps, 10);
	assert_string_equal(m->path, "/memfd:jit code");
	assert_true(m->deleted);

	m = proc_maps__get(maps, 11);
	assert_string_equal(m->path, "/tmp/my dir/lib with  spaces.so");
	assert_true(m->deleted);
	assert_int_equal(m->dev_major, 0x103);
	assert_int_equal(m->dev_minor, 2);
	assert_int_equal(m->inode, 12345678);

	m = proc_maps__get(maps, 12);
	assert_string_equal(m->path, "/tmp/trailing space ");
	assert_false(m->deleted);

	m = proc_maps__get(maps, 13);
	assert_string_equal(m->path, "[vdso]");
	assert_string_equal(m->perms, "r-xp");

	m = proc_maps__get(maps, 15);
	assert_int_equal(m->start, 0xffffffffff600000ull);
	assert_int_equal(m->end, 0xffffffffff601000ull);
	assert_string_equal(m->perms, "--xp");
	assert_string_equal(m->path, "[vsyscall]");

	errno = 0;
	assert_null(proc_maps__get(maps, 16));
	assert_int_equal(errno, ERANGE);
	proc_maps__free(maps);
}

static void test_empty_and_edges(void **state)
{
	struct proc_maps *maps;

	maps = parse_str("");
	assert_non_null(maps);
	assert_int_equal(proc_maps__count(maps), 0);
	assert_null(proc_maps__get(maps, 0));
	proc_maps__free(maps);

	/* last line without its newline */
	maps = parse_str("00400000-00401000 r-xp 00000000 08:01 7 /bin/x\n"
			 "00401000-00402000 rw-p 00001000 08:01 7 /bin/x");
	assert_non_null(maps);
	assert_int_equal(proc_maps__count(maps), 2);
	assert_string_equal(proc_maps__get(maps, 1)->path, "/bin/x");
	proc_maps__free(maps);

	/* no padding at all, uppercase hex, a path that is only a suffix */
	maps = parse_str("ABC000-ABD000 rw-p 0 0:0 0\n"
			 "1000-2000 r--p 0 8:1 5 (deleted)\n");
	assert_non_null(maps);
	assert_int_equal(proc_maps__get(maps, 0)->start, 0xabc000);
	assert_string_equal(proc_maps__get(maps, 0)->path, "");
	assert_string_equal(proc_maps__get(maps, 1)->path, "(deleted)");
	assert_false(proc_maps__get(maps, 1)->deleted);
	proc_maps__free(maps);

	assert_int_equal(proc_maps__count(NULL), 0);
	assert_null(proc_maps__get(NULL, 0));
	proc_maps__free(NULL);
	errno = 0;
	assert_null(proc_maps__parse(NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"garbage\n",
		"\n",
		"00400000-00401000 r-xp 00000000 08:01 7 /x\n\n",
		"00400000 r-xp 00000000 08:01 7 /x\n",
		"00400000-00401000 r-xq 00000000 08:01 7 /x\n",
		"00400000-00401000 rwx 00000000 08:01 7 /x\n",
		"00400000-00401000 r-xpp 00000000 08:01 7 /x\n",
		"00400000-00401000 R-xp 00000000 08:01 7 /x\n",
		"00400000-00401000 r-xp 00000000 0801 7 /x\n",
		"00400000-00401000 r-xp 00000000 08:01 /x\n",
		"00400000-00401000 r-xp 00000000 08:01 7x /x\n",
		"00400000-00401000 r-xp 00000000 08:01 -7 /x\n",
		"00400000-00401000 r-xp 00000000 08:01 99999999999999999999 /x\n",
		"00400000-00401000 r-xp 00000000 123456789:01 7 /x\n",
		"00401000-00400000 r-xp 00000000 08:01 7 /x\n",
		"00400000-00400000 r-xp 00000000 08:01 7 /x\n",
		"10000000000000000-10000000000000001 r-xp 0 08:01 7 /x\n",
		"0x400000-0x401000 r-xp 00000000 08:01 7 /x\n",
		" 00400000-00401000 r-xp 00000000 08:01 7 /x\n",
		"00400000-00401000  r-xp 00000000 08:01 7 /x\n",
		"00400000-00401000 r-xp\n",
		"00400000-00401000 r-xp 00000000 08:01\n",
		"00400000-00401000 r-xp 00000000 08:01 7\t/x\n",
		"00400000-",
		"-\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proc_maps *maps;

		errno = 0;
		maps = parse_str(bad[i]);
		if (maps)
			fail_msg("accepted malformed line %zu: \"%s\"", i, bad[i]);
		assert_int_equal(errno, EINVAL);
	}
}

static void test_nul_and_long_lines(void **state)
{
	static const char with_nul[] = "00400000-00401000 r-xp 00000000 08:01 7 /x\0y\n";
	size_t len = 20000;
	char *big = malloc(len + 1);
	const char *head = "00400000-00401000 r-xp 00000000 08:01 7 /";

	errno = 0;
	assert_null(parse_buf(with_nul, sizeof(with_nul) - 1));
	assert_int_equal(errno, EINVAL);

	/* a path of 20000 bytes: over the limit, refused */
	assert_non_null(big);
	memset(big, 'a', len);
	memcpy(big, head, strlen(head));
	big[len - 1] = '\n';
	big[len] = '\0';
	errno = 0;
	assert_null(parse_str(big));
	assert_int_equal(errno, EINVAL);

	/* a 4096-byte path (PATH_MAX) is fine */
	memset(big + strlen(head), 'b', 4096);
	big[strlen(head) + 4096] = '\n';
	big[strlen(head) + 4097] = '\0';
	{
		struct proc_maps *maps = parse_str(big);

		assert_non_null(maps);
		assert_int_equal(strlen(proc_maps__get(maps, 0)->path), 4097);
		proc_maps__free(maps);
	}
	free(big);
}

static bool is_libpython(const struct proc_map *m, const void *arg)
{
	const struct proc_map *first = arg;

	return proc_map__same_file(m, first);
}

static void test_find(void **state)
{
	struct proc_maps *maps = parse_str(fixture);
	const struct proc_map *m, *lib;
	int n = 0;

	assert_non_null(maps);
	lib = proc_maps__find_basename(maps, "libpython3.*.so*");
	assert_non_null(lib);
	assert_ptr_equal(lib, proc_maps__get(maps, 3));

	/* the directory part does not take part in the match */
	errno = 0;
	assert_null(proc_maps__find_basename(maps, "3.12.1"));
	assert_int_equal(errno, ENOENT);
	/* only files, not [vdso] */
	assert_null(proc_maps__find_basename(maps, "*vdso*"));
	m = proc_maps__find_basename(maps, "python3.[0-9]*");
	assert_ptr_equal(m, proc_maps__get(maps, 0));
	m = proc_maps__find_basename(maps, "lib with  spaces.so");
	assert_ptr_equal(m, proc_maps__get(maps, 11));

	m = proc_maps__find_path(maps, "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0");
	assert_ptr_equal(m, lib);
	assert_ptr_equal(proc_maps__find_path(maps, "[vdso]"), proc_maps__get(maps, 13));
	assert_ptr_equal(proc_maps__find_path(maps, "/memfd:jit code"), proc_maps__get(maps, 10));
	errno = 0;
	assert_null(proc_maps__find_path(maps, "/root/.pyenv/versions/3.12.1/lib"));
	assert_int_equal(errno, ENOENT);

	for (m = NULL; (m = proc_maps__find(maps, m, is_libpython, lib));)
		n++;
	assert_int_equal(n, 5);

	assert_ptr_equal(proc_maps__find_addr(maps, 0x7fa8d2d06000ull), proc_maps__get(maps, 4));
	assert_ptr_equal(proc_maps__find_addr(maps, 0x7fa8d2d05fffull), proc_maps__get(maps, 3));
	assert_ptr_equal(proc_maps__find_addr(maps, 0xffffffffff600fffull),
			 proc_maps__get(maps, 15));
	errno = 0;
	assert_null(proc_maps__find_addr(maps, 0x7fa8d33a4000ull));
	assert_int_equal(errno, ENOENT);
	assert_null(proc_maps__find_addr(maps, 0));

	/* same_file: anonymous mappings are never "the same file" */
	assert_true(proc_map__same_file(proc_maps__get(maps, 3), proc_maps__get(maps, 7)));
	assert_false(proc_map__same_file(proc_maps__get(maps, 0), proc_maps__get(maps, 3)));
	assert_false(proc_map__same_file(proc_maps__get(maps, 2), proc_maps__get(maps, 8)));
	assert_false(proc_map__same_file(NULL, lib));

	errno = 0;
	assert_null(proc_maps__find(maps, NULL, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(proc_maps__find_path(maps, NULL));
	assert_null(proc_maps__find_basename(NULL, "x"));
	proc_maps__free(maps);
}

static void test_read_self(void **state)
{
	struct proc_maps *maps = proc_maps__read(getpid());
	const struct proc_map *m;
	int on_stack = 0;

	assert_non_null(maps);
	assert_true(proc_maps__count(maps) > 3);
	m = proc_maps__find_addr(maps, (uintptr_t)&on_stack);
	assert_non_null(m);
	assert_string_equal(m->path, "[stack]");
	m = proc_maps__find_addr(maps, (uintptr_t)&test_read_self);
	assert_non_null(m);
	assert_int_equal(m->perms[2], 'x');
	assert_true(m->path[0] == '/');
	assert_non_null(proc_maps__find_basename(maps, "libc.so*"));
	proc_maps__free(maps);

	errno = 0;
	assert_null(proc_maps__read(0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(proc_maps__read(-1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	/* above the kernel's PID_MAX_LIMIT (4194304): never a process */
	assert_null(proc_maps__read(0x7ffffff0));
	assert_int_equal(errno, ENOENT);
}

/* A real mapping of an unlinked file with spaces in its name. */
static void test_read_self_deleted(void **state)
{
	char path[] = "/tmp/pyebpf test maps XXXXXX";
	struct proc_maps *maps;
	const struct proc_map *m;
	int fd = mkstemp(path);
	void *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	close(fd);

	maps = proc_maps__read(getpid());
	assert_non_null(maps);
	m = proc_maps__find_addr(maps, (uintptr_t)p);
	assert_non_null(m);
	assert_string_equal(m->path, path);
	assert_false(m->deleted);
	assert_true(m->inode != 0);
	assert_ptr_equal(proc_maps__find_path(maps, path), m);
	proc_maps__free(maps);

	assert_int_equal(unlink(path), 0);
	maps = proc_maps__read(getpid());
	assert_non_null(maps);
	m = proc_maps__find_addr(maps, (uintptr_t)p);
	assert_non_null(m);
	assert_string_equal(m->path, path);
	assert_true(m->deleted);
	proc_maps__free(maps);
	munmap(p, 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fixture),
		cmocka_unit_test(test_empty_and_edges),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_read_self_deleted),
	};

	return cmocka_run_group_tests_name("proc_maps", tests, NULL, NULL);
}
