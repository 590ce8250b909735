/*
 * test_buffer.c: struct evbuffer: appending, draining, lines with every
 * EOL style, searching, callbacks, reading and writing fds, the costs the
 * benchmarks rely on, and hostile sizes (CVE-2014-6272).
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

/* The buffer under test: the shared fixture of test_util.h. */
#define buf tu_buf

/* Assert the buffer holds exactly the n bytes s, contiguously. */
static void
assert_contents(struct evbuffer *b, const void *s, size_t n)
{
	assert_int_equal(EVBUFFER_LENGTH(b), n);
	if (n > 0)
		assert_memory_equal(EVBUFFER_DATA(b), s, n);
	/* The struct's fields must agree with each other. */
	assert_true(b->buffer == b->orig_buffer + b->misalign);
	assert_true(b->misalign + b->off <= b->totallen);
}

/* Record of the calls an evbuffer callback received. */
#define MAXCALLS 16
struct cbrec {
	int calls;
	size_t old[MAXCALLS], now[MAXCALLS];
};

static void
record_cb(struct evbuffer *b, size_t oldlen, size_t newlen, void *arg)
{
	struct cbrec *r = arg;

	/* The new length must already be in place when we are told. */
	assert_int_equal(EVBUFFER_LENGTH(b), newlen);
	if (r->calls < MAXCALLS) {
		r->old[r->calls] = oldlen;
		r->now[r->calls] = newlen;
	}
	r->calls++;
}

static void
assert_call(struct cbrec *r, int i, size_t oldlen, size_t newlen)
{
	assert_true(i < r->calls);
	assert_int_equal(r->old[i], oldlen);
	assert_int_equal(r->now[i], newlen);
}

/* Append a string literal, without its NUL. */
#define ADD(b, lit) assert_int_equal(evbuffer_add(b, lit, sizeof(lit) - 1), 0)

static void
test_new_is_empty(void **state)
{
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	assert_null(buf->cb);
	assert_null(evbuffer_readline(buf));
	assert_null(evbuffer_readln(buf, NULL, EVBUFFER_EOL_ANY));
	assert_null(evbuffer_find(buf, (const u_char *)"a", 1));
	evbuffer_drain(buf, 10);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	evbuffer_free(NULL);
}

static void
test_add_and_remove(void **state)
{
	char out[16];

	assert_int_equal(evbuffer_add(buf, "hello", 5), 0);
	assert_int_equal(evbuffer_add(buf, " world", 6), 0);
	assert_int_equal(evbuffer_add(buf, NULL, 0), 0);
	assert_contents(buf, "hello world", 11);

	assert_int_equal(evbuffer_remove(buf, out, 5), 5);
	assert_memory_equal(out, "hello", 5);
	assert_contents(buf, " world", 6);

	/* Asking for more than there is returns what there is. */
	memset(out, 0, sizeof(out));
	assert_int_equal(evbuffer_remove(buf, out, sizeof(out)), 6);
	assert_string_equal(out, " world");
	assert_contents(buf, "", 0);
	assert_int_equal(evbuffer_remove(buf, out, sizeof(out)), 0);
}

static void
test_add_grows_contiguously(void **state)
{
	size_t total = 1024 * 1024, i;
	u_char chunk[1000];
	u_char *expect = malloc(total);

	assert_non_null(expect);
	for (i = 0; i < total; i++)
		expect[i] = (u_char)(i * 7 + (i >> 8));
	for (i = 0; i < total; i += sizeof(chunk)) {
		size_t n = total - i;

		if (n > sizeof(chunk))
			n = sizeof(chunk);
		memcpy(chunk, expect + i, n);
		assert_int_equal(evbuffer_add(buf, chunk, n), 0);
	}
	assert_contents(buf, expect, total);
	/* Doubling growth: never more than twice what is needed. */
	assert_true(buf->totallen < 2 * total + 256);
	free(expect);
}

static void
test_drain_is_constant_time(void **state)
{
	u_char *orig;
	char data[1000];

	memset(data, 'x', sizeof(data));
	data[500] = 'y';
	assert_int_equal(evbuffer_add(buf, data, sizeof(data)), 0);
	orig = buf->orig_buffer;

	/* Draining moves the start; nothing is copied or reallocated. */
	evbuffer_drain(buf, 500);
	assert_ptr_equal(buf->orig_buffer, orig);
	assert_ptr_equal(buf->buffer, orig + 500);
	assert_int_equal(buf->misalign, 500);
	assert_contents(buf, data + 500, 500);

	/* Draining more than there is empties it and resets the start. */
	evbuffer_drain(buf, 100000);
	assert_int_equal(buf->misalign, 0);
	assert_ptr_equal(buf->buffer, buf->orig_buffer);
	assert_contents(buf, "", 0);
	evbuffer_drain(buf, SIZE_MAX);
	assert_contents(buf, "", 0);
}

static void
test_expand_reserves_space(void **state)
{
	u_char *orig;
	char data[5000];

	memset(data, 'a', sizeof(data));
	assert_int_equal(evbuffer_add(buf, "x", 1), 0);
	assert_int_equal(evbuffer_expand(buf, sizeof(data)), 0);
	assert_true(buf->totallen - buf->misalign - buf->off >= sizeof(data));
	orig = buf->orig_buffer;
	/* The room promised is there: no reallocation. */
	assert_int_equal(evbuffer_add(buf, data, sizeof(data)), 0);
	assert_ptr_equal(buf->orig_buffer, orig);
	assert_int_equal(EVBUFFER_LENGTH(buf), sizeof(data) + 1);
	assert_int_equal(evbuffer_expand(buf, 0), 0);
}

