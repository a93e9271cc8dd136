#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate tests/unit/linetable_fixtures.h: CPython's own line numbers for
every instruction of every code object in a sample file, for every installed
CPython 3.6 - 3.13, with the raw line tables they come from.

    python3 tools/gen_linetable_fixtures.py          # rewrite the header
    python3 tools/gen_linetable_fixtures.py --check  # exit 1 if it is stale

Each interpreter is found with `pyenv prefix 3.N` (or the environment
variable PYEBPF_PYTHON_3_N, a path to the interpreter) and runs this same
file with --dump, which compiles tests/unit/fixtures/linetable_sample.py and
a few generated sources (line gaps too long for the sample file), adds a few
hand-made tables with entries compilers rarely emit, and prints JSON: per code
object the table (co_lnotab up to 3.9, co_linetable from 3.10), co_firstlineno
and the line of each code unit. That line is what the interpreter reports:
code.co_lines() from 3.10, dis.findlinestarts() before (the line of an offset
is that of the last line start at or before it); --dump checks that it agrees
with PyCode_Addr2Line() (through ctypes) at every offset and fails otherwise.
3.11 and later run twice, the second time with -X no_debug_ranges (tables
without columns).

This file must stay valid Python 3.6: every interpreter parses it.
Standard library only.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = "tests/unit/fixtures/linetable_sample.py"
OUTPUT = "tests/unit/linetable_fixtures.h"
MINORS = range(6, 14)

KIND_LNOTAB = "PY_LINETABLE_LNOTAB"
KIND_310 = "PY_LINETABLE_310"
KIND_LOCATIONS = "PY_LINETABLE_LOCATIONS"

# 3.11+ location entry codes (Objects/locations.md)
LOC_ONE_LINE0 = 10
LOC_NO_COLUMNS = 13
LOC_LONG = 14
LOC_NONE = 15


def kind_of(minor):
    if minor <= 9:
        return KIND_LNOTAB
    if minor == 10:
        return KIND_310
    return KIND_LOCATIONS


# ---------------------------------------------------------------------------
# --dump: runs inside the interpreter being recorded


def generated_sources():
    """Sources the sample file cannot hold: jumps of thousands of lines.

    Returns (name, source) pairs."""
    far = ("def far(a, g):\n"
           "    b = a\n"
           + "\n" * 70000 +  # +70000 lines: a 3-byte varint from 3.11
           "    c = g(b,\n"
           + "\n" * 3000 +  # the call is on its first line: -3000 back
           "          a)\n"
           "    return c\n")
    return [("<far>", far)]


def varint(value):
    out = []
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    out.append(value)
    return out


def svarint(value):
    return varint((-value << 1) | 1 if value < 0 else value << 1)


def loc_entry(code, units, rest):
    return [0x80 | (code << 3) | (units - 1)] + rest


def crafted_tables(minor, code_len):
    """Valid tables with entries compilers rarely or never emit, for a code
    object of code_len bytes with co_firstlineno 500. Returns (name, table)
    pairs; CPython decodes them like any other."""
    tables = [("crafted_empty", b"")]
    if minor <= 9:
        # 3.6/3.7 compilers never emit a negative line increment
        pairs = [(0, 3), (4, -2), (2, 127), (0, 127), (2, -128), (255, 0),
                 (255, 5), (6, -1), (1, 2), (3, 1), (0, -128), (0, -128),
                 (10, 100), (2, -100)]
        tables.append(("crafted_lnotab",
                       bytes(b for a, l in pairs for b in (a, l & 0xff))))
        return tables
    if minor == 10:
        pairs = [(0, 5), (4, -128), (6, -3), (254, 0), (254, -128), (0, 127),
                 (8, 127), (2, -127), (0, -128), (10, 1), (0, 1), (2, -128),
                 (6, 2)]
        left = code_len - sum(a for a, l in pairs)
        while left > 0:
            pairs.append((min(left, 254), 0))
            left -= min(left, 254)
        tables.append(("crafted_linetable",
                       bytes(b for a, l in pairs for b in (a, l & 0xff))))
        return tables
    entries = [
        loc_entry(3, 2, [0x25]),
        loc_entry(12, 1, [4, 9]),
        loc_entry(LOC_LONG, 3, svarint(-7) + varint(2) + varint(100) + varint(5)),
        loc_entry(LOC_NONE, 4, []),
        loc_entry(LOC_NO_COLUMNS, 8, svarint(3000)),
        loc_entry(LOC_ONE_LINE0, 1, [1, 2]),
        loc_entry(11, 5, [1, 2]),
        loc_entry(9, 1, [0x7f]),
        loc_entry(0, 7, [0]),
        loc_entry(LOC_LONG, 2, svarint(-2999) + varint(0) + varint(1) + varint(1)),
        loc_entry(LOC_NO_COLUMNS, 1, svarint(0)),
        loc_entry(LOC_LONG, 1, svarint(100000) + varint(0) + varint(200) + varint(300)),
        loc_entry(LOC_NONE, 8, []),
        loc_entry(LOC_LONG, 1, svarint(-100000) + varint(1) + varint(0) + varint(0)),
    ]
    left = code_len // 2 - sum((e[0] & 7) + 1 for e in entries)
    while left > 0:
        entries.append(loc_entry(1, min(left, 8), [0x12]))
        left -= min(left, 8)
    tables.append(("crafted_locations", bytes(b for e in entries for b in e)))
    return tables


