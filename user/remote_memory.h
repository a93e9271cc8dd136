/* SPDX-License-Identifier: MIT */
/* Reading another process's memory without stopping it. */
#ifndef PYEBPF_REMOTE_MEMORY_H
#define PYEBPF_REMOTE_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Copy `len` bytes at `addr` in process `pid` into `buf` (process_vm_readv).
 * Returns the number of bytes read (short at an unmapped page), or -errno
 * (-ESRCH when the process is gone, -EFAULT when nothing was readable).
 */
ssize_t remote_read_some(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Like remote_read_some, but all or nothing: 0, or -errno (-EFAULT when
 * only part of the range was readable). */
int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/* Read one pointer-sized value. 0 or -errno. */
int remote_read_u64(pid_t pid, uint64_t addr, uint64_t *value);

#endif /* PYEBPF_REMOTE_MEMORY_H */
