/*
 * test_rpc.c: evrpc end to end, a server and a client pool in one process
 * on 127.0.0.1, once per backend: calls, queueing over several
 * connections, unknown RPCs, timeouts, bad replies, hooks on both sides,
 * freeing or unregistering while requests are in flight, requests the
 * server must refuse, and bad arguments.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <evhttp.h>
#include <evrpc.h>

#include "test_util.h"
#include "rpc_test.gen.h"

EVRPC_HEADER(Sum, sum_request, sum_reply)
EVRPC_GENERATE(Sum, sum_request, sum_reply)
/* Never registered on the server. */
EVRPC_HEADER(Missing, sum_request, sum_reply)
EVRPC_GENERATE(Missing, sum_request, sum_reply)
/* Answered by a plain evhttp callback with a body that is no sum_reply. */
EVRPC_HEADER(Junk, sum_request, sum_reply)
EVRPC_GENERATE(Junk, sum_request, sum_reply)
/* Registered with functions that cannot make a request or a reply. */
EVRPC_HEADER(Broken, sum_request, sum_reply)
EVRPC_GENERATE(Broken, sum_request, sum_reply)

/* One server and one pool per test. */
static struct evhttp *http;
static struct evrpc_base *server;
static struct evrpc_pool *pool;
static unsigned short port;

/* What the server saw. */
static int served;
static int hold;       /* keep requests instead of answering */
static int incomplete; /* leave out the greeting */
static EVRPC_STRUCT(Sum) * held[8];
static int nheld;
static u_short seen_port[16];	   /* client port of each request */
static ev_uint32_t seen_first[16]; /* its first term */

/* What the client callbacks saw, in the order they ran. */
struct call {
	struct sum_request *req;
	struct sum_reply *reply;
	int done;
	int error;
	ev_uint32_t total;
};
static int ndone;

static void
sum_cb(EVRPC_STRUCT(Sum) * rpc, void *arg)
{
	struct sum_request *req = rpc->request;
	ev_uint32_t total = 0, t;
	int i;

	assert_ptr_equal(arg, &served);
	if (served < 16) {
		seen_port[served] = rpc->http_req->remote_port;
		seen_first[served] = 0;
		EVTAG_GET(req, terms, 0, &seen_first[served]);
	}
	served++;
	for (i = 0; i < EVTAG_LEN(req, terms); i++) {
		assert_int_equal(EVTAG_GET(req, terms, i, &t), 0);
		total += t;
	}
	EVTAG_ASSIGN(rpc->reply, total, total);
	if (!incomplete)
		EVTAG_ASSIGN(rpc->reply, greeting, "hi");
	if (hold) {
		assert_true(nheld < 8);
		held[nheld++] = rpc;
		return;
	}
	EVRPC_REQUEST_DONE(rpc);
}

static void
junk_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();

	(void)arg;
	evbuffer_add(body, "\x01\x09junk", 6);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static int
setup(void **state)
{
	int fd;

	tu_base_setup(state);
	served = hold = incomplete = nheld = ndone = 0;
	assert_non_null(http = evhttp_new(tu_base));
	fd = tu_listen_loopback(&port);
	assert_int_equal(evhttp_accept_socket(http, fd), 0);
	evhttp_set_cb(http, "/.rpc.Junk", junk_cb, NULL);
	assert_non_null(server = evrpc_init(http));
	EVRPC_REGISTER(server, Sum, sum_request, sum_reply, sum_cb, &served);
	assert_non_null(pool = evrpc_pool_new(tu_base));
	return 0;
}

static int
teardown(void **state)
{
	if (pool != NULL)
		evrpc_pool_free(pool);
	if (server != NULL)
		evrpc_free(server);
	evhttp_free(http);
	pool = NULL;
	server = NULL;
	return tu_base_teardown(state);
}

static void
add_connections(int n)
{
	while (n-- > 0)
		evrpc_pool_add_connection(pool,
		    evhttp_connection_new("127.0.0.1", port));
}

static void
reply_cb(struct evrpc_status *status, struct sum_request *req,
    struct sum_reply *reply, void *arg)
{
	struct call *c = arg;

