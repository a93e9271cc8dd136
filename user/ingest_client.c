// SPDX-License-Identifier: MIT
/*
 * POST /ingest with libcurl (ingest_client.h). One easy handle per client,
 * reused, so consecutive uploads share a kept-alive connection (and TLS
 * session). Redirects are not followed: libcurl would turn a POST into a
 * GET on 301/302, and a backend that moved is a configuration error the
 * user should see.
 */
#include "ingest_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "upload.h"

#define BODY_KEEP 200 /* bytes of a response kept for the reason */
#define CONNECT_TIMEOUT_MS 5000L

struct ingest_client {
	CURL *curl;
	struct curl_slist *headers;
	char *url;	 /* server_url + "/ingest" */
	char *host_port; /* for messages: "h:4040" */
	char *user, *password;
	long timeout_ms;
	atomic_llong deadline_ms; /* CLOCK_MONOTONIC; 0: none */
	char body[BODY_KEEP + 1];
	size_t body_len;
	char errbuf[CURL_ERROR_SIZE];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct ingest_client *ic = arg;
	size_t len = size * n, room = BODY_KEEP - ic->body_len;

	/* keep the start for the message, swallow the rest */
	if (room) {
		size_t take = len < room ? len : room;

		memcpy(ic->body + ic->body_len, p, take);
		ic->body_len += take;
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct ingest_client *ic = arg;
	long long d = atomic_load(&ic->deadline_ms);

	return d && now_ms() >= d; /* non-zero aborts the transfer */
}

/* A header value must not smuggle in more headers. */
static bool header_safe(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 && *v != '\t')
			return false;
	return true;
}

/* Checks the server URL; the base for "/ingest" (no trailing slash) in
 * *url and "host:port" in *host_port. */
static int parse_server(const char *server, char **url, char **host_port, char *why,
			size_t why_size)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *query = NULL, *frag = NULL;
	size_t len;
	int err = -EINVAL;

	if (!h)
		return -ENOMEM;
	if (!server || !*server || !header_safe(server) ||
	    curl_url_set(h, CURLUPART_URL, server, 0) != CURLUE_OK) {
		snprintf(why, why_size,
			 "bad --server URL \"%s\": expected http(s)://host[:port][/path]",
			 server ? server : "");
		goto out;
	}
	curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(h, CURLUPART_HOST, &host, 0);
	curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	curl_url_get(h, CURLUPART_QUERY, &query, 0);
	curl_url_get(h, CURLUPART_FRAGMENT, &frag, 0);
	if (!scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https"))) {
		snprintf(why, why_size, "bad --server URL \"%s\": the scheme must be http or https",
			 server);
		goto out;
	}
	if (!host || !*host) {
		snprintf(why, why_size, "bad --server URL \"%s\": no host", server);
		goto out;
	}
	if (query || frag) {
		snprintf(why, why_size, "bad --server URL \"%s\": no query or fragment expected",
			 server);
		goto out;
	}
	len = strlen(server);
	while (len && server[len - 1] == '/')
		len--;
	if (asprintf(url, "%.*s/ingest", (int)len, server) < 0) {
		err = -ENOMEM;
		goto out;
	}
	if (asprintf(host_port, "%s:%s", host, port ? port : "?") < 0) {
		free(*url);
		*url = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(h);
	return err;
}

