/* SPDX-License-Identifier: MIT */
/*
 * The profile: weighted call stacks over interned frames.
 *
 * The symbolizer turns each sampled Python frame into a (function, file,
 * line) triple and interns it, getting a small dense id. A sample is then a
 * stack of ids, root first, added with a weight (a sample count, or
 * nanoseconds for off-CPU time). Identical stacks are merged and their
 * weights summed, so memory grows with the number of distinct frames and
 * stacks, not with the number of samples; both lookups are hash tables.
 *
 * Frames are interned in two levels: the function identity (kind, function,
 * file), which the summary aggregates on, and the frame (function identity,
 * line). Each stack belongs to a thread (pid, tid, and the Python thread
 * name once known), so writers can split or label by thread; writers that
 * do not show threads merge stacks that differ only in their thread.
 *
 * Writers read a profile through profile__frame(), profile__thread() and
 * profile__foreach(). The profile is not thread-safe.
 */
#ifndef PYEBPF_PROFILE_H
#define PYEBPF_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct profile;

/* What a frame stands for. Part of a frame's identity, and what renderers
 * colour by; set by whoever builds the stack (sample_stacks.c), never
 * guessed from the text. */
enum profile_frame_kind {
	PROFILE_FRAME_PYTHON = 0, /* Python code of the application */
	PROFILE_FRAME_STDLIB,	  /* Python code of the standard library */
	PROFILE_FRAME_LIBRARY,	  /* Python code of an installed package
				     (site-packages, dist-packages) */
	PROFILE_FRAME_NATIVE,	  /* native (C) code of the process */
	PROFILE_FRAME_KERNEL,	  /* a kernel function, "name_[k]" */
	PROFILE_FRAME_OFF_CPU,	  /* "[off-cpu:CLASS] SYSCALL": why the thread
				     was off the CPU; the stack is off-CPU time */
	PROFILE_FRAME_SYNTHETIC,  /* "[truncated]", "[no Python frames]",
				     "[unreadable frame]", "[profile full]",
				     ... */
};
#define PROFILE_FRAME_KINDS (PROFILE_FRAME_SYNTHETIC + 1)

/* "python", "stdlib", "library", "native", "kernel", "off-cpu",
 * "synthetic"; "?" for an unknown kind. */
const char *profile_frame_kind_name(enum profile_frame_kind kind);

/* One interned frame. Every string is owned by the profile and lives until
 * profile__free(); the struct itself never moves. */
struct profile_frame {
	enum profile_frame_kind kind;
	const char *function; /* as given; never NULL */
	const char *file;     /* as given; NULL for synthetic frames */
	int line;	      /* > 0, or 0 for "no line" */
	uint32_t function_id; /* dense id of (kind, function, file), see
				 profile__function_count() */
	/*
	 * The frame as folded output writes it:
	 *   "function (file:line)", "function (file)" without a line, or
	 *   "function" without a file (the line is then not shown).
	 * Sanitized so it cannot break a folded line:
	 *   - ';' becomes ':'
	 *   - control characters (< 0x20, 0x7f; newlines, tabs) become '?'
	 *   - an empty function name is written as '?'
	 *   - a trailing " <digits>" (possible only without a file) has its
	 *     space written as '_', since flamegraph.pl and inferno would read
	 *     those digits as a second, differential count column.
	 * Bytes >= 0x80 (UTF-8) are kept. Distinct frames may share a label.
	 */
	const char *label;
};

/* profile_thread.process of a thread that belongs to no process entry
 * (profile__intern_thread()). */
#define PROFILE_NO_PROCESS UINT32_MAX

/* A thread that stacks belong to. */
struct profile_thread {
	pid_t pid;
	pid_t tid;
	uint32_t process;  /* its process (profile__process()), or
			      PROFILE_NO_PROCESS */
	const char *name;  /* Python's thread name (threading.Thread.name), or
			      NULL while unknown; owned by the profile */
	const char *label; /* its root frame in a stack's text, as
			      profile_thread_label() writes it; follows the
			      name; owned by the profile */
};

/* profile__add() without a thread: the stack belongs to no thread. */
#define PROFILE_NO_THREAD UINT32_MAX

