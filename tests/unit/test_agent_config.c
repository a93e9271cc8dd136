// SPDX-License-Identifier: MIT
/* Unit tests for user/agent_config.c: defaults, the config file, flags over
 * it, every error message, secrets, reloads, and the example config that
 * ships in packaging/. Paths are relative to the repository's root, where
 * the tests run. */
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_config.h"

#define FIX "tests/unit/fixtures/agent/"
#define EXAMPLE "packaging/agent.conf"

static char why[512];

/* agent_config__load over "agent" and the NULL-terminated words. */
static int load_v(struct agent_config *c, const char *const *words)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = "agent";
	for (; *words; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	memset(why, 'x', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	return agent_config__load(c, argc, argv, why, sizeof(why));
}

#define LOAD(c, ...) load_v(c, (const char *const[]){__VA_ARGS__, NULL})

/* A temporary config file holding text[len]; its path in path[64]. */
static void write_config_len(char *path, const char *text, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/pyebpf-test-agent-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void write_config(char *path, const char *text)
{
	write_config_len(path, text, strlen(text));
}

static void test_defaults(void **state)
{
	struct agent_config c;
	char host[256] = "";

	assert_int_equal(LOAD(&c, "--server", "http://pyroscope:4040"), 0);
	assert_string_equal(c.server, "http://pyroscope:4040");
	assert_null(c.config_path);
	assert_int_equal(c.rate_hz, 97);
	assert_int_equal(c.interval_s, 10);
	assert_false(c.off_cpu);
	assert_int_equal(c.max_frames, 0);
	assert_int_equal(c.max_stacks, AGENT_DEFAULT_MAX_STACKS);
	assert_int_equal(c.n_comm, 0);
	assert_int_equal(c.n_exclude_pids, 0);
	assert_int_equal(c.n_labels, 0);
	assert_int_equal(c.n_rules, 0);
	assert_int_equal(c.n_service_name_env, 2);
	assert_string_equal(c.service_name_env[0], "PYROSCOPE_APPLICATION_NAME");
	assert_string_equal(c.service_name_env[1], "OTEL_SERVICE_NAME");
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(c.hostname, host);
	assert_null(c.basic_auth_user);
	assert_null(c.basic_auth_password);
	assert_null(c.bearer_token);
	assert_null(c.tenant_id);
	assert_null(c.ca_file);
	assert_false(c.tls_insecure);
	assert_true(c.upload_timeout_s == 10.0);
	assert_true(c.max_backoff_s == 60.0);
	assert_string_equal(c.spool_dir, "/var/lib/pyebpf/spool");
	assert_true(c.spool_max_bytes == 64ull << 20);
	assert_int_equal(c.spool_max_items, 10000);
	assert_string_equal(c.metrics_address, "127.0.0.1:9464");
	assert_false(c.help);
	agent_config__free(&c);
	/* free is idempotent: the struct is left empty */
	agent_config__free(&c);
	agent_config__free(NULL);
}

static void test_file(void **state)
{
	struct agent_config c;
	regmatch_t m[2];

	assert_int_equal(LOAD(&c, "--config", FIX "full.conf"), 0);
	assert_string_equal(c.config_path, FIX "full.conf");
	assert_string_equal(c.server, "https://pyroscope.example:4443/prefix");
	assert_int_equal(c.rate_hz, 49);
	assert_int_equal(c.interval_s, 15);
	assert_true(c.off_cpu);
	assert_false(c.tls_insecure);
	assert_int_equal(c.max_frames, 128);
	assert_int_equal(c.max_stacks, 20000);
	/* repeats add, in order; one pair of outer quotes goes */
	assert_int_equal(c.n_comm, 2);
	assert_string_equal(c.comm[0], "gunicorn");
	assert_string_equal(c.comm[1], "celery worker");
	assert_int_equal(c.n_exclude_pids, 2);
	assert_int_equal(c.exclude_pids[0], 1);
	assert_int_equal(c.exclude_pids[1], 4242);
	/* a label's key ends at the first '='; inner quotes stay */
	assert_int_equal(c.n_labels, 3);
	assert_string_equal(c.labels[0].key, "env");
	assert_string_equal(c.labels[0].value, "prod");
	assert_string_equal(c.labels[1].key, "region");
	assert_string_equal(c.labels[1].value, "\"eu-west-1\"");
	assert_string_equal(c.labels[2].key, "team");
	assert_string_equal(c.labels[2].value, "a=b");
	/* a rule splits at the last '=', and is compiled */
	assert_int_equal(c.n_rules, 2);
	assert_string_equal(c.rules[0].pattern, "^/usr/bin/python3 /srv/([a-z]+)/app\\.py");
	assert_string_equal(c.rules[0].name, "svc-\\1");
	assert_string_equal(c.rules[1].pattern, "worker --queue=(high|low)");
	assert_string_equal(c.rules[1].name, "queue-\\1");
	assert_int_equal(regexec(&c.rules[0].re, "/usr/bin/python3 /srv/shop/app.py -v", 2, m, 0),
			 0);
	assert_int_equal(m[1].rm_so, 22);
	assert_int_equal(m[1].rm_eo, 26);
	assert_int_equal(regexec(&c.rules[1].re, "python3 worker --queue=low", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(&c.rules[1].re, "python3 worker --queue=mid", 0, NULL, 0), 0);
	/* the file's names replace the default ones */
	assert_int_equal(c.n_service_name_env, 2);
	assert_string_equal(c.service_name_env[0], "APP_NAME");
	assert_string_equal(c.service_name_env[1], "SERVICE");
	assert_string_equal(c.hostname, "web-01");
	assert_string_equal(c.tenant_id, "team-a");
	assert_true(c.upload_timeout_s == 2.5);
	assert_true(c.max_backoff_s == 120.0);
	assert_string_equal(c.spool_dir, "/tmp/pyebpf-spool");
	assert_true(c.spool_max_bytes == 8ull << 20);
	assert_int_equal(c.spool_max_items, 500);
	assert_null(c.metrics_address);
	assert_string_equal(c.basic_auth_user, "agent");
	assert_string_equal(c.basic_auth_password, "hunter2-file");
	assert_null(c.bearer_token);
	agent_config__free(&c);
}

/* Every spelling of a boolean, in the file and after a flag's '='. */
static void test_booleans(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {{"true", true}, {"yes", true}, {"on", true},     {"1", true},
		     {"TRUE", true}, {"Yes", true}, {"false", false}, {"no", false},
		     {"off", false}, {"0", false},  {"False", false}, {"OFF", false}};
	struct agent_config c;
	char path[64], text[128], flag[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "server = http://h\noff-cpu = %s\n", cases[i].text);
		write_config(path, text);
		assert_int_equal(LOAD(&c, "--config", path), 0);
		assert_int_equal(c.off_cpu, cases[i].value);
		agent_config__free(&c);
		/* a flag without a value sets true over the file's false, a
		 * flag with one sets that */
		assert_int_equal(LOAD(&c, "--config", path, "--off-cpu"), 0);
		assert_true(c.off_cpu);
		agent_config__free(&c);
		snprintf(flag, sizeof(flag), "--tls-insecure-skip-verify=%s", cases[i].text);
		assert_int_equal(LOAD(&c, "--config", path, flag), 0);
		assert_int_equal(c.tls_insecure, cases[i].value);
		agent_config__free(&c);
		unlink(path);
	}
}

static void test_flags_override_file(void **state)
{
	struct agent_config c;

	assert_int_equal(LOAD(&c, "--rate", "500", "--config", FIX "full.conf", "--comm", "a",
			      "--label", "x=1", "--comm", "b", "--off-cpu=false",
			      "--server=http://other:4040", "--metrics-address", "0.0.0.0:9000",
			      "--service-name-env", "ONLY", "--spool-max-size", "1G", "--hostname",
			      "flag-host"),
			 0);
	assert_int_equal(c.rate_hz, 500);
	assert_string_equal(c.server, "http://other:4040");
	assert_false(c.off_cpu);
	/* the flags' values replace all of the file's */
	assert_int_equal(c.n_comm, 2);
	assert_string_equal(c.comm[0], "a");
	assert_string_equal(c.comm[1], "b");
	assert_int_equal(c.n_labels, 1);
	assert_string_equal(c.labels[0].key, "x");
	assert_string_equal(c.labels[0].value, "1");
	assert_int_equal(c.n_service_name_env, 1);
	assert_string_equal(c.service_name_env[0], "ONLY");
	/* what no flag gave stays the file's */
	assert_int_equal(c.n_exclude_pids, 2);
	assert_int_equal(c.n_rules, 2);
	assert_int_equal(c.interval_s, 15);
	assert_string_equal(c.metrics_address, "0.0.0.0:9000");
	assert_true(c.spool_max_bytes == 1ull << 30);
	assert_string_equal(c.hostname, "flag-host");
	agent_config__free(&c);

	/* "off" from a flag over the file's default */
	assert_int_equal(LOAD(&c, "--server", "http://h", "--metrics-address", "off",
			      "--max-frames", "512", "--exclude-pid", "0x10"),
			 -1);
	assert_string_equal(why, "--exclude-pid: expected a number from 1 to 2147483647, got "
				 "\"0x10\"");
	assert_int_equal(LOAD(&c, "--server", "http://h", "--metrics-address", "off",
			      "--max-frames", "512", "--exclude-pid", "16", "--exclude-pid", "17"),
			 0);
	assert_null(c.metrics_address);
	assert_int_equal(c.max_frames, 512);
	assert_int_equal(c.n_exclude_pids, 2);
	assert_int_equal(c.exclude_pids[1], 17);
	agent_config__free(&c);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} cases[] = {{"4096", 4096},	     {"1K", 1024},
		     {"64M", 64ull << 20},   {"2G", 2ull << 30},
		     {"64MiB", 64ull << 20}, {"10mb", 10ull << 20},
		     {"1t", 1ull << 40},     {"7B", 7}};
	struct agent_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
			LOAD(&c, "--server", "http://h", "--spool-max-size", cases[i].text), 0);
		assert_true(c.spool_max_bytes == cases[i].bytes);
		agent_config__free(&c);
	}
}

