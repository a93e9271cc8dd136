// SPDX-License-Identifier: MIT
/*
 * The session engine (session.h).
 *
 * Ordering. Samples and process events come through one ring buffer in the
 * order the kernel produced them (pyebpf.h, struct pyebpf_process_event),
 * and are handled in that order: every sample of an image that exec()ed or
 * exited is symbolized before its target is dropped, and a child's fork
 * event creates its target before its first sample. The kernel deletes a
 * process's registration itself at exec() and exit, so no sample of a new
 * image is ever read with the old image's offsets, and a pid can only be
 * reused after its exit event is in the ring, behind everything of the old
 * process.
 *
 * Targets are kept in a small hash table by pid; each holds a pidfd (in the
 * session's epoll set) so an exit is seen even without process events, or
 * when the ring buffer lost one. Processes that are not Python yet are
 * "pending": inspected again after 1, 2, 4 ... 50 ms up to 2 s.
 */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernel_symbols.h"
#include "launcher.h"
#include "messages.h"
#include "proc_info.h"
#include "process_cmdline.h"
#include "profile.h"
#include "python_process.h"
#include "sampler.h"
#include "source_files.h"
#include "symbolizer.h"
#include "thread_names.h"
#include "time_split.h"
#include "timeline.h"

/* How often the ring buffer is drained when nothing wakes us. */
#define POLL_INTERVAL_MS 50
/* How often Python's thread names are read again (renames, new threads). */
#define THREAD_NAMES_INTERVAL_S 1.0
/* A process that is not Python (yet) after exec(): retried this long, at
 * growing intervals up to PENDING_MAX_DELAY_S. */
#define PENDING_WINDOW_S 2.0
#define PENDING_FIRST_DELAY_S 0.001
#define PENDING_MAX_DELAY_S 0.050
#define TARGET_BUCKETS 256
/* Kernel map sizes with following on. */
#define MAX_PROCESSES 4096
#define MAX_FOLLOWED 65536

/* epoll tags: what a ready descriptor is */
enum tag_kind {
	TAG_RING = 0,
	TAG_TARGET = 1,
	TAG_PENDING = 2,
	TAG_ROOT = 3,
};

struct target {
	struct target *next; /* in its hash bucket */
	pid_t pid;
	int pidfd; /* -1 when it could not be opened */
	bool added;
	struct python_process pp; /* the symbolizer points into its layout */
	struct symbolizer *sym;
	struct source_files *files;
	struct thread_names *names; /* NULL: this Python's names are unreadable */
	uint32_t process;	    /* its process entry in the profile */
	size_t info;		    /* its entry in session.infos */
	uint32_t *threads;	    /* its profile thread ids */
	size_t n_threads, threads_cap;
	bool new_threads;     /* threads seen since names were read */
	double names_read_at; /* when thread names were last read */
};

/* A process to inspect (again) later. */
struct pending {
	pid_t pid;
	int pidfd;
	bool added;
	bool quiet;	   /* no notice when it never becomes Python */
	uint64_t event_ns; /* the exec/fork event that started it (ktime), 0 */
	double next_at, give_up_at, delay;
};

/* A pid the caller added: the session is done when all are gone. */
struct root {
	pid_t pid;
	int pidfd;
	bool gone;
};

/* What the session tells about each target instance, kept after it is
 * gone. */
struct info {
	pid_t pid, ns_pid;
	char *command, *executable;
	char version[32];
	bool alive, added;
	uint64_t samples;
	uint32_t process;   /* PROFILE_NO_PROCESS once the profile was taken
			       and it was not alive */
	uint64_t pickup_ns; /* from its exec/fork event to its registration;
			       0 for processes found otherwise */
};

struct session {
	struct session_opts opts;
	struct proc_filter filter;
	bool following; /* process events loaded */
	struct sampler *sampler;
	struct profile *profile;
	struct time_accounts *times;
	struct timeline *timeline;
	struct kernel_symbols *ksyms;
	struct sample_stacks_opts stack_opts;
	uint32_t *stack; /* scratch: frame ids of one sample */
	int ep;

	struct target *buckets[TARGET_BUCKETS];
	size_t live;
	struct pending *pending;
	size_t n_pending, pending_cap;
	struct root *roots;
	size_t n_roots, roots_cap;
	struct info *infos;
	size_t n_infos, infos_cap;

	/* per profile thread id: the thread state it was last seen with
	 * (3.6 and 3.7 tell threads apart by it), 0 before its first sample */
	uint64_t *thread_tstates;
	size_t n_thread_tstates;

	uint64_t samples, error_samples, dropped;
	/* instances forgotten by session__forget_gone(), still counted */
	size_t forgotten, forgotten_pickups;
	uint64_t forgotten_pickup_ns_total, forgotten_pickup_ns_max;
	bool stopped;
};

