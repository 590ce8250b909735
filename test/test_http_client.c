/*
 * test_http_client.c: our client against our server: bodies piece by
 * piece, keep-alive reuse and queued requests, close callbacks, freeing
 * from callbacks, connect retries, failures and timeouts, the local
 * address and port, close-delimited responses, requests made from
 * callbacks, moving a connection to another base, and the request API.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

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
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };
	struct piece_req pr;
	struct evhttp_request *req;

	/* Without a chunk callback the whole body comes at the end. */
	th_request(evcon, EVHTTP_REQ_GET, "/chunked", NULL, &r);
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
			     "/chunked"),
	    0);
	assert_true(th_run_until(th_base, &pr.done, 5000));
	assert_int_equal(pr.code, 200);
	assert_int_equal(pr.p.calls, 3);
	assert_string_equal(pr.p.data, "piece-1|piece-2|piece-3|");
	/* The keep-alive connection still works after a chunked reply. */
	th_expect_hello(evcon);
	evhttp_connection_free(evcon);
}

static void
test_keepalive_reuse(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r1 = { 0 }, r2 = { 0 };

	th_request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r1);
	th_request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r2);
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
	struct evhttp_connection *evcon = th_client();
	struct th_result r[3];
	const char *uris[3] = { "/slow", "/hello", "/port" };
	int i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		struct evhttp_request *req = evhttp_request_new(th_result_cb,
		    &r[i]);
		assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
				     uris[i]),
		    0);
	}
	assert_true(th_run_until(th_base, &r[2].done, 5000));
	assert_true(r[0].done && r[1].done);
	assert_string_equal(r[0].body, "slow");
	assert_string_equal(r[1].body, "hello");
	/* Answered in order, on one connection. */
	assert_true(r[0].t_done <= r[1].t_done && r[1].t_done <= r[2].t_done);
	assert_int_equal(th_seen.nrequests, 3);
	assert_int_equal(th_seen.ports[0], th_seen.ports[1]);
	assert_int_equal(th_seen.ports[1], th_seen.ports[2]);
	for (i = 0; i < 3; i++)
		th_result_clear(&r[i]);
	evhttp_connection_free(evcon);
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
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };

	client_closed = 0;
	evhttp_connection_set_closecb(evcon, client_closecb, NULL);
	/* The server says Connection: close: the client's socket closes. */
	th_request(evcon, EVHTTP_REQ_GET, "/close", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.conn, "close");
	assert_int_equal(client_closed, 1);
	th_result_clear(&r);

	/* The client goes away: the server's close callback runs. */
	th_request(evcon, EVHTTP_REQ_GET, "/watch", NULL, &r);
	assert_int_equal(r.code, 200);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
	assert_int_equal(client_closed, 2);
	assert_true(th_run_until(th_base, &th_seen.closed, 3000));
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
	to_free = th_client();
	req = evhttp_request_new(free_conn_cb, &r);
	evhttp_make_request(to_free, req, EVHTTP_REQ_GET, "/hello");
	assert_true(th_run_until(th_base, &r.done, 5000));
	assert_int_equal(r.code, 200);
	th_result_clear(&r);

	/* From the close callback, while the connection is closing. */
	to_free = th_client();
	evhttp_connection_set_closecb(to_free, free_in_closecb, &closes);
	req = evhttp_request_new(th_result_cb, &r);
	evhttp_make_request(to_free, req, EVHTTP_REQ_GET, "/close");
	assert_true(th_run_until(th_base, &r.done, 5000));
	assert_int_equal(r.code, 200);
	assert_int_equal(closes, 1);
	th_result_clear(&r);

	/* The program frees it and its close callback frees it again. */
	to_free = th_client();
	evhttp_connection_set_closecb(to_free, free_in_closecb, &closes);
	th_request(to_free, EVHTTP_REQ_GET, "/hello", NULL, &r);
	th_result_clear(&r);
	evhttp_connection_free(to_free);
	assert_int_equal(closes, 2);

	/* A server program dropping the client: the request fails. */
	to_free = th_client();
	th_request(to_free, EVHTTP_REQ_GET, "/drop", NULL, &r);
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	evhttp_connection_free(to_free);
}

/* A chunk callback may free the connection: nothing is called after. */
static void
piece_free_cb(struct evhttp_request *req, void *arg)
{
	piece_cb(req, arg);
	evhttp_connection_free(to_free);
}

