// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/system_checks.c: which effective capability sets
 * allow profiling. Profiling needs BPF and perf events (CAP_BPF and
 * CAP_PERFMON, or CAP_SYS_ADMIN from before 5.8 that covers both) and
 * reading other processes' memory (CAP_SYS_PTRACE, which CAP_SYS_ADMIN
 * does not cover).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "system_checks.h"

#define CAP(n) (1ull << (n))
#define CAP_SYS_PTRACE_BIT CAP(19)
#define CAP_SYS_ADMIN_BIT CAP(21)
#define CAP_PERFMON_BIT CAP(38)
#define CAP_BPF_BIT CAP(39)

#define MODERN (CAP_BPF_BIT | CAP_PERFMON_BIT | CAP_SYS_PTRACE_BIT)
#define LEGACY (CAP_SYS_ADMIN_BIT | CAP_SYS_PTRACE_BIT)

/* what root gets on a 6.x kernel: capabilities 0 to 40 */
#define ROOT_CAPS 0x000001ffffffffffull

static void test_sufficient_sets(void **state)
{
	static const unsigned long long ok[] = {
		MODERN,
		LEGACY,
		ROOT_CAPS,
		~0ull,
		MODERN | CAP_SYS_ADMIN_BIT,
		/* CAP_SYS_ADMIN stands in for either of BPF and PERFMON */
		LEGACY | CAP_BPF_BIT,
		LEGACY | CAP_PERFMON_BIT,
		/* unrelated bits change nothing */
		MODERN | CAP(0) | CAP(1) | CAP(12) | CAP(63),
		LEGACY | CAP(7) | CAP(40),
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!system_caps_sufficient(ok[i]))
			fail_msg("CapEff %#llx should be sufficient", ok[i]);
}

static void test_insufficient_sets(void **state)
{
	static const unsigned long long bad[] = {
		0,
		/* one of the three missing */
		CAP_BPF_BIT | CAP_PERFMON_BIT,
		CAP_BPF_BIT | CAP_SYS_PTRACE_BIT,
		CAP_PERFMON_BIT | CAP_SYS_PTRACE_BIT,
		CAP_BPF_BIT,
		CAP_PERFMON_BIT,
		CAP_SYS_PTRACE_BIT,
		/* CAP_SYS_ADMIN does not let us read other processes' memory */
		CAP_SYS_ADMIN_BIT,
		CAP_SYS_ADMIN_BIT | CAP_BPF_BIT | CAP_PERFMON_BIT,
		/* neighbours of the right bits */
		CAP(18) | CAP(20) | CAP(22) | CAP(37) | CAP(40),
		CAP(37) | CAP(38) | CAP(19),
		CAP(38) | CAP(40) | CAP(19),
		CAP(20) | CAP(19),
		/* everything but CAP_SYS_PTRACE */
		ROOT_CAPS & ~CAP_SYS_PTRACE_BIT,
		~0ull & ~CAP_SYS_PTRACE_BIT,
		/* the bits as if read as a 32-bit mask */
		(unsigned long long)(uint32_t)MODERN,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (system_caps_sufficient(bad[i]))
			fail_msg("CapEff %#llx should not be sufficient", bad[i]);
}

/* Every single capability taken away from root: only the ones needed
 * matter, and only when nothing else covers them. */
static void test_root_minus_one(void **state)
{
	for (int cap = 0; cap < 64; cap++) {
		unsigned long long set = ROOT_CAPS & ~CAP(cap);
		int want = cap != 19; /* without CAP_SYS_PTRACE nothing works; without
					 BPF or PERFMON, SYS_ADMIN covers; without
					 SYS_ADMIN, BPF + PERFMON do */

		if (!!system_caps_sufficient(set) != want)
			fail_msg("root without capability %d: got %d, want %d", cap,
				 system_caps_sufficient(set), want);
	}
}

/* The real check for this process, which runs the tests as root. */
static void test_system_check_as_root(void **state)
{
	char why[512] = "";
	int err;

	if (geteuid() != 0) {
		print_message("skipping: not root\n");
		skip();
	}
	err = system_check(why, sizeof(why));
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0) {
		if (err)
			fail_msg("system_check: %d: %s", err, why);
	} else {
		assert_int_equal(err, -ENOENT);
		assert_non_null(strstr(why, "CONFIG_DEBUG_INFO_BTF"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sufficient_sets),
		cmocka_unit_test(test_insufficient_sets),
		cmocka_unit_test(test_root_minus_one),
		cmocka_unit_test(test_system_check_as_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
