// SPDX-License-Identifier: MIT
/*
 * The agent's outbox (spool.h). One file per item, "<seq>.upload" with seq
 * in 20 digits, so names sort like numbers. An item file, version 1:
 *
 *   pyebpf-spool 1\n
 *   name=myapp{hostname=h1,pid=42}\n
 *   from=1700000000\n
 *   until=1700000010\n
 *   sampleRate=97\n
 *   spyName=pyebpf\n
 *   type=cpu\n
 *   sample_type_config={"cpu":...}\n
 *   pprof=12345\n
 *   \n
 *   <12345 bytes: the gzipped pprof>
 *
 * Every key once, in this order. In string values '%', control characters
 * and DEL are written %XX, so any value is one line (and %00 never
 * parses: the strings are C strings). Numbers are plain decimal. The
 * header is at most SPOOL_HEADER_MAX bytes and the file is exactly the
 * header and the pprof length, so a truncated or torn file never parses.
 *
 * No fsync: an agent on every host should not force a disk flush every
 * few seconds per process for data that is only a profile. After a power
 * loss a renamed item may be empty or short; the length check above finds
 * it at the next open and drops it, so the cost is the last few seconds of
 * profiles, counted, never a corrupt upload.
 *
 * The in-memory index keeps a sequence number and a size per item (16
 * bytes); the items themselves are read from disk one at a time by
 * spool__peek(). One mutex covers everything, file writes and reads
 * included: items are small and the only contention is the agent's main
 * thread pushing while the uploader peeks, never during a network send.
 *
 * The directory is locked (flock) while open, so two agents never share a
 * spool.
 */
#include "spool.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upload.h"

#define SPOOL_MAGIC "pyebpf-spool 1\n"
#define SPOOL_HEADER_MAX (1u << 20)
#define SPOOL_SEQ_DIGITS 20
#define SPOOL_SUFFIX ".upload"

struct spool_entry {
	uint64_t seq;
	uint64_t size; /* of the file */
};

struct spool {
	pthread_mutex_t lock;
	int dirfd; /* holds the flock */
	struct spool_limits lim;
	struct spool_entry *v; /* v[head .. head + n), ascending seq */
	size_t head, n, cap;
	uint64_t bytes, dropped, next_seq;
	bool peeked; /* peeked_seq was handed out and not removed */
	uint64_t peeked_seq;
};

/* ---- the item format: pure ------------------------------------------------ */

static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '%';
}

