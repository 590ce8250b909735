/*
 * test_http_stream.c: replies in pieces and the life of a server
 * connection around them: chunked to HTTP/1.1, streamed to HTTP/1.0,
 * nothing for HEAD and 204, bytes queued before the start; and clients
 * that misbehave while a reply is due or going out: stop reading (the
 * write timeout), go away with a reset, hold a closing connection open
 * (the lingering timeout) or reset it, reset in mid-request.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "http-internal.h"
#include "test_util.h"
#include "test_http_util.h"

/* A program's pending work on a request, run from a timer. */
struct later {
	struct event ev;
	struct evhttp_request *req;
};

static void
test_http10_streaming(void **state)
{
	const char *q = "GET /chunked HTTP/1.0\r\n\r\n";
	struct th_raw rc = { 0 };
	char *body;

	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_status(rc.in), 200);
	assert_int_equal(memcmp(EVBUFFER_DATA(rc.in), "HTTP/1.0 200", 12), 0);
	assert_true(th_has_header(rc.in, "Connection: close"));
	assert_false(th_has_header(rc.in, "Transfer-Encoding: chunked"));
	body = th_body(rc.in);
	assert_string_equal(body, "piece-1|piece-2|piece-3|");
	free(body);
	th_raw_free(&rc);
}

/*
 * /forever: a streaming reply whose program has no close callback and
 * sends a piece every 5 ms.  When the client goes away the request must
 * stay valid (detached: its connection is NULL) until the program ends
 * it; ending it frees it.
 */
static struct {
	int started, pieces, orphaned;
} fv;

static void
forever_step_cb(int fd, short what, void *arg)
{
	struct later *l = arg;
	struct timeval tv = { 0, 5000 };
	struct evbuffer *buf = evbuffer_new();

	while (EVBUFFER_LENGTH(buf) < 65536)
		evbuffer_add(buf, "0123456789abcdef", 16);
	if (evhttp_request_get_connection(l->req) == NULL) {
		/* Pieces for a client that is gone are dropped. */
		evhttp_send_reply_chunk(l->req, buf);
		fv.orphaned = EVBUFFER_LENGTH(buf) == 0 ? 1 : -1;
		evbuffer_free(buf);
		evhttp_send_reply_end(l->req);
		free(l);
		return;
	}
	evhttp_send_reply_chunk(l->req, buf);
	evbuffer_free(buf);
	fv.pieces++;
	evtimer_add(&l->ev, &tv);
}

static void
forever_cb(struct evhttp_request *req, void *arg)
{
	struct later *l = calloc(1, sizeof(*l));
	struct timeval tv = { 0, 5000 };

	th_note_request(req);
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	fv.started = 1;
	l->req = req;
	evtimer_set(&l->ev, forever_step_cb, l);
	event_base_set(th_base, &l->ev);
	evtimer_add(&l->ev, &tv);
}

static void
test_stream_client_gone(void **state)
{
	const char *q = "GET /forever HTTP/1.1\r\nHost: h\r\n\r\n";
	int fd;

	memset(&fv, 0, sizeof(fv));
	evhttp_set_cb(th_http, "/forever", forever_cb, NULL);
	fd = tu_connect_loopback(th_port);
	assert_int_equal(write(fd, q, strlen(q)), (ssize_t)strlen(q));
	assert_true(th_run_until(th_base, &fv.started, 5000));
	/* Unread data: the close resets the connection. */
	close(fd);
	assert_true(th_run_until(th_base, &fv.orphaned, 5000));
	assert_int_equal(fv.orphaned, 1);
	assert_true(fv.pieces > 0);
}

/* Bytes the program put in output_buffer before evhttp_send_reply_start. */
static void
early_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();

	th_note_request(req);
	evbuffer_add_printf(req->output_buffer, "early|");
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	evbuffer_add_printf(buf, "late|");
	evhttp_send_reply_chunk(req, buf);
	evhttp_send_reply_end(req);
	evbuffer_free(buf);
}

static void
test_stream_prefilled_buffer(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	evhttp_set_cb(th_http, "/early", early_cb, NULL);
	th_request(evcon, EVHTTP_REQ_GET, "/early", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.chunked, 1);
	assert_string_equal(r.body, "early|late|");
	th_result_clear(&r);
	/* The connection is still in step. */
	th_expect_hello(evcon);
	evhttp_connection_free(evcon);
}

/* 204 in pieces: the pieces are taken and dropped. */
static void
nocontent_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();

	th_note_request(req);
	evhttp_send_reply_start(req, 204, NULL);
	evbuffer_add_printf(buf, "not sent");
	evhttp_send_reply_chunk(req, buf);
	assert_int_equal(EVBUFFER_LENGTH(buf), 0);
	evhttp_send_reply_end(req);
	evbuffer_free(buf);
}

static void
test_stream_without_body(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	evhttp_set_cb(th_http, "/nocontent", nocontent_cb, NULL);
	th_request(evcon, EVHTTP_REQ_HEAD, "/chunked", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, 0);
	th_result_clear(&r);
	th_request(evcon, EVHTTP_REQ_GET, "/nocontent", NULL, &r);
	assert_int_equal(r.code, 204);
	assert_int_equal(r.bodylen, 0);
	assert_int_equal(r.chunked, 0);
	th_result_clear(&r);
	/* No stray bytes followed: the connection is still in step. */
	th_expect_hello(evcon);
	assert_int_equal(th_seen.ports[0], th_seen.ports[2]);
	evhttp_connection_free(evcon);
}

