// SPDX-License-Identifier: MIT
/*
 * Unit tests for elf_file: a synthetic ELF written by the test (exact
 * layouts, corrupt and truncated variants), the real CPython builds of this
 * project's machines (pyenv 3.6 and 3.12, Debian's /usr/bin/python3.11, libc),
 * and live Python processes whose memory is read with process_vm_readv.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_file.h"
#include "proc_maps.h"

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[] = "/tmp/pyebpf-test-elf-XXXXXX";

/* snprintf that fails the test instead of truncating */
__attribute__((format(printf, 3, 4))) static void fmt(char *out, size_t n, const char *format, ...)
{
	va_list ap;
	int len;

	va_start(ap, format);
	len = vsnprintf(out, n, format, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n)
		fail_msg("path too long: %s", out);
}

static int group_setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[PATH_MAX];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		fmt(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	return 0;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void tmp_path(char *out, size_t n, const char *name)
{
	fmt(out, n, "%s/%s", tmpdir, name);
}

/*
 * The newest pyenv install of major.minor ("3.12"), from $PYENV_ROOT or
 * ~/.pyenv. Returns false if there is none.
 */
static bool pyenv_prefix(const char *ver, char *out, size_t n)
{
	const char *root = getenv("PYENV_ROOT");
	char home_root[PATH_MAX], pattern[PATH_MAX];
	glob_t g;
	bool found = false;

	if (!root) {
		const char *home = getenv("HOME");

		fmt(home_root, sizeof(home_root), "%s/.pyenv", home ? home : "/root");
		root = home_root;
	}
	fmt(pattern, sizeof(pattern), "%s/versions/%s.[0-9]*", root, ver);
	if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
		fmt(out, n, "%s", g.gl_pathv[g.gl_pathc - 1]);
		found = true;
	}
	globfree(&g);
	return found;
}

/*
 * The libpython shared object of pyenv's major.minor, "" if missing;
 * fails the test with a clear message if required.
 */
static void libpython(const char *ver, char *out, size_t n, bool required)
{
	char prefix[PATH_MAX];

	out[0] = '\0';
	if (!pyenv_prefix(ver, prefix, sizeof(prefix))) {
		if (required)
			fail_msg("pyenv Python %s not found under $PYENV_ROOT/versions or "
				 "~/.pyenv/versions: "
				 "install it with tools/install-deps.sh",
				 ver);
		return;
	}
	fmt(out, n, "%s/lib/libpython%s.so.1.0", prefix, ver);
	if (access(out, R_OK) == 0)
		return;
	fmt(out, n, "%s/lib/libpython%sm.so.1.0", prefix, ver);
	if (access(out, R_OK) == 0)
		return;
	if (required)
		fail_msg("%s/lib/libpython%s[m].so.1.0 not found: pyenv Python %s must be built "
			 "with --enable-shared",
			 prefix, ver, ver);
	out[0] = '\0';
}

static void need_file(const char *path)
{
	if (access(path, R_OK))
		fail_msg(
			"%s: %s (this file exists on every pyebpf machine; is the image complete?)",
			path, strerror(errno));
}

static struct elf_file *open_ok(const char *path)
{
	struct elf_file *ef = elf_file__open(path);

	if (!ef)
		fail_msg("elf_file__open(\"%s\"): %s", path, strerror(errno));
	return ef;
}

static struct proc_maps *maps_from(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct proc_maps *maps;

	assert_non_null(f);
	maps = proc_maps__parse(f);
	fclose(f);
	assert_non_null(maps);
	return maps;
}

/* ---- a synthetic ELF -------------------------------------------------- */

/*
 * File layout; the RW segment starts in the file page of the R segment, as
 * in real libraries, so its mapping has file offset 0.
 *   0x000 ehdr, 0x040 phdrs: LOAD R [0, 0x400) at base,
 *         LOAD RW file [0x400, 0x410) at base + 0x1400, memsz 0x100 (.bss),
 *         DYNAMIC
 *   0x100 .rodata  0x200 .dynstr  0x240 .dynamic  0x300 .symtab
 *   0x400 .data    0x410 .strtab  0x450 .shstrtab 0x490 section headers
 */
enum {
	S_NULL,
	S_RODATA,
	S_DYNSTR,
	S_DYNAMIC,
	S_SYMTAB,
	S_STRTAB,
	S_DATA,
	S_BSS,
	S_SHSTRTAB,
	S_NUM
};
#define SYN_SHOFF 0x490
#define SYN_SIZE (SYN_SHOFF + S_NUM * sizeof(Elf64_Shdr))

static const char syn_rodata[] = "/p/9.8.1234567890\0v9.8.7";
static const char syn_dynstr[] = "\0libfoo.so.1\0libbar.so.2";
static const char syn_strtab[] = "\0foo@V0\0foo@@V1\0bar\0bar@V2\0exact@@V9\0exact\0bss_var";
static const char syn_shstrtab[] =
	"\0.rodata\0.dynstr\0.dynamic\0.symtab\0.strtab\0.data\0.bss\0.shstrtab";

