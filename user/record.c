// SPDX-License-Identifier: MIT
#include "record.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"
#include "messages.h"
#include "output_file.h"
#include "profile.h"
#include "python_process.h"
#include "report.h"
#include "sample_stacks.h"
#include "session.h"
#include "signals.h"
#include "summary.h"
#include "system_checks.h"
#include "time_split.h"

#define SUMMARY_ROWS 5
/* Processes listed one per line in the summary of a many-process run. */
#define SUMMARY_PROCESSES 10

struct recorder {
	const struct cli_options *opts;
	struct session *session;
	struct output_file *out;

	pid_t child; /* the program we started, 0 when attached */
	bool child_exited;
	int child_status;
	bool stop;

	double started, ended; /* CLOCK_MONOTONIC seconds */
	uint64_t start_unix_ns, start_mono_ns;
	char title_command[1024]; /* what the report says was profiled */
	char versions[64];	  /* the Python version(s) profiled */
};

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Register what the command line names: --pid, or a program to start
 * (stopped after its exec until sampling is ready); --all needs nothing. */
static int open_target(struct recorder *r)
{
	const struct cli_options *o = r->opts;
	struct python_process *pp;
	char why[1024];
	unsigned int flags = o->subprocesses ? SESSION_PID_MAY_WAIT : 0;
	int err, status = 0;

	if (o->pid) {
		err = session__add_pid(r->session, o->pid, flags, why, sizeof(why));
		if (err)
			pyebpf_message("%s", why);
		return err;
	}
	if (!o->program)
		return 0;
	err = launcher__start(o->program, &r->child, why, sizeof(why));
	if (err) {
		pyebpf_message("%s", why);
		return err;
	}
	if (o->subprocesses) {
		/* the program may be a shell that starts Python later: it is
		 * followed, and inspected again after each exec() */
		err = session__add_pid(r->session, r->child, flags, why, sizeof(why));
		if (err)
			pyebpf_message("cannot profile '%s': %s", o->program[0], why);
		return err;
	}
	pp = malloc(sizeof(*pp));
	if (!pp) {
		pyebpf_message("out of memory");
		return -ENOMEM;
	}
	err = launcher__wait_for_python(r->child, pp, &status, why, sizeof(why));
	free(pp);
	if (err == -ECHILD) {
		r->child_exited = true;
		pyebpf_message("cannot profile '%s': %s (%s %d)", o->program[0], why,
			       WIFEXITED(status) ? "exit status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return err;
	} else if (err) {
		pyebpf_message("cannot profile '%s': %s", o->program[0], why);
		return err;
	}
	err = session__add_pid(r->session, r->child, 0, why, sizeof(why));
	if (err)
		pyebpf_message("cannot profile '%s': %s", o->program[0], why);
	return err;
}

static void drain_signals(struct recorder *r, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue; /* handled by polling the child below */
		r->stop = true;
	}
}

