// SPDX-License-Identifier: MIT
#include "python_process.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug_offsets.h"
#include "elf_file.h"
#include "proc_maps.h"
#include "remote_memory.h"

/* Oldest and newest minor versions with a known layout source. */
#define OLDEST_MINOR 6

static int fail(char *why, size_t why_size, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
	return err;
}

/* Open a file the target has mapped, through its root (containers) or,
 * for a deleted file, through map_files. */
static struct elf_file *open_mapped(pid_t pid, const struct proc_map *m)
{
	char path[4200];
	struct elf_file *ef;

	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	ef = elf_file__open(path);
	if (ef || !m->deleted)
		return ef;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	return elf_file__open(path);
}

/* Whether /proc/PID/stat says the process is a zombie (state Z). */
static bool is_zombie(pid_t pid)
{
	char path[64], buf[512], *p = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		p = strrchr(buf, ')'); /* the name in parentheses may hold anything */
	fclose(f);
	return p && p[1] == ' ' && p[2] == 'Z';
}

/* "libpython3.12.so.1.0" -> 3, 12; "python3.11" -> 3, 11. */
static bool version_from_name(const char *path, int *major, int *minor)
{
	const char *base = strrchr(path, '/');
	const char *p;

	base = base ? base + 1 : path;
	p = strstr(base, "python");
	if (!p)
		return false;
	return sscanf(p + 6, "%d.%d", major, minor) == 2;
}

static bool is_interpreter_binary(const struct elf_file *ef)
{
	uint64_t v, size;

	return !elf_file__symbol(ef, "_PyRuntime", &v, &size) ||
	       !elf_file__section(ef, ".PyRuntime", &v, &size) ||
	       !elf_file__symbol(ef, "interp_head", &v, &size) ||
	       !elf_file__symbol(ef, "Py_Initialize", &v, &size);
}

/* The full version: Py_Version (3.11+), else the PY_VERSION string. */
static void read_version(const struct elf_file *ef, int major, int minor, char *out,
			 size_t out_size)
{
	uint64_t addr, size;
	uint32_t hex;
	char prefix[16], found[256];
	int a, b, c;

	if (!elf_file__symbol(ef, "Py_Version", &addr, &size) &&
	    !elf_file__read_vaddr(ef, addr, &hex, sizeof(hex)) && (int)(hex >> 24) == major &&
	    (int)((hex >> 16) & 0xff) == minor) {
		snprintf(out, out_size, "%d.%d.%d", major, minor, (hex >> 8) & 0xff);
		return;
	}
	snprintf(prefix, sizeof(prefix), "%d.%d.", major, minor);
	if (!elf_file__find_string(ef, prefix, found, sizeof(found)) &&
	    sscanf(found, "%d.%d.%d", &a, &b, &c) == 3) {
		snprintf(out, out_size, "%d.%d.%d", a, b, c);
		return;
	}
	snprintf(out, out_size, "%d.%d", major, minor);
}

static bool is_libpython(const struct proc_map *m, const void *arg)
{
	const char *base = strrchr(m->path, '/');

	return base && !strncmp(base + 1, "libpython", 9) && strstr(base, ".so");
}

/* Address of `sym` (or of section `section` if given and the symbol is
 * missing) in the target. 0 or -errno. */
static int locate(const struct elf_file *ef, const struct proc_maps *maps, const struct proc_map *m,
		  const char *sym, const char *section, uint64_t *addr)
{
	uint64_t vaddr, size;

	if (elf_file__symbol(ef, sym, &vaddr, &size) &&
	    (!section || elf_file__section(ef, section, &vaddr, &size)))
		return -ENOENT;
	return elf_file__runtime_address(ef, maps, m, vaddr, addr);
}

/*
 * The debug offsets say where the GIL's flags are but not where the main
 * interpreter lives in _PyRuntime, which is what finds the GIL before the
 * interpreter has started (a launched program is inspected then). Where
 * DWARF measured this version (3.13) and agrees with the target, take it.
 */
static void use_measured_gil(struct py_layout *layout)
{
	const struct py_gil_layout *m = py_gil_layout_table_lookup(layout->major, layout->minor);
	const struct py_gil_layout *g = &layout->gil;

	if (m && m->interp_gil_ptr == g->interp_gil_ptr && m->last_holder == g->last_holder &&
	    m->locked == g->locked)
		layout->gil = *m;
}

