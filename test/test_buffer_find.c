/*
 * test_buffer_find.c: evbuffer_find() finds the first occurrence, whatever
 * the needle, in linear time: random needles and haystacks over small
 * alphabets against a naive reference (both the search as evbuffer_find
 * runs it and its two-way part alone), periodic needles, needles at the
 * start, the end or absent, and the needles that make the 1.4 search
 * quadratic; and the line-end search of evbuffer_readline (16 bytes at a
 * time) with the end of line at every offset.
 */
#include <sys/types.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>

#include "buffer-internal.h"
#include "test_util.h"

/* The obvious search, to check the real one against. */
static const u_char *
naive(const u_char *hay, size_t n, const u_char *needle, size_t m)
{
	size_t i;

	if (m == 0 || m > n)
		return NULL;
	for (i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t bound)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ULL) >> 33) % bound;
}

/* Both searches and evbuffer_find agree with the naive one. */
static void
check(const u_char *hay, size_t n, const u_char *needle, size_t m)
{
	const u_char *want = naive(hay, n, needle, m);
	struct evbuffer *buf;

	assert_ptr_equal(ev__buffer_search(hay, n, needle, m), want);
	assert_ptr_equal(ev__buffer_two_way(hay, n, needle, m), want);
	if (n == 0)
		return;
	buf = evbuffer_new();
	assert_non_null(buf);
	assert_int_equal(evbuffer_add(buf, hay, n), 0);
	assert_ptr_equal(evbuffer_find(buf, needle, m),
	    want == NULL ? NULL : EVBUFFER_DATA(buf) + (want - hay));
	evbuffer_free(buf);
}

static void
test_random_against_naive(void **state)
{
	static const u_char alpha[] = "abcd";
	u_char hay[3000], needle[400];
	size_t n, m, i, k, start;
	int round;

	(void)state;
	for (round = 0; round < 6000; round++) {
		k = 1 + rnd(round % 3 == 0 ? 256 : 4);
		n = rnd(sizeof(hay));
		for (i = 0; i < n; i++)
			hay[i] = k > 4 ? (u_char)rnd(256) :
					 alpha[rnd((uint32_t)k)];
		m = 1 + rnd(round % 2 ? 12 : sizeof(needle));
		if (n > m && rnd(2)) {
			/* A piece of the haystack: present at least once. */
			start = rnd((uint32_t)(n - m + 1));
			memcpy(needle, hay + start, m);
		} else {
			for (i = 0; i < m; i++)
				needle[i] = k > 4 ? (u_char)rnd(256) :
						    alpha[rnd((uint32_t)k)];
		}
		check(hay, n, needle, m);
	}
}

/*
 * Long haystacks over two letters: the search hands over to two-way part
 * of the way through, and a match just after that point must be found.
 */
static void
test_random_long_haystacks(void **state)
{
	size_t n = 40000, m, i;
	u_char *hay, needle[200];
	int round;

	(void)state;
	hay = malloc(n);
	assert_non_null(hay);
	for (round = 0; round < 300; round++) {
		for (i = 0; i < n; i++)
			hay[i] = (u_char)('a' + (rnd(8) == 0));
		m = 8 + rnd(sizeof(needle) - 8);
		for (i = 0; i < m; i++)
			needle[i] = (u_char)('a' + (rnd(8) == 0));
		memcpy(hay + rnd((uint32_t)(n - m)), needle, m);
		check(hay, n, needle, m);
	}
	free(hay);
}

/* Needles made of repetitions, with a defect, in haystacks of the same. */
static void
test_periodic_needles(void **state)
{
	static const char *units[] = { "a", "ab", "aab", "abaab", "abcab" };
	u_char *hay, needle[600];
	size_t n = 20000, m, u, i, len, at, d;

	(void)state;
	hay = malloc(n);
	assert_non_null(hay);
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		len = strlen(units[u]);
		for (m = 1; m < sizeof(needle); m += 1 + m / 3) {
			for (i = 0; i < m; i++)
				needle[i] = (u_char)units[u][i % len];
			for (i = 0; i < n; i++)
				hay[i] = (u_char)units[u][i % len];
			check(hay, n, needle, m);
			/* A defect at each end and in the middle of the needle. */
			for (d = 0; d < 3; d++) {
				at = d == 0 ? 0 : d == 1 ? m / 2 : m - 1;
				needle[at] = 'z';
				check(hay, n, needle, m);
				/* The same defect once in the haystack. */
				memcpy(hay + n - m - 7, needle, m);
				check(hay, n, needle, m);
				memcpy(hay + 3, needle, m);
				check(hay, n, needle, m);
				for (i = 0; i < n; i++)
					hay[i] = (u_char)units[u][i % len];
				needle[at] = (u_char)units[u][at % len];
			}
		}
	}
	free(hay);
}

