// SPDX-License-Identifier: MIT
#include "kernel_symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KALLSYMS_PATH "/proc/kallsyms"
#define KSYM_NAME_LEN 512 /* the kernel's limit since 6.1, NUL included */
#define INPUT_MAX (256u << 20)
#define LINES_MAX (1u << 24)
#define MODULES_MAX UINT16_MAX

/*
 * One line of the input, while loading. `order` sorts the symbols of one
 * address best first: rank << 40 | line << 8 | flags, so equal ranks keep
 * the file's order.
 */
struct raw_sym {
	uint64_t addr;
	uint64_t order;
	uint32_t name; /* offset in the input */
	uint16_t name_len;
	uint16_t module; /* 0: vmlinux, else 1 + index in the module list */
};

#define RAW_TEXT 1u
#define RAW_END 2u	   /* a text section's end marker: no extent */
#define RAW_WEAK (1u << 5) /* rank bits, the kernel's order for aliases */
#define RAW_LINKER (1u << 4)

/* A kept symbol: 16 bytes, sorted by start for the binary search. */
struct ksym {
	uint64_t start;
	uint32_t size; /* at most KERNEL_SYMBOL_SIZE_MAX */
	uint32_t name; /* offset in the pool */
};

struct kernel_symbols {
	struct ksym *syms;
	uint16_t *module; /* per symbol, as in struct raw_sym */
	size_t count;
	uint32_t *module_name; /* pool offsets, [0] unused */
	char *pool;
};

struct module_ref {
	uint32_t off;
	uint16_t len;
};

struct parser {
	const char *buf;
	struct raw_sym *syms;
	size_t count, cap;
	struct module_ref *mods; /* [0] is vmlinux's, unused */
	size_t nmods, mods_cap;
	uint16_t last_mod;
};

static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/* scripts/kallsyms.c's may_be_linker_script_provide_symbol() */
static bool linker_script_symbol(const char *s, size_t len)
{
	if (len < 8 || !has_prefix(s, len, "__"))
		return false;
	return has_prefix(s, len, "__start_") || has_prefix(s, len, "__stop_") ||
	       has_prefix(s, len, "__end_") || has_suffix(s, len, "_start") ||
	       has_suffix(s, len, "_end");
}

static bool text_end_marker(const char *s, size_t len)
{
	return (len == 6 && !memcmp(s, "_etext", 6)) ||
	       (len == 10 && !memcmp(s, "_einittext", 10)) ||
	       (has_prefix(s, len, "__") && has_suffix(s, len, "_text_end"));
}

/* The module list index of "[name]", added on first sight. */
static int module_index(struct parser *p, const char *name, size_t len, uint16_t *out)
{
	struct module_ref *m;

	/* a module's lines are consecutive: try the last one first */
	m = &p->mods[p->last_mod];
	if (p->last_mod && m->len == len && !memcmp(p->buf + m->off, name, len)) {
		*out = p->last_mod;
		return 0;
	}
	for (size_t i = 1; i < p->nmods; i++) {
		m = &p->mods[i];
		if (m->len == len && !memcmp(p->buf + m->off, name, len)) {
			*out = p->last_mod = i;
			return 0;
		}
	}
	if (p->nmods > MODULES_MAX)
		return -EFBIG;
	if (p->nmods == p->mods_cap) {
		size_t cap = p->mods_cap ? 2 * p->mods_cap : 64;
		void *n = realloc(p->mods, cap * sizeof(*p->mods));

		if (!n)
			return -ENOMEM;
		p->mods = n;
		p->mods_cap = cap;
	}
	p->mods[p->nmods] = (struct module_ref){.off = name - p->buf, .len = len};
	*out = p->last_mod = p->nmods++;
	return 0;
}

/*
 * Parse one "ADDR TYPE NAME[\t[MODULE]]" line of [s, end) (no newline) into
 * a new entry. -EINVAL for anything else.
 */
