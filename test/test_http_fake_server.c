/*
 * test_http_fake_server.c: our client against a scripted server that
 * answers each request with exact bytes and then keeps the connection,
 * closes it or resets it: bytes after a response, bad framing and huge
 * headers; interim 1xx responses; HTTP/1.0 keep-alive; a server closing
 * an idle connection, or one the client has just reused (the request is
 * sent once more); unasked-for bytes; truncated responses and resets;
 * and queued requests carrying on after a failure or a close.
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

/* What the fake server does after writing a reply. */
enum fake_then { KEEP, CLOSE, RESET };

#define FAKE_MAX	8

/*
 * The fake server: the n-th request it reads (its header block, on
 * whichever connection) gets script[n].reply, then script[n].then.
 */
struct fake {
	int lfd;
	struct event ev_accept;
	int nconns, nreqs, nsteps;
	struct {
		const char *reply;
		size_t len;
		enum fake_then then;
	} script[FAKE_MAX];
	struct fake_conn {
		int fd;
		struct event ev;
		char in[4096];
		size_t inlen;
		struct fake *f;
	} conns[FAKE_MAX];
};

static void
fake_close(struct fake_conn *c, int reset)
{
	struct linger lg = { 1, 0 };

	if (reset)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	event_del(&c->ev);
	close(c->fd);
	c->fd = -1;
}

static void
fake_read_cb(int fd, short what, void *arg)
{
	struct fake_conn *c = arg;
	struct fake *f = c->f;
	ssize_t n, off;
	int i;

	n = read(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n <= 0) {
		fake_close(c, 0);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (strstr(c->in, "\r\n\r\n") == NULL || f->nreqs == f->nsteps)
		return;
	c->inlen = 0;
	i = f->nreqs++;
	for (off = 0; off < (ssize_t)f->script[i].len; off += n) {
		n = write(fd, f->script[i].reply + off,
		    f->script[i].len - (size_t)off);
		if (n <= 0)
			break;
	}
	if (f->script[i].then != KEEP)
		fake_close(c, f->script[i].then == RESET);
}

static void
fake_accept_cb(int fd, short what, void *arg)
{
	struct fake *f = arg;
	struct fake_conn *c;
	int nfd = accept(fd, NULL, NULL);

	if (nfd == -1)
		return;
	if (f->nconns == FAKE_MAX) {
		close(nfd);
		return;
	}
	c = &f->conns[f->nconns++];
	c->fd = nfd;
	c->f = f;
	event_set(&c->ev, nfd, EV_READ | EV_PERSIST, fake_read_cb, c);
	event_base_set(th_base, &c->ev);
	event_add(&c->ev, NULL);
}

/* Add a step to the script: reply with text (len bytes), then do then. */
static void
fake_step(struct fake *f, const char *text, size_t len, enum fake_then then)
{
	assert_true(f->nsteps < FAKE_MAX);
	f->script[f->nsteps].reply = text;
	f->script[f->nsteps].len = len;
	f->script[f->nsteps].then = then;
	f->nsteps++;
}
#define FAKE_STEP(f, lit, then)	fake_step(f, lit, sizeof(lit) - 1, then)

/* Start f (zeroed, perhaps scripted) and a client connection to it. */
static struct evhttp_connection *
fake_start(struct fake *f)
{
	struct evhttp_connection *evcon;
	unsigned short fport;

	f->lfd = tu_listen_loopback(&fport);
	event_set(&f->ev_accept, f->lfd, EV_READ | EV_PERSIST,
	    fake_accept_cb, f);
	event_base_set(th_base, &f->ev_accept);
	event_add(&f->ev_accept, NULL);
	evcon = evhttp_connection_new("127.0.0.1", fport);
	assert_non_null(evcon);
	evhttp_connection_set_base(evcon, th_base);
	return evcon;
}

static void
fake_stop(struct fake *f, struct evhttp_connection *evcon)
{
	int i;

	evhttp_connection_free(evcon);
	event_del(&f->ev_accept);
	close(f->lfd);
	for (i = 0; i < f->nconns; i++)
		if (f->conns[i].fd != -1)
			fake_close(&f->conns[i], 0);
}

/* Queue a GET / on evcon, its result going to r. */
static void
fake_queue(struct evhttp_connection *evcon, struct th_result *r)
{
	struct evhttp_request *req = evhttp_request_new(th_result_cb, r);

	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET,
	    "/"), 0);
}

/* A GET / on evcon, run until its callback ran. */
static void
fake_request(struct evhttp_connection *evcon, struct th_result *r)
{
	fake_queue(evcon, r);
	assert_true(th_run_until(th_base, &r->done, 5000));
}

static int closes;

static void
count_closecb(struct evhttp_connection *evcon, void *arg)
{
	closes++;
}

#define OK_A	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
#define OK_B	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"

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
	FAKE_STEP(&f, injected, KEEP);
	FAKE_STEP(&f, conflict, KEEP);
	fake_step(&f, huge, hlen, KEEP);
	FAKE_STEP(&f, OK_A, KEEP);
	evcon = fake_start(&f);
	event_set_log_callback(th_quiet_log);

	fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	fake_request(evcon, &r);	/* new connection: not "injected" */
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	fake_request(evcon, &r);	/* headers over the limit */
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 4);
	fake_stop(&f, evcon);
	free(huge);
}