static void notice(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->opts.messages)
		return;
	fputs("pyebpf: ", s->opts.messages);
	va_start(ap, fmt);
	vfprintf(s->opts.messages, fmt, ap);
	va_end(ap);
	fputc('\n', s->opts.messages);
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *a;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	a = realloc(*arr, ncap * size);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = ncap;
	return 0;
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Whether the process behind a pidfd has exited. */
static bool pidfd_exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return pidfd >= 0 && poll(&p, 1, 0) == 1;
}

static void watch(struct session *s, int fd, enum tag_kind kind, pid_t pid)
{
	struct epoll_event ev = {.events = EPOLLIN,
				 .data.u64 = (uint64_t)kind << 32 | (uint32_t)pid};

	if (fd >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd); /* leaves the epoll set with it */
	*fd = -1;
}

/* ---- targets ------------------------------------------------------------ */

static struct target **bucket(struct session *s, pid_t pid)
{
	return &s->buckets[(uint32_t)pid * 2654435761u % TARGET_BUCKETS];
}

static struct target *find_target(const struct session *s, pid_t pid)
{
	struct target *t = s->buckets[(uint32_t)pid * 2654435761u % TARGET_BUCKETS];

	while (t && t->pid != pid)
		t = t->next;
	return t;
}

static void target_free(struct target *t)
{
	if (!t)
		return;
	symbolizer__free(t->sym);
	source_files__free(t->files);
	thread_names__free(t->names);
	close_fd(&t->pidfd);
	free(t->threads);
	free(t);
}

/*
 * Forget target `pid`. `kernel_knows`: the kernel already deleted its
 * registration (exec and exit events); otherwise it is deleted here.
 */
static void drop_target(struct session *s, pid_t pid, bool kernel_knows)
{
	struct target **pp = bucket(s, pid), *t;

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	t = *pp;
	if (!t)
		return;
	*pp = t->next;
	if (!kernel_knows)
		sampler__remove_process(s->sampler, (uint32_t)pid);
	s->infos[t->info].alive = false;
	s->live--;
	target_free(t);
}

/* Read the names of t's threads (when due, or `force`) and name the
 * profile's threads of it. A name once known stays. */
static void name_target_threads(struct session *s, struct target *t, double now, bool force)
{
	if (!t->names ||
	    !(force || t->new_threads || now - t->names_read_at >= THREAD_NAMES_INTERVAL_S))
		return;
	t->names_read_at = now;
	t->new_threads = false;
	thread_names__refresh(t->names); /* on failure the names known stay */
	for (size_t i = 0; i < t->n_threads; i++) {
		uint32_t id = t->threads[i];
		const struct profile_thread *th = profile__thread(s->profile, id);
		uint64_t tstate = id < s->n_thread_tstates ? s->thread_tstates[id] : 0;
		const char *name;

		if (!th)
			continue;
		name = thread_names__lookup(t->names, th->tid, tstate);
		if (name)
			profile__set_thread_name(s->profile, id, name);
	}
}

static void name_threads(struct session *s, bool force)
{
	double now = monotonic_s();

	for (size_t b = 0; b < TARGET_BUCKETS; b++)
		for (struct target *t = s->buckets[b]; t; t = t->next)
			name_target_threads(s, t, now, force);
}

/* Remember the thread state of profile thread `id` of target t; a thread
 * not seen before gets its name looked up soon. */
static int note_thread(struct session *s, struct target *t, uint32_t id, uint64_t tstate)
{
	if (id >= s->n_thread_tstates) {
		size_t n = id + 64;
		uint64_t *a = realloc(s->thread_tstates, n * sizeof(*a));

		if (!a)
			return -ENOMEM;
		memset(a + s->n_thread_tstates, 0, (n - s->n_thread_tstates) * sizeof(*a));
		s->thread_tstates = a;
		s->n_thread_tstates = n;
	}
	if (!s->thread_tstates[id]) {
		/* first sample of this thread (0 is never a thread state the
		 * kernel reports for a Python thread; a native thread's stays
		 * 0 and is simply looked up again) */
		bool known = false;

		for (size_t i = 0; i < t->n_threads && !known; i++)
			known = t->threads[i] == id;
		if (!known) {
			if (grow((void **)&t->threads, &t->threads_cap, t->n_threads + 1,
				 sizeof(*t->threads)))
				return -ENOMEM;
			t->threads[t->n_threads++] = id;
			t->new_threads = true;
		}
	}
	if (tstate)
		s->thread_tstates[id] = tstate;
	return 0;
}

/*
 * Make `pp` (inspected, or copied from a parent) a target. `in_kernel`: the
 * kernel registered it already (a forked child). Returns 0, or -errno with
 * the reason in why (session__add_pid's wording).
 */