static void put_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (needs_escape((unsigned char)*s))
			fprintf(f, "%%%02X", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

/* The header for u, malloc'ed, in *out and *out_len. 0, -ENOMEM, or
 * -EINVAL (too long). */
static int header_build(const struct upload *u, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fputs(SPOOL_MAGIC "name=", f);
	put_escaped(f, u->name);
	fprintf(f, "\nfrom=%" PRIu64 "\nuntil=%" PRIu64 "\nsampleRate=%u\nspyName=", u->from_s,
		u->until_s, u->sample_rate);
	put_escaped(f, u->spy_name);
	fputs("\ntype=", f);
	put_escaped(f, u->profile_type);
	fputs("\nsample_type_config=", f);
	put_escaped(f, u->sample_type_config);
	fprintf(f, "\npprof=%zu\n\n", u->pprof_len);
	if (ferror(f) | fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	if (len > SPOOL_HEADER_MAX) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes v[0..len) into a new C string (NULL to only check). */
static int unescape(const char *v, size_t len, char **out)
{
	char *s = NULL, *d;
	size_t i;

	if (out) {
		s = malloc(len + 1);
		if (!s)
			return -ENOMEM;
	}
	d = s;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval(v[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(v[i + 2]) : -1;

			if (lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (needs_escape(c)) {
			goto bad;
		}
		if (d)
			*d++ = (char)c;
	}
	if (d)
		*d = '\0';
	if (out)
		*out = s;
	return 0;
bad:
	free(s);
	return -EBADMSG;
}

static int parse_u64(const char *v, size_t len, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (!len || len > 20)
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9')
			return -EBADMSG;
		d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/*
 * Parses the item header at the start of buf[0..len) (a prefix of a file
 * of file_size bytes), filling *out's strings and numbers (not pprof) if
 * out is not NULL, and the header's length in *hdr_len. 0, -EBADMSG, or
 * -ENOMEM.
 */
static int header_parse(const char *buf, size_t len, uint64_t file_size, struct upload *out,
			size_t *hdr_len)
{
	static const char *const keys[] = {
		"name", "from", "until", "sampleRate", "spyName", "type", "sample_type_config",
		"pprof"};
	char **strs[8] = {0};
	uint64_t nums[8] = {0};
	size_t pos, k, mlen = strlen(SPOOL_MAGIC);
	int err = 0;

	if (out) {
		memset(out, 0, sizeof(*out));
		strs[0] = &out->name;
		strs[4] = &out->spy_name;
		strs[5] = &out->profile_type;
		strs[6] = &out->sample_type_config;
	}
	if (len > SPOOL_HEADER_MAX)
		len = SPOOL_HEADER_MAX;
	if (len < mlen || memcmp(buf, SPOOL_MAGIC, mlen))
		return -EBADMSG;
	pos = mlen;
	for (k = 0; k < 8; k++) {
		size_t klen = strlen(keys[k]);
		const char *nl = memchr(buf + pos, '\n', len - pos), *v;
		size_t vlen;

		if (!nl || (size_t)(nl - (buf + pos)) < klen + 1 ||
		    memcmp(buf + pos, keys[k], klen) || buf[pos + klen] != '=') {
			err = -EBADMSG;
			goto fail;
		}
		v = buf + pos + klen + 1;
		vlen = (size_t)(nl - v);
		if (k == 0 && !vlen) {
			err = -EBADMSG; /* no name */
			goto fail;
		}
		if (k == 0 || k == 4 || k == 5 || k == 6)
			err = unescape(v, vlen, out ? strs[k] : NULL);
		else
			err = parse_u64(v, vlen, &nums[k]);
		if (err)
			goto fail;
		pos = (size_t)(nl - buf) + 1;
	}
	/* the blank line, from < until, a rate, and the exact size */
	if (pos >= len || buf[pos] != '\n' || nums[1] >= nums[2] || nums[3] > UINT32_MAX ||
	    file_size < pos + 1 || nums[7] != file_size - (pos + 1)) {
		err = -EBADMSG;
		goto fail;
	}
	if (out) {
		out->from_s = nums[1];
		out->until_s = nums[2];
		out->sample_rate = (unsigned int)nums[3];
		out->pprof_len = (size_t)nums[7];
	}
	*hdr_len = pos + 1;
	return 0;
fail:
	upload_clear(out);
	return err;
}

/* "00000000000000000042.upload" -> 42. UINT64_MAX is refused: the next
 * sequence number must not wrap. */
static int parse_name(const char *name, uint64_t *seq)
{
	if (strlen(name) != SPOOL_SEQ_DIGITS + strlen(SPOOL_SUFFIX) ||
	    strcmp(name + SPOOL_SEQ_DIGITS, SPOOL_SUFFIX))
		return -EINVAL;
	if (parse_u64(name, SPOOL_SEQ_DIGITS, seq) || *seq == UINT64_MAX)
		return -EINVAL;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* ---- files ---------------------------------------------------------------- */

static void item_name(char *buf, size_t size, uint64_t seq)
{
	snprintf(buf, size, "%0*" PRIu64 SPOOL_SUFFIX, SPOOL_SEQ_DIGITS, seq);
}

static int write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t w = write(fd, c, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t r = read(fd, c, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!r)
			return -EBADMSG; /* shorter than fstat said */
		c += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Reads item e into *out. 0, -ENOMEM/-EMFILE/-ENFILE (worth trying again),
 * or another -errno (the item is bad; a file that is not the size it had
 * when it was queued has been tampered with). */
static int item_read(struct spool *s, const struct spool_entry *e, struct upload *out)
{
	char name[64], *buf = NULL;
	size_t hlen;
	struct stat st;
	int fd, err;

	item_name(name, sizeof(name), e->seq);
	fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		err = -EBADMSG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	err = read_all(fd, buf, (size_t)st.st_size);
	if (err)
		goto out;
	err = header_parse(buf, (size_t)st.st_size, (uint64_t)st.st_size, out, &hlen);
	if (err)
		goto out;
	out->pprof = malloc(out->pprof_len ? out->pprof_len : 1);
	if (!out->pprof) {
		upload_clear(out);
		err = -ENOMEM;
		goto out;
	}
	memcpy(out->pprof, buf + hlen, out->pprof_len);
out:
	free(buf);
	close(fd);
	return err;
}

/* Whether the file `name` in the directory is a whole item: its header
 * parses and the size matches. *size gets the file's size. */
static bool item_check(int dirfd, const char *name, char *buf, uint64_t *size)
{
	struct stat st;
	size_t want, hlen;
	bool ok;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	ok = !fstat(fd, &st) && S_ISREG(st.st_mode);
	if (ok) {
		want = (uint64_t)st.st_size < SPOOL_HEADER_MAX ? (size_t)st.st_size
							       : SPOOL_HEADER_MAX;
		ok = !read_all(fd, buf, want) &&
		     !header_parse(buf, want, (uint64_t)st.st_size, NULL, &hlen);
		*size = (uint64_t)st.st_size;
	}
	close(fd);
	return ok;
}

/* ---- the index ------------------------------------------------------------ */

static int index_reserve(struct spool *s)
{
	struct spool_entry *v;
	size_t cap;

	if (s->head + s->n < s->cap)
		return 0;
	if (s->head) {
		memmove(s->v, s->v + s->head, s->n * sizeof(*s->v));
		s->head = 0;
		return 0;
	}
	cap = s->cap ? s->cap * 2 : 64;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

static void index_remove_at(struct spool *s, size_t i)
{
	struct spool_entry *e = &s->v[s->head + i];

	s->bytes -= e->size;
	if (s->peeked && s->peeked_seq == e->seq)
		s->peeked = false;
	if (i == 0) {
		s->head++;
	} else {
		memmove(e, e + 1, (s->n - i - 1) * sizeof(*e));
	}
	s->n--;
	if (!s->n)
		s->head = 0;
}

/* The index of seq, or -1. */
static ssize_t index_find(const struct spool *s, uint64_t seq)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t m = s->v[s->head + mid].seq;

		if (m == seq)
			return (ssize_t)mid;
		if (m < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void drop_at(struct spool *s, size_t i)
{
	char name[64];

	item_name(name, sizeof(name), s->v[s->head + i].seq);
	unlinkat(s->dirfd, name, 0);
	index_remove_at(s, i);
	s->dropped++;
}

/*
 * Deletes the oldest items until `bytes` more bytes and `items` more items
 * fit, never the peeked one: if only it is left, the spool stays over its
 * limits by that one item until the uploader removes it (it is being sent).
 * Returns how many were deleted.
 */
static size_t make_room(struct spool *s, uint64_t bytes, size_t items)
{
	size_t done = 0;

	while (s->n && (s->bytes + bytes > s->lim.max_bytes || s->n + items > s->lim.max_items)) {
		size_t i = 0;

		if (s->peeked && s->v[s->head].seq == s->peeked_seq)
			i = 1;
		if (i >= s->n)
			break;
		drop_at(s, i);
		done++;
	}
	return done;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- the spool ------------------------------------------------------------ */

/* mkdir -p, the last component and missing parents with 0700 */
static int mkdir_parents(const char *dir)
{
	char path[4096];
	size_t i, len = strlen(dir);

	if (!len || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		if (path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		path[i] = dir[i];
	}
	return 0;
}

/* Reads the directory into the index: drops leftover temporary files and
 * items that do not parse, leaves other files alone. */
static int scan(struct spool *s)
{
	struct dirent *de;
	char *buf;
	DIR *d;
	int fd, err = 0;

	buf = malloc(SPOOL_HEADER_MAX);
	fd = dup(s->dirfd);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!buf || !d) {
		err = -errno;
		if (fd >= 0 && !d)
			close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		uint64_t seq, size;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.' && ends_with(de->d_name, ".tmp")) {
			/* a push that never finished: it was never queued */
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if (!ends_with(de->d_name, SPOOL_SUFFIX))
			continue;
		if (parse_name(de->d_name, &seq) || !item_check(s->dirfd, de->d_name, buf, &size)) {
			if (!unlinkat(s->dirfd, de->d_name, 0))
				s->dropped++;
			continue;
		}
		err = index_reserve(s);
		if (err)
			goto out;
		s->v[s->n++] = (struct spool_entry){.seq = seq, .size = size};
		s->bytes += size;
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	s->next_seq = s->n ? s->v[s->n - 1].seq + 1 : 1;
out:
	if (d)
		closedir(d);
	free(buf);
	return err;
}

struct spool *spool__open(const char *dir, const struct spool_limits *lim, char *why,
			  size_t why_size)
{
	struct spool *s;
	int err;

	if (!dir || !*dir || !lim || !lim->max_bytes || !lim->max_items) {
		snprintf(why, why_size, "bad spool settings");
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, why_size, "cannot open spool %s: %s", dir, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	s->dirfd = -1;
	s->lim = *lim;
	pthread_mutex_init(&s->lock, NULL);

	err = mkdir_parents(dir);
	if (err) {
		snprintf(why, why_size, "cannot create spool directory %s: %s", dir,
			 strerror(-err));
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		err = -errno;
		snprintf(why, why_size, "cannot open spool directory %s: %s", dir, strerror(-err));
		goto fail;
	}
	if (flock(s->dirfd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (err == -EBUSY)
			snprintf(why, why_size,
				 "spool directory %s is in use by another pyebpf agent", dir);
		else
			snprintf(why, why_size, "cannot lock spool directory %s: %s", dir,
				 strerror(-err));
		goto fail;
	}
	err = scan(s);
	if (err) {
		snprintf(why, why_size, "cannot read spool directory %s: %s", dir, strerror(-err));
		goto fail;
	}
	make_room(s, 0, 0);
	return s;
fail:
	spool__close(s);
	errno = -err;
	return NULL;
}

void spool__close(struct spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd); /* and the lock */
	pthread_mutex_destroy(&s->lock);
	free(s->v);
	free(s);
}

void spool__set_limits(struct spool *s, const struct spool_limits *lim)
{
	if (!lim->max_bytes || !lim->max_items)
		return;
	pthread_mutex_lock(&s->lock);
	s->lim = *lim;
	make_room(s, 0, 0);
	pthread_mutex_unlock(&s->lock);
}

int spool__push(struct spool *s, const struct upload *u, size_t *dropped)
{
	char name[64], tmp[64], *hdr = NULL;
	size_t hlen, n = 0;
	uint64_t size, seq;
	int fd, err;

	if (dropped)
		*dropped = 0;
	/* what header_parse() would refuse is refused here */
	if (!u->name || !u->name[0] || u->from_s >= u->until_s || (u->pprof_len && !u->pprof))
		return -EINVAL;
	err = header_build(u, &hdr, &hlen);
	if (err)
		return err;
	size = hlen + u->pprof_len;

	pthread_mutex_lock(&s->lock);
	if (size > s->lim.max_bytes) {
		s->dropped++;
		err = -EFBIG;
		goto out;
	}
	err = index_reserve(s);
	if (err)
		goto out;
	seq = s->next_seq;
	item_name(name, sizeof(name), seq);
	snprintf(tmp, sizeof(tmp), ".%0*" PRIu64 ".tmp", SPOOL_SEQ_DIGITS, seq);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, hdr, hlen);
	if (!err)
		err = write_all(fd, u->pprof, u->pprof_len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(s->dirfd, tmp, s->dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(s->dirfd, tmp, 0);
		goto out;
	}
	n = make_room(s, size, 1);
	s->v[s->head + s->n++] = (struct spool_entry){.seq = seq, .size = size};
	s->bytes += size;
	s->next_seq = seq + 1;
	if (dropped)
		*dropped = n;
out:
	pthread_mutex_unlock(&s->lock);
	free(hdr);
	return err;
}

int spool__peek(struct spool *s, struct upload *out, uint64_t *seq)
{
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	while (s->n) {
		const struct spool_entry *e = &s->v[s->head];

		err = item_read(s, e, out);
		if (!err) {
			*seq = e->seq;
			s->peeked = true;
			s->peeked_seq = e->seq;
			break;
		}
		if (err == -ENOMEM || err == -EMFILE || err == -ENFILE)
			break;
		drop_at(s, 0); /* unreadable: never sendable */
		err = -ENOENT;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int spool__remove(struct spool *s, uint64_t seq)
{
	char name[64];
	ssize_t i;

	pthread_mutex_lock(&s->lock);
	i = index_find(s, seq);
	if (i >= 0) {
		item_name(name, sizeof(name), seq);
		unlinkat(s->dirfd, name, 0);
		index_remove_at(s, (size_t)i);
	}
	pthread_mutex_unlock(&s->lock);
	return i >= 0 ? 0 : -ENOENT;
}

void spool__stats(struct spool *s, struct spool_stats *out)
{
	pthread_mutex_lock(&s->lock);
	out->items = s->n;
	out->bytes = s->bytes;
	out->dropped = s->dropped;
	pthread_mutex_unlock(&s->lock);
}
