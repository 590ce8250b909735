/*
 * test_http_server.c: the server answering our client and raw clients:
 * GET, POST, HEAD, path and generic callbacks and 404, error pages,
 * HTTP/1.0 keep-alive and HTTP/0.9, pipelining, closing when asked,
 * 100-continue, big bodies, the idle timeout (which a request held past
 * it does not feel), replies the program
 * builds in odd ways (its own buffer, a reason with CR LF, headers with
 * bad names, answering twice), evhttp_start() on the global base, and
 * binding that fails.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

static void
test_get(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	th_request(evcon, EVHTTP_REQ_GET, "/hello?x=1", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	assert_string_equal(r.clen, "5");
	assert_string_equal(r.ctype, "text/html; charset=ISO-8859-1");
	assert_string_equal(th_seen.uri, "/hello?x=1");
	assert_int_equal(th_seen.type, EVHTTP_REQ_GET);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_post(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	th_request(evcon, EVHTTP_REQ_POST, "/echo", "name=value&x=y", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "name=value&x=y");
	assert_int_equal(th_seen.type, EVHTTP_REQ_POST);
	assert_string_equal(th_seen.clen, "14");
	assert_string_equal(th_seen.body, "name=value&x=y");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_head(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	th_request(evcon, EVHTTP_REQ_HEAD, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, 0);
	assert_string_equal(r.clen, "5"); /* what a GET would get */
	assert_int_equal(th_seen.type, EVHTTP_REQ_HEAD);
	th_result_clear(&r);
	/* The connection is still in step: a GET works after it. */
	th_expect_hello(evcon);
	evhttp_connection_free(evcon);
}

static void
gen_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	th_reply_text(req, "generic");
}

static void
test_not_found_and_callbacks(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	th_request(evcon, EVHTTP_REQ_GET, "/nothing/<here>", NULL, &r);
	assert_int_equal(r.code, 404);
	assert_non_null(strstr(r.body, "/nothing/&lt;here&gt;"));
	assert_null(strstr(r.body, "<here>"));
	assert_null(r.conn); /* 404 keeps the connection */
	th_result_clear(&r);

	/* A path callback matches without the query string only. */
	th_request(evcon, EVHTTP_REQ_GET, "/hello?a=b", NULL, &r);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	th_request(evcon, EVHTTP_REQ_GET, "/hellox", NULL, &r);
	assert_int_equal(r.code, 404);
	th_result_clear(&r);

	evhttp_set_gencb(th_http, gen_cb, NULL);
	th_request(evcon, EVHTTP_REQ_GET, "/nothing", NULL, &r);
	assert_string_equal(r.body, "generic");
	th_result_clear(&r);

	assert_int_equal(evhttp_del_cb(th_http, "/hello"), 0);
	assert_int_equal(evhttp_del_cb(th_http, "/hello"), -1);
	th_request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_string_equal(r.body, "generic");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_send_error(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	th_request(evcon, EVHTTP_REQ_GET, "/error", NULL, &r);
	assert_int_equal(r.code, 403);
	assert_non_null(strstr(r.body, "403 Forbidden"));
	assert_string_equal(r.conn, "close");
	th_result_clear(&r);
	/* The next request goes out on a new connection. */
	th_expect_hello(evcon);
	evhttp_connection_free(evcon);
}

static void
test_http10_keepalive(void **state)
{
	const char *q = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
			"GET /hello HTTP/1.0\r\n\r\n";
	struct th_raw rc = { 0 };

	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_count_responses(rc.in), 2);
	assert_true(th_has_header(rc.in, "Connection: keep-alive"));
	assert_int_equal(th_seen.nrequests, 2);
	th_raw_free(&rc);
}

/* Leaves marks on its request: headers, a reason, a chunked body. */
static void
marking_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	th_note_request(req);
	evhttp_add_header(req->output_headers, "X-Mark", "1");
	evhttp_send_reply_start(req, 299, "Marked");
	evbuffer_add_printf(b, "marked");
	evhttp_send_reply_chunk(req, b);
	evhttp_send_reply_end(req);
	evbuffer_free(b);
}

