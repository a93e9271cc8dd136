// SPDX-License-Identifier: MIT
#include "dump.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "messages.h"
#include "proc_info.h"
#include "process_cmdline.h"
#include "python_process.h"
#include "sampler.h"
#include "sample_stacks.h"
#include "source_files.h"
#include "symbolizer.h"
#include "system_checks.h"
#include "thread_names.h"

/* ---- writers ------------------------------------------------------------ */

static int thread_order(const void *a, const void *b)
{
	const struct dump_thread *x = a, *y = b;
	bool xm = x->tid == x->pid, ym = y->tid == y->pid;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (xm != ym)
		return xm ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void dump_sort_threads(struct dump_thread *threads, size_t n)
{
	if (n > 1)
		qsort(threads, n, sizeof(*threads), thread_order);
}

/* s with control characters as '?' (a name must not break a line) */
static void put_text(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

static void write_text_thread(const struct dump_thread *t, FILE *out)
{
	fprintf(out, "Thread %d (%s%s)", (int)t->tid, t->active ? "active" : "idle",
		t->owns_gil ? "+gil" : "");
	if (t->name) {
		fputs(": \"", out);
		put_text(out, t->name);
		fputc('"', out);
	}
	fputc('\n', out);
	for (size_t i = 0; i < t->n_frames; i++) {
		const struct dump_frame *f = &t->frames[i];

		fputs("    ", out);
		put_text(out, f->name);
		if (f->file) {
			fputs(" (", out);
			put_text(out, f->file);
			if (f->line > 0)
				fprintf(out, ":%d", f->line);
			fputc(')', out);
		}
		fputc('\n', out);
	}
}

int dump_write_text(const struct dump_process *procs, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct dump_process *p = &procs[i];

		if (i)
			fputc('\n', out);
		fprintf(out, "Process %d: ", (int)p->pid);
		put_text(out, p->command);
		fputs("\nPython v", out);
		put_text(out, p->version);
		fputs(" (", out);
		put_text(out, p->executable);
		fputs(")\n\n", out);
		for (size_t j = 0; j < p->n_threads; j++)
			write_text_thread(&p->threads[j], out);
	}
	return ferror(out) ? -EIO : 0;
}

static void write_json_thread(const struct dump_thread *t, FILE *out)
{
	fprintf(out, "  {\"pid\": %d, \"tid\": %d, \"thread_name\": ", (int)t->pid, (int)t->tid);
	if (t->name)
		json_writer__string(out, t->name);
	else
		fputs("null", out);
	fprintf(out, ", \"active\": %s, \"owns_gil\": %s, \"frames\": [",
		t->active ? "true" : "false", t->owns_gil ? "true" : "false");
	for (size_t i = 0; i < t->n_frames; i++) {
		const struct dump_frame *f = &t->frames[i];

		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		json_writer__string(out, f->name);
		fputs(", \"filename\": ", out);
		if (f->file)
			json_writer__string(out, f->file);
		else
			fputs("null", out);
		if (f->line > 0)
			fprintf(out, ", \"line\": %d}", f->line);
		else
			fputs(", \"line\": null}", out);
	}
	fputs(t->n_frames ? "\n  ]}" : "]}", out);
}

int dump_write_json(const struct dump_process *procs, size_t n, FILE *out)
{
	bool first = true;

	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < procs[i].n_threads; j++) {
			fputs(first ? "\n" : ",\n", out);
			write_json_thread(&procs[i].threads[j], out);
			first = false;
		}
	}
	fputs(first ? "]\n" : "\n]\n", out);
	return ferror(out) ? -EIO : 0;
}

/* ---- the process tree --------------------------------------------------- */

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* The live (not zombie) descendants of root now, in pid order, into a
 * malloc'ed array (NULL when none). 0 or -errno. */
static int list_descendants(pid_t root, pid_t **out, size_t *n_out)
{
	size_t n, kept = 0;
	pid_t *pids;
	int err;

	err = proc_info_descendants(root, &pids, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		pid_t ppid;
		char state;

		if (!proc_info_stat(pids[i], &ppid, &state) && state != 'Z' && state != 'X')
			pids[kept++] = pids[i];
	}
	if (kept)
		qsort(pids, kept, sizeof(*pids), pid_cmp);
	*out = pids;
	*n_out = kept;
	return 0;
}

