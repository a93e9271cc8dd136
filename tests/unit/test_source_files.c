// SPDX-License-Identifier: MIT
/* Unit tests for user/source_files.c: kinds and short names of source
 * files, and user/process_cmdline.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process_cmdline.h"
#include "source_files.h"

static void test_kinds(void **state)
{
	static const struct {
		const char *path;
		enum profile_frame_kind kind;
	} cases[] = {
		{"/srv/app/main.py", PROFILE_FRAME_PYTHON},
		{"main.py", PROFILE_FRAME_PYTHON},
		{"<string>", PROFILE_FRAME_PYTHON},
		{"/usr/lib/python3.11/threading.py", PROFILE_FRAME_STDLIB},
		{"/root/.pyenv/versions/3.12.1/lib/python3.12/json/decoder.py",
		 PROFILE_FRAME_STDLIB},
		{"/usr/lib64/python3.9/socket.py", PROFILE_FRAME_STDLIB},
		{"/opt/py/lib/python3.13/lib-dynload/x.py", PROFILE_FRAME_STDLIB},
		{"/opt/embed/python312.zip/json/__init__.py", PROFILE_FRAME_STDLIB},
		{"<frozen importlib._bootstrap>", PROFILE_FRAME_STDLIB},
		{"/venv/lib/python3.12/site-packages/requests/api.py", PROFILE_FRAME_LIBRARY},
		{"/usr/lib/python3/dist-packages/yaml/loader.py", PROFILE_FRAME_LIBRARY},
		{"/home/u/.local/lib/python3.11/site-packages/x.py", PROFILE_FRAME_LIBRARY},
		/* look-alikes that are not the standard library */
		{"/srv/lib/python/app.py", PROFILE_FRAME_PYTHON},
		{"/srv/lib/python3/app.py", PROFILE_FRAME_PYTHON},
		{"/srv/lib/python3.x/app.py", PROFILE_FRAME_PYTHON},
		{"/srv/mylib/python3.12/app.py", PROFILE_FRAME_PYTHON},
		{"/srv/site-packages.py", PROFILE_FRAME_PYTHON},
		{"", PROFILE_FRAME_PYTHON},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (source_file_kind(cases[i].path) != cases[i].kind)
			fail_msg("%s: kind %s, want %s", cases[i].path,
				 profile_frame_kind_name(source_file_kind(cases[i].path)),
				 profile_frame_kind_name(cases[i].kind));
	assert_int_equal(source_file_kind(NULL), PROFILE_FRAME_PYTHON);
}

/* Packages of a pretend file system: every directory listed has an
 * __init__.py. */
static bool fake_is_package(const char *dir, void *ctx)
{
	for (const char *const *p = ctx; *p; p++)
		if (!strcmp(*p, dir))
			return true;
	return false;
}

static void test_short_names(void **state)
{
	static const char *const packages[] = {
		"/venv/lib/python3.12/site-packages/requests",
		"/venv/lib/python3.12/site-packages/requests/adapters",
		"/usr/lib/python3.12/json",
		"/", /* never asked: the walk stops below the root */
		NULL,
	};
	static const struct {
		const char *path, *want;
	} cases[] = {
		{"/srv/app/main.py", "main.py"},
		{"/venv/lib/python3.12/site-packages/requests/api.py", "requests/api.py"},
		{"/venv/lib/python3.12/site-packages/requests/adapters/http.py",
		 "requests/adapters/http.py"},
		{"/usr/lib/python3.12/threading.py", "threading.py"},
		{"/usr/lib/python3.12/json/decoder.py", "json/decoder.py"},
		{"/main.py", "main.py"},
		{"main.py", "main.py"},
		{"<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>"},
		{"/srv/app/", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
			source_file_short_name(cases[i].path, fake_is_package, (void *)packages),
			cases[i].want);
	assert_null(source_file_short_name(NULL, fake_is_package, (void *)packages));
}

/* Through /proc/PID/root of this process, on a real directory tree. */
static void test_short_names_on_disk(void **state)
{
	char dir[] = "/tmp/pyebpf-srcXXXXXX", path[PATH_MAX], file[PATH_MAX + 32];
	struct source_files *sf;
	const char *a, *b;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pkg", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/pkg/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(file, sizeof(file), "%s/pkg/__init__.py", dir);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	snprintf(file, sizeof(file), "%s/pkg/sub/__init__.py", dir);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);

	sf = source_files__new(getpid());
	assert_non_null(sf);
	snprintf(file, sizeof(file), "%s/pkg/sub/mod.py", dir);
	a = source_files__short_name(sf, file);
	assert_string_equal(a, "pkg/sub/mod.py");
	/* the second time from the cache: the same string */
	b = source_files__short_name(sf, file);
	assert_ptr_equal(a, b);
	snprintf(file, sizeof(file), "%s/top.py", dir);
	assert_string_equal(source_files__short_name(sf, file), "top.py");
	/* a file that does not exist: only its name */
	assert_string_equal(source_files__short_name(sf, "/no/such/dir/x.py"), "x.py");
	source_files__free(sf);
	source_files__free(NULL);

	snprintf(file, sizeof(file), "rm -rf '%s'", dir);
	assert_int_equal(system(file), 0);
}

static void test_cmdline_format(void **state)
{
	char buf[32];

	process_cmdline_format("python3\0app.py\0--port\0"
			       "8000\0",
			       26, buf, sizeof(buf));
	assert_string_equal(buf, "python3 app.py --port 8000");
	process_cmdline_format("a\tb\nc\0", 6, buf, sizeof(buf));
	assert_string_equal(buf, "a?b?c");
	process_cmdline_format("0123456789012345678901234567890123456789", 40, buf, 8);
	assert_string_equal(buf, "0123456");
	process_cmdline_format("", 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_cmdline_of_self(void **state)
{
	char buf[4096];

	assert_int_equal(process_cmdline(getpid(), buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "test_source_files"));
	assert_int_equal(process_cmdline(0x7ffffff0, buf, sizeof(buf)), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_short_names),
		cmocka_unit_test(test_short_names_on_disk),
		cmocka_unit_test(test_cmdline_format),
		cmocka_unit_test(test_cmdline_of_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
