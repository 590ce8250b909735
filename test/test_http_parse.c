/*
 * test_http_parse.c: the HTTP parser (http-parse.c) and the helpers of
 * http-util.c without sockets: request and status lines, header lines
 * and folding, limits, body framing (Content-Length, Transfer-Encoding),
 * the chunked decoder fed byte by byte, 1.4's exported parse functions,
 * header lists, URI escaping, query strings and HTML escaping.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event.h>
#include <evhttp.h>

#include "http-internal.h"
#include "test_util.h"

static void
quiet(int severity, const char *msg)
{
}

static struct evhttp_request *
new_request(void)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);

	assert_non_null(req);
	req->kind = EVHTTP_REQUEST;
	return req;
}

/*
 * Parse text as one request (line, headers, framing, body) with the given
 * limits.  Returns 0 if it parsed completely, else the error status, or
 * -2 if more data would be needed.
 */
static int
parse_request(const char *text, size_t len, size_t max_headers,
    ev_uint64_t max_body, struct evhttp_request **out)
{
	struct ev__http_parser p;
	struct evhttp_request *req = new_request();
	struct evbuffer *buf = evbuffer_new();
	int r, status = -2;

	ev__http_parser_init(&p, max_headers, max_body);
	evbuffer_add(buf, text, len);
	r = ev__http_parse_firstline(&p, req, buf);
	if (r == ALL_DATA_READ)
		r = ev__http_parse_headers(&p, req, buf);
	if (r == ALL_DATA_READ)
		r = ev__http_body_framing(&p, req) == 0 ? ALL_DATA_READ :
							  DATA_CORRUPTED;
	while (r == ALL_DATA_READ || r == EV__CHUNK_COMPLETE) {
		r = ev__http_read_body(&p, req, buf);
		if (r == ALL_DATA_READ) {
			status = 0;
			break;
		}
	}
	if (r == DATA_CORRUPTED)
		status = p.error;
	evbuffer_free(buf);
	if (out != NULL)
		*out = req;
	else
		evhttp_request_free(req);
	return status;
}

static int
parse(const char *text)
{
	return parse_request(text, strlen(text), EV__HTTP_MAX_HEADERS,
	    EV__HTTP_MAX_BODY, NULL);
}

static void
test_request_lines(void **state)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "POST /a?b=c HTTP/1.0\r\n\r\n", 0 },
		{ "HEAD /x HTTP/1.1\r\n\r\n", 0 },
		{ "GET http://h/p HTTP/1.1\r\n\r\n", 0 },
		{ "GET HTTPS://h/p HTTP/1.1\r\n\r\n", 0 },
		{ "\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0 }, /* leading CRLFs */
		{ "GET / HTTP/0.9\r\n\r\n", 400 },	 /* 1.0 and 1.1 only */
		{ "GET / HTTP/1.2\r\n\r\n", 400 },
		{ "GET / HTTP/0.9\r\nTransfer-Encoding: chunked\r\n\r\n", 400 },
		{ "DELETE / HTTP/1.1\r\n\r\n", 501 },
		{ "PUT / HTTP/1.1\r\n\r\n", 501 },
		{ "get / HTTP/1.1\r\n\r\n", 501 },
		{ "GET / HTTP/2.0\r\n\r\n", 400 },
		{ "GET / HTTP/1.10\r\n\r\n", 400 },
		{ "GET / HTTP/1\r\n\r\n", 400 },
		{ "GET / http/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 \r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n\r\n", 400 },
		{ "GET  HTTP/1.1\r\n\r\n", 400 }, /* no target */
		{ "GET https:// HTTP/1.1\r\n\r\n", 400 },
		{ "GET /a b HTTP/1.1\r\n\r\n", 400 },
		{ "GET a HTTP/1.1\r\n\r\n", 400 },
		{ "GET /\x01 HTTP/1.1\r\n\r\n", 400 },
		{ "GET /\x7f HTTP/1.1\r\n\r\n", 400 },
		{ "GET /\r\n\r\n", 400 },
		{ "G(T / HTTP/1.1\r\n\r\n", 400 },
		{ " GET / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\n\n", 400 },	     /* bare LF */
		{ "GET / HTTP/1.1\r\r\n\r\n", 400 }, /* bare CR */
		{ "GET / HTTP/1.1\r\n", -2 },
		{ "GET / HTTP/1.1", -2 },
		{ "GET / HTTP/1.1\r", -2 },
	};
	struct evhttp_request *req;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = parse(cases[i].text);
		if (got != cases[i].status)
			fail_msg("case %zu \"%s\": got %d, want %d", i,
			    cases[i].text, got, cases[i].status);
	}
	assert_int_equal(parse_request("POST /p?q HTTP/1.0\r\n\r\n", 22, 1000,
			     1000, &req),
	    0);
	assert_int_equal(req->type, EVHTTP_REQ_POST);
	assert_string_equal(req->uri, "/p?q");
	assert_int_equal(req->major, 1);
	assert_int_equal(req->minor, 0);
	assert_int_equal(req->flags & EVHTTP_PROXY_REQUEST, 0);
	evhttp_request_free(req);
	assert_int_equal(parse_request("GET http://x/ HTTP/1.1\r\n\r\n", 26,
			     1000, 1000, &req),
	    0);
	assert_true(req->flags & EVHTTP_PROXY_REQUEST);
	evhttp_request_free(req);
	/* A NUL inside a line is refused. */
	assert_int_equal(parse_request("GET /\0 HTTP/1.1\r\n\r\n", 19, 1000,
			     1000, NULL),
	    400);
}

