// SPDX-License-Identifier: MIT
/*
 * Unit tests for user/pprof_output.c: the output is gunzipped and decoded
 * with the protobuf-c code generated from proto/profile.proto, then checked
 * field by field and, as a readable text dump, against
 * tests/golden/pprof_fixture.txt.
 *
 * With PYEBPF_PPROF_FIXTURE_OUT=FILE the fixture's gzipped profile is also
 * written to FILE, for tests/formats/run_pprof_fixture_test.sh to read back
 * with `go tool pprof`.
 */
#include <zlib.h>

#include "profile.pb-c.h"

#include "fault_alloc.h"
#include "pprof_output.c"
#include "fault_alloc_end.h"

#include "profile_build.h"
#include "report_fixture.h"
#include "writer_output.h"

typedef Perftools__Profiles__Profile pprof_msg;

/* pprof_output__write into memory; *len gets the length. free() it. */
static unsigned char *write_gz(const struct report *r, size_t *len)
{
	return (unsigned char *)report_output(pprof_output__write, r, len);
}

/* The gzip member's payload; checks the header is reproducible (no name,
 * no comment, no extra field, mtime 0). free() it. */
static unsigned char *gunzip(const unsigned char *gz, size_t len, size_t *out_len)
{
	z_stream zs = {0};
	size_t cap = 4096;
	unsigned char *out = malloc(cap);
	int ret;

	assert_non_null(out);
	assert_true(len >= 18);
	assert_int_equal(gz[0], 0x1f);
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(gz[2], 8);		    /* deflate */
	assert_int_equal(gz[3], 0);		    /* FLG: no FNAME, FCOMMENT, FEXTRA */
	assert_memory_equal(gz + 4, "\0\0\0\0", 4); /* MTIME */
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)gz;
	zs.avail_in = (uInt)len;
	*out_len = 0;
	do {
		if (*out_len == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		zs.next_out = out + *out_len;
		zs.avail_out = (uInt)(cap - *out_len);
		ret = inflate(&zs, Z_NO_FLUSH);
		assert_true(ret == Z_OK || ret == Z_STREAM_END);
		*out_len = cap - zs.avail_out;
	} while (ret != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0); /* one member, nothing after it */
	inflateEnd(&zs);
	return out;
}

/* The decoded message; free with perftools__profiles__profile__free_unpacked(m, NULL). */
static pprof_msg *decode(const struct report *r)
{
	size_t gz_len, len;
	unsigned char *gz = write_gz(r, &gz_len);
	unsigned char *raw = gunzip(gz, gz_len, &len);
	pprof_msg *m = perftools__profiles__profile__unpack(NULL, len, raw);

	assert_non_null(m);
	free(raw);
	free(gz);
	return m;
}

static const char *str(const pprof_msg *m, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < m->n_string_table);
	return m->string_table[i];
}

static const Perftools__Profiles__Location *location(const pprof_msg *m, uint64_t id)
{
	assert_true(id >= 1 && id <= m->n_location);
	assert_int_equal(m->location[id - 1]->id, id);
	return m->location[id - 1];
}

static const Perftools__Profiles__Function *function(const pprof_msg *m, uint64_t id)
{
	assert_true(id >= 1 && id <= m->n_function);
	assert_int_equal(m->function[id - 1]->id, id);
	return m->function[id - 1];
}

/* The function name of a sample's location j (0: the leaf). */
static const char *frame_name(const pprof_msg *m, const Perftools__Profiles__Sample *s, size_t j)
{
	const Perftools__Profiles__Location *l;

	assert_true(j < s->n_location_id);
	l = location(m, s->location_id[j]);
	assert_int_equal(l->n_line, 1);
	return str(m, function(m, l->line[0]->function_id)->name);
}

/* The sample whose leaf function is `leaf`, called by `caller` (any for
 * NULL), with the tid label `tid` (any thread for -1); fails unless there
 * is exactly one. */
static const Perftools__Profiles__Sample *find_sample(const pprof_msg *m, const char *leaf,
						      const char *caller, long tid)
{
	const Perftools__Profiles__Sample *found = NULL;

	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *s = m->sample[i];
		bool tid_ok = tid < 0;

		for (size_t j = 0; j < s->n_label; j++)
			if (!strcmp(str(m, s->label[j]->key), "tid") && s->label[j]->num == tid)
				tid_ok = true;
		if (caller && (s->n_location_id < 2 || strcmp(frame_name(m, s, 1), caller)))
			continue;
		if (tid_ok && !strcmp(frame_name(m, s, 0), leaf)) {
			assert_null(found);
			found = s;
		}
	}
	assert_non_null(found);
	return found;
}

