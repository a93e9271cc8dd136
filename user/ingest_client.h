/* SPDX-License-Identifier: MIT */
/*
 * Sends one upload (upload.h) to a Pyroscope-compatible ingest API with
 * libcurl: HTTP or HTTPS, basic auth or a bearer token, and the tenant
 * header X-Scope-OrgID when set.
 */
#ifndef PYEBPF_INGEST_CLIENT_H
#define PYEBPF_INGEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct upload;
struct ingest_client;

struct ingest_config {
	const char *server_url;	 /* "http://host:4040" or with a path prefix;
				    "/ingest" is appended */
	const char *basic_auth_user; /* with basic_auth_password; NULL: none */
	const char *basic_auth_password;
	const char *bearer_token; /* "Authorization: Bearer ..."; NULL: none */
	const char *tenant_id;	  /* X-Scope-OrgID; NULL: none */
	const char *ca_file;	  /* PEM bundle to verify the server; NULL:
				     the system's */
	bool tls_insecure;	  /* skip certificate and host checks */
	double timeout_s;	  /* the whole request, > 0 */
	const char *user_agent;	  /* "pyebpf/0.1.0" */
};

enum ingest_result {
	INGEST_OK = 0,	 /* 2xx */
	INGEST_RETRY,	 /* worth sending again later: no connection, timeout,
			    429, 5xx, 408 */
	INGEST_REJECTED, /* the server will never take it: other 4xx; drop it */
};

/*
 * A client for `c` (strings are copied). NULL with errno set and a reason
 * in why[why_size] (e.g. "bad --server URL ..."). curl_global_init() is
 * the caller's, once, before any thread starts.
 */
struct ingest_client *ingest_client__new(const struct ingest_config *c, char *why,
					 size_t why_size);
void ingest_client__free(struct ingest_client *ic);

/*
 * POST u. Blocks up to timeout_s. The reason for anything but INGEST_OK
 * goes to why[why_size], one line, e.g. "HTTP 503 from
 * http://h:4040/ingest: <first line of the body>" or "cannot connect to
 * h:4040: Connection refused".
 */
enum ingest_result ingest_client__send(struct ingest_client *ic, const struct upload *u,
				       char *why, size_t why_size);

/*
 * Sends give up (INGEST_RETRY) once CLOCK_MONOTONIC passes deadline_s
 * seconds, a send in progress included; 0 clears it. Safe from another
 * thread while a send runs: uploader__stop() bounds its drain with it.
 */
void ingest_client__set_deadline(struct ingest_client *ic, double deadline_s);

#endif /* PYEBPF_INGEST_CLIENT_H */
