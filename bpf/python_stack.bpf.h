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
/* Report whether each sampled thread holds the GIL (--gil, off-CPU). */
const volatile bool gil_state = false;

/* Copies of the objects read while building one sample. Per-CPU, because
 * they do not fit on the 512-byte BPF stack. */
struct walk_scratch {
	__u8 tstate[PYEBPF_TSTATE_WINDOW];
	/* frames: a chunk read at once, plus slack so a frame that starts
	 * near the chunk's end can be indexed without another bounds case */
	__u8 frames[PYEBPF_FRAME_CHUNK + PYEBPF_FRAME_WINDOW];
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

/*
 * Reading the target's memory. Programs running in the target thread's own
 * context (sampling, switch-out) read the current address space; the
 * sleepable snapshot iterator defines PYEBPF_READ_OTHER_TASK and reads the
 * iterated task's. Either way `task` is the thread whose stack is read.
 */
#ifdef PYEBPF_READ_OTHER_TASK
#define read_user(dst, len, addr, task) \
	bpf_copy_from_user_task((dst), (len), (const void *)(addr), (task), 0)
#else
#define read_user(dst, len, addr, task) bpf_probe_read_user((dst), (len), (const void *)(addr))
#endif

static __always_inline __u64 read_user_u64(__u64 addr, struct task_struct *task)
{
	__u64 v = 0;

	if (read_user(&v, sizeof(v), addr, task))
		return 0;
	return v;
}

/* Read `len` (<= window) bytes at `addr` into a window. */
static __always_inline long read_window(__u8 *dst, __u32 window, __u32 len, __u64 addr,
					struct task_struct *task)
{
	len &= window - 1; /* windows are powers of two; 0 means the whole window */
	if (len == 0)
		len = window;
	return read_user(dst, len, addr, task);
}

/* The thread pointer register of a task, which glibc and musl use as
 * pthread_self() and CPython stores as PyThreadState.thread_id. */
static __always_inline __u64 thread_pointer(struct task_struct *task)
{
	/* a BTF pointer: a direct load, no probe_read helper call */
#if defined(__TARGET_ARCH_x86)
	return task->thread.fsbase;
#else
#error "pyebpf: thread pointer not implemented for this architecture"
#endif
}

/* The innermost frame of the thread state in scratch->tstate, or 0. */
static __always_inline __u64 tstate_frame(const struct pyebpf_proc *proc,
					  struct walk_scratch *scratch, struct task_struct *task)
{
	const struct pyebpf_py_offsets *off = &proc->off;
	__u64 cframe;

	if (off->tstate_frame >= 0)
		return win_u64(scratch->tstate, off->tstate_frame, PYEBPF_TSTATE_WINDOW);
	cframe = win_u64(scratch->tstate, off->tstate_cframe, PYEBPF_TSTATE_WINDOW);
	return cframe ? read_user_u64(cframe + off->cframe_current_frame, task) : 0;
}

struct thread_lookup {
	const struct pyebpf_proc *proc;
	struct task_struct *task;
	struct walk_scratch *scratch;
	__u64 interp;	  /* interpreter whose thread list is walked */
	__u64 tstate;	  /* next thread state to look at, 0: next interpreter */
	__u64 thread_ptr; /* the value PyThreadState.thread_id must have */
	__u64 found;
	__u64 frameless; /* the first match without a frame */
	__u32 interps;
};

static long thread_lookup_step(__u32 i, void *arg)
{
	struct thread_lookup *c = arg;
	const struct pyebpf_py_offsets *off = &c->proc->off;

	if (!c->tstate) {
		if (c->interps > 0)
			c->interp = read_user_u64(c->interp + off->interp_next, c->task);
		if (!c->interp || c->interps >= PYEBPF_MAX_INTERPRETERS)
			return 1;
		c->interps++;
		c->tstate = read_user_u64(c->interp + off->interp_threads_head, c->task);
		return 0;
	}
	if (read_window(c->scratch->tstate, PYEBPF_TSTATE_WINDOW, c->proc->tstate_read_size,
			c->tstate, c->task)) {
		c->tstate = 0; /* torn list: try the next interpreter */
		return 0;
	}
	/* 3.7 to 3.11 give a new thread state its creator's thread_id until
	 * the new thread binds it: while a thread starts, two states match,
	 * and the newer one, first in the list, has no frame yet. Prefer the
	 * one with a frame; a thread that has none gets the first match. */
	if (win_u64(c->scratch->tstate, off->tstate_thread_id, PYEBPF_TSTATE_WINDOW) ==
	    c->thread_ptr) {
		if (tstate_frame(c->proc, c->scratch, c->task)) {
			c->found = c->tstate;
			return 1;
		}
		if (!c->frameless)
			c->frameless = c->tstate;
	}
	c->tstate = win_u64(c->scratch->tstate, off->tstate_next, PYEBPF_TSTATE_WINDOW);
	return 0;
}

/* An off-CPU interval can last seconds: losing it to the retry window
 * costs far more than a walk. A new thread is not found until it has set
 * its thread_id, so switch-outs walk anyway, but only this many times in a
 * row: after that the thread is taken for a native one. */
#define EAGER_WALKS 16

/*
 * The PyThreadState of `task`, or 0. On success the scratch tstate window
 * holds a fresh copy of it. `eager`: see EAGER_WALKS.
 */
static __always_inline __u64 find_thread_state(const struct pyebpf_proc *proc,
					       struct walk_scratch *scratch, __u64 now,
					       struct task_struct *task, bool eager)
{
	const struct pyebpf_py_offsets *off = &proc->off;
	__u64 thread_ptr = thread_pointer(task);
	struct thread_cache_entry *cached;

