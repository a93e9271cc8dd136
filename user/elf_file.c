// SPDX-License-Identifier: MIT
/* ELF file reader on libelf; see elf_file.h. */
#include "elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* bounds on header counts; real files have a few dozen of each */
#define MAX_PHDRS 4096
#define MAX_SHDRS 65536
#define VERSYM_HIDDEN 0x8000

struct elf_file {
	int fd;
	Elf *elf;
	uint64_t file_size;
	unsigned type; /* e_type */
	size_t phnum;
	GElf_Phdr *phdrs;
	size_t shstrndx;
	Elf_Scn *dynsym, *symtab, *versym, *dynamic;
};

/* a + b <= limit, without overflow */
static bool fits(uint64_t a, uint64_t b, uint64_t limit)
{
	return a <= limit && b <= limit - a;
}

static int check_phdrs(struct elf_file *ef, const GElf_Ehdr *eh)
{
	/* libelf reports 0 program headers when the table is cut off */
	if (elf_getphdrnum(ef->elf, &ef->phnum) || ef->phnum > MAX_PHDRS ||
	    (eh->e_phnum != PN_XNUM && ef->phnum != eh->e_phnum))
		return -ENOEXEC;
	if (ef->phnum == 0)
		return 0;
	if (!fits(eh->e_phoff, (uint64_t)ef->phnum * eh->e_phentsize, ef->file_size))
		return -ENOEXEC;
	ef->phdrs = calloc(ef->phnum, sizeof(*ef->phdrs));
	if (!ef->phdrs)
		return -ENOMEM;
	for (size_t i = 0; i < ef->phnum; i++) {
		GElf_Phdr *ph = &ef->phdrs[i];

		if (!gelf_getphdr(ef->elf, (int)i, ph))
			return -ENOEXEC;
		if (ph->p_type != PT_LOAD)
			continue;
		if (!fits(ph->p_offset, ph->p_filesz, ef->file_size) ||
		    ph->p_filesz > ph->p_memsz || !fits(ph->p_vaddr, ph->p_memsz, UINT64_MAX))
			return -ENOEXEC;
	}
	return 0;
}

static int check_shdrs(struct elf_file *ef, const GElf_Ehdr *eh)
{
	size_t shnum;
	Elf_Scn *scn = NULL;

	/* likewise 0 sections; e_shnum 0 with e_shoff set: extended count */
	if (elf_getshdrnum(ef->elf, &shnum) || shnum > MAX_SHDRS || (eh->e_shoff && shnum == 0) ||
	    (eh->e_shnum && shnum != eh->e_shnum))
		return -ENOEXEC;
	if (shnum == 0)
		return 0;
	if (!fits(eh->e_shoff, (uint64_t)shnum * eh->e_shentsize, ef->file_size) ||
	    elf_getshdrstrndx(ef->elf, &ef->shstrndx) || ef->shstrndx >= shnum)
		return -ENOEXEC;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type != SHT_NOBITS && !fits(sh.sh_offset, sh.sh_size, ef->file_size))
			return -ENOEXEC;
		switch (sh.sh_type) {
		case SHT_DYNSYM:
			if (!ef->dynsym)
				ef->dynsym = scn;
			break;
		case SHT_SYMTAB:
			if (!ef->symtab)
				ef->symtab = scn;
			break;
		case SHT_GNU_versym:
			if (!ef->versym)
				ef->versym = scn;
			break;
		case SHT_DYNAMIC:
			if (!ef->dynamic)
				ef->dynamic = scn;
			break;
		}
	}
	return 0;
}

struct elf_file *elf_file__open(const char *path)
{
	struct elf_file *ef;
	struct stat st;
	GElf_Ehdr eh;
	int err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return NULL;
	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fstat(ef->fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto cleanup;
	}
	ef->file_size = (uint64_t)st.st_size;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOEXEC;
		goto cleanup;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &eh)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	ef->type = eh.e_type;
	err = check_phdrs(ef, &eh);
	if (!err)
		err = check_shdrs(ef, &eh);

cleanup:
	if (err) {
		elf_file__free(ef);
		errno = -err;
		return NULL;
	}
	return ef;
}

void elf_file__free(struct elf_file *ef)
{
	if (!ef)
		return;
	elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef->phdrs);
	free(ef);
}

bool elf_file__is_dyn(const struct elf_file *ef)
{
	return ef && ef->type == ET_DYN;
}

/* Section data for a table, with its header; -ENOEXEC if unreadable. */
static int table(Elf_Scn *scn, GElf_Shdr *sh, Elf_Data **data)
{
	if (!gelf_getshdr(scn, sh))
		return -ENOEXEC;
	*data = elf_getdata(scn, NULL);
	if (!*data && sh->sh_size)
		return -ENOEXEC;
	return 0;
}

/*
 * How well sym named sname matches name: 3 exact and the default version,
 * 2 "name@@VER", 1 "name@VER" or an exact but hidden version, 0 no match.
 * The "@VER" forms count only if versioned (name has no '@' itself).
 */