static void
test_realign_is_lazy(void **state)
{
	char data[4096];
	u_char *orig;
	size_t i;

	memset(data, 'z', sizeof(data));
	assert_int_equal(evbuffer_expand(buf, 8192), 0);
	assert_int_equal(evbuffer_add(buf, data, sizeof(data)), 0);
	orig = buf->orig_buffer;
	evbuffer_drain(buf, 100);
	/* Room at the tail: appending leaves the data where it is. */
	assert_int_equal(evbuffer_add(buf, "abc", 3), 0);
	assert_int_equal(buf->misalign, 100);
	assert_ptr_equal(buf->orig_buffer, orig);

	/* A long queue that is drained and appended one byte at a time. */
	for (i = 0; i < 2000000; i++) {
		evbuffer_drain(buf, 1);
		assert_int_equal(evbuffer_add(buf, "q", 1), 0);
	}
	assert_int_equal(EVBUFFER_LENGTH(buf), sizeof(data) - 100 + 3);
	assert_true(buf->totallen <= 4 * 8192);
	assert_int_equal(((char *)EVBUFFER_DATA(buf))[EVBUFFER_LENGTH(buf) - 1],
	    'q');
}

static void
test_add_from_itself(void **state)
{
	size_t i, len;
	char copy[10];

	assert_int_equal(evbuffer_add(buf, "0123456789", 10), 0);
	/* Each append forces a reallocation that moves the source. */
	for (i = 0; i < 12; i++) {
		len = EVBUFFER_LENGTH(buf);
		assert_int_equal(evbuffer_add(buf, EVBUFFER_DATA(buf), len), 0);
		assert_int_equal(EVBUFFER_LENGTH(buf), 2 * len);
		assert_memory_equal(EVBUFFER_DATA(buf) + len,
		    EVBUFFER_DATA(buf), len);
	}
	assert_memory_equal(EVBUFFER_DATA(buf), "0123456789", 10);

	/* A full allocation, drained: appending slides the source away. */
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	while (EVBUFFER_LENGTH(buf) < buf->totallen)
		assert_int_equal(evbuffer_add(buf, "0123456789",
				     buf->totallen - EVBUFFER_LENGTH(buf) < 10 ?
					 buf->totallen - EVBUFFER_LENGTH(buf) :
					 10),
		    0);
	len = EVBUFFER_LENGTH(buf);
	evbuffer_drain(buf, len - 10);
	assert_int_equal(buf->misalign + buf->off, buf->totallen);
	memcpy(copy, EVBUFFER_DATA(buf), 10);
	assert_int_equal(evbuffer_add(buf, EVBUFFER_DATA(buf) + 5, 5), 0);
	assert_int_equal(buf->misalign, 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 15);
	assert_memory_equal(EVBUFFER_DATA(buf), copy, 10);
	assert_memory_equal(EVBUFFER_DATA(buf) + 10, copy + 5, 5);
}

static void
test_add_buffer(void **state)
{
	struct evbuffer *other = evbuffer_new();
	struct cbrec rin = { 0 }, rout = { 0 };

	assert_non_null(other);
	evbuffer_setcb(buf, record_cb, &rout);
	evbuffer_setcb(other, record_cb, &rin);

	/* Into an empty buffer (storage is exchanged). */
	assert_int_equal(evbuffer_add(other, "first", 5), 0);
	rin.calls = 0;
	assert_int_equal(evbuffer_add_buffer(buf, other), 0);
	assert_contents(buf, "first", 5);
	assert_contents(other, "", 0);
	assert_int_equal(rin.calls, 1);
	assert_call(&rin, 0, 5, 0);
	assert_int_equal(rout.calls, 1);
	assert_call(&rout, 0, 0, 5);

	/* Into a non-empty one (appended). */
	assert_int_equal(evbuffer_add(other, " second", 7), 0);
	rin.calls = rout.calls = 0;
	assert_int_equal(evbuffer_add_buffer(buf, other), 0);
	assert_contents(buf, "first second", 12);
	assert_contents(other, "", 0);
	assert_call(&rin, 0, 7, 0);
	assert_call(&rout, 0, 5, 12);

	/* Nothing to move: nothing happens. */
	rin.calls = rout.calls = 0;
	assert_int_equal(evbuffer_add_buffer(buf, other), 0);
	assert_int_equal(rin.calls + rout.calls, 0);

	/* A buffer cannot be moved into itself. */
	assert_int_equal(evbuffer_add_buffer(buf, buf), -1);
	assert_contents(buf, "first second", 12);

	/* The exchanged storage is still usable by the source. */
	evbuffer_setcb(other, NULL, NULL);
	assert_int_equal(evbuffer_add(other, "again", 5), 0);
	assert_contents(other, "again", 5);
	evbuffer_free(other);
}