	cached = bpf_task_storage_get(&thread_cache, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cached)
		return 0;
	if (cached->tstate) {
		if (!read_window(scratch->tstate, PYEBPF_TSTATE_WINDOW, proc->tstate_read_size,
				 cached->tstate, task) &&
		    win_u64(scratch->tstate, off->tstate_thread_id, PYEBPF_TSTATE_WINDOW) ==
			    thread_ptr)
			return cached->tstate;
	} else if (now < cached->retry_after && !(eager && cached->misses < EAGER_WALKS)) {
		return 0;
	}

	struct thread_lookup c = {
		.proc = proc,
		.task = task,
		.scratch = scratch,
		.interp = read_user_u64(proc->interp_head_addr, task),
		.thread_ptr = thread_ptr,
	};
	stat_inc(PYEBPF_STAT_THREAD_WALKS);
	bpf_loop(PYEBPF_MAX_THREADS + PYEBPF_MAX_INTERPRETERS, thread_lookup_step, &c, 0);
	/* the window must hold the state returned */
	if (!c.found && c.frameless &&
	    !read_window(scratch->tstate, PYEBPF_TSTATE_WINDOW, proc->tstate_read_size, c.frameless,
			 task))
		c.found = c.frameless;

	cached->tstate = c.found;
	cached->retry_after = c.found ? 0 : now + tstate_retry_ns;
	cached->misses = c.found ? 0 : cached->misses + 1;
	return c.found;
}

struct frame_walk {
	const struct pyebpf_proc *proc;
	struct task_struct *task;
	struct walk_scratch *scratch;
	struct pyebpf_sample *sample;
	__u64 frame;	   /* next frame to read */
	__u64 stack_floor; /* lowest frame address of the newest data stack
			      chunk (3.11+), 0 if unknown */
	__u64 chunk_base;  /* address of scratch->frames[0] */
	__u32 chunk_len;   /* valid bytes in scratch->frames */
	__u32 limit;	   /* frames to emit at most */
	__u64 now;
};

static __always_inline void emit_frame(struct frame_walk *w, __u64 code, __u32 instr, __u32 check)
{
	__u32 n = w->sample->n_frames;

	if (n >= PYEBPF_MAX_FRAMES)
		return;
	w->sample->frames[n].code = code;
	w->sample->frames[n].instr = instr;
	w->sample->frames[n].check = check;
	w->sample->n_frames = n + 1;
}

/*
 * Make `frame` readable in scratch->frames; returns its offset there, or
 * -1 if it cannot be read. With packed frames, one read of a whole chunk
 * ending at this frame also brings in the callers below it.
 */
static __always_inline long load_frame(struct frame_walk *w, __u64 frame)
{
	__u32 size = w->proc->frame_read_size;
	__u64 base;

	if (frame >= w->chunk_base && frame + size <= w->chunk_base + w->chunk_len)
		return (long)(frame - w->chunk_base);

	if ((w->proc->flags & PYEBPF_PROC_FRAMES_PACKED) && frame + size > PYEBPF_FRAME_CHUNK) {
		__u32 len = PYEBPF_FRAME_CHUNK;

		base = frame + size - PYEBPF_FRAME_CHUNK;
		/* in the newest chunk, read no lower than its first frame: a
		 * shallow stack then costs only the bytes it uses */
		if (w->stack_floor && frame >= w->stack_floor && base < w->stack_floor) {
			base = w->stack_floor;
			len = (__u32)(frame + size - base);
		}
		if (len >= size && len <= PYEBPF_FRAME_CHUNK &&
		    !read_window(w->scratch->frames, PYEBPF_FRAME_CHUNK, len, base, w->task)) {
			w->chunk_base = base;
			w->chunk_len = len;
			return (long)(frame - base);
		}
		/* the chunk reaches unmapped memory: read just the frame */
	}
	if (read_window(w->scratch->frames, PYEBPF_FRAME_WINDOW, size, frame, w->task))
		return -1;
	w->chunk_base = frame;
	w->chunk_len = size;
	return 0;
}

/* The checksum of a code object: from the shared cache, or read (then
 * marked PYEBPF_CHECK_FRESH). 0 when the code object is unreadable; ~0
 * when it is not a code object. */
static __always_inline __u32 code_check(struct frame_walk *w, __u64 code, __u64 frame_key)
{
	const struct pyebpf_py_offsets *off = &w->proc->off;
	__u32 slot = (__u32)((code >> 4) ^ (code >> 16)) & (CODE_CHECK_SLOTS - 1);
	struct code_check_entry *e = bpf_map_lookup_elem(&code_checks, &slot);
	__u32 second = (__u32)(w->now >> 30); /* ~1.07 s */
	__u32 check;

	if (e && e->code == code && e->frame_key == frame_key &&
	    (e->code ^ e->frame_key ^ e->tag) == e->sum && (__u32)(e->tag >> 32) >= second)
		return (__u32)e->tag;

	w->sample->flags |= PYEBPF_SAMPLE_NEW_CODE;
	if (read_window(w->scratch->code, PYEBPF_CODE_WINDOW, w->proc->code_read_size, code,
			w->task))
		return 0; /* paged out or freed: userspace reads it itself */
	/* 3.13+: f_executable may hold None or another object */
	if (w->proc->code_type_addr &&
	    win_u64(w->scratch->code, 8, PYEBPF_CODE_WINDOW) != w->proc->code_type_addr)
		return ~0u;
	check = pyebpf_code_check(
		win_s32(w->scratch->code, off->code_argcount, PYEBPF_CODE_WINDOW),
		win_s32(w->scratch->code, off->code_firstlineno, PYEBPF_CODE_WINDOW),
		win_u64(w->scratch->code, off->code_name, PYEBPF_CODE_WINDOW),
		win_u64(w->scratch->code, off->code_filename, PYEBPF_CODE_WINDOW));
	if (e) {
		/* re-read at least every second or two, whatever the key says */
		__u64 tag = check | ((__u64)(second + 1) << 32);

		e->code = code;
		e->frame_key = frame_key;
		e->tag = tag;
		e->sum = code ^ frame_key ^ tag;
	}
	return check | PYEBPF_CHECK_FRESH;
}

/* Field access in the frame chunk at a variable frame offset. */
static __always_inline __u64 frame_u64(const __u8 *chunk, long at, __s16 field)
{
	__u64 o = (__u64)at + (__u64)field;

	if (field < 0 || o > PYEBPF_FRAME_CHUNK + PYEBPF_FRAME_WINDOW - 8)
		return 0;
	return *(const __u64 *)(chunk + o);
}

static __always_inline __s32 frame_s32(const __u8 *chunk, long at, __s16 field)
{
	__u64 o = (__u64)at + (__u64)field;

	if (field < 0 || o > PYEBPF_FRAME_CHUNK + PYEBPF_FRAME_WINDOW - 4)
		return 0;
	return *(const __s32 *)(chunk + o);
}

static __always_inline __u8 frame_u8(const __u8 *chunk, long at, __s16 field)
{
	__u64 o = (__u64)at + (__u64)field;

	if (field < 0 || o > PYEBPF_FRAME_CHUNK + PYEBPF_FRAME_WINDOW - 1)
		return 0;
	return chunk[o];
}

/* One frame: read it, emit it, move to its caller. 1 ends the walk. */
static __always_inline long frame_walk_step(struct frame_walk *w)
{
	const struct pyebpf_py_offsets *off = &w->proc->off;
	const __u8 *chunk = w->scratch->frames;
	__u64 frame = w->frame, code, previous;
	__u32 instr, check;
	long at;

	if (!frame)
		return 1;
	if (w->sample->n_frames >= w->limit) {
		w->sample->flags |= PYEBPF_SAMPLE_TRUNCATED;
		return 1;
	}
	at = load_frame(w, frame);
	if (at < 0 || at > PYEBPF_FRAME_CHUNK) {
		emit_frame(w, 0, PYEBPF_FRAME_ERR_READ_FRAME, 0);
		w->sample->flags |= PYEBPF_SAMPLE_READ_ERROR;
		return 1;
	}
	previous = frame_u64(chunk, at, off->frame_previous);
	if (previous == frame) {
		w->sample->flags |= PYEBPF_SAMPLE_CYCLE;
		previous = 0;
	}
	w->frame = previous;

	/* 3.12+: shim frames the interpreter pushes for C-stack entries */
	if (off->frame_owner >= 0 &&
	    frame_u8(chunk, at, off->frame_owner) >= off->frame_owner_shim_min)
		return 0;

	/* 3.14 tags f_executable's low bit; objects are 8-aligned anyway */
	code = frame_u64(chunk, at, off->frame_code) & ~7ull;
	if (!code)
		return 0;

	if (off->frame_instr_kind == PYEBPF_INSTR_LASTI) {
		instr = (__u32)frame_s32(chunk, at, off->frame_instr);
	} else {
		__u64 ip = frame_u64(chunk, at, off->frame_instr);

		instr = ip >= code && ip - code < (1ull << 31) ? (__u32)(ip - code) : ~0u;
	}

	check = code_check(w, code,
			   frame_u64(chunk, at, off->frame_funcobj) ^
				   (frame_u64(chunk, at, off->frame_globals) << 1));
	if (check == ~0u)
		return 0; /* not a code object: not a Python frame */
	emit_frame(w, code, instr, check);
	return 0;
}

static long frame_walk_loop_cb(__u32 i, void *arg)
{
	return frame_walk_step(arg);
}

/* Steps enough for max frames plus the shim frames skipped between them,
 * and one more so a stack of exactly `limit` frames is not truncated. */
#define FRAME_WALK_STEPS (PYEBPF_MAX_FRAMES * 2 + 1)

static __always_inline void walk_frames(struct frame_walk *w)
{
	/* bpf_loop, not an open-coded iterator: iterators save its indirect
	 * call per frame (~10% at 100 frames) but the verifier then walks the
	 * loop body many times: 2.5 s to load instead of 0.3 s */
	bpf_loop(FRAME_WALK_STEPS, frame_walk_loop_cb, w, 0);
}

/*
 * Whether the thread whose state is `tstate` holds the GIL, into the
 * sample's flags. One read when `locked` follows `last_holder` closely, as
 * in 3.7+'s struct _gil_runtime_state.
 */
static __always_inline void read_gil_state(const struct pyebpf_proc *proc,
					   struct pyebpf_sample *sample, __u64 tstate,
					   struct task_struct *task)
{
	__u64 holder = proc->gil_holder_addr, locked_at = proc->gil_locked_addr;
	__u64 win[2] = {};
	__s32 locked = 0;