static int add_target(struct session *s, const struct python_process *pp, bool added,
		      bool in_kernel, uint64_t event_ns, char *why, size_t why_size)
{
	struct target *t = calloc(1, sizeof(*t));
	struct pyebpf_proc proc;
	struct info *info;
	char command[1024];
	pid_t pid = pp->pid, ns_pid;
	int err;

	if (!t)
		return -ENOMEM;
	t->pid = pid;
	t->pidfd = pidfd_open(pid);
	t->added = added;
	t->pp = *pp;
	if (t->pidfd < 0 && errno == ESRCH) {
		err = -ESRCH;
		snprintf(why, why_size, "cannot profile pid %d: no such process", (int)pid);
		goto fail;
	}
	t->sym = symbolizer__new(pid, &t->pp.layout, t->pp.code_type_addr);
	t->files = source_files__new(pid);
	if (!t->sym || !t->files) {
		err = -ENOMEM;
		snprintf(why, why_size, "out of memory");
		goto fail;
	}
	/* without names (ENOTSUP: this Python's layout lacks what it needs)
	 * threads are shown by tid alone */
	t->names = thread_names__new(&t->pp);
	python_process__bpf_config(&t->pp, &proc);
	if (s->opts.gil_only && !proc.gil_locked_addr) {
		err = -ENOTSUP;
		snprintf(why, why_size, "--gil: cannot find the GIL of pid %d (Python %s)",
			 (int)pid, t->pp.version);
		goto fail;
	}
	if (process_cmdline(pid, command, sizeof(command)))
		snprintf(command, sizeof(command), "%.1000s", t->pp.executable);
	if (proc_info_ns_pid(pid, &ns_pid))
		ns_pid = pid;
	err = grow((void **)&s->infos, &s->infos_cap, s->n_infos + 1, sizeof(*s->infos));
	if (!err)
		err = profile__add_process(s->profile, pid, ns_pid, command, &t->process);
	if (err) {
		snprintf(why, why_size, "out of memory");
		goto fail;
	}
	info = &s->infos[s->n_infos];
	*info = (struct info){.pid = pid,
			      .ns_pid = ns_pid,
			      .command = strdup(command),
			      .executable = strdup(t->pp.executable),
			      .alive = true,
			      .added = added,
			      .process = t->process};
	snprintf(info->version, sizeof(info->version), "%s", t->pp.version);
	if (event_ns) {
		/* bpf_ktime_get_ns() is CLOCK_MONOTONIC */
		uint64_t now = (uint64_t)(monotonic_s() * 1e9);

		info->pickup_ns = now > event_ns ? now - event_ns : 1;
	}
	if (!info->command || !info->executable) {
		free(info->command);
		free(info->executable);
		err = -ENOMEM;
		snprintf(why, why_size, "out of memory");
		goto fail;
	}
	if (!in_kernel) {
		err = sampler__add_process(s->sampler, (uint32_t)pid, &proc);
		if (err) {
			free(info->command);
			free(info->executable);
			snprintf(why, why_size, "cannot register pid %d with the BPF sampler: %s",
				 (int)pid, strerror(-err));
			goto fail;
		}
	}
	t->info = s->n_infos++;
	t->next = *bucket(s, pid);
	*bucket(s, pid) = t;
	s->live++;
	watch(s, t->pidfd, TAG_TARGET, pid);
	return 0;
fail:
	target_free(t);
	return err;
}

/* ---- pending inspections -------------------------------------------------- */

static struct pending *find_pending(struct session *s, pid_t pid)
{
	for (size_t i = 0; i < s->n_pending; i++)
		if (s->pending[i].pid == pid)
			return &s->pending[i];
	return NULL;
}

static void drop_pending(struct session *s, pid_t pid)
{
	struct pending *p = find_pending(s, pid);

	if (!p)
		return;
	close_fd(&p->pidfd);
	*p = s->pending[--s->n_pending];
}

/* Inspect pid again from now on (after an exec(), or the first time). */
static int start_pending(struct session *s, pid_t pid, bool added, bool quiet, uint64_t event_ns)
{
	struct pending *p = find_pending(s, pid);
	double now = monotonic_s();

	if (!p) {
		if (grow((void **)&s->pending, &s->pending_cap, s->n_pending + 1,
			 sizeof(*s->pending)))
			return -ENOMEM;
		p = &s->pending[s->n_pending++];
		*p = (struct pending){.pid = pid, .pidfd = pidfd_open(pid), .added = added};
		if (p->pidfd < 0) {
			s->n_pending--;
			return -ESRCH;
		}
		watch(s, p->pidfd, TAG_PENDING, pid);
	}
	p->added |= added;
	p->event_ns = event_ns;
	p->quiet = quiet || !added;
	p->next_at = now;
	p->delay = PENDING_FIRST_DELAY_S;
	p->give_up_at = now + PENDING_WINDOW_S;
	return 0;
}

