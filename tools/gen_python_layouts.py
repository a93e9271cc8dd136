#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate user/python_layouts_table.c from the debug info of real CPythons.

For every minor version 3.6 to 3.12 this finds the interpreter with
`pyenv prefix 3.X`, asks gdb to evaluate offsetof()/sizeof() expressions
against that version's libpython (DWARF, no process needed) and writes one
`struct py_layout` per version; for 3.13 only the GIL's layout (`struct
py_gil_layout`), which its _Py_DebugOffsets give in part. The output
depends only on the debug info, so running the script twice gives the
same bytes.

    python3 tools/gen_python_layouts.py           # rewrite the table
    python3 tools/gen_python_layouts.py --check   # exit 1 if it is stale

Needs gdb (with Python) and x86-64 CPython builds with debug info (-g), e.g.
the ones pyenv builds. 3.13 and later are otherwise not tabulated: the
loader reads their _Py_DebugOffsets instead.
"""

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = "user/python_layouts_table.c"
MINORS = range(6, 13)
GIL_ONLY_MINORS = (13,)

PTR, LONG, INT, CHAR = 8, 8, 4, 1
COND = 48  # pthread_cond_t on x86-64 glibc and musl
NO_FIELD = "PYEBPF_NO_FIELD"

# The structs the generated initializers fill, read from these headers so
# that a field added to the contract without a rule here fails loudly.
HEADERS = {
    "pyebpf_py_offsets": "include/pyebpf.h",
    "py_layout": "user/python_layout.h",
    "py_gil_layout": "user/python_layout.h",
}
# Members of struct py_layout that are structs themselves: field paths
# inside them are "member.field".
NESTED = {"bpf": "pyebpf_py_offsets", "gil": "py_gil_layout"}


class Off:
    """offsetof(ctype, member), checked to be `width` bytes wide."""

    def __init__(self, ctype, member, width):
        self.ctype, self.member, self.width = ctype, member, width

    def exprs(self):
        obj = "((%s *)0)->%s" % (self.ctype, self.member)
        return {"value": "(long)&%s" % obj, "width": "sizeof(%s)" % obj}


class Embedded:
    """offsetof(ctype, member), a member that is a whole `struct`."""

    def __init__(self, ctype, member, struct):
        self.ctype, self.member, self.struct = ctype, member, struct

    def exprs(self):
        obj = "((%s *)0)->%s" % (self.ctype, self.member)
        return {"value": "(long)&%s" % obj, "width": "sizeof(%s)" % obj,
                "want": "sizeof(%s)" % self.struct}


class Size:
    """sizeof(ctype)."""

    def __init__(self, ctype):
        self.ctype = ctype

    def exprs(self):
        return {"value": "sizeof(%s)" % self.ctype}


class Enum:
    """The value of an enumerator, as the debug info has it."""

    def __init__(self, name):
        self.name = name

    def exprs(self):
        return {"value": "(int)%s" % self.name}


class Const:
    """A C token written as is: a field the version does not have, or a
    choice between encodings that the field types above confirm."""

    def __init__(self, token):
        self.token = token

    def exprs(self):
        return {}


ABSENT = Const(NO_FIELD)


def rules(minor):
    """What each py_layout field is in CPython 3.<minor>.

    Keys are field paths in struct py_layout; `bpf.` is the embedded struct
    pyebpf_py_offsets. Every offset is read from the target's debug info.
    """
    tstate, interp = "PyThreadState", "PyInterpreterState"
    code = "PyCodeObject"
    # 3.11 moved the executing frame out of PyFrameObject into
    # _PyInterpreterFrame, reached through tstate->cframe->current_frame.
    frame = "PyFrameObject" if minor <= 10 else "_PyInterpreterFrame"
    r = {}

    r["major"] = Const("3")
    r["minor"] = Const(str(minor))

    r["bpf.interp_next"] = Off(interp, "next", PTR)
    # 3.11 grouped the thread list into interp->threads
    r["bpf.interp_threads_head"] = Off(
        interp, "tstate_head" if minor <= 10 else "threads.head", PTR)
    r["bpf.tstate_next"] = Off(tstate, "next", PTR)
    r["bpf.tstate_thread_id"] = Off(tstate, "thread_id", LONG)
    # native_thread_id arrived in 3.11 (bpo-43879)
    r["bpf.tstate_native_thread_id"] = (
        Off(tstate, "native_thread_id", LONG) if minor >= 11 else ABSENT)
    if minor <= 10:
        r["bpf.tstate_frame"] = Off(tstate, "frame", PTR)
        r["bpf.tstate_cframe"] = ABSENT
        r["bpf.cframe_current_frame"] = ABSENT
    else:
        r["bpf.tstate_frame"] = ABSENT
        r["bpf.tstate_cframe"] = Off(tstate, "cframe", PTR)
        r["bpf.cframe_current_frame"] = Off("_PyCFrame", "current_frame", PTR)
    # 3.11 moved frames onto per-thread data stack chunks
    if minor <= 10:
        r["bpf.tstate_datastack_chunk"] = ABSENT
        r["bpf.stack_chunk_data"] = ABSENT
    else:
        r["bpf.tstate_datastack_chunk"] = Off(tstate, "datastack_chunk", PTR)
        r["bpf.stack_chunk_data"] = Off("_PyStackChunk", "data", PTR)
    if minor <= 10:
        r["bpf.frame_previous"] = Off(frame, "f_back", PTR)
        r["bpf.frame_instr"] = Off(frame, "f_lasti", INT)
        r["bpf.frame_instr_kind"] = Const("PYEBPF_INSTR_LASTI")
    else:
        r["bpf.frame_previous"] = Off(frame, "previous", PTR)
        r["bpf.frame_instr"] = Off(frame, "prev_instr", PTR)
        r["bpf.frame_instr_kind"] = Const("PYEBPF_INSTR_POINTER")
    r["bpf.frame_code"] = Off(frame, "f_code", PTR)
    r["bpf.frame_globals"] = Off(frame, "f_globals", PTR)
    # the function object moved into the frame in 3.11 (renamed in 3.12)
    r["bpf.frame_funcobj"] = (ABSENT if minor <= 10 else
                              Off(frame, "f_func" if minor == 11 else "f_funcobj", PTR))
    r["bpf.code_name"] = Off(code, "co_name", PTR)
    r["bpf.code_filename"] = Off(code, "co_filename", PTR)
    # 3.12 pushes a shim frame owned by the C stack on every entry into
    # the eval loop; 3.11 has `owner` but no such frames.
    if minor >= 12:
        r["bpf.frame_owner"] = Off(frame, "owner", CHAR)
        r["bpf.frame_owner_shim_min"] = Enum("FRAME_OWNED_BY_CSTACK")
    else:
        r["bpf.frame_owner"] = ABSENT
        r["bpf.frame_owner_shim_min"] = Const("255")
    r["bpf.code_argcount"] = Off(code, "co_argcount", INT)
    r["bpf.code_firstlineno"] = Off(code, "co_firstlineno", INT)
    r["bpf.pad"] = Const("{ 0, 0 }")

    # 3.6 has no _PyRuntime; its interpreter list starts at `interp_head`
    if minor >= 7:
        r["runtime_interpreters_head"] = Off(
            "_PyRuntimeState", "interpreters.head", PTR)
        r["interp_id"] = Off(interp, "id", LONG)
    else:
        r["runtime_interpreters_head"] = ABSENT
        r["interp_id"] = ABSENT
    r["tstate_interp"] = Off(tstate, "interp", PTR)

    r["code_filename"] = Off(code, "co_filename", PTR)
    r["code_name"] = Off(code, "co_name", PTR)
    r["code_qualname"] = (
        Off(code, "co_qualname", PTR) if minor >= 11 else ABSENT)
    r["code_firstlineno"] = Off(code, "co_firstlineno", INT)
    r["code_argcount"] = Off(code, "co_argcount", INT)
    if minor <= 9:
        r["code_linetable"] = Off(code, "co_lnotab", PTR)
        r["linetable_kind"] = Const("PY_LINETABLE_LNOTAB")
    else:
        r["code_linetable"] = Off(code, "co_linetable", PTR)
        r["linetable_kind"] = Const(
            "PY_LINETABLE_310" if minor == 10 else "PY_LINETABLE_LOCATIONS")
    r["code_code_adaptive"] = (
        Off(code, "co_code_adaptive", CHAR) if minor >= 11 else ABSENT)

    r["object_type"] = Off("PyObject", "ob_type", PTR)
    r["unicode_length"] = Off("PyASCIIObject", "length", LONG)
    r["unicode_state"] = Off("PyASCIIObject", "state", INT)
    r["unicode_ascii_size"] = Size("PyASCIIObject")
    r["unicode_compact_size"] = Size("PyCompactUnicodeObject")
    r["bytes_size"] = Off("PyBytesObject", "ob_base.ob_size", LONG)
    r["bytes_sval"] = Off("PyBytesObject", "ob_sval", CHAR)
    r.update(object_rules(minor))
    r.update(gil_rules(minor))
    return r


def object_rules(minor):
    """Dicts, ints, modules and instance attributes in CPython 3.<minor>:
    what thread_names.c reads to find threading.Thread names."""
    interp, typ, dct = "PyInterpreterState", "PyTypeObject", "PyDictObject"
    keys, long_ = "PyDictKeysObject", "PyLongObject"
    r = {}
    # 3.12 grouped the import state into interp->imports
    r["interp_modules"] = Off(
        interp, "modules" if minor <= 11 else "imports.modules", PTR)
    r["module_dict"] = Off("PyModuleObject", "md_dict", PTR)
    r["type_basicsize"] = Off(typ, "tp_basicsize", LONG)
    r["type_flags"] = Off(typ, "tp_flags", LONG)
    r["type_dictoffset"] = Off(typ, "tp_dictoffset", LONG)
    r["heaptype_cached_keys"] = Off("PyHeapTypeObject", "ht_cached_keys", PTR)
    # 3.11 moved instance dicts before the object (managed dicts), 3.12
    # tagged the pointer there (PyDictOrValues)
    r["attrs_kind"] = Const({11: "PY_ATTRS_MANAGED_311",
                             12: "PY_ATTRS_MANAGED_312"}.get(
                                 minor, "PY_ATTRS_DICTOFFSET"))
    r["dict_keys"] = Off(dct, "ma_keys", PTR)
    r["dict_values"] = Off(dct, "ma_values", PTR)
    # 3.11 stores the table's size as log2 and says what its entries are
    if minor <= 10:
        r["dictkeys_size"] = Off(keys, "dk_size", LONG)
        r["dictkeys_log2_size"] = ABSENT
        r["dictkeys_log2_index_bytes"] = ABSENT
        r["dictkeys_kind"] = ABSENT
        r["dictkeys_unicode_entry_size"] = ABSENT
    else:
        r["dictkeys_size"] = ABSENT
        r["dictkeys_log2_size"] = Off(keys, "dk_log2_size", CHAR)
        r["dictkeys_log2_index_bytes"] = Off(keys, "dk_log2_index_bytes",
                                             CHAR)
        r["dictkeys_kind"] = Off(keys, "dk_kind", CHAR)
        r["dictkeys_unicode_entry_size"] = Size("PyDictUnicodeEntry")
    r["dictkeys_nentries"] = Off(keys, "dk_nentries", LONG)
    r["dictkeys_indices"] = Off(keys, "dk_indices", 0)  # flexible array
    r["dictkeys_entry_size"] = Size("PyDictKeyEntry")
    # ma_values was a bare PyObject ** before 3.11's PyDictValues; the
    # capacity and valid bytes came with 3.13's inline values
    r["dictvalues_values"] = (Const("0") if minor <= 10 else
                              Off("PyDictValues", "values", PTR))
    r["dictvalues_capacity"] = ABSENT
    r["dictvalues_valid"] = ABSENT
    # 3.12 replaced ob_size with lv_tag (sign and digit count)
    if minor <= 11:
        r["long_size"] = Off(long_, "ob_base.ob_size", LONG)
        r["long_tag"] = ABSENT
        r["long_digits"] = Off(long_, "ob_digit", INT)
    else:
        r["long_size"] = ABSENT
        r["long_tag"] = Off(long_, "long_value.lv_tag", LONG)
        r["long_digits"] = Off(long_, "long_value.ob_digit", INT)
    return r


def gil_rules(minor):
    """The `gil.` fields of py_layout in CPython 3.<minor>."""
    gil = "struct _gil_runtime_state"
    r = {}
    if minor <= 6:
        # static variables of ceval.c, found by symbol name
        for field in struct_fields("py_gil_layout"):
            r["gil." + field] = ABSENT
        return r
    # 3.7 to 3.11 embed one GIL in _PyRuntime; 3.12 gave each interpreter
    # a pointer to its GIL (PEP 684), and the main interpreter, itself
    # inside _PyRuntime, owns its own
    if minor <= 11:
        r["gil.runtime_gil"] = Embedded("_PyRuntimeState", "ceval.gil", gil)
        r["gil.interp_gil_ptr"] = ABSENT
    else:
        r["gil.runtime_gil"] = Embedded(
            "_PyRuntimeState", "_main_interpreter._gil", gil)
        r["gil.interp_gil_ptr"] = Off("PyInterpreterState", "ceval.gil", PTR)
    r["gil.last_holder"] = Off(gil, "last_holder", PTR)
    r["gil.locked"] = Off(gil, "locked", INT)
    r["gil.cond"] = Off(gil, "cond", COND)
    r["gil.size"] = Size(gil)
    return r


def die(msg):
    sys.exit("gen_python_layouts: %s" % msg)


def struct_fields(name):
    """Member names of `struct name` in header order, from the header."""
    path = os.path.join(ROOT, HEADERS[name])
    with open(path) as f:
        text = f.read()
    m = re.search(r"^struct %s \{\n(.*?)^\};" % name, text, re.M | re.S)
    if not m:
        die("cannot find struct %s in %s" % (name, HEADERS[name]))
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    fields = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        m = re.match(r"(?:(?:struct|enum)\s+)?\w+\s+(.*)$", decl, re.S)
        if not m:
            die("cannot parse %r in struct %s" % (decl, name))
        for declarator in m.group(1).split(","):
            fields.append(re.sub(r"\[.*\]", "", declarator).strip())
    return fields


def layout_paths():
    """Every field path a py_layout initializer must set, in header order."""
    paths = []
    for field in struct_fields("py_layout"):
        if field in NESTED:
            paths += [field + "." + f for f in struct_fields(NESTED[field])]
        else:
            paths.append(field)
    return paths


def gil_paths():
    """The field paths of a GIL-only entry, "gil." dropped when rendered."""
    return ["gil." + f for f in struct_fields("py_gil_layout")]


def run(argv):
    try:
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              universal_newlines=True).stdout
    except FileNotFoundError:
        die("cannot run '%s': not installed" % argv[0])
    except subprocess.CalledProcessError as e:
        die("'%s' failed: %s" % (" ".join(argv), e.stderr.strip()))


INFO_SCRIPT = """\
import sys, sysconfig
v = sysconfig.get_config_var
print("%d.%d.%d" % sys.version_info[:3])
print(v("Py_ENABLE_SHARED") or 0)
print(v("LIBDIR"))
print(v("INSTSONAME"))
print(sys.executable)
"""


def find_interpreter(minor):
    """(patch version, ELF file holding the interpreter's debug info)."""
    prefix = run(["pyenv", "prefix", "3.%d" % minor]).strip()
    exe = os.path.join(prefix, "bin", "python3.%d" % minor)
    version, shared, libdir, soname, exe = run(
        [exe, "-c", INFO_SCRIPT]).splitlines()
    if not version.startswith("3.%d." % minor):
        die("'%s' is Python %s, not 3.%d" % (exe, version, minor))
    elf = os.path.join(libdir, soname) if int(shared) else exe
    with open(elf, "rb") as f:
        header = f.read(20)
    if header[:5] != b"\x7fELF\x02" or header[18:20] != b"\x3e\x00":
        die("'%s' is not an x86-64 ELF file" % elf)
    return version, elf


# Runs inside gdb: evaluates the expressions of a JSON file and prints
# the results (or gdb's error for each) as JSON after a marker.
GDB_SCRIPT = """\
import json
import gdb

with open(%(input)r) as f:
    exprs = json.load(f)
out = {}
for key, expr in exprs.items():
    try:
        out[key] = int(gdb.parse_and_eval(expr))
    except gdb.error as e:
        out[key] = "%%s: %%s" %% (expr, e)
print("PYEBPF-LAYOUT " + json.dumps(out))
"""


def gdb_eval(elf, exprs):
    """Evaluate {key: C expression} against the debug info of `elf`."""
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "exprs.json")
        script = os.path.join(tmp, "eval.py")
        with open(inp, "w") as f:
            json.dump(exprs, f)
        with open(script, "w") as f:
            f.write(GDB_SCRIPT % {"input": inp})
        out = run(["gdb", "-batch", "-nx", "-iex", "set auto-load off",
                   "-iex", "set debuginfod enabled off", "-x", script, elf])
    for line in out.splitlines():
        if line.startswith("PYEBPF-LAYOUT "):
            return json.loads(line[len("PYEBPF-LAYOUT "):])
    die("gdb printed no result for '%s'" % elf)


def measure(minor, paths):
    """(patch version, {field path: C token}) for 3.<minor>; `paths` is
    every field of a py_layout, or only the GIL's."""
    r = rules(minor) if paths != gil_paths() else gil_rules(minor)
    if sorted(r) != sorted(paths):
        die("rules for 3.%d do not match the headers: missing %s, unknown %s"
            % (minor, sorted(set(paths) - set(r)),
               sorted(set(r) - set(paths))))
    version, elf = find_interpreter(minor)
    exprs = {"pointer": "sizeof(void *)"}
    for path, rule in r.items():
        for what, expr in rule.exprs().items():
            exprs["%s %s" % (path, what)] = expr
    got = gdb_eval(elf, exprs)
    errors = sorted(v for v in got.values() if isinstance(v, str))
    if errors:
        die("3.%d ('%s'): %s" % (minor, elf, "; ".join(errors)))
    if got["pointer"] != PTR:
        die("3.%d ('%s'): pointers are %d bytes, want %d"
            % (minor, elf, got["pointer"], PTR))
    values = {}
    for path in paths:
        rule = r[path]
        if isinstance(rule, Const):
            values[path] = rule.token
            continue
        value = got[path + " value"]
        if isinstance(rule, Off) and got[path + " width"] != rule.width:
            die("3.%d: %s.%s is %d bytes wide, want %d" % (
                minor, rule.ctype, rule.member, got[path + " width"],
                rule.width))
        if isinstance(rule, Embedded) and got[path + " width"] != got[
                path + " want"]:
            die("3.%d: %s.%s is not a %s" % (
                minor, rule.ctype, rule.member, rule.struct))
        # the kernel's offsets are __s16, the others int
        limit = 32768 if path.startswith("bpf.") else 1 << 31
        if not 0 <= value < limit:
            die("3.%d: %s = %d is out of range" % (minor, path, value))
        values[path] = str(value)
    return version, values


HEAD = """\
// SPDX-License-Identifier: MIT
/*
 * CPython 3.6 to 3.12 layouts for x86-64 GIL builds, and the GIL's alone
 * for 3.13, read from the DWARF debug info of real builds. GENERATED by
 * tools/gen_python_layouts.py: do not edit. To regenerate (needs gdb and
 * debug builds from pyenv):
 *
 *     python3 tools/gen_python_layouts.py
 *
 * and `python3 tools/gen_python_layouts.py --check` tells whether this
 * file is up to date.
 *
%(versions)s
 */
#include <errno.h>

#include "python_layout.h"

/* clang-format off */
"""

LOOKUP = """
static const struct py_layout *const py_layouts[] = {
%(entries)s};

static const struct {
	int major, minor;
	const struct py_gil_layout *gil;
} py_gil_layouts[] = {
%(gil_entries)s};
/* clang-format on */

const struct py_layout *py_layout_table_lookup(int major, int minor)
{
	size_t i;

	for (i = 0; i < sizeof(py_layouts) / sizeof(py_layouts[0]); i++) {
		if (py_layouts[i]->major == major &&
		    py_layouts[i]->minor == minor)
			return py_layouts[i];
	}
	errno = ENOENT;
	return NULL;
}

const struct py_gil_layout *py_gil_layout_table_lookup(int major, int minor)
{
	size_t i;

	for (i = 0; i < sizeof(py_gil_layouts) / sizeof(py_gil_layouts[0]); i++) {
		if (py_gil_layouts[i].major == major &&
		    py_gil_layouts[i].minor == minor)
			return py_gil_layouts[i].gil;
	}
	errno = ENOENT;
	return NULL;
}
"""


def render_fields(values, strip=""):
    """Designated initializers for {field path: C token}, nested structs
    opened and closed as their paths go; `strip` is a prefix to drop."""
    out, nested = [], None
    for path, token in values.items():
        path = path[len(strip):]
        outer, _, inner = path.rpartition(".")
        if outer != nested:
            if nested:
                out.append("\t},\n")
            if outer:
                out.append("\t.%s = {\n" % outer)
            nested = outer
        indent = "\t\t" if nested else "\t"
        out.append("%s.%s = %s,\n" % (indent, inner, token))
    if nested:
        out.append("\t},\n")
    return out


def render(layouts, gil_layouts):
    """The C file for [(minor, patch version, values)] of whole layouts and
    of GIL-only ones."""
    versions = [v for _, v, _ in layouts + gil_layouts]
    measured = "Measured on CPython %s and %s." % (", ".join(versions[:-1]),
                                                   versions[-1])
    out = [HEAD % {"versions": textwrap.fill(measured, 78,
                                             initial_indent=" * ",
                                             subsequent_indent=" * ")}]
    for minor, _, values in layouts:
        out.append("\nstatic const struct py_layout py_3_%d = {\n" % minor)
        out += render_fields(values)
        out.append("};\n")
    for minor, _, values in gil_layouts:
        out.append("\nstatic const struct py_gil_layout py_gil_3_%d = {\n"
                   % minor)
        out += render_fields(values, "gil.")
        out.append("};\n")
    entries = "".join("\t&py_3_%d,\n" % minor for minor, _, _ in layouts)
    gil_entries = "".join("\t{ 3, %d, &py_3_%d.gil },\n" % (minor, minor)
                          for minor, _, _ in layouts)
    gil_entries += "".join("\t{ 3, %d, &py_gil_3_%d },\n" % (minor, minor)
                           for minor, _, _ in gil_layouts)
    out.append(LOOKUP % {"entries": entries, "gil_entries": gil_entries})
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if %s differs from what would be "
                    "generated; write nothing" % OUTPUT)
    args = ap.parse_args()

    paths = layout_paths()
    layouts, gil_layouts = [], []
    for minor in MINORS:
        version, values = measure(minor, paths)
        layouts.append((minor, version, values))
    for minor in GIL_ONLY_MINORS:
        version, values = measure(minor, gil_paths())
        gil_layouts.append((minor, version, values))
    text = render(layouts, gil_layouts)

    path = os.path.join(ROOT, OUTPUT)
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = None
    if args.check:
        if old == text:
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            (old or "").splitlines(True), text.splitlines(True),
            "a/" + OUTPUT, "b/" + OUTPUT))
        print("gen_python_layouts: %s is stale; run "
              "'python3 tools/gen_python_layouts.py'" % OUTPUT,
              file=sys.stderr)
        return 1
    if old != text:
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
