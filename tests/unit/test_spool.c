// SPDX-License-Identifier: MIT
/* Unit tests for user/spool.c: order, restart, limits, the peeked item,
 * hostile files at open and at peek, and a pusher racing a sender. Each
 * test works in a fresh mkdtemp directory and removes it. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"
#include "upload.h"

static const struct spool_limits big = {.max_bytes = 1 << 30, .max_items = 100000};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	char *dir = strdup("/tmp/pyebpf-spool-test-XXXXXX");

	if (!dir || !mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	nftw(*state, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	FILE *f = fopen(path_in(dir, name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static bool exists(const char *dir, const char *name)
{
	return access(path_in(dir, name), F_OK) == 0;
}

static char *item_file(uint64_t seq)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%020" PRIu64 ".upload", seq);
	return buf;
}

/* Upload number i: its interval, name and bytes all say i. */
static void make_upload(struct upload *u, unsigned i, size_t pprof_len)
{
	size_t k;

	memset(u, 0, sizeof(*u));
	assert_true(asprintf(&u->name, "svc{hostname=h1,pid=%u}", i) > 0);
	u->from_s = 1700000000 + 10ull * i;
	u->until_s = u->from_s + 10;
	u->sample_rate = 97;
	u->spy_name = strdup("pyebpf");
	u->profile_type = strdup(i % 2 ? "off_cpu" : "cpu");
	u->sample_type_config = strdup("{\"cpu\":{\"units\":\"nanoseconds\"}}");
	u->pprof = malloc(pprof_len ? pprof_len : 1);
	for (k = 0; k < pprof_len; k++)
		u->pprof[k] = (uint8_t)(i * 31 + k);
	u->pprof_len = pprof_len;
}

static void assert_upload(const struct upload *u, unsigned i, size_t pprof_len)
{
	struct upload want;

	make_upload(&want, i, pprof_len);
	assert_string_equal(u->name, want.name);
	assert_int_equal(u->from_s, want.from_s);
	assert_int_equal(u->until_s, want.until_s);
	assert_int_equal(u->sample_rate, 97);
	assert_string_equal(u->spy_name, want.spy_name);
	assert_string_equal(u->profile_type, want.profile_type);
	assert_string_equal(u->sample_type_config, want.sample_type_config);
	assert_int_equal(u->pprof_len, pprof_len);
	assert_memory_equal(u->pprof, want.pprof, pprof_len);
	upload_clear(&want);
}

static int push_n(struct spool *s, unsigned i, size_t len, size_t *dropped)
{
	struct upload u;
	int err;

	make_upload(&u, i, len);
	err = spool__push(s, &u, dropped);
	upload_clear(&u);
	return err;
}

/* Peeks, checks it is upload i, returns its seq. */
static uint64_t peek_is(struct spool *s, unsigned i, size_t len)
{
	struct upload u;
	uint64_t seq = 0;

	assert_int_equal(spool__peek(s, &u, &seq), 0);
	assert_upload(&u, i, len);
	upload_clear(&u);
	return seq;
}

static struct spool *open_ok(const char *dir, const struct spool_limits *lim)
{
	char why[256] = "";
	struct spool *s = spool__open(dir, lim, why, sizeof(why));

	if (!s)
		fail_msg("spool__open: %s", why);
	return s;
}

