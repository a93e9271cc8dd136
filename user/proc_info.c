// SPDX-License-Identifier: MIT
#include "proc_info.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel's comm: TASK_COMM_LEN - 1 bytes. */
#define COMM_MAX 15

int proc_info_parse_stat(const char *text, pid_t *ppid, char *state)
{
	const char *p = text ? strrchr(text, ')') : NULL;
	char st;
	int pp;

	/* "PID (COMM) S PPID ..." */
	if (!p || sscanf(p + 1, " %c %d", &st, &pp) != 2)
		return -EINVAL;
	*ppid = pp;
	*state = st;
	return 0;
}

int proc_info_parse_nspid(const char *text, pid_t *ns_pid)
{
	const char *line = text;
	long last = -1;

	while (line && *line) {
		if (!strncmp(line, "NSpid:", 6)) {
			const char *p = line + 6;
			char *end;

			for (;;) {
				long v;

				while (*p == ' ' || *p == '\t')
					p++;
				if (*p == '\n' || !*p)
					break;
				v = strtol(p, &end, 10);
				if (end == p || v <= 0 || v > 0x7fffffff)
					return -EINVAL;
				last = v;
				p = end;
			}
			if (last < 0)
				return -EINVAL;
			*ns_pid = (pid_t)last;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

/* /proc/PID/NAME into buf[size] (terminated); 0 or -errno. */
static int read_proc_file(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	buf[n] = '\0';
	return 0;
}

int proc_info_stat(pid_t pid, pid_t *ppid, char *state)
{
	char buf[1024];
	int err = read_proc_file(pid, "stat", buf, sizeof(buf));

	return err ? err : proc_info_parse_stat(buf, ppid, state);
}

int proc_info_ns_pid(pid_t pid, pid_t *ns_pid)
{
	char buf[4096];
	int err = read_proc_file(pid, "status", buf, sizeof(buf));

	if (err)
		return err;
	err = proc_info_parse_nspid(buf, ns_pid);
	if (err == -ENOENT) {
		*ns_pid = pid;
		return 0;
	}
	return err;
}

int proc_info_comm(pid_t pid, char *buf, size_t size)
{
	char raw[64], *nl;
	int err = read_proc_file(pid, "comm", raw, sizeof(raw));

	if (err)
		return err;
	nl = strchr(raw, '\n');
	if (nl)
		*nl = '\0';
	snprintf(buf, size, "%s", raw);
	return 0;
}

static int push_pid(pid_t **pids, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		pid_t *a = realloc(*pids, ncap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		*pids = a;
		*cap = ncap;
	}
	(*pids)[(*n)++] = pid;
	return 0;
}

int proc_info_list(pid_t **pids, size_t *n)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t cap = 0;
	int err = 0;

	*pids = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		char *end;
		long v;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		v = strtol(e->d_name, &end, 10);
		if (*end || v <= 0)
			continue;
		err = push_pid(pids, n, &cap, (pid_t)v);
	}
	closedir(d);
	if (err) {
		free(*pids);
		*pids = NULL;
		*n = 0;
	}
	return err;
}

int proc_info_descendants(pid_t root, pid_t **out, size_t *n_out)
{
	pid_t *all, *parent;
	size_t n, cap = 0;
	int err;

	*out = NULL;
	*n_out = 0;
	err = proc_info_list(&all, &n);
	if (err)
		return err;
	parent = calloc(n ? n : 1, sizeof(*parent));
	if (!parent) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		char state;

		if (proc_info_stat(all[i], &parent[i], &state))
			parent[i] = 0; /* gone meanwhile */
	}
	/* breadth first: each round adds the children of what was found
	 * (the output array is the queue); at most n rounds */
	if (push_pid(out, n_out, &cap, root))
		err = -ENOMEM;
	for (size_t q = 0; !err && q < *n_out; q++)
		for (size_t i = 0; !err && i < n; i++)
			if (parent[i] == (*out)[q] && all[i] != root && parent[i] != all[i])
				err = push_pid(out, n_out, &cap, all[i]);
	free(parent);
	free(all);
	if (err) {
		free(*out);
		*out = NULL;
		*n_out = 0;
		return err;
	}
	/* drop the root itself */
	memmove(*out, *out + 1, (*n_out - 1) * sizeof(**out));
	(*n_out)--;
	return 0;
}

bool proc_filter_match(const struct proc_filter *f, pid_t pid, const char *comm, const char *exe)
{
	const char *base = NULL;
	size_t base_len = 0;

	if (pid == f->self)
		return false;
	for (size_t i = 0; i < f->n_exclude; i++)
		if (f->exclude[i] == pid)
			return false;
	if (!f->n_comm)
		return true;
	if (exe) {
		base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
		base_len = strlen(base);
		if (base_len > 10 && !strcmp(base + base_len - 10, " (deleted)"))
			base_len -= 10;
	}
	for (size_t i = 0; i < f->n_comm; i++) {
		const char *name = f->comm[i];
		size_t len = strlen(name);

		if (!len)
			continue;
		if (comm && !strncmp(comm, name, COMM_MAX) &&
		    strlen(comm) == (len < COMM_MAX ? len : COMM_MAX))
			return true;
		if (base && len == base_len && !strncmp(base, name, len))
			return true;
	}
	return false;
}