static int load_layout(struct python_process *pp, int major, int minor, char *why, size_t why_size)
{
	const struct py_layout *table;
	const char *reason = NULL;
	uint8_t block[PY_DEBUG_OFFSETS_READ_SIZE];
	uint32_t hex = 0;
	int err;

	/* 3.13+ describe themselves; try that first for any version */
	if (pp->runtime_addr && !remote_read(pp->pid, pp->runtime_addr, block, sizeof(block))) {
		err = py_debug_offsets_parse(block, sizeof(block), &pp->layout, &hex, &reason);
		if (!err) {
			use_measured_gil(&pp->layout);
			return 0;
		}
		if (err != -ENOENT)
			return fail(why, why_size, err == -ENOTSUP ? -ENOTSUP : err,
				    "unsupported Python %s: %s", pp->version,
				    reason ? reason : strerror(-err));
	}
	table = py_layout_table_lookup(major, minor);
	if (!table)
		return fail(why, why_size, -ENOTSUP,
			    "unsupported Python version %s (pyebpf supports CPython 3.%d to 3.13, "
			    "and later versions that carry _Py_DebugOffsets)",
			    pp->version, OLDEST_MINOR);
	pp->layout = *table;
	return 0;
}

/* The wait range of one of 3.6's condition variables and its mutex,
 * static variables of ceval.c: both when they lie next to each other, else
 * the condition variable alone (where threads wait for the GIL). */
static void static_wait_range(const struct elf_file *ef, const struct proc_maps *maps,
			      const struct proc_map *m, const char *cond, const char *mutex,
			      uint64_t *lo, uint64_t *hi)
{
	uint64_t c, c_size, mu, mu_size, start, end, a, b;

	if (elf_file__symbol(ef, cond, &c, &c_size) || !c_size)
		return;
	start = c;
	end = c + c_size;
	if (!elf_file__symbol(ef, mutex, &mu, &mu_size) && mu_size) {
		uint64_t s = mu < c ? mu : c;
		uint64_t e = mu + mu_size > end ? mu + mu_size : end;

		/* alignment may pad them, but nothing else fits between */
		if (e - s <= c_size + mu_size + 64) {
			start = s;
			end = e;
		}
	}
	/* both ends in the same mapping of the same segment */
	if (elf_file__runtime_address(ef, maps, m, start, &a) ||
	    elf_file__runtime_address(ef, maps, m, end - 1, &b) || b - a != end - 1 - start)
		return;
	*lo = a;
	*hi = b + 1;
}

/* 3.6: static variables of ceval.c (ceval_gil.h), in .symtab only. */
static void find_static_gil(struct python_process *pp, const struct elf_file *ef,
			    const struct proc_maps *maps, const struct proc_map *m)
{
	struct python_gil *gil = &pp->gil;
	uint64_t size;

	if (elf_file__symbol(ef, "gil_locked", NULL, &size) || size != 4 ||
	    elf_file__symbol(ef, "gil_last_holder", NULL, &size) || size != 8 ||
	    locate(ef, maps, m, "gil_locked", NULL, &gil->locked_addr) ||
	    locate(ef, maps, m, "gil_last_holder", NULL, &gil->holder_addr)) {
		memset(gil, 0, sizeof(*gil));
		return;
	}
	static_wait_range(ef, maps, m, "gil_cond", "gil_mutex", &gil->wait_lo[0], &gil->wait_hi[0]);
	static_wait_range(ef, maps, m, "switch_cond", "switch_mutex", &gil->wait_lo[1],
			  &gil->wait_hi[1]);
}

/* The main interpreter (id 0, the first created: the end of the list),
 * or 0 when the interpreter has not started. */
static uint64_t main_interpreter(const struct python_process *pp)
{
	const struct py_layout *l = &pp->layout;
	uint64_t interp, last = 0, id;
	int i;

	if (remote_read_u64(pp->pid, pp->interp_head_addr, &interp))
		return 0;
	for (i = 0; interp && i < PYEBPF_MAX_INTERPRETERS; i++) {
		last = interp;
		if (l->interp_id >= 0 && !remote_read_u64(pp->pid, interp + l->interp_id, &id) &&
		    id == 0)
			return interp;
		if (remote_read_u64(pp->pid, interp + l->bpf.interp_next, &interp))
			break;
	}
	return last;
}

