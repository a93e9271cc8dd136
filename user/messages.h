/* SPDX-License-Identifier: MIT */
/* One-line messages to the user, and the clock the commands time runs by. */
#ifndef PYEBPF_MESSAGES_H
#define PYEBPF_MESSAGES_H

/* Prints "pyebpf: " and the formatted message and a newline to stderr:
 * errors, warnings and notices, lowercase, no final period (git's style). */
void pyebpf_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same with "pyebpf agent: ": the agent's log (stderr, for journald).
 * Both are safe from any thread: a line is written whole. */
void pyebpf_agent_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC, in seconds. */
double monotonic_s(void);

#endif /* PYEBPF_MESSAGES_H */