def with_table(code, table, firstlineno):
    if sys.version_info >= (3, 10):
        return code.replace(co_linetable=table, co_firstlineno=firstlineno)
    if sys.version_info >= (3, 8):
        return code.replace(co_lnotab=table, co_firstlineno=firstlineno)
    import types
    return types.CodeType(
        code.co_argcount, code.co_kwonlyargcount, code.co_nlocals,
        code.co_stacksize, code.co_flags, code.co_code, code.co_consts,
        code.co_names, code.co_varnames, code.co_filename, code.co_name,
        firstlineno, table, code.co_freevars, code.co_cellvars)


def code_objects(code):
    """code and the code objects in its constants, depth first."""
    out = [code]
    for const in code.co_consts:
        if isinstance(const, type(code)):
            out.extend(code_objects(const))
    return out


def reported_lines(code):
    """The line CPython reports for each code unit, -1 for none."""
    import dis
    n = len(code.co_code) // 2
    lines = [-1] * n
    if sys.version_info >= (3, 10):
        for start, end, line in code.co_lines():
            for off in range(start, end, 2):
                if off // 2 < n:
                    lines[off // 2] = -1 if line is None else line
        return lines
    starts = list(dis.findlinestarts(code))
    i = -1
    for unit in range(n):
        while i + 1 < len(starts) and starts[i + 1][0] <= unit * 2:
            i += 1
        lines[unit] = starts[i][1] if i >= 0 else -1
    return lines


def record(code, name, addr2line):
    if sys.version_info >= (3, 10):
        table = code.co_linetable
    else:
        table = code.co_lnotab
    code_len = len(code.co_code)
    lines = reported_lines(code)
    for unit, line in enumerate(lines):
        got = addr2line(code, unit * 2)
        if got != line:
            raise SystemExit("%s line %d: offset %d is line %d, but "
                             "PyCode_Addr2Line says %d"
                             % (name, code.co_firstlineno, unit * 2, line, got))
    runs = []
    for unit, line in enumerate(lines):
        if runs and runs[-1][2] == line:
            runs[-1][1] = unit * 2 + 2
        else:
            runs.append([unit * 2, unit * 2 + 2, line])
    return {
        "name": name,
        "firstlineno": code.co_firstlineno,
        "code_len": code_len,
        "past_end_line": addr2line(code, code_len),
        "table": list(table),
        "runs": runs,
    }


def dump(sample_path):
    import ctypes
    addr2line = ctypes.pythonapi.PyCode_Addr2Line
    addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
    addr2line.restype = ctypes.c_int

    with open(sample_path) as f:
        sources = [(os.path.basename(sample_path), f.read())]
    sources += generated_sources()
    codes = []
    for filename, source in sources:
        top = compile(source, filename, "exec", dont_inherit=True)
        codes += [(c, c.co_name) for c in code_objects(top)]

    carrier = compile("def carrier(x):\n" + "    x = x + 1\n" * 150,
                      "<carrier>", "exec", dont_inherit=True).co_consts[0]
    for name, table in crafted_tables(sys.version_info[1], len(carrier.co_code)):
        codes.append((with_table(carrier, table, 500), name))

    out = {
        "version": "%d.%d.%d" % sys.version_info[:3],
        "codes": [record(c, name, addr2line) for c, name in codes],
    }
    json.dump(out, sys.stdout, sort_keys=True)


# ---------------------------------------------------------------------------
# the generator


def interpreter(minor):
    path = os.environ.get("PYEBPF_PYTHON_3_%d" % minor)
    if path:
        return path
    try:
        prefix = subprocess.check_output(["pyenv", "prefix", "3.%d" % minor],
                                         stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("gen_linetable_fixtures: no CPython 3.%d: install it "
                         "with pyenv or set PYEBPF_PYTHON_3_%d" % (minor, minor))
    return os.path.join(prefix.decode().strip(), "bin", "python3")


def run_dump(python, options):
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [python, "-I"] + options + [os.path.abspath(__file__), "--dump",
                                      os.path.join(ROOT, SAMPLE)]
    try:
        out = subprocess.check_output(cmd, env=env, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit("gen_linetable_fixtures: %s failed: %s"
                         % (" ".join(cmd), e))
    return json.loads(out.decode())


def table_features(kind, table):
    """Which kinds of entries a table has, to prove the fixtures cover them."""
    seen = set()
    if kind != KIND_LOCATIONS:
        for i in range(0, len(table) - 1, 2):
            addr, line = table[i], table[i + 1] - (256 if table[i + 1] >= 128 else 0)
            if addr == 0:
                seen.add("empty range" if kind == KIND_310 else "zero address increment")
            if addr >= 254:
                seen.add("long run")
            if line == -128:
                seen.add("no line" if kind == KIND_310 else "line -128")
            elif line < 0:
                seen.add("negative line")
            if line == 127:
                seen.add("line +127")
        return seen
    i = 0
    while i < len(table):
        code = (table[i] >> 3) & 15
        seen.add("code %d" % code)
        if code in (LOC_NO_COLUMNS, LOC_LONG):
            if table[i + 1] & 1:
                seen.add("negative line")
            if table[i + 1] & 64:
                seen.add("multi-byte line delta")
            if table[i + 1] & 64 and table[i + 2] & 64:
                seen.add("3-byte line delta")
        i += 1
        while i < len(table) and not table[i] & 128:
            i += 1
    return seen


REQUIRED = {
    KIND_LNOTAB: {"zero address increment", "long run", "line -128",
                  "negative line", "line +127"},
    KIND_310: {"empty range", "long run", "no line", "negative line", "line +127"},
    KIND_LOCATIONS: {"code %d" % c for c in range(16)}
    | {"negative line", "multi-byte line delta", "3-byte line delta"},
}


def c_string(s):
    out = []
    for ch in s:
        if ch in '"\\' or not " " <= ch <= "~":
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def wrap(items, indent="\t", width=100):
    """Comma-separated items, as many a line as fit in width columns."""
    lines, line = [], ""
    for item in items:
        piece = item + ","
        if line and len(indent.expandtabs(8)) + len(line) + 1 + len(piece) > width:
            lines.append(indent + line)
            line = piece
        else:
            line = line + " " + piece if line else piece
    if line:
        lines.append(indent + line)
    return "\n".join(lines) + "\n"


HEADER = """\
/* SPDX-License-Identifier: MIT */
/*
 * GENERATED by tools/gen_linetable_fixtures.py from
 * tests/unit/fixtures/linetable_sample.py: do not edit. Regenerate with
 *     python3 tools/gen_linetable_fixtures.py
 * (needs CPython 3.6 - 3.13 under pyenv); --check tells whether it is stale.
 *
 * For each interpreter, every code object's raw line table (co_lnotab up to
 * 3.9, co_linetable after), co_firstlineno and bytecode length, and the line
 * CPython reports for each code unit (co_lines() from 3.10, findlinestarts()
 * before, both checked against PyCode_Addr2Line()), as runs of equal lines.
 * Code objects named crafted_* carry hand-made tables.
 */
#ifndef PYEBPF_LINETABLE_FIXTURES_H
#define PYEBPF_LINETABLE_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "python_layout.h"

/* Byte offsets [start, end) are all on `line` (-1: no line). */
struct lt_fixture_run {
	uint32_t start, end;
	int32_t line;
};

struct lt_fixture_code {
	const char *name;                /* co_name, or crafted_* */
	int firstlineno;
	uint32_t code_len;               /* bytes of bytecode */
	int32_t past_end_line;           /* PyCode_Addr2Line(code, code_len) */
	uint32_t table_start, table_len; /* in the version's tables */
	uint32_t run_start, nruns;       /* in the version's runs */
};

struct lt_fixture_version {
	const char *name; /* interpreter version and options */
	enum py_linetable_kind kind;
	const uint8_t *tables;
	const struct lt_fixture_run *runs;
	const struct lt_fixture_code *codes;
	size_t ncodes;
};
"""


def render(dumps):
    """dumps: (display name, C identifier, kind, dump) tuples."""
    parts = [HEADER]
    versions = []
    for display, ident, kind, data in dumps:
        tables, runs, codes = [], [], []
        for code in data["codes"]:
            codes.append("{ %s, %d, %d, %d, %d, %d, %d, %d }" % (
                c_string(code["name"]), code["firstlineno"], code["code_len"],
                code["past_end_line"], len(tables), len(code["table"]),
                len(runs), len(code["runs"])))
            tables += code["table"]
            runs += code["runs"]
        parts.append("\n/* %s: %d code objects, %d table bytes */\n"
                     % (display, len(codes), len(tables)))
        parts.append("static const uint8_t %s_tables[] = {\n" % ident)
        parts.append(wrap(str(b) for b in tables))
        parts.append("};\n\nstatic const struct lt_fixture_run %s_runs[] = {\n"
                     % ident)
        parts.append(wrap("{ %d, %d, %d }" % tuple(r) for r in runs))
        parts.append("};\n\nstatic const struct lt_fixture_code %s_codes[] = {\n"
                     % ident)
        parts.append("".join("\t%s,\n" % c for c in codes))
        parts.append("};\n")
        versions.append("\t{\n"
                        "\t\t.name = %s,\n"
                        "\t\t.kind = %s,\n"
                        "\t\t.tables = %s_tables,\n"
                        "\t\t.runs = %s_runs,\n"
                        "\t\t.codes = %s_codes,\n"
                        "\t\t.ncodes = sizeof(%s_codes) / sizeof(%s_codes[0]),\n"
                        "\t},\n"
                        % (c_string(display), kind, ident, ident, ident, ident, ident))
    parts.append("\nstatic const struct lt_fixture_version lt_fixture_versions[] = {\n")
    parts.extend(versions)
    parts.append("};\n\n#endif /* PYEBPF_LINETABLE_FIXTURES_H */\n")
    return "".join(parts)


def generate():
    dumps = []
    for minor in MINORS:
        python = interpreter(minor)
        kind = kind_of(minor)
        variants = [([], "")]
        if minor >= 11:
            variants.append((["-X", "no_debug_ranges"], " -X no_debug_ranges"))
        for options, suffix in variants:
            data = run_dump(python, options)
            if not data["version"].startswith("3.%d." % minor):
                raise SystemExit("gen_linetable_fixtures: %s is %s, not 3.%d"
                                 % (python, data["version"], minor))
            display = data["version"] + suffix
            ident = "lt_v" + data["version"].replace(".", "_")
            if suffix:
                ident += "_nocol"
            seen = set()
            for code in data["codes"]:
                seen |= table_features(kind, code["table"])
            missing = REQUIRED[kind] - seen if not suffix else set()
            if missing:
                raise SystemExit("gen_linetable_fixtures: %s: no table has %s; "
                                 "extend %s" % (display, ", ".join(sorted(missing)),
                                                SAMPLE))
            dumps.append((display, ident, kind, data))
    return render(dumps)


def main(argv):
    if len(argv) == 3 and argv[1] == "--dump":
        dump(argv[2])
        return 0
    if len(argv) > 2 or (len(argv) == 2 and argv[1] != "--check"):
        sys.stderr.write("usage: %s [--check]\n" % argv[0])
        return 2
    text = generate()
    path = os.path.join(ROOT, OUTPUT)
    if len(argv) == 2:
        try:
            with open(path) as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            sys.stderr.write("gen_linetable_fixtures: %s is stale: run %s\n"
                             % (OUTPUT, "tools/gen_linetable_fixtures.py"))
            return 1
        return 0
    with open(path, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
