// SPDX-License-Identifier: MIT
/* Unit tests for user/agent_metrics.c: the Prometheus text, the address
 * parser, this process's usage, and a live server fetched over a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent_metrics.c"

static const struct agent_metrics_values fixed = {
	.samples = 12345,
	.samples_lost = 6,
	.error_samples = 7,
	.processes = 3,
	.processes_seen = 41,
	.intervals = 99,
	.uploads_ok = 90,
	.uploads_failed = 8,
	.uploads_rejected = 1,
	.spool_items = 2,
	.spool_bytes = 40960,
	.spool_dropped = 5,
	.backoff_s = 2.5,
	.cpu_seconds = 0.1,
	.rss_bytes = 31457280,
	.start_time_s = 1700000000.25,
};

static const char fixed_text[] =
	"# HELP pyebpf_agent_samples_total records that went into profiles\n"
	"# TYPE pyebpf_agent_samples_total counter\n"
	"pyebpf_agent_samples_total 12345\n"
	"# HELP pyebpf_agent_samples_lost_total records the kernel dropped (ring buffer full)\n"
	"# TYPE pyebpf_agent_samples_lost_total counter\n"
	"pyebpf_agent_samples_lost_total 6\n"
	"# HELP pyebpf_agent_error_samples_total records with an error frame\n"
	"# TYPE pyebpf_agent_error_samples_total counter\n"
	"pyebpf_agent_error_samples_total 7\n"
	"# HELP pyebpf_agent_processes Python processes profiled now\n"
	"# TYPE pyebpf_agent_processes gauge\n"
	"pyebpf_agent_processes 3\n"
	"# HELP pyebpf_agent_processes_seen_total process instances ever profiled\n"
	"# TYPE pyebpf_agent_processes_seen_total counter\n"
	"pyebpf_agent_processes_seen_total 41\n"
	"# HELP pyebpf_agent_intervals_total upload intervals completed\n"
	"# TYPE pyebpf_agent_intervals_total counter\n"
	"pyebpf_agent_intervals_total 99\n"
	"# HELP pyebpf_agent_uploads_total uploads by result: ok, failed (kept for a retry), "
	"rejected (dropped)\n"
	"# TYPE pyebpf_agent_uploads_total counter\n"
	"pyebpf_agent_uploads_total{result=\"ok\"} 90\n"
	"pyebpf_agent_uploads_total{result=\"failed\"} 8\n"
	"pyebpf_agent_uploads_total{result=\"rejected\"} 1\n"
	"# HELP pyebpf_agent_spool_items uploads waiting in the spool\n"
	"# TYPE pyebpf_agent_spool_items gauge\n"
	"pyebpf_agent_spool_items 2\n"
	"# HELP pyebpf_agent_spool_bytes bytes of uploads waiting in the spool\n"
	"# TYPE pyebpf_agent_spool_bytes gauge\n"
	"pyebpf_agent_spool_bytes 40960\n"
	"# HELP pyebpf_agent_spool_dropped_total uploads deleted unsent because the spool was "
	"full\n"
	"# TYPE pyebpf_agent_spool_dropped_total counter\n"
	"pyebpf_agent_spool_dropped_total 5\n"
	"# HELP pyebpf_agent_backoff_seconds current wait before the next upload retry\n"
	"# TYPE pyebpf_agent_backoff_seconds gauge\n"
	"pyebpf_agent_backoff_seconds 2.5\n"
	"# HELP pyebpf_agent_cpu_seconds_total the agent's own CPU time (user and system)\n"
	"# TYPE pyebpf_agent_cpu_seconds_total counter\n"
	"pyebpf_agent_cpu_seconds_total 0.1\n"
	"# HELP pyebpf_agent_resident_memory_bytes the agent's own resident memory\n"
	"# TYPE pyebpf_agent_resident_memory_bytes gauge\n"
	"pyebpf_agent_resident_memory_bytes 31457280\n"
	"# HELP pyebpf_agent_start_time_seconds Unix time the agent started\n"
	"# TYPE pyebpf_agent_start_time_seconds gauge\n"
	"pyebpf_agent_start_time_seconds 1700000000.25\n";

/* agent_metrics_format() of v, as a string to free */
static char *format(const struct agent_metrics_values *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_int_equal(agent_metrics_format(v, out), 0);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static void test_format_exact(void **state)
{
	char *text = format(&fixed);

	assert_string_equal(text, fixed_text);
	free(text);
	assert_int_equal(agent_metrics_format(NULL, stdout), -EINVAL);
	assert_int_equal(agent_metrics_format(&fixed, NULL), -EINVAL);
}

/* Every sample line's metric has a HELP and a TYPE line before it, each
 * named once; counters, and only they, end in _total. */
static void test_format_well_formed(void **state)
{
	char *text = format(&fixed), *save = NULL, *line;
	char help[64][80], type[64][80];
	size_t nhelp = 0, ntype = 0, samples = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[80], kind[16];
		bool found = false;

		if (sscanf(line, "# HELP %79s", name) == 1) {
			for (size_t i = 0; i < nhelp; i++)
				assert_string_not_equal(help[i], name);
			assert_true(nhelp < 64);
			strcpy(help[nhelp++], name);
			assert_true(strlen(line) > strlen("# HELP ") + strlen(name) + 1);
			continue;
		}
		if (sscanf(line, "# TYPE %79s %15s", name, kind) == 2) {
			bool total = strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total");

			assert_true(ntype < 64);
			strcpy(type[ntype++], name);
			/* HELP comes first, for the same metric */
			assert_int_equal(nhelp, ntype);
			assert_string_equal(help[nhelp - 1], name);
			if (strcmp(kind, "counter")) {
				assert_string_equal(kind, "gauge");
				assert_false(total);
			} else {
				assert_true(total);
			}
			continue;
		}
		assert_int_not_equal(line[0], '#');
		assert_int_equal(strncmp(line, "pyebpf_agent_", 13), 0);
		line[strcspn(line, "{ ")] = '\0';
		for (size_t i = 0; i < ntype; i++)
			found |= !strcmp(type[i], line);
		assert_true(found);
		samples++;
	}
	/* 13 plain metrics and uploads_total with three results */
	assert_int_equal(ntype, 14);
	assert_int_equal(samples, 16);
	free(text);
}

