/* SPDX-License-Identifier: MIT */
/*
 * pprof output: the profile as a gzip-compressed perftools.profiles.Profile
 * (proto/profile.proto), the format `go tool pprof` and other pprof readers
 * open.
 *
 * Sample types (Profile.sample_type), by r->mode:
 *
 *   TIME_CPU       samples/count, cpu/nanoseconds              default cpu
 *   TIME_WALL      samples/count, cpu/nanoseconds,
 *                  off_cpu/nanoseconds, wall/nanoseconds        default wall
 *   TIME_OFF_CPU   samples/count, cpu/nanoseconds,
 *                  off_cpu/nanoseconds                          default off_cpu
 *
 * A stack is off-CPU when one of its frames is a PROFILE_FRAME_OFF_CPU
 * frame ("[off-cpu:CLASS] SYSCALL"), on-CPU otherwise. Its values, from its
 * summed weight W and its record count C (profile_stack.weight, .count):
 *
 *                         samples       cpu              off_cpu
 *   REPORT_SAMPLES        W             W * period_ns    0
 *     (an off-CPU stack)  W             0                W * period_ns
 *   REPORT_NANOSECONDS    W / period_ns W                0
 *     (an off-CPU stack)  C             0                W
 *
 * and wall = cpu + off_cpu. In sample units each unit of weight is one
 * sample standing for period_ns. In nanoseconds an on-CPU sample weighs
 * exactly period_ns, so W / period_ns is the number of samples (C when
 * period_ns is 0); an off-CPU stack's count is its number of off-CPU
 * intervals. Products and sums saturate at INT64_MAX. In TIME_CPU mode
 * there is no off_cpu column: an off-CPU stack, if any, shows only its
 * count.
 *
 * period_type is cpu/nanoseconds and period is r->period_ns; time_nanos is
 * r->start_unix_ns and duration_nanos r->duration_s (both left out when
 * 0); the command, Python version and rate, when known, are comments.
 *
 * r->select narrows the stacks written to one process entry's threads
 * and/or to the on-CPU or off-CPU stacks (the agent's per-process,
 * per-type profiles); functions and locations are those the selected
 * stacks use.
 *
 * Frames: one Function per function identity (profile_frame.function_id):
 * name and system_name are the function, filename the file (none for
 * kernel, off-CPU, native and synthetic frames, which have no file),
 * start_line 0. One Location per distinct frame, with one Line (its
 * function and line, 0 when unknown) and no mapping or address. Ids start
 * at 1. A sample's location_ids are leaf first, as pprof wants; profile
 * stacks are root first.
 *
 * Labels per sample: numeric `pid` and `tid` and string `thread_name` from
 * the stack's thread (no thread_name while the name is unknown, none of
 * them for PROFILE_NO_THREAD), and for an off-CPU stack the string
 * `off_cpu_class`, the CLASS of its (root-most) off-CPU frame. Stacks stay
 * apart per thread, so r->show_threads changes nothing here: pprof groups
 * by thread with labels (`-tagroot=thread_name`, `-tagfocus=tid=4243`).
 *
 * Same profile, same bytes: functions are ordered by (name, file, kind),
 * locations by (function, line), samples by their root-first location ids
 * and then thread (pid, tid, name), strings by first use in that order;
 * nothing depends on the order frames and stacks were added. The gzip
 * header has no file name and mtime 0.
 */
#ifndef PYEBPF_PPROF_OUTPUT_H
#define PYEBPF_PPROF_OUTPUT_H

#include <stdio.h>

struct report;

/*
 * Writes r->profile to out as a gzipped pprof profile (see above). An empty
 * profile gives a valid profile with no samples.
 *
 * out is flushed but not closed; the caller still checks fclose().
 * Returns 0, -EINVAL if r, its profile or out is NULL or r->mode is
 * unknown, -ENOMEM, -EOVERFLOW for more than UINT32_MAX - 1 strings, or the
 * negated errno of a failed write (-EIO if the stream does not say).
 */
int pprof_output__write(const struct report *r, FILE *out);

#endif /* PYEBPF_PPROF_OUTPUT_H */
