/*
 * test_tagging.c: the evtag_* marshalling: 1.4's exact wire bytes, round
 * trips of every type, and hostile input (truncation, over-long varints,
 * lengths beyond the data) that must fail without consuming anything.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>

#include "test_util.h"

/* The buffer under test: the shared fixture of test_util.h. */
#define buf tu_buf

/* Assert buf holds exactly the n bytes want, then empty it. */
static void
expect_bytes(const void *want, size_t n)
{
	assert_int_equal(EVBUFFER_LENGTH(buf), n);
	assert_memory_equal(EVBUFFER_DATA(buf), want, n);
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
}

#define EXPECT(...) \
	do { \
		static const u_char want_[] = { __VA_ARGS__ }; \
		expect_bytes(want_, sizeof(want_)); \
	} while (0)

static void
test_encode_int_bytes(void **state)
{
	/* High nibble: significant nibbles - 1; then nibbles, low first. */
	encode_int(buf, 0);
	EXPECT(0x00);
	encode_int(buf, 1);
	EXPECT(0x01);
	encode_int(buf, 0xf);
	EXPECT(0x0f);
	encode_int(buf, 0x10);
	EXPECT(0x10, 0x10);
	encode_int(buf, 0xff);
	EXPECT(0x1f, 0xf0);
	encode_int(buf, 0x123);
	EXPECT(0x23, 0x21);
	encode_int(buf, 0x1000);
	EXPECT(0x30, 0x00, 0x10);
	encode_int(buf, 0x12345678);
	EXPECT(0x78, 0x76, 0x54, 0x32, 0x10);
	encode_int(buf, 0xffffffff);
	EXPECT(0x7f, 0xff, 0xff, 0xff, 0xf0);
}

static void
test_marshal_bytes(void **state)
{
	struct timeval tv = { 1, 0x10 };

	/* Tags: base-128, low 7 bits first, high bit means "more". */
	evtag_marshal(buf, 0, "", 0);
	EXPECT(0x00, 0x00);
	evtag_marshal(buf, 1, "abc", 3);
	EXPECT(0x01, 0x03, 'a', 'b', 'c');
	evtag_marshal(buf, 127, "z", 1);
	EXPECT(0x7f, 0x01, 'z');
	evtag_marshal(buf, 128, "z", 1);
	EXPECT(0x80, 0x01, 0x01, 'z');
	evtag_marshal(buf, 0xffffffff, NULL, 0);
	EXPECT(0xff, 0xff, 0xff, 0xff, 0x0f, 0x00);

	/* An integer item's payload is its encode_int(). */
	evtag_marshal_int(buf, 2, 0x10);
	EXPECT(0x02, 0x02, 0x10, 0x10);
	evtag_marshal_int(buf, 5, 0);
	EXPECT(0x05, 0x01, 0x00);
	evtag_marshal_string(buf, 300, "hi");
	EXPECT(0xac, 0x02, 0x02, 'h', 'i');
	/* A timeval: encode_int(sec) then encode_int(usec). */
	evtag_marshal_timeval(buf, 3, &tv);
	EXPECT(0x03, 0x03, 0x01, 0x10, 0x10);

	/* A payload of 16 bytes has a two-byte length. */
	evtag_marshal(buf, 4, "0123456789abcdef", 16);
	assert_int_equal(EVBUFFER_LENGTH(buf), 19);
	assert_memory_equal(EVBUFFER_DATA(buf), "\x04\x10\x10", 3);
	evbuffer_drain(buf, 19);
}

static const ev_uint32_t tags[] = { 0, 1, 2, 127, 128, 300, 16383, 16384,
	0x1fffff, 0x200000, 0xfffffff, 0x10000000, 0xffffffff };
static const ev_uint32_t ints[] = { 0, 1, 0xf, 0x10, 0xff, 0x100, 0xaf0, 0x1000,
	0xbef000, 0xfffffff, 0x10000000, 0xdeadbeef, 0xffffffff };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
