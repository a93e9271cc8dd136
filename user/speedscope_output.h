/* SPDX-License-Identifier: MIT */
/*
 * speedscope's JSON file format, as its schema
 * (https://www.speedscope.app/file-format-schema.json) describes it:
 *
 *   {"$schema":"https://www.speedscope.app/file-format-schema.json",
 *    "exporter":"pyebpf","name":"COMMAND (pid PID)","activeProfileIndex":I,
 *    "shared":{"frames":[{"name":F,"file":S,"line":L,"col":0},...]},
 *    "profiles":[{"type":"sampled","name":"Thread TID \"NAME\"",
 *                 "unit":"seconds","startValue":0,"endValue":TOTAL,
 *                 "samples":[[frame index, root first],...],
 *                 "weights":[seconds,...]},...]}
 *
 * Frames: one entry per distinct frame of the profile that some stack
 * uses, always with exactly the keys name, file, line and col:
 *   - name: the function as given ("?" if empty)
 *   - file: the file, or "" for frames without one (native, kernel,
 *     off-CPU, synthetic); speedscope shows no location for ""
 *   - line: the line, or 0 when unknown
 *   - col: always 0, "unknown" (pyebpf reads no column; speedscope's
 *     columns, where a format has them, start at 1)
 * Entries are sorted by (name, file, line, kind) bytewise, so the same
 * profile gives the same indices whatever order its frames were interned.
 *
 * Profiles: one "sampled" profile per thread, named `Thread TID "NAME"`
 * (`Thread TID` while the Python name is unknown), ordered by tid (then
 * pid); stacks of no thread go into a last profile named `Process PID`
 * ("No thread" without a pid). An empty profile still writes one profile,
 * empty, so viewers open the file. Each distinct stack is one sample; the
 * samples are sorted by their frame indices, root first (so by name, as a
 * flame graph), since the profile keeps no time order. Weights are
 * seconds: a sample count times period_ns for REPORT_SAMPLES, nanoseconds
 * for REPORT_NANOSECONDS, written as exact decimals. (REPORT_SAMPLES
 * without a period_ns writes the counts with unit "none".) startValue is
 * 0, endValue the profile's total.
 *
 * activeProfileIndex is the main thread's profile (tid == pid), or else
 * the heaviest (the first of equals). r->show_threads changes nothing:
 * threads are always separate profiles.
 */
#ifndef PYEBPF_SPEEDSCOPE_OUTPUT_H
#define PYEBPF_SPEEDSCOPE_OUTPUT_H

#include <stdio.h>

struct report;

/*
 * Writes r->profile to out as above. out is flushed, not closed.
 * Returns 0, -EINVAL if r, r->profile or out is NULL, -ENOMEM, or the
 * negated errno of a failed write (-EIO if the stream does not say).
 */
int speedscope_output__write(const struct report *r, FILE *out);

#endif /* PYEBPF_SPEEDSCOPE_OUTPUT_H */