static int
add_vprintf_wrapper(struct evbuffer *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

static void
test_add_printf(void **state)
{
	char big[3000];
	struct cbrec r = { 0 };

	assert_int_equal(evbuffer_add_printf(buf, "%d-%s", 42, "x"), 4);
	assert_contents(buf, "42-x", 4);
	assert_int_equal(evbuffer_add_printf(buf, "%s", ""), 0);
	assert_contents(buf, "42-x", 4);

	/* Longer than the space at hand: the buffer grows once. */
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	evbuffer_setcb(buf, record_cb, &r);
	assert_int_equal(add_vprintf_wrapper(buf, "[%s]", big),
	    (int)sizeof(big) + 1);
	assert_int_equal(EVBUFFER_LENGTH(buf), 4 + sizeof(big) + 1);
	assert_memory_equal(EVBUFFER_DATA(buf) + 5, big, sizeof(big) - 1);
	assert_int_equal(r.calls, 1);
	assert_call(&r, 0, 4, 4 + sizeof(big) + 1);
}

static void
test_readline_1_4(void **state)
{
	char *line;

	/* Any CR or LF ends a line; one following CR/LF of the other kind
	 * belongs to the same end; a repeat of the same kind is a new line. */
	ADD(buf, "a\nb\r\nc\n\rd\re\r\rf\n\ng");
	line = evbuffer_readline(buf);
	assert_string_equal(line, "a");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "b");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "c");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "d");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "e");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "f");
	free(line);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "");
	free(line);
	/* No end yet: nothing is taken. */
	assert_null(evbuffer_readline(buf));
	assert_contents(buf, "g", 1);

	/* A CR at the very end is taken as the whole end, as 1.4 did. */
	assert_int_equal(evbuffer_add(buf, "h\r", 2), 0);
	line = evbuffer_readline(buf);
	assert_string_equal(line, "gh");
	free(line);
	assert_contents(buf, "", 0);
}

/* Read one line with style and check it and its length. */
static void
expect_line(enum evbuffer_eol_style style, const char *want, size_t wantlen)
{
	size_t n = 12345;
	char *line = evbuffer_readln(buf, &n, style);

	if (want == NULL) {
		assert_null(line);
		assert_int_equal(n, 0);
		return;
	}
	assert_non_null(line);
	assert_int_equal(n, wantlen);
	assert_memory_equal(line, want, wantlen);
	assert_int_equal(line[wantlen], '\0');
	free(line);
}

static void
test_readln_any(void **state)
{
	ADD(buf, "one\r\n\r\n\ntwo\rthree\n");
	/* A whole run of CR and LF is one end: blank lines vanish. */
	expect_line(EVBUFFER_EOL_ANY, "one", 3);
	expect_line(EVBUFFER_EOL_ANY, "two", 3);
	expect_line(EVBUFFER_EOL_ANY, "three", 5);
	expect_line(EVBUFFER_EOL_ANY, NULL, 0);
	assert_contents(buf, "", 0);
	assert_int_equal(evbuffer_add(buf, "\nx", 2), 0);
	expect_line(EVBUFFER_EOL_ANY, "", 0);
	expect_line(EVBUFFER_EOL_ANY, NULL, 0);
	assert_contents(buf, "x", 1);
}

static void
test_readln_crlf(void **state)
{
	ADD(buf, "a\r\nb\nc\r\r\nd\r");
	expect_line(EVBUFFER_EOL_CRLF, "a", 1);
	expect_line(EVBUFFER_EOL_CRLF, "b", 1);
	/* Only the CR right before the LF belongs to the end. */
	expect_line(EVBUFFER_EOL_CRLF, "c\r", 2);
	expect_line(EVBUFFER_EOL_CRLF, NULL, 0);
	assert_contents(buf, "d\r", 2);
}

static void
test_readln_crlf_strict(void **state)
{
	ADD(buf, "a\nb\rc\r\nd\r\r\ne\r");
	/* Lone LFs and CRs are data. */
	expect_line(EVBUFFER_EOL_CRLF_STRICT, "a\nb\rc", 5);
	expect_line(EVBUFFER_EOL_CRLF_STRICT, "d\r", 2);
	/* A CR at the end may be the start of an end still to come. */
	expect_line(EVBUFFER_EOL_CRLF_STRICT, NULL, 0);
	assert_contents(buf, "e\r", 2);
	assert_int_equal(evbuffer_add(buf, "\n", 1), 0);
	expect_line(EVBUFFER_EOL_CRLF_STRICT, "e", 1);
	assert_contents(buf, "", 0);
}

static void
test_readln_lf(void **state)
{
	assert_int_equal(evbuffer_add(buf, "a\r\n\nb\rc", 7), 0);
	expect_line(EVBUFFER_EOL_LF, "a\r", 2);
	expect_line(EVBUFFER_EOL_LF, "", 0);
	expect_line(EVBUFFER_EOL_LF, NULL, 0);
	assert_contents(buf, "b\rc", 3);
	/* An unknown style finds nothing and takes nothing. */
	expect_line((enum evbuffer_eol_style)42, NULL, 0);
	assert_contents(buf, "b\rc", 3);
}