static void test_order(void **state)
{
	struct spool *s = open_ok(*state, &big);
	struct spool_stats st;
	struct upload u;
	uint64_t seq, seq2;
	unsigned i;

	assert_int_equal(spool__peek(s, &u, &seq), -ENOENT);
	for (i = 0; i < 5; i++)
		assert_int_equal(push_n(s, i, 100 + i, NULL), 0);
	spool__stats(s, &st);
	assert_int_equal(st.items, 5);
	assert_true(st.bytes > 5 * 100);
	assert_int_equal(st.dropped, 0);

	for (i = 0; i < 5; i++) {
		/* a peek leaves the item first in line */
		seq = peek_is(s, i, 100 + i);
		seq2 = peek_is(s, i, 100 + i);
		assert_int_equal(seq, seq2);
		assert_true(exists(*state, item_file(seq)));
		assert_int_equal(spool__remove(s, seq), 0);
		assert_false(exists(*state, item_file(seq)));
		assert_int_equal(spool__remove(s, seq), -ENOENT);
	}
	assert_int_equal(spool__peek(s, &u, &seq), -ENOENT);
	spool__stats(s, &st);
	assert_int_equal(st.items, 0);
	assert_int_equal(st.bytes, 0);
	spool__close(s);
}

/* strings with newlines, '%', controls and UTF-8, an empty pprof */
static void test_round_trip_strings(void **state)
{
	struct spool *s = open_ok(*state, &big);
	struct upload u = {0}, out;
	uint64_t seq;

	u.name = strdup("sv\nc{a=100%,b=\xc3\xa9\t\x7f}");
	u.from_s = 1;
	u.until_s = UINT64_MAX;
	u.sample_rate = UINT32_MAX;
	u.spy_name = strdup("");
	u.profile_type = NULL; /* written as "" */
	u.sample_type_config = strdup("{\n  \"cpu\": {\"display-name\": \"%25\"}\n}\n");
	assert_int_equal(spool__push(s, &u, NULL), 0);
	assert_int_equal(spool__peek(s, &out, &seq), 0);
	assert_string_equal(out.name, u.name);
	assert_int_equal(out.from_s, 1);
	assert_int_equal(out.until_s, UINT64_MAX);
	assert_int_equal(out.sample_rate, UINT32_MAX);
	assert_string_equal(out.spy_name, "");
	assert_string_equal(out.profile_type, "");
	assert_string_equal(out.sample_type_config, u.sample_type_config);
	assert_int_equal(out.pprof_len, 0);
	assert_non_null(out.pprof);
	upload_clear(&out);
	upload_clear(&u);
	spool__close(s);
}

static void test_bad_push(void **state)
{
	struct spool *s = open_ok(*state, &big);
	struct spool_stats st;
	struct upload u;

	make_upload(&u, 1, 10);
	u.until_s = u.from_s;
	assert_int_equal(spool__push(s, &u, NULL), -EINVAL);
	u.until_s = u.from_s + 1;
	free(u.name);
	u.name = strdup("");
	assert_int_equal(spool__push(s, &u, NULL), -EINVAL);
	free(u.name);
	u.name = NULL;
	assert_int_equal(spool__push(s, &u, NULL), -EINVAL);
	upload_clear(&u);
	spool__stats(s, &st);
	assert_int_equal(st.items, 0);
	spool__close(s);
}

static void test_restart(void **state)
{
	struct spool *s = open_ok(*state, &big);
	struct spool_stats st;
	uint64_t first, seq;

	assert_int_equal(push_n(s, 0, 50, NULL), 0);
	assert_int_equal(push_n(s, 1, 60, NULL), 0);
	assert_int_equal(push_n(s, 2, 70, NULL), 0);
	first = peek_is(s, 0, 50);
	assert_int_equal(spool__remove(s, first), 0);
	spool__close(s);

	s = open_ok(*state, &big);
	spool__stats(s, &st);
	assert_int_equal(st.items, 2);
	assert_int_equal(st.dropped, 0);
	/* the sequence goes on after the highest found */
	assert_int_equal(push_n(s, 3, 80, NULL), 0);
	seq = peek_is(s, 1, 60);
	assert_int_equal(seq, first + 1);
	assert_int_equal(spool__remove(s, seq), 0);
	seq = peek_is(s, 2, 70);
	assert_int_equal(spool__remove(s, seq), 0);
	seq = peek_is(s, 3, 80);
	assert_int_equal(seq, first + 3);
	spool__close(s);

	/* an emptied spool that is reopened still counts on */
	s = open_ok(*state, &big);
	assert_int_equal(spool__remove(s, first + 3), 0);
	assert_int_equal(push_n(s, 4, 10, NULL), 0);
	assert_int_equal(peek_is(s, 4, 10), first + 4);
	spool__close(s);
}

