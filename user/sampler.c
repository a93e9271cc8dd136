// SPDX-License-Identifier: MIT
#include "sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pyebpf.skel.h"
#include "thread_snapshot.skel.h"

struct sampler {
	struct pyebpf_bpf *skel;
	struct bpf_program *prog; /* the sampling program attached */
	uint64_t period_ns;
	/* off-CPU profiling */
	struct bpf_link *switch_link, *wakeup_link;
	struct thread_snapshot_bpf *snap;
	struct bpf_link *snap_link;
	struct ring_buffer *ring;
	struct bpf_link *fork_link, *exec_link, *exit_link; /* follow_processes */
	sampler_event_cb on_event;
	int *perf_fds;
	struct bpf_link **links;
	int ncpus;
	int stats_fd; /* from bpf_enable_stats, -1 when off */
	sampler_cb on_sample;
	void *ctx;
	int cb_result;
};

static int open_cpu_clock(int cpu, unsigned int rate_hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		/* period mode: cpu-clock counts nanoseconds, so this is exact
		 * and needs no frequency adjustment by the kernel */
		.sample_period = 1000000000ull / rate_hz,
		.disabled = 1,
	};

	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;
	const struct pyebpf_sample *sample = data;

	if (size >= sizeof(struct pyebpf_process_event) && sample->kind == PYEBPF_KIND_PROCESS) {
		if (!s->on_event)
			return 0;
		s->cb_result = s->on_event(data, s->ctx);
		return s->cb_result;
	}

	if (size < PYEBPF_SAMPLE_HEADER_SIZE || sample->n_frames > PYEBPF_MAX_FRAMES ||
	    sample->n_kframes > PYEBPF_MAX_KFRAMES ||
	    size < pyebpf_sample_size(sample->n_frames, sample->n_kframes))
		return 0; /* malformed: cannot come from our program; ignore */
	s->cb_result = s->on_sample(sample, s->ctx);
	return s->cb_result;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN && getenv("PYEBPF_DEBUG"))
		return vfprintf(stderr, fmt, args);
	if (level == LIBBPF_DEBUG && getenv("PYEBPF_DEBUG"))
		return vfprintf(stderr, fmt, args);
	return 0;
}

static void explain_errno(int err, const char *what, char *why, size_t why_size)
{
	const char *hint = "";

	if (err == EPERM || err == EACCES)
		hint = " (run as root, or grant CAP_BPF and CAP_PERFMON)";
	else if (err == ENOENT && strstr(what, "perf"))
		hint = " (the kernel has no cpu-clock perf event)";
	else if (err == ENOSYS)
		hint = " (the kernel was built without BPF or perf events)";
	snprintf(why, why_size, "%s: %s%s", what, strerror(err), hint);
}

static void explain_load_error(int err, char *why, size_t why_size)
{
	if ((err == EACCES || err == EINVAL) && geteuid() == 0)
		/* root and still refused: the verifier said no */
		snprintf(why, why_size,
			 "the kernel rejected pyebpf's BPF program (%s); please report it "
			 "with the verifier log from PYEBPF_DEBUG=1",
			 strerror(err));
	else
		explain_errno(err, "cannot load the BPF programs", why, why_size);
}

/* The scheduler programs. Returns 0 or a positive errno with `why`
 * filled. */
static int attach_off_cpu(struct sampler *s, char *why, size_t why_size)
{
	int err;

	s->switch_link = bpf_program__attach(s->skel->progs.on_switch);
	if (!s->switch_link) {
		err = errno;
		explain_errno(err, "cannot attach to the sched_switch tracepoint", why, why_size);
		return err;
	}
	s->wakeup_link = bpf_program__attach(s->skel->progs.on_wakeup);
	if (!s->wakeup_link) {
		err = errno;
		explain_errno(err, "cannot attach to the sched_wakeup tracepoint", why, why_size);
		return err;
	}
	return 0;
}

/* The fork, exec and exit programs. Returns 0 or a positive errno with
 * `why` filled. */
