// SPDX-License-Identifier: MIT
/*
 * The agent's settings. One table of keys drives both the config file and
 * getopt, so a key works the same way in both and completes in the shells.
 * Argument parsing collects the flags first (to find --config), then reads
 * the file, then applies the flags over it, then checks what depends on
 * several keys.
 */
#include "agent_config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <linux/types.h>

#include "pyebpf.h"

/* Bigger than any sane config or secret file; a bound, not a format limit. */
#define CONFIG_MAX_BYTES (1 << 20)
#define SECRET_MAX_BYTES (64 << 10)

enum kind {
	K_STRING, /* non-empty text */
	K_UINT,	  /* min .. max */
	K_BOOL,
	K_SECONDS, /* a positive number, min .. max */
	K_SIZE,	   /* bytes, with K/M/G/T (binary) */
	K_SPECIAL, /* parsed by its own code in set_key() */
};

enum key {
	KEY_CONFIG,
	KEY_SERVER,
	KEY_RATE,
	KEY_INTERVAL,
	KEY_OFF_CPU,
	KEY_MAX_FRAMES,
	KEY_MAX_STACKS,
	KEY_COMM,
	KEY_EXCLUDE_PID,
	KEY_LABEL,
	KEY_RULE,
	KEY_SERVICE_ENV,
	KEY_HOSTNAME,
	KEY_BASIC_USER,
	KEY_BASIC_PASSWORD_FILE,
	KEY_BEARER_TOKEN_FILE,
	KEY_TENANT,
	KEY_CA_FILE,
	KEY_TLS_INSECURE,
	KEY_UPLOAD_TIMEOUT,
	KEY_MAX_BACKOFF,
	KEY_SPOOL_DIR,
	KEY_SPOOL_MAX_SIZE,
	KEY_SPOOL_MAX_ITEMS,
	KEY_METRICS_ADDRESS,
	KEY_HELP,
	/* secrets: in the file only, refused as flags (ps shows argv) */
	KEY_BASIC_PASSWORD,
	KEY_BEARER_TOKEN,
	N_KEYS,
	N_PUBLIC_KEYS = KEY_BASIC_PASSWORD,
};

enum {
	F_FILE = 1,   /* allowed in the config file */
	F_FLAG = 2,   /* allowed on the command line */
	F_REPEAT = 4, /* each occurrence adds a value */
};

static const struct key_info {
	const char *name;
	enum kind kind;
	unsigned int flags;
	unsigned long min, max; /* K_UINT, K_SECONDS, K_SIZE */
} keys[N_KEYS] = {
	[KEY_CONFIG] = {"config", K_STRING, F_FLAG},
	[KEY_SERVER] = {"server", K_SPECIAL, F_FILE | F_FLAG},
	[KEY_RATE] = {"rate", K_UINT, F_FILE | F_FLAG, 1, 10000},
	[KEY_INTERVAL] = {"upload-interval", K_UINT, F_FILE | F_FLAG, 1, 3600},
	[KEY_OFF_CPU] = {"off-cpu", K_BOOL, F_FILE | F_FLAG},
	[KEY_MAX_FRAMES] = {"max-frames", K_UINT, F_FILE | F_FLAG, 1, PYEBPF_MAX_FRAMES},
	[KEY_MAX_STACKS] = {"max-stacks", K_UINT, F_FILE | F_FLAG, 1, 10000000},
	[KEY_COMM] = {"comm", K_STRING, F_FILE | F_FLAG | F_REPEAT},
	[KEY_EXCLUDE_PID] = {"exclude-pid", K_UINT, F_FILE | F_FLAG | F_REPEAT, 1, INT_MAX},
	[KEY_LABEL] = {"label", K_SPECIAL, F_FILE | F_FLAG | F_REPEAT},
	[KEY_RULE] = {"service-name-rule", K_SPECIAL, F_FILE | F_FLAG | F_REPEAT},
	[KEY_SERVICE_ENV] = {"service-name-env", K_SPECIAL, F_FILE | F_FLAG | F_REPEAT},
	[KEY_HOSTNAME] = {"hostname", K_STRING, F_FILE | F_FLAG},
	[KEY_BASIC_USER] = {"basic-auth-user", K_STRING, F_FILE | F_FLAG},
	[KEY_BASIC_PASSWORD_FILE] = {"basic-auth-password-file", K_STRING, F_FILE | F_FLAG},
	[KEY_BEARER_TOKEN_FILE] = {"bearer-token-file", K_STRING, F_FILE | F_FLAG},
	[KEY_TENANT] = {"tenant-id", K_STRING, F_FILE | F_FLAG},
	[KEY_CA_FILE] = {"ca-file", K_STRING, F_FILE | F_FLAG},
	[KEY_TLS_INSECURE] = {"tls-insecure-skip-verify", K_BOOL, F_FILE | F_FLAG},
	[KEY_UPLOAD_TIMEOUT] = {"upload-timeout", K_SECONDS, F_FILE | F_FLAG, 1, 600},
	[KEY_MAX_BACKOFF] = {"max-backoff", K_SECONDS, F_FILE | F_FLAG, 1, 3600},
	[KEY_SPOOL_DIR] = {"spool-dir", K_STRING, F_FILE | F_FLAG},
	[KEY_SPOOL_MAX_SIZE] = {"spool-max-size", K_SIZE, F_FILE | F_FLAG, 1, 0},
	[KEY_SPOOL_MAX_ITEMS] = {"spool-max-items", K_UINT, F_FILE | F_FLAG, 1, 10000000},
	[KEY_METRICS_ADDRESS] = {"metrics-address", K_SPECIAL, F_FILE | F_FLAG},
	[KEY_HELP] = {"help", K_BOOL, F_FLAG},
	[KEY_BASIC_PASSWORD] = {"basic-auth-password", K_STRING, F_FILE},
	[KEY_BEARER_TOKEN] = {"bearer-token", K_STRING, F_FILE},
};