	assert_ptr_equal(req, c->req);
	assert_ptr_equal(reply, c->reply);
	assert_int_equal(c->done, 0);
	c->done = ++ndone;
	c->error = status->error;
	if (status->error == EVRPC_STATUS_ERR_NONE) {
		assert_non_null(status->http_req);
		assert_int_equal(EVTAG_GET(reply, total, &c->total), 0);
	} else {
		/* A failed call leaves nothing half-filled in the reply. */
		assert_false(EVTAG_HAS(reply, total));
	}
}

static void
call_init(struct call *c, ev_uint32_t first, ev_uint32_t second)
{
	memset(c, 0, sizeof(*c));
	assert_non_null(c->req = sum_request_new());
	assert_non_null(c->reply = sum_reply_new());
	*EVTAG_ADD(c->req, terms) = first;
	*EVTAG_ADD(c->req, terms) = second;
}

static void
call_free(struct call *c)
{
	sum_request_free(c->req);
	sum_reply_free(c->reply);
}

static void
tick_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/*
 * Run the loop until *counter reaches want; fail after 10 seconds.  A
 * short timer keeps each turn from blocking for long.
 */
static void
run_until(const int *counter, int want)
{
	int64_t end = tu_now_usec() + 10 * 1000000;
	struct timeval tick = { 0, 100000 };
	struct event guard;

	evtimer_set(&guard, tick_cb, NULL);
	event_base_set(tu_base, &guard);
	while (*counter < want) {
		if (tu_now_usec() > end)
			fail_msg("gave up waiting: %d of %d", *counter, want);
		event_add(&guard, &tick);
		event_base_loop(tu_base, EVLOOP_ONCE);
	}
	event_del(&guard);
}

static void
test_call(void **state)
{
	struct call c;

	(void)state;
	add_connections(1);
	call_init(&c, 40, 2);
	assert_int_equal(EVRPC_MAKE_REQUEST(Sum, pool, c.req, c.reply, reply_cb,
			     &c),
	    0);
	run_until(&ndone, 1);
	assert_int_equal(c.error, EVRPC_STATUS_ERR_NONE);
	assert_int_equal(c.total, 42);
	assert_int_equal(served, 1);
	call_free(&c);
}

static void
test_queue_over_two_connections(void **state)
{
	struct call c[6];
	int i, j;

	(void)state;
	add_connections(2);
	for (i = 0; i < 6; i++) {
		call_init(&c[i], (ev_uint32_t)i, 100);
		EVRPC_MAKE_REQUEST(Sum, pool, c[i].req, c[i].reply, reply_cb,
		    &c[i]);
	}
	run_until(&ndone, 6);
	for (i = 0; i < 6; i++) {
		assert_int_equal(c[i].error, EVRPC_STATUS_ERR_NONE);
		assert_int_equal(c[i].total, 100 + i);
	}
	/* Both connections carried requests, each in the order made. */
	assert_int_equal(served, 6);
	assert_int_not_equal(seen_port[0], seen_port[1]);
	for (i = 0; i < 6; i++)
		for (j = i + 1; j < 6; j++)
			if (seen_port[i] == seen_port[j])
				assert_true(seen_first[i] < seen_first[j]);
	for (i = 0; i < 6; i++)
		call_free(&c[i]);
}

static void
test_unknown_and_bad_replies(void **state)
{
	struct call missing, junk, after;

	(void)state;
	add_connections(1);
	call_init(&missing, 1, 1);
	call_init(&junk, 1, 1);
	call_init(&after, 1, 1);
	EVRPC_MAKE_REQUEST(Missing, pool, missing.req, missing.reply, reply_cb,
	    &missing);
	EVRPC_MAKE_REQUEST(Junk, pool, junk.req, junk.reply, reply_cb, &junk);
	EVRPC_MAKE_REQUEST(Sum, pool, after.req, after.reply, reply_cb, &after);
	run_until(&ndone, 3);
	assert_int_equal(missing.error, EVRPC_STATUS_ERR_BADPAYLOAD);
	assert_int_equal(junk.error, EVRPC_STATUS_ERR_BADPAYLOAD);
	assert_int_equal(after.error, EVRPC_STATUS_ERR_NONE);
	assert_int_equal(after.total, 2);
	call_free(&missing);
	call_free(&junk);
	call_free(&after);
}