/* A response whose status line and headers are t (asserted to parse). */
static struct evhttp_request *
response_headers(const char *t)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evbuffer *buf = evbuffer_new();
	struct ev__http_parser p;

	evbuffer_add(buf, t, strlen(t));
	ev__http_parser_init(&p, 1000, 1000);
	assert_int_equal(ev__http_parse_firstline(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(ev__http_parse_headers(&p, req, buf), ALL_DATA_READ);
	evbuffer_free(buf);
	return req;
}

static void
test_header_lines(void **state)
{
	static const struct {
		const char *text;
		int status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\nX-Y:z\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nX: \r\n\r\n", 0 },	       /* empty */
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 }, /* ws, colon */
		{ "GET / HTTP/1.1\r\n: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nA(b): c\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\n", 400 },
		{ "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\n folded\r\n\r\n",
		    400 }, /* nothing to fold onto */
		/* obs-fold in a request: 400 (RFC 9112 5.2) */
		{ "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nX: a\r\n \t\r\n\r\n",
		    400 }, /* blank fold */
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\t,chunked\r\n"
		  "\r\n",
		    400 },
		/* two Host headers: 400; none is fine (1.4's client sent none) */
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nX: y\r\n\r\n", 0 },
	};
	struct evhttp_request *req;
	const char *t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = parse(cases[i].text);
		if (got != cases[i].status)
			fail_msg("case %zu: got %d, want %d", i, got,
			    cases[i].status);
	}
	/*
	 * In a response, a folded line continues the previous value with
	 * one space, and is never a new header.
	 */
	t = "HTTP/1.1 200 OK\r\nX-A:  one \r\n  two\r\n\tthree\r\nB: c\r\n\r\n";
	req = response_headers(t);
	assert_string_equal(evhttp_find_header(req->input_headers, "x-a"),
	    "one two three");
	assert_string_equal(evhttp_find_header(req->input_headers, "B"), "c");
	assert_null(evhttp_find_header(req->input_headers, "two"));
	assert_null(evhttp_find_header(req->input_headers, "  two"));
	evhttp_request_free(req);
	/* A folded line of only white space adds nothing. */
	t = "HTTP/1.1 200 OK\r\nX-A: one\r\n \t \r\n\r\n";
	req = response_headers(t);
	assert_string_equal(evhttp_find_header(req->input_headers, "x-a"),
	    "one");
	evhttp_request_free(req);
}

