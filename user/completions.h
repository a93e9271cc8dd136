/* SPDX-License-Identifier: MIT */
/*
 * `pyebpf completions bash|zsh|fish`: a completion script for the shell,
 * made from the command line's own option table (cli.c), so a new flag
 * completes without editing this. Subcommands, flags, formats after -f,
 * files after -o, Python processes' pids after -p/--pid/--exclude-pid.
 */
#ifndef PYEBPF_COMPLETIONS_H
#define PYEBPF_COMPLETIONS_H

#include <stdio.h>

#include "cli.h"

/* Writes the script for `shell` to out. 0, or -EIO if out failed. */
int completions_write(enum cli_shell shell, FILE *out);

#endif /* PYEBPF_COMPLETIONS_H */
