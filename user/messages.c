// SPDX-License-Identifier: MIT
#include "messages.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static void message(const char *prefix, const char *fmt, va_list ap)
{
	flockfile(stderr); /* the agent's threads print too */
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void pyebpf_message(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("pyebpf: ", fmt, ap);
	va_end(ap);
}

void pyebpf_agent_message(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message("pyebpf agent: ", fmt, ap);
	va_end(ap);
}

double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