static int poll_loop(struct recorder *r, int sfd)
{
	struct epoll_event ev = {.events = EPOLLIN}, events[4];
	double deadline = r->opts->duration_s > 0 ? r->started + r->opts->duration_s : 0;
	int ep = epoll_create1(EPOLL_CLOEXEC), err = 0;

	if (ep < 0)
		return -errno;
	ev.data.fd = session__fd(r->session);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

	while (!r->stop) {
		int timeout = session__timeout_ms(r->session), n;

		if (deadline) {
			double left = deadline - monotonic_s();

			if (left <= 0)
				break;
			if (left * 1000 < timeout)
				timeout = (int)(left * 1000) + 1;
		}
		n = epoll_wait(ep, events, 4, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		err = session__poll(r->session);
		if (err)
			break;
		drain_signals(r, sfd);
		if (r->child)
			session__handle_child(r->session, r->child, &r->child_exited,
					      &r->child_status);
		/* everything named has exited (a launched program also reaped) */
		if (session__done(r->session) && (!r->child || r->child_exited))
			break;
	}
	close(ep);
	return err;
}

static const char *format_description(enum output_format f)
{
	switch (f) {
	case FORMAT_FLAMEGRAPH:
		return "SVG flame graph: open it in a browser";
	case FORMAT_RAW:
		return "folded stacks";
	case FORMAT_SPEEDSCOPE:
		return "speedscope JSON: open it at https://www.speedscope.app";
	case FORMAT_PPROF:
		return "pprof: go tool pprof -http=: FILE";
	case FORMAT_CHROMETRACE:
		return "Chrome trace events: open it in https://ui.perfetto.dev";
	}
	return "?";
}

/* What was profiled, for titles: the one process's command, or a
 * description of many; and the Python version(s). */
static void describe_targets(struct recorder *r)
{
	const struct cli_options *o = r->opts;
	struct session_process sp, first = {0};
	size_t n = session__process_count(r->session);
	bool mixed = false;

	for (size_t i = 0; i < n; i++) {
		session__process(r->session, i, &sp);
		if (!i)
			first = sp;
		else if (strcmp(sp.version, first.version))
			mixed = true;
	}
	r->versions[0] = '\0';
	if (n)
		snprintf(r->versions, sizeof(r->versions), "%s",
			 mixed ? "several versions" : first.version);
	r->title_command[0] = '\0';
	if (o->all) {
		snprintf(r->title_command, sizeof(r->title_command), "all Python processes");
	} else if (n) {
		/* the last image of what was named (a launched program may have
		 * exec()ed), else the first process */
		for (size_t i = n; i-- > 0;) {
			session__process(r->session, i, &sp);
			if (sp.added) {
				first = sp;
				break;
			}
		}
		snprintf(r->title_command, sizeof(r->title_command), "%s%s", first.command,
			 o->subprocesses ? " (and subprocesses)" : "");
	} else if (o->program) {
		snprintf(r->title_command, sizeof(r->title_command), "%s%s", o->program[0],
			 o->subprocesses ? " (and subprocesses)" : "");
	}
}

/* The pid the report names: the one given or started, none for --all. */
static pid_t named_pid(const struct recorder *r)
{
	return r->opts->pid ? r->opts->pid : r->child;
}

/* Everything a writer needs, from the finished recording. */
static struct report make_report(const struct recorder *r)
{
	const struct cli_options *o = r->opts;

	return (struct report){
		.profile = session__profile(r->session),
		.timeline = session__timeline(r->session),
		.unit = sample_stacks_weights_are_ns(o->time_mode) ? REPORT_NANOSECONDS
								   : REPORT_SAMPLES,
		.period_ns = session__period_ns(r->session),
		.mode = o->time_mode,
		.show_threads = o->threads,
		.show_processes = o->subprocesses || o->all,
		.pid = named_pid(r),
		.command = r->title_command,
		.python_version = r->versions[0] ? r->versions : NULL,
		.rate_hz = o->rate_hz,
		.duration_s = r->ended - r->started,
		.start_unix_ns = r->start_unix_ns,
		.start_mono_ns = r->start_mono_ns,
	};
}

/* " (ns pid 1)" for a process in another pid namespace, else "". */
static const char *ns_note(const struct session_process *sp, char *buf, size_t size)
{
	buf[0] = '\0';
	if (sp->ns_pid > 0 && sp->ns_pid != sp->pid)
		snprintf(buf, size, "ns pid %d; ", (int)sp->ns_pid);
	return buf;
}

static int by_samples_desc(const void *a, const void *b)
{
	const struct session_process *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The first summary line(s): which processes, for how long. */
static void print_processes(struct recorder *r)
{
	const struct cli_options *o = r->opts;
	size_t n = session__process_count(r->session);
	struct session_process sp, *list;
	char ns[48];

	if (!o->subprocesses && !o->all) {
		/* one process: the last image of it */
		if (n) {
			session__process(r->session, n - 1, &sp);
			fprintf(stderr,
				"\npyebpf: profiled pid %d (%sPython %s, %s) for %.2f s at %u Hz\n",
				(int)sp.pid, ns_note(&sp, ns, sizeof(ns)), sp.version,
				sp.executable, r->ended - r->started, o->rate_hz);
		}
		return;
	}
	if (o->all)
		fprintf(stderr,
			"\npyebpf: profiled %zu Python process%s (--all) for %.2f s at %u Hz\n", n,
			n == 1 ? "" : "es", r->ended - r->started, o->rate_hz);
	else
		fprintf(stderr,
			"\npyebpf: profiled %zu Python process%s (pid %d and its subprocesses) for "
			"%.2f s at %u Hz\n",
			n, n == 1 ? "" : "es", (int)named_pid(r), r->ended - r->started,
			o->rate_hz);
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		session__process(r->session, i, &list[i]);
	qsort(list, n, sizeof(*list), by_samples_desc);
	for (size_t i = 0; i < n && i < SUMMARY_PROCESSES; i++)
		fprintf(stderr, "  pid %d (%sPython %s): %.60s: %llu samples%s\n", (int)list[i].pid,
			ns_note(&list[i], ns, sizeof(ns)), list[i].version, list[i].command,
			(unsigned long long)list[i].samples, list[i].alive ? "" : ", exited");
	if (n > SUMMARY_PROCESSES)
		fprintf(stderr, "  ... and %zu more\n", n - SUMMARY_PROCESSES);
	free(list);
}

static void print_summary(struct recorder *r)
{
	const struct cli_options *o = r->opts;
	struct session_stats st;
	pid_t pid = named_pid(r);

	session__stats(r->session, &st);
	print_processes(r);
	if (o->time_mode == TIME_CPU)
		fprintf(stderr, "  samples: %llu, with errors: %llu, lost: %llu\n",
			(unsigned long long)st.samples, (unsigned long long)st.error_samples,
			(unsigned long long)st.lost);
	else
		fprintf(stderr,
			"  records: %llu (on-CPU samples and off-CPU intervals), with errors: "
			"%llu, lost: %llu\n",
			(unsigned long long)st.samples, (unsigned long long)st.error_samples,
			(unsigned long long)st.lost);
	if (o->time_mode != TIME_CPU || o->gil_only)
		time_accounts__print(stderr, session__times(r->session), o->threads);
	if (st.truncated)
		fprintf(stderr, "  stacks cut at %u frames: %llu (see --max-frames)\n",
			o->max_frames, (unsigned long long)st.truncated);
	if (o->subprocesses || o->all)
		fprintf(stderr,
			"  processes: %zu profiled, %zu still running; kernel entries: %ld "
			"registered, %ld followed; events lost: %llu\n",
			st.processes, st.live, st.kernel_procs, st.kernel_followed,
			(unsigned long long)st.lost_events);
	if (st.pickups)
		fprintf(stderr,
			"  processes that exec()ed Python were profiled %.1f ms after their exec "
			"on average (at most %.1f ms)\n",
			st.pickup_ns_total / 1e6 / st.pickups, st.pickup_ns_max / 1e6);
	if (r->child_exited) {
		if (WIFEXITED(r->child_status))
			fprintf(stderr, "  the program exited with status %d\n",
				WEXITSTATUS(r->child_status));
		else if (WIFSIGNALED(r->child_status))
			fprintf(stderr, "  the program was killed by signal %d (%s)\n",
				WTERMSIG(r->child_status), strsignal(WTERMSIG(r->child_status)));
	} else if (r->child) {
		fprintf(stderr, "  the program is still running as pid %d\n", (int)r->child);
	} else if (!o->all && session__done(r->session)) {
		fprintf(stderr, "  the process exited\n");
	}
	fprintf(stderr, "  wrote %s (%s)\n", output_file__path(r->out),
		format_description(o->format));
	if (st.samples)
		summary__print_weights(stderr, session__profile(r->session), SUMMARY_ROWS,
				       profile__total(session__profile(r->session)),
				       sample_stacks_weights_are_ns(o->time_mode));
	else if (o->all)
		fprintf(stderr, "pyebpf: warning: no samples: no Python process ran on a CPU while "
				"profiled\n");
	else if (o->gil_only)
		fprintf(stderr,
			"pyebpf: warning: no samples: no thread of pid %d held the GIL "
			"on a CPU while profiled\n",
			(int)pid);
	else if (o->time_mode == TIME_OFF_CPU)
		fprintf(stderr,
			"pyebpf: warning: no samples: no Python thread of pid %d was off CPU "
			"while profiled\n",
			(int)pid);
	else
		fprintf(stderr,
			"pyebpf: warning: no samples: pid %d did not run on a CPU while "
			"profiled\n",
			(int)pid);
}

/* The output file: -o, or pyebpf-<pid>-<time>.<ext> (pyebpf-all-... for
 * --all) here. */
static struct output_file *open_output(const struct cli_options *opts, pid_t pid)
{
	struct output_file *out;
	char why[512], stem[64];

	if (opts->all)
		snprintf(stem, sizeof(stem), "pyebpf-all");
	else
		snprintf(stem, sizeof(stem), "pyebpf-%d", (int)pid);
	out = output_file__new(opts->output, stem, cli_format_extension(opts->format), why,
			       sizeof(why));
	if (!out)
		pyebpf_message("%s", why);
	return out;
}

int record_run(const struct cli_options *opts)
{
	struct recorder r = {.opts = opts};
	struct session_opts so;
	struct report report_data;
	char why[512];
	int err, sfd = -1, exit_code = 1;

	err = system_check(why, sizeof(why));
	if (err) {
		pyebpf_message("%s", why);
		return 1;
	}
	/* the output exists before profiling starts, so a bad path fails at
	 * once; a generated name for a launched program waits for its pid */
	if (opts->output || opts->pid || opts->all) {
		r.out = open_output(opts, opts->pid);
		if (!r.out)
			return 1;
	}
	/* signals first: a launched program inherits nothing from this (the
	 * launcher clears its mask), and Ctrl-C during start-up is caught */
	sfd = signals_fd((const int[]){SIGINT, SIGTERM, SIGHUP, SIGCHLD}, 4, NULL);
	err = sfd < 0 ? sfd : 0;
	if (err) {
		pyebpf_message("cannot set up signal handling: %s", strerror(-err));
		goto cleanup;
	}
	session_opts_from_cli(&so, opts);
	r.session = session__new(&so, why, sizeof(why));
	if (!r.session) {
		pyebpf_message("%s", why);
		goto cleanup;
	}
	if (open_target(&r))
		goto cleanup;
	if (!r.out && !(r.out = open_output(opts, r.child)))
		goto cleanup;
	err = session__start(r.session);
	if (err) {
		pyebpf_message("cannot read the threads that are off CPU: %s", strerror(-err));
		goto cleanup;
	}
	if (r.child) {
		err = launcher__run(r.child);
		if (err) {
			pyebpf_message("cannot start '%s': %s", opts->program[0], strerror(-err));
			goto cleanup;
		}
	}

	r.started = monotonic_s();
	r.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	r.start_unix_ns = clock_ns(CLOCK_REALTIME);
	err = poll_loop(&r, sfd);
	r.ended = monotonic_s();
	if (!err)
		err = session__stop(r.session);
	else
		session__stop(r.session);
	if (err) {
		pyebpf_message("sampling failed: %s", strerror(-err));
		goto cleanup;
	}

	describe_targets(&r);
	report_data = make_report(&r);
	err = report_write(&report_data, opts->format, output_file__stream(r.out));
	if (!err)
		err = output_file__commit(r.out);
	if (err) {
		pyebpf_message("cannot write '%s': %s", output_file__path(r.out), strerror(-err));
		goto cleanup;
	}
	print_summary(&r);
	exit_code = 0;

cleanup:
	if (r.child && !r.child_exited && exit_code) {
		/* we started it and could not profile it: don't leave it behind */
		kill(r.child, SIGKILL);
		waitpid(r.child, NULL, __WALL);
	}
	session__free(r.session);
	if (sfd >= 0)
		close(sfd);
	output_file__free(r.out);
	return exit_code;
}