/* Answers "clean" if its request looks as a new one must. */
static void
checking_cb(struct evhttp_request *req, void *arg)
{
	int clean = req->response_code == 0 &&
	    req->response_code_line == NULL && !req->chunked &&
	    !req->userdone && req->chunk_cb == NULL &&
	    TAILQ_EMPTY(req->output_headers) &&
	    evhttp_find_header(req->input_headers, "X-In") == NULL &&
	    evhttp_find_header(req->input_headers, "Host") != NULL &&
	    EVBUFFER_LENGTH(req->input_buffer) == 0 &&
	    EVBUFFER_LENGTH(req->output_buffer) == 0 &&
	    strcmp(req->uri, "/check") == 0 && req->remote_host != NULL &&
	    strcmp(req->remote_host, "127.0.0.1") == 0 && req->remote_port != 0;

	(void)arg;
	th_note_request(req);
	th_reply_text(req, clean ? "clean" : "dirty");
}

/*
 * A server keeps finished requests to use again: nothing of one request
 * (headers either way, body, status, chunking) shows in the next.
 */
static void
test_requests_start_clean(void **state)
{
	const char *q =
	    "POST /mark HTTP/1.1\r\nHost: h\r\nX-In: 1\r\n"
	    "Content-Length: 4\r\n\r\nbody"
	    "GET /check HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /mark HTTP/1.1\r\nHost: h\r\nX-In: 2\r\n"
	    "Content-Length: 4\r\n\r\nbody"
	    "GET /check HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct th_raw rc = { 0 };
	char *body;

	evhttp_set_cb(th_http, "/mark", marking_cb, NULL);
	evhttp_set_cb(th_http, "/check", checking_cb, NULL);
	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_count_responses(rc.in), 4);
	evbuffer_add(rc.in, "", 1);
	body = (char *)EVBUFFER_DATA(rc.in);
	assert_null(strstr(body, "dirty"));
	assert_non_null(strstr(strstr(body, "clean") + 1, "clean"));
	assert_int_equal(th_seen.nrequests, 4);
	th_raw_free(&rc);
}

static void
test_pipelining(void **state)
{
	const char *q =
	    "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd"
	    "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct th_raw rc = { 0 };
	const char *d, *a, *b, *c;

	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_count_responses(rc.in), 3);
	evbuffer_add(rc.in, "", 1);
	d = (const char *)EVBUFFER_DATA(rc.in);
	a = strstr(d, "\r\n\r\nslow");
	b = strstr(d, "\r\n\r\nabcd");
	c = strstr(d, "\r\n\r\nhello");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	assert_int_equal(th_seen.nrequests, 3);
	th_raw_free(&rc);
}

/*
 * A client that asked for the close gets its reply and a FIN at once,
 * without having to shut its own side; one that sent bytes after such a
 * request still gets the reply and a FIN (a lingering close), not a reset.
 */
static void
test_close_requested(void **state)
{
	const char *q = "GET /hello HTTP/1.1\r\nHost: h\r\n"
			"Connection: close\r\n\r\n";
	const char *extra = "GET /hello HTTP/1.1\r\nHost: h\r\n"
			    "Connection: close\r\n\r\nGET /hello HTTP/1.1\r\n";
	const char *q10 = "GET /hello HTTP/1.0\r\n\r\n";
	const char *slow = "GET /slow HTTP/1.0\r\n\r\n";
	struct th_raw rc = { 0 };

	th_raw_start(&rc, th_base, th_port, q, strlen(q), 0);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_count_responses(rc.in), 1);
	assert_true(th_has_header(rc.in, "Connection: close"));
	/* Well inside the lingering time: the server did not wait. */
	assert_true(rc.t_done - rc.t_start < 1000000);
	th_raw_free(&rc);

	th_raw_start(&rc, th_base, th_port, q10, strlen(q10), 0);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_status(rc.in), 200);
	assert_true(rc.t_done - rc.t_start < 1000000);
	th_raw_free(&rc);

	th_raw_start(&rc, th_base, th_port, extra, strlen(extra), 1);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_count_responses(rc.in), 1);
	assert_int_equal(th_seen.nrequests, 3);
	th_raw_free(&rc);

	/* The same, the extra bytes sent while the program holds it. */
	th_seen.nrequests = 0;
	th_raw_start(&rc, th_base, th_port, slow, strlen(slow), 0);
	assert_true(th_run_until(th_base, &th_seen.nrequests, 5000));
	th_raw_send(&rc, "GET /", 5);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_status(rc.in), 200);
	assert_int_equal(th_count_responses(rc.in), 1);
	th_raw_free(&rc);
}

