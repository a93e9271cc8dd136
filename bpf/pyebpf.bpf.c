// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pyebpf's kernel side.
 *   - sample_python: a perf_event program on the cpu-clock event of every
 *     CPU. For a thread of a registered process it reads the Python stack
 *     and sends it to userspace through the `samples` ring buffer.
 *   - on_switch, on_wakeup (attached only for off-CPU profiling): time
 *     every interval a traced thread spends off CPU, and why (off_cpu.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "off_cpu.bpf.h"
#include "python_stack.bpf.h"
#include "records.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

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
	record_init(s, PYEBPF_KIND_CPU, now, pid, tid, -1, PYEBPF_OFF_NONE);
	stat_inc(PYEBPF_STAT_SAMPLES);

	if (read_python_stack(proc, s, now, bpf_get_current_task_btf()))
		return 0;
	if (s->flags & PYEBPF_SAMPLE_NO_TSTATE)
		stat_inc(PYEBPF_STAT_NO_TSTATE);
	if (s->flags & PYEBPF_SAMPLE_READ_ERROR)
		stat_inc(PYEBPF_STAT_READ_ERRORS);
	if (s->flags & PYEBPF_SAMPLE_TRUNCATED)
		stat_inc(PYEBPF_STAT_TRUNCATED);
	/* empty when the sample interrupted user code */
	if (kernel_stacks)
		set_kframes(s, bpf_get_stack(ctx, kframes_slot(s),
					     PYEBPF_MAX_KFRAMES * sizeof(__u64), 0));
	send_sample(s);
	return 0;
}

/*
 * Every context switch on the machine: keep the path for threads that are
 * not traced short (one task-storage check and one hash lookup).
 * `prev` is the current task, so its memory can be read here.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct off_cpu_pending *p;
	const struct pyebpf_proc *proc;
	__u32 tgid;
	__u64 now = 0;

	p = bpf_task_storage_get(&off_cpu, next, 0, 0);
	if (p && p->start_ns) {
		now = bpf_ktime_get_ns();
		off_cpu_end(p, now);
	}

	tgid = prev->tgid;
	proc = bpf_map_lookup_elem(&procs, &tgid);
	if (!proc)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	p = off_cpu_begin(proc, prev, prev_state, preempt, now);
	if (p && kernel_stacks)
		set_kframes(&p->sample, bpf_get_stack(ctx, kframes_slot(&p->sample),
						      PYEBPF_MAX_KFRAMES * sizeof(__u64), 0));
	return 0;
}

/* A traced thread is runnable again: from now on it waits for a CPU. */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *task)
{
	struct off_cpu_pending *p = bpf_task_storage_get(&off_cpu, task, 0, 0);

	if (p && p->start_ns && !p->wakeup_ns)
		p->wakeup_ns = bpf_ktime_get_ns();
	return 0;
}
