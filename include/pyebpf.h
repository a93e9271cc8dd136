/* SPDX-License-Identifier: MIT */
/*
 * The contract between pyebpf's BPF programs and its userspace loader.
 *
 * Everything that crosses the kernel/user boundary is defined here, once:
 * the per-process configuration userspace writes into the `procs` map, and
 * the sample records the kernel sends through the ring buffer. Fixed-width
 * types, addresses as __u64, explicit padding; the user side checks sizes
 * with _Static_assert (user/contract_checks.c).
 *
 * This header is included both by BPF code (after vmlinux.h) and by user
 * code (after <linux/types.h>), so it must not include anything itself.
 */
#ifndef PYEBPF_H
#define PYEBPF_H

/* Hard cap on Python frames in one sample; the per-run limit (rodata
 * `max_frames`) may be lower. Deeper stacks keep their leaf-most frames and
 * are flagged PYEBPF_SAMPLE_TRUNCATED. Must be a power of two (used as a
 * verifier mask). */
#define PYEBPF_MAX_FRAMES 512
#define PYEBPF_DEFAULT_FRAMES 256

/* How many PyInterpreterStates and PyThreadStates the in-kernel thread
 * lookup visits before giving up (bounds the walk over hostile memory). */
#define PYEBPF_MAX_INTERPRETERS 8
#define PYEBPF_MAX_THREADS 1024

/* Windows read with one bpf_probe_read_user each. Every offset used inside
 * a window must be below its size minus the field's width; the loader
 * validates this (python_layout.c) before a process is registered. */
#define PYEBPF_TSTATE_WINDOW 512 /* from the start of PyThreadState */
#define PYEBPF_FRAME_WINDOW 128	 /* from the start of the frame */
#define PYEBPF_CODE_WINDOW 128	 /* from the start of PyCodeObject */
/* Bytes read at once below a frame when frames are known to be packed
 * together (3.11+ keep them on a per-thread data stack): one read then
 * covers the caller frames too. Power of two. */
#define PYEBPF_FRAME_CHUNK 4096

/* "no such field in this version" */
#define PYEBPF_NO_FIELD (-1)

/* Offsets into CPython's structures that the kernel side needs, for one
 * interpreter version. Each is a byte offset, or PYEBPF_NO_FIELD. */
struct pyebpf_py_offsets {
	/* PyInterpreterState */
	__s16 interp_next;
	__s16 interp_threads_head;
	/* PyThreadState */
	__s16 tstate_next;
	__s16 tstate_thread_id;	       /* pthread_t == task->thread.fsbase on x86-64 */
	__s16 tstate_native_thread_id; /* kernel tid, 3.11+ */
	__s16 tstate_frame;	       /* PyFrameObject *frame (<=3.10), current_frame (3.13+) */
	__s16 tstate_cframe;	       /* _PyCFrame *cframe (3.11, 3.12) */
	__s16 cframe_current_frame;    /* _PyCFrame.current_frame (3.11, 3.12) */
	__s16 tstate_datastack_chunk;  /* _PyStackChunk *datastack_chunk (3.11+): the
					  chunk holding the newest frames */
	__s16 stack_chunk_data;	       /* offsetof(_PyStackChunk, data) (3.11+) */
	/* PyFrameObject (<=3.10) or _PyInterpreterFrame (3.11+) */
	__s16 frame_previous;
	__s16 frame_code;    /* f_code / f_executable (tagged in 3.14: low bits masked) */
	__s16 frame_instr;   /* int f_lasti (<=3.10) or prev_instr / instr_ptr (3.11+) */
	__s16 frame_owner;   /* char owner (3.12+); frames owned by the C stack are skipped */
	__s16 frame_globals; /* f_globals: with frame_funcobj, tells a code object
				from another at the same address without reading it */
	__s16 frame_funcobj; /* f_func / f_funcobj (3.11+) */
	/* PyCodeObject: the fields the checksum covers */
	__s16 code_argcount;
	__s16 code_firstlineno;
	__s16 code_name;     /* co_name (PyObject *) */
	__s16 code_filename; /* co_filename (PyObject *) */
	/* PYEBPF_INSTR_* */
	__u8 frame_instr_kind;
	/* frames whose owner >= this are interpreter shims, not Python code
	 * (FRAME_OWNED_BY_CSTACK == 3 in 3.12/3.13; 3.14 renumbered to 3 and 4) */
	__u8 frame_owner_shim_min;
	__u8 pad[6];
};