static void
test_expect_continue(void **state)
{
	const char *h = "POST /echo HTTP/1.1\r\nHost: h\r\n"
			"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	struct th_raw rc = { 0 };
	int64_t t;

	th_raw_start(&rc, th_base, th_port, h, strlen(h), 0);
	t = tu_now_usec() + 3000000;
	while (EVBUFFER_LENGTH(rc.in) < 25 && tu_now_usec() < t)
		th_run_for(th_base, 10);
	assert_int_equal(memcmp(EVBUFFER_DATA(rc.in),
			     "HTTP/1.1 100 Continue\r\n\r\n", 25),
	    0);
	rc.shut_after = 1;
	th_raw_send(&rc, "hello", 5);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(th_status(rc.in), 200);
	assert_string_equal(th_seen.body, "hello");
	th_raw_free(&rc);
}

static void
test_big_bodies(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };
	char *body = malloc(300001);
	size_t i;

	th_request(evcon, EVHTTP_REQ_GET, "/big", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, TH_BIG_SIZE);
	for (i = 0; i < TH_BIG_SIZE; i++)
		if (r.body[i] != (char)('a' + (i % 4096) % 26))
			break;
	assert_int_equal(i, TH_BIG_SIZE);
	th_result_clear(&r);

	for (i = 0; i < 300000; i++)
		body[i] = (char)('A' + i % 26);
	body[300000] = '\0';
	th_request(evcon, EVHTTP_REQ_POST, "/echo", body, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, 300000);
	assert_memory_equal(r.body, body, 300000);
	th_result_clear(&r);
	free(body);
	evhttp_connection_free(evcon);
}

static void
test_server_idle_timeout(void **state)
{
	struct th_raw rc = { 0 };
	int64_t t0 = tu_now_usec();

	evhttp_set_timeout(th_http, 1);
	/* Connected, sends nothing: closed without a reply after 1 s. */
	th_raw_start(&rc, th_base, th_port, "", 0, 0);
	assert_true(th_run_until(th_base, &rc.done, 4000));
	assert_int_equal(EVBUFFER_LENGTH(rc.in), 0);
	assert_true(rc.t_done - t0 >= 900000);
	th_raw_free(&rc);
}

/*
 * A connection is read once as soon as it is accepted, before the server
 * registers it with the backend: a client that connects and only then
 * takes its time must still be heard, and a request that comes in two
 * pieces must be put together.
 */
