/*
 * test_rpcgen.c: the code event_rpcgen.py generates (from
 * test/rpc_test.rpc) and the generator itself: round trips of every entry
 * kind, the EVTAG_* macros, 1.4's wire bytes, hostile input to unmarshal,
 * and each error the generator reports for a bad .rpc file.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"
#include "rpc_test.gen.h"

/* rpc_test.rpc's #define reaches the generated header. */
#if RPC_TEST_VERSION != 3
#error "#define lines are not passed through"
#endif

/* 1.4 exports these without declaring them. */
int evtag_decode_int(ev_uint32_t *pnumber, struct evbuffer *evbuf);
int evtag_encode_tag(struct evbuffer *evbuf, ev_uint32_t tag);
int evtag_decode_tag(ev_uint32_t *ptag, struct evbuffer *evbuf);

static const ev_uint8_t four[4] = { 0xde, 0xad, 0xbe, 0xef };

/* Set every required entry of k (and of its point). */
static void
fill_required(struct kitchen *k, ev_uint32_t number)
{
	struct point *p;

	assert_int_equal(EVTAG_ASSIGN(k, number, number), 0);
	assert_int_equal(EVTAG_ASSIGN(k, name, "stove"), 0);
	assert_int_equal(EVTAG_ASSIGN(k, fixed, four), 0);
	assert_int_equal(EVTAG_ASSIGN(k, blob, (const ev_uint8_t *)"\0\1\2", 3),
	    0);
	/* 1.4: getting an unset struct entry creates it. */
	assert_int_equal(EVTAG_GET(k, where, &p), 0);
	assert_int_equal(EVTAG_ASSIGN(p, x, 3), 0);
	assert_int_equal(EVTAG_ASSIGN(p, y, 4), 0);
}

/* A kitchen with every entry set, arrays holding two elements each. */
static struct kitchen *
full_kitchen(void)
{
	struct kitchen *k = kitchen_new(), *in;
	struct point *p;
	ev_uint32_t *c;

	assert_non_null(k);
	fill_required(k, 7);
	assert_int_equal(EVTAG_ASSIGN(k, maybe, 0xffffffffu), 0);
	assert_int_equal(EVTAG_ASSIGN(k, note, "hot"), 0);
	for (int i = 0; i < 2; i++) {
		assert_non_null(c = EVTAG_ADD(k, counts));
		*c = 100u + (ev_uint32_t)i;
		assert_non_null(EVTAG_ADD(k, words));
		assert_int_equal(EVTAG_ASSIGN(k, words, i, i ? "two" : "one"),
		    0);
		assert_non_null(EVTAG_ADD(k, chunks));
		assert_int_equal(EVTAG_ASSIGN(k, chunks, i,
				     (const ev_uint8_t *)"xyz",
				     (ev_uint32_t)(i + 1)),
		    0);
		assert_non_null(p = EVTAG_ADD(k, path));
		EVTAG_ASSIGN(p, x, (ev_uint32_t)i);
		EVTAG_ASSIGN(p, y, (ev_uint32_t)(i * 10));
	}
	assert_int_equal(EVTAG_GET(k, inner, &in), 0);
	fill_required(in, 8);
	return k;
}