/* Interim responses (1xx but 101) are skipped: the final one counts. */
static void
test_interim_responses(void **state)
{
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	FAKE_STEP(&f, "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 102 Processing\r\nX-Interim: 1\r\n\r\n" OK_A, KEEP);
	evcon = fake_start(&f);
	fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	fake_stop(&f, evcon);
}

/* HTTP/1.0 responses keep the connection only when they say so. */
static void
test_http10_responses(void **state)
{
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	FAKE_STEP(&f, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 1\r\n\r\na", KEEP);
	FAKE_STEP(&f, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb", KEEP);
	FAKE_STEP(&f, OK_A, KEEP);
	evcon = fake_start(&f);
	fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	fake_request(evcon, &r);
	assert_string_equal(r.body, "b");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 1);
	fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 2);
	fake_stop(&f, evcon);
}

/*
 * The server closes a kept-alive connection while it is idle: the client
 * notices at once (its close callback runs) and the next request goes
 * out on a new connection.
 */
static void
test_server_closes_idle(void **state)
{
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	FAKE_STEP(&f, OK_A, CLOSE);
	FAKE_STEP(&f, OK_B, KEEP);
	evcon = fake_start(&f);
	closes = 0;
	evhttp_connection_set_closecb(evcon, count_closecb, NULL);
	fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_true(th_run_until(th_base, &closes, 3000));
	fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "b");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 2);
	fake_stop(&f, evcon);
}

/* Bytes nobody asked for on an idle connection: the client drops it. */
static void
test_unasked_bytes(void **state)
{
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	FAKE_STEP(&f, OK_A, KEEP);
	FAKE_STEP(&f, OK_B, KEEP);
	evcon = fake_start(&f);
	closes = 0;
	evhttp_connection_set_closecb(evcon, count_closecb, NULL);
	fake_request(evcon, &r);
	th_result_clear(&r);
	assert_int_equal(write(f.conns[0].fd, OK_B, strlen(OK_B)),
	    (ssize_t)strlen(OK_B));
	assert_true(th_run_until(th_base, &closes, 3000));
	fake_request(evcon, &r);
	assert_string_equal(r.body, "b");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 2);
	fake_stop(&f, evcon);
}

/*
 * A request made from the previous one's callback goes out on the kept
 * connection, which the server has closed meanwhile: it is sent once
 * more on a new connection, and succeeds.
 */
static struct evhttp_connection *chained_evcon;

static void
then_request_cb(struct evhttp_request *req, void *arg)
{
	struct th_result *r = arg;

	th_result_cb(req, &r[0]);
	fake_queue(chained_evcon, &r[1]);
}

static void
test_stale_connection_resent(void **state)
{
	struct fake f;
	struct th_result r[2];

	memset(&f, 0, sizeof(f));
	memset(r, 0, sizeof(r));
	FAKE_STEP(&f, OK_A, CLOSE);
	FAKE_STEP(&f, OK_B, KEEP);
	chained_evcon = fake_start(&f);
	assert_int_equal(evhttp_make_request(chained_evcon,
	    evhttp_request_new(then_request_cb, r), EVHTTP_REQ_GET, "/"), 0);
	assert_true(th_run_until(th_base, &r[1].done, 5000));
	assert_string_equal(r[0].body, "a");
	assert_int_equal(r[1].code, 200);
	assert_string_equal(r[1].body, "b");
	assert_int_equal(f.nconns, 2);
	th_result_clear(&r[0]);
	th_result_clear(&r[1]);
	fake_stop(&f, chained_evcon);
}

/* A response cut short by a close or a reset fails the request. */
static void
test_truncated_responses(void **state)
{
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	int i;

	memset(&f, 0, sizeof(f));
	FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Le", CLOSE);
	FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
	    CLOSE);
	FAKE_STEP(&f, "", RESET);
	FAKE_STEP(&f, OK_A, KEEP);
	evcon = fake_start(&f);
	for (i = 0; i < 3; i++) {
		fake_request(evcon, &r);
		assert_int_equal(r.code, -1);
		th_result_clear(&r);
	}
	fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 4);
	fake_stop(&f, evcon);
}

/* Queued requests carry on after a failed one and after a close. */
static void
test_queue_survives(void **state)
{
	struct fake f;
	struct evhttp_connection *evcon;
	struct th_result r[3];
	int i;

	memset(&f, 0, sizeof(f));
	memset(r, 0, sizeof(r));
	FAKE_STEP(&f, "HTTP/1.1 2x0 Bad\r\n\r\n", KEEP);
	FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 1\r\n\r\na", CLOSE);
	FAKE_STEP(&f, OK_B, KEEP);
	evcon = fake_start(&f);
	event_set_log_callback(th_quiet_log);
	for (i = 0; i < 3; i++)
		fake_queue(evcon, &r[i]);
	assert_true(th_run_until(th_base, &r[2].done, 5000));
	assert_int_equal(r[0].code, -1);
	assert_string_equal(r[1].body, "a");
	assert_string_equal(r[2].body, "b");
	assert_int_equal(f.nconns, 3);
	for (i = 0; i < 3; i++)
		th_result_clear(&r[i]);
	fake_stop(&f, evcon);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_client_hostile_server),
		TH_TEST(test_interim_responses),
		TH_TEST(test_http10_responses),
		TH_TEST(test_server_closes_idle),
		TH_TEST(test_unasked_bytes),
		TH_TEST(test_stale_connection_resent),
		TH_TEST(test_truncated_responses),
		TH_TEST(test_queue_survives),
	};

	return TU_RUN_PER_BACKEND("http_fake_server", tests);
}