static void
test_request_after_quiet_connect(void **state)
{
	const char *q = "GET /hello HTTP/1.1\r\nHost: h\r\n"
			"Connection: close\r\n\r\n";
	struct th_raw rc = { 0 };
	int64_t t = tu_now_usec() + 3000000;

	th_raw_start(&rc, th_base, th_port, "", 0, 0);
	/* The accepted socket is the newest descriptor once it exists. */
	while (th_highest_fd() <= rc.fd && tu_now_usec() < t)
		event_base_loop(th_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_true(th_highest_fd() > rc.fd);
	/* The pass that accepted it also made the first, empty read. */
	event_base_loop(th_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	th_raw_send(&rc, q, 20);
	/* Sent on loopback is received: the server reads it next pass. */
	while (rc.outoff < rc.outlen && tu_now_usec() < t)
		event_base_loop(th_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(rc.outoff, rc.outlen);
	event_base_loop(th_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	event_base_loop(th_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(th_seen.nrequests, 0);
	assert_int_equal(EVBUFFER_LENGTH(rc.in), 0);
	th_raw_send(&rc, q + 20, strlen(q) - 20);
	assert_true(th_run_until(th_base, &rc.done, 3000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_status(rc.in), 200);
	assert_int_equal(th_count_responses(rc.in), 1);
	assert_true(th_has_header(rc.in, "Connection: close"));
	assert_int_equal(th_seen.nrequests, 1);
	th_raw_free(&rc);
}

/*
 * A reply started at once and finished 1.3 s later, past a 1 s read
 * timeout.
 */
struct held {
	struct event ev;
	struct evhttp_request *req;
};

static void
held_reply(int fd, short what, void *arg)
{
	struct held *h = arg;
	struct evbuffer *buf = evbuffer_new();

	assert_non_null(buf);
	evbuffer_add_printf(buf, "held");
	evhttp_send_reply_chunk(h->req, buf);
	evhttp_send_reply_end(h->req);
	evbuffer_free(buf);
}

static void
held_cb(struct evhttp_request *req, void *arg)
{
	struct held *h = arg;
	struct timeval tv = { 1, 300000 };

	th_note_request(req);
	h->req = req;
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	evtimer_set(&h->ev, held_reply, h);
	event_base_set(th_base, &h->ev);
	evtimer_add(&h->ev, &tv);
}

/*
 * The read timeout bounds reading a request, not the program's answer:
 * a reply streamed past it still goes out whole, and the request
 * pipelined behind it is read and answered after it.
 */
static void
test_held_past_timeout(void **state)
{
	const char *q = "GET /held HTTP/1.1\r\nHost: h\r\n\r\n"
			"GET /hello HTTP/1.1\r\nHost: h\r\n"
			"Connection: close\r\n\r\n";
	struct th_raw rc = { 0 };
	struct held h;
	const char *d, *a, *b;

	evhttp_set_timeout(th_http, 1);
	evhttp_set_cb(th_http, "/held", held_cb, &h);
	th_raw_start(&rc, th_base, th_port, q, strlen(q), 0);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_count_responses(rc.in), 2);
	evbuffer_add(rc.in, "", 1);
	d = (const char *)EVBUFFER_DATA(rc.in);
	assert_non_null(a = strstr(d, "\r\n4\r\nheld\r\n0\r\n\r\n"));
	assert_non_null(b = strstr(d, "\r\n\r\nhello"));
	assert_true(a < b);
	assert_int_equal(th_seen.nrequests, 2);
	th_raw_free(&rc);
}

static void
output_buffer_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evbuffer_add_printf(req->output_buffer, "own buffer");
	evhttp_send_reply(req, HTTP_OK, "OK", req->output_buffer);
}

static void
test_reply_with_own_buffer(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	evhttp_set_cb(th_http, "/own", output_buffer_cb, NULL);
	th_request(evcon, EVHTTP_REQ_GET, "/own", NULL, &r);
	assert_string_equal(r.body, "own buffer");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_evhttp_start_global(void **state)
{
	struct event_base *global = event_init();
	unsigned short p = th_free_port();
	struct evhttp *h = evhttp_start("127.0.0.1", p);
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	assert_non_null(h);
	evhttp_set_gencb(h, gen_cb, NULL);
	evcon = evhttp_connection_new("127.0.0.1", p);
	evhttp_connection_set_base(evcon, NULL); /* the global base */
	evhttp_make_request(evcon, evhttp_request_new(th_result_cb, &r),
	    EVHTTP_REQ_GET, "/");
	assert_true(th_run_until(global, &r.done, 5000));
	assert_int_equal(r.code, 200);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
	evhttp_free(h);
	/* A second server on the same port must now be possible. */
	h = evhttp_start("127.0.0.1", p);
	assert_non_null(h);
	evhttp_free(h);
	event_base_free(global);
}

/* Two pipelined requests, the client keeping its side open. */
static void
test_pipelining_open_client(void **state)
{
	const char *q =
	    "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct th_raw rc = { 0 };

	th_raw_start(&rc, th_base, th_port, q, strlen(q), 0);
	assert_true(th_run_until(th_base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_count_responses(rc.in), 2);
	assert_int_equal(th_seen.nrequests, 2);
	assert_string_equal(th_seen.uri, "/hello");
	th_raw_free(&rc);
}

/*
 * A request line without a version, or with one other than HTTP/1.0 and
 * HTTP/1.1, gets 400 (as in 1.4), and its "headers" are never read.
 */
static void
test_http09(void **state)
{
	static const char *const q[] = {
		"GET /hello HTTP/0.9\r\n\r\n",
		"GET /hello\r\n\r\n",
		"GET /hello HTTP/1.2\r\nHost: h\r\n\r\n",
		("POST /echo HTTP/0.9\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "3\r\nabc\r\n0\r\n\r\n"),
	};
	struct th_raw rc;
	size_t i;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		memset(&rc, 0, sizeof(rc));
		assert_true(th_raw_exchange(&rc, th_base, th_port, q[i],
		    strlen(q[i]), 5000));
		assert_int_equal(th_status(rc.in), 400);
		assert_int_equal(th_count_responses(rc.in), 1);
		th_raw_free(&rc);
	}
	assert_int_equal(th_seen.nrequests, 0);
}

/* An HTTP/1.0 request whose Connection lists close is closed after. */
static void
test_http10_close_listed(void **state)
{
	const char *q = "GET /hello HTTP/1.0\r\n"
			"Connection: keep-alive, close\r\n\r\n";
	struct th_raw rc = { 0 };

	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_status(rc.in), 200);
	assert_true(th_has_header(rc.in, "Connection: close"));
	th_raw_free(&rc);
}

/* Replies with the status code and reason of cbarg (NULL: the default). */
static void
odd_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_add_header(req->output_headers, "Bad Name", "x");
	evhttp_add_header(req->output_headers, "", "empty name");
	evhttp_add_header(req->output_headers, "X-Good", "yes");
	evhttp_send_reply(req, 299, arg, NULL);
}

/*
 * A reason phrase cannot split the status line, a header whose name is
 * not a token is not sent, and an unknown code gets "Unknown".
 */
static void
test_reply_sanitised(void **state)
{
	const char *q =
	    "GET /odd HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /unknown HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct th_raw rc = { 0 };
	const char *d;

	evhttp_set_cb(th_http, "/odd", odd_cb, "Fine\r\nX-Evil: 1");
	evhttp_set_cb(th_http, "/unknown", odd_cb, NULL);
	event_set_log_callback(th_quiet_log);
	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_count_responses(rc.in), 2);
	evbuffer_add(rc.in, "", 1);
	d = (const char *)EVBUFFER_DATA(rc.in);
	assert_non_null(strstr(d, "HTTP/1.1 299 Fine  X-Evil: 1\r\n"));
	assert_non_null(strstr(d, "HTTP/1.1 299 Unknown\r\n"));
	assert_null(strstr(d, "\r\nX-Evil"));
	assert_null(strstr(d, "Bad Name"));
	assert_null(strstr(d, "empty name"));
	assert_true(th_has_header(rc.in, "X-Good: yes"));
	assert_true(th_has_header(rc.in, "Content-Length: 0"));
	th_raw_free(&rc);
}

/* Sets its own Content-Length (cbarg) that is not the body's. */
static void
own_length_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_add_header(req->output_headers, "Content-Length", arg);
	th_reply_text(req, "hello");
}

/*
 * A Content-Length set by the program that disagrees with the body, or
 * is negative, is replaced by the real one (a wrong one would split the
 * response), and the program is told in the log.
 */
static void
test_own_content_length(void **state)
{
	const char *q =
	    "GET /short HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /negative HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /right HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
	struct th_raw rc = { 0 };
	const char *d;

	evhttp_set_cb(th_http, "/short", own_length_cb, "3");
	evhttp_set_cb(th_http, "/negative", own_length_cb, "-1");
	evhttp_set_cb(th_http, "/right", own_length_cb, "5");
	th_log_count("Content-Length");
	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_count_responses(rc.in), 3);
	evbuffer_add(rc.in, "", 1);
	d = (const char *)EVBUFFER_DATA(rc.in);
	assert_null(strstr(d, "Content-Length: 3"));
	assert_null(strstr(d, "Content-Length: -1"));
	assert_non_null(
	    strstr(strstr(strstr(d, "Content-Length: 5\r\n"), "hello") + 1,
		"Content-Length: 5\r\n"));
	assert_int_equal(th_log_hits, 2);
	assert_non_null(strstr(th_log_last, "\"-1\""));
	th_raw_free(&rc);
}

static int refusals;

static void
count_refusals(int severity, const char *msg)
{
	if (strstr(msg, "cannot be answered") != NULL)
		refusals++;
}

/* A program answering twice: the first answer counts, the rest do not. */
static void
twice_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();

	th_note_request(req);
	th_reply_text(req, "first");
	/* req stays valid until the reply is out: later answers are refused. */
	evbuffer_add_printf(buf, "second");
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evhttp_send_error(req, 500, NULL);
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	evhttp_send_reply_chunk(req, buf);
	evhttp_send_reply_end(req);
	evbuffer_free(buf);
}