/* The needle as the whole data, at the start, at the end, or absent. */
static void
test_start_end_absent(void **state)
{
	u_char hay[5000], needle[300];
	size_t n = sizeof(hay), m;

	(void)state;
	memset(hay, 'a', n);
	for (m = 1; m <= sizeof(needle); m += 7) {
		memset(needle, 'a', m);
		needle[m - 1] = 'b';
		check(hay, n, needle, m); /* absent */
		hay[m - 1] = 'b';
		check(hay, n, needle, m);     /* at the start */
		check(hay, m, needle, m);     /* the whole data */
		check(hay, m - 1, needle, m); /* longer than it */
		hay[m - 1] = 'a';
		hay[n - 1] = 'b';
		check(hay, n, needle, m); /* at the end */
		hay[n - 1] = 'a';
		needle[0] = 'b';
		needle[m - 1] = 'a';
		hay[n - m] = 'b';
		check(hay, n, needle, m); /* at the end, "baa..." */
		hay[n - m] = 'a';
	}
	assert_null(ev__buffer_search(hay, n, needle, 0));
}

/*
 * The case that is quadratic in 1.4 and 2.1: a 4 KiB needle "aaa...ab"
 * at the end of 8 MiB of 'a', and "aaa...aba" whose compares run long.
 * Linear time takes milliseconds; quadratic, seconds to minutes.
 */
static void
test_long_needle_is_linear(void **state)
{
	size_t n = 8 << 20, m = 4096, k;
	struct evbuffer *buf;
	u_char *hay, *needle;
	int64_t start;

	(void)state;
	hay = malloc(n);
	needle = malloc(m);
	buf = evbuffer_new();
	assert_true(hay != NULL && needle != NULL && buf != NULL);
	memset(hay, 'a', n);
	memset(needle, 'a', m);
	for (k = 1; k <= 2; k++) {
		needle[m - k] = 'b';
		memcpy(hay + n - m, needle, m);
		assert_int_equal(evbuffer_add(buf, hay, n), 0);
		start = tu_now_usec();
		assert_ptr_equal(evbuffer_find(buf, needle, m),
		    EVBUFFER_DATA(buf) + n - m);
		assert_true(tu_now_usec() - start < 1000 * 1000);
		evbuffer_drain(buf, n);
		needle[m - k] = 'a';
	}
	evbuffer_free(buf);
	free(needle);
	free(hay);
}

/* A CR, an LF or both ending a line of every length up to 80 bytes. */
static void
test_line_end_at_every_offset(void **state)
{
	static const char *ends[] = { "\n", "\r", "\r\n", "\n\r" };
	struct evbuffer *buf = evbuffer_new();
	char text[100];
	size_t len, e;
	char *line;

	(void)state;
	assert_non_null(buf);
	for (e = 0; e < 4; e++) {
		for (len = 0; len <= 80; len++) {
			memset(text, 'x', len);
			/* The line, its end, and the start of the next one. */
			assert_int_equal(evbuffer_add(buf, text, len), 0);
			assert_int_equal(evbuffer_add(buf, ends[e],
					     strlen(ends[e])),
			    0);
			assert_int_equal(evbuffer_add(buf, "yyyyyyyy", 8), 0);
			line = evbuffer_readline(buf);
			assert_non_null(line);
			assert_int_equal(strlen(line), len);
			free(line);
			assert_int_equal(EVBUFFER_LENGTH(buf), 8);
			/* No end of line at all: nothing, and nothing taken. */
			assert_null(evbuffer_readline(buf));
			assert_int_equal(EVBUFFER_LENGTH(buf), 8);
			evbuffer_drain(buf, 8);
		}
	}
	evbuffer_free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_naive),
		cmocka_unit_test(test_random_long_haystacks),
		cmocka_unit_test(test_periodic_needles),
		cmocka_unit_test(test_start_end_absent),
		cmocka_unit_test(test_long_needle_is_linear),
		cmocka_unit_test(test_line_end_at_every_offset),
	};

	return TU_RUN_ONCE("buffer_find", tests);
}
