// SPDX-License-Identifier: MIT
/*
 * The agent's metrics endpoint: a libmicrohttpd daemon with its own polling
 * thread serves a snapshot of the values the main loop last published.
 *
 * The daemon binds the address itself (MHD_OPTION_SOCK_ADDR, SO_REUSEADDR
 * by default) and leaves bind()'s errno when that fails, which gives the
 * cause ("address already in use"). Handing it a socket of our own instead
 * would leave unclear who closes it when the daemon fails to start.
 */
#include "agent_metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

/* /healthz turns 503 once the main loop has not published for this long */
#define STALE_AFTER_S 30.0

struct agent_metrics {
	struct MHD_Daemon *daemon;
	unsigned int port;
	pthread_mutex_t lock; /* guards values and updated_s */
	struct agent_metrics_values values;
	double updated_s; /* CLOCK_MONOTONIC of the last update (or start) */
};

/* ---- the text format ---------------------------------------------------- */

enum metric_type { COUNTER, GAUGE };
enum metric_value { U64, DOUBLE, UPLOADS /* uploads_total{result}: three fields */ };

struct metric {
	const char *name; /* after "pyebpf_agent_" */
	enum metric_type type;
	enum metric_value value;
	size_t off; /* of the value in struct agent_metrics_values */
	const char *help;
};

#define FIELD(f) offsetof(struct agent_metrics_values, f)

static const struct metric metrics[] = {
	{"samples_total", COUNTER, U64, FIELD(samples), "records that went into profiles"},
	{"samples_lost_total", COUNTER, U64, FIELD(samples_lost),
	 "records the kernel dropped (ring buffer full)"},
	{"error_samples_total", COUNTER, U64, FIELD(error_samples), "records with an error frame"},
	{"processes", GAUGE, U64, FIELD(processes), "Python processes profiled now"},
	{"processes_seen_total", COUNTER, U64, FIELD(processes_seen),
	 "process instances ever profiled"},
	{"intervals_total", COUNTER, U64, FIELD(intervals), "upload intervals completed"},
	{"uploads_total", COUNTER, UPLOADS, 0,
	 "uploads by result: ok, failed (kept for a retry), rejected (dropped)"},
	{"spool_items", GAUGE, U64, FIELD(spool_items), "uploads waiting in the spool"},
	{"spool_bytes", GAUGE, U64, FIELD(spool_bytes), "bytes of uploads waiting in the spool"},
	{"spool_dropped_total", COUNTER, U64, FIELD(spool_dropped),
	 "uploads deleted unsent because the spool was full"},
	{"backoff_seconds", GAUGE, DOUBLE, FIELD(backoff_s),
	 "current wait before the next upload retry"},
	{"cpu_seconds_total", COUNTER, DOUBLE, FIELD(cpu_seconds),
	 "the agent's own CPU time (user and system)"},
	{"resident_memory_bytes", GAUGE, U64, FIELD(rss_bytes), "the agent's own resident memory"},
	{"start_time_seconds", GAUGE, DOUBLE, FIELD(start_time_s), "Unix time the agent started"},
};

/* The shortest text that reads back as v (what Prometheus' own Go client
 * writes), and Prometheus' spellings of the special values. */
static void format_double(double v, char *buf, size_t size)
{
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

int agent_metrics_format(const struct agent_metrics_values *v, FILE *out)
{
	if (!v || !out)
		return -EINVAL;
	errno = 0;
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct metric *m = &metrics[i];
		const char *field = (const char *)v + m->off;
		char num[40];
		uint64_t u;
		double d;

		fprintf(out, "# HELP pyebpf_agent_%s %s\n", m->name, m->help);
		fprintf(out, "# TYPE pyebpf_agent_%s %s\n", m->name,
			m->type == COUNTER ? "counter" : "gauge");
		switch (m->value) {
		case U64:
			memcpy(&u, field, sizeof(u));
			fprintf(out, "pyebpf_agent_%s %" PRIu64 "\n", m->name, u);
			break;
		case DOUBLE:
			memcpy(&d, field, sizeof(d));
			format_double(d, num, sizeof(num));
			fprintf(out, "pyebpf_agent_%s %s\n", m->name, num);
			break;
		case UPLOADS:
			fprintf(out, "pyebpf_agent_%s{result=\"ok\"} %" PRIu64 "\n", m->name,
				v->uploads_ok);
			fprintf(out, "pyebpf_agent_%s{result=\"failed\"} %" PRIu64 "\n", m->name,
				v->uploads_failed);
			fprintf(out, "pyebpf_agent_%s{result=\"rejected\"} %" PRIu64 "\n", m->name,
				v->uploads_rejected);
			break;
		}
	}
	if (fflush(out) == EOF || ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}

/* ---- this process's usage ----------------------------------------------- */

/* The resident pages (second field) of a /proc/PID/statm. */
static int parse_statm(FILE *f, uint64_t *pages)
{
	unsigned long long size, resident;

	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		return -EINVAL;
	*pages = resident;
	return 0;
}

int agent_metrics_self_usage(double *cpu_seconds, uint64_t *rss_bytes)
{
	struct rusage ru;
	uint64_t pages;
	long page_size;
	FILE *f;
	int err;

	if (!cpu_seconds || !rss_bytes)
		return -EINVAL;
	if (getrusage(RUSAGE_SELF, &ru))
		return -errno;
	f = fopen("/proc/self/statm", "re");
	if (!f)
		return -errno;
	err = parse_statm(f, &pages);
	fclose(f);
	if (err)
		return err;
	page_size = sysconf(_SC_PAGESIZE);
	if (page_size <= 0)
		return -EINVAL;
	*cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6;
	*rss_bytes = pages * (uint64_t)page_size;
	return 0;
}

/* ---- the address -------------------------------------------------------- */

/*
 * Parses "HOST:PORT" (HOST an IPv4 address, or an IPv6 one in brackets;
 * PORT 0-65535) into *ss and *len. On error returns -EINVAL with why set to
 * the cause only (the caller adds the subject).
 */
static int parse_address(const char *address, struct sockaddr_storage *ss, socklen_t *len,
			 char *why, size_t why_size)
{
	const char *colon, *host = address, *port_s;
	char hostbuf[INET6_ADDRSTRLEN + 1];
	size_t host_len;
	unsigned long port;
	char *end;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (!close) {
			snprintf(why, why_size, "missing ']' after the IPv6 address");
			return -EINVAL;
		}
		host = address + 1;
		host_len = close - host;
		colon = close + 1;
		if (*colon != ':') {
			snprintf(why, why_size, "missing port (HOST:PORT)");
			return -EINVAL;
		}
	} else {
		colon = strrchr(address, ':');
		if (!colon) {
			snprintf(why, why_size, "missing port (HOST:PORT)");
			return -EINVAL;
		}
		host_len = colon - host;
	}

	port_s = colon + 1;
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!isdigit((unsigned char)*port_s) || *end || errno || port > 65535) {
		snprintf(why, why_size, "bad port '%s' (0-65535)", port_s);
		return -EINVAL;
	}
	if (host_len == 0 || host_len >= sizeof(hostbuf)) {
		snprintf(why, why_size, "bad host: an IPv4 address, or an IPv6 one in brackets");
		return -EINVAL;
	}
	memcpy(hostbuf, host, host_len);
	hostbuf[host_len] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (host != address) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, hostbuf, &sin6->sin6_addr) != 1) {
			snprintf(why, why_size, "bad IPv6 address '%s'", hostbuf);
			return -EINVAL;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, hostbuf, &sin->sin_addr) != 1) {
			snprintf(why, why_size,
				 "bad host '%s': an IPv4 address, or an IPv6 one in brackets",
				 hostbuf);
			return -EINVAL;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	}
	return 0;
}

