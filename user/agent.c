// SPDX-License-Identifier: MIT
/*
 * `pyebpf agent`: the main loop. One thread runs the session (every record
 * goes into the interval's profile), ends intervals at wall-clock
 * boundaries (one pprof per process and type into the spool), reloads the
 * config on SIGHUP and stops on SIGTERM; the uploader thread sends, the
 * metrics thread answers scrapes.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"
#include "agent_config.h"
#include "agent_metrics.h"
#include "ingest_client.h"
#include "messages.h"
#include "pprof_output.h"
#include "process_labels.h"
#include "profile.h"
#include "report.h"
#include "sample_stacks.h"
#include "session.h"
#include "signals.h"
#include "spool.h"
#include "upload.h"
#include "uploader.h"

#ifndef PYEBPF_VERSION
#define PYEBPF_VERSION "0.1.0"
#endif

#define SPY_NAME "pyebpf"
#define DRAIN_S 5.0 /* at SIGTERM: how long to go on sending what waits */

/* How the backend reads each type's pprof (Pyroscope's sample_type_config):
 * the cpu profile's "samples" column is the series "<service>.cpu",
 * counted in samples at sampleRate (the convention of Pyroscope's own CPU
 * profiles); the off_cpu profile's "off_cpu" column, in nanoseconds. */
static const char CPU_TYPE_CONFIG[] =
	"{\"samples\":{\"units\":\"samples\",\"display-name\":\"cpu\",\"aggregation\":\"sum\","
	"\"sampled\":true}}";
static const char OFF_CPU_TYPE_CONFIG[] =
	"{\"off_cpu\":{\"units\":\"nanoseconds\",\"display-name\":\"off_cpu\","
	"\"aggregation\":\"sum\"}}";

struct agent {
	int argc;
	char **argv; /* kept for reloads */
	struct agent_config cfg;
	/* the config the session was made with, once a reload replaced it */
	struct agent_config session_cfg;
	bool has_session_cfg;
	struct session *session;
	/* how the session samples (a reload changes a->cfg before the session
	 * is replaced: the interval's profiles must tell how they were made) */
	struct {
		unsigned int rate_hz;
		bool off_cpu;
	} sampling;
	struct spool *spool;
	struct uploader *uploader;
	struct agent_metrics *metrics;
	int ep, sigfd;

	/* labels per session instance, parallel to session__process() */
	struct process_labels *labels;
	size_t n_labels, labels_cap;

	uint64_t from_s;       /* the current interval's start, Unix s */
	uint64_t boundary_s;   /* its end */
	bool new_session_due;  /* a reload changed what the session samples */
	uint64_t intervals;    /* intervals ended */
	uint64_t uploads_made; /* pprofs queued */
	/* profiles the spool dropped to make room, and how many of them the
	 * log has told: it tells once a minute at most, with the count */
	uint64_t spool_dropped, spool_dropped_logged;
	double spool_dropped_logged_at;
	double start_unix_s;
	double metrics_at; /* monotonic time of the last metrics update */
};

/* Wall-clock time, s since the epoch: interval boundaries are in it. */
static double unix_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The first multiple of `interval` after t. */
static uint64_t next_boundary(double t, unsigned int interval)
{
	return ((uint64_t)floor(t) / interval + 1) * interval;
}

/* ---- settings ------------------------------------------------------------ */

static void session_opts_from_config(struct session_opts *o, const struct agent_config *c)
{
	*o = (struct session_opts){
		.rate_hz = c->rate_hz,
		.max_frames = c->max_frames ? c->max_frames : PYEBPF_DEFAULT_FRAMES,
		/* off-CPU profiles need both kinds of time in one session */
		.time_mode = c->off_cpu ? TIME_WALL : TIME_CPU,
		.lines = SAMPLE_LINES_CURRENT,
		.all = true,
		.comm = (const char *const *)c->comm,
		.n_comm = c->n_comm,
		.exclude_pids = c->exclude_pids,
		.n_exclude_pids = c->n_exclude_pids,
		.max_stacks = c->max_stacks,
		.messages = NULL, /* nothing is added by pid: no notices */
	};
}