static void test_format_doubles(void **state)
{
	struct agent_metrics_values v = {0};
	char *text;

	v.backoff_s = 0;
	v.cpu_seconds = 1e-7;
	v.start_time_s = NAN;
	text = format(&v);
	assert_non_null(strstr(text, "\npyebpf_agent_backoff_seconds 0\n"));
	assert_non_null(strstr(text, "\npyebpf_agent_cpu_seconds_total 1e-07\n"));
	assert_non_null(strstr(text, "\npyebpf_agent_start_time_seconds NaN\n"));
	free(text);

	v.backoff_s = INFINITY;
	v.cpu_seconds = 123456.789;
	/* the shortest text that reads back the same */
	v.start_time_s = 1700000000.123456;
	text = format(&v);
	assert_non_null(strstr(text, "\npyebpf_agent_backoff_seconds +Inf\n"));
	assert_non_null(strstr(text, "\npyebpf_agent_cpu_seconds_total 123456.789\n"));
	assert_non_null(strstr(text, "\npyebpf_agent_start_time_seconds 1700000000.123456\n"));
	free(text);
}

static void test_format_write_error(void **state)
{
	FILE *full = fopen("/dev/full", "w");

	if (!full)
		skip();
	assert_int_equal(agent_metrics_format(&fixed, full), -ENOSPC);
	fclose(full);
}

/* ---- the address -------------------------------------------------------- */

static int parse(const char *address, char *why, size_t size, struct sockaddr_storage *ss)
{
	socklen_t len = 0;
	int err;

	why[0] = '\0';
	err = parse_address(address, ss, &len, why, size);
	if (!err)
		assert_int_equal(len, ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								: sizeof(struct sockaddr_in));
	return err;
}

static void test_parse_address(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char why[160];

	assert_int_equal(parse("127.0.0.1:9464", why, sizeof(why), &ss), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9464);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

	assert_int_equal(parse("0.0.0.0:0", why, sizeof(why), &ss), 0);
	assert_int_equal(ntohs(sin->sin_port), 0);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));

	assert_int_equal(parse("[::1]:65535", why, sizeof(why), &ss), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_memory_equal(&sin6->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback));

	assert_int_equal(parse("[::]:1", why, sizeof(why), &ss), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
}