/* offset of name in a NUL-separated table */
static uint32_t stroff(const char *tab, size_t size, const char *name)
{
	for (size_t i = 0; i < size; i += strlen(tab + i) + 1)
		if (!strcmp(tab + i, name))
			return (uint32_t)i;
	fail_msg("no %s in string table", name);
	return 0;
}

#define STROFF(tab, name) stroff(tab, sizeof(tab), name)

static void build_synth(unsigned char *img, uint16_t type, uint64_t base)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + 0x40);
	Elf64_Dyn *dyn = (Elf64_Dyn *)(img + 0x240);
	Elf64_Sym *sym = (Elf64_Sym *)(img + 0x300);
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + SYN_SHOFF);
	const unsigned char gobj = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);

	memset(img, 0, SYN_SIZE);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = type;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = 0x40;
	eh->e_shoff = SYN_SHOFF;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = S_NUM;
	eh->e_shstrndx = S_SHSTRTAB;

	ph[0] = (Elf64_Phdr){PT_LOAD, PF_R, 0, base, base, 0x400, 0x400, 0x1000};
	ph[1] = (Elf64_Phdr){PT_LOAD,	    PF_R | PF_W, 0x400, base + 0x1400,
			     base + 0x1400, 0x10,	 0x100, 0x1000};
	ph[2] = (Elf64_Phdr){PT_DYNAMIC,   PF_R | PF_W, 0x240, base + 0x240,
			     base + 0x240, 0x50,	0x50,  8};

	memcpy(img + 0x100, syn_rodata, sizeof(syn_rodata));
	/* an unterminated occurrence at the very end of .rodata */
	memcpy(img + 0x1fa, "zz9.9.", 6);
	memcpy(img + 0x200, syn_dynstr, sizeof(syn_dynstr));
	dyn[0] = (Elf64_Dyn){DT_NEEDED, {STROFF(syn_dynstr, "libfoo.so.1")}};
	dyn[1] = (Elf64_Dyn){DT_NEEDED, {STROFF(syn_dynstr, "libbar.so.2")}};
	dyn[2] = (Elf64_Dyn){DT_NULL, {0}};
	dyn[3] = (Elf64_Dyn){DT_NEEDED, {1}}; /* after DT_NULL: ignored */
	dyn[4] = (Elf64_Dyn){DT_NULL, {0}};

	sym[1] = (Elf64_Sym){STROFF(syn_strtab, "foo@V0"), gobj, 0, S_RODATA, base + 0x100, 1};
	sym[2] = (Elf64_Sym){STROFF(syn_strtab, "foo@@V1"), gobj, 0, S_RODATA, base + 0x110, 2};
	sym[3] = (Elf64_Sym){STROFF(syn_strtab, "bar"), gobj, 0, SHN_UNDEF, 0, 0};
	sym[4] = (Elf64_Sym){STROFF(syn_strtab, "bar@V2"), gobj, 0, S_RODATA, base + 0x120, 3};
	sym[5] = (Elf64_Sym){STROFF(syn_strtab, "exact@@V9"), gobj, 0, S_RODATA, base + 0x140, 5};
	sym[6] = (Elf64_Sym){STROFF(syn_strtab, "exact"), gobj, 0, S_RODATA, base + 0x130, 4};
	sym[7] = (Elf64_Sym){STROFF(syn_strtab, "bss_var"), gobj, 0, S_BSS, base + 0x1480, 8};

	memcpy(img + 0x400, "DATADATADATADATA", 16);
	memcpy(img + 0x410, syn_strtab, sizeof(syn_strtab));
	memcpy(img + 0x450, syn_shstrtab, sizeof(syn_shstrtab));

#define SEC(i, name, type_, flags, addr, off, size, link, info, align, entsize) \
	sh[i] = (Elf64_Shdr){STROFF(syn_shstrtab, name),                        \
			     type_,                                             \
			     flags,                                             \
			     addr,                                              \
			     off,                                               \
			     size,                                              \
			     link,                                              \
			     info,                                              \
			     align,                                             \
			     entsize}
	SEC(S_RODATA, ".rodata", SHT_PROGBITS, SHF_ALLOC, base + 0x100, 0x100, 0x100, 0, 0, 1, 0);
	SEC(S_DYNSTR, ".dynstr", SHT_STRTAB, SHF_ALLOC, base + 0x200, 0x200, sizeof(syn_dynstr), 0,
	    0, 1, 0);
	SEC(S_DYNAMIC, ".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, base + 0x240, 0x240, 0x50,
	    S_DYNSTR, 0, 8, sizeof(Elf64_Dyn));
	SEC(S_SYMTAB, ".symtab", SHT_SYMTAB, 0, 0, 0x300, 8 * sizeof(Elf64_Sym), S_STRTAB, 1, 8,
	    sizeof(Elf64_Sym));
	SEC(S_STRTAB, ".strtab", SHT_STRTAB, 0, 0, 0x410, sizeof(syn_strtab), 0, 0, 1, 0);
	SEC(S_DATA, ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, base + 0x1400, 0x400, 0x10, 0, 0,
	    8, 0);
	SEC(S_BSS, ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, base + 0x1410, 0x410, 0xf0, 0, 0, 8,
	    0);
	SEC(S_SHSTRTAB, ".shstrtab", SHT_STRTAB, 0, 0, 0x450, sizeof(syn_shstrtab), 0, 0, 1, 0);