static void
test_limits(void **state)
{
	char *big = malloc(200000);
	size_t n;
	int i;

	/* Line + headers within 100 bytes: fine at 100, not at 99. */
	const char *t =
	    "GET / HTTP/1.1\r\nHost: example.com\r\n"
	    "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	assert_int_equal(strlen(t), 100);
	assert_int_equal(parse_request(t, 100, 100, 0, NULL), 0);
	assert_int_equal(parse_request(t, 100, 99, 0, NULL), 431);
	/* A request line longer than the limit: 414, even unfinished. */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', 199995);
	assert_int_equal(parse_request(big, 200000, 65536, 0, NULL), 414);
	/* 1 MB-ish of headers, never finished: 431 at the limit. */
	n = (size_t)snprintf(big, 200000, "GET / HTTP/1.1\r\n");
	while (n + 40 < 200000)
		n += (size_t)snprintf(big + n, 200000 - n,
		    "X-Header-%06zu: vvvvvvvvvvvvvvv\r\n", n);
	assert_int_equal(parse_request(big, n, 65536, 0, NULL), 431);
	/* Too many header lines, each small. */
	n = (size_t)snprintf(big, 200000, "GET / HTTP/1.1\r\n");
	for (i = 0; i < EV__HTTP_MAX_NHEADERS + 1; i++)
		n += (size_t)snprintf(big + n, 200000 - n, "X: y\r\n");
	n += (size_t)snprintf(big + n, 200000 - n, "\r\n");
	assert_int_equal(parse_request(big, n, 65536, 0, NULL), 431);
	/* Content-Length over the body limit: 413 before any body. */
	t = "POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n";
	assert_int_equal(parse_request(t, strlen(t), 1000, 1000, NULL), 413);
	t = "POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n";
	assert_int_equal(parse_request(t, strlen(t), 1000, 1000, NULL), -2);
	/* Chunks adding up past the limit: 413. */
	t = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3e8\r\n";
	assert_int_equal(parse_request(t, strlen(t), 1000, 1000, NULL), -2);
	t = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3e9\r\n";
	assert_int_equal(parse_request(t, strlen(t), 1000, 1000, NULL), 413);
	free(big);
}

static void
test_framing(void **state)
{
	static const struct {
		const char *headers;
		int status;
	} cases[] = {
		{ "Content-Length: 3\r\n", 0 },
		{ "Content-Length: 3\r\nContent-Length: 3\r\n", 0 },
		{ "Content-Length: 3, 3\r\n", 0 },
		{ "Content-Length: 3\r\nContent-Length: 4\r\n", 400 },
		{ "Content-Length: 3, 4\r\n", 400 },
		{ "Content-Length: +3\r\n", 400 },
		{ "Content-Length: -3\r\n", 400 },
		{ "Content-Length: 0x3\r\n", 400 },
		{ "Content-Length: 3 3\r\n", 400 },
		{ "Content-Length:\r\n", 400 },
		{ "Content-Length: 99999999999999999999\r\n", 400 },
		{ "Transfer-Encoding: chunked\r\n", 0 },
		{ "Transfer-Encoding: CHUNKED\r\n", 0 },
		{ "Transfer-Encoding: , chunked,\r\n", 0 }, /* empty items */
		{ "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", 400 },
		{ "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", 400 },
		{ "Transfer-Encoding: gzip\r\n", 501 },
		{ "Transfer-Encoding: identity\r\n", 501 },
		{ "Transfer-Encoding: gzip, chunked\r\n", 501 },
		{ "Transfer-Encoding: chunked, gzip\r\n", 400 },
		{ "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		    400 },
		{ "Transfer-Encoding: xchunked\r\n", 501 },
	};
	char text[512];
	const char *body;
	size_t i;
	int got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = strstr(cases[i].headers, "hunked") != NULL ||
			strstr(cases[i].headers, "HUNKED") != NULL ?
		    "3\r\nabc\r\n0\r\n\r\n" :
		    "abc";
		snprintf(text, sizeof(text), "POST / HTTP/1.1\r\n%s\r\n%s",
		    cases[i].headers, body);
		got = parse(text);
		if (got != cases[i].status)
			fail_msg("case %zu \"%s\": got %d, want %d", i,
			    cases[i].headers, got, cases[i].status);
	}
	/* HTTP/1.0 requests may not be chunked. */
	assert_int_equal(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked"
			       "\r\n\r\n0\r\n\r\n"),
	    400);
	/* GET without a length has no body. */
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n"), 0);
}