static void
test_reply_twice(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	refusals = 0;
	evhttp_set_cb(th_http, "/twice", twice_cb, NULL);
	event_set_log_callback(count_refusals);
	th_request(evcon, EVHTTP_REQ_GET, "/twice", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "first");
	assert_int_equal(refusals, 3);
	th_result_clear(&r);
	/* Nothing more came on the connection: it is still in step. */
	th_expect_hello(evcon);
	assert_int_equal(th_seen.nrequests, 2);
	evhttp_connection_free(evcon);
}

static void
test_bind_errors(void **state)
{
	struct evhttp *h = evhttp_new(th_base);
	struct rlimit old, low;
	char name[80];
	int fds[256], n = 0, fd;

	event_set_log_callback(th_quiet_log);
	/* The port is taken. */
	assert_int_equal(evhttp_bind_socket(h, "127.0.0.1", th_port), -1);
	assert_null(evhttp_start("127.0.0.1", th_port));
	/* A name that cannot resolve (a label over 63 bytes: never sent). */
	memset(name, 'a', 70);
	name[70] = '\0';
	assert_int_equal(evhttp_bind_socket(h, name, 0), -1);
	assert_int_equal(evhttp_accept_socket(h, -1), -1);
	/* No descriptor left for the socket. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)th_highest_fd() + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 256 && (fd = open("/dev/null", O_RDONLY)) != -1)
		fds[n++] = fd;
	assert_true(n < 256);
	assert_int_equal(evhttp_bind_socket(h, "127.0.0.1", 0), -1);
	while (n > 0)
		close(fds[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* None of that harmed the server. */
	assert_int_equal(evhttp_bind_socket(h, "127.0.0.1", 0), 0);
	evhttp_free(h);
}