static void
test_roundtrip_every_kind(void **state)
{
	struct kitchen *k = full_kitchen(), *got = kitchen_new(), *in;
	struct evbuffer *buf = evbuffer_new();
	struct point *p;
	ev_uint32_t v, len;
	ev_uint8_t *bytes;
	char *s;

	(void)state;
	assert_int_equal(kitchen_complete(k), 0);
	kitchen_marshal(buf, k);
	assert_int_equal(kitchen_unmarshal(got, buf), 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);

	assert_int_equal(EVTAG_GET(got, number, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(EVTAG_GET(got, name, &s), 0);
	assert_string_equal(s, "stove");
	assert_int_equal(EVTAG_GET(got, fixed, &bytes), 0);
	assert_memory_equal(bytes, four, 4);
	assert_int_equal(EVTAG_GET(got, blob, &bytes, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(bytes, "\0\1\2", 3);
	assert_int_equal(EVTAG_GET(got, where, &p), 0);
	assert_int_equal(EVTAG_GET(p, y, &v), 0);
	assert_int_equal(v, 4);
	assert_false(EVTAG_HAS(p, label));
	assert_true(EVTAG_HAS(got, maybe));
	assert_int_equal(EVTAG_GET(got, maybe, &v), 0);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(EVTAG_GET(got, note, &s), 0);
	assert_string_equal(s, "hot");

	assert_int_equal(EVTAG_LEN(got, counts), 2);
	assert_int_equal(EVTAG_GET(got, counts, 1, &v), 0);
	assert_int_equal(v, 101);
	assert_int_equal(EVTAG_LEN(got, words), 2);
	assert_int_equal(EVTAG_GET(got, words, 0, &s), 0);
	assert_string_equal(s, "one");
	assert_int_equal(EVTAG_GET(got, words, 1, &s), 0);
	assert_string_equal(s, "two");
	assert_int_equal(EVTAG_LEN(got, chunks), 2);
	assert_int_equal(EVTAG_GET(got, chunks, 1, &bytes, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(bytes, "xy", 2);
	assert_int_equal(EVTAG_LEN(got, path), 2);
	assert_int_equal(EVTAG_GET(got, path, 1, &p), 0);
	assert_int_equal(EVTAG_GET(p, y, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(EVTAG_GET(got, inner, &in), 0);
	assert_int_equal(EVTAG_GET(in, number, &v), 0);
	assert_int_equal(v, 8);
	assert_false(EVTAG_HAS(in, inner));

	/* Out of range and unset entries are refused. */
	assert_int_equal(EVTAG_GET(got, counts, 2, &v), -1);
	assert_int_equal(EVTAG_GET(got, counts, -1, &v), -1);
	assert_int_equal(EVTAG_ASSIGN(got, words, 5, "x"), -1);
	assert_int_equal(EVTAG_GET(p, label, &s), -1);

	/* Marshalling again gives the same bytes. */
	kitchen_marshal(buf, k);
	{
		struct evbuffer *again = evbuffer_new();
		kitchen_marshal(again, got);
		assert_int_equal(EVBUFFER_LENGTH(again), EVBUFFER_LENGTH(buf));
		assert_memory_equal(EVBUFFER_DATA(again), EVBUFFER_DATA(buf),
		    EVBUFFER_LENGTH(buf));
		evbuffer_free(again);
	}
	evbuffer_free(buf);
	kitchen_free(k);
	kitchen_free(got);
}

static void
test_assign_copies(void **state)
{
	struct kitchen *k = full_kitchen(), *other = kitchen_new();
	struct point *p = point_new(), *got;
	char name[] = "mine";
	char *s;
	ev_uint32_t v;

	(void)state;
	/* Strings are copied. */
	assert_int_equal(EVTAG_ASSIGN(other, name, name), 0);
	name[0] = 'M';
	assert_int_equal(EVTAG_GET(other, name, &s), 0);
	assert_string_equal(s, "mine");
	/* Structs are deep copies; an incomplete one cannot be assigned. */
	assert_int_equal(EVTAG_ASSIGN(other, where, p), -1);
	EVTAG_ASSIGN(p, x, 1);
	EVTAG_ASSIGN(p, y, 2);
	assert_int_equal(EVTAG_ASSIGN(other, where, p), 0);
	EVTAG_ASSIGN(p, y, 99);
	assert_int_equal(EVTAG_GET(other, where, &got), 0);
	assert_ptr_not_equal(got, p);
	assert_int_equal(EVTAG_GET(got, y, &v), 0);
	assert_int_equal(v, 2);
	/* Replacing an array element, and a struct with itself. */
	assert_int_equal(EVTAG_ASSIGN(k, path, 0, p), 0);
	assert_int_equal(EVTAG_GET(k, path, 0, &got), 0);
	assert_int_equal(EVTAG_GET(got, y, &v), 0);
	assert_int_equal(v, 99);
	assert_int_equal(EVTAG_GET(k, where, &got), 0);
	assert_int_equal(EVTAG_ASSIGN(k, where, got), 0);
	point_free(p);
	kitchen_free(k);
	kitchen_free(other);
}

static void
test_complete_and_clear(void **state)
{
	struct kitchen *k = kitchen_new(), *in;
	struct evbuffer *buf = evbuffer_new();

	(void)state;
	assert_int_equal(kitchen_complete(k), -1);
	fill_required(k, 1);
	assert_int_equal(kitchen_complete(k), 0);
	/* A nested struct missing a required entry makes the whole fail. */
	assert_int_equal(EVTAG_GET(k, inner, &in), 0);
	assert_int_equal(kitchen_complete(k), -1);
	kitchen_clear(k);
	assert_false(EVTAG_HAS(k, number));
	assert_false(EVTAG_HAS(k, inner));
	assert_int_equal(EVTAG_LEN(k, path), 0);
	/* Unset required entries are not sent, so the peer refuses. */
	kitchen_marshal(buf, k);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	assert_int_equal(kitchen_unmarshal(k, buf), -1);
	/* A struct cleared after use works as a fresh one (ASan: no leak). */
	kitchen_free(k);
	k = full_kitchen();
	kitchen_clear(k);
	fill_required(k, 2);
	kitchen_marshal(buf, k);
	kitchen_clear(k);
	assert_int_equal(kitchen_unmarshal(k, buf), 0);
	kitchen_free(k);
	kitchen_free(NULL);
	evbuffer_free(buf);
}

/* Marshal p and compare with the bytes 1.4's encoding rules give. */
static void
test_wire_bytes(void **state)
{
	static const ev_uint8_t point_bytes[] = {
		0x01, 0x01, 0x01,	/* x: tag 1, len 1, int 1 */
		0x02, 0x02, 0x10, 0x10, /* y: tag 2, len 2, int 0x10 */
		0x03, 0x02, 'a', 'b',	/* label: tag 3, "ab" */
	};
	/* evtag_marshal_point with tag 0x10042: varint c2 80 04, len 11. */
	static const ev_uint8_t head[] = { 0xc2, 0x80, 0x04, 0x0b };
	/* sum_request: two terms (0x100, 0xffffffff), then who. */
	static const ev_uint8_t sum_bytes[] = {
		0x01,
		0x02,
		0x20,
		0x01,
		0x01,
		0x05,
		0x7f,
		0xff,
		0xff,
		0xff,
		0xf0,
		0x02,
		0x00,
	};
	struct evbuffer *buf = evbuffer_new();
	struct point *p = point_new(), *back = point_new();
	struct sum_request *req = sum_request_new();
	ev_uint32_t tag;

	(void)state;
	EVTAG_ASSIGN(p, x, 1);
	EVTAG_ASSIGN(p, y, 0x10);
	EVTAG_ASSIGN(p, label, "ab");
	point_marshal(buf, p);
	assert_int_equal(EVBUFFER_LENGTH(buf), sizeof(point_bytes));
	assert_memory_equal(EVBUFFER_DATA(buf), point_bytes,
	    sizeof(point_bytes));
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));

	evtag_marshal_point(buf, 0x10042, p);
	assert_int_equal(EVBUFFER_LENGTH(buf),
	    sizeof(head) + sizeof(point_bytes));
	assert_memory_equal(EVBUFFER_DATA(buf), head, sizeof(head));
	assert_memory_equal(EVBUFFER_DATA(buf) + sizeof(head), point_bytes,
	    sizeof(point_bytes));
	/* The undeclared 1.4 exports read the same header. */
	assert_int_equal(evtag_decode_tag(&tag, buf), 3);
	assert_int_equal(tag, 0x10042);
	assert_int_equal(evtag_decode_int(&tag, buf), 0);
	assert_int_equal(tag, 11);
	assert_int_equal(point_unmarshal(back, buf), 0);
	assert_int_equal(EVTAG_GET(back, label, &(char *){ NULL }), 0);

	assert_non_null(EVTAG_ADD(req, terms));
	assert_non_null(EVTAG_ADD(req, terms));
	EVTAG_ASSIGN(req, terms, 0, 0x100);
	EVTAG_ASSIGN(req, terms, 1, 0xffffffffu);
	EVTAG_ASSIGN(req, who, "");
	sum_request_marshal(buf, req);
	assert_int_equal(EVBUFFER_LENGTH(buf), sizeof(sum_bytes));
	assert_memory_equal(EVBUFFER_DATA(buf), sum_bytes, sizeof(sum_bytes));

	assert_int_equal(evtag_encode_tag(NULL, 0x10042), 3);
	assert_int_equal(evtag_encode_tag(buf, 0), 1);
	sum_request_free(req);
	point_free(p);
	point_free(back);
	evbuffer_free(buf);
}

/* Whether bytes[0..n) unmarshal as a point. */
static int
point_from(const void *bytes, size_t n)
{
	struct evbuffer *buf = evbuffer_new();
	struct point *p = point_new();
	int res;

	evbuffer_add(buf, bytes, n);
	res = point_unmarshal(p, buf);
	point_free(p);
	evbuffer_free(buf);
	return res;
}

static void
test_hostile_input(void **state)
{
	static const ev_uint8_t ok[] = { 0x01, 0x01, 0x01, 0x02, 0x01, 0x02 };
	static const ev_uint8_t too_long[] = { 0x01, 0x05, 0x01, 0x02, 0x01,
		0x02 };
	static const ev_uint8_t unknown[] = { 0x01, 0x01, 0x01, 0x02, 0x01,
		0x02, 0x09, 0x01, 0x01 };
	static const ev_uint8_t twice[] = { 0x01, 0x01, 0x01, 0x02, 0x01, 0x02,
		0x01, 0x01, 0x05 };
	static const ev_uint8_t missing[] = { 0x01, 0x01, 0x01 };
	static const ev_uint8_t nul[] = { 0x01, 0x01, 0x01, 0x02, 0x01, 0x02,
		0x03, 0x03, 'a', 0, 'b' };
	/* label claims 0x7fffffff bytes: refused before any allocation. */
	static const ev_uint8_t huge[] = { 0x01, 0x01, 0x01, 0x02, 0x01, 0x02,
		0x03, 0x7f, 0xff, 0xff, 0xff, 'a' };
	struct kitchen *k = full_kitchen();
	struct evbuffer *buf = evbuffer_new();
	size_t n, at, cut;

	(void)state;
	assert_int_equal(point_from(ok, sizeof(ok)), 0);
	assert_int_equal(point_from(too_long, sizeof(too_long)), -1);
	assert_int_equal(point_from(unknown, sizeof(unknown)), -1);
	assert_int_equal(point_from(twice, sizeof(twice)), -1);
	assert_int_equal(point_from(missing, sizeof(missing)), -1);
	assert_int_equal(point_from(nul, sizeof(nul)), -1);
	assert_int_equal(point_from(huge, sizeof(huge)), -1);

	/* Cut a full kitchen anywhere but between records: it must fail. */
	kitchen_marshal(buf, k);
	n = EVBUFFER_LENGTH(buf);
	ev_uint8_t *copy = malloc(n);
	memcpy(copy, EVBUFFER_DATA(buf), n);
	char *boundary = calloc(n + 1, 1);
	for (at = 0; at < n;) {
		ev_uint32_t rec;
		boundary[at] = 1;
		assert_int_equal(evtag_peek_length(buf, &rec), 0);
		evbuffer_drain(buf, rec);
		at += rec;
	}
	boundary[n] = 1;
	for (cut = 1; cut < n; cut++) {
		if (!boundary[cut]) {
			struct kitchen *t = kitchen_new();
			evbuffer_add(buf, copy, cut);
			assert_int_equal(kitchen_unmarshal(t, buf), -1);
			evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
			kitchen_free(t);
		}
	}
	free(copy);
	free(boundary);
	kitchen_free(k);
	evbuffer_free(buf);
}

/* A chain of depth kitchens, each the inner of the one before. */
static int
nested_roundtrip(int depth)
{
	struct kitchen *top = kitchen_new(), *k = top, *got = kitchen_new();
	struct evbuffer *buf = evbuffer_new();
	int res;

	for (int i = 0; i < depth; i++) {
		fill_required(k, (ev_uint32_t)i);
		if (i + 1 < depth)
			assert_int_equal(EVTAG_GET(k, inner, &k), 0);
	}
	kitchen_marshal(buf, top);
	res = kitchen_unmarshal(got, buf);
	kitchen_free(top);
	kitchen_free(got);
	evbuffer_free(buf);
	return res;
}

static void
test_nesting_bounded(void **state)
{
	(void)state;
	assert_int_equal(nested_roundtrip(20), 0);
	assert_int_equal(nested_roundtrip(200), -1);
}

/* The generator, run on bad input. */

#ifndef RPCGEN_PYTHON
#define RPCGEN_PYTHON "python3"
#endif

static char tmpdir[64];

static int
gen_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_rpcgen.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
gen_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/*
 * Run the generator on file name holding text (NULL: no file, name as
 * the argument list); return its exit status, its stderr in err.
 */
static int
run_gen(const char *name, const char *text, char *err, size_t errlen)
{
	char path[256], cmd[1024];
	FILE *f;
	size_t n;
	int status;

	if (strcmp(RPCGEN_PYTHON, ":") == 0 || access(RPCGEN_SCRIPT, R_OK))
		skip();
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (text != NULL) {
		assert_non_null(f = fopen(path, "w"));
		fputs(text, f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s '%s' %s 2>stderr.txt", tmpdir,
	    RPCGEN_PYTHON, RPCGEN_SCRIPT, text != NULL ? name : "");
	status = system(cmd);
	assert_true(WIFEXITED(status));
	snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
	assert_non_null(f = fopen(path, "r"));
	n = fread(err, 1, errlen - 1, f);
	err[n] = '\0';
	fclose(f);
	return WEXITSTATUS(status);
}

static int
exists(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return stat(path, &st) == 0;
}

/* The whole of generated file name, malloc'ed. */
static char *
slurp(const char *name)
{
	char path[256], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(path, "r"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(text = malloc((size_t)n + 1));
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void
test_generator_ok(void **state)
{
	char err[512], *h, *c, *p;

	(void)state;
	assert_int_equal(
	    run_gen("good.rpc",
		"#include <stdio.h>\n#define GOOD 1\n"
		"struct a { int x = 1; optional struct[b] y = 0x10001; }\n"
		"/* b comes later */\nstruct b { array string s = 2; };\n",
		err, sizeof(err)),
	    0);
	assert_string_equal(err, "");
	h = slurp("good.gen.h");
	c = slurp("good.gen.c");
	/* #define goes to the header, #include to the source after its own. */
	assert_non_null(strstr(h, "\n#define GOOD 1\n"));
	assert_null(strstr(c, "GOOD"));
	assert_non_null(p = strstr(c, "\n#include <event.h>\n"));
	assert_non_null(p = strstr(p, "\n#include <stdio.h>\n"));
	assert_non_null(strstr(p, "\n#include \"good.gen.h\"\n"));
	/* 1.4's names: guard, forward declarations, enum, access table. */
	assert_non_null(strstr(h, "#ifndef _GOOD_RPC_\n"));
	assert_non_null(p = strstr(h, "\nstruct a;\nstruct b;\n"));
	assert_non_null(strstr(p, "A_X=1,"));
	assert_non_null(strstr(p, "A_Y=65537,"));
	assert_non_null(strstr(p, "A_MAX_TAGS\n"));
	assert_non_null(
	    strstr(p, "int (*y_assign)(struct a *, const struct b*);"));
	assert_non_null(strstr(c, "static struct a_access_ __a_base = {"));
	free(h);
	free(c);
}

static const struct bad_case {
	const char *text;
	const char *want; /* the expected start of stderr */
} bad_cases[] = {
	{ "struct a {\n int x = 1;\n int for = 2;\n}\n",
	    "bad.rpc:3: error: entry name 'for' is a C or C++ keyword" },
	{ "struct a {\n string na$me = 1;\n}\n",
	    "bad.rpc:2: error: unexpected character '$'" },
	{ "struct 1a { int x = 1; }\n",
	    "bad.rpc:1: error: expected a struct name, got '1'" },
	{ "struct a {\n int x = 1;\n int y = 1;\n}\n",
	    "bad.rpc:3: error: tag 1 of y is already used by x" },
	{ "struct a {\n int x = 1;\n string x = 2;\n}\n",
	    "bad.rpc:3: error: entry x of struct a is already defined at line 2" },
	{ "struct a {\n float f = 1;\n}\n",
	    "bad.rpc:2: error: unknown type 'float'" },
	{ "struct a {\n bytes b[] = 1;\n}\n",
	    "bad.rpc:2: error: bytes b[] is missing its length" },
	{ "struct a {\n int x[4] = 1;\n}\n",
	    "bad.rpc:2: error: only bytes entries take a length" },
	{ "struct a {\n int x = 1;\n",
	    "bad.rpc:1: error: struct a is not terminated" },
	{ "struct a { int x = 1; }\n/* open\n\n",
	    "bad.rpc:2: error: unterminated comment" },
	{ "struct a {\n struct[nope] n = 1;\n}\n",
	    "bad.rpc:2: error: unknown struct 'nope'" },
	{ "struct a { int x = 1; }\nstruct a { int y = 1; }\n",
	    "bad.rpc:2: error: struct a is already defined at line 1" },
	{ "struct a {\n optional array int x = 1;\n}\n",
	    "bad.rpc:2: error: an entry cannot be both 'optional' and 'array'" },
	{ "struct a {\n int x = 0x80000000;\n}\n",
	    "bad.rpc:2: error: tag of x is larger than 0x7ffffffe" },
	{ "struct a {\n int x = 1\n}\n",
	    "bad.rpc:3: error: expected ';' in struct a, got '}'" },
	{ "#pragma once\n",
	    "bad.rpc:1: error: unsupported directive '#pragma once'" },
	{ "struct a_b { int c = 1; }\nstruct a { int b_c = 1; }\n",
	    "bad.rpc:2: error: generated name A_B_C collides" },
};

static void
test_generator_errors(void **state)
{
	char err[512];
	size_t i;

	(void)state;
	tu_deadline(60, "runs the generator once per case");
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		assert_int_equal(run_gen("bad.rpc", bad_cases[i].text, err,
				     sizeof(err)),
		    1);
		if (strncmp(err, bad_cases[i].want,
			strlen(bad_cases[i].want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err,
			    bad_cases[i].want);
		/* Nothing half-written is left behind. */
		assert_false(exists("bad.gen.h"));
		assert_false(exists("bad.gen.c"));
	}
}

static void
test_generator_usage(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(run_gen("", NULL, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "usage:"));
	assert_int_equal(run_gen("input.txt", "struct a { int x = 1; }\n", err,
			     sizeof(err)),
	    1);
	assert_non_null(strstr(err, "must be a NAME.rpc file"));
	assert_false(exists("input.gen.h"));
	/* A failed run leaves earlier output alone. */
	assert_int_equal(run_gen("keep.rpc", "struct a { int x = 1; }\n", err,
			     sizeof(err)),
	    0);
	assert_int_equal(run_gen("keep.rpc", "struct a { int x = 1 }\n", err,
			     sizeof(err)),
	    1);
	assert_true(exists("keep.gen.h"));
	assert_true(exists("keep.gen.c"));
}

#define GEN_TEST(f) cmocka_unit_test_setup_teardown(f, gen_setup, gen_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_kind),
		cmocka_unit_test(test_assign_copies),
		cmocka_unit_test(test_complete_and_clear),
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_nesting_bounded),
		GEN_TEST(test_generator_ok),
		GEN_TEST(test_generator_errors),
		GEN_TEST(test_generator_usage),
	};

	return TU_RUN_ONCE("rpcgen", tests);
}