test_roundtrip_int(void **state)
{
	size_t i, j, len;
	ev_uint32_t got, tag, plen;

	for (i = 0; i < NELEM(tags); i++) {
		for (j = 0; j < NELEM(ints); j++) {
			evtag_marshal_int(buf, tags[i], ints[j]);
			len = EVBUFFER_LENGTH(buf);
			assert_true(evtag_peek(buf, &tag) > 0);
			assert_int_equal(tag, tags[i]);
			assert_int_equal(evtag_peek_length(buf, &plen), 0);
			assert_int_equal(plen, len);
			assert_int_equal(evtag_unmarshal_int(buf, tags[i],
					     &got),
			    0);
			assert_int_equal(got, ints[j]);
			assert_int_equal(EVBUFFER_LENGTH(buf), 0);
		}
	}
	/* Bare encode_int round trips through an item of its own. */
	for (j = 0; j < NELEM(ints); j++) {
		struct evbuffer *payload = evbuffer_new();

		encode_int(payload, ints[j]);
		evtag_marshal(buf, 9, EVBUFFER_DATA(payload),
		    (ev_uint32_t)EVBUFFER_LENGTH(payload));
		assert_int_equal(evtag_unmarshal_int(buf, 9, &got), 0);
		assert_int_equal(got, ints[j]);
		evbuffer_free(payload);
	}
}

