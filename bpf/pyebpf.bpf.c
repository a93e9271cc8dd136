// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pyebpf's kernel side.
 *   - sample_python: a perf_event program on the cpu-clock event of every
 *     CPU. For a thread of a registered process it reads the Python stack
 *     and sends it to userspace through the `samples` ring buffer.
 *   - on_switch, on_wakeup (attached only for off-CPU profiling): time
 *     every interval a traced thread spends off CPU, and why (off_cpu.bpf.h).
 *   - on_fork, on_exec, on_exit (attached only when following processes:
 *     --subprocesses, --all): follow children, forget processes that exec()
 *     or exit, and tell userspace (process_events.bpf.h, include/pyebpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "off_cpu.bpf.h"
#include "process_events.bpf.h"
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

/* Every fork and clone on the machine; for threads and processes nobody
 * follows, one or two hash lookups. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	const struct pyebpf_proc *proc;
	__u8 one = 1;

	if (child->pid != child->tgid || ptgid == ctgid)
		return 0; /* a thread */
	if (!is_followed(ptgid))
		return 0;
	if (!follow_all)
		bpf_map_update_elem(&followed, &ctgid, &one, BPF_ANY);
	proc = bpf_map_lookup_elem(&procs, &ptgid);
	/* a vfork() child runs in its parent's memory until it exec()s */
	if (!proc || child->mm == parent->mm)
		return 0;
	/* the same image at the same addresses: sample it from its first
	 * instruction, before userspace has even heard of it */
	if (bpf_map_update_elem(&procs, &ctgid, proc, BPF_ANY))
		return 0; /* full: userspace registers it from the event */
	send_process_event(PYEBPF_PROCESS_FORK, ctgid, ptgid, parent->comm);
	return 0;
}

/* After the new image is in place, in the exec()ing task (which has the
 * group's pid by then: other threads are gone). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	bool registered = bpf_map_delete_elem(&procs, &tgid) == 0;

	if (!registered && !is_followed(tgid))
		return 0;
	/* its cached thread state belongs to the old image */
	bpf_task_storage_delete(&thread_cache, p);
	send_process_event(PYEBPF_PROCESS_EXEC, tgid, 0, p->comm);
	return 0;
}

/* Every thread exit on the machine; acts on the last one of a group. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	bool registered, was_followed;

	if (!group_dead(p))
		return 0;
	registered = bpf_map_delete_elem(&procs, &tgid) == 0;
	was_followed = !follow_all && bpf_map_delete_elem(&followed, &tgid) == 0;
	if (registered || was_followed)
		send_process_event(PYEBPF_PROCESS_EXIT, tgid, 0, p->comm);
	return 0;
}