static int accept_warnings;

static void
count_accept_warnings(int severity, const char *msg)
{
	if (strstr(msg, "accept") != NULL)
		accept_warnings++;
}

/*
 * Descriptors that are not listening sockets: one the backend cannot
 * watch is refused; a socket that cannot accept gets a warning each time
 * it is tried, and the server goes on serving its other listener.
 */
static void
test_accept_socket_misuse(void **state)
{
	struct evhttp_connection *evcon = th_client();
	char file[] = "/tmp/test_http_serverXXXXXX";
	int fd = mkstemp(file);

	assert_true(fd >= 0);
	unlink(file);
	event_set_log_callback(count_accept_warnings);
	/* epoll cannot watch a regular file (the others always can). */
	if (strcmp(tu_backend(), "epoll") == 0)
		assert_int_equal(evhttp_accept_socket(th_http, fd), -1);
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(shutdown(fd, SHUT_RDWR) == 0 || errno == ENOTCONN, 1);
	assert_int_equal(evhttp_accept_socket(th_http, fd), 0);
	th_expect_hello(evcon);
	assert_true(accept_warnings > 0);
	evhttp_connection_free(evcon);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_get),
		TH_TEST(test_post),
		TH_TEST(test_head),
		TH_TEST(test_not_found_and_callbacks),
		TH_TEST(test_send_error),
		TH_TEST(test_http10_keepalive),
		TH_TEST(test_pipelining),
		TH_TEST(test_pipelining_open_client),
		TH_TEST(test_close_requested),
		TH_TEST(test_expect_continue),
		TH_TEST(test_big_bodies),
		TH_TEST(test_server_idle_timeout),
		TH_TEST(test_request_after_quiet_connect),
		TH_TEST(test_requests_start_clean),
		TH_TEST(test_held_past_timeout),
		TH_TEST(test_reply_with_own_buffer),
		TH_TEST(test_evhttp_start_global),
		TH_TEST(test_http09),
		TH_TEST(test_http10_close_listed),
		TH_TEST(test_reply_sanitised),
		TH_TEST(test_reply_twice),
		TH_TEST(test_own_content_length),
		TH_TEST(test_bind_errors),
		TH_TEST(test_accept_socket_misuse),
	};

	return TU_RUN_PER_BACKEND("http_server", tests);
}