static void
test_roundtrip_string_fixed_timeval(void **state)
{
	struct timeval tv = { 1234567890, 999999 }, tvout;
	char *s, *big = malloc(100001);
	u_char fixed[16], fixedout[16];
	size_t i;

	assert_non_null(big);
	memset(big, 'B', 100000);
	big[100000] = '\0';
	for (i = 0; i < sizeof(fixed); i++)
		fixed[i] = (u_char)(i * 13);

	evtag_marshal_string(buf, 1, "");
	evtag_marshal_string(buf, 2, "hello world");
	evtag_marshal_string(buf, 3, big);
	evtag_marshal(buf, 4, fixed, sizeof(fixed));
	evtag_marshal_timeval(buf, 5, &tv);

	assert_int_equal(evtag_unmarshal_string(buf, 1, &s), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(evtag_unmarshal_string(buf, 2, &s), 0);
	assert_string_equal(s, "hello world");
	free(s);
	assert_int_equal(evtag_unmarshal_string(buf, 3, &s), 0);
	assert_string_equal(s, big);
	free(s);
	assert_int_equal(evtag_unmarshal_fixed(buf, 4, fixedout,
			     sizeof(fixedout)),
	    0);
	assert_memory_equal(fixed, fixedout, sizeof(fixed));
	assert_int_equal(evtag_unmarshal_timeval(buf, 5, &tvout), 0);
	assert_int_equal(tvout.tv_sec, tv.tv_sec);
	assert_int_equal(tvout.tv_usec, tv.tv_usec);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	free(big);
}

static void
test_unmarshal_peek_consume(void **state)
{
	struct evbuffer *dst = evbuffer_new();
	ev_uint32_t tag = 0, len = 0;

	assert_non_null(dst);
	evtag_marshal(buf, 300, "payload", 7); /* 2 + 1 + 7 bytes */
	evtag_marshal_int(buf, 7, 42);

	assert_int_equal(evtag_peek(buf, &tag), 2);
	assert_int_equal(tag, 300);
	assert_int_equal(evtag_peek(buf, NULL), 2);
	assert_int_equal(evtag_peek_length(buf, &len), 0);
	assert_int_equal(len, 10);
	assert_int_equal(evtag_payload_length(buf, &len), 0);
	assert_int_equal(len, 7);
	/* Peeking takes nothing. */
	assert_int_equal(EVBUFFER_LENGTH(buf), 10 + 4);

	tag = 0;
	assert_int_equal(evbuffer_add(dst, "pre:", 4), 0);
	assert_int_equal(evtag_unmarshal(buf, &tag, dst), 7);
	assert_int_equal(tag, 300);
	assert_int_equal(EVBUFFER_LENGTH(dst), 11);
	assert_memory_equal(EVBUFFER_DATA(dst), "pre:payload", 11);

	assert_int_equal(evtag_peek(buf, &tag), 1);
	assert_int_equal(tag, 7);
	assert_int_equal(evtag_consume(buf), 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	assert_int_equal(evtag_consume(buf), -1);
	assert_int_equal(evtag_peek(buf, &tag), -1);
	evbuffer_free(dst);
}

static void
test_wrong_tag_or_size(void **state)
{
	u_char out[8];
	char *s = NULL;
	struct timeval tv;
	ev_uint32_t v;
	size_t len;

	evtag_marshal_int(buf, 1, 5);
	len = EVBUFFER_LENGTH(buf);
	/* A tag mismatch fails and leaves the item for the right reader. */
	assert_int_equal(evtag_unmarshal_int(buf, 2, &v), -1);
	assert_int_equal(evtag_unmarshal_string(buf, 2, &s), -1);
	assert_null(s);
	assert_int_equal(evtag_unmarshal_timeval(buf, 2, &tv), -1);
	assert_int_equal(evtag_unmarshal_fixed(buf, 2, out, 1), -1);
	/* A fixed item must have exactly the size asked for. */
	assert_int_equal(evtag_unmarshal_fixed(buf, 1, out, 2), -1);
	assert_int_equal(evtag_unmarshal_fixed(buf, 1, out, 0), -1);
	/* One integer is not a timeval. */
	assert_int_equal(evtag_unmarshal_timeval(buf, 1, &tv), -1);
	assert_int_equal(EVBUFFER_LENGTH(buf), len);
	assert_int_equal(evtag_unmarshal_int(buf, 1, &v), 0);
	assert_int_equal(v, 5);

	/* An integer item with trailing junk, or empty, is malformed. */
	evtag_marshal(buf, 1, "\x01\x02", 2);
	assert_int_equal(evtag_unmarshal_int(buf, 1, &v), -1);
	assert_int_equal(evtag_consume(buf), 0);
	evtag_marshal(buf, 1, "", 0);
	assert_int_equal(evtag_unmarshal_int(buf, 1, &v), -1);
	assert_int_equal(evtag_consume(buf), 0);
	/* A timeval with a third number. */
	evtag_marshal(buf, 1, "\x01\x02\x03", 3);
	assert_int_equal(evtag_unmarshal_timeval(buf, 1, &tv), -1);
	assert_int_equal(evtag_consume(buf), 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
}

/* Every reader fails on buf and leaves it exactly as it was. */
static void
assert_all_fail(void)
{
	struct evbuffer *dst = evbuffer_new();
	size_t len = EVBUFFER_LENGTH(buf);
	u_char *copy = malloc(len + 1), out[64];
	ev_uint32_t tag, v;
	struct timeval tv;
	char *s = NULL;

	assert_non_null(dst);
	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, EVBUFFER_DATA(buf), len);
	assert_int_equal(evtag_unmarshal(buf, &tag, dst), -1);
	assert_int_equal(EVBUFFER_LENGTH(dst), 0);
	assert_int_equal(evtag_consume(buf), -1);
	assert_int_equal(evtag_unmarshal_int(buf, 1, &v), -1);
	assert_int_equal(evtag_unmarshal_string(buf, 1, &s), -1);
	assert_null(s);
	assert_int_equal(evtag_unmarshal_timeval(buf, 1, &tv), -1);
	assert_int_equal(evtag_unmarshal_fixed(buf, 1, out, 3), -1);
	assert_int_equal(EVBUFFER_LENGTH(buf), len);
	if (len > 0)
		assert_memory_equal(EVBUFFER_DATA(buf), copy, len);
	free(copy);
	evbuffer_free(dst);
}

static void
test_truncated_input(void **state)
{
	struct evbuffer *whole = evbuffer_new();
	struct timeval tv = { 77, 88 };
	size_t n, cut;

	assert_non_null(whole);
	/* Each kind of item, cut short at every length. */
	evtag_marshal(whole, 1, "abc", 3);
	evtag_marshal_int(whole, 1, 0xdeadbeef);
	evtag_marshal_string(whole, 1, "string");
	evtag_marshal_timeval(whole, 1, &tv);
	evtag_marshal(whole, 0x10000000, "xyz", 3);
	while ((n = EVBUFFER_LENGTH(whole)) > 0) {
		ev_uint32_t item;

		assert_int_equal(evtag_peek_length(whole, &item), 0);
		for (cut = 0; cut < item; cut++) {
			evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
			assert_int_equal(evbuffer_add(buf, EVBUFFER_DATA(whole),
					     cut),
			    0);
			assert_all_fail();
		}
		evbuffer_drain(whole, item);
	}
	evbuffer_free(whole);
}

static void
test_overlong_varints(void **state)
{
	ev_uint32_t tag, len;

	/* Six 0xff bytes: a tag with no end within 32 bits. */
	assert_int_equal(evbuffer_add(buf, "\xff\xff\xff\xff\xff\xff", 6), 0);
	assert_int_equal(evtag_peek(buf, &tag), -1);
	assert_int_equal(evtag_peek_length(buf, &len), -1);
	assert_int_equal(evtag_payload_length(buf, &len), -1);
	assert_all_fail();
	evbuffer_drain(buf, 6);

	/* Five bytes that end but carry more than 32 bits. */
	assert_int_equal(evbuffer_add(buf, "\xff\xff\xff\xff\x1f\x00", 6), 0);
	assert_int_equal(evtag_peek(buf, &tag), -1);
	assert_all_fail();
	evbuffer_drain(buf, 6);

	/* An integer claiming 9 to 16 nibbles. */
	assert_int_equal(evbuffer_add(buf,
			     "\x01\x8f\xff\xff\xff\xff\xff"
			     "\xff\xff\xff",
			     10),
	    0);
	assert_int_equal(evtag_peek(buf, &tag), 1);
	assert_int_equal(evtag_payload_length(buf, &len), -1);
	assert_all_fail();
}

static void
test_length_beyond_data(void **state)
{
	u_char copy[9];
	ev_uint32_t len;

	/* Tag 1, a declared length of 0xffffffff, and 3 bytes. */
	assert_int_equal(evbuffer_add(buf,
			     "\x01\x7f\xff\xff\xff\xff"
			     "abc",
			     9),
	    0);
	assert_int_equal(evtag_payload_length(buf, &len), 0);
	assert_int_equal(len, 0xffffffff);
	/* The whole length would not fit a 32-bit count. */
	assert_int_equal(evtag_peek_length(buf, &len), -1);
	assert_all_fail();
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));

	/* A modest overstatement: one byte short. */
	evtag_marshal_string(buf, 1, "exactly");
	assert_int_equal(evtag_peek_length(buf, &len), 0);
	assert_int_equal(len, 9);
	assert_int_equal(evbuffer_remove(buf, copy, sizeof(copy)), 9);
	assert_int_equal(evbuffer_add(buf, copy, 8), 0);
	assert_all_fail();
}