/* strerror(err) starting lowercase, as our messages do */
static void cause(int err, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(err));
	buf[0] = tolower((unsigned char)buf[0]);
}

/* ---- the server --------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, char *body,
			       size_t len, bool must_free, const char *content_type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
		len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

static enum MHD_Result serve_metrics(struct agent_metrics *m, struct MHD_Connection *conn)
{
	struct agent_metrics_values v;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int err;

	pthread_mutex_lock(&m->lock);
	v = m->values;
	pthread_mutex_unlock(&m->lock);

	out = open_memstream(&buf, &len);
	if (!out)
		return MHD_NO;
	err = agent_metrics_format(&v, out);
	if (fclose(out) || err) {
		free(buf);
		return MHD_NO;
	}
	return respond(conn, MHD_HTTP_OK, buf, len, true,
		       "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result serve_healthz(struct agent_metrics *m, struct MHD_Connection *conn)
{
	static char ok[] = "ok\n", stale[] = "stale: the main loop has not reported for 30 s\n";
	double age;

	pthread_mutex_lock(&m->lock);
	age = now_s() - m->updated_s;
	pthread_mutex_unlock(&m->lock);
	if (age < STALE_AFTER_S)
		return respond(conn, MHD_HTTP_OK, ok, strlen(ok), false, TEXT_PLAIN);
	return respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, stale, strlen(stale), false, TEXT_PLAIN);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static char not_found[] = "not found\n", not_allowed[] = "method not allowed\n";
	static int seen;
	struct agent_metrics *m = cls;

	/* the first call only announces the request; answer once any body has
	 * been read (and ignored) */
	if (!*con_cls) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed),
			       false, TEXT_PLAIN);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(m, conn);
	if (!strcmp(url, "/healthz"))
		return serve_healthz(m, conn);
	return respond(conn, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found), false, TEXT_PLAIN);
}

struct agent_metrics *agent_metrics__start(const char *address, char *why, size_t why_size)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct agent_metrics *m;
	unsigned int flags;
	socklen_t len;
	char msg[160];
	int err;

	if (!address) {
		snprintf(why, why_size, "cannot listen: no address");
		errno = EINVAL;
		return NULL;
	}
	err = parse_address(address, &ss, &len, msg, sizeof(msg));
	if (err) {
		snprintf(why, why_size, "cannot listen on %s: %s", address, msg);
		errno = -err;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(why, why_size, "cannot listen on %s: out of memory", address);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->updated_s = now_s();

	/* no MHD_USE_ERROR_LOG: failures are reported through why */
	flags = MHD_USE_AUTO_INTERNAL_THREAD | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	errno = 0;
	/* a local endpoint for one scraper: few connections, short-lived */
	m->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, &ss,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)16, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	if (!m->daemon) {
		err = errno ? errno : EIO;
		cause(err, msg, sizeof(msg));
		snprintf(why, why_size, "cannot listen on %s: %s", address, msg);
		pthread_mutex_destroy(&m->lock);
		free(m);
		errno = err;
		return NULL;
	}
	info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		m->port = info->port;
	else /* the port asked for, which is right unless it was 0 */
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	return m;
}

unsigned int agent_metrics__port(const struct agent_metrics *m)
{
	return m ? m->port : 0;
}

void agent_metrics__update(struct agent_metrics *m, const struct agent_metrics_values *v)
{
	if (!m || !v)
		return;
	pthread_mutex_lock(&m->lock);
	m->values = *v;
	m->updated_s = now_s();
	pthread_mutex_unlock(&m->lock);
}

void agent_metrics__stop(struct agent_metrics *m)
{
	if (!m)
		return;
	/* joins the server thread, closes the socket and every connection */
	MHD_stop_daemon(m->daemon);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