static void
test_readln_binary_and_split(void **state)
{
	/* The end of line arrives in one or two pieces. */
	static const struct {
		enum evbuffer_eol_style style;
		const char *eol1, *eol2;
	} cases[] = {
		{ EVBUFFER_EOL_ANY, "\r", "" },
		{ EVBUFFER_EOL_CRLF, "\r", "\n" },
		{ EVBUFFER_EOL_CRLF_STRICT, "\r", "\n" },
		{ EVBUFFER_EOL_LF, "\n", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A line arriving in pieces, with a NUL inside it. */
		assert_int_equal(evbuffer_add(buf, "he", 2), 0);
		expect_line(cases[i].style, NULL, 0);
		ADD(buf, "l\0lo");
		expect_line(cases[i].style, NULL, 0);
		assert_int_equal(evbuffer_add(buf, cases[i].eol1, 1), 0);
		if (cases[i].eol2[0] != '\0') {
			expect_line(cases[i].style, NULL, 0);
			assert_int_equal(evbuffer_add(buf, cases[i].eol2, 1),
			    0);
		}
		expect_line(cases[i].style, "hel\0lo", 6);
		assert_contents(buf, "", 0);
	}
	/* readln without n_read_out. */
	assert_int_equal(evbuffer_add(buf, "x\n", 2), 0);
	free(evbuffer_readln(buf, NULL, EVBUFFER_EOL_LF));
	assert_contents(buf, "", 0);
}

static void
test_readline_many_lines_is_linear(void **state)
{
	size_t nlines = 200000, i, got = 0;
	int64_t start;
	char *line;

	for (i = 0; i < nlines; i++)
		assert_int_equal(evbuffer_add(buf, "line\n", 5), 0);
	start = tu_now_usec();
	while ((line = evbuffer_readln(buf, NULL, EVBUFFER_EOL_LF)) != NULL) {
		got++;
		free(line);
	}
	assert_int_equal(got, nlines);

	/* Lines ended only by CR: the scan for an LF must not run ahead. */
	for (i = 0; i < nlines; i++)
		assert_int_equal(evbuffer_add(buf, "line\r", 5), 0);
	while ((line = evbuffer_readline(buf)) != NULL) {
		got++;
		free(line);
	}
	assert_int_equal(got, 2 * nlines);
	/* Quadratic behaviour would take minutes; linear takes ms. */
	assert_true(tu_now_usec() - start < 5 * 1000 * 1000);
}

static void
test_find(void **state)
{
	const u_char *data;

	assert_int_equal(evbuffer_add(buf, "abcabdab", 8), 0);
	data = EVBUFFER_DATA(buf);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"abd", 3),
	    data + 3);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"a", 1), data);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"ab", 2), data);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"dab", 3),
	    data + 5);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"abcabdab", 8),
	    data);
	/* A prefix of the needle at the very end is not a match. */
	assert_null(evbuffer_find(buf, (const u_char *)"abx", 3));
	assert_null(evbuffer_find(buf, (const u_char *)"bx", 2));
	/* Hostile: empty needle, needle longer than the data. */
	assert_null(evbuffer_find(buf, (const u_char *)"", 0));
	assert_null(evbuffer_find(buf, (const u_char *)"abcabdabX", 9));
	/* Matches are in the live data, not the drained front. */
	evbuffer_drain(buf, 4);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"ab", 2),
	    EVBUFFER_DATA(buf) + 2);
}

static void
test_find_needle_at_buffer_end(void **state)
{
	/* A buffer whose data ends exactly at the allocation's end. */
	char data[256];

	memset(data, 'a', sizeof(data));
	data[255] = 'b';
	assert_int_equal(evbuffer_add(buf, data, sizeof(data)), 0);
	assert_int_equal(buf->totallen, 256);
	assert_ptr_equal(evbuffer_find(buf, (const u_char *)"ab", 2),
	    EVBUFFER_DATA(buf) + 254);
	assert_null(evbuffer_find(buf, (const u_char *)"bb", 2));
	assert_null(evbuffer_find(buf, (const u_char *)"b\0", 2));
}

static void
test_callbacks_on_every_change(void **state)
{
	struct cbrec r = { 0 };
	char out[4];

	evbuffer_setcb(buf, record_cb, &r);
	assert_ptr_equal(buf->cbarg, &r);
	assert_int_equal(evbuffer_add(buf, "abcdef", 6), 0);
	evbuffer_drain(buf, 1);
	assert_int_equal(evbuffer_remove(buf, out, 2), 2);
	assert_int_equal(evbuffer_add_printf(buf, "%d", 12), 2);
	free(evbuffer_readline(buf)); /* no line: no change */
	assert_int_equal(evbuffer_add(buf, "\n", 1), 0);
	free(evbuffer_readln(buf, NULL, EVBUFFER_EOL_LF));
	assert_int_equal(r.calls, 6);
	assert_call(&r, 0, 0, 6);
	assert_call(&r, 1, 6, 5);
	assert_call(&r, 2, 5, 3);
	assert_call(&r, 3, 3, 5);
	assert_call(&r, 4, 5, 6);
	assert_call(&r, 5, 6, 0);

	/* No change, no call. */
	evbuffer_drain(buf, 0);
	evbuffer_drain(buf, 5);
	assert_int_equal(evbuffer_add(buf, "", 0), 0);
	assert_int_equal(evbuffer_remove(buf, out, 4), 0);
	assert_int_equal(r.calls, 6);

	/* Removing the callback. */
	evbuffer_setcb(buf, NULL, NULL);
	assert_int_equal(evbuffer_add(buf, "x", 1), 0);
	assert_int_equal(r.calls, 6);
}

/* A callback that changes its own buffer, as bufferevents do. */
static void
reentrant_cb(struct evbuffer *b, size_t oldlen, size_t newlen, void *arg)
{
	int *calls = arg;

	(*calls)++;
	evbuffer_setcb(b, NULL, NULL);
	if (newlen > 3)
		evbuffer_drain(b, newlen - 3);
}

static void
test_callback_may_change_buffer(void **state)
{
	int calls = 0;

	evbuffer_setcb(buf, reentrant_cb, &calls);
	assert_int_equal(evbuffer_add(buf, "abcdef", 6), 0);
	assert_int_equal(calls, 1);
	assert_contents(buf, "def", 3);
}