/* The label `key` of s, or NULL. */
static const Perftools__Profiles__Label *
label(const pprof_msg *m, const Perftools__Profiles__Sample *s, const char *key)
{
	for (size_t j = 0; j < s->n_label; j++)
		if (!strcmp(str(m, s->label[j]->key), key))
			return s->label[j];
	return NULL;
}

static void check_values(const Perftools__Profiles__Sample *s, size_t n, const int64_t *want)
{
	assert_int_equal(s->n_value, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->value[i], want[i]);
}

/* A string, quoted, with '"', '\\' and bytes < 0x20 or 0x7f escaped. */
static void dump_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void dump_value_type(FILE *f, const pprof_msg *m, const Perftools__Profiles__ValueType *vt)
{
	fprintf(f, " %s/%s", str(m, vt->type), str(m, vt->unit));
}

/* The decoded message as text, every field pprof_output writes (and the
 * ones it must leave empty), with string indices resolved. */
static int dump(const void *ctx, FILE *f)
{
	const pprof_msg *m = ctx;

	fprintf(f, "sample_type");
	for (size_t i = 0; i < m->n_sample_type; i++)
		dump_value_type(f, m, m->sample_type[i]);
	fprintf(f, "\ndefault_sample_type %s\n", str(m, m->default_sample_type));
	fprintf(f, "period_type");
	if (m->period_type)
		dump_value_type(f, m, m->period_type);
	fprintf(f, "\nperiod %" PRId64 "\n", m->period);
	fprintf(f, "time_nanos %" PRId64 "\n", m->time_nanos);
	fprintf(f, "duration_nanos %" PRId64 "\n", m->duration_nanos);
	fprintf(f, "drop_frames %" PRId64 " keep_frames %" PRId64 " doc_url %" PRId64 "\n",
		m->drop_frames, m->keep_frames, m->doc_url);
	for (size_t i = 0; i < m->n_comment; i++) {
		fprintf(f, "comment ");
		dump_str(f, str(m, m->comment[i]));
		fputc('\n', f);
	}
	fprintf(f, "mappings %zu\n", m->n_mapping);
	for (size_t i = 0; i < m->n_function; i++) {
		const Perftools__Profiles__Function *fn = m->function[i];

		fprintf(f, "function %" PRIu64 " name=", fn->id);
		dump_str(f, str(m, fn->name));
		fprintf(f, " system_name=");
		dump_str(f, str(m, fn->system_name));
		fprintf(f, " filename=");
		dump_str(f, str(m, fn->filename));
		fprintf(f, " start_line=%" PRId64 "\n", fn->start_line);
	}
	for (size_t i = 0; i < m->n_location; i++) {
		const Perftools__Profiles__Location *l = m->location[i];

		fprintf(f, "location %" PRIu64 " mapping=%" PRIu64 " address=%" PRIu64, l->id,
			l->mapping_id, l->address);
		for (size_t j = 0; j < l->n_line; j++)
			fprintf(f, " line={function=%" PRIu64 " line=%" PRId64 "}",
				l->line[j]->function_id, l->line[j]->line);
		fputc('\n', f);
	}
	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *s = m->sample[i];

		fprintf(f, "sample values=[");
		for (size_t j = 0; j < s->n_value; j++)
			fprintf(f, "%s%" PRId64, j ? " " : "", s->value[j]);
		fprintf(f, "] locations=[");
		for (size_t j = 0; j < s->n_location_id; j++)
			fprintf(f, "%s%" PRIu64, j ? " " : "", s->location_id[j]);
		fprintf(f, "]");
		for (size_t j = 0; j < s->n_label; j++) {
			const Perftools__Profiles__Label *l = s->label[j];

			fprintf(f, " %s=", str(m, l->key));
			if (l->str)
				dump_str(f, str(m, l->str));
			else
				fprintf(f, "%" PRId64, l->num);
			if (l->num_unit)
				fprintf(f, "(%s)", str(m, l->num_unit));
		}
		fprintf(f, "\n  leaf first:");
		for (size_t j = 0; j < s->n_location_id; j++) {
			fputc(' ', f);
			dump_str(f, frame_name(m, s, j));
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < m->n_string_table; i++) {
		fprintf(f, "string %zu ", i);
		dump_str(f, m->string_table[i]);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

/* The fixture's output, checked as a text dump against the golden file;
 * the gzipped file itself goes to $PYEBPF_WRITE_FIXTURE_OUTPUTS for
 * go tool pprof. */
static void test_golden(void **state)
{
	struct report_fixture fx;
	struct report_writer gz = {pprof_output__write, &fx.report};
	pprof_msg *m;

	report_fixture_init(&fx);
	m = decode(&fx.report);
	assert_int_equal(golden_check_writer("pprof_fixture.txt", dump, m), 0);
	assert_int_equal(fixture_output_save("pprof_fixture.pb.gz", report_writer_write, &gz), 0);
	perftools__profiles__profile__free_unpacked(m, NULL);
	report_fixture_free(&fx);
}

/* string_table[0] is "", every string index is in range, the header. */
static void test_header(void **state)
{
	struct report_fixture fx;
	pprof_msg *m;

	report_fixture_init(&fx);
	m = decode(&fx.report);
	assert_true(m->n_string_table > 0);
	assert_string_equal(m->string_table[0], "");
	for (size_t i = 1; i < m->n_string_table; i++) /* no duplicates */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(m->string_table[i], m->string_table[j]);
	assert_int_equal(m->n_sample_type, 4);
	assert_string_equal(str(m, m->sample_type[0]->type), "samples");
	assert_string_equal(str(m, m->sample_type[0]->unit), "count");
	assert_string_equal(str(m, m->sample_type[1]->type), "cpu");
	assert_string_equal(str(m, m->sample_type[1]->unit), "nanoseconds");
	assert_string_equal(str(m, m->sample_type[2]->type), "off_cpu");
	assert_string_equal(str(m, m->sample_type[2]->unit), "nanoseconds");
	assert_string_equal(str(m, m->sample_type[3]->type), "wall");
	assert_string_equal(str(m, m->sample_type[3]->unit), "nanoseconds");
	assert_string_equal(str(m, m->default_sample_type), "wall");
	assert_non_null(m->period_type);
	assert_string_equal(str(m, m->period_type->type), "cpu");
	assert_string_equal(str(m, m->period_type->unit), "nanoseconds");
	assert_int_equal(m->period, FIXTURE_PERIOD_NS);
	assert_int_equal(m->duration_nanos, 85000000);
	assert_int_equal(m->time_nanos, 1700000000000000000LL);
	assert_int_equal(m->n_mapping, 0);
	/* one Function per (function, file), one Location per frame */
	assert_int_equal(m->n_function, profile__function_count(fx.profile));
	assert_int_equal(m->n_location, profile__frame_count(fx.profile));
	assert_int_equal(m->n_sample, profile__stack_count(fx.profile));
	for (size_t i = 0; i < m->n_function; i++) {
		const Perftools__Profiles__Function *fn = function(m, i + 1);

		assert_int_equal(fn->name, fn->system_name);
		assert_true((size_t)fn->filename < m->n_string_table);
		assert_int_equal(fn->start_line, 0);
	}
	perftools__profiles__profile__free_unpacked(m, NULL);
	report_fixture_free(&fx);
}

/* Values per stack, totals, leaf-first order and labels on the fixture. */
static void test_values_and_labels(void **state)
{
	struct report_fixture fx;
	const Perftools__Profiles__Sample *s;
	const Perftools__Profiles__Label *l;
	int64_t total[4] = {0};
	pprof_msg *m;

	report_fixture_init(&fx);
	m = decode(&fx.report);

	/* on-CPU, recorded twice: 2 samples of 10 ms */
	s = find_sample(m, "Parser.parse_row", "main", 4242);
	assert_int_equal(s->n_location_id, 3);
	assert_string_equal(frame_name(m, s, 0), "Parser.parse_row");
	assert_string_equal(frame_name(m, s, 1), "main");
	assert_string_equal(frame_name(m, s, 2), "<module>");
	check_values(s, 4, (int64_t[]){2, 20000000, 0, 20000000});
	assert_int_equal(label(m, s, "pid")->num, 4242);
	assert_int_equal(label(m, s, "tid")->num, 4242);
	assert_string_equal(str(m, label(m, s, "thread_name")->str), "MainThread");
	assert_null(label(m, s, "off_cpu_class"));

	/* off-CPU with a kernel stack below: one 40 ms interval */
	s = find_sample(m, "tcp_recvmsg_[k]", NULL, 4243);
	assert_int_equal(s->n_location_id, 5);
	assert_string_equal(frame_name(m, s, 1), "[off-cpu:io] recvfrom");
	assert_string_equal(frame_name(m, s, 4), "Thread._bootstrap");
	check_values(s, 4, (int64_t[]){1, 0, 40000000, 40000000});
	assert_string_equal(str(m, label(m, s, "off_cpu_class")->str), "io");
	assert_string_equal(str(m, label(m, s, "thread_name")->str), "CustomThreadName-1");
	assert_int_equal(label(m, s, "pid")->num, 4242);
	l = label(m, s, "tid");
	assert_int_equal(l->num, 4243);
	assert_int_equal(l->str, 0);

	/* a class without a syscall */
	s = find_sample(m, "[off-cpu:gil]", NULL, -1);
	check_values(s, 4, (int64_t[]){1, 0, 25000000, 25000000});
	assert_string_equal(str(m, label(m, s, "off_cpu_class")->str), "gil");

	/* the thread without a name: pid and tid, no thread_name */
	s = find_sample(m, "Thread.run", NULL, 4250);
	assert_int_equal(s->n_label, 2);
	assert_int_equal(label(m, s, "tid")->num, 4250);
	assert_null(label(m, s, "thread_name"));

	/* a native frame between Python frames, leaf first */
	s = find_sample(m, "Parser.parse_row", "PyObject_Call", 4242);
	assert_int_equal(s->n_location_id, 4);
	assert_string_equal(frame_name(m, s, 2), "main");
	/* a synthetic root */
	s = find_sample(m, "Parser.parse_row", "[truncated]", 4243);
	assert_int_equal(s->n_location_id, 2);

	for (size_t i = 0; i < m->n_sample; i++)
		for (int c = 0; c < 4; c++)
			total[c] += m->sample[i]->value[c];
	/* 8 on-CPU records of 10 ms, off-CPU 25 ms + 40 ms */
	assert_int_equal(total[0], 10);
	assert_int_equal(total[1], 80000000);
	assert_int_equal(total[2], 65000000);
	assert_int_equal(total[3], 145000000);
	assert_int_equal(total[3], profile__total(fx.profile));
	perftools__profiles__profile__free_unpacked(m, NULL);
	report_fixture_free(&fx);
}

/* The sample types and default per time mode. */
static void test_modes(void **state)
{
	static const struct {
		enum time_mode mode;
		size_t n;
		const char *deflt;
	} cases[] = {
		{TIME_CPU, 2, "cpu"},
		{TIME_OFF_CPU, 3, "off_cpu"},
		{TIME_WALL, 4, "wall"},
	};
	struct report_fixture fx;

	report_fixture_init(&fx);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pprof_msg *m;
		const Perftools__Profiles__Sample *s;

		fx.report.mode = cases[i].mode;
		m = decode(&fx.report);
		assert_int_equal(m->n_sample_type, cases[i].n);
		assert_string_equal(str(m, m->default_sample_type), cases[i].deflt);
		assert_string_equal(str(m, m->sample_type[cases[i].n - 1]->type), cases[i].deflt);
		for (size_t j = 0; j < m->n_sample; j++)
			assert_int_equal(m->sample[j]->n_value, cases[i].n);
		s = find_sample(m, "tcp_recvmsg_[k]", NULL, 4243);
		/* without an off_cpu column (TIME_CPU) only the count is left */
		check_values(s, cases[i].n, (int64_t[]){1, 0, 40000000, 40000000});
		perftools__profiles__profile__free_unpacked(m, NULL);
	}
	report_fixture_free(&fx);
}

/* Sample-count weights: count = weight, cpu = weight * period; a stack
 * without a thread has no labels; an empty report field is left out. */
static void test_sample_units(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = frame(p, PROFILE_FRAME_PYTHON, "a", "/a.py", 1);
	uint32_t b = frame(p, PROFILE_FRAME_PYTHON, "b", "/a.py", 2);
	struct report r = {.profile = p, .unit = REPORT_SAMPLES, .period_ns = 1000000};
	const Perftools__Profiles__Sample *s;
	pprof_msg *m;

	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, (uint32_t[]){a, b}, 2, 3, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, (uint32_t[]){a}, 1, 4, NULL), 0);
	m = decode(&r);
	assert_int_equal(m->n_sample_type, 2);
	assert_int_equal(m->n_sample, 2);
	s = find_sample(m, "b", NULL, -1);
	check_values(s, 2, (int64_t[]){3, 3000000});
	assert_int_equal(s->n_label, 0);
	assert_string_equal(frame_name(m, s, 1), "a");
	s = find_sample(m, "a", NULL, -1);
	check_values(s, 2, (int64_t[]){4, 4000000});
	assert_int_equal(m->period, 1000000);
	assert_int_equal(m->time_nanos, 0);
	assert_int_equal(m->duration_nanos, 0);
	assert_int_equal(m->n_comment, 0);
	/* the same line number in two functions: two locations */
	assert_int_equal(m->n_location, 2);
	assert_int_equal(m->n_function, 2);
	perftools__profiles__profile__free_unpacked(m, NULL);

	/* huge weights saturate instead of wrapping */
	r.period_ns = UINT64_MAX / 2;
	m = decode(&r);
	check_values(find_sample(m, "a", NULL, -1), 2, (int64_t[]){4, INT64_MAX});
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile__free(p);
}