static int match_rank(const char *sname, const char *name, size_t len, bool versioned, bool hidden)
{
	if (strncmp(sname, name, len))
		return 0;
	if (sname[len] == '\0')
		return hidden ? 1 : 3;
	if (!versioned || sname[len] != '@')
		return 0;
	return sname[len + 1] == '@' ? 2 : 1;
}

/* Best match for name in one symbol table: rank (0 none) or -errno. */
static int lookup(const struct elf_file *ef, Elf_Scn *scn, const char *name, GElf_Sym *best)
{
	Elf_Data *data, *vdata = NULL;
	GElf_Shdr sh, vsh;
	size_t len = strlen(name), count;
	bool versioned = !strchr(name, '@');
	int best_rank = 0, err;

	err = table(scn, &sh, &data);
	if (err || !data)
		return err;
	if (sh.sh_entsize == 0)
		return -ENOEXEC;
	count = sh.sh_size / sh.sh_entsize;
	if (ef->versym && sh.sh_type == SHT_DYNSYM && gelf_getshdr(ef->versym, &vsh) &&
	    vsh.sh_link == elf_ndxscn(scn))
		vdata = elf_getdata(ef->versym, NULL);

	for (size_t i = 1; i < count; i++) {
		GElf_Versym ver = 0;
		const char *sname;
		GElf_Sym sym;
		int rank;

		if (!gelf_getsym(data, (int)i, &sym))
			return -ENOEXEC;
		if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0)
			continue;
		sname = elf_strptr(ef->elf, sh.sh_link, sym.st_name);
		if (!sname)
			return -ENOEXEC;
		if (vdata && !gelf_getversym(vdata, (int)i, &ver))
			ver = 0;
		rank = match_rank(sname, name, len, versioned, ver & VERSYM_HIDDEN);
		if (rank > best_rank) {
			best_rank = rank;
			*best = sym;
			if (rank == 3)
				break;
		}
	}
	return best_rank;
}

int elf_file__symbol(const struct elf_file *ef, const char *name, uint64_t *value, uint64_t *size)
{
	Elf_Scn *tables[2];
	GElf_Sym sym;

	if (!ef || !name || !*name)
		return -EINVAL;
	tables[0] = ef->dynsym;
	tables[1] = ef->symtab;
	for (int t = 0; t < 2; t++) {
		int rank;

		if (!tables[t])
			continue;
		rank = lookup(ef, tables[t], name, &sym);
		if (rank < 0)
			return rank;
		if (rank > 0) {
			if (value)
				*value = sym.st_value;
			if (size)
				*size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__section(const struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size)
{
	Elf_Scn *scn = NULL;

	if (!ef || !name)
		return -EINVAL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *sname;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		sname = elf_strptr(ef->elf, ef->shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, name))
			continue;
		if (addr)
			*addr = sh.sh_addr;
		if (size)
			*size = sh.sh_size;
		return 0;
	}
	return -ENOENT;
}

/* The PT_LOAD segment whose memory image holds vaddr, or NULL. */
static const GElf_Phdr *load_segment(const struct elf_file *ef, uint64_t vaddr)
{
	for (size_t i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];

		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr &&
		    vaddr - ph->p_vaddr < ph->p_memsz)
			return ph;
	}
	return NULL;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int elf_file__read_vaddr(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	const GElf_Phdr *ph;
	uint64_t off;
	size_t in_file = 0;
	int err;

	if (!ef || (!buf && len))
		return -EINVAL;
	ph = load_segment(ef, vaddr);
	if (!ph)
		return -EFAULT;
	off = vaddr - ph->p_vaddr;
	if (len > ph->p_memsz - off)
		return -EFAULT;
	if (off < ph->p_filesz)
		in_file = len < ph->p_filesz - off ? len : (size_t)(ph->p_filesz - off);
	if (in_file) {
		err = pread_full(ef->fd, buf, in_file, ph->p_offset + off);
		if (err)
			return err;
	}
	if (len > in_file)
		memset((char *)buf + in_file, 0, len - in_file);
	return 0;
}

int elf_file__needed(const struct elf_file *ef, size_t i, const char **name)
{
	Elf_Data *data;
	GElf_Shdr sh;
	size_t count, k = 0;
	int err;

	if (!ef || !name)
		return -EINVAL;
	if (!ef->dynamic)
		return -ENOENT;
	err = table(ef->dynamic, &sh, &data);
	if (err || !data)
		return err ? err : -ENOENT;
	if (sh.sh_entsize == 0)
		return -ENOEXEC;
	count = sh.sh_size / sh.sh_entsize;
	for (size_t j = 0; j < count; j++) {
		GElf_Dyn dyn;

		if (!gelf_getdyn(data, (int)j, &dyn))
			return -ENOEXEC;
		if (dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED || k++ != i)
			continue;
		*name = elf_strptr(ef->elf, sh.sh_link, dyn.d_un.d_val);
		return *name ? 0 : -ENOEXEC;
	}
	return -ENOENT;
}

