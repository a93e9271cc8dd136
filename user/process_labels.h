/* SPDX-License-Identifier: MIT */
/*
 * The labels a process's uploads carry, and the ingest `name` built from
 * them:
 *
 *   SERVICE{container_id=ID,hostname=H,pid=P,python_version=V,k=v,...}
 *
 * service_name: the first --service-name-rule matching the command line;
 * else the first of the configured environment variables set (non-empty)
 * in the process's environment (/proc/PID/environ), then service.name in
 * its OTEL_RESOURCE_ATTRIBUTES; else its command name (comm). container_id:
 * the 64-hex-digit id in /proc/PID/cgroup (docker, containerd, CRI-O,
 * podman/libpod layouts), none outside a container. Static labels follow.
 *
 * Label values are cleaned for the name syntax: characters other than
 * [A-Za-z0-9._/:-] become '_', and a value is cut to 128 bytes; the service
 * name too ("python" if it is empty). Label keys, the agent's and the
 * static ones together, are sorted by strcmp() in the name (the service
 * name stays first); container_id and python_version are left out when
 * unknown.
 */
#ifndef PYEBPF_PROCESS_LABELS_H
#define PYEBPF_PROCESS_LABELS_H

#include <stddef.h>
#include <sys/types.h>

struct agent_config;

struct process_labels {
	char *service_name;
	char *container_id; /* NULL outside a container */
	char *python_version;
	pid_t pid;
};

/* Parsers (pure: tests feed them fixtures). */

/* The value of `name` in an environ block (NUL-separated "K=V"), or NULL.
 * Points into env. The first entry wins; an entry not NUL-terminated within
 * len (a bounded read cut it) is ignored. */
const char *process_labels_environ_get(const char *env, size_t len, const char *name);

/* service.name in an OTEL_RESOURCE_ATTRIBUTES value ("k=v,k=v"), copied
 * into buf; NULL if absent. Keys and values are percent-decoded and
 * trimmed; the last service.name wins; a malformed value (a pair without
 * '=', a bad %XX) is discarded whole, as the OTel spec says. */
const char *process_labels_otel_service(const char *attrs, char *buf, size_t size);

/* The container id in a /proc/PID/cgroup text, copied into buf (65 bytes
 * at least); NULL if none. */
const char *process_labels_container_id(const char *cgroup, char *buf, size_t size);

/*
 * Read process pid's labels (its environ, cgroup and comm, as root) by
 * `cfg`'s rules; `command` is its command line (for rules) and `version`
 * its Python version. A process that vanished still gets labels (service
 * name from the command line's first word). 0 or -ENOMEM.
 */
int process_labels__read(struct process_labels *out, pid_t pid, const char *command,
			 const char *version, const struct agent_config *cfg);

void process_labels__clear(struct process_labels *l);

/* The ingest `name` (not URL-encoded) for l, with cfg's hostname and static
 * labels, in a malloc'd string; NULL with errno = ENOMEM. */
char *process_labels__ingest_name(const struct process_labels *l, const struct agent_config *cfg);

#endif /* PYEBPF_PROCESS_LABELS_H */
