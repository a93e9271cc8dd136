// SPDX-License-Identifier: MIT
#include "record.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel_symbols.h"
#include "launcher.h"
#include "output_file.h"
#include "process_cmdline.h"
#include "profile.h"
#include "python_process.h"
#include "report.h"
#include "sample_stacks.h"
#include "sampler.h"
#include "source_files.h"
#include "summary.h"
#include "symbolizer.h"
#include "system_checks.h"
#include "thread_names.h"
#include "time_split.h"
#include "timeline.h"

/* How often the ring buffer is drained when nothing wakes us. */
#define POLL_INTERVAL_MS 50
#define SUMMARY_ROWS 5
/* How often Python's thread names are read again (renames, new threads). */
#define THREAD_NAMES_INTERVAL_S 1.0

struct target {
	pid_t pid;
	struct python_process pp;
	struct symbolizer *sym;
	struct source_files *files;
	struct thread_names *names; /* NULL: this Python's names are unreadable */
	char command[1024];	    /* its command line, for titles */
};

struct recorder {
	const struct cli_options *opts;
	struct profile *profile;
	struct sampler *sampler;
	struct output_file *out;
	struct target target;
	uint32_t *stack; /* scratch: frame ids of one sample, root first */
	struct sample_stacks_opts stack_opts;
	struct kernel_symbols *ksyms; /* --kernel */
	struct time_accounts *times;
	struct timeline *timeline; /* formats that show time order */
	/* the last thread state each profile thread was seen with (by profile
	 * thread id): 3.6 and 3.7 tell threads apart by it */
	uint64_t *thread_tstates;
	size_t n_thread_tstates;
	bool new_threads;     /* threads seen since their names were looked up */
	double names_read_at; /* when thread names were last read */

	pid_t child; /* the program we started, 0 when attached */
	bool child_exited;
	int child_status;
	bool target_gone;
	bool stop;

	uint64_t samples, error_samples; /* records that went into the profile */
	double started, ended;		 /* CLOCK_MONOTONIC seconds */
	uint64_t start_unix_ns, start_mono_ns;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	va_list ap;

