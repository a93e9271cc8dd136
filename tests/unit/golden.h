/* SPDX-License-Identifier: MIT */
/*
 * Golden files: a writer's output compared byte for byte with
 * tests/golden/NAME (paths are relative to the repository root, where the
 * unit tests run). With PYEBPF_UPDATE_GOLDENS=1 the file is rewritten
 * instead, and the test passes; review the diff before committing it.
 *
 * With PYEBPF_WRITE_FIXTURE_OUTPUTS=DIR, golden_check_output() also writes
 * the output to DIR/NAME, so the real consumers can read it
 * (tests/formats/check_fixture_outputs.sh).
 */
#ifndef PYEBPF_TEST_GOLDEN_H
#define PYEBPF_TEST_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN_DIR "tests/golden/"

/* At most 120 bytes of s[from..len), for a readable failure message. */
static __attribute__((unused)) int golden_span(size_t from, size_t len)
{
	size_t n = len > from ? len - from : 0;

	return (int)(n < 120 ? n : 120);
}

/* The first differing byte, printed with some context. */
static __attribute__((unused)) void golden_report_diff(const char *name, const char *got,
						       size_t got_len, const char *want,
						       size_t want_len)
{
	size_t i = 0, from;

	while (i < got_len && i < want_len && got[i] == want[i])
		i++;
	from = i > 60 ? i - 60 : 0;
	fprintf(stderr, "golden %s: differs at byte %zu (got %zu bytes, want %zu)\n", name, i,
		got_len, want_len);
	fprintf(stderr, "  got:  %.*s\n", golden_span(from, got_len), got + from);
	fprintf(stderr, "  want: %.*s\n", golden_span(from, want_len), want + from);
	fprintf(stderr, "  (PYEBPF_UPDATE_GOLDENS=1 rewrites the golden file)\n");
}

/* 0 when buf[0..len) equals the golden file `name` (or it was rewritten),
 * -1 otherwise, with the difference on stderr. */
static __attribute__((unused)) int golden_check(const char *name, const void *buf, size_t len)
{
	char path[512];
	const char *update = getenv("PYEBPF_UPDATE_GOLDENS");
	FILE *f;
	char *want;
	long want_len;
	int ret;

	snprintf(path, sizeof(path), GOLDEN_DIR "%s", name);
	if (update && !strcmp(update, "1")) {
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			fprintf(stderr, "golden %s: cannot write %s\n", name, path);
			return -1;
		}
		return 0;
	}
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "golden %s: missing %s (PYEBPF_UPDATE_GOLDENS=1 makes it)\n", name,
			path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	want_len = ftell(f);
	rewind(f);
	want = malloc(want_len > 0 ? want_len : 1);
	if (!want || fread(want, 1, want_len, f) != (size_t)want_len) {
		fclose(f);
		free(want);
		return -1;
	}
	fclose(f);
	ret = (size_t)want_len == len && !memcmp(want, buf, len) ? 0 : -1;
	if (ret)
		golden_report_diff(name, buf, len, want, want_len);
	free(want);
	return ret;
}

/* Runs write(ctx, FILE *) into memory and checks the bytes against the
 * golden file; a writer error fails too. */
static __attribute__((unused)) int
golden_check_writer(const char *name, int (*write)(const void *ctx, FILE *out), const void *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	int err, ret;

	if (!out)
		return -1;
	err = write(ctx, out);
	if (fclose(out) || err) {
		fprintf(stderr, "golden %s: writer failed: %d\n", name, err);
		free(buf);
		return -1;
	}
	ret = golden_check(name, buf, len);
	free(buf);
	return ret;
}

/* Writes write(ctx)'s output to $PYEBPF_WRITE_FIXTURE_OUTPUTS/name when
 * that is set: 0, or -1 on failure. */
static __attribute__((unused)) int
fixture_output_save(const char *name, int (*write)(const void *ctx, FILE *out), const void *ctx)
{
	const char *dir = getenv("PYEBPF_WRITE_FIXTURE_OUTPUTS");
	char path[512];
	FILE *f;
	int err;

	if (!dir || !*dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "fixture output %s: cannot write %s\n", name, path);
		return -1;
	}
	err = write(ctx, f);
	if (fclose(f) || err) {
		fprintf(stderr, "fixture output %s: writer failed: %d\n", name, err);
		return -1;
	}
	return 0;
}

/* golden_check_writer(), then fixture_output_save() of the same output. */
static __attribute__((unused)) int
golden_check_output(const char *name, int (*write)(const void *ctx, FILE *out), const void *ctx)
{
	if (golden_check_writer(name, write, ctx))
		return -1;
	return fixture_output_save(name, write, ctx);
}

#endif /* PYEBPF_TEST_GOLDEN_H */