/* Errors from the command line: the whole message. */
static void test_flag_errors(void **state)
{
	static const struct {
		const char *args[8];
		const char *want;
	} cases[] = {
		{{"--rate", "97"}, "no --server given (or `server =` in the config file)"},
		{{"--server", "http://h", "--rate", "fast"},
		 "--rate: expected a number from 1 to 10000, got \"fast\""},
		{{"--server", "http://h", "--rate", "0"},
		 "--rate: expected a number from 1 to 10000, got \"0\""},
		{{"--server", "http://h", "--rate", "10001"},
		 "--rate: expected a number from 1 to 10000, got \"10001\""},
		{{"--server", "http://h", "--rate", "-5"},
		 "--rate: expected a number from 1 to 10000, got \"-5\""},
		{{"--server", "http://h", "--upload-interval", "3601"},
		 "--upload-interval: expected a number from 1 to 3600, got \"3601\""},
		{{"--server", "http://h", "--max-frames", "513"},
		 "--max-frames: expected a number from 1 to 512, got \"513\""},
		{{"--server", "http://h", "--upload-timeout", "0"},
		 "--upload-timeout: expected a number of seconds from 1 to 600, got \"0\""},
		{{"--server", "http://h", "--max-backoff", "nan"},
		 "--max-backoff: expected a number of seconds from 1 to 3600, got \"nan\""},
		{{"--server", "http://h", "--spool-max-size", "12X"},
		 "--spool-max-size: expected a size in bytes, with K, M or G (like 64M), got "
		 "\"12X\""},
		{{"--server", "http://h", "--spool-max-size", "0"},
		 "--spool-max-size: expected a size in bytes, with K, M or G (like 64M), got "
		 "\"0\""},
		{{"--server", "http://h", "--rate"}, "--rate: needs a value"},
		{{"--server", "http://h", "--comm", ""}, "--comm: needs a value"},
		{{"--server", "ftp://h"},
		 "--server: expected an http:// or https:// URL (like http://pyroscope:4040), "
		 "got \"ftp://h\""},
		{{"--server", "http://"},
		 "--server: expected an http:// or https:// URL (like http://pyroscope:4040), "
		 "got \"http://\""},
		{{"--server", "http://u:pw@h/"},
		 "--server: give credentials with --basic-auth-user and "
		 "--basic-auth-password-file, not in the URL"},
		{{"--server", "ftp://u:pw@h"},
		 "--server: give credentials with --basic-auth-user and "
		 "--basic-auth-password-file, not in the URL"},
		{{"--server", "http://h", "--sever", "x"},
		 "unknown or ambiguous option \"--sever\" (see pyebpf agent --help)"},
		{{"--server", "http://h", "--sever=secret"},
		 "unknown or ambiguous option \"--sever\" (see pyebpf agent --help)"},
		{{"--server", "http://h", "--s", "x"},
		 "unknown or ambiguous option \"--s\" (see pyebpf agent --help)"},
		{{"--server", "http://h", "-x"}, "unknown option \"-x\" (see pyebpf agent --help)"},
		{{"--server", "http://h", "stray"},
		 "unexpected argument \"stray\" (see pyebpf agent --help)"},
		{{"--server", "http://h", "--", "stray"},
		 "unexpected argument \"stray\" (see pyebpf agent --help)"},
		{{"--server", "http://h", "--help=yes"}, "--help takes no value"},
		{{"--server", "http://h", "--label", "novalue"},
		 "--label: expected KEY=VALUE, got \"novalue\""},
		{{"--server", "http://h", "--label", "k="},
		 "--label: expected KEY=VALUE, got \"k=\""},
		{{"--server", "http://h", "--label", "=v"},
		 "--label: expected KEY=VALUE, got \"=v\""},
		{{"--server", "http://h", "--label", "9lives=v"},
		 "--label: invalid label name \"9lives\": expected letters, digits and '_', not "
		 "starting with a digit"},
		{{"--server", "http://h", "--label", "a.b=v"},
		 "--label: invalid label name \"a.b\": expected letters, digits and '_', not "
		 "starting with a digit"},
		{{"--server", "http://h", "--label", "__name__=v"},
		 "--label: label name \"__name__\": names starting with \"__\" are reserved"},
		{{"--server", "http://h", "--label", "pid=1"},
		 "--label: label \"pid\" is set by the agent itself"},
		{{"--server", "http://h", "--label", "service_name=x"},
		 "--label: label \"service_name\" is set by the agent itself"},
		{{"--server", "http://h", "--label", "a=1", "--label", "a=2"},
		 "--label: label \"a\" given twice"},
		{{"--server", "http://h", "--service-name-rule", "(unclosed=x"},
		 "--service-name-rule: invalid regular expression \"(unclosed\": Unmatched ( or "
		 "\\("},
		{{"--server", "http://h", "--service-name-rule", "(a)b=x\\2"},
		 "--service-name-rule: \"x\\2\" uses \\2 but the expression has 1 group"},
		{{"--server", "http://h", "--service-name-rule", "noname"},
		 "--service-name-rule: expected REGEX=NAME, got \"noname\""},
		{{"--server", "http://h", "--service-name-env", "A=B"},
		 "--service-name-env: expected an environment variable's name, got \"A=B\""},
		{{"--server", "http://h", "--metrics-address", "9464"},
		 "--metrics-address: expected HOST:PORT (like 127.0.0.1:9464) or \"off\", got "
		 "\"9464\""},
		{{"--server", "http://h", "--metrics-address", "h:70000"},
		 "--metrics-address: expected HOST:PORT (like 127.0.0.1:9464) or \"off\", got "
		 "\"h:70000\""},
		{{"--server", "http://h", "--config", "/nonexistent/agent.conf"},
		 "cannot read config file \"/nonexistent/agent.conf\": No such file or directory"},
		{{"--server", "http://h", "--ca-file", "/nonexistent/ca.pem"},
		 "cannot read the CA file \"/nonexistent/ca.pem\": No such file or directory"},
		{{"--server", "http://h", "--basic-auth-user", "u"},
		 "basic-auth-user needs basic-auth-password-file (or `basic-auth-password =` in "
		 "the config file)"},
		{{"--server", "http://h", "--basic-auth-password-file", FIX "password.txt"},
		 "a basic-auth password needs --basic-auth-user"},
		{{"--server", "http://h", "--bearer-token-file", FIX "empty-secret.txt"},
		 "the bearer-token file \"" FIX "empty-secret.txt\" is empty"},
		{{"--server", "http://h", "--bearer-token-file", "/nonexistent/token"},
		 "cannot read the bearer-token file \"/nonexistent/token\": No such file or "
		 "directory"},
		{{"--server", "http://h", "--bearer-token-file", FIX "token.txt",
		  "--basic-auth-user", "u"},
		 "basic-auth-user needs basic-auth-password-file (or `basic-auth-password =` in "
		 "the config file)"},
	};
	struct agent_config c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;
		int ret = load_v(&c, a);

		if (ret != -1 || strcmp(why, cases[i].want))
			fail_msg("case %zu (%s %s ...): got %d \"%s\", want \"%s\"", i, a[0],
				 a[1] ? a[1] : "", ret, why, cases[i].want);
		/* a failed load leaves nothing to free */
		assert_null(c.server);
		assert_null(c.labels);
		assert_null(c.rules);
	}
}

