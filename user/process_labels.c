// SPDX-License-Identifier: MIT
#include "process_labels.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_config.h"
#include "proc_info.h"
#include "process_cmdline.h"

/* /proc/PID/environ is read up to this much: the names we look for are
 * set by whoever starts the service, and a process's environment is
 * rarely more than a few KiB. */
#define ENVIRON_MAX (1 << 20)
#define CGROUP_MAX (64 << 10)
#define VALUE_MAX 128 /* bytes of a label value in the name */
#define CONTAINER_ID_LEN 64

const char *process_labels_environ_get(const char *env, size_t len, const char *name)
{
	size_t nlen = name ? strlen(name) : 0;
	const char *p = env, *end = env + len;

	if (!env || !nlen)
		return NULL;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		/* an entry cut by the read's bound has no NUL: not trusted */
		if (!nul)
			return NULL;
		if ((size_t)(nul - p) > nlen && !memcmp(p, name, nlen) && p[nlen] == '=')
			return p + nlen + 1;
		p = nul + 1;
	}
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) percent-decoded and trimmed of blanks into buf[size]
 * (truncated); -1 on a bad escape or a NUL. */
static int otel_decode(const char *s, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;

			if (lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 < size)
			buf[o++] = c;
	}
	if (size)
		buf[o] = '\0';
	return 0;
}

/* OTEL_RESOURCE_ATTRIBUTES: "k=v,k=v", keys and values percent-encoded
 * (the OTel SDK environment spec); blanks around them are dropped. As the
 * spec says, a malformed value is discarded whole. The last service.name
 * wins, as in the SDKs' attribute sets. */
const char *process_labels_otel_service(const char *attrs, char *buf, size_t size)
{
	const char *p = attrs;
	bool found = false;
	char key[64];

	if (!attrs || !size)
		return NULL;
	while (*p) {
		size_t n = strcspn(p, ","), klen;
		const char *eq = memchr(p, '=', n);
		bool blank = strspn(p, " \t") >= n;

		if (!blank) {
			if (!eq)
				return NULL;
			klen = (size_t)(eq - p);
			if (otel_decode(p, klen, key, sizeof(key)))
				return NULL;
			if (!strcmp(key, "service.name")) {
				if (otel_decode(eq + 1, n - klen - 1, buf, size))
					return NULL;
				found = *buf != '\0';
			} else {
				/* still checked: a bad escape anywhere discards all */
				char skip[8];

				if (otel_decode(eq + 1, n - klen - 1, skip, sizeof(skip)))
					return NULL;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return found ? buf : NULL;
}

static bool is_id_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The last 64-hex-digit id standing alone in one cgroup path component,
 * that is between the component's ends, '-' or '.': "<id>",
 * "docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "libpod-<id>.scope". conmon's scopes (CRI-O's and podman's container
 * monitors) name a container but hold no process of it. */
static const char *id_in_component(const char *comp, size_t n)
{
	const char *found = NULL;

	if ((n > 12 && !memcmp(comp, "crio-conmon-", 12)) ||
	    (n > 14 && !memcmp(comp, "libpod-conmon-", 14)))
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && is_id_char(comp[j]))
			j++;
		if (j - i == CONTAINER_ID_LEN &&
		    (i == 0 || comp[i - 1] == '-' || comp[i - 1] == '.') &&
		    (j == n || comp[j] == '-' || comp[j] == '.'))
			found = comp + i;
		i = j == i ? i + 1 : j;
	}
	return found;
}

