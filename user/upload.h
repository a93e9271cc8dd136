/* SPDX-License-Identifier: MIT */
/*
 * One upload to a Pyroscope-compatible ingest API: one process's profile of
 * one type over one interval. What `POST /ingest` takes:
 *
 *   POST {server}/ingest?name=NAME&from=FROM&until=UNTIL&format=pprof
 *        &sampleRate=RATE&spyName=SPY
 *   Content-Type: multipart/form-data with two parts:
 *     "profile"            (file "profile.pprof"): the gzipped pprof bytes
 *     "sample_type_config" (file "sample_type_config.json"): the JSON in
 *                          sample_type_config, which tells the backend which
 *                          of the pprof's sample types to keep and how to
 *                          name them (the series name is name + "." +
 *                          display-name)
 *
 * NAME is "SERVICE{key=value,...}" (process_labels.h builds it).
 * FROM and UNTIL are Unix seconds; an agent's consecutive intervals tile:
 * one's until is the next one's from.
 */
#ifndef PYEBPF_UPLOAD_H
#define PYEBPF_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

struct upload {
	char *name;		  /* "myapp{hostname=h1,pid=42}" (not URL-encoded) */
	uint64_t from_s, until_s; /* Unix seconds, from < until */
	unsigned int sample_rate; /* Hz */
	char *spy_name;		  /* "pyebpf" */
	char *profile_type;	  /* "cpu" or "off_cpu": for logs */
	char *sample_type_config; /* JSON text */
	uint8_t *pprof;		  /* gzipped perftools.profiles.Profile */
	size_t pprof_len;
};

/* Frees what u points to (not u itself) and zeroes it. NULL is fine. */
void upload_clear(struct upload *u);

#endif /* PYEBPF_UPLOAD_H */