static void
test_timeout_then_recovery(void **state)
{
	struct call slow, next;
	int64_t start;

	(void)state;
	add_connections(1);
	evrpc_pool_set_timeout(pool, 1);
	hold = 1;
	call_init(&slow, 1, 2);
	start = tu_now_usec();
	EVRPC_MAKE_REQUEST(Sum, pool, slow.req, slow.reply, reply_cb, &slow);
	run_until(&ndone, 1);
	assert_int_equal(slow.error, EVRPC_STATUS_ERR_TIMEOUT);
	assert_true(tu_now_usec() - start >= 900000);
	/* The pool goes on with a fresh connection. */
	hold = 0;
	call_init(&next, 3, 4);
	EVRPC_MAKE_REQUEST(Sum, pool, next.req, next.reply, reply_cb, &next);
	run_until(&ndone, 2);
	assert_int_equal(next.error, EVRPC_STATUS_ERR_NONE);
	assert_int_equal(next.total, 7);
	/* The late answer to the first goes nowhere. */
	assert_int_equal(nheld, 1);
	EVRPC_REQUEST_DONE(held[0]);
	call_free(&slow);
	call_free(&next);
}

/* Hooks: each counts its calls in its int and does what *mode says. */
enum { PASS, MODIFY, ABORT };
static int hook_mode[4], hook_calls[4], hooks_on;
enum { SERVER_IN, SERVER_OUT, POOL_OUT, POOL_IN };

static int
hook(struct evhttp_request *req, struct evbuffer *buf, void *arg)
{
	int which = (int)(intptr_t)arg;
	struct sum_reply *r;
	ev_uint32_t total;

	assert_non_null(req);
	hook_calls[which]++;
	if (hook_mode[which] == ABORT)
		return -1;
	if (hook_mode[which] != MODIFY)
		return 0;
	switch (which) {
	case POOL_OUT: /* one more term */
		evtag_marshal_int(buf, SUM_REQUEST_TERMS, 1000);
		break;
	case SERVER_IN: /* and one more */
		evtag_marshal_int(buf, SUM_REQUEST_TERMS, 20000);
		break;
	case SERVER_OUT: /* rewrite the reply */
	case POOL_IN:
		r = sum_reply_new();
		assert_int_equal(sum_reply_unmarshal(r, buf), 0);
		EVTAG_GET(r, total, &total);
		EVTAG_ASSIGN(r, total,
		    total + (which == POOL_IN ? 300000 : 4000000));
		sum_reply_marshal(buf, r);
		sum_reply_free(r);
		break;
	}
	return 0;
}

/* Make one call with the hooks' modes; returns its status. */
static int
hooked_call(int s_in, int s_out, int p_out, int p_in, ev_uint32_t *total)
{
	struct call c;
	int want = ndone + 1;

	hook_mode[SERVER_IN] = s_in;
	hook_mode[SERVER_OUT] = s_out;
	hook_mode[POOL_OUT] = p_out;
	hook_mode[POOL_IN] = p_in;
	call_init(&c, 1, 2);
	EVRPC_MAKE_REQUEST(Sum, pool, c.req, c.reply, reply_cb, &c);
	if (hooks_on && p_out == ABORT)
		/* An output hook's abort is reported at once. */
		assert_int_equal(ndone, want);
	run_until(&ndone, want);
	*total = c.total;
	call_free(&c);
	return c.error;
}

