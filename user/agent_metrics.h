/* SPDX-License-Identifier: MIT */
/*
 * The agent's own health, served on a local HTTP endpoint (libmicrohttpd,
 * its own thread):
 *   GET /metrics   Prometheus text format (version 0.0.4)
 *   GET /healthz   "ok\n" (200) while the main loop is alive: the last
 *                  agent_metrics__update() is under 30 s old; 503 after
 * Anything else is 404.
 *
 * Metrics (all prefixed pyebpf_agent_):
 *   samples_total            counter  records that went into profiles
 *   samples_lost_total       counter  records the kernel dropped (ring full)
 *   error_samples_total      counter  records with an error frame
 *   processes                gauge    Python processes profiled now
 *   processes_seen_total     counter  process instances ever profiled
 *   intervals_total          counter  upload intervals completed
 *   uploads_total{result="ok"|"failed"|"rejected"}  counter
 *   spool_items, spool_bytes gauge
 *   spool_dropped_total      counter  uploads deleted unsent (spool full)
 *   backoff_seconds          gauge    current upload retry wait
 *   cpu_seconds_total        counter  the agent's own CPU time (user+sys)
 *   resident_memory_bytes    gauge    the agent's own RSS
 *   start_time_seconds       gauge    Unix time the agent started
 * each with # HELP and # TYPE lines.
 */
#ifndef PYEBPF_AGENT_METRICS_H
#define PYEBPF_AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct agent_metrics;

struct agent_metrics_values {
	uint64_t samples, samples_lost, error_samples;
	uint64_t processes, processes_seen;
	uint64_t intervals;
	uint64_t uploads_ok, uploads_failed, uploads_rejected;
	uint64_t spool_items, spool_bytes, spool_dropped;
	double backoff_s;
	double cpu_seconds;
	uint64_t rss_bytes;
	double start_time_s;
};

/* Writes v in Prometheus text format. 0 or -errno of the write. */
int agent_metrics_format(const struct agent_metrics_values *v, FILE *out);

/* This process's CPU time (user + system, s) and resident set (bytes).
 * 0 or -errno. */
int agent_metrics_self_usage(double *cpu_seconds, uint64_t *rss_bytes);

/*
 * Listen on `address` ("HOST:PORT", IPv4 or [IPv6]; port 0 picks one: see
 * agent_metrics__port()). NULL with errno and why[why_size] set (e.g.
 * "cannot listen on 127.0.0.1:9464: address already in use").
 */
struct agent_metrics *agent_metrics__start(const char *address, char *why, size_t why_size);

/* The port it listens on. */
unsigned int agent_metrics__port(const struct agent_metrics *m);

/* Publish new values (copied under a lock; cheap: call every second). */
void agent_metrics__update(struct agent_metrics *m, const struct agent_metrics_values *v);

/* Stop the server thread and free m. NULL is fine. */
void agent_metrics__stop(struct agent_metrics *m);

#endif /* PYEBPF_AGENT_METRICS_H */