static int attach_process_events(struct sampler *s, char *why, size_t why_size)
{
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
		const char *what;
	} progs[] = {
		{s->skel->progs.on_fork, &s->fork_link,
		 "cannot attach to the sched_process_fork tracepoint"},
		{s->skel->progs.on_exec, &s->exec_link,
		 "cannot attach to the sched_process_exec tracepoint"},
		{s->skel->progs.on_exit, &s->exit_link,
		 "cannot attach to the sched_process_exit tracepoint"},
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		*progs[i].link = bpf_program__attach(progs[i].prog);
		if (!*progs[i].link) {
			int err = errno;

			explain_errno(err, progs[i].what, why, why_size);
			return err;
		}
	}
	return 0;
}

/* The thread iterator, sharing the main object's maps (off-CPU snapshot
 * and flush, dump). Returns 0 or a positive errno with `why` filled. */
static int load_snapshot(struct sampler *s, const struct sampler_opts *opts, char *why,
			 size_t why_size)
{
	struct thread_snapshot_bpf *snap;
	int err;

	snap = s->snap = thread_snapshot_bpf__open();
	if (!snap) {
		err = errno;
		explain_errno(err, "cannot open the BPF object", why, why_size);
		return err;
	}
	snap->rodata->max_frames = opts->max_frames;
	snap->rodata->gil_state = opts->gil_state;
	snap->rodata->kernel_stacks = opts->kernel_stacks;
	if (bpf_map__reuse_fd(snap->maps.procs, bpf_map__fd(s->skel->maps.procs)) ||
	    bpf_map__reuse_fd(snap->maps.off_cpu, bpf_map__fd(s->skel->maps.off_cpu)) ||
	    bpf_map__reuse_fd(snap->maps.samples, bpf_map__fd(s->skel->maps.samples)) ||
	    bpf_map__reuse_fd(snap->maps.stats, bpf_map__fd(s->skel->maps.stats))) {
		err = errno;
		explain_errno(err, "cannot share the BPF maps", why, why_size);
		return err;
	}
	err = thread_snapshot_bpf__load(snap);
	if (err) {
		explain_load_error(-err, why, why_size);
		return -err;
	}
	s->snap_link = bpf_program__attach_iter(snap->progs.snapshot_threads, NULL);
	if (!s->snap_link) {
		err = errno;
		explain_errno(err, "cannot create the thread iterator", why, why_size);
		return err;
	}
	return 0;
}