/* Where the GIL's flags and futexes are; pp->gil stays 0 if unknown. */
static void find_gil(struct python_process *pp, const struct elf_file *ef,
		     const struct proc_maps *maps, const struct proc_map *m)
{
	const struct py_gil_layout *g = &pp->layout.gil;
	uint64_t base = 0, interp, ptr;
	int locked;

	if (!pp->runtime_addr) {
		find_static_gil(pp, ef, maps, m);
		return;
	}
	if (g->size <= 0)
		return;
	if (g->runtime_gil >= 0)
		base = pp->runtime_addr + (uint64_t)g->runtime_gil;
	/* 3.12+: the pointer the running interpreter uses wins */
	if (g->interp_gil_ptr >= 0 && (interp = main_interpreter(pp)) &&
	    !remote_read_u64(pp->pid, interp + (uint64_t)g->interp_gil_ptr, &ptr) && ptr)
		base = ptr;
	/* an address that cannot be read is no GIL */
	if (!base || remote_read(pp->pid, base + (uint64_t)g->locked, &locked, sizeof(locked)))
		return;
	pp->gil.locked_addr = base + (uint64_t)g->locked;
	pp->gil.holder_addr = base + (uint64_t)g->last_holder;
	pp->gil.wait_lo[0] = base + (uint64_t)g->cond;
	pp->gil.wait_hi[0] = base + (uint64_t)g->size;
}

int python_process__inspect(pid_t pid, struct python_process *pp, char *why, size_t why_size)
{
	struct proc_maps *maps = NULL;
	const struct proc_map *m;
	struct elf_file *ef = NULL;
	char path[64];
	ssize_t n;
	int major = 0, minor = 0, err;
	const char *layout_why;
	uint64_t head;
	struct stat st;

	memset(pp, 0, sizeof(*pp));
	pp->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(path, &st))
		return fail(why, why_size, -ESRCH, "no such process");

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, pp->executable, sizeof(pp->executable) - 1);
	if (n < 0) {
		err = -errno;
		if (err == -EACCES || err == -EPERM)
			return fail(why, why_size, err, "cannot read /proc/%d: %s", (int)pid,
				    strerror(-err));
		if (stat(path, &st) && errno == ENOENT && kill(pid, 0) && errno == ESRCH)
			return fail(why, why_size, -ESRCH, "no such process");
		/* it exists but has no executable: exited and not yet reaped,
		 * or a kernel thread */
		if (is_zombie(pid))
			return fail(why, why_size, -ESRCH, "no such process (it has exited)");
		return fail(why, why_size, -ENOEXEC, "not a Python process (a kernel thread)");
	}
	pp->executable[n] = '\0';

	maps = proc_maps__read(pid);
	if (!maps) {
		err = -errno;
		return fail(why, why_size, err == -ENOENT ? -ESRCH : err,
			    "cannot read /proc/%d/maps: %s", (int)pid, strerror(-err));
	}

	/* A shared libpython holds the interpreter even when the executable
	 * has the symbols too; otherwise it is linked into the executable. */
	m = proc_maps__find(maps, NULL, is_libpython, NULL);
	if (!m) {
		const char *exe = pp->executable;
		size_t len = strlen(exe);

		if (len > 10 && !strcmp(exe + len - 10, " (deleted)"))
			len -= 10;
		for (size_t i = 0; i < proc_maps__count(maps); i++) {
			const struct proc_map *c = proc_maps__get(maps, i);

			if (!strncmp(c->path, exe, len) && c->path[len] == '\0') {
				m = c;
				break;
			}
		}
	}
	if (m)
		ef = open_mapped(pid, m);
	if (!m || !ef || !is_interpreter_binary(ef)) {
		err = fail(why, why_size, -ENOEXEC, "not a Python process (%s)", pp->executable);
		goto out;
	}
	snprintf(pp->binary, sizeof(pp->binary), "%s", m->path);

	if (!version_from_name(m->path, &major, &minor) &&
	    !version_from_name(pp->executable, &major, &minor)) {
		/* a renamed binary: the version string still says */
		major = 3;
		minor = 0;
	}
	read_version(ef, major, minor, pp->version, sizeof(pp->version));
	if (major != 3 || minor < OLDEST_MINOR) {
		err = fail(why, why_size, -ENOTSUP,
			   "unsupported Python version %s (pyebpf supports CPython 3.%d to 3.13, "
			   "and later versions that carry _Py_DebugOffsets)",
			   pp->version, OLDEST_MINOR);
		goto out;
	}

	if (locate(ef, maps, m, "_PyRuntime", ".PyRuntime", &pp->runtime_addr) &&
	    locate(ef, maps, m, "interp_head", NULL, &pp->interp_head_addr)) {
		err = fail(why, why_size, -ENOEXEC,
			   "cannot find _PyRuntime in %s (not a CPython interpreter?)", m->path);
		goto out;
	}
	if (locate(ef, maps, m, "PyCode_Type", NULL, &pp->code_type_addr))
		pp->code_type_addr = 0;

	err = load_layout(pp, major, minor, why, why_size);
	if (err)
		goto out;
	if (pp->layout.major != major || pp->layout.minor != minor) {
		/* debug offsets are the truth when the file name misled us */
		major = pp->layout.major;
		minor = pp->layout.minor;
		read_version(ef, major, minor, pp->version, sizeof(pp->version));
	}
	err = py_layout_validate(&pp->layout, &layout_why);
	if (err) {
		err = fail(why, why_size, -ENOTSUP, "unsupported Python %s: %s", pp->version,
			   layout_why);
		goto out;
	}
	if (pp->runtime_addr)
		pp->interp_head_addr = pp->runtime_addr + pp->layout.runtime_interpreters_head;

	/* Prove we can read the process before promising a profile. */
	err = remote_read_u64(pid, pp->interp_head_addr, &head);
	if (err) {
		err = fail(why, why_size, err == -ESRCH ? -ESRCH : err,
			   "cannot read the memory of pid %d: %s", (int)pid, strerror(-err));
		goto out;
	}
	find_gil(pp, ef, maps, m);
	err = 0;
