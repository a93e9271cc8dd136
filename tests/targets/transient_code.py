"""Integration target: short-lived code objects, as imports create.

Usage: transient_code.py SECONDS

Prints "ready", then for SECONDS compiles and runs one fresh module-level
code object after another, each named gen_N.py (N counting up) and each
spinning for about 30 ms before it is dropped. Module bodies all have
argcount 0 and first line 1, and a freed code object's memory is soon
reused for the next one, like the module bodies an import runs once and
frees. As with imports, each module's namespace (and so its file name)
stays alive, the way sys.modules keeps it. Ground truth: samples spread
over many gen_N.py files, each on a line of the spin loop (marked
LINE:gen-loop in GEN_SOURCE).

Known limit, not tested here: if the namespace and file name string are
freed too (exec(compile(...), {}) in a loop), every object involved can
come back at the same address in lockstep, and pyebpf cannot tell the
new module body from the old one.
Must run on CPython 3.6.
"""
import sys
import time

GEN_SOURCE = """\
import time
_end = time.time() + 0.03
_t = 0
while time.time() < _end:  # LINE:gen-loop
    _t += 1  # LINE:gen-loop
"""


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    deadline = time.time() + seconds
    n = 0
    modules = []  # like sys.modules
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while time.time() < deadline:
        namespace = {"__file__": "gen_%d.py" % n}
        modules.append(namespace)
        exec(compile(GEN_SOURCE, namespace["__file__"], "exec"), namespace)
        n += 1


main()
