/*
 * test_http_hostile.c: the server against hostile or broken clients.
 * Each malformed request gets one 4xx/5xx reply and a closed connection,
 * never a crash, a second response or a callback: bare LF and bare CR,
 * bodies on GET/HEAD/DELETE (read as bodies, never as requests),
 * conflicting Content-Length and Transfer-Encoding, unknown codings,
 * malformed chunk sizes and versions, folded headers, 1 MB of headers, a
 * 1 MB request line, bodies over the limit, a client trickling bytes,
 * a client still sending when the error comes, 5,000 idle connections,
 * and accept() failing with EMFILE.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "http-internal.h"
#include "test_util.h"
#include "test_http_util.h"

static struct event_base *base;
static struct evhttp *http;
static unsigned short port;

/* What the program's callback saw. */
static struct {
	int calls;
	char uris[4][64];
	size_t bodylen;
	char xa[64];
} seen;

static void
gen_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();
	const char *xa = evhttp_find_header(req->input_headers, "X-A");

	if (seen.calls < 4)
		snprintf(seen.uris[seen.calls], sizeof(seen.uris[0]), "%s",
		    req->uri);
	seen.calls++;
	seen.bodylen = EVBUFFER_LENGTH(req->input_buffer);
	snprintf(seen.xa, sizeof(seen.xa), "%s", xa ? xa : "");
	evbuffer_add_printf(buf, "ok %s", req->uri);
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

static int
setup(void **state)
{
	memset(&seen, 0, sizeof(seen));
	th_fixture_start(&base, &http, &port);
	evhttp_set_gencb(http, gen_cb, NULL);
	event_set_log_callback(th_quiet_log);
	return 0;
}

/* The fixture frees the base and the server. */
static int
teardown(void **state)
{
	return th_teardown(state);
}

/*
 * Send text (len bytes) on a new connection; expect exactly one response
 * with status, then the connection closed; returns how many callbacks
 * ran for it.
 */
static int
expect_reject(const char *text, size_t len, int status)
{
	struct th_raw rc = { 0 };
	int before = seen.calls, got;

	if (!th_raw_exchange(&rc, base, port, text, len, 5000))
		fail_msg("no EOF for \"%.40s\"", text);
	got = th_status(rc.in);
	if (got != status || th_count_responses(rc.in) != 1 ||
	    !th_has_header(rc.in, "Connection: close"))
		fail_msg("\"%.60s\": got %d (%d responses), want %d", text, got,
		    th_count_responses(rc.in), status);
	th_raw_free(&rc);
	return seen.calls - before;
}

static void
reject(const char *text, int status)
{
	assert_int_equal(expect_reject(text, strlen(text), status), 0);
}

