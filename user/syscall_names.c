// SPDX-License-Identifier: MIT
#include "syscall_names.h"

#include <stddef.h>
#include <string.h>

#include "syscall_table.h" /* generated: syscall_table[nr] = "name" */

/*
 * 6.7's futex2 calls, for builds whose kernel headers predate them (Debian
 * 12's are 6.1) profiling a newer kernel. Calls from 424 on share one
 * number across architectures, but a few add a base (mips, alpha): listed
 * only for the two checked.
 */
static const char *syscall_name_newer(long nr)
{
#if defined(__x86_64__) || defined(__aarch64__)
	switch (nr) {
	case 454:
		return "futex_wake";
	case 455:
		return "futex_wait";
	case 456:
		return "futex_requeue";
	}
#endif
	return NULL;
}

const char *syscall_name(long nr)
{
	const size_t n = sizeof(syscall_table) / sizeof(syscall_table[0]);

	if (nr < 0)
		return NULL;
	if ((unsigned long)nr < n && syscall_table[nr])
		return syscall_table[nr];
	return syscall_name_newer(nr);
}

bool syscall_is_futex(long nr)
{
	const char *name = syscall_name(nr);

	return name && !strncmp(name, "futex", 5) && (name[5] == '\0' || name[5] == '_');
}