/* report.select: one process's threads, on-CPU or off-CPU stacks only;
 * functions and locations only of what is written. */
static void test_selection(void **state)
{
	struct profile *p = profile__new();
	uint32_t a = frame(p, PROFILE_FRAME_PYTHON, "a", "/a.py", 1);
	uint32_t b = frame(p, PROFILE_FRAME_PYTHON, "b", "/b.py", 2);
	uint32_t sleep = frame(p, PROFILE_FRAME_OFF_CPU, "[off-cpu:sleep] clock_nanosleep", NULL, 0);
	uint32_t p1, p2, t1, t2;
	struct report r = {.profile = p, .unit = REPORT_NANOSECONDS, .period_ns = 1000000,
			   .mode = TIME_WALL};
	pprof_msg *m;

	assert_int_equal(profile__add_process(p, 100, 100, "one", &p1), 0);
	assert_int_equal(profile__add_process(p, 200, 200, "two", &p2), 0);
	assert_int_equal(profile__intern_process_thread(p, p1, 101, &t1), 0);
	assert_int_equal(profile__intern_process_thread(p, p2, 201, &t2), 0);
	assert_int_equal(profile__add(p, t1, (uint32_t[]){a}, 1, 3000000, NULL), 0);
	assert_int_equal(profile__add(p, t1, (uint32_t[]){a, sleep}, 2, 7000000, NULL), 0);
	assert_int_equal(profile__add(p, t2, (uint32_t[]){b}, 1, 5000000, NULL), 0);
	assert_int_equal(profile__add(p, PROFILE_NO_THREAD, (uint32_t[]){b}, 1, 1000000, NULL), 0);

	m = decode(&r); /* zeroed selection: everything */
	assert_int_equal(m->n_sample, 4);
	perftools__profiles__profile__free_unpacked(m, NULL);

	r.select = (struct report_selection){.one_process = true, .process = p1};
	m = decode(&r);
	assert_int_equal(m->n_sample, 2);
	assert_int_equal(m->n_function, 2); /* a and the off-CPU frame */
	assert_int_equal(label(m, m->sample[0], "pid")->num, 100);
	assert_int_equal(label(m, m->sample[1], "pid")->num, 100);
	perftools__profiles__profile__free_unpacked(m, NULL);

	r.select.stacks = REPORT_ON_CPU_STACKS;
	m = decode(&r);
	assert_int_equal(m->n_sample, 1);
	check_values(find_sample(m, "a", NULL, 101), 4, (int64_t[]){3, 3000000, 0, 3000000});
	perftools__profiles__profile__free_unpacked(m, NULL);

	r.select.stacks = REPORT_OFF_CPU_STACKS;
	m = decode(&r);
	assert_int_equal(m->n_sample, 1);
	assert_int_equal(m->n_location, 2);
	check_values(find_sample(m, "[off-cpu:sleep] clock_nanosleep", "a", 101), 4,
		     (int64_t[]){1, 0, 7000000, 7000000});
	perftools__profiles__profile__free_unpacked(m, NULL);

	/* a process with nothing of that kind: a valid, empty profile */
	r.select = (struct report_selection){.one_process = true, .process = p2,
					     .stacks = REPORT_OFF_CPU_STACKS};
	m = decode(&r);
	assert_int_equal(m->n_sample, 0);
	assert_int_equal(m->n_function, 0);
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile__free(p);
}

