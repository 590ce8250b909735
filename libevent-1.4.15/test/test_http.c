/*
 * test_http.c: evhttp round trips through our own client and server:
 * GET, POST with a body, HEAD, 404 and path callbacks, error pages,
 * chunked replies read piece by piece, HTTP/1.0 streaming, keep-alive
 * reuse and queued requests, pipelining, 100-continue, close callbacks,
 * connect retries, timeouts, big bodies, freeing from callbacks, and
 * evhttp_start() on the global base.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

static struct event_base *base;
static struct evhttp *http;
static unsigned short port;

/* What the server saw. */
static struct {
	int nrequests;
	char uri[256];
	enum evhttp_cmd_type type;
	char body[64];
	size_t bodylen;
	char clen[32];
	u_short ports[8];
	int closed;		/* server-side close callbacks */
} seen;

/* ---- server handlers ------------------------------------------------- */

static void
quiet_log(int severity, const char *msg)
{
}

static void
note_request(struct evhttp_request *req)
{
	const char *cl = evhttp_find_header(req->input_headers,
	    "Content-Length");

	if (seen.nrequests < 8)
		seen.ports[seen.nrequests] = req->remote_port;
	seen.nrequests++;
	snprintf(seen.uri, sizeof(seen.uri), "%s", evhttp_request_uri(req));
	seen.type = req->type;
	snprintf(seen.clen, sizeof(seen.clen), "%s", cl ? cl : "");
	seen.bodylen = EVBUFFER_LENGTH(req->input_buffer);
	snprintf(seen.body, sizeof(seen.body), "%.*s",
	    (int)(seen.bodylen < 63 ? seen.bodylen : 63),
	    (const char *)EVBUFFER_DATA(req->input_buffer));
}

static void
reply_text(struct evhttp_request *req, const char *text)
{
	struct evbuffer *buf = evbuffer_new();

	evbuffer_add_printf(buf, "%s", text);
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

static void
hello_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	reply_text(req, "hello");
}

static void
echo_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	evhttp_send_reply(req, HTTP_OK, "OK", req->input_buffer);
}

static void
port_cb(struct evhttp_request *req, void *arg)
{
	char text[16];

	note_request(req);
	snprintf(text, sizeof(text), "%u", (unsigned)req->remote_port);
	reply_text(req, text);
}

static void
close_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	evhttp_add_header(req->output_headers, "Connection", "close");
	reply_text(req, "bye");
}

static void
error_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	evhttp_send_error(req, 403, "Forbidden");
}

#define BIG_SIZE	(1024 * 1024 + 17)

static void
big_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();
	char block[4096];
	size_t i;

	note_request(req);
	for (i = 0; i < sizeof(block); i++)
		block[i] = (char)('a' + i % 26);
	for (i = 0; i < BIG_SIZE; i += sizeof(block))
		evbuffer_add(buf, block, BIG_SIZE - i < sizeof(block) ?
		    BIG_SIZE - i : sizeof(block));
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

/* /slow: answered 100 ms later from a timer. */
struct later {
	struct event ev;
	struct evhttp_request *req;
	int step;
};

static void
slow_reply_cb(int fd, short what, void *arg)
{
	struct later *l = arg;

	reply_text(l->req, "slow");
	free(l);
}

static void
slow_cb(struct evhttp_request *req, void *arg)
{
	struct later *l = calloc(1, sizeof(*l));
	struct timeval tv = { 0, 100000 };

	note_request(req);
	l->req = req;
	evtimer_set(&l->ev, slow_reply_cb, l);
	event_base_set(base, &l->ev);
	evtimer_add(&l->ev, &tv);
}

/* /chunked: three pieces 20 ms apart, then the end. */
static void
chunk_step_cb(int fd, short what, void *arg)
{
	struct later *l = arg;
	struct timeval tv = { 0, 20000 };
	struct evbuffer *buf;

	if (l->step == 3) {
		evhttp_send_reply_end(l->req);
		free(l);
		return;
	}
	buf = evbuffer_new();
	evbuffer_add_printf(buf, "piece-%d|", ++l->step);
	evhttp_send_reply_chunk(l->req, buf);
	evbuffer_free(buf);
	evtimer_add(&l->ev, &tv);
}