	fputs("pyebpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int resolve_frame(const struct pyebpf_frame *frame, struct resolved_frame *out, void *ctx)
{
	return symbolizer__resolve(ctx, frame, out);
}

/* Remember the thread state of profile thread `id`; a thread not seen
 * before gets its name looked up soon. */
static int note_thread(struct recorder *r, uint32_t id, uint64_t tstate)
{
	if (id >= r->n_thread_tstates) {
		size_t n = id + 64;
		uint64_t *a = realloc(r->thread_tstates, n * sizeof(*a));

		if (!a)
			return -ENOMEM;
		memset(a + r->n_thread_tstates, 0, (n - r->n_thread_tstates) * sizeof(*a));
		r->thread_tstates = a;
		r->n_thread_tstates = n;
	}
	if (!r->thread_tstates[id])
		r->new_threads = true;
	if (tstate)
		r->thread_tstates[id] = tstate;
	return 0;
}

/* Read Python's thread names again and name the profile's threads of the
 * target: when new threads appeared, every THREAD_NAMES_INTERVAL_S for
 * renames, and (force) before writing. A name once known stays, also when
 * the thread or the whole process is gone. */
static void name_threads(struct recorder *r, bool force)
{
	struct target *t = &r->target;
	double now = now_s();

	if (!t->names ||
	    !(force || r->new_threads || now - r->names_read_at >= THREAD_NAMES_INTERVAL_S))
		return;
	r->names_read_at = now;
	r->new_threads = false;
	thread_names__refresh(t->names); /* on failure the names known stay */
	for (size_t i = 0; i < profile__thread_count(r->profile); i++) {
		const struct profile_thread *th = profile__thread(r->profile, i);
		uint64_t tstate = i < r->n_thread_tstates ? r->thread_tstates[i] : 0;
		const char *name;

		if (th->pid != t->pid)
			continue;
		name = thread_names__lookup(t->names, th->tid, tstate);
		if (name)
			profile__set_thread_name(r->profile, i, name);
	}
}

/* One record from the kernel: account its time, symbolize it and add it to
 * the profile. */
static int on_sample(const struct pyebpf_sample *s, void *ctx)
{
	struct recorder *r = ctx;
	struct target *t = &r->target;
	struct sample_stacks_result res;
	int err;

	if ((pid_t)s->pid != t->pid || !t->sym)
		return 0; /* a process we no longer follow */
	err = time_accounts__add(r->times, s, r->stack_opts.period_ns);
	if (err)
		return err;
	err = sample_stacks_add(r->profile, &r->stack_opts, s, resolve_frame, t->sym, r->stack,
				&res);
	if (err)
		return err;
	if (res.added) {
		err = note_thread(r, res.thread, s->tstate);
		if (err)
			return err;
		r->samples++;
		if (res.had_errors || (s->flags & (PYEBPF_SAMPLE_READ_ERROR | PYEBPF_SAMPLE_CYCLE)))
			r->error_samples++;
	}
	return 0;
}

static void target_reset(struct target *t)
{
	symbolizer__free(t->sym);
	t->sym = NULL;
	source_files__free(t->files);
	t->files = NULL;
	thread_names__free(t->names);
	t->names = NULL;
}

/* Point the sampler and the symbolizer at t->pp. */
static int target_start(struct recorder *r)
{
	struct target *t = &r->target;
	struct pyebpf_proc proc;
	int err;

	target_reset(t);
	t->pid = t->pp.pid;
	t->sym = symbolizer__new(t->pid, &t->pp.layout, t->pp.code_type_addr);
	if (!t->sym)
		return -errno;
	t->files = source_files__new(t->pid);
	if (!t->files)
		return -errno;
	r->stack_opts.files = r->opts->full_filenames ? NULL : t->files;
	/* without names (ENOTSUP: this Python's layout lacks what it needs)
	 * threads are shown by tid alone */
	t->names = thread_names__new(&t->pp);
	r->names_read_at = 0;
	if (process_cmdline(t->pid, t->command, sizeof(t->command)))
		snprintf(t->command, sizeof(t->command), "%.1000s", t->pp.executable);
	python_process__bpf_config(&t->pp, &proc);
	if (r->opts->gil_only && !proc.gil_locked_addr) {
		report("--gil: cannot find the GIL of pid %d (Python %s)", (int)t->pid,
		       t->pp.version);
		return -ENOTSUP;
	}
	err = sampler__add_process(r->sampler, (uint32_t)t->pid, &proc);
	if (err)
		report("cannot register pid %d with the BPF sampler: %s", (int)t->pid,
		       strerror(-err));
	return err;
}

/* The launched program exec()ed: it may be another interpreter now. */
static void target_exec(struct recorder *r)
{
	char why[512];
	int err;

	sampler__consume(r->sampler); /* old image's samples first */
	err = python_process__inspect(r->child, &r->target.pp, why, sizeof(why));
	if (err) {
		sampler__remove_process(r->sampler, (uint32_t)r->child);
		target_reset(&r->target);
		report("pid %d exec()ed %s, no longer profiled: %s", (int)r->child,
		       r->target.pp.executable, why);
		return;
	}
	target_start(r);
}

static void handle_child(struct recorder *r)
{
	enum launcher_event ev;
	int i;

	for (i = 0; i < 64 && !r->child_exited; i++) {
		if (launcher__poll(r->child, &ev, &r->child_status))
			return;
		switch (ev) {
		case LAUNCHER_NONE:
			return;
		case LAUNCHER_EXEC:
			target_exec(r);
			launcher__resume(r->child);
			break;
		case LAUNCHER_EXITING:
			/* still has its memory: symbolize what is waiting,
			 * read the threads' last names */
			sampler__consume(r->sampler);
			name_threads(r, true);
			launcher__resume(r->child);
			break;
		case LAUNCHER_EXITED:
			r->child_exited = true;
			r->target_gone = true;
			break;
		}
	}
}

static int open_target(struct recorder *r)
{
	const struct cli_options *o = r->opts;
	char why[512];
	int err, status = 0;

	if (o->pid) {
		err = python_process__inspect(o->pid, &r->target.pp, why, sizeof(why));
		if (err)
			report("cannot profile pid %d: %s", (int)o->pid, why);
		return err;
	}
	err = launcher__start(o->program, &r->child, why, sizeof(why));
	if (err) {
		report("%s", why);
		return err;
	}
	err = launcher__wait_for_python(r->child, &r->target.pp, &status, why, sizeof(why));
	if (err == -ECHILD) {
		r->child_exited = true;
		report("cannot profile '%s': %s (%s %d)", o->program[0], why,
		       WIFEXITED(status) ? "exit status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	} else if (err) {
		report("cannot profile '%s': %s", o->program[0], why);
	}
	return err;
}

static int setup_signals(int *sfd)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	*sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return *sfd < 0 ? -errno : 0;
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

static int poll_loop(struct recorder *r, int sfd, int pidfd)
{
	struct epoll_event ev = {.events = EPOLLIN}, events[4];
	double deadline = r->opts->duration_s > 0 ? r->started + r->opts->duration_s : 0;
	int ep = epoll_create1(EPOLL_CLOEXEC), err = 0;

	if (ep < 0)
		return -errno;
	ev.data.fd = sampler__fd(r->sampler);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (pidfd >= 0) {
		/* readable once the process has exited */
		ev.data.fd = pidfd;
		epoll_ctl(ep, EPOLL_CTL_ADD, pidfd, &ev);
	}

	while (!r->stop && !r->target_gone) {
		int timeout = POLL_INTERVAL_MS, n, i;

		if (deadline) {
			double left = deadline - now_s();

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
		err = sampler__consume(r->sampler);
		if (err < 0)
			break;
		err = 0;
		name_threads(r, false);
		drain_signals(r, sfd);
		if (r->child)
			handle_child(r);
		for (i = 0; i < n; i++)
			if (pidfd >= 0 && events[i].data.fd == pidfd)
				r->target_gone = true;
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

/* Everything a writer needs, from the finished recording. */
static struct report make_report(const struct recorder *r)
{
	const struct cli_options *o = r->opts;

	return (struct report){
		.profile = r->profile,
		.timeline = r->timeline,
		.unit = sample_stacks_weights_are_ns(o->time_mode) ? REPORT_NANOSECONDS
								   : REPORT_SAMPLES,
		.period_ns = r->stack_opts.period_ns,
		.mode = o->time_mode,
		.show_threads = o->threads,
		.pid = r->target.pid,
		.command = r->target.command,
		.python_version = r->target.pp.version,
		.rate_hz = o->rate_hz,
		.duration_s = r->ended - r->started,
		.start_unix_ns = r->start_unix_ns,
		.start_mono_ns = r->start_mono_ns,
	};
}

static void print_summary(struct recorder *r)
{
	const struct python_process *pp = &r->target.pp;
	uint64_t stats[PYEBPF_STAT__COUNT] = {0};

	if (r->sampler)
		sampler__stats(r->sampler, stats);
	fprintf(stderr, "\npyebpf: profiled pid %d (Python %s, %s) for %.2f s at %u Hz\n",
		(int)pp->pid, pp->version, pp->executable, r->ended - r->started, r->opts->rate_hz);
	if (r->opts->time_mode == TIME_CPU)
		fprintf(stderr, "  samples: %llu, with errors: %llu, lost: %llu\n",
			(unsigned long long)r->samples, (unsigned long long)r->error_samples,
			(unsigned long long)stats[PYEBPF_STAT_LOST]);
	else
		fprintf(stderr,
			"  records: %llu (on-CPU samples and off-CPU intervals), with errors: "
			"%llu, lost: %llu\n",
			(unsigned long long)r->samples, (unsigned long long)r->error_samples,
			(unsigned long long)stats[PYEBPF_STAT_LOST]);
	if (r->opts->time_mode != TIME_CPU || r->opts->gil_only)
		time_accounts__print(stderr, r->times, r->opts->threads);
	if (stats[PYEBPF_STAT_TRUNCATED])
		fprintf(stderr, "  stacks cut at %u frames: %llu (see --max-frames)\n",
			r->opts->max_frames, (unsigned long long)stats[PYEBPF_STAT_TRUNCATED]);
	if (r->child_exited) {
		if (WIFEXITED(r->child_status))
			fprintf(stderr, "  the program exited with status %d\n",
				WEXITSTATUS(r->child_status));
		else if (WIFSIGNALED(r->child_status))
			fprintf(stderr, "  the program was killed by signal %d (%s)\n",
				WTERMSIG(r->child_status), strsignal(WTERMSIG(r->child_status)));
	} else if (r->child) {
		fprintf(stderr, "  the program is still running as pid %d\n", (int)r->child);
	} else if (r->target_gone) {
		fprintf(stderr, "  the process exited\n");
	}
	fprintf(stderr, "  wrote %s (%s)\n", output_file__path(r->out),
		format_description(r->opts->format));
	if (r->samples)
		summary__print_weights(stderr, r->profile, SUMMARY_ROWS, profile__total(r->profile),
				       sample_stacks_weights_are_ns(r->opts->time_mode));
	else if (r->opts->gil_only)
		fprintf(stderr,
			"pyebpf: warning: no samples: no thread of pid %d held the GIL "
			"on a CPU while profiled\n",
			(int)pp->pid);
	else if (r->opts->time_mode == TIME_OFF_CPU)
		fprintf(stderr,
			"pyebpf: warning: no samples: no Python thread of pid %d was off CPU "
			"while profiled\n",
			(int)pp->pid);
	else
		fprintf(stderr,
			"pyebpf: warning: no samples: pid %d did not run on a CPU while "
			"profiled\n",
			(int)pp->pid);
}

/* The output file: -o, or pyebpf-<pid>-<time>.<ext> here. */
static struct output_file *open_output(const struct cli_options *opts, pid_t pid)
{
	struct output_file *out;
	char why[512], stem[64];

	snprintf(stem, sizeof(stem), "pyebpf-%d", (int)pid);
	out = output_file__new(opts->output, stem, cli_format_extension(opts->format), why,
			       sizeof(why));
	if (!out)
		report("%s", why);
	return out;
}

int record_run(const struct cli_options *opts)
{
	struct recorder r = {.opts = opts};
	struct sampler_opts so = {
		.rate_hz = opts->rate_hz,
		.max_frames = opts->max_frames,
		.off_cpu = opts->time_mode != TIME_CPU,
		.gil_state = opts->gil_only || opts->time_mode != TIME_CPU,
		.kernel_stacks = opts->kernel,
		.on_sample = on_sample,
		.ctx = &r,
	};
	struct report report_data;
	char why[512];
	int err, sfd = -1, pidfd = -1, exit_code = 1;

	err = system_check(why, sizeof(why));
	if (err) {
		report("%s", why);
		return 1;
	}
	/* the output exists before profiling starts, so a bad path fails at
	 * once; a generated name for a launched program waits for its pid */
	if (opts->output || opts->pid) {
		r.out = open_output(opts, opts->pid);
		if (!r.out)
			return 1;
	}
	if (opts->kernel) {
		r.ksyms = kernel_symbols__load(NULL, why, sizeof(why));
		if (!r.ksyms) {
			report("--kernel: %s", why);
			goto cleanup;
		}
	}
	r.profile = profile__new();
	r.times = time_accounts__new();
	r.stack = calloc(SAMPLE_STACKS_MAX_DEPTH, sizeof(*r.stack));
	if (opts->format == FORMAT_CHROMETRACE)
		r.timeline = timeline__new();
	if (!r.profile || !r.stack || !r.times ||
	    (opts->format == FORMAT_CHROMETRACE && !r.timeline)) {
		report("out of memory");
		goto cleanup;
	}
	/* signals first: a launched program inherits nothing from this (the
	 * launcher clears its mask), and Ctrl-C during start-up is caught */
	err = setup_signals(&sfd);
	if (err) {
		report("cannot set up signal handling: %s", strerror(-err));
		goto cleanup;
	}
	if (open_target(&r))
		goto cleanup;
	if (!r.out && !(r.out = open_output(opts, r.child)))
		goto cleanup;

	r.sampler = sampler__new(&so, why, sizeof(why));
	if (!r.sampler) {
		report("%s", why);
		goto cleanup;
	}
	r.stack_opts = (struct sample_stacks_opts){
		.mode = opts->time_mode,
		.gil_only = opts->gil_only,
		.lines = opts->no_line_numbers	? SAMPLE_LINES_NONE
			 : opts->function_lines ? SAMPLE_LINES_FUNCTION
						: SAMPLE_LINES_CURRENT,
		.timeline = r.timeline,
		.kernel = r.ksyms,
		.period_ns = sampler__period_ns(r.sampler),
	};
	if (target_start(&r))
		goto cleanup;
	if (so.off_cpu) {
		/* threads blocked since before we came: time them from now */
		err = sampler__snapshot_off_cpu(r.sampler);
		if (err) {
			report("cannot read the threads that are off CPU: %s", strerror(-err));
			goto cleanup;
		}
	}
	if (r.child) {
		err = launcher__run(r.child);
		if (err) {
			report("cannot start '%s': %s", opts->program[0], strerror(-err));
			goto cleanup;
		}
	} else {
		pidfd = (int)syscall(SYS_pidfd_open, r.target.pid, 0);
	}

	r.started = now_s();
	r.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	r.start_unix_ns = clock_ns(CLOCK_REALTIME);
	err = poll_loop(&r, sfd, pidfd);
	r.ended = now_s();
	sampler__set_enabled(r.sampler, false);
	if (so.off_cpu)
		sampler__flush_off_cpu(r.sampler); /* threads still off CPU, up to now */
	sampler__consume(r.sampler);
	if (err) {
		report("sampling failed: %s", strerror(-err));
		goto cleanup;
	}
	name_threads(&r, true);

	report_data = make_report(&r);
	err = report_write(&report_data, opts->format, output_file__stream(r.out));
	if (!err)
		err = output_file__commit(r.out);
	if (err) {
		report("cannot write '%s': %s", output_file__path(r.out), strerror(-err));
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
	target_reset(&r.target);
	sampler__free(r.sampler);
	if (pidfd >= 0)
		close(pidfd);
	if (sfd >= 0)
		close(sfd);
	free(r.stack);
	time_accounts__free(r.times);
	timeline__free(r.timeline);
	free(r.thread_tstates);
	kernel_symbols__free(r.ksyms);
	profile__free(r.profile);
	output_file__free(r.out);
	return exit_code;
}
