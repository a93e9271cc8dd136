// SPDX-License-Identifier: MIT
/*
 * Measures pyebpf's sampler against a running Python process.
 *
 *   bench-sampler cost --pid PID [--rate HZ] [--seconds S] [--reps R]
 *                      [--nontarget-seconds N]
 *     BPF run time per target sample, from the kernel's BPF statistics.
 *     First N (default S) seconds with the process not registered (every
 *     run takes the cheap non-target path), then R times S seconds
 *     registered; the target cost is what each of those spent beyond its
 *     non-target runs.
 *     One line per repetition, with its start and end (CLOCK_MONOTONIC
 *     seconds) and those of the non-target phase.
 *
 *   bench-sampler toggle --pid PID [--rate HZ] [--pairs N] [--window-ms W]
 *                        [--unregistered]
 *     Switches sampling on and off in alternating windows and prints each
 *     window as {"on":0|1,"start":S,"end":E} (CLOCK_MONOTONIC seconds), so
 *     a target that logs its own progress can compare its speed in both.
 *     With --unregistered the process is never registered: the windows
 *     then differ only by the timer interrupt and the non-target path.
 *
 * Output is one JSON object per line on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "python_process.h"
#include "sampler.h"

struct counts {
	uint64_t samples, frames;
};

static int count_sample(const struct pyebpf_sample *s, void *ctx)
{
	struct counts *c = ctx;

	c->samples++;
	c->frames += s->n_frames;
	return 0;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep `seconds` while draining the ring buffer. */
static void run_for(struct sampler *s, double seconds)
{
	double end = mono() + seconds;

	while (mono() < end) {
		usleep(20000);
		sampler__consume(s);
	}
	sampler__consume(s);
}

struct snap {
	uint64_t run_ns, run_cnt; /* the program's runs, target or not */
	uint64_t stats[PYEBPF_STAT__COUNT];
};

static int snapshot(struct sampler *s, struct snap *out)
{
	int err = sampler__run_stats(s, &out->run_ns, &out->run_cnt);

	if (!err)
		err = sampler__stats(s, out->stats);
	if (err)
		fprintf(stderr, "bench: cannot read BPF statistics: %s\n", strerror(-err));
	return err;
}

static uint64_t delta(const struct snap *a, const struct snap *b, int stat)
{
	return b->stats[stat] - a->stats[stat];
}

static int cost(struct sampler *s, struct counts *c, pid_t pid, const struct pyebpf_proc *proc,
		double nt_seconds, double seconds, int reps)
{
	struct snap a, b;
	double nontarget_ns, nt_start, nt_end;
	uint64_t nontarget_runs;
	int err, rep;

	err = sampler__enable_run_stats(s);
	if (err) {
		fprintf(stderr, "bench: cannot enable BPF stats: %s\n", strerror(-err));
		return 1;
	}
	/* phase 1: nothing registered, every run takes the non-target path */
	if (snapshot(s, &a))
		return 1;
	nt_start = mono();
	run_for(s, nt_seconds);
	nt_end = mono();
	if (snapshot(s, &b))
		return 1;
	nontarget_runs = b.run_cnt - a.run_cnt;
	nontarget_ns = nontarget_runs ? (double)(b.run_ns - a.run_ns) / nontarget_runs : 0;

	/* phase 2: registered; the first samples fill the thread and code
	 * caches, so they are left out */
	err = sampler__add_process(s, (uint32_t)pid, proc);
	if (err) {
		fprintf(stderr, "bench: cannot register pid %d: %s\n", (int)pid, strerror(-err));
		return 1;
	}
	run_for(s, 0.2);
	for (rep = 0; rep < reps; rep++) {
		uint64_t target, other;
		double target_ns, start, end;

		if (snapshot(s, &a))
			return 1;
		c->samples = c->frames = 0;
		start = mono();
		run_for(s, seconds);
		end = mono();
		if (snapshot(s, &b))
			return 1;
		target = delta(&a, &b, PYEBPF_STAT_SAMPLES);
		if (!target) {
			fprintf(stderr, "bench: no target samples: is pid %d busy?\n", (int)pid);
			return 1;
		}
		/* runs on other CPUs or for other processes cost what phase 1 did */
		other = (b.run_cnt - a.run_cnt) - target;
		target_ns = ((double)(b.run_ns - a.run_ns) - other * nontarget_ns) / target;
		printf("{\"mode\":\"cost\",\"rep\":%d,\"target_samples\":%llu,"
		       "\"delivered\":%llu,\"lost\":%llu,\"read_errors\":%llu,\"no_tstate\":%llu,"
		       "\"other_runs\":%llu,\"nontarget_runs\":%llu,\"avg_frames\":%.1f,"
		       "\"target_ns\":%.0f,\"nontarget_ns\":%.0f,\"start\":%.6f,\"end\":%.6f,"
		       "\"nontarget_start\":%.6f,\"nontarget_end\":%.6f}\n",
		       rep, (unsigned long long)target, (unsigned long long)c->samples,
		       (unsigned long long)delta(&a, &b, PYEBPF_STAT_LOST),
		       (unsigned long long)delta(&a, &b, PYEBPF_STAT_READ_ERRORS),
		       (unsigned long long)delta(&a, &b, PYEBPF_STAT_NO_TSTATE),
		       (unsigned long long)other, (unsigned long long)nontarget_runs,
		       c->samples ? (double)c->frames / c->samples : 0.0, target_ns, nontarget_ns,
		       start, end, nt_start, nt_end);
		fflush(stdout);
	}
	return 0;
}

