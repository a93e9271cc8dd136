// SPDX-License-Identifier: MIT
#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <sys/signalfd.h>

int signals_fd(const int *signals, size_t n, sigset_t *old)
{
	sigset_t mask;
	int fd, err;

	sigemptyset(&mask);
	for (size_t i = 0; i < n; i++)
		sigaddset(&mask, signals[i]);
	err = pthread_sigmask(SIG_BLOCK, &mask, old);
	if (err)
		return -err;
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}