enum pyebpf_instr_kind {
	PYEBPF_INSTR_LASTI = 0,	  /* frame_instr is an int f_lasti, sent as is */
	PYEBPF_INSTR_POINTER = 1, /* frame_instr is a pointer into the code object;
				     the kernel sends (pointer - code address) */
};

/* One traced process, written by userspace into the `procs` map keyed by
 * tgid (as the kernel sees it, i.e. in the initial pid namespace). */
struct pyebpf_proc {
	/* address of the PyInterpreterState * that heads the interpreter
	 * list: &_PyRuntime.interpreters.head (3.7+) or &interp_head (3.6) */
	__u64 interp_head_addr;
	/* &PyCode_Type, to reject frames whose code slot holds another
	 * object (3.13+ f_executable may be None); 0 skips the check */
	__u64 code_type_addr;
	struct pyebpf_py_offsets off;
	/* bytes to read for each window: the end of its last field used,
	 * computed by the loader so reads stay inside the objects */
	__u16 tstate_read_size;
	__u16 frame_read_size;
	__u16 code_read_size;
	__u16 flags; /* PYEBPF_PROC_* */
	/* The GIL, resolved by the loader to absolute addresses; 0 when
	 * unknown (no GIL state is then reported for this process). */
	__u64 gil_locked_addr; /* int: nonzero while some thread holds it */
	__u64 gil_holder_addr; /* PyThreadState *: the thread that took it last */
	/* Futex words of the GIL's mutexes and condition variables: a thread
	 * blocked in futex() on an address in [lo, hi) waits for the GIL.
	 * Unused ranges are [0, 0). */
	__u64 gil_wait_lo[2];
	__u64 gil_wait_hi[2];
};

/* struct pyebpf_proc flags */
#define PYEBPF_PROC_FRAMES_PACKED (1u << 0) /* read frames in PYEBPF_FRAME_CHUNKs */

/* One Python frame as sent by the kernel. Userspace symbolizes it. */
struct pyebpf_frame {
	__u64 code;  /* PyCodeObject address; 0 marks an error frame (see `instr`) */
	__u32 instr; /* PYEBPF_INSTR_LASTI: f_lasti; POINTER: byte offset of the
			instruction pointer from `code`; for error frames a
			PYEBPF_FRAME_ERR_* code */
	__u32 check; /* pyebpf_code_check() of the code object, 0 if unread,
			with PYEBPF_CHECK_FRESH set when the kernel read the
			code object for this very sample */
};

/* In pyebpf_frame.check: the kernel read the code object just now (first
 * sight, or another function/globals than last time): userspace should
 * read it again too rather than trust its cache. */
#define PYEBPF_CHECK_FRESH 1u

enum pyebpf_frame_error {
	PYEBPF_FRAME_ERR_READ_FRAME = 1, /* the frame itself was unreadable */
	PYEBPF_FRAME_ERR_BAD_CODE = 2,	 /* code slot is not a code object */
};

/* sample flags */
#define PYEBPF_SAMPLE_TRUNCATED (1u << 0)  /* more frames than max_frames */
#define PYEBPF_SAMPLE_NO_TSTATE (1u << 1)  /* thread has no Python thread state */
#define PYEBPF_SAMPLE_READ_ERROR (1u << 2) /* an error frame is in the stack */
#define PYEBPF_SAMPLE_CYCLE (1u << 3)	   /* frame chain loops back on itself */
#define PYEBPF_SAMPLE_NEW_CODE                                                      \
	(1u << 4)			  /* a code object the kernel had not seen  \
					     lately: userspace should read it soon, \
					     before it can be freed */