static void
chunked_cb(struct evhttp_request *req, void *arg)
{
	struct later *l = calloc(1, sizeof(*l));
	struct timeval tv = { 0, 20000 };

	note_request(req);
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	l->req = req;
	evtimer_set(&l->ev, chunk_step_cb, l);
	event_base_set(base, &l->ev);
	evtimer_add(&l->ev, &tv);
}

static void
server_closecb(struct evhttp_connection *evcon, void *arg)
{
	seen.closed++;
}

static void
watch_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    server_closecb, NULL);
	reply_text(req, "watched");
}

static void
drop_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	/* A program may drop a client instead of answering. */
	evhttp_connection_free(evhttp_request_get_connection(req));
}

static int
setup(void **state)
{
	memset(&seen, 0, sizeof(seen));
	base = event_base_new();
	assert_non_null(base);
	http = th_server(base, &port);
	evhttp_set_cb(http, "/hello", hello_cb, NULL);
	evhttp_set_cb(http, "/echo", echo_cb, NULL);
	evhttp_set_cb(http, "/port", port_cb, NULL);
	evhttp_set_cb(http, "/close", close_cb, NULL);
	evhttp_set_cb(http, "/error", error_cb, NULL);
	evhttp_set_cb(http, "/big", big_cb, NULL);
	evhttp_set_cb(http, "/slow", slow_cb, NULL);
	evhttp_set_cb(http, "/chunked", chunked_cb, NULL);
	evhttp_set_cb(http, "/watch", watch_cb, NULL);
	evhttp_set_cb(http, "/drop", drop_cb, NULL);
	return 0;
}

static int
teardown(void **state)
{
	if (http != NULL)
		evhttp_free(http);
	http = NULL;
	event_base_free(base);
	base = NULL;
	return 0;
}

/* ---- client helpers --------------------------------------------------- */

static struct evhttp_connection *
client(void)
{
	struct evhttp_connection *evcon =
	    evhttp_connection_new("127.0.0.1", port);

	assert_non_null(evcon);
	evhttp_connection_set_base(evcon, base);
	return evcon;
}

/* Make one request on evcon and run until its callback ran. */
static void
request(struct evhttp_connection *evcon, enum evhttp_cmd_type type,
    const char *uri, const char *body, struct th_result *r)
{
	struct evhttp_request *req = evhttp_request_new(th_result_cb, r);

	assert_non_null(req);
	evhttp_add_header(req->output_headers, "Host", "test");
	if (body != NULL)
		evbuffer_add(req->output_buffer, body, strlen(body));
	assert_int_equal(evhttp_make_request(evcon, req, type, uri), 0);
	assert_true(th_run_until(base, &r->done, 5000));
}

/* ---- tests ------------------------------------------------------------ */

