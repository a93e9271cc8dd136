/* SPDX-License-Identifier: MIT */
/*
 * `pyebpf agent`: continuous profiling of every Python process on the host
 * (or those matching filters), pushed to a Pyroscope-compatible backend.
 *
 * One session (session.h) with `all`; every upload interval (aligned to
 * wall-clock multiples of it) the interval's profile is taken, split into
 * one pprof per process and profile type (cpu; off_cpu with --off-cpu),
 * labelled (process_labels.h) and queued in the on-disk spool (spool.h),
 * which the uploader thread (uploader.h) drains into the ingest API.
 * SIGHUP reloads the config (agent_config.h); SIGTERM/SIGINT upload the
 * interval so far and stop, after up to 5 s of sending what waits.
 * Health and counters: agent_metrics.h.
 */
#ifndef PYEBPF_AGENT_H
#define PYEBPF_AGENT_H

/* argv[0] is "agent". Returns the exit code: 0 after a clean stop, 1 on a
 * runtime failure, 2 on a usage or config error. */
int agent_run(int argc, char **argv);

#endif /* PYEBPF_AGENT_H */
