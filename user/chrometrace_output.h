/* SPDX-License-Identifier: MIT */
/*
 * Chrome's trace-event JSON (the "JSON Object Format"), which Perfetto,
 * chrome://tracing and speedscope open, drawn from the report's timeline
 * as a flame chart per thread:
 *
 *   {"traceEvents":[
 *   {"ph":"M","name":"process_name","pid":P,"tid":P,"ts":0,"args":{"name":"COMMAND"}},
 *   {"ph":"M","name":"thread_name","pid":P,"tid":T,"ts":0,"args":{"name":"NAME"}},
 *   {"ph":"X","pid":P,"tid":T,"ts":US,"dur":US,"name":"FUNCTION","cat":"KIND",
 *    "args":{"file":"FILE","line":LINE}},
 *   ...],
 *   "displayTimeUnit":"ms",
 *   "otherData":{"exporter":"pyebpf",...}}
 *
 * Spans: per thread, the timeline's events in time order. Consecutive
 * events whose stacks share a prefix of frames (the same profile frames:
 * function, file, line and kind) share one span per frame of that prefix,
 * so a call that lasts many samples is one span, as in a flame chart. A
 * span ends where the last event that has it ends; a gap between one
 * event's end and the next one's start longer than period_ns ends every
 * span (the thread was not seen). An event that starts before the
 * previous one ends cuts the spans it does not share at its start.
 * Spans are complete events ("ph":"X") written parents first, in the order
 * they start, so equal timestamps nest as meant; "ts" and "dur" are whole
 * microseconds (floored, so children never outgrow their parents) since
 * r->start_mono_ns; the part of an event before it is cut off. "cat" is
 * the frame's kind (profile_frame_kind_name()), "args" its file and line
 * (none for frames without a file), "name" its function ("?" if empty).
 *
 * Threads: in order of pid, then tid, each after its "thread_name"
 * metadata event (the Python thread name, or "Thread TID" while unknown);
 * a "process_name" event (r->command for r->pid, else "pid PID") comes
 * before each process's threads. Events of stacks with no thread go last,
 * to pid r->pid, tid 0, named "No thread".
 *
 * otherData holds what was profiled, where known: exporter, command, pid,
 * python_version, mode ("cpu", "wall", "off-cpu"), rate_hz, duration_s,
 * and start_time (UTC, ISO 8601, from r->start_unix_ns).
 */
#ifndef PYEBPF_CHROMETRACE_OUTPUT_H
#define PYEBPF_CHROMETRACE_OUTPUT_H

#include <stdio.h>

struct report;

/*
 * Writes r->timeline, with frames and threads from r->profile, to out as
 * above; the same report always gives the same bytes. out is flushed, not
 * closed. Returns 0, -EINVAL if r, r->profile, r->timeline or out is NULL
 * or an event names an unknown stack (nothing is written then), -ENOMEM,
 * or the negated errno of a failed write (-EIO if the stream does not
 * say).
 */
int chrometrace_output__write(const struct report *r, FILE *out);

#endif /* PYEBPF_CHROMETRACE_OUTPUT_H */
