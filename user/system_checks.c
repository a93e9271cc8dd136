// SPDX-License-Identifier: MIT
#include "system_checks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CAP_SYS_PTRACE 19
#define CAP_SYS_ADMIN 21
#define CAP_PERFMON 38
#define CAP_BPF 39

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

int system_caps_sufficient(unsigned long long cap_eff)
{
	unsigned long long need =
		(1ull << CAP_BPF) | (1ull << CAP_PERFMON) | (1ull << CAP_SYS_PTRACE);

	if ((cap_eff & need) == need)
		return 1;
	/* before 5.8 CAP_SYS_ADMIN covered BPF and perf */
	return (cap_eff & (1ull << CAP_SYS_ADMIN)) && (cap_eff & (1ull << CAP_SYS_PTRACE));
}

static int read_cap_eff(unsigned long long *cap)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", cap) == 1) {
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

int system_check(char *why, size_t why_size)
{
	unsigned long long cap = 0;

	if (geteuid() != 0 && (read_cap_eff(&cap) || !system_caps_sufficient(cap))) {
		snprintf(why, why_size,
			 "permission denied: run as root (sudo), or grant CAP_BPF, CAP_PERFMON "
			 "and CAP_SYS_PTRACE");
		return -EPERM;
	}
	if (access(VMLINUX_BTF, R_OK)) {
		snprintf(why, why_size,
			 "this kernel has no BTF type information (%s: %s); pyebpf needs a "
			 "kernel built with CONFIG_DEBUG_INFO_BTF=y",
			 VMLINUX_BTF, strerror(errno));
		return -ENOENT;
	}
	return 0;
}
