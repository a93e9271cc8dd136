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
 *   bench-sampler switch-cost --pid PID [--seconds S] [--reps R]
 *                             [--nontarget-seconds N] [--background-seconds B]
 *     BPF run time of the context-switch program (off-CPU profiling), from
 *     the kernel's BPF statistics, against a target whose threads switch
 *     all the time (bench/target_switch.py, pinned to one CPU). Sampling
 *     on CPU is off throughout: only on_switch is measured. Three phases:
 *       background: B s (default 1) with the target stopped (SIGSTOP), not
 *         registered: the machine's own switches, how many per second;
 *       non-target: N s (default S) with the target running, not
 *         registered: every switch takes the non-target path;
 *       target: registered, R times S s, with the ring buffer drained.
 *     An empty program on the same tracepoint runs during the first two
 *     phases: the floor the kernel charges for any program there.
 *     The program's run time in a repetition, minus the background runs
 *     (at the background's rate and ns/run), divided by the target's
 *     switch-outs (voluntary and not, from /proc/PID/task/TID/status), is
 *     the cost per off-CPU interval: one switch-out and its switch-in,
 *     however many runs those took (one when the target's threads switch
 *     straight to each other).
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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
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
	uint64_t off_cpu, off_frames; /* the off-CPU records among them */
};

static int count_sample(const struct pyebpf_sample *s, void *ctx)
{
	struct counts *c = ctx;

	c->samples++;
	c->frames += s->n_frames;
	if (s->kind == PYEBPF_KIND_OFF_CPU) {
		c->off_cpu++;
		c->off_frames += s->n_frames;
	}
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

/*
 * An empty program on sched_switch: what the kernel's statistics charge for
 * running any program on that tracepoint (their own clock reads included),
 * the floor under on_switch's non-target path. Loaded from two raw
 * instructions, so it needs no BPF object. Returns the link's fd and sets
 * *prog_fd, or returns -errno.
 */
static int attach_empty_switch(int *prog_fd)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_RAW_TP);
	int btf_id, fd, link, err;

	btf_id = libbpf_find_vmlinux_btf_id("sched_switch", BPF_TRACE_RAW_TP);
	if (btf_id < 0)
		return btf_id;
	o.attach_btf_id = btf_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "empty_switch", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &o);
	if (fd < 0)
		return -errno;
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*prog_fd = fd;
	return link;
}

static int prog_fd_stats(int fd, uint64_t *run_ns, uint64_t *run_cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}

/* Switch-outs of every thread of `pid` so far (voluntary and not, as
 * /proc counts them), or -1 if the process is gone. */