static int parse_line(struct parser *p, const char *s, const char *end, uint32_t line)
{
	const char *name, *mod;
	struct raw_sym *r;
	uint64_t addr = 0;
	uint32_t rank = 0;
	size_t name_len, under;
	uint16_t module = 0;
	int digits = 0, v, err;
	char type;

	for (; s < end && (v = hex_digit(*s)) >= 0; s++) {
		if (++digits > 16)
			return -EINVAL;
		addr = addr << 4 | v;
	}
	if (!digits || end - s < 3 || s[0] != ' ' || s[1] <= ' ' || s[1] > '~' || s[2] != ' ')
		return -EINVAL;
	type = s[1];
	name = s += 3;
	for (; s<end && * s> ' ' && *s <= '~'; s++)
		;
	name_len = s - name;
	if (!name_len || name_len >= KSYM_NAME_LEN)
		return -EINVAL;
	if (s < end) {
		if (end - s < 4 || s[0] != '\t' || s[1] != '[' || end[-1] != ']')
			return -EINVAL;
		mod = s + 2;
		for (s = mod; s < end - 1 && *s > ' ' && *s <= '~' && *s != ']'; s++)
			;
		if (s != end - 1 || s == mod || s - mod >= KSYM_NAME_LEN)
			return -EINVAL;
		err = module_index(p, mod, s - mod, &module);
		if (err)
			return err;
	}

	if (p->count == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 4096;
		void *n = realloc(p->syms, cap * sizeof(*p->syms));

		if (!n)
			return -ENOMEM;
		p->syms = n;
		p->cap = cap;
	}
	r = &p->syms[p->count++];
	r->addr = addr;
	r->name = name - p->buf;
	r->name_len = name_len;
	r->module = module;

	if (type == 'w' || type == 'W')
		rank |= RAW_WEAK;
	if (linker_script_symbol(name, name_len))
		rank |= RAW_LINKER;
	for (under = 0; under < name_len && name[under] == '_'; under++)
		;
	rank |= under < 15 ? under : 15;
	r->order = (uint64_t)rank << 40 | (uint64_t)line << 8;
	if (type == 't' || type == 'T' || type == 'w' || type == 'W') {
		r->order |= RAW_TEXT;
		if (!module && text_end_marker(name, name_len))
			r->order |= RAW_END;
	}
	return 0;
}