/* getopt's val for a key: above any short option's character. */
#define OPT_BASE 256

/* Every key as a long option (secrets too, so that "--bearer-token" is
 * refused by name rather than taken as an abbreviation of
 * "--bearer-token-file"); the public table leaves the secrets out. */
static struct option all_options[N_KEYS + 1];
static struct option public_options[N_PUBLIC_KEYS + 1];
static pthread_once_t options_once = PTHREAD_ONCE_INIT;

static void build_options(void)
{
	for (int i = 0; i < N_KEYS; i++) {
		struct option o = {keys[i].name, required_argument, NULL, OPT_BASE + i};

		/* booleans take an optional value ("--off-cpu=false" undoes a
		 * file's "true"); secrets are optional so that a missing value
		 * is still reported as a secret on the command line */
		if (keys[i].kind == K_BOOL || !(keys[i].flags & F_FLAG))
			o.has_arg = optional_argument;
		if (i == KEY_HELP) {
			o.has_arg = no_argument;
			o.val = 'h';
		}
		all_options[i] = o;
		if (i < N_PUBLIC_KEYS)
			public_options[i] = o;
	}
}

const struct option *agent_config__long_options(void)
{
	pthread_once(&options_once, build_options);
	return public_options;
}

/* The parse in progress. */
struct parse {
	struct agent_config *c;
	char *why;
	size_t why_size;
	/* the origin of the error being reported: "--rate" or "FILE:LINE: rate" */
	const char *path;
	unsigned int line;		/* 0: a flag */
	unsigned int file_line[N_KEYS]; /* where the file set each key, 0: not */
	bool flag_seen[N_KEYS];		/* a flag has replaced the file's values */
	char *password_file, *token_file;
	bool metrics_set;
};