static void
test_get(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	request(evcon, EVHTTP_REQ_GET, "/hello?x=1", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	assert_string_equal(r.clen, "5");
	assert_string_equal(r.ctype, "text/html; charset=ISO-8859-1");
	assert_string_equal(seen.uri, "/hello?x=1");
	assert_int_equal(seen.type, EVHTTP_REQ_GET);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_post(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	request(evcon, EVHTTP_REQ_POST, "/echo", "name=value&x=y", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "name=value&x=y");
	assert_int_equal(seen.type, EVHTTP_REQ_POST);
	assert_string_equal(seen.clen, "14");
	assert_string_equal(seen.body, "name=value&x=y");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_head(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	request(evcon, EVHTTP_REQ_HEAD, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, 0);
	assert_string_equal(r.clen, "5");	/* what a GET would get */
	assert_int_equal(seen.type, EVHTTP_REQ_HEAD);
	th_result_clear(&r);
	/* The connection is still in step: a GET works after it. */
	request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
gen_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	reply_text(req, "generic");
}

static void
test_not_found_and_callbacks(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	request(evcon, EVHTTP_REQ_GET, "/nothing/<here>", NULL, &r);
	assert_int_equal(r.code, 404);
	assert_non_null(strstr(r.body, "/nothing/&lt;here&gt;"));
	assert_null(strstr(r.body, "<here>"));
	assert_null(r.conn);	/* 404 keeps the connection */
	th_result_clear(&r);

	/* A path callback matches without the query string only. */
	request(evcon, EVHTTP_REQ_GET, "/hello?a=b", NULL, &r);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	request(evcon, EVHTTP_REQ_GET, "/hellox", NULL, &r);
	assert_int_equal(r.code, 404);
	th_result_clear(&r);

	evhttp_set_gencb(http, gen_cb, NULL);
	request(evcon, EVHTTP_REQ_GET, "/nothing", NULL, &r);
	assert_string_equal(r.body, "generic");
	th_result_clear(&r);

	assert_int_equal(evhttp_del_cb(http, "/hello"), 0);
	assert_int_equal(evhttp_del_cb(http, "/hello"), -1);
	request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_string_equal(r.body, "generic");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_send_error(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	request(evcon, EVHTTP_REQ_GET, "/error", NULL, &r);
	assert_int_equal(r.code, 403);
	assert_non_null(strstr(r.body, "403 Forbidden"));
	assert_string_equal(r.conn, "close");
	th_result_clear(&r);
	/* The next request goes out on a new connection. */
	request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

struct pieces {
	int calls;
	char data[256];
};

struct piece_req {
	struct pieces p;
	int done;
	int code;
};

static void
piece_cb(struct evhttp_request *req, void *arg)
{
	struct pieces *p = &((struct piece_req *)arg)->p;
	size_t len = strlen(p->data), n = EVBUFFER_LENGTH(req->input_buffer);

	p->calls++;
	if (len + n < sizeof(p->data)) {
		memcpy(p->data + len, EVBUFFER_DATA(req->input_buffer), n);
		p->data[len + n] = '\0';
	}
}

static void
piece_done_cb(struct evhttp_request *req, void *arg)
{
	struct piece_req *pr = arg;

	pr->done = 1;
	pr->code = req != NULL ? req->response_code : -1;
}

static void
test_chunked_reply(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };
	struct piece_req pr;
	struct evhttp_request *req;

	/* Without a chunk callback the whole body comes at the end. */
	request(evcon, EVHTTP_REQ_GET, "/chunked", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.chunked, 1);
	assert_null(r.clen);
	assert_string_equal(r.body, "piece-1|piece-2|piece-3|");
	th_result_clear(&r);

	/* With one, each piece is delivered as it arrives. */
	memset(&pr, 0, sizeof(pr));
	req = evhttp_request_new(piece_done_cb, &pr);
	/* The chunk callback gets the request's cb_arg too. */
	evhttp_request_set_chunked_cb(req, piece_cb);
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/chunked"), 0);
	assert_true(th_run_until(base, &pr.done, 5000));
	assert_int_equal(pr.code, 200);
	assert_int_equal(pr.p.calls, 3);
	assert_string_equal(pr.p.data, "piece-1|piece-2|piece-3|");
	/* The keep-alive connection still works after a chunked reply. */
	request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_http10_streaming(void **state)
{
	const char *q = "GET /chunked HTTP/1.0\r\n\r\n";
	struct th_raw rc = { 0 };
	char *body;

	assert_true(th_raw_exchange(&rc, base, port, q, strlen(q), 5000));
	assert_int_equal(th_status(rc.in), 200);
	assert_int_equal(memcmp(EVBUFFER_DATA(rc.in), "HTTP/1.0 200", 12), 0);
	assert_true(th_has_header(rc.in, "Connection: close"));
	assert_false(th_has_header(rc.in, "Transfer-Encoding: chunked"));
	body = th_body(rc.in);
	assert_string_equal(body, "piece-1|piece-2|piece-3|");
	free(body);
	th_raw_free(&rc);
}

static void
test_http10_keepalive(void **state)
{
	const char *q = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	    "GET /hello HTTP/1.0\r\n\r\n";
	struct th_raw rc = { 0 };

	assert_true(th_raw_exchange(&rc, base, port, q, strlen(q), 5000));
	assert_int_equal(th_count_responses(rc.in), 2);
	assert_true(th_has_header(rc.in, "Connection: keep-alive"));
	assert_int_equal(seen.nrequests, 2);
	th_raw_free(&rc);
}

static void
test_keepalive_reuse(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r1 = { 0 }, r2 = { 0 };

	request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r1);
	request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r2);
	assert_int_equal(r1.code, 200);
	assert_int_equal(r2.code, 200);
	/* Same client port: the same TCP connection carried both. */
	assert_string_equal(r1.body, r2.body);
	th_result_clear(&r1);
	th_result_clear(&r2);
	evhttp_connection_free(evcon);
}

static void
test_queued_requests(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r[3];
	const char *uris[3] = { "/slow", "/hello", "/port" };
	int i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		struct evhttp_request *req =
		    evhttp_request_new(th_result_cb, &r[i]);
		assert_int_equal(evhttp_make_request(evcon, req,
		    EVHTTP_REQ_GET, uris[i]), 0);
	}
	assert_true(th_run_until(base, &r[2].done, 5000));
	assert_true(r[0].done && r[1].done);
	assert_string_equal(r[0].body, "slow");
	assert_string_equal(r[1].body, "hello");
	/* Answered in order, on one connection. */
	assert_true(r[0].t_done <= r[1].t_done && r[1].t_done <= r[2].t_done);
	assert_int_equal(seen.nrequests, 3);
	assert_int_equal(seen.ports[0], seen.ports[1]);
	assert_int_equal(seen.ports[1], seen.ports[2]);
	for (i = 0; i < 3; i++)
		th_result_clear(&r[i]);
	evhttp_connection_free(evcon);
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

	assert_true(th_raw_exchange(&rc, base, port, q, strlen(q), 5000));
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
	assert_int_equal(seen.nrequests, 3);
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

	th_raw_start(&rc, base, port, q, strlen(q), 0);
	assert_true(th_run_until(base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_count_responses(rc.in), 1);
	assert_true(th_has_header(rc.in, "Connection: close"));
	/* Well inside the lingering time: the server did not wait. */
	assert_true(rc.t_done - rc.t_start < 1000000);
	th_raw_free(&rc);

	th_raw_start(&rc, base, port, q10, strlen(q10), 0);
	assert_true(th_run_until(base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_status(rc.in), 200);
	assert_true(rc.t_done - rc.t_start < 1000000);
	th_raw_free(&rc);

	th_raw_start(&rc, base, port, extra, strlen(extra), 1);
	assert_true(th_run_until(base, &rc.done, 5000));
	assert_int_equal(rc.err, 0);
	assert_int_equal(th_count_responses(rc.in), 1);
	assert_int_equal(seen.nrequests, 3);
	th_raw_free(&rc);

	/* The same, the extra bytes sent while the program holds it. */
	seen.nrequests = 0;
	th_raw_start(&rc, base, port, slow, strlen(slow), 0);
	assert_true(th_run_until(base, &seen.nrequests, 5000));
	th_raw_send(&rc, "GET /", 5);
	assert_true(th_run_until(base, &rc.done, 5000));
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

	th_raw_start(&rc, base, port, h, strlen(h), 0);
	t = tu_now_usec() + 3000000;
	while (EVBUFFER_LENGTH(rc.in) < 25 && tu_now_usec() < t)
		th_run_for(base, 10);
	assert_int_equal(memcmp(EVBUFFER_DATA(rc.in),
	    "HTTP/1.1 100 Continue\r\n\r\n", 25), 0);
	rc.shut_after = 1;
	th_raw_send(&rc, "hello", 5);
	assert_true(th_run_until(base, &rc.done, 5000));
	assert_int_equal(th_status(rc.in), 200);
	assert_string_equal(seen.body, "hello");
	th_raw_free(&rc);
}

static int client_closed;

static void
client_closecb(struct evhttp_connection *evcon, void *arg)
{
	client_closed++;
}

static void
test_close_callbacks(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	client_closed = 0;
	evhttp_connection_set_closecb(evcon, client_closecb, NULL);
	/* The server says Connection: close: the client's socket closes. */
	request(evcon, EVHTTP_REQ_GET, "/close", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.conn, "close");
	assert_int_equal(client_closed, 1);
	th_result_clear(&r);

	/* The client goes away: the server's close callback runs. */
	request(evcon, EVHTTP_REQ_GET, "/watch", NULL, &r);
	assert_int_equal(r.code, 200);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
	assert_int_equal(client_closed, 2);
	assert_true(th_run_until(base, &seen.closed, 3000));
}

/* A callback that frees its own connection must be safe. */
static struct evhttp_connection *to_free;

static void
free_conn_cb(struct evhttp_request *req, void *arg)
{
	th_result_cb(req, arg);
	evhttp_connection_free(to_free);
}

static void
free_in_closecb(struct evhttp_connection *evcon, void *arg)
{
	(*(int *)arg)++;
	evhttp_connection_free(evcon);
}

static void
test_free_from_callbacks(void **state)
{
	struct th_result r = { 0 };
	struct evhttp_request *req;
	int closes = 0;

	/* From the request callback. */
	to_free = client();
	req = evhttp_request_new(free_conn_cb, &r);
	evhttp_make_request(to_free, req, EVHTTP_REQ_GET, "/hello");
	assert_true(th_run_until(base, &r.done, 5000));
	assert_int_equal(r.code, 200);
	th_result_clear(&r);

	/* From the close callback, while the connection is closing. */
	to_free = client();
	evhttp_connection_set_closecb(to_free, free_in_closecb, &closes);
	req = evhttp_request_new(th_result_cb, &r);
	evhttp_make_request(to_free, req, EVHTTP_REQ_GET, "/close");
	assert_true(th_run_until(base, &r.done, 5000));
	assert_int_equal(r.code, 200);
	assert_int_equal(closes, 1);
	th_result_clear(&r);

	/* A server program dropping the client: the request fails. */
	to_free = client();
	request(to_free, EVHTTP_REQ_GET, "/drop", NULL, &r);
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	evhttp_connection_free(to_free);
}

static void
test_big_bodies(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };
	char *body = malloc(300001);
	size_t i;

	request(evcon, EVHTTP_REQ_GET, "/big", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, BIG_SIZE);
	for (i = 0; i < BIG_SIZE; i++)
		if (r.body[i] != (char)('a' + (i % 4096) % 26))
			break;
	assert_int_equal(i, BIG_SIZE);
	th_result_clear(&r);

	for (i = 0; i < 300000; i++)
		body[i] = (char)('A' + i % 26);
	body[300000] = '\0';
	request(evcon, EVHTTP_REQ_POST, "/echo", body, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.bodylen, 300000);
	assert_memory_equal(r.body, body, 300000);
	th_result_clear(&r);
	free(body);
	evhttp_connection_free(evcon);
}

/* A port with nothing listening on it. */
static unsigned short
dead_port(void)
{
	unsigned short p;
	int fd = tu_listen_loopback(&p);

	close(fd);
	return p;
}

static void
test_retries_fail(void **state)
{
	struct evhttp_connection *evcon =
	    evhttp_connection_new("127.0.0.1", dead_port());
	struct th_result r = { 0 };
	struct evhttp_request *req = evhttp_request_new(th_result_cb, &r);
	int64_t t0 = tu_now_usec();

	evhttp_connection_set_base(evcon, base);
	evhttp_connection_set_retries(evcon, 2);
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/"), 0);
	assert_false(r.done);	/* never called back from inside */
	assert_true(th_run_until(base, &r.done, 5000));
	assert_int_equal(r.code, -1);
	/* Two retries: 250 ms, then 500 ms of backoff. */
	assert_true(r.t_done - t0 >= 700000);
	assert_true(r.t_done - t0 < 3000000);
	evhttp_connection_free(evcon);
}

struct late_server {
	struct event ev;
	unsigned short port;
	struct evhttp *http;
};

static void
late_listen_cb(int fd, short what, void *arg)
{
	struct late_server *ls = arg;

	ls->http = evhttp_new(base);
	assert_int_equal(evhttp_bind_socket(ls->http, "127.0.0.1",
	    ls->port), 0);
	evhttp_set_gencb(ls->http, hello_cb, NULL);
}

static void
test_retries_succeed(void **state)
{
	struct late_server ls;
	struct timeval tv = { 0, 400000 };
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&ls, 0, sizeof(ls));
	ls.port = dead_port();
	evcon = evhttp_connection_new("127.0.0.1", ls.port);
	evhttp_connection_set_base(evcon, base);
	evhttp_connection_set_retries(evcon, 5);
	evtimer_set(&ls.ev, late_listen_cb, &ls);
	event_base_set(base, &ls.ev);
	evtimer_add(&ls.ev, &tv);
	request(evcon, EVHTTP_REQ_GET, "/", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
	evhttp_free(ls.http);
}

static void
test_client_timeout(void **state)
{
	unsigned short p;
	int lfd = tu_listen_loopback(&p);	/* accepts, never answers */
	struct evhttp_connection *evcon = evhttp_connection_new("127.0.0.1",
	    p);
	struct th_result r = { 0 };
	int64_t t0 = tu_now_usec();

	evhttp_connection_set_base(evcon, base);
	evhttp_connection_set_timeout(evcon, 1);
	request(evcon, EVHTTP_REQ_GET, "/", NULL, &r);
	assert_int_equal(r.code, -1);
	assert_true(r.t_done - t0 >= 900000);
	assert_true(r.t_done - t0 < 3000000);
	evhttp_connection_free(evcon);
	close(lfd);
}

static void
test_server_idle_timeout(void **state)
{
	struct th_raw rc = { 0 };
	int64_t t0 = tu_now_usec();

	evhttp_set_timeout(http, 1);
	/* Connected, sends nothing: closed without a reply after 1 s. */
	th_raw_start(&rc, base, port, "", 0, 0);
	assert_true(th_run_until(base, &rc.done, 4000));
	assert_int_equal(EVBUFFER_LENGTH(rc.in), 0);
	assert_true(rc.t_done - t0 >= 900000);
	th_raw_free(&rc);
}


static void
test_local_address_and_port(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };
	unsigned short local = dead_port();
	char want[16];

	evhttp_connection_set_local_address(evcon, "127.0.0.1");
	evhttp_connection_set_local_port(evcon, local);
	request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r);
	assert_int_equal(r.code, 200);
	snprintf(want, sizeof(want), "%u", (unsigned)local);
	assert_string_equal(r.body, want);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_close_delimited_response(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };
	struct evhttp_request *req = evhttp_request_new(th_result_cb, &r);

	/* An HTTP/1.0 request: the streamed reply ends with the close. */
	req->minor = 0;
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/chunked"), 0);
	assert_true(th_run_until(base, &r.done, 5000));
	assert_int_equal(r.code, 200);
	assert_null(r.clen);
	assert_int_equal(r.chunked, 0);
	assert_string_equal(r.body, "piece-1|piece-2|piece-3|");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

/* Each response's callback makes the next request on the connection. */
struct chain {
	struct evhttp_connection *evcon;
	int left;
	int ok;
	int done;
};

static void
chain_cb(struct evhttp_request *req, void *arg)
{
	struct chain *c = arg;

	if (req != NULL && req->response_code == 200)
		c->ok++;
	if (--c->left == 0) {
		c->done = 1;
		return;
	}
	evhttp_make_request(c->evcon, evhttp_request_new(chain_cb, c),
	    EVHTTP_REQ_GET, c->left % 2 ? "/close" : "/hello");
}

static void
test_requests_from_callbacks(void **state)
{
	struct chain c;

	memset(&c, 0, sizeof(c));
	c.evcon = client();
	c.left = 6;
	evhttp_make_request(c.evcon, evhttp_request_new(chain_cb, &c),
	    EVHTTP_REQ_GET, "/hello");
	assert_true(th_run_until(base, &c.done, 5000));
	assert_int_equal(c.ok, 6);
	evhttp_connection_free(c.evcon);
}

static void
output_buffer_cb(struct evhttp_request *req, void *arg)
{
	note_request(req);
	evbuffer_add_printf(req->output_buffer, "own buffer");
	evhttp_send_reply(req, HTTP_OK, "OK", req->output_buffer);
}

static void
test_reply_with_own_buffer(void **state)
{
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	evhttp_set_cb(http, "/own", output_buffer_cb, NULL);
	request(evcon, EVHTTP_REQ_GET, "/own", NULL, &r);
	assert_string_equal(r.body, "own buffer");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_evhttp_start_global(void **state)
{
	struct event_base *global = event_init();
	unsigned short p = dead_port();
	struct evhttp *h = evhttp_start("127.0.0.1", p);
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	assert_non_null(h);
	evhttp_set_gencb(h, hello_cb, NULL);
	evcon = evhttp_connection_new("127.0.0.1", p);	/* global base */
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

static void
test_request_api(void **state)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evhttp_connection *evcon = client();
	char *addr;
	u_short p;

	assert_int_equal(req->major, 1);
	assert_int_equal(req->minor, 1);
	assert_int_equal(req->kind, EVHTTP_RESPONSE);
	assert_null(evhttp_request_get_connection(req));
	/* Bad URIs and methods are refused; the request stays ours. */
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/a b"), -1);
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/a\r\nX: y"), -1);
	assert_int_equal(evhttp_make_request(evcon, req,
	    (enum evhttp_cmd_type)7, "/"), -1);
	evhttp_request_free(req);
	evhttp_connection_get_peer(evcon, &addr, &p);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(p, port);
	evhttp_connection_free(evcon);
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
	struct evbuffer *buf;

	if (evhttp_request_get_connection(l->req) == NULL) {
		fv.orphaned = 1;
		evhttp_send_reply_end(l->req);
		free(l);
		return;
	}
	buf = evbuffer_new();
	while (EVBUFFER_LENGTH(buf) < 65536)
		evbuffer_add(buf, "0123456789abcdef", 16);
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

	note_request(req);
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	fv.started = 1;
	l->req = req;
	evtimer_set(&l->ev, forever_step_cb, l);
	event_base_set(base, &l->ev);
	evtimer_add(&l->ev, &tv);
}

static void
test_stream_client_gone(void **state)
{
	const char *q = "GET /forever HTTP/1.1\r\nHost: h\r\n\r\n";
	int fd;

	memset(&fv, 0, sizeof(fv));
	evhttp_set_cb(http, "/forever", forever_cb, NULL);
	fd = tu_connect_loopback(port);
	assert_int_equal(write(fd, q, strlen(q)), (ssize_t)strlen(q));
	assert_true(th_run_until(base, &fv.started, 5000));
	/* Unread data: the close resets the connection. */
	close(fd);
	assert_true(th_run_until(base, &fv.orphaned, 5000));
	assert_true(fv.pieces > 0);
}

/* Bytes the program put in output_buffer before evhttp_send_reply_start. */
static void
early_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();

	note_request(req);
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
	struct evhttp_connection *evcon = client();
	struct th_result r = { 0 };

	evhttp_set_cb(http, "/early", early_cb, NULL);
	request(evcon, EVHTTP_REQ_GET, "/early", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_int_equal(r.chunked, 1);
	assert_string_equal(r.body, "early|late|");
	th_result_clear(&r);
	/* The connection is still in step. */
	request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

/*
 * A fake server for the client tests: connection i gets replies[i] once
 * its request's header block is in, then (if close_after) is closed.
 */
struct fake {
	int lfd;
	struct event ev_accept;
	int nconns;
	const char *replies[4];
	size_t lens[4];
	int close_after;
	struct fake_conn {
		int fd;
		struct event ev;
		char in[4096];
		size_t inlen;
		struct fake *f;
		int i;
	} conns[4];
};

static void
fake_read_cb(int fd, short what, void *arg)
{
	struct fake_conn *c = arg;
	struct fake *f = c->f;
	ssize_t n, off;

	n = read(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n <= 0) {
		event_del(&c->ev);
		close(fd);
		c->fd = -1;
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (strstr(c->in, "\r\n\r\n") == NULL)
		return;
	c->inlen = 0;
	for (off = 0; off < (ssize_t)f->lens[c->i]; off += n) {
		n = write(fd, f->replies[c->i] + off, f->lens[c->i] - off);
		if (n <= 0)
			break;
	}
	if (f->close_after) {
		event_del(&c->ev);
		close(fd);
		c->fd = -1;
	}
}

static void
fake_accept_cb(int fd, short what, void *arg)
{
	struct fake *f = arg;
	struct fake_conn *c;
	int nfd = accept(fd, NULL, NULL);

	if (nfd == -1)
		return;
	if (f->nconns == 4) {
		close(nfd);
		return;
	}
	c = &f->conns[f->nconns];
	c->i = f->nconns++;
	c->fd = nfd;
	c->f = f;
	event_set(&c->ev, nfd, EV_READ | EV_PERSIST, fake_read_cb, c);
	event_base_set(base, &c->ev);
	event_add(&c->ev, NULL);
}

static unsigned short
fake_start(struct fake *f)
{
	unsigned short fport;

	f->lfd = tu_listen_loopback(&fport);
	event_set(&f->ev_accept, f->lfd, EV_READ | EV_PERSIST,
	    fake_accept_cb, f);
	event_base_set(base, &f->ev_accept);
	event_add(&f->ev_accept, NULL);
	return fport;
}

static void
fake_stop(struct fake *f)
{
	int i;

	event_del(&f->ev_accept);
	close(f->lfd);
	for (i = 0; i < f->nconns; i++) {
		if (f->conns[i].fd == -1)
			continue;
		event_del(&f->conns[i].ev);
		close(f->conns[i].fd);
	}
}

static void
fake_request(struct evhttp_connection *evcon, struct th_result *r)
{
	struct evhttp_request *req = evhttp_request_new(th_result_cb, r);

	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/"), 0);
	assert_true(th_run_until(base, &r->done, 5000));
}

/*
 * A hostile server: bytes after a response are never taken as the next
 * response, bad framing fails the request, and the connection then
 * starts afresh for the next one.
 */
static void
test_client_hostile_server(void **state)
{
	static const char injected[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 5\r\n\r\nhello"
	    "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected";
	static const char conflict[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n";
	static const char good[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 4\r\n\r\ngood";
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	char *huge;
	size_t hlen = 100 * 1024;	/* over 64 KiB; fits in the socket */

	memset(&f, 0, sizeof(f));
	huge = malloc(hlen);
	assert_non_null(huge);
	memset(huge, 'a', hlen);
	memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
	f.replies[0] = injected;
	f.lens[0] = sizeof(injected) - 1;
	f.replies[1] = conflict;
	f.lens[1] = sizeof(conflict) - 1;
	f.replies[2] = huge;
	f.lens[2] = hlen;
	f.replies[3] = good;
	f.lens[3] = sizeof(good) - 1;
	evcon = evhttp_connection_new("127.0.0.1", fake_start(&f));
	evhttp_connection_set_base(evcon, base);
	event_set_log_callback(quiet_log);

	fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	fake_request(evcon, &r);		/* new connection: not "injected" */
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	fake_request(evcon, &r);		/* headers over the limit */
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "good");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 4);

	event_set_log_callback(NULL);
	evhttp_connection_free(evcon);
	fake_stop(&f);
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_callbacks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chunked_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http10_streaming, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http10_keepalive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_queued_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pipelining, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_requested, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expect_continue, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_callbacks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_from_callbacks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_bodies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retries_fail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retries_succeed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_client_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_server_idle_timeout,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_address_and_port,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_delimited_response,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_from_callbacks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_with_own_buffer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_evhttp_start_global,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_api, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stream_client_gone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_prefilled_buffer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_hostile_server,
		    setup, teardown),
	};

	return TU_RUN_PER_BACKEND("http", tests);
}