static int toggle(struct sampler *s, pid_t pid, const struct pyebpf_proc *proc, int pairs,
		  int window_ms, bool do_register)
{
	int i, on, err;

	if (do_register) {
		err = sampler__add_process(s, (uint32_t)pid, proc);
		if (err) {
			fprintf(stderr, "bench: cannot register pid %d: %s\n", (int)pid,
				strerror(-err));
			return 1;
		}
	}
	for (i = 0; i < pairs; i++) {
		/* alternate which half comes first so drift cancels */
		for (on = 0; on < 2; on++) {
			int enabled = (on + i) % 2;
			double start;

			err = sampler__set_enabled(s, enabled);
			if (err) {
				fprintf(stderr, "bench: cannot switch sampling: %s\n",
					strerror(-err));
				return 1;
			}
			start = mono();
			run_for(s, window_ms / 1000.0);
			printf("{\"mode\":\"window\",\"on\":%d,\"start\":%.6f,\"end\":%.6f}\n",
			       enabled, start, mono());
			fflush(stdout);
		}
	}
	fflush(stdout);
	return 0;
}

/* A whole positive decimal number, else -1. */
static long positive_int(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	return errno || end == arg || *end || v <= 0 || v > INT32_MAX ? -1 : v;
}

/* A positive number of seconds, else -1. */
static double positive_seconds(const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	return errno || end == arg || *end || !(v > 0 && v < 1e6) ? -1 : v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"rate", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'},
		{"pairs", required_argument, NULL, 'n'},
		{"window-ms", required_argument, NULL, 'w'},
		{"reps", required_argument, NULL, 'R'},
		{"unregistered", no_argument, NULL, 'u'},
		{"nontarget-seconds", required_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	struct counts counts = {0};
	struct sampler_opts so = {.rate_hz = 100,
				  .max_frames = PYEBPF_DEFAULT_FRAMES,
				  .on_sample = count_sample,
				  .ctx = &counts};
	struct python_process pp;
	struct pyebpf_proc proc;
	struct sampler *s;
	double seconds = 3, nt_seconds = 0;
	long pid = 0, rate = 100, pairs = 20, window_ms = 1000, reps = 1;
	bool do_register = true;
	int c, ret;
	char why[512];

	if (argc < 2 || (strcmp(argv[1], "cost") && strcmp(argv[1], "toggle"))) {
		fprintf(stderr, "usage: bench-sampler cost|toggle --pid PID [options]\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = positive_int(optarg);
			break;
		case 'r':
			rate = positive_int(optarg);
			break;
		case 's':
			seconds = positive_seconds(optarg);
			break;
		case 'n':
			pairs = positive_int(optarg);
			break;
		case 'w':
			window_ms = positive_int(optarg);
			break;
		case 'R':
			reps = positive_int(optarg);
			break;
		case 'u':
			do_register = false;
			break;
		case 'N':
			nt_seconds = positive_seconds(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!nt_seconds)
		nt_seconds = seconds;
	if (pid <= 0 || rate <= 0 || rate > 1000000 || reps <= 0 || pairs <= 0 || window_ms <= 0 ||
	    seconds <= 0 || nt_seconds <= 0) {
		fprintf(stderr, "bench: need --pid, and positive whole --rate, --reps, --pairs, "
				"--window-ms and positive --seconds, --nontarget-seconds\n");
		return 2;
	}
	so.rate_hz = (unsigned int)rate;
	if (python_process__inspect((pid_t)pid, &pp, why, sizeof(why))) {
		fprintf(stderr, "bench: pid %ld: %s\n", pid, why);
		return 1;
	}
	python_process__bpf_config(&pp, &proc);
	s = sampler__new(&so, why, sizeof(why));
	if (!s) {
		fprintf(stderr, "bench: %s\n", why);
		return 1;
	}
	if (!strcmp(argv[1], "cost"))
		ret = cost(s, &counts, (pid_t)pid, &proc, nt_seconds, seconds, (int)reps);
	else
		ret = toggle(s, (pid_t)pid, &proc, (int)pairs, (int)window_ms, do_register);
	sampler__free(s);
	return ret;
}