static int fail(struct parse *p, enum key k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "FILE:LINE: KEY: message" or "--KEY: message". */
static int fail(struct parse *p, enum key k, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;
	int len;

	if (!p->why_size)
		return -1;
	if (p->line)
		len = snprintf(p->why, p->why_size, "%s:%u: %s: ", p->path, p->line, keys[k].name);
	else
		len = snprintf(p->why, p->why_size, "--%s: ", keys[k].name);
	if (len > 0)
		n = (size_t)len < p->why_size ? (size_t)len : p->why_size - 1;
	va_start(ap, fmt);
	vsnprintf(p->why + n, p->why_size - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_plain(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail_plain(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->why_size)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->why, p->why_size, fmt, ap);
	va_end(ap);
	return -1;
}

/* Decimal only: no sign, no blanks, no octal. */
static int parse_ulong(const char *s, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -1;
}

/* "4096", "64K", "64M", "1G", "1T" (also "64MiB", "64MB": binary all the
 * same). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		end++;
		if (!strcasecmp(end, "iB") || !strcasecmp(end, "B"))
			end += strlen(end);
	} else if (!strcasecmp(end, "B")) {
		end++;
	}
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static char *xstrdup(struct parse *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		fail_plain(p, "out of memory");
	return d;
}

/* Replaces *field with a copy of value. */
static int set_string(struct parse *p, char **field, const char *value)
{
	char *d = xstrdup(p, value);

	if (!d)
		return -1;
	free(*field);
	*field = d;
	return 0;
}

/* Grows *array (of elem-sized items, *n used) by one; the new item is
 * zeroed. */
static void *append(struct parse *p, void *array, size_t *n, size_t elem)
{
	char *a = *(void **)array;
	char *na = realloc(a, (*n + 1) * elem);

	if (!na) {
		fail_plain(p, "out of memory");
		return NULL;
	}
	*(void **)array = na;
	memset(na + *n * elem, 0, elem);
	return na + (*n)++ * elem;
}

static void free_strings(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static void free_labels(struct agent_config *c)
{
	for (size_t i = 0; i < c->n_labels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	c->labels = NULL;
	c->n_labels = 0;
}

static void free_rules(struct agent_config *c)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		free(c->rules[i].pattern);
		free(c->rules[i].name);
		regfree(&c->rules[i].re);
	}
	free(c->rules);
	c->rules = NULL;
	c->n_rules = 0;
}

/* Empties a repeating key's list: the first flag for it replaces the
 * file's values. */
static void clear_list(struct agent_config *c, enum key k)
{
	switch (k) {
	case KEY_COMM:
		free_strings(&c->comm, &c->n_comm);
		break;
	case KEY_EXCLUDE_PID:
		free(c->exclude_pids);
		c->exclude_pids = NULL;
		c->n_exclude_pids = 0;
		break;
	case KEY_LABEL:
		free_labels(c);
		break;
	case KEY_RULE:
		free_rules(c);
		break;
	case KEY_SERVICE_ENV:
		free_strings(&c->service_name_env, &c->n_service_name_env);
		break;
	default:
		break;
	}
}

static const char *const reserved_labels[] = {"service_name", "hostname", "pid", "python_version",
					      "container_id"};

static bool valid_label_key(const char *k)
{
	if (!isalpha((unsigned char)*k) && *k != '_')
		return false;
	for (const char *s = k; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* KEY=VALUE: the key ends at the first '=' (keys have none). */
static int set_label(struct parse *p, const char *value)
{
	struct agent_config *c = p->c;
	const char *eq = strchr(value, '=');
	struct agent_label *l;
	size_t klen;

	if (!eq || eq == value || !eq[1])
		return fail(p, KEY_LABEL, "expected KEY=VALUE, got \"%s\"", value);
	char key[128];

	klen = (size_t)(eq - value);
	if (klen >= sizeof(key))
		return fail(p, KEY_LABEL, "label name longer than %zu bytes", sizeof(key) - 1);
	snprintf(key, sizeof(key), "%.*s", (int)klen, value);
	if (!valid_label_key(key))
		return fail(p, KEY_LABEL,
			    "invalid label name \"%s\": expected letters, digits and '_', not "
			    "starting with a digit",
			    key);
	if (!strncmp(key, "__", 2))
		return fail(p, KEY_LABEL,
			    "label name \"%s\": names starting with \"__\" are "
			    "reserved",
			    key);
	for (size_t i = 0; i < sizeof(reserved_labels) / sizeof(reserved_labels[0]); i++)
		if (!strcmp(key, reserved_labels[i]))
			return fail(p, KEY_LABEL, "label \"%s\" is set by the agent itself", key);
	for (size_t i = 0; i < c->n_labels; i++)
		if (!strcmp(c->labels[i].key, key))
			return fail(p, KEY_LABEL, "label \"%s\" given twice", key);
	l = append(p, &c->labels, &c->n_labels, sizeof(*l));
	if (!l)
		return -1;
	l->key = xstrdup(p, key);
	l->value = xstrdup(p, eq + 1);
	return l->key && l->value ? 0 : -1;
}

/* REGEX=NAME, split at the last '=' (a regex may hold one, a name hardly
 * ever does). */
static int set_rule(struct parse *p, const char *value)
{
	struct agent_config *c = p->c;
	const char *eq = strrchr(value, '=');
	struct agent_service_rule r = {0}, *slot;
	char msg[128];
	int err;

	if (!eq || eq == value || !eq[1])
		return fail(p, KEY_RULE, "expected REGEX=NAME, got \"%s\"", value);
	r.pattern = strndup(value, (size_t)(eq - value));
	r.name = strdup(eq + 1);
	if (!r.pattern || !r.name) {
		free(r.pattern);
		free(r.name);
		return fail_plain(p, "out of memory");
	}
	err = regcomp(&r.re, r.pattern, REG_EXTENDED);
	if (err) {
		regerror(err, &r.re, msg, sizeof(msg));
		fail(p, KEY_RULE, "invalid regular expression \"%s\": %s", r.pattern, msg);
		goto bad;
	}
	for (const char *s = r.name; *s; s++) {
		if (s[0] == '\\' && s[1] >= '1' && s[1] <= '9' &&
		    (size_t)(s[1] - '0') > r.re.re_nsub) {
			fail(p, KEY_RULE, "\"%s\" uses \\%c but the expression has %zu group%s",
			     r.name, s[1], r.re.re_nsub, r.re.re_nsub == 1 ? "" : "s");
			regfree(&r.re);
			goto bad;
		}
	}
	slot = append(p, &c->rules, &c->n_rules, sizeof(*slot));
	if (!slot) {
		regfree(&r.re);
		goto bad;
	}
	*slot = r;
	return 0;
bad:
	free(r.pattern);
	free(r.name);
	return -1;
}

/* HOST:PORT (HOST may be [v6]), or "off". */
static int set_metrics(struct parse *p, const char *value)
{
	const char *colon = strrchr(value, ':');
	unsigned long long port;

	p->metrics_set = true;
	if (!strcasecmp(value, "off")) {
		free(p->c->metrics_address);
		p->c->metrics_address = NULL;
		return 0;
	}
	if (!colon || colon == value || parse_ulong(colon + 1, &port) || port > 65535)
		return fail(p, KEY_METRICS_ADDRESS,
			    "expected HOST:PORT (like 127.0.0.1:9464) or \"off\", got \"%s\"",
			    value);
	return set_string(p, &p->c->metrics_address, value);
}

/* http(s)://HOST[:PORT][/PREFIX] */
static int set_server(struct parse *p, const char *value)
{
	const char *host = NULL, *auth = strstr(value, "://");

	/* credentials belong in basic-auth-*: a URL is logged, and this
	 * message must not show them either */
	auth = auth ? auth + 3 : value;
	if (memchr(auth, '@', strcspn(auth, "/")))
		return fail(p, KEY_SERVER,
			    "give credentials with --basic-auth-user and "
			    "--basic-auth-password-file, not in the URL");
	if (!strncasecmp(value, "http://", 7))
		host = value + 7;
	else if (!strncasecmp(value, "https://", 8))
		host = value + 8;
	if (!host || !*host || *host == '/' || *host == ':' || strchr(value, ' '))
		return fail(p, KEY_SERVER,
			    "expected an http:// or https:// URL (like http://pyroscope:4040), "
			    "got \"%s\"",
			    value);
	return set_string(p, &p->c->server, value);
}

/* Sets key k to value (NULL: a boolean flag without a value). */
static int set_key(struct parse *p, enum key k, const char *value)
{
	const struct key_info *ki = &keys[k];
	struct agent_config *c = p->c;
	unsigned long long u = 0;
	uint64_t size = 0;
	double d = 0;
	bool b;

	if (ki->kind == K_BOOL) {
		if (!value) {
			b = true;
		} else if (parse_bool(value, &b)) {
			return fail(p, k, "expected true or false, got \"%s\"", value);
		}
		switch (k) {
		case KEY_OFF_CPU:
			c->off_cpu = b;
			break;
		case KEY_TLS_INSECURE:
			c->tls_insecure = b;
			break;
		default: /* KEY_HELP */
			c->help = b;
			break;
		}
		return 0;
	}
	if (!value || !*value)
		return fail(p, k, "needs a value");

	switch (ki->kind) {
	case K_UINT:
		if (parse_ulong(value, &u) || u < ki->min || u > ki->max)
			return fail(p, k, "expected a number from %lu to %lu, got \"%s\"", ki->min,
				    ki->max, value);
		break;
	case K_SECONDS: {
		char *end;

		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(d) || d < (double)ki->min ||
		    d > (double)ki->max)
			return fail(p, k,
				    "expected a number of seconds from %lu to %lu, got \"%s\"",
				    ki->min, ki->max, value);
		break;
	}
	case K_SIZE:
		if (parse_size(value, &size) || size < ki->min)
			return fail(
				p, k,
				"expected a size in bytes, with K, M or G (like 64M), got \"%s\"",
				value);
		break;
	default:
		break;
	}

	switch (k) {
	case KEY_CONFIG:
		return set_string(p, &c->config_path, value);
	case KEY_SERVER:
		return set_server(p, value);
	case KEY_RATE:
		c->rate_hz = (unsigned int)u;
		return 0;
	case KEY_INTERVAL:
		c->interval_s = (unsigned int)u;
		return 0;
	case KEY_MAX_FRAMES:
		c->max_frames = (unsigned int)u;
		return 0;
	case KEY_MAX_STACKS:
		c->max_stacks = (size_t)u;
		return 0;
	case KEY_COMM: {
		char **slot = append(p, &c->comm, &c->n_comm, sizeof(*slot));

		return slot && (*slot = xstrdup(p, value)) ? 0 : -1;
	}
	case KEY_EXCLUDE_PID: {
		pid_t *slot = append(p, &c->exclude_pids, &c->n_exclude_pids, sizeof(*slot));

		if (!slot)
			return -1;
		*slot = (pid_t)u;
		return 0;
	}
	case KEY_LABEL:
		return set_label(p, value);
	case KEY_RULE:
		return set_rule(p, value);
	case KEY_SERVICE_ENV: {
		char **slot;

		if (strchr(value, '='))
			return fail(p, k, "expected an environment variable's name, got \"%s\"",
				    value);
		slot = append(p, &c->service_name_env, &c->n_service_name_env, sizeof(*slot));
		return slot && (*slot = xstrdup(p, value)) ? 0 : -1;
	}
	case KEY_HOSTNAME:
		return set_string(p, &c->hostname, value);
	case KEY_BASIC_USER:
		return set_string(p, &c->basic_auth_user, value);
	case KEY_TENANT:
		return set_string(p, &c->tenant_id, value);
	case KEY_CA_FILE:
		return set_string(p, &c->ca_file, value);
	case KEY_UPLOAD_TIMEOUT:
		c->upload_timeout_s = d;
		return 0;
	case KEY_MAX_BACKOFF:
		c->max_backoff_s = d;
		return 0;
	case KEY_SPOOL_DIR:
		return set_string(p, &c->spool_dir, value);
	case KEY_SPOOL_MAX_SIZE:
		c->spool_max_bytes = size;
		return 0;
	case KEY_SPOOL_MAX_ITEMS:
		c->spool_max_items = (size_t)u;
		return 0;
	case KEY_METRICS_ADDRESS:
		return set_metrics(p, value);
	/* a secret and the file naming it are one setting: the later
	 * source replaces the other (the file may not give both) */
	case KEY_BASIC_PASSWORD_FILE:
		free(c->basic_auth_password);
		c->basic_auth_password = NULL;
		return set_string(p, &p->password_file, value);
	case KEY_BASIC_PASSWORD:
		free(p->password_file);
		p->password_file = NULL;
		return set_string(p, &c->basic_auth_password, value);
	case KEY_BEARER_TOKEN_FILE:
		free(c->bearer_token);
		c->bearer_token = NULL;
		return set_string(p, &p->token_file, value);
	case KEY_BEARER_TOKEN:
		free(p->token_file);
		p->token_file = NULL;
		return set_string(p, &c->bearer_token, value);
	default:
		return 0;
	}
}

static enum key find_key(const char *name)
{
	for (int i = 0; i < N_KEYS; i++)
		if (!strcmp(keys[i].name, name))
			return (enum key)i;
	return N_KEYS;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* The whole of a small file, terminated; NULL and -errno in *err. */
static char *read_small_file(const char *path, size_t max, size_t *len, int *err)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		*err = -errno;
		return NULL;
	}
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		*err = -ENOMEM;
		return NULL;
	}
	errno = 0;
	n = fread(buf, 1, max + 1, f);
	*err = ferror(f) ? -(errno ? errno : EIO) : n > max ? -EFBIG : 0;
	fclose(f);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The config file: "key = value" lines. */
static int parse_file(struct parse *p, const char *path)
{
	size_t len;
	int err;
	char *text = read_small_file(path, CONFIG_MAX_BYTES, &len, &err);
	char *line, *next;
	int ret = 0;

	if (!text)
		return fail_plain(p, "cannot read config file \"%s\": %s", path,
				  err == -EFBIG ? "larger than 1 MiB" : strerror(-err));
	if (memchr(text, '\0', len)) {
		free(text);
		return fail_plain(p, "%s: not a text file", path);
	}
	p->path = path;
	p->line = 0;
	for (line = text; line && !ret; line = next) {
		char *eq, *key, *value;
		size_t vlen;
		enum key k;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p->line++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			/* the line is not echoed: it might be a stray secret */
			ret = fail_plain(p, "%s:%u: expected \"key = value\"", path, p->line);
			break;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		k = find_key(key);
		if (k == N_KEYS) {
			ret = fail_plain(p, "%s:%u: unknown key \"%.64s\"", path, p->line, key);
		} else if (!(keys[k].flags & F_FILE)) {
			ret = fail_plain(p, "%s:%u: %s is a command-line option, not a config key",
					 path, p->line, key);
		} else if (!(keys[k].flags & F_REPEAT) && p->file_line[k]) {
			ret = fail_plain(p, "%s:%u: %s given twice (first on line %u)", path,
					 p->line, key, p->file_line[k]);
		} else if ((k == KEY_BASIC_PASSWORD && p->file_line[KEY_BASIC_PASSWORD_FILE]) ||
			   (k == KEY_BASIC_PASSWORD_FILE && p->file_line[KEY_BASIC_PASSWORD]) ||
			   (k == KEY_BEARER_TOKEN && p->file_line[KEY_BEARER_TOKEN_FILE]) ||
			   (k == KEY_BEARER_TOKEN_FILE && p->file_line[KEY_BEARER_TOKEN])) {
			const char *s = k == KEY_BEARER_TOKEN || k == KEY_BEARER_TOKEN_FILE
						? "bearer-token"
						: "basic-auth-password";

			ret = fail_plain(p, "%s:%u: give %s or %s-file, not both", path, p->line, s,
					 s);
		} else if (!*value) {
			/* "off-cpu =" is a missing value, not "true" */
			ret = fail(p, k, "needs a value");
		} else {
			p->file_line[k] = p->line;
			ret = set_key(p, k, value);
		}
	}
	free(text);
	p->line = 0;
	return ret;
}

/* The first line of a secret's file, without its newline. */
static int read_secret(struct parse *p, const char *what, const char *path, char **out)
{
	size_t len;
	int err;
	char *text = read_small_file(path, SECRET_MAX_BYTES, &len, &err);

	if (!text)
		return fail_plain(p, "cannot read the %s file \"%s\": %s", what, path,
				  err == -EFBIG ? "larger than 64 KiB" : strerror(-err));
	text[strcspn(text, "\r\n")] = '\0';
	if (!*text) {
		free(text);
		return fail_plain(p, "the %s file \"%s\" is empty", what, path);
	}
	free(*out);
	*out = text;
	return 0;
}

/* What involves several keys, and defaults that depend on the host. */
static int check(struct parse *p)
{
	struct agent_config *c = p->c;

	if (!c->server)
		return fail_plain(p, "no --server given (or `server =` in the config file)");
	if (p->password_file &&
	    read_secret(p, "basic-auth-password", p->password_file, &c->basic_auth_password))
		return -1;
	if (p->token_file && read_secret(p, "bearer-token", p->token_file, &c->bearer_token))
		return -1;
	if (c->basic_auth_user && !c->basic_auth_password)
		return fail_plain(p, "basic-auth-user needs basic-auth-password-file (or "
				     "`basic-auth-password =` in the config file)");
	if (!c->basic_auth_user && c->basic_auth_password)
		return fail_plain(p, "a basic-auth password needs --basic-auth-user");
	if (c->basic_auth_user && c->bearer_token)
		return fail_plain(p, "give basic auth or a bearer token, not both");
	if (c->ca_file && access(c->ca_file, R_OK))
		return fail_plain(p, "cannot read the CA file \"%s\": %s", c->ca_file,
				  strerror(errno));
	if (!c->n_service_name_env) {
		static const char *const defaults[] = {"PYROSCOPE_APPLICATION_NAME",
						       "OTEL_SERVICE_NAME"};

		for (size_t i = 0; i < 2; i++) {
			char **slot = append(p, &c->service_name_env, &c->n_service_name_env,
					     sizeof(*slot));

			if (!slot || !(*slot = xstrdup(p, defaults[i])))
				return -1;
		}
	}
	if (!c->hostname) {
		char host[256] = "";

		if (gethostname(host, sizeof(host) - 1) || !*host)
			snprintf(host, sizeof(host), "localhost");
		if (set_string(p, &c->hostname, host))
			return -1;
	}
	if (!c->spool_dir && set_string(p, &c->spool_dir, AGENT_DEFAULT_SPOOL_DIR))
		return -1;
	if (!p->metrics_set && set_string(p, &c->metrics_address, AGENT_DEFAULT_METRICS_ADDRESS))
		return -1;
	return 0;
}

/* A flag as the user typed it, without a value after '=' (which could be
 * a secret). */
static void flag_text(const char *arg, char *buf, size_t size)
{
	snprintf(buf, size, "%.*s", (int)strcspn(arg, "="), arg);
}

struct flag {
	enum key key;
	const char *value;
};

int agent_config__load(struct agent_config *c, int argc, char **argv, char *why, size_t why_size)
{
	struct parse p = {.c = c, .why = why, .why_size = why_size};
	struct flag *flags = NULL;
	size_t n_flags = 0;
	int opt, ret = -1;
	char text[96];

	pthread_once(&options_once, build_options);
	memset(c, 0, sizeof(*c));
	c->rate_hz = AGENT_DEFAULT_RATE;
	c->interval_s = AGENT_DEFAULT_INTERVAL_S;
	c->max_stacks = AGENT_DEFAULT_MAX_STACKS;
	c->upload_timeout_s = AGENT_DEFAULT_UPLOAD_TIMEOUT_S;
	c->max_backoff_s = AGENT_DEFAULT_MAX_BACKOFF_S;
	c->spool_max_bytes = AGENT_DEFAULT_SPOOL_MAX_BYTES;
	c->spool_max_items = AGENT_DEFAULT_SPOOL_MAX_ITEMS;
	if (why_size)
		why[0] = '\0';

	/* Pass 1: the flags, to know --config before applying any. "+": no
	 * reordering of argv; optind 0 makes glibc start afresh (this runs
	 * again on SIGHUP). */
	flags = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*flags));
	if (!flags) {
		fail_plain(&p, "out of memory");
		goto out;
	}
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:h", all_options, NULL)) != -1) {
		enum key k = opt == 'h' ? KEY_HELP : (enum key)(opt - OPT_BASE);

		if (opt == '?' || opt == ':') {
			if (optopt == 'h' || (optopt >= OPT_BASE && optopt < OPT_BASE + N_KEYS)) {
				k = optopt == 'h' ? KEY_HELP : (enum key)(optopt - OPT_BASE);
				if (opt == ':') {
					fail(&p, k, "needs a value");
				} else {
					flag_text(argv[optind - 1], text, sizeof(text));
					fail_plain(&p, "%s takes no value", text);
				}
			} else if (optopt) {
				fail_plain(&p, "unknown option \"-%c\" (see pyebpf agent --help)",
					   optopt);
			} else {
				flag_text(argv[optind - 1], text, sizeof(text));
				fail_plain(&p,
					   "unknown or ambiguous option \"%s\" (see pyebpf agent "
					   "--help)",
					   text);
			}
			goto out;
		}
		if (!(keys[k].flags & F_FLAG)) {
			fail(&p, k,
			     "secrets are not taken on the command line, where ps shows "
			     "them: use --%s-file or the config file",
			     keys[k].name);
			goto out;
		}
		flags[n_flags++] = (struct flag){k, optarg};
	}
	if (optind < argc) {
		fail_plain(&p, "unexpected argument \"%.64s\" (see pyebpf agent --help)",
			   argv[optind]);
		goto out;
	}
	for (size_t i = 0; i < n_flags; i++) {
		if (flags[i].key == KEY_HELP) {
			c->help = true;
			ret = 0;
			goto out;
		}
		if (flags[i].key == KEY_CONFIG && set_key(&p, KEY_CONFIG, flags[i].value))
			goto out;
	}

	if (c->config_path && parse_file(&p, c->config_path))
		goto out;

	/* Pass 2: the flags over the file; a repeating key's first flag drops
	 * the file's values. */
	for (size_t i = 0; i < n_flags; i++) {
		enum key k = flags[i].key;

		if (k == KEY_CONFIG)
			continue;
		if ((keys[k].flags & F_REPEAT) && !p.flag_seen[k])
			clear_list(c, k);
		p.flag_seen[k] = true;
		if (set_key(&p, k, flags[i].value))
			goto out;
	}
	ret = check(&p);