static void test_max_items(void **state)
{
	struct spool_limits lim = {.max_bytes = 1 << 20, .max_items = 3};
	struct spool *s = open_ok(*state, &lim);
	struct spool_stats st;
	size_t dropped = 99;
	unsigned i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(push_n(s, i, 10, &dropped), 0);
		assert_int_equal(dropped, 0);
	}
	for (i = 3; i < 5; i++) {
		assert_int_equal(push_n(s, i, 10, &dropped), 0);
		assert_int_equal(dropped, 1);
	}
	spool__stats(s, &st);
	assert_int_equal(st.items, 3);
	assert_int_equal(st.dropped, 2);
	assert_false(exists(*state, item_file(1)));
	assert_false(exists(*state, item_file(2)));
	assert_int_equal(spool__remove(s, peek_is(s, 2, 10)), 0);
	assert_int_equal(spool__remove(s, peek_is(s, 3, 10)), 0);
	assert_int_equal(spool__remove(s, peek_is(s, 4, 10)), 0);

	/* lowering the limits applies at once */
	for (i = 10; i < 13; i++)
		assert_int_equal(push_n(s, i, 10, NULL), 0);
	lim.max_items = 1;
	spool__set_limits(s, &lim);
	spool__stats(s, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.dropped, 4);
	peek_is(s, 12, 10);
	spool__close(s);

	/* and at open */
	lim.max_items = 3;
	s = open_ok(*state, &lim);
	spool__stats(s, &st);
	assert_int_equal(st.items, 1);
	spool__close(s);
}

static void test_max_bytes(void **state)
{
	struct spool_limits lim = big;
	struct spool *s = open_ok(*state, &lim);
	struct spool_stats st;
	uint64_t one;
	size_t dropped;
	unsigned i;

	assert_int_equal(push_n(s, 0, 1000, NULL), 0);
	spool__stats(s, &st);
	one = st.bytes; /* every item below is this size */
	assert_true(one > 1000 && one < 1300);
	spool__close(s);

	/* even numbers: the same name and type lengths, so the same size */
	lim.max_bytes = one * 5 / 2;
	s = open_ok(*state, &lim);
	assert_int_equal(push_n(s, 2, 1000, &dropped), 0);
	assert_int_equal(dropped, 0);
	for (i = 4; i < 10; i += 2) {
		assert_int_equal(push_n(s, i, 1000, &dropped), 0);
		assert_int_equal(dropped, 1);
	}
	spool__stats(s, &st);
	assert_int_equal(st.items, 2);
	assert_int_equal(st.bytes, 2 * one);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(spool__remove(s, peek_is(s, 6, 1000)), 0);
	peek_is(s, 8, 1000);

	/* one larger than the whole spool: refused, counted, nothing else moves */
	assert_int_equal(push_n(s, 9, 3 * one, &dropped), -EFBIG);
	assert_int_equal(dropped, 0);
	spool__stats(s, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.dropped, 4);
	peek_is(s, 8, 1000);
	spool__close(s);
}

