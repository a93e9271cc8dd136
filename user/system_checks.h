/* SPDX-License-Identifier: MIT */
/* What the machine and the caller must provide before pyebpf can sample. */
#ifndef PYEBPF_SYSTEM_CHECKS_H
#define PYEBPF_SYSTEM_CHECKS_H

#include <stddef.h>

/*
 * Check privileges (root; or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE; or, on
 * kernels before 5.8, CAP_SYS_ADMIN + CAP_SYS_PTRACE: reading another
 * process's memory always needs CAP_SYS_PTRACE) and kernel BTF. Returns 0, or -EPERM / -ENOENT with
 * a one-line reason that says how to fix it.
 */
int system_check(char *why, size_t why_size);

/*
 * Parse a "CapEff:" hex mask as found in /proc/PID/status and tell whether
 * it allows profiling. Pure; exposed for tests.
 */
int system_caps_sufficient(unsigned long long cap_eff);

#endif /* PYEBPF_SYSTEM_CHECKS_H */