out:
	free(flags);
	free(p.password_file);
	free(p.token_file);
	if (ret)
		agent_config__free(c);
	return ret;
}

void agent_config__free(struct agent_config *c)
{
	if (!c)
		return;
	free(c->config_path);
	free(c->server);
	free_strings(&c->comm, &c->n_comm);
	free(c->exclude_pids);
	free_labels(c);
	free_rules(c);
	free_strings(&c->service_name_env, &c->n_service_name_env);
	free(c->hostname);
	free(c->basic_auth_user);
	if (c->basic_auth_password)
		explicit_bzero(c->basic_auth_password, strlen(c->basic_auth_password));
	free(c->basic_auth_password);
	if (c->bearer_token)
		explicit_bzero(c->bearer_token, strlen(c->bearer_token));
	free(c->bearer_token);
	free(c->tenant_id);
	free(c->ca_file);
	free(c->spool_dir);
	free(c->metrics_address);
	memset(c, 0, sizeof(*c));
}

/* The same names, each once, in any order. */
static bool same_names(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j = 0, ca = 0, cb = 0;

		for (j = 0; j < na; j++) {
			ca += !strcmp(a[i], a[j]);
			cb += !strcmp(a[i], b[j]);
		}
		if (ca != cb)
			return false;
	}
	return true;
}

