// SPDX-License-Identifier: MIT
#include "remote_memory.h"

#include <errno.h>
#include <sys/uio.h>

ssize_t remote_read_some(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n;

	if (len == 0)
		return 0;
	if (addr == 0 || addr + len < addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EFAULT;
	return n;
}

int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = remote_read_some(pid, addr, buf, len);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

int remote_read_u64(pid_t pid, uint64_t addr, uint64_t *value)
{
	return remote_read(pid, addr, value, sizeof(*value));
}