#define HUGE_SIZE (16 * 1024 * 1024)

/* /huge: 16 MB; with a non-NULL cbarg a close callback is set first. */
static void
huge_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evbuffer *buf = evbuffer_new();
	char block[65536];
	size_t i;

	th_note_request(req);
	if (arg != NULL)
		evhttp_connection_set_closecb(evcon, th_watch_closecb, NULL);
	memset(block, 'h', sizeof(block));
	for (i = 0; i < HUGE_SIZE; i += sizeof(block))
		evbuffer_add(buf, block, sizeof(block));
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

/* A blocking client of th_port with a small receive buffer. */
static int
small_client(const char *request)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
	ssize_t len = (ssize_t)strlen(request);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small,
			     sizeof(small)),
	    0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(th_port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, request, (size_t)len), len);
	return fd;
}

/* Run until the server holds no connection; whether that came in ms. */
static int
run_until_no_connections(int ms)
{
	int64_t end = tu_now_usec() + (int64_t)ms * 1000;

	while (th_http->nconnections > 0 && tu_now_usec() < end)
		th_run_for(th_base, 5);
	return th_http->nconnections == 0;
}

/* Run the server until fd (a client) has something to read. */
static int
run_until_readable(int fd)
{
	struct pollfd pfd;
	int64_t end = tu_now_usec() + 3000000;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 0) == 0 && tu_now_usec() < end)
		th_run_for(th_base, 5);
	return (pfd.revents & POLLIN) != 0;
}

/* A client that stops reading is dropped after the write timeout. */
static void
test_client_stops_reading(void **state)
{
	int fd;
	int64_t t0 = tu_now_usec();

	evhttp_set_timeout(th_http, 1);
	evhttp_set_cb(th_http, "/huge", huge_cb, "watch");
	fd = small_client("GET /huge HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(th_run_until(th_base, &th_seen.closed, 4000));
	assert_true(tu_now_usec() - t0 >= 900000);
	assert_int_equal(th_http->nconnections, 0);
	close(fd);
}

/* A client that goes away with a reset while its reply is going out. */
static void
test_client_resets_during_reply(void **state)
{
	int fd;

	evhttp_set_cb(th_http, "/huge", huge_cb, NULL);
	fd = small_client("GET /huge HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(th_run_until(th_base, &th_seen.nrequests, 3000));
	th_run_for(th_base, 50);
	assert_int_equal(th_http->nconnections, 1);
	close(fd); /* unread bytes: a reset */
	assert_true(run_until_no_connections(3000));
}

/*
 * After an error page the server shuts its side at once and drains what
 * the client may still send; a client that keeps its side open is
 * closed after the timeout.
 */
static void
test_linger_timeout(void **state)
{
	struct th_raw rc = { 0 };
	int64_t t0 = tu_now_usec();

	evhttp_set_timeout(th_http, 1);
	event_set_log_callback(th_quiet_log);
	th_raw_start(&rc, th_base, th_port, "BAD\r\n\r\n", 7, 0);
	assert_true(th_run_until(th_base, &rc.done, 3000));
	assert_int_equal(th_status(rc.in), 400);
	assert_true(rc.t_done - t0 < 900000);
	assert_int_equal(th_http->nconnections, 1);
	assert_true(run_until_no_connections(3000));
	assert_true(tu_now_usec() - t0 >= 900000);
	th_raw_free(&rc);
}

/* A client resetting a lingering connection ends it at once. */
static void
test_reset_while_lingering(void **state)
{
	int fd = tu_connect_loopback(th_port);
	int64_t t0;

	event_set_log_callback(th_quiet_log);
	assert_int_equal(write(fd, "BAD\r\n\r\n", 7), 7);
	assert_true(run_until_readable(fd));
	t0 = tu_now_usec();
	close(fd); /* the reply unread: a reset */
	assert_true(run_until_no_connections(1500));
	/* Well before the lingering time (2 s) is over. */
	assert_true(tu_now_usec() - t0 < 1500000);
}

/* Half a request, then a reset, or a FIN: closed without a reply. */
static void
test_client_gone_mid_request(void **state)
{
	const char *q = "GET /hello HTTP/1.1\r\nHo";
	struct linger lg = { 1, 0 };
	char c;
	int fd;

	fd = tu_connect_loopback(th_port);
	assert_int_equal(write(fd, q, strlen(q)), (ssize_t)strlen(q));
	th_run_for(th_base, 20);
	assert_int_equal(th_http->nconnections, 1);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
	    0);
	close(fd);
	assert_true(run_until_no_connections(2000));

	fd = tu_connect_loopback(th_port);
	assert_int_equal(write(fd, q, strlen(q)), (ssize_t)strlen(q));
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(run_until_readable(fd));
	assert_int_equal(read(fd, &c, 1), 0);
	assert_int_equal(th_http->nconnections, 0);
	close(fd);
	assert_int_equal(th_seen.nrequests, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_http10_streaming),
		TH_TEST(test_stream_client_gone),
		TH_TEST(test_stream_prefilled_buffer),
		TH_TEST(test_stream_without_body),
		TH_TEST(test_client_stops_reading),
		TH_TEST(test_client_resets_during_reply),
		TH_TEST(test_linger_timeout),
		TH_TEST(test_reset_while_lingering),
		TH_TEST(test_client_gone_mid_request),
	};

	return TU_RUN_PER_BACKEND("http_stream", tests);
}
