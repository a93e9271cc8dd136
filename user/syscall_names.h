/* SPDX-License-Identifier: MIT */
/*
 * System call numbers to names, for the architecture pyebpf is built for.
 *
 * The table is generated at build time from that architecture's
 * <asm/unistd.h> (tools/gen_syscall_table.sh), so it knows the calls of the
 * kernel headers the build used. A few newer calls that matter to a
 * profiler (the futex2 family, 6.7) are known even when those headers are
 * older: their numbers are the same on x86_64 and arm64.
 */
#ifndef PYEBPF_SYSCALL_NAMES_H
#define PYEBPF_SYSCALL_NAMES_H

#include <stdbool.h>

/*
 * The name of system call nr without prefix ("read", "epoll_wait",
 * "clock_nanosleep"), in static storage, or NULL for a number the table does
 * not know (negative ones included; x86_64's x32 numbers are not in it).
 */
const char *syscall_name(long nr);

/*
 * True if nr is one of the futex calls (futex, futex_waitv, futex_wake,
 * futex_wait, futex_requeue, and 32-bit arches' futex_time64), through
 * which threads wait for and hand over the GIL, locks and conditions.
 */
bool syscall_is_futex(long nr);

#endif /* PYEBPF_SYSCALL_NAMES_H */