#define PYEBPF_SAMPLE_GIL_KNOWN (1u << 5) /* the GIL state below was read */
#define PYEBPF_SAMPLE_HOLDS_GIL (1u << 6) /* the thread held the GIL */
#define PYEBPF_SAMPLE_SINCE_START                        \
	(1u << 7) /* off-CPU: the thread was already off \
		     CPU when profiling began; the time  \
		     counts from then */
/* dump: the thread was running on a CPU or runnable (waiting for one) when
 * read, i.e. its scheduler state was TASK_RUNNING, what /proc shows as 'R'
 * and py-spy calls active. Without it the thread was idle: asleep, blocked
 * in the kernel (interruptible or not), or stopped. */
#define PYEBPF_SAMPLE_ACTIVE (1u << 8)

/* What a record measures. */
enum pyebpf_sample_kind {
	PYEBPF_KIND_CPU = 0,	 /* one cpu-clock sample: a sampling period on CPU */
	PYEBPF_KIND_OFF_CPU = 1, /* one interval off CPU, exactly timed */
	/* one thread's stack right now (pyebpf dump), read by the thread
	 * iterator from another task (bpf_copy_from_user_task) whether the
	 * thread sleeps or runs; a running thread's frames may change under
	 * the read, which the walker tolerates like any torn memory (the
	 * stack may then mix two moments, or end in an error frame). Flags:
	 * PYEBPF_SAMPLE_ACTIVE, and the GIL state. `time_ns` is when it was
	 * read; `cpu` the CPU the iterator ran on (not the thread's). Sent only
	 * for threads with a Python thread state. */
	PYEBPF_KIND_DUMP = 2,
	/* not a sample: a struct pyebpf_process_event (process life events,
	 * --subprocesses and --all), sent through the same ring buffer so it
	 * arrives in order with the samples around it */
	PYEBPF_KIND_PROCESS = 3,
};

/* Why a thread was off CPU, decided at switch-out (pyebpf_off_cpu_class). */
enum pyebpf_off_class {
	PYEBPF_OFF_NONE = 0,
	PYEBPF_OFF_IO,	     /* blocked voluntarily in a system call: I/O, sleep */
	PYEBPF_OFF_DISK,     /* uninterruptible: disk, page-in */
	PYEBPF_OFF_LOCK,     /* futex wait on something other than the GIL */
	PYEBPF_OFF_GIL,	     /* futex wait on the GIL's mutex or condition */
	PYEBPF_OFF_RUNQUEUE, /* runnable, waiting for a CPU */
	PYEBPF_OFF_STOPPED,  /* stopped by a signal or a tracer */
	PYEBPF_OFF__COUNT,
};

/* Kernel stack entries sent with a record (--kernel), after its frames. */
#define PYEBPF_MAX_KFRAMES 127

/* Record header sent through the ring buffer; `n_frames` Python frames
 * follow, leaf first, then `n_kframes` kernel return addresses (__u64),
 * leaf first. Only the used part is sent. */
struct pyebpf_sample {
	__u64 time_ns; /* bpf_ktime_get_ns(): when sampled, or when the
			  off-CPU interval began */
	__u64 tstate;  /* PyThreadState address, 0 if none */
	/* PYEBPF_KIND_OFF_CPU: nanoseconds off CPU for `off_class`, and of
	 * the time after that, nanoseconds woken but waiting for a CPU */
	__u64 off_ns;
	__u64 runq_ns;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 cpu;
	__s32 syscall; /* off-CPU: the system call blocked in, -1 none */
	__u16 n_frames;
	__u16 flags; /* PYEBPF_SAMPLE_* */
	__u16 n_kframes;
	__u8 kind;	/* PYEBPF_KIND_* */
	__u8 off_class; /* PYEBPF_OFF_* */
	struct pyebpf_frame frames[PYEBPF_MAX_FRAMES];
	/* room for the kernel stack when all frames are used */
	__u64 kframes_room[PYEBPF_MAX_KFRAMES + 1];
};

#define PYEBPF_SAMPLE_HEADER_SIZE __builtin_offsetof(struct pyebpf_sample, frames)