/* Feed a chunked body one byte at a time; returns the status or 0. */
static int
chunked_bytewise(const char *body, char *out, size_t outlen)
{
	struct ev__http_parser p;
	struct evhttp_request *req = new_request();
	struct evbuffer *buf = evbuffer_new();
	const char *h = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	size_t i, n = strlen(body);
	int r = MORE_DATA_EXPECTED, status = -2;

	ev__http_parser_init(&p, 1000, 1000);
	evbuffer_add(buf, h, strlen(h));
	assert_int_equal(ev__http_parse_firstline(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(ev__http_parse_headers(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(ev__http_body_framing(&p, req), 0);
	assert_int_equal(req->chunked, 1);
	for (i = 0; i < n; i++) {
		evbuffer_add(buf, body + i, 1);
		do {
			r = ev__http_read_body(&p, req, buf);
		} while (r == EV__CHUNK_COMPLETE);
		if (r != MORE_DATA_EXPECTED)
			break;
	}
	if (r == ALL_DATA_READ) {
		status = 0;
		snprintf(out, outlen, "%.*s",
		    (int)EVBUFFER_LENGTH(req->input_buffer),
		    (const char *)EVBUFFER_DATA(req->input_buffer));
		/* Nothing after the message was taken. */
		assert_int_equal(i + 1, n);
	} else if (r == DATA_CORRUPTED) {
		status = p.error;
	}
	evbuffer_free(buf);
	evhttp_request_free(req);
	return status;
}

static void
test_chunked(void **state)
{
	static const struct {
		const char *body;
		int status;
	} bad[] = {
		{ "0x5\r\nhello\r\n0\r\n\r\n", 400 },
		{ "+5\r\nhello\r\n0\r\n\r\n", 400 },
		{ "-5\r\nhello\r\n0\r\n\r\n", 400 },
		{ " 5\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5 \r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;\r\nhello\r\n0\r\n\r\n", 400 },   /* no name */
		{ "5;a=\r\nhello\r\n0\r\n\r\n", 400 }, /* no value */
		{ "5;=b\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;a b\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;a=b c\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400 }, /* unclosed */
		{ "5;a=\"b\\\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;a=(b)\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;a;\r\nhello\r\n0\r\n\r\n", 400 },
		{ "5;\x01\r\nhello\r\n0\r\n\r\n", 400 },
		{ "00000000000000005\r\nhello\r\n0\r\n\r\n", 400 },
		{ "g\r\n", 400 },
		{ "\r\n", 400 },
		{ "5\nhello\r\n0\r\n\r\n", 400 },
		{ "5\r\nhelloX\r\n0\r\n\r\n", 400 },
		{ "5\r\nhello\n0\r\n\r\n", 400 },
		{ "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n", 400 },
		{ "ffffffffffffffff\r\n", 413 },
	};
	const char *t;
	char out[256];
	size_t i;
	int got;

	assert_int_equal(
	    chunked_bytewise("5\r\nhello\r\n6;ext=\"v\"\r\n "
			     "world\r\n0000000000000000\r\nTrailer: t\r\n\r\n",
		out, sizeof(out)),
	    0);
	assert_string_equal(out, "hello world");
	assert_int_equal(chunked_bytewise("A\r\n0123456789\r\n0\r\n\r\n", out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "0123456789");
	/* RFC 9112 7.1.1: BWS around ';' and '=', tokens, quoted strings. */
	assert_int_equal(
	    chunked_bytewise("2 ; a = b ;c;d=\"x\\\"; y\"\r\nhi\r\n"
			     "0;last\r\n\r\n",
		out, sizeof(out)),
	    0);
	assert_string_equal(out, "hi");
	/* Extensions count against the header limit, summed over chunks. */
	t = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1;aaaaaaaaaaaaaaaaaaaa\r\nx\r\n1;bbbbbbbbbbbbbbbbbbbb\r\ny\r\n"
	    "0\r\n\r\n";
	assert_int_equal(parse_request(t, strlen(t), 100, 1000, NULL), 0);
	t = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1;aaaaaaaaaaaaaaaaaaaa\r\nx\r\n1;bbbbbbbbbbbbbbbbbbbb\r\ny\r\n"
	    "1;cccccccccccccccccccc\r\nz\r\n0\r\n\r\n";
	assert_int_equal(parse_request(t, strlen(t), 100, 1000, NULL), 400);
	/* A chunk line is at most 4096 bytes, extensions included. */
	for (i = 0; i < 2; i++) {
		size_t hl = 47, ext = i == 0 ? 4000 : 4200;
		char *big = malloc(hl + ext + 20);

		memcpy(big,
		    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		    hl);
		memcpy(big + hl, "1;", 2);
		memset(big + hl + 2, 'e', ext);
		memcpy(big + hl + 2 + ext, "\r\nx\r\n0\r\n\r\n", 10);
		got = parse_request(big, hl + ext + 12, 100000, 1000, NULL);
		assert_int_equal(got, i == 0 ? 0 : 400);
		free(big);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got = chunked_bytewise(bad[i].body, out, sizeof(out));
		if (got != bad[i].status)
			fail_msg("case %zu: got %d, want %d", i, got,
			    bad[i].status);
	}
}

/* Pipelined requests come out one by one; a body is never a request. */
static void
test_pipelined_and_body(void **state)
{
	const char *t = "GET /a HTTP/1.1\r\nContent-Length: 26\r\n\r\n"
			"GET /smuggled HTTP/1.1\r\n\r\n"
			"GET /b HTTP/1.1\r\n\r\n";
	struct evbuffer *buf = evbuffer_new();
	struct ev__http_parser p;
	struct evhttp_request *req;
	const char *uris[2] = { "/a", "/b" };
	int i;

	evbuffer_add(buf, t, strlen(t));
	for (i = 0; i < 2; i++) {
		req = new_request();
		ev__http_parser_init(&p, 1000, 1000);
		assert_int_equal(ev__http_parse_firstline(&p, req, buf),
		    ALL_DATA_READ);
		assert_int_equal(ev__http_parse_headers(&p, req, buf),
		    ALL_DATA_READ);
		assert_int_equal(ev__http_body_framing(&p, req), 0);
		assert_int_equal(ev__http_read_body(&p, req, buf),
		    ALL_DATA_READ);
		assert_string_equal(req->uri, uris[i]);
		if (i == 0)
			assert_int_equal(EVBUFFER_LENGTH(req->input_buffer),
			    26);
		evhttp_request_free(req);
	}
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	evbuffer_free(buf);
}

static void
test_responses(void **state)
{
	static const struct {
		const char *text;
		int ok;
	} lines[] = {
		{ "HTTP/1.1 200 OK\r\n", 1 },
		{ "HTTP/1.0 404 Not Found\r\n", 1 },
		{ "HTTP/1.1 204\r\n", 1 },
		{ "HTTP/1.1 200 \r\n", 1 },
		{ "HTTP/1.1 2000 OK\r\n", 0 },
		{ "HTTP/1.1 20 OK\r\n", 0 },
		{ "HTTP/1.1 20\r\n", 0 },
		{ "HTTP/0.9 200 OK\r\n", 0 },
		{ "HTTP/1.1_200 OK\r\n", 0 },
		{ "HTTP/1.1 200 O\x01K\r\n", 0 },
		{ "HTTP/1.1 2x0 OK\r\n", 0 },
		{ "HTTP/1.1 099 OK\r\n", 0 },
		{ "HTTP/2.0 200 OK\r\n", 0 },
		{ "HTTP/1.1  200 OK\r\n", 0 },
		{ "ICY 200 OK\r\n", 0 },
	};
	struct evhttp_request *req;
	struct ev__http_parser p;
	struct evbuffer *buf = evbuffer_new();
	size_t i;
	int r;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		req = evhttp_request_new(NULL, NULL);
		evbuffer_add(buf, lines[i].text, strlen(lines[i].text));
		ev__http_parser_init(&p, 1000, (ev_uint64_t)-1);
		r = ev__http_parse_firstline(&p, req, buf);
		if ((r == ALL_DATA_READ) != lines[i].ok)
			fail_msg("case %zu: %d", i, r);
		evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
		evhttp_request_free(req);
	}
	/* Framing of responses: close-delimited, HEAD and 304 bodies. */
	req = evhttp_request_new(NULL, NULL);
	evbuffer_add_printf(buf, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody");
	ev__http_parser_init(&p, 1000, (ev_uint64_t)-1);
	assert_int_equal(ev__http_parse_firstline(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(req->response_code, 200);
	assert_string_equal(req->response_code_line, "OK");
	assert_int_equal(ev__http_parse_headers(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(ev__http_body_framing(&p, req), 0);
	assert_int_equal(p.body, EV__BODY_CLOSE);
	assert_int_equal(ev__http_read_body(&p, req, buf), MORE_DATA_EXPECTED);
	assert_int_equal(EVBUFFER_LENGTH(req->input_buffer), 4);
	req->type = EVHTTP_REQ_HEAD;
	assert_int_equal(ev__http_body_framing(&p, req), 0);
	assert_int_equal(p.body, EV__BODY_NONE);
	req->type = EVHTTP_REQ_GET;
	req->response_code = 304;
	assert_int_equal(ev__http_body_framing(&p, req), 0);
	assert_int_equal(p.body, EV__BODY_NONE);
	evhttp_request_free(req);
	/* A close-delimited body over the limit. */
	req = evhttp_request_new(NULL, NULL);
	evbuffer_add_printf(buf, "HTTP/1.0 200 OK\r\n\r\nbody");
	ev__http_parser_init(&p, 1000, 3);
	assert_int_equal(ev__http_parse_firstline(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(ev__http_parse_headers(&p, req, buf), ALL_DATA_READ);
	assert_int_equal(ev__http_body_framing(&p, req), 0);
	assert_int_equal(ev__http_read_body(&p, req, buf), DATA_CORRUPTED);
	assert_int_equal(p.error, 413);
	evhttp_request_free(req);
	evbuffer_free(buf);
}

static void
test_exported_parsers(void **state)
{
	struct evhttp_request *req = new_request();
	struct evbuffer *buf = evbuffer_new();

	evbuffer_add_printf(buf, "GET /x HTTP/1.1\r\nHo");
	assert_int_equal(evhttp_parse_firstline(req, buf), ALL_DATA_READ);
	assert_string_equal(req->uri, "/x");
	assert_int_equal(evhttp_parse_headers(req, buf), MORE_DATA_EXPECTED);
	evbuffer_add_printf(buf, "st: h\r\n\r\n");
	assert_int_equal(evhttp_parse_headers(req, buf), ALL_DATA_READ);
	assert_string_equal(evhttp_find_header(req->input_headers, "host"),
	    "h");
	evbuffer_add_printf(buf, "Bad\r\n\r\n");
	assert_int_equal(evhttp_parse_headers(req, buf), DATA_CORRUPTED);
	evbuffer_free(buf);
	evhttp_request_free(req);
}

static void
test_header_lists(void **state)
{
	struct evkeyvalq h;

	TAILQ_INIT(&h);
	assert_int_equal(evhttp_add_header(&h, "Content-Type", "a/b"), 0);
	assert_int_equal(evhttp_add_header(&h, "X-Two", "1"), 0);
	assert_int_equal(evhttp_add_header(&h, "x-two", "2"), 0);
	/* CR or LF in a name or value could forge headers: refused. */
	assert_int_equal(evhttp_add_header(&h, "X", "a\r\nSet-Cookie: s"), -1);
	assert_int_equal(evhttp_add_header(&h, "X", "a\nb"), -1);
	assert_int_equal(evhttp_add_header(&h, "X", "a\rb"), -1);
	assert_int_equal(evhttp_add_header(&h, "X\r\nY", "a"), -1);
	assert_int_equal(evhttp_add_header(&h, "X\r\n Y", "a"), -1);
	assert_int_equal(evhttp_add_header(&h, "X", "a\r \tb"), -1);
	assert_int_equal(evhttp_add_header(&h, "X", "a\r\n b\r\nc"), -1);
	/* A line fold is accepted, as in 1.4, and stored as one space. */
	assert_int_equal(evhttp_add_header(&h, "F1", "One\r\n Two"), 0);
	assert_int_equal(evhttp_add_header(&h, "F2", "Two\r\n\t Three\n 4"), 0);
	assert_int_equal(evhttp_add_header(&h, "F3", "end\r\n "), 0);
	assert_string_equal(evhttp_find_header(&h, "F1"), "One Two");
	assert_string_equal(evhttp_find_header(&h, "F2"), "Two Three 4");
	assert_string_equal(evhttp_find_header(&h, "F3"), "end");
	evhttp_remove_header(&h, "F1");
	evhttp_remove_header(&h, "F2");
	evhttp_remove_header(&h, "F3");
	assert_string_equal(evhttp_find_header(&h, "content-type"), "a/b");
	assert_string_equal(evhttp_find_header(&h, "X-TWO"), "1");
	assert_null(evhttp_find_header(&h, "X"));
	assert_int_equal(evhttp_remove_header(&h, "X-Two"), 0);
	assert_string_equal(evhttp_find_header(&h, "X-TWO"), "2");
	assert_int_equal(evhttp_remove_header(&h, "nothing"), -1);
	assert_int_equal(ev__http_header_has_token(&h, "x-two", "2"), 1);
	evhttp_clear_headers(&h);
	assert_true(TAILQ_EMPTY(&h));
	assert_int_equal(evhttp_add_header(&h, "Connection",
			     "keep-alive, Close"),
	    0);
	assert_int_equal(ev__http_header_has_token(&h, "connection", "close"),
	    1);
	assert_int_equal(ev__http_header_has_token(&h, "connection", "clos"),
	    0);
	evhttp_clear_headers(&h);
	/* Tokens are trimmed of white space on both sides. */
	assert_int_equal(evhttp_add_header(&h, "Connection",
			     " Upgrade\t , close \t"),
	    0);
	assert_int_equal(ev__http_header_has_token(&h, "connection", "close"),
	    1);
	assert_int_equal(ev__http_header_has_token(&h, "connection", "upgrade"),
	    1);
	evhttp_clear_headers(&h);
}

/*
 * struct evkeyval is public: 1.4 programs may build an entry themselves
 * (three allocations) or point a value at a string of their own.  The
 * list functions must free exactly what the program allocated.
 */
static void
test_header_entries_of_the_program(void **state)
{
	struct evkeyvalq h;
	struct evkeyval *kv;

	(void)state;
	TAILQ_INIT(&h);
	kv = calloc(1, sizeof(*kv));
	assert_non_null(kv);
	kv->key = strdup("X-Own");
	kv->value = strdup("built by the program");
	TAILQ_INSERT_TAIL(&h, kv, next);
	assert_int_equal(evhttp_add_header(&h, "X-Lib", "old"), 0);
	kv = TAILQ_LAST(&h, evkeyvalq);
	kv->value = strdup("replaced by the program");
	assert_string_equal(evhttp_find_header(&h, "x-own"),
	    "built by the program");
	assert_string_equal(evhttp_find_header(&h, "x-lib"),
	    "replaced by the program");
	assert_int_equal(evhttp_add_header(&h, "X-Lib2", "kept"), 0);
	assert_int_equal(evhttp_remove_header(&h, "X-Own"), 0);
	assert_int_equal(evhttp_remove_header(&h, "X-Lib"), 0);
	assert_string_equal(evhttp_find_header(&h, "x-lib2"), "kept");
	kv = calloc(1, sizeof(*kv));
	assert_non_null(kv);
	kv->key = strdup("X-Own2");
	kv->value = strdup("v");
	TAILQ_INSERT_HEAD(&h, kv, next);
	evhttp_clear_headers(&h);
	assert_true(TAILQ_EMPTY(&h));
}

static void
test_uri_helpers(void **state)
{
	struct evkeyvalq q;
	char *s;

	s = evhttp_encode_uri("a b/c?d=e&f~g_h.i-j\xc3\xa9");
	assert_string_equal(s, "a%20b%2Fc%3Fd%3De%26f~g_h.i-j%C3%A9");
	free(s);
	s = evhttp_decode_uri("/a%20b+c?d+e%2b%zz%4");
	assert_string_equal(s, "/a b+c?d e+%zz%4");
	free(s);
	s = evhttp_decode_uri("%4A%4a%C3%A9");
	assert_string_equal(s, "JJ\xc3\xa9");
	free(s);
	s = evhttp_decode_uri("%");
	assert_string_equal(s, "%");
	free(s);
	s = evhttp_htmlescape("<a href=\"x\">'&'</a>");
	assert_string_equal(s,
	    "&lt;a href=&quot;x&quot;&gt;&#039;&amp;&#039;"
	    "&lt;/a&gt;");
	free(s);
	s = evhttp_htmlescape("");
	assert_string_equal(s, "");
	free(s);

	/* The list is initialised by evhttp_parse_query itself. */
	memset(&q, 0xa5, sizeof(q));
	evhttp_parse_query("/p?a=1&b=x+y%21&empty=&c=%0d%0aX:%20y&d=4", &q);
	assert_string_equal(evhttp_find_header(&q, "a"), "1");
	assert_string_equal(evhttp_find_header(&q, "b"), "x y!");
	assert_string_equal(evhttp_find_header(&q, "empty"), "");
	/* A query is not a header: CR and LF are kept, as in 1.4. */
	assert_string_equal(evhttp_find_header(&q, "c"), "\r\nX: y");
	assert_string_equal(evhttp_find_header(&q, "d"), "4");
	evhttp_clear_headers(&q);
	evhttp_parse_query("/search?q=test%0Afoo", &q);
	assert_string_equal(evhttp_find_header(&q, "q"), "test\nfoo");
	evhttp_clear_headers(&q);
	/* As in 1.4, parsing stops at a pair without '='. */
	evhttp_parse_query("/p?a=1&oops&b=2", &q);
	assert_string_equal(evhttp_find_header(&q, "a"), "1");
	assert_null(evhttp_find_header(&q, "b"));
	evhttp_clear_headers(&q);
	evhttp_parse_query("/no-query", &q);
	assert_true(TAILQ_EMPTY(&q));
	evhttp_parse_query("/p?items[]=1", &q);
	assert_string_equal(evhttp_find_header(&q, "items[]"), "1");
	evhttp_clear_headers(&q);
}

static void
test_misc(void **state)
{
	char date[64];

	ev__http_date(date, sizeof(date), 784111777);
	assert_string_equal(date, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_string_equal(ev__http_reason(431),
	    "Request Header Fields Too Large");
	assert_string_equal(ev__http_method(EVHTTP_REQ_HEAD), "HEAD");
	assert_string_equal(ev__http_reason(299), "Unknown");
	/* A time gmtime() cannot represent gives the epoch, not garbage. */
	if (sizeof(time_t) >= 8) {
		ev__http_date(date, sizeof(date), (time_t)INT64_MAX);
		assert_string_equal(date, "Thu, 01 Jan 1970 00:00:00 GMT");
	}
	/* Freeing nothing is allowed, as with free(). */
	evhttp_request_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_lines),
		cmocka_unit_test(test_header_lines),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_pipelined_and_body),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_exported_parsers),
		cmocka_unit_test(test_header_lists),
		cmocka_unit_test(test_header_entries_of_the_program),
		cmocka_unit_test(test_uri_helpers),
		cmocka_unit_test(test_misc),
	};

	event_set_log_callback(quiet);
	return TU_RUN_ONCE("http_parse", tests);
}
