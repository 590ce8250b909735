/*
 * test_http_limits.c: the server's limits on what peers can make it
 * spend: open connections (evhttp_set_max_connections(), beyond which
 * the listener pauses until one closes), log lines (a flood of bad
 * requests logs at most a few lines a second, then how many it dropped)
 * and memory (an idle connection, fresh or kept alive, holds no input
 * storage and no write event).
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "http-internal.h"
#include "test_util.h"
#include "test_http_util.h"

/*
 * At the cap the server accepts no more connections: a third client
 * waits in the listen queue until one of the first two closes, then is
 * served.
 */
static void
test_connection_cap(void **state)
{
	struct evhttp_connection *c[3];
	struct th_result r[3];
	int i;

	memset(r, 0, sizeof(r));
	evhttp_set_max_connections(th_http, 2);
	th_log_count("not accepting more");
	for (i = 0; i < 3; i++) {
		c[i] = th_client();
		evhttp_make_request(c[i],
		    evhttp_request_new(th_result_cb, &r[i]), EVHTTP_REQ_GET,
		    "/hello");
		if (i < 2)
			assert_true(th_run_until(th_base, &r[i].done, 5000));
	}
	/* (A bounded wait: nothing may come while both are open.) */
	th_run_for(th_base, 300);
	assert_false(r[2].done);
	assert_int_equal(th_seen.nrequests, 2);
	assert_int_equal(th_log_hits, 1);
	evhttp_connection_free(c[0]);
	assert_true(th_run_until(th_base, &r[2].done, 5000));
	assert_int_equal(r[2].code, 200);
	assert_string_equal(r[2].body, "hello");
	for (i = 0; i < 3; i++)
		th_result_clear(&r[i]);
	evhttp_connection_free(c[1]);
	evhttp_connection_free(c[2]);
}

/* Raising the cap while full resumes accepting at once. */
static void
test_connection_cap_raised(void **state)
{
	struct evhttp_connection *c[2];
	struct th_result r[2];
	int i;

	memset(r, 0, sizeof(r));
	evhttp_set_max_connections(th_http, 1);
	event_set_log_callback(th_quiet_log);
	for (i = 0; i < 2; i++) {
		c[i] = th_client();
		evhttp_make_request(c[i],
		    evhttp_request_new(th_result_cb, &r[i]), EVHTTP_REQ_GET,
		    "/hello");
	}
	assert_true(th_run_until(th_base, &r[0].done, 5000));
	th_run_for(th_base, 200);
	assert_false(r[1].done);
	evhttp_set_max_connections(th_http, 0); /* the default */
	assert_true(th_run_until(th_base, &r[1].done, 5000));
	assert_int_equal(r[1].code, 200);
	for (i = 0; i < 2; i++) {
		th_result_clear(&r[i]);
		evhttp_connection_free(c[i]);
	}
}

static int bad_lines, suppressed_lines, dropped;

static void
count_peer_log(int severity, const char *msg)
{
	if (strstr(msg, "400 Bad Request to 127.0.0.1") != NULL)
		bad_lines++;
	if (strstr(msg, "similar lines suppressed") != NULL) {
		suppressed_lines++;
		dropped += atoi(strstr(msg, "evhttp: ") + 8);
	}
}

/* Send one bad request on a new connection; expect 400. */
static void
bad_request(void)
{
	const char *q = "GET / HTTP/9.9\r\n\r\n";
	struct th_raw rc = { 0 };

	assert_true(th_raw_exchange(&rc, th_base, th_port, q, strlen(q), 5000));
	assert_int_equal(th_status(rc.in), 400);
	th_raw_free(&rc);
}

/*
 * A flood of bad requests logs at most 10 lines a second (20 if the
 * flood straddles a second); the next line after it says how many were
 * dropped.
 */
static void
test_peer_log_rate(void **state)
{
	int i;

	bad_lines = suppressed_lines = dropped = 0;
	event_set_log_callback(count_peer_log);
	for (i = 0; i < 40; i++)
		bad_request();
	assert_true(bad_lines >= 10);
	assert_true(bad_lines <= 20);
	/* (A bounded wait: the limit is per second.) */
	th_run_for(th_base, 1100);
	bad_request();
	assert_true(suppressed_lines >= 1);
	assert_int_equal(bad_lines + dropped, 41);
}

/* Run until rc has received n responses (at most 3 s); whether it has. */
static int
run_until_responses(struct th_raw *rc, int n)
{
	int64_t end = tu_now_usec() + 3000000;

	while (th_count_responses(rc->in) < n && tu_now_usec() < end)
		th_run_for(th_base, 5);
	return th_count_responses(rc->in) >= n;
}

/* The server's one connection holds no input storage and no write event. */
static struct evhttp_connection *
assert_idle_connection(void)
{
	struct evhttp_connection *evcon = TAILQ_FIRST(&th_http->connections);

	assert_int_equal(th_http->nconnections, 1);
	assert_non_null(evcon);
	assert_int_equal(evcon->state, EVCON_READING_FIRSTLINE);
	assert_int_equal(EVBUFFER_LENGTH(evcon->input_buffer), 0);
	assert_null(evcon->input_buffer->orig_buffer);
	assert_null(evcon->ev_write);
	return evcon;
}

/*
 * A connection waiting for a request holds no input storage and no write
 * event, fresh or kept alive: its input block goes to the server's
 * spares, which the next request takes back, and the storage of a
 * request too big for a spare block is freed instead.
 */
static void
test_idle_connection_memory(void **state)
{
	const char *q = "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n";
	const char *head = "GET /hello HTTP/1.1\r\nHost: h\r\nX-Big: ";
	struct th_raw rc = { 0 };
	char big[6000];
	int64_t end = tu_now_usec() + 3000000;

	th_raw_start(&rc, th_base, th_port, "", 0, 0);
	while (th_http->nconnections == 0 && tu_now_usec() < end)
		th_run_for(th_base, 5);
	assert_idle_connection();
	/* Its first read, made at once and empty, gave its block back. */
	assert_int_equal(th_http->spares.n, 1);

	th_raw_send(&rc, q, strlen(q));
	assert_true(run_until_responses(&rc, 1));
	assert_idle_connection();
	assert_int_equal(th_http->spares.n, 1);
	th_raw_send(&rc, q, strlen(q));
	assert_true(run_until_responses(&rc, 2));
	assert_idle_connection();
	assert_int_equal(th_http->spares.n, 1);

	/* Headers of 6,000 bytes: the spare block grows, then is freed. */
	memset(big, 'a', sizeof(big));
	th_raw_send(&rc, head, strlen(head));
	th_raw_send(&rc, big, sizeof(big));
	th_raw_send(&rc, "\r\n\r\n", 4);
	assert_true(run_until_responses(&rc, 3));
	assert_idle_connection();
	assert_int_equal(th_http->spares.n, 0);
	assert_int_equal(th_seen.nrequests, 3);
	th_raw_free(&rc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TH_TEST(test_connection_cap),
		TH_TEST(test_connection_cap_raised),
		TH_TEST(test_peer_log_rate),
		TH_TEST(test_idle_connection_memory),
	};

	return TU_RUN_PER_BACKEND("http_limits", tests);
}