/* Errors in the config file: "FILE:LINE: ..." */
static void test_file_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want; /* after the path */
	} cases[] = {
		{"server = http://h\n\n# c\nsever = x\n", ":4: unknown key \"sever\""},
		{"server = http://h\nrate = fast\n",
		 ":2: rate: expected a number from 1 to 10000, got \"fast\""},
		{"rate = 5\nserver = http://h\nrate = 6\n",
		 ":3: rate given twice (first on line 1)"},
		{"server = http://h\nrate =\n", ":2: rate: needs a value"},
		{"server = http://h\noff-cpu =\n", ":2: off-cpu: needs a value"},
		{"server = http://h\noff-cpu = maybe\n",
		 ":2: off-cpu: expected true or false, got \"maybe\""},
		{"server = http://h\njust-a-word\n", ":2: expected \"key = value\""},
		{"server = http://h\n= value\n", ":2: unknown key \"\""},
		{"server = http://h\nconfig = /etc/other.conf\n",
		 ":2: config is a command-line option, not a config key"},
		{"server = http://h\nhelp = true\n",
		 ":2: help is a command-line option, not a config key"},
		{"server = http://h\nlabel = hostname=x\n",
		 ":2: label: label \"hostname\" is set by the agent itself"},
		{"server = http://h\nbearer-token = t\nbearer-token-file = " FIX "token.txt\n",
		 ":3: give bearer-token or bearer-token-file, not both"},
		{"server = http://h\nbasic-auth-password-file = /x\nbasic-auth-password = p\n",
		 ":3: give basic-auth-password or basic-auth-password-file, not both"},
		{"server = http://h\nbasic-auth-password = \"\"\n",
		 ":2: basic-auth-password: needs a value"},
	};
	struct agent_config c;
	char path[64], want[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_config(path, cases[i].text);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
		assert_int_equal(LOAD(&c, "--config", path), -1);
		if (strcmp(why, want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, why, want);
		unlink(path);
	}
	/* file-level problems */
	write_config_len(path, "server = http://h\n\0rate = 5\n", 28);
	assert_int_equal(LOAD(&c, "--config", path), -1);
	snprintf(want, sizeof(want), "%s: not a text file", path);
	assert_string_equal(why, want);
	unlink(path);
	assert_int_equal(LOAD(&c, "--config", "/"), -1);
	assert_string_equal(why, "cannot read config file \"/\": Is a directory");
}

