/* SPDX-License-Identifier: MIT */
/*
 * What a Python source file is, from the path its code object names:
 *   - its kind: the application's code, the standard library, or an
 *     installed package (site-packages, dist-packages), for colouring;
 *   - its short name, as py-spy shows it: the path from the first
 *     directory up that is not a package (has no __init__.py), so
 *     "/srv/venv/lib/python3.12/site-packages/requests/api.py" reads
 *     "requests/api.py" and "/usr/lib/python3.12/threading.py"
 *     "threading.py".
 * Directories are looked at through /proc/PID/root, so containers work.
 */
#ifndef PYEBPF_SOURCE_FILES_H
#define PYEBPF_SOURCE_FILES_H

#include <stdbool.h>
#include <sys/types.h>

#include "profile.h"

/*
 * The kind of Python code in `path` (PROFILE_FRAME_PYTHON, _STDLIB or
 * _LIBRARY), from the path alone: site-packages/dist-packages are
 * installed packages; "/lib/pythonX.Y/" (and "/lib64/...", "pythonXY.zip")
 * and frozen modules ("<frozen ...>") are the standard library; anything
 * else, including relative paths and "<string>", is the application's.
 */
enum profile_frame_kind source_file_kind(const char *path);

/* Whether `dir` (absolute, no trailing slash) is a package; a test seam. */
typedef bool (*is_package_fn)(const char *dir, void *ctx);

/*
 * The short name of `path`: a suffix of it (a pointer into `path`), or
 * `path` itself when it is not absolute. Pure: asks is_package about each
 * directory, innermost first, and stops at the first that is not one.
 */
const char *source_file_short_name(const char *path, is_package_fn is_package, void *ctx);

struct source_files;

/* For process `pid`. NULL with errno on failure. */
struct source_files *source_files__new(pid_t pid);
void source_files__free(struct source_files *sf); /* accepts NULL */

/*
 * The short name of `path`, looked up once per distinct path (later calls
 * are a hash lookup). The result is owned by sf and valid until
 * source_files__free(). Returns `path` itself if memory runs out.
 */
const char *source_files__short_name(struct source_files *sf, const char *path);

#endif /* PYEBPF_SOURCE_FILES_H */