/* ---- the run ------------------------------------------------------------ */

/* When the kernel sent nothing for a thread Python's threading module
 * knows, it is listed with this frame. */
#define NOT_READ_FRAME "[stack not read]"

struct target {
	struct python_process pp;
	char command[1024];
	struct symbolizer *sym;
	struct source_files *files;
	struct thread_names *names; /* NULL: names unreadable for this version */
	pid_t *known_tids;	    /* alive in threading before the dump */
	size_t n_known;
	struct dump_thread *threads;
	uint64_t *tstates; /* each thread's PyThreadState, 0 unknown */
	size_t n_threads, cap_threads;
};

struct dumper {
	const struct cli_options *opts;
	struct target *targets;
	size_t n_targets;
	int err; /* from the sample callback */
};

static void free_thread(struct dump_thread *t)
{
	for (size_t i = 0; i < t->n_frames; i++) {
		free((char *)t->frames[i].name);
		free((char *)t->frames[i].file);
	}
	free((struct dump_frame *)t->frames);
	free((char *)t->name);
}

static void target_free(struct target *t)
{
	for (size_t i = 0; i < t->n_threads; i++)
		free_thread(&t->threads[i]);
	free(t->threads);
	free(t->tstates);
	free(t->known_tids);
	thread_names__free(t->names);
	source_files__free(t->files);
	symbolizer__free(t->sym);
}

static struct target *find_target(struct dumper *d, pid_t pid)
{
	for (size_t i = 0; i < d->n_targets; i++)
		if (d->targets[i].pp.pid == pid)
			return &d->targets[i];
	return NULL;
}