/* Secrets: from files (first line), from the config file, never as flags
 * and never in a message. */
static void test_secrets(void **state)
{
	struct agent_config c;
	char path[64];

	assert_int_equal(LOAD(&c, "--server", "https://h", "--bearer-token-file", FIX "token.txt",
			      "--tenant-id", "t1"),
			 0);
	assert_string_equal(c.bearer_token, "tok-abc.def"); /* CRLF removed */
	assert_string_equal(c.tenant_id, "t1");
	agent_config__free(&c);

	/* refused as flags, the value never echoed */
	assert_int_equal(LOAD(&c, "--server", "http://h", "--bearer-token=s3cr3t"), -1);
	assert_string_equal(why, "--bearer-token: secrets are not taken on the command line, "
				 "where ps shows them: use --bearer-token-file or the config "
				 "file");
	assert_int_equal(LOAD(&c, "--server", "http://h", "--basic-auth-password", "s3cr3t"), -1);
	assert_string_equal(why, "--basic-auth-password: secrets are not taken on the command "
				 "line, where ps shows them: use --basic-auth-password-file or "
				 "the config file");
	/* not an abbreviation of --bearer-token-file either */
	assert_int_equal(LOAD(&c, "--server", "http://h", "--bearer-token", FIX "token.txt"), -1);
	assert_non_null(strstr(why, "secrets are not taken"));

	/* in the config file; a flag naming a file replaces it */
	write_config(path, "server = http://h\nbearer-token = \"s3cr3t\"\n");
	assert_int_equal(LOAD(&c, "--config", path), 0);
	assert_string_equal(c.bearer_token, "s3cr3t");
	agent_config__free(&c);
	assert_int_equal(LOAD(&c, "--config", path, "--bearer-token-file", FIX "token.txt"), 0);
	assert_string_equal(c.bearer_token, "tok-abc.def");
	agent_config__free(&c);
	/* with basic auth too: refused, without the secret in the message */
	assert_int_equal(LOAD(&c, "--config", path, "--basic-auth-user", "u",
			      "--basic-auth-password-file", FIX "password.txt"),
			 -1);
	assert_string_equal(why, "give basic auth or a bearer token, not both");
	unlink(path);

	/* a stray secret on a line of its own is not echoed */
	write_config(path, "server = http://h\ns3cr3t\n");
	assert_int_equal(LOAD(&c, "--config", path), -1);
	assert_null(strstr(why, "s3cr3t"));
	unlink(path);
	write_config(path,
		     "server = http://h\nbasic-auth-user = u\nbasic-auth-password = p=w#rd\n");
	assert_int_equal(LOAD(&c, "--config", path), 0);
	assert_string_equal(c.basic_auth_password, "p=w#rd");
	agent_config__free(&c);
	unlink(path);
}

