/* SPDX-License-Identifier: MIT */
/* Sending records (struct pyebpf_sample) to userspace. */
#ifndef PYEBPF_RECORDS_BPF_H
#define PYEBPF_RECORDS_BPF_H

#include "maps.bpf.h"

/* Append the kernel stack to records (--kernel). */
const volatile bool kernel_stacks = false;

/* Wake the reader only when this much is buffered; otherwise it polls on a
 * timer. Per-record wakeups would cost an IPI each. */
const volatile __u64 wakeup_bytes = 256 * 1024;

static __always_inline __u32 sample_bytes(const struct pyebpf_sample *s)
{
	__u32 n = s->n_frames, nk = s->n_kframes;

	if (n > PYEBPF_MAX_FRAMES)
		n = PYEBPF_MAX_FRAMES;
	if (nk > PYEBPF_MAX_KFRAMES)
		nk = PYEBPF_MAX_KFRAMES;
	return pyebpf_sample_size(n, nk);
}

static __always_inline void send_sample(struct pyebpf_sample *s)
{
	__u64 flags;

	/* a code object seen for the first time may be short-lived (a module
	 * body, exec()ed code): wake the reader so it reads it while it lives */
	flags = (s->flags & PYEBPF_SAMPLE_NEW_CODE) ||
				bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes
			? BPF_RB_FORCE_WAKEUP
			: BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&samples, s, sample_bytes(s), flags))
		stat_inc(PYEBPF_STAT_LOST);
}

/* Where the kernel stack goes in a record: right after its frames. */
static __always_inline void *kframes_slot(struct pyebpf_sample *s)
{
	__u32 n = s->n_frames;

	if (n > PYEBPF_MAX_FRAMES)
		n = PYEBPF_MAX_FRAMES;
	return (__u8 *)s->frames + n * sizeof(struct pyebpf_frame);
}

static __always_inline void set_kframes(struct pyebpf_sample *s, long bytes)
{
	s->n_kframes = bytes > 0 ? (__u16)(bytes / sizeof(__u64)) : 0;
}

/* A record with no frames yet. */
static __always_inline void record_init(struct pyebpf_sample *s, __u8 kind, __u64 now, __u32 pid,
					__u32 tid, __s32 syscall, __u8 off_class)
{
	s->time_ns = now;
	s->tstate = 0;
	s->pid = pid;
	s->tid = tid;
	s->cpu = bpf_get_smp_processor_id();
	s->syscall = syscall;
	s->n_frames = 0;
	s->n_kframes = 0;
	s->flags = 0;
	s->kind = kind;
	s->off_class = off_class;
	s->off_ns = 0;
	s->runq_ns = 0;
}

#endif /* PYEBPF_RECORDS_BPF_H */