/* The fixture's records added in reverse order (so every frame, function,
 * thread and stack id differs) give the same bytes. */
static void test_same_profile_same_bytes(void **state)
{
	struct report_fixture fx;
	struct profile *p = profile__new();
	const size_t n_rec = sizeof(fixture_records) / sizeof(fixture_records[0]);
	uint32_t threads[3];
	unsigned char *a, *b, *c;
	size_t a_len, b_len, c_len;
	struct report r;

	report_fixture_init(&fx);
	for (int i = 2; i >= 0; i--) {
		assert_int_equal(
			profile__intern_thread(p, 4242, fixture_threads[i].tid, &threads[i]), 0);
		if (fixture_threads[i].name)
			assert_int_equal(
				profile__set_thread_name(p, threads[i], fixture_threads[i].name),
				0);
	}
	for (size_t k = n_rec; k-- > 0;) {
		const struct fixture_record *rec = &fixture_records[k];
		uint32_t stack[6];

		for (int i = rec->n - 1; i >= 0; i--)
			stack[i] = frame(p, rec->frames[i].kind, rec->frames[i].function,
					 rec->frames[i].file, rec->frames[i].line);
		assert_int_equal(
			profile__add(p, threads[rec->thread], stack, rec->n, rec->weight, NULL), 0);
	}
	r = fx.report;
	r.profile = p;
	r.timeline = NULL;
	a = write_gz(&fx.report, &a_len);
	b = write_gz(&r, &b_len);
	c = write_gz(&fx.report, &c_len);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);
	assert_int_equal(a_len, c_len);
	assert_memory_equal(a, c, a_len);
	free(a);
	free(b);
	free(c);
	profile__free(p);
	report_fixture_free(&fx);
}

