// SPDX-License-Identifier: MIT
/* Unit tests for user/ingest_client.c and user/uploader.c against a stub
 * HTTP server on 127.0.0.1 (a thread in this test): the request line,
 * headers and multipart body of POST /ingest, how answers are classified,
 * timeouts, and the uploader's order, retries, rejections, reloads and
 * stop. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ingest_client.h"
#include "messages.h"
#include "spool.h"
#include "upload.h"
#include "uploader.h"

/* ---- the stub server ------------------------------------------------------ */

#define STUB_CONNS 8
#define STUB_REQS 64
#define STUB_SCRIPT 32
#define ANSWER_CLOSE 0 /* drop the connection without an answer */
#define ANSWER_HANG -1 /* never answer */

struct stub_req {
	char *head; /* request line and headers, NUL-terminated */
	char *body;
	size_t body_len;
	int conn; /* which connection (counted from 1) it came on */
};

struct stub_conn {
	int fd, id;
	char *buf;
	size_t len, cap;
};

struct stub {
	int lfd, port, pipe[2];
	pthread_t thread;
	pthread_mutex_t lock;
	int script[STUB_SCRIPT]; /* answers for the first requests */
	size_t n_script;
	int dflt; /* then this */
	struct stub_req reqs[STUB_REQS];
	size_t n_reqs;
	struct stub_conn conns[STUB_CONNS];
	int n_conn_ids;
};

static const char *reason_phrase(int status)
{
	return status < 300 ? "OK" : status < 400 ? "Moved" : status < 500 ? "Bad" : "Unavailable";
}

/* Takes one whole request off the front of c's buffer, if there is one. */
static bool stub_take(struct stub *s, struct stub_conn *c, struct stub_req *r)
{
	char *end, *cl;
	size_t head_len, body_len = 0;

	if (!c->len)
		return false;
	c->buf[c->len] = '\0';
	end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!end)
		return false;
	head_len = (size_t)(end - c->buf) + 4;
	/* headers are case-insensitive; curl writes "Content-Length" */
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (cl && cl < end)
		body_len = strtoul(cl + 17, NULL, 10);
	if (c->len < head_len + body_len)
		return false;
	r->head = strndup(c->buf, head_len);
	r->body = malloc(body_len + 1);
	memcpy(r->body, c->buf + head_len, body_len);
	r->body_len = body_len;
	r->conn = c->id;
	memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
	c->len -= head_len + body_len;
	return true;
}

