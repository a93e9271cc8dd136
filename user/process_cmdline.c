// SPDX-License-Identifier: MIT
#include "process_cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

void process_cmdline_format(const char *raw, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	if (!size)
		return;
	/* the last argument's NUL is a terminator, not a separator */
	while (len && raw[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = raw[i];

		buf[n++] = c == '\0' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[n] = '\0';
}

int process_cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64], raw[4096];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	len = read(fd, raw, sizeof(raw));
	close(fd);
	if (len < 0)
		return -errno;
	if (len == 0)
		return -ENOENT;
	process_cmdline_format(raw, (size_t)len, buf, size);
	return 0;
}
