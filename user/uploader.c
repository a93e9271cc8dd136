// SPDX-License-Identifier: MIT
/*
 * The sender thread (uploader.h). One lock guards the shared state: the
 * pending client from a config reload, the wake/stop flags and the stats.
 * The thread never holds it while it reads the spool or talks to the
 * network, so the agent's main thread never waits on a slow backend.
 */
#include "uploader.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "messages.h"
#include "spool.h"
#include "upload.h"

#define IDLE_CHECK_S 30.0 /* look at the spool now and then even unwoken */
#define SPOOL_RETRY_S 1.0 /* after the spool itself failed (no memory, fds) */

struct uploader {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct spool *sp;
	struct ingest_client *ic;      /* the thread's; replaced under the lock */
	struct ingest_client *next_ic; /* a reloaded config not yet taken */
	double max_backoff_s;
	bool wake;	 /* items were pushed since the thread last looked */
	bool stop;	 /* draining: until the deadline, empty or a failure */
	double deadline; /* monotonic_s() */
	struct uploader_stats st;
	uint64_t rng;
};

/* uniform in [0, 1): xorshift64*, good enough for jitter */
static double random01(struct uploader *u)
{
	u->rng ^= u->rng >> 12;
	u->rng ^= u->rng << 25;
	u->rng ^= u->rng >> 27;
	return (double)((u->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static struct timespec abs_time(double t)
{
	struct timespec ts;

	if (t > 1e15)
		t = 1e15;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	return ts;
}

/* Waits (the lock held) until `until` or until stopped, reconfigured or,
 * with `wakeable`, woken. */
static void wait_until(struct uploader *u, double until, bool wakeable)
{
	while (!u->stop && !u->next_ic && !(wakeable && u->wake)) {
		struct timespec ts = abs_time(until);

		if (monotonic_s() >= until ||
		    pthread_cond_timedwait(&u->cond, &u->lock, &ts) == ETIMEDOUT)
			break;
	}
}

static size_t waiting(struct uploader *u)
{
	struct spool_stats ss;

	spool__stats(u->sp, &ss);
	return ss.items;
}

static void *run(void *arg)
{
	struct uploader *u = arg;
	uint64_t streak = 0; /* failed attempts since the last success */
	double backoff = 0;  /* the nominal wait, before jitter */
	bool spool_failing = false;
	char why[512];

	pthread_mutex_lock(&u->lock);
	for (;;) {
		struct ingest_client *ic;
		enum ingest_result res;
		struct upload item;
		uint64_t seq;
		int err;

		if (u->next_ic) {
			ingest_client__free(u->ic);
			u->ic = u->next_ic;
			u->next_ic = NULL;
		}
		if (u->stop && monotonic_s() >= u->deadline)
			break;
		u->wake = false;
		ic = u->ic;
		pthread_mutex_unlock(&u->lock);

		err = spool__peek(u->sp, &item, &seq);
		if (err) {
			if (err != -ENOENT && !spool_failing) {
				pyebpf_agent_message("cannot read the spool: %s", strerror(-err));
				spool_failing = true;
			}
			pthread_mutex_lock(&u->lock);
			if (u->stop)
				break;
			wait_until(u,
				   monotonic_s() + (err == -ENOENT ? IDLE_CHECK_S : SPOOL_RETRY_S),
				   err == -ENOENT);
			continue;
		}
		spool_failing = false;

		res = ingest_client__send(ic, &item, why, sizeof(why));
		if (res == INGEST_OK || res == INGEST_REJECTED)
			spool__remove(u->sp, seq);
		if (res == INGEST_REJECTED)
			pyebpf_agent_message("upload of %s (%s, %" PRIu64 "..%" PRIu64
					     ") rejected, dropped: %s",
					     item.name, item.profile_type ? item.profile_type : "?",
					     item.from_s, item.until_s, why);
		upload_clear(&item);

		if (res == INGEST_OK && streak)
			pyebpf_agent_message("uploads recovered after %" PRIu64 " failed attempts",
					     streak);
		pthread_mutex_lock(&u->lock);
		if (res == INGEST_OK) {
			u->st.ok++;
			streak = 0;
			backoff = 0;
		} else if (res == INGEST_REJECTED) {
			u->st.rejected++;
		} else {
			u->st.failed++;
			streak++;
			backoff = backoff ? backoff * 2 : 1.0;
			if (backoff > u->max_backoff_s)
				backoff = u->max_backoff_s;
		}
		u->st.backoff_s = backoff;
		if (res != INGEST_RETRY)
			continue;

		if (u->stop) {
			if (streak == 1)
				pyebpf_agent_message("upload failed: %s; stopping with %zu "
						     "waiting "
						     "in the spool",
						     why, waiting(u));
			break;
		}
		/* up to 10% either way, so a fleet does not come back at once */
		double wait = backoff * (0.9 + 0.2 * random01(u));

		if (streak == 1)
			pyebpf_agent_message("upload failed: %s; retrying in %.1f s (%zu "
					     "waiting)",
					     why, wait, waiting(u));
		wait_until(u, monotonic_s() + wait, false);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static void uploader_free(struct uploader *u)
{
	ingest_client__free(u->ic);
	ingest_client__free(u->next_ic);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

struct uploader *uploader__start(struct spool *sp, const struct ingest_config *c,
				 double max_backoff_s, char *why, size_t why_size)
{
	struct uploader *u;
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	if (!(max_backoff_s > 0)) {
		snprintf(why, why_size, "bad max backoff %g s: must be positive", max_backoff_s);
		errno = EINVAL;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	u->ic = ingest_client__new(c, why, why_size);
	if (!u->ic) {
		err = errno;
		free(u);
		errno = err;
		return NULL;
	}
	u->sp = sp;
	u->max_backoff_s = max_backoff_s;
	u->rng = ((uint64_t)getpid() << 32) ^ (uint64_t)(monotonic_s() * 1e9) ^ (uintptr_t)u;
	if (!u->rng)
		u->rng = 1;
	pthread_mutex_init(&u->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cond, &ca);
	pthread_condattr_destroy(&ca);

	/* signals stay with the main thread, which waits for them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&u->thread, NULL, run, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		snprintf(why, why_size, "cannot start the upload thread: %s", strerror(err));
		uploader_free(u);
		errno = err;
		return NULL;
	}
	return u;
}

int uploader__set_config(struct uploader *u, const struct ingest_config *c, double max_backoff_s,
			 char *why, size_t why_size)
{
	struct ingest_client *ic, *old;

	if (!(max_backoff_s > 0)) {
		snprintf(why, why_size, "bad max backoff %g s: must be positive", max_backoff_s);
		return -EINVAL;
	}
	ic = ingest_client__new(c, why, why_size);
	if (!ic)
		return -errno;
	pthread_mutex_lock(&u->lock);
	old = u->next_ic;
	u->next_ic = ic;
	u->max_backoff_s = max_backoff_s;
	if (u->stop)
		ingest_client__set_deadline(ic, u->deadline);
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);
	ingest_client__free(old);
	return 0;
}

void uploader__wake(struct uploader *u)
{
	pthread_mutex_lock(&u->lock);
	u->wake = true;
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

void uploader__stats(struct uploader *u, struct uploader_stats *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->st;
	pthread_mutex_unlock(&u->lock);
}

void uploader__stop(struct uploader *u, double drain_s)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	u->deadline = monotonic_s() + (drain_s > 0 ? drain_s : 0);
	/* a send in progress gives up at the deadline too */
	ingest_client__set_deadline(u->ic, u->deadline);
	if (u->next_ic)
		ingest_client__set_deadline(u->next_ic, u->deadline);
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->lock);
	pthread_join(u->thread, NULL);
	uploader_free(u);
}
