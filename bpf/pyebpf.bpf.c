// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pyebpf's kernel side: a perf_event program on the cpu-clock event of every
 * CPU. For a thread of a registered process it reads the Python stack and
 * sends it to userspace through the `samples` ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "python_stack.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Wake the reader only when this much is buffered; otherwise it polls on a
 * timer. Per-sample wakeups would cost an IPI each. */
const volatile __u64 wakeup_bytes = 256 * 1024;

static __always_inline void send_sample(struct pyebpf_sample *s)
{
	__u32 n = s->n_frames;
	__u64 flags;

	if (n > PYEBPF_MAX_FRAMES)
		n = PYEBPF_MAX_FRAMES;
	/* a code object seen for the first time may be short-lived (a module
	 * body, exec()ed code): wake the reader so it reads it while it lives */
	flags = (s->flags & PYEBPF_SAMPLE_NEW_CODE) ||
				bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes
			? BPF_RB_FORCE_WAKEUP
			: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&samples, s,
			       PYEBPF_SAMPLE_HEADER_SIZE + n * sizeof(struct pyebpf_frame), flags))
		stat_inc(PYEBPF_STAT_LOST);
}

SEC("perf_event")
int sample_python(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, zero = 0;
	const struct pyebpf_proc *proc;
	struct pyebpf_sample *s;
	__u64 now;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc)
		return 0;
	s = bpf_map_lookup_elem(&sample_scratch, &zero);
	if (!s)
		return 0;

	now = bpf_ktime_get_ns();
	s->time_ns = now;
	s->pid = pid;
	s->tid = tid;
	s->cpu = bpf_get_smp_processor_id();
	s->n_frames = 0;
	s->flags = 0;
	stat_inc(PYEBPF_STAT_SAMPLES);

	if (read_python_stack(proc, s, now))
		return 0;
	if (s->flags & PYEBPF_SAMPLE_NO_TSTATE)
		stat_inc(PYEBPF_STAT_NO_TSTATE);
	if (s->flags & PYEBPF_SAMPLE_READ_ERROR)
		stat_inc(PYEBPF_STAT_READ_ERRORS);
	if (s->flags & PYEBPF_SAMPLE_TRUNCATED)
		stat_inc(PYEBPF_STAT_TRUNCATED);
	send_sample(s);
	return 0;
}