#undef SEC
}

static struct elf_file *open_synth(uint16_t type, uint64_t base, char *path, size_t n)
{
	unsigned char img[SYN_SIZE];

	build_synth(img, type, base);
	tmp_path(path, n, type == ET_DYN ? "libsynth.so" : "synth");
	write_file(path, img, sizeof(img));
	return open_ok(path);
}

static void test_synth_symbols(void **state)
{
	char path[PATH_MAX];
	struct elf_file *ef = open_synth(ET_DYN, 0, path, sizeof(path));
	uint64_t v = 0, s = 0;

	assert_true(elf_file__is_dyn(ef));
	/* an unversioned name prefers name@@VER to name@VER */
	assert_int_equal(elf_file__symbol(ef, "foo", &v, &s), 0);
	assert_int_equal(v, 0x110);
	assert_int_equal(s, 2);
	/* undefined entries never match */
	assert_int_equal(elf_file__symbol(ef, "bar", &v, &s), 0);
	assert_int_equal(v, 0x120);
	/* the exact name beats an earlier name@@VER */
	assert_int_equal(elf_file__symbol(ef, "exact", &v, &s), 0);
	assert_int_equal(v, 0x130);
	assert_int_equal(s, 4);
	/* a versioned name matches only exactly */
	assert_int_equal(elf_file__symbol(ef, "foo@V0", &v, NULL), 0);
	assert_int_equal(v, 0x100);
	assert_int_equal(elf_file__symbol(ef, "foo@", &v, NULL), -ENOENT);
	assert_int_equal(elf_file__symbol(ef, "fo", &v, NULL), -ENOENT);
	assert_int_equal(elf_file__symbol(ef, "foo@V", &v, NULL), -ENOENT);
	assert_int_equal(elf_file__symbol(ef, "bss_var", NULL, NULL), 0);
	assert_int_equal(elf_file__symbol(ef, "", &v, &s), -EINVAL);
	assert_int_equal(elf_file__symbol(ef, NULL, &v, &s), -EINVAL);
	assert_int_equal(elf_file__symbol(NULL, "foo", &v, &s), -EINVAL);

	assert_int_equal(elf_file__section(ef, ".bss", &v, &s), 0);
	assert_int_equal(v, 0x1410);
	assert_int_equal(s, 0xf0);
	assert_int_equal(elf_file__section(ef, ".rodata", NULL, NULL), 0);
	assert_int_equal(elf_file__section(ef, ".text", &v, &s), -ENOENT);
	assert_int_equal(elf_file__section(ef, "", &v, &s), -ENOENT);
	elf_file__free(ef);
}

static void test_synth_read_vaddr(void **state)
{
	char path[PATH_MAX];
	struct elf_file *ef = open_synth(ET_EXEC, 0x400000, path, sizeof(path));
	unsigned char buf[64], zero[64] = {0};

	assert_false(elf_file__is_dyn(ef));
	assert_int_equal(elf_file__read_vaddr(ef, 0x400000, buf, 4), 0);
	assert_memory_equal(buf, ELFMAG, 4);
	assert_int_equal(elf_file__read_vaddr(ef, 0x400100, buf, sizeof(syn_rodata)), 0);
	assert_memory_equal(buf, syn_rodata, sizeof(syn_rodata));
	assert_int_equal(elf_file__read_vaddr(ef, 0x401400, buf, 16), 0);
	assert_memory_equal(buf, "DATADATADATADATA", 16);
	/* file bytes, then .bss zeros */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(elf_file__read_vaddr(ef, 0x401408, buf, 32), 0);
	assert_memory_equal(buf, "DATADATA", 8);
	assert_memory_equal(buf + 8, zero, 24);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(elf_file__read_vaddr(ef, 0x4014c0, buf, 64), 0);
	assert_memory_equal(buf, zero, 64);
	/* up to the end of memsz, not one byte more */
	assert_int_equal(elf_file__read_vaddr(ef, 0x4014f0, buf, 16), 0);
	assert_int_equal(elf_file__read_vaddr(ef, 0x4014f0, buf, 17), -EFAULT);
	/* across the gap between the segments, in the gap, before, after */
	assert_int_equal(elf_file__read_vaddr(ef, 0x4003ff, buf, 2), -EFAULT);
	assert_int_equal(elf_file__read_vaddr(ef, 0x401000, buf, 1), -EFAULT);
	assert_int_equal(elf_file__read_vaddr(ef, 0x100, buf, 1), -EFAULT);
	assert_int_equal(elf_file__read_vaddr(ef, UINT64_MAX, buf, 1), -EFAULT);
	assert_int_equal(elf_file__read_vaddr(ef, 0x400000, buf, SIZE_MAX), -EFAULT);
	assert_int_equal(elf_file__read_vaddr(ef, 0x400000, NULL, 0), 0);
	assert_int_equal(elf_file__read_vaddr(ef, 0x400000, NULL, 1), -EINVAL);
	elf_file__free(ef);
}