/* Append a frame with copies of name and file; -ENOMEM. */
static int add_frame(struct dump_frame *frames, size_t *n, const char *name, const char *file,
		     int line)
{
	struct dump_frame *f = &frames[*n];

	f->name = strdup(name ? name : "?");
	f->file = file ? strdup(file) : NULL;
	f->line = line > 0 ? line : 0;
	if (!f->name || (file && !f->file)) {
		free((char *)f->name);
		free((char *)f->file);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* A new thread of t with room for max_frames frames, or NULL. */
static struct dump_thread *new_thread(struct target *t, pid_t tid, uint64_t tstate,
				      size_t max_frames)
{
	struct dump_thread *th;

	if (t->n_threads == t->cap_threads) {
		size_t c = t->cap_threads ? t->cap_threads * 2 : 16;
		struct dump_thread *a = realloc(t->threads, c * sizeof(*a));
		uint64_t *b;

		if (!a)
			return NULL;
		t->threads = a;
		b = realloc(t->tstates, c * sizeof(*b));
		if (!b)
			return NULL;
		t->tstates = b;
		t->cap_threads = c;
	}
	th = &t->threads[t->n_threads];
	memset(th, 0, sizeof(*th));
	th->pid = t->pp.pid;
	th->tid = tid;
	th->frames = calloc(max_frames ? max_frames : 1, sizeof(struct dump_frame));
	if (!th->frames)
		return NULL;
	t->tstates[t->n_threads++] = tstate;
	return th;
}

/* One record: symbolize its frames into a thread of its process. */
static int on_sample(const struct pyebpf_sample *s, void *ctx)
{
	struct dumper *d = ctx;
	struct target *t = find_target(d, (pid_t)s->pid);
	struct dump_frame *frames;
	struct dump_thread *th;
	size_t n = 0;
	int err = 0;

	if (s->kind != PYEBPF_KIND_DUMP || !t)
		return 0;
	/* the frames, one for [truncated] */
	th = new_thread(t, (pid_t)s->tid, s->tstate, s->n_frames + 1u);
	if (!th)
		return d->err = -ENOMEM;
	th->active = s->flags & PYEBPF_SAMPLE_ACTIVE;
	th->owns_gil = s->flags & PYEBPF_SAMPLE_HOLDS_GIL;
	frames = (struct dump_frame *)th->frames;
	for (unsigned int i = 0; i < s->n_frames && !err; i++) {
		struct resolved_frame f;
		int r = symbolizer__resolve(t->sym, &s->frames[i], &f), line;
		const char *file;

		if (r == SYMBOLIZER_SHIM)
			continue;
		if (r || !f.file) {
			err = add_frame(frames, &n, f.function, NULL, 0);
			continue;
		}
		sample_frame_shown(&f, sample_lines_from_cli(d->opts),
				   d->opts->full_filenames ? NULL : t->files, &file, &line);
		err = add_frame(frames, &n, f.function, file, line);
	}
	if (!err && (s->flags & PYEBPF_SAMPLE_TRUNCATED))
		err = add_frame(frames, &n, "[truncated]", NULL, 0);
	th->n_frames = n;
	return err ? (d->err = err) : 0;
}

/* The tids threading knew alive before the dump (to find threads the
 * kernel then sent nothing for). */
static void note_known_threads(struct target *t)
{
	size_t n;

	if (!t->names || thread_names__refresh(t->names))
		return;
	n = thread_names__count(t->names);
	t->known_tids = calloc(n ? n : 1, sizeof(*t->known_tids));
	if (!t->known_tids)
		return;
	for (size_t i = 0; i < n; i++) {
		struct thread_name_info info;

		if (!thread_names__get(t->names, i, &info) && info.alive && info.tid > 0)
			t->known_tids[t->n_known++] = info.tid;
	}
}

/* The scheduler state letter of thread tid of pid ('R', 'S', ...), or 0
 * when it is gone. */
static char task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[1024], state = 0;
	size_t len;
	pid_t ppid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if (proc_info_parse_stat(buf, &ppid, &state) || state == 'Z' || state == 'X')
		return 0;
	return state;
}

/* Names for the threads read; a "[stack not read]" thread for each one
 * threading knew before the dump and that still exists but that the
 * kernel sent nothing for (its thread state was not found: the in-kernel
 * walk gives up after PYEBPF_MAX_THREADS thread states). Its activity then
 * comes from /proc, by the same rule: 'R' is active. */
static int finish_target(struct target *t)
{
	if (!t->names)
		return 0;
	thread_names__refresh(t->names); /* new threads' names; on failure the known stay */
	for (size_t i = 0; i < t->n_known; i++) {
		pid_t tid = t->known_tids[i];
		bool seen = false;

		for (size_t j = 0; j < t->n_threads && !seen; j++)
			seen = t->threads[j].tid == tid;
		char state = seen ? 0 : task_state(t->pp.pid, tid);

		if (state) {
			struct dump_thread *th = new_thread(t, tid, 0, 1);
			size_t n = 0;

			if (!th ||
			    add_frame((struct dump_frame *)th->frames, &n, NOT_READ_FRAME, NULL, 0))
				return -ENOMEM;
			th->n_frames = n;
			th->active = state == 'R';
		}
	}
	for (size_t j = 0; j < t->n_threads; j++) {
		/* with the thread state: 3.6 and 3.7 name threads through it */
		const char *name = thread_names__lookup(t->names, t->threads[j].tid, t->tstates[j]);

		if (name && !(t->threads[j].name = strdup(name)))
			return -ENOMEM;
	}
	return 0;
}

/* The processes to dump: the pid, and its descendants with --subprocesses
 * (the non-Python ones and those gone meanwhile left out quietly). */
static int open_targets(struct dumper *d)
{
	const struct cli_options *o = d->opts;
	pid_t *pids = NULL;
	size_t n = 0;
	char why[512];
	int err;

	if (o->subprocesses) {
		err = list_descendants(o->pid, &pids, &n);
		if (err) {
			pyebpf_message("cannot list the processes: %s", strerror(-err));
			return err;
		}
	}
	d->targets = calloc(n + 1, sizeof(*d->targets));
	if (!d->targets) {
		free(pids);
		pyebpf_message("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i <= n; i++) {
		pid_t pid = i ? pids[i - 1] : o->pid;
		struct target *t = &d->targets[d->n_targets];

		err = python_process__inspect(pid, &t->pp, why, sizeof(why));
		if (err && !i) {
			pyebpf_message("cannot dump pid %d: %s", (int)pid, why);
			free(pids);
			return err;
		}
		if (err) {
			if (err != -ESRCH && err != -ENOEXEC)
				pyebpf_message("warning: pid %d left out: %s", (int)pid, why);
			continue;
		}
		if (process_cmdline(pid, t->command, sizeof(t->command)))
			snprintf(t->command, sizeof(t->command), "%.1000s", t->pp.executable);
		d->n_targets++;
	}
	free(pids);
	return 0;
}

static int start_target(struct target *t, struct sampler *s)
{
	struct pyebpf_proc proc;

	t->sym = symbolizer__new(t->pp.pid, &t->pp.layout, t->pp.code_type_addr);
	if (!t->sym)
		return -errno;
	t->files = source_files__new(t->pp.pid);
	if (!t->files)
		return -errno;
	/* NULL (ENOTSUP: the layout lacks what names need): tids alone */
	t->names = thread_names__new(&t->pp);
	note_known_threads(t);
	python_process__bpf_config(&t->pp, &proc);
	return sampler__add_process(s, (uint32_t)t->pp.pid, &proc);
}

static int write_output(const struct dumper *d, FILE *out)
{
	struct dump_process *procs = calloc(d->n_targets ? d->n_targets : 1, sizeof(*procs));
	int err;

	if (!procs)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_targets; i++) {
		struct target *t = &d->targets[i];

		dump_sort_threads(t->threads, t->n_threads);
		procs[i] = (struct dump_process){
			.pid = t->pp.pid,
			.command = t->command,
			.version = t->pp.version,
			.executable = t->pp.executable,
			.threads = t->threads,
			.n_threads = t->n_threads,
		};
	}
	err = d->opts->json ? dump_write_json(procs, d->n_targets, out)
			    : dump_write_text(procs, d->n_targets, out);
	free(procs);
	if (!err && fflush(out))
		err = -errno;
	return err;
}

int dump_run(const struct cli_options *opts)
{
	struct dumper d = {.opts = opts};
	struct sampler_opts so = {
		.max_frames = opts->max_frames && opts->max_frames <= PYEBPF_MAX_FRAMES
				      ? opts->max_frames
				      : PYEBPF_DEFAULT_FRAMES,
		.gil_state = true,
		.no_sampling = true,
		.on_sample = on_sample,
		.ctx = &d,
	};
	uint64_t stats[PYEBPF_STAT__COUNT] = {0};
	struct sampler *s = NULL;
	char why[512];
	int err, exit_code = 1;

	err = system_check(why, sizeof(why));
	if (err) {
		pyebpf_message("%s", why);
		return 1;
	}
	if (open_targets(&d))
		goto cleanup;
	so.max_processes = (unsigned int)d.n_targets;
	s = sampler__new(&so, why, sizeof(why));
	if (!s) {
		pyebpf_message("%s", why);
		goto cleanup;
	}
	for (size_t i = 0; i < d.n_targets; i++) {
		err = start_target(&d.targets[i], s);
		if (err) {
			pyebpf_message("cannot dump pid %d: %s", (int)d.targets[i].pp.pid,
				       strerror(-err));
			goto cleanup;
		}
	}
	err = sampler__dump(s);
	if (!err)
		err = sampler__consume(s);
	if (err < 0 || d.err) {
		pyebpf_message("cannot read the threads' stacks: %s",
			       strerror(d.err ? -d.err : -err));
		goto cleanup;
	}
	for (size_t i = 0; i < d.n_targets; i++) {
		err = finish_target(&d.targets[i]);
		if (err) {
			pyebpf_message("cannot name the threads: %s", strerror(-err));
			goto cleanup;
		}
	}
	err = write_output(&d, stdout);
	if (err) {
		pyebpf_message("cannot write the dump: %s", strerror(-err));
		goto cleanup;
	}
	if (!sampler__stats(s, stats) && stats[PYEBPF_STAT_LOST])
		pyebpf_message("warning: %llu threads left out: the ring buffer was full",
			       (unsigned long long)stats[PYEBPF_STAT_LOST]);
	exit_code = 0;

cleanup:
	sampler__free(s);
	for (size_t i = 0; i < d.n_targets; i++)
		target_free(&d.targets[i]);
	free(d.targets);
	return exit_code;
}