static void
test_free_from_chunk_callback(void **state)
{
	struct piece_req pr;
	struct evhttp_request *req;

	memset(&pr, 0, sizeof(pr));
	to_free = th_client();
	req = evhttp_request_new(piece_done_cb, &pr);
	evhttp_request_set_chunked_cb(req, piece_free_cb);
	assert_int_equal(evhttp_make_request(to_free, req, EVHTTP_REQ_GET,
			     "/chunked"),
	    0);
	assert_true(th_run_until(th_base, &pr.p.calls, 5000));
	/* Long enough for the other pieces (20 ms apart) to have come. */
	th_run_for(th_base, 150);
	assert_int_equal(pr.p.calls, 1);
	assert_string_equal(pr.p.data, "piece-1|");
	assert_false(pr.done);
}

static void
test_retries_fail(void **state)
{
	struct evhttp_connection *evcon = evhttp_connection_new("127.0.0.1",
	    th_free_port());
	struct th_result r = { 0 };
	struct evhttp_request *req = evhttp_request_new(th_result_cb, &r);
	int64_t t0 = tu_now_usec();

	evhttp_connection_set_base(evcon, th_base);
	evhttp_connection_set_retries(evcon, 2);
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET, "/"),
	    0);
	assert_false(r.done); /* never called back from inside */
	assert_true(th_run_until(th_base, &r.done, 5000));
	assert_int_equal(r.code, -1);
	/* Two retries: 250 ms, then 500 ms of backoff. */
	assert_true(r.t_done - t0 >= 700000);
	assert_true(r.t_done - t0 < 3000000);
	evhttp_connection_free(evcon);
}

static void
late_gen_cb(struct evhttp_request *req, void *arg)
{
	th_reply_text(req, "hello");
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

	ls->http = evhttp_new(th_base);
	assert_int_equal(evhttp_bind_socket(ls->http, "127.0.0.1", ls->port),
	    0);
	evhttp_set_gencb(ls->http, late_gen_cb, NULL);
}

static void
test_retries_succeed(void **state)
{
	struct late_server ls;
	struct timeval tv = { 0, 400000 };
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&ls, 0, sizeof(ls));
	ls.port = th_free_port();
	evcon = evhttp_connection_new("127.0.0.1", ls.port);
	evhttp_connection_set_base(evcon, th_base);
	evhttp_connection_set_retries(evcon, 5);
	evtimer_set(&ls.ev, late_listen_cb, &ls);
	event_base_set(th_base, &ls.ev);
	evtimer_add(&ls.ev, &tv);
	th_request(evcon, EVHTTP_REQ_GET, "/", NULL, &r);
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
	int lfd = tu_listen_loopback(&p); /* accepts, never answers */
	struct evhttp_connection *evcon = evhttp_connection_new("127.0.0.1", p);
	struct th_result r = { 0 };
	int64_t t0 = tu_now_usec();

	evhttp_connection_set_base(evcon, th_base);
	evhttp_connection_set_timeout(evcon, 1);
	th_request(evcon, EVHTTP_REQ_GET, "/", NULL, &r);
	assert_int_equal(r.code, -1);
	assert_true(r.t_done - t0 >= 900000);
	assert_true(r.t_done - t0 < 3000000);
	evhttp_connection_free(evcon);
	close(lfd);
}

static void
test_local_address_and_port(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };
	unsigned short local = th_free_port();
	char want[16];

	evhttp_connection_set_local_address(evcon, "127.0.0.1");
	evhttp_connection_set_local_port(evcon, local);
	th_request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r);
	assert_int_equal(r.code, 200);
	snprintf(want, sizeof(want), "%u", (unsigned)local);
	assert_string_equal(r.body, want);
	th_result_clear(&r);
	evhttp_connection_free(evcon);
}

static void
test_close_delimited_response(void **state)
{
	struct evhttp_connection *evcon = th_client();
	struct th_result r = { 0 };
	struct evhttp_request *req = evhttp_request_new(th_result_cb, &r);

	/* An HTTP/1.0 request: the streamed reply ends with the close. */
	req->minor = 0;
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
			     "/chunked"),
	    0);
	assert_true(th_run_until(th_base, &r.done, 5000));
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
	c.evcon = th_client();
	c.left = 6;
	evhttp_make_request(c.evcon, evhttp_request_new(chain_cb, &c),
	    EVHTTP_REQ_GET, "/hello");
	assert_true(th_run_until(th_base, &c.done, 5000));
	assert_int_equal(c.ok, 6);
	evhttp_connection_free(c.evcon);
}