/* One distinct stack, as profile__foreach() and profile__stack() give it. */
struct profile_stack {
	uint32_t id;		/* dense, in order of first appearance */
	uint32_t thread;	/* a thread id, or PROFILE_NO_THREAD */
	const uint32_t *frames; /* frame ids, root first; owned by the profile */
	size_t n;		/* >= 1 */
	uint64_t weight;	/* summed weight, >= 1 */
	uint64_t count;		/* how many profile__add() calls made it */
};

/*
 * An empty profile. Returns NULL with errno = ENOMEM on failure.
 * Free with profile__free().
 */
struct profile *profile__new(void);

/* Frees the profile and everything it owns, including every string handed
 * out by profile__frame() and profile__thread(). Accepts NULL. */
void profile__free(struct profile *p);

/*
 * Interns the frame (kind, function, file, line) and stores its id in *id.
 * The same tuple always gets the same id; ids are dense, from 0 upwards in
 * order of first appearance. The strings are copied.
 *
 * `file` may be NULL (synthetic frames such as "[truncated]"); an empty
 * `file` is the same as NULL. A `line` <= 0 means "no line" and is stored
 * as 0, so all such lines intern to one frame.
 *
 * Returns 0, -EINVAL if p, function or id is NULL or kind is unknown,
 * -ENOMEM, or -EOVERFLOW when 2^32 - 1 frames exist. On error the profile
 * is unchanged.
 */
int profile__intern_frame(struct profile *p, enum profile_frame_kind kind, const char *function,
			  const char *file, int line, uint32_t *id);

/* The frame with this id, or NULL (errno = EINVAL) for an unknown id. The
 * returned frame is owned by the profile and valid until profile__free(). */
const struct profile_frame *profile__frame(const struct profile *p, uint32_t id);

/* How many distinct frames, and distinct (kind, function, file)
 * identities, have been interned. Frame ids are < profile__frame_count();
 * function ids are < profile__function_count(). */
size_t profile__frame_count(const struct profile *p);
size_t profile__function_count(const struct profile *p);

/*
 * Interns the thread (pid, tid) and stores its id in *id; dense ids from 0
 * in order of first appearance. Returns 0, -EINVAL, -ENOMEM or -EOVERFLOW.
 */
int profile__intern_thread(struct profile *p, pid_t pid, pid_t tid, uint32_t *id);

/* Names thread `id` (a copy of `name` replaces any earlier one; NULL
 * forgets it). Returns 0, -EINVAL for an unknown id, or -ENOMEM (the old
 * name is then kept). */
int profile__set_thread_name(struct profile *p, uint32_t id, const char *name);

/* The thread with this id, or NULL (errno = EINVAL). Owned by the profile;
 * its name pointer changes with profile__set_thread_name(). */
const struct profile_thread *profile__thread(const struct profile *p, uint32_t id);
size_t profile__thread_count(const struct profile *p);

/*
 * Processes, for profiles of many (--subprocesses, --all). A process entry
 * is one process instance: the same pid after an exec(), or reused by
 * another process, gets an entry of its own, so their threads (and stacks)
 * stay apart even where pid and tid are equal.
 */
struct profile_process {
	pid_t pid;	     /* as the host numbers it */
	pid_t ns_pid;	     /* in its own pid namespace; == pid outside one */
	const char *command; /* its command line, "" if unknown; owned */
	const char *label;   /* its root frame, profile_process_label(); owned */
};

/*
 * Adds a process entry (always a new one; ids dense from 0) and stores its
 * id in *id. `command` is copied (NULL is ""). Returns 0, -EINVAL, -ENOMEM
 * or -EOVERFLOW.
 */
int profile__add_process(struct profile *p, pid_t pid, pid_t ns_pid, const char *command,
			 uint32_t *id);

/* The process with this id, or NULL (errno = EINVAL). Owned by the
 * profile, valid until profile__free(). */
const struct profile_process *profile__process(const struct profile *p, uint32_t id);
size_t profile__process_count(const struct profile *p);

/*
 * Interns thread `tid` of process entry `process` (its pid is the
 * process's) and stores its id in *id: the same (process, tid) always gets
 * the same thread id, which differs from any profile__intern_thread() one.
 * Returns 0, -EINVAL (unknown process), -ENOMEM or -EOVERFLOW.
 */
int profile__intern_process_thread(struct profile *p, uint32_t process, pid_t tid, uint32_t *id);

