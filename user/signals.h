/* SPDX-License-Identifier: MIT */
/*
 * Signals as events: the commands' loops read them from a descriptor, in
 * order with everything else they wait on, instead of from handlers.
 */
#ifndef PYEBPF_SIGNALS_H
#define PYEBPF_SIGNALS_H

#include <signal.h>
#include <stddef.h>

/*
 * Block signals[0..n) in the calling thread (and so in every thread it
 * starts later: block before starting any) and return a non-blocking,
 * close-on-exec signalfd that reads them. *old (unless NULL) gets the mask
 * before, to restore. The descriptor, or -errno.
 */
int signals_fd(const int *signals, size_t n, sigset_t *old);

#endif /* PYEBPF_SIGNALS_H */