/* Bytes waiting unread in a socket. */
static int
pending_bytes_of(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static void
test_read_and_write_fd(void **state)
{
	struct evbuffer *out;
	int fds[2];
	char data[10000];
	size_t i;
	int n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i % 251);
	tu_socketpair(fds);

	/* Nothing to read yet. */
	errno = 0;
	assert_int_equal(evbuffer_read(buf, fds[1], -1), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

	out = evbuffer_new();
	assert_non_null(out);
	assert_int_equal(evbuffer_add(out, data, sizeof(data)), 0);
	assert_int_equal(evbuffer_write(out, fds[0]), (int)sizeof(data));
	assert_int_equal(EVBUFFER_LENGTH(out), 0);
	/* Writing nothing writes nothing. */
	assert_int_equal(evbuffer_write(out, fds[0]), 0);

	/* A limit is honoured exactly. */
	assert_int_equal(evbuffer_read(buf, fds[1], 10), 10);
	assert_int_equal(evbuffer_read(buf, fds[1], 0), 0);
	while (EVBUFFER_LENGTH(buf) < sizeof(data)) {
		n = evbuffer_read(buf, fds[1], -1);
		assert_true(n > 0);
	}
	assert_contents(buf, data, sizeof(data));

	/* EOF. */
	close(fds[0]);
	assert_int_equal(evbuffer_read(buf, fds[1], -1), 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), sizeof(data));
	close(fds[1]);

	/* Through a pipe, which is not a socket. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(evbuffer_add(out, "pipe", 4), 0);
	assert_int_equal(evbuffer_write(out, fds[1]), 4);
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	assert_int_equal(evbuffer_read(buf, fds[0], -1), 4);
	assert_contents(buf, "pipe", 4);
	close(fds[0]);
	close(fds[1]);

	/* Bad fd. */
	assert_int_equal(evbuffer_add(out, "x", 1), 0);
	assert_int_equal(evbuffer_write(out, -1), -1);
	assert_int_equal(EVBUFFER_LENGTH(out), 1);
	assert_int_equal(evbuffer_read(buf, -1, -1), -1);
	evbuffer_free(out);
}

static void
test_read_is_capped(void **state)
{
	int fds[2], sz = 1 << 20;
	char *data = calloc(1, 200000);
	ssize_t n, total = 0;

	assert_non_null(data);
	tu_socketpair(fds);
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	while (total < 200000 && (n = write(fds[0], data, 200000 - total)) > 0)
		total += n;
	assert_true(total > 8192);

	/* A fresh buffer takes one modest bite, not all that waits... */
	n = evbuffer_read(buf, fds[1], -1);
	assert_int_equal(n, 4096);
	/* ...and later bites grow with the buffer. */
	n = evbuffer_read(buf, fds[1], -1);
	assert_true(n > 4096);
	assert_true((size_t)n <= 4 * buf->totallen);
	close(fds[0]);
	close(fds[1]);
	free(data);
}

static int sigpipes;

static void
on_sigpipe(int sig)
{
	sigpipes++;
}

static void
test_write_to_closed_peer(void **state)
{
	int fds[2];
	void (*old)(int);

	tu_socketpair(fds);
	close(fds[1]);
	old = signal(SIGPIPE, on_sigpipe);
	sigpipes = 0;
	assert_int_equal(evbuffer_add(buf, "data", 4), 0);
	errno = 0;
	assert_int_equal(evbuffer_write(buf, fds[0]), -1);
	assert_int_equal(errno, EPIPE);
	/* Reported as an error, not as a signal that kills the program. */
	assert_int_equal(sigpipes, 0);
	assert_int_equal(EVBUFFER_LENGTH(buf), 4);
	signal(SIGPIPE, old);
	close(fds[0]);
}

/*
 * A struct as a corrupt or hostile caller could hand us: lengths near
 * SIZE_MAX but (consistently) no tail space, so nothing may be touched.
 */
static void
make_huge(struct evbuffer *b, u_char *mem, size_t off)
{
	memset(b, 0, sizeof(*b));
	b->buffer = b->orig_buffer = mem;
	b->misalign = 0;
	b->off = off;
	b->totallen = off + 2;
}

static void
assert_huge_unchanged(struct evbuffer *b, u_char *mem, size_t off)
{
	assert_ptr_equal(b->buffer, mem);
	assert_ptr_equal(b->orig_buffer, mem);
	assert_int_equal(b->misalign, 0);
	assert_int_equal(b->off, off);
	assert_int_equal(b->totallen, off + 2);
}

static void
test_hostile_sizes(void **state)
{
	struct evbuffer huge;
	u_char mem[16];
	size_t off = SIZE_MAX - 10;
	struct cbrec r = { 0 };
	char data[64];

	memset(data, 'h', sizeof(data));
	/* A real buffer: absurd sizes are refused, nothing changes. */
	assert_int_equal(evbuffer_add(buf, "keep", 4), 0);
	evbuffer_setcb(buf, record_cb, &r);
	assert_int_equal(evbuffer_expand(buf, SIZE_MAX), -1);
	assert_int_equal(evbuffer_expand(buf, SIZE_MAX - 3), -1);
	assert_int_equal(evbuffer_expand(buf, SIZE_MAX / 2 + 1), -1);
	assert_int_equal(evbuffer_add(buf, data, SIZE_MAX - 2), -1);
	assert_contents(buf, "keep", 4);
	assert_int_equal(r.calls, 0);

	/* Lengths near SIZE_MAX: the sums would wrap; 1.4's did. */
	make_huge(&huge, mem, off);
	assert_int_equal(evbuffer_expand(&huge, 64), -1);
	assert_huge_unchanged(&huge, mem, off);
	assert_int_equal(evbuffer_expand(&huge, SIZE_MAX), -1);
	assert_huge_unchanged(&huge, mem, off);
	assert_int_equal(evbuffer_add(&huge, data, sizeof(data)), -1);
	assert_huge_unchanged(&huge, mem, off);
	assert_int_equal(evbuffer_add_printf(&huge, "%s", "overflow"), -1);
	assert_huge_unchanged(&huge, mem, off);
	assert_int_equal(evbuffer_add_printf(&huge, "%64s", "x"), -1);
	assert_huge_unchanged(&huge, mem, off);
	assert_int_equal(evbuffer_add_buffer(&huge, buf), -1);
	assert_huge_unchanged(&huge, mem, off);
	assert_contents(buf, "keep", 4);
	assert_int_equal(r.calls, 0);
}