/*
 * Writes the root frame that stands for a process in a stack's text:
 *   process PID:"COMMAND"
 *   process PID (ns pid NSPID):"COMMAND"   in another pid namespace
 * (ns_pid <= 0 or == pid counts as the same namespace), the command cut
 * to 120 bytes on a UTF-8 boundary with "..." added, sanitized like a
 * frame label. Returns buf.
 */
char *profile_process_label(pid_t pid, pid_t ns_pid, const char *command, char *buf, size_t size);
#define PROFILE_PROCESS_LABEL_MAX 192

/*
 * Writes the root frame that stands for a thread in a stack's text,
 * [thread TID "NAME"], or [thread TID] while the name is unknown, to
 * buf (truncated to size, always terminated), sanitized like a frame label.
 * Returns buf.
 */
char *profile_thread_label(const struct profile_thread *t, char *buf, size_t size);
#define PROFILE_THREAD_LABEL_MAX 160

/*
 * Adds `weight` to the stack frames[0..n-1] of `thread` (an id from
 * profile__intern_thread(), or PROFILE_NO_THREAD), given root first; frame
 * ids come from profile__intern_frame(). The ids are copied. A weight of 0
 * is accepted and records nothing. The stack's id goes to *stack_id unless
 * that is NULL (it is left alone for a weight of 0).
 *
 * Returns 0, -EINVAL if p or frames is NULL, n is 0 or > UINT32_MAX, or an
 * id is unknown, -ENOMEM, or -EOVERFLOW if the profile's total weight would
 * exceed UINT64_MAX or it already holds 2^32 - 1 distinct stacks. On error
 * the profile is unchanged.
 */
int profile__add(struct profile *p, uint32_t thread, const uint32_t *frames, size_t n,
		 uint64_t weight, uint32_t *stack_id);

/*
 * Bounds what the profile may hold, so its memory stays bounded however many
 * distinct frames and stacks the targets produce: at most max_stacks
 * distinct stacks and max_frames distinct frames (0: no bound; the default).
 *
 * Once max_frames frames exist, interning a new frame gives the synthetic
 * frame PROFILE_FULL_FRAME ("[profile full]", PROFILE_FRAME_SYNTHETIC, no
 * file) instead; frames already interned keep their ids. Once max_stacks
 * stacks exist, profile__add() of a stack that would be new adds its weight
 * to the one-frame stack [profile full] of the same thread instead (its id
 * goes to *stack_id), so weights and counts are never lost and
 * profile__total() stays exact. The overflow frame and its stacks (one per
 * thread) do not count against the bounds: a bounded profile holds at most
 * max_frames + 1 frames and max_stacks + (threads + 1) stacks.
 *
 * Bounds apply to what is added after the call; lowering them below what the
 * profile already holds drops nothing. Without bounds the profile behaves
 * exactly as if this were never called. Returns 0, or -EINVAL if p is NULL.
 */
int profile__set_limits(struct profile *p, size_t max_stacks, size_t max_frames);
#define PROFILE_FULL_FRAME "[profile full]"

/* How many profile__add() calls had their stack replaced by a
 * "[profile full]" stack because max_stacks was reached. */
uint64_t profile__overflowed(const struct profile *p);

/* Sum of all weights added. */
uint64_t profile__total(const struct profile *p);

/* Number of distinct stacks (with a nonzero weight); stack ids are below. */
size_t profile__stack_count(const struct profile *p);

/* Stack `id` into *out (its frames valid until the next profile__add() or
 * profile__free()). Returns 0 or -EINVAL. */
int profile__stack(const struct profile *p, uint32_t id, struct profile_stack *out);

/* The root-most PROFILE_FRAME_OFF_CPU frame of stack s (it says why the
 * thread was off the CPU), or NULL for an on-CPU stack. */
const struct profile_frame *profile_stack_off_cpu_frame(const struct profile *p,
							const struct profile_stack *s);

/*
 * Calls cb once per distinct stack, in order of first appearance (by id).
 * The stack and its frames are owned by the profile and valid until the
 * next profile__add() or profile__free(); cb must not modify the profile.
 *
 * Stops at the first nonzero value cb returns and returns it; otherwise
 * returns 0. Returns -EINVAL if p or cb is NULL.
 */
int profile__foreach(const struct profile *p, int (*cb)(const struct profile_stack *s, void *ctx),
		     void *ctx);

#endif /* PYEBPF_PROFILE_H */
