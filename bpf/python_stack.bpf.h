/* SPDX-License-Identifier: MIT */
/*
 * Reading a Python stack from the kernel: find the current thread's
 * PyThreadState, then walk its frames leaf to root into a pyebpf_sample.
 *
 * Everything here reads another process's memory that may be torn or
 * hostile: every loop is bounded, every offset is checked against the
 * window it indexes, and a failed read ends the walk with an error frame
 * rather than dropping the sample.
 */
#ifndef PYEBPF_PYTHON_STACK_BPF_H
#define PYEBPF_PYTHON_STACK_BPF_H

#include "maps.bpf.h"
#include "pyebpf.h"

/* Per-run settings, fixed before load. */
const volatile __u32 max_frames = PYEBPF_DEFAULT_FRAMES;
/* After a thread-list walk finds no PyThreadState for a thread, don't walk
 * again for this long: a native thread in a Python process would otherwise
 * pay a walk per sample. Short, so a new Python thread is found quickly. */
const volatile __u64 tstate_retry_ns = 10 * 1000 * 1000;

/* Copies of the objects read while building one sample. Per-CPU, because
 * they do not fit on the 512-byte BPF stack. */
struct walk_scratch {
	__u8 tstate[PYEBPF_TSTATE_WINDOW];
	__u8 frame[PYEBPF_FRAME_WINDOW];
	__u8 code[PYEBPF_CODE_WINDOW];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_scratch);
} walk_scratch SEC(".maps");

/* Field access inside a window; an offset outside it reads as 0. The
 * loader never registers such offsets (py_layout_validate), this keeps
 * the verifier and hostile tables honest. */
static __always_inline __u64 win_u64(const __u8 *win, __s16 off, __u32 size)
{
	__u32 o = (__u32)off;

	if (off < 0 || o > size - 8)
		return 0;
	return *(const __u64 *)(win + o);
}

static __always_inline __s32 win_s32(const __u8 *win, __s16 off, __u32 size)
{
	__u32 o = (__u32)off;

	if (off < 0 || o > size - 4)
		return 0;
	return *(const __s32 *)(win + o);
}

static __always_inline __u8 win_u8(const __u8 *win, __s16 off, __u32 size)
{
	__u32 o = (__u32)off;

	if (off < 0 || o > size - 1)
		return 0;
	return win[o];
}

