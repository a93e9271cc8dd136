/* SPDX-License-Identifier: MIT */
/*
 * Off-CPU intervals. When a thread of a traced process leaves the CPU, its
 * Python stack, the reason (pyebpf_off_cpu_class) and the time are kept in
 * the thread's task storage; when it comes back, the interval is sent with
 * its exact length. Task storage follows the task, not the CPU, so a
 * thread that comes back on another CPU is accounted the same, and it is
 * freed with the task.
 */
#ifndef PYEBPF_OFF_CPU_BPF_H
#define PYEBPF_OFF_CPU_BPF_H

#include "python_stack.bpf.h"
#include "records.bpf.h"

struct off_cpu_pending {
	__u64 start_ns;	 /* when it left the CPU; 0: nothing pending */
	__u64 wakeup_ns; /* when it was woken, 0 if not yet */
	struct pyebpf_sample sample;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct off_cpu_pending);
} off_cpu SEC(".maps");

/*
 * `task` (a thread of the traced process `proc`) is off CPU from `now` on,
 * in `state` (the scheduler's), preempted or not: read its Python stack
 * and the reason into its pending record. Returns the record to complete
 * (the caller adds the kernel stack), or NULL when nothing is kept: the
 * thread is exiting, or it has no Python thread state (a native thread).
 */
static __always_inline struct off_cpu_pending *off_cpu_begin(const struct pyebpf_proc *proc,
							     struct task_struct *task, __u32 state,
							     int preempted, __u64 now)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct off_cpu_pending *p;
	struct pyebpf_sample *s;
	long syscall = -1;
	__u64 arg0 = 0;
	__u8 class;

	/* in a system call, entry code leaves -ENOSYS in ax until it returns;
	 * an exception such as a page fault leaves the user's ax there */
	if (regs && (long)regs->ax == -38) {
		syscall = (long)regs->orig_ax;
		arg0 = regs->di;
	}
	class = pyebpf_off_cpu_class(state, preempted, syscall, arg0, proc->gil_wait_lo,
				     proc->gil_wait_hi);
	if (class == PYEBPF_OFF_NONE)
		return NULL;

	p = bpf_task_storage_get(&off_cpu, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p)
		return NULL;
	p->start_ns = 0;
	s = &p->sample;
	record_init(s, PYEBPF_KIND_OFF_CPU, now, task->tgid, task->pid, (__s32)syscall, class);
	if (read_python_stack(proc, s, now, task) || (s->flags & PYEBPF_SAMPLE_NO_TSTATE))
		return NULL;
	p->start_ns = now;
	p->wakeup_ns = 0;
	return p;
}

/* The thread of `p` is back on a CPU (or profiling stops): send the
 * interval, split into the time it waited for its reason and the time it
 * then waited for a CPU once woken. */
static __always_inline void off_cpu_end(struct off_cpu_pending *p, __u64 now)
{
	struct pyebpf_sample *s = &p->sample;
	__u64 start = p->start_ns, woken = p->wakeup_ns;

	if (!start || now < start)
		return;
	p->start_ns = 0;
	if (woken >= start && woken <= now && s->off_class != PYEBPF_OFF_RUNQUEUE) {
		s->off_ns = woken - start;
		s->runq_ns = now - woken;
	} else {
		s->off_ns = now - start;
		s->runq_ns = 0;
	}
	stat_inc(PYEBPF_STAT_OFF_CPU);
	send_sample(s);
}

#endif /* PYEBPF_OFF_CPU_BPF_H */