/* One pass of the thread iterator in `mode` (thread_snapshot.bpf.c). */
static int run_snapshot(struct sampler *s, __u32 mode)
{
	char buf[64];
	ssize_t n;
	int fd;

	if (!s->snap_link)
		return -EINVAL;
	s->snap->bss->mode = mode;
	fd = bpf_iter_create(bpf_link__fd(s->snap_link));
	if (fd < 0)
		return -errno;
	/* the program prints nothing: reading to the end runs it */
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

int sampler__snapshot_off_cpu(struct sampler *s)
{
	return run_snapshot(s, PYEBPF_SNAPSHOT_OFF_CPU);
}

int sampler__dump(struct sampler *s)
{
	return run_snapshot(s, PYEBPF_SNAPSHOT_DUMP);
}

int sampler__flush_off_cpu(struct sampler *s)
{
	if (!s->snap_link)
		return -EINVAL;
	/* no new intervals start after this */
	bpf_link__destroy(s->switch_link);
	bpf_link__destroy(s->wakeup_link);
	s->switch_link = s->wakeup_link = NULL;
	return run_snapshot(s, PYEBPF_FLUSH_OFF_CPU);
}

int sampler__split_off_cpu(struct sampler *s)
{
	if (!s->snap_link || !s->switch_link)
		return -EINVAL;
	return run_snapshot(s, PYEBPF_SPLIT_OFF_CPU);
}

uint64_t sampler__period_ns(const struct sampler *s)
{
	return s->period_ns;
}

struct sampler *sampler__new(const struct sampler_opts *opts, char *why, size_t why_size)
{
	struct bpf_program *prog;
	struct sampler *s;
	int err, cpu;

	if (!opts->on_sample || (!opts->no_sampling && !opts->rate_hz) || opts->rate_hz > 1000000 ||
	    !opts->max_frames || opts->max_frames > PYEBPF_MAX_FRAMES ||
	    (opts->no_sampling && (opts->off_cpu || opts->follow_processes))) {
		snprintf(why, why_size, "invalid sampler options");
		errno = EINVAL;
		return NULL;
	}
	libbpf_set_print(silent_print);

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->stats_fd = -1;
	s->on_sample = opts->on_sample;
	s->ctx = opts->ctx;

	s->skel = pyebpf_bpf__open();
	if (!s->skel) {
		err = errno;
		explain_errno(err, "cannot open the BPF object", why, why_size);
		goto fail;
	}
	s->skel->rodata->max_frames = opts->max_frames;
	s->skel->rodata->gil_state = opts->gil_state;
	s->skel->rodata->kernel_stacks = opts->kernel_stacks;
	s->prog = s->skel->progs.sample_python;
	s->period_ns = opts->rate_hz ? 1000000000ull / opts->rate_hz : 0;
	if (opts->max_processes)
		bpf_map__set_max_entries(s->skel->maps.procs, opts->max_processes);
	/* the scheduler programs cost every context switch: only when asked */
	bpf_program__set_autoload(s->skel->progs.on_switch, opts->off_cpu);
	bpf_program__set_autoload(s->skel->progs.on_wakeup, opts->off_cpu);
	/* so do the process-event programs: every fork, exec and exit */
	bpf_program__set_autoload(s->skel->progs.on_fork, opts->follow_processes);
	bpf_program__set_autoload(s->skel->progs.on_exec, opts->follow_processes);
	bpf_program__set_autoload(s->skel->progs.on_exit, opts->follow_processes);
	s->skel->rodata->follow_all = opts->follow_all;
	if (opts->max_followed)
		bpf_map__set_max_entries(s->skel->maps.followed, opts->max_followed);
	s->on_event = opts->on_event;
	/* only the maps, for the thread iterator */
	if (opts->no_sampling)
		bpf_object__for_each_program(prog, s->skel->obj)
			bpf_program__set_autoload(prog, false);

	err = pyebpf_bpf__load(s->skel);
	if (err) {
		explain_load_error(-err, why, why_size);
		goto fail;
	}
	if (opts->off_cpu) {
		err = attach_off_cpu(s, why, why_size);
		if (err)
			goto fail;
	}
	if (opts->follow_processes) {
		err = attach_process_events(s, why, why_size);
		if (err)
			goto fail;
	}
	if (opts->off_cpu || opts->no_sampling) {
		err = load_snapshot(s, opts, why, why_size);
		if (err)
			goto fail;
	}

	s->ring = ring_buffer__new(bpf_map__fd(s->skel->maps.samples), handle_record, s, NULL);
	if (!s->ring) {
		err = errno;
		explain_errno(err, "cannot open the sample ring buffer", why, why_size);
		goto fail;
	}

	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = s->ncpus ? -s->ncpus : EINVAL;
		explain_errno(err, "cannot count CPUs", why, why_size);
		goto fail;
	}
	if (opts->no_sampling)
		return s;
	s->perf_fds = malloc(s->ncpus * sizeof(*s->perf_fds));
	s->links = calloc(s->ncpus, sizeof(*s->links));
	if (!s->perf_fds || !s->links) {
		err = ENOMEM;
		goto fail;
	}
	for (cpu = 0; cpu < s->ncpus; cpu++)
		s->perf_fds[cpu] = -1;

	for (cpu = 0; cpu < s->ncpus; cpu++) {
		int fd = open_cpu_clock(cpu, opts->rate_hz);

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* possible but offline CPU */
			err = errno;
			explain_errno(err, "cannot open the cpu-clock perf event", why, why_size);
			goto fail;
		}
		s->perf_fds[cpu] = fd;
		s->links[cpu] = bpf_program__attach_perf_event(s->prog, fd);
		if (!s->links[cpu]) {
			err = errno;
			explain_errno(err, "cannot attach to the cpu-clock perf event", why,
				      why_size);
			goto fail;
		}
	}
	err = sampler__set_enabled(s, true);
	if (err) {
		err = -err;
		explain_errno(err, "cannot enable sampling", why, why_size);
		goto fail;
	}
	return s;

fail:
	sampler__free(s);
	errno = err;
	return NULL;
}

