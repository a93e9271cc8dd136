#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate tests/unit/fixtures/debug_offsets_313.h from a real libpython.

The fixture holds the first bytes of the library's `.PyRuntime` section
(where _PyRuntime, and so _Py_DebugOffsets, starts) as a C array, and next
to it the truth for the same build taken from its DWARF debug info with gdb:
offsetof() of every CPython field that user/debug_offsets.c maps. The unit
test parses the bytes and compares each mapped field with the truth.

Usage (stdlib only; needs gdb and a libpython built with debug info):
    tools/gen_debug_offsets_fixture.py \\
        "$(pyenv prefix 3.13)/lib/libpython3.13.so.1.0" \\
        -o tests/unit/fixtures/debug_offsets_313.h

The output depends only on the library's bytes, so running it again on the
same build reproduces the file byte for byte.
"""

import argparse
import os
import re
import struct
import subprocess
import sys

NBYTES = 1024  # _Py_DebugOffsets is 584 bytes in 3.13; keep some slack

# (macro suffix, gdb expression) - the truth the test checks against
TRUTH = [
    ("VERSION", "(long)Py_Version"),
    ("STRUCT_SIZE", "(long)sizeof(_Py_DebugOffsets)"),
    ("RUNTIME_INTERPRETERS_HEAD",
     "(long)&((_PyRuntimeState *)0)->interpreters.head"),
    ("INTERP_ID", "(long)&((PyInterpreterState *)0)->id"),
    ("INTERP_NEXT", "(long)&((PyInterpreterState *)0)->next"),
    ("INTERP_THREADS_HEAD", "(long)&((PyInterpreterState *)0)->threads.head"),
    ("TSTATE_NEXT", "(long)&((PyThreadState *)0)->next"),
    ("TSTATE_INTERP", "(long)&((PyThreadState *)0)->interp"),
    ("TSTATE_THREAD_ID", "(long)&((PyThreadState *)0)->thread_id"),
    ("TSTATE_NATIVE_THREAD_ID",
     "(long)&((PyThreadState *)0)->native_thread_id"),
    ("TSTATE_FRAME", "(long)&((PyThreadState *)0)->current_frame"),
    ("FRAME_PREVIOUS", "(long)&((struct _PyInterpreterFrame *)0)->previous"),
    ("FRAME_CODE", "(long)&((struct _PyInterpreterFrame *)0)->f_executable"),
    ("FRAME_INSTR", "(long)&((struct _PyInterpreterFrame *)0)->instr_ptr"),
    ("FRAME_OWNER", "(long)&((struct _PyInterpreterFrame *)0)->owner"),
    ("FRAME_OWNED_BY_CSTACK", "(long)FRAME_OWNED_BY_CSTACK"),
    ("CODE_FILENAME", "(long)&((PyCodeObject *)0)->co_filename"),
    ("CODE_NAME", "(long)&((PyCodeObject *)0)->co_name"),
    ("CODE_QUALNAME", "(long)&((PyCodeObject *)0)->co_qualname"),
    ("CODE_LINETABLE", "(long)&((PyCodeObject *)0)->co_linetable"),
    ("CODE_FIRSTLINENO", "(long)&((PyCodeObject *)0)->co_firstlineno"),
    ("CODE_ARGCOUNT", "(long)&((PyCodeObject *)0)->co_argcount"),
    ("CODE_CODE_ADAPTIVE", "(long)&((PyCodeObject *)0)->co_code_adaptive"),
    ("OBJECT_TYPE", "(long)&((PyObject *)0)->ob_type"),
    ("UNICODE_STATE", "(long)&((PyASCIIObject *)0)->state"),
    ("UNICODE_LENGTH", "(long)&((PyASCIIObject *)0)->length"),
    ("UNICODE_ASCII_SIZE", "(long)sizeof(PyASCIIObject)"),
    ("UNICODE_COMPACT_SIZE", "(long)sizeof(PyCompactUnicodeObject)"),
    ("BYTES_SIZE", "(long)&((PyBytesObject *)0)->ob_base.ob_size"),
    ("BYTES_SVAL", "(long)&((PyBytesObject *)0)->ob_sval"),
]


def die(msg):
    sys.exit("gen_debug_offsets_fixture: " + msg)


def elf_sections(data):
    """Yield (name, type, addr, offset, size) for each section of an ELF64
    little-endian file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        die("not a 64-bit little-endian ELF file")
    (e_shoff,) = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if e_shentsize != 64 or e_shoff == 0 or e_shstrndx >= e_shnum:
        die("unexpected ELF section header table")
    hdrs = []
    for i in range(e_shnum):
        # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size
        hdrs.append(struct.unpack_from("<IIQQQQ", data, e_shoff + i * 64))
    strtab_off, strtab_size = hdrs[e_shstrndx][4], hdrs[e_shstrndx][5]
    strtab = data[strtab_off:strtab_off + strtab_size]
    for sh_name, sh_type, _flags, addr, off, size in hdrs:
        end = strtab.index(b"\0", sh_name)
        yield strtab[sh_name:end].decode(), sh_type, addr, off, size


