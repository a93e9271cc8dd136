/* SPDX-License-Identifier: MIT */
/* Maps shared by pyebpf's BPF programs. */
#ifndef PYEBPF_MAPS_BPF_H
#define PYEBPF_MAPS_BPF_H

#include "pyebpf.h"

/* Traced processes, keyed by tgid; written by userspace. Its size is set
 * by the loader before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pyebpf_proc);
} procs SEC(".maps");

/* Per thread: the PyThreadState found for it last time. Task storage, so
 * the kernel frees it with the thread and a reused tid starts clean. It is
 * re-validated on every use (thread_id must still equal the thread's
 * pthread pointer), so a stale entry costs a walk, never a wrong stack. */
struct thread_cache_entry {
	__u64 tstate;	   /* 0: no Python thread state found */
	__u64 retry_after; /* for tstate == 0: ktime before which not to re-walk */
	__u64 misses;	   /* walks in a row that found nothing */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_cache_entry);
} thread_cache SEC(".maps");

/* (code object, the frame's function and globals) -> checksum, shared by
 * all CPUs, direct-mapped. Saves reading every frame's code object on every
 * sample. A code object freed and replaced at the same address comes with
 * another function object or globals, so it misses and is read again.
 * Entries are written without locks; `sum` rejects one torn by two
 * writers. */
struct code_check_entry {
	__u64 code;
	__u64 frame_key; /* f_funcobj ^ f_globals of the frame that used it */
	__u64 tag;	 /* check | expiry second << 32 */
	__u64 sum;	 /* code ^ frame_key ^ tag */
};

#define CODE_CHECK_SLOTS 4096

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CODE_CHECK_SLOTS);
	__type(key, __u32);
	__type(value, struct code_check_entry);
} code_checks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} samples SEC(".maps");

/* Scratch space for building a sample: too big for the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pyebpf_sample);
} sample_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PYEBPF_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(enum pyebpf_stat which)
{
	__u32 key = which;
	__u64 *v = bpf_map_lookup_elem(&stats, &key);

	if (v)
		*v += 1;
}

#endif /* PYEBPF_MAPS_BPF_H */