static void test_synth_needed_and_strings(void **state)
{
	char path[PATH_MAX], out[64];
	struct elf_file *ef = open_synth(ET_DYN, 0, path, sizeof(path));
	const char *name = NULL;

	assert_int_equal(elf_file__needed(ef, 0, &name), 0);
	assert_string_equal(name, "libfoo.so.1");
	assert_int_equal(elf_file__needed(ef, 1, &name), 0);
	assert_string_equal(name, "libbar.so.2");
	assert_int_equal(elf_file__needed(ef, 2, &name), -ENOENT);
	assert_int_equal(elf_file__needed(ef, SIZE_MAX, &name), -ENOENT);
	assert_int_equal(elf_file__needed(ef, 0, NULL), -EINVAL);

	/* not at a string start: the tail of "/p/9.8.1234567890" */
	assert_int_equal(elf_file__find_string(ef, "9.8.", out, sizeof(out)), 0);
	assert_string_equal(out, "9.8.1234567890");
	assert_int_equal(elf_file__find_string(ef, "/p/", out, sizeof(out)), 0);
	assert_string_equal(out, "/p/9.8.1234567890");
	/* too long for out: skipped for the next occurrence */
	assert_int_equal(elf_file__find_string(ef, "9.8.", out, 8), 0);
	assert_string_equal(out, "9.8.7");
	assert_int_equal(elf_file__find_string(ef, "9.8.", out, 6), 0);
	assert_string_equal(out, "9.8.7");
	assert_int_equal(elf_file__find_string(ef, "9.8.", out, 5), -ENOENT);
	/* unterminated at the end of the section */
	assert_int_equal(elf_file__find_string(ef, "9.9.", out, sizeof(out)), -ENOENT);
	/* .data is writable, .dynstr is not PROGBITS */
	assert_int_equal(elf_file__find_string(ef, "DATA", out, sizeof(out)), -ENOENT);
	assert_int_equal(elf_file__find_string(ef, "libfoo", out, sizeof(out)), -ENOENT);
	assert_int_equal(elf_file__find_string(ef, "", out, sizeof(out)), -EINVAL);
	assert_int_equal(elf_file__find_string(ef, "9.8.", out, 0), -EINVAL);
	assert_int_equal(elf_file__find_string(ef, "9.8.", NULL, 8), -EINVAL);
	elf_file__free(ef);
}