static void ingest_config_from_config(struct ingest_config *i, const struct agent_config *c)
{
	*i = (struct ingest_config){
		.server_url = c->server,
		.basic_auth_user = c->basic_auth_user,
		.basic_auth_password = c->basic_auth_password,
		.bearer_token = c->bearer_token,
		.tenant_id = c->tenant_id,
		.ca_file = c->ca_file,
		.tls_insecure = c->tls_insecure,
		.timeout_s = c->upload_timeout_s,
		.user_agent = "pyebpf/" PYEBPF_VERSION,
	};
}

static void spool_limits_from_config(struct spool_limits *l, const struct agent_config *c)
{
	*l = (struct spool_limits){.max_bytes = c->spool_max_bytes,
				   .max_items = c->spool_max_items};
}

/* ---- labels -------------------------------------------------------------- */

static void labels_clear_all(struct agent *a)
{
	for (size_t i = 0; i < a->n_labels; i++)
		process_labels__clear(&a->labels[i]);
	a->n_labels = 0;
}

/* Read the labels of instances registered since the last call. */
static int label_new_processes(struct agent *a)
{
	size_t n = session__process_count(a->session);

	if (n > a->labels_cap) {
		size_t cap = a->labels_cap ? a->labels_cap : 16;
		struct process_labels *l;

		while (cap < n)
			cap *= 2;
		l = realloc(a->labels, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		a->labels = l;
		a->labels_cap = cap;
	}
	for (; a->n_labels < n; a->n_labels++) {
		struct session_process sp;
		struct process_labels *l = &a->labels[a->n_labels];

		memset(l, 0, sizeof(*l));
		if (session__process(a->session, a->n_labels, &sp) ||
		    process_labels__read(l, sp.pid, sp.command, sp.version, &a->cfg))
			return -ENOMEM;
	}
	return 0;
}

/* A reload may change how services are named: read live processes' labels
 * again (gone ones keep theirs). */
static void relabel_live(struct agent *a)
{
	for (size_t i = 0; i < a->n_labels; i++) {
		struct session_process sp;
		struct process_labels l = {0};

		if (session__process(a->session, i, &sp) || !sp.alive)
			continue;
		if (process_labels__read(&l, sp.pid, sp.command, sp.version, &a->cfg))
			continue;
		process_labels__clear(&a->labels[i]);
		a->labels[i] = l;
	}
}

/* Drop the labels of instances session__forget_gone() is about to forget
 * (gone and not in the current profile), keeping the two lists parallel. */
static void forget_gone(struct agent *a)
{
	size_t kept = 0;

	for (size_t i = 0; i < a->n_labels; i++) {
		struct session_process sp;

		if (!session__process(a->session, i, &sp) &&
		    (sp.alive || sp.profile_process != PROFILE_NO_PROCESS)) {
			a->labels[kept++] = a->labels[i];
			continue;
		}
		process_labels__clear(&a->labels[i]);
	}
	a->n_labels = kept;
	session__forget_gone(a->session);
}

/* ---- intervals ----------------------------------------------------------- */

struct process_kinds {
	bool *on_cpu, *off_cpu; /* per profile process id */
	size_t n;
	const struct profile *p;
};

static int note_kinds(const struct profile_stack *s, void *ctx)
{
	struct process_kinds *k = ctx;
	const struct profile_thread *t =
		s->thread == PROFILE_NO_THREAD ? NULL : profile__thread(k->p, s->thread);

	if (!t || t->process >= k->n)
		return 0;
	if (profile_stack_off_cpu_frame(k->p, s))
		k->off_cpu[t->process] = true;
	else
		k->on_cpu[t->process] = true;
	return 0;
}

/* One pprof of process entry `process` and stacks `which` of profile p. */
static int queue_upload(struct agent *a, const struct profile *p, uint32_t process,
			const struct process_labels *labels, enum report_stacks which,
			uint64_t from, uint64_t until, uint64_t period_ns)
{
	bool off = which == REPORT_OFF_CPU_STACKS;
	struct report r = {
		.profile = p,
		.unit = a->sampling.off_cpu ? REPORT_NANOSECONDS : REPORT_SAMPLES,
		.period_ns = period_ns,
		.mode = off ? TIME_OFF_CPU : TIME_CPU,
		.select = {.one_process = true, .process = process, .stacks = which},
		.pid = labels->pid,
		.python_version = labels->python_version,
		.rate_hz = a->sampling.rate_hz,
		.duration_s = (double)(until - from),
		.start_unix_ns = from * 1000000000ull,
	};
	const struct profile_process *pr = profile__process(p, process);
	struct upload u = {
		.from_s = from,
		.until_s = until,
		.sample_rate = a->sampling.rate_hz,
		.spy_name = (char *)SPY_NAME,
		.profile_type = off ? (char *)"off_cpu" : (char *)"cpu",
		.sample_type_config = off ? (char *)OFF_CPU_TYPE_CONFIG : (char *)CPU_TYPE_CONFIG,
	};
	char *buf = NULL;
	size_t len = 0, dropped = 0;
	FILE *f;
	int err;

	if (pr)
		r.command = pr->command;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	err = pprof_output__write(&r, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(buf);
		return err;
	}
	u.pprof = (uint8_t *)buf;
	u.pprof_len = len;
	u.name = process_labels__ingest_name(labels, &a->cfg);
	if (!u.name) {
		free(buf);
		return -ENOMEM;
	}
	err = spool__push(a->spool, &u, &dropped);
	free(u.name);
	free(buf);
	if (err == -EFBIG)
		pyebpf_agent_message(
			"profile of pid %d (%s) is larger than the spool (--spool-max-size): "
			"dropped",
			(int)labels->pid, u.profile_type);
	else if (err)
		pyebpf_agent_message("cannot spool the profile of pid %d: %s", (int)labels->pid,
				     strerror(-err));
	else
		a->uploads_made++;
	a->spool_dropped += dropped;
	return err == -ENOMEM ? err : 0;
}

/* Tell what the spool dropped since the last time, at most once a minute
 * (a backend down for a day must not flood the journal). */
static void log_spool_drops(struct agent *a, bool force)
{
	uint64_t n = a->spool_dropped - a->spool_dropped_logged;
	double now = monotonic_s();

	if (!n || (!force && a->spool_dropped_logged_at && now - a->spool_dropped_logged_at < 60.0))
		return;
	pyebpf_agent_message(
		"spool full (--spool-max-size, --spool-max-items): dropped the %llu oldest "
		"profile%s unsent (%llu since start)",
		(unsigned long long)n, n == 1 ? "" : "s", (unsigned long long)a->spool_dropped);
	a->spool_dropped_logged = a->spool_dropped;
	a->spool_dropped_logged_at = now;
}

/*
 * End the interval [a->from_s, until): take its profile, queue one pprof
 * per process and type that has samples, forget gone processes. 0, or
 * -ENOMEM (the interval is lost, counted in the log).
 */
static int end_interval(struct agent *a, uint64_t until)
{
	struct session_process sp;
	struct process_kinds k = {0};
	struct profile *p;
	uint32_t *owner = NULL; /* per instance: its process id in p */
	size_t n;
	uint64_t period_ns = session__period_ns(a->session);
	int err = 0;

	if (until <= a->from_s)
		until = a->from_s + 1;
	if (session__split_off_cpu(a->session))
		pyebpf_agent_message("cannot split off-CPU intervals at the interval's end");
	if (label_new_processes(a))
		return -ENOMEM;
	n = a->n_labels;
	owner = calloc(n ? n : 1, sizeof(*owner));
	if (!owner)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		owner[i] = session__process(a->session, i, &sp) ? PROFILE_NO_PROCESS
								: sp.profile_process;
	p = session__take_profile(a->session);
	if (!p) {
		free(owner);
		return -ENOMEM;
	}
	k.p = p;
	k.n = profile__process_count(p);
	k.on_cpu = calloc(k.n ? k.n : 1, sizeof(bool));
	k.off_cpu = calloc(k.n ? k.n : 1, sizeof(bool));
	if (!k.on_cpu || !k.off_cpu) {
		err = -ENOMEM;
		goto out;
	}
	profile__foreach(p, note_kinds, &k);
	for (size_t i = 0; i < n && !err; i++) {
		uint32_t id = owner[i];

		if (id == PROFILE_NO_PROCESS || id >= k.n)
			continue;
		if (k.on_cpu[id])
			err = queue_upload(a, p, id, &a->labels[i], REPORT_ON_CPU_STACKS, a->from_s,
					   until, period_ns);
		if (!err && a->sampling.off_cpu && k.off_cpu[id])
			err = queue_upload(a, p, id, &a->labels[i], REPORT_OFF_CPU_STACKS,
					   a->from_s, until, period_ns);
	}
	if (profile__overflowed(p))
		pyebpf_agent_message(
			"interval %llu-%llu: more than %zu distinct stacks; %llu samples "
			"counted as [profile full] (raise --max-stacks)",
			(unsigned long long)a->from_s, (unsigned long long)until, a->cfg.max_stacks,
			(unsigned long long)profile__overflowed(p));
	uploader__wake(a->uploader);
	log_spool_drops(a, false);
out:
	a->intervals++;
	a->from_s = until;
	forget_gone(a);
	profile__free(p);
	free(k.on_cpu);
	free(k.off_cpu);
	free(owner);
	return err;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int open_session(struct agent *a)
{
	struct session_opts o;
	char why[256];

	session_opts_from_config(&o, &a->cfg);
	a->sampling.rate_hz = a->cfg.rate_hz;
	a->sampling.off_cpu = a->cfg.off_cpu;
	a->session = session__new(&o, why, sizeof(why));
	if (!a->session) {
		pyebpf_agent_message("%s", why);
		return -1;
	}
	if (session__start(a->session)) {
		pyebpf_agent_message("cannot start off-CPU profiling");
		return -1;
	}
	if (epoll_ctl(a->ep, EPOLL_CTL_ADD, session__fd(a->session),
		      &(struct epoll_event){.events = EPOLLIN, .data.u32 = 0})) {
		pyebpf_agent_message("cannot wait on the session: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void close_session(struct agent *a)
{
	if (!a->session)
		return;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, session__fd(a->session), NULL);
	session__free(a->session);
	a->session = NULL;
	labels_clear_all(a);
	if (a->has_session_cfg)
		agent_config__free(&a->session_cfg);
	a->has_session_cfg = false;
}

static int start_metrics(struct agent *a)
{
	char why[256];

	if (!a->cfg.metrics_address)
		return 0;
	a->metrics = agent_metrics__start(a->cfg.metrics_address, why, sizeof(why));
	if (!a->metrics) {
		pyebpf_agent_message("%s", why);
		return -1;
	}
	{
		/* the address as given, with the port it got (port 0 picks one) */
		const char *addr = a->cfg.metrics_address;
		const char *colon = strrchr(addr, ':');
		int host_len = colon ? (int)(colon - addr) : (int)strlen(addr);

		pyebpf_agent_message("metrics on http://%.*s:%u/metrics", host_len, addr,
				     agent_metrics__port(a->metrics));
	}
	return 0;
}

static void update_metrics(struct agent *a, bool force)
{
	struct agent_metrics_values v = {0};
	struct session_stats ss = {0};
	struct uploader_stats us = {0};
	struct spool_stats sps = {0};
	double now = monotonic_s();

	if (!a->metrics || (!force && now - a->metrics_at < 1.0))
		return;
	a->metrics_at = now;
	if (a->session)
		session__stats(a->session, &ss);
	uploader__stats(a->uploader, &us);
	spool__stats(a->spool, &sps);
	v = (struct agent_metrics_values){
		.samples = ss.samples,
		.samples_lost = ss.lost,
		.error_samples = ss.error_samples,
		.processes = ss.live,
		.processes_seen = ss.processes,
		.intervals = a->intervals,
		.uploads_ok = us.ok,
		.uploads_failed = us.failed,
		.uploads_rejected = us.rejected,
		.spool_items = sps.items,
		.spool_bytes = sps.bytes,
		.spool_dropped = sps.dropped,
		.backoff_s = us.backoff_s,
		.start_time_s = a->start_unix_s,
	};
	agent_metrics_self_usage(&v.cpu_seconds, &v.rss_bytes);
	agent_metrics__update(a->metrics, &v);
}

/*
 * The session borrows its filter lists (comm, exclude_pids) from the config
 * it was made with, so a replaced config may not be freed while they are
 * in use: until the session is replaced (`resample`), it waits in
 * a->session_cfg; otherwise the new config, whose lists are equal, takes
 * over the old one's arrays.
 */
static void retire_config(struct agent *a, struct agent_config *old, bool resample)
{
	if (!a->has_session_cfg && resample) {
		a->session_cfg = *old;
		a->has_session_cfg = true;
		return;
	}
	if (!a->has_session_cfg) {
		char **comm = a->cfg.comm;
		pid_t *ex = a->cfg.exclude_pids;

		a->cfg.comm = old->comm;
		a->cfg.exclude_pids = old->exclude_pids;
		old->comm = comm;
		old->exclude_pids = ex;
	}
	agent_config__free(old);
}

/* SIGHUP: read the config again; what the session samples changes at the
 * next boundary, the rest now. A bad config keeps the old one. */
static void reload(struct agent *a)
{
	struct agent_config c;
	struct ingest_config ic;
	struct spool_limits lim;
	char why[512];

	if (agent_config__load(&c, a->argc, a->argv, why, sizeof(why))) {
		pyebpf_agent_message("config reload failed, keeping the running config: %s", why);
		return;
	}
	ingest_config_from_config(&ic, &c);
	if (uploader__set_config(a->uploader, &ic, c.max_backoff_s, why, sizeof(why))) {
		pyebpf_agent_message("config reload failed, keeping the running config: %s", why);
		agent_config__free(&c);
		return;
	}
	if (strcmp(c.spool_dir, a->cfg.spool_dir)) {
		/* the spool's files are in use by the uploader: keep its dir */
		char *dir = c.spool_dir;

		c.spool_dir = a->cfg.spool_dir;
		a->cfg.spool_dir = dir;
		pyebpf_agent_message("spool-dir changes at the next start, not on reload");
	}
	spool_limits_from_config(&lim, &c);
	spool__set_limits(a->spool, &lim);
	{
		bool metrics_moved = (!c.metrics_address) != (!a->cfg.metrics_address) ||
				     (c.metrics_address && a->cfg.metrics_address &&
				      strcmp(c.metrics_address, a->cfg.metrics_address));
		bool interval_changed = c.interval_s != a->cfg.interval_s;
		bool resample = agent_config__needs_new_session(&a->cfg, &c);
		struct agent_config old = a->cfg;

		a->cfg = c;
		retire_config(a, &old, resample);
		a->new_session_due |= resample;
		if (metrics_moved) {
			agent_metrics__stop(a->metrics);
			a->metrics = NULL;
			start_metrics(a);
		}
		relabel_live(a);
		if (interval_changed)
			pyebpf_agent_message("upload interval %u s from the next boundary",
					     c.interval_s);
		pyebpf_agent_message("config reloaded%s",
				     a->new_session_due ? "; sampling changes at the next interval"
							: "");
	}
}

static int setup_signals(struct agent *a)
{
	/* before any thread starts, so only the signalfd sees them */
	a->sigfd = signals_fd((const int[]){SIGHUP, SIGTERM, SIGINT}, 3, NULL);
	if (a->sigfd < 0) {
		errno = -a->sigfd;
		return -1;
	}
	return epoll_ctl(a->ep, EPOLL_CTL_ADD, a->sigfd,
			 &(struct epoll_event){.events = EPOLLIN, .data.u32 = 1});
}

/* The signals waiting: *hup, *stop. */
static void read_signals(struct agent *a, bool *hup, bool *stop)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			*hup = true;
		else
			*stop = true;
	}
}

static int loop(struct agent *a)
{
	for (;;) {
		struct epoll_event ev[4];
		bool hup = false, stop = false;
		double now = unix_s();
		int timeout = session__timeout_ms(a->session);
		double to_boundary = ((double)a->boundary_s - now) * 1000.0;
		int err;

		if (to_boundary < timeout)
			timeout = to_boundary < 0 ? 0 : (int)ceil(to_boundary);
		if (a->metrics && timeout > 1000)
			timeout = 1000;
		if (epoll_wait(a->ep, ev, 4, timeout) < 0 && errno != EINTR) {
			pyebpf_agent_message("cannot wait for events: %s", strerror(errno));
			return 1;
		}
		read_signals(a, &hup, &stop);
		err = session__poll(a->session);
		if (err) {
			pyebpf_agent_message("profiling failed: %s", strerror(-err));
			end_interval(a, (uint64_t)ceil(unix_s()));
			return 1;
		}
		if (label_new_processes(a)) {
			pyebpf_agent_message("out of memory");
			return 1;
		}
		if (hup)
			reload(a);
		now = unix_s();
		/* a boundary first, even when stopping: a loop that wakes late
		 * (a suspended VM) must not fold two intervals into one */
		if (now >= (double)a->boundary_s) {
			if (end_interval(a, a->boundary_s) == -ENOMEM)
				pyebpf_agent_message("out of memory: interval lost");
			a->boundary_s = next_boundary(now, a->cfg.interval_s);
			if (a->new_session_due && !stop) {
				a->new_session_due = false;
				close_session(a);
				if (open_session(a))
					return 1;
				pyebpf_agent_message("sampling at %u Hz%s", a->cfg.rate_hz,
						     a->cfg.off_cpu ? ", with off-CPU time" : "");
			}
		}
		if (stop) {
			/* up to the next second: every sample taken is inside
			 * [from, until] */
			err = end_interval(a, (uint64_t)ceil(now));
			log_spool_drops(a, true);
			pyebpf_agent_message("stopping: sending what is waiting (up to %.0f s)",
					     DRAIN_S);
			return err ? 1 : 0;
		}
		update_metrics(a, false);
	}
}

int agent_run(int argc, char **argv)
{
	struct agent a = {.argc = argc, .argv = argv, .ep = -1, .sigfd = -1};
	struct ingest_config ic;
	struct spool_limits lim;
	char why[512];
	int rc = 1;

	if (agent_config__load(&a.cfg, argc, argv, why, sizeof(why))) {
		pyebpf_agent_message("%s", why);
		return 2;
	}
	if (a.cfg.help) {
		agent_config__help(stdout);
		agent_config__free(&a.cfg);
		return 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		pyebpf_agent_message("cannot initialize libcurl");
		agent_config__free(&a.cfg);
		return 1;
	}
	a.start_unix_s = unix_s();
	a.ep = epoll_create1(EPOLL_CLOEXEC);
	if (a.ep < 0 || setup_signals(&a)) {
		pyebpf_agent_message("cannot set up signal handling: %s", strerror(errno));
		goto out;
	}
	/* the kernel side first: without privileges or BPF nothing else matters */
	if (open_session(&a))
		goto out;
	spool_limits_from_config(&lim, &a.cfg);
	a.spool = spool__open(a.cfg.spool_dir, &lim, why, sizeof(why));
	if (!a.spool) {
		pyebpf_agent_message("%s", why);
		rc = 2;
		goto out;
	}
	ingest_config_from_config(&ic, &a.cfg);
	a.uploader = uploader__start(a.spool, &ic, a.cfg.max_backoff_s, why, sizeof(why));
	if (!a.uploader) {
		pyebpf_agent_message("%s", why);
		rc = 2;
		goto out;
	}
	if (start_metrics(&a))
		goto out;
	a.from_s = (uint64_t)floor(a.start_unix_s);
	a.boundary_s = next_boundary(a.start_unix_s, a.cfg.interval_s);
	{
		struct spool_stats st;

		spool__stats(a.spool, &st);
		pyebpf_agent_message(
			"profiling every Python process at %u Hz%s, uploading every %u s to %s"
			"%s",
			a.cfg.rate_hz, a.cfg.off_cpu ? " with off-CPU time" : "", a.cfg.interval_s,
			a.cfg.server, st.items ? " (resending the spool)" : "");
	}
	update_metrics(&a, true);
	rc = loop(&a);
out:
	uploader__stop(a.uploader, DRAIN_S);
	{
		struct spool_stats st = {0};

		if (a.spool)
			spool__stats(a.spool, &st);
		if (st.items)
			pyebpf_agent_message("%zu profile%s left in %s for the next start",
					     st.items, st.items == 1 ? "" : "s", a.cfg.spool_dir);
	}
	agent_metrics__stop(a.metrics);
	close_session(&a);
	spool__close(a.spool);
	free(a.labels);
	if (a.sigfd >= 0)
		close(a.sigfd);
	if (a.ep >= 0)
		close(a.ep);
	agent_config__free(&a.cfg);
	curl_global_cleanup();
	return rc;
}
