// SPDX-License-Identifier: MIT
/* Unit tests for user/process_labels.c: the environ, OTEL_RESOURCE_ATTRIBUTES
 * and cgroup parsers on fixtures (tests/unit/fixtures/agent/), the ingest
 * name, and the labels of a live process started with a known
 * environment. Paths are relative to the repository's root. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_config.h"
#include "proc_info.h"
#include "process_labels.h"

#define FIX "tests/unit/fixtures/agent/"

/* A fixture's bytes, with a NUL after them. */
static char *fixture(const char *name, size_t *len)
{
	char path[256], *buf = malloc(1 << 16);
	FILE *f;

	snprintf(path, sizeof(path), FIX "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void test_environ_get(void **state)
{
	size_t len;
	char *env = fixture("environ.bin", &len);
	const char *v;

	/* first, middle and last entries; values holding '=' */
	assert_string_equal(process_labels_environ_get(env, len, "PATH"), "/usr/bin:/bin");
	assert_string_equal(process_labels_environ_get(env, len, "OTEL_SERVICE_NAME"), "otel-svc");
	assert_string_equal(process_labels_environ_get(env, len, "DSN"),
			    "postgres://u@h/db?sslmode=require&x=y");
	assert_string_equal(process_labels_environ_get(env, len, "TRAILING"), "last=value");
	/* set but empty */
	v = process_labels_environ_get(env, len, "PYROSCOPE_APPLICATION_NAME");
	assert_non_null(v);
	assert_string_equal(v, "");
	/* whole names only, never a prefix or a piece of a value */
	assert_null(process_labels_environ_get(env, len, "PAT"));
	assert_null(process_labels_environ_get(env, len, "OTEL_SERVICE"));
	assert_null(process_labels_environ_get(env, len, "ATH"));
	assert_null(process_labels_environ_get(env, len, "sslmode"));
	assert_null(process_labels_environ_get(env, len, "x"));
	assert_null(process_labels_environ_get(env, len, "MISSING"));
	assert_null(process_labels_environ_get(env, len, ""));
	assert_null(process_labels_environ_get(NULL, 0, "PATH"));
	/* the block is cut in the last entry (a bounded read): it is not
	 * trusted, the earlier ones are */
	assert_null(process_labels_environ_get(env, len - 3, "TRAILING"));
	assert_string_equal(process_labels_environ_get(env, len - 3, "LANG"), "C.UTF-8");
	/* a bounded length is obeyed */
	assert_null(process_labels_environ_get(env, 10, "OTEL_SERVICE_NAME"));
	free(env);
}

static void test_otel_service(void **state)
{
	static const struct {
		const char *attrs, *want; /* want NULL: none */
	} cases[] = {
		{"service.name=api", "api"},
		{"a=1,service.name=api,b=2", "api"},
		{" service.name = billing%20api , team=a%2Cb", "billing api"},
		{"service%2Ename=encoded-key", "encoded-key"},
		{"service.name=%E2%9C%93ok", "\xe2\x9c\x93ok"},
		{"service.name=a,service.name=b", "b"}, /* the last, as the SDKs keep */
		{"service.name=x,", "x"},
		{",,service.name=x", "x"},
		{"k=v", NULL},
		{"", NULL},
		{"service.name=", NULL},
		{"service.name=  ", NULL},
		{"service.namespace=ns", NULL},
		{"xservice.name=ns", NULL},
		/* malformed anywhere: the whole value is discarded (the OTel spec) */
		{"service.name=bad%zzescape", NULL},
		{"service.name=cut%2", NULL},
		{"service.name=nul%00", NULL},
		{"service.name=ok,other=%g1", NULL},
		{"service.name=ok,noequals", NULL},
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = process_labels_otel_service(cases[i].attrs, buf, sizeof(buf));

		if (cases[i].want ? !got || strcmp(got, cases[i].want) : got != NULL)
			fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", i, cases[i].attrs,
				 got ? got : "(none)", cases[i].want ? cases[i].want : "(none)");
		if (got)
			assert_ptr_equal(got, buf);
	}
	/* cut to the buffer, terminated */
	assert_string_equal(process_labels_otel_service("service.name=abcdef", buf, 4), "abc");
	assert_null(process_labels_otel_service(NULL, buf, sizeof(buf)));

	/* as found in the fixture's environ block */
	size_t len;
	char *env = fixture("environ.bin", &len);

	assert_string_equal(
		process_labels_otel_service(
			process_labels_environ_get(env, len, "OTEL_RESOURCE_ATTRIBUTES"), buf,
			sizeof(buf)),
		"billing api");
	free(env);
}

static void test_container_id(void **state)
{
	static const struct {
		const char *file, *want;
	} cases[] = {
		{"cgroup-docker-v1.txt",
		 "3f4c9e0b7d21a6f58c0e9b2d4a71f3e6c5b8a09d1e2f3a4b5c6d7e8f90a1b2c3"},
		{"cgroup-docker-v2.txt",
		 "0b1c2d3e4f5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
		{"cgroup-containerd-k8s-v2.txt",
		 "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"},
		{"cgroup-kubepods-v1.txt",
		 "71e9a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f"},
		{"cgroup-crio-v2.txt",
		 "c0ffee00deadbeef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"cgroup-podman-v2.txt",
		 "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"},
		{"cgroup-host-v2.txt", NULL},
		{"cgroup-host-v1.txt", NULL},
		{"cgroup-conmon-v2.txt", NULL},
	};
	char buf[65];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *text = fixture(cases[i].file, &len);
		const char *got = process_labels_container_id(text, buf, sizeof(buf));

		if (cases[i].want ? !got || strcmp(got, cases[i].want) : got != NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].file, got ? got : "(none)",
				 cases[i].want ? cases[i].want : "(none)");
		free(text);
	}
	/* docker in docker: the innermost */
	assert_string_equal(
		process_labels_container_id(
			"0::/docker/"
			"1111111111111111111111111111111111111111111111111111111111111111/docker/"
			"2222222222222222222222222222222222222222222222222222222222222222\n",
			buf, sizeof(buf)),
		"2222222222222222222222222222222222222222222222222222222222222222");
	/* not 64 hex digits standing alone */
	assert_null(process_labels_container_id(
		"0::/docker/"
		"11111111111111111111111111111111111111111111111111111111111111112\n",
		buf, sizeof(buf)));
	assert_null(process_labels_container_id(
		"0::/x/"
		"docker-111111111111111111111111111111111111111111111111111111111111111g.scope\n",
		buf, sizeof(buf)));
	assert_null(process_labels_container_id(
		"0::/x/"
		"A111111111111111111111111111111111111111111111111111111111111111\n",
		buf, sizeof(buf)));
	/* no path part, a buffer too small, nothing */
	assert_null(process_labels_container_id(
		"1111111111111111111111111111111111111111111111111111111111111111\n", buf,
		sizeof(buf)));
	assert_null(process_labels_container_id(
		"0::/docker/1111111111111111111111111111111111111111111111111111111111111111", buf,
		64));
	assert_null(process_labels_container_id("", buf, sizeof(buf)));
	assert_null(process_labels_container_id(NULL, buf, sizeof(buf)));
	/* the last line without a newline */
	assert_non_null(process_labels_container_id(
		"0::/docker/1111111111111111111111111111111111111111111111111111111111111111", buf,
		sizeof(buf)));
}