static void test_synth_runtime_address(void **state)
{
	char path[PATH_MAX];
	struct elf_file *ef = open_synth(ET_DYN, 0, path, sizeof(path));
	struct proc_maps *maps =
		maps_from("7e0000000000-7e0000001000 r--p 00000000 08:01 41 /lib/libsynth.so\n"
			  "7f0000000000-7f0000001000 r--p 00000000 08:01 42 /lib/libsynth.so\n"
			  "7f0000001000-7f0000002000 rw-p 00000000 08:01 42 /lib/libsynth.so\n"
			  "7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
			  "7f0000003000-7f0000004000 r--p 00000000 08:01 42 /lib/other.so\n");
	const struct proc_map *rw = proc_maps__get(maps, 2);
	uint64_t addr = 0;

	/* any mapping of the file will do */
	for (size_t i = 1; i <= 2; i++) {
		const struct proc_map *m = proc_maps__get(maps, i);

		assert_int_equal(elf_file__runtime_address(ef, maps, m, 0x100, &addr), 0);
		assert_int_equal(addr, 0x7f0000000100ull);
		assert_int_equal(elf_file__runtime_address(ef, maps, m, 0x1400, &addr), 0);
		assert_int_equal(addr, 0x7f0000001400ull);
		/* .bss, past the file's last page */
		assert_int_equal(elf_file__runtime_address(ef, maps, m, 0x14ff, &addr), 0);
		assert_int_equal(addr, 0x7f00000014ffull);
	}
	assert_int_equal(elf_file__runtime_address(ef, maps, rw, 0x1500, &addr), -EFAULT);
	assert_int_equal(elf_file__runtime_address(ef, maps, rw, 0x1000, &addr), -EFAULT);
	/* an anonymous mapping is no file */
	assert_int_equal(elf_file__runtime_address(ef, maps, proc_maps__get(maps, 3), 0x100, &addr),
			 -ENOENT);
	assert_int_equal(elf_file__runtime_address(ef, maps, rw, 0x100, NULL), -EINVAL);
	assert_int_equal(elf_file__runtime_address(ef, NULL, rw, 0x100, &addr), -EINVAL);
	proc_maps__free(maps);

	/* only the RW mapping is left: it cannot back the read-only segment */
	maps = maps_from("7f0000001000-7f0000002000 rw-p 00000000 08:01 42 /lib/libsynth.so\n");
	assert_int_equal(elf_file__runtime_address(ef, maps, proc_maps__get(maps, 0), 0x100, &addr),
			 0);
	assert_int_equal(addr, 0x7f0000000100ull);
	proc_maps__free(maps);
	elf_file__free(ef);

	/* ET_EXEC: mapped where it says */
	ef = open_synth(ET_EXEC, 0x400000, path, sizeof(path));
	maps = maps_from("00400000-00401000 r--p 00000000 08:01 43 /usr/bin/synth\n"
			 "00401000-00402000 rw-p 00000000 08:01 43 /usr/bin/synth\n"
			 "00402000-00403000 rw-p 00000000 00:00 0 \n");
	assert_int_equal(
		elf_file__runtime_address(ef, maps, proc_maps__get(maps, 0), 0x401400, &addr), 0);
	assert_int_equal(addr, 0x401400);
	assert_int_equal(
		elf_file__runtime_address(ef, maps, proc_maps__get(maps, 1), 0x400100, &addr), 0);
	assert_int_equal(addr, 0x400100);
	assert_int_equal(elf_file__runtime_address(ef, maps, proc_maps__get(maps, 1), 0x100, &addr),
			 -EFAULT);
	proc_maps__free(maps);
	elf_file__free(ef);
}

/* ---- robustness ------------------------------------------------------- */

static void expect_open_error(const char *path, int err)
{
	struct elf_file *ef;

	errno = 0;
	ef = elf_file__open(path);
	if (ef) {
		elf_file__free(ef);
		fail_msg("elf_file__open(\"%s\") accepted a bad file", path);
	}
	if (errno != err)
		fail_msg("elf_file__open(\"%s\"): errno %d (%s), want %d (%s)", path, errno,
			 strerror(errno), err, strerror(err));
}

static void test_open_errors(void **state)
{
	char path[PATH_MAX];
	unsigned char img[SYN_SIZE];

	tmp_path(path, sizeof(path), "script.sh");
	write_file(path, "#!/bin/sh\necho not an elf file\n", 31);
	expect_open_error(path, ENOEXEC);
	tmp_path(path, sizeof(path), "empty");
	write_file(path, "", 0);
	expect_open_error(path, ENOEXEC);
	expect_open_error(tmpdir, EISDIR);
	expect_open_error("/dev/null", EINVAL);
	tmp_path(path, sizeof(path), "no such file");
	expect_open_error(path, ENOENT);
	errno = 0;
	assert_null(elf_file__open(NULL));
	assert_int_equal(errno, EINVAL);
	elf_file__free(NULL);

	/* the synthetic file cut anywhere before its section headers end */
	build_synth(img, ET_DYN, 0);
	tmp_path(path, sizeof(path), "cut");
	for (size_t len = 0; len < SYN_SIZE; len += len < 80 ? 1 : 37) {
		write_file(path, img, len);
		expect_open_error(path, ENOEXEC);
	}
	write_file(path, img, SYN_SIZE - 1);
	expect_open_error(path, ENOEXEC);
}

/* The real libpython cut short: headers fine, the rest missing. */
static void test_open_truncated_real(void **state)
{
	char lib[PATH_MAX], path[PATH_MAX];
	static char buf[1 << 16];
	const off_t sizes[] = {-1, 1 << 20, 65536, 4096, 65, 64, 63, 4, 0};
	struct stat st;
	int in, out;
	ssize_t n;

	libpython("3.12", lib, sizeof(lib), true);
	tmp_path(path, sizeof(path), "libpython-cut.so");
	in = open(lib, O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	assert_int_equal(fstat(in, &st), 0);
	close(in);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(ftruncate(out, sizes[i] < 0 ? st.st_size - 1 : sizes[i]), 0);
		expect_open_error(path, ENOEXEC);
	}
	close(out);
}