static bool same_config(const struct agent_config *a, const struct agent_config *b)
{
#define SAME_STR(f) ((!a->f && !b->f) || (a->f && b->f && !strcmp(a->f, b->f)))
	if (!SAME_STR(config_path) || !SAME_STR(server) || !SAME_STR(hostname) ||
	    !SAME_STR(basic_auth_user) || !SAME_STR(basic_auth_password) ||
	    !SAME_STR(bearer_token) || !SAME_STR(tenant_id) || !SAME_STR(ca_file) ||
	    !SAME_STR(spool_dir) || !SAME_STR(metrics_address))
		return false;
	if (a->rate_hz != b->rate_hz || a->interval_s != b->interval_s ||
	    a->off_cpu != b->off_cpu || a->max_frames != b->max_frames ||
	    a->max_stacks != b->max_stacks || a->tls_insecure != b->tls_insecure ||
	    a->upload_timeout_s != b->upload_timeout_s || a->max_backoff_s != b->max_backoff_s ||
	    a->spool_max_bytes != b->spool_max_bytes || a->spool_max_items != b->spool_max_items ||
	    a->help != b->help)
		return false;
	if (a->n_comm != b->n_comm || a->n_exclude_pids != b->n_exclude_pids ||
	    a->n_labels != b->n_labels || a->n_rules != b->n_rules ||
	    a->n_service_name_env != b->n_service_name_env)
		return false;
	for (size_t i = 0; i < a->n_comm; i++)
		if (strcmp(a->comm[i], b->comm[i]))
			return false;
	for (size_t i = 0; i < a->n_exclude_pids; i++)
		if (a->exclude_pids[i] != b->exclude_pids[i])
			return false;
	for (size_t i = 0; i < a->n_labels; i++)
		if (strcmp(a->labels[i].key, b->labels[i].key) ||
		    strcmp(a->labels[i].value, b->labels[i].value))
			return false;
	for (size_t i = 0; i < a->n_rules; i++)
		if (strcmp(a->rules[i].pattern, b->rules[i].pattern) ||
		    strcmp(a->rules[i].name, b->rules[i].name))
			return false;
	for (size_t i = 0; i < a->n_service_name_env; i++)
		if (strcmp(a->service_name_env[i], b->service_name_env[i]))
			return false;
	return true;
#undef SAME_STR
}