static int64_t task_switches(pid_t pid)
{
	char path[300], line[256];
	struct dirent *e;
	int64_t sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		unsigned long long v;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* the thread just ended */
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
			    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
				sum += (int64_t)v;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* Wait `seconds` while draining the ring buffer, woken early when it
 * fills: a target that switches 100,000 times a second sends as many
 * records. */
static void drain_for(struct sampler *s, double seconds)
{
	struct pollfd pfd = {.fd = sampler__fd(s), .events = POLLIN};
	double end = mono() + seconds, left;

	while ((left = end - mono()) > 0) {
		poll(&pfd, 1, left < 0.02 ? (int)(left * 1000) + 1 : 20);
		sampler__consume(s);
	}
	sampler__consume(s);
}

struct sw_snap {
	double t;
	uint64_t run_ns, run_cnt;     /* on_switch */
	uint64_t empty_ns, empty_cnt; /* the empty program, when attached */
	int64_t switches;	      /* the target's switch-outs */
	uint64_t stats[PYEBPF_STAT__COUNT];
};

static int sw_snapshot(struct sampler *s, pid_t pid, int empty_fd, struct sw_snap *out)
{
	int err;

	out->empty_ns = out->empty_cnt = 0;
	out->switches = task_switches(pid);
	err = sampler__switch_run_stats(s, &out->run_ns, &out->run_cnt);
	if (!err && empty_fd >= 0)
		err = prog_fd_stats(empty_fd, &out->empty_ns, &out->empty_cnt);
	if (!err)
		err = sampler__stats(s, out->stats);
	out->t = mono();
	if (err) {
		fprintf(stderr, "bench: cannot read BPF statistics: %s\n", strerror(-err));
		return err;
	}
	if (out->switches < 0) {
		fprintf(stderr, "bench: pid %d is gone\n", (int)pid);
		return -ESRCH;
	}
	return 0;
}

static double per(double num, double den)
{
	return den > 0 ? num / den : 0;
}

/* One untargeted phase: the machine's switches, and the target's unless
 * it is stopped, all on the non-target path. */
static int sw_phase(struct sampler *s, pid_t pid, int empty_fd, const char *mode, double seconds,
		    double *ns_per_run, double *run_rate)
{
	struct sw_snap a, b;
	uint64_t runs, eruns;
	int64_t sw;
	double t;

	if (sw_snapshot(s, pid, empty_fd, &a))
		return 1;
	drain_for(s, seconds);
	if (sw_snapshot(s, pid, empty_fd, &b))
		return 1;
	t = b.t - a.t;
	runs = b.run_cnt - a.run_cnt;
	eruns = b.empty_cnt - a.empty_cnt;
	sw = b.switches - a.switches;
	*ns_per_run = per((double)(b.run_ns - a.run_ns), (double)runs);
	*run_rate = runs / t;
	printf("{\"mode\":\"%s\",\"runs\":%llu,\"run_rate\":%.0f,\"ns_per_run\":%.1f,"
	       "\"empty_runs\":%llu,\"empty_ns\":%.1f,\"target_switches\":%lld,"
	       "\"switch_rate\":%.0f,\"start\":%.6f,\"end\":%.6f}\n",
	       mode, (unsigned long long)runs, *run_rate, *ns_per_run, (unsigned long long)eruns,
	       per((double)(b.empty_ns - a.empty_ns), (double)eruns), (long long)sw, sw / t, a.t,
	       b.t);
	fflush(stdout);
	return 0;
}

static int switch_cost(struct sampler *s, struct counts *c, pid_t pid,
		       const struct pyebpf_proc *proc, double bg_seconds, double nt_seconds,
		       double seconds, int reps)
{
	double bg_ns, bg_rate, nt_ns, nt_rate;
	int err, rep, empty_fd = -1, empty_link;

	err = sampler__enable_run_stats(s);
	if (err) {
		fprintf(stderr, "bench: cannot enable BPF stats: %s\n", strerror(-err));
		return 1;
	}
	/* only on_switch is measured; cpu-clock samples would share its ring */
	err = sampler__set_enabled(s, false);
	if (err) {
		fprintf(stderr, "bench: cannot switch sampling off: %s\n", strerror(-err));
		return 1;
	}
	empty_link = attach_empty_switch(&empty_fd);
	if (empty_link < 0) {
		fprintf(stderr, "bench: cannot attach an empty program to sched_switch: %s\n",
			strerror(-empty_link));
		return 1;
	}

	/* the background: the target stopped, so none of its switches */
	if (kill(pid, SIGSTOP)) {
		fprintf(stderr, "bench: cannot stop pid %d: %s\n", (int)pid, strerror(errno));
		goto fail;
	}
	drain_for(s, 0.1); /* its threads take the stop at their next switch */
	err = sw_phase(s, pid, empty_fd, "switch-background", bg_seconds, &bg_ns, &bg_rate);
	kill(pid, SIGCONT);
	if (err)
		goto fail;
	drain_for(s, 0.2);
	if (sw_phase(s, pid, empty_fd, "switch-nontarget", nt_seconds, &nt_ns, &nt_rate))
		goto fail;
	/* the floor is known: the empty program would only slow the target */
	close(empty_link);
	close(empty_fd);
	empty_fd = empty_link = -1;
	if (!bg_ns)
		bg_ns = nt_ns; /* no background switch at all */

	err = sampler__add_process(s, (uint32_t)pid, proc);
	if (!err)
		err = sampler__snapshot_off_cpu(s);
	if (err) {
		fprintf(stderr, "bench: cannot register pid %d: %s\n", (int)pid, strerror(-err));
		return 1;
	}
	/* the first switches fill the thread and code caches: left out */
	drain_for(s, 0.2);
	for (rep = 0; rep < reps; rep++) {
		struct sw_snap a, b;
		uint64_t runs, sent, lost, rerr, no_ts;
		int64_t sw;
		double t, bg_runs, target_runs, target_ns;

		if (sw_snapshot(s, pid, -1, &a))
			return 1;
		c->samples = c->frames = c->off_cpu = c->off_frames = 0;
		drain_for(s, seconds);
		if (sw_snapshot(s, pid, -1, &b))
			return 1;
		t = b.t - a.t;
		runs = b.run_cnt - a.run_cnt;
		sw = b.switches - a.switches;
		if (sw <= 0) {
			fprintf(stderr, "bench: pid %d did not switch: is it target_switch.py?\n",
				(int)pid);
			return 1;
		}
		/* runs beyond the background rate are the target's */
		bg_runs = bg_rate * t;
		if (bg_runs > runs)
			bg_runs = runs;
		target_runs = runs - bg_runs;
		target_ns = (double)(b.run_ns - a.run_ns) - bg_runs * bg_ns;
		sent = b.stats[PYEBPF_STAT_OFF_CPU] - a.stats[PYEBPF_STAT_OFF_CPU];
		lost = b.stats[PYEBPF_STAT_LOST] - a.stats[PYEBPF_STAT_LOST];
		rerr = b.stats[PYEBPF_STAT_READ_ERRORS] - a.stats[PYEBPF_STAT_READ_ERRORS];
		no_ts = b.stats[PYEBPF_STAT_NO_TSTATE] - a.stats[PYEBPF_STAT_NO_TSTATE];
		printf("{\"mode\":\"switch-target\",\"rep\":%d,\"runs\":%llu,\"run_rate\":%.0f,"
		       "\"background_runs\":%.0f,\"target_runs\":%.0f,\"target_switches\":%lld,"
		       "\"switch_rate\":%.0f,\"runs_per_switch\":%.3f,\"ns_per_switch\":%.1f,"
		       "\"ns_per_target_run\":%.1f,\"background_ns\":%.1f,\"nontarget_ns\":%.1f,"
		       "\"intervals\":%llu,\"delivered\":%llu,\"lost\":%llu,\"read_errors\":%llu,"
		       "\"no_tstate\":%llu,\"avg_frames\":%.1f,\"start\":%.6f,\"end\":%.6f}\n",
		       rep, (unsigned long long)runs, runs / t, bg_runs, target_runs, (long long)sw,
		       sw / t, target_runs / sw, target_ns / sw, per(target_ns, target_runs), bg_ns,
		       nt_ns, (unsigned long long)sent, (unsigned long long)c->off_cpu,
		       (unsigned long long)lost, (unsigned long long)rerr,
		       (unsigned long long)no_ts, per((double)c->off_frames, (double)c->off_cpu),
		       a.t, b.t);
		fflush(stdout);
	}
	return 0;

fail:
	if (empty_link >= 0) {
		close(empty_link);
		close(empty_fd);
	}
	return 1;
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
		{"background-seconds", required_argument, NULL, 'B'},
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
	double seconds = 3, nt_seconds = 0, bg_seconds = 1;
	long pid = 0, rate = 100, pairs = 20, window_ms = 1000, reps = 1;
	bool do_register = true, switches;
	int c, ret;
	char why[512];

	if (argc < 2 || (strcmp(argv[1], "cost") && strcmp(argv[1], "toggle") &&
			 strcmp(argv[1], "switch-cost"))) {
		fprintf(stderr,
			"usage: bench-sampler cost|toggle|switch-cost --pid PID [options]\n");
		return 2;
	}
	switches = !strcmp(argv[1], "switch-cost");
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
		case 'B':
			bg_seconds = positive_seconds(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!nt_seconds)
		nt_seconds = seconds;
	if (pid <= 0 || rate <= 0 || rate > 1000000 || reps <= 0 || pairs <= 0 || window_ms <= 0 ||
	    seconds <= 0 || nt_seconds <= 0 || bg_seconds <= 0) {
		fprintf(stderr, "bench: need --pid, and positive whole --rate, --reps, --pairs, "
				"--window-ms and positive --seconds, --nontarget-seconds, "
				"--background-seconds\n");
		return 2;
	}
	so.rate_hz = (unsigned int)rate;
	/* as `pyebpf --idle` loads it */
	so.off_cpu = so.gil_state = switches;
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
	else if (switches)
		ret = switch_cost(s, &counts, (pid_t)pid, &proc, bg_seconds, nt_seconds, seconds,
				  (int)reps);
	else
		ret = toggle(s, (pid_t)pid, &proc, (int)pairs, (int)window_ms, do_register);
	sampler__free(s);
	return ret;
}