static void
test_hooks(void **state)
{
	void *h[4];
	ev_uint32_t total;
	int i;

	(void)state;
	add_connections(1);
	memset(hook_calls, 0, sizeof(hook_calls));
	hooks_on = 1;
	assert_non_null(h[SERVER_IN] = evrpc_add_hook(server, INPUT, hook,
			    (void *)(intptr_t)SERVER_IN));
	assert_non_null(h[SERVER_OUT] = evrpc_add_hook(server, OUTPUT, hook,
			    (void *)(intptr_t)SERVER_OUT));
	assert_non_null(h[POOL_OUT] = evrpc_add_hook(pool, OUTPUT, hook,
			    (void *)(intptr_t)POOL_OUT));
	assert_non_null(h[POOL_IN] = evrpc_add_hook(pool, INPUT, hook,
			    (void *)(intptr_t)POOL_IN));

	assert_int_equal(hooked_call(PASS, PASS, PASS, PASS, &total),
	    EVRPC_STATUS_ERR_NONE);
	assert_int_equal(total, 3);
	for (i = 0; i < 4; i++)
		assert_int_equal(hook_calls[i], 1);
	assert_int_equal(hooked_call(MODIFY, MODIFY, MODIFY, MODIFY, &total),
	    EVRPC_STATUS_ERR_NONE);
	assert_int_equal(total, 4321003);
	assert_int_equal(hooked_call(PASS, PASS, ABORT, PASS, &total),
	    EVRPC_STATUS_ERR_UNSTARTED);
	assert_int_equal(hooked_call(PASS, PASS, PASS, ABORT, &total),
	    EVRPC_STATUS_ERR_HOOKABORTED);
	/* The server answers an abort with an error, a bad payload here. */
	assert_int_equal(hooked_call(ABORT, PASS, PASS, PASS, &total),
	    EVRPC_STATUS_ERR_BADPAYLOAD);
	assert_int_equal(hooked_call(PASS, ABORT, PASS, PASS, &total),
	    EVRPC_STATUS_ERR_BADPAYLOAD);

	/* Removed hooks no longer run. */
	for (i = 0; i < 4; i++) {
		void *owner = (i == SERVER_IN || i == SERVER_OUT) ?
		    (void *)server :
		    (void *)pool;
		enum EVRPC_HOOK_TYPE type = (i == SERVER_IN || i == POOL_IN) ?
		    INPUT :
		    OUTPUT;
		assert_int_equal(evrpc_remove_hook(owner, type, h[i]), 1);
		assert_int_equal(evrpc_remove_hook(owner, type, h[i]), 0);
	}
	memset(hook_calls, 0, sizeof(hook_calls));
	hooks_on = 0;
	assert_int_equal(hooked_call(ABORT, ABORT, ABORT, ABORT, &total),
	    EVRPC_STATUS_ERR_NONE);
	assert_int_equal(total, 3);
	for (i = 0; i < 4; i++)
		assert_int_equal(hook_calls[i], 0);
}

static void
test_pool_free_in_flight(void **state)
{
	struct call c[3];
	int i;

	(void)state;
	add_connections(1);
	hold = 1;
	for (i = 0; i < 3; i++) {
		call_init(&c[i], 1, 1);
		EVRPC_MAKE_REQUEST(Sum, pool, c[i].req, c[i].reply, reply_cb,
		    &c[i]);
	}
	run_until(&served, 1);
	/* One in flight, two queued: freed without callbacks. */
	evrpc_pool_free(pool);
	pool = NULL;
	EVRPC_REQUEST_DONE(held[0]);
	event_base_loop(tu_base, EVLOOP_NONBLOCK);
	assert_int_equal(ndone, 0);
	for (i = 0; i < 3; i++)
		call_free(&c[i]);
}

static void
test_server_free_and_unregister_in_flight(void **state)
{
	struct call a, b, late, *first, *second;

	(void)state;
	add_connections(2);
	hold = 1;
	call_init(&a, 1, 1);
	call_init(&b, 2, 2);
	EVRPC_MAKE_REQUEST(Sum, pool, a.req, a.reply, reply_cb, &a);
	EVRPC_MAKE_REQUEST(Sum, pool, b.req, b.reply, reply_cb, &b);
	run_until(&served, 2);
	/* Unregistered while a request is held: that one is still answered. */
	assert_int_equal(EVRPC_UNREGISTER(server, Sum), 0);
	assert_int_equal(EVRPC_UNREGISTER(server, Sum), -1);
	EVRPC_REQUEST_DONE(held[0]);
	run_until(&ndone, 1);
	first = a.done ? &a : &b;
	second = a.done ? &b : &a;
	assert_int_equal(first->error, EVRPC_STATUS_ERR_NONE);
	assert_int_equal(first->total, first == &a ? 2 : 4);
	/* New requests find no such RPC. */
	call_init(&late, 3, 3);
	EVRPC_MAKE_REQUEST(Sum, pool, late.req, late.reply, reply_cb, &late);
	run_until(&ndone, 2);
	assert_int_equal(late.error, EVRPC_STATUS_ERR_BADPAYLOAD);
	/* The server freed while one is held: it is still answered. */
	evrpc_free(server);
	server = NULL;
	EVRPC_REQUEST_DONE(held[1]);
	run_until(&ndone, 3);
	assert_int_equal(second->error, EVRPC_STATUS_ERR_NONE);
	assert_int_equal(second->total, second == &a ? 2 : 4);
	call_free(&a);
	call_free(&b);
	call_free(&late);
}