static void
test_remove_and_drain_beyond_length(void **state)
{
	char out[64];

	memset(out, 'u', sizeof(out));
	assert_int_equal(evbuffer_add(buf, "abc", 3), 0);
	evbuffer_drain(buf, 1);
	assert_int_equal(evbuffer_remove(buf, out, SIZE_MAX), 2);
	assert_memory_equal(out, "bc", 2);
	/* Nothing past the data was copied. */
	assert_int_equal(out[2], 'u');
	assert_contents(buf, "", 0);
	assert_int_equal(evbuffer_add(buf, "abc", 3), 0);
	evbuffer_drain(buf, SIZE_MAX);
	assert_contents(buf, "", 0);
}

/* Free space after the data. */
static size_t
room_of(const struct evbuffer *b)
{
	return b->totallen - b->misalign - b->off;
}

/* Byte i of the pattern the read tests send. */
#define PAT(i) ((u_char)((i)*7 + ((i) >> 9)))

/* A regular file of n pattern bytes, positioned at its start. */
static FILE *
pattern_file(size_t n)
{
	FILE *f = tmpfile();
	size_t i;

	assert_non_null(f);
	for (i = 0; i < n; i++)
		assert_int_not_equal(putc(PAT(i), f), EOF);
	assert_int_equal(fflush(f), 0);
	assert_int_equal(lseek(fileno(f), 0, SEEK_SET), 0);
	return f;
}

/* Send n pattern bytes, starting at pattern index from, into fd. */
static void
send_pattern(int fd, size_t from, size_t n)
{
	u_char chunk[4096];
	size_t i, k;

	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		for (i = 0; i < k; i++)
			chunk[i] = PAT(from + i);
		assert_int_equal(write(fd, chunk, k), (ssize_t)k);
		from += k;
		n -= k;
	}
}

/* The buffer holds head (hlen bytes) then pattern bytes [0, n). */
static void
assert_head_and_pattern(const char *head, size_t hlen, size_t n)
{
	const u_char *p = EVBUFFER_DATA(buf);
	size_t i;

	assert_int_equal(EVBUFFER_LENGTH(buf), hlen + n);
	assert_memory_equal(p, head, hlen);
	for (i = 0; i < n; i++)
		if (p[hlen + i] != PAT(i))
			fail_msg("byte %zu: %02x, want %02x", i, p[hlen + i],
			    PAT(i));
}

/*
 * The direct read path: a buffer with room reads straight into it, and
 * only a read that fills the room asks the kernel what else waits.
 */
