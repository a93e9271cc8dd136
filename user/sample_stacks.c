// SPDX-License-Identifier: MIT
#include "sample_stacks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel_symbols.h"
#include "profile.h"
#include "syscall_names.h"
#include "time_split.h"

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

static int push(struct builder *b, const char *function, const char *file, int line)
{
	int err;

	if (b->n >= SAMPLE_STACKS_MAX_DEPTH)
		return 0;
	err = profile__intern_frame(b->p, function, file, line > 0 ? line : 0, &b->stack[b->n]);
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
		err = push(b, label, NULL, 0);
		if (err)
			return err;
	}
	return 0;
}

/* Frames from the root to the Python leaf; returns -errno. */
static int push_python(struct builder *b, const struct sample_stacks_opts *o,
		       const struct pyebpf_sample *s, frame_resolver resolve, void *ctx,
		       struct sample_stacks_result *res)
{
	char label[64];
	size_t first;
	int i, err;

	if (o->threads) {
		snprintf(label, sizeof(label), "[thread %u]", s->tid);
		err = push(b, label, NULL, 0);
		if (err)
			return err;
	}
	first = b->n;
	if (s->flags & PYEBPF_SAMPLE_TRUNCATED) {
		err = push(b, "[truncated]", NULL, 0);
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
		err = push(b, f.function, f.file, f.line);
		if (err)
			return err;
	}
	if (b->n == first || (b->n == first + 1 && (s->flags & PYEBPF_SAMPLE_TRUNCATED)))
		return push(b, "[no Python frames]", NULL, 0);
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
	return push(b, label, NULL, 0);
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
	int err;

	memset(res, 0, sizeof(*res));
	if (o->gil_only && !(s->flags & PYEBPF_SAMPLE_HOLDS_GIL))
		return 0;
	if (off ? o->mode == TIME_CPU : o->mode == TIME_OFF_CPU)
		return 0;

	err = push_python(&b, o, s, resolve, ctx, res);
	if (err)
		return err;
	if (!off) {
		if (kernel && (err = push_kernel(&b, o->kernel, s)))
			return err;
		weight = sample_stacks_weights_are_ns(o->mode) ? o->period_ns : 1;
		err = profile__add(p, b.stack, b.n, weight);
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
		    (err = profile__add(p, b.stack, b.n, s->off_ns)))
			return err;
		res->weight += s->off_ns;
	}
	if (s->runq_ns) {
		/* woken, then waiting for a CPU: same Python stack */
		b.n = python_end;
		if ((err = push_off_cpu(&b, PYEBPF_OFF_RUNQUEUE, -1)) ||
		    (err = profile__add(p, b.stack, b.n, s->runq_ns)))
			return err;
		res->weight += s->runq_ns;
	}
	res->added = res->weight > 0;
	return 0;
}