/* A callback that frees the pool it was called from. */
static void
free_pool_cb(struct evrpc_status *status, struct sum_request *req,
    struct sum_reply *reply, void *arg)
{
	(void)status;
	(void)req;
	(void)reply;
	(*(int *)arg)++;
	evrpc_pool_free(pool);
	pool = NULL;
}

static void
test_pool_freed_by_callback(void **state)
{
	struct call c[2];
	int calls = 0;

	(void)state;
	add_connections(1);
	call_init(&c[0], 1, 1);
	call_init(&c[1], 1, 1);
	EVRPC_MAKE_REQUEST(Sum, pool, c[0].req, c[0].reply, free_pool_cb,
	    &calls);
	EVRPC_MAKE_REQUEST(Sum, pool, c[1].req, c[1].reply, free_pool_cb,
	    &calls);
	run_until(&calls, 1);
	event_base_loop(tu_base, EVLOOP_NONBLOCK);
	assert_int_equal(calls, 1);
	call_free(&c[0]);
	call_free(&c[1]);
}

/* A plain HTTP request to Sum: its response code (-1: none). */
struct http_call {
	int done;
	int code;
};

static void
http_done(struct evhttp_request *req, void *arg)
{
	struct http_call *h = arg;

	h->done = 1;
	h->code = req != NULL ? req->response_code : -1;
}

static int
http_call(struct evhttp_connection *evcon, enum evhttp_cmd_type type,
    const char *body, size_t len)
{
	struct http_call h = { 0, 0 };
	struct evhttp_request *req;

	assert_non_null(req = evhttp_request_new(http_done, &h));
	assert_int_equal(evbuffer_add(req->output_buffer, body, len), 0);
	assert_int_equal(evhttp_make_request(evcon, req, type, "/.rpc.Sum"), 0);
	run_until(&h.done, 1);
	return h.code;
}

/* sum_cb as evrpc_register_rpc() takes it. */
#define SUM_CB ((void (*)(struct evrpc_req_generic *, void *))sum_cb)

static void *
no_struct(void)
{
	return NULL;
}

/* What the server cannot answer, it answers with 503. */
static void
test_server_refuses(void **state)
{
	struct evhttp_connection *evcon;
	struct evrpc *rpc;
	struct call c;

	(void)state;
	assert_non_null(evcon = evhttp_connection_new("127.0.0.1", port));
	evhttp_connection_set_base(evcon, tu_base);
	assert_int_equal(http_call(evcon, EVHTTP_REQ_GET, "", 0), 503);
	assert_int_equal(http_call(evcon, EVHTTP_REQ_POST, "\x01\x09junk", 6),
	    503);
	evhttp_connection_free(evcon);
	assert_int_equal(served, 0);

	/* An incomplete reply is not sent: the client hears of an error. */
	add_connections(1);
	incomplete = 1;
	call_init(&c, 1, 2);
	EVRPC_MAKE_REQUEST(Sum, pool, c.req, c.reply, reply_cb, &c);
	run_until(&ndone, 1);
	assert_int_equal(served, 1);
	assert_int_equal(c.error, EVRPC_STATUS_ERR_BADPAYLOAD);
	call_free(&c);

	/* Nor is a request whose request or reply cannot be made. */
	assert_non_null(rpc = calloc(1, sizeof(*rpc)));
	EVRPC_REGISTER_OBJECT(rpc, Broken, sum_request, sum_reply);
	rpc->request_new = no_struct;
	assert_int_equal(evrpc_register_rpc(server, rpc, SUM_CB, &served), 0);
	call_init(&c, 1, 2);
	EVRPC_MAKE_REQUEST(Broken, pool, c.req, c.reply, reply_cb, &c);
	run_until(&ndone, 2);
	assert_int_equal(c.error, EVRPC_STATUS_ERR_BADPAYLOAD);
	call_free(&c);
	/* (The server owns rpc; the test reaches in to break it further.) */
	rpc->request_new = (void *(*)(void))sum_request_new;
	rpc->reply_new = no_struct;
	call_init(&c, 1, 2);
	EVRPC_MAKE_REQUEST(Broken, pool, c.req, c.reply, reply_cb, &c);
	run_until(&ndone, 3);
	assert_int_equal(c.error, EVRPC_STATUS_ERR_BADPAYLOAD);
	call_free(&c);
	assert_int_equal(served, 1);
}