static int raw_cmp(const void *a, const void *b)
{
	const struct raw_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool raw_sorted(const struct raw_sym *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (raw_cmp(&s[i - 1], &s[i]) > 0)
			return false;
	return true;
}

/* Keep the best text symbol of each address, its names in one pool. */
static int build(struct kernel_symbols *ks, const struct parser *p)
{
	const struct raw_sym *r = p->syms;
	size_t n = p->count, pool_len = 0, k = 0, off;

	for (size_t i = 0, j; i < n; i = j) {
		const struct raw_sym *pick = NULL;

		for (j = i; j < n && r[j].addr == r[i].addr; j++)
			if (!pick && (r[j].order & RAW_TEXT))
				pick = &r[j];
		if (pick) {
			k++;
			pool_len += pick->name_len + 1;
		}
	}
	for (size_t m = 1; m < p->nmods; m++)
		pool_len += p->mods[m].len + 1;
	if (!k)
		return -ENOENT;
	if (pool_len > UINT32_MAX)
		return -EFBIG;

	ks->syms = malloc(k * sizeof(*ks->syms));
	ks->module = malloc(k * sizeof(*ks->module));
	ks->module_name = calloc(p->nmods, sizeof(*ks->module_name));
	ks->pool = malloc(pool_len);
	if (!ks->syms || !ks->module || !ks->module_name || !ks->pool)
		return -ENOMEM;

	off = 0;
	for (size_t m = 1; m < p->nmods; m++) {
		memcpy(ks->pool + off, p->buf + p->mods[m].off, p->mods[m].len);
		ks->pool[off + p->mods[m].len] = '\0';
		ks->module_name[m] = off;
		off += p->mods[m].len + 1;
	}
	for (size_t i = 0, j; i < n; i = j) {
		const struct raw_sym *pick = NULL;
		struct ksym *s;
		uint64_t gap;

		for (j = i; j < n && r[j].addr == r[i].addr; j++)
			if (!pick && (r[j].order & RAW_TEXT))
				pick = &r[j];
		if (!pick)
			continue;
		/* no sizes in kallsyms: up to the next symbol of any kind, bounded */
		gap = j < n ? r[j].addr - pick->addr : KERNEL_SYMBOL_SIZE_MAX;
		if (gap > KERNEL_SYMBOL_SIZE_MAX)
			gap = KERNEL_SYMBOL_SIZE_MAX;
		s = &ks->syms[ks->count];
		s->start = pick->addr;
		s->size = pick->order & RAW_END ? 0 : gap;
		s->name = off;
		ks->module[ks->count++] = pick->module;
		memcpy(ks->pool + off, p->buf + pick->name, pick->name_len);
		ks->pool[off + pick->name_len] = '\0';
		off += pick->name_len + 1;
	}
	return 0;
}

struct kernel_symbols *kernel_symbols__parse(const char *buf, size_t len, const char *name,
					     char *why, size_t why_size)
{
	struct parser p = {.buf = buf};
	struct kernel_symbols *ks = NULL;
	const char *s = buf, *end = buf + len;
	uint32_t line = 0;
	bool all_zero = true;
	int err = 0;

	if (len > INPUT_MAX) {
		snprintf(why, why_size, "cannot read '%s': larger than %u MiB", name,
			 INPUT_MAX >> 20);
		errno = EFBIG;
		return NULL;
	}
	p.mods = malloc(64 * sizeof(*p.mods));
	if (!p.mods) {
		err = -ENOMEM;
		goto cleanup;
	}
	p.mods_cap = 64;
	p.nmods = 1;

	while (s < end) {
		const char *nl = memchr(s, '\n', end - s);
		const char *eol = nl ? nl : end;

		if (++line > LINES_MAX) {
			snprintf(why, why_size, "cannot read '%s': over %u lines", name, LINES_MAX);
			err = -EFBIG;
			goto cleanup;
		}
		err = parse_line(&p, s, eol, line);
		if (err == -EINVAL)
			snprintf(why, why_size, "cannot read '%s': line %u is not a kallsyms line",
				 name, line);
		else if (err == -EFBIG)
			snprintf(why, why_size, "cannot read '%s': over %u modules", name,
				 MODULES_MAX);
		if (err)
			goto cleanup;
		all_zero = all_zero && !p.syms[p.count - 1].addr;
		s = nl ? nl + 1 : end;
	}

	if (p.count && all_zero) {
		snprintf(why, why_size,
			 "every address in '%s' reads 0 (kernel.kptr_restrict hides them): run as "
			 "root or with CAP_SYSLOG, and if they still read 0, sysctl "
			 "kernel.kptr_restrict=0",
			 name);
		err = -EPERM;
		goto cleanup;
	}
	/* vmlinux's symbols come sorted; modules' and BPF's do not */
	if (!raw_sorted(p.syms, p.count))
		qsort(p.syms, p.count, sizeof(*p.syms), raw_cmp);

	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = build(ks, &p);
	if (err == -ENOENT)
		snprintf(why, why_size, "cannot read '%s': no kernel text symbols in it", name);

cleanup:
	if (err == -ENOMEM)
		snprintf(why, why_size, "cannot read '%s': %s", name, strerror(ENOMEM));
	free(p.syms);
	free(p.mods);
	if (err) {
		kernel_symbols__free(ks);
		errno = -err;
		return NULL;
	}
	return ks;
}

/* The whole file: /proc files have no size, so grow until EOF. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	size_t len = 0, cap = 8u << 20;
	struct stat st;
	char *buf = NULL;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!fstat(fd, &st) && st.st_size > 0 && (uint64_t)st.st_size < INPUT_MAX)
		cap = st.st_size + 1;
	for (;;) {
		if (len == cap || !buf) {
			void *nb;

			if (buf)
				cap *= 2;
			if (cap > INPUT_MAX + 1ul)
				cap = INPUT_MAX + 1ul;
			if (len == cap) {
				err = -EFBIG;
				break;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

struct kernel_symbols *kernel_symbols__load(const char *path, char *why, size_t why_size)
{
	struct kernel_symbols *ks;
	size_t len = 0;
	char *buf = NULL;
	int err;

	if (!path)
		path = KALLSYMS_PATH;
	err = read_file(path, &buf, &len);
	if (err) {
		if (err == -EFBIG)
			snprintf(why, why_size, "cannot read '%s': larger than %u MiB", path,
				 INPUT_MAX >> 20);
		else
			snprintf(why, why_size, "cannot read '%s': %s", path, strerror(-err));
		errno = -err;
		return NULL;
	}
	ks = kernel_symbols__parse(buf, len, path, why, why_size);
	err = errno;
	free(buf);
	errno = err;
	return ks;
}

void kernel_symbols__free(struct kernel_symbols *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->module);
	free(ks->module_name);
	free(ks->pool);
	free(ks);
}

size_t kernel_symbols__count(const struct kernel_symbols *ks)
{
	return ks ? ks->count : 0;
}

int kernel_symbols__lookup(const struct kernel_symbols *ks, uint64_t addr,
			   struct kernel_symbol *out)
{
	const struct ksym *s;
	size_t lo = 0, hi;

	if (!ks)
		return -ENOENT;
	/* lo ends as the number of symbols starting at or below addr */
	hi = ks->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT;
	s = &ks->syms[lo - 1];
	if (addr - s->start >= s->size)
		return -ENOENT;
	out->name = ks->pool + s->name;
	out->module = ks->module[lo - 1] ? ks->pool + ks->module_name[ks->module[lo - 1]] : NULL;
	out->start = s->start;
	out->offset = addr - s->start;
	return 0;
}

const char *kernel_symbols__name(const struct kernel_symbols *ks, uint64_t addr,
				 uint64_t *offset_out)
{
	struct kernel_symbol sym;

	if (kernel_symbols__lookup(ks, addr, &sym)) {
		errno = ENOENT;
		return NULL;
	}
	if (offset_out)
		*offset_out = sym.offset;
	return sym.name;
}