static void
test_read_direct_path(void **state)
{
	int fds[2];
	size_t r, got, sent;
	struct cbrec rec = { 0 };

	tu_socketpair(fds);
	ADD(buf, "head");
	assert_int_equal(evbuffer_expand(buf, 8192), 0);
	r = room_of(buf);
	assert_true(r >= 8192);
	evbuffer_setcb(buf, record_cb, &rec);

	/* Nothing waiting: EAGAIN, nothing changed, no callback. */
	errno = 0;
	assert_int_equal(evbuffer_read(buf, fds[1], -1), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_contents(buf, "head", 4);
	assert_int_equal(rec.calls, 0);

	/* More waits than there is room for. */
	sent = 2 * r + 300;
	send_pattern(fds[0], 0, sent);

	/* howmuch smaller than the room: exactly howmuch. */
	assert_int_equal(evbuffer_read(buf, fds[1], 100), 100);
	assert_int_equal(rec.calls, 1);
	assert_call(&rec, 0, 4, 104);
	got = 100;
	assert_head_and_pattern("head", 4, got);

	/* howmuch equal to the room: exactly the room, nothing more. */
	r = room_of(buf);
	assert_int_equal(evbuffer_read(buf, fds[1], (int)r), (int)r);
	got += r;
	assert_int_equal(room_of(buf), 0);
	assert_head_and_pattern("head", 4, got);

	/* howmuch larger than the room: more than the room, not more
	 * than howmuch. */
	evbuffer_drain(buf, 4);
	assert_int_equal(evbuffer_expand(buf, 5000), 0);
	r = room_of(buf);
	assert_int_equal(evbuffer_read(buf, fds[1], (int)r + 50), (int)r + 50);
	got += r + 50;
	assert_head_and_pattern("", 0, got);

	/* A read that exactly fills the room with more waiting: the rest
	 * comes in the same call. */
	evbuffer_setcb(buf, NULL, NULL);
	assert_int_equal(evbuffer_expand(buf, 8192), 0);
	r = room_of(buf);
	assert_int_equal(pending_bytes_of(fds[1]), (int)(sent - got));
	if (sent - got < r + 1000) {
		send_pattern(fds[0], sent, r + 1000 - (sent - got));
		sent = got + r + 1000;
	}
	assert_int_equal(evbuffer_read(buf, fds[1], -1), (int)(sent - got));
	assert_head_and_pattern("", 0, sent);
	assert_int_equal(pending_bytes_of(fds[1]), 0);

	/* EOF through the direct path. */
	assert_true(room_of(buf) >= 4096);
	close(fds[0]);
	assert_int_equal(evbuffer_read(buf, fds[1], -1), 0);
	close(fds[1]);
}

/* A read that exactly fills the room, and nothing else waits. */
static void
test_read_direct_exact_fill(void **state)
{
	FILE *f;
	size_t r;

	assert_int_equal(evbuffer_expand(buf, 8192), 0);
	r = room_of(buf);
	f = pattern_file(r);
	assert_int_equal(evbuffer_read(buf, fileno(f), -1), (int)r);
	assert_head_and_pattern("", 0, r);
	assert_int_equal(evbuffer_read(buf, fileno(f), -1), 0);
	fclose(f);

	/* Room, then more than the room waiting: all of it. */
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	r = room_of(buf);
	f = pattern_file(r + 100);
	assert_int_equal(evbuffer_read(buf, fileno(f), -1), (int)r + 100);
	assert_head_and_pattern("", 0, r + 100);
	fclose(f);
}

/* However much waits and however large the room, one read takes 1 MiB. */
static void
test_read_cap_one_mib(void **state)
{
	const size_t mib = 1024 * 1024;
	FILE *f = pattern_file(5 * mib);
	int fd = fileno(f);

	/* A room larger than the cap. */
	assert_int_equal(evbuffer_expand(buf, 2 * mib), 0);
	assert_int_equal(evbuffer_read(buf, fd, -1), (int)mib);
	assert_head_and_pattern("", 0, mib);

	/* A room smaller than the cap, filled: the rest up to the cap. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	evbuffer_free(buf);
	buf = evbuffer_new();
	assert_non_null(buf);
	assert_int_equal(evbuffer_expand(buf, 300 * 1024), 0);
	assert_true(room_of(buf) < mib);
	assert_int_equal(evbuffer_read(buf, fd, -1), (int)mib);
	assert_head_and_pattern("", 0, mib);

	/* An explicit howmuch above the cap is capped too. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	assert_int_equal(evbuffer_expand(buf, 4 * mib), 0);
	assert_int_equal(evbuffer_read(buf, fd, (int)(3 * mib)), (int)mib);
	assert_head_and_pattern("", 0, mib);
	fclose(f);
}

/* A callback that empties the buffer it is told about. */
static void
drain_all_cb(struct evbuffer *b, size_t oldlen, size_t newlen, void *arg)
{
	size_t *seen = arg;

	*seen += newlen > oldlen ? newlen - oldlen : 0;
	evbuffer_drain(b, EVBUFFER_LENGTH(b));
}

static void
test_read_result_with_draining_callback(void **state)
{
	int fds[2];
	size_t seen = 0;

	tu_socketpair(fds);
	evbuffer_setcb(buf, drain_all_cb, &seen);
	/* Through the small-buffer path, then through the direct path. */
	assert_int_equal(write(fds[0], "12345", 5), 5);
	assert_int_equal(evbuffer_read(buf, fds[1], -1), 5);
	assert_int_equal(seen, 5);
	assert_int_equal(evbuffer_expand(buf, 8192), 0);
	assert_int_equal(write(fds[0], "678", 3), 3);
	assert_int_equal(evbuffer_read(buf, fds[1], -1), 3);
	assert_int_equal(seen, 8);
	assert_contents(buf, "", 0);
	close(fds[0]);
	close(fds[1]);
}

/* A callback that frees the buffer it is told about. */
static void
free_cb(struct evbuffer *b, size_t oldlen, size_t newlen, void *arg)
{
	(*(int *)arg)++;
	evbuffer_free(b);
}

/* A buffer holding "line\nmore" whose callback frees it. */
static struct evbuffer *
doomed(int *calls)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	assert_int_equal(evbuffer_add(b, "line\nmore", 9), 0);
	evbuffer_setcb(b, free_cb, calls);
	return b;
}

static void
test_callback_may_free_buffer(void **state)
{
	struct evbuffer *other = evbuffer_new();
	int calls = 0, fds[2], i;
	char out[4], sink[16];

	assert_non_null(other);
	tu_socketpair(fds);
	assert_int_equal(evbuffer_add(doomed(&calls), "x", 1), 0);
	evbuffer_drain(doomed(&calls), 2);
	assert_int_equal(evbuffer_remove(doomed(&calls), out, 3), 3);
	free(evbuffer_readline(doomed(&calls)));
	free(evbuffer_readln(doomed(&calls), NULL, EVBUFFER_EOL_LF));
	assert_int_equal(evbuffer_add_printf(doomed(&calls), "%d", 7), 1);
	assert_int_equal(evbuffer_write(doomed(&calls), fds[0]), 9);
	assert_int_equal(read(fds[1], sink, sizeof(sink)), 9);
	assert_int_equal(write(fds[0], "abc", 3), 3);
	assert_int_equal(evbuffer_read(doomed(&calls), fds[1], -1), 3);
	assert_int_equal(write(fds[0], "abc", 3), 3);
	{
		struct evbuffer *b = doomed(&calls);

		assert_int_equal(evbuffer_expand(b, 8192), 0);
		assert_int_equal(evbuffer_read(b, fds[1], -1), 3);
	}
	/* Moving out of a buffer whose callback frees it, both ways. */
	for (i = 0; i < 2; i++) {
		evbuffer_drain(other, EVBUFFER_LENGTH(other));
		if (i == 1)
			ADD(other, "x");
		assert_int_equal(evbuffer_add_buffer(other, doomed(&calls)), 0);
		assert_int_equal(EVBUFFER_LENGTH(other), 9 + (size_t)i);
	}
	/* Moving into a buffer whose callback frees it, both ways. */
	for (i = 0; i < 2; i++) {
		struct evbuffer *b = evbuffer_new();

		assert_non_null(b);
		if (i == 1)
			ADD(b, "w");
		evbuffer_setcb(b, free_cb, &calls);
		ADD(other, "yz");
		assert_int_equal(evbuffer_add_buffer(b, other), 0);
		assert_int_equal(EVBUFFER_LENGTH(other), 0);
	}
	assert_int_equal(calls, 13);
	evbuffer_free(other);
	close(fds[0]);
	close(fds[1]);
}

static void
test_printf_at_room_boundaries(void **state)
{
	char text[257];
	size_t len, r;
	int n;

	memset(text, 'p', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	/* Output one shorter than, equal to and longer than the room
	 * (the room must also hold vsnprintf's NUL). */
	for (len = 60; len < 70; len++) {
		evbuffer_free(buf);
		buf = evbuffer_new();
		assert_non_null(buf);
		assert_int_equal(evbuffer_expand(buf, 256), 0);
		assert_int_equal(evbuffer_add(buf, text, buf->totallen - 64),
		    0);
		r = room_of(buf);
		assert_int_equal(r, 64);
		n = evbuffer_add_printf(buf, "%.*s", (int)len, text);
		assert_int_equal(n, (int)len);
		assert_int_equal(EVBUFFER_LENGTH(buf), 192 + len);
		assert_memory_equal(EVBUFFER_DATA(buf) + 192, text, len);
		assert_true(buf->misalign + buf->off <= buf->totallen);
	}
}

static void
test_readln_cr_at_end(void **state)
{
	char *line;

	/* ANY and readline (1.4): a CR ends the line at once, so an LF
	 * arriving later is an empty line of its own. */
	ADD(buf, "abc\r");
	expect_line(EVBUFFER_EOL_ANY, "abc", 3);
	ADD(buf, "\ndef\n");
	expect_line(EVBUFFER_EOL_ANY, "", 0);
	expect_line(EVBUFFER_EOL_ANY, "def", 3);
	ADD(buf, "ghi\r");
	line = evbuffer_readline(buf);
	assert_string_equal(line, "ghi");
	free(line);
	ADD(buf, "\n");
	line = evbuffer_readline(buf);
	assert_string_equal(line, "");
	free(line);
	assert_contents(buf, "", 0);

	/* CRLF and CRLF_STRICT wait for the byte after the CR. */
	ADD(buf, "jk\r");
	expect_line(EVBUFFER_EOL_CRLF, NULL, 0);
	expect_line(EVBUFFER_EOL_CRLF_STRICT, NULL, 0);
	ADD(buf, "\n");
	expect_line(EVBUFFER_EOL_CRLF_STRICT, "jk", 2);
	ADD(buf, "lm\r");
	expect_line(EVBUFFER_EOL_CRLF, NULL, 0);
	ADD(buf, "\n");
	expect_line(EVBUFFER_EOL_CRLF, "lm", 2);
	/* LF keeps the CR as data. */
	ADD(buf, "no\r");
	expect_line(EVBUFFER_EOL_LF, NULL, 0);
	ADD(buf, "\n");
	expect_line(EVBUFFER_EOL_LF, "no\r", 3);
	/* A lone CR byte. */
	ADD(buf, "\r");
	expect_line(EVBUFFER_EOL_CRLF, NULL, 0);
	expect_line(EVBUFFER_EOL_CRLF_STRICT, NULL, 0);
	expect_line(EVBUFFER_EOL_LF, NULL, 0);
	expect_line(EVBUFFER_EOL_ANY, "", 0);
	assert_contents(buf, "", 0);
}

static void
test_write_empty(void **state)
{
	int fds[2];

	tu_socketpair(fds);
	/* Never allocated, and emptied: nothing is sent, no error. */
	assert_null(buf->orig_buffer);
	assert_int_equal(evbuffer_write(buf, fds[0]), 0);
	ADD(buf, "z");
	evbuffer_drain(buf, 1);
	assert_int_equal(evbuffer_write(buf, fds[0]), 0);
	assert_int_equal(pending_bytes_of(fds[1]), 0);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) TU_BUF_TEST(f)
		T(test_new_is_empty),
		T(test_add_and_remove),
		T(test_add_grows_contiguously),
		T(test_drain_is_constant_time),
		T(test_expand_reserves_space),
		T(test_realign_is_lazy),
		T(test_add_from_itself),
		T(test_add_buffer),
		T(test_add_printf),
		T(test_readline_1_4),
		T(test_readln_any),
		T(test_readln_crlf),
		T(test_readln_crlf_strict),
		T(test_readln_lf),
		T(test_readln_binary_and_split),
		T(test_readline_many_lines_is_linear),
		T(test_find),
		T(test_find_needle_at_buffer_end),
		T(test_callbacks_on_every_change),
		T(test_callback_may_change_buffer),
		T(test_read_and_write_fd),
		T(test_read_is_capped),
		T(test_write_to_closed_peer),
		T(test_hostile_sizes),
		T(test_remove_and_drain_beyond_length),
		T(test_read_direct_path),
		T(test_read_direct_exact_fill),
		T(test_read_cap_one_mib),
		T(test_read_result_with_draining_callback),
		T(test_callback_may_free_buffer),
		T(test_printf_at_room_boundaries),
		T(test_readln_cr_at_end),
		T(test_write_empty),
#undef T
	};

	return TU_RUN_ONCE("buffer", tests);
}
