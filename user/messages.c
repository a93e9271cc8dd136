// SPDX-License-Identifier: MIT
#include "messages.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void pyebpf_message(const char *fmt, ...)
{
	va_list ap;

	fputs("pyebpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
