/* SPDX-License-Identifier: MIT */
/*
 * A writer's output in memory, for tests that look into it. A writer is
 * int write(const void *ctx, FILE *out), the kind golden.h checks; a
 * report writer, int X_output__write(const struct report *, FILE *), goes
 * with its report in a struct report_writer.
 *
 *   char *out = report_output_text(speedscope_output__write, &r);
 *
 *   expect_contains(out, "\"exporter\":\"pyebpf\"");
 *   free(out);
 */
#ifndef PYEBPF_TEST_WRITER_OUTPUT_H
#define PYEBPF_TEST_WRITER_OUTPUT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef int writer_fn(const void *ctx, FILE *out);

/*
 * write(ctx, f) into memory; the test fails unless it returns 0. *len gets
 * the output's length; the buffer, NUL-terminated, is the caller's to free().
 */
static __attribute__((unused)) char *writer_output(writer_fn *write, const void *ctx, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(write(ctx, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* writer_output() of text: a NUL byte in it fails the test too. */
static __attribute__((unused)) char *writer_output_text(writer_fn *write, const void *ctx)
{
	size_t len = 0;
	char *buf = writer_output(write, ctx, &len);

	assert_int_equal(strlen(buf), len);
	return buf;
}

struct report;
typedef int report_write_fn(const struct report *r, FILE *out);

/* A report writer and its report: the ctx of report_writer_write(). */
struct report_writer {
	report_write_fn *write;
	const struct report *report;
};

/* The writer_fn of a struct report_writer. */
static __attribute__((unused)) int report_writer_write(const void *ctx, FILE *out)
{
	const struct report_writer *rw = ctx;

	return rw->write(rw->report, out);
}

/* report_writer_write() into /dev/null, for fault_each_allocation(). */
static __attribute__((unused)) int report_writer_to_null(void *ctx)
{
	FILE *f = fopen("/dev/null", "w");
	int err;

	assert_non_null(f);
	err = report_writer_write(ctx, f);
	assert_int_equal(fclose(f), 0);
	return err;
}

/* writer_output() of write(r). */
static __attribute__((unused)) char *report_output(report_write_fn *write, const struct report *r,
						   size_t *len)
{
	struct report_writer rw = {write, r};

	return writer_output(report_writer_write, &rw, len);
}

/* writer_output_text() of write(r). */
static __attribute__((unused)) char *report_output_text(report_write_fn *write,
							const struct report *r)
{
	struct report_writer rw = {write, r};

	return writer_output_text(report_writer_write, &rw);
}

/* Longer outputs are not repeated in a failure message. */
#define WRITER_OUTPUT_SHOWN 4096

static __attribute__((unused)) void expect_contains(const char *out, const char *needle)
{
	if (strstr(out, needle))
		return;
	if (strlen(out) <= WRITER_OUTPUT_SHOWN)
		fail_msg("missing '%s' in:\n%s", needle, out);
	fail_msg("missing '%s'", needle);
}

static __attribute__((unused)) void expect_not_contains(const char *out, const char *needle)
{
	if (strstr(out, needle))
		fail_msg("unexpected '%s'", needle);
}

#endif /* PYEBPF_TEST_WRITER_OUTPUT_H */
