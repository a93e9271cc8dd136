/* SPDX-License-Identifier: MIT */
/*
 * Read-only access to an ELF file (executable or shared object) with libelf:
 * symbols, sections, the bytes behind a virtual address, DT_NEEDED entries,
 * strings in read-only data, and where a virtual address of the file lives
 * in a process that mapped it.
 *
 * elf_file__open() checks the headers up front: every program header, the
 * section header table and every section with file contents must lie inside
 * the file, so later calls never read past a truncated file.
 * All addresses are the file's virtual addresses (st_value, sh_addr,
 * p_vaddr) unless said otherwise. Both ELF classes and byte orders are
 * read (libelf converts); nothing here depends on the host's ELF type.
 */
#ifndef PYEBPF_ELF_FILE_H
#define PYEBPF_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_maps.h"

struct elf_file;

/*
 * Opens and checks the ELF file at path. Returns a new object to free with
 * elf_file__free(), or NULL with errno: from open(2) (ENOENT, EACCES...),
 * EISDIR for a directory, EINVAL for another non-regular file, ENOEXEC for
 * a file that is not ELF or is truncated or inconsistent, ENOMEM.
 */
struct elf_file *elf_file__open(const char *path);

/* Closes the file and frees everything it returned. Accepts NULL. */
void elf_file__free(struct elf_file *ef);

/* True for ET_DYN (shared object, PIE), false for ET_EXEC and others. */
bool elf_file__is_dyn(const struct elf_file *ef);

/*
 * Looks up a defined symbol (st_shndx != SHN_UNDEF) by name, in .dynsym and
 * then in .symtab (static symbols such as CPython 3.6's interp_head are only
 * there). The name matches exactly; an unversioned name also matches
 * "name@@VER" (preferred) and "name@VER" entries of .symtab, and in .dynsym
 * the default version wins over hidden ones (libc's memcpy gives
 * memcpy@@GLIBC_2.14, not memcpy@GLIBC_2.2.5). A name holding '@' matches
 * only exactly (a .symtab entry "memcpy@GLIBC_2.2.5"; .dynsym names carry no
 * version). For a TLS symbol the value is
 * an offset in the TLS block. value and size may be NULL.
 * Returns 0, -ENOENT if there is no such symbol, -EINVAL for bad arguments,
 * -ENOEXEC if a symbol table is corrupt.
 */
int elf_file__symbol(const struct elf_file *ef, const char *name, uint64_t *value, uint64_t *size);

/*
 * The address (sh_addr) and size of the first section with this name, e.g.
 * ".PyRuntime". addr and size may be NULL.
 * Returns 0 or -ENOENT, -EINVAL.
 */
int elf_file__section(const struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size);

/*
 * Copies len bytes at virtual address vaddr as the loader maps them from the
 * file: the range must lie inside one PT_LOAD segment; bytes past the
 * segment's p_filesz (.bss) read as zero. This is the initial content:
 * writable data may differ in a running process.
 * Returns 0, -EFAULT if the range is not inside one PT_LOAD segment, -EIO
 * for a short read, -EINVAL for bad arguments.
 */
int elf_file__read_vaddr(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);

/*
 * The i-th DT_NEEDED entry (0-based) of the .dynamic section, e.g.
 * "libpython3.12.so.1.0"; *name is owned by ef and lives until
 * elf_file__free(). Returns 0, -ENOENT if there are not i + 1 entries (or
 * no .dynamic), -ENOEXEC if the dynamic section is corrupt, -EINVAL.
 */
int elf_file__needed(const struct elf_file *ef, size_t i, const char **name);

/*
 * Finds the first occurrence of prefix in read-only data (allocated
 * SHT_PROGBITS sections that are neither writable nor executable, such as
 * .rodata, in section order) and copies the NUL-terminated string that
 * starts there into out. The occurrence need not start a string: linkers
 * merge string tails, so CPython 3.12's PY_VERSION "3.12.1" is the tail of
 * "/root/.pyenv/versions/3.12.1". Occurrences whose string is not
 * terminated inside the section, or does not fit in out_size - 1 bytes, are
 * skipped. prefix must not be empty.
 * Returns 0, -ENOENT if there is none, -EINVAL, -EIO.
 */
int elf_file__find_string(const struct elf_file *ef, const char *prefix, char *out,
			  size_t out_size);

/*
 * Where the file's virtual address vaddr lives in a process whose mappings
 * are maps. mapping is any mapping of this file in maps (for example from
 * proc_maps__find_basename()); all mappings of the same file
 * (proc_map__same_file()) are considered. The result comes from a mapping
 * that backs the PT_LOAD segment containing vaddr:
 *	*addr = map.start - map.offset + (vaddr - p_vaddr + p_offset)
 * which is right for ET_EXEC (the result is vaddr itself) and for ET_DYN
 * loaded anywhere, with several mappings per segment (RELRO) and segments
 * sharing a file page. If no mapping backs that segment (say it is pure
 * .bss), the load bias of another segment's mapping is used, as ld.so maps
 * every segment of an object with one bias. vaddr may be in .bss; the
 * result then lies in the anonymous mapping after the file's last page.
 * Segments "share a file page" in units of this host's page size, the
 * target's too. When pairings disagree, the load bias most mappings of the
 * file agree with wins. The caller must make sure mapping really is this
 * file (same path, or opened through /proc/PID/map_files).
 * Returns 0, -EFAULT if vaddr is in no PT_LOAD segment, -ENOENT if no
 * mapping of the file backs any PT_LOAD segment, -EINVAL.
 */
int elf_file__runtime_address(const struct elf_file *ef, const struct proc_maps *maps,
			      const struct proc_map *mapping, uint64_t vaddr, uint64_t *addr);

#endif /* PYEBPF_ELF_FILE_H */