/* "Name: value"; a bare "Name:" tells libcurl not to send that header */
static int add_header(struct curl_slist **list, const char *name, const char *v)
{
	struct curl_slist *l;
	char *line;

	if (asprintf(&line, "%s%s", name, v) < 0)
		return -ENOMEM;
	l = curl_slist_append(*list, line);
	free(line);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

struct ingest_client *ingest_client__new(const struct ingest_config *c, char *why, size_t why_size)
{
	struct ingest_client *ic = calloc(1, sizeof(*ic));
	CURL *h;
	int err = -ENOMEM;

	snprintf(why, why_size, "out of memory");
	if (!ic)
		goto fail;
	err = parse_server(c->server_url, &ic->url, &ic->host_port, why, why_size);
	if (err)
		goto fail;
	err = -EINVAL;
	if (!(c->timeout_s > 0) || c->timeout_s > 86400) {
		snprintf(why, why_size, "bad upload timeout %g s", c->timeout_s);
		goto fail;
	}
	if ((c->tenant_id && !header_safe(c->tenant_id)) ||
	    (c->bearer_token && !header_safe(c->bearer_token)) ||
	    (c->user_agent && !header_safe(c->user_agent))) {
		snprintf(why, why_size,
			 "bad tenant id, bearer token or user agent: control characters");
		goto fail;
	}
	err = -ENOMEM;
	snprintf(why, why_size, "out of memory");
	if (c->basic_auth_user) {
		ic->user = strdup(c->basic_auth_user);
		ic->password = strdup(c->basic_auth_password ? c->basic_auth_password : "");
		if (!ic->user || !ic->password)
			goto fail;
	}
	/* no "Expect: 100-continue" round trip before the body */
	if (add_header(&ic->headers, "Expect:", "") ||
	    (c->tenant_id && add_header(&ic->headers, "X-Scope-OrgID: ", c->tenant_id)) ||
	    (c->bearer_token &&
	     add_header(&ic->headers, "Authorization: Bearer ", c->bearer_token)))
		goto fail;
	ic->timeout_ms = (long)(c->timeout_s * 1000 + 0.5);
	if (ic->timeout_ms < 1)
		ic->timeout_ms = 1;

	h = ic->curl = curl_easy_init();
	if (!h) {
		snprintf(why, why_size, "cannot start libcurl (was curl_global_init called?)");
		goto fail;
	}
	/* every option that does not change per upload is set once; a failed
	 * setopt means an option this libcurl lacks, e.g. HTTPS support */
	if (curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ic->errbuf) ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
#endif
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, ic->headers) ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent ? c->user_agent : "pyebpf") ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ic->timeout_ms) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			     ic->timeout_ms < CONNECT_TIMEOUT_MS ? ic->timeout_ms
								 : CONNECT_TIMEOUT_MS) ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, ic) ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, ic) ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) ||
	    (ic->user && (curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ||
			  curl_easy_setopt(h, CURLOPT_USERNAME, ic->user) ||
			  curl_easy_setopt(h, CURLOPT_PASSWORD, ic->password))) ||
	    (c->ca_file && curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file)) ||
	    (c->tls_insecure && (curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) ||
				 curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L)))) {
		snprintf(why, why_size, "this libcurl cannot do what the config asks (%s)",
			 curl_version());
		err = -ENOTSUP;
		goto fail;
	}
	return ic;
fail:
	ingest_client__free(ic);
	errno = -err;
	return NULL;
}

void ingest_client__free(struct ingest_client *ic)
{
	if (!ic)
		return;
	if (ic->curl)
		curl_easy_cleanup(ic->curl);
	curl_slist_free_all(ic->headers);
	free(ic->url);
	free(ic->host_port);
	free(ic->user);
	if (ic->password)
		memset(ic->password, 0, strlen(ic->password));
	free(ic->password);
	free(ic);
}

void ingest_client__set_deadline(struct ingest_client *ic, double deadline_s)
{
	atomic_store(&ic->deadline_ms, deadline_s > 0 ? (long long)(deadline_s * 1000) : 0);
}