static void test_peeked_never_dropped(void **state)
{
	struct spool_limits lim = {.max_bytes = 1 << 20, .max_items = 2};
	struct spool *s = open_ok(*state, &lim);
	struct spool_stats st;
	uint64_t a, c;
	size_t dropped;

	assert_int_equal(push_n(s, 0, 10, NULL), 0);
	assert_int_equal(push_n(s, 1, 10, NULL), 0);
	a = peek_is(s, 0, 10); /* being sent */
	assert_int_equal(push_n(s, 2, 10, &dropped), 0);
	assert_int_equal(dropped, 1); /* 1 went, not 0 */
	assert_int_equal(peek_is(s, 0, 10), a);
	assert_int_equal(spool__remove(s, a), 0);
	c = peek_is(s, 2, 10);

	/* only the peeked one is left to drop: it stays, one over the limit */
	lim.max_items = 1;
	spool__set_limits(s, &lim);
	spool__stats(s, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(push_n(s, 3, 10, &dropped), 0);
	assert_int_equal(dropped, 0);
	spool__stats(s, &st);
	assert_int_equal(st.items, 2);
	assert_int_equal(peek_is(s, 2, 10), c);
	assert_int_equal(spool__remove(s, c), 0);
	/* once it is gone, the next push drops as usual */
	peek_is(s, 3, 10);
	assert_int_equal(spool__remove(s, c + 1), 0);
	assert_int_equal(push_n(s, 4, 10, NULL), 0);
	assert_int_equal(push_n(s, 5, 10, &dropped), 0);
	assert_int_equal(dropped, 1);
	peek_is(s, 5, 10);
	spool__close(s);
}

static const char valid_item[] = "pyebpf-spool 1\n"
				 "name=a%0Ab{pid=1}\n"
				 "from=100\n"
				 "until=110\n"
				 "sampleRate=19\n"
				 "spyName=pyebpf\n"
				 "type=cpu\n"
				 "sample_type_config={\"cpu\":{}}\n"
				 "pprof=3\n"
				 "\n"
				 "xyz";

/* A copy of valid_item with `from` replaced by `to`. */
static char *variant(const char *from, const char *to)
{
	const char *at = strstr(valid_item, from);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - valid_item), valid_item, to,
			     at + strlen(from)) > 0);
	return out;
}

static void write_variant(const char *dir, uint64_t seq, const char *from, const char *to)
{
	char *v = variant(from, to);

	write_file(dir, item_file(seq), v, strlen(v));
	free(v);
}