/* Bytes a record takes: header, frames, kernel addresses. */
static inline __u32 pyebpf_sample_size(__u32 n_frames, __u32 n_kframes)
{
	return PYEBPF_SAMPLE_HEADER_SIZE + n_frames * sizeof(struct pyebpf_frame) +
	       n_kframes * sizeof(__u64);
}

/* Scheduler task states (include/linux/sched.h), as sched_switch reports
 * them in prev_state. */
#define PYEBPF_TASK_INTERRUPTIBLE 0x0001
#define PYEBPF_TASK_UNINTERRUPTIBLE 0x0002
#define PYEBPF_TASK_STOPPED 0x0004
#define PYEBPF_TASK_TRACED 0x0008
#define PYEBPF_TASK_EXIT_MASK 0x0030 /* EXIT_DEAD | EXIT_ZOMBIE */
#define PYEBPF_TASK_DEAD 0x0080
#define PYEBPF_TASK_PARKED 0x0040
#define PYEBPF_TASK_RTLOCK_WAIT 0x1000
#define PYEBPF_TASK_SLEEP_MASK                                                           \
	(PYEBPF_TASK_INTERRUPTIBLE | PYEBPF_TASK_UNINTERRUPTIBLE | PYEBPF_TASK_STOPPED | \
	 PYEBPF_TASK_TRACED | PYEBPF_TASK_PARKED | PYEBPF_TASK_RTLOCK_WAIT)

/*
 * Why a thread leaving the CPU is off it, from what the scheduler and the
 * thread's registers say: its state, whether it was preempted, the system
 * call it is in (-1 for none) and that call's first argument (for futex(),
 * the address waited on). `gil_lo`/`gil_hi` are struct pyebpf_proc's GIL
 * futex ranges. Returns PYEBPF_OFF_NONE for an exiting thread, which will
 * not run again. Shared by the BPF side and the tests.
 */
static inline enum pyebpf_off_class pyebpf_off_cpu_class(__u32 state, int preempted, long syscall,
							 __u64 arg0, const __u64 *gil_lo,
							 const __u64 *gil_hi)
{
	if (state & (PYEBPF_TASK_DEAD | PYEBPF_TASK_EXIT_MASK))
		return PYEBPF_OFF_NONE;
	/* still runnable (no sleeping state bit): waits for a CPU */
	if (preempted || !(state & PYEBPF_TASK_SLEEP_MASK))
		return PYEBPF_OFF_RUNQUEUE;
	if (state & (PYEBPF_TASK_STOPPED | PYEBPF_TASK_TRACED))
		return PYEBPF_OFF_STOPPED;
	if (state & PYEBPF_TASK_RTLOCK_WAIT)
		return PYEBPF_OFF_LOCK;
	if (state & PYEBPF_TASK_UNINTERRUPTIBLE)
		return PYEBPF_OFF_DISK;
	/* x86-64 futex() and futex_wait(): the first argument is the futex
	 * word; futex_waitv() (449) waits on a vector: never the GIL */
	if (syscall == 202 || syscall == 455) {
		if ((arg0 >= gil_lo[0] && arg0 < gil_hi[0]) ||
		    (arg0 >= gil_lo[1] && arg0 < gil_hi[1]))
			return PYEBPF_OFF_GIL;
		return PYEBPF_OFF_LOCK;
	}
	if (syscall == 449)
		return PYEBPF_OFF_LOCK;
	return PYEBPF_OFF_IO;
}

/* What the thread iterator (thread_snapshot.bpf.c) does when run. */
enum pyebpf_snapshot_mode {
	PYEBPF_SNAPSHOT_OFF_CPU = 1, /* start timing threads already off CPU */
	PYEBPF_FLUSH_OFF_CPU = 2,    /* send the intervals still open */
	PYEBPF_SNAPSHOT_DUMP = 3,    /* send a PYEBPF_KIND_DUMP record for every
					thread of a registered process */
	PYEBPF_SPLIT_OFF_CPU = 4,    /* send the intervals still open up to now
					and go on timing them from now (the
					agent's upload interval boundaries) */
};

/* Counters the kernel keeps in the per-CPU `stats` array, indexed by this
 * enum; userspace sums over CPUs. */