static void
test_request_api(void **state)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evhttp_connection *evcon = th_client();
	char *addr;
	u_short p;

	assert_int_equal(req->major, 1);
	assert_int_equal(req->minor, 1);
	assert_int_equal(req->kind, EVHTTP_RESPONSE);
	assert_null(evhttp_request_get_connection(req));
	/* Bad URIs and methods are refused; the request stays ours. */
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
			     "/a b"),
	    -1);
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
			     "/a\r\nX: y"),
	    -1);
	assert_int_equal(evhttp_make_request(evcon, req,
			     (enum evhttp_cmd_type)7, "/"),
	    -1);
	evhttp_request_free(req);
	evhttp_connection_get_peer(evcon, &addr, &p);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(p, th_port);
	evhttp_connection_free(evcon);
}

static void
test_connect_errors(void **state)
{
	struct evhttp_connection *evcon = th_client(), *bad;
	struct th_result r = { 0 };
	struct evhttp_request *req = evhttp_request_new(th_result_cb, &r);
	unsigned short busy;
	int lfd = tu_listen_loopback(&busy);
	char name[80];

	event_set_log_callback(th_quiet_log);
	assert_null(evhttp_connection_new(NULL, 80));
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET, ""),
	    -1);
	/* A local address of the other family: the request fails, later. */
	evhttp_connection_set_local_address(evcon, "::1");
	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
			     "/hello"),
	    0);
	assert_false(r.done);
	assert_true(th_run_until(th_base, &r.done, 3000));
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	/* A local port in use. */
	evhttp_connection_set_local_address(evcon, "127.0.0.1");
	evhttp_connection_set_local_port(evcon, busy);
	th_request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	/* Without them the connection works. */
	evhttp_connection_set_local_address(evcon, NULL);
	evhttp_connection_set_local_port(evcon, 0);
	th_expect_hello(evcon);
	evhttp_connection_free(evcon);
	close(lfd);

	/* A name that cannot resolve (a label over 63 bytes: never sent). */
	memset(name, 'a', 70);
	name[70] = '\0';
	bad = evhttp_connection_new(name, th_port);
	evhttp_connection_set_base(bad, th_base);
	th_request(bad, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	evhttp_connection_free(bad);
}

/* A listener whose backlog is full never completes a handshake. */
static void
test_connect_timeout(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fill[2];
	int64_t t0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	fill[0] = tu_connect_loopback(ntohs(sin.sin_port));
	fill[1] = socket(AF_INET, SOCK_STREAM, 0);
	evutil_make_socket_nonblocking(fill[1]);
	(void)connect(fill[1], (struct sockaddr *)&sin, sizeof(sin));

	evcon = evhttp_connection_new("127.0.0.1", ntohs(sin.sin_port));
	evhttp_connection_set_base(evcon, th_base);
	evhttp_connection_set_timeout(evcon, 1);
	t0 = tu_now_usec();
	th_request(evcon, EVHTTP_REQ_GET, "/", NULL, &r);
	assert_int_equal(r.code, -1);
	assert_true(r.t_done - t0 >= 900000);
	evhttp_connection_free(evcon);
	close(fill[0]);
	close(fill[1]);
	close(lfd);
}

/* A connection moved to another base between requests carries on there. */
static void
test_move_to_another_base(void **state)
{
	struct event_base *other = event_base_new();
	struct evhttp_connection *evcon = th_client();
	struct th_result r1 = { 0 }, r2 = { 0 };
	int64_t end = tu_now_usec() + 5000000;

	th_request(evcon, EVHTTP_REQ_GET, "/port", NULL, &r1);
	evhttp_connection_set_base(evcon, other);
	evhttp_make_request(evcon, evhttp_request_new(th_result_cb, &r2),
	    EVHTTP_REQ_GET, "/port");
	/* The server runs on th_base, the client now on other. */
	while (!r2.done && tu_now_usec() < end) {
		th_run_for(th_base, 2);
		th_run_for(other, 2);
	}
	assert_int_equal(r2.code, 200);
	assert_string_equal(r1.body, r2.body); /* the same socket */
	th_result_clear(&r1);
	th_result_clear(&r2);
	evhttp_connection_free(evcon);
	event_base_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_chunked_reply),
		TH_TEST(test_keepalive_reuse),
		TH_TEST(test_queued_requests),
		TH_TEST(test_close_callbacks),
		TH_TEST(test_free_from_callbacks),
		TH_TEST(test_free_from_chunk_callback),
		TH_TEST(test_retries_fail),
		TH_TEST(test_retries_succeed),
		TH_TEST(test_client_timeout),
		TH_TEST(test_local_address_and_port),
		TH_TEST(test_close_delimited_response),
		TH_TEST(test_requests_from_callbacks),
		TH_TEST(test_request_api),
		TH_TEST(test_connect_errors),
		TH_TEST(test_connect_timeout),
		TH_TEST(test_move_to_another_base),
	};

	return TU_RUN_PER_BACKEND("http_client", tests);
}
