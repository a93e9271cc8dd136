// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A sleepable task iterator over the threads of traced processes, run on
 * demand by userspace. It shares the `procs`, `off_cpu`, `samples` and
 * `stats` maps with pyebpf.bpf.c (the loader reuses their fds).
 *
 *   PYEBPF_SNAPSHOT_OFF_CPU: when off-CPU profiling starts, threads already off CPU
 *     have no switch-out to record them. Read their Python stacks now, from
 *     here (bpf_copy_from_user_task reads another task's memory), into
 *     their pending records, as if they had left the CPU at this moment.
 *   PYEBPF_FLUSH_OFF_CPU: when profiling stops, send the intervals of threads
 *     still off CPU, up to now.
 *   PYEBPF_SPLIT_OFF_CPU: at an upload interval's end, send the part of
 *     each open interval up to now, and time the rest from now, so a
 *     thread asleep for minutes shows in every interval it sleeps through.
 *   PYEBPF_SNAPSHOT_DUMP: send every Python thread's stack as it is now, and
 *     whether the thread is active (pyebpf dump). Nothing is stopped: a
 *     running thread is read while it runs (see PYEBPF_KIND_DUMP).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define PYEBPF_READ_OTHER_TASK 1
#include "off_cpu.bpf.h"
#include "python_stack.bpf.h"
#include "records.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* enum pyebpf_snapshot_mode, set by userspace before each run */
__u32 mode;

/*
 * PYEBPF_SNAPSHOT_DUMP: one PYEBPF_KIND_DUMP record for `task`, unless it
 * has no Python thread state (a native thread) or is a zombie.
 */
static __always_inline void dump_thread(const struct pyebpf_proc *proc, struct task_struct *task,
					__u64 now)
{
	struct pyebpf_sample *s;
	__u32 zero = 0;
	bool active;

	if (task->exit_state)
		return;
	/* the state first: reading the stack may sleep on a page fault.
	 * TASK_RUNNING (0) is on a CPU or in a run queue; a thread on a CPU
	 * that has set a sleeping state is on its way to sleep: idle */
	active = task->__state == 0;
	s = bpf_map_lookup_elem(&sample_scratch, &zero);
	if (!s)
		return;
	record_init(s, PYEBPF_KIND_DUMP, now, task->tgid, task->pid, -1, PYEBPF_OFF_NONE);
	if (read_python_stack(proc, s, now, task) || (s->flags & PYEBPF_SAMPLE_NO_TSTATE))
		return;
	if (active)
		s->flags |= PYEBPF_SAMPLE_ACTIVE;
	if (s->flags & PYEBPF_SAMPLE_READ_ERROR)
		stat_inc(PYEBPF_STAT_READ_ERRORS);
	if (s->flags & PYEBPF_SAMPLE_TRUNCATED)
		stat_inc(PYEBPF_STAT_TRUNCATED);
	send_sample(s);
}

SEC("iter.s/task")
int snapshot_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	const struct pyebpf_proc *proc;
	struct off_cpu_pending *p;
	__u32 tgid, state;
	__u64 now;

	if (!task)
		return 0;
	tgid = task->tgid;
	proc = bpf_map_lookup_elem(&procs, &tgid);
	if (!proc)
		return 0;
	now = bpf_ktime_get_ns();
	if (mode == PYEBPF_SNAPSHOT_DUMP) {
		dump_thread(proc, task, now);
		return 0;
	}
	p = bpf_task_storage_get(&off_cpu, task, 0, 0);

	if (mode == PYEBPF_FLUSH_OFF_CPU) {
		if (p)
			off_cpu_end(p, now);
		return 0;
	}
	if (mode == PYEBPF_SPLIT_OFF_CPU) {
		/* a thread on a CPU ends its own interval at switch-in; one
		 * switching in right now may race with this and send a few
		 * microseconds twice */
		if (!p || !p->start_ns || task->on_cpu)
			return 0;
		{
			bool woken = p->wakeup_ns >= p->start_ns && p->wakeup_ns <= now;

			off_cpu_end(p, now);
			p->start_ns = now;
			/* once woken, the rest is run-queue wait */
			if (woken)
				p->wakeup_ns = now;
		}
		return 0;
	}
	if (mode != PYEBPF_SNAPSHOT_OFF_CPU || (p && p->start_ns) || task->on_cpu)
		return 0;
	/* not on a CPU: runnable (waiting for one) or blocked */
	state = task->__state;
	p = off_cpu_begin(proc, task, state, state == 0, now);
	if (!p)
		return 0;
	p->sample.flags |= PYEBPF_SAMPLE_SINCE_START;
	if (kernel_stacks)
		set_kframes(&p->sample, bpf_get_task_stack(task, kframes_slot(&p->sample),
							   PYEBPF_MAX_KFRAMES * sizeof(__u64), 0));
	return 0;
}