static __always_inline __u64 read_user_u64(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

/* Read `len` (<= window) bytes at `addr` into a window. */
static __always_inline long read_window(__u8 *dst, __u32 window, __u32 len, __u64 addr)
{
	len &= window - 1; /* windows are powers of two; 0 means the whole window */
	if (len == 0)
		len = window;
	return bpf_probe_read_user(dst, len, (const void *)addr);
}

/* The thread pointer register of the current task, which glibc and musl
 * use as pthread_self() and CPython stores as PyThreadState.thread_id. */
static __always_inline __u64 current_thread_pointer(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(task, thread.fsbase);
#else
#error "pyebpf: thread pointer not implemented for this architecture"
#endif
}

struct thread_lookup {
	const struct pyebpf_proc *proc;
	struct walk_scratch *scratch;
	__u64 interp;      /* interpreter whose thread list is walked */
	__u64 tstate;      /* next thread state to look at, 0: next interpreter */
	__u64 thread_ptr;  /* the value PyThreadState.thread_id must have */
	__u64 found;
	__u32 interps;
};

static long thread_lookup_step(__u32 i, void *arg)
{
	struct thread_lookup *c = arg;
	const struct pyebpf_py_offsets *off = &c->proc->off;

	if (!c->tstate) {
		if (c->interps > 0)
			c->interp = read_user_u64(c->interp + off->interp_next);
		if (!c->interp || c->interps >= PYEBPF_MAX_INTERPRETERS)
			return 1;
		c->interps++;
		c->tstate = read_user_u64(c->interp + off->interp_threads_head);
		return 0;
	}
	if (read_window(c->scratch->tstate, PYEBPF_TSTATE_WINDOW,
			c->proc->tstate_read_size, c->tstate)) {
		c->tstate = 0; /* torn list: try the next interpreter */
		return 0;
	}
	if (win_u64(c->scratch->tstate, off->tstate_thread_id, PYEBPF_TSTATE_WINDOW) ==
	    c->thread_ptr) {
		c->found = c->tstate;
		return 1;
	}
	c->tstate = win_u64(c->scratch->tstate, off->tstate_next, PYEBPF_TSTATE_WINDOW);
	return 0;
}

/*
 * The PyThreadState of the current thread, or 0. On success the scratch
 * tstate window holds a fresh copy of it.
 */
static __always_inline __u64 find_thread_state(const struct pyebpf_proc *proc,
					       struct walk_scratch *scratch, __u32 pid,
					       __u32 tid, __u64 now)
{
	const struct pyebpf_py_offsets *off = &proc->off;
	__u64 thread_ptr = current_thread_pointer();
	struct thread_cache_entry *cached;
	struct thread_cache_entry entry = {};

	cached = bpf_map_lookup_elem(&thread_cache, &tid);
	if (cached && cached->pid == pid) {
		if (cached->tstate) {
			if (!read_window(scratch->tstate, PYEBPF_TSTATE_WINDOW,
					 proc->tstate_read_size, cached->tstate) &&
			    win_u64(scratch->tstate, off->tstate_thread_id,
				    PYEBPF_TSTATE_WINDOW) == thread_ptr)
				return cached->tstate;
		} else if (now < cached->retry_after) {
			return 0;
		}
	}

	struct thread_lookup c = {
		.proc = proc,
		.scratch = scratch,
		.interp = read_user_u64(proc->interp_head_addr),
		.thread_ptr = thread_ptr,
	};
	stat_inc(PYEBPF_STAT_THREAD_WALKS);
	bpf_loop(PYEBPF_MAX_THREADS + PYEBPF_MAX_INTERPRETERS, thread_lookup_step, &c, 0);

	entry.tstate = c.found;
	entry.retry_after = c.found ? 0 : now + tstate_retry_ns;
	entry.pid = pid;
	bpf_map_update_elem(&thread_cache, &tid, &entry, BPF_ANY);
	return c.found;
}

struct frame_walk {
	const struct pyebpf_proc *proc;
	struct walk_scratch *scratch;
	struct pyebpf_sample *sample;
	__u64 frame; /* next frame to read */
	__u32 limit; /* frames to emit at most */
};

static __always_inline void emit_frame(struct frame_walk *w, __u64 code, __u32 instr,
				       __u32 check)
{
	__u32 n = w->sample->n_frames;

	if (n >= PYEBPF_MAX_FRAMES)
		return;
	w->sample->frames[n].code = code;
	w->sample->frames[n].instr = instr;
	w->sample->frames[n].check = check;
	w->sample->n_frames = n + 1;
}

static long frame_walk_step(__u32 i, void *arg)
{
	struct frame_walk *w = arg;
	const struct pyebpf_py_offsets *off = &w->proc->off;
	struct walk_scratch *sc = w->scratch;
	__u64 frame = w->frame, code, previous;
	__u32 instr = 0, check = 0;

	if (!frame)
		return 1;
	if (w->sample->n_frames >= w->limit) {
		w->sample->flags |= PYEBPF_SAMPLE_TRUNCATED;
		return 1;
	}
	if (read_window(sc->frame, PYEBPF_FRAME_WINDOW, w->proc->frame_read_size, frame)) {
		emit_frame(w, 0, PYEBPF_FRAME_ERR_READ_FRAME, 0);
		w->sample->flags |= PYEBPF_SAMPLE_READ_ERROR;
		return 1;
	}
	previous = win_u64(sc->frame, off->frame_previous, PYEBPF_FRAME_WINDOW);
	if (previous == frame) {
		w->sample->flags |= PYEBPF_SAMPLE_CYCLE;
		previous = 0;
	}
	w->frame = previous;

	/* 3.12+: shim frames the interpreter pushes for C-stack entries */
	if (off->frame_owner >= 0 &&
	    win_u8(sc->frame, off->frame_owner, PYEBPF_FRAME_WINDOW) >= off->frame_owner_shim_min)
		return 0;

	/* 3.14 tags f_executable's low bit; objects are 8-aligned anyway */
	code = win_u64(sc->frame, off->frame_code, PYEBPF_FRAME_WINDOW) & ~7ull;
	if (!code)
		return 0;

	if (off->frame_instr_kind == PYEBPF_INSTR_LASTI) {
		instr = (__u32)win_s32(sc->frame, off->frame_instr, PYEBPF_FRAME_WINDOW);
	} else {
		__u64 ip = win_u64(sc->frame, off->frame_instr, PYEBPF_FRAME_WINDOW);

		instr = ip >= code && ip - code < (1ull << 31) ? (__u32)(ip - code) : ~0u;
	}

	if (!read_window(sc->code, PYEBPF_CODE_WINDOW, w->proc->code_read_size, code)) {
		/* 3.13+: f_executable may hold None or another object */
		if (w->proc->code_type_addr &&
		    win_u64(sc->code, 8, PYEBPF_CODE_WINDOW) != w->proc->code_type_addr)
			return 0;
		check = pyebpf_code_check(win_s32(sc->code, off->code_argcount, PYEBPF_CODE_WINDOW),
					  win_s32(sc->code, off->code_firstlineno,
						  PYEBPF_CODE_WINDOW));
	}
	/* else: paged out or freed; userspace reads it itself (check 0) */
	emit_frame(w, code, instr, check);
	return 0;
}

/*
 * Fill `sample` with the current thread's Python stack. Returns 0 when a
 * sample should be sent (possibly with NO_TSTATE or error flags).
 */
static __always_inline int read_python_stack(const struct pyebpf_proc *proc,
					     struct pyebpf_sample *sample, __u32 pid,
					     __u32 tid, __u64 now)
{
	const struct pyebpf_py_offsets *off = &proc->off;
	__u32 zero = 0;
	struct walk_scratch *scratch = bpf_map_lookup_elem(&walk_scratch, &zero);
	__u64 tstate, frame;

	if (!scratch)
		return -1;

	tstate = find_thread_state(proc, scratch, pid, tid, now);
	sample->tstate = tstate;
	if (!tstate) {
		sample->flags |= PYEBPF_SAMPLE_NO_TSTATE;
		return 0;
	}

	if (off->tstate_frame >= 0) {
		frame = win_u64(scratch->tstate, off->tstate_frame, PYEBPF_TSTATE_WINDOW);
	} else {
		__u64 cframe = win_u64(scratch->tstate, off->tstate_cframe, PYEBPF_TSTATE_WINDOW);

		frame = cframe ? read_user_u64(cframe + off->cframe_current_frame) : 0;
	}

	struct frame_walk w = {
		.proc = proc,
		.scratch = scratch,
		.sample = sample,
		.frame = frame,
		.limit = max_frames < PYEBPF_MAX_FRAMES ? max_frames : PYEBPF_MAX_FRAMES,
	};
	/* +1 so a stack of exactly `limit` frames is not marked truncated, and
	 * shim frames (skipped, not emitted) get room of their own */
	bpf_loop(PYEBPF_MAX_FRAMES * 2 + 1, frame_walk_step, &w, 0);
	if (w.frame && !(sample->flags & PYEBPF_SAMPLE_TRUNCATED) &&
	    sample->n_frames >= w.limit)
		sample->flags |= PYEBPF_SAMPLE_TRUNCATED;
	return 0;
}

#endif /* PYEBPF_PYTHON_STACK_BPF_H */
