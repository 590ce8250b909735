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

static int closes;

static void
count_closecb(struct evhttp_connection *evcon, void *arg)
{
	closes++;
}

#define OK_A "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
#define OK_B "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"

/*
 * A hostile server: bytes after a response are never taken as the next
 * response, bad framing fails the request, and the connection then
 * starts afresh for the next one.
 */
static void
test_client_hostile_server(void **state)
{
	static const char injected[] =
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 5\r\n\r\nhello"
	    "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected";
	static const char conflict[] =
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n";
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	char *huge;
	size_t hlen = 100 * 1024; /* over 64 KiB; fits in the socket */

	memset(&f, 0, sizeof(f));
	huge = malloc(hlen);
	assert_non_null(huge);
	memset(huge, 'a', hlen);
	memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
	TH_FAKE_STEP(&f, injected, TH_KEEP);
	TH_FAKE_STEP(&f, conflict, TH_KEEP);
	th_fake_step(&f, huge, hlen, TH_KEEP);
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	evcon = th_fake_start(&f);
	event_set_log_callback(th_quiet_log);

	th_fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "hello");
	th_result_clear(&r);
	th_fake_request(evcon, &r); /* new connection: not "injected" */
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	th_fake_request(evcon, &r); /* headers over the limit */
	assert_int_equal(r.code, -1);
	th_result_clear(&r);
	th_fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 4);
	th_fake_stop(&f, evcon);
	free(huge);
}

/* Interim responses (1xx but 101) are skipped: the final one counts. */
static void
test_interim_responses(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f,
	    "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 102 Processing\r\nX-Interim: 1\r\n\r\n" OK_A,
	    TH_KEEP);
	evcon = th_fake_start(&f);
	th_fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	th_fake_stop(&f, evcon);
}

/* HTTP/1.0 responses keep the connection only when they say so. */
static void
test_http10_responses(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f,
	    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 1\r\n\r\na",
	    TH_KEEP);
	TH_FAKE_STEP(&f, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb",
	    TH_KEEP);
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	evcon = th_fake_start(&f);
	th_fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	th_fake_request(evcon, &r);
	assert_string_equal(r.body, "b");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 1);
	th_fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 2);
	th_fake_stop(&f, evcon);
}

/*
 * The server closes a kept-alive connection while it is idle: the client
 * notices at once (its close callback runs) and the next request goes
 * out on a new connection.
 */
static void
test_server_closes_idle(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, OK_A, TH_CLOSE);
	TH_FAKE_STEP(&f, OK_B, TH_KEEP);
	evcon = th_fake_start(&f);
	closes = 0;
	evhttp_connection_set_closecb(evcon, count_closecb, NULL);
	th_fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_true(th_run_until(th_base, &closes, 3000));
	th_fake_request(evcon, &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "b");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 2);
	th_fake_stop(&f, evcon);
}

/* Bytes nobody asked for on an idle connection: the client drops it. */
static void
test_unasked_bytes(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	TH_FAKE_STEP(&f, OK_B, TH_KEEP);
	evcon = th_fake_start(&f);
	closes = 0;
	evhttp_connection_set_closecb(evcon, count_closecb, NULL);
	th_fake_request(evcon, &r);
	th_result_clear(&r);
	assert_int_equal(write(f.conns[0].fd, OK_B, strlen(OK_B)),
	    (ssize_t)strlen(OK_B));
	assert_true(th_run_until(th_base, &closes, 3000));
	th_fake_request(evcon, &r);
	assert_string_equal(r.body, "b");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 2);
	th_fake_stop(&f, evcon);
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
	th_fake_queue(chained_evcon, &r[1]);
}

static void
test_stale_connection_resent(void **state)
{
	struct th_fake f;
	struct th_result r[2];

	memset(&f, 0, sizeof(f));
	memset(r, 0, sizeof(r));
	TH_FAKE_STEP(&f, OK_A, TH_CLOSE);
	TH_FAKE_STEP(&f, OK_B, TH_KEEP);
	chained_evcon = th_fake_start(&f);
	assert_int_equal(evhttp_make_request(chained_evcon,
			     evhttp_request_new(then_request_cb, r),
			     EVHTTP_REQ_GET, "/"),
	    0);
	assert_true(th_run_until(th_base, &r[1].done, 5000));
	assert_string_equal(r[0].body, "a");
	assert_int_equal(r[1].code, 200);
	assert_string_equal(r[1].body, "b");
	assert_int_equal(f.nconns, 2);
	th_result_clear(&r[0]);
	th_result_clear(&r[1]);
	th_fake_stop(&f, chained_evcon);
}

/* A response cut short by a close or a reset fails the request. */
static void
test_truncated_responses(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r = { 0 };
	int i;

	memset(&f, 0, sizeof(f));
	TH_FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Le", TH_CLOSE);
	TH_FAKE_STEP(&f, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc",
	    TH_CLOSE);
	TH_FAKE_STEP(&f, "", TH_RESET);
	TH_FAKE_STEP(&f, OK_A, TH_KEEP);
	evcon = th_fake_start(&f);
	for (i = 0; i < 3; i++) {
		th_fake_request(evcon, &r);
		assert_int_equal(r.code, -1);
		th_result_clear(&r);
	}
	th_fake_request(evcon, &r);
	assert_string_equal(r.body, "a");
	th_result_clear(&r);
	assert_int_equal(f.nconns, 4);
	th_fake_stop(&f, evcon);
}

/* Queued requests carry on after a failed one and after a close. */
static void
test_queue_survives(void **state)
{
	struct th_fake f;
	struct evhttp_connection *evcon;
	struct th_result r[3];
	int i;

	memset(&f, 0, sizeof(f));
	memset(r, 0, sizeof(r));
	TH_FAKE_STEP(&f, "HTTP/1.1 2x0 Bad\r\n\r\n", TH_KEEP);
	TH_FAKE_STEP(&f,
	    "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 1\r\n\r\na",
	    TH_CLOSE);
	TH_FAKE_STEP(&f, OK_B, TH_KEEP);
	evcon = th_fake_start(&f);
	event_set_log_callback(th_quiet_log);
	for (i = 0; i < 3; i++)
		th_fake_queue(evcon, &r[i]);
	assert_true(th_run_until(th_base, &r[2].done, 5000));
	assert_int_equal(r[0].code, -1);
	assert_string_equal(r[1].body, "a");
	assert_string_equal(r[2].body, "b");
	assert_int_equal(f.nconns, 3);
	for (i = 0; i < 3; i++)
		th_result_clear(&r[i]);
	th_fake_stop(&f, evcon);
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