/* The filter for processes the caller did not add. */
static bool wanted(struct session *s, pid_t pid, const char *comm)
{
	char exe[4096], buf[32], path[64];
	ssize_t n;

	if (!s->opts.n_comm && !s->opts.n_exclude_pids)
		return pid != s->filter.self;
	if (!comm) {
		if (proc_info_comm(pid, buf, sizeof(buf)))
			return false;
		comm = buf;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n >= 0)
		exe[n] = '\0';
	return proc_filter_match(&s->filter, pid, comm, n >= 0 ? exe : NULL);
}

/* One inspection of a pending process: registered, retried later, or
 * given up. */
static void try_pending(struct session *s, struct pending *p, double now)
{
	struct python_process *pp = malloc(sizeof(*pp));
	char why[512], why2[512];
	pid_t pid = p->pid;
	bool added = p->added, quiet = p->quiet;
	uint64_t event_ns = p->event_ns;
	int err;

	if (!pp)
		return;
	if (pidfd_exited(p->pidfd)) {
		drop_pending(s, pid);
		free(pp);
		return;
	}
	err = python_process__inspect(pid, pp, why, sizeof(why));
	if (err == -ENOEXEC && now < p->give_up_at) {
		/* its libpython may not be mapped yet */
		p->next_at = now + p->delay;
		p->delay = p->delay * 2 < PENDING_MAX_DELAY_S ? p->delay * 2 : PENDING_MAX_DELAY_S;
		free(pp);
		return;
	}
	drop_pending(s, pid);
	if (!err && find_target(s, pid)) {
		free(pp); /* registered meanwhile */
		return;
	}
	if (!err)
		err = add_target(s, pp, added, false, event_ns, why2, sizeof(why2));
	else
		snprintf(why2, sizeof(why2), "%s", why);
	if (err && !quiet && err != -ESRCH)
		notice(s, "pid %d exec()ed %s, no longer profiled: %s", (int)pid, pp->executable,
		       why2);
	free(pp);
}

static void run_pending(struct session *s)
{
	double now = monotonic_s();

	/* try_pending may remove entries: walk from the end */
	for (size_t i = s->n_pending; i-- > 0;)
		if (i < s->n_pending && s->pending[i].next_at <= now)
			try_pending(s, &s->pending[i], now);
}

/* ---- kernel records ----------------------------------------------------- */

static int resolve_frame(const struct pyebpf_frame *frame, struct resolved_frame *out, void *ctx)
{
	return symbolizer__resolve(ctx, frame, out);
}

/* One record from the kernel: account its time, symbolize it and add it to
 * the profile of its process. */
static int on_sample(const struct pyebpf_sample *smp, void *ctx)
{
	struct session *s = ctx;
	struct target *t = find_target(s, (pid_t)smp->pid);
	struct sample_stacks_result res;
	int err;

	if (!t) {
		s->dropped++; /* a process we no longer follow */
		return 0;
	}
	err = time_accounts__add(s->times, smp, s->stack_opts.period_ns);
	if (err)
		return err;
	s->stack_opts.files = s->opts.full_filenames ? NULL : t->files;
	s->stack_opts.in_process = true;
	s->stack_opts.process = t->process;
	err = sample_stacks_add(s->profile, &s->stack_opts, smp, resolve_frame, t->sym, s->stack,
				&res);
	if (err)
		return err;
	if (res.added) {
		err = note_thread(s, t, res.thread, smp->tstate);
		if (err)
			return err;
		s->samples++;
		s->infos[t->info].samples++;
		if (res.had_errors ||
		    (smp->flags & (PYEBPF_SAMPLE_READ_ERROR | PYEBPF_SAMPLE_CYCLE)))
			s->error_samples++;
	}
	return 0;
}

/* A child forked by a registered process; the kernel registered it with
 * its parent's configuration already. */
static void on_process_fork(struct session *s, const struct pyebpf_process_event *ev)
{
	pid_t pid = (pid_t)ev->pid;
	struct target *parent = find_target(s, (pid_t)ev->parent);
	struct python_process *pp;
	char why[512];

	/*
	 * The kernel registered the child already. Its entry is left alone
	 * here even when the child is not wanted: the kernel deletes it at
	 * exec or exit, and by the time userspace deleted it the pid might
	 * be another process's (its samples meanwhile are dropped here).
	 */
	if (find_target(s, pid))
		drop_target(s, pid, true); /* missed its exit: it is a new process */
	if (!wanted(s, pid, ev->comm))
		return;
	if (!parent) {
		/* we never took the parent (excluded): the child on its own */
		start_pending(s, pid, false, true, ev->time_ns);
		return;
	}
	pp = malloc(sizeof(*pp));
	if (!pp)
		return;
	*pp = parent->pp; /* same image, same addresses */
	pp->pid = pid;
	add_target(s, pp, false, true, 0, why, sizeof(why));
	free(pp);
}