/* SIGHUP loads again with the same argv: the same result, whatever getopt
 * state an earlier (even failed) parse left. */
static void test_reload(void **state)
{
	struct agent_config a, b, bad;

	assert_int_equal(LOAD(&a, "--config", FIX "full.conf", "--rate", "33", "--comm", "x"), 0);
	/* parses that stop half-way through a short option cluster */
	assert_int_equal(LOAD(&bad, "-hx"), -1);
	assert_string_equal(why, "unknown option \"-x\" (see pyebpf agent --help)");
	assert_int_equal(LOAD(&bad, "--server", "http://h", "-xh"), -1);
	assert_int_equal(LOAD(&b, "--config", FIX "full.conf", "--rate", "33", "--comm", "x"), 0);
	assert_true(same_config(&a, &b));
	assert_false(agent_config__needs_new_session(&a, &b));
	agent_config__free(&a);
	agent_config__free(&b);
	assert_true(same_config(&a, &b)); /* both emptied */
}

static void test_help(void **state)
{
	struct agent_config c;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	/* --help needs nothing else, and reads no file */
	assert_int_equal(LOAD(&c, "--config", "/nonexistent", "-h"), 0);
	assert_true(c.help);
	agent_config__free(&c);
	assert_int_equal(LOAD(&c, "--help"), 0);
	assert_true(c.help);
	agent_config__free(&c);

	/* every flag is in the help text */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	agent_config__help(f);
	fclose(f);
	for (const struct option *o = agent_config__long_options(); o->name; o++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--%s", o->name);
		if (!strstr(text, flag))
			fail_msg("%s is not in the help text", flag);
	}
	assert_non_null(strstr(text, "(default 97)"));
	free(text);
}

