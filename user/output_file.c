// SPDX-License-Identifier: MIT
#include "output_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct output_file {
	char path[4096];
	char tmp[4200];
	FILE *stream;
	bool generated_name; /* never replace an existing file */
	size_t ext_len;	     /* of a generated name: the length of ".ext" */
	bool committed;
};

struct output_file *output_file__new(const char *path, const char *stem, const char *ext, char *why,
				     size_t why_size)
{
	struct output_file *of = calloc(1, sizeof(*of));
	struct stat st;
	int fd, err;

	if (!of)
		return NULL;
	if (path) {
		if (strlen(path) >= sizeof(of->path)) {
			snprintf(why, why_size, "cannot write '%.64s...': path too long", path);
			free(of);
			errno = ENAMETOOLONG;
			return NULL;
		}
		/* a directory can never be replaced by the profile: say so now */
		if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
			snprintf(why, why_size, "cannot write '%s': %s", path, strerror(EISDIR));
			free(of);
			errno = EISDIR;
			return NULL;
		}
		snprintf(of->path, sizeof(of->path), "%s", path);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(of->path, sizeof(of->path), "%s-%s.%s", stem, stamp, ext);
		of->generated_name = true;
		of->ext_len = strlen(ext) + 1;
	}

	snprintf(of->tmp, sizeof(of->tmp), "%s.XXXXXX", of->path);
	fd = mkstemp(of->tmp);
	if (fd < 0) {
		err = errno;
		snprintf(why, why_size, "cannot write '%s': %s", of->path, strerror(err));
		free(of);
		errno = err;
		return NULL;
	}
	fchmod(fd, 0644);
	of->stream = fdopen(fd, "w");
	if (!of->stream) {
		err = errno;
		close(fd);
		unlink(of->tmp);
		free(of);
		errno = err;
		return NULL;
	}
	return of;
}

FILE *output_file__stream(struct output_file *of)
{
	return of->stream;
}

const char *output_file__path(const struct output_file *of)
{
	return of->path;
}

int output_file__commit(struct output_file *of)
{
	int err = 0, n;
	char base[4096];

	if (fflush(of->stream) || ferror(of->stream) || fsync(fileno(of->stream)))
		err = errno ? -errno : -EIO;
	if (fclose(of->stream) && !err)
		err = -errno;
	of->stream = NULL;
	if (err)
		return err;

	if (!of->generated_name) {
		if (rename(of->tmp, of->path))
			return -errno;
		of->committed = true;
		return 0;
	}
	/* link() fails instead of replacing: find a free name */
	snprintf(base, sizeof(base), "%s", of->path);
	for (n = 1; n < 1000; n++) {
		if (!link(of->tmp, of->path)) {
			unlink(of->tmp);
			of->committed = true;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
		/* the number goes before the whole extension: x-1.speedscope.json */
		size_t len = strlen(base), ext_len = of->ext_len <= len ? of->ext_len : 0;

		snprintf(of->path, sizeof(of->path), "%.*s-%d%s", (int)(len - ext_len), base, n,
			 base + len - ext_len);
	}
	return -EEXIST;
}

void output_file__free(struct output_file *of)
{
	if (!of)
		return;
	if (of->stream)
		fclose(of->stream);
	if (!of->committed)
		unlink(of->tmp);
	free(of);
}