/* An empty profile is a valid one without samples. */
static void test_empty(void **state)
{
	struct profile *p = profile__new();
	struct report r = {.profile = p, .unit = REPORT_NANOSECONDS, .mode = TIME_OFF_CPU};
	pprof_msg *m = decode(&r);

	assert_string_equal(m->string_table[0], "");
	assert_int_equal(m->n_sample, 0);
	assert_int_equal(m->n_location, 0);
	assert_int_equal(m->n_function, 0);
	assert_int_equal(m->n_sample_type, 3);
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile__free(p);
}

static void test_errors(void **state)
{
	struct report_fixture fx;
	struct report r;
	FILE *f;

	report_fixture_init(&fx);
	r = fx.report;
	f = fopen("/dev/null", "w");
	assert_non_null(f);
	assert_int_equal(pprof_output__write(NULL, f), -EINVAL);
	assert_int_equal(pprof_output__write(&r, NULL), -EINVAL);
	r.profile = NULL;
	assert_int_equal(pprof_output__write(&r, f), -EINVAL);
	r = fx.report;
	r.mode = (enum time_mode)42;
	assert_int_equal(pprof_output__write(&r, f), -EINVAL);
	fclose(f);

	f = fopen("/dev/full", "w");
	if (f) { /* the write error shows at the flush */
		assert_int_equal(pprof_output__write(&fx.report, f), -ENOSPC);
		fclose(f);
	}
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(pprof_output__write(&fx.report, f), -EBADF);
	fclose(f);
	report_fixture_free(&fx);
}

/* Every allocation failing in turn gives -ENOMEM and leaks nothing
 * (cmocka's allocator checks); then the write succeeds. */
static void test_out_of_memory(void **state)
{
	struct report_fixture fx;
	struct report_writer rw = {pprof_output__write, &fx.report};

	report_fixture_init(&fx);
	assert_true(fault_each_allocation(report_writer_to_null, &rw) > 10);
	report_fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_values_and_labels),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_sample_units),
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_same_profile_same_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