static void stub_close(struct stub_conn *c)
{
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void stub_answer(struct stub *s, struct stub_conn *c, const struct stub_req *r)
{
	const char *body = "";
	char out[512];
	int status, n;

	pthread_mutex_lock(&s->lock);
	status = s->n_reqs < s->n_script ? s->script[s->n_reqs] : s->dflt;
	if (s->n_reqs < STUB_REQS)
		s->reqs[s->n_reqs++] = *r;
	pthread_mutex_unlock(&s->lock);

	if (status == ANSWER_CLOSE) {
		stub_close(c);
		return;
	}
	if (status == ANSWER_HANG)
		return;
	if (status == 503)
		body = "backend overloaded\nsecond line";
	else if (status == 400)
		body = "  bad name: \x01weird\r\nmore";
	else if (status >= 300 && status < 400)
		body = "see elsewhere";
	n = snprintf(
		out, sizeof(out),
		"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
		status, reason_phrase(status), strlen(body),
		status >= 300 && status < 400 ? "Location: http://elsewhere/\r\n" : "", body);
	if (write(c->fd, out, (size_t)n) != n)
		stub_close(c);
}

static void *stub_run(void *arg)
{
	struct stub *s = arg;

	for (;;) {
		struct pollfd p[STUB_CONNS + 2];
		int i, n = 2;

		p[0] = (struct pollfd){.fd = s->pipe[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (i = 0; i < STUB_CONNS; i++)
			p[n++] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (p[1].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);

			for (i = 0; fd >= 0 && i < STUB_CONNS; i++) {
				if (s->conns[i].fd < 0) {
					s->conns[i].fd = fd;
					s->conns[i].id = ++s->n_conn_ids;
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd);
		}
		for (i = 0; i < STUB_CONNS; i++) {
			struct stub_conn *c = &s->conns[i];
			struct stub_req r;
			ssize_t got;

			if (c->fd < 0 || !(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->cap - c->len < 65536 + 1) {
				c->cap = c->cap * 2 + 65536 + 1;
				c->buf = realloc(c->buf, c->cap);
			}
			got = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
			if (got <= 0) {
				stub_close(c);
				continue;
			}
			c->len += (size_t)got;
			while (c->fd >= 0 && stub_take(s, c, &r))
				stub_answer(s, c, &r);
		}
	}
	return NULL;
}

/* A server answering script[0..n) to the first requests, then dflt. */
static struct stub *stub_start(const int *script, size_t n, int dflt)
{
	struct stub *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int i;

	assert_non_null(s);
	assert_true(n <= STUB_SCRIPT);
	if (n)
		memcpy(s->script, script, n * sizeof(*script));
	s->n_script = n;
	s->dflt = dflt;
	for (i = 0; i < STUB_CONNS; i++)
		s->conns[i].fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pipe(s->pipe), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, stub_run, s), 0);
	return s;
}

static void stub_stop(struct stub *s)
{
	size_t i;

	assert_int_equal(write(s->pipe[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	for (i = 0; i < STUB_CONNS; i++)
		if (s->conns[i].fd >= 0)
			stub_close(&s->conns[i]);
	for (i = 0; i < s->n_reqs; i++) {
		free(s->reqs[i].head);
		free(s->reqs[i].body);
	}
	close(s->lfd);
	close(s->pipe[0]);
	close(s->pipe[1]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static size_t stub_count(struct stub *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_reqs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* A port nothing listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* The header line "Name: value" of a request, or NULL. */
static char *header(const struct stub_req *r, const char *name)
{
	static char out[512];
	char key[128];
	const char *at, *eol;

	snprintf(key, sizeof(key), "\r\n%s:", name);
	at = strcasestr(r->head, key);
	if (!at)
		return NULL;
	at += strlen(key);
	while (*at == ' ')
		at++;
	eol = strstr(at, "\r\n");
	snprintf(out, sizeof(out), "%.*s", (int)(eol - at), at);
	return out;
}

/* The `from` query parameter of a request. */
static uint64_t req_from(const struct stub_req *r)
{
	const char *f = strstr(r->head, "&from=");

	assert_non_null(f);
	return strtoull(f + 6, NULL, 10);
}

/* ---- uploads -------------------------------------------------------------- */

static const uint8_t pprof_bytes[] = {0x1f, 0x8b, 0x08, 0x00, '\r', '\n', '-',	'-',
				      0x00, 0xff, 'p',	'r',  'o',  'f',  '\r', '\n'};

static void make_upload(struct upload *u, unsigned i)
{
	memset(u, 0, sizeof(*u));
	assert_true(asprintf(&u->name, "svc{hostname=h1,pid=%u}", 40 + i) > 0);
	u->from_s = 1700000000 + 10ull * i;
	u->until_s = u->from_s + 10;
	u->sample_rate = 97;
	u->spy_name = strdup("pyebpf");
	u->profile_type = strdup("cpu");
	u->sample_type_config = strdup("{\"cpu\":{\"units\":\"nanoseconds\"}}");
	u->pprof = malloc(sizeof(pprof_bytes));
	memcpy(u->pprof, pprof_bytes, sizeof(pprof_bytes));
	u->pprof_len = sizeof(pprof_bytes);
}

static struct ingest_config config_for(char *url, size_t size, int port, const char *path)
{
	snprintf(url, size, "http://127.0.0.1:%d%s", port, path);
	return (struct ingest_config){
		.server_url = url, .timeout_s = 5, .user_agent = "pyebpf/test"};
}

static struct ingest_client *client_ok(const struct ingest_config *c)
{
	char why[256] = "";
	struct ingest_client *ic = ingest_client__new(c, why, sizeof(why));

	if (!ic)
		fail_msg("ingest_client__new: %s", why);
	return ic;
}

static enum ingest_result send_one(const struct ingest_config *c, unsigned i, char *why,
				   size_t why_size)
{
	struct ingest_client *ic = client_ok(c);
	enum ingest_result res;
	struct upload u;

	make_upload(&u, i);
	res = ingest_client__send(ic, &u, why, why_size);
	upload_clear(&u);
	ingest_client__free(ic);
	return res;
}

/* One part of a multipart body: its headers, then exactly these bytes,
 * then the boundary. */
static void assert_part(const struct stub_req *r, const char *boundary, const char *name,
			const char *filename, const void *data, size_t len)
{
	char *want;
	size_t wlen;
	FILE *f = open_memstream(&want, &wlen);

	fprintf(f,
		"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n",
		boundary, name, filename);
	fwrite(data, 1, len, f);
	fprintf(f, "\r\n--%s", boundary);
	fclose(f);
	if (!memmem(r->body, r->body_len, want, wlen))
		fail_msg("part %s not found in the body:\n%.*s", name, (int)r->body_len, r->body);
	free(want);
}

static void test_new_checks(void **state)
{
	static const char *const bad[] = {
		"ftp://h:21",
		"",
		"http://",
		"h:4040",
		"http://h:4040/?q=1",
		"http://h/#x",
		"http://h\r\nX: y",
		"file:///etc/passwd",
	};
	static const char *const good[] = {
		"http://h:4040",
		"https://h/prefix/",
		"HTTP://h",
		"http://[::1]:4040/a/b",
	};
	struct ingest_config c = {.timeout_s = 1};
	struct ingest_client *ic;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		c.server_url = bad[i];
		why[0] = '\0';
		ic = ingest_client__new(&c, why, sizeof(why));
		if (ic)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(why, "bad --server URL"));
	}
	c.server_url = NULL;
	assert_null(ingest_client__new(&c, why, sizeof(why)));
	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		c.server_url = good[i];
		ic = client_ok(&c);
		ingest_client__free(ic);
	}
	/* header values that would add headers, and a zero timeout */
	c.server_url = "http://h";
	c.tenant_id = "a\r\nX-Evil: 1";
	assert_null(ingest_client__new(&c, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	c.tenant_id = NULL;
	c.bearer_token = "t\n";
	assert_null(ingest_client__new(&c, why, sizeof(why)));
	c.bearer_token = NULL;
	c.timeout_s = 0;
	assert_null(ingest_client__new(&c, why, sizeof(why)));
	assert_non_null(strstr(why, "timeout"));
	ingest_client__free(NULL);
}

static void test_request(void **state)
{
	struct stub *s = stub_start(NULL, 0, 200);
	char url[128], why[256], boundary[128], want[512], *b;
	struct ingest_config c = config_for(url, sizeof(url), s->port, "/");
	struct ingest_client *ic;
	struct upload u;
	struct stub_req *r;
	unsigned i;

	c.tenant_id = "team-a";
	c.bearer_token = "tok123";
	ic = client_ok(&c);
	for (i = 2; i < 4; i++) {
		make_upload(&u, i);
		strcpy(why, "junk");
		assert_int_equal(ingest_client__send(ic, &u, why, sizeof(why)), INGEST_OK);
		assert_string_equal(why, "");
		upload_clear(&u);
	}
	ingest_client__free(ic);

	assert_int_equal(stub_count(s), 2);
	for (i = 0; i < 2; i++) {
		r = &s->reqs[i];
		/* the trailing slash of the server URL is not doubled */
		snprintf(want, sizeof(want),
			 "POST /ingest?name=svc%%7Bhostname%%3Dh1%%2Cpid%%3D%u%%7D&from=%llu"
			 "&until=%llu&format=pprof&sampleRate=97&spyName=pyebpf HTTP/1.1\r\n",
			 42 + i, 1700000020ull + 10 * i, 1700000030ull + 10 * i);
		if (strncmp(r->head, want, strlen(want)))
			fail_msg("request line: %s", r->head);
		assert_string_equal(header(r, "X-Scope-OrgID"), "team-a");
		assert_string_equal(header(r, "Authorization"), "Bearer tok123");
		assert_string_equal(header(r, "User-Agent"), "pyebpf/test");
		assert_null(header(r, "Expect"));
		assert_null(header(r, "Transfer-Encoding"));
		b = header(r, "Content-Type");
		assert_non_null(b);
		assert_true(!strncmp(b, "multipart/form-data; boundary=", 30));
		snprintf(boundary, sizeof(boundary), "%s", b + 30);
		assert_part(r, boundary, "profile", "profile.pprof", pprof_bytes,
			    sizeof(pprof_bytes));
		assert_part(r, boundary, "sample_type_config", "sample_type_config.json",
			    "{\"cpu\":{\"units\":\"nanoseconds\"}}", 31);
		/* and nothing else: two parts, then the closing boundary */
		snprintf(want, sizeof(want), "--%s--\r\n", boundary);
		assert_true(r->body_len > strlen(want));
		assert_memory_equal(r->body + r->body_len - strlen(want), want, strlen(want));
	}
	/* one connection, kept alive */
	assert_int_equal(s->reqs[0].conn, s->reqs[1].conn);
	stub_stop(s);
}

/* A large profile goes at once, without an "Expect: 100-continue" pause
 * (libcurl's default above 1 MiB, which this server would never answer). */
static void test_large_body(void **state)
{
	struct stub *s = stub_start(NULL, 0, 200);
	char url[128], why[256], boundary[128];
	struct ingest_config c = config_for(url, sizeof(url), s->port, "");
	struct ingest_client *ic = client_ok(&c);
	size_t i, len = 3 << 20;
	struct upload u;
	double t;

	make_upload(&u, 0);
	free(u.pprof);
	u.pprof = malloc(len);
	for (i = 0; i < len; i++)
		u.pprof[i] = (uint8_t)(i * 7 + i / 4096);
	u.pprof_len = len;
	t = monotonic_s();
	assert_int_equal(ingest_client__send(ic, &u, why, sizeof(why)), INGEST_OK);
	assert_true(monotonic_s() - t < 0.9);
	assert_int_equal(stub_count(s), 1);
	assert_null(header(&s->reqs[0], "Expect"));
	snprintf(boundary, sizeof(boundary), "%s",
		 header(&s->reqs[0], "Content-Type") + strlen("multipart/form-data; boundary="));
	assert_part(&s->reqs[0], boundary, "profile", "profile.pprof", u.pprof, len);
	upload_clear(&u);
	ingest_client__free(ic);
	stub_stop(s);
}

static void test_basic_auth_and_prefix(void **state)
{
	struct stub *s = stub_start(NULL, 0, 200);
	char url[128], why[256];
	struct ingest_config c = config_for(url, sizeof(url), s->port, "/pyro/");
	struct stub_req *r;

	c.basic_auth_user = "alice";
	c.basic_auth_password = "s3cret:x";
	assert_int_equal(send_one(&c, 0, why, sizeof(why)), INGEST_OK);
	assert_int_equal(stub_count(s), 1);
	r = &s->reqs[0];
	assert_true(!strncmp(r->head, "POST /pyro/ingest?name=", 23));
	/* base64("alice:s3cret:x") */
	assert_string_equal(header(r, "Authorization"), "Basic YWxpY2U6czNjcmV0Ong=");
	assert_null(header(r, "X-Scope-OrgID"));
	stub_stop(s);
}

static void test_classify(void **state)
{
	static const struct {
		int status;
		enum ingest_result res;
		const char *why; /* after "HTTP <status> from <url>" */
	} cases[] = {
		{200, INGEST_OK, NULL},
		{204, INGEST_OK, NULL},
		{503, INGEST_RETRY, ": backend overloaded"},
		{500, INGEST_RETRY, ""},
		{502, INGEST_RETRY, ""},
		{429, INGEST_RETRY, ""},
		{408, INGEST_RETRY, ""},
		{400, INGEST_REJECTED, ": bad name: ?weird"},
		{401, INGEST_REJECTED, ""},
		{404, INGEST_REJECTED, ""},
		{413, INGEST_REJECTED, ""},
		{301, INGEST_REJECTED, ": a redirect (not followed: check --server)"},
		{307, INGEST_REJECTED, ": a redirect (not followed: check --server)"},
	};
	char url[128], why[512], want[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct stub *s = stub_start(&cases[i].status, 1, 200);
		struct ingest_config c = config_for(url, sizeof(url), s->port, "");

		assert_int_equal(send_one(&c, 0, why, sizeof(why)), cases[i].res);
		if (cases[i].why) {
			snprintf(want, sizeof(want), "HTTP %d from %s/ingest%s", cases[i].status,
				 url, cases[i].why);
			assert_string_equal(why, want);
		}
		/* a redirect is not followed */
		assert_int_equal(stub_count(s), 1);
		stub_stop(s);
	}
}

static void test_transport_errors(void **state)
{
	int close_it = ANSWER_CLOSE, hang = ANSWER_HANG;
	char url[128], why[512], want[256];
	struct ingest_config c;
	struct ingest_client *ic;
	struct upload u;
	struct stub *s;
	double t;
	int port;

	/* nobody listening */
	port = closed_port();
	c = config_for(url, sizeof(url), port, "");
	assert_int_equal(send_one(&c, 0, why, sizeof(why)), INGEST_RETRY);
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: Connection refused", port);
	assert_string_equal(why, want);

	/* the connection closes without an answer */
	s = stub_start(&close_it, 1, 200);
	c = config_for(url, sizeof(url), s->port, "");
	assert_int_equal(send_one(&c, 0, why, sizeof(why)), INGEST_RETRY);
	assert_true(!strncmp(why, "cannot send to ", 15));
	stub_stop(s);

	/* no answer within the timeout */
	s = stub_start(&hang, 1, 200);
	c = config_for(url, sizeof(url), s->port, "");
	c.timeout_s = 0.3;
	t = monotonic_s();
	assert_int_equal(send_one(&c, 0, why, sizeof(why)), INGEST_RETRY);
	t = monotonic_s() - t;
	assert_true(t >= 0.25 && t < 3);
	assert_non_null(strstr(why, "no answer from"));
	assert_non_null(strstr(why, "within 0.3 s"));
	stub_stop(s);

	/* a deadline cuts a long timeout short */
	s = stub_start(&hang, 1, 200);
	c = config_for(url, sizeof(url), s->port, "");
	c.timeout_s = 30;
	ic = client_ok(&c);
	make_upload(&u, 0);
	t = monotonic_s();
	ingest_client__set_deadline(ic, t + 0.3);
	assert_int_equal(ingest_client__send(ic, &u, why, sizeof(why)), INGEST_RETRY);
	t = monotonic_s() - t;
	assert_true(t >= 0.25 && t < 3);
	/* and 0 lifts it */
	ingest_client__set_deadline(ic, 0);
	upload_clear(&u);
	ingest_client__free(ic);
	stub_stop(s);
}

/* ---- the uploader --------------------------------------------------------- */

struct env {
	char dir[64];
	struct spool *sp;
	int saved_stderr;
	char log[64];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* a spool in a temporary directory with n items, and stderr to a file */
static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct spool_limits lim = {.max_bytes = 1 << 20, .max_items = 100};
	char why[256];
	int fd;

	strcpy(e->dir, "/tmp/pyebpf-uploader-test-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	e->sp = spool__open(e->dir, &lim, why, sizeof(why));
	if (!e->sp)
		return -1;
	snprintf(e->log, sizeof(e->log), "%s.log", e->dir);
	fflush(stderr);
	e->saved_stderr = dup(2);
	fd = open(e->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, 2) < 0)
		return -1;
	close(fd);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	fflush(stderr);
	dup2(e->saved_stderr, 2);
	close(e->saved_stderr);
	spool__close(e->sp);
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unlink(e->log);
	free(e);
	return 0;
}

static char *read_log(struct env *e)
{
	static char buf[8192];
	FILE *f;
	size_t n;

	fflush(stderr);
	f = fopen(e->log, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

static void push_items(struct env *e, unsigned first, unsigned n)
{
	struct upload u;
	unsigned i;

	for (i = first; i < first + n; i++) {
		make_upload(&u, i);
		assert_int_equal(spool__push(e->sp, &u, NULL), 0);
		upload_clear(&u);
	}
}

static size_t spool_items(struct env *e)
{
	struct spool_stats st;

	spool__stats(e->sp, &st);
	return st.items;
}

/* Waits up to `limit` seconds for the spool to empty; how long it took. */
static double wait_empty(struct env *e, double limit)
{
	double t0 = monotonic_s();

	while (spool_items(e) && monotonic_s() - t0 < limit)
		usleep(5000);
	assert_int_equal(spool_items(e), 0);
	return monotonic_s() - t0;
}

static struct uploader *uploader_ok(struct env *e, const struct ingest_config *c, double backoff)
{
	char why[256] = "";
	struct uploader *u = uploader__start(e->sp, c, backoff, why, sizeof(why));

	if (!u)
		fail_msg("uploader__start: %s", why);
	return u;
}

static void test_uploader_retries_in_order(void **state)
{
	struct env *e = *state;
	int script[] = {503, 503};
	struct stub *s = stub_start(script, 2, 200);
	char url[128];
	struct ingest_config c = config_for(url, sizeof(url), s->port, "");
	struct uploader_stats st;
	struct uploader *u;
	const char *log;
	size_t i;

	push_items(e, 0, 5);
	u = uploader_ok(e, &c, 0.2);
	wait_empty(e, 10);
	uploader__stats(u, &st);
	assert_int_equal(st.ok, 5);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.rejected, 0);
	assert_true(st.backoff_s == 0);
	uploader__stop(u, 1);

	/* the first item three times (two failures), then the rest in order */
	assert_int_equal(stub_count(s), 7);
	assert_int_equal(req_from(&s->reqs[0]), 1700000000);
	assert_int_equal(req_from(&s->reqs[1]), 1700000000);
	for (i = 0; i < 5; i++)
		assert_int_equal(req_from(&s->reqs[2 + i]), 1700000000 + 10 * i);
	stub_stop(s);

	/* one line when failing starts, one when it ends */
	log = read_log(e);
	assert_int_equal(count_of(log, "pyebpf agent: upload failed: HTTP 503 from "), 1);
	assert_non_null(
		strstr(log, "/ingest: backend overloaded; retrying in 0.2 s (5 waiting)\n"));
	assert_int_equal(count_of(log, "pyebpf agent: uploads recovered after 2 failed attempts\n"),
			 1);
	assert_int_equal(count_of(log, "pyebpf agent:"), 2);
}

static void test_uploader_rejects(void **state)
{
	struct env *e = *state;
	int script[] = {200, 400, 401};
	struct stub *s = stub_start(script, 3, 200);
	char url[128];
	struct ingest_config c = config_for(url, sizeof(url), s->port, "");
	struct uploader_stats st;
	struct uploader *u;
	const char *log;

	push_items(e, 0, 4);
	u = uploader_ok(e, &c, 0.2);
	wait_empty(e, 10);
	uploader__stats(u, &st);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.rejected, 2);
	uploader__stop(u, 1);
	assert_int_equal(stub_count(s), 4); /* each once */
	stub_stop(s);

	log = read_log(e);
	assert_int_equal(count_of(log, ") rejected, dropped: HTTP 40"), 2);
	assert_non_null(strstr(log, "pyebpf agent: upload of svc{hostname=h1,pid=41} (cpu, "
				    "1700000010..1700000020) rejected, dropped: HTTP 400 from "));
}

/* Woken for new items at once; idle otherwise. */
static void test_uploader_wake(void **state)
{
	struct env *e = *state;
	struct stub *s = stub_start(NULL, 0, 200);
	char url[128];
	struct ingest_config c = config_for(url, sizeof(url), s->port, "");
	struct uploader *u = uploader_ok(e, &c, 0.2);

	usleep(100000);
	assert_int_equal(stub_count(s), 0);
	push_items(e, 0, 2);
	uploader__wake(u);
	/* far sooner than the idle look every 30 s */
	assert_true(wait_empty(e, 5) < 2);
	assert_int_equal(stub_count(s), 2);
	uploader__stop(u, 1);
	stub_stop(s);
}

/* A reload ends a backoff wait at once and the next send uses it. */
static void test_uploader_set_config(void **state)
{
	struct env *e = *state;
	struct stub *s = stub_start(NULL, 0, 200);
	char url_a[128], url_b[128], why[256];
	struct ingest_config a = config_for(url_a, sizeof(url_a), closed_port(), "");
	struct ingest_config b = config_for(url_b, sizeof(url_b), s->port, "");
	struct ingest_config bad = {.server_url = "gopher://x", .timeout_s = 1};
	struct uploader_stats st;
	struct uploader *u;
	double t0;

	push_items(e, 0, 3);
	u = uploader_ok(e, &a, 30);
	t0 = monotonic_s();
	do {
		usleep(5000);
		uploader__stats(u, &st);
	} while (st.failed < 2 && monotonic_s() - t0 < 10);
	assert_int_equal(st.failed, 2);
	assert_true(st.backoff_s == 2); /* now waiting about 2 s */
	assert_int_equal(uploader__set_config(u, &bad, 30, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "bad --server URL"));
	assert_int_equal(uploader__set_config(u, &b, 30, why, sizeof(why)), 0);
	assert_true(wait_empty(e, 5) < 1.5);
	assert_int_equal(stub_count(s), 3);
	uploader__stats(u, &st);
	assert_int_equal(st.ok, 3);
	assert_true(st.backoff_s == 0);
	uploader__stop(u, 1);
	stub_stop(s);
	assert_non_null(strstr(read_log(e), "cannot connect to 127.0.0.1:"));
}

static void test_uploader_stop(void **state)
{
	struct env *e = *state;
	int hang = ANSWER_HANG;
	struct stub *s;
	char url[128], want[128];
	struct ingest_config c;
	struct uploader *u;
	double t;
	int port;

	/* stop sends what is waiting, even when it was never woken */
	s = stub_start(NULL, 0, 200);
	c = config_for(url, sizeof(url), s->port, "");
	u = uploader_ok(e, &c, 0.2);
	usleep(50000); /* idle now */
	push_items(e, 0, 3);
	uploader__stop(u, 5);
	assert_int_equal(spool_items(e), 0);
	assert_int_equal(stub_count(s), 3);
	stub_stop(s);

	/* a backend that does not answer: stop keeps to its drain time
	 * although a send could take 30 s */
	s = stub_start(&hang, 1, 200);
	c = config_for(url, sizeof(url), s->port, "");
	c.timeout_s = 30;
	u = uploader_ok(e, &c, 0.2);
	push_items(e, 10, 2);
	uploader__wake(u);
	while (!stub_count(s))
		usleep(5000);
	t = monotonic_s();
	uploader__stop(u, 0.3);
	t = monotonic_s() - t;
	assert_true(t < 2);
	assert_int_equal(spool_items(e), 2); /* both still there */
	stub_stop(s);

	/* a backend that is down: the first failure ends the drain */
	port = closed_port();
	c = config_for(url, sizeof(url), port, "");
	u = uploader_ok(e, &c, 30);
	t = monotonic_s();
	uploader__stop(u, 10);
	assert_true(monotonic_s() - t < 2);
	assert_int_equal(spool_items(e), 2);
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: Connection refused", port);
	assert_non_null(strstr(read_log(e), want));
	uploader__stop(NULL, 1);
}

static void test_uploader_bad_start(void **state)
{
	struct env *e = *state;
	struct ingest_config c = {.server_url = "http://h", .timeout_s = 1};
	char why[256];

	assert_null(uploader__start(e->sp, &c, 0, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	c.server_url = "nope";
	assert_null(uploader__start(e->sp, &c, 1, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(why, "bad --server URL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_checks),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_large_body),
		cmocka_unit_test(test_basic_auth_and_prefix),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_transport_errors),
		cmocka_unit_test_setup_teardown(test_uploader_retries_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uploader_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uploader_wake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uploader_set_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uploader_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uploader_bad_start, setup, teardown),
	};
	int rc;

	/* the program's, once, before any thread (ingest_client.h) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