enum pyebpf_stat {
	PYEBPF_STAT_SAMPLES = 0,  /* target samples taken */
	PYEBPF_STAT_LOST,	  /* ring buffer full, sample dropped */
	PYEBPF_STAT_NO_TSTATE,	  /* target thread without a Python thread state */
	PYEBPF_STAT_THREAD_WALKS, /* thread-cache misses that walked the thread list */
	PYEBPF_STAT_READ_ERRORS,  /* samples with an error frame */
	PYEBPF_STAT_TRUNCATED,	  /* samples cut at max_frames */
	PYEBPF_STAT_OFF_CPU,	  /* off-CPU intervals sent */
	PYEBPF_STAT_LOST_EVENTS,  /* process events dropped: ring buffer full */
	PYEBPF_STAT__COUNT,
};

/*
 * Process life events (--subprocesses, --all; bpf/process_events.bpf.h).
 *
 * The kernel follows processes by tgid in the `followed` map: the pids
 * userspace adds (roots) and, on fork, every child of a followed process;
 * with `follow_all` (rodata) every process counts as followed and the map
 * stays empty. Events go through the `samples` ring buffer, tagged by
 * `kind` == PYEBPF_KIND_PROCESS at the offset of pyebpf_sample.kind, so
 * each arrives after every sample taken before it and before every sample
 * taken after it. Each also updates the kernel's maps itself, so nothing
 * waits for userspace:
 *   FORK: a new process (not a thread) whose parent is followed: the child
 *         is followed; when the parent is registered in `procs` and the child
 *         has its own copy of the memory (not vfork), the child is registered
 *         with the parent's configuration (same image, same addresses) and
 *         the event is sent. Children of unregistered parents send nothing.
 *   EXEC: a followed or registered process (any with follow_all) exec()ed:
 *         its `procs` entry and its thread's cached thread state are deleted
 *         (the old offsets mean nothing in the new image) and the event is
 *         sent; userspace inspects the new image.
 *   EXIT: the last thread of a registered or followed process exited: its
 *         `procs` and `followed` entries are deleted and the event is sent;
 *         the pid can be reused only after this.
 */
enum pyebpf_process_event_type {
	PYEBPF_PROCESS_FORK = 1,
	PYEBPF_PROCESS_EXEC = 2,
	PYEBPF_PROCESS_EXIT = 3,
};

#define PYEBPF_COMM_LEN 16

/* Laid out as the head of struct pyebpf_sample up to `kind` (checked in
 * contract_checks.c), so a reader of the ring buffer tells the two apart
 * by `kind` alone. */
struct pyebpf_process_event {
	__u64 time_ns; /* bpf_ktime_get_ns() */
	__u64 reserved[3];
	__u32 pid;    /* the process (tgid) */
	__u32 parent; /* FORK: the parent's tgid; otherwise 0 */
	__u32 cpu;
	__u32 reserved2;
	__u16 n_frames;		    /* 0 */
	__u16 flags;		    /* 0 */
	__u16 n_kframes;	    /* 0 */
	__u8 kind;		    /* PYEBPF_KIND_PROCESS */
	__u8 type;		    /* PYEBPF_PROCESS_* */
	char comm[PYEBPF_COMM_LEN]; /* the task's comm after the event */
};

/* The checksum the kernel computes from a code object, so userspace can
 * tell a freed and reused code object from the one it has cached: its
 * argument count, first line, and the addresses of its name and file name
 * (module bodies all start at line 1 with no arguments; their names and
 * files tell them apart). Never 0 (0 means "not read"); bit 0 is left for
 * PYEBPF_CHECK_FRESH. */
static inline __u32 pyebpf_code_check(__s32 argcount, __s32 firstlineno, __u64 name, __u64 filename)
{
	__u64 h = (__u64)(__u32)firstlineno * 0x9e3779b97f4a7c15ull;

	h ^= ((__u64)(__u32)argcount + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
	h ^= name * 0x94d049bb133111ebull;
	h ^= (filename >> 3) * 0x2545f4914f6cdd1dull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return ((__u32)h | 2u) & ~PYEBPF_CHECK_FRESH;
}

#endif /* PYEBPF_H */