/* The documented file format, written by hand, reads back. */
static void test_format(void **state)
{
	struct spool *s;
	struct upload u;
	uint64_t seq;

	write_file(*state, item_file(7), valid_item, strlen(valid_item));
	s = open_ok(*state, &big);
	assert_int_equal(spool__peek(s, &u, &seq), 0);
	assert_int_equal(seq, 7);
	assert_string_equal(u.name, "a\nb{pid=1}");
	assert_int_equal(u.from_s, 100);
	assert_int_equal(u.until_s, 110);
	assert_int_equal(u.sample_rate, 19);
	assert_string_equal(u.spy_name, "pyebpf");
	assert_string_equal(u.profile_type, "cpu");
	assert_string_equal(u.sample_type_config, "{\"cpu\":{}}");
	assert_int_equal(u.pprof_len, 3);
	assert_memory_equal(u.pprof, "xyz", 3);
	upload_clear(&u);
	/* and what a push writes is the same format */
	make_upload(&u, 0, 0);
	free(u.name);
	u.name = strdup("a\nb{pid=1}");
	u.from_s = 100;
	u.until_s = 110;
	u.sample_rate = 19;
	free(u.sample_type_config);
	u.sample_type_config = strdup("{\"cpu\":{}}");
	free(u.pprof);
	u.pprof = (uint8_t *)strdup("xyz");
	u.pprof_len = 3;
	assert_int_equal(spool__push(s, &u, NULL), 0);
	upload_clear(&u);
	spool__close(s);

	FILE *f = fopen(path_in(*state, item_file(8)), "rb");
	char buf[512];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(n, strlen(valid_item));
	assert_memory_equal(buf, valid_item, n);
	struct stat st;
	assert_int_equal(stat(path_in(*state, item_file(8)), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_corrupt_at_open(void **state)
{
	const char *dir = *state;
	size_t len = strlen(valid_item);
	struct spool_stats st;
	struct spool *s;
	uint64_t seq;
	struct upload u;

	write_file(dir, item_file(3), valid_item, len);		   /* good */
	write_file(dir, item_file(4), valid_item, len - 1);	   /* truncated */
	write_file(dir, item_file(5), valid_item, 40);		   /* torn in the header */
	write_file(dir, item_file(6), "", 0);			   /* empty */
	write_variant(dir, 7, "pyebpf-spool 1", "pyebpf-spool 2"); /* other version */
	write_variant(dir, 8, "pprof=3", "pprof=4");		   /* wrong length */
	write_variant(dir, 9, "pprof=3", "pprof=2");
	write_variant(dir, 10, "from=100", "from=1x0");			 /* not a number */
	write_variant(dir, 11, "until=110", "until=100");		 /* empty interval */
	write_variant(dir, 12, "name=a%0A", "name=a%00");		 /* NUL */
	write_variant(dir, 13, "name=a%0A", "name=a%G0");		 /* bad escape */
	write_variant(dir, 14, "type=cpu", "tipe=cpu");			 /* wrong key */
	write_variant(dir, 15, "type=cpu\n", "");			 /* missing key */
	write_variant(dir, 16, "pprof=3\n\n", "pprof=3\n");		 /* no blank line */
	write_variant(dir, 17, "name=a%0Ab{pid=1}", "name=");		 /* no name */
	write_variant(dir, 18, "from=100", "from=99999999999999999999"); /* > 2^64 */
	write_variant(dir, 19, "sampleRate=19", "sampleRate=4294967296");
	write_variant(dir, 20, "spyName=pyebpf", "spyName=py\tebpf"); /* raw control */
	write_file(dir, "12abc.upload", valid_item, len);	      /* garbage names */
	write_file(dir, "123.upload", valid_item, len);
	write_file(dir, "18446744073709551615.upload", valid_item, len); /* would wrap */
	write_file(dir, "99999999999999999999.upload", valid_item, len);
	write_file(dir, ".00000000000000000021.tmp", valid_item, len); /* leftovers */
	write_file(dir, ".whatever.tmp", "x", 1);
	write_file(dir, "README", "mine", 4); /* not ours: left alone */
	assert_int_equal(mkdir(path_in(dir, "00000000000000000030.upload"), 0700), 0);

	s = open_ok(dir, &big);
	spool__stats(s, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.bytes, len);
	assert_int_equal(st.dropped, 21); /* not the directory */
	assert_true(exists(dir, item_file(3)));
	for (seq = 4; seq <= 20; seq++)
		assert_false(exists(dir, item_file(seq)));
	assert_false(exists(dir, "12abc.upload"));
	assert_false(exists(dir, "123.upload"));
	assert_false(exists(dir, "18446744073709551615.upload"));
	assert_false(exists(dir, ".00000000000000000021.tmp"));
	assert_false(exists(dir, ".whatever.tmp"));
	assert_true(exists(dir, "README"));
	assert_int_equal(spool__peek(s, &u, &seq), 0);
	assert_int_equal(seq, 3);
	upload_clear(&u);
	/* the next sequence number is after the good one, not the garbage */
	assert_int_equal(spool__remove(s, 3), 0);
	assert_int_equal(push_n(s, 1, 5, NULL), 0);
	assert_int_equal(peek_is(s, 1, 5), 4);
	spool__close(s);
	rmdir(path_in(dir, "00000000000000000030.upload"));
}

/* A file spoiled after it was queued is dropped by the peek that finds it. */
static void test_corrupt_at_peek(void **state)
{
	struct spool *s = open_ok(*state, &big);
	struct spool_stats st;
	uint64_t seq;
	struct upload u;

	assert_int_equal(push_n(s, 0, 10, NULL), 0);
	assert_int_equal(push_n(s, 1, 10, NULL), 0);
	assert_int_equal(push_n(s, 2, 10, NULL), 0);
	assert_int_equal(truncate(path_in(*state, item_file(1)), 20), 0);
	assert_int_equal(unlink(path_in(*state, item_file(2))), 0);
	seq = peek_is(s, 2, 10);
	assert_int_equal(seq, 3);
	spool__stats(s, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.dropped, 2);
	assert_false(exists(*state, item_file(1)));
	assert_int_equal(spool__remove(s, seq), 0);
	assert_int_equal(spool__peek(s, &u, &seq), -ENOENT);
	spool__close(s);
}

static void test_open_errors(void **state)
{
	struct spool_limits zero = {.max_bytes = 0, .max_items = 1};
	char why[256] = "", *deep;
	struct spool *s, *s2;
	struct stat st;

	/* missing parents are created, 0700 */
	assert_true(asprintf(&deep, "%s/a/b/c/", (char *)*state) > 0);
	s = open_ok(deep, &big);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path_in(*state, "a"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* one agent per spool */
	s2 = spool__open(deep, &big, why, sizeof(why));
	assert_null(s2);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(why, "in use"));
	spool__close(s);
	s2 = open_ok(deep, &big);
	spool__close(s2);

	assert_null(spool__open(deep, &zero, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);

	/* a file where the directory should be */
	write_file(*state, "file", "x", 1);
	free(deep);
	assert_true(asprintf(&deep, "%s/file/sub", (char *)*state) > 0);
	assert_null(spool__open(deep, &big, why, sizeof(why)));
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(why, "cannot create spool directory"));
	free(deep);
	spool__close(NULL);
}

/* ---- a pusher and a sender at once -------------------------------------- */

struct race {
	struct spool *s;
	unsigned n;
};

static void *pusher(void *arg)
{
	struct race *r = arg;
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (push_n(r->s, i, 64 + i % 200, NULL))
			return (void *)1;
	return NULL;
}

/* Sends until the pusher is done and the spool is empty; returns how many
 * were received, checking they come in order and never twice. */
static unsigned drain(struct race *r, pthread_t th)
{
	unsigned got = 0, last = 0;
	bool any = false, done = false;
	void *ret;

	for (;;) {
		struct upload u;
		uint64_t seq;
		int err = spool__peek(r->s, &u, &seq);

		if (err == -ENOENT) {
			if (done)
				break;
			if (!pthread_tryjoin_np(th, &ret)) {
				assert_null(ret);
				done = true; /* one more look: the last pushes */
			}
			continue;
		}
		assert_int_equal(err, 0);
		unsigned i = (unsigned)((u.from_s - 1700000000) / 10);

		assert_true(!any || i > last);
		assert_upload(&u, i, 64 + i % 200);
		upload_clear(&u);
		/* a second peek without remove is the same item */
		if (got % 7 == 0) {
			uint64_t again;

			assert_int_equal(spool__peek(r->s, &u, &again), 0);
			assert_int_equal(again, seq);
			upload_clear(&u);
		}
		assert_int_equal(spool__remove(r->s, seq), 0);
		last = i;
		any = true;
		got++;
	}
	return got;
}

static void test_concurrent(void **state)
{
	struct race r = {.s = open_ok(*state, &big), .n = 2000};
	struct spool_stats st;
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, pusher, &r), 0);
	assert_int_equal(drain(&r, th), r.n); /* nothing lost */
	spool__stats(r.s, &st);
	assert_int_equal(st.items, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.dropped, 0);
	spool__close(r.s);
}

static void test_concurrent_with_drops(void **state)
{
	struct spool_limits lim = {.max_bytes = 1 << 20, .max_items = 4};
	struct race r = {.s = open_ok(*state, &lim), .n = 2000};
	struct spool_stats st;
	pthread_t th;
	unsigned got;

	assert_int_equal(pthread_create(&th, NULL, pusher, &r), 0);
	got = drain(&r, th);
	spool__stats(r.s, &st);
	/* what was not received was dropped, and counted */
	assert_int_equal(got + st.dropped, r.n);
	assert_int_equal(st.items, 0);
	spool__close(r.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peeked_never_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_at_peek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_with_drops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