static void test_ingest_name(void **state)
{
	struct agent_label labels[] = {{"zone", "eu 1"}, {"app_tier", "web"}, {"env", "prod"}};
	struct agent_config cfg = {.hostname = "host-01.example", .labels = labels, .n_labels = 3};
	struct process_labels l = {
		.service_name = "billing api",
		.container_id = "0b1c2d3e4f5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
		.python_version = "3.12.1",
		.pid = 4242,
	};
	char *name = process_labels__ingest_name(&l, &cfg), long_value[300];

	/* keys sorted, the agent's and the static ones together; values
	 * cleaned for the name syntax */
	assert_string_equal(name, "billing_api{app_tier=web,container_id=0b1c2d3e4f5a69788796a5b4c"
				  "3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0,env=prod,hostname=host-"
				  "01.example,pid=4242,python_version=3.12.1,zone=eu_1}");
	free(name);

	/* no container, no version, no static labels; no service name */
	l.container_id = NULL;
	l.python_version = NULL;
	l.service_name = NULL;
	cfg.n_labels = 0;
	name = process_labels__ingest_name(&l, &cfg);
	assert_string_equal(name, "python{hostname=host-01.example,pid=4242}");
	free(name);
	l.service_name = "";
	name = process_labels__ingest_name(&l, NULL);
	assert_string_equal(name, "python{pid=4242}");
	free(name);

	/* what would break the syntax becomes '_'; values are cut at 128 */
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	labels[0].value = long_value;
	cfg.n_labels = 1;
	l.service_name = "a{b}=c,d\"e\xc3\xa9/f:g-h.i";
	name = process_labels__ingest_name(&l, &cfg);
	char want[512];

	snprintf(want, sizeof(want),
		 "a_b__c_d_e__/f:g-h.i{hostname=host-01.example,pid=4242,zone=%.128s}", long_value);
	assert_string_equal(name, want);
	free(name);
	l.service_name = long_value;
	name = process_labels__ingest_name(&l, NULL);
	snprintf(want, sizeof(want), "%.128s{pid=4242}", long_value);
	assert_string_equal(name, want);
	free(name);
}

