/*
 * test_http_fixture.c: the fixture of the HTTP round-trip tests (see
 * test_http_util.h): a base, a server on a loopback port answering the
 * standard paths, a record of what they saw, and our client.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

struct event_base *th_base;
struct evhttp *th_http;
unsigned short th_port;
struct th_seen th_seen;

void
th_note_request(struct evhttp_request *req)
{
	const char *cl = evhttp_find_header(req->input_headers,
	    "Content-Length");
	const char *te = evhttp_find_header(req->input_headers,
	    "Transfer-Encoding");
	size_t n = EVBUFFER_LENGTH(req->input_buffer);

	if (th_seen.nrequests < 8)
		th_seen.ports[th_seen.nrequests] = req->remote_port;
	th_seen.nrequests++;
	snprintf(th_seen.uri, sizeof(th_seen.uri), "%s",
	    evhttp_request_uri(req));
	th_seen.type = req->type;
	snprintf(th_seen.clen, sizeof(th_seen.clen), "%s", cl ? cl : "");
	snprintf(th_seen.te, sizeof(th_seen.te), "%s", te ? te : "");
	th_seen.bodylen = n;
	snprintf(th_seen.body, sizeof(th_seen.body), "%.*s",
	    (int)(n < sizeof(th_seen.body) - 1 ? n : sizeof(th_seen.body) - 1),
	    (const char *)EVBUFFER_DATA(req->input_buffer));
}

void
th_reply_text(struct evhttp_request *req, const char *text)
{
	struct evbuffer *buf = evbuffer_new();

	assert_non_null(buf);
	evbuffer_add_printf(buf, "%s", text);
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

static void
hello_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	th_reply_text(req, "hello");
}

static void
echo_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_send_reply(req, HTTP_OK, "OK", req->input_buffer);
}

static void
port_cb(struct evhttp_request *req, void *arg)
{
	char text[16];

	th_note_request(req);
	snprintf(text, sizeof(text), "%u", (unsigned)req->remote_port);
	th_reply_text(req, text);
}

static void
close_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_add_header(req->output_headers, "Connection", "close");
	th_reply_text(req, "bye");
}

static void
error_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_send_error(req, 403, "Forbidden");
}

static void
big_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();
	char block[4096];
	size_t i;

	th_note_request(req);
	for (i = 0; i < sizeof(block); i++)
		block[i] = th_big_byte(i);
	for (i = 0; i < TH_BIG_SIZE; i += sizeof(block))
		evbuffer_add(buf, block,
		    TH_BIG_SIZE - i < sizeof(block) ? TH_BIG_SIZE - i :
						      sizeof(block));
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

/* /slow: answered 100 ms later from a timer. */
struct later {
	struct event ev;
	struct evhttp_request *req;
};

static void
slow_reply_cb(int fd, short what, void *arg)
{
	struct later *l = arg;

	th_reply_text(l->req, "slow");
	free(l);
}

static void
slow_cb(struct evhttp_request *req, void *arg)
{
	struct later *l = calloc(1, sizeof(*l));
	struct timeval tv = { 0, 100000 };

	assert_non_null(l);
	th_note_request(req);
	l->req = req;
	evtimer_set(&l->ev, slow_reply_cb, l);
	event_base_set(th_base, &l->ev);
	evtimer_add(&l->ev, &tv);
}

static void
chunked_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	th_stream_reply(th_base, req, 3, 20, "piece-%d|");
}

void
th_watch_closecb(struct evhttp_connection *evcon, void *arg)
{
	th_seen.closed++;
}

static void
watch_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    th_watch_closecb, NULL);
	th_reply_text(req, "watched");
}

static void
drop_cb(struct evhttp_request *req, void *arg)
{
	th_note_request(req);
	/* A program may drop a client instead of answering. */
	evhttp_connection_free(evhttp_request_get_connection(req));
}

void
th_fixture_start(struct event_base **base, struct evhttp **http,
    unsigned short *port)
{
	th_base = event_base_new();
	assert_non_null(th_base);
	th_http = th_server(th_base, &th_port);
	if (base != NULL)
		*base = th_base;
	if (http != NULL)
		*http = th_http;
	if (port != NULL)
		*port = th_port;
}

int
th_setup(void **state)
{
	static const struct {
		const char *path;
		void (*cb)(struct evhttp_request *, void *);
	} paths[] = {
		{ "/hello", hello_cb },
		{ "/echo", echo_cb },
		{ "/port", port_cb },
		{ "/close", close_cb },
		{ "/error", error_cb },
		{ "/big", big_cb },
		{ "/slow", slow_cb },
		{ "/chunked", chunked_cb },
		{ "/watch", watch_cb },
		{ "/drop", drop_cb },
	};
	size_t i;

	memset(&th_seen, 0, sizeof(th_seen));
	th_fixture_start(NULL, NULL, NULL);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		evhttp_set_cb(th_http, paths[i].path, paths[i].cb, NULL);
	return 0;
}

int
th_teardown(void **state)
{
	if (th_http != NULL)
		evhttp_free(th_http);
	th_http = NULL;
	event_base_free(th_base);
	th_base = NULL;
	event_set_log_callback(NULL);
	return 0;
}

struct evhttp_connection *
th_client(void)
{
	struct evhttp_connection *evcon = evhttp_connection_new("127.0.0.1",
	    th_port);

	assert_non_null(evcon);
	evhttp_connection_set_base(evcon, th_base);
	return evcon;
}

void
th_request(struct evhttp_connection *evcon, enum evhttp_cmd_type type,
    const char *uri, const char *body, struct th_result *r)
{
	struct evhttp_request *req = evhttp_request_new(th_result_cb, r);

	assert_non_null(req);
	evhttp_add_header(req->output_headers, "Host", "test");
	if (body != NULL)
		evbuffer_add(req->output_buffer, body, strlen(body));
	assert_int_equal(evhttp_make_request(evcon, req, type, uri), 0);
	assert_true(th_run_until(th_base, &r->done, 5000));
}

void
th_expect_hello(struct evhttp_connection *evcon)
{
	struct th_result r = { 0 };

	th_request(evcon, EVHTTP_REQ_GET, "/hello", NULL, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
}
