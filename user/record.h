/* SPDX-License-Identifier: MIT */
/*
 * `pyebpf record`: profile one process (running, or started by us) until
 * Ctrl-C, --duration or its exit, then write the profile and a summary.
 */
#ifndef PYEBPF_RECORD_H
#define PYEBPF_RECORD_H

#include "cli.h"

/* Run a recording. Returns the process exit code for pyebpf: 0 when a
 * profile was written, 1 on errors (already reported on stderr). */
int record_run(const struct cli_options *opts);

#endif /* PYEBPF_RECORD_H */