void sampler__free(struct sampler *s)
{
	int cpu;

	if (!s)
		return;
	for (cpu = 0; s->links && cpu < s->ncpus; cpu++)
		bpf_link__destroy(s->links[cpu]);
	for (cpu = 0; s->perf_fds && cpu < s->ncpus; cpu++)
		if (s->perf_fds[cpu] >= 0)
			close(s->perf_fds[cpu]);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	bpf_link__destroy(s->fork_link);
	bpf_link__destroy(s->exec_link);
	bpf_link__destroy(s->exit_link);
	bpf_link__destroy(s->snap_link);
	bpf_link__destroy(s->switch_link);
	bpf_link__destroy(s->wakeup_link);
	thread_snapshot_bpf__destroy(s->snap);
	ring_buffer__free(s->ring);
	pyebpf_bpf__destroy(s->skel);
	free(s->links);
	free(s->perf_fds);
	free(s);
}

int sampler__add_process(struct sampler *s, uint32_t pid, const struct pyebpf_proc *proc)
{
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.procs), &pid, proc, BPF_ANY))
		return -errno;
	return 0;
}

int sampler__remove_process(struct sampler *s, uint32_t pid)
{
	if (bpf_map_delete_elem(bpf_map__fd(s->skel->maps.procs), &pid) && errno != ENOENT)
		return -errno;
	return 0;
}

int sampler__follow(struct sampler *s, uint32_t pid)
{
	__u8 one = 1;

	if (!s->fork_link)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.followed), &pid, &one, BPF_ANY))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

int sampler__unfollow(struct sampler *s, uint32_t pid)
{
	if (!s->fork_link)
		return 0;
	if (bpf_map_delete_elem(bpf_map__fd(s->skel->maps.followed), &pid) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Entries of a hash map keyed by __u32, by walking its keys (bounded by
 * its size, since entries may come and go during the walk). */
static long count_keys(const struct bpf_map *map)
{
	__u32 key, next, max = bpf_map__max_entries(map);
	long n = 0;
	int fd = bpf_map__fd(map);
	void *prev = NULL;

	while (n <= (long)max && !bpf_map_get_next_key(fd, prev, &next)) {
		n++;
		key = next;
		prev = &key;
	}
	if (errno != ENOENT && n <= (long)max)
		return -errno;
	return n;
}

int sampler__map_entries(const struct sampler *s, long *procs, long *followed)
{
	*procs = count_keys(s->skel->maps.procs);
	*followed = s->fork_link ? count_keys(s->skel->maps.followed) : 0;
	if (*procs < 0)
		return (int)*procs;
	return *followed < 0 ? (int)*followed : 0;
}

int sampler__set_enabled(struct sampler *s, bool enabled)
{
	int cpu;

	for (cpu = 0; s->perf_fds && cpu < s->ncpus; cpu++) {
		if (s->perf_fds[cpu] < 0)
			continue;
		if (ioctl(s->perf_fds[cpu],
			  enabled ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0))
			return -errno;
	}
	return 0;
}

int sampler__fd(const struct sampler *s)
{
	return ring_buffer__epoll_fd(s->ring);
}

int sampler__consume(struct sampler *s)
{
	int n;

	s->cb_result = 0;
	n = ring_buffer__consume(s->ring);
	if (s->cb_result)
		return s->cb_result;
	return n;
}

int sampler__stats(const struct sampler *s, uint64_t out[PYEBPF_STAT__COUNT])
{
	int fd = bpf_map__fd(s->skel->maps.stats);
	uint64_t *percpu = calloc(s->ncpus, sizeof(*percpu));
	__u32 key;
	int cpu;

	if (!percpu)
		return -ENOMEM;
	for (key = 0; key < PYEBPF_STAT__COUNT; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			int err = -errno;

			free(percpu);
			return err;
		}
		for (cpu = 0; cpu < s->ncpus; cpu++)
			out[key] += percpu[cpu];
	}
	free(percpu);
	return 0;
}

int sampler__enable_run_stats(struct sampler *s)
{
	if (s->stats_fd >= 0)
		return 0;
	s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return s->stats_fd < 0 ? -errno : 0;
}

static int prog_run_stats(const struct bpf_program *prog, uint64_t *run_ns, uint64_t *run_cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return -errno;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}

int sampler__run_stats(const struct sampler *s, uint64_t *run_ns, uint64_t *run_cnt)
{
	return prog_run_stats(s->prog, run_ns, run_cnt);
}

int sampler__switch_run_stats(const struct sampler *s, uint64_t *run_ns, uint64_t *run_cnt)
{
	if (!s->switch_link)
		return -EINVAL;
	return prog_run_stats(s->skel->progs.on_switch, run_ns, run_cnt);
}