out:
	elf_file__free(ef);
	proc_maps__free(maps);
	return err;
}

static unsigned int end_of(int off, unsigned int width, unsigned int cur)
{
	unsigned int end = off >= 0 ? (unsigned int)off + width : 0;

	return end > cur ? end : cur;
}

static __u16 round8(unsigned int n)
{
	return (__u16)((n + 7) & ~7u);
}

void python_process__bpf_config(const struct python_process *pp, struct pyebpf_proc *proc)
{
	const struct pyebpf_py_offsets *o = &pp->layout.bpf;
	unsigned int t = 0, f = 0, c = 16; /* ob_type ends at 16 */

	memset(proc, 0, sizeof(*proc));
	proc->interp_head_addr = pp->interp_head_addr;
	proc->code_type_addr = pp->code_type_addr;
	proc->off = *o;
	proc->gil_locked_addr = pp->gil.locked_addr;
	proc->gil_holder_addr = pp->gil.holder_addr;
	for (int i = 0; i < 2; i++) {
		proc->gil_wait_lo[i] = pp->gil.wait_lo[i];
		proc->gil_wait_hi[i] = pp->gil.wait_hi[i];
	}

	t = end_of(o->tstate_next, 8, t);
	t = end_of(o->tstate_thread_id, 8, t);
	t = end_of(o->tstate_frame, 8, t);
	t = end_of(o->tstate_cframe, 8, t);
	t = end_of(o->tstate_datastack_chunk, 8, t);
	f = end_of(o->frame_previous, 8, f);
	f = end_of(o->frame_code, 8, f);
	f = end_of(o->frame_instr, o->frame_instr_kind == PYEBPF_INSTR_LASTI ? 4 : 8, f);
	f = end_of(o->frame_owner, 1, f);
	f = end_of(o->frame_globals, 8, f);
	f = end_of(o->frame_funcobj, 8, f);
	c = end_of(o->code_argcount, 4, c);
	c = end_of(o->code_name, 8, c);
	c = end_of(o->code_filename, 8, c);
	c = end_of(o->code_firstlineno, 4, c);

	proc->tstate_read_size = round8(t);
	proc->frame_read_size = round8(f);
	proc->code_read_size = round8(c);
	/* 3.11+ keep a thread's frames packed on its data stack */
	if (o->frame_instr_kind == PYEBPF_INSTR_POINTER)
		proc->flags |= PYEBPF_PROC_FRAMES_PACKED;
}