/* Every call on a corrupt file: an error or an answer, never a crash. */
static void exercise(struct elf_file *ef, const struct proc_maps *maps)
{
	const char *names[] = {"foo", "bar", "exact", "bss_var", "nope"};
	const char *name;
	char out[32];
	unsigned char buf[64];
	uint64_t v, s;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		elf_file__symbol(ef, names[i], &v, &s);
	elf_file__section(ef, ".bss", &v, &s);
	elf_file__section(ef, ".nope", &v, &s);
	for (size_t i = 0; i < 4; i++)
		elf_file__needed(ef, i, &name);
	elf_file__find_string(ef, "9.8.", out, sizeof(out));
	elf_file__find_string(ef, "x", out, 2);
	for (uint64_t a = 0; a < 0x1600; a += 0xf0)
		elf_file__read_vaddr(ef, a, buf, sizeof(buf));
	elf_file__runtime_address(ef, maps, proc_maps__get(maps, 0), 0x100, &v);
	elf_file__runtime_address(ef, maps, proc_maps__get(maps, 0), 0x1480, &v);
	elf_file__is_dyn(ef);
}

static void test_corrupt_synth(void **state)
{
	unsigned char good[SYN_SIZE], img[SYN_SIZE];
	struct proc_maps *maps =
		maps_from("7f0000000000-7f0000001000 r--p 00000000 08:01 42 /lib/libsynth.so\n"
			  "7f0000001000-7f0000002000 rw-p 00000000 08:01 42 /lib/libsynth.so\n");
	uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64, fixed seed */
	char path[PATH_MAX];
	int opened = 0;

	build_synth(good, ET_DYN, 0);
	tmp_path(path, sizeof(path), "corrupt");
	for (int iter = 0; iter < 3000; iter++) {
		struct elf_file *ef;
		int flips = 1 + iter % 4;

		memcpy(img, good, sizeof(img));
		while (flips--) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* headers and tables are where the interesting bugs are */
			img[x % SYN_SIZE] ^= (unsigned char)(1u << (x >> 60 & 7));
			if (x >> 59 & 1)
				img[x % 0x40] = (unsigned char)(x >> 24);
		}
		write_file(path, img, sizeof(img));
		ef = elf_file__open(path);
		if (!ef) {
			assert_true(errno != 0);
			continue;
		}
		opened++;
		exercise(ef, maps);
		elf_file__free(ef);
	}
	/* most single-bit flips leave a readable file */
	assert_true(opened > 1000);
	proc_maps__free(maps);
}

/* ---- real files ------------------------------------------------------- */

static void test_libpython312(void **state)
{
	char lib[PATH_MAX], prefix[PATH_MAX], out[64];
	struct elf_file *ef;
	uint64_t v, s, sec, secsize;
	const char *name;
	bool libc = false;

	libpython("3.12", lib, sizeof(lib), true);
	ef = open_ok(lib);
	assert_true(elf_file__is_dyn(ef));
	assert_int_equal(elf_file__symbol(ef, "_PyRuntime", &v, &s), 0);
	assert_int_equal(elf_file__section(ef, ".PyRuntime", &sec, &secsize), 0);
	assert_int_equal(v, sec);
	assert_true(s > 0 && s <= secsize);
	assert_int_equal(elf_file__symbol(ef, "_PyRuntim", &v, &s), -ENOENT);
	assert_int_equal(elf_file__symbol(ef, "PyRuntime", &v, &s), -ENOENT);
	/* libc's memcpy is only referenced (undefined) here */
	assert_int_equal(elf_file__symbol(ef, "memcpy", &v, &s), -ENOENT);

	for (size_t i = 0; elf_file__needed(ef, i, &name) == 0; i++)
		libc |= !strcmp(name, "libc.so.6");
	assert_true(libc);

	/* PY_VERSION, the micro version pyenv named the directory after */
	assert_true(pyenv_prefix("3.12", prefix, sizeof(prefix)));
	assert_int_equal(elf_file__find_string(ef, "3.12.", out, sizeof(out)), 0);
	assert_string_equal(out, strrchr(prefix, '/') + 1);
	elf_file__free(ef);
}

static void test_libpython36_symtab(void **state)
{
	char lib[PATH_MAX], prefix[PATH_MAX], out[64];
	struct elf_file *ef;
	uint64_t v, s, data, datasize, bss, bsssize;

	libpython("3.6", lib, sizeof(lib), true);
	ef = open_ok(lib);
	/* static: only in .symtab */
	assert_int_equal(elf_file__symbol(ef, "interp_head", &v, &s), 0);
	assert_int_equal(s, 8);
	assert_int_equal(elf_file__section(ef, ".data", &data, &datasize), 0);
	assert_int_equal(elf_file__section(ef, ".bss", &bss, &bsssize), 0);
	assert_true((v >= data && v + s <= data + datasize) ||
		    (v >= bss && v + s <= bss + bsssize));
	assert_int_equal(elf_file__symbol(ef, "_PyRuntime", &v, &s), -ENOENT);
	assert_int_equal(elf_file__symbol(ef, "PyEval_EvalFrameEx", &v, &s), 0);

	assert_true(pyenv_prefix("3.6", prefix, sizeof(prefix)));
	assert_int_equal(elf_file__find_string(ef, "3.6.", out, sizeof(out)), 0);
	assert_string_equal(out, strrchr(prefix, '/') + 1);
	elf_file__free(ef);
}

