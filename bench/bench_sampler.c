// SPDX-License-Identifier: MIT
/*
 * Measures pyebpf's sampler against a running Python process.
 *
 *   bench-sampler cost --pid PID [--rate HZ] [--seconds S]
 *     BPF run time per target sample, from the kernel's BPF statistics.
 *     First S seconds with the process not registered (every run takes
 *     the cheap non-target path), then S seconds registered; the target
 *     cost is what the second phase spent beyond its non-target runs.
 *
 *   bench-sampler toggle --pid PID [--rate HZ] [--pairs N] [--window-ms W]
 *     Switches sampling on and off in alternating windows and prints each
 *     window as "on|off START END" (CLOCK_MONOTONIC seconds), so a target
 *     that logs its own progress can compare its speed in both.
 *
 * Output is one JSON object per line on stdout.
 */
#include <errno.h>
#include <getopt.h>
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

static int snapshot(struct sampler *s, uint64_t *ns, uint64_t *cnt, uint64_t *target)
{
	uint64_t stats[PYEBPF_STAT__COUNT];
	int err = sampler__run_stats(s, ns, cnt);

	if (!err)
		err = sampler__stats(s, stats);
	*target = stats[PYEBPF_STAT_SAMPLES];
	return err;
}

static int cost(struct sampler *s, struct counts *c, pid_t pid, const struct pyebpf_proc *proc,
		double seconds)
{
	uint64_t ns0, cnt0, t0, ns1, cnt1, t1, ns2, cnt2, t2;
	double nontarget_ns, target_ns;
	int err;

	err = sampler__enable_run_stats(s);
	if (err) {
		fprintf(stderr, "bench: cannot enable BPF stats: %s\n", strerror(-err));
		return 1;
	}
	if (snapshot(s, &ns0, &cnt0, &t0))
		return 1;
	run_for(s, seconds);
	if (snapshot(s, &ns1, &cnt1, &t1))
		return 1;
	if (sampler__add_process(s, (uint32_t)pid, proc))
		return 1;
	c->samples = c->frames = 0;
	run_for(s, seconds);
	if (snapshot(s, &ns2, &cnt2, &t2))
		return 1;

	nontarget_ns = cnt1 > cnt0 ? (double)(ns1 - ns0) / (cnt1 - cnt0) : 0;
	uint64_t target = t2 - t1, other = (cnt2 - cnt1) - target;

	if (!target) {
		fprintf(stderr, "bench: no target samples: is pid %d busy?\n", (int)pid);
		return 1;
	}
	target_ns = ((double)(ns2 - ns1) - other * nontarget_ns) / target;
	printf("{\"mode\":\"cost\",\"target_samples\":%llu,\"nontarget_runs\":%llu,"
	       "\"avg_frames\":%.1f,\"target_ns\":%.0f,\"nontarget_ns\":%.0f}\n",
	       (unsigned long long)target, (unsigned long long)(cnt1 - cnt0),
	       c->samples ? (double)c->frames / c->samples : 0.0, target_ns, nontarget_ns);
	return 0;
}

static int toggle(struct sampler *s, pid_t pid, const struct pyebpf_proc *proc, int pairs,
		  int window_ms)
{
	int i, on;

	if (sampler__add_process(s, (uint32_t)pid, proc))
		return 1;
	for (i = 0; i < pairs; i++) {
		/* alternate which half comes first so drift cancels */
		for (on = 0; on < 2; on++) {
			int enabled = (on + i) % 2;
			double start;

			sampler__set_enabled(s, enabled);
			start = mono();
			run_for(s, window_ms / 1000.0);
			printf("{\"mode\":\"window\",\"on\":%d,\"start\":%.6f,\"end\":%.6f}\n",
			       enabled, start, mono());
		}
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "pairs", required_argument, NULL, 'n' },
		{ "window-ms", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct counts counts = { 0 };
	struct sampler_opts so = { .rate_hz = 100, .max_frames = PYEBPF_DEFAULT_FRAMES,
				   .on_sample = count_sample, .ctx = &counts };
	struct python_process pp;
	struct pyebpf_proc proc;
	struct sampler *s;
	double seconds = 3;
	int pairs = 20, window_ms = 1000, c, ret;
	pid_t pid = 0;
	char why[512];

	if (argc < 2 || (strcmp(argv[1], "cost") && strcmp(argv[1], "toggle"))) {
		fprintf(stderr, "usage: bench-sampler cost|toggle --pid PID [options]\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pid = atoi(optarg); break;
		case 'r': so.rate_hz = (unsigned)atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'n': pairs = atoi(optarg); break;
		case 'w': window_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (python_process__inspect(pid, &pp, why, sizeof(why))) {
		fprintf(stderr, "bench: pid %d: %s\n", (int)pid, why);
		return 1;
	}
	python_process__bpf_config(&pp, &proc);
	s = sampler__new(&so, why, sizeof(why));
	if (!s) {
		fprintf(stderr, "bench: %s\n", why);
		return 1;
	}
	if (!strcmp(argv[1], "cost"))
		ret = cost(s, &counts, pid, &proc, seconds);
	else
		ret = toggle(s, pid, &proc, pairs, window_ms);
	sampler__free(s);
	return ret;
}
