/* SPDX-License-Identifier: MIT */
/*
 * The agent's sender: a thread that drains the spool (spool.h) into the
 * ingest API (ingest_client.h), strictly oldest first, so a backend sees
 * each process's intervals in order.
 *
 * When a send fails with INGEST_RETRY the item stays first in line and the
 * thread waits, 1 s after the first failure (max_backoff_s if that is
 * shorter), doubling up to max_backoff_s
 * (with up to 10% jitter so a fleet does not come back in lockstep); the
 * first success resets the wait. INGEST_REJECTED drops the item (counted
 * and logged) and goes on. Failures are logged once when they start and
 * once when sending recovers, with counts, not once per attempt.
 */
#ifndef PYEBPF_UPLOADER_H
#define PYEBPF_UPLOADER_H

#include <stdint.h>

#include "ingest_client.h"

struct spool;
struct uploader;

struct uploader_stats {
	uint64_t ok;	   /* items the server took */
	uint64_t failed;   /* attempts that failed (each retry counts) */
	uint64_t rejected; /* items dropped because the server refused them */
	double backoff_s;  /* the current wait, 0 while sending works */
};

/*
 * Start the thread. `sp` must outlive the uploader. Log lines go to
 * stderr, "pyebpf agent: ..." (journald adds the time). NULL with errno
 * and why[why_size] set.
 */
struct uploader *uploader__start(struct spool *sp, const struct ingest_config *c,
				 double max_backoff_s, char *why, size_t why_size);

/* A config reload: the next send uses c (copied); a wait in progress is cut
 * short. 0 or -errno (the old config stays, why[] says why). */
int uploader__set_config(struct uploader *u, const struct ingest_config *c, double max_backoff_s,
			 char *why, size_t why_size);

/* New items are waiting: send now unless backing off. */
void uploader__wake(struct uploader *u);

void uploader__stats(struct uploader *u, struct uploader_stats *out);

/*
 * Stop: keep sending what is waiting until the spool is empty, a send
 * fails, or `drain_s` seconds pass; then end the thread and free u. What
 * was not sent stays in the spool. NULL is fine.
 */
void uploader__stop(struct uploader *u, double drain_s);

#endif /* PYEBPF_UPLOADER_H */