static void test_parse_address_errors(void **state)
{
	static const struct {
		const char *address, *why;
	} bad[] = {
		{"127.0.0.1", "missing port (HOST:PORT)"},
		{"127.0.0.1:", "bad port '' (0-65535)"},
		{"127.0.0.1:65536", "bad port '65536' (0-65535)"},
		{"127.0.0.1:-1", "bad port '-1' (0-65535)"},
		{"127.0.0.1:+80", "bad port '+80' (0-65535)"},
		{"127.0.0.1:80x", "bad port '80x' (0-65535)"},
		{"127.0.0.1:99999999999999999999", "bad port '99999999999999999999' (0-65535)"},
		{":9464", "bad host: an IPv4 address, or an IPv6 one in brackets"},
		{"localhost:9464",
		 "bad host 'localhost': an IPv4 address, or an IPv6 one in brackets"},
		{"::1:9464", "bad host '::1': an IPv4 address, or an IPv6 one in brackets"},
		{"[::1]", "missing port (HOST:PORT)"},
		{"[::1]9464", "missing port (HOST:PORT)"},
		{"[::1:9464", "missing ']' after the IPv6 address"},
		{"[127.0.0.1]:9464", "bad IPv6 address '127.0.0.1'"},
		{"[]:9464", "bad host: an IPv4 address, or an IPv6 one in brackets"},
		{"", "missing port (HOST:PORT)"},
	};
	struct sockaddr_storage ss;
	char why[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].address, why, sizeof(why), &ss), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_start_errors(void **state)
{
	struct agent_metrics *m, *busy;
	char why[200], address[64];

	errno = 0;
	assert_null(agent_metrics__start("127.0.0.1:70000", why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(why, "cannot listen on 127.0.0.1:70000: bad port '70000' (0-65535)");

	assert_null(agent_metrics__start("127.0.0.1", why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(why, "cannot listen on 127.0.0.1: missing port (HOST:PORT)");

	assert_null(agent_metrics__start(NULL, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);

	/* a port someone (here: ourselves) already listens on */
	m = agent_metrics__start("127.0.0.1:0", why, sizeof(why));
	assert_non_null(m);
	snprintf(address, sizeof(address), "127.0.0.1:%u", agent_metrics__port(m));
	busy = agent_metrics__start(address, why, sizeof(why));
	assert_null(busy);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(why, address));
	assert_non_null(strstr(why, ": address already in use"));
	assert_int_equal(strncmp(why, "cannot listen on ", 17), 0);
	agent_metrics__stop(m);

	/* a truncated message is still terminated */
	assert_null(agent_metrics__start("127.0.0.1", why, 10));
	assert_string_equal(why, "cannot li");
	agent_metrics__stop(NULL);
}

/* ---- this process's usage ----------------------------------------------- */

static void test_parse_statm(void **state)
{
	char good[] = "12345 678 90 1 0 300 0\n", bad[] = "12345\n";
	uint64_t pages = 0;
	FILE *f;

	f = fmemopen(good, strlen(good), "r");
	assert_int_equal(parse_statm(f, &pages), 0);
	assert_int_equal(pages, 678);
	fclose(f);
	f = fmemopen(bad, strlen(bad), "r");
	assert_int_equal(parse_statm(f, &pages), -EINVAL);
	fclose(f);
}

static void test_self_usage(void **state)
{
	double cpu = -1, cpu2 = -1;
	uint64_t rss = 0, rss2 = 0;
	volatile uint64_t spin = 0;
	char *block;
	int tries = 0;

	assert_int_equal(agent_metrics_self_usage(&cpu, &rss), 0);
	assert_true(cpu >= 0);
	assert_true(cpu < 3600);
	assert_true(rss > 1 << 20);
	assert_true(rss < (uint64_t)16 << 30);

	/* touch 32 MB and burn some CPU: both must show */
	block = malloc(32 << 20);
	assert_non_null(block);
	memset(block, 1, 32 << 20);
	do {
		for (int i = 0; i < 10000000; i++)
			spin += i;
		assert_int_equal(agent_metrics_self_usage(&cpu2, &rss2), 0);
	} while (cpu2 < cpu + 0.05 && ++tries < 1000);
	assert_true(cpu2 >= cpu + 0.05);
	assert_true(rss2 >= rss + (30 << 20));
	free(block);

	assert_int_equal(agent_metrics_self_usage(NULL, &rss), -EINVAL);
	assert_int_equal(agent_metrics_self_usage(&cpu, NULL), -EINVAL);
}

/* ---- a live server ------------------------------------------------------ */

struct reply {
	int status;
	char head[4096]; /* the status line and headers */
	char body[8192];
	size_t body_len;
};

/* Sends `request` (a whole HTTP/1.0 request) to family/port and reads the
 * reply until the server closes. */
static void fetch_raw(int family, unsigned int port, const char *request, struct reply *r)
{
	static char buf[16384];
	struct sockaddr_storage ss = {0};
	socklen_t len;
	size_t got = 0;
	ssize_t n;
	char *end;
	int fd;

	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	assert_int_equal(n, 0);
	close(fd);
	buf[got] = '\0';

	memset(r, 0, sizeof(*r));
	assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r->status), 1);
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	assert_true(end - buf < (ptrdiff_t)sizeof(r->head));
	memcpy(r->head, buf, end - buf);
	r->body_len = got - (end + 4 - buf);
	assert_true(r->body_len < sizeof(r->body));
	memcpy(r->body, end + 4, r->body_len);
}

static void fetch(unsigned int port, const char *method, const char *path, struct reply *r)
{
	char request[256];

	snprintf(request, sizeof(request), "%s %s HTTP/1.0\r\nHost: test\r\n\r\n", method, path);
	fetch_raw(AF_INET, port, request, r);
}

/* The value on the sample line of `name` in a /metrics body, or -1. */
static double value_of(const char *body, const char *name)
{
	char key[128];
	const char *at;

	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(body, key);
	return at ? strtod(at + strlen(key), NULL) : -1;
}

static void test_server(void **state)
{
	struct agent_metrics_values v = fixed;
	struct agent_metrics *m;
	struct reply r;
	char why[200];

	m = agent_metrics__start("127.0.0.1:0", why, sizeof(why));
	assert_non_null(m);
	assert_true(agent_metrics__port(m) > 0);
	assert_true(agent_metrics__port(m) <= 65535);

	/* before any update: every value is 0 */
	fetch(agent_metrics__port(m), "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(
		strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"));
	assert_int_equal(value_of(r.body, "pyebpf_agent_samples_total"), 0);

	agent_metrics__update(m, &v);
	fetch(agent_metrics__port(m), "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, fixed_text);
	assert_int_equal(r.body_len, strlen(fixed_text));

	/* a later update replaces the values */
	v.samples = 999999;
	v.uploads_failed = 77;
	v.cpu_seconds = 4.25;
	agent_metrics__update(m, &v);
	fetch(agent_metrics__port(m), "GET", "/metrics", &r);
	assert_int_equal(value_of(r.body, "pyebpf_agent_samples_total"), 999999);
	assert_int_equal(value_of(r.body, "pyebpf_agent_uploads_total{result=\"failed\"}"), 77);
	assert_true(value_of(r.body, "pyebpf_agent_cpu_seconds_total") == 4.25);

	/* HEAD: the headers of a GET, no body */
	fetch(agent_metrics__port(m), "HEAD", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4"));

	fetch(agent_metrics__port(m), "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");

	fetch(agent_metrics__port(m), "POST", "/metrics", &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.head, "\r\nAllow: GET, HEAD"));
	/* with a body, which is read and ignored */
	fetch_raw(AF_INET, agent_metrics__port(m),
		  "PUT /healthz HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", &r);
	assert_int_equal(r.status, 405);

	fetch(agent_metrics__port(m), "GET", "/nope", &r);
	assert_int_equal(r.status, 404);
	fetch(agent_metrics__port(m), "GET", "/metrics/", &r);
	assert_int_equal(r.status, 404);

	/* the main loop stalls: no update for 30 s */
	pthread_mutex_lock(&m->lock);
	m->updated_s -= STALE_AFTER_S + 1;
	pthread_mutex_unlock(&m->lock);
	fetch(agent_metrics__port(m), "GET", "/healthz", &r);
	assert_int_equal(r.status, 503);
	/* and recovers */
	agent_metrics__update(m, &v);
	fetch(agent_metrics__port(m), "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);

	agent_metrics__stop(m);
}

static void test_server_ipv6_and_any(void **state)
{
	struct agent_metrics *m;
	struct reply r;
	char why[200];

	/* every IPv4 address: reachable on loopback */
	m = agent_metrics__start("0.0.0.0:0", why, sizeof(why));
	assert_non_null(m);
	fetch(agent_metrics__port(m), "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);
	agent_metrics__stop(m);

	m = agent_metrics__start("[::1]:0", why, sizeof(why));
	if (!m && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
		skip(); /* no IPv6 here */
	assert_non_null(m);
	fetch_raw(AF_INET6, agent_metrics__port(m), "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\npyebpf_agent_samples_total 0\n"));
	agent_metrics__stop(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_exact),
		cmocka_unit_test(test_format_well_formed),
		cmocka_unit_test(test_format_doubles),
		cmocka_unit_test(test_format_write_error),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_parse_address_errors),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_parse_statm),
		cmocka_unit_test(test_self_usage),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_server_ipv6_and_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