static bool is_rodata(const GElf_Shdr *sh)
{
	return sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_ALLOC) &&
	       !(sh->sh_flags & (SHF_WRITE | SHF_EXECINSTR));
}

/* First fitting occurrence of prefix in [p, end): 0, or -ENOENT. */
static int find_in(const char *p, const char *end, const char *prefix, size_t plen, char *out,
		   size_t out_size)
{
	const char *hit, *nul;

	while (p < end && (hit = memmem(p, (size_t)(end - p), prefix, plen))) {
		nul = memchr(hit, '\0', (size_t)(end - hit));
		if (!nul)
			break;
		if ((size_t)(nul - hit) < out_size) {
			memcpy(out, hit, (size_t)(nul - hit) + 1);
			return 0;
		}
		p = hit + 1;
	}
	return -ENOENT;
}

int elf_file__find_string(const struct elf_file *ef, const char *prefix, char *out, size_t out_size)
{
	Elf_Scn *scn = NULL;
	size_t plen;

	if (!ef || !prefix || !*prefix || !out || !out_size)
		return -EINVAL;
	plen = strlen(prefix);
	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data = NULL;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (!is_rodata(&sh) || sh.sh_size == 0)
			continue;
		/* a read file has one Elf_Data per section */
		data = elf_rawdata(scn, NULL);
		if (!data)
			return -EIO;
		if (data->d_buf && !find_in(data->d_buf, (char *)data->d_buf + data->d_size, prefix,
					    plen, out, out_size))
			return 0;
	}
	return -ENOENT;
}

/*
 * If mapping m can back segment ph (its file offset lies in the pages the
 * loader maps for ph, and it is not writable unless ph is), the load bias
 * this pairing implies: m->start - m->offset + p_offset - p_vaddr, in
 * modular arithmetic.
 */
static bool pair_bias(const GElf_Phdr *ph, const struct proc_map *m, uint64_t page, uint64_t *bias)
{
	if (ph->p_type != PT_LOAD || ph->p_filesz == 0 ||
	    (m->perms[1] == 'w' && !(ph->p_flags & PF_W)) ||
	    m->offset < (ph->p_offset & ~(page - 1)) ||
	    (m->offset >= ph->p_offset && m->offset - ph->p_offset >= ph->p_filesz))
		return false;
	*bias = m->start - m->offset + ph->p_offset - ph->p_vaddr;
	return true;
}

/*
 * True if mapping m agrees with load bias: the file vaddr it starts at lies
 * in the file-backed pages of a PT_LOAD segment, at the matching offset.
 */
static bool consistent(const struct elf_file *ef, const struct proc_map *m, uint64_t bias,
		       uint64_t page)
{
	uint64_t v = m->start - bias;

	for (size_t i = 0; i < ef->phnum; i++) {
		const GElf_Phdr *ph = &ef->phdrs[i];

		if (ph->p_type != PT_LOAD || ph->p_filesz == 0 || v < (ph->p_vaddr & ~(page - 1)) ||
		    (v >= ph->p_vaddr && v - ph->p_vaddr >= ph->p_filesz))
			continue;
		if (m->offset == ph->p_offset + (v - ph->p_vaddr))
			return true;
	}
	return false;
}

/*
 * Every pairing of a mapping of the file with a PT_LOAD segment it may back
 * proposes a load bias; a pairing can be wrong where two segments share a
 * file page (libpython3.12's RELRO mapping starts in the last page of
 * .rodata). The bias that the most mappings of the file agree with wins;
 * on a tie, one proposed by the segment holding vaddr.
 */
int elf_file__runtime_address(const struct elf_file *ef, const struct proc_maps *maps,
			      const struct proc_map *mapping, uint64_t vaddr, uint64_t *addr)
{
	size_t n = proc_maps__count(maps);
	const GElf_Phdr *target;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t best_bias = 0;
	long best_score = -1;

	if (!ef || !maps || !mapping || !addr)
		return -EINVAL;
	if (page <= 0 || (page & (page - 1)))
		page = 4096;
	target = load_segment(ef, vaddr);
	if (!target)
		return -EFAULT;

	for (size_t i = 0; i < n; i++) {
		const struct proc_map *m = proc_maps__get(maps, i);

		if (!proc_map__same_file(m, mapping))
			continue;
		for (size_t s = 0; s < ef->phnum; s++) {
			const GElf_Phdr *ph = &ef->phdrs[s];
			uint64_t bias;
			long score = 0;

			if (!pair_bias(ph, m, (uint64_t)page, &bias))
				continue;
			for (size_t j = 0; j < n; j++) {
				const struct proc_map *o = proc_maps__get(maps, j);

				if (proc_map__same_file(o, mapping) &&
				    consistent(ef, o, bias, (uint64_t)page))
					score += 2;
			}
			score += ph == target;
			if (score > best_score) {
				best_score = score;
				best_bias = bias;
			}
		}
	}
	if (best_score < 0)
		return -ENOENT;
	*addr = vaddr + best_bias;
	return 0;
}