static void on_process_exec(struct session *s, const struct pyebpf_process_event *ev)
{
	pid_t pid = (pid_t)ev->pid;
	struct target *t = find_target(s, pid);
	bool added = t ? t->added : false;

	for (size_t i = 0; i < s->n_roots; i++)
		added |= s->roots[i].pid == pid && !s->roots[i].gone;
	/* every sample of the old image came before this event */
	drop_target(s, pid, true);
	if (!added && !wanted(s, pid, ev->comm)) {
		drop_pending(s, pid);
		return;
	}
	start_pending(s, pid, added, false, ev->time_ns);
}

static void on_process_exit(struct session *s, const struct pyebpf_process_event *ev)
{
	pid_t pid = (pid_t)ev->pid;

	drop_target(s, pid, true);
	drop_pending(s, pid);
}

static int on_event(const struct pyebpf_process_event *ev, void *ctx)
{
	struct session *s = ctx;

	switch (ev->type) {
	case PYEBPF_PROCESS_FORK:
		on_process_fork(s, ev);
		break;
	case PYEBPF_PROCESS_EXEC:
		on_process_exec(s, ev);
		break;
	case PYEBPF_PROCESS_EXIT:
		on_process_exit(s, ev);
		break;
	}
	return 0;
}

/* ---- public ------------------------------------------------------------- */

void session_opts_from_cli(struct session_opts *o, const struct cli_options *cli)
{
	*o = (struct session_opts){
		.rate_hz = cli->rate_hz,
		.max_frames = cli->max_frames,
		.time_mode = cli->time_mode,
		.gil_only = cli->gil_only,
		.gil_state = cli->command == CLI_TOP,
		.kernel = cli->kernel,
		.lines = sample_lines_from_cli(cli),
		.full_filenames = cli->full_filenames,
		.timeline = cli->format == FORMAT_CHROMETRACE,
		.subprocesses = cli->subprocesses,
		.all = cli->all,
		.comm = cli->comm,
		.n_comm = cli->n_comm,
		.exclude_pids = cli->exclude_pids,
		.n_exclude_pids = cli->n_exclude_pids,
		.process_roots = cli->subprocesses || cli->all,
		.messages = stderr,
	};
}

/* --all: every Python process running now that passes the filters. */
static int scan_all(struct session *s)
{
	pid_t *pids;
	size_t n;
	int err = proc_info_list(&pids, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct python_process *pp;
		char why[512];

		if (find_target(s, pids[i]) || !wanted(s, pids[i], NULL))
			continue;
		pp = malloc(sizeof(*pp));
		if (!pp) {
			err = -ENOMEM;
			break;
		}
		/* running already: Python now or not at all (an exec() after
		 * this scan comes as an event) */
		if (!python_process__inspect(pids[i], pp, why, sizeof(why)))
			add_target(s, pp, false, false, 0, why, sizeof(why));
		free(pp);
	}
	free(pids);
	return err;
}

/* Many processes hold many pidfds: allow as many as the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct session *session__new(const struct session_opts *opts, char *why, size_t why_size)
{
	struct session *s = calloc(1, sizeof(*s));
	struct sampler_opts so;
	int err = ENOMEM;

	if (!s) {
		snprintf(why, why_size, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	s->ep = -1;
	s->following = opts->subprocesses || opts->all;
	s->filter = (struct proc_filter){.comm = opts->comm,
					 .n_comm = opts->n_comm,
					 .exclude = opts->exclude_pids,
					 .n_exclude = opts->n_exclude_pids,
					 .self = getpid()};
	if (opts->kernel) {
		char kwhy[400];

		s->ksyms = kernel_symbols__load(NULL, kwhy, sizeof(kwhy));
		if (!s->ksyms) {
			err = errno;
			snprintf(why, why_size, "--kernel: %s", kwhy);
			goto fail;
		}
	}
	s->profile = profile__new();
	if (s->profile)
		profile__set_limits(s->profile, opts->max_stacks, opts->max_stacks);
	s->times = time_accounts__new();
	s->stack = calloc(SAMPLE_STACKS_MAX_DEPTH, sizeof(*s->stack));
	if (opts->timeline)
		s->timeline = timeline__new();
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!s->profile || !s->times || !s->stack || (opts->timeline && !s->timeline) ||
	    s->ep < 0) {
		snprintf(why, why_size, "out of memory");
		goto fail;
	}
	if (s->following)
		raise_fd_limit();

	so = (struct sampler_opts){
		.rate_hz = opts->rate_hz,
		.max_frames = opts->max_frames,
		.max_processes = s->following ? MAX_PROCESSES : 0,
		.off_cpu = opts->time_mode != TIME_CPU,
		.gil_state = opts->gil_state || opts->gil_only || opts->time_mode != TIME_CPU,
		.kernel_stacks = opts->kernel,
		.follow_processes = s->following,
		.follow_all = opts->all,
		.max_followed = opts->subprocesses && !opts->all ? MAX_FOLLOWED : 0,
		.on_event = on_event,
		.on_sample = on_sample,
		.ctx = s,
	};
	s->sampler = sampler__new(&so, why, why_size);
	if (!s->sampler) {
		err = errno;
		goto fail;
	}
	s->stack_opts = (struct sample_stacks_opts){
		.mode = opts->time_mode,
		.gil_only = opts->gil_only,
		.lines = opts->lines,
		.timeline = s->timeline,
		.kernel = s->ksyms,
		.period_ns = sampler__period_ns(s->sampler),
	};
	watch(s, sampler__fd(s->sampler), TAG_RING, 0);
	if (opts->all) {
		/* the event programs run already: nothing starting from now
		 * on is missed, and what the scan finds twice is added once */
		err = scan_all(s);
		if (err) {
			snprintf(why, why_size, "cannot list processes: %s", strerror(-err));
			err = -err;
			goto fail;
		}
	}
	return s;
