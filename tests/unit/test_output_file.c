// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/output_file.c: fail early on an unwritable path,
 * appear only on commit, never clobber a file under a generated name,
 * leave nothing behind when abandoned. Each test works in its own
 * temporary directory, which it also makes the current one.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "output_file.h"

struct dir {
	char path[64];
	char old_cwd[PATH_MAX];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d || !getcwd(d->old_cwd, sizeof(d->old_cwd)))
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/pyebpf-output-XXXXXX");
	if (!mkdtemp(d->path) || chdir(d->path))
		return -1;
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	DIR *dir;
	struct dirent *e;

	if (!d)
		return 0;
	if (chdir(d->old_cwd))
		return -1;
	dir = opendir(d->path);
	if (dir) {
		while ((e = readdir(dir))) {
			char p[512];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
			if (unlink(p))
				rmdir(p);
		}
		closedir(dir);
	}
	rmdir(d->path);
	free(d);
	return 0;
}

/* Names in the current directory, sorted, joined by spaces. */
static char *listing(void)
{
	struct dirent **names;
	char *out = calloc(1, 8192);
	int n = scandir(".", &names, NULL, alphasort);

	assert_non_null(out);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (out[0])
				strcat(out, " ");
			assert_true(strlen(out) + strlen(names[i]->d_name) < 8000);
			strcat(out, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static int entries(void)
{
	char *l = listing();
	int n = 0;

	for (char *p = l; *p; p++)
		n += *p == ' ';
	n += l[0] != '\0';
	free(l);
	return n;
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, or NULL if it does not exist. Free it. */
static char *read_file(const char *path)
{
	char *buf = calloc(1, 4096);
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(buf);
	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void expect_content(const char *path, const char *want)
{
	char *got = read_file(path);

	if (!got)
		fail_msg("%s does not exist", path);
	assert_string_equal(got, want);
	free(got);
}

static void expect_absent(const char *path)
{
	if (access(path, F_OK) == 0)
		fail_msg("%s exists", path);
	assert_int_equal(errno, ENOENT);
}

static void expect_new_fails(const char *path, int want_errno)
{
	char why[512] = "";
	struct output_file *of;

	errno = 0;
	of = output_file__new(path, "pyebpf", "txt", why, sizeof(why));
	if (of) {
		output_file__free(of);
		fail_msg("output_file__new(\"%s\") succeeded", path);
	}
	if (want_errno)
		assert_int_equal(errno, want_errno);
	else
		assert_int_not_equal(errno, 0);
	/* the reason names the path and says why, on one line */
	assert_non_null(strstr(why, "cannot write"));
	assert_null(strchr(why, '\n'));
	if (strlen(path) < 64)
		assert_non_null(strstr(why, path));
}

static void test_unwritable_paths(void **state)
{
	char long_path[5000];

	expect_new_fails("/nonexistent-pyebpf-dir/out.txt", ENOENT);
	expect_new_fails("missing-subdir/out.txt", ENOENT);
	/* a directory component that is a file */
	write_file("plain", "x");
	expect_new_fails("plain/out.txt", ENOTDIR);
	/* a read-only file system */
	expect_new_fails("/proc/pyebpf-out.txt", 0);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	expect_new_fails(long_path, ENAMETOOLONG);
	/* nothing was left behind */
	assert_int_equal(entries(), 1);
}

/* A directory can never be replaced by the profile: say so before the
 * run, not after it. */
static void test_directory_path(void **state)
{
	struct dir *d = *state;

	assert_int_equal(mkdir("sub", 0755), 0);
	expect_new_fails("sub", EISDIR);
	expect_new_fails("sub/", EISDIR);
	expect_new_fails(d->path, EISDIR);
	expect_new_fails(".", EISDIR);
	{
		char *l = listing();

		assert_string_equal(l, "sub");
		free(l);
	}
	assert_int_equal(rmdir("sub"), 0);
}

static void test_commit_renames_into_place(void **state)
{
	char why[256] = "";
	struct output_file *of = output_file__new("out.folded", "pyebpf", "txt", why, sizeof(why));
	struct stat st;
	char *l;

	assert_non_null(of);
	assert_string_equal(output_file__path(of), "out.folded");
	assert_non_null(output_file__stream(of));
	assert_true(fputs("a;b 1\n", output_file__stream(of)) >= 0);

	/* before the commit: only a temporary file, next to the final name */
	expect_absent("out.folded");
	l = listing();
	assert_int_equal(strncmp(l, "out.folded.", 11), 0);
	assert_null(strchr(l, ' '));
	free(l);

	assert_int_equal(output_file__commit(of), 0);
	assert_string_equal(output_file__path(of), "out.folded");
	expect_content("out.folded", "a;b 1\n");
	assert_int_equal(stat("out.folded", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* the temporary file is gone */
	l = listing();
	assert_string_equal(l, "out.folded");
	free(l);

	output_file__free(of);
	expect_content("out.folded", "a;b 1\n");
	assert_int_equal(entries(), 1);
}

static void test_commit_absolute_path(void **state)
{
	struct dir *d = *state;
	char path[256], why[256];
	struct output_file *of;

	assert_int_equal(chdir("/"), 0);
	snprintf(path, sizeof(path), "%s/abs.txt", d->path);
	of = output_file__new(path, "pyebpf", "txt", why, sizeof(why));
	assert_non_null(of);
	fputs("x 1\n", output_file__stream(of));
	assert_int_equal(output_file__commit(of), 0);
	output_file__free(of);
	expect_content(path, "x 1\n");
	assert_int_equal(chdir(d->path), 0);
	assert_int_equal(entries(), 1);
}

/* An explicit name is the user's wish: it replaces the old file, but only
 * once the new one is complete. */
static void test_explicit_name_replaces_on_commit(void **state)
{
	char why[256];
	struct output_file *of;

	write_file("out.txt", "old\n");
	of = output_file__new("out.txt", "pyebpf", "txt", why, sizeof(why));
	assert_non_null(of);
	fputs("new\n", output_file__stream(of));
	fflush(output_file__stream(of));
	expect_content("out.txt", "old\n");
	assert_int_equal(output_file__commit(of), 0);
	output_file__free(of);
	expect_content("out.txt", "new\n");
	assert_int_equal(entries(), 1);
}

static void test_free_without_commit(void **state)
{
	char why[256];
	struct output_file *of;

	/* no file of that name: nothing at all afterwards */
	of = output_file__new("out.txt", "pyebpf", "txt", why, sizeof(why));
	assert_non_null(of);
	fputs("partial", output_file__stream(of));
	assert_int_equal(entries(), 1);
	output_file__free(of);
	assert_int_equal(entries(), 0);

	/* an existing file of that name survives, untouched */
	write_file("out.txt", "precious\n");
	of = output_file__new("out.txt", "pyebpf", "txt", why, sizeof(why));
	assert_non_null(of);
	fputs("partial", output_file__stream(of));
	fflush(output_file__stream(of));
	output_file__free(of);
	expect_content("out.txt", "precious\n");
	assert_int_equal(entries(), 1);

	/* a generated name, abandoned */
	assert_int_equal(unlink("out.txt"), 0);
	of = output_file__new(NULL, "pyebpf-42", "txt", why, sizeof(why));
	assert_non_null(of);
	fputs("partial", output_file__stream(of));
	output_file__free(of);
	assert_int_equal(entries(), 0);

	output_file__free(NULL);
}

/* When a commit fails the caller frees, and no temporary file stays. */
static void test_failed_commit(void **state)
{
	char why[256];
	struct output_file *of;
	char *l;

	of = output_file__new("out.txt", "pyebpf", "txt", why, sizeof(why));
	assert_non_null(of);
	fputs("x 1\n", output_file__stream(of));
	/* something made the final name a directory meanwhile */
	assert_int_equal(mkdir("out.txt", 0755), 0);
	assert_true(output_file__commit(of) < 0);
	output_file__free(of);
	l = listing();
	assert_string_equal(l, "out.txt");
	free(l);
	assert_int_equal(rmdir("out.txt"), 0);
}

static void stamp(time_t t, char *out, size_t n)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, n, "%Y%m%d-%H%M%S", &tm);
}

/* "<stem>-YYYYmmdd-HHMMSS[-N].<ext>" */
static void check_generated_name(const char *path, const char *stem, const char *ext)
{
	size_t sl = strlen(stem), el = strlen(ext), len = strlen(path);
	const char *p = path + sl;

	if (strncmp(path, stem, sl) || p[0] != '-' || len < sl + 17 + el)
		fail_msg("\"%s\" is not %s-<time>.%s", path, stem, ext);
	for (int i = 1; i <= 15; i++)
		if (i == 9 ? p[i] != '-' : (p[i] < '0' || p[i] > '9'))
			fail_msg("\"%s\" has no timestamp", path);
	assert_string_equal(path + len - el, ext);
	assert_int_equal(path[len - el - 1], '.');
	assert_null(strchr(path, '/'));
}

static void test_generated_name(void **state)
{
	char why[256];
	struct output_file *of = output_file__new(NULL, "pyebpf-1234", "txt", why, sizeof(why));
	char path[512];

	assert_non_null(of);
	check_generated_name(output_file__path(of), "pyebpf-1234", "txt");
	fputs("a 1\n", output_file__stream(of));
	assert_int_equal(output_file__commit(of), 0);
	snprintf(path, sizeof(path), "%s", output_file__path(of));
	check_generated_name(path, "pyebpf-1234", "txt");
	output_file__free(of);
	expect_content(path, "a 1\n");
	assert_int_equal(entries(), 1);
}

/* A taken name gets its number before a two-part extension, whole. */
static void test_generated_name_two_part_extension(void **state)
{
	char why[256], name[128], st[32];
	time_t now = time(NULL);
	struct output_file *of;
	const char *got;
	size_t len;

	for (int dt = -1; dt <= 2; dt++) {
		stamp(now + dt, st, sizeof(st));
		snprintf(name, sizeof(name), "p-%s.speedscope.json", st);
		write_file(name, "old\n");
	}
	of = output_file__new(NULL, "p", "speedscope.json", why, sizeof(why));
	assert_non_null(of);
	assert_int_equal(output_file__commit(of), 0);
	got = output_file__path(of);
	len = strlen(got);
	assert_true(len > 18);
	assert_string_equal(got + len - 18, "-1.speedscope.json");
	check_generated_name(got, "p", "speedscope.json");
	output_file__free(of);
}

/*
 * Generated names embed the current second: occupy that name (and its
 * "-1" variant) for this second and the next few, so whichever second
 * output_file__new() sees, its first choices are all taken.
 */
static void test_generated_name_never_replaces(void **state)
{
	char names[8][128], why[256], got[512];
	time_t now = time(NULL);
	struct output_file *of[3];
	int n = 0;

	for (int dt = -1; dt <= 2; dt++) {
		char st[32];

		stamp(now + dt, st, sizeof(st));
		snprintf(names[n], sizeof(names[n]), "prof-%s.txt", st);
		write_file(names[n], "old\n");
		n++;
		snprintf(names[n], sizeof(names[n]), "prof-%s-1.txt", st);
		write_file(names[n], "old\n");
		n++;
	}

	/* three at once, committed in the same second */
	for (int i = 0; i < 3; i++) {
		of[i] = output_file__new(NULL, "prof", "txt", why, sizeof(why));
		assert_non_null(of[i]);
		fprintf(output_file__stream(of[i]), "new %d\n", i);
	}
	for (int i = 0; i < 3; i++) {
		char want[16];

		assert_int_equal(output_file__commit(of[i]), 0);
		snprintf(got, sizeof(got), "%s", output_file__path(of[i]));
		check_generated_name(got, "prof", "txt");
		for (int j = 0; j < n; j++)
			if (!strcmp(got, names[j]))
				fail_msg("committed over the existing %s", got);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(got, output_file__path(of[j]));
		snprintf(want, sizeof(want), "new %d\n", i);
		expect_content(got, want);
	}
	for (int i = 0; i < 3; i++)
		output_file__free(of[i]);
	for (int j = 0; j < n; j++)
		expect_content(names[j], "old\n");
	assert_int_equal(entries(), n + 3);
}

#define DIR_TEST(t) cmocka_unit_test_setup_teardown(t, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		DIR_TEST(test_unwritable_paths),
		DIR_TEST(test_directory_path),
		DIR_TEST(test_commit_renames_into_place),
		DIR_TEST(test_commit_absolute_path),
		DIR_TEST(test_explicit_name_replaces_on_commit),
		DIR_TEST(test_free_without_commit),
		DIR_TEST(test_failed_commit),
		DIR_TEST(test_generated_name),
		DIR_TEST(test_generated_name_never_replaces),
		DIR_TEST(test_generated_name_two_part_extension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