	if (!holder || !locked_at)
		return;
	if (locked_at - holder == 8 || locked_at - holder == 12) {
		if (read_user(win, sizeof(win), holder, task))
			return;
		/* little-endian halves of the second word */
		locked = locked_at - holder == 8 ? (__s32)win[1] : (__s32)(win[1] >> 32);
	} else if (read_user(&win[0], 8, holder, task) ||
		   read_user(&locked, sizeof(locked), locked_at, task)) {
		return;
	}
	sample->flags |= PYEBPF_SAMPLE_GIL_KNOWN;
	/* -1: 3.6 creates its GIL with the second thread; until then the one
	 * thread runs Python unopposed, as if it held it */
	if ((locked > 0 && win[0] == tstate) || locked < 0)
		sample->flags |= PYEBPF_SAMPLE_HOLDS_GIL;
}

/*
 * Fill `sample` with `task`'s Python stack. Returns 0 when a sample should
 * be sent (possibly with NO_TSTATE or error flags).
 */
static __always_inline int read_python_stack(const struct pyebpf_proc *proc,
					     struct pyebpf_sample *sample, __u64 now,
					     struct task_struct *task)
{
	const struct pyebpf_py_offsets *off = &proc->off;
	__u32 zero = 0;
	struct walk_scratch *scratch = bpf_map_lookup_elem(&walk_scratch, &zero);
	__u64 tstate, frame;