fail:
	session__free(s);
	errno = err;
	return NULL;
}

void session__free(struct session *s)
{
	if (!s)
		return;
	for (size_t b = 0; b < TARGET_BUCKETS; b++) {
		while (s->buckets[b]) {
			struct target *t = s->buckets[b];

			s->buckets[b] = t->next;
			target_free(t);
		}
	}
	for (size_t i = 0; i < s->n_pending; i++)
		close_fd(&s->pending[i].pidfd);
	for (size_t i = 0; i < s->n_roots; i++)
		close_fd(&s->roots[i].pidfd);
	for (size_t i = 0; i < s->n_infos; i++) {
		free(s->infos[i].command);
		free(s->infos[i].executable);
	}
	free(s->pending);
	free(s->roots);
	free(s->infos);
	free(s->thread_tstates);
	sampler__free(s->sampler);
	if (s->ep >= 0)
		close(s->ep);
	free(s->stack);
	time_accounts__free(s->times);
	timeline__free(s->timeline);
	kernel_symbols__free(s->ksyms);
	profile__free(s->profile);
	free(s);
}

/* Follow pid in the kernel (with its future children), unless it is gone:
 * an entry for a dead process would never be deleted. */
static void follow(struct session *s, pid_t pid, int pidfd)
{
	if (sampler__follow(s->sampler, (uint32_t)pid))
		return;
	if (pidfd_exited(pidfd) || (pidfd < 0 && kill(pid, 0) && errno == ESRCH))
		sampler__unfollow(s->sampler, (uint32_t)pid);
}

