// SPDX-License-Identifier: MIT
#include "sample_stacks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel_symbols.h"
#include "profile.h"
#include "source_files.h"
#include "syscall_names.h"
#include "time_split.h"
#include "timeline.h"

bool sample_stacks_weights_are_ns(enum time_mode mode)
{
	return mode != TIME_CPU;
}

/* Frames of the tracing machinery itself (the BPF program, the tracepoint
 * that ran it) sit at the leaf of off-CPU kernel stacks: not the thread's. */
static bool is_tracing_frame(const char *name)
{
	static const char *const prefixes[] = {"bpf_",	       "__bpf_",	 "__traceiter_",
					       "__probestub_", "trace_call_bpf", "perf_trace_"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

struct builder {
	struct profile *p;
	uint32_t *stack;
	size_t n;
};

static int push(struct builder *b, enum profile_frame_kind kind, const char *function,
		const char *file, int line)
{
	int err;

	if (b->n >= SAMPLE_STACKS_MAX_DEPTH)
		return 0;
	err = profile__intern_frame(b->p, kind, function, file, line > 0 ? line : 0,
				    &b->stack[b->n]);
	if (!err)
		b->n++;
	return err;
}

static int push_kernel(struct builder *b, const struct kernel_symbols *ks,
		       const struct pyebpf_sample *s)
{
	const __u64 *ips = (const __u64 *)&s->frames[s->n_frames];
	const char *names[PYEBPF_MAX_KFRAMES];
	int n = s->n_kframes < PYEBPF_MAX_KFRAMES ? s->n_kframes : PYEBPF_MAX_KFRAMES;
	int leaf = 0, i, err;
	char label[256];

	for (i = 0; i < n; i++)
		names[i] = kernel_symbols__name(ks, ips[i], NULL);
	/* leaf first: skip the tracing frames, then add entry to leaf; JITed
	 * BPF code may have no symbol (bpf_jit_kallsyms off) */
	while (leaf < n && (names[leaf] ? is_tracing_frame(names[leaf]) : leaf + 1 < n))
		leaf++;
	for (i = n - 1; i >= leaf; i--) {
		const char *name = names[i];

		if (name)
			snprintf(label, sizeof(label), "%s_[k]", name);
		else
			snprintf(label, sizeof(label), "0x%llx_[k]", (unsigned long long)ips[i]);
		err = push(b, PROFILE_FRAME_KERNEL, label, NULL, 0);
		if (err)
			return err;
	}
	return 0;
}

enum sample_lines sample_lines_from_cli(const struct cli_options *cli)
{
	return cli->no_line_numbers  ? SAMPLE_LINES_NONE
	       : cli->function_lines ? SAMPLE_LINES_FUNCTION
				     : SAMPLE_LINES_CURRENT;
}

void sample_frame_shown(const struct resolved_frame *f, enum sample_lines lines,
			struct source_files *files, const char **file, int *line)
{
	*file = files ? source_files__short_name(files, f->file) : f->file;
	*line = lines == SAMPLE_LINES_FUNCTION ? f->first_line
		: lines == SAMPLE_LINES_NONE   ? 0
					       : f->line;
}

/* A resolved Python frame, as the options want it shown. */
static int push_resolved(struct builder *b, const struct sample_stacks_opts *o,
			 const struct resolved_frame *f)
{
	const char *file;
	int line;

	if (!f->file)
		return push(b, PROFILE_FRAME_SYNTHETIC, f->function, NULL, 0);
	sample_frame_shown(f, o->lines, o->files, &file, &line);
	return push(b, source_file_kind(f->file), f->function, file, line);
}

/* Frames from the root to the Python leaf; returns -errno. */
static int push_python(struct builder *b, const struct sample_stacks_opts *o,
		       const struct pyebpf_sample *s, frame_resolver resolve, void *ctx,
		       struct sample_stacks_result *res)
{
	size_t first = b->n;
	int i, err;

	if (s->flags & PYEBPF_SAMPLE_TRUNCATED) {
		err = push(b, PROFILE_FRAME_SYNTHETIC, "[truncated]", NULL, 0);
		if (err)
			return err;
	}
	/* the kernel sends leaf first */
	for (i = s->n_frames - 1; i >= 0; i--) {
		struct resolved_frame f;

		err = resolve(&s->frames[i], &f, ctx);
		if (err == SYMBOLIZER_SHIM)
			continue;
		if (err)
			res->had_errors = true;
		err = push_resolved(b, o, &f);
		if (err)
			return err;
	}
	if (b->n == first || (b->n == first + 1 && (s->flags & PYEBPF_SAMPLE_TRUNCATED)))
		return push(b, PROFILE_FRAME_SYNTHETIC, "[no Python frames]", NULL, 0);
	return 0;
}

static int push_off_cpu(struct builder *b, enum pyebpf_off_class c, long syscall)
{
	const char *name = syscall >= 0 ? syscall_name(syscall) : NULL;
	char label[96];

	if (c == PYEBPF_OFF_GIL || c == PYEBPF_OFF_RUNQUEUE || syscall < 0)
		snprintf(label, sizeof(label), "[off-cpu:%s]", time_class_tag(c));
	else if (name)
		snprintf(label, sizeof(label), "[off-cpu:%s] %s", time_class_tag(c), name);
	else
		snprintf(label, sizeof(label), "[off-cpu:%s] syscall_%ld", time_class_tag(c),
			 syscall);
	return push(b, PROFILE_FRAME_OFF_CPU, label, NULL, 0);
}

/* One stack into the profile, and the timeline when there is one. */
static int add_stack(struct builder *b, const struct sample_stacks_opts *o, uint32_t thread,
		     uint64_t start_ns, uint64_t weight, uint64_t duration_ns)
{
	uint32_t id;
	int err = profile__add(b->p, thread, b->stack, b->n, weight, &id);

	if (!err && o->timeline && weight)
		err = timeline__add(o->timeline, id, start_ns, duration_ns);
	return err;
}

int sample_stacks_add(struct profile *p, const struct sample_stacks_opts *o,
		      const struct pyebpf_sample *s, frame_resolver resolve, void *ctx,
		      uint32_t *stack, struct sample_stacks_result *res)
{
	struct builder b = {.p = p, .stack = stack};
	bool off = s->kind == PYEBPF_KIND_OFF_CPU;
	bool kernel = o->kernel && s->n_kframes;
	uint64_t weight;
	size_t python_end;
	uint32_t thread;
	int err;

	memset(res, 0, sizeof(*res));
	if (o->gil_only && !(s->flags & PYEBPF_SAMPLE_HOLDS_GIL))
		return 0;
	if (off ? o->mode == TIME_CPU : o->mode == TIME_OFF_CPU)
		return 0;
	err = o->in_process ? profile__intern_process_thread(p, o->process, (pid_t)s->tid, &thread)
			    : profile__intern_thread(p, (pid_t)s->pid, (pid_t)s->tid, &thread);
	if (err)
		return err;
	res->thread = thread;

	err = push_python(&b, o, s, resolve, ctx, res);
	if (err)
		return err;
	if (!off) {
		if (kernel && (err = push_kernel(&b, o->kernel, s)))
			return err;
		weight = sample_stacks_weights_are_ns(o->mode) ? o->period_ns : 1;
		err = add_stack(&b, o, thread, s->time_ns, weight, o->period_ns);
		if (!err) {
			res->added = weight > 0;
			res->weight = weight;
		}
		return err;
	}

	python_end = b.n;
	if (s->off_ns) {
		if ((err = push_off_cpu(&b, s->off_class, s->syscall)) ||
		    (kernel && (err = push_kernel(&b, o->kernel, s))) ||
		    (err = add_stack(&b, o, thread, s->time_ns, s->off_ns, s->off_ns)))
			return err;
		res->weight += s->off_ns;
	}
	if (s->runq_ns) {
		/* woken, then waiting for a CPU: same Python stack */
		b.n = python_end;
		if ((err = push_off_cpu(&b, PYEBPF_OFF_RUNQUEUE, -1)) ||
		    (err = add_stack(&b, o, thread, s->time_ns + s->off_ns, s->runq_ns,
				     s->runq_ns)))
			return err;
		res->weight += s->runq_ns;
	}
	res->added = res->weight > 0;
	return 0;
}