static void
test_nibble_boundaries(void **state)
{
	static const ev_uint32_t edge[] = { 0xf, 0x10, 0xff, 0x100, 0xfff,
		0x1000, 0xffff, 0x10000, 0xfffff, 0x100000, 0xffffff, 0x1000000,
		0xfffffff, 0x10000000, 0xffffffff };
	size_t i;
	ev_uint32_t got;

	encode_int(buf, 0xfff);
	EXPECT(0x2f, 0xff);
	encode_int(buf, 0xffff);
	EXPECT(0x3f, 0xff, 0xf0);
	for (i = 0; i < NELEM(edge); i++) {
		/* n significant nibbles take n / 2 + 1 bytes. */
		evtag_marshal_int(buf, (ev_uint32_t)i, edge[i]);
		assert_int_equal(evtag_unmarshal_int(buf, (ev_uint32_t)i, &got),
		    0);
		assert_int_equal(got, edge[i]);
		assert_int_equal(EVBUFFER_LENGTH(buf), 0);
		/* As a length, too. */
		evtag_marshal_int(buf, edge[i], (ev_uint32_t)i);
		assert_int_equal(evtag_unmarshal_int(buf, edge[i], &got), 0);
		assert_int_equal(got, i);
	}
}

static void
test_peek_empty(void **state)
{
	struct evbuffer *fresh = evbuffer_new();
	ev_uint32_t v = 7;

	/* Never allocated: no data pointer at all. */
	assert_non_null(fresh);
	assert_null(EVBUFFER_DATA(fresh));
	assert_int_equal(evtag_peek(fresh, &v), -1);
	assert_int_equal(evtag_peek_length(fresh, &v), -1);
	assert_int_equal(evtag_payload_length(fresh, &v), -1);
	assert_int_equal(evtag_consume(fresh), -1);
	assert_int_equal(v, 7);
	evbuffer_free(fresh);
	assert_all_fail();
}