static void
test_line_endings(void **state)
{
	reject("GET / HTTP/1.1\nHost: h\n\n", 400);
	reject("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400);
	reject("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
	reject("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
	reject("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
	reject("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 400);
	assert_int_equal(expect_reject("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27,
			     400),
	    0);
}

static void
test_bodies_are_not_requests(void **state)
{
	const char *smuggle = "GET /smuggled HTTP/1.1\r\n\r\n"; /* 26 */
	struct th_raw rc = { 0 };
	char text[512];
	char *body;

	/* GET with a body: read as the body, one response. */
	snprintf(text, sizeof(text),
	    "GET /a HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 26\r\n\r\n%sGET /b HTTP/1.1\r\nHost: h\r\n"
	    "Connection: close\r\n\r\n",
	    smuggle);
	assert_true(th_raw_exchange(&rc, base, port, text, strlen(text), 5000));
	assert_int_equal(th_count_responses(rc.in), 2);
	assert_int_equal(seen.calls, 2);
	assert_string_equal(seen.uris[0], "/a");
	assert_string_equal(seen.uris[1], "/b");
	th_raw_free(&rc);

	/* HEAD with a body: one response, headers only. */
	snprintf(text, sizeof(text),
	    "HEAD /h HTTP/1.1\r\nHost: h\r\n"
	    "Connection: close\r\nContent-Length: 26\r\n\r\n%s",
	    smuggle);
	assert_true(th_raw_exchange(&rc, base, port, text, strlen(text), 5000));
	assert_int_equal(th_count_responses(rc.in), 1);
	assert_int_equal(th_status(rc.in), 200);
	body = th_body(rc.in);
	assert_string_equal(body, "");
	free(body);
	assert_int_equal(seen.calls, 3);
	assert_int_equal(seen.bodylen, 26);
	th_raw_free(&rc);

	/* DELETE (not a 1.4 method) with a body: 501, nothing else. */
	snprintf(text, sizeof(text),
	    "DELETE /d HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 26\r\n\r\n%s",
	    smuggle);
	reject(text, 501);
	assert_int_equal(seen.calls, 3);
}

static void
test_framing_conflicts(void **state)
{
	const char *t;

	reject("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n"
	       "\r\nabcd",
	    400);
	reject("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", 400);
	reject("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	reject("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	       "Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    400);
	reject("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	       "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	    400);
	reject("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc", 501);
	reject("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	    400);
	reject("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "0\r\n\r\n",
	    400);
	/* The same length twice is one length. */
	t = "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
	    "Connection: close\r\n\r\nabc";
	assert_int_equal(expect_reject(t, strlen(t), 200), 1);
}

static void
test_chunk_sizes(void **state)
{
	static const char *const bad[] = {
		"0x3",
		"+3",
		"-3",
		" 3",
		"3 ",
		"3;",
		"3;a=",
		"3;a=\"b",
		"3;a b",
		"00000000000000003",
		"",
		"z",
		"3\t",
	};
	char text[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "POST / HTTP/1.1\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n%s\r\nabc\r\n0\r\n\r\n",
		    bad[i]);
		reject(text, 400);
	}
	/* Sixteen digits and an extension are fine. */
	snprintf(text, sizeof(text),
	    "POST / HTTP/1.1\r\nConnection: close\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0000000000000003;a=b\r\nabc\r\n"
	    "0\r\n\r\n");
	assert_int_equal(expect_reject(text, strlen(text), 200), 1);
	assert_int_equal(seen.bodylen, 3);
}

static void
test_versions(void **state)
{
	reject("GET / HTTP/2.0\r\n\r\n", 400);
	reject("GET / HTTP/1.10\r\n\r\n", 400);
	reject("GET / HTTP/1\r\n\r\n", 400);
	reject("GET / HTTP/a.1\r\n\r\n", 400);
	reject("GET / http/1.1\r\n\r\n", 400);
	reject("GET / HTTP/1.1 \r\n\r\n", 400);
	reject("GET /\r\n\r\n", 400);
	reject("GET / / HTTP/1.1\r\n\r\n", 400);
}

/*
 * A folded header line in a request is 400 (RFC 9112 5.2): a fold must
 * never extend Transfer-Encoding or Content-Length behind a proxy's back.
 * Two Host headers are 400 too; a request without Host is served.
 */
static void
test_folded_headers(void **state)
{
	const char *t;

	reject("GET / HTTP/1.1\r\nX-A: one\r\n two\r\nHost: h\r\n\r\n", 400);
	reject("GET / HTTP/1.1\r\n X-A: one\r\n\r\n", 400);
	reject("POST / HTTP/1.1\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n"
	       "Content-Length: 3\r\n\r\nabc",
	    400);
	reject("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n ,chunked\r\n"
	       "\r\n0\r\n\r\n",
	    400);
	reject("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	t = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
	assert_int_equal(expect_reject(t, strlen(t), 200), 1);
}

/* 1 MB of the request starting with head, padded with pad lines. */
static char *
megabyte(const char *head, const char *pad, size_t *len)
{
	size_t n = strlen(head), plen = strlen(pad), total = 1024 * 1024;
	char *t = malloc(total);

	assert_non_null(t);
	memcpy(t, head, n);
	while (n + plen <= total) {
		memcpy(t + n, pad, plen);
		n += plen;
	}
	*len = n;
	return t;
}

static void
test_huge_headers_and_line(void **state)
{
	char pad[1001];
	size_t len;
	char *t;

	t = megabyte("GET / HTTP/1.1\r\n",
	    "X-Filler: xxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
	    &len);
	assert_int_equal(expect_reject(t, len, 431), 0);
	free(t);
	t = megabyte("GET /", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &len);
	assert_int_equal(expect_reject(t, len, 414), 0);
	free(t);
	/* The limit is the program's to set. */
	evhttp_set_max_headers_size(http, 100);
	reject("GET / HTTP/1.1\r\nX-Filler: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n\r\n",
	    431);
	/* No limit: 200 kB of headers (in 200 lines) are taken. */
	evhttp_set_max_headers_size(http, -1);
	memset(pad, 'y', sizeof(pad));
	memcpy(pad, "X-F: ", 5);
	memcpy(pad + sizeof(pad) - 3, "\r\n", 3);
	t = megabyte("GET / HTTP/1.1\r\nConnection: close\r\n", pad, &len);
	len = 35 + 200 * (sizeof(pad) - 1);
	memcpy(t + len, "\r\n", 2);
	assert_int_equal(expect_reject(t, len + 2, 200), 1);
	free(t);
}

static void
test_body_limit(void **state)
{
	char text[256];
	char chunk[600];

	evhttp_set_max_body_size(http, 1000);
	reject("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413);
	memset(chunk, 'c', sizeof(chunk));
	snprintf(text, sizeof(text),
	    "POST / HTTP/1.1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n258\r\n");
	{
		struct th_raw rc = { 0 };
		th_raw_start(&rc, base, port, text, strlen(text), 0);
		th_raw_send(&rc, chunk, sizeof(chunk));
		th_raw_send(&rc, "\r\n258\r\n", 7);
		th_raw_send(&rc, chunk, sizeof(chunk));
		rc.shut_after = 1;
		th_raw_send(&rc, "\r\n0\r\n\r\n", 7);
		assert_true(th_run_until(base, &rc.done, 5000));
		assert_int_equal(th_status(rc.in), 413);
		assert_int_equal(th_count_responses(rc.in), 1);
		th_raw_free(&rc);
	}
	assert_int_equal(seen.calls, 0);
	snprintf(text, sizeof(text),
	    "POST / HTTP/1.1\r\nConnection: close\r\n"
	    "Content-Length: 1000\r\n\r\n");
	{
		struct th_raw rc = { 0 };
		char body[1000];
		memset(body, 'b', sizeof(body));
		th_raw_start(&rc, base, port, text, strlen(text), 1);
		th_raw_send(&rc, body, sizeof(body));
		assert_true(th_run_until(base, &rc.done, 5000));
		assert_int_equal(th_status(rc.in), 200);
		assert_int_equal(seen.bodylen, 1000);
		th_raw_free(&rc);
	}
}

static void
test_too_many_headers(void **state)
{
	char text[8192];
	size_t n;
	int i;

	n = (size_t)snprintf(text, sizeof(text), "GET / HTTP/1.1\r\n");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "X: %d\r\n",
		    i);
	snprintf(text + n, sizeof(text) - n, "\r\n");
	reject(text, 431);
}

/* The error reaches a client that is still sending a large body. */
static void
test_error_while_sending(void **state)
{
	struct th_raw rc = { 0 };
	const char *head = "POST / HTTP/9.9\r\nContent-Length: 4000000\r\n\r\n";
	size_t len = 4000000;
	char *body = malloc(len);

	memset(body, 'x', len);
	th_raw_start(&rc, base, port, head, strlen(head), 1);
	th_raw_send(&rc, body, len);
	assert_true(th_run_until(base, &rc.done, 8000));
	assert_int_equal(rc.err, 0); /* a FIN, not a reset */
	assert_int_equal(th_status(rc.in), 400);
	assert_int_equal(th_count_responses(rc.in), 1);
	th_raw_free(&rc);
	free(body);
}

static void
test_slow_client(void **state)
{
	const char *t = "GET /slowly/trickling/request/with/a/long/path "
			"HTTP/1.1\r\nHost: example\r\n\r\n";
	struct th_raw rc = { 0 };
	int64_t elapsed;

	evhttp_set_timeout(http, 1);
	rc.trickle_ms = 300;
	th_raw_start(&rc, base, port, t, strlen(t), 0);
	assert_true(th_run_until(base, &rc.done, 5000));
	elapsed = rc.t_done - rc.t_start;
	/* The deadline covers the whole head, however steady the bytes. */
	assert_true(elapsed >= 900000);
	assert_true(elapsed < 2600000);
	assert_true(rc.outoff < strlen(t));
	assert_int_equal(th_status(rc.in), 408);
	assert_int_equal(seen.calls, 0);
	th_raw_free(&rc);
}

/*
 * A body trickled in fast enough never to stall the read timeout still
 * gets 408 once the whole-body deadline (the timeout, plus a second per
 * 500 bytes received) has passed.
 */
static void
test_slow_body(void **state)
{
	const char *t = "POST /slow-body HTTP/1.1\r\nHost: example\r\n"
			"Content-Length: 200\r\n\r\n";
	struct th_raw rc = { 0 };
	struct timeval tv = { 0, 50000 };
	char body[200];
	int64_t elapsed;

	evhttp_set_timeout(http, 1);
	th_raw_start(&rc, base, port, t, strlen(t), 0);
	while (rc.outoff < rc.outlen && !rc.done)
		event_base_loop(base, EVLOOP_ONCE);
	/* The head is in; now one body byte every 50 ms (20 s in all). */
	memset(body, 'b', sizeof(body));
	rc.trickle_ms = 50;
	th_raw_send(&rc, body, sizeof(body));
	evtimer_add(&rc.ev_trickle, &tv);
	assert_true(th_run_until(base, &rc.done, 5000));
	elapsed = rc.t_done - rc.t_start;
	assert_true(elapsed >= 900000);
	assert_true(elapsed < 2600000);
	assert_int_equal(th_status(rc.in), 408);
	assert_int_equal(seen.calls, 0);
	th_raw_free(&rc);
}

/* Heap bytes in use (glibc), or -1 where that cannot be asked. */
static long
heap_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	struct mallinfo2 mi = mallinfo2();
	return (long)mi.uordblks;
#else
	return -1;
#endif
}

static long
rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp == NULL)
		return -1;
	if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(fp);
	return resident * sysconf(_SC_PAGESIZE);
}

#define NIDLE 5000

static void
test_idle_connections(void **state)
{
	struct rlimit rl;
	struct sockaddr_in sin;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	int *fds = calloc(NIDLE, sizeof(int));
	int i, n, target;
	long rss0, rss1, heap0, heap1;
	int64_t t0;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * NIDLE + 100)
		skip();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	th_run_for(base, 10);
	rss0 = rss_bytes();
	heap0 = heap_bytes();
	t0 = tu_now_usec();
	/*
	 * Connect in batches smaller than the listen backlog (128), and let
	 * the server accept each batch: beyond the backlog the kernel may
	 * drop a handshake's last ACK, leaving a client connected to nobody.
	 */
	for (n = 0; n < NIDLE; n = target) {
		target = n + 100;
		for (i = n; i < target; i++) {
			fds[i] = socket(AF_INET, SOCK_STREAM, 0);
			assert_true(fds[i] >= 0);
			evutil_make_socket_nonblocking(fds[i]);
			assert_true(connect(fds[i], (struct sockaddr *)&sin,
					sizeof(sin)) == 0 ||
			    errno == EINPROGRESS);
		}
		while (http->nconnections < target &&
		    tu_now_usec() - t0 < 20000000)
			th_run_for(base, 1);
		assert_int_equal(http->nconnections, target);
	}
	rss1 = rss_bytes();
	heap1 = heap_bytes();
	/* RSS only grows the first time: later runs reuse freed pages. */
	print_message(
	    "%s: %d idle connections accepted in %.2f s; per idle "
	    "connection: %.0f bytes of heap, %.0f bytes of RSS growth\n",
	    tu_backend(), NIDLE, (tu_now_usec() - t0) / 1e6,
	    (double)(heap1 - heap0) / NIDLE, (double)(rss1 - rss0) / NIDLE);

	/* The server still answers others promptly. */
	evcon = evhttp_connection_new("127.0.0.1", port);
	evhttp_connection_set_base(evcon, base);
	t0 = tu_now_usec();
	evhttp_make_request(evcon, evhttp_request_new(th_result_cb, &r),
	    EVHTTP_REQ_GET, "/still-here");
	assert_true(th_run_until(base, &r.done, 5000));
	assert_int_equal(r.code, 200);
	assert_true(r.t_done - t0 < 1000000);
	th_result_clear(&r);
	evhttp_connection_free(evcon);

	for (i = 0; i < NIDLE; i++)
		close(fds[i]);
	free(fds);
	t0 = tu_now_usec();
	while (http->nconnections > 0 && tu_now_usec() - t0 < 10000000)
		th_run_for(base, 5);
	assert_int_equal(http->nconnections, 0);
}

static void
test_accept_emfile(void **state)
{
	const char *t = "GET /after HTTP/1.1\r\nConnection: close\r\n\r\n";
	struct rlimit old, low;
	struct rusage ru0, ru1;
	struct th_raw rc = { 0 };
	int fillers[256], nfill = 0, fd;
	long cpu_us;

	/* A client whose connection waits in the backlog. */
	th_raw_start(&rc, base, port, t, strlen(t), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)th_highest_fd() + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 256 && (fd = open("/dev/null", O_RDONLY)) != -1)
		fillers[nfill++] = fd;
	assert_true(nfill < 256);

	getrusage(RUSAGE_SELF, &ru0);
	th_run_for(base, 1000);
	getrusage(RUSAGE_SELF, &ru1);
	cpu_us = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000L +
	    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
	    (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000L +
	    (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
	/* Paused and retried on a timer: a handful of tries, idle CPU. */
	assert_true(http->accept_failures >= 1);
	assert_true(http->accept_failures <= 10);
	assert_true(cpu_us < 300000);
	assert_false(rc.done);

	while (nfill > 0)
		close(fillers[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true(th_run_until(base, &rc.done, 3000));
	assert_int_equal(th_status(rc.in), 200);
	assert_string_equal(seen.uris[0], "/after");
	th_raw_free(&rc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_endings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bodies_are_not_requests,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing_conflicts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chunk_sizes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_folded_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_huge_headers_and_line,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_many_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_error_while_sending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_slow_client, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idle_connections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_accept_emfile, setup,
		    teardown),
	};

	return TU_RUN_PER_BACKEND("http_hostile", tests);
}
