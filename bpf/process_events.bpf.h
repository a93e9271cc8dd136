/* SPDX-License-Identifier: MIT */
/*
 * Following processes through their life (--subprocesses, --all): the
 * `followed` map and what the fork, exec and exit programs in pyebpf.bpf.c
 * do with it. The contract (event record, what each event changes in the
 * maps) is in include/pyebpf.h, struct pyebpf_process_event.
 */
#ifndef PYEBPF_PROCESS_EVENTS_BPF_H
#define PYEBPF_PROCESS_EVENTS_BPF_H

#include "maps.bpf.h"
#include "records.bpf.h"

/* --all: every process counts as followed (the map stays empty). */
const volatile bool follow_all = false;

/* Followed processes by tgid: the roots userspace adds and their
 * descendants. The value is unused (1). Sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} followed SEC(".maps");

static __always_inline bool is_followed(__u32 tgid)
{
	return follow_all || bpf_map_lookup_elem(&followed, &tgid);
}

/*
 * Sends one event; a full ring buffer loses it (counted: userspace still
 * sees exits through pidfds). Events of followed processes wake the reader
 * at once: they are rare, and a new process should be inspected while it is
 * young. Not so with follow_all for exec, the event every exec() on the
 * machine sends: a wakeup is an irq_work self-IPI, measured at ~18 us per
 * exec in a KVM guest against ~1 us without; the reader's 50 ms poll picks
 * those up.
 */
static __always_inline void send_process_event(__u8 type, __u32 pid, __u32 parent, const char *comm)
{
	struct pyebpf_process_event ev = {};
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!follow_all || type != PYEBPF_PROCESS_EXEC ||
	    bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	ev.time_ns = bpf_ktime_get_ns();
	ev.pid = pid;
	ev.parent = parent;
	ev.cpu = bpf_get_smp_processor_id();
	ev.kind = PYEBPF_KIND_PROCESS;
	ev.type = type;
	bpf_probe_read_kernel_str(ev.comm, sizeof(ev.comm), comm);
	if (bpf_ringbuf_output(&samples, &ev, sizeof(ev), flags))
		stat_inc(PYEBPF_STAT_LOST_EVENTS);
}

/* Whether every thread of p's group has passed do_exit()'s count of live
 * threads: then this is the group's last exit event (possibly one of a few
 * when threads die together; userspace takes the first). */
static __always_inline bool group_dead(struct task_struct *p)
{
	return BPF_CORE_READ(p, signal, live.counter) == 0;
}

#endif /* PYEBPF_PROCESS_EVENTS_BPF_H */