const char *process_labels_container_id(const char *cgroup, char *buf, size_t size)
{
	const char *line = cgroup;

	if (!cgroup || size < CONTAINER_ID_LEN + 1)
		return NULL;
	/* "hierarchy:controllers:path" lines (one under cgroup v2); the
	 * first line with an id, its deepest one (docker in docker) */
	while (line && *line) {
		const char *eol = line + strcspn(line, "\n");
		const char *path = memchr(line, ':', (size_t)(eol - line));
		const char *found = NULL;

		if (path)
			path = memchr(path + 1, ':', (size_t)(eol - path - 1));
		while (path && path < eol) {
			const char *comp = path + 1;
			size_t n = strcspn(comp, "/\n");
			const char *id = id_in_component(comp, n);

			if (id)
				found = id;
			path = comp + n < eol ? comp + n : NULL;
		}
		if (found) {
			memcpy(buf, found, CONTAINER_ID_LEN);
			buf[CONTAINER_ID_LEN] = '\0';
			return buf;
		}
		line = *eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* /proc/PID/NAME, up to max bytes, in a malloc'd buffer with a NUL after
 * them; NULL if unreadable (errno ENOMEM only when out of memory). */
static char *read_proc(pid_t pid, const char *name, size_t max, size_t *len)
{
	size_t cap = 0, n = 0;
	char path[64], *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = 0;
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;

			if (cap == max)
				break;
			if (ncap > max)
				ncap = max;
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			errno = 0;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A rule's NAME with \1..\9 replaced by command's groups, in buf. */
static void expand_rule(const struct agent_service_rule *r, const char *command,
			const regmatch_t *m, char *buf, size_t size)
{
	size_t o = 0;

	for (const char *s = r->name; *s && o + 1 < size; s++) {
		if (s[0] == '\\' && s[1] >= '1' && s[1] <= '9') {
			const regmatch_t *g = &m[s[1] - '0'];

			for (regoff_t i = g->rm_so; g->rm_so >= 0 && i < g->rm_eo && o + 1 < size;
			     i++)
				buf[o++] = command[i];
			s++;
			continue;
		}
		buf[o++] = *s;
	}
	buf[o] = '\0';
}

/* The service name by cfg's rules and the environment, in buf; false if
 * none applies. */
static bool service_from_config(pid_t pid, const char *command, const struct agent_config *cfg,
				char *buf, size_t size)
{
	static const char *const default_env[] = {"PYROSCOPE_APPLICATION_NAME",
						  "OTEL_SERVICE_NAME"};
	const char *const *names = default_env;
	size_t n_names = 2, len = 0;
	bool found = false;
	char *env;

	for (size_t i = 0; cfg && command && i < cfg->n_rules; i++) {
		regmatch_t m[10];

		if (regexec(&cfg->rules[i].re, command, 10, m, 0))
			continue;
		expand_rule(&cfg->rules[i], command, m, buf, size);
		if (*buf)
			return true;
	}
	env = read_proc(pid, "environ", ENVIRON_MAX, &len);
	if (!env)
		return false;
	if (cfg && cfg->n_service_name_env) {
		names = (const char *const *)cfg->service_name_env;
		n_names = cfg->n_service_name_env;
	}
	for (size_t i = 0; i < n_names && !found; i++) {
		const char *v = process_labels_environ_get(env, len, names[i]);

		if (v && *v) {
			snprintf(buf, size, "%s", v);
			found = true;
		}
	}
	if (!found) {
		const char *attrs =
			process_labels_environ_get(env, len, "OTEL_RESOURCE_ATTRIBUTES");

		found = process_labels_otel_service(attrs, buf, size) != NULL;
	}
	free(env);
	return found;
}

int process_labels__read(struct process_labels *out, pid_t pid, const char *command,
			 const char *version, const struct agent_config *cfg)
{
	char name[256] = "", cmd[4096], idbuf[CONTAINER_ID_LEN + 1];
	size_t len;
	char *cgroup;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (!command && !process_cmdline(pid, cmd, sizeof(cmd)))
		command = cmd;
	errno = 0;
	if (!service_from_config(pid, command, cfg, name, sizeof(name)) && errno == ENOMEM)
		return -ENOMEM;
	if (!*name && proc_info_comm(pid, name, sizeof(name)))
		name[0] = '\0';
	if (!*name && command) {
		/* gone: the base name of the command line's first word */
		size_t n = strcspn(command, " ");
		const char *base = memrchr(command, '/', n);

		base = base ? base + 1 : command;
		snprintf(name, sizeof(name), "%.*s", (int)(n - (size_t)(base - command)), base);
	}
	if (!*name)
		snprintf(name, sizeof(name), "python");

	errno = 0;
	cgroup = read_proc(pid, "cgroup", CGROUP_MAX, &len);
	if (!cgroup && errno == ENOMEM)
		return -ENOMEM;
	if (cgroup && process_labels_container_id(cgroup, idbuf, sizeof(idbuf))) {
		out->container_id = strdup(idbuf);
		if (!out->container_id) {
			free(cgroup);
			return -ENOMEM;
		}
	}
	free(cgroup);

	out->service_name = strdup(name);
	if (version && *version)
		out->python_version = strdup(version);
	if (!out->service_name || (version && *version && !out->python_version)) {
		process_labels__clear(out);
		return -ENOMEM;
	}
	return 0;
}

void process_labels__clear(struct process_labels *l)
{
	if (!l)
		return;
	free(l->service_name);
	free(l->container_id);
	free(l->python_version);
	memset(l, 0, sizeof(*l));
}

/* Appends s cleaned for the name syntax: [A-Za-z0-9._/:-] kept, anything
 * else '_', at most VALUE_MAX bytes. */
static void put_clean(char **o, const char *s)
{
	for (size_t i = 0; s[i] && i < VALUE_MAX; i++) {
		char c = s[i];

		*(*o)++ = isalnum((unsigned char)c) || strchr("._/:-", c) ? c : '_';
	}
}

struct name_label {
	const char *key, *value;
};

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct name_label *)a)->key, ((const struct name_label *)b)->key);
}

char *process_labels__ingest_name(const struct process_labels *l, const struct agent_config *cfg)
{
	size_t n_static = cfg ? cfg->n_labels : 0, n = 0, cap;
	struct name_label *labels = malloc((n_static + 4) * sizeof(*labels));
	char pid[16], *name, *o;

	if (!labels) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(pid, sizeof(pid), "%d", (int)l->pid);
	if (l->container_id && *l->container_id)
		labels[n++] = (struct name_label){"container_id", l->container_id};
	if (cfg && cfg->hostname && *cfg->hostname)
		labels[n++] = (struct name_label){"hostname", cfg->hostname};
	labels[n++] = (struct name_label){"pid", pid};
	if (l->python_version && *l->python_version)
		labels[n++] = (struct name_label){"python_version", l->python_version};
	for (size_t i = 0; i < n_static; i++)
		labels[n++] = (struct name_label){cfg->labels[i].key, cfg->labels[i].value};
	qsort(labels, n, sizeof(*labels), cmp_label);

	/* a service name, '{', then "key=value," per label (keys are already
	 * in the name syntax), '}' */
	cap = VALUE_MAX + 3;
	for (size_t i = 0; i < n; i++)
		cap += strlen(labels[i].key) + VALUE_MAX + 2;
	name = malloc(cap);
	if (!name) {
		free(labels);
		errno = ENOMEM;
		return NULL;
	}
	o = name;
	put_clean(&o, l->service_name && *l->service_name ? l->service_name : "python");
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ',';
		o = stpcpy(o, labels[i].key);
		*o++ = '=';
		put_clean(&o, labels[i].value);
	}
	*o++ = '}';
	*o = '\0';
	free(labels);
	return name;
}
