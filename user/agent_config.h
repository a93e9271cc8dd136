/* SPDX-License-Identifier: MIT */
/*
 * The agent's settings: a config file (`--config FILE`), then the command
 * line over it. SIGHUP reads both again (agent_config__load() with the same
 * argv).
 *
 * The file: one "key = value" per line, '#' starts a comment line, blank
 * lines are ignored, the value is the rest of the line with surrounding
 * blanks removed (and one pair of surrounding double quotes, if any). Keys
 * are the long option names without "--" (`server = http://h:4040`,
 * `off-cpu = true`); boolean keys take true/false/yes/no/on/off/1/0 (as
 * flags: `--off-cpu` is true, `--off-cpu=false` undoes a file's). Keys that
 * may repeat (label, service-name-rule, service-name-env, comm,
 * exclude-pid) add one value per line. Secrets may be given in the file
 * (`basic-auth-password`, `bearer-token`) or read from a file of their own
 * (`basic-auth-password-file`, `bearer-token-file`; first line, trailing
 * newline removed); never on the command line.
 *
 * Precedence: a flag given on the command line replaces the file's value;
 * for a repeating key, the flags' values replace all of the file's.
 *
 * Errors are one line, with the file and line number for file errors:
 *   "/etc/pyebpf/agent.conf:12: unknown key \"sever\""
 *   "--rate: expected a number from 1 to 10000, got \"fast\""
 */
#ifndef PYEBPF_AGENT_CONFIG_H
#define PYEBPF_AGENT_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define AGENT_DEFAULT_RATE 97 /* Hz: prime, so not in lockstep with periodic work */
#define AGENT_DEFAULT_INTERVAL_S 10
#define AGENT_DEFAULT_SPOOL_DIR "/var/lib/pyebpf/spool"
#define AGENT_DEFAULT_SPOOL_MAX_BYTES (64ull << 20)
#define AGENT_DEFAULT_SPOOL_MAX_ITEMS 10000
#define AGENT_DEFAULT_METRICS_ADDRESS "127.0.0.1:9464"
#define AGENT_DEFAULT_UPLOAD_TIMEOUT_S 10.0
#define AGENT_DEFAULT_MAX_BACKOFF_S 60.0
#define AGENT_DEFAULT_MAX_STACKS 50000 /* distinct stacks per interval */

struct agent_label {
	char *key;   /* [a-zA-Z_][a-zA-Z0-9_]*, not a label the agent sets
			itself (service_name, hostname, pid, python_version,
			container_id) */
	char *value; /* non-empty */
};

/* --service-name-rule REGEX=NAME: a process whose command line matches
 * REGEX (POSIX extended) is service NAME; \1..\9 in NAME are the groups.
 * The first matching rule wins. */
struct agent_service_rule {
	char *pattern;
	char *name;
	regex_t re; /* compiled */
};

struct agent_config {
	char *config_path; /* NULL: no file */
	char *server;	   /* required: "http(s)://host[:port][/prefix]" */
	unsigned int rate_hz;
	unsigned int interval_s; /* 1 .. 3600; boundaries at multiples of it
				    since the epoch */
	bool off_cpu;		 /* also push off-CPU time (type off_cpu) */
	unsigned int max_frames; /* 0: the sampler's default */
	size_t max_stacks;	 /* distinct stacks kept per interval */

	char **comm; /* only processes with these names; none: all */
	size_t n_comm;
	pid_t *exclude_pids;
	size_t n_exclude_pids;

	struct agent_label *labels; /* static labels, in order given */
	size_t n_labels;
	struct agent_service_rule *rules;
	size_t n_rules;
	char **service_name_env; /* environment variables naming the service,
				    first found wins; default
				    PYROSCOPE_APPLICATION_NAME, OTEL_SERVICE_NAME
				    (OTEL_RESOURCE_ATTRIBUTES' service.name is
				    read after them) */
	size_t n_service_name_env;
	char *hostname; /* the hostname label; default gethostname() */

	char *basic_auth_user; /* with basic_auth_password */
	char *basic_auth_password;
	char *bearer_token; /* not with basic auth */
	char *tenant_id;
	char *ca_file;
	bool tls_insecure;
	double upload_timeout_s;
	double max_backoff_s;

	char *spool_dir;
	uint64_t spool_max_bytes; /* "64M", "1G", "4096" */
	size_t spool_max_items;

	char *metrics_address; /* "HOST:PORT"; NULL: no endpoint ("off") */
	bool help;	       /* --help was given: print agent_config__help() */
};

/*
 * Fill *c from defaults, the file named by --config in argv (if any), then
 * argv's flags. argv[0] is "agent"; argv is not modified or kept. Returns
 * 0, or -1 with a one-line reason in why[why_size] (no "pyebpf:" prefix)
 * and *c freed. Checks everything that can be checked without the network:
 * value ranges, label keys, regexes, secret files readable, basic auth and
 * bearer token not both, a server URL with http or https.
 */
int agent_config__load(struct agent_config *c, int argc, char **argv, char *why, size_t why_size);

void agent_config__free(struct agent_config *c);

/* The agent's usage text. */
void agent_config__help(FILE *out);

/* Every agent flag, getopt's way (NULL-terminated): for completions. */
struct option;
const struct option *agent_config__long_options(void);

/* Whether going from a to b needs a new BPF session (rate, off-CPU,
 * filters, max_frames); everything else applies in place. */
bool agent_config__needs_new_session(const struct agent_config *a, const struct agent_config *b);

#endif /* PYEBPF_AGENT_CONFIG_H */