/* --subprocesses: the descendants pid has now. */
static void add_descendants(struct session *s, pid_t root)
{
	pid_t *pids;
	size_t n;

	if (proc_info_descendants(root, &pids, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		int fd = pidfd_open(pids[i]);

		if (fd < 0)
			continue;
		follow(s, pids[i], fd);
		if (!find_target(s, pids[i]) && wanted(s, pids[i], NULL))
			start_pending(s, pids[i], false, true, 0);
		close(fd);
	}
	free(pids);
}

int session__add_pid(struct session *s, pid_t pid, unsigned int flags, char *why, size_t why_size)
{
	struct python_process *pp;
	struct root *r;
	char reason[512];
	int err;

	if (find_target(s, pid))
		return 0;
	err = grow((void **)&s->roots, &s->roots_cap, s->n_roots + 1, sizeof(*s->roots));
	pp = malloc(sizeof(*pp));
	if (err || !pp) {
		free(pp);
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	err = python_process__inspect(pid, pp, reason, sizeof(reason));
	if (err && !(err == -ENOEXEC && (flags & SESSION_PID_MAY_WAIT))) {
		snprintf(why, why_size, "cannot profile pid %d: %s", (int)pid, reason);
		free(pp);
		return err;
	}
	r = &s->roots[s->n_roots];
	*r = (struct root){.pid = pid, .pidfd = pidfd_open(pid)};
	if (r->pidfd < 0) {
		snprintf(why, why_size, "cannot profile pid %d: no such process", (int)pid);
		free(pp);
		return -ESRCH;
	}
	if (s->following && s->opts.subprocesses)
		follow(s, pid, r->pidfd);
	if (err)
		err = start_pending(s, pid, true, true, 0);
	else
		err = add_target(s, pp, true, false, 0, why, why_size);
	free(pp);
	if (err) {
		if (s->following)
			sampler__unfollow(s->sampler, (uint32_t)pid);
		close_fd(&r->pidfd);
		if (err == -ENOMEM)
			snprintf(why, why_size, "out of memory");
		return err;
	}
	watch(s, r->pidfd, TAG_ROOT, pid);
	s->n_roots++;
	if (s->following && s->opts.subprocesses)
		add_descendants(s, pid);
	return 0;
}

int session__exec(struct session *s, pid_t pid)
{
	struct target *t = find_target(s, pid);
	bool added = t ? t->added : true;
	int err;

	if (s->following)
		return 0;		    /* the kernel's exec event does it, in order */
	err = sampler__consume(s->sampler); /* the old image's samples first */
	if (err < 0)
		return err;
	drop_target(s, pid, false);
	err = start_pending(s, pid, added, false, 0);
	if (!err)
		run_pending(s); /* it may be stopped at its exec: try while it is */
	return err;
}

int session__start(struct session *s)
{
	if (s->opts.time_mode == TIME_CPU)
		return 0;
	/* threads blocked since before we came: time them from now */
	return sampler__snapshot_off_cpu(s->sampler);
}

int session__fd(const struct session *s)
{
	return s->ep;
}

int session__timeout_ms(const struct session *s)
{
	double now = monotonic_s(), next = now + POLL_INTERVAL_MS / 1000.0;
	int ms;

	for (size_t i = 0; i < s->n_pending; i++)
		if (s->pending[i].next_at < next)
			next = s->pending[i].next_at;
	ms = (int)((next - now) * 1000 + 0.999);
	return ms < 0 ? 0 : ms > POLL_INTERVAL_MS ? POLL_INTERVAL_MS : ms;
}

static int consume(struct session *s)
{
	int n = sampler__consume(s->sampler);

	return n < 0 ? n : 0;
}

/* Descriptors that became ready: exited targets, pending processes and
 * roots. */
static int handle_ready(struct session *s)
{
	struct epoll_event evs[64];
	int n, err = 0;

	n = epoll_wait(s->ep, evs, 64, 0);
	for (int i = 0; i < n && !err; i++) {
		enum tag_kind kind = (enum tag_kind)(evs[i].data.u64 >> 32);
		pid_t pid = (pid_t)(uint32_t)evs[i].data.u64;

		struct target *t;
		struct pending *p;

		/* handling one may have replaced another with a new process
		 * of the same pid: ask each descriptor again */
		switch (kind) {
		case TAG_RING:
			break;
		case TAG_TARGET:
			t = find_target(s, pid);
			if (!t || !pidfd_exited(t->pidfd))
				break;
			/* exited: what it sent before is in the ring; without
			 * process events nobody else deletes its registration
			 * (with them the kernel did, and may have registered a
			 * new process with this pid since) */
			err = consume(s);
			if (find_target(s, pid) == t)
				drop_target(s, pid, s->following);
			break;
		case TAG_PENDING:
			p = find_pending(s, pid);
			if (p && pidfd_exited(p->pidfd))
				drop_pending(s, pid);
			break;
		case TAG_ROOT:
			for (size_t r = 0; r < s->n_roots; r++) {
				if (s->roots[r].pid == pid && !s->roots[r].gone &&
				    pidfd_exited(s->roots[r].pidfd)) {
					s->roots[r].gone = true;
					close_fd(&s->roots[r].pidfd);
				}
			}
			break;
		}
	}
	return err;
}

int session__poll(struct session *s)
{
	int err = consume(s);

	if (!err)
		err = handle_ready(s);
	if (err)
		return err;
	run_pending(s);
	name_threads(s, false);
	return 0;
}

void session__handle_child(struct session *s, pid_t child, bool *exited, int *status)
{
	enum launcher_event ev;

	for (int i = 0; i < 64 && !*exited; i++) {
		if (launcher__poll(child, &ev, status))
			return;
		switch (ev) {
		case LAUNCHER_NONE:
			return;
		case LAUNCHER_EXEC:
			/* it may be another interpreter now */
			session__exec(s, child);
			launcher__resume(child);
			break;
		case LAUNCHER_EXITING:
			/* still has its memory: symbolize what is waiting,
			 * read the threads' last names */
			session__sync(s);
			launcher__resume(child);
			break;
		case LAUNCHER_EXITED:
			*exited = true;
			break;
		}
	}
}

int session__sync(struct session *s)
{
	int err = consume(s);

	name_threads(s, true);
	return err;
}

int session__stop(struct session *s)
{
	int err = 0;

	if (s->stopped)
		return 0;
	s->stopped = true;
	sampler__set_enabled(s->sampler, false);
	if (s->opts.time_mode != TIME_CPU)
		sampler__flush_off_cpu(s->sampler); /* threads still off CPU, up to now */
	err = consume(s);
	name_threads(s, true);
	return err;
}

int session__split_off_cpu(struct session *s)
{
	int err;

	if (s->opts.time_mode == TIME_CPU || s->stopped)
		return 0;
	err = sampler__split_off_cpu(s->sampler);
	if (!err)
		err = consume(s);
	return err;
}

bool session__done(const struct session *s)
{
	if (s->opts.all || !s->n_roots)
		return false;
	for (size_t i = 0; i < s->n_roots; i++)
		if (!s->roots[i].gone)
			return false;
	return !s->live && !s->n_pending;
}

struct profile *session__profile(const struct session *s)
{
	return s->profile;
}

struct profile *session__take_profile(struct session *s)
{
	struct profile *old = s->profile, *p;

	if (s->timeline) {
		errno = EINVAL; /* its stack ids would point into the old one */
		return NULL;
	}
	p = profile__new();
	if (!p)
		return NULL;
	profile__set_limits(p, s->opts.max_stacks, s->opts.max_stacks);
	/* the new entries first: on failure nothing has changed */
	for (size_t b = 0; b < TARGET_BUCKETS; b++) {
		for (struct target *t = s->buckets[b]; t; t = t->next) {
			const struct profile_process *pr = profile__process(old, t->process);
			uint32_t id;

			if (profile__add_process(p, t->pid, pr->ns_pid, pr->command, &id)) {
				profile__free(p);
				errno = ENOMEM;
				return NULL;
			}
		}
	}
	for (size_t i = 0; i < s->n_infos; i++)
		s->infos[i].process = PROFILE_NO_PROCESS;
	{
		uint32_t next = 0;

		for (size_t b = 0; b < TARGET_BUCKETS; b++) {
			for (struct target *t = s->buckets[b]; t; t = t->next) {
				t->process = next++;
				s->infos[t->info].process = t->process;
				t->n_threads = 0;
			}
		}
	}
	memset(s->thread_tstates, 0, s->n_thread_tstates * sizeof(*s->thread_tstates));
	s->profile = p;
	return old;
}

const struct time_accounts *session__times(const struct session *s)
{
	return s ? s->times : NULL;
}

const struct timeline *session__timeline(const struct session *s)
{
	return s ? s->timeline : NULL;
}

uint64_t session__period_ns(const struct session *s)
{
	return s ? s->stack_opts.period_ns : 0;
}

int session__stats(const struct session *s, struct session_stats *out)
{
	uint64_t k[PYEBPF_STAT__COUNT] = {0};
	int err = sampler__stats(s->sampler, k);

	*out = (struct session_stats){
		.samples = s->samples,
		.error_samples = s->error_samples,
		.dropped = s->dropped,
		.lost = k[PYEBPF_STAT_LOST],
		.lost_events = k[PYEBPF_STAT_LOST_EVENTS],
		.truncated = k[PYEBPF_STAT_TRUNCATED],
		.processes = s->forgotten + s->n_infos,
		.live = s->live,
		.pending = s->n_pending,
		.pickups = s->forgotten_pickups,
		.pickup_ns_total = s->forgotten_pickup_ns_total,
		.pickup_ns_max = s->forgotten_pickup_ns_max,
	};
	for (size_t i = 0; i < s->n_infos; i++) {
		uint64_t ns = s->infos[i].pickup_ns;

		if (!ns)
			continue;
		out->pickups++;
		out->pickup_ns_total += ns;
		if (ns > out->pickup_ns_max)
			out->pickup_ns_max = ns;
	}
	if (sampler__map_entries(s->sampler, &out->kernel_procs, &out->kernel_followed))
		out->kernel_procs = out->kernel_followed = -1;
	return err;
}

void session__forget_gone(struct session *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->n_infos; i++) {
		struct info *in = &s->infos[i];

		if (in->alive || in->process != PROFILE_NO_PROCESS) {
			s->infos[kept++] = *in;
			continue;
		}
		s->forgotten++;
		if (in->pickup_ns) {
			s->forgotten_pickups++;
			s->forgotten_pickup_ns_total += in->pickup_ns;
			if (in->pickup_ns > s->forgotten_pickup_ns_max)
				s->forgotten_pickup_ns_max = in->pickup_ns;
		}
		free(in->command);
		free(in->executable);
	}
	s->n_infos = kept;
	/* live targets point at their entries by index */
	for (size_t b = 0; b < TARGET_BUCKETS; b++)
		for (struct target *t = s->buckets[b]; t; t = t->next)
			for (size_t i = 0; i < s->n_infos; i++)
				if (s->infos[i].alive && s->infos[i].pid == t->pid) {
					t->info = i;
					break;
				}
}

size_t session__process_count(const struct session *s)
{
	return s ? s->n_infos : 0;
}

int session__process(const struct session *s, size_t i, struct session_process *out)
{
	const struct info *in;

	if (!s || i >= s->n_infos)
		return -ENOENT;
	in = &s->infos[i];
	*out = (struct session_process){
		.pid = in->pid,
		.ns_pid = in->ns_pid,
		.command = in->command,
		.version = in->version,
		.executable = in->executable,
		.alive = in->alive,
		.added = in->added,
		.samples = in->samples,
		.profile_process = in->process,
		.pickup_ns = in->pickup_ns,
	};
	return 0;
}