/* The first line of the response, printable ASCII only, or "" */
static void body_line(struct ingest_client *ic, char *out, size_t size)
{
	size_t i, j = 0, end = ic->body_len;

	for (i = 0; i < ic->body_len; i++)
		if (ic->body[i] == '\n' || ic->body[i] == '\r') {
			end = i;
			break;
		}
	for (i = 0; i < end && j + 1 < size; i++) {
		unsigned char c = (unsigned char)ic->body[i];

		if (c == ' ' && !j)
			continue;
		out[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	while (j && out[j - 1] == ' ')
		j--;
	if (size)
		out[j] = '\0';
}

static char *query_url(struct ingest_client *ic, const struct upload *u)
{
	char *name = curl_easy_escape(ic->curl, u->name, 0);
	char *spy = curl_easy_escape(ic->curl, u->spy_name ? u->spy_name : "", 0);
	char *url = NULL;

	if (name && spy &&
	    asprintf(&url,
		     "%s?name=%s&from=%" PRIu64 "&until=%" PRIu64
		     "&format=pprof&sampleRate=%u&spyName=%s",
		     ic->url, name, u->from_s, u->until_s, u->sample_rate, spy) < 0)
		url = NULL;
	curl_free(name);
	curl_free(spy);
	return url;
}

static curl_mime *body_mime(struct ingest_client *ic, const struct upload *u)
{
	curl_mime *m = curl_mime_init(ic->curl);
	curl_mimepart *p;
	const char *cfg = u->sample_type_config ? u->sample_type_config : "";

	if (!m)
		return NULL;
	p = curl_mime_addpart(m);
	if (!p || curl_mime_name(p, "profile") || curl_mime_filename(p, "profile.pprof") ||
	    curl_mime_type(p, "application/octet-stream") ||
	    curl_mime_data(p, u->pprof ? (const char *)u->pprof : "", u->pprof_len))
		goto fail;
	p = curl_mime_addpart(m);
	if (!p || curl_mime_name(p, "sample_type_config") ||
	    curl_mime_filename(p, "sample_type_config.json") ||
	    curl_mime_type(p, "application/octet-stream") || curl_mime_data(p, cfg, strlen(cfg)))
		goto fail;
	return m;
fail:
	curl_mime_free(m);
	return NULL;
}

static enum ingest_result transport_error(struct ingest_client *ic, CURLcode rc, char *why,
					  size_t why_size)
{
	const char *detail = ic->errbuf[0] ? ic->errbuf : curl_easy_strerror(rc);
	long os_errno = 0;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(ic->curl, CURLINFO_OS_ERRNO, &os_errno);
		snprintf(why, why_size, "cannot connect to %s: %s", ic->host_port,
			 os_errno ? strerror((int)os_errno) : detail);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(why, why_size, "cannot resolve %s: %s", ic->host_port, detail);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(why, why_size, "no answer from %s within %.1f s", ic->url,
			 ic->timeout_ms / 1000.0);
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(why, why_size, "gave up sending to %s: out of time to stop", ic->url);
		break;
	default:
		snprintf(why, why_size, "cannot send to %s: %s", ic->url, detail);
		break;
	}
	return INGEST_RETRY;
}

enum ingest_result ingest_client__send(struct ingest_client *ic, const struct upload *u, char *why,
				       size_t why_size)
{
	enum ingest_result res;
	curl_mime *mime = NULL;
	char *url = NULL, line[BODY_KEEP + 1];
	long status = 0, timeout = ic->timeout_ms;
	long long deadline = atomic_load(&ic->deadline_ms);
	CURLcode rc;

	if (why_size)
		why[0] = '\0';
	if (!u->name) {
		snprintf(why, why_size, "an upload without a name");
		return INGEST_REJECTED;
	}
	url = query_url(ic, u);
	mime = url ? body_mime(ic, u) : NULL;
	if (!mime) {
		snprintf(why, why_size, "out of memory");
		free(url);
		return INGEST_RETRY;
	}
	if (deadline) {
		long long left = deadline - now_ms();

		timeout = left < 1 ? 1 : left < timeout ? (long)left : timeout;
	}
	ic->body_len = 0;
	ic->errbuf[0] = '\0';
	curl_easy_setopt(ic->curl, CURLOPT_URL, url);
	curl_easy_setopt(ic->curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(ic->curl, CURLOPT_TIMEOUT_MS, timeout);
	rc = curl_easy_perform(ic->curl);
	/* the handle must not point at the freed body */
	curl_easy_setopt(ic->curl, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(mime);
	free(url);

	if (rc != CURLE_OK)
		return transport_error(ic, rc, why, why_size);
	curl_easy_getinfo(ic->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return INGEST_OK;

	body_line(ic, line, sizeof(line));
	if (status == 408 || status == 429 || (status >= 500 && status < 600))
		res = INGEST_RETRY;
	else if (status >= 300 && status < 500)
		res = INGEST_REJECTED;
	else
		res = INGEST_RETRY; /* not HTTP as we know it: maybe a proxy's mood */
	if (status >= 300 && status < 400)
		snprintf(why, why_size,
			 "HTTP %ld from %s: a redirect (not followed: check --server)", status,
			 ic->url);
	else
		snprintf(why, why_size, "HTTP %ld from %s%s%s", status, ic->url,
			 line[0] ? ": " : "", line);
	return res;
}