/* A child: `env NAME=VALUE... sleep 30`, once it is sleep. */
static pid_t spawn_sleep(char *const *assignments)
{
	char *argv[16] = {"env"};
	int argc = 1;
	char comm[32] = "";
	pid_t pid;

	for (; *assignments; assignments++)
		argv[argc++] = *assignments;
	argv[argc++] = "sleep";
	argv[argc++] = "30";
	argv[argc] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv("/usr/bin/env", argv);
		_exit(127);
	}
	for (int i = 0; i < 400 && strcmp(comm, "sleep"); i++) {
		struct timespec ts = {0, 5 * 1000 * 1000};

		if (proc_info_comm(pid, comm, sizeof(comm)))
			break;
		if (strcmp(comm, "sleep"))
			nanosleep(&ts, NULL);
	}
	assert_string_equal(comm, "sleep");
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static int load_config(struct agent_config *c, const char *const *words)
{
	char *argv[32] = {"agent", "--server", "http://127.0.0.1:4040"};
	char why[256];
	int argc = 3;

	for (; *words; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	if (agent_config__load(c, argc, argv, why, sizeof(why)))
		fail_msg("config: %s", why);
	return 0;
}

#define CONFIG(c, ...) load_config(c, (const char *const[]){__VA_ARGS__, NULL})

static void test_live(void **state)
{
	char *env_a[] = {"PYROSCOPE_APPLICATION_NAME=svc-a", "OTEL_SERVICE_NAME=otel-b",
			 "APP=custom", NULL};
	char *env_otel[] = {"OTEL_SERVICE_NAME=",
			    "OTEL_RESOURCE_ATTRIBUTES=k=v,service.name=from%20otel", NULL};
	char *env_none[] = {"-u", "PYROSCOPE_APPLICATION_NAME", "-u", "OTEL_SERVICE_NAME",
			    "-u", "OTEL_RESOURCE_ATTRIBUTES",	NULL};
	struct agent_config cfg, custom, rules;
	struct process_labels l;
	char self_cgroup[4096] = "", idbuf[65], *name, want[256];
	const char *self_id;
	pid_t pid;
	FILE *f;

	/* the same container (or none) as this test */
	f = fopen("/proc/self/cgroup", "r");
	assert_non_null(f);
	self_cgroup[fread(self_cgroup, 1, sizeof(self_cgroup) - 1, f)] = '\0';
	fclose(f);
	self_id = process_labels_container_id(self_cgroup, idbuf, sizeof(idbuf));

	CONFIG(&cfg, "--hostname", "h1", "--label", "env=test");
	CONFIG(&custom, "--service-name-env", "APP");
	CONFIG(&rules, "--service-name-rule", "^sleep ([0-9]+)$=napper-\\1", "--service-name-rule",
	       "sleep=never-reached");

	pid = spawn_sleep(env_a);
	assert_int_equal(process_labels__read(&l, pid, "sleep 30", "3.11.2", &cfg), 0);
	assert_string_equal(l.service_name, "svc-a");
	assert_int_equal(l.pid, pid);
	assert_string_equal(l.python_version, "3.11.2");
	if (self_id)
		assert_string_equal(l.container_id, self_id);
	else
		assert_null(l.container_id);
	name = process_labels__ingest_name(&l, &cfg);
	snprintf(want, sizeof(want),
		 "svc-a{%s%s%senv=test,hostname=h1,pid=%d,python_version=3.11.2}",
		 self_id ? "container_id=" : "", self_id ? self_id : "", self_id ? "," : "",
		 (int)pid);
	assert_string_equal(name, want);
	free(name);
	process_labels__clear(&l);
	/* the configured variable instead of the default ones */
	assert_int_equal(process_labels__read(&l, pid, "sleep 30", NULL, &custom), 0);
	assert_string_equal(l.service_name, "custom");
	assert_null(l.python_version);
	process_labels__clear(&l);
	/* a rule wins over the environment; the command line is read when
	 * not given */
	assert_int_equal(process_labels__read(&l, pid, NULL, "3.12", &rules), 0);
	assert_string_equal(l.service_name, "napper-30");
	process_labels__clear(&l);
	assert_int_equal(process_labels__read(&l, pid, "sleep 30", "3.12", NULL), 0);
	assert_string_equal(l.service_name, "svc-a");
	process_labels__clear(&l);
	reap(pid);

	/* OTEL_RESOURCE_ATTRIBUTES after empty variables */
	pid = spawn_sleep(env_otel);
	assert_int_equal(process_labels__read(&l, pid, "sleep 30", "3.12", &cfg), 0);
	assert_string_equal(l.service_name, "from otel");
	process_labels__clear(&l);
	reap(pid);

	/* nothing set: the command name */
	pid = spawn_sleep(env_none);
	assert_int_equal(process_labels__read(&l, pid, "sleep 30", "3.12", &cfg), 0);
	assert_string_equal(l.service_name, "sleep");
	process_labels__clear(&l);
	reap(pid);

	/* gone: the command line's first word */
	assert_int_equal(process_labels__read(&l, pid, "/usr/bin/python3.11 -m app", "3.11", &cfg),
			 0);
	assert_string_equal(l.service_name, "python3.11");
	assert_null(l.container_id);
	process_labels__clear(&l);
	assert_int_equal(
		process_labels__read(&l, pid, "/usr/bin/python3 worker.py", "3.11", &rules), 0);
	assert_string_equal(l.service_name, "python3");
	process_labels__clear(&l);
	assert_int_equal(process_labels__read(&l, pid, NULL, NULL, NULL), 0);
	assert_string_equal(l.service_name, "python");
	process_labels__clear(&l);
	process_labels__clear(NULL);

	agent_config__free(&cfg);
	agent_config__free(&custom);
	agent_config__free(&rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environ_get),  cmocka_unit_test(test_otel_service),
		cmocka_unit_test(test_container_id), cmocka_unit_test(test_ingest_name),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
