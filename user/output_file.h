/* SPDX-License-Identifier: MIT */
/*
 * The file a profile is written to. It is created (as a temporary file
 * next to its final name) before profiling starts, so an unwritable path
 * fails at once; it gets its final name only when complete, so an old file
 * of that name survives a failed run.
 */
#ifndef PYEBPF_OUTPUT_FILE_H
#define PYEBPF_OUTPUT_FILE_H

#include <stddef.h>
#include <stdio.h>

struct output_file;

/*
 * Prepare `path`; with path NULL, a new name "<stem>-<YYYYmmdd-HHMMSS>.<ext>"
 * in the current directory that never replaces an existing file. NULL with
 * errno and a one-line reason in `why` on failure.
 */
struct output_file *output_file__new(const char *path, const char *stem, const char *ext, char *why,
				     size_t why_size);

/* The stream to write the profile to. */
FILE *output_file__stream(struct output_file *of);

/* The name the file has (or will have once committed). */
const char *output_file__path(const struct output_file *of);

/* Flush, close and give the file its final name. 0 or -errno. */
int output_file__commit(struct output_file *of);

/* Remove the temporary file unless committed, and free. Accepts NULL. */
void output_file__free(struct output_file *of);

#endif /* PYEBPF_OUTPUT_FILE_H */