	if (!scratch)
		return -1;

	tstate = find_thread_state(proc, scratch, now, task, sample->kind == PYEBPF_KIND_OFF_CPU);
	sample->tstate = tstate;
	if (!tstate) {
		sample->flags |= PYEBPF_SAMPLE_NO_TSTATE;
		return 0;
	}

	frame = tstate_frame(proc, scratch, task);

	__u64 stack_chunk = off->tstate_datastack_chunk >= 0
				    ? win_u64(scratch->tstate, off->tstate_datastack_chunk,
					      PYEBPF_TSTATE_WINDOW)
				    : 0;
	struct frame_walk w = {
		.proc = proc,
		.task = task,
		.stack_floor = stack_chunk ? stack_chunk + off->stack_chunk_data : 0,
		.scratch = scratch,
		.sample = sample,
		.frame = frame,
		.limit = max_frames < PYEBPF_MAX_FRAMES ? max_frames : PYEBPF_MAX_FRAMES,
		.now = now,
	};
	walk_frames(&w);
	if (w.frame && !(sample->flags & PYEBPF_SAMPLE_TRUNCATED) && sample->n_frames >= w.limit)
		sample->flags |= PYEBPF_SAMPLE_TRUNCATED;
	if (gil_state)
		read_gil_state(proc, sample, tstate, task);
	return 0;
}

#endif /* PYEBPF_PYTHON_STACK_BPF_H */