/* The public option table: every flag, secrets left out. */
static void test_long_options(void **state)
{
	static const char *const want[] = {"config",
					   "server",
					   "rate",
					   "upload-interval",
					   "off-cpu",
					   "max-frames",
					   "max-stacks",
					   "comm",
					   "exclude-pid",
					   "label",
					   "service-name-rule",
					   "service-name-env",
					   "hostname",
					   "basic-auth-user",
					   "basic-auth-password-file",
					   "bearer-token-file",
					   "tenant-id",
					   "ca-file",
					   "tls-insecure-skip-verify",
					   "upload-timeout",
					   "max-backoff",
					   "spool-dir",
					   "spool-max-size",
					   "spool-max-items",
					   "metrics-address",
					   "help"};
	const struct option *o = agent_config__long_options();
	size_t n = 0;

	for (; o[n].name; n++) {
		assert_string_equal(o[n].name, want[n]);
		assert_string_not_equal(o[n].name, "bearer-token");
		assert_string_not_equal(o[n].name, "basic-auth-password");
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_int_equal(o[n - 1].val, 'h');
	assert_int_equal(o[0].has_arg, required_argument);
	assert_int_equal(o[4].has_arg, optional_argument); /* off-cpu[=BOOL] */
}

static void test_needs_new_session(void **state)
{
	char *comm_a[] = {"a", "b"}, *comm_b[] = {"b", "a"}, *comm_c[] = {"a", "c"};
	char *comm_d[] = {"a", "a"};
	pid_t pids_a[] = {1, 2}, pids_b[] = {2, 1}, pids_c[] = {1, 3};
	struct agent_label label = {"k", "v"};
	struct agent_config a = {.rate_hz = 97,
				 .comm = comm_a,
				 .n_comm = 2,
				 .exclude_pids = pids_a,
				 .n_exclude_pids = 2};
	struct agent_config b = a;

	assert_false(agent_config__needs_new_session(&a, &b));
	/* what the BPF session is made with */
	b.rate_hz = 98;
	assert_true(agent_config__needs_new_session(&a, &b));
	b = a;
	b.off_cpu = true;
	assert_true(agent_config__needs_new_session(&a, &b));
	b = a;
	b.max_frames = 64;
	assert_true(agent_config__needs_new_session(&a, &b));
	b = a;
	b.comm = comm_c;
	assert_true(agent_config__needs_new_session(&a, &b));
	b.comm = comm_d;
	assert_true(agent_config__needs_new_session(&a, &b));
	b.n_comm = 1;
	assert_true(agent_config__needs_new_session(&a, &b));
	b = a;
	b.n_comm = 0;
	assert_true(agent_config__needs_new_session(&a, &b));
	b = a;
	b.exclude_pids = pids_c;
	assert_true(agent_config__needs_new_session(&a, &b));
	b.n_exclude_pids = 0;
	assert_true(agent_config__needs_new_session(&a, &b));
	/* the same filters in another order are the same */
	b = a;
	b.comm = comm_b;
	b.exclude_pids = pids_b;
	assert_false(agent_config__needs_new_session(&a, &b));
	/* everything else applies in place */
	b.interval_s = 60;
	b.max_stacks = 7;
	b.labels = &label;
	b.n_labels = 1;
	b.server = "http://elsewhere";
	b.spool_max_items = 3;
	b.tls_insecure = true;
	b.upload_timeout_s = 1;
	b.metrics_address = NULL;
	assert_false(agent_config__needs_new_session(&a, &b));
}

/* The example config loads, and its "#key = value" lines are the real
 * defaults: uncommented, they change nothing. Every flag is documented in
 * it. */
static void test_example_config(void **state)
{
	struct agent_config defaults, example, uncommented;
	char *text = NULL, *line, path[64];
	size_t len = 0, n_defaults = 0;
	FILE *f = fopen(EXAMPLE, "r"), *out;
	char *body = NULL;
	size_t body_len = 0;

	assert_non_null(f);
	out = open_memstream(&body, &body_len);
	assert_non_null(out);
	while (getline(&text, &len, f) > 0) {
		line = text;
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " = ")) {
			line++;
			n_defaults++;
		}
		fputs(line, out);
	}
	free(text);
	fclose(f);
	fclose(out);
	assert_true(n_defaults >= 12);

	for (const struct option *o = agent_config__long_options(); o->name; o++) {
		char key[64];

		if (!strcmp(o->name, "config") || !strcmp(o->name, "help"))
			continue;
		snprintf(key, sizeof(key), "%s = ", o->name);
		if (!strstr(body, key))
			fail_msg("%s is not documented in %s", o->name, EXAMPLE);
	}
	write_config(path, body);
	free(body);

	assert_int_equal(LOAD(&defaults, "--server", "http://localhost:4040"), 0);
	assert_int_equal(LOAD(&example, "--config", EXAMPLE), 0);
	assert_int_equal(LOAD(&uncommented, "--config", path), 0);
	assert_string_equal(example.config_path, EXAMPLE);
	free(example.config_path);
	example.config_path = NULL;
	free(uncommented.config_path);
	uncommented.config_path = NULL;
	assert_true(same_config(&defaults, &example));
	assert_true(same_config(&defaults, &uncommented));
	agent_config__free(&defaults);
	agent_config__free(&example);
	agent_config__free(&uncommented);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_file),
		cmocka_unit_test(test_booleans),       cmocka_unit_test(test_flags_override_file),
		cmocka_unit_test(test_sizes),	       cmocka_unit_test(test_flag_errors),
		cmocka_unit_test(test_file_errors),    cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_reload),	       cmocka_unit_test(test_help),
		cmocka_unit_test(test_long_options),   cmocka_unit_test(test_needs_new_session),
		cmocka_unit_test(test_example_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