static int nlogs;

static void
count_log(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
	nlogs++;
}

/* Run expr, which must log one line. */
#define LOGS(expr) \
	do { \
		int before_ = nlogs; \
		expr; \
		assert_int_equal(nlogs, before_ + 1); \
	} while (0)

/*
 * Bad arguments get -1/NULL (or the callback with UNSTARTED) and a log
 * line, and leave the server and the pool working.
 */
static void
test_bad_arguments(void **state)
{
	struct evrpc *rpc;
	struct call c;
	int r;

	(void)state;
	event_set_log_callback(count_log);
	LOGS(assert_null(evrpc_init(NULL)));
	LOGS(assert_null(
	    evrpc_add_hook(server, (enum EVRPC_HOOK_TYPE)7, hook, NULL)));
	LOGS(assert_null(evrpc_add_hook(NULL, INPUT, hook, NULL)));
	LOGS(assert_null(evrpc_add_hook(pool, OUTPUT, NULL, NULL)));
	assert_int_equal(evrpc_remove_hook(NULL, INPUT, NULL), 0);
	assert_int_equal(evrpc_remove_hook(pool, INPUT, &c), 0);
	/* The RPC handed over is freed (AddressSanitizer checks). */
	assert_non_null(rpc = calloc(1, sizeof(*rpc)));
	EVRPC_REGISTER_OBJECT(rpc, Sum, sum_request, sum_reply);
	LOGS(assert_int_equal(evrpc_register_rpc(NULL, rpc, SUM_CB, NULL), -1));
	LOGS(assert_int_equal(evrpc_register_rpc(server, NULL, SUM_CB, NULL),
	    -1));
	LOGS(assert_int_equal(evrpc_unregister_rpc(server, NULL), -1));
	LOGS(assert_int_equal(evrpc_unregister_rpc(server, "Nope"), -1));
	evrpc_free(NULL);
	evrpc_pool_free(NULL);
	LOGS(evrpc_pool_set_timeout(NULL, 1));
	LOGS(evrpc_pool_add_connection(NULL, NULL));
	/* Handed over all the same: freed (AddressSanitizer checks). */
	LOGS(evrpc_pool_add_connection(NULL,
	    evhttp_connection_new("127.0.0.1", port)));
	LOGS(evrpc_pool_add_connection(pool, NULL));
	LOGS(assert_int_equal(evrpc_make_request(NULL), -1));
	call_init(&c, 1, 2);
	LOGS(r = EVRPC_MAKE_REQUEST(Sum, NULL, c.req, c.reply, reply_cb, &c));
	assert_int_equal(r, -1);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.error, EVRPC_STATUS_ERR_UNSTARTED);
	call_free(&c);
	event_set_log_callback(NULL);

	add_connections(1);
	call_init(&c, 5, 6);
	EVRPC_MAKE_REQUEST(Sum, pool, c.req, c.reply, reply_cb, &c);
	run_until(&ndone, 2);
	assert_int_equal(c.error, EVRPC_STATUS_ERR_NONE);
	assert_int_equal(c.total, 11);
	call_free(&c);
}

#define RPC_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		RPC_TEST(test_call),
		RPC_TEST(test_queue_over_two_connections),
		RPC_TEST(test_unknown_and_bad_replies),
		RPC_TEST(test_timeout_then_recovery),
		RPC_TEST(test_hooks),
		RPC_TEST(test_pool_free_in_flight),
		RPC_TEST(test_server_free_and_unregister_in_flight),
		RPC_TEST(test_pool_freed_by_callback),
		RPC_TEST(test_server_refuses),
		RPC_TEST(test_bad_arguments),
	};

	return TU_RUN_PER_BACKEND("rpc", tests);
}