/* Debian's interpreter: stripped, ET_EXEC, _PyRuntime only in .dynsym. */
static void test_debian_python311(void **state)
{
	const char *exe = "/usr/bin/python3.11";
	char out[64], want[64] = "";
	struct elf_file *ef;
	uint64_t v, s, sec;
	unsigned char buf[8];
	FILE *p;

	need_file(exe);
	ef = open_ok(exe);
	assert_false(elf_file__is_dyn(ef));
	assert_int_equal(elf_file__symbol(ef, "_PyRuntime", &v, &s), 0);
	assert_int_equal(v, 0xa5b740);
	assert_int_equal(elf_file__section(ef, ".PyRuntime", &sec, NULL), 0);
	assert_int_equal(sec, v);
	assert_int_equal(elf_file__section(ef, ".symtab", NULL, NULL), -ENOENT);
	/* a static function of CPython (in pyenv's .symtab): gone with it */
	assert_int_equal(elf_file__symbol(ef, "list_dealloc", NULL, NULL), -ENOENT);
	assert_int_equal(elf_file__read_vaddr(ef, 0x400000, buf, 4), 0);
	assert_memory_equal(buf, ELFMAG, 4);

	p = popen("/usr/bin/python3.11 -S -c 'import platform; print(platform.python_version())'",
		  "r");
	assert_non_null(p);
	assert_non_null(fgets(want, sizeof(want), p));
	pclose(p);
	want[strcspn(want, "\n")] = '\0';
	assert_int_equal(elf_file__find_string(ef, "3.11.", out, sizeof(out)), 0);
	assert_string_equal(out, want);
	elf_file__free(ef);
}

/*
 * libc's versioned symbols, checked against the dynamic loader of this very
 * process: elf_file__symbol() + elf_file__runtime_address() must land where
 * dlsym() says (the default version, e.g. realpath@@GLIBC_2.3).
 */
static void test_libc_versions_self(void **state)
{
	const char *names[] = {"realpath", "sched_getaffinity", "fopen", "getpid"};
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	struct proc_maps *maps = proc_maps__read(getpid());
	struct elf_file *ef = NULL;

	assert_non_null(h);
	assert_non_null(maps);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *want = dlsym(h, names[i]);
		const struct proc_map *m = proc_maps__find_addr(maps, (uintptr_t)want);
		uint64_t v, addr;

		assert_non_null(want);
		assert_non_null(m);
		if (!ef)
			ef = open_ok(m->path);
		assert_int_equal(elf_file__symbol(ef, names[i], &v, NULL), 0);
		assert_int_equal(elf_file__runtime_address(ef, maps, m, v, &addr), 0);
		if (addr != (uintptr_t)want)
			fail_msg("%s: computed %#llx, dlsym %p", names[i], (unsigned long long)addr,
				 want);
	}
	elf_file__free(ef);
	proc_maps__free(maps);
	dlclose(h);
}

/* ---- live Python processes -------------------------------------------- */

static pid_t child = -1;

static int kill_child(void **state)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	return 0;
}

/* Starts python, returns once it has printed "ready" (it is then fully loaded). */
static void spawn_python(const char *python)
{
	static const char code[] = "import sys, time; sys.stdout.write('ready\\n'); "
				   "sys.stdout.flush(); time.sleep(60)";
	struct pollfd pfd;
	char buf[16] = "";
	int fds[2];

	need_file(python);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		execl(python, python, "-c", code, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	pfd = (struct pollfd){.fd = fds[0], .events = POLLIN};
	if (poll(&pfd, 1, 20000) != 1 || read(fds[0], buf, sizeof(buf) - 1) <= 0 ||
	    strncmp(buf, "ready", 5))
		fail_msg("%s did not start (no \"ready\" within 20 s)", python);
	close(fds[0]);
}

static void read_remote(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len};
	struct iovec remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n != (ssize_t)len)
		fail_msg("process_vm_readv(%d, %#llx, %zu): %s", pid, (unsigned long long)addr, len,
			 n < 0 ? strerror(errno) : "short read");
}

/* Section contents the loader does not touch must read the same live. */
static void compare_section(pid_t pid, struct elf_file *ef, const struct proc_maps *maps,
			    const struct proc_map *m, const char *section)
{
	unsigned char want[256], got[256];
	uint64_t vaddr, size, addr;

	assert_int_equal(elf_file__section(ef, section, &vaddr, &size), 0);
	if (size > sizeof(want))
		size = sizeof(want);
	assert_int_equal(elf_file__runtime_address(ef, maps, m, vaddr, &addr), 0);
	assert_int_equal(elf_file__read_vaddr(ef, vaddr, want, size), 0);
	read_remote(pid, addr, got, size);
	if (memcmp(want, got, size))
		fail_msg("%s of %s at %#llx differs in the live process", section, m->path,
			 (unsigned long long)addr);
}