def build_id(data):
    for name, _type, _addr, off, size in elf_sections(data):
        if name != ".note.gnu.build-id":
            continue
        namesz, descsz, ntype = struct.unpack_from("<III", data, off)
        desc = off + 12 + ((namesz + 3) & ~3)
        if ntype == 3 and desc + descsz <= off + size:  # NT_GNU_BUILD_ID
            return data[desc:desc + descsz].hex()
    return None


def gdb_values(lib, exprs):
    cmd = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off"]
    for e in exprs:
        cmd += ["-ex", "print " + e]
    cmd.append(lib)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL="C")).stdout
    vals = [int(m) for m in re.findall(r"^\$\d+ = (-?\d+)$", out, re.M)]
    if len(vals) != len(exprs):
        die("gdb answered %d of %d expressions; is there debug info?\n%s"
            % (len(vals), len(exprs), out))
    return vals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("libpython", help="path to libpython3.13.so.1.0")
    ap.add_argument("-o", "--output", help="output file (default: stdout)")
    args = ap.parse_args()

    with open(args.libpython, "rb") as f:
        data = f.read()
    sec = [s for s in elf_sections(data) if s[0] == ".PyRuntime"]
    if len(sec) != 1 or sec[0][1] != 1:  # SHT_PROGBITS
        die("%s has no .PyRuntime PROGBITS section" % args.libpython)
    _name, _type, addr, off, size = sec[0]
    if size < NBYTES:
        die(".PyRuntime is only %d bytes" % size)
    blob = data[off:off + NBYTES]

    exprs = [e for _, e in TRUTH] + ["(long)&_PyRuntime"]
    vals = gdb_values(args.libpython, exprs)
    if vals[-1] != addr:
        die("_PyRuntime (%#x) is not at the start of .PyRuntime (%#x)"
            % (vals[-1], addr))
    truth = dict(zip((n for n, _ in TRUTH), vals))

    lines = [
        "/* SPDX-License-Identifier: MIT */",
        "/*",
        " * Generated by tools/gen_debug_offsets_fixture.py; do not edit.",
        " * Source: %s, GNU build-id %s."
        % (os.path.basename(args.libpython), build_id(data) or "(none)"),
        " * Regenerate with:",
        " *   tools/gen_debug_offsets_fixture.py \\",
        " *       \"$(pyenv prefix 3.13)/lib/libpython3.13.so.1.0\" \\",
        " *       -o tests/unit/fixtures/debug_offsets_313.h",
        " *",
        " * debug_offsets_313: the first %d bytes of the .PyRuntime section,"
        % NBYTES,
        " * i.e. of _PyRuntime, which starts with _Py_DebugOffsets.",
        " * DEBUG_OFFSETS_313_*: the same build's truth from DWARF via gdb.",
        " */",
        "#ifndef PYEBPF_FIXTURE_DEBUG_OFFSETS_313_H",
        "#define PYEBPF_FIXTURE_DEBUG_OFFSETS_313_H",
        "",
        "static const unsigned char debug_offsets_313[%d] = {" % NBYTES,
    ]
    for i in range(0, NBYTES, 12):
        lines.append("\t" + " ".join("0x%02x," % b for b in blob[i:i + 12]))
    lines.append("};")
    lines.append("")
    width = max(len(n) for n, _ in TRUTH)
    for name, expr in TRUTH:
        val = truth[name]
        text = "0x%08x" % val if name == "VERSION" else str(val)
        lines.append("#define DEBUG_OFFSETS_313_%-*s %s" % (width, name, text))
    lines += ["", "#endif /* PYEBPF_FIXTURE_DEBUG_OFFSETS_313_H */", ""]
    out = "\n".join(lines)

    if args.output:
        with open(args.output, "w") as f:
            f.write(out)
    else:
        sys.stdout.write(out)


if __name__ == "__main__":
    main()