static void
test_unmarshal_string_with_nul(void **state)
{
	char *s = NULL;

	/* "admin\0x" would read as "admin": refused, nothing taken. */
	evtag_marshal(buf, 1, "admin\0x", 7);
	assert_int_equal(evtag_unmarshal_string(buf, 1, &s), -1);
	assert_null(s);
	assert_int_equal(EVBUFFER_LENGTH(buf), 9);
	assert_int_equal(evtag_consume(buf), 0);
	/* A NUL at the very end, too. */
	evtag_marshal(buf, 1, "a\0", 2);
	assert_int_equal(evtag_unmarshal_string(buf, 1, &s), -1);
	assert_int_equal(evtag_consume(buf), 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
}

static void
test_unmarshal_into_source(void **state)
{
	ev_uint32_t tag = 0;
	char big[3000];

	/* The payload goes to the end of the same buffer, whose storage
	 * may move while it is copied. */
	memset(big, 'S', sizeof(big));
	evtag_marshal(buf, 5, "abc", 3);
	evtag_marshal_int(buf, 6, 9);
	assert_int_equal(evtag_unmarshal(buf, &tag, buf), 3);
	assert_int_equal(tag, 5);
	assert_int_equal(EVBUFFER_LENGTH(buf), 3 + 3);
	assert_memory_equal(EVBUFFER_DATA(buf) + 3, "abc", 3);
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));

	evtag_marshal(buf, 7, big, sizeof(big));
	assert_int_equal(evtag_unmarshal(buf, &tag, buf), (int)sizeof(big));
	assert_int_equal(tag, 7);
	assert_int_equal(EVBUFFER_LENGTH(buf), sizeof(big));
	assert_memory_equal(EVBUFFER_DATA(buf), big, sizeof(big));
}

static void
test_truncated_payloads(void **state)
{
	struct timeval tv;
	ev_uint32_t v;

	/* Whole items whose payloads are cut inside a number. */
	evtag_marshal(buf, 1, "\x7f\xff", 2); /* 8 nibbles, 2 bytes */
	assert_int_equal(evtag_unmarshal_int(buf, 1, &v), -1);
	assert_int_equal(evtag_unmarshal_timeval(buf, 1, &tv), -1);
	assert_int_equal(evtag_consume(buf), 0);
	evtag_marshal(buf, 1, "\x01\x10", 2); /* sec, then usec cut */
	assert_int_equal(evtag_unmarshal_timeval(buf, 1, &tv), -1);
	assert_int_equal(evtag_consume(buf), 0);
	/* Nine nibbles inside an item. */
	evtag_marshal(buf, 1, "\x8f\xff\xff\xff\xff", 5);
	assert_int_equal(evtag_unmarshal_int(buf, 1, &v), -1);
	assert_int_equal(evtag_consume(buf), 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) TU_BUF_TEST(f)
		T(test_encode_int_bytes),
		T(test_marshal_bytes),
		T(test_roundtrip_int),
		T(test_roundtrip_string_fixed_timeval),
		T(test_unmarshal_peek_consume),
		T(test_wrong_tag_or_size),
		T(test_truncated_input),
		T(test_overlong_varints),
		T(test_length_beyond_data),
		T(test_nibble_boundaries),
		T(test_peek_empty),
		T(test_unmarshal_string_with_nul),
		T(test_unmarshal_into_source),
		T(test_truncated_payloads),
#undef T
	};

	evtag_init();
	return TU_RUN_ONCE("tagging", tests);
}