/*
 * The mapping holding addr if it belongs to the object that m maps: a
 * mapping of the same file, or the anonymous .bss mapping right after one.
 */
static const struct proc_map *object_mapping(const struct proc_maps *maps, const struct proc_map *m,
					     uint64_t addr)
{
	const struct proc_map *r = proc_maps__find_addr(maps, addr);

	if (!r || proc_map__same_file(r, m))
		return r;
	if (r->inode != 0 || r->path[0] != '\0')
		return NULL;
	for (size_t i = 0; i < proc_maps__count(maps); i++) {
		const struct proc_map *p = proc_maps__get(maps, i);

		if (p->end == r->start && proc_map__same_file(p, m))
			return r;
	}
	return NULL;
}

/*
 * In the live process: the runtime address of symbol in the file mapped as
 * pattern must fall in rw mappings of that object (file or its .bss), and
 * .rodata and .text must read back as in the file.
 */
static uint64_t check_live(const char *pattern, const char *symbol, const char *cookie)
{
	struct proc_maps *maps = proc_maps__read(child);
	const struct proc_map *m, *rm, *rm_end;
	struct elf_file *ef;
	uint64_t v, s, addr;

	assert_non_null(maps);
	m = proc_maps__find_basename(maps, pattern);
	if (!m)
		fail_msg("no mapping of %s in pid %d", pattern, child);
	ef = open_ok(m->path);
	assert_int_equal(elf_file__symbol(ef, symbol, &v, &s), 0);
	assert_int_equal(elf_file__runtime_address(ef, maps, m, v, &addr), 0);
	rm = object_mapping(maps, m, addr);
	rm_end = object_mapping(maps, m, addr + s - 1);
	if (!rm || strncmp(rm->perms, "rw", 2) || !rm_end || strncmp(rm_end->perms, "rw", 2))
		fail_msg("%s at %#llx is not in a rw mapping of %s", symbol,
			 (unsigned long long)addr, m->path);
	if (cookie) {
		char want[16] = "", got[16] = "";
		size_t len = strlen(cookie);

		assert_int_equal(elf_file__read_vaddr(ef, v, want, len), 0);
		read_remote(child, addr, got, len);
		assert_memory_equal(want, cookie, len);
		assert_memory_equal(got, cookie, len);
	}
	compare_section(child, ef, maps, m, ".rodata");
	compare_section(child, ef, maps, m, ".text");
	elf_file__free(ef);
	proc_maps__free(maps);
	return addr;
}

static void live_pyenv(const char *ver, const char *symbol, const char *cookie, bool required)
{
	char prefix[PATH_MAX], python[PATH_MAX], pattern[64];

	if (!pyenv_prefix(ver, prefix, sizeof(prefix))) {
		if (required)
			fail_msg("pyenv Python %s not found: install it with tools/install-deps.sh",
				 ver);
		skip();
	}
	fmt(python, sizeof(python), "%s/bin/python%s", prefix, ver);
	fmt(pattern, sizeof(pattern), "libpython%s*.so*", ver);
	spawn_python(python);
	check_live(pattern, symbol, cookie);
}

static void test_live_python312(void **state)
{
	live_pyenv("3.12", "_PyRuntime", NULL, true);
}

static void test_live_python36(void **state)
{
	live_pyenv("3.6", "interp_head", NULL, true);
}

/* 3.13+ starts _PyRuntime with _Py_DebugOffsets and its cookie */
static void test_live_python313(void **state)
{
	live_pyenv("3.13", "_PyRuntime", "xdebugpy", false);
}

static void test_live_debian_python311(void **state)
{
	spawn_python("/usr/bin/python3.11");
	assert_int_equal(check_live("python3.11", "_PyRuntime", NULL), 0xa5b740);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synth_symbols),
		cmocka_unit_test(test_synth_read_vaddr),
		cmocka_unit_test(test_synth_needed_and_strings),
		cmocka_unit_test(test_synth_runtime_address),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_truncated_real),
		cmocka_unit_test(test_corrupt_synth),
		cmocka_unit_test(test_libpython312),
		cmocka_unit_test(test_libpython36_symtab),
		cmocka_unit_test(test_debian_python311),
		cmocka_unit_test(test_libc_versions_self),
		cmocka_unit_test_teardown(test_live_python312, kill_child),
		cmocka_unit_test_teardown(test_live_python36, kill_child),
		cmocka_unit_test_teardown(test_live_python313, kill_child),
		cmocka_unit_test_teardown(test_live_debian_python311, kill_child),
	};

	return cmocka_run_group_tests_name("elf_file", tests, group_setup, group_teardown);
}