static bool same_pids(const pid_t *a, size_t na, const pid_t *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t ca = 0, cb = 0;

		for (size_t j = 0; j < na; j++) {
			ca += a[i] == a[j];
			cb += a[i] == b[j];
		}
		if (ca != cb)
			return false;
	}
	return true;
}

bool agent_config__needs_new_session(const struct agent_config *a, const struct agent_config *b)
{
	return a->rate_hz != b->rate_hz || a->off_cpu != b->off_cpu ||
	       a->max_frames != b->max_frames ||
	       !same_names(a->comm, a->n_comm, b->comm, b->n_comm) ||
	       !same_pids(a->exclude_pids, a->n_exclude_pids, b->exclude_pids, b->n_exclude_pids);
}

void agent_config__help(FILE *out)
{
	fprintf(out,
		"pyebpf agent: profile every Python process on this host, continuously, and\n"
		"push the profiles to a Pyroscope-compatible server (POST /ingest, pprof)\n"
		"\n"
		"Usage:\n"
		"  pyebpf agent --server URL [options]\n"
		"  pyebpf agent --config /etc/pyebpf/agent.conf [options]\n"
		"\n"
		"Every option may also be given in the config file as \"key = value\" (the\n"
		"name without \"--\"); a flag replaces the file's value, and repeated flags\n"
		"replace all of the file's values for that key. SIGHUP reads both again.\n"
		"\n"
		"Options:\n"
		"      --config FILE          read settings from FILE first\n"
		"      --server URL           where to push: http(s)://host:port[/prefix]\n"
		"                             (required)\n"
		"      --rate HZ              samples per second per thread on CPU, 1 to 10000\n"
		"                             (default %d)\n"
		"      --upload-interval S    seconds per profile, 1 to 3600, aligned to the\n"
		"                             clock (default %d)\n"
		"      --off-cpu[=BOOL]       also push off-CPU time (profile type off_cpu)\n"
		"      --max-frames N         deepest Python stack kept, 1 to %d (default %d)\n"
		"      --max-stacks N         distinct stacks kept per interval (default %d)\n"
		"      --comm NAME            only processes with this command name (repeat)\n"
		"      --exclude-pid PID      never this process (repeat)\n"
		"      --label KEY=VALUE      a static label on every profile (repeat)\n"
		"      --service-name-rule REGEX=NAME\n"
		"                             a process whose command line matches REGEX\n"
		"                             (POSIX extended; split at the last '=') is\n"
		"                             service NAME; \\1..\\9 are REGEX's groups; the\n"
		"                             first matching rule wins (repeat)\n"
		"      --service-name-env VAR the process's environment variable naming its\n"
		"                             service, first set wins (repeat; default\n"
		"                             PYROSCOPE_APPLICATION_NAME, OTEL_SERVICE_NAME);\n"
		"                             then service.name in OTEL_RESOURCE_ATTRIBUTES,\n"
		"                             then the command name\n"
		"      --hostname NAME        the hostname label (default: this host's name)\n"
		"      --basic-auth-user USER HTTP basic auth, with its password from\n"
		"      --basic-auth-password-file FILE  (first line)\n"
		"      --bearer-token-file FILE  an HTTP bearer token (first line)\n"
		"      --tenant-id ID         X-Scope-OrgID header, for multi-tenant servers\n"
		"      --ca-file FILE         CA certificates to trust for https\n"
		"      --tls-insecure-skip-verify[=BOOL]  do not check the server's certificate\n"
		"      --upload-timeout S     per upload, 1 to 600 seconds (default %g)\n"
		"      --max-backoff S        longest wait between retries, 1 to 3600 (default "
		"%g)\n"
		"      --spool-dir DIR        where profiles wait while the server is away\n"
		"                             (default %s)\n"
		"      --spool-max-size SIZE  spool bound, with K, M or G (default %lluM);\n"
		"                             the oldest profiles go first\n"
		"      --spool-max-items N    spool bound in profiles (default %d)\n"
		"      --metrics-address HOST:PORT\n"
		"                             Prometheus metrics and health, or \"off\"\n"
		"                             (default %s)\n"
		"  -h, --help                 show this help\n"
		"\n"
		"Secrets are never taken as flags (ps shows them): use the -file options or\n"
		"`basic-auth-password =` / `bearer-token =` in a config file only root reads.\n"
		"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF.\n",
		AGENT_DEFAULT_RATE, AGENT_DEFAULT_INTERVAL_S, PYEBPF_MAX_FRAMES,
		PYEBPF_DEFAULT_FRAMES, AGENT_DEFAULT_MAX_STACKS, AGENT_DEFAULT_UPLOAD_TIMEOUT_S,
		AGENT_DEFAULT_MAX_BACKOFF_S, AGENT_DEFAULT_SPOOL_DIR,
		(unsigned long long)(AGENT_DEFAULT_SPOOL_MAX_BYTES >> 20),
		AGENT_DEFAULT_SPOOL_MAX_ITEMS, AGENT_DEFAULT_METRICS_ADDRESS);
}
